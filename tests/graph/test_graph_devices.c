/* Placement over two PoCL devices: the table on one, the LSTM and the
 * projection on the other. The executor inserts the copies (embedded rows
 * forward, their gradient back) and orders the queues; the numbers must be
 * those of one device, to the bit (deterministic scatter). */
#include <embcl-opencl.h>
#include <embcl/graph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "graph_host.h"

static embcl_runtime_t rt;
static embcl_device_t dev0, dev1;

static void setup(void)
{
    test_pocl_devices(2);
    rt = test_runtime();
    size_t n;
    TEST_OK(embcl_runtime_device_count(rt, &n));
    cr_assert_geq(n, 2, "PoCL shows %zu device(s); POCL_DEVICES=\"pthread pthread\" should give two", n);
    TEST_OK(embcl_runtime_device(rt, 0, &dev0));
    TEST_OK(embcl_runtime_device(rt, 1, &dev1));
}

static void teardown(void)
{
    embcl_device_t devs[2] = {dev0, dev1};
    for (int i = 0; i < 2; i++) {
        embcl_pool_stats st;
        TEST_OK(embcl_device_pool_stats(devs[i], &st));
        cr_expect_eq(st.bytes_in_use, 0, "device %d: a test leaked %llu bytes", i, (unsigned long long)st.bytes_in_use);
    }
    embcl_runtime_free(rt);
}

TestSuite(graph_devices, .init = setup, .fini = teardown);

enum { VOCAB = 100, DIM = 16, HID = 32, B = 4, T = 6, STEPS = 3 };

typedef struct run_result {
    float loss[STEPS];
    float table[VOCAB * DIM];
    float fc[VOCAB * HID];
    size_t n_fwd, n_bwd;
} run_result;

typedef struct run_cfg {
    embcl_optim_kind optim;
    int sparse;                  /* the table's gradient row-sparse */
    const embcl_device_t *replicas;
    size_t n_replicas;
} run_cfg;

static const run_cfg adam = {EMBCL_OPTIM_ADAM, 0, NULL, 0};

