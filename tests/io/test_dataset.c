/* The built-in dataset: deterministic, the promised sizes, and the planted
 * statistics really there (not that anything can be learned from them). */
#include <string.h>

#include "io_test.h"

typedef struct {
    embcl_dataset_t ds;
    embcl_vocab_t v;
    embcl_corpus_view c;
    embcl_dataset_truth t;
} data;

static data make(const embcl_dataset_options *o)
{
    data d;
    TEST_OK(embcl_dataset_generate(o, &d.ds));
    d.v = embcl_dataset_vocab(d.ds);
    embcl_corpus_get(embcl_dataset_corpus(d.ds), &d.c);
    embcl_dataset_truth_get(d.ds, &d.t);
    return d;
}

static int64_t id_of(embcl_vocab_t v, const char *w)
{
    int64_t id = embcl_vocab_find(v, w, strlen(w));
    cr_assert_geq(id, 0, "'%s' is not in the vocabulary", w);
    return id;
}

Test(dataset, same_seed_same_bytes)
{
    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    o.seed = 5;
    data a = make(&o), b = make(&o);
    cr_assert_eq(a.c.n_tokens, b.c.n_tokens);
    cr_assert(memcmp(a.c.tokens, b.c.tokens, (size_t)a.c.n_tokens * 8) == 0);
    cr_assert(memcmp(a.c.offsets, b.c.offsets, (size_t)(a.c.n_sentences + 1) * 8) == 0);
    cr_assert(memcmp(a.c.labels, b.c.labels, (size_t)a.c.n_sentences * 8) == 0);
    cr_assert_eq(embcl_vocab_size(a.v), embcl_vocab_size(b.v));
    for (int64_t id = 0; id < embcl_vocab_size(a.v); id++)
        cr_assert_str_eq(embcl_vocab_word(a.v, id), embcl_vocab_word(b.v, id));
    cr_assert(memcmp(a.t.analogies, b.t.analogies, (size_t)a.t.n_analogies * 32) == 0);
    o.seed = 6;
    data c = make(&o);
    int64_t n = a.c.n_tokens < c.c.n_tokens ? a.c.n_tokens : c.c.n_tokens;
    cr_assert(memcmp(a.c.tokens, c.c.tokens, (size_t)n * 8) != 0, "another seed, another corpus");
    embcl_dataset_free(a.ds);
    embcl_dataset_free(b.ds);
    embcl_dataset_free(c.ds);
}

Test(dataset, sizes_and_vocabulary_rule)
{
    data d = make(NULL);
    cr_assert_eq(d.c.n_sentences, 40000);
    cr_assert_eq(d.c.n_classes, 2);
    int64_t V = embcl_vocab_size(d.v);
    cr_assert(V >= 1500 && V <= 2500, "V = %lld", (long long)V);
    double per = (double)d.c.n_tokens / (double)d.c.n_sentences;
    cr_assert(per > 6 && per < 16, "%.1f tokens a sentence", per);
    cr_assert_str_eq(embcl_vocab_word(d.v, EMBCL_VOCAB_PAD), "<pad>");
    cr_assert_str_eq(embcl_vocab_word(d.v, EMBCL_VOCAB_UNK), "<unk>");
    int64_t *count = calloc((size_t)V, sizeof *count);
    for (int64_t i = 0; i < d.c.n_tokens; i++) {
        cr_assert(d.c.tokens[i] >= 2 && d.c.tokens[i] < V, "only real words are generated");
        count[d.c.tokens[i]]++;
    }
    for (int64_t id = 2; id < V; id++) {
        cr_assert_eq(count[id], embcl_vocab_count(d.v, id), "the vocabulary counts what the corpus holds");
        cr_assert_gt(count[id], 0);
        if (id > 2)
            cr_assert_geq(count[id - 1], count[id], "ids by descending count");
    }
    free(count);
    embcl_dataset_free(d.ds);

    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    o.n_sentences = 3000;
    o.n_topics = 3;
    o.words_per_topic = 20;
    o.role_sentence_pct = 0;
    d = make(&o);
    cr_assert_eq(d.c.n_sentences, 3000);
    cr_assert_eq(d.t.n_topics, 3);
    cr_assert_eq(d.t.n_pairs, 0, "no role sentences, no role words");
    cr_assert_eq(d.t.n_analogies, 0);
    int64_t topic_words = 0;
    for (int64_t id = 0; id < embcl_vocab_size(d.v); id++)
        topic_words += d.t.word_topic[id] >= 0;
    cr_assert_eq(topic_words, 60);
    embcl_dataset_free(d.ds);
}

Test(dataset, topics_cooccur_far_more_within_than_across)
{
    data d = make(NULL);
    const int T = d.t.n_topics;
    int64_t words_in[8] = {0};
    for (int64_t id = 0; id < embcl_vocab_size(d.v); id++)
        if (d.t.word_topic[id] >= 0)
            words_in[d.t.word_topic[id]]++;
    double same = 0, across = 0;
    for (int64_t s = 0; s < d.c.n_sentences; s++)
        for (int64_t i = d.c.offsets[s]; i < d.c.offsets[s + 1]; i++)
            for (int64_t j = i + 1; j < d.c.offsets[s + 1]; j++) {
                int ti = d.t.word_topic[d.c.tokens[i]], tj = d.t.word_topic[d.c.tokens[j]];
                if (ti < 0 || tj < 0)
                    continue;
                if (ti == tj)
                    same += 1;
                else
                    across += 1;
            }
    /* per possible word pair, so topic count and size cancel out */
    double pairs_same = 0, pairs_across = 0;
    for (int a = 0; a < T; a++)
        for (int b = 0; b < T; b++)
            *(a == b ? &pairs_same : &pairs_across) += (double)words_in[a] * (double)words_in[b];
    double ratio = (same / pairs_same) / (across / pairs_across);
    cr_assert_gt(ratio, 10.0, "within/across co-occurrence per word pair is only %.1f", ratio);
    cr_assert_str_eq(d.t.topic_names[0], "sport");
    cr_assert_eq(d.t.word_topic[id_of(d.v, "guitar")], 2);
    cr_assert_eq(d.t.word_topic[id_of(d.v, "the")], -1);
    embcl_dataset_free(d.ds);
}

