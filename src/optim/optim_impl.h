/* Private layout of optimizers, shared by the optimizer families
 * (sgd.c, adam.c, adagrad.c), the step driver (optim.c), clipping, schedules
 * and state I/O. */
#ifndef EMBCL_SRC_OPTIM_OPTIM_IMPL_H
#define EMBCL_SRC_OPTIM_OPTIM_IMPL_H

#include "device/program.h"
#include "embcl/optim.h"
#include "tensor/tensor_impl.h"

#define OPTIM_MAX_STATE 3

typedef struct optim_param {
    struct embcl_tensor *t;     /* our own view of the caller's tensor */
    char *name;
    size_t group;
    size_t rows, cols;          /* the parameter as a matrix */
    int64_t steps;
    int frozen;
    unsigned char *row_frozen;  /* [rows] host flags, NULL: none frozen */
    unsigned char *col_frozen;  /* [cols] */
    struct embcl_tensor *rmask; /* device copies (i32), NULL when no flag is set */
    struct embcl_tensor *cmask;
    int masks_dirty;            /* host flags changed since the upload */
    size_t live_cols;           /* columns not frozen */
    struct embcl_tensor *state[OPTIM_MAX_STATE];
    size_t n_state;
} optim_param;

typedef struct optim_group {
    embcl_optim_hparams hp;
    double base_lr;             /* lr when added: what schedules scale */
} optim_group;

struct embcl_optim;

/* Where an update's gradient rows come from. Dense: rows is the gradient
 * matrix, row r for parameter row r. Sparse: rows holds nnz value rows for
 * parameter rows ids[0..nnz). Fused: the gradient of parameter row ids[s]
 * is the in-order sum over positions q of segment s of seg (perm[seg_start[s]
 * .. seg_start[s+1])) of rows[pos_bag ? pos_bag[q] : q] * (pos_scale ?
 * pos_scale[q] : 1); ids is seg->uniq. */
typedef struct optim_src {
    const struct embcl_tensor *rows;
    const struct embcl_tensor *ids;
    int64_t nnz;
    const struct embcl_segments *seg;
    const struct embcl_tensor *pos_bag;   /* [n] i32 or NULL */
    const struct embcl_tensor *pos_scale; /* [n] f32 or NULL */
} optim_src;

/* What differs between optimizers. */
typedef struct optim_family {
    const char *name;           /* PyTorch's class name */
    /* PyTorch's constructor checks; fn names the public call. */
    embcl_status (*check)(const char *fn, const char *name, const embcl_optim_hparams *hp);
    /* State tensors a parameter needs under hp, their names, and whether
     * they hold one float per row instead of one per element. */
    size_t (*n_state)(const embcl_optim_hparams *hp);
    const char *const *state_names;
    int rowwise_state;
    double (*state_init)(const embcl_optim_hparams *hp);
    int takes_dense, takes_sparse;
    /* The message when a sparse gradient is refused under hp (NULL: fine),
     * checked only when takes_sparse. */
    const char *(*sparse_refusal)(const embcl_optim_hparams *hp);
    /* Whether a row-sparse gradient under hp moves rows it does not name
     * (NULL: never). SGD's momentum buffer keeps every row any step touched
     * and decays it each step; such a gradient is scattered into zeros and
     * applied (and journaled) as the dense gradient it then is. */
    int (*sparse_moves_all)(const embcl_optim_hparams *hp);
    /* Enqueue the update of one parameter whose step count was just
     * advanced (src->ids NULL: dense). */
    embcl_status (*update)(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                           const optim_src *src);
} optim_family;

/* Undo records of an open transaction (journal.c). */
typedef struct optim_journal {
    int open;
    struct optim_journal_entry *e;
    size_t n, cap;
    double *lr;      /* each group's lr at begin (schedules may change it) */
    size_t n_lr;
} optim_journal;

struct embcl_optim {
    struct embcl_device *dev;
    embcl_optim_kind kind;
    const optim_family *fam;
    embcl_optim_hparams defaults;
    optim_group *groups;
    size_t n_groups;
    optim_param *params;
    size_t n_params;
    optim_journal journal;
    int bf16_round;             /* embcl_bf16_rounding of bf16 parameters (0: stochastic) */
    uint64_t bf16_seed;
};

extern const optim_family embcl_optim_sgd_family;
extern const optim_family embcl_optim_adam_family;
extern const optim_family embcl_optim_adamw_family;
extern const optim_family embcl_optim_adagrad_family;
extern const optim_family embcl_optim_sparse_adam_family;
extern const optim_family embcl_optim_rowwise_adagrad_family;