/* The seed model with the table on `td` and everything else on `dd`. */
static void run(embcl_device_t td, embcl_device_t dd, const run_cfg *rc, run_result *out)
{
    int64_t st[2] = {VOCAB, DIM}, sp[2] = {VOCAB, HID}, sb[1] = {VOCAB}, stok[2] = {B, T};
    embcl_tensor_t table, pw, pb;
    TEST_OK(embcl_tensor_create(td, EMBCL_F32, 2, st, &table));
    TEST_OK(embcl_embedding_init_normal(table, 7, EMBCL_PADDING_NONE));
    float w[VOCAB * HID], bias[VOCAB];
    host_fill(w, VOCAB * HID, 8, 0.17f);
    host_fill(bias, VOCAB, 9, 0.17f);
    pw = test_tensor_f32(dd, 2, sp, w);
    pb = test_tensor_f32(dd, 1, sb, bias);
    embcl_optim_t opt[2] = {NULL, NULL};
    embcl_device_t devs[2] = {td, dd};
    size_t n_opt = td == dd ? 1 : 2;
    for (size_t i = 0; i < n_opt; i++) {
        embcl_optim_hparams hp = embcl_optim_defaults(rc->optim);
        hp.lr = 0.1;
        TEST_OK(embcl_optim_create(devs[i], rc->optim, &hp, &opt[i]));
        TEST_OK(embcl_optim_add_group(opt[i], NULL, NULL));
    }
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value pe, ppw, ppb, tok, tgt, e, h, lg, loss;
    TEST_OK(embcl_graph_param(g, "embedding.weight", table, &pe));
    TEST_OK(embcl_graph_param(g, "fc.weight", pw, &ppw));
    TEST_OK(embcl_graph_param(g, "fc.bias", pb, &ppb));
    TEST_OK(embcl_graph_input(g, "tokens", EMBCL_I64, 2, stok, &tok));
    TEST_OK(embcl_graph_input(g, "targets", EMBCL_I64, 2, stok, &tgt));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.sparse = rc->sparse;
    TEST_OK(embcl_graph_embedding(g, pe, tok, &eo, &e));
    embcl_lstm_config cfg = embcl_lstm_config_default(DIM, HID);
    cfg.batch_first = 1;
    cfg.seed = 11;
    TEST_OK(embcl_graph_lstm(g, e, dd, &cfg, NULL, "lstm", &h));
    TEST_OK(embcl_graph_linear(g, h, ppw, ppb, &lg));
    TEST_OK(embcl_graph_cross_entropy(g, lg, tgt, NULL, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optims = opt;
    go.n_optims = n_opt;
    go.replicas = rc->replicas;
    go.n_replicas = rc->n_replicas;
    TEST_OK(embcl_graph_compile(g, &go));
    TEST_OK(embcl_graph_node_count(g, &out->n_fwd, &out->n_bwd));
    embcl_pool_stats p0[2], p1[2];
    for (int s = 0; s < STEPS; s++) {
        if (s == 1) {
            TEST_OK(embcl_device_pool_stats(dev0, &p0[0]));
            TEST_OK(embcl_device_pool_stats(dev1, &p0[1]));
        }
        int64_t tk[B * T], tg[B * T];
        for (int i = 0; i < B * T; i++) {
            tk[i] = (i * 37 + 11 * s + 3) % VOCAB;
            tg[i] = (i * 53 + 5 + s) % VOCAB;
        }
        TEST_OK(embcl_graph_set_input(g, tok, tk, sizeof tk));
        TEST_OK(embcl_graph_set_input(g, tgt, tg, sizeof tg));
        TEST_OK(embcl_graph_step(g));
        TEST_OK(embcl_graph_download(g, loss, &out->loss[s], sizeof(float)));
    }
    TEST_OK(embcl_device_pool_stats(dev0, &p1[0]));
    TEST_OK(embcl_device_pool_stats(dev1, &p1[1]));
    for (int i = 0; i < 2; i++)
        cr_assert_eq(p1[i].cl_allocs, p0[i].cl_allocs, "device %d: steps 2..%d made %llu OpenCL buffers", i, STEPS,
                     (unsigned long long)(p1[i].cl_allocs - p0[i].cl_allocs));
    TEST_OK(embcl_tensor_download(table, out->table, sizeof out->table));
    TEST_OK(embcl_tensor_download(pw, out->fc, sizeof out->fc));
    embcl_graph_free(g);
    for (size_t i = 0; i < n_opt; i++)
        embcl_optim_free(opt[i]);
    embcl_tensor_free(table);
    embcl_tensor_free(pw);
    embcl_tensor_free(pb);
}

/* Every loss and the trained weights, to the bit. */
static void expect_bit_identical(const run_result *one, const run_result *two, const char *how)
{
    for (int s = 0; s < STEPS; s++)
        cr_assert_eq(one->loss[s], two->loss[s], "step %d: loss %.9g on one device, %.9g %s", s, one->loss[s],
                     two->loss[s], how);
    cr_assert(memcmp(one->table, two->table, sizeof one->table) == 0, "the tables differ after %d steps %s", STEPS,
              how);
    cr_assert(memcmp(one->fc, two->fc, sizeof one->fc) == 0, "fc.weight differs after %d steps %s", STEPS, how);
}

Test(graph_devices, table_on_one_device_lstm_on_the_other_matches_one_device)
{
    static run_result one, two;
    run(dev0, dev0, &adam, &one);
    run(dev0, dev1, &adam, &two);
    cr_assert_eq(two.n_fwd, one.n_fwd + 1, "expected one copy node forward (%zu vs %zu nodes)", two.n_fwd, one.n_fwd);
    cr_assert_eq(two.n_bwd, one.n_bwd + 1, "expected the copy's backward (%zu vs %zu nodes)", two.n_bwd, one.n_bwd);
    expect_bit_identical(&one, &two, "on two devices");
}

/* Data parallel over both devices, the batch split in two: the same step
 * as one device with the whole batch, within 1e-5; dense table gradient
 * and row-sparse (merged from the two replicas' lookups). */
static void check_data_parallel(int sparse)
{
    static run_result one, dp;
    embcl_device_t both[2] = {dev0, dev1};
    run_cfg single = {EMBCL_OPTIM_SGD, sparse, NULL, 0}, par = {EMBCL_OPTIM_SGD, sparse, both, 2};
    run(dev0, dev0, &single, &one);
    run(dev0, dev0, &par, &dp);
    cr_assert_gt(dp.n_fwd, 2 * one.n_fwd, "no replicas: %zu forward nodes vs %zu", dp.n_fwd, one.n_fwd);
    for (int s = 0; s < STEPS; s++)
        test_assert_close(&dp.loss[s], &one.loss[s], 1, 1e-5, 0, "loss, data parallel vs one device");
    test_assert_close(dp.table, one.table, VOCAB * DIM, 1e-5, 1e-7, "table, data parallel vs one device");
    test_assert_close(dp.fc, one.fc, VOCAB * HID, 1e-5, 1e-7, "fc.weight, data parallel vs one device");
}

Test(graph_devices, data_parallel_dense_equals_one_device)
{
    check_data_parallel(0);
}

Test(graph_devices, data_parallel_row_sparse_equals_one_device)
{
    check_data_parallel(1);
}

/* A parameter with no optimizer on its device is refused at compile time. */
Test(graph_devices, parameter_without_an_optimizer_on_its_device_is_refused)
{
    int64_t s2[2] = {3, 2}, sx[2] = {4, 2};
    float w[6] = {0};
    embcl_tensor_t tw = test_tensor_f32(dev1, 2, s2, w);
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev0, EMBCL_OPTIM_SGD, NULL, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, x, y, t, l;
    TEST_OK(embcl_graph_param(g, "w", tw, &p));
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &x));
    int64_t sy[2] = {4, 3};
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, sy, &t));
    TEST_OK(embcl_graph_linear(g, x, p, EMBCL_VALUE_NONE, &y));
    TEST_OK(embcl_graph_mse_loss(g, y, t, &l));
    TEST_OK(embcl_graph_set_loss(g, l));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = opt;
    TEST_FAILS(EMBCL_ERR_DEVICE_MISMATCH, embcl_graph_compile(g, &go), "embcl_graph_compile", "'w'",
               "no optimizer");
    cr_assert_eq(embcl_optim_param_count(opt), 0, "a refused compile added parameters to the optimizer");
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_compile(g, &go), "embcl_graph_compile", "failed");
    embcl_graph_free(g);
    embcl_optim_free(opt);
    embcl_tensor_free(tw);
}

