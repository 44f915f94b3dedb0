/* Compiling a graph: which nodes run, which values need gradients, the
 * backward schedule and how gradients of values with several readers add
 * up; then placement, the memory plan and the build-time diagnostics. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

embcl_graph_options embcl_graph_options_default(void)
{
    embcl_graph_options o;
    memset(&o, 0, sizeof o);
    o.diagnostics = 1;
    o.diag_steps = 3;
    o.diag_padding_share = 0.5;
    return o;
}

/* Nodes whose results lead to the loss or to a kept value. Creation order is
 * a topological order: a node can only read values made before it. */
static void mark_live(struct embcl_graph *g)
{
    for (size_t i = 0; i < g->n_vals; i++)
        g->vals[i].live = g->vals[i].keep || (int)i == g->loss;
    for (size_t k = g->n_nodes; k-- > 0;) {
        gnode *n = &g->nodes[k];
        n->live = 0;
        for (int j = 0; j < n->n_out; j++)
            n->live |= g->vals[n->out[j]].live;
        if (!n->live)
            continue;
        for (int j = 0; j < n->n_out; j++)
            g->vals[n->out[j]].live = 1; /* side results (argmax positions) too */
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0) {
                g->vals[n->in[i]].live = 1;
                int p = graph_param_of(g, n->in[i]);
                if (p >= 0)
                    g->vals[p].live = 1;
            }
    }
}

static int diff(const gnode *n, int i)
{
    return n->in[i] >= 0 && (n->ops->diff_inputs >> i & 1u);
}

/* A parameter's gradient stays row-sparse when every contribution is a
 * row-sparse one to the whole table; its capacity is the most rows they
 * can bring together. */
static void choose_sparse(struct embcl_graph *g)
{
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        p->sparse_grad = p->kind == GVAL_PARAM && p->needs_grad && p->ndim == 2 && !p->grad_zero_first;
        p->sparse_cap = 0;
    }
    for (size_t k = 0; k < g->n_bwd; k++) {
        gnode *n = &g->nodes[g->bwd[k]];
        for (int i = 0; i < n->n_in; i++) {
            if (!n->want_grad[i])
                continue;
            int p = graph_param_of(g, n->in[i]);
            if (p < 0)
                continue;
            int64_t rows = n->ops->sparse_rows && p == n->in[i] ? n->ops->sparse_rows(g, n, i) : 0;
            gvalue *pv = &g->vals[p];
            if (rows <= 0)
                pv->sparse_grad = 0;
            pv->sparse_cap += rows;
        }
    }
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (p->sparse_grad && p->sparse_cap > p->shape[0])
            p->sparse_cap = p->shape[0];
    }
}

