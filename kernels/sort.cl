/* Deterministic grouping of indices: a stable LSD radix sort of
 * (key, position) pairs, then segment boundaries (host: src/ops/segments.c).
 *
 * Tunables (-D): RB the most radix bits a pass may use (local memory is
 *   sized for RADIX = 1 << RB digits; each call passes the bits it uses, so
 *   the host can spread a key's bits evenly over the fewest passes);
 *   WGS work-group size (the kernels require exactly WGS work-items).
 *
 * Work layout, shared by every kernel: work-item q = group * WGS + local id
 * owns the contiguous chunk [q * C, min((q + 1) * C, n)). Group g's chunks
 * form one contiguous block, so a group's digit counts, laid out digit-major
 * as hist[d * G + g], give every (digit, group) its place in a stable order:
 * first by digit, then by group, then by work-item, then by position. Each
 * work-item counts its own chunk in its own column of local memory, so no
 * atomics decide any order. On a CPU WGS = 1 makes each group a plain serial
 * loop; GPUs use wide groups and a small radix to fit local memory.
 *
 * sort_keys_i32, sort_keys_i64:
 *               validate indices, make keys (skip -> num_rows, bad -> 0),
 *               count pass-0 digits, record each group's first bad position.
 * sort_hist:    count the digits of one pass.
 * sort_scatter: move keys and values to their stable places for one pass
 *               (first pass: the values are the positions themselves).
 * seg_count:    count segment starts per work-item and per group.
 * seg_write:    write uniq, seg_start, and info = {first bad position, nnz}. */
#include "common.h"

#ifndef RB
#define RB 8
#endif
#ifndef WGS
#define WGS 1
#endif
#define RADIX (1u << RB)

/* The chunk of the calling work-item. */
static inline void chunk_of(uint n, uint C, uint *lo, uint *hi)
{
    uint q = get_group_id(0) * WGS + get_local_id(0);
    ulong l = (ulong)q * C;
    *lo = (uint)min(l, (ulong)n);
    *hi = (uint)min(l + C, (ulong)n);
}

static inline void clear_counts(__local uint *cnt, uint radix)
{
    for (uint d = 0; d < radix; d++)
        cnt[d * WGS + get_local_id(0)] = 0;
}

/* Sum the work-items' columns into this group's entry of hist. Callers put
 * a barrier before. */
static inline void store_hist(__local const uint *cnt, __global uint *hist, uint radix)
{
    uint g = get_group_id(0), G = get_num_groups(0);
    for (uint d = get_local_id(0); d < radix; d += WGS) {
        uint s = 0;
        for (uint u = 0; u < WGS; u++)
            s += cnt[d * WGS + u];
        hist[d * G + g] = s;
    }
}

/* One body for both index types (sort_keys_i32, sort_keys_i64), so one
 * program per tuning holds every kernel. */
#define SORT_KEYS(NAME, IDX_T)                                                                      \
    __kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))                                       \
    void NAME(__global const IDX_T *idx, ulong idx_off, uint n, uint C, long num_rows, long skip,  \
              uint bits, __global uint *keys, __global uint *hist, __global int *bad)               \
    {                                                                                               \
        __local uint cnt[RADIX * WGS];                                                              \
        __local int first_bad;                                                                      \
        uint t = get_local_id(0), mask = (1u << bits) - 1, lo, hi;                                  \
        if (t == 0)                                                                                 \
            first_bad = INT_MAX;                                                                    \
        clear_counts(cnt, mask + 1);                                                                \
        chunk_of(n, C, &lo, &hi);                                                                   \
        int mine = INT_MAX;                                                                         \
        for (uint i = lo; i < hi; i++) {                                                            \
            long v = (long)idx[idx_off + i];                                                        \
            uint key = make_key(v, num_rows, skip);                                                 \
            if (key == BAD_KEY) {                                                                   \
                key = 0; /* keeps the sort in bounds; the host reports it */                        \
                mine = min(mine, (int)i);                                                           \
            }                                                                                       \
            keys[i] = key;                                                                          \
            cnt[(key & mask) * WGS + t]++;                                                          \
        }                                                                                           \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
        if (mine != INT_MAX)                                                                        \
            atomic_min(&first_bad, mine);                                                           \
        store_hist(cnt, hist, mask + 1);                                                            \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
        if (t == 0)                                                                                 \
            bad[get_group_id(0)] = first_bad;                                                       \
    }

/* The sort key of index v: skipped -> num_rows (after every valid row),
 * out of range -> BAD_KEY (num_rows < BAD_KEY, checked by the host). */
#define BAD_KEY 0xFFFFFFFFu
static inline uint make_key(long v, long num_rows, long skip)
{
    if (skip >= 0 && v == skip)
        return (uint)num_rows;
    if (v < 0 || v >= num_rows)
        return BAD_KEY;
    return (uint)v;
}

