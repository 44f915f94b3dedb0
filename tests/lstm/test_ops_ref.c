/* Elementwise ops, concat and masked mean over time against PyTorch
 * (tests/data/lstm/ops.ref), forward and backward; dropout by its defining
 * properties (PyTorch's masks come from another generator). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_device.h"
#include "test_util.h"

Test(ops_ref, elementwise_forward_and_backward)
{
    ref_file *f = ref_load(ref_path("lstm/ops.ref"));
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    static const char *names[] = {"add", "mul", "tanh", "sigmoid"};
    for (int i = 0; i < 4; i++) {
        const ref_case *c = ref_case_get(f, names[i]);
        cr_assert_not_null(c);
        const ref_tensor *ra = ref_tensor_need(c, "a");
        embcl_tensor_t a = ref_to_device(dev, ra, 1), b = ref_to_device(dev, ref_tensor_need(c, "b"), 1),
                       y = ref_to_device(dev, ra, 0), dy = ref_to_device(dev, ref_tensor_need(c, "dy"), 1),
                       da = ref_to_device(dev, ra, 0), db = ref_to_device(dev, ra, 0);
        if (i == 0) {
            TEST_OK(embcl_add(a, b, y));
            TEST_OK(embcl_add_backward(dy, da, db, 0));
        } else if (i == 1) {
            TEST_OK(embcl_mul(a, b, y));
            TEST_OK(embcl_mul_backward(a, b, dy, da, db, 0));
        } else if (i == 2) {
            TEST_OK(embcl_tanh(a, y));
            TEST_OK(embcl_tanh_backward(y, dy, da, 0));
        } else {
            TEST_OK(embcl_sigmoid(a, y));
            TEST_OK(embcl_sigmoid_backward(y, dy, da, 0));
        }
        ref_expect_close(y, ref_tensor_need(c, "y"), 1.0f, 1e-5, 1e-7, names[i]);
        /* backward from the forward's rounded output: one more rounding */
        ref_expect_close(da, ref_tensor_need(c, "da"), 1.0f, 1e-4, 1e-7, names[i]);
        if (i < 2)
            ref_expect_close(db, ref_tensor_need(c, "db"), 1.0f, 1e-5, 1e-7, names[i]);
        TEST_FREE_ALL(a, b, y, dy, da, db);
    }
    embcl_runtime_free(rt);
    ref_free(f);
}

Test(ops_ref, concat_and_its_backward)
{
    ref_file *f = ref_load(ref_path("lstm/ops.ref"));
    const ref_case *c = ref_case_get(f, "concat");
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_tensor_t p[2] = {ref_to_device(dev, ref_tensor_need(c, "p0"), 1), ref_to_device(dev, ref_tensor_need(c, "p1"), 1)};
    embcl_tensor_t dp[2] = {ref_to_device(dev, ref_tensor_need(c, "p0"), 0), ref_to_device(dev, ref_tensor_need(c, "p1"), 0)};
    embcl_tensor_t y = ref_to_device(dev, ref_tensor_need(c, "y"), 0), dy = ref_to_device(dev, ref_tensor_need(c, "dy"), 1);
    TEST_OK(embcl_concat_cols(2, p, y));
    ref_expect_close(y, ref_tensor_need(c, "y"), 1.0f, 0, 1e-7, "concat");
    TEST_OK(embcl_concat_cols_backward(dy, 2, dp, 0));
    ref_expect_close(dp[0], ref_tensor_need(c, "dp0"), 1.0f, 0, 1e-7, "concat");
    ref_expect_close(dp[1], ref_tensor_need(c, "dp1"), 1.0f, 0, 1e-7, "concat");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_concat_cols(1, p, y), "embcl_concat_cols", "'y'", "11 columns");
    TEST_FREE_ALL(p[0], p[1], dp[0], dp[1], y, dy);
    embcl_runtime_free(rt);
    ref_free(f);
}

