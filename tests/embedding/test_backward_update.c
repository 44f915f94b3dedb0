/* The public fused backward + update (embcl_embedding_backward_update,
 * embcl_embedding_bag_backward_update) against the unfused path: the
 * row-sparse backward then embcl_optim_step, for every optimizer that takes
 * row-sparse gradients, over several steps with duplicated indices, padding,
 * mean pooling and per_sample_weights; tables and optimizer state must agree
 * within 1e-5. Bad input must leave the table, the state and the step count
 * as they were. Also under GPU-shaped tunings. */
#include <stdlib.h>
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

#define V 30
#define D 12
#define B 6
#define N 40
#define PAD 4
#define STEPS 3

static embcl_runtime_t rt;
static embcl_device_t dev;

static void init(void) { emb_suite_open(&rt, &dev); }
static void init_tuned(void)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "bag_bwd.VW=4,bag_bwd.LANES=8,bag_bwd.WGS=64,optim.VW=4,optim.WGS=64,optim_row.WGS=64,"
               "optim_row.LANES=8,sort.WGS=64,sort.RB=6,sort.IPT=16";
    rt = test_runtime_with(&o);
    dev = test_device(rt);
}
static void fini(void) { emb_suite_close(rt, dev); }

TestSuite(backward_update, .init = init, .fini = fini);
TestSuite(backward_update_tuned, .init = init_tuned, .fini = fini);

typedef enum { PLAIN, BAG_SUM, BAG_MEAN, BAG_PSW, BAG_FIXED } variant;

static float hval(uint32_t a, uint32_t b)
{
    uint32_t x = a * 2654435761u ^ (b + 0x9e3779b9u) * 40503u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (float)(x % 2001u) / 1000.0f - 1.0f;
}

typedef struct step_in {
    embcl_tensor_t idx, offs, psw, g;
    embcl_bags bags;
    embcl_embedding_options o;
} step_in;

static embcl_tensor_t upload_i64(int ndim, const int64_t *shape, const int64_t *v, size_t n)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, ndim, shape, &t));
    TEST_OK(embcl_tensor_upload(t, v, n * sizeof *v));
    return t;
}

static step_in make_step(variant var, int t)
{
    step_in s;
    memset(&s, 0, sizeof s);
    s.o = embcl_embedding_options_default();
    s.o.mode = var == BAG_MEAN ? EMBCL_BAG_MEAN : EMBCL_BAG_SUM;
    if (var == PLAIN || var == BAG_MEAN)
        s.o.padding_idx = PAD;
    int64_t idx[N], offs[B] = {0, 3, 3, 11, 20, 33};
    for (int i = 0; i < N; i++) /* a narrow, shifting window: duplicates, untouched rows, padding */
        idx[i] = (int64_t)((uint32_t)(hval((uint32_t)t, (uint32_t)i) * 1000.0f + 1000.0f) % 11u) + t * 2;
    int64_t n = N, shape2[2] = {B, N / B};
    if (var == BAG_FIXED) {
        s.idx = upload_i64(2, shape2, idx, (size_t)(B * (N / B)));
    } else {
        s.idx = upload_i64(1, &n, idx, N);
    }
    if (var != PLAIN && var != BAG_FIXED) {
        int64_t nb = B;
        s.offs = upload_i64(1, &nb, offs, B);
    }
    if (var == BAG_PSW) {
        float w[N];
        for (int i = 0; i < N; i++)
            w[i] = hval(90u + (uint32_t)t, (uint32_t)i);
        s.psw = test_tensor_f32(dev, 1, &n, w);
    }
    int64_t rows = var == PLAIN ? N : B, gs[2] = {rows, D};
    float *g = malloc((size_t)(rows * D) * sizeof *g);
    for (int i = 0; i < rows * D; i++)
        g[i] = hval(50u + (uint32_t)t, (uint32_t)i);
    s.g = test_tensor_f32(dev, 2, gs, g);
    free(g);
    s.bags = (embcl_bags){s.idx, s.offs, s.psw};
    return s;
}

static void free_step(step_in *s)
{
    embcl_tensor_free(s->idx);
    embcl_tensor_free(s->offs);
    embcl_tensor_free(s->psw);
    embcl_tensor_free(s->g);
}

typedef struct side {
    embcl_tensor_t table;
    embcl_optim_t opt;
} side;

