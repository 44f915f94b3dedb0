/* Where PyTorch's optimizers raise, embcl fails with a message naming the
 * optimizer, the parameter and the value, and changes nothing: parameters
 * and state are compared byte for byte before and after. */
#include "optim_case.h"

static void init(void) { oc_suite_init(NULL, NULL); }

TestSuite(optim_errors, .init = init, .fini = oc_suite_fini);

static void create_fails(embcl_optim_kind kind, embcl_optim_hparams h, const char *a, const char *b)
{
    embcl_optim_t opt = NULL;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_create(oc_dev, kind, &h, &opt), "embcl_optim_create",
               embcl_optim_kind_name(kind), a, b);
    cr_assert_null(opt);
}

Test(optim_errors, constructor_checks_as_pytorch)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ADAM);
    h.lr = -0.1;
    create_fails(EMBCL_OPTIM_ADAM, h, "Invalid learning rate: -0.1", "'lr'");
    h = embcl_optim_defaults(EMBCL_OPTIM_ADAMW);
    h.beta1 = 1.0;
    create_fails(EMBCL_OPTIM_ADAMW, h, "Invalid beta parameter at index 0: 1", "'beta1'");
    h = embcl_optim_defaults(EMBCL_OPTIM_SPARSE_ADAM);
    h.beta2 = -0.5;
    create_fails(EMBCL_OPTIM_SPARSE_ADAM, h, "Invalid beta parameter at index 1: -0.5", "'beta2'");
    h = embcl_optim_defaults(EMBCL_OPTIM_ADAM);
    h.eps = -1e-8;
    create_fails(EMBCL_OPTIM_ADAM, h, "Invalid epsilon value: -1e-08", "'eps'");
    h.eps = 1e-8;
    h.weight_decay = -0.01;
    create_fails(EMBCL_OPTIM_ADAM, h, "Invalid weight_decay value: -0.01", "'weight_decay'");
    h = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    h.momentum = -0.9;
    create_fails(EMBCL_OPTIM_SGD, h, "Invalid momentum value: -0.9", "'momentum'");
    h.momentum = 0.0;
    h.nesterov = 1;
    create_fails(EMBCL_OPTIM_SGD, h, "Nesterov momentum requires a momentum and zero dampening", "momentum 0");
    h.momentum = 0.9;
    h.dampening = 0.1;
    create_fails(EMBCL_OPTIM_SGD, h, "Nesterov momentum requires a momentum and zero dampening", "dampening 0.1");
    h = embcl_optim_defaults(EMBCL_OPTIM_ADAGRAD);
    h.lr_decay = -1;
    create_fails(EMBCL_OPTIM_ADAGRAD, h, "Invalid lr_decay value: -1", "'lr_decay'");
    h.lr_decay = 0;
    h.initial_accumulator_value = -0.5;
    create_fails(EMBCL_OPTIM_ADAGRAD, h, "Invalid initial_accumulator_value value: -0.5", "'initial_accumulator_value'");
    h = embcl_optim_defaults(EMBCL_OPTIM_ROWWISE_ADAGRAD);
    h.wd_mode = (embcl_wd_mode)7;
    create_fails(EMBCL_OPTIM_ROWWISE_ADAGRAD, h, "Invalid wd_mode value: 7", "'wd_mode'");
}

