/* LSTM beyond the reference values: seeded init, parameter names, dropout
 * between layers, gradient accumulation, and bad input (named errors,
 * nothing written). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void download(embcl_tensor_t t, float *h)
{
    TEST_OK(embcl_tensor_download(t, h, (size_t)embcl_tensor_numel(t) * sizeof *h));
}

Test(lstm_api, names_follow_pytorch_and_init_is_seeded_uniform)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_lstm_config cfg = embcl_lstm_config_default(3, 16);
    cfg.num_layers = 2;
    cfg.bidirectional = 1;
    cfg.seed = 5;
    embcl_lstm_t a, b, c;
    TEST_OK(embcl_lstm_create(dev, &cfg, &a));
    TEST_OK(embcl_lstm_create(dev, &cfg, &b));
    cfg.seed = 6;
    TEST_OK(embcl_lstm_create(dev, &cfg, &c));
    static const char *want[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                 "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                                 "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                                 "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse",
                                 "bias_hh_l1_reverse"};
    size_t n;
    TEST_OK(embcl_lstm_param_count(a, &n));
    cr_assert_eq(n, 16);
    const float bound = 0.25f; /* 1/sqrt(16) */
    double sum = 0, sq = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        embcl_tensor_t wa, wb, wc, ga;
        TEST_OK(embcl_lstm_param(a, i, &name, &wa, &ga));
        cr_assert_str_eq(name, want[i]);
        TEST_OK(embcl_lstm_param(b, i, NULL, &wb, NULL));
        TEST_OK(embcl_lstm_param(c, i, NULL, &wc, NULL));
        size_t m = (size_t)embcl_tensor_numel(wa);
        float *ha = malloc(m * 4), *hb = malloc(m * 4), *hc = malloc(m * 4), *hg = malloc(m * 4);
        download(wa, ha);
        download(wb, hb);
        download(wc, hc);
        download(ga, hg);
        cr_assert(memcmp(ha, hb, m * 4) == 0, "%s differs between two LSTMs of one seed", name);
        cr_assert(memcmp(ha, hc, m * 4) != 0, "%s is the same for seeds 5 and 6", name);
        for (size_t e = 0; e < m; e++) {
            cr_assert(ha[e] >= -bound && ha[e] <= bound, "%s[%zu] = %g outside U(-1/sqrt(H), 1/sqrt(H))", name, e,
                      (double)ha[e]);
            cr_assert_eq(hg[e], 0.0f, "gradient of %s does not start at 0", name);
            sum += ha[e];
            sq += (double)ha[e] * ha[e];
            count++;
        }
        free(ha);
        free(hb);
        free(hc);
        free(hg);
    }
    embcl_tensor_t w;
    TEST_OK(embcl_lstm_find_param(a, "weight_hh_l1_reverse", &w, NULL));
    cr_assert_eq(embcl_tensor_dim(w, 0), 64);
    cr_assert_eq(embcl_tensor_dim(w, 1), 16);
    TEST_OK(embcl_lstm_find_param(a, "weight_ih_l1", &w, NULL));
    cr_assert_eq(embcl_tensor_dim(w, 1), 32, "layer 1 takes both directions' outputs");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_lstm_find_param(a, "weight_hr_l0", &w, NULL), "weight_hr_l0");
    /* U(-b, b): mean 0, variance b^2/3 */
    double mean = sum / (double)count, var = sq / (double)count - mean * mean;
    cr_assert(fabs(mean) < 0.01, "mean %g", mean);
    cr_assert(fabs(var - bound * bound / 3.0) < 0.002, "variance %g, expected %g", var, bound * bound / 3.0);
    embcl_lstm_free(a);
    embcl_lstm_free(b);
    embcl_lstm_free(c);
    embcl_runtime_free(rt);
}

/* One training (or eval) forward of x [4, 3, 5] (a fixed pattern when xs
 * is NULL) into y_host [4, 3, 6]; x and y are handed back when x_out is set. */
static void run_forward(embcl_lstm_t l, embcl_device_t dev, int training, const float *xs, float *y_host,
                        embcl_tensor_t *x_out, embcl_tensor_t *y_out)
{
    enum { T = 4, B = 3, I = 5, DH = 6 };
    float pattern[T * B * I];
    for (int i = 0; i < T * B * I; i++)
        pattern[i] = sinf((float)i);
    int64_t sx[3] = {T, B, I}, sy[3] = {T, B, DH};
    embcl_tensor_t x = test_tensor_f32(dev, 3, sx, xs ? xs : pattern), y = test_tensor_f32(dev, 3, sy, NULL);
    TEST_OK(embcl_lstm_forward(l, x, NULL, NULL, NULL, training, y, NULL, NULL));
    download(y, y_host);
    if (x_out) {
        *x_out = x;
        *y_out = y;
    } else {
        embcl_tensor_free(x);
        embcl_tensor_free(y);
    }
}

