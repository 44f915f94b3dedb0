/* embcl_segments_build: a stable radix sort of (index, position) pairs and
 * the segment boundaries, on the device (kernels/sort.cl explains the work
 * layout). The only host synchronisation is one read of {first bad
 * position, nnz} at the end; a bad index is reported from it, and nothing
 * the caller owns has been written by then. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "device/program.h"
#include "device/tuning.h"
#include "ops/segments.h"

/* How one call lays out its work: see the header of kernels/sort.cl. */
typedef struct sort_plan {
    unsigned rb;        /* the most bits a pass may take (local memory size) */
    unsigned bits;      /* bits per pass: the key's bits spread evenly */
    unsigned wgs, groups, chunk, passes;
    char defs[96];
} sort_plan;

static unsigned bit_length(uint64_t v)
{
    unsigned b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

/* Local memory one work-group of sort.cl needs, with room for scalars. */
static uint64_t local_bytes(unsigned rb, unsigned wgs)
{
    return ((uint64_t)wgs << rb) * 4 + ((uint64_t)2 << rb) * 4 + (uint64_t)wgs * 4 + 64;
}

static embcl_status plan_sort(struct embcl_device *dev, uint64_t n, uint64_t max_key, sort_plan *p,
                              const char *func)
{
    long long rb = embcl_tune_get(dev, "sort.RB", 8);
    long long wgs = embcl_tune_get(dev, "sort.WGS", 64);
    long long ipt = embcl_tune_get(dev, "sort.IPT", 16);
    long long gmax = embcl_tune_get(dev, "sort.GROUPS", 4 * (long long)dev->info.compute_units);
    if (rb > 12)
        rb = 12;
    if (rb < 1)
        rb = 1;
    if (wgs > (long long)dev->info.max_work_group_size)
        wgs = (long long)dev->info.max_work_group_size;
    if (wgs > (long long)dev->info.max_work_item_sizes[0])
        wgs = (long long)dev->info.max_work_item_sizes[0];
    if (wgs < 1)
        wgs = 1;
    while (wgs > 1 && local_bytes((unsigned)rb, (unsigned)wgs) > dev->info.local_mem_bytes)
        wgs /= 2;
    while (rb > 1 && local_bytes((unsigned)rb, (unsigned)wgs) > dev->info.local_mem_bytes)
        rb--;
    /* checked before building: the build would only fail, or the launch */
    if (local_bytes((unsigned)rb, (unsigned)wgs) > dev->info.local_mem_bytes)
        return embcl_error(EMBCL_ERR_LAUNCH_LIMIT, func,
                           "the index sort (kernels/sort.cl) needs %llu bytes of local memory at its smallest "
                           "(1 radix bit, 1 work-item) but device '%s' has %llu (CL_DEVICE_LOCAL_MEM_SIZE)",
                           (unsigned long long)local_bytes(1, 1), dev->info.name,
                           (unsigned long long)dev->info.local_mem_bytes);
    uint64_t per_group = (uint64_t)wgs * (uint64_t)ipt;
    uint64_t g = (n + per_group - 1) / per_group;
    if (g > (uint64_t)gmax)
        g = (uint64_t)gmax;
    if (g < 1)
        g = 1;
    uint64_t items = g * (uint64_t)wgs;
    uint64_t chunk = (n + items - 1) / items;
    if (chunk < 1)
        chunk = 1;
    g = (n + chunk * (uint64_t)wgs - 1) / (chunk * (uint64_t)wgs); /* no empty groups */
    unsigned bits = bit_length(max_key);
    p->rb = (unsigned)rb;
    p->wgs = (unsigned)wgs;
    p->groups = (unsigned)(g < 1 ? 1 : g);
    p->chunk = (unsigned)chunk;
    p->passes = bits == 0 ? 1 : (bits + p->rb - 1) / p->rb;
    p->bits = bits == 0 ? 1 : (bits + p->passes - 1) / p->passes;
    snprintf(p->defs, sizeof p->defs, "-DRB=%u -DWGS=%u", p->rb, p->wgs);
    return EMBCL_OK;
}

static embcl_status get_kernel(struct embcl_device *dev, const sort_plan *p, const char *name, const char *func,
                               cl_kernel *k)
{
    embcl_status s = embcl_kernel_get(dev, "sort", p->defs, name, k);
    return s == EMBCL_OK ? s : embcl_error_context(s, func);
}

static embcl_status launch(struct embcl_device *dev, const sort_plan *p, cl_kernel k, const char *name,
                           size_t nargs, const embcl_karg *args, const char *func)
{
    size_t lws = p->wgs, gws = (size_t)p->groups * p->wgs;
    embcl_status s = embcl_kernel_set_args(k, name, nargs, args);
    if (s == EMBCL_OK)
        s = embcl_kernel_launch(dev, k, name, 1, &gws, &lws, NULL);
    return s == EMBCL_OK ? s : embcl_error_context(s, func);
}

/* Device temporaries of one call; all come from the pool. */
typedef struct sort_work {
    struct embcl_tensor *keys[2], *vals, *hist, *bad, *icount, *gcount, *info;
} sort_work;

static void work_free(sort_work *w)
{
    embcl_tensor_free(w->keys[0]);
    embcl_tensor_free(w->keys[1]);
    embcl_tensor_free(w->vals);
    embcl_tensor_free(w->hist);
    embcl_tensor_free(w->bad);
    embcl_tensor_free(w->icount);
    embcl_tensor_free(w->gcount);
    embcl_tensor_free(w->info);
}

static embcl_status new_i32(struct embcl_device *dev, int64_t n, const char *func, struct embcl_tensor **out)
{
    return embcl_tensor_new(dev, EMBCL_I32, 1, &n, func, out);
}

static embcl_status work_alloc(struct embcl_device *dev, int64_t n, const sort_plan *p, const char *func,
                               sort_work *w)
{
    int64_t groups = p->groups;
    EMBCL_TRY(new_i32(dev, n, func, &w->keys[0]));
    EMBCL_TRY(new_i32(dev, n, func, &w->keys[1]));
    EMBCL_TRY(new_i32(dev, n, func, &w->vals));
    EMBCL_TRY(new_i32(dev, groups << p->rb, func, &w->hist));
    EMBCL_TRY(new_i32(dev, groups, func, &w->bad));
    EMBCL_TRY(new_i32(dev, groups * p->wgs, func, &w->icount));
    EMBCL_TRY(new_i32(dev, groups, func, &w->gcount));
    return new_i32(dev, 2, func, &w->info);
}

static embcl_status run_sort(struct embcl_tensor *indices, int64_t num_rows, int64_t skip, const sort_plan *p,
                             const sort_work *w, const embcl_segments *out, const char *func)
{
    struct embcl_device *dev = indices->dev;
    cl_uint n = (cl_uint)out->n, chunk = p->chunk, bits = p->bits;
    cl_kernel k;
    const char *keys_kernel = indices->dtype == EMBCL_I32 ? "sort_keys_i32" : "sort_keys_i64";
    EMBCL_TRY(get_kernel(dev, p, keys_kernel, func, &k));
    cl_ulong idx_off = indices->offset;
    cl_long nr = num_rows, sk = skip;
    embcl_karg kargs[] = {EMBCL_KARG(indices->buf->mem), EMBCL_KARG(idx_off), EMBCL_KARG(n), EMBCL_KARG(chunk),
                          EMBCL_KARG(nr), EMBCL_KARG(sk), EMBCL_KARG(bits), EMBCL_KARG(w->keys[0]->buf->mem),
                          EMBCL_KARG(w->hist->buf->mem), EMBCL_KARG(w->bad->buf->mem)};
    EMBCL_TRY(launch(dev, p, k, keys_kernel, 10, kargs, func));

    /* Values ping-pong between vals and perm so that the last pass lands in perm. */
    cl_mem vbuf[2] = {out->perm->buf->mem, w->vals->buf->mem};
    unsigned src = 0;
    for (unsigned pass = 0; pass < p->passes; pass++) {
        cl_uint shift = pass * p->bits;
        if (pass > 0) {
            EMBCL_TRY(get_kernel(dev, p, "sort_hist", func, &k));
            embcl_karg hargs[] = {EMBCL_KARG(w->keys[src]->buf->mem), EMBCL_KARG(n), EMBCL_KARG(chunk),
                                  EMBCL_KARG(shift), EMBCL_KARG(bits), EMBCL_KARG(w->hist->buf->mem)};
            EMBCL_TRY(launch(dev, p, k, "sort_hist", 6, hargs, func));
        }
        EMBCL_TRY(get_kernel(dev, p, "sort_scatter", func, &k));
        cl_uint first = pass == 0;
        cl_mem vin = vbuf[(p->passes - pass) % 2], vout = vbuf[(p->passes - 1 - pass) % 2];
        embcl_karg sargs[] = {EMBCL_KARG(w->keys[src]->buf->mem), EMBCL_KARG(vin),
                              EMBCL_KARG(w->keys[1 - src]->buf->mem), EMBCL_KARG(vout),
                              EMBCL_KARG(w->hist->buf->mem), EMBCL_KARG(n), EMBCL_KARG(chunk), EMBCL_KARG(shift),
                              EMBCL_KARG(bits), EMBCL_KARG(first)};
        EMBCL_TRY(launch(dev, p, k, "sort_scatter", 10, sargs, func));
        src = 1 - src;
    }

    cl_uint skipkey = (cl_uint)num_rows;
    cl_mem sorted = w->keys[src]->buf->mem;
    EMBCL_TRY(get_kernel(dev, p, "seg_count", func, &k));
    embcl_karg cargs[] = {EMBCL_KARG(sorted), EMBCL_KARG(n), EMBCL_KARG(chunk), EMBCL_KARG(skipkey),
                          EMBCL_KARG(w->icount->buf->mem), EMBCL_KARG(w->gcount->buf->mem)};
    EMBCL_TRY(launch(dev, p, k, "seg_count", 6, cargs, func));
    EMBCL_TRY(get_kernel(dev, p, "seg_write", func, &k));
    embcl_karg wargs[] = {EMBCL_KARG(sorted), EMBCL_KARG(n), EMBCL_KARG(chunk), EMBCL_KARG(skipkey),
                          EMBCL_KARG(w->icount->buf->mem), EMBCL_KARG(w->gcount->buf->mem),
                          EMBCL_KARG(w->bad->buf->mem), EMBCL_KARG(out->uniq->buf->mem),
                          EMBCL_KARG(out->seg_start->buf->mem), EMBCL_KARG(w->info->buf->mem)};
    return launch(dev, p, k, "seg_write", 10, wargs, func);
}

static embcl_status read_ints(struct embcl_device *dev, cl_mem m, size_t byte_off, void *dst, size_t bytes,
                              const char *func)
{
    return embcl_cl_check(clEnqueueReadBuffer(dev->queue, m, CL_TRUE, byte_off, bytes, dst, 0, NULL, NULL), func,
                          "clEnqueueReadBuffer");
}

static embcl_status report_bad(struct embcl_tensor *indices, int64_t pos, int64_t num_rows, const char *func,
                               const char *arg)
{
    size_t es = embcl_dtype_size(indices->dtype);
    int64_t v = 0;
    int32_t v32 = 0;
    void *dst = indices->dtype == EMBCL_I32 ? (void *)&v32 : (void *)&v;
    EMBCL_TRY(read_ints(indices->dev, indices->buf->mem, (indices->offset + (size_t)pos) * es, dst, es, func));
    if (indices->dtype == EMBCL_I32)
        v = v32;
    return embcl_error(EMBCL_ERR_INDEX_RANGE, func, "argument '%s' has %lld at position %lld, outside [0, %lld)",
                       arg, (long long)v, (long long)pos, (long long)num_rows);
}

static embcl_status check_args(struct embcl_tensor *indices, int64_t num_rows, int64_t skip, const char *func,
                               const char *arg, embcl_segments *out)
{
    EMBCL_CHECK_ARG(out != NULL, func, "argument 'out' is NULL");
    EMBCL_TRY(embcl_check_tensor(indices, func, arg));
    if (indices->dtype != EMBCL_I32 && indices->dtype != EMBCL_I64)
        return embcl_error(EMBCL_ERR_DTYPE, func, "argument '%s' has dtype %s; indices are i32 or i64", arg,
                           embcl_dtype_name(indices->dtype));
    if (!embcl_tensor_is_contiguous(indices))
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' is a column view; indices must be contiguous",
                           arg);
    if (num_rows < 0 || num_rows >= (int64_t)UINT32_MAX)
        return embcl_error(num_rows < 0 ? EMBCL_ERR_INVALID_ARG : EMBCL_ERR_UNSUPPORTED, func,
                           "the table has %lld rows; grouping indices supports 0 to %lld", (long long)num_rows,
                           (long long)UINT32_MAX - 1);
    if (skip >= num_rows)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, func, "padding index %lld is outside [0, %lld)", (long long)skip,
                           (long long)num_rows);
    uint64_t n = indices->rows * indices->cols;
    if (n > (uint64_t)INT32_MAX - 1)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, func, "argument '%s' has %llu indices; at most %d can be grouped",
                           arg, (unsigned long long)n, INT32_MAX - 1);
    return EMBCL_OK;
}

