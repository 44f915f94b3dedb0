/* torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay.
 * Row-sparse gradients without momentum: p -= lr * g on the named rows.
 * With momentum PyTorch clones the first sparse gradient into a sparse
 * buffer and then runs buf.mul_(momentum).add_(g, alpha=1 - dampening) on
 * it: the buffer holds every row any step touched, each decaying by
 * momentum on the steps that do not name it, and p -= lr * buf (Nesterov:
 * lr * (g + momentum * buf)) moves all of them. That is the dense update of
 * the gradient scattered into zeros, which is what embcl runs, keeping the
 * buffer dense (PyTorch's sparse buffer, densified). Weight decay with a
 * sparse gradient fails in PyTorch (grad.add(param) is sparse + dense), so
 * it is refused here. */
#include "core/error.h"
#include "optim/optim_impl.h"

static embcl_status check(const char *fn, const char *name, const embcl_optim_hparams *hp)
{
    if (!(hp->momentum >= 0.0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid momentum value: %g (argument 'momentum')", name,
                           hp->momentum);
    if (!(hp->weight_decay >= 0.0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "%s: Invalid weight_decay value: %g (argument 'weight_decay')",
                           name, hp->weight_decay);
    if (hp->nesterov && (hp->momentum <= 0.0 || hp->dampening != 0.0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "%s: Nesterov momentum requires a momentum and zero dampening (momentum %g, dampening %g)",
                           name, hp->momentum, hp->dampening);
    return EMBCL_OK;
}

static size_t n_state(const embcl_optim_hparams *hp) { return hp->momentum != 0.0; }

static const char *sparse_refusal(const embcl_optim_hparams *hp)
{
    if (hp->weight_decay != 0.0)
        return "weight_decay is not supported with sparse gradients (set weight_decay to 0; PyTorch fails with "
               "\"add(sparse, dense) is not supported\")";
    return NULL;
}

static int sparse_moves_all(const embcl_optim_hparams *hp) { return hp->momentum != 0.0; }

static embcl_status update(struct embcl_optim *opt, optim_param *p, const embcl_optim_hparams *hp,
                           const optim_src *src)
{
    struct embcl_tensor *buf = p->n_state ? p->state[0] : p->t; /* not read without momentum */
    float lr = (float)hp->lr, wd = (float)hp->weight_decay, mom = (float)hp->momentum;
    float damp = (float)(1.0 - hp->dampening); /* PyTorch's alpha=1 - dampening, rounded once */
    cl_int use_m = hp->momentum != 0.0, nesterov = hp->nesterov != 0, first = p->steps == 1;
    embcl_karg extra[] = {EMBCL_KARG(lr),    EMBCL_KARG(wd),       EMBCL_KARG(mom),  EMBCL_KARG(damp),
                          EMBCL_KARG(use_m), EMBCL_KARG(nesterov), EMBCL_KARG(first)};
    return embcl_optim_launch(opt, p, "sgd", src, 0, 1, &buf, 7, extra);
}

static const char *const state_names[] = {"momentum_buffer"};

const optim_family embcl_optim_sgd_family = {
    .name = "SGD",
    .check = check,
    .n_state = n_state,
    .state_names = state_names,
    .takes_dense = 1,
    .takes_sparse = 1,
    .sparse_refusal = sparse_refusal,
    .sparse_moves_all = sparse_moves_all,
    .update = update,
};
