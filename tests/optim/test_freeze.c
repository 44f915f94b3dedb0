/* Frozen parameters, rows and columns keep their values and state; every
 * other element follows PyTorch's trajectory (the element-wise optimizers
 * update each element on its own, and row-wise Adagrad each row). */
#include "optim_case.h"

static void init(void) { oc_suite_init(NULL, "optim/steps.ref"); }

TestSuite(optim_freeze, .init = init, .fini = oc_suite_fini);

/* Run case `name` 20 steps with rows [r0,r1) and columns [c0,c1) of
 * parameter 0 frozen; check frozen elements against their initial values
 * and zero state, the rest against the reference. */
static void run_frozen(const char *name, int r0, int r1, int c0, int c1)
{
    const ref_case *c = ref_case_get(oc_ref, name);
    cr_assert(c != NULL);
    optim_run r;
    oc_setup(&r, oc_dev, c, 0);
    TEST_OK(embcl_optim_freeze_rows(r.opt, 0, 0, r.rows[0], 1)); /* freeze all, then thaw: masks follow */
    TEST_OK(embcl_optim_freeze_rows(r.opt, 0, 0, r.rows[0], 0));
    if (r1 > r0)
        TEST_OK(embcl_optim_freeze_rows(r.opt, 0, r0, r1, 1));
    if (c1 > c0)
        TEST_OK(embcl_optim_freeze_cols(r.opt, 0, c0, c1, 1));
    for (int t = 1; t <= OC_STEPS; t++)
        oc_step(&r, t);
    int rows = r.rows[0], cols = r.cols[0];
    float *init = malloc((size_t)(rows * cols) * sizeof *init);
    oc_init_values(&r, 0, init);
    float *got = oc_download(r.param[0]);
    const ref_tensor *want = ref_tensor_need(c, "p0_step20");
    size_t ns;
    const char *names[4];
    TEST_OK(embcl_optim_state_names(r.opt, 0, &ns, names, 4));
    int rowwise = r.kind == EMBCL_OPTIM_ROWWISE_ADAGRAD;
    size_t sn = rowwise ? (size_t)rows : (size_t)(rows * cols);
    float *state = malloc(sn * sizeof *state);
    TEST_OK(embcl_optim_state_download(r.opt, 0, 0, state, sn * sizeof *state));
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            int frozen = (i >= r0 && i < r1) || (j >= c0 && j < c1);
            size_t e = (size_t)(i * cols + j);
            if (frozen) {
                cr_assert_eq(got[e], init[e], "%s: frozen [%d][%d] changed", name, i, j);
                if (!rowwise || (i >= r0 && i < r1))
                    cr_assert_eq(state[rowwise ? (size_t)i : e], 0.0f, "%s: frozen [%d][%d]'s state changed", name,
                                 i, j);
            } else {
                test_assert_close(&got[e], &want->f32[e], 1, 1e-4, 1e-6, name);
            }
        }
    free(state);
    free(init);
    free(got);
    oc_free(&r);
}

Test(optim_freeze, adam_rows_and_columns) { run_frozen("adam_default", 2, 5, 1, 3); }
Test(optim_freeze, sgd_momentum_columns) { run_frozen("sgd_nesterov", 0, 0, 6, 8); }
/* sparse gradients with momentum go through the dense update: its masks */
Test(optim_freeze, sgd_sparse_momentum_rows_and_columns) { run_frozen("sgd_sparse_momentum", 3, 6, 2, 4); }
Test(optim_freeze, adagrad_rows) { run_frozen("adagrad_default", 10, 12, 0, 0); }
Test(optim_freeze, rowwise_adagrad_rows) { run_frozen("rowwise_l2_dense", 0, 4, 0, 0); }

Test(optim_freeze, frozen_parameter_takes_no_step)
{
    const ref_case *c = ref_case_get(oc_ref, "adam_groups");
    optim_run r;
    oc_setup(&r, oc_dev, c, 0);
    TEST_OK(embcl_optim_freeze(r.opt, 1, 1));
    for (int t = 1; t <= OC_STEPS; t++)
        oc_step(&r, t);
    r.n = 1; /* parameter 0 is on PyTorch's trajectory */
    oc_check_params(&r, OC_STEPS, 1e-4);
    r.n = 2;
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(r.opt, 1, &steps));
    cr_assert_eq(steps, 0);
    float init[7];
    oc_init_values(&r, 1, init);
    float *got = oc_download(r.param[1]);
    cr_assert(memcmp(got, init, sizeof init) == 0, "a frozen parameter changed");
    free(got);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_freeze_rows(r.opt, 0, 3, 13, 1), "rows [3, 13)", "'p0'", "12 rows");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_freeze_cols(r.opt, 0, -1, 2, 1), "columns [-1, 2)");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_freeze(r.opt, 2, 1), "'param' is 2");
    oc_free(&r);
}

/* Row-wise Adagrad with frozen columns: the row's mean of squares runs over
 * the unfrozen columns only (a host loop is the reference; PyTorch has no
 * such optimizer). */
Test(optim_freeze, rowwise_adagrad_columns_against_host)
{
    const ref_case *c = ref_case_get(oc_ref, "rowwise_l2_dense");
    optim_run r;
    oc_setup(&r, oc_dev, c, 0);
    const int c0 = 2, c1 = 5, rows = r.rows[0], cols = r.cols[0];
    TEST_OK(embcl_optim_freeze_cols(r.opt, 0, c0, c1, 1));
    float *w = malloc((size_t)(rows * cols) * sizeof *w), *acc = calloc((size_t)rows, sizeof *acc);
    oc_init_values(&r, 0, w);
    const float lr = (float)ref_attr_f(c, "lr"), eps = (float)ref_attr_f(c, "eps"),
                wd = (float)ref_attr_f(c, "weight_decay");
    for (int t = 1; t <= OC_STEPS; t++) {
        oc_step(&r, t);
        for (int i = 0; i < rows; i++) {
            float sq = 0.0f;
            for (int j = 0; j < cols; j++)
                if (j < c0 || j >= c1) {
                    float g = oc_uval(r.seed, (uint32_t)t, (uint32_t)(i * cols + j)) + wd * w[i * cols + j];
                    sq += g * g;
                }
            acc[i] += sq / (float)(cols - (c1 - c0));
            float k = lr / (sqrtf(acc[i]) + eps), cf = 1.0f - k * wd;
            for (int j = 0; j < cols; j++)
                if (j < c0 || j >= c1)
                    w[i * cols + j] = cf * w[i * cols + j] - k * oc_uval(r.seed, (uint32_t)t, (uint32_t)(i * cols + j));
        }
    }
    float *got = oc_download(r.param[0]), st[64];
    test_assert_close(got, w, (size_t)(rows * cols), 1e-5, 1e-7, "row-wise Adagrad, frozen columns");
    TEST_OK(embcl_optim_state_download(r.opt, 0, 0, st, (size_t)rows * sizeof(float)));
    test_assert_close(st, acc, (size_t)rows, 1e-5, 1e-7, "row-wise Adagrad accumulators");
    free(got);
    free(w);
    free(acc);
    oc_free(&r);
}
