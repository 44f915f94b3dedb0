/* LSTM forward and backward through time (kernels/lstm.cl for the cell,
 * src/blas for the products).
 *
 * Per layer, the weights of both directions live in one tensor each
 * (w_ih [D*4H, in], w_hh [D*4H, H], biases [D*4H]); the PyTorch-named
 * parameters are views of them. That makes the two directions one strided
 * batch for every GEMM: one batched GEMM projects the inputs of all steps,
 * and each step needs one batched GEMM and one cell launch for both
 * directions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas/gemm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "embcl/lstm.h"
#include "device/tuning.h"
#include "ops/dense_util.h"
#include "ops/random.h"

typedef struct lstm_layer {
    int64_t in;
    struct embcl_tensor *w_ih, *w_hh, *b_ih, *b_hh;     /* all directions */
    struct embcl_tensor *gw_ih, *gw_hh, *gb_ih, *gb_hh; /* their gradients */
    /* saved by forward for backward */
    struct embcl_tensor *xin;   /* [T*B, in]: the layer's input, time-major */
    struct embcl_tensor *gates; /* [D*T*B, 4H] activated gates */
    struct embcl_tensor *P, *C; /* [D*(T+1)*B, H] hidden and cell states */
} lstm_layer;

typedef struct lstm_param {
    char name[40];
    struct embcl_tensor *w, *g;
} lstm_param;

struct embcl_lstm {
    struct embcl_device *dev;
    embcl_lstm_config cfg;
    int D;
    int64_t H;
    lstm_layer *layers;
    lstm_param *params;
    size_t n_params;
    /* the last forward */
    int have_forward, training;
    int64_t T, B;
    uint64_t calls, drop_seed;
    struct embcl_tensor *len; /* [B] i32 */
    int32_t *len_host;        /* what len holds: kept across calls, so equal lengths are not
                               * uploaded again (an upload makes the host wait for the queue) */
};

embcl_lstm_config embcl_lstm_config_default(int64_t input_size, int64_t hidden_size)
{
    embcl_lstm_config c = {input_size, hidden_size, 1, 1, 0, 0, 0.0f, 0};
    return c;
}

/* The LSTM's weights, gradients and workspaces: single buffers, since its
 * matrices are addressed as slices of them (mat_at, view_new). One larger
 * than the device allows in one allocation is refused by name rather than
 * split. */
static embcl_status lstm_tensor_new(struct embcl_device *dev, embcl_dtype dtype, int ndim, const int64_t *shape,
                                    const char *func, struct embcl_tensor **out)
{
    EMBCL_TRY(embcl_tensor_new(dev, dtype, ndim, shape, func, out));
    embcl_status s = embcl_check_single(*out, func, "an LSTM weight or workspace");
    if (s != EMBCL_OK) {
        embcl_tensor_free(*out);
        *out = NULL;
    }
    return s;
}

/* A contiguous matrix over t's memory from element `off` (no reference is
 * taken: for arguments of calls made right away). */
static struct embcl_tensor mat_at(const struct embcl_tensor *t, size_t off, size_t rows, size_t cols)
{
    struct embcl_tensor m = *t;
    m.offset = t->offset + off;
    m.ndim = 2;
    m.shape[0] = (int64_t)rows;
    m.shape[1] = (int64_t)cols;
    m.rows = rows;
    m.cols = cols;
    m.ld = cols;
    return m;
}

/* A lasting view of t (it holds a reference to t's buffer). */
static embcl_status view_new(struct embcl_tensor *t, size_t off, int ndim, const int64_t *shape, const char *func,
                             struct embcl_tensor **out)
{
    EMBCL_TRY(embcl_check_single(t, func, "an LSTM workspace"));
    struct embcl_tensor *v = embcl_malloc(sizeof *v, func);
    if (!v)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *v = *t;
    v->offset = t->offset + off;
    v->ndim = ndim;
    memset(v->shape, 0, sizeof v->shape);
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    v->cols = (size_t)shape[ndim - 1];
    v->rows = 1;
    for (int d = 0; d + 1 < ndim; d++)
        v->rows *= (size_t)shape[d];
    v->ld = v->cols;
    embcl_buffer_retain(t->buf);
    *out = v;
    return EMBCL_OK;
}

static void free_saved(struct embcl_lstm *l)
{
    for (int k = 0; l->layers && k < l->cfg.num_layers; k++) {
        lstm_layer *ly = &l->layers[k];
        embcl_tensor_free(ly->xin);
        embcl_tensor_free(ly->gates);
        embcl_tensor_free(ly->P);
        embcl_tensor_free(ly->C);
        ly->xin = ly->gates = ly->P = ly->C = NULL;
    }
    l->have_forward = 0;
}

