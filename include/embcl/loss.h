/* Loss functions, forward and backward, as torch.nn.functional's
 * cross_entropy (class indices), binary_cross_entropy_with_logits and
 * mse_loss.
 *
 * Reductions as PyTorch's: NONE gives one loss per row (cross-entropy) or per
 * element; SUM and MEAN give a [1] tensor. Cross-entropy's MEAN divides by
 * the number of targets that are not ignore_index (NaN when all are).
 * Backward functions take the upstream gradient dloss shaped like the loss
 * (NULL means 1, the usual start of backpropagation) and write or add
 * (accumulate) the gradient of the input. All float tensors are f32 on one
 * device and created by the caller. Bad arguments (shapes, dtypes, a target
 * class outside [0, C) that is not ignore_index) return an error naming the
 * function, argument, position and value; nothing is written then.
 */
#ifndef EMBCL_LOSS_H
#define EMBCL_LOSS_H

#include "core.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum embcl_reduction {
    EMBCL_REDUCTION_NONE = 0,
    EMBCL_REDUCTION_MEAN = 1,
    EMBCL_REDUCTION_SUM = 2,
    EMBCL_REDUCTION_COUNT
} embcl_reduction;

EMBCL_API const char *embcl_reduction_name(embcl_reduction r); /* "none", "mean", "sum" */

typedef struct embcl_cross_entropy_options {
    embcl_reduction reduction;   /* default MEAN */
    int64_t ignore_index;        /* default -100 */
    float label_smoothing;       /* in [0, 1]; default 0 */
} embcl_cross_entropy_options;

EMBCL_API embcl_cross_entropy_options embcl_cross_entropy_options_default(void);

/* logits [N, C] f32 (a column view is fine), target [N] i32 or i64 class
 * indices, opts NULL for the defaults; loss [N] (NONE) or [1]. Reads the
 * targets back to check them (a blocking transfer of N indices). */
EMBCL_API embcl_status embcl_cross_entropy(embcl_tensor_t logits, embcl_tensor_t target,
                                           const embcl_cross_entropy_options *opts, embcl_tensor_t loss);
/* dlogits [N, C] (+)= d loss / d logits, times dloss ([N] or [1], or NULL). */
EMBCL_API embcl_status embcl_cross_entropy_backward(embcl_tensor_t logits, embcl_tensor_t target,
                                                    const embcl_cross_entropy_options *opts, embcl_tensor_t dloss,
                                                    embcl_tensor_t dlogits, int accumulate);

/* x and target: same shape (2-D column views allowed), target in [0, 1];
 * loss: x's shape (NONE) or [1]. */
EMBCL_API embcl_status embcl_bce_with_logits(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction,
                                             embcl_tensor_t loss);
EMBCL_API embcl_status embcl_bce_with_logits_backward(embcl_tensor_t x, embcl_tensor_t target,
                                                      embcl_reduction reduction, embcl_tensor_t dloss,
                                                      embcl_tensor_t dx, int accumulate);

/* (x - target)^2 with the same shapes as bce_with_logits. */
EMBCL_API embcl_status embcl_mse_loss(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction,
                                      embcl_tensor_t loss);
EMBCL_API embcl_status embcl_mse_loss_backward(embcl_tensor_t x, embcl_tensor_t target, embcl_reduction reduction,
                                               embcl_tensor_t dloss, embcl_tensor_t dx, int accumulate);

#ifdef __cplusplus
}
#endif
#endif
