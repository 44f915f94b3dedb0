/* Validation of Embedding / EmbeddingBag calls: options, shapes and dtypes
 * on the host; indices and offsets from what the host learnt at upload, or,
 * for data written on the device, on the device with the verdict read back
 * before any write, as the issue asks ("check before any scatter"). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/embedding_impl.h"

embcl_embedding_options embcl_embedding_options_default(void)
{
    embcl_embedding_options o;
    memset(&o, 0, sizeof o);
    o.padding_idx = EMBCL_PADDING_NONE;
    o.max_norm = EMBCL_MAX_NORM_NONE;
    o.norm_type = 2.0;
    o.mode = EMBCL_BAG_MEAN;
    o.scatter = EMBCL_SCATTER_DETERMINISTIC;
    return o;
}

const char *embcl_bag_mode_name(embcl_bag_mode mode)
{
    static const char *names[] = {"sum", "mean", "max"};
    return (unsigned)mode < EMBCL_BAG_MODE_COUNT ? names[mode] : "?";
}

embcl_status emb_opts_resolve(const embcl_embedding_options *opt, int64_t V, const char *fn, emb_opts *out)
{
    out->o = opt ? *opt : embcl_embedding_options_default();
    const embcl_embedding_options *o = &out->o;
    out->pad = -1;
    if (o->padding_idx != EMBCL_PADDING_NONE) {
        if (o->padding_idx < -V || o->padding_idx >= V)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                               "argument 'padding_idx' is %lld; it must be within num_embeddings: [-%lld, %lld)",
                               (long long)o->padding_idx, (long long)V, (long long)V);
        out->pad = o->padding_idx < 0 ? V + o->padding_idx : o->padding_idx;
    }
    if (!(o->norm_type > 0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'norm_type' is %g; it must be > 0 (or INFINITY)",
                           o->norm_type);
    if (isnan(o->max_norm))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'max_norm' is NaN");
    if ((unsigned)o->mode >= EMBCL_BAG_MODE_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'mode' is %d; modes are sum (0), mean (1), max (2)",
                           (int)o->mode);
    if ((unsigned)o->scatter >= EMBCL_SCATTER_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "option 'scatter' is %d; it is EMBCL_SCATTER_DETERMINISTIC (0) or _ATOMIC (1)",
                           (int)o->scatter);
    return EMBCL_OK;
}

embcl_status emb_check_table(struct embcl_tensor *w, const char *fn, const char *arg)
{
    EMBCL_TRY(embcl_check_dtype_parts(w, EMBCL_F32, fn, arg));
    if (w->ndim != 2) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' has shape %s; a table is 2-D [num_embeddings, dim]",
                           arg, embcl_shape_str(w, s, sizeof s));
    }
    return EMBCL_OK;
}

embcl_status emb_check_indices(struct embcl_tensor *idx, const char *fn, const char *arg)
{
    EMBCL_TRY(embcl_check_tensor(idx, fn, arg));
    if (idx->dtype != EMBCL_I32 && idx->dtype != EMBCL_I64)
        return embcl_error(EMBCL_ERR_DTYPE, fn, "argument '%s' has dtype %s; indices are i32 or i64", arg,
                           embcl_dtype_name(idx->dtype));
    if (!embcl_tensor_is_contiguous(idx))
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' is a column view; indices must be contiguous", arg);
    if (idx->rows * idx->cols >= (size_t)INT_MAX)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' has %zu elements; at most %d are supported", arg,
                           idx->rows * idx->cols, INT_MAX - 1);
    return EMBCL_OK;
}

embcl_status emb_check_same_device(struct embcl_tensor *a, struct embcl_tensor *b, const char *fn, const char *arg)
{
    if (b && a->dev != b->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument '%s' is on device '%s', the table on '%s'", arg,
                           b->dev->info.name, a->dev->info.name);
    return EMBCL_OK;
}

embcl_status emb_check_rows(struct embcl_tensor *t, size_t rows, size_t D, const char *fn, const char *arg)
{
    EMBCL_TRY(embcl_check_single(t, fn, arg));
    return emb_check_rows_parts(t, rows, D, fn, arg);
}

embcl_status emb_check_rows_parts(struct embcl_tensor *t, size_t rows, size_t D, const char *fn, const char *arg)
{
    EMBCL_TRY(embcl_check_dtype_parts(t, EMBCL_F32, fn, arg));
    if (t->cols != D || t->rows != rows) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' has shape %s; expected %zu rows of %zu (last dimension %zu)",
                           arg, embcl_shape_str(t, s, sizeof s), rows, D, D);
    }
    return EMBCL_OK;
}

static embcl_status resolve_offsets(const embcl_bags *b, const emb_opts *o, const char *fn, emb_bags *eb)
{
    struct embcl_tensor *idx = b->indices, *offs = b->offsets;
    if (idx->ndim == 2) {
        if (offs)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "argument 'offsets' is given but 'indices' is 2-D; if input is 2D, then offsets "
                               "has to be NULL, as input is treated as a mini-batch of fixed length sequences");
        if (o->o.include_last_offset)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "option 'include_last_offset' needs 1-D indices with offsets; 'indices' is 2-D");
        eb->B = (cl_ulong)idx->shape[0];
        eb->fixed_l = (cl_ulong)idx->shape[1];
        return EMBCL_OK;
    }
    if (idx->ndim != 1)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'indices' has to be a 1D or 2D tensor, but has %d dimensions",
                           idx->ndim);
    if (!offs)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'offsets' has to be a 1D tensor but is NULL "
                                                      "(1-D indices need offsets)");
    EMBCL_TRY(emb_check_indices(offs, fn, "offsets"));
    if (offs->ndim != 1)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'offsets' has to be a 1D tensor, but has %d dimensions",
                           offs->ndim);
    eb->offs = offs;
    eb->n_offs = (cl_ulong)offs->shape[0];
    eb->last_is_n = o->o.include_last_offset;
    if (o->o.include_last_offset && eb->n_offs < 1)
        return embcl_error(EMBCL_ERR_SHAPE, fn,
                           "argument 'offsets' is empty; with include_last_offset it needs at least 1 entry");
    eb->B = eb->n_offs - (o->o.include_last_offset ? 1 : 0);
    if (eb->B == 0 && idx->rows * idx->cols > 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn,
                           "argument 'offsets' describes no bags but 'indices' has %zu elements, which would "
                           "belong to none (PyTorch returns uninitialised gradients here)", idx->rows * idx->cols);
    return EMBCL_OK;
}

embcl_status emb_bags_resolve(const embcl_bags *b, const emb_opts *o, int plain, const char *fn, emb_bags *eb)
{
    EMBCL_CHECK_ARG(b != NULL, fn, "argument 'bags' is NULL");
    memset(eb, 0, sizeof *eb);
    EMBCL_TRY(emb_check_indices(b->indices, fn, "indices"));
    eb->idx = b->indices;
    eb->n = (cl_ulong)(b->indices->rows * b->indices->cols);
    if (plain) {
        eb->B = eb->n;
        eb->fixed_l = 1;
        return EMBCL_OK;
    }
    EMBCL_TRY(resolve_offsets(b, o, fn, eb));
    EMBCL_TRY(emb_check_same_device(b->indices, b->offsets, fn, "offsets"));
    struct embcl_tensor *psw = b->per_sample_weights;
    if (psw) {
        if (o->o.mode != EMBCL_BAG_SUM)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "argument 'per_sample_weights' was not NULL; per_sample_weights is only supported "
                               "for mode='sum' (got mode='%s')", embcl_bag_mode_name(o->o.mode));
        EMBCL_TRY(embcl_check_dtype(psw, EMBCL_F32, fn, "per_sample_weights"));
        if (!embcl_same_shape(psw, b->indices) || !embcl_tensor_is_contiguous(psw)) {
            char s1[96], s2[96];
            return embcl_error(EMBCL_ERR_SHAPE, fn,
                               "argument 'per_sample_weights' has shape %s; it must have the shape of 'indices' %s "
                               "(and be contiguous)", embcl_shape_str(psw, s1, sizeof s1),
                               embcl_shape_str(b->indices, s2, sizeof s2));
        }
        EMBCL_TRY(emb_check_same_device(b->indices, psw, fn, "per_sample_weights"));
        eb->psw = psw;
    }
    return EMBCL_OK;
}

static embcl_status read_value(struct embcl_tensor *t, cl_ulong i, long long *v, const char *fn)
{
    size_t es = embcl_dtype_size(t->dtype);
    int64_t x64 = 0;
    int32_t x32 = 0;
    void *dst = t->dtype == EMBCL_I64 ? (void *)&x64 : (void *)&x32;
    EMBCL_TRY(embcl_cl_check(clEnqueueReadBuffer(t->dev->queue, t->buf->mem, CL_TRUE, (t->offset + i) * es, es, dst,
                                                 0, NULL, NULL),
                             fn, "clEnqueueReadBuffer"));
    *v = t->dtype == EMBCL_I64 ? (long long)x64 : (long long)x32;
    return EMBCL_OK;
}

/* "position 7 ([1, 3])" for a multi-dimensional tensor. */
static const char *position_str(const struct embcl_tensor *t, cl_ulong p, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "position %llu", (unsigned long long)p);
    if (t->ndim > 1 && n > 0 && (size_t)n < cap) {
        int64_t coord[EMBCL_MAX_DIMS];
        for (int d = t->ndim - 1; d >= 0; d--) {
            coord[d] = t->shape[d] ? (int64_t)(p % (cl_ulong)t->shape[d]) : 0;
            p = t->shape[d] ? p / (cl_ulong)t->shape[d] : 0;
        }
        size_t m = (size_t)n;
        m += (size_t)snprintf(buf + m, cap - m, " ([");
        for (int d = 0; d < t->ndim && m < cap; d++)
            m += (size_t)snprintf(buf + m, cap - m, "%s%lld", d ? ", " : "", (long long)coord[d]);
        if (m < cap)
            snprintf(buf + m, cap - m, "])");
    }
    return buf;
}

