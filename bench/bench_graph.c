/* The graph executor's cost, two cases:
 *
 * graph_overhead: a training step of a tiny model (Embedding, LSTM, Linear,
 * cross-entropy, SGD) through embcl_graph_step, against the same ops called
 * by hand in the same order, doing the same work (the loss as the graph's
 * node calls it: manual_step). The difference is what the executor adds;
 * divided by the nodes run (forward + backward) it is the overhead per node.
 * "embcl_ms" (median graph step, loss read back each step), "manual_ms" (the
 * ops by hand), "overhead_ms" per step, "overhead_us_per_node", "gflops" (the
 * step's GEMM work), "bound_frac" = manual_min_ms / embcl_min_ms (1: the
 * executor costs nothing; minima, as a loaded machine's noise can put one
 * side's median below the other's although the graph does the manual
 * step's work and more).
 *
 * train_e2e: the `embcl train` model at its default sizes on the built-in
 * dataset (tied LM + bag classifier, row-wise Adagrad table, Adam), one
 * embcl_trainer_step a step (losses read back, as the tool does).
 * "embcl_ms" (median step), "tokens_per_s" (LM tokens), "graph_host_ms"
 * (median time embcl_graph_step takes to return on that model: all host
 * work of forward + backward, executor and op enqueues, no waiting; an upper
 * bound of the executor's own cost), "host_share" = graph_host_ms / embcl_ms,
 * "executor_share" (graph_overhead's per-node cost times this graph's nodes,
 * over the step, 0 when that cost measured at or below 0; only when
 * graph_overhead ran too). bench/torch/graph.py
 * times the same model in PyTorch.
 *
 * Usage: bench_graph [--filter NAME] [--quick]
 *        bench_graph --side-by-side DIR [--steps N]
 * The second form feeds bench/train_side_by_side.py: it writes DIR/init.safetensors
 * (the trainer's checkpoint at step 0, deterministic mode), DIR/batches.i64
 * (every step's tokens, targets, bags, labels as little-endian int64),
 * DIR/shapes.json, then trains N steps and prints one JSON line a step with
 * the losses and a last line with the step time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ops/loss_checked.h"

enum { V = 1000, D = 16, H = 32, B = 8, T = 8 };

typedef struct model {
    embcl_device_t dev;
    embcl_tensor_t table, w, b;
    int64_t tok[B * T], tgt[B * T];
} model;

static void init(model *m, embcl_device_t dev)
{
    m->dev = dev;
    int64_t st[2] = {V, D}, sw[2] = {V, H}, sb[1] = {V};
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, st, &m->table), "table");
    bench_check(embcl_embedding_init_normal(m->table, 1, EMBCL_PADDING_NONE), "init");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, sw, &m->w), "w");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, sb, &m->b), "b");
    bench_check(embcl_tensor_fill(m->w, 0.01), "fill");
    bench_check(embcl_tensor_fill(m->b, 0.0), "fill");
    for (int i = 0; i < B * T; i++) {
        m->tok[i] = (i * 37 + 11) % V;
        m->tgt[i] = (i * 53 + 5) % V;
    }
}

static embcl_lstm_config lstm_cfg(void)
{
    embcl_lstm_config c = embcl_lstm_config_default(D, H);
    c.batch_first = 1;
    c.seed = 3;
    return c;
}

typedef struct graph_run {
    embcl_graph_t g;
    embcl_optim_t opt;
    embcl_value tok, tgt, loss;
} graph_run;

static embcl_runtime_t g_rt;

static void graph_make(graph_run *r, model *m)
{
    bench_check(embcl_optim_create(m->dev, EMBCL_OPTIM_SGD, NULL, &r->opt), "optim");
    bench_check(embcl_optim_add_group(r->opt, NULL, NULL), "group");
    embcl_graph_t g;
    bench_check(embcl_graph_create(g_rt, &g), "graph");
    r->g = g;
    int64_t stok[2] = {B, T};
    embcl_value pe, pw, pb, e, h, lg;
    bench_check(embcl_graph_param(g, "embedding.weight", m->table, &pe), "param");
    bench_check(embcl_graph_param(g, "fc.weight", m->w, &pw), "param");
    bench_check(embcl_graph_param(g, "fc.bias", m->b, &pb), "param");
    bench_check(embcl_graph_input(g, "tokens", EMBCL_I64, 2, stok, &r->tok), "input");
    bench_check(embcl_graph_input(g, "targets", EMBCL_I64, 2, stok, &r->tgt), "input");
    bench_check(embcl_graph_embedding(g, pe, r->tok, NULL, &e), "embedding");
    embcl_lstm_config cfg = lstm_cfg();
    bench_check(embcl_graph_lstm(g, e, m->dev, &cfg, NULL, "lstm", &h), "lstm");
    bench_check(embcl_graph_linear(g, h, pw, pb, &lg), "linear");
    bench_check(embcl_graph_cross_entropy(g, lg, r->tgt, NULL, &r->loss), "ce");
    bench_check(embcl_graph_set_loss(g, r->loss), "loss");
    embcl_graph_options o = embcl_graph_options_default();
    o.optim = r->opt;
    o.diagnostics = 0;
    bench_check(embcl_graph_compile(g, &o), "compile");
}

static float graph_step(graph_run *r, model *m)
{
    float l;
    bench_check(embcl_graph_set_input(r->g, r->tok, m->tok, sizeof m->tok), "set_input");
    bench_check(embcl_graph_set_input(r->g, r->tgt, m->tgt, sizeof m->tgt), "set_input");
    bench_check(embcl_graph_step(r->g), "step");
    bench_check(embcl_graph_download(r->g, r->loss, &l, sizeof l), "loss");
    return l;
}

/* The same step by hand: every buffer made once, every op in the graph's
 * order, and the loss as the graph's node runs it (the targets checked on
 * the host, each row's log-sum-exp kept from forward to backward): the
 * public cross-entropy calls read the targets back, which makes the host
 * wait for the queue twice a step, and reduce each row again in the
 * backward. With those the manual step did more than the graph's and came
 * out slower (bound_frac 1.25), so it was no floor of the graph's time. */
