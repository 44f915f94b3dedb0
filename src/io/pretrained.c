/* GloVe and word2vec text vectors into a [V, D] table for a vocabulary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"

void embcl_pretrained_options_default(embcl_pretrained_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->init_scale = 1.0;
}

typedef struct {
    const char *name, *func;
    embcl_vocab_t v;
    int64_t dim;
    float *m;
    unsigned char *filled;  /* [V] */
    embcl_pretrained_stats *st;
} loader;

static int64_t count_fields(const char *line, size_t n)
{
    size_t pos = 0, tl;
    const char *tok;
    int64_t k = 0;
    while (io_next_token(line, n, &pos, &tok, &tl))
        k++;
    return k;
}

static embcl_status too_few_or_many(const loader *L, int64_t line_no, const char *w, size_t wl, int64_t found)
{
    return embcl_error(EMBCL_ERR_FORMAT, L->func, "%s line %lld: expected %lld numbers after '%.*s', found %lld",
                       io_name(L->name), (long long)line_no, (long long)L->dim, io_shown(wl), w,
                       (long long)found);
}

/* Parse the D numbers that follow position pos into row. */
static embcl_status parse_row(const loader *L, int64_t line_no, const char *line, size_t n, size_t pos,
                              const char *w, size_t wl, float *row)
{
    const char *tok;
    size_t tl;
    for (int64_t j = 0; j < L->dim; j++) {
        io_next_token(line, n, &pos, &tok, &tl);
        if (!io_parse_f32(tok, tl, &row[j]))
            return embcl_error(EMBCL_ERR_FORMAT, L->func,
                               "%s line %lld: number %lld after '%.*s' is '%.*s', not a finite number",
                               io_name(L->name), (long long)line_no, (long long)j + 1, io_shown(wl), w,
                               io_shown(tl), tok);
    }
    return EMBCL_OK;
}

/* Allocated once a row has shown D numbers, so a word2vec header cannot
 * make us allocate for a dimension the file does not have. */
static embcl_status ensure_matrix(loader *L)
{
    if (L->m)
        return EMBCL_OK;
    size_t V = (size_t)embcl_vocab_size(L->v);
    if ((uint64_t)L->dim > SIZE_MAX / sizeof(float) / (V ? V : 1))
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, L->func, "a [%zu, %lld] table does not fit in memory", V,
                           (long long)L->dim);
    L->m = embcl_malloc(V * (size_t)L->dim * sizeof(float), L->func);
    L->filled = L->m ? embcl_calloc(V, 1, L->func) : NULL;
    return L->filled ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
}

static embcl_status read_row(loader *L, int64_t line_no, const char *line, size_t n)
{
    int64_t fields = count_fields(line, n);
    size_t pos = 0, wl;
    const char *w;
    io_next_token(line, n, &pos, &w, &wl);
    if (fields < L->dim + 1)
        return too_few_or_many(L, line_no, w, wl, fields - 1);
    L->st->file_rows++;
    EMBCL_TRY(ensure_matrix(L));
    if (fields > L->dim + 1) {
        /* either a word with spaces (real GloVe files have a few) or too many
         * numbers: the extra leading fields decide */
        size_t p2 = pos, tl;
        const char *tok;
        float f;
        for (int64_t k = 1; k < fields - L->dim; k++) {
            io_next_token(line, n, &p2, &tok, &tl);
            if (io_parse_f32(tok, tl, &f))
                return too_few_or_many(L, line_no, w, wl, fields - 1);
        }
        L->st->multiword_rows++;
        return EMBCL_OK;
    }
    int64_t id = embcl_vocab_find(L->v, w, wl);
    if (id < 0)
        return EMBCL_OK;
    if (L->filled[id]) {
        L->st->duplicate_rows++;
        return EMBCL_OK;
    }
    EMBCL_TRY(parse_row(L, line_no, line, n, pos, w, wl, L->m + id * L->dim));
    L->filled[id] = 1;
    return EMBCL_OK;
}

/* Reads the first line: a word2vec header "COUNT D", or GloVe's first row. */
static embcl_status detect(loader *L, const char *line, size_t n, int64_t *w2v_rows)
{
    size_t pos = 0, tl[2];
    const char *tok[2];
    int64_t fields = count_fields(line, n), a, b;
    io_next_token(line, n, &pos, &tok[0], &tl[0]);
    if (fields == 2) {
        io_next_token(line, n, &pos, &tok[1], &tl[1]);
        if (io_parse_i64(tok[0], tl[0], &a) && io_parse_i64(tok[1], tl[1], &b)) {
            if (a < 0 || b < 1)
                return embcl_error(EMBCL_ERR_FORMAT, L->func,
                                   "%s line 1: word2vec header gives %lld rows of dimension %lld",
                                   io_name(L->name), (long long)a, (long long)b);
            L->st->format = EMBCL_PRETRAINED_WORD2VEC;
            *w2v_rows = a;
            L->dim = b;
            return EMBCL_OK;
        }
    }
    if (fields < 2)
        return embcl_error(EMBCL_ERR_FORMAT, L->func,
                           "%s line 1: expected a word and its numbers (GloVe) or 'COUNT DIM' (word2vec), found '%.*s'",
                           io_name(L->name), io_shown(n), line);
    L->st->format = EMBCL_PRETRAINED_GLOVE;
    L->dim = fields - 1;
    return EMBCL_OK;
}

