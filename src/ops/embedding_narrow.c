/* The backward of narrow bags to a row-sparse gradient without sorting the
 * indices (kernels/bag_narrow.cl explains the kernels). At D = 16 the
 * sorted path spent as long grouping the indices (a radix sort, 6 kernels)
 * as summing the rows; here the upload's facts already know which values
 * occur (so each value's row: its rank) and which repeat, and only the
 * repeated values' positions are grouped. Same ids and bits as the sorted
 * path: a value seen once gets 0 + f * g, a repeated one sums its
 * positions in index order from 0, as seg_reduce does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/tuning.h"
#include "ops/embedding_narrow.h"
#include "ops/rowsparse_impl.h"

int emb_narrow_bwd_applies(struct embcl_tensor *g, const emb_bags *eb, const emb_opts *o, int mode, int64_t V)
{
    size_t D = g->cols;
    if (D == 0 || eb->B == 0 || mode == EMBCL_BAG_MAX || o->o.scale_grad_by_freq ||
        (long long)D > embcl_tune_get(g->dev, "bag_bwd.NARROW_MAX_D", 0))
        return 0;
    const embcl_index_facts *f = embcl_tensor_facts(eb->idx, 1);
    if (!f || !f->seen || !f->dup || f->min < 0 || f->max >= V || eb->n >= (cl_ulong)INT32_MAX / 4)
        return 0;
    /* the host builds a word table per call: no bigger than the batch */
    uint64_t words = ((uint64_t)(f->max - f->min) >> 6) + 1;
    return words <= eb->n;
}

/* 64 bits of a facts bitmap (bit j: value min + 64 w + j). */
static uint64_t word_at(const unsigned char *bm, size_t bytes, uint64_t w)
{
    uint64_t x = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (w * 8 + 8 <= bytes) {
        memcpy(&x, bm + w * 8, 8);
        return x;
    }
#endif
    for (size_t j = 0; j < 8 && w * 8 + j < bytes; j++)
        x |= (uint64_t)bm[w * 8 + j] << (8 * j);
    return x;
}

/* kernels/bag_narrow.cl's word table, padding left out. One body, built
 * twice: the x86-64 baseline has no popcount instruction, and the
 * library's call to count bits took 3x as long (~60 us a call at V = 1M). */
#define BUILD_WORDS_BODY                                                                           \
    size_t bytes = (size_t)((f->max - f->min + 1 + 7) / 8);                                        \
    int has_pad = pad >= f->min && pad <= f->max;                                                  \
    uint64_t pw = has_pad ? (uint64_t)(pad - f->min) >> 6 : 0;                                     \
    uint64_t pm = has_pad ? (uint64_t)1 << ((pad - f->min) & 63) : 0;                              \
    uint64_t rank = 0, rep = 0;                                                                    \
    for (uint64_t w = 0; w < nwords; w++) {                                                        \
        uint64_t seen = word_at(f->seen, bytes, w), dup = word_at(f->dup, bytes, w);               \
        if (w == pw) {                                                                             \
            seen &= ~pm;                                                                           \
            dup &= ~pm;                                                                            \
        }                                                                                          \
        wt[3 * w] = seen;                                                                          \
        wt[3 * w + 1] = dup;                                                                       \
        wt[3 * w + 2] = rank | rep << 32;                                                          \
        rank += (uint64_t)__builtin_popcountll(seen);                                              \
        rep += (uint64_t)__builtin_popcountll(dup);                                                \
    }

