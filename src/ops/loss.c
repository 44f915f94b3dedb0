/* Host side of kernels/loss.cl: validation (targets are read back and
 * checked before anything is written, unless the caller checked them on the
 * host: ops/loss_checked.h), then per-row or per-element kernels and a
 * deterministic reduction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/tuning.h"
#include "embcl/loss.h"
#include "ops/dense_util.h"
#include "ops/loss_checked.h"

const char *embcl_reduction_name(embcl_reduction r)
{
    switch (r) {
    case EMBCL_REDUCTION_NONE: return "none";
    case EMBCL_REDUCTION_MEAN: return "mean";
    case EMBCL_REDUCTION_SUM: return "sum";
    default: return "invalid";
    }
}

embcl_cross_entropy_options embcl_cross_entropy_options_default(void)
{
    embcl_cross_entropy_options o = {EMBCL_REDUCTION_MEAN, -100, 0.0f};
    return o;
}

static embcl_status check_reduction(const char *func, embcl_reduction r)
{
    if ((int)r < 0 || r >= EMBCL_REDUCTION_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument 'reduction' is %d, not an embcl_reduction", (int)r);
    return EMBCL_OK;
}

/* The loss (or dloss) tensor: `like`'s shape for NONE, else [1]. */
static embcl_status check_loss_shape(const char *func, const char *name, struct embcl_tensor *t,
                                     struct embcl_device *dev, embcl_reduction r, int ndim, const int64_t *shape)
{
    EMBCL_TRY(embcl_check_f32_on(t, dev, func, name));
    if (r == EMBCL_REDUCTION_NONE)
        return embcl_check_shape(t, ndim, shape, func, name);
    int64_t one[1] = {1};
    return embcl_check_shape(t, 1, one, func, name);
}

/* The group size loss.cl's reductions are built for (their __local arrays
 * hold WGS floats, so the launch cannot shrink it): within the device's
 * limits; a kernel allowing fewer gets the launch's named error. */
static long long loss_wgs(struct embcl_device *dev)
{
    long long w = embcl_tune_get(dev, "loss.WGS", 64);
    long long p = 1;
    while (p * 2 <= w && p * 2 <= (long long)dev->info.max_work_group_size &&
           p * 2 <= (long long)dev->info.max_work_item_sizes[0] &&
           (unsigned long long)p * 2 * sizeof(float) + 256 <= dev->info.local_mem_bytes)
        p *= 2;
    return p;
}

/* sum_scaled over n contiguous values of v into out[0], divided by div. */
static embcl_status reduce_into(struct embcl_tensor *v, size_t n, float div, struct embcl_tensor *out,
                                const char *defs)
{
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(out->dev, "loss", defs, "sum_scaled", &k));
    cl_uint nn = (cl_uint)n;
    embcl_karg args[] = {EMBCL_KARG(nn), EMBCL_KARG(v->buf->mem), EMBCL_KARG(div), EMBCL_KARG(out->buf->mem),
                         EMBCL_KARG(out->offset)};
    EMBCL_TRY(embcl_kernel_set_args(k, "sum_scaled", sizeof args / sizeof args[0], args));
    size_t wgs = (size_t)loss_wgs(out->dev);
    return embcl_kernel_launch(out->dev, k, "sum_scaled", 1, &wgs, &wgs, NULL);
}

/* ---- cross-entropy ---- */

typedef struct ce_prep {
    embcl_cross_entropy_options o;
    int64_t n, c, count; /* rows, classes, rows not ignored */
    char defs[64];
} ce_prep;

