/* Helpers shared by the dense ops (linear, lstm, loss, elementwise):
 * argument checks that name the public function, matrix arguments for the
 * kernels of kernels/elementwise.cl, and launches with the device's
 * preferred work-group. */
#ifndef EMBCL_SRC_OPS_DENSE_UTIL_H
#define EMBCL_SRC_OPS_DENSE_UTIL_H

#include "device/program.h"
#include "tensor/tensor_impl.h"

_Static_assert(sizeof(size_t) == sizeof(cl_ulong), "kernels take offsets and strides as ulong");

/* A tensor seen as its rows x cols matrix (what GEMM wants of an N-D one). */
static inline struct embcl_tensor embcl_as_matrix(const struct embcl_tensor *t)
{
    struct embcl_tensor m = *t;
    m.ndim = 2;
    m.shape[0] = (int64_t)t->rows;
    m.shape[1] = (int64_t)t->cols;
    m.shape[2] = m.shape[3] = 0;
    return m;
}

/* The three kernel arguments of a matrix operand: buffer, offset, row stride. */
#define EMBCL_KARG_MAT(t) EMBCL_KARG((t)->buf->mem), EMBCL_KARG((t)->offset), EMBCL_KARG((t)->ld)

/* t is f32 and on dev. */
embcl_status embcl_check_f32_on(const struct embcl_tensor *t, struct embcl_device *dev, const char *func,
                                const char *arg);
/* The same allowing a tensor split by rows. */
embcl_status embcl_check_f32_on_parts(const struct embcl_tensor *t, struct embcl_device *dev, const char *func,
                                      const char *arg);
/* t has exactly `ndim` dimensions and, where want[d] >= 0, those sizes.
 * The message names the argument, its shape and the expected one. */
embcl_status embcl_check_shape(const struct embcl_tensor *t, int ndim, const int64_t *want, const char *func,
                               const char *arg);
/* b has the same shape as a. */
embcl_status embcl_check_same_shape(const struct embcl_tensor *b, const struct embcl_tensor *a, const char *func,
                                    const char *arg_b, const char *arg_a);

/* Launch k over (cols, rows) with the device's elementwise work-group. */
embcl_status embcl_launch_2d(struct embcl_device *dev, cl_kernel k, const char *kname, size_t cols, size_t rows);

/* y := (acc ? y : 0) + kernel(a[, b]) for the two-operand kernels of
 * elementwise.cl (copy_acc, tanh_fwd, sigmoid_fwd) and three-operand ones
 * (add, mul, tanh_bwd, sigmoid_bwd); b NULL selects the former. Shapes are
 * the caller's to check. */
embcl_status embcl_ew_run(const char *kernel, struct embcl_tensor *a, struct embcl_tensor *b,
                          struct embcl_tensor *y, int acc, const char *func);
/* y := (acc ? y : 0) + dropout(a) with the mask of (seed, element index). */
embcl_status embcl_ew_dropout(struct embcl_tensor *a, struct embcl_tensor *y, int acc, float p, uint64_t seed,
                              const char *func);
/* y[r][c] += b[c] */
embcl_status embcl_ew_bias_rows(struct embcl_tensor *y, struct embcl_tensor *b, const char *func);
/* y[c] := (acc ? y[c] : 0) + sum over rows of a[r][c] */
embcl_status embcl_ew_sum_rows(struct embcl_tensor *a, struct embcl_tensor *y, int acc, const char *func);

#endif
