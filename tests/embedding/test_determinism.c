/* The deterministic scatter gives the same bytes on every run (heavily
 * duplicated indices, per_sample_weights and mean mode make the order of
 * additions matter); the atomic path agrees with it to rounding. */
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

TestSuite(determinism, .init = setup, .fini = teardown);

#define V 64
#define D 24
#define B 512
#define L 16

static float *run_backward(embcl_scatter path, embcl_tensor_t idx, embcl_tensor_t offs, embcl_tensor_t psw,
                           embcl_tensor_t g, int sparse)
{
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = EMBCL_BAG_SUM;
    o.scatter = path;
    embcl_bags bags = {idx, offs, psw};
    embcl_tensor_t gw = emb_zeros(dev, V, D);
    if (sparse) {
        embcl_rowsparse_t gs;
        TEST_OK(embcl_rowsparse_create(dev, V, D, V, &gs));
        o.sparse = 1;
        TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, V, &o, NULL, gs, NULL));
        TEST_OK(embcl_rowsparse_to_dense(gs, gw, 0));
        embcl_rowsparse_free(gs);
    } else {
        TEST_OK(embcl_embedding_bag_backward(g, NULL, &bags, NULL, V, &o, gw, NULL, NULL));
    }
    float *h = emb_download_f32(gw);
    embcl_tensor_free(gw);
    return h;
}

Test(determinism, deterministic_backward_gives_identical_bytes)
{
    int64_t n = B * L, nb = B;
    int64_t *iv = malloc((size_t)n * sizeof *iv), *ov = malloc(B * sizeof *ov);
    float *pv = malloc((size_t)n * sizeof *pv), *gv = malloc(B * D * sizeof *gv);
    unsigned x = 12345;
    for (int64_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        iv[i] = (x >> 16) % 5 == 0 ? (int64_t)((x >> 8) % V) : 3; /* row 3 in ~80% of positions */
        pv[i] = (float)((x >> 9) % 1000) / 997.0f - 0.5f;
    }
    for (int64_t b = 0; b < B; b++)
        ov[b] = b * L;
    for (int i = 0; i < B * D; i++) {
        x = x * 1103515245u + 12345u;
        gv[i] = (float)((x >> 9) % 100000) / 7919.0f - 6.0f;
    }
    embcl_tensor_t idx, offs, psw, g;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &idx));
    TEST_OK(embcl_tensor_upload(idx, iv, (size_t)n * sizeof *iv));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &nb, &offs));
    TEST_OK(embcl_tensor_upload(offs, ov, B * sizeof *ov));
    psw = test_tensor_f32(dev, 1, &n, pv);
    int64_t gs[2] = {B, D};
    g = test_tensor_f32(dev, 2, gs, gv);
    for (int sparse = 0; sparse < 2; sparse++) {
        float *a = run_backward(EMBCL_SCATTER_DETERMINISTIC, idx, offs, psw, g, sparse);
        for (int rep = 0; rep < 3; rep++) {
            float *b = run_backward(EMBCL_SCATTER_DETERMINISTIC, idx, offs, psw, g, sparse);
            cr_assert_eq(memcmp(a, b, V * D * sizeof *a), 0, "run %d differs from run 0 (%s)", rep + 1,
                         sparse ? "sparse" : "dense");
            free(b);
        }
        /* GPU-shaped kernels (32 lanes per row, float4) add in the same
         * order: the same bits. */
        embcl_runtime_options ro = embcl_runtime_options_default();
        ro.tuning = "bag_bwd.LANES=32,bag_bwd.VW=4,bag_bwd.CH=1,bag_bwd.WGS=128";
        embcl_runtime_t rt2 = test_runtime_with(&ro);
        embcl_device_t keep = dev;
        dev = test_device(rt2);
        embcl_tensor_t idx2, offs2, psw2, g2;
        TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &idx2));
        TEST_OK(embcl_tensor_copy(idx2, idx));
        TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &nb, &offs2));
        TEST_OK(embcl_tensor_copy(offs2, offs));
        psw2 = test_tensor_f32(dev, 1, &n, pv);
        g2 = test_tensor_f32(dev, 2, gs, gv);
        float *b2 = run_backward(EMBCL_SCATTER_DETERMINISTIC, idx2, offs2, psw2, g2, sparse);
        cr_assert_eq(memcmp(a, b2, V * D * sizeof *a), 0, "GPU-shaped tuning changed the bits (%s)",
                     sparse ? "sparse" : "dense");
        free(b2);
        embcl_tensor_free(idx2);
        embcl_tensor_free(offs2);
        embcl_tensor_free(psw2);
        embcl_tensor_free(g2);
        embcl_runtime_free(rt2);
        dev = keep;
        float *c = run_backward(EMBCL_SCATTER_ATOMIC, idx, offs, psw, g, 0);
        test_assert_close(c, a, V * D, 1e-4, 1e-4, "atomic vs deterministic");
        free(c);
        free(a);
    }
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
    embcl_tensor_free(psw);
    embcl_tensor_free(g);
    free(iv);
    free(ov);
    free(pv);
    free(gv);
}