Test(lstm_api, dropout_between_layers_is_seeded_and_off_in_eval)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_lstm_config cfg = embcl_lstm_config_default(5, 6);
    cfg.num_layers = 3;
    cfg.seed = 11;
    embcl_lstm_t plain, drop1, drop2;
    TEST_OK(embcl_lstm_create(dev, &cfg, &plain));
    cfg.dropout = 0.5f;
    TEST_OK(embcl_lstm_create(dev, &cfg, &drop1));
    TEST_OK(embcl_lstm_create(dev, &cfg, &drop2));
    float yp[72], ye[72], yt1[72], yt1b[72], yt2[72];
    run_forward(plain, dev, 1, NULL, yp, NULL, NULL);
    run_forward(drop1, dev, 0, NULL, ye, NULL, NULL);
    cr_assert(memcmp(yp, ye, sizeof yp) == 0, "eval forward applied dropout");
    run_forward(drop1, dev, 1, NULL, yt1, NULL, NULL);
    run_forward(drop2, dev, 0, NULL, ye, NULL, NULL);
    run_forward(drop2, dev, 1, NULL, yt1b, NULL, NULL);
    cr_assert(memcmp(yt1, yt1b, sizeof yt1) == 0, "same seed and call count gave other masks");
    cr_assert(memcmp(yt1, yp, sizeof yt1) != 0, "training forward applied no dropout");
    run_forward(drop1, dev, 1, NULL, yt2, NULL, NULL);
    cr_assert(memcmp(yt1, yt2, sizeof yt1) != 0, "two training forwards drew the same masks");
    embcl_lstm_free(plain);
    embcl_lstm_free(drop1);
    embcl_lstm_free(drop2);
    embcl_runtime_free(rt);
}

/* Parameter gradients add up over backward calls, as PyTorch's .grad does. */
Test(lstm_api, backward_accumulates_and_zero_grad_resets)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_lstm_config cfg = embcl_lstm_config_default(5, 3);
    cfg.bidirectional = 1;
    embcl_lstm_t l;
    TEST_OK(embcl_lstm_create(dev, &cfg, &l));
    float y[72];
    embcl_tensor_t x, yt;
    run_forward(l, dev, 1, NULL, y, &x, &yt);
    embcl_tensor_t dy = test_tensor_f32(dev, 3, (int64_t[]){4, 3, 6}, y), g;
    TEST_OK(embcl_lstm_backward(l, dy, NULL, NULL, NULL, NULL, NULL));
    TEST_OK(embcl_lstm_find_param(l, "weight_hh_l0_reverse", NULL, &g));
    float g1[36], g2[36];
    download(g, g1);
    TEST_OK(embcl_lstm_backward(l, dy, NULL, NULL, NULL, NULL, NULL));
    download(g, g2);
    int nonzero = 0;
    for (int i = 0; i < 36; i++) {
        cr_assert_float_eq(g2[i], 2.0f * g1[i], 1e-6f + 1e-5f * fabsf(g2[i]), "element %d did not accumulate", i);
        nonzero += g1[i] != 0.0f;
    }
    cr_assert(nonzero > 0);
    TEST_OK(embcl_lstm_zero_grad(l));
    download(g, g2);
    for (int i = 0; i < 36; i++)
        cr_assert_eq(g2[i], 0.0f);
    embcl_tensor_free(dy);
    embcl_tensor_free(x);
    embcl_tensor_free(yt);
    embcl_lstm_free(l);
    embcl_runtime_free(rt);
}

