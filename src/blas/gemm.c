#include <stdio.h>
#include <string.h>

#include <clblast_c.h>

#include "blas/gemm.h"
#include "core/error.h"
#include "device/process_lock.h"
#include "device/program.h"
#include "device/tuning.h"

static const char *clblast_name(CLBlastStatusCode s)
{
    switch (s) {
    case CLBlastNotImplemented: return "CLBlastNotImplemented";
    case CLBlastInvalidMatrixA: return "CLBlastInvalidMatrixA";
    case CLBlastInvalidMatrixB: return "CLBlastInvalidMatrixB";
    case CLBlastInvalidMatrixC: return "CLBlastInvalidMatrixC";
    case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
    case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
    case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
    case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
    case CLBlastNoHalfPrecision: return "CLBlastNoHalfPrecision";
    case CLBlastNoDoublePrecision: return "CLBlastNoDoublePrecision";
    case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
    case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
    case CLBlastDatabaseError: return "CLBlastDatabaseError";
    case CLBlastUnknownError: return "CLBlastUnknownError";
    case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
    default: return NULL;
    }
}

embcl_gemm_backend embcl_gemm_backend_for(struct embcl_device *dev)
{
    return embcl_tune_get(dev, "gemm.BACKEND", EMBCL_GEMM_CLBLAST) == EMBCL_GEMM_OWN ? EMBCL_GEMM_OWN : EMBCL_GEMM_CLBLAST;
}

typedef struct gemm_dims {
    size_t m, n, k, count, sa, sb, sc;
} gemm_dims;

static embcl_status run_clblast(int trans_a, int trans_b, float alpha, struct embcl_tensor *a,
                                struct embcl_tensor *b, float beta, struct embcl_tensor *c, const gemm_dims *d,
                                const char *func)
{
    cl_command_queue q = c->dev->queue;
    CLBlastTranspose ta = trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode s;
    /* CLBlast's first call in a process sets up its database: not to be
     * overlapped by another thread's (src/device/process_lock.c) */
    int first = embcl_clblast_first_begin();
    if (d->count == 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, d->m, d->n, d->k, alpha, a->buf->mem, a->offset, a->ld,
                         b->buf->mem, b->offset, b->ld, beta, c->buf->mem, c->offset, c->ld, &q, NULL);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, d->m, d->n, d->k, alpha, a->buf->mem,
                                       a->offset, a->ld, d->sa, b->buf->mem, b->offset, b->ld, d->sb, beta,
                                       c->buf->mem, c->offset, c->ld, d->sc, d->count, &q, NULL);
    if (first)
        embcl_clblast_first_end(s == CLBlastSuccess);
    if (s == CLBlastSuccess)
        return EMBCL_OK;
    /* An OpenCL error from a call CLBlast made: it does not say which (it
     * prints it on stderr), so the message says where it came from; only
     * clBuildProgram gives CL_BUILD_PROGRAM_FAILURE, so that one is named. */
    if ((int)s == CL_BUILD_PROGRAM_FAILURE)
        return embcl_cl_fail((cl_int)s, func, "CLBlastSgemm (clBuildProgram of a CLBlast kernel)");
    if ((int)s < 0 && (int)s > -1000)
        return embcl_cl_fail((cl_int)s, func, "CLBlastSgemm (an OpenCL call inside CLBlast)");
    const char *name = clblast_name(s);
    return embcl_error(EMBCL_ERR_UNSUPPORTED, func, "CLBlastSgemm failed with %s (%d) for m=%zu n=%zu k=%zu",
                       name ? name : "an unknown CLBlast status", (int)s, d->m, d->n, d->k);
}

/* A 2-D group of up to want_x x want_y over cols x rows work-items, within
 * k's work-group limit and the device's per-dimension ones (the kernels
 * check bounds, so the global size is rounded up to it). */
static void fit_2d(struct embcl_device *dev, cl_kernel k, size_t cols, size_t rows, size_t want_x, size_t want_y,
                   size_t *lx, size_t *ly)
{
    size_t wgs = embcl_kernel_fit_wgs(dev, k, want_x * want_y, 0);
    size_t x = cols < want_x ? cols : want_x, y = rows < want_y ? rows : want_y;
    if (x > dev->info.max_work_item_sizes[0])
        x = dev->info.max_work_item_sizes[0];
    if (y > dev->info.max_work_item_sizes[1])
        y = dev->info.max_work_item_sizes[1];
    while (y > 1 && x * y > wgs)
        y /= 2;
    while (x > 1 && x * y > wgs)
        x /= 2;
    *lx = x ? x : 1;
    *ly = y ? y : 1;
}

