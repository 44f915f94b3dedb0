/* The backward scatter of Embedding and EmbeddingBag: each index's share of
 * its bag's gradient goes to its row of the table's gradient.
 *
 * First one kernel writes, per position p, its bag and the factor its share
 * gets (padding 0, per_sample_weights, 1/bag size for mean). Then either
 *   deterministic: the indices are grouped by row on the device (segments:
 *     a stable sort), and one work-item per row sums its positions in input
 *     order: the same bits every run; also how row-sparse gradients are
 *     built (the segments are the sorted unique ids);
 *   atomic: one work-item per position adds into the dense gradient with
 *     float atomics (CAS loops).
 * Everything is checked, indices included (on the device, verdict read
 * back), before the first write. */
#include <stdio.h>

#include "core/error.h"
#include "ops/embedding_impl.h"
#include "ops/embedding_narrow.h"
#include "ops/rowsparse_impl.h"
#include "ops/segments.h"

static embcl_status check_targets(struct embcl_tensor *g, const emb_opts *o, int64_t V, struct embcl_tensor *dense,
                                  embcl_rowsparse_t sparse, const char *fn)
{
    size_t D = g->cols;
    if (o->o.sparse) {
        if (dense)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "argument 'grad_weight' is given but option 'sparse' is 1 (use 'grad_sparse')");
        if (o->o.scale_grad_by_freq)
            return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                               "scale_grad_by_freq is not supported with sparse gradients (option 'sparse')");
        return embcl_rowsparse_check(sparse, g->dev, V, (int64_t)D, fn, "grad_sparse");
    }
    if (sparse)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "argument 'grad_sparse' is given but option 'sparse' is 0 (use 'grad_weight')");
    if (!dense)
        return EMBCL_OK;
    EMBCL_TRY(emb_check_rows_parts(dense, (size_t)V, D, fn, "grad_weight"));
    if (dense->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'grad_weight' must be 2-D [num_rows, dim]");
    return emb_check_same_device(g, dense, fn, "grad_weight");
}

typedef struct scatter_ctx {
    struct embcl_tensor *g, *mpos, *pos_bag, *pos_scale;
    const emb_bags *eb;
    const emb_opts *o;
    int mode;
    int64_t V;
    const char *fn;
} scatter_ctx;

static embcl_status run_positions(scatter_ctx *c)
{
    return emb_positions(c->eb, c->o, c->mode, c->pos_bag, c->pos_scale);
}

embcl_status emb_positions(const emb_bags *eb, const emb_opts *o, int mode, struct embcl_tensor *pos_bag,
                           struct embcl_tensor *pos_scale)
{
    struct embcl_device *dev = pos_bag->dev;
    emb_tune t;
    cl_kernel k;
    EMBCL_TRY(emb_bag_kernel(dev, "bag_bwd", eb, "bag_positions", &k, &t));
    cl_mem im = eb->idx->buf->mem, om = emb_mem(eb->offs), pm = emb_mem(eb->psw);
    cl_ulong i_off = eb->idx->offset, o_off = emb_off(eb->offs), base = eb->base, n_offs = eb->n_offs, fixed_l = eb->fixed_l;
    cl_ulong n = eb->n, B = eb->B, p_off = emb_off(eb->psw);
    cl_long pad = o->pad;
    cl_int md = mode;
    embcl_karg a[] = {EMBCL_KARG(im),      EMBCL_KARG(i_off), EMBCL_KARG(om), EMBCL_KARG(o_off), EMBCL_KARG(base),
                      EMBCL_KARG(n_offs),  EMBCL_KARG(fixed_l), EMBCL_KARG(n), EMBCL_KARG(B),
                      EMBCL_KARG(pm),      EMBCL_KARG(p_off), EMBCL_KARG(pad), EMBCL_KARG(md),
                      EMBCL_KARG(pos_bag->buf->mem), EMBCL_KARG(pos_scale->buf->mem)};
    EMBCL_TRY(embcl_kernel_set_args(k, "bag_positions", sizeof a / sizeof a[0], a));
    return emb_launch_flat(dev, k, "bag_positions", (size_t)B);
}

