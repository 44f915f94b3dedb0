/* EmbeddingBag backward to a row-sparse gradient for narrow rows, without a
 * sort (host: src/ops/embedding_narrow.c). The upload's facts say which
 * values occur and which occur more than once; the host turns them into a
 * word table, three ulongs per 64 values from vmin:
 *   wt[3w]      bit j: value vmin + 64w + j occurs (padding cleared)
 *   wt[3w + 1]  bit j: it occurs more than once
 *   wt[3w + 2]  low 32 bits: occurring values below word w (its first row
 *               of the gradient); high 32 bits: repeated values below it
 * so a value's gradient row is its rank among the occurring values, found
 * in O(1). A value that occurs once owns its row outright: its only
 * position names its bag (and factor) in the row's entry, and the row gets
 * 0 + f * g[bag], the bits seg_reduce (bag.cl) gives a segment of one.
 * Only the positions of repeated values are grouped: a
 * stable counting sort by their rank among the repeated values, over G
 * chunks of consecutive bags (chunk order is position order), then each
 * repeated value sums its positions in that order, as seg_reduce does.
 *
 * Variants (-D):
 *   IDX_T, OFF_T  int | long   index and offset types
 *   ND      the row width D (constant: a row lives in registers)
 *   VW      1|2|4|8|16 floats per vector along a row
 *   ES      1|2  ints per row entry: the bag alone (no per_sample_weights:
 *                the factor is 1, or the bag's 1/count in fbag for mean),
 *                or the bag and the position's factor
 *   PF_AHEAD     even; nar_bags' prefetch distance on CPUs (0 off)
 *
 * Kernels (G = the global size of nar_bags and nar_dup_place, one
 * work-item per work-group; small holds, for ndv repeated values,
 * cnt [G][ndv], then dn [G], cstart [G], dstart [ndv + 1]; ent holds per
 * gradient row its bag, and with ES 2 the factor):
 *   nar_bags       chunk c's bags in order: a value seen once puts its
 *                  position's bag (factor) in its row's entry; a repeated
 *                  one's
 *                  position is listed (bag, factor, rank, row) in rec from
 *                  the chunk's first position, and counted
 *   nar_dup_scan   one work-item: each repeated value's first slot, and
 *                  each chunk's first slot within it
 *   nar_dup_place  chunk c's listed positions to their slots of sorted
 *                  (pairs), in order; the value's row entry points there
 *   nar_rows       the rows in order (the values' order): ids, and each
 *                  row's sum, written sequentially (random writes of
 *                  whole rows from nar_bags waited on a line fill each) */
#include "common.h"

#ifndef IDX_T
#define IDX_T long
#endif
#ifndef OFF_T
#define OFF_T long
#endif
#ifndef ND
#define ND 16
#endif
#ifndef VW
#define VW 8
#endif
#ifndef ES
#define ES 2
#endif

/* Full unrolling keeps a row in registers. */
#define EMBCL_UNROLL_N _Pragma("unroll")
#define MODE_MEAN 1
#define NV (ND / VW)
#define NT (ND % VW)

#if VW == 1
#define VT float
#define VLOAD(k, p) (p)[k]
#else
#define VT EMBCL_CAT(float, VW)
#define VLOAD(k, p) EMBCL_CAT(vload, VW)(k, p)
#endif

/* Rows go out with plain stores: streaming stores measured the same at
 * D = 16 and 64 (gradients of 5 and 20 MB, which the optimizer reads next). */
#if VW == 1
#define VSTORE_ROW(v, k, p) (p)[k] = (v)
#else
#define VSTORE_ROW(v, k, p) EMBCL_CAT(vstore, VW)(v, k, p)
#endif

#define SMALL_CNT(small, G, ndv) (small)
#define SMALL_DN(small, G, ndv) ((small) + (ulong)(G) * (ndv))
#define SMALL_CSTART(small, G, ndv) (SMALL_DN(small, G, ndv) + (G))
#define SMALL_DSTART(small, G, ndv) (SMALL_CSTART(small, G, ndv) + (G))

/* As bag.cl's: offsets count from the caller's first index, idx from base. */
static void bag_range(__global const OFF_T *offs, ulong base, ulong n_offs, ulong fixed_l, ulong n, ulong b,
                      ulong *s, ulong *e)
{
    if (!offs) {
        *s = b * fixed_l;
        *e = *s + fixed_l;
    } else {
        *s = (ulong)offs[b] - base;
        *e = b + 1 < n_offs ? (ulong)offs[b + 1] - base : n;
    }
}

/* CPUs: the word-table entry of the position PF_AHEAD ahead, and the row
 * entry of the one PF_AHEAD / 2 ahead (whose word entry came in by then),
 * are requested while this position is done: each position's two random
 * accesses waited on a cache line one after the other. */