void embcl_lstm_free(embcl_lstm_t l)
{
    if (!l)
        return;
    free_saved(l);
    embcl_tensor_free(l->len);
    free(l->len_host);
    for (size_t i = 0; i < l->n_params; i++) {
        embcl_tensor_free(l->params[i].w);
        embcl_tensor_free(l->params[i].g);
    }
    for (int k = 0; l->layers && k < l->cfg.num_layers; k++) {
        lstm_layer *ly = &l->layers[k];
        struct embcl_tensor *ts[] = {ly->w_ih, ly->w_hh, ly->b_ih, ly->b_hh, ly->gw_ih, ly->gw_hh, ly->gb_ih, ly->gb_hh};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            embcl_tensor_free(ts[i]);
    }
    free(l->params);
    free(l->layers);
    free(l);
}

/* Adds the PyTorch-named views of one direction's slice of a layer tensor. */
static embcl_status add_param(struct embcl_lstm *l, const char *base, int k, int d, struct embcl_tensor *w,
                              struct embcl_tensor *g, const char *func)
{
    lstm_param *p = &l->params[l->n_params];
    snprintf(p->name, sizeof p->name, "%s_l%d%s", base, k, d ? "_reverse" : "");
    int64_t rows = 4 * l->H;
    int ndim = w->ndim;
    int64_t shape[2] = {rows, ndim == 2 ? w->shape[1] : 0};
    size_t off = (size_t)d * (size_t)rows * (ndim == 2 ? (size_t)w->shape[1] : 1);
    EMBCL_TRY(view_new(w, off, ndim, shape, func, &p->w));
    embcl_status s = view_new(g, off, ndim, shape, func, &p->g);
    if (s != EMBCL_OK) {
        embcl_tensor_free(p->w);
        p->w = NULL;
        return s;
    }
    l->n_params++;
    return EMBCL_OK;
}

/* U(-1/sqrt(H), 1/sqrt(H)), stream = the parameter's position, so each
 * parameter's values depend only on the seed and its name's place. */
static embcl_status init_param(struct embcl_lstm *l, size_t i, const char *func)
{
    struct embcl_tensor *w = l->params[i].w;
    size_t n = w->rows * w->cols;
    float *h = embcl_malloc(n * sizeof *h, func);
    if (!h)
        return EMBCL_ERR_OUT_OF_MEMORY;
    float bound = 1.0f / sqrtf((float)l->H);
    uint64_t stream = embcl_mix64(l->cfg.seed, 0x6c73746dULL + i);
    for (size_t e = 0; e < n; e++)
        h[e] = (2.0f * embcl_uniform01(stream, e) - 1.0f) * bound;
    embcl_status s = embcl_tensor_upload(w, h, n * sizeof *h);
    free(h);
    return s == EMBCL_OK ? EMBCL_OK : embcl_error_context(s, func);
}

embcl_status embcl_lstm_create(embcl_device_t dev, const embcl_lstm_config *cfg, embcl_lstm_t *out)
{
    static const char *fn = "embcl_lstm_create";
    EMBCL_CHECK_ARG(dev != NULL, fn, "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(cfg != NULL, fn, "argument 'cfg' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    EMBCL_CHECK_ARG(cfg->input_size >= 1, fn, "input_size is %lld; it must be positive", (long long)cfg->input_size);
    EMBCL_CHECK_ARG(cfg->hidden_size >= 1, fn, "hidden_size is %lld; it must be positive",
                    (long long)cfg->hidden_size);
    EMBCL_CHECK_ARG(cfg->num_layers >= 1, fn, "num_layers is %d; it must be positive", cfg->num_layers);
    EMBCL_CHECK_ARG(cfg->dropout >= 0.0f && cfg->dropout < 1.0f, fn, "dropout is %g; it must be in [0, 1)",
                    (double)cfg->dropout);
    struct embcl_lstm *l = embcl_calloc(1, sizeof *l, fn);
    if (!l)
        return EMBCL_ERR_OUT_OF_MEMORY;
    l->dev = dev;
    l->cfg = *cfg;
    l->D = cfg->bidirectional ? 2 : 1;
    l->H = cfg->hidden_size;
    l->layers = embcl_calloc((size_t)cfg->num_layers, sizeof *l->layers, fn);
    l->params = embcl_calloc((size_t)cfg->num_layers * (size_t)l->D * 4, sizeof *l->params, fn);
    embcl_status s = l->layers && l->params ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    int64_t G = 4 * l->H, DG = l->D * G;
    for (int k = 0; s == EMBCL_OK && k < cfg->num_layers; k++) {
        lstm_layer *ly = &l->layers[k];
        ly->in = k == 0 ? cfg->input_size : l->D * l->H;
        int64_t sih[2] = {DG, ly->in}, shh[2] = {DG, l->H}, sb[1] = {DG};
        struct embcl_tensor **ws[] = {&ly->w_ih, &ly->w_hh, &ly->b_ih, &ly->b_hh};
        struct embcl_tensor **gs[] = {&ly->gw_ih, &ly->gw_hh, &ly->gb_ih, &ly->gb_hh};
        const int64_t *shapes[] = {sih, shh, sb, sb};
        int n_kinds = cfg->bias ? 4 : 2;
        for (int i = 0; s == EMBCL_OK && i < n_kinds; i++) {
            s = lstm_tensor_new(dev, EMBCL_F32, i < 2 ? 2 : 1, shapes[i], fn, ws[i]);
            if (s == EMBCL_OK)
                s = lstm_tensor_new(dev, EMBCL_F32, i < 2 ? 2 : 1, shapes[i], fn, gs[i]);
            if (s == EMBCL_OK)
                s = embcl_tensor_fill(*gs[i], 0.0);
        }
        static const char *names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
        for (int d = 0; d < l->D; d++)
            for (int i = 0; s == EMBCL_OK && i < n_kinds; i++)
                s = add_param(l, names[i], k, d, *ws[i], *gs[i], fn);
    }
    for (size_t i = 0; s == EMBCL_OK && i < l->n_params; i++)
        s = init_param(l, i, fn);
    if (s != EMBCL_OK) {
        embcl_lstm_free(l);
        return s;
    }
    *out = l;
    return EMBCL_OK;
}

embcl_status embcl_lstm_param_count(embcl_lstm_t l, size_t *count)
{
    static const char *fn = "embcl_lstm_param_count";
    EMBCL_CHECK_ARG(l != NULL, fn, "argument 'lstm' is NULL");
    EMBCL_CHECK_ARG(count != NULL, fn, "argument 'count' is NULL");
    *count = l->n_params;
    return EMBCL_OK;
}

embcl_status embcl_lstm_param(embcl_lstm_t l, size_t i, const char **name, embcl_tensor_t *weight,
                              embcl_tensor_t *grad)
{
    static const char *fn = "embcl_lstm_param";
    EMBCL_CHECK_ARG(l != NULL, fn, "argument 'lstm' is NULL");
    if (i >= l->n_params)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'i' is %zu; the LSTM has %zu parameters", i,
                           l->n_params);
    if (name)
        *name = l->params[i].name;
    if (weight)
        *weight = l->params[i].w;
    if (grad)
        *grad = l->params[i].g;
    return EMBCL_OK;
}

