/* F.embedding_bag parity: every case of tests/data/embedding/bag.ref (sum,
 * mean, max; offsets i32/i64, include_last_offset, 2-D input, empty bags,
 * padding, max_norm, scale_grad_by_freq, per_sample_weights) through the
 * forward and every backward path. rtol 1e-5 forward, 1e-4 gradients; atol
 * 1e-6 for sums that cancel to ~0. */
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
    ref = ref_load(ref_path("embedding/bag.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    emb_suite_close(rt, dev);
}

TestSuite(bag_ref, .init = setup, .fini = teardown);

typedef struct bag_case {
    const ref_case *c;
    embcl_embedding_options o;
    embcl_tensor_t w, idx, offs, psw, out, mpos;
    embcl_bags bags;
    int64_t V, D, B;
} bag_case;

static void open_case(bag_case *k, const ref_case *c)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->o = emb_case_options(c);
    const ref_tensor *wt = ref_tensor_need(c, "weight");
    k->V = wt->shape[0];
    k->D = wt->shape[1];
    k->B = ref_tensor_need(c, "grad_out")->shape[0];
    k->w = emb_upload(dev, wt);
    k->idx = emb_upload(dev, ref_tensor_need(c, "indices"));
    if (ref_tensor_get(c, "offsets"))
        k->offs = emb_upload(dev, ref_tensor_get(c, "offsets"));
    if (ref_tensor_get(c, "per_sample_weights"))
        k->psw = emb_upload(dev, ref_tensor_get(c, "per_sample_weights"));
    k->bags = (embcl_bags){k->idx, k->offs, k->psw};
    k->out = emb_zeros(dev, k->B, k->D);
    if (k->o.mode == EMBCL_BAG_MAX) {
        int64_t shape[2] = {k->B, k->D};
        TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 2, shape, &k->mpos));
    }
}

static void close_case(bag_case *k)
{
    embcl_tensor_free(k->w);
    embcl_tensor_free(k->idx);
    embcl_tensor_free(k->offs);
    embcl_tensor_free(k->psw);
    embcl_tensor_free(k->out);
    embcl_tensor_free(k->mpos);
}

/* max_pos holds positions; PyTorch's max_indices the rows at them. Empty
 * bags (position -1) are where CPU and CUDA PyTorch differ: not compared. */
static void check_max_indices(bag_case *k)
{
    const ref_tensor *want = ref_tensor_need(k->c, "max_indices");
    size_t n = (size_t)(k->B * k->D), ni = (size_t)embcl_tensor_numel(k->idx);
    int32_t *pos = malloc(n * sizeof *pos + 1);
    TEST_OK(embcl_tensor_download(k->mpos, pos, n * sizeof *pos));
    const ref_tensor *it = ref_tensor_need(k->c, "indices");
    for (size_t e = 0; e < n; e++) {
        if (pos[e] < 0)
            continue;
        cr_assert_lt((size_t)pos[e], ni, "%s: max_pos[%zu] = %d out of range", k->c->name, e, pos[e]);
        cr_assert_eq(it->i64[pos[e]], want->i64[e], "%s: max row of element %zu is %lld, PyTorch %lld",
                     k->c->name, e, (long long)it->i64[pos[e]], (long long)want->i64[e]);
    }
    free(pos);
}

Test(bag_ref, forward_matches_pytorch)
{
    for (int i = 0; i < ref->n_cases; i++) {
        bag_case k;
        open_case(&k, &ref->cases[i]);
        TEST_OK(embcl_embedding_bag(k.w, &k.bags, &k.o, k.out, k.mpos));
        char what[192];
        snprintf(what, sizeof what, "%s: out", k.c->name);
        emb_expect_f32(k.out, ref_tensor_need(k.c, "out"), 1e-5, 1e-6, what);
        const ref_tensor *after = ref_tensor_get(k.c, "weight_after");
        snprintf(what, sizeof what, "%s: weight after max_norm", k.c->name);
        emb_expect_f32(k.w, after ? after : ref_tensor_need(k.c, "weight"), 1e-5, 1e-6, what);
        if (k.mpos)
            check_max_indices(&k);
        close_case(&k);
    }
}

