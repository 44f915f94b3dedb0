/* The remaining node kinds: mean over time, binary cross-entropy, mul,
 * sigmoid, dropout; against a plain-C reference or the ops by hand. */
#include <embcl/graph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "graph_host.h"

TEST_DEVICE_FIXTURE
TestSuite(graph_nodes, .init = test_device_setup, .fini = test_device_teardown);

/* PROBLEMS.md problem 3's model: embed the words, average them (masked by
 * length), one logit, binary cross-entropy. */
Test(graph_nodes, bag_of_words_sentiment_model_gradients)
{
    enum { V = 8, D = 4, B = 3, T = 5 };
    float table[V * D], w[D], bias[1] = {0.25f}, labels[B] = {1, 0, 1};
    int64_t tok[B * T] = {1, 2, 3, 4, 5, 6, 7, 6, 0, 0, 2, 0, 0, 0, 0}, lengths[B] = {5, 3, 1};
    host_fill(table, V * D, 101, 1.0f);
    host_fill(w, D, 102, 1.0f);
    int64_t st[2] = {V, D}, sw[2] = {1, D}, sb[1] = {1}, stok[2] = {B, T}, sl[2] = {B, 1};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table), tw = test_tensor_f32(dev, 2, sw, w),
                   tb = test_tensor_f32(dev, 1, sb, bias);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value pe, pw, pb, vt, vl, e, m, y, loss;
    TEST_OK(embcl_graph_param(g, "embedding.weight", tt, &pe));
    TEST_OK(embcl_graph_param(g, "fc.weight", tw, &pw));
    TEST_OK(embcl_graph_param(g, "fc.bias", tb, &pb));
    TEST_OK(embcl_graph_input(g, "tokens", EMBCL_I64, 2, stok, &vt));
    TEST_OK(embcl_graph_input(g, "labels", EMBCL_F32, 2, sl, &vl));
    TEST_OK(embcl_graph_embedding(g, pe, vt, NULL, &e));
    TEST_OK(embcl_graph_mean_time(g, e, lengths, 1, &m));
    TEST_OK(embcl_graph_linear(g, m, pw, pb, &y));
    TEST_OK(embcl_graph_bce_with_logits(g, y, vl, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vt, tok, sizeof tok));
    TEST_OK(embcl_graph_set_input(g, vl, labels, sizeof labels));
    TEST_OK(embcl_graph_step(g));

    double gt[V * D] = {0}, gw[D] = {0}, ref = 0;
    for (int b = 0; b < B; b++) {
        double mean[D] = {0}, z = bias[0];
        for (int t = 0; t < lengths[b]; t++)
            for (int d = 0; d < D; d++)
                mean[d] += table[tok[b * T + t] * D + d] / (double)lengths[b];
        for (int d = 0; d < D; d++)
            z += mean[d] * w[d];
        double p = 1.0 / (1.0 + exp(-z));
        ref += -(labels[b] * log(p) + (1 - labels[b]) * log(1 - p)) / B;
        double dz = (p - labels[b]) / B;
        for (int d = 0; d < D; d++) {
            gw[d] += dz * mean[d];
            for (int t = 0; t < lengths[b]; t++)
                gt[tok[b * T + t] * D + d] += dz * w[d] / (double)lengths[b];
        }
    }
    float l, reff = (float)ref, got[V * D], want[V * D];
    TEST_OK(embcl_graph_download(g, loss, &l, sizeof l));
    test_assert_close(&l, &reff, 1, 1e-5, 0, "loss");
    grad_of(g, pe, got, V * D);
    to_float(gt, want, V * D);
    test_assert_close(got, want, V * D, 1e-4, 1e-7, "embedding grad (padded steps get none)");
    grad_of(g, pw, got, D);
    to_float(gw, want, D);
    test_assert_close(got, want, D, 1e-4, 1e-7, "fc.weight grad");
    embcl_graph_free(g);
    embcl_tensor_free(tt);
    embcl_tensor_free(tw);
    embcl_tensor_free(tb);
}

/* loss = mse(dropout(sigmoid(p) * x), t): a step equals the ops by hand
 * with the step's mask; the forward pass alone applies no dropout. */
