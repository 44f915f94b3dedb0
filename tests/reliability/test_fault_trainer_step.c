/* embcl_trainer_step (the graph's forward and backward, clipping, the table
 * and dense optimizers, the losses read back) with each OpenCL call failing
 * in turn: a named error, a checkpoint saved after the failure is byte for
 * byte the one saved before the step (parameters, optimizer state and step
 * counts, the step number), and the next step's checkpoint is the one an
 * undisturbed step gives. */
#include "faultcl.h"
#include "step_check.h"
#include "trainer_small.h"

static unsigned char *save_bytes(embcl_trainer_t tr, const char *path, size_t *n)
{
    TEST_OK(embcl_trainer_save(tr, path, NULL, NULL, 0));
    unsigned char *b = read_whole(path, n);
    cr_assert_not_null(b, "cannot read back %s", path);
    return b;
}

static void assert_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb, const char *what,
                         long call, cl_int err)
{
    cr_assert(na == nb && memcmp(a, b, na) == 0, "%s (failing call %ld, %s, error %d)", what, call,
              faultcl_fired_in(), (int)err);
}

/* A small trainer whose table trains with table_opt, on a runtime of its
 * own without the disk cache (every build is a real one). */
static embcl_runtime_t fault_trainer_make(small_trainer *s, embcl_optim_kind table_opt)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.disk_cache = 0;
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_train_config cfg = small_config(8, 7);
    cfg.table_optimizer = table_opt;
    small_trainer_make_cfg(s, rt, 7, 2, &cfg);
    return rt;
}

/* Every call of step 5 of a trainer whose table trains with table_opt. */
static void every_call_fails_cleanly(embcl_optim_kind table_opt)
{
    small_trainer s;
    embcl_runtime_t rt = fault_trainer_make(&s, table_opt);
    char *dir = scratch_dir("fault_trainer");
    char before_p[512], want_p[512], now_p[512];
    snprintf(before_p, sizeof before_p, "%s/before.safetensors", dir);
    snprintf(want_p, sizeof want_p, "%s/want.safetensors", dir);
    snprintf(now_p, sizeof now_p, "%s/now.safetensors", dir);
    for (int k = 0; k < 4; k++) /* past the first steps' diagnostics */
        TEST_OK(embcl_trainer_step(s.tr, NULL));
    size_t nb, nw;
    unsigned char *before = save_bytes(s.tr, before_p, &nb);
    TEST_OK(embcl_trainer_step(s.tr, NULL));
    unsigned char *want = save_bytes(s.tr, want_p, &nw);
    /* counted as the loop runs it: from the loaded checkpoint (the pool
     * holds what the save needed by then) */
    TEST_OK(embcl_trainer_load(s.tr, before_p));
    faultcl_arm(0, CL_SUCCESS);
    TEST_OK(embcl_trainer_step(s.tr, NULL));
    long n = faultcl_calls();
    faultcl_disarm();
    cr_assert_gt(n, 20, "a trainer step made only %ld OpenCL calls", n);
    long injected = 0;
    for (long call = 1; call <= n; call++) {
        /* every call fails with one error, each error on a third of them */
        cl_int err = step_errors[(size_t)call % N_STEP_ERRORS];
        TEST_OK(embcl_trainer_load(s.tr, before_p));
        faultcl_arm(call, err);
        embcl_status st = embcl_trainer_step(s.tr, NULL);
        faultcl_disarm();
        step_check_error(st, err, "embcl_trainer_step", call, n);
        injected++;
        size_t na;
        unsigned char *after = save_bytes(s.tr, now_p, &na);
        assert_bytes(after, na, before, nb, "a failed step changed the checkpoint", call, err);
        free(after);
        TEST_OK(embcl_trainer_step(s.tr, NULL));
        unsigned char *next = save_bytes(s.tr, now_p, &na);
        assert_bytes(next, na, want, nw, "the step after a failure differs from an undisturbed one", call, err);
        free(next);
    }
    cr_log_info("trainer step (table %s): %ld OpenCL calls, %ld faults injected", embcl_optim_kind_name(table_opt), n,
                injected);
    free(before);
    free(want);
    rm_dir(dir);
    small_trainer_free(&s);
    embcl_runtime_free(rt);
}

/* Row-wise Adagrad on the table (dense gradient), Adam on the rest. */
Test(fault_trainer, every_call_of_a_step_fails_cleanly)
{
    every_call_fails_cleanly(EMBCL_OPTIM_ROWWISE_ADAGRAD);
}

/* SparseAdam on the table: row-sparse gradients of the rows the step
 * touched, journaled row by row. */
Test(fault_trainer, every_call_of_a_sparse_adam_step_fails_cleanly)
{
    every_call_fails_cleanly(EMBCL_OPTIM_SPARSE_ADAM);
}

/* embcl_trainer_load (SparseAdam on the table: its state is one more blob)
 * with each OpenCL call failing in turn: a named error
 * and the trainer as before the call (its checkpoint byte for byte), then
 * the same load without a fault gives the loaded checkpoint's bytes. */
