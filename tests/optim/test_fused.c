/* Fused backward + update (src/optim/optim_fused.h) against the unfused
 * path: the same positions coalesced into a row-sparse gradient (duplicates
 * summed in position order) and given to embcl_optim_step. Embedding-style
 * (one gradient row per position, with a padding index skipped) and
 * bag-style (one row per bag, scaled per position as mean/per_sample_weights
 * do), over several steps for each optimizer that takes sparse gradients. */
#include "optim/optim_fused.h"
#include "optim_case.h"

#define V 40
#define D 12
#define N 64
#define BAGS 9
#define PAD 3
#define FUSED_STEPS 4

#define GPU_SHAPED "optim.VW=4,optim.WGS=64,optim_row.WGS=64,optim_row.LANES=8"

static void init(void) { oc_suite_init(NULL, NULL); }
/* GPU-shaped tunings: vector width 4, small groups, 8 lanes per row. */
static void init_tuned(void) { oc_suite_init(GPU_SHAPED, NULL); }

TestSuite(optim_fused, .init = init, .fini = oc_suite_fini);
TestSuite(optim_fused_tuned, .init = init_tuned, .fini = oc_suite_fini);

typedef struct side {
    embcl_tensor_t table;
    embcl_optim_t opt;
} side;

static side make_side(embcl_optim_kind kind, const embcl_optim_hparams *h, const float *init)
{
    side s;
    int64_t shape[2] = {V, D};
    s.table = test_tensor_f32(oc_dev, 2, shape, init);
    TEST_OK(embcl_optim_create(oc_dev, kind, h, &s.opt));
    TEST_OK(embcl_optim_add_group(s.opt, NULL, NULL));
    TEST_OK(embcl_optim_add_param(s.opt, 0, s.table, "emb.weight", NULL));
    return s;
}

/* One step's inputs: indices, and gradient rows per position or per bag. */
static void step_inputs(int t, int bags, int64_t *idx, int32_t *bag, float *scale, float *rows)
{
    for (int i = 0; i < N; i++) {
        /* a narrow window: many duplicates, many rows untouched */
        idx[i] = (int64_t)(oc_hidx(77, (uint32_t)t, (uint32_t)i) % 17u) + (t % 3) * 5;
        bag[i] = i * BAGS / N;
        scale[i] = 0.5f + 0.25f * (float)(i % 3);
    }
    int nrows = bags ? BAGS : N;
    for (int i = 0; i < nrows * D; i++)
        rows[i] = oc_uval(78, (uint32_t)t, (uint32_t)i);
}

static void compare(embcl_optim_kind kind, const embcl_optim_hparams *h, int bags, int skip)
{
    float init[V * D];
    for (int i = 0; i < V * D; i++)
        init[i] = oc_uval(79, 0, (uint32_t)i);
    side fused = make_side(kind, h, init), plain = make_side(kind, h, init);
    embcl_rowsparse_t sg;
    TEST_OK(embcl_rowsparse_create(oc_dev, V, D, N, &sg));
    for (int t = 1; t <= FUSED_STEPS; t++) {
        int64_t idx[N];
        int32_t bag[N];
        float scale[N], rows[N * D];
        step_inputs(t, bags, idx, bag, scale, rows);
        /* fused */
        int64_t ishape[1] = {N}, rshape[2] = {bags ? BAGS : N, D};
        embcl_tensor_t ti, tb, ts, tr = test_tensor_f32(oc_dev, 2, rshape, rows);
        TEST_OK(embcl_tensor_create(oc_dev, EMBCL_I64, 1, ishape, &ti));
        TEST_OK(embcl_tensor_upload(ti, idx, sizeof idx));
        TEST_OK(embcl_tensor_create(oc_dev, EMBCL_I32, 1, ishape, &tb));
        TEST_OK(embcl_tensor_upload(tb, bag, sizeof bag));
        ts = test_tensor_f32(oc_dev, 1, ishape, scale);
        embcl_segments seg;
        TEST_OK(embcl_segments_build(ti, V, skip, "test", "indices", &seg));
        embcl_fused_grad fg = {&seg, tr, bags ? tb : NULL, bags ? ts : NULL};
        TEST_OK(embcl_optim_step_fused(fused.opt, 0, &fg, "test"));
        embcl_segments_free(&seg);
        /* unfused: per-position rows, padding dropped, coalesced in order */
        int64_t ids[N];
        float vals[N * D];
        int n = 0;
        for (int i = 0; i < N; i++) {
            if (idx[i] == skip)
                continue;
            ids[n] = idx[i];
            for (int d = 0; d < D; d++)
                vals[n * D + d] = bags ? rows[bag[i] * D + d] * scale[i] : rows[i * D + d];
            n++;
        }
        TEST_OK(embcl_rowsparse_set(sg, n, ids, vals));
        embcl_grad g = {NULL, sg};
        TEST_OK(embcl_optim_step(plain.opt, &g, 1));
        embcl_tensor_free(ti);
        embcl_tensor_free(tb);
        embcl_tensor_free(ts);
        embcl_tensor_free(tr);
    }
    float *a = oc_download(fused.table), *b = oc_download(plain.table);
    test_assert_close(a, b, V * D, 1e-5, 1e-7, embcl_optim_kind_name(kind));
    size_t ns;
    TEST_OK(embcl_optim_state_names(fused.opt, 0, &ns, NULL, 0));
    for (size_t s = 0; s < ns; s++) {
        float sa[V * D], sb[V * D];
        size_t bytes = (kind == EMBCL_OPTIM_ROWWISE_ADAGRAD ? V : V * D) * sizeof(float);
        TEST_OK(embcl_optim_state_download(fused.opt, 0, s, sa, bytes));
        TEST_OK(embcl_optim_state_download(plain.opt, 0, s, sb, bytes));
        test_assert_close(sa, sb, bytes / sizeof(float), 1e-5, 1e-7, "state");
    }
    if (skip >= 0)
        for (int d = 0; d < D; d++)
            cr_assert_eq(a[skip * D + d], init[skip * D + d], "the padding row moved");
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(fused.opt, 0, &steps));
    cr_assert_eq(steps, FUSED_STEPS);
    free(a);
    free(b);
    embcl_rowsparse_free(sg);
    embcl_optim_free(fused.opt);
    embcl_optim_free(plain.opt);
    embcl_tensor_free(fused.table);
    embcl_tensor_free(plain.table);
}