static embcl_status scan(loader *L, const char *text, size_t len, const embcl_pretrained_options *opts)
{
    io_lines it;
    io_lines_init(&it, text, len);
    const char *line;
    size_t n;
    int64_t w2v_rows = -1;
    int have_first = 0;
    while (io_lines_next(&it, &line, &n)) {
        EMBCL_TRY(io_check_no_nul(line, n, L->func, L->name, it.line));
        if (count_fields(line, n) == 0)
            continue; /* blank lines carry nothing */
        if (!have_first) {
            have_first = 1;
            EMBCL_TRY(detect(L, line, n, &w2v_rows));
            if (opts->dim > 0 && opts->dim != L->dim)
                return embcl_error(EMBCL_ERR_SHAPE, L->func, "%s has vectors of dimension %lld; the model's is %lld",
                                   io_name(L->name), (long long)L->dim, (long long)opts->dim);
            if (w2v_rows >= 0)
                continue;
        }
        EMBCL_TRY(read_row(L, it.line, line, n));
    }
    if (w2v_rows >= 0 && w2v_rows != L->st->file_rows)
        return embcl_error(EMBCL_ERR_FORMAT, L->func, "%s: the word2vec header gives %lld rows, the file has %lld",
                           io_name(L->name), (long long)w2v_rows, (long long)L->st->file_rows);
    if (L->st->file_rows == 0)
        return embcl_error(EMBCL_ERR_FORMAT, L->func, "%s has no vectors", io_name(L->name));
    return EMBCL_OK;
}

/* Rows the file did not give: <pad> zeros, the rest N(0,1)*scale in id order. */
static void init_missing(loader *L, const embcl_pretrained_options *opts)
{
    io_rng rng;
    io_rng_seed(&rng, opts->seed);
    int64_t V = embcl_vocab_size(L->v);
    for (int64_t id = 0; id < V; id++) {
        float *row = L->m + id * L->dim;
        if (L->filled[id]) {
            L->st->found += id != EMBCL_VOCAB_PAD;
        } else if (id == EMBCL_VOCAB_PAD) {
            memset(row, 0, (size_t)L->dim * sizeof *row);
            L->st->pad_zeroed = 1;
        } else {
            for (int64_t j = 0; j < L->dim; j++)
                row[j] = (float)(io_rng_normal(&rng) * opts->init_scale);
            L->st->missing++;
        }
    }
}

static embcl_status pretrained(const char *text, size_t len, const char *name, embcl_vocab_t v,
                               const embcl_pretrained_options *opts, float **matrix,
                               embcl_pretrained_stats *stats, const char *func)
{
    EMBCL_CHECK_ARG(matrix, func, "matrix is NULL");
    *matrix = NULL;
    EMBCL_CHECK_ARG(v, func, "vocab is NULL");
    EMBCL_CHECK_ARG(text || len == 0, func, "text is NULL with len %zu", len);
    embcl_pretrained_options defaults;
    embcl_pretrained_options_default(&defaults);
    if (!opts)
        opts = &defaults;
    EMBCL_CHECK_ARG(opts->dim >= 0, func, "opts->dim is %lld", (long long)opts->dim);
    EMBCL_CHECK_ARG(opts->init_scale >= 0.0, func, "opts->init_scale is %g", opts->init_scale);
    embcl_pretrained_stats st;
    memset(&st, 0, sizeof st);
    st.vocab_size = embcl_vocab_size(v);
    st.init_scale = opts->init_scale;
    st.seed = opts->seed;
    loader L = {name, func, v, 0, NULL, NULL, &st};
    embcl_status s = scan(&L, text, len, opts);
    if (s == EMBCL_OK) {
        st.dim = L.dim;
        init_missing(&L, opts);
    }
    free(L.filled);
    if (s != EMBCL_OK) {
        free(L.m);
        return s;
    }
    *matrix = L.m;
    if (stats)
        *stats = st;
    return EMBCL_OK;
}

embcl_status embcl_pretrained_parse(const char *text, size_t len, const char *name, embcl_vocab_t v,
                                    const embcl_pretrained_options *opts, float **matrix,
                                    embcl_pretrained_stats *stats)
{
    return pretrained(text, len, name, v, opts, matrix, stats, "embcl_pretrained_parse");
}

embcl_status embcl_pretrained_load(const char *path, embcl_vocab_t v, const embcl_pretrained_options *opts,
                                   float **matrix, embcl_pretrained_stats *stats)
{
    static const char *fn = "embcl_pretrained_load";
    EMBCL_CHECK_ARG(matrix, fn, "matrix is NULL");
    *matrix = NULL;
    io_image img;
    EMBCL_TRY(io_image_open(path, fn, &img));
    embcl_status s = pretrained(img.data, img.len, path, v, opts, matrix, stats, fn);
    io_image_close(&img);
    return s;
}

size_t embcl_pretrained_describe(const embcl_pretrained_stats *st, char *buf, size_t cap)
{
    if (!st)
        return 0;
    int64_t words = st->found + st->missing;
    double pct = words ? 100.0 * (double)st->found / (double)words : 0.0;
    int n = snprintf(buf, buf ? cap : 0,
                     "pretrained %s D=%lld: %lld of %lld words found (%.1f%%), %lld missing initialised "
                     "N(0,1)*%g (seed %llu)%s; %lld file rows, %lld duplicate, %lld multi-word ignored",
                     st->format == EMBCL_PRETRAINED_WORD2VEC ? "word2vec" : "glove", (long long)st->dim,
                     (long long)st->found, (long long)words, pct, (long long)st->missing, st->init_scale,
                     (unsigned long long)st->seed, st->pad_zeroed ? ", <pad> zeros" : "",
                     (long long)st->file_rows, (long long)st->duplicate_rows, (long long)st->multiword_rows);
    return n < 0 ? 0 : (size_t)n;
}