embcl_status embcl_lstm_find_param(embcl_lstm_t l, const char *name, embcl_tensor_t *weight, embcl_tensor_t *grad)
{
    static const char *fn = "embcl_lstm_find_param";
    EMBCL_CHECK_ARG(l != NULL, fn, "argument 'lstm' is NULL");
    EMBCL_CHECK_ARG(name != NULL, fn, "argument 'name' is NULL");
    for (size_t i = 0; i < l->n_params; i++)
        if (strcmp(l->params[i].name, name) == 0)
            return embcl_lstm_param(l, i, NULL, weight, grad);
    return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'name' is '%s'; the LSTM has no such parameter", name);
}

embcl_status embcl_lstm_zero_grad(embcl_lstm_t l)
{
    static const char *fn = "embcl_lstm_zero_grad";
    EMBCL_CHECK_ARG(l != NULL, fn, "argument 'lstm' is NULL");
    for (int k = 0; k < l->cfg.num_layers; k++) {
        lstm_layer *ly = &l->layers[k];
        struct embcl_tensor *gs[] = {ly->gw_ih, ly->gw_hh, ly->gb_ih, ly->gb_hh};
        for (int i = 0; i < 4; i++)
            if (gs[i])
                EMBCL_TRY(embcl_tensor_fill(gs[i], 0.0));
    }
    return EMBCL_OK;
}

/* ---- validation ---- */

static embcl_status check_state(struct embcl_lstm *l, struct embcl_tensor *t, const char *func, const char *arg,
                                int64_t B)
{
    if (!t)
        return EMBCL_OK;
    EMBCL_TRY(embcl_check_f32_on(t, l->dev, func, arg));
    int64_t want[3] = {(int64_t)l->cfg.num_layers * l->D, B, l->H};
    return embcl_check_shape(t, 3, want, func, arg);
}

/* A sequence tensor: [T, B, F] or, batch_first, [B, T, F]; contiguous. */
static embcl_status check_seq(struct embcl_lstm *l, struct embcl_tensor *t, const char *func, const char *arg,
                              int64_t T, int64_t B, int64_t F)
{
    EMBCL_TRY(embcl_check_f32_on(t, l->dev, func, arg));
    int64_t want[3] = {l->cfg.batch_first ? B : T, l->cfg.batch_first ? T : B, F};
    EMBCL_TRY(embcl_check_shape(t, 3, want, func, arg));
    if (!embcl_tensor_is_contiguous(t))
        return embcl_error(EMBCL_ERR_SHAPE, func, "argument '%s' must be contiguous", arg);
    return EMBCL_OK;
}

