/* Optimizer objects: creation, parameter groups, parameters and their
 * frozen parts, and the step driver that validates every gradient before
 * the first update is enqueued. The arithmetic lives in the families
 * (sgd.c, adam.c, adagrad.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "optim/optim_impl.h"

static const optim_family *const families[EMBCL_OPTIM_COUNT] = {
    &embcl_optim_sgd_family,         &embcl_optim_adam_family,           &embcl_optim_adamw_family,
    &embcl_optim_adagrad_family,     &embcl_optim_sparse_adam_family,    &embcl_optim_rowwise_adagrad_family,
};

const char *embcl_optim_kind_name(embcl_optim_kind kind)
{
    return (unsigned)kind < EMBCL_OPTIM_COUNT ? families[kind]->name : NULL;
}

embcl_optim_hparams embcl_optim_defaults(embcl_optim_kind kind)
{
    embcl_optim_hparams h;
    memset(&h, 0, sizeof h);
    switch (kind) {
    case EMBCL_OPTIM_SGD:
        h.lr = 1e-3;
        break;
    case EMBCL_OPTIM_ADAM:
    case EMBCL_OPTIM_ADAMW:
    case EMBCL_OPTIM_SPARSE_ADAM:
        h.lr = 1e-3;
        h.beta1 = 0.9;
        h.beta2 = 0.999;
        h.eps = 1e-8;
        h.weight_decay = kind == EMBCL_OPTIM_ADAMW ? 1e-2 : 0.0;
        break;
    case EMBCL_OPTIM_ADAGRAD:
        h.lr = 1e-2;
        h.eps = 1e-10;
        break;
    case EMBCL_OPTIM_ROWWISE_ADAGRAD:
        h.lr = 1e-2;
        h.eps = 1e-8;
        break;
    default:
        break;
    }
    return h;
}

embcl_status embcl_optim_check_nonneg(const char *fn, const char *opt, const char *what, const char *arg, double v)
{
    if (!(v >= 0.0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid %s value: %g (argument '%s')", opt, what, v, arg);
    return EMBCL_OK;
}

embcl_status embcl_optim_check_betas(const char *fn, const char *opt, const embcl_optim_hparams *hp)
{
    double b[2] = {hp->beta1, hp->beta2};
    for (int i = 0; i < 2; i++)
        if (!(b[i] >= 0.0 && b[i] < 1.0))
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid beta parameter at index %d: %g (argument 'beta%d')",
                               opt, i, b[i], i + 1);
    return EMBCL_OK;
}

/* Checks every optimizer shares, then the family's own. */
static embcl_status check_hparams(const optim_family *f, const char *fn, const embcl_optim_hparams *hp)
{
    if (!(hp->lr >= 0.0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid learning rate: %g (argument 'lr')", f->name, hp->lr);
    return f->check(fn, f->name, hp);
}

embcl_status embcl_optim_create(embcl_device_t dev, embcl_optim_kind kind, const embcl_optim_hparams *defaults,
                                embcl_optim_t *out)
{
    static const char *fn = "embcl_optim_create";
    EMBCL_CHECK_ARG(dev != NULL, fn, "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    EMBCL_CHECK_ARG((unsigned)kind < EMBCL_OPTIM_COUNT, fn, "argument 'kind' is %d, not an embcl_optim_kind",
                    (int)kind);
    embcl_optim_hparams hp = defaults ? *defaults : embcl_optim_defaults(kind);
    EMBCL_TRY(check_hparams(families[kind], fn, &hp));
    struct embcl_optim *o = embcl_calloc(1, sizeof *o, fn);
    if (!o)
        return EMBCL_ERR_OUT_OF_MEMORY;
    o->dev = dev;
    o->kind = kind;
    o->fam = families[kind];
    o->defaults = hp;
    *out = o;
    return EMBCL_OK;
}

static void param_clear(optim_param *p)
{
    embcl_tensor_free(p->t);
    for (size_t s = 0; s < p->n_state; s++)
        embcl_tensor_free(p->state[s]);
    embcl_tensor_free(p->rmask);
    embcl_tensor_free(p->cmask);
    free(p->row_frozen);
    free(p->col_frozen);
    free(p->name);
}

void embcl_optim_free(embcl_optim_t opt)
{
    if (!opt)
        return;
    optim_journal_close(opt);
    for (size_t i = 0; i < opt->n_params; i++)
        param_clear(&opt->params[i]);
    free(opt->params);
    free(opt->groups);
    free(opt);
}

size_t embcl_optim_param_count(embcl_optim_t opt) { return opt ? opt->n_params : 0; }
size_t embcl_optim_group_count(embcl_optim_t opt) { return opt ? opt->n_groups : 0; }

embcl_status embcl_optim_add_group(embcl_optim_t opt, const embcl_optim_hparams *hp, size_t *group)
{
    static const char *fn = "embcl_optim_add_group";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    embcl_optim_hparams h = hp ? *hp : opt->defaults;
    EMBCL_TRY(check_hparams(opt->fam, fn, &h));
    optim_group *g = embcl_realloc(opt->groups, (opt->n_groups + 1) * sizeof *g, fn);
    if (!g)
        return EMBCL_ERR_OUT_OF_MEMORY;
    opt->groups = g;
    g[opt->n_groups].hp = h;
    g[opt->n_groups].base_lr = h.lr;
    if (group)
        *group = opt->n_groups;
    opt->n_groups++;
    return EMBCL_OK;
}

/* Whether two tensors on one buffer share an element: as rectangles when
 * they have the same row stride, else by their element spans. */
static int overlaps(const struct embcl_tensor *a, const struct embcl_tensor *b)
{
    /* Split tensors over the same parts (views of one table) compare as one
     * buffer would: every part holds the same rows of each; any other
     * sharing counts as overlap. */
    if (embcl_tensor_is_split(a) || embcl_tensor_is_split(b)) {
        if (!embcl_tensor_shares_buffer((embcl_tensor_t)a, (embcl_tensor_t)b))
            return 0;
        if (a->n_parts != b->n_parts || a->part_rows != b->part_rows)
            return 1;
    }
    if (a->buf != b->buf || a->rows * a->cols == 0 || b->rows * b->cols == 0)
        return 0;
    if (a->ld == b->ld) {
        size_t ar = a->offset / a->ld, ac = a->offset % a->ld, br = b->offset / b->ld, bc = b->offset % b->ld;
        return ar < br + b->rows && br < ar + a->rows && ac < bc + b->cols && bc < ac + a->cols;
    }
    size_t a1 = a->offset + (a->rows - 1) * a->ld + a->cols, b1 = b->offset + (b->rows - 1) * b->ld + b->cols;
    return a->offset < b1 && b->offset < a1;
}

static embcl_status new_state(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                              const char *fn)
{
    const optim_family *f = opt->fam;
    p->n_state = f->n_state(hp);
    double init = f->state_init ? f->state_init(hp) : 0.0;
    for (size_t s = 0; s < p->n_state; s++) {
        int64_t shape[2] = {(int64_t)p->rows, (int64_t)p->cols};
        EMBCL_TRY(embcl_tensor_new(opt->dev, EMBCL_F32, f->rowwise_state ? 1 : 2, shape, fn, &p->state[s]));
        embcl_status st = embcl_tensor_fill(p->state[s], s == 0 ? init : 0.0);
        if (st != EMBCL_OK)
            return embcl_error_context(st, fn);
    }
    return EMBCL_OK;
}

embcl_status embcl_optim_add_param(embcl_optim_t opt, size_t group, embcl_tensor_t param, const char *name,
                                   size_t *index)
{
    static const char *fn = "embcl_optim_add_param";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_TRY(embcl_check_tensor_parts(param, fn, "param"));
    if (param->dtype != EMBCL_F32 && param->dtype != EMBCL_BF16)
        return embcl_error(EMBCL_ERR_DTYPE, fn, "argument 'param' has dtype %s, expected f32 or bf16",
                           embcl_dtype_name(param->dtype));
    /* bf16 tables are not split over buffers (yet): one buffer each */
    if (param->dtype == EMBCL_BF16)
        EMBCL_TRY(embcl_check_single(param, fn, "param"));
    if (group >= opt->n_groups)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'group' is %zu but the %s optimizer has %zu groups",
                           group, opt->fam->name, opt->n_groups);
    if (param->dev != opt->dev)
        return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn,
                           "argument 'param' is on device '%s' but the optimizer is on '%s'", param->dev->info.name,
                           opt->dev->info.name);
    for (size_t i = 0; i < opt->n_params; i++)
        if (overlaps(opt->params[i].t, param))
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "argument 'param' shares memory with parameter '%s' (index %zu) already added",
                               opt->params[i].name, i);
    optim_param *grown = embcl_realloc(opt->params, (opt->n_params + 1) * sizeof *grown, fn);
    if (!grown)
        return EMBCL_ERR_OUT_OF_MEMORY;
    opt->params = grown;
    optim_param *p = &opt->params[opt->n_params];
    memset(p, 0, sizeof *p);
    char auto_name[32];
    snprintf(auto_name, sizeof auto_name, "param%zu", opt->n_params);
    p->name = embcl_strdup(name ? name : auto_name, fn);
    p->t = embcl_malloc(sizeof *p->t, fn);
    embcl_status s = (p->name && p->t) ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK) {
        *p->t = *param;
        embcl_tensor_retain_parts(p->t);
        p->group = group;
        p->rows = param->rows;
        p->cols = param->cols;
        p->live_cols = param->cols;
        s = new_state(opt, p, &opt->groups[group].hp, fn);
    } else {
        free(p->t);
        p->t = NULL;
    }
    if (s != EMBCL_OK) {
        param_clear(p);
        return s;
    }
    if (index)
        *index = opt->n_params;
    opt->n_params++;
    return EMBCL_OK;
}

