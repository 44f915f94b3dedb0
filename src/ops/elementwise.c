/* Host side of kernels/elementwise.cl: validation, then one launch per output. */
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "embcl/elementwise.h"
#include "ops/dense_util.h"

/* Every present tensor of `ts` is f32, on ref's device and shaped like ref. */
static embcl_status check_like(const char *func, struct embcl_tensor *ref, const char *ref_name, size_t n,
                               struct embcl_tensor **ts, const char **names)
{
    EMBCL_TRY(embcl_check_dtype(ref, EMBCL_F32, func, ref_name));
    for (size_t i = 0; i < n; i++) {
        if (!ts[i])
            continue;
        EMBCL_TRY(embcl_check_f32_on(ts[i], ref->dev, func, names[i]));
        EMBCL_TRY(embcl_check_same_shape(ts[i], ref, func, names[i], ref_name));
    }
    return EMBCL_OK;
}

static embcl_status binary(const char *func, const char *kernel, embcl_tensor_t a, embcl_tensor_t b,
                           embcl_tensor_t y)
{
    EMBCL_TRY(embcl_check_tensor(b, func, "b"));
    EMBCL_TRY(embcl_check_tensor(y, func, "y"));
    struct embcl_tensor *ts[] = {b, y};
    const char *names[] = {"b", "y"};
    EMBCL_TRY(check_like(func, a, "a", 2, ts, names));
    return embcl_ew_run(kernel, a, b, y, 0, func);
}

embcl_status embcl_add(embcl_tensor_t a, embcl_tensor_t b, embcl_tensor_t y)
{
    return binary("embcl_add", "add", a, b, y);
}

embcl_status embcl_mul(embcl_tensor_t a, embcl_tensor_t b, embcl_tensor_t y)
{
    return binary("embcl_mul", "mul", a, b, y);
}

embcl_status embcl_add_backward(embcl_tensor_t dy, embcl_tensor_t da, embcl_tensor_t db, int accumulate)
{
    static const char *fn = "embcl_add_backward";
    struct embcl_tensor *ts[] = {da, db};
    const char *names[] = {"da", "db"};
    EMBCL_TRY(check_like(fn, dy, "dy", 2, ts, names));
    if (da)
        EMBCL_TRY(embcl_ew_run("copy_acc", dy, NULL, da, accumulate, fn));
    if (db)
        EMBCL_TRY(embcl_ew_run("copy_acc", dy, NULL, db, accumulate, fn));
    return EMBCL_OK;
}

embcl_status embcl_mul_backward(embcl_tensor_t a, embcl_tensor_t b, embcl_tensor_t dy, embcl_tensor_t da,
                                embcl_tensor_t db, int accumulate)
{
    static const char *fn = "embcl_mul_backward";
    EMBCL_TRY(embcl_check_tensor(b, fn, "b"));
    EMBCL_TRY(embcl_check_tensor(dy, fn, "dy"));
    struct embcl_tensor *ts[] = {b, dy, da, db};
    const char *names[] = {"b", "dy", "da", "db"};
    EMBCL_TRY(check_like(fn, a, "a", 4, ts, names));
    if (da)
        EMBCL_TRY(embcl_ew_run("mul", dy, b, da, accumulate, fn));
    if (db)
        EMBCL_TRY(embcl_ew_run("mul", dy, a, db, accumulate, fn));
    return EMBCL_OK;
}

static embcl_status unary(const char *func, const char *kernel, embcl_tensor_t x, embcl_tensor_t y)
{
    EMBCL_TRY(embcl_check_tensor(y, func, "y"));
    struct embcl_tensor *ts[] = {y};
    const char *names[] = {"y"};
    EMBCL_TRY(check_like(func, x, "x", 1, ts, names));
    return embcl_ew_run(kernel, x, NULL, y, 0, func);
}

static embcl_status unary_back(const char *func, const char *kernel, embcl_tensor_t y, embcl_tensor_t dy,
                               embcl_tensor_t dx, int accumulate)
{
    EMBCL_TRY(embcl_check_tensor(dy, func, "dy"));
    EMBCL_TRY(embcl_check_tensor(dx, func, "dx"));
    struct embcl_tensor *ts[] = {dy, dx};
    const char *names[] = {"dy", "dx"};
    EMBCL_TRY(check_like(func, y, "y", 2, ts, names));
    return embcl_ew_run(kernel, y, dy, dx, accumulate, func);
}

embcl_status embcl_tanh(embcl_tensor_t x, embcl_tensor_t y)
{
    return unary("embcl_tanh", "tanh_fwd", x, y);
}

embcl_status embcl_tanh_backward(embcl_tensor_t y, embcl_tensor_t dy, embcl_tensor_t dx, int accumulate)
{
    return unary_back("embcl_tanh_backward", "tanh_bwd", y, dy, dx, accumulate);
}

