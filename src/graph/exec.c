/* Running a compiled graph: inputs in, forward, the loss seed, backward,
 * the update, all enqueued without waiting; values out on request. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"
#include "optim/optim_impl.h"

static embcl_status check_compiled(struct embcl_graph *g, const char *fn)
{
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    if (!g->compiled)
        return embcl_error(EMBCL_ERR_STATE, fn, "the graph is not compiled; call embcl_graph_compile first");
    return EMBCL_OK;
}

/* Whether value v is input `id`, or a copy of it the placement inserted. */
static int reads_input(struct embcl_graph *g, int v, int id)
{
    while (v != id && g->vals[v].kind == GVAL_NODE && g->nodes[g->vals[v].node].ops == &graph_copy_ops)
        v = g->nodes[g->vals[v].node].in[0];
    return v == id;
}

/* Give each node reading input id the host data (see gnode_ops.host_input). */
static embcl_status host_input_hooks(struct embcl_graph *g, int id, const void *host, int64_t numel, int64_t first,
                                     int commit, const char *fn)
{
    for (size_t k = 0; k < g->n_nodes; k++) {
        gnode *n = &g->nodes[k];
        if (!n->ops->host_input || !n->live)
            continue;
        for (int i = 0; i < n->n_in; i++)
            if (reads_input(g, n->in[i], id))
                EMBCL_TRY(n->ops->host_input(g, n, i, host, numel, first, commit, fn));
    }
    return EMBCL_OK;
}

embcl_status embcl_graph_set_input(embcl_graph_t g, embcl_value input, const void *host, size_t bytes)
{
    static const char *fn = "embcl_graph_set_input";
    EMBCL_TRY(check_compiled(g, fn));
    EMBCL_TRY(graph_check_value(g, input, fn, "input"));
    gvalue *v = &g->vals[input];
    if (v->kind != GVAL_INPUT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'input' is '%s', which is not an input",
                           v->name ? v->name : "unnamed");
    size_t want = (size_t)graph_numel(v) * embcl_dtype_size(v->dtype);
    if (bytes != want) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'bytes' is %zu but input '%s' (%s %s) holds %zu bytes", bytes,
                           v->name, embcl_dtype_name(v->dtype), graph_shape_str(v, s, sizeof s), want);
    }
    EMBCL_CHECK_ARG(host != NULL || bytes == 0, fn, "argument 'host' is NULL");
    /* Data parallel: each replica takes its rows of the batch. */
    size_t parts = v->split >= 0 ? g->opt.n_replicas : 1, share = bytes / parts;
    int64_t per = graph_numel(v) / (int64_t)parts;
    /* Checks on the host first, so bad data changes nothing. */
    for (size_t r = 0; r < parts; r++) {
        int id = v->split >= 0 ? v->split + (int)r : input;
        embcl_status s = host_input_hooks(g, id, (const char *)host + r * share, per, (int64_t)r * per, 0, fn);
        if (s != EMBCL_OK) {
            embcl_error_append(" (input '%s')", v->name);
            return s;
        }
    }
    for (size_t r = 0; r < parts; r++) {
        int id = v->split >= 0 ? v->split + (int)r : input;
        const char *p = (const char *)host + r * share;
        embcl_status s = embcl_tensor_upload(g->vals[id].tensor, p, share);
        if (s != EMBCL_OK) {
            for (size_t q = 0; q < parts; q++)
                host_input_hooks(g, v->split >= 0 ? v->split + (int)q : input, NULL, 0, 0, 0, fn);
            embcl_error_context(s, fn);
            embcl_error_append(" (input '%s')", v->name);
            return s;
        }
        EMBCL_TRY(host_input_hooks(g, id, p, per, (int64_t)r * per, 1, fn));
        if (g->opt.diagnostics)
            EMBCL_TRY(graph_diag_input(g, id, p, (size_t)graph_numel(&g->vals[id])));
    }
    return EMBCL_OK;
}

static embcl_status node_failed(embcl_status s, const char *fn, const gnode *n, const char *pass)
{
    embcl_error_context(s, fn);
    embcl_error_append(" (in the %s of node '%s', %s)", pass, n->name, n->ops->kind);
    return s;
}

static embcl_status run_step(struct embcl_graph *g, int train, const char *fn)
{
    if (train && g->opt.diagnostics)
        EMBCL_TRY(graph_diag_before_step(g));
    g->training = train;
    for (size_t k = 0; k < g->n_fwd; k++) {
        gnode *n = &g->nodes[g->fwd[k]];
        if (n->ops->alias)
            continue;
        embcl_status s = n->ops->forward(g, n);
        if (s != EMBCL_OK)
            return node_failed(s, fn, n, "forward");
    }
    if (train && g->n_losses > 0) {
        for (size_t i = 0; i < g->n_vals; i++) {
            gvalue *v = &g->vals[i];
            if (v->grad_zero_first && v->grad)
                EMBCL_TRY(embcl_tensor_fill(v->grad, 0.0));
        }
        /* Replicas' losses are means over equal shares of the batch: the
         * global mean's gradient reaches each through 1 / replicas. */
        for (size_t i = 0; i < g->n_vals; i++)
            if (g->vals[i].is_loss && g->vals[i].needs_grad)
                EMBCL_TRY(embcl_tensor_fill(g->vals[i].grad, 1.0 / (double)g->n_losses));
        for (size_t k = 0; k < g->n_bwd; k++) {
            gnode *n = &g->nodes[g->bwd[k]];
            embcl_status s = n->ops->backward(g, n);
            if (s != EMBCL_OK)
                return node_failed(s, fn, n, "backward");
        }
        EMBCL_TRY(graph_optim_step(g));
    }
    /* Start the work without waiting for it. */
    for (size_t d = 0; d < g->rt->n_devices; d++)
        EMBCL_TRY(embcl_cl_check(clFlush(g->rt->devices[d].queue), fn, "clFlush"));
    if (train) {
        g->steps++;
        if (g->opt.diagnostics)
            EMBCL_TRY(graph_diag_after_step(g));
    }
    return EMBCL_OK;
}