typedef struct manual {
    embcl_lstm_t lstm;
    embcl_optim_t opt;
    embcl_tensor_t tok, tgt, x, h, lg, lg2, tgt1, loss, lse, dlg, dlg2, dh, dx, dt, dw, db;
    embcl_grad *grads;
    size_t n_params;
} manual;

static void manual_make(manual *mm, model *m)
{
    int64_t stok[2] = {B, T}, s1[1] = {B * T}, sx[3] = {B, T, D}, sh[3] = {B, T, H}, sl[3] = {B, T, V},
            sl2[2] = {B * T, V}, one[1] = {1}, st[2] = {V, D}, sw[2] = {V, H}, sb[1] = {V};
    embcl_device_t dev = m->dev;
    embcl_lstm_config cfg = lstm_cfg();
    bench_check(embcl_lstm_create(dev, &cfg, &mm->lstm), "lstm");
    bench_check(embcl_optim_create(dev, EMBCL_OPTIM_SGD, NULL, &mm->opt), "optim");
    bench_check(embcl_optim_add_group(mm->opt, NULL, NULL), "group");
    bench_check(embcl_tensor_create(dev, EMBCL_I64, 2, stok, &mm->tok), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, s1, &mm->tgt1), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 3, sx, &mm->x), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 3, sh, &mm->h), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 3, sl, &mm->lg), "t");
    bench_check(embcl_tensor_reshape(mm->lg, 2, sl2, &mm->lg2), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, one, &mm->loss), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, s1, &mm->lse), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 3, sl, &mm->dlg), "t");
    bench_check(embcl_tensor_reshape(mm->dlg, 2, sl2, &mm->dlg2), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 3, sh, &mm->dh), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 3, sx, &mm->dx), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, st, &mm->dt), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, sw, &mm->dw), "t");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, sb, &mm->db), "t");
    size_t np;
    bench_check(embcl_lstm_param_count(mm->lstm, &np), "count");
    mm->n_params = np + 3;
    mm->grads = calloc(mm->n_params, sizeof *mm->grads);
    bench_check(embcl_optim_add_param(mm->opt, 0, m->table, "embedding.weight", NULL), "add");
    mm->grads[0].dense = mm->dt;
    for (size_t i = 0; i < np; i++) {
        embcl_tensor_t w, gw;
        bench_check(embcl_lstm_param(mm->lstm, i, NULL, &w, &gw), "param");
        bench_check(embcl_optim_add_param(mm->opt, 0, w, NULL, NULL), "add");
        mm->grads[1 + i].dense = gw;
    }
    bench_check(embcl_optim_add_param(mm->opt, 0, m->w, NULL, NULL), "add");
    bench_check(embcl_optim_add_param(mm->opt, 0, m->b, NULL, NULL), "add");
    mm->grads[np + 1].dense = mm->dw;
    mm->grads[np + 2].dense = mm->db;
}

