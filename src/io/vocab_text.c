/* The vocabulary's text file: "embcl-vocab 1 SIZE", then "WORD COUNT" per id. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"

#define VOCAB_MAGIC "embcl-vocab"

static embcl_status vocab_text(embcl_vocab_t v, embcl_strbuf *b)
{
    int64_t n = embcl_vocab_size(v);
    EMBCL_TRY(embcl_strbuf_appendf(b, VOCAB_MAGIC " 1 %lld\n", (long long)n));
    for (int64_t id = 0; id < n; id++)
        EMBCL_TRY(embcl_strbuf_appendf(b, "%s %lld\n", embcl_vocab_word(v, id), (long long)embcl_vocab_count(v, id)));
    return EMBCL_OK;
}

static embcl_status fill_vocab(int fd, void *ctx, const char *func, const char *path)
{
    embcl_strbuf b = {0};
    embcl_status s = vocab_text(ctx, &b);
    if (s == EMBCL_OK)
        s = io_write_all(fd, b.data, b.len, func, path);
    embcl_strbuf_free(&b);
    return s == EMBCL_OK ? s : embcl_error_context(s, func);
}

embcl_status embcl_vocab_save(embcl_vocab_t v, const char *path)
{
    static const char *fn = "embcl_vocab_save";
    EMBCL_CHECK_ARG(v, fn, "v is NULL");
    return io_write_atomic(path, fn, fill_vocab, v);
}

embcl_status embcl_vocab_serialize(embcl_vocab_t v, char **text, size_t *len)
{
    static const char *fn = "embcl_vocab_serialize";
    EMBCL_CHECK_ARG(v && text && len, fn, "%s is NULL", !v ? "v" : !text ? "text" : "len");
    *text = NULL;
    *len = 0;
    embcl_strbuf b = {0};
    embcl_status s = vocab_text(v, &b);
    if (s != EMBCL_OK) {
        embcl_strbuf_free(&b);
        return embcl_error_context(s, fn);
    }
    *text = b.data;
    *len = b.len;
    return EMBCL_OK;
}

/* Up to want tokens of a line; *got says how many there were (up to want+1). */
static int split(const char *line, size_t n, const char **tok, size_t *tl, int want)
{
    size_t pos = 0;
    int got = 0;
    while (got <= want && io_next_token(line, n, &pos, &tok[got], &tl[got]))
        got++;
    return got;
}

static embcl_status parse_header(const char *line, size_t n, const char *name, const char *func,
                                 int64_t *size)
{
    const char *tok[4];
    size_t tl[4];
    int got = split(line, n, tok, tl, 3);
    int64_t version = 0;
    if (got != 3 || tl[0] != strlen(VOCAB_MAGIC) || memcmp(tok[0], VOCAB_MAGIC, tl[0]) != 0 ||
        !io_parse_i64(tok[1], tl[1], &version) || !io_parse_i64(tok[2], tl[2], size))
        return embcl_error(EMBCL_ERR_FORMAT, func, "%s line 1: expected '" VOCAB_MAGIC " 1 SIZE', found '%.*s'",
                           io_name(name), io_shown(n), line);
    if (version != 1)
        return embcl_error(EMBCL_ERR_FORMAT, func, "%s line 1: version %lld; this embcl reads version 1",
                           io_name(name), (long long)version);
    if (*size < 2)
        return embcl_error(EMBCL_ERR_FORMAT, func, "%s line 1: size %lld; a vocabulary has at least <pad> and <unk>",
                           io_name(name), (long long)*size);
    return EMBCL_OK;
}

/* One "WORD COUNT" line for id, appended to v (ids 0 and 1 are checked
 * against the reserved words v already has). */
static embcl_status parse_entry(embcl_vocab_t v, int64_t id, const char *line, size_t n, const char *name,
                                int64_t line_no, const char *func)
{
    const char *tok[3];
    size_t tl[3];
    int got = split(line, n, tok, tl, 2);
    int64_t count = 0;
    if (got != 2 || !io_parse_i64(tok[1], tl[1], &count) || count < 0)
        return embcl_error(EMBCL_ERR_FORMAT, func,
                           "%s line %lld: expected 'WORD COUNT' (a count >= 0), found '%.*s'", io_name(name),
                           (long long)line_no, io_shown(n), line);
    if (id <= EMBCL_VOCAB_UNK) {
        const char *want = embcl_vocab_word(v, id);
        if (tl[0] != strlen(want) || memcmp(tok[0], want, tl[0]) != 0)
            return embcl_error(EMBCL_ERR_FORMAT, func, "%s line %lld: id %lld must be '%s', found '%.*s'",
                               io_name(name), (long long)line_no, (long long)id, want, io_shown(tl[0]), tok[0]);
        io_vocab_add_count(v, id, count);
        return EMBCL_OK;
    }
    int64_t old = embcl_vocab_find(v, tok[0], tl[0]);
    if (old >= 0)
        return embcl_error(EMBCL_ERR_FORMAT, func, "%s line %lld: word '%.*s' repeats id %lld", io_name(name),
                           (long long)line_no, io_shown(tl[0]), tok[0], (long long)old);
    return io_vocab_append(v, tok[0], tl[0], count, func);
}

embcl_status io_vocab_parse(const char *text, size_t len, const char *name, const char *func,
                            embcl_vocab_t *out)
{
    *out = NULL;
    EMBCL_CHECK_ARG(text || len == 0, func, "text is NULL with len %zu", len);
    io_lines it;
    io_lines_init(&it, text, len);
    const char *line;
    size_t n;
    if (!io_lines_next(&it, &line, &n))
        return embcl_error(EMBCL_ERR_FORMAT, func, "%s is empty; expected '" VOCAB_MAGIC " 1 SIZE'",
                           io_name(name));
    int64_t size = 0;
    EMBCL_TRY(io_check_no_nul(line, n, func, name, it.line));
    EMBCL_TRY(parse_header(line, n, name, func, &size));
    embcl_vocab_t v = NULL;
    embcl_status s = io_vocab_new(&v, func);
    int64_t id = 0;
    while (s == EMBCL_OK && io_lines_next(&it, &line, &n)) {
        s = io_check_no_nul(line, n, func, name, it.line);
        if (s == EMBCL_OK && id >= size)
            s = embcl_error(EMBCL_ERR_FORMAT, func, "%s line %lld: more entries than the %lld the header gives",
                            io_name(name), (long long)it.line, (long long)size);
        if (s == EMBCL_OK)
            s = parse_entry(v, id++, line, n, name, it.line, func);
    }
    if (s == EMBCL_OK && id != size)
        s = embcl_error(EMBCL_ERR_FORMAT, func, "%s: the header gives %lld entries, the file has %lld",
                        io_name(name), (long long)size, (long long)id);
    if (s != EMBCL_OK) {
        embcl_vocab_free(v);
        return s;
    }
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_vocab_parse(const char *text, size_t len, const char *name, embcl_vocab_t *out)
{
    static const char *fn = "embcl_vocab_parse";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    return io_vocab_parse(text, len, name, fn, out);
}

embcl_status embcl_vocab_load(const char *path, embcl_vocab_t *out)
{
    static const char *fn = "embcl_vocab_load";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    io_image img;
    EMBCL_TRY(io_image_open(path, fn, &img));
    embcl_status s = io_vocab_parse(img.data, img.len, path, fn, out);
    io_image_close(&img);
    return s;
}
