/* Crash safety of checkpoint writes: a child process writes checkpoints in
 * a loop and is SIGKILLed at a random moment (seeded), many times. After
 * every kill the checkpoint path holds one complete checkpoint that was
 * written (byte for byte the copy written just before it), the temporary
 * files a kill leaves behind do not stop the next child, which resumes
 * from the checkpoint (embcl_trainer_load) and saves again. The same for
 * the safetensors writer on its own, whose next save in this process then
 * removes the temporary files the killed writers left. A write that runs out of room
 * (RLIMIT_FSIZE, as a full disk) fails naming the file and leaves the
 * previous checkpoint loadable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trainer_small.h"

/* 50 kills; EMBCL_TEST_KILLS=n fewer (scripts/valgrind.sh: a child under
 * valgrind takes seconds to reach its first save). */
static int kills(void)
{
    const char *v = getenv("EMBCL_TEST_KILLS");
    int n = v ? atoi(v) : 0;
    return n > 0 && n < 50 ? n : 50;
}
#define KILLS kills()
#define ST_FLOATS (256 * 1024)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Set the last-written time of every temporary file in dir back two
 * minutes (older than the 60 s a save waits before removing a dead writer's
 * file); returns how many there are. */
static int age_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strstr(e->d_name, ".tmp."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct timespec t[2];
        clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= 120;
        t[1] = t[0];
        cr_assert_eq(utimensat(AT_FDCWD, path, t, 0), 0, "utimensat %s", path);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* ---- children (never return) ------------------------------------------- */

/* Resume from ck if there is one, then step and save forever: first the
 * reference copy ref.<step>, then ck (meta "seq" = step). Writes one byte
 * to `ready` after its first save. Exit 3: the checkpoint did not load. */
static void trainer_child(const char *dir, int ready)
{
    char ck[512], ref[600], seq[32];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    embcl_runtime_t rt;
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    if (embcl_runtime_create(&o, &rt) != EMBCL_OK)
        _exit(2);
    small_trainer s;
    small_trainer_make(&s, rt, 11);
    if (access(ck, F_OK) == 0 && embcl_trainer_load(s.tr, ck) != EMBCL_OK) {
        fprintf(stderr, "child: %s\n", embcl_last_error());
        _exit(3);
    }
    for (int first = 1;; first = 0) {
        if (embcl_trainer_step(s.tr, NULL) != EMBCL_OK)
            _exit(4);
        int64_t step = embcl_trainer_steps_done(s.tr);
        snprintf(ref, sizeof ref, "%s/ref.%lld", dir, (long long)step);
        snprintf(seq, sizeof seq, "%lld", (long long)step);
        const char *k[1] = {"seq"}, *v[1] = {seq};
        if (embcl_trainer_save(s.tr, ref, k, v, 1) != EMBCL_OK || embcl_trainer_save(s.tr, ck, k, v, 1) != EMBCL_OK) {
            fprintf(stderr, "child: %s\n", embcl_last_error());
            _exit(5);
        }
        if (first && write(ready, "r", 1) != 1)
            _exit(6);
    }
}

static float st_value(long seq, size_t j)
{
    return (float)seq * 1000.0f + (float)(j % 997);
}

/* Save a 1 MiB safetensors file again and again, seq counting up from
 * start. */
static void st_child(const char *path, long start, int ready)
{
    float *data = malloc(ST_FLOATS * sizeof *data);
    char seq[32];
    for (long i = start;; i++) {
        for (size_t j = 0; j < ST_FLOATS; j++)
            data[j] = st_value(i, j);
        embcl_st_tensor t = {"x", EMBCL_F32, 1, {ST_FLOATS}, data};
        snprintf(seq, sizeof seq, "%ld", i);
        const char *k[1] = {"seq"}, *v[1] = {seq};
        if (embcl_safetensors_save(path, &t, 1, k, v, 1) != EMBCL_OK)
            _exit(5);
        if (i == start && write(ready, "r", 1) != 1)
            _exit(6);
    }
}

/* Fork a child running fn, wait for its ready byte, let it run for a
 * random while, SIGKILL it. */
typedef void (*child_fn)(const char *dir, long arg, int ready);

static void run_and_kill(child_fn fn, const char *dir, long arg, uint64_t *rng, long max_delay_us)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork failed");
    if (pid == 0) {
        close(p[0]);
        fn(dir, arg, p[1]);
        _exit(0);
    }
    close(p[1]);
    char c;
    ssize_t got = read(p[0], &c, 1);
    close(p[0]);
    if (got != 1) {
        int status;
        waitpid(pid, &status, 0);
        cr_assert_fail("the child stopped before its first save (exit %d): the checkpoint left by the last kill "
                       "did not load, or saving failed", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    sleep_us((long)(rng_next(rng) % (uint64_t)max_delay_us));
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) || WIFEXITED(status));
    cr_assert(!WIFEXITED(status), "the child exited (%d) instead of being killed", WEXITSTATUS(status));
}