static embcl_status offsets_error(const emb_bags *eb, cl_ulong i, const char *fn)
{
    long long v, prev = 0;
    EMBCL_TRY(read_value(eb->offs, i, &v, fn));
    if (i == 0 && v != 0)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                           "argument 'offsets': offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           "has to start from position 0; got %lld", v);
    if (i > 0)
        EMBCL_TRY(read_value(eb->offs, i - 1, &prev, fn));
    if (v > (long long)eb->n)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                           "argument 'offsets': offsets[%llu] is %lld, past the end of 'indices' (length %llu)",
                           (unsigned long long)i, v, (unsigned long long)eb->n);
    if (i > 0 && v < prev)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                           "argument 'offsets': offsets[%llu] is %lld, less than offsets[%llu] = %lld (offsets must "
                           "not decrease)", (unsigned long long)i, v, (unsigned long long)(i - 1), prev);
    return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                       "argument 'offsets': with include_last_offset the last offset (offsets[%llu]) must be the "
                       "length of 'indices', %llu, but is %lld", (unsigned long long)i, (unsigned long long)eb->n, v);
}

static const char *type_def(embcl_dtype t)
{
    return t == EMBCL_I32 ? "int" : "long";
}

/* Whether what the host learnt when it uploaded the indices and offsets
 * (embcl_tensor_facts) proves them valid: then the call needs no device
 * check and no wait. Anything else (data written on the device, a verdict
 * of "bad") goes to the device check, which finds the first bad position. */
