/* The device_class option (runtime option or EMBCL_DEVICE_CLASS): which
 * type's code paths embcl takes on a device. One parser, so the runtime and
 * a tool listing devices without one (`embcl devices`) agree on what a
 * value means. Pure string work, no OpenCL. */
#include <string.h>

#include "core/error.h"
#include "device/device_impl.h"

embcl_status embcl_device_class_parse(const char *cls, const char *fn, const char *origin,
                                      embcl_device_type *out)
{
    if (!cls || strcmp(cls, "auto") == 0)
        *out = 0;
    else if (strcmp(cls, "gpu") == 0)
        *out = EMBCL_DEVICE_GPU;
    else if (strcmp(cls, "cpu") == 0)
        *out = EMBCL_DEVICE_CPU;
    else
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "device class '%s'%s is not 'gpu', 'cpu' or 'auto'", cls,
                           origin ? origin : "");
    return EMBCL_OK;
}

embcl_status embcl_device_class_apply(const char *device_class, embcl_device_info *list, size_t count)
{
    static const char *fn = "embcl_device_class_apply";
    EMBCL_CHECK_ARG(list != NULL || count == 0, fn, "argument 'list' is NULL with count %zu", count);
    embcl_device_type cls = 0;
    EMBCL_TRY(embcl_device_class_parse(device_class, fn, NULL, &cls));
    for (size_t i = 0; i < count; i++)
        list[i].device_class = cls ? cls : list[i].type;
    return EMBCL_OK;
}
