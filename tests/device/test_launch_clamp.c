/* Ops that choose their own group size keep to the kernel's and the
 * device's limits: tuning key device.MAX_WGS makes embcl keep to smaller
 * limits than PoCL's, as a device with smaller ones would have, and the
 * launches that used fixed groups (clip's scale, GEMM's tiles and edges,
 * the elementwise, LSTM and optimizer groups) still give the right results
 * instead of the launch check's EMBCL_ERR_LAUNCH_LIMIT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas/gemm.h"
#include "device/program.h"
#include "test_util.h"
#include "trainer_small.h"

static embcl_runtime_t limited(const char *tuning)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = tuning;
    return test_runtime_with(&o);
}

static void fill_random(float *v, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)rand() / (float)RAND_MAX - 0.5f;
}

Test(launch_clamp, max_wgs_lowers_the_device_and_kernel_limits)
{
    embcl_runtime_t rt = limited("device.MAX_WGS=8");
    embcl_device_t dev = test_device(rt);
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(dev, &info));
    cr_assert_eq(info.max_work_group_size, 8);
    for (int d = 0; d < 3; d++)
        cr_assert_leq(info.max_work_item_sizes[d], 8);
    cl_kernel k;
    TEST_OK(embcl_kernel_get(dev, "optim", NULL, "scale_2d", &k));
    cr_assert_eq(embcl_kernel_max_wgs(dev, k), 8);
    /* what used to be scale_2d's fixed group is now refused by name */
    size_t lws[2] = {64, 4}, gws[2] = {64, 4};
    TEST_FAILS(EMBCL_ERR_LAUNCH_LIMIT, embcl_kernel_launch(dev, k, "scale_2d", 2, gws, lws, NULL), "'scale_2d'",
               "limit of 8");
    embcl_runtime_free(rt);
}

/* clip_grad_norm_ over two dense gradients, big enough to be scaled. */
static void clip_case(const char *tuning, double norm_type)
{
    embcl_runtime_t rt = limited(tuning);
    embcl_device_t dev = test_device(rt);
    enum { R0 = 37, C0 = 70, R1 = 5, C1 = 300 };
    static float g0[R0 * C0], g1[R1 * C1], got0[R0 * C0], got1[R1 * C1];
    fill_random(g0, R0 * C0, 7);
    fill_random(g1, R1 * C1, 8);
    double acc = 0.0;
    for (size_t i = 0; i < R0 * C0; i++)
        acc = isinf(norm_type) ? fmax(acc, fabs(g0[i])) : acc + (double)g0[i] * g0[i];
    for (size_t i = 0; i < R1 * C1; i++)
        acc = isinf(norm_type) ? fmax(acc, fabs(g1[i])) : acc + (double)g1[i] * g1[i];
    double total = isinf(norm_type) ? acc : sqrt(acc), max_norm = total / 4;
    double coef = max_norm / (total + 1e-6);
    int64_t s0[2] = {R0, C0}, s1[2] = {R1, C1};
    embcl_tensor_t t0 = test_tensor_f32(dev, 2, s0, g0), t1 = test_tensor_f32(dev, 2, s1, g1);
    embcl_grad grads[2] = {{t0, NULL}, {t1, NULL}};
    double norm = 0;
    TEST_OK(embcl_clip_grad_norm(grads, 2, max_norm, norm_type, &norm));
    cr_assert_float_eq(norm, total, 1e-5 * total, "total norm %g, expected %g (%s)", norm, total, tuning);
    TEST_OK(embcl_tensor_download(t0, got0, sizeof got0));
    TEST_OK(embcl_tensor_download(t1, got1, sizeof got1));
    for (size_t i = 0; i < R0 * C0; i++)
        g0[i] = (float)(g0[i] * coef);
    for (size_t i = 0; i < R1 * C1; i++)
        g1[i] = (float)(g1[i] * coef);
    test_assert_close(got0, g0, R0 * C0, 1e-5, 1e-7, "clipped grads[0]");
    test_assert_close(got1, g1, R1 * C1, 1e-5, 1e-7, "clipped grads[1]");
    embcl_tensor_free(t0);
    embcl_tensor_free(t1);
    embcl_runtime_free(rt);
}

Test(launch_clamp, clip_grad_norm_under_small_limits)
{
    clip_case("device.MAX_WGS=8", 2.0);
    clip_case("device.MAX_WGS=1", 2.0);
    clip_case("device.MAX_WGS=4", INFINITY);
    /* a tuned group above the limit is lowered too */
    clip_case("device.MAX_WGS=16,optim_norm.WGS=1024", 2.0);
}

/* C = A^T B^T + C by embcl's own kernels: the transposes, the tiles and the
 * edge columns (N is no multiple of a block), then the swapped product. */
