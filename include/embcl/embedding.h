/* Embedding and EmbeddingBag: torch.nn.functional.embedding / embedding_bag
 * on OpenCL devices, forward and backward, with PyTorch's options, names,
 * defaults and errors.
 *
 * Shapes use V (rows of the table, num_embeddings), D (embedding_dim), n
 * (number of indices), B (number of bags). Tables are f32 [V, D] tensors and
 * may be column views of a wider table (row stride > D): reads and writes go
 * through the view, so two ops on views of one table share its rows.
 *
 * bf16 tables (EMBCL_BF16, include/embcl/bf16.h): embcl_embedding,
 * embcl_embedding_bag, their backward passes, the fused backward + update,
 * init_normal and from_pretrained also take a bf16 `weight`, read as float;
 * outputs and gradients stay f32. PyTorch's bf16 embedding_bag returns bf16;
 * embcl returns the f32 sums unrounded, because what consumes them here is
 * f32 and the saving is in the n rows read, not the B written (round with
 * embcl_tensor_convert for PyTorch's dtype). max_norm wants an f32 table.
 *
 * Ownership: these functions write into tensors the caller created and
 * keeps; they take no ownership and return no handles. Temporary device
 * memory comes from the device's pool and is given back before returning.
 *
 * Errors: on any bad input (index out of range, bad offsets, wrong shape,
 * dtype or option) the call returns a status whose message names the
 * function, the argument and the offending value (for an index: its
 * position and value), and no output, gradient or table has been written.
 * Index checks run on the device and their verdict is read back before the
 * first write.
 */
#ifndef EMBCL_EMBEDDING_H
#define EMBCL_EMBEDDING_H

#include "core.h"
#include "optim.h"
#include "sparse.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* padding_idx = None and max_norm = None. */
#define EMBCL_PADDING_NONE INT64_MIN
#define EMBCL_MAX_NORM_NONE (-1.0)

typedef enum embcl_bag_mode {
    EMBCL_BAG_SUM = 0,
    EMBCL_BAG_MEAN = 1,
    EMBCL_BAG_MAX = 2,
    EMBCL_BAG_MODE_COUNT
} embcl_bag_mode;

/* "sum", "mean", "max"; "?" for values out of range. */
EMBCL_API const char *embcl_bag_mode_name(embcl_bag_mode mode);

/* How a backward pass scatters gradient rows into the table's gradient.
 * DETERMINISTIC sorts the indices on the device and sums each row's
 * contributions in input order: the same bits on every run and device.
 * ATOMIC adds with atomics (a compare-and-swap loop on the float's bits
 * where the device has no float atomics): often faster on GPUs, but the
 * order of additions, and so the last bits, vary from run to run. */
typedef enum embcl_scatter {
    EMBCL_SCATTER_DETERMINISTIC = 0,
    EMBCL_SCATTER_ATOMIC = 1,
    EMBCL_SCATTER_COUNT
} embcl_scatter;

/* PyTorch's keyword arguments, with its names and defaults
 * (embcl_embedding_options_default()). */
typedef struct embcl_embedding_options {
    /* Row that contributes nothing to bags and gets no gradient;
     * -V <= padding_idx < V, negative counts from the end.
     * Default EMBCL_PADDING_NONE. */
    int64_t padding_idx;
    /* If >= 0, looked-up rows whose norm_type-norm exceeds it are scaled
     * in place to max_norm / (norm + 1e-7) before the lookup, each distinct
     * row once. Default EMBCL_MAX_NORM_NONE. */
    double max_norm;
    double norm_type;            /* default 2; > 0 or INFINITY */
    int scale_grad_by_freq;      /* divide each row's gradient by its count in the batch; default 0 */
    int sparse;                  /* backward writes a row-sparse gradient; default 0 (dense) */
    embcl_bag_mode mode;         /* bags only; default EMBCL_BAG_MEAN as in F.embedding_bag */
    int include_last_offset;     /* bags only: offsets has B + 1 entries, the last = n; default 0 */
    embcl_scatter scatter;       /* backward only; default EMBCL_SCATTER_DETERMINISTIC */
} embcl_embedding_options;

EMBCL_API embcl_embedding_options embcl_embedding_options_default(void);

/* ---- Initialisation ---------------------------------------------------- */

/* weight [V, D] f32 := N(0, 1) samples, then the padding_idx row := 0
 * (padding_idx may be EMBCL_PADDING_NONE or negative from the end).
 * Element (r, c) depends only on seed, r and c: a Philox4x32-10 counter
 * generator and Box-Muller written in plain arithmetic, so every device
 * (and embcl_embedding_normal_host) gives the same bits. */
EMBCL_API embcl_status embcl_embedding_init_normal(embcl_tensor_t weight, uint64_t seed, int64_t padding_idx);

/* The same values computed on the host, for checking and for users who keep
 * a host copy: out[r * D + c] for rows [r0, r1), D columns. */
EMBCL_API embcl_status embcl_embedding_normal_host(uint64_t seed, int64_t r0, int64_t r1, int64_t D, float *out);

