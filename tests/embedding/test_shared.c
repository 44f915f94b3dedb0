/* Seed problem 4: one table shared by an Embedding and an EmbeddingBag.
 * Their gradients accumulate into one gradient (dense or row-sparse); the
 * bag may read a wider table whose first columns are the Embedding's
 * (a column view, not a copy: an update through the bag changes what the
 * Embedding reads); frozen rows and columns get zero gradient and stay
 * bit-identical through training. Expected values come from a plain C
 * computation over the same host data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;

static void setup(void)
{
    emb_suite_open(&rt, &dev);
}

static void teardown(void)
{
    emb_suite_close(rt, dev);
}

TestSuite(shared, .init = setup, .fini = teardown);

#define V 12
#define D 4 /* the Embedding's columns */
#define E 3 /* the bag's extra columns */
#define W (D + E)

static float table_host[V * W];

static embcl_tensor_t make_table(void)
{
    for (int i = 0; i < V * W; i++)
        table_host[i] = (float)((i * 29) % 17) * 0.125f - 1.0f;
    int64_t s[2] = {V, W};
    return test_tensor_f32(dev, 2, s, table_host);
}

static embcl_tensor_t idx_tensor(int64_t n, const int64_t *v)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &t));
    TEST_OK(embcl_tensor_upload(t, v, (size_t)n * sizeof *v));
    return t;
}

/* Tokens for the Embedding, bags for the bag (sum), gradients of ones. */
static const int64_t tokens[5] = {3, 1, 3, 7, 0};
static const int64_t bag_idx[6] = {1, 2, 3, 3, 9, 1};
static const int64_t bag_offs[2] = {0, 4};

Test(shared, gradients_of_both_ops_accumulate_into_one_dense_gradient)
{
    embcl_tensor_t table = make_table(), emb_w;
    TEST_OK(embcl_tensor_view_cols(table, 0, D, &emb_w)); /* the Embedding's [V, D] */
    embcl_tensor_t tok = idx_tensor(5, tokens), bi = idx_tensor(6, bag_idx), bo = idx_tensor(2, bag_offs);
    embcl_tensor_t gtok = emb_zeros(dev, 5, D), gbag = emb_zeros(dev, 2, W);
    TEST_OK(embcl_tensor_fill(gtok, 1.0));
    TEST_OK(embcl_tensor_fill(gbag, 1.0));
    embcl_tensor_t grad = emb_zeros(dev, V, W), grad_emb;
    TEST_OK(embcl_tensor_view_cols(grad, 0, D, &grad_emb));
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = EMBCL_BAG_SUM;
    embcl_bags bags = {bi, bo, NULL};
    TEST_OK(embcl_embedding_backward(gtok, tok, V, &o, grad_emb, NULL));
    TEST_OK(embcl_embedding_bag_backward(gbag, NULL, &bags, NULL, V, &o, grad, NULL, NULL));
    float want[V * W] = {0};
    for (int i = 0; i < 5; i++)
        for (int c = 0; c < D; c++)
            want[tokens[i] * W + c] += 1.0f;
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < W; c++)
            want[bag_idx[i] * W + c] += 1.0f;
    float *got = emb_download_f32(grad);
    test_assert_close(got, want, V * W, 0, 0, "shared dense gradient");
    free(got);

    /* The same in row-sparse form: two sparse gradients added. */
    embcl_rowsparse_t a, b, sum;
    TEST_OK(embcl_rowsparse_create(dev, V, W, 8, &a));
    TEST_OK(embcl_rowsparse_create(dev, V, W, 8, &b));
    TEST_OK(embcl_rowsparse_create(dev, V, W, 16, &sum));
    o.sparse = 1;
    embcl_tensor_t gtok_w = emb_zeros(dev, 5, W); /* the Embedding's grad widened: zeros past D */
    embcl_tensor_t gtok_d;
    TEST_OK(embcl_tensor_view_cols(gtok_w, 0, D, &gtok_d));
    TEST_OK(embcl_tensor_fill(gtok_d, 1.0));
    TEST_OK(embcl_embedding_backward(gtok_w, tok, V, &o, NULL, a));
    TEST_OK(embcl_embedding_bag_backward(gbag, NULL, &bags, NULL, V, &o, NULL, b, NULL));
    TEST_OK(embcl_rowsparse_add(sum, a, b));
    embcl_tensor_t dense = emb_zeros(dev, V, W);
    TEST_OK(embcl_rowsparse_to_dense(sum, dense, 0));
    got = emb_download_f32(dense);
    test_assert_close(got, want, V * W, 0, 0, "shared row-sparse gradient");
    free(got);
    embcl_rowsparse_free(a);
    embcl_rowsparse_free(b);
    embcl_rowsparse_free(sum);
    embcl_tensor_free(dense);
    embcl_tensor_free(gtok_w);
    embcl_tensor_free(gtok_d);
    embcl_tensor_free(grad_emb);
    embcl_tensor_free(grad);
    embcl_tensor_free(gtok);
    embcl_tensor_free(gbag);
    embcl_tensor_free(tok);
    embcl_tensor_free(bi);
    embcl_tensor_free(bo);
    embcl_tensor_free(emb_w);
    embcl_tensor_free(table);
}

