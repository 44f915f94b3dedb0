/* Running a case of tests/data/optim/steps.ref: the parameters and the
 * gradients of every step come from the integer hash below, which
 * tests/make_ref_optim.py computes the same way (exact float32 values), so
 * the reference files hold only what the optimizer produced. */
#ifndef EMBCL_TESTS_OPTIM_CASE_H
#define EMBCL_TESTS_OPTIM_CASE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

#define OC_STEPS 20
#define OC_MAX_PARAMS 2
#define OC_SPARSE_PICKS 7
#define OC_VIEW_PAD 3 /* extra columns around a parameter tested as a column view */

/* The suite's runtime, device and reference file (each test file has its
 * own copies). */
static embcl_runtime_t oc_rt;
static embcl_device_t oc_dev;
static ref_file *oc_ref;

/* A suite's .init: a runtime (with tuning overrides if not NULL) and the
 * reference file tests/data/<ref_rel> (NULL: none). */
static inline void oc_suite_init(const char *tuning, const char *ref_rel)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = tuning;
    oc_rt = test_runtime_with(&o);
    oc_dev = test_device(oc_rt);
    oc_ref = ref_rel ? ref_load(ref_path(ref_rel)) : NULL;
}

/* A suite's .fini: every tensor the test made must be freed by now. */
static inline void oc_suite_fini(void)
{
    if (oc_ref)
        ref_free(oc_ref);
    test_expect_no_tensors(oc_dev);
    embcl_runtime_free(oc_rt);
}

static inline uint32_t oc_h32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static inline uint32_t oc_hidx(uint32_t seed, uint32_t step, uint32_t i)
{
    return oc_h32(seed * 0x9e3779b1u + step * 0x85ebca77u + i);
}

/* A float in [-1, 1): 24 hash bits times 2^-23, exact in float. */
static inline float oc_uval(uint32_t seed, uint32_t step, uint32_t i)
{
    return (float)((double)(oc_hidx(seed, step, i) >> 8) / (double)(1u << 23) - 1.0);
}

typedef struct optim_run {
    const ref_case *c;
    embcl_device_t dev;
    embcl_optim_kind kind;
    embcl_optim_t opt;
    int n;
    int rows[OC_MAX_PARAMS], cols[OC_MAX_PARAMS], sparse[OC_MAX_PARAMS], group[OC_MAX_PARAMS];
    uint32_t seed;
    float scale;
    int skip_every, empty_step;
    int as_view;                            /* parameters are column views of wider tables */
    embcl_tensor_t table[OC_MAX_PARAMS];    /* what the view sits in (or the parameter itself) */
    embcl_tensor_t param[OC_MAX_PARAMS];
    embcl_tensor_t grad[OC_MAX_PARAMS];
    embcl_tensor_t gtable[OC_MAX_PARAMS];   /* what a column-view gradient sits in */
    embcl_rowsparse_t sgrad[OC_MAX_PARAMS];
} optim_run;

static inline embcl_optim_kind oc_kind(const char *name)
{
    for (int k = 0; k < EMBCL_OPTIM_COUNT; k++)
        if (strcmp(embcl_optim_kind_name((embcl_optim_kind)k), name) == 0)
            return (embcl_optim_kind)k;
    cr_assert_fail("unknown optimizer '%s' in the reference file", name);
    return EMBCL_OPTIM_COUNT;
}

static inline double oc_f(const ref_case *c, const char *key, double dflt)
{
    return ref_has_attr(c, key) ? ref_attr_f(c, key) : dflt;
}