/* from_pretrained: weight [V, D] f32 := data (V * D floats, row-major), as
 * is (the padding row is not zeroed, as in PyTorch). *frozen (may be NULL)
 * receives `freeze` for whoever holds the parameter: a frozen table is never
 * handed to an optimizer and its gradient is not computed. */
EMBCL_API embcl_status embcl_embedding_from_pretrained(embcl_tensor_t weight, const float *data, int freeze,
                                                       int *frozen);

/* ---- Embedding --------------------------------------------------------- */

/* out[i, :] = weight[indices[i], :] (F.embedding).
 * weight:  [V, D] f32, may be a column view; with max_norm set, the rows
 *          indices name are renormalised in place first.
 * indices: i32 or i64, any shape, contiguous; values in [0, V).
 * out:     f32 with last dimension D and n * D elements (indices' shape +
 *          (D) when that fits in 4 dimensions; any such shape otherwise).
 * Uses padding_idx (checked, the row is returned as is), max_norm,
 * norm_type; other options are ignored. opt may be NULL for the defaults. */
EMBCL_API embcl_status embcl_embedding(embcl_tensor_t weight, embcl_tensor_t indices,
                                       const embcl_embedding_options *opt, embcl_tensor_t out);

/* Backward of embcl_embedding.
 * grad_out: f32 with n * D elements, last dimension D.
 * indices:  the forward's indices.
 * num_rows: V (the table's rows); D comes from grad_out.
 * opt->sparse == 0: grad_weight [V, D] f32 (may be a column view) is
 *          accumulated into (+=); grad_sparse must be NULL.
 * opt->sparse == 1: grad_sparse (num_rows V, dim D, capacity >= number of
 *          distinct indices) is overwritten with the coalesced gradient;
 *          grad_weight must be NULL.
 * The padding_idx row gets nothing; scale_grad_by_freq divides by each
 * index's count in `indices`, dense only: with opt->sparse it fails with
 * EMBCL_ERR_UNSUPPORTED, as PyTorch does ("embedding_backward:
 * scale_grad_by_freq not supported with sparse gradients"), before anything
 * is written. opt->scatter picks the scatter path (row-sparse gradients are
 * always built deterministically). */
EMBCL_API embcl_status embcl_embedding_backward(embcl_tensor_t grad_out, embcl_tensor_t indices, int64_t num_rows,
                                                const embcl_embedding_options *opt, embcl_tensor_t grad_weight,
                                                embcl_rowsparse_t grad_sparse);

/* ---- EmbeddingBag ------------------------------------------------------ */

/* The bags of one call.
 * indices: i32 or i64, contiguous. 1-D [n] with offsets, or 2-D [B, L]
 *          (B bags of L indices) with offsets NULL.
 * offsets: i32 or i64 [B] (or [B + 1] with include_last_offset): bag b is
 *          indices[offsets[b] .. offsets[b + 1]), the last bag ends at n
 *          (at offsets[B] = n with include_last_offset). offsets[0] must be
 *          0, offsets must not decrease nor exceed n. Empty bags give zeros.
 * per_sample_weights: f32 with indices' shape, or NULL; mode sum only. */
typedef struct embcl_bags {
    embcl_tensor_t indices;
    embcl_tensor_t offsets;
    embcl_tensor_t per_sample_weights;
} embcl_bags;

/* out[b, :] = reduce(weight[i, :] for i in bag b) (F.embedding_bag).
 * weight:  [V, D] f32 (may be a column view; renormalised in place first
 *          when max_norm is set).
 * out:     [B, D] f32 (may be a column view).
 * max_pos: mode max only (else NULL): [B, D] i32, the position in indices
 *          of each output element's maximum (first wins ties; -1 for an
 *          empty bag), kept for the backward. PyTorch returns the row id:
 *          it is indices[max_pos]. */
EMBCL_API embcl_status embcl_embedding_bag(embcl_tensor_t weight, const embcl_bags *bags,
                                           const embcl_embedding_options *opt, embcl_tensor_t out,
                                           embcl_tensor_t max_pos);

/* Backward of embcl_embedding_bag.
 * grad_out: [B, D] f32 (may be a column view).
 * weight:   the forward's table: needed for grad_psw, else may be NULL.
 * bags, max_pos, opt: as given to the forward.
 * num_rows: V.
 * grad_weight / grad_sparse: as in embcl_embedding_backward (max mode
 *           and scale_grad_by_freq: dense only, as in PyTorch; a row-sparse
 *           gradient fails with EMBCL_ERR_UNSUPPORTED).
 * grad_psw: f32 with indices' shape, overwritten with d out / d
 *           per_sample_weights (0 at padding); may be NULL; needs
 *           per_sample_weights. */
EMBCL_API embcl_status embcl_embedding_bag_backward(embcl_tensor_t grad_out, embcl_tensor_t weight,
                                                    const embcl_bags *bags, embcl_tensor_t max_pos,
                                                    int64_t num_rows, const embcl_embedding_options *opt,
                                                    embcl_tensor_t grad_weight, embcl_rowsparse_t grad_sparse,
                                                    embcl_tensor_t grad_psw);

