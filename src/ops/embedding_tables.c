/* Table-batched bags (FBGEMM's TBE): T tables with their own sizes, one
 * indices/offsets array for all, outputs side by side, one launch per 8
 * tables (OpenCL kernels take buffers one argument each). The backward
 * runs per table on views of the call's arrays: it writes T separate
 * gradients anyway. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ops/embedding_impl.h"

#define MAX_TABLES (EMBCL_TABLES_PER_LAUNCH * 64)

typedef struct tables_call {
    int T;
    cl_ulong B;
    emb_opts o;
    emb_bags eb;
    cl_ulong bounds[MAX_TABLES + 1]; /* table t's indices: [bounds[t], bounds[t+1]) */
} tables_call;

static embcl_status read_offset(struct embcl_tensor *offs, cl_ulong i, cl_ulong *v, const char *fn)
{
    size_t es = embcl_dtype_size(offs->dtype);
    int64_t x = 0;
    int32_t y = 0;
    void *dst = offs->dtype == EMBCL_I64 ? (void *)&x : (void *)&y;
    EMBCL_TRY(embcl_cl_check(clEnqueueReadBuffer(offs->dev->queue, offs->buf->mem, CL_TRUE, (offs->offset + i) * es,
                                                 es, dst, 0, NULL, NULL),
                             fn, "clEnqueueReadBuffer"));
    *v = offs->dtype == EMBCL_I64 ? (cl_ulong)x : (cl_ulong)(uint32_t)y;
    return EMBCL_OK;
}

/* The part of a 1-D tensor from element a, n long (a struct copy: no
 * reference is taken, it lives as long as t). */
static struct embcl_tensor slice_1d(const struct embcl_tensor *t, cl_ulong a, cl_ulong n)
{
    struct embcl_tensor v = *t;
    v.offset += (size_t)a;
    v.shape[0] = (int64_t)n;
    v.cols = v.ld = (size_t)n;
    return v;
}

/* Table t's bags as a call of their own (views into the call's arrays). */
static emb_bags table_bags(const tables_call *c, int t, struct embcl_tensor *idx, struct embcl_tensor *offs,
                           struct embcl_tensor *psw)
{
    const emb_bags *eb = &c->eb;
    cl_ulong p0 = c->bounds[t], p1 = c->bounds[t + 1];
    emb_bags sub = *eb;
    *idx = slice_1d(eb->idx, p0, p1 - p0);
    cl_ulong no = c->B + ((t + 1 < c->T || eb->last_is_n) ? 1 : 0);
    *offs = slice_1d(eb->offs, (cl_ulong)t * c->B, no);
    sub.idx = idx;
    sub.offs = offs;
    sub.n = p1 - p0;
    sub.n_offs = no;
    sub.B = c->B;
    sub.base = p0;
    sub.last_is_n = 0;
    if (eb->psw) {
        *psw = slice_1d(eb->psw, p0, p1 - p0);
        sub.psw = psw;
    }
    return sub;
}

/* Checks shared by forward and backward; V[t] is table t's rows. Offsets, then each table's indices against its
 * own rows, are checked on the device before anything is written. */
static embcl_status setup(int T, const int64_t *V, const embcl_bags *bags,
                          const embcl_embedding_options *opt, struct embcl_device *dev, const char *fn,
                          tables_call *c)
{
    int64_t vmin = V[0];
    for (int t = 1; t < T; t++)
        vmin = V[t] < vmin ? V[t] : vmin;
    EMBCL_TRY(emb_opts_resolve(opt, vmin, fn, &c->o));
    if (c->o.o.padding_idx != EMBCL_PADDING_NONE && c->o.o.padding_idx < 0)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "option 'padding_idx' is %lld; with several tables it must be "
                           ">= 0 (rows counted from the end differ per table)", (long long)c->o.o.padding_idx);
    if (c->o.o.max_norm >= 0)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "option 'max_norm' is not supported for table-batched bags");
    if (c->o.o.mode == EMBCL_BAG_MAX)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "mode='max' is not supported for table-batched bags "
                           "(sum and mean are)");
    EMBCL_TRY(emb_bags_resolve(bags, &c->o, 0, fn, &c->eb));
    if (!c->eb.offs)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'offsets' is NULL; table-batched bags need 1-D "
                           "indices with offsets");
    if (c->eb.B % (cl_ulong)T)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'offsets' describes %llu bags, not a multiple of T = %d",
                           (unsigned long long)c->eb.B, T);
    if (c->eb.idx->dev != dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument 'indices' is on another device than the tables");
    c->T = T;
    c->B = c->eb.B / (cl_ulong)T;
    EMBCL_TRY(emb_validate(dev, &c->eb, -1, fn));
    for (int t = 0; t < T; t++) {
        cl_ulong i = (cl_ulong)t * c->B;
        if (i < c->eb.n_offs)
            EMBCL_TRY(read_offset(c->eb.offs, i, &c->bounds[t], fn));
        else
            c->bounds[t] = c->eb.n;
    }
    c->bounds[T] = c->eb.n;
    for (int t = 0; t < T; t++) {
        struct embcl_tensor idx, offs, psw;
        emb_bags sub = table_bags(c, t, &idx, &offs, &psw);
        sub.offs = NULL; /* checked above; indices only */
        EMBCL_TRY(emb_validate(dev, &sub, V[t], fn));
    }
    c->eb.validated = 1;
    return EMBCL_OK;
}