/* Every kernel of gemm.cl is built with the tile defines, so one program
 * build (the cold-start cost) serves the tiles, the edges and the
 * transposes. */
static void gemm_defines(struct embcl_device *dev, char *buf, size_t cap)
{
    snprintf(buf, cap, "-DRM=%lld -DVW=%lld -DNV=%lld", embcl_tune_get(dev, "gemm.RM", 6),
             embcl_tune_get(dev, "gemm.VW", 8), embcl_tune_get(dev, "gemm.NV", 2));
}

embcl_status embcl_transpose(struct embcl_tensor *src, size_t count, size_t src_stride, struct embcl_tensor *dst,
                             const char *func)
{
    (void)func;
    struct embcl_device *dev = src->dev;
    cl_kernel k;
    char defs[96];
    gemm_defines(dev, defs, sizeof defs);
    EMBCL_TRY(embcl_kernel_get(dev, "gemm", defs, "transpose", &k));
    cl_uint rows = (cl_uint)src->rows, cols = (cl_uint)src->cols;
    cl_ulong dsb = src->rows * src->cols;
    embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG(src->buf->mem), EMBCL_KARG(src->offset),
                         EMBCL_KARG(src->ld), EMBCL_KARG(src_stride), EMBCL_KARG(dst->buf->mem), EMBCL_KARG(dsb)};
    EMBCL_TRY(embcl_kernel_set_args(k, "transpose", sizeof args / sizeof args[0], args));
    if (rows == 0 || cols == 0 || count == 0)
        return EMBCL_OK;
    size_t lx, ly;
    fit_2d(dev, k, cols, rows, 64, 16, &lx, &ly);
    size_t gws[3] = {embcl_round_up(cols, lx), embcl_round_up(rows, ly), count}, lws[3] = {lx, ly, 1};
    return embcl_kernel_launch(dev, k, "transpose", 3, gws, lws, NULL);
}

/* X^T of every product into a contiguous [count][cols][rows] buffer: the
 * tiled kernel reads B rows as vectors and A rows as streams along k, and a
 * transposed operand would make it touch one cache line per k instead
 * (measured: A^T B ran at a fifth of A B's speed on PoCL). */
static embcl_status transposed_copy(struct embcl_tensor *x, size_t count, size_t stride, struct embcl_tensor **out,
                                    const char *func)
{
    int64_t shape[2] = {(int64_t)(count * x->cols), (int64_t)x->rows};
    struct embcl_tensor *t;
    EMBCL_TRY(embcl_tensor_new(x->dev, EMBCL_F32, 2, shape, func, &t));
    embcl_status s = embcl_transpose(x, count, stride, t, func);
    if (s != EMBCL_OK) {
        embcl_tensor_free(t);
        return s;
    }
    *out = t;
    return EMBCL_OK;
}

