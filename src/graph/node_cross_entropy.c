/* cross_entropy: F.cross_entropy over class ids, logits seen as [N, C]
 * whatever their leading dimensions (a [B, T, V] language-model output). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

static embcl_status ce_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]], *t = &g->vals[n->in[1]];
    const embcl_cross_entropy_options *o = n->attr;
    char a[96], b[96];
    if (x->dtype != EMBCL_F32)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument 'logits' ('%s') is %s; it must be f32",
                           x->name ? x->name : "?", embcl_dtype_name(x->dtype));
    int64_t N = graph_numel(x) / (x->shape[x->ndim - 1] ? x->shape[x->ndim - 1] : 1);
    if (t->dtype == EMBCL_F32 || graph_numel(t) != N)
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "argument 'target' ('%s') is %s %s; logits %s need %lld i32/i64 class ids",
                           t->name ? t->name : "?", embcl_dtype_name(t->dtype), graph_shape_str(t, a, sizeof a),
                           graph_shape_str(x, b, sizeof b), (long long)N);
    if ((unsigned)o->reduction >= EMBCL_REDUCTION_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "option 'reduction' is %d", (int)o->reduction);
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = 1;
    outs[0].shape[0] = o->reduction == EMBCL_REDUCTION_NONE ? N : 1;
    return EMBCL_OK;
}

static embcl_status ce_forward(struct embcl_graph *g, gnode *n)
{
    struct embcl_tensor x = graph_as_2d(graph_t(g, n->in[0])), t = graph_as_1d(graph_t(g, n->in[1]));
    return embcl_cross_entropy(&x, &t, n->attr, graph_t(g, n->out[0]));
}

static embcl_status ce_backward(struct embcl_graph *g, gnode *n)
{
    struct embcl_tensor *dx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &dx));
    struct embcl_tensor x = graph_as_2d(graph_t(g, n->in[0])), t = graph_as_1d(graph_t(g, n->in[1]));
    struct embcl_tensor dx2 = graph_as_2d(dx);
    return embcl_cross_entropy_backward(&x, &t, n->attr, graph_out_grad(g, n, 0), &dx2, n->acc[0]);
}

static embcl_status clone_opts(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out)
{
    return graph_clone_bytes(n->attr, sizeof(embcl_cross_entropy_options), out);
}

static const gnode_ops cross_entropy_ops = {
    .kind = "cross_entropy",
    .diff_inputs = 1u,
    .saved_inputs = 3u,
    .infer = ce_infer,
    .forward = ce_forward,
    .backward = ce_backward,
    .free_attr = free,
    .clone_attr = clone_opts,
};

embcl_status embcl_graph_cross_entropy(embcl_graph_t g, embcl_value logits, embcl_value target,
                                       const embcl_cross_entropy_options *opt, embcl_value *out)
{
    static const char *fn = "embcl_graph_cross_entropy";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, logits, fn, "logits"));
    EMBCL_TRY(graph_check_value(g, target, fn, "target"));
    embcl_cross_entropy_options *o = embcl_malloc(sizeof *o, fn);
    if (!o)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *o = opt ? *opt : embcl_cross_entropy_options_default();
    int in[2] = {logits, target};
    return graph_add_node(g, &cross_entropy_ops, in, 2, 1, o, fn, out);
}
