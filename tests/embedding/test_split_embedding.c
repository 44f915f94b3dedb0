/* Embedding and EmbeddingBag over a table split by rows (a forced 16 KiB
 * allocation limit: 5 parts of 256 rows, the last 176) give the same bits as
 * over the unsplit table: initialisation, the gather and every pooling mode,
 * renormalisation, and the backward into dense (deterministic and atomic),
 * row-sparse and per_sample_weights gradients, into whole tables and into
 * column views of a wider one. */
#include <stdlib.h>
#include <string.h>

#include "split_pair.h"

static split_pair P;

static void setup(void)
{
    split_pair_open(&P);
}

static void teardown(void)
{
    split_pair_close(&P);
}

TestSuite(split_embedding, .init = setup, .fini = teardown);

#define V SPLIT_V
#define D 16
#define W 20   /* the wide table: columns [2, 2 + D) are the view */
#define N 240  /* positions */
#define NB 40  /* bags */
#define PAD 700

/* One side's inputs: the table (or a column view of a wide one), indices
 * naming rows of every part (the parts' first and last rows included, duplicates, padding), offsets with an empty bag, weights, and a
 * gradient of the bags. */
typedef struct side {
    embcl_tensor_t table, wide, idx, offs, psw, gbag, gpos;
} side;

static int64_t idx_host[N], offs_host[NB];
static float psw_host[N], gbag_host[NB * D], gpos_host[N * D], table_host[V * W];

static void make_host(void)
{
    unsigned s = 7;
    static const int64_t edges[] = {0, 255, 256, 511, 512, 1023, 1024, 1199, PAD};
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        idx_host[i] = i < 27 ? edges[i % 9] : (int64_t)((s >> 8) % V);
    }
    for (int b = 0; b < NB; b++)
        offs_host[b] = b == 3 ? offs_host[2] : b * N / NB; /* bag 2 is empty */
    split_fill_random(psw_host, N, 11);
    split_fill_random(gbag_host, NB * D, 12);
    split_fill_random(gpos_host, N * D, 13);
    split_fill_random(table_host, V * W, 14);
}

static side make_side(embcl_device_t dev, int view)
{
    side x = {0};
    if (view) {
        x.wide = split_f32(dev, V, W, table_host);
        TEST_OK(embcl_tensor_view_cols(x.wide, 2, 2 + D, &x.table));
    } else {
        float *h = malloc(V * D * sizeof *h);
        for (int r = 0; r < V; r++)
            memcpy(h + r * D, table_host + r * W, D * sizeof *h);
        x.table = split_f32(dev, V, D, h);
        free(h);
    }
    x.idx = split_i64(dev, N, idx_host);
    x.offs = split_i64(dev, NB, offs_host);
    int64_t n = N;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, &n, &x.psw));
    TEST_OK(embcl_tensor_upload(x.psw, psw_host, sizeof psw_host));
    x.gbag = split_f32(dev, NB, D, gbag_host);
    x.gpos = split_f32(dev, N, D, gpos_host);
    return x;
}

static void free_side(side *x)
{
    embcl_tensor_free(x->table);
    embcl_tensor_free(x->wide);
    embcl_tensor_free(x->idx);
    embcl_tensor_free(x->offs);
    embcl_tensor_free(x->psw);
    embcl_tensor_free(x->gbag);
    embcl_tensor_free(x->gpos);
}

static void make_pair(side s[2], int view)
{
    make_host();
    for (int i = 0; i < 2; i++)
        s[i] = make_side(P.dev[i], view);
    cr_assert(!split_is_split(s[WHOLE].table) && split_is_split(s[SPLIT].table),
              "the split side's table should be split, the other not");
}

