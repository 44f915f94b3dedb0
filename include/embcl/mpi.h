/* embcl across machines, on MPI: data-parallel gradient reduction in a fixed
 * order, embedding tables sharded by row, and agreement checks of settings
 * across ranks.
 *
 * Every rank runs the same program (mpirun -np N prog). A handle wraps a
 * duplicate of an MPI communicator, so embcl's messages never mix with the
 * caller's. Functions marked "collective" must be called by every rank of
 * the handle, in the same order; they fail on every rank together (the
 * failing rank's message names the cause, the others' name that rank), so a
 * bad argument on one rank never leaves the others waiting.
 *
 * Determinism: reductions never use MPI_Allreduce (whose summation order
 * MPI leaves open). Dense gradients are summed in rank order (rank 0's
 * first) by the rank owning each slice, then shared (a reduce-scatter and
 * an allgather); row-sparse gradients are gathered and each id's rows summed
 * in rank order. Every rank gets the same bits, so replicas stay identical.
 *
 * Without MPI (the library configured with -DEMBCL_MPI=OFF, or no MPI
 * found), this header is still usable: embcl_mpi_available() returns 0 and
 * every other function fails with EMBCL_ERR_UNSUPPORTED saying so.
 *
 * Ownership: embcl_mpi_create() gives a handle freed with embcl_mpi_free();
 * embcl_mpi_table_create() a table freed with embcl_mpi_table_free()
 * (before its communicator). Row-sparse gradients these functions return
 * belong to the handle or table and stay valid until its next call of the
 * same function.
 */
#ifndef EMBCL_MPI_H
#define EMBCL_MPI_H

#include "core.h"
#include "device.h"
#include "graph.h"
#include "optim.h"
#include "sparse.h"
#include "tensor.h"
#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_mpi *embcl_mpi_t;
typedef struct embcl_mpi_table *embcl_mpi_table_t;

/* 1 when the library was built with MPI, else 0. */
EMBCL_API int embcl_mpi_available(void);
/* The number of processes the launcher started (read from its
 * environment: Open MPI's mpirun, or a PMI launcher such as MPICH's or
 * srun --mpi=pmi2), or 1 when not launched by one. Needs no MPI: a program
 * built without it can tell it was started under mpirun and refuse. */
EMBCL_API int embcl_mpi_launched_size(void);

/* A handle on the communicator *comm (a pointer to an MPI_Comm; NULL:
 * MPI_COMM_WORLD), duplicated. Initialises MPI if the caller has not. */
EMBCL_API embcl_status embcl_mpi_create(const void *comm, embcl_mpi_t *out);
/* NULL is accepted and ignored. Collective (frees the duplicate). */
EMBCL_API void embcl_mpi_free(embcl_mpi_t m);
/* MPI_Finalize, if MPI is initialised and not yet finalised (call once,
 * after freeing every handle, before the program exits). */
EMBCL_API embcl_status embcl_mpi_finalize(void);

/* Ends every process of m's communicator with exit code `code`
 * (MPI_Abort): for a failure on some ranks only, after which the others
 * would wait for it forever. Returns only if m is NULL. */
EMBCL_API void embcl_mpi_abort(embcl_mpi_t m, int code);

/* This process's rank in [0, size) and the number of ranks (0 and 1 for NULL). */
EMBCL_API int embcl_mpi_rank(embcl_mpi_t m);
EMBCL_API int embcl_mpi_size(embcl_mpi_t m);
/* Payload bytes this rank has sent through m and its tables so far (the
 * data each algorithm must move, not the transport's own relaying). */
EMBCL_API uint64_t embcl_mpi_bytes_sent(embcl_mpi_t m);

/* Collective: every rank passes status (its own result); each gets the
 * first failure by rank (EMBCL_OK when all succeeded). A rank whose status
 * is EMBCL_OK gets a message, under func (the public function to name),
 * naming the failing rank and its status; a failing rank keeps its own. */
