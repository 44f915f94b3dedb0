/* EmbeddingBag forward and backward (F.embedding_bag), and the pooling
 * launch Embedding's gather shares. */
#include <stdio.h>

#include "core/error.h"
#include "ops/embedding_impl.h"

embcl_status emb_pool(struct embcl_tensor *w, const emb_bags *eb, const emb_opts *o, int mode,
                      struct embcl_tensor *out, struct embcl_tensor *mpos, const char *fn)
{
    struct embcl_device *dev = w->dev;
    emb_tune t;
    cl_kernel k;
    /* out is as large as the table when every row is gathered (the
     * trainer's SparseAdam path): it may be split too */
    int split = embcl_tensor_is_split(w) || embcl_tensor_is_split(out);
    emb_bags et = emb_bags_for_table(eb, w);
    EMBCL_TRY(emb_bag_kernel_parts(dev, "bag_fwd", &et, "bag_fwd", split, &k, &t));
    cl_mem im = eb->idx->buf->mem, om = emb_mem(eb->offs), pm = emb_mem(eb->psw);
    cl_mem mm = emb_mem(mpos);
    cl_ulong w_off = w->offset, ld = w->ld, D = w->cols, i_off = eb->idx->offset, o_off = emb_off(eb->offs);
    cl_ulong base = eb->base, n_offs = eb->n_offs, fixed_l = eb->fixed_l, n = eb->n, B = eb->B, p_off = emb_off(eb->psw);
    cl_ulong out_off = out->offset, out_ld = out->ld, m_off = emb_off(mpos), m_ld = mpos ? mpos->ld : 0;
    cl_long pad = o->pad;
    cl_int md = mode;
    embcl_karg a[2 * EMBCL_MAX_PARTS + 23];
    size_t na = embcl_karg_parts(a, w, split);
    embcl_karg rest[] = {EMBCL_KARG(w_off),   EMBCL_KARG(ld),    EMBCL_KARG(D),
                      EMBCL_KARG(im),     EMBCL_KARG(i_off),   EMBCL_KARG(om),    EMBCL_KARG(o_off), EMBCL_KARG(base),
                      EMBCL_KARG(n_offs), EMBCL_KARG(fixed_l), EMBCL_KARG(n),     EMBCL_KARG(B),
                      EMBCL_KARG(pm),     EMBCL_KARG(p_off),   EMBCL_KARG(pad),   EMBCL_KARG(md)};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        a[na++] = rest[i];
    na += embcl_karg_parts(a + na, out, split);
    embcl_karg tail[] = {EMBCL_KARG(out_off), EMBCL_KARG(out_ld), EMBCL_KARG(mm), EMBCL_KARG(m_off), EMBCL_KARG(m_ld)};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        a[na++] = tail[i];
    EMBCL_TRY(embcl_kernel_set_args(k, "bag_fwd", na, a));
    embcl_tensor_written(out);
    embcl_tensor_written(mpos);
    embcl_status s = emb_launch_lanes(dev, k, "bag_fwd", &t, (size_t)B);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

/* The checks forward and backward share: table/bags/options. */
static embcl_status bag_setup(embcl_tensor_t table_or_null, int64_t V, const embcl_bags *bags,
                              const embcl_embedding_options *opt, const char *fn, emb_opts *o, emb_bags *eb)
{
    EMBCL_TRY(emb_opts_resolve(opt, V, fn, o));
    EMBCL_TRY(emb_bags_resolve(bags, o, 0, fn, eb));
    if (table_or_null)
        EMBCL_TRY(emb_check_same_device(table_or_null, eb->idx, fn, "indices"));
    return EMBCL_OK;
}

static embcl_status check_max_pos(struct embcl_tensor *mpos, const emb_opts *o, const emb_bags *eb, size_t D,
                                  const char *fn)
{
    if (o->o.mode != EMBCL_BAG_MAX) {
        if (mpos)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'max_pos' is for mode='max' only (mode='%s')",
                               embcl_bag_mode_name(o->o.mode));
        return EMBCL_OK;
    }
    EMBCL_TRY(embcl_check_dtype(mpos, EMBCL_I32, fn, "max_pos"));
    if (mpos->rows != eb->B || mpos->cols != D || mpos->ndim != 2) {
        char s[96];
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'max_pos' has shape %s; expected [%llu, %zu]",
                           embcl_shape_str(mpos, s, sizeof s), (unsigned long long)eb->B, D);
    }
    return EMBCL_OK;
}

