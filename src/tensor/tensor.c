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

embcl_status embcl_check_tensor(const struct embcl_tensor *t, const char *func, const char *arg)
{
    if (!t)
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "argument '%s' is NULL", arg);
    return EMBCL_OK;
}

embcl_status embcl_check_dtype(const struct embcl_tensor *t, embcl_dtype want, const char *func,
                               const char *arg)
{
    EMBCL_TRY(embcl_check_tensor(t, func, arg));
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
    embcl_status s = embcl_pool_acquire(dev, numel * embcl_dtype_size(dtype), &t->buf, func);
    if (s != EMBCL_OK) {
        free(t);
        return s;
    }
    t->dev = dev;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    set_layout(t);
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
    embcl_buffer_release(t->buf);
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
    return a && b && a->buf == b->buf;
}

cl_mem embcl_tensor_cl_mem(embcl_tensor_t t, size_t *offset_elems)
{
    if (!t)
        return NULL;
    if (offset_elems)
        *offset_elems = t->offset;
    return t->buf->mem;
}

static embcl_status view_of(embcl_tensor_t t, const char *func, struct embcl_tensor **out)
{
    EMBCL_TRY(embcl_check_tensor(t, func, "t"));
    EMBCL_CHECK_ARG(out != NULL, func, "argument 'out' is NULL");
    struct embcl_tensor *v = embcl_malloc(sizeof *v, func);
    if (!v)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *v = *t;
    embcl_buffer_retain(t->buf);
    *out = v;
    return EMBCL_OK;
}

embcl_status embcl_tensor_view_rows(embcl_tensor_t t, int64_t r0, int64_t r1, embcl_tensor_t *out)
{
    static const char *fn = "embcl_tensor_view_rows";
    EMBCL_TRY(embcl_check_tensor(t, fn, "t"));
    if (t->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 't' has %d dimensions; views need a 2-D table", t->ndim);
    if (r0 < 0 || r1 < r0 || r1 > t->shape[0])
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "rows [%lld, %lld) are outside the table's %lld rows",
                           (long long)r0, (long long)r1, (long long)t->shape[0]);
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
    EMBCL_TRY(embcl_check_tensor(t, fn, "t"));
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
    EMBCL_TRY(embcl_check_tensor(t, fn, "t"));
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
    struct embcl_tensor *v;
    EMBCL_TRY(view_of(t, fn, &v));
    v->ndim = ndim;
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    set_layout(v);
    *out = v;
    return EMBCL_OK;
}
