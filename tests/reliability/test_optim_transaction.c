/* Optimizer transactions (embcl_optim_begin / commit / rollback) for every
 * optimizer and every kind of gradient it takes: dense, row-sparse and the
 * fused embedding backward, on a column view of a wider table (so the
 * journal's strided copies are exercised) and a 1-D bias. Rolling back
 * after several steps gives back the exact bytes of the table and the
 * state (step counts included); committed steps equal steps taken without
 * a transaction; inside a transaction a step whose OpenCL call fails puts
 * back what it wrote, for each of its calls. */
#include "faultcl.h"
#include "optim/optim_fused.h"
#include "test_util.h"

#define V 30
#define W 11 /* the wider table; the parameter is columns [2, 2 + D) */
#define D 8
#define N 20

TEST_DEVICE_FIXTURE
TestSuite(optim_tx, .init = test_device_setup, .fini = test_device_teardown);

/* G_SPARSE_MOM / G_FUSED_MOM: row-sparse and fused gradients to SGD with
 * momentum, whose update (and journal entry) covers every row. */
typedef enum grad_kind { G_DENSE, G_SPARSE, G_FUSED, G_SPARSE_MOM, G_FUSED_MOM } grad_kind;

typedef struct rig {
    embcl_tensor_t table, view, bias, gview, gbias;
    embcl_rowsparse_t gs;
    embcl_tensor_t idx, rows; /* fused: indices [N], gradient rows [N, D] */
    embcl_segments seg;       /* fused: built from idx by rig_grad */
    int have_seg;
    embcl_optim_t opt;
    int with_bias;
} rig;

static float val(unsigned a, unsigned b) { return (float)((a * 2654435761u + b * 40503u) % 2001u) / 1000.0f - 1.0f; }

/* The gradient's shape: momentum only changes the optimizer. */
static grad_kind shape_of(grad_kind gk) { return gk == G_SPARSE_MOM ? G_SPARSE : gk == G_FUSED_MOM ? G_FUSED : gk; }

static void rig_make(rig *r, embcl_optim_kind kind, grad_kind gk_in)
{
    grad_kind gk = shape_of(gk_in);
    memset(r, 0, sizeof *r);
    float t[V * W], b[D];
    for (int i = 0; i < V * W; i++)
        t[i] = val(1, (unsigned)i);
    for (int i = 0; i < D; i++)
        b[i] = val(2, (unsigned)i);
    int64_t st[2] = {V, W}, sv[2] = {V, D}, sb[1] = {D};
    r->table = test_tensor_f32(dev, 2, st, t);
    TEST_OK(embcl_tensor_view_cols(r->table, 2, 2 + D, &r->view));
    r->with_bias = gk == G_DENSE;
    embcl_optim_hparams h = embcl_optim_defaults(kind);
    if (kind == EMBCL_OPTIM_SGD && gk_in != G_SPARSE && gk_in != G_FUSED)
        h.momentum = 0.9;
    if ((kind == EMBCL_OPTIM_ADAM || kind == EMBCL_OPTIM_ADAMW) && gk == G_DENSE)
        h.amsgrad = 1;
    TEST_OK(embcl_optim_create(dev, kind, &h, &r->opt));
    TEST_OK(embcl_optim_add_group(r->opt, NULL, NULL));
    TEST_OK(embcl_optim_add_param(r->opt, 0, r->view, "table[:, 2:10]", NULL));
    TEST_OK(embcl_optim_freeze_rows(r->opt, 0, 0, 1, 1));
    if (r->with_bias) {
        r->bias = test_tensor_f32(dev, 1, sb, b);
        TEST_OK(embcl_optim_add_param(r->opt, 0, r->bias, "bias", NULL));
        TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, sb, &r->gbias));
        TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, sv, &r->gview));
    }
    if (gk == G_SPARSE)
        TEST_OK(embcl_rowsparse_create(dev, V, D, N, &r->gs));
    if (gk == G_FUSED) {
        int64_t sn[1] = {N}, sr[2] = {N, D};
        TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, sn, &r->idx));
        TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, sr, &r->rows));
    }
}

static void rig_free(rig *r)
{
    embcl_optim_free(r->opt);
    embcl_tensor_t ts[] = {r->table, r->view, r->bias, r->gview, r->gbias, r->idx, r->rows};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        embcl_tensor_free(ts[i]);
    embcl_rowsparse_free(r->gs);
    if (r->have_seg)
        embcl_segments_free(&r->seg);
}