static embcl_status check_forward(struct embcl_lstm *l, struct embcl_tensor *x, const int64_t *lengths,
                                  struct embcl_tensor *h0, struct embcl_tensor *c0, struct embcl_tensor *y,
                                  struct embcl_tensor *h_n, struct embcl_tensor *c_n, const char *fn)
{
    EMBCL_TRY(embcl_check_f32_on(x, l->dev, fn, "x"));
    if (x->ndim != 3) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'x' has shape %s, expected %s", embcl_shape_str(x, s, sizeof s),
                           l->cfg.batch_first ? "[B, T, input_size]" : "[T, B, input_size]");
    }
    if (x->shape[2] != l->cfg.input_size)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'x' has input size %lld but weight_ih_l0 expects %lld",
                           (long long)x->shape[2], (long long)l->cfg.input_size);
    int64_t T = x->shape[l->cfg.batch_first ? 1 : 0], B = x->shape[l->cfg.batch_first ? 0 : 1];
    if (T < 1 || B < 1)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'x' has %lld steps and %lld sequences; both must be positive",
                           (long long)T, (long long)B);
    EMBCL_TRY(check_seq(l, x, fn, "x", T, B, l->cfg.input_size));
    for (int64_t b = 0; lengths && b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn,
                               "argument 'lengths' at position %lld is %lld; lengths must be in [1, %lld] "
                               "(the sequence length)", (long long)b, (long long)lengths[b], (long long)T);
    EMBCL_TRY(check_state(l, h0, fn, "h0", B));
    EMBCL_TRY(check_state(l, c0, fn, "c0", B));
    EMBCL_CHECK_ARG(y != NULL, fn, "argument 'y' is NULL");
    EMBCL_TRY(check_seq(l, y, fn, "y", T, B, l->D * l->H));
    EMBCL_TRY(check_state(l, h_n, fn, "h_n", B));
    EMBCL_TRY(check_state(l, c_n, fn, "c_n", B));
    return EMBCL_OK;
}

/* ---- kernels ---- */

static embcl_status permute01(struct embcl_tensor *src, struct embcl_tensor *dst, size_t A0, size_t A1, size_t F)
{
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(src->dev, "lstm", NULL, "permute01", &k));
    cl_uint a0 = (cl_uint)A0, a1 = (cl_uint)A1, f = (cl_uint)F;
    embcl_karg args[] = {EMBCL_KARG(a0), EMBCL_KARG(a1), EMBCL_KARG(f), EMBCL_KARG(src->buf->mem),
                         EMBCL_KARG(src->offset), EMBCL_KARG(dst->buf->mem), EMBCL_KARG(dst->offset)};
    EMBCL_TRY(embcl_kernel_set_args(k, "permute01", sizeof args / sizeof args[0], args));
    return embcl_launch_2d(src->dev, k, "permute01", F, A0 * A1);
}

/* Exactly (H, B, D) work-items (the cell kernels have no bounds check), in
 * groups of up to lstm.WGS: the largest power of two dividing H, times the
 * largest divisor of B that fits. */
static embcl_status launch_step(struct embcl_lstm *l, cl_kernel k, const char *kname)
{
    size_t H = (size_t)l->H, B = (size_t)l->B;
    const size_t *dim_max = l->dev->info.max_work_item_sizes;
    size_t wgs = embcl_kernel_fit_wgs(l->dev, k, (size_t)embcl_tune_get(l->dev, "lstm.WGS", 256), 0);
    size_t lx = 1;
    while (H % (lx * 2) == 0 && lx * 2 <= wgs && lx * 2 <= dim_max[0])
        lx *= 2;
    size_t ly = wgs / lx < B ? wgs / lx : B;
    if (ly > dim_max[1])
        ly = dim_max[1];
    while (ly > 1 && B % ly != 0)
        ly--;
    size_t gws[3] = {H, B, (size_t)l->D}, lws[3] = {lx, ly, 1};
    return embcl_kernel_launch(l->dev, k, kname, 3, gws, lws, NULL);
}

static embcl_status cell_fwd(struct embcl_lstm *l, lstm_layer *ly, cl_uint s, struct embcl_tensor *out)
{
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(l->dev, "lstm", NULL, "cell_fwd", &k));
    cl_uint T = (cl_uint)l->T, B = (cl_uint)l->B, H = (cl_uint)l->H;
    cl_int has_bias = ly->b_ih != NULL;
    cl_mem bih = has_bias ? ly->b_ih->buf->mem : ly->gates->buf->mem, bhh = has_bias ? ly->b_hh->buf->mem : bih;
    embcl_karg args[] = {EMBCL_KARG(s), EMBCL_KARG(T), EMBCL_KARG(B), EMBCL_KARG(H), EMBCL_KARG(l->len->buf->mem),
                         EMBCL_KARG(ly->gates->buf->mem), EMBCL_KARG(bih), EMBCL_KARG(bhh), EMBCL_KARG(has_bias),
                         EMBCL_KARG(ly->P->buf->mem), EMBCL_KARG(ly->C->buf->mem), EMBCL_KARG_MAT(out)};
    EMBCL_TRY(embcl_kernel_set_args(k, "cell_fwd", sizeof args / sizeof args[0], args));
    return launch_step(l, k, "cell_fwd");
}

