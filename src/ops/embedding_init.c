/* Table initialisation (N(0, 1), padding row zeroed, as nn.Embedding does)
 * with samples that are the same bits on every device and on the host
 * (kernels/normal.h), and zeroing the frozen parts of a gradient. */
#include <string.h>

#include "../../kernels/normal.h"
#include "core/error.h"
#include "ops/embedding_impl.h"

embcl_status embcl_embedding_normal_host(uint64_t seed, int64_t r0, int64_t r1, int64_t D, float *out)
{
    static const char *fn = "embcl_embedding_normal_host";
    if (r0 < 0 || r1 < r0 || D < 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "rows [%lld, %lld) of width %lld are not a valid range",
                           (long long)r0, (long long)r1, (long long)D);
    EMBCL_CHECK_ARG(out != NULL || r1 == r0 || D == 0, fn, "argument 'out' is NULL");
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = 0; c < D; c++)
            out[(r - r0) * D + c] = nrm_normal(seed, (uint64_t)(r * D + c));
    return EMBCL_OK;
}

embcl_status embcl_embedding_init_normal(embcl_tensor_t weight, uint64_t seed, int64_t padding_idx)
{
    static const char *fn = "embcl_embedding_init_normal";
    EMBCL_TRY(emb_check_table(weight, fn, "weight"));
    embcl_embedding_options opt = embcl_embedding_options_default();
    opt.padding_idx = padding_idx;
    emb_opts o;
    EMBCL_TRY(emb_opts_resolve(&opt, weight->shape[0], fn, &o));
    if (weight->rows * weight->cols == 0)
        return EMBCL_OK;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(weight->dev, "embedding", NULL, "init_normal", &k));
    cl_ulong off = weight->offset, ld = weight->ld, rows = weight->rows, cols = weight->cols, sd = seed;
    embcl_karg a[] = {EMBCL_KARG(weight->buf->mem), EMBCL_KARG(off), EMBCL_KARG(ld), EMBCL_KARG(rows),
                      EMBCL_KARG(cols), EMBCL_KARG(sd)};
    EMBCL_TRY(embcl_kernel_set_args(k, "init_normal", 6, a));
    size_t gws[2] = {embcl_round_up(weight->cols, 16), weight->rows};
    EMBCL_TRY(embcl_kernel_launch(weight->dev, k, "init_normal", 2, gws, NULL, NULL));
    if (o.pad < 0)
        return EMBCL_OK;
    embcl_tensor_t row;
    EMBCL_TRY(embcl_tensor_view_rows(weight, o.pad, o.pad + 1, &row));
    embcl_status s = embcl_tensor_fill(row, 0.0);
    embcl_tensor_free(row);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

embcl_status embcl_grad_freeze(embcl_tensor_t grad, const int64_t *rows, int64_t n_rows, int64_t c0, int64_t c1)
{
    static const char *fn = "embcl_grad_freeze";
    EMBCL_TRY(emb_check_table(grad, fn, "grad"));
    int64_t V = grad->shape[0], D = grad->shape[1];
    if (n_rows < 0 || (n_rows > 0 && !rows))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'rows' is NULL or 'n_rows' (%lld) is negative",
                           (long long)n_rows);
    for (int64_t i = 0; i < n_rows; i++)
        if (rows[i] < 0 || rows[i] >= V)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'rows' has value %lld at position %lld, "
                               "outside [0, %lld)", (long long)rows[i], (long long)i, (long long)V);
    if (c0 < 0 || c1 < c0 || c1 > D)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "columns [%lld, %lld) are outside the table's %lld columns",
                           (long long)c0, (long long)c1, (long long)D);
    if (c1 > c0) {
        embcl_tensor_t cols;
        EMBCL_TRY(embcl_tensor_view_cols(grad, c0, c1, &cols));
        embcl_status s = embcl_tensor_fill(cols, 0.0);
        embcl_tensor_free(cols);
        if (s != EMBCL_OK)
            return embcl_error_context(s, fn);
    }
    if (n_rows == 0)
        return EMBCL_OK;
    struct embcl_tensor *ids;
    EMBCL_TRY(embcl_tensor_new(grad->dev, EMBCL_I64, 1, &n_rows, fn, &ids));
    embcl_status s = embcl_tensor_upload(ids, rows, (size_t)n_rows * sizeof *rows);
    cl_kernel k;
    if (s == EMBCL_OK)
        s = embcl_kernel_get(grad->dev, "embedding", NULL, "zero_rows", &k);
    cl_ulong n = (cl_ulong)n_rows, off = grad->offset, ld = grad->ld, cols = grad->cols;
    embcl_karg a[] = {EMBCL_KARG(ids->buf->mem), EMBCL_KARG(n), EMBCL_KARG(grad->buf->mem), EMBCL_KARG(off),
                      EMBCL_KARG(ld), EMBCL_KARG(cols)};
    if (s == EMBCL_OK)
        s = embcl_kernel_set_args(k, "zero_rows", 6, a);
    if (s == EMBCL_OK)
        s = emb_launch_flat(grad->dev, k, "zero_rows", (size_t)n_rows);
    /* The upload was blocking and the kernel is queued: the pool may reuse
     * the ids buffer only for work queued after it. */
    embcl_tensor_free(ids);
    return s;
}