static embcl_status outputs_alloc(struct embcl_device *dev, int64_t n, const char *func, embcl_segments *out)
{
    EMBCL_TRY(new_i32(dev, n, func, &out->perm));
    EMBCL_TRY(embcl_tensor_new(dev, EMBCL_I64, 1, &n, func, &out->uniq));
    return new_i32(dev, n + 1, func, &out->seg_start);
}

embcl_status embcl_segments_build(struct embcl_tensor *indices, int64_t num_rows, int64_t skip,
                                  const char *func, const char *arg, embcl_segments *out)
{
    EMBCL_TRY(check_args(indices, num_rows, skip, func, arg, out));
    struct embcl_device *dev = indices->dev;
    embcl_segments r = {NULL, NULL, NULL, (int64_t)(indices->rows * indices->cols), 0};
    embcl_status s = outputs_alloc(dev, r.n, func, &r);
    if (s == EMBCL_OK && r.n == 0) {
        static const cl_int zero = 0;
        s = embcl_cl_check(clEnqueueWriteBuffer(dev->queue, r.seg_start->buf->mem, CL_TRUE, 0, sizeof zero, &zero, 0,
                                                NULL, NULL),
                           func, "clEnqueueWriteBuffer");
    } else if (s == EMBCL_OK) {
        sort_plan p;
        /* The keys' range sets the radix bits and so the passes: the
         * table's rows, or less when the upload's facts know the largest
         * index (skipped positions sort as num_rows, after every row). */
        uint64_t max_key = (uint64_t)(skip >= 0 ? num_rows : num_rows > 0 ? num_rows - 1 : 0);
        const embcl_index_facts *f = embcl_tensor_facts(indices, 0);
        if (skip < 0 && f && f->min >= 0 && f->max < num_rows)
            max_key = (uint64_t)f->max;
        s = plan_sort(dev, (uint64_t)r.n, max_key, &p, func);
        sort_work w;
        memset(&w, 0, sizeof w);
        if (s == EMBCL_OK)
            s = work_alloc(dev, r.n, &p, func, &w);
        if (s == EMBCL_OK)
            s = run_sort(indices, num_rows, skip, &p, &w, &r, func);
        /* {first bad position or -1, distinct rows}: known on the host when
         * the upload's facts prove the range and counted the values, which
         * spares the step a wait on the device. */
        cl_int info[2] = {-1, 0};
        const embcl_index_facts *fx = embcl_tensor_facts(indices, 1);
        if (s == EMBCL_OK && fx && fx->seen && fx->min >= 0 && fx->max < num_rows)
            info[1] = (cl_int)(fx->distinct - (skip >= 0 && embcl_index_facts_has(fx, skip)));
        else if (s == EMBCL_OK)
            s = read_ints(dev, w.info->buf->mem, 0, info, sizeof info, func);
        work_free(&w);
        if (s == EMBCL_OK && info[0] >= 0)
            s = report_bad(indices, info[0], num_rows, func, arg);
        r.nnz = info[1];
    }
    if (s != EMBCL_OK) {
        embcl_segments_free(&r);
        return s;
    }
    *out = r;
    return EMBCL_OK;
}

void embcl_segments_free(embcl_segments *s)
{
    if (!s)
        return;
    embcl_tensor_free(s->perm);
    embcl_tensor_free(s->uniq);
    embcl_tensor_free(s->seg_start);
    s->perm = s->uniq = s->seg_start = NULL;
    s->n = s->nnz = 0;
}
