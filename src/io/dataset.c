/* The built-in dataset: sentences from a small grammar over planted topics,
 * sentiment and gender-paired roles. Integer arithmetic only, so a seed
 * gives the same bytes on every machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/dataset_words.h"
#include "io/io_impl.h"

static const char *FN = "embcl_dataset_generate";

struct embcl_dataset {
    embcl_vocab_t vocab;
    embcl_corpus_t corpus;
    int32_t *word_topic;
    int n_topics;
    const char *topic_names[DS_MAX_TOPICS];
    int64_t *role_pairs, n_pairs;
    int64_t *analogies, n_analogies;
    int64_t *positive, n_positive, *negative, n_negative;
};

#define WORD_CHARS 24

/* Words are numbered internally while generating ("slots"); vocabulary ids
 * are given at the end by the same rule as embcl_vocab_build. */
typedef struct gen {
    const embcl_dataset_options *o;
    io_rng rng;
    char (*text)[WORD_CHARS];
    int32_t *topic;  /* [n_words] */
    int n_words;
    int topic_base, det, link, cop, intens, verb, pos, neg, male, female, role_m, role_f, ctx, and_word;
    uint64_t *zipf_cum;  /* [words_per_topic] cumulative weights */
    int32_t *tok;
    int64_t n_tok, cap_tok;
    int64_t *off, *labels;
} gen;

void embcl_dataset_options_default(embcl_dataset_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_sentences = 40000;
    o->n_topics = DS_MAX_TOPICS;
    o->words_per_topic = 200;
    o->topic_purity_pct = 85;
    o->role_sentence_pct = 25;
}

static int add_word(gen *g, const char *w, int topic)
{
    snprintf(g->text[g->n_words], WORD_CHARS, "%s", w);
    g->topic[g->n_words] = topic;
    return g->n_words++;
}

static int add_list(gen *g, const ds_list *l)
{
    int first = g->n_words;
    for (int i = 0; i < l->n; i++)
        add_word(g, l->words[i], -1);
    return first;
}

static void make_words(gen *g)
{
    const int W = g->o->words_per_topic;
    char name[WORD_CHARS];
    g->topic_base = 0;
    for (int t = 0; t < g->o->n_topics; t++)
        for (int r = 0; r < W; r++) {
            if (r < DS_TOPIC_SEEDS)
                add_word(g, ds_topics[t].seeds[r], t);
            else {
                snprintf(name, sizeof name, "%s%03d", ds_topics[t].name, r);
                add_word(g, name, t);
            }
        }
    g->det = add_list(g, &ds_determiners);
    g->link = add_list(g, &ds_links);
    g->and_word = g->link + 3;  /* "and" */
    g->cop = add_list(g, &ds_copulas);
    g->intens = add_list(g, &ds_intensifiers);
    g->verb = add_list(g, &ds_role_verbs);
    g->pos = add_list(g, &ds_positive);
    g->neg = add_list(g, &ds_negative);
    g->male = add_list(g, &ds_male);
    g->female = add_list(g, &ds_female);
    g->role_m = g->n_words;
    for (int p = 0; p < DS_N_ROLES; p++)
        add_word(g, ds_roles[p].male, -1);
    g->role_f = g->n_words;
    for (int p = 0; p < DS_N_ROLES; p++)
        add_word(g, ds_roles[p].female, -1);
    g->ctx = g->n_words;
    for (int p = 0; p < DS_N_ROLES; p++)
        for (int k = 0; k < 2; k++)
            add_word(g, ds_roles[p].context[k], -1);
}

static int below(gen *g, int n)
{
    return (int)io_rng_below(&g->rng, (uint64_t)n);
}

static embcl_status emit(gen *g, int word)
{
    if (g->n_tok == g->cap_tok) {
        int64_t cap = g->cap_tok * 2;
        int32_t *t = embcl_realloc(g->tok, (size_t)cap * sizeof *t, FN);
        if (!t)
            return EMBCL_ERR_OUT_OF_MEMORY;
        g->tok = t;
        g->cap_tok = cap;
    }
    g->tok[g->n_tok++] = word;
    return EMBCL_OK;
}

/* A word of topic t (or, 100 - purity % of the time, of any topic), its
 * rank drawn with weight 1/(rank+1). */
