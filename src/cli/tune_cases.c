/* embcl tune's cases, one per family it can sweep:
 *   bag_fwd    EmbeddingBag (mean) forward over a table, Zipf-like ids
 *   bag_bwd    its backward into a row-sparse gradient (sorts the ids)
 *   sort       the same backward: the sort is most of its work
 *   optim_row  row-wise Adagrad on a row-sparse gradient
 *   optim      Adam on a dense parameter
 * Sizes are those of `embcl bench` (--quick: its quick ones). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune_cases.h"

/* xorshift64: the same inputs everywhere */
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static float uniform(uint64_t *s)
{
    return (float)((double)(next(s) >> 11) / 9007199254740992.0) - 0.5f;
}

static embcl_status upload_random(embcl_tensor_t t, uint64_t seed)
{
    size_t n = (size_t)embcl_tensor_numel(t);
    float *h = malloc(n * sizeof *h);
    if (!h)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++)
        h[i] = uniform(&seed);
    embcl_status s = embcl_tensor_upload(t, h, n * sizeof *h);
    free(h);
    return s;
}

static embcl_status download(embcl_tensor_t t, float **out, size_t *n)
{
    *n = (size_t)embcl_tensor_numel(t);
    *out = malloc((*n ? *n : 1) * sizeof **out);
    if (!*out)
        return EMBCL_ERR_OUT_OF_MEMORY;
    return embcl_tensor_download(t, *out, *n * sizeof **out);
}

/* ---- bags ---- */

typedef struct bag_ctx {
    embcl_tensor_t table, idx, out, gout;
    embcl_rowsparse_t sg;
    embcl_bags bags;
    embcl_embedding_options o;
    int64_t V, D, B, L;
} bag_ctx;

static void bag_release(void *p)
{
    bag_ctx *c = p;
    if (!c)
        return;
    embcl_tensor_free(c->table);
    embcl_tensor_free(c->idx);
    embcl_tensor_free(c->out);
    embcl_tensor_free(c->gout);
    embcl_rowsparse_free(c->sg);
    free(c);
}

static embcl_status bag_setup(embcl_device_t dev, int quick, void **ctx, char *desc, size_t cap)
{
    bag_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *ctx = c;
    c->V = quick ? 20000 : 200000;
    c->D = quick ? 64 : 128;
    c->B = quick ? 512 : 2048;
    c->L = 20;
    int64_t st[2] = {c->V, c->D}, si[2] = {c->B, c->L}, so[2] = {c->B, c->D};
    size_t n = (size_t)(c->B * c->L);
    int64_t *ids = malloc(n * sizeof *ids);
    if (!ids)
        return EMBCL_ERR_OUT_OF_MEMORY;
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) { /* a few hot rows, a long tail, as vocabularies have */
        double u = (double)(next(&s) >> 11) / 9007199254740992.0;
        ids[i] = (int64_t)((double)c->V * u * u * u) % c->V;
    }
    embcl_status st_ = embcl_tensor_create(dev, EMBCL_F32, 2, st, &c->table);
    if (st_ == EMBCL_OK)
        st_ = embcl_embedding_init_normal(c->table, 1, EMBCL_PADDING_NONE);
    if (st_ == EMBCL_OK)
        st_ = embcl_tensor_create(dev, EMBCL_I64, 2, si, &c->idx);
    if (st_ == EMBCL_OK)
        st_ = embcl_tensor_upload(c->idx, ids, n * sizeof *ids);
    if (st_ == EMBCL_OK)
        st_ = embcl_tensor_create(dev, EMBCL_F32, 2, so, &c->out);
    if (st_ == EMBCL_OK)
        st_ = embcl_tensor_create(dev, EMBCL_F32, 2, so, &c->gout);
    if (st_ == EMBCL_OK)
        st_ = upload_random(c->gout, 7);
    if (st_ == EMBCL_OK)
        st_ = embcl_rowsparse_create(dev, c->V, c->D, (int64_t)n, &c->sg);
    free(ids);
    c->bags.indices = c->idx;
    c->o = embcl_embedding_options_default();
    c->o.mode = EMBCL_BAG_MEAN;
    c->o.sparse = 1;
    snprintf(desc, cap, "V=%lld,D=%lld,B=%lld,L=%lld,mode=mean,dist=zipf", (long long)c->V, (long long)c->D,
             (long long)c->B, (long long)c->L);
    return st_;
}

static embcl_status bag_fwd_run(void *p)
{
    bag_ctx *c = p;
    return embcl_embedding_bag(c->table, &c->bags, &c->o, c->out, NULL);
}

static embcl_status bag_fwd_output(void *p, float **out, size_t *n)
{
    return download(((bag_ctx *)p)->out, out, n);
}

static embcl_status bag_bwd_run(void *p)
{
    bag_ctx *c = p;
    return embcl_embedding_bag_backward(c->gout, NULL, &c->bags, NULL, c->V, &c->o, NULL, c->sg, NULL);
}

/* ids (exact as floats below 2^24) then the rows */
static embcl_status bag_bwd_output(void *p, float **out, size_t *n)
{
    bag_ctx *c = p;
    size_t nnz = (size_t)embcl_rowsparse_nnz(c->sg), d = (size_t)c->D;
    *n = nnz + nnz * d;
    *out = malloc((*n ? *n : 1) * sizeof **out);
    int64_t *ids = malloc((nnz ? nnz : 1) * sizeof *ids);
    embcl_tensor_t ti = NULL, tv = NULL;
    embcl_status s = !*out || !ids ? EMBCL_ERR_OUT_OF_MEMORY : EMBCL_OK;
    if (s == EMBCL_OK && nnz > 0) {
        s = embcl_rowsparse_ids(c->sg, &ti);
        if (s == EMBCL_OK)
            s = embcl_tensor_download(ti, ids, nnz * sizeof *ids);
        if (s == EMBCL_OK)
            s = embcl_rowsparse_values(c->sg, &tv);
        if (s == EMBCL_OK)
            s = embcl_tensor_download(tv, *out + nnz, nnz * d * sizeof **out);
        for (size_t i = 0; s == EMBCL_OK && i < nnz; i++)
            (*out)[i] = (float)ids[i];
    }
    embcl_tensor_free(ti);
    embcl_tensor_free(tv);
    free(ids);
    return s;
}

