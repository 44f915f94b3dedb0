/* bf16 tables: 2-byte storage (the upper half of an IEEE float), float
 * arithmetic. Kernels that read or write a table include this and use
 * TABLE_T and the TABLE_* macros for the table's elements only; -DTABLE_BF16=1
 * selects ushort storage, and without it the macros are the plain float
 * loads and stores those kernels had, so an f32 build is unchanged.
 *
 * Loading is exact (a bf16 value is a float with 16 zero low bits).
 * Storing rounds one of two ways:
 *   round to nearest even, as PyTorch's .to(torch.bfloat16); NaN stays NaN
 *     (its quiet bit is set, so dropping the low mantissa bits cannot turn
 *     it into an infinity);
 *   stochastic, as FBGEMM stores its low-precision embedding weights: 16
 *     random bits are added to the low half before it is dropped, so a value
 *     rounds up with probability (its distance from the lower bf16) / ulp and
 *     the rounding is unbiased. Small updates then move the weight on
 *     average, where nearest rounding would keep returning the old value.
 *     The bits come from embcl_mix64(seed, element index / 4) (four 16-bit
 *     pieces a draw), so they depend on the seed and the element only, not
 *     on the vector width or the device.
 *
 * Macros (TABLE_VLOAD/_VSTORE need VW, the kernel's vector width):
 *   TABLE_T                        element type of a table pointer
 *   TABLE_SLOAD(k, p)              float p[k]
 *   TABLE_VLOAD(k, p)              VW floats from p + k * VW
 *   TABLE_SSTORE(v, p, i)          p[0] := v, i the element's index (random bits)
 *   TABLE_VSTORE(v, p, i)          VW elements at p, the first with index i
 *   TABLE_VSTORE2(a, b, p, i)      2 * VW elements at p: vectors a then b,
 *                                  stored as one (VW <= 8), so their random
 *                                  bits take one vector draw
 *   TABLE_ROUND_ARGS               kernel parameters the stores read:
 *                                  ulong bf16_seed
 * -DTABLE_SR=1 (the default) rounds the stores stochastically, 0 to nearest:
 * built in, since a run-time flag tested in every store cost PoCL's code. */
#ifndef EMBCL_KERNELS_BF16_H
#define EMBCL_KERNELS_BF16_H

#include "common.h"
#include "random.h"

#ifndef TABLE_BF16
#define TABLE_BF16 0
#endif

static inline float embcl_bf16_to_f(ushort h)
{
    return as_float((uint)h << 16);
}

