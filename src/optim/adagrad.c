/* torch.optim.Adagrad (dense and coalesced row-sparse; weight decay only
 * dense, as PyTorch) and FBGEMM's row-wise Adagrad (one accumulator per
 * row: the running sum of the mean squared gradient row). */
#include "core/error.h"
#include "optim/optim_impl.h"

static embcl_status check_adagrad(const char *fn, const char *name, const embcl_optim_hparams *hp)
{
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "lr_decay", "lr_decay", hp->lr_decay));
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "weight_decay", "weight_decay", hp->weight_decay));
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "initial_accumulator_value", "initial_accumulator_value",
                                            hp->initial_accumulator_value));
    return embcl_optim_check_nonneg(fn, name, "epsilon", "eps", hp->eps);
}

static embcl_status check_rowwise(const char *fn, const char *name, const embcl_optim_hparams *hp)
{
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "weight_decay", "weight_decay", hp->weight_decay));
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "epsilon", "eps", hp->eps));
    if ((unsigned)hp->wd_mode >= EMBCL_WD_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid wd_mode value: %d (argument 'wd_mode')", name,
                           (int)hp->wd_mode);
    return EMBCL_OK;
}

static size_t one_state(const embcl_optim_hparams *hp)
{
    (void)hp;
    return 1;
}

static double adagrad_init(const embcl_optim_hparams *hp) { return hp->initial_accumulator_value; }

static const char *adagrad_sparse_refusal(const embcl_optim_hparams *hp)
{
    return hp->weight_decay != 0.0 ? "weight_decay option is not compatible with sparse gradients" : NULL;
}

static embcl_status update_adagrad(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                                   const optim_src *src)
{
    float clr = (float)(hp->lr / (1.0 + (double)(p->steps - 1) * hp->lr_decay));
    float wd = (float)hp->weight_decay, eps = (float)hp->eps;
    embcl_karg extra[] = {EMBCL_KARG(clr), EMBCL_KARG(wd), EMBCL_KARG(eps)};
    return embcl_optim_launch(opt, p, "adagrad", src, 0, 1, &p->state[0], 3, extra);
}

static embcl_status update_rowwise(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                                   const optim_src *src)
{
    if (p->live_cols == 0)
        return EMBCL_OK;
    float n_cols = (float)p->live_cols, lr = (float)hp->lr, eps = (float)hp->eps, wd = (float)hp->weight_decay;
    cl_int mode = (cl_int)hp->wd_mode;
    cl_mem sum = p->state[0]->buf->mem;
    embcl_karg extra[] = {EMBCL_KARG(sum), EMBCL_KARG(n_cols), EMBCL_KARG(lr), EMBCL_KARG(eps), EMBCL_KARG(mode),
                          EMBCL_KARG(wd)};
    return embcl_optim_launch(opt, p, "rowwise_adagrad", src, 1, 0, NULL, 6, extra);
}

static const char *const sum_state[] = {"sum"};
static const char *const rowwise_state[] = {"momentum1"};

const optim_family embcl_optim_adagrad_family = {
    .name = "Adagrad",
    .check = check_adagrad,
    .n_state = one_state,
    .state_names = sum_state,
    .state_init = adagrad_init,
    .takes_dense = 1,
    .takes_sparse = 1,
    .sparse_refusal = adagrad_sparse_refusal,
    .update = update_adagrad,
};

const optim_family embcl_optim_rowwise_adagrad_family = {
    .name = "RowWiseAdagrad",
    .check = check_rowwise,
    .n_state = one_state,
    .state_names = rowwise_state,
    .rowwise_state = 1,
    .takes_dense = 1,
    .takes_sparse = 1,
    .update = update_rowwise,
};
