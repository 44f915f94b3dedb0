/* Optimizer updates (torch.optim and FBGEMM row-wise Adagrad), element
 * formulas in optim_rows.h.
 *
 * Variants (-D):
 *   SPARSE=0|1  0: the gradient is a dense matrix, row r updates parameter
 *               row r. 1: the gradient is row-sparse, row r of the values
 *               updates parameter row ids[ids_off + r] (ids unique).
 *   FUSED=0|1   (with SPARSE=1) no gradient rows: row r's gradient is summed
 *               here, in order, from the positions perm[seg_start[r] ..
 *               seg_start[r+1]) of a sorted index list (src/ops/segments.h):
 *               g row pos (BAG=0) or g row pos_bag[pos] (BAG=1, a bag's
 *               gradient), times pos_scale[pos] if SCALE=1. This is the
 *               embedding backward fused with the update.
 *   VW=1|2|4|8|16  floats per work-item step (host: cols % VW == 0, no
 *               column mask).
 *   RMASK, CMASK=0|1  rmask[row] / cmask[col] != 0 marks frozen rows /
 *               columns, which are skipped (value and state untouched).
 *   LANES=1|2|..|32  rowwise_adagrad: work-items sharing one row.
 *   PARTS=1|8   the parameter, its gradient and its packed state tensors
 *               may be split by rows (common.h's SPLIT_PARAM); row-wise
 *               Adagrad's per-row state is one buffer.
 *   NORM=0|1|2|3  norm_partial: max |x| (inf-norm), sum |x|, sum x^2,
 *               sum |x|^p.
 *   TABLE_BF16=1  the parameter is bf16 (kernels/bf16.h): loaded as float,
 *               updated in float with f32 state, stored rounded (TABLE_SR=1
 *               stochastic, 0 nearest; the seed is the TABLE_ROUND_ARGS
 *               after the row arguments); element index pr * cols + c picks
 *               the random bits.
 * Layout: a parameter is a rows x cols matrix at p + p_off with row stride
 * p_ld (column views have p_ld > cols); the gradient likewise; state
 * tensors are packed rows x cols (row-wise Adagrad: one float per row),
 * indexed by the parameter row.
 * Kernels sgd, adam, adagrad, sparse_adam, rows_to_dense (2-D range: dim 0
 * over a row's vectors, dim 1 over rows, one vector per work-item), rowwise_adagrad
 * (1-D, LANES work-items per row), norm_partial (1-D, grid-strided, one
 * partial result per work-group, local scratch of the group's size),
 * scale_2d (2-D, one element per work-item). */
#include "common.h"

#ifndef VW
#define VW 1
#endif
#ifndef SPARSE
#define SPARSE 0
#endif
#ifndef RMASK
#define RMASK 0
#endif
#ifndef CMASK
#define CMASK 0
#endif
#ifndef FUSED
#define FUSED 0
#endif
#ifndef BAG
#define BAG 0
#endif
#ifndef SCALE
#define SCALE 0
#endif

#if VW == 1
#define VT float
#define VLD(p) (*(p))
#define VST(v, p) (*(p) = (v))
#define VSUM(v) (v)
#else
#define VT EMBCL_CAT(float, VW)
#define VLD(p) EMBCL_CAT(vload, VW)(0, p)
#define VST(v, p) EMBCL_CAT(vstore, VW)(v, 0, p)
#endif
#if VW == 2
#define VSUM(v) ((v).s0 + (v).s1)
#elif VW == 4
#define VSUM(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#elif VW == 8
#define VSUM(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
#elif VW == 16
#define VSUM(v) (VSUM8((v).lo) + VSUM8((v).hi))
#define VSUM8(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
#endif

#define OPT_T VT
#include "optim_rows.h"
#include "bf16.h"

#if FUSED
#define ROW_ARGS                                                                                        \
    , __global const long *ids, ulong ids_off, __global const int *perm, __global const int *seg_start, \
        __global const int *pos_bag, __global const float *pos_scale
#define PROW(r) ((ulong)ids[ids_off + (r)])
/* The gradient vector at column c of segment r: its positions' rows summed
 * in position order, so every run gives the same bits. */
