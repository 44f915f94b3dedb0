/* The optimizers' window into row-sparse gradients (src/ops/rowsparse). */
#include "core/error.h"
#include "optim/optim_impl.h"

embcl_status embcl_optim_sparse_info(embcl_rowsparse_t g, const char *fn, int64_t *rows, int64_t *dim,
                                     struct embcl_device **dev)
{
    (void)g;
    *rows = *dim = 0;
    *dev = NULL;
    return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "row-sparse gradients are not in this build yet");
}

embcl_status embcl_optim_sparse_parts(embcl_rowsparse_t g, const char *fn, const struct embcl_tensor **ids,
                                      const struct embcl_tensor **values, int64_t *nnz)
{
    (void)g;
    *ids = *values = NULL;
    *nnz = 0;
    return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "row-sparse gradients are not in this build yet");
}
