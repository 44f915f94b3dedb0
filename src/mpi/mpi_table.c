/* Tables sharded by row across ranks (id % size): a lookup asks each owner
 * for the rows it holds (one all-to-all of ids, one of rows), the backward
 * sends the rows' gradients back to their owners, which merge them per id
 * in rank order into a row-sparse gradient of their shard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "mpi/mpi_impl.h"

static int64_t shard_rows(int64_t num_rows, int P, int r)
{
    return num_rows > r ? (num_rows - r + P - 1) / P : 0;
}

embcl_status embcl_mpi_table_create(embcl_mpi_t m, embcl_device_t dev, int64_t num_rows, int64_t dim,
                                    uint64_t device_budget, embcl_mpi_table_t *out)
{
    static const char *fn = "embcl_mpi_table_create";
    EMBCL_CHECK_ARG(m != NULL, fn, "argument 'm' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    *out = NULL;
    embcl_status s = EMBCL_OK;
    if (!dev)
        s = embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'dev' is NULL");
    else if (num_rows < 1 || dim < 1)
        s = embcl_error(EMBCL_ERR_SHAPE, fn, "table [%lld, %lld]: both sizes must be positive", (long long)num_rows,
                        (long long)dim);
    EMBCL_TRY(embcl_mpi_agree(m, s, fn));
    const embcl_mpi_setting st[] = {{"table num_rows", NULL, num_rows}, {"table dim", NULL, dim}};
    s = embcl_mpi_check_settings(m, st, 2);
    if (s != EMBCL_OK)
        return embcl_error_context(s, fn);
    /* Rank 0's shard is the largest; every rank tests it, so all agree. */
    const uint64_t biggest = (uint64_t)shard_rows(num_rows, m->size, 0) * (uint64_t)dim * sizeof(float);
    if (device_budget > 0 && biggest > device_budget)
        return embcl_error(EMBCL_ERR_OUT_OF_MEMORY, fn,
                           "a shard of table [%lld, %lld] over %d ranks takes %llu bytes, above device_budget %llu; "
                           "use more ranks",
                           (long long)num_rows, (long long)dim, m->size, (unsigned long long)biggest,
                           (unsigned long long)device_budget);
    struct embcl_mpi_table *t = embcl_calloc(1, sizeof *t, fn);
    size_t *cnt = embcl_calloc(2 * (size_t)m->size, sizeof *cnt, fn);
    s = t && cnt ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK) {
        t->m = m;
        t->dev = dev;
        t->num_rows = num_rows;
        t->dim = dim;
        t->local_rows = shard_rows(num_rows, m->size, m->rank);
        t->own_count = cnt;
        t->req_count = cnt + m->size;
        cnt = NULL;
        s = embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){t->local_rows, dim}, &t->shard);
    }
    free(cnt);
    s = embcl_mpi_agree(m, s, fn);
    if (s != EMBCL_OK) {
        if (t) {
            embcl_tensor_free(t->shard);
            free(t->own_count);
            free(t);
        }
        return s;
    }
    *out = t;
    return EMBCL_OK;
}

static void forget_lookup(struct embcl_mpi_table *t)
{
    free(t->uniq);
    free(t->sent_ids);
    free(t->req_ids);
    t->uniq = t->sent_ids = t->req_ids = NULL;
    t->n_uniq = t->n_req = 0;
    t->have_lookup = 0;
}

void embcl_mpi_table_free(embcl_mpi_table_t t)
{
    if (!t)
        return;
    forget_lookup(t);
    embcl_rowsparse_free(t->grad);
    embcl_tensor_free(t->shard);
    free(t->own_count);
    free(t);
}

