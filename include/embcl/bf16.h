/* bf16 tables: EMBCL_BF16 tensors hold the upper 16 bits of IEEE floats
 * (torch.bfloat16), half the bytes of f32, and every op computes in float.
 * An embedding lookup is bound by reading table rows, so a bf16 table
 * halves the traffic of the gather on any device.
 *
 * What takes a bf16 table (everything else wants f32 and fails with
 * EMBCL_ERR_DTYPE naming the argument):
 *  - tensors: create, upload / download (2 bytes an element, the bf16 bit
 *    patterns), fill (the value rounded to nearest even), copy, views;
 *    embcl_tensor_convert below between f32 and bf16;
 *  - embcl_embedding_init_normal (the f32 samples rounded to nearest even,
 *    as torch initialises with dtype=torch.bfloat16) and
 *    embcl_embedding_from_pretrained (the f32 data rounded likewise);
 *  - embcl_embedding and embcl_embedding_bag (sum, mean, max,
 *    per_sample_weights, padding_idx): `weight` bf16, `out` f32. PyTorch's
 *    bf16 embedding_bag returns bf16; embcl returns the float accumulators
 *    as they are, because what reads them (Linear, LSTM, the losses) is
 *    f32, rounding would only lose bits, and the saving that matters is in
 *    the n rows read, not the B rows written. Round `out` with
 *    embcl_tensor_convert for a bf16 result. per_sample_weights stay f32
 *    (PyTorch wants them in the weight's dtype; f32 holds every bf16 value).
 *    max_norm on a bf16 table fails with EMBCL_ERR_UNSUPPORTED
 *    (renormalising in place would round again);
 *  - embcl_embedding_bag_tables and its backward (FBGEMM's TBE): every
 *    table of a call bf16, or every one f32;
 *  - the backward passes: gradients are f32 (dense [V, D] or row-sparse)
 *    whatever the table's dtype; grad_psw reads the bf16 table;
 *  - optimizers: embcl_optim_add_param takes a bf16 parameter for every
 *    optimizer (the row-sparse steps, the fused backward + update, and the
 *    dense steps alike). State stays f32; each element's update is computed
 *    in float from the bf16 weight and written back rounded (below);
 *  - safetensors: dtype "BF16" (safetensors.torch.load_file gives
 *    torch.bfloat16).
 * Not bf16: the graph executor and embcl train (the trained model's decoder
 * reads the table through an f32 GEMM).
 */
#ifndef EMBCL_BF16_H
#define EMBCL_BF16_H

#include "core.h"
#include "optim.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How an optimizer writes an updated bf16 weight back.
 * STOCHASTIC (the default, FBGEMM's choice for low-precision tables): 16
 *   random bits are added below the kept half of the float, then cut off, so
 *   the weight rounds up with probability equal to its distance from the
 *   bf16 below, in ulps: unbiased, so updates smaller than half an ulp
 *   (lr * grad below 2^-9 of the weight) still move the weight on average,
 *   where nearest rounding would return the old value every step. The bits
 *   are a pure function of (seed, parameter index, the parameter's step
 *   count, element index): the same on every device and run, and a replayed
 *   or rolled-back step rounds identically.
 * NEAREST: round to nearest even, as torch's .to(torch.bfloat16). */
typedef enum embcl_bf16_rounding {
    EMBCL_BF16_STOCHASTIC = 0,
    EMBCL_BF16_NEAREST = 1,
    EMBCL_BF16_ROUNDING_COUNT
} embcl_bf16_rounding;

/* Host conversions of n values. f32 -> bf16 rounds to nearest even as torch
 * does (bit for bit); a NaN stays a NaN (its sign and top payload bits kept,
 * the quiet bit set); values past the largest bf16 become infinities.
 * bf16 -> f32 is exact. NULL is fine when n is 0. */
EMBCL_API embcl_status embcl_bf16_from_f32(const float *src, uint16_t *dst, size_t n);
EMBCL_API embcl_status embcl_bf16_to_f32(const uint16_t *src, float *dst, size_t n);

/* dst := src converted, on the device: f32 -> bf16 (nearest even, as
 * embcl_bf16_from_f32), bf16 -> f32 (exact), or a plain copy for equal
 * dtypes. Same shape, same device; views fine; enqueued, not waited for.
 * Other dtypes fail with EMBCL_ERR_DTYPE, nothing written. */
EMBCL_API embcl_status embcl_tensor_convert(embcl_tensor_t dst, embcl_tensor_t src);

/* The rounding of opt's bf16 parameters from the next step on (default
 * STOCHASTIC, seed 0). Not part of embcl_optim_state_save: set it again
 * after loading to continue the same sequence. */
EMBCL_API embcl_status embcl_optim_set_bf16_rounding(embcl_optim_t opt, embcl_bf16_rounding mode, uint64_t seed);
EMBCL_API embcl_status embcl_optim_get_bf16_rounding(embcl_optim_t opt, embcl_bf16_rounding *mode,
                                                     uint64_t *seed);

#ifdef __cplusplus
}
#endif
#endif
