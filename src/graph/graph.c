/* Building a graph: values (parameters, inputs, views), nodes, flags. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

embcl_status embcl_graph_create(embcl_runtime_t rt, embcl_graph_t *out)
{
    static const char *fn = "embcl_graph_create";
    EMBCL_CHECK_ARG(rt != NULL, fn, "argument 'rt' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    struct embcl_graph *g = embcl_calloc(1, sizeof *g, fn);
    if (!g)
        return EMBCL_ERR_OUT_OF_MEMORY;
    g->rt = rt;
    g->loss = -1;
    g->opt = embcl_graph_options_default();
    *out = g;
    return EMBCL_OK;
}

void embcl_graph_free(embcl_graph_t g)
{
    if (!g)
        return;
    graph_release_memory(g);
    graph_optim_free(g);
    graph_diag_free(g);
    for (size_t i = 0; i < g->n_nodes; i++) {
        gnode *n = &g->nodes[i];
        if (n->ops->free_attr)
            n->ops->free_attr(n->attr);
        free(n->name);
    }
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind == GVAL_PARAM)
            embcl_tensor_free(v->tensor);
        free(v->name);
        free(v->frozen_rows);
        free(v->frozen_cols);
        free(v->snapshot);
        embcl_tensor_free(v->ext_grad);
    }
    free(g->vals);
    free(g->nodes);
    free(g->fwd);
    free(g->bwd);
    free(g->arena);
    free(g);
}

const char *graph_shape_str(const gvalue *v, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < v->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)v->shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

int64_t graph_numel(const gvalue *v)
{
    int64_t n = 1;
    for (int d = 0; d < v->ndim; d++)
        n *= v->shape[d];
    return n;
}

int graph_param_of(struct embcl_graph *g, int v)
{
    if (v < 0)
        return -1;
    if (g->vals[v].kind == GVAL_VIEW)
        return g->vals[v].base;
    return g->vals[v].kind == GVAL_PARAM ? v : -1;
}

embcl_status graph_check_building(struct embcl_graph *g, const char *func)
{
    EMBCL_CHECK_ARG(g != NULL, func, "argument 'g' is NULL");
    if (g->compiled)
        return embcl_error(EMBCL_ERR_STATE, func, "the graph is compiled already; build it before compiling");
    if (g->broken)
        return embcl_error(EMBCL_ERR_STATE, func, "an earlier embcl_graph_compile of this graph failed; free it");
    return EMBCL_OK;
}

embcl_status graph_check_value(struct embcl_graph *g, embcl_value v, const char *func, const char *arg)
{
    if (v < 0 || (size_t)v >= g->n_vals)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument '%s' is value %d, not a value of this graph (it has %zu)",
                           arg, (int)v, g->n_vals);
    return EMBCL_OK;
}

static int name_taken(struct embcl_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_vals; i++)
        if (g->vals[i].name && strcmp(g->vals[i].name, name) == 0)
            return 1;
    return 0;
}

embcl_status graph_add_value(struct embcl_graph *g, gval_kind kind, const char *name, const char *func, int *out)
{
    if (g->n_vals == g->cap_vals) {
        size_t cap = g->cap_vals ? g->cap_vals * 2 : 16;
        gvalue *v = embcl_realloc(g->vals, cap * sizeof *v, func);
        if (!v)
            return EMBCL_ERR_OUT_OF_MEMORY;
        g->vals = v;
        g->cap_vals = cap;
    }
    gvalue *v = &g->vals[g->n_vals];
    memset(v, 0, sizeof *v);
    if (name) {
        v->name = embcl_strdup(name, func);
        if (!v->name)
            return EMBCL_ERR_OUT_OF_MEMORY;
    }
    v->kind = kind;
    v->node = -1;
    v->base = -1;
    v->alias = -1;
    v->split = -1;
    v->optim_index = -1;
    v->requires_grad = kind == GVAL_PARAM;
    v->group = kind == GVAL_PARAM ? 0 : EMBCL_GROUP_NONE;
    *out = (int)g->n_vals++;
    return EMBCL_OK;
}

static embcl_status check_name(struct embcl_graph *g, const char *name, const char *func)
{
    EMBCL_CHECK_ARG(name != NULL && *name, func, "argument 'name' is NULL or empty");
    if (name_taken(g, name))
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument 'name' is '%s', which the graph has already", name);
    return EMBCL_OK;
}

embcl_status embcl_graph_param(embcl_graph_t g, const char *name, embcl_tensor_t tensor, embcl_value *out)
{
    static const char *fn = "embcl_graph_param";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    EMBCL_TRY(check_name(g, name, fn));
    EMBCL_TRY(embcl_check_dtype_parts(tensor, EMBCL_F32, fn, "tensor")); /* a table may be split by rows */
    if (tensor->dev->rt != g->rt)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument 'tensor' ('%s') lives in another runtime", name);
    struct embcl_tensor *view = embcl_malloc(sizeof *view, fn);
    if (!view)
        return EMBCL_ERR_OUT_OF_MEMORY;
    int id;
    embcl_status s = graph_add_value(g, GVAL_PARAM, name, fn, &id);
    if (s != EMBCL_OK) {
        free(view);
        return s;
    }
    *view = *tensor;
    embcl_tensor_retain_parts(view);
    gvalue *v = &g->vals[id];
    v->tensor = view;
    v->dtype = EMBCL_F32;
    v->ndim = tensor->ndim;
    memcpy(v->shape, tensor->shape, sizeof v->shape);
    v->dev = tensor->dev;
    *out = id;
    return EMBCL_OK;
}

