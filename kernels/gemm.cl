/* SGEMM for CPU devices (PoCL), where CLBlast's default parameters reach a
 * fraction of the cores' FMA rate. C = alpha * op(A) * B + beta * C, row-major,
 * batched over get_global_id(2) with a fixed element stride per operand.
 *
 * Kernels:
 *   gemm_tile  each work-item owns an RM x (VW*NV) block of C in registers;
 *              per k it loads NV VW-wide vectors of one B row and RM scalars
 *              of A (broadcast), then RM*NV vector FMAs. A is addressed with
 *              two strides (a_sm between rows of op(A), a_sk along k), so
 *              op(A) = A or A^T costs the same; B must be contiguous along N
 *              (the host transposes B first when op(B) = B^T). Rows past M
 *              in the last block reread row M-1 and are not stored, so only
 *              columns need the edge kernel. Global size: (column blocks,
 *              row blocks, batch), rounded up to the work-group.
 *   gemm_edge  one work-item per element of C in rows [0, M), columns
 *              [n0, N): the columns left of a whole block. Both operands by
 *              strides.
 *   transpose  dst[c][r] = src[r][c] (src rows x cols, row stride lds; dst
 *              contiguous), batched over get_global_id(2).
 *   transpose_axpby  C = alpha * src^T + beta * C, src contiguous [cols][rows]:
 *              the last step of A^T B computed as (B^T A)^T when A is the
 *              big operand.
 *   axpby_2d   C = alpha * T + beta * C for a packed T, with the tiles'
 *              expression: the last step of a product whose K was split
 *              (src/blas/gemm_split.c).
 * Tunables (-D): RM rows per work-item, VW vector width (4, 8 or 16), NV
 * vectors per row. beta == 0 never reads C, as BLAS promises.
 * ACC_C=1: the tiles and edges continue a sum C already holds (acc starts
 * at C, C := acc, alpha and beta unused), so a product over K split in
 * pieces rounds exactly as one pass over the whole K. */
#include "common.h"

#ifndef RM
#define RM 6
#endif
#ifndef VW
#define VW 8
#endif
#ifndef NV
#define NV 2
#endif
#ifndef ACC_C
#define ACC_C 0
#endif

#define VT EMBCL_CAT(float, VW)
#define VLOAD EMBCL_CAT(vload, VW)
#define VSTORE EMBCL_CAT(vstore, VW)

__kernel void gemm_tile(uint M, uint col_blocks, uint row_blocks, uint K, float alpha, float beta,
                        __global const float *A, ulong a_off, ulong a_sm, ulong a_sk, ulong a_sb,
                        __global const float *B, ulong b_off, ulong ldb, ulong b_sb,
                        __global float *C, ulong c_off, ulong ldc, ulong c_sb)
{
    uint bn = get_global_id(0), bm = get_global_id(1);
    ulong z = get_global_id(2);
    if (bn >= col_blocks || bm >= row_blocks)
        return;
    uint m0 = bm * RM;
    uint rows = min((uint)RM, M - m0);
    const __global float *ap[RM];
#pragma unroll
    for (int i = 0; i < RM; i++)
        ap[i] = A + a_off + z * a_sb + (ulong)(m0 + min((uint)i, rows - 1)) * a_sm;
    const __global float *bp = B + b_off + z * b_sb + (ulong)bn * (VW * NV);
    VT acc[RM][NV];
#if ACC_C
    {
        __global const float *c0 = C + c_off + z * c_sb + (ulong)m0 * ldc + (ulong)bn * (VW * NV);
#pragma unroll
        for (int i = 0; i < RM; i++)
#pragma unroll
            for (int j = 0; j < NV; j++)
                acc[i][j] = VLOAD(0, c0 + (ulong)min((uint)i, rows - 1) * ldc + j * VW);
    }
#else
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
        for (int j = 0; j < NV; j++)
            acc[i][j] = (VT)(0.0f);
#endif
    for (uint k = 0; k < K; k++) {
        VT bv[NV];
#pragma unroll
        for (int j = 0; j < NV; j++)
            bv[j] = VLOAD(0, bp + j * VW);
        bp += ldb;
#pragma unroll
        for (int i = 0; i < RM; i++) {
            VT av = (VT)(ap[i][k * a_sk]);
#pragma unroll
            for (int j = 0; j < NV; j++)
                acc[i][j] = fma(av, bv[j], acc[i][j]);
        }
    }
    __global float *cp = C + c_off + z * c_sb + (ulong)m0 * ldc + (ulong)bn * (VW * NV);
#pragma unroll
    for (int i = 0; i < RM; i++) {
        if ((uint)i < rows) {
#pragma unroll
            for (int j = 0; j < NV; j++) {
#if ACC_C
                VT r = acc[i][j];
#else
                VT r = alpha * acc[i][j];
                if (beta != 0.0f)
                    r += beta * VLOAD(0, cp + j * VW);
#endif
                VSTORE(r, 0, cp + j * VW);
            }
        }
        cp += ldc;
    }
}

__kernel void gemm_edge(uint M, uint N, uint n0, uint K, float alpha, float beta,
                        __global const float *A, ulong a_off, ulong a_sm, ulong a_sk, ulong a_sb,
                        __global const float *B, ulong b_off, ulong b_sk, ulong b_sn, ulong b_sb,
                        __global float *C, ulong c_off, ulong ldc, ulong c_sb)
{
    uint n = n0 + get_global_id(0), m = get_global_id(1);
    ulong z = get_global_id(2);
    if (n >= N || m >= M)
        return;
    const __global float *a = A + a_off + z * a_sb + (ulong)m * a_sm;
    const __global float *b = B + b_off + z * b_sb + (ulong)n * b_sn;
    __global float *c = C + c_off + z * c_sb + (ulong)m * ldc + n;
#if ACC_C
    float acc = *c;
#else
    float acc = 0.0f;
#endif
    for (uint k = 0; k < K; k++)
        acc = fma(a[k * a_sk], b[k * b_sk], acc);
#if ACC_C
    *c = acc;
#else
    float r = alpha * acc;
    if (beta != 0.0f)
        r += beta * *c;
    *c = r;
#endif
}

__kernel void axpby_2d(uint rows, uint cols, float alpha, float beta, __global const float *T,
                       __global float *C, ulong c_off, ulong ldc)
{
    uint n = get_global_id(0), m = get_global_id(1);
    if (n >= cols || m >= rows)
        return;
    __global float *c = C + c_off + (ulong)m * ldc + n;
    float r = alpha * T[(ulong)m * cols + n];
    if (beta != 0.0f)
        r += beta * *c;
    *c = r;
}

__kernel void transpose(uint rows, uint cols, __global const float *src, ulong s_off, ulong lds, ulong s_sb,
                        __global float *dst, ulong d_sb)
{
    uint c = get_global_id(0), r = get_global_id(1);
    ulong z = get_global_id(2);
    if (c < cols && r < rows)
        dst[z * d_sb + (ulong)c * rows + r] = src[s_off + z * s_sb + (ulong)r * lds + c];
}

__kernel void transpose_axpby(uint rows, uint cols, float alpha, float beta, __global const float *src, ulong s_sb,
                              __global float *C, ulong c_off, ulong ldc, ulong c_sb)
{
    uint c = get_global_id(0), r = get_global_id(1);
    ulong z = get_global_id(2);
    if (c >= cols || r >= rows)
        return;
    float v = alpha * src[z * s_sb + (ulong)c * rows + r];
    __global float *cp = C + c_off + z * c_sb + (ulong)r * ldc + c;
    if (beta != 0.0f)
        v += beta * *cp;
    *cp = v;
}
