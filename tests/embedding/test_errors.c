/* Bad input to Embedding / EmbeddingBag: each case fails with a status and
 * a message naming the function, the argument and the offending value (for
 * an index: its position and value), and leaves the output, the gradient
 * and the table exactly as they were (max_norm would have renormalised the
 * table; the checks run on the device and are read back first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;

#define V 10
#define D 6

static embcl_tensor_t w, out, gw, g;
static float w_host[V * D];

static void setup(void)
{
    emb_suite_open(&rt, &dev);
    for (int i = 0; i < V * D; i++)
        w_host[i] = (float)((i * 37) % 23) - 11.0f; /* rows with norms well above 1 */
    int64_t ws[2] = {V, D};
    w = test_tensor_f32(dev, 2, ws, w_host);
    out = emb_zeros(dev, 4, D);
    TEST_OK(embcl_tensor_fill(out, 7.0));
    gw = emb_zeros(dev, V, D);
    TEST_OK(embcl_tensor_fill(gw, 3.0));
    g = emb_zeros(dev, 4, D);
    TEST_OK(embcl_tensor_fill(g, 1.0));
}

static void teardown(void)
{
    embcl_tensor_free(w);
    embcl_tensor_free(out);
    embcl_tensor_free(gw);
    embcl_tensor_free(g);
    emb_suite_close(rt, dev);
}

TestSuite(errors, .init = setup, .fini = teardown);

static embcl_tensor_t i64_tensor(int ndim, const int64_t *shape, const int64_t *v)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, ndim, shape, &t));
    TEST_OK(embcl_tensor_upload(t, v, (size_t)embcl_tensor_numel(t) * sizeof *v));
    return t;
}

static embcl_tensor_t i32_tensor(int64_t n, const int32_t *v)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 1, &n, &t));
    TEST_OK(embcl_tensor_upload(t, v, (size_t)n * sizeof *v));
    return t;
}

/* Nothing written: out still 7, gradient still 3, table as uploaded. */
static void expect_untouched(void)
{
    float *h = emb_download_f32(out);
    for (int i = 0; i < 4 * D; i++)
        cr_assert_eq(h[i], 7.0f, "out written at %d", i);
    free(h);
    h = emb_download_f32(gw);
    for (int i = 0; i < V * D; i++)
        cr_assert_eq(h[i], 3.0f, "gradient written at %d", i);
    free(h);
    cr_assert(emb_bits_equal(w, w_host), "the table changed");
}

static embcl_embedding_options renorming(embcl_bag_mode mode)
{
    embcl_embedding_options o = embcl_embedding_options_default();
    o.max_norm = 1.0; /* would rewrite rows if anything ran */
    o.mode = mode;
    return o;
}

Test(errors, index_out_of_range_names_position_and_value)
{
    int64_t s1 = 4;
    int64_t v[4] = {1, 2, 10, 3};
    embcl_tensor_t idx = i64_tensor(1, &s1, v);
    embcl_embedding_options o = renorming(EMBCL_BAG_SUM);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding(w, idx, &o, out), "embcl_embedding", "'indices'", "value 10",
               "position 2", "num_embeddings = 10");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_backward(g, idx, V, &o, gw, NULL), "embcl_embedding_backward",
               "value 10", "position 2");
    o.scatter = EMBCL_SCATTER_ATOMIC;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_backward(g, idx, V, &o, gw, NULL), "value 10", "position 2");
    expect_untouched();
    embcl_tensor_free(idx);
}

Test(errors, negative_index_in_2d_input_names_coordinates)
{
    int64_t s2[2] = {2, 2};
    int64_t v[4] = {1, 2, 3, -1};
    embcl_tensor_t idx = i64_tensor(2, s2, v);
    embcl_embedding_options o = renorming(EMBCL_BAG_SUM);
    embcl_bags b = {idx, NULL, NULL};
    embcl_tensor_t o2 = emb_zeros(dev, 2, D);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_bag(w, &b, &o, o2, NULL), "embcl_embedding_bag", "value -1",
               "position 3 ([1, 1])");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_bag_backward(o2, NULL, &b, NULL, V, &o, gw, NULL, NULL),
               "embcl_embedding_bag_backward", "value -1", "position 3");
    embcl_tensor_free(o2);
    expect_untouched();
    embcl_tensor_free(idx);
}

