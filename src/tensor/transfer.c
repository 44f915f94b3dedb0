/* Moving tensor data: host <-> device, fill, device <-> device. Strided
 * (column-view) tensors move as OpenCL rectangles. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/program.h"
#include "tensor/bf16_host.h"
#include "tensor/tensor_impl.h"

static embcl_status check_bytes(const struct embcl_tensor *t, const void *host, size_t bytes, const char *fn)
{
    EMBCL_TRY(embcl_check_tensor_parts(t, fn, "t"));
    size_t want = t->rows * t->cols * embcl_dtype_size(t->dtype);
    EMBCL_CHECK_ARG(host != NULL || want == 0, fn, "argument 'host' is NULL");
    if (bytes != want) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'bytes' is %zu but a %s %s tensor holds %zu bytes", bytes,
                           embcl_shape_str(t, s, sizeof s), embcl_dtype_name(t->dtype), want);
    }
    return EMBCL_OK;
}

/* Buffer-side rectangle of a tensor: origin, region and pitch in bytes. */
static void rect_of(const struct embcl_tensor *t, size_t origin[3], size_t region[3], size_t *pitch)
{
    size_t es = embcl_dtype_size(t->dtype);
    origin[0] = t->offset * es;
    origin[1] = origin[2] = 0;
    region[0] = t->cols * es;
    region[1] = t->rows;
    region[2] = 1;
    *pitch = t->ld * es;
}

void embcl_index_facts_clear(embcl_index_facts *f)
{
    free(f->seen); /* dup lives in the same block */
    f->seen = f->dup = NULL;
    f->valid = 0;
}

/* Value ranges up to this many get a bitmap of the values seen (2 MB at
 * most), enough for tables of 16M rows; beyond, the scatter reads its
 * count of distinct rows back from the device. */
#define FACTS_BITMAP_MAX_RANGE (1LL << 24)

static void learn_distinct(embcl_index_facts *f, const int32_t *p32, const int64_t *p64, size_t n)
{
    long long range = f->max - f->min + 1;
    if (f->max - f->min >= FACTS_BITMAP_MAX_RANGE || range <= 0)
        return;
    size_t bytes = (size_t)(range + 7) / 8;
    unsigned char *seen = calloc(2 * bytes, 1);
    if (!seen) /* the facts stay useful without it */
        return;
    unsigned char *dup = seen + bytes;
    long long distinct = 0, dup_values = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned long long b = (unsigned long long)((p64 ? (long long)p64[i] : (long long)p32[i]) - f->min);
        unsigned char m = (unsigned char)(1u << (b & 7));
        if (seen[b >> 3] & m) {
            dup_values += !(dup[b >> 3] & m);
            dup[b >> 3] |= m;
        } else {
            distinct++;
            seen[b >> 3] |= m;
        }
    }
    f->seen = seen;
    f->distinct = distinct;
    f->dup = dup;
    f->dup_values = dup_values;
}

/* min / max / first / last / order / distinct values of the integers
 * being uploaded: passes over data the host already has, so that index and
 * offset checks of later ops cost no device work and no wait
 * (src/ops/embedding_check.c), nor does counting the rows a batch touches
 * (src/ops/segments.c). */
static void learn_facts(struct embcl_tensor *t, const void *host, size_t n)
{
    const int64_t *p64 = host;
    const int32_t *p32 = host;
    int wide = t->dtype == EMBCL_I64;
    long long prev = wide ? (long long)p64[0] : (long long)p32[0];
    embcl_index_facts f = {.valid = 1, .dtype = (int)t->dtype, .offset = t->offset, .n = n};
    f.min = f.max = f.first = prev;
    int down = 0;
    for (size_t i = 1; i < n; i++) {
        long long v = wide ? (long long)p64[i] : (long long)p32[i];
        down |= v < prev;
        f.min = v < f.min ? v : f.min;
        f.max = v > f.max ? v : f.max;
        prev = v;
    }
    f.last = prev;
    f.nondecreasing = !down;
    learn_distinct(&f, wide ? NULL : p32, wide ? p64 : NULL, n);
    embcl_index_facts_clear(&t->buf->facts);
    t->buf->facts = f;
}

const embcl_index_facts *embcl_tensor_facts(const struct embcl_tensor *t, int exact)
{
    const embcl_index_facts *f = &t->buf->facts;
    size_t n = t->rows * t->cols;
    if (embcl_tensor_is_split(t) || !f->valid || f->dtype != (int)t->dtype || (t->ld != t->cols && t->rows > 1))
        return NULL;
    if (exact ? (f->offset != t->offset || f->n != n) : (t->offset < f->offset || t->offset + n > f->offset + f->n))
        return NULL;
    return f;
}

