/* embcl_segments_build: sort + segment time, end to end (launches and the
 * read-back of nnz included), for the index batches embedding backward sees.
 * Usage: bench_segments [--filter NAME] [--quick]
 * One JSON line per case: embcl_ms is the median of the repeats; gbps counts
 * the least traffic any grouping needs (read the indices, write perm, uniq
 * and seg_start once); bound_frac is the time that traffic takes at the
 * machine's ceiling over that footprint (bound_gbps, bench_peak_gbps: the
 * best of several host stream loops on every core, as many tries as
 * repeats, in turn with them) over embcl_ms; host_ms is a single-threaded
 * C stable radix sort + segment pass of the same data, for scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ops/segments.h"

static uint64_t rng_state = 1234;
static double uniform01(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* Zipf(s) over V ranks by inverse CDF; rank r goes to a scattered row, as
 * hot ids are spread over a real table. s = 0 gives uniform rows. */
static void make_indices(int64_t *idx, int64_t n, int64_t V, double s)
{
    if (s == 0.0) {
        for (int64_t i = 0; i < n; i++)
            idx[i] = (int64_t)(uniform01() * (double)V);
        return;
    }
    double *cdf = malloc((size_t)V * sizeof *cdf), sum = 0;
    for (int64_t k = 0; k < V; k++)
        cdf[k] = (sum += pow((double)(k + 1), -s));
    for (int64_t i = 0; i < n; i++) {
        double u = uniform01() * sum;
        int64_t lo = 0, hi = V - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        idx[i] = (int64_t)(((uint64_t)lo * 2654435761ull) % (uint64_t)V);
    }
    free(cdf);
}

/* The host yardstick: LSD radix sort, 8 bits a pass, then segment starts. */
static double host_group(const int64_t *idx, int64_t n, int64_t V, int32_t *perm, int32_t *tmp, int32_t *starts)
{
    double t0 = bench_now_ms();
    int passes = 0;
    while (((int64_t)1 << (8 * passes)) < V)
        passes++;
    for (int64_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    int32_t *src = perm, *dst = tmp;
    for (int p = 0; p < passes; p++) {
        size_t cnt[257] = {0};
        for (int64_t i = 0; i < n; i++)
            cnt[((idx[src[i]] >> (8 * p)) & 255) + 1]++;
        for (int d = 0; d < 256; d++)
            cnt[d + 1] += cnt[d];
        for (int64_t i = 0; i < n; i++)
            dst[cnt[(idx[src[i]] >> (8 * p)) & 255]++] = src[i];
        int32_t *t = src;
        src = dst;
        dst = t;
    }
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || idx[src[i]] != idx[src[i - 1]])
            starts[nnz++] = (int32_t)i;
    return bench_now_ms() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_case {
    int64_t n, V;
    double zipf;
    const char *dist;
    int quick; /* part of --quick */
} bench_case;

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
    if (!bench_selected(filter, "segments_build"))
        return 0;
    static const bench_case cases[] = {
        {81920, 1000000, 0.0, "uniform", 1},   {81920, 1000000, 1.05, "zipf1.05", 1},
        {81920, 10000000, 0.0, "uniform", 0},  {1048576, 1000000, 1.05, "zipf1.05", 0},
        {1048576, 10000000, 0.0, "uniform", 0},
    };
    embcl_runtime_t rt = bench_runtime();
    embcl_device_t dev;
    bench_check(embcl_runtime_device(rt, 0, &dev), "device");
    embcl_device_info info;
    embcl_device_get_info(dev, &info);
    int reps = quick ? 7 : 25;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bench_case *bc = &cases[c];
        if (quick && !bc->quick)
            continue;
        int64_t n = bc->n;
        int64_t *idx = malloc((size_t)n * sizeof *idx);
        make_indices(idx, n, bc->V, bc->zipf);
        embcl_tensor_t t;
        bench_check(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &t), "indices");
        bench_check(embcl_tensor_upload(t, idx, (size_t)n * 8), "upload");
        embcl_segments s;
        int64_t nnz = 0;
        for (int w = 0; w < 3; w++) { /* warm-up: kernel builds, pool */
            bench_check(embcl_segments_build(t, bc->V, -1, "bench", "indices", &s), "segments");
            nnz = s.nnz;
            embcl_segments_free(&s);
        }
        double bytes = (double)n * (8 + 4 + 4) + (double)nnz * 8;
        bench_bound bw;
        bench_bound_init(&bw, dev, (size_t)bytes);
        double *ms = malloc((size_t)reps * sizeof *ms);
        int per = bench_bound_per_turn(reps);
        for (int r = 0; r < reps; r++) {
            if (r % per == 0) /* in turn: as many tries as repeats */
                bench_bound_try(&bw, per);
            double t0 = bench_now_ms();
            bench_check(embcl_segments_build(t, bc->V, -1, "bench", "indices", &s), "segments");
            /* Uploaded indices need no read-back any more: wait for the work itself. */
            bench_check(embcl_device_finish(dev), "finish");
            ms[r] = bench_now_ms() - t0;
            embcl_segments_free(&s);
        }
        qsort(ms, (size_t)reps, sizeof *ms, cmp_double);
        double med = ms[reps / 2];
        int32_t *perm = malloc((size_t)n * 4), *tmp = malloc((size_t)n * 4), *starts = malloc((size_t)n * 4);
        double host = 1e30;
        for (int r = 0; r < 3; r++) {
            double h = host_group(idx, n, bc->V, perm, tmp, starts);
            host = h < host ? h : host;
        }
        char cs[96];
        snprintf(cs, sizeof cs, "n=%lld,V=%lld,dist=%s", (long long)n, (long long)bc->V, bc->dist);
        double frac = bytes / (bw.gbps * 1e6) / med;
        printf("{\"bench\": \"segments_build\", \"case\": \"%s\", \"device\": \"%s\", "
               "\"embcl_ms\": %.4f, \"best_ms\": %.4f, \"gbps\": %.3f, \"bound_gbps\": %.2f, \"bound_impl\": \"%s\", "
               "\"bound_frac\": %.4f, \"nnz\": %lld, \"host_ms\": %.4f}\n",
               cs, info.name, med, ms[0], bytes / med / 1e6, bw.gbps, bw.impl, frac, (long long)nnz, host);
        fflush(stdout);
        bench_check_bound("segments_build", cs, frac);
        free(perm);
        free(tmp);
        free(starts);
        free(ms);
        free(idx);
        embcl_tensor_free(t);
    }
    embcl_runtime_free(rt);
    return 0;
}