Test(split_embedding, init_normal_gives_the_same_samples)
{
    for (int view = 0; view < 2; view++) {
        side s[2];
        make_pair(s, view);
        for (int i = 0; i < 2; i++)
            TEST_OK(embcl_embedding_init_normal(s[i].table, 1234, PAD));
        split_expect_same(s[WHOLE].table, s[SPLIT].table, view ? "init_normal of a column view" : "init_normal");
        if (view)
            split_expect_same(s[WHOLE].wide, s[SPLIT].wide, "the wide table around the initialised view");
        for (int i = 0; i < 2; i++)
            free_side(&s[i]);
    }
}

Test(split_embedding, gather_and_renorm)
{
    for (int view = 0; view < 2; view++) {
        side s[2];
        make_pair(s, view);
        embcl_tensor_t out[2];
        for (int pass = 0; pass < 2; pass++) {
            embcl_embedding_options o = embcl_embedding_options_default();
            o.padding_idx = PAD;
            if (pass)
                o.max_norm = 1.5;
            for (int i = 0; i < 2; i++) {
                out[i] = split_f32(P.dev[i], N, D, NULL);
                TEST_OK(embcl_embedding(s[i].table, s[i].idx, &o, out[i]));
            }
            split_expect_same(out[WHOLE], out[SPLIT], pass ? "gather with max_norm" : "gather");
            split_expect_same(s[WHOLE].table, s[SPLIT].table, "the table after the gather");
            for (int i = 0; i < 2; i++)
                embcl_tensor_free(out[i]);
        }
        for (int i = 0; i < 2; i++)
            free_side(&s[i]);
    }
}

/* Gathering every row (the trainer's SparseAdam path reads the rows the
 * decoder touches so) writes an output as large as the table: split too. */
Test(split_embedding, gather_into_a_split_output)
{
    side s[2];
    make_pair(s, 1);
    int64_t *all = malloc(V * sizeof *all);
    for (int r = 0; r < V; r++)
        all[r] = V - 1 - r;
    embcl_tensor_t out[2];
    for (int i = 0; i < 2; i++) {
        embcl_tensor_t idx = split_i64(P.dev[i], V, all);
        out[i] = split_f32(P.dev[i], V, D, NULL);
        TEST_OK(embcl_embedding(s[i].table, idx, NULL, out[i]));
        embcl_tensor_free(idx);
    }
    cr_assert(split_is_split(out[SPLIT]));
    split_expect_same(out[WHOLE], out[SPLIT], "every row gathered, reversed");
    for (int i = 0; i < 2; i++) {
        embcl_tensor_free(out[i]);
        free_side(&s[i]);
    }
    free(all);
}

Test(split_embedding, bag_forward_every_mode)
{
    side s[2];
    make_pair(s, 1);
    static const char *names[] = {"bag sum", "bag mean", "bag max", "bag sum with per_sample_weights"};
    for (int m = 0; m < 4; m++) {
        embcl_embedding_options o = embcl_embedding_options_default();
        o.mode = m == 3 ? EMBCL_BAG_SUM : (embcl_bag_mode)m;
        o.padding_idx = PAD;
        embcl_tensor_t out[2], mpos[2] = {NULL, NULL};
        for (int i = 0; i < 2; i++) {
            embcl_bags b = {s[i].idx, s[i].offs, m == 3 ? s[i].psw : NULL};
            out[i] = split_f32(P.dev[i], NB, D, NULL);
            if (m == EMBCL_BAG_MAX) {
                int64_t shape[2] = {NB, D};
                TEST_OK(embcl_tensor_create(P.dev[i], EMBCL_I32, 2, shape, &mpos[i]));
            }
            TEST_OK(embcl_embedding_bag(s[i].table, &b, &o, out[i], mpos[i]));
        }
        split_expect_same(out[WHOLE], out[SPLIT], names[m]);
        if (mpos[0])
            split_expect_same(mpos[WHOLE], mpos[SPLIT], "bag max positions");
        for (int i = 0; i < 2; i++) {
            embcl_tensor_free(out[i]);
            embcl_tensor_free(mpos[i]);
        }
    }
    for (int i = 0; i < 2; i++)
        free_side(&s[i]);
}

