/* Losses, forward and backward.
 *
 * ce_rows / ce_bwd  cross-entropy from logits [N, C] (row stride ld): one
 *        work-group of WGS items per row reduces max and sum(exp) in local
 *        memory (stable log-softmax), so wide vocabularies are read
 *        cooperatively. Label smoothing eps mixes the one-hot target with
 *        the uniform one: loss = (1-eps)(lse - x[y]) + eps (lse - mean(x)).
 *        Rows whose target is ignore_index give 0 and no gradient.
 *        ce_rows can keep each row's log-sum-exp (lse_mode 1) for ce_bwd
 *        to read (lse_mode 1) instead of reducing the row again: the
 *        backward then reads the logits once.
 * bce_elem / bce_bwd, mse_elem / mse_bwd  elementwise losses over a rows x
 *        cols matrix, written per element (reduction none) or into a
 *        scratch buffer that sum_scaled reduces.
 * sum_scaled  one work-group sums n values in a fixed order (deterministic)
 *        and stores sum / div (the count for mean, as PyTorch divides).
 * Gradient kernels take the upstream gradient as dl with dl_mode 0 (none:
 * 1.0), 1 (one scalar, reductions mean and sum) or 2 (one per element or
 * row, reduction none), times `scale` (1/count for mean).
 * Tunables (-D): WGS work-group size (a power of two), TIDX target index type
 * (int or long), VW floats per work-item step in the cross-entropy rows (1, 4, 8). */
#include "common.h"

#ifndef WGS
#define WGS 64
#endif
#ifndef TIDX
#define TIDX long
#endif
#ifndef VW
#define VW 1
#endif

#define MAT(p) __global const float *p, ulong p##_off, ulong p##_ld
#define MATW(p) __global float *p, ulong p##_off, ulong p##_ld
#define AT(p, r, c) p[p##_off + (ulong)(r) * p##_ld + (c)]

/* Tree reduction of one value per work-item; every item gets the result. */
#define REDUCE(buf, v, OP)                                      \
    do {                                                        \
        buf[lid] = (v);                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                           \
        for (uint s_ = WGS / 2; s_ > 0; s_ >>= 1) {             \
            if (lid < s_)                                       \
                buf[lid] = OP(buf[lid], buf[lid + s_]);         \
            barrier(CLK_LOCAL_MEM_FENCE);                       \
        }                                                       \
        (v) = buf[0];                                           \
        barrier(CLK_LOCAL_MEM_FENCE);                           \
    } while (0)
#define ADD(a, b) ((a) + (b))

/* Rows are walked in blocks of VW floats per work-item (exp on a vector
 * type is what lets PoCL use its vectorised exp: the scalar one made the
 * softmax the largest cost of the embcl train step), then the C % VW tail
 * one float per work-item. The order of every sum is fixed. */
#if VW == 1
#define VT float
#define VLD(c, p) ((p)[c])
#define VMAX(v) (v)
#define VSUM(v) (v)
#else
#define VT EMBCL_CAT(float, VW)
#define VLD(c, p) EMBCL_CAT(vload, VW)(0, (p) + (c))
#if VW == 4
#define VMAX(v) fmax(fmax((v).s0, (v).s1), fmax((v).s2, (v).s3))
#define VSUM(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#elif VW == 8
#define VMAX(v) fmax(fmax(fmax((v).s0, (v).s1), fmax((v).s2, (v).s3)), fmax(fmax((v).s4, (v).s5), fmax((v).s6, (v).s7)))
#define VSUM(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
#else
#error "loss.cl: VW is 1, 4 or 8"
#endif
#endif
#define VEND(C) ((C) / VW * VW)

/* log-sum-exp and sum of the row's logits */
#define ROW_STATS(x, C, lid, red, lse, sumx)                          \
    do {                                                              \
        float m_ = -INFINITY;                                         \
        for (uint c_ = lid * VW; c_ < VEND(C); c_ += WGS * VW)        \
            m_ = fmax(m_, VMAX(VLD(c_, x)));                          \
        for (uint c_ = VEND(C) + lid; c_ < C; c_ += WGS)              \
            m_ = fmax(m_, x[c_]);                                     \
        REDUCE(red, m_, fmax);                                        \
        float e_ = 0.0f, s_x = 0.0f;                                  \
        for (uint c_ = lid * VW; c_ < VEND(C); c_ += WGS * VW) {      \
            VT v_ = VLD(c_, x);                                       \
            e_ += VSUM(exp(v_ - m_));                                 \
            s_x += VSUM(v_);                                          \
        }                                                             \
        for (uint c_ = VEND(C) + lid; c_ < C; c_ += WGS) {            \
            e_ += exp(x[c_] - m_);                                    \
            s_x += x[c_];                                             \
        }                                                             \
        REDUCE(red, e_, ADD);                                         \
        REDUCE(red, s_x, ADD);                                        \
        lse = m_ + log(e_);                                           \
        sumx = s_x;                                                   \
    } while (0)

