/* EmbeddingBag kernels; Embedding's gather and backward are bags of one.
 *
 * Variants (-D):
 *   IDX_T  int | long   element type of the indices
 *   OFF_T  int | long   element type of the offsets
 *   VW     1|2|4|8|16   floats per vector along D (vload/vstore)
 *   CH     vectors each work-item accumulates in registers per pass over a bag
 *   LANES  work-items sharing one bag's (or one segment's) columns: NDRange
 *          dimension 0; dimension 1 walks bags, positions or segments.
 *   PREFETCH k    while summing the row at position p, prefetch the row at
 *                 position p + k of the index stream (CPUs; 0 off)
 *   TABLE_BF16 1  the tables are bf16 (kernels/bf16.h), read as float
 *   PARTS  1 | 8        the table and output (bag_fwd, psw_grad) or dense gradient
 *                       (scatter_atomic, seg_reduce) is split by rows over 8
 *                       buffers (common.h's SPLIT_PARAM); 1: one buffer
 * CPUs (PoCL) want LANES 1 and wide VW*CH (a work-item walks whole rows);
 * GPUs want LANES 32 and small VW (neighbouring work-items read
 * neighbouring floats of one row).
 *
 * Bags: bag b is idx[offs[b] .. offs[b+1]) (the last ends at n), or with
 * offs NULL idx[b*fixed_l .. (b+1)*fixed_l).
 *
 * Kernels:
 *   check_offsets   first offset at which offsets break the rules -> bad[1]
 *   bag_fwd         pool one table's bags (sum / mean / max with argmax)
 *   bag_fwd_tables  pool bags of up to 8 tables with their own D in one launch
 *   bag_positions   per index: its bag and the factor its gradient gets
 *   scatter_atomic  dW[idx[p]] += f[p] * g[bag(p)] with float atomics (CAS)
 *   seg_reduce      per distinct row: sum of its positions' gradients, in order
 *   psw_grad        d out / d per_sample_weights[p] = <g[bag(p)], W[idx[p]]>
 */
#include "common.h"

#ifndef IDX_T
#define IDX_T long
#endif
#ifndef OFF_T
#define OFF_T long
#endif
#ifndef VW
#define VW 4
#endif
#ifndef CH
#define CH 1
#endif
#ifndef LANES
#define LANES 1
#endif
#ifndef PREFETCH
#define PREFETCH 0
#endif

/* Full unrolling keeps the NV accumulators in registers (PoCL's LLVM left
 * the loops rolled and the array on the stack: a load and a store per
 * vector per row). */
#define EMBCL_UNROLL _Pragma("unroll")

#define MODE_SUM 0
#define MODE_MEAN 1
#define MODE_MAX 2
#define BS (VW * CH)

#if VW == 1
#define VT float
#define IVT int
#define VLOAD(k, p) (p)[k]
#define VSTORE(v, k, p) (p)[k] = (v)
#define IVSTORE(v, k, p) (p)[k] = (v)
#define IVLOAD(k, p) (p)[k]
#else
#define VT EMBCL_CAT(float, VW)
#define IVT EMBCL_CAT(int, VW)
#define VLOAD(k, p) EMBCL_CAT(vload, VW)(k, p)
#define VSTORE(v, k, p) EMBCL_CAT(vstore, VW)(v, k, p)
#define IVSTORE(v, k, p) EMBCL_CAT(vstore, VW)(v, k, p)
#define IVLOAD(k, p) EMBCL_CAT(vload, VW)(k, p)
#endif
#define SLOAD(k, p) (p)[k]
#define SSTORE(v, k, p) (p)[k] = (v)
#include "bf16.h"

/* base: offsets count from the caller's first index, idx from base. */
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

/* BODY once per row of the bag that is not padding, with p its position,
 * row its columns from c, ahead the row to prefetch (AHEAD_ROW); cnt
 * counts the rows. */
