/* safetensors writer: header JSON built in memory, tensors streamed after
 * it, the whole file written atomically. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"
#include "io/json.h"
#include "io/safetensors_dtype.h"

static const char *FN = "embcl_safetensors_save";

typedef struct {
    const embcl_st_tensor *t;
    size_t nbytes;
} entry;

typedef struct {
    entry *e;
    size_t n;
    embcl_strbuf header;
} plan;

static embcl_status check_tensor(const embcl_st_tensor *t, size_t i, size_t *nbytes)
{
    EMBCL_CHECK_ARG(t->name && *t->name, FN, "tensors[%zu].name is %s", i, t->name ? "empty" : "NULL");
    EMBCL_CHECK_ARG(strcmp(t->name, "__metadata__") != 0, FN, "tensors[%zu].name '__metadata__' is reserved", i);
    const st_dtype *d = st_dtype_of(t->dtype);
    EMBCL_CHECK_ARG(d, FN, "tensors[%zu] ('%s').dtype %d is not f32, i32, i64 or bf16", i, t->name, (int)t->dtype);
    EMBCL_CHECK_ARG(t->ndim >= 0 && t->ndim <= EMBCL_ST_MAX_DIMS, FN, "tensors[%zu] ('%s').ndim is %d", i,
                    t->name, t->ndim);
    size_t bytes = d->size;
    for (int k = 0; k < t->ndim; k++) {
        EMBCL_CHECK_ARG(t->shape[k] >= 0, FN, "tensors[%zu] ('%s').shape[%d] is %lld", i, t->name, k,
                        (long long)t->shape[k]);
        EMBCL_CHECK_ARG(t->shape[k] == 0 || bytes <= SIZE_MAX / (size_t)t->shape[k], FN,
                        "tensors[%zu] ('%s') is too large", i, t->name);
        bytes *= (size_t)t->shape[k];
    }
    EMBCL_CHECK_ARG(t->data || bytes == 0, FN, "tensors[%zu] ('%s').data is NULL", i, t->name);
    *nbytes = bytes;
    return EMBCL_OK;
}

/* Larger elements first, then by name: every tensor starts aligned to its
 * element size (as the reference writer arranges) and the order is fixed. */
static int by_layout(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t sx = st_dtype_of(x->t->dtype)->size, sy = st_dtype_of(y->t->dtype)->size;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->t->name, y->t->name);
}

static embcl_status check_unique(const entry *sorted_by_name, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted_by_name[i - 1].t->name, sorted_by_name[i].t->name) == 0)
            return embcl_error(EMBCL_ERR_INVALID_ARG, FN, "tensor name '%s' appears twice", sorted_by_name[i].t->name);
    return EMBCL_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->t->name, ((const entry *)b)->t->name);
}

static embcl_status write_meta(embcl_strbuf *h, const char *const *keys, const char *const *values, size_t n)
{
    EMBCL_TRY(embcl_strbuf_append(h, "\"__metadata__\":{", 16));
    for (size_t i = 0; i < n; i++) {
        EMBCL_CHECK_ARG(keys[i] && values[i], FN, "meta_%s[%zu] is NULL", keys[i] ? "values" : "keys", i);
        for (size_t j = 0; j < i; j++)
            EMBCL_CHECK_ARG(strcmp(keys[i], keys[j]) != 0, FN, "metadata key '%s' appears twice", keys[i]);
        if (i)
            EMBCL_TRY(embcl_strbuf_append(h, ",", 1));
        EMBCL_TRY(json_write_string(h, keys[i], strlen(keys[i]), FN, "metadata key"));
        EMBCL_TRY(embcl_strbuf_append(h, ":", 1));
        EMBCL_TRY(json_write_string(h, values[i], strlen(values[i]), FN, "metadata value"));
    }
    return embcl_strbuf_append(h, "}", 1);
}

static embcl_status build_header(plan *P, const char *const *keys, const char *const *values, size_t n_meta)
{
    embcl_strbuf *h = &P->header;
    EMBCL_TRY(embcl_strbuf_append(h, "{", 1));
    if (n_meta)
        EMBCL_TRY(write_meta(h, keys, values, n_meta));
    size_t off = 0;
    for (size_t i = 0; i < P->n; i++) {
        const embcl_st_tensor *t = P->e[i].t;
        if (i || n_meta)
            EMBCL_TRY(embcl_strbuf_append(h, ",", 1));
        EMBCL_TRY(json_write_string(h, t->name, strlen(t->name), FN, "tensor name"));
        EMBCL_TRY(embcl_strbuf_appendf(h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_of(t->dtype)->name));
        for (int k = 0; k < t->ndim; k++)
            EMBCL_TRY(embcl_strbuf_appendf(h, "%s%lld", k ? "," : "", (long long)t->shape[k]));
        EMBCL_TRY(embcl_strbuf_appendf(h, "],\"data_offsets\":[%zu,%zu]}", off, off + P->e[i].nbytes));
        off += P->e[i].nbytes;
    }
    EMBCL_TRY(embcl_strbuf_append(h, "}", 1));
    /* pad with spaces so the data starts 8-byte aligned in the file */
    while (h->len % 8)
        EMBCL_TRY(embcl_strbuf_append(h, " ", 1));
    return EMBCL_OK;
}

static embcl_status fill(int fd, void *ctx, const char *func, const char *path)
{
    plan *P = ctx;
    unsigned char len8[8];
    uint64_t n = P->header.len;
    for (int k = 0; k < 8; k++)
        len8[k] = (unsigned char)(n >> (8 * k));
    EMBCL_TRY(io_write_all(fd, len8, 8, func, path));
    EMBCL_TRY(io_write_all(fd, P->header.data, P->header.len, func, path));
    for (size_t i = 0; i < P->n; i++)
        EMBCL_TRY(io_write_all(fd, P->e[i].t->data, P->e[i].nbytes, func, path));
    return EMBCL_OK;
}

embcl_status embcl_safetensors_save(const char *path, const embcl_st_tensor *tensors, size_t n,
                                    const char *const *meta_keys, const char *const *meta_values, size_t n_meta)
{
    EMBCL_CHECK_ARG(tensors || n == 0, FN, "tensors is NULL with n %zu", n);
    EMBCL_CHECK_ARG((meta_keys && meta_values) || n_meta == 0, FN, "metadata arrays are NULL with n_meta %zu",
                    n_meta);
    if (!st_host_little_endian())
        return embcl_error(EMBCL_ERR_UNSUPPORTED, FN, "safetensors is little-endian; this host is not");
    plan P = {NULL, n, {0}};
    P.e = embcl_malloc((n ? n : 1) * sizeof *P.e, FN);
    if (!P.e)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = EMBCL_OK;
    for (size_t i = 0; i < n && s == EMBCL_OK; i++) {
        P.e[i].t = &tensors[i];
        s = check_tensor(&tensors[i], i, &P.e[i].nbytes);
    }
    if (s == EMBCL_OK) {
        qsort(P.e, n, sizeof *P.e, by_name);
        s = check_unique(P.e, n);
    }
    if (s == EMBCL_OK) {
        qsort(P.e, n, sizeof *P.e, by_layout);
        s = build_header(&P, meta_keys, meta_values, n_meta);
    }
    if (s == EMBCL_OK)
        s = io_write_atomic(path, FN, fill, &P);
    embcl_strbuf_free(&P.header);
    free(P.e);
    return s;
}
