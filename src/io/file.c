/* File images and atomic writes for the io layer. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

embcl_status io_write_atomic(const char *path, const char *func, io_fill_fn fill, void *ctx)
{
    if (!path || !*path)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "path is %s", path ? "empty" : "NULL");
    size_t n = strlen(path);
    char *tmp = embcl_malloc(n + 16, func);
    if (!tmp)
        return EMBCL_ERR_OUT_OF_MEMORY;
    /* same directory as path, so rename() cannot cross file systems */
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
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
    free(dir);
    return s;
}
