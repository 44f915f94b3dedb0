/* The optimizer's journal: inside a transaction (embcl_optim_begin), each
 * update first copies what it is about to write into pool scratch (whole
 * parameter and state tensors for a dense gradient; only the rows it names,
 * with their ids, for a row-sparse or fused one) together with the
 * parameter's step count. Rolling back copies the entries back newest
 * first, so each region ends up as it was at its oldest entry: the state
 * at begin. The copies are enqueued on the optimizer's in-order queue, so
 * they see the values the earlier steps left and come before the update
 * (snapshot) or after everything enqueued so far (restore). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/tuning.h"
#include "optim/optim_impl.h"

struct optim_journal_entry {
    size_t param;
    int64_t steps;                                  /* the parameter's count before the update */
    struct embcl_tensor *ids;                       /* [nnz] i64; NULL: whole tensors */
    int64_t nnz;
    struct embcl_tensor *copy[1 + OPTIM_MAX_STATE]; /* the parameter, then its state tensors */
    size_t n_copy;
};

/* t seen as the 2-D matrix it is in memory (the optimizer's view of any
 * parameter or state tensor), so dense copies go through one shape. */
static struct embcl_tensor as_matrix(const struct embcl_tensor *t)
{
    struct embcl_tensor m = *t;
    m.ndim = 2;
    m.shape[0] = (int64_t)t->rows;
    m.shape[1] = (int64_t)t->cols;
    return m;
}

static void entry_free(struct optim_journal_entry *e)
{
    embcl_tensor_free(e->ids);
    for (size_t k = 0; k < e->n_copy; k++)
        embcl_tensor_free(e->copy[k]);
    memset(e, 0, sizeof *e);
}