/* cont: continue the sum C holds (gemm.cl's ACC_C; alpha and beta unused). */
static embcl_status run_own(int trans_a, int trans_b, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                            float beta, struct embcl_tensor *c, const gemm_dims *d, int cont, const char *func)
{
    struct embcl_device *dev = c->dev;
    long long rm = embcl_tune_get(dev, "gemm.RM", 6), vw = embcl_tune_get(dev, "gemm.VW", 8),
              nv = embcl_tune_get(dev, "gemm.NV", 2), wgx = embcl_tune_get(dev, "gemm.WGX", 16),
              wgy = embcl_tune_get(dev, "gemm.WGY", 4);
    size_t bw = (size_t)(vw * nv);
    cl_uint M = (cl_uint)d->m, N = (cl_uint)d->n, K = (cl_uint)d->k;
    cl_uint col_blocks = (cl_uint)(d->n / bw), row_blocks = (cl_uint)((d->m + (size_t)rm - 1) / (size_t)rm);
    cl_ulong c_off = c->offset, ldc = c->ld, c_sb = d->sc;
    /* A and B as seen by the kernels: memory, offset, strides along m/n and
     * k, and between products; transposed operands of the tiled kernel are
     * first copied untransposed */
    struct embcl_tensor *at = NULL, *bt = NULL;
    cl_mem a_mem = a->buf->mem;
    cl_ulong a_sm = trans_a ? 1 : a->ld, a_sk = trans_a ? a->ld : 1, a_off = a->offset, a_sb = d->sa;
    if (trans_a && col_blocks > 0 && d->m > 1) {
        EMBCL_TRY(transposed_copy(a, d->count, d->sa, &at, func));
        a_mem = at->buf->mem;
        a_off = 0;
        a_sm = d->k;
        a_sk = 1;
        a_sb = d->m * d->k;
    }
    cl_mem b_mem = b->buf->mem;
    cl_ulong b_off = b->offset, b_sk = trans_b ? 1 : b->ld, b_sn = trans_b ? b->ld : 1, b_sb = d->sb;
    if (trans_b && col_blocks > 0) {
        embcl_status s = transposed_copy(b, d->count, d->sb, &bt, func);
        if (s != EMBCL_OK) {
            embcl_tensor_free(at);
            return s;
        }
        b_mem = bt->buf->mem;
        b_off = 0;
        b_sk = d->n;
        b_sn = 1;
        b_sb = d->k * d->n;
    }
    char defs[112];
    gemm_defines(dev, defs, sizeof defs - 12);
    if (cont)
        strcat(defs, " -DACC_C=1");
    cl_kernel k;
    embcl_status s = EMBCL_OK;
    if (col_blocks > 0) {
        s = embcl_kernel_get(dev, "gemm", defs, "gemm_tile", &k);
        size_t lx = 1, ly = 1;
        if (s == EMBCL_OK)
            fit_2d(dev, k, col_blocks, row_blocks, (size_t)wgx, (size_t)wgy, &lx, &ly);
        /* small products (an LSTM step) would make fewer groups than the
         * cores can share evenly: shrink the groups until there are 4 per
         * compute unit */
        size_t want = 4 * (size_t)(dev->info.compute_units ? dev->info.compute_units : 1);
        while (ly > 1 && ((col_blocks + lx - 1) / lx) * ((row_blocks + ly - 1) / ly) * d->count < want)
            ly = (ly + 1) / 2;
        while (lx > 1 && ((col_blocks + lx - 1) / lx) * ((row_blocks + ly - 1) / ly) * d->count < want)
            lx = (lx + 1) / 2;
        size_t gws[3] = {embcl_round_up(col_blocks, lx), embcl_round_up(row_blocks, ly), d->count};
        size_t lws[3] = {lx, ly, 1};
        /* K in chunks of gemm.KC: a group's B panel (KC rows of lx blocks)
         * must stay in the core's cache while its rows of A pass over it;
         * with K = 2240 and 256 columns it did not, and ran 10x slower */
        size_t kc = (size_t)embcl_tune_get(dev, "gemm.KC", 1 << 30);
        for (size_t k0 = 0; s == EMBCL_OK && k0 < d->k; k0 += kc) {
            cl_uint kn = (cl_uint)(d->k - k0 < kc ? d->k - k0 : kc);
            float bk = k0 == 0 ? beta : 1.0f;
            cl_ulong ak = a_off + k0 * a_sk, bko = b_off + k0 * b_sk;
            embcl_karg args[] = {EMBCL_KARG(M),     EMBCL_KARG(col_blocks), EMBCL_KARG(row_blocks),
                                 EMBCL_KARG(kn),    EMBCL_KARG(alpha),      EMBCL_KARG(bk),
                                 EMBCL_KARG(a_mem), EMBCL_KARG(ak),         EMBCL_KARG(a_sm),
                                 EMBCL_KARG(a_sk),  EMBCL_KARG(a_sb),       EMBCL_KARG(b_mem),
                                 EMBCL_KARG(bko),   EMBCL_KARG(b_sk),       EMBCL_KARG(b_sb),
                                 EMBCL_KARG(c->buf->mem), EMBCL_KARG(c_off), EMBCL_KARG(ldc),
                                 EMBCL_KARG(c_sb)};
            s = embcl_kernel_set_args(k, "gemm_tile", sizeof args / sizeof args[0], args);
            if (s == EMBCL_OK)
                s = embcl_kernel_launch(dev, k, "gemm_tile", 3, gws, lws, NULL);
        }
    }
    cl_uint n0 = col_blocks * (cl_uint)bw;
    if (s == EMBCL_OK && n0 < N) {
        s = embcl_kernel_get(dev, "gemm", defs, "gemm_edge", &k);
        if (s == EMBCL_OK) {
            embcl_karg args[] = {EMBCL_KARG(M),     EMBCL_KARG(N),     EMBCL_KARG(n0),    EMBCL_KARG(K),
                                 EMBCL_KARG(alpha), EMBCL_KARG(beta),  EMBCL_KARG(a_mem),
                                 EMBCL_KARG(a_off), EMBCL_KARG(a_sm),  EMBCL_KARG(a_sk),  EMBCL_KARG(a_sb),
                                 EMBCL_KARG(b_mem), EMBCL_KARG(b_off), EMBCL_KARG(b_sk),  EMBCL_KARG(b_sn),
                                 EMBCL_KARG(b_sb),  EMBCL_KARG(c->buf->mem), EMBCL_KARG(c_off),
                                 EMBCL_KARG(ldc),   EMBCL_KARG(c_sb)};
            s = embcl_kernel_set_args(k, "gemm_edge", sizeof args / sizeof args[0], args);
        }
        /* the edge's columns exactly (fewer than a block), in groups of a
         * divisor of them */
        size_t w = N - n0, lx = w, ly = 1;
        if (s == EMBCL_OK) {
            size_t wgs = embcl_kernel_fit_wgs(dev, k, w * 64, 0);
            while (lx > 1 && (lx > wgs || lx > dev->info.max_work_item_sizes[0] || w % lx != 0))
                lx--;
            ly = d->m < 64 ? d->m : 64;
            if (ly > dev->info.max_work_item_sizes[1])
                ly = dev->info.max_work_item_sizes[1];
            while (ly > 1 && lx * ly > wgs)
                ly /= 2;
        }
        size_t gws[3] = {w, embcl_round_up(d->m, ly), d->count}, lws[3] = {lx, ly, 1};
        if (s == EMBCL_OK)
            s = embcl_kernel_launch(dev, k, "gemm_edge", 3, gws, lws, NULL);
    }
    embcl_tensor_free(at);
    embcl_tensor_free(bt);
    return s;
}

