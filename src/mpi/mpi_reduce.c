/* Data parallel across ranks: every rank's gradients summed in rank order.
 * Dense ones by a reduce-scatter whose sums the owner of each slice makes
 * (rank 0's values first), then an allgather of the slices: each rank sends
 * 2 (P-1)/P of the gradient, and all get the owner's bits. Row-sparse ones
 * by an allgather of ids and rows, merged per id in rank order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "mpi/mpi_impl.h"

static const char *fn = "embcl_mpi_allreduce_grads";

void mpi_merge_rows(int P, const size_t *counts, const int64_t *ids, const float *rows, int64_t dim, double scale,
                    int64_t *out_ids, float *out_rows, int64_t *n_out)
{
    size_t head[P > 0 ? P : 1], start[P > 0 ? P : 1];
    size_t off = 0;
    for (int q = 0; q < P; q++) {
        start[q] = off;
        head[q] = 0;
        off += counts[q];
    }
    const float sc = (float)scale;
    int64_t n = 0;
    for (;;) {
        int64_t id = INT64_MAX;
        for (int q = 0; q < P; q++)
            if (head[q] < counts[q] && ids[start[q] + head[q]] < id)
                id = ids[start[q] + head[q]];
        if (id == INT64_MAX)
            break;
        float *acc = out_rows + n * dim;
        int first = 1;
        for (int q = 0; q < P; q++) {
            if (head[q] >= counts[q] || ids[start[q] + head[q]] != id)
                continue;
            const float *r = rows + (start[q] + head[q]) * (size_t)dim;
            for (int64_t c = 0; c < dim; c++)
                acc[c] = first ? r[c] : acc[c] + r[c];
            first = 0;
            head[q]++;
        }
        if (sc != 1.0f)
            for (int64_t c = 0; c < dim; c++)
                acc[c] *= sc;
        out_ids[n++] = id;
    }
    *n_out = n;
}

embcl_status mpi_sparse_slot(embcl_rowsparse_t *slot, embcl_device_t dev, int64_t num_rows, int64_t dim,
                             int64_t need, const char *func)
{
    embcl_rowsparse_t g = *slot;
    if (g && embcl_rowsparse_device(g) == dev && embcl_rowsparse_num_rows(g) == num_rows &&
        embcl_rowsparse_dim(g) == dim && embcl_rowsparse_capacity(g) >= need)
        return EMBCL_OK;
    /* Grow by half again, so a slowly widening union allocates rarely. */
    int64_t cap = g && embcl_rowsparse_capacity(g) * 3 / 2 > need ? embcl_rowsparse_capacity(g) * 3 / 2 : need;
    embcl_rowsparse_t fresh;
    embcl_status s = embcl_rowsparse_create(dev, num_rows, dim, cap, &fresh);
    if (s != EMBCL_OK)
        return embcl_error_context(s, func);
    embcl_rowsparse_free(g);
    *slot = fresh;
    return EMBCL_OK;
}

/* Kind (0 none, 1 dense, 2 row-sparse), rows and columns of each gradient. */
static void signature(const embcl_grad *grads, size_t n, int64_t *sig)
{
    for (size_t i = 0; i < n; i++) {
        int64_t *s = sig + 3 * i;
        s[0] = s[1] = s[2] = 0;
        if (grads[i].sparse) {
            s[0] = 2;
            s[1] = embcl_rowsparse_num_rows(grads[i].sparse);
            s[2] = embcl_rowsparse_dim(grads[i].sparse);
        } else if (grads[i].dense) {
            s[0] = 1;
            s[1] = embcl_tensor_numel(grads[i].dense);
            int nd = embcl_tensor_ndim(grads[i].dense);
            s[2] = nd > 0 ? embcl_tensor_dim(grads[i].dense, nd - 1) : 1;
        }
    }
}

static const char *kind_name(int64_t k)
{
    return k == 2 ? "row-sparse" : k == 1 ? "dense" : "absent";
}

/* Every rank must bring gradients of the same kinds and shapes, or the
 * exchanges below would mismatch. */
