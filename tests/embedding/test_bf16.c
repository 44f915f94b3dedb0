/* bf16 tables (include/embcl/bf16.h) against tests/data/embedding/bf16.ref:
 * f32 -> bf16 rounding bit for bit with torch's .to(torch.bfloat16), on the
 * host and on the device; Embedding / EmbeddingBag (sum, mean, max,
 * per_sample_weights, padding, include_last_offset, 2-D input) on a bf16
 * table within rel 1e-5 of PyTorch's float32 ops on the bf16-rounded table;
 * table-batched bags over bf16 tables;
 * the backward passes' f32 gradients; init and from_pretrained; safetensors
 * "BF16" round trips; and the named errors of what bf16 does not take. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;
static ref_file *ref;

static void setup(void)
{
    emb_suite_open(&rt, &dev);
    ref = ref_load(ref_path("embedding/bf16.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    emb_suite_close(rt, dev);
}

TestSuite(bf16, .init = setup, .fini = teardown);

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static embcl_tensor_t new_tensor(embcl_dtype dt, int ndim, const int64_t *shape)
{
    embcl_tensor_t t = NULL;
    TEST_OK(embcl_tensor_create(dev, dt, ndim, shape, &t));
    return t;
}

static uint16_t *download_bf16(embcl_tensor_t t)
{
    size_t n = (size_t)embcl_tensor_numel(t);
    uint16_t *h = malloc((n ? n : 1) * sizeof *h);
    TEST_OK(embcl_tensor_download(t, h, n * sizeof *h));
    return h;
}

/* The case's f32 weight converted on the device, its bits checked against
 * torch's rounding. */
static embcl_tensor_t bf16_table(const ref_case *c)
{
    const ref_tensor *wt = ref_tensor_need(c, "weight"), *bits = ref_tensor_need(c, "weight_bits");
    embcl_tensor_t f = emb_upload(dev, wt);
    embcl_tensor_t b = new_tensor(EMBCL_BF16, 2, wt->shape);
    TEST_OK(embcl_tensor_convert(b, f));
    uint16_t *h = download_bf16(b);
    for (int64_t i = 0; i < bits->numel; i++)
        cr_assert_eq(h[i], (uint16_t)bits->i64[i], "%s: weight[%lld] rounds to 0x%04x, torch 0x%04x", c->name,
                     (long long)i, h[i], (unsigned)bits->i64[i]);
    free(h);
    embcl_tensor_free(f);
    return b;
}

Test(bf16, dtype_is_two_bytes_named_bf16)
{
    cr_assert_str_eq(embcl_dtype_name(EMBCL_BF16), "bf16");
    cr_assert_eq(embcl_dtype_size(EMBCL_BF16), 2);
    int64_t shape[2] = {3, 5};
    embcl_tensor_t t = new_tensor(EMBCL_BF16, 2, shape);
    uint16_t in[15], out[15];
    for (int i = 0; i < 15; i++)
        in[i] = (uint16_t)(0x3f80 + 37 * i);
    TEST_OK(embcl_tensor_upload(t, in, sizeof in));
    TEST_OK(embcl_tensor_download(t, out, sizeof out));
    cr_assert_eq(memcmp(in, out, sizeof in), 0);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_upload(t, in, 15 * sizeof(float)), "bf16 tensor holds 30 bytes");
    /* a column view moves as a rectangle of 2-byte elements */
    embcl_tensor_t v;
    TEST_OK(embcl_tensor_view_cols(t, 1, 3, &v));
    uint16_t cols[6];
    TEST_OK(embcl_tensor_download(v, cols, sizeof cols));
    for (int r = 0; r < 3; r++)
        cr_assert(cols[2 * r] == in[5 * r + 1] && cols[2 * r + 1] == in[5 * r + 2], "row %d of the view", r);
    TEST_OK(embcl_tensor_fill(v, 0.1));
    TEST_OK(embcl_tensor_download(t, out, sizeof out));
    uint16_t tenth;
    float f = 0.1f;
    TEST_OK(embcl_bf16_from_f32(&f, &tenth, 1));
    cr_assert_eq(tenth, 0x3dcd); /* 0x3dcccccd rounds up */
    for (int i = 0; i < 15; i++)
        cr_assert_eq(out[i], (i % 5 == 1 || i % 5 == 2) ? tenth : in[i], "element %d after fill", i);
    embcl_tensor_free(v);
    embcl_tensor_free(t);
}