/* An SGD step through the bag's gradient, done by accumulating
 * -lr * grad_out straight into the wide table (the dense backward adds),
 * changes what the Embedding then reads through its column view. */
Test(shared, update_through_the_bag_changes_what_the_embedding_reads)
{
    embcl_tensor_t table = make_table(), emb_w;
    TEST_OK(embcl_tensor_view_cols(table, 0, D, &emb_w));
    cr_assert(embcl_tensor_shares_buffer(table, emb_w));
    embcl_tensor_t tok = idx_tensor(5, tokens), bi = idx_tensor(6, bag_idx), bo = idx_tensor(2, bag_offs);
    embcl_tensor_t before = emb_zeros(dev, 5, D), after = emb_zeros(dev, 5, D), bag_out = emb_zeros(dev, 2, W);
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = EMBCL_BAG_MEAN;
    embcl_bags bags = {bi, bo, NULL};
    TEST_OK(embcl_embedding(emb_w, tok, &o, before));
    TEST_OK(embcl_embedding_bag(table, &bags, &o, bag_out, NULL));
    const float lr = 0.5f;
    embcl_tensor_t g = emb_zeros(dev, 2, W);
    TEST_OK(embcl_tensor_fill(g, -lr)); /* -lr * d(sum of outputs)/d out */
    TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, V, &o, table, NULL, NULL));
    TEST_OK(embcl_embedding(emb_w, tok, &o, after));
    float *hb = emb_download_f32(before), *ha = emb_download_f32(after);
    /* Expected: each row r in the bags moves by -lr * (its count / bag size). */
    float delta[V] = {0};
    for (int i = 0; i < 4; i++)
        delta[bag_idx[i]] += -lr / 4.0f;
    for (int i = 4; i < 6; i++)
        delta[bag_idx[i]] += -lr / 2.0f;
    int changed = 0;
    for (int i = 0; i < 5; i++)
        for (int c = 0; c < D; c++) {
            float want = table_host[tokens[i] * W + c] + delta[tokens[i]];
            cr_assert_float_eq(ha[i * D + c], want, 1e-6, "token %d column %d reads %g, expected %g", i, c,
                               ha[i * D + c], want);
            cr_assert_float_eq(hb[i * D + c], table_host[tokens[i] * W + c], 0);
            changed += ha[i * D + c] != hb[i * D + c];
        }
    cr_assert_gt(changed, 0, "the Embedding reads the same values: the tie is not real");
    free(hb);
    free(ha);
    embcl_tensor_free(g);
    embcl_tensor_free(before);
    embcl_tensor_free(after);
    embcl_tensor_free(bag_out);
    embcl_tensor_free(tok);
    embcl_tensor_free(bi);
    embcl_tensor_free(bo);
    embcl_tensor_free(emb_w);
    embcl_tensor_free(table);
}

/* Several steps of SGD (on the host, from the device gradient) with rows
 * {1, 9} and columns [D, W) frozen: those stay bit-identical, the rest
 * moves. */
