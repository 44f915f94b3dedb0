/* Atomic scatter against the deterministic one, in a graph and in the
 * trainer: the same model trained both ways stays within float rounding of
 * itself. Atomic float adds (compare-and-swap loops) sum a row's
 * contributions in whatever order the work-items get there, the
 * deterministic scatter in input order, so the two differ in the last bits
 * of each sum and in nothing else; a lost, doubled or misplaced add is a
 * whole contribution, orders of magnitude above that.
 *
 * The graph test runs on the class the suite runs under (CI runs it under
 * both, EMBCL_DEVICE_CLASS=gpu giving the GPU variant of the kernel); the
 * trainer test asks for the GPU class itself, which is how `embcl train`
 * comes to pick atomic scatter (src/train/model.c, without
 * --deterministic). */
#include <embcl/graph.h>
#include <embcl/train.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "graph_host.h"
#include "trainer_small.h"

enum { V = 24, D = 8, B = 8, L = 16, NB = 8, BL = 12, STEPS = 6 };

typedef struct graph_run {
    float loss[STEPS];
    float grad[STEPS][V * D]; /* the table's gradient of each step */
    float table[V * D];       /* after the last step */
} graph_run;

/* Indices piled on few rows: rows 0..3 get most positions (each 20-40
 * times in the Embedding's 128), so every sum has many terms to order. */
static void skewed_indices(int64_t *idx, int n, uint32_t seed)
{
    uint32_t s = seed;
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        uint32_t r = s >> 8;
        idx[i] = (r & 3) != 3 ? (int64_t)(r >> 2) % 4 : (int64_t)(r >> 2) % V;
    }
}

/* An Embedding and an EmbeddingBag (sum) reading one table, both with
 * dense gradients through `scatter`, MSE losses added, SGD with momentum
 * for STEPS steps on the same batch. */
static void run_graph(embcl_runtime_t rt, embcl_scatter scatter, graph_run *out)
{
    embcl_device_t dev = test_device(rt);
    float table[V * D], t1[B * L * D], t2[NB * D];
    int64_t seq[B * L], bags[NB * BL];
    host_fill(table, V * D, 71, 1.0f);
    host_fill(t1, B * L * D, 72, 1.0f);
    host_fill(t2, NB * D, 73, 4.0f);
    skewed_indices(seq, B * L, 74);
    skewed_indices(bags, NB * BL, 75);
    int64_t st[2] = {V, D};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table);
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    hp.lr = 0.02;
    hp.momentum = 0.9;
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, &hp, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, vseq, vbags, vt1, vt2, e, bg, l1, l2, loss;
    int64_t sseq[2] = {B, L}, sbags[2] = {NB, BL}, st1[3] = {B, L, D}, st2[2] = {NB, D};
    TEST_OK(embcl_graph_param(g, "table", tt, &p));
    TEST_OK(embcl_graph_input(g, "seq", EMBCL_I64, 2, sseq, &vseq));
    TEST_OK(embcl_graph_input(g, "bags", EMBCL_I64, 2, sbags, &vbags));
    TEST_OK(embcl_graph_input(g, "t1", EMBCL_F32, 3, st1, &vt1));
    TEST_OK(embcl_graph_input(g, "t2", EMBCL_F32, 2, st2, &vt2));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.scatter = scatter;
    TEST_OK(embcl_graph_embedding(g, p, vseq, &eo, &e));
    embcl_embedding_options bo = eo;
    bo.mode = EMBCL_BAG_SUM;
    TEST_OK(embcl_graph_embedding_bag(g, p, vbags, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &bo, &bg));
    TEST_OK(embcl_graph_mse_loss(g, e, vt1, &l1));
    TEST_OK(embcl_graph_mse_loss(g, bg, vt2, &l2));
    TEST_OK(embcl_graph_add(g, l1, l2, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = opt;
    TEST_OK(embcl_graph_compile(g, &go));
    TEST_OK(embcl_graph_set_input(g, vseq, seq, sizeof seq));
    TEST_OK(embcl_graph_set_input(g, vbags, bags, sizeof bags));
    TEST_OK(embcl_graph_set_input(g, vt1, t1, sizeof t1));
    TEST_OK(embcl_graph_set_input(g, vt2, t2, sizeof t2));
    for (int s = 0; s < STEPS; s++) {
        TEST_OK(embcl_graph_step(g));
        TEST_OK(embcl_graph_download(g, loss, &out->loss[s], sizeof(float)));
        grad_of(g, p, out->grad[s], V * D);
    }
    TEST_OK(embcl_graph_download(g, p, out->table, sizeof out->table));
    embcl_graph_free(g);
    embcl_optim_free(opt);
    embcl_tensor_free(tt);
    test_expect_no_tensors(dev);
}

static float max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(a[i]));
    return m;
}

