/* Neighbours, purity and analogies of the trained table. */
#include <stdlib.h>
#include <string.h>

#include "train_report.h"

#define FIRST_WORD 2 /* after <pad> and <unk> */
#define PURITY_K 5
#define QUERIES_PER_TOPIC 20

static void print_neighbours(FILE *out, const float *rows, int64_t V, int64_t D, embcl_vocab_t vocab, int64_t w)
{
    int64_t ids[6];
    float sims[6];
    size_t found = 0;
    if (embcl_nearest(rows, V, D, rows + w * D, FIRST_WORD, &w, 1, 6, ids, sims, &found) != EMBCL_OK)
        return;
    fprintf(out, "  %-12s", embcl_vocab_word(vocab, w));
    for (size_t i = 0; i < found; i++)
        fprintf(out, " %s (%.2f)%s", embcl_vocab_word(vocab, ids[i]), sims[i], i + 1 < found ? "," : "");
    fprintf(out, "\n");
}

/* Query words for purity: the most frequent words of each topic. V: the
 * dataset's words (word_topic's length), not the table's rows. */
static size_t topic_queries(const embcl_dataset_truth *t, int64_t V, int64_t *q)
{
    size_t n = 0;
    for (int k = 0; k < t->n_topics; k++) {
        int got = 0;
        for (int64_t w = 0; w < V && got < QUERIES_PER_TOPIC; w++) /* ids are by descending count */
            if (t->word_topic[w] == k) {
                q[n++] = w;
                got++;
            }
    }
    return n;
}

static void analogies(const float *rows, int64_t V, int64_t D, const embcl_dataset_truth *t, quality *q)
{
    int64_t top1 = 0, top3 = 0;
    for (int64_t i = 0; i < t->n_analogies; i++) {
        const int64_t *a = t->analogies + 4 * i;
        int64_t ids[3];
        float sims[3];
        size_t found = 0;
        if (embcl_analogy(rows, V, D, a[0], a[1], a[2], FIRST_WORD, 3, ids, sims, &found) != EMBCL_OK)
            continue;
        for (size_t k = 0; k < found; k++)
            if (ids[k] == a[3]) {
                top1 += k == 0;
                top3++;
            }
    }
    q->n_analogies = t->n_analogies;
    q->analogy_top1 = t->n_analogies ? (double)top1 / (double)t->n_analogies : 0;
    q->analogy_top3 = t->n_analogies ? (double)top3 / (double)t->n_analogies : 0;
}

static int64_t find(embcl_vocab_t v, const char *w)
{
    return embcl_vocab_find(v, w, strlen(w));
}

/* Tied output embeddings share a large common direction (what every
 * prediction has in common), which swamps cosine similarity; neighbours
 * are judged on the rows minus their mean, as is usual. */
static void center(float *rows, int64_t V, int64_t D)
{
    if (V <= FIRST_WORD)
        return;
    for (int64_t d = 0; d < D; d++) {
        double m = 0;
        for (int64_t r = FIRST_WORD; r < V; r++)
            m += rows[r * D + d];
        m /= (double)(V - FIRST_WORD);
        for (int64_t r = FIRST_WORD; r < V; r++)
            rows[r * D + d] -= (float)m;
    }
}

int report_quality(embcl_trainer_t tr, embcl_vocab_t vocab, const embcl_dataset_truth *truth, FILE *out,
                   quality *q)
{
    float *rows;
    int64_t V, D;
    memset(q, 0, sizeof *q);
    q->purity = q->purity_chance = -1;
    q->demo[0] = q->demo[1] = q->demo[2] = q->demo[3] = -1;
    if (embcl_trainer_table(tr, &rows, &V, &D) != EMBCL_OK)
        return 1;
    center(rows, V, D);
    if (truth) {
        int64_t *qs = malloc((size_t)(truth->n_topics * QUERIES_PER_TOPIC) * sizeof *qs);
        /* word_topic covers the dataset's words; <eos> came after. */
        size_t nq = qs ? topic_queries(truth, V - 1, qs) : 0;
        int32_t *label = malloc((size_t)V * sizeof *label);
        if (label && qs) {
            for (int64_t w = 0; w < V; w++)
                label[w] = w < V - 1 ? truth->word_topic[w] : -1;
            embcl_neighbour_purity(rows, V, D, label, qs, nq, PURITY_K, &q->purity);
            q->purity_chance = 1.0 / truth->n_topics;
        }
        free(label);
        free(qs);
        analogies(rows, V, D, truth, q);
        int64_t a = find(vocab, "man"), b = find(vocab, "woman"), c = find(vocab, "king"), d = find(vocab, "queen");
        if (a >= 0 && b >= 0 && c >= 0 && d >= 0) {
            int64_t ids[10];
            float sims[10];
            size_t found = 0;
            embcl_analogy(rows, V, D, a, b, c, FIRST_WORD, 10, ids, sims, &found);
            for (size_t k = 0; k < found && !q->demo_rank; k++)
                if (ids[k] == d)
                    q->demo_rank = (int)k + 1;
            q->demo[0] = a, q->demo[1] = b, q->demo[2] = c, q->demo[3] = d;
            if (out) {
                fprintf(out, "analogy: man : woman :: king : ?  ->");
                for (size_t k = 0; k < found && k < 3; k++)
                    fprintf(out, " %s (%.2f)", embcl_vocab_word(vocab, ids[k]), sims[k]);
                if (q->demo_rank)
                    fprintf(out, "   [queen ranks %d]\n", q->demo_rank);
                else
                    fprintf(out, "   [queen not in the top 10]\n");
            }
        }
    }
    if (out) {
        fprintf(out, "nearest neighbours (cosine):\n");
        if (truth) {
            const char *words[] = {"bread", "guitar", "storm", "king", "good"};
            for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
                int64_t w = find(vocab, words[i]);
                if (w < 0 && truth->n_topics > 0) /* a topic's most frequent word instead */
                    for (int64_t k = FIRST_WORD; k < V - 1 && w < 0; k++)
                        if (truth->word_topic[k] == (int32_t)i % truth->n_topics)
                            w = k;
                if (w >= 0)
                    print_neighbours(out, rows, V, D, vocab, w);
            }
        } else {
            const int64_t ranks[] = {10, 20, 50, 100, 200};
            for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++)
                if (FIRST_WORD + ranks[i] < V - 1)
                    print_neighbours(out, rows, V, D, vocab, FIRST_WORD + ranks[i]);
        }
        if (truth && q->purity >= 0)
            fprintf(out, "topic purity of neighbourhoods (k=%d, %d words a topic): %.3f (chance %.3f)\n", PURITY_K,
                    QUERIES_PER_TOPIC, q->purity, q->purity_chance);
        if (truth && q->n_analogies)
            fprintf(out, "analogies (%lld, every two role pairs): %.1f%% top-1, %.1f%% top-3\n",
                    (long long)q->n_analogies, 100 * q->analogy_top1, 100 * q->analogy_top3);
    }
    embcl_io_free(rows);
    return 0;
}
