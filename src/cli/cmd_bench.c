/* embcl bench: a quick throughput check of the main ops on the selected
 * device, one JSON line a case as the programs in bench/ print them:
 *   copy         device memcpy: the bandwidth the other cases are held to
 *   bag_fwd      EmbeddingBag (mean) forward over a large table
 *   bag_bwd      its backward into a row-sparse gradient
 *   sparse_step  row-wise Adagrad on that row-sparse gradient
 *   train_step   one step of the `embcl train` model (default sizes)
 * "embcl_ms" is the median of the timed repeats (each waited for), "gbps"
 * the bytes the op must move over that time, "bound_frac" gbps over the
 * copy case's (how close to memory-bound), "tokens_per_s" for train_step.
 * For the full suite and PyTorch beside it: bench/compare. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "embcl.h"

typedef struct bctx {
    embcl_runtime_t rt;
    embcl_device_t dev;
    embcl_device_info info;
    int quick, reps;
    double copy_gbps;
} bctx;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int failed(embcl_status s, const char *what)
{
    if (s == EMBCL_OK)
        return 0;
    fprintf(stderr, "embcl bench: %s failed: %s\n", what, embcl_last_error());
    return 1;
}

typedef embcl_status (*run_fn)(void *arg);

/* Median wall time of reps calls of f (after one untimed), each waited for. */
static int time_op(const bctx *c, run_fn f, void *arg, double *ms)
{
    double t[64];
    int reps = c->reps < 64 ? c->reps : 64;
    if (failed(f(arg), "warm-up") || failed(embcl_device_finish(c->dev), "finish"))
        return 1;
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (failed(f(arg), "run") || failed(embcl_device_finish(c->dev), "finish"))
            return 1;
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    *ms = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    return 0;
}

static void emit(const bctx *c, const char *bench, const char *cs, double ms, double bytes, const char *extra)
{
    double gbps = bytes / ms / 1e6;
    printf("{\"bench\": \"%s\", \"case\": \"%s\", \"device\": \"%s\", \"embcl_ms\": %.4f", bench, cs, c->info.name,
           ms);
    if (bytes > 0) {
        printf(", \"gbps\": %.3f, \"bound_frac\": ", gbps);
        if (c->copy_gbps > 0)
            printf("%.3f", gbps / c->copy_gbps);
        else
            printf("null");
    } else {
        printf(", \"bound_frac\": null");
    }
    printf("%s}\n", extra ? extra : "");
    fflush(stdout);
}

/* ---- copy ---- */

typedef struct copy_arg {
    embcl_tensor_t a, b;
} copy_arg;

static embcl_status run_copy(void *p)
{
    copy_arg *x = p;
    return embcl_tensor_copy(x->b, x->a);
}

static int bench_copy(bctx *c, int print)
{
    int64_t n = c->quick ? (int64_t)4 << 20 : (int64_t)16 << 20;
    copy_arg x = {NULL, NULL};
    double ms = 0;
    int rc = failed(embcl_tensor_create(c->dev, EMBCL_F32, 1, &n, &x.a), "tensor") ||
             failed(embcl_tensor_create(c->dev, EMBCL_F32, 1, &n, &x.b), "tensor") ||
             failed(embcl_tensor_fill(x.a, 1.0), "fill") || time_op(c, run_copy, &x, &ms);
    if (!rc) {
        double bytes = 2.0 * (double)n * 4;
        c->copy_gbps = bytes / ms / 1e6;
        if (print) {
            char cs[64];
            snprintf(cs, sizeof cs, "MB=%lld", (long long)(n * 4 >> 20));
            double keep = c->copy_gbps;
            c->copy_gbps = 0; /* the reference itself: no fraction */
            emit(c, "copy", cs, ms, bytes, NULL);
            c->copy_gbps = keep;
        }
    }
    embcl_tensor_free(x.a);
    embcl_tensor_free(x.b);
    return rc;
}

/* ---- bags ---- */

typedef struct bag_arg {
    embcl_tensor_t table, idx, out, gout;
    embcl_bags bags;
    embcl_embedding_options o;
    embcl_rowsparse_t sg;
    embcl_optim_t opt;
    int64_t V, D, B, L;
} bag_arg;

static embcl_status run_bag_fwd(void *p)
{
    bag_arg *x = p;
    return embcl_embedding_bag(x->table, &x->bags, &x->o, x->out, NULL);
}

static embcl_status run_bag_bwd(void *p)
{
    bag_arg *x = p;
    return embcl_embedding_bag_backward(x->gout, NULL, &x->bags, NULL, x->V, &x->o, NULL, x->sg, NULL);
}

