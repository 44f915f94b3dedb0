/* embcl train under mpirun (src/cli/train_mpi.c). */
#ifndef EMBCL_CLI_TRAIN_MPI_H
#define EMBCL_CLI_TRAIN_MPI_H

#include "embcl/mpi.h"

/* When an MPI launcher started several processes: joins them (*out; NULL
 * when run alone) and silences stdout on ranks other than 0. 1 on failure
 * (printed). */
int train_mpi_begin(embcl_mpi_t *out);
/* Data parallel over m's ranks (nothing when m is NULL); 1 on failure. */
int train_mpi_attach(embcl_mpi_t m, embcl_trainer_t tr);
/* Whether this process writes files (rank 0, or alone). */
int train_mpi_speaks(embcl_mpi_t m);
/* Leaves MPI (after the trainer is freed); rc != 0 ends every rank. */
void train_mpi_end(embcl_mpi_t m, int rc);

#endif
