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
    size_t max_wgs = 0;
    cl_ulong local = 0;
    const char *query = "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)";
    err = clGetKernelWorkGroupInfo(k, dev->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wgs, &max_wgs, NULL);
    if (err == CL_SUCCESS) {
        query = "clGetKernelWorkGroupInfo(CL_KERNEL_LOCAL_MEM_SIZE)";
        err = clGetKernelWorkGroupInfo(k, dev->id, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    }
    if (err != CL_SUCCESS) {
        embcl_status s = embcl_cl_fail(err, fn, query);
        embcl_error_append(" for kernel '%s' of kernels/%s.cl", kernel, program);
        clReleaseKernel(k);
        return s;
    }
    /* the device's figure may have been lowered (tuning key device.MAX_WGS) */
    if (max_wgs == 0 || max_wgs > dev->info.max_work_group_size)
        max_wgs = dev->info.max_work_group_size;
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
    embcl_kernel_entry *ke = &e->kernels[e->n_kernels];
    memset(ke, 0, sizeof *ke);
    ke->name = kname;
    ke->kernel = k;
    ke->program = e->name;
    ke->max_wgs = max_wgs ? max_wgs : 1;
    ke->local_fixed = local;
    e->n_kernels++;
    *out = k;
    return EMBCL_OK;
}

/* The registry's entry of k, or NULL for a kernel it did not make. No
 * OpenCL call: the launch path stays as cheap as it was. */
static embcl_kernel_entry *find_entry(struct embcl_device *dev, cl_kernel k)
{
    embcl_program_entry *lp = dev->last_program;
    if (lp && dev->last_kernel < lp->n_kernels && lp->kernels[dev->last_kernel].kernel == k)
        return &lp->kernels[dev->last_kernel];
    for (embcl_program_entry *e = dev->programs; e; e = e->next)
        for (size_t i = 0; i < e->n_kernels; i++)
            if (e->kernels[i].kernel == k) {
                dev->last_program = e;
                dev->last_kernel = i;
                return &e->kernels[i];
            }
    return NULL;
}

size_t embcl_kernel_max_wgs(struct embcl_device *dev, cl_kernel k)
{
    embcl_kernel_entry *ke = find_entry(dev, k);
    size_t m = ke ? ke->max_wgs : dev->info.max_work_group_size;
    return m ? m : 1;
}

size_t embcl_kernel_fit_wgs(struct embcl_device *dev, cl_kernel k, size_t want, size_t local_per_item)
{
    embcl_kernel_entry *ke = find_entry(dev, k);
    size_t m = embcl_kernel_max_wgs(dev, k);
    if (want > m)
        want = m;
    if (local_per_item) {
        cl_ulong fixed = ke ? ke->local_fixed : 0;
        cl_ulong room = dev->info.local_mem_bytes > fixed ? dev->info.local_mem_bytes - fixed : 0;
        if (want > room / local_per_item)
            want = (size_t)(room / local_per_item);
    }
    return want ? want : 1;
}

static embcl_status set_args(cl_kernel k, const char *kname, size_t n, const embcl_karg *args, cl_ulong *local)
{
    *local = 0;
    for (size_t i = 0; i < n; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
        if (err != CL_SUCCESS) {
            embcl_status s = embcl_cl_fail(err, kname, "clSetKernelArg");
            embcl_error_append(" for argument %zu", i);
            return s;
        }
        if (!args[i].ptr)
            *local += args[i].size;
    }
    return EMBCL_OK;
}

embcl_status embcl_kernel_set_args(cl_kernel k, const char *kname, size_t n, const embcl_karg *args)
{
    /* __local arguments count against the device's local memory at launch,
     * which only the entry on the device can hold */
    for (size_t i = 0; i < n; i++)
        if (!args[i].ptr)
            return embcl_error(EMBCL_ERR_STATE, kname,
                               "argument %zu reserves %zu bytes of local memory: set it with "
                               "embcl_kernel_set_args_on so the launch can check it", i, args[i].size);
    cl_ulong local;
    return set_args(k, kname, n, args, &local);
}

embcl_status embcl_kernel_set_args_on(struct embcl_device *dev, cl_kernel k, const char *kname, size_t n,
                                      const embcl_karg *args)
{
    cl_ulong local;
    EMBCL_TRY(set_args(k, kname, n, args, &local));
    embcl_kernel_entry *ke = find_entry(dev, k);
    if (ke)
        ke->local_args = local;
    return EMBCL_OK;
}

