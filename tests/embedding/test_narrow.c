/* The narrow backward to a row-sparse gradient (src/ops/embedding_narrow.c,
 * kernels/bag_narrow.cl) gives the sorted path's nnz, ids and value bits:
 * one runtime takes it (bag_bwd.NARROW_MAX_D=64), another is kept off it
 * (=1), and both run the same calls at every width the path serves, with
 * the index patterns that steer its kernels: values seen once (their own
 * rows), repeated values (the counting sort; heavy repeats), padding seen
 * once and repeated, per_sample_weights, mean, empty and all-padding bags,
 * i32 and i64 indices and offsets, include_last_offset, 2-D input, plain
 * Embedding, values from a minimum above 0 across 64-value words. Each
 * result is also checked against a host sum in index order (D = 1 has no
 * off runtime to compare with), and each call is checked to take the path. */
#include <stdlib.h>
#include <string.h>

#include "ops/embedding_impl.h"
#include "ops/embedding_narrow.h"
#include "test_util.h"

static embcl_runtime_t rt_on, rt_off;
static embcl_device_t dev_on, dev_off;

static void setup(void)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "bag_bwd.NARROW_MAX_D=64";
    rt_on = test_runtime_with(&o);
    dev_on = test_device(rt_on);
    o.tuning = "bag_bwd.NARROW_MAX_D=1";
    rt_off = test_runtime_with(&o);
    dev_off = test_device(rt_off);
}

static void teardown(void)
{
    test_expect_no_tensors(dev_on);
    test_expect_no_tensors(dev_off);
    embcl_runtime_free(rt_on);
    embcl_runtime_free(rt_off);
}

TestSuite(narrow, .init = setup, .fini = teardown);

typedef struct ncase {
    const char *name;
    int64_t V, D, B, n;
    int64_t lo, span;  /* values lo + [0, span) */
    int64_t pad;       /* padding_idx or -1: drawn at every 5th position, or */
    int pad_once;      /* only at position 5 */
    int psw, mean, idx32, off32, last, two_d, plain;
    int empty;         /* every 7th bag empty */
    int allpad;        /* bag 3 holds only padding */
} ncase;

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct host_data {
    int64_t *idx, *offs; /* offs: B + 1 entries, offs[B] = n */
    float *psw, *g;
} host_data;

static void make_data(const ncase *c, host_data *h)
{
    h->idx = malloc((size_t)c->n * sizeof *h->idx);
    h->offs = malloc((size_t)(c->B + 1) * sizeof *h->offs);
    h->psw = malloc((size_t)c->n * sizeof *h->psw);
    h->g = malloc((size_t)(c->B * c->D) * sizeof *h->g);
    for (int64_t i = 0; i < c->n; i++) {
        uint64_t z = mix((uint64_t)i * 31 + (uint64_t)c->D);
        h->idx[i] = c->lo + (int64_t)(z % (uint64_t)c->span);
        if (c->pad >= 0 && !c->pad_once && z % 5 == 0)
            h->idx[i] = c->pad;
        h->psw[i] = (float)(mix((uint64_t)i + 7) >> 40) * (1.0f / 16777216.0f) - 0.25f;
    }
    /* word edges: the first values of a word and its last */
    if (c->n > 4 && c->span > 130) {
        h->idx[0] = c->lo + 63;
        h->idx[1] = c->lo + 64;
        h->idx[2] = c->lo + 127;
        h->idx[3] = c->lo;
    }
    if (c->pad_once && c->n > 5)
        h->idx[5] = c->pad;
    int64_t L = c->n / c->B;
    for (int64_t b = 0; b <= c->B; b++)
        h->offs[b] = b * L;
    h->offs[c->B] = c->n;
    if (c->empty)
        for (int64_t b = 1; b < c->B; b++)
            if (b % 7 == 0)
                h->offs[b] = h->offs[b - 1];
    if (c->allpad && c->B > 4)
        for (int64_t p = h->offs[3]; p < h->offs[4]; p++)
            h->idx[p] = c->pad;
    for (int64_t i = 0; i < c->B * c->D; i++)
        h->g[i] = (float)(mix((uint64_t)i + 99) >> 40) * (1.0f / 16777216.0f) - 0.5f;
}

