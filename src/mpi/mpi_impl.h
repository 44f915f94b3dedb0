/* Internal state of MPI handles and sharded tables, and the exchange and
 * merge helpers they share. Only compiled with MPI. */
#ifndef EMBCL_SRC_MPI_IMPL_H
#define EMBCL_SRC_MPI_IMPL_H

#include <mpi.h>

#include "embcl/mpi.h"

struct embcl_mpi {
    MPI_Comm comm;
    int rank, size;
    uint64_t bytes_sent;
    /* merged row-sparse gradients of embcl_mpi_allreduce_grads, by position */
    embcl_rowsparse_t *merged;
    size_t n_merged;
};

struct embcl_mpi_table {
    struct embcl_mpi *m;
    embcl_device_t dev;
    int64_t num_rows, dim, local_rows;
    embcl_tensor_t shard;
    /* the last lookup: this rank's distinct ids (ascending), grouped by
     * owner as sent (own_count[o] ids for owner o, in order); the ids other
     * ranks asked of this one (req_count[q] from rank q, concatenated) */
    int64_t *uniq, *sent_ids, *req_ids;
    int64_t n_uniq, n_req;
    size_t *own_count, *req_count;
    int have_lookup;
    embcl_rowsparse_t grad;
};

/* An MPI call's return code as an embcl status (MPI errors return on
 * embcl's communicators). */
embcl_status mpi_check(int rc, const char *func, const char *call);

/* Personalised all-to-all of bytes: send[scount[0] + ... ] goes in rank
 * order, scount[q] bytes to rank q; *recv (malloc'd, caller frees) gets
 * rcount[q] bytes from rank q, concatenated in rank order. Counts the bytes
 * sent to other ranks. */
embcl_status mpi_exchange(struct embcl_mpi *m, const void *send, const size_t *scount, void **recv, size_t *rcount,
                          const char *func);
/* Allgather of variable sizes: every rank's `bytes` of `mine`, in rank
 * order, into *all (malloc'd); counts[q] gets rank q's size. */
embcl_status mpi_allgather_bytes(struct embcl_mpi *m, const void *mine, size_t bytes, void **all, size_t *counts,
                                 const char *func);

/* Merge P sorted lists of unique ids with one dim-wide row each (list q:
 * counts[q] ids, concatenated in rank order): out_ids gets the ascending
 * union, out_rows each id's rows summed in list order, times scale. The
 * outputs need room for the sum of counts; *n_out gets the union's size. */
void mpi_merge_rows(int P, const size_t *counts, const int64_t *ids, const float *rows, int64_t dim, double scale,
                    int64_t *out_ids, float *out_rows, int64_t *n_out);

/* A row-sparse gradient in *slot of a [num_rows, dim] table on dev with
 * room for `need` rows: the one there if it fits, else a new one. */
embcl_status mpi_sparse_slot(embcl_rowsparse_t *slot, embcl_device_t dev, int64_t num_rows, int64_t dim,
                             int64_t need, const char *func);

#endif
