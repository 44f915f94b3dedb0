/* Private parts shared by the Embedding / EmbeddingBag host code: the bags
 * of one call in resolved form, validation, kernel variants and launch
 * geometry, and the backward scatter engine. */
#ifndef EMBCL_SRC_OPS_EMBEDDING_IMPL_H
#define EMBCL_SRC_OPS_EMBEDDING_IMPL_H

#include "device/program.h"
#include "embcl/embedding.h"
#include "tensor/tensor_impl.h"

/* One call's bags, checked on the host: bag b spans idx[start .. end) with
 * start/end from offs (n_offs entries) or, with fixed_l > 0, b * fixed_l. */
typedef struct emb_bags {
    struct embcl_tensor *idx;  /* contiguous i32/i64, n elements */
    struct embcl_tensor *offs; /* NULL with fixed_l */
    struct embcl_tensor *psw;  /* NULL or f32 [n] */
    cl_ulong n, B, n_offs, fixed_l;
    cl_ulong base;             /* idx starts at the caller's index `base`; offsets count from the caller's 0 */
    int last_is_n;             /* include_last_offset: offs[n_offs - 1] must be n */
    int validated;             /* indices and offsets already checked on the device */
    int table_bf16;            /* the kernels read a bf16 table (-DTABLE_BF16=1) */
} emb_bags;

/* Options after defaults and checks: pad is -1 for none (ATen's convention). */
typedef struct emb_opts {
    embcl_embedding_options o;
    cl_long pad;
} emb_opts;

/* Kernel variant and geometry of one op family ("bag_fwd", "bag_bwd"). */
typedef struct emb_tune {
    long long vw, ch, lanes, wgs, prefetch;
} emb_tune;

/* Options resolved against a table of V rows: defaults for NULL, padding
 * normalised and checked, norm_type checked. */
embcl_status emb_opts_resolve(const embcl_embedding_options *opt, int64_t V, const char *fn, emb_opts *out);

/* Host-side checks of a tensor's role; each names fn and arg. */
embcl_status emb_check_table(struct embcl_tensor *w, const char *fn, const char *arg);
/* embedding_bf16.c: a table the caller can read as f32 or bf16. */
embcl_status emb_check_table_or_bf16(struct embcl_tensor *w, const char *fn, const char *arg);
/* A copy of eb whose kernels read table w (bf16 or not). */
emb_bags emb_bags_for_table(const emb_bags *eb, const struct embcl_tensor *w);
/* w (bf16) := data (f32, w's numel), rounded to nearest even. */
embcl_status emb_upload_f32_as_bf16(struct embcl_tensor *w, const float *data, const char *fn);
embcl_status emb_check_indices(struct embcl_tensor *idx, const char *fn, const char *arg);
embcl_status emb_check_same_device(struct embcl_tensor *a, struct embcl_tensor *b, const char *fn,
                                   const char *arg);
/* t must be f32 with last dimension D and rows * D elements, and one buffer
 * (_parts: or split by rows, for tables and their dense gradients). */
embcl_status emb_check_rows(struct embcl_tensor *t, size_t rows, size_t D, const char *fn, const char *arg);
embcl_status emb_check_rows_parts(struct embcl_tensor *t, size_t rows, size_t D, const char *fn, const char *arg);

/* Resolve embcl_bags into eb, checking shapes, dtypes and the mode's rules
 * on the host. plain: b->indices alone, any shape, each index a bag of one
 * (Embedding). */
embcl_status emb_bags_resolve(const embcl_bags *b, const emb_opts *o, int plain, const char *fn, emb_bags *eb);

/* Index (and offset) checks: free when the host's upload facts prove the
 * data valid, else on the device with the verdict read back. Fails naming
 * the first bad position and its value before anything is written. V < 0
 * checks the offsets only. */
embcl_status emb_validate(struct embcl_device *dev, const emb_bags *eb, int64_t V, const char *fn);

/* max_norm: renormalise, in place, each distinct row the indices name. */
embcl_status emb_renorm(struct embcl_tensor *w, const emb_bags *eb, const emb_opts *o, const char *fn);

/* counts [V] i32 from the pool: how often each row is named (only named
 * rows are meaningful). The caller frees *out. */
embcl_status emb_count_rows(const emb_bags *eb, int64_t V, const char *fn, struct embcl_tensor **out);

/* Tunables for family `op` on dev. */
emb_tune emb_tune_for(struct embcl_device *dev, const char *op);
/* "-DIDX_T=.. -DOFF_T=.. -DVW=.. -DCH=.. -DLANES=.." into buf. */
void emb_defines(char *buf, size_t cap, embcl_dtype idx, embcl_dtype off, const emb_tune *t);
/* Kernel `kname` of kernels/bag.cl built as family `op` ("bag_fwd",
 * "bag_bwd") for these index / offset types, and its tunables. Every bag.cl
 * kernel of one call goes through here so they share one program build. */
embcl_status emb_bag_kernel(struct embcl_device *dev, const char *op, const emb_bags *eb, const char *kname,
                            cl_kernel *k, emb_tune *t);
/* The same built with -DPARTS=8 when split: its table / dense gradient
 * parameters then take every part (embcl_karg_parts). */
embcl_status emb_bag_kernel_parts(struct embcl_device *dev, const char *op, const emb_bags *eb, const char *kname,
                                  int split, cl_kernel *k, emb_tune *t);
/* Launch a kernel whose NDRange is (LANES, items): work-groups of
 * wgs / lanes items, fitted to what the kernel allows on dev. */
embcl_status emb_launch_lanes(struct embcl_device *dev, cl_kernel k, const char *kname, const emb_tune *t,
                              size_t items);
/* Launch a kernel that strides over n items (1-D). */
embcl_status emb_launch_flat(struct embcl_device *dev, cl_kernel k, const char *kname, size_t n);

/* The gather / pooling forward of one table into out [B, D] (columns of a
 * possibly wider out). mpos: [B, D] i32 for max, else NULL. */
embcl_status emb_pool(struct embcl_tensor *w, const emb_bags *eb, const emb_opts *o, int mode,
                      struct embcl_tensor *out, struct embcl_tensor *mpos, const char *fn);

/* Backward scatter of g [B, D] into a dense [V, D] gradient (accumulated)
 * or into a row-sparse one, per o->o.scatter and o->o.sparse. */
embcl_status emb_scatter(struct embcl_tensor *g, const emb_bags *eb, const emb_opts *o, int mode,
                         struct embcl_tensor *mpos, int64_t V, struct embcl_tensor *dense,
                         embcl_rowsparse_t sparse, struct embcl_tensor *dpsw, struct embcl_tensor *w,
                         const char *fn);

/* Per position p of the bags: pos_bag[p] = its bag, pos_scale[p] = the
 * factor its share of the bag's gradient gets (0 at padding,
 * per_sample_weights, 1/count for mean). Both [n] pool tensors. */
embcl_status emb_positions(const emb_bags *eb, const emb_opts *o, int mode, struct embcl_tensor *pos_bag,
                           struct embcl_tensor *pos_scale);

/* An NULL-able cl_mem argument and its element offset. */
static inline cl_mem emb_mem(const struct embcl_tensor *t)
{
    return t ? t->buf->mem : NULL;
}
static inline cl_ulong emb_off(const struct embcl_tensor *t)
{
    return t ? (cl_ulong)t->offset : 0;
}

#endif
