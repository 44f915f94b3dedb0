/* Initialisation: N(0, 1) from a counter-based generator, the same bits on
 * the device as on the host (kernels/normal.h compiled for both), the
 * padding row zeroed; from_pretrained uploads as is and reports freeze. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;

static void setup(void)
{
    emb_suite_open(&rt, &dev);
}

static void teardown(void)
{
    emb_suite_close(rt, dev);
}

TestSuite(init, .init = setup, .fini = teardown);

Test(init, device_and_host_give_the_same_bits)
{
    const int64_t V = 257, D = 33;
    embcl_tensor_t w = emb_zeros(dev, V, D);
    TEST_OK(embcl_embedding_init_normal(w, 42, EMBCL_PADDING_NONE));
    float *host = malloc((size_t)(V * D) * sizeof *host);
    TEST_OK(embcl_embedding_normal_host(42, 0, V, D, host));
    float *got = emb_download_f32(w);
    for (int64_t i = 0; i < V * D; i++)
        cr_assert_eq(memcmp(&got[i], &host[i], sizeof(float)), 0, "element %lld: device %.9g, host %.9g",
                     (long long)i, got[i], host[i]);
    /* A row range of the host generator is the same as the whole. */
    float part[2 * 33];
    TEST_OK(embcl_embedding_normal_host(42, 100, 102, D, part));
    cr_assert_eq(memcmp(part, host + 100 * D, sizeof part), 0);
    free(host);
    free(got);
    embcl_tensor_free(w);
}

Test(init, samples_look_standard_normal_and_seeds_differ)
{
    const int64_t n = 1 << 16;
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    TEST_OK(embcl_embedding_normal_host(1, 0, 1, n, a));
    TEST_OK(embcl_embedding_normal_host(2, 0, 1, n, b));
    double s = 0, s2 = 0, s4 = 0;
    int same = 0, tail = 0;
    for (int64_t i = 0; i < n; i++) {
        s += a[i];
        s2 += (double)a[i] * a[i];
        s4 += (double)a[i] * a[i] * a[i] * a[i];
        same += a[i] == b[i];
        tail += fabsf(a[i]) > 3.0f;
    }
    double mean = s / n, var = s2 / n - mean * mean, kurt = s4 / n / (var * var);
    cr_expect(fabs(mean) < 0.02, "mean %g", mean);
    cr_expect(fabs(var - 1) < 0.03, "variance %g", var);
    cr_expect(fabs(kurt - 3) < 0.15, "kurtosis %g", kurt);
    /* P(|z| > 3) = 0.0027: about 177 of 65536. */
    cr_expect(tail > 120 && tail < 240, "%d samples beyond 3 sigma", tail);
    cr_expect_lt(same, 10, "seeds 1 and 2 agree on %d samples", same);
    free(a);
    free(b);
}

Test(init, padding_row_is_zeroed_and_views_keep_other_columns)
{
    embcl_tensor_t wide = emb_zeros(dev, 6, 5), left;
    TEST_OK(embcl_tensor_fill(wide, 9.0));
    TEST_OK(embcl_tensor_view_cols(wide, 0, 3, &left));
    TEST_OK(embcl_embedding_init_normal(left, 7, -2)); /* row 4 */
    float *h = emb_download_f32(wide);
    float want[6 * 3];
    TEST_OK(embcl_embedding_normal_host(7, 0, 6, 3, want));
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 5; c++) {
            float v = h[r * 5 + c];
            if (c >= 3)
                cr_assert_eq(v, 9.0f, "column %d outside the view changed", c);
            else if (r == 4)
                cr_assert_eq(v, 0.0f, "padding row not zero");
            else
                cr_assert_eq(v, want[r * 3 + c]);
        }
    free(h);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_init_normal(left, 7, 6), "embcl_embedding_init_normal",
               "'padding_idx' is 6");
    embcl_tensor_free(left);
    embcl_tensor_free(wide);
}

Test(init, from_pretrained_uploads_as_is_and_reports_freeze)
{
    float data[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
    embcl_tensor_t w = emb_zeros(dev, 4, 2);
    int frozen = -1;
    TEST_OK(embcl_embedding_from_pretrained(w, data, 1, &frozen));
    cr_assert_eq(frozen, 1);
    cr_assert(emb_bits_equal(w, data));
    TEST_OK(embcl_embedding_from_pretrained(w, data, 0, &frozen));
    cr_assert_eq(frozen, 0);
    /* The padding row stays as loaded (PyTorch does not zero it). */
    int64_t n = 2;
    int64_t pads[2] = {1, 1};
    embcl_tensor_t idx, out = emb_zeros(dev, 2, 2);
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &idx));
    TEST_OK(embcl_tensor_upload(idx, pads, sizeof pads));
    embcl_embedding_options o = embcl_embedding_options_default();
    o.padding_idx = 1;
    TEST_OK(embcl_embedding(w, idx, &o, out));
    float want[4] = {3, 4, 3, 4};
    cr_assert(emb_bits_equal(out, want), "the padding row was not returned as loaded");
    embcl_tensor_free(idx);
    embcl_tensor_free(out);
    embcl_tensor_free(w);
}