#define FOR_ROWS(BODY)                                                                               \
    for (ulong p = s; p < e; p++) {                                                                  \
        long r = (long)idx[p];                                                                       \
        if (r == pad)                                                                                \
            continue;                                                                                \
        __global const TABLE_T *row = SPLIT_ROW(w, r, ld) + w_off + c;                                 \
        __global const TABLE_T *ahead = AHEAD_ROW(p, row);                                             \
        BODY                                                                                         \
        cnt++;                                                                                       \
    }

/* acc[k] += SCALE LOAD(k, row) over the bag's rows (SCALE empty, or a
 * per-sample weight: without weights no register holds a factor of 1). */
#define SUM_ROWS(T, W, NV, NR, LOAD, SCALE)                                                         \
    FOR_ROWS(EMBCL_UNROLL for (int k = 0; k < NV; k++) if (k < NR) {                                \
        acc[k] += SCALE LOAD(k, row);                                                                \
        PF_LINE(ahead, k, W);                                                                        \
    })

/* NV accumulators of type T over columns [c, c + NR * width) of one bag
 * (NR <= NV: the last block of a row may be short; the guards are uniform
 * branches, and the fixed NV keeps the accumulators in registers). Max and
 * the sums walk the bag in separate loops: in one loop with the mode tested
 * per row, the max's positions and masks took the registers and most sum
 * accumulators lived on the stack (a load and a store per vector per row).
 * Max keeps the first position that holds each column's maximum: a later
 * value replaces it only if strictly greater. */
#define POOL_COLS(T, IT, W, NV, NR, LOAD, STORE, ISTORE)                                            \
    {                                                                                                \
        T acc[NV];                                                                                   \
        EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                    \
            acc[k] = (T)(0.0f);                                                                      \
        uint cnt = 0;                                                                                \
        if (mode == MODE_MAX) {                                                                      \
            IT pos[NV];                                                                              \
            EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                \
                pos[k] = (IT)(-1);                                                                   \
            FOR_ROWS(EMBCL_UNROLL for (int k = 0; k < NV; k++) if (k < NR) {                         \
                T v = LOAD(k, row);                                                                  \
                IT m = cnt == 0 ? (IT)(-1) : (IT)isgreater(v, acc[k]);                               \
                acc[k] = select(acc[k], v, m);                                                       \
                pos[k] = select(pos[k], (IT)((int)p), m);                                            \
                PF_LINE(ahead, k, W);                                                                \
            })                                                                                       \
            EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                \
                if (k < NR)                                                                          \
                    ISTORE(pos[k], k, mpos + c);                                                     \
        } else if (psw) {                                                                            \
            SUM_ROWS(T, W, NV, NR, LOAD, psw[p] *)                                                   \
        } else {                                                                                     \
            SUM_ROWS(T, W, NV, NR, LOAD, )                                                           \
        }                                                                                            \
        float scale = (mode == MODE_MEAN && cnt > 1) ? 1.0f / (float)cnt : 1.0f;                     \
        EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                    \
            if (k < NR)                                                                              \
                STORE(acc[k] * scale, k, out + c);                                                   \
    }

/* The short last block of a row (nr < CH vectors from column c) in pieces
 * of 4, 2 and 1 vectors, each with a constant count: the accumulators stay
 * in registers, where a guarded CH-wide block kept a branch per vector (and
 * narrow tables, D = 16, are all short blocks). Each column still sums its
 * rows in order, so the bits do not change. B4, B2, B1 use `c`. */
#define SHORT_BLOCK(B4, B2, B1)                                                                     \
    {                                                                                                \
        ulong c_end = c + (ulong)nr * VW;                                                            \
        for (ulong cs = c; cs < c_end;) {                                                            \
            ulong left = (c_end - cs) / VW;                                                          \
            ulong c = cs;                                                                            \
            if (CH > 4 && left >= 4) {                                                               \
                B4 cs += 4 * VW;                                                                     \
            } else if (CH > 2 && left >= 2) {                                                        \
                B2 cs += 2 * VW;                                                                     \
            } else {                                                                                 \
                B1 cs += VW;                                                                         \
            }                                                                                        \
        }                                                                                            \
    }

