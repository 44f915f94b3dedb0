/* Learning-rate schedules in PyTorch's closed forms (StepLR,
 * CosineAnnealingLR, LinearLR, and a linear warm-up into a cosine). */
#include <math.h>

#include "core/error.h"
#include "optim/optim_impl.h"

static embcl_status check(const embcl_lr_schedule *s, const char *fn)
{
    EMBCL_CHECK_ARG(s != NULL, fn, "argument 's' is NULL");
    switch (s->kind) {
    case EMBCL_LR_STEP:
        EMBCL_CHECK_ARG(s->step_size > 0, fn, "StepLR: step_size is %lld; it must be > 0", (long long)s->step_size);
        return EMBCL_OK;
    case EMBCL_LR_COSINE:
    case EMBCL_LR_WARMUP_COSINE:
    case EMBCL_LR_LINEAR:
        EMBCL_CHECK_ARG(s->kind == EMBCL_LR_LINEAR || s->t_max > 0, fn,
                        "CosineAnnealingLR: T_max is %lld; it must be > 0", (long long)s->t_max);
        if (s->kind == EMBCL_LR_COSINE)
            return EMBCL_OK;
        /* the warm-up half of WARMUP_COSINE is a LinearLR */
        EMBCL_CHECK_ARG(s->start_factor > 0.0 && s->start_factor <= 1.0, fn,
                        "LinearLR: Starting multiplicative factor expected to be greater than 0 and less or "
                        "equal to 1 (start_factor %g)", s->start_factor);
        EMBCL_CHECK_ARG(s->kind != EMBCL_LR_LINEAR || (s->end_factor >= 0.0 && s->end_factor <= 1.0), fn,
                        "LinearLR: Ending multiplicative factor expected to be between 0 and 1 (end_factor %g)",
                        s->end_factor);
        EMBCL_CHECK_ARG(s->total_iters > 0, fn, "LinearLR: total_iters is %lld; it must be > 0",
                        (long long)s->total_iters);
        return EMBCL_OK;
    default:
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 's' has kind %d, not an embcl_lr_kind", (int)s->kind);
    }
}

static double linear(double base, double start, double end, int64_t total, int64_t epoch)
{
    double e = (double)(epoch < total ? epoch : total);
    return base * (start + (end - start) * e / (double)total);
}

static double cosine(double base, double eta_min, int64_t t_max, int64_t epoch)
{
    return eta_min + (base - eta_min) * (1.0 + cos(3.14159265358979323846 * (double)epoch / (double)t_max)) / 2.0;
}

static double lr_at(const embcl_lr_schedule *s, double base, int64_t epoch)
{
    switch (s->kind) {
    case EMBCL_LR_STEP:
        return base * pow(s->gamma, (double)(epoch / s->step_size));
    case EMBCL_LR_COSINE:
        return cosine(base, s->eta_min, s->t_max, epoch);
    case EMBCL_LR_LINEAR:
        return linear(base, s->start_factor, s->end_factor, s->total_iters, epoch);
    default:
        return epoch < s->total_iters ? linear(base, s->start_factor, 1.0, s->total_iters, epoch)
                                      : cosine(base, s->eta_min, s->t_max, epoch - s->total_iters);
    }
}

embcl_status embcl_lr_at(const embcl_lr_schedule *s, double base_lr, int64_t epoch, double *lr)
{
    static const char *fn = "embcl_lr_at";
    EMBCL_TRY(check(s, fn));
    EMBCL_CHECK_ARG(epoch >= 0, fn, "argument 'epoch' is %lld; it must be >= 0", (long long)epoch);
    EMBCL_CHECK_ARG(lr != NULL, fn, "argument 'lr' is NULL");
    *lr = lr_at(s, base_lr, epoch);
    return EMBCL_OK;
}

embcl_status embcl_optim_schedule(embcl_optim_t opt, const embcl_lr_schedule *s, int64_t epoch)
{
    static const char *fn = "embcl_optim_schedule";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_TRY(check(s, fn));
    EMBCL_CHECK_ARG(epoch >= 0, fn, "argument 'epoch' is %lld; it must be >= 0", (long long)epoch);
    for (size_t g = 0; g < opt->n_groups; g++) {
        double lr = lr_at(s, opt->groups[g].base_lr, epoch);
        if (!(lr >= 0.0))
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid learning rate: %g (group %zu, epoch %lld)",
                               opt->fam->name, lr, g, (long long)epoch);
    }
    for (size_t g = 0; g < opt->n_groups; g++)
        opt->groups[g].hp.lr = lr_at(s, opt->groups[g].base_lr, epoch);
    return EMBCL_OK;
}
