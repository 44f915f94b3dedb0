/* CLBlast is found and works: one SGEMM against a host reference, with a
 * transposed operand and a column view as C. */
#include <math.h>
#include <stdlib.h>

#include "blas/gemm.h"
#include "test_util.h"

Test(gemm, clblast_sgemm_matches_host_reference)
{
    /* CPUs default to embcl's own GEMM (tests/lstm/test_gemm.c); force CLBlast */
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "gemm.BACKEND=2";
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_device_t dev = test_device(rt);
    enum { M = 37, N = 29, K = 65 };
    static float a[K * M], b[K * N], c[M * (N + 3)], ref[M * N];
    srand(42);
    for (int i = 0; i < K * M; i++)
        a[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < K * N; i++)
        b[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < M * (N + 3); i++)
        c[i] = 1.0f;
    /* A is stored [K, M] and used transposed; B is [K, N]; C is columns
     * [3, 3+N) of an [M, N+3] table: C = 2 * A^T B + 0.5 * C */
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)a[k * M + m] * b[k * N + n];
            ref[m * N + n] = (float)(2.0 * s + 0.5);
        }
    int64_t sa[2] = {K, M}, sb[2] = {K, N}, sc[2] = {M, N + 3};
    embcl_tensor_t ta = test_tensor_f32(dev, 2, sa, a), tb = test_tensor_f32(dev, 2, sb, b),
                   tc = test_tensor_f32(dev, 2, sc, c), vc;
    TEST_OK(embcl_tensor_view_cols(tc, 3, N + 3, &vc));
    TEST_OK(embcl_sgemm(1, 0, 2.0f, ta, tb, 0.5f, vc, "test"));
    static float got[M * N], whole[M * (N + 3)];
    TEST_OK(embcl_tensor_download(vc, got, sizeof got));
    /* K-term float sums: reordering error grows with K; 1e-5 relative plus a
     * small absolute floor for results near zero */
    test_assert_close(got, ref, M * N, 1e-5, 1e-5, "sgemm");
    TEST_OK(embcl_tensor_download(tc, whole, sizeof whole));
    for (int m = 0; m < M; m++)
        for (int j = 0; j < 3; j++)
            cr_assert_eq(whole[m * (N + 3) + j], 1.0f, "columns outside the view changed");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_sgemm(0, 0, 1.0f, ta, tb, 0.0f, vc, "test"), "shapes do not fit");
    embcl_tensor_free(vc);
    embcl_tensor_free(ta);
    embcl_tensor_free(tb);
    embcl_tensor_free(tc);
    embcl_runtime_free(rt);
}
