/* embcl_pocl_pin_threads: when it sets POCL_AFFINITY, when it leaves it
 * alone, and that PoCL then pins its workers. Each Criterion test runs in a
 * process of its own, so the environment and the affinity each one sets
 * reach no other, and no OpenCL call has been made before it starts. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

/* What the function should find: may this process run on CPUs 0 .. n-1? */
static int every_cpu_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 2 || sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    for (long c = 0; c < online; c++)
        if (!CPU_ISSET((int)c, &set))
            return 0;
    return 1;
}

Test(pocl_pin, a_value_the_user_set_is_kept)
{
    setenv("POCL_AFFINITY", "0", 1);
    int applied = -1;
    TEST_OK(embcl_pocl_pin_threads(&applied));
    cr_expect_eq(applied, 0);
    cr_expect_str_eq(getenv("POCL_AFFINITY"), "0");
}

Test(pocl_pin, unset_it_is_set_where_every_cpu_may_be_used)
{
    unsetenv("POCL_AFFINITY");
    int applied = -1, want = every_cpu_allowed();
    TEST_OK(embcl_pocl_pin_threads(&applied));
    cr_expect_eq(applied, want);
    const char *v = getenv("POCL_AFFINITY");
    if (want)
        cr_expect(v && strcmp(v, "1") == 0, "POCL_AFFINITY is '%s', expected '1'", v ? v : "(unset)");
    else
        cr_expect_null(v, "POCL_AFFINITY set to '%s' where the process may not use every CPU", v);
    TEST_OK(embcl_pocl_pin_threads(NULL)); /* again, and without a place for the answer */
}

/* Under taskset: PoCL would pin worker i to CPU i whatever the process may
 * use, so nothing is set. */
Test(pocl_pin, nothing_is_set_when_the_process_is_confined)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        cr_skip_test("one CPU: no narrower set to confine the process to");
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    unsetenv("POCL_AFFINITY");
    int applied = -1;
    TEST_OK(embcl_pocl_pin_threads(&applied));
    cr_expect_eq(applied, 0);
    cr_expect_null(getenv("POCL_AFFINITY"));
}

/* Threads of this process allowed on exactly one CPU. */
static int pinned_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
                const char *p = line + 18;
                while (*p == ' ' || *p == '\t')
                    p++;
                n += strpbrk(p, ",-") == NULL;
            }
        fclose(f);
    }
    closedir(d);
    return n;
}

Test(pocl_pin, pocl_pins_its_workers)
{
    unsetenv("POCL_AFFINITY");
    int applied = 0;
    TEST_OK(embcl_pocl_pin_threads(&applied));
    if (!applied)
        cr_skip_test("the process may not use every CPU: nothing to pin");
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(dev, &info));
    if (!strstr(info.platform_name, "Portable Computing Language")) {
        embcl_runtime_free(rt);
        cr_skip_test("the test device is not PoCL's");
    }
    int64_t n = 1 << 16;
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, &n, &t)); /* a kernel: the workers are running */
    TEST_OK(embcl_tensor_fill(t, 1.0));
    TEST_OK(embcl_device_finish(dev));
    int pinned = pinned_threads();
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
    cr_expect_geq(pinned, 2, "%d threads are pinned to one CPU; PoCL's workers should be", pinned);
}
