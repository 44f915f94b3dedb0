/* Fused backward + update: checks, then the family's update kernel in its
 * FUSED variant (kernels/optim.cl), which sums each segment's gradient rows
 * itself. */
#include "core/error.h"
#include "optim/optim_fused.h"
#include "optim/optim_impl.h"

static embcl_status check_side(const struct embcl_tensor *t, embcl_dtype dt, int64_t n, const char *fn,
                               const char *arg)
{
    if (!t)
        return EMBCL_OK;
    EMBCL_TRY(embcl_check_dtype(t, dt, fn, arg));
    if (embcl_tensor_numel((embcl_tensor_t)t) != n || !embcl_tensor_is_contiguous((embcl_tensor_t)t) ||
        t->offset != 0)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument '%s' must be a packed tensor of %lld elements, not %lld", arg,
                           (long long)n, (long long)embcl_tensor_numel((embcl_tensor_t)t));
    return EMBCL_OK;
}

embcl_status embcl_optim_step_fused(embcl_optim_t opt, size_t param, const embcl_fused_grad *g, const char *fn)
{
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    EMBCL_CHECK_ARG(g != NULL && g->seg != NULL, fn, "the fused gradient has no segments");
    if (param >= opt->n_params)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "parameter %zu: the %s optimizer has %zu parameters", param,
                           opt->fam->name, opt->n_params);
    optim_param *p = &opt->params[param];
    EMBCL_TRY(embcl_optim_sparse_allowed(opt, param, fn));
    EMBCL_TRY(embcl_check_dtype_parts(g->rows, EMBCL_F32, fn, "rows"));
    if (g->rows->cols != p->cols || g->rows->dev != opt->dev)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "gradient rows are %zu wide (on '%s'); parameter '%s' is %zu wide (on '%s')",
                           g->rows->cols, g->rows->dev->info.name, p->name, p->cols, opt->dev->info.name);
    if (!g->pos_bag && (int64_t)g->rows->rows < g->seg->n)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "%zu gradient rows for %lld positions", g->rows->rows,
                           (long long)g->seg->n);
    EMBCL_TRY(check_side(g->pos_bag, EMBCL_I32, g->seg->n, fn, "pos_bag"));
    EMBCL_TRY(check_side(g->pos_scale, EMBCL_F32, g->seg->n, fn, "pos_scale"));
    if (g->seg->nnz > (int64_t)p->rows)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "%lld unique rows for parameter '%s' of %zu rows",
                           (long long)g->seg->nnz, p->name, p->rows);
    if (p->frozen)
        return EMBCL_OK;
    optim_src src = {g->rows, g->seg->uniq, g->seg->nnz, g->seg, g->pos_bag, g->pos_scale};
    /* masks before the step is counted: a failed upload leaves no trace */
    EMBCL_TRY(embcl_optim_sync_masks(opt, p, fn));
    size_t mark = optim_journal_mark(opt);
    embcl_status s = embcl_optim_update(opt, param, &src, fn);
    return s == EMBCL_OK ? s : embcl_optim_step_failed(opt, mark, s, fn);
}
