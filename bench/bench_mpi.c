/* Training across ranks (MPI): per step, the bytes each rank sends and the
 * step time, at 1 rank and at the launched number of ranks, in one run.
 *
 * Usage: mpirun -np 2 [--allow-run-as-root --oversubscribe] build/bench/bench_mpi [--filter NAME] [--quick]
 * (alone it runs the 1-rank half only). One JSON line per case, printed by
 * rank 0:
 *   mpi_train_step    the `embcl train` model (built-in dataset, default
 *                     config), data parallel: each rank one batch a step,
 *                     gradients averaged. Ideal: the step time of 1 rank.
 *   mpi_sharded_step  a large table sharded by row (EmbeddingBag(mean) ->
 *                     Linear -> cross-entropy, row-wise Adagrad on the
 *                     shards, Adam on the rest), one global batch split
 *                     across ranks. Ideal: 1 rank's time / ranks.
 * Fields: "embcl_ms" (median step at `ranks`), "ms_1rank" (rank 0 alone,
 * the same global work as one rank's share times ranks for the sharded
 * case), "bytes_per_step" (payload each rank sends, mean over ranks),
 * "gbps" (bytes_per_step / embcl_ms: the link rate a step needs),
 * "bound_frac" (parallel efficiency: ideal time / measured time). The
 * sharded case adds what data parallel with a replicated table would send
 * instead: "dp_sparse_bytes" (row-sparse allgather of this batch's rows) and
 * "dp_dense_bytes" (the dense table's reduce-scatter + allgather). */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "embcl/mpi.h"

static int g_quick;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Ranks other than 0 wait here without spinning, so rank 0's 1-rank
 * measurement has the machine to itself. */