/* C = alpha A^T B + beta C where A [K, M] dwarfs B [K, N] and C (the weight
 * gradient dy^T x of a vocabulary projection): copying A^T would cost more
 * than the product's operands, so compute C^T = B^T A (copying only the
 * small B^T) into scratch and fold its transpose into C. */
static embcl_status run_own_swapped(float alpha, struct embcl_tensor *a, struct embcl_tensor *b, float beta,
                                    struct embcl_tensor *c, const gemm_dims *d, const char *func)
{
    struct embcl_device *dev = c->dev;
    int64_t shape[2] = {(int64_t)(d->count * d->n), (int64_t)d->m};
    struct embcl_tensor *t;
    EMBCL_TRY(embcl_tensor_new(dev, EMBCL_F32, 2, shape, func, &t));
    struct embcl_tensor t0 = *t;
    t0.shape[0] = (int64_t)d->n;
    t0.rows = d->n;
    gemm_dims sd = {d->n, d->m, d->k, d->count, d->sb, d->sa, d->n * d->m};
    embcl_status s = run_own(1, 0, 1.0f, b, a, 0.0f, &t0, &sd, 0, func);
    cl_kernel k;
    char defs[96];
    gemm_defines(dev, defs, sizeof defs);
    if (s == EMBCL_OK)
        s = embcl_kernel_get(dev, "gemm", defs, "transpose_axpby", &k);
    cl_uint rows = (cl_uint)d->m, cols = (cl_uint)d->n;
    cl_ulong s_sb = d->n * d->m, c_sb = d->sc;
    if (s == EMBCL_OK) {
        embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG(alpha), EMBCL_KARG(beta),
                             EMBCL_KARG(t->buf->mem), EMBCL_KARG(s_sb), EMBCL_KARG(c->buf->mem),
                             EMBCL_KARG(c->offset), EMBCL_KARG(c->ld), EMBCL_KARG(c_sb)};
        s = embcl_kernel_set_args(k, "transpose_axpby", sizeof args / sizeof args[0], args);
    }
    size_t lx = 1, ly = 1;
    if (s == EMBCL_OK)
        fit_2d(dev, k, cols, rows, 64, 16, &lx, &ly);
    size_t gws[3] = {embcl_round_up(cols, lx), embcl_round_up(rows, ly), d->count}, lws[3] = {lx, ly, 1};
    if (s == EMBCL_OK)
        s = embcl_kernel_launch(dev, k, "transpose_axpby", 3, gws, lws, NULL);
    embcl_tensor_free(t);
    return s;
}