/* Tolerances: a row's gradient sums at most ~60 terms (its positions in
 * the Embedding and the bags), so another order moves it by at most
 * ~60 * 2^-24 (4e-6) of the sum of the terms' magnitudes; SGD with momentum
 * carries that over linearly, the loss is a smooth function of the table.
 * 1e-4 of the largest gradient and 1e-5 of each loss (measured on PoCL:
 * 8e-7 and 1.3e-7) leave a margin of over 50; one missing term of a
 * 60-term row is ~1e-2 of it. */
Test(graph_atomic, atomic_scatter_trains_as_the_deterministic_one_within_rounding)
{
    embcl_runtime_t rt = test_runtime();
    graph_run *det = malloc(sizeof *det), *at = malloc(sizeof *at);
    cr_assert(det && at);
    run_graph(rt, EMBCL_SCATTER_DETERMINISTIC, det);
    run_graph(rt, EMBCL_SCATTER_ATOMIC, at);
    for (int s = 0; s < STEPS; s++) {
        char what[64];
        snprintf(what, sizeof what, "step %d: loss", s);
        test_assert_close(&at->loss[s], &det->loss[s], 1, 1e-5, 0, what);
        snprintf(what, sizeof what, "step %d: table gradient", s);
        float scale = max_abs(det->grad[s], V * D);
        cr_assert_gt(scale, 0, "step %d: no gradient", s);
        test_assert_close(at->grad[s], det->grad[s], V * D, 1e-4, 1e-4 * scale, what);
    }
    cr_assert_lt(det->loss[STEPS - 1], det->loss[0], "the steps do not train (%g -> %g)", det->loss[0],
                 det->loss[STEPS - 1]);
    /* What the optimizer made of the gradients: the change of each element
     * (the elements themselves are O(1), a change of one term would hide). */
    float init[V * D], d_det[V * D], d_at[V * D];
    host_fill(init, V * D, 71, 1.0f);
    for (int i = 0; i < V * D; i++) {
        d_det[i] = det->table[i] - init[i];
        d_at[i] = at->table[i] - init[i];
    }
    test_assert_close(d_at, d_det, V * D, 1e-4, 1e-4 * max_abs(d_det, V * D), "the table's change over the steps");
    free(det);
    free(at);
    embcl_runtime_free(rt);
}

/* Contention: bags (sum) of 2^19 positions in all on 4 rows of 16 columns,
 * so that work-items on different compute units add into the same floats
 * at once: a lost update, as a non-atomic add or a compare-and-swap that
 * does not retry makes, shows only then. The table is 0 and each bag's
 * target -1, so each position's gradient is 2 / (NBAGS * C) = 2^-9 exactly and
 * every partial sum is exact: both scatters must give each row its count
 * times 2^-9 to the bit, whatever the order. */
Test(graph_atomic, contended_atomic_scatter_loses_no_update)
{
    enum { R = 4, C = 16, NBAGS = 64, BLEN = 8192 };
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    static float zeros[R * C], target[NBAGS * C], got[R * C];
    static int64_t idx[NBAGS * BLEN];
    for (int i = 0; i < NBAGS * C; i++)
        target[i] = -1.0f;
    int64_t count[R] = {0};
    for (int i = 0; i < NBAGS * BLEN; i++) {
        idx[i] = (i * 7 + i / 5) % R; /* uneven counts, every work-group touching every row */
        count[idx[i]]++;
    }
    for (int sc = 0; sc < 2; sc++) {
        embcl_scatter scatter = sc ? EMBCL_SCATTER_ATOMIC : EMBCL_SCATTER_DETERMINISTIC;
        int64_t st[2] = {R, C}, si[2] = {NBAGS, BLEN}, stt[2] = {NBAGS, C};
        embcl_tensor_t tt = test_tensor_f32(dev, 2, st, zeros);
        embcl_graph_t g;
        TEST_OK(embcl_graph_create(rt, &g));
        embcl_value p, vi, vt, e, loss;
        TEST_OK(embcl_graph_param(g, "table", tt, &p));
        TEST_OK(embcl_graph_input(g, "bags", EMBCL_I64, 2, si, &vi));
        TEST_OK(embcl_graph_input(g, "target", EMBCL_F32, 2, stt, &vt));
        embcl_embedding_options eo = embcl_embedding_options_default();
        eo.scatter = scatter;
        eo.mode = EMBCL_BAG_SUM;
        TEST_OK(embcl_graph_embedding_bag(g, p, vi, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &eo, &e));
        TEST_OK(embcl_graph_mse_loss(g, e, vt, &loss));
        TEST_OK(embcl_graph_set_loss(g, loss));
        TEST_OK(embcl_graph_compile(g, NULL));
        TEST_OK(embcl_graph_set_input(g, vi, idx, sizeof idx));
        TEST_OK(embcl_graph_set_input(g, vt, target, sizeof target));
        for (int rep = 0; rep < 6; rep++) {
            TEST_OK(embcl_graph_step(g));
            grad_of(g, p, got, R * C);
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++)
                    cr_assert_eq(got[r * C + c], ldexpf((float)count[r], -9),
                                 "%s scatter, run %d: row %d column %d got %.9g, want %lld * 2^-9 = %.9g",
                                 sc ? "atomic" : "deterministic", rep, r, c, got[r * C + c], (long long)count[r],
                                 ldexpf((float)count[r], -9));
        }
        embcl_graph_free(g);
        embcl_tensor_free(tt);
    }
    test_expect_no_tensors(dev);
    embcl_runtime_free(rt);
}