embcl_status embcl_graph_find(embcl_graph_t g, const char *name, embcl_value *out)
{
    static const char *fn = "embcl_graph_find";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_CHECK_ARG(name != NULL && out != NULL, fn, "argument 'name' or 'out' is NULL");
    for (size_t i = 0; i < g->n_vals; i++)
        if (g->vals[i].name && strcmp(g->vals[i].name, name) == 0) {
            *out = (embcl_value)i;
            return EMBCL_OK;
        }
    return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'name' is '%s'; the graph has no value of that name", name);
}

embcl_status embcl_graph_param_tensor(embcl_graph_t g, embcl_value param, embcl_tensor_t *out)
{
    static const char *fn = "embcl_graph_param_tensor";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_TRY(graph_check_value(g, param, fn, "param"));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    gvalue *v = &g->vals[param];
    if (v->kind != GVAL_PARAM)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'param' is '%s', not a parameter",
                           v->name ? v->name : "unnamed");
    if (!v->tensor)
        return embcl_error(EMBCL_ERR_STATE, fn, "parameter '%s' gets its memory when the graph is compiled", v->name);
    if (embcl_tensor_is_contiguous(v->tensor))
        return embcl_tensor_reshape(v->tensor, v->ndim, v->shape, out);
    return embcl_tensor_view_cols(v->tensor, 0, v->shape[1], out);
}

embcl_status embcl_graph_param_new(embcl_graph_t g, const char *name, int ndim, const int64_t *shape,
                                   embcl_value *out)
{
    static const char *fn = "embcl_graph_param_new";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    EMBCL_TRY(check_name(g, name, fn));
    if (ndim < 1 || ndim > EMBCL_MAX_DIMS)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'ndim' is %d; parameters have 1 to %d dimensions", ndim,
                           EMBCL_MAX_DIMS);
    EMBCL_CHECK_ARG(shape != NULL, fn, "argument 'shape' is NULL");
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0)
            return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'shape' has size %lld in dimension %d",
                               (long long)shape[d], d);
    int id;
    EMBCL_TRY(graph_add_value(g, GVAL_PARAM, name, fn, &id));
    gvalue *v = &g->vals[id];
    v->dtype = EMBCL_F32;
    v->ndim = ndim;
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    *out = id;
    return EMBCL_OK;
}

static embcl_status get_param(embcl_graph_t g, embcl_value p, const char *fn, gvalue **out)
{
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, p, fn, "param"));
    gvalue *v = &g->vals[p];
    if (v->kind != GVAL_PARAM)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'param' is value %d ('%s'), not a parameter", (int)p,
                           v->name ? v->name : "unnamed");
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_graph_param_requires_grad(embcl_graph_t g, embcl_value param, int requires_grad)
{
    gvalue *v = NULL;
    EMBCL_TRY(get_param(g, param, "embcl_graph_param_requires_grad", &v));
    v->requires_grad = requires_grad != 0;
    return EMBCL_OK;
}

