/* Enumerating OpenCL platforms and devices into plain embcl_device_info. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/device_impl.h"
#include "device/process_lock.h"

const char *embcl_device_type_name(embcl_device_type type)
{
    switch (type) {
    case EMBCL_DEVICE_CPU: return "CPU";
    case EMBCL_DEVICE_GPU: return "GPU";
    case EMBCL_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    /* drivers pad some strings with spaces */
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\n'))
        dst[--n] = '\0';
}

static embcl_status dev_str(cl_device_id id, cl_device_info what, char *dst, size_t cap,
                            const char *call)
{
    char buf[1024];
    size_t n = 0;
    cl_int err = clGetDeviceInfo(id, what, sizeof buf - 1, buf, &n);
    if (err == CL_INVALID_VALUE) { /* longer than our buffer: not fatal */
        dst[0] = '\0';
        return EMBCL_OK;
    }
    EMBCL_TRY(embcl_cl_check(err, "embcl_device_list", call));
    buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
    copy_str(dst, cap, buf);
    return EMBCL_OK;
}

static embcl_status dev_val(cl_device_id id, cl_device_info what, void *dst, size_t size,
                            const char *call)
{
    memset(dst, 0, size);
    return embcl_cl_check(clGetDeviceInfo(id, what, size, dst, NULL), "embcl_device_list", call);
}

static int has_ext(const char *exts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(exts, name); p; p = strstr(p + 1, name))
        if ((p == exts || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

embcl_status embcl_device_query(cl_platform_id platform, cl_device_id id, int pi, int di,
                                embcl_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->platform_index = pi;
    info->device_index = di;
    char buf[1024];
    size_t n = 0;
    EMBCL_TRY(embcl_cl_check(clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof buf - 1, buf, &n),
                             "embcl_device_list", "clGetPlatformInfo(CL_PLATFORM_NAME)"));
    buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
    copy_str(info->platform_name, sizeof info->platform_name, buf);
    EMBCL_TRY(embcl_cl_check(clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof buf - 1, buf, &n),
                             "embcl_device_list", "clGetPlatformInfo(CL_PLATFORM_VERSION)"));
    buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
    copy_str(info->platform_version, sizeof info->platform_version, buf);

    EMBCL_TRY(dev_str(id, CL_DEVICE_NAME, info->name, sizeof info->name, "clGetDeviceInfo(CL_DEVICE_NAME)"));
    EMBCL_TRY(dev_str(id, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor, "clGetDeviceInfo(CL_DEVICE_VENDOR)"));
    EMBCL_TRY(dev_str(id, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version,
                      "clGetDeviceInfo(CL_DRIVER_VERSION)"));
    EMBCL_TRY(dev_str(id, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version,
                      "clGetDeviceInfo(CL_DEVICE_VERSION)"));
    EMBCL_TRY(dev_str(id, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                      sizeof info->opencl_c_version, "clGetDeviceInfo(CL_DEVICE_OPENCL_C_VERSION)"));

    cl_device_type type;
    EMBCL_TRY(dev_val(id, CL_DEVICE_TYPE, &type, sizeof type, "clGetDeviceInfo(CL_DEVICE_TYPE)"));
    info->type = (type & CL_DEVICE_TYPE_GPU)           ? EMBCL_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_CPU)         ? EMBCL_DEVICE_CPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? EMBCL_DEVICE_ACCELERATOR
                                                       : EMBCL_DEVICE_OTHER;
    info->device_class = info->type;
    cl_uint u;
    cl_ulong ul;
    size_t sz;
    EMBCL_TRY(dev_val(id, CL_DEVICE_MAX_COMPUTE_UNITS, &u, sizeof u, "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)"));
    info->compute_units = u;
    EMBCL_TRY(dev_val(id, CL_DEVICE_MAX_CLOCK_FREQUENCY, &u, sizeof u, "clGetDeviceInfo(CL_DEVICE_MAX_CLOCK_FREQUENCY)"));
    info->max_clock_mhz = u;
    EMBCL_TRY(dev_val(id, CL_DEVICE_GLOBAL_MEM_SIZE, &ul, sizeof ul, "clGetDeviceInfo(CL_DEVICE_GLOBAL_MEM_SIZE)"));
    info->global_mem_bytes = ul;
    EMBCL_TRY(dev_val(id, CL_DEVICE_LOCAL_MEM_SIZE, &ul, sizeof ul, "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)"));
    info->local_mem_bytes = ul;
    EMBCL_TRY(dev_val(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &ul, sizeof ul, "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)"));
    info->max_alloc_bytes = ul;
    EMBCL_TRY(dev_val(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, &sz, sizeof sz, "clGetDeviceInfo(CL_DEVICE_MAX_WORK_GROUP_SIZE)"));
    info->max_work_group_size = sz;
    EMBCL_TRY(dev_val(id, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, &u, sizeof u,
                      "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS)"));
    /* OpenCL promises at least 3 dimensions; embcl launches at most 3 */
    size_t items[64];
    if (u < 3 || u > 64)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, "embcl_device_list",
                           "device '%s' reports %u work-item dimensions (CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS); "
                           "OpenCL requires 3 or more", info->name, u);
    EMBCL_TRY(dev_val(id, CL_DEVICE_MAX_WORK_ITEM_SIZES, items, u * sizeof items[0],
                      "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)"));
    for (int d = 0; d < 3; d++)
        info->max_work_item_sizes[d] = items[d];
    EMBCL_TRY(dev_val(id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, &u, sizeof u,
                      "clGetDeviceInfo(CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT)"));
    info->preferred_vector_width_float = u;

    size_t ext_len = 0;
    EMBCL_TRY(embcl_cl_check(clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_len),
                             "embcl_device_list", "clGetDeviceInfo(CL_DEVICE_EXTENSIONS)"));
    char *exts = embcl_malloc(ext_len + 1, "embcl_device_list");
    if (!exts)
        return EMBCL_ERR_OUT_OF_MEMORY;
    cl_int err = clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, ext_len, exts, NULL);
    if (err != CL_SUCCESS) {
        embcl_free(exts);
        return embcl_cl_fail(err, "embcl_device_list", "clGetDeviceInfo(CL_DEVICE_EXTENSIONS)");
    }
    exts[ext_len] = '\0';
    info->has_fp16 = has_ext(exts, "cl_khr_fp16");
    info->has_fp64 = has_ext(exts, "cl_khr_fp64");
    info->has_int64_atomics = has_ext(exts, "cl_khr_int64_base_atomics");
    /* global int32 atomics are core since OpenCL 1.1 */
    info->has_int32_atomics = 1;
    info->has_command_buffers = has_ext(exts, "cl_khr_command_buffer");
    embcl_free(exts);
    return EMBCL_OK;
}

