/* Conversions between f32 and bf16 tensors (src/tensor/convert.c), with the
 * rounding of kernels/bf16.h.
 * Variants (-D): none.
 * Layout: rows x cols matrices, each at its element offset with its row
 * stride (column views of wider tables have ld > cols).
 * Kernels f32_to_bf16 (round to nearest even), bf16_to_f32 (exact): 2-D
 * range, dim 0 over columns, dim 1 over rows, one element per work-item. */
#include "bf16.h"

__kernel void f32_to_bf16(__global ushort *dst, ulong d_off, ulong d_ld, __global const float *src, ulong s_off,
                          ulong s_ld, ulong rows, ulong cols)
{
    const ulong c = get_global_id(0), r = get_global_id(1);
    if (c < cols && r < rows)
        dst[d_off + r * d_ld + c] = embcl_f_to_bf16_rne(src[s_off + r * s_ld + c]);
}

__kernel void bf16_to_f32(__global float *dst, ulong d_off, ulong d_ld, __global const ushort *src, ulong s_off,
                          ulong s_ld, ulong rows, ulong cols)
{
    const ulong c = get_global_id(0), r = get_global_id(1);
    if (c < cols && r < rows)
        dst[d_off + r * d_ld + c] = embcl_bf16_to_f(src[s_off + r * s_ld + c]);
}