static embcl_status cell_bwd(struct embcl_lstm *l, lstm_layer *ly, cl_uint s, struct embcl_tensor *dout,
                             struct embcl_tensor *dh, struct embcl_tensor *dc, struct embcl_tensor *dG,
                             struct embcl_tensor *dGT)
{
    cl_kernel k;
    EMBCL_TRY(embcl_kernel_get(l->dev, "lstm", NULL, "cell_bwd", &k));
    cl_uint T = (cl_uint)l->T, B = (cl_uint)l->B, H = (cl_uint)l->H;
    embcl_karg args[] = {EMBCL_KARG(s), EMBCL_KARG(T), EMBCL_KARG(B), EMBCL_KARG(H), EMBCL_KARG(l->len->buf->mem),
                         EMBCL_KARG(ly->gates->buf->mem), EMBCL_KARG(ly->C->buf->mem), EMBCL_KARG_MAT(dout),
                         EMBCL_KARG(dh->buf->mem), EMBCL_KARG(dc->buf->mem), EMBCL_KARG(dG->buf->mem),
                         EMBCL_KARG(dGT->buf->mem)};
    EMBCL_TRY(embcl_kernel_set_args(k, "cell_bwd", sizeof args / sizeof args[0], args));
    return launch_step(l, k, "cell_bwd");
}

/* The dropout seed of layer k's output in the current forward. */
static uint64_t drop_seed(struct embcl_lstm *l, int k)
{
    return embcl_mix64(l->drop_seed, (uint64_t)k);
}

static int uses_dropout(struct embcl_lstm *l)
{
    return l->training && l->cfg.dropout > 0.0f && l->cfg.num_layers > 1;
}

/* ---- forward ---- */

/* Copies D [B, H] slices of a [L*D, B, H] state tensor for layer k into (or
 * out of) the state array S at state index j0 (direction 0) and j1 (1). */
static embcl_status state_io(struct embcl_lstm *l, struct embcl_tensor *user, int k, struct embcl_tensor *S,
                             size_t j0, size_t j1, int to_user, const char *fn)
{
    size_t B = (size_t)l->B, H = (size_t)l->H, T = (size_t)l->T;
    for (int d = 0; d < l->D; d++) {
        size_t j = d ? j1 : j0;
        struct embcl_tensor s = mat_at(S, ((size_t)d * (T + 1) + j) * B * H, B, H);
        if (!user) {
            EMBCL_TRY(embcl_tensor_fill(&s, 0.0));
            continue;
        }
        struct embcl_tensor u = mat_at(user, ((size_t)k * l->D + (size_t)d) * B * H, B, H);
        EMBCL_TRY(embcl_ew_run("copy_acc", to_user ? &s : &u, NULL, to_user ? &u : &s, 0, fn));
    }
    return EMBCL_OK;
}

static embcl_status forward_layer(struct embcl_lstm *l, int k, struct embcl_tensor *h0, struct embcl_tensor *c0,
                                  struct embcl_tensor *out, struct embcl_tensor *h_n, struct embcl_tensor *c_n,
                                  const char *fn)
{
    lstm_layer *ly = &l->layers[k];
    size_t T = (size_t)l->T, B = (size_t)l->B, H = (size_t)l->H, G = 4 * H, D = (size_t)l->D, TB = T * B;
    int64_t sg[2] = {(int64_t)(D * TB), (int64_t)G}, ss[2] = {(int64_t)(D * (T + 1) * B), (int64_t)H};
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sg, fn, &ly->gates));
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, ss, fn, &ly->P));
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, ss, fn, &ly->C));
    /* all steps' input projections, both directions: gates_d = xin W_ih_d^T */
    struct embcl_tensor wih0 = mat_at(ly->w_ih, 0, G, (size_t)ly->in), g0 = mat_at(ly->gates, 0, TB, G);
    EMBCL_TRY(embcl_sgemm_batched(EMBCL_GEMM_AUTO, 0, 1, 1.0f, ly->xin, &wih0, 0.0f, &g0, D, 0, G * (size_t)ly->in,
                                  TB * G, fn));
    /* W_hh^T once per forward, so each step's GEMM reads B rows as vectors */
    int64_t st[2] = {(int64_t)(D * H), (int64_t)G};
    struct embcl_tensor *whhT;
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, st, fn, &whhT));
    struct embcl_tensor whh0 = mat_at(ly->w_hh, 0, G, H);
    embcl_status s = embcl_transpose(&whh0, D, G * H, whhT, fn);
    if (s == EMBCL_OK)
        s = state_io(l, h0, k, ly->P, 0, T, 0, fn);
    if (s == EMBCL_OK)
        s = state_io(l, c0, k, ly->C, 0, T, 0, fn);
    struct embcl_tensor wT0 = mat_at(whhT, 0, H, G);
    for (size_t st_ = 0; s == EMBCL_OK && st_ < T; st_++) {
        /* direction 0 reads state st_ and writes time st_; direction 1 reads T-st_ and writes T-1-st_ */
        struct embcl_tensor a = mat_at(ly->P, st_ * B * H, B, H), c = mat_at(ly->gates, st_ * B * G, B, G);
        s = embcl_sgemm_batched(EMBCL_GEMM_AUTO, 0, 0, 1.0f, &a, &wT0, 1.0f, &c, D, (2 * T + 1 - 2 * st_) * B * H,
                                H * G, (2 * T - 1 - 2 * st_) * B * G, fn);
        if (s == EMBCL_OK)
            s = cell_fwd(l, ly, (cl_uint)st_, out);
    }
    embcl_tensor_free(whhT);
    if (s == EMBCL_OK && h_n)
        s = state_io(l, h_n, k, ly->P, T, 0, 1, fn);
    if (s == EMBCL_OK && c_n)
        s = state_io(l, c_n, k, ly->C, T, 0, 1, fn);
    return s;
}

