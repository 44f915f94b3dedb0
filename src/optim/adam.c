/* torch.optim.Adam (L2 weight decay added to the gradient), AdamW (decay
 * applied to the parameter first) and SparseAdam (lazy: only the rows a
 * coalesced sparse gradient names move, their moments included; the bias
 * correction uses the parameter's count of steps, not the row's). */
#include <math.h>

#include "core/error.h"
#include "optim/optim_impl.h"

static embcl_status check_adam(const char *fn, const char *name, const embcl_optim_hparams *hp)
{
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "epsilon", "eps", hp->eps));
    EMBCL_TRY(embcl_optim_check_betas(fn, name, hp));
    return embcl_optim_check_nonneg(fn, name, "weight_decay", "weight_decay", hp->weight_decay);
}

static embcl_status check_sparse_adam(const char *fn, const char *name, const embcl_optim_hparams *hp)
{
    EMBCL_TRY(embcl_optim_check_nonneg(fn, name, "epsilon", "eps", hp->eps));
    return embcl_optim_check_betas(fn, name, hp);
}

static size_t n_state_adam(const embcl_optim_hparams *hp) { return hp->amsgrad ? 3 : 2; }
static size_t n_state_sparse(const embcl_optim_hparams *hp)
{
    (void)hp;
    return 2;
}

static embcl_status update_adam(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                                const optim_src *src)
{
    double t = (double)p->steps;
    double bc1 = 1.0 - pow(hp->beta1, t), bc2 = 1.0 - pow(hp->beta2, t);
    int decoupled = opt->kind == EMBCL_OPTIM_ADAMW;
    float decay = decoupled ? (float)(1.0 - hp->lr * hp->weight_decay) : 1.0f;
    float wd = decoupled ? 0.0f : (float)hp->weight_decay;
    float b1 = (float)hp->beta1, b2 = (float)hp->beta2, eps = (float)hp->eps;
    /* PyTorch's alpha=1 - beta: the difference in double, rounded once */
    float omb1 = (float)(1.0 - hp->beta1), omb2 = (float)(1.0 - hp->beta2);
    float neg_step = (float)(-(hp->lr / bc1)), bc2_sqrt = (float)sqrt(bc2);
    struct embcl_tensor *st[] = {p->state[0], p->state[1], hp->amsgrad ? p->state[2] : p->state[1]};
    cl_int ams = hp->amsgrad != 0;
    embcl_karg extra[] = {EMBCL_KARG(ams),  EMBCL_KARG(decay), EMBCL_KARG(wd),       EMBCL_KARG(b1),
                          EMBCL_KARG(b2),   EMBCL_KARG(omb1),  EMBCL_KARG(omb2),     EMBCL_KARG(eps),
                          EMBCL_KARG(neg_step), EMBCL_KARG(bc2_sqrt)};
    return embcl_optim_launch(opt, p, "adam", src, 0, 3, st, 10, extra);
}

static embcl_status update_sparse_adam(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                                       const optim_src *src)
{
    double t = (double)p->steps;
    double bc1 = 1.0 - pow(hp->beta1, t), bc2 = 1.0 - pow(hp->beta2, t);
    float omb1 = (float)(1.0 - hp->beta1), omb2 = (float)(1.0 - hp->beta2), eps = (float)hp->eps;
    float neg_step = (float)(-(hp->lr * sqrt(bc2) / bc1));
    struct embcl_tensor *st[] = {p->state[0], p->state[1]};
    embcl_karg extra[] = {EMBCL_KARG(omb1), EMBCL_KARG(omb2), EMBCL_KARG(eps), EMBCL_KARG(neg_step)};
    return embcl_optim_launch(opt, p, "sparse_adam", src, 0, 2, st, 4, extra);
}

static const char *const adam_state[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};

const optim_family embcl_optim_adam_family = {
    .name = "Adam",
    .check = check_adam,
    .n_state = n_state_adam,
    .state_names = adam_state,
    .takes_dense = 1,
    .update = update_adam,
};

const optim_family embcl_optim_adamw_family = {
    .name = "AdamW",
    .check = check_adam,
    .n_state = n_state_adam,
    .state_names = adam_state,
    .takes_dense = 1,
    .update = update_adam,
};

const optim_family embcl_optim_sparse_adam_family = {
    .name = "SparseAdam",
    .check = check_sparse_adam,
    .n_state = n_state_sparse,
    .state_names = adam_state,
    .takes_sparse = 1,
    .update = update_sparse_adam,
};