#ifndef PF_AHEAD
#define PF_AHEAD 0
#endif
#if PF_AHEAD && EMBCL_CPU && defined(__clang__)
#define NAR_PF 1
#define PF_READ(ptr) __builtin_prefetch((const void *)(ulong)(ptr), 0, 3)
#define PF_WRITE(ptr) __builtin_prefetch((const void *)(ulong)(ptr), 1, 3)
#else
#define NAR_PF 0
#endif

/* The gradient row of the value at u = value - vmin: its rank among the
 * occurring values (the word table's count below its word, plus the
 * occurring values below it within the word). */
static inline uint value_row(__global const ulong *wt, ulong u)
{
    ulong w = u >> 6, below = ((ulong)1 << (u & 63)) - 1;
    return (uint)wt[3 * w + 2] + (uint)popcount(wt[3 * w] & below);
}

/* Work-item c: bags [c * per, (c + 1) * per). */
__kernel void nar_bags(__global const IDX_T *idx, ulong idx_off, __global const OFF_T *offs, ulong offs_off,
                       ulong base, ulong n_offs, ulong fixed_l, ulong n, ulong B, ulong per,
                       __global const float *psw, ulong psw_off, long pad, int mode, __global const ulong *wt,
                       long vmin, __global int *ent, __global float *fbag, __global int *rec,
                       __global uint *small, uint ndv)
{
    uint c = get_global_id(0), G = get_global_size(0);
    ulong b0 = min(B, (ulong)c * per), b1 = min(B, b0 + per);
    idx += idx_off;
    offs = offs ? offs + offs_off : offs;
    psw = psw ? psw + psw_off : psw;
    __global uint *cnt = SMALL_CNT(small, G, ndv) + (ulong)c * ndv;
    for (uint r = 0; r < ndv; r++)
        cnt[r] = 0;
    ulong s0 = 0, e0;
    if (b0 < b1)
        bag_range(offs, base, n_offs, fixed_l, n, b0, &s0, &e0);
    ulong k = s0;
#if NAR_PF
    ulong pe = s0;
    if (b0 < b1) {
        ulong sl, el;
        bag_range(offs, base, n_offs, fixed_l, n, b1 - 1, &sl, &el);
        pe = el;
    }
#endif
    for (ulong b = b0; b < b1; b++) {
        ulong s, e;
        bag_range(offs, base, n_offs, fixed_l, n, b, &s, &e);
        /* the factor bag_positions (bag.cl) gives each position */
        float fb = 1.0f;
        if (mode == MODE_MEAN) {
            uint m = 0;
            for (ulong p = s; p < e; p++)
                m += (long)idx[p] != pad;
            fb = m > 1 ? 1.0f / (float)m : 1.0f;
            if (fbag)
                fbag[b] = fb;
        }
        for (ulong p = s; p < e; p++) {
#if NAR_PF
            /* every value but the padding lies in the table's range */
            if (p + PF_AHEAD < pe) {
                long va = (long)idx[p + PF_AHEAD];
                if (va != pad)
                    PF_READ(wt + 3 * ((ulong)(va - vmin) >> 6));
            }
            if (p + PF_AHEAD / 2 < pe) {
                long vb = (long)idx[p + PF_AHEAD / 2];
                if (vb != pad)
                    PF_WRITE(ent + ES * (ulong)value_row(wt, (ulong)(vb - vmin)));
            }
#endif
            long v = (long)idx[p];
            if (v == pad)
                continue;
            ulong u = (ulong)(v - vmin), w = u >> 6, below = ((ulong)1 << (u & 63)) - 1;
            ulong rep = wt[3 * w + 1], rk = wt[3 * w + 2];
            float f = psw ? psw[p] * fb : fb;
            uint row = value_row(wt, u);
            if ((rep >> (u & 63)) & 1) {
                uint r2 = (uint)(rk >> 32) + (uint)popcount(rep & below);
                rec[4 * k] = (int)b;
                rec[4 * k + 1] = as_int(f);
                rec[4 * k + 2] = (int)r2;
                rec[4 * k + 3] = (int)row;
                k++;
                cnt[r2]++;
            } else {
                ent[ES * (ulong)row] = (int)b;
#if ES == 2
                ent[2 * (ulong)row + 1] = as_int(f);
#endif
            }
        }
    }
    if (ndv) {
        SMALL_DN(small, G, ndv)[c] = (uint)(k - s0);
        SMALL_CSTART(small, G, ndv)[c] = (uint)s0;
    }
}

