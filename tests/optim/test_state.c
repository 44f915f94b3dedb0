/* Optimizer state save/load: bytes round-trip exactly, and a run stopped,
 * saved, loaded into a fresh optimizer and resumed ends bit-identical to
 * one that never stopped (and on PyTorch's trajectory). */
#include "optim_case.h"

static void init(void) { oc_suite_init(NULL, "optim/steps.ref"); }

TestSuite(optim_state, .init = init, .fini = oc_suite_fini);

static unsigned char *save(embcl_optim_t opt, size_t *n)
{
    TEST_OK(embcl_optim_state_size(opt, n));
    unsigned char *b = malloc(*n);
    size_t wrote = 0;
    TEST_OK(embcl_optim_state_save(opt, b, *n, &wrote));
    cr_assert_eq(wrote, *n);
    return b;
}

static void resume(const char *name, int via_file)
{
    const ref_case *c = ref_case_get(oc_ref, name);
    cr_assert(c != NULL);
    optim_run a, b;
    oc_setup(&a, oc_dev, c, 0);
    oc_setup(&b, oc_dev, c, 0);
    for (int t = 1; t <= 10; t++) {
        oc_step(&a, t);
        oc_step(&b, t);
    }
    /* b's optimizer is replaced by a fresh one that loads a's state */
    size_t n;
    unsigned char *bytes = save(b.opt, &n);
    embcl_optim_free(b.opt);
    embcl_optim_hparams h0 = oc_hparams(c, b.kind, 0);
    h0.lr = 123.0; /* the loaded state brings the groups' hyper-parameters back */
    TEST_OK(embcl_optim_create(oc_dev, b.kind, &h0, &b.opt));
    int groups = b.n == 2 ? 2 : 1;
    for (int g = 0; g < groups; g++)
        TEST_OK(embcl_optim_add_group(b.opt, NULL, NULL));
    for (int k = 0; k < b.n; k++)
        TEST_OK(embcl_optim_add_param(b.opt, (size_t)b.group[k], b.param[k], NULL, NULL));
    if (via_file) {
        char *dir = test_tempdir("optim_state");
        char path[1024];
        snprintf(path, sizeof path, "%s/state.bin", dir);
        TEST_OK(embcl_optim_state_save_file(a.opt, path));
        TEST_OK(embcl_optim_state_load_file(b.opt, path));
        remove(path);
        free(dir);
    } else {
        TEST_OK(embcl_optim_state_load(b.opt, bytes, n));
    }
    size_t n2;
    unsigned char *again = save(b.opt, &n2);
    cr_assert(n2 == n && memcmp(bytes, again, n) == 0, "save(load(x)) differs from x");
    for (int t = 11; t <= OC_STEPS; t++) {
        oc_step(&a, t);
        oc_step(&b, t);
    }
    for (int k = 0; k < a.n; k++) {
        float *pa = oc_download(a.param[k]), *pb = oc_download(b.param[k]);
        cr_assert(memcmp(pa, pb, (size_t)a.rows[k] * (size_t)a.cols[k] * sizeof(float)) == 0,
                  "%s: resumed run differs from the uninterrupted one (param %d)", name, k);
        free(pa);
        free(pb);
    }
    oc_check_params(&b, OC_STEPS, 1e-4);
    oc_check_state(&b, 1e-4);
    free(bytes);
    free(again);
    oc_free(&a);
    oc_free(&b);
}

Test(optim_state, adam_amsgrad_resumes_bit_identical) { resume("adam_wd_amsgrad", 0); }
Test(optim_state, adam_groups_resume_through_a_file) { resume("adam_groups", 1); }
Test(optim_state, sgd_momentum_resumes_bit_identical) { resume("sgd_momentum", 0); }
Test(optim_state, sgd_sparse_momentum_resumes_bit_identical) { resume("sgd_sparse_momentum", 0); }
Test(optim_state, adagrad_resumes_bit_identical) { resume("adagrad", 0); }
Test(optim_state, rowwise_adagrad_resumes_bit_identical) { resume("rowwise_l2_dense", 0); }

Test(optim_state, shapes_must_match)
{
    const ref_case *c = ref_case_get(oc_ref, "adam_default");
    optim_run a;
    oc_setup(&a, oc_dev, c, 0);
    oc_step(&a, 1);
    size_t n;
    unsigned char *bytes = save(a.opt, &n);
    embcl_optim_t other;
    TEST_OK(embcl_optim_create(oc_dev, EMBCL_OPTIM_ADAM, NULL, &other));
    TEST_OK(embcl_optim_add_group(other, NULL, NULL));
    int64_t shape[2] = {12, 9};
    embcl_tensor_t p = test_tensor_f32(oc_dev, 2, shape, NULL);
    TEST_OK(embcl_optim_add_param(other, 0, p, "wide", NULL));
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_optim_state_load(other, bytes, n), "parameter 0 is 12 x 8",
               "'wide' is 12 x 9");
    TEST_FAILS(EMBCL_ERR_IO, embcl_optim_state_load_file(other, "/nonexistent/dir/x.bin"), "cannot open");
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(other, 0, &steps));
    cr_assert_eq(steps, 0);
    embcl_tensor_free(p);
    embcl_optim_free(other);
    free(bytes);
    oc_free(&a);
}
