/* lstm: nn.LSTM over embcl_lstm_forward/backward. The graph owns the LSTM
 * object; its weights become graph parameters named "<prefix>.<name>", and
 * its own gradient tensors (which its backward adds into) are theirs. The
 * LSTM keeps a view of x until its backward, so x is saved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "embcl/elementwise.h"
#include "graph/graph_impl.h"

typedef struct lstm_attr {
    embcl_lstm_t lstm;
    embcl_lstm_config cfg;
    int64_t *lengths; /* NULL: every sequence has T steps */
    int replica;      /* a data-parallel clone: its LSTM has its own weights and gradients */
} lstm_attr;

static void lstm_attr_free(void *p)
{
    lstm_attr *a = p;
    if (!a)
        return;
    embcl_lstm_free(a->lstm);
    free(a->lengths);
    free(a);
}

static embcl_status lstm_infer(struct embcl_graph *g, gnode *n, gvalue *outs, const char *func)
{
    const gvalue *x = &g->vals[n->in[0]];
    const lstm_attr *a = n->attr;
    char s[96];
    if (x->dtype != EMBCL_F32 || x->ndim != 3 || x->shape[2] != a->cfg.input_size)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'x' ('%s') is %s %s; the LSTM takes f32 [%s, %lld]",
                           x->name ? x->name : "?", embcl_dtype_name(x->dtype), graph_shape_str(x, s, sizeof s),
                           a->cfg.batch_first ? "B, T" : "T, B", (long long)a->cfg.input_size);
    outs[0].dtype = EMBCL_F32;
    outs[0].ndim = 3;
    memcpy(outs[0].shape, x->shape, sizeof x->shape);
    outs[0].shape[2] = (a->cfg.bidirectional ? 2 : 1) * a->cfg.hidden_size;
    return EMBCL_OK;
}

/* A replica's LSTM holds its own weights: bring in the parameters' values. */
static embcl_status sync_weights(struct embcl_graph *g, gnode *n)
{
    const lstm_attr *a = n->attr;
    for (int i = 1; i < n->n_in; i++) {
        embcl_tensor_t w;
        EMBCL_TRY(embcl_lstm_param(a->lstm, (size_t)(i - 1), NULL, &w, NULL));
        if (!embcl_tensor_shares_buffer(w, graph_t(g, n->in[i])))
            EMBCL_TRY(embcl_tensor_copy(w, graph_t(g, n->in[i])));
    }
    return EMBCL_OK;
}

/* ... and hand its gradients out to the parameters' (or their copies'). */
static embcl_status export_grads(struct embcl_graph *g, gnode *n)
{
    const lstm_attr *a = n->attr;
    for (int i = 1; i < n->n_in; i++) {
        struct embcl_tensor *dst;
        embcl_tensor_t own;
        EMBCL_TRY(graph_in_grad(g, n, i, 0, &dst));
        EMBCL_TRY(embcl_lstm_param(a->lstm, (size_t)(i - 1), NULL, NULL, &own));
        if (!dst || embcl_tensor_shares_buffer(dst, own))
            continue;
        EMBCL_TRY(n->acc[i] ? embcl_add(dst, own, dst) : embcl_tensor_copy(dst, own));
    }
    return EMBCL_OK;
}

static embcl_status lstm_forward(struct embcl_graph *g, gnode *n)
{
    const lstm_attr *a = n->attr;
    if (a->replica)
        EMBCL_TRY(sync_weights(g, n));
    return embcl_lstm_forward(a->lstm, graph_t(g, n->in[0]), a->lengths, NULL, NULL, g->training,
                              graph_t(g, n->out[0]), NULL, NULL);
}

static embcl_status lstm_backward(struct embcl_graph *g, gnode *n)
{
    static const char *fn = "embcl_graph_step";
    const lstm_attr *a = n->attr;
    struct embcl_tensor *dx;
    EMBCL_TRY(graph_in_grad(g, n, 0, 0, &dx));
    if (a->replica) /* its own gradients hold only this step's */
        EMBCL_TRY(embcl_lstm_zero_grad(a->lstm));
    if (!dx || !n->acc[0]) {
        EMBCL_TRY(embcl_lstm_backward(a->lstm, graph_out_grad(g, n, 0), NULL, NULL, dx, NULL, NULL));
        return a->replica ? export_grads(g, n) : EMBCL_OK;
    }
    /* The LSTM writes dx; adding to a gradient others wrote goes through a temporary. */
    struct embcl_tensor *tmp;
    EMBCL_TRY(embcl_tensor_new(dx->dev, EMBCL_F32, dx->ndim, dx->shape, fn, &tmp));
    embcl_status s = embcl_lstm_backward(a->lstm, graph_out_grad(g, n, 0), NULL, NULL, tmp, NULL, NULL);
    if (s == EMBCL_OK)
        s = embcl_add(dx, tmp, dx);
    embcl_tensor_free(tmp);
    if (s == EMBCL_OK && a->replica)
        s = export_grads(g, n);
    return s;
}

