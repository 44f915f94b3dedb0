/* embedding_bag: y[b] = reduce(weight[i] for i in bag b) (nn.EmbeddingBag)
 * over embcl_embedding_bag; mode max keeps the argmax positions as a
 * second result for the backward. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

enum { W = 0, IDX = 1, OFFS = 2, PSW = 3 };

static embcl_status bag_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *w = &g->vals[n->in[W]], *idx = &g->vals[n->in[IDX]];
    const embcl_embedding_options *o = n->attr;
    char a[96];
    if (w->dtype != EMBCL_F32 || w->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'weight' ('%s') is %s %s; it must be a 2-D f32 table",
                           w->name ? w->name : "?", embcl_dtype_name(w->dtype), graph_shape_str(w, a, sizeof a));
    if (idx->dtype == EMBCL_F32)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument 'indices' ('%s') is f32; it must be i32 or i64",
                           idx->name ? idx->name : "?");
    if ((unsigned)o->mode >= EMBCL_BAG_MODE_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "option 'mode' is %d, not an embcl_bag_mode", (int)o->mode);
    int64_t B;
    if (n->in[OFFS] >= 0) {
        const gvalue *off = &g->vals[n->in[OFFS]];
        if (idx->ndim != 1 || off->ndim != 1 || off->dtype == EMBCL_F32)
            return embcl_error(EMBCL_ERR_SHAPE, func,
                               "with offsets, 'indices' must be 1-D and 'offsets' 1-D i32/i64 (got %s and %d-D %s)",
                               graph_shape_str(idx, a, sizeof a), off->ndim, embcl_dtype_name(off->dtype));
        B = off->shape[0] - (o->include_last_offset ? 1 : 0);
        if (B < 0)
            return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'offsets' is empty but include_last_offset is set");
    } else {
        if (idx->ndim != 2)
            return embcl_error(EMBCL_ERR_SHAPE, func,
                               "argument 'indices' ('%s') is %s; without offsets it must be 2-D [B, L]",
                               idx->name ? idx->name : "?", graph_shape_str(idx, a, sizeof a));
        B = idx->shape[0];
    }
    if (n->in[PSW] >= 0) {
        const gvalue *p = &g->vals[n->in[PSW]];
        if (p->dtype != EMBCL_F32 || graph_numel(p) != graph_numel(idx) || o->mode != EMBCL_BAG_SUM)
            return embcl_error(EMBCL_ERR_SHAPE, func,
                               "argument 'per_sample_weights' must be f32 of the indices' shape, mode sum only");
    }
    for (int j = 0; j < n->n_out; j++) {
        outs[j].dtype = j ? EMBCL_I32 : EMBCL_F32;
        outs[j].ndim = 2;
        outs[j].shape[0] = B;
        outs[j].shape[1] = w->shape[1];
    }
    return EMBCL_OK;
}

static embcl_bags bags_of(struct embcl_graph *g, gnode *n)
{
    embcl_bags b = {graph_t(g, n->in[IDX]), n->in[OFFS] >= 0 ? graph_t(g, n->in[OFFS]) : NULL,
                    n->in[PSW] >= 0 ? graph_t(g, n->in[PSW]) : NULL};
    return b;
}

static embcl_status bag_forward(struct embcl_graph *g, gnode *n)
{
    embcl_bags b = bags_of(g, n);
    return embcl_embedding_bag(graph_t(g, n->in[W]), &b, n->attr, graph_t(g, n->out[0]),
                               n->n_out > 1 ? graph_t(g, n->out[1]) : NULL);
}

static embcl_status bag_grad(struct embcl_graph *g, gnode *n, struct embcl_tensor *dense, embcl_rowsparse_t sparse)
{
    embcl_embedding_options o = *(const embcl_embedding_options *)n->attr;
    o.sparse = sparse != NULL;
    embcl_bags b = bags_of(g, n);
    return embcl_embedding_bag_backward(graph_out_grad(g, n, 0), graph_t(g, n->in[W]), &b,
                                        n->n_out > 1 ? graph_t(g, n->out[1]) : NULL, g->vals[n->in[W]].shape[0], &o,
                                        dense, sparse, NULL);
}

static int64_t bag_sparse_rows(struct embcl_graph *g, const gnode *n, int i)
{
    const embcl_embedding_options *o = n->attr;
    return i == W && o->sparse && o->mode != EMBCL_BAG_MAX ? graph_numel(&g->vals[n->in[IDX]]) : 0;
}

static embcl_status bag_backward(struct embcl_graph *g, gnode *n)
{
    return graph_table_grad(g, n, W, bag_sparse_rows(g, n, W), bag_grad);
}

static embcl_status clone_opts(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out)
{
    return graph_clone_bytes(n->attr, sizeof(embcl_embedding_options), out);
}

static const gnode_ops bag_ops = {
    .kind = "embedding_bag",
    .diff_inputs = 1u << W,
    .saved_inputs = 1u << W | 1u << IDX | 1u << OFFS | 1u << PSW,
    .saved_outputs = 2u, /* max mode's argmax positions */
    .infer = bag_infer,
    .forward = bag_forward,
    .backward = bag_backward,
    .free_attr = free,
    .clone_attr = clone_opts,
    .sparse_rows = bag_sparse_rows,
    .padding = graph_emb_padding,
};

embcl_status embcl_graph_embedding_bag(embcl_graph_t g, embcl_value weight, embcl_value indices, embcl_value offsets,
                                       embcl_value psw, const embcl_embedding_options *opt, embcl_value *out)
{
    static const char *fn = "embcl_graph_embedding_bag";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, weight, fn, "weight"));
    EMBCL_TRY(graph_check_value(g, indices, fn, "indices"));
    if (offsets != EMBCL_VALUE_NONE)
        EMBCL_TRY(graph_check_value(g, offsets, fn, "offsets"));
    if (psw != EMBCL_VALUE_NONE)
        EMBCL_TRY(graph_check_value(g, psw, fn, "per_sample_weights"));
    embcl_embedding_options *o;
    EMBCL_TRY(graph_emb_options(g, weight, opt, fn, &o));
    int in[4] = {weight, indices, offsets, psw};
    return graph_add_node(g, &bag_ops, in, 4, o->mode == EMBCL_BAG_MAX ? 2 : 1, o, fn, out);
}