/* Prefetch: while the row at position p is summed, the lines of the row at
 * position p + PREFETCH of the index stream (the next bags' rows: a
 * work-group walks consecutive bags) are requested, one line between the
 * loads of each 64-byte step. On CPUs a random gather waits on memory, not
 * on adds; spreading the requests among the loads kept twice as many misses
 * in flight as a burst of a whole row's (or bag's) requests did (a C gather
 * on the bench machine: 2.2 vs 3.1 ms). OpenCL's prefetch() compiles to
 * nothing on PoCL; clang's builtin gives the CPU's prefetch instruction,
 * which never faults (CPU devices only: global memory is the host's flat
 * memory there). Elsewhere nothing is prefetched.
 * AHEAD_ROW(p, row) is the row to prefetch, at the columns of `row`, using
 * pool_bag's idx, w, ld, c and pn (the positions it may look at: p < pn). */
#if PREFETCH && EMBCL_CPU && defined(__clang__)
#define PF_ON 1
#define TOUCH_LINE(ptr) __builtin_prefetch((const void *)(ulong)(ptr), 0, 3)
#define AHEAD_ROW(p, row) (SPLIT_ROW(w, (long)idx[min((ulong)(p) + PREFETCH, pn - 1)], ld) + w_off + c)
#define PF_LINE(ahead, k, W)                                                                         \
    do {                                                                                             \
        if (((k) * (W)) % 16 == 0)                                                                   \
            TOUCH_LINE((ahead) + (k) * (W));                                                         \
    } while (0)
#else
#define PF_ON 0
#define TOUCH_LINE(ptr) (void)(ptr)
#define AHEAD_ROW(p, row) (row)
#define PF_LINE(ahead, k, W) (void)(ahead)
#endif

/* Pool bag [s, e) of table w (rows from w_off) into out[0 .. D) (and argmax
 * into mpos); the prefetch looks at positions below pn (>= e). */
static void pool_bag(SPLIT_PARAM_T(__global const, TABLE_T, w), ulong w_off, ulong ld, ulong D, __global const IDX_T *idx, ulong s, ulong e,
                     ulong pn, __global const float *psw, long pad, int mode, __global float *out,
                     __global int *mpos, uint lane)
{
    ulong dv = D / VW * VW;
    for (ulong c = (ulong)lane * BS; c < dv; c += LANES * BS) {
        int nr = (int)min((ulong)CH, (dv - c) / VW);
        /* whole blocks with the guards folded away; the row's last, short block apart */
        if (nr == CH)
            POOL_COLS(VT, IVT, VW, CH, CH, TABLE_VLOAD, VSTORE, IVSTORE)
        else
            SHORT_BLOCK(POOL_COLS(VT, IVT, VW, 4, 4, TABLE_VLOAD, VSTORE, IVSTORE), POOL_COLS(VT, IVT, VW, 2, 2, TABLE_VLOAD, VSTORE, IVSTORE),
                        POOL_COLS(VT, IVT, VW, 1, 1, TABLE_VLOAD, VSTORE, IVSTORE))
    }
#if VW > 1
    for (ulong c = dv + lane; c < D; c += LANES)
        POOL_COLS(float, int, 1, 1, 1, TABLE_SLOAD, SSTORE, SSTORE)
#endif
}

/* Global (LANES, B rounded up). */
__kernel void bag_fwd(SPLIT_PARAM_T(__global const, TABLE_T, w), ulong w_off, ulong ld, ulong D, __global const IDX_T *idx,
                      ulong idx_off, __global const OFF_T *offs, ulong offs_off, ulong base, ulong n_offs,
                      ulong fixed_l, ulong n, ulong B, __global const float *psw, ulong psw_off, long pad, int mode,
                      SPLIT_PARAM(__global, out), ulong out_off, ulong out_ld, __global int *mpos, ulong mpos_off,
                      ulong mpos_ld)
{
    ulong b = get_global_id(1);
    if (b >= B)
        return;
    ulong s, e;
    offs = offs ? offs + offs_off : offs;
    bag_range(offs, base, n_offs, fixed_l, n, b, &s, &e);
#if PF_ON
    /* The first bag of a group requests the rows its own first positions
     * hold; later positions are requested PREFETCH ahead. */
    if (get_local_id(1) == 0)
        for (ulong p = s; p < min(e, s + PREFETCH); p++)
            for (ulong c = 0; c < D; c += 16)
                TOUCH_LINE(SPLIT_ROW(w, (long)idx[idx_off + p], ld) + w_off + c);
#endif
#if PARTS == 1
    /* the table's offset folded into its pointer, as before parts existed */
    pool_bag(w + w_off, 0, ld, D, idx + idx_off, s, e, n, psw ? psw + psw_off : psw, pad, mode,
             out + out_off + b * out_ld, mpos ? mpos + mpos_off + b * mpos_ld : mpos, get_global_id(0));
#else
    pool_bag(SPLIT_PASS(w), w_off, ld, D, idx + idx_off, s, e, n, psw ? psw + psw_off : psw, pad, mode,
             SPLIT_ROW(out, b, out_ld) + out_off, mpos ? mpos + mpos_off + b * mpos_ld : mpos, get_global_id(0));
#endif
}

