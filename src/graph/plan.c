/* Memory planning by liveness (after ggml-alloc): every activation and
 * every activation gradient is a buffer live from the step that writes it
 * to the last step that reads it (a later node's forward, or a backward
 * that saved it). Buffers of one device are packed into one arena with a
 * best-fit free list, so a buffer whose life is over hands its bytes to the
 * next. An elementwise node whose input dies with it writes in place.
 * Parameters, their gradients and inputs live outside the arenas: they
 * outlast the step. An arena larger than the device allows in one
 * allocation is packed again in chunks of the limit that no buffer
 * straddles (a tied decoder over a split table: its logits and their
 * gradient); a buffer larger than a chunk gets a tensor of its own. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "graph/graph_impl.h"

#define ALIGN 256
#define FOREVER INT64_MAX

typedef struct pbuf {
    int value;
    int grad;          /* the value's gradient, not the value */
    size_t size;
    int64_t first, last;
    struct embcl_device *dev;
} pbuf;

typedef struct fblock {
    size_t off, size;
} fblock;

static int root(struct embcl_graph *g, int v)
{
    while (g->vals[v].alias >= 0)
        v = g->vals[v].alias;
    return v;
}

static size_t bytes_of(const gvalue *v)
{
    size_t b = (size_t)graph_numel(v) * embcl_dtype_size(v->dtype);
    return (b + ALIGN - 1) / ALIGN * ALIGN;
}

static void use(int64_t *last, int64_t step)
{
    if (step > *last)
        *last = step;
}

/* Each value's own last use (aliases not merged). */
static void own_uses(struct embcl_graph *g)
{
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        v->first = v->node >= 0 ? g->nodes[v->node].fwd_step : 0;
        v->last = v->keep ? FOREVER : v->first;
    }
    for (size_t k = 0; k < g->n_fwd; k++) {
        gnode *n = &g->nodes[g->fwd[k]];
        for (int i = 0; i < n->n_in; i++) {
            if (n->in[i] < 0)
                continue;
            gvalue *x = &g->vals[n->in[i]];
            use(&x->last, n->fwd_step);
            if (n->backward && (n->ops->saved_inputs >> i & 1u))
                use(&x->last, n->bwd_step);
        }
        for (int j = 0; j < n->n_out; j++)
            if (n->backward && (n->ops->saved_outputs >> j & 1u))
                use(&g->vals[n->out[j]].last, n->bwd_step);
    }
}

static void merge_into_root(struct embcl_graph *g, int v)
{
    int r = root(g, v);
    if (r != v)
        use(&g->vals[r].last, g->vals[v].last);
}

/* Aliases: detach always; in place where the input's group dies here. */
static void choose_aliases(struct embcl_graph *g)
{
    for (size_t k = 0; k < g->n_fwd; k++) {
        gnode *n = &g->nodes[g->fwd[k]];
        if (!n->ops->alias && !n->ops->inplace)
            continue;
        int x = n->in[0], y = n->out[0];
        gvalue *xv = &g->vals[x], *yv = &g->vals[y];
        if (n->ops->alias) {
            yv->alias = x;
            merge_into_root(g, y);
            continue;
        }
        int r = root(g, x);
        gvalue *rv = &g->vals[r];
        if (rv->kind != GVAL_NODE || rv->last != n->fwd_step || rv->is_loss || xv->dtype != yv->dtype ||
            graph_numel(xv) != graph_numel(yv) || bytes_of(rv) < bytes_of(yv) || rv->dev != yv->dev)
            continue;
        yv->alias = x;
        merge_into_root(g, y);
        g->mem.n_inplace++;
    }
}

static int by_first(const void *a, const void *b)
{
    const pbuf *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->value != y->value ? (x->value < y->value ? -1 : 1) : x->grad - y->grad;
}

/* chunk > 0: free blocks do not merge across a multiple of chunk, so no
 * block handed out straddles two chunks. */
static void free_block(fblock *fl, size_t *n, size_t off, size_t size, size_t chunk)
{
    size_t i = 0;
    while (i < *n && fl[i].off < off)
        i++;
    memmove(fl + i + 1, fl + i, (*n - i) * sizeof *fl);
    fl[i] = (fblock){off, size};
    (*n)++;
    /* merge with the neighbours */
    if (i + 1 < *n && fl[i].off + fl[i].size == fl[i + 1].off && !(chunk && fl[i + 1].off % chunk == 0)) {
        fl[i].size += fl[i + 1].size;
        memmove(fl + i + 1, fl + i + 2, (*n - i - 2) * sizeof *fl);
        (*n)--;
    }
    if (i > 0 && fl[i - 1].off + fl[i - 1].size == fl[i].off && !(chunk && fl[i].off % chunk == 0)) {
        fl[i - 1].size += fl[i].size;
        memmove(fl + i, fl + i + 1, (*n - i - 1) * sizeof *fl);
        (*n)--;
    }
}

