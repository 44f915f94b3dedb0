/* embcl optimizers: PyTorch's torch.optim (SGD, Adam, AdamW, Adagrad,
 * SparseAdam) and FBGEMM's row-wise Adagrad, over f32 or bf16 parameters
 * (bf16: f32 state, rounding per embcl_optim_set_bf16_rounding in
 * include/embcl/bf16.h) on one device, with parameter groups, frozen
 * parameters/rows/columns, gradient clipping, learning-rate schedules and
 * state save/load.
 *
 * Formulas, defaults and the checks that fail are PyTorch's (torch.optim,
 * foreach=False, maximize=False); row-wise Adagrad is FBGEMM's
 * EXACT_ROWWISE_ADAGRAD. Every failing call leaves parameters and optimizer
 * state exactly as they were: a step validates every gradient before it
 * enqueues the first update, and a device failure after that is undone
 * inside a transaction (embcl_optim_begin).
 *
 * Ownership: embcl_optim_create() gives a handle freed with
 * embcl_optim_free(). The optimizer holds references to the parameter
 * tensors it was given (they stay valid even if the caller frees its
 * handles) and owns its state tensors.
 */
#ifndef EMBCL_OPTIM_H
#define EMBCL_OPTIM_H

#include "core.h"
#include "sparse.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_optim *embcl_optim_t;

typedef enum embcl_optim_kind {
    EMBCL_OPTIM_SGD = 0,
    EMBCL_OPTIM_ADAM,
    EMBCL_OPTIM_ADAMW,
    EMBCL_OPTIM_ADAGRAD,
    EMBCL_OPTIM_SPARSE_ADAM,
    EMBCL_OPTIM_ROWWISE_ADAGRAD,
    EMBCL_OPTIM_COUNT
} embcl_optim_kind;

/* "SGD", "Adam", "AdamW", "Adagrad", "SparseAdam", "RowWiseAdagrad"; NULL if invalid. */
EMBCL_API const char *embcl_optim_kind_name(embcl_optim_kind kind);

/* Row-wise Adagrad's weight decay (FBGEMM's WeightDecayMode):
 * L2 adds wd*w to the gradient; DECOUPLED scales w by (1 - lr*wd). */
typedef enum embcl_wd_mode { EMBCL_WD_NONE = 0, EMBCL_WD_L2, EMBCL_WD_DECOUPLED, EMBCL_WD_COUNT } embcl_wd_mode;

/* Hyper-parameters of one parameter group. Each optimizer reads the fields
 * it has in PyTorch and ignores the others. */
typedef struct embcl_optim_hparams {
    double lr;
    double weight_decay;
    double momentum, dampening;           /* SGD */
    int nesterov;                         /* SGD */
    double beta1, beta2;                  /* Adam, AdamW, SparseAdam */
    double eps;                           /* Adam, AdamW, SparseAdam, Adagrad, row-wise Adagrad */
    int amsgrad;                          /* Adam, AdamW */
    double lr_decay;                      /* Adagrad */
    double initial_accumulator_value;     /* Adagrad */
    embcl_wd_mode wd_mode;                /* row-wise Adagrad */
} embcl_optim_hparams;

/* PyTorch's defaults for kind (SGD: lr 1e-3, the rest 0; Adam: lr 1e-3,
 * betas (0.9, 0.999), eps 1e-8; AdamW: the same with weight_decay 1e-2;
 * Adagrad: lr 1e-2, eps 1e-10; SparseAdam: as Adam; row-wise Adagrad:
 * lr 1e-2, eps 1e-8, no weight decay). An invalid kind gives all zeros. */
EMBCL_API embcl_optim_hparams embcl_optim_defaults(embcl_optim_kind kind);

/* A new optimizer of `kind` on dev with no groups. `defaults` (NULL: PyTorch's
 * defaults) are the hyper-parameters of groups added with NULL. Invalid
 * values fail as PyTorch's constructor does ("Invalid learning rate: -0.1"),
 * the message naming the optimizer. */
EMBCL_API embcl_status embcl_optim_create(embcl_device_t dev, embcl_optim_kind kind,
                                          const embcl_optim_hparams *defaults, embcl_optim_t *out);
/* NULL is accepted and ignored. */
EMBCL_API void embcl_optim_free(embcl_optim_t opt);

/* A new parameter group with hp (NULL: the optimizer's defaults), checked as
 * at creation; its index (0, 1, ...) goes to *group (may be NULL). */
EMBCL_API embcl_status embcl_optim_add_group(embcl_optim_t opt, const embcl_optim_hparams *hp, size_t *group);

/* Add a parameter to a group: an f32 (or bf16) tensor on the optimizer's
 * device of 1 to 4 dimensions (a 2-D column view of a wider table is fine;
 * the optimizer updates only its columns). `name` (may be NULL: "param<i>") is used in
 * error messages. Its state is created here (zeros, or Adagrad's
 * initial_accumulator_value). Its index among all parameters, in the order
 * added, goes to *index (may be NULL): gradients are given in that order. A
 * parameter overlapping one already added fails. */
