/* Diagnostics for embeddings that do not train (PROBLEMS.md, problem 1):
 * at compile time, trainable parameters no gradient reaches (naming where
 * the path is cut) and parameters with gradients but no optimizer group;
 * after the first step, embeddings whose indices are mostly padding; after
 * the first diag_steps steps, trainable parameters that did not change. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

static const char *kind_names[EMBCL_DIAG_COUNT] = {"unreachable", "no-optimizer", "padding", "unchanged"};

const char *embcl_diag_kind_name(embcl_diag_kind kind)
{
    return (unsigned)kind < EMBCL_DIAG_COUNT ? kind_names[kind] : "?";
}

size_t embcl_graph_diag_count(embcl_graph_t g)
{
    return g ? g->n_diags : 0;
}

embcl_status embcl_graph_diag_get(embcl_graph_t g, size_t i, embcl_diag *out)
{
    static const char *fn = "embcl_graph_diag_get";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    if (i >= g->n_diags)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'i' is %zu; the graph has %zu findings", i,
                           g->n_diags);
    *out = g->diags[i].d;
    return EMBCL_OK;
}

void graph_diag_free(struct embcl_graph *g)
{
    for (size_t i = 0; i < g->n_diags; i++) {
        free(g->diags[i].param);
        free(g->diags[i].node);
        free(g->diags[i].message);
    }
    free(g->diags);
    g->diags = NULL;
    g->n_diags = g->cap_diags = 0;
}

static embcl_status report(struct embcl_graph *g, embcl_diag_kind kind, const char *param, const char *node,
                           double share, const char *fmt, ...) EMBCL_PRINTF(6, 7);

static embcl_status report(struct embcl_graph *g, embcl_diag_kind kind, const char *param, const char *node,
                           double share, const char *fmt, ...)
{
    static const char *fn = "embcl_graph_compile";
    if (g->n_diags == g->cap_diags) {
        size_t cap = g->cap_diags ? g->cap_diags * 2 : 8;
        gdiag_entry *d = embcl_realloc(g->diags, cap * sizeof *d, fn);
        if (!d)
            return EMBCL_ERR_OUT_OF_MEMORY;
        g->diags = d;
        g->cap_diags = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gdiag_entry *e = &g->diags[g->n_diags];
    e->param = embcl_strdup(param, fn);
    e->node = embcl_strdup(node ? node : "", fn);
    e->message = embcl_strdup(msg, fn);
    if (!e->param || !e->node || !e->message) {
        free(e->param);
        free(e->node);
        free(e->message);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    e->d = (embcl_diag){kind, e->param, e->node, share, e->message};
    g->n_diags++;
    if (g->opt.diag_fn)
        g->opt.diag_fn(g->opt.diag_user, &e->d);
    return EMBCL_OK;
}

static int reads(const gnode *n, const char *in_set, int *slot)
{
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && in_set[n->in[i]]) {
            *slot = i;
            return 1;
        }
    return 0;
}

static int consumed(struct embcl_graph *g, int v)
{
    for (size_t k = 0; k < g->n_nodes; k++)
        for (int i = 0; i < g->nodes[k].n_in; i++)
            if (g->nodes[k].in[i] == v)
                return 1;
    return 0;
}

/* Where the path from parameter p towards the loss ends: follow
 * differentiable edges forward through every node the user built. */
