/* torch.nn.utils.clip_grad_norm_ over dense and row-sparse gradients: the
 * norm of the per-gradient norms, then one common scale. Partial sums come
 * back to the host, where they are combined in double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/tuning.h"
#include "optim/optim_impl.h"

/* One gradient seen as a rows x cols matrix with row stride ld. */
typedef struct grad_mat {
    const struct embcl_tensor *t;
    cl_ulong off, ld, rows, cols;
} grad_mat;

static embcl_status grad_matrix(const embcl_grad *g, size_t i, const char *fn, grad_mat *m)
{
    if (g->dense && g->sparse)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "grads[%zu] has both a dense and a row-sparse gradient", i);
    if (g->dense) {
        EMBCL_TRY(embcl_check_dtype_parts(g->dense, EMBCL_F32, fn, "grads[i].dense"));
        m->t = g->dense;
        m->rows = g->dense->rows;
    } else {
        int64_t nnz;
        const struct embcl_tensor *ids;
        EMBCL_TRY(embcl_optim_sparse_parts(g->sparse, fn, &ids, &m->t, &nnz));
        m->rows = (cl_ulong)nnz;
    }
    m->off = m->t->offset;
    m->ld = m->t->ld;
    m->cols = m->t->cols;
    return EMBCL_OK;
}

/* Combine per-gradient values under norm p (0: the max). */
static double combine(double acc, double x, double p)
{
    return p == 0.0 ? fmax(acc, x) : acc + (p == 1.0 ? x : p == 2.0 ? x * x : pow(x, p));
}

static double finish(double acc, double p)
{
    return p == 0.0 ? acc : p == 1.0 ? acc : p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / p);
}

static embcl_status norms(struct embcl_device *dev, const grad_mat *m, size_t n, double p, double *out,
                          const char *fn)
{
    int kind = p == 0.0 ? 0 : p == 1.0 ? 1 : p == 2.0 ? 2 : 3;
    char defs[32];
    snprintf(defs, sizeof defs, "-DNORM=%d", kind);
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(dev, "optim", defs, "norm_partial", &k));
    /* one float of local memory per work-item, within the kernel's limits */
    size_t wgs = embcl_kernel_fit_wgs(dev, k, (size_t)embcl_tune_get(dev, "optim_norm.WGS", 256), sizeof(float));
    if (wgs > dev->info.max_work_item_sizes[0])
        wgs = dev->info.max_work_item_sizes[0];
    size_t w = 1;
    while (w * 2 <= wgs)
        w *= 2; /* the tree reduction halves the group */
    wgs = w;
    size_t groups = (size_t)dev->info.compute_units * 4;
    int64_t shape[1] = {(int64_t)(n * groups)};
    struct embcl_tensor *part;
    EMBCL_TRY(embcl_tensor_new(dev, EMBCL_F32, 1, shape, fn, &part));
    float *host = embcl_calloc(n * groups, sizeof *host, fn);
    embcl_status s = host ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    float pw = (float)p;
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        /* A split gradient's elements get the same work-items as unsplit
         * ones: the same partial sums, bit for bit. */
        int split = embcl_tensor_is_split(m[i].t);
        snprintf(defs, sizeof defs, "-DNORM=%d%s", kind, embcl_parts_define(split));
        s = embcl_kernel_get(dev, "optim", defs, "norm_partial", &k);
        cl_ulong po = i * groups;
        embcl_karg args[EMBCL_MAX_PARTS + 9];
        size_t na = embcl_karg_parts(args, m[i].t, split);
        embcl_karg rest[] = {EMBCL_KARG(m[i].off), EMBCL_KARG(m[i].ld), EMBCL_KARG(m[i].rows), EMBCL_KARG(m[i].cols),
                             EMBCL_KARG(pw), EMBCL_KARG(part->buf->mem), EMBCL_KARG(po),
                             EMBCL_KARG_LOCAL(wgs * sizeof(float))};
        for (size_t j = 0; j < sizeof rest / sizeof rest[0]; j++)
            args[na++] = rest[j];
        if (s == EMBCL_OK)
            s = embcl_kernel_set_args_on(dev, k, "norm_partial", na, args);
        size_t gws = groups * wgs;
        if (s == EMBCL_OK)
            s = embcl_kernel_launch(dev, k, "norm_partial", 1, &gws, &wgs, NULL);
    }
    if (s == EMBCL_OK)
        s = embcl_tensor_download(part, host, n * groups * sizeof *host);
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        double acc = 0.0;
        for (size_t j = 0; j < groups; j++)
            acc = p == 0.0 ? fmax(acc, host[i * groups + j]) : acc + host[i * groups + j];
        out[i] = finish(acc, p);
    }
    free(host);
    embcl_tensor_free(part);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

