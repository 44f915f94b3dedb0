#include <stdio.h>

#include "core/error.h"
#include "device/tuning.h"
#include "graph/graph_kernels.h"

void gk_mat(gk_args *a, const struct embcl_tensor *t)
{
    a->a[a->n++] = EMBCL_KARG(t->buf->mem);
    gk_ulong(a, t->offset);
    gk_ulong(a, t->ld);
}

void gk_ulong(gk_args *a, uint64_t v)
{
    a->u[a->n] = v;
    a->a[a->n] = EMBCL_KARG(a->u[a->n]);
    a->n++;
}

void gk_int(gk_args *a, int v)
{
    a->i[a->n] = v;
    a->a[a->n] = EMBCL_KARG(a->i[a->n]);
    a->n++;
}

void gk_float(gk_args *a, float v)
{
    a->f[a->n] = v;
    a->a[a->n] = EMBCL_KARG(a->f[a->n]);
    a->n++;
}

/* The reductions' work-group size: a power of two the device allows. */
static long long wgs(struct embcl_device *dev)
{
    long long want = embcl_tune_get(dev, "graph.WGS", 256), w = 1;
    while (w * 2 <= want && (size_t)(w * 2) <= dev->info.max_work_group_size)
        w *= 2;
    return w;
}

static embcl_status get(struct embcl_device *dev, const char *kname, gk_args *a, cl_kernel *k)
{
    char defs[32];
    snprintf(defs, sizeof defs, "-DWGS=%lld", wgs(dev));
    EMBCL_TRY(embcl_kernel_get(dev, "graph", defs, kname, k));
    return embcl_kernel_set_args(*k, kname, a->n, a->a);
}

embcl_status gk_run(struct embcl_device *dev, const char *kname, gk_args *a, size_t rows, size_t cols)
{
    cl_kernel k;
    EMBCL_TRY(get(dev, kname, a, &k));
    size_t gws[2] = {embcl_round_up(cols, 16), rows};
    return embcl_kernel_launch(dev, k, kname, 2, gws, NULL, NULL);
}

embcl_status gk_run_1d(struct embcl_device *dev, const char *kname, gk_args *a, size_t n)
{
    cl_kernel k;
    EMBCL_TRY(get(dev, kname, a, &k));
    size_t gws[1] = {embcl_round_up(n, 64)};
    return embcl_kernel_launch(dev, k, kname, 1, gws, NULL, NULL);
}

embcl_status gk_run_group(struct embcl_device *dev, const char *kname, gk_args *a)
{
    cl_kernel k;
    EMBCL_TRY(get(dev, kname, a, &k));
    size_t n = (size_t)wgs(dev);
    return embcl_kernel_launch(dev, k, kname, 1, &n, &n, NULL);
}

embcl_status gk_axpy(struct embcl_tensor *y, const struct embcl_tensor *x, float alpha, int acc)
{
    gk_args a = {0};
    gk_mat(&a, y);
    gk_mat(&a, x);
    gk_ulong(&a, y->rows);
    gk_ulong(&a, y->cols);
    gk_float(&a, alpha);
    gk_int(&a, acc);
    return gk_run(y->dev, "axpy2d", &a, y->rows, y->cols);
}