static int straddles(size_t off, size_t size, size_t chunk)
{
    return chunk && off / chunk != (off + size - 1) / chunk;
}

/* Best fit: the smallest free block that holds `size`; else grow the arena
 * (taking a free block at its end first). With chunks, growing past a
 * chunk's end leaves the rest of the chunk free and starts the next. */
static size_t alloc_block(fblock *fl, size_t *n, size_t *top, size_t size, size_t chunk)
{
    size_t best = *n;
    for (size_t i = 0; i < *n; i++)
        if (fl[i].size >= size && (best == *n || fl[i].size < fl[best].size))
            best = i;
    if (best < *n) {
        size_t off = fl[best].off;
        fl[best].off += size;
        fl[best].size -= size;
        if (fl[best].size == 0) {
            memmove(fl + best, fl + best + 1, (*n - best - 1) * sizeof *fl);
            (*n)--;
        }
        return off;
    }
    if (*n > 0 && fl[*n - 1].off + fl[*n - 1].size == *top && !straddles(fl[*n - 1].off, size, chunk)) {
        size_t off = fl[*n - 1].off;
        (*n)--;
        *top = off + size;
        return off;
    }
    size_t off = *top;
    if (straddles(off, size, chunk)) {
        size_t next = (off / chunk + 1) * chunk;
        free_block(fl, n, off, next - off, chunk);
        off = next;
    }
    *top = off + size;
    return off;
}

