/* F.linear parity (tests/data/lstm/linear.ref): y, and dx, dweight, dbias,
 * written and then accumulated. */
#include <stdio.h>
#include <stdlib.h>

#include "ref_device.h"
#include "test_util.h"

Test(linear_ref, forward_and_backward_match_pytorch)
{
    ref_file *f = ref_load(ref_path("lstm/linear.ref"));
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        int has_bias = (int)ref_attr_int(c, "bias");
        embcl_tensor_t x = ref_to_device(dev, ref_tensor_need(c, "x"), 1), w = ref_to_device(dev, ref_tensor_need(c, "weight"), 1),
                       b = has_bias ? ref_to_device(dev, ref_tensor_need(c, "bias"), 1) : NULL,
                       y = ref_to_device(dev, ref_tensor_need(c, "y"), 0), dy = ref_to_device(dev, ref_tensor_need(c, "dy"), 1),
                       dx = ref_to_device(dev, ref_tensor_need(c, "dx"), 0),
                       dw = ref_to_device(dev, ref_tensor_need(c, "dweight"), 0),
                       db = has_bias ? ref_to_device(dev, ref_tensor_need(c, "dbias"), 0) : NULL;
        TEST_OK(embcl_linear_forward(x, w, b, y));
        /* forward: in-sums of `in` products, 1e-5 relative with a 1e-6 floor */
        ref_expect_close(y, ref_tensor_need(c, "y"), 1.0f, 1e-5, 1e-6, c->name);
        TEST_OK(embcl_linear_backward(x, w, dy, dx, dw, db, 0));
        ref_expect_close(dx, ref_tensor_need(c, "dx"), 1.0f, 1e-4, 1e-5, c->name);
        ref_expect_close(dw, ref_tensor_need(c, "dweight"), 1.0f, 1e-4, 1e-5, c->name);
        if (db)
            ref_expect_close(db, ref_tensor_need(c, "dbias"), 1.0f, 1e-4, 1e-5, c->name);
        TEST_OK(embcl_linear_backward(x, w, dy, dx, dw, db, 1));
        ref_expect_close(dx, ref_tensor_need(c, "dx"), 2.0f, 1e-4, 1e-5, c->name);
        ref_expect_close(dw, ref_tensor_need(c, "dweight"), 2.0f, 1e-4, 1e-5, c->name);
        if (db)
            ref_expect_close(db, ref_tensor_need(c, "dbias"), 2.0f, 1e-4, 1e-5, c->name);
        TEST_FREE_ALL(x, w, b, y, dy, dx, dw, db);
    }
    embcl_runtime_free(rt);
    ref_free(f);
}

Test(linear_ref, bad_shapes_are_named_and_write_nothing)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    int64_t sx[2] = {3, 4}, sw[2] = {5, 6}, sy[2] = {3, 5}, sb[1] = {4};
    float ones[30];
    for (int i = 0; i < 30; i++)
        ones[i] = 1.0f;
    embcl_tensor_t x = test_tensor_f32(dev, 2, sx, ones), w = test_tensor_f32(dev, 2, sw, ones),
                   y = test_tensor_f32(dev, 2, sy, ones), b = test_tensor_f32(dev, 1, sb, ones), wi;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_linear_forward(x, w, NULL, y), "embcl_linear_forward", "'weight'", "[5, 6]");
    int64_t sw2[2] = {5, 4};
    embcl_tensor_t w2 = test_tensor_f32(dev, 2, sw2, ones);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_linear_forward(x, w2, b, y), "'bias'", "[4]");
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 2, sw2, &wi));
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_linear_forward(x, wi, NULL, y), "'weight'", "i32");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_linear_backward(x, w2, x, NULL, NULL, NULL, 0), "embcl_linear_backward",
               "'dy'");
    float got[15];
    TEST_OK(embcl_tensor_download(y, got, sizeof got));
    for (int i = 0; i < 15; i++)
        cr_assert_eq(got[i], 1.0f, "y was written by a failed call");
    TEST_FREE_ALL(x, w, y, b, w2, wi);
    embcl_runtime_free(rt);
}