static embcl_status ce_check(const char *func, struct embcl_tensor *logits, struct embcl_tensor *target,
                             const embcl_cross_entropy_options *opts, ce_prep *p)
{
    p->o = opts ? *opts : embcl_cross_entropy_options_default();
    EMBCL_TRY(embcl_check_dtype(logits, EMBCL_F32, func, "logits"));
    EMBCL_TRY(embcl_check_tensor(target, func, "target"));
    if (logits->ndim != 2) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'logits' has shape %s, expected [N, C]",
                           embcl_shape_str(logits, s, sizeof s));
    }
    if (target->dtype != EMBCL_I32 && target->dtype != EMBCL_I64)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument 'target' has dtype %s, expected i32 or i64",
                           embcl_dtype_name(target->dtype));
    if (target->dev != logits->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, func, "argument 'target' lives on another device");
    p->n = logits->shape[0];
    p->c = logits->shape[1];
    int64_t want[1] = {p->n};
    EMBCL_TRY(embcl_check_shape(target, 1, want, func, "target"));
    EMBCL_TRY(check_reduction(func, p->o.reduction));
    if (!(p->o.label_smoothing >= 0.0f && p->o.label_smoothing <= 1.0f))
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "label_smoothing is %g; it must be in [0, 1]",
                           (double)p->o.label_smoothing);
    long long vw = embcl_tune_get(logits->dev, "loss.VW", 1);
    if (vw != 4 && vw != 8)
        vw = 1;
    snprintf(p->defs, sizeof p->defs, "-DWGS=%lld -DTIDX=%s -DVW=%lld", loss_wgs(logits->dev),
             target->dtype == EMBCL_I64 ? "long" : "int", vw);
    return EMBCL_OK;
}

embcl_status embcl_ce_check_targets_host(const void *host, embcl_dtype dtype, int64_t n, int64_t classes,
                                         int64_t ignore_index, int64_t first, const char *func, const char *arg,
                                         int64_t *count)
{
    *count = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = dtype == EMBCL_I64 ? ((const int64_t *)host)[i] : ((const int32_t *)host)[i];
        if (v == ignore_index)
            continue;
        if (v < 0 || v >= classes)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, func,
                               "argument '%s' at position %lld is %lld; classes are in [0, %lld) "
                               "(ignore_index is %lld)", arg, (long long)(first + i), (long long)v,
                               (long long)classes, (long long)ignore_index);
        (*count)++;
    }
    return EMBCL_OK;
}

/* Each target must be a class or ignore_index: read back and checked,
 * unless the caller gave the count of a host check (count >= 0). */
static embcl_status ce_check_targets(const char *func, struct embcl_tensor *target, ce_prep *p, int64_t count)
{
    p->count = count;
    if (count >= 0)
        return EMBCL_OK;
    p->count = 0;
    if (p->n == 0)
        return EMBCL_OK;
    size_t es = embcl_dtype_size(target->dtype);
    void *h = embcl_malloc((size_t)p->n * es, func);
    if (!h)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_tensor_download(target, h, (size_t)p->n * es);
    if (s != EMBCL_OK) {
        free(h);
        return embcl_error_context(s, func);
    }
    s = embcl_ce_check_targets_host(h, target->dtype, p->n, p->c, p->o.ignore_index, 0, func, "target", &p->count);
    free(h);
    return s;
}

/* A row log-sum-exp buffer (ops/loss_checked.h): [N] f32 on dev, or NULL. */
static embcl_status check_lse(const char *func, struct embcl_tensor *lse, struct embcl_device *dev, int64_t n)
{
    if (!lse)
        return EMBCL_OK;
    EMBCL_TRY(embcl_check_f32_on(lse, dev, func, "lse"));
    if ((int64_t)(lse->rows * lse->cols) != n || !embcl_tensor_is_contiguous(lse))
        return embcl_error(EMBCL_ERR_SHAPE, func, "the log-sum-exp buffer holds %lld values; the logits have %lld rows",
                           (long long)(lse->rows * lse->cols), (long long)n);
    return EMBCL_OK;
}

embcl_status embcl_cross_entropy(embcl_tensor_t logits, embcl_tensor_t target,
                                 const embcl_cross_entropy_options *opts, embcl_tensor_t loss)
{
    return embcl_cross_entropy_counted(logits, target, opts, loss, -1, NULL);
}

