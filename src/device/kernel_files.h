/* The kernels/ directory as compiled into the library (generated at build
 * time by cmake/embed_kernels.cmake). */
#ifndef EMBCL_SRC_DEVICE_KERNEL_FILES_H
#define EMBCL_SRC_DEVICE_KERNEL_FILES_H

#include <stddef.h>

typedef struct embcl_kernel_file {
    const char *name; /* "embedding.cl", "common.h" */
    const char *data;
    size_t len;
} embcl_kernel_file;

extern const embcl_kernel_file embcl_kernel_files[];
extern const size_t embcl_kernel_file_count;

#endif
