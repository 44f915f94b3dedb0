/* EmbeddingBag speed: forward, backward to a row-sparse gradient, backward
 * to a dense gradient (deterministic and atomic scatter), for the issue's
 * cases. gbps counts the bytes a bag op must move at least: each distinct
 * row once (a row that repeats, as Zipf's hot rows do, comes from the caches
 * after its first read) plus the [B, D] bags. bound_frac = gbps / bound_gbps,
 * bound_gbps the machine's ceiling over a footprint of those bytes
 * (bench_peak_gbps: the best of several host stream loops, measured in turn
 * with the op's repeats), so no op can beat it: reading the distinct rows
 * scattered can only be slower than streaming the same number of bytes.
 * host_gather_ms is a plain C gather of the same rows on the host (as many
 * threads as the device has compute units, prefetching, the table on huge
 * pages as embcl's CPU buffers are), for scale; it must compute what the
 * kernel computes (checked). bag_fwd's gather_frac = host_gather_ms /
 * embcl_ms: the kernel's speed as a fraction of that gather's, the "gather
 * bound" of issue 15 (a random gather waits on memory latency, not
 * bandwidth, so the stream ceiling above is one it can never approach). It
 * is a reference, not a ceiling: above 1 the kernel beat the C loop.
 *
 * Usage: bench_embedding [--filter NAME] [--case SUBSTRING] [--quick]
 * --quick: V = 100,000 and fewer repeats. Indices come from splitmix64 of
 * the position (uniform: mod V; zipf: inverse CDF of Zipf(1.05) over V), the
 * same as bench/torch/embedding.py draws, so both sides see the same rows.
 * Times are wall-clock per call including the index checks (the indices are
 * uploaded, so the upload's facts settle them without device work) and a
 * device finish, best of the repeats; the dense backward includes zeroing
 * the [V, D] gradient (PyTorch allocates a zeroed one per backward).
 * Cases with ",dtype=bf16" run bag_fwd alone on a bf16 table (the f32
 * cases' values rounded to nearest even; out f32): the backward never reads
 * the table, so the f32 cases measure it. Their gbps counts 2-byte rows and
 * the 4-byte bags, their ceiling is taken over those bytes, and the host
 * gather reads the same bf16 rows, widening them as the kernel does. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

typedef struct bcase {
    int64_t V, D, B, L;
    int zipf, mean; /* mean: mode="mean" (the case string says so), else sum */
    int bf16;       /* bag_fwd on a bf16 table */
} bcase;

static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Element i of every table: uniform in [-0.5, 0.5). */
static float table_value(int64_t i)
{
    return (float)(splitmix64((uint64_t)i + 77) >> 40) * (1.0f / 16777216.0f) - 0.5f;
}

/* from: the first position's number (table t of a multi-table case draws
 * from t * B * L on, as bench/torch/embedding.py does). */
static void draw_indices(const bcase *c, int64_t *idx, uint64_t from)
{
    int64_t n = c->B * c->L;
    if (!c->zipf) {
        for (int64_t i = 0; i < n; i++)
            idx[i] = (int64_t)(splitmix64((uint64_t)i + from) % (uint64_t)c->V);
        return;
    }
    double *cdf = malloc((size_t)c->V * sizeof *cdf), acc = 0;
    for (int64_t k = 0; k < c->V; k++) {
        acc += 1.0 / pow((double)(k + 1), 1.05);
        cdf[k] = acc;
    }
    for (int64_t k = 0; k < c->V; k++)
        cdf[k] /= acc;
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(splitmix64((uint64_t)i) >> 11) * (1.0 / 9007199254740992.0);
        int64_t lo = 0, hi = c->V - 1; /* first k with cdf[k] > u */
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (cdf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        idx[i] = lo;
    }
    free(cdf);
}

/* The host gather bound: out[b] = sum of the bag's rows, one thread per
 * compute unit over contiguous ranges of bags, as a tuned CPU gather does
 * it (caffe2's generated EmbeddingLookup kernels are the model): a random
 * gather waits on memory, not on adds, so while the row at position q is
 * summed, the row PF_AHEAD positions later is prefetched, one 64-byte line
 * between the loads of each line of this row (requests spread among the
 * loads keep more misses in flight than a burst per row or per bag did);
 * a block of the output stays in registers across the bag's rows and is
 * stored once. It reads the same rows and writes the same bytes as the
 * kernel. */