/* One single-buffer tensor (or one part's rows) from / to the host. */
static embcl_status upload_one(struct embcl_tensor *t, const void *host, size_t bytes, int facts, const char *fn)
{
    size_t es = embcl_dtype_size(t->dtype);
    if (embcl_tensor_is_contiguous(t)) {
        EMBCL_TRY(embcl_cl_check(clEnqueueWriteBuffer(t->dev->queue, t->buf->mem, CL_TRUE, t->offset * es, bytes,
                                                      host, 0, NULL, NULL),
                                 fn, "clEnqueueWriteBuffer"));
        if (facts && (t->dtype == EMBCL_I32 || t->dtype == EMBCL_I64))
            learn_facts(t, host, bytes / es);
        return EMBCL_OK;
    }
    size_t bo[3], region[3], pitch, ho[3] = {0, 0, 0};
    rect_of(t, bo, region, &pitch);
    return embcl_cl_check(clEnqueueWriteBufferRect(t->dev->queue, t->buf->mem, CL_TRUE, bo, ho, region, pitch, 0,
                                                   region[0], 0, host, 0, NULL, NULL),
                          fn, "clEnqueueWriteBufferRect");
}

static embcl_status download_one(struct embcl_tensor *t, void *host, size_t bytes, const char *fn)
{
    size_t es = embcl_dtype_size(t->dtype);
    if (embcl_tensor_is_contiguous(t))
        return embcl_cl_check(clEnqueueReadBuffer(t->dev->queue, t->buf->mem, CL_TRUE, t->offset * es, bytes, host,
                                                  0, NULL, NULL),
                              fn, "clEnqueueReadBuffer");
    size_t bo[3], region[3], pitch, ho[3] = {0, 0, 0};
    rect_of(t, bo, region, &pitch);
    return embcl_cl_check(clEnqueueReadBufferRect(t->dev->queue, t->buf->mem, CL_TRUE, bo, ho, region, pitch, 0,
                                                  region[0], 0, host, 0, NULL, NULL),
                          fn, "clEnqueueReadBufferRect");
}

embcl_status embcl_tensor_upload(embcl_tensor_t t, const void *host, size_t bytes)
{
    static const char *fn = "embcl_tensor_upload";
    EMBCL_TRY(check_bytes(t, host, bytes, fn));
    if (bytes == 0)
        return EMBCL_OK;
    embcl_tensor_written(t);
    if (!embcl_tensor_is_split(t))
        return upload_one(t, host, bytes, 1, fn);
    size_t row_bytes = t->cols * embcl_dtype_size(t->dtype);
    for (size_t r0 = 0, r1; r0 < t->rows; r0 = r1) {
        r1 = embcl_parts_run(&t, 1, r0, t->rows);
        struct embcl_tensor part;
        embcl_tensor_part_view(t, r0, r1, &part);
        EMBCL_TRY(upload_one(&part, (const char *)host + r0 * row_bytes, (r1 - r0) * row_bytes, 0, fn));
    }
    return EMBCL_OK;
}

embcl_status embcl_tensor_download(embcl_tensor_t t, void *host, size_t bytes)
{
    static const char *fn = "embcl_tensor_download";
    EMBCL_TRY(check_bytes(t, host, bytes, fn));
    if (bytes == 0)
        return EMBCL_OK;
    if (!embcl_tensor_is_split(t))
        return download_one(t, host, bytes, fn);
    size_t row_bytes = t->cols * embcl_dtype_size(t->dtype);
    for (size_t r0 = 0, r1; r0 < t->rows; r0 = r1) {
        r1 = embcl_parts_run(&t, 1, r0, t->rows);
        struct embcl_tensor part;
        embcl_tensor_part_view(t, r0, r1, &part);
        EMBCL_TRY(download_one(&part, (char *)host + r0 * row_bytes, (r1 - r0) * row_bytes, fn));
    }
    return EMBCL_OK;
}

static embcl_status fill_one(struct embcl_tensor *t, double value, const char *fn)
{
    static const char *defs[] = {"-DT=float", "-DT=int", "-DT=long", "-DT=ushort"};
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(t->dev, "tensor", defs[t->dtype], "fill_2d", &k));
    cl_ulong off = t->offset, rows = t->rows, cols = t->cols, ld = t->ld;
    float vf = (float)value;
    cl_int vi = (cl_int)value;
    cl_long vl = (cl_long)value;
    cl_ushort vh = embcl_bf16_rne_host(vf);
    embcl_karg val = t->dtype == EMBCL_F32   ? EMBCL_KARG(vf)
                     : t->dtype == EMBCL_I32 ? EMBCL_KARG(vi)
                     : t->dtype == EMBCL_I64 ? EMBCL_KARG(vl)
                                             : EMBCL_KARG(vh);
    embcl_karg args[] = {EMBCL_KARG(t->buf->mem), EMBCL_KARG(off), EMBCL_KARG(rows), EMBCL_KARG(cols),
                         EMBCL_KARG(ld), val};
    EMBCL_TRY(embcl_kernel_set_args(k, "fill_2d", 6, args));
    size_t gws[2] = {embcl_round_up(t->cols, 16), t->rows};
    (void)fn;
    return embcl_kernel_launch(t->dev, k, "fill_2d", 2, gws, NULL, NULL);
}