embcl_status graph_derive(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_compile";
    /* Forward: is there a trainable parameter upstream? */
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        v->trainable_above = v->kind == GVAL_PARAM ? v->requires_grad
                             : v->kind == GVAL_VIEW ? g->vals[v->base].requires_grad
                                                    : 0;
        v->reaches_loss = v->is_loss;
    }
    for (size_t k = 0; k < g->n_fwd; k++) {
        gnode *n = &g->nodes[g->fwd[k]];
        int t = 0;
        for (int i = 0; i < n->n_in; i++)
            t |= diff(n, i) && g->vals[n->in[i]].trainable_above;
        for (int j = 0; j < n->n_out; j++)
            g->vals[n->out[j]].trainable_above = t;
    }
    /* Backward: does a differentiable path lead to the loss? */
    for (size_t k = g->n_fwd; k-- > 0;) {
        gnode *n = &g->nodes[g->fwd[k]];
        int r = 0;
        for (int j = 0; j < n->n_out; j++)
            r |= g->vals[n->out[j]].reaches_loss;
        for (int i = 0; r && i < n->n_in; i++)
            if (diff(n, i))
                g->vals[n->in[i]].reaches_loss = 1;
    }
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        v->needs_grad = g->loss >= 0 && v->reaches_loss && v->trainable_above;
        /* An op object that adds into its own gradient buffers (the LSTM)
         * gets them zeroed every step, wanted or not. */
        if (v->ext_grad)
            v->grad_zero_first = 1;
        if (v->kind == GVAL_VIEW && v->needs_grad) {
            g->vals[v->base].needs_grad = 1;
            g->vals[v->base].reaches_loss = 1;
            /* A view's gradient covers only its columns: the parameter's is
             * zeroed first and every contribution adds. */
            g->vals[v->base].grad_zero_first = 1;
        }
    }
    /* The backward schedule: reverse forward order; the first contribution
     * to a gradient overwrites it, later ones add. */
    free(g->bwd);
    g->bwd = embcl_malloc((g->n_fwd ? g->n_fwd : 1) * sizeof *g->bwd, fn);
    char *seen = embcl_calloc(g->n_vals ? g->n_vals : 1, 1, fn);
    if (!g->bwd || !seen) {
        free(seen);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    g->n_bwd = 0;
    for (size_t k = g->n_fwd; k-- > 0;) {
        gnode *n = &g->nodes[g->fwd[k]];
        n->backward = 0;
        for (int i = 0; i < n->n_in; i++) {
            n->want_grad[i] = diff(n, i) && g->vals[n->in[i]].needs_grad;
            if (!n->want_grad[i])
                continue;
            n->backward = 1;
            int p = graph_param_of(g, n->in[i]);
            int tgt = p >= 0 ? p : n->in[i];
            n->acc[i] = g->vals[tgt].grad_zero_first || seen[tgt];
            seen[tgt] = 1;
        }
        if (n->backward) {
            if (!n->ops->backward) {
                free(seen);
                return embcl_error(EMBCL_ERR_STATE, fn, "node '%s' (%s) has no backward", n->name, n->ops->kind);
            }
            g->bwd[g->n_bwd++] = g->fwd[k];
        }
    }
    free(seen);
    choose_sparse(g);
    /* Steps for liveness: forward k, the loss seed at n_fwd, backward after. */
    for (size_t k = 0; k < g->n_fwd; k++)
        g->nodes[g->fwd[k]].fwd_step = (int64_t)k;
    for (size_t k = 0; k < g->n_bwd; k++)
        g->nodes[g->bwd[k]].bwd_step = (int64_t)(g->n_fwd + 1 + k);
    return EMBCL_OK;
}

embcl_status embcl_graph_compile(embcl_graph_t g, const embcl_graph_options *opt)
{
    static const char *fn = "embcl_graph_compile";
    EMBCL_TRY(graph_check_building(g, fn));
    embcl_graph_options o = opt ? *opt : embcl_graph_options_default();
    EMBCL_CHECK_ARG(o.diag_padding_share >= 0 && o.diag_padding_share <= 1, fn,
                    "option 'diag_padding_share' is %g; give a share in [0, 1]", o.diag_padding_share);
    EMBCL_CHECK_ARG(o.diag_steps >= 0, fn, "option 'diag_steps' is %d; give 0 or more", o.diag_steps);
    g->opt = o;
    mark_live(g);
    if (g->loss >= 0) {
        g->vals[g->loss].is_loss = 1;
        g->n_losses = 1;
    }
    embcl_status s = graph_replicate(g);
    if (s == EMBCL_OK)
        s = graph_place(g);
    if (s == EMBCL_OK)
        s = graph_derive(g);
    if (s == EMBCL_OK)
        s = graph_plan(g);
    if (s == EMBCL_OK)
        s = graph_alloc(g);
    if (s == EMBCL_OK)
        s = graph_optim_attach(g);
    if (s == EMBCL_OK && o.diagnostics)
        s = graph_diag_compile(g);
    if (s != EMBCL_OK) {
        /* Copies and replicas may have been added: the graph is only fit
         * to be freed now. */
        graph_release_memory(g);
        g->broken = 1;
        return s;
    }
    g->compiled = 1;
    return EMBCL_OK;
}

embcl_status embcl_graph_node_count(embcl_graph_t g, size_t *forward, size_t *backward)
{
    static const char *fn = "embcl_graph_node_count";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    if (!g->compiled)
        return embcl_error(EMBCL_ERR_STATE, fn, "the graph is not compiled yet");
    if (forward)
        *forward = g->n_fwd;
    if (backward)
        *backward = g->n_bwd;
    return EMBCL_OK;
}
