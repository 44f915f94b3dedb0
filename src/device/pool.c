/* The buffer pool: buffers come in size classes and go back to a free list
 * when their last tensor is freed, so a training step that frees what it
 * allocated asks OpenCL for nothing on the next step. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/device_impl.h"

/* Round up to a size class: multiples of 256 bytes up to 4 KiB, then four
 * classes per power of two (at most 25% waste). */
static size_t size_class(size_t n)
{
    if (n <= 4096)
        return n <= 256 ? 256 : (n + 255) & ~(size_t)255;
    size_t p = 4096;
    while (p * 2 <= n && p * 2 > p)
        p *= 2;
    size_t step = p / 4;
    return (n + step - 1) / step * step;
}

static void trim(struct embcl_device *dev)
{
    embcl_pool *pool = &dev->pool;
    for (size_t i = 0; i < pool->n_free; i++) {
        clReleaseMemObject(pool->free_slots[i].mem);
        pool->stats.cl_frees++;
        pool->stats.bytes_cached -= pool->free_slots[i].size;
    }
    pool->n_free = 0;
}

embcl_status embcl_device_pool_trim(embcl_device_t dev)
{
    EMBCL_CHECK_ARG(dev != NULL, "embcl_device_pool_trim", "argument 'dev' is NULL");
    trim(dev);
    return EMBCL_OK;
}

embcl_status embcl_device_pool_stats(embcl_device_t dev, embcl_pool_stats *out)
{
    EMBCL_CHECK_ARG(dev != NULL, "embcl_device_pool_stats", "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(out != NULL, "embcl_device_pool_stats", "argument 'out' is NULL");
    *out = dev->pool.stats;
    return EMBCL_OK;
}

static void account_use(embcl_pool *pool, size_t size)
{
    pool->stats.bytes_in_use += size;
    if (pool->stats.bytes_in_use > pool->stats.peak_bytes_in_use)
        pool->stats.peak_bytes_in_use = pool->stats.bytes_in_use;
}

embcl_status embcl_pool_acquire(struct embcl_device *dev, size_t bytes, embcl_buffer **out,
                                const char *func)
{
    embcl_pool *pool = &dev->pool;
    size_t limit = dev->info.max_alloc_bytes;
    if (dev->max_alloc && dev->max_alloc < limit)
        limit = dev->max_alloc;
    if (bytes > limit)
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, func,
                           "%zu bytes requested, more than device '%s' allows in one allocation "
                           "(%zu bytes: CL_DEVICE_MAX_MEM_ALLOC_SIZE or the runtime option max_alloc_bytes)",
                           bytes, dev->info.name, limit);
    size_t cls = size_class(bytes);
    if (cls > limit)
        cls = bytes;
    embcl_buffer *b = embcl_calloc(1, sizeof *b, func);
    if (!b)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < pool->n_free; i++) {
        if (pool->free_slots[i].size != cls)
            continue;
        b->mem = pool->free_slots[i].mem;
        pool->free_slots[i] = pool->free_slots[--pool->n_free];
        pool->stats.bytes_cached -= cls;
        pool->stats.hits++;
        break;
    }
    if (!b->mem) {
        cl_int err;
        b->mem = clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE, cls, NULL, &err);
        if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
            err == CL_OUT_OF_HOST_MEMORY) {
            trim(dev); /* cached buffers may be what stands in the way */
            b->mem = clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE, cls, NULL, &err);
        }
        if (err != CL_SUCCESS) {
            embcl_free(b);
            embcl_status s = embcl_cl_fail(err, func, "clCreateBuffer");
            embcl_error_append(" for %zu bytes on device '%s'", cls, dev->info.name);
            return s;
        }
        pool->stats.cl_allocs++;
        pool->stats.misses++;
        embcl_pool_advise_huge(dev, b->mem, cls);
    }
    b->size = cls;
    b->refs = 1;
    b->dev = dev;
    account_use(pool, cls);
    *out = b;
    return EMBCL_OK;
}

void embcl_buffer_retain(embcl_buffer *b)
{
    b->refs++;
}

void embcl_buffer_release(embcl_buffer *b)
{
    if (!b || --b->refs > 0)
        return;
    struct embcl_device *dev = b->dev;
    embcl_pool *pool = &dev->pool;
    pool->stats.bytes_in_use -= b->size;
    if (pool->n_free == pool->cap_free) {
        size_t cap = pool->cap_free ? pool->cap_free * 2 : 16;
        embcl_pool_slot *s = realloc(pool->free_slots, cap * sizeof *s);
        if (!s) { /* no room to keep it: give it back to OpenCL */
            clReleaseMemObject(b->mem);
            pool->stats.cl_frees++;
            embcl_index_facts_clear(&b->facts);
            embcl_free(b);
            return;
        }
        pool->free_slots = s;
        pool->cap_free = cap;
    }
    pool->free_slots[pool->n_free].mem = b->mem;
    pool->free_slots[pool->n_free].size = b->size;
    pool->n_free++;
    pool->stats.bytes_cached += b->size;
    embcl_index_facts_clear(&b->facts);
    embcl_free(b);
}

void embcl_pool_destroy(struct embcl_device *dev)
{
    trim(dev);
    embcl_free(dev->pool.free_slots);
    dev->pool.free_slots = NULL;
    dev->pool.cap_free = 0;
}