EMBCL_API embcl_status embcl_mpi_agree(embcl_mpi_t m, embcl_status status, const char *func);

/* Collective: rank root's `bytes` of buf into every rank's buf. */
EMBCL_API embcl_status embcl_mpi_broadcast(embcl_mpi_t m, int root, void *buf, size_t bytes);
/* Collective: vals[n] := scale * (the sum over ranks in rank order), the
 * same on every rank (losses, counts: host values). */
EMBCL_API embcl_status embcl_mpi_sum_host(embcl_mpi_t m, double *vals, size_t n, double scale);

/* ---- Agreement of settings ------------------------------------------------ */

/* One setting every rank must agree on: its name ("vocab_size") and its
 * value, either text (text != NULL) or the integer `value`. */
typedef struct embcl_mpi_setting {
    const char *name;
    const char *text;
    int64_t value;
} embcl_mpi_setting;

/* Collective: fails with EMBCL_ERR_INVALID_ARG on every rank when any
 * setting differs between ranks, naming the setting and both values
 * ("setting 'dim' differs across ranks: rank 0 has 64, rank 1 has 32"),
 * or when the ranks check different numbers or names of settings. Texts are
 * compared in full (the message shows their first 100 bytes). */
EMBCL_API embcl_status embcl_mpi_check_settings(embcl_mpi_t m, const embcl_mpi_setting *settings, size_t n);

/* ---- Data parallel -------------------------------------------------------- */

/* A graph parameter's gradient after embcl_graph_step, in the form the
 * graph keeps it: out->sparse (the graph's row-sparse gradient, owned by
 * the graph) for a table whose readers are all sparse, else out->dense (a
 * view of the dense gradient, caller frees), else neither (no gradient).
 * Unlike embcl_graph_grad it never densifies, so a row-sparse gradient
 * travels as rows. Needs no MPI. */
EMBCL_API embcl_status embcl_mpi_graph_grad(embcl_graph_t g, embcl_value param, embcl_grad *out);

/* Collective: replace every rank's grads[i] by scale * (the sum over ranks
 * in rank order) (scale = 1 / size when each rank's loss is a mean over its
 * share of the batch). grads[n] as for embcl_optim_step; the ranks must
 * pass the same n and, for each i, the same kind (dense, row-sparse or
 * none) and shape, else EMBCL_ERR_SHAPE naming the gradient and both ranks'
 * shapes. Dense gradients are overwritten in place. Row-sparse ones are
 * merged (the union of the ranks' ids) into a row-sparse gradient owned by
 * m, which replaces grads[i].sparse (the caller's is left as it was).
 * Blocking: waits for the devices' queues. */
EMBCL_API embcl_status embcl_mpi_allreduce_grads(embcl_mpi_t m, embcl_grad *grads, size_t n, double scale);

/* ---- embcl train across ranks -------------------------------------------- */

/* Collective: make tr (one per rank, all created from the same config,
 * vocabulary and corpus) train data parallel over m's ranks. Checks that
 * the ranks agree on the config (every field, by name: "dim", "seed",
 * "vocab_size", ...), the data's sizes and the step reached (a resumed
 * run); copies rank 0's parameters to every rank; then each
 * embcl_trainer_step of rank r reads the batches of steps s*size + r, and
 * the ranks' gradients are averaged in rank order before clipping and the
 * update, so one step trains on size batches and the replicas stay
 * identical. An epoch then takes steps_per_epoch / size steps (total_steps
 * shrinks likewise unless max_steps set it); step results give the ranks'
 * mean losses, and embcl_trainer_info's tokens_per_step counts every
 * rank's. m must outlive tr. */
EMBCL_API embcl_status embcl_mpi_trainer_attach(embcl_mpi_t m, embcl_trainer_t tr);

/* ---- Row-sharded tables --------------------------------------------------- */

