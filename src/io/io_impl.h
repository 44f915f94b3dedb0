/* Shared by the io parsers: file images, atomic writes, text scanning, a
 * seeded generator. Nothing here keeps state between calls. */
#ifndef EMBCL_SRC_IO_IMPL_H
#define EMBCL_SRC_IO_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "embcl/io.h"

/* The name parsers put in messages: the caller's, or "<buffer>". */
const char *io_name(const char *name);

/* A whole file, read-only: mapped when it is not empty. */
typedef struct io_image {
    const char *data;
    size_t len;
    void *map;       /* what to munmap, or NULL */
    size_t map_len;
} io_image;

/* Open and map path; EMBCL_ERR_IO naming func and path if that fails. */
embcl_status io_image_open(const char *path, const char *func, io_image *img);
void io_image_close(io_image *img);

/* Write path atomically: write(fd, ctx) fills a temporary file in the same
 * directory, then fsync, rename over path, fsync the directory. On any
 * failure the temporary file is removed and path is left as it was. After a
 * success, temporary files of path that killed writers left are removed
 * (src/io/file.c: sweep_stale_temps). */
typedef embcl_status (*io_fill_fn)(int fd, void *ctx, const char *func, const char *path);
embcl_status io_write_atomic(const char *path, const char *func, io_fill_fn fill, void *ctx);
/* write() all of buf, retrying short writes; EMBCL_ERR_IO naming func, path. */
embcl_status io_write_all(int fd, const void *buf, size_t n, const char *func, const char *path);

/* Text: lines end at '\n'; tokens are separated by isspace-like bytes. */
static inline int io_is_space(unsigned char c)
{
    /* one compare and a bit test (bits 9-13: \t \n \v \f \r; bit 32: ' '):
     * this runs for every byte of a multi-gigabyte vectors file */
    return c <= 32 && ((0x100003E00ULL >> c) & 1u);
}

typedef struct io_lines {
    const char *p, *end;
    int64_t line;  /* 1-based number of the line last returned */
} io_lines;

static inline void io_lines_init(io_lines *it, const char *text, size_t len)
{
    /* a UTF-8 byte order mark (Windows editors write one) is not a word */
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf) {
        text += 3;
        len -= 3;
    }
    it->p = text;
    it->end = text + len;
    it->line = 0;
}

/* The next line (without its '\n'); 0 at the end. A last line without '\n'
 * counts; an empty text has no lines. */
int io_lines_next(io_lines *it, const char **line, size_t *len);

/* The next token of s[*pos, len): returns its start and length, advancing
 * *pos past it; 0 when none is left. */
int io_next_token(const char *s, size_t len, size_t *pos, const char **tok, size_t *tok_len);

/* Fail naming func, file and line if line[0, len) holds a NUL byte. */
embcl_status io_check_no_nul(const char *line, size_t len, const char *func, const char *name,
                             int64_t line_no);

/* Parse a decimal integer token (optional '-', digits only) into *out;
 * 0 if it is not one or does not fit in int64. */
int io_parse_i64(const char *tok, size_t len, int64_t *out);
/* Parse a float token (strtof syntax, finite only); 0 if it is not one. */
int io_parse_f32(const char *tok, size_t len, float *out);

/* Print at most max bytes of a token for a message, as %.*s does. */
#define IO_TOKEN_SHOWN 40
static inline int io_shown(size_t len)
{
    return (int)(len < IO_TOKEN_SHOWN ? len : IO_TOKEN_SHOWN);
}

/* A splitmix64 stream: 64-bit state, so it is trivial to save and resume. */
typedef struct io_rng {
    uint64_t state;
} io_rng;

static inline void io_rng_seed(io_rng *r, uint64_t seed)
{
    r->state = seed;
}
uint64_t io_rng_next(io_rng *r);
/* Uniform in [0, n), n >= 1, without modulo bias. */
uint64_t io_rng_below(io_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double io_rng_normal(io_rng *r);

/* Internal vocabulary growth, for the dataset generator and the parsers:
 * append without the public checks (word must be valid and new). */
embcl_status io_vocab_append(embcl_vocab_t v, const char *word, size_t len, int64_t count,
                             const char *func);
embcl_status io_vocab_new(embcl_vocab_t *out, const char *func);
void io_vocab_add_count(embcl_vocab_t v, int64_t id, int64_t delta);
embcl_status io_vocab_build(const char *text, size_t len, const char *name, int64_t min_count,
                            const char *func, embcl_vocab_t *out);
embcl_status io_vocab_parse(const char *text, size_t len, const char *name, const char *func,
                            embcl_vocab_t *out);

#endif
