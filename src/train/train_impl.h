/* The trainer's insides, shared by the files of src/train. */
#ifndef EMBCL_SRC_TRAIN_IMPL_H
#define EMBCL_SRC_TRAIN_IMPL_H

#include "embcl/train.h"

/* A parameter the trainer updates: the graph value, the tensor, and where
 * it sits in one of the two optimizers. Column views of the table are
 * separate entries (param = the table's value, c0/c1 their columns). */
typedef struct tparam {
    char name[96];
    embcl_value value;
    embcl_tensor_t tensor;     /* a handle on the parameter's memory (view for column ranges) */
    int table;                 /* 1: in the table optimizer; 0: the dense one */
    int64_t c0, c1;            /* column range of the graph parameter this entry updates */
    int whole;                 /* 1: covers its graph parameter entirely */
    /* SparseAdam on the table (sparse_table.c): the row-sparse gradient
     * handed to it, and the rows it holds now (n_rows -1: unknown). */
    embcl_rowsparse_t sg;
    int64_t *rows, n_rows;
} tparam;

#define TRAIN_MAX_PARAMS 64

struct embcl_trainer {
    embcl_train_config cfg;
    embcl_runtime_t rt;
    embcl_device_t dev;
    embcl_vocab_t vocab;
    int64_t V, W, eos;
    int64_t n_classes;

    /* data */
    int64_t *train_stream, n_train_stream;
    int64_t *valid_stream, n_valid_stream;
    const int64_t *tokens, *offsets, *labels;  /* the corpus's */
    int64_t n_sentences, n_train_sent, n_valid_sent;
    int64_t ncol, steps_per_epoch, total_steps;
    int64_t *perm, perm_epoch;  /* classifier order of the current epoch */
    int64_t *host_tok, *host_tgt, *host_bags, *host_labels;  /* one step's inputs */
    double *unigram_logp;  /* [V] */
    int64_t majority_class;
    double majority_share;

    /* model */
    embcl_tensor_t table;
    embcl_tensor_t owned[8];
    size_t n_owned;
    embcl_graph_t g;
    embcl_value v_table, v_tok, v_tgt, v_bags, v_labels, lm_loss, cls_loss, cls_logits;
    embcl_optim_t dense_opt, table_opt;
    tparam params[TRAIN_MAX_PARAMS];
    size_t n_params;
    int64_t step;

    /* diagnostics of our own (the graph has no optimizer to check) */
    embcl_diag_fn diag_fn;
    void *diag_user;
    float **snapshots;
};

/* data.c */
embcl_status train_data_init(struct embcl_trainer *tr, embcl_corpus_t corpus);
void train_data_free(struct embcl_trainer *tr);
/* Fill host_tok/host_tgt for LM window `w` of stream (ncol columns). */
void train_lm_window(const struct embcl_trainer *tr, const int64_t *stream, int64_t ncol, int64_t w,
                     int64_t *tok, int64_t *tgt);
/* Fill host_bags/host_labels with classifier batch k of the training order. */
embcl_status train_cls_batch(struct embcl_trainer *tr, int64_t k);
/* Bags of sentences first..first+n (held-out ones); rows past the end are
 * empty bags with label 0. */
void train_fill_bags(const struct embcl_trainer *tr, const int64_t *sent, size_t n, int64_t *bags,
                     int64_t *labels);

/* model.c */
embcl_status train_model_build(struct embcl_trainer *tr, const float *pretrained);
void train_model_free(struct embcl_trainer *tr);
/* Gradients of every tparam (dense), in optimizer order; caller frees each. */
embcl_status train_collect_grads(struct embcl_trainer *tr, embcl_grad *grads);

/* sparse_table.c: with SparseAdam on the table, replace the table entries'
 * dense gradients (freed) by row-sparse ones over the rows the step
 * touched (owned by the trainer). */
embcl_status train_sparse_table_grads(struct embcl_trainer *tr, embcl_grad *grads);
void train_sparse_table_free(struct embcl_trainer *tr);

/* checkpoint.c helpers for the config's JSON */
embcl_status train_config_json(const embcl_train_config *cfg, char **out);

uint64_t train_mix(uint64_t x);

#endif