Test(ops_ref, masked_mean_over_time)
{
    ref_file *f = ref_load(ref_path("lstm/ops.ref"));
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    for (int bf = 0; bf < 2; bf++) {
        char name[32];
        snprintf(name, sizeof name, "mean_time_bf%d", bf);
        const ref_case *c = ref_case_get(f, name);
        cr_assert_not_null(c);
        const ref_tensor *rx = ref_tensor_need(c, "x");
        const int64_t *len = ref_tensor_need(c, "lengths")->i64;
        embcl_tensor_t x = ref_to_device(dev, rx, 1), y = ref_to_device(dev, ref_tensor_need(c, "y"), 0),
                       dy = ref_to_device(dev, ref_tensor_need(c, "dy"), 1), dx = ref_to_device(dev, rx, 0);
        TEST_OK(embcl_mean_time(x, len, bf, y));
        ref_expect_close(y, ref_tensor_need(c, "y"), 1.0f, 1e-5, 1e-7, name);
        TEST_OK(embcl_mean_time_backward(dy, len, bf, dx, 0));
        ref_expect_close(dx, ref_tensor_need(c, "dx"), 1.0f, 1e-5, 1e-7, name);
        int64_t bad[3] = {5, 0, 3};
        TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_mean_time(x, bad, bf, y), "embcl_mean_time", "'lengths'",
                   "position 1", "is 0");
        TEST_FREE_ALL(x, y, dy, dx);
    }
    embcl_runtime_free(rt);
    ref_free(f);
}

/* Dropout: kept elements are scaled by 1/(1-p), about p of them are zero,
 * the same seed gives the same mask, backward applies that mask, and
 * training = 0 is the identity. */
Test(ops_ref, dropout_mask_is_seeded_and_shared_with_backward)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    enum { R = 64, C = 100, N = R * C };
    static float xs[N], y1[N], y2[N], g[N];
    for (int i = 0; i < N; i++)
        xs[i] = 1.0f + (float)(i % 7);
    int64_t shape[2] = {R, C};
    embcl_tensor_t x = test_tensor_f32(dev, 2, shape, xs), y = test_tensor_f32(dev, 2, shape, NULL),
                   dx = test_tensor_f32(dev, 2, shape, NULL);
    const float p = 0.3f;
    TEST_OK(embcl_dropout(x, p, 77, 1, y));
    TEST_OK(embcl_tensor_download(y, y1, sizeof y1));
    TEST_OK(embcl_dropout(x, p, 77, 1, y));
    TEST_OK(embcl_tensor_download(y, y2, sizeof y2));
    cr_assert(memcmp(y1, y2, sizeof y1) == 0, "same seed, different masks");
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        if (y1[i] == 0.0f)
            zeros++;
        else
            cr_assert_float_eq(y1[i], xs[i] / (1.0f - p), 1e-5f, "kept element %d not scaled", i);
    }
    /* binomial(6400, 0.3): sd 37 */
    cr_assert(fabs(zeros - p * N) < 200, "%d of %d dropped for p = %g", zeros, N, (double)p);
    TEST_OK(embcl_dropout_backward(x, p, 77, 1, dx, 0));
    TEST_OK(embcl_tensor_download(dx, g, sizeof g));
    cr_assert(memcmp(g, y1, sizeof g) == 0, "backward used another mask");
    TEST_OK(embcl_dropout(x, p, 78, 1, y));
    TEST_OK(embcl_tensor_download(y, y2, sizeof y2));
    cr_assert(memcmp(y1, y2, sizeof y1) != 0, "another seed gave the same mask");
    TEST_OK(embcl_dropout(x, p, 78, 0, y));
    TEST_OK(embcl_tensor_download(y, y2, sizeof y2));
    cr_assert(memcmp(xs, y2, sizeof xs) == 0, "eval dropout is not the identity");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_dropout(x, 1.0f, 1, 1, y), "embcl_dropout", "'p'");
    embcl_tensor_free(x);
    embcl_tensor_free(y);
    embcl_tensor_free(dx);
    embcl_runtime_free(rt);
}
