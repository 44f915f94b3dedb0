/* The kernel registry: kernels/<name>.cl, built per device and set of
 * defines on first use, kept in memory for the runtime's life and on disk
 * across processes. This is how every op gets its cl_kernel. */
#ifndef EMBCL_SRC_DEVICE_PROGRAM_H
#define EMBCL_SRC_DEVICE_PROGRAM_H

#include <stddef.h>

#include "device/device_impl.h"

/* The kernel `kernel` of program `program` (the file kernels/<program>.cl)
 * built with `defines` (e.g. "-DT=float -DVW=4", may be NULL) on dev. The
 * kernel stays owned by the registry; set its arguments and launch it before
 * the next call that could hand it to someone else (a runtime is used by one
 * thread at a time). */
embcl_status embcl_kernel_get(struct embcl_device *dev, const char *program, const char *defines,
                              const char *kernel, cl_kernel *out);

/* One kernel argument: size and pointer to the value; ptr NULL with a size
 * reserves local memory. */
typedef struct embcl_karg {
    size_t size;
    const void *ptr;
} embcl_karg;
#define EMBCL_KARG(x) ((embcl_karg){sizeof(x), &(x)})
#define EMBCL_KARG_LOCAL(bytes) ((embcl_karg){(bytes), NULL})

embcl_status embcl_kernel_set_args(cl_kernel k, const char *kname, size_t n, const embcl_karg *args);

/* Enqueue k on dev's queue. lws may be NULL. gws entries of 0 enqueue
 * nothing. `ev` (may be NULL) receives the kernel's event. */
embcl_status embcl_kernel_launch(struct embcl_device *dev, cl_kernel k, const char *kname, cl_uint dims,
                                 const size_t *gws, const size_t *lws, cl_event *ev);

/* Round n up to a multiple of m. */
static inline size_t embcl_round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

void embcl_program_cache_free(struct embcl_device *dev);

/* The source of kernels/<program>.cl with its #include "..." lines inlined;
 * the caller frees *out. */
embcl_status embcl_kernel_source(struct embcl_runtime *rt, const char *program, char **out, size_t *len);

/* The on-disk binary cache. load: 1 hit (caller frees *bin), 0 miss,
 * -1 an entry was there but corrupt or for another key (treated as a miss). */
int embcl_disk_cache_load(const char *dir, const char *key, unsigned char **bin, size_t *len);
/* Returns 0 on success; on failure *why names what went wrong. */
int embcl_disk_cache_store(const char *dir, const char *key, const unsigned char *bin, size_t len,
                           char *why, size_t why_cap);

#endif
