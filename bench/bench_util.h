/* Shared by the bench programs: timing, JSON lines, a runtime. */
#ifndef EMBCL_BENCH_UTIL_H
#define EMBCL_BENCH_UTIL_H

#include <embcl.h>
#include <stdio.h>

double bench_now_ms(void);
/* CPU time of the whole process (all PoCL threads): on a shared machine it
 * moves less than wall time, which also waits for other people's work. */
double bench_cpu_ms(void);
/* Fails loudly: benches have no one to return an error to. */
void bench_check(embcl_status s, const char *what);
embcl_runtime_t bench_runtime(void);
/* Whether --filter (if given) lets this bench run. */
int bench_selected(const char *filter, const char *bench);
/* Host memory backed by huge pages where the OS allows (Linux madvise), as
 * embcl's big buffers on CPU devices are: host-side bounds then read the
 * same rows at the same TLB cost. Free with bench_free_huge. */
void *bench_alloc_huge(size_t bytes);
void bench_free_huge(void *p, size_t bytes);

/* The memory ceiling the benches' bound_frac divides by: the best GB/s of
 * several stream loops over `footprint` bytes (shared among the arrays each
 * loop uses), bytes counted as the source reads and writes them (a store is
 * counted once, whether or not the cache reads its line first).
 *   host: read (a sum), copy (plain stores), copy_nt (non-temporal
 *     stores), triad a = b + s*c (plain and non-temporal), update
 *     a = s*a + b and update3 a, b, c = s*a + d, s*b + d, s*c + d (in
 *     place), each on every core (pthreads), run `passes` times between two
 *     barriers so thread start-up stays out, the arrays a page and a line
 *     apart; a footprint in the caches in fixed slices (each core's own),
 *     one from memory in chunks the threads claim as they go (as a device
 *     hands out work-groups); the best of `reps` + 1 tries (the first
 *     warms the caches).
 *   device (dev non-NULL and not a CPU: its memory is not the host's): the
 *     copy and triad kernels of kernels/bandwidth.cl over the same footprint.
 * A footprint that fits in the caches measures the caches, as the bench's
 * own repeats then run from them. `impl` (cap bytes, may be NULL) gets the
 * winner's name. */
double bench_peak_gbps(embcl_device_t dev, size_t footprint, int reps, char *impl, size_t cap);
/* A case's memory ceiling, kept at its best over tries made in turn with
 * the case's own repeats: the machine's memory speed drifts over minutes
 * and neighbours take cores for a while, so a ceiling measured once can be a
 * bad moment, and the op's best repeat, from a good one, then beats it. A
 * bench tries the ceiling as often as it times the op: its repeats in
 * BENCH_BOUND_TURNS turns of bench_bound_per_turn, each turn followed by as
 * many tries (in blocks, so the op's repeats still find their data in the
 * caches), and it divides by `gbps`, the best. */
typedef struct bench_bound {
    embcl_device_t dev;
    size_t footprint;
    double gbps; /* best so far; 0 before the first try */
    char impl[32];
} bench_bound;
enum { BENCH_BOUND_TURNS = 4 };
void bench_bound_init(bench_bound *b, embcl_device_t dev, size_t footprint);
/* `tries` more tries of every probe (bench_peak_gbps); the best so far. */
double bench_bound_try(bench_bound *b, int tries);
/* Repeats per turn when a bench times `total` in BENCH_BOUND_TURNS turns. */
int bench_bound_per_turn(int total);
/* Threads the host probes use: the online CPUs, at most 64. */
int bench_host_threads(void);
/* One host probe alone (names as above), for bench_bandwidth's lines. */
double bench_host_stream_gbps(const char *name, size_t footprint, int threads, int reps);
/* Prints a warning to stderr when a bench beats its own ceiling: the bound's
 * definition (or its measurement) is wrong, and the line says so. */
void bench_check_bound(const char *bench, const char *cs, double bound_frac);

#endif
