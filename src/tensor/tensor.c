/* Tensor handles, shapes and views. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tensor/tensor_impl.h"
#include "embcl-opencl.h"

const char *embcl_shape_str(const struct embcl_tensor *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

int embcl_same_shape(const struct embcl_tensor *a, const struct embcl_tensor *b)
{
    int same = a->ndim == b->ndim;
    for (int d = 0; same && d < a->ndim; d++)
        same = a->shape[d] == b->shape[d];
    return same;
}

embcl_status embcl_check_dst_shape(const struct embcl_tensor *dst, const struct embcl_tensor *src, const char *func)
{
    if (embcl_same_shape(dst, src))
        return EMBCL_OK;
    char a[96], b[96];
    return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'dst' has shape %s but 'src' has %s",
                       embcl_shape_str(dst, a, sizeof a), embcl_shape_str(src, b, sizeof b));
}

embcl_status embcl_check_tensor_parts(const struct embcl_tensor *t, const char *func, const char *arg)
{
    if (!t)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument '%s' is NULL", arg);
    return EMBCL_OK;
}

embcl_status embcl_check_single(const struct embcl_tensor *t, const char *func, const char *arg)
{
    if (!embcl_tensor_is_split(t))
        return EMBCL_OK;
    char s[96];
    return embcl_error(EMBCL_ERR_UNSUPPORTED, func,
                       "argument '%s' (%s %s) is split over %d buffers of %llu rows (it exceeds the %zu bytes "
                       "device '%s' allows in one allocation); this operation takes single-buffer tensors only",
                       arg, embcl_shape_str(t, s, sizeof s), embcl_dtype_name(t->dtype), t->n_parts,
                       (unsigned long long)t->part_rows, embcl_device_max_alloc(t->dev), t->dev->info.name);
}

embcl_status embcl_check_tensor(const struct embcl_tensor *t, const char *func, const char *arg)
{
    EMBCL_TRY(embcl_check_tensor_parts(t, func, arg));
    return embcl_check_single(t, func, arg);
}

embcl_status embcl_check_dtype(const struct embcl_tensor *t, embcl_dtype want, const char *func,
                               const char *arg)
{
    EMBCL_TRY(embcl_check_dtype_parts(t, want, func, arg));
    return embcl_check_single(t, func, arg);
}

embcl_status embcl_check_dtype_parts(const struct embcl_tensor *t, embcl_dtype want, const char *func,
                                     const char *arg)
{
    EMBCL_TRY(embcl_check_tensor_parts(t, func, arg));
    if (t->dtype != want)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument '%s' has dtype %s, expected %s", arg,
                           embcl_dtype_name(t->dtype), embcl_dtype_name(want));
    return EMBCL_OK;
}

static void set_layout(struct embcl_tensor *t)
{
    t->cols = t->ndim > 0 ? (size_t)t->shape[t->ndim - 1] : 1;
    t->rows = 1;
    for (int d = 0; d + 1 < t->ndim; d++)
        t->rows *= (size_t)t->shape[d];
    t->ld = t->cols;
}

static embcl_status check_shape(int ndim, const int64_t *shape, const char *func, size_t *numel)
{
    if (ndim < 1 || ndim > EMBCL_MAX_DIMS)
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'ndim' is %d; tensors have 1 to %d dimensions",
                           ndim, EMBCL_MAX_DIMS);
    EMBCL_CHECK_ARG(shape != NULL, func, "argument 'shape' is NULL");
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'shape' has size %lld in dimension %d",
                               (long long)shape[d], d);
        if (shape[d] > 0 && n > ((size_t)1 << 48) / (size_t)shape[d])
            return embcl_error(EMBCL_ERR_SHAPE, func, "argument 'shape' is too large (dimension %d is %lld)",
                               d, (long long)shape[d]);
        n *= (size_t)shape[d];
    }
    *numel = n;
    return EMBCL_OK;
}

embcl_status embcl_tensor_new(struct embcl_device *dev, embcl_dtype dtype, int ndim, const int64_t *shape,
                              const char *func, struct embcl_tensor **out)
{
    EMBCL_CHECK_ARG(dev != NULL, func, "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(out != NULL, func, "argument 'out' is NULL");
    if (embcl_dtype_size(dtype) == 0)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument 'dtype' is %d, not a valid embcl_dtype", (int)dtype);
    size_t numel;
    EMBCL_TRY(check_shape(ndim, shape, func, &numel));
    struct embcl_tensor *t = embcl_calloc(1, sizeof *t, func);
    if (!t)
        return EMBCL_ERR_OUT_OF_MEMORY;
    t->dev = dev;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    set_layout(t);
    /* A 1-D tensor is one row: it can only be split if it has rows. */
    size_t row_bytes = t->cols * embcl_dtype_size(dtype);
    embcl_status s = t->rows > 1 ? embcl_tensor_alloc_parts(t, t->rows, row_bytes, func)
                                 : embcl_tensor_alloc_parts(t, 1, numel * embcl_dtype_size(dtype), func);
    if (s != EMBCL_OK) {
        free(t);
        return s;
    }
    *out = t;
    return EMBCL_OK;
}

