/* linear: y = x W^T + b (nn.Linear), through CLBlast's GEMM. x is seen as
 * [rows, in]; the weight may be a column view (a tied table). */
#include <string.h>

#include "blas/gemm.h"
#include "core/error.h"
#include "graph/graph_impl.h"
#include "graph/graph_kernels.h"

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
    static const char *fn = "embcl_graph_step";
    struct embcl_tensor x = graph_as_2d(graph_t(g, n->in[0])), y = graph_as_2d(graph_t(g, n->out[0]));
    EMBCL_TRY(embcl_sgemm(0, 1, 1.0f, &x, graph_t(g, n->in[1]), 0.0f, &y, fn));
    if (n->in[2] < 0)
        return EMBCL_OK;
    struct embcl_tensor *b = graph_t(g, n->in[2]);
    gk_args a = {0};
    gk_mat(&a, &y);
    a.a[a.n++] = EMBCL_KARG(b->buf->mem);
    gk_ulong(&a, b->offset);
    gk_ulong(&a, y.rows);
    gk_ulong(&a, y.cols);
    return gk_run(y.dev, "bias_add", &a, y.rows, y.cols);
}

static embcl_status linear_backward(struct embcl_graph *g, gnode *n)
{
    static const char *fn = "embcl_graph_step";
    struct embcl_tensor gy = graph_as_2d(graph_out_grad(g, n, 0));
    struct embcl_tensor *gx, *gw, *gb;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &gx));
    EMBCL_TRY(graph_in_grad(g, n, 1, 0, &gw));
    EMBCL_TRY(graph_in_grad(g, n, 2, 0, &gb));
    if (gx) {
        struct embcl_tensor gx2 = graph_as_2d(gx);
        EMBCL_TRY(embcl_sgemm(0, 0, 1.0f, &gy, graph_t(g, n->in[1]), n->acc[0] ? 1.0f : 0.0f, &gx2, fn));
    }
    if (gw) {
        struct embcl_tensor x = graph_as_2d(graph_t(g, n->in[0]));
        EMBCL_TRY(embcl_sgemm(1, 0, 1.0f, &gy, &x, n->acc[1] ? 1.0f : 0.0f, gw, fn));
    }
    if (gb) {
        gk_args a = {0};
        a.a[a.n++] = EMBCL_KARG(gb->buf->mem);
        gk_ulong(&a, gb->offset);
        gk_mat(&a, &gy);
        gk_ulong(&a, gy.rows);
        gk_ulong(&a, gy.cols);
        gk_int(&a, n->acc[2]);
        EMBCL_TRY(gk_run_1d(gb->dev, "col_sum", &a, gy.cols));
    }
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