static void build_words_plain(const embcl_index_facts *f, int64_t pad, uint64_t *wt, uint64_t nwords)
{
    BUILD_WORDS_BODY
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_POPCNT_BUILD 1
__attribute__((target("popcnt"))) static void build_words_popcnt(const embcl_index_facts *f, int64_t pad,
                                                                 uint64_t *wt, uint64_t nwords)
{
    BUILD_WORDS_BODY
}
#endif

static void build_words(const embcl_index_facts *f, int64_t pad, uint64_t *wt, uint64_t nwords)
{
#ifdef HAVE_POPCNT_BUILD
    if (__builtin_cpu_supports("popcnt")) {
        build_words_popcnt(f, pad, wt, nwords);
        return;
    }
#endif
    build_words_plain(f, pad, wt, nwords);
}

static void CL_CALLBACK free_host(cl_event ev, cl_int status, void *p)
{
    (void)ev;
    (void)status;
    free(p);
}

/* Enqueue a copy of host (malloc'd, now owned here) into t without waiting:
 * it is freed once the copy is done. */
static embcl_status upload_owned(struct embcl_tensor *t, void *host, size_t bytes, const char *fn)
{
    struct embcl_device *dev = t->dev;
    cl_event ev;
    embcl_tensor_written(t);
    cl_int err = clEnqueueWriteBuffer(dev->queue, t->buf->mem, CL_FALSE, t->offset * embcl_dtype_size(t->dtype),
                                      bytes, host, 0, NULL, &ev);
    if (err != CL_SUCCESS) {
        free(host);
        return embcl_cl_check(err, fn, "clEnqueueWriteBuffer");
    }
    if (clSetEventCallback(ev, CL_COMPLETE, free_host, host) != CL_SUCCESS) {
        clWaitForEvents(1, &ev); /* no callback: wait, then free */
        free(host);
    }
    clReleaseEvent(ev);
    return EMBCL_OK;
}

typedef struct narrow_call {
    struct embcl_tensor *g;
    const emb_bags *eb;
    const emb_opts *o;
    struct embcl_rowsparse *sp;
    struct embcl_tensor *wt, *small, *ent, *fbag, *rec, *sorted;
    cl_ulong nwords;
    cl_long vmin;
    cl_uint groups, ndv;
    cl_ulong per;
    char defs[160];
    int mode;
    const char *fn;
} narrow_call;

static embcl_status kernel(narrow_call *c, const char *name, size_t nargs, const embcl_karg *a, cl_kernel *k)
{
    EMBCL_TRY(embcl_kernel_get(c->g->dev, "bag_narrow", c->defs, name, k));
    return embcl_kernel_set_args(*k, name, nargs, a);
}

static embcl_status launch_groups(narrow_call *c, cl_kernel k, const char *name, size_t groups)
{
    size_t one = 1;
    return embcl_kernel_launch(c->g->dev, k, name, 1, &groups, &one, NULL);
}

static embcl_status run_bags(narrow_call *c)
{
    const emb_bags *eb = c->eb;
    cl_kernel k;
    cl_ulong i_off = eb->idx->offset, o_off = emb_off(eb->offs), base = eb->base, n_offs = eb->n_offs;
    cl_ulong fixed_l = eb->fixed_l, n = eb->n, B = eb->B, p_off = emb_off(eb->psw);
    cl_long pad = c->o->pad;
    cl_int mode = c->mode;
    cl_mem om = emb_mem(eb->offs), pm = emb_mem(eb->psw), rm = emb_mem(c->rec), fm = emb_mem(c->fbag);
    embcl_karg a[] = {EMBCL_KARG(eb->idx->buf->mem), EMBCL_KARG(i_off), EMBCL_KARG(om), EMBCL_KARG(o_off),
                      EMBCL_KARG(base), EMBCL_KARG(n_offs), EMBCL_KARG(fixed_l), EMBCL_KARG(n), EMBCL_KARG(B),
                      EMBCL_KARG(c->per), EMBCL_KARG(pm), EMBCL_KARG(p_off), EMBCL_KARG(pad), EMBCL_KARG(mode),
                      EMBCL_KARG(c->wt->buf->mem), EMBCL_KARG(c->vmin), EMBCL_KARG(c->ent->buf->mem),
                      EMBCL_KARG(fm), EMBCL_KARG(rm), EMBCL_KARG(c->small->buf->mem), EMBCL_KARG(c->ndv)};
    EMBCL_TRY(kernel(c, "nar_bags", sizeof a / sizeof a[0], a, &k));
    return launch_groups(c, k, "nar_bags", c->groups);
}

/* The repeated values' positions to their slots. */
static embcl_status run_repeats(narrow_call *c)
{
    cl_kernel k;
    cl_mem sm = c->small->buf->mem;
    embcl_karg sa[] = {EMBCL_KARG(sm), EMBCL_KARG(c->groups), EMBCL_KARG(c->ndv)};
    EMBCL_TRY(kernel(c, "nar_dup_scan", 3, sa, &k));
    EMBCL_TRY(launch_groups(c, k, "nar_dup_scan", 1));
    embcl_karg pa[] = {EMBCL_KARG(c->rec->buf->mem), EMBCL_KARG(sm), EMBCL_KARG(c->ndv),
                       EMBCL_KARG(c->sorted->buf->mem), EMBCL_KARG(c->ent->buf->mem)};
    EMBCL_TRY(kernel(c, "nar_dup_place", 5, pa, &k));
    return launch_groups(c, k, "nar_dup_place", c->groups);
}

static embcl_status run_rows(narrow_call *c)
{
    cl_kernel k;
    cl_ulong cu = c->g->dev->info.compute_units ? c->g->dev->info.compute_units : 1;
    cl_ulong items = 16 * cu < c->nwords ? 16 * cu : c->nwords;
    cl_ulong per = (c->nwords + items - 1) / items;
    items = (c->nwords + per - 1) / per;
    cl_ulong g_off = c->g->offset, g_ld = c->g->ld, ids_off = c->sp->ids->offset, d_off = c->sp->values->offset;
    cl_mem sm = emb_mem(c->sorted), fm = emb_mem(c->fbag);
    embcl_karg a[] = {EMBCL_KARG(c->wt->buf->mem), EMBCL_KARG(c->nwords), EMBCL_KARG(per), EMBCL_KARG(c->vmin),
                      EMBCL_KARG(c->ent->buf->mem), EMBCL_KARG(fm), EMBCL_KARG(sm), EMBCL_KARG(c->small->buf->mem),
                      EMBCL_KARG(c->groups), EMBCL_KARG(c->ndv), EMBCL_KARG(c->g->buf->mem), EMBCL_KARG(g_off),
                      EMBCL_KARG(g_ld), EMBCL_KARG(c->sp->ids->buf->mem), EMBCL_KARG(ids_off),
                      EMBCL_KARG(c->sp->values->buf->mem), EMBCL_KARG(d_off)};
    EMBCL_TRY(kernel(c, "nar_rows", sizeof a / sizeof a[0], a, &k));
    return launch_groups(c, k, "nar_rows", (size_t)items);
}

static embcl_status new_tensor(struct embcl_device *dev, embcl_dtype t, int64_t n, const char *fn,
                               struct embcl_tensor **out)
{
    return embcl_tensor_new(dev, t, 1, &n, fn, out);
}

static embcl_status run(narrow_call *c, const embcl_index_facts *f, int64_t nnz)
{
    struct embcl_device *dev = c->g->dev;
    const emb_bags *eb = c->eb;
    int64_t n = (int64_t)eb->n, G = c->groups, ndv = c->ndv;
    EMBCL_TRY(new_tensor(dev, EMBCL_I64, (int64_t)(3 * c->nwords), c->fn, &c->wt));
    EMBCL_TRY(new_tensor(dev, EMBCL_I32, G * ndv + 2 * G + ndv + 1, c->fn, &c->small));
    EMBCL_TRY(new_tensor(dev, EMBCL_I32, (eb->psw ? 2 : 1) * nnz, c->fn, &c->ent));
    if (!eb->psw && c->mode == EMBCL_BAG_MEAN)
        EMBCL_TRY(new_tensor(dev, EMBCL_F32, (int64_t)eb->B, c->fn, &c->fbag));
    if (ndv > 0) {
        EMBCL_TRY(new_tensor(dev, EMBCL_I32, 4 * n, c->fn, &c->rec));
        /* positions of repeated values: all but those of the values seen once */
        EMBCL_TRY(new_tensor(dev, EMBCL_I32, 2 * (n - (nnz - ndv)), c->fn, &c->sorted));
    }
    size_t wbytes = (size_t)(3 * c->nwords) * sizeof(uint64_t);
    uint64_t *wt = malloc(wbytes);
    if (!wt)
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, c->fn, "cannot allocate %zu bytes for the index word table",
                           wbytes);
    build_words(f, c->o->pad, wt, c->nwords);
    EMBCL_TRY(upload_owned(c->wt, wt, wbytes, c->fn));
    EMBCL_TRY(run_bags(c));
    if (ndv > 0)
        EMBCL_TRY(run_repeats(c));
    return run_rows(c);
}