static embcl_status forward_run(struct embcl_lstm *l, struct embcl_tensor *x, struct embcl_tensor *h0,
                                struct embcl_tensor *c0, struct embcl_tensor *y, struct embcl_tensor *h_n,
                                struct embcl_tensor *c_n, const char *fn)
{
    size_t T = (size_t)l->T, B = (size_t)l->B, DH = (size_t)(l->D * l->H);
    int bf = l->cfg.batch_first;
    int64_t sx[2] = {(int64_t)(T * B), l->cfg.input_size};
    if (bf) {
        EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sx, fn, &l->layers[0].xin));
        EMBCL_TRY(permute01(x, l->layers[0].xin, B, T, (size_t)l->cfg.input_size));
    } else {
        EMBCL_TRY(view_new(x, 0, 2, sx, fn, &l->layers[0].xin));
    }
    int L = l->cfg.num_layers;
    for (int k = 0; k < L; k++) {
        struct embcl_tensor *out = NULL, ym;
        int64_t so[2] = {(int64_t)(T * B), (int64_t)DH};
        if (k == L - 1 && !bf) {
            ym = mat_at(y, 0, T * B, DH);
            out = &ym;
        } else {
            EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, so, fn, &out));
        }
        embcl_status s = forward_layer(l, k, h0, c0, out, h_n, c_n, fn);
        if (s == EMBCL_OK && k == L - 1 && bf)
            s = permute01(out, y, T, B, DH);
        if (s == EMBCL_OK && k < L - 1) {
            if (uses_dropout(l)) {
                s = lstm_tensor_new(l->dev, EMBCL_F32, 2, so, fn, &l->layers[k + 1].xin);
                if (s == EMBCL_OK)
                    s = embcl_ew_dropout(out, l->layers[k + 1].xin, 0, l->cfg.dropout, drop_seed(l, k), fn);
            } else {
                l->layers[k + 1].xin = out; /* the next layer's saved input */
                out = NULL;
            }
        }
        if (out != &ym)
            embcl_tensor_free(out);
        EMBCL_TRY(s);
    }
    return EMBCL_OK;
}

embcl_status embcl_lstm_forward(embcl_lstm_t l, embcl_tensor_t x, const int64_t *lengths, embcl_tensor_t h0,
                                embcl_tensor_t c0, int training, embcl_tensor_t y, embcl_tensor_t h_n,
                                embcl_tensor_t c_n)
{
    static const char *fn = "embcl_lstm_forward";
    EMBCL_CHECK_ARG(l != NULL, fn, "argument 'lstm' is NULL");
    EMBCL_TRY(check_forward(l, x, lengths, h0, c0, y, h_n, c_n, fn));
    free_saved(l);
    int64_t T = x->shape[l->cfg.batch_first ? 1 : 0], B = x->shape[l->cfg.batch_first ? 0 : 1];
    l->T = T;
    l->B = B;
    l->training = training != 0;
    l->drop_seed = embcl_mix64(l->cfg.seed ^ 0x64726f70ULL, l->calls++);
    int32_t *len = embcl_malloc((size_t)B * sizeof *len, fn);
    if (!len)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t b = 0; b < B; b++)
        len[b] = (int32_t)(lengths ? lengths[b] : T);
    embcl_status s = EMBCL_OK;
    if (!l->len || embcl_tensor_numel(l->len) != B || memcmp(l->len_host, len, (size_t)B * sizeof *len) != 0) {
        embcl_tensor_free(l->len);
        free(l->len_host);
        l->len = NULL;
        l->len_host = NULL;
        int64_t sl[1] = {B};
        s = lstm_tensor_new(l->dev, EMBCL_I32, 1, sl, fn, &l->len);
        if (s == EMBCL_OK)
            s = embcl_tensor_upload(l->len, len, (size_t)B * sizeof *len);
        if (s == EMBCL_OK) {
            l->len_host = len;
            len = NULL;
        } else {
            embcl_tensor_free(l->len);
            l->len = NULL;
        }
    }
    free(len);
    if (s == EMBCL_OK)
        s = forward_run(l, x, h0, c0, y, h_n, c_n, fn);
    if (s != EMBCL_OK) {
        free_saved(l);
        return s;
    }
    l->have_forward = 1;
    return EMBCL_OK;
}