static int facts_prove_valid(const emb_bags *eb, int64_t V)
{
    if (eb->n > 0 && V >= 0) {
        const embcl_index_facts *f = embcl_tensor_facts(eb->idx, 0);
        if (!f || f->min < 0 || f->max >= (long long)V)
            return 0;
    }
    if (eb->offs && eb->n_offs > 0) {
        const embcl_index_facts *f = embcl_tensor_facts(eb->offs, 1);
        if (!f || f->first != 0 || !f->nondecreasing || f->max > (long long)eb->n)
            return 0;
        if (eb->last_is_n && f->last != (long long)eb->n)
            return 0;
    }
    return 1;
}

embcl_status emb_validate(struct embcl_device *dev, const emb_bags *eb, int64_t V, const char *fn)
{
    if (eb->validated || (eb->n == 0 && !eb->offs) || facts_prove_valid(eb, V))
        return EMBCL_OK;
    int64_t two = 2;
    struct embcl_tensor *bad;
    EMBCL_TRY(embcl_tensor_new(dev, EMBCL_I32, 1, &two, fn, &bad));
    cl_int init = INT_MAX;
    embcl_status s = embcl_cl_check(clEnqueueFillBuffer(dev->queue, bad->buf->mem, &init, sizeof init, 0,
                                                        2 * sizeof init, 0, NULL, NULL),
                                    fn, "clEnqueueFillBuffer");
    char defs[64];
    cl_kernel k;
    if (s == EMBCL_OK && eb->n > 0 && V >= 0) {
        snprintf(defs, sizeof defs, "-DIDX_T=%s", type_def(eb->idx->dtype));
        s = embcl_kernel_get(dev, "embedding", defs, "check_indices", &k);
        cl_ulong off = eb->idx->offset, n = eb->n;
        cl_long v = V;
        embcl_karg a[] = {EMBCL_KARG(eb->idx->buf->mem), EMBCL_KARG(off), EMBCL_KARG(n), EMBCL_KARG(v),
                          EMBCL_KARG(bad->buf->mem)};
        if (s == EMBCL_OK)
            s = embcl_kernel_set_args(k, "check_indices", 5, a);
        if (s == EMBCL_OK)
            s = emb_launch_flat(dev, k, "check_indices", eb->n);
    }
    if (s == EMBCL_OK && eb->offs && eb->n_offs > 0) {
        emb_tune t;
        s = emb_bag_kernel(dev, "bag_fwd", eb, "check_offsets", &k, &t);
        cl_ulong off = eb->offs->offset, no = eb->n_offs, n = eb->n;
        cl_int last = eb->last_is_n;
        embcl_karg a[] = {EMBCL_KARG(eb->offs->buf->mem), EMBCL_KARG(off), EMBCL_KARG(no), EMBCL_KARG(n),
                          EMBCL_KARG(last), EMBCL_KARG(bad->buf->mem)};
        if (s == EMBCL_OK)
            s = embcl_kernel_set_args(k, "check_offsets", 6, a);
        if (s == EMBCL_OK)
            s = emb_launch_flat(dev, k, "check_offsets", eb->n_offs);
    }
    cl_int got[2] = {INT_MAX, INT_MAX};
    if (s == EMBCL_OK)
        s = embcl_cl_check(clEnqueueReadBuffer(dev->queue, bad->buf->mem, CL_TRUE, bad->offset * sizeof(cl_int),
                                               sizeof got, got, 0, NULL, NULL),
                           fn, "clEnqueueReadBuffer");
    embcl_tensor_free(bad);
    EMBCL_TRY(s);
    if (got[0] != INT_MAX) {
        long long v;
        char pos[128];
        EMBCL_TRY(read_value(eb->idx, (cl_ulong)got[0], &v, fn));
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                           "argument 'indices' has value %lld at %s; indices must be in [0, num_embeddings = %lld)",
                           v, position_str(eb->idx, eb->base + (cl_ulong)got[0], pos, sizeof pos), (long long)V);
    }
    if (got[1] != INT_MAX)
        return offsets_error(eb, (cl_ulong)got[1], fn);
    return EMBCL_OK;
}