static embcl_status check_signatures(struct embcl_mpi *m, const embcl_grad *grads, size_t n)
{
    int64_t *sig = embcl_malloc((3 * n + 1) * sizeof *sig, fn);
    embcl_status s = sig ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK) {
        sig[0] = (int64_t)n;
        signature(grads, n, sig + 1);
    }
    s = embcl_mpi_agree(m, s, fn);
    size_t *counts = s == EMBCL_OK ? embcl_malloc((size_t)m->size * sizeof *counts, fn) : NULL;
    if (s == EMBCL_OK && !counts)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    int64_t *all = NULL;
    if (s == EMBCL_OK)
        s = mpi_allgather_bytes(m, sig, (3 * n + 1) * sizeof *sig, (void **)&all, counts, fn);
    size_t off = 0;
    for (int q = 0; q < m->size && s == EMBCL_OK; q++) {
        const int64_t *a = all + off;
        off += counts[q] / sizeof *a;
        if (a[0] != (int64_t)n) {
            s = embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'n' is %zu on rank %d but %lld on rank %d", n, m->rank,
                            (long long)a[0], q);
            break;
        }
        for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
            const int64_t *x = sig + 1 + 3 * i, *y = a + 1 + 3 * i;
            if (x[0] != y[0] || x[1] != y[1] || x[2] != y[2])
                s = embcl_error(EMBCL_ERR_SHAPE, fn,
                                "gradient %zu is %s (%lld x %lld) on rank %d but %s (%lld x %lld) on rank %d", i,
                                kind_name(x[0]), (long long)x[1], (long long)x[2], m->rank, kind_name(y[0]),
                                (long long)y[1], (long long)y[2], q);
        }
    }
    free(all);
    free(counts);
    free(sig);
    return s;
}

/* buf[N] := scale * sum over ranks of buf, identically on every rank. */
static embcl_status reduce_dense(struct embcl_mpi *m, float *buf, size_t N, double scale)
{
    const int P = m->size, r = m->rank;
    size_t *cnt = embcl_malloc(2 * (size_t)P * sizeof *cnt, fn);
    if (!cnt)
        return EMBCL_ERR_OUT_OF_MEMORY;
    size_t *rcnt = cnt + P;
    for (int q = 0; q < P; q++)
        cnt[q] = (N * (size_t)(q + 1) / (size_t)P - N * (size_t)q / (size_t)P) * sizeof(float);
    float *parts = NULL;
    embcl_status s = mpi_exchange(m, buf, cnt, (void **)&parts, rcnt, fn);
    if (s == EMBCL_OK) {
        /* rank q's piece of my slice at parts + q * len, summed in rank order */
        const size_t len = cnt[r] / sizeof(float), lo = N * (size_t)r / (size_t)P;
        float *mine = buf + lo;
        const float sc = (float)scale;
        for (size_t i = 0; i < len; i++) {
            float acc = parts[i];
            for (int q = 1; q < P; q++)
                acc += parts[(size_t)q * len + i];
            mine[i] = sc != 1.0f ? acc * sc : acc;
        }
        float *all = NULL;
        s = mpi_allgather_bytes(m, mine, len * sizeof(float), (void **)&all, rcnt, fn);
        if (s == EMBCL_OK)
            memcpy(buf, all, N * sizeof(float));
        free(all);
    }
    free(parts);
    free(cnt);
    return s;
}

/* All dense gradients travel as one buffer: one exchange per step. */
static embcl_status allreduce_dense(struct embcl_mpi *m, embcl_grad *grads, size_t n, double scale)
{
    size_t N = 0;
    for (size_t i = 0; i < n; i++)
        if (grads[i].dense && !grads[i].sparse)
            N += (size_t)embcl_tensor_numel(grads[i].dense);
    float *buf = embcl_malloc((N ? N : 1) * sizeof *buf, fn);
    embcl_status s = buf ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    size_t off = 0;
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        if (!grads[i].dense || grads[i].sparse)
            continue;
        size_t k = (size_t)embcl_tensor_numel(grads[i].dense);
        s = embcl_tensor_download(grads[i].dense, buf + off, k * sizeof *buf);
        off += k;
    }
    s = embcl_mpi_agree(m, s, fn);
    if (s == EMBCL_OK && N > 0)
        s = reduce_dense(m, buf, N, scale);
    off = 0;
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        if (!grads[i].dense || grads[i].sparse)
            continue;
        size_t k = (size_t)embcl_tensor_numel(grads[i].dense);
        s = embcl_tensor_upload(grads[i].dense, buf + off, k * sizeof *buf);
        off += k;
    }
    free(buf);
    return s;
}