/* Step t's gradient, uploaded (no OpenCL call of the step itself). */
static void rig_grad(rig *r, grad_kind gk_in, int t)
{
    grad_kind gk = shape_of(gk_in);
    int64_t ids[N];
    float g[V * D];
    for (int i = 0; i < N; i++)
        ids[i] = (i * 7 + t * 3) % V;
    for (int i = 0; i < V * D; i++)
        g[i] = val(10 + (unsigned)t, (unsigned)i);
    if (gk == G_DENSE) {
        TEST_OK(embcl_tensor_upload(r->gview, g, sizeof g));
        TEST_OK(embcl_tensor_upload(r->gbias, g, D * sizeof(float)));
    } else if (gk == G_SPARSE) {
        TEST_OK(embcl_rowsparse_set(r->gs, N, ids, g));
    } else {
        TEST_OK(embcl_tensor_upload(r->idx, ids, sizeof ids));
        TEST_OK(embcl_tensor_upload(r->rows, g, N * D * sizeof(float)));
        if (r->have_seg)
            embcl_segments_free(&r->seg);
        TEST_OK(embcl_segments_build(r->idx, V, -1, "test", "indices", &r->seg));
        r->have_seg = 1;
    }
}

static embcl_status rig_step(rig *r, grad_kind gk_in)
{
    grad_kind gk = shape_of(gk_in);
    if (gk == G_FUSED) {
        embcl_fused_grad fg = {&r->seg, r->rows, NULL, NULL};
        return embcl_optim_step_fused(r->opt, 0, &fg, "test_fused_step");
    }
    embcl_grad g[2] = {{gk == G_DENSE ? r->gview : NULL, gk == G_SPARSE ? r->gs : NULL}, {r->gbias, NULL}};
    return embcl_optim_step(r->opt, g, r->with_bias ? 2 : 1);
}

typedef struct snap {
    unsigned char b[V * W * 4 + D * 4 + 65536];
    size_t n;
} snap;

static void rig_snap(rig *r, snap *s)
{
    TEST_OK(embcl_tensor_download(r->table, s->b, V * W * 4));
    s->n = V * W * 4;
    if (r->with_bias) {
        TEST_OK(embcl_tensor_download(r->bias, s->b + s->n, D * 4));
        s->n += D * 4;
    }
    size_t sz, w;
    TEST_OK(embcl_optim_state_size(r->opt, &sz));
    cr_assert_leq(s->n + sz, sizeof s->b);
    TEST_OK(embcl_optim_state_save(r->opt, s->b + s->n, sz, &w));
    s->n += sz;
}

static void assert_snap_eq(const snap *a, const snap *b, const char *what)
{
    cr_assert(a->n == b->n && memcmp(a->b, b->b, a->n) == 0, "%s", what);
}

static const struct {
    embcl_optim_kind kind;
    grad_kind g;
} cases[] = {
    {EMBCL_OPTIM_SGD, G_DENSE},         {EMBCL_OPTIM_SGD, G_SPARSE},         {EMBCL_OPTIM_SGD, G_FUSED},
    {EMBCL_OPTIM_ADAM, G_DENSE},        {EMBCL_OPTIM_ADAMW, G_DENSE},        {EMBCL_OPTIM_ADAGRAD, G_DENSE},
    {EMBCL_OPTIM_ADAGRAD, G_SPARSE},    {EMBCL_OPTIM_ADAGRAD, G_FUSED},      {EMBCL_OPTIM_SPARSE_ADAM, G_SPARSE},
    {EMBCL_OPTIM_SPARSE_ADAM, G_FUSED}, {EMBCL_OPTIM_ROWWISE_ADAGRAD, G_DENSE}, {EMBCL_OPTIM_ROWWISE_ADAGRAD, G_SPARSE},
    {EMBCL_OPTIM_ROWWISE_ADAGRAD, G_FUSED}, {EMBCL_OPTIM_SGD, G_SPARSE_MOM},   {EMBCL_OPTIM_SGD, G_FUSED_MOM},
};
#define N_CASES (sizeof cases / sizeof cases[0])
static const char *const gname[] = {"dense", "sparse", "fused", "sparse, momentum", "fused, momentum"};