enum { TRAIN_STEPS = 24 };

typedef struct trainer_run {
    embcl_step_result r[TRAIN_STEPS];
    float *table; /* shared columns after the last step (embcl_io_free) */
    int64_t V, dim;
} trainer_run;

/* The small trainer with bigger batches than small_config's (80 LM tokens,
 * 16 bags of 6 a step), so table rows get many terms each step. */
static void run_trainer(int deterministic, trainer_run *out)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device_class = "gpu";
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(test_device(rt), &info));
    cr_assert_eq(info.device_class, EMBCL_DEVICE_GPU);
    embcl_train_config cfg = small_config(16, 5);
    cfg.batch = 8;
    cfg.bptt = 10;
    cfg.cls_batch = 16;
    cfg.deterministic = deterministic;
    small_trainer st;
    small_trainer_make_data(&st, rt, 5, 600, 2, &cfg);
    for (int s = 0; s < TRAIN_STEPS; s++)
        TEST_OK(embcl_trainer_step(st.tr, &out->r[s]));
    TEST_OK(embcl_trainer_table(st.tr, &out->table, &out->V, &out->dim));
    small_trainer_free(&st);
    embcl_runtime_free(rt);
}

/* Tolerances: the table's gradient differs by rounding as above (rows of
 * frequent words sum up to ~80 terms a step); Adam on the dense parameters
 * and row-wise Adagrad on the table are smooth in their gradients, and 24
 * steps of the LSTM do not blow that up (measured on PoCL: losses and grad
 * norms within 1.3e-7 relative, the table within 7e-7). 2e-5 relative on
 * the losses and grad norms, 1e-4 (+1e-5) on the table, keep a margin of
 * 100; an atomic add off by 1e-3 of each term already fails (grad norm,
 * step 9), a lost or doubled term far sooner. Lost updates need
 * contention, which this small model does not make on a CPU: that is
 * contended_atomic_scatter_loses_no_update's part. */
Test(graph_atomic, trainer_with_atomic_scatter_follows_the_deterministic_run)
{
    trainer_run *det = calloc(1, sizeof *det), *at = calloc(1, sizeof *at);
    cr_assert(det && at);
    run_trainer(1, det);
    run_trainer(0, at);
    for (int s = 0; s < TRAIN_STEPS; s++) {
        double lm_d = det->r[s].lm_loss, lm_a = at->r[s].lm_loss;
        double cl_d = det->r[s].cls_loss, cl_a = at->r[s].cls_loss;
        double gn_d = det->r[s].grad_norm, gn_a = at->r[s].grad_norm;
        cr_assert(fabs(lm_a - lm_d) <= 2e-5 * fabs(lm_d), "step %d: LM loss %.9g (atomic) vs %.9g", s, lm_a, lm_d);
        cr_assert(fabs(cl_a - cl_d) <= 2e-5 * fabs(cl_d), "step %d: classifier loss %.9g (atomic) vs %.9g", s, cl_a,
                  cl_d);
        cr_assert(fabs(gn_a - gn_d) <= 2e-5 * fabs(gn_d), "step %d: grad norm %.9g (atomic) vs %.9g", s, gn_a, gn_d);
    }
    cr_assert_gt(det->r[0].cls_loss, 0, "the small corpus has labels: the bags train too");
    cr_assert_eq(at->V, det->V);
    test_assert_close(at->table, det->table, (size_t)(det->V * det->dim), 1e-4, 1e-5, "the trained table");
    embcl_io_free(det->table);
    embcl_io_free(at->table);
    free(det);
    free(at);
}