static int topic_word(gen *g, int t)
{
    if (below(g, 100) >= g->o->topic_purity_pct)
        t = below(g, g->o->n_topics);
    const int W = g->o->words_per_topic;
    uint64_t x = io_rng_below(&g->rng, g->zipf_cum[W - 1]);
    int lo = 0, hi = W - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->zipf_cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return g->topic_base + t * W + lo;
}

static int sentiment_word(gen *g, int positive)
{
    return positive ? g->pos + below(g, ds_positive.n) : g->neg + below(g, ds_negative.n);
}

/* "... was very good [and lovely]" */
static embcl_status emit_judgement(gen *g, int positive)
{
    EMBCL_TRY(emit(g, g->cop + below(g, ds_copulas.n)));
    if (below(g, 2))
        EMBCL_TRY(emit(g, g->intens + below(g, ds_intensifiers.n)));
    EMBCL_TRY(emit(g, sentiment_word(g, positive)));
    if (below(g, 3) == 0) {
        EMBCL_TRY(emit(g, g->and_word));
        EMBCL_TRY(emit(g, sentiment_word(g, positive)));
    }
    return EMBCL_OK;
}

/* "the bread with a sauce was very good" */
static embcl_status topic_sentence(gen *g, int positive)
{
    int t = below(g, g->o->n_topics);
    EMBCL_TRY(emit(g, g->det + below(g, ds_determiners.n)));
    EMBCL_TRY(emit(g, topic_word(g, t)));
    for (int k = 1 + below(g, 2); k > 0; k--) {
        EMBCL_TRY(emit(g, g->link + below(g, ds_links.n)));
        if (below(g, 2))
            EMBCL_TRY(emit(g, g->det + below(g, ds_determiners.n)));
        EMBCL_TRY(emit(g, topic_word(g, t)));
    }
    return emit_judgement(g, positive);
}

/* "the queen visited her throne and she was happy": both forms of a role
 * share its context words; only the gender markers differ. */
static embcl_status role_sentence(gen *g, int positive)
{
    int p = below(g, DS_N_ROLES), female = below(g, 2);
    int gender = female ? g->female : g->male;
    EMBCL_TRY(emit(g, g->det));  /* "the" */
    EMBCL_TRY(emit(g, (female ? g->role_f : g->role_m) + p));
    EMBCL_TRY(emit(g, g->verb + below(g, ds_role_verbs.n)));
    EMBCL_TRY(emit(g, below(g, 2) ? gender + 1 /* his / her */ : g->det + below(g, ds_determiners.n)));
    EMBCL_TRY(emit(g, g->ctx + 2 * p + below(g, 2)));
    EMBCL_TRY(emit(g, g->and_word));
    EMBCL_TRY(emit(g, gender + below(g, ds_male.n)));
    return emit_judgement(g, positive);
}

static embcl_status generate_sentences(gen *g)
{
    const int64_t n = g->o->n_sentences;
    g->cap_tok = n * 12 + 16;
    g->tok = embcl_malloc((size_t)g->cap_tok * sizeof *g->tok, FN);
    g->off = embcl_malloc((size_t)(n + 1) * sizeof *g->off, FN);
    g->labels = embcl_malloc((size_t)n * sizeof *g->labels, FN);
    if (!g->tok || !g->off || !g->labels)
        return EMBCL_ERR_OUT_OF_MEMORY;
    g->off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int positive = below(g, 2);
        g->labels[i] = positive;
        if (below(g, 100) < g->o->role_sentence_pct)
            EMBCL_TRY(role_sentence(g, positive));
        else
            EMBCL_TRY(topic_sentence(g, positive));
        g->off[i + 1] = g->n_tok;
    }
    return EMBCL_OK;
}

typedef struct {
    int64_t count, first;
    int slot;
} slot_rank;

static int by_count(const void *a, const void *b)
{
    const slot_rank *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : (x->first > y->first);
}

/* Vocabulary ids by descending count then first occurrence, as for a user's
 * corpus; words that never occurred are left out. slot_id[slot] = id or -1. */
