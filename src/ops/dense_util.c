#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/tuning.h"
#include "ops/dense_util.h"

embcl_status embcl_check_f32_on(const struct embcl_tensor *t, struct embcl_device *dev, const char *func,
                                const char *arg)
{
    EMBCL_TRY(embcl_check_single(t, func, arg));
    return embcl_check_f32_on_parts(t, dev, func, arg);
}

embcl_status embcl_check_f32_on_parts(const struct embcl_tensor *t, struct embcl_device *dev, const char *func,
                                      const char *arg)
{
    EMBCL_TRY(embcl_check_dtype_parts(t, EMBCL_F32, func, arg));
    if (t->dev != dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, func, "argument '%s' lives on another device", arg);
    return EMBCL_OK;
}

static const char *want_str(int ndim, const int64_t *want, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++) {
        if (want[d] >= 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)want[d]);
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s*", d ? ", " : "");
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

embcl_status embcl_check_shape(const struct embcl_tensor *t, int ndim, const int64_t *want, const char *func,
                               const char *arg)
{
    EMBCL_TRY(embcl_check_tensor(t, func, arg));
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = want[d] < 0 || t->shape[d] == want[d];
    if (ok)
        return EMBCL_OK;
    char got[96], exp[96];
    return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has shape %s, expected %s", arg,
                       embcl_shape_str(t, got, sizeof got), want_str(ndim, want, exp, sizeof exp));
}

embcl_status embcl_check_same_shape(const struct embcl_tensor *b, const struct embcl_tensor *a, const char *func,
                                    const char *arg_b, const char *arg_a)
{
    EMBCL_TRY(embcl_check_tensor(b, func, arg_b));
    if (embcl_same_shape(a, b))
        return EMBCL_OK;
    char sa[96], sb[96];
    return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' has shape %s, expected %s (the shape of '%s')", arg_b,
                       embcl_shape_str(b, sb, sizeof sb), embcl_shape_str(a, sa, sizeof sa), arg_a);
}

embcl_status embcl_launch_2d(struct embcl_device *dev, cl_kernel k, const char *kname, size_t cols, size_t rows)
{
    if (cols == 0 || rows == 0)
        return EMBCL_OK;
    size_t wgs = embcl_kernel_fit_wgs(dev, k, (size_t)embcl_tune_get(dev, "elementwise.WGS", 256), 0);
    size_t lx = cols < wgs ? embcl_round_up(cols, 8) : wgs;
    if (lx > wgs) /* a limit under 8 */
        lx = wgs;
    if (lx > dev->info.max_work_item_sizes[0])
        lx = dev->info.max_work_item_sizes[0];
    size_t ly = wgs / lx;
    if (ly > rows)
        ly = rows;
    if (ly > dev->info.max_work_item_sizes[1])
        ly = dev->info.max_work_item_sizes[1];
    if (ly < 1)
        ly = 1;
    size_t gws[2] = {embcl_round_up(cols, lx), embcl_round_up(rows, ly)}, lws[2] = {lx, ly};
    return embcl_kernel_launch(dev, k, kname, 2, gws, lws, NULL);
}

embcl_status embcl_ew_run(const char *kernel, struct embcl_tensor *a, struct embcl_tensor *b,
                          struct embcl_tensor *y, int acc, const char *func)
{
    (void)func;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(y->dev, "elementwise", NULL, kernel, &k));
    cl_uint rows = (cl_uint)y->rows, cols = (cl_uint)y->cols;
    cl_int a_acc = acc;
    if (b) {
        embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG_MAT(a), EMBCL_KARG_MAT(b),
                             EMBCL_KARG_MAT(y), EMBCL_KARG(a_acc)};
        EMBCL_TRY(embcl_kernel_set_args(k, kernel, sizeof args / sizeof args[0], args));
    } else {
        embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG_MAT(a), EMBCL_KARG_MAT(y),
                             EMBCL_KARG(a_acc)};
        EMBCL_TRY(embcl_kernel_set_args(k, kernel, sizeof args / sizeof args[0], args));
    }
    return embcl_launch_2d(y->dev, k, kernel, cols, rows);
}

embcl_status embcl_ew_dropout(struct embcl_tensor *a, struct embcl_tensor *y, int acc, float p, uint64_t seed,
                              const char *func)
{
    (void)func;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(y->dev, "elementwise", NULL, "dropout", &k));
    cl_uint rows = (cl_uint)y->rows, cols = (cl_uint)y->cols;
    cl_int a_acc = acc;
    cl_ulong s = seed;
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG_MAT(a), EMBCL_KARG_MAT(y),
                         EMBCL_KARG(a_acc), EMBCL_KARG(s), EMBCL_KARG(p), EMBCL_KARG(scale)};
    EMBCL_TRY(embcl_kernel_set_args(k, "dropout", sizeof args / sizeof args[0], args));
    return embcl_launch_2d(y->dev, k, "dropout", cols, rows);
}

embcl_status embcl_ew_bias_rows(struct embcl_tensor *y, struct embcl_tensor *b, const char *func)
{
    (void)func;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(y->dev, "elementwise", NULL, "bias_rows", &k));
    cl_uint rows = (cl_uint)y->rows, cols = (cl_uint)y->cols;
    embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG(b->buf->mem), EMBCL_KARG(b->offset),
                         EMBCL_KARG_MAT(y)};
    EMBCL_TRY(embcl_kernel_set_args(k, "bias_rows", sizeof args / sizeof args[0], args));
    return embcl_launch_2d(y->dev, k, "bias_rows", cols, rows);
}

embcl_status embcl_ew_sum_rows(struct embcl_tensor *a, struct embcl_tensor *y, int acc, const char *func)
{
    (void)func;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(y->dev, "elementwise", NULL, "sum_rows", &k));
    cl_uint rows = (cl_uint)a->rows, cols = (cl_uint)a->cols;
    cl_int a_acc = acc;
    embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG_MAT(a), EMBCL_KARG(y->buf->mem),
                         EMBCL_KARG(y->offset), EMBCL_KARG(a_acc)};
    EMBCL_TRY(embcl_kernel_set_args(k, "sum_rows", sizeof args / sizeof args[0], args));
    return embcl_launch_2d(y->dev, k, "sum_rows", (cols + 7) / 8, 1);
}
