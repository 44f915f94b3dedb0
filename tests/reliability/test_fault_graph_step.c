/* A full graph training step (forward, backward, the optimizer's update)
 * with each of its OpenCL calls failing in turn: every failure is a named
 * error, parameters and optimizer state (step counts included) are byte for
 * byte as before the step, and the next step gives exactly what an
 * undisturbed step gives. A cold step (kernels still to build) has its
 * program builds failed the same way. */
#include <stdlib.h>

#include "step_check.h"

#define V 40
#define D 8
#define C 5
#define B 6
#define L 4

typedef struct model {
    embcl_runtime_t rt;
    embcl_graph_t g;
    embcl_optim_t opt;
    embcl_tensor_t table, w, b;
    embcl_value vidx, vtgt;
} model;

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
}

/* Bags of a table (row-sparse or dense gradient) -> Linear -> cross entropy. */
static void model_make(model *m, embcl_runtime_t rt, embcl_optim_kind kind, int sparse)
{
    memset(m, 0, sizeof *m);
    m->rt = rt;
    embcl_device_t dev = test_device(rt);
    float table[V * D], w[C * D], b[C];
    fill(table, V * D, 1);
    fill(w, C * D, 2);
    fill(b, C, 3);
    int64_t st[2] = {V, D}, sw[2] = {C, D}, sb[1] = {C};
    m->table = test_tensor_f32(dev, 2, st, table);
    m->w = test_tensor_f32(dev, 2, sw, w);
    m->b = test_tensor_f32(dev, 1, sb, b);
    TEST_OK(embcl_optim_create(dev, kind, NULL, &m->opt));
    TEST_OK(embcl_optim_add_group(m->opt, NULL, NULL));
    TEST_OK(embcl_graph_create(rt, &m->g));
    embcl_value pt, pw, pb, bag, y, loss;
    int64_t si[2] = {B, L}, sy[1] = {B};
    TEST_OK(embcl_graph_param(m->g, "table", m->table, &pt));
    TEST_OK(embcl_graph_param(m->g, "fc.weight", m->w, &pw));
    TEST_OK(embcl_graph_param(m->g, "fc.bias", m->b, &pb));
    TEST_OK(embcl_graph_param_freeze_rows(m->g, pt, 0, 1));
    TEST_OK(embcl_graph_input(m->g, "idx", EMBCL_I64, 2, si, &m->vidx));
    TEST_OK(embcl_graph_input(m->g, "tgt", EMBCL_I64, 1, sy, &m->vtgt));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.sparse = sparse;
    TEST_OK(embcl_graph_embedding_bag(m->g, pt, m->vidx, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &eo, &bag));
    TEST_OK(embcl_graph_linear(m->g, bag, pw, pb, &y));
    TEST_OK(embcl_graph_cross_entropy(m->g, y, m->vtgt, NULL, &loss));
    TEST_OK(embcl_graph_set_loss(m->g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = m->opt;
    go.diagnostics = 0; /* the same calls every step */
    TEST_OK(embcl_graph_compile(m->g, &go));
}

static void model_free(model *m)
{
    embcl_graph_free(m->g);
    embcl_optim_free(m->opt);
    embcl_tensor_free(m->table);
    embcl_tensor_free(m->w);
    embcl_tensor_free(m->b);
}

/* Step k's batch. */
static void model_inputs(model *m, int k)
{
    int64_t idx[B * L], tgt[B];
    for (int i = 0; i < B * L; i++)
        idx[i] = (i * 7 + k * 13) % V;
    for (int i = 0; i < B; i++)
        tgt[i] = (i + k) % C;
    TEST_OK(embcl_graph_set_input(m->g, m->vidx, idx, sizeof idx));
    TEST_OK(embcl_graph_set_input(m->g, m->vtgt, tgt, sizeof tgt));
}

/* Everything a step may write: parameters, then the optimizer's state bytes. */
typedef struct snap {
    unsigned char *bytes;
    size_t n;
} snap;

static snap model_snap(model *m)
{
    size_t ost;
    TEST_OK(embcl_optim_state_size(m->opt, &ost));
    size_t np = (V * D + C * D + C) * sizeof(float);
    snap s = {malloc(np + ost), np + ost};
    float *f = (float *)s.bytes;
    TEST_OK(embcl_tensor_download(m->table, f, V * D * sizeof(float)));
    TEST_OK(embcl_tensor_download(m->w, f + V * D, C * D * sizeof(float)));
    TEST_OK(embcl_tensor_download(m->b, f + V * D + C * D, C * sizeof(float)));
    size_t written;
    TEST_OK(embcl_optim_state_save(m->opt, s.bytes + np, ost, &written));
    return s;
}

static void model_restore(model *m, const snap *s)
{
    size_t np = (V * D + C * D + C) * sizeof(float);
    const float *f = (const float *)s->bytes;
    TEST_OK(embcl_tensor_upload(m->table, f, V * D * sizeof(float)));
    TEST_OK(embcl_tensor_upload(m->w, f + V * D, C * D * sizeof(float)));
    TEST_OK(embcl_tensor_upload(m->b, f + V * D + C * D, C * sizeof(float)));
    TEST_OK(embcl_optim_state_load(m->opt, s->bytes + np, s->n - np));
}

static void assert_same(const snap *a, const snap *b, const char *what, long call, cl_int err)
{
    cr_assert_eq(a->n, b->n, "%s: sizes differ", what);
    cr_assert(memcmp(a->bytes, b->bytes, a->n) == 0, "%s (failing call %ld, %s, error %d)", what, call,
              faultcl_fired_in(), (int)err);
}

/* The OpenCL calls of one graph step on step k's batch. */
static long count_step_calls(model *m, int k)
{
    model_inputs(m, k);
    faultcl_arm(0, CL_SUCCESS);
    TEST_OK(embcl_graph_step(m->g));
    long n = faultcl_calls();
    faultcl_disarm();
    return n;
}

/* Fail each call of step 3 (warm: kernels built) with each error. */
static void each_call_of_a_step(embcl_optim_kind kind, int sparse, long *injected)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.disk_cache = 0;
    model m;
    model_make(&m, test_runtime_with(&o), kind, sparse);
    for (int k = 0; k < 2; k++) {
        model_inputs(&m, k);
        TEST_OK(embcl_graph_step(m.g));
    }
    snap before = model_snap(&m);
    long n = count_step_calls(&m, 2);
    snap want = model_snap(&m);
    cr_assert_gt(n, 10, "a step made only %ld OpenCL calls", n);
    for (long call = 1; call <= n; call++)
        for (size_t e = 0; e < N_STEP_ERRORS; e++) {
            model_restore(&m, &before);
            model_inputs(&m, 2);
            faultcl_arm(call, step_errors[e]);
            embcl_status s = embcl_graph_step(m.g);
            faultcl_disarm();
            step_check_error(s, step_errors[e], "embcl_graph_step", call, n);
            (*injected)++;
            snap after = model_snap(&m);
            assert_same(&after, &before, "a failed step changed parameters or optimizer state", call, step_errors[e]);
            free(after.bytes);
            TEST_OK(embcl_graph_step(m.g));
            snap next = model_snap(&m);
            assert_same(&next, &want, "the step after a failure differs from an undisturbed one", call,
                        step_errors[e]);
            free(next.bytes);
        }
    free(before.bytes);
    free(want.bytes);
    embcl_device_t dev = test_device(m.rt);
    model_free(&m);
    test_expect_no_tensors(dev);
    embcl_runtime_free(m.rt);
}

Test(fault_step, adagrad_sparse_table_and_dense_linear)
{
    long injected = 0;
    each_call_of_a_step(EMBCL_OPTIM_ADAGRAD, 1, &injected);
    cr_log_info("graph step, Adagrad (sparse + dense): %ld faults injected", injected);
}

Test(fault_step, adam_all_dense)
{
    long injected = 0;
    each_call_of_a_step(EMBCL_OPTIM_ADAM, 0, &injected);
    cr_log_info("graph step, Adam (dense): %ld faults injected", injected);
}

/* The first step on a fresh runtime builds its kernels: each program build
 * fails in turn (a compiler failure). The step either fails naming it with
 * nothing written, or (where embcl recovers by building again) succeeds;
 * either way the following steps equal an undisturbed run's. */
Test(fault_step, cold_step_with_each_build_failing)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.disk_cache = 0;
    model m;
    model_make(&m, test_runtime_with(&o), EMBCL_OPTIM_ADAGRAD, 1);
    snap before = model_snap(&m);
    model_inputs(&m, 0);
    faultcl_arm_in("clBuildProgram", 0, CL_SUCCESS);
    TEST_OK(embcl_graph_step(m.g));
    long builds = faultcl_calls();
    faultcl_disarm();
    snap want = model_snap(&m);
    embcl_device_t dev = test_device(m.rt);
    model_free(&m);
    test_expect_no_tensors(dev);
    embcl_runtime_free(m.rt);
    cr_assert_gt(builds, 0, "the cold step built nothing");
    for (long call = 1; call <= builds; call++) {
        model_make(&m, test_runtime_with(&o), EMBCL_OPTIM_ADAGRAD, 1);
        model_inputs(&m, 0);
        faultcl_arm_in("clBuildProgram", call, CL_BUILD_PROGRAM_FAILURE);
        embcl_status s = embcl_graph_step(m.g);
        faultcl_disarm();
        cr_assert(faultcl_fired(), "build %ld of %ld never happened", call, builds);
        cr_assert_neq(s, EMBCL_OK, "a failed build went unnoticed (build %ld)", call);
        cr_assert(strstr(embcl_last_error(), "embcl_graph_step") && strstr(embcl_last_error(), "clBuildProgram"),
                  "build %ld: %s", call, embcl_last_error());
        snap after = model_snap(&m);
        assert_same(&after, &before, "a step whose build failed changed the state", call, CL_BUILD_PROGRAM_FAILURE);
        free(after.bytes);
        TEST_OK(embcl_graph_step(m.g));
        snap next = model_snap(&m);
        assert_same(&next, &want, "the step after a failed build differs", call, CL_BUILD_PROGRAM_FAILURE);
        free(next.bytes);
        dev = test_device(m.rt);
        model_free(&m);
        test_expect_no_tensors(dev);
        embcl_runtime_free(m.rt);
    }
    cr_log_info("cold graph step: %ld builds failed in turn", builds);
    free(before.bytes);
    free(want.bytes);
}

