/* Embedding / EmbeddingBag backward fused with the optimizer step
 * (embcl_embedding_backward_update, embcl_embedding_bag_backward_update):
 * the forward's indices are grouped into segments (one per touched row),
 * and the optimizer's FUSED update kernel sums each segment's gradient rows
 * itself (src/optim/optim_fused.h), so no row-sparse gradient is written and
 * read back. Every check runs before the first write. */
#include "core/error.h"
#include "ops/embedding_impl.h"
#include "ops/segments.h"
#include "optim/optim_fused.h"
#include "optim/optim_impl.h"

/* The optimizer side: the parameter exists, takes row-sparse gradients, and
 * matches grad_out's width and device. *V gets its rows. */
static embcl_status check_optim(embcl_optim_t optim, size_t param, struct embcl_tensor *grad_out, const char *fn,
                                int64_t *V)
{
    EMBCL_CHECK_ARG(optim != NULL, fn, "argument 'optim' is NULL");
    EMBCL_TRY(embcl_check_dtype(grad_out, EMBCL_F32, fn, "grad_out"));
    if (param >= optim->n_params)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'param' is %zu; the %s optimizer has %zu parameters",
                           param, optim->fam->name, optim->n_params);
    EMBCL_TRY(embcl_optim_sparse_allowed(optim, param, fn));
    const optim_param *p = &optim->params[param];
    if (p->t->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "parameter '%s' (index %zu) has %d dimensions; a table is 2-D", p->name,
                           param, p->t->ndim);
    if (grad_out->dev != optim->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument 'grad_out' is on device '%s', the optimizer on '%s'",
                           grad_out->dev->info.name, optim->dev->info.name);
    if (grad_out->cols != p->cols)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'grad_out' has %zu columns; parameter '%s' has %zu",
                           grad_out->cols, p->name, p->cols);
    *V = (int64_t)p->rows;
    return EMBCL_OK;
}

static embcl_status check_mode(const emb_opts *o, const char *fn)
{
    if (o->o.mode == EMBCL_BAG_MAX)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "max mode does not support sparse weights, so no fused update");
    if (o->o.scale_grad_by_freq)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                           "scale_grad_by_freq is not supported with sparse gradients, so no fused update");
    return EMBCL_OK;
}

/* Group, then update. bags: per-bag gradient rows (positions' bags and
 * factors computed here) or per-position rows (plain Embedding). */
static embcl_status run(struct embcl_tensor *grad_out, const emb_bags *eb, const emb_opts *o, int bags,
                        embcl_optim_t optim, size_t param, int64_t V, const char *fn)
{
    EMBCL_TRY(emb_validate(grad_out->dev, eb, V, fn));
    embcl_segments seg;
    EMBCL_TRY(embcl_segments_build(eb->idx, V, o->pad, fn, "indices", &seg));
    struct embcl_tensor *pos_bag = NULL, *pos_scale = NULL;
    int64_t n = (int64_t)eb->n;
    embcl_status s = EMBCL_OK;
    /* Sum pooling without weights scales nothing (padding is left out of
     * the segments): the kernel then reads no factors. */
    int scaled = o->o.mode == EMBCL_BAG_MEAN || eb->psw;
    if (bags && n > 0) {
        s = embcl_tensor_new(grad_out->dev, EMBCL_I32, 1, &n, fn, &pos_bag);
        if (s == EMBCL_OK)
            s = embcl_tensor_new(grad_out->dev, EMBCL_F32, 1, &n, fn, &pos_scale);
        if (s == EMBCL_OK)
            s = emb_positions(eb, o, (int)o->o.mode, pos_bag, pos_scale);
    }
    if (s == EMBCL_OK) {
        embcl_fused_grad g = {&seg, grad_out, pos_bag, scaled ? pos_scale : NULL};
        s = embcl_optim_step_fused(optim, param, &g, fn);
    }
    embcl_tensor_free(pos_bag);
    embcl_tensor_free(pos_scale);
    embcl_segments_free(&seg);
    return s;
}

embcl_status embcl_embedding_backward_update(embcl_tensor_t grad_out, embcl_tensor_t indices,
                                             const embcl_embedding_options *opt, embcl_optim_t optim, size_t param)
{
    static const char *fn = "embcl_embedding_backward_update";
    EMBCL_CHECK_ARG(grad_out != NULL, fn, "argument 'grad_out' is NULL");
    int64_t V = 0;
    EMBCL_TRY(check_optim(optim, param, grad_out, fn, &V));
    emb_opts o;
    EMBCL_TRY(emb_opts_resolve(opt, V, fn, &o));
    o.o.mode = EMBCL_BAG_SUM; /* a bag of one: the mode means nothing */
    EMBCL_TRY(check_mode(&o, fn));
    emb_bags eb;
    embcl_bags b = {indices, NULL, NULL};
    EMBCL_TRY(emb_bags_resolve(&b, &o, 1, fn, &eb));
    EMBCL_TRY(emb_check_same_device(grad_out, eb.idx, fn, "indices"));
    EMBCL_TRY(emb_check_rows(grad_out, (size_t)eb.n, grad_out->cols, fn, "grad_out"));
    return run(grad_out, &eb, &o, 0, optim, param, V, fn);
}

embcl_status embcl_embedding_bag_backward_update(embcl_tensor_t grad_out, const embcl_bags *bags,
                                                 const embcl_embedding_options *opt, embcl_optim_t optim,
                                                 size_t param)
{
    static const char *fn = "embcl_embedding_bag_backward_update";
    EMBCL_CHECK_ARG(grad_out != NULL, fn, "argument 'grad_out' is NULL");
    int64_t V = 0;
    EMBCL_TRY(check_optim(optim, param, grad_out, fn, &V));
    emb_opts o;
    EMBCL_TRY(emb_opts_resolve(opt, V, fn, &o));
    EMBCL_TRY(check_mode(&o, fn));
    emb_bags eb;
    EMBCL_TRY(emb_bags_resolve(bags, &o, 0, fn, &eb));
    EMBCL_TRY(emb_check_same_device(grad_out, eb.idx, fn, "indices"));
    EMBCL_TRY(emb_check_rows(grad_out, (size_t)eb.B, grad_out->cols, fn, "grad_out"));
    return run(grad_out, &eb, &o, 1, optim, param, V, fn);
}