/* ---- optimizers ---- */

typedef struct opt_ctx {
    embcl_tensor_t param, grad;
    embcl_rowsparse_t sg;
    embcl_optim_t opt;
} opt_ctx;

static void opt_release(void *p)
{
    opt_ctx *c = p;
    if (!c)
        return;
    embcl_optim_free(c->opt);
    embcl_tensor_free(c->param);
    embcl_tensor_free(c->grad);
    embcl_rowsparse_free(c->sg);
    free(c);
}

static embcl_status opt_with(embcl_device_t dev, opt_ctx *c, embcl_optim_kind kind)
{
    embcl_status s = embcl_optim_create(dev, kind, NULL, &c->opt);
    if (s == EMBCL_OK)
        s = embcl_optim_add_group(c->opt, NULL, NULL);
    if (s == EMBCL_OK)
        s = embcl_optim_add_param(c->opt, 0, c->param, "param", NULL);
    return s;
}

static embcl_status row_setup(embcl_device_t dev, int quick, void **ctx, char *desc, size_t cap)
{
    opt_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *ctx = c;
    int64_t V = quick ? 20000 : 200000, D = 64, nnz = quick ? 5000 : 40000, shape[2] = {V, D};
    int64_t *ids = malloc((size_t)nnz * sizeof *ids);
    float *rows = malloc((size_t)(nnz * D) * sizeof *rows);
    embcl_status s = !ids || !rows ? EMBCL_ERR_OUT_OF_MEMORY : EMBCL_OK;
    uint64_t seed = 11;
    for (int64_t i = 0; s == EMBCL_OK && i < nnz; i++) /* distinct rows, spread over the table */
        ids[i] = i * (V / nnz);
    for (int64_t i = 0; s == EMBCL_OK && i < nnz * D; i++)
        rows[i] = uniform(&seed);
    if (s == EMBCL_OK)
        s = embcl_tensor_create(dev, EMBCL_F32, 2, shape, &c->param);
    if (s == EMBCL_OK)
        s = upload_random(c->param, 3);
    if (s == EMBCL_OK)
        s = embcl_rowsparse_create(dev, V, D, nnz, &c->sg);
    if (s == EMBCL_OK)
        s = embcl_rowsparse_set(c->sg, nnz, ids, rows);
    if (s == EMBCL_OK)
        s = opt_with(dev, c, EMBCL_OPTIM_ROWWISE_ADAGRAD);
    free(ids);
    free(rows);
    snprintf(desc, cap, "V=%lld,D=%lld,nnz=%lld,optim=rowwise_adagrad", (long long)V, (long long)D, (long long)nnz);
    return s;
}

static embcl_status dense_setup(embcl_device_t dev, int quick, void **ctx, char *desc, size_t cap)
{
    opt_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *ctx = c;
    int64_t n = quick ? (int64_t)1 << 20 : (int64_t)1 << 23;
    embcl_status s = embcl_tensor_create(dev, EMBCL_F32, 1, &n, &c->param);
    if (s == EMBCL_OK)
        s = upload_random(c->param, 3);
    if (s == EMBCL_OK)
        s = embcl_tensor_create(dev, EMBCL_F32, 1, &n, &c->grad);
    if (s == EMBCL_OK)
        s = upload_random(c->grad, 5);
    if (s == EMBCL_OK)
        s = opt_with(dev, c, EMBCL_OPTIM_ADAM);
    snprintf(desc, cap, "N=%lld,optim=adam", (long long)n);
    return s;
}

static embcl_status opt_run(void *p)
{
    opt_ctx *c = p;
    embcl_grad g = {c->grad, c->sg};
    return embcl_optim_step(c->opt, &g, 1);
}

static embcl_status opt_output(void *p, float **out, size_t *n)
{
    return download(((opt_ctx *)p)->param, out, n);
}

static const tune_case bag_fwd = {"bag_fwd", "EmbeddingBag mean forward", bag_setup, bag_fwd_run, bag_fwd_output,
                                  bag_release};
static const tune_case bag_bwd = {"bag_bwd", "EmbeddingBag backward to a row-sparse gradient", bag_setup,
                                  bag_bwd_run, bag_bwd_output, bag_release};
static const tune_case sort = {"sort", "EmbeddingBag backward to a row-sparse gradient (sorts the ids)", bag_setup,
                               bag_bwd_run, bag_bwd_output, bag_release};
static const tune_case optim_row = {"optim_row", "row-wise Adagrad step, row-sparse gradient", row_setup, opt_run,
                                    opt_output, opt_release};
static const tune_case optim = {"optim", "Adam step, dense parameter", dense_setup, opt_run, opt_output, opt_release};

const tune_case *const tune_cases[] = {&bag_fwd, &bag_bwd, &sort, &optim_row, &optim};
const size_t tune_n_cases = sizeof tune_cases / sizeof tune_cases[0];

const tune_case *tune_case_for(const char *family)
{
    for (size_t i = 0; i < tune_n_cases; i++)
        if (strcmp(tune_cases[i]->family, family) == 0)
            return tune_cases[i];
    return NULL;
}