/* One row copy between matrix m and the packed copy, by the ids. */
static embcl_status rows_copy(struct embcl_device *dev, int scatter, const struct embcl_tensor *m,
                              const struct embcl_tensor *copy, const struct embcl_tensor *ids, int64_t nnz,
                              const char *fn)
{
    const char *kname = scatter ? "journal_scatter" : "journal_gather";
    cl_kernel k;
    int split = embcl_tensor_is_split(m) || embcl_tensor_is_split(copy);
    char defs[48];
    snprintf(defs, sizeof defs, "%s%s", m->dtype == EMBCL_BF16 ? "-DELEM_T=ushort" : "", embcl_parts_define(split));
    EMBCL_TRY(embcl_kernel_get(dev, "journal", defs, kname, &k));
    cl_mem im = ids->buf->mem;
    cl_ulong m_off = m->offset, m_ld = m->ld, n = (cl_ulong)nnz, cols = m->cols;
    /* the copy and the ids are fresh pool tensors: offset 0, packed */
    embcl_karg a[2 * EMBCL_MAX_PARTS + 7];
    size_t na = 0;
    if (scatter) {
        na += embcl_karg_parts(a + na, m, split);
        a[na++] = EMBCL_KARG(m_off);
        a[na++] = EMBCL_KARG(m_ld);
        na += embcl_karg_parts(a + na, copy, split);
    } else {
        na += embcl_karg_parts(a + na, copy, split);
        na += embcl_karg_parts(a + na, m, split);
        a[na++] = EMBCL_KARG(m_off);
        a[na++] = EMBCL_KARG(m_ld);
    }
    a[na++] = EMBCL_KARG(im);
    a[na++] = EMBCL_KARG(n);
    a[na++] = EMBCL_KARG(cols);
    embcl_status s = embcl_kernel_set_args(k, kname, na, a);
    if (s == EMBCL_OK) {
        size_t wgs = embcl_kernel_fit_wgs(dev, k, (size_t)embcl_tune_get(dev, "journal.WGS", 256), 0);
        size_t lws[2], gws[2];
        lws[0] = m->cols < wgs ? m->cols : wgs;
        if (lws[0] > dev->info.max_work_item_sizes[0])
            lws[0] = dev->info.max_work_item_sizes[0];
        lws[1] = wgs / lws[0];
        if (lws[1] > dev->info.max_work_item_sizes[1])
            lws[1] = dev->info.max_work_item_sizes[1];
        gws[0] = embcl_round_up(m->cols, lws[0]);
        gws[1] = embcl_round_up((size_t)nnz, lws[1]);
        s = embcl_kernel_launch(dev, k, kname, 2, gws, lws, NULL);
    }
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

/* Copy a whole matrix into or out of its packed copy. */
static embcl_status dense_copy(int restore, const struct embcl_tensor *m, struct embcl_tensor *copy, const char *fn)
{
    struct embcl_tensor a = as_matrix(m), b = as_matrix(copy);
    embcl_status s = restore ? embcl_tensor_copy(&a, &b) : embcl_tensor_copy(&b, &a);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

/* The tensors an update of p writes: the parameter, then its states, each
 * as a matrix of the parameter's rows (a row-wise state [rows] is one
 * column wide, where the tensor itself is one row of `rows` elements). */
static struct embcl_tensor target(const optim_param *p, size_t k)
{
    if (k == 0)
        return *p->t;
    struct embcl_tensor m = *p->state[k - 1];
    m.rows = p->rows;
    m.cols = m.ld = (p->state[k - 1]->rows * p->state[k - 1]->cols) / (p->rows ? p->rows : 1);
    return m;
}

static embcl_status snapshot(struct embcl_optim *opt, struct optim_journal_entry *e, const optim_param *p,
                             const optim_src *src, const char *fn)
{
    if (src->ids && src->nnz > 0) {
        int64_t n = src->nnz;
        EMBCL_TRY(embcl_tensor_new(opt->dev, EMBCL_I64, 1, &n, fn, &e->ids));
        struct embcl_tensor used = *src->ids;
        used.ndim = 1;
        used.shape[0] = n;
        used.rows = 1;
        used.cols = used.ld = (size_t)n;
        embcl_status s = embcl_tensor_copy(e->ids, &used);
        if (s != EMBCL_OK)
            return embcl_error_context(s, fn);
        e->nnz = n;
    }
    if (src->ids && src->nnz == 0)
        return EMBCL_OK; /* only the step count moves */
    for (size_t k = 0; k < 1 + p->n_state; k++) {
        struct embcl_tensor m = target(p, k);
        int64_t shape[2] = {e->ids ? e->nnz : (int64_t)m.rows, (int64_t)m.cols};
        EMBCL_TRY(embcl_tensor_new(opt->dev, m.dtype, 2, shape, fn, &e->copy[k]));
        e->n_copy = k + 1;
        EMBCL_TRY(e->ids ? rows_copy(opt->dev, 0, &m, e->copy[k], e->ids, e->nnz, fn)
                         : dense_copy(0, &m, e->copy[k], fn));
    }
    return EMBCL_OK;
}

embcl_status optim_journal_record(struct embcl_optim *opt, size_t param, const optim_src *src, const char *fn)
{
    optim_journal *j = &opt->journal;
    if (!j->open)
        return EMBCL_OK;
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 8;
        struct optim_journal_entry *grown = embcl_realloc(j->e, cap * sizeof *grown, fn);
        if (!grown)
            return EMBCL_ERR_OUT_OF_MEMORY;
        j->e = grown;
        j->cap = cap;
    }
    struct optim_journal_entry *e = &j->e[j->n];
    memset(e, 0, sizeof *e);
    e->param = param;
    e->steps = opt->params[param].steps;
    embcl_status s = snapshot(opt, e, &opt->params[param], src, fn);
    if (s != EMBCL_OK) {
        entry_free(e);
        return s;
    }
    j->n++;
    return EMBCL_OK;
}

embcl_status optim_journal_undo(struct embcl_optim *opt, size_t mark, const char *fn)
{
    optim_journal *j = &opt->journal;
    embcl_status first = EMBCL_OK;
    while (j->n > mark) {
        struct optim_journal_entry *e = &j->e[--j->n];
        optim_param *p = &opt->params[e->param];
        p->steps = e->steps;
        for (size_t k = 0; k < e->n_copy && first == EMBCL_OK; k++) {
            struct embcl_tensor m = target(p, k);
            first = e->ids ? rows_copy(opt->dev, 1, &m, e->copy[k], e->ids, e->nnz, fn)
                           : dense_copy(1, &m, e->copy[k], fn);
        }
        entry_free(e);
    }
    return first;
}

void optim_journal_close(struct embcl_optim *opt)
{
    optim_journal *j = &opt->journal;
    for (size_t i = 0; i < j->n; i++)
        entry_free(&j->e[i]);
    free(j->e);
    free(j->lr);
    memset(j, 0, sizeof *j);
}

embcl_status embcl_optim_begin(embcl_optim_t opt)
{
    static const char *fn = "embcl_optim_begin";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    if (opt->journal.open)
        return embcl_error(EMBCL_ERR_STATE, fn,
                           "the %s optimizer already has a transaction open; commit or roll it back first",
                           opt->fam->name);
    opt->journal.lr = embcl_malloc((opt->n_groups ? opt->n_groups : 1) * sizeof *opt->journal.lr, fn);
    if (!opt->journal.lr)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t g = 0; g < opt->n_groups; g++)
        opt->journal.lr[g] = opt->groups[g].hp.lr;
    opt->journal.n_lr = opt->n_groups;
    opt->journal.open = 1;
    return EMBCL_OK;
}

embcl_status embcl_optim_commit(embcl_optim_t opt)
{
    EMBCL_CHECK_ARG(opt != NULL, "embcl_optim_commit", "argument 'opt' is NULL");
    optim_journal_close(opt);
    return EMBCL_OK;
}

embcl_status embcl_optim_rollback(embcl_optim_t opt)
{
    static const char *fn = "embcl_optim_rollback";
    EMBCL_CHECK_ARG(opt != NULL, fn, "argument 'opt' is NULL");
    embcl_status s = optim_journal_undo(opt, 0, fn);
    for (size_t g = 0; g < opt->journal.n_lr && g < opt->n_groups; g++)
        opt->groups[g].hp.lr = opt->journal.lr[g];
    optim_journal_close(opt);
    return s;
}

embcl_status optim_tx_open(struct embcl_optim *opt, optim_tx *tx)
{
    tx->owned = !opt->journal.open;
    if (tx->owned)
        EMBCL_TRY(embcl_optim_begin(opt));
    tx->mark = opt->journal.n;
    return EMBCL_OK;
}

embcl_status optim_tx_close(struct embcl_optim *opt, const optim_tx *tx, embcl_status s, const char *fn)
{
    if (s == EMBCL_OK)
        return tx->owned ? embcl_optim_commit(opt) : EMBCL_OK;
    embcl_status u = optim_journal_undo(opt, tx->mark, fn);
    if (tx->owned)
        optim_journal_close(opt); /* nothing left to undo; lrs are the step's caller's */
    return u;
}