static embcl_status get_param(embcl_optim_t opt, size_t i, const char *fn, optim_param **out)
{
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    if (i >= opt->n_params)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'param' is %zu but the %s optimizer has %zu parameters",
                           i, opt->fam->name, opt->n_params);
    *out = &opt->params[i];
    return EMBCL_OK;
}

embcl_status embcl_optim_freeze(embcl_optim_t opt, size_t param, int frozen)
{
    optim_param *p = NULL;
    EMBCL_TRY(get_param(opt, param, "embcl_optim_freeze", &p));
    p->frozen = frozen != 0;
    return EMBCL_OK;
}

/* Set flags[a..b) of n to v, allocating the flags on first use. */
static embcl_status set_flags(unsigned char **flags, size_t n, int64_t a, int64_t b, int v, const char *fn,
                              const char *what, const char *pname)
{
    if (a < 0 || b < a || (uint64_t)b > n)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "%s [%lld, %lld) are outside parameter '%s''s %zu %s", what,
                           (long long)a, (long long)b, pname, n, what);
    if (!*flags) {
        *flags = embcl_calloc(n ? n : 1, 1, fn);
        if (!*flags)
            return EMBCL_ERR_OUT_OF_MEMORY;
    }
    memset(*flags + a, v != 0, (size_t)(b - a));
    return EMBCL_OK;
}

