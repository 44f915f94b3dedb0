/* Placement: every live node gets a device, and a copy node is inserted
 * wherever a value is read on a device other than its own (ggml's
 * scheduler passes, reduced to what embedding models need):
 *   1. pinned nodes stay where the user put them;
 *   2. a node reading a parameter runs where the parameter lives (tables
 *      are the big, immovable part);
 *   3. any other node follows its first placed input;
 *   4. what is left goes to the fastest device.
 * Inputs live where their first reader runs unless pinned. The result is
 * g->fwd: live nodes in order, copies just before their readers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

/* GPUs first, then compute units times clock; ties go to the lower index. */
static struct embcl_device *fastest(struct embcl_graph *g)
{
    struct embcl_runtime *rt = g->rt;
    struct embcl_device *best = &rt->devices[0];
    for (size_t i = 1; i < rt->n_devices; i++) {
        struct embcl_device *d = &rt->devices[i];
        int dg = d->info.device_class == EMBCL_DEVICE_GPU, bg = best->info.device_class == EMBCL_DEVICE_GPU;
        double ds = (double)d->info.compute_units * d->info.max_clock_mhz;
        double bs = (double)best->info.compute_units * best->info.max_clock_mhz;
        if (dg > bg || (dg == bg && ds > bs))
            best = d;
    }
    return best;
}

static struct embcl_device *value_dev(struct embcl_graph *g, int v)
{
    const gvalue *x = &g->vals[v];
    return x->kind == GVAL_VIEW ? g->vals[x->base].dev : x->dev;
}

typedef struct copy_entry {
    int value;
    struct embcl_device *dev;
    int copy;
} copy_entry;

static embcl_status push_fwd(struct embcl_graph *g, size_t *cap, int node, const char *fn)
{
    if (g->n_fwd == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        int *f = embcl_realloc(g->fwd, c * sizeof *f, fn);
        if (!f)
            return EMBCL_ERR_OUT_OF_MEMORY;
        g->fwd = f;
        *cap = c;
    }
    g->fwd[g->n_fwd++] = node;
    return EMBCL_OK;
}

/* Devices fastest first (the order of `fastest`). */
static void by_speed(struct embcl_graph *g, size_t *order)
{
    size_t n = g->rt->n_devices;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            struct embcl_device *a = &g->rt->devices[order[j - 1]], *b = &g->rt->devices[order[j]];
            int ag = a->info.device_class == EMBCL_DEVICE_GPU, bg = b->info.device_class == EMBCL_DEVICE_GPU;
            double as = (double)a->info.compute_units * a->info.max_clock_mhz;
            double bs = (double)b->info.compute_units * b->info.max_clock_mhz;
            if (!(bg > ag || (bg == ag && bs > as)))
                break;
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

/* Parameters the graph allocates: pinned ones where pinned, the others on
 * the fastest device with room for the value and its gradient, counting
 * the parameters already placed. */
static embcl_status place_params(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_compile";
    struct embcl_runtime *rt = g->rt;
    uint64_t *used = embcl_calloc(rt->n_devices, sizeof *used, fn);
    size_t *order = embcl_calloc(rt->n_devices, sizeof *order, fn);
    if (!used || !order) {
        free(used);
        free(order);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    by_speed(g, order);
    for (size_t i = 0; i < g->n_vals; i++)
        if (g->vals[i].kind == GVAL_PARAM && g->vals[i].tensor)
            used[g->vals[i].dev->index] += 2 * (uint64_t)graph_numel(&g->vals[i]) * sizeof(float);
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; s == EMBCL_OK && i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind != GVAL_PARAM || v->tensor)
            continue;
        uint64_t need = 2 * (uint64_t)graph_numel(v) * sizeof(float);
        struct embcl_device *d = v->pin;
        for (size_t k = 0; !d && k < rt->n_devices; k++) {
            struct embcl_device *c = &rt->devices[order[k]];
            uint64_t budget = g->opt.device_budget ? g->opt.device_budget : c->info.global_mem_bytes / 10 * 9;
            size_t cols = (size_t)v->shape[v->ndim - 1], rows = cols ? (size_t)graph_numel(v) / cols : 0;
            if (used[c->index] + need <= budget && embcl_tensor_fits(c, v->ndim > 1 ? rows : 1, cols * sizeof(float)))
                d = c;
        }
        if (!d) {
            s = embcl_error(EMBCL_ERR_OUT_OF_MEMORY, fn,
                            "parameter '%s' needs %llu bytes with its gradient, and no device has that much left "
                            "(device '%s' has %llu bytes used)",
                            v->name, (unsigned long long)need, rt->devices[order[0]].info.name,
                            (unsigned long long)used[order[0]]);
            break;
        }
        used[d->index] += need;
        v->dev = d;
        s = embcl_tensor_new(d, EMBCL_F32, v->ndim, v->shape, fn, &v->tensor);
        if (s == EMBCL_OK)
            s = embcl_tensor_fill(v->tensor, 0.0);
    }
    free(used);
    free(order);
    return s;
}

