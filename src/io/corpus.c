/* Corpora: text encoded to ids, one sentence a line, optional labels. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"

struct embcl_corpus {
    int64_t *tokens, n_tokens, cap_tokens;
    int64_t *offsets, n_sentences, cap_sentences;  /* offsets has cap_sentences + 1 */
    int64_t *labels;
    int64_t n_classes;
};

void embcl_corpus_free(embcl_corpus_t c)
{
    if (!c)
        return;
    free(c->tokens);
    free(c->offsets);
    free(c->labels);
    free(c);
}

void embcl_corpus_get(embcl_corpus_t c, embcl_corpus_view *view)
{
    memset(view, 0, sizeof *view);
    if (!c)
        return;
    view->tokens = c->tokens;
    view->n_tokens = c->n_tokens;
    view->offsets = c->offsets;
    view->n_sentences = c->n_sentences;
    view->labels = c->labels;
    view->n_classes = c->n_classes;
}

static embcl_status corpus_new(int64_t cap_tokens, int64_t cap_sentences, const char *func, embcl_corpus_t *out)
{
    struct embcl_corpus *c = embcl_calloc(1, sizeof *c, func);
    if (!c)
        return EMBCL_ERR_OUT_OF_MEMORY;
    c->cap_tokens = cap_tokens > 0 ? cap_tokens : 1;
    c->cap_sentences = cap_sentences > 0 ? cap_sentences : 1;
    c->tokens = embcl_malloc((size_t)c->cap_tokens * sizeof *c->tokens, func);
    c->offsets = c->tokens ? embcl_malloc((size_t)(c->cap_sentences + 1) * sizeof *c->offsets, func) : NULL;
    if (!c->offsets) {
        embcl_corpus_free(c);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    c->offsets[0] = 0;
    *out = c;
    return EMBCL_OK;
}

/* A pass that only counts lines and tokens, so the arrays are sized once. */
static void count_text(const char *text, size_t len, int64_t *lines, int64_t *tokens)
{
    io_lines it;
    io_lines_init(&it, text, len);
    const char *line, *tok;
    size_t n, pos, tl;
    *tokens = 0;
    while (io_lines_next(&it, &line, &n))
        for (pos = 0; io_next_token(line, n, &pos, &tok, &tl);)
            (*tokens)++;
    *lines = it.line;
}

static embcl_status encode(embcl_vocab_t v, const char *text, size_t len, const char *name, const char *func,
                           embcl_corpus_t *out)
{
    *out = NULL;
    EMBCL_CHECK_ARG(v, func, "vocab is NULL");
    EMBCL_CHECK_ARG(text || len == 0, func, "text is NULL with len %zu", len);
    int64_t n_lines, n_tokens;
    count_text(text, len, &n_lines, &n_tokens);
    embcl_corpus_t c;
    EMBCL_TRY(corpus_new(n_tokens, n_lines, func, &c));
    io_lines it;
    io_lines_init(&it, text, len);
    const char *line, *tok;
    size_t n, pos, tl;
    while (io_lines_next(&it, &line, &n)) {
        embcl_status s = io_check_no_nul(line, n, func, name, it.line);
        if (s != EMBCL_OK) {
            embcl_corpus_free(c);
            return s;
        }
        for (pos = 0; io_next_token(line, n, &pos, &tok, &tl);) {
            int64_t id = embcl_vocab_find(v, tok, tl);
            c->tokens[c->n_tokens++] = id < 0 ? EMBCL_VOCAB_UNK : id;
        }
        c->offsets[++c->n_sentences] = c->n_tokens;
    }
    *out = c;
    return EMBCL_OK;
}

embcl_status embcl_corpus_encode(embcl_vocab_t v, const char *text, size_t len, const char *name,
                                 embcl_corpus_t *out)
{
    static const char *fn = "embcl_corpus_encode";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    return encode(v, text, len, name, fn, out);
}

embcl_status embcl_corpus_load(const char *path, embcl_vocab_t vocab, int64_t min_count,
                               embcl_vocab_t *vocab_out, embcl_corpus_t *out)
{
    static const char *fn = "embcl_corpus_load";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    EMBCL_CHECK_ARG(vocab || vocab_out, fn, "vocab and vocab_out are both NULL");
    *out = NULL;
    if (vocab_out)
        *vocab_out = NULL;
    io_image img;
    EMBCL_TRY(io_image_open(path, fn, &img));
    embcl_vocab_t built = NULL;
    embcl_status s = EMBCL_OK;
    if (!vocab) {
        s = io_vocab_build(img.data, img.len, path, min_count, fn, &built);
        vocab = built;
    }
    if (s == EMBCL_OK)
        s = encode(vocab, img.data, img.len, path, fn, out);
    io_image_close(&img);
    if (s != EMBCL_OK) {
        embcl_vocab_free(built);
        return s;
    }
    if (vocab_out)
        *vocab_out = built;
    return EMBCL_OK;
}

embcl_status embcl_corpus_from_ids(const int64_t *tokens, int64_t n_tokens, const int64_t *offsets,
                                   int64_t n_sentences, const int64_t *labels, int64_t vocab_size,
                                   embcl_corpus_t *out)
{
    static const char *fn = "embcl_corpus_from_ids";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    EMBCL_CHECK_ARG(n_tokens >= 0 && (tokens || n_tokens == 0), fn, "tokens is NULL or n_tokens %lld < 0",
                    (long long)n_tokens);
    EMBCL_CHECK_ARG(n_sentences >= 0 && offsets, fn, "offsets is NULL or n_sentences %lld < 0",
                    (long long)n_sentences);
    EMBCL_CHECK_ARG(vocab_size >= 2, fn, "vocab_size is %lld; it must be >= 2", (long long)vocab_size);
    for (int64_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab_size)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "tokens[%lld] = %lld is outside [0, %lld)",
                               (long long)i, (long long)tokens[i], (long long)vocab_size);
    if (offsets[0] != 0 || offsets[n_sentences] != n_tokens)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                           "offsets must run from 0 to n_tokens %lld; they run from %lld to %lld",
                           (long long)n_tokens, (long long)offsets[0], (long long)offsets[n_sentences]);
    for (int64_t i = 0; i < n_sentences; i++)
        if (offsets[i + 1] < offsets[i])
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "offsets[%lld] = %lld is below offsets[%lld] = %lld",
                               (long long)i + 1, (long long)offsets[i + 1], (long long)i, (long long)offsets[i]);
    int64_t max_label = -1;
    for (int64_t i = 0; labels && i < n_sentences; i++) {
        if (labels[i] < 0)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "labels[%lld] = %lld is negative", (long long)i,
                               (long long)labels[i]);
        max_label = labels[i] > max_label ? labels[i] : max_label;
    }
    embcl_corpus_t c;
    EMBCL_TRY(corpus_new(n_tokens, n_sentences, fn, &c));
    if (labels && !(c->labels = embcl_malloc((size_t)(n_sentences ? n_sentences : 1) * sizeof *labels, fn))) {
        embcl_corpus_free(c);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    if (n_tokens)
        memcpy(c->tokens, tokens, (size_t)n_tokens * sizeof *tokens);
    memcpy(c->offsets, offsets, (size_t)(n_sentences + 1) * sizeof *offsets);
    if (labels && n_sentences)
        memcpy(c->labels, labels, (size_t)n_sentences * sizeof *labels);
    c->n_tokens = n_tokens;
    c->n_sentences = n_sentences;
    c->n_classes = labels ? max_label + 1 : 0;
    *out = c;
    return EMBCL_OK;
}

