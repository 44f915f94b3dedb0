/* Separate runtimes created from several threads at once in a fresh
 * process: PoCL's first device enumeration and CLBlast's first call are not
 * safe to overlap, and embcl orders them (src/device/process_lock.c).
 * Criterion runs each test in a fork of one process, where OpenCL may have
 * been touched already, so the race runs in new processes: this executable
 * again (exec), running only threads::race_child. */
#define _GNU_SOURCE /* pthread_barrier_t under -std=c11 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blas/gemm.h"
#include "test_util.h"

enum { THREADS = 4, PROCESSES = 10, N = 8 };

typedef struct racer {
    pthread_barrier_t *start;
    embcl_status status;
    char what[64];
    char message[1024];
} racer;

static int fail(racer *r, embcl_status s, const char *what)
{
    r->status = s;
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->message, sizeof r->message, "%s", embcl_last_error());
    return 1;
}

/* A runtime, a GEMM through CLBlast and a fill, checked on the host. Every
 * call returns: nothing here may assert off the test's own thread. */
static void *race(void *arg)
{
    racer *r = arg;
    embcl_runtime_options o = embcl_runtime_options_default();
    const char *d = getenv("EMBCL_TEST_DEVICE");
    o.device = d && *d ? d : "cpu";
    o.tuning = "gemm.BACKEND=2"; /* CLBlast on CPUs too */
    pthread_barrier_wait(r->start);
    embcl_runtime_t rt = NULL;
    embcl_status s = embcl_runtime_create(&o, &rt);
    if (s != EMBCL_OK && fail(r, s, "embcl_runtime_create"))
        return NULL;
    embcl_device_t dev = NULL;
    embcl_tensor_t a = NULL, b = NULL, c = NULL;
    int64_t shape[2] = {N, N};
    float h[N * N];
    s = embcl_runtime_device(rt, 0, &dev);
    if (s == EMBCL_OK)
        s = embcl_tensor_create(dev, EMBCL_F32, 2, shape, &a);
    if (s == EMBCL_OK)
        s = embcl_tensor_create(dev, EMBCL_F32, 2, shape, &b);
    if (s == EMBCL_OK)
        s = embcl_tensor_create(dev, EMBCL_F32, 2, shape, &c);
    if (s == EMBCL_OK)
        s = embcl_tensor_fill(a, 0.5);
    if (s == EMBCL_OK)
        s = embcl_tensor_fill(b, 3.0);
    if (s != EMBCL_OK)
        fail(r, s, "tensors");
    if (s == EMBCL_OK && (s = embcl_sgemm_batched(EMBCL_GEMM_CLBLAST, 0, 0, 1.0f, a, b, 0.0f, c, 1, 0, 0, 0,
                                                  "race")) != EMBCL_OK)
        fail(r, s, "CLBlast SGEMM");
    if (s == EMBCL_OK && (s = embcl_tensor_download(c, h, sizeof h)) != EMBCL_OK)
        fail(r, s, "download");
    for (int i = 0; s == EMBCL_OK && i < N * N; i++)
        if (h[i] != 0.5f * 3.0f * N) {
            r->status = EMBCL_ERR_STATE;
            snprintf(r->what, sizeof r->what, "GEMM result");
            snprintf(r->message, sizeof r->message, "element %d is %g, expected %g", i, (double)h[i],
                     0.5 * 3.0 * N);
            break;
        }
    embcl_tensor_free(a);
    embcl_tensor_free(b);
    embcl_tensor_free(c);
    embcl_runtime_free(rt);
    return NULL;
}

Test(threads, race_child)
{
    if (!getenv("EMBCL_TEST_RACE_CHILD"))
        cr_skip_test("run in fresh processes by threads::runtimes_created_at_once_in_fresh_processes");
    pthread_barrier_t start;
    cr_assert_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
    racer r[THREADS];
    pthread_t t[THREADS];
    memset(r, 0, sizeof r);
    for (int i = 0; i < THREADS; i++) {
        r[i].start = &start;
        cr_assert_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    int bad = 0;
    for (int i = 0; i < THREADS; i++)
        if (r[i].status != EMBCL_OK) {
            fprintf(stderr, "thread %d: %s: %s: %s\n", i, r[i].what, embcl_status_str(r[i].status), r[i].message);
            bad++;
        }
    cr_assert_eq(bad, 0, "%d of %d threads failed (above)", bad, THREADS);
}

Test(threads, runtimes_created_at_once_in_fresh_processes, .timeout = 600)
{
    int failed = 0, crashed = 0;
    for (int p = 0; p < PROCESSES; p++) {
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            /* boxfort marks its workers in the environment: without this the
             * new process would take itself for one and not run its tests */
            unsetenv("BXFI_MAP");
            unsetenv("GMON_OUT_PREFIX");
            setenv("EMBCL_TEST_RACE_CHILD", "1", 1);
            execl("/proc/self/exe", "test_threads", "--filter=threads/race_child", "--jobs=1", "--timeout=300",
                  (char *)NULL);
            _exit(127);
        }
        int st = 0;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        if (WIFSIGNALED(st))
            crashed++;
        else if (WEXITSTATUS(st) != 0)
            failed++;
    }
    cr_assert_eq(failed + crashed, 0, "%d of %d fresh processes failed and %d died (their output is above)", failed,
                 PROCESSES, crashed);
}