static void append_sizes(const size_t *v, cl_uint dims)
{
    embcl_error_append("%zu", v[0]);
    for (cl_uint d = 1; d < dims; d++)
        embcl_error_append("x%zu", v[d]);
}

/* What clEnqueueNDRangeKernel would refuse with a bare
 * CL_INVALID_WORK_GROUP_SIZE (or, on some drivers, run wrongly), named
 * before the enqueue. */
static embcl_status check_launch(struct embcl_device *dev, const embcl_kernel_entry *ke, const char *kname,
                                 cl_uint dims, const size_t *gws, const size_t *lws)
{
    static const char *fn = "embcl_kernel_launch";
    const char *prog = ke ? ke->program : "?";
    if (dims < 1 || dims > 3)
        return embcl_error(EMBCL_ERR_LAUNCH_LIMIT, fn, "kernel '%s' (kernels/%s.cl): %u dimensions; embcl "
                           "launches 1 to 3", kname, prog, dims);
    if (ke) {
        cl_ulong local = ke->local_fixed + ke->local_args;
        if (local > dev->info.local_mem_bytes)
            return embcl_error(EMBCL_ERR_LAUNCH_LIMIT, fn,
                               "kernel '%s' (kernels/%s.cl) needs %llu bytes of local memory (%llu of its own, "
                               "%llu in __local arguments) but device '%s' has %llu (CL_DEVICE_LOCAL_MEM_SIZE)",
                               kname, prog, (unsigned long long)local, (unsigned long long)ke->local_fixed,
                               (unsigned long long)ke->local_args, dev->info.name,
                               (unsigned long long)dev->info.local_mem_bytes);
    }
    if (!lws)
        return EMBCL_OK;
    size_t items = 1;
    for (cl_uint d = 0; d < dims; d++) {
        size_t lim = dev->info.max_work_item_sizes[d];
        if (lws[d] == 0 || (lim && lws[d] > lim) || gws[d] % lws[d] != 0) {
            embcl_error(EMBCL_ERR_LAUNCH_LIMIT, fn, "kernel '%s' (kernels/%s.cl): local size ", kname, prog);
            append_sizes(lws, dims);
            embcl_error_append(" with global size ");
            append_sizes(gws, dims);
            if (lws[d] == 0)
                embcl_error_append(": dimension %u is 0", d);
            else if (lim && lws[d] > lim)
                embcl_error_append(": dimension %u is %zu, above its limit of %zu on device '%s' "
                                   "(CL_DEVICE_MAX_WORK_ITEM_SIZES[%u])", d, lws[d], lim, dev->info.name, d);
            else
                embcl_error_append(": global size %zu of dimension %u is not a multiple of %zu", gws[d], d,
                                   lws[d]);
            return EMBCL_ERR_LAUNCH_LIMIT;
        }
        items *= lws[d];
    }
    size_t lim = ke ? ke->max_wgs : dev->info.max_work_group_size;
    if (lim && items > lim) {
        embcl_error(EMBCL_ERR_LAUNCH_LIMIT, fn, "kernel '%s' (kernels/%s.cl): local size ", kname, prog);
        append_sizes(lws, dims);
        embcl_error_append(" is %zu work-items, above the kernel's limit of %zu on device '%s' "
                           "(CL_KERNEL_WORK_GROUP_SIZE)", items, lim, dev->info.name);
        return EMBCL_ERR_LAUNCH_LIMIT;
    }
    return EMBCL_OK;
}

embcl_status embcl_kernel_launch(struct embcl_device *dev, cl_kernel k, const char *kname, cl_uint dims,
                                 const size_t *gws, const size_t *lws, cl_event *ev)
{
    for (cl_uint d = 0; d < dims; d++)
        if (gws[d] == 0)
            return EMBCL_OK;
    EMBCL_TRY(check_launch(dev, find_entry(dev, k), kname, dims, gws, lws));
    cl_int err = clEnqueueNDRangeKernel(dev->queue, k, dims, NULL, gws, lws, 0, NULL, ev);
    if (err != CL_SUCCESS) {
        embcl_status s = embcl_cl_fail(err, kname, "clEnqueueNDRangeKernel");
        embcl_error_append(" (global ");
        append_sizes(gws, dims);
        if (lws) {
            embcl_error_append(", local ");
            append_sizes(lws, dims);
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
    dev->last_program = NULL;
}