static embcl_status run_psw_grad(scatter_ctx *c, struct embcl_tensor *w, struct embcl_tensor *dpsw)
{
    const emb_bags *eb = c->eb;
    struct embcl_device *dev = c->g->dev;
    emb_tune t;
    cl_kernel k;
    int split = embcl_tensor_is_split(w);
    emb_bags et = emb_bags_for_table(eb, w);
    EMBCL_TRY(emb_bag_kernel_parts(dev, "bag_bwd", &et, "psw_grad", split, &k, &t));
    cl_ulong g_off = c->g->offset, g_ld = c->g->ld, D = c->g->cols, w_off = w->offset, w_ld = w->ld;
    cl_ulong i_off = eb->idx->offset, n = eb->n, d_off = dpsw->offset;
    cl_long pad = c->o->pad;
    embcl_karg a[EMBCL_MAX_PARTS + 14] = {EMBCL_KARG(c->g->buf->mem), EMBCL_KARG(g_off), EMBCL_KARG(g_ld),
                                          EMBCL_KARG(D)};
    size_t na = 4 + embcl_karg_parts(a + 4, w, split);
    embcl_karg rest[] = {EMBCL_KARG(w_off), EMBCL_KARG(w_ld), EMBCL_KARG(eb->idx->buf->mem),
                         EMBCL_KARG(i_off), EMBCL_KARG(n), EMBCL_KARG(pad), EMBCL_KARG(c->pos_bag->buf->mem),
                         EMBCL_KARG(dpsw->buf->mem), EMBCL_KARG(d_off)};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        a[na++] = rest[i];
    EMBCL_TRY(embcl_kernel_set_args(k, "psw_grad", na, a));
    return emb_launch_flat(dev, k, "psw_grad", (size_t)n);
}

static embcl_status run_atomic(scatter_ctx *c, struct embcl_tensor *dense)
{
    const emb_bags *eb = c->eb;
    struct embcl_device *dev = c->g->dev;
    struct embcl_tensor *counts = NULL;
    if (c->o->o.scale_grad_by_freq)
        EMBCL_TRY(emb_count_rows(eb, c->V, c->fn, &counts));
    emb_tune t;
    cl_kernel k;
    int split = embcl_tensor_is_split(dense);
    embcl_status s = emb_bag_kernel_parts(dev, "bag_bwd", eb, "scatter_atomic", split, &k, &t);
    cl_ulong g_off = c->g->offset, g_ld = c->g->ld, D = c->g->cols, i_off = eb->idx->offset, n = eb->n;
    cl_ulong m_off = emb_off(c->mpos), m_ld = c->mpos ? c->mpos->ld : 0, d_off = dense->offset, d_ld = dense->ld;
    cl_long pad = c->o->pad;
    cl_mem cm = emb_mem(counts), mm = emb_mem(c->mpos);
    embcl_karg a[EMBCL_MAX_PARTS + 17] = {
        EMBCL_KARG(c->g->buf->mem), EMBCL_KARG(g_off), EMBCL_KARG(g_ld), EMBCL_KARG(D),
        EMBCL_KARG(eb->idx->buf->mem), EMBCL_KARG(i_off), EMBCL_KARG(n), EMBCL_KARG(pad),
        EMBCL_KARG(c->pos_bag->buf->mem), EMBCL_KARG(c->pos_scale->buf->mem), EMBCL_KARG(cm),
        EMBCL_KARG(mm), EMBCL_KARG(m_off), EMBCL_KARG(m_ld)};
    size_t na = 14 + embcl_karg_parts(a + 14, dense, split);
    a[na++] = EMBCL_KARG(d_off);
    a[na++] = EMBCL_KARG(d_ld);
    if (s == EMBCL_OK)
        s = embcl_kernel_set_args(k, "scatter_atomic", na, a);
    if (s == EMBCL_OK)
        s = emb_launch_lanes(dev, k, "scatter_atomic", &t, (size_t)n);
    embcl_tensor_free(counts);
    return s;
}

/* Segment s (row uniq[s]) sums its positions' shares in input order.
 * dense: added into row uniq[s] of dense; else written to row s of the
 * row-sparse values, and the ids copied from uniq. */
