/* OpenCL interop: the CL objects behind embcl handles, for programs that mix
 * their own kernels with embcl's. The objects stay owned by embcl; retain
 * them (clRetain*) to keep them past the handle's life. */
#ifndef EMBCL_OPENCL_H
#define EMBCL_OPENCL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include "embcl.h"

#ifdef __cplusplus
extern "C" {
#endif

EMBCL_API cl_context embcl_device_cl_context(embcl_device_t dev);
EMBCL_API cl_device_id embcl_device_cl_device(embcl_device_t dev);
EMBCL_API cl_command_queue embcl_device_cl_queue(embcl_device_t dev);
/* The buffer and the element offset at which the tensor starts; NULL for a
 * tensor split over several buffers (larger than the device's allocation
 * limit, see embcl_runtime_options.max_alloc_bytes). */
EMBCL_API cl_mem embcl_tensor_cl_mem(embcl_tensor_t t, size_t *offset_elems);

#ifdef __cplusplus
}
#endif
#endif
