/* Optimizers over tables split by rows (a forced 16 KiB allocation limit)
 * follow the same trajectory, bit for bit, as over unsplit tables: every
 * family's dense and row-sparse step, the fused backward + update, on a
 * whole table and on a column view of a wider one (the embcl train model's
 * table), with frozen rows and columns, inside transactions that roll
 * back, with clipping, and with the state saved on one side and loaded on
 * the other. The state of a split table (Adam's exp_avg, ...) is split
 * itself, with its own part height when the table is a column view. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split_pair.h"

static split_pair P;

static void setup(void)
{
    split_pair_open(&P);
}

static void teardown(void)
{
    split_pair_close(&P);
}

TestSuite(split_optim, .init = setup, .fini = teardown);

#define V SPLIT_V
#define D 16
#define W 20
#define STEPS 3
#define NNZ 200
#define N 240
#define NB 40

typedef struct side {
    embcl_tensor_t wide, param; /* wide NULL: param is a whole [V, D] table */
    embcl_optim_t opt;
} side;

static float host_table[V * W];

static side make_side(int i, embcl_optim_kind kind, const embcl_optim_hparams *h, int view)
{
    side s = {0};
    split_fill_random(host_table, V * W, 21);
    if (view) {
        s.wide = split_f32(P.dev[i], V, W, host_table);
        TEST_OK(embcl_tensor_view_cols(s.wide, 3, 3 + D, &s.param));
    } else {
        s.param = split_f32(P.dev[i], V, D, host_table);
    }
    TEST_OK(embcl_optim_create(P.dev[i], kind, h, &s.opt));
    TEST_OK(embcl_optim_add_group(s.opt, NULL, NULL));
    TEST_OK(embcl_optim_add_param(s.opt, 0, s.param, "embedding.weight", NULL));
    return s;
}

static void free_side(side *s)
{
    embcl_optim_free(s->opt);
    embcl_tensor_free(s->param);
    embcl_tensor_free(s->wide);
}

/* The tables and every state tensor hold the same bytes on both sides. */
static void expect_same_sides(side s[2], const char *what)
{
    split_expect_same(s[WHOLE].wide ? s[WHOLE].wide : s[WHOLE].param,
                      s[SPLIT].wide ? s[SPLIT].wide : s[SPLIT].param, what);
    size_t n = 0;
    const char *names[4];
    TEST_OK(embcl_optim_state_names(s[WHOLE].opt, 0, &n, names, 4));
    int rowwise = n == 1 && strcmp(names[0], "momentum1") == 0;
    size_t count = rowwise ? V : V * D;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
    for (size_t k = 0; k < n; k++) {
        TEST_OK(embcl_optim_state_download(s[WHOLE].opt, 0, k, a, count * sizeof *a));
        TEST_OK(embcl_optim_state_download(s[SPLIT].opt, 0, k, b, count * sizeof *b));
        for (size_t j = 0; j < count; j++)
            cr_assert(memcmp(&a[j], &b[j], sizeof *a) == 0, "%s: state '%s' element %zu is %.9g unsplit, %.9g split",
                      what, names[k], j, (double)a[j], (double)b[j]);
    }
    free(a);
    free(b);
}

/* Rows of every part, the parts' first and last included. */
static void step_ids(int t, int64_t *ids)
{
    static const int64_t edges[] = {0, 255, 256, 511, 512, 767, 768, 1023, 1024, 1199};
    for (int i = 0; i < NNZ; i++)
        ids[i] = i < 10 ? edges[i] : (int64_t)((i * 37 + t * 11) % V);
}

typedef enum { DENSE, SPARSE, FUSED } grad_kind;