/* Collective: a [num_rows, dim] f32 table split by row across the ranks:
 * rank r holds the rows whose id % size == r, as a local [rows_r, dim]
 * tensor on dev where global id = r + size * local row (rows_r =
 * ceil((num_rows - r) / size)). Contents uninitialised. device_budget
 * (bytes; 0: no limit) is what the shard may take on dev: a shard larger
 * than it fails with EMBCL_ERR_OUT_OF_MEMORY on every rank. num_rows and
 * dim must agree across ranks (checked, as embcl_mpi_check_settings). */
EMBCL_API embcl_status embcl_mpi_table_create(embcl_mpi_t m, embcl_device_t dev, int64_t num_rows, int64_t dim,
                                              uint64_t device_budget, embcl_mpi_table_t *out);
/* Collective. NULL is accepted and ignored. */
EMBCL_API void embcl_mpi_table_free(embcl_mpi_table_t t);
/* A new handle on this rank's shard [rows_r, dim] (to initialise it, to add
 * it to an optimizer); caller frees. */
EMBCL_API embcl_status embcl_mpi_table_shard(embcl_mpi_table_t t, embcl_tensor_t *out);

/* Collective forward: fetch the rows of ids[n] (this rank's lookups, global
 * ids in [0, num_rows); i64 host) from their owners. The distinct ids, in
 * ascending order, fill rows [0, *n_unique) of `rows` ([cap, dim] f32 on
 * any device of the table's runtime, e.g. a graph parameter read by
 * Embedding/EmbeddingBag nodes), rows past them are set to zero, and
 * local_ids[i] (host, n values) gets the row of `rows` holding ids[i]: the
 * graph's index input. cap must hold the distinct ids (cap >= n is always
 * enough). The table remembers the ids for embcl_mpi_table_backward. */
EMBCL_API embcl_status embcl_mpi_table_lookup(embcl_mpi_table_t t, const int64_t *ids, int64_t n,
                                              embcl_tensor_t rows, int64_t *local_ids, int64_t *n_unique);

/* Collective backward of the last lookup: rows_grad ([cap, dim] f32, the
 * gradient of the loss with respect to `rows`, e.g. embcl_graph_grad of
 * that parameter) goes row by row to the rows' owners; each owner sums, per
 * id, the ranks' rows in rank order times scale into *out: a row-sparse
 * gradient of its shard (num_rows = rows_r, local row ids), owned by the
 * table, for the shard's optimizer (embcl_optim_step with {.sparse = *out}:
 * the sparse update). *out may be empty (nnz 0) when no rank read a row
 * this rank owns. */
EMBCL_API embcl_status embcl_mpi_table_backward(embcl_mpi_table_t t, embcl_tensor_t rows_grad, double scale,
                                                embcl_rowsparse_t *out);

/* Collective: the whole table [num_rows, dim] row-major into host on rank
 * root (host: num_rows * dim floats there; ignored, may be NULL, elsewhere). */
EMBCL_API embcl_status embcl_mpi_table_gather(embcl_mpi_table_t t, int root, float *host);
/* Collective: set the shards from the whole table [num_rows, dim] held by
 * rank root in host (ignored elsewhere). */
EMBCL_API embcl_status embcl_mpi_table_scatter(embcl_mpi_table_t t, int root, const float *host);

/* Collective checkpoints of a sharded table, as a safetensors file holding
 * the whole table [num_rows, dim] f32 under `name` (e.g.
 * "embedding.weight"), exactly what an unsharded model saves: rank 0
 * gathers and writes it (atomically); loading reads such a file (from a
 * sharded run over any number of ranks, or from one process) on rank 0
 * and scatters it. A file without `name`, or of another shape, fails on
 * every rank, the table unchanged. */
EMBCL_API embcl_status embcl_mpi_table_save(embcl_mpi_table_t t, const char *path, const char *name);
EMBCL_API embcl_status embcl_mpi_table_load(embcl_mpi_table_t t, const char *path, const char *name);

#ifdef __cplusplus
}
#endif
#endif