/* The last element product z = count-1 touches must lie inside the buffer. */
static embcl_status check_extent(const struct embcl_tensor *t, size_t stride, size_t count, const char *func,
                                 const char *arg)
{
    size_t last = t->offset + (count - 1) * stride + (t->rows - 1) * t->ld + t->cols;
    if (last * sizeof(float) > t->buf->size)
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "GEMM operand '%s' with %zu products %zu elements apart runs past its buffer", arg,
                           count, stride);
    return EMBCL_OK;
}

embcl_status embcl_sgemm_batched(embcl_gemm_backend backend, int trans_a, int trans_b, float alpha,
                                 struct embcl_tensor *a, struct embcl_tensor *b, float beta, struct embcl_tensor *c,
                                 size_t count, size_t stride_a, size_t stride_b, size_t stride_c, const char *func)
{
    EMBCL_TRY(embcl_check_dtype_parts(a, EMBCL_F32, func, "a"));
    EMBCL_TRY(embcl_check_dtype_parts(b, EMBCL_F32, func, "b"));
    EMBCL_TRY(embcl_check_dtype_parts(c, EMBCL_F32, func, "c"));
    if (a->ndim != 2 || b->ndim != 2 || c->ndim != 2)
        return embcl_error(EMBCL_ERR_SHAPE, func, "GEMM operands must be 2-D (got %d, %d, %d dimensions)", a->ndim,
                           b->ndim, c->ndim);
    if (a->dev != b->dev || a->dev != c->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, func, "GEMM operands live on different devices");
    size_t m = trans_a ? a->cols : a->rows, k = trans_a ? a->rows : a->cols;
    size_t kb = trans_b ? b->cols : b->rows, n = trans_b ? b->rows : b->cols;
    if (k != kb || c->rows != m || c->cols != n)
        return embcl_error(EMBCL_ERR_SHAPE, func,
                           "GEMM shapes do not fit: op(a) is %zux%zu, op(b) is %zux%zu, c is %zux%zu", m, k, kb, n,
                           c->rows, c->cols);
    if (m == 0 || n == 0 || count == 0)
        return EMBCL_OK;
    if (m > UINT32_MAX || n > UINT32_MAX || k > UINT32_MAX)
        return embcl_error(EMBCL_ERR_SHAPE, func, "GEMM dimension above 2^32 (m=%zu n=%zu k=%zu)", m, n, k);
    if (embcl_tensor_is_split(a) || embcl_tensor_is_split(b) || embcl_tensor_is_split(c)) {
        if (count != 1)
            return embcl_error(EMBCL_ERR_UNSUPPORTED, func,
                               "a batched GEMM (%zu products) over an operand split over several buffers", count);
        return embcl_sgemm_split(backend, trans_a, trans_b, alpha, a, b, beta, c, func);
    }
    if (k > 0) {
        EMBCL_TRY(check_extent(a, stride_a, count, func, "a"));
        EMBCL_TRY(check_extent(b, stride_b, count, func, "b"));
    }
    EMBCL_TRY(check_extent(c, stride_c, count, func, "c"));
    if (k == 0) { /* CLBlast rejects k = 0; the product is empty */
        if (beta == 1.0f)
            return EMBCL_OK;
        if (beta == 0.0f && count == 1)
            return embcl_tensor_fill(c, 0.0);
        return embcl_error(EMBCL_ERR_UNSUPPORTED, func, "GEMM with k = 0 and beta = %g", (double)beta);
    }
    gemm_dims d = {m, n, k, count, stride_a, stride_b, stride_c};
    if (backend == EMBCL_GEMM_AUTO)
        backend = embcl_gemm_backend_for(c->dev);
    if (backend == EMBCL_GEMM_OWN) {
        /* A^T B with A the big operand: copying B^T and C^T moves less */
        if (trans_a && !trans_b && d.m >= 16 && (d.k * d.n + 2 * d.m * d.n) * 2 < d.k * d.m)
            return run_own_swapped(alpha, a, b, beta, c, &d, func);
        return run_own(trans_a, trans_b, alpha, a, b, beta, c, &d, 0, func);
    }
    return run_clblast(trans_a, trans_b, alpha, a, b, beta, c, &d, func);
}

