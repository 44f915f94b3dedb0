/* Private layout of a tensor. Every tensor is, in memory, a matrix of
 * `rows` x `cols` elements with `ld` elements between row starts: the last
 * dimension is `cols`, the others multiply into `rows`. Only 2-D column views
 * have ld > cols. Ops read these fields directly. */
#ifndef EMBCL_SRC_TENSOR_TENSOR_IMPL_H
#define EMBCL_SRC_TENSOR_TENSOR_IMPL_H

#include "device/device_impl.h"
#include "device/program.h"
#include "embcl/tensor.h"

/* A tensor whose bytes exceed the device's allocation limit is split by
 * rows: part i holds rows [i * part_rows, (i + 1) * part_rows) (the last
 * fewer), each in its own buffer at the same element `offset`. Single-buffer
 * tensors change in nothing; a split one's `buf` is part[0], so code that knows nothing of parts must refuse
 * split tensors (embcl_check_tensor does) rather than read part 0 past its
 * end. */
#define EMBCL_MAX_PARTS 8

struct embcl_tensor {
    struct embcl_device *dev;
    embcl_buffer *buf;
    size_t offset;           /* in elements, from the buffer's start */
    embcl_dtype dtype;
    int ndim;
    int64_t shape[EMBCL_MAX_DIMS];
    size_t rows, cols, ld;
    int n_parts;             /* 0 or 1 (tensors made by hand): one buffer; part[] and
                              * part_rows are meaningful only when > 1 */
    cl_ulong part_rows;      /* rows of each part but the last */
    embcl_buffer *part[EMBCL_MAX_PARTS];
};

/* Shape checks that name the function and argument, for the ops' validation.
 * Both refuse split tensors (naming the sizes): an op that handles them
 * checks with the _parts twins instead. */
embcl_status embcl_check_tensor(const struct embcl_tensor *t, const char *func, const char *arg);
embcl_status embcl_check_dtype(const struct embcl_tensor *t, embcl_dtype want, const char *func,
                               const char *arg);
embcl_status embcl_check_tensor_parts(const struct embcl_tensor *t, const char *func, const char *arg);
embcl_status embcl_check_dtype_parts(const struct embcl_tensor *t, embcl_dtype want, const char *func,
                                     const char *arg);
/* Fails naming func and arg if t (may be NULL) is split. */
embcl_status embcl_check_single(const struct embcl_tensor *t, const char *func, const char *arg);

static inline int embcl_tensor_is_split(const struct embcl_tensor *t)
{
    return t && t->n_parts > 1;
}

/* The bytes t's buffers take in the pool (all parts). */
static inline size_t embcl_tensor_buffer_bytes(const struct embcl_tensor *t)
{
    if (!embcl_tensor_is_split(t))
        return t->buf->size;
    size_t n = 0;
    for (int i = 0; i < t->n_parts; i++)
        n += t->part[i]->size;
    return n;
}

/* src/tensor/parts.c. The allocation limit ops plan with on dev (the runtime
 * option max_alloc_bytes when set, else the device's own). */
size_t embcl_device_max_alloc(const struct embcl_device *dev);
/* Acquire t's buffers for `rows` rows of `row_bytes` each: one, or split by
 * rows when they exceed the limit; fails naming func and the sizes when one
 * row does not fit or more than EMBCL_MAX_PARTS buffers would be needed. */
embcl_status embcl_tensor_alloc_parts(struct embcl_tensor *t, size_t rows, size_t row_bytes, const char *func);
/* Whether `rows` rows of `row_bytes` can be allocated on dev, split or not
 * (for planners choosing a device). */
int embcl_tensor_fits(const struct embcl_device *dev, size_t rows, size_t row_bytes);
void embcl_tensor_retain_parts(struct embcl_tensor *t);
void embcl_tensor_release_parts(struct embcl_tensor *t);
/* Rows [r0, r1) of t, all in one part, as a borrowed single-buffer 2-D
 * tensor (no reference: valid while t lives). */
void embcl_tensor_part_view(const struct embcl_tensor *t, size_t r0, size_t r1, struct embcl_tensor *out);
/* The end of the run of rows starting at r0 that lies in one part of each
 * of ts[0 .. n) (NULL entries ignored), at most `rows`. Row-local work loops
 * over these runs as ordinary tensors. */
size_t embcl_parts_run(struct embcl_tensor *const *ts, size_t n, size_t r0, size_t rows);
/* Kernel arguments for a parameter declared SPLIT_PARAM in kernels/common.h:
 * split = 0 (the variant built without PARTS): t's buffer alone; split = 1
 * (built with -DPARTS=EMBCL_MAX_PARTS): EMBCL_MAX_PARTS buffers (the unused
 * repeat the last) and part_rows. Returns the count written to a. */
size_t embcl_karg_parts(embcl_karg *a, const struct embcl_tensor *t, int split);
/* " -DPARTS=8" when split, else "". */
const char *embcl_parts_define(int split);
/* Formats the shape as "[3, 4]" into buf. */
const char *embcl_shape_str(const struct embcl_tensor *t, char *buf, size_t cap);
/* 1 if a and b have the same shape (dimensions and sizes), else 0. */
int embcl_same_shape(const struct embcl_tensor *a, const struct embcl_tensor *b);
/* EMBCL_ERR_SHAPE, under func, when dst (argument 'dst') and src ('src')
 * differ in shape: what an op that writes src's elements into dst checks. */
embcl_status embcl_check_dst_shape(const struct embcl_tensor *dst, const struct embcl_tensor *src, const char *func);

/* A tensor of the given shape on dev, from the pool (internal twin of
 * embcl_tensor_create that reports errors under `func`). */
embcl_status embcl_tensor_new(struct embcl_device *dev, embcl_dtype dtype, int ndim, const int64_t *shape,
                              const char *func, struct embcl_tensor **out);

/* Every path that writes a tensor on the device calls this: the host's facts
 * about its buffer's contents (embcl_index_facts) no longer hold. */
static inline void embcl_tensor_written(struct embcl_tensor *t)
{
    if (!t)
        return;
    t->buf->facts.valid = 0;
    for (int i = 1; i < t->n_parts; i++)
        t->part[i]->facts.valid = 0;
}

/* The upload facts of t's elements if they cover exactly (exact) or at least
 * (!exact) t's range; NULL if the host knows nothing. */
const embcl_index_facts *embcl_tensor_facts(const struct embcl_tensor *t, int exact);

/* Make later work on `waiter`'s queue wait for what is queued on `dev` so far
 * (no-op when they are the same device). */
embcl_status embcl_queue_after(struct embcl_device *waiter, struct embcl_device *dev, const char *func);

#endif
