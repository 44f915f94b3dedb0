/* The update: each parameter with a group goes to the optimizer on its
 * device (the caller's optimizers; PyTorch's optimizer over
 * model.parameters() is one group 0), frozen rows and columns with it;
 * a step hands every optimizer its gradients, dense or row-sparse. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"
#include "optim/optim_impl.h"

void graph_optim_free(struct embcl_graph *g)
{
    for (size_t i = 0; i < g->n_optims; i++)
        free(g->ograds ? g->ograds[i] : NULL);
    free(g->ograds);
    free(g->n_ograds);
    free(g->optims);
    g->ograds = NULL;
    g->n_ograds = NULL;
    g->optims = NULL;
    g->n_optims = 0;
}

static int optim_for(struct embcl_graph *g, struct embcl_device *dev)
{
    for (size_t i = 0; i < g->n_optims; i++)
        if (g->optims[i]->dev == dev)
            return (int)i;
    return -1;
}

static embcl_status gather(struct embcl_graph *g, const char *fn)
{
    const embcl_graph_options *o = &g->opt;
    size_t n = (o->optim ? 1 : 0) + (o->optims ? o->n_optims : 0);
    g->optims = embcl_calloc(n ? n : 1, sizeof *g->optims, fn);
    if (!g->optims)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++) {
        embcl_optim_t opt = o->optim && i == 0 ? o->optim : o->optims[i - (o->optim ? 1 : 0)];
        if (!opt)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'optims' has NULL at position %zu",
                               i - (o->optim ? 1 : 0));
        int have = optim_for(g, opt->dev);
        if (have >= 0 && g->optims[have] == opt)
            continue;
        if (have >= 0)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "two optimizers are given for device '%s'; give one per device", opt->dev->info.name);
        g->optims[g->n_optims++] = opt;
    }
    return EMBCL_OK;
}

embcl_status graph_optim_attach(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_compile";
    graph_optim_free(g);
    EMBCL_TRY(gather(g, fn));
    if (g->n_optims == 0)
        return EMBCL_OK;
    /* Check everything before the first parameter is added. */
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (p->kind != GVAL_PARAM || p->group == EMBCL_GROUP_NONE)
            continue;
        int slot = optim_for(g, p->dev);
        if (slot < 0)
            return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn,
                               "parameter '%s' lives on device '%s', but no optimizer given is on that device",
                               p->name, p->dev->info.name);
        size_t groups = embcl_optim_group_count(g->optims[slot]);
        if ((uint64_t)p->group >= groups)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                               "parameter '%s' is in optimizer group %lld, but its optimizer has %zu group%s",
                               p->name, (long long)p->group, groups, groups == 1 ? "" : "s");
    }
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (p->kind != GVAL_PARAM || p->group == EMBCL_GROUP_NONE)
            continue;
        p->optim_slot = optim_for(g, p->dev);
        embcl_optim_t opt = g->optims[p->optim_slot];
        size_t idx;
        EMBCL_TRY(embcl_optim_add_param(opt, (size_t)p->group, p->tensor, p->name, &idx));
        p->optim_index = (int64_t)idx;
        for (size_t r = 0; r < p->n_frozen_rows; r++)
            EMBCL_TRY(embcl_optim_freeze_rows(opt, idx, p->frozen_rows[r].a, p->frozen_rows[r].b, 1));
        for (size_t c = 0; c < p->n_frozen_cols; c++)
            EMBCL_TRY(embcl_optim_freeze_cols(opt, idx, p->frozen_cols[c].a, p->frozen_cols[c].b, 1));
    }
    g->ograds = embcl_calloc(g->n_optims, sizeof *g->ograds, fn);
    g->n_ograds = embcl_calloc(g->n_optims, sizeof *g->n_ograds, fn);
    if (!g->ograds || !g->n_ograds)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t k = 0; k < g->n_optims; k++) {
        g->n_ograds[k] = embcl_optim_param_count(g->optims[k]);
        g->ograds[k] = embcl_calloc(g->n_ograds[k] ? g->n_ograds[k] : 1, sizeof **g->ograds, fn);
        if (!g->ograds[k])
            return EMBCL_ERR_OUT_OF_MEMORY;
    }
    return EMBCL_OK;
}

embcl_status graph_optim_step(struct embcl_graph *g)
{
    for (size_t k = 0; k < g->n_optims; k++)
        memset(g->ograds[k], 0, g->n_ograds[k] * sizeof **g->ograds);
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *p = &g->vals[i];
        if (p->kind != GVAL_PARAM || p->optim_index < 0)
            continue;
        embcl_grad *gr = &g->ograds[p->optim_slot][p->optim_index];
        gr->dense = p->sgrad || !p->needs_grad ? NULL : p->grad;
        gr->sparse = p->sgrad;
    }
    for (size_t k = 0; k < g->n_optims; k++)
        EMBCL_TRY(embcl_optim_step(g->optims[k], g->ograds[k], g->n_ograds[k]));
    return EMBCL_OK;
}