#define PF_AHEAD 16 /* positions */
#define BLK 64      /* floats per accumulator block: 8 AVX registers */
typedef float v8f __attribute__((vector_size(32)));
typedef uint16_t v8h __attribute__((vector_size(16)));
typedef uint32_t v8u __attribute__((vector_size(32)));

typedef struct gather_job {
    const float *w;     /* f32 table, or */
    const uint16_t *wb; /* bf16 table */
    const int64_t *idx;
    float *out;
    int64_t D, L, b0, b1;
    pthread_barrier_t *bar;
    void *(*part)(void *); /* gather_part or gather_part_bf16 */
    double t0, t1;         /* this thread's start and end */
} gather_job;

static inline v8f load8_f32(const float *r)
{
    v8f a;
    memcpy(&a, r, 32);
    return a;
}

/* A bf16 value is a float's upper half: widening is a shift, as in the
 * kernel, so the host reads 2 bytes an element too. */
static inline v8f load8_bf16(const uint16_t *r)
{
    v8h h;
    memcpy(&h, r, 16);
    v8u u = __builtin_convertvector(h, v8u) << 16;
    v8f a;
    memcpy(&a, &u, 32);
    return a;
}

/* NV vectors of 8 values from column c0 of bag b's rows of table W (of
 * element type T, read by LOAD; NV a constant: the accumulators stay in
 * registers, as the kernel's do), then stored. One prefetch per 64-byte
 * line of the row ahead. */
#define SUM_ROWS(NV, T, W, LOAD)                                                                       \
    {                                                                                                  \
        v8f acc[NV] = {0};                                                                             \
        for (int64_t q = b * j->L; q < (b + 1) * j->L; q++) {                                          \
            int64_t qa = q + PF_AHEAD < end ? q + PF_AHEAD : end - 1;                                  \
            const T *r = W + j->idx[q] * j->D + c0;                                                    \
            const char *ahead = (const char *)(W + j->idx[qa] * j->D + c0);                            \
            _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++)                                     \
            {                                                                                          \
                acc[v] += LOAD(r + 8 * v);                                                             \
                if ((8 * v * (int)sizeof(T)) % 64 == 0)                                                \
                    __builtin_prefetch(ahead + 8 * v * (int)sizeof(T), 0, 3);                          \
            }                                                                                          \
        }                                                                                              \
        memcpy(j->out + b * j->D + c0, acc, sizeof acc);                                               \
    }

#define GATHER_PART(NAME, T, W, LOAD)                                                                  \
    static void *NAME(void *p)                                                                         \
    {                                                                                                  \
        const gather_job *j = p;                                                                       \
        int64_t end = j->b1 * j->L;                                                                    \
        for (int64_t b = j->b0; b < j->b1; b++)                                                        \
            for (int64_t c0 = 0; c0 < j->D; c0 += BLK) {                                               \
                int64_t w = j->D - c0 < BLK ? j->D - c0 : BLK;                                         \
                if (w == BLK)                                                                          \
                    SUM_ROWS(BLK / 8, T, W, LOAD)                                                      \
                else if (w == 16) /* the bench's D are multiples of 16 */                              \
                    SUM_ROWS(2, T, W, LOAD)                                                            \
                else                                                                                   \
                    for (; c0 < j->D; c0 += 16)                                                        \
                        SUM_ROWS(2, T, W, LOAD)                                                        \
            }                                                                                          \
        return NULL;                                                                                   \
    }

GATHER_PART(gather_part, float, j->w, load8_f32)
GATHER_PART(gather_part_bf16, uint16_t, j->wb, load8_bf16)

static void *gather_thread(void *p)
{
    gather_job *j = p;
    pthread_barrier_wait(j->bar);
    j->t0 = bench_now_ms();
    j->part(j);
    j->t1 = bench_now_ms();
    return NULL;
}

