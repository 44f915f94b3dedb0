/* embcl train: the main job as a library. A trainer holds one model over
 * one vocabulary and corpus:
 *  - a language model: Embedding -> LSTM -> Linear, the output projection
 *    tied to the embedding (decoder weight = columns [0, dim) of the table);
 *  - a sentence classifier (when the corpus has labels): EmbeddingBag
 *    (mean) over the whole table, i.e. the dim shared columns plus
 *    bag_extra bag-only columns, one [V, dim + bag_extra] matrix, then a
 *    Linear to the classes.
 * The table ("embedding.weight") is trained by its own optimizer (row-wise
 * Adagrad by default), the dense parameters by another (Adam by default),
 * after the gradients of both losses are clipped together.
 *
 * Data: the last valid_pct % of sentences are held out. The language model
 * reads the training sentences as one stream (an "<eos>" word after each)
 * cut into `batch` columns and windows of `bptt` tokens; the classifier
 * reads cls_batch sentences a step in an order drawn from the seed per
 * epoch. Everything a step reads is a function of the seed and the step
 * number, so a run resumed from a checkpoint continues exactly.
 *
 * Ownership: embcl_trainer_create() gives a handle freed with
 * embcl_trainer_free(); the trainer keeps the runtime, vocabulary and
 * corpus it was given only by reference (they must outlive it) except
 * where noted. Host arrays returned are freed with embcl_io_free().
 */
#ifndef EMBCL_TRAIN_H
#define EMBCL_TRAIN_H

#include "core.h"
#include "device.h"
#include "graph.h"
#include "io.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_train_config {
    int64_t dim;           /* shared embedding columns (= LM input and decoder width); default 64 */
    int64_t bag_extra;     /* bag-only columns beside them; default 16 */
    int64_t hidden;        /* LSTM hidden size; default = dim (else a Linear projects to dim) */
    int layers;            /* default 1 */
    int bidirectional;     /* default 0 */
    int epochs;            /* default 2 */
    int64_t max_steps;     /* stop after this many steps in all (0: epochs decide); default 0 */
    int64_t batch;         /* LM batch columns; default 32 */
    int64_t bptt;          /* LM window; default 20 */
    int64_t cls_batch;     /* sentences per classifier step; default 32 */
    int64_t bag_len;       /* tokens per bag (longer sentences are cut); default 0: the 90th
                            * percentile of the training sentences' lengths, so bags
                            * are not mostly padding */
    double lr;             /* dense optimizer; default 5e-3 */
    embcl_optim_kind optimizer;        /* dense: default Adam */
    double table_lr;                   /* default 0.3 */
    embcl_optim_kind table_optimizer;  /* default row-wise Adagrad */
    double weight_decay;               /* dense parameters; default 0 */
    double clip;                       /* max total gradient norm; 0: none; default 1.0 */
    uint64_t seed;                     /* default 1 */
    int deterministic;     /* 1: the same bits on every run (deterministic scatter); default 0 */
    int valid_pct;         /* held-out share of sentences; default 10 */
    /* Pretrained rows (embcl_trainer_create's `pretrained`) fill the shared
     * columns; freeze keeps them fixed, else they train with their own
     * learning rate and weight decay (a parameter group of the table). */
    int freeze_pretrained;
    double pretrained_lr;            /* default: table_lr / 10 */
    double pretrained_weight_decay;  /* default 0 */
} embcl_train_config;

EMBCL_API embcl_train_config embcl_train_config_default(void);
/* Check a config's values; the message names the option ("--bptt is 0"). */
EMBCL_API embcl_status embcl_train_config_check(const embcl_train_config *cfg);

typedef struct embcl_trainer *embcl_trainer_t;

/* A trainer on the runtime's first device. vocab: the corpus's vocabulary
 * (an "<eos>" word is added to it if absent). corpus: encoded with vocab;
 * its labels, if any, train the classifier. pretrained: NULL or [V, dim]
 * f32 host rows (V = the vocabulary's size before "<eos>" is added),
 * copied. diag_fn/diag_user: where training diagnostics go (may be NULL). */
EMBCL_API embcl_status embcl_trainer_create(embcl_runtime_t rt, const embcl_train_config *cfg,
                                            embcl_vocab_t vocab, embcl_corpus_t corpus, const float *pretrained,
                                            embcl_diag_fn diag_fn, void *diag_user, embcl_trainer_t *out);
EMBCL_API void embcl_trainer_free(embcl_trainer_t tr);

typedef struct embcl_train_info {
    int64_t vocab_size;       /* V, "<eos>" included */
    int64_t steps_per_epoch;
    int64_t total_steps;      /* epochs * steps_per_epoch, or max_steps when smaller */
    int64_t tokens_per_step;  /* LM target tokens */
    int64_t train_tokens, valid_tokens;
    int64_t train_sentences, valid_sentences;
    int64_t n_classes;        /* 0: no classifier */
    int64_t n_params;         /* trainable floats */
    int64_t bag_len;          /* tokens per classifier bag (resolved when the config's is 0) */
    int64_t table_width;      /* dim + bag_extra: the table's columns */
} embcl_train_info;
EMBCL_API embcl_status embcl_trainer_info(embcl_trainer_t tr, embcl_train_info *out);