static void free_data(host_data *h)
{
    free(h->idx);
    free(h->offs);
    free(h->psw);
    free(h->g);
}

static embcl_tensor_t upload_ints(embcl_device_t dev, const int64_t *v, int64_t n, int i32, int ndim,
                                  const int64_t *shape)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, i32 ? EMBCL_I32 : EMBCL_I64, ndim, shape, &t));
    if (i32) {
        int32_t *w = malloc((size_t)n * sizeof *w + 1);
        for (int64_t i = 0; i < n; i++)
            w[i] = (int32_t)v[i];
        TEST_OK(embcl_tensor_upload(t, w, (size_t)n * sizeof *w));
        free(w);
    } else {
        TEST_OK(embcl_tensor_upload(t, v, (size_t)n * sizeof *v));
    }
    return t;
}

typedef struct result {
    int64_t nnz;
    int64_t *ids;
    float *vals;
} result;

static embcl_embedding_options case_options(const ncase *c)
{
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = c->mean ? EMBCL_BAG_MEAN : EMBCL_BAG_SUM;
    o.sparse = 1;
    o.include_last_offset = c->last;
    if (c->pad >= 0)
        o.padding_idx = c->pad;
    return o;
}

/* The backward on dev; narrow: whether the call must take the narrow path. */
static result run(embcl_device_t dev, const ncase *c, const host_data *h, int narrow)
{
    int64_t n = c->n, B = c->B, gs[2] = {c->plain ? n : B, c->D};
    int64_t ishape[2] = {c->two_d ? B : n, c->two_d ? n / B : 1};
    embcl_tensor_t idx = upload_ints(dev, h->idx, n, c->idx32, c->two_d ? 2 : 1, ishape), offs = NULL, psw = NULL;
    if (!c->two_d && !c->plain) {
        int64_t no = B + (c->last ? 1 : 0);
        offs = upload_ints(dev, h->offs, no, c->off32, 1, &no);
    }
    if (c->psw) {
        TEST_OK(embcl_tensor_create(dev, EMBCL_F32, c->two_d ? 2 : 1, ishape, &psw));
        TEST_OK(embcl_tensor_upload(psw, h->psw, (size_t)n * sizeof(float)));
    }
    embcl_tensor_t g = test_tensor_f32(dev, 2, gs, c->plain ? NULL : h->g);
    if (c->plain) { /* a bag of one per index: row p of g */
        float *gp = malloc((size_t)(n * c->D) * sizeof *gp);
        for (int64_t i = 0; i < n * c->D; i++)
            gp[i] = h->g[i % (B * c->D)];
        TEST_OK(embcl_tensor_upload(g, gp, (size_t)(n * c->D) * sizeof *gp));
        free(gp);
    }
    embcl_embedding_options o = case_options(c);
    embcl_bags bags = {idx, offs, psw};
    /* which path the call takes */
    emb_opts eo;
    emb_bags eb;
    TEST_OK(emb_opts_resolve(&o, c->V, "test", &eo));
    TEST_OK(emb_bags_resolve(&bags, &eo, c->plain, "test", &eb));
    int mode = c->plain ? EMBCL_BAG_SUM : (int)eo.o.mode;
    cr_assert_eq(emb_narrow_bwd_applies(g, &eb, &eo, mode, c->V), narrow, "%s D=%lld: narrow path %s", c->name,
                 (long long)c->D, narrow ? "not taken" : "taken");
    embcl_rowsparse_t sp;
    TEST_OK(embcl_rowsparse_create(dev, c->V, c->D, n, &sp));
    TEST_OK(embcl_rowsparse_zero(sp));
    if (c->plain)
        TEST_OK(embcl_embedding_backward(g, idx, c->V, &o, NULL, sp));
    else
        TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, c->V, &o, NULL, sp, NULL));
    result r;
    r.nnz = embcl_rowsparse_nnz(sp);
    r.ids = malloc((size_t)r.nnz * sizeof *r.ids + 1);
    r.vals = malloc((size_t)(r.nnz * c->D) * sizeof *r.vals + 1);
    embcl_tensor_t ti, tv;
    TEST_OK(embcl_rowsparse_ids(sp, &ti));
    TEST_OK(embcl_rowsparse_values(sp, &tv));
    TEST_OK(embcl_tensor_download(ti, r.ids, (size_t)r.nnz * sizeof *r.ids));
    TEST_OK(embcl_tensor_download(tv, r.vals, (size_t)(r.nnz * c->D) * sizeof *r.vals));
    embcl_tensor_free(ti);
    embcl_tensor_free(tv);
    embcl_rowsparse_free(sp);
    embcl_tensor_free(g);
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
    embcl_tensor_free(psw);
    return r;
}

