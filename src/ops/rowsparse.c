/* Row-sparse gradients: creation, host-side coalescing, densifying and
 * merging on the device (kernels/rowsparse.cl). A merge groups the ids of
 * both operands with embcl_segments_build, so shared rows are summed in a
 * fixed order (a's row, then b's) on every device. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/program.h"
#include "ops/rowsparse_impl.h"
#include "ops/segments.h"

embcl_status embcl_rowsparse_check(const struct embcl_rowsparse *g, struct embcl_device *dev, int64_t num_rows,
                                   int64_t dim, const char *func, const char *arg)
{
    if (!g)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument '%s' is NULL", arg);
    if (dev && g->dev != dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, func, "argument '%s' lives on device '%s', not on '%s'", arg,
                           g->dev->info.name, dev->info.name);
    if (g->num_rows != num_rows || g->dim != dim)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' is a gradient of a [%lld, %lld] table, expected [%lld, %lld]",
                           arg, (long long)g->num_rows, (long long)g->dim, (long long)num_rows, (long long)dim);
    return EMBCL_OK;
}

embcl_status embcl_rowsparse_set_nnz(struct embcl_rowsparse *g, int64_t nnz, const char *func)
{
    if (nnz < 0 || nnz > g->capacity)
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "the gradient needs %lld rows but its capacity is %lld (embcl_rowsparse_create)",
                           (long long)nnz, (long long)g->capacity);
    g->nnz = nnz;
    embcl_tensor_written(g->ids);
    embcl_tensor_written(g->values);
    return EMBCL_OK;
}

embcl_status embcl_rowsparse_create(embcl_device_t dev, int64_t num_rows, int64_t dim, int64_t capacity,
                                    embcl_rowsparse_t *out)
{
    static const char *fn = "embcl_rowsparse_create";
    EMBCL_CHECK_ARG(dev != NULL, fn, "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    if (num_rows < 0 || dim < 0 || capacity < 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' is %lld; sizes are >= 0",
                           num_rows < 0 ? "num_rows" : dim < 0 ? "dim" : "capacity",
                           (long long)(num_rows < 0 ? num_rows : dim < 0 ? dim : capacity));
    if (capacity > num_rows)
        capacity = num_rows; /* ids are unique: more rows can never be held */
    struct embcl_rowsparse *g = embcl_calloc(1, sizeof *g, fn);
    if (!g)
        return EMBCL_ERR_OUT_OF_MEMORY;
    g->dev = dev;
    g->num_rows = num_rows;
    g->dim = dim;
    g->capacity = capacity;
    int64_t vshape[2] = {capacity, dim};
    embcl_status s = embcl_tensor_new(dev, EMBCL_I64, 1, &capacity, fn, &g->ids);
    if (s == EMBCL_OK)
        s = embcl_tensor_new(dev, EMBCL_F32, 2, vshape, fn, &g->values);
    if (s != EMBCL_OK) {
        embcl_rowsparse_free(g);
        return s;
    }
    *out = g;
    return EMBCL_OK;
}

void embcl_rowsparse_free(embcl_rowsparse_t g)
{
    if (!g)
        return;
    embcl_tensor_free(g->ids);
    embcl_tensor_free(g->values);
    embcl_free(g);
}

int64_t embcl_rowsparse_nnz(embcl_rowsparse_t g) { return g->nnz; }
int64_t embcl_rowsparse_num_rows(embcl_rowsparse_t g) { return g->num_rows; }
int64_t embcl_rowsparse_dim(embcl_rowsparse_t g) { return g->dim; }
int64_t embcl_rowsparse_capacity(embcl_rowsparse_t g) { return g->capacity; }
embcl_device_t embcl_rowsparse_device(embcl_rowsparse_t g) { return g->dev; }

