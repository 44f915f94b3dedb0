/* Data parallel: the live part of the graph is cloned once per replica
 * device, each clone reading its share of every input (dimension 0 split
 * evenly) and the one copy of each parameter. Placement then inserts the
 * parameter copies to the replicas, whose backward sums the replicas'
 * gradients into the parameter's in backward order, which is fixed. Nodes
 * that read a table stay unpinned and so run next to the table; their
 * row-sparse gradients merge like any tied reader's. The originals stay in
 * the graph, dead, so diagnostics and names keep pointing at what the user
 * built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

static const char *fn = "embcl_graph_compile";

static embcl_status check(struct embcl_graph *g, size_t K)
{
    if (g->loss < 0)
        return embcl_error(EMBCL_ERR_STATE, fn, "data parallel needs a loss (embcl_graph_set_loss)");
    for (size_t i = 0; i < K; i++) {
        const embcl_device_t d = g->opt.replicas[i];
        if (!d || d->rt != g->rt)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'replicas' has %s at position %zu",
                               d ? "a device of another runtime" : "NULL", i);
    }
    for (size_t i = 0; i < g->n_vals; i++) {
        const gvalue *v = &g->vals[i];
        char s[96];
        if (v->kind == GVAL_INPUT && v->live && v->shape[0] % (int64_t)K != 0)
            return embcl_error(EMBCL_ERR_SHAPE, fn,
                               "input '%s' is %s; data parallel over %zu devices splits dimension 0 evenly", v->name,
                               graph_shape_str(v, s, sizeof s), K);
        if (v->kind == GVAL_NODE && v->keep && (int)i != g->loss)
            return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                               "value '%s' is kept, but in data parallel mode only the loss can be read back",
                               v->name);
    }
    return EMBCL_OK;
}

/* One share of every live input per replica, consecutive per input. */
static embcl_status split_inputs(struct embcl_graph *g, size_t K, size_t n_orig, int *map)
{
    for (size_t i = 0; i < n_orig; i++) {
        if (g->vals[i].kind != GVAL_INPUT || !g->vals[i].live)
            continue;
        for (size_t r = 0; r < K; r++) {
            char name[256];
            snprintf(name, sizeof name, "%s#%zu", g->vals[i].name, r);
            int id;
            EMBCL_TRY(graph_add_value(g, GVAL_INPUT, name, fn, &id));
            gvalue *src = &g->vals[i], *v = &g->vals[id];
            v->dtype = src->dtype;
            v->ndim = src->ndim;
            memcpy(v->shape, src->shape, sizeof v->shape);
            v->shape[0] /= (int64_t)K;
            v->live = 1;
            if (r == 0)
                src->split = id;
            map[r * n_orig + i] = id;
        }
    }
    return EMBCL_OK;
}

static embcl_status clone_node(struct embcl_graph *g, size_t k, size_t r, size_t K, size_t n_orig, int *map)
{
    const gnode *n = &g->nodes[k];
    struct embcl_device *dev = g->opt.replicas[r];
    void *attr = NULL;
    if (n->ops->clone_attr)
        EMBCL_TRY(n->ops->clone_attr(g, n, (int)r, (int)K, dev, &attr));
    else if (n->attr)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "node '%s' (%s) cannot be replicated for data parallel",
                           n->name, n->ops->kind);
    int in[GNODE_MAX_IN];
    for (int i = 0; i < n->n_in; i++)
        in[i] = n->in[i] < 0 ? -1 : map[r * n_orig + (size_t)n->in[i]];
    const gnode_ops *ops = n->ops;
    int n_in = n->n_in, n_out = n->n_out;
    embcl_value out;
    EMBCL_TRY(graph_add_node(g, ops, in, n_in, n_out, attr, fn, &out));
    gnode *c = &g->nodes[g->n_nodes - 1];
    /* Table readers follow their table; the rest run on the replica's device. */
    c->pinned = ops->sparse_rows == NULL;
    c->dev = c->pinned ? dev : NULL;
    c->live = 1;
    for (int j = 0; j < c->n_out; j++) {
        g->vals[c->out[j]].live = 1;
        map[r * n_orig + (size_t)g->nodes[k].out[j]] = c->out[j];
    }
    return EMBCL_OK;
}

embcl_status graph_replicate(struct embcl_graph *g)
{
    size_t K = g->opt.n_replicas;
    if (K == 0)
        return EMBCL_OK;
    if (K == 1 || !g->opt.replicas)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'n_replicas' is %zu; give 2 or more devices, or 0", K);
    EMBCL_TRY(check(g, K));
    size_t n_orig = g->n_vals, n_nodes = g->n_nodes;
    int *map = embcl_malloc(K * n_orig * sizeof *map, fn);
    if (!map)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t r = 0; r < K; r++)
        for (size_t i = 0; i < n_orig; i++)
            map[r * n_orig + i] = (int)i; /* parameters and views map to themselves */
    embcl_status s = split_inputs(g, K, n_orig, map);
    for (size_t r = 0; s == EMBCL_OK && r < K; r++)
        for (size_t k = 0; s == EMBCL_OK && k < n_nodes; k++)
            if (g->nodes[k].live)
                s = clone_node(g, k, r, K, n_orig, map);
    if (s == EMBCL_OK) {
        for (size_t k = 0; k < n_nodes; k++) {
            gnode *n = &g->nodes[k];
            n->live = 0;
            for (int j = 0; j < n->n_out; j++)
                g->vals[n->out[j]].live = 0;
        }
        g->vals[g->loss].is_loss = 0;
        for (size_t r = 0; r < K; r++) {
            gvalue *l = &g->vals[map[r * n_orig + (size_t)g->loss]];
            l->is_loss = 1;
            l->keep = 1;
        }
        g->n_losses = K;
    }
    free(map);
    return s;
}
