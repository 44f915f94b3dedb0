/* linear: y = x W^T + b (nn.Linear) over embcl_linear_forward/backward;
 * the weight may be a column view (a tied table). */
#include <string.h>

#include "core/error.h"
#include "graph/graph_impl.h"
#include "embcl/linear.h"

static embcl_status linear_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]], *w = &g->vals[n->in[1]];
    char a[96], b[96];
    if (x->dtype != EMBCL_F32 || w->dtype != EMBCL_F32)
        return embcl_error(EMBCL_ERR_DTYPE, func, "arguments 'x' and 'weight' must be f32 (got %s and %s)",
                           embcl_dtype_name(x->dtype), embcl_dtype_name(w->dtype));
    if (w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1])
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "argument 'weight' ('%s') is %s but x ('%s') is %s: the weight must be [out, %lld]",
                           w->name ? w->name : "?", graph_shape_str(w, a, sizeof a), x->name ? x->name : "?",
                           graph_shape_str(x, b, sizeof b), (long long)x->shape[x->ndim - 1]);
    if (n->in[2] >= 0) {
        const gvalue *bias = &g->vals[n->in[2]];
        if (bias->dtype != EMBCL_F32 || bias->ndim != 1 || bias->shape[0] != w->shape[0])
            return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'bias' ('%s') is %s %s; it must be f32 [%lld]",
                               bias->name ? bias->name : "?", embcl_dtype_name(bias->dtype),
                               graph_shape_str(bias, a, sizeof a), (long long)w->shape[0]);
    }
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = x->ndim;
    memcpy(outs[0].shape, x->shape, sizeof x->shape);
    outs[0].shape[x->ndim - 1] = w->shape[0];
    return EMBCL_OK;
}

static embcl_status linear_forward(struct embcl_graph *g, gnode *n)
{
    return embcl_linear_forward(graph_t(g, n->in[0]), graph_t(g, n->in[1]),
                                n->in[2] >= 0 ? graph_t(g, n->in[2]) : NULL, graph_t(g, n->out[0]));
}

/* One call per wanted gradient: each has its own overwrite/add flag. */
static embcl_status linear_backward(struct embcl_graph *g, gnode *n)
{
    struct embcl_tensor *d[3];
    for (int i = 0; i < 3; i++)
        EMBCL_TRY(graph_in_grad(g, n, i, 0, &d[i]));
    for (int i = 0; i < 3; i++)
        if (d[i])
            EMBCL_TRY(embcl_linear_backward(graph_t(g, n->in[0]), graph_t(g, n->in[1]), graph_out_grad(g, n, 0),
                                            i == 0 ? d[0] : NULL, i == 1 ? d[1] : NULL, i == 2 ? d[2] : NULL,
                                            n->acc[i]));
    return EMBCL_OK;
}

static const gnode_ops linear_ops = {
    .kind = "linear",
    .diff_inputs = 7u,
    .saved_inputs = 3u, /* x for the weight's gradient, the weight for x's */
    .infer = linear_infer,
    .forward = linear_forward,
    .backward = linear_backward,
};

embcl_status embcl_graph_linear(embcl_graph_t g, embcl_value x, embcl_value weight, embcl_value bias,
                                embcl_value *out)
{
    static const char *fn = "embcl_graph_linear";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    EMBCL_TRY(graph_check_value(g, weight, fn, "weight"));
    if (bias != EMBCL_VALUE_NONE)
        EMBCL_TRY(graph_check_value(g, bias, fn, "bias"));
    int in[3] = {x, weight, bias};
    return graph_add_node(g, &linear_ops, in, 3, 1, NULL, fn, out);
}
