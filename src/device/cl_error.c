#include "core/cl_names.h"
#include "core/error.h"
#include "device/device_impl.h"

embcl_status embcl_cl_fail(cl_int err, const char *func, const char *call)
{
    const char *name = embcl_cl_error_name(err);
    embcl_error((embcl_status)err, func, "%s failed with %s (%d)", call,
                name ? name : "an unknown OpenCL error", (int)err);
    /* OpenCL codes occupy -1..-999; anything else (vendor codes) is mapped
     * so callers can still switch on embcl's own statuses. */
    if (err < 0 && err > -1000)
        return (embcl_status)err;
    return EMBCL_ERR_UNSUPPORTED;
}