Test(optim_fused, sgd_per_position) { compare(EMBCL_OPTIM_SGD, NULL, 0, PAD); }
Test(optim_fused, sgd_bags) { compare(EMBCL_OPTIM_SGD, NULL, 1, -1); }

/* Momentum moves rows the step does not name: the fused gradient is
 * scattered into zeros for the dense update, as the row-sparse one is. */
Test(optim_fused, sgd_momentum_and_nesterov)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    h.lr = 0.05;
    h.momentum = 0.9;
    h.dampening = 0.25;
    compare(EMBCL_OPTIM_SGD, &h, 0, PAD);
    h.dampening = 0.0;
    h.nesterov = 1;
    compare(EMBCL_OPTIM_SGD, &h, 1, -1);
}

Test(optim_fused, adagrad_per_position_and_bags)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ADAGRAD);
    h.lr = 0.1;
    h.lr_decay = 0.01;
    h.initial_accumulator_value = 0.1;
    compare(EMBCL_OPTIM_ADAGRAD, &h, 0, PAD);
    compare(EMBCL_OPTIM_ADAGRAD, &h, 1, -1);
}

Test(optim_fused, sparse_adam_per_position_and_bags)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_SPARSE_ADAM);
    h.lr = 1e-2;
    compare(EMBCL_OPTIM_SPARSE_ADAM, &h, 0, -1);
    compare(EMBCL_OPTIM_SPARSE_ADAM, &h, 1, PAD);
}

Test(optim_fused, rowwise_adagrad_every_weight_decay_mode)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ROWWISE_ADAGRAD);
    h.lr = 0.1;
    h.weight_decay = 0.01;
    for (int m = 0; m < EMBCL_WD_COUNT; m++) {
        h.wd_mode = (embcl_wd_mode)m;
        compare(EMBCL_OPTIM_ROWWISE_ADAGRAD, &h, m == 1, m == 2 ? PAD : -1);
    }
}

Test(optim_fused, refused_like_the_unfused_step)
{
    float init[V * D] = {0};
    side s = make_side(EMBCL_OPTIM_ADAM, NULL, init);
    int64_t ishape[1] = {4}, rshape[2] = {4, D}, idx[4] = {1, 2, 2, 5};
    embcl_tensor_t ti, tr = test_tensor_f32(oc_dev, 2, rshape, NULL);
    TEST_OK(embcl_tensor_create(oc_dev, EMBCL_I64, 1, ishape, &ti));
    TEST_OK(embcl_tensor_upload(ti, idx, sizeof idx));
    embcl_segments seg;
    TEST_OK(embcl_segments_build(ti, V, -1, "test", "indices", &seg));
    embcl_fused_grad fg = {&seg, tr, NULL, NULL};
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_optim_step_fused(s.opt, 0, &fg, "embcl_embedding_backward_step"),
               "embcl_embedding_backward_step", "Adam does not support sparse gradients", "'emb.weight'");
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(s.opt, 0, &steps));
    cr_assert_eq(steps, 0);
    embcl_segments_free(&seg);
    embcl_tensor_free(ti);
    embcl_tensor_free(tr);
    embcl_optim_free(s.opt);
    embcl_tensor_free(s.table);
}

Test(optim_fused_tuned, rowwise_adagrad_and_sparse_adam)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ROWWISE_ADAGRAD);
    h.lr = 0.1;
    h.weight_decay = 0.01;
    h.wd_mode = EMBCL_WD_L2;
    compare(EMBCL_OPTIM_ROWWISE_ADAGRAD, &h, 1, PAD);
    compare(EMBCL_OPTIM_SPARSE_ADAM, NULL, 0, -1);
}