/* The bag backward of one configuration into dense gradients (a whole
 * [V, D] one, or a column view of a [V, W] one, as the train model's
 * table gradient), on both sides, compared. */
static void bag_backward_dense(side s[2], embcl_bag_mode mode, embcl_scatter path, int with_psw, int freq,
                               int into_view, const char *what)
{
    embcl_tensor_t gw[2], gwide[2] = {NULL, NULL}, dpsw[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        embcl_embedding_options o = embcl_embedding_options_default();
        o.mode = mode;
        o.padding_idx = PAD;
        o.scatter = path;
        o.scale_grad_by_freq = freq;
        embcl_bags b = {s[i].idx, s[i].offs, with_psw ? s[i].psw : NULL};
        embcl_tensor_t mpos = NULL, out = NULL;
        if (mode == EMBCL_BAG_MAX) {
            int64_t shape[2] = {NB, D};
            TEST_OK(embcl_tensor_create(P.dev[i], EMBCL_I32, 2, shape, &mpos));
            out = split_f32(P.dev[i], NB, D, NULL);
            TEST_OK(embcl_embedding_bag(s[i].table, &b, &o, out, mpos));
        }
        if (into_view) {
            gwide[i] = split_f32(P.dev[i], V, W, table_host);
            TEST_OK(embcl_tensor_view_cols(gwide[i], 2, 2 + D, &gw[i]));
        } else {
            gw[i] = split_f32(P.dev[i], V, D, table_host); /* accumulated into */
        }
        if (with_psw) {
            int64_t n = N;
            TEST_OK(embcl_tensor_create(P.dev[i], EMBCL_F32, 1, &n, &dpsw[i]));
        }
        TEST_OK(embcl_embedding_bag_backward(s[i].gbag, s[i].table, &b, mpos, V, &o, gw[i], NULL, dpsw[i]));
        embcl_tensor_free(mpos);
        embcl_tensor_free(out);
    }
    cr_assert(split_is_split(gw[SPLIT]));
    split_expect_same(gw[WHOLE], gw[SPLIT], what);
    if (into_view)
        split_expect_same(gwide[WHOLE], gwide[SPLIT], "the wide gradient around the view");
    if (with_psw)
        split_expect_same(dpsw[WHOLE], dpsw[SPLIT], "the per_sample_weights gradient");
    for (int i = 0; i < 2; i++) {
        embcl_tensor_free(gw[i]);
        embcl_tensor_free(gwide[i]);
        embcl_tensor_free(dpsw[i]);
    }
}

Test(split_embedding, bag_backward_dense_deterministic)
{
    side s[2];
    make_pair(s, 1);
    for (int v = 0; v < 2; v++) {
        bag_backward_dense(s, EMBCL_BAG_SUM, EMBCL_SCATTER_DETERMINISTIC, 0, 0, v, "bag sum backward");
        bag_backward_dense(s, EMBCL_BAG_MEAN, EMBCL_SCATTER_DETERMINISTIC, 0, 0, v, "bag mean backward");
        bag_backward_dense(s, EMBCL_BAG_MAX, EMBCL_SCATTER_DETERMINISTIC, 0, 0, v, "bag max backward");
        bag_backward_dense(s, EMBCL_BAG_SUM, EMBCL_SCATTER_DETERMINISTIC, 1, 0, v, "bag psw backward");
        bag_backward_dense(s, EMBCL_BAG_MEAN, EMBCL_SCATTER_DETERMINISTIC, 0, 1, v, "bag mean freq backward");
    }
    for (int i = 0; i < 2; i++)
        free_side(&s[i]);
}

