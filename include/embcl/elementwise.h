/* Elementwise ops and small reshuffles for dense activations, forward and
 * backward (like torch.add, mul, tanh, sigmoid, nn.functional.dropout,
 * torch.cat(dim=-1) and mean over the time axis).
 *
 * Every tensor is f32 and on one device; outputs are created by the caller.
 * Shapes must match exactly (no broadcasting); 2-D column views are allowed
 * wherever a tensor is read or written. Backward functions take `accumulate`:
 * 1 adds the gradient into what the output holds (a tensor used twice),
 * 0 overwrites it. Outputs may not overlap inputs unless said otherwise.
 * Bad arguments return an error naming the function and argument, and
 * nothing is written.
 */
#ifndef EMBCL_ELEMENTWISE_H
#define EMBCL_ELEMENTWISE_H

#include "core.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = a + b; a, b, y: same shape. y may be a or b. */
EMBCL_API embcl_status embcl_add(embcl_tensor_t a, embcl_tensor_t b, embcl_tensor_t y);
/* da (+)= dy, db (+)= dy; either output may be NULL. */
EMBCL_API embcl_status embcl_add_backward(embcl_tensor_t dy, embcl_tensor_t da, embcl_tensor_t db, int accumulate);

/* y = a * b elementwise. */
EMBCL_API embcl_status embcl_mul(embcl_tensor_t a, embcl_tensor_t b, embcl_tensor_t y);
/* da (+)= dy * b, db (+)= dy * a; either output may be NULL. */
EMBCL_API embcl_status embcl_mul_backward(embcl_tensor_t a, embcl_tensor_t b, embcl_tensor_t dy, embcl_tensor_t da,
                                          embcl_tensor_t db, int accumulate);

/* y = tanh(x); y may be x. Backward from the forward's output y:
 * dx (+)= dy * (1 - y^2). */
EMBCL_API embcl_status embcl_tanh(embcl_tensor_t x, embcl_tensor_t y);
EMBCL_API embcl_status embcl_tanh_backward(embcl_tensor_t y, embcl_tensor_t dy, embcl_tensor_t dx, int accumulate);

/* y = 1 / (1 + exp(-x)); backward from y: dx (+)= dy * y * (1 - y). */
EMBCL_API embcl_status embcl_sigmoid(embcl_tensor_t x, embcl_tensor_t y);
EMBCL_API embcl_status embcl_sigmoid_backward(embcl_tensor_t y, embcl_tensor_t dy, embcl_tensor_t dx, int accumulate);

/* Inverted dropout: y = x * keep / (1 - p), keep drawn with probability 1 - p
 * from (seed, element index) by a counter-based generator, the same on every
 * device. training 0 (or p 0) copies x. p in [0, 1). The backward with the
 * same p and seed applies the same mask: dx (+)= dy * keep / (1 - p). Pass a
 * new seed per step (e.g. a step counter mixed into a base seed). */
EMBCL_API embcl_status embcl_dropout(embcl_tensor_t x, float p, uint64_t seed, int training, embcl_tensor_t y);
EMBCL_API embcl_status embcl_dropout_backward(embcl_tensor_t dy, float p, uint64_t seed, int training,
                                              embcl_tensor_t dx, int accumulate);

/* Concatenation along the last dimension: inputs[i] is [rows, w_i] (2-D,
 * all with the same rows), y is [rows, sum w_i]. */
EMBCL_API embcl_status embcl_concat_cols(size_t n, const embcl_tensor_t *inputs, embcl_tensor_t y);
/* dinputs[i] (+)= the matching columns of dy; entries may be NULL. */
EMBCL_API embcl_status embcl_concat_cols_backward(embcl_tensor_t dy, size_t n, const embcl_tensor_t *dinputs,
                                                  int accumulate);

/* Mean over time of x [T, B, F] (or [B, T, F] when batch_first) into y [B, F].
 * lengths: NULL (every sequence has T steps) or B host values in [1, T]:
 * sequence b averages its first lengths[b] steps, as a masked mean over a
 * padded batch. */
EMBCL_API embcl_status embcl_mean_time(embcl_tensor_t x, const int64_t *lengths, int batch_first, embcl_tensor_t y);
/* dx (+)= dy / lengths[b] at steps t < lengths[b], 0 past them. */
EMBCL_API embcl_status embcl_mean_time_backward(embcl_tensor_t dy, const int64_t *lengths, int batch_first,
                                                embcl_tensor_t dx, int accumulate);

#ifdef __cplusplus
}
#endif
#endif