/* The case's hyper-parameters for group g (group 1 takes g1_ overrides). */
static inline embcl_optim_hparams oc_hparams(const ref_case *c, embcl_optim_kind kind, int g)
{
    embcl_optim_hparams h = embcl_optim_defaults(kind);
    h.lr = oc_f(c, "lr", h.lr);
    h.weight_decay = oc_f(c, "weight_decay", h.weight_decay);
    h.momentum = oc_f(c, "momentum", h.momentum);
    h.dampening = oc_f(c, "dampening", h.dampening);
    h.nesterov = (int)oc_f(c, "nesterov", h.nesterov);
    h.beta1 = oc_f(c, "beta1", h.beta1);
    h.beta2 = oc_f(c, "beta2", h.beta2);
    h.eps = oc_f(c, "eps", h.eps);
    h.amsgrad = (int)oc_f(c, "amsgrad", h.amsgrad);
    h.lr_decay = oc_f(c, "lr_decay", h.lr_decay);
    h.initial_accumulator_value = oc_f(c, "initial_accumulator_value", h.initial_accumulator_value);
    h.wd_mode = (embcl_wd_mode)(int)oc_f(c, "wd_mode", h.wd_mode);
    if (g == 1) {
        h.lr = oc_f(c, "g1_lr", h.lr);
        h.weight_decay = oc_f(c, "g1_weight_decay", h.weight_decay);
    }
    return h;
}

static inline void oc_init_values(const optim_run *r, int k, float *out)
{
    uint32_t seed = r->seed + 101u * (uint32_t)k;
    for (int i = 0; i < r->rows[k] * r->cols[k]; i++)
        out[i] = oc_uval(seed, 1000, (uint32_t)i);
}

/* Build the optimizer and the parameters of case c on dev. */
static inline void oc_setup(optim_run *r, embcl_device_t dev, const ref_case *c, int as_view)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->dev = dev;
    r->as_view = as_view;
    r->kind = oc_kind(ref_attr_str(c, "opt"));
    r->n = (int)ref_attr_int(c, "n_params");
    r->seed = (uint32_t)ref_attr_int(c, "seed");
    r->scale = (float)oc_f(c, "gscale", 1.0);
    r->skip_every = (int)oc_f(c, "p1_skip_every", 0);
    r->empty_step = (int)oc_f(c, "empty_step", 0);
    embcl_optim_hparams h0 = oc_hparams(c, r->kind, 0);
    TEST_OK(embcl_optim_create(dev, r->kind, &h0, &r->opt));
    int groups = 0;
    for (int k = 0; k < r->n; k++) {
        char key[32];
        snprintf(key, sizeof key, "p%d_rows", k);
        r->rows[k] = (int)ref_attr_int(c, key);
        snprintf(key, sizeof key, "p%d_cols", k);
        r->cols[k] = (int)ref_attr_int(c, key);
        snprintf(key, sizeof key, "p%d_sparse", k);
        r->sparse[k] = (int)ref_attr_int(c, key);
        snprintf(key, sizeof key, "p%d_group", k);
        r->group[k] = (int)ref_attr_int(c, key);
        if (r->group[k] + 1 > groups)
            groups = r->group[k] + 1;
    }
    for (int g = 0; g < groups; g++) {
        embcl_optim_hparams h = oc_hparams(c, r->kind, g);
        TEST_OK(embcl_optim_add_group(r->opt, &h, NULL));
    }
    for (int k = 0; k < r->n; k++) {
        size_t n = (size_t)r->rows[k] * (size_t)r->cols[k];
        float *init = malloc(n * sizeof *init);
        oc_init_values(r, k, init);
        int64_t shape[2] = {r->rows[k], r->cols[k]};
        if (as_view) {
            int64_t wide[2] = {r->rows[k], r->cols[k] + 2 * OC_VIEW_PAD};
            r->table[k] = test_tensor_f32(dev, 2, wide, NULL);
            TEST_OK(embcl_tensor_fill(r->table[k], 7.0));
            TEST_OK(embcl_tensor_view_cols(r->table[k], OC_VIEW_PAD, OC_VIEW_PAD + r->cols[k], &r->param[k]));
            TEST_OK(embcl_tensor_upload(r->param[k], init, n * sizeof *init));
        } else {
            r->param[k] = test_tensor_f32(dev, 2, shape, init);
        }
        free(init);
        if (as_view) { /* the gradient too: a column view at another offset */
            int64_t wide[2] = {r->rows[k], r->cols[k] + 1};
            r->gtable[k] = test_tensor_f32(dev, 2, wide, NULL);
            TEST_OK(embcl_tensor_view_cols(r->gtable[k], 1, 1 + r->cols[k], &r->grad[k]));
        } else {
            r->grad[k] = test_tensor_f32(dev, 2, shape, NULL);
        }
        char name[16];
        snprintf(name, sizeof name, "p%d", k);
        TEST_OK(embcl_optim_add_param(r->opt, (size_t)r->group[k], r->param[k], name, NULL));
    }
}