static embcl_status explain_unreachable(struct embcl_graph *g, int p, char *reach)
{
    const gvalue *pv = &g->vals[p];
    const char *loss = g->vals[g->loss].name;
    memset(reach, 0, g->n_vals);
    reach[p] = 1;
    for (size_t i = 0; i < g->n_vals; i++)
        if (g->vals[i].kind == GVAL_VIEW && g->vals[i].base == p)
            reach[i] = 1;
    int last_node = -1;
    for (size_t k = 0; k < g->n_nodes; k++) {
        gnode *n = &g->nodes[k];
        if (n->ops == &graph_copy_ops)
            continue;
        int slot;
        if (!reads(n, reach, &slot))
            continue;
        int flows = 0;
        for (int i = 0; i < n->n_in; i++)
            flows |= n->in[i] >= 0 && reach[n->in[i]] && (n->ops->diff_inputs >> i & 1u);
        if (!flows)
            return report(g, EMBCL_DIAG_UNREACHABLE, pv->name, n->name, 0,
                          "parameter '%s' gets no gradient from the loss '%s': node '%s' (%s) cuts the path%s",
                          pv->name, loss, n->name, n->ops->kind,
                          n->ops->alias ? " (its output is detached)" : " (no gradient flows through that input)");
        for (int j = 0; j < n->n_out; j++)
            reach[n->out[j]] = 1;
        last_node = (int)k;
    }
    if (last_node < 0)
        return report(g, EMBCL_DIAG_UNREACHABLE, pv->name, "", 0,
                      "parameter '%s' gets no gradient from the loss '%s': no node reads it", pv->name, loss);
    /* The path stops at a result nobody reads. If an input of the same
     * shape feeds the loss instead, the result was most likely taken out
     * of the graph and fed back in as a constant. */
    const gnode *end = &g->nodes[last_node];
    const gvalue *out = &g->vals[end->out[0]];
    for (size_t i = 0; i < g->n_vals; i++) {
        const gvalue *x = &g->vals[i];
        if (x->kind != GVAL_INPUT || x->dtype != out->dtype || x->ndim != out->ndim ||
            memcmp(x->shape, out->shape, (size_t)x->ndim * sizeof *x->shape) != 0 || !x->live || !consumed(g, (int)i))
            continue;
        return report(g, EMBCL_DIAG_UNREACHABLE, pv->name, x->name, 0,
                      "parameter '%s' gets no gradient from the loss '%s': the result of node '%s' is read by no "
                      "node, and the loss is computed from input '%s' of the same shape instead, a constant to the "
                      "graph (was it computed outside the graph and fed back in?)",
                      pv->name, loss, end->name, x->name);
    }
    return report(g, EMBCL_DIAG_UNREACHABLE, pv->name, end->name, 0,
                  "parameter '%s' gets no gradient from the loss '%s': the path ends at node '%s' (%s), whose "
                  "result does not lead to the loss",
                  pv->name, loss, end->name, end->ops->kind);
}

static int fully_frozen(const gvalue *p)
{
    int64_t rows = graph_numel(p) / (p->shape[p->ndim - 1] ? p->shape[p->ndim - 1] : 1);
    for (size_t i = 0; i < p->n_frozen_rows; i++)
        if (p->frozen_rows[i].a == 0 && p->frozen_rows[i].b == rows)
            return 1;
    for (size_t i = 0; i < p->n_frozen_cols; i++)
        if (p->frozen_cols[i].a == 0 && p->frozen_cols[i].b == p->shape[p->ndim - 1])
            return 1;
    return 0;
}

embcl_status graph_diag_compile(struct embcl_graph *g)
{
    if (g->loss < 0)
        return EMBCL_OK; /* nothing to train towards */
    char *reach = embcl_malloc(g->n_vals, "embcl_graph_compile");
    if (!reach)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; s == EMBCL_OK && i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (p->kind != GVAL_PARAM || !p->requires_grad || fully_frozen(p))
            continue;
        if (!p->needs_grad)
            s = explain_unreachable(g, (int)i, reach);
        else if (g->opt.optim && p->group == EMBCL_GROUP_NONE)
            s = report(g, EMBCL_DIAG_NO_OPTIMIZER, p->name, "", 0,
                       "parameter '%s' gets gradients but is in no optimizer group: they are computed and thrown "
                       "away, and '%s' never changes",
                       p->name, p->name);
    }
    free(reach);
    return s;
}

