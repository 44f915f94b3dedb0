/* Temporary files that killed writers leave beside a file
 * ("<path>.tmp.<pid>.XXXXXX") are removed by the next successful save of
 * that file, and only those: the writer's process must be gone and the file
 * unwritten for 60 seconds (tests age files with utimensat); a live
 * writer's file, a recent one, another file's and names that merely look
 * alike stay. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io_test.h"

/* A pid that no process has: a child that has exited and been reaped. */
static long dead_pid(void)
{
    pid_t p = fork();
    cr_assert_geq(p, 0, "fork");
    if (p == 0)
        _exit(0);
    int st;
    waitpid(p, &st, 0);
    return (long)p;
}

/* Make dir/name with a few bytes, last written `age` seconds ago. */
static void make_file(const char *dir, const char *name, long age)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "create %s", path);
    fputs("partial", f);
    fclose(f);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age;
    t[1] = t[0];
    cr_assert_eq(utimensat(AT_FDCWD, path, t, 0), 0, "utimensat %s", path);
}

static int exists(const char *dir, const char *name)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void save(const char *dir, const char *name)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    float x[4] = {1, 2, 3, 4};
    embcl_st_tensor t = {"x", EMBCL_F32, 1, {4}, x};
    TEST_OK(embcl_safetensors_save(path, &t, 1, NULL, NULL, 0));
}

Test(stale_temps, a_save_removes_what_dead_writers_left_and_nothing_else)
{
    long dead = dead_pid(), live = (long)getppid(); /* first: the child copies nothing to free */
    char *dir = test_tempdir("stale_temps");
    char gone_old[128], gone_new[128], alive_old[128], other_file[128], own[128];
    snprintf(gone_old, sizeof gone_old, "w.safetensors.tmp.%ld.aB3xYz", dead);
    snprintf(gone_new, sizeof gone_new, "w.safetensors.tmp.%ld.Qw12Er", dead);
    snprintf(alive_old, sizeof alive_old, "w.safetensors.tmp.%ld.Zx98Cv", live);
    snprintf(other_file, sizeof other_file, "v.safetensors.tmp.%ld.aB3xYz", dead);
    snprintf(own, sizeof own, "w.safetensors.tmp.%ld.Own123", (long)getpid());
    const char *look_alike[] = {"w.safetensors.tmp.abc.aB3xYz", "w.safetensors.tmp.123.toolong7",
                                "w.safetensors.tmp.123", "w.safetensors.tmpx.123.aB3xYz", "w.safetensors.tmp..aB3xYz"};
    make_file(dir, gone_old, 120);
    make_file(dir, gone_new, 5);
    make_file(dir, alive_old, 120);
    make_file(dir, other_file, 120);
    make_file(dir, own, 120);
    for (size_t i = 0; i < sizeof look_alike / sizeof look_alike[0]; i++)
        make_file(dir, look_alike[i], 120);

    save(dir, "w.safetensors");
    cr_assert_not(exists(dir, gone_old), "a dead writer's old temporary file stayed");
    cr_assert(exists(dir, gone_new), "a temporary file written 5 s ago was removed (its writer may be elsewhere)");
    cr_assert(exists(dir, alive_old), "a live process's temporary file was removed");
    cr_assert(exists(dir, other_file), "another file's temporary file was removed");
    cr_assert(exists(dir, own), "this process's own temporary file was removed");
    for (size_t i = 0; i < sizeof look_alike / sizeof look_alike[0]; i++)
        cr_assert(exists(dir, look_alike[i]), "'%s' is not a temporary file of the save, but was removed",
                  look_alike[i]);
    cr_assert(exists(dir, "w.safetensors"));
    /* 4 temporaries + 5 look-alikes + the file */
    cr_assert_eq(count_entries(dir), 10, "entries: %d", count_entries(dir));
    free(dir);
}

Test(stale_temps, a_failed_save_removes_nothing)
{
    long dead = dead_pid();
    char *dir = test_tempdir("stale_temps_fail");
    char gone_old[128];
    snprintf(gone_old, sizeof gone_old, "w.safetensors.tmp.%ld.aB3xYz", dead);
    make_file(dir, gone_old, 120);
    char path[768];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    float x[1] = {1};
    embcl_st_tensor t[2] = {{"x", EMBCL_F32, 1, {1}, x}, {"x", EMBCL_F32, 1, {1}, x}};
    cr_assert_eq(embcl_safetensors_save(path, t, 2, NULL, NULL, 0), EMBCL_ERR_INVALID_ARG, "%s",
                 embcl_last_error());
    cr_assert(exists(dir, gone_old), "a failed save swept the directory");
    free(dir);
}
