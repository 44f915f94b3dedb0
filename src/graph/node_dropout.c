/* dropout: F.dropout in training steps (embcl_graph_step), identity in
 * embcl_graph_forward. Each step draws a new mask from (seed, step); the
 * backward applies the same one. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "embcl/elementwise.h"
#include "graph/graph_impl.h"

typedef struct dropout_attr {
    float p;
    uint64_t seed;
} dropout_attr;

static embcl_status dropout_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]];
    const dropout_attr *a = n->attr;
    if (x->dtype != EMBCL_F32)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument 'x' ('%s') is %s; it must be f32", x->name ? x->name : "?",
                           embcl_dtype_name(x->dtype));
    if (!(a->p >= 0.0f && a->p < 1.0f))
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument 'p' is %g; it must be in [0, 1)", (double)a->p);
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = x->ndim;
    memcpy(outs[0].shape, x->shape, sizeof x->shape);
    return EMBCL_OK;
}

/* The mask of this step: the user's seed mixed with the step number. */
static uint64_t step_seed(const struct embcl_graph *g, const dropout_attr *a)
{
    return a->seed ^ ((uint64_t)g->steps * 0x9E3779B97F4A7C15ull);
}

static embcl_status dropout_forward(struct embcl_graph *g, gnode *n)
{
    const dropout_attr *a = n->attr;
    return embcl_dropout(graph_t(g, n->in[0]), a->p, step_seed(g, a), g->training, graph_t(g, n->out[0]));
}

static embcl_status dropout_backward(struct embcl_graph *g, gnode *n)
{
    const dropout_attr *a = n->attr;
    struct embcl_tensor *gx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &gx));
    return embcl_dropout_backward(graph_out_grad(g, n, 0), a->p, step_seed(g, a), g->training, gx, n->acc[0]);
}

static embcl_status dropout_clone(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                                  void **out)
{
    EMBCL_TRY(graph_clone_bytes(n->attr, sizeof(dropout_attr), out));
    /* each replica masks its own share of the batch */
    ((dropout_attr *)*out)->seed += (uint64_t)r + 1;
    return EMBCL_OK;
}

static const gnode_ops dropout_ops = {
    .kind = "dropout",
    .diff_inputs = 1u,
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .free_attr = free,
    .clone_attr = dropout_clone,
};

embcl_status embcl_graph_dropout(embcl_graph_t g, embcl_value x, float p, uint64_t seed, embcl_value *out)
{
    static const char *fn = "embcl_graph_dropout";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    dropout_attr *a = embcl_malloc(sizeof *a, fn);
    if (!a)
        return EMBCL_ERR_OUT_OF_MEMORY;
    a->p = p;
    a->seed = seed;
    int in[1] = {x};
    return graph_add_node(g, &dropout_ops, in, 1, 1, a, fn, out);
}
