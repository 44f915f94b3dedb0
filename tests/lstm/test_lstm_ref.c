/* nn.LSTM parity: every case of tests/data/lstm/lstm.ref (1 and 2 layers,
 * bidirectional, batch_first, variable lengths, given h0/c0, H = 1, no
 * bias) loads PyTorch's weights, runs forward and backward through time,
 * and compares outputs, h_n, c_n and every gradient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_device.h"
#include "test_util.h"

/* Forward values: relative 1e-5, with an absolute floor of 1e-6 for values
 * that cancel to near zero (a gate sum of I+H products). Gradients: 1e-4
 * relative; weight gradients sum T*B products per element, so their
 * absolute floor is 1e-5. */
#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 1e-5

static void run_case(embcl_device_t dev, const ref_case *c)
{
    embcl_lstm_config cfg = embcl_lstm_config_default(ref_attr_int(c, "input_size"), ref_attr_int(c, "hidden_size"));
    cfg.num_layers = (int)ref_attr_int(c, "num_layers");
    cfg.bidirectional = (int)ref_attr_int(c, "bidirectional");
    cfg.batch_first = (int)ref_attr_int(c, "batch_first");
    cfg.bias = (int)ref_attr_int(c, "bias");
    embcl_lstm_t lstm;
    TEST_OK(embcl_lstm_create(dev, &cfg, &lstm));
    size_t n_params;
    TEST_OK(embcl_lstm_param_count(lstm, &n_params));
    size_t expected_params = (size_t)cfg.num_layers * (cfg.bidirectional ? 2 : 1) * (cfg.bias ? 4 : 2);
    cr_assert_eq(n_params, expected_params, "%s: parameter count", c->name);
    for (size_t i = 0; i < n_params; i++) {
        const char *name;
        embcl_tensor_t w;
        TEST_OK(embcl_lstm_param(lstm, i, &name, &w, NULL));
        const ref_tensor *r = ref_tensor_need(c, name);
        cr_assert_eq(embcl_tensor_ndim(w), r->ndim, "%s: %s rank", c->name, name);
        for (int d = 0; d < r->ndim; d++)
            cr_assert_eq(embcl_tensor_dim(w, d), r->shape[d], "%s: %s dim %d", c->name, name, d);
        TEST_OK(embcl_tensor_upload(w, r->f32, (size_t)r->numel * sizeof(float)));
    }
    const ref_tensor *rx = ref_tensor_need(c, "x"), *ry = ref_tensor_need(c, "y"), *rhn = ref_tensor_need(c, "h_n"),
                     *rcn = ref_tensor_need(c, "c_n"), *rlen = ref_tensor_get(c, "lengths");
    embcl_tensor_t x = ref_to_device(dev, rx, 1), y = ref_to_device(dev, ry, 0), hn = ref_to_device(dev, rhn, 0), cn = ref_to_device(dev, rcn, 0);
    embcl_tensor_t h0 = NULL, c0 = NULL, dh0 = NULL, dc0 = NULL;
    if (ref_attr_int(c, "has_h0")) {
        h0 = ref_to_device(dev, ref_tensor_need(c, "h0"), 1);
        c0 = ref_to_device(dev, ref_tensor_need(c, "c0"), 1);
        dh0 = ref_to_device(dev, ref_tensor_need(c, "dh0"), 0);
        dc0 = ref_to_device(dev, ref_tensor_need(c, "dc0"), 0);
    }
    const int64_t *lengths = rlen ? rlen->i64 : NULL;
    TEST_OK(embcl_lstm_forward(lstm, x, lengths, h0, c0, 1, y, hn, cn));
    ref_expect_close(y, ry, 1.0f, FWD_RTOL, FWD_ATOL, c->name);
    ref_expect_close(hn, rhn, 1.0f, FWD_RTOL, FWD_ATOL, c->name);
    ref_expect_close(cn, rcn, 1.0f, FWD_RTOL, FWD_ATOL, c->name);

    embcl_tensor_t dy = ref_to_device(dev, ref_tensor_need(c, "dy"), 1), dhn = ref_to_device(dev, ref_tensor_need(c, "dh_n"), 1),
                   dcn = ref_to_device(dev, ref_tensor_need(c, "dc_n"), 1), dx = ref_to_device(dev, rx, 0);
    TEST_OK(embcl_lstm_backward(lstm, dy, dhn, dcn, dx, dh0, dc0));
    ref_expect_close(dx, ref_tensor_need(c, "dx"), 1.0f, GRAD_RTOL, GRAD_ATOL, c->name);
    if (dh0) {
        ref_expect_close(dh0, ref_tensor_need(c, "dh0"), 1.0f, GRAD_RTOL, GRAD_ATOL, c->name);
        ref_expect_close(dc0, ref_tensor_need(c, "dc0"), 1.0f, GRAD_RTOL, GRAD_ATOL, c->name);
    }
    for (size_t i = 0; i < n_params; i++) {
        const char *name;
        embcl_tensor_t g;
        TEST_OK(embcl_lstm_param(lstm, i, &name, NULL, &g));
        char gname[80];
        snprintf(gname, sizeof gname, "grad_%s", name);
        ref_expect_close(g, ref_tensor_need(c, gname), 1.0f, GRAD_RTOL, GRAD_ATOL, c->name);
    }
    TEST_FREE_ALL(x, y, hn, cn, h0, c0, dh0, dc0, dy, dhn, dcn, dx);
    embcl_lstm_free(lstm);
}

static void run_named(const char *name)
{
    ref_file *f = ref_load(ref_path("lstm/lstm.ref"));
    const ref_case *c = ref_case_get(f, name);
    cr_assert_not_null(c, "case %s missing from lstm.ref", name);
    embcl_runtime_t rt = test_runtime();
    run_case(test_device(rt), c);
    embcl_runtime_free(rt);
    ref_free(f);
}

Test(lstm_ref, one_layer) { run_named("one_layer"); }
Test(lstm_ref, two_layer_bidir_lengths_h0) { run_named("two_layer_bidir_lengths_h0"); }
Test(lstm_ref, batch_first_bidir_lengths) { run_named("batch_first_bidir_lengths"); }
Test(lstm_ref, hidden_one) { run_named("hidden_one"); }
Test(lstm_ref, no_bias) { run_named("no_bias"); }
Test(lstm_ref, two_layer_batch_first_lengths) { run_named("two_layer_batch_first_lengths"); }
Test(lstm_ref, wide) { run_named("wide"); }

/* Both GEMM backends must give the same LSTM: the wide case again with the
 * CLBlast path forced through the tuning override. */
Test(lstm_ref, wide_with_clblast)
{
    ref_file *f = ref_load(ref_path("lstm/lstm.ref"));
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "gemm.BACKEND=2";
    embcl_runtime_t rt = test_runtime_with(&o);
    run_case(test_device(rt), ref_case_get(f, "wide"));
    embcl_runtime_free(rt);
    ref_free(f);
}
