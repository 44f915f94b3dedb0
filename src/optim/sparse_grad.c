/* The optimizers' window into row-sparse gradients (src/ops/rowsparse). */
#include "core/error.h"
#include "ops/rowsparse_impl.h"
#include "optim/optim_impl.h"

embcl_status embcl_optim_sparse_info(embcl_rowsparse_t g, const char *fn, int64_t *rows, int64_t *dim,
                                     struct embcl_device **dev)
{
    EMBCL_CHECK_ARG(g != NULL, fn, "a row-sparse gradient is NULL");
    *rows = g->num_rows;
    *dim = g->dim;
    *dev = g->dev;
    return EMBCL_OK;
}

embcl_status embcl_optim_sparse_parts(embcl_rowsparse_t g, const char *fn, const struct embcl_tensor **ids,
                                      const struct embcl_tensor **values, int64_t *nnz)
{
    EMBCL_CHECK_ARG(g != NULL, fn, "a row-sparse gradient is NULL");
    *ids = g->ids;
    *values = g->values;
    *nnz = g->nnz;
    return EMBCL_OK;
}