/* ---- Fused backward + optimizer update ---------------------------------- */

/* The backward of embcl_embedding / embcl_embedding_bag fused with one step
 * of `optim` on its parameter number `param` (the table, [V, D], as added
 * with embcl_optim_add_param): the indices are grouped by row on the device
 * and each touched row's gradient is summed in position order inside the
 * update kernel and applied at once, never materialising a gradient. Same
 * result as the row-sparse backward (option sparse = 1) followed by
 * embcl_optim_step with that gradient, within float rounding (1e-5); the
 * parameter's step count advances as with embcl_optim_step.
 * optim:    SGD (no weight decay), Adagrad (no weight decay), SparseAdam
 *           or row-wise Adagrad: what takes row-sparse gradients; others
 *           fail as embcl_optim_step does with a row-sparse gradient. SGD
 *           with momentum moves every row its buffer holds (see
 *           embcl_optim_step): the summed rows then go into a zeroed dense
 *           scratch for a dense update. Frozen rows / columns / parameters
 *           stay.
 * grad_out: as for the backward ([n, D] per index; [B, D] per bag), f32,
 *           on the optimizer's device, D = the parameter's columns.
 * indices / bags, opt: as given to the forward (opt may be NULL). Modes
 *           sum and mean, padding_idx and per_sample_weights are honoured;
 *           mode max and scale_grad_by_freq fail with EMBCL_ERR_UNSUPPORTED
 *           (PyTorch has no sparse gradient for them either); opt->sparse
 *           and opt->scatter are ignored (the path is always deterministic).
 * Every check (indices and offsets included) comes before the first write:
 * a failing call leaves the table and the optimizer state as they were.
 * Waits for the device once (the number of distinct rows). */
EMBCL_API embcl_status embcl_embedding_backward_update(embcl_tensor_t grad_out, embcl_tensor_t indices,
                                                       const embcl_embedding_options *opt, embcl_optim_t optim,
                                                       size_t param);
EMBCL_API embcl_status embcl_embedding_bag_backward_update(embcl_tensor_t grad_out, const embcl_bags *bags,
                                                           const embcl_embedding_options *opt, embcl_optim_t optim,
                                                           size_t param);

/* ---- Table-batched bags (FBGEMM's TBE) ---------------------------------- */

/* Up to this many tables go in one kernel launch; more take more launches. */
#define EMBCL_TABLES_PER_LAUNCH 8

/* T tables, one batch of B bags per table, in one launch.
 * weights: T tables [V_t, D_t] f32 (views allowed), on one device; or all
 *          bf16 (include/embcl/bf16.h; out stays f32).
 * indices: 1-D i32/i64 [n], all tables' indices; table t's bags come
 *          after table t-1's.
 * offsets: [T * B] (or [T * B + 1] with include_last_offset): bag b of
 *          table t is offsets[t * B + b] .. the next offset (n after the
 *          last); same rules as embcl_bags.
 * per_sample_weights: [n] f32 or NULL (mode sum).
 * out:     [B, sum D_t] f32: table t's bags in columns sum_{s<t} D_s ...
 * Options apply to every table (padding_idx: none or >= 0, per table;
 * max_norm is not supported here). Modes sum and mean. */
EMBCL_API embcl_status embcl_embedding_bag_tables(int T, const embcl_tensor_t *weights, const embcl_bags *bags,
                                                  const embcl_embedding_options *opt, embcl_tensor_t out);

/* Backward of embcl_embedding_bag_tables: grad_out [B, sum D_t]; weights
 * the forward's tables (their shapes); table t's gradient goes to
 * grad_weights[t] ([V_t, D_t] f32, dense, accumulated into; NULL for a
 * frozen table, which gets nothing). Deterministic unless opt->scatter
 * says atomic. */
EMBCL_API embcl_status embcl_embedding_bag_tables_backward(int T, embcl_tensor_t grad_out,
                                                           const embcl_tensor_t *weights, const embcl_bags *bags,
                                                           const embcl_embedding_options *opt,
                                                           const embcl_tensor_t *grad_weights);

/* ---- Frozen parts of a table ------------------------------------------- */

/* grad [V, D] f32 (dense): rows listed in `rows` (n_rows i64 host values)
 * and columns [c0, c1) become 0, so an optimizer step leaves those parts of
 * the table bit-identical. c0 == c1 freezes no columns. */
EMBCL_API embcl_status embcl_grad_freeze(embcl_tensor_t grad, const int64_t *rows, int64_t n_rows, int64_t c0,
                                         int64_t c1);

/* The same for a row-sparse gradient: listed rows present in g and columns
 * [c0, c1) of every present row become 0 (ids stay, so optimizers that
 * track touched rows see them with a zero gradient). */
EMBCL_API embcl_status embcl_grad_freeze_sparse(embcl_rowsparse_t grad, const int64_t *rows, int64_t n_rows,
                                                int64_t c0, int64_t c1);

#ifdef __cplusplus
}
#endif
#endif