embcl_status emb_narrow_bwd(struct embcl_tensor *g, const emb_bags *eb, const emb_opts *o, int mode,
                            embcl_rowsparse_t sparse, const char *fn)
{
    struct embcl_device *dev = g->dev;
    const embcl_index_facts *f = embcl_tensor_facts(eb->idx, 1);
    int pad_seen = o->pad >= 0 && embcl_index_facts_has(f, o->pad);
    int pad_rep = pad_seen && ((f->dup[(o->pad - f->min) >> 3] >> ((o->pad - f->min) & 7)) & 1);
    int64_t nnz = f->distinct - pad_seen;
    EMBCL_TRY(embcl_rowsparse_set_nnz(sparse, nnz, fn));
    if (nnz == 0)
        return EMBCL_OK;
    narrow_call c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.eb = eb;
    c.o = o;
    c.sp = sparse;
    c.fn = fn;
    c.mode = mode;
    c.nwords = ((cl_ulong)(f->max - f->min) >> 6) + 1;
    c.vmin = f->min;
    c.ndv = (cl_uint)(f->dup_values - pad_rep);
    /* Chunks of consecutive bags, a few per compute unit: the chunks' count
     * columns (one per repeated value each) stay small. */
    cl_ulong cu = dev->info.compute_units ? dev->info.compute_units : 1;
    cl_ulong want = 4 * cu < eb->B ? 4 * cu : eb->B;
    c.per = (eb->B + want - 1) / want;
    c.groups = (cl_uint)((eb->B + c.per - 1) / c.per);
    emb_tune t = emb_tune_for(dev, "bag_bwd");
    snprintf(c.defs, sizeof c.defs, "-DIDX_T=%s -DOFF_T=%s -DND=%zu -DVW=%lld -DES=%d -DPF_AHEAD=%lld",
             eb->idx->dtype == EMBCL_I32 ? "int" : "long",
             eb->offs && eb->offs->dtype == EMBCL_I32 ? "int" : "long", g->cols, t.vw, eb->psw ? 2 : 1,
             embcl_tune_get(dev, "bag_bwd.NARROW_PF", 0));
    embcl_status s = run(&c, f, nnz);
    embcl_tensor_free(c.wt);
    embcl_tensor_free(c.small);
    embcl_tensor_free(c.ent);
    embcl_tensor_free(c.fbag);
    embcl_tensor_free(c.rec);
    embcl_tensor_free(c.sorted);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}