/* ---- labels ---- */

static embcl_status parse_labels(embcl_corpus_t c, const char *text, size_t len, const char *name,
                                 const char *func)
{
    EMBCL_CHECK_ARG(c, func, "corpus is NULL");
    EMBCL_CHECK_ARG(text || len == 0, func, "text is NULL with len %zu", len);
    int64_t *labels = embcl_malloc((size_t)(c->n_sentences ? c->n_sentences : 1) * sizeof *labels, func);
    if (!labels)
        return EMBCL_ERR_OUT_OF_MEMORY;
    io_lines it;
    io_lines_init(&it, text, len);
    const char *line, *tok, *extra;
    size_t n, pos, tl, el;
    int64_t max_label = -1;
    embcl_status s = EMBCL_OK;
    while (s == EMBCL_OK && io_lines_next(&it, &line, &n)) {
        int64_t value = 0;
        pos = 0;
        s = io_check_no_nul(line, n, func, name, it.line);
        if (s != EMBCL_OK)
            break;
        if (!io_next_token(line, n, &pos, &tok, &tl) || io_next_token(line, n, &pos, &extra, &el) ||
            !io_parse_i64(tok, tl, &value) || value < 0)
            s = embcl_error(EMBCL_ERR_FORMAT, func, "%s line %lld: expected one integer label >= 0, found '%.*s'",
                            io_name(name), (long long)it.line, io_shown(n), line);
        else if (it.line > c->n_sentences)
            break; /* too many lines: counted below */
        else {
            labels[it.line - 1] = value;
            max_label = value > max_label ? value : max_label;
        }
    }
    if (s == EMBCL_OK) {
        while (io_lines_next(&it, &line, &n)) {
        }
        if (it.line != c->n_sentences)
            s = embcl_error(EMBCL_ERR_FORMAT, func, "%s has %lld label lines but the corpus has %lld sentences",
                            io_name(name), (long long)it.line, (long long)c->n_sentences);
    }
    if (s != EMBCL_OK) {
        free(labels);
        return s;
    }
    free(c->labels);
    c->labels = labels;
    c->n_classes = max_label + 1;
    return EMBCL_OK;
}

embcl_status embcl_corpus_parse_labels(embcl_corpus_t c, const char *text, size_t len, const char *name)
{
    return parse_labels(c, text, len, name, "embcl_corpus_parse_labels");
}

embcl_status embcl_corpus_load_labels(embcl_corpus_t c, const char *path)
{
    static const char *fn = "embcl_corpus_load_labels";
    EMBCL_CHECK_ARG(c, fn, "corpus is NULL");
    io_image img;
    EMBCL_TRY(io_image_open(path, fn, &img));
    embcl_status s = parse_labels(c, img.data, img.len, path, fn);
    io_image_close(&img);
    return s;
}
