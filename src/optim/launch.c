/* Launching an update kernel of kernels/optim.cl over one parameter: picks
 * the variant (dense or sparse rows, vector width, masks), lays out the
 * shared arguments and sizes the range. */
#include <stdio.h>

#include "core/error.h"
#include "device/tuning.h"
#include "ops/segments.h"
#include "optim/optim_impl.h"

#define MAX_ARGS (32 + 5 * EMBCL_MAX_PARTS)

static size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

embcl_status embcl_optim_launch(struct embcl_optim *opt, optim_param *p, const char *kernel, const optim_src *src,
                                int rowwise, size_t n_states, struct embcl_tensor *const *states, size_t n_extra,
                                const embcl_karg *extra)
{
    struct embcl_device *dev = opt->dev;
    const struct embcl_tensor *g = src->rows;
    int split = embcl_tensor_is_split(p->t) || embcl_tensor_is_split(g);
    for (size_t i = 0; i < n_states; i++)
        split |= embcl_tensor_is_split(states[i]);
    int sparse = src->ids != NULL, fused = src->seg != NULL;
    cl_ulong rows = sparse ? (cl_ulong)src->nnz : p->rows, cols = p->cols;
    cl_ulong p_off = p->t->offset, p_ld = p->t->ld, g_off = g->offset, g_ld = g->ld;
    int rmask = p->rmask != NULL, cmask = p->cmask != NULL;
    /* A packed dense parameter with a packed gradient is one long row: the
     * vector width then depends only on the element count. */
    if (!rowwise && !sparse && !split && !rmask && !cmask && (p_ld == cols || rows <= 1) &&
        (g_ld == cols || rows <= 1)) {
        cols *= rows;
        rows = 1;
        p_ld = g_ld = cols;
    }
    size_t wgs = min_sz((size_t)embcl_tune_get(dev, rowwise ? "optim_row.WGS" : "optim.WGS", 256),
                        dev->info.max_work_group_size);
    size_t lanes = rowwise ? (size_t)embcl_tune_get(dev, "optim_row.LANES", 1) : 1;
    if (lanes > wgs)
        lanes = wgs;
    lanes = pow2_at_least(lanes) > lanes ? pow2_at_least(lanes) / 2 : lanes; /* the lanes' tree halves */
    wgs = wgs / lanes * lanes;
    size_t vw = optim_bf16_vw(dev, p, rowwise, (size_t)embcl_tune_get(dev, "optim.VW", 4));
    while (vw > 1 && (cmask || cols % vw || (!rowwise && (p_off % vw || g_off % vw || p_ld % vw || g_ld % vw))))
        vw /= 2;
    char defs[192];
    snprintf(defs, sizeof defs, "-DSPARSE=%d -DFUSED=%d -DBAG=%d -DSCALE=%d -DVW=%zu -DRMASK=%d -DCMASK=%d -DLANES=%zu%s%s",
             sparse, fused, src->pos_bag != NULL, src->pos_scale != NULL, vw, rmask, cmask, lanes,
             optim_bf16_define(opt, p), embcl_parts_define(split));
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(dev, "optim", defs, kernel, &k));
    /* LANES is built in: a kernel allowing fewer work-items than that
     * leaves wgs at lanes and the launch names the limit */
    wgs = embcl_kernel_fit_wgs(dev, k, wgs, lanes > 1 ? sizeof(float) : 0);
    if (rowwise && wgs > dev->info.max_work_item_sizes[0])
        wgs = dev->info.max_work_item_sizes[0];
    wgs = wgs < lanes ? lanes : wgs / lanes * lanes;

    cl_mem pm = p->t->buf->mem;
    cl_mem rm = rmask ? p->rmask->buf->mem : pm, cm = cmask ? p->cmask->buf->mem : pm;
    embcl_karg args[MAX_ARGS];
    size_t n = embcl_karg_parts(args, p->t, split);
    args[n++] = EMBCL_KARG(p_off);
    args[n++] = EMBCL_KARG(p_ld);
    n += embcl_karg_parts(args + n, g, split);
    args[n++] = EMBCL_KARG(g_off);
    args[n++] = EMBCL_KARG(g_ld);
    args[n++] = EMBCL_KARG(rows);
    args[n++] = EMBCL_KARG(cols);
    args[n++] = EMBCL_KARG(rm);
    args[n++] = EMBCL_KARG(cm);
    cl_mem im, perm, starts, bag, scale;
    cl_ulong i_off;
    if (sparse) {
        im = src->ids->buf->mem;
        i_off = src->ids->offset;
        args[n++] = EMBCL_KARG(im);
        args[n++] = EMBCL_KARG(i_off);
    }
    if (fused) {
        perm = src->seg->perm->buf->mem;
        starts = src->seg->seg_start->buf->mem;
        bag = src->pos_bag ? src->pos_bag->buf->mem : perm;
        scale = src->pos_scale ? src->pos_scale->buf->mem : perm;
        args[n++] = EMBCL_KARG(perm);
        args[n++] = EMBCL_KARG(starts);
        args[n++] = EMBCL_KARG(bag);
        args[n++] = EMBCL_KARG(scale);
    }
    cl_ulong bf16_seed;
    size_t n_bf16;
    optim_bf16_args(opt, p, &bf16_seed, &n_bf16);
    if (n_bf16)
        args[n++] = EMBCL_KARG(bf16_seed);
    for (size_t i = 0; i < n_states && n + EMBCL_MAX_PARTS + 1 < MAX_ARGS; i++)
        n += embcl_karg_parts(args + n, states[i], split);
    for (size_t i = 0; i < n_extra && n < MAX_ARGS - 1; i++)
        args[n++] = extra[i];
    if (lanes > 1)
        args[n++] = EMBCL_KARG_LOCAL(wgs * sizeof(float));
    EMBCL_TRY(embcl_kernel_set_args_on(dev, k, kernel, n, args));

    if (rowwise) {
        size_t gws = embcl_round_up(rows * lanes, wgs);
        return embcl_kernel_launch(dev, k, kernel, 1, &gws, &wgs, NULL);
    }
    size_t nv = cols / vw;
    size_t lws[2], gws[2];
    lws[0] = min_sz(min_sz(wgs, pow2_at_least(nv)), dev->info.max_work_item_sizes[0]);
    lws[1] = min_sz(wgs / lws[0], dev->info.max_work_item_sizes[1]);
    gws[0] = embcl_round_up(nv, lws[0]);
    gws[1] = embcl_round_up(rows, lws[1]);
    return embcl_kernel_launch(dev, k, kernel, 2, gws, lws, NULL);
}