/* The gradient on the host: per row, its positions' shares in index order. */
static void check_host(const ncase *c, const host_data *h, const result *r)
{
    int64_t D = c->D;
    float *dense = calloc((size_t)(c->V * D), sizeof *dense);
    char *hit = calloc((size_t)c->V, 1);
    for (int64_t b = 0; b < c->B; b++) {
        int64_t s = c->plain ? b : h->offs[b], e = c->plain ? b + 1 : h->offs[b + 1];
        if (c->plain && b >= c->n)
            break;
        int cnt = 0;
        for (int64_t p = s; p < e; p++)
            cnt += h->idx[p] != c->pad;
        float f = c->mean && cnt > 1 ? 1.0f / (float)cnt : 1.0f;
        for (int64_t p = s; p < e; p++) {
            int64_t v = h->idx[p];
            if (v == c->pad)
                continue;
            hit[v] = 1;
            float fp = c->psw ? h->psw[p] * f : f;
            for (int64_t j = 0; j < D; j++)
                dense[v * D + j] += fp * h->g[(c->plain ? p % c->B : b) * D + j];
        }
    }
    int64_t want = 0;
    for (int64_t v = 0; v < c->V; v++)
        want += hit[v];
    cr_assert_eq(r->nnz, want, "%s D=%lld: nnz %lld, host %lld", c->name, (long long)D, (long long)r->nnz,
                 (long long)want);
    float *got = malloc((size_t)(want * D) * sizeof *got + 1), *ref = malloc((size_t)(want * D) * sizeof *ref + 1);
    int64_t k = 0;
    for (int64_t v = 0; v < c->V; v++) {
        if (!hit[v])
            continue;
        cr_assert_eq(r->ids[k], v, "%s D=%lld: id %lld is %lld, host %lld", c->name, (long long)D, (long long)k,
                     (long long)r->ids[k], (long long)v);
        memcpy(ref + k * D, dense + v * D, (size_t)D * sizeof *ref);
        memcpy(got + k * D, r->vals + k * D, (size_t)D * sizeof *got);
        k++;
    }
    test_assert_close(got, ref, (size_t)(want * D), 1e-5, 1e-6, c->name);
    free(got);
    free(ref);
    free(dense);
    free(hit);
}

static void check_case(ncase c, const int64_t *widths, int nw)
{
    for (int i = 0; i < nw; i++) {
        c.D = widths[i];
        host_data h;
        make_data(&c, &h);
        result on = run(dev_on, &c, &h, 1);
        check_host(&c, &h, &on);
        if (c.D > 1) {
            result off = run(dev_off, &c, &h, 0);
            cr_assert_eq(on.nnz, off.nnz, "%s D=%lld: nnz %lld vs sorted %lld", c.name, (long long)c.D,
                         (long long)on.nnz, (long long)off.nnz);
            cr_assert(memcmp(on.ids, off.ids, (size_t)on.nnz * sizeof *on.ids) == 0, "%s D=%lld: ids differ",
                      c.name, (long long)c.D);
            cr_assert(memcmp(on.vals, off.vals, (size_t)(on.nnz * c.D) * sizeof *on.vals) == 0,
                      "%s D=%lld: values differ from the sorted path's bits", c.name, (long long)c.D);
            free(off.ids);
            free(off.vals);
        }
        free(on.ids);
        free(on.vals);
        free_data(&h);
    }
}