static void trainer_child_fn(const char *dir, long arg, int ready)
{
    (void)arg;
    trainer_child(dir, ready);
}

static void st_child_fn(const char *dir, long arg, int ready)
{
    char path[512];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    st_child(path, arg, ready);
}

/* The checkpoint at ck is complete and equals the reference written with it. */
static long check_trainer_ck(const char *dir)
{
    char ck[512], ref[600];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    size_t n, nr;
    unsigned char *b = read_whole(ck, &n);
    cr_assert_not_null(b, "no checkpoint at %s after a kill", ck);
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_parse(b, n, ck, &st));
    const char *seq = embcl_safetensors_meta(st, "seq");
    cr_assert_not_null(seq);
    long k = atol(seq);
    snprintf(ref, sizeof ref, "%s/ref.%ld", dir, k);
    unsigned char *r = read_whole(ref, &nr);
    cr_assert_not_null(r, "no reference for step %ld", k);
    cr_assert(n == nr && memcmp(b, r, n) == 0, "the checkpoint of step %ld differs from the one written", k);
    embcl_safetensors_close(st);
    free(b);
    free(r);
    return k;
}

Test(checkpoint_kill, trainer_save_killed_at_random_points)
{
    char *dir = test_tempdir("ckpt_kill");
    uint64_t rng = 20261127;
    long first = -1, last = -1;
    int kills_with_temps = 0;
    for (int i = 0; i < KILLS; i++) {
        int temps_before = count_temps(dir);
        run_and_kill(trainer_child_fn, dir, 0, &rng, 40000);
        long k = check_trainer_ck(dir);
        kills_with_temps += count_temps(dir) > temps_before;
        if (first < 0)
            first = k;
        cr_assert_geq(k, last, "the checkpoint went back from step %ld to %ld", last, k);
        last = k;
    }
    cr_assert_gt(last, first, "no child got past the first checkpoint");
    cr_log_info("trainer checkpoints: %d kills, steps %ld..%ld, %d kills left a temporary file (mid-write)", KILLS,
                first, last, kills_with_temps);
    /* and the survivor loads in this process too */
    embcl_runtime_t rt = test_runtime();
    small_trainer s;
    small_trainer_make(&s, rt, 11);
    char ck[512];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    TEST_OK(embcl_trainer_load(s.tr, ck));
    cr_assert_eq(embcl_trainer_steps_done(s.tr), last);
    small_trainer_free(&s);
    embcl_runtime_free(rt);
    rm_dir(dir);
}

Test(checkpoint_kill, safetensors_save_killed_at_random_points)
{
    char *dir = test_tempdir("st_kill");
    char path[512];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    uint64_t rng = 7;
    long next = 0;
    int kills_with_temps = 0;
    float *want = malloc(ST_FLOATS * sizeof *want), *got = malloc(ST_FLOATS * sizeof *got);
    for (int i = 0; i < KILLS; i++) {
        int temps_before = count_temps(dir);
        run_and_kill(st_child_fn, dir, next, &rng, 60000);
        kills_with_temps += count_temps(dir) > temps_before;
        embcl_safetensors_t st;
        TEST_OK(embcl_safetensors_open(path, &st));
        long seq = atol(embcl_safetensors_meta(st, "seq"));
        cr_assert_geq(seq, next, "the file went back to %ld (children started at %ld)", seq, next);
        int64_t shape[1] = {ST_FLOATS};
        TEST_OK(embcl_safetensors_read(st, "x", EMBCL_F32, 1, shape, got, ST_FLOATS * sizeof *got));
        for (size_t j = 0; j < ST_FLOATS; j++)
            want[j] = st_value(seq, j);
        cr_assert(memcmp(got, want, ST_FLOATS * sizeof *got) == 0, "file %ld has the wrong contents", seq);
        embcl_safetensors_close(st);
        next = seq + 1;
    }
    /* what the killed writers left goes with the next save (their
     * processes are gone; aged past the 60 s a save waits) */
    int left = age_temps(dir);
    float one = 1;
    embcl_st_tensor t = {"x", EMBCL_F32, 1, {1}, &one};
    TEST_OK(embcl_safetensors_save(path, &t, 1, NULL, NULL, 0));
    cr_assert_eq(count_temps(dir), 0, "%d temporary files stayed after a save", count_temps(dir));
    cr_log_info("safetensors: %d kills, last file %ld, %d kills left a temporary file (mid-write), %d removed by the "
                "next save",
                KILLS, next - 1, kills_with_temps, left);
    free(want);
    free(got);
    rm_dir(dir);
}

