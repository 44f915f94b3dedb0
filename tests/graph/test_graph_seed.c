/* PROBLEMS.md problem 1, "my embeddings are not being trained": the seed's
 * model (vocabulary 100, dim 16, LSTM hidden 32, Linear to the vocabulary,
 * cross-entropy) built as a graph, checked against the same ops called by
 * hand, then broken in each of the seed's ways; the diagnostics must name
 * the cause and the parameter, and the correct model must report nothing. */
#include <embcl/graph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "graph_host.h"

TEST_DEVICE_FIXTURE
TestSuite(graph_seed, .init = test_device_setup, .fini = test_device_teardown);

enum { VOCAB = 100, DIM = 16, HID = 32, B = 4, T = 6 };

typedef enum broken { CORRECT, DETACHED, CONSTANT, PADDING, NO_GROUP } broken;

typedef struct model {
    embcl_graph_t g;
    embcl_tensor_t table, proj_w, proj_b;
    embcl_optim_t opt;
    embcl_value emb_w, tokens, targets, emb_const, loss;
    int n_calls;
} model;

static void on_diag(void *user, const embcl_diag *d)
{
    ((model *)user)->n_calls++;
    cr_assert_not_null(d->message);
}

static void build(model *m, broken how)
{
    memset(m, 0, sizeof *m);
    m->emb_const = EMBCL_VALUE_NONE;
    int64_t st[2] = {VOCAB, DIM}, sp[2] = {VOCAB, HID}, sb[1] = {VOCAB}, stok[2] = {B, T}, sx[3] = {B, T, DIM};
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, st, &m->table));
    TEST_OK(embcl_embedding_init_normal(m->table, 7, how == PADDING ? 0 : EMBCL_PADDING_NONE));
    float w[VOCAB * HID], bias[VOCAB];
    host_fill(w, VOCAB * HID, 8, 0.17f);
    host_fill(bias, VOCAB, 9, 0.17f);
    m->proj_w = test_tensor_f32(dev, 2, sp, w);
    m->proj_b = test_tensor_f32(dev, 1, sb, bias);
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    hp.lr = 0.5;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, &hp, &m->opt));
    TEST_OK(embcl_optim_add_group(m->opt, NULL, NULL));

    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    m->g = g;
    embcl_value pw, pb, e, x, h, logits;
    TEST_OK(embcl_graph_param(g, "embedding.weight", m->table, &m->emb_w));
    TEST_OK(embcl_graph_param(g, "fc.weight", m->proj_w, &pw));
    TEST_OK(embcl_graph_param(g, "fc.bias", m->proj_b, &pb));
    if (how == NO_GROUP) /* the optimizer was built from the LSTM's and fc's parameters only */
        TEST_OK(embcl_graph_param_group(g, m->emb_w, EMBCL_GROUP_NONE));
    TEST_OK(embcl_graph_input(g, "tokens", EMBCL_I64, 2, stok, &m->tokens));
    TEST_OK(embcl_graph_input(g, "targets", EMBCL_I64, 2, stok, &m->targets));
    embcl_embedding_options eo = embcl_embedding_options_default();
    if (how == PADDING)
        eo.padding_idx = 0;
    TEST_OK(embcl_graph_embedding(g, m->emb_w, m->tokens, &eo, &e));
    x = e;
    if (how == DETACHED)
        TEST_OK(embcl_graph_detach(g, e, &x));
    if (how == CONSTANT) { /* embedded outside the graph, fed back in */
        TEST_OK(embcl_graph_input(g, "embedded", EMBCL_F32, 3, sx, &m->emb_const));
        x = m->emb_const;
    }
    embcl_lstm_config cfg = embcl_lstm_config_default(DIM, HID);
    cfg.batch_first = 1;
    cfg.seed = 11;
    TEST_OK(embcl_graph_lstm(g, x, dev, &cfg, NULL, "lstm", &h));
    TEST_OK(embcl_graph_linear(g, h, pw, pb, &logits));
    TEST_OK(embcl_graph_cross_entropy(g, logits, m->targets, NULL, &m->loss));
    TEST_OK(embcl_graph_set_loss(g, m->loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = m->opt;
    go.diag_fn = on_diag;
    go.diag_user = m;
    TEST_OK(embcl_graph_compile(g, &go));
}

static void feed(model *m, broken how)
{
    int64_t tok[B * T], tgt[B * T];
    for (int i = 0; i < B * T; i++) {
        tok[i] = (i * 37 + 11) % VOCAB;
        tgt[i] = (i * 53 + 5) % VOCAB;
        if (how == PADDING && i % 5 != 0) /* a masking bug: most tokens become padding */
            tok[i] = 0;
    }
    TEST_OK(embcl_graph_set_input(m->g, m->tokens, tok, sizeof tok));
    TEST_OK(embcl_graph_set_input(m->g, m->targets, tgt, sizeof tgt));
    if (m->emb_const != EMBCL_VALUE_NONE) {
        float x[B * T * DIM];
        host_fill(x, B * T * DIM, 12, 1.0f);
        TEST_OK(embcl_graph_set_input(m->g, m->emb_const, x, sizeof x));
    }
}

static void release(model *m)
{
    embcl_graph_free(m->g);
    embcl_optim_free(m->opt);
    embcl_tensor_free(m->table);
    embcl_tensor_free(m->proj_w);
    embcl_tensor_free(m->proj_b);
}

static const embcl_diag *find(model *m, embcl_diag_kind kind, const char *param, embcl_diag *buf)
{
    for (size_t i = 0; i < embcl_graph_diag_count(m->g); i++) {
        TEST_OK(embcl_graph_diag_get(m->g, i, buf));
        if (buf->kind == kind && strcmp(buf->param, param) == 0)
            return buf;
    }
    return NULL;
}

static void expect_only(model *m, const char *param)
{
    embcl_diag d;
    for (size_t i = 0; i < embcl_graph_diag_count(m->g); i++) {
        TEST_OK(embcl_graph_diag_get(m->g, i, &d));
        cr_assert_str_eq(d.param, param, "unexpected finding: %s", d.message);
    }
    cr_assert_eq((size_t)m->n_calls, embcl_graph_diag_count(m->g), "the callback saw %d of %zu findings", m->n_calls,
                 embcl_graph_diag_count(m->g));
}

static void train(model *m, broken how, int steps)
{
    for (int s = 0; s < steps; s++) {
        feed(m, how);
        TEST_OK(embcl_graph_step(m->g));
    }
}

Test(graph_seed, correct_model_reports_nothing_and_its_embedding_changes)
{
    model m;
    build(&m, CORRECT);
    float before[VOCAB * DIM], after[VOCAB * DIM];
    TEST_OK(embcl_tensor_download(m.table, before, sizeof before));
    float l0, l1;
    feed(&m, CORRECT);
    TEST_OK(embcl_graph_step(m.g));
    TEST_OK(embcl_graph_download(m.g, m.loss, &l0, sizeof l0));
    train(&m, CORRECT, 4);
    TEST_OK(embcl_graph_download(m.g, m.loss, &l1, sizeof l1));
    TEST_OK(embcl_tensor_download(m.table, after, sizeof after));
    embcl_diag d = {0};
    if (embcl_graph_diag_count(m.g))
        TEST_OK(embcl_graph_diag_get(m.g, 0, &d));
    cr_assert_eq(embcl_graph_diag_count(m.g), 0, "the correct model reported: %s", d.message);
    cr_assert(memcmp(before, after, sizeof before) != 0, "the embedding did not change");
    cr_assert_lt(l1, l0, "the loss did not fall (%g then %g)", l0, l1);
    /* The plan of this model (the `embcl train` shape) reuses memory. */
    embcl_graph_memory mem;
    TEST_OK(embcl_graph_memory_stats(m.g, &mem));
    cr_assert_lt(mem.planned_peak_bytes, mem.unplanned_bytes, "planned %llu bytes, the buffers alone %llu",
                 (unsigned long long)mem.planned_peak_bytes, (unsigned long long)mem.unplanned_bytes);
    release(&m);
}

Test(graph_seed, detached_embedding_is_reported_at_the_detach_node)
{
    model m;
    build(&m, DETACHED);
    embcl_diag d;
    const embcl_diag *f = find(&m, EMBCL_DIAG_UNREACHABLE, "embedding.weight", &d);
    cr_assert_not_null(f, "no unreachable finding for embedding.weight");
    cr_assert_str_eq(f->node, "detach_0");
    cr_assert(strstr(f->message, "detach_0") && strstr(f->message, "embedding.weight"), "message: %s", f->message);
    train(&m, DETACHED, 3);
    cr_assert_not_null(find(&m, EMBCL_DIAG_UNCHANGED, "embedding.weight", &d), "no unchanged finding after 3 steps");
    expect_only(&m, "embedding.weight"); /* the LSTM and fc still train */
    release(&m);
}

Test(graph_seed, embedding_fed_back_as_a_constant_is_reported_naming_the_input)
{
    model m;
    build(&m, CONSTANT);
    embcl_diag d;
    const embcl_diag *f = find(&m, EMBCL_DIAG_UNREACHABLE, "embedding.weight", &d);
    cr_assert_not_null(f, "no unreachable finding for embedding.weight");
    cr_assert_str_eq(f->node, "embedded", "the finding names '%s': %s", f->node, f->message);
    cr_assert(strstr(f->message, "constant"), "message: %s", f->message);
    train(&m, CONSTANT, 3);
    expect_only(&m, "embedding.weight");
    release(&m);
}

Test(graph_seed, padding_swallowing_the_hits_is_reported_with_its_share)
{
    model m;
    build(&m, PADDING);
    cr_assert_eq(embcl_graph_diag_count(m.g), 0, "nothing is wrong before the data is seen");
    train(&m, PADDING, 3);
    embcl_diag d;
    const embcl_diag *f = find(&m, EMBCL_DIAG_PADDING, "embedding.weight", &d);
    cr_assert_not_null(f, "no padding finding");
    double want = 19.0 / 24.0; /* positions 0, 5, 10, 15, 20 of 24 keep their token */
    cr_assert_float_eq(f->share, want, 1e-9, "share %g, expected %g", f->share, want);
    cr_assert_str_eq(f->node, "embedding_0");
    cr_assert(strstr(f->message, "79.2%"), "message: %s", f->message);
    expect_only(&m, "embedding.weight");
    release(&m);
}

Test(graph_seed, embedding_outside_the_optimizer_is_reported)
{
    model m;
    build(&m, NO_GROUP);
    embcl_diag d;
    cr_assert_not_null(find(&m, EMBCL_DIAG_NO_OPTIMIZER, "embedding.weight", &d), "no no-optimizer finding");
    float before[VOCAB * DIM], after[VOCAB * DIM];
    TEST_OK(embcl_tensor_download(m.table, before, sizeof before));
    train(&m, NO_GROUP, 3);
    TEST_OK(embcl_tensor_download(m.table, after, sizeof after));
    cr_assert(memcmp(before, after, sizeof before) == 0, "the table changed without an optimizer");
    cr_assert_not_null(find(&m, EMBCL_DIAG_UNCHANGED, "embedding.weight", &d), "no unchanged finding");
    expect_only(&m, "embedding.weight");
    release(&m);
}

/* The graph's step is the ops called in order by hand: same loss, same
 * embedding gradient, to the bit. */
Test(graph_seed, graph_step_equals_the_ops_called_by_hand)
{
    model m;
    build(&m, CORRECT);
    embcl_graph_t g = m.g;
    /* The update changes the table, not the gradient: compare gradients. */
    float table0[VOCAB * DIM];
    TEST_OK(embcl_tensor_download(m.table, table0, sizeof table0));
    feed(&m, CORRECT);
    TEST_OK(embcl_graph_step(g));
    float loss_g, grad_g[VOCAB * DIM];
    TEST_OK(embcl_graph_download(g, m.loss, &loss_g, sizeof loss_g));
    embcl_tensor_t gt;
    TEST_OK(embcl_graph_grad(g, m.emb_w, &gt));
    TEST_OK(embcl_tensor_download(gt, grad_g, sizeof grad_g));
    embcl_tensor_free(gt);

    /* By hand, on fresh copies of the initial weights. */
    int64_t st[2] = {VOCAB, DIM}, stok[2] = {B, T}, sx[3] = {B, T, DIM}, sh[3] = {B, T, HID},
            sl[3] = {B, T, VOCAB}, sl2[2] = {B * T, VOCAB}, s1[1] = {B * T}, one[1] = {1};
    embcl_tensor_t table = test_tensor_f32(dev, 2, st, table0), tok, tgt, tgt1, x, h, lg, lg2, loss, dlg, dh, dx, dt;
    int64_t tokh[B * T], tgth[B * T];
    for (int i = 0; i < B * T; i++) {
        tokh[i] = (i * 37 + 11) % VOCAB;
        tgth[i] = (i * 53 + 5) % VOCAB;
    }
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 2, stok, &tok));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, s1, &tgt1));
    TEST_OK(embcl_tensor_upload(tok, tokh, sizeof tokh));
    TEST_OK(embcl_tensor_upload(tgt1, tgth, sizeof tgth));
    tgt = NULL;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 3, sx, &x));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 3, sh, &h));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 3, sl, &lg));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, one, &loss));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 3, sl, &dlg));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 3, sh, &dh));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 3, sx, &dx));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, st, &dt));
    float w[VOCAB * HID], bias[VOCAB];
    host_fill(w, VOCAB * HID, 8, 0.17f);
    host_fill(bias, VOCAB, 9, 0.17f);
    int64_t sp[2] = {VOCAB, HID}, sb[1] = {VOCAB};
    embcl_tensor_t pw = test_tensor_f32(dev, 2, sp, w), pb = test_tensor_f32(dev, 1, sb, bias);
    embcl_lstm_config cfg = embcl_lstm_config_default(DIM, HID);
    cfg.batch_first = 1;
    cfg.seed = 11;
    embcl_lstm_t lstm;
    TEST_OK(embcl_lstm_create(dev, &cfg, &lstm));
    TEST_OK(embcl_embedding(table, tok, NULL, x));
    TEST_OK(embcl_lstm_forward(lstm, x, NULL, NULL, NULL, 1, h, NULL, NULL));
    TEST_OK(embcl_linear_forward(h, pw, pb, lg));
    TEST_OK(embcl_tensor_reshape(lg, 2, sl2, &lg2));
    TEST_OK(embcl_cross_entropy(lg2, tgt1, NULL, loss));
    embcl_tensor_t dlg2;
    TEST_OK(embcl_tensor_reshape(dlg, 2, sl2, &dlg2));
    TEST_OK(embcl_cross_entropy_backward(lg2, tgt1, NULL, NULL, dlg2, 0));
    TEST_OK(embcl_linear_backward(h, pw, dlg, dh, NULL, NULL, 0));
    TEST_OK(embcl_lstm_backward(lstm, dh, NULL, NULL, dx, NULL, NULL));
    TEST_OK(embcl_tensor_fill(dt, 0.0));
    TEST_OK(embcl_embedding_backward(dx, tok, VOCAB, NULL, dt, NULL));
    float loss_h, grad_h[VOCAB * DIM];
    TEST_OK(embcl_tensor_download(loss, &loss_h, sizeof loss_h));
    TEST_OK(embcl_tensor_download(dt, grad_h, sizeof grad_h));
    cr_assert_eq(loss_g, loss_h, "graph loss %.9g, by hand %.9g", loss_g, loss_h);
    cr_assert(memcmp(grad_g, grad_h, sizeof grad_g) == 0, "embedding gradients differ");
    embcl_tensor_t all[] = {table, tok, tgt, tgt1, x, h, lg, lg2, loss, dlg, dlg2, dh, dx, dt, pw, pb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        embcl_tensor_free(all[i]);
    embcl_lstm_free(lstm);
    release(&m);
}

/* Data only evaluated (embcl_graph_forward) is not what trains: a held-out
 * pass of mostly padding before training must not be reported, and the
 * share is that of the data the first step read. */
Test(graph_seed, padding_share_counts_only_what_a_step_reads)
{
    model m;
    build(&m, PADDING);
    feed(&m, PADDING);
    TEST_OK(embcl_graph_forward(m.g));
    TEST_OK(embcl_graph_forward(m.g));
    train(&m, CORRECT, 3);
    embcl_diag d;
    const embcl_diag *f = find(&m, EMBCL_DIAG_PADDING, "embedding.weight", &d);
    cr_assert_null(f, "evaluated data was counted: %s", f ? f->message : "");
    release(&m);
    /* The other way round: evaluated clean data, then steps on padding. */
    build(&m, PADDING);
    feed(&m, CORRECT);
    TEST_OK(embcl_graph_forward(m.g));
    train(&m, PADDING, 3);
    f = find(&m, EMBCL_DIAG_PADDING, "embedding.weight", &d);
    cr_assert_not_null(f, "no padding finding");
    cr_assert_float_eq(f->share, 19.0 / 24.0, 1e-9, "share %g: the evaluated data was mixed in", f->share);
    release(&m);
}