Test(fault_trainer, every_call_of_a_load_fails_cleanly)
{
    small_trainer s;
    embcl_runtime_t rt = fault_trainer_make(&s, EMBCL_OPTIM_SPARSE_ADAM);
    char *dir = scratch_dir("fault_load");
    char a_p[512], b_p[512], now_p[512];
    snprintf(a_p, sizeof a_p, "%s/a.safetensors", dir);
    snprintf(b_p, sizeof b_p, "%s/b.safetensors", dir);
    snprintf(now_p, sizeof now_p, "%s/now.safetensors", dir);
    TEST_OK(embcl_trainer_step(s.tr, NULL));
    size_t na, nb;
    unsigned char *a = save_bytes(s.tr, a_p, &na);
    for (int k = 0; k < 3; k++)
        TEST_OK(embcl_trainer_step(s.tr, NULL));
    unsigned char *b = save_bytes(s.tr, b_p, &nb);
    TEST_OK(embcl_trainer_load(s.tr, a_p));
    faultcl_arm(0, CL_SUCCESS);
    TEST_OK(embcl_trainer_load(s.tr, b_p));
    long n = faultcl_calls();
    faultcl_disarm();
    cr_assert_gt(n, 5, "a load made only %ld OpenCL calls", n);
    for (long call = 1; call <= n; call++) {
        cl_int err = step_errors[(size_t)call % N_STEP_ERRORS];
        TEST_OK(embcl_trainer_load(s.tr, a_p));
        faultcl_arm(call, err);
        embcl_status st = embcl_trainer_load(s.tr, b_p);
        faultcl_disarm();
        step_check_error(st, err, "embcl_trainer_load", call, n);
        size_t nn;
        unsigned char *now = save_bytes(s.tr, now_p, &nn);
        assert_bytes(now, nn, a, na, "a failed load changed the trainer", call, err);
        free(now);
        TEST_OK(embcl_trainer_load(s.tr, b_p));
        now = save_bytes(s.tr, now_p, &nn);
        assert_bytes(now, nn, b, nb, "the load after a failure differs from an undisturbed one", call, err);
        free(now);
    }
    cr_log_info("trainer load: %ld OpenCL calls, each failed once", n);
    free(a);
    free(b);
    rm_dir(dir);
    small_trainer_free(&s);
    embcl_runtime_free(rt);
}

/* The first step of a new trainer builds the kernels it needs: the
 * compiler breaks at each of its builds in turn (that build and every
 * later one fail, so the fallback from a cached binary to the source
 * fails too). The step fails naming clBuildProgram with the checkpoint
 * unchanged, and the retry gives the undisturbed first step's. */
Test(fault_trainer, first_step_with_each_build_failing)
{
    char *dir = scratch_dir("fault_trainer_cold");
    char before_p[512], want_p[512], now_p[512];
    snprintf(before_p, sizeof before_p, "%s/before.safetensors", dir);
    snprintf(want_p, sizeof want_p, "%s/want.safetensors", dir);
    snprintf(now_p, sizeof now_p, "%s/now.safetensors", dir);
    embcl_runtime_options o = embcl_runtime_options_default();
    embcl_runtime_t rt = test_runtime_with(&o);
    small_trainer s;
    small_trainer_make(&s, rt, 7);
    size_t nb, nw, na;
    unsigned char *before = save_bytes(s.tr, before_p, &nb);
    faultcl_arm_in("clBuildProgram", 0, CL_SUCCESS);
    TEST_OK(embcl_trainer_step(s.tr, NULL));
    long builds = faultcl_calls();
    faultcl_disarm();
    unsigned char *want = save_bytes(s.tr, want_p, &nw);
    small_trainer_free(&s);
    embcl_runtime_free(rt);
    cr_assert_gt(builds, 0, "the first step built nothing");
    for (long call = 1; call <= builds; call++) {
        rt = test_runtime_with(&o);
        small_trainer_make(&s, rt, 7);
        /* builds fail from the call-th on: falling back from a cached
         * binary to the source does not help */
        faultcl_arm_from("clBuildProgram", call, CL_BUILD_PROGRAM_FAILURE);
        embcl_status st = embcl_trainer_step(s.tr, NULL);
        faultcl_disarm();
        cr_assert(faultcl_fired(), "build %ld of %ld never happened", call, builds);
        cr_assert_neq(st, EMBCL_OK, "a failed build went unnoticed (build %ld)", call);
        cr_assert(strstr(embcl_last_error(), "embcl_trainer_step") && strstr(embcl_last_error(), "clBuildProgram"),
                  "build %ld: %s", call, embcl_last_error());
        unsigned char *after = save_bytes(s.tr, now_p, &na);
        assert_bytes(after, na, before, nb, "a first step whose build failed changed the checkpoint", call,
                     CL_BUILD_PROGRAM_FAILURE);
        free(after);
        TEST_OK(embcl_trainer_step(s.tr, NULL));
        unsigned char *next = save_bytes(s.tr, now_p, &na);
        assert_bytes(next, na, want, nw, "the first step after a failed build differs", call,
                     CL_BUILD_PROGRAM_FAILURE);
        free(next);
        small_trainer_free(&s);
        embcl_runtime_free(rt);
    }
    cr_log_info("trainer first step: %ld builds failed in turn", builds);
    free(before);
    free(want);
    rm_dir(dir);
}