static inline ushort embcl_f_to_bf16_rne(float f)
{
    uint u = as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (ushort)((u >> 16) | 0x0040u);
    return (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* r: 16 random bits. Infinities and NaN keep their class; a carry out of
 * the largest finite values gives infinity, as the rounding up it is. */
static inline ushort embcl_f_to_bf16_sr(float f, uint r)
{
    uint u = as_uint(f);
    if ((u & 0x7f800000u) == 0x7f800000u)
        return (ushort)((u >> 16) | ((u & 0x007fffffu) ? 0x0040u : 0u));
    return (ushort)((u + (r & 0xffffu)) >> 16);
}

static inline uint embcl_bf16_bits(ulong seed, ulong i)
{
    return (uint)(embcl_mix64(seed, i >> 2) >> (16 * (uint)(i & 3))) & 0xffffu;
}

static inline ushort embcl_f_to_bf16(float f, ulong seed, int stochastic, ulong i)
{
    return stochastic ? embcl_f_to_bf16_sr(f, embcl_bf16_bits(seed, i)) : embcl_f_to_bf16_rne(f);
}

/* 16 random bits for each of the 4 elements from index i (a multiple of 4)
 * on: the four pieces of one draw, as embcl_bf16_bits gives them one by one
 * (piece k is bits 16k..16k+15, so on a little-endian device the draw seen
 * as ushort4 holds them in order: one widening instead of four shifts and
 * masks put together lane by lane). */
#ifdef __ENDIAN_LITTLE__
static inline uint4 embcl_bf16_bits4(ulong seed, ulong i)
{
    return convert_uint4(as_ushort4(embcl_mix64(seed, i >> 2)));
}
static inline uint8 embcl_bf16_bits8(ulong seed, ulong i)
{
    const ulong d = i >> 2;
    return convert_uint8(as_ushort8((ulong2)(embcl_mix64(seed, d), embcl_mix64(seed, d + 1))));
}
static inline uint16 embcl_bf16_bits16(ulong seed, ulong i)
{
    const ulong d = i >> 2;
    return convert_uint16(as_ushort16((ulong4)(embcl_mix64(seed, d), embcl_mix64(seed, d + 1),
                                               embcl_mix64(seed, d + 2), embcl_mix64(seed, d + 3))));
}
#else
static inline uint4 embcl_bf16_bits4(ulong seed, ulong i)
{
    ulong z = embcl_mix64(seed, i >> 2);
    return (uint4)((uint)z & 0xffffu, (uint)(z >> 16) & 0xffffu, (uint)(z >> 32) & 0xffffu, (uint)(z >> 48));
}
static inline uint8 embcl_bf16_bits8(ulong seed, ulong i)
{
    return (uint8)(embcl_bf16_bits4(seed, i), embcl_bf16_bits4(seed, i + 4));
}
static inline uint16 embcl_bf16_bits16(ulong seed, ulong i)
{
    return (uint16)(embcl_bf16_bits8(seed, i), embcl_bf16_bits8(seed, i + 8));
}
#endif
static inline uint2 embcl_bf16_bits2(ulong seed, ulong i)
{
    return (uint2)(embcl_bf16_bits(seed, i), embcl_bf16_bits(seed, i + 1));
}

/* N ushorts to p, lane by lane. PoCL's vstoreN of a 16-bit type takes its
 * vector as doubles (how clang passes a 16-byte vector on x86-64) and
 * stores the halves of their 32-bit pieces one by one: N scalar stores
 * that the code generator leaves apart. Stores of the lanes themselves
 * merge into one vector store. Macros, not functions: a ushortN argument
 * of a function of ours would arrive as doubles too. */
#define EMBCL_BF16_PUT2(h, p) ((p)[0] = (h).s0, (p)[1] = (h).s1)
#define EMBCL_BF16_PUT4(h, p) (EMBCL_BF16_PUT2((h).lo, p), EMBCL_BF16_PUT2((h).hi, (p) + 2))
#define EMBCL_BF16_PUT8(h, p) (EMBCL_BF16_PUT4((h).lo, p), EMBCL_BF16_PUT4((h).hi, (p) + 4))
#define EMBCL_BF16_PUT16(h, p) (EMBCL_BF16_PUT8((h).lo, p), EMBCL_BF16_PUT8((h).hi, (p) + 8))

/* Vector loads and stores of N elements. The stores round lane by lane
 * exactly as embcl_f_to_bf16 does, in vector arithmetic (a store per lane
 * through private memory cost the fused row-wise Adagrad step on a bf16
 * table more than the halved row traffic saved, on PoCL). For N >= 4 the
 * first index i is a multiple of 4, where a draw's pieces begin: the
 * kernels' vectors start at multiples of their width. (A per-lane path for
 * other starts, never taken, cost the fused steps' bf16 kernels 6-15% of
 * their time on PoCL by being there.) */
#define EMBCL_BF16_VFUNCS(N)                                                                            \
    static inline EMBCL_CAT(float, N) EMBCL_CAT(embcl_bf16_vload, N)(size_t k, __global const ushort *p) \
    {                                                                                                   \
        return EMBCL_CAT(as_float, N)(EMBCL_CAT(convert_uint, N)(EMBCL_CAT(vload, N)(k, p)) << 16);     \
    }                                                                                                   \
    static inline void EMBCL_CAT(embcl_bf16_vstore, N)(EMBCL_CAT(float, N) v, __global ushort *p,        \
                                                       ulong seed, int stochastic, ulong i)             \
    {                                                                                                   \
        typedef EMBCL_CAT(uint, N) UV;                                                                  \
        UV u = EMBCL_CAT(as_uint, N)(v), r = (UV)0u;                                                    \
        if (stochastic)                                                                                 \
            r = EMBCL_CAT(embcl_bf16_bits, N)(seed, i);                                                 \
        UV h = (u + (stochastic ? r : (UV)0x7fffu + ((u >> 16) & 1u))) >> 16;                           \
        UV q = (u >> 16) | select((UV)0u, (UV)0x40u, (u & 0x007fffffu) != 0u);                          \
        h = select(h, q, (u & 0x7f800000u) == 0x7f800000u);                                             \
        const EMBCL_CAT(ushort, N) hs = EMBCL_CAT(convert_ushort, N)(h);                                \
        EMBCL_CAT(EMBCL_BF16_PUT, N)(hs, p);                                                            \
    }
EMBCL_BF16_VFUNCS(2)
EMBCL_BF16_VFUNCS(4)
EMBCL_BF16_VFUNCS(8)
EMBCL_BF16_VFUNCS(16)

#if TABLE_BF16
#ifndef TABLE_SR
#define TABLE_SR 1
#endif
#define TABLE_T ushort
#define TABLE_ROUND_ARGS , ulong bf16_seed
#define TABLE_SLOAD(k, p) embcl_bf16_to_f((p)[k])
#define TABLE_SSTORE(v, p, i) (*(p) = embcl_f_to_bf16((v), bf16_seed, TABLE_SR, (i)))
#if defined(VW) && VW > 1
#define TABLE_VLOAD(k, p) EMBCL_CAT(embcl_bf16_vload, VW)(k, p)
#define TABLE_VSTORE(v, p, i) EMBCL_CAT(embcl_bf16_vstore, VW)((v), (p), bf16_seed, TABLE_SR, (i))
#else
#define TABLE_VLOAD(k, p) TABLE_SLOAD(k, p)
#define TABLE_VSTORE(v, p, i) TABLE_SSTORE(v, p, i)
#endif
#if !defined(VW) || VW == 1
#define TABLE_VW2 2
#elif VW == 2
#define TABLE_VW2 4
#elif VW == 4
#define TABLE_VW2 8
#elif VW == 8
#define TABLE_VW2 16
#endif
#ifdef TABLE_VW2
#define TABLE_VSTORE2(a, b, p, i)                                                                    \
    EMBCL_CAT(embcl_bf16_vstore, TABLE_VW2)((EMBCL_CAT(float, TABLE_VW2))((a), (b)), (p), bf16_seed, \
                                            TABLE_SR, (i))
#endif
#else
#define TABLE_T float
#define TABLE_ROUND_ARGS
#define TABLE_SLOAD(k, p) (p)[k]
#define TABLE_SSTORE(v, p, i) (*(p) = (v))
#if defined(VW) && VW > 1
#define TABLE_VLOAD(k, p) EMBCL_CAT(vload, VW)(k, p)
#define TABLE_VSTORE(v, p, i) EMBCL_CAT(vstore, VW)((v), 0, (p))
#else
#define TABLE_VLOAD(k, p) (p)[k]
#define TABLE_VSTORE(v, p, i) (*(p) = (v))
#endif
#if !defined(VW) || VW <= 8
#define TABLE_VSTORE2(a, b, p, i) (TABLE_VSTORE(a, p, i), TABLE_VSTORE(b, (p) + VW, (i) + VW))
#endif
#endif

#endif