embcl_status embcl_cross_entropy_counted(embcl_tensor_t logits, embcl_tensor_t target,
                                         const embcl_cross_entropy_options *opts, embcl_tensor_t loss, int64_t count,
                                         embcl_tensor_t lse)
{
    static const char *fn = "embcl_cross_entropy";
    ce_prep p;
    EMBCL_TRY(ce_check(fn, logits, target, opts, &p));
    int64_t rows[1] = {p.n};
    EMBCL_TRY(check_loss_shape(fn, "loss", loss, logits->dev, p.o.reduction, 1, rows));
    EMBCL_TRY(ce_check_targets(fn, target, &p, count));
    EMBCL_TRY(check_lse(fn, lse, logits->dev, p.n));
    struct embcl_device *dev = logits->dev;
    struct embcl_tensor *per_row = loss;
    if (p.o.reduction != EMBCL_REDUCTION_NONE) {
        int64_t shape[1] = {p.n > 0 ? p.n : 1};
        EMBCL_TRY(embcl_tensor_new(dev, EMBCL_F32, 1, shape, fn, &per_row));
    }
    cl_kernel k;
    embcl_status s = embcl_kernel_get(dev, "loss", p.defs, "ce_rows", &k);
    cl_uint C = (cl_uint)p.c;
    cl_long ig = p.o.ignore_index;
    float eps = p.o.label_smoothing;
    if (s == EMBCL_OK) {
        cl_int lse_mode = lse != NULL;
        struct embcl_tensor *lb = lse ? lse : per_row; /* any buffer when unused */
        embcl_karg args[] = {EMBCL_KARG(C), EMBCL_KARG_MAT(logits), EMBCL_KARG(target->buf->mem),
                             EMBCL_KARG(target->offset), EMBCL_KARG(ig), EMBCL_KARG(eps),
                             EMBCL_KARG(per_row->buf->mem), EMBCL_KARG(per_row->offset), EMBCL_KARG(lb->buf->mem),
                             EMBCL_KARG(lb->offset), EMBCL_KARG(lse_mode)};
        s = embcl_kernel_set_args(k, "ce_rows", sizeof args / sizeof args[0], args);
    }
    size_t wgs = (size_t)loss_wgs(dev), gws = (size_t)p.n * wgs;
    if (s == EMBCL_OK)
        s = embcl_kernel_launch(dev, k, "ce_rows", 1, &gws, &wgs, NULL);
    if (s == EMBCL_OK && p.o.reduction != EMBCL_REDUCTION_NONE) {
        float div = p.o.reduction == EMBCL_REDUCTION_MEAN ? (float)p.count : 1.0f;
        s = reduce_into(per_row, (size_t)p.n, div, loss, p.defs);
    }
    if (per_row != loss)
        embcl_tensor_free(per_row);
    return s;
}

embcl_status embcl_cross_entropy_backward(embcl_tensor_t logits, embcl_tensor_t target,
                                          const embcl_cross_entropy_options *opts, embcl_tensor_t dloss,
                                          embcl_tensor_t dlogits, int accumulate)
{
    return embcl_cross_entropy_backward_counted(logits, target, opts, dloss, dlogits, accumulate, -1, NULL);
}