/* A training step is all or nothing: the optimizers journal what they
 * write (optim.h, transactions; nested in the caller's own if one is
 * open), and any failure, in the update or after it, puts parameters,
 * optimizer state and the step count back. */
static embcl_status run(struct embcl_graph *g, int train, const char *fn)
{
    EMBCL_TRY(check_compiled(g, fn));
    size_t n_opt = train ? g->n_optims : 0;
    optim_tx *tx = embcl_calloc(n_opt ? n_opt : 1, sizeof *tx, fn);
    if (!tx)
        return EMBCL_ERR_OUT_OF_MEMORY;
    int64_t steps = g->steps;
    embcl_status s = EMBCL_OK;
    size_t opened = 0;
    for (; opened < n_opt && s == EMBCL_OK; opened++)
        s = optim_tx_open(g->optims[opened], &tx[opened]);
    if (s == EMBCL_OK)
        s = run_step(g, train, fn);
    else
        opened--; /* the one that failed opened nothing */
    if (s != EMBCL_OK) {
        g->steps = steps;
        embcl_error_context(s, fn);
    }
    for (size_t k = 0; k < opened; k++) {
        embcl_status u = optim_tx_close(g->optims[k], &tx[k], s, fn);
        if (u != EMBCL_OK)
            s = u; /* a failed restore: the state is undefined, say so */
    }
    free(tx);
    return s;
}

embcl_status embcl_graph_step(embcl_graph_t g)
{
    return run(g, 1, "embcl_graph_step");
}

embcl_status embcl_graph_forward(embcl_graph_t g)
{
    return run(g, 0, "embcl_graph_forward");
}

/* The loss of a data-parallel step: the replicas' means, averaged in
 * replica order. */
static embcl_status replicas_mean(struct embcl_graph *g, void *host, size_t bytes)
{
    static const char *fn = "embcl_graph_download";
    if (bytes != sizeof(float))
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'bytes' is %zu; the loss is one f32 (4 bytes)", bytes);
    double sum = 0;
    for (size_t i = 0; i < g->n_vals; i++) {
        if (!g->vals[i].is_loss)
            continue;
        float l;
        embcl_status s = embcl_tensor_download(g->vals[i].tensor, &l, sizeof l);
        if (s != EMBCL_OK)
            return embcl_error_context(s, fn);
        sum += l;
    }
    float mean = (float)(sum / (double)g->n_losses);
    memcpy(host, &mean, sizeof mean);
    return EMBCL_OK;
}

embcl_status embcl_graph_download(embcl_graph_t g, embcl_value v, void *host, size_t bytes)
{
    static const char *fn = "embcl_graph_download";
    EMBCL_TRY(check_compiled(g, fn));
    EMBCL_TRY(graph_check_value(g, v, fn, "v"));
    gvalue *x = &g->vals[v];
    if (x->kind == GVAL_NODE && !x->keep)
        return embcl_error(EMBCL_ERR_STATE, fn,
                           "value '%s' is not kept after a step (its memory is reused); call embcl_graph_keep "
                           "before compiling",
                           x->name);
    if (v == g->loss && g->n_losses > 1)
        return replicas_mean(g, host, bytes);
    embcl_status s = embcl_tensor_download(x->tensor, host, bytes);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

embcl_status embcl_graph_grad(embcl_graph_t g, embcl_value param, embcl_tensor_t *out)
{
    static const char *fn = "embcl_graph_grad";
    EMBCL_TRY(check_compiled(g, fn));
    EMBCL_TRY(graph_check_value(g, param, fn, "param"));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    gvalue *p = &g->vals[param];
    if (p->kind != GVAL_PARAM)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'param' is '%s', not a parameter",
                           p->name ? p->name : "unnamed");
    *out = NULL;
    if (p->sgrad) {
        embcl_tensor_t t;
        EMBCL_TRY(embcl_tensor_create(p->dev, EMBCL_F32, p->ndim, p->shape, &t));
        embcl_status s = embcl_rowsparse_to_dense(p->sgrad, t, 0);
        if (s != EMBCL_OK) {
            embcl_tensor_free(t);
            return embcl_error_context(s, fn);
        }
        *out = t;
        return EMBCL_OK;
    }
    if (!p->grad || !p->needs_grad)
        return EMBCL_OK;
    return embcl_tensor_reshape(p->grad, p->ndim, p->shape, out);
}

embcl_status embcl_graph_memory_stats(embcl_graph_t g, embcl_graph_memory *out)
{
    static const char *fn = "embcl_graph_memory_stats";
    EMBCL_TRY(check_compiled(g, fn));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    *out = g->mem;
    return EMBCL_OK;
}