/* One work-item; G the chunks of nar_bags. */
__kernel void nar_dup_scan(__global uint *small, uint G, uint ndv)
{
    __global uint *cnt = SMALL_CNT(small, G, ndv), *dstart = SMALL_DSTART(small, G, ndv);
    uint run = 0;
    for (uint r = 0; r < ndv; r++) {
        dstart[r] = run;
        for (uint c = 0; c < G; c++) {
            uint x = cnt[(ulong)c * ndv + r];
            cnt[(ulong)c * ndv + r] = run;
            run += x;
        }
    }
    dstart[ndv] = run;
}

/* Work-item c: chunk c of nar_bags. A repeated value's row entry names it:
 * -1 - its rank among the repeated values. */
__kernel void nar_dup_place(__global const int *rec, __global uint *small, uint ndv, __global int *sorted,
                            __global int *ent)
{
    uint c = get_global_id(0), G = get_global_size(0);
    __global uint *cnt = SMALL_CNT(small, G, ndv) + (ulong)c * ndv;
    __global const uint *dstart = SMALL_DSTART(small, G, ndv);
    ulong k0 = SMALL_CSTART(small, G, ndv)[c], k1 = k0 + SMALL_DN(small, G, ndv)[c];
    for (ulong k = k0; k < k1; k++) {
        uint r2 = (uint)rec[4 * k + 2];
        uint slot = cnt[r2]++;
        sorted[2 * (ulong)slot] = rec[4 * k];
        sorted[2 * (ulong)slot + 1] = rec[4 * k + 1];
        if (slot == dstart[r2])
            ent[ES * (ulong)rec[4 * k + 3]] = -1 - (int)r2;
    }
}

/* A row's sum over terms [q0, q1): term q is FACTOR(q) * row BAG(q) of g,
 * added in order from 0 (the expression seg_reduce uses: the same bits). */
#define ROW_SUM(q0, q1, BAG, FACTOR)                                                                 \
    {                                                                                                \
        VT acc[NV > 0 ? NV : 1];                                                                     \
        float tail[NT > 0 ? NT : 1];                                                                 \
        EMBCL_UNROLL_N for (int j = 0; j < NV; j++)                                                  \
            acc[j] = (VT)(0.0f);                                                                     \
        for (int j = 0; j < NT; j++)                                                                 \
            tail[j] = 0.0f;                                                                          \
        for (uint q = (q0); q < (q1); q++) {                                                         \
            __global const float *gr = g + (ulong)(BAG(q)) * g_ld;                                   \
            float f = FACTOR(q);                                                                     \
            EMBCL_UNROLL_N for (int j = 0; j < NV; j++)                                              \
                acc[j] += f * VLOAD(j, gr);                                                          \
            for (int j = 0; j < NT; j++)                                                             \
                tail[j] += f * gr[NV * VW + j];                                                      \
        }                                                                                            \
        EMBCL_UNROLL_N for (int j = 0; j < NV; j++)                                                  \
            VSTORE_ROW(acc[j], j, dr);                                                               \
        for (int j = 0; j < NT; j++)                                                                 \
            dr[NV * VW + j] = tail[j];                                                               \
    }
#define SORTED_BAG(q) sorted[2 * (q)]
#define SORTED_FACTOR(q) as_float(sorted[2 * (q) + 1])
#define ONE_BAG(q) b
#if ES == 2
#define ONE_FACTOR(q) as_float(ent[2 * (ulong)r + 1])
#else
#define ONE_FACTOR(q) (fbag ? fbag[b] : 1.0f)
#endif

/* Work-item i: words [i * per, (i + 1) * per); the ids and rows of their
 * values go out in order. */
__kernel void nar_rows(__global const ulong *wt, ulong nwords, ulong per, long vmin, __global const int *ent,
                       __global const float *fbag,
                       __global const int *sorted, __global const uint *small, uint G, uint ndv,
                       __global const float *g, ulong g_off, ulong g_ld, __global long *ids, ulong ids_off,
                       __global float *dst, ulong dst_off)
{
    ulong w0 = min(nwords, (ulong)get_global_id(0) * per), w1 = min(nwords, w0 + per);
    g += g_off;
    ids += ids_off;
    dst += dst_off;
    __global const uint *dstart = SMALL_DSTART(small, G, ndv);
    for (ulong w = w0; w < w1; w++) {
        ulong bits = wt[3 * w];
        uint r = (uint)wt[3 * w + 2];
        while (bits) {
            ulong low = bits & (~bits + 1);
            ids[r] = vmin + (long)(64 * w) + (long)popcount(low - 1);
            bits ^= low;
            __global float *dr = dst + (ulong)r * ND;
            int b = ent[ES * (ulong)r];
            if (b >= 0)
                ROW_SUM(0, 1, ONE_BAG, ONE_FACTOR)
            else
                ROW_SUM(dstart[-1 - b], dstart[-b], SORTED_BAG, SORTED_FACTOR)
            r++;
        }
    }
}