embcl_status embcl_cross_entropy_backward_counted(embcl_tensor_t logits, embcl_tensor_t target,
                                                  const embcl_cross_entropy_options *opts, embcl_tensor_t dloss,
                                                  embcl_tensor_t dlogits, int accumulate, int64_t count,
                                                  embcl_tensor_t lse)
{
    static const char *fn = "embcl_cross_entropy_backward";
    ce_prep p;
    EMBCL_TRY(ce_check(fn, logits, target, opts, &p));
    int64_t rows[1] = {p.n};
    if (dloss)
        EMBCL_TRY(check_loss_shape(fn, "dloss", dloss, logits->dev, p.o.reduction, 1, rows));
    EMBCL_TRY(embcl_check_f32_on(dlogits, logits->dev, fn, "dlogits"));
    EMBCL_TRY(embcl_check_same_shape(dlogits, logits, fn, "dlogits", "logits"));
    EMBCL_TRY(ce_check_targets(fn, target, &p, count));
    EMBCL_TRY(check_lse(fn, lse, logits->dev, p.n));
    struct embcl_device *dev = logits->dev;
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(dev, "loss", p.defs, "ce_bwd", &k));
    cl_uint C = (cl_uint)p.c;
    cl_long ig = p.o.ignore_index;
    float eps = p.o.label_smoothing;
    cl_int mode = !dloss ? 0 : p.o.reduction == EMBCL_REDUCTION_NONE ? 2 : 1, acc = accumulate;
    float scale = p.o.reduction == EMBCL_REDUCTION_MEAN ? 1.0f / (float)p.count : 1.0f;
    struct embcl_tensor *dl = dloss ? dloss : logits, *lb = lse ? lse : logits;
    cl_int lse_mode = lse != NULL;
    embcl_karg args[] = {EMBCL_KARG(C), EMBCL_KARG_MAT(logits), EMBCL_KARG(target->buf->mem),
                         EMBCL_KARG(target->offset), EMBCL_KARG(ig), EMBCL_KARG(eps), EMBCL_KARG(dl->buf->mem),
                         EMBCL_KARG(dl->offset), EMBCL_KARG(mode), EMBCL_KARG(scale), EMBCL_KARG_MAT(dlogits),
                         EMBCL_KARG(acc), EMBCL_KARG(lb->buf->mem), EMBCL_KARG(lb->offset), EMBCL_KARG(lse_mode)};
    EMBCL_TRY(embcl_kernel_set_args(k, "ce_bwd", sizeof args / sizeof args[0], args));
    size_t wgs = (size_t)loss_wgs(dev), gws = (size_t)p.n * wgs;
    return embcl_kernel_launch(dev, k, "ce_bwd", 1, &gws, &wgs, NULL);
}

/* ---- elementwise losses ---- */

/* The defines of cross-entropy with i64 targets, so both share one build. */
static void elem_defines(struct embcl_device *dev, char *buf, size_t cap)
{
    snprintf(buf, cap, "-DWGS=%lld -DTIDX=long", loss_wgs(dev));
}

static embcl_status elem_check(const char *func, struct embcl_tensor *x, struct embcl_tensor *target,
                               embcl_reduction r)
{
    EMBCL_TRY(embcl_check_dtype(x, EMBCL_F32, func, "x"));
    EMBCL_TRY(embcl_check_f32_on(target, x->dev, func, "target"));
    EMBCL_TRY(embcl_check_same_shape(target, x, func, "target", "x"));
    return check_reduction(func, r);
}

static embcl_status elem_forward(const char *func, const char *kname, struct embcl_tensor *x,
                                 struct embcl_tensor *target, embcl_reduction r, struct embcl_tensor *loss)
{
    EMBCL_TRY(elem_check(func, x, target, r));
    EMBCL_TRY(check_loss_shape(func, "loss", loss, x->dev, r, x->ndim, x->shape));
    struct embcl_device *dev = x->dev;
    struct embcl_tensor xm = embcl_as_matrix(x), tm = embcl_as_matrix(target), *out;
    struct embcl_tensor lm;
    struct embcl_tensor *scratch = NULL;
    if (r == EMBCL_REDUCTION_NONE) {
        lm = embcl_as_matrix(loss);
        out = &lm;
    } else {
        int64_t shape[2] = {(int64_t)x->rows, (int64_t)x->cols};
        if (shape[0] * shape[1] == 0)
            shape[0] = shape[1] = 1;
        EMBCL_TRY(embcl_tensor_new(dev, EMBCL_F32, 2, shape, func, &scratch));
        out = scratch;
    }
    char defs[64];
    elem_defines(dev, defs, sizeof defs);
    cl_kernel k;
    embcl_status s = embcl_kernel_get(dev, "loss", defs, kname, &k);
    cl_uint rows = (cl_uint)x->rows, cols = (cl_uint)x->cols;
    if (s == EMBCL_OK) {
        embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG_MAT((&xm)), EMBCL_KARG_MAT((&tm)),
                             EMBCL_KARG_MAT(out)};
        s = embcl_kernel_set_args(k, kname, sizeof args / sizeof args[0], args);
    }
    if (s == EMBCL_OK)
        s = embcl_launch_2d(dev, k, kname, cols, rows);
    if (s == EMBCL_OK && scratch) {
        size_t n = x->rows * x->cols;
        float div = r == EMBCL_REDUCTION_MEAN ? (float)n : 1.0f;
        s = reduce_into(scratch, n, div, loss, defs);
    }
    embcl_tensor_free(scratch);
    return s;
}

