/* bf16 parameters: how their updates round (include/embcl/bf16.h), the
 * kernel variant and arguments that carry it (kernels/bf16.h) and the
 * vector width their elementwise updates take. */
#include "core/error.h"
#include "device/tuning.h"
#include "embcl/bf16.h"
#include "ops/random.h"
#include "optim/optim_impl.h"

embcl_status embcl_optim_set_bf16_rounding(embcl_optim_t opt, embcl_bf16_rounding mode, uint64_t seed)
{
    static const char *fn = "embcl_optim_set_bf16_rounding";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    if ((unsigned)mode >= EMBCL_BF16_ROUNDING_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "argument 'mode' is %d; it is EMBCL_BF16_STOCHASTIC (0) or EMBCL_BF16_NEAREST (1)",
                           (int)mode);
    opt->bf16_round = (int)mode;
    opt->bf16_seed = seed;
    return EMBCL_OK;
}

embcl_status embcl_optim_get_bf16_rounding(embcl_optim_t opt, embcl_bf16_rounding *mode, uint64_t *seed)
{
    static const char *fn = "embcl_optim_get_bf16_rounding";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    if (mode)
        *mode = (embcl_bf16_rounding)opt->bf16_round;
    if (seed)
        *seed = opt->bf16_seed;
    return EMBCL_OK;
}

/* The rounding is a build, not a kernel argument: a flag tested in every
 * vector store cost the fused steps' bf16 kernels up to 10% on PoCL. */
const char *optim_bf16_define(const struct embcl_optim *opt, const optim_param *p)
{
    if (p->t->dtype != EMBCL_BF16)
        return "";
    return opt->bf16_round == EMBCL_BF16_STOCHASTIC ? " -DTABLE_BF16=1 -DTABLE_SR=1" : " -DTABLE_BF16=1 -DTABLE_SR=0";
}

size_t optim_bf16_vw(struct embcl_device *dev, const optim_param *p, int rowwise, size_t vw)
{
    if (p->t->dtype != EMBCL_BF16 || rowwise)
        return vw;
    long long w = embcl_tune_get(dev, "optim.BF16_VW", 0);
    return w > 0 ? (size_t)w : vw;
}

void optim_bf16_args(const struct embcl_optim *opt, const optim_param *p, cl_ulong *seed, size_t *n_args)
{
    *n_args = p->t->dtype == EMBCL_BF16 ? 1 : 0;
    /* One stream per (parameter, step): the count was advanced before the
     * update, and a rolled-back step restores it, so a replay draws the
     * same bits. */
    size_t index = (size_t)(p - opt->params);
    *seed = embcl_mix64(embcl_mix64(opt->bf16_seed, (uint64_t)index), (uint64_t)p->steps);
}
