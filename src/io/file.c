/* File images and atomic writes for the io layer. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"

const char *io_name(const char *name)
{
    return name ? name : "<buffer>";
}

void embcl_io_free(void *p)
{
    free(p);
}

embcl_status io_image_open(const char *path, const char *func, io_image *img)
{
    memset(img, 0, sizeof *img);
    if (!path || !*path)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "path is %s", path ? "empty" : "NULL");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return embcl_error(EMBCL_ERR_IO, func, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return embcl_error(EMBCL_ERR_IO, func, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return embcl_error(EMBCL_ERR_IO, func, "'%s' is not a regular file%s", path,
                           S_ISDIR(st.st_mode) ? " (a directory)" : "");
    }
    img->len = (size_t)st.st_size;
    if (img->len == 0) {
        close(fd);
        img->data = "";
        return EMBCL_OK;
    }
    void *m = mmap(NULL, img->len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return embcl_error(EMBCL_ERR_IO, func, "cannot map '%s' (%zu bytes): %s", path, img->len, strerror(e));
    img->map = m;
    img->map_len = img->len;
    img->data = m;
    return EMBCL_OK;
}

void io_image_close(io_image *img)
{
    if (img->map)
        munmap(img->map, img->map_len);
    memset(img, 0, sizeof *img);
}

embcl_status io_write_all(int fd, const void *buf, size_t n, const char *func, const char *path)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return embcl_error(EMBCL_ERR_IO, func, "writing '%s': %s", path,
                               w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
    }
    return EMBCL_OK;
}

/* The directory part of path ("." if none), malloc'd. */
static char *dir_of(const char *path, const char *func)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return embcl_strdup(".", func);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = embcl_malloc(n + 1, func);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* Temporary files are "<path>.tmp.<pid>.XXXXXX": a writer killed
 * mid-write (SIGKILL, power loss) leaves one behind, and the pid tells a
 * later save whose it was. */
#define TMP_AGE_S 60

/* If name is "<base>.tmp.<pid>.XXXXXX", its pid, else 0. */
static long stale_pid(const char *name, const char *base)
{
    size_t nb = strlen(base);
    if (strncmp(name, base, nb) != 0 || strncmp(name + nb, ".tmp.", 5) != 0)
        return 0;
    const char *p = name + nb + 5;
    char *end;
    errno = 0;
    long pid = strtol(p, &end, 10);
    if (errno || end == p || pid <= 0 || *end != '.' || strlen(end + 1) != 6)
        return 0;
    return pid;
}

/* Remove what killed writers of path left: temporary files of path whose
 * writer is gone (no such process here) and which nobody has written for
 * TMP_AGE_S seconds (on a shared file system the pid may be another
 * machine's, whose writer is still busy). Best effort: a file that cannot be
 * removed is left, and the save that called this has succeeded anyway. */
static void sweep_stale_temps(const char *path, const char *dir)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t nd = strlen(dir);
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d));) {
        long pid = stale_pid(e->d_name, base);
        if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t n = nd + 1 + strlen(e->d_name) + 1;
        char *full = malloc(n);
        if (!full)
            break;
        snprintf(full, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= TMP_AGE_S)
            unlink(full);
        free(full);
    }
    closedir(d);
}

embcl_status io_write_atomic(const char *path, const char *func, io_fill_fn fill, void *ctx)
{
    if (!path || !*path)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "path is %s", path ? "empty" : "NULL");
    size_t n = strlen(path) + 40;
    char *tmp = embcl_malloc(n, func);
    if (!tmp)
        return EMBCL_ERR_OUT_OF_MEMORY;
    /* same directory as path, so rename() cannot cross file systems */
    snprintf(tmp, n, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0) {
        embcl_status s = embcl_error(EMBCL_ERR_IO, func, "cannot create a temporary file beside '%s': %s",
                                     path, strerror(errno));
        free(tmp);
        return s;
    }
    embcl_status s = EMBCL_OK;
    if (fchmod(fd, 0644) != 0)
        s = embcl_error(EMBCL_ERR_IO, func, "chmod '%s': %s", tmp, strerror(errno));
    if (s == EMBCL_OK)
        s = fill(fd, ctx, func, path);
    if (s == EMBCL_OK && fsync(fd) != 0)
        s = embcl_error(EMBCL_ERR_IO, func, "fsync '%s': %s", tmp, strerror(errno));
    if (close(fd) != 0 && s == EMBCL_OK)
        s = embcl_error(EMBCL_ERR_IO, func, "close '%s': %s", tmp, strerror(errno));
    if (s == EMBCL_OK && rename(tmp, path) != 0)
        s = embcl_error(EMBCL_ERR_IO, func, "rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (s != EMBCL_OK) {
        unlink(tmp);
        free(tmp);
        return s;
    }
    free(tmp);
    /* the rename itself is durable only once the directory is synced */
    char *dir = dir_of(path, func);
    if (!dir)
        return EMBCL_ERR_OUT_OF_MEMORY;
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL)
            s = embcl_error(EMBCL_ERR_IO, func, "fsync directory '%s': %s", dir, strerror(errno));
        close(dfd);
    }
    if (s == EMBCL_OK)
        sweep_stale_temps(path, dir);
    free(dir);
    return s;
}
