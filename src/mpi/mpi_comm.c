/* MPI handles: a duplicated communicator whose errors return (so embcl can
 * report them), failure agreement, and the two exchange patterns every
 * algorithm here is built from. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "mpi/mpi_impl.h"

int embcl_mpi_available(void)
{
    return 1;
}

embcl_status mpi_check(int rc, const char *func, const char *call)
{
    if (rc == MPI_SUCCESS)
        return EMBCL_OK;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return embcl_error(EMBCL_ERR_IO, func, "%s failed: %s", call, msg);
}

embcl_status embcl_mpi_create(const void *comm, embcl_mpi_t *out)
{
    static const char *fn = "embcl_mpi_create";
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    *out = NULL;
    int init = 0, fin = 0;
    MPI_Finalized(&fin);
    if (fin)
        return embcl_error(EMBCL_ERR_STATE, fn, "MPI is already finalised");
    MPI_Initialized(&init);
    if (!init)
        EMBCL_TRY(mpi_check(MPI_Init(NULL, NULL), fn, "MPI_Init"));
    struct embcl_mpi *m = embcl_calloc(1, sizeof *m, fn);
    if (!m)
        return EMBCL_ERR_OUT_OF_MEMORY;
    MPI_Comm base = comm ? *(const MPI_Comm *)comm : MPI_COMM_WORLD;
    embcl_status s = mpi_check(MPI_Comm_dup(base, &m->comm), fn, "MPI_Comm_dup");
    if (s != EMBCL_OK) {
        free(m);
        return s;
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    *out = m;
    return EMBCL_OK;
}

void embcl_mpi_free(embcl_mpi_t m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_merged; i++)
        embcl_rowsparse_free(m->merged[i]);
    free(m->merged);
    MPI_Comm_free(&m->comm);
    free(m);
}

embcl_status embcl_mpi_finalize(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        return mpi_check(MPI_Finalize(), "embcl_mpi_finalize", "MPI_Finalize");
    return EMBCL_OK;
}

void embcl_mpi_abort(embcl_mpi_t m, int code)
{
    if (m)
        MPI_Abort(m->comm, code);
}

int embcl_mpi_rank(embcl_mpi_t m)
{
    return m ? m->rank : 0;
}

int embcl_mpi_size(embcl_mpi_t m)
{
    return m ? m->size : 1;
}

uint64_t embcl_mpi_bytes_sent(embcl_mpi_t m)
{
    return m ? m->bytes_sent : 0;
}

embcl_status embcl_mpi_agree(embcl_mpi_t m, embcl_status status, const char *func)
{
    static const char *fn = "embcl_mpi_agree";
    EMBCL_CHECK_ARG(m != NULL, fn, "argument 'm' is NULL");
    /* The lowest failing rank (an integer minimum: exact in any order), then its status. */
    int key = status != EMBCL_OK ? m->rank : m->size, first = m->size;
    EMBCL_TRY(mpi_check(MPI_Allreduce(&key, &first, 1, MPI_INT, MPI_MIN, m->comm), fn, "MPI_Allreduce"));
    if (first == m->size)
        return EMBCL_OK;
    int st = (int)status;
    EMBCL_TRY(mpi_check(MPI_Bcast(&st, 1, MPI_INT, first, m->comm), fn, "MPI_Bcast"));
    if (status != EMBCL_OK)
        return status;
    return embcl_error((embcl_status)st, func ? func : fn, "rank %d failed with %s", first,
                       embcl_status_str((embcl_status)st));
}

embcl_status mpi_exchange(struct embcl_mpi *m, const void *send, const size_t *scount, void **recv, size_t *rcount,
                          const char *func)
{
    const int P = m->size;
    *recv = NULL;
    uint64_t *sc = embcl_malloc(2 * (size_t)P * sizeof *sc, func);
    int *ic = embcl_malloc(4 * (size_t)P * sizeof *ic, func);
    if (!sc || !ic) {
        free(sc);
        free(ic);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    uint64_t *rc = sc + P;
    for (int q = 0; q < P; q++)
        sc[q] = scount[q];
    embcl_status s = mpi_check(MPI_Alltoall(sc, 1, MPI_UINT64_T, rc, 1, MPI_UINT64_T, m->comm), func, "MPI_Alltoall");
    size_t stot = 0, rtot = 0;
    int *sn = ic, *sd = ic + P, *rn = ic + 2 * P, *rd = ic + 3 * P;
    for (int q = 0; q < P && s == EMBCL_OK; q++) {
        if (stot + sc[q] > INT_MAX || rtot + rc[q] > INT_MAX)
            s = embcl_error(EMBCL_ERR_UNSUPPORTED, func, "one exchange moves more than %d bytes between ranks",
                            INT_MAX);
        sn[q] = (int)sc[q], sd[q] = (int)stot, rn[q] = (int)rc[q], rd[q] = (int)rtot;
        stot += sc[q], rtot += rc[q];
        rcount[q] = rc[q];
    }
    /* Counts are known to every pair, so an oversized exchange fails on both sides alike. */
    char *r = s == EMBCL_OK ? embcl_malloc(rtot ? rtot : 1, func) : NULL;
    if (s == EMBCL_OK && !r)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK)
        s = mpi_check(MPI_Alltoallv(send, sn, sd, MPI_BYTE, r, rn, rd, MPI_BYTE, m->comm), func, "MPI_Alltoallv");
    if (s == EMBCL_OK) {
        m->bytes_sent += stot - sc[m->rank];
        *recv = r;
    } else {
        free(r);
    }
    free(sc);
    free(ic);
    return s;
}

