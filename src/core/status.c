#include <stddef.h>

#include "core/cl_names.h"
#include "embcl/core.h"

const char *embcl_status_str(embcl_status status)
{
    switch (status) {
    case EMBCL_OK: return "EMBCL_OK";
    case EMBCL_ERR_INVALID_ARG: return "EMBCL_ERR_INVALID_ARG";
    case EMBCL_ERR_SHAPE: return "EMBCL_ERR_SHAPE";
    case EMBCL_ERR_DTYPE: return "EMBCL_ERR_DTYPE";
    case EMBCL_ERR_INDEX_RANGE: return "EMBCL_ERR_INDEX_RANGE";
    case EMBCL_ERR_OUT_OF_MEMORY: return "EMBCL_ERR_OUT_OF_MEMORY";
    case EMBCL_ERR_NO_DEVICE: return "EMBCL_ERR_NO_DEVICE";
    case EMBCL_ERR_BUILD: return "EMBCL_ERR_BUILD";
    case EMBCL_ERR_UNSUPPORTED: return "EMBCL_ERR_UNSUPPORTED";
    case EMBCL_ERR_IO: return "EMBCL_ERR_IO";
    case EMBCL_ERR_FORMAT: return "EMBCL_ERR_FORMAT";
    case EMBCL_ERR_STATE: return "EMBCL_ERR_STATE";
    case EMBCL_ERR_DEVICE_MISMATCH: return "EMBCL_ERR_DEVICE_MISMATCH";
    case EMBCL_ERR_LAUNCH_LIMIT: return "EMBCL_ERR_LAUNCH_LIMIT";
    }
    if ((int)status < 0 && (int)status > -1000) {
        const char *cl = embcl_cl_error_name((int)status);
        if (cl)
            return cl;
    }
    return "EMBCL_STATUS_UNKNOWN";
}

const char *embcl_version(void)
{
    return EMBCL_VERSION_STRING;
}

const char *embcl_dtype_name(embcl_dtype dtype)
{
    switch (dtype) {
    case EMBCL_F32: return "f32";
    case EMBCL_I32: return "i32";
    case EMBCL_I64: return "i64";
    case EMBCL_BF16: return "bf16";
    default: return "invalid";
    }
}

size_t embcl_dtype_size(embcl_dtype dtype)
{
    switch (dtype) {
    case EMBCL_F32: return 4;
    case EMBCL_I32: return 4;
    case EMBCL_I64: return 8;
    case EMBCL_BF16: return 2;
    default: return 0;
    }
}