/* A caller's own transaction around graph steps: a failing step undoes
 * only itself, the caller's rollback undoes the steps that succeeded. */
Test(fault_step, graph_steps_nest_in_the_callers_transaction)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.disk_cache = 0;
    model m;
    model_make(&m, test_runtime_with(&o), EMBCL_OPTIM_ADAGRAD, 1);
    model_inputs(&m, 0);
    TEST_OK(embcl_graph_step(m.g));
    snap start = model_snap(&m);
    TEST_OK(embcl_optim_begin(m.opt));
    model_inputs(&m, 1);
    TEST_OK(embcl_graph_step(m.g));
    snap one = model_snap(&m);
    long n = count_step_calls(&m, 2);
    cr_assert_gt(n, 2);
    /* roll both back, redo step 1, then fail step 2 half-way (the pool now
     * holds buffers, so the step makes fewer calls than counted) */
    TEST_OK(embcl_optim_rollback(m.opt));
    snap back = model_snap(&m);
    assert_same(&back, &start, "the caller's rollback did not undo both graph steps", 0, 0);
    free(back.bytes);
    TEST_OK(embcl_optim_begin(m.opt));
    model_inputs(&m, 1);
    TEST_OK(embcl_graph_step(m.g));
    model_inputs(&m, 2);
    faultcl_arm(n / 2, CL_OUT_OF_RESOURCES);
    embcl_status s = embcl_graph_step(m.g);
    faultcl_disarm();
    step_check_error(s, CL_OUT_OF_RESOURCES, "embcl_graph_step", n / 2, n);
    snap after = model_snap(&m);
    assert_same(&after, &one, "a failed step inside the caller's transaction undid more than itself", n,
                CL_OUT_OF_RESOURCES);
    free(after.bytes);
    TEST_OK(embcl_optim_rollback(m.opt));
    after = model_snap(&m);
    assert_same(&after, &start, "the caller's rollback after a failed step", n, CL_OUT_OF_RESOURCES);
    free(after.bytes);
    free(start.bytes);
    free(one.bytes);
    embcl_device_t dev = test_device(m.rt);
    model_free(&m);
    test_expect_no_tensors(dev);
    embcl_runtime_free(m.rt);
}