static void run_steps(embcl_optim_kind kind, const embcl_optim_hparams *h, grad_kind gk, int view, int freeze,
                      const char *what)
{
    side s[2];
    for (int i = 0; i < 2; i++) {
        s[i] = make_side(i, kind, h, view);
        if (freeze) {
            TEST_OK(embcl_optim_freeze_rows(s[i].opt, 0, 250, 260, 1));
            TEST_OK(embcl_optim_freeze_cols(s[i].opt, 0, 2, 4, 1));
        }
    }
    cr_assert(split_is_split(s[SPLIT].param) && !split_is_split(s[WHOLE].param));
    float *g = malloc(V * D * sizeof *g);
    int64_t ids[NNZ], idx[N], offs[NB];
    for (int t = 0; t < STEPS; t++) {
        split_fill_random(g, V * D, 100 + (unsigned)t);
        step_ids(t, ids);
        for (int i = 0; i < N; i++)
            idx[i] = ids[i % NNZ];
        for (int b = 0; b < NB; b++)
            offs[b] = b * N / NB;
        for (int i = 0; i < 2; i++) {
            embcl_tensor_t dense = NULL, gbag = NULL, ti = NULL, to = NULL;
            embcl_rowsparse_t sp = NULL;
            embcl_grad gr = {0};
            if (gk == DENSE) {
                dense = split_f32(P.dev[i], V, D, g);
                gr.dense = dense;
            } else if (gk == SPARSE) {
                /* capacity V: the values ([V, D]) are split too */
                TEST_OK(embcl_rowsparse_create(P.dev[i], V, D, V, &sp));
                TEST_OK(embcl_rowsparse_set(sp, NNZ, ids, g));
                gr.sparse = sp;
            }
            if (gk == FUSED) {
                gbag = split_f32(P.dev[i], NB, D, g);
                ti = split_i64(P.dev[i], N, idx);
                to = split_i64(P.dev[i], NB, offs);
                embcl_embedding_options o = embcl_embedding_options_default();
                o.mode = EMBCL_BAG_MEAN;
                embcl_bags b = {ti, to, NULL};
                TEST_OK(embcl_embedding_bag_backward_update(gbag, &b, &o, s[i].opt, 0));
            } else {
                TEST_OK(embcl_optim_step(s[i].opt, &gr, 1));
            }
            embcl_tensor_free(dense);
            embcl_tensor_free(gbag);
            embcl_tensor_free(ti);
            embcl_tensor_free(to);
            embcl_rowsparse_free(sp);
        }
        expect_same_sides(s, what);
    }
    free(g);
    for (int i = 0; i < 2; i++)
        free_side(&s[i]);
}

Test(split_optim, dense_steps_of_every_family)
{
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    h.lr = 0.1;
    h.momentum = 0.9;
    h.weight_decay = 0.01;
    h.nesterov = 1;
    for (int view = 0; view < 2; view++) {
        run_steps(EMBCL_OPTIM_SGD, &h, DENSE, view, 0, "SGD (nesterov momentum, weight decay)");
        embcl_optim_hparams a = embcl_optim_defaults(EMBCL_OPTIM_ADAM);
        a.amsgrad = 1;
        a.weight_decay = 0.01;
        run_steps(EMBCL_OPTIM_ADAM, &a, DENSE, view, 0, "Adam (amsgrad, weight decay)");
        run_steps(EMBCL_OPTIM_ADAMW, NULL, DENSE, view, view, "AdamW");
        embcl_optim_hparams ag = embcl_optim_defaults(EMBCL_OPTIM_ADAGRAD);
        ag.lr_decay = 0.01;
        ag.initial_accumulator_value = 0.1;
        run_steps(EMBCL_OPTIM_ADAGRAD, &ag, DENSE, view, 0, "Adagrad");
    }
}

Test(split_optim, sparse_steps_of_every_family)
{
    for (int view = 0; view < 2; view++) {
        run_steps(EMBCL_OPTIM_SGD, NULL, SPARSE, view, 0, "sparse SGD");
        run_steps(EMBCL_OPTIM_ADAGRAD, NULL, SPARSE, view, 0, "sparse Adagrad");
        run_steps(EMBCL_OPTIM_SPARSE_ADAM, NULL, SPARSE, view, view, "SparseAdam");
        run_steps(EMBCL_OPTIM_ROWWISE_ADAGRAD, NULL, SPARSE, view, view, "row-wise Adagrad");
        /* momentum moves every row: the gradient is scattered into a dense
         * scratch split like the table (rows_to_dense) */
        embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_SGD);
        h.momentum = 0.9;
        h.dampening = 0.1;
        run_steps(EMBCL_OPTIM_SGD, &h, SPARSE, view, 0, "sparse SGD with momentum");
        h.dampening = 0.0;
        h.nesterov = 1;
        run_steps(EMBCL_OPTIM_SGD, &h, FUSED, view, 0, "fused SGD with nesterov momentum");
    }
}