static const int64_t widths[] = {1, 3, 8, 16, 24, 32, 64};
#define NW ((int)(sizeof widths / sizeof widths[0]))

Test(narrow, few_repeats_sum)
{
    ncase c = {.name = "few repeats", .V = 100000, .B = 128, .n = 2560, .lo = 0, .span = 100000, .pad = -1};
    check_case(c, widths, NW);
}

Test(narrow, heavy_repeats_mean_padding_empty_bags)
{
    ncase c = {.name = "heavy repeats, mean, padding, empty bags", .V = 300, .B = 200, .n = 4000, .lo = 0,
               .span = 40, .pad = 7, .mean = 1, .empty = 1, .allpad = 1};
    check_case(c, widths, NW);
}

Test(narrow, psw_padding_once_i32_last_offset)
{
    /* padding once, past the other values: the largest value is padding */
    ncase c = {.name = "psw, i32, include_last_offset", .V = 5000, .B = 64, .n = 1280, .lo = 100, .span = 200,
               .pad = 310, .pad_once = 1, .psw = 1, .idx32 = 1, .off32 = 1, .last = 1, .empty = 1};
    check_case(c, widths, NW);
}

Test(narrow, min_above_zero_two_d_input)
{
    ncase c = {.name = "2-D input, values from 1000", .V = 4000, .B = 96, .n = 96 * 12, .lo = 1000, .span = 1500,
               .pad = -1, .two_d = 1, .psw = 1};
    check_case(c, widths, NW);
}

Test(narrow, plain_embedding_backward)
{
    ncase c = {.name = "Embedding", .V = 2000, .B = 500, .n = 500, .lo = 0, .span = 700, .pad = 3, .plain = 1};
    check_case(c, widths, NW);
}

/* Where the path does not apply, the call still works (the sorted path). */
Test(narrow, falls_back_beyond_its_reach)
{
    /* a value range of more 64-value words than positions */
    ncase wide = {.name = "wide range", .V = 1000000, .B = 8, .n = 64, .lo = 0, .span = 1000000, .pad = -1};
    wide.D = 16;
    host_data h;
    make_data(&wide, &h);
    result r = run(dev_on, &wide, &h, 0);
    check_host(&wide, &h, &r);
    free(r.ids);
    free(r.vals);
    free_data(&h);
    /* rows wider than bag_bwd.NARROW_MAX_D */
    ncase w65 = {.name = "D=65", .V = 1000, .B = 16, .n = 320, .lo = 0, .span = 1000, .pad = -1};
    w65.D = 65;
    make_data(&w65, &h);
    r = run(dev_on, &w65, &h, 0);
    check_host(&w65, &h, &r);
    free(r.ids);
    free(r.vals);
    free_data(&h);
}

/* The upload's facts the path stands on: which values repeat, and how many. */
Test(narrow, upload_facts_count_repeats)
{
    int64_t v[] = {5, 3, 5, 9, 3, 5, 12, 70}, n = 8;
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev_on, EMBCL_I64, 1, &n, &t));
    TEST_OK(embcl_tensor_upload(t, v, sizeof v));
    const embcl_index_facts *f = embcl_tensor_facts(t, 1);
    cr_assert(f && f->seen && f->dup, "no value bitmaps after an upload");
    cr_assert_eq(f->distinct, 5);
    cr_assert_eq(f->dup_values, 2);
    for (int64_t x = f->min; x <= f->max; x++) {
        int64_t b = x - f->min;
        int rep = (f->dup[b >> 3] >> (b & 7)) & 1;
        cr_assert_eq(rep, x == 3 || x == 5, "value %lld: repeat bit %d", (long long)x, rep);
    }
    /* a device write drops the facts: the narrow path is not taken */
    TEST_OK(embcl_tensor_fill(t, 1.0));
    cr_assert_null(embcl_tensor_facts(t, 1));
    embcl_tensor_free(t);
}