Test(lstm_api, bad_input_is_named_and_writes_nothing)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_lstm_config cfg = embcl_lstm_config_default(5, 6);
    cfg.num_layers = 2;
    embcl_lstm_t l;
    TEST_OK(embcl_lstm_create(dev, &cfg, &l));
    int64_t sx[3] = {4, 3, 5}, sbad[3] = {4, 3, 7}, sy[3] = {4, 3, 6}, sh[3] = {2, 3, 6}, shb[3] = {1, 3, 6};
    embcl_tensor_t x = test_tensor_f32(dev, 3, sx, NULL), xbad = test_tensor_f32(dev, 3, sbad, NULL),
                   y = test_tensor_f32(dev, 3, sy, NULL), h0 = test_tensor_f32(dev, 3, sh, NULL),
                   hbad = test_tensor_f32(dev, 3, shb, NULL), xi;
    TEST_OK(embcl_tensor_fill(x, 0.5));
    TEST_OK(embcl_tensor_fill(y, 9.0));
    TEST_OK(embcl_tensor_fill(h0, 0.0));
    TEST_FAILS(EMBCL_ERR_STATE, embcl_lstm_backward(l, y, NULL, NULL, NULL, NULL, NULL), "embcl_lstm_backward",
               "forward");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_lstm_forward(l, xbad, NULL, NULL, NULL, 1, y, NULL, NULL),
               "embcl_lstm_forward", "'x'", "input size 7", "weight_ih_l0 expects 5");
    int64_t too_long[3] = {4, 5, 2}, zero[3] = {4, 0, 2};
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_lstm_forward(l, x, too_long, NULL, NULL, 1, y, NULL, NULL), "'lengths'",
               "position 1", "is 5", "[1, 4]");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_lstm_forward(l, x, zero, NULL, NULL, 1, y, NULL, NULL), "position 1",
               "is 0");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_lstm_forward(l, x, NULL, hbad, NULL, 1, y, NULL, NULL), "'h0'", "[1, 3, 6]",
               "[2, 3, 6]");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_lstm_forward(l, x, NULL, NULL, NULL, 1, y, NULL, hbad), "'c_n'");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_lstm_forward(l, x, NULL, NULL, NULL, 1, h0, NULL, NULL), "'y'");
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 3, sx, &xi));
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_lstm_forward(l, xi, NULL, NULL, NULL, 1, y, NULL, NULL), "'x'", "i32");
    float got[72];
    download(y, got);
    for (int i = 0; i < 72; i++)
        cr_assert_eq(got[i], 9.0f, "y written by a failed call");
    /* after a good forward, backward checks its own arguments */
    TEST_OK(embcl_lstm_forward(l, x, NULL, h0, NULL, 1, y, NULL, NULL));
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_lstm_backward(l, x, NULL, NULL, NULL, NULL, NULL), "'dy'");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_lstm_backward(l, y, NULL, NULL, y, NULL, NULL), "'dx'");
    embcl_tensor_t g;
    TEST_OK(embcl_lstm_find_param(l, "weight_ih_l0", NULL, &g));
    float gh[120];
    download(g, gh);
    for (int i = 0; i < 120; i++)
        cr_assert_eq(gh[i], 0.0f, "a gradient was written by a failed backward");
    embcl_lstm_config bad = embcl_lstm_config_default(5, 0);
    embcl_lstm_t l2;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_lstm_create(dev, &bad, &l2), "embcl_lstm_create", "hidden_size");
    embcl_tensor_t ts[] = {x, xbad, y, h0, hbad, xi};
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
        embcl_tensor_free(ts[k]);
    embcl_lstm_free(l);
    embcl_runtime_free(rt);
}

/* sum(y * w) after the first training forward of a fresh LSTM (so the
 * dropout masks are those of call 0 of the seed). */
static double first_forward_dot(embcl_device_t dev, const embcl_lstm_config *cfg, const float *xs, const float *w)
{
    embcl_lstm_t l;
    TEST_OK(embcl_lstm_create(dev, cfg, &l));
    float yh[4 * 3 * 6];
    run_forward(l, dev, 1, xs, yh, NULL, NULL);
    double s = 0;
    for (int i = 0; i < 4 * 3 * 6; i++)
        s += (double)yh[i] * w[i];
    embcl_lstm_free(l);
    return s;
}

/* Backward goes through the same dropout masks as the forward: its input
 * gradient matches central differences of fresh LSTMs of the same seed,
 * whose first forward draws the same masks. */
Test(lstm_api, backward_uses_the_forwards_dropout_masks)
{
    enum { T = 4, B = 3, I = 5, DH = 6, NX = T * B * I };
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_lstm_config cfg = embcl_lstm_config_default(I, DH);
    cfg.num_layers = 3;
    cfg.dropout = 0.4f;
    cfg.seed = 3;
    float xs[NX], w[T * B * DH], gx[NX];
    for (int i = 0; i < NX; i++)
        xs[i] = sinf(0.7f * (float)i);
    for (int i = 0; i < T * B * DH; i++)
        w[i] = cosf(0.3f * (float)i);
    embcl_lstm_t l;
    TEST_OK(embcl_lstm_create(dev, &cfg, &l));
    int64_t sx[3] = {T, B, I}, sy[3] = {T, B, DH};
    embcl_tensor_t x = test_tensor_f32(dev, 3, sx, xs), y = test_tensor_f32(dev, 3, sy, NULL),
                   dy = test_tensor_f32(dev, 3, sy, w), dx = test_tensor_f32(dev, 3, sx, NULL);
    TEST_OK(embcl_lstm_forward(l, x, NULL, NULL, NULL, 1, y, NULL, NULL));
    TEST_OK(embcl_lstm_backward(l, dy, NULL, NULL, dx, NULL, NULL));
    download(dx, gx);
    const float eps = 1e-2f;
    for (int i = 0; i < NX; i += 7) {
        float xp[NX], xm[NX];
        memcpy(xp, xs, sizeof xp);
        memcpy(xm, xs, sizeof xm);
        xp[i] += eps;
        xm[i] -= eps;
        double fd = (first_forward_dot(dev, &cfg, xp, w) - first_forward_dot(dev, &cfg, xm, w)) / (2.0 * eps);
        /* central differences in float32: error ~ eps^2 curvature + rounding / eps */
        cr_assert(fabs(fd - gx[i]) < 2e-3 + 2e-2 * fabs(fd), "dx[%d] = %g, finite difference %g", i, (double)gx[i],
                  fd);
    }
    embcl_tensor_free(x);
    embcl_tensor_free(y);
    embcl_tensor_free(dy);
    embcl_tensor_free(dx);
    embcl_lstm_free(l);
    embcl_runtime_free(rt);
}