/* One row-sparse gradient: gather every rank's ids and rows, merge. */
static embcl_status allreduce_sparse(struct embcl_mpi *m, embcl_grad *gr, size_t slot, double scale)
{
    embcl_rowsparse_t g = gr->sparse;
    const int64_t nnz = embcl_rowsparse_nnz(g), D = embcl_rowsparse_dim(g);
    const size_t P = (size_t)m->size;
    size_t host_bytes = (size_t)nnz * (sizeof(int64_t) + (size_t)D * sizeof(float));
    char *mine = embcl_malloc(host_bytes ? host_bytes : 1, fn);
    size_t *counts = embcl_calloc(2 * P, sizeof *counts, fn);
    embcl_status s = mine && counts ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    embcl_tensor_t ids = NULL, vals = NULL;
    if (s == EMBCL_OK && nnz > 0) {
        s = embcl_rowsparse_ids(g, &ids);
        if (s == EMBCL_OK)
            s = embcl_rowsparse_values(g, &vals);
        if (s == EMBCL_OK)
            s = embcl_tensor_download(ids, mine, (size_t)nnz * sizeof(int64_t));
        if (s == EMBCL_OK)
            s = embcl_tensor_download(vals, mine + nnz * sizeof(int64_t), (size_t)(nnz * D) * sizeof(float));
    }
    embcl_tensor_free(ids);
    embcl_tensor_free(vals);
    s = embcl_mpi_agree(m, s, fn);
    /* ids and rows in two gathers, so each arrives contiguous by rank */
    int64_t *all_ids = NULL;
    float *all_rows = NULL;
    if (s == EMBCL_OK)
        s = mpi_allgather_bytes(m, mine, (size_t)nnz * sizeof(int64_t), (void **)&all_ids, counts, fn);
    if (s == EMBCL_OK)
        s = mpi_allgather_bytes(m, mine + nnz * sizeof(int64_t), (size_t)(nnz * D) * sizeof(float),
                                (void **)&all_rows, counts + P, fn);
    size_t total = 0;
    for (size_t q = 0; q < P && s == EMBCL_OK; q++)
        total += (counts[q] /= sizeof(int64_t));
    int64_t *out_ids = s == EMBCL_OK ? embcl_malloc((total ? total : 1) * sizeof *out_ids, fn) : NULL;
    float *out_rows = s == EMBCL_OK ? embcl_malloc((total ? total * (size_t)D : 1) * sizeof *out_rows, fn) : NULL;
    if (s == EMBCL_OK && (!out_ids || !out_rows))
        s = EMBCL_ERR_OUT_OF_MEMORY;
    int64_t n_out = 0;
    if (s == EMBCL_OK) {
        mpi_merge_rows((int)P, counts, all_ids, all_rows, D, scale, out_ids, out_rows, &n_out);
        s = mpi_sparse_slot(&m->merged[slot], embcl_rowsparse_device(g), embcl_rowsparse_num_rows(g), D, n_out, fn);
    }
    if (s == EMBCL_OK)
        s = embcl_rowsparse_set(m->merged[slot], n_out, out_ids, out_rows);
    if (s == EMBCL_OK)
        gr->sparse = m->merged[slot];
    free(out_ids);
    free(out_rows);
    free(all_ids);
    free(all_rows);
    free(counts);
    free(mine);
    return s;
}

embcl_status embcl_mpi_allreduce_grads(embcl_mpi_t m, embcl_grad *grads, size_t n, double scale)
{
    EMBCL_CHECK_ARG(m != NULL, fn, "argument 'm' is NULL");
    EMBCL_CHECK_ARG(grads != NULL || n == 0, fn, "argument 'grads' is NULL");
    EMBCL_TRY(check_signatures(m, grads, n));
    if (n > m->n_merged) {
        embcl_rowsparse_t *mg = embcl_realloc(m->merged, n * sizeof *mg, fn);
        embcl_status s = embcl_mpi_agree(m, mg ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY, fn);
        if (!mg)
            return s;
        memset(mg + m->n_merged, 0, (n - m->n_merged) * sizeof *mg);
        m->merged = mg;
        m->n_merged = n;
        EMBCL_TRY(s);
    }
    EMBCL_TRY(allreduce_dense(m, grads, n, scale));
    for (size_t i = 0; i < n; i++)
        if (grads[i].sparse)
            EMBCL_TRY(allreduce_sparse(m, &grads[i], i, scale));
    return EMBCL_OK;
}