static embcl_status scale(struct embcl_device *dev, const grad_mat *m, float coef, const char *fn)
{
    if (m->rows * m->cols == 0)
        return EMBCL_OK;
    cl_kernel k;
    int split = embcl_tensor_is_split(m->t);
    EMBCL_TRY(embcl_kernel_get(dev, "optim", split ? embcl_parts_define(1) : NULL, "scale_2d", &k));
    embcl_karg args[EMBCL_MAX_PARTS + 6];
    size_t na = embcl_karg_parts(args, m->t, split);
    args[na++] = EMBCL_KARG(m->off);
    args[na++] = EMBCL_KARG(m->ld);
    args[na++] = EMBCL_KARG(m->rows);
    args[na++] = EMBCL_KARG(m->cols);
    args[na++] = EMBCL_KARG(coef);
    EMBCL_TRY(embcl_kernel_set_args(k, "scale_2d", na, args));
    size_t wgs = embcl_kernel_fit_wgs(dev, k, 256, 0);
    size_t lx = wgs < 64 ? wgs : 64;
    if (lx > dev->info.max_work_item_sizes[0])
        lx = dev->info.max_work_item_sizes[0];
    size_t ly = wgs / lx < 4 ? wgs / lx : 4;
    if (ly > dev->info.max_work_item_sizes[1])
        ly = dev->info.max_work_item_sizes[1];
    if (ly < 1)
        ly = 1;
    size_t lws[2] = {lx, ly};
    size_t gws[2] = {embcl_round_up(m->cols, lx), embcl_round_up(m->rows, ly)};
    (void)fn;
    return embcl_kernel_launch(dev, k, "scale_2d", 2, gws, lws, NULL);
}

embcl_status embcl_clip_grad_norm(const embcl_grad *grads, size_t n, double max_norm, double norm_type,
                                  double *total_norm)
{
    static const char *fn = "embcl_clip_grad_norm";
    EMBCL_CHECK_ARG(grads != NULL || n == 0, fn, "argument 'grads' is NULL");
    EMBCL_CHECK_ARG(norm_type > 0.0, fn, "argument 'norm_type' is %g; norms need norm_type > 0 (or INFINITY)",
                    norm_type);
    EMBCL_CHECK_ARG(!isnan(max_norm), fn, "argument 'max_norm' is NaN");
    double p = isinf(norm_type) ? 0.0 : norm_type;
    grad_mat *m = embcl_calloc(n ? n : 1, sizeof *m, fn);
    double *each = embcl_calloc(n ? n : 1, sizeof *each, fn);
    embcl_status s = (m && each) ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    size_t used = 0;
    struct embcl_device *dev = NULL;
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        if (!grads[i].dense && !grads[i].sparse)
            continue;
        s = grad_matrix(&grads[i], i, fn, &m[used]);
        if (s != EMBCL_OK)
            break;
        if (dev && m[used].t->dev != dev)
            s = embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "grads[%zu] is on device '%s', the others on '%s'", i,
                            m[used].t->dev->info.name, dev->info.name);
        dev = m[used].t->dev;
        used++;
    }
    double total = 0.0;
    if (s == EMBCL_OK && used > 0)
        s = norms(dev, m, used, p, each, fn);
    for (size_t i = 0; i < used && s == EMBCL_OK; i++)
        total = combine(total, each[i], p);
    if (s == EMBCL_OK) {
        total = finish(total, p);
        double coef = max_norm / (total + 1e-6);
        for (size_t i = 0; i < used && s == EMBCL_OK && coef < 1.0; i++)
            s = scale(dev, &m[i], (float)coef, fn);
        if (total_norm)
            *total_norm = total;
    }
    free(m);
    free(each);
    return s;
}