Test(shared, frozen_rows_and_columns_stay_bit_identical)
{
    embcl_tensor_t table = make_table();
    embcl_tensor_t bi = idx_tensor(6, bag_idx), bo = idx_tensor(2, bag_offs), g = emb_zeros(dev, 2, W);
    embcl_tensor_t grad = emb_zeros(dev, V, W);
    TEST_OK(embcl_tensor_fill(g, 0.3));
    embcl_embedding_options o = embcl_embedding_options_default();
    embcl_bags bags = {bi, bo, NULL};
    const int64_t frozen_rows[2] = {1, 9};
    float host[V * W];
    memcpy(host, table_host, sizeof host);
    for (int step = 0; step < 3; step++) {
        TEST_OK(embcl_tensor_fill(grad, 0.0));
        TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, V, &o, grad, NULL, NULL));
        TEST_OK(embcl_grad_freeze(grad, frozen_rows, 2, D, W));
        float *gh = emb_download_f32(grad);
        for (int i = 0; i < V * W; i++)
            host[i] -= 0.1f * gh[i];
        free(gh);
        TEST_OK(embcl_tensor_upload(table, host, sizeof host));
    }
    float *now = emb_download_f32(table);
    int moved = 0;
    for (int r = 0; r < V; r++)
        for (int c = 0; c < W; c++) {
            int frozen = r == 1 || r == 9 || c >= D;
            if (frozen)
                cr_assert_eq(memcmp(&now[r * W + c], &table_host[r * W + c], sizeof(float)), 0,
                             "frozen element (%d, %d) changed", r, c);
            else
                moved += now[r * W + c] != table_host[r * W + c];
        }
    cr_assert_gt(moved, 0, "nothing trained");
    free(now);
    int64_t bad = V;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_grad_freeze(grad, &bad, 1, 0, 0), "embcl_grad_freeze", "value 12");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_grad_freeze(grad, NULL, 0, 2, W + 1), "columns [2, 8)");
    embcl_tensor_free(grad);
    embcl_tensor_free(g);
    embcl_tensor_free(bi);
    embcl_tensor_free(bo);
    embcl_tensor_free(table);
}

/* The row-sparse form: the same zeros as the dense freeze, rows kept. */
Test(shared, freezing_a_row_sparse_gradient_matches_the_dense_freeze)
{
    embcl_tensor_t bi = idx_tensor(6, bag_idx), bo = idx_tensor(2, bag_offs), g = emb_zeros(dev, 2, W);
    TEST_OK(embcl_tensor_fill(g, 0.3));
    embcl_embedding_options o = embcl_embedding_options_default();
    embcl_bags bags = {bi, bo, NULL};
    const int64_t frozen_rows[3] = {9, 5, 1}; /* row 5 is not in the gradient */
    embcl_tensor_t dense = emb_zeros(dev, V, W), from_sparse = emb_zeros(dev, V, W);
    TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, V, &o, dense, NULL, NULL));
    TEST_OK(embcl_grad_freeze(dense, frozen_rows, 3, 1, 3));
    embcl_rowsparse_t gs;
    TEST_OK(embcl_rowsparse_create(dev, V, W, 8, &gs));
    o.sparse = 1;
    TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, V, &o, NULL, gs, NULL));
    int64_t nnz = embcl_rowsparse_nnz(gs);
    TEST_OK(embcl_grad_freeze_sparse(gs, frozen_rows, 3, 1, 3));
    cr_assert_eq(embcl_rowsparse_nnz(gs), nnz, "freezing dropped rows");
    TEST_OK(embcl_rowsparse_to_dense(gs, from_sparse, 0));
    float *a = emb_download_f32(dense), *b = emb_download_f32(from_sparse);
    test_assert_close(b, a, V * W, 0, 0, "sparse freeze vs dense freeze");
    int nonzero = 0;
    for (int i = 0; i < V * W; i++)
        nonzero += a[i] != 0.0f;
    cr_assert_gt(nonzero, 0);
    free(a);
    free(b);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_grad_freeze_sparse(gs, NULL, 0, 0, W + 1), "embcl_grad_freeze_sparse",
               "columns [0, 8)");
    embcl_rowsparse_free(gs);
    embcl_tensor_free(dense);
    embcl_tensor_free(from_sparse);
    embcl_tensor_free(g);
    embcl_tensor_free(bi);
    embcl_tensor_free(bo);
}