embcl_status embcl_mpi_table_shard(embcl_mpi_table_t t, embcl_tensor_t *out)
{
    static const char *fn = "embcl_mpi_table_shard";
    EMBCL_CHECK_ARG(t && out, fn, "arguments 't' and 'out' must not be NULL");
    return embcl_tensor_view_rows(t->shard, 0, t->local_rows, out);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Position of id in the ascending uniq[n]. */
static int64_t find(const int64_t *uniq, int64_t n, int64_t id)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (uniq[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Checks and the distinct ids, before any exchange. */
static embcl_status prepare(struct embcl_mpi_table *t, const int64_t *ids, int64_t n, embcl_tensor_t rows,
                            int64_t *local_ids, const char *fn)
{
    if (n < 0 || (n > 0 && (!ids || !local_ids)))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "arguments 'ids' and 'local_ids' must hold n = %lld values",
                           (long long)n);
    if (!rows || embcl_tensor_ndim(rows) != 2 || embcl_tensor_dim(rows, 1) != t->dim ||
        embcl_tensor_dtype(rows) != EMBCL_F32)
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'rows' must be a [cap, %lld] f32 tensor",
                           (long long)t->dim);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->num_rows)
            return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "ids[%lld] is %lld, outside [0, %lld)", (long long)i,
                               (long long)ids[i], (long long)t->num_rows);
    forget_lookup(t);
    t->uniq = embcl_malloc((size_t)(n ? n : 1) * sizeof *t->uniq, fn);
    t->sent_ids = embcl_malloc((size_t)(n ? n : 1) * sizeof *t->sent_ids, fn);
    if (!t->uniq || !t->sent_ids)
        return EMBCL_ERR_OUT_OF_MEMORY;
    memcpy(t->uniq, ids, (size_t)n * sizeof *ids);
    qsort(t->uniq, (size_t)n, sizeof *t->uniq, cmp_i64);
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++)
        if (u == 0 || t->uniq[u - 1] != t->uniq[i])
            t->uniq[u++] = t->uniq[i];
    t->n_uniq = u;
    if (u > embcl_tensor_dim(rows, 0))
        return embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'rows' has %lld rows but the lookups name %lld distinct ids",
                           (long long)embcl_tensor_dim(rows, 0), (long long)u);
    for (int64_t i = 0; i < n; i++)
        local_ids[i] = find(t->uniq, u, ids[i]);
    /* grouped by owner, ascending within each group */
    const int P = t->m->size;
    memset(t->own_count, 0, (size_t)P * sizeof *t->own_count);
    for (int64_t j = 0; j < u; j++)
        t->own_count[t->uniq[j] % P]++;
    int64_t k = 0;
    for (int o = 0; o < P; o++)
        for (int64_t j = 0; j < u; j++)
            if (t->uniq[j] % P == o)
                t->sent_ids[k++] = t->uniq[j];
    return EMBCL_OK;
}

/* The shard's rows for the requested global ids, [n_req, dim] on the host. */
static embcl_status read_rows(struct embcl_mpi_table *t, float *host, const char *fn)
{
    if (t->n_req == 0)
        return EMBCL_OK;
    int64_t *loc = embcl_malloc((size_t)t->n_req * sizeof *loc, fn);
    if (!loc)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; i < t->n_req; i++)
        loc[i] = t->req_ids[i] / t->m->size;
    embcl_tensor_t idx = NULL, got = NULL;
    embcl_status s = embcl_tensor_create(t->dev, EMBCL_I64, 1, &t->n_req, &idx);
    if (s == EMBCL_OK)
        s = embcl_tensor_create(t->dev, EMBCL_F32, 2, (int64_t[]){t->n_req, t->dim}, &got);
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(idx, loc, (size_t)t->n_req * sizeof *loc);
    if (s == EMBCL_OK)
        s = embcl_embedding(t->shard, idx, NULL, got);
    if (s == EMBCL_OK)
        s = embcl_tensor_download(got, host, (size_t)(t->n_req * t->dim) * sizeof *host);
    embcl_tensor_free(idx);
    embcl_tensor_free(got);
    free(loc);
    return s;
}

