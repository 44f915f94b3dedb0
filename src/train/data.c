/* What each step reads: the language model's stream windows and the
 * classifier's bags, both functions of the seed and the step number only,
 * so a resumed run reads what an uninterrupted one would have. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "train/train_impl.h"

static const char *FN = "embcl_trainer_create";

uint64_t train_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Sentences [first, last) followed each by <eos>, as one stream. */
static embcl_status make_stream(struct embcl_trainer *tr, int64_t first, int64_t last, int64_t **out, int64_t *n)
{
    int64_t len = tr->offsets[last] - tr->offsets[first] + (last - first);
    int64_t *s = embcl_malloc((size_t)(len ? len : 1) * sizeof *s, FN);
    if (!s)
        return EMBCL_ERR_OUT_OF_MEMORY;
    int64_t k = 0;
    for (int64_t i = first; i < last; i++) {
        for (int64_t t = tr->offsets[i]; t < tr->offsets[i + 1]; t++)
            s[k++] = tr->tokens[t];
        s[k++] = tr->eos;
    }
    *out = s;
    *n = len;
    return EMBCL_OK;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Bags as long as 90 % of the training sentences: longer ones are cut,
 * shorter ones padded, and padding stays a minority of the lookups. */
static embcl_status auto_bag_len(struct embcl_trainer *tr)
{
    int64_t n = tr->n_train_sent, *len = embcl_malloc((size_t)n * sizeof *len, FN);
    if (!len)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; i < n; i++)
        len[i] = tr->offsets[i + 1] - tr->offsets[i];
    qsort(len, (size_t)n, sizeof *len, by_value);
    int64_t L = len[(n - 1) * 9 / 10];
    free(len);
    tr->cfg.bag_len = L < 1 ? 1 : L;
    return EMBCL_OK;
}

embcl_status train_data_init(struct embcl_trainer *tr, embcl_corpus_t corpus)
{
    const embcl_train_config *c = &tr->cfg;
    embcl_corpus_view cv;
    embcl_corpus_get(corpus, &cv);
    tr->tokens = cv.tokens;
    tr->offsets = cv.offsets;
    tr->labels = cv.labels;
    tr->n_sentences = cv.n_sentences;
    tr->n_classes = cv.labels ? cv.n_classes : 0;
    for (int64_t i = 0; i < cv.n_tokens; i++)
        if (cv.tokens[i] < 0 || cv.tokens[i] >= tr->V)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, FN,
                               "token %lld of the corpus is id %lld; the vocabulary has %lld words (a corpus encoded "
                               "with another vocabulary?)",
                               (long long)i, (long long)cv.tokens[i], (long long)tr->V);
    tr->n_valid_sent = cv.n_sentences * c->valid_pct / 100;
    tr->n_train_sent = cv.n_sentences - tr->n_valid_sent;
    if (tr->n_train_sent < 1 || tr->n_valid_sent < 1)
        return embcl_error(EMBCL_ERR_INVALID_ARG, FN,
                           "the corpus has %lld sentences; at least 2 are needed (one to train on, one held out "
                           "at --valid-pct %d)",
                           (long long)cv.n_sentences, c->valid_pct);
    if (tr->cfg.bag_len == 0)
        EMBCL_TRY(auto_bag_len(tr));
    EMBCL_TRY(make_stream(tr, 0, tr->n_train_sent, &tr->train_stream, &tr->n_train_stream));
    EMBCL_TRY(make_stream(tr, tr->n_train_sent, cv.n_sentences, &tr->valid_stream, &tr->n_valid_stream));
    tr->ncol = tr->n_train_stream / c->batch;
    tr->steps_per_epoch = tr->ncol > 1 ? (tr->ncol - 1) / c->bptt : 0;
    if (tr->steps_per_epoch < 1)
        return embcl_error(EMBCL_ERR_INVALID_ARG, FN,
                           "the training text has %lld tokens: too few for one step of --batch %lld x --bptt %lld "
                           "(it needs batch * (bptt + 1))",
                           (long long)tr->n_train_stream, (long long)c->batch, (long long)c->bptt);
    if (tr->n_valid_stream / c->batch < c->bptt + 1)
        return embcl_error(EMBCL_ERR_INVALID_ARG, FN,
                           "the held-out text has %lld tokens: too few for one window of --batch %lld x --bptt %lld; "
                           "raise --valid-pct or give more text",
                           (long long)tr->n_valid_stream, (long long)c->batch, (long long)c->bptt);
    tr->total_steps = c->epochs > 0 ? (int64_t)c->epochs * tr->steps_per_epoch : c->max_steps;
    if (c->max_steps > 0 && c->max_steps < tr->total_steps)
        tr->total_steps = c->max_steps;

    /* Unigram baseline: add-one counts of the training stream. */
    tr->unigram_logp = embcl_calloc((size_t)tr->V, sizeof *tr->unigram_logp, FN);
    tr->perm = embcl_malloc((size_t)tr->n_train_sent * sizeof *tr->perm, FN);
    tr->host_tok = embcl_malloc((size_t)(c->batch * c->bptt) * sizeof(int64_t), FN);
    tr->host_tgt = embcl_malloc((size_t)(c->batch * c->bptt) * sizeof(int64_t), FN);
    tr->host_bags = embcl_malloc((size_t)(c->cls_batch * c->bag_len) * sizeof(int64_t), FN);
    tr->host_labels = embcl_malloc((size_t)c->cls_batch * sizeof(int64_t), FN);
    if (!tr->unigram_logp || !tr->perm || !tr->host_tok || !tr->host_tgt || !tr->host_bags || !tr->host_labels)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; i < tr->n_train_stream; i++)
        tr->unigram_logp[tr->train_stream[i]] += 1.0;
    double total = (double)tr->n_train_stream + (double)tr->V;
    for (int64_t v = 0; v < tr->V; v++)
        tr->unigram_logp[v] = log((tr->unigram_logp[v] + 1.0) / total);
    tr->perm_epoch = -1;

    if (tr->n_classes > 0) {
        int64_t *count = embcl_calloc((size_t)tr->n_classes, sizeof *count, FN);
        if (!count)
            return EMBCL_ERR_OUT_OF_MEMORY;
        for (int64_t i = 0; i < tr->n_train_sent; i++)
            count[tr->labels[i]]++;
        tr->majority_class = 0;
        for (int64_t k = 1; k < tr->n_classes; k++)
            if (count[k] > count[tr->majority_class])
                tr->majority_class = k;
        free(count);
    }
    return EMBCL_OK;
}