/* The first `rows` rows of t (1-D or 2-D), sharing its memory. */
static embcl_status prefix_view(struct embcl_tensor *t, int64_t rows, const char *func, struct embcl_tensor **out)
{
    struct embcl_tensor *v = embcl_malloc(sizeof *v, func);
    if (!v)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *v = *t;
    embcl_tensor_retain_parts(v);
    v->shape[0] = rows;
    if (v->ndim == 1)
        v->cols = v->ld = (size_t)rows;
    else
        v->rows = (size_t)rows;
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_rowsparse_ids(embcl_rowsparse_t g, embcl_tensor_t *out)
{
    static const char *fn = "embcl_rowsparse_ids";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    return prefix_view(g->ids, g->nnz, fn, out);
}

embcl_status embcl_rowsparse_values(embcl_rowsparse_t g, embcl_tensor_t *out)
{
    static const char *fn = "embcl_rowsparse_values";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    return prefix_view(g->values, g->nnz, fn, out);
}

embcl_status embcl_rowsparse_zero(embcl_rowsparse_t g)
{
    EMBCL_CHECK_ARG(g != NULL, "embcl_rowsparse_zero", "argument 'g' is NULL");
    g->nnz = 0;
    return EMBCL_OK;
}

/* ---- set: coalesce on the host, as PyTorch's coalesce() does ---- */

typedef struct id_pos {
    int64_t id, pos;
} id_pos;

static int cmp_id_pos(const void *x, const void *y)
{
    const id_pos *a = x, *b = y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Sorted unique ids and their rows, duplicates summed in input order.
 * Returns the number of distinct ids; ids_out/vals_out have room for nnz. */
static int64_t coalesce(int64_t nnz, int64_t dim, const int64_t *ids, const float *values, id_pos *order,
                        int64_t *ids_out, float *vals_out)
{
    for (int64_t i = 0; i < nnz; i++) {
        order[i].id = ids[i];
        order[i].pos = i;
    }
    qsort(order, (size_t)nnz, sizeof *order, cmp_id_pos);
    int64_t u = -1;
    for (int64_t i = 0; i < nnz; i++) {
        int first = i == 0 || order[i].id != order[i - 1].id;
        if (first)
            ids_out[++u] = order[i].id;
        if (dim == 0) /* values may be NULL */
            continue;
        const float *src = values + order[i].pos * dim;
        if (first)
            memcpy(vals_out + u * dim, src, (size_t)dim * sizeof(float));
        else
            for (int64_t c = 0; c < dim; c++)
                vals_out[u * dim + c] += src[c];
    }
    return u + 1;
}

/* The first `bytes` of a fresh (offset 0, packed) tensor; split values
 * part by part. */
static embcl_status write_prefix(struct embcl_tensor *t, const void *host, size_t bytes, const char *fn)
{
    if (bytes == 0)
        return EMBCL_OK;
    embcl_tensor_written(t);
    if (!embcl_tensor_is_split(t))
        return embcl_cl_check(clEnqueueWriteBuffer(t->dev->queue, t->buf->mem, CL_TRUE, 0, bytes, host, 0, NULL, NULL),
                              fn, "clEnqueueWriteBuffer");
    size_t row_bytes = t->cols * embcl_dtype_size(t->dtype), rows = bytes / row_bytes;
    for (size_t r0 = 0, r1; r0 < rows; r0 = r1) {
        r1 = embcl_parts_run(&t, 1, r0, rows);
        struct embcl_tensor part;
        embcl_tensor_part_view(t, r0, r1, &part);
        EMBCL_TRY(embcl_cl_check(clEnqueueWriteBuffer(t->dev->queue, part.buf->mem, CL_TRUE,
                                                      part.offset * embcl_dtype_size(t->dtype), (r1 - r0) * row_bytes,
                                                      (const char *)host + r0 * row_bytes, 0, NULL, NULL),
                                 fn, "clEnqueueWriteBuffer"));
    }
    return EMBCL_OK;
}

embcl_status embcl_rowsparse_set(embcl_rowsparse_t g, int64_t nnz, const int64_t *ids, const float *values)
{
    static const char *fn = "embcl_rowsparse_set";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    if (nnz < 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'nnz' is %lld; it must be >= 0", (long long)nnz);
    EMBCL_CHECK_ARG(nnz == 0 || ids != NULL, fn, "argument 'ids' is NULL");
    EMBCL_CHECK_ARG(nnz == 0 || g->dim == 0 || values != NULL, fn, "argument 'values' is NULL");
    for (int64_t i = 0; i < nnz; i++)
        if (ids[i] < 0 || ids[i] >= g->num_rows)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'ids' has %lld at position %lld, outside [0, %lld)",
                               (long long)ids[i], (long long)i, (long long)g->num_rows);
    if (g->dim > 0 && nnz > (int64_t)(SIZE_MAX / 16) / g->dim)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'nnz' is %lld: %lld x %lld values do not fit in memory",
                           (long long)nnz, (long long)nnz, (long long)g->dim);
    id_pos *order = embcl_malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *order, fn);
    int64_t *ids_out = order ? embcl_malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *ids_out, fn) : NULL;
    float *vals_out = ids_out ? embcl_malloc((size_t)(nnz * g->dim > 0 ? nnz * g->dim : 1) * sizeof *vals_out, fn)
                              : NULL;
    embcl_status s = vals_out ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    int64_t u = 0;
    if (s == EMBCL_OK) {
        u = coalesce(nnz, g->dim, ids, values, order, ids_out, vals_out);
        if (u > g->capacity)
            s = embcl_error(EMBCL_ERR_SHAPE, fn,
                            "argument 'ids' has %lld distinct rows but the gradient's capacity is %lld", (long long)u,
                            (long long)g->capacity);
    }
    if (s == EMBCL_OK)
        s = write_prefix(g->ids, ids_out, (size_t)u * sizeof *ids_out, fn);
    if (s == EMBCL_OK)
        s = write_prefix(g->values, vals_out, (size_t)(u * g->dim) * sizeof *vals_out, fn);
    if (s == EMBCL_OK)
        g->nnz = u;
    embcl_free(order);
    embcl_free(ids_out);
    embcl_free(vals_out);
    return s;
}

