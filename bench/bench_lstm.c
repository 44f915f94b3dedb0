/* Dense ops: GEMM (own kernel and CLBlast), Linear and LSTM forward+backward.
 * Usage: bench_lstm [--filter NAME] [--quick]
 * One JSON line per case. "bound_frac" compares GFLOP/s with the FMA peak of
 * the host's cores, measured here by a register-only FMA loop on every core
 * (what a CPU device could reach at best). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "blas/gemm.h"
#include "tensor/tensor_impl.h"

typedef float v8f __attribute__((vector_size(32)));

static void *fma_loop(void *arg)
{
    long iters = *(long *)arg;
    v8f acc[10], x = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}, y = x * 0.999999f;
    for (int i = 0; i < 10; i++)
        acc[i] = x * (float)i;
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 10; i++) {
            acc[i] = acc[i] * y + x;
            __asm__ volatile("" : "+x"(acc[i]));
        }
    float s = 0;
    for (int i = 0; i < 10; i++)
        s += acc[i][0];
    *(long *)arg = (long)s;
    return NULL;
}

/* GFLOP/s of all cores running independent FMA chains. */
static double host_peak_gflops(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    pthread_t th[64];
    long arg[64];
    long iters = 20000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = bench_now_ms();
        for (long i = 0; i < n && i < 64; i++) {
            arg[i] = iters;
            pthread_create(&th[i], NULL, fma_loop, &arg[i]);
        }
        for (long i = 0; i < n && i < 64; i++)
            pthread_join(th[i], NULL);
        double ms = bench_now_ms() - t0;
        double g = (double)n * (double)iters * 10 * 8 * 2 / ms / 1e6;
        if (g > best)
            best = g;
    }
    return best;
}

static embcl_device_t g_dev;
static double g_peak;
static int g_quick;

static embcl_tensor_t randt(int64_t r, int64_t c, unsigned seed)
{
    float *h = malloc((size_t)(r * c) * sizeof *h);
    srand(seed);
    for (int64_t i = 0; i < r * c; i++)
        h[i] = (float)rand() / RAND_MAX - 0.5f;
    int64_t shape[2] = {r, c};
    embcl_tensor_t t;
    bench_check(embcl_tensor_create(g_dev, EMBCL_F32, 2, shape, &t), "alloc");
    bench_check(embcl_tensor_upload(t, h, (size_t)(r * c) * sizeof *h), "upload");
    free(h);
    return t;
}

typedef embcl_status (*step_fn)(void *);

/* Median of `reps` timed runs after `warm` untimed ones, in ms. */
static double time_ms(step_fn fn, void *arg, int warm, int reps)
{
    double t[64];
    for (int i = 0; i < warm; i++)
        bench_check(fn(arg), "warm-up");
    bench_check(embcl_device_finish(g_dev), "finish");
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        bench_check(fn(arg), "run");
        bench_check(embcl_device_finish(g_dev), "finish");
        t[i] = bench_now_ms() - t0;
    }
    for (int i = 1; i < reps; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[reps / 2];
}

typedef struct gemm_case {
    embcl_gemm_backend backend;
    int ta, tb;
    embcl_tensor_t a, b, c;
} gemm_case;

static embcl_status gemm_step(void *p)
{
    gemm_case *g = p;
    return embcl_sgemm_batched(g->backend, g->ta, g->tb, 1.0f, g->a, g->b, 0.0f, g->c, 1, 0, 0, 0, "bench");
}

static void bench_gemm(const char *filter)
{
    if (!bench_selected(filter, "gemm"))
        return;
    /* square-ish, and the LSTM's (B=64, T=35, I=128, H=256) and a vocabulary projection */
    static const struct { int m, n, k, ta, tb; const char *what; } cases[] = {
        {512, 512, 512, 0, 0, "square"},
        {1024, 1024, 512, 0, 0, "square"},
        {2240, 1024, 128, 0, 1, "lstm_input_proj"},
        {64, 1024, 256, 0, 1, "lstm_recurrent"},
        {1024, 256, 2240, 1, 0, "lstm_weight_grad"},
        {2240, 256, 1024, 0, 0, "lstm_input_grad"},
        {2240, 10000, 256, 0, 1, "vocab_proj"},
    };
    size_t n_cases = sizeof cases / sizeof cases[0];
    for (int be = 0; be < 2; be++) {
        embcl_gemm_backend backend = be == 0 ? EMBCL_GEMM_OWN : EMBCL_GEMM_CLBLAST;
        const char *bname = be == 0 ? "own" : "clblast";
        for (size_t i = 0; i < n_cases; i++) {
            int m = cases[i].m, n = cases[i].n, k = cases[i].k;
            if (g_quick && (size_t)m * n * k > (size_t)600 * 1024 * 1024)
                continue;
            gemm_case g = {backend, cases[i].ta, cases[i].tb, NULL, NULL, NULL};
            g.a = g.ta ? randt(k, m, 1) : randt(m, k, 1);
            g.b = g.tb ? randt(n, k, 2) : randt(k, n, 2);
            g.c = randt(m, n, 3);
            double t0 = bench_now_ms();
            bench_check(gemm_step(&g), "first gemm");
            bench_check(embcl_device_finish(g_dev), "finish");
            double cold = bench_now_ms() - t0;
            double ms = time_ms(gemm_step, &g, 1, g_quick ? 3 : 7);
            double gf = 2.0 * m * n * k / ms / 1e6;
            printf("{\"bench\": \"gemm\", \"case\": \"M=%d,N=%d,K=%d,op=%s%s,%s,backend=%s\", \"embcl_ms\": %.4f, "
                   "\"gflops\": %.2f, \"bound_frac\": %.3f, \"first_call_ms\": %.1f, \"peak_gflops\": %.1f}\n",
                   m, n, k, g.ta ? "T" : "N", g.tb ? "T" : "N", cases[i].what, bname, ms, gf, gf / g_peak, cold,
                   g_peak);
            fflush(stdout);
            embcl_tensor_free(g.a);
            embcl_tensor_free(g.b);
            embcl_tensor_free(g.c);
        }
    }
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            g_quick = 1;
    }
    embcl_runtime_t rt = bench_runtime();
    bench_check(embcl_runtime_device(rt, 0, &g_dev), "device");
    g_peak = host_peak_gflops();
    bench_gemm(filter);
    embcl_runtime_free(rt);
    return 0;
}
