/* Frozen parameters, rows and columns keep their values and state; every
 * other element follows PyTorch's trajectory (the element-wise optimizers
 * update each element on its own, and row-wise Adagrad each row). */
#include "optim_case.h"

static embcl_runtime_t rt;
static embcl_device_t dev;
static ref_file *ref;

static void setup(void)
{
    rt = test_runtime();
    dev = test_device(rt);
    ref = ref_load(ref_path("optim/steps.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    embcl_pool_stats st;
    TEST_OK(embcl_device_pool_stats(dev, &st));
    cr_expect_eq(st.bytes_in_use, 0, "a test leaked %llu bytes of tensors", (unsigned long long)st.bytes_in_use);
    embcl_runtime_free(rt);
}

TestSuite(optim_freeze, .init = setup, .fini = teardown);

/* Run case `name` 20 steps with rows [r0,r1) and columns [c0,c1) of
 * parameter 0 frozen; check frozen elements against their initial values
 * and zero state, the rest against the reference. */
static void run_frozen(const char *name, int r0, int r1, int c0, int c1)
{
    const ref_case *c = ref_case_get(ref, name);
    cr_assert(c != NULL);
    optim_run r;
    oc_setup(&r, dev, c, 0);
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
Test(optim_freeze, adagrad_rows) { run_frozen("adagrad_default", 10, 12, 0, 0); }
Test(optim_freeze, rowwise_adagrad_rows) { run_frozen("rowwise_l2_dense", 0, 4, 0, 0); }

Test(optim_freeze, frozen_parameter_takes_no_step)
{
    const ref_case *c = ref_case_get(ref, "adam_groups");
    optim_run r;
    oc_setup(&r, dev, c, 0);
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