static embcl_status pack(struct embcl_graph *g, pbuf *bufs, size_t nb, struct embcl_device *dev, size_t chunk,
                         size_t *peak)
{
    static const char *fn = "embcl_graph_compile";
    fblock *fl = embcl_malloc((2 * nb + 1) * sizeof *fl, fn); /* frees, and a gap per chunk grown past */
    pbuf **active = embcl_malloc((nb + 1) * sizeof *active, fn);
    if (!fl || !active) {
        free(fl);
        free(active);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    size_t n_free = 0, n_active = 0, top = 0;
    for (size_t i = 0; i < nb; i++) {
        pbuf *b = &bufs[i];
        if (b->dev != dev)
            continue;
        for (size_t a = 0; a < n_active;) {
            if (active[a]->last < b->first) {
                gvalue *v = &g->vals[active[a]->value];
                free_block(fl, &n_free, active[a]->grad ? v->goff : v->off, active[a]->size, chunk);
                active[a] = active[--n_active];
            } else {
                a++;
            }
        }
        gvalue *v = &g->vals[b->value];
        if (chunk && b->size > chunk) {
            if (b->grad)
                v->goff = GRAPH_OWN_BUFFER;
            else
                v->off = GRAPH_OWN_BUFFER;
            continue;
        }
        size_t off = alloc_block(fl, &n_free, &top, b->size, chunk);
        if (b->grad)
            v->goff = off;
        else
            v->off = off;
        active[n_active++] = b;
    }
    free(fl);
    free(active);
    *peak = top;
    return EMBCL_OK;
}

embcl_status graph_plan(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_compile";
    memset(&g->mem, 0, sizeof g->mem);
    own_uses(g);
    choose_aliases(g);
    pbuf *bufs = embcl_calloc(2 * g->n_vals + 1, sizeof *bufs, fn);
    if (!bufs)
        return EMBCL_ERR_OUT_OF_MEMORY;
    size_t nb = 0;
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind != GVAL_NODE || !v->live)
            continue;
        if (v->alias < 0)
            bufs[nb++] = (pbuf){(int)i, 0, bytes_of(v), v->first, v->last, v->dev};
        if (v->needs_grad) {
            /* written first by the loss seed or the earliest reader's
             * backward, read last by the producer's backward */
            int64_t gf = v->is_loss ? (int64_t)g->n_fwd : FOREVER, gl = 0;
            for (size_t k = 0; k < g->n_bwd; k++) {
                gnode *n = &g->nodes[g->bwd[k]];
                for (int j = 0; j < n->n_in; j++)
                    if (n->in[j] == (int)i && n->want_grad[j] && n->bwd_step < gf)
                        gf = n->bwd_step;
            }
            gnode *p = &g->nodes[v->node];
            gl = p->backward ? p->bwd_step : gf;
            if (gl < gf)
                gl = gf;
            v->gfirst = gf;
            v->glast = gl;
            bufs[nb++] = (pbuf){(int)i, 1, bytes_of(v), gf, gl, v->dev};
        }
    }
    g->mem.n_buffers = nb;
    for (size_t i = 0; i < nb; i++)
        g->mem.unplanned_bytes += bufs[i].size;
    qsort(bufs, nb, sizeof *bufs, by_first);
    embcl_status s = EMBCL_OK;
    struct embcl_runtime *rt = g->rt;
    free(g->arena);
    g->arena = embcl_calloc(rt->n_devices, sizeof *g->arena, fn);
    size_t *peaks = embcl_calloc(rt->n_devices, sizeof *peaks, fn);
    if (!g->arena || !peaks)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t d = 0; s == EMBCL_OK && d < rt->n_devices; d++) {
        s = pack(g, bufs, nb, &rt->devices[d], 0, &peaks[d]);
        size_t limit = embcl_device_max_alloc(&rt->devices[d]) / ALIGN * ALIGN;
        if (s == EMBCL_OK && peaks[d] > limit) {
            g->arena[d].chunk = limit ? limit : ALIGN;
            s = pack(g, bufs, nb, &rt->devices[d], g->arena[d].chunk, &peaks[d]);
        }
        g->mem.planned_peak_bytes += peaks[d];
    }
    /* Arenas are made here so that graph_alloc only hands out views. */
    for (size_t d = 0; s == EMBCL_OK && d < rt->n_devices; d++) {
        if (!peaks[d])
            continue;
        graph_arena *a = &g->arena[d];
        a->n = a->chunk ? (peaks[d] + a->chunk - 1) / a->chunk : 1;
        a->part = embcl_calloc(a->n, sizeof *a->part, fn);
        if (!a->part)
            s = EMBCL_ERR_OUT_OF_MEMORY;
        for (size_t i = 0; s == EMBCL_OK && i < a->n; i++) {
            size_t bytes = a->chunk ? peaks[d] - i * a->chunk : peaks[d];
            if (a->chunk && bytes > a->chunk)
                bytes = a->chunk;
            int64_t n = (int64_t)(bytes / sizeof(float));
            s = embcl_tensor_new(&rt->devices[d], EMBCL_F32, 1, &n, fn, &a->part[i]);
        }
    }
    free(peaks);
    free(bufs);
    return s;
}

/* A tensor over `base`'s buffer at byte offset `off`, shaped like v. */
static embcl_status view_at(struct embcl_tensor *base, size_t off, const gvalue *v, struct embcl_tensor **out)
{
    static const char *fn = "embcl_graph_compile";
    struct embcl_tensor *t = embcl_calloc(1, sizeof *t, fn);
    if (!t)
        return EMBCL_ERR_OUT_OF_MEMORY;
    t->dev = base->dev;
    t->buf = base->buf;
    embcl_buffer_retain(t->buf);
    t->dtype = v->dtype;
    t->offset = base->offset * embcl_dtype_size(base->dtype) / embcl_dtype_size(v->dtype) +
                off / embcl_dtype_size(v->dtype);
    t->ndim = v->ndim;
    memcpy(t->shape, v->shape, sizeof t->shape);
    t->cols = (size_t)v->shape[v->ndim - 1];
    t->rows = t->cols ? (size_t)graph_numel(v) / t->cols : 0;
    t->ld = t->cols;
    *out = t;
    return EMBCL_OK;
}

/* The tensor of v at arena offset off: a view into its chunk, or a buffer of
 * its own (GRAPH_OWN_BUFFER). */
static embcl_status arena_value(struct embcl_graph *g, size_t off, const gvalue *v, struct embcl_tensor **out)
{
    static const char *fn = "embcl_graph_compile";
    if (off == GRAPH_OWN_BUFFER)
        return embcl_tensor_new(v->dev, v->dtype, v->ndim, v->shape, fn, out);
    graph_arena *a = &g->arena[v->dev->index];
    size_t c = a->chunk ? off / a->chunk : 0;
    return view_at(a->part[c], a->chunk ? off % a->chunk : off, v, out);
}