/* Split tables do not come here (embcl_embedding_bag_tables refuses them). */
#if PARTS == 1
/* Tables t0 .. t0 + T - 1 (T <= 8, table t0 + j in wj; g0 = t0 * B),
 * meta[t * 4 + ...] = {w_off, ld, D, out_col} for every table t of the call.
 * Global (LANES, T * B rounded up); launch bag g is bag g0 + g of the call. */
__kernel void bag_fwd_tables(__global const TABLE_T *w0, __global const TABLE_T *w1, __global const TABLE_T *w2,
                             __global const TABLE_T *w3, __global const TABLE_T *w4, __global const TABLE_T *w5,
                             __global const TABLE_T *w6, __global const TABLE_T *w7, __global const ulong *meta,
                             uint T, ulong B, ulong g0, __global const IDX_T *idx, ulong idx_off,
                             __global const OFF_T *offs, ulong offs_off, ulong n_offs, ulong n,
                             __global const float *psw, ulong psw_off, long pad, int mode, __global float *out,
                             ulong out_off, ulong out_ld)
{
    ulong g = get_global_id(1);
    if (g >= (ulong)T * B)
        return;
    ulong tg = (g0 + g) / B;
    uint t = (uint)(tg - g0 / B);
    ulong b = g0 + g - tg * B;
    __global const TABLE_T *w = t == 0 ? w0 : t == 1 ? w1 : t == 2 ? w2 : t == 3 ? w3
                            : t == 4 ? w4 : t == 5 ? w5 : t == 6 ? w6 : w7;
    __global const ulong *m = meta + tg * 4;
    ulong s, e;
    bag_range(offs + offs_off, 0, n_offs, 0, n, g0 + g, &s, &e);
    /* the next bag in the stream may be another table's: look ahead
     * within this bag only */
    pool_bag(w, m[0], m[1], m[2], idx + idx_off, s, e, e, psw ? psw + psw_off : psw, pad, mode,
             out + out_off + b * out_ld + m[3], (__global int *)0, get_global_id(0));
}
#endif

/* bad[1] := min(bad[1], first i where offsets break: offs[0] != 0,
 * offs[i] < offs[i-1], offs[i] > n, or (last_is_n) offs[last] != n). */
__kernel void check_offsets(__global const OFF_T *offs, ulong off, ulong n_offs, ulong n, int last_is_n,
                            __global int *bad)
{
    for (ulong i = get_global_id(0); i < n_offs; i += get_global_size(0)) {
        long v = (long)offs[off + i];
        int ok = i == 0 ? v == 0 : v >= (long)offs[off + i - 1];
        ok = ok && v <= (long)n && (!last_is_n || i + 1 < n_offs || v == (long)n);
        if (!ok)
            atomic_min(bad + 1, (int)i);
    }
}

/* Per bag b: pos_bag[p] = b and pos_scale[p] = the factor position p's
 * share of g[b] gets (0 at padding; psw; 1/count for mean). Strides over B. */
