/* The kernel registry and its disk cache, through the smallest kernel user
 * there is (tensor fill), so the tests see what every op sees. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

static embcl_runtime_t runtime_in(const char *cache_dir, int disk_cache)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.cache_dir = cache_dir;
    o.disk_cache = disk_cache;
    return test_runtime_with(&o);
}

/* Fill a tensor and check it: proves the program works, wherever it came from. */
static void use_kernels(embcl_runtime_t rt)
{
    embcl_device_t dev = test_device(rt);
    int64_t shape[1] = {100};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &t));
    TEST_OK(embcl_tensor_fill(t, 3.25));
    float h[100];
    TEST_OK(embcl_tensor_download(t, h, sizeof h));
    cr_assert_eq(h[0], 3.25f);
    cr_assert_eq(h[99], 3.25f);
    embcl_tensor_free(t);
}

static embcl_cache_stats run_once(const char *dir, int disk_cache)
{
    embcl_runtime_t rt = runtime_in(dir, disk_cache);
    use_kernels(rt);
    embcl_cache_stats st;
    TEST_OK(embcl_runtime_cache_stats(rt, &st));
    embcl_runtime_free(rt);
    return st;
}

/* The single .bin entry in dir (fails the test if there isn't exactly one). */
static void entry_in(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no cache directory %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".bin") && !strstr(e->d_name, ".tmp")) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            n++;
        }
    closedir(d);
    cr_assert_eq(n, 1, "%d cache entries in %s", n, dir);
}

Test(kernel_cache, second_runtime_loads_from_disk)
{
    char *dir = test_tempdir("cache");
    embcl_cache_stats a = run_once(dir, 1);
    cr_assert_eq(a.programs_built, 1);
    cr_assert_eq(a.disk_writes, 1);
    cr_assert_eq(a.disk_hits, 0);
    embcl_cache_stats b = run_once(dir, 1);
    cr_assert_eq(b.programs_built, 0, "the warm start compiled again");
    cr_assert_eq(b.disk_hits, 1);
    cr_assert_eq(b.disk_rejects, 0);
    free(dir);
}

Test(kernel_cache, truncated_or_corrupt_entries_are_rebuilt)
{
    char *dir = test_tempdir("cache");
    run_once(dir, 1);
    char path[4096];
    entry_in(dir, path, sizeof path);
    cr_assert_eq(truncate(path, 40), 0);
    embcl_cache_stats st = run_once(dir, 1);
    cr_assert_eq(st.disk_rejects, 1);
    cr_assert_eq(st.programs_built, 1);
    /* rebuilt and rewritten: the next start hits again */
    cr_assert_eq(run_once(dir, 1).disk_hits, 1);
    /* flip a byte near the end (inside the binary): the checksum catches it */
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, -3, SEEK_END);
    int c = fgetc(f);
    fseek(f, -3, SEEK_END);
    fputc(c ^ 0x5a, f);
    fclose(f);
    st = run_once(dir, 1);
    cr_assert_eq(st.disk_rejects, 1);
    cr_assert_eq(st.programs_built, 1);
    /* garbage of any kind */
    f = fopen(path, "wb");
    fputs("not a cache entry at all", f);
    fclose(f);
    st = run_once(dir, 1);
    cr_assert_eq(st.disk_rejects, 1);
    free(dir);
}

Test(kernel_cache, disabled_cache_writes_nothing)
{
    char *dir = test_tempdir("cache");
    embcl_cache_stats st = run_once(dir, 0);
    cr_assert_eq(st.disk_writes, 0);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(n, 0);
    setenv("EMBCL_CACHE", "0", 1);
    embcl_runtime_t rt = runtime_in(dir, -1);
    cr_assert_null(embcl_runtime_cache_dir(rt));
    embcl_runtime_free(rt);
    unsetenv("EMBCL_CACHE");
    free(dir);
}