embcl_status embcl_mpi_table_lookup(embcl_mpi_table_t t, const int64_t *ids, int64_t n, embcl_tensor_t rows,
                                    int64_t *local_ids, int64_t *n_unique)
{
    static const char *fn = "embcl_mpi_table_lookup";
    EMBCL_CHECK_ARG(t != NULL, fn, "argument 't' is NULL");
    struct embcl_mpi *m = t->m;
    const int P = m->size;
    embcl_status s = prepare(t, ids, n, rows, local_ids, fn);
    EMBCL_TRY(embcl_mpi_agree(m, s, fn));
    size_t *bytes = embcl_malloc(2 * (size_t)P * sizeof *bytes, fn);
    if (!bytes)
        return EMBCL_ERR_OUT_OF_MEMORY;
    size_t *rbytes = bytes + P;
    for (int o = 0; o < P; o++)
        bytes[o] = t->own_count[o] * sizeof(int64_t);
    s = mpi_exchange(m, t->sent_ids, bytes, (void **)&t->req_ids, rbytes, fn);
    t->n_req = 0;
    for (int q = 0; q < P && s == EMBCL_OK; q++) {
        t->req_count[q] = rbytes[q] / sizeof(int64_t);
        t->n_req += (int64_t)t->req_count[q];
    }
    /* answer the requests: rows in the order asked, per asking rank */
    float *answer = s == EMBCL_OK ? embcl_malloc((size_t)(t->n_req ? t->n_req * t->dim : 1) * sizeof *answer, fn)
                                  : NULL;
    if (s == EMBCL_OK)
        s = answer ? read_rows(t, answer, fn) : EMBCL_ERR_OUT_OF_MEMORY;
    s = embcl_mpi_agree(m, s, fn);
    float *got = NULL;
    if (s == EMBCL_OK) {
        for (int q = 0; q < P; q++)
            bytes[q] = t->req_count[q] * (size_t)t->dim * sizeof(float);
        s = mpi_exchange(m, answer, bytes, (void **)&got, rbytes, fn);
    }
    free(answer);
    /* got holds owner 0's rows, then owner 1's, ... in sent_ids order */
    const int64_t cap = s == EMBCL_OK ? embcl_tensor_dim(rows, 0) : 0;
    float *dense = s == EMBCL_OK ? embcl_calloc((size_t)(cap * t->dim), sizeof *dense, fn) : NULL;
    if (s == EMBCL_OK && !dense && cap > 0)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    for (int64_t k = 0; k < t->n_uniq && s == EMBCL_OK; k++) {
        int64_t j = find(t->uniq, t->n_uniq, t->sent_ids[k]);
        memcpy(dense + j * t->dim, got + k * t->dim, (size_t)t->dim * sizeof *dense);
    }
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(rows, dense, (size_t)(cap * t->dim) * sizeof *dense);
    free(dense);
    free(got);
    free(bytes);
    if (s == EMBCL_OK) {
        t->have_lookup = 1;
        if (n_unique)
            *n_unique = t->n_uniq;
    }
    return s;
}

