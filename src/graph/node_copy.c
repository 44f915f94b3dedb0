/* copy: a value moved to another device, inserted by placement. Within one
 * OpenCL context embcl_tensor_copy orders the two queues with events;
 * between contexts it stages through the host. The backward moves the
 * gradient home the same way. */
#include <string.h>

#include "core/error.h"
#include "graph/graph_impl.h"
#include "embcl/elementwise.h"

static embcl_status copy_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]];
    outs[0].dtype = x->dtype;
    outs[0].ndim = x->ndim;
    memcpy(outs[0].shape, x->shape, sizeof x->shape);
    return EMBCL_OK;
}

static embcl_status copy_forward(struct embcl_graph *g, gnode *n)
{
    return embcl_tensor_copy(graph_t(g, n->out[0]), graph_t(g, n->in[0]));
}

static embcl_status copy_backward(struct embcl_graph *g, gnode *n)
{
    static const char *fn = "embcl_graph_step";
    struct embcl_tensor *gx, *gy = graph_out_grad(g, n, 0);
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &gx));
    if (!n->acc[0])
        return embcl_tensor_copy(gx, gy);
    /* Adding needs both on one device: bring the gradient home first. */
    struct embcl_tensor *tmp;
    EMBCL_TRY(embcl_tensor_new(gx->dev, EMBCL_F32, gy->ndim, gy->shape, fn, &tmp));
    embcl_status s = embcl_tensor_copy(tmp, gy);
    if (s == EMBCL_OK)
        s = embcl_add(gx, tmp, gx);
    embcl_tensor_free(tmp);
    return s;
}

const gnode_ops graph_copy_ops = {
    .kind = "copy",
    .diff_inputs = 1u,
    .infer = copy_infer,
    .forward = copy_forward,
    .backward = copy_backward,
};

embcl_status graph_insert_copy(struct embcl_graph *g, int v, struct embcl_device *dev, int *out)
{
    static const char *fn = "embcl_graph_compile";
    int in[1] = {v};
    embcl_value c;
    EMBCL_TRY(graph_add_node(g, &graph_copy_ops, in, 1, 1, NULL, fn, &c));
    gnode *n = &g->nodes[g->vals[c].node];
    n->dev = dev;
    n->pinned = 1;
    n->live = 1;
    g->vals[c].live = 1;
    g->vals[c].dev = dev;
    *out = c;
    return EMBCL_OK;
}
