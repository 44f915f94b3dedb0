/* Building programs: in-memory per device, on disk across processes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "device/program.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void append_build_log(struct embcl_device *dev, cl_program prog)
{
    size_t n = 0;
    if (clGetProgramBuildInfo(prog, dev->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS || n == 0) {
        embcl_error_append("\n(no build log)");
        return;
    }
    char *log = malloc(n + 1);
    if (!log)
        return;
    if (clGetProgramBuildInfo(prog, dev->id, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
        log[n] = '\0';
        embcl_error_append("\nbuild log:\n%s", log);
    }
    free(log);
}

static embcl_status make_key(struct embcl_device *dev, const char *options, const char *src, size_t len,
                             embcl_strbuf *key)
{
    char hex[33];
    embcl_hash h = embcl_hash_bytes(src, len);
    embcl_hash_hex(&h, hex);
    return embcl_strbuf_appendf(key,
                                "embcl-program-cache 1\nembcl %s\nplatform %s | %s\ndevice %s | %s\n"
                                "driver %s\noptions %s\nsource %s\n",
                                EMBCL_VERSION_STRING, dev->info.platform_name, dev->info.platform_version,
                                dev->info.name, dev->info.device_version, dev->info.driver_version, options,
                                hex);
}

static cl_program from_binary(struct embcl_device *dev, const char *options, const unsigned char *bin,
                              size_t len)
{
    cl_int err, status;
    cl_program p = clCreateProgramWithBinary(dev->ctx, 1, &dev->id, &len, &bin, &status, &err);
    if (err != CL_SUCCESS || status != CL_SUCCESS)
        return NULL;
    if (clBuildProgram(p, 1, &dev->id, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

static void store_binary(struct embcl_device *dev, cl_program p, const char *key)
{
    struct embcl_runtime *rt = dev->rt;
    size_t len = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || len == 0)
        return;
    unsigned char *bin = malloc(len);
    if (!bin)
        return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS) {
        char why[1024];
        if (embcl_disk_cache_store(rt->cache_dir, key, bin, len, why, sizeof why) == 0) {
            rt->cache_stats.disk_writes++;
        } else if (!rt->warned_cache) {
            rt->warned_cache = 1;
            embcl_log(rt, EMBCL_LOG_WARN, "kernel cache disabled for this run: %s", why);
        }
    }
    free(bin);
}

static embcl_status build(struct embcl_device *dev, const char *name, const char *defines, cl_program *out)
{
    static const char *fn = "embcl_kernel_get";
    struct embcl_runtime *rt = dev->rt;
    double t0 = now_ms();
    char *src = NULL;
    size_t len = 0;
    EMBCL_TRY(embcl_kernel_source(rt, name, &src, &len));
    embcl_strbuf options = {0}, key = {0};
    embcl_status s = embcl_strbuf_appendf(&options, "%s %s", dev->base_options, defines ? defines : "");
    if (s == EMBCL_OK)
        s = make_key(dev, options.data, src, len, &key);
    cl_program p = NULL;
    if (s == EMBCL_OK && rt->cache_dir) {
        unsigned char *bin = NULL;
        size_t blen = 0;
        int r = embcl_disk_cache_load(rt->cache_dir, key.data, &bin, &blen);
        if (r == 1) {
            p = from_binary(dev, options.data, bin, blen);
            if (p)
                rt->cache_stats.disk_hits++;
            else
                rt->cache_stats.disk_rejects++;
            free(bin);
        } else if (r < 0) {
            rt->cache_stats.disk_rejects++;
        }
    }
    if (s == EMBCL_OK && !p) {
        cl_int err;
        const char *srcs[1] = {src};
        p = clCreateProgramWithSource(dev->ctx, 1, srcs, &len, &err);
        s = embcl_cl_check(err, fn, "clCreateProgramWithSource");
        if (s == EMBCL_OK) {
            err = clBuildProgram(p, 1, &dev->id, options.data, NULL, NULL);
            if (err != CL_SUCCESS) {
                s = err == CL_BUILD_PROGRAM_FAILURE ? EMBCL_ERR_BUILD : embcl_cl_fail(err, fn, "clBuildProgram");
                if (s == EMBCL_ERR_BUILD)
                    embcl_error(s, fn, "building kernels/%s.cl for device '%s' failed (clBuildProgram: "
                                "CL_BUILD_PROGRAM_FAILURE) with options '%s'", name, dev->info.name,
                                options.data);
                else
                    embcl_error_append(" building kernels/%s.cl with options '%s'", name, options.data);
                append_build_log(dev, p);
                clReleaseProgram(p);
                p = NULL;
            } else {
                rt->cache_stats.programs_built++;
                if (rt->cache_dir)
                    store_binary(dev, p, key.data);
            }
        }
    }
    free(src);
    embcl_strbuf_free(&options);
    embcl_strbuf_free(&key);
    rt->cache_stats.build_ms += now_ms() - t0;
    *out = p;
    return s;
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

embcl_status embcl_kernel_get(struct embcl_device *dev, const char *program, const char *defines,
                              const char *kernel, cl_kernel *out)
{
    static const char *fn = "embcl_kernel_get";
    embcl_program_entry *e = dev->programs;
    while (e && !(strcmp(e->name, program) == 0 && same(e->defines, defines)))
        e = e->next;
    if (!e) {
        e = embcl_calloc(1, sizeof *e, fn);
        if (!e)
            return EMBCL_ERR_OUT_OF_MEMORY;
        e->name = embcl_strdup(program, fn);
        e->defines = embcl_strdup(defines ? defines : "", fn);
        embcl_status s = (e->name && e->defines) ? build(dev, program, defines, &e->program)
                                                 : EMBCL_ERR_OUT_OF_MEMORY;
        if (s != EMBCL_OK) {
            free(e->name);
            free(e->defines);
            free(e);
            return s;
        }
        e->next = dev->programs;
        dev->programs = e;
    }
    for (size_t i = 0; i < e->n_kernels; i++) {
        if (strcmp(e->kernels[i].name, kernel) == 0) {
            *out = e->kernels[i].kernel;
            return EMBCL_OK;
        }
    }
    cl_int err;
    cl_kernel k = clCreateKernel(e->program, kernel, &err);
    if (err != CL_SUCCESS) {
        embcl_status s = embcl_cl_fail(err, fn, "clCreateKernel");
        embcl_error_append(" for kernel '%s' of kernels/%s.cl", kernel, program);
        return s;
    }
    embcl_kernel_entry *grown = embcl_realloc(e->kernels, (e->n_kernels + 1) * sizeof *grown, fn);
    char *kname = embcl_strdup(kernel, fn);
    if (!grown || !kname) {
        if (grown)
            e->kernels = grown;
        free(kname);
        clReleaseKernel(k);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    e->kernels = grown;
    e->kernels[e->n_kernels].name = kname;
    e->kernels[e->n_kernels].kernel = k;
    e->n_kernels++;
    *out = k;
    return EMBCL_OK;
}

embcl_status embcl_kernel_set_args(cl_kernel k, const char *kname, size_t n, const embcl_karg *args)
{
    for (size_t i = 0; i < n; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
        if (err != CL_SUCCESS) {
            embcl_status s = embcl_cl_fail(err, kname, "clSetKernelArg");
            embcl_error_append(" for argument %zu", i);
            return s;
        }
    }
    return EMBCL_OK;
}

embcl_status embcl_kernel_launch(struct embcl_device *dev, cl_kernel k, const char *kname, cl_uint dims,
                                 const size_t *gws, const size_t *lws, cl_event *ev)
{
    for (cl_uint d = 0; d < dims; d++)
        if (gws[d] == 0)
            return EMBCL_OK;
    cl_int err = clEnqueueNDRangeKernel(dev->queue, k, dims, NULL, gws, lws, 0, NULL, ev);
    if (err != CL_SUCCESS) {
        embcl_status s = embcl_cl_fail(err, kname, "clEnqueueNDRangeKernel");
        embcl_error_append(" (global %zu", gws[0]);
        for (cl_uint d = 1; d < dims; d++)
            embcl_error_append("x%zu", gws[d]);
        if (lws) {
            embcl_error_append(", local %zu", lws[0]);
            for (cl_uint d = 1; d < dims; d++)
                embcl_error_append("x%zu", lws[d]);
        }
        embcl_error_append(")");
        return s;
    }
    return EMBCL_OK;
}

void embcl_program_cache_free(struct embcl_device *dev)
{
    embcl_program_entry *e = dev->programs;
    while (e) {
        embcl_program_entry *next = e->next;
        for (size_t i = 0; i < e->n_kernels; i++) {
            clReleaseKernel(e->kernels[i].kernel);
            free(e->kernels[i].name);
        }
        free(e->kernels);
        if (e->program)
            clReleaseProgram(e->program);
        free(e->name);
        free(e->defines);
        free(e);
        e = next;
    }
    dev->programs = NULL;
}