Test(split_embedding, bag_backward_dense_atomic)
{
    /* Unique indices: each element gets one atomic add, so the order of
     * the adds cannot change the bits on either side. */
    side s[2];
    make_host();
    for (int i = 0; i < N; i++)
        idx_host[i] = (int64_t)((i * 7) % V);
    for (int i = 0; i < 2; i++)
        s[i] = make_side(P.dev[i], 0);
    bag_backward_dense(s, EMBCL_BAG_MEAN, EMBCL_SCATTER_ATOMIC, 0, 0, 0, "atomic bag mean backward");
    bag_backward_dense(s, EMBCL_BAG_MAX, EMBCL_SCATTER_ATOMIC, 0, 0, 1, "atomic bag max backward into a view");
    bag_backward_dense(s, EMBCL_BAG_SUM, EMBCL_SCATTER_ATOMIC, 1, 1, 0, "atomic bag psw freq backward");
    for (int i = 0; i < 2; i++)
        free_side(&s[i]);
}

Test(split_embedding, embedding_backward_dense_and_sparse)
{
    side s[2];
    make_pair(s, 0);
    embcl_tensor_t gw[2], dense[2], ids[2], vals[2];
    embcl_rowsparse_t gs[2];
    for (int i = 0; i < 2; i++) {
        embcl_embedding_options o = embcl_embedding_options_default();
        o.padding_idx = PAD;
        gw[i] = split_f32(P.dev[i], V, D, NULL);
        TEST_OK(embcl_embedding_backward(s[i].gpos, s[i].idx, V, &o, gw[i], NULL));
        o.sparse = 1;
        TEST_OK(embcl_rowsparse_create(P.dev[i], V, D, V, &gs[i]));
        TEST_OK(embcl_embedding_backward(s[i].gpos, s[i].idx, V, &o, NULL, gs[i]));
        TEST_OK(embcl_rowsparse_ids(gs[i], &ids[i]));
        TEST_OK(embcl_rowsparse_values(gs[i], &vals[i]));
        dense[i] = split_f32(P.dev[i], V, D, NULL);
        TEST_OK(embcl_rowsparse_to_dense(gs[i], dense[i], 0));
        TEST_OK(embcl_rowsparse_to_dense(gs[i], dense[i], 1));
    }
    split_expect_same(gw[WHOLE], gw[SPLIT], "embedding backward, dense");
    cr_assert_eq(embcl_rowsparse_nnz(gs[WHOLE]), embcl_rowsparse_nnz(gs[SPLIT]));
    split_expect_same(ids[WHOLE], ids[SPLIT], "row-sparse ids");
    split_expect_same(vals[WHOLE], vals[SPLIT], "row-sparse values");
    split_expect_same(dense[WHOLE], dense[SPLIT], "row-sparse to a split dense gradient");
    /* freezing rows and columns of a split dense gradient */
    int64_t frozen[] = {0, 255, 256, 1199};
    for (int i = 0; i < 2; i++)
        TEST_OK(embcl_grad_freeze(gw[i], frozen, 4, 5, 9));
    split_expect_same(gw[WHOLE], gw[SPLIT], "a frozen split gradient");
    for (int i = 0; i < 2; i++) {
        embcl_tensor_free(gw[i]);
        embcl_tensor_free(dense[i]);
        embcl_tensor_free(ids[i]);
        embcl_tensor_free(vals[i]);
        embcl_rowsparse_free(gs[i]);
        free_side(&s[i]);
    }
}

Test(split_embedding, ops_that_take_no_split_tables_say_so)
{
    side s[2];
    make_pair(s, 0);
    embcl_tensor_t w[1] = {s[SPLIT].table}, out = split_f32(P.dev[SPLIT], NB, D, NULL);
    embcl_bags b = {s[SPLIT].idx, s[SPLIT].offs, NULL};
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding_bag_tables(1, w, &b, NULL, out), "embcl_embedding_bag_tables",
               "weights[0]", "5 buffers");
    embcl_tensor_free(out);
    for (int i = 0; i < 2; i++)
        free_side(&s[i]);
}
