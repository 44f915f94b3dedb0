/* Tables split by rows over several buffers, for tensors larger than one
 * allocation may be (CL_DEVICE_MAX_MEM_ALLOC_SIZE, or the runtime option
 * max_alloc_bytes). Row-local work walks the parts as ordinary tensors
 * (embcl_parts_run, embcl_tensor_part_view); kernels that reach arbitrary
 * rows take every part's buffer (embcl_karg_parts, SPLIT_PARAM in
 * kernels/common.h). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "tensor/tensor_impl.h"

_Static_assert(EMBCL_MAX_PARTS == 8, "kernels/common.h's SPLIT_PARAM and embcl_parts_define spell out 8 parts");

size_t embcl_device_max_alloc(const struct embcl_device *dev)
{
    size_t own = (size_t)dev->info.max_alloc_bytes;
    return dev->max_alloc && dev->max_alloc < own ? dev->max_alloc : own;
}

embcl_status embcl_tensor_alloc_parts(struct embcl_tensor *t, size_t rows, size_t row_bytes, const char *func)
{
    struct embcl_device *dev = t->dev;
    size_t limit = embcl_device_max_alloc(dev), bytes = rows * row_bytes;
    t->n_parts = 1;
    if (bytes <= limit)
        return embcl_pool_acquire(dev, bytes, &t->buf, func);
    if (row_bytes > limit)
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, func,
                           "a tensor of %zu bytes is more than device '%s' allows in one allocation (%zu bytes: "
                           "CL_DEVICE_MAX_MEM_ALLOC_SIZE or the runtime option max_alloc_bytes), and one of its rows "
                           "(%zu bytes) alone does not fit, so it cannot be split by rows",
                           bytes, dev->info.name, limit, row_bytes);
    size_t per = limit / row_bytes, n = (rows + per - 1) / per;
    if (n > EMBCL_MAX_PARTS)
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, func,
                           "a tensor of %zu bytes needs %zu buffers of at most %zu bytes on device '%s' "
                           "(CL_DEVICE_MAX_MEM_ALLOC_SIZE or the runtime option max_alloc_bytes); at most %d are "
                           "supported",
                           bytes, n, limit, dev->info.name, EMBCL_MAX_PARTS);
    for (size_t i = 0; i < n; i++) {
        size_t r = i + 1 < n ? per : rows - per * (n - 1);
        embcl_status s = embcl_pool_acquire(dev, r * row_bytes, &t->part[i], func);
        if (s != EMBCL_OK) {
            while (i > 0)
                embcl_buffer_release(t->part[--i]);
            return s;
        }
    }
    t->n_parts = (int)n;
    t->part_rows = (cl_ulong)per;
    t->buf = t->part[0];
    return EMBCL_OK;
}

int embcl_tensor_fits(const struct embcl_device *dev, size_t rows, size_t row_bytes)
{
    size_t limit = embcl_device_max_alloc(dev);
    if (rows * row_bytes <= limit)
        return 1;
    if (rows <= 1 || row_bytes > limit)
        return 0;
    size_t per = limit / row_bytes;
    return (rows + per - 1) / per <= EMBCL_MAX_PARTS;
}

void embcl_tensor_retain_parts(struct embcl_tensor *t)
{
    if (!embcl_tensor_is_split(t)) {
        embcl_buffer_retain(t->buf);
        return;
    }
    for (int i = 0; i < t->n_parts; i++)
        embcl_buffer_retain(t->part[i]);
}

void embcl_tensor_release_parts(struct embcl_tensor *t)
{
    if (!embcl_tensor_is_split(t)) {
        embcl_buffer_release(t->buf);
        return;
    }
    for (int i = 0; i < t->n_parts; i++)
        embcl_buffer_release(t->part[i]);
}

void embcl_tensor_part_view(const struct embcl_tensor *t, size_t r0, size_t r1, struct embcl_tensor *out)
{
    *out = *t;
    out->n_parts = 1;
    size_t local = r0;
    if (embcl_tensor_is_split(t)) {
        size_t i = r0 / (size_t)t->part_rows;
        if (i >= (size_t)t->n_parts) /* an empty range at the end */
            i = (size_t)t->n_parts - 1;
        out->buf = t->part[i];
        local = r0 - i * (size_t)t->part_rows;
    }
    out->offset = t->offset + local * t->ld;
    out->ndim = 2;
    out->shape[0] = (int64_t)(r1 - r0);
    out->shape[1] = (int64_t)t->cols;
    out->rows = r1 - r0;
}

size_t embcl_parts_run(struct embcl_tensor *const *ts, size_t n, size_t r0, size_t rows)
{
    size_t end = rows;
    for (size_t i = 0; i < n; i++) {
        if (!embcl_tensor_is_split(ts[i]))
            continue;
        size_t pr = (size_t)ts[i]->part_rows, e = (r0 / pr + 1) * pr;
        end = e < end ? e : end;
    }
    return end;
}

size_t embcl_karg_parts(embcl_karg *a, const struct embcl_tensor *t, int split)
{
    /* Any value >= every row index: the kernel's part is then always 0. */
    static const cl_ulong whole = CL_ULONG_MAX;
    if (!split) {
        a[0] = EMBCL_KARG(t->buf->mem);
        return 1;
    }
    int n = embcl_tensor_is_split(t) ? t->n_parts : 1;
    for (int i = 0; i < EMBCL_MAX_PARTS; i++) {
        const embcl_buffer *b = n == 1 ? t->buf : t->part[i < n ? i : n - 1];
        a[i] = EMBCL_KARG(b->mem);
    }
    a[EMBCL_MAX_PARTS] = n == 1 ? EMBCL_KARG(whole) : EMBCL_KARG(t->part_rows);
    return EMBCL_MAX_PARTS + 1;
}

const char *embcl_parts_define(int split)
{
    return split ? " -DPARTS=8" : "";
}