static void quiet_barrier(void)
{
    MPI_Request rq;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq);
    for (int done = 0;;) {
        MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- the embcl train model ---------------------------------------------- */

typedef struct trainer_run {
    embcl_dataset_t ds;
    embcl_trainer_t tr;
} trainer_run;

static void trainer_start(trainer_run *x, embcl_runtime_t rt)
{
    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    if (g_quick)
        o.n_sentences = 4000;
    bench_check(embcl_dataset_generate(&o, &x->ds), "dataset");
    embcl_train_config c = embcl_train_config_default();
    bench_check(embcl_trainer_create(rt, &c, embcl_dataset_vocab(x->ds), embcl_dataset_corpus(x->ds), NULL, NULL,
                                     NULL, &x->tr),
                "trainer");
}

static double trainer_steps(embcl_trainer_t tr, int warm, int n)
{
    double t[64];
    for (int i = 0; i < warm + n; i++) {
        double t0 = bench_now_ms();
        bench_check(embcl_trainer_step(tr, NULL), "step");
        if (i >= warm)
            t[i - warm] = bench_now_ms() - t0;
    }
    return median(t, n);
}

static void bench_train(embcl_mpi_t m, embcl_runtime_t rt)
{
    const int P = embcl_mpi_size(m), r = embcl_mpi_rank(m), warm = 3, n = g_quick ? 5 : 15;
    trainer_run x;
    double t1 = 0;
    if (r == 0 && P > 1) { /* alone, the run below is the 1-rank one */
        trainer_start(&x, rt);
        t1 = trainer_steps(x.tr, warm, n);
        embcl_trainer_free(x.tr);
        embcl_dataset_free(x.ds);
    }
    quiet_barrier();
    trainer_start(&x, rt);
    embcl_train_info info;
    bench_check(embcl_trainer_info(x.tr, &info), "info");
    if (P > 1)
        bench_check(embcl_mpi_trainer_attach(m, x.tr), "attach");
    trainer_steps(x.tr, warm, 1);
    uint64_t b0 = embcl_mpi_bytes_sent(m);
    double tp = trainer_steps(x.tr, 0, n);
    double v[2] = {(double)(embcl_mpi_bytes_sent(m) - b0) / n, tp};
    if (P == 1)
        t1 = tp;
    if (P > 1)
        bench_check(embcl_mpi_sum_host(m, v, 2, 1.0 / P), "sum");
    if (r == 0)
        printf("{\"bench\": \"mpi_train_step\", \"case\": \"V=%lld,dim=64+16,B=32,T=20,cls_batch=32,ranks=%d\", "
               "\"embcl_ms\": %.3f, \"ms_1rank\": %.3f, \"bytes_per_step\": %.0f, \"params\": %lld, "
               "\"gbps\": %.4f, \"bound_frac\": %.3f}\n",
               (long long)info.vocab_size, P, v[1], t1, v[0], (long long)info.n_params, v[0] / (v[1] * 1e6),
               t1 / v[1]);
    fflush(stdout);
    embcl_trainer_free(x.tr);
    embcl_dataset_free(x.ds);
}

/* ---- a large sharded table ----------------------------------------------- */

enum { C = 16 };

typedef struct sharded {
    embcl_mpi_table_t t;
    embcl_tensor_t shard, rows, w, b;
    embcl_graph_t g;
    embcl_value v_rows, v_w, v_b, v_idx, v_tgt, v_loss;
    embcl_optim_t table_opt, dense_opt;
    int64_t *ids, *local, *tgt, Bl, L, D;
} sharded;

static void sharded_make(sharded *s, embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev, int64_t V, int64_t D,
                         int64_t Bl, int64_t L)
{
    memset(s, 0, sizeof *s);
    s->Bl = Bl, s->L = L, s->D = D;
    const int64_t cap = Bl * L;
    bench_check(embcl_mpi_table_create(m, dev, V, D, 0, &s->t), "table");
    bench_check(embcl_mpi_table_shard(s->t, &s->shard), "shard");
    bench_check(embcl_embedding_init_normal(s->shard, 1, EMBCL_PADDING_NONE), "init");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){cap, D}, &s->rows), "rows");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){C, D}, &s->w), "w");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, (int64_t[]){C}, &s->b), "b");
    bench_check(embcl_tensor_fill(s->w, 0.01), "w");
    bench_check(embcl_tensor_fill(s->b, 0.0), "b");
    bench_check(embcl_graph_create(rt, &s->g), "graph");
    bench_check(embcl_graph_param(s->g, "rows", s->rows, &s->v_rows), "param");
    bench_check(embcl_graph_param(s->g, "fc.weight", s->w, &s->v_w), "param");
    bench_check(embcl_graph_param(s->g, "fc.bias", s->b, &s->v_b), "param");
    bench_check(embcl_graph_input(s->g, "bags", EMBCL_I64, 2, (int64_t[]){Bl, L}, &s->v_idx), "input");
    bench_check(embcl_graph_input(s->g, "labels", EMBCL_I64, 1, (int64_t[]){Bl}, &s->v_tgt), "input");
    embcl_value bag, logits;
    bench_check(embcl_graph_embedding_bag(s->g, s->v_rows, s->v_idx, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, NULL, &bag),
                "bag");
    bench_check(embcl_graph_linear(s->g, bag, s->v_w, s->v_b, &logits), "linear");
    bench_check(embcl_graph_cross_entropy(s->g, logits, s->v_tgt, NULL, &s->v_loss), "loss");
    bench_check(embcl_graph_set_loss(s->g, s->v_loss), "set_loss");
    embcl_graph_options o = embcl_graph_options_default();
    o.diagnostics = 0;
    bench_check(embcl_graph_compile(s->g, &o), "compile");
    bench_check(embcl_optim_create(dev, EMBCL_OPTIM_ROWWISE_ADAGRAD, NULL, &s->table_opt), "optim");
    bench_check(embcl_optim_add_group(s->table_opt, NULL, NULL), "group");
    bench_check(embcl_optim_add_param(s->table_opt, 0, s->shard, "embedding.weight", NULL), "add");
    bench_check(embcl_optim_create(dev, EMBCL_OPTIM_ADAM, NULL, &s->dense_opt), "optim");
    bench_check(embcl_optim_add_group(s->dense_opt, NULL, NULL), "group");
    bench_check(embcl_optim_add_param(s->dense_opt, 0, s->w, "fc.weight", NULL), "add");
    bench_check(embcl_optim_add_param(s->dense_opt, 0, s->b, "fc.bias", NULL), "add");
    s->ids = malloc((size_t)cap * sizeof *s->ids);
    s->local = malloc((size_t)cap * sizeof *s->local);
    s->tgt = malloc((size_t)Bl * sizeof *s->tgt);
    if (!s->ids || !s->local || !s->tgt)
        bench_check(EMBCL_ERR_OUT_OF_MEMORY, "host arrays");
}

static void sharded_free(sharded *s)
{
    embcl_graph_free(s->g);
    embcl_optim_free(s->table_opt);
    embcl_optim_free(s->dense_opt);
    embcl_tensor_free(s->rows);
    embcl_tensor_free(s->w);
    embcl_tensor_free(s->b);
    embcl_tensor_free(s->shard);
    embcl_mpi_table_free(s->t);
    free(s->ids);
    free(s->local);
    free(s->tgt);
}

/* Rank `part` of `parts`' share of global batch `step`: ids skewed to small
 * values (a Zipf-like head, as words and items are), over all of V. */
static void sharded_batch(sharded *s, int64_t V, int step, int part)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(step * 977 + part + 1);
    for (int64_t i = 0; i < s->Bl * s->L; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(x >> 11) / 9007199254740992.0;
        s->ids[i] = (int64_t)((double)V * u * u * u) % V;
    }
    for (int64_t b = 0; b < s->Bl; b++)
        s->tgt[b] = (b * 7 + step) % C;
}