Test(optim_tx, rollback_restores_and_commit_equals_no_transaction)
{
    for (size_t c = 0; c < N_CASES; c++) {
        rig a, b;
        rig_make(&a, cases[c].kind, cases[c].g);
        rig_make(&b, cases[c].kind, cases[c].g);
        snap s0, sa, sb;
        rig_grad(&a, cases[c].g, 0);
        TEST_OK(rig_step(&a, cases[c].g)); /* state is not all initial values */
        rig_grad(&b, cases[c].g, 0);
        TEST_OK(rig_step(&b, cases[c].g));
        rig_snap(&a, &s0);
        embcl_optim_hparams h0, h1;
        TEST_OK(embcl_optim_group_hparams(a.opt, 0, &h0));
        TEST_OK(embcl_optim_begin(a.opt));
        TEST_FAILS(EMBCL_ERR_STATE, embcl_optim_begin(a.opt), "embcl_optim_begin", "already");
        embcl_lr_schedule sched = {.kind = EMBCL_LR_STEP, .step_size = 1, .gamma = 0.5};
        for (int t = 1; t <= 3; t++) {
            TEST_OK(embcl_optim_schedule(a.opt, &sched, t));
            rig_grad(&a, cases[c].g, t);
            TEST_OK(rig_step(&a, cases[c].g));
        }
        TEST_OK(embcl_optim_rollback(a.opt));
        TEST_OK(embcl_optim_group_hparams(a.opt, 0, &h1));
        cr_assert_eq(h1.lr, h0.lr, "the schedule's lr was not rolled back");
        rig_snap(&a, &sa);
        assert_snap_eq(&sa, &s0, embcl_optim_kind_name(cases[c].kind));
        TEST_OK(embcl_optim_rollback(a.opt)); /* none open: no-op */
        for (int t = 1; t <= 2; t++) {
            TEST_OK(embcl_optim_begin(a.opt));
            rig_grad(&a, cases[c].g, t);
            TEST_OK(rig_step(&a, cases[c].g));
            TEST_OK(embcl_optim_commit(a.opt));
            rig_grad(&b, cases[c].g, t);
            TEST_OK(rig_step(&b, cases[c].g));
        }
        rig_snap(&a, &sa);
        rig_snap(&b, &sb);
        cr_assert(sa.n == sb.n && memcmp(sa.b, sb.b, sa.n) == 0, "%s %s: committed steps differ from plain ones",
                  embcl_optim_kind_name(cases[c].kind), gname[cases[c].g]);
        int64_t steps;
        TEST_OK(embcl_optim_param_steps(a.opt, 0, &steps));
        cr_assert_eq(steps, 3);
        rig_free(&a);
        rig_free(&b);
    }
}

Test(optim_tx, a_failing_call_inside_a_transaction_undoes_its_step)
{
    long injected = 0;
    for (size_t c = 0; c < N_CASES; c++) {
        rig r;
        rig_make(&r, cases[c].kind, cases[c].g);
        rig_grad(&r, cases[c].g, 0);
        TEST_OK(rig_step(&r, cases[c].g));
        snap before, after, want;
        rig_snap(&r, &before);
        /* count the step's calls, with the journal, warm */
        rig_grad(&r, cases[c].g, 1);
        TEST_OK(embcl_optim_begin(r.opt));
        TEST_OK(rig_step(&r, cases[c].g));
        TEST_OK(embcl_optim_rollback(r.opt));
        TEST_OK(embcl_optim_begin(r.opt));
        faultcl_arm(0, CL_SUCCESS);
        TEST_OK(rig_step(&r, cases[c].g));
        long n = faultcl_calls();
        faultcl_disarm();
        TEST_OK(embcl_optim_commit(r.opt));
        rig_snap(&r, &want);
        for (long call = 1; call <= n; call++) {
            /* back to `before` through a rolled-back transaction of its own */
            TEST_OK(embcl_optim_state_load(r.opt, before.b + before.n - (before.n - V * W * 4 - (r.with_bias ? D * 4 : 0)),
                                           before.n - V * W * 4 - (r.with_bias ? D * 4 : 0)));
            TEST_OK(embcl_tensor_upload(r.table, before.b, V * W * 4));
            if (r.with_bias)
                TEST_OK(embcl_tensor_upload(r.bias, before.b + V * W * 4, D * 4));
            TEST_OK(embcl_optim_begin(r.opt));
            faultcl_arm(call, CL_OUT_OF_RESOURCES);
            embcl_status s = rig_step(&r, cases[c].g);
            faultcl_disarm();
            cr_assert(faultcl_fired());
            injected++;
            cr_assert_eq(s, (embcl_status)CL_OUT_OF_RESOURCES, "%s %s call %ld (%s): %s",
                         embcl_optim_kind_name(cases[c].kind), gname[cases[c].g], call, faultcl_fired_in(),
                         embcl_last_error());
            rig_snap(&r, &after);
            assert_snap_eq(&after, &before, "a failed step inside a transaction changed the state");
            TEST_OK(rig_step(&r, cases[c].g));
            TEST_OK(embcl_optim_commit(r.opt));
            rig_snap(&r, &after);
            assert_snap_eq(&after, &want, "the step after the failure differs");
        }
        rig_free(&r);
    }
    cr_log_info("optimizer steps in transactions: %ld faults injected", injected);
}