/* w or wb: the table in the case's dtype. */
static double host_gather_ms(const bcase *c, const float *w, const uint16_t *wb, const int64_t *idx, float *out,
                             int threads, int reps)
{
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        pthread_t th[64];
        gather_job jobs[64];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        for (int t = 0; t < threads; t++)
            jobs[t] = (gather_job){.w = w, .wb = wb, .idx = idx, .out = out, .D = c->D, .L = c->L,
                                   .b0 = c->B * t / threads, .b1 = c->B * (t + 1) / threads, .bar = &bar,
                                   .part = wb ? gather_part_bf16 : gather_part};
        for (int t = 1; t < threads; t++)
            pthread_create(&th[t], NULL, gather_thread, &jobs[t]);
        /* This thread works too, and the try is timed from the first
         * thread's start to the last one's end, as the ceilings are
         * (bench_util.c): thread creation is no part of a gather, and at
         * D = 16 it was a fifth of the time. */
        gather_thread(&jobs[0]);
        for (int t = 1; t < threads; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&bar);
        double first = jobs[0].t0, last = jobs[0].t1;
        for (int t = 1; t < threads; t++) {
            first = fmin(first, jobs[t].t0);
            last = fmax(last, jobs[t].t1);
        }
        double ms = last - first;
        if (r > 0 && ms < best)
            best = ms;
    }
    return best;
}

typedef struct run_state {
    embcl_device_t dev;
    embcl_tensor_t w, idx, offs, out, g, grad;
    embcl_rowsparse_t sparse;
    embcl_embedding_options o;
    embcl_bags bags;
    int64_t V;
} run_state;

typedef enum { FWD, BWD_SPARSE, BWD_DENSE, BWD_DENSE_ATOMIC } op_kind;

static void run_op(run_state *s, op_kind op)
{
    embcl_embedding_options o = s->o;
    switch (op) {
    case FWD:
        bench_check(embcl_embedding_bag(s->w, &s->bags, &o, s->out, NULL), "embcl_embedding_bag");
        break;
    case BWD_SPARSE:
        o.sparse = 1;
        bench_check(embcl_embedding_bag_backward(s->g, NULL, &s->bags, NULL, s->V, &o, NULL, s->sparse, NULL),
                    "backward sparse");
        break;
    case BWD_DENSE:
    case BWD_DENSE_ATOMIC:
        o.scatter = op == BWD_DENSE ? EMBCL_SCATTER_DETERMINISTIC : EMBCL_SCATTER_ATOMIC;
        bench_check(embcl_tensor_fill(s->grad, 0.0), "zero grad");
        bench_check(embcl_embedding_bag_backward(s->g, NULL, &s->bags, NULL, s->V, &o, s->grad, NULL, NULL),
                    "backward dense");
        break;
    }
    bench_check(embcl_device_finish(s->dev), "finish");
}

static double time_op(run_state *s, op_kind op, int reps, double *cpu_ms)
{
    run_op(s, op); /* warm-up: kernel builds, pool */
    double best = 1e30;
    *cpu_ms = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now_ms(), c0 = bench_cpu_ms();
        run_op(s, op);
        double ms = bench_now_ms() - t0, cms = bench_cpu_ms() - c0;
        if (ms < best)
            best = ms;
        if (cms < *cpu_ms)
            *cpu_ms = cms;
    }
    return best;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t distinct_rows(const int64_t *idx, int64_t n)
{
    int64_t *s = malloc((size_t)n * sizeof *s), u = 0;
    memcpy(s, idx, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_i64);
    for (int64_t i = 0; i < n; i++)
        u += i == 0 || s[i] != s[i - 1];
    free(s);
    return u;
}

/* The host gather must compute what the kernel computes: a gather that skipped
 * work would be no bound. Sums differ only in rounding order. */
static void check_same(run_state *s, const float *host, int64_t n, float scale)
{
    float *dev_out = malloc((size_t)n * sizeof *dev_out);
    bench_check(embcl_tensor_download(s->out, dev_out, (size_t)n * sizeof *dev_out), "download");
    for (int64_t i = 0; i < n; i++)
        if (fabsf(dev_out[i] - scale * host[i]) > 1e-4f * (1.0f + fabsf(host[i]))) {
            fprintf(stderr, "bench_embedding: host gather and bag_fwd differ at %lld: %g vs %g\n", (long long)i,
                    scale * host[i], dev_out[i]);
            exit(1);
        }
    free(dev_out);
}

/* bag_fwd_multi: T tables looked up in one step (a recommender's sparse
 * features), each its own embcl_embedding_bag call, one finish at the end;
 * FBGEMM's TBE does all T in one operator. Table t's indices are positions
 * t*B*L on of the same draw. bound as for bag_fwd, over all T tables. */