Test(dataset, sentiment_words_match_balanced_labels)
{
    data d = make(NULL);
    int64_t V = embcl_vocab_size(d.v), positive = 0;
    signed char *polarity = calloc((size_t)V, 1);
    for (int64_t i = 0; i < d.t.n_positive; i++)
        polarity[d.t.positive_words[i]] = 1;
    for (int64_t i = 0; i < d.t.n_negative; i++)
        polarity[d.t.negative_words[i]] = -1;
    cr_assert_eq(polarity[id_of(d.v, "excellent")], 1);
    cr_assert_eq(polarity[id_of(d.v, "awful")], -1);
    for (int64_t s = 0; s < d.c.n_sentences; s++) {
        int64_t y = d.c.labels[s], hits = 0;
        positive += y;
        for (int64_t i = d.c.offsets[s]; i < d.c.offsets[s + 1]; i++) {
            int p = polarity[d.c.tokens[i]];
            cr_assert(p == 0 || p == (y ? 1 : -1), "sentence %lld (label %lld) holds a word of the other polarity",
                      (long long)s, (long long)y);
            hits += p != 0;
        }
        cr_assert_geq(hits, 1, "sentence %lld carries no sentiment", (long long)s);
    }
    double frac = (double)positive / (double)d.c.n_sentences;
    cr_assert(frac > 0.48 && frac < 0.52, "%.3f of the labels are positive", frac);
    free(polarity);
    embcl_dataset_free(d.ds);
}

/* Count, over sentences, how often word w shares a sentence with any of ws. */
static int64_t cooccur(const data *d, int64_t w, const int64_t *ws, int n)
{
    int64_t hits = 0;
    for (int64_t s = 0; s < d->c.n_sentences; s++) {
        int has_w = 0, has_other = 0;
        for (int64_t i = d->c.offsets[s]; i < d->c.offsets[s + 1]; i++) {
            has_w |= d->c.tokens[i] == w;
            for (int k = 0; k < n; k++)
                has_other |= d->c.tokens[i] == ws[k];
        }
        hits += has_w && has_other;
    }
    return hits;
}

Test(dataset, role_pairs_share_contexts_and_differ_by_gender)
{
    data d = make(NULL);
    cr_assert_eq(d.t.n_pairs, 20);
    cr_assert_eq(d.t.n_analogies, 20 * 19);
    const char *male[] = {"he", "his", "him", "himself", "sir", "mr"};
    const char *female[] = {"she", "her", "hers", "herself", "madam", "mrs"};
    int64_t mw[6], fw[6];
    for (int k = 0; k < 6; k++) {
        mw[k] = id_of(d.v, male[k]);
        fw[k] = id_of(d.v, female[k]);
    }
    int64_t king = id_of(d.v, "king"), queen = id_of(d.v, "queen"), throne = id_of(d.v, "throne");
    int found_king = 0;
    for (int64_t p = 0; p < d.t.n_pairs; p++) {
        int64_t m = d.t.role_pairs[2 * p], f = d.t.role_pairs[2 * p + 1];
        found_king |= m == king && f == queen;
        cr_assert_gt(cooccur(&d, m, mw, 6), 100, "'%s' with male markers", embcl_vocab_word(d.v, m));
        cr_assert_eq(cooccur(&d, m, fw, 6), 0, "'%s' with female markers", embcl_vocab_word(d.v, m));
        cr_assert_gt(cooccur(&d, f, fw, 6), 100, "'%s' with female markers", embcl_vocab_word(d.v, f));
        cr_assert_eq(cooccur(&d, f, mw, 6), 0, "'%s' with male markers", embcl_vocab_word(d.v, f));
    }
    cr_assert(found_king);
    /* both forms use the role's own context words, and only they do */
    int64_t with_king = cooccur(&d, king, &throne, 1), with_queen = cooccur(&d, queen, &throne, 1);
    cr_assert(with_king > 50 && with_queen > 50, "throne: king %lld, queen %lld", (long long)with_king,
              (long long)with_queen);
    int64_t man = id_of(d.v, "man");
    cr_assert_eq(cooccur(&d, man, &throne, 1), 0);
    /* (man, woman, king, queen) is among the analogies: b - a + c = d */
    int64_t woman = id_of(d.v, "woman");
    int seen = 0;
    for (int64_t i = 0; i < d.t.n_analogies; i++) {
        const int64_t *q = d.t.analogies + 4 * i;
        seen |= q[0] == man && q[1] == woman && q[2] == king && q[3] == queen;
    }
    cr_assert(seen);
    embcl_dataset_free(d.ds);
}

Test(dataset, options_are_checked)
{
    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    embcl_dataset_t ds = (embcl_dataset_t)1;
    o.n_topics = 9;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_dataset_generate(&o, &ds), "embcl_dataset_generate", "opts->n_topics is 9");
    cr_assert_null(ds);
    embcl_dataset_options_default(&o);
    o.words_per_topic = 5;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_dataset_generate(&o, &ds), "words_per_topic is 5");
    embcl_dataset_options_default(&o);
    o.n_sentences = 0;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_dataset_generate(&o, &ds), "n_sentences is 0");
    embcl_dataset_options_default(&o);
    o.topic_purity_pct = 101;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_dataset_generate(&o, &ds), "topic_purity_pct is 101");
}
