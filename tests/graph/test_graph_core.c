/* The graph core on the graph's own nodes: derived gradients against a
 * plain-C reference, gradient accumulation for values read twice and for
 * tied parameters (column views), detach, the memory plan and errors. */
#include <embcl/graph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "graph_host.h"

TEST_DEVICE_FIXTURE
TestSuite(graph_core, .init = test_device_setup, .fini = test_device_teardown);

enum { R = 7, I = 5, H = 9, O = 3 };

/* loss = mse(linear2(tanh(linear1(x))), target), against the host. */
Test(graph_core, mlp_gradients_match_host_reference)
{
    float x[R * I], w1[H * I], b1[H], w2[O * H], b2[O], tgt[R * O];
    host_fill(x, R * I, 1, 1.0f);
    host_fill(w1, H * I, 2, 0.5f);
    host_fill(b1, H, 3, 0.5f);
    host_fill(w2, O * H, 4, 0.5f);
    host_fill(b2, O, 5, 0.5f);
    host_fill(tgt, R * O, 6, 1.0f);
    int64_t sw1[2] = {H, I}, sb1[1] = {H}, sw2[2] = {O, H}, sb2[1] = {O}, sx[2] = {R, I}, st[2] = {R, O};
    embcl_tensor_t tw1 = test_tensor_f32(dev, 2, sw1, w1), tb1 = test_tensor_f32(dev, 1, sb1, b1);
    embcl_tensor_t tw2 = test_tensor_f32(dev, 2, sw2, w2), tb2 = test_tensor_f32(dev, 1, sb2, b2);

    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value vx, vt, pw1, pb1, pw2, pb2, h, a, y, loss;
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &vx));
    TEST_OK(embcl_graph_input(g, "target", EMBCL_F32, 2, st, &vt));
    TEST_OK(embcl_graph_param(g, "fc1.weight", tw1, &pw1));
    TEST_OK(embcl_graph_param(g, "fc1.bias", tb1, &pb1));
    TEST_OK(embcl_graph_param(g, "fc2.weight", tw2, &pw2));
    TEST_OK(embcl_graph_param(g, "fc2.bias", tb2, &pb2));
    TEST_OK(embcl_graph_linear(g, vx, pw1, pb1, &h));
    TEST_OK(embcl_graph_tanh(g, h, &a));
    TEST_OK(embcl_graph_linear(g, a, pw2, pb2, &y));
    TEST_OK(embcl_graph_mse_loss(g, y, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vx, x, sizeof x));
    TEST_OK(embcl_graph_set_input(g, vt, tgt, sizeof tgt));
    TEST_OK(embcl_graph_step(g));
    float l;
    TEST_OK(embcl_graph_download(g, loss, &l, sizeof l));

    double hh[R * H], yy[R * O], gy[R * O], ga[R * H], gh[R * H];
    double gw1[H * I] = {0}, gb1[H] = {0}, gw2[O * H] = {0}, gb2[O] = {0};
    float af[R * H];
    host_linear(x, R, I, w1, I, b1, H, hh);
    for (int i = 0; i < R * H; i++)
        af[i] = (float)tanh(hh[i]);
    host_linear(af, R, H, w2, H, b2, O, yy);
    double ref = 0;
    for (int i = 0; i < R * O; i++) {
        double d = yy[i] - tgt[i];
        ref += d * d;
        gy[i] = 2.0 * d / (R * O);
    }
    ref /= R * O;
    float reff = (float)ref;
    test_assert_close(&l, &reff, 1, 1e-5, 0, "loss");
    memset(ga, 0, sizeof ga);
    host_linear_back(af, R, H, w2, H, O, gy, ga, gw2, gb2);
    for (int i = 0; i < R * H; i++)
        gh[i] = ga[i] * (1.0 - (double)af[i] * af[i]);
    host_linear_back(x, R, I, w1, I, H, gh, NULL, gw1, gb1);

    float got[H * I], want[H * I];
    grad_of(g, pw1, got, H * I);
    to_float(gw1, want, H * I);
    test_assert_close(got, want, H * I, 1e-4, 1e-6, "fc1.weight grad");
    grad_of(g, pb1, got, H);
    to_float(gb1, want, H);
    test_assert_close(got, want, H, 1e-4, 1e-6, "fc1.bias grad");
    grad_of(g, pw2, got, O * H);
    to_float(gw2, want, O * H);
    test_assert_close(got, want, O * H, 1e-4, 1e-6, "fc2.weight grad");
    grad_of(g, pb2, got, O);
    to_float(gb2, want, O);
    test_assert_close(got, want, O, 1e-4, 1e-6, "fc2.bias grad");

    /* A second step gives the same gradients: nothing is left over from the first. */
    TEST_OK(embcl_graph_step(g));
    grad_of(g, pb2, got, O);
    test_assert_close(got, want, O, 1e-4, 1e-6, "fc2.bias grad, second step");

    embcl_graph_free(g);
    embcl_tensor_free(tw1);
    embcl_tensor_free(tb1);
    embcl_tensor_free(tw2);
    embcl_tensor_free(tb2);
}