embcl_status embcl_graph_param_group(embcl_graph_t g, embcl_value param, int64_t group)
{
    static const char *fn = "embcl_graph_param_group";
    gvalue *v = NULL;
    EMBCL_TRY(get_param(g, param, fn, &v));
    EMBCL_CHECK_ARG(group >= 0 || group == EMBCL_GROUP_NONE, fn,
                    "argument 'group' is %lld; give a group index or EMBCL_GROUP_NONE", (long long)group);
    v->group = group;
    return EMBCL_OK;
}

static int64_t param_rows(const gvalue *v)
{
    return graph_numel(v) / (v->shape[v->ndim - 1] ? v->shape[v->ndim - 1] : 1);
}

static embcl_status add_range(grange **list, size_t *n, int64_t a, int64_t b, const char *fn)
{
    grange *r = embcl_realloc(*list, (*n + 1) * sizeof *r, fn);
    if (!r)
        return EMBCL_ERR_OUT_OF_MEMORY;
    r[*n].a = a;
    r[*n].b = b;
    *list = r;
    (*n)++;
    return EMBCL_OK;
}

embcl_status embcl_graph_param_freeze_rows(embcl_graph_t g, embcl_value param, int64_t r0, int64_t r1)
{
    static const char *fn = "embcl_graph_param_freeze_rows";
    gvalue *v = NULL;
    EMBCL_TRY(get_param(g, param, fn, &v));
    int64_t rows = param_rows(v);
    if (r0 < 0 || r1 < r0 || r1 > rows)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "rows [%lld, %lld) are not within the %lld rows of '%s'",
                           (long long)r0, (long long)r1, (long long)rows, v->name);
    return add_range(&v->frozen_rows, &v->n_frozen_rows, r0, r1, fn);
}

embcl_status embcl_graph_param_freeze_cols(embcl_graph_t g, embcl_value param, int64_t c0, int64_t c1)
{
    static const char *fn = "embcl_graph_param_freeze_cols";
    gvalue *v = NULL;
    EMBCL_TRY(get_param(g, param, fn, &v));
    int64_t cols = v->shape[v->ndim - 1];
    if (c0 < 0 || c1 < c0 || c1 > cols)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "columns [%lld, %lld) are not within the %lld columns of '%s'",
                           (long long)c0, (long long)c1, (long long)cols, v->name);
    return add_range(&v->frozen_cols, &v->n_frozen_cols, c0, c1, fn);
}

embcl_status embcl_graph_cols(embcl_graph_t g, embcl_value param, int64_t c0, int64_t c1, embcl_value *out)
{
    static const char *fn = "embcl_graph_cols";
    gvalue *p = NULL;
    EMBCL_TRY(get_param(g, param, fn, &p));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    if (p->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'param' ('%s') has %d dimensions; column views need 2",
                           p->name, p->ndim);
    if (c0 < 0 || c1 <= c0 || c1 > p->shape[1])
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "columns [%lld, %lld) are not a non-empty range within the %lld columns of '%s'",
                           (long long)c0, (long long)c1, (long long)p->shape[1], p->name);
    char name[256];
    snprintf(name, sizeof name, "%s[:, %lld:%lld]", p->name, (long long)c0, (long long)c1);
    int id;
    EMBCL_TRY(graph_add_value(g, GVAL_VIEW, name_taken(g, name) ? NULL : name, fn, &id));
    gvalue *v = &g->vals[id];
    p = &g->vals[param]; /* the array may have moved */
    v->base = param;
    v->c0 = c0;
    v->c1 = c1;
    v->dtype = EMBCL_F32;
    v->ndim = 2;
    v->shape[0] = p->shape[0];
    v->shape[1] = c1 - c0;
    v->requires_grad = 0;
    *out = id;
    return EMBCL_OK;
}

embcl_status embcl_graph_input(embcl_graph_t g, const char *name, embcl_dtype dtype, int ndim, const int64_t *shape,
                               embcl_value *out)
{
    static const char *fn = "embcl_graph_input";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    EMBCL_TRY(check_name(g, name, fn));
    if (embcl_dtype_size(dtype) == 0)
        return embcl_error(EMBCL_ERR_DTYPE, fn, "argument 'dtype' is %d, not a valid embcl_dtype", (int)dtype);
    if (ndim < 1 || ndim > EMBCL_MAX_DIMS)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'ndim' is %d; values have 1 to %d dimensions", ndim,
                           EMBCL_MAX_DIMS);
    EMBCL_CHECK_ARG(shape != NULL, fn, "argument 'shape' is NULL");
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0)
            return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'shape' has size %lld in dimension %d", (long long)shape[d], d);
    int id;
    EMBCL_TRY(graph_add_value(g, GVAL_INPUT, name, fn, &id));
    gvalue *v = &g->vals[id];
    v->dtype = dtype;
    v->ndim = ndim;
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    *out = id;
    return EMBCL_OK;
}

