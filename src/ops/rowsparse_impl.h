/* Private layout of a row-sparse gradient (include/embcl/sparse.h), for the
 * ops that fill one (embedding backward) and those that read one (sparse
 * optimizers). Invariant: ids[0 .. nnz) are ascending, unique and in
 * [0, num_rows); values row r belongs to ids[r]; rows past nnz are garbage. */
#ifndef EMBCL_SRC_OPS_ROWSPARSE_IMPL_H
#define EMBCL_SRC_OPS_ROWSPARSE_IMPL_H

#include "embcl/sparse.h"
#include "tensor/tensor_impl.h"

struct embcl_rowsparse {
    struct embcl_device *dev;
    int64_t num_rows, dim, capacity, nnz;
    struct embcl_tensor *ids;    /* [capacity] i64 */
    struct embcl_tensor *values; /* [capacity, dim] f32, contiguous */
};

/* Check that g (argument `arg` of `func`) is non-NULL, lives on dev and
 * belongs to a [num_rows, dim] table; the error names what differs. */
embcl_status embcl_rowsparse_check(const struct embcl_rowsparse *g, struct embcl_device *dev, int64_t num_rows,
                                   int64_t dim, const char *func, const char *arg);

/* Record that an op has filled (or is about to fill) the first nnz rows.
 * Fails with EMBCL_ERR_SHAPE naming func and the capacity, changing nothing,
 * if nnz > capacity: call it before enqueueing the writes. */
embcl_status embcl_rowsparse_set_nnz(struct embcl_rowsparse *g, int64_t nnz, const char *func);

#endif
