#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

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
