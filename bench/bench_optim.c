/* Optimizer steps on V=1,000,000 x D=128 tables.
 *   dense_adam: one Adam step over the whole table; bound_frac compares its
 *     bytes/s (p, g, m, v read, p, m, v written) with the machine's ceiling
 *     over the same footprint (bench_peak_gbps: the best of several host
 *     stream loops, bytes counted as the source reads and writes them, as
 *     here), measured in turn with the steps.
 *   sparse_step_*: the training step of an EmbeddingBag of B=4096 bags of
 *     L=20 indices (uniform or Zipf(1.05), sum pooling): backward + update.
 *     fused=0: embcl_embedding_bag_backward to a row-sparse gradient, then
 *     embcl_optim_step; fused=1: embcl_embedding_bag_backward_update (the
 *     gradient is never written). PyTorch's side is SparseAdam's step (also
 *     for row-wise Adagrad, which PyTorch lacks: the yardstick).
 *     Cases ending ",dtype=bf16": fused, uniform, on a bf16 table with
 *     stochastic rounding (FBGEMM's setting for low-precision tables); the
 *     table's rows move 2 bytes an element each way, the state stays f32.
 *   sparse_update_*: the update alone from a coalesced row-sparse gradient
 *     of 81,920 row occurrences.
 * Usage: bench_optim [--filter NAME] [--quick]
 * Each line: embcl_ms (best of the repeats; one step, enqueue to finish),
 * gbps over the bytes the step must move, bound_frac = gbps / bound_gbps,
 * bound_gbps the ceiling over a footprint of those bytes (the rows a step
 * touches are the same every repeat: from the caches when they fit). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "device/program.h"
#include "device/tuning.h"
#include "tensor/tensor_impl.h"

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static float frand(void) { return (float)rng() / 2147483648.0f - 1.0f; }

typedef struct step_case {
    embcl_device_t dev;
    embcl_optim_t opt;
    embcl_grad g;
} step_case;

static double time_steps(step_case *c, int reps)
{
    bench_check(embcl_optim_step(c->opt, &c->g, 1), "warm-up step");
    bench_check(embcl_device_finish(c->dev), "finish");
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now_ms();
        bench_check(embcl_optim_step(c->opt, &c->g, 1), "step");
        bench_check(embcl_device_finish(c->dev), "finish");
        double t = bench_now_ms() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

static embcl_optim_t make_opt(embcl_device_t dev, embcl_optim_kind kind, embcl_tensor_t param)
{
    embcl_optim_t opt;
    bench_check(embcl_optim_create(dev, kind, NULL, &opt), "optim");
    bench_check(embcl_optim_add_group(opt, NULL, NULL), "group");
    bench_check(embcl_optim_add_param(opt, 0, param, "table", NULL), "param");
    return opt;
}

/* extra_nnz, cpu_ms: printed when >= 0 (unique rows; the process's CPU time
 * for the best step, steadier than wall time on a shared machine). */
static void print_line(const char *bench, const char *cs, const char *dev, double ms, double bytes,
                       const bench_bound *bound, double host_ms, long long extra_nnz, double cpu_ms)
{
    double gbps = bytes / ms / 1e6;
    printf("{\"bench\": \"%s\", \"case\": \"%s\", \"device\": \"%s\", \"embcl_ms\": %.4f, \"gbps\": %.2f, "
           "\"bound_frac\": %.3f, \"bound_gbps\": %.2f, \"bound_impl\": \"%s\", \"host_gbps\": %.2f",
           bench, cs, dev, ms, gbps, gbps / bound->gbps, bound->gbps, bound->impl,
           host_ms > 0 ? bytes / host_ms / 1e6 : 0.0);
    if (extra_nnz >= 0)
        printf(", \"unique_rows\": %lld", extra_nnz);
    if (cpu_ms >= 0)
        printf(", \"cpu_ms\": %.4f", cpu_ms);
    printf("}\n");
    fflush(stdout);
    bench_check_bound(bench, cs, gbps / bound->gbps);
}

/* Adam on the host, same operations as the kernel: the bytes' host cost. */
static double host_adam(float *p, const float *g, float *m, float *v, size_t n)
{
    double t0 = bench_now_ms();
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, step = -1e-3f, bc2 = 0.0447f;
    for (size_t i = 0; i < n; i++) {
        m[i] = m[i] * b1 + g[i] * (1.0f - b1);
        v[i] = v[i] * b2 + g[i] * g[i] * (1.0f - b2);
        p[i] += step * (m[i] / (sqrtf(v[i]) / bc2 + eps));
    }
    return bench_now_ms() - t0;
}

