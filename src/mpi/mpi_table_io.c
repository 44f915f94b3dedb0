/* Checkpoints of sharded tables: one safetensors file with the whole table,
 * the same bytes an unsharded model writes, so either kind of run loads
 * what the other saved. */
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "embcl/io.h"
#include "mpi/mpi_impl.h"

embcl_status embcl_mpi_table_save(embcl_mpi_table_t t, const char *path, const char *name)
{
    static const char *fn = "embcl_mpi_table_save";
    EMBCL_CHECK_ARG(t != NULL, fn, "argument 't' is NULL");
    const int root = t->m->rank == 0;
    embcl_status s = EMBCL_OK;
    if (!path || !name)
        s = embcl_error(EMBCL_ERR_INVALID_ARG, fn, "arguments 'path' and 'name' must not be NULL");
    float *all = root && s == EMBCL_OK ? embcl_malloc((size_t)(t->num_rows * t->dim) * sizeof *all, fn) : NULL;
    if (root && s == EMBCL_OK && !all)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    s = embcl_mpi_agree(t->m, s, fn);
    if (s == EMBCL_OK)
        s = embcl_mpi_table_gather(t, 0, all);
    if (s == EMBCL_OK && root) {
        embcl_st_tensor st = {name, EMBCL_F32, 2, {t->num_rows, t->dim}, all};
        s = embcl_safetensors_save(path, &st, 1, NULL, NULL, 0);
    }
    free(all);
    /* every rank learns whether the file was written */
    return embcl_mpi_agree(t->m, s, fn);
}

embcl_status embcl_mpi_table_load(embcl_mpi_table_t t, const char *path, const char *name)
{
    static const char *fn = "embcl_mpi_table_load";
    EMBCL_CHECK_ARG(t != NULL, fn, "argument 't' is NULL");
    const int root = t->m->rank == 0;
    embcl_status s = EMBCL_OK;
    if (!path || !name)
        s = embcl_error(EMBCL_ERR_INVALID_ARG, fn, "arguments 'path' and 'name' must not be NULL");
    float *all = NULL;
    if (root && s == EMBCL_OK) {
        size_t bytes = (size_t)(t->num_rows * t->dim) * sizeof *all;
        all = embcl_malloc(bytes, fn);
        embcl_safetensors_t st = NULL;
        s = all ? embcl_safetensors_open(path, &st) : EMBCL_ERR_OUT_OF_MEMORY;
        if (s == EMBCL_OK)
            s = embcl_safetensors_read(st, name, EMBCL_F32, 2, (int64_t[]){t->num_rows, t->dim}, all, bytes);
        embcl_safetensors_close(st);
        if (s != EMBCL_OK)
            s = embcl_error_context(s, fn);
    }
    s = embcl_mpi_agree(t->m, s, fn);
    if (s == EMBCL_OK)
        s = embcl_mpi_table_scatter(t, 0, all);
    free(all);
    return s;
}
