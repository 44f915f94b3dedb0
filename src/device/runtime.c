/* The runtime: the selected devices, one context per platform, one in-order
 * queue per device. Environment variables are read here, once, and kept in
 * the runtime: nothing below looks at the environment again. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/device_impl.h"
#include "embcl-opencl.h"
#include "device/process_lock.h"
#include "device/program.h"
#include "device/tuning.h"

embcl_runtime_options embcl_runtime_options_default(void)
{
    embcl_runtime_options o;
    memset(&o, 0, sizeof o);
    o.disk_cache = -1;
    return o;
}

void embcl_log(struct embcl_runtime *rt, embcl_log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (rt && rt->log) {
        rt->log(rt->log_user, level, msg);
        return;
    }
    if (level >= EMBCL_LOG_WARN)
        fprintf(stderr, "embcl: warning: %s\n", msg);
}

static const char *env_or(const char *given, const char *env)
{
    if (given)
        return given;
    const char *v = getenv(env);
    return v && *v ? v : NULL;
}

static char *default_cache_dir(const char *fn)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char path[4096];
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/embcl", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.cache/embcl", home);
    else
        return NULL;
    return embcl_strdup(path, fn);
}

static embcl_status resolve_options(embcl_runtime_t rt, const embcl_runtime_options *o)
{
    static const char *fn = "embcl_runtime_create";
    rt->profiling = o->profiling;
    rt->log = o->log;
    rt->log_user = o->log_user;
    int cache_on = o->disk_cache;
    if (cache_on < 0) {
        const char *v = getenv("EMBCL_CACHE");
        cache_on = !(v && strcmp(v, "0") == 0);
    }
    if (cache_on) {
        const char *dir = env_or(o->cache_dir, "EMBCL_CACHE_DIR");
        rt->cache_dir = dir ? embcl_strdup(dir, fn) : default_cache_dir(fn);
        if (dir && !rt->cache_dir)
            return EMBCL_ERR_OUT_OF_MEMORY;
    }
    const char *kdir = env_or(o->kernel_dir, "EMBCL_KERNEL_DIR");
    if (kdir && !(rt->kernel_dir = embcl_strdup(kdir, fn)))
        return EMBCL_ERR_OUT_OF_MEMORY;
    const char *tune = env_or(o->tuning, "EMBCL_TUNE");
    if (tune)
        EMBCL_TRY(embcl_tuning_parse(rt, tune, fn));
    rt->max_alloc = o->max_alloc_bytes;
    const char *ma = getenv("EMBCL_MAX_ALLOC");
    if (!rt->max_alloc && ma && *ma) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(ma, &end, 10);
        if (errno || *end || v == 0 || ma[0] == '-')
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "EMBCL_MAX_ALLOC is '%s'; it is a byte count > 0", ma);
        rt->max_alloc = (size_t)v;
    }
    const char *cls = env_or(o->device_class, "EMBCL_DEVICE_CLASS");
    return embcl_device_class_parse(cls, fn, o->device_class ? NULL : " (from EMBCL_DEVICE_CLASS)",
                                    &rt->device_class);
}

static embcl_status open_device(embcl_runtime_t rt, struct embcl_device *d)
{
    static const char *fn = "embcl_runtime_create";
    cl_int err;
    cl_command_queue_properties props = rt->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    d->max_alloc = rt->max_alloc;
    d->queue = clCreateCommandQueue(d->ctx, d->id, props, &err);
    EMBCL_TRY(embcl_cl_check(err, fn, "clCreateCommandQueue"));
    /* Tuning key device.MAX_WGS lowers the work-group limits embcl keeps to
     * (the device's, each dimension's and every kernel's), as a device with
     * smaller ones would have: how the tests see that every op still runs. */
    long long cap = embcl_tune_get(d, "device.MAX_WGS", 0);
    if (cap > 0) {
        if ((unsigned long long)cap < d->info.max_work_group_size)
            d->info.max_work_group_size = (size_t)cap;
        for (int i = 0; i < 3; i++)
            if ((unsigned long long)cap < d->info.max_work_item_sizes[i])
                d->info.max_work_item_sizes[i] = (size_t)cap;
    }
    snprintf(d->base_options, sizeof d->base_options,
             "-cl-std=CL1.2 -DEMBCL_CPU=%d -DEMBCL_GPU=%d -DEMBCL_HAS_FP64=%d",
             embcl_dev_is_cpu(d), embcl_dev_is_gpu(d), d->info.has_fp64);
    return EMBCL_OK;
}

