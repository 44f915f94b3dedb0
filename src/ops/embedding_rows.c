/* Per-row work over the rows a batch names, through a [V] i32 scratch
 * indexed by row: max_norm renormalisation (each distinct row once, by the
 * first position that names it, so the result does not depend on
 * scheduling) and per-row counts for scale_grad_by_freq on the atomic
 * path. Only the named rows of the scratch are touched, so its cost is
 * O(n), not O(V). */
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "ops/embedding_impl.h"

/* Launch kernel `name` of kernels/embedding.cl over the indices, with
 * (idx, off, n) followed by `extra` arguments. */
static embcl_status run_idx_kernel(const emb_bags *eb, const char *name, int split, size_t n_extra,
                                   const embcl_karg *extra)
{
    struct embcl_device *dev = eb->idx->dev;
    char defs[48];
    snprintf(defs, sizeof defs, "-DIDX_T=%s%s", eb->idx->dtype == EMBCL_I32 ? "int" : "long",
             embcl_parts_define(split));
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(dev, "embedding", defs, name, &k));
    cl_ulong off = eb->idx->offset, n = eb->n;
    embcl_karg a[] = {EMBCL_KARG(eb->idx->buf->mem), EMBCL_KARG(off), EMBCL_KARG(n)};
    EMBCL_TRY(embcl_kernel_set_args(k, name, 3, a));
    for (size_t i = 0; i < n_extra; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)(3 + i), extra[i].size, extra[i].ptr);
        if (err != CL_SUCCESS)
            return embcl_cl_fail(err, name, "clSetKernelArg");
    }
    return emb_launch_flat(dev, k, name, eb->n);
}

static embcl_status scratch_fill(const emb_bags *eb, struct embcl_tensor *scratch, cl_int value)
{
    embcl_karg a[] = {EMBCL_KARG(scratch->buf->mem), EMBCL_KARG(value)};
    return run_idx_kernel(eb, "scratch_set", 0, 2, a);
}

embcl_status emb_renorm(struct embcl_tensor *w, const emb_bags *eb, const emb_opts *o, const char *fn)
{
    if (o->o.max_norm < 0 || eb->n == 0)
        return EMBCL_OK;
    if (w->dtype == EMBCL_BF16)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                           "option 'max_norm' (%g) is not supported on a bf16 table: renormalising in place would "
                           "round the rows again", o->o.max_norm);
    int64_t V = w->shape[0];
    struct embcl_tensor *first;
    EMBCL_TRY(embcl_tensor_new(w->dev, EMBCL_I32, 1, &V, fn, &first));
    embcl_status s = scratch_fill(eb, first, INT_MAX);
    embcl_karg a1[] = {EMBCL_KARG(first->buf->mem)};
    if (s == EMBCL_OK)
        s = run_idx_kernel(eb, "claim_first", 0, 1, a1);
    cl_ulong w_off = w->offset, ld = w->ld, D = w->cols;
    cl_float max_norm = (cl_float)o->o.max_norm;
    cl_float norm_type = isinf(o->o.norm_type) ? 0.0f : (cl_float)o->o.norm_type;
    int split = embcl_tensor_is_split(w);
    embcl_karg a2[EMBCL_MAX_PARTS + 7] = {EMBCL_KARG(first->buf->mem)};
    size_t na = 1 + embcl_karg_parts(a2 + 1, w, split);
    a2[na++] = EMBCL_KARG(w_off);
    a2[na++] = EMBCL_KARG(ld);
    a2[na++] = EMBCL_KARG(D);
    a2[na++] = EMBCL_KARG(max_norm);
    a2[na++] = EMBCL_KARG(norm_type);
    if (s == EMBCL_OK)
        s = run_idx_kernel(eb, "renorm", split, na, a2);
    embcl_tensor_free(first);
    return s;
}

embcl_status emb_count_rows(const emb_bags *eb, int64_t V, const char *fn, struct embcl_tensor **out)
{
    struct embcl_tensor *counts;
    EMBCL_TRY(embcl_tensor_new(eb->idx->dev, EMBCL_I32, 1, &V, fn, &counts));
    embcl_status s = scratch_fill(eb, counts, 0);
    embcl_karg a[] = {EMBCL_KARG(counts->buf->mem)};
    if (s == EMBCL_OK)
        s = run_idx_kernel(eb, "count_rows", 0, 1, a);
    if (s != EMBCL_OK) {
        embcl_tensor_free(counts);
        return s;
    }
    *out = counts;
    return EMBCL_OK;
}