embcl_status embcl_tensor_fill(embcl_tensor_t t, double value)
{
    static const char *fn = "embcl_tensor_fill";
    EMBCL_TRY(embcl_check_tensor_parts(t, fn, "t"));
    if (t->rows * t->cols == 0)
        return EMBCL_OK;
    embcl_tensor_written(t);
    for (size_t r0 = 0, r1; r0 < t->rows; r0 = r1) {
        r1 = embcl_parts_run(&t, 1, r0, t->rows);
        struct embcl_tensor part;
        embcl_tensor_part_view(t, r0, r1, &part);
        EMBCL_TRY(fill_one(embcl_tensor_is_split(t) ? &part : t, value, fn));
    }
    return EMBCL_OK;
}

embcl_status embcl_queue_after(struct embcl_device *waiter, struct embcl_device *dev, const char *func)
{
    if (waiter == dev)
        return EMBCL_OK;
    cl_event ev;
    EMBCL_TRY(embcl_cl_check(clEnqueueMarkerWithWaitList(dev->queue, 0, NULL, &ev), func,
                             "clEnqueueMarkerWithWaitList"));
    embcl_status s = embcl_cl_check(clEnqueueBarrierWithWaitList(waiter->queue, 1, &ev, NULL), func,
                                    "clEnqueueBarrierWithWaitList");
    clReleaseEvent(ev);
    return s;
}

static embcl_status copy_via_host(struct embcl_tensor *dst, struct embcl_tensor *src, const char *fn)
{
    size_t bytes = src->rows * src->cols * embcl_dtype_size(src->dtype);
    void *tmp = embcl_malloc(bytes, fn);
    if (!tmp)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_tensor_download(src, tmp, bytes);
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(dst, tmp, bytes);
    free(tmp);
    return s != EMBCL_OK ? embcl_error_context(s, fn) : s;
}

static int overlap(const struct embcl_tensor *a, const struct embcl_tensor *b)
{
    if (a->buf != b->buf)
        return 0;
    size_t es = embcl_dtype_size(a->dtype);
    size_t a0 = a->offset * es, a1 = (a->offset + (a->rows - 1) * a->ld + a->cols) * es;
    size_t b0 = b->offset * es, b1 = (b->offset + (b->rows - 1) * b->ld + b->cols) * es;
    return a0 < b1 && b0 < a1;
}

/* Rows [r0, r1) of dst := src on dst's queue; within one part of each. */
static embcl_status copy_run(struct embcl_tensor *dst, struct embcl_tensor *src, const char *fn)
{
    size_t so[3], dO[3], region[3], spitch, dpitch;
    rect_of(src, so, region, &spitch);
    rect_of(dst, dO, region, &dpitch);
    return embcl_cl_check(clEnqueueCopyBufferRect(dst->dev->queue, src->buf->mem, dst->buf->mem, so, dO, region,
                                                  spitch, 0, dpitch, 0, 0, NULL, NULL),
                          fn, "clEnqueueCopyBufferRect");
}

embcl_status embcl_tensor_copy(embcl_tensor_t dst, embcl_tensor_t src)
{
    static const char *fn = "embcl_tensor_copy";
    EMBCL_TRY(embcl_check_tensor_parts(dst, fn, "dst"));
    EMBCL_TRY(embcl_check_tensor_parts(src, fn, "src"));
    if (dst->dtype != src->dtype)
        return embcl_error(EMBCL_ERR_DTYPE, fn, "argument 'dst' has dtype %s but 'src' has %s",
                           embcl_dtype_name(dst->dtype), embcl_dtype_name(src->dtype));
    EMBCL_TRY(embcl_check_dst_shape(dst, src, fn));
    if (dst->rows * dst->cols == 0)
        return EMBCL_OK;
    if (dst->dev->ctx != src->dev->ctx)
        return copy_via_host(dst, src, fn);
    /* Split tensors copy run by run: the rows of each run lie in one part
     * of both, so each is one rectangle, as an unsplit copy is. */
    int split = embcl_tensor_is_split(dst) || embcl_tensor_is_split(src);
    struct embcl_tensor *both[2] = {dst, src};
    for (size_t r0 = 0, r1; r0 < dst->rows; r0 = r1) {
        r1 = embcl_parts_run(both, 2, r0, dst->rows);
        struct embcl_tensor d, s;
        embcl_tensor_part_view(dst, r0, r1, &d);
        embcl_tensor_part_view(src, r0, r1, &s);
        if (overlap(split ? &d : dst, split ? &s : src))
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "arguments 'dst' and 'src' overlap in memory");
    }
    /* The copy runs on dst's queue after src's pending work; src's queue then
     * waits for the copy, so neither side can overtake it. */
    EMBCL_TRY(embcl_queue_after(dst->dev, src->dev, fn));
    embcl_tensor_written(dst);
    if (!split)
        EMBCL_TRY(copy_run(dst, src, fn));
    for (size_t r0 = 0, r1; split && r0 < dst->rows; r0 = r1) {
        r1 = embcl_parts_run(both, 2, r0, dst->rows);
        struct embcl_tensor d, s;
        embcl_tensor_part_view(dst, r0, r1, &d);
        embcl_tensor_part_view(src, r0, r1, &s);
        EMBCL_TRY(copy_run(&d, &s, fn));
    }
    return embcl_queue_after(src->dev, dst->dev, fn);
}