#define GRAD_VEC(r, c) segment_sum(SPLIT_PASS(g), g_off, g_ld, perm, seg_start, pos_bag, pos_scale, r, c)
static VT segment_sum(SPLIT_PARAM(__global const, g), ulong g_off, ulong g_ld, __global const int *perm,
                      __global const int *seg_start, __global const int *pos_bag, __global const float *pos_scale,
                      ulong r, ulong c)
{
    VT acc = 0.0f;
    for (int j = seg_start[r]; j < seg_start[r + 1]; j++) {
        const int pos = perm[j];
        const ulong src = BAG ? (ulong)pos_bag[pos] : (ulong)pos;
        VT x = VLD(SPLIT_ROW(g, src, g_ld) + g_off + c);
        acc += SCALE ? x * pos_scale[pos] : x;
    }
    return acc;
}
#elif SPARSE
#define ROW_ARGS , __global const long *ids, ulong ids_off
#define PROW(r) ((ulong)ids[ids_off + (r)])
#define GRAD_VEC(r, c) VLD(SPLIT_ROW(g, r, g_ld) + g_off + (c))
#else
#define ROW_ARGS
#define PROW(r) (r)
#define GRAD_VEC(r, c) VLD(SPLIT_ROW(g, r, g_ld) + g_off + (c))
#endif

#define COMMON_ARGS                                                                                             \
    SPLIT_PARAM_T(__global, TABLE_T, p), ulong p_off, ulong p_ld, SPLIT_PARAM(__global const, g), ulong g_off,    \
        ulong g_ld, ulong rows, ulong cols, __global const int *rmask, __global const int *cmask ROW_ARGS         \
            TABLE_ROUND_ARGS

#if RMASK
#define ROW_FROZEN(pr) (rmask[pr] != 0)
#else
#define ROW_FROZEN(pr) ((void)rmask, 0)
#endif
#if CMASK
#define COL_FROZEN(c) (cmask[c] != 0)
#else
#define COL_FROZEN(c) ((void)cmask, 0)
#endif

/* One work-item per vector: dim 0 over a row's cols/VW vectors, dim 1
 * over rows (grid-stride loops cost PoCL an order of magnitude, and GPUs
 * gain nothing from them). Inside: pp (parameter) and ST(m) (a packed
 * state tensor) address the work-item's vector, GRAD_VEC(r, c) is its
 * gradient. */
#define FOR_THIS_VECTOR                                           \
    const ulong r = get_global_id(1), c = get_global_id(0) * VW; \
    if (r >= rows || c >= cols)                                   \
        return;                                                   \
    const ulong pr = PROW(r);                                     \
    if (ROW_FROZEN(pr) || COL_FROZEN(c))                          \
        return;                                                   \
    __global TABLE_T *pp = SPLIT_ROW(p, pr, p_ld) + p_off + c;    \
    const ulong s = pr * cols + c; /* the element's index: its random bits (bf16 stores) */
#define ST(m) (SPLIT_ROW(m, pr, cols) + c)

__kernel void sgd(COMMON_ARGS, SPLIT_PARAM(__global, buf), float lr, float wd, float momentum, float one_m_damp,
                  int use_momentum, int nesterov, int first)
{
    FOR_THIS_VECTOR
    VT w = TABLE_VLOAD(0, pp), b = use_momentum ? VLD(ST(buf)) : (VT)0.0f;
    optim_sgd(&w, GRAD_VEC(r, c), &b, lr, wd, momentum, one_m_damp, use_momentum, nesterov, first);
    TABLE_VSTORE(w, pp, s);
    if (use_momentum)
        VST(b, ST(buf));
}

__kernel void adam(COMMON_ARGS, SPLIT_PARAM(__global, m), SPLIT_PARAM(__global, v2), SPLIT_PARAM(__global, vmax),
                   int amsgrad, float decay, float wd, float beta1, float beta2, float one_m_b1, float one_m_b2,
                   float eps, float neg_step, float bc2_sqrt)
{
    FOR_THIS_VECTOR
    VT w = TABLE_VLOAD(0, pp), mm = VLD(ST(m)), vv = VLD(ST(v2)), vx = amsgrad ? VLD(ST(vmax)) : (VT)0.0f;
    optim_adam(&w, GRAD_VEC(r, c), &mm, &vv, &vx, amsgrad, decay, wd, beta1, beta2, one_m_b1, one_m_b2, eps, neg_step,
               bc2_sqrt);
    TABLE_VSTORE(w, pp, s);
    VST(mm, ST(m));
    VST(vv, ST(v2));
    if (amsgrad)
        VST(vx, ST(vmax));
}

