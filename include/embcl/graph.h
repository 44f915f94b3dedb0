/* embcl graphs: a model as nodes over named parameters and inputs, compiled
 * once (order, derived backward, memory plan, device placement) and run for
 * every step.
 *
 * Building: parameters (tensors the caller made, named as PyTorch names them:
 * "embedding.weight", "lstm.weight_ih_l0") and inputs (shaped placeholders
 * filled before each step) are values; each builder adds a node that reads
 * values and returns its result as a new value, with shape and dtype
 * inferred and checked right there. embcl_graph_set_loss() marks the scalar
 * to minimise; embcl_graph_compile() derives the backward pass, plans
 * memory by liveness and places nodes on devices; embcl_graph_step() then
 * enqueues forward, backward and the optimizer update as one unit. The host
 * waits only when a value is downloaded (the loss, say).
 *
 * Values are small integers (embcl_value), valid for their graph only.
 * Shapes are given as in the ops' headers: [B, D] means a 2-D tensor.
 *
 * Ownership: embcl_graph_create() gives a handle freed with
 * embcl_graph_free(). The graph keeps its own views of parameter tensors
 * (they stay valid if the caller frees its handles) and owns every other
 * buffer it uses. Tensors returned by embcl_graph_grad() are views the caller
 * frees; they are valid until the graph is freed.
 *
 * Errors: builders fail naming the builder, the argument and the offending
 * shape or value; the graph is then unchanged. A failing step leaves every
 * parameter and optimizer state as it was when the failure is found before
 * the update (bad indices are found in the forward pass).
 */
#ifndef EMBCL_GRAPH_H
#define EMBCL_GRAPH_H

#include "core.h"
#include "device.h"
#include "embedding.h"
#include "loss.h"
#include "lstm.h"
#include "optim.h"
#include "sparse.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_graph *embcl_graph_t;

/* A value of one graph; EMBCL_VALUE_NONE for "no value" (an absent bias). */
typedef int32_t embcl_value;
#define EMBCL_VALUE_NONE ((embcl_value)-1)

/* A parameter in no optimizer group: it gets gradients (if it requires
 * them) but no update. */
#define EMBCL_GROUP_NONE ((int64_t)-1)

EMBCL_API embcl_status embcl_graph_create(embcl_runtime_t rt, embcl_graph_t *out);
/* NULL is accepted and ignored. */
EMBCL_API void embcl_graph_free(embcl_graph_t g);

/* ---- Values --------------------------------------------------------------- */

/* A trainable parameter named `name` (unique in the graph) holding `tensor`
 * (f32, 1 to 4 dimensions, may be a column view; the graph keeps a view of
 * it, so updates are visible through the caller's handle). Defaults:
 * requires grad, optimizer group 0, nothing frozen. */
EMBCL_API embcl_status embcl_graph_param(embcl_graph_t g, const char *name, embcl_tensor_t tensor,
                                         embcl_value *out);
/* The value named `name` (a parameter, input or node result). */
EMBCL_API embcl_status embcl_graph_find(embcl_graph_t g, const char *name, embcl_value *out);
/* A new handle on a parameter's memory (to initialise or save it); caller frees. */
EMBCL_API embcl_status embcl_graph_param_tensor(embcl_graph_t g, embcl_value param, embcl_tensor_t *out);

/* A parameter the graph allocates (f32, zeros) when compiling, on the device
 * placement picks: the fastest device with room for it and its gradient
 * (a table too large for the fastest device goes to one where it fits),
 * or the device given to embcl_graph_set_device. Initialise it after
 * compiling through embcl_graph_param_tensor. */
EMBCL_API embcl_status embcl_graph_param_new(embcl_graph_t g, const char *name, int ndim, const int64_t *shape,
                                             embcl_value *out);

/* Flags of a parameter; set before compiling. */
EMBCL_API embcl_status embcl_graph_param_requires_grad(embcl_graph_t g, embcl_value param, int requires_grad);
/* The optimizer group (an index into the optimizer's groups) or EMBCL_GROUP_NONE. */
EMBCL_API embcl_status embcl_graph_param_group(embcl_graph_t g, embcl_value param, int64_t group);
/* Keep rows [r0, r1) / columns [c0, c1) of a parameter (seen as a matrix)
 * unchanged by the optimizer, state included. Several ranges may be given. */