/* One table T [6, 5] read three times: whole (linear on x5), and through
 * two column views (cols 0..3 and 3..5) as weights of two more linears.
 * Its gradient is the sum of all three, each in its own columns. */
Test(graph_core, tied_parameter_accumulates_through_column_views)
{
    enum { V = 6, D = 5, B = 4 };
    float t[V * D], x5[B * D], x3[B * 3], x2[B * 2], tgt[B * V];
    host_fill(t, V * D, 11, 0.5f);
    host_fill(x5, B * D, 12, 1.0f);
    host_fill(x3, B * 3, 13, 1.0f);
    host_fill(x2, B * 2, 14, 1.0f);
    host_fill(tgt, B * V, 15, 1.0f);
    int64_t st[2] = {V, D};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, t);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, left, right, vx5, vx3, vx2, vt, y1, y2, y3, s1, s2, loss;
    int64_t s5[2] = {B, D}, s3[2] = {B, 3}, s2s[2] = {B, 2}, sv[2] = {B, V};
    TEST_OK(embcl_graph_param(g, "table", tt, &p));
    TEST_OK(embcl_graph_cols(g, p, 0, 3, &left));
    TEST_OK(embcl_graph_cols(g, p, 3, 5, &right));
    TEST_OK(embcl_graph_input(g, "x5", EMBCL_F32, 2, s5, &vx5));
    TEST_OK(embcl_graph_input(g, "x3", EMBCL_F32, 2, s3, &vx3));
    TEST_OK(embcl_graph_input(g, "x2", EMBCL_F32, 2, s2s, &vx2));
    TEST_OK(embcl_graph_input(g, "target", EMBCL_F32, 2, sv, &vt));
    TEST_OK(embcl_graph_linear(g, vx5, p, EMBCL_VALUE_NONE, &y1));
    TEST_OK(embcl_graph_linear(g, vx3, left, EMBCL_VALUE_NONE, &y2));
    TEST_OK(embcl_graph_linear(g, vx2, right, EMBCL_VALUE_NONE, &y3));
    TEST_OK(embcl_graph_add(g, y1, y2, &s1));
    TEST_OK(embcl_graph_add(g, s1, y3, &s2));
    TEST_OK(embcl_graph_mse_loss(g, s2, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vx5, x5, sizeof x5));
    TEST_OK(embcl_graph_set_input(g, vx3, x3, sizeof x3));
    TEST_OK(embcl_graph_set_input(g, vx2, x2, sizeof x2));
    TEST_OK(embcl_graph_set_input(g, vt, tgt, sizeof tgt));
    for (int step = 0; step < 2; step++)
        TEST_OK(embcl_graph_step(g));

    double ya[B * V], yb[B * V], yc[B * V], gy[B * V], gt[V * D] = {0};
    host_linear(x5, B, D, t, D, NULL, V, ya);
    host_linear(x3, B, 3, t, D, NULL, V, yb);
    host_linear(x2, B, 2, t + 3, D, NULL, V, yc);
    for (int i = 0; i < B * V; i++)
        gy[i] = 2.0 * (ya[i] + yb[i] + yc[i] - tgt[i]) / (B * V);
    host_linear_back(x5, B, D, t, D, V, gy, NULL, gt, NULL);
    host_linear_back(x3, B, 3, t, D, V, gy, NULL, gt, NULL);
    host_linear_back(x2, B, 2, t + 3, D, V, gy, NULL, gt + 3, NULL);
    float got[V * D], want[V * D];
    grad_of(g, p, got, V * D);
    to_float(gt, want, V * D);
    test_assert_close(got, want, V * D, 1e-4, 1e-6, "table grad (whole + two column views)");
    embcl_graph_free(g);
    embcl_tensor_free(tt);
}

