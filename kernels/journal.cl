/* Optimizer journal (src/optim/journal.c): the rows a row-sparse update is
 * about to write are copied aside, and copied back if the step is rolled
 * back.
 *
 * Variants (-D): ELEM_T float (default) | ushort (a bf16 parameter's
 * rows); PARTS 1 | 8, the matrix and the copy split by rows (common.h).
 * Tunables: none (the host sizes the range from journal.WGS).
 * Layout: a matrix of `cols` floats per row at m + m_off with row stride
 * m_ld (column views of a wider table have m_ld > cols); the copy is packed,
 * row k holding matrix row ids[k] (ids unique, so the scatter never races).
 * Kernels journal_gather, journal_scatter: 2-D range, dim 0 over columns,
 * dim 1 over the nnz rows, one float per work-item. */
#include "common.h"

#ifndef ELEM_T
#define ELEM_T float
#endif

__kernel void journal_gather(SPLIT_PARAM_T(__global, ELEM_T, copy), SPLIT_PARAM_T(__global const, ELEM_T, m), ulong m_off,
                             ulong m_ld,
                             __global const long *ids, ulong nnz, ulong cols)
{
    const ulong c = get_global_id(0), k = get_global_id(1);
    if (c >= cols || k >= nnz)
        return;
    SPLIT_ROW(copy, k, cols)[c] = (SPLIT_ROW(m, ids[k], m_ld) + m_off)[c];
}

__kernel void journal_scatter(SPLIT_PARAM_T(__global, ELEM_T, m), ulong m_off, ulong m_ld,
                              SPLIT_PARAM_T(__global const, ELEM_T, copy),
                              __global const long *ids, ulong nnz, ulong cols)
{
    const ulong c = get_global_id(0), k = get_global_id(1);
    if (c >= cols || k >= nnz)
        return;
    (SPLIT_ROW(m, ids[k], m_ld) + m_off)[c] = SPLIT_ROW(copy, k, cols)[c];
}
