/* SparseAdam on the tied table. The decoder gives the table a dense
 * gradient, which SparseAdam (as PyTorch's) refuses; the trainer hands it
 * the rows this step touched instead, as a row-sparse gradient: every row
 * for columns the decoder reads (it scores every word), and for bag-only
 * columns the rows of the step's bags. The rows' values are gathered from
 * the dense gradient on the device; the ids come from the host's copy of
 * the step's inputs, so nothing is read back. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "train/train_impl.h"

static const char *FN = "embcl_trainer_step";

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The rows of p's gradient this step can be nonzero in, ascending. */
static int64_t touched_rows(const struct embcl_trainer *tr, const tparam *p, int64_t *ids)
{
    if (p->c0 < tr->cfg.dim) { /* the decoder's columns: every row */
        for (int64_t r = 0; r < tr->V; r++)
            ids[r] = r;
        return tr->V;
    }
    int64_t n = 0;
    const int64_t m = tr->n_classes > 0 ? tr->cfg.cls_batch * tr->cfg.bag_len : 0;
    for (int64_t i = 0; i < m; i++)
        if (tr->host_bags[i] != EMBCL_VOCAB_PAD)
            ids[n++] = tr->host_bags[i];
    qsort(ids, (size_t)n, sizeof *ids, cmp_i64);
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++)
        if (u == 0 || ids[i] != ids[u - 1])
            ids[u++] = ids[i];
    return u;
}

/* Make p's row-sparse gradient hold rows ids[0..n) (values set later). */
static embcl_status set_rows(struct embcl_trainer *tr, tparam *p, const int64_t *ids, int64_t n)
{
    const int64_t cols = p->c1 - p->c0;
    if (!p->sg)
        EMBCL_TRY(embcl_rowsparse_create(tr->dev, tr->V, cols, tr->V, &p->sg));
    if (p->n_rows == n && p->rows && memcmp(p->rows, ids, (size_t)n * sizeof *ids) == 0)
        return EMBCL_OK; /* the same rows as last step (the decoder's: always) */
    float *zeros = embcl_calloc((size_t)(n > 0 ? n : 1) * (size_t)cols, sizeof *zeros, FN);
    int64_t *keep = embcl_malloc((size_t)(n > 0 ? n : 1) * sizeof *keep, FN);
    embcl_status s = zeros && keep ? embcl_rowsparse_set(p->sg, n, ids, zeros) : EMBCL_ERR_OUT_OF_MEMORY;
    free(zeros);
    if (s != EMBCL_OK) {
        free(keep);
        p->n_rows = -1;
        return s;
    }
    memcpy(keep, ids, (size_t)n * sizeof *ids);
    free(p->rows);
    p->rows = keep;
    p->n_rows = n;
    return EMBCL_OK;
}

embcl_status train_sparse_table_grads(struct embcl_trainer *tr, embcl_grad *grads)
{
    if (tr->cfg.table_optimizer != EMBCL_OPTIM_SPARSE_ADAM)
        return EMBCL_OK;
    int64_t *ids = embcl_malloc((size_t)(tr->V > 0 ? tr->V : 1) * sizeof *ids, FN);
    if (!ids)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++) {
        tparam *p = &tr->params[i];
        if (!p->table || !grads[i].dense)
            continue;
        int64_t n = touched_rows(tr, p, ids);
        s = set_rows(tr, p, ids, n);
        embcl_tensor_t rows = NULL, vals = NULL;
        if (s == EMBCL_OK && n > 0)
            s = embcl_rowsparse_ids(p->sg, &rows);
        if (s == EMBCL_OK && n > 0)
            s = embcl_rowsparse_values(p->sg, &vals);
        if (s == EMBCL_OK && n > 0) /* values[k] = dense[ids[k]]: a lookup */
            s = embcl_embedding(grads[i].dense, rows, NULL, vals);
        embcl_tensor_free(rows);
        embcl_tensor_free(vals);
        if (s == EMBCL_OK) {
            embcl_tensor_free(grads[i].dense);
            grads[i].dense = NULL;
            grads[i].sparse = p->sg;
        }
    }
    free(ids);
    return s;
}

void train_sparse_table_free(struct embcl_trainer *tr)
{
    for (size_t i = 0; i < tr->n_params; i++) {
        embcl_rowsparse_free(tr->params[i].sg);
        free(tr->params[i].rows);
        tr->params[i].sg = NULL;
        tr->params[i].rows = NULL;
    }
}
