/* Deterministic grouping of indices by value, on the device: the core of
 * every deterministic scatter (embedding backward, sparse optimizers).
 *
 * Given n indices in [0, num_rows), it produces
 *   perm      [n] i32: positions 0..n-1 ordered by (index value, position),
 *                      i.e. a stable sort, so duplicates keep input order;
 *                      skipped positions (see `skip`) come last, ascending;
 *   uniq      [n] i64: the distinct index values, ascending, first nnz used;
 *   seg_start [n+1] i32: segment s covers perm[seg_start[s] .. seg_start[s+1]);
 *                      seg_start[nnz] = the number of kept positions;
 *   nnz       the number of distinct values (read back to the host).
 * A reduction that walks each segment in order gives the same bits on every
 * run and every device. Work buffers come from the pool and are reused.
 *
 * Indices out of range are reported (EMBCL_ERR_INDEX_RANGE naming the
 * first bad position and its value) before anything is written by a caller.
 * Limits: n < 2^31 - 1, num_rows < 2^32 - 1 (EMBCL_ERR_UNSUPPORTED beyond).
 * Cost: one host synchronisation (reading nnz back); kernels/sort.cl. */
#ifndef EMBCL_SRC_OPS_SEGMENTS_H
#define EMBCL_SRC_OPS_SEGMENTS_H

#include "tensor/tensor_impl.h"

typedef struct embcl_segments {
    struct embcl_tensor *perm;      /* [n] i32 */
    struct embcl_tensor *uniq;      /* [n] i64 */
    struct embcl_tensor *seg_start; /* [n + 1] i32 */
    int64_t n;
    int64_t nnz;
} embcl_segments;

/* indices: a contiguous i32 or i64 tensor of any shape (n = numel).
 * `skip` >= 0 names one value to leave out of every segment (padding_idx);
 * its positions are excluded from perm's used prefix (skip must be < num_rows;
 * -1 for none). `func`/`arg` name the public call and argument in errors.
 * On success *out owns three pool tensors (free with embcl_segments_free);
 * on failure *out is untouched. */
embcl_status embcl_segments_build(struct embcl_tensor *indices, int64_t num_rows, int64_t skip,
                                  const char *func, const char *arg, embcl_segments *out);
void embcl_segments_free(embcl_segments *s);

#endif