Test(optim_errors, groups_and_lr_are_checked_too)
{
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(oc_dev, EMBCL_OPTIM_ADAGRAD, NULL, &opt));
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ADAGRAD);
    h.eps = -1;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_add_group(opt, &h, NULL), "embcl_optim_add_group", "Adagrad",
               "Invalid epsilon value: -1");
    cr_assert_eq(embcl_optim_group_count(opt), 0);
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_set_lr(opt, 0, -2.0), "Adagrad", "Invalid learning rate: -2");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_set_lr(opt, 3, 1.0), "'group' is 3");
    embcl_optim_hparams got;
    TEST_OK(embcl_optim_group_hparams(opt, 0, &got));
    cr_assert_eq(got.lr, 1e-2);
    int64_t shape[2] = {4, 4};
    embcl_tensor_t p = test_tensor_f32(oc_dev, 2, shape, NULL), v;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_add_param(opt, 1, p, "w", NULL), "'group' is 1");
    TEST_OK(embcl_optim_add_param(opt, 0, p, "w", NULL));
    TEST_OK(embcl_tensor_view_cols(p, 1, 3, &v));
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_add_param(opt, 0, v, "w2", NULL), "shares memory",
               "parameter 'w'");
    cr_assert_eq(embcl_optim_param_count(opt), 1);
    embcl_tensor_free(v);
    embcl_tensor_free(p);
    embcl_optim_free(opt);
}

/* The bytes of every parameter and state tensor of a run. */
static size_t snapshot(optim_run *r, unsigned char *buf)
{
    size_t n = 0;
    for (int k = 0; k < r->n; k++) {
        float *p = oc_download(r->param[k]);
        size_t bytes = (size_t)r->rows[k] * (size_t)r->cols[k] * sizeof(float);
        memcpy(buf + n, p, bytes);
        n += bytes;
        free(p);
    }
    size_t sz;
    TEST_OK(embcl_optim_state_size(r->opt, &sz));
    TEST_OK(embcl_optim_state_save(r->opt, buf + n, sz, NULL));
    return n + sz;
}

/* After a few good steps, `bad` must fail with `want` and leave everything
 * as it was. */
static void step_fails_unchanged(optim_run *r, embcl_grad *g, embcl_status want, const char *a, const char *b)
{
    for (int t = 1; t <= 3; t++)
        oc_step(r, t);
    unsigned char *before = malloc(1 << 20), *after = malloc(1 << 20);
    size_t n0 = snapshot(r, before);
    TEST_FAILS(want, embcl_optim_step(r->opt, g, (size_t)r->n), "embcl_optim_step", a, b);
    TEST_OK(embcl_device_finish(oc_dev));
    size_t n1 = snapshot(r, after);
    cr_assert_eq(n0, n1);
    cr_assert(memcmp(before, after, n0) == 0, "a failed step changed parameters or state");
    free(before);
    free(after);
}

static const ref_case *steps_case(ref_file **f, const char *name)
{
    *f = ref_load(ref_path("optim/steps.ref"));
    const ref_case *c = ref_case_get(*f, name);
    cr_assert(c != NULL);
    return c;
}

Test(optim_errors, dense_gradient_to_sparse_adam)
{
    ref_file *f;
    optim_run r;
    oc_setup(&r, oc_dev, steps_case(&f, "adam_groups"), 0);
    /* Run a real SparseAdam over the same parameters: rebuild as SparseAdam. */
    embcl_optim_free(r.opt);
    TEST_OK(embcl_optim_create(oc_dev, EMBCL_OPTIM_SPARSE_ADAM, NULL, &r.opt));
    TEST_OK(embcl_optim_add_group(r.opt, NULL, NULL));
    TEST_OK(embcl_optim_add_param(r.opt, 0, r.param[0], "emb.weight", NULL));
    TEST_OK(embcl_optim_add_param(r.opt, 0, r.param[1], "bias", NULL));
    embcl_grad g[2] = {{NULL, NULL}, {r.grad[1], NULL}};
    unsigned char before[4096], after[4096];
    size_t n0 = snapshot(&r, before);
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_optim_step(r.opt, g, 2), "SparseAdam does not support dense gradients",
               "please consider Adam instead", "parameter 'bias'", "index 1");
    size_t n1 = snapshot(&r, after);
    cr_assert(n0 == n1 && memcmp(before, after, n0) == 0);
    oc_free(&r);
    ref_free(f);
}

