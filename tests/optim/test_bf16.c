/* Optimizer steps on bf16 tables (include/embcl/bf16.h): each step is
 * checked against the same step on an f32 twin of the table holding the
 * same (bf16) values, with the same gradients, so both start from the same
 * weights and their state (a function of the gradients only here) agrees:
 *  - nearest rounding gives exactly the f32 result rounded to nearest even;
 *  - stochastic rounding gives one of the two bf16 values around it (within
 *    one bf16 ulp, 2^-8 relative);
 * for the fused backward + update (SGD, Adagrad, SparseAdam, row-wise
 * Adagrad: FBGEMM's SGD, ADAM and EXACT_ROWWISE_ADAGRAD), the row-sparse
 * steps, and the dense optimizers (Adam, AdamW, SGD with momentum).
 * Stochastic rounding must be unbiased (updates far below half an ulp move
 * the mean as the f32 table moves, where nearest rounding never moves),
 * reproducible from its seed, and rolled back bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

TEST_DEVICE_FIXTURE
TestSuite(bf16_optim, .init = test_device_setup, .fini = test_device_teardown);

/* GPU-shaped variants: vectors of 4, 8 lanes sharing a row-wise Adagrad row. */
static void tuned_setup(void)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "bag_bwd.VW=4,bag_bwd.LANES=8,bag_bwd.WGS=64,optim.VW=4,optim.WGS=64,optim_row.WGS=64,"
               "optim_row.LANES=8";
    rt = test_runtime_with(&o);
    dev = test_device(rt);
}
TestSuite(bf16_optim_tuned, .init = tuned_setup, .fini = test_device_teardown);

#define V 40
#define B 6
#define N 30

static float hval(uint32_t a, uint32_t b)
{
    uint32_t x = a * 2654435761u ^ (b + 0x9e3779b9u) * 40503u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (float)(x % 2001u) / 1000.0f - 1.0f;
}

static float bf(uint16_t h)
{
    float f;
    TEST_OK(embcl_bf16_to_f32(&h, &f, 1));
    return f;
}

static uint16_t rne(float f)
{
    uint16_t h;
    TEST_OK(embcl_bf16_from_f32(&f, &h, 1));
    return h;
}

/* The bf16 neighbours below and above a (equal when a is a bf16 value). */
static void neighbours(float a, uint16_t *lo, uint16_t *hi)
{
    uint32_t u;
    memcpy(&u, &a, sizeof u);
    uint16_t t = (uint16_t)(u >> 16);
    uint16_t up = (u & 0xffffu) ? (uint16_t)(t + 1) : t;
    /* truncation moves toward zero: for negatives "up" is further from zero */
    *lo = t;
    *hi = up;
}

typedef struct twin {
    embcl_tensor_t tf, tb, idx, offs, g;
    embcl_optim_t of, ob;
    embcl_bags bags;
    embcl_embedding_options o;
    int64_t D;
} twin;

static embcl_tensor_t tensor(embcl_dtype dt, int ndim, const int64_t *shape, const void *data, size_t bytes)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, dt, ndim, shape, &t));
    if (data)
        TEST_OK(embcl_tensor_upload(t, data, bytes));
    return t;
}

static void twin_open(twin *w, embcl_optim_kind kind, const embcl_optim_hparams *hp, embcl_bf16_rounding mode,
                      int64_t D)
{
    memset(w, 0, sizeof *w);
    w->D = D;
    int64_t shape[2] = {V, D}, n = N, b = B, gshape[2] = {B, D};
    uint16_t *hb = malloc((size_t)(V * D) * sizeof *hb);
    for (int64_t i = 0; i < V * D; i++)
        hb[i] = rne(hval((uint32_t)i, 7));
    w->tb = tensor(EMBCL_BF16, 2, shape, hb, (size_t)(V * D) * sizeof *hb);
    w->tf = tensor(EMBCL_F32, 2, shape, NULL, 0);
    TEST_OK(embcl_tensor_convert(w->tf, w->tb));
    free(hb);
    int64_t idx[N], offs[B];
    for (int i = 0; i < N; i++)
        idx[i] = (int64_t)((uint32_t)(hval((uint32_t)i, 3) * 1000.0f + 1000.0f) % (V / 2)); /* dups, half the rows */
    for (int i = 0; i < B; i++)
        offs[i] = i * N / B;
    w->idx = tensor(EMBCL_I64, 1, &n, idx, sizeof idx);
    w->offs = tensor(EMBCL_I64, 1, &b, offs, sizeof offs);
    float *g = malloc((size_t)(B * D) * sizeof *g);
    for (int64_t i = 0; i < B * D; i++)
        g[i] = hval((uint32_t)i, 11);
    w->g = tensor(EMBCL_F32, 2, gshape, g, (size_t)(B * D) * sizeof *g);
    free(g);
    w->bags = (embcl_bags){w->idx, w->offs, NULL};
    w->o = embcl_embedding_options_default();
    w->o.mode = EMBCL_BAG_SUM;
    TEST_OK(embcl_optim_create(dev, kind, hp, &w->of));
    TEST_OK(embcl_optim_create(dev, kind, hp, &w->ob));
    TEST_OK(embcl_optim_add_group(w->of, NULL, NULL));
    TEST_OK(embcl_optim_add_group(w->ob, NULL, NULL));
    TEST_OK(embcl_optim_add_param(w->of, 0, w->tf, "table", NULL));
    TEST_OK(embcl_optim_add_param(w->ob, 0, w->tb, "table", NULL));
    TEST_OK(embcl_optim_set_bf16_rounding(w->ob, mode, 1234));
}