/* Checks shared by the families' constructors, with PyTorch's texts. */
embcl_status embcl_optim_check_nonneg(const char *fn, const char *opt, const char *what, const char *arg, double v);
embcl_status embcl_optim_check_betas(const char *fn, const char *opt, const embcl_optim_hparams *hp);

/* One update kernel of kernels/optim.cl over a parameter: the shared
 * arguments (parameter, gradient source, masks) come first, then the
 * packed state tensors `states` (parameters the kernel declares
 * SPLIT_PARAM: any of these, the parameter or the gradient may be split by
 * rows), then `extra`. rowwise: one work-item per row instead of a 2-D
 * range. */
embcl_status embcl_optim_launch(struct embcl_optim *opt, optim_param *p, const char *kernel, const optim_src *src,
                                int rowwise, size_t n_states, struct embcl_tensor *const *states, size_t n_extra,
                                const embcl_karg *extra);

/* bf16.c: the -D defines (" -DTABLE_BF16=1 -DTABLE_SR=0|1", the rounding
 * built in, or "") and the rounding argument (the seed of this step of
 * parameter p) an update kernel of p takes; *n_args is 0 for an f32
 * parameter. */
const char *optim_bf16_define(const struct embcl_optim *opt, const optim_param *p);
/* The vector width an update of p starts from: the tuned optim.VW, or for
 * a bf16 p outside row-wise Adagrad optim.BF16_VW where set. */
size_t optim_bf16_vw(struct embcl_device *dev, const optim_param *p, int rowwise, size_t vw);
void optim_bf16_args(const struct embcl_optim *opt, const optim_param *p, cl_ulong *seed, size_t *n_args);

/* Whether parameter i may take a row-sparse gradient (fails with
 * PyTorch's refusal naming the optimizer and the parameter). */
embcl_status embcl_optim_sparse_allowed(struct embcl_optim *opt, size_t i, const char *fn);

/* Upload a parameter's frozen-row/column masks if its flags changed. */
embcl_status embcl_optim_sync_masks(struct embcl_optim *opt, optim_param *p, const char *fn);

/* A row-sparse gradient's shape and device. */
embcl_status embcl_optim_sparse_info(embcl_rowsparse_t g, const char *fn, int64_t *rows, int64_t *dim,
                                     struct embcl_device **dev);
/* The parts of a row-sparse gradient the update kernels read: ids [nnz]
 * i64 and values [nnz, dim] f32 (borrowed, valid until the gradient is
 * next written). */
embcl_status embcl_optim_sparse_parts(embcl_rowsparse_t g, const char *fn, const struct embcl_tensor **ids,
                                      const struct embcl_tensor **values, int64_t *nnz);

/* optim.c: one parameter's update from src, journaled inside a
 * transaction, its step counted (checks done; frozen parameters are the
 * caller's to skip). A failure leaves the step count as it was. */
embcl_status embcl_optim_update(struct embcl_optim *opt, size_t i, const optim_src *src, const char *fn);
/* The end of a step that failed with s after journal mark `mark`: inside a
 * transaction what the step wrote is restored. Returns s (or the restore's
 * own failure). */
embcl_status embcl_optim_step_failed(struct embcl_optim *opt, size_t mark, embcl_status s, const char *fn);

/* journal.c. Inside a transaction, record what updating parameter `param`
 * from src is about to write (and its step count) before the update is
 * enqueued; no-op outside one. */
embcl_status optim_journal_record(struct embcl_optim *opt, size_t param, const optim_src *src, const char *fn);
/* The journal's length: a failing step undoes back to the mark it took. */
static inline size_t optim_journal_mark(const struct embcl_optim *opt) { return opt->journal.n; }
/* Restore the entries after `mark`, newest first, and drop them. */
embcl_status optim_journal_undo(struct embcl_optim *opt, size_t mark, const char *fn);
/* Drop every entry and end the transaction. */
void optim_journal_close(struct embcl_optim *opt);

/* A step of a caller of optimizers (the graph, the trainer) made all or
 * nothing: optim_tx_open opens a transaction unless the user already has
 * one open (then the step nests in it, from its current journal length);
 * optim_tx_close with the step's status s keeps the step (committing
 * what it opened) or undoes everything journaled since the open. Returns
 * the undo's own failure, else EMBCL_OK. */
typedef struct optim_tx {
    size_t mark;
    int owned;
} optim_tx;
embcl_status optim_tx_open(struct embcl_optim *opt, optim_tx *tx);
embcl_status optim_tx_close(struct embcl_optim *opt, const optim_tx *tx, embcl_status s, const char *fn);

#endif