embcl_status embcl_embedding_bag(embcl_tensor_t weight, const embcl_bags *bags, const embcl_embedding_options *opt,
                                 embcl_tensor_t out, embcl_tensor_t max_pos)
{
    static const char *fn = "embcl_embedding_bag";
    EMBCL_TRY(emb_check_table_or_bf16(weight, fn, "weight"));
    emb_opts o;
    emb_bags eb;
    EMBCL_TRY(bag_setup(weight, weight->shape[0], bags, opt, fn, &o, &eb));
    EMBCL_TRY(emb_check_rows_parts(out, (size_t)eb.B, weight->cols, fn, "out"));
    EMBCL_TRY(emb_check_same_device(weight, out, fn, "out"));
    EMBCL_TRY(check_max_pos(max_pos, &o, &eb, weight->cols, fn));
    EMBCL_TRY(emb_validate(weight->dev, &eb, weight->shape[0], fn));
    EMBCL_TRY(emb_renorm(weight, &eb, &o, fn));
    return emb_pool(weight, &eb, &o, (int)o.o.mode, out, max_pos, fn);
}

embcl_status embcl_embedding_bag_backward(embcl_tensor_t grad_out, embcl_tensor_t weight, const embcl_bags *bags,
                                          embcl_tensor_t max_pos, int64_t num_rows,
                                          const embcl_embedding_options *opt, embcl_tensor_t grad_weight,
                                          embcl_rowsparse_t grad_sparse, embcl_tensor_t grad_psw)
{
    static const char *fn = "embcl_embedding_bag_backward";
    EMBCL_TRY(embcl_check_dtype(grad_out, EMBCL_F32, fn, "grad_out"));
    if (num_rows < 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'num_rows' is %lld", (long long)num_rows);
    emb_opts o;
    emb_bags eb;
    EMBCL_TRY(bag_setup(grad_out, num_rows, bags, opt, fn, &o, &eb));
    size_t D = grad_out->cols;
    EMBCL_TRY(emb_check_rows(grad_out, (size_t)eb.B, D, fn, "grad_out"));
    EMBCL_TRY(check_max_pos(max_pos, &o, &eb, D, fn));
    if (o.o.mode == EMBCL_BAG_MAX && o.o.sparse)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "max mode does not support sparse weights (option 'sparse')");
    if (o.o.mode == EMBCL_BAG_MAX && o.o.scale_grad_by_freq)
        return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                           "max mode does not support scaling the gradient by the frequency "
                           "(option 'scale_grad_by_freq')");
    if (grad_psw) {
        if (!eb.psw)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "argument 'grad_psw' is given but the bags have no per_sample_weights");
        EMBCL_TRY(emb_check_rows(grad_psw, eb.psw->rows, eb.psw->cols, fn, "grad_psw"));
        if (!embcl_tensor_is_contiguous(grad_psw))
            return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'grad_psw' must be contiguous");
        EMBCL_TRY(emb_check_table_or_bf16(weight, fn, "weight"));
        if (weight->shape[0] != num_rows || weight->cols != D)
            return embcl_error(EMBCL_ERR_SHAPE, fn,
                               "argument 'weight' is [%lld, %zu] but num_rows is %lld and grad_out has %zu columns",
                               (long long)weight->shape[0], weight->cols, (long long)num_rows, D);
        EMBCL_TRY(emb_check_same_device(grad_out, weight, fn, "weight"));
    }
    return emb_scatter(grad_out, &eb, &o, (int)o.o.mode, max_pos, num_rows, grad_weight, grad_sparse, grad_psw,
                       grad_psw ? weight : NULL, fn);
}