/* After a save that failed with st for lack of room: EMBCL_ERR_IO naming
 * the file with `why`, no temporary file, the previous checkpoint `good`
 * unchanged and loadable (it is of step 1). */
static void expect_failed_save_kept(embcl_status st, const char *dir, const char *ck, const char *why,
                                    const unsigned char *good, size_t n_good, embcl_runtime_t rt)
{
    cr_assert_eq(st, EMBCL_ERR_IO, "a save without room gave %s: %s", embcl_status_str(st), embcl_last_error());
    cr_assert(strstr(embcl_last_error(), "embcl_trainer_save") && strstr(embcl_last_error(), ck) &&
                  strstr(embcl_last_error(), why),
              "message: %s", embcl_last_error());
    cr_assert_eq(count_temps(dir), 0, "a failed save left a temporary file");
    size_t n_now;
    unsigned char *now = read_whole(ck, &n_now);
    cr_assert(now && n_now == n_good && memcmp(now, good, n_good) == 0, "the previous checkpoint changed");
    free(now);
    small_trainer back;
    small_trainer_make(&back, rt, 5);
    TEST_OK(embcl_trainer_load(back.tr, ck));
    cr_assert_eq(embcl_trainer_steps_done(back.tr), 1);
    small_trainer_free(&back);
}

/* A trainer (seed 5) one step in, saved to ck; its bytes, and the
 * trainer a second step further. */
static unsigned char *first_checkpoint(embcl_runtime_t rt, const char *ck, small_trainer *s, size_t *n_good)
{
    small_trainer_make(s, rt, 5);
    TEST_OK(embcl_trainer_step(s->tr, NULL));
    TEST_OK(embcl_trainer_save(s->tr, ck, NULL, NULL, 0));
    unsigned char *good = read_whole(ck, n_good);
    cr_assert_not_null(good);
    TEST_OK(embcl_trainer_step(s->tr, NULL));
    return good;
}

/* A full disk, made with RLIMIT_FSIZE (SIGXFSZ ignored, so the write fails
 * with EFBIG instead of killing the process): the save fails naming the
 * file, no temporary file stays, the previous checkpoint still loads and
 * the next save (with room again) works. */
Test(checkpoint_kill, full_disk_keeps_the_previous_checkpoint)
{
    char *dir = test_tempdir("ckpt_full");
    char ck[512];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    embcl_runtime_t rt = test_runtime();
    small_trainer s;
    size_t n_good;
    unsigned char *good = first_checkpoint(rt, ck, &s, &n_good);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = n_good / 2;
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    embcl_status st = embcl_trainer_save(s.tr, ck, NULL, NULL, 0);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_sig);
    expect_failed_save_kept(st, dir, ck, "too large", good, n_good, rt);
    TEST_OK(embcl_trainer_save(s.tr, ck, NULL, NULL, 0));
    free(good);
    small_trainer_free(&s);
    embcl_runtime_free(rt);
    rm_dir(dir);
}

/* A really full disk: a 256 KiB tmpfs (mounting needs root; skipped
 * otherwise) filled so that a checkpoint no longer fits. The save fails
 * with ENOSPC's text naming the file, the previous checkpoint stays, and
 * once room is made the next save works. */
Test(checkpoint_kill, full_tmpfs_keeps_the_previous_checkpoint)
{
    char *dir = test_tempdir("ckpt_tmpfs");
    if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
        free(dir);
        cr_skip_test("cannot mount a tmpfs here (%s); the RLIMIT_FSIZE test covers a full disk", strerror(errno));
    }
    char ck[512], filler[600];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    snprintf(filler, sizeof filler, "%s/filler", dir);
    embcl_runtime_t rt = test_runtime();
    small_trainer s;
    size_t n_good;
    unsigned char *good = first_checkpoint(rt, ck, &s, &n_good);
    struct statvfs fs;
    cr_assert_eq(statvfs(dir, &fs), 0);
    size_t room = (size_t)fs.f_bavail * fs.f_bsize;
    cr_assert_gt(room, n_good / 2, "the tmpfs is too small for the test");
    FILE *f = fopen(filler, "wb");
    cr_assert_not_null(f);
    static char zeros[4096];
    for (size_t w = 0; w + n_good / 2 < room; w += sizeof zeros)
        fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    embcl_status st = embcl_trainer_save(s.tr, ck, NULL, NULL, 0);
    expect_failed_save_kept(st, dir, ck, "No space left", good, n_good, rt);
    cr_assert_eq(unlink(filler), 0);
    TEST_OK(embcl_trainer_save(s.tr, ck, NULL, NULL, 0));
    free(good);
    small_trainer_free(&s);
    embcl_runtime_free(rt);
    cr_assert_eq(umount2(dir, MNT_DETACH), 0);
    rm_dir(dir);
}