embcl_status embcl_mpi_table_backward(embcl_mpi_table_t t, embcl_tensor_t rows_grad, double scale,
                                      embcl_rowsparse_t *out)
{
    static const char *fn = "embcl_mpi_table_backward";
    EMBCL_CHECK_ARG(t && out, fn, "arguments 't' and 'out' must not be NULL");
    struct embcl_mpi *m = t->m;
    const int P = m->size;
    const int64_t D = t->dim, u = t->n_uniq;
    embcl_status s = EMBCL_OK;
    if (!t->have_lookup)
        s = embcl_error(EMBCL_ERR_STATE, fn, "no lookup to take the gradient of (embcl_mpi_table_lookup first)");
    else if (!rows_grad || embcl_tensor_ndim(rows_grad) != 2 || embcl_tensor_dim(rows_grad, 1) != D ||
             embcl_tensor_dim(rows_grad, 0) < u)
        s = embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'rows_grad' must be a [cap >= %lld, %lld] f32 tensor",
                        (long long)u, (long long)D);
    float *g = s == EMBCL_OK ? embcl_malloc((size_t)(u ? u * D : 1) * sizeof *g, fn) : NULL;
    float *send = s == EMBCL_OK ? embcl_malloc((size_t)(u ? u * D : 1) * sizeof *send, fn) : NULL;
    if (s == EMBCL_OK && (!g || !send))
        s = EMBCL_ERR_OUT_OF_MEMORY;
    embcl_tensor_t head = NULL;
    if (s == EMBCL_OK && u > 0)
        s = embcl_tensor_view_rows(rows_grad, 0, u, &head);
    if (s == EMBCL_OK && u > 0)
        s = embcl_tensor_download(head, g, (size_t)(u * D) * sizeof *g);
    embcl_tensor_free(head);
    for (int64_t k = 0; k < u && s == EMBCL_OK; k++)
        memcpy(send + k * D, g + find(t->uniq, u, t->sent_ids[k]) * D, (size_t)D * sizeof *send);
    free(g);
    s = embcl_mpi_agree(m, s, fn);
    size_t *bytes = s == EMBCL_OK ? embcl_malloc(2 * (size_t)P * sizeof *bytes, fn) : NULL;
    if (s == EMBCL_OK && !bytes)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    float *recv = NULL;
    if (s == EMBCL_OK) {
        for (int o = 0; o < P; o++)
            bytes[o] = t->own_count[o] * (size_t)D * sizeof(float);
        s = mpi_exchange(m, send, bytes, (void **)&recv, bytes + P, fn);
    }
    free(send);
    free(bytes);
    /* recv: rank q's rows for the ids it asked of this rank, in rank order */
    int64_t *ids = s == EMBCL_OK ? embcl_malloc((size_t)(t->n_req ? t->n_req : 1) * sizeof *ids, fn) : NULL;
    float *rows = s == EMBCL_OK ? embcl_malloc((size_t)(t->n_req ? t->n_req * D : 1) * sizeof *rows, fn) : NULL;
    if (s == EMBCL_OK && (!ids || !rows))
        s = EMBCL_ERR_OUT_OF_MEMORY;
    int64_t nnz = 0;
    if (s == EMBCL_OK) {
        mpi_merge_rows(P, t->req_count, t->req_ids, recv, D, scale, ids, rows, &nnz);
        for (int64_t i = 0; i < nnz; i++)
            ids[i] /= P; /* global to local row: order kept */
        s = mpi_sparse_slot(&t->grad, t->dev, t->local_rows, D, nnz > 0 ? nnz : 1, fn);
    }
    if (s == EMBCL_OK)
        s = embcl_rowsparse_set(t->grad, nnz, ids, rows);
    if (s == EMBCL_OK)
        *out = t->grad;
    free(ids);
    free(rows);
    free(recv);
    return s;
}

/* Whole-table transfers between root's host array and the shards: rank q's
 * shard holds global rows q, q + P, q + 2P, ... */
static embcl_status shard_counts(struct embcl_mpi_table *t, int *cnt, int *displ, const char *fn)
{
    int64_t off = 0;
    for (int q = 0; q < t->m->size; q++) {
        int64_t b = shard_rows(t->num_rows, t->m->size, q) * t->dim;
        if (off + b > 0x7fffffff)
            return embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "the table holds more than 2^31 floats");
        cnt[q] = (int)b;
        displ[q] = (int)off;
        off += b;
    }
    return EMBCL_OK;
}

/* The host side of a whole-table transfer: this rank's shard (mine), and on
 * root the whole table in shard order (all) with each shard's count and
 * offset in floats (cnt[0..P), cnt[P..2P)). */
typedef struct whole {
    float *mine, *all;
    int *cnt;
    size_t mine_n;
} whole;

