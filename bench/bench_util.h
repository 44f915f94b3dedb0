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

#endif