static embcl_status create_contexts(embcl_runtime_t rt, cl_platform_id *plat_of, cl_device_id *id_of,
                                    int per_device)
{
    static const char *fn = "embcl_runtime_create";
    rt->contexts = embcl_calloc(rt->n_devices, sizeof *rt->contexts, fn);
    cl_device_id *ids = embcl_calloc(rt->n_devices, sizeof *ids, fn);
    if (!rt->contexts || !ids) {
        embcl_free(ids);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; i < rt->n_devices && s == EMBCL_OK; i++) {
        if (rt->devices[i].ctx)
            continue;
        /* every selected device of this platform joins one context */
        size_t n = 0;
        for (size_t j = i; j < rt->n_devices; j++)
            if (plat_of[j] == plat_of[i] && (j == i || !per_device))
                ids[n++] = id_of[j];
        cl_context_properties cp[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)plat_of[i], 0};
        cl_int err;
        cl_context ctx = clCreateContext(cp, (cl_uint)n, ids, NULL, NULL, &err);
        s = embcl_cl_check(err, fn, "clCreateContext");
        if (s != EMBCL_OK)
            break;
        rt->contexts[rt->n_contexts++] = ctx;
        for (size_t j = i; j < rt->n_devices; j++)
            if (plat_of[j] == plat_of[i] && (j == i || !per_device))
                rt->devices[j].ctx = ctx;
    }
    embcl_free(ids);
    return s;
}

static embcl_status lookup_ids(const embcl_device_info *info, cl_platform_id *plat, cl_device_id *id)
{
    static const char *fn = "embcl_runtime_create";
    cl_uint np = 0;
    EMBCL_TRY(embcl_cl_check(clGetPlatformIDs(0, NULL, &np), fn, "clGetPlatformIDs"));
    if ((cl_uint)info->platform_index >= np)
        return embcl_error(EMBCL_ERR_NO_DEVICE, fn, "platform %d disappeared", info->platform_index);
    cl_platform_id plats[64];
    if (np > 64)
        np = 64;
    EMBCL_TRY(embcl_cl_check(clGetPlatformIDs(np, plats, NULL), fn, "clGetPlatformIDs"));
    cl_uint nd = 0;
    cl_platform_id p = plats[info->platform_index];
    EMBCL_TRY(embcl_cl_check(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &nd), fn, "clGetDeviceIDs"));
    if ((cl_uint)info->device_index >= nd || nd > 256)
        return embcl_error(EMBCL_ERR_NO_DEVICE, fn, "device %d:%d disappeared", info->platform_index,
                           info->device_index);
    cl_device_id ids[256];
    EMBCL_TRY(embcl_cl_check(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, ids, NULL), fn, "clGetDeviceIDs"));
    *plat = p;
    *id = ids[info->device_index];
    return EMBCL_OK;
}

static embcl_status open_runtime(embcl_runtime_t rt, const embcl_runtime_options *o)
{
    static const char *fn = "embcl_runtime_create";
    EMBCL_TRY(resolve_options(rt, o));
    const char *selector = env_or(o->device, "EMBCL_DEVICE");
    embcl_device_info *list = NULL;
    size_t count = 0;
    /* enumeration, the ids' lookup and the contexts under the process lock
     * (src/device/process_lock.c) */
    embcl_process_lock();
    embcl_status s = embcl_device_list_unlocked(&list, &count);
    if (s != EMBCL_OK) {
        embcl_process_unlock();
        return s;
    }
    size_t *picked = embcl_calloc(count ? count : 1, sizeof *picked, fn);
    size_t n = 0;
    s = picked ? embcl_device_select(selector, list, count, picked, count, &n) : EMBCL_ERR_OUT_OF_MEMORY;
    if (s != EMBCL_OK && s != EMBCL_ERR_OUT_OF_MEMORY && selector && !o->device)
        embcl_error_append(" (selector taken from EMBCL_DEVICE)");
    cl_platform_id *plat_of = NULL;
    cl_device_id *id_of = NULL;
    if (s == EMBCL_OK) {
        rt->devices = embcl_calloc(n, sizeof *rt->devices, fn);
        plat_of = embcl_calloc(n, sizeof *plat_of, fn);
        id_of = embcl_calloc(n, sizeof *id_of, fn);
        if (!rt->devices || !plat_of || !id_of)
            s = EMBCL_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; s == EMBCL_OK && i < n; i++) {
        struct embcl_device *d = &rt->devices[i];
        d->rt = rt;
        d->index = i;
        d->info = list[picked[i]];
        if (rt->device_class)
            d->info.device_class = rt->device_class;
        s = lookup_ids(&d->info, &plat_of[i], &id_of[i]);
        d->platform = plat_of[i];
        d->id = id_of[i];
        rt->n_devices = i + 1;
    }
    if (s == EMBCL_OK)
        s = create_contexts(rt, plat_of, id_of, o->context_per_device);
    embcl_process_unlock();
    for (size_t i = 0; s == EMBCL_OK && i < n; i++)
        s = open_device(rt, &rt->devices[i]);
    embcl_free(plat_of);
    embcl_free(id_of);
    embcl_free(picked);
    embcl_device_list_free(list);
    return s;
}