embcl_status graph_place(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_compile";
    EMBCL_TRY(place_params(g));
    struct embcl_device *dflt = fastest(g);
    copy_entry *copies = NULL;
    size_t n_copies = 0, cap_fwd = 0;
    free(g->fwd);
    g->fwd = NULL;
    g->n_fwd = 0;
    embcl_status s = EMBCL_OK;
    size_t n_user_nodes = g->n_nodes; /* copies are appended after */
    for (size_t k = 0; s == EMBCL_OK && k < n_user_nodes; k++) {
        gnode *n = &g->nodes[k];
        if (!n->live)
            continue;
        if (!n->pinned) {
            struct embcl_device *d = NULL;
            for (int i = 0; !d && i < n->n_in; i++) {
                int p = graph_param_of(g, n->in[i]);
                if (p >= 0)
                    d = g->vals[p].dev;
            }
            for (int i = 0; !d && i < n->n_in; i++)
                if (n->in[i] >= 0)
                    d = value_dev(g, n->in[i]);
            n->dev = d ? d : dflt;
        }
        /* Inserting copies may move g->nodes: index it afresh each time. */
        for (int i = 0; s == EMBCL_OK && i < g->nodes[k].n_in; i++) {
            int v = g->nodes[k].in[i];
            if (v < 0)
                continue;
            gvalue *x = &g->vals[v];
            if (x->kind == GVAL_INPUT && !x->dev)
                x->dev = x->pin ? x->pin : g->nodes[k].dev;
            struct embcl_device *vd = value_dev(g, v);
            if (vd == g->nodes[k].dev)
                continue;
            int c = -1;
            for (size_t e = 0; e < n_copies; e++)
                if (copies[e].value == v && copies[e].dev == g->nodes[k].dev)
                    c = copies[e].copy;
            if (c < 0) {
                copy_entry *ce = embcl_realloc(copies, (n_copies + 1) * sizeof *ce, fn);
                if (!ce) {
                    s = EMBCL_ERR_OUT_OF_MEMORY;
                    break;
                }
                copies = ce;
                s = graph_insert_copy(g, v, g->nodes[k].dev, &c);
                if (s != EMBCL_OK)
                    break;
                copies[n_copies++] = (copy_entry){v, g->nodes[k].dev, c};
                s = push_fwd(g, &cap_fwd, g->vals[c].node, fn);
            }
            g->nodes[k].in[i] = c;
        }
        if (s == EMBCL_OK)
            s = push_fwd(g, &cap_fwd, (int)k, fn);
        for (int j = 0; s == EMBCL_OK && j < g->nodes[k].n_out; j++)
            g->vals[g->nodes[k].out[j]].dev = g->nodes[k].dev;
    }
    free(copies);
    /* Inputs nobody reads still get a home, so they can be set. */
    for (size_t i = 0; i < g->n_vals; i++)
        if (g->vals[i].kind == GVAL_INPUT && !g->vals[i].dev)
            g->vals[i].dev = g->vals[i].pin ? g->vals[i].pin : dflt;
    return s;
}
