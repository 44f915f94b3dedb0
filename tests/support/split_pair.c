#include <stdlib.h>
#include <string.h>

#include <embcl-opencl.h>

#include "split_pair.h"

void split_pair_open(split_pair *p)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    p->rt[WHOLE] = test_runtime_with(&o);
    o.max_alloc_bytes = SPLIT_LIMIT;
    p->rt[SPLIT] = test_runtime_with(&o);
    for (int i = 0; i < 2; i++)
        p->dev[i] = test_device(p->rt[i]);
}

void split_pair_close(split_pair *p)
{
    for (int i = 0; i < 2; i++) {
        test_expect_no_tensors(p->dev[i]);
        embcl_runtime_free(p->rt[i]);
    }
}

int split_is_split(embcl_tensor_t t)
{
    return embcl_tensor_cl_mem(t, NULL) == NULL;
}

embcl_tensor_t split_f32(embcl_device_t dev, int64_t rows, int64_t cols, const float *host)
{
    int64_t shape[2] = {rows, cols};
    embcl_tensor_t t = NULL;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &t));
    if (host)
        TEST_OK(embcl_tensor_upload(t, host, (size_t)(rows * cols) * sizeof(float)));
    else
        TEST_OK(embcl_tensor_fill(t, 0.0));
    return t;
}

embcl_tensor_t split_i64(embcl_device_t dev, int64_t n, const int64_t *host)
{
    embcl_tensor_t t = NULL;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &t));
    TEST_OK(embcl_tensor_upload(t, host, (size_t)n * sizeof(int64_t)));
    return t;
}

void split_fill_random(float *x, size_t n, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

float *split_download(embcl_tensor_t t)
{
    size_t n = (size_t)embcl_tensor_numel(t), es = embcl_tensor_dtype(t) == EMBCL_I32 ? 4 : embcl_tensor_dtype(t) == EMBCL_F32 ? 4 : 8;
    float *h = malloc(n * es + 1);
    cr_assert_not_null(h);
    TEST_OK(embcl_tensor_download(t, h, n * es));
    return h;
}

void split_expect_same(embcl_tensor_t whole, embcl_tensor_t split, const char *what)
{
    cr_assert_eq(embcl_tensor_numel(whole), embcl_tensor_numel(split), "%s: sizes differ", what);
    size_t n = (size_t)embcl_tensor_numel(whole);
    float *a = split_download(whole), *b = split_download(split);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            size_t cols = (size_t)embcl_tensor_dim(whole, embcl_tensor_ndim(whole) - 1);
            float x = a[i], y = b[i];
            free(a);
            free(b);
            cr_assert_fail("%s: element %zu (row %zu, column %zu) is %.9g unsplit but %.9g split", what, i,
                           cols ? i / cols : 0, cols ? i % cols : 0, (double)x, (double)y);
        }
    free(a);
    free(b);
}
