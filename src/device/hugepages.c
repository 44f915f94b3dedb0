/* Huge pages for big buffers of CPU devices. On a CPU device (PoCL), a
 * buffer is host memory, and random row gathers over a large table miss
 * the TLB on nearly every row with 4 KiB pages (a page walk per row, worse
 * under a hypervisor). Linux backs a region with 2 MiB pages when asked
 * (madvise MADV_HUGEPAGE, the default policy being "madvise") before the
 * pages are first touched: we map the fresh buffer to get its address,
 * advise, and unmap. An advice that fails changes nothing but speed. */
#define _DEFAULT_SOURCE
#include <stdint.h>

#include "device/device_impl.h"
#include "device/tuning.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

void embcl_pool_advise_huge(struct embcl_device *dev, cl_mem mem, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* "pool.HUGE_MIN_MB": buffers from this size get the advice (CPU
     * devices only: a GPU's map would copy, and its memory is not ours). */
    long long min_mb = embcl_tune_get(dev, "pool.HUGE_MIN_MB", 0);
    if (!embcl_dev_is_cpu(dev) || min_mb <= 0 || bytes < (size_t)min_mb << 20)
        return;
    cl_int err;
    void *p = clEnqueueMapBuffer(dev->queue, mem, CL_TRUE, CL_MAP_READ, 0, bytes, 0, NULL, NULL, &err);
    if (err != CL_SUCCESS || !p)
        return;
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (b > a && madvise((void *)a, b - a, MADV_HUGEPAGE) != 0)
        embcl_log(dev->rt, EMBCL_LOG_DEBUG, "huge pages refused for a %zu-byte buffer on '%s'", bytes,
                  dev->info.name);
    clEnqueueUnmapMemObject(dev->queue, mem, p, 0, NULL, NULL);
#else
    (void)dev;
    (void)mem;
    (void)bytes;
#endif
}