static void bench_dense_adam(embcl_device_t dev, const char *devname, int64_t v, int64_t d, int reps)
{
    size_t n = (size_t)(v * d);
    int64_t shape[2] = {v, d};
    embcl_tensor_t p, g;
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &p), "alloc");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &g), "alloc");
    bench_check(embcl_tensor_fill(p, 0.5), "fill");
    bench_check(embcl_tensor_fill(g, 0.01), "fill");
    step_case c = {dev, make_opt(dev, EMBCL_OPTIM_ADAM, p), {g, NULL}};
    double ms = 1e30;
    bench_bound bound;
    bench_bound_init(&bound, dev, n * 16); /* p, g, m, v */
    /* A try of the ceiling on both sides of every step: each moves 2 GB,
     * the caches hold none of it, and one try every third step (at one bad
     * moment) was a ceiling the best step beat by half (bound_frac 1.57). */
    bench_bound_try(&bound, 1);
    for (int r = 0; r < reps; r++) {
        ms = fmin(ms, time_steps(&c, 1));
        bench_bound_try(&bound, 1);
    }
    float *hp = calloc(n, 4), *hg = calloc(n, 4), *hm = calloc(n, 4), *hv = calloc(n, 4);
    host_adam(hp, hg, hm, hv, n);
    double host = 1e30;
    for (int r = 0; r < 3; r++)
        host = fmin(host, host_adam(hp, hg, hm, hv, n));
    char cs[64];
    snprintf(cs, sizeof cs, "V=%lld,D=%lld", (long long)v, (long long)d);
    print_line("dense_adam", cs, devname, ms, (double)n * 4.0 * 7.0, &bound, host, -1, -1.0);
    free(hp);
    free(hg);
    free(hm);
    free(hv);
    embcl_optim_free(c.opt);
    embcl_tensor_free(p);
    embcl_tensor_free(g);
}

/* n_occ row picks, uniform or Zipf(s) over v rows (inverse CDF). */
static void picks(int64_t *ids, size_t n_occ, int64_t v, int zipf)
{
    if (!zipf) {
        for (size_t i = 0; i < n_occ; i++)
            ids[i] = (int64_t)(((uint64_t)rng() << 31 ^ rng()) % (uint64_t)v);
        return;
    }
    double *cdf = malloc((size_t)v * sizeof *cdf), acc = 0.0;
    for (int64_t k = 0; k < v; k++)
        cdf[k] = (acc += pow((double)(k + 1), -1.05));
    for (size_t i = 0; i < n_occ; i++) {
        double u = ((double)rng() / 2147483648.0) * acc;
        int64_t lo = 0, hi = v - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* scatter the popular rows over the table, as hashed ids are */
        ids[i] = (int64_t)(((uint64_t)lo * 2654435761u) % (uint64_t)v);
    }
    free(cdf);
}

/* Bytes one sparse step must move per unique row: SparseAdam reads
 * p, g, m, v and writes p, m, v; Adagrad reads p, g, s, writes p, s;
 * row-wise Adagrad reads p, g, writes p, and one float of state each way. */
static double row_bytes(embcl_optim_kind kind, int64_t d)
{
    double r = (double)d * 4.0;
    switch (kind) {
    case EMBCL_OPTIM_SPARSE_ADAM:
        return 7.0 * r + 8.0;
    case EMBCL_OPTIM_ADAGRAD:
        return 5.0 * r + 8.0;
    default:
        return 3.0 * r + 8.0 + 8.0;
    }
}