embcl_status embcl_runtime_create(const embcl_runtime_options *opts, embcl_runtime_t *out)
{
    static const char *fn = "embcl_runtime_create";
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    *out = NULL;
    embcl_runtime_options o = opts ? *opts : embcl_runtime_options_default();
    embcl_runtime_t rt = embcl_calloc(1, sizeof *rt, fn);
    if (!rt)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = open_runtime(rt, &o);
    if (s != EMBCL_OK) {
        embcl_error_context(s, fn);
        embcl_runtime_free(rt);
        return s;
    }
    *out = rt;
    return EMBCL_OK;
}

void embcl_runtime_free(embcl_runtime_t rt)
{
    if (!rt)
        return;
    for (size_t i = 0; i < rt->n_devices; i++) {
        struct embcl_device *d = &rt->devices[i];
        if (d->queue)
            clFinish(d->queue);
        embcl_program_cache_free(d);
        if (d->pool.stats.bytes_in_use > 0)
            embcl_log(rt, EMBCL_LOG_WARN,
                      "embcl_runtime_free: %llu bytes of device '%s' are still held by tensors that were "
                      "not freed",
                      (unsigned long long)d->pool.stats.bytes_in_use, d->info.name);
        embcl_pool_destroy(d);
        if (d->queue)
            clReleaseCommandQueue(d->queue);
    }
    for (size_t i = 0; i < rt->n_contexts; i++)
        clReleaseContext(rt->contexts[i]);
    embcl_tuning_free(rt);
    embcl_free(rt->contexts);
    embcl_free(rt->devices);
    embcl_free(rt->cache_dir);
    embcl_free(rt->kernel_dir);
    embcl_free(rt);
}

embcl_status embcl_runtime_device_count(embcl_runtime_t rt, size_t *count)
{
    EMBCL_CHECK_ARG(rt != NULL, "embcl_runtime_device_count", "argument 'rt' is NULL");
    EMBCL_CHECK_ARG(count != NULL, "embcl_runtime_device_count", "argument 'count' is NULL");
    *count = rt->n_devices;
    return EMBCL_OK;
}

embcl_status embcl_runtime_device(embcl_runtime_t rt, size_t i, embcl_device_t *out)
{
    static const char *fn = "embcl_runtime_device";
    EMBCL_CHECK_ARG(rt != NULL, fn, "argument 'rt' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    if (i >= rt->n_devices)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'i' is %zu but the runtime has %zu device(s)",
                           i, rt->n_devices);
    *out = &rt->devices[i];
    return EMBCL_OK;
}

embcl_status embcl_runtime_finish(embcl_runtime_t rt)
{
    EMBCL_CHECK_ARG(rt != NULL, "embcl_runtime_finish", "argument 'rt' is NULL");
    for (size_t i = 0; i < rt->n_devices; i++)
        EMBCL_TRY(embcl_device_finish(&rt->devices[i]));
    return EMBCL_OK;
}

embcl_status embcl_runtime_cache_stats(embcl_runtime_t rt, embcl_cache_stats *out)
{
    EMBCL_CHECK_ARG(rt != NULL, "embcl_runtime_cache_stats", "argument 'rt' is NULL");
    EMBCL_CHECK_ARG(out != NULL, "embcl_runtime_cache_stats", "argument 'out' is NULL");
    *out = rt->cache_stats;
    return EMBCL_OK;
}

const char *embcl_runtime_cache_dir(embcl_runtime_t rt)
{
    return rt ? rt->cache_dir : NULL;
}

embcl_status embcl_device_get_info(embcl_device_t dev, embcl_device_info *out)
{
    EMBCL_CHECK_ARG(dev != NULL, "embcl_device_get_info", "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(out != NULL, "embcl_device_get_info", "argument 'out' is NULL");
    *out = dev->info;
    return EMBCL_OK;
}

embcl_status embcl_device_finish(embcl_device_t dev)
{
    EMBCL_CHECK_ARG(dev != NULL, "embcl_device_finish", "argument 'dev' is NULL");
    return embcl_cl_check(clFinish(dev->queue), "embcl_device_finish", "clFinish");
}

cl_context embcl_device_cl_context(embcl_device_t dev)
{
    return dev ? dev->ctx : NULL;
}

cl_device_id embcl_device_cl_device(embcl_device_t dev)
{
    return dev ? dev->id : NULL;
}

cl_command_queue embcl_device_cl_queue(embcl_device_t dev)
{
    return dev ? dev->queue : NULL;
}
