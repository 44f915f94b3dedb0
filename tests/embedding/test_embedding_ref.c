/* F.embedding parity: every case of tests/data/embedding/embedding.ref
 * (made by tests/make_ref_embedding.py from PyTorch) through the forward and
 * every backward path. Tolerances: rtol 1e-5 forward, 1e-4 gradients, as
 * the project asks; atol 1e-6 because sums that cancel to ~0 have no
 * meaningful relative error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;
static ref_file *ref;

static void setup(void)
{
    emb_suite_open(&rt, &dev);
    ref = ref_load(ref_path("embedding/embedding.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    emb_suite_close(rt, dev);
}

TestSuite(embedding_ref, .init = setup, .fini = teardown);

/* out has the indices' shape + (D) when that fits in 4 dimensions. */
static embcl_tensor_t out_for(const ref_tensor *idx, int64_t D)
{
    int64_t shape[4];
    int nd = idx->ndim;
    memcpy(shape, idx->shape, (size_t)nd * sizeof *shape);
    shape[nd++] = D;
    embcl_tensor_t out;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, nd, shape, &out));
    return out;
}

Test(embedding_ref, forward_matches_pytorch)
{
    for (int i = 0; i < ref->n_cases; i++) {
        const ref_case *c = &ref->cases[i];
        const ref_tensor *wt = ref_tensor_need(c, "weight"), *it = ref_tensor_need(c, "indices");
        embcl_tensor_t w = emb_upload(dev, wt), idx = emb_upload(dev, it), out = out_for(it, wt->shape[1]);
        embcl_embedding_options o = emb_case_options(c);
        TEST_OK(embcl_embedding(w, idx, &o, out));
        char what[192];
        snprintf(what, sizeof what, "%s: out", c->name);
        emb_expect_f32(out, ref_tensor_need(c, "out"), 1e-5, 1e-6, what);
        snprintf(what, sizeof what, "%s: weight after max_norm", c->name);
        const ref_tensor *after = ref_tensor_get(c, "weight_after");
        emb_expect_f32(w, after ? after : wt, 1e-5, 1e-6, what);
        embcl_tensor_free(w);
        embcl_tensor_free(idx);
        embcl_tensor_free(out);
    }
}

/* Dense backward through one scatter path; grad starts at `init` and is
 * accumulated into, as a gradient buffer is. */
static void check_dense(embcl_scatter path)
{
    for (int i = 0; i < ref->n_cases; i++) {
        const ref_case *c = &ref->cases[i];
        const ref_tensor *wt = ref_tensor_need(c, "weight"), *want = ref_tensor_need(c, "grad_weight");
        embcl_tensor_t idx = emb_upload(dev, ref_tensor_need(c, "indices"));
        embcl_tensor_t g = emb_upload(dev, ref_tensor_need(c, "grad_out"));
        embcl_tensor_t gw = emb_zeros(dev, wt->shape[0], wt->shape[1]);
        embcl_embedding_options o = emb_case_options(c);
        o.scatter = path;
        int64_t shape2[2] = {(int64_t)(embcl_tensor_numel(g) / wt->shape[1]), wt->shape[1]};
        embcl_tensor_t g2;
        TEST_OK(embcl_tensor_reshape(g, 2, shape2, &g2));
        TEST_OK(embcl_embedding_backward(g2, idx, wt->shape[0], &o, gw, NULL));
        char what[192];
        snprintf(what, sizeof what, "%s: grad_weight (%s)", c->name, path ? "atomic" : "deterministic");
        emb_expect_f32(gw, want, 1e-4, 1e-6, what);
        /* A second backward accumulates: the gradient doubles. */
        TEST_OK(embcl_embedding_backward(g2, idx, wt->shape[0], &o, gw, NULL));
        float *twice = malloc((size_t)want->numel * sizeof *twice);
        for (int64_t k = 0; k < want->numel; k++)
            twice[k] = 2.0f * want->f32[k];
        ref_tensor t2 = *want;
        t2.f32 = twice;
        snprintf(what, sizeof what, "%s: grad_weight accumulated twice", c->name);
        emb_expect_f32(gw, &t2, 1e-4, 1e-6, what);
        free(twice);
        embcl_tensor_free(g2);
        embcl_tensor_free(idx);
        embcl_tensor_free(g);
        embcl_tensor_free(gw);
    }
}

Test(embedding_ref, dense_backward_atomic_matches_pytorch)
{
    check_dense(EMBCL_SCATTER_ATOMIC);
}

Test(embedding_ref, dense_backward_deterministic_matches_pytorch)
{
    check_dense(EMBCL_SCATTER_DETERMINISTIC);
}

Test(embedding_ref, sparse_backward_matches_pytorch_coalesced)
{
    for (int i = 0; i < ref->n_cases; i++) {
        const ref_case *c = &ref->cases[i];
        const ref_tensor *ids = ref_tensor_get(c, "grad_ids");
        if (!ids)
            continue; /* scale_grad_by_freq: PyTorch has no sparse gradient either */
        const ref_tensor *wt = ref_tensor_need(c, "weight");
        embcl_tensor_t idx = emb_upload(dev, ref_tensor_need(c, "indices"));
        embcl_tensor_t g = emb_upload(dev, ref_tensor_need(c, "grad_out"));
        int64_t shape2[2] = {(int64_t)(embcl_tensor_numel(g) / wt->shape[1]), wt->shape[1]};
        embcl_tensor_t g2;
        TEST_OK(embcl_tensor_reshape(g, 2, shape2, &g2));
        embcl_rowsparse_t gs;
        TEST_OK(embcl_rowsparse_create(dev, wt->shape[0], wt->shape[1], shape2[0] + 1, &gs));
        embcl_embedding_options o = emb_case_options(c);
        o.sparse = 1;
        TEST_OK(embcl_embedding_backward(g2, idx, wt->shape[0], &o, NULL, gs));
        cr_assert_eq(embcl_rowsparse_nnz(gs), ids->numel, "%s: nnz %lld, PyTorch %lld", c->name,
                     (long long)embcl_rowsparse_nnz(gs), (long long)ids->numel);
        embcl_tensor_t gi, gv;
        TEST_OK(embcl_rowsparse_ids(gs, &gi));
        TEST_OK(embcl_rowsparse_values(gs, &gv));
        char what[192];
        snprintf(what, sizeof what, "%s: sparse ids", c->name);
        emb_expect_int(gi, ids, what);
        snprintf(what, sizeof what, "%s: sparse values", c->name);
        emb_expect_f32(gv, ref_tensor_need(c, "grad_values"), 1e-4, 1e-6, what);
        embcl_tensor_free(gi);
        embcl_tensor_free(gv);
        embcl_rowsparse_free(gs);
        embcl_tensor_free(g2);
        embcl_tensor_free(idx);
        embcl_tensor_free(g);
    }
}