/* Tables the graph allocates go to the fastest device with room: with a
 * budget for one table (and its gradient) per device, the second table
 * lands on the other device, nodes follow their tables, and the step gives
 * the numbers of both tables pinned to one device. */
static void two_tables(embcl_device_t pin, uint64_t budget, float *loss_out, float *grad_b, embcl_device_t *b_dev)
{
    enum { VV = 4096, DD = 32, N = 64 };
    int64_t st[2] = {VV, DD}, si[1] = {N}, sx[2] = {N, DD};
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value a, b, idx, tgt, ea, eb, s, loss;
    TEST_OK(embcl_graph_param_new(g, "a.weight", 2, st, &a));
    TEST_OK(embcl_graph_param_new(g, "b.weight", 2, st, &b));
    if (pin) {
        TEST_OK(embcl_graph_set_device(g, a, pin));
        TEST_OK(embcl_graph_set_device(g, b, pin));
    }
    TEST_OK(embcl_graph_input(g, "idx", EMBCL_I64, 1, si, &idx));
    TEST_OK(embcl_graph_input(g, "target", EMBCL_F32, 2, sx, &tgt));
    TEST_OK(embcl_graph_embedding(g, a, idx, NULL, &ea));
    TEST_OK(embcl_graph_embedding(g, b, idx, NULL, &eb));
    TEST_OK(embcl_graph_add(g, ea, eb, &s));
    TEST_OK(embcl_graph_mse_loss(g, s, tgt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.device_budget = budget;
    TEST_OK(embcl_graph_compile(g, &go));
    embcl_value tabs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        embcl_tensor_t t;
        TEST_OK(embcl_graph_param_tensor(g, tabs[k], &t));
        TEST_OK(embcl_embedding_init_normal(t, 40 + (uint64_t)k, EMBCL_PADDING_NONE));
        if (k == 1)
            *b_dev = embcl_tensor_device(t);
        embcl_tensor_free(t);
    }
    int64_t ih[N];
    float th[N * DD];
    for (int i = 0; i < N; i++)
        ih[i] = (i * 131) % VV;
    host_fill(th, N * DD, 44, 1.0f);
    TEST_OK(embcl_graph_set_input(g, idx, ih, sizeof ih));
    TEST_OK(embcl_graph_set_input(g, tgt, th, sizeof th));
    TEST_OK(embcl_graph_step(g));
    TEST_OK(embcl_graph_download(g, loss, loss_out, sizeof *loss_out));
    embcl_tensor_t gb;
    TEST_OK(embcl_graph_grad(g, b, &gb));
    TEST_OK(embcl_tensor_download(gb, grad_b, (size_t)VV * DD * sizeof(float)));
    embcl_tensor_free(gb);
    embcl_graph_free(g);
}

Test(graph_devices, a_table_too_large_for_the_fastest_device_goes_where_it_fits)
{
    static float g1[4096 * 32], g2[4096 * 32];
    float l1, l2;
    embcl_device_t d1, d2;
    uint64_t one_table = 2ull * 4096 * 32 * sizeof(float); /* value and gradient */
    two_tables(dev0, 0, &l1, g1, &d1);
    cr_assert_eq(d1, dev0);
    two_tables(NULL, one_table + one_table / 2, &l2, g2, &d2);
    cr_assert_eq(d2, dev1, "b.weight did not move to the device with room");
    cr_assert_eq(l1, l2, "loss %.9g on one device, %.9g split", l1, l2);
    cr_assert(memcmp(g1, g2, sizeof g1) == 0, "b.weight's gradient differs");
    /* Neither device can take it: refused, naming the parameter. */
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    int64_t st[2] = {4096, 32};
    embcl_value a, idx, e, s;
    TEST_OK(embcl_graph_param_new(g, "huge.weight", 2, st, &a));
    int64_t si[1] = {4};
    TEST_OK(embcl_graph_input(g, "idx", EMBCL_I64, 1, si, &idx));
    TEST_OK(embcl_graph_embedding(g, a, idx, NULL, &e));
    TEST_OK(embcl_graph_mse_loss(g, e, e, &s));
    TEST_OK(embcl_graph_set_loss(g, s));
    embcl_graph_options go = embcl_graph_options_default();
    go.device_budget = one_table / 2;
    TEST_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_graph_compile(g, &go), "embcl_graph_compile", "huge.weight");
    embcl_graph_free(g);
}

