/* F.linear parity (tests/data/lstm/linear.ref): y, and dx, dweight, dbias,
 * written and then accumulated. */
#include <stdio.h>
#include <stdlib.h>

#include "ref.h"
#include "test_util.h"

static embcl_tensor_t from_ref(embcl_device_t dev, const ref_tensor *r, int with_data)
{
    return test_tensor_f32(dev, r->ndim, r->shape, with_data ? r->f32 : NULL);
}

/* scale 2 checks accumulation: the gradient was added twice */
static void expect(embcl_tensor_t t, const ref_tensor *want, double rtol, double atol, const char *cname, float scale)
{
    size_t n = (size_t)want->numel;
    float *got = malloc(n * sizeof *got + 1), *w = malloc(n * sizeof *w + 1);
    TEST_OK(embcl_tensor_download(t, got, n * sizeof *got));
    for (size_t i = 0; i < n; i++)
        w[i] = want->f32[i] * scale;
    char what[160];
    snprintf(what, sizeof what, "%s/%s x%g", cname, want->name, (double)scale);
    test_assert_close(got, w, n, rtol, atol, what);
    free(got);
    free(w);
}

Test(linear_ref, forward_and_backward_match_pytorch)
{
    ref_file *f = ref_load(ref_path("lstm/linear.ref"));
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        int has_bias = (int)ref_attr_int(c, "bias");
        embcl_tensor_t x = from_ref(dev, ref_tensor_need(c, "x"), 1), w = from_ref(dev, ref_tensor_need(c, "weight"), 1),
                       b = has_bias ? from_ref(dev, ref_tensor_need(c, "bias"), 1) : NULL,
                       y = from_ref(dev, ref_tensor_need(c, "y"), 0), dy = from_ref(dev, ref_tensor_need(c, "dy"), 1),
                       dx = from_ref(dev, ref_tensor_need(c, "dx"), 0),
                       dw = from_ref(dev, ref_tensor_need(c, "dweight"), 0),
                       db = has_bias ? from_ref(dev, ref_tensor_need(c, "dbias"), 0) : NULL;
        TEST_OK(embcl_linear_forward(x, w, b, y));
        /* forward: in-sums of `in` products, 1e-5 relative with a 1e-6 floor */
        expect(y, ref_tensor_need(c, "y"), 1e-5, 1e-6, c->name, 1.0f);
        TEST_OK(embcl_linear_backward(x, w, dy, dx, dw, db, 0));
        expect(dx, ref_tensor_need(c, "dx"), 1e-4, 1e-5, c->name, 1.0f);
        expect(dw, ref_tensor_need(c, "dweight"), 1e-4, 1e-5, c->name, 1.0f);
        if (db)
            expect(db, ref_tensor_need(c, "dbias"), 1e-4, 1e-5, c->name, 1.0f);
        TEST_OK(embcl_linear_backward(x, w, dy, dx, dw, db, 1));
        expect(dx, ref_tensor_need(c, "dx"), 1e-4, 1e-5, c->name, 2.0f);
        expect(dw, ref_tensor_need(c, "dweight"), 1e-4, 1e-5, c->name, 2.0f);
        if (db)
            expect(db, ref_tensor_need(c, "dbias"), 1e-4, 1e-5, c->name, 2.0f);
        embcl_tensor_t ts[] = {x, w, b, y, dy, dx, dw, db};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
            embcl_tensor_free(ts[k]);
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
    embcl_tensor_t ts[] = {x, w, y, b, w2, wi};
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
        embcl_tensor_free(ts[k]);
    embcl_runtime_free(rt);
}
