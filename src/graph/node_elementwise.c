/* Elementwise nodes over include/embcl/elementwise.h: add, mul, tanh,
 * sigmoid. Shapes must match exactly (no broadcast). */
#include <string.h>

#include "core/error.h"
#include "graph/graph_impl.h"
#include "embcl/elementwise.h"

static embcl_status same_f32(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *a = &g->vals[n->in[0]];
    char x[96], y[96];
    for (int i = 0; i < n->n_in; i++) {
        const gvalue *b = &g->vals[n->in[i]];
        if (b->dtype != EMBCL_F32)
            return embcl_error(EMBCL_ERR_DTYPE, func, "input %d ('%s') is %s; it must be f32", i,
                               b->name ? b->name : "?", embcl_dtype_name(b->dtype));
        if (b->ndim != a->ndim || memcmp(b->shape, a->shape, (size_t)a->ndim * sizeof *a->shape) != 0)
            return embcl_error(EMBCL_ERR_SHAPE, func, "inputs have shapes %s and %s; they must be equal",
                               graph_shape_str(a, x, sizeof x), graph_shape_str(b, y, sizeof y));
    }
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = a->ndim;
    memcpy(outs[0].shape, a->shape, sizeof a->shape);
    return EMBCL_OK;
}

static embcl_status add_forward(struct embcl_graph *g, gnode *n)
{
    return embcl_add(graph_t(g, n->in[0]), graph_t(g, n->in[1]), graph_t(g, n->out[0]));
}

static embcl_status add_backward(struct embcl_graph *g, gnode *n)
{
    for (int i = 0; i < 2; i++) {
        struct embcl_tensor *gx;
        EMBCL_TRY(graph_in_grad(g, n, i, 0, &gx));
        if (gx)
            EMBCL_TRY(embcl_add_backward(graph_out_grad(g, n, 0), gx, NULL, n->acc[i]));
    }
    return EMBCL_OK;
}

static const gnode_ops add_ops = {
    .kind = "add",
    .diff_inputs = 3u,
    .inplace = 1,
    .infer = same_f32,
    .forward = add_forward,
    .backward = add_backward,
};

embcl_status embcl_graph_add(embcl_graph_t g, embcl_value a, embcl_value b, embcl_value *out)
{
    static const char *fn = "embcl_graph_add";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, a, fn, "a"));
    EMBCL_TRY(graph_check_value(g, b, fn, "b"));
    int in[2] = {a, b};
    return graph_add_node(g, &add_ops, in, 2, 1, NULL, fn, out);
}

/* Activations: y = f(x), dx (+)= dy f'(x) computed from y; in place when x dies here. */
typedef struct activation {
    embcl_status (*fwd)(embcl_tensor_t x, embcl_tensor_t y);
    embcl_status (*bwd)(embcl_tensor_t y, embcl_tensor_t dy, embcl_tensor_t dx, int accumulate);
} activation;

static embcl_status act_forward(struct embcl_graph *g, gnode *n)
{
    const activation *f = n->ops->impl;
    return f->fwd(graph_t(g, n->in[0]), graph_t(g, n->out[0]));
}

static embcl_status act_backward(struct embcl_graph *g, gnode *n)
{
    const activation *f = n->ops->impl;
    struct embcl_tensor *gx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &gx));
    return f->bwd(graph_t(g, n->out[0]), graph_out_grad(g, n, 0), gx, n->acc[0]);
}

static const activation tanh_f = {embcl_tanh, embcl_tanh_backward};
static const activation sigmoid_f = {embcl_sigmoid, embcl_sigmoid_backward};

#define ACT_OPS(name, impl_)                                                                                   \
    {                                                                                                          \
        .kind = name, .diff_inputs = 1u, .saved_outputs = 1u, .inplace = 1, .infer = same_f32,                 \
        .forward = act_forward, .backward = act_backward, .impl = &impl_                                       \
    }
static const gnode_ops tanh_ops = ACT_OPS("tanh", tanh_f);
static const gnode_ops sigmoid_ops = ACT_OPS("sigmoid", sigmoid_f);

static embcl_status add_act(embcl_graph_t g, const gnode_ops *ops, embcl_value x, const char *fn, embcl_value *out)
{
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    int in[1] = {x};
    return graph_add_node(g, ops, in, 1, 1, NULL, fn, out);
}

embcl_status embcl_graph_tanh(embcl_graph_t g, embcl_value x, embcl_value *out)
{
    return add_act(g, &tanh_ops, x, "embcl_graph_tanh", out);
}

static embcl_status mul_forward(struct embcl_graph *g, gnode *n)
{
    return embcl_mul(graph_t(g, n->in[0]), graph_t(g, n->in[1]), graph_t(g, n->out[0]));
}

static embcl_status mul_backward(struct embcl_graph *g, gnode *n)
{
    for (int i = 0; i < 2; i++) {
        struct embcl_tensor *gx;
        EMBCL_TRY(graph_in_grad(g, n, i, 0, &gx));
        if (gx)
            EMBCL_TRY(embcl_mul_backward(graph_t(g, n->in[0]), graph_t(g, n->in[1]), graph_out_grad(g, n, 0),
                                         i == 0 ? gx : NULL, i == 1 ? gx : NULL, n->acc[i]));
    }
    return EMBCL_OK;
}

static const gnode_ops mul_ops = {
    .kind = "mul",
    .diff_inputs = 3u,
    .saved_inputs = 3u, /* each factor is the other's gradient */
    .infer = same_f32,
    .forward = mul_forward,
    .backward = mul_backward,
};

embcl_status embcl_graph_mul(embcl_graph_t g, embcl_value a, embcl_value b, embcl_value *out)
{
    static const char *fn = "embcl_graph_mul";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, a, fn, "a"));
    EMBCL_TRY(graph_check_value(g, b, fn, "b"));
    int in[2] = {a, b};
    return graph_add_node(g, &mul_ops, in, 2, 1, NULL, fn, out);
}

embcl_status embcl_graph_sigmoid(embcl_graph_t g, embcl_value x, embcl_value *out)
{
    return add_act(g, &sigmoid_ops, x, "embcl_graph_sigmoid", out);
}