static void bench_multi(embcl_device_t dev, const char *devname, int64_t T, const bcase *c, int reps)
{
    int64_t n = c->B * c->L, ws[2] = {c->V, c->D}, os[2] = {c->B, c->D};
    embcl_tensor_t w[16], idx[16], out[16], offs;
    embcl_bags bags[16];
    int64_t *ih = malloc((size_t)n * sizeof *ih), *oh = malloc((size_t)c->B * sizeof *oh), u = 0;
    float *wh = malloc((size_t)(c->V * c->D) * sizeof *wh);
    for (int64_t i = 0; i < c->V * c->D; i++)
        wh[i] = table_value(i);
    for (int64_t b = 0; b < c->B; b++)
        oh[b] = b * c->L;
    bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, &c->B, &offs), "offsets");
    bench_check(embcl_tensor_upload(offs, oh, (size_t)c->B * sizeof *oh), "upload");
    for (int64_t t = 0; t < T; t++) {
        draw_indices(c, ih, (uint64_t)(t * n));
        u += distinct_rows(ih, n);
        bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, ws, &w[t]), "table");
        bench_check(embcl_tensor_upload(w[t], wh, (size_t)(c->V * c->D) * sizeof *wh), "upload");
        bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &idx[t]), "indices");
        bench_check(embcl_tensor_upload(idx[t], ih, (size_t)n * sizeof *ih), "upload");
        bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, os, &out[t]), "out");
        bags[t] = (embcl_bags){idx[t], offs, NULL};
    }
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = c->mean ? EMBCL_BAG_MEAN : EMBCL_BAG_SUM;
    double bytes = ((double)u + (double)(T * c->B)) * (double)c->D * 4.0, ms = 1e30;
    bench_bound bound;
    bench_bound_init(&bound, dev, (size_t)bytes);
    int per = bench_bound_per_turn(reps);
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
        if (r >= 0 && r % per == 0) /* in turn: as many tries as repeats */
            bench_bound_try(&bound, per);
        double t0 = bench_now_ms();
        for (int64_t t = 0; t < T; t++)
            bench_check(embcl_embedding_bag(w[t], &bags[t], &o, out[t], NULL), "embcl_embedding_bag");
        bench_check(embcl_device_finish(dev), "finish");
        if (r >= 0)
            ms = fmin(ms, bench_now_ms() - t0);
    }
    char cs[160];
    snprintf(cs, sizeof cs, "T=%lld,V=%lld,D=%lld,B=%lld,L=%lld,dist=%s%s", (long long)T, (long long)c->V,
             (long long)c->D, (long long)c->B, (long long)c->L, c->zipf ? "zipf" : "uniform",
             c->mean ? ",mode=mean" : "");
    double gbps = bytes / ms / 1e6;
    printf("{\"bench\": \"bag_fwd_multi\", \"case\": \"%s\", \"device\": \"%s\", \"embcl_ms\": %.4f, "
           "\"gbps\": %.2f, \"bound_gbps\": %.2f, \"bound_impl\": \"%s\", \"bound_frac\": %.3f, "
           "\"distinct_rows\": %lld}\n",
           cs, devname, ms, gbps, bound.gbps, bound.impl, gbps / bound.gbps, (long long)u);
    fflush(stdout);
    bench_check_bound("bag_fwd_multi", cs, gbps / bound.gbps);
    for (int64_t t = 0; t < T; t++) {
        embcl_tensor_free(w[t]);
        embcl_tensor_free(idx[t]);
        embcl_tensor_free(out[t]);
    }
    embcl_tensor_free(offs);
    embcl_device_pool_trim(dev);
    free(ih);
    free(oh);
    free(wh);
}

