/* Both GEMM backends against a host reference in double: odd sizes that
 * leave partial tiles in every direction, all four transpose combinations,
 * column views for every operand, alpha/beta, and strided batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "blas/gemm.h"
#include "test_util.h"

static void fill_rand(float *x, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rand() / RAND_MAX - 0.5f;
}

/* op(A) is m x k; A is stored [m,k] or [k,m] with row stride lda. */
static float at(const float *x, size_t ld, int trans, size_t r, size_t c)
{
    return trans ? x[c * ld + r] : x[r * ld + c];
}

/* One product checked: the operands are column ranges [pad, pad+w) of wider
 * tables when `views` is set, so every leading dimension exceeds the width. */
static void check_one(embcl_device_t dev, embcl_gemm_backend be, int m, int n, int k, int ta, int tb, int views,
                      size_t count)
{
    int pad = views ? 3 : 0;
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    size_t lda = (size_t)(ac + 2 * pad), ldb = (size_t)(bc + 2 * pad), ldc = (size_t)(n + 2 * pad);
    /* batches are stacked along rows of one table: product z starts z * rows * ld later */
    size_t na = count * ar * lda, nb = count * br * ldb, nc = count * m * ldc;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c),
          *want = malloc(nc * sizeof *want), *got = malloc(nc * sizeof *got);
    fill_rand(a, na, 1);
    fill_rand(b, nb, 2);
    fill_rand(c, nc, 3);
    const float alpha = 1.5f, beta = 0.25f;
    for (size_t i = 0; i < nc; i++)
        want[i] = c[i];
    for (size_t z = 0; z < count; z++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int q = 0; q < k; q++)
                    s += (double)at(a + z * ar * lda + pad, lda, ta, (size_t)i, (size_t)q) *
                         at(b + z * br * ldb + pad, ldb, tb, (size_t)q, (size_t)j);
                size_t ci = z * m * ldc + (size_t)i * ldc + pad + (size_t)j;
                want[ci] = (float)(alpha * s + beta * c[ci]);
            }
    int64_t sa[2] = {(int64_t)(count * ar), (int64_t)lda}, sb[2] = {(int64_t)(count * br), (int64_t)ldb},
            sc[2] = {(int64_t)(count * m), (int64_t)ldc};
    embcl_tensor_t tA = test_tensor_f32(dev, 2, sa, a), tB = test_tensor_f32(dev, 2, sb, b),
                   tC = test_tensor_f32(dev, 2, sc, c), rA, rB, rC, vA, vB, vC;
    TEST_OK(embcl_tensor_view_rows(tA, 0, ar, &rA));
    TEST_OK(embcl_tensor_view_rows(tB, 0, br, &rB));
    TEST_OK(embcl_tensor_view_rows(tC, 0, m, &rC));
    TEST_OK(embcl_tensor_view_cols(rA, pad, pad + ac, &vA));
    TEST_OK(embcl_tensor_view_cols(rB, pad, pad + bc, &vB));
    TEST_OK(embcl_tensor_view_cols(rC, pad, pad + n, &vC));
    TEST_OK(embcl_sgemm_batched(be, ta, tb, alpha, vA, vB, beta, vC, count, ar * lda, br * ldb, m * ldc, "test"));
    TEST_OK(embcl_tensor_download(tC, got, nc * sizeof *got));
    char what[128];
    snprintf(what, sizeof what, "%s m=%d n=%d k=%d op=%c%c views=%d batch=%zu", be == EMBCL_GEMM_OWN ? "own" : "clblast",
             m, n, k, ta ? 'T' : 'N', tb ? 'T' : 'N', views, count);
    /* k-term float sums in another order than the double reference: 1e-5
     * relative plus an absolute floor of 1e-5 * sqrt(k) for sums near zero.
     * Columns outside the views must be untouched (compared exactly). */
    test_assert_close(got, want, nc, 1e-5, 1e-5 * sqrt((double)k), what);
    for (size_t i = 0; i < nc; i++)
        if ((i % ldc) < (size_t)pad || (i % ldc) >= (size_t)(pad + n))
            cr_assert_eq(got[i], c[i], "%s: element %zu outside the view changed", what, i);
    embcl_tensor_free(vA);
    embcl_tensor_free(vB);
    embcl_tensor_free(vC);
    embcl_tensor_free(rA);
    embcl_tensor_free(rB);
    embcl_tensor_free(rC);
    embcl_tensor_free(tA);
    embcl_tensor_free(tB);
    embcl_tensor_free(tC);
    free(a);
    free(b);
    free(c);
    free(want);
    free(got);
}

static const int sizes[][3] = {{7, 65, 129}, {65, 129, 7}, {129, 7, 65}, {13, 48, 33}, {1, 17, 5}};

static void check_backend(embcl_gemm_backend be)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int t = 0; t < 4; t++)
            check_one(dev, be, sizes[s][0], sizes[s][1], sizes[s][2], t & 1, t >> 1, (int)(s & 1), 1);
    for (int t = 0; t < 4; t++)
        check_one(dev, be, 13, 35, 9, t & 1, t >> 1, t & 1, 3);
    /* A^T B with A much larger than B and C: the own backend computes
     * (B^T A)^T instead (batched, with views) */
    check_one(dev, be, 70, 5, 40, 1, 0, 1, 3);
    check_one(dev, be, 200, 3, 64, 1, 0, 0, 1);
    embcl_runtime_free(rt);
}

Test(gemm, own_kernel_matches_host_reference)
{
    check_backend(EMBCL_GEMM_OWN);
}

Test(gemm, clblast_matches_host_reference)
{
    check_backend(EMBCL_GEMM_CLBLAST);
}

/* The own kernel walks K in chunks (gemm.KC) for long products; a small
 * chunk makes every shape above take several, with beta applied once. */
Test(gemm, own_kernel_in_k_chunks)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "gemm.KC=16";
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_device_t dev = test_device(rt);
    for (int t = 0; t < 4; t++)
        check_one(dev, EMBCL_GEMM_OWN, 65, 129, 7 + 60 * (t & 1), t & 1, t >> 1, t & 1, 1);
    check_one(dev, EMBCL_GEMM_OWN, 13, 35, 50, 0, 0, 1, 3);
    check_one(dev, EMBCL_GEMM_OWN, 70, 5, 40, 1, 0, 1, 3);
    embcl_runtime_free(rt);
}

Test(gemm, shape_errors_name_the_operands)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    int64_t s1[2] = {4, 5}, s2[2] = {6, 3}, s3[2] = {4, 3};
    embcl_tensor_t a = test_tensor_f32(dev, 2, s1, NULL), b = test_tensor_f32(dev, 2, s2, NULL),
                   c = test_tensor_f32(dev, 2, s3, NULL);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_sgemm(0, 0, 1.0f, a, b, 0.0f, c, "test_fn"), "test_fn", "4x5", "6x3");
    TEST_FAILS(EMBCL_ERR_SHAPE,
               embcl_sgemm_batched(EMBCL_GEMM_OWN, 0, 1, 1.0f, a, a, 0.0f, b, 2, 100, 0, 0, "test_fn"),
               "test_fn");
    embcl_tensor_free(a);
    embcl_tensor_free(b);
    embcl_tensor_free(c);
    embcl_runtime_free(rt);
}