EMBCL_API embcl_status embcl_graph_param_freeze_rows(embcl_graph_t g, embcl_value param, int64_t r0, int64_t r1);
EMBCL_API embcl_status embcl_graph_param_freeze_cols(embcl_graph_t g, embcl_value param, int64_t c0, int64_t c1);

/* Columns [c0, c1) of a 2-D parameter, as a value sharing its memory: nodes
 * reading the view read the parameter, and their gradients accumulate into
 * the parameter's. */
EMBCL_API embcl_status embcl_graph_cols(embcl_graph_t g, embcl_value param, int64_t c0, int64_t c1,
                                        embcl_value *out);

/* An input named `name` of fixed dtype and shape, set before each step
 * with embcl_graph_set_input(). Inputs get no gradient. */
EMBCL_API embcl_status embcl_graph_input(embcl_graph_t g, const char *name, embcl_dtype dtype, int ndim,
                                         const int64_t *shape, embcl_value *out);

/* The value's shape and dtype (as inferred when it was built). */
EMBCL_API embcl_status embcl_graph_value_shape(embcl_graph_t g, embcl_value v, embcl_dtype *dtype, int *ndim,
                                               int64_t *shape);
/* Name the node producing v (and v itself) for messages; builders name
 * their nodes "<kind>_<n>" otherwise. */
EMBCL_API embcl_status embcl_graph_set_name(embcl_graph_t g, embcl_value v, const char *name);
/* Pin the node producing v to a device (by default nodes are placed
 * automatically: next to the parameters they read, else next to their
 * first input, else on the fastest device), or an input, or a parameter
 * made by embcl_graph_param_new. */
EMBCL_API embcl_status embcl_graph_set_device(embcl_graph_t g, embcl_value v, embcl_device_t dev);
/* Keep v's contents after a step, so embcl_graph_download() can read it
 * (the loss is always kept; other intermediate values share memory). */
EMBCL_API embcl_status embcl_graph_keep(embcl_graph_t g, embcl_value v);

/* ---- Nodes (each returns its result in *out) ------------------------------ */

/* y = x W^T + b (nn.Linear). x: [..., in] f32; weight: [out, in]; bias:
 * [out] or EMBCL_VALUE_NONE. y: [..., out]. */
EMBCL_API embcl_status embcl_graph_linear(embcl_graph_t g, embcl_value x, embcl_value weight, embcl_value bias,
                                          embcl_value *out);
/* y = a + b, same shape, f32. */
EMBCL_API embcl_status embcl_graph_add(embcl_graph_t g, embcl_value a, embcl_value b, embcl_value *out);
/* y = tanh(x), f32 any shape. */
EMBCL_API embcl_status embcl_graph_tanh(embcl_graph_t g, embcl_value x, embcl_value *out);
/* y = a * b, same shape, f32. */
EMBCL_API embcl_status embcl_graph_mul(embcl_graph_t g, embcl_value a, embcl_value b, embcl_value *out);
/* y = 1 / (1 + exp(-x)), f32 any shape. */
EMBCL_API embcl_status embcl_graph_sigmoid(embcl_graph_t g, embcl_value x, embcl_value *out);
/* Inverted dropout with probability p in [0, 1) (F.dropout): applied in
 * embcl_graph_step with a new mask each step drawn from (seed, step),
 * the identity in embcl_graph_forward. */
EMBCL_API embcl_status embcl_graph_dropout(embcl_graph_t g, embcl_value x, float p, uint64_t seed, embcl_value *out);
/* y [B, F] = mean over time of x [B, T, F] (batch_first) or [T, B, F];
 * lengths: NULL or B host values in [1, T] (copied), a masked mean. */
EMBCL_API embcl_status embcl_graph_mean_time(embcl_graph_t g, embcl_value x, const int64_t *lengths, int batch_first,
                                             embcl_value *out);
/* y = x with no gradient flowing back (Tensor.detach()); shares x's memory. */
EMBCL_API embcl_status embcl_graph_detach(embcl_graph_t g, embcl_value x, embcl_value *out);
/* loss = mean((x - target)^2) (F.mse_loss), a [1] f32 value; x and target
 * f32 of one shape; target gets no gradient. */
EMBCL_API embcl_status embcl_graph_mse_loss(embcl_graph_t g, embcl_value x, embcl_value target,
                                            embcl_value *out);