SORT_KEYS(sort_keys_i32, int)
SORT_KEYS(sort_keys_i64, long)

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void sort_hist(__global const uint *keys, uint n, uint C, uint shift, uint bits, __global uint *hist)
{
    __local uint cnt[RADIX * WGS];
    uint t = get_local_id(0), mask = (1u << bits) - 1, lo, hi;
    clear_counts(cnt, mask + 1);
    chunk_of(n, C, &lo, &hi);
    for (uint i = lo; i < hi; i++)
        cnt[((keys[i] >> shift) & mask) * WGS + t]++;
    barrier(CLK_LOCAL_MEM_FENCE);
    store_hist(cnt, hist, mask + 1);
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void sort_scatter(__global const uint *restrict kin, __global const int *restrict vin,
                  __global uint *restrict kout, __global int *restrict vout, __global const uint *hist,
                  uint n, uint C, uint shift, uint bits, uint first)
{
    __local uint cnt[RADIX * WGS];
    __local uint before[RADIX]; /* this digit's count in earlier groups */
    __local uint start[RADIX];  /* this digit's count in all groups, then its first slot */
    uint t = get_local_id(0), g = get_group_id(0), G = get_num_groups(0), lo, hi;
    uint radix = 1u << bits, mask = radix - 1;
    for (uint d = t; d < radix; d += WGS) {
        uint b = 0, a = 0;
        for (uint h = 0; h < g; h++)
            b += hist[d * G + h];
        for (uint h = g; h < G; h++)
            a += hist[d * G + h];
        before[d] = b;
        start[d] = a + b;
    }
    chunk_of(n, C, &lo, &hi);
#if WGS == 1
    /* The group is one work-item: its counts are its column of hist. */
    for (uint d = 0; d < radix; d++)
        cnt[d] = hist[d * G + g];
#else
    clear_counts(cnt, radix);
    for (uint i = lo; i < hi; i++)
        cnt[((kin[i] >> shift) & mask) * WGS + t]++;
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    if (t == 0) {
        uint run = 0;
        for (uint d = 0; d < radix; d++) {
            uint x = start[d];
            start[d] = run;
            run += x;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    /* Each work-item's first slot per digit: the digit's start, then earlier
     * groups, then earlier work-items of this group. */
    for (uint d = t; d < radix; d += WGS) {
        uint run = start[d] + before[d];
        for (uint u = 0; u < WGS; u++) {
            uint x = cnt[d * WGS + u];
            cnt[d * WGS + u] = run;
            run += x;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint i = lo; i < hi; i++) {
        uint k = kin[i];
        uint p = cnt[((k >> shift) & mask) * WGS + t]++;
        kout[p] = k;
        vout[p] = first ? (int)i : vin[i];
    }
}

/* Whether sorted position i starts a segment (a new value that is not skipped). */
static inline int starts_segment(__global const uint *sk, uint i, uint skipkey)
{
    uint k = sk[i];
    return k != skipkey && (i == 0 || sk[i - 1] != k);
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void seg_count(__global const uint *sk, uint n, uint C, uint skipkey, __global uint *icount,
               __global uint *gcount)
{
    __local uint lc[WGS];
    uint t = get_local_id(0), lo, hi, c = 0;
    chunk_of(n, C, &lo, &hi);
    for (uint i = lo; i < hi; i++)
        c += starts_segment(sk, i, skipkey);
    icount[get_group_id(0) * WGS + t] = c;
    lc[t] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (t == 0) {
        uint s = 0;
        for (uint u = 0; u < WGS; u++)
            s += lc[u];
        gcount[get_group_id(0)] = s;
    }
}

/* Skipped keys sort last, so the segment list ends at the last kept key;
 * whoever holds it closes the list and writes nnz. */
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void seg_write(__global const uint *sk, uint n, uint C, uint skipkey, __global const uint *icount,
               __global const uint *gcount, __global const int *bad, __global long *uniq,
               __global int *seg_start, __global int *info)
{
    __local uint first_id[WGS];
    uint t = get_local_id(0), g = get_group_id(0), G = get_num_groups(0), lo, hi;
    if (t == 0) {
        uint run = 0;
        for (uint h = 0; h < g; h++)
            run += gcount[h];
        for (uint u = 0; u < WGS; u++) {
            first_id[u] = run;
            run += icount[g * WGS + u];
        }
        if (g == 0) {
            int b = INT_MAX;
            for (uint h = 0; h < G; h++)
                b = min(b, bad[h]);
            info[0] = b == INT_MAX ? -1 : b;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    uint id = first_id[t];
    chunk_of(n, C, &lo, &hi);
    for (uint i = lo; i < hi; i++) {
        uint k = sk[i];
        if (k == skipkey) {
            if (i == 0) {
                seg_start[0] = 0;
                info[1] = 0;
            }
            break;
        }
        if (i == 0 || sk[i - 1] != k) {
            seg_start[id] = (int)i;
            uniq[id] = (long)k;
            id++;
        }
        if (i + 1 == n || sk[i + 1] == skipkey) {
            seg_start[id] = (int)(i + 1);
            info[1] = (int)id;
        }
    }
}
