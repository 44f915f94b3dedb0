/* Row-sparse gradients: what an embedding backward produces when asked, what
 * sparse optimizers take. A row-sparse gradient of a [num_rows, dim] table
 * holds nnz sorted, unique row ids (i64) and one dim-wide row of values per
 * id: PyTorch's sparse gradient after coalesce(). Rows absent from ids are
 * zero.
 *
 * Ownership: embcl_rowsparse_create() gives a handle freed with
 * embcl_rowsparse_free(). Its capacity (the most rows it can hold) is fixed
 * at creation, so a training step can reuse one without allocating; ops that
 * fill it set nnz. Views returned by _ids/_values are freed by the caller and
 * are valid until the next op writes the gradient.
 */
#ifndef EMBCL_SPARSE_H
#define EMBCL_SPARSE_H

#include "core.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_rowsparse *embcl_rowsparse_t;

/* An empty gradient of a [num_rows, dim] f32 table on dev, room for
 * `capacity` rows (sizes >= 0; a capacity above num_rows is lowered to
 * num_rows, since ids are unique). */
EMBCL_API embcl_status embcl_rowsparse_create(embcl_device_t dev, int64_t num_rows, int64_t dim,
                                              int64_t capacity, embcl_rowsparse_t *out);
EMBCL_API void embcl_rowsparse_free(embcl_rowsparse_t g);

EMBCL_API int64_t embcl_rowsparse_nnz(embcl_rowsparse_t g);
EMBCL_API int64_t embcl_rowsparse_num_rows(embcl_rowsparse_t g);
EMBCL_API int64_t embcl_rowsparse_dim(embcl_rowsparse_t g);
EMBCL_API int64_t embcl_rowsparse_capacity(embcl_rowsparse_t g);
EMBCL_API embcl_device_t embcl_rowsparse_device(embcl_rowsparse_t g);

/* [nnz] i64 view of the row ids, ascending. */
EMBCL_API embcl_status embcl_rowsparse_ids(embcl_rowsparse_t g, embcl_tensor_t *out);
/* [nnz, dim] f32 view of the rows' values. */
EMBCL_API embcl_status embcl_rowsparse_values(embcl_rowsparse_t g, embcl_tensor_t *out);

/* Set the gradient from host data: nnz ids (any order, repeats summed in
 * input order, as PyTorch's coalesce does) and nnz x dim values, row-major.
 * For tests and for users who build gradients themselves. Errors, with g
 * unchanged: an id outside [0, num_rows) (EMBCL_ERR_INDEX_RANGE naming its
 * position and value), more distinct ids than the capacity (EMBCL_ERR_SHAPE).
 * Blocking. */
EMBCL_API embcl_status embcl_rowsparse_set(embcl_rowsparse_t g, int64_t nnz, const int64_t *ids,
                                           const float *values);
/* The empty gradient (nnz = 0). */
EMBCL_API embcl_status embcl_rowsparse_zero(embcl_rowsparse_t g);
/* dense := (accumulate ? dense : 0) + g, dense being [num_rows, dim] f32 on
 * g's device (a column view is fine). Enqueued, not waited for. */
EMBCL_API embcl_status embcl_rowsparse_to_dense(embcl_rowsparse_t g, embcl_tensor_t dense, int accumulate);
/* dst := a + b (rows present in either; shared rows summed as a's row + b's
 * row: how tied parameters accumulate). All three on one device, of one
 * [num_rows, dim] table. dst may be a or b. dst's capacity must hold the
 * number of distinct rows of the sum, else EMBCL_ERR_SHAPE and dst is
 * unchanged (the count is read back from the device: one synchronisation). */
EMBCL_API embcl_status embcl_rowsparse_add(embcl_rowsparse_t dst, embcl_rowsparse_t a, embcl_rowsparse_t b);

#ifdef __cplusplus
}
#endif
#endif
