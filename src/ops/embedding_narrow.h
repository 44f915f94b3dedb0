/* Narrow-row paths of the Embedding / EmbeddingBag ops (D up to the tuning
 * key bag_bwd.NARROW_MAX_D; 0, the default, turns them off): the backward
 * to a row-sparse gradient without a sort, from the upload's facts
 * (src/ops/embedding_narrow.c, kernels/bag_narrow.cl). */
#ifndef EMBCL_SRC_OPS_EMBEDDING_NARROW_H
#define EMBCL_SRC_OPS_EMBEDDING_NARROW_H

#include "ops/embedding_impl.h"

/* Whether emb_narrow_bwd can build this call's row-sparse gradient: narrow
 * rows, indices whose upload facts cover them exactly with a bitmap of the
 * values and their repeats, all in [0, V), sum or mean pooling (mode: the
 * pooling emb_scatter was given). */
int emb_narrow_bwd_applies(struct embcl_tensor *g, const emb_bags *eb, const emb_opts *o, int mode, int64_t V);

/* The row-sparse gradient of bags eb with per-bag gradient rows g: the
 * same ids and bits as the sorted path (emb_scatter). The capacity check
 * comes before any write. */
embcl_status emb_narrow_bwd(struct embcl_tensor *g, const emb_bags *eb, const emb_opts *o, int mode,
                            embcl_rowsparse_t sparse, const char *fn);

#endif