/* ---- backward ---- */

typedef struct bwd_scratch {
    struct embcl_tensor *dG, *dGT, *dh, *dc; /* [D*T*B, 4H], [D*4H, T*B], [D*B, H], [D*B, H] */
    struct embcl_tensor *db;                 /* [4H]: one direction's bias gradient */
} bwd_scratch;

/* Gradients of layer k's weights and biases from dG, and of its input into
 * dxin (NULL: not needed). */
static embcl_status layer_grads(struct embcl_lstm *l, lstm_layer *ly, bwd_scratch *w, struct embcl_tensor *dxin,
                                const char *fn)
{
    size_t T = (size_t)l->T, B = (size_t)l->B, H = (size_t)l->H, G = 4 * H, D = (size_t)l->D, TB = T * B,
           in = (size_t)ly->in;
    struct embcl_tensor dGT0 = mat_at(w->dGT, 0, G, TB), gih0 = mat_at(ly->gw_ih, 0, G, in),
                        ghh0 = mat_at(ly->gw_hh, 0, G, H), P0 = mat_at(ly->P, 0, TB, H);
    /* dW_ih_d += dG_d^T xin;  dW_hh_d += dG_d^T h_prev_d (states 0..T-1 forward, 1..T reverse) */
    EMBCL_TRY(embcl_sgemm_batched(EMBCL_GEMM_AUTO, 0, 0, 1.0f, &dGT0, ly->xin, 1.0f, &gih0, D, TB * G, 0, G * in, fn));
    EMBCL_TRY(embcl_sgemm_batched(EMBCL_GEMM_AUTO, 0, 0, 1.0f, &dGT0, &P0, 1.0f, &ghh0, D, TB * G, (T + 2) * B * H,
                                  G * H, fn));
    for (size_t d = 0; d < D; d++) {
        struct embcl_tensor dGd = mat_at(w->dG, d * TB * G, TB, G);
        if (ly->gb_ih) { /* both biases get the same gradient: sum once, add twice */
            struct embcl_tensor bi = mat_at(ly->gb_ih, d * G, 1, G), bh = mat_at(ly->gb_hh, d * G, 1, G);
            EMBCL_TRY(embcl_ew_sum_rows(&dGd, w->db, 0, fn));
            EMBCL_TRY(embcl_ew_run("copy_acc", w->db, NULL, &bi, 1, fn));
            EMBCL_TRY(embcl_ew_run("copy_acc", w->db, NULL, &bh, 1, fn));
        }
        if (dxin) {
            struct embcl_tensor wi = mat_at(ly->w_ih, d * G * in, G, in);
            EMBCL_TRY(embcl_sgemm(0, 0, 1.0f, &dGd, &wi, d ? 1.0f : 0.0f, dxin, fn));
        }
    }
    return EMBCL_OK;
}

static embcl_status backward_layer(struct embcl_lstm *l, int k, struct embcl_tensor *dout, bwd_scratch *w,
                                   struct embcl_tensor *dh_n, struct embcl_tensor *dc_n, struct embcl_tensor *dh0,
                                   struct embcl_tensor *dc0, struct embcl_tensor *dxin, const char *fn)
{
    lstm_layer *ly = &l->layers[k];
    size_t T = (size_t)l->T, B = (size_t)l->B, H = (size_t)l->H, G = 4 * H, D = (size_t)l->D;
    /* the carried gradients start as those of h_n, c_n: [D*B, H] is layer k's slice */
    for (int i = 0; i < 2; i++) {
        struct embcl_tensor *src = i ? dc_n : dh_n, *dst = i ? w->dc : w->dh;
        if (src) {
            struct embcl_tensor u = mat_at(src, (size_t)k * D * B * H, D * B, H);
            EMBCL_TRY(embcl_ew_run("copy_acc", &u, NULL, dst, 0, fn));
        } else {
            EMBCL_TRY(embcl_tensor_fill(dst, 0.0));
        }
    }
    struct embcl_tensor whh0 = mat_at(ly->w_hh, 0, G, H);
    for (size_t s = T; s-- > 0;) {
        EMBCL_TRY(cell_bwd(l, ly, (cl_uint)s, dout, w->dh, w->dc, w->dG, w->dGT));
        /* dh_d += dG_d(t_d) W_hh_d for both directions */
        struct embcl_tensor a = mat_at(w->dG, s * B * G, B, G), c = mat_at(w->dh, 0, B, H);
        EMBCL_TRY(embcl_sgemm_batched(EMBCL_GEMM_AUTO, 0, 0, 1.0f, &a, &whh0, 1.0f, &c, D,
                                      (2 * T - 1 - 2 * s) * B * G, G * H, B * H, fn));
    }
    for (int i = 0; i < 2; i++) {
        struct embcl_tensor *dst = i ? dc0 : dh0;
        if (dst) {
            struct embcl_tensor u = mat_at(dst, (size_t)k * D * B * H, D * B, H);
            EMBCL_TRY(embcl_ew_run("copy_acc", i ? w->dc : w->dh, NULL, &u, 0, fn));
        }
    }
    return layer_grads(l, ly, w, dxin, fn);
}

