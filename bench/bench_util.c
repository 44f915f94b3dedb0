#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