EMBCL_API embcl_status embcl_optim_add_param(embcl_optim_t opt, size_t group, embcl_tensor_t param,
                                             const char *name, size_t *index);

EMBCL_API size_t embcl_optim_param_count(embcl_optim_t opt);
EMBCL_API size_t embcl_optim_group_count(embcl_optim_t opt);

/* Freezing: a frozen parameter, row range or column range keeps its values
 * and its state through every step (as if excluded from the optimizer).
 * Rows and columns are of the parameter seen as a matrix (rows = product of
 * all but the last dimension). frozen=0 thaws. */
EMBCL_API embcl_status embcl_optim_freeze(embcl_optim_t opt, size_t param, int frozen);
EMBCL_API embcl_status embcl_optim_freeze_rows(embcl_optim_t opt, size_t param, int64_t r0, int64_t r1,
                                               int frozen);
EMBCL_API embcl_status embcl_optim_freeze_cols(embcl_optim_t opt, size_t param, int64_t c0, int64_t c1,
                                               int frozen);

/* A group's hyper-parameters (lr included, as the schedules set it). */
EMBCL_API embcl_status embcl_optim_group_hparams(embcl_optim_t opt, size_t group, embcl_optim_hparams *out);
/* Set a group's learning rate (>= 0). */
EMBCL_API embcl_status embcl_optim_set_lr(embcl_optim_t opt, size_t group, double lr);
/* The number of steps a parameter has taken (PyTorch's state['step']). */
EMBCL_API embcl_status embcl_optim_param_steps(embcl_optim_t opt, size_t param, int64_t *out);

/* A parameter's gradient for one step: a dense tensor of the parameter's
 * shape (f32, may be a column view), or a row-sparse gradient of the
 * parameter seen as a [rows, cols] matrix, or neither (no gradient: the
 * parameter is skipped and its step count does not advance, as PyTorch does
 * for p.grad None). */
typedef struct embcl_grad {
    embcl_tensor_t dense;
    embcl_rowsparse_t sparse;
} embcl_grad;

/* One optimizer step: grads[i] is the gradient of parameter i (n must equal
 * embcl_optim_param_count). Everything is checked first: a sparse gradient
 * to Adam/AdamW ("Adam does not support sparse gradients, please consider
 * SparseAdam instead"), a dense one to SparseAdam, sparse with SGD weight
 * decay (PyTorch fails on it too), sparse with Adagrad weight decay
 * ("weight_decay option is not compatible with sparse gradients"), shapes
 * and devices; on failure nothing is written. The updates are enqueued on
 * the optimizer's device.
 * SGD with momentum takes row-sparse gradients as PyTorch does: its buffer
 * holds every row any step named, decaying by momentum on the steps that do
 * not name it, and all those rows move every step (an empty gradient
 * included), so the update is the dense one of the gradient scattered into
 * zeros: it costs a pass over the whole parameter, its transaction copies
 * (below) are whole tensors, and the buffer is dense ("momentum_buffer", the
 * densified value of PyTorch's sparse one). */
EMBCL_API embcl_status embcl_optim_step(embcl_optim_t opt, const embcl_grad *grads, size_t n);

/* Transactions: making steps undoable when the device fails.
 * Bad input never writes (above), but an OpenCL call can fail after some
 * updates were enqueued (out of resources, a lost device), or the caller's
 * own work after the step can (reading the loss back). Between
 * embcl_optim_begin and embcl_optim_commit/embcl_optim_rollback every step
 * first copies what it will write into pool scratch on the device: whole
 * parameter and state tensors for a dense gradient (and for SGD momentum's
 * sparse ones), only the named rows (with their ids) for a row-sparse or
 * fused one, and the step counts.
 *  - A step that fails inside a transaction restores what it wrote itself
 *    before returning its error: the optimizer is as before that call.
 *  - embcl_optim_rollback restores everything to the state at begin
 *    (values, state, step counts, and the groups' learning rates, which
 *    embcl_optim_schedule or embcl_optim_set_lr may have changed) and ends
 *    the transaction;
 *    embcl_optim_commit keeps the steps and ends it (the scratch goes back
 *    to the pool, so a loop of begin/step/commit allocates nothing new).
 * Outside a transaction nothing is copied: a step whose OpenCL call fails
 * after earlier parameters' updates were enqueued leaves those updated
 * (the failing parameter's own update and step count are not). That is the
 * default so that bare optimizers pay no bandwidth for the copies (on PoCL,
 * 2 cores, a dense Adam step over 4M floats took ~9 ms alone and ~29 ms in
 * a transaction; a row-sparse step copies only its rows); the graph
 * executor and the trainer open a transaction around every step, and nest
 * in one the caller already has open (a failing graph step then undoes
 * only itself).
 * If the restore itself fails (the device is gone) its error is returned
 * and the state is undefined: reload a checkpoint on a new runtime. */
