/* The embedding backward fused with the optimizer step (internal: the
 * embedding ops call it). Instead of a row-sparse gradient, the caller hands
 * over the sorted, segmented indices of the forward pass and the gradient
 * rows it got back (one per position for Embedding, one per bag for
 * EmbeddingBag); each unique row's gradient is summed in position order
 * inside the update kernel and applied at once, so the gradient is never
 * materialised. Same results as backward-to-row-sparse then
 * embcl_optim_step, within float rounding of the same summation order. */
#ifndef EMBCL_SRC_OPTIM_OPTIM_FUSED_H
#define EMBCL_SRC_OPTIM_OPTIM_FUSED_H

#include "embcl/optim.h"
#include "ops/segments.h"

/* Trusted from the caller (internal API): seg was built with num_rows = the
 * parameter's rows, and pos_bag's values index rows. */
typedef struct embcl_fused_grad {
    const embcl_segments *seg;            /* from embcl_segments_build over the forward's indices */
    const struct embcl_tensor *rows;      /* [n, D] per position, or [B, D] per bag (f32, may be a view) */
    const struct embcl_tensor *pos_bag;   /* NULL, or [n] i32: the bag of each position */
    const struct embcl_tensor *pos_scale; /* NULL, or [n] f32: per_sample_weights, 1/bag_size for mean */
} embcl_fused_grad;

/* One step of optimizer parameter `param` (a [num_rows, D] table) from g.
 * Only optimizers that take row-sparse gradients (SGD without weight decay,
 * Adagrad without weight decay, SparseAdam, row-wise Adagrad); otherwise the
 * same refusal as embcl_optim_step. SGD with momentum sums the segments
 * into a zeroed dense scratch and runs the dense update. A frozen
 * parameter is left alone (no step counted). Errors are reported under
 * `fn`, the public function that called. */
embcl_status embcl_optim_step_fused(embcl_optim_t opt, size_t param, const embcl_fused_grad *g, const char *fn);

#endif