static embcl_status whole_begin(struct embcl_mpi_table *t, int root, const void *host, whole *w, const char *fn)
{
    const int P = t->m->size, is_root = t->m->rank == root;
    w->mine_n = (size_t)(t->local_rows * t->dim);
    w->mine = embcl_malloc((w->mine_n ? w->mine_n : 1) * sizeof *w->mine, fn);
    w->cnt = embcl_malloc(2 * (size_t)P * sizeof *w->cnt, fn);
    w->all = is_root ? embcl_malloc((size_t)(t->num_rows * t->dim) * sizeof *w->all, fn) : NULL;
    if (root < 0 || root >= P)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'root' is %d, outside [0, %d)", root, P);
    if (is_root && !host)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'host' is NULL on the root rank");
    if (!w->mine || !w->cnt || (is_root && !w->all))
        return EMBCL_ERR_OUT_OF_MEMORY;
    return shard_counts(t, w->cnt, w->cnt + P, fn);
}

static void whole_end(whole *w)
{
    free(w->all);
    free(w->cnt);
    free(w->mine);
}

/* Global row q + i P is row i of shard q: between host order and shard order. */
static void whole_order(struct embcl_mpi_table *t, whole *w, float *host, int to_host)
{
    const int P = t->m->size;
    const size_t row = (size_t)t->dim * sizeof(float);
    for (int q = 0; q < P; q++)
        for (int64_t i = 0; i < shard_rows(t->num_rows, P, q); i++) {
            float *h = host + (q + i * P) * t->dim, *a = w->all + w->cnt[P + q] + i * t->dim;
            memcpy(to_host ? h : a, to_host ? a : h, row);
        }
}

embcl_status embcl_mpi_table_gather(embcl_mpi_table_t t, int root, float *host)
{
    static const char *fn = "embcl_mpi_table_gather";
    EMBCL_CHECK_ARG(t != NULL, fn, "argument 't' is NULL");
    struct embcl_mpi *m = t->m;
    whole w;
    embcl_status s = whole_begin(t, root, host, &w, fn);
    if (s == EMBCL_OK)
        s = embcl_tensor_download(t->shard, w.mine, w.mine_n * sizeof *w.mine);
    s = embcl_mpi_agree(m, s, fn);
    if (s == EMBCL_OK)
        s = mpi_check(MPI_Gatherv(w.mine, (int)w.mine_n, MPI_FLOAT, w.all, w.cnt, w.cnt + m->size, MPI_FLOAT, root,
                                  m->comm),
                      fn, "MPI_Gatherv");
    if (s == EMBCL_OK && m->rank != root)
        m->bytes_sent += w.mine_n * sizeof *w.mine;
    if (s == EMBCL_OK && m->rank == root)
        whole_order(t, &w, host, 1);
    whole_end(&w);
    return s;
}

embcl_status embcl_mpi_table_scatter(embcl_mpi_table_t t, int root, const float *host)
{
    static const char *fn = "embcl_mpi_table_scatter";
    EMBCL_CHECK_ARG(t != NULL, fn, "argument 't' is NULL");
    struct embcl_mpi *m = t->m;
    whole w;
    embcl_status s = whole_begin(t, root, host, &w, fn);
    if (s == EMBCL_OK && m->rank == root)
        whole_order(t, &w, (float *)host, 0); /* reads host only */
    s = embcl_mpi_agree(m, s, fn);
    if (s == EMBCL_OK)
        s = mpi_check(MPI_Scatterv(w.all, w.cnt, w.cnt + m->size, MPI_FLOAT, w.mine, (int)w.mine_n, MPI_FLOAT, root,
                                   m->comm),
                      fn, "MPI_Scatterv");
    if (s == EMBCL_OK && m->rank == root)
        m->bytes_sent += (uint64_t)(t->num_rows * t->dim - (int64_t)w.mine_n) * sizeof(float);
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(t->shard, w.mine, w.mine_n * sizeof *w.mine);
    whole_end(&w);
    return s;
}