embcl_status embcl_sigmoid(embcl_tensor_t x, embcl_tensor_t y)
{
    return unary("embcl_sigmoid", "sigmoid_fwd", x, y);
}

embcl_status embcl_sigmoid_backward(embcl_tensor_t y, embcl_tensor_t dy, embcl_tensor_t dx, int accumulate)
{
    return unary_back("embcl_sigmoid_backward", "sigmoid_bwd", y, dy, dx, accumulate);
}

static embcl_status dropout(const char *func, const char *in_name, const char *out_name, embcl_tensor_t x, float p,
                            uint64_t seed, int training, embcl_tensor_t y, int accumulate)
{
    EMBCL_TRY(embcl_check_tensor(y, func, out_name));
    struct embcl_tensor *ts[] = {y};
    const char *names[] = {out_name};
    EMBCL_TRY(check_like(func, x, in_name, 1, ts, names));
    if (!(p >= 0.0f && p < 1.0f))
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument 'p' is %g; dropout needs 0 <= p < 1", (double)p);
    if (!training || p == 0.0f)
        return embcl_ew_run("copy_acc", x, NULL, y, accumulate, func);
    return embcl_ew_dropout(x, y, accumulate, p, seed, func);
}

embcl_status embcl_dropout(embcl_tensor_t x, float p, uint64_t seed, int training, embcl_tensor_t y)
{
    return dropout("embcl_dropout", "x", "y", x, p, seed, training, y, 0);
}

embcl_status embcl_dropout_backward(embcl_tensor_t dy, float p, uint64_t seed, int training, embcl_tensor_t dx,
                                    int accumulate)
{
    return dropout("embcl_dropout_backward", "dy", "dx", dy, p, seed, training, dx, accumulate);
}

/* Checks the parts against the whole; `parts` may hold NULLs when `optional`. */
static embcl_status check_concat(const char *func, const char *whole_name, const char *part_name,
                                 struct embcl_tensor *y, size_t n, const embcl_tensor_t *parts, int optional)
{
    EMBCL_TRY(embcl_check_dtype(y, EMBCL_F32, func, whole_name));
    if (y->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has %d dimensions, expected 2", whole_name,
                           y->ndim);
    EMBCL_CHECK_ARG(n == 0 || parts != NULL, func, "argument '%s' is NULL", part_name);
    size_t width = 0;
    for (size_t i = 0; i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s[%zu]", part_name, i);
        if (!parts[i]) {
            if (!optional)
                return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument '%s' is NULL", name);
            return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument '%s' is NULL; its width is needed", name);
        }
        EMBCL_TRY(embcl_check_f32_on(parts[i], y->dev, func, name));
        if (parts[i]->ndim != 2 || parts[i]->rows != y->rows) {
            char s[96];
            return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has shape %s, expected [%zu, *]", name,
                               embcl_shape_str(parts[i], s, sizeof s), y->rows);
        }
        width += parts[i]->cols;
    }
    if (width != y->cols)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has %zu columns but the parts have %zu in all",
                           whole_name, y->cols, width);
    return EMBCL_OK;
}

/* Copies between the whole and each part's column range. */
static embcl_status concat_copy(const char *func, struct embcl_tensor *y, size_t n, const embcl_tensor_t *parts,
                                int to_parts, int accumulate)
{
    size_t c0 = 0;
    for (size_t i = 0; i < n; i++) {
        struct embcl_tensor v = embcl_as_matrix(y);
        v.offset += c0;
        v.cols = parts[i]->cols;
        v.shape[1] = (int64_t)v.cols;
        c0 += parts[i]->cols;
        if (to_parts)
            EMBCL_TRY(embcl_ew_run("copy_acc", &v, NULL, parts[i], accumulate, func));
        else
            EMBCL_TRY(embcl_ew_run("copy_acc", parts[i], NULL, &v, 0, func));
    }
    return EMBCL_OK;
}

embcl_status embcl_concat_cols(size_t n, const embcl_tensor_t *inputs, embcl_tensor_t y)
{
    static const char *fn = "embcl_concat_cols";
    EMBCL_TRY(check_concat(fn, "y", "inputs", y, n, inputs, 0));
    return concat_copy(fn, y, n, inputs, 0, 0);
}

embcl_status embcl_concat_cols_backward(embcl_tensor_t dy, size_t n, const embcl_tensor_t *dinputs, int accumulate)
{
    static const char *fn = "embcl_concat_cols_backward";
    EMBCL_TRY(check_concat(fn, "dy", "dinputs", dy, n, dinputs, 1));
    return concat_copy(fn, dy, n, dinputs, 1, accumulate);
}

/* Validates x [T,B,F] (or [B,T,F]) against y [B,F] and lengths; uploads the
 * lengths as i32 into a pooled tensor. */
