/* Optimizer state as bytes: groups' hyper-parameters, each parameter's
 * step count and state tensors. Layout (little-endian):
 *   "EMBCLOPT" u32 version u32 kind u64 n_groups
 *   per group: 12 f64 (lr, weight_decay, momentum, dampening, beta1, beta2,
 *              eps, lr_decay, initial_accumulator_value, base_lr, and
 *              nesterov, amsgrad as 0/1) then i64 wd_mode
 *   u64 n_params; per parameter: u64 group rows cols, i64 steps, u64 n_state,
 *              then per state u64 numel and numel f32.
 * Loading parses and checks the whole buffer against this optimizer before
 * it writes anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "optim/optim_impl.h"

#define STATE_MAGIC "EMBCLOPT"
#define STATE_VERSION 1u
#define GROUP_F64 12

typedef struct writer {
    unsigned char *p;
    size_t n;
} writer;

static void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        if (w->p)
            w->p[w->n + i] = (unsigned char)(v >> (8 * i));
    w->n += 8;
}

static void put_f64(writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(w, v);
}

static void put_bytes(writer *w, const void *b, size_t n)
{
    if (w->p)
        memcpy(w->p + w->n, b, n);
    w->n += n;
}

static size_t state_numel(const struct embcl_optim *opt, const optim_param *p)
{
    return opt->fam->rowwise_state ? p->rows : p->rows * p->cols;
}

static void group_fields(const optim_group *g, double f[GROUP_F64])
{
    const embcl_optim_hparams *h = &g->hp;
    double v[GROUP_F64] = {h->lr,       h->weight_decay, h->momentum,
                           h->dampening, h->beta1,        h->beta2,
                           h->eps,      h->lr_decay,     h->initial_accumulator_value,
                           g->base_lr,  h->nesterov != 0, h->amsgrad != 0};
    memcpy(f, v, sizeof v);
}

/* Everything but the state values: with a NULL buffer, only counts. */
static embcl_status write_all(struct embcl_optim *opt, writer *w, const char *fn)
{
    put_bytes(w, STATE_MAGIC, 8);
    put_u64(w, STATE_VERSION | ((uint64_t)opt->kind << 32));
    put_u64(w, opt->n_groups);
    for (size_t g = 0; g < opt->n_groups; g++) {
        double f[GROUP_F64];
        group_fields(&opt->groups[g], f);
        for (int i = 0; i < GROUP_F64; i++)
            put_f64(w, f[i]);
        put_u64(w, (uint64_t)opt->groups[g].hp.wd_mode);
    }
    put_u64(w, opt->n_params);
    for (size_t i = 0; i < opt->n_params; i++) {
        const optim_param *p = &opt->params[i];
        put_u64(w, p->group);
        put_u64(w, p->rows);
        put_u64(w, p->cols);
        put_u64(w, (uint64_t)p->steps);
        put_u64(w, p->n_state);
        size_t numel = state_numel(opt, p);
        for (size_t s = 0; s < p->n_state; s++) {
            put_u64(w, numel);
            if (w->p) {
                /* floats go out as their bit patterns in little-endian order */
                float *tmp = embcl_malloc(numel ? numel * 4 : 1, fn);
                if (!tmp)
                    return EMBCL_ERR_OUT_OF_MEMORY;
                embcl_status st = embcl_tensor_download(p->state[s], tmp, numel * 4);
                for (size_t k = 0; k < numel && st == EMBCL_OK; k++) {
                    uint32_t b;
                    memcpy(&b, &tmp[k], 4);
                    for (int j = 0; j < 4; j++)
                        w->p[w->n + 4 * k + (size_t)j] = (unsigned char)(b >> (8 * j));
                }
                free(tmp);
                if (st != EMBCL_OK)
                    return embcl_error_context(st, fn);
            }
            w->n += numel * 4;
        }
    }
    return EMBCL_OK;
}

embcl_status embcl_optim_state_size(embcl_optim_t opt, size_t *bytes)
{
    static const char *fn = "embcl_optim_state_size";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_CHECK_ARG(bytes != NULL, fn, "argument 'bytes' is NULL");
    writer w = {NULL, 0};
    EMBCL_TRY(write_all(opt, &w, fn));
    *bytes = w.n;
    return EMBCL_OK;
}

embcl_status embcl_optim_state_save(embcl_optim_t opt, void *buf, size_t cap, size_t *written)
{
    static const char *fn = "embcl_optim_state_save";
    size_t need;
    EMBCL_TRY(embcl_optim_state_size(opt, &need));
    EMBCL_CHECK_ARG(buf != NULL, fn, "argument 'buf' is NULL");
    if (cap < need)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'cap' is %zu but the %s state needs %zu bytes", cap,
                           opt->fam->name, need);
    writer w = {buf, 0};
    EMBCL_TRY(write_all(opt, &w, fn));
    if (written)
        *written = w.n;
    return EMBCL_OK;
}