Test(graph_nodes, mul_sigmoid_dropout_equal_the_ops_by_hand)
{
    enum { R = 4, C = 6 };
    float p0[R * C], x[R * C], t[R * C];
    host_fill(p0, R * C, 111, 2.0f);
    host_fill(x, R * C, 112, 1.0f);
    host_fill(t, R * C, 113, 1.0f);
    int64_t s[2] = {R, C}, one[1] = {1};
    embcl_tensor_t tp = test_tensor_f32(dev, 2, s, p0);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, vx, vt, a, b, c, loss;
    TEST_OK(embcl_graph_param(g, "gate", tp, &p));
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, s, &vx));
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, s, &vt));
    TEST_OK(embcl_graph_sigmoid(g, p, &a));
    TEST_OK(embcl_graph_mul(g, a, vx, &b));
    TEST_OK(embcl_graph_dropout(g, b, 0.5f, 77, &c));
    TEST_OK(embcl_graph_mse_loss(g, c, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vx, x, sizeof x));
    TEST_OK(embcl_graph_set_input(g, vt, t, sizeof t));
    float l_eval, l_step, grad_g[R * C];
    TEST_OK(embcl_graph_forward(g));
    TEST_OK(embcl_graph_download(g, loss, &l_eval, sizeof l_eval));
    TEST_OK(embcl_graph_step(g)); /* step 0: the mask of seed 77 */
    TEST_OK(embcl_graph_download(g, loss, &l_step, sizeof l_step));
    grad_of(g, p, grad_g, R * C);

    embcl_tensor_t hp = test_tensor_f32(dev, 2, s, p0), hx = test_tensor_f32(dev, 2, s, x),
                   ht = test_tensor_f32(dev, 2, s, t), ha = test_tensor_f32(dev, 2, s, NULL),
                   hb = test_tensor_f32(dev, 2, s, NULL), hc = test_tensor_f32(dev, 2, s, NULL),
                   hl = test_tensor_f32(dev, 1, one, NULL), dc = test_tensor_f32(dev, 2, s, NULL),
                   db = test_tensor_f32(dev, 2, s, NULL), da = test_tensor_f32(dev, 2, s, NULL),
                   dp = test_tensor_f32(dev, 2, s, NULL);
    float l_eval_h, l_step_h, grad_h[R * C];
    TEST_OK(embcl_sigmoid(hp, ha));
    TEST_OK(embcl_mul(ha, hx, hb));
    TEST_OK(embcl_mse_loss(hb, ht, EMBCL_REDUCTION_MEAN, hl));
    TEST_OK(embcl_tensor_download(hl, &l_eval_h, sizeof l_eval_h));
    TEST_OK(embcl_dropout(hb, 0.5f, 77, 1, hc));
    TEST_OK(embcl_mse_loss(hc, ht, EMBCL_REDUCTION_MEAN, hl));
    TEST_OK(embcl_tensor_download(hl, &l_step_h, sizeof l_step_h));
    TEST_OK(embcl_mse_loss_backward(hc, ht, EMBCL_REDUCTION_MEAN, NULL, dc, 0));
    TEST_OK(embcl_dropout_backward(dc, 0.5f, 77, 1, db, 0));
    TEST_OK(embcl_mul_backward(ha, hx, db, da, NULL, 0));
    TEST_OK(embcl_sigmoid_backward(ha, da, dp, 0));
    TEST_OK(embcl_tensor_download(dp, grad_h, sizeof grad_h));
    cr_assert_eq(l_eval, l_eval_h, "forward pass: %.9g vs %.9g by hand", l_eval, l_eval_h);
    cr_assert_eq(l_step, l_step_h, "training step: %.9g vs %.9g by hand", l_step, l_step_h);
    cr_assert_neq(l_step, l_eval, "dropout changed nothing in the step");
    cr_assert(memcmp(grad_g, grad_h, sizeof grad_g) == 0, "gate gradients differ from the ops by hand");
    embcl_tensor_t all[] = {hp, hx, ht, ha, hb, hc, hl, dc, db, da, dp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        embcl_tensor_free(all[i]);
    embcl_graph_free(g);
    embcl_tensor_free(tp);
}
