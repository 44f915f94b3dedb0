#define _DEFAULT_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "bench_util.h"
#include "device/program.h"
#include "device/tuning.h"
#include "tensor/tensor_impl.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double bench_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void bench_check(embcl_status s, const char *what)
{
    if (s == EMBCL_OK)
        return;
    fprintf(stderr, "bench: %s failed: %s: %s\n", what, embcl_status_str(s), embcl_last_error());
    exit(1);
}

embcl_runtime_t bench_runtime(void)
{
    /* as the embcl tool runs (src/cli/main.c): PoCL's workers pinned */
    bench_check(embcl_pocl_pin_threads(NULL), "embcl_pocl_pin_threads");
    embcl_runtime_options o = embcl_runtime_options_default();
    o.profiling = 1;
    embcl_runtime_t rt;
    bench_check(embcl_runtime_create(&o, &rt), "embcl_runtime_create");
    return rt;
}

int bench_selected(const char *filter, const char *bench)
{
    return !filter || strstr(bench, filter) != NULL;
}

void *bench_alloc_huge(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "bench: mmap of %zu bytes failed\n", bytes);
        exit(1);
    }
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
#else
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "bench: malloc of %zu bytes failed\n", bytes);
        exit(1);
    }
    return p;
#endif
}

void bench_free_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    munmap(p, bytes);
#else
    (void)bytes;
    free(p);
#endif
}

/* ---- memory ceilings ---------------------------------------------------- */

/* update3 (a, b, c = s*a + d, s*b + d, s*c + d) is Adam's mix, four reads
 * and three stores to lines just read: more of the bytes are writes than in
 * update, and none needs a read of its own. With the six others alone
 * dense_adam came out 6-20% above the ceiling in every run, ten tries in
 * turn with its ten steps; update3 is the best of the seven from memory
 * here, and at most moments at or above the Adam step. */
typedef enum { P_READ, P_COPY, P_COPY_NT, P_TRIAD, P_TRIAD_NT, P_UPDATE, P_UPDATE3, P_COUNT } probe_kind;
static const char *const probe_names[P_COUNT] = {"read", "copy", "copy_nt", "triad", "triad_nt", "update", "update3"};
static const int probe_arrays[P_COUNT] = {1, 2, 2, 3, 3, 2, 4};
/* source-level bytes per element index: reads + writes */
static const double probe_bytes[P_COUNT] = {4, 8, 8, 12, 12, 12, 28};

/* Floats of each array a thread claims at a time when the footprint
 * streams from memory: 256 KB, a few microseconds. */
#define PROBE_CHUNK ((size_t)1 << 16)

typedef struct probe_job {
    float *a, *b, *c, *d;
    size_t lo, hi; /* multiples of 16 floats: 64-byte aligned slices */
    probe_kind kind;
    int passes;
    pthread_barrier_t *bar;
    atomic_size_t *next; /* NULL: the slice [lo, hi); else chunks of [0, hi) claimed from it */
    float sink;
    double t0, t1; /* this thread's start and end of its passes */
} probe_job;