static embcl_status assign_ids(gen *g, embcl_dataset_t ds, int64_t *slot_id)
{
    slot_rank *r = embcl_malloc((size_t)g->n_words * sizeof *r, FN);
    if (!r)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int s = 0; s < g->n_words; s++)
        r[s] = (slot_rank){0, g->n_tok, s};
    for (int64_t i = g->n_tok - 1; i >= 0; i--) {
        r[g->tok[i]].count++;
        r[g->tok[i]].first = i;
    }
    qsort(r, (size_t)g->n_words, sizeof *r, by_count);
    embcl_status s = io_vocab_new(&ds->vocab, FN);
    for (int k = 0; k < g->n_words && s == EMBCL_OK; k++) {
        slot_id[r[k].slot] = -1;
        if (r[k].count == 0)
            continue;
        const char *w = g->text[r[k].slot];
        if (embcl_vocab_find(ds->vocab, w, strlen(w)) >= 0)
            s = embcl_error(EMBCL_ERR_STATE, FN, "the word lists hold '%s' twice", w);
        else
            s = io_vocab_append(ds->vocab, w, strlen(w), r[k].count, FN);
        slot_id[r[k].slot] = embcl_vocab_size(ds->vocab) - 1;
    }
    free(r);
    return s;
}

static embcl_status ids_of(const int64_t *slot_id, int first, int n, int64_t **out, int64_t *n_out)
{
    *out = embcl_malloc((size_t)n * sizeof **out, FN);
    if (!*out)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *n_out = 0;
    for (int i = 0; i < n; i++)
        if (slot_id[first + i] >= 0)
            (*out)[(*n_out)++] = slot_id[first + i];
    return EMBCL_OK;
}

static embcl_status make_truth(gen *g, embcl_dataset_t ds, const int64_t *slot_id)
{
    int64_t V = embcl_vocab_size(ds->vocab);
    ds->n_topics = g->o->n_topics;
    for (int t = 0; t < ds->n_topics; t++)
        ds->topic_names[t] = ds_topics[t].name;
    ds->word_topic = embcl_malloc((size_t)V * sizeof *ds->word_topic, FN);
    ds->role_pairs = embcl_malloc(2 * DS_N_ROLES * sizeof *ds->role_pairs, FN);
    ds->analogies = embcl_malloc(4 * DS_N_ROLES * DS_N_ROLES * sizeof *ds->analogies, FN);
    if (!ds->word_topic || !ds->role_pairs || !ds->analogies)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t id = 0; id < V; id++)
        ds->word_topic[id] = -1;
    for (int s = 0; s < g->n_words; s++)
        if (slot_id[s] >= 0)
            ds->word_topic[slot_id[s]] = g->topic[s];
    for (int p = 0; p < DS_N_ROLES; p++) {
        int64_t m = slot_id[g->role_m + p], f = slot_id[g->role_f + p];
        if (m < 0 || f < 0)
            continue;
        ds->role_pairs[2 * ds->n_pairs] = m;
        ds->role_pairs[2 * ds->n_pairs + 1] = f;
        ds->n_pairs++;
    }
    for (int64_t p = 0; p < ds->n_pairs; p++)
        for (int64_t q = 0; q < ds->n_pairs; q++) {
            if (p == q)
                continue;
            int64_t *a = ds->analogies + 4 * ds->n_analogies++;
            a[0] = ds->role_pairs[2 * p];
            a[1] = ds->role_pairs[2 * p + 1];
            a[2] = ds->role_pairs[2 * q];
            a[3] = ds->role_pairs[2 * q + 1];
        }
    EMBCL_TRY(ids_of(slot_id, g->pos, ds_positive.n, &ds->positive, &ds->n_positive));
    return ids_of(slot_id, g->neg, ds_negative.n, &ds->negative, &ds->n_negative);
}

static embcl_status check_options(const embcl_dataset_options *o)
{
    EMBCL_CHECK_ARG(o->n_sentences >= 1 && o->n_sentences <= 100000000, FN, "opts->n_sentences is %lld (1..1e8)",
                    (long long)o->n_sentences);
    EMBCL_CHECK_ARG(o->n_topics >= 1 && o->n_topics <= DS_MAX_TOPICS, FN, "opts->n_topics is %d (1..%d)",
                    o->n_topics, DS_MAX_TOPICS);
    EMBCL_CHECK_ARG(o->words_per_topic >= 16 && o->words_per_topic <= 999, FN,
                    "opts->words_per_topic is %d (16..999)", o->words_per_topic);
    EMBCL_CHECK_ARG(o->topic_purity_pct >= 0 && o->topic_purity_pct <= 100, FN, "opts->topic_purity_pct is %d",
                    o->topic_purity_pct);
    EMBCL_CHECK_ARG(o->role_sentence_pct >= 0 && o->role_sentence_pct <= 100, FN, "opts->role_sentence_pct is %d",
                    o->role_sentence_pct);
    return EMBCL_OK;
}

