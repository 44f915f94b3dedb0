/* detach: the same memory, no gradient back (Tensor.detach()). The
 * diagnostics name it when it cuts a parameter off from the loss. */
#include <string.h>

#include "core/error.h"
#include "graph/graph_impl.h"

static embcl_status detach_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]];
    outs[0].dtype = x->dtype;
    outs[0].ndim = x->ndim;
    memcpy(outs[0].shape, x->shape, sizeof x->shape);
    return EMBCL_OK;
}

static const gnode_ops detach_ops = {
    .kind = "detach",
    .alias = 1,
    .infer = detach_infer,
};

embcl_status embcl_graph_detach(embcl_graph_t g, embcl_value x, embcl_value *out)
{
    static const char *fn = "embcl_graph_detach";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    int in[1] = {x};
    return graph_add_node(g, &detach_ops, in, 1, 1, NULL, fn, out);
}