static void probe_range(probe_job *j, size_t lo, size_t hi)
{
    float *restrict a = j->a, *restrict b = j->b, *restrict c = j->c, *restrict d = j->d;
    const float s = 1.0001f;
    switch (j->kind) {
    case P_READ: {
        float acc[16] = {0};
        for (size_t i = lo; i < hi; i += 16)
            for (int k = 0; k < 16; k++)
                acc[k] += a[i + (size_t)k];
        float t = 0;
        for (int k = 0; k < 16; k++)
            t += acc[k];
        j->sink += t;
        break;
    }
    case P_COPY:
        memcpy(b + lo, a + lo, (hi - lo) * sizeof(float));
        break;
    case P_TRIAD:
        for (size_t i = lo; i < hi; i++)
            a[i] = b[i] + s * c[i];
        break;
    case P_UPDATE:
        for (size_t i = lo; i < hi; i++)
            a[i] = s * a[i] + b[i];
        break;
    case P_UPDATE3:
        for (size_t i = lo; i < hi; i++) {
            float x = d[i];
            a[i] = s * a[i] + x;
            b[i] = s * b[i] + x;
            c[i] = s * c[i] + x;
        }
        break;
    case P_COPY_NT:
    case P_TRIAD_NT:
#if defined(__AVX__)
        for (size_t i = lo; i < hi; i += 8) {
            __m256 v = j->kind == P_COPY_NT ? _mm256_load_ps(a + i)
                                            : _mm256_add_ps(_mm256_load_ps(b + i),
                                                            _mm256_mul_ps(_mm256_set1_ps(s), _mm256_load_ps(c + i)));
            _mm256_stream_ps(j->kind == P_COPY_NT ? b + i : a + i, v);
        }
        _mm_sfence();
#elif defined(__SSE2__)
        for (size_t i = lo; i < hi; i += 4) {
            __m128 v = j->kind == P_COPY_NT
                           ? _mm_load_ps(a + i)
                           : _mm_add_ps(_mm_load_ps(b + i), _mm_mul_ps(_mm_set1_ps(s), _mm_load_ps(c + i)));
            _mm_stream_ps(j->kind == P_COPY_NT ? b + i : a + i, v);
        }
        _mm_sfence();
#else /* no streaming stores here: the plain loops stand in */
        if (j->kind == P_COPY_NT)
            memcpy(b + lo, a + lo, (hi - lo) * sizeof(float));
        else
            for (size_t i = lo; i < hi; i++)
                a[i] = b[i] + s * c[i];
#endif
        break;
    default:
        break;
    }
}

/* One pass. From memory the threads claim chunks as they go, as a device
 * hands out work-groups: with fixed slices a thread that lost its core for a
 * while (a loaded machine) held the whole try back, which a kernel's
 * work-groups do not (on the loaded 2-core VM, claimed chunks won 24 of 30
 * alternated tries, 5% faster on average). From the caches each thread
 * keeps its slice, which its own caches then hold from pass to pass. */
static void probe_pass(probe_job *j)
{
    if (!j->next) {
        probe_range(j, j->lo, j->hi);
        return;
    }
    for (;;) {
        size_t lo = atomic_fetch_add(j->next, PROBE_CHUNK);
        if (lo >= j->hi)
            break;
        probe_range(j, lo, lo + PROBE_CHUNK < j->hi ? lo + PROBE_CHUNK : j->hi);
    }
}

static void *probe_thread(void *p)
{
    probe_job *j = p;
    pthread_barrier_wait(j->bar);
    j->t0 = bench_now_ms();
    for (int r = 0; r < j->passes; r++)
        probe_pass(j);
    j->t1 = bench_now_ms();
    pthread_barrier_wait(j->bar);
    return NULL;
}

/* One buffer for every probe, grown as needed (huge pages, touched once). */
static float *probe_buf;
static size_t probe_cap;

static float *probe_buffer(size_t bytes)
{
    if (bytes > probe_cap) {
        if (probe_buf)
            bench_free_huge(probe_buf, probe_cap);
        probe_buf = bench_alloc_huge(bytes);
        probe_cap = bytes;
        for (size_t i = 0; i < bytes / sizeof(float); i++)
            probe_buf[i] = 1.0f + (float)(i & 7);
    }
    return probe_buf;
}