__kernel void adagrad(COMMON_ARGS, SPLIT_PARAM(__global, sum), float clr, float wd, float eps)
{
    FOR_THIS_VECTOR
    VT w = TABLE_VLOAD(0, pp), ss = VLD(ST(sum));
    optim_adagrad(&w, GRAD_VEC(r, c), &ss, clr, wd, eps);
    TABLE_VSTORE(w, pp, s);
    VST(ss, ST(sum));
}

__kernel void sparse_adam(COMMON_ARGS, SPLIT_PARAM(__global, m), SPLIT_PARAM(__global, v2), float one_m_b1,
                          float one_m_b2, float eps, float neg_step)
{
    FOR_THIS_VECTOR
    VT w = TABLE_VLOAD(0, pp), mm = VLD(ST(m)), vv = VLD(ST(v2));
    optim_sparse_adam(&w, GRAD_VEC(r, c), &mm, &vv, one_m_b1, one_m_b2, eps, neg_step);
    TABLE_VSTORE(w, pp, s);
    VST(mm, ST(m));
    VST(vv, ST(v2));
}

/* The gradient rows (row-sparse or fused) written to their parameter rows
 * of `out`, a packed rows x cols matrix the host zeroed: for updates that
 * move rows the gradient does not name (SGD with momentum). Frozen rows
 * and columns are the update's to skip. */
__kernel void rows_to_dense(COMMON_ARGS, SPLIT_PARAM(__global, out))
{
    const ulong r = get_global_id(1), c = get_global_id(0) * VW;
    if (r >= rows || c >= cols)
        return;
    VST(GRAD_VEC(r, c), SPLIT_ROW(out, PROW(r), cols) + c);
}

/* Row-wise Adagrad: the mean of squares needs the whole row before any
 * element changes. LANES work-items share a row (LANES=1: one work-item
 * walks it alone, what a CPU likes; a GPU wants 16-32 lanes reading
 * consecutive vectors); lane l takes vectors l, l+LANES, ... and the
 * lanes' sums meet in a fixed tree in `scratch` (local, one float per
 * work-item), so the rounding is the same on every run. The work-group
 * size is a multiple of LANES and every work-item, past the last row or
 * not, reaches every barrier. n_cols: the row's unfrozen columns. */
#ifndef LANES
#define LANES 1
#endif
/* Fused, one work-item per row (CPUs): the row's summed gradient is kept
 * from the norm pass for the update pass instead of summing every segment
 * twice (a hot row's segment can hold thousands of positions). */
#if FUSED && LANES == 1
#define ROW_CACHE 64
#else
#define ROW_CACHE 0
#endif
#if ROW_CACHE
#define ROW_GRAD(v) (cached ? gcache[v] : GRAD_VEC(r, (v) * VW))
#else
#define ROW_GRAD(v) GRAD_VEC(r, (v) * VW)
#endif
/* A bf16 row to one work-item: the update pass (element by element, after
 * the sum) takes two vectors a step and rounds them as one of twice the
 * width, so one vector draw of random bits covers both (the draws were the
 * largest part of a step). Same elements, same bits: with VW >= 4 a pair
 * starts at a multiple of 4, where a draw's pieces begin. */
#if TABLE_BF16 && LANES == 1 && !CMASK && VW >= 4 && VW <= 8
#define ROW_PAIRS 1
#else
#define ROW_PAIRS 0
#endif

