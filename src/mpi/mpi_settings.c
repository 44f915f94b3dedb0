/* Settings every rank must share (vocabulary size, dims, seed, table
 * shapes), compared at start: a mismatch would otherwise show up as a hang
 * or as replicas silently drifting apart. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "mpi/mpi_impl.h"

static const char *fn = "embcl_mpi_check_settings";

/* "name\0value\0" for each setting, in order. */
static embcl_status serialise(const embcl_mpi_setting *st, size_t n, embcl_strbuf *b)
{
    for (size_t i = 0; i < n; i++) {
        if (!st[i].name || !st[i].name[0])
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "setting %zu has no name", i);
        EMBCL_TRY(embcl_strbuf_append(b, st[i].name, strlen(st[i].name) + 1));
        if (st[i].text)
            EMBCL_TRY(embcl_strbuf_append(b, st[i].text, strlen(st[i].text) + 1));
        else {
            char v[32];
            snprintf(v, sizeof v, "%" PRId64, st[i].value);
            EMBCL_TRY(embcl_strbuf_append(b, v, strlen(v) + 1));
        }
    }
    return EMBCL_OK;
}

/* Rank q's list against rank 0's: the first difference, as an error. */
static embcl_status compare(const char *r0, size_t n0, const char *rq, size_t nq, int q)
{
    size_t i0 = 0, iq = 0;
    for (size_t k = 0;; k++) {
        if (i0 >= n0 || iq >= nq) {
            if (i0 >= n0 && iq >= nq)
                return EMBCL_OK;
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "ranks check different settings: rank %d has more than %zu (next: '%s')",
                               i0 < n0 ? 0 : q, k, i0 < n0 ? r0 + i0 : rq + iq);
        }
        const char *name0 = r0 + i0, *nameq = rq + iq;
        i0 += strlen(name0) + 1, iq += strlen(nameq) + 1;
        const char *v0 = r0 + i0, *vq = rq + iq;
        i0 += strlen(v0) + 1, iq += strlen(vq) + 1;
        if (strcmp(name0, nameq) != 0)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "setting %zu is '%s' on rank 0 but '%s' on rank %d", k,
                               name0, nameq, q);
        if (strcmp(v0, vq) != 0)
            return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                               "setting '%s' differs across ranks: rank 0 has %.100s, rank %d has %.100s", name0, v0,
                               q, vq);
    }
}

embcl_status embcl_mpi_check_settings(embcl_mpi_t m, const embcl_mpi_setting *settings, size_t n)
{
    EMBCL_CHECK_ARG(m != NULL, fn, "argument 'm' is NULL");
    embcl_strbuf b = {0};
    embcl_status s = n > 0 && !settings ? embcl_error(EMBCL_ERR_INVALID_ARG, fn, "argument 'settings' is NULL")
                                        : serialise(settings, n, &b);
    s = embcl_mpi_agree(m, s, fn);
    size_t *counts = s == EMBCL_OK ? embcl_calloc((size_t)m->size, sizeof *counts, fn) : NULL;
    if (s == EMBCL_OK && !counts)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    char *all = NULL;
    if (s == EMBCL_OK)
        s = mpi_allgather_bytes(m, b.len ? b.data : "", b.len, (void **)&all, counts, fn);
    /* Every rank compares the same gathered bytes, so all fail alike. */
    size_t off = counts ? counts[0] : 0;
    for (int q = 1; q < m->size && s == EMBCL_OK; q++) {
        s = compare(all, counts[0], all + off, counts[q], q);
        off += counts[q];
    }
    free(all);
    free(counts);
    embcl_strbuf_free(&b);
    return s;
}