Test(errors, bad_offsets_are_named)
{
    int32_t v[5] = {1, 2, 3, 4, 5};
    embcl_tensor_t idx = i32_tensor(5, v);
    embcl_embedding_options o = renorming(EMBCL_BAG_MEAN);
    struct {
        int32_t offs[4];
        int ilo;
        const char *want1, *want2;
    } cases[] = {
        {{1, 2, 3, 4}, 0, "offsets[0] has to be 0", "got 1"},
        {{0, 3, 2, 4}, 0, "offsets[2] is 2", "less than offsets[1] = 3"},
        {{0, 2, 6, 6}, 0, "offsets[2] is 6", "past the end of 'indices' (length 5)"},
        {{0, 1, 2, 4}, 1, "last offset (offsets[3])", "must be the length of 'indices', 5, but is 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        embcl_tensor_t offs = i32_tensor(4, cases[i].offs);
        embcl_bags b = {idx, offs, NULL};
        o.include_last_offset = cases[i].ilo;
        embcl_tensor_t outv = out, gv = g, o3 = NULL, g3 = NULL;
        if (cases[i].ilo) {
            TEST_OK(embcl_tensor_view_rows(out, 0, 3, &o3));
            TEST_OK(embcl_tensor_view_rows(g, 0, 3, &g3));
            outv = o3;
            gv = g3;
        }
        TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_bag(w, &b, &o, outv, NULL), "embcl_embedding_bag",
                   "'offsets'", cases[i].want1, cases[i].want2);
        TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_bag_backward(gv, NULL, &b, NULL, V, &o, gw, NULL, NULL),
                   "embcl_embedding_bag_backward", cases[i].want1);
        embcl_tensor_free(o3);
        embcl_tensor_free(g3);
        embcl_tensor_free(offs);
    }
    expect_untouched();
    embcl_tensor_free(idx);
}

Test(errors, structural_offsets_errors_follow_pytorch)
{
    int64_t s1 = 4, s2[2] = {2, 2}, s0 = 0;
    int64_t v[4] = {1, 2, 3, 4};
    embcl_tensor_t idx = i64_tensor(1, &s1, v), idx2 = i64_tensor(2, s2, v), offs = i64_tensor(1, &s1, v);
    embcl_tensor_t none = i64_tensor(1, &s0, v);
    embcl_embedding_options o = renorming(EMBCL_BAG_SUM);
    embcl_bags b = {idx, NULL, NULL};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag(w, &b, &o, out, NULL), "'offsets' has to be a 1D tensor");
    b = (embcl_bags){idx2, offs, NULL};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag(w, &b, &o, out, NULL), "if input is 2D");
    b = (embcl_bags){idx, none, NULL};
    o.include_last_offset = 1;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_bag(w, &b, &o, out, NULL), "include_last_offset", "at least 1");
    o.include_last_offset = 1;
    b = (embcl_bags){idx2, NULL, NULL};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag(w, &b, &o, out, NULL), "include_last_offset", "2-D");
    b = (embcl_bags){idx, none, NULL};
    o.include_last_offset = 0;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_bag(w, &b, &o, out, NULL), "describes no bags",
               "'indices' has 4 elements");
    int64_t s3[3] = {1, 2, 2};
    embcl_tensor_t idx3 = i64_tensor(3, s3, v);
    b = (embcl_bags){idx3, offs, NULL};
    o.include_last_offset = 0;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_bag(w, &b, &o, out, NULL), "1D or 2D", "3 dimensions");
    expect_untouched();
    embcl_tensor_free(idx);
    embcl_tensor_free(idx2);
    embcl_tensor_free(idx3);
    embcl_tensor_free(offs);
    embcl_tensor_free(none);
}

Test(errors, per_sample_weights_rules)
{
    int64_t s1 = 4, s2 = 2, s3 = 3;
    int64_t v[4] = {1, 2, 3, 4}, of[2] = {0, 2};
    embcl_tensor_t idx = i64_tensor(1, &s1, v), offs = i64_tensor(1, &s2, of);
    float pv[4] = {1, 2, 3, 4};
    embcl_tensor_t psw = test_tensor_f32(dev, 1, &s1, pv), short_psw = test_tensor_f32(dev, 1, &s3, pv);
    embcl_tensor_t o2;
    TEST_OK(embcl_tensor_view_rows(out, 0, 2, &o2));
    embcl_embedding_options o = renorming(EMBCL_BAG_MEAN);
    embcl_bags b = {idx, offs, psw};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag(w, &b, &o, o2, NULL), "'per_sample_weights'",
               "only supported for mode='sum' (got mode='mean')");
    o.mode = EMBCL_BAG_SUM;
    b.per_sample_weights = short_psw;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_bag(w, &b, &o, o2, NULL), "'per_sample_weights' has shape [3]",
               "[4]");
    b.per_sample_weights = offs; /* i64 */
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_embedding_bag(w, &b, &o, o2, NULL), "'per_sample_weights'", "i64");
    b.per_sample_weights = NULL;
    embcl_tensor_t gp = test_tensor_f32(dev, 1, &s1, pv);
    embcl_tensor_t g2;
    TEST_OK(embcl_tensor_view_rows(g, 0, 2, &g2));
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag_backward(g2, w, &b, NULL, V, &o, gw, NULL, gp),
               "'grad_psw'", "no per_sample_weights");
    embcl_tensor_free(g2);
    embcl_tensor_free(o2);
    embcl_tensor_free(gp);
    expect_untouched();
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
    embcl_tensor_free(psw);
    embcl_tensor_free(short_psw);
}