static embcl_status check_tables(int T, const embcl_tensor_t *w, const char *fn, int64_t *V, size_t *D,
                                 struct embcl_device **dev)
{
    if (T < 1 || T > MAX_TABLES)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'T' is %d; 1 to %d tables are supported", T,
                           MAX_TABLES);
    EMBCL_CHECK_ARG(w != NULL, fn, "argument 'weights' is NULL");
    *dev = NULL;
    for (int t = 0; t < T; t++) {
        char arg[32];
        snprintf(arg, sizeof arg, "weights[%d]", t);
        EMBCL_TRY(emb_check_table_or_bf16(w[t], fn, arg));
        /* one kernel variant reads every table of a launch */
        if (t > 0 && w[t]->dtype != w[0]->dtype)
            return embcl_error(EMBCL_ERR_DTYPE, fn, "argument '%s' is %s but weights[0] is %s; the tables of one "
                               "call share a dtype", arg, embcl_dtype_name(w[t]->dtype), embcl_dtype_name(w[0]->dtype));
        /* One launch serves up to 8 tables through 8 pointers: no room for
         * their parts. */
        EMBCL_TRY(embcl_check_single(w[t], fn, arg));
        if (*dev && w[t]->dev != *dev)
            return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn, "argument '%s' is on another device than the others",
                               arg);
        *dev = w[t]->dev;
        V[t] = w[t]->shape[0];
        D[t] = w[t]->cols;
    }
    return EMBCL_OK;
}

