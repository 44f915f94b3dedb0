/* Loss parity (tests/data/lstm/loss.ref): cross-entropy for every
 * reduction, with and without label smoothing, ignore_index (default and
 * custom), i32 and i64 targets, a class count above the work-group; BCE with
 * logits and MSE for every reduction. Loss and input gradient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_device.h"
#include "test_util.h"

static embcl_reduction reduction_of(const ref_case *c)
{
    const char *r = ref_attr_str(c, "reduction");
    return strcmp(r, "none") == 0 ? EMBCL_REDUCTION_NONE
                                  : strcmp(r, "sum") == 0 ? EMBCL_REDUCTION_SUM : EMBCL_REDUCTION_MEAN;
}

/* tuning: NULL for the device's table, else overrides ("loss.VW=1,..."). */
static void cross_entropy_cases(const char *tuning)
{
    ref_file *f = ref_load(ref_path("lstm/loss.ref"));
    embcl_runtime_options ro = embcl_runtime_options_default();
    if (tuning)
        ro.tuning = tuning;
    embcl_runtime_t rt = test_runtime_with(&ro);
    embcl_device_t dev = test_device(rt);
    int seen = 0;
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        if (strncmp(c->name, "ce_", 3) != 0)
            continue;
        seen++;
        const ref_tensor *rz = ref_tensor_need(c, "logits"), *rl = ref_tensor_need(c, "loss"),
                         *rdl = ref_tensor_need(c, "dloss");
        embcl_cross_entropy_options o = embcl_cross_entropy_options_default();
        o.reduction = reduction_of(c);
        o.ignore_index = ref_attr_int(c, "ignore_index");
        o.label_smoothing = (float)ref_attr_f(c, "label_smoothing");
        embcl_tensor_t z = test_tensor_f32(dev, 2, rz->shape, rz->f32), t = ref_to_device(dev, ref_tensor_need(c, "target"), 1),
                       loss = test_tensor_f32(dev, 1, rl->shape, NULL),
                       dl = test_tensor_f32(dev, 1, rdl->shape, rdl->f32), dz = test_tensor_f32(dev, 2, rz->shape, NULL);
        TEST_OK(embcl_cross_entropy(z, t, &o, loss));
        /* a log-sum-exp over C terms, then (for mean/sum) N rows */
        ref_expect_close(loss, rl, 1.0f, 1e-5, 1e-6, c->name);
        TEST_OK(embcl_cross_entropy_backward(z, t, &o, dl, dz, 0));
        ref_expect_close(dz, ref_tensor_need(c, "dlogits"), 1.0f, 1e-4, 1e-6, c->name);
        TEST_FREE_ALL(z, t, loss, dl, dz);
    }
    cr_assert_eq(seen, 18, "expected 18 cross-entropy cases, found %d", seen);
    embcl_runtime_free(rt);
    ref_free(f);
}

Test(loss_ref, cross_entropy_matches_pytorch)
{
    cross_entropy_cases(NULL);
}

/* The other row walks: one float per work-item (GPUs), float4 steps, and
 * groups narrower than a row's blocks (C = 130 and 5: blocks and tails). */
Test(loss_ref, cross_entropy_matches_pytorch_in_every_row_walk, .timeout = 120)
{
    cross_entropy_cases("loss.VW=1,loss.WGS=256");
    cross_entropy_cases("loss.VW=4,loss.WGS=16");
    cross_entropy_cases("loss.VW=8,loss.WGS=2");
    /* groups of 4 and 8 hung on PoCL while ignored rows returned before the barriers */
    cross_entropy_cases("loss.VW=8,loss.WGS=8");
    cross_entropy_cases("loss.VW=1,loss.WGS=4");
}

Test(loss_ref, bce_and_mse_match_pytorch)
{
    ref_file *f = ref_load(ref_path("lstm/loss.ref"));
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    int seen = 0;
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        int bce = strncmp(c->name, "bce_", 4) == 0;
        if (!bce && strncmp(c->name, "mse_", 4) != 0)
            continue;
        seen++;
        embcl_reduction r = reduction_of(c);
        const ref_tensor *rx = ref_tensor_need(c, "x"), *rt_ = ref_tensor_need(c, "target"),
                         *rl = ref_tensor_need(c, "loss"), *rdl = ref_tensor_need(c, "dloss");
        embcl_tensor_t x = test_tensor_f32(dev, 2, rx->shape, rx->f32), t = test_tensor_f32(dev, 2, rt_->shape, rt_->f32),
                       loss = test_tensor_f32(dev, rl->ndim, rl->shape, NULL),
                       dl = test_tensor_f32(dev, rdl->ndim, rdl->shape, rdl->f32),
                       dx = test_tensor_f32(dev, 2, rx->shape, NULL);
        TEST_OK(bce ? embcl_bce_with_logits(x, t, r, loss) : embcl_mse_loss(x, t, r, loss));
        ref_expect_close(loss, rl, 1.0f, 1e-5, 1e-6, c->name);
        TEST_OK(bce ? embcl_bce_with_logits_backward(x, t, r, dl, dx, 0) : embcl_mse_loss_backward(x, t, r, dl, dx, 0));
        ref_expect_close(dx, ref_tensor_need(c, "dx"), 1.0f, 1e-4, 1e-6, c->name);
        TEST_FREE_ALL(x, t, loss, dl, dx);
    }
    cr_assert_eq(seen, 6);
    embcl_runtime_free(rt);
    ref_free(f);
}

Test(loss_ref, bad_targets_are_named_and_write_nothing)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    int64_t sz[2] = {3, 4}, st[1] = {3}, s1[1] = {1};
    float zeros[12] = {0};
    embcl_tensor_t z = test_tensor_f32(dev, 2, sz, zeros), loss = test_tensor_f32(dev, 1, s1, NULL), t, tf;
    float sentinel = 42.0f;
    TEST_OK(embcl_tensor_upload(loss, &sentinel, sizeof sentinel));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, st, &t));
    int64_t bad[3] = {0, -100, 4};
    TEST_OK(embcl_tensor_upload(t, bad, sizeof bad));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_cross_entropy(z, t, NULL, loss), "embcl_cross_entropy", "'target'",
               "position 2", "is 4", "[0, 4)");
    int64_t neg[3] = {0, -3, 1};
    TEST_OK(embcl_tensor_upload(t, neg, sizeof neg));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_cross_entropy(z, t, NULL, loss), "position 1", "is -3");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_cross_entropy_backward(z, t, NULL, NULL, z, 0),
               "embcl_cross_entropy_backward", "position 1");
    float got;
    TEST_OK(embcl_tensor_download(loss, &got, sizeof got));
    cr_assert_eq(got, 42.0f, "loss written by a failed call");
    float zz[12];
    TEST_OK(embcl_tensor_download(z, zz, sizeof zz));
    for (int i = 0; i < 12; i++)
        cr_assert_eq(zz[i], 0.0f, "dlogits written by a failed call");
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, st, &tf));
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_cross_entropy(z, tf, NULL, loss), "'target'", "f32");
    embcl_cross_entropy_options o = embcl_cross_entropy_options_default();
    o.reduction = EMBCL_REDUCTION_NONE;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_cross_entropy(z, t, &o, loss), "'loss'", "[1]", "[3]");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_mse_loss(z, tf, EMBCL_REDUCTION_MEAN, loss), "embcl_mse_loss", "'target'");
    embcl_tensor_free(z);
    embcl_tensor_free(loss);
    embcl_tensor_free(t);
    embcl_tensor_free(tf);
    embcl_runtime_free(rt);
}