static void twin_close(twin *w)
{
    embcl_optim_free(w->of);
    embcl_optim_free(w->ob);
    embcl_tensor_free(w->tf);
    embcl_tensor_free(w->tb);
    embcl_tensor_free(w->idx);
    embcl_tensor_free(w->offs);
    embcl_tensor_free(w->g);
}

typedef enum { FUSED, ROWSPARSE, DENSE } path;

static void step(twin *w, embcl_optim_t opt, path how)
{
    if (how == FUSED) {
        TEST_OK(embcl_embedding_bag_backward_update(w->g, &w->bags, &w->o, opt, 0));
        return;
    }
    embcl_embedding_options o = w->o;
    embcl_grad grad = {NULL, NULL};
    if (how == ROWSPARSE) {
        o.sparse = 1;
        TEST_OK(embcl_rowsparse_create(dev, V, w->D, V, &grad.sparse));
        TEST_OK(embcl_embedding_bag_backward(w->g, NULL, &w->bags, NULL, V, &o, NULL, grad.sparse, NULL));
    } else {
        int64_t shape[2] = {V, w->D};
        grad.dense = tensor(EMBCL_F32, 2, shape, NULL, 0);
        TEST_OK(embcl_tensor_fill(grad.dense, 0.0));
        TEST_OK(embcl_embedding_bag_backward(w->g, NULL, &w->bags, NULL, V, &o, grad.dense, NULL, NULL));
    }
    TEST_OK(embcl_optim_step(opt, &grad, 1));
    embcl_rowsparse_free(grad.sparse);
    embcl_tensor_free(grad.dense);
}

/* STEPS steps; before each the f32 twin takes the bf16 table's values. */
static void check_twin(embcl_optim_kind kind, const embcl_optim_hparams *hp, embcl_bf16_rounding mode, path how,
                       int64_t D)
{
    twin w;
    twin_open(&w, kind, hp, mode, D);
    size_t n = (size_t)(V * D);
    float *a = malloc(n * sizeof *a);
    uint16_t *b = malloc(n * sizeof *b), *before = malloc(n * sizeof *before);
    size_t moved = 0, rounded_up = 0, inexact = 0;
    const char *name = embcl_optim_kind_name(kind);
    for (int s = 0; s < 3; s++) {
        TEST_OK(embcl_tensor_convert(w.tf, w.tb));
        TEST_OK(embcl_tensor_download(w.tb, before, n * sizeof *before));
        step(&w, w.of, how);
        step(&w, w.ob, how);
        TEST_OK(embcl_tensor_download(w.tf, a, n * sizeof *a));
        TEST_OK(embcl_tensor_download(w.tb, b, n * sizeof *b));
        for (size_t i = 0; i < n; i++) {
            moved += b[i] != before[i];
            if (mode == EMBCL_BF16_NEAREST) {
                cr_assert_eq(b[i], rne(a[i]), "%s (path %d, D %lld) step %d element %zu: bf16 0x%04x = %g, f32 %.9g "
                             "rounds to 0x%04x", name, (int)how, (long long)D, s, i, b[i], (double)bf(b[i]),
                             (double)a[i], rne(a[i]));
                continue;
            }
            uint16_t lo, hi;
            neighbours(a[i], &lo, &hi);
            cr_assert(b[i] == lo || b[i] == hi, "%s (path %d, D %lld) step %d element %zu: bf16 %.9g is not next "
                      "to f32 %.9g (%.9g, %.9g)", name, (int)how, (long long)D, s, i, (double)bf(b[i]),
                      (double)a[i], (double)bf(lo), (double)bf(hi));
            inexact += lo != hi;
            rounded_up += lo != hi && b[i] == hi;
        }
        size_t ns;
        TEST_OK(embcl_optim_state_names(w.of, 0, &ns, NULL, 0));
        for (size_t j = 0; j < ns; j++) {
            size_t cnt = kind == EMBCL_OPTIM_ROWWISE_ADAGRAD ? V : n;
            float *sf = malloc(cnt * sizeof *sf), *sb = malloc(cnt * sizeof *sb);
            TEST_OK(embcl_optim_state_download(w.of, 0, j, sf, cnt * sizeof *sf));
            TEST_OK(embcl_optim_state_download(w.ob, 0, j, sb, cnt * sizeof *sb));
            test_assert_close(sb, sf, cnt, 1e-6, 1e-9, "optimizer state (f32 in both)");
            free(sf);
            free(sb);
        }
    }
    cr_assert_gt(moved, n / 10, "%s: only %zu of %zu elements moved", name, moved, n * 3);
    if (mode == EMBCL_BF16_STOCHASTIC)
        cr_assert(rounded_up > 0 && rounded_up < inexact, "%s: stochastic rounding went one way (%zu of %zu up)",
                  name, rounded_up, inexact);
    free(a);
    free(b);
    free(before);
    twin_close(&w);
}