typedef struct embcl_step_result {
    int64_t step;       /* steps done after this one */
    double lm_loss;     /* mean cross-entropy of the step's LM batch */
    double cls_loss;    /* classifier's (0 without labels) */
    double grad_norm;   /* total norm before clipping */
} embcl_step_result;
/* One training step (LM batch + classifier batch, one update); waits for
 * the losses. */
EMBCL_API embcl_status embcl_trainer_step(embcl_trainer_t tr, embcl_step_result *out);
EMBCL_API int64_t embcl_trainer_steps_done(embcl_trainer_t tr);
/* The trainer's compiled graph, borrowed (freed with the trainer): for its
 * node count, memory plan and diagnostics. NULL for a NULL trainer. */
EMBCL_API embcl_graph_t embcl_trainer_graph(embcl_trainer_t tr);

/* The inputs step `step` (0-based) of this trainer reads, exactly as
 * embcl_trainer_step feeds them to the graph, for replaying a run elsewhere
 * (bench/train_side_by_side.py does so in PyTorch). tokens, targets:
 * [batch, bptt] i64; bags: [cls_batch, bag_len] i64, short sentences
 * padded with EMBCL_VOCAB_PAD; labels: [cls_batch] i64. bags and labels may
 * be NULL, and are left alone without a classifier. Changes no training
 * state. */
EMBCL_API embcl_status embcl_trainer_batch(embcl_trainer_t tr, int64_t step, int64_t *tokens, int64_t *targets,
                                           int64_t *bags, int64_t *labels);

typedef struct embcl_eval_result {
    double perplexity;          /* LM on the held-out stream */
    double unigram_perplexity;  /* the training counts' unigram model (add-one) on the same targets */
    double accuracy;            /* classifier on held-out sentences; -1 without labels */
    double majority_accuracy;   /* always guessing the most frequent training class */
    int64_t tokens, sentences;  /* evaluated */
} embcl_eval_result;
EMBCL_API embcl_status embcl_trainer_evaluate(embcl_trainer_t tr, embcl_eval_result *out);

/* The shared columns of the table, [V, dim] f32 row-major (free with
 * embcl_io_free). */
EMBCL_API embcl_status embcl_trainer_table(embcl_trainer_t tr, float **rows, int64_t *V, int64_t *dim);

/* Checkpoints: a safetensors file PyTorch's safetensors.torch.load_file
 * reads. Tensors: the parameters under PyTorch's names, and each
 * optimizer's state as "optimizer.<param>.<state>" plus its exact bytes
 * as "optimizer.<dense|table>.blob" (I32, for resuming). Metadata: "step",
 * "config" (JSON), "vocab" (embcl_vocab_serialize's text), "format"
 * "embcl-checkpoint-1", and the caller's extra pairs. Written atomically. */
EMBCL_API embcl_status embcl_trainer_save(embcl_trainer_t tr, const char *path, const char *const *meta_keys,
                                          const char *const *meta_values, size_t n_meta);
/* Restore parameters, optimizer state and step from a checkpoint saved by a
 * trainer of the same shapes; checked before anything is written. All or
 * nothing: the current state is copied to the host first (a read of the
 * model), and a device failure while writing puts it back; only if putting
 * it back fails too is the state undefined (the error says so). */
EMBCL_API embcl_status embcl_trainer_load(embcl_trainer_t tr, const char *path);

/* The config stored in a checkpoint's "config" metadata. */
EMBCL_API embcl_status embcl_train_config_parse(const char *json, embcl_train_config *cfg);

/* The trained word vectors of a checkpoint, without a device: the shared
 * columns of "embedding.weight" (all columns with all_columns) as rows
 * [V, *dim] f32 (free with embcl_io_free) and its vocabulary (free with
 * embcl_vocab_free), "<eos>" included. */
EMBCL_API embcl_status embcl_checkpoint_table(const char *path, int all_columns, float **rows, int64_t *V,
                                              int64_t *dim, embcl_vocab_t *vocab);

/* ---- Evaluating embeddings (host code) -------------------------------- */

/* The k rows of rows [V, dim] most cosine-similar to query [dim], skipping
 * ids listed in skip[n_skip] and ids below first_id (the reserved words);
 * ids[k] and sims[k] in descending similarity (fewer if V is small: *found). */
EMBCL_API embcl_status embcl_nearest(const float *rows, int64_t V, int64_t dim, const float *query,
                                     int64_t first_id, const int64_t *skip, size_t n_skip, size_t k,
                                     int64_t *ids, float *sims, size_t *found);

/* a : b :: c : ?  -- the nearest rows to b - a + c (rows unit-normalised
 * first), a, b and c skipped; as embcl_nearest. */
EMBCL_API embcl_status embcl_analogy(const float *rows, int64_t V, int64_t dim, int64_t a, int64_t b, int64_t c,
                                     int64_t first_id, size_t k, int64_t *ids, float *sims, size_t *found);

/* Topic purity: for each word w with label[w] >= 0 (words[n] of them, or
 * all such words when words is NULL), the share of its k nearest
 * neighbours (among words with a label >= 0) with w's label, averaged.
 * A word outside [0, V) is EMBCL_ERR_INDEX_RANGE, naming its position. */
EMBCL_API embcl_status embcl_neighbour_purity(const float *rows, int64_t V, int64_t dim, const int32_t *label,
                                              const int64_t *words, size_t n, size_t k, double *purity);

#ifdef __cplusplus
}
#endif
#endif