static void bench_sparse(embcl_device_t dev, const char *devname, const char *bench, embcl_optim_kind kind,
                         int64_t v, int64_t d, size_t n_occ, int zipf, int reps)
{
    int64_t shape[2] = {v, d};
    embcl_tensor_t p;
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &p), "alloc");
    bench_check(embcl_tensor_fill(p, 0.5), "fill");
    int64_t *ids = malloc(n_occ * sizeof *ids);
    float *vals = malloc(n_occ * (size_t)d * sizeof *vals);
    picks(ids, n_occ, v, zipf);
    for (size_t i = 0; i < n_occ * (size_t)d; i++)
        vals[i] = frand() * 0.01f;
    embcl_rowsparse_t g;
    bench_check(embcl_rowsparse_create(dev, v, d, (int64_t)n_occ, &g), "rowsparse");
    bench_check(embcl_rowsparse_set(g, (int64_t)n_occ, ids, vals), "rowsparse_set");
    int64_t nnz = embcl_rowsparse_nnz(g);
    step_case c = {dev, make_opt(dev, kind, p), {NULL, g}};
    char cs[128];
    snprintf(cs, sizeof cs, "V=%lld,D=%lld,occ=%zu,dist=%s", (long long)v, (long long)d, n_occ,
             zipf ? "zipf1.05" : "uniform");
    double bytes = (double)nnz * row_bytes(kind, d), ms = 1e30;
    bench_bound bound;
    bench_bound_init(&bound, dev, (size_t)bytes);
    int per = bench_bound_per_turn(2 * reps);
    for (int t = 0; t < BENCH_BOUND_TURNS; t++) { /* in turn: both see the same machine */
        ms = fmin(ms, time_steps(&c, per));
        bench_bound_try(&bound, per);
    }
    print_line(bench, cs, devname, ms, bytes, &bound, -1.0, nnz, -1.0);
    embcl_optim_free(c.opt);
    embcl_rowsparse_free(g);
    embcl_tensor_free(p);
    free(ids);
    free(vals);
}

/* The training step's backward + update for bags of `len` indices. */
typedef struct train_case {
    embcl_device_t dev;
    embcl_optim_t opt;
    embcl_tensor_t g;
    embcl_bags bags;
    embcl_embedding_options o;
    embcl_rowsparse_t sg; /* unfused only */
    int64_t v;
} train_case;

static void train_step(train_case *c)
{
    if (!c->sg) {
        bench_check(embcl_embedding_bag_backward_update(c->g, &c->bags, &c->o, c->opt, 0), "fused step");
    } else {
        embcl_embedding_options o = c->o;
        o.sparse = 1;
        bench_check(embcl_embedding_bag_backward(c->g, NULL, &c->bags, NULL, c->v, &o, NULL, c->sg, NULL), "backward");
        embcl_grad g = {NULL, c->sg};
        bench_check(embcl_optim_step(c->opt, &g, 1), "step");
    }
    bench_check(embcl_device_finish(c->dev), "finish");
}