typedef struct reader {
    const unsigned char *p;
    size_t n, at;
    int short_read;
} reader;

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    if (r->at + 8 > r->n) {
        r->short_read = 1;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->at + i] << (8 * i);
    r->at += 8;
    return v;
}

static double get_f64(reader *r)
{
    uint64_t v = get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static embcl_status bad(const char *fn, const char *what, unsigned long long got, unsigned long long want)
{
    return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: %s is %llu, this optimizer has %llu", what, got, want);
}

/* Parse and check the whole buffer; groups go to `groups`, and each state
 * tensor's offset in the buffer to `where` (n_params x OPTIM_MAX_STATE). */
static embcl_status parse(struct embcl_optim *opt, reader *r, optim_group *groups, size_t *where, int64_t *steps,
                          const char *fn)
{
    if (r->n < 8 || memcmp(r->p, STATE_MAGIC, 8) != 0)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: the bytes do not start with '%s'", STATE_MAGIC);
    r->at = 8;
    uint64_t vk = get_u64(r);
    if ((vk & 0xffffffffu) != STATE_VERSION)
        return bad(fn, "the format version", vk & 0xffffffffu, STATE_VERSION);
    if ((vk >> 32) != (uint64_t)opt->kind) {
        const char *saved = (vk >> 32) < EMBCL_OPTIM_COUNT ? embcl_optim_kind_name((embcl_optim_kind)(vk >> 32)) : NULL;
        return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: saved from a %s optimizer, this one is %s",
                           saved ? saved : "unknown", opt->fam->name);
    }
    uint64_t ng = get_u64(r);
    if (!r->short_read && ng != opt->n_groups)
        return bad(fn, "the number of groups", ng, opt->n_groups);
    for (size_t g = 0; g < opt->n_groups && !r->short_read; g++) {
        double f[GROUP_F64];
        for (int i = 0; i < GROUP_F64; i++)
            f[i] = get_f64(r);
        embcl_optim_hparams *h = &groups[g].hp;
        h->lr = f[0], h->weight_decay = f[1], h->momentum = f[2], h->dampening = f[3], h->beta1 = f[4];
        h->beta2 = f[5], h->eps = f[6], h->lr_decay = f[7], h->initial_accumulator_value = f[8];
        groups[g].base_lr = f[9];
        h->nesterov = f[10] != 0.0;
        h->amsgrad = f[11] != 0.0;
        h->wd_mode = (embcl_wd_mode)get_u64(r);
        if (r->short_read)
            break;
        embcl_status s = opt->fam->check(fn, opt->fam->name, h);
        if (s == EMBCL_OK && !(h->lr >= 0.0))
            s = embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid learning rate: %g", opt->fam->name, h->lr);
        if (s != EMBCL_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", embcl_last_error());
            return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state, group %zu: %s", g, why);
        }
    }
    uint64_t np = get_u64(r);
    if (!r->short_read && np != opt->n_params)
        return bad(fn, "the number of parameters", np, opt->n_params);
    for (size_t i = 0; i < opt->n_params && !r->short_read; i++) {
        const optim_param *p = &opt->params[i];
        uint64_t gi = get_u64(r), rows = get_u64(r), cols = get_u64(r);
        steps[i] = (int64_t)get_u64(r);
        uint64_t ns = get_u64(r);
        if (r->short_read)
            break;
        if (gi != p->group)
            return bad(fn, "a parameter's group", gi, p->group);
        if (rows != p->rows || cols != p->cols)
            return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: parameter %zu is %llu x %llu, '%s' is %zu x %zu",
                               i, (unsigned long long)rows, (unsigned long long)cols, p->name, p->rows, p->cols);
        if (ns != p->n_state || ns != opt->fam->n_state(&groups[gi].hp))
            return bad(fn, "a parameter's number of state tensors", ns, p->n_state);
        if (steps[i] < 0)
            return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: parameter %zu has %lld steps", i,
                               (long long)steps[i]);
        for (size_t s = 0; s < ns; s++) {
            uint64_t numel = get_u64(r);
            if (!r->short_read && numel != state_numel(opt, p))
                return bad(fn, "a state tensor's size", numel, state_numel(opt, p));
            where[i * OPTIM_MAX_STATE + s] = r->at;
            if (r->short_read || r->n - r->at < numel * 4) {
                r->short_read = 1;
                break;
            }
            r->at += numel * 4;
        }
    }
    if (r->short_read)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: the %zu bytes end before the state does", r->n);
    if (r->at != r->n)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "optimizer state: %zu bytes follow the end of the state",
                           r->n - r->at);
    return EMBCL_OK;
}