int bench_host_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static double host_probe(probe_kind kind, size_t footprint, int threads, int reps)
{
    size_t q = 16 * (size_t)threads;
    size_t n = footprint / sizeof(float) / (size_t)probe_arrays[kind] / q * q;
    if (n < q)
        n = q;
    /* The arrays a page and a line apart beyond their length: at a
     * power-of-two distance (a 2 GB footprint) the same elements of every
     * array fall in the same cache sets and DRAM banks, and four such
     * streams ran at half the speed of the same loop with the gap. */
    size_t gap = 1040, arrays = (size_t)probe_arrays[kind];
    /* every kind asks as much for one footprint, so the buffer grows once */
    size_t want = (n + gap) * arrays * sizeof(float), same = footprint + 4 * gap * sizeof(float);
    float *buf = probe_buffer(want > same ? want : same);
    float *x[4] = {NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < arrays; i++)
        x[i] = buf + i * (n + gap);
    float *a = x[0], *b = x[1], *c = x[2], *d = x[3];
    /* passes moving ~64 MB a try: ~1 ms even from the caches, so the
     * barriers' cost stays small */
    double pass_bytes = (double)n * probe_bytes[kind];
    int passes = pass_bytes >= 64e6 ? 1 : (int)(64e6 / pass_bytes) + 1;
    if (passes > 256)
        passes = 256;
    double best = 0;
    /* The first try warms the caches; it counts too: from memory there is
     * nothing to warm (the buffer's pages were touched when it grew), so it
     * is one more look at the moment, and from the caches a cold try can
     * only be slower. */
    for (int r = 0; r < reps + 1; r++) {
        pthread_t th[64];
        probe_job jobs[64];
        pthread_barrier_t bar;
        /* this thread works too (slice 0, or chunks): a timer thread of its
         * own would wait for a core while the others ran, on a machine with
         * no spare one */
        atomic_size_t next;
        atomic_init(&next, 0);
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        for (int t = 0; t < threads; t++)
            jobs[t] = passes == 1 ? (probe_job){a, b, c, d, 0, n, kind, passes, &bar, &next, 0, 0, 0}
                                  : (probe_job){a, b, c, d, n / q * (size_t)t * 16, n / q * (size_t)(t + 1) * 16,
                                                kind, passes, &bar, NULL, 0, 0, 0};
        for (int t = 1; t < threads; t++)
            pthread_create(&th[t], NULL, probe_thread, &jobs[t]);
        /* Timed from the first thread's start to the last one's end: a
         * thread that lost its core right after the barrier (with claimed
         * chunks, the others then did all the work) must not time the try,
         * which read 0.002 ms, 30,000 GB/s, for 42 MB. */
        probe_thread(&jobs[0]);
        for (int t = 1; t < threads; t++)
            pthread_join(th[t], NULL);
        double first = jobs[0].t0, last = jobs[0].t1;
        for (int t = 1; t < threads; t++) {
            first = fmin(first, jobs[t].t0);
            last = fmax(last, jobs[t].t1);
        }
        double ms = (last - first) / passes;
        pthread_barrier_destroy(&bar);
        double gbps = (double)n * probe_bytes[kind] / ms / 1e6;
        if (gbps > best)
            best = gbps;
    }
    return best;
}

double bench_host_stream_gbps(const char *name, size_t footprint, int threads, int reps)
{
    for (int k = 0; k < P_COUNT; k++)
        if (strcmp(name, probe_names[k]) == 0)
            return host_probe((probe_kind)k, footprint, threads, reps);
    fprintf(stderr, "bench: no host probe '%s'\n", name);
    exit(1);
}

/* The device's copy and triad kernels over `footprint` bytes: profiled
 * kernel time, the tuning table's VW and WGS, best of reps. */