static void bench_train(embcl_device_t dev, const char *devname, const char *bench, embcl_optim_kind kind, int64_t v,
                        int64_t d, int64_t bags, int64_t len, int zipf, int fused, int bf16, int reps)
{
    int64_t shape[2] = {v, d}, n = bags * len;
    embcl_tensor_t p, idx, offs;
    rng_state = 0x853c49e6748fea9bull + (uint64_t)zipf; /* fused and unfused, f32 and bf16 see the same indices */
    bench_check(embcl_tensor_create(dev, bf16 ? EMBCL_BF16 : EMBCL_F32, 2, shape, &p), "alloc");
    bench_check(embcl_tensor_fill(p, 0.5), "fill");
    int64_t *ids = malloc((size_t)n * sizeof *ids), *oh = malloc((size_t)bags * sizeof *oh);
    float *g = malloc((size_t)(bags * d) * sizeof *g);
    picks(ids, (size_t)n, v, zipf);
    for (int64_t b = 0; b < bags; b++)
        oh[b] = b * len;
    for (int64_t i = 0; i < bags * d; i++)
        g[i] = frand() * 0.01f;
    int64_t nshape[1] = {n}, bshape[1] = {bags}, gshape[2] = {bags, d};
    train_case c = {.dev = dev, .v = v};
    bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, nshape, &idx), "alloc");
    bench_check(embcl_tensor_upload(idx, ids, (size_t)n * sizeof *ids), "upload");
    bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, bshape, &offs), "alloc");
    bench_check(embcl_tensor_upload(offs, oh, (size_t)bags * sizeof *oh), "upload");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, gshape, &c.g), "alloc");
    bench_check(embcl_tensor_upload(c.g, g, (size_t)(bags * d) * sizeof *g), "upload");
    c.bags = (embcl_bags){idx, offs, NULL};
    c.o = embcl_embedding_options_default();
    c.o.mode = EMBCL_BAG_SUM;
    c.opt = make_opt(dev, kind, p);
    if (bf16) /* the default, said here because the case names it */
        bench_check(embcl_optim_set_bf16_rounding(c.opt, EMBCL_BF16_STOCHASTIC, 1), "bf16 rounding");
    if (!fused)
        bench_check(embcl_rowsparse_create(dev, v, d, n, &c.sg), "rowsparse");
    train_step(&c); /* warm-up: kernel builds, pool */
    /* the unique rows, for the bytes: one more sort, outside the timing */
    embcl_rowsparse_t u;
    embcl_embedding_options o = c.o;
    o.sparse = 1;
    bench_check(embcl_rowsparse_create(dev, v, d, n, &u), "rowsparse");
    bench_check(embcl_embedding_bag_backward(c.g, NULL, &c.bags, NULL, v, &o, NULL, u, NULL), "backward");
    int64_t nnz = embcl_rowsparse_nnz(u);
    embcl_rowsparse_free(u);
    /* the update's rows, plus each position's index, sort traffic and gradient row;
     * a bf16 table's row is read and written at 2 bytes an element, not 4 */
    double bytes = (double)nnz * (row_bytes(kind, d) - (bf16 ? 4.0 * (double)d : 0.0)) +
                   (double)n * (24.0 + (double)d * 4.0);
    bench_bound bound;
    bench_bound_init(&bound, dev, (size_t)bytes);
    double best = 1e30, cpu = 1e30;
    int per = bench_bound_per_turn(reps);
    for (int t = 0; t < BENCH_BOUND_TURNS; t++) { /* in turn: both see the same machine */
        train_step(&c); /* the caches as a repeat leaves them, not as the ceiling's tries do */
        for (int r = 0; r < per; r++) {
            double t0 = bench_now_ms(), c0 = bench_cpu_ms();
            train_step(&c);
            best = fmin(best, bench_now_ms() - t0);
            cpu = fmin(cpu, bench_cpu_ms() - c0);
        }
        bench_bound_try(&bound, per);
    }
    char cs[160];
    snprintf(cs, sizeof cs, "V=%lld,D=%lld,B=%lld,L=%lld,dist=%s,fused=%d%s", (long long)v, (long long)d,
             (long long)bags, (long long)len, zipf ? "zipf1.05" : "uniform", fused, bf16 ? ",dtype=bf16" : "");
    print_line(bench, cs, devname, best, bytes, &bound, -1.0, nnz, cpu);
    embcl_rowsparse_free(c.sg);
    embcl_optim_free(c.opt);
    embcl_tensor_free(p);
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
    embcl_tensor_free(c.g);
    free(ids);
    free(oh);
    free(g);
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
    }
    embcl_runtime_t rt = bench_runtime();
    embcl_device_t dev;
    bench_check(embcl_runtime_device(rt, 0, &dev), "device");
    embcl_device_info info;
    embcl_device_get_info(dev, &info);
    int64_t v = quick ? 100000 : 1000000, d = 128;
    size_t occ = quick ? 8192 : 81920;
    int reps = quick ? 3 : 10;
    if (bench_selected(filter, "dense_adam"))
        bench_dense_adam(dev, info.name, quick ? 8192 : v, d, reps);
    static const struct {
        const char *name;
        embcl_optim_kind kind;
    } update[] = {{"sparse_update_sparseadam", EMBCL_OPTIM_SPARSE_ADAM},
                  {"sparse_update_rowwise_adagrad", EMBCL_OPTIM_ROWWISE_ADAGRAD},
                  {"sparse_update_adagrad", EMBCL_OPTIM_ADAGRAD}};
    for (size_t i = 0; i < sizeof update / sizeof update[0]; i++)
        for (int zipf = 0; zipf < 2; zipf++)
            if (bench_selected(filter, update[i].name))
                bench_sparse(dev, info.name, update[i].name, update[i].kind, v, d, occ, zipf, reps);
    static const struct {
        const char *name;
        embcl_optim_kind kind;
    } train[] = {{"sparse_step_sparseadam", EMBCL_OPTIM_SPARSE_ADAM},
                 {"sparse_step_rowwise_adagrad", EMBCL_OPTIM_ROWWISE_ADAGRAD},
                 {"sparse_step_adagrad", EMBCL_OPTIM_ADAGRAD}};
    int64_t bags = quick ? 512 : 4096;
    for (size_t i = 0; i < sizeof train / sizeof train[0]; i++)
        for (int zipf = 0; zipf < 2; zipf++)
            for (int fused = 0; fused < 2; fused++)
                if (bench_selected(filter, train[i].name))
                    bench_train(dev, info.name, train[i].name, train[i].kind, v, d, bags, 20, zipf, fused, 0, reps);
    for (size_t i = 0; i < sizeof train / sizeof train[0]; i++)
        if (bench_selected(filter, train[i].name))
            bench_train(dev, info.name, train[i].name, train[i].kind, v, d, bags, 20, 0, 1, 1, reps);
    embcl_runtime_free(rt);
    return 0;
}
