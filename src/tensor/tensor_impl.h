/* Private layout of a tensor. Every tensor is, in memory, a matrix of
 * `rows` x `cols` elements with `ld` elements between row starts: the last
 * dimension is `cols`, the others multiply into `rows`. Only 2-D column views
 * have ld > cols. Ops read these fields directly. */
#ifndef EMBCL_SRC_TENSOR_TENSOR_IMPL_H
#define EMBCL_SRC_TENSOR_TENSOR_IMPL_H

#include "device/device_impl.h"
#include "embcl/tensor.h"

struct embcl_tensor {
    struct embcl_device *dev;
    embcl_buffer *buf;
    size_t offset;           /* in elements, from the buffer's start */
    embcl_dtype dtype;
    int ndim;
    int64_t shape[EMBCL_MAX_DIMS];
    size_t rows, cols, ld;
};

/* Shape checks that name the function and argument, for the ops' validation. */
embcl_status embcl_check_tensor(const struct embcl_tensor *t, const char *func, const char *arg);
embcl_status embcl_check_dtype(const struct embcl_tensor *t, embcl_dtype want, const char *func,
                               const char *arg);
/* Formats the shape as "[3, 4]" into buf. */
const char *embcl_shape_str(const struct embcl_tensor *t, char *buf, size_t cap);

/* A tensor of the given shape on dev, from the pool (internal twin of
 * embcl_tensor_create that reports errors under `func`). */
embcl_status embcl_tensor_new(struct embcl_device *dev, embcl_dtype dtype, int ndim, const int64_t *shape,
                              const char *func, struct embcl_tensor **out);

/* Every path that writes a tensor on the device calls this: the host's facts
 * about its buffer's contents (embcl_index_facts) no longer hold. */
static inline void embcl_tensor_written(struct embcl_tensor *t)
{
    if (t)
        t->buf->facts.valid = 0;
}

/* The upload facts of t's elements if they cover exactly (exact) or at least
 * (!exact) t's range; NULL if the host knows nothing. */
const embcl_index_facts *embcl_tensor_facts(const struct embcl_tensor *t, int exact);

/* Make later work on `waiter`'s queue wait for what is queued on `dev` so far
 * (no-op when they are the same device). */
embcl_status embcl_queue_after(struct embcl_device *waiter, struct embcl_device *dev, const char *func);

#endif