static embcl_status upload_states(struct embcl_optim *opt, const unsigned char *buf, const size_t *where,
                                  const char *fn)
{
    for (size_t i = 0; i < opt->n_params; i++) {
        optim_param *p = &opt->params[i];
        size_t numel = state_numel(opt, p);
        float *tmp = embcl_malloc(numel ? numel * 4 : 1, fn);
        if (!tmp)
            return EMBCL_ERR_OUT_OF_MEMORY;
        embcl_status s = EMBCL_OK;
        for (size_t k = 0; k < p->n_state && s == EMBCL_OK; k++) {
            const unsigned char *src = buf + where[i * OPTIM_MAX_STATE + k];
            for (size_t e = 0; e < numel; e++) {
                uint32_t b = (uint32_t)src[4 * e] | (uint32_t)src[4 * e + 1] << 8 | (uint32_t)src[4 * e + 2] << 16 |
                             (uint32_t)src[4 * e + 3] << 24;
                memcpy(&tmp[e], &b, 4);
            }
            s = embcl_tensor_upload(p->state[k], tmp, numel * 4);
        }
        free(tmp);
        if (s != EMBCL_OK)
            return embcl_error_context(s, fn);
    }
    return EMBCL_OK;
}

embcl_status embcl_optim_state_load(embcl_optim_t opt, const void *buf, size_t len)
{
    static const char *fn = "embcl_optim_state_load";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_CHECK_ARG(buf != NULL || len == 0, fn, "argument 'buf' is NULL");
    optim_group *groups = embcl_calloc(opt->n_groups + 1, sizeof *groups, fn);
    size_t *where = embcl_calloc(opt->n_params * OPTIM_MAX_STATE + 1, sizeof *where, fn);
    int64_t *steps = embcl_calloc(opt->n_params + 1, sizeof *steps, fn);
    embcl_status s = (groups && where && steps) ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    reader r = {buf, len, 0, 0};
    if (s == EMBCL_OK)
        s = parse(opt, &r, groups, where, steps, fn);
    if (s == EMBCL_OK)
        s = upload_states(opt, buf, where, fn);
    if (s == EMBCL_OK) {
        memcpy(opt->groups, groups, opt->n_groups * sizeof *groups);
        for (size_t i = 0; i < opt->n_params; i++)
            opt->params[i].steps = steps[i];
    }
    free(groups);
    free(where);
    free(steps);
    return s;
}

embcl_status embcl_optim_state_save_file(embcl_optim_t opt, const char *path)
{
    static const char *fn = "embcl_optim_state_save_file";
    EMBCL_CHECK_ARG(path != NULL, fn, "argument 'path' is NULL");
    size_t n;
    EMBCL_TRY(embcl_optim_state_size(opt, &n));
    unsigned char *buf = embcl_malloc(n, fn);
    if (!buf)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_optim_state_save(opt, buf, n, NULL);
    if (s == EMBCL_OK) {
        FILE *f = fopen(path, "wb");
        if (!f)
            s = embcl_error(EMBCL_ERR_IO, fn, "cannot open '%s' for writing", path);
        else {
            size_t wrote = fwrite(buf, 1, n, f);
            if (fclose(f) != 0 || wrote != n)
                s = embcl_error(EMBCL_ERR_IO, fn, "could not write %zu bytes to '%s'", n, path);
        }
    }
    free(buf);
    return s;
}

embcl_status embcl_optim_state_load_file(embcl_optim_t opt, const char *path)
{
    static const char *fn = "embcl_optim_state_load_file";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_CHECK_ARG(path != NULL, fn, "argument 'path' is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return embcl_error(EMBCL_ERR_IO, fn, "cannot open '%s'", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    embcl_status s = EMBCL_OK;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *g = embcl_realloc(buf, cap, fn);
            if (!g) {
                s = EMBCL_ERR_OUT_OF_MEMORY;
                break;
            }
            buf = g;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (s == EMBCL_OK && ferror(f))
        s = embcl_error(EMBCL_ERR_IO, fn, "error reading '%s'", path);
    fclose(f);
    if (s == EMBCL_OK) {
        s = embcl_optim_state_load(opt, buf, n);
        if (s != EMBCL_OK)
            s = embcl_error_context(s, fn);
    }
    free(buf);
    return s;
}