embcl_status embcl_device_list_unlocked(embcl_device_info **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */ || (err == CL_SUCCESS && np == 0))
        return EMBCL_OK;
    EMBCL_TRY(embcl_cl_check(err, "embcl_device_list", "clGetPlatformIDs"));
    cl_platform_id *plats = embcl_calloc(np, sizeof *plats, "embcl_device_list");
    if (!plats)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_cl_check(clGetPlatformIDs(np, plats, NULL), "embcl_device_list", "clGetPlatformIDs");
    embcl_device_info *list = NULL;
    size_t n = 0;
    for (cl_uint p = 0; s == EMBCL_OK && p < np; p++) {
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (err == CL_DEVICE_NOT_FOUND)
            continue;
        s = embcl_cl_check(err, "embcl_device_list", "clGetDeviceIDs");
        if (s != EMBCL_OK)
            break;
        if (nd == 0)
            continue;
        cl_device_id *ids = embcl_calloc(nd, sizeof *ids, "embcl_device_list");
        embcl_device_info *grown = ids ? embcl_realloc(list, (n + nd) * sizeof *list, "embcl_device_list") : NULL;
        if (!grown) {
            embcl_free(ids);
            s = EMBCL_ERR_OUT_OF_MEMORY;
            break;
        }
        list = grown;
        s = embcl_cl_check(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL), "embcl_device_list",
                           "clGetDeviceIDs");
        for (cl_uint d = 0; s == EMBCL_OK && d < nd; d++)
            s = embcl_device_query(plats[p], ids[d], (int)p, (int)d, &list[n++]);
        embcl_free(ids);
    }
    embcl_free(plats);
    if (s != EMBCL_OK) {
        embcl_free(list);
        return s;
    }
    *out = list;
    *count = n;
    return EMBCL_OK;
}

embcl_status embcl_device_list(embcl_device_info **out, size_t *count)
{
    EMBCL_CHECK_ARG(out != NULL, "embcl_device_list", "argument 'out' is NULL");
    EMBCL_CHECK_ARG(count != NULL, "embcl_device_list", "argument 'count' is NULL");
    embcl_process_lock();
    embcl_status s = embcl_device_list_unlocked(out, count);
    embcl_process_unlock();
    return s;
}

void embcl_device_list_free(embcl_device_info *list)
{
    embcl_free(list);
}