static embcl_status run_sparse_step(void *p)
{
    bag_arg *x = p;
    embcl_grad g = {NULL, x->sg};
    return embcl_optim_step(x->opt, &g, 1);
}

/* Zipf-like ids, as real vocabularies are: a few hot rows, a long tail. */
static int64_t *make_ids(int64_t n, int64_t V)
{
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids)
        return NULL;
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double u = (double)(s >> 11) / 9007199254740992.0;
        ids[i] = (int64_t)((double)V * u * u * u) % V;
    }
    return ids;
}

static int bag_setup(bctx *c, bag_arg *x)
{
    memset(x, 0, sizeof *x);
    x->V = c->quick ? 20000 : 200000;
    x->D = 64;
    x->B = c->quick ? 512 : 2048;
    x->L = 20;
    int64_t st[2] = {x->V, x->D}, si[2] = {x->B, x->L}, so[2] = {x->B, x->D};
    int64_t *ids = make_ids(x->B * x->L, x->V);
    if (!ids)
        return failed(EMBCL_ERR_OUT_OF_MEMORY, "ids");
    int rc = failed(embcl_tensor_create(c->dev, EMBCL_F32, 2, st, &x->table), "table") ||
             failed(embcl_embedding_init_normal(x->table, 1, EMBCL_PADDING_NONE), "init") ||
             failed(embcl_tensor_create(c->dev, EMBCL_I64, 2, si, &x->idx), "indices") ||
             failed(embcl_tensor_upload(x->idx, ids, (size_t)(x->B * x->L) * sizeof *ids), "upload") ||
             failed(embcl_tensor_create(c->dev, EMBCL_F32, 2, so, &x->out), "out") ||
             failed(embcl_tensor_create(c->dev, EMBCL_F32, 2, so, &x->gout), "grad") ||
             failed(embcl_tensor_fill(x->gout, 0.01), "fill") ||
             failed(embcl_rowsparse_create(c->dev, x->V, x->D, x->B * x->L, &x->sg), "row-sparse gradient");
    free(ids);
    x->bags.indices = x->idx;
    x->o = embcl_embedding_options_default();
    x->o.mode = EMBCL_BAG_MEAN;
    x->o.sparse = 1;
    return rc;
}

static void bag_free(bag_arg *x)
{
    embcl_tensor_t all[] = {x->table, x->idx, x->out, x->gout};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        embcl_tensor_free(all[i]);
    embcl_rowsparse_free(x->sg);
    embcl_optim_free(x->opt);
}

static int bench_bags(bctx *c, const char *filter)
{
    bag_arg x;
    int rc = bag_setup(c, &x);
    char cs[128];
    snprintf(cs, sizeof cs, "V=%lld,D=%lld,B=%lld,L=%lld,mode=mean,dist=zipf", (long long)x.V, (long long)x.D,
             (long long)x.B, (long long)x.L);
    const double n = (double)(x.B * x.L), rowb = (double)x.D * 4;
    double ms;
    if (!rc && (!filter || strstr("bag_fwd", filter))) {
        rc = time_op(c, run_bag_fwd, &x, &ms);
        if (!rc) /* each looked-up row read, indices read, outputs written */
            emit(c, "bag_fwd", cs, ms, n * rowb + n * 8 + (double)x.B * rowb, NULL);
    }
    int need_grad = !filter || strstr("bag_bwd", filter) || strstr("sparse_step", filter);
    if (!rc && need_grad) {
        rc = time_op(c, run_bag_bwd, &x, &ms);
        if (!rc && (!filter || strstr("bag_bwd", filter))) /* gradient rows read per index, rows written */
            emit(c, "bag_bwd", cs, ms, n * rowb + n * 8 + (double)embcl_rowsparse_nnz(x.sg) * (rowb + 8), NULL);
    }
    if (!rc && (!filter || strstr("sparse_step", filter))) {
        embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_ROWWISE_ADAGRAD);
        rc = failed(embcl_optim_create(c->dev, EMBCL_OPTIM_ROWWISE_ADAGRAD, &hp, &x.opt), "optimizer") ||
             failed(embcl_optim_add_group(x.opt, NULL, NULL), "group") ||
             failed(embcl_optim_add_param(x.opt, 0, x.table, "embedding.weight", NULL), "param");
        if (!rc)
            rc = time_op(c, run_sparse_step, &x, &ms);
        if (!rc) { /* per touched row: gradient read, weight read and written, its state */
            int64_t nnz = embcl_rowsparse_nnz(x.sg);
            char cs2[160];
            snprintf(cs2, sizeof cs2, "%s,nnz=%lld,optim=rowwise_adagrad", cs, (long long)nnz);
            emit(c, "sparse_step", cs2, ms, (double)nnz * (3 * rowb + 8 + 8), NULL);
        }
    }
    bag_free(&x);
    return rc;
}