/* ---- to_dense ---- */

embcl_status embcl_rowsparse_to_dense(embcl_rowsparse_t g, embcl_tensor_t dense, int accumulate)
{
    static const char *fn = "embcl_rowsparse_to_dense";
    EMBCL_CHECK_ARG(g != NULL, fn, "argument 'g' is NULL");
    EMBCL_TRY(embcl_check_dtype_parts(dense, EMBCL_F32, fn, "dense"));
    if (dense->dev != g->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument 'dense' lives on device '%s' but 'g' on '%s'",
                           dense->dev->info.name, g->dev->info.name);
    if (dense->ndim != 2 || dense->shape[0] != g->num_rows || dense->shape[1] != g->dim) {
        char sh[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'dense' has shape %s, expected [%lld, %lld]",
                           embcl_shape_str(dense, sh, sizeof sh), (long long)g->num_rows, (long long)g->dim);
    }
    cl_kernel k;
    int split = embcl_tensor_is_split(dense) || embcl_tensor_is_split(g->values);
    EMBCL_TRY(embcl_kernel_get(g->dev, "rowsparse", split ? embcl_parts_define(1) : NULL, "rowsparse_to_dense", &k));
    if (!accumulate) {
        embcl_status s = embcl_tensor_fill(dense, 0.0);
        if (s != EMBCL_OK)
            return embcl_error_context(s, fn);
    }
    cl_uint nnz = (cl_uint)g->nnz, dim = (cl_uint)g->dim, acc = accumulate != 0;
    cl_ulong off = dense->offset, ld = dense->ld;
    embcl_karg args[2 * EMBCL_MAX_PARTS + 8] = {EMBCL_KARG(g->ids->buf->mem)};
    size_t na = 1 + embcl_karg_parts(args + 1, g->values, split);
    args[na++] = EMBCL_KARG(nnz);
    args[na++] = EMBCL_KARG(dim);
    na += embcl_karg_parts(args + na, dense, split);
    args[na++] = EMBCL_KARG(off);
    args[na++] = EMBCL_KARG(ld);
    args[na++] = EMBCL_KARG(acc);
    EMBCL_TRY(embcl_kernel_set_args(k, "rowsparse_to_dense", na, args));
    size_t gws[2] = {embcl_round_up(dim, 16), nnz};
    return embcl_kernel_launch(g->dev, k, "rowsparse_to_dense", 2, gws, NULL, NULL);
}

/* ---- add ---- */

static embcl_status copy_bytes(struct embcl_device *dev, cl_mem src, cl_mem dst, size_t dst_off, size_t bytes,
                               const char *fn)
{
    if (bytes == 0)
        return EMBCL_OK;
    return embcl_cl_check(clEnqueueCopyBuffer(dev->queue, src, dst, 0, dst_off, bytes, 0, NULL, NULL), fn,
                          "clEnqueueCopyBuffer");
}

