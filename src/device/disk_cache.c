/* Program binaries on disk. One file per key, named by the key's hash, that
 * stores the whole key: a file whose key, length or checksum does not match
 * is a miss, never an error. Writes go to a unique temporary file that is
 * fsynced and renamed over the entry, so readers in other processes see the
 * old entry, the new one, or none, never half of one. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "device/program.h"

static const char magic[8] = {'E', 'M', 'B', 'C', 'L', 'P', 'B', '1'};

static void entry_path(const char *dir, const char *key, char *path, size_t cap)
{
    char hex[33];
    embcl_hash h = embcl_hash_bytes(key, strlen(key));
    embcl_hash_hex(&h, hex);
    snprintf(path, cap, "%s/%s.bin", dir, hex);
}

int embcl_disk_cache_load(const char *dir, const char *key, unsigned char **bin, size_t *len)
{
    char path[4096];
    entry_path(dir, key, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int result = -1;
    char m[8];
    uint32_t klen = 0;
    uint64_t blen = 0;
    embcl_hash want, got;
    char *k = NULL;
    unsigned char *b = NULL;
    size_t keylen = strlen(key);
    if (fread(m, 1, 8, f) != 8 || memcmp(m, magic, 8) != 0)
        goto out;
    if (fread(&klen, sizeof klen, 1, f) != 1 || klen != keylen)
        goto out;
    k = malloc(keylen + 1);
    if (!k || fread(k, 1, keylen, f) != keylen || memcmp(k, key, keylen) != 0)
        goto out;
    if (fread(&blen, sizeof blen, 1, f) != 1 || blen == 0 || blen > ((uint64_t)1 << 31))
        goto out;
    if (fread(&want, sizeof want, 1, f) != 1)
        goto out;
    b = malloc((size_t)blen);
    if (!b || fread(b, 1, (size_t)blen, f) != blen)
        goto out;
    got = embcl_hash_bytes(b, (size_t)blen);
    if (got.a != want.a || got.b != want.b)
        goto out;
    if (fgetc(f) != EOF) /* trailing bytes: not what we wrote */
        goto out;
    *bin = b;
    *len = (size_t)blen;
    b = NULL;
    result = 1;
out:
    free(k);
    free(b);
    fclose(f);
    return result;
}

static int mkdirs(const char *dir)
{
    char p[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return -1;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        p[i] = c;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int embcl_disk_cache_store(const char *dir, const char *key, const unsigned char *bin, size_t len,
                           char *why, size_t why_cap)
{
    char path[4096], tmp[4200];
    if (mkdirs(dir) != 0) {
        snprintf(why, why_cap, "cannot create cache directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    entry_path(dir, key, path, sizeof path);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%ld", path, (long)getpid(), (long)ts.tv_nsec);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        snprintf(why, why_cap, "cannot write in cache directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    uint32_t klen = (uint32_t)strlen(key);
    uint64_t blen = len;
    embcl_hash h = embcl_hash_bytes(bin, len);
    int bad = write_all(fd, magic, 8) || write_all(fd, &klen, sizeof klen) || write_all(fd, key, klen) ||
              write_all(fd, &blen, sizeof blen) || write_all(fd, &h, sizeof h) || write_all(fd, bin, len) ||
              fsync(fd) != 0;
    int err = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            err = errno;
        unlink(tmp);
        snprintf(why, why_cap, "cannot write cache entry '%s': %s", path, strerror(err));
        return -1;
    }
    return 0;
}
