/* Table initialisation (N(0, 1), padding row zeroed, as nn.Embedding does)
 * with samples that are the same bits on every device and on the host
 * (kernels/normal.h), and zeroing the frozen parts of a gradient (dense or
 * row-sparse). */
#include <string.h>

#include "../../kernels/normal.h"
#include "core/error.h"
#include "ops/embedding_impl.h"
#include "ops/rowsparse_impl.h"

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
    EMBCL_TRY(emb_check_table_or_bf16(weight, fn, "weight"));
    embcl_embedding_options opt = embcl_embedding_options_default();
    opt.padding_idx = padding_idx;
    emb_opts o;
    EMBCL_TRY(emb_opts_resolve(&opt, weight->shape[0], fn, &o));
    if (weight->rows * weight->cols == 0)
        return EMBCL_OK;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(weight->dev, "embedding", weight->dtype == EMBCL_BF16 ? "-DTABLE_BF16=1" : NULL,
                               "init_normal", &k));
    /* A split table part by part: each part's rows get the samples of their
     * rows in the whole table. */
    for (size_t r = 0, r1; r < weight->rows; r = r1) {
        r1 = embcl_parts_run(&weight, 1, r, weight->rows);
        struct embcl_tensor part;
        embcl_tensor_part_view(weight, r, r1, &part);
        cl_ulong off = part.offset, ld = part.ld, rows = part.rows, cols = part.cols, sd = seed, r0 = r;
        embcl_karg a[] = {EMBCL_KARG(part.buf->mem), EMBCL_KARG(off), EMBCL_KARG(ld), EMBCL_KARG(rows),
                          EMBCL_KARG(cols), EMBCL_KARG(sd), EMBCL_KARG(r0)};
        EMBCL_TRY(embcl_kernel_set_args(k, "init_normal", 7, a));
        size_t gws[2] = {embcl_round_up(part.cols, 16), part.rows};
        EMBCL_TRY(embcl_kernel_launch(weight->dev, k, "init_normal", 2, gws, NULL, NULL));
    }
    embcl_tensor_written(weight);
    if (o.pad < 0)
        return EMBCL_OK;
    embcl_tensor_t row;
    EMBCL_TRY(embcl_tensor_view_rows(weight, o.pad, o.pad + 1, &row));
    embcl_status s = embcl_tensor_fill(row, 0.0);
    embcl_tensor_free(row);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

/* Rows and a column range checked against a [V, D] table. */
static embcl_status check_freeze(int64_t V, int64_t D, const int64_t *rows, int64_t n_rows, int64_t c0, int64_t c1,
                                 const char *fn)
{
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
    return EMBCL_OK;
}

static embcl_status zero_cols(struct embcl_tensor *t, int64_t c0, int64_t c1, const char *fn)
{
    if (c1 <= c0 || t->rows == 0)
        return EMBCL_OK;
    embcl_tensor_t cols;
    EMBCL_TRY(embcl_tensor_view_cols(t, c0, c1, &cols));
    embcl_status s = embcl_tensor_fill(cols, 0.0);
    embcl_tensor_free(cols);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

/* Run kernel `name` of kernels/embedding.cl over the listed rows (uploaded
 * to the device), with `extra` arguments after (rows, n). */
static embcl_status run_rows_kernel(struct embcl_device *dev, const int64_t *rows, int64_t n_rows, const char *name,
                                    int split, size_t n_extra, const embcl_karg *extra, const char *fn)
{
    struct embcl_tensor *ids;
    EMBCL_TRY(embcl_tensor_new(dev, EMBCL_I64, 1, &n_rows, fn, &ids));
    embcl_status s = embcl_tensor_upload(ids, rows, (size_t)n_rows * sizeof *rows);
    cl_kernel k;
    if (s == EMBCL_OK)
        s = embcl_kernel_get(dev, "embedding", split ? embcl_parts_define(1) : NULL, name, &k);
    cl_ulong n = (cl_ulong)n_rows;
    embcl_karg a[2] = {EMBCL_KARG(ids->buf->mem), EMBCL_KARG(n)};
    if (s == EMBCL_OK)
        s = embcl_kernel_set_args(k, name, 2, a);
    for (size_t i = 0; s == EMBCL_OK && i < n_extra; i++)
        s = embcl_cl_check(clSetKernelArg(k, (cl_uint)(2 + i), extra[i].size, extra[i].ptr), name, "clSetKernelArg");
    if (s == EMBCL_OK)
        s = emb_launch_flat(dev, k, name, (size_t)n_rows);
    /* The in-order queue runs the kernel before anyone reuses the buffer. */
    embcl_tensor_free(ids);
    return s;
}

embcl_status embcl_grad_freeze(embcl_tensor_t grad, const int64_t *rows, int64_t n_rows, int64_t c0, int64_t c1)
{
    static const char *fn = "embcl_grad_freeze";
    EMBCL_TRY(emb_check_table(grad, fn, "grad"));
    EMBCL_TRY(check_freeze(grad->shape[0], grad->shape[1], rows, n_rows, c0, c1, fn));
    EMBCL_TRY(zero_cols(grad, c0, c1, fn));
    if (n_rows == 0)
        return EMBCL_OK;
    cl_ulong off = grad->offset, ld = grad->ld, cols = grad->cols;
    int split = embcl_tensor_is_split(grad);
    embcl_karg a[EMBCL_MAX_PARTS + 4];
    size_t na = embcl_karg_parts(a, grad, split);
    a[na++] = EMBCL_KARG(off);
    a[na++] = EMBCL_KARG(ld);
    a[na++] = EMBCL_KARG(cols);
    embcl_tensor_written(grad);
    return run_rows_kernel(grad->dev, rows, n_rows, "zero_rows", split, na, a, fn);
}

embcl_status embcl_grad_freeze_sparse(embcl_rowsparse_t grad, const int64_t *rows, int64_t n_rows, int64_t c0,
                                      int64_t c1)
{
    static const char *fn = "embcl_grad_freeze_sparse";
    EMBCL_CHECK_ARG(grad != NULL, fn, "argument 'grad' is NULL");
    EMBCL_TRY(embcl_check_single(grad->values, fn, "grad (its values)"));
    EMBCL_TRY(check_freeze(grad->num_rows, grad->dim, rows, n_rows, c0, c1, fn));
    if (grad->nnz == 0)
        return EMBCL_OK;
    embcl_tensor_t vals;
    EMBCL_TRY(embcl_rowsparse_values(grad, &vals));
    embcl_status s = zero_cols(vals, c0, c1, fn);
    cl_ulong ids_off = grad->ids->offset, nnz = (cl_ulong)grad->nnz, v_off = vals->offset, ld = vals->ld;
    cl_ulong D = vals->cols;
    embcl_karg a[] = {EMBCL_KARG(grad->ids->buf->mem), EMBCL_KARG(ids_off), EMBCL_KARG(nnz),
                      EMBCL_KARG(vals->buf->mem), EMBCL_KARG(v_off), EMBCL_KARG(ld), EMBCL_KARG(D)};
    if (s == EMBCL_OK && n_rows > 0)
        s = run_rows_kernel(grad->dev, rows, n_rows, "zero_ids", 0, 7, a, fn);
    embcl_tensor_free(vals);
    return s;
}