static void gemm_case(const char *tuning)
{
    embcl_runtime_t rt = limited(tuning);
    embcl_device_t dev = test_device(rt);
    enum { M = 21, N = 37, K = 19 };
    static float a[K * M], b[N * K], c[M * N], ref[M * N], got[M * N];
    fill_random(a, K * M, 1);
    fill_random(b, N * K, 2);
    fill_random(c, M * N, 3);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)a[k * M + m] * b[n * K + k];
            ref[m * N + n] = (float)(s + c[m * N + n]);
        }
    int64_t sa[2] = {K, M}, sb[2] = {N, K}, sc[2] = {M, N};
    embcl_tensor_t ta = test_tensor_f32(dev, 2, sa, a), tb = test_tensor_f32(dev, 2, sb, b),
                   tc = test_tensor_f32(dev, 2, sc, c);
    TEST_OK(embcl_sgemm_batched(EMBCL_GEMM_OWN, 1, 1, 1.0f, ta, tb, 1.0f, tc, 1, 0, 0, 0, "test"));
    TEST_OK(embcl_tensor_download(tc, got, sizeof got));
    test_assert_close(got, ref, M * N, 1e-5, 1e-5, tuning);
    embcl_tensor_free(ta);
    embcl_tensor_free(tb);
    embcl_tensor_free(tc);

    /* A [K2, M2] much bigger than B [K2, N2]: C^T = B^T A, then its transpose folded into C */
    enum { K2 = 40, M2 = 300, N2 = 3 };
    static float a2[K2 * M2], b2[K2 * N2], ref2[M2 * N2], got2[M2 * N2];
    fill_random(a2, K2 * M2, 4);
    fill_random(b2, K2 * N2, 5);
    for (int m = 0; m < M2; m++)
        for (int n = 0; n < N2; n++) {
            double s = 0;
            for (int k = 0; k < K2; k++)
                s += (double)a2[k * M2 + m] * b2[k * N2 + n];
            ref2[m * N2 + n] = (float)s;
        }
    int64_t sa2[2] = {K2, M2}, sb2[2] = {K2, N2}, sc2[2] = {M2, N2};
    ta = test_tensor_f32(dev, 2, sa2, a2);
    tb = test_tensor_f32(dev, 2, sb2, b2);
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, sc2, &tc));
    TEST_OK(embcl_sgemm_batched(EMBCL_GEMM_OWN, 1, 0, 1.0f, ta, tb, 0.0f, tc, 1, 0, 0, 0, "test"));
    TEST_OK(embcl_tensor_download(tc, got2, sizeof got2));
    test_assert_close(got2, ref2, M2 * N2, 1e-5, 1e-5, tuning);
    embcl_tensor_free(ta);
    embcl_tensor_free(tb);
    embcl_tensor_free(tc);
    embcl_runtime_free(rt);
}

Test(launch_clamp, own_gemm_under_small_limits)
{
    gemm_case("gemm.BACKEND=1,device.MAX_WGS=8");
    gemm_case("gemm.BACKEND=1,device.MAX_WGS=3");
}

/* The embcl train model (embedding, bags, LSTM, losses, the sort of the
 * deterministic scatter, Adagrad and Adam, clipping, the step's optimizer
 * transaction) under a limit of 32 gives the losses of an unlimited run.
 * Not lower: cross-entropy built for 16 or fewer work-items (loss.WGS)
 * never finishes on PoCL 3.1, with or without this limit. */
static void train_steps(const char *tuning, embcl_step_result *out, int n)
{
    embcl_runtime_t rt = limited(tuning);
    small_trainer s;
    embcl_train_config cfg = small_config(12, 5);
    cfg.clip = 0.05; /* every step is clipped: scale_2d runs */
    small_trainer_make_cfg(&s, rt, 5, 2, &cfg);
    for (int i = 0; i < n; i++)
        TEST_OK(embcl_trainer_step(s.tr, &out[i]));
    small_trainer_free(&s);
    embcl_runtime_free(rt);
}

Test(launch_clamp, trainer_steps_under_small_limits_match)
{
    enum { STEPS = 3 };
    embcl_step_result base[STEPS], small[STEPS];
    train_steps(NULL, base, STEPS);
    train_steps("device.MAX_WGS=32", small, STEPS);
    for (int i = 0; i < STEPS; i++) {
        cr_assert_float_eq(small[i].lm_loss, base[i].lm_loss, 1e-4 * fabs(base[i].lm_loss), "step %d: lm %g vs %g",
                           i, small[i].lm_loss, base[i].lm_loss);
        cr_assert_float_eq(small[i].cls_loss, base[i].cls_loss, 1e-4 * fabs(base[i].cls_loss) + 1e-7,
                           "step %d: cls %g vs %g", i, small[i].cls_loss, base[i].cls_loss);
        cr_assert_float_eq(small[i].grad_norm, base[i].grad_norm, 1e-4 * base[i].grad_norm, "step %d: norm", i);
    }
}