/* loss = F.binary_cross_entropy_with_logits(x, target), reduction mean, a
 * [1] f32 value; target f32 in [0, 1] of x's shape, no gradient. */
EMBCL_API embcl_status embcl_graph_bce_with_logits(embcl_graph_t g, embcl_value x, embcl_value target,
                                                   embcl_value *out);

/* y = weight[indices] (nn.Embedding). weight: [V, D] parameter or column
 * view; indices: i32/i64 input of 1 to 3 dimensions; y: indices' shape +
 * (D). opt: padding_idx, max_norm, scale_grad_by_freq, sparse (row-sparse
 * gradient), scatter; NULL for PyTorch's defaults. */
EMBCL_API embcl_status embcl_graph_embedding(embcl_graph_t g, embcl_value weight, embcl_value indices,
                                             const embcl_embedding_options *opt, embcl_value *out);

/* y[b] = reduce(weight[i] for i in bag b) (nn.EmbeddingBag). indices: 1-D
 * [n] with offsets [B] (or [B + 1] with include_last_offset), or 2-D [B, L]
 * with offsets EMBCL_VALUE_NONE; both i32/i64 inputs. psw: per-sample
 * weights (f32 input, indices' shape; mode sum) or EMBCL_VALUE_NONE.
 * y: [B, D]. opt: as nn.EmbeddingBag (mode default mean); NULL: defaults. */
EMBCL_API embcl_status embcl_graph_embedding_bag(embcl_graph_t g, embcl_value weight, embcl_value indices,
                                                 embcl_value offsets, embcl_value psw,
                                                 const embcl_embedding_options *opt, embcl_value *out);

/* y = LSTM(x) (nn.LSTM configured by cfg), run on dev. The graph creates
 * the LSTM (parameters drawn from cfg->seed as embcl_lstm_create does) and
 * registers its parameters as "<prefix>.weight_ih_l0", ... (PyTorch's
 * names; find them with embcl_graph_find). x: [T, B, input_size] ([B, T,
 * input_size] with batch_first) f32; y: [T, B, D*H] ([B, T, D*H]).
 * lengths: NULL, or B host values in [1, T] (copied): packed-sequence
 * semantics. Dropout applies in embcl_graph_step, not embcl_graph_forward. */
EMBCL_API embcl_status embcl_graph_lstm(embcl_graph_t g, embcl_value x, embcl_device_t dev,
                                        const embcl_lstm_config *cfg, const int64_t *lengths, const char *prefix,
                                        embcl_value *out);

/* loss = F.cross_entropy(logits, target). logits: [..., C] f32 (seen as
 * [N, C]); target: i32/i64 with N elements (class ids or ignore_index).
 * opt NULL: PyTorch's defaults (mean, ignore_index -100). Result: [1] for
 * mean and sum, [N] for none. Target gets no gradient. */
EMBCL_API embcl_status embcl_graph_cross_entropy(embcl_graph_t g, embcl_value logits, embcl_value target,
                                                 const embcl_cross_entropy_options *opt, embcl_value *out);

/* ---- Loss and compilation ------------------------------------------------- */

/* Mark a [1] f32 value as the loss the step minimises. */
EMBCL_API embcl_status embcl_graph_set_loss(embcl_graph_t g, embcl_value loss);

/* One finding of the diagnostics. Strings are valid until the graph is freed. */
typedef enum embcl_diag_kind {
    EMBCL_DIAG_UNREACHABLE = 0, /* trainable, but no gradient from the loss reaches it */
    EMBCL_DIAG_NO_OPTIMIZER,    /* gets gradients, but is in no optimizer group */
    EMBCL_DIAG_PADDING,         /* most looked-up indices are padding_idx */
    EMBCL_DIAG_UNCHANGED,       /* trainable, yet unchanged over the first steps */
    EMBCL_DIAG_COUNT
} embcl_diag_kind;

/* "unreachable", "no-optimizer", "padding", "unchanged". */
EMBCL_API const char *embcl_diag_kind_name(embcl_diag_kind kind);

typedef struct embcl_diag {
    embcl_diag_kind kind;
    const char *param;   /* the parameter's name */
    const char *node;    /* where: the node that cuts the path, reads the padding, ... ("" if none) */
    double share;        /* PADDING: the share of padding indices; else 0 */
    const char *message; /* one line for people, naming all of the above */
} embcl_diag;

typedef void (*embcl_diag_fn)(void *user, const embcl_diag *diag);

