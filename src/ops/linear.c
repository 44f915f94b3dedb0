/* Linear forward and backward: three GEMMs and two row kernels. */
#include "blas/gemm.h"
#include "core/error.h"
#include "embcl/linear.h"
#include "ops/dense_util.h"

/* x [..., in] and y [..., out] have the same leading dimensions. */
static embcl_status check_rows(const char *func, struct embcl_tensor *x, const char *xn, struct embcl_tensor *y,
                               const char *yn, int64_t y_cols)
{
    int ok = x->ndim == y->ndim && (int64_t)y->cols == y_cols;
    for (int d = 0; ok && d + 1 < x->ndim; d++)
        ok = x->shape[d] == y->shape[d];
    if (ok)
        return EMBCL_OK;
    char sx[96], sy[96];
    return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has shape %s, expected %s's leading dimensions %s and "
                       "%lld columns", yn, embcl_shape_str(y, sy, sizeof sy), xn, embcl_shape_str(x, sx, sizeof sx),
                       (long long)y_cols);
}

/* The weight (and its gradient) may be a table split by rows, as a tied
 * decoder's is: the GEMMs cut their products at its parts. */
static embcl_status check_x_w(const char *func, struct embcl_tensor *x, struct embcl_tensor *w)
{
    EMBCL_TRY(embcl_check_dtype(x, EMBCL_F32, func, "x"));
    EMBCL_TRY(embcl_check_f32_on_parts(w, x->dev, func, "weight"));
    if (w->ndim != 2 || w->cols != x->cols) {
        char sx[96], sw[96];
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'weight' has shape %s, expected [*, %zu] (x is %s)",
                           embcl_shape_str(w, sw, sizeof sw), x->cols, embcl_shape_str(x, sx, sizeof sx));
    }
    if (x->ndim > 2 && !embcl_tensor_is_contiguous(x))
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'x' must be contiguous");
    return EMBCL_OK;
}

static embcl_status check_bias(const char *func, const char *name, struct embcl_tensor *b, struct embcl_tensor *w)
{
    if (!b)
        return EMBCL_OK;
    EMBCL_TRY(embcl_check_f32_on(b, w->dev, func, name));
    int64_t want[1] = {w->shape[0]};
    return embcl_check_shape(b, 1, want, func, name);
}

embcl_status embcl_linear_forward(embcl_tensor_t x, embcl_tensor_t weight, embcl_tensor_t bias, embcl_tensor_t y)
{
    static const char *fn = "embcl_linear_forward";
    EMBCL_TRY(check_x_w(fn, x, weight));
    EMBCL_TRY(check_bias(fn, "bias", bias, weight));
    /* logits over a large vocabulary may be split too; the bias kernel
     * takes single buffers */
    EMBCL_TRY(embcl_check_f32_on_parts(y, x->dev, fn, "y"));
    if (bias)
        EMBCL_TRY(embcl_check_single(y, fn, "y"));
    EMBCL_TRY(check_rows(fn, x, "x", y, "y", weight->shape[0]));
    struct embcl_tensor xm = embcl_as_matrix(x), ym = embcl_as_matrix(y);
    EMBCL_TRY(embcl_sgemm(0, 1, 1.0f, &xm, weight, 0.0f, &ym, fn));
    if (bias)
        EMBCL_TRY(embcl_ew_bias_rows(&ym, bias, fn));
    return EMBCL_OK;
}

embcl_status embcl_linear_backward(embcl_tensor_t x, embcl_tensor_t weight, embcl_tensor_t dy, embcl_tensor_t dx,
                                   embcl_tensor_t dweight, embcl_tensor_t dbias, int accumulate)
{
    static const char *fn = "embcl_linear_backward";
    EMBCL_TRY(check_x_w(fn, x, weight));
    EMBCL_TRY(embcl_check_f32_on_parts(dy, x->dev, fn, "dy"));
    if (dbias)
        EMBCL_TRY(embcl_check_single(dy, fn, "dy"));
    EMBCL_TRY(check_rows(fn, x, "x", dy, "dy", weight->shape[0]));
    if (dx) {
        EMBCL_TRY(embcl_check_f32_on(dx, x->dev, fn, "dx"));
        EMBCL_TRY(embcl_check_same_shape(dx, x, fn, "dx", "x"));
    }
    if (dweight) {
        EMBCL_TRY(embcl_check_f32_on_parts(dweight, x->dev, fn, "dweight"));
        if (dweight->ndim != 2 || dweight->shape[0] != weight->shape[0] || dweight->shape[1] != weight->shape[1]) {
            char sd[96], sw[96];
            return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'dweight' has shape %s, expected %s (the shape of 'weight')",
                               embcl_shape_str(dweight, sd, sizeof sd), embcl_shape_str(weight, sw, sizeof sw));
        }
    }
    EMBCL_TRY(check_bias(fn, "dbias", dbias, weight));
    struct embcl_tensor xm = embcl_as_matrix(x), dym = embcl_as_matrix(dy);
    float beta = accumulate ? 1.0f : 0.0f;
    if (dx) {
        struct embcl_tensor dxm = embcl_as_matrix(dx);
        EMBCL_TRY(embcl_sgemm(0, 0, 1.0f, &dym, weight, beta, &dxm, fn));
    }
    if (dweight)
        EMBCL_TRY(embcl_sgemm(1, 0, 1.0f, &dym, &xm, beta, dweight, fn));
    if (dbias)
        EMBCL_TRY(embcl_ew_sum_rows(&dym, dbias, accumulate, fn));
    return EMBCL_OK;
}