/* A column view [c0, c1) of a 2-D tensor, as a heap tensor sharing memory. */
static embcl_status cols_of(struct embcl_tensor *t, int64_t c0, int64_t c1, struct embcl_tensor **out)
{
    return embcl_tensor_view_cols(t, c0, c1, out);
}

embcl_status graph_alloc(struct embcl_graph *g)
{
    static const char *fn = "embcl_graph_compile";
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; s == EMBCL_OK && i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind == GVAL_INPUT && v->split < 0) {
            s = embcl_tensor_new(v->dev, v->dtype, v->ndim, v->shape, fn, &v->tensor);
            if (s == EMBCL_OK)
                g->mem.input_bytes += embcl_tensor_buffer_bytes(v->tensor);
        } else if (v->kind == GVAL_PARAM && v->ext_grad) {
            s = embcl_tensor_reshape(v->ext_grad, v->ndim, v->shape, &v->grad);
        } else if (v->kind == GVAL_PARAM && v->sparse_grad) {
            s = embcl_rowsparse_create(v->dev, v->shape[0], v->shape[1], v->sparse_cap, &v->sgrad);
            if (s == EMBCL_OK)
                g->mem.param_grad_bytes += (uint64_t)v->sparse_cap * (uint64_t)(v->shape[1] * 4 + 8);
        } else if (v->kind == GVAL_PARAM && v->needs_grad) {
            s = embcl_tensor_new(v->dev, EMBCL_F32, v->ndim, v->shape, fn, &v->grad);
            if (s == EMBCL_OK)
                g->mem.param_grad_bytes += embcl_tensor_buffer_bytes(v->grad);
        }
    }
    /* Views of parameters: their columns of the parameter and its gradient. */
    for (size_t i = 0; s == EMBCL_OK && i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind != GVAL_VIEW)
            continue;
        gvalue *b = &g->vals[v->base];
        s = cols_of(b->tensor, v->c0, v->c1, &v->tensor);
        if (s == EMBCL_OK && v->needs_grad)
            s = cols_of(b->grad, v->c0, v->c1, &v->grad);
    }
    /* Node results and their gradients: views into the arenas. */
    for (size_t i = 0; s == EMBCL_OK && i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind != GVAL_NODE || !v->live)
            continue;
        int r = root(g, (int)i);
        gvalue *rv = &g->vals[r];
        if (rv->kind == GVAL_NODE && rv->off == GRAPH_OWN_BUFFER && r != (int)i) {
            /* in place on (or a detach of) a value with its own buffer */
            s = embcl_tensor_reshape(rv->tensor, v->ndim, v->shape, &v->tensor);
        } else if (rv->kind == GVAL_NODE) {
            s = arena_value(g, rv->off, v, &v->tensor);
        } else if (embcl_tensor_is_split(rv->tensor)) { /* detach of a split table: a view keeps its parts */
            s = embcl_tensor_is_contiguous(rv->tensor)
                    ? embcl_tensor_reshape(rv->tensor, v->ndim, v->shape, &v->tensor)
                    : embcl_tensor_view_cols(rv->tensor, 0, (int64_t)rv->tensor->cols, &v->tensor);
        } else { /* detach of a parameter or input: the same memory */
            s = view_at(rv->tensor, 0, v, &v->tensor);
            if (s == EMBCL_OK && !embcl_tensor_is_contiguous(rv->tensor)) {
                embcl_tensor_free(v->tensor);
                v->tensor = NULL;
                s = embcl_tensor_view_cols(rv->tensor, 0, (int64_t)rv->tensor->cols, &v->tensor);
            }
        }
        if (s == EMBCL_OK && v->needs_grad)
            s = arena_value(g, v->goff, v, &v->grad);
    }
    return s;
}

void graph_release_memory(struct embcl_graph *g)
{
    for (size_t i = 0; i < g->n_vals; i++) {
        gvalue *v = &g->vals[i];
        if (v->kind != GVAL_PARAM) {
            embcl_tensor_free(v->tensor);
            v->tensor = NULL;
        }
        embcl_tensor_free(v->grad);
        v->grad = NULL;
        embcl_rowsparse_free(v->sgrad);
        v->sgrad = NULL;
    }
    if (g->arena)
        for (size_t d = 0; d < g->rt->n_devices; d++) {
            graph_arena *a = &g->arena[d];
            for (size_t i = 0; i < a->n; i++)
                embcl_tensor_free(a->part[i]);
            free(a->part);
            memset(a, 0, sizeof *a);
        }
}
