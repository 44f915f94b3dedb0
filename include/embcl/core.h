/* embcl core: status codes, the per-thread last error, versions.
 *
 * Every fallible embcl function returns an embcl_status. On failure the
 * calling thread's last-error message names the function, the argument and
 * the offending value; embcl_last_error() returns it. Nothing else in embcl
 * is global: devices, queues, caches and pools belong to an embcl_runtime_t.
 */
#ifndef EMBCL_CORE_H
#define EMBCL_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define EMBCL_API __declspec(dllexport)
#else
#define EMBCL_API __attribute__((visibility("default")))
#endif

#define EMBCL_VERSION_MAJOR 0
#define EMBCL_VERSION_MINOR 1
#define EMBCL_VERSION_PATCH 0
#define EMBCL_VERSION_STRING "0.1.0"

/* 0 is success. Negative values from -1 to -999 are OpenCL's own error codes
 * passed through unchanged (EMBCL_STATUS_FROM_CL), so embcl_status_str(-5) is
 * "CL_OUT_OF_RESOURCES". embcl's own errors live from -1000 down. */
typedef enum embcl_status {
    EMBCL_OK = 0,
    EMBCL_ERR_INVALID_ARG = -1000,  /* a NULL handle, a bad enum, an empty name */
    EMBCL_ERR_SHAPE = -1001,        /* sizes that do not fit together */
    EMBCL_ERR_DTYPE = -1002,        /* wrong element type */
    EMBCL_ERR_INDEX_RANGE = -1003,  /* an index or offset outside its range */
    EMBCL_ERR_OUT_OF_MEMORY = -1004,/* host or device memory could not be had */
    EMBCL_ERR_NO_DEVICE = -1005,    /* no OpenCL device, or none matches a selector */
    EMBCL_ERR_BUILD = -1006,        /* a kernel failed to compile (log in message) */
    EMBCL_ERR_UNSUPPORTED = -1007,  /* valid request this device or build cannot do */
    EMBCL_ERR_IO = -1008,           /* a file could not be read or written */
    EMBCL_ERR_FORMAT = -1009,       /* a file or string is malformed */
    EMBCL_ERR_STATE = -1010,        /* call out of order, or on a mismatched object */
    EMBCL_ERR_DEVICE_MISMATCH = -1011, /* operands live on different devices */
    EMBCL_ERR_LAUNCH_LIMIT = -1012  /* a kernel launch exceeds the device's or the kernel's work-group
                                     * or local memory limits (the message names kernel, sizes, limit) */
} embcl_status;

/* The name of a status: "EMBCL_OK", "EMBCL_ERR_SHAPE", "CL_OUT_OF_RESOURCES".
 * Never NULL; unknown codes give "EMBCL_STATUS_UNKNOWN". */
EMBCL_API const char *embcl_status_str(embcl_status status);

/* The calling thread's message for its most recent failure ("" if none).
 * Valid until the thread's next embcl call that fails. */
EMBCL_API const char *embcl_last_error(void);

/* Forget the calling thread's last error. */
EMBCL_API void embcl_clear_error(void);

EMBCL_API const char *embcl_version(void);

/* Element types. Activations and gradients are f32; indices are i32 or i64;
 * tables are f32 or bf16 (the upper 16 bits of an IEEE float: 2 bytes a
 * value, computed in float; include/embcl/bf16.h says which ops take it). */
typedef enum embcl_dtype {
    EMBCL_F32 = 0,
    EMBCL_I32 = 1,
    EMBCL_I64 = 2,
    EMBCL_BF16 = 3,
    EMBCL_DTYPE_COUNT
} embcl_dtype;

EMBCL_API const char *embcl_dtype_name(embcl_dtype dtype);  /* "f32", "i32", "i64", "bf16" */
EMBCL_API size_t embcl_dtype_size(embcl_dtype dtype);       /* 0 if invalid */

#ifdef __cplusplus
}
#endif
#endif
