/* SGEMM on a device: C = alpha * op(A) op(B) + beta * C, all row-major 2-D
 * f32 tensors (column views allowed: their row stride is the leading
 * dimension). op(X) is X or its transpose.
 *
 * Two backends: embcl's own tiled kernel (kernels/gemm.cl), which is what CPU
 * devices get (PoCL runs it several times faster than CLBlast's defaults and
 * compiles it in well under a second), and CLBlast, which GPUs get. The
 * tuning key "gemm.BACKEND" (1 own, 2 CLBlast, as the enum) picks per device
 * type; callers may force one (tests compare both). */
#ifndef EMBCL_SRC_BLAS_GEMM_H
#define EMBCL_SRC_BLAS_GEMM_H

#include "tensor/tensor_impl.h"

typedef enum embcl_gemm_backend {
    EMBCL_GEMM_AUTO = 0,   /* by the device's tuning entry gemm.BACKEND */
    EMBCL_GEMM_OWN = 1,
    EMBCL_GEMM_CLBLAST = 2
} embcl_gemm_backend;

embcl_status embcl_sgemm(int trans_a, int trans_b, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                         float beta, struct embcl_tensor *c, const char *func);

/* `count` products at once: operand X of product z starts stride_x elements
 * after X's (a, b, c describe product 0; the others share their buffers and
 * layout). Errors name `func`. */
embcl_status embcl_sgemm_batched(embcl_gemm_backend backend, int trans_a, int trans_b, float alpha,
                                 struct embcl_tensor *a, struct embcl_tensor *b, float beta, struct embcl_tensor *c,
                                 size_t count, size_t stride_a, size_t stride_b, size_t stride_c, const char *func);

/* dst := src^T for `count` matrices: src is rows x cols (row stride ld),
 * product z at z * src_stride elements; dst is contiguous, matrix z at
 * z * rows * cols. No checks (internal callers size dst). */
embcl_status embcl_transpose(struct embcl_tensor *src, size_t count, size_t src_stride, struct embcl_tensor *dst,
                             const char *func);

/* A product with an operand split by rows (src/blas/gemm_split.c; from
 * embcl_sgemm_batched, count 1): sub-products over the parts. Splits along
 * M and N are independent products; a split along K continues the sum
 * (embcl_sgemm_continue), so on embcl's own kernel every element rounds as
 * in one pass over the unsplit operands; CLBlast's accumulate with beta 1
 * (the same within rounding). */
embcl_status embcl_sgemm_split(embcl_gemm_backend backend, int trans_a, int trans_b, float alpha,
                               struct embcl_tensor *a, struct embcl_tensor *b, float beta, struct embcl_tensor *c,
                               const char *func);
/* c += op(a) op(b) continuing the sum c holds: own kernel with ACC_C
 * (exactly the rounding of one longer pass), CLBlast with beta 1. Single
 * buffers, shapes checked by the caller. */
embcl_status embcl_sgemm_continue(embcl_gemm_backend backend, int trans_a, int trans_b, struct embcl_tensor *a,
                                  struct embcl_tensor *b, struct embcl_tensor *c, const char *func);
/* How a product of depth k and width n rounds on dev: the columns below
 * *n0 (the tiles) sum k in chunks of *kc, each chunk's sum added to C; the
 * others (edges, and every column on CLBlast) sum all of k at once. */
void embcl_gemm_k_layout(struct embcl_device *dev, embcl_gemm_backend backend, size_t k, size_t n, size_t *kc,
                         size_t *n0);
/* c = alpha * t + beta * c, t packed with c's shape, with the tile
 * kernel's expression (so it rounds as a product's last step). */
embcl_status embcl_gemm_axpby(float alpha, struct embcl_tensor *t, float beta, struct embcl_tensor *c,
                              const char *func);

/* The backend AUTO resolves to on dev. */
embcl_gemm_backend embcl_gemm_backend_for(struct embcl_device *dev);

#endif
