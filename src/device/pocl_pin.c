/* embcl_pocl_pin_threads (include/embcl/device.h says when and why). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#endif

#include "core/error.h"
#include "embcl/device.h"

/* 1 if this process may run on CPUs 0 .. online - 1, all of them: then
 * PoCL's "worker i on CPU i" stays inside what the process is allowed. */
static int may_use_every_cpu(void)
{
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 2 || online > CPU_SETSIZE || sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    for (long c = 0; c < online; c++)
        if (!CPU_ISSET((int)c, &set))
            return 0;
    return 1;
#else
    return 0;
#endif
}

embcl_status embcl_pocl_pin_threads(int *applied)
{
    static const char *fn = "embcl_pocl_pin_threads";
    if (applied)
        *applied = 0;
    const char *v = getenv("POCL_AFFINITY");
    if ((v && *v) || !may_use_every_cpu())
        return EMBCL_OK;
    if (setenv("POCL_AFFINITY", "1", 0) != 0)
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, fn, "setenv(\"POCL_AFFINITY\", \"1\") failed: %s",
                           strerror(errno));
    if (applied)
        *applied = 1;
    return EMBCL_OK;
}