embcl_status embcl_embedding_bag_tables(int T, const embcl_tensor_t *weights, const embcl_bags *bags,
                                        const embcl_embedding_options *opt, embcl_tensor_t out)
{
    static const char *fn = "embcl_embedding_bag_tables";
    int64_t V[MAX_TABLES];
    size_t D[MAX_TABLES];
    struct embcl_device *dev;
    EMBCL_TRY(check_tables(T, weights, fn, V, D, &dev));
    EMBCL_CHECK_ARG(bags != NULL, fn, "argument 'bags' is NULL");
    size_t sumD = 0;
    for (int t = 0; t < T; t++)
        sumD += D[t];
    EMBCL_TRY(embcl_check_dtype(out, EMBCL_F32, fn, "out"));
    tables_call c;
    EMBCL_TRY(setup(T, V, bags, opt, dev, fn, &c));
    EMBCL_TRY(emb_check_rows(out, (size_t)c.B, sumD, fn, "out"));
    EMBCL_TRY(emb_check_same_device(weights[0], out, fn, "out"));

    cl_ulong meta[MAX_TABLES * 4];
    size_t col = 0;
    for (int t = 0; t < T; t++) {
        meta[t * 4 + 0] = weights[t]->offset;
        meta[t * 4 + 1] = weights[t]->ld;
        meta[t * 4 + 2] = D[t];
        meta[t * 4 + 3] = col;
        col += D[t];
    }
    int64_t nm = (int64_t)T * 4;
    struct embcl_tensor *mt;
    EMBCL_TRY(embcl_tensor_new(dev, EMBCL_I64, 1, &nm, fn, &mt));
    embcl_status s = embcl_tensor_upload(mt, meta, (size_t)nm * sizeof *meta);
    emb_tune tu;
    cl_kernel k;
    emb_bags et = emb_bags_for_table(&c.eb, weights[0]);
    if (s == EMBCL_OK)
        s = emb_bag_kernel(dev, "bag_fwd", &et, "bag_fwd_tables", &k, &tu);
    for (int t0 = 0; s == EMBCL_OK && t0 < T; t0 += EMBCL_TABLES_PER_LAUNCH) {
        int nt = T - t0 < EMBCL_TABLES_PER_LAUNCH ? T - t0 : EMBCL_TABLES_PER_LAUNCH;
        embcl_karg a[29];
        cl_mem wm[EMBCL_TABLES_PER_LAUNCH];
        for (int j = 0; j < EMBCL_TABLES_PER_LAUNCH; j++) {
            wm[j] = weights[t0 + (j < nt ? j : 0)]->buf->mem;
            a[j] = EMBCL_KARG(wm[j]);
        }
        cl_uint ntu = (cl_uint)nt;
        cl_ulong B = c.B, g0 = (cl_ulong)t0 * c.B, i_off = c.eb.idx->offset, o_off = c.eb.offs->offset;
        cl_ulong n_offs = c.eb.n_offs, n = c.eb.n, p_off = emb_off(c.eb.psw), out_off = out->offset, out_ld = out->ld;
        cl_long pad = c.o.pad;
        cl_int mode = (cl_int)c.o.o.mode;
        cl_mem pm = emb_mem(c.eb.psw);
        /* The kernel finds this launch's tables' meta rows from g0. */
        a[8] = EMBCL_KARG(mt->buf->mem);
        a[9] = EMBCL_KARG(ntu);
        a[10] = EMBCL_KARG(B);
        a[11] = EMBCL_KARG(g0);
        a[12] = EMBCL_KARG(c.eb.idx->buf->mem);
        a[13] = EMBCL_KARG(i_off);
        a[14] = EMBCL_KARG(c.eb.offs->buf->mem);
        a[15] = EMBCL_KARG(o_off);
        a[16] = EMBCL_KARG(n_offs);
        a[17] = EMBCL_KARG(n);
        a[18] = EMBCL_KARG(pm);
        a[19] = EMBCL_KARG(p_off);
        a[20] = EMBCL_KARG(pad);
        a[21] = EMBCL_KARG(mode);
        a[22] = EMBCL_KARG(out->buf->mem);
        a[23] = EMBCL_KARG(out_off);
        a[24] = EMBCL_KARG(out_ld);
        s = embcl_kernel_set_args(k, "bag_fwd_tables", 25, a);
        if (s == EMBCL_OK)
            s = emb_launch_lanes(dev, k, "bag_fwd_tables", &tu, (size_t)nt * c.B);
    }
    embcl_tensor_free(mt);
    return s;
}

embcl_status embcl_embedding_bag_tables_backward(int T, embcl_tensor_t grad_out, const embcl_tensor_t *weights,
                                                 const embcl_bags *bags, const embcl_embedding_options *opt,
                                                 const embcl_tensor_t *grad_weights)
{
    static const char *fn = "embcl_embedding_bag_tables_backward";
    int64_t V[MAX_TABLES];
    size_t D[MAX_TABLES];
    struct embcl_device *dev;
    EMBCL_TRY(check_tables(T, weights, fn, V, D, &dev));
    EMBCL_CHECK_ARG(grad_weights != NULL, fn, "argument 'grad_weights' is NULL");
    EMBCL_CHECK_ARG(bags != NULL, fn, "argument 'bags' is NULL");
    EMBCL_TRY(embcl_check_dtype(grad_out, EMBCL_F32, fn, "grad_out"));
    size_t sumD = 0;
    for (int t = 0; t < T; t++) {
        sumD += D[t];
        if (!grad_weights[t])
            continue; /* frozen */
        char arg[32];
        snprintf(arg, sizeof arg, "grad_weights[%d]", t);
        EMBCL_TRY(emb_check_rows(grad_weights[t], (size_t)V[t], D[t], fn, arg));
        EMBCL_TRY(emb_check_same_device(grad_out, grad_weights[t], fn, arg));
    }
    tables_call c;
    EMBCL_TRY(setup(T, V, bags, opt, dev, fn, &c));
    EMBCL_TRY(emb_check_rows(grad_out, (size_t)c.B, sumD, fn, "grad_out"));
    size_t col = 0;
    for (int t = 0; t < T; t++) {
        if (grad_weights[t]) {
            struct embcl_tensor idx, offs, psw, g = *grad_out;
            emb_bags sub = table_bags(&c, t, &idx, &offs, &psw);
            g.offset += col;
            g.cols = D[t];
            g.shape[g.ndim - 1] = (int64_t)D[t];
            EMBCL_TRY(emb_scatter(&g, &sub, &c.o, (int)c.o.o.mode, NULL, V[t], grad_weights[t], NULL, NULL, NULL,
                                  fn));
        }
        col += D[t];
    }
    return EMBCL_OK;
}