void train_data_free(struct embcl_trainer *tr)
{
    free(tr->train_stream);
    free(tr->valid_stream);
    free(tr->unigram_logp);
    free(tr->perm);
    free(tr->host_tok);
    free(tr->host_tgt);
    free(tr->host_bags);
    free(tr->host_labels);
}

void train_lm_window(const struct embcl_trainer *tr, const int64_t *stream, int64_t ncol, int64_t w, int64_t *tok,
                     int64_t *tgt)
{
    const int64_t B = tr->cfg.batch, T = tr->cfg.bptt;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            int64_t pos = b * ncol + w * T + t;
            tok[b * T + t] = stream[pos];
            tgt[b * T + t] = stream[pos + 1];
        }
}

void train_fill_bags(const struct embcl_trainer *tr, const int64_t *sent, size_t n, int64_t *bags, int64_t *labels)
{
    const int64_t L = tr->cfg.bag_len;
    for (int64_t b = 0; b < tr->cfg.cls_batch; b++) {
        int64_t *row = bags + b * L;
        for (int64_t l = 0; l < L; l++)
            row[l] = EMBCL_VOCAB_PAD;
        labels[b] = 0;
        if ((size_t)b >= n)
            continue;
        int64_t s = sent[b], a = tr->offsets[s], len = tr->offsets[s + 1] - a;
        for (int64_t l = 0; l < len && l < L; l++)
            row[l] = tr->tokens[a + l];
        labels[b] = tr->labels ? tr->labels[s] : 0;
    }
}

/* The classifier's order in epoch e: a shuffle drawn from (seed, e). */
static void shuffle(struct embcl_trainer *tr, int64_t e)
{
    const int64_t n = tr->n_train_sent;
    for (int64_t i = 0; i < n; i++)
        tr->perm[i] = i;
    uint64_t state = train_mix(tr->cfg.seed ^ train_mix((uint64_t)e + 0x5151));
    for (int64_t i = n - 1; i > 0; i--) {
        state = train_mix(state);
        int64_t j = (int64_t)(state % (uint64_t)(i + 1));
        int64_t t = tr->perm[i];
        tr->perm[i] = tr->perm[j];
        tr->perm[j] = t;
    }
    tr->perm_epoch = e;
}

embcl_status train_cls_batch(struct embcl_trainer *tr, int64_t k)
{
    const int64_t CB = tr->cfg.cls_batch, n = tr->n_train_sent;
    int64_t *ids = embcl_malloc((size_t)CB * sizeof *ids, "embcl_trainer_step");
    if (!ids)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t b = 0; b < CB; b++) {
        int64_t j = k * CB + b, e = j / n;
        if (e != tr->perm_epoch)
            shuffle(tr, e);
        ids[b] = tr->perm[j % n];
    }
    train_fill_bags(tr, ids, (size_t)CB, tr->host_bags, tr->host_labels);
    free(ids);
    return EMBCL_OK;
}
