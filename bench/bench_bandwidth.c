/* Memory bandwidth of the device (copy and triad kernels) against the
 * machine's ceiling over the same footprint (bench_peak_gbps: the best of
 * several host stream loops on every core, plain and non-temporal stores;
 * for a non-CPU device its own kernels), measured in turn with the kernel so
 * both see the same machine. Bytes are counted the same way on both sides:
 * the reads and writes of the source (copy 8, triad 12 bytes an element).
 * host_gbps is the best host loop of the same operation (plain or
 * non-temporal stores).
 * Usage: bench_bandwidth [--filter NAME] [--mib N] [--quick]
 * One JSON line per case. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "device/program.h"
#include "device/tuning.h"
#include "tensor/tensor_impl.h"

static double best_of(int reps, double (*fn)(void *), void *arg)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = fn(arg);
        if (t < best)
            best = t;
    }
    return best;
}

typedef struct dev_case {
    struct embcl_device *dev;
    cl_kernel k;
    size_t gws, lws;
} dev_case;

static double run_dev(void *p)
{
    dev_case *c = p;
    cl_event ev;
    bench_check(embcl_kernel_launch(c->dev, c->k, "bandwidth", 1, &c->gws, &c->lws, &ev), "launch");
    clWaitForEvents(1, &ev);
    cl_ulong t0, t1;
    clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    clReleaseEvent(ev);
    return (double)(t1 - t0) / 1e6;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    size_t mib = 128;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc)
            mib = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
    }
    embcl_runtime_t rt = bench_runtime();
    embcl_device_t dev;
    bench_check(embcl_runtime_device(rt, 0, &dev), "device");
    embcl_device_info info;
    embcl_device_get_info(dev, &info);
    size_t n = mib * 1024 * 1024 / sizeof(float);
    long long vw = embcl_tune_get(dev, "bandwidth.VW", 4), wgs = embcl_tune_get(dev, "bandwidth.WGS", 128);
    n = n / (size_t)vw * (size_t)vw;
    int64_t shape[1] = {(int64_t)n};
    embcl_tensor_t a, b, c;
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &a), "alloc");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &b), "alloc");
    bench_check(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &c), "alloc");
    bench_check(embcl_tensor_fill(b, 1.0), "fill");
    bench_check(embcl_tensor_fill(c, 2.0), "fill");
    char defs[64];
    snprintf(defs, sizeof defs, "-DVW=%lld", vw);
    cl_ulong nv = n / (size_t)vw;
    size_t gws = embcl_round_up(nv, (size_t)wgs);

    int threads = bench_host_threads(), rounds = quick ? 2 : BENCH_BOUND_TURNS;
    const char *names[2] = {"copy", "triad"};
    for (int triad = 0; triad < 2; triad++) {
        char bench[64];
        snprintf(bench, sizeof bench, "bandwidth_%s", names[triad]);
        if (!bench_selected(filter, bench))
            continue;
        dev_case dc = {dev, NULL, gws, (size_t)wgs};
        bench_check(embcl_kernel_get(dev, "bandwidth", defs, names[triad], &dc.k), "kernel");
        float s = 1.5f;
        if (triad) {
            embcl_karg args[] = {EMBCL_KARG(a->buf->mem), EMBCL_KARG(b->buf->mem), EMBCL_KARG(c->buf->mem),
                                 EMBCL_KARG(s), EMBCL_KARG(nv)};
            bench_check(embcl_kernel_set_args(dc.k, "triad", 5, args), "args");
        } else {
            embcl_karg args[] = {EMBCL_KARG(a->buf->mem), EMBCL_KARG(b->buf->mem), EMBCL_KARG(nv)};
            bench_check(embcl_kernel_set_args(dc.k, "copy", 3, args), "args");
        }
        run_dev(&dc); /* warm-up */
        size_t footprint = n * 4 * (size_t)(triad ? 3 : 2);
        double dms = 1e30, host = 0;
        bench_bound bound;
        bench_bound_init(&bound, dev, footprint);
        for (int r = 0; r < rounds; r++) { /* in turn: the machine's speed drifts */
            dms = fmin(dms, best_of(quick ? 4 : 8, run_dev, &dc));
            bench_bound_try(&bound, quick ? 4 : 8); /* as many tries as the kernel */
            host = fmax(host, fmax(bench_host_stream_gbps(names[triad], footprint, threads, 2),
                                   bench_host_stream_gbps(triad ? "triad_nt" : "copy_nt", footprint, threads, 2)));
        }
        double bytes = (double)n * 4.0 * (triad ? 3 : 2), gbps = bytes / dms / 1e6;
        char cs[32];
        snprintf(cs, sizeof cs, "n=%zu", n);
        printf("{\"bench\": \"%s\", \"case\": \"%s\", \"device\": \"%s\", \"embcl_ms\": %.4f, \"gbps\": %.2f, "
               "\"host_gbps\": %.2f, \"bound_gbps\": %.2f, \"bound_impl\": \"%s\", \"bound_frac\": %.3f, "
               "\"host_threads\": %d, \"vw\": %lld, \"wgs\": %lld}\n",
               bench, cs, info.name, dms, gbps, host, bound.gbps, bound.impl, gbps / bound.gbps, threads, vw, wgs);
        fflush(stdout);
        bench_check_bound(bench, cs, gbps / bound.gbps);
    }
    embcl_tensor_free(a);
    embcl_tensor_free(b);
    embcl_tensor_free(c);
    embcl_runtime_free(rt);
    return 0;
}