static float manual_step(manual *mm, model *m)
{
    float l;
    embcl_cross_entropy_options ce = embcl_cross_entropy_options_default();
    int64_t count;
    bench_check(embcl_ce_check_targets_host(m->tgt, EMBCL_I64, B * T, V, ce.ignore_index, 0, "bench", "targets",
                                            &count),
                "targets");
    bench_check(embcl_tensor_upload(mm->tok, m->tok, sizeof m->tok), "upload");
    bench_check(embcl_tensor_upload(mm->tgt1, m->tgt, sizeof m->tgt), "upload");
    bench_check(embcl_embedding(m->table, mm->tok, NULL, mm->x), "embedding");
    bench_check(embcl_lstm_forward(mm->lstm, mm->x, NULL, NULL, NULL, 1, mm->h, NULL, NULL), "lstm");
    bench_check(embcl_linear_forward(mm->h, m->w, m->b, mm->lg), "linear");
    bench_check(embcl_cross_entropy_counted(mm->lg2, mm->tgt1, &ce, mm->loss, count, mm->lse), "ce");
    bench_check(embcl_lstm_zero_grad(mm->lstm), "zero");
    bench_check(embcl_tensor_fill(mm->dt, 0.0), "zero");
    bench_check(embcl_cross_entropy_backward_counted(mm->lg2, mm->tgt1, &ce, NULL, mm->dlg2, 0, count, mm->lse),
                "ce_back");
    bench_check(embcl_linear_backward(mm->h, m->w, mm->dlg, mm->dh, mm->dw, mm->db, 0), "linear_back");
    bench_check(embcl_lstm_backward(mm->lstm, mm->dh, NULL, NULL, mm->dx, NULL, NULL), "lstm_back");
    bench_check(embcl_embedding_backward(mm->dx, mm->tok, V, NULL, mm->dt, NULL), "emb_back");
    bench_check(embcl_optim_step(mm->opt, mm->grads, mm->n_params), "optim");
    bench_check(embcl_tensor_download(mm->loss, &l, sizeof l), "loss");
    return l;
}