/* The ids of a then b, grouped: which rows of a ++ b make each output row. */
static embcl_status group_ids(struct embcl_rowsparse *a, struct embcl_rowsparse *b, const char *fn,
                              embcl_segments *seg)
{
    int64_t n = a->nnz + b->nnz;
    struct embcl_tensor *cat;
    EMBCL_TRY(embcl_tensor_new(a->dev, EMBCL_I64, 1, &n, fn, &cat));
    embcl_status s = copy_bytes(a->dev, a->ids->buf->mem, cat->buf->mem, 0, (size_t)a->nnz * 8, fn);
    if (s == EMBCL_OK)
        s = copy_bytes(a->dev, b->ids->buf->mem, cat->buf->mem, (size_t)a->nnz * 8, (size_t)b->nnz * 8, fn);
    if (s == EMBCL_OK)
        s = embcl_segments_build(cat, a->num_rows, -1, fn, "a", seg);
    embcl_tensor_free(cat);
    return s;
}

static embcl_status merge(struct embcl_rowsparse *a, struct embcl_rowsparse *b, const embcl_segments *seg,
                          cl_mem out_ids, cl_mem out_values, const char *fn)
{
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(a->dev, "rowsparse", NULL, "rowsparse_merge", &k));
    cl_uint nnz = (cl_uint)seg->nnz, na = (cl_uint)a->nnz, dim = (cl_uint)a->dim;
    embcl_karg args[] = {EMBCL_KARG(seg->perm->buf->mem), EMBCL_KARG(seg->seg_start->buf->mem),
                         EMBCL_KARG(seg->uniq->buf->mem), EMBCL_KARG(nnz), EMBCL_KARG(na), EMBCL_KARG(dim),
                         EMBCL_KARG(a->values->buf->mem), EMBCL_KARG(b->values->buf->mem), EMBCL_KARG(out_ids),
                         EMBCL_KARG(out_values)};
    EMBCL_TRY(embcl_kernel_set_args(k, "rowsparse_merge", 10, args));
    /* dim may be 0: a column of work-items still writes the ids. */
    size_t gws[2] = {embcl_round_up(dim > 0 ? dim : 1, 16), nnz};
    return embcl_kernel_launch(a->dev, k, "rowsparse_merge", 2, gws, NULL, NULL);
}

embcl_status embcl_rowsparse_add(embcl_rowsparse_t dst, embcl_rowsparse_t a, embcl_rowsparse_t b)
{
    static const char *fn = "embcl_rowsparse_add";
    EMBCL_CHECK_ARG(dst != NULL, fn, "argument 'dst' is NULL");
    EMBCL_TRY(embcl_rowsparse_check(a, dst->dev, dst->num_rows, dst->dim, fn, "a"));
    EMBCL_TRY(embcl_rowsparse_check(b, dst->dev, dst->num_rows, dst->dim, fn, "b"));
    EMBCL_TRY(embcl_check_single(dst->values, fn, "dst (its values)"));
    EMBCL_TRY(embcl_check_single(a->values, fn, "a (its values)"));
    EMBCL_TRY(embcl_check_single(b->values, fn, "b (its values)"));
    if (a->nnz + b->nnz == 0)
        return embcl_rowsparse_set_nnz(dst, 0, fn);
    embcl_segments seg;
    EMBCL_TRY(group_ids(a, b, fn, &seg));
    embcl_status s = EMBCL_OK;
    if (seg.nnz > dst->capacity)
        s = embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'dst' has capacity %lld but a + b has %lld rows",
                        (long long)dst->capacity, (long long)seg.nnz);
    /* Writing over an operand's rows while other rows are still being read
     * would race: an aliased sum goes through a temporary. */
    struct embcl_tensor *tmp = NULL;
    int aliased = dst == a || dst == b;
    if (s == EMBCL_OK && aliased) {
        int64_t shape[2] = {seg.nnz, dst->dim};
        s = embcl_tensor_new(dst->dev, EMBCL_F32, 2, shape, fn, &tmp);
    }
    if (s == EMBCL_OK) {
        embcl_tensor_written(dst->ids);
        embcl_tensor_written(dst->values);
    }
    if (s == EMBCL_OK)
        s = merge(a, b, &seg, dst->ids->buf->mem, aliased ? tmp->buf->mem : dst->values->buf->mem, fn);
    if (s == EMBCL_OK && aliased)
        s = copy_bytes(dst->dev, tmp->buf->mem, dst->values->buf->mem, 0, (size_t)(seg.nnz * dst->dim) * 4, fn);
    if (s == EMBCL_OK)
        dst->nnz = seg.nnz;
    embcl_tensor_free(tmp);
    embcl_segments_free(&seg);
    return s;
}