embcl_status mpi_allgather_bytes(struct embcl_mpi *m, const void *mine, size_t bytes, void **all, size_t *counts,
                                 const char *func)
{
    const int P = m->size;
    *all = NULL;
    uint64_t *c = embcl_malloc((size_t)P * sizeof *c, func);
    int *ic = embcl_malloc(2 * (size_t)P * sizeof *ic, func);
    if (!c || !ic) {
        free(c);
        free(ic);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    uint64_t b = bytes;
    embcl_status s = mpi_check(MPI_Allgather(&b, 1, MPI_UINT64_T, c, 1, MPI_UINT64_T, m->comm), func, "MPI_Allgather");
    size_t tot = 0;
    for (int q = 0; q < P && s == EMBCL_OK; q++) {
        if (tot + c[q] > INT_MAX)
            s = embcl_error(EMBCL_ERR_UNSUPPORTED, func, "one gather moves more than %d bytes", INT_MAX);
        ic[q] = (int)c[q], ic[P + q] = (int)tot;
        tot += c[q];
        counts[q] = c[q];
    }
    char *r = s == EMBCL_OK ? embcl_malloc(tot ? tot : 1, func) : NULL;
    if (s == EMBCL_OK && !r)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK)
        s = mpi_check(MPI_Allgatherv(mine, (int)bytes, MPI_BYTE, r, ic, ic + P, MPI_BYTE, m->comm), func,
                      "MPI_Allgatherv");
    if (s == EMBCL_OK) {
        m->bytes_sent += (uint64_t)bytes * (uint64_t)(P - 1);
        *all = r;
    } else {
        free(r);
    }
    free(c);
    free(ic);
    return s;
}

embcl_status embcl_mpi_broadcast(embcl_mpi_t m, int root, void *buf, size_t bytes)
{
    static const char *fn = "embcl_mpi_broadcast";
    EMBCL_CHECK_ARG(m != NULL, fn, "argument 'm' is NULL");
    embcl_status s = EMBCL_OK;
    if (root < 0 || root >= m->size)
        s = embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'root' is %d, outside [0, %d)", root, m->size);
    else if (bytes > INT_MAX)
        s = embcl_error(EMBCL_ERR_UNSUPPORTED, fn, "argument 'bytes' is %zu; at most %d", bytes, INT_MAX);
    else if (!buf && bytes > 0)
        s = embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'buf' is NULL");
    EMBCL_TRY(embcl_mpi_agree(m, s, fn));
    EMBCL_TRY(mpi_check(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, m->comm), fn, "MPI_Bcast"));
    if (m->rank == root)
        m->bytes_sent += (uint64_t)bytes * (uint64_t)(m->size - 1);
    return EMBCL_OK;
}

embcl_status embcl_mpi_sum_host(embcl_mpi_t m, double *vals, size_t n, double scale)
{
    static const char *fn = "embcl_mpi_sum_host";
    EMBCL_CHECK_ARG(m != NULL, fn, "argument 'm' is NULL");
    EMBCL_CHECK_ARG(vals != NULL || n == 0, fn, "argument 'vals' is NULL");
    size_t *counts = embcl_malloc((size_t)m->size * sizeof *counts, fn);
    embcl_status s = embcl_mpi_agree(m, counts ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY, fn);
    double *all = NULL;
    if (s == EMBCL_OK)
        s = mpi_allgather_bytes(m, vals, n * sizeof *vals, (void **)&all, counts, fn);
    for (int q = 0; q < m->size && s == EMBCL_OK; q++)
        if (counts[q] != n * sizeof *vals)
            s = embcl_error(EMBCL_ERR_SHAPE, fn, "argument 'n' is %zu on rank %d but %zu on rank %d", n, m->rank,
                            counts[q] / sizeof *vals, q);
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        double acc = all[i];
        for (int q = 1; q < m->size; q++)
            acc += all[(size_t)q * n + i];
        vals[i] = acc * scale;
    }
    free(all);
    free(counts);
    return s;
}