static embcl_optim_hparams hp_of(embcl_optim_kind kind)
{
    embcl_optim_hparams hp = embcl_optim_defaults(kind);
    hp.lr = kind == EMBCL_OPTIM_SGD ? 0.05 : 0.01;
    return hp;
}

static void sparse_kinds(path how, embcl_bf16_rounding mode)
{
    embcl_optim_kind kinds[] = {EMBCL_OPTIM_SGD, EMBCL_OPTIM_ADAGRAD, EMBCL_OPTIM_SPARSE_ADAM,
                                EMBCL_OPTIM_ROWWISE_ADAGRAD};
    int64_t widths[] = {16, 13};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t d = 0; d < 2; d++) {
            embcl_optim_hparams hp = hp_of(kinds[k]);
            check_twin(kinds[k], &hp, mode, how, widths[d]);
        }
}

Test(bf16_optim, fused_update_nearest_is_the_f32_update_rounded) { sparse_kinds(FUSED, EMBCL_BF16_NEAREST); }
Test(bf16_optim, fused_update_stochastic_within_one_ulp) { sparse_kinds(FUSED, EMBCL_BF16_STOCHASTIC); }
Test(bf16_optim, rowsparse_step_nearest_is_the_f32_update_rounded) { sparse_kinds(ROWSPARSE, EMBCL_BF16_NEAREST); }
Test(bf16_optim, rowsparse_step_stochastic_within_one_ulp) { sparse_kinds(ROWSPARSE, EMBCL_BF16_STOCHASTIC); }

Test(bf16_optim_tuned, fused_update_nearest_is_the_f32_update_rounded) { sparse_kinds(FUSED, EMBCL_BF16_NEAREST); }
Test(bf16_optim_tuned, fused_update_stochastic_within_one_ulp) { sparse_kinds(FUSED, EMBCL_BF16_STOCHASTIC); }

Test(bf16_optim, dense_optimizers_update_bf16_tables_too)
{
    embcl_optim_kind kinds[] = {EMBCL_OPTIM_ADAM, EMBCL_OPTIM_ADAMW, EMBCL_OPTIM_SGD, EMBCL_OPTIM_ROWWISE_ADAGRAD};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int m = 0; m < 2; m++) {
            embcl_optim_hparams hp = hp_of(kinds[k]);
            if (kinds[k] == EMBCL_OPTIM_SGD)
                hp.momentum = 0.0; /* a momentum buffer depends on nothing but the gradients either way */
            check_twin(kinds[k], &hp, m ? EMBCL_BF16_NEAREST : EMBCL_BF16_STOCHASTIC, DENSE, 16);
        }
}

/* R rows of D ones, every row looked up once per step with gradient 1:
 * SGD moves each weight by lr = 1e-3 a step, a quarter of the bf16 ulp
 * below 1 (2^-8). */
#define R 512
#define DU 16

typedef struct ones {
    embcl_tensor_t t, idx, g;
    embcl_optim_t opt;
} ones;