Test(errors, shapes_dtypes_and_options)
{
    int64_t s1 = 4;
    int64_t v[4] = {1, 2, 3, 4};
    embcl_tensor_t idx = i64_tensor(1, &s1, v);
    embcl_embedding_options o = renorming(EMBCL_BAG_SUM);
    embcl_tensor_t wide = emb_zeros(dev, 4, D + 1);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding(w, idx, &o, wide),
               "embcl_embedding", "'out'", "[4, 7]");
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_embedding(w, out, &o, out), "'indices'", "f32");
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_embedding(idx, idx, &o, out), "'weight'", "i64");
    o.padding_idx = V;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding(w, idx, &o, out), "'padding_idx' is 10", "[-10, 10)");
    o.padding_idx = -V - 1;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_backward(g, idx, V, &o, gw, NULL), "'padding_idx' is -11");
    o = renorming(EMBCL_BAG_SUM);
    o.norm_type = 0.0;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding(w, idx, &o, out), "'norm_type' is 0");
    o = renorming(EMBCL_BAG_SUM);
    embcl_tensor_t gw_small = emb_zeros(dev, V - 1, D);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_backward(g, idx, V, &o, gw_small, NULL), "'grad_weight'", "[9, 6]");
    o.sparse = 1;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_backward(g, idx, V, &o, gw, NULL), "'grad_weight'",
               "'sparse' is 1");
    o.scale_grad_by_freq = 1;
    embcl_rowsparse_t gs;
    TEST_OK(embcl_rowsparse_create(dev, V, D, 8, &gs));
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding_backward(g, idx, V, &o, NULL, gs),
               "scale_grad_by_freq is not supported with sparse gradients");
    embcl_rowsparse_t gs_wrong;
    TEST_OK(embcl_rowsparse_create(dev, V, D + 1, 8, &gs_wrong));
    o.scale_grad_by_freq = 0;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_backward(g, idx, V, &o, NULL, gs_wrong), "'grad_sparse'");
    embcl_rowsparse_t gs_tiny;
    TEST_OK(embcl_rowsparse_create(dev, V, D, 2, &gs_tiny));
    TEST_OK(embcl_rowsparse_zero(gs_tiny));
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_embedding_backward(g, idx, V, &o, NULL, gs_tiny), "needs 4 rows",
               "capacity is 2");
    cr_assert_eq(embcl_rowsparse_nnz(gs_tiny), 0, "a failed backward changed the sparse gradient");
    embcl_rowsparse_free(gs);
    embcl_rowsparse_free(gs_wrong);
    embcl_rowsparse_free(gs_tiny);
    embcl_tensor_free(gw_small);
    embcl_tensor_free(wide);
    expect_untouched();
    embcl_tensor_free(idx);
}

Test(errors, max_mode_rules)
{
    int64_t s1 = 4, s2 = 2;
    int64_t v[4] = {1, 2, 3, 4}, of[2] = {0, 2};
    embcl_tensor_t idx = i64_tensor(1, &s1, v), offs = i64_tensor(1, &s2, of);
    embcl_embedding_options o = renorming(EMBCL_BAG_MAX);
    embcl_bags b = {idx, offs, NULL};
    embcl_tensor_t o2, g2;
    TEST_OK(embcl_tensor_view_rows(out, 0, 2, &o2));
    TEST_OK(embcl_tensor_view_rows(g, 0, 2, &g2));
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag(w, &b, &o, o2, NULL), "'max_pos' is NULL");
    int64_t ms[2] = {2, D};
    embcl_tensor_t mpos;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 2, ms, &mpos));
    o.scale_grad_by_freq = 1;
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding_bag_backward(g2, NULL, &b, mpos, V, &o, gw, NULL, NULL),
               "max mode does not support scaling the gradient by the frequency");
    o.scale_grad_by_freq = 0;
    o.sparse = 1;
    embcl_rowsparse_t gs;
    TEST_OK(embcl_rowsparse_create(dev, V, D, 8, &gs));
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding_bag_backward(g2, NULL, &b, mpos, V, &o, NULL, gs, NULL),
               "max mode does not support sparse weights");
    o = renorming(EMBCL_BAG_SUM);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_embedding_bag(w, &b, &o, o2, mpos), "'max_pos' is for mode='max' only");
    /* PyTorch's sparse bag backward goes through embedding_backward, which
     * refuses frequency scaling: so does embcl, for every mode */
    o.sparse = 1;
    o.scale_grad_by_freq = 1;
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_embedding_bag_backward(g2, NULL, &b, NULL, V, &o, NULL, gs, NULL),
               "embcl_embedding_bag_backward", "scale_grad_by_freq is not supported with sparse gradients");
    embcl_rowsparse_free(gs);
    embcl_tensor_free(mpos);
    embcl_tensor_free(o2);
    embcl_tensor_free(g2);
    expect_untouched();
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
}
