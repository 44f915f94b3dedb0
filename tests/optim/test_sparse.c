/* Row-sparse gradients (coalesced from picks with duplicates, rows left
 * untouched for several steps, an empty gradient in some cases) against
 * torch.optim's sparse paths and FBGEMM's row-wise Adagrad, plus the
 * optimizers that refuse them and clipping with a row-sparse gradient. */
#include "optim_case.h"

#include "clip_case.h"

static void init(void) { oc_suite_init(NULL, "optim/steps.ref"); }

TestSuite(optim_sparse, .init = init, .fini = oc_suite_fini);

static void sparse_setup(optim_run *r, const char *name, int as_view)
{
    const ref_case *c = ref_case_get(oc_ref, name);
    cr_assert(c != NULL, "no case %s in steps.ref", name);
    oc_setup(r, oc_dev, c, as_view);
}

static void run(const char *name, int as_view) { oc_run(oc_dev, oc_ref, name, as_view); }

Test(optim_sparse, sgd_plain_with_an_empty_step) { run("sgd_sparse", 0); }
Test(optim_sparse, adagrad) { run("adagrad_sparse", 0); }
Test(optim_sparse, sparse_adam) { run("sparse_adam", 0); }
Test(optim_sparse, sparse_adam_default) { run("sparse_adam_default", 0); }
Test(optim_sparse, sparse_adam_on_column_view) { run("sparse_adam", 1); }
Test(optim_sparse, rowwise_adagrad_none) { run("rowwise_none_sparse", 0); }
Test(optim_sparse, rowwise_adagrad_l2) { run("rowwise_l2_sparse", 0); }
Test(optim_sparse, rowwise_adagrad_decoupled) { run("rowwise_decoupled_sparse", 0); }
Test(optim_sparse, rowwise_adagrad_on_column_view) { run("rowwise_l2_sparse", 1); }

/* beta1 0.99, beta2 0.9999, at 1e-5: see optim_parity.adam_beta2_9999. */
Test(optim_sparse, sparse_adam_beta2_9999) { run("sparse_adam_beta2_9999", 0); }

/* SGD momentum: rows the step's gradient does not name still move (the
 * buffer decays), on an empty gradient too; 1e-5 relative, atol 2e-6 (the
 * reference file says why). */
Test(optim_sparse, sgd_momentum_dampening) { run("sgd_sparse_momentum", 0); }
Test(optim_sparse, sgd_nesterov_from_an_empty_first_step) { run("sgd_sparse_nesterov", 0); }
Test(optim_sparse, sgd_momentum_on_column_view) { run("sgd_sparse_momentum", 1); }

/* The bytes of the parameter and the optimizer state. */
static size_t snapshot(optim_run *r, unsigned char *buf)
{
    float *p = oc_download(r->param[0]);
    size_t n = (size_t)(r->rows[0] * r->cols[0]) * sizeof(float);
    memcpy(buf, p, n);
    free(p);
    size_t sz;
    TEST_OK(embcl_optim_state_size(r->opt, &sz));
    TEST_OK(embcl_optim_state_save(r->opt, buf + n, sz, NULL));
    return n + sz;
}

/* Case `name`'s optimizer after 3 steps is handed a sparse gradient it
 * must refuse; everything stays as it was. */
static void refuses(const char *name, embcl_optim_kind kind, embcl_optim_hparams *h, const char *a,
                    const char *b)
{
    optim_run r;
    sparse_setup(&r, name, 0);
    for (int t = 1; t <= 3; t++)
        oc_step(&r, t);
    embcl_optim_t other;
    TEST_OK(embcl_optim_create(oc_dev, kind, h, &other));
    TEST_OK(embcl_optim_add_group(other, NULL, NULL));
    TEST_OK(embcl_optim_add_param(other, 0, r.param[0], "emb.weight", NULL));
    embcl_grad g;
    oc_grads(&r, 4, &g);
    embcl_optim_t keep = r.opt;
    r.opt = other;
    unsigned char before[8192], after[8192];
    size_t n0 = snapshot(&r, before);
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_optim_step(other, &g, 1), "embcl_optim_step", a, b,
               "parameter 'emb.weight'");
    size_t n1 = snapshot(&r, after);
    cr_assert(n0 == n1 && memcmp(before, after, n0) == 0, "a refused step changed something");
    r.opt = keep;
    embcl_optim_free(other);
    oc_free(&r);
}

