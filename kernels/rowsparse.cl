/* Row-sparse gradients (host: src/ops/rowsparse.c). No tunables.
 * Global size of both: (dim rounded up, nnz); work-item (c, r) handles
 * column c of sparse row r. Ids are unique, so no two work-items write the
 * same element.
 * rowsparse_to_dense: dense[ids[r], c] (+)= values[r, c], dense with row
 *                     stride ld starting off elements into its buffer.
 * rowsparse_merge:    out row s = the sum, in segment order, of the rows
 *                     perm[seg_start[s] .. seg_start[s+1]) of a ++ b (rows
 *                     below na from a, the rest from b); out id s = uniq[s]. */
#include "common.h"

/* PARTS 8 (common.h): values and dense may be split by rows. */
__kernel void rowsparse_to_dense(__global const long *ids, SPLIT_PARAM(__global const, values), uint nnz, uint dim,
                                 SPLIT_PARAM(__global, dense), ulong off, ulong ld, uint accumulate)
{
    uint c = get_global_id(0), r = get_global_id(1);
    if (c >= dim || r >= nnz)
        return;
    __global float *o = SPLIT_ROW(dense, ids[r], ld) + off + c;
    float v = SPLIT_ROW(values, r, dim)[c];
    *o = accumulate ? *o + v : v;
}

__kernel void rowsparse_merge(__global const int *perm, __global const int *seg_start, __global const long *uniq,
                              uint nnz, uint na, uint dim, __global const float *a, __global const float *b,
                              __global long *out_ids, __global float *out_values)
{
    uint c = get_global_id(0), s = get_global_id(1);
    if (s >= nnz)
        return;
    if (c == 0)
        out_ids[s] = uniq[s];
    if (c >= dim)
        return;
    int lo = seg_start[s], hi = seg_start[s + 1];
    float acc = 0.0f;
    for (int j = lo; j < hi; j++) {
        uint p = (uint)perm[j];
        float v = p < na ? a[(size_t)p * dim + c] : b[(size_t)(p - na) * dim + c];
        acc = j == lo ? v : acc + v; /* the first term as is, so -0.0 survives */
    }
    out_values[(size_t)s * dim + c] = acc;
}