embcl_status embcl_optim_freeze_rows(embcl_optim_t opt, size_t param, int64_t r0, int64_t r1, int frozen)
{
    static const char *fn = "embcl_optim_freeze_rows";
    optim_param *p = NULL;
    EMBCL_TRY(get_param(opt, param, fn, &p));
    EMBCL_TRY(set_flags(&p->row_frozen, p->rows, r0, r1, frozen, fn, "rows", p->name));
    p->masks_dirty = 1;
    return EMBCL_OK;
}

embcl_status embcl_optim_freeze_cols(embcl_optim_t opt, size_t param, int64_t c0, int64_t c1, int frozen)
{
    static const char *fn = "embcl_optim_freeze_cols";
    optim_param *p = NULL;
    EMBCL_TRY(get_param(opt, param, fn, &p));
    EMBCL_TRY(set_flags(&p->col_frozen, p->cols, c0, c1, frozen, fn, "columns", p->name));
    p->live_cols = 0;
    for (size_t c = 0; c < p->cols; c++)
        p->live_cols += !p->col_frozen[c];
    p->masks_dirty = 1;
    return EMBCL_OK;
}

/* Bring one device mask in line with its host flags: none set, no mask. */
static embcl_status sync_mask(struct embcl_optim *opt, const unsigned char *flags, size_t n,
                              struct embcl_tensor **mask, const char *fn)
{
    int any = 0;
    for (size_t i = 0; flags && i < n && !any; i++)
        any = flags[i];
    if (!any) {
        embcl_tensor_free(*mask);
        *mask = NULL;
        return EMBCL_OK;
    }
    int *host = embcl_malloc(n * sizeof *host, fn);
    if (!host)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++)
        host[i] = flags[i];
    embcl_status s = EMBCL_OK;
    if (!*mask) {
        int64_t shape[1] = {(int64_t)n};
        s = embcl_tensor_new(opt->dev, EMBCL_I32, 1, shape, fn, mask);
    }
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(*mask, host, n * sizeof *host);
    free(host);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

embcl_status embcl_optim_sync_masks(struct embcl_optim *opt, optim_param *p, const char *fn)
{
    if (!p->masks_dirty)
        return EMBCL_OK;
    EMBCL_TRY(sync_mask(opt, p->row_frozen, p->rows, &p->rmask, fn));
    EMBCL_TRY(sync_mask(opt, p->col_frozen, p->cols, &p->cmask, fn));
    p->masks_dirty = 0;
    return EMBCL_OK;
}