static side make_side(embcl_optim_kind kind, const embcl_optim_hparams *h)
{
    float init[V * D];
    for (int i = 0; i < V * D; i++)
        init[i] = hval(7u, (uint32_t)i);
    int64_t shape[2] = {V, D};
    side s;
    s.table = test_tensor_f32(dev, 2, shape, init);
    TEST_OK(embcl_optim_create(dev, kind, h, &s.opt));
    TEST_OK(embcl_optim_add_group(s.opt, NULL, NULL));
    TEST_OK(embcl_optim_add_param(s.opt, 0, s.table, "emb.weight", NULL));
    return s;
}

static void free_side(side *s)
{
    embcl_optim_free(s->opt);
    embcl_tensor_free(s->table);
}

static embcl_status fused_step(side *s, step_in *in, variant var)
{
    if (var == PLAIN)
        return embcl_embedding_backward_update(in->g, in->idx, &in->o, s->opt, 0);
    return embcl_embedding_bag_backward_update(in->g, &in->bags, &in->o, s->opt, 0);
}

static void unfused_step(side *s, step_in *in, variant var, embcl_rowsparse_t sg)
{
    embcl_embedding_options o = in->o;
    o.sparse = 1;
    if (var == PLAIN)
        TEST_OK(embcl_embedding_backward(in->g, in->idx, V, &o, NULL, sg));
    else
        TEST_OK(embcl_embedding_bag_backward(in->g, NULL, &in->bags, NULL, V, &o, NULL, sg, NULL));
    embcl_grad g = {NULL, sg};
    TEST_OK(embcl_optim_step(s->opt, &g, 1));
}

/* The table and every state tensor of a side, concatenated (caller frees). */
static float *snapshot(side *s, embcl_optim_kind kind, size_t *len)
{
    size_t ns;
    TEST_OK(embcl_optim_state_names(s->opt, 0, &ns, NULL, 0));
    size_t per = kind == EMBCL_OPTIM_ROWWISE_ADAGRAD ? V : V * D;
    float *all = malloc((V * D + ns * per) * sizeof *all);
    TEST_OK(embcl_tensor_download(s->table, all, V * D * sizeof *all));
    for (size_t i = 0; i < ns; i++)
        TEST_OK(embcl_optim_state_download(s->opt, 0, i, all + V * D + i * per, per * sizeof *all));
    *len = V * D + ns * per;
    return all;
}

static void compare(embcl_optim_kind kind, const embcl_optim_hparams *h, variant var)
{
    side fused = make_side(kind, h), plain = make_side(kind, h);
    embcl_rowsparse_t sg;
    TEST_OK(embcl_rowsparse_create(dev, V, D, N, &sg));
    for (int t = 1; t <= STEPS; t++) {
        step_in in = make_step(var, t);
        TEST_OK(fused_step(&fused, &in, var));
        unfused_step(&plain, &in, var, sg);
        free_step(&in);
    }
    size_t na, nb;
    float *a = snapshot(&fused, kind, &na), *b = snapshot(&plain, kind, &nb);
    cr_assert_eq(na, nb);
    test_assert_close(a, b, na, 1e-5, 1e-7, embcl_optim_kind_name(kind));
    int64_t sa, sb;
    TEST_OK(embcl_optim_param_steps(fused.opt, 0, &sa));
    TEST_OK(embcl_optim_param_steps(plain.opt, 0, &sb));
    cr_assert_eq(sa, sb, "fused steps %lld, unfused %lld", (long long)sa, (long long)sb);
    free(a);
    free(b);
    embcl_rowsparse_free(sg);
    free_side(&fused);
    free_side(&plain);
}

static void every_variant(embcl_optim_kind kind, const embcl_optim_hparams *h)
{
    for (variant v = PLAIN; v <= BAG_FIXED; v++)
        compare(kind, h, v);
}

static void all_optimizers(void)
{
    embcl_optim_hparams sgd = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    sgd.lr = 0.1;
    every_variant(EMBCL_OPTIM_SGD, &sgd);
    sgd.momentum = 0.9; /* moves every row its buffer holds: a dense update */
    sgd.dampening = 0.1;
    every_variant(EMBCL_OPTIM_SGD, &sgd);
    embcl_optim_hparams ada = embcl_optim_defaults(EMBCL_OPTIM_ADAGRAD);
    ada.lr_decay = 0.01;
    ada.initial_accumulator_value = 0.1;
    every_variant(EMBCL_OPTIM_ADAGRAD, &ada);
    embcl_optim_hparams sa = embcl_optim_defaults(EMBCL_OPTIM_SPARSE_ADAM);
    sa.lr = 1e-2;
    every_variant(EMBCL_OPTIM_SPARSE_ADAM, &sa);
    embcl_optim_hparams rw = embcl_optim_defaults(EMBCL_OPTIM_ROWWISE_ADAGRAD);
    rw.wd_mode = EMBCL_WD_DECOUPLED;
    rw.weight_decay = 0.01;
    every_variant(EMBCL_OPTIM_ROWWISE_ADAGRAD, &rw);
}

