/* Linear whose weight is a table split by rows (the tied decoder of the
 * embcl train model): y = x W^T cuts N at W's parts, dx = dy W cuts K and
 * continues each element's sum, dW = dy^T x cuts M at dW's parts, and split
 * logits cut M again. On embcl's own GEMM (CPUs) every result has the bits
 * of the unsplit product; on CLBlast (GPUs) the K cut accumulates with
 * beta 1, equal within rounding. */
#include <stdlib.h>
#include <string.h>

#include "split_pair.h"

static split_pair P;

static void setup(void)
{
    split_pair_open(&P);
}

static void teardown(void)
{
    split_pair_close(&P);
}

TestSuite(split_linear, .init = setup, .fini = teardown);

#define V SPLIT_V
#define D 16
#define W 20

static void expect(embcl_tensor_t a, embcl_tensor_t b, const char *what)
{
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(P.dev[WHOLE], &info));
    if (info.device_class == EMBCL_DEVICE_CPU) {
        split_expect_same(a, b, what);
        return;
    }
    size_t n = (size_t)embcl_tensor_numel(a);
    float *x = split_download(a), *y = split_download(b);
    /* dx = dy W sums V = 1200 products of values in [-1, 1] in two orders
     * (CLBlast continues the K cut with beta 1): their float roundings part
     * by up to ~V * 2^-24 ~ 7e-5 absolute, whatever the result's size; a
     * wrong part is off by whole products (~0.1 and more) */
    test_assert_close(y, x, n, 1e-5, 1e-4, what);
    free(x);
    free(y);
}

/* B rows of x; with bias the logits [B, V] must fit one buffer (B = 3),
 * without they are split too (B = 12: 3 rows of 4800 bytes a part). */
static void tied_decoder(int B, int with_bias, int view, int accumulate)
{
    float *xh = malloc((size_t)B * D * sizeof *xh), *wh = malloc(V * W * sizeof *wh), *bh = malloc(V * sizeof *bh);
    float *dyh = malloc((size_t)B * V * sizeof *dyh);
    split_fill_random(xh, (size_t)B * D, 51);
    split_fill_random(wh, V * W, 52);
    split_fill_random(bh, V, 53);
    split_fill_random(dyh, (size_t)B * V, 54);
    embcl_tensor_t x[2], wide[2], w[2], b[2], y[2], dy[2], dx[2], dw[2], dwide[2], db[2];
    for (int i = 0; i < 2; i++) {
        int64_t vs = V;
        x[i] = split_f32(P.dev[i], B, D, xh);
        if (view) {
            wide[i] = split_f32(P.dev[i], V, W, wh);
            TEST_OK(embcl_tensor_view_cols(wide[i], 2, 2 + D, &w[i]));
            dwide[i] = split_f32(P.dev[i], V, W, wh);
            TEST_OK(embcl_tensor_view_cols(dwide[i], 2, 2 + D, &dw[i]));
        } else {
            wide[i] = dwide[i] = NULL;
            w[i] = split_f32(P.dev[i], V, D, wh);
            dw[i] = split_f32(P.dev[i], V, D, wh);
        }
        b[i] = db[i] = NULL;
        if (with_bias) {
            TEST_OK(embcl_tensor_create(P.dev[i], EMBCL_F32, 1, &vs, &b[i]));
            TEST_OK(embcl_tensor_upload(b[i], bh, V * sizeof *bh));
            TEST_OK(embcl_tensor_create(P.dev[i], EMBCL_F32, 1, &vs, &db[i]));
            TEST_OK(embcl_tensor_upload(db[i], bh, V * sizeof *bh));
        }
        y[i] = split_f32(P.dev[i], B, V, NULL);
        dy[i] = split_f32(P.dev[i], B, V, dyh);
        dx[i] = split_f32(P.dev[i], B, D, xh);
        TEST_OK(embcl_linear_forward(x[i], w[i], b[i], y[i]));
        TEST_OK(embcl_linear_backward(x[i], w[i], dy[i], dx[i], dw[i], db[i], accumulate));
    }
    cr_assert(split_is_split(w[SPLIT]) && split_is_split(dw[SPLIT]));
    cr_assert_eq(split_is_split(y[SPLIT]), B * V * 4 > SPLIT_LIMIT);
    expect(y[WHOLE], y[SPLIT], "logits x W^T");
    expect(dx[WHOLE], dx[SPLIT], accumulate ? "dx += dy W" : "dx = dy W");
    expect(view ? dwide[WHOLE] : dw[WHOLE], view ? dwide[SPLIT] : dw[SPLIT], "dW (+)= dy^T x");
    if (with_bias)
        expect(db[WHOLE], db[SPLIT], "db");
    for (int i = 0; i < 2; i++) {
        embcl_tensor_free(x[i]);
        embcl_tensor_free(w[i]);
        embcl_tensor_free(wide[i]);
        embcl_tensor_free(b[i]);
        embcl_tensor_free(y[i]);
        embcl_tensor_free(dy[i]);
        embcl_tensor_free(dx[i]);
        embcl_tensor_free(dw[i]);
        embcl_tensor_free(dwide[i]);
        embcl_tensor_free(db[i]);
    }
    free(xh);
    free(wh);
    free(bh);
    free(dyh);
}

Test(split_linear, tied_decoder_with_bias)
{
    for (int view = 0; view < 2; view++)
        for (int acc = 0; acc < 2; acc++)
            tied_decoder(3, 1, view, acc);
}

Test(split_linear, tied_decoder_with_split_logits)
{
    for (int view = 0; view < 2; view++)
        for (int acc = 0; acc < 2; acc++)
            tied_decoder(12, 0, view, acc);
}

Test(split_linear, a_bias_over_split_logits_is_refused_by_name)
{
    embcl_tensor_t x = split_f32(P.dev[SPLIT], 12, D, NULL), w = split_f32(P.dev[SPLIT], V, D, NULL);
    embcl_tensor_t y = split_f32(P.dev[SPLIT], 12, V, NULL), b;
    int64_t vs = V;
    TEST_OK(embcl_tensor_create(P.dev[SPLIT], EMBCL_F32, 1, &vs, &b));
    TEST_OK(embcl_tensor_fill(b, 0.0));
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_linear_forward(x, w, b, y), "embcl_linear_forward", "[12, 1200]",
               "buffers");
    embcl_tensor_free(x);
    embcl_tensor_free(w);
    embcl_tensor_free(y);
    embcl_tensor_free(b);
}

/* The LSTM addresses its weights and workspaces as slices of one buffer:
 * one past the allocation limit is refused by name, not split. */
Test(split_linear, an_lstm_too_large_for_one_buffer_is_refused_by_name)
{
    embcl_lstm_config cfg = embcl_lstm_config_default(D, 128); /* W_ih: [512, 16], 32 KiB */
    embcl_lstm_t l = NULL;
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_lstm_create(P.dev[SPLIT], &cfg, &l), "embcl_lstm_create",
               "LSTM weight or workspace", "[512, 16]", "buffers");
    TEST_OK(embcl_lstm_create(P.dev[WHOLE], &cfg, &l));
    embcl_lstm_free(l);
}
