/* cross_entropy: F.cross_entropy over class ids, logits seen as [N, C]
 * whatever their leading dimensions (a [B, T, V] language-model output). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"
#include "ops/loss_checked.h"

/* The options, and what embcl_graph_set_input learnt of the targets when
 * they came from the host: how many are not ignored (-1: unknown, the op
 * reads them back and checks them itself, making the host wait). */
typedef struct ce_attr {
    embcl_cross_entropy_options o;
    int64_t count;
    struct embcl_tensor *lse; /* each row's log-sum-exp, forward to backward (made by the first forward) */
} ce_attr;

static void ce_free(void *p)
{
    ce_attr *a = p;
    if (a)
        embcl_tensor_free(a->lse);
    free(a);
}

static embcl_status ce_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]], *t = &g->vals[n->in[1]];
    const embcl_cross_entropy_options *o = &((const ce_attr *)n->attr)->o;
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
    ce_attr *a = n->attr;
    if (!a->lse) {
        int64_t rows[1] = {(int64_t)x.rows};
        EMBCL_TRY(embcl_tensor_new(x.dev, EMBCL_F32, 1, rows, "embcl_graph_step", &a->lse));
    }
    return embcl_cross_entropy_counted(&x, &t, &a->o, graph_t(g, n->out[0]), a->count, a->lse);
}

static embcl_status ce_backward(struct embcl_graph *g, gnode *n)
{
    struct embcl_tensor *dx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &dx));
    struct embcl_tensor x = graph_as_2d(graph_t(g, n->in[0])), t = graph_as_1d(graph_t(g, n->in[1]));
    struct embcl_tensor dx2 = graph_as_2d(dx);
    const ce_attr *a = n->attr;
    return embcl_cross_entropy_backward_counted(&x, &t, &a->o, graph_out_grad(g, n, 0), &dx2, n->acc[0], a->count,
                                                a->lse);
}

static embcl_status ce_host_input(struct embcl_graph *g, gnode *n, int i, const void *host, int64_t numel,
                                  int64_t first, int commit, const char *func)
{
    ce_attr *a = n->attr;
    if (i != 1)
        return EMBCL_OK;
    if (!host) {
        a->count = -1;
        return EMBCL_OK;
    }
    const gvalue *x = &g->vals[n->in[0]];
    int64_t classes = x->shape[x->ndim - 1], count;
    EMBCL_TRY(embcl_ce_check_targets_host(host, g->vals[n->in[1]].dtype, numel, classes, a->o.ignore_index, first,
                                          func, "host", &count));
    if (commit)
        a->count = count;
    return EMBCL_OK;
}

static embcl_status clone_opts(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out)
{
    EMBCL_TRY(graph_clone_bytes(n->attr, sizeof(ce_attr), out));
    ((ce_attr *)*out)->lse = NULL; /* the replica makes its own */
    return EMBCL_OK;
}

static const gnode_ops cross_entropy_ops = {
    .kind = "cross_entropy",
    .diff_inputs = 1u,
    .saved_inputs = 3u,
    .infer = ce_infer,
    .forward = ce_forward,
    .backward = ce_backward,
    .free_attr = ce_free,
    .clone_attr = clone_opts,
    .host_input = ce_host_input,
};

embcl_status embcl_graph_cross_entropy(embcl_graph_t g, embcl_value logits, embcl_value target,
                                       const embcl_cross_entropy_options *opt, embcl_value *out)
{
    static const char *fn = "embcl_graph_cross_entropy";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, logits, fn, "logits"));
    EMBCL_TRY(graph_check_value(g, target, fn, "target"));
    ce_attr *a = embcl_malloc(sizeof *a, fn);
    if (!a)
        return EMBCL_ERR_OUT_OF_MEMORY;
    a->o = opt ? *opt : embcl_cross_entropy_options_default();
    a->count = -1;
    a->lse = NULL;
    int in[2] = {logits, target};
    return graph_add_node(g, &cross_entropy_ops, in, 2, 1, a, fn, out);
}
