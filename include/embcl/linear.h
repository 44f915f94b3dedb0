/* Linear layer, as torch.nn.functional.linear: y = x W^T + b.
 *
 * Shapes: x [..., in] (any leading dimensions, contiguous or a 2-D column
 * view), W [out, in] as PyTorch lays it out (so a state_dict maps one to
 * one), b [out] or NULL, y [..., out] with x's leading dimensions. All f32 on
 * one device; the caller creates every tensor. The matrix products run on
 * the device's GEMM (embcl's tiled kernel on CPUs, CLBlast on GPUs).
 * Bad arguments return an error naming the function and argument; nothing is
 * written then.
 */
#ifndef EMBCL_LINEAR_H
#define EMBCL_LINEAR_H

#include "core.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = x W^T + b. y must not overlap x or W. */
EMBCL_API embcl_status embcl_linear_forward(embcl_tensor_t x, embcl_tensor_t weight, embcl_tensor_t bias,
                                            embcl_tensor_t y);

/* Gradients from dy [..., out]:
 *   dx [..., in]  = dy W          (NULL: not computed)
 *   dweight [out, in] (+)= dy^T x (NULL: not computed)
 *   dbias [out]   (+)= sum of dy over rows (NULL: not computed)
 * accumulate 1 adds into dx, dweight and dbias (PyTorch's .grad
 * accumulation); 0 overwrites them. */
EMBCL_API embcl_status embcl_linear_backward(embcl_tensor_t x, embcl_tensor_t weight, embcl_tensor_t dy,
                                             embcl_tensor_t dx, embcl_tensor_t dweight, embcl_tensor_t dbias,
                                             int accumulate);

#ifdef __cplusplus
}
#endif
#endif