/* One step; *uniq gets this rank's distinct ids. */
static void sharded_step(sharded *s, embcl_mpi_t m, double scale, int64_t *uniq)
{
    bench_check(embcl_mpi_table_lookup(s->t, s->ids, s->Bl * s->L, s->rows, s->local, uniq), "lookup");
    bench_check(embcl_graph_set_input(s->g, s->v_idx, s->local, (size_t)(s->Bl * s->L) * sizeof *s->local), "in");
    bench_check(embcl_graph_set_input(s->g, s->v_tgt, s->tgt, (size_t)s->Bl * sizeof *s->tgt), "in");
    bench_check(embcl_graph_step(s->g), "step");
    embcl_tensor_t rg;
    bench_check(embcl_graph_grad(s->g, s->v_rows, &rg), "grad");
    embcl_rowsparse_t tg;
    bench_check(embcl_mpi_table_backward(s->t, rg, scale, &tg), "backward");
    embcl_tensor_free(rg);
    embcl_grad g1 = {NULL, tg};
    bench_check(embcl_optim_step(s->table_opt, &g1, 1), "table step");
    embcl_grad g2[2];
    bench_check(embcl_mpi_graph_grad(s->g, s->v_w, &g2[0]), "grad");
    bench_check(embcl_mpi_graph_grad(s->g, s->v_b, &g2[1]), "grad");
    bench_check(embcl_mpi_allreduce_grads(m, g2, 2, scale), "allreduce");
    bench_check(embcl_optim_step(s->dense_opt, g2, 2), "dense step");
    embcl_tensor_free(g2[0].dense);
    embcl_tensor_free(g2[1].dense);
    float loss;
    bench_check(embcl_graph_download(s->g, s->v_loss, &loss, sizeof loss), "loss");
}

/* Median step time over n steps of global batches; bytes and distinct ids per step. */
static double sharded_run(sharded *s, embcl_mpi_t m, int64_t V, int warm, int n, double *bytes, double *uniq)
{
    const int P = embcl_mpi_size(m), r = embcl_mpi_rank(m);
    double t[64];
    *bytes = *uniq = 0;
    for (int i = 0; i < warm + n; i++) {
        sharded_batch(s, V, i, r);
        uint64_t b0 = embcl_mpi_bytes_sent(m);
        int64_t u;
        double t0 = bench_now_ms();
        sharded_step(s, m, 1.0 / P, &u);
        if (i < warm)
            continue;
        t[i - warm] = bench_now_ms() - t0;
        *bytes += (double)(embcl_mpi_bytes_sent(m) - b0) / n;
        *uniq += (double)u / n;
    }
    return median(t, n);
}

static void bench_sharded(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int P = embcl_mpi_size(m), r = embcl_mpi_rank(m), warm = 2, n = g_quick ? 4 : 10;
    const int64_t V = g_quick ? 200000 : 2000000, D = 64, B = g_quick ? 512 : 2048, L = 20;
    double t1 = 0, bytes, uniq;
    if (r == 0 && P > 1) { /* alone, the run below is the 1-rank one */
        embcl_mpi_t self;
        MPI_Comm c = MPI_COMM_SELF;
        bench_check(embcl_mpi_create(&c, &self), "self");
        sharded s;
        sharded_make(&s, self, rt, dev, V, D, B, L);
        t1 = sharded_run(&s, self, V, warm, n, &bytes, &uniq);
        sharded_free(&s);
        embcl_mpi_free(self);
    }
    quiet_barrier();
    sharded s;
    sharded_make(&s, m, rt, dev, V, D, B / P, L);
    double tp = sharded_run(&s, m, V, warm, n, &bytes, &uniq);
    sharded_free(&s);
    double v[3] = {bytes, tp, uniq};
    if (P == 1)
        t1 = tp;
    bench_check(embcl_mpi_sum_host(m, v, 3, 1.0 / P), "sum");
    /* the replicated-table alternatives, for the same batch */
    const double dp_sparse = (double)(P - 1) * v[2] * (8.0 + 4.0 * (double)D);
    const double dp_dense = 2.0 * (double)(P - 1) / P * (double)(V * D) * 4.0;
    if (r == 0)
        printf("{\"bench\": \"mpi_sharded_step\", \"case\": \"V=%lld,D=%lld,B=%lld,L=%lld,ranks=%d\", "
               "\"embcl_ms\": %.3f, \"ms_1rank\": %.3f, \"bytes_per_step\": %.0f, \"distinct_ids_per_rank\": %.0f, "
               "\"dp_sparse_bytes\": %.0f, \"dp_dense_bytes\": %.0f, \"gbps\": %.4f, \"bound_frac\": %.3f}\n",
               (long long)V, (long long)D, (long long)B, (long long)L, P, v[1], t1, v[0], v[2], dp_sparse, dp_dense,
               v[0] / (v[1] * 1e6), t1 / ((double)P * v[1]));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            g_quick = 1;
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
    }
    MPI_Init(&argc, &argv);
    embcl_runtime_t rt = bench_runtime();
    embcl_device_t dev;
    bench_check(embcl_runtime_device(rt, 0, &dev), "device");
    embcl_mpi_t m;
    bench_check(embcl_mpi_create(NULL, &m), "mpi");
    if (bench_selected(filter, "mpi_train_step"))
        bench_train(m, rt);
    if (bench_selected(filter, "mpi_sharded_step"))
        bench_sharded(m, rt, dev);
    embcl_mpi_free(m);
    embcl_runtime_free(rt);
    MPI_Finalize();
    return 0;
}