static void manual_free(manual *mm)
{
    embcl_tensor_t all[] = {mm->tok, mm->tgt1, mm->x, mm->h, mm->lg, mm->lg2, mm->loss, mm->lse, mm->dlg,
                            mm->dlg2, mm->dh, mm->dx, mm->dt, mm->dw, mm->db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        embcl_tensor_free(all[i]);
    embcl_optim_free(mm->opt);
    embcl_lstm_free(mm->lstm);
    free(mm->grads);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* graph_overhead; returns its overhead per node in us. */
static double bench_overhead(int quick, int print)
{
    embcl_device_t dev;
    bench_check(embcl_runtime_device(g_rt, 0, &dev), "device");
    model m;
    init(&m, dev);
    graph_run r;
    manual mm;
    graph_make(&r, &m);
    manual_make(&mm, &m);
    /* Alternate graph and manual steps and take medians: the machine is
     * shared, and alternation exposes both to the same noise. */
    int steps = quick ? 30 : 200;
    double *tg = malloc((size_t)steps * sizeof *tg), *tm = malloc((size_t)steps * sizeof *tm);
    if (!tg || !tm)
        exit(1);
    for (int i = 0; i < 5; i++) { /* warm-up: kernels built, pools filled */
        graph_step(&r, &m);
        manual_step(&mm, &m);
    }
    for (int i = 0; i < steps; i++) {
        double t0 = bench_now_ms();
        graph_step(&r, &m);
        double t1 = bench_now_ms();
        manual_step(&mm, &m);
        tg[i] = t1 - t0;
        tm[i] = bench_now_ms() - t1;
    }
    double min_g = 1e30, min_m = 1e30;
    for (int i = 0; i < steps; i++) {
        min_g = fmin(min_g, tg[i]);
        min_m = fmin(min_m, tm[i]);
    }
    double best_g = median(tg, steps), best_m = median(tm, steps);
    free(tg);
    free(tm);
    size_t nf, nb;
    bench_check(embcl_graph_node_count(r.g, &nf, &nb), "node_count");
    double per_node = (best_g - best_m) * 1e3 / (double)(nf + nb);
    /* GEMM work: LSTM (input and recurrent products) and the projection,
     * forward and the two backward products. */
    double flops = 3.0 * 2.0 * B * T * (4.0 * H * (D + H) + (double)V * H);
    embcl_device_info info;
    bench_check(embcl_device_get_info(dev, &info), "info");
    if (print)
        printf("{\"bench\": \"graph_overhead\", \"case\": \"V=%d,D=%d,H=%d,B=%d,T=%d\", \"device\": \"%s\", "
               "\"embcl_ms\": %.4f, \"manual_ms\": %.4f, \"overhead_ms\": %.4f, \"nodes\": %zu, "
               "\"overhead_us_per_node\": %.2f, \"gflops\": %.3f, \"embcl_min_ms\": %.4f, \"manual_min_ms\": %.4f, "
               "\"bound_frac\": %.3f}\n",
               V, D, H, B, T, info.name, best_g, best_m, best_g - best_m, nf + nb, per_node, flops / best_g / 1e6,
               min_g, min_m, min_m / min_g);
    if (print)
        bench_check_bound("graph_overhead", "", min_m / min_g);
    manual_free(&mm);
    embcl_graph_free(r.g);
    embcl_optim_free(r.opt);
    embcl_tensor_free(m.table);
    embcl_tensor_free(m.w);
    embcl_tensor_free(m.b);
    return per_node;
}

/* The `embcl train` model on the built-in dataset, as the tool builds it. */
typedef struct e2e {
    embcl_dataset_t ds;
    embcl_trainer_t tr;
    embcl_train_config cfg;
    embcl_train_info info;
} e2e;

static void e2e_make(e2e *x, int deterministic)
{
    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    bench_check(embcl_dataset_generate(&o, &x->ds), "dataset");
    x->cfg = embcl_train_config_default();
    x->cfg.deterministic = deterministic;
    bench_check(embcl_trainer_create(g_rt, &x->cfg, embcl_dataset_vocab(x->ds), embcl_dataset_corpus(x->ds), NULL,
                                     NULL, NULL, &x->tr),
                "trainer");
    bench_check(embcl_trainer_info(x->tr, &x->info), "info");
}

static void e2e_free(e2e *x)
{
    embcl_trainer_free(x->tr);
    embcl_dataset_free(x->ds);
}

/* The case string bench/torch/graph.py matches: every size of the model. */
static void e2e_case(const e2e *x, char *buf, size_t cap)
{
    const embcl_train_config *c = &x->cfg;
    snprintf(buf, cap, "V=%lld,D=%lld,W=%lld,H=%lld,B=%lld,T=%lld,CB=%lld,L=%lld,C=%lld", (long long)x->info.vocab_size,
             (long long)c->dim, (long long)x->info.table_width, (long long)(c->hidden ? c->hidden : c->dim),
             (long long)c->batch, (long long)c->bptt, (long long)c->cls_batch, (long long)x->info.bag_len,
             (long long)x->info.n_classes);
}

static void bench_e2e(int quick, double per_node_us)
{
    e2e x;
    e2e_make(&x, 0);
    int steps = quick ? 8 : 30;
    double *t = malloc((size_t)steps * sizeof *t), *th = malloc((size_t)steps * sizeof *th);
    if (!t || !th)
        exit(1);
    for (int i = 0; i < 3; i++) /* warm-up: kernels built, pools filled */
        bench_check(embcl_trainer_step(x.tr, NULL), "step");
    for (int i = 0; i < steps; i++) {
        double t0 = bench_now_ms();
        bench_check(embcl_trainer_step(x.tr, NULL), "step");
        t[i] = bench_now_ms() - t0;
    }
    /* The graph pass alone on the same model and inputs (the trainer set
     * them last): how long the host takes to enqueue it, then the wait. */
    embcl_graph_t g = embcl_trainer_graph(x.tr);
    embcl_value tokv; /* reading an input back waits for the queue */
    bench_check(embcl_graph_find(g, "tokens", &tokv), "find");
    size_t tok_bytes = (size_t)x.info.tokens_per_step * sizeof(int64_t);
    int64_t *tok = malloc(tok_bytes);
    if (!tok)
        exit(1);
    for (int i = 0; i < steps; i++) {
        double t0 = bench_now_ms();
        bench_check(embcl_graph_step(g), "graph step");
        th[i] = bench_now_ms() - t0;
        bench_check(embcl_graph_download(g, tokv, tok, tok_bytes), "wait");
    }
    free(tok);
    double step_ms = median(t, steps), host_ms = median(th, steps);
    free(t);
    free(th);
    size_t nf, nb;
    bench_check(embcl_graph_node_count(g, &nf, &nb), "node_count");
    char cs[256], ex[64] = "";
    e2e_case(&x, cs, sizeof cs);
    if (per_node_us == per_node_us) /* graph_overhead ran; at or below 0 it measured nothing */
        snprintf(ex, sizeof ex, ", \"executor_share\": %.4f",
                 (per_node_us > 0 ? per_node_us : 0) * 1e-3 * (double)(nf + nb) / step_ms);
    embcl_device_t dev;
    embcl_device_info info;
    bench_check(embcl_runtime_device(g_rt, 0, &dev), "device");
    bench_check(embcl_device_get_info(dev, &info), "info");
    printf("{\"bench\": \"train_e2e\", \"case\": \"%s\", \"device\": \"%s\", \"embcl_ms\": %.3f, "
           "\"tokens_per_s\": %.0f, \"graph_host_ms\": %.3f, \"host_share\": %.4f, \"nodes\": %zu%s, "
           "\"bound_frac\": null}\n",
           cs, info.name, step_ms, (double)x.info.tokens_per_step * 1e3 / step_ms, host_ms, host_ms / step_ms, nf + nb,
           ex);
    e2e_free(&x);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "bench_graph: cannot write %s\n", path);
        exit(1);
    }
}

