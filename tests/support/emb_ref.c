#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

void emb_suite_open(embcl_runtime_t *rt, embcl_device_t *dev)
{
    *rt = test_runtime();
    *dev = test_device(*rt);
}

void emb_suite_close(embcl_runtime_t rt, embcl_device_t dev)
{
    test_expect_no_tensors(dev);
    embcl_runtime_free(rt);
}

embcl_tensor_t emb_upload(embcl_device_t dev, const ref_tensor *t)
{
    cr_assert_not_null(t, "reference tensor missing");
    embcl_tensor_t x = NULL;
    TEST_OK(embcl_tensor_create(dev, t->dtype, t->ndim, t->shape, &x));
    size_t n = (size_t)t->numel;
    if (t->dtype == EMBCL_F32)
        TEST_OK(embcl_tensor_upload(x, t->f32, n * sizeof(float)));
    else if (t->dtype == EMBCL_I32)
        TEST_OK(embcl_tensor_upload(x, t->i32, n * sizeof(int32_t)));
    else
        TEST_OK(embcl_tensor_upload(x, t->i64, n * sizeof(int64_t)));
    return x;
}

embcl_tensor_t emb_zeros(embcl_device_t dev, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    embcl_tensor_t x = NULL;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &x));
    TEST_OK(embcl_tensor_fill(x, 0.0));
    return x;
}

embcl_embedding_options emb_case_options(const ref_case *c)
{
    embcl_embedding_options o = embcl_embedding_options_default();
    if (ref_has_attr(c, "padding_idx") && strcmp(ref_attr_str(c, "padding_idx"), "none") != 0)
        o.padding_idx = ref_attr_int(c, "padding_idx");
    if (ref_has_attr(c, "max_norm") && strcmp(ref_attr_str(c, "max_norm"), "none") != 0)
        o.max_norm = ref_attr_f(c, "max_norm");
    if (ref_has_attr(c, "norm_type"))
        o.norm_type = ref_attr_f(c, "norm_type");
    if (ref_has_attr(c, "scale_grad_by_freq"))
        o.scale_grad_by_freq = (int)ref_attr_int(c, "scale_grad_by_freq");
    if (ref_has_attr(c, "include_last_offset"))
        o.include_last_offset = (int)ref_attr_int(c, "include_last_offset");
    if (ref_has_attr(c, "mode")) {
        const char *m = ref_attr_str(c, "mode");
        o.mode = strcmp(m, "sum") == 0 ? EMBCL_BAG_SUM : strcmp(m, "mean") == 0 ? EMBCL_BAG_MEAN : EMBCL_BAG_MAX;
    }
    return o;
}

float *emb_download_f32(embcl_tensor_t t)
{
    size_t n = (size_t)embcl_tensor_numel(t);
    float *h = malloc((n ? n : 1) * sizeof *h);
    TEST_OK(embcl_tensor_download(t, h, n * sizeof *h));
    return h;
}

void emb_expect_f32(embcl_tensor_t t, const ref_tensor *want, double rtol, double atol, const char *what)
{
    cr_assert_not_null(want, "%s: reference tensor missing", what);
    cr_assert_eq(embcl_tensor_numel(t), want->numel, "%s: %lld elements, expected %lld", what,
                 (long long)embcl_tensor_numel(t), (long long)want->numel);
    float *h = emb_download_f32(t);
    test_assert_close(h, want->f32, (size_t)want->numel, rtol, atol, what);
    free(h);
}

void emb_expect_int(embcl_tensor_t t, const ref_tensor *want, const char *what)
{
    cr_assert_eq(embcl_tensor_numel(t), want->numel, "%s: element count", what);
    size_t n = (size_t)want->numel;
    int64_t *h = malloc((n ? n : 1) * sizeof *h);
    if (embcl_tensor_dtype(t) == EMBCL_I32) {
        int32_t *h32 = malloc((n ? n : 1) * sizeof *h32);
        TEST_OK(embcl_tensor_download(t, h32, n * sizeof *h32));
        for (size_t i = 0; i < n; i++)
            h[i] = h32[i];
        free(h32);
    } else {
        TEST_OK(embcl_tensor_download(t, h, n * sizeof *h));
    }
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h[i], want->i64[i], "%s: element %zu is %lld, expected %lld", what, i, (long long)h[i],
                     (long long)want->i64[i]);
    free(h);
}

int emb_bits_equal(embcl_tensor_t t, const float *host)
{
    float *h = emb_download_f32(t);
    int eq = memcmp(h, host, (size_t)embcl_tensor_numel(t) * sizeof(float)) == 0;
    free(h);
    return eq;
}