Test(bf16, conversions_match_torch_rounding_bit_for_bit)
{
    const ref_case *c = ref_case_get(ref, "convert");
    cr_assert_not_null(c);
    const ref_tensor *x = ref_tensor_need(c, "x"), *bits = ref_tensor_need(c, "bits");
    size_t n = (size_t)x->numel;
    uint16_t *host = malloc(n * sizeof *host);
    TEST_OK(embcl_bf16_from_f32(x->f32, host, n));
    embcl_tensor_t f = emb_upload(dev, x), b = new_tensor(EMBCL_BF16, 1, x->shape);
    embcl_tensor_t back = new_tensor(EMBCL_F32, 1, x->shape);
    TEST_OK(embcl_tensor_convert(b, f));
    uint16_t *devb = download_bf16(b);
    TEST_OK(embcl_tensor_convert(back, b));
    float *devf = emb_download_f32(back), *hostf = malloc(n * sizeof *hostf);
    TEST_OK(embcl_bf16_to_f32(host, hostf, n));
    for (size_t i = 0; i < n; i++) {
        uint16_t want = (uint16_t)bits->i64[i];
        cr_assert_eq(host[i], want, "host: x[%zu] = %a (0x%08x) -> 0x%04x, torch 0x%04x", i, (double)x->f32[i],
                     f_bits(x->f32[i]), host[i], want);
        cr_assert_eq(devb[i], want, "device: x[%zu] = %a -> 0x%04x, torch 0x%04x", i, (double)x->f32[i], devb[i],
                     want);
        cr_assert_eq(f_bits(devf[i]), (uint32_t)want << 16, "device bf16 -> f32 of 0x%04x", want);
        cr_assert_eq(f_bits(hostf[i]), (uint32_t)want << 16, "host bf16 -> f32 of 0x%04x", want);
    }
    /* NaN stays NaN, sign kept, whatever its payload */
    float nans[4] = {bits_f(0x7fc00000u), bits_f(0xffc00000u), bits_f(0x7f800001u), bits_f(0x7fffffffu)};
    uint16_t hn[4], dn[4];
    TEST_OK(embcl_bf16_from_f32(nans, hn, 4));
    int64_t four = 4;
    embcl_tensor_t nf = new_tensor(EMBCL_F32, 1, &four), nb = new_tensor(EMBCL_BF16, 1, &four);
    TEST_OK(embcl_tensor_upload(nf, nans, sizeof nans));
    TEST_OK(embcl_tensor_convert(nb, nf));
    TEST_OK(embcl_tensor_download(nb, dn, sizeof dn));
    for (int i = 0; i < 4; i++) {
        cr_assert(isnan(bits_f((uint32_t)hn[i] << 16)), "host: NaN %d became 0x%04x", i, hn[i]);
        cr_assert_eq(dn[i], hn[i], "device and host differ on NaN %d", i);
        cr_assert_eq(hn[i] >> 15, f_bits(nans[i]) >> 31, "NaN %d lost its sign", i);
    }
    free(host);
    free(hostf);
    free(devb);
    free(devf);
    embcl_tensor_free(f);
    embcl_tensor_free(b);
    embcl_tensor_free(back);
    embcl_tensor_free(nf);
    embcl_tensor_free(nb);
}

typedef struct bcase {
    const ref_case *c;
    embcl_embedding_options o;
    embcl_tensor_t w, idx, offs, psw, out, mpos;
    embcl_bags bags;
    int64_t V, D, B;
} bcase;

static void open_bag(bcase *k, const ref_case *c)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->o = emb_case_options(c);
    const ref_tensor *wt = ref_tensor_need(c, "weight");
    k->V = wt->shape[0];
    k->D = wt->shape[1];
    k->B = ref_tensor_need(c, "grad_out")->shape[0];
    k->w = bf16_table(c);
    k->idx = emb_upload(dev, ref_tensor_need(c, "indices"));
    if (ref_tensor_get(c, "offsets"))
        k->offs = emb_upload(dev, ref_tensor_get(c, "offsets"));
    if (ref_tensor_get(c, "per_sample_weights"))
        k->psw = emb_upload(dev, ref_tensor_get(c, "per_sample_weights"));
    k->bags = (embcl_bags){k->idx, k->offs, k->psw};
    k->out = emb_zeros(dev, k->B, k->D);
    if (k->o.mode == EMBCL_BAG_MAX) {
        int64_t shape[2] = {k->B, k->D};
        k->mpos = new_tensor(EMBCL_I32, 2, shape);
    }
}