static char warning[4096];
static void capture(void *user, embcl_log_level level, const char *msg)
{
    (void)user;
    if (level == EMBCL_LOG_WARN)
        snprintf(warning, sizeof warning, "%s", msg);
}

Test(kernel_cache, unwritable_directory_warns_and_still_builds)
{
    char *dir = test_tempdir("cache");
    char blocker[4096], bad[4200];
    snprintf(blocker, sizeof blocker, "%s/a-file", dir);
    FILE *f = fopen(blocker, "w");
    fclose(f);
    snprintf(bad, sizeof bad, "%s/sub", blocker); /* a directory inside a file */
    embcl_runtime_options o = embcl_runtime_options_default();
    o.cache_dir = bad;
    o.log = capture;
    embcl_runtime_t rt = test_runtime_with(&o);
    use_kernels(rt);
    cr_assert(strstr(warning, "kernel cache disabled") && strstr(warning, bad), "warning was: '%s'", warning);
    embcl_runtime_free(rt);
    free(dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(kernel_cache, broken_kernel_reports_build_log_and_options)
{
    char *kdir = test_tempdir("kernels");
    write_file(kdir, "common.h", "#define BROKEN_HELPER 1\n");
    write_file(kdir, "tensor.cl",
               "#include \"common.h\"\n"
               "__kernel void fill_2d(__global T *dst, ulong off, ulong rows, ulong cols, ulong ld, T value)\n"
               "{ dst[0] = value + undefined_symbol_xyz; }\n");
    embcl_runtime_options o = embcl_runtime_options_default();
    o.kernel_dir = kdir;
    o.disk_cache = 0;
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_device_t dev = test_device(rt);
    int64_t shape[1] = {4};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &t));
    TEST_FAILS(EMBCL_ERR_BUILD, embcl_tensor_fill(t, 1.0), "kernels/tensor.cl", "CL_BUILD_PROGRAM_FAILURE",
               "-DT=float", "-cl-std=CL1.2", "build log:", "undefined_symbol_xyz");
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
    free(kdir);
}

Test(kernel_cache, missing_kernel_dir_file_is_named)
{
    char *kdir = test_tempdir("kernels");
    embcl_runtime_options o = embcl_runtime_options_default();
    o.kernel_dir = kdir;
    embcl_runtime_t rt = test_runtime_with(&o);
    int64_t shape[1] = {4};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(test_device(rt), EMBCL_F32, 1, shape, &t));
    TEST_FAILS(EMBCL_ERR_IO, embcl_tensor_fill(t, 1.0), "tensor.cl", "EMBCL_KERNEL_DIR");
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
    free(kdir);
}

Test(kernel_cache, concurrent_processes_share_one_directory)
{
    char *dir = test_tempdir("cache");
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        cr_assert_geq(kids[i], 0);
        if (kids[i] == 0) {
            embcl_runtime_options o = embcl_runtime_options_default();
            o.cache_dir = dir;
            o.device = "cpu";
            embcl_runtime_t rt;
            if (embcl_runtime_create(&o, &rt) != EMBCL_OK)
                _exit(3);
            embcl_device_t dev;
            embcl_runtime_device(rt, 0, &dev);
            int64_t shape[1] = {64};
            embcl_tensor_t t;
            float h[64];
            int ok = embcl_tensor_create(dev, EMBCL_F32, 1, shape, &t) == EMBCL_OK &&
                     embcl_tensor_fill(t, 2.0) == EMBCL_OK && embcl_tensor_download(t, h, sizeof h) == EMBCL_OK &&
                     h[63] == 2.0f;
            embcl_tensor_free(t);
            embcl_runtime_free(rt);
            _exit(ok ? 0 : 4);
        }
    }
    for (int i = 0; i < 4; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed (status %d)", i, st);
    }
    char path[4096];
    entry_in(dir, path, sizeof path); /* one entry, no temp files left */
    cr_assert_eq(run_once(dir, 1).disk_hits, 1);
    free(dir);
}
