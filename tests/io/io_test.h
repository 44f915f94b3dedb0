/* Helpers shared by the io tests: whole files in and out, and a cheap
 * deterministic mutation loop that feeds damaged inputs to a parser. */
#ifndef EMBCL_TESTS_IO_TEST_H
#define EMBCL_TESTS_IO_TEST_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* The whole file (malloc'd, plus a NUL not counted in *len). */
static inline char *io_test_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static inline void io_test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* path = dir + "/" + name in a malloc'd string */
static inline char *io_test_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Fail unless dir holds exactly one entry (no temporary file left). */
static inline void io_test_expect_one_file(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    cr_assert_eq(n, 1, "%s holds %d entries: a temporary file was left", dir, n);
}

static inline uint64_t io_test_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Call parse on n_rounds damaged copies of good[0, len): bytes flipped,
 * set to interesting values, cut short, or spans deleted. Each copy sits
 * in a buffer of exactly its length, so an overread shows under ASan.
 * parse must return (a status); a success must have been cleaned up by it. */
typedef embcl_status (*io_test_parse_fn)(const char *buf, size_t len);

static inline void io_test_mutate(const char *good, size_t len, int n_rounds, io_test_parse_fn parse,
                                  int *n_failed)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    static const char interesting[] = {'\0', '\n', ' ', '"', '\\', '{', '}', '[', ']', ',', ':', '-', '9',
                                       (char)0xff, (char)0xc3, 'e', '.'};
    *n_failed = 0;
    for (int r = 0; r < n_rounds; r++) {
        size_t n = len;
        char *buf = malloc(len ? len : 1);
        memcpy(buf, good, len);
        int edits = 1 + (int)(io_test_rand(&seed) % 4);
        for (int e = 0; e < edits && n > 0; e++) {
            size_t at = (size_t)(io_test_rand(&seed) % n);
            switch (io_test_rand(&seed) % 4) {
            case 0:
                buf[at] ^= (char)(1u << (io_test_rand(&seed) % 8));
                break;
            case 1:
                buf[at] = interesting[io_test_rand(&seed) % sizeof interesting];
                break;
            case 2:
                n = at;
                break;
            default: {
                size_t k = 1 + (size_t)(io_test_rand(&seed) % 8);
                if (at + k > n)
                    k = n - at;
                memmove(buf + at, buf + at + k, n - at - k);
                n -= k;
            }
            }
        }
        char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        free(buf);
        if (parse(exact, n) != EMBCL_OK)
            (*n_failed)++;
        free(exact);
    }
}

#endif
