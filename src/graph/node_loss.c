/* Elementwise losses with reduction 'mean': mse_loss (F.mse_loss) and
 * bce_with_logits (F.binary_cross_entropy_with_logits), one node body over
 * the op pair each kind names. The target gets no gradient. */
#include <string.h>

#include "core/error.h"
#include "embcl/loss.h"
#include "graph/graph_impl.h"

typedef struct pair_loss {
    embcl_status (*fwd)(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction r, embcl_tensor_t loss);
    embcl_status (*bwd)(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction r, embcl_tensor_t dloss,
                        embcl_tensor_t dx, int accumulate);
} pair_loss;

static embcl_status pair_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]], *t = &g->vals[n->in[1]];
    char a[96], b[96];
    if (x->dtype != EMBCL_F32 || t->dtype != EMBCL_F32)
        return embcl_error(EMBCL_ERR_DTYPE, func, "arguments 'x' and 'target' must be f32 (got %s and %s)",
                           embcl_dtype_name(x->dtype), embcl_dtype_name(t->dtype));
    if (x->ndim != t->ndim || memcmp(x->shape, t->shape, (size_t)x->ndim * sizeof *x->shape) != 0)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'x' is %s but 'target' is %s; they must be equal",
                           graph_shape_str(x, a, sizeof a), graph_shape_str(t, b, sizeof b));
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = 1;
    outs[0].shape[0] = 1;
    return EMBCL_OK;
}

static embcl_status pair_forward(struct embcl_graph *g, gnode *n)
{
    const pair_loss *p = n->ops->impl;
    return p->fwd(graph_t(g, n->in[0]), graph_t(g, n->in[1]), EMBCL_REDUCTION_MEAN, graph_t(g, n->out[0]));
}

static embcl_status pair_backward(struct embcl_graph *g, gnode *n)
{
    const pair_loss *p = n->ops->impl;
    struct embcl_tensor *gx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &gx));
    return p->bwd(graph_t(g, n->in[0]), graph_t(g, n->in[1]), EMBCL_REDUCTION_MEAN, graph_out_grad(g, n, 0), gx,
                  n->acc[0]);
}

static const pair_loss mse = {embcl_mse_loss, embcl_mse_loss_backward};
static const pair_loss bce = {embcl_bce_with_logits, embcl_bce_with_logits_backward};

#define PAIR_OPS(name, impl_)                                                                                  \
    {                                                                                                          \
        .kind = name, .diff_inputs = 1u, .saved_inputs = 3u, .infer = pair_infer, .forward = pair_forward,      \
        .backward = pair_backward, .impl = &impl_                                                              \
    }
static const gnode_ops mse_ops = PAIR_OPS("mse_loss", mse);
static const gnode_ops bce_ops = PAIR_OPS("bce_with_logits", bce);

static embcl_status add_pair(embcl_graph_t g, const gnode_ops *ops, embcl_value x, embcl_value target,
                             const char *fn, embcl_value *out)
{
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    EMBCL_TRY(graph_check_value(g, target, fn, "target"));
    int in[2] = {x, target};
    return graph_add_node(g, ops, in, 2, 1, NULL, fn, out);
}

embcl_status embcl_graph_mse_loss(embcl_graph_t g, embcl_value x, embcl_value target, embcl_value *out)
{
    return add_pair(g, &mse_ops, x, target, "embcl_graph_mse_loss", out);
}

embcl_status embcl_graph_bce_with_logits(embcl_graph_t g, embcl_value x, embcl_value target, embcl_value *out)
{
    return add_pair(g, &bce_ops, x, target, "embcl_graph_bce_with_logits", out);
}
