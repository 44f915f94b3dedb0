/* Embedding kernels besides the gather (which is bag.cl's bag_fwd with bags
 * of one): index checks, max_norm renormalisation, per-row counts,
 * initialisation, frozen rows.
 *
 * Variants (-D): IDX_T int | long, the element type of the indices;
 * TABLE_BF16 1: init_normal writes a bf16 table (kernels/bf16.h), each
 * sample rounded to nearest even (torch's init with dtype=bfloat16).
 * Variants (-D): IDX_T int | long, the element type of the indices; PARTS 1 | 8
 * (renorm's table, zero_rows' gradient split by rows: common.h).
 * Every kernel strides over its n items, so any global size works.
 *
 * Kernels:
 *   check_indices  bad[0] := min(bad[0], first position p with idx[p] outside [0, V))
 *   scratch_set    scratch[idx[p]] := value for every p (the rows a batch names)
 *   claim_first    scratch[idx[p]] := min over p (the first position naming each row)
 *   count_rows     scratch[idx[p]] += 1 (how often each row is named)
 *   renorm         the first position naming each row scales that row in place
 *   init_normal    table := N(0, 1) samples from normal.h (same bits everywhere)
 *   zero_rows      rows listed in `rows` := 0
 *   zero_ids       rows of a row-sparse gradient whose id is listed := 0
 */
#include "common.h"
#include "normal.h"
#include "bf16.h"

#ifndef IDX_T
#define IDX_T long
#endif

#define FOR_EACH(p, n) for (ulong p = get_global_id(0); p < (n); p += get_global_size(0))

__kernel void check_indices(__global const IDX_T *idx, ulong off, ulong n, long V, __global int *bad)
{
    FOR_EACH(p, n)
    {
        long v = (long)idx[off + p];
        if (v < 0 || v >= V)
            atomic_min(bad, (int)p);
    }
}

__kernel void scratch_set(__global const IDX_T *idx, ulong off, ulong n, __global int *scratch, int value)
{
    FOR_EACH(p, n)
    scratch[idx[off + p]] = value;
}

__kernel void claim_first(__global const IDX_T *idx, ulong off, ulong n, __global int *scratch)
{
    FOR_EACH(p, n)
    atomic_min(scratch + idx[off + p], (int)p);
}

__kernel void count_rows(__global const IDX_T *idx, ulong off, ulong n, __global int *scratch)
{
    FOR_EACH(p, n)
    atomic_inc(scratch + idx[off + p]);
}

/* PyTorch's embedding_renorm_: norm = ||row||_norm_type (norm_type 0 means
 * infinity here); if norm > max_norm, row *= max_norm / (norm + 1e-7). */
__kernel void renorm(__global const IDX_T *idx, ulong off, ulong n, __global const int *first,
                     SPLIT_PARAM(__global, w), ulong w_off, ulong ld, ulong D, float max_norm, float norm_type)
{
    FOR_EACH(p, n)
    {
        long r = (long)idx[off + p];
        if (first[r] != (int)p)
            continue;
        __global float *row = SPLIT_ROW(w, r, ld) + w_off;
        float norm = 0.0f;
        if (norm_type == 2.0f) {
            for (ulong c = 0; c < D; c++)
                norm += row[c] * row[c];
            norm = sqrt(norm);
        } else if (norm_type == 1.0f) {
            for (ulong c = 0; c < D; c++)
                norm += fabs(row[c]);
        } else if (norm_type == 0.0f) {
            for (ulong c = 0; c < D; c++)
                norm = fmax(norm, fabs(row[c]));
        } else {
            for (ulong c = 0; c < D; c++)
                norm += pow(fabs(row[c]), norm_type);
            norm = pow(norm, 1.0f / norm_type);
        }
        if (norm > max_norm) {
            float scale = max_norm / (norm + 1e-7f);
            for (ulong c = 0; c < D; c++)
                row[c] *= scale;
        }
    }
}

/* Global (cols rounded up, rows); element (r, c) of a rows x cols table
 * whose first row is row r0 of the whole table (a part of a split one)
 * gets sample (r0 + r) * cols + c. */
__kernel void init_normal(__global TABLE_T *w, ulong w_off, ulong ld, ulong rows, ulong cols, ulong seed, ulong r0)
{
    ulong c = get_global_id(0), r = get_global_id(1);
#if TABLE_BF16
    if (c < cols && r < rows)
        w[w_off + r * ld + c] = embcl_f_to_bf16_rne(nrm_normal(seed, (r0 + r) * cols + c));
#else
    if (c < cols && r < rows)
        w[w_off + r * ld + c] = nrm_normal(seed, (r0 + r) * cols + c);
#endif
}

__kernel void zero_rows(__global const long *rows, ulong n, SPLIT_PARAM(__global, w), ulong w_off, ulong ld, ulong D)
{
    FOR_EACH(p, n)
    {
        __global float *row = SPLIT_ROW(w, rows[p], ld) + w_off;
        for (ulong c = 0; c < D; c++)
            row[c] = 0.0f;
    }
}

/* ids[0 .. nnz) ascending (a row-sparse gradient): value row i := 0 where
 * ids[i] is one of rows[0 .. n). Binary search per listed row. */
__kernel void zero_ids(__global const long *rows, ulong n, __global const long *ids, ulong ids_off, ulong nnz,
                       __global float *vals, ulong v_off, ulong ld, ulong D)
{
    FOR_EACH(p, n)
    {
        long want = rows[p];
        ulong lo = 0, hi = nnz;
        while (lo < hi) {
            ulong mid = (lo + hi) / 2;
            if (ids[ids_off + mid] < want)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nnz && ids[ids_off + lo] == want) {
            __global float *row = vals + v_off + lo * ld;
            for (ulong c = 0; c < D; c++)
                row[c] = 0.0f;
        }
    }
}