embcl_status embcl_optim_group_hparams(embcl_optim_t opt, size_t group, embcl_optim_hparams *out)
{
    static const char *fn = "embcl_optim_group_hparams";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    if (group >= opt->n_groups)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'group' is %zu but the %s optimizer has %zu groups",
                           group, opt->fam->name, opt->n_groups);
    *out = opt->groups[group].hp;
    return EMBCL_OK;
}

embcl_status embcl_optim_set_lr(embcl_optim_t opt, size_t group, double lr)
{
    static const char *fn = "embcl_optim_set_lr";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    if (group >= opt->n_groups)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'group' is %zu but the %s optimizer has %zu groups",
                           group, opt->fam->name, opt->n_groups);
    if (!(lr >= 0.0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid learning rate: %g (argument 'lr', group %zu)",
                           opt->fam->name, lr, group);
    opt->groups[group].hp.lr = lr;
    return EMBCL_OK;
}

embcl_status embcl_optim_param_steps(embcl_optim_t opt, size_t param, int64_t *out)
{
    optim_param *p = NULL;
    EMBCL_TRY(get_param(opt, param, "embcl_optim_param_steps", &p));
    EMBCL_CHECK_ARG(out != NULL, "embcl_optim_param_steps", "argument 'out' is NULL");
    *out = p->steps;
    return EMBCL_OK;
}

embcl_status embcl_optim_state_names(embcl_optim_t opt, size_t param, size_t *n, const char **names, size_t cap)
{
    static const char *fn = "embcl_optim_state_names";
    optim_param *p = NULL;
    EMBCL_TRY(get_param(opt, param, fn, &p));
    EMBCL_CHECK_ARG(n != NULL, fn, "argument 'n' is NULL");
    *n = p->n_state;
    for (size_t s = 0; names && s < p->n_state && s < cap; s++)
        names[s] = opt->fam->state_names[s];
    return EMBCL_OK;
}

embcl_status embcl_optim_state_download(embcl_optim_t opt, size_t param, size_t which, float *host, size_t bytes)
{
    static const char *fn = "embcl_optim_state_download";
    optim_param *p = NULL;
    EMBCL_TRY(get_param(opt, param, fn, &p));
    if (which >= p->n_state)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "argument 'which' is %zu but parameter '%s' has %zu state tensors",
                           which, p->name, p->n_state);
    embcl_status s = embcl_tensor_download(p->state[which], host, bytes);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

embcl_status embcl_optim_sparse_allowed(struct embcl_optim *opt, size_t i, const char *fn)
{
    const optim_param *p = &opt->params[i];
    const optim_family *f = opt->fam;
    if (!f->takes_sparse)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "%s does not support sparse gradients%s (parameter '%s', index %zu)",
                           f->name, opt->kind == EMBCL_OPTIM_ADAM ? ", please consider SparseAdam instead" : "",
                           p->name, i);
    const char *why = f->sparse_refusal ? f->sparse_refusal(&opt->groups[p->group].hp) : NULL;
    if (why)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "%s: %s (parameter '%s', index %zu, group %zu)", f->name, why,
                           p->name, i, p->group);
    return EMBCL_OK;
}

/* Everything a step could refuse about one gradient. */
static embcl_status check_grad(struct embcl_optim *opt, size_t i, const embcl_grad *g, const char *fn)
{
    optim_param *p = &opt->params[i];
    const optim_family *f = opt->fam;
    if (g->dense && g->sparse)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "grads[%zu] (parameter '%s') has both a dense and a row-sparse gradient", i, p->name);
    if (g->dense) {
        const struct embcl_tensor *d = g->dense;
        if (!f->takes_dense)
            return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                               "%s does not support dense gradients, please consider Adam instead "
                               "(parameter '%s', index %zu)", f->name, p->name, i);
        EMBCL_TRY(embcl_check_dtype_parts(d, EMBCL_F32, fn, "grads[i].dense"));
        if (!embcl_same_shape(d, p->t)) {
            char a[96], b[96];
            return embcl_error(EMBCL_ERR_SHAPE, fn, "grads[%zu].dense has shape %s but parameter '%s' has %s", i,
                               embcl_shape_str(d, a, sizeof a), p->name, embcl_shape_str(p->t, b, sizeof b));
        }
        if (d->dev != opt->dev)
            return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn,
                               "grads[%zu].dense is on device '%s' but the optimizer is on '%s'", i,
                               d->dev->info.name, opt->dev->info.name);
        if (overlaps(d, p->t))
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "grads[%zu].dense shares memory with parameter '%s'", i,
                               p->name);
    }
    if (g->sparse) {
        EMBCL_TRY(embcl_optim_sparse_allowed(opt, i, fn));
        int64_t rows, dim;
        struct embcl_device *dev;
        EMBCL_TRY(embcl_optim_sparse_info(g->sparse, fn, &rows, &dim, &dev));
        if (rows != (int64_t)p->rows || dim != (int64_t)p->cols)
            return embcl_error(EMBCL_ERR_SHAPE, fn,
                               "grads[%zu].sparse is a [%lld, %lld] gradient but parameter '%s' is %zu x %zu", i,
                               (long long)rows, (long long)dim, p->name, p->rows, p->cols);
        if (dev != opt->dev)
            return embcl_error(EMBCL_ERR_DEVICE_MISMATCH, fn,
                               "grads[%zu].sparse is on another device than the optimizer ('%s')", i,
                               opt->dev->info.name);
    }
    return EMBCL_OK;
}