static void close_bag(bcase *k)
{
    embcl_tensor_free(k->w);
    embcl_tensor_free(k->idx);
    embcl_tensor_free(k->offs);
    embcl_tensor_free(k->psw);
    embcl_tensor_free(k->out);
    embcl_tensor_free(k->mpos);
}

static int is_bag(const ref_case *c) { return strncmp(c->name, "bag_", 4) == 0; }
static int is_emb(const ref_case *c) { return strncmp(c->name, "emb", 3) == 0; }

Test(bf16, bag_forward_matches_pytorch_on_the_rounded_table)
{
    int seen = 0;
    for (int i = 0; i < ref->n_cases; i++) {
        if (!is_bag(&ref->cases[i]))
            continue;
        bcase k;
        open_bag(&k, &ref->cases[i]);
        TEST_OK(embcl_embedding_bag(k.w, &k.bags, &k.o, k.out, k.mpos));
        char what[192];
        snprintf(what, sizeof what, "%s: out", k.c->name);
        emb_expect_f32(k.out, ref_tensor_need(k.c, "out"), 1e-5, 1e-6, what);
        if (k.mpos) {
            const ref_tensor *want = ref_tensor_need(k.c, "max_indices"), *it = ref_tensor_need(k.c, "indices");
            size_t n = (size_t)(k.B * k.D);
            int32_t *pos = malloc(n * sizeof *pos);
            TEST_OK(embcl_tensor_download(k.mpos, pos, n * sizeof *pos));
            for (size_t e = 0; e < n; e++)
                if (pos[e] >= 0)
                    cr_assert_eq(it->i64[pos[e]], want->i64[e], "%s: max row of element %zu", k.c->name, e);
            free(pos);
        }
        close_bag(&k);
        seen++;
    }
    cr_assert_geq(seen, 8);
}

Test(bf16, bag_backward_gives_f32_gradients)
{
    for (int i = 0; i < ref->n_cases; i++) {
        if (!is_bag(&ref->cases[i]))
            continue;
        bcase k;
        open_bag(&k, &ref->cases[i]);
        TEST_OK(embcl_embedding_bag(k.w, &k.bags, &k.o, k.out, k.mpos));
        embcl_tensor_t g = emb_upload(dev, ref_tensor_need(k.c, "grad_out"));
        const ref_tensor *want_psw = ref_tensor_get(k.c, "grad_psw");
        char what[192];
        for (int path = 0; path < 2; path++) {
            embcl_tensor_t gw = emb_zeros(dev, k.V, k.D), gp = want_psw ? emb_upload(dev, want_psw) : NULL;
            k.o.scatter = path ? EMBCL_SCATTER_ATOMIC : EMBCL_SCATTER_DETERMINISTIC;
            TEST_OK(embcl_embedding_bag_backward(g, k.w, &k.bags, k.mpos, k.V, &k.o, gw, NULL, gp));
            snprintf(what, sizeof what, "%s: grad_weight (%s)", k.c->name, path ? "atomic" : "deterministic");
            emb_expect_f32(gw, ref_tensor_need(k.c, "grad_weight"), 1e-4, 1e-6, what);
            if (gp) {
                snprintf(what, sizeof what, "%s: grad_psw (reads the bf16 table)", k.c->name);
                emb_expect_f32(gp, want_psw, 1e-4, 1e-6, what);
            }
            embcl_tensor_free(gw);
            embcl_tensor_free(gp);
        }
        if (k.o.mode != EMBCL_BAG_MAX) {
            embcl_rowsparse_t gs;
            TEST_OK(embcl_rowsparse_create(dev, k.V, k.D, k.V, &gs));
            k.o.sparse = 1;
            TEST_OK(embcl_embedding_bag_backward(g, k.w, &k.bags, NULL, k.V, &k.o, NULL, gs, NULL));
            embcl_tensor_t dense = emb_zeros(dev, k.V, k.D);
            TEST_OK(embcl_rowsparse_to_dense(gs, dense, 0));
            snprintf(what, sizeof what, "%s: row-sparse gradient", k.c->name);
            emb_expect_f32(dense, ref_tensor_need(k.c, "grad_weight"), 1e-4, 1e-6, what);
            embcl_tensor_free(dense);
            embcl_rowsparse_free(gs);
        }
        embcl_tensor_free(g);
        close_bag(&k);
    }
}

