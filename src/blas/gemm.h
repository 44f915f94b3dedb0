/* SGEMM on a device, through CLBlast: C = alpha * op(A) op(B) + beta * C,
 * all row-major 2-D f32 tensors (column views allowed: their row stride is
 * the leading dimension). op(X) is X or its transpose. */
#ifndef EMBCL_SRC_BLAS_GEMM_H
#define EMBCL_SRC_BLAS_GEMM_H

#include "tensor/tensor_impl.h"

embcl_status embcl_sgemm(int trans_a, int trans_b, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                         float beta, struct embcl_tensor *c, const char *func);

#endif
