/* embedding: y = weight[indices] (nn.Embedding) over embcl_embedding and
 * its backward; the table's gradient is dense or row-sparse
 * (graph_table_grad). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

static embcl_status emb_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *w = &g->vals[n->in[0]], *idx = &g->vals[n->in[1]];
    char a[96];
    if (w->dtype != EMBCL_F32 || w->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'weight' ('%s') is %s %s; it must be a 2-D f32 table",
                           w->name ? w->name : "?", embcl_dtype_name(w->dtype), graph_shape_str(w, a, sizeof a));
    if (idx->dtype == EMBCL_F32 || idx->ndim > 3)
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "argument 'indices' ('%s') is %s %s; it must be i32 or i64 with 1 to 3 dimensions",
                           idx->name ? idx->name : "?", embcl_dtype_name(idx->dtype),
                           graph_shape_str(idx, a, sizeof a));
    const embcl_embedding_options *o = n->attr;
    int64_t V = w->shape[0];
    if (o->padding_idx != EMBCL_PADDING_NONE && (o->padding_idx < -V || o->padding_idx >= V))
        return embcl_error(EMBCL_ERR_INDEX_RANGE, func, "option 'padding_idx' is %lld; the table '%s' has %lld rows",
                           (long long)o->padding_idx, w->name ? w->name : "?", (long long)V);
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = idx->ndim + 1;
    memcpy(outs[0].shape, idx->shape, (size_t)idx->ndim * sizeof *idx->shape);
    outs[0].shape[idx->ndim] = w->shape[1];
    return EMBCL_OK;
}

static embcl_status emb_forward(struct embcl_graph *g, gnode *n)
{
    return embcl_embedding(graph_t(g, n->in[0]), graph_t(g, n->in[1]), n->attr, graph_t(g, n->out[0]));
}

static embcl_status emb_grad(struct embcl_graph *g, gnode *n, struct embcl_tensor *dense, embcl_rowsparse_t sparse)
{
    embcl_embedding_options o = *(const embcl_embedding_options *)n->attr;
    o.sparse = sparse != NULL;
    return embcl_embedding_backward(graph_out_grad(g, n, 0), graph_t(g, n->in[1]), g->vals[n->in[0]].shape[0], &o,
                                    dense, sparse);
}

static int64_t emb_sparse_rows(struct embcl_graph *g, const gnode *n, int i)
{
    const embcl_embedding_options *o = n->attr;
    return i == 0 && o->sparse ? graph_numel(&g->vals[n->in[1]]) : 0;
}

static embcl_status emb_backward(struct embcl_graph *g, gnode *n)
{
    return graph_table_grad(g, n, 0, emb_sparse_rows(g, n, 0), emb_grad);
}

/* Shared with embedding_bag: indices are input 1. */
int graph_emb_padding(const gnode *n, int i, int64_t *pad)
{
    const embcl_embedding_options *o = n->attr;
    if (i != 1 || o->padding_idx == EMBCL_PADDING_NONE)
        return 0;
    *pad = o->padding_idx;
    return 1;
}

static embcl_status clone_opts(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out)
{
    return graph_clone_bytes(n->attr, sizeof(embcl_embedding_options), out);
}

embcl_status graph_emb_options(struct embcl_graph *g, int weight, const embcl_embedding_options *opt,
                               const char *fn, embcl_embedding_options **out)
{
    embcl_embedding_options *o = embcl_malloc(sizeof *o, fn);
    if (!o)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *o = opt ? *opt : embcl_embedding_options_default();
    /* Negative padding counts from the end, as in PyTorch. */
    int64_t V = g->vals[weight].ndim == 2 ? g->vals[weight].shape[0] : 0;
    if (o->padding_idx != EMBCL_PADDING_NONE && o->padding_idx < 0 && o->padding_idx >= -V)
        o->padding_idx += V;
    *out = o;
    return EMBCL_OK;
}

static const gnode_ops embedding_ops = {
    .kind = "embedding",
    .diff_inputs = 1u,
    .saved_inputs = 2u,
    .infer = emb_infer,
    .forward = emb_forward,
    .backward = emb_backward,
    .free_attr = free,
    .clone_attr = clone_opts,
    .sparse_rows = emb_sparse_rows,
    .padding = graph_emb_padding,
};

embcl_status embcl_graph_embedding(embcl_graph_t g, embcl_value weight, embcl_value indices,
                                   const embcl_embedding_options *opt, embcl_value *out)
{
    static const char *fn = "embcl_graph_embedding";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, weight, fn, "weight"));
    EMBCL_TRY(graph_check_value(g, indices, fn, "indices"));
    embcl_embedding_options *o;
    EMBCL_TRY(graph_emb_options(g, weight, opt, fn, &o));
    int in[2] = {weight, indices};
    return graph_add_node(g, &embedding_ops, in, 2, 1, o, fn, out);
}