Test(bf16, embedding_forward_and_backward_match_pytorch)
{
    int seen = 0;
    for (int i = 0; i < ref->n_cases; i++) {
        const ref_case *c = &ref->cases[i];
        if (!is_emb(c))
            continue;
        embcl_embedding_options o = emb_case_options(c);
        embcl_tensor_t w = bf16_table(c), idx = emb_upload(dev, ref_tensor_need(c, "indices"));
        const ref_tensor *want = ref_tensor_need(c, "out");
        embcl_tensor_t out = new_tensor(EMBCL_F32, want->ndim, want->shape);
        TEST_OK(embcl_embedding(w, idx, &o, out));
        char what[192];
        snprintf(what, sizeof what, "%s: out", c->name);
        emb_expect_f32(out, want, 1e-5, 0.0, what);
        embcl_tensor_t g = emb_upload(dev, ref_tensor_need(c, "grad_out"));
        embcl_tensor_t gw = emb_zeros(dev, embcl_tensor_dim(w, 0), embcl_tensor_dim(w, 1));
        TEST_OK(embcl_embedding_backward(g, idx, embcl_tensor_dim(w, 0), &o, gw, NULL));
        snprintf(what, sizeof what, "%s: grad_weight", c->name);
        emb_expect_f32(gw, ref_tensor_need(c, "grad_weight"), 1e-4, 1e-6, what);
        embcl_tensor_free(w);
        embcl_tensor_free(idx);
        embcl_tensor_free(out);
        embcl_tensor_free(g);
        embcl_tensor_free(gw);
        seen++;
    }
    cr_assert_eq(seen, 2);
}

Test(bf16, init_and_from_pretrained_round_the_f32_values)
{
    int64_t V = 37, D = 19, shape[2] = {V, D};
    embcl_tensor_t w = new_tensor(EMBCL_BF16, 2, shape);
    TEST_OK(embcl_embedding_init_normal(w, 99, -3));
    size_t n = (size_t)(V * D);
    float *f = malloc(n * sizeof *f);
    uint16_t *want = malloc(n * sizeof *want);
    TEST_OK(embcl_embedding_normal_host(99, 0, V, D, f));
    for (int64_t c = 0; c < D; c++)
        f[(V - 3) * D + c] = 0.0f;
    TEST_OK(embcl_bf16_from_f32(f, want, n));
    uint16_t *got = download_bf16(w);
    cr_assert_eq(memcmp(got, want, n * sizeof *got), 0, "init_normal on bf16 is not the rounded f32 init");
    free(got);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)i * 1.000123f - 300.0f;
    TEST_OK(embcl_bf16_from_f32(f, want, n));
    int frozen = -1;
    TEST_OK(embcl_embedding_from_pretrained(w, f, 1, &frozen));
    cr_assert_eq(frozen, 1);
    got = download_bf16(w);
    cr_assert_eq(memcmp(got, want, n * sizeof *got), 0, "from_pretrained on bf16 is not the rounded data");
    free(got);
    free(f);
    free(want);
    embcl_tensor_free(w);
}