embcl_status embcl_optim_step(embcl_optim_t opt, const embcl_grad *grads, size_t n)
{
    static const char *fn = "embcl_optim_step";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_CHECK_ARG(grads != NULL || n == 0, fn, "argument 'grads' is NULL");
    if (n != opt->n_params)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'n' is %zu but the %s optimizer has %zu parameters", n,
                           opt->fam->name, opt->n_params);
    for (size_t i = 0; i < n; i++)
        EMBCL_TRY(check_grad(opt, i, &grads[i], fn));
    for (size_t i = 0; i < n; i++)
        EMBCL_TRY(embcl_optim_sync_masks(opt, &opt->params[i], fn));
    size_t mark = optim_journal_mark(opt);
    for (size_t i = 0; i < n; i++) {
        optim_param *p = &opt->params[i];
        if (p->frozen || (!grads[i].dense && !grads[i].sparse))
            continue;
        optim_src src = {grads[i].dense, NULL, 0, NULL, NULL, NULL};
        embcl_status s = EMBCL_OK;
        if (!grads[i].dense)
            s = embcl_optim_sparse_parts(grads[i].sparse, fn, &src.ids, &src.rows, &src.nnz);
        if (s == EMBCL_OK)
            s = embcl_optim_update(opt, i, &src, fn);
        if (s != EMBCL_OK)
            return embcl_optim_step_failed(opt, mark, s, fn);
    }
    return EMBCL_OK;
}

/* A row-sparse or fused gradient whose update moves every row: scattered
 * into a zeroed scratch, it goes through the dense path (journal included).
 * Nothing of the optimizer is written before that path starts. */
static embcl_status update_scattered(struct embcl_optim *opt, size_t i, const optim_src *src, const char *fn)
{
    optim_param *p = &opt->params[i];
    int64_t shape[2] = {(int64_t)p->rows, (int64_t)p->cols};
    struct embcl_tensor *dense;
    EMBCL_TRY(embcl_tensor_new(opt->dev, EMBCL_F32, 2, shape, fn, &dense));
    embcl_status s = embcl_tensor_fill(dense, 0.0);
    if (s != EMBCL_OK)
        s = embcl_error_context(s, fn);
    if (s == EMBCL_OK && src->nnz > 0) {
        /* fresh from the pool: offset 0, packed, split like the parameter
         * when the parameter is */
        struct embcl_tensor *st[] = {dense};
        s = embcl_optim_launch(opt, p, "rows_to_dense", src, 0, 1, st, 0, NULL);
    }
    if (s == EMBCL_OK) {
        optim_src d = {dense, NULL, 0, NULL, NULL, NULL};
        s = embcl_optim_update(opt, i, &d, fn);
    }
    embcl_tensor_free(dense);
    return s;
}

embcl_status embcl_optim_update(struct embcl_optim *opt, size_t i, const optim_src *src, const char *fn)
{
    optim_param *p = &opt->params[i];
    const optim_family *f = opt->fam;
    if (src->ids && f->sparse_moves_all && f->sparse_moves_all(&opt->groups[p->group].hp))
        return update_scattered(opt, i, src, fn);
    EMBCL_TRY(optim_journal_record(opt, i, src, fn));
    p->steps++;
    if (src->ids && src->nnz == 0)
        return EMBCL_OK;
    embcl_status s = opt->fam->update(opt, p, &opt->groups[p->group].hp, src);
    if (s != EMBCL_OK)
        p->steps--; /* one enqueue: it failed, nothing of it runs */
    return s;
}

embcl_status embcl_optim_step_failed(struct embcl_optim *opt, size_t mark, embcl_status s, const char *fn)
{
    embcl_error_context(s, fn);
    if (!opt->journal.open)
        return s;
    embcl_status u = optim_journal_undo(opt, mark, fn);
    return u == EMBCL_OK ? s : u;
}
