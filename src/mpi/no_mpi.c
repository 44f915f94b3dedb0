/* The MPI functions of a library built without MPI: each fails saying so,
 * so include/embcl/mpi.h is usable (and programs link) in every build.
 * Compiled only when EMBCL_MPI is off. */
#include "core/error.h"
#include "embcl/mpi.h"

static embcl_status absent(const char *fn)
{
    return embcl_error(EMBCL_ERR_UNSUPPORTED, fn,
                       "embcl was built without MPI (install libopenmpi-dev and configure with -DEMBCL_MPI=ON)");
}

int embcl_mpi_available(void)
{
    return 0;
}

embcl_status embcl_mpi_create(const void *comm, embcl_mpi_t *out)
{
    if (out)
        *out = NULL;
    return absent("embcl_mpi_create");
}

void embcl_mpi_free(embcl_mpi_t m)
{
}

embcl_status embcl_mpi_finalize(void)
{
    return EMBCL_OK; /* nothing was initialised */
}

void embcl_mpi_abort(embcl_mpi_t m, int code)
{
}

int embcl_mpi_rank(embcl_mpi_t m)
{
    return 0;
}

int embcl_mpi_size(embcl_mpi_t m)
{
    return 1;
}

uint64_t embcl_mpi_bytes_sent(embcl_mpi_t m)
{
    return 0;
}

embcl_status embcl_mpi_agree(embcl_mpi_t m, embcl_status status, const char *func)
{
    return absent("embcl_mpi_agree");
}

embcl_status embcl_mpi_check_settings(embcl_mpi_t m, const embcl_mpi_setting *settings, size_t n)
{
    return absent("embcl_mpi_check_settings");
}

embcl_status embcl_mpi_allreduce_grads(embcl_mpi_t m, embcl_grad *grads, size_t n, double scale)
{
    return absent("embcl_mpi_allreduce_grads");
}

embcl_status embcl_mpi_table_create(embcl_mpi_t m, embcl_device_t dev, int64_t num_rows, int64_t dim,
                                    uint64_t device_budget, embcl_mpi_table_t *out)
{
    if (out)
        *out = NULL;
    return absent("embcl_mpi_table_create");
}

void embcl_mpi_table_free(embcl_mpi_table_t t)
{
}

embcl_status embcl_mpi_table_shard(embcl_mpi_table_t t, embcl_tensor_t *out)
{
    return absent("embcl_mpi_table_shard");
}

embcl_status embcl_mpi_table_lookup(embcl_mpi_table_t t, const int64_t *ids, int64_t n, embcl_tensor_t rows,
                                    int64_t *local_ids, int64_t *n_unique)
{
    return absent("embcl_mpi_table_lookup");
}

embcl_status embcl_mpi_table_backward(embcl_mpi_table_t t, embcl_tensor_t rows_grad, double scale,
                                      embcl_rowsparse_t *out)
{
    return absent("embcl_mpi_table_backward");
}

embcl_status embcl_mpi_table_gather(embcl_mpi_table_t t, int root, float *host)
{
    return absent("embcl_mpi_table_gather");
}

embcl_status embcl_mpi_table_scatter(embcl_mpi_table_t t, int root, const float *host)
{
    return absent("embcl_mpi_table_scatter");
}

embcl_status embcl_mpi_table_save(embcl_mpi_table_t t, const char *path, const char *name)
{
    return absent("embcl_mpi_table_save");
}

embcl_status embcl_mpi_table_load(embcl_mpi_table_t t, const char *path, const char *name)
{
    return absent("embcl_mpi_table_load");
}

embcl_status embcl_mpi_broadcast(embcl_mpi_t m, int root, void *buf, size_t bytes)
{
    return absent("embcl_mpi_broadcast");
}

embcl_status embcl_mpi_sum_host(embcl_mpi_t m, double *vals, size_t n, double scale)
{
    return absent("embcl_mpi_sum_host");
}
