/* Per-element optimizer updates, shared by kernels/optim.cl and by any
 * kernel that applies an update straight from a reduced gradient row (the
 * fused embedding backward + update). Each takes the gradient value and
 * the element's parameter and state in private memory and updates them in
 * place; the caller loads and stores. The arithmetic follows PyTorch's
 * torch.optim (foreach=False) operation by operation, so float rounding
 * matches as closely as one fused expression can.
 *
 * OPT_T is the element type (float, or floatN to update N elements at once);
 * it defaults to float. Scalars that do not depend on the element (learning
 * rates, bias corrections, 1 - beta, 1 - dampening) are computed once on the
 * host in double and passed as float, as PyTorch's Python floats are. */
#ifndef EMBCL_KERNELS_OPTIM_ROWS_H
#define EMBCL_KERNELS_OPTIM_ROWS_H

#ifndef OPT_T
#define OPT_T float
#endif

/* SGD. wd: L2 weight decay; first: the momentum buffer does not exist yet
 * (PyTorch clones d_p into it); use_momentum/nesterov as in torch.optim.SGD.
 * one_m_damp = 1 - dampening, like every 1 - x here computed by the host in
 * double and rounded once, as PyTorch's Python floats are: 1.0f - (float)x
 * carries (float)x's rounding error magnified |x| / |1 - x| times. */
static inline void optim_sgd(OPT_T *p, OPT_T g, OPT_T *buf, float lr, float wd, float momentum, float one_m_damp,
                      int use_momentum, int nesterov, int first)
{
    OPT_T d = g;
    if (wd != 0.0f)
        d = d + wd * *p;
    if (use_momentum) {
        OPT_T b = first ? d : *buf * momentum + d * one_m_damp;
        *buf = b;
        d = nesterov ? d + momentum * b : b;
    }
    *p = *p + (-lr) * d;
}

/* Adam / AdamW. decay: AdamW's (1 - lr*wd) factor applied to p first (1 for
 * Adam); wd: Adam's L2 term added to the gradient (0 for AdamW).
 * one_m_b1/2 = 1 - beta1/2 (from the host, see optim_sgd: with beta2 =
 * 0.9999, 1.0f - (float)beta2 is 1.7e-4 off);
 * neg_step = -lr / (1 - beta1^t); bc2_sqrt = sqrt(1 - beta2^t). With
 * amsgrad, vmax keeps the running maximum of v and replaces it in the
 * denominator. Products group as PyTorch's addcmul_ (value * g * g) and
 * addcdiv_ (value * m / denom) do. */
static inline void optim_adam(OPT_T *p, OPT_T g, OPT_T *m, OPT_T *v, OPT_T *vmax, int amsgrad, float decay, float wd,
                       float beta1, float beta2, float one_m_b1, float one_m_b2, float eps, float neg_step,
                       float bc2_sqrt)
{
    if (decay != 1.0f)
        *p = *p * decay;
    if (wd != 0.0f)
        g = g + wd * *p;
    *m = *m * beta1 + g * one_m_b1;
    *v = *v * beta2 + (one_m_b2 * g) * g;
    OPT_T s = *v;
    if (amsgrad) {
        *vmax = fmax(*vmax, *v);
        s = *vmax;
    }
    OPT_T denom = sqrt(s) / bc2_sqrt + eps;
    *p = *p + (neg_step * *m) / denom;
}

/* Adagrad (dense or one coalesced sparse row): clr = lr / (1 + (t-1)
 * lr_decay); wd is 0 on the sparse path (PyTorch refuses it there). */
static inline void optim_adagrad(OPT_T *p, OPT_T g, OPT_T *sum, float clr, float wd, float eps)
{
    if (wd != 0.0f)
        g = g + wd * *p;
    *sum = *sum + g * g;
    OPT_T stdv = sqrt(*sum) + eps;
    *p = *p + (-clr) * (g / stdv);
}

/* SparseAdam on one element of a touched row, in PyTorch's order:
 * the moments move by (1-b)(new - old); numer/denom are rebuilt from the
 * update and the old value. one_m_b1/2 = 1 - beta1/2 from the host (see
 * optim_adam); neg_step = -lr sqrt(1 - b2^t) / (1 - b1^t). */
static inline void optim_sparse_adam(OPT_T *p, OPT_T g, OPT_T *m, OPT_T *v, float one_m_b1, float one_m_b2, float eps,
                              float neg_step)
{
    OPT_T m_old = *m, v_old = *v;
    OPT_T m_upd = (g - m_old) * one_m_b1;
    OPT_T v_upd = (g * g - v_old) * one_m_b2;
    *m = m_old + m_upd;
    *v = v_old + v_upd;
    OPT_T numer = m_upd + m_old;
    OPT_T denom = sqrt(v_upd + v_old) + eps;
    *p = *p + neg_step * (numer / denom);
}

/* Row-wise Adagrad (FBGEMM's EXACT_ROWWISE_ADAGRAD). Per row: the caller
 * sums optim_rowwise_adagrad_grad(w, g)^2 over the row's columns (g + wd*w
 * under L2, else g), then optim_rowwise_adagrad_coef advances the row's
 * accumulator by that mean and gives k = lr / (sqrt(sum) + eps) and the
 * weight's factor c (1 - k*wd for L2, 1 - lr*wd decoupled, else 1); each
 * element then becomes c*w - k*g with the raw gradient g.
 * wd_mode: 0 none, 1 L2, 2 decoupled. */
static inline OPT_T optim_rowwise_adagrad_grad(OPT_T w, OPT_T g, int wd_mode, float wd)
{
    return wd_mode == 1 ? g + wd * w : g;
}

static inline float optim_rowwise_adagrad_coef(float *row_sum, float sq_sum, float n_cols, float lr, float eps,
                                        int wd_mode, float wd, float *c)
{
    *row_sum = *row_sum + sq_sum / n_cols;
    float k = lr / (sqrt(*row_sum) + eps);
    *c = wd_mode == 1 ? 1.0f - k * wd : wd_mode == 2 ? 1.0f - lr * wd : 1.0f;
    return k;
}

static inline void optim_rowwise_adagrad(OPT_T *w, OPT_T g, float k, float c)
{
    *w = c * *w - k * g;
}

#endif