int main(int argc, char **argv)
{
    const char *filter = NULL, *only_case = NULL;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            only_case = argv[++i];
    }
    int64_t V = quick ? 100000 : 1000000;
    int reps = quick ? 3 : 10;
    const bcase cases[] = {
        {V, 128, 4096, 20, 0, 0, 0}, {V, 128, 4096, 20, 1, 0, 0}, {V, 16, 4096, 20, 0, 0, 0},
        {V, 64, 4096, 20, 0, 0, 0},  {V, 256, 4096, 20, 0, 0, 0}, {V, 128, 4096, 20, 0, 1, 0},
        {V, 32, 4096, 20, 0, 0, 0},  {V, 128, 4096, 20, 0, 0, 1}, {V, 64, 4096, 20, 0, 0, 1},
        {V, 128, 4096, 20, 1, 0, 1}, {V, 16, 4096, 20, 0, 0, 1},  {V, 32, 4096, 20, 0, 0, 1},
    };
    static const struct {
        const char *name;
        op_kind op;
    } benches[] = {{"bag_fwd", FWD},
                   {"bag_bwd_sparse", BWD_SPARSE},
                   /* the same call (timed once: its line repeats bag_bwd_sparse's
                    * time), paired with PyTorch's backward + coalesce() */
                   {"bag_bwd_sparse_coalesced", BWD_SPARSE},
                   {"bag_bwd_dense", BWD_DENSE},
                   {"bag_bwd_dense_atomic", BWD_DENSE_ATOMIC}};
    embcl_runtime_t rt = bench_runtime();
    embcl_device_t dev;
    bench_check(embcl_runtime_device(rt, 0, &dev), "device");
    embcl_device_info info;
    embcl_device_get_info(dev, &info);
    /* the hardware's type, not device_class: the host baseline gets the
     * cores the device would have, whatever paths embcl takes on it */
    int threads = info.type == EMBCL_DEVICE_CPU && info.compute_units > 0 ? (int)info.compute_units : 1;
    if (threads > 64)
        threads = 64;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const bcase *c = &cases[ci];
        int any = 0;
        for (size_t bi = 0; bi < sizeof benches / sizeof benches[0]; bi++)
            any |= bench_selected(filter, benches[bi].name) && (!c->bf16 || benches[bi].op == FWD);
        char cs[128];
        snprintf(cs, sizeof cs, "V=%lld,D=%lld,B=%lld,L=%lld,dist=%s%s%s", (long long)c->V, (long long)c->D,
                 (long long)c->B, (long long)c->L, c->zipf ? "zipf" : "uniform", c->mean ? ",mode=mean" : "",
                 c->bf16 ? ",dtype=bf16" : "");
        if (!any || (only_case && !strstr(cs, only_case)))
            continue;
        int64_t n = c->B * c->L, nw = c->V * c->D;
        double es = c->bf16 ? 2.0 : 4.0; /* bytes a table element */
        size_t w_bytes = (size_t)nw * (size_t)es;
        /* the table as uploaded, on huge pages as the device's copy is */
        float *wh = c->bf16 ? NULL : bench_alloc_huge(w_bytes);
        uint16_t *wb = c->bf16 ? bench_alloc_huge(w_bytes) : NULL;
        int64_t *ih = malloc((size_t)n * sizeof *ih), *oh = malloc((size_t)c->B * sizeof *oh);
        float *out_h = malloc((size_t)(c->B * c->D) * sizeof *out_h);
        if (wh)
            for (int64_t i = 0; i < nw; i++)
                wh[i] = table_value(i);
        else /* the f32 cases' values rounded to nearest even, a block at a time (no f32 copy of the table) */
            for (int64_t i0 = 0; i0 < nw; i0 += 4096) {
                float blk[4096];
                int64_t m = nw - i0 < 4096 ? nw - i0 : 4096;
                for (int64_t k = 0; k < m; k++)
                    blk[k] = table_value(i0 + k);
                bench_check(embcl_bf16_from_f32(blk, wb + i0, (size_t)m), "to bf16");
            }
        draw_indices(c, ih, 0);
        for (int64_t b = 0; b < c->B; b++)
            oh[b] = b * c->L;
        double host_ms = host_gather_ms(c, wh, wb, ih, out_h, threads, reps);

        run_state s = {.dev = dev, .V = c->V};
        int64_t ws[2] = {c->V, c->D}, os[2] = {c->B, c->D};
        bench_check(embcl_tensor_create(dev, c->bf16 ? EMBCL_BF16 : EMBCL_F32, 2, ws, &s.w), "table");
        bench_check(embcl_tensor_upload(s.w, wh ? (const void *)wh : wb, w_bytes), "upload");
        bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &s.idx), "indices");
        bench_check(embcl_tensor_upload(s.idx, ih, (size_t)n * sizeof *ih), "upload");
        bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, &c->B, &s.offs), "offsets");
        bench_check(embcl_tensor_upload(s.offs, oh, (size_t)c->B * sizeof *oh), "upload");
        bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, os, &s.out), "out");
        bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, os, &s.g), "grad_out");
        bench_check(embcl_tensor_fill(s.g, 0.01), "fill");
        s.o = embcl_embedding_options_default();
        s.o.mode = c->mean ? EMBCL_BAG_MEAN : EMBCL_BAG_SUM;
        s.bags = (embcl_bags){s.idx, s.offs, NULL};
        /* Bytes a bag op must move: each distinct row read once, the bags written (f32). */
        int64_t u = distinct_rows(ih, n);
        double bytes = ((double)u * es + (double)c->B * 4.0) * (double)c->D;
        bench_bound bound; /* one footprint for all the case's ops: each one's tries count for the rest */
        bench_bound_init(&bound, dev, (size_t)bytes);
        /* bag_bwd_sparse's times, for bag_bwd_sparse_coalesced: the same
         * call, printed again for its own PyTorch pairing, not timed twice */
        double sparse_ms = -1.0, sparse_cpu_ms = -1.0;
        for (size_t bi = 0; bi < sizeof benches / sizeof benches[0]; bi++) {
            if (!bench_selected(filter, benches[bi].name))
                continue;
            op_kind op = benches[bi].op;
            if (c->bf16 && op != FWD)
                continue;
            if (op == BWD_SPARSE && !s.sparse)
                bench_check(embcl_rowsparse_create(dev, c->V, c->D, n, &s.sparse), "rowsparse");
            if ((op == BWD_DENSE || op == BWD_DENSE_ATOMIC) && !s.grad)
                bench_check(embcl_tensor_create(dev, EMBCL_F32, 2, ws, &s.grad), "grad");
            double cpu_ms = 1e30, ms = 1e30;
            int dense = op == BWD_DENSE || op == BWD_DENSE_ATOMIC; /* a [V, D] gradient a call: fewer */
            /* Each turn times `reps` calls in a row after its warm-up, as
             * bench/torch/embedding.py times PyTorch's (best of 10 in a
             * row): with 3 a turn, the first calls after a ceiling probe
             * (which evicts the rows) decided the best, and the narrow
             * cases' medians came out twice their minima. */
            int per = dense ? bench_bound_per_turn((reps + 1) / 2) : reps;
            if (op == BWD_SPARSE && sparse_ms >= 0.0) {
                ms = sparse_ms;
                cpu_ms = sparse_cpu_ms;
            } else
                for (int t = 0; t < BENCH_BOUND_TURNS; t++) { /* in turn with the ceiling: the machine's speed drifts */
                    double cms;
                    ms = fmin(ms, time_op(&s, op, per, &cms));
                    cpu_ms = fmin(cpu_ms, cms);
                    bench_bound_try(&bound, per);
                }
            if (op == BWD_SPARSE) {
                sparse_ms = ms;
                sparse_cpu_ms = cpu_ms;
            }
            if (op == FWD) {
                check_same(&s, out_h, c->B * c->D, c->mean ? 1.0f / (float)c->L : 1.0f);
                /* again right after the kernel's repeats: on a shared machine
                 * the host gather keeps its best moment, as the kernel does */
                host_ms = fmin(host_ms, host_gather_ms(c, wh, wb, ih, out_h, threads, reps));
            }
            double gbps = bytes / ms / 1e6;
            char gf[32] = "null";
            if (op == FWD)
                snprintf(gf, sizeof gf, "%.3f", host_ms / ms);
            printf("{\"bench\": \"%s\", \"case\": \"%s\", \"device\": \"%s\", \"embcl_ms\": %.4f, \"gbps\": %.2f, "
                   "\"bound_gbps\": %.2f, \"bound_impl\": \"%s\", \"bound_frac\": %.3f, \"distinct_rows\": %lld, "
                   "\"host_gather_ms\": %.4f, \"gather_frac\": %s, \"host_threads\": %d, \"cpu_ms\": %.4f}\n",
                   benches[bi].name, cs, info.name, ms, gbps, bound.gbps, bound.impl, gbps / bound.gbps, (long long)u,
                   host_ms, gf, threads, cpu_ms);
            fflush(stdout);
            bench_check_bound(benches[bi].name, cs, gbps / bound.gbps);
        }
        bench_free_huge(wh ? (void *)wh : wb, w_bytes);
        embcl_rowsparse_free(s.sparse);
        embcl_tensor_free(s.grad);
        embcl_tensor_free(s.w);
        embcl_tensor_free(s.idx);
        embcl_tensor_free(s.offs);
        embcl_tensor_free(s.out);
        embcl_tensor_free(s.g);
        embcl_device_pool_trim(dev);
        free(ih);
        free(oh);
        free(out_h);
    }
    if (bench_selected(filter, "bag_fwd_multi")) {
        const bcase mc = {quick ? 20000 : 100000, 64, 4096, 20, 0, 0, 0};
        bench_multi(dev, info.name, 8, &mc, reps);
    }
    embcl_runtime_free(rt);
    return 0;
}
