#include <stdio.h>
#include <stdlib.h>

#include "ref_device.h"
#include "test_util.h"

embcl_tensor_t ref_to_device(embcl_device_t dev, const ref_tensor *r, int with_data)
{
    embcl_tensor_t t = NULL;
    TEST_OK(embcl_tensor_create(dev, r->dtype, r->ndim, r->shape, &t));
    if (!with_data || r->numel == 0)
        return t;
    if (r->dtype == EMBCL_F32)
        TEST_OK(embcl_tensor_upload(t, r->f32, (size_t)r->numel * sizeof(float)));
    else if (r->dtype == EMBCL_I32)
        TEST_OK(embcl_tensor_upload(t, r->i32, (size_t)r->numel * sizeof(int32_t)));
    else
        TEST_OK(embcl_tensor_upload(t, r->i64, (size_t)r->numel * sizeof(int64_t)));
    return t;
}

void ref_expect_close(embcl_tensor_t t, const ref_tensor *want, float scale, double rtol, double atol,
                      const char *case_name)
{
    size_t n = (size_t)want->numel;
    cr_assert_eq((size_t)embcl_tensor_numel(t), n, "%s/%s: %lld elements, expected %zu", case_name, want->name,
                 (long long)embcl_tensor_numel(t), n);
    float *got = malloc(n * sizeof *got + 1), *w = malloc(n * sizeof *w + 1);
    cr_assert(got && w);
    TEST_OK(embcl_tensor_download(t, got, n * sizeof *got));
    for (size_t i = 0; i < n; i++)
        w[i] = want->f32[i] * scale;
    char what[256];
    if (scale == 1.0f)
        snprintf(what, sizeof what, "%s/%s", case_name, want->name);
    else
        snprintf(what, sizeof what, "%s/%s x%g", case_name, want->name, (double)scale);
    test_assert_close(got, w, n, rtol, atol, what);
    free(got);
    free(w);
}

void test_free_tensors(embcl_tensor_t *ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        embcl_tensor_free(ts[i]);
}
