/* Vocabulary: words in one growing character arena, an open-addressing hash
 * table of ids, counts. Ids are assigned by embcl_vocab_build's order rule
 * (descending count, then first occurrence) or by insertion. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"

struct embcl_vocab {
    char *chars;          /* NUL-terminated words back to back */
    size_t chars_len, chars_cap;
    size_t *word_off;     /* [size] start of each word in chars */
    int64_t *counts;      /* [size] */
    int64_t size, cap;
    int64_t *slots;       /* [n_slots] ids, -1 empty; n_slots a power of two */
    size_t n_slots;
};

static uint64_t hash_word(const char *w, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 0x100000001b3ULL;
    return h ^ (h >> 32);
}

/* The slot holding word, or the empty slot where it would go. */
static size_t find_slot(const struct embcl_vocab *v, const char *w, size_t len)
{
    size_t mask = v->n_slots - 1;
    size_t i = (size_t)hash_word(w, len) & mask;
    for (;;) {
        int64_t id = v->slots[i];
        if (id < 0)
            return i;
        const char *s = v->chars + v->word_off[id];
        /* strnlen first: never read past a shorter stored word's NUL */
        if (strnlen(s, len + 1) == len && memcmp(s, w, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static embcl_status grow_slots(struct embcl_vocab *v, const char *func)
{
    size_t n = v->n_slots ? v->n_slots * 2 : 64;
    int64_t *s = embcl_malloc(n * sizeof *s, func);
    if (!s)
        return EMBCL_ERR_OUT_OF_MEMORY;
    memset(s, 0xff, n * sizeof *s);
    free(v->slots);
    v->slots = s;
    v->n_slots = n;
    for (int64_t id = 0; id < v->size; id++) {
        const char *w = v->chars + v->word_off[id];
        v->slots[find_slot(v, w, strlen(w))] = id;
    }
    return EMBCL_OK;
}

embcl_status io_vocab_new(embcl_vocab_t *out, const char *func)
{
    *out = NULL;
    struct embcl_vocab *v = embcl_calloc(1, sizeof *v, func);
    if (!v)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = grow_slots(v, func);
    if (s == EMBCL_OK)
        s = io_vocab_append(v, EMBCL_VOCAB_PAD_WORD, strlen(EMBCL_VOCAB_PAD_WORD), 0, func);
    if (s == EMBCL_OK)
        s = io_vocab_append(v, EMBCL_VOCAB_UNK_WORD, strlen(EMBCL_VOCAB_UNK_WORD), 0, func);
    if (s != EMBCL_OK) {
        embcl_vocab_free(v);
        return s;
    }
    *out = v;
    return EMBCL_OK;
}

embcl_status io_vocab_append(embcl_vocab_t v, const char *word, size_t len, int64_t count,
                             const char *func)
{
    if ((size_t)(v->size + 1) * 2 > v->n_slots)
        EMBCL_TRY(grow_slots(v, func));
    if (v->size == v->cap) {
        int64_t cap = v->cap ? v->cap * 2 : 64;
        size_t *off = embcl_realloc(v->word_off, (size_t)cap * sizeof *off, func);
        if (!off)
            return EMBCL_ERR_OUT_OF_MEMORY;
        v->word_off = off;
        int64_t *cnt = embcl_realloc(v->counts, (size_t)cap * sizeof *cnt, func);
        if (!cnt)
            return EMBCL_ERR_OUT_OF_MEMORY;
        v->counts = cnt;
        v->cap = cap;
    }
    if (v->chars_len + len + 1 > v->chars_cap) {
        size_t cap = v->chars_cap ? v->chars_cap : 1024;
        while (cap < v->chars_len + len + 1)
            cap *= 2;
        char *c = embcl_realloc(v->chars, cap, func);
        if (!c)
            return EMBCL_ERR_OUT_OF_MEMORY;
        v->chars = c;
        v->chars_cap = cap;
    }
    memcpy(v->chars + v->chars_len, word, len);
    v->chars[v->chars_len + len] = '\0';
    v->word_off[v->size] = v->chars_len;
    v->chars_len += len + 1;
    v->counts[v->size] = count;
    v->slots[find_slot(v, word, len)] = v->size;
    v->size++;
    return EMBCL_OK;
}

void io_vocab_add_count(embcl_vocab_t v, int64_t id, int64_t delta)
{
    v->counts[id] += delta;
}

void embcl_vocab_free(embcl_vocab_t v)
{
    if (!v)
        return;
    free(v->chars);
    free(v->word_off);
    free(v->counts);
    free(v->slots);
    free(v);
}

int64_t embcl_vocab_size(embcl_vocab_t v)
{
    return v ? v->size : 0;
}

int64_t embcl_vocab_find(embcl_vocab_t v, const char *word, size_t len)
{
    if (!v || !word)
        return -1;
    return v->slots[find_slot(v, word, len)];
}

const char *embcl_vocab_word(embcl_vocab_t v, int64_t id)
{
    return v && id >= 0 && id < v->size ? v->chars + v->word_off[id] : NULL;
}

int64_t embcl_vocab_count(embcl_vocab_t v, int64_t id)
{
    return v && id >= 0 && id < v->size ? v->counts[id] : -1;
}

embcl_status embcl_vocab_create(embcl_vocab_t *out)
{
    static const char *fn = "embcl_vocab_create";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    return io_vocab_new(out, fn);
}

embcl_status embcl_vocab_add(embcl_vocab_t v, const char *word, int64_t count, int64_t *id)
{
    static const char *fn = "embcl_vocab_add";
    EMBCL_CHECK_ARG(v, fn, "v is NULL");
    EMBCL_CHECK_ARG(word && *word, fn, "word is %s", word ? "empty" : "NULL");
    EMBCL_CHECK_ARG(count >= 0, fn, "count %lld for '%s' is negative", (long long)count, word);
    size_t len = strlen(word);
    for (size_t i = 0; i < len; i++)
        EMBCL_CHECK_ARG(!io_is_space((unsigned char)word[i]), fn,
                        "word '%s' holds whitespace at position %zu", word, i);
    int64_t old = embcl_vocab_find(v, word, len);
    EMBCL_CHECK_ARG(old < 0, fn, "word '%s' is already id %lld", word, (long long)old);
    EMBCL_TRY(io_vocab_append(v, word, len, count, fn));
    if (id)
        *id = v->size - 1;
    return EMBCL_OK;
}

/* ---- building from a corpus ---- */

typedef struct {
    int64_t count, id;
} ranked;

/* descending count, then first occurrence (the counting table's id) */
static int by_count(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

/* Count every token of text into tab (ids in first-occurrence order). */
static embcl_status count_tokens(embcl_vocab_t tab, const char *text, size_t len, const char *name,
                                 const char *func)
{
    io_lines it;
    io_lines_init(&it, text, len);
    const char *line;
    size_t n;
    while (io_lines_next(&it, &line, &n)) {
        EMBCL_TRY(io_check_no_nul(line, n, func, name, it.line));
        size_t pos = 0;
        const char *tok;
        size_t tl;
        while (io_next_token(line, n, &pos, &tok, &tl)) {
            int64_t id = tab->slots[find_slot(tab, tok, tl)];
            if (id < 0)
                EMBCL_TRY(io_vocab_append(tab, tok, tl, 1, func));
            else
                tab->counts[id]++;
        }
    }
    return EMBCL_OK;
}

embcl_status io_vocab_build(const char *text, size_t len, const char *name, int64_t min_count,
                            const char *func, embcl_vocab_t *out)
{
    *out = NULL;
    EMBCL_CHECK_ARG(text || len == 0, func, "text is NULL with len %zu", len);
    EMBCL_CHECK_ARG(min_count >= 1, func, "min_count is %lld; it must be >= 1", (long long)min_count);
    embcl_vocab_t tab = NULL, v = NULL;
    ranked *order = NULL;
    embcl_status s = io_vocab_new(&tab, func);
    if (s == EMBCL_OK)
        s = count_tokens(tab, text, len, name, func);
    if (s == EMBCL_OK && !(order = embcl_malloc((size_t)tab->size * sizeof *order, func)))
        s = EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK)
        s = io_vocab_new(&v, func);
    if (s == EMBCL_OK) {
        int64_t n = 0;
        for (int64_t id = 2; id < tab->size; id++)
            order[n++] = (ranked){tab->counts[id], id};
        qsort(order, (size_t)n, sizeof *order, by_count);
        v->counts[EMBCL_VOCAB_PAD] = tab->counts[EMBCL_VOCAB_PAD];
        v->counts[EMBCL_VOCAB_UNK] = tab->counts[EMBCL_VOCAB_UNK];
        for (int64_t i = 0; i < n && s == EMBCL_OK; i++) {
            int64_t id = order[i].id;
            const char *w = tab->chars + tab->word_off[id];
            if (tab->counts[id] >= min_count)
                s = io_vocab_append(v, w, strlen(w), tab->counts[id], func);
            else
                v->counts[EMBCL_VOCAB_UNK] += tab->counts[id];
        }
    }
    free(order);
    embcl_vocab_free(tab);
    if (s != EMBCL_OK) {
        embcl_vocab_free(v);
        return s;
    }
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_vocab_build(const char *text, size_t len, const char *name, int64_t min_count,
                               embcl_vocab_t *out)
{
    static const char *fn = "embcl_vocab_build";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    return io_vocab_build(text, len, name, min_count, fn, out);
}