/* A value read by two nodes: both gradients add up. */
Test(graph_core, value_with_two_readers_gets_both_gradients)
{
    enum { B = 3, D = 4 };
    float w[D * D], x[B * D], tgt[B * D];
    host_fill(w, D * D, 21, 0.5f);
    host_fill(x, B * D, 22, 1.0f);
    host_fill(tgt, B * D, 23, 1.0f);
    int64_t sw[2] = {D, D}, sx[2] = {B, D};
    embcl_tensor_t tw = test_tensor_f32(dev, 2, sw, w);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, vx, vt, h, s, y, loss;
    TEST_OK(embcl_graph_param(g, "w", tw, &p));
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &vx));
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, sx, &vt));
    TEST_OK(embcl_graph_linear(g, vx, p, EMBCL_VALUE_NONE, &h));
    TEST_OK(embcl_graph_add(g, h, h, &s));              /* h read twice by one node */
    TEST_OK(embcl_graph_linear(g, s, p, EMBCL_VALUE_NONE, &y)); /* p read twice */
    TEST_OK(embcl_graph_mse_loss(g, y, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vx, x, sizeof x));
    TEST_OK(embcl_graph_set_input(g, vt, tgt, sizeof tgt));
    TEST_OK(embcl_graph_step(g));

    double hh[B * D], yy[B * D], gy[B * D], gs[B * D] = {0}, gw[D * D] = {0}, gh[B * D];
    float sf[B * D];
    host_linear(x, B, D, w, D, NULL, D, hh);
    for (int i = 0; i < B * D; i++)
        sf[i] = (float)(2 * hh[i]);
    host_linear(sf, B, D, w, D, NULL, D, yy);
    for (int i = 0; i < B * D; i++)
        gy[i] = 2.0 * (yy[i] - tgt[i]) / (B * D);
    host_linear_back(sf, B, D, w, D, D, gy, gs, gw, NULL);
    for (int i = 0; i < B * D; i++)
        gh[i] = 2 * gs[i];
    host_linear_back(x, B, D, w, D, D, gh, NULL, gw, NULL);
    float got[D * D], want[D * D];
    grad_of(g, p, got, D * D);
    to_float(gw, want, D * D);
    test_assert_close(got, want, D * D, 1e-4, 1e-6, "w grad (read by two nodes)");
    embcl_graph_free(g);
    embcl_tensor_free(tw);
}

Test(graph_core, detach_stops_the_gradient)
{
    float w[4] = {1, 2, 3, 4}, x[2] = {1, -1}, t[2] = {0, 0};
    int64_t sw[2] = {2, 2}, sx[2] = {1, 2};
    embcl_tensor_t tw = test_tensor_f32(dev, 2, sw, w), tw2 = test_tensor_f32(dev, 2, sw, w);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, p2, vx, vt, h, d, y, loss;
    TEST_OK(embcl_graph_param(g, "first.weight", tw, &p));
    TEST_OK(embcl_graph_param(g, "second.weight", tw2, &p2));
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &vx));
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, sx, &vt));
    TEST_OK(embcl_graph_linear(g, vx, p, EMBCL_VALUE_NONE, &h));
    TEST_OK(embcl_graph_detach(g, h, &d));
    TEST_OK(embcl_graph_linear(g, d, p2, EMBCL_VALUE_NONE, &y));
    TEST_OK(embcl_graph_mse_loss(g, y, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vx, x, sizeof x));
    TEST_OK(embcl_graph_set_input(g, vt, t, sizeof t));
    TEST_OK(embcl_graph_step(g));
    embcl_tensor_t gt = NULL;
    TEST_OK(embcl_graph_grad(g, p, &gt));
    cr_assert_null(gt, "a detached parameter got a gradient");
    TEST_OK(embcl_graph_grad(g, p2, &gt));
    cr_assert_not_null(gt);
    float got[4];
    TEST_OK(embcl_tensor_download(gt, got, sizeof got));
    embcl_tensor_free(gt);
    /* h = [-1, -1]; y = h W2^T = [-3, -7]; gy = y; gW2[o, i] = gy[o] h[i] */
    float want[4] = {3, 3, 7, 7};
    test_assert_close(got, want, 4, 1e-5, 0, "second.weight grad");
    embcl_graph_free(g);
    embcl_tensor_free(tw);
    embcl_tensor_free(tw2);
}

/* A deep chain: the plan reuses buffers (peak below the sum), elementwise
 * nodes run in place, and steps after the first allocate nothing. */