static embcl_status build(gen *g, embcl_dataset_t ds)
{
    const int W = g->o->words_per_topic;
    int max_words = DS_MAX_TOPICS * W + 200;
    g->text = embcl_malloc((size_t)max_words * sizeof *g->text, FN);
    g->topic = embcl_malloc((size_t)max_words * sizeof *g->topic, FN);
    g->zipf_cum = embcl_malloc((size_t)W * sizeof *g->zipf_cum, FN);
    if (!g->text || !g->topic || !g->zipf_cum)
        return EMBCL_ERR_OUT_OF_MEMORY;
    uint64_t sum = 0;
    for (int r = 0; r < W; r++)
        g->zipf_cum[r] = sum += 1000000u / (uint64_t)(r + 1);
    make_words(g);
    EMBCL_TRY(generate_sentences(g));
    int64_t *slot_id = embcl_malloc((size_t)g->n_words * sizeof *slot_id, FN);
    if (!slot_id)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = assign_ids(g, ds, slot_id);
    int64_t *ids = s == EMBCL_OK ? embcl_malloc((size_t)(g->n_tok ? g->n_tok : 1) * sizeof *ids, FN) : NULL;
    if (s == EMBCL_OK && !ids)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; s == EMBCL_OK && i < g->n_tok; i++)
        ids[i] = slot_id[g->tok[i]];
    if (s == EMBCL_OK)
        s = embcl_corpus_from_ids(ids, g->n_tok, g->off, g->o->n_sentences, g->labels,
                                  embcl_vocab_size(ds->vocab), &ds->corpus);
    if (s == EMBCL_OK)
        s = make_truth(g, ds, slot_id);
    free(ids);
    free(slot_id);
    return s == EMBCL_OK ? s : embcl_error_context(s, FN);
}

embcl_status embcl_dataset_generate(const embcl_dataset_options *opts, embcl_dataset_t *out)
{
    EMBCL_CHECK_ARG(out, FN, "out is NULL");
    *out = NULL;
    embcl_dataset_options defaults;
    embcl_dataset_options_default(&defaults);
    const embcl_dataset_options *o = opts ? opts : &defaults;
    EMBCL_TRY(check_options(o));
    struct embcl_dataset *ds = embcl_calloc(1, sizeof *ds, FN);
    if (!ds)
        return EMBCL_ERR_OUT_OF_MEMORY;
    gen g;
    memset(&g, 0, sizeof g);
    g.o = o;
    io_rng_seed(&g.rng, o->seed);
    embcl_status s = build(&g, ds);
    free(g.text);
    free(g.topic);
    free(g.zipf_cum);
    free(g.tok);
    free(g.off);
    free(g.labels);
    if (s != EMBCL_OK) {
        embcl_dataset_free(ds);
        return s;
    }
    *out = ds;
    return EMBCL_OK;
}

void embcl_dataset_free(embcl_dataset_t ds)
{
    if (!ds)
        return;
    embcl_vocab_free(ds->vocab);
    embcl_corpus_free(ds->corpus);
    free(ds->word_topic);
    free(ds->role_pairs);
    free(ds->analogies);
    free(ds->positive);
    free(ds->negative);
    free(ds);
}

embcl_vocab_t embcl_dataset_vocab(embcl_dataset_t ds)
{
    return ds ? ds->vocab : NULL;
}

embcl_corpus_t embcl_dataset_corpus(embcl_dataset_t ds)
{
    return ds ? ds->corpus : NULL;
}

void embcl_dataset_truth_get(embcl_dataset_t ds, embcl_dataset_truth *t)
{
    memset(t, 0, sizeof *t);
    if (!ds)
        return;
    t->word_topic = ds->word_topic;
    t->n_topics = ds->n_topics;
    t->topic_names = ds->topic_names;
    t->role_pairs = ds->role_pairs;
    t->n_pairs = ds->n_pairs;
    t->analogies = ds->analogies;
    t->n_analogies = ds->n_analogies;
    t->positive_words = ds->positive;
    t->n_positive = ds->n_positive;
    t->negative_words = ds->negative;
    t->n_negative = ds->n_negative;
}