/* The gradients of step t (1-based) into r->grad / r->sgrad and g[]. */
static inline void oc_grads(optim_run *r, int t, embcl_grad *g)
{
    for (int k = 0; k < r->n; k++) {
        g[k].dense = NULL;
        g[k].sparse = NULL;
        if (k == 1 && r->skip_every && t % r->skip_every == 0)
            continue;
        uint32_t seed = r->seed + 101u * (uint32_t)k;
        int rows = r->rows[k], cols = r->cols[k];
        if (r->sparse[k]) {
            int64_t ids[OC_SPARSE_PICKS];
            float vals[OC_SPARSE_PICKS * 64];
            cr_assert(cols <= 64);
            int64_t nnz = t == r->empty_step ? 0 : OC_SPARSE_PICKS;
            int64_t base = (t % 4) * 2;
            for (int j = 0; j < nnz; j++)
                ids[j] = ((int64_t)(oc_hidx(seed, (uint32_t)t, 5000u + (uint32_t)j) % 5u) + base) % (rows - 1);
            for (int i = 0; i < nnz * cols; i++)
                vals[i] = oc_uval(seed, (uint32_t)t, 10000u + (uint32_t)i) * r->scale;
            if (!r->sgrad[k])
                TEST_OK(embcl_rowsparse_create(r->dev, rows, cols, OC_SPARSE_PICKS, &r->sgrad[k]));
            TEST_OK(embcl_rowsparse_set(r->sgrad[k], nnz, ids, vals));
            g[k].sparse = r->sgrad[k];
        } else {
            size_t n = (size_t)rows * (size_t)cols;
            float *host = malloc(n * sizeof *host);
            for (size_t i = 0; i < n; i++)
                host[i] = oc_uval(seed, (uint32_t)t, (uint32_t)i) * r->scale;
            TEST_OK(embcl_tensor_upload(r->grad[k], host, n * sizeof *host));
            free(host);
            g[k].dense = r->grad[k];
        }
    }
}

static inline void oc_step(optim_run *r, int t)
{
    embcl_grad g[OC_MAX_PARAMS];
    oc_grads(r, t, g);
    TEST_OK(embcl_optim_step(r->opt, g, (size_t)r->n));
}

static inline float *oc_download(embcl_tensor_t t)
{
    size_t n = (size_t)embcl_tensor_numel(t);
    float *h = malloc((n ? n : 1) * sizeof *h);
    TEST_OK(embcl_tensor_download(t, h, n * sizeof *h));
    return h;
}

/* Parameters after step t against the reference (p<k>_step<t>). */
static inline void oc_check_params_tol(optim_run *r, int t, double rtol, double atol)
{
    for (int k = 0; k < r->n; k++) {
        char name[32], what[256];
        snprintf(name, sizeof name, "p%d_step%d", k, t);
        const ref_tensor *want = ref_tensor_need(r->c, name);
        float *got = oc_download(r->param[k]);
        snprintf(what, sizeof what, "%s: %s", r->c->name, name);
        test_assert_close(got, want->f32, (size_t)want->numel, rtol, atol, what);
        free(got);
    }
}

static inline void oc_check_params(optim_run *r, int t, double rtol) { oc_check_params_tol(r, t, rtol, 1e-6); }

