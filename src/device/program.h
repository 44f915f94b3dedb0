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

/* Set k's arguments. Arguments reserving local memory are refused here: they
 * go through embcl_kernel_set_args_on, which records their bytes for the
 * launch's local memory check. */
embcl_status embcl_kernel_set_args(cl_kernel k, const char *kname, size_t n, const embcl_karg *args);
embcl_status embcl_kernel_set_args_on(struct embcl_device *dev, cl_kernel k, const char *kname, size_t n,
                                      const embcl_karg *args);

/* The most work-items a group of k may have on dev: CL_KERNEL_WORK_GROUP_SIZE
 * (read once, when the registry created k), at most the device's
 * max_work_group_size. */
size_t embcl_kernel_max_wgs(struct embcl_device *dev, cl_kernel k);
/* `want` lowered to what k can launch as one group on dev (at least 1): at
 * most embcl_kernel_max_wgs and, when each work-item needs local_per_item
 * bytes of __local arguments, what fits beside the kernel's own local memory.
 * Every op that picks a group size passes its choice through here, so a
 * device with smaller limits still runs it; split the result over
 * dimensions within dev->info.max_work_item_sizes. */
size_t embcl_kernel_fit_wgs(struct embcl_device *dev, cl_kernel k, size_t want, size_t local_per_item);

/* Enqueue k on dev's queue. lws may be NULL. gws entries of 0 enqueue
 * nothing. `ev` (may be NULL) receives the kernel's event. Before the
 * enqueue, with no OpenCL call: a local size above the kernel's
 * work-group limit or a dimension above CL_DEVICE_MAX_WORK_ITEM_SIZES, a
 * global size not a multiple of the local one, and local memory (the
 * kernel's own plus its __local arguments) above CL_DEVICE_LOCAL_MEM_SIZE
 * fail with EMBCL_ERR_LAUNCH_LIMIT naming the kernel, the sizes and the
 * limit. */
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
