/* embcl tensors: typed, shaped device memory.
 *
 * A tensor has a dtype, 1 to 4 dimensions, a device, and a buffer it shares
 * with its views. A tensor larger than the device allows in one allocation
 * (embcl_runtime_options.max_alloc_bytes) is split by rows over several
 * buffers instead: transfers, fills, copies, views, and the ops a table
 * goes through (Embedding, EmbeddingBag, their backward, the optimizers,
 * Linear's weight) take it as they take any tensor; other ops refuse it
 * naming the argument and its sizes. A row view of a split tensor that
 * spans parts must start at a part's first row. Memory is laid out row-major; only a 2-D view may have a
 * row stride larger than its width (a column range of a wider table). The
 * buffer lives until the tensor and all its views are freed.
 *
 * Ownership: every embcl_tensor_t the caller receives (create, view) is
 * freed with embcl_tensor_free(), in any order, before the runtime.
 */
#ifndef EMBCL_TENSOR_H
#define EMBCL_TENSOR_H

#include "core.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EMBCL_MAX_DIMS 4

typedef struct embcl_tensor *embcl_tensor_t;

/* A new tensor of `shape` (ndim values, each >= 0) on dev, uninitialised. */
EMBCL_API embcl_status embcl_tensor_create(embcl_device_t dev, embcl_dtype dtype, int ndim,
                                           const int64_t *shape, embcl_tensor_t *out);
/* NULL is accepted and ignored. */
EMBCL_API void embcl_tensor_free(embcl_tensor_t t);

EMBCL_API embcl_dtype embcl_tensor_dtype(embcl_tensor_t t);
EMBCL_API int embcl_tensor_ndim(embcl_tensor_t t);
/* Size of dimension d, or -1 if d is out of range. */
EMBCL_API int64_t embcl_tensor_dim(embcl_tensor_t t, int d);
EMBCL_API int64_t embcl_tensor_numel(embcl_tensor_t t);
EMBCL_API embcl_device_t embcl_tensor_device(embcl_tensor_t t);
/* Elements between the starts of consecutive rows of a 2-D tensor (its width
 * unless it is a column view). */
EMBCL_API int64_t embcl_tensor_row_stride(embcl_tensor_t t);
EMBCL_API int embcl_tensor_is_contiguous(embcl_tensor_t t);
/* Whether two tensors share memory (a view and its table, two views). */
EMBCL_API int embcl_tensor_shares_buffer(embcl_tensor_t a, embcl_tensor_t b);

/* Rows [r0, r1) of a 2-D tensor: same columns, same memory. */
EMBCL_API embcl_status embcl_tensor_view_rows(embcl_tensor_t t, int64_t r0, int64_t r1,
                                              embcl_tensor_t *out);
/* Columns [c0, c1) of a 2-D tensor: same rows, same memory, row stride kept. */
EMBCL_API embcl_status embcl_tensor_view_cols(embcl_tensor_t t, int64_t c0, int64_t c1,
                                              embcl_tensor_t *out);
/* The same memory with another shape of the same element count (contiguous only). */
EMBCL_API embcl_status embcl_tensor_reshape(embcl_tensor_t t, int ndim, const int64_t *shape,
                                            embcl_tensor_t *out);

/* Copy `bytes` (must equal numel * dtype size) from host, row-major. Blocking. */
EMBCL_API embcl_status embcl_tensor_upload(embcl_tensor_t t, const void *host, size_t bytes);
/* Copy the tensor into host memory, row-major packed. Blocking. */
EMBCL_API embcl_status embcl_tensor_download(embcl_tensor_t t, void *host, size_t bytes);
/* Set every element to value (converted to the tensor's dtype). */
EMBCL_API embcl_status embcl_tensor_fill(embcl_tensor_t t, double value);
/* dst := src, same dtype and shape; any two devices (staged through the host
 * between contexts). dst and src must not overlap. */
EMBCL_API embcl_status embcl_tensor_copy(embcl_tensor_t dst, embcl_tensor_t src);

#ifdef __cplusplus
}
#endif
#endif