/* Everything bench/train_side_by_side.py needs to replay the run in
 * PyTorch, then the run itself. */
static void side_by_side(const char *dir, int steps)
{
    e2e x;
    e2e_make(&x, 1);
    char path[4096];
    snprintf(path, sizeof path, "%s/init.safetensors", dir);
    bench_check(embcl_trainer_save(x.tr, path, NULL, NULL, 0), "save");
    const embcl_train_config *c = &x.cfg;
    const size_t BT = (size_t)(c->batch * c->bptt), CBL = (size_t)(c->cls_batch * x.info.bag_len);
    const size_t per = 2 * BT + CBL + (size_t)c->cls_batch;
    int64_t *all = malloc((size_t)steps * per * sizeof *all);
    if (!all)
        exit(1);
    for (int k = 0; k < steps; k++) {
        int64_t *p = all + (size_t)k * per;
        bench_check(embcl_trainer_batch(x.tr, k, p, p + BT, p + 2 * BT, p + 2 * BT + CBL), "batch");
    }
    write_file(dir, "batches.i64", all, (size_t)steps * per * sizeof *all);
    free(all);
    char js[1024];
    int n = snprintf(js, sizeof js,
                     "{\"V\": %lld, \"D\": %lld, \"W\": %lld, \"H\": %lld, \"layers\": %d, \"B\": %lld, \"T\": %lld, "
                     "\"CB\": %lld, \"L\": %lld, \"C\": %lld, \"steps\": %d, \"pad\": %d, \"lr\": %.17g, "
                     "\"table_lr\": %.17g, \"clip\": %.17g, \"optimizer\": \"%s\", \"table_optimizer\": \"%s\"}\n",
                     (long long)x.info.vocab_size, (long long)c->dim, (long long)x.info.table_width,
                     (long long)(c->hidden ? c->hidden : c->dim), c->layers, (long long)c->batch, (long long)c->bptt,
                     (long long)c->cls_batch, (long long)x.info.bag_len, (long long)x.info.n_classes, steps,
                     EMBCL_VOCAB_PAD, c->lr, c->table_lr, c->clip, embcl_optim_kind_name(c->optimizer),
                     embcl_optim_kind_name(c->table_optimizer));
    write_file(dir, "shapes.json", js, (size_t)n);
    double *t = malloc((size_t)steps * sizeof *t);
    if (!t)
        exit(1);
    for (int k = 0; k < steps; k++) {
        embcl_step_result r;
        double t0 = bench_now_ms();
        bench_check(embcl_trainer_step(x.tr, &r), "step");
        t[k] = bench_now_ms() - t0;
        printf("{\"step\": %d, \"lm_loss\": %.9g, \"cls_loss\": %.9g, \"grad_norm\": %.9g}\n", k, r.lm_loss,
               r.cls_loss, r.grad_norm);
    }
    /* The first steps build kernels: time the rest. */
    int skip = steps > 8 ? 3 : 0;
    double step_ms = median(t + skip, steps - skip);
    free(t);
    printf("{\"bench\": \"train_side_by_side\", \"embcl_ms\": %.3f, \"tokens_per_s\": %.0f}\n", step_ms,
           (double)BT * 1e3 / step_ms);
    e2e_free(&x);
}

int main(int argc, char **argv)
{
    const char *filter = NULL, *sbs = NULL;
    int quick = 0, steps = 30;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--side-by-side") == 0 && i + 1 < argc)
            sbs = argv[++i];
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            steps = atoi(argv[++i]);
    }
    g_rt = bench_runtime();
    if (sbs) {
        side_by_side(sbs, steps < 1 ? 1 : steps);
    } else {
        double per_node = NAN; /* not measured */
        if (bench_selected(filter, "graph_overhead"))
            per_node = bench_overhead(quick, 1);
        if (bench_selected(filter, "train_e2e"))
            bench_e2e(quick, per_node);
    }
    embcl_runtime_free(g_rt);
    return 0;
}