__kernel void rowwise_adagrad(COMMON_ARGS, __global float *row_sum, float n_cols, float lr, float eps, int wd_mode,
                              float wd
#if LANES > 1
                              ,
                              __local float *scratch
#endif
)
{
    const ulong nv = cols / VW;
    const uint lane = get_local_id(0) % LANES;
    {
        const ulong r = get_global_id(0) / LANES;
        const ulong pr = r < rows ? PROW(r) : 0;
        const int live = r < rows ? !ROW_FROZEN(pr) : 0;
        __global TABLE_T *prow = SPLIT_ROW(p, pr, p_ld) + p_off;
        VT acc = 0.0f;
        float rs = live ? row_sum[pr] : 0.0f;
#if ROW_PAIRS
        /* The row's first table vector, read before the sum (which needs
         * the table only under L2 weight decay): its miss overlaps the
         * gradient sums instead of stalling the first pair (bf16 kernel
         * time -4%; an f32 build measured the same either way). */
        const VT w_head = live && nv >= 2 ? TABLE_VLOAD(0, prow) : (VT)0.0f;
#endif
#if ROW_CACHE
        VT gcache[ROW_CACHE];
        const int cached = nv <= ROW_CACHE;
#endif
        for (ulong v = lane; live && v < nv; v += LANES) {
            if (COL_FROZEN(v * VW))
                continue;
            VT graw = GRAD_VEC(r, v * VW);
#if ROW_CACHE
            if (cached)
                gcache[v] = graw;
#endif
            VT gg = optim_rowwise_adagrad_grad(TABLE_VLOAD(0, prow + v * VW), graw, wd_mode, wd);
            acc += gg * gg;
        }
        float sq = VSUM(acc);
#if LANES > 1
        const size_t lid = get_local_id(0);
        scratch[lid] = sq;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint w = LANES / 2; w > 0; w /= 2) {
            if (lane < w)
                scratch[lid] += scratch[lid + w];
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        sq = scratch[lid - lane];
#endif
        if (!live)
            return;
        float c;
        const float k = optim_rowwise_adagrad_coef(&rs, sq, n_cols, lr, eps, wd_mode, wd, &c);
        if (lane == 0)
            row_sum[pr] = rs;
        ulong v = lane;
#if ROW_PAIRS
        for (; v + 1 < nv; v += 2) {
            VT w0 = v == 0 ? w_head : TABLE_VLOAD(0, prow + v * VW), w1 = TABLE_VLOAD(1, prow + v * VW);
            optim_rowwise_adagrad(&w0, ROW_GRAD(v), k, c);
            optim_rowwise_adagrad(&w1, ROW_GRAD(v + 1), k, c);
            TABLE_VSTORE2(w0, w1, prow + v * VW, pr * cols + v * VW);
        }
#endif
        for (; v < nv; v += LANES) {
            if (COL_FROZEN(v * VW))
                continue;
            VT w = TABLE_VLOAD(0, prow + v * VW);
            optim_rowwise_adagrad(&w, ROW_GRAD(v), k, c);
            TABLE_VSTORE(w, prow + v * VW, pr * cols + v * VW);
        }
    }
}

#ifndef NORM
#define NORM 2
#endif

/* Partial norms of a rows x cols matrix (row stride ld): each work-group
 * writes one partial (a max for NORM 0, else a sum) to
 * partial[part_off + group]. */
__kernel void norm_partial(SPLIT_PARAM(__global const, x), ulong off, ulong ld, ulong rows, ulong cols, float pw,
                           __global float *partial, ulong part_off, __local float *scratch)
{
    const ulong n = rows * cols;
    float acc = 0.0f;
    for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) {
        const ulong r = i / cols, c = i - r * cols;
        const float a = fabs((SPLIT_ROW(x, r, ld) + off)[c]);
#if NORM == 0
        (void)pw;
        acc = fmax(acc, a);
#elif NORM == 1
        (void)pw;
        acc += a;
#elif NORM == 2
        (void)pw;
        acc += a * a;
#else
        acc += pow(a, pw);
#endif
    }
    const size_t lid = get_local_id(0);
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t w = get_local_size(0) / 2; w > 0; w /= 2) {
        if (lid < w)
#if NORM == 0
            scratch[lid] = fmax(scratch[lid], scratch[lid + w]);
#else
            scratch[lid] += scratch[lid + w];
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        partial[part_off + get_group_id(0)] = scratch[0];
}

__kernel void scale_2d(SPLIT_PARAM(__global, x), ulong off, ulong ld, ulong rows, ulong cols, float coef)
{
    const ulong r = get_global_id(1), c = get_global_id(0);
    if (r < rows && c < cols)
        (SPLIT_ROW(x, r, ld) + off)[c] *= coef;
}