Test(split_optim, fused_backward_update)
{
    for (int view = 0; view < 2; view++) {
        run_steps(EMBCL_OPTIM_SPARSE_ADAM, NULL, FUSED, view, 0, "fused SparseAdam");
        run_steps(EMBCL_OPTIM_ROWWISE_ADAGRAD, NULL, FUSED, view, view, "fused row-wise Adagrad");
        run_steps(EMBCL_OPTIM_ADAGRAD, NULL, FUSED, view, 0, "fused Adagrad");
        run_steps(EMBCL_OPTIM_SGD, NULL, FUSED, view, 0, "fused SGD");
    }
}

/* A transaction's rollback restores a split table and its state (the
 * journal's dense copies and its row copies), and a committed step equals
 * the unsplit one. */
Test(split_optim, transactions_roll_back_split_tables)
{
    for (int sparse = 0; sparse < 2; sparse++) {
        side s[2];
        embcl_optim_kind kind = sparse ? EMBCL_OPTIM_SPARSE_ADAM : EMBCL_OPTIM_ADAM;
        for (int i = 0; i < 2; i++)
            s[i] = make_side(i, kind, NULL, 1);
        float *g = malloc(V * D * sizeof *g), *before = malloc(V * W * sizeof *before);
        int64_t ids[NNZ];
        step_ids(0, ids);
        split_fill_random(g, V * D, 5);
        for (int i = 0; i < 2; i++) {
            embcl_tensor_t dense = NULL;
            embcl_rowsparse_t sp = NULL;
            embcl_grad gr = {0};
            if (sparse) {
                TEST_OK(embcl_rowsparse_create(P.dev[i], V, D, V, &sp));
                TEST_OK(embcl_rowsparse_set(sp, NNZ, ids, g));
                gr.sparse = sp;
            } else {
                dense = split_f32(P.dev[i], V, D, g);
                gr.dense = dense;
            }
            TEST_OK(embcl_optim_step(s[i].opt, &gr, 1)); /* a state worth restoring */
            TEST_OK(embcl_tensor_download(s[i].wide, before, V * W * sizeof *before));
            TEST_OK(embcl_optim_begin(s[i].opt));
            TEST_OK(embcl_optim_step(s[i].opt, &gr, 1));
            TEST_OK(embcl_optim_step(s[i].opt, &gr, 1));
            TEST_OK(embcl_optim_rollback(s[i].opt));
            float *after = split_download(s[i].wide);
            cr_assert(memcmp(before, after, V * W * sizeof *before) == 0, "rollback did not restore the %s table",
                      i == SPLIT ? "split" : "unsplit");
            free(after);
            TEST_OK(embcl_optim_begin(s[i].opt));
            TEST_OK(embcl_optim_step(s[i].opt, &gr, 1));
            TEST_OK(embcl_optim_commit(s[i].opt));
            embcl_tensor_free(dense);
            embcl_rowsparse_free(sp);
        }
        expect_same_sides(s, sparse ? "SparseAdam after rollback and commit" : "Adam after rollback and commit");
        free(g);
        free(before);
        for (int i = 0; i < 2; i++)
            free_side(&s[i]);
    }
}

Test(split_optim, clipping_a_split_gradient)
{
    float *g = malloc(V * D * sizeof *g);
    split_fill_random(g, V * D, 9);
    embcl_tensor_t gw[2], wide[2], view[2];
    double total[2][2];
    for (int i = 0; i < 2; i++) {
        gw[i] = split_f32(P.dev[i], V, D, g);
        wide[i] = split_f32(P.dev[i], V, W, NULL);
        TEST_OK(embcl_tensor_view_cols(wide[i], 1, 1 + D, &view[i]));
        TEST_OK(embcl_tensor_copy(view[i], gw[i]));
        embcl_grad gr[2] = {{gw[i], NULL}, {view[i], NULL}};
        TEST_OK(embcl_clip_grad_norm(gr, 2, 1.0, 2.0, &total[i][0]));
        TEST_OK(embcl_clip_grad_norm(gr, 2, 1.0, INFINITY, &total[i][1]));
    }
    cr_assert(memcmp(total[WHOLE], total[SPLIT], sizeof total[0]) == 0, "norms %.17g, %.17g unsplit; %.17g, %.17g split",
              total[WHOLE][0], total[WHOLE][1], total[SPLIT][0], total[SPLIT][1]);
    split_expect_same(gw[WHOLE], gw[SPLIT], "a clipped split gradient");
    split_expect_same(wide[WHOLE], wide[SPLIT], "a clipped column view of a split gradient");
    for (int i = 0; i < 2; i++) {
        embcl_tensor_free(gw[i]);
        embcl_tensor_free(view[i]);
        embcl_tensor_free(wide[i]);
    }
    free(g);
}