/* Replica r of K: a new LSTM on dev with the same configuration, and its
 * share of the lengths. */
static embcl_status lstm_clone(struct embcl_graph *g, const gnode *n, int r, int K, struct embcl_device *dev,
                               void **out)
{
    static const char *fn = "embcl_graph_compile";
    const lstm_attr *src = n->attr;
    lstm_attr *a = embcl_calloc(1, sizeof *a, fn);
    if (!a)
        return EMBCL_ERR_OUT_OF_MEMORY;
    a->cfg = src->cfg;
    a->replica = 1;
    embcl_status s = EMBCL_OK;
    if (src->lengths) {
        const gvalue *x = &g->vals[n->in[0]];
        int64_t share = x->shape[src->cfg.batch_first ? 0 : 1] / K;
        a->lengths = embcl_malloc((size_t)(share > 0 ? share : 1) * sizeof *a->lengths, fn);
        if (a->lengths)
            memcpy(a->lengths, src->lengths + (size_t)(r * share), (size_t)share * sizeof *a->lengths);
        else
            s = EMBCL_ERR_OUT_OF_MEMORY;
    }
    if (s == EMBCL_OK)
        s = embcl_lstm_create(dev, &a->cfg, &a->lstm);
    if (s != EMBCL_OK) {
        lstm_attr_free(a);
        return s;
    }
    *out = a;
    return EMBCL_OK;
}

static const gnode_ops lstm_ops = {
    .kind = "lstm",
    .diff_inputs = ~0u,
    .saved_inputs = 1u,
    .infer = lstm_infer,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .free_attr = lstm_attr_free,
    .clone_attr = lstm_clone,
};

/* Register the LSTM's weights as parameters; in[1..] get their values. */
static embcl_status add_params(struct embcl_graph *g, lstm_attr *a, const char *prefix, int *in, int *n_in,
                               const char *fn)
{
    size_t count;
    EMBCL_TRY(embcl_lstm_param_count(a->lstm, &count));
    if (count + 1 > GNODE_MAX_IN)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "an LSTM with %zu parameters; a graph node reads at most %d",
                           count, GNODE_MAX_IN - 1);
    for (size_t i = 0; i < count; i++) {
        const char *name;
        embcl_tensor_t w, gw;
        EMBCL_TRY(embcl_lstm_param(a->lstm, i, &name, &w, &gw));
        char full[256];
        snprintf(full, sizeof full, "%s.%s", prefix, name);
        embcl_value v;
        EMBCL_TRY(embcl_graph_param(g, full, w, &v));
        EMBCL_TRY(embcl_tensor_reshape(gw, gw->ndim, gw->shape, &g->vals[v].ext_grad));
        in[(*n_in)++] = v;
    }
    return EMBCL_OK;
}

embcl_status embcl_graph_lstm(embcl_graph_t g, embcl_value x, embcl_device_t dev, const embcl_lstm_config *cfg,
                              const int64_t *lengths, const char *prefix, embcl_value *out)
{
    static const char *fn = "embcl_graph_lstm";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, x, fn, "x"));
    EMBCL_CHECK_ARG(dev != NULL && cfg != NULL, fn, "argument 'dev' or 'cfg' is NULL");
    EMBCL_CHECK_ARG(prefix != NULL && *prefix, fn, "argument 'prefix' is NULL or empty");
    const gvalue *xv = &g->vals[x];
    int64_t B = xv->ndim == 3 ? xv->shape[cfg->batch_first ? 0 : 1] : 0;
    lstm_attr *a = embcl_calloc(1, sizeof *a, fn);
    if (!a)
        return EMBCL_ERR_OUT_OF_MEMORY;
    a->cfg = *cfg;
    embcl_status s = EMBCL_OK;
    if (lengths) {
        a->lengths = embcl_malloc((size_t)(B > 0 ? B : 1) * sizeof *a->lengths, fn);
        if (a->lengths)
            memcpy(a->lengths, lengths, (size_t)B * sizeof *lengths);
        else
            s = EMBCL_ERR_OUT_OF_MEMORY;
    }
    if (s == EMBCL_OK)
        s = embcl_lstm_create(dev, cfg, &a->lstm);
    size_t vals_before = g->n_vals;
    int in[GNODE_MAX_IN] = {x};
    int n_in = 1;
    if (s == EMBCL_OK)
        s = add_params(g, a, prefix, in, &n_in, fn);
    if (s != EMBCL_OK) {
        graph_truncate_values(g, vals_before);
        lstm_attr_free(a);
        return embcl_error_context(s, fn);
    }
    s = graph_add_node(g, &lstm_ops, in, n_in, 1, a, fn, out);
    if (s != EMBCL_OK) {
        graph_truncate_values(g, vals_before);
        return s;
    }
    gnode *n = &g->nodes[g->n_nodes - 1];
    n->dev = dev;
    n->pinned = 1;
    return EMBCL_OK;
}