Test(optim_sparse, refused_where_pytorch_refuses)
{
    refuses("sgd_sparse", EMBCL_OPTIM_ADAM, NULL, "Adam does not support sparse gradients",
            "please consider SparseAdam instead");
    refuses("sgd_sparse", EMBCL_OPTIM_ADAMW, NULL, "AdamW does not support sparse gradients", "index 0");
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ADAGRAD);
    h.weight_decay = 0.01;
    refuses("sgd_sparse", EMBCL_OPTIM_ADAGRAD, &h, "Adagrad", "weight_decay option is not compatible with sparse gradients");
    h = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    h.weight_decay = 1e-4;
    refuses("sgd_sparse", EMBCL_OPTIM_SGD, &h, "SGD", "weight_decay is not supported with sparse gradients");
    h.momentum = 0.9;
    refuses("sgd_sparse", EMBCL_OPTIM_SGD, &h, "SGD", "add(sparse, dense) is not supported");
}

Test(optim_sparse, shape_of_sparse_gradient_is_checked)
{
    optim_run r;
    sparse_setup(&r, "sparse_adam", 0);
    embcl_rowsparse_t wrong;
    TEST_OK(embcl_rowsparse_create(oc_dev, 12, 9, 4, &wrong));
    embcl_grad g = {NULL, wrong};
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_optim_step(r.opt, &g, 1), "[12, 9] gradient", "'p0' is 12 x 8");
    embcl_rowsparse_free(wrong);
    oc_free(&r);
}

Test(optim_sparse, clip_mixes_dense_and_row_sparse)
{
    ref_file *f = ref_load(ref_path("optim/clip.ref"));
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        embcl_tensor_t t[2];
        embcl_grad g[CLIP_GRADS];
        for (int k = 0; k < 2; k++) {
            float *host = clip_dense_values(c, k);
            int64_t shape[2] = {clip_shapes[k][0], clip_shapes[k][1]};
            t[k] = test_tensor_f32(oc_dev, 2, shape, host);
            free(host);
            g[k].dense = t[k];
            g[k].sparse = NULL;
        }
        int64_t ids[OC_SPARSE_PICKS];
        float vals[OC_SPARSE_PICKS * 8];
        clip_sparse_picks(c, ids, vals);
        embcl_rowsparse_t s;
        TEST_OK(embcl_rowsparse_create(oc_dev, 12, 8, OC_SPARSE_PICKS, &s));
        TEST_OK(embcl_rowsparse_set(s, OC_SPARSE_PICKS, ids, vals));
        g[2].dense = NULL;
        g[2].sparse = s;
        double total;
        TEST_OK(embcl_clip_grad_norm(g, CLIP_GRADS, ref_attr_f(c, "max_norm"), clip_norm_type(c), &total));
        cr_assert(fabs(total - ref_attr_f(c, "total")) <= 1e-5 * ref_attr_f(c, "total"), "%s: total %.9g, torch %.9g",
                  c->name, total, ref_attr_f(c, "total"));
        for (int k = 0; k < 2; k++)
            clip_check(c, k, t[k]);
        int64_t shape[2] = {12, 8};
        embcl_tensor_t dense = test_tensor_f32(oc_dev, 2, shape, NULL);
        TEST_OK(embcl_rowsparse_to_dense(s, dense, 0));
        clip_check(c, 2, dense);
        embcl_tensor_free(dense);
        embcl_rowsparse_free(s);
        for (int k = 0; k < 2; k++)
            embcl_tensor_free(t[k]);
    }
    ref_free(f);
}