/* State saved from a split table loads into an unsplit one and back, and
 * both continue alike. */
Test(split_optim, state_moves_between_split_and_unsplit)
{
    side s[2];
    for (int i = 0; i < 2; i++)
        s[i] = make_side(i, EMBCL_OPTIM_ADAM, NULL, 1);
    float *g = malloc(V * D * sizeof *g);
    split_fill_random(g, V * D, 31);
    embcl_tensor_t gd = split_f32(P.dev[SPLIT], V, D, g);
    embcl_grad gr = {gd, NULL};
    TEST_OK(embcl_optim_step(s[SPLIT].opt, &gr, 1));
    size_t n;
    TEST_OK(embcl_optim_state_size(s[SPLIT].opt, &n));
    unsigned char *buf = malloc(n), *again = malloc(n);
    TEST_OK(embcl_optim_state_save(s[SPLIT].opt, buf, n, NULL));
    TEST_OK(embcl_optim_state_load(s[WHOLE].opt, buf, n));
    float *t = split_download(s[SPLIT].wide);
    TEST_OK(embcl_tensor_upload(s[WHOLE].wide, t, V * W * sizeof *t));
    expect_same_sides(s, "Adam state loaded from a split table into an unsplit one");
    TEST_OK(embcl_optim_state_save(s[WHOLE].opt, again, n, NULL));
    cr_assert(memcmp(buf, again, n) == 0, "the unsplit optimizer saves other bytes than the split one it loaded");
    TEST_OK(embcl_optim_state_load(s[SPLIT].opt, again, n));
    embcl_tensor_t gw = split_f32(P.dev[WHOLE], V, D, g);
    embcl_grad gr2 = {gw, NULL};
    TEST_OK(embcl_optim_step(s[WHOLE].opt, &gr2, 1));
    TEST_OK(embcl_optim_step(s[SPLIT].opt, &gr, 1));
    expect_same_sides(s, "Adam continuing after the state moved");
    embcl_tensor_free(gd);
    embcl_tensor_free(gw);
    free(g);
    free(t);
    free(buf);
    free(again);
    for (int i = 0; i < 2; i++)
        free_side(&s[i]);
}

/* A safetensors checkpoint of a split table loads into an unsplit one and
 * back. */
Test(split_optim, checkpoint_of_a_split_table)
{
    char *dir = test_tempdir("split_ckpt");
    char path[600];
    snprintf(path, sizeof path, "%s/table.safetensors", dir);
    float *h = malloc(V * D * sizeof *h);
    split_fill_random(h, V * D, 41);
    embcl_tensor_t s = split_f32(P.dev[SPLIT], V, D, h);
    TEST_OK(embcl_embedding_init_normal(s, 99, 3));
    float *img = split_download(s);
    embcl_st_tensor st = {"embedding.weight", EMBCL_F32, 2, {V, D}, img};
    TEST_OK(embcl_safetensors_save(path, &st, 1, NULL, NULL, 0));
    embcl_safetensors_t f;
    TEST_OK(embcl_safetensors_open(path, &f));
    int64_t shape[2] = {V, D};
    float *rd = malloc(V * D * sizeof *rd);
    TEST_OK(embcl_safetensors_read(f, "embedding.weight", EMBCL_F32, 2, shape, rd, V * D * sizeof *rd));
    embcl_safetensors_close(f);
    embcl_tensor_t w = split_f32(P.dev[WHOLE], V, D, rd), back = split_f32(P.dev[SPLIT], V, D, NULL);
    split_expect_same(w, s, "a split table through a safetensors file into an unsplit one");
    float *wi = split_download(w);
    TEST_OK(embcl_tensor_upload(back, wi, V * D * sizeof *wi));
    split_expect_same(w, back, "an unsplit table loaded into a split one");
    embcl_tensor_free(s);
    embcl_tensor_free(w);
    embcl_tensor_free(back);
    free(h);
    free(img);
    free(rd);
    free(wi);
    free(dir);
}