Test(graph_core, memory_plan_reuses_buffers_and_steps_allocate_nothing)
{
    enum { B = 8, D = 16, L = 6 };
    float w[L][D * D], x[B * D], t[B * D];
    int64_t sw[2] = {D, D}, sx[2] = {B, D};
    embcl_tensor_t tw[L];
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value vx, vt, h, loss;
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &vx));
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, sx, &vt));
    h = vx;
    for (int l = 0; l < L; l++) {
        host_fill(w[l], D * D, 30 + (uint32_t)l, 0.3f);
        tw[l] = test_tensor_f32(dev, 2, sw, w[l]);
        char name[32];
        snprintf(name, sizeof name, "layers.%d.weight", l);
        embcl_value p, z, a;
        TEST_OK(embcl_graph_param(g, name, tw[l], &p));
        TEST_OK(embcl_graph_linear(g, h, p, EMBCL_VALUE_NONE, &z));
        TEST_OK(embcl_graph_add(g, z, z, &a)); /* z dies here: in place */
        TEST_OK(embcl_graph_tanh(g, a, &h));    /* a dies here: in place */
    }
    TEST_OK(embcl_graph_mse_loss(g, h, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    embcl_graph_memory m;
    TEST_OK(embcl_graph_memory_stats(g, &m));
    cr_assert_gt(m.n_inplace, 0, "no node ran in place");
    cr_assert_lt(m.planned_peak_bytes, m.unplanned_bytes, "planned %llu bytes, the buffers alone are %llu",
                 (unsigned long long)m.planned_peak_bytes, (unsigned long long)m.unplanned_bytes);
    cr_assert_gt(m.planned_peak_bytes, 0);
    host_fill(x, B * D, 40, 1.0f);
    host_fill(t, B * D, 41, 1.0f);
    embcl_pool_stats before, after;
    float l1 = 0, l2 = 0;
    for (int step = 0; step < 5; step++) {
        if (step == 1)
            TEST_OK(embcl_device_pool_stats(dev, &before));
        TEST_OK(embcl_graph_set_input(g, vx, x, sizeof x));
        TEST_OK(embcl_graph_set_input(g, vt, t, sizeof t));
        TEST_OK(embcl_graph_step(g));
        TEST_OK(embcl_graph_download(g, loss, step == 0 ? &l1 : &l2, sizeof l1));
    }
    TEST_OK(embcl_device_pool_stats(dev, &after));
    cr_assert_eq(after.cl_allocs, before.cl_allocs, "steps 2..5 made %llu new OpenCL buffers",
                 (unsigned long long)(after.cl_allocs - before.cl_allocs));
    cr_assert_eq(l1, l2, "the same inputs gave losses %.9g and %.9g (no optimizer: nothing changes)", l1, l2);
    embcl_graph_free(g);
    for (int l = 0; l < L; l++)
        embcl_tensor_free(tw[l]);
}

Test(graph_core, bad_builds_are_named_and_leave_the_graph_unchanged)
{
    float w[6] = {0};
    int64_t sw[2] = {2, 3}, sx[2] = {4, 5};
    embcl_tensor_t tw = test_tensor_f32(dev, 2, sw, w);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, vx, y = 99;
    TEST_OK(embcl_graph_param(g, "fc.weight", tw, &p));
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &vx));
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_graph_linear(g, vx, p, EMBCL_VALUE_NONE, &y), "embcl_graph_linear",
               "fc.weight", "[2, 3]", "[4, 5]");
    cr_assert_eq(y, 99);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_param(g, "fc.weight", tw, &y), "embcl_graph_param", "fc.weight");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_tanh(g, 42, &y), "embcl_graph_tanh", "42");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_graph_set_loss(g, vx), "embcl_graph_set_loss", "[4, 5]");
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_step(g), "embcl_graph_step", "not compiled");
    /* The graph still builds and runs after the failures. */
    embcl_value h, h2, loss;
    int64_t sx3[2] = {4, 3};
    embcl_value vx3;
    TEST_OK(embcl_graph_input(g, "x3", EMBCL_F32, 2, sx3, &vx3));
    TEST_OK(embcl_graph_linear(g, vx3, p, EMBCL_VALUE_NONE, &h));
    TEST_OK(embcl_graph_tanh(g, h, &h2));
    TEST_OK(embcl_graph_mse_loss(g, h2, h2, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_tanh(g, h, &y), "embcl_graph_tanh", "compiled already");
    float buf[8];
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_download(g, h, buf, sizeof buf), "embcl_graph_download", "not kept");
    embcl_graph_free(g);
    embcl_tensor_free(tw);
}