embcl_status embcl_tensor_create(embcl_device_t dev, embcl_dtype dtype, int ndim, const int64_t *shape,
                                 embcl_tensor_t *out)
{
    return embcl_tensor_new(dev, dtype, ndim, shape, "embcl_tensor_create", out);
}

void embcl_tensor_free(embcl_tensor_t t)
{
    if (!t)
        return;
    embcl_tensor_release_parts(t);
    free(t);
}

embcl_dtype embcl_tensor_dtype(embcl_tensor_t t) { return t->dtype; }
int embcl_tensor_ndim(embcl_tensor_t t) { return t->ndim; }
embcl_device_t embcl_tensor_device(embcl_tensor_t t) { return t->dev; }
int64_t embcl_tensor_row_stride(embcl_tensor_t t) { return (int64_t)t->ld; }
int embcl_tensor_is_contiguous(embcl_tensor_t t) { return t->ld == t->cols || t->rows <= 1; }

int64_t embcl_tensor_dim(embcl_tensor_t t, int d)
{
    return (d >= 0 && d < t->ndim) ? t->shape[d] : -1;
}

int64_t embcl_tensor_numel(embcl_tensor_t t)
{
    return (int64_t)(t->rows * t->cols);
}

int embcl_tensor_shares_buffer(embcl_tensor_t a, embcl_tensor_t b)
{
    if (!a || !b)
        return 0;
    int na = embcl_tensor_is_split(a) ? a->n_parts : 1, nb = embcl_tensor_is_split(b) ? b->n_parts : 1;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if ((i ? a->part[i] : a->buf) == (j ? b->part[j] : b->buf))
                return 1;
    return 0;
}

cl_mem embcl_tensor_cl_mem(embcl_tensor_t t, size_t *offset_elems)
{
    if (!t || embcl_tensor_is_split(t))
        return NULL;
    if (offset_elems)
        *offset_elems = t->offset;
    return t->buf->mem;
}

static embcl_status view_of(embcl_tensor_t t, const char *func, struct embcl_tensor **out)
{
    EMBCL_TRY(embcl_check_tensor_parts(t, func, "t"));
    EMBCL_CHECK_ARG(out != NULL, func, "argument 'out' is NULL");
    struct embcl_tensor *v = embcl_malloc(sizeof *v, func);
    if (!v)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *v = *t;
    embcl_tensor_retain_parts(v);
    *out = v;
    return EMBCL_OK;
}

/* Rows of a split table: within one part, an ordinary view of that part;
 * from a part's first row, the parts it covers (every part then has the
 * table's part_rows but the last). A range starting inside a part and
 * running past it would need a part of another height, which kernels do
 * not take. */
