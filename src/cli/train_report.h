/* What `embcl train` reports about the embeddings: neighbours, topic
 * purity and analogies (against the built-in dataset's ground truth when
 * there is one). */
#ifndef EMBCL_CLI_TRAIN_REPORT_H
#define EMBCL_CLI_TRAIN_REPORT_H

#include <stdio.h>

#include "embcl.h"

typedef struct quality {
    double purity, purity_chance;   /* -1 without ground truth */
    double analogy_top1, analogy_top3;
    int64_t n_analogies;
    int demo_rank;                  /* rank (1..10) of the demo analogy's answer, 0: not in the top 10 */
    int64_t demo[4];                /* a, b, c, d of the demo analogy, -1 if none */
} quality;

/* Measure; when out is not NULL, also print the neighbours of a few words
 * and the demo analogy to it. truth may be NULL (user data). */
int report_quality(embcl_trainer_t tr, embcl_vocab_t vocab, const embcl_dataset_truth *truth, FILE *out,
                   quality *q);

#endif