void embcl_gemm_k_layout(struct embcl_device *dev, embcl_gemm_backend backend, size_t k, size_t n, size_t *kc,
                         size_t *n0)
{
    if (backend == EMBCL_GEMM_AUTO)
        backend = embcl_gemm_backend_for(dev);
    if (backend != EMBCL_GEMM_OWN) {
        *kc = k;
        *n0 = n;
        return;
    }
    size_t bw = (size_t)(embcl_tune_get(dev, "gemm.VW", 8) * embcl_tune_get(dev, "gemm.NV", 2));
    *kc = (size_t)embcl_tune_get(dev, "gemm.KC", 1 << 30);
    if (*kc == 0)
        *kc = k;
    *n0 = n / bw * bw;
}

embcl_status embcl_sgemm_continue(embcl_gemm_backend backend, int trans_a, int trans_b, struct embcl_tensor *a,
                                  struct embcl_tensor *b, struct embcl_tensor *c, const char *func)
{
    size_t m = trans_a ? a->cols : a->rows, k = trans_a ? a->rows : a->cols, n = trans_b ? b->rows : b->cols;
    if (m == 0 || n == 0 || k == 0)
        return EMBCL_OK;
    gemm_dims d = {m, n, k, 1, 0, 0, 0};
    if (backend == EMBCL_GEMM_AUTO)
        backend = embcl_gemm_backend_for(c->dev);
    if (backend == EMBCL_GEMM_OWN)
        return run_own(trans_a, trans_b, 1.0f, a, b, 1.0f, c, &d, 1, func);
    return run_clblast(trans_a, trans_b, 1.0f, a, b, 1.0f, c, &d, func);
}

embcl_status embcl_gemm_axpby(float alpha, struct embcl_tensor *t, float beta, struct embcl_tensor *c,
                              const char *func)
{
    (void)func;
    struct embcl_device *dev = c->dev;
    if (c->rows == 0 || c->cols == 0)
        return EMBCL_OK;
    char defs[96];
    gemm_defines(dev, defs, sizeof defs);
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(dev, "gemm", defs, "axpby_2d", &k));
    cl_uint rows = (cl_uint)c->rows, cols = (cl_uint)c->cols;
    cl_ulong c_off = c->offset, ldc = c->ld;
    embcl_karg args[] = {EMBCL_KARG(rows), EMBCL_KARG(cols), EMBCL_KARG(alpha), EMBCL_KARG(beta),
                         EMBCL_KARG(t->buf->mem), EMBCL_KARG(c->buf->mem), EMBCL_KARG(c_off), EMBCL_KARG(ldc)};
    EMBCL_TRY(embcl_kernel_set_args(k, "axpby_2d", sizeof args / sizeof args[0], args));
    size_t lx = cols < 64 ? cols : 64, ly = rows < 16 ? rows : 16;
    while (ly > 1 && lx * ly > dev->info.max_work_group_size)
        ly /= 2;
    size_t gws[2] = {embcl_round_up(cols, lx), embcl_round_up(rows, ly)}, lws[2] = {lx, ly};
    return embcl_kernel_launch(dev, k, "axpby_2d", 2, gws, lws, NULL);
}

embcl_status embcl_sgemm(int trans_a, int trans_b, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                         float beta, struct embcl_tensor *c, const char *func)
{
    return embcl_sgemm_batched(EMBCL_GEMM_AUTO, trans_a, trans_b, alpha, a, b, beta, c, 1, 0, 0, 0, func);
}
