/* A trainer small enough to step hundreds of times in a test (the built-in
 * dataset, tiny shapes), and whole-file reads for comparing checkpoints. */
#ifndef EMBCL_TEST_TRAINER_SMALL_H
#define EMBCL_TEST_TRAINER_SMALL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

typedef struct small_trainer {
    embcl_dataset_t ds;
    embcl_trainer_t tr;
} small_trainer;

/* The tiny model: `dim` columns (and hidden units), 2 x 3 LM batches. */
static inline embcl_train_config small_config(int64_t dim, uint64_t seed)
{
    embcl_train_config cfg = embcl_train_config_default();
    cfg.dim = dim;
    cfg.bag_extra = 4;
    cfg.hidden = dim;
    cfg.batch = 2;
    cfg.bptt = 3;
    cfg.cls_batch = 4;
    cfg.bag_len = 6;
    cfg.deterministic = 1;
    cfg.seed = seed;
    return cfg;
}

/* A trainer of cfg on a built-in dataset of n_sentences over n_topics
 * (16 words each) drawn from data_seed. */
static inline void small_trainer_make_data(small_trainer *s, embcl_runtime_t rt, uint64_t data_seed,
                                           int64_t n_sentences, int n_topics, const embcl_train_config *cfg)
{
    embcl_dataset_options dopt;
    embcl_dataset_options_default(&dopt);
    dopt.seed = data_seed;
    dopt.n_sentences = n_sentences;
    dopt.n_topics = n_topics;
    dopt.words_per_topic = 16;
    TEST_OK(embcl_dataset_generate(&dopt, &s->ds));
    TEST_OK(embcl_trainer_create(rt, cfg, embcl_dataset_vocab(s->ds), embcl_dataset_corpus(s->ds), NULL, NULL, NULL,
                                 &s->tr));
}

/* A trainer of cfg on a built-in dataset of 300 sentences over n_topics. */
static inline void small_trainer_make_cfg(small_trainer *s, embcl_runtime_t rt, uint64_t seed, int n_topics,
                                          const embcl_train_config *cfg)
{
    small_trainer_make_data(s, rt, seed, 300, n_topics, cfg);
}

/* A trainer of small_config(dim) on a built-in dataset of n_topics. */
static inline void small_trainer_make_with(small_trainer *s, embcl_runtime_t rt, uint64_t seed, int64_t dim,
                                           int n_topics)
{
    embcl_train_config cfg = small_config(dim, seed);
    small_trainer_make_cfg(s, rt, seed, n_topics, &cfg);
}

static inline void small_trainer_make(small_trainer *s, embcl_runtime_t rt, uint64_t seed)
{
    small_trainer_make_with(s, rt, seed, 8, 2);
}

static inline void small_trainer_free(small_trainer *s)
{
    embcl_trainer_free(s->tr);
    embcl_dataset_free(s->ds);
}

/* The whole file (malloc'd; *n its size), or NULL if it cannot be read. */
static inline unsigned char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    size_t got = b ? fread(b, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!b || got != (size_t)len) {
        free(b);
        return NULL;
    }
    *n = (size_t)len;
    return b;
}

/* An empty directory for checkpoints written hundreds of times: in
 * /dev/shm when there is one (no disk syncs), else under the build tree.
 * Freed with rm_dir. */
static inline char *scratch_dir(const char *tag)
{
    char tmpl[128];
    snprintf(tmpl, sizeof tmpl, "/dev/shm/embcl_%s_XXXXXX", tag);
    if (mkdtemp(tmpl))
        return strdup(tmpl);
    return test_tempdir(tag);
}

/* Remove dir's files (one level) and dir, and free the path. */
static inline void rm_dir(char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0, "cannot remove %s", dir);
    free(dir);
}

#endif
