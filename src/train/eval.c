/* Judging embeddings on the host: nearest neighbours by cosine, analogies
 * by vector offset, and topic purity of neighbourhoods. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "train/train_impl.h"

static double norm_of(const float *x, int64_t dim)
{
    double s = 0;
    for (int64_t d = 0; d < dim; d++)
        s += (double)x[d] * x[d];
    return sqrt(s);
}

/* Insert (id, sim) into the descending top-k lists. */
static void top_insert(int64_t *ids, float *sims, size_t *n, size_t k, int64_t id, float sim)
{
    if (*n == k && sim <= sims[k - 1])
        return;
    size_t pos = *n < k ? (*n)++ : k - 1;
    while (pos > 0 && sims[pos - 1] < sim) {
        ids[pos] = ids[pos - 1];
        sims[pos] = sims[pos - 1];
        pos--;
    }
    ids[pos] = id;
    sims[pos] = sim;
}

embcl_status embcl_nearest(const float *rows, int64_t V, int64_t dim, const float *query, int64_t first_id,
                           const int64_t *skip, size_t n_skip, size_t k, int64_t *ids, float *sims, size_t *found)
{
    static const char *fn = "embcl_nearest";
    EMBCL_CHECK_ARG(rows && query && ids && sims && found, fn, "arguments must not be NULL");
    EMBCL_CHECK_ARG(V >= 0 && dim > 0 && k > 0, fn, "V is %lld, dim %lld, k %zu", (long long)V, (long long)dim, k);
    *found = 0;
    double qn = norm_of(query, dim);
    for (int64_t r = first_id < 0 ? 0 : first_id; r < V; r++) {
        int skipped = 0;
        for (size_t i = 0; i < n_skip; i++)
            skipped |= skip[i] == r;
        if (skipped)
            continue;
        const float *x = rows + r * dim;
        double dot = 0, xn = norm_of(x, dim);
        for (int64_t d = 0; d < dim; d++)
            dot += (double)x[d] * query[d];
        float sim = (float)(xn > 0 && qn > 0 ? dot / (xn * qn) : 0.0);
        top_insert(ids, sims, found, k, r, sim);
    }
    return EMBCL_OK;
}

embcl_status embcl_analogy(const float *rows, int64_t V, int64_t dim, int64_t a, int64_t b, int64_t c,
                           int64_t first_id, size_t k, int64_t *ids, float *sims, size_t *found)
{
    static const char *fn = "embcl_analogy";
    EMBCL_CHECK_ARG(rows != NULL && dim > 0, fn, "argument 'rows' is NULL or dim %lld", (long long)dim);
    int64_t w[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (w[i] < 0 || w[i] >= V)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "word %d of the analogy is id %lld; the table has %lld rows",
                               i, (long long)w[i], (long long)V);
    float *q = embcl_malloc((size_t)dim * sizeof *q, fn);
    if (!q)
        return EMBCL_ERR_OUT_OF_MEMORY;
    double na = norm_of(rows + a * dim, dim), nb = norm_of(rows + b * dim, dim), nc = norm_of(rows + c * dim, dim);
    na = na > 0 ? na : 1;
    nb = nb > 0 ? nb : 1;
    nc = nc > 0 ? nc : 1;
    for (int64_t d = 0; d < dim; d++)
        q[d] = (float)(rows[b * dim + d] / nb - rows[a * dim + d] / na + rows[c * dim + d] / nc);
    embcl_status s = embcl_nearest(rows, V, dim, q, first_id, w, 3, k, ids, sims, found);
    free(q);
    return s;
}

embcl_status embcl_neighbour_purity(const float *rows, int64_t V, int64_t dim, const int32_t *label,
                                    const int64_t *words, size_t n, size_t k, double *purity)
{
    static const char *fn = "embcl_neighbour_purity";
    EMBCL_CHECK_ARG(rows && label && purity && k > 0, fn, "arguments must not be NULL and k > 0");
    EMBCL_CHECK_ARG(V >= 0 && dim > 0, fn, "V = %lld and dim = %lld: V must be >= 0 and dim > 0", (long long)V,
                    (long long)dim);
    for (size_t i = 0; words && i < n; i++)
        if (words[i] < 0 || words[i] >= V)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "words[%zu] = %lld is outside [0, %lld)", i,
                               (long long)words[i], (long long)V);
    *purity = 0;
    /* Unit rows of the labelled words, so a neighbour search is dot products. */
    int64_t *lab_ids = embcl_malloc((size_t)(V ? V : 1) * sizeof *lab_ids, fn);
    float *unit = embcl_malloc((size_t)(V ? V : 1) * (size_t)dim * sizeof *unit, fn);
    int64_t *top = embcl_malloc(k * sizeof *top, fn);
    float *sims = embcl_malloc(k * sizeof *sims, fn);
    if (!lab_ids || !unit || !top || !sims) {
        free(lab_ids);
        free(unit);
        free(top);
        free(sims);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    int64_t nl = 0;
    for (int64_t r = 0; r < V; r++) {
        if (label[r] < 0)
            continue;
        double nr = norm_of(rows + r * dim, dim);
        for (int64_t d = 0; d < dim; d++)
            unit[nl * dim + d] = (float)(nr > 0 ? rows[r * dim + d] / nr : 0.0);
        lab_ids[nl++] = r;
    }
    double total = 0;
    size_t counted = 0;
    size_t n_q = words ? n : (size_t)nl;
    for (size_t q = 0; q < n_q; q++) {
        int64_t w = words ? words[q] : lab_ids[q];
        if (label[w] < 0)
            continue;
        int64_t wi = -1;
        for (int64_t i = 0; i < nl && wi < 0; i++)
            if (lab_ids[i] == w)
                wi = i;
        size_t found = 0;
        for (int64_t i = 0; i < nl; i++) {
            if (i == wi)
                continue;
            double dot = 0;
            for (int64_t d = 0; d < dim; d++)
                dot += (double)unit[wi * dim + d] * unit[i * dim + d];
            top_insert(top, sims, &found, k, lab_ids[i], (float)dot);
        }
        if (!found)
            continue;
        size_t same = 0;
        for (size_t j = 0; j < found; j++)
            same += label[top[j]] == label[w];
        total += (double)same / (double)found;
        counted++;
    }
    *purity = counted ? total / (double)counted : 0.0;
    free(lab_ids);
    free(unit);
    free(top);
    free(sims);
    return EMBCL_OK;
}