/* Forward (for max_pos and the renormalised table), then the dense
 * backward through `path`, and d/d per_sample_weights. */
static void check_dense(embcl_scatter path)
{
    for (int i = 0; i < ref->n_cases; i++) {
        bag_case k;
        open_case(&k, &ref->cases[i]);
        TEST_OK(embcl_embedding_bag(k.w, &k.bags, &k.o, k.out, k.mpos));
        embcl_tensor_t g = emb_upload(dev, ref_tensor_need(k.c, "grad_out"));
        embcl_tensor_t gw = emb_zeros(dev, k.V, k.D), gp = NULL;
        const ref_tensor *want_psw = ref_tensor_get(k.c, "grad_psw");
        if (want_psw)
            gp = emb_upload(dev, want_psw); /* overwritten */
        k.o.scatter = path;
        TEST_OK(embcl_embedding_bag_backward(g, k.w, &k.bags, k.mpos, k.V, &k.o, gw, NULL, gp));
        char what[192];
        snprintf(what, sizeof what, "%s: grad_weight (%s)", k.c->name, path ? "atomic" : "deterministic");
        emb_expect_f32(gw, ref_tensor_need(k.c, "grad_weight"), 1e-4, 1e-6, what);
        if (want_psw) {
            TEST_OK(embcl_tensor_fill(gp, 123.0));
            TEST_OK(embcl_embedding_bag_backward(g, k.w, &k.bags, k.mpos, k.V, &k.o, NULL, NULL, gp));
            snprintf(what, sizeof what, "%s: grad_psw", k.c->name);
            emb_expect_f32(gp, want_psw, 1e-4, 1e-6, what);
        }
        embcl_tensor_free(g);
        embcl_tensor_free(gw);
        embcl_tensor_free(gp);
        close_case(&k);
    }
}

Test(bag_ref, dense_backward_atomic_matches_pytorch)
{
    check_dense(EMBCL_SCATTER_ATOMIC);
}

Test(bag_ref, dense_backward_deterministic_matches_pytorch)
{
    check_dense(EMBCL_SCATTER_DETERMINISTIC);
}

Test(bag_ref, sparse_backward_matches_pytorch_coalesced)
{
    for (int i = 0; i < ref->n_cases; i++) {
        const ref_tensor *ids = ref_tensor_get(&ref->cases[i], "grad_ids");
        if (!ids)
            continue; /* max mode or scale_grad_by_freq: PyTorch refuses sparse too */
        bag_case k;
        open_case(&k, &ref->cases[i]);
        TEST_OK(embcl_embedding_bag(k.w, &k.bags, &k.o, k.out, k.mpos));
        embcl_tensor_t g = emb_upload(dev, ref_tensor_need(k.c, "grad_out"));
        embcl_rowsparse_t gs;
        TEST_OK(embcl_rowsparse_create(dev, k.V, k.D, embcl_tensor_numel(k.idx) + 1, &gs));
        k.o.sparse = 1;
        TEST_OK(embcl_embedding_bag_backward(g, NULL, &k.bags, k.mpos, k.V, &k.o, NULL, gs, NULL));
        cr_assert_eq(embcl_rowsparse_nnz(gs), ids->numel, "%s: nnz %lld, PyTorch %lld", k.c->name,
                     (long long)embcl_rowsparse_nnz(gs), (long long)ids->numel);
        embcl_tensor_t gi, gv;
        TEST_OK(embcl_rowsparse_ids(gs, &gi));
        TEST_OK(embcl_rowsparse_values(gs, &gv));
        char what[192];
        snprintf(what, sizeof what, "%s: sparse ids", k.c->name);
        emb_expect_int(gi, ids, what);
        snprintf(what, sizeof what, "%s: sparse values", k.c->name);
        emb_expect_f32(gv, ref_tensor_need(k.c, "grad_values"), 1e-4, 1e-6, what);
        embcl_tensor_free(gi);
        embcl_tensor_free(gv);
        embcl_rowsparse_free(gs);
        embcl_tensor_free(g);
        close_case(&k);
    }
}