static void ones_open(ones *o, embcl_dtype dt, embcl_bf16_rounding mode, uint64_t seed)
{
    int64_t shape[2] = {R, DU}, r = R;
    TEST_OK(embcl_tensor_create(dev, dt, 2, shape, &o->t));
    TEST_OK(embcl_tensor_fill(o->t, 1.0));
    int64_t *idx = malloc(R * sizeof *idx);
    for (int64_t i = 0; i < R; i++)
        idx[i] = (i * 37) % R;
    o->idx = tensor(EMBCL_I64, 1, &r, idx, R * sizeof *idx);
    free(idx);
    o->g = tensor(EMBCL_F32, 2, shape, NULL, 0);
    TEST_OK(embcl_tensor_fill(o->g, 1.0));
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    hp.lr = 1e-3;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, &hp, &o->opt));
    TEST_OK(embcl_optim_add_group(o->opt, NULL, NULL));
    TEST_OK(embcl_optim_add_param(o->opt, 0, o->t, "ones", NULL));
    TEST_OK(embcl_optim_set_bf16_rounding(o->opt, mode, seed));
}

static void ones_step(ones *o) { TEST_OK(embcl_embedding_backward_update(o->g, o->idx, NULL, o->opt, 0)); }

static float *ones_values(ones *o)
{
    float *v = malloc(R * DU * sizeof *v);
    if (embcl_tensor_dtype(o->t) == EMBCL_F32) {
        TEST_OK(embcl_tensor_download(o->t, v, R * DU * sizeof *v));
        return v;
    }
    uint16_t *h = malloc(R * DU * sizeof *h);
    TEST_OK(embcl_tensor_download(o->t, h, R * DU * sizeof *h));
    TEST_OK(embcl_bf16_to_f32(h, v, R * DU));
    free(h);
    return v;
}

static void ones_close(ones *o)
{
    embcl_optim_free(o->opt);
    embcl_tensor_free(o->t);
    embcl_tensor_free(o->idx);
    embcl_tensor_free(o->g);
}

static double mean_of(const float *v)
{
    double s = 0;
    for (int i = 0; i < R * DU; i++)
        s += v[i];
    return s / (R * DU);
}

Test(bf16_optim, stochastic_rounding_is_unbiased_where_nearest_is_stuck)
{
    ones f, sr, nr;
    ones_open(&f, EMBCL_F32, EMBCL_BF16_NEAREST, 0);
    ones_open(&sr, EMBCL_BF16, EMBCL_BF16_STOCHASTIC, 42);
    ones_open(&nr, EMBCL_BF16, EMBCL_BF16_NEAREST, 0);
    for (int s = 1; s <= 10; s++) {
        ones_step(&f);
        ones_step(&sr);
        ones_step(&nr);
        float *vf = ones_values(&f), *vs = ones_values(&sr), *vn = ones_values(&nr);
        double mf = mean_of(vf), ms = mean_of(vs);
        /* per element at most 10 independent roundings of <= 2^-8 each:
         * the mean over 8192 elements has sd < 7e-5 */
        cr_assert(fabs(ms - mf) < 4e-4, "step %d: stochastic mean %.7f, f32 %.7f", s, ms, mf);
        for (int i = 0; i < R * DU; i++)
            cr_assert_eq(vn[i], 1.0f, "step %d: nearest rounding moved element %d to %g", s, i, (double)vn[i]);
        free(vf);
        free(vs);
        free(vn);
    }
    ones_close(&f);
    ones_close(&sr);
    ones_close(&nr);
}

static uint16_t *bits_after(uint64_t seed, int steps)
{
    ones o;
    ones_open(&o, EMBCL_BF16, EMBCL_BF16_STOCHASTIC, seed);
    for (int s = 0; s < steps; s++)
        ones_step(&o);
    uint16_t *h = malloc(R * DU * sizeof *h);
    TEST_OK(embcl_tensor_download(o.t, h, R * DU * sizeof *h));
    ones_close(&o);
    return h;
}

Test(bf16_optim, stochastic_rounding_is_reproducible_from_its_seed)
{
    uint16_t *a = bits_after(7, 3), *b = bits_after(7, 3), *c = bits_after(8, 3);
    cr_assert_eq(memcmp(a, b, R * DU * sizeof *a), 0, "two runs with seed 7 differ");
    cr_assert_neq(memcmp(a, c, R * DU * sizeof *a), 0, "seeds 7 and 8 gave the same bits");
    free(a);
    free(b);
    free(c);
    ones o;
    ones_open(&o, EMBCL_BF16, EMBCL_BF16_STOCHASTIC, 0);
    embcl_bf16_rounding mode;
    uint64_t seed;
    TEST_OK(embcl_optim_get_bf16_rounding(o.opt, &mode, &seed));
    cr_assert(mode == EMBCL_BF16_STOCHASTIC && seed == 0);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_set_bf16_rounding(o.opt, (embcl_bf16_rounding)5, 1),
               "embcl_optim_set_bf16_rounding", "'mode' is 5");
    TEST_OK(embcl_optim_get_bf16_rounding(o.opt, &mode, &seed));
    cr_assert(mode == EMBCL_BF16_STOCHASTIC && seed == 0, "a refused call changed the setting");
    ones_close(&o);
}