/* An ignored row (target ignore_index) still walks the barriers, its
 * result discarded: with an early return before them, as the OpenCL rules
 * allow for a condition uniform across the group, PoCL 3.1's work-group
 * code for WGS 4 and 8 looped forever on such a row. */
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1))) void
ce_rows(uint C, MAT(z), __global const TIDX *target, ulong t_off, long ignore_index, float eps,
        __global float *out, ulong out_off, __global float *lse_buf, ulong lse_off, int lse_mode)
{
    __local float red[WGS];
    uint lid = get_local_id(0), row = get_group_id(0);
    long y = (long)target[t_off + row];
    const __global float *x = z + z_off + (ulong)row * z_ld;
    float lse, sumx;
    ROW_STATS(x, C, lid, red, lse, sumx);
    if (lid == 0) {
        out[out_off + row] = y == ignore_index ? 0.0f : (1.0f - eps) * (lse - x[y]) + eps * (lse - sumx / (float)C);
        if (lse_mode)
            lse_buf[lse_off + row] = lse;
    }
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1))) void
ce_bwd(uint C, MAT(z), __global const TIDX *target, ulong t_off, long ignore_index, float eps,
       __global const float *dl, ulong dl_off, int dl_mode, float scale, MATW(g), int acc,
       __global const float *lse_buf, ulong lse_off, int lse_mode)
{
    __local float red[WGS];
    uint lid = get_local_id(0), row = get_group_id(0);
    long y = (long)target[t_off + row];
    int skip = y == ignore_index;
    __global float *gr = g + g_off + (ulong)row * g_ld;
    const __global float *x = z + z_off + (ulong)row * z_ld;
    float lse, sumx;
    if (lse_mode) /* uniform across the group: no barrier is skipped by some only */
        lse = lse_buf[lse_off + row];
    else
        ROW_STATS(x, C, lid, red, lse, sumx);
    (void)sumx;
    float up = scale * (dl_mode == 0 ? 1.0f : dl_mode == 1 ? dl[dl_off] : dl[dl_off + row]);
    if (skip) {
        for (uint c = lid; c < C; c += WGS)
            gr[c] = acc ? gr[c] : 0.0f;
    } else {
        float off = eps / (float)C;
        for (uint c = lid * VW; c < VEND(C); c += WGS * VW) {
            VT v = (exp(VLD(c, x) - lse) - off) * up;
#if VW == 1
            VT g0 = acc ? gr[c] : 0.0f;
            gr[c] = g0 + v;
#else
            VT g0 = acc ? VLD(c, gr) : (VT)0.0f;
            EMBCL_CAT(vstore, VW)(g0 + v, 0, gr + c);
#endif
        }
        for (uint c = VEND(C) + lid; c < C; c += WGS) {
            float v = (exp(x[c] - lse) - off) * up;
            gr[c] = acc ? gr[c] + v : v;
        }
    }
    /* The target's own term, after its block: one work-item, no race. */
    barrier(CLK_GLOBAL_MEM_FENCE);
    if (lid == 0 && !skip)
        gr[y] -= (1.0f - eps) * up;
}

#define IDS                        \
    uint c = get_global_id(0);     \
    uint r = get_global_id(1);     \
    if (c >= cols || r >= rows)    \
        return;

__kernel void bce_elem(uint rows, uint cols, MAT(x), MAT(t), MATW(out))
{
    IDS
    float v = AT(x, r, c), y = AT(t, r, c);
    AT(out, r, c) = fmax(v, 0.0f) - v * y + log1p(exp(-fabs(v)));
}

__kernel void mse_elem(uint rows, uint cols, MAT(x), MAT(t), MATW(out))
{
    IDS
    float d = AT(x, r, c) - AT(t, r, c);
    AT(out, r, c) = d * d;
}

#define UPSTREAM (scale * (dl_mode == 0 ? 1.0f : dl_mode == 1 ? dl[dl_off] : AT(dl, r, c)))

__kernel void bce_bwd(uint rows, uint cols, MAT(x), MAT(t), MAT(dl), int dl_mode, float scale, MATW(g), int acc)
{
    IDS
    float v = AT(x, r, c);
    float s = 1.0f / (1.0f + exp(-v));
    float d = (s - AT(t, r, c)) * UPSTREAM;
    AT(g, r, c) = acc ? AT(g, r, c) + d : d;
}

__kernel void mse_bwd(uint rows, uint cols, MAT(x), MAT(t), MAT(dl), int dl_mode, float scale, MATW(g), int acc)
{
    IDS
    float d = 2.0f * (AT(x, r, c) - AT(t, r, c)) * UPSTREAM;
    AT(g, r, c) = acc ? AT(g, r, c) + d : d;
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1))) void
sum_scaled(uint n, __global const float *v, float div, __global float *out, ulong out_off)
{
    __local float red[WGS];
    uint lid = get_local_id(0);
    float s = 0.0f;
    for (uint i = lid; i < n; i += WGS)
        s += v[i];
    REDUCE(red, s, ADD);
    if (lid == 0)
        out[out_off] = s / div;
}