embcl_status embcl_graph_value_shape(embcl_graph_t g, embcl_value v, embcl_dtype *dtype, int *ndim, int64_t *shape)
{
    static const char *fn = "embcl_graph_value_shape";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_TRY(graph_check_value(g, v, fn, "v"));
    const gvalue *x = &g->vals[v];
    if (dtype)
        *dtype = x->dtype;
    if (ndim)
        *ndim = x->ndim;
    if (shape)
        memcpy(shape, x->shape, (size_t)x->ndim * sizeof *shape);
    return EMBCL_OK;
}

embcl_status embcl_graph_set_name(embcl_graph_t g, embcl_value v, const char *name)
{
    static const char *fn = "embcl_graph_set_name";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, v, fn, "v"));
    gvalue *x = &g->vals[v];
    if (x->kind != GVAL_NODE)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'v' is '%s', which no node produces; name nodes' results",
                           x->name ? x->name : "unnamed");
    if (x->name && strcmp(x->name, name ? name : "") == 0)
        return EMBCL_OK;
    EMBCL_TRY(check_name(g, name, fn));
    char *a = embcl_strdup(name, fn), *b = embcl_strdup(name, fn);
    if (!a || !b) {
        free(a);
        free(b);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    free(x->name);
    x->name = a;
    free(g->nodes[x->node].name);
    g->nodes[x->node].name = b;
    return EMBCL_OK;
}

embcl_status embcl_graph_set_device(embcl_graph_t g, embcl_value v, embcl_device_t dev)
{
    static const char *fn = "embcl_graph_set_device";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, v, fn, "v"));
    EMBCL_CHECK_ARG(dev != NULL, fn, "argument 'dev' is NULL");
    if (dev->rt != g->rt)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument 'dev' belongs to another runtime");
    gvalue *x = &g->vals[v];
    if (x->kind == GVAL_INPUT || (x->kind == GVAL_PARAM && !x->tensor)) {
        x->pin = dev;
        return EMBCL_OK;
    }
    if (x->kind != GVAL_NODE)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "argument 'v' is parameter '%s', which lives where its tensor does",
                           x->name ? x->name : "unnamed");
    g->nodes[x->node].dev = dev;
    g->nodes[x->node].pinned = 1;
    return EMBCL_OK;
}

embcl_status embcl_graph_keep(embcl_graph_t g, embcl_value v)
{
    static const char *fn = "embcl_graph_keep";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, v, fn, "v"));
    g->vals[v].keep = 1;
    return EMBCL_OK;
}

embcl_status embcl_graph_set_loss(embcl_graph_t g, embcl_value loss)
{
    static const char *fn = "embcl_graph_set_loss";
    EMBCL_TRY(graph_check_building(g, fn));
    EMBCL_TRY(graph_check_value(g, loss, fn, "loss"));
    gvalue *v = &g->vals[loss];
    char s[96];
    if (v->dtype != EMBCL_F32 || graph_numel(v) != 1)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'loss' ('%s') is %s %s; the loss is a single f32",
                           v->name ? v->name : "unnamed", embcl_dtype_name(v->dtype), graph_shape_str(v, s, sizeof s));
    if (v->kind != GVAL_NODE)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'loss' ('%s') is not computed by a node",
                           v->name ? v->name : "unnamed");
    g->loss = loss;
    v->keep = 1;
    return EMBCL_OK;
}

static void free_attr(const gnode_ops *ops, void *attr)
{
    if (ops->free_attr)
        ops->free_attr(attr);
}