Test(backward_update, matches_unfused_for_every_sparse_optimizer) { all_optimizers(); }
Test(backward_update_tuned, matches_unfused_for_every_sparse_optimizer) { all_optimizers(); }

/* A refused call: the status, the message, and nothing changed. */
static void expect_refused(embcl_status got, embcl_status want, const char *part)
{
    cr_assert_eq(got, want, "got %s, expected %s: %s", embcl_status_str(got), embcl_status_str(want),
                 embcl_last_error());
    cr_assert(strstr(embcl_last_error(), part) != NULL, "message lacks '%s': %s", part, embcl_last_error());
}

Test(backward_update, bad_input_changes_nothing)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_SPARSE_ADAM);
    side s = make_side(EMBCL_OPTIM_SPARSE_ADAM, &h);
    step_in in = make_step(BAG_SUM, 1);
    TEST_OK(fused_step(&s, &in, BAG_SUM)); /* state exists, one step taken */
    size_t n0;
    float *before = snapshot(&s, EMBCL_OPTIM_SPARSE_ADAM, &n0);

    /* an index out of range, at position 7 */
    int64_t bad[N];
    TEST_OK(embcl_tensor_download(in.idx, bad, sizeof bad));
    bad[7] = V;
    TEST_OK(embcl_tensor_upload(in.idx, bad, sizeof bad));
    expect_refused(fused_step(&s, &in, BAG_SUM),
                   EMBCL_ERR_INDEX_RANGE, "value 30 at position 7");
    /* the same, written on the device (device-side check) */
    TEST_OK(embcl_tensor_fill(in.idx, -1.0));
    expect_refused(fused_step(&s, &in, BAG_SUM), EMBCL_ERR_INDEX_RANGE, "value -1");
    TEST_OK(embcl_tensor_fill(in.idx, 1.0));
    /* max mode and freq scaling have no sparse gradient */
    in.o.mode = EMBCL_BAG_MAX;
    expect_refused(fused_step(&s, &in, BAG_SUM), EMBCL_ERR_UNSUPPORTED, "max mode");
    in.o.mode = EMBCL_BAG_SUM;
    in.o.scale_grad_by_freq = 1;
    expect_refused(fused_step(&s, &in, BAG_SUM), EMBCL_ERR_UNSUPPORTED,
                   "scale_grad_by_freq");
    in.o.scale_grad_by_freq = 0;
    /* grad_out of the wrong shape; a parameter that does not exist */
    embcl_tensor_t wrong = emb_zeros(dev, B + 1, D);
    expect_refused(embcl_embedding_bag_backward_update(wrong, &in.bags, &in.o, s.opt, 0), EMBCL_ERR_SHAPE,
                   "'grad_out'");
    embcl_tensor_free(wrong);
    expect_refused(embcl_embedding_bag_backward_update(in.g, &in.bags, &in.o, s.opt, 1),
                   EMBCL_ERR_INDEX_RANGE, "argument 'param' is 1");

    size_t n1;
    float *after = snapshot(&s, EMBCL_OPTIM_SPARSE_ADAM, &n1);
    cr_assert_eq(n0, n1);
    cr_assert(memcmp(before, after, n0 * sizeof *before) == 0, "a refused call changed the table or the state");
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(s.opt, 0, &steps));
    cr_assert_eq(steps, 1, "a refused call counted a step");
    free(before);
    free(after);
    free_step(&in);
    free_side(&s);
}

Test(backward_update, dense_only_optimizer_is_refused)
{
    side s = make_side(EMBCL_OPTIM_ADAM, NULL);
    step_in in = make_step(PLAIN, 1);
    size_t n0;
    float *before = snapshot(&s, EMBCL_OPTIM_ADAM, &n0);
    expect_refused(fused_step(&s, &in, PLAIN), EMBCL_ERR_UNSUPPORTED,
                   "Adam does not support sparse gradients");
    size_t n1;
    float *after = snapshot(&s, EMBCL_OPTIM_ADAM, &n1);
    cr_assert(memcmp(before, after, n0 * sizeof *before) == 0, "a refused call changed the table or the state");
    free(before);
    free(after);
    free_step(&in);
    free_side(&s);
}