static double dev_probe(embcl_device_t dev, size_t footprint, int reps, int *which)
{
    long long vw = embcl_tune_get(dev, "bandwidth.VW", 4), wgs = embcl_tune_get(dev, "bandwidth.WGS", 128);
    double best = 0;
    for (int triad = 0; triad < 2; triad++) {
        size_t n = footprint / sizeof(float) / (size_t)(triad ? 3 : 2) / (size_t)vw * (size_t)vw;
        if (n < (size_t)vw)
            n = (size_t)vw;
        int64_t shape[1] = {(int64_t)n};
        embcl_tensor_t t[3];
        for (int i = 0; i < 3; i++) {
            bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &t[i]), "probe alloc");
            bench_check(embcl_tensor_fill(t[i], 1.0 + i), "probe fill");
        }
        char defs[32];
        snprintf(defs, sizeof defs, "-DVW=%lld", vw);
        cl_kernel k;
        const char *name = triad ? "triad" : "copy";
        bench_check(embcl_kernel_get(dev, "bandwidth", defs, name, &k), "probe kernel");
        cl_ulong nv = n / (size_t)vw;
        float s = 1.5f;
        if (triad) {
            embcl_karg args[] = {EMBCL_KARG(t[0]->buf->mem), EMBCL_KARG(t[1]->buf->mem), EMBCL_KARG(t[2]->buf->mem),
                                 EMBCL_KARG(s), EMBCL_KARG(nv)};
            bench_check(embcl_kernel_set_args(k, name, 5, args), "probe args");
        } else {
            embcl_karg args[] = {EMBCL_KARG(t[0]->buf->mem), EMBCL_KARG(t[1]->buf->mem), EMBCL_KARG(nv)};
            bench_check(embcl_kernel_set_args(k, name, 3, args), "probe args");
        }
        size_t lws = (size_t)wgs, gws = embcl_round_up(nv, lws);
        for (int r = 0; r < reps + 1; r++) {
            cl_event ev;
            bench_check(embcl_kernel_launch(dev, k, name, 1, &gws, &lws, &ev), "probe launch");
            clWaitForEvents(1, &ev);
            cl_ulong t0 = 0, t1 = 0;
            clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
            clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
            clReleaseEvent(ev);
            double gbps = t1 > t0 ? (double)n * (triad ? 12.0 : 8.0) / (double)(t1 - t0) : 0.0;
            if (r > 0 && gbps > best) {
                best = gbps;
                *which = triad;
            }
        }
        for (int i = 0; i < 3; i++)
            embcl_tensor_free(t[i]);
    }
    return best;
}

double bench_peak_gbps(embcl_device_t dev, size_t footprint, int reps, char *impl, size_t cap)
{
    if (footprint < 64 * 1024)
        footprint = 64 * 1024;
    double best = 0;
    const char *name = "none";
    embcl_device_info info;
    int on_host = 1;
    if (dev) {
        embcl_device_get_info(dev, &info);
        on_host = info.type == EMBCL_DEVICE_CPU;
    }
    if (on_host) {
        int threads = bench_host_threads();
        for (int k = 0; k < P_COUNT; k++) {
            double g = host_probe((probe_kind)k, footprint, threads, reps);
            if (g > best) {
                best = g;
                name = probe_names[k];
            }
        }
    } else {
        int which = 0;
        best = dev_probe(dev, footprint, reps, &which);
        name = which ? "device_triad" : "device_copy";
    }
    if (impl && cap)
        snprintf(impl, cap, "%s", name);
    return best;
}

void bench_bound_init(bench_bound *b, embcl_device_t dev, size_t footprint)
{
    *b = (bench_bound){.dev = dev, .footprint = footprint};
    snprintf(b->impl, sizeof b->impl, "none");
}

double bench_bound_try(bench_bound *b, int tries)
{
    char impl[32];
    double g = bench_peak_gbps(b->dev, b->footprint, tries < 1 ? 1 : tries, impl, sizeof impl);
    if (g > b->gbps) {
        b->gbps = g;
        snprintf(b->impl, sizeof b->impl, "%s", impl);
    }
    return b->gbps;
}

int bench_bound_per_turn(int total)
{
    int per = (total + BENCH_BOUND_TURNS - 1) / BENCH_BOUND_TURNS;
    return per < 1 ? 1 : per;
}

void bench_check_bound(const char *bench, const char *cs, double bound_frac)
{
    if (bound_frac > 1.0)
        fprintf(stderr,
                "bench: WARNING: %s [%s] bound_frac %.3f > 1: it beat its own ceiling, so the bound is not one "
                "(or the machine changed speed between them)\n",
                bench, cs, bound_frac);
}