/* ---- train step ---- */

typedef struct train_arg {
    embcl_trainer_t tr;
} train_arg;

static embcl_status run_train(void *p)
{
    return embcl_trainer_step(((train_arg *)p)->tr, NULL);
}

static int bench_train(bctx *c)
{
    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    if (c->quick)
        o.n_sentences = 4000;
    embcl_dataset_t ds = NULL;
    train_arg x = {NULL};
    embcl_train_config cfg = embcl_train_config_default();
    int rc = failed(embcl_dataset_generate(&o, &ds), "built-in dataset") ||
             failed(embcl_trainer_create(c->rt, &cfg, embcl_dataset_vocab(ds), embcl_dataset_corpus(ds), NULL, NULL,
                                         NULL, &x.tr),
                    "trainer");
    embcl_train_info info;
    double ms;
    if (!rc)
        rc = failed(embcl_trainer_info(x.tr, &info), "info") || time_op(c, run_train, &x, &ms);
    if (!rc) {
        char cs[160], extra[64];
        snprintf(cs, sizeof cs, "V=%lld,D=%lld,W=%lld,H=%lld,B=%lld,T=%lld,CB=%lld,L=%lld",
                 (long long)info.vocab_size, (long long)cfg.dim, (long long)info.table_width,
                 (long long)(cfg.hidden ? cfg.hidden : cfg.dim), (long long)cfg.batch, (long long)cfg.bptt,
                 (long long)cfg.cls_batch, (long long)info.bag_len);
        snprintf(extra, sizeof extra, ", \"tokens_per_s\": %.0f", (double)info.tokens_per_step * 1e3 / ms);
        emit(c, "train_step", cs, ms, 0, extra);
    }
    embcl_trainer_free(x.tr);
    embcl_dataset_free(ds);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: embcl bench [--filter NAME] [--quick] [--device SEL]\n"
               "A quick throughput check of the main ops on the device: copy, bag_fwd, bag_bwd, sparse_step,\n"
               "train_step; one JSON line a case (embcl_ms: median; gbps; bound_frac: gbps over copy's).\n"
               "  --filter NAME   run only the cases whose name contains NAME\n"
               "  --quick         smaller sizes, fewer repeats\n"
               "  --device SEL    device selector as EMBCL_DEVICE (gpu, cpu, P:D, a name)\n");
}

int embcl_cmd_bench(int argc, char **argv)
{
    const char *filter = NULL, *device = NULL;
    bctx c;
    memset(&c, 0, sizeof c);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--quick") == 0) {
            c.quick = 1;
        } else if ((strcmp(argv[i], "--filter") == 0 || strcmp(argv[i], "--device") == 0) && i + 1 < argc) {
            *(argv[i][2] == 'f' ? &filter : &device) = argv[i + 1];
            i++;
        } else {
            fprintf(stderr, "embcl bench: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    c.reps = c.quick ? 5 : 21;
    embcl_runtime_options ro = embcl_runtime_options_default();
    ro.device = device;
    if (failed(embcl_runtime_create(&ro, &c.rt), device ? "--device" : "opening the device"))
        return 1;
    int rc = failed(embcl_runtime_device(c.rt, 0, &c.dev), "device") ||
             failed(embcl_device_get_info(c.dev, &c.info), "device info");
    int any = 0;
    static const char *const cases[] = {"copy", "bag_fwd", "bag_bwd", "sparse_step", "train_step"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        any |= !filter || strstr(cases[i], filter) != NULL;
    if (!rc && !any) {
        fprintf(stderr, "embcl bench: --filter '%s' matches no case (copy, bag_fwd, bag_bwd, sparse_step, "
                        "train_step)\n", filter);
        rc = 2;
    }
    /* The copy case runs whenever a bandwidth case does: their reference. */
    int bags = !filter || strstr("bag_fwd bag_bwd sparse_step", filter);
    if (!rc && (bags || !filter || strstr("copy", filter)))
        rc = bench_copy(&c, !filter || strstr("copy", filter) != NULL);
    if (!rc && bags)
        rc = bench_bags(&c, filter);
    if (!rc && (!filter || strstr("train_step", filter)))
        rc = bench_train(&c);
    embcl_runtime_free(c.rt);
    return rc;
}