static embcl_status mean_time_prep(const char *func, const char *x_name, const char *y_name, struct embcl_tensor *x,
                                   struct embcl_tensor *y, const int64_t *lengths, int batch_first,
                                   struct embcl_tensor **len_out)
{
    EMBCL_TRY(embcl_check_dtype(x, EMBCL_F32, func, x_name));
    EMBCL_TRY(embcl_check_f32_on(y, x->dev, func, y_name));
    if (x->ndim != 3 || !embcl_tensor_is_contiguous(x)) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has shape %s, expected a contiguous [%s, F]",
                           x_name, embcl_shape_str(x, s, sizeof s), batch_first ? "B, T" : "T, B");
    }
    int64_t T = x->shape[batch_first ? 1 : 0], B = x->shape[batch_first ? 0 : 1];
    int64_t want[2] = {B, x->shape[2]};
    EMBCL_TRY(embcl_check_shape(y, 2, want, func, y_name));
    int32_t *len = embcl_malloc((size_t)(B > 0 ? B : 1) * sizeof *len, func);
    if (!len)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t b = 0; b < B; b++) {
        int64_t l = lengths ? lengths[b] : T;
        if (l < 1 || l > T) {
            free(len);
            return embcl_error(EMBCL_ERR_INDEX_RANGE, func,
                               "argument 'lengths' at position %lld is %lld; lengths must be in [1, %lld]",
                               (long long)b, (long long)l, (long long)T);
        }
        len[b] = (int32_t)l;
    }
    int64_t shape[1] = {B > 0 ? B : 1};
    embcl_status s = embcl_tensor_new(x->dev, EMBCL_I32, 1, shape, func, len_out);
    if (s == EMBCL_OK && B > 0)
        s = embcl_tensor_upload(*len_out, len, (size_t)B * sizeof *len);
    free(len);
    if (s != EMBCL_OK) {
        embcl_tensor_free(*len_out);
        *len_out = NULL;
        return embcl_error_context(s, func);
    }
    return EMBCL_OK;
}

static embcl_status mean_time_run(const char *func, struct embcl_tensor *x, struct embcl_tensor *y,
                                  struct embcl_tensor *len, int batch_first, int backward, int accumulate)
{
    cl_uint T = (cl_uint)x->shape[batch_first ? 1 : 0], B = (cl_uint)x->shape[batch_first ? 0 : 1],
            F = (cl_uint)x->shape[2];
    cl_uint t_stride = batch_first ? 1 : B, b_stride = batch_first ? T : 1;
    cl_int acc = accumulate;
    struct embcl_tensor xm = embcl_as_matrix(x);
    const char *kname = backward ? "mean_time_bwd" : "mean_time";
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(x->dev, "elementwise", NULL, kname, &k));
    if (backward) { /* a = dy [B, F], y = dx (the [T*B, F] matrix) */
        embcl_karg args[] = {EMBCL_KARG(T), EMBCL_KARG(B), EMBCL_KARG(F), EMBCL_KARG_MAT(y), EMBCL_KARG(t_stride),
                             EMBCL_KARG(b_stride), EMBCL_KARG(len->buf->mem), EMBCL_KARG_MAT((&xm)),
                             EMBCL_KARG(acc)};
        EMBCL_TRY(embcl_kernel_set_args(k, kname, sizeof args / sizeof args[0], args));
        return embcl_launch_2d(x->dev, k, kname, F, (size_t)T * B);
    }
    embcl_karg args[] = {EMBCL_KARG(B), EMBCL_KARG(F), EMBCL_KARG_MAT((&xm)), EMBCL_KARG(t_stride),
                         EMBCL_KARG(b_stride), EMBCL_KARG(len->buf->mem), EMBCL_KARG_MAT(y), EMBCL_KARG(acc)};
    EMBCL_TRY(embcl_kernel_set_args(k, kname, sizeof args / sizeof args[0], args));
    (void)func;
    return embcl_launch_2d(x->dev, k, kname, F, B);
}

embcl_status embcl_mean_time(embcl_tensor_t x, const int64_t *lengths, int batch_first, embcl_tensor_t y)
{
    static const char *fn = "embcl_mean_time";
    struct embcl_tensor *len;
    EMBCL_TRY(mean_time_prep(fn, "x", "y", x, y, lengths, batch_first, &len));
    embcl_status s = mean_time_run(fn, x, y, len, batch_first, 0, 0);
    embcl_tensor_free(len);
    return s;
}

embcl_status embcl_mean_time_backward(embcl_tensor_t dy, const int64_t *lengths, int batch_first, embcl_tensor_t dx,
                                      int accumulate)
{
    static const char *fn = "embcl_mean_time_backward";
    struct embcl_tensor *len;
    EMBCL_TRY(embcl_check_tensor(dx, fn, "dx"));
    EMBCL_TRY(mean_time_prep(fn, "dx", "dy", dx, dy, lengths, batch_first, &len));
    embcl_status s = mean_time_run(fn, dx, dy, len, batch_first, 1, accumulate);
    embcl_tensor_free(len);
    return s;
}