/* State tensors and step counts against the reference (p<k>_<state>). */
static inline void oc_check_state_tol(optim_run *r, double rtol, double atol)
{
    for (int k = 0; k < r->n; k++) {
        char key[64], what[256];
        snprintf(key, sizeof key, "p%d_steps", k);
        if (ref_has_attr(r->c, key)) {
            int64_t steps;
            TEST_OK(embcl_optim_param_steps(r->opt, (size_t)k, &steps));
            cr_assert_eq(steps, ref_attr_int(r->c, key), "%s: %s is %lld", r->c->name, key, (long long)steps);
        }
        size_t ns;
        const char *names[4];
        TEST_OK(embcl_optim_state_names(r->opt, (size_t)k, &ns, names, 4));
        for (size_t s = 0; s < ns; s++) {
            snprintf(key, sizeof key, "p%d_%s", k, names[s]);
            const ref_tensor *want = ref_tensor_need(r->c, key);
            float *got = malloc((size_t)want->numel * sizeof *got);
            TEST_OK(embcl_optim_state_download(r->opt, (size_t)k, s, got, (size_t)want->numel * sizeof *got));
            snprintf(what, sizeof what, "%s: %s", r->c->name, key);
            test_assert_close(got, want->f32, (size_t)want->numel, rtol, atol, what);
            free(got);
        }
    }
}

static inline void oc_check_state(optim_run *r, double rtol) { oc_check_state_tol(r, rtol, 1e-6); }

static inline void oc_free(optim_run *r)
{
    for (int k = 0; k < r->n; k++) {
        embcl_tensor_free(r->param[k]);
        embcl_tensor_free(r->table[k]);
        embcl_tensor_free(r->grad[k]);
        embcl_tensor_free(r->gtable[k]);
        embcl_rowsparse_free(r->sgrad[k]);
    }
    embcl_optim_free(r->opt);
}

/* Case `name` for 20 steps: parameters after steps 1, 5 and 20 and the
 * state after 20 against the reference within rtol/atol; as_view: each
 * parameter is a column view inside a wider table whose other columns must
 * not move. */
static inline void oc_run_tol(embcl_device_t dev, const ref_file *ref, const char *name, int as_view, double rtol,
                              double atol)
{
    const ref_case *c = ref_case_get(ref, name);
    cr_assert(c != NULL, "no case %s in steps.ref", name);
    optim_run r;
    oc_setup(&r, dev, c, as_view);
    for (int t = 1; t <= OC_STEPS; t++) {
        oc_step(&r, t);
        if (t == 1 || t == 5 || t == OC_STEPS)
            oc_check_params_tol(&r, t, rtol, atol);
    }
    oc_check_state_tol(&r, rtol, atol);
    for (int k = 0; as_view && k < r.n; k++) {
        float *all = oc_download(r.table[k]);
        int w = r.cols[k] + 2 * OC_VIEW_PAD;
        for (int i = 0; i < r.rows[k]; i++)
            for (int j = 0; j < w; j++)
                if (j < OC_VIEW_PAD || j >= OC_VIEW_PAD + r.cols[k])
                    cr_assert_eq(all[i * w + j], 7.0f, "%s: table[%d][%d] outside the view changed", name, i, j);
        free(all);
    }
    oc_free(&r);
}

/* oc_run_tol at the case's own tolerance (attrs rtol, atol), else 1e-4
 * relative: float rounding differs from PyTorch's CPU kernels by a few ulps
 * a step, and 20 steps stay well inside. */
static inline void oc_run(embcl_device_t dev, const ref_file *ref, const char *name, int as_view)
{
    const ref_case *c = ref_case_get(ref, name);
    cr_assert(c != NULL, "no case %s in steps.ref", name);
    oc_run_tol(dev, ref, name, as_view, oc_f(c, "rtol", 1e-4), oc_f(c, "atol", 1e-6));
}

#endif
