/* Cross-entropy for callers that checked the targets on the host already
 * (the graph checks them in embcl_graph_set_input, from the caller's
 * memory), so the op need not read them back: a read would make the host
 * wait for the queue in the middle of a training step. */
#ifndef EMBCL_SRC_OPS_LOSS_CHECKED_H
#define EMBCL_SRC_OPS_LOSS_CHECKED_H

#include "embcl/loss.h"

/* Check n class ids at host (i32 or i64 by dtype): each must be in
 * [0, classes) or be ignore_index. *count: the ids not ignored. A bad one
 * fails naming func, the argument `arg`, its position (first + i) and value. */
embcl_status embcl_ce_check_targets_host(const void *host, embcl_dtype dtype, int64_t n, int64_t classes,
                                         int64_t ignore_index, int64_t first, const char *func, const char *arg,
                                         int64_t *count);

/* embcl_cross_entropy / embcl_cross_entropy_backward with `count` targets
 * not ignored, as embcl_ce_check_targets_host gave for the targets now in
 * `target`; count < 0: read them back and check them (the public calls).
 * lse: NULL, or [N] f32 on the logits' device: the forward writes each
 * row's log-sum-exp there (rows whose target is ignored are left alone) and
 * the backward reads it instead of reducing the row again, which halves
 * its work; the logits must not have changed in between. */
embcl_status embcl_cross_entropy_counted(embcl_tensor_t logits, embcl_tensor_t target,
                                         const embcl_cross_entropy_options *opts, embcl_tensor_t loss,
                                         int64_t count, embcl_tensor_t lse);
embcl_status embcl_cross_entropy_backward_counted(embcl_tensor_t logits, embcl_tensor_t target,
                                                  const embcl_cross_entropy_options *opts, embcl_tensor_t dloss,
                                                  embcl_tensor_t dlogits, int accumulate, int64_t count,
                                                  embcl_tensor_t lse);

#endif