__kernel void bag_positions(__global const IDX_T *idx, ulong idx_off, __global const OFF_T *offs,
                            ulong offs_off, ulong base, ulong n_offs, ulong fixed_l, ulong n, ulong B,
                            __global const float *psw, ulong psw_off, long pad, int mode, __global int *pos_bag,
                            __global float *pos_scale)
{
    idx += idx_off;
    for (ulong b = get_global_id(0); b < B; b += get_global_size(0)) {
        ulong s, e;
        bag_range(offs ? offs + offs_off : offs, base, n_offs, fixed_l, n, b, &s, &e);
        uint cnt = 0;
        for (ulong p = s; p < e; p++)
            cnt += (long)idx[p] != pad;
        float f = (mode == MODE_MEAN && cnt > 1) ? 1.0f / (float)cnt : 1.0f;
        for (ulong p = s; p < e; p++) {
            pos_bag[p] = (int)b;
            pos_scale[p] = (long)idx[p] == pad ? 0.0f : psw ? psw[psw_off + p] * f : f;
        }
    }
}

/* Global (LANES, n rounded up). counts (freq scaling only, else NULL) holds
 * each row's number of occurrences. Max mode adds only where position p is
 * the column's argmax. */
__kernel void scatter_atomic(__global const float *g, ulong g_off, ulong g_ld, ulong D,
                             __global const IDX_T *idx, ulong idx_off, ulong n, long pad,
                             __global const int *pos_bag, __global const float *pos_scale,
                             __global const int *counts, __global const int *mpos, ulong mpos_off, ulong mpos_ld,
                             SPLIT_PARAM(__global, dw), ulong dw_off, ulong dw_ld)
{
    ulong p = get_global_id(1);
    if (p >= n)
        return;
    long r = (long)idx[idx_off + p];
    if (r == pad)
        return;
    float f = pos_scale[p];
    if (counts)
        f = f / (float)counts[r];
    ulong b = (ulong)pos_bag[p];
    __global const float *gr = g + g_off + b * g_ld;
    __global float *dr = SPLIT_ROW(dw, r, dw_ld) + dw_off;
    __global const int *mr = mpos ? mpos + mpos_off + b * mpos_ld : mpos;
    for (ulong c = get_global_id(0); c < D; c += LANES)
        if (!mr || mr[c] == (int)p)
            embcl_atomic_add_f(dr + c, f * gr[c]);
}

/* One segment (distinct row) per dimension-1 id: the sum, in the order of
 * perm, of pos_scale[p] * g[bag(p)] over the segment's positions p, scaled
 * by 1/length with freq scaling. dense: dst row uniq[s] += sum; else dst row
 * s = sum. Global (LANES, nnz rounded up). */
/* Per-position gradient rows summed into NV accumulators; max mode masks
 * each column to the positions that held its argmax. The masked walk is a
 * loop of its own: with the mask tested per load, the mask's registers
 * pushed accumulators onto the stack for every mode. */
#define SEG_WALK(NV, NR, TERM)                                                             \
    for (int q = k0; q < k1; q++) {                                                                  \
        int p = perm[q];                                                                             \
        ulong b = (ulong)pos_bag[p];                                                                 \
        float f = pos_scale[p];                                                                      \
        __global const float *gr = g + b * g_ld + c;                                                 \
        EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                    \
            if (k < NR)                                                                              \
                acc[k] += TERM;                                                                      \
    }