/* The bits come from (seed, element): a device tuned to another vector
 * width rounds identically. A bf16 table's elementwise updates take
 * optim.BF16_VW where the device sets it (CPUs: 16), else optim.VW. */
Test(bf16_optim, stochastic_rounding_does_not_depend_on_the_vector_width)
{
    uint16_t *base = bits_after(11, 2);
    const char *tunings[] = {"optim.VW=1", "optim.VW=2", "optim.VW=16", "optim.BF16_VW=1", "optim.BF16_VW=2",
                             "optim.BF16_VW=4", "optim.BF16_VW=8", "optim.VW=8,optim.BF16_VW=0"};
    embcl_device_t own = dev;
    for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; t++) {
        embcl_runtime_options o = embcl_runtime_options_default();
        o.tuning = tunings[t];
        embcl_runtime_t rt2 = test_runtime_with(&o);
        dev = test_device(rt2);
        uint16_t *other = bits_after(11, 2);
        test_expect_no_tensors(dev);
        dev = own;
        embcl_runtime_free(rt2);
        cr_assert_eq(memcmp(base, other, R * DU * sizeof *base), 0, "%s rounds differently", tunings[t]);
        free(other);
    }
    free(base);
}

Test(bf16_optim, rollback_restores_the_bf16_table_and_replays_the_same_bits)
{
    ones o;
    ones_open(&o, EMBCL_BF16, EMBCL_BF16_STOCHASTIC, 3);
    ones_step(&o);
    uint16_t *start = malloc(R * DU * sizeof *start), *once = malloc(R * DU * sizeof *once);
    uint16_t *now = malloc(R * DU * sizeof *now);
    TEST_OK(embcl_tensor_download(o.t, start, R * DU * sizeof *start));
    TEST_OK(embcl_optim_begin(o.opt));
    ones_step(&o);
    TEST_OK(embcl_tensor_download(o.t, once, R * DU * sizeof *once));
    cr_assert_neq(memcmp(start, once, R * DU * sizeof *once), 0);
    TEST_OK(embcl_optim_rollback(o.opt));
    TEST_OK(embcl_tensor_download(o.t, now, R * DU * sizeof *now));
    cr_assert_eq(memcmp(start, now, R * DU * sizeof *now), 0, "rollback left a changed bf16 table");
    ones_step(&o);
    TEST_OK(embcl_tensor_download(o.t, now, R * DU * sizeof *now));
    cr_assert_eq(memcmp(once, now, R * DU * sizeof *now), 0, "the replayed step rounded differently");
    free(start);
    free(once);
    free(now);
    ones_close(&o);
}

Test(bf16_optim, rollback_of_a_dense_step_restores_the_bf16_table)
{
    ones o;
    ones_open(&o, EMBCL_BF16, EMBCL_BF16_STOCHASTIC, 5);
    size_t bytes = R * DU * sizeof(uint16_t);
    uint16_t *start = malloc(bytes), *now = malloc(bytes);
    TEST_OK(embcl_tensor_download(o.t, start, bytes));
    embcl_grad g = {o.g, NULL}; /* [R, DU] ones: a dense gradient of the table's shape */
    TEST_OK(embcl_optim_begin(o.opt));
    TEST_OK(embcl_optim_step(o.opt, &g, 1));
    TEST_OK(embcl_tensor_download(o.t, now, bytes));
    cr_assert_neq(memcmp(start, now, bytes), 0, "the dense step moved nothing");
    TEST_OK(embcl_optim_rollback(o.opt));
    TEST_OK(embcl_tensor_download(o.t, now, bytes));
    cr_assert_eq(memcmp(start, now, bytes), 0, "rollback of a dense step left a changed bf16 table");
    free(start);
    free(now);
    ones_close(&o);
}

Test(bf16_optim, only_f32_and_bf16_parameters)
{
    int64_t shape[2] = {4, 4};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 2, shape, &t));
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, NULL, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_optim_add_param(opt, 0, t, "x", NULL), "embcl_optim_add_param", "i32",
               "f32 or bf16");
    cr_assert_eq(embcl_optim_param_count(opt), 0);
    embcl_optim_free(opt);
    embcl_tensor_free(t);
}