typedef struct embcl_graph_options {
    /* Apply the update of each step; none: steps compute gradients only.
     * When compiling, the graph adds each parameter that has a group to the
     * optimizer on the parameter's device (`optim`, or one of `optims` when
     * parameters live on several devices), with its frozen rows/columns. */
    embcl_optim_t optim;
    const embcl_optim_t *optims;
    size_t n_optims;
    /* Data parallel over these devices (n_replicas >= 2; 0: off): every
     * input is split along dimension 0 (the batch) into equal shares, one
     * replica of the model runs per device, parameters stay where they are
     * and are copied to the replicas each step; their gradients come back
     * and add up in a fixed order (replica 0 first), tables' row-sparse
     * gradients merge. Nodes reading a table run next to it. The loss must
     * be a mean over the batch; the loss read back is the replicas' mean.
     * Only the loss can be read back (embcl_graph_keep is refused). */
    const embcl_device_t *replicas;
    size_t n_replicas;
    /* Bytes of each device that parameters made by embcl_graph_param_new
     * may take, with their gradients and the parameters already there
     * (0: 90% of the device's global memory). */
    uint64_t device_budget;
    /* Diagnostics: on (1, default) or off (0). */
    int diagnostics;
    /* Steps after which unchanged parameters are reported (default 3; 0: never). */
    int diag_steps;
    /* Share of padding indices above which an embedding is reported (default 0.5). */
    double diag_padding_share;
    /* Called for each finding, as it is made (may be NULL; findings are also
     * collected, see embcl_graph_diag_count). */
    embcl_diag_fn diag_fn;
    void *diag_user;
} embcl_graph_options;

EMBCL_API embcl_graph_options embcl_graph_options_default(void);

/* Derive the backward pass, place nodes, plan and allocate memory, report
 * build-time findings. opt may be NULL for the defaults. Once per graph. */
EMBCL_API embcl_status embcl_graph_compile(embcl_graph_t g, const embcl_graph_options *opt);

/* ---- Running -------------------------------------------------------------- */

/* Copy `bytes` (numel * dtype size) of host data into an input. */
EMBCL_API embcl_status embcl_graph_set_input(embcl_graph_t g, embcl_value input, const void *host, size_t bytes);

/* Enqueue forward, backward (when a loss is set) and the optimizer update
 * (when one was given). Does not wait. */
EMBCL_API embcl_status embcl_graph_step(embcl_graph_t g);
/* Enqueue the forward pass only (evaluation). */
EMBCL_API embcl_status embcl_graph_forward(embcl_graph_t g);

/* Wait for v and copy it to the host (bytes = numel * dtype size). v must
 * be a parameter, an input, the loss, or kept (embcl_graph_keep). */
EMBCL_API embcl_status embcl_graph_download(embcl_graph_t g, embcl_value v, void *host, size_t bytes);

/* A view of the parameter's gradient after the last step (dense: the
 * parameter's shape), or *out NULL when it got none. Row-sparse gradients
 * come out densified into a fresh tensor. Caller frees. */
EMBCL_API embcl_status embcl_graph_grad(embcl_graph_t g, embcl_value param, embcl_tensor_t *out);

/* ---- Memory and diagnostics ----------------------------------------------- */

typedef struct embcl_graph_memory {
    uint64_t planned_peak_bytes;   /* activations + their gradients, after reuse, all devices */
    uint64_t unplanned_bytes;      /* the same buffers each on its own */
    uint64_t param_grad_bytes;     /* parameters' gradients (kept for the optimizer) */
    uint64_t input_bytes;
    size_t n_buffers;              /* activation and gradient buffers planned */
    size_t n_inplace;              /* of which run in place of their input */
} embcl_graph_memory;
EMBCL_API embcl_status embcl_graph_memory_stats(embcl_graph_t g, embcl_graph_memory *out);

/* Number of nodes, copies included, after compiling (per step: forward
 * nodes + backward nodes). */
EMBCL_API embcl_status embcl_graph_node_count(embcl_graph_t g, size_t *forward, size_t *backward);

/* Findings so far (compile and steps), in the order made. */
EMBCL_API size_t embcl_graph_diag_count(embcl_graph_t g);
EMBCL_API embcl_status embcl_graph_diag_get(embcl_graph_t g, size_t i, embcl_diag *out);

#ifdef __cplusplus
}
#endif
#endif