static embcl_status split_rows(embcl_tensor_t t, size_t r0, size_t r1, const char *fn, struct embcl_tensor **out)
{
    size_t pr = (size_t)t->part_rows, first = r0 / pr, last = r1 > r0 ? (r1 - 1) / pr : first;
    if (first >= (size_t)t->n_parts) /* an empty range at the end */
        first = last = (size_t)t->n_parts - 1;
    if (first != last && r0 % pr != 0)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                           "rows [%zu, %zu) start inside part %zu of a table split into parts of %zu rows and "
                           "run past its end; a view spanning parts must start at a multiple of %zu",
                           r0, r1, first, pr, pr);
    struct embcl_tensor *v = embcl_malloc(sizeof *v, fn);
    if (!v)
        return EMBCL_ERR_OUT_OF_MEMORY;
    if (first == last) {
        embcl_tensor_part_view(t, r0, r1, v);
    } else {
        *v = *t;
        v->n_parts = (int)(last - first + 1);
        for (int i = 0; i < v->n_parts; i++)
            v->part[i] = t->part[first + (size_t)i];
        v->buf = v->part[0];
        v->shape[0] = (int64_t)(r1 - r0);
        v->rows = r1 - r0;
    }
    embcl_tensor_retain_parts(v);
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_tensor_view_rows(embcl_tensor_t t, int64_t r0, int64_t r1, embcl_tensor_t *out)
{
    static const char *fn = "embcl_tensor_view_rows";
    EMBCL_TRY(embcl_check_tensor_parts(t, fn, "t"));
    if (t->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 't' has %d dimensions; views need a 2-D table", t->ndim);
    if (r0 < 0 || r1 < r0 || r1 > t->shape[0])
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "rows [%lld, %lld) are outside the table's %lld rows",
                           (long long)r0, (long long)r1, (long long)t->shape[0]);
    if (embcl_tensor_is_split(t))
        return split_rows(t, (size_t)r0, (size_t)r1, fn, out);
    struct embcl_tensor *v;
    EMBCL_TRY(view_of(t, fn, &v));
    v->offset += (size_t)r0 * t->ld;
    v->shape[0] = r1 - r0;
    v->rows = (size_t)(r1 - r0);
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_tensor_view_cols(embcl_tensor_t t, int64_t c0, int64_t c1, embcl_tensor_t *out)
{
    static const char *fn = "embcl_tensor_view_cols";
    EMBCL_TRY(embcl_check_tensor_parts(t, fn, "t"));
    if (t->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 't' has %d dimensions; views need a 2-D table", t->ndim);
    if (c0 < 0 || c1 < c0 || c1 > t->shape[1])
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                           "columns [%lld, %lld) are outside the table's %lld columns", (long long)c0,
                           (long long)c1, (long long)t->shape[1]);
    struct embcl_tensor *v;
    EMBCL_TRY(view_of(t, fn, &v));
    v->offset += (size_t)c0;
    v->shape[1] = c1 - c0;
    v->cols = (size_t)(c1 - c0);
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_tensor_reshape(embcl_tensor_t t, int ndim, const int64_t *shape, embcl_tensor_t *out)
{
    static const char *fn = "embcl_tensor_reshape";
    EMBCL_TRY(embcl_check_tensor_parts(t, fn, "t"));
    size_t numel;
    EMBCL_TRY(check_shape(ndim, shape, fn, &numel));
    if (!embcl_tensor_is_contiguous(t))
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 't' is a column view (row stride %zu, width %zu); "
                           "only contiguous tensors can be reshaped", t->ld, t->cols);
    if (numel != t->rows * t->cols) {
        char a[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "cannot reshape %s (%zu elements) to %zu elements",
                           embcl_shape_str(t, a, sizeof a), t->rows * t->cols, numel);
    }
    if (embcl_tensor_is_split(t) && shape[ndim - 1] != (int64_t)t->cols) {
        char a[96];
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                           "argument 't' (%s) is split by rows over %d buffers; a reshape must keep its last "
                           "dimension (%zu), not make it %lld",
                           embcl_shape_str(t, a, sizeof a), t->n_parts, t->cols, (long long)shape[ndim - 1]);
    }
    struct embcl_tensor *v;
    EMBCL_TRY(view_of(t, fn, &v));
    v->ndim = ndim;
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    set_layout(v);
    *out = v;
    return EMBCL_OK;
}