static embcl_status elem_backward(const char *func, const char *kname, struct embcl_tensor *x,
                                  struct embcl_tensor *target, embcl_reduction r, struct embcl_tensor *dloss,
                                  struct embcl_tensor *dx, int accumulate)
{
    EMBCL_TRY(elem_check(func, x, target, r));
    if (dloss)
        EMBCL_TRY(check_loss_shape(func, "dloss", dloss, x->dev, r, x->ndim, x->shape));
    EMBCL_TRY(embcl_check_f32_on(dx, x->dev, func, "dx"));
    EMBCL_TRY(embcl_check_same_shape(dx, x, func, "dx", "x"));
    struct embcl_tensor xm = embcl_as_matrix(x), tm = embcl_as_matrix(target), gm = embcl_as_matrix(dx);
    struct embcl_tensor dm = embcl_as_matrix(dloss ? dloss : x);
    cl_int mode = !dloss ? 0 : r == EMBCL_REDUCTION_NONE ? 2 : 1, acc = accumulate;
    float scale = r == EMBCL_REDUCTION_MEAN ? 1.0f / (float)(x->rows * x->cols) : 1.0f;
    cl_kernel k;
    char defs[64];
    elem_defines(x->dev, defs, sizeof defs);
    EMBCL_TRY(embcl_kernel_get(x->dev, "loss", defs, kname, &k));
    cl_uint rows = (cl_uint)x->rows, cols = (cl_uint)x->cols;
    embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG_MAT((&xm)), EMBCL_KARG_MAT((&tm)),
                         EMBCL_KARG_MAT((&dm)), EMBCL_KARG(mode), EMBCL_KARG(scale), EMBCL_KARG_MAT((&gm)),
                         EMBCL_KARG(acc)};
    EMBCL_TRY(embcl_kernel_set_args(k, kname, sizeof args / sizeof args[0], args));
    return embcl_launch_2d(x->dev, k, kname, cols, rows);
}

embcl_status embcl_bce_with_logits(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction,
                                   embcl_tensor_t loss)
{
    return elem_forward("embcl_bce_with_logits", "bce_elem", x, target, reduction, loss);
}

embcl_status embcl_bce_with_logits_backward(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction,
                                            embcl_tensor_t dloss, embcl_tensor_t dx, int accumulate)
{
    return elem_backward("embcl_bce_with_logits_backward", "bce_bwd", x, target, reduction, dloss, dx, accumulate);
}

embcl_status embcl_mse_loss(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction, embcl_tensor_t loss)
{
    return elem_forward("embcl_mse_loss", "mse_elem", x, target, reduction, loss);
}

embcl_status embcl_mse_loss_backward(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction,
                                     embcl_tensor_t dloss, embcl_tensor_t dx, int accumulate)
{
    return elem_backward("embcl_mse_loss_backward", "mse_bwd", x, target, reduction, dloss, dx, accumulate);
}