/* Fails (EMBCL_ERR_STATE) if a transaction is already open. */
EMBCL_API embcl_status embcl_optim_begin(embcl_optim_t opt);
/* No-op when no transaction is open. */
EMBCL_API embcl_status embcl_optim_commit(embcl_optim_t opt);
/* No-op when no transaction is open; otherwise ends it even if the restore fails. */
EMBCL_API embcl_status embcl_optim_rollback(embcl_optim_t opt);

/* Names and shapes of a parameter's state tensors, in save order: SGD
 * "momentum_buffer" (if momentum != 0); Adam/AdamW "exp_avg", "exp_avg_sq",
 * "max_exp_avg_sq" (amsgrad); Adagrad "sum"; SparseAdam "exp_avg",
 * "exp_avg_sq"; row-wise Adagrad "momentum1" ([rows], one float per row).
 * *n gets the count; names[i] (may be NULL) the static names. */
EMBCL_API embcl_status embcl_optim_state_names(embcl_optim_t opt, size_t param, size_t *n,
                                               const char **names, size_t cap);
/* A copy of state tensor `which` of a parameter into host memory: `bytes`
 * must be its numel * 4 (parameter numel, or rows for row-wise Adagrad). */
EMBCL_API embcl_status embcl_optim_state_download(embcl_optim_t opt, size_t param, size_t which, float *host,
                                                  size_t bytes);

/* Save and load: the groups' hyper-parameters, each parameter's step count
 * and state tensors, as bytes (little-endian, versioned). Loading checks
 * that the optimizer has the same kind, groups and parameter shapes and
 * only then writes; load(save(x)) then save gives the same bytes. */
EMBCL_API embcl_status embcl_optim_state_size(embcl_optim_t opt, size_t *bytes);
/* Writes exactly embcl_optim_state_size() bytes into buf (cap >= that). */
EMBCL_API embcl_status embcl_optim_state_save(embcl_optim_t opt, void *buf, size_t cap, size_t *written);
EMBCL_API embcl_status embcl_optim_state_load(embcl_optim_t opt, const void *buf, size_t len);
EMBCL_API embcl_status embcl_optim_state_save_file(embcl_optim_t opt, const char *path);
EMBCL_API embcl_status embcl_optim_state_load_file(embcl_optim_t opt, const char *path);

/* torch.nn.utils.clip_grad_norm_ over n gradients (dense and row-sparse
 * together; entries with neither are skipped): total = the norm_type-norm of
 * the per-gradient norms (norm_type > 0, or INFINITY for the max), then
 * every gradient is multiplied by min(max_norm / (total + 1e-6), 1).
 * Row-sparse gradients are coalesced already, so their norm is their
 * values' norm. *total_norm (may be NULL) gets the total. All gradients on
 * one device. */
EMBCL_API embcl_status embcl_clip_grad_norm(const embcl_grad *grads, size_t n, double max_norm,
                                            double norm_type, double *total_norm);

/* Learning-rate schedules, PyTorch's closed forms, as a function of the
 * epoch (number of scheduler steps taken) and a group's base lr:
 *   STEP    base * gamma^floor(epoch / step_size)                       (StepLR)
 *   COSINE  eta_min + (base - eta_min) * (1 + cos(pi * epoch / t_max)) / 2
 *                                                         (CosineAnnealingLR)
 *   LINEAR  base * (start + (end - start) * min(epoch, total_iters) / total_iters)
 *           (LinearLR; start_factor < 1, end_factor 1 is a linear warm-up)
 *   WARMUP_COSINE  LINEAR from start_factor to 1 over total_iters epochs,
 *           then COSINE over t_max epochs counted from total_iters. */
typedef enum embcl_lr_kind {
    EMBCL_LR_STEP = 0,
    EMBCL_LR_COSINE,
    EMBCL_LR_LINEAR,
    EMBCL_LR_WARMUP_COSINE,
    EMBCL_LR_COUNT
} embcl_lr_kind;

typedef struct embcl_lr_schedule {
    embcl_lr_kind kind;
    int64_t step_size;   /* STEP: > 0 */
    double gamma;        /* STEP */
    int64_t t_max;       /* COSINE, WARMUP_COSINE: > 0 */
    double eta_min;      /* COSINE, WARMUP_COSINE */
    double start_factor; /* LINEAR, WARMUP_COSINE: in (0, 1] */
    double end_factor;   /* LINEAR: in [0, 1] */
    int64_t total_iters; /* LINEAR, WARMUP_COSINE: > 0 */
} embcl_lr_schedule;

/* The learning rate at `epoch` (>= 0) for a group whose base lr is base_lr. */
EMBCL_API embcl_status embcl_lr_at(const embcl_lr_schedule *s, double base_lr, int64_t epoch, double *lr);
/* Set every group's lr to the schedule's value at epoch, from the group's
 * base lr (its lr when the group was added). */
EMBCL_API embcl_status embcl_optim_schedule(embcl_optim_t opt, const embcl_lr_schedule *s, int64_t epoch);

#ifdef __cplusplus
}
#endif
#endif