embcl_status graph_add_node(struct embcl_graph *g, const gnode_ops *ops, const int *in, int n_in, int n_out,
                            void *attr, const char *func, embcl_value *out)
{
    embcl_status s = graph_check_building(g, func);
    if (s == EMBCL_OK && !out)
        s = embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument 'out' is NULL");
    for (int i = 0; s == EMBCL_OK && i < n_in; i++)
        if (in[i] >= 0)
            s = graph_check_value(g, in[i], func, "input");
    if (s != EMBCL_OK) {
        free_attr(ops, attr);
        return s;
    }
    gnode n = {0};
    n.ops = ops;
    n.n_in = n_in;
    n.n_out = n_out;
    n.attr = attr;
    memcpy(n.in, in, (size_t)n_in * sizeof *in);
    gvalue outs[GNODE_MAX_OUT];
    memset(outs, 0, sizeof outs);
    s = ops->infer(g, &n, outs, func);
    if (s != EMBCL_OK) {
        free_attr(ops, attr);
        return s;
    }
    /* Room first, so that a failure below leaves the graph as it was. */
    if (g->n_nodes == g->cap_nodes) {
        size_t cap = g->cap_nodes ? g->cap_nodes * 2 : 16;
        gnode *nn = embcl_realloc(g->nodes, cap * sizeof *nn, func);
        if (!nn) {
            free_attr(ops, attr);
            return EMBCL_ERR_OUT_OF_MEMORY;
        }
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    size_t count = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        count += g->nodes[i].ops == ops;
    char name[96];
    snprintf(name, sizeof name, "%s_%zu", ops->kind, count);
    while (name_taken(g, name))
        snprintf(name, sizeof name, "%s_%zu", ops->kind, ++count);
    size_t vals_before = g->n_vals;
    n.name = embcl_strdup(name, func);
    s = n.name ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    for (int j = 0; s == EMBCL_OK && j < n_out; j++) {
        char vname[128];
        if (j == 0)
            snprintf(vname, sizeof vname, "%s", name);
        else
            snprintf(vname, sizeof vname, "%s.out%d", name, j);
        int id;
        s = graph_add_value(g, GVAL_NODE, vname, func, &id);
        if (s == EMBCL_OK) {
            gvalue *v = &g->vals[id];
            v->dtype = outs[j].dtype;
            v->ndim = outs[j].ndim;
            memcpy(v->shape, outs[j].shape, sizeof v->shape);
            v->node = (int)g->n_nodes;
            n.out[j] = id;
        }
    }
    if (s != EMBCL_OK) {
        while (g->n_vals > vals_before)
            free(g->vals[--g->n_vals].name);
        free(n.name);
        free_attr(ops, attr);
        return s;
    }
    g->nodes[g->n_nodes++] = n;
    *out = n.out[0];
    return EMBCL_OK;
}

void graph_truncate_values(struct embcl_graph *g, size_t n)
{
    while (g->n_vals > n) {
        gvalue *v = &g->vals[--g->n_vals];
        if (v->kind == GVAL_PARAM)
            embcl_tensor_free(v->tensor);
        embcl_tensor_free(v->ext_grad);
        free(v->name);
    }
}

embcl_status graph_clone_bytes(const void *src, size_t bytes, void **out)
{
    void *p = embcl_malloc(bytes, "embcl_graph_compile");
    if (!p)
        return EMBCL_ERR_OUT_OF_MEMORY;
    memcpy(p, src, bytes);
    *out = p;
    return EMBCL_OK;
}

struct embcl_tensor graph_as_1d(const struct embcl_tensor *t)
{
    struct embcl_tensor v = *t;
    v.ndim = 1;
    v.shape[0] = (int64_t)(t->rows * t->cols);
    v.shape[1] = v.shape[2] = v.shape[3] = 0;
    v.cols = t->rows * t->cols;
    v.rows = 1;
    v.ld = v.cols;
    return v;
}

struct embcl_tensor graph_as_2d(const struct embcl_tensor *t)
{
    struct embcl_tensor v = *t;
    v.ndim = 2;
    v.shape[0] = (int64_t)t->rows;
    v.shape[1] = (int64_t)t->cols;
    v.shape[2] = v.shape[3] = 0;
    return v;
}

embcl_status graph_in_grad(struct embcl_graph *g, gnode *n, int i, int zeroed, struct embcl_tensor **out)
{
    *out = NULL;
    if (!n->want_grad[i])
        return EMBCL_OK;
    struct embcl_tensor *t = g->vals[n->in[i]].grad;
    if (zeroed && !n->acc[i] && t->rows * t->cols > 0)
        EMBCL_TRY(embcl_tensor_fill(t, 0.0));
    *out = t;
    return EMBCL_OK;
}