static embcl_status backward_run(struct embcl_lstm *l, struct embcl_tensor *dy, struct embcl_tensor *dh_n,
                                 struct embcl_tensor *dc_n, struct embcl_tensor *dx, struct embcl_tensor *dh0,
                                 struct embcl_tensor *dc0, bwd_scratch *w, const char *fn)
{
    size_t T = (size_t)l->T, B = (size_t)l->B, H = (size_t)l->H, D = (size_t)l->D, TB = T * B;
    int bf = l->cfg.batch_first, L = l->cfg.num_layers;
    int64_t sg[2] = {(int64_t)(D * TB), (int64_t)(4 * H)}, sh[2] = {(int64_t)(D * B), (int64_t)H};
    int64_t sgt[2] = {(int64_t)(D * 4 * H), (int64_t)TB}, sb[2] = {1, (int64_t)(4 * H)};
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sg, fn, &w->dG));
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sgt, fn, &w->dGT));
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sb, fn, &w->db));
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sh, fn, &w->dh));
    EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, sh, fn, &w->dc));
    /* the top layer's output gradient, time-major */
    struct embcl_tensor dym = mat_at(dy, 0, TB, D * H), *dout = &dym, *owned = NULL;
    int64_t so[2] = {(int64_t)TB, (int64_t)(D * H)};
    if (bf) {
        EMBCL_TRY(lstm_tensor_new(l->dev, EMBCL_F32, 2, so, fn, &owned));
        dout = owned;
        embcl_status s = permute01(dy, owned, B, T, D * H);
        if (s != EMBCL_OK) {
            embcl_tensor_free(owned);
            return s;
        }
    }
    embcl_status s = EMBCL_OK;
    for (int k = L - 1; s == EMBCL_OK && k >= 0; k--) {
        lstm_layer *ly = &l->layers[k];
        struct embcl_tensor *dxin = NULL, dxm;
        int64_t sx[2] = {(int64_t)TB, ly->in};
        if (k > 0 || (dx && bf)) {
            s = lstm_tensor_new(l->dev, EMBCL_F32, 2, sx, fn, &dxin);
        } else if (dx) {
            dxm = mat_at(dx, 0, TB, (size_t)ly->in);
            dxin = &dxm;
        }
        if (s == EMBCL_OK)
            s = backward_layer(l, k, dout, w, dh_n, dc_n, dh0, dc0, dxin, fn);
        if (s == EMBCL_OK && k > 0 && uses_dropout(l))
            s = embcl_ew_dropout(dxin, dxin, 0, l->cfg.dropout, drop_seed(l, k - 1), fn);
        if (s == EMBCL_OK && k == 0 && dx && bf)
            s = permute01(dxin, dx, T, B, (size_t)ly->in);
        embcl_tensor_free(owned);
        owned = NULL;
        if (k > 0) {
            owned = dxin; /* the next lower layer's output gradient */
            dout = dxin;
        } else if (dxin != &dxm) {
            embcl_tensor_free(dxin);
        }
    }
    embcl_tensor_free(owned);
    return s;
}

embcl_status embcl_lstm_backward(embcl_lstm_t l, embcl_tensor_t dy, embcl_tensor_t dh_n, embcl_tensor_t dc_n,
                                 embcl_tensor_t dx, embcl_tensor_t dh0, embcl_tensor_t dc0)
{
    static const char *fn = "embcl_lstm_backward";
    EMBCL_CHECK_ARG(l != NULL, fn, "argument 'lstm' is NULL");
    if (!l->have_forward)
        return embcl_error(EMBCL_ERR_STATE, fn, "no forward to go back through (call embcl_lstm_forward first)");
    EMBCL_CHECK_ARG(dy != NULL, fn, "argument 'dy' is NULL");
    EMBCL_TRY(check_seq(l, dy, fn, "dy", l->T, l->B, l->D * l->H));
    if (dx)
        EMBCL_TRY(check_seq(l, dx, fn, "dx", l->T, l->B, l->cfg.input_size));
    EMBCL_TRY(check_state(l, dh_n, fn, "dh_n", l->B));
    EMBCL_TRY(check_state(l, dc_n, fn, "dc_n", l->B));
    EMBCL_TRY(check_state(l, dh0, fn, "dh0", l->B));
    EMBCL_TRY(check_state(l, dc0, fn, "dc0", l->B));
    bwd_scratch w = {NULL, NULL, NULL, NULL, NULL};
    embcl_status s = backward_run(l, dy, dh_n, dc_n, dx, dh0, dc0, &w, fn);
    embcl_tensor_free(w.dG);
    embcl_tensor_free(w.dGT);
    embcl_tensor_free(w.db);
    embcl_tensor_free(w.dh);
    embcl_tensor_free(w.dc);
    return s;
}