Test(bf16, safetensors_round_trip_is_bit_exact)
{
    uint16_t data[6 * 4];
    for (int i = 0; i < 24; i++)
        data[i] = (uint16_t)(0xbf80 + 97 * i);
    char *dir = test_tempdir("bf16-st");
    char path[1024];
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    embcl_st_tensor t = {"embedding.weight", EMBCL_BF16, 2, {6, 4}, data};
    TEST_OK(embcl_safetensors_save(path, &t, 1, NULL, NULL, 0));
    /* the header names it as safetensors.torch does for torch.bfloat16 */
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    char head[256] = {0};
    size_t got = fread(head, 1, sizeof head - 1, fp);
    fclose(fp);
    cr_assert_gt(got, 8);
    cr_assert_not_null(strstr(head + 8, "\"dtype\":\"BF16\""), "header: %s", head + 8);
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(path, &st));
    embcl_st_info info;
    TEST_OK(embcl_safetensors_find(st, "embedding.weight", &info));
    cr_assert_eq(info.dtype, EMBCL_BF16);
    cr_assert_str_eq(info.dtype_name, "BF16");
    cr_assert_eq(info.nbytes, sizeof data);
    uint16_t back[24];
    int64_t shape[2] = {6, 4};
    TEST_OK(embcl_safetensors_read(st, "embedding.weight", EMBCL_BF16, 2, shape, back, sizeof back));
    cr_assert_eq(memcmp(back, data, sizeof data), 0);
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_safetensors_read(st, "embedding.weight", EMBCL_F32, 2, shape, back, sizeof back),
               "is BF16, not f32");
    embcl_safetensors_close(st);
    /* and through a device table */
    embcl_tensor_t w = new_tensor(EMBCL_BF16, 2, shape);
    TEST_OK(embcl_tensor_upload(w, back, sizeof back));
    memset(back, 0, sizeof back);
    TEST_OK(embcl_tensor_download(w, back, sizeof back));
    cr_assert_eq(memcmp(back, data, sizeof data), 0);
    embcl_tensor_free(w);
    remove(path);
    remove(dir);
    free(dir);
}

/* TBE over bf16 tables: the f32 call on the same (rounded) values, within
 * float tolerance (the same sums in the same order). */
Test(bf16, table_batched_bags_read_bf16_tables)
{
    enum { T = 3, B = 4 };
    int64_t Vt[T] = {20, 7, 30}, Dt[T] = {8, 3, 16};
    embcl_tensor_t wb[T], wf[T];
    for (int t = 0; t < T; t++) {
        int64_t shape[2] = {Vt[t], Dt[t]};
        wb[t] = new_tensor(EMBCL_BF16, 2, shape);
        wf[t] = new_tensor(EMBCL_F32, 2, shape);
        TEST_OK(embcl_embedding_init_normal(wb[t], 5 + (uint64_t)t, EMBCL_PADDING_NONE));
        TEST_OK(embcl_tensor_convert(wf[t], wb[t]));
    }
    int64_t lens[T * B] = {2, 0, 3, 1, 4, 2, 1, 1, 3, 3, 0, 2}, n = 0, offs[T * B];
    int64_t idx[64];
    for (int g = 0; g < T * B; g++) {
        offs[g] = n;
        for (int64_t j = 0; j < lens[g]; j++, n++)
            idx[n] = (n * 7 + 3) % Vt[g / B];
    }
    int64_t nb = T * B, oshape[2] = {B, 8 + 3 + 16};
    embcl_tensor_t ti = new_tensor(EMBCL_I64, 1, &n), to = new_tensor(EMBCL_I64, 1, &nb);
    TEST_OK(embcl_tensor_upload(ti, idx, (size_t)n * sizeof *idx));
    TEST_OK(embcl_tensor_upload(to, offs, sizeof offs));
    embcl_bags bags = {ti, to, NULL};
    embcl_tensor_t ob = new_tensor(EMBCL_F32, 2, oshape), of = new_tensor(EMBCL_F32, 2, oshape);
    for (int mode = 0; mode < 2; mode++) {
        embcl_embedding_options o = embcl_embedding_options_default();
        o.mode = mode ? EMBCL_BAG_MEAN : EMBCL_BAG_SUM;
        TEST_OK(embcl_embedding_bag_tables(T, wb, &bags, &o, ob));
        TEST_OK(embcl_embedding_bag_tables(T, wf, &bags, &o, of));
        float *a = emb_download_f32(ob), *b = emb_download_f32(of);
        test_assert_close(a, b, (size_t)(B * oshape[1]), 1e-6, 0.0,
                          mode ? "mean over bf16 tables" : "sum over bf16 tables");
        free(a);
        free(b);
    }
    for (int t = 0; t < T; t++) {
        embcl_tensor_free(wb[t]);
        embcl_tensor_free(wf[t]);
    }
    embcl_tensor_free(ti);
    embcl_tensor_free(to);
    embcl_tensor_free(ob);
    embcl_tensor_free(of);
}

