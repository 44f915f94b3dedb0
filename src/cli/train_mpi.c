/* embcl train under mpirun: one process per rank, data parallel. Rank 0
 * speaks (progress, report) and writes checkpoints and the loss CSV; the
 * other ranks train silently. */
#include <stdio.h>

#include "embcl.h"
#include "embcl/mpi.h"
#include "train_mpi.h"

int train_mpi_begin(embcl_mpi_t *out)
{
    *out = NULL;
    const int n = embcl_mpi_launched_size();
    if (n <= 1)
        return 0;
    if (!embcl_mpi_available()) {
        fprintf(stderr,
                "embcl train: started as %d processes by an MPI launcher, but this embcl was built without MPI "
                "(install libopenmpi-dev and configure with -DEMBCL_MPI=ON)\n",
                n);
        return 1;
    }
    if (embcl_mpi_create(NULL, out) != EMBCL_OK) {
        fprintf(stderr, "embcl train: mpirun: %s\n", embcl_last_error());
        return 1;
    }
    if (embcl_mpi_rank(*out) != 0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "embcl train: rank %d cannot silence its output\n", embcl_mpi_rank(*out));
        return 1;
    }
    printf("data parallel over %d ranks (MPI): each step trains on %d batches, one per rank\n",
           embcl_mpi_size(*out), embcl_mpi_size(*out));
    return 0;
}

int train_mpi_attach(embcl_mpi_t m, embcl_trainer_t tr)
{
    if (!m)
        return 0;
    if (embcl_mpi_trainer_attach(m, tr) != EMBCL_OK) {
        fprintf(stderr, "embcl train: rank %d: %s\n", embcl_mpi_rank(m), embcl_last_error());
        return 1;
    }
    return 0;
}

int train_mpi_speaks(embcl_mpi_t m)
{
    return embcl_mpi_rank(m) == 0;
}

void train_mpi_end(embcl_mpi_t m, int rc)
{
    if (!m)
        return;
    /* A rank that failed alone would leave the others waiting in the next
     * exchange: end them all (the reason is printed already). */
    if (rc != 0) {
        fflush(stdout);
        fflush(stderr);
        embcl_mpi_abort(m, rc);
    }
    embcl_mpi_free(m);
    embcl_mpi_finalize();
}
