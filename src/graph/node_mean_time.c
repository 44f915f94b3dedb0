/* mean_time: the mean over time of a [B, T, F] (batch_first) or [T, B, F]
 * sequence, masked by lengths: a sentence embedding from token embeddings
 * or LSTM outputs. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "embcl/elementwise.h"
#include "graph/graph_impl.h"

typedef struct mean_attr {
    int batch_first;
    int64_t *lengths; /* NULL: every sequence has T steps */
} mean_attr;

static void mean_attr_free(void *p)
{
    mean_attr *a = p;
    if (a)
        free(a->lengths);
    free(a);
}

static embcl_status mean_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]];
    const mean_attr *a = n->attr;
    char s[96];
    if (x->dtype != EMBCL_F32 || x->ndim != 3)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'x' ('%s') is %s %s; it must be f32 [%s, F]",
                           x->name ? x->name : "?", embcl_dtype_name(x->dtype), graph_shape_str(x, s, sizeof s),
                           a->batch_first ? "B, T" : "T, B");
    int64_t T = x->shape[a->batch_first ? 1 : 0], B = x->shape[a->batch_first ? 0 : 1];
    for (int64_t b = 0; a->lengths && b < B; b++)
        if (a->lengths[b] < 1 || a->lengths[b] > T)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, func, "argument 'lengths' has %lld at position %lld; it must be in [1, %lld]",
                               (long long)a->lengths[b], (long long)b, (long long)T);
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = 2;
    outs[0].shape[0] = B;
    outs[0].shape[1] = x->shape[2];
    return EMBCL_OK;
}

static embcl_status mean_forward(struct embcl_graph *g, gnode *n)
{
    const mean_attr *a = n->attr;
    return embcl_mean_time(graph_t(g, n->in[0]), a->lengths, a->batch_first, graph_t(g, n->out[0]));
}

static embcl_status mean_backward(struct embcl_graph *g, gnode *n)
{
    const mean_attr *a = n->attr;
    struct embcl_tensor *gx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &gx));
    return embcl_mean_time_backward(graph_out_grad(g, n, 0), a->lengths, a->batch_first, gx, n->acc[0]);
}

static embcl_status mean_attr_new(int batch_first, const int64_t *lengths, int64_t B, const char *fn, mean_attr **out)
{
    mean_attr *a = embcl_calloc(1, sizeof *a, fn);
    if (!a)
        return EMBCL_ERR_OUT_OF_MEMORY;
    a->batch_first = batch_first;
    if (lengths && B > 0) {
        a->lengths = embcl_malloc((size_t)B * sizeof *a->lengths, fn);
        if (!a->lengths) {
            free(a);
            return EMBCL_ERR_OUT_OF_MEMORY;
        }
        memcpy(a->lengths, lengths, (size_t)B * sizeof *lengths);
    }
    *out = a;
    return EMBCL_OK;
}

/* Replica r takes its share of the lengths. */
static embcl_status mean_clone(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out)
{
    const mean_attr *a = n->attr;
    const gvalue *x = &g->vals[n->in[0]];
    int64_t share = x->shape[a->batch_first ? 0 : 1] / K;
    mean_attr *c;
    EMBCL_TRY(mean_attr_new(a->batch_first, a->lengths ? a->lengths + r * share : NULL, share, "embcl_graph_compile", &c));
    *out = c;
    return EMBCL_OK;
}

static const gnode_ops mean_time_ops = {
    .kind = "mean_time",
    .diff_inputs = 1u,
    .infer = mean_infer,
    .forward = mean_forward,
    .backward = mean_backward,
    .free_attr = mean_attr_free,
    .clone_attr = mean_clone,
};

embcl_status embcl_graph_mean_time(embcl_graph_t g, embcl_value x, const int64_t *lengths, int batch_first,
                                   embcl_value *out)
{
    static const char *fn = "embcl_graph_mean_time";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    const gvalue *xv = &g->vals[x];
    int64_t B = xv->ndim == 3 ? xv->shape[batch_first ? 0 : 1] : 0;
    mean_attr *a;
    EMBCL_TRY(mean_attr_new(batch_first != 0, lengths, B, fn, &a));
    int in[1] = {x};
    return graph_add_node(g, &mean_time_ops, in, 1, 1, a, fn, out);
}