Test(bf16, what_bf16_does_not_take_is_refused_by_name)
{
    int64_t shape[2] = {8, 4}, n = 3;
    embcl_tensor_t w = new_tensor(EMBCL_BF16, 2, shape), f = new_tensor(EMBCL_F32, 2, shape);
    embcl_tensor_t i32 = new_tensor(EMBCL_I32, 2, shape), idx = new_tensor(EMBCL_I64, 1, &n);
    int64_t small[2] = {8, 3};
    embcl_tensor_t narrow = new_tensor(EMBCL_F32, 2, small);
    TEST_OK(embcl_tensor_fill(w, 0.5));
    TEST_OK(embcl_tensor_fill(idx, 1.0));
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_tensor_convert(w, i32), "embcl_tensor_convert", "i32", "bf16");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_convert(narrow, w), "embcl_tensor_convert", "[8, 3]");
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_tensor_copy(f, w), "embcl_tensor_copy");
    /* out is f32 */
    int64_t oshape[2] = {3, 4};
    embcl_tensor_t out_bf16 = new_tensor(EMBCL_BF16, 2, oshape), out = new_tensor(EMBCL_F32, 2, oshape);
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_embedding(w, idx, NULL, out_bf16), "embcl_embedding", "'out'", "bf16");
    /* max_norm would round the table again in place */
    embcl_embedding_options o = embcl_embedding_options_default();
    o.max_norm = 0.1;
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding(w, idx, &o, out), "embcl_embedding", "max_norm", "bf16");
    uint16_t *h = download_bf16(w);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(h[i], 0x3f00, "the refused call wrote the table");
    free(h);
    /* the tables of one table-batched call share a dtype */
    embcl_tensor_t offs = new_tensor(EMBCL_I64, 1, &n);
    int64_t o3[3] = {0, 1, 2};
    TEST_OK(embcl_tensor_upload(offs, o3, sizeof o3));
    embcl_bags bags = {idx, offs, NULL};
    embcl_embedding_options ob = embcl_embedding_options_default();
    embcl_tensor_t mixed[2] = {f, w};
    int64_t wide_shape[2] = {3, 8};
    embcl_tensor_t wide = new_tensor(EMBCL_F32, 2, wide_shape);
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_embedding_bag_tables(2, mixed, &bags, &ob, wide), "embcl_embedding_bag_tables",
               "weights[1]", "bf16", "f32");
    embcl_tensor_free(wide);
    embcl_tensor_free(w);
    embcl_tensor_free(f);
    embcl_tensor_free(i32);
    embcl_tensor_free(idx);
    embcl_tensor_free(narrow);
    embcl_tensor_free(out_bf16);
    embcl_tensor_free(out);
    embcl_tensor_free(offs);
}

/* A bf16 table split over buffers (past the allocation limit) is refused by
 * the ops and optimizers, naming the argument, rather than read as one
 * buffer: the split kernels take float tables only for now. */
Test(bf16, split_bf16_tables_are_refused_by_name)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.max_alloc_bytes = 4096;
    embcl_runtime_t small = test_runtime_with(&o);
    embcl_device_t d = test_device(small);
    int64_t shape[2] = {256, 16}, n = 3; /* 8 KiB of bf16: 2 parts */
    embcl_tensor_t w, idx, out;
    TEST_OK(embcl_tensor_create(d, EMBCL_BF16, 2, shape, &w));
    TEST_OK(embcl_tensor_create(d, EMBCL_I64, 1, &n, &idx));
    int64_t oshape[2] = {3, 16};
    TEST_OK(embcl_tensor_create(d, EMBCL_F32, 2, oshape, &out));
    TEST_OK(embcl_tensor_fill(w, 0.5));
    TEST_OK(embcl_tensor_fill(idx, 1.0));
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding(w, idx, NULL, out), "embcl_embedding", "'weight'", "split");
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(d, EMBCL_OPTIM_SGD, NULL, &opt));
    cr_assert_neq(embcl_optim_add_param(opt, 0, w, "emb", NULL), EMBCL_OK, "a split bf16 parameter was taken");
    cr_assert(strstr(embcl_last_error(), "param") != NULL, "%s", embcl_last_error());
    embcl_optim_free(opt);
    embcl_tensor_free(w);
    embcl_tensor_free(idx);
    embcl_tensor_free(out);
    embcl_runtime_free(small);
}