#define SEG_COLS(T, NV, NR, LOAD, STORE, MASK)                                                      \
    {                                                                                                \
        T acc[NV];                                                                                   \
        EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                    \
            acc[k] = (T)(0.0f);                                                                      \
        if (mr)                                                                                      \
            SEG_WALK(NV, NR, MASK(f * LOAD(k, gr), k))                                      \
        else                                                                                         \
            SEG_WALK(NV, NR, f * LOAD(k, gr))                                               \
        if (!dense && STREAM_OK(T, dr + c)) {                                                        \
            EMBCL_UNROLL for (int k = 0; k < NV; k++)                                                \
                if (k < NR)                                                                          \
                    STREAM_STORE(T, acc[k] * fs, k, dr + c);                                         \
        } else {                                                                                     \
            EMBCL_UNROLL for (int k = 0; k < NV; k++) {                                              \
                if (k < NR) {                                                                        \
                    T v = acc[k] * fs;                                                               \
                    if (dense)                                                                       \
                        v += LOAD(k, dr + c);                                                        \
                    STORE(v, k, dr + c);                                                             \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }
/* A row-sparse gradient is written once and read by a later kernel: on
 * CPUs streaming stores skip reading each line before writing it (the
 * values are ~40 MB in the main bench case, past the caches: -10% for the
 * backward). They need the vector's alignment; other rows are stored
 * plainly. Their write-combining buffers drain at the next locked
 * instruction, and PoCL signals a kernel's end with locked operations, so
 * the next kernel (or a read) sees the values. */
#if EMBCL_CPU && defined(__clang__)
#define STREAM_OK(T, ptr) (((ulong)(ptr) % sizeof(T)) == 0)
#define STREAM_STORE(T, v, k, ptr) __builtin_nontemporal_store((v), (__global T *)(ptr) + (k))
#else
#define STREAM_OK(T, ptr) 0
#define STREAM_STORE(T, v, k, ptr) ((void)0)
#endif
#define VMASK(x, k) select((VT)(0.0f), (x), IVLOAD(k, mr + b * mpos_ld + c) == (IVT)p)
#define SMASK(x, k) ((mr + b * mpos_ld + c)[k] == p ? (x) : 0.0f)

__kernel void seg_reduce(__global const float *g, ulong g_off, ulong g_ld, ulong D, __global const int *perm,
                         __global const long *uniq, __global const int *seg_start, ulong nnz,
                         __global const int *pos_bag, __global const float *pos_scale, int freq,
                         __global const int *mpos, ulong mpos_off, ulong mpos_ld, SPLIT_PARAM(__global, dw),
                         ulong dw_off, ulong dw_ld, int dense)
{
    ulong sg = get_global_id(1);
    if (sg >= nnz)
        return;
    int k0 = seg_start[sg], k1 = seg_start[sg + 1];
    float fs = freq ? 1.0f / (float)(k1 - k0) : 1.0f;
    g += g_off;
    __global const int *mr = mpos ? mpos + mpos_off : mpos;
    __global float *dr = SPLIT_ROW(dw, dense ? (ulong)uniq[sg] : sg, dw_ld) + dw_off;
    uint lane = get_global_id(0);
    ulong dv = D / VW * VW;
    for (ulong c = (ulong)lane * BS; c < dv; c += LANES * BS) {
        int nr = (int)min((ulong)CH, (dv - c) / VW);
        if (nr == CH)
            SEG_COLS(VT, CH, CH, VLOAD, VSTORE, VMASK)
        else
            SHORT_BLOCK(SEG_COLS(VT, 4, 4, VLOAD, VSTORE, VMASK), SEG_COLS(VT, 2, 2, VLOAD, VSTORE, VMASK),
                        SEG_COLS(VT, 1, 1, VLOAD, VSTORE, VMASK))
    }
#if VW > 1
    for (ulong c = dv + lane; c < D; c += LANES)
        SEG_COLS(float, 1, 1, SLOAD, SSTORE, SMASK)
#endif
}

/* dpsw[p] = <g[bag(p)], W[idx[p]]>, 0 at padding. Strides over n. */
__kernel void psw_grad(__global const float *g, ulong g_off, ulong g_ld, ulong D, SPLIT_PARAM_T(__global const, TABLE_T, w),
                       ulong w_off, ulong w_ld, __global const IDX_T *idx, ulong idx_off, ulong n, long pad,
                       __global const int *pos_bag, __global float *dpsw, ulong dpsw_off)
{
    for (ulong p = get_global_id(0); p < n; p += get_global_size(0)) {
        long r = (long)idx[idx_off + p];
        float acc = 0.0f;
        if (r != pad) {
            __global const float *gr = g + g_off + (ulong)pos_bag[p] * g_ld;
            __global const TABLE_T *wr = SPLIT_ROW(w, r, w_ld) + w_off;
            for (ulong c = 0; c < D; c++)
                acc += gr[c] * TABLE_SLOAD(c, wr);
        }
        dpsw[dpsw_off + p] = acc;
    }
}