/* Data parallel refuses what it cannot split: a batch that does not
 * divide evenly, and reading back anything but the loss. */
Test(graph_devices, data_parallel_refusals_name_the_value)
{
    embcl_device_t both[2] = {dev0, dev1};
    for (int variant = 0; variant < 2; variant++) {
        int64_t sx[2] = {variant == 0 ? 5 : 4, 3}, sw[2] = {2, 3};
        float w[6] = {0};
        embcl_tensor_t tw = test_tensor_f32(dev0, 2, sw, w);
        embcl_graph_t g;
        TEST_OK(embcl_graph_create(rt, &g));
        embcl_value p, x, t, y, l;
        int64_t sy[2] = {sx[0], 2};
        TEST_OK(embcl_graph_param(g, "w", tw, &p));
        TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &x));
        TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, sy, &t));
        TEST_OK(embcl_graph_linear(g, x, p, EMBCL_VALUE_NONE, &y));
        TEST_OK(embcl_graph_mse_loss(g, y, t, &l));
        TEST_OK(embcl_graph_set_loss(g, l));
        if (variant == 1)
            TEST_OK(embcl_graph_keep(g, y));
        embcl_graph_options go = embcl_graph_options_default();
        go.replicas = both;
        go.n_replicas = 2;
        if (variant == 0)
            TEST_FAILS(EMBCL_ERR_SHAPE, embcl_graph_compile(g, &go), "embcl_graph_compile", "input 'x'", "[5, 3]");
        else
            TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_graph_compile(g, &go), "embcl_graph_compile", "linear_0",
                       "only the loss");
        embcl_graph_free(g);
        embcl_tensor_free(tw);
    }
}

/* The same two devices, each in its own OpenCL context (as devices of two
 * platforms are): the copies the executor inserts go through the host, and
 * the numbers are still those of one device, to the bit. */
Test(graph_devices, devices_in_two_contexts_match_one_device)
{
    embcl_runtime_t shared = rt;
    embcl_device_t d0 = dev0, d1 = dev1;
    embcl_runtime_options o = embcl_runtime_options_default();
    o.context_per_device = 1;
    rt = test_runtime_with(&o);
    TEST_OK(embcl_runtime_device(rt, 0, &dev0));
    TEST_OK(embcl_runtime_device(rt, 1, &dev1));
    cr_assert_neq(embcl_device_cl_context(dev0), embcl_device_cl_context(dev1), "the devices share a context");
    static run_result one, two;
    run(dev0, dev0, &adam, &one);
    run(dev0, dev1, &adam, &two);
    cr_assert_eq(two.n_fwd, one.n_fwd + 1, "expected one copy node forward (%zu vs %zu nodes)", two.n_fwd, one.n_fwd);
    expect_bit_identical(&one, &two, "across two contexts");
    /* and against the shared-context run of the suite's runtime */
    static run_result shared_two;
    embcl_runtime_t mine = rt;
    embcl_device_t m0 = dev0, m1 = dev1;
    rt = shared, dev0 = d0, dev1 = d1;
    run(dev0, dev1, &adam, &shared_two);
    expect_bit_identical(&shared_two, &two, "across two contexts (vs two devices in one)");
    rt = mine, dev0 = m0, dev1 = m1;
    test_expect_no_tensors(dev0);
    test_expect_no_tensors(dev1);
    embcl_runtime_free(rt);
    rt = shared, dev0 = d0, dev1 = d1;
}