static embcl_status run_segments(scatter_ctx *c, embcl_segments *segs, struct embcl_tensor *dense,
                                 struct embcl_rowsparse *sparse)
{
    const emb_bags *eb = c->eb;
    struct embcl_device *dev = c->g->dev;
    embcl_segments seg = *segs;
    embcl_status s = EMBCL_OK;
    if (sparse && seg.nnz > 0)
        s = embcl_cl_check(clEnqueueCopyBuffer(dev->queue, seg.uniq->buf->mem, sparse->ids->buf->mem,
                                               seg.uniq->offset * sizeof(cl_long),
                                               sparse->ids->offset * sizeof(cl_long),
                                               (size_t)seg.nnz * sizeof(cl_long), 0, NULL, NULL),
                           c->fn, "clEnqueueCopyBuffer");
    emb_tune t;
    cl_kernel k;
    struct embcl_tensor *dst = dense ? dense : sparse->values;
    int split = embcl_tensor_is_split(dst);
    if (s == EMBCL_OK && seg.nnz > 0)
        s = emb_bag_kernel_parts(dev, "bag_bwd", eb, "seg_reduce", split, &k, &t);
    if (s == EMBCL_OK && seg.nnz > 0) {
        cl_ulong g_off = c->g->offset, g_ld = c->g->ld, D = c->g->cols, nnz = (cl_ulong)seg.nnz;
        cl_ulong m_off = emb_off(c->mpos), m_ld = c->mpos ? c->mpos->ld : 0, d_off = dst->offset, d_ld = dst->ld;
        cl_int freq = c->o->o.scale_grad_by_freq, is_dense = dense != NULL;
        cl_mem mm = emb_mem(c->mpos);
        embcl_karg a[EMBCL_MAX_PARTS + 18] = {
            EMBCL_KARG(c->g->buf->mem), EMBCL_KARG(g_off), EMBCL_KARG(g_ld), EMBCL_KARG(D),
            EMBCL_KARG(seg.perm->buf->mem), EMBCL_KARG(seg.uniq->buf->mem),
            EMBCL_KARG(seg.seg_start->buf->mem), EMBCL_KARG(nnz), EMBCL_KARG(c->pos_bag->buf->mem),
            EMBCL_KARG(c->pos_scale->buf->mem), EMBCL_KARG(freq), EMBCL_KARG(mm), EMBCL_KARG(m_off),
            EMBCL_KARG(m_ld)};
        size_t na = 14 + embcl_karg_parts(a + 14, dst, split);
        a[na++] = EMBCL_KARG(d_off);
        a[na++] = EMBCL_KARG(d_ld);
        a[na++] = EMBCL_KARG(is_dense);
        s = embcl_kernel_set_args(k, "seg_reduce", na, a);
        if (s == EMBCL_OK)
            s = emb_launch_lanes(dev, k, "seg_reduce", &t, (size_t)seg.nnz);
    }
    return s;
}

embcl_status emb_scatter(struct embcl_tensor *g, const emb_bags *eb, const emb_opts *o, int mode,
                         struct embcl_tensor *mpos, int64_t V, struct embcl_tensor *dense,
                         embcl_rowsparse_t sparse, struct embcl_tensor *dpsw, struct embcl_tensor *w,
                         const char *fn)
{
    EMBCL_TRY(check_targets(g, o, V, dense, sparse, fn));
    EMBCL_TRY(emb_check_same_device(g, eb->idx, fn, "indices"));
    EMBCL_TRY(emb_validate(g->dev, eb, V, fn));
    int64_t n = (int64_t)eb->n;
    if (n == 0) {
        if (sparse)
            return embcl_rowsparse_set_nnz(sparse, 0, fn);
        return EMBCL_OK;
    }
    if (sparse && !dpsw && emb_narrow_bwd_applies(g, eb, o, mode, V))
        return emb_narrow_bwd(g, eb, o, mode, sparse, fn);
    /* The grouping (and the row-sparse capacity check) comes before the
     * first write, so a gradient too small for the batch changes nothing. */
    int use_seg = sparse || (dense && o->o.scatter == EMBCL_SCATTER_DETERMINISTIC);
    embcl_segments seg = {0};
    if (use_seg) {
        EMBCL_TRY(embcl_segments_build(eb->idx, V, o->pad, fn, "indices", &seg));
        embcl_status s = sparse ? embcl_rowsparse_set_nnz(sparse, seg.nnz, fn) : EMBCL_OK;
        if (s != EMBCL_OK) {
            embcl_segments_free(&seg);
            return s;
        }
    }
    scatter_ctx c = {g, mpos, NULL, NULL, eb, o, mode, V, fn};
    embcl_status s = embcl_tensor_new(g->dev, EMBCL_I32, 1, &n, fn, &c.pos_bag);
    if (s == EMBCL_OK)
        s = embcl_tensor_new(g->dev, EMBCL_F32, 1, &n, fn, &c.pos_scale);
    if (s == EMBCL_OK)
        s = run_positions(&c);
    if (s == EMBCL_OK && dpsw)
        s = run_psw_grad(&c, w, dpsw);
    if (s == EMBCL_OK && use_seg)
        s = run_segments(&c, &seg, dense, sparse);
    else if (s == EMBCL_OK && dense)
        s = run_atomic(&c, dense);
    if (use_seg)
        embcl_segments_free(&seg);
    embcl_tensor_free(c.pos_bag);
    embcl_tensor_free(c.pos_scale);
    return s;
}