Test(optim_errors, bad_second_gradient_leaves_first_parameter_alone)
{
    ref_file *f;
    optim_run r;
    oc_setup(&r, oc_dev, steps_case(&f, "adam_groups"), 0);
    int64_t wrong[2] = {1, 6};
    embcl_tensor_t bad = test_tensor_f32(oc_dev, 2, wrong, NULL);
    TEST_OK(embcl_tensor_fill(bad, 1.0));
    TEST_OK(embcl_tensor_fill(r.grad[0], 1.0));
    embcl_grad g[2] = {{r.grad[0], NULL}, {bad, NULL}};
    step_fails_unchanged(&r, g, EMBCL_ERR_SHAPE, "grads[1].dense has shape [1, 6]", "parameter 'p1' has [1, 7]");
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(r.opt, 0, &steps));
    cr_assert_eq(steps, 3);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_optim_step(r.opt, g, 1), "'n' is 1", "2 parameters");
    embcl_grad self[2] = {{r.param[0], NULL}, {NULL, NULL}};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_step(r.opt, self, 2), "shares memory with parameter 'p0'");
    embcl_tensor_free(bad);
    oc_free(&r);
    ref_free(f);
}

Test(optim_errors, bad_state_bytes_change_nothing)
{
    ref_file *f;
    optim_run r;
    oc_setup(&r, oc_dev, steps_case(&f, "adam_wd_amsgrad"), 0);
    for (int t = 1; t <= 3; t++)
        oc_step(&r, t);
    size_t n;
    TEST_OK(embcl_optim_state_size(r.opt, &n));
    unsigned char *a = malloc(n), *b = malloc(n), *c = malloc(n);
    TEST_OK(embcl_optim_state_save(r.opt, a, n, NULL));
    memcpy(b, a, n);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_optim_state_load(r.opt, b, n - 3), "end before the state does");
    b[0] = 'X';
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_optim_state_load(r.opt, b, n), "do not start with 'EMBCLOPT'");
    memcpy(b, a, n);
    b[12] = (unsigned char)EMBCL_OPTIM_SGD; /* the kind */
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_optim_state_load(r.opt, b, n), "saved from a SGD optimizer", "this one is Adam");
    memcpy(b, a, n);
    double neg = -1.0; /* group 0's lr */
    memcpy(b + 24, &neg, 8);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_optim_state_load(r.opt, b, n), "group 0", "Invalid learning rate: -1");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_state_save(r.opt, c, n - 1, NULL), "needs");
    TEST_OK(embcl_optim_state_save(r.opt, c, n, NULL));
    cr_assert(memcmp(a, c, n) == 0, "a failed load changed the state");
    free(a);
    free(b);
    free(c);
    oc_free(&r);
    ref_free(f);
}

Test(optim_errors, empty_parameter_steps_without_work)
{
    int64_t shape[2] = {0, 4};
    embcl_tensor_t p = test_tensor_f32(oc_dev, 2, shape, NULL), g = test_tensor_f32(oc_dev, 2, shape, NULL);
    for (int k = 0; k < EMBCL_OPTIM_COUNT; k++) {
        if (k == EMBCL_OPTIM_SPARSE_ADAM)
            continue;
        embcl_optim_t opt;
        TEST_OK(embcl_optim_create(oc_dev, (embcl_optim_kind)k, NULL, &opt));
        TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
        TEST_OK(embcl_optim_add_param(opt, 0, p, "empty", NULL));
        embcl_grad gr = {g, NULL};
        TEST_OK(embcl_optim_step(opt, &gr, 1));
        int64_t steps;
        TEST_OK(embcl_optim_param_steps(opt, 0, &steps));
        cr_assert_eq(steps, 1);
        embcl_optim_free(opt);
    }
    cr_assert_null(embcl_optim_kind_name(EMBCL_OPTIM_COUNT));
    embcl_tensor_free(p);
    embcl_tensor_free(g);
}