embcl_status graph_diag_input(struct embcl_graph *g, int v, const void *host, size_t n)
{
    /* The padding share is judged on the first step's data only, so later
     * steps pay nothing. */
    if (g->steps > 0)
        return EMBCL_OK;
    const gvalue *x = &g->vals[v];
    for (size_t k = 0; k < g->n_nodes; k++) {
        gnode *nd = &g->nodes[k];
        if (!nd->ops->padding || !nd->live)
            continue;
        for (int i = 0; i < nd->n_in; i++) {
            int64_t pad;
            if (nd->in[i] != v || !nd->ops->padding(nd, i, &pad))
                continue;
            uint64_t hits = 0;
            for (size_t e = 0; e < n; e++) {
                int64_t idx = x->dtype == EMBCL_I64 ? ((const int64_t *)host)[e] : ((const int32_t *)host)[e];
                hits += idx == pad;
            }
            /* Not counted yet: an evaluation (embcl_graph_forward) may be
             * all this data is for; the step that reads it counts it. */
            nd->pend_seen = n;
            nd->pend_pad = hits;
        }
    }
    return EMBCL_OK;
}

/* The parameter whose rows node n looks up (its first parameter input). */
static int looked_up(struct embcl_graph *g, const gnode *n)
{
    for (int i = 0; i < n->n_in; i++) {
        int p = graph_param_of(g, n->in[i]);
        if (p >= 0)
            return p;
    }
    return -1;
}

embcl_status graph_diag_before_step(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_step";
    if (g->steps == 0)
        for (size_t k = 0; k < g->n_nodes; k++) {
            g->nodes[k].idx_seen += g->nodes[k].pend_seen;
            g->nodes[k].idx_pad += g->nodes[k].pend_pad;
        }
    /* Without an optimizer nothing is meant to change. */
    if (g->steps != 0 || g->opt.diag_steps == 0 || g->loss < 0 || !g->opt.optim)
        return EMBCL_OK;
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (p->kind != GVAL_PARAM || !p->requires_grad || fully_frozen(p) || p->snapshot)
            continue;
        size_t bytes = (size_t)graph_numel(p) * sizeof(float);
        p->snapshot = embcl_malloc(bytes ? bytes : 1, fn);
        if (!p->snapshot)
            return EMBCL_ERR_OUT_OF_MEMORY;
        EMBCL_TRY(embcl_tensor_download(p->tensor, p->snapshot, bytes));
    }
    return EMBCL_OK;
}

static embcl_status check_padding(struct embcl_graph *g)
{
    for (size_t k = 0; k < g->n_nodes; k++) {
        gnode *n = &g->nodes[k];
        if (!n->idx_seen || n->reported)
            continue;
        double share = (double)n->idx_pad / (double)n->idx_seen;
        int p = looked_up(g, n);
        if (share <= g->opt.diag_padding_share || p < 0)
            continue;
        n->reported = 1;
        int64_t pad = 0;
        for (int i = 0; i < n->n_in; i++)
            if (n->ops->padding && n->ops->padding(n, i, &pad))
                break;
        EMBCL_TRY(report(g, EMBCL_DIAG_PADDING, g->vals[p].name, n->name, share,
                         "node '%s' (%s) reads parameter '%s' with %.1f%% of its indices equal to padding_idx %lld: "
                         "padding rows get no gradient, so most lookups teach '%s' nothing (a masking bug?)",
                         n->name, n->ops->kind, g->vals[p].name, 100.0 * share, (long long)pad, g->vals[p].name));
    }
    return EMBCL_OK;
}

embcl_status graph_diag_after_step(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_step";
    if (g->steps == 1)
        EMBCL_TRY(check_padding(g));
    if (g->steps != g->opt.diag_steps || g->loss < 0)
        return EMBCL_OK;
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (!p->snapshot)
            continue;
        size_t bytes = (size_t)graph_numel(p) * sizeof(float);
        float *now = s == EMBCL_OK ? embcl_malloc(bytes ? bytes : 1, fn) : NULL;
        if (s == EMBCL_OK && !now)
            s = EMBCL_ERR_OUT_OF_MEMORY;
        if (s == EMBCL_OK)
            s = embcl_tensor_download(p->tensor, now, bytes);
        if (s == EMBCL_OK && memcmp(now, p->snapshot, bytes) == 0)
            s = report(g, EMBCL_DIAG_UNCHANGED, p->name, "", 0,
                       "parameter '%s' is trainable but did not change over the first %d steps", p->name,
                       g->opt.diag_steps);
        free(now);
        free(p->snapshot);
        p->snapshot = NULL;
    }
    return s;
}
