/* safetensors reader: validates the whole file before handing anything out
 * (header length, JSON, every entry, offsets tiling the data exactly). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"
#include "io/json.h"
#include "io/safetensors_dtype.h"

/* The reference implementation refuses headers above 100 MB. */
#define ST_MAX_HEADER 100000000ULL

typedef struct st_entry {
    const char *name;
    const st_dtype *dtype;
    int ndim;
    int64_t shape[EMBCL_ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end, nbytes;
} st_entry;

typedef struct st_named {
    const char *name;
    size_t index;  /* into entries */
} st_named;

struct embcl_safetensors {
    io_image img;  /* owned when opened from a path */
    const unsigned char *data;  /* the byte buffer after the header */
    uint64_t data_len;
    json_value root;
    st_entry *entries;  /* by offset */
    size_t n;
    st_named *by_name;  /* sorted by name */
    const char **meta_keys, **meta_values;
    size_t n_meta;
};

typedef struct {
    const char *func, *name;
} ctx;

static embcl_status bad(const ctx *c, const char *fmt, ...) EMBCL_PRINTF(2, 3);

static embcl_status bad(const ctx *c, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return embcl_error(EMBCL_ERR_FORMAT, c->func, "%s: %s", io_name(c->name), why);
}

static embcl_status read_meta(struct embcl_safetensors *st, const json_value *m, const ctx *c)
{
    if (m->type == JSON_NULL)
        return EMBCL_OK;
    if (m->type != JSON_OBJECT)
        return bad(c, "__metadata__ is %s, not an object of strings", json_type_name(m->type));
    st->meta_keys = embcl_malloc((m->n ? m->n : 1) * sizeof *st->meta_keys, c->func);
    st->meta_values = embcl_malloc((m->n ? m->n : 1) * sizeof *st->meta_values, c->func);
    if (!st->meta_keys || !st->meta_values)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < m->n; i++) {
        const json_member *kv = &m->members[i];
        if (kv->value.type != JSON_STRING)
            return bad(c, "__metadata__ value of '%s' is %s, not a string", kv->key, json_type_name(kv->value.type));
        for (size_t j = 0; j < i; j++)
            if (strcmp(st->meta_keys[j], kv->key) == 0)
                return bad(c, "__metadata__ key '%s' appears twice", kv->key);
        st->meta_keys[i] = kv->key;
        st->meta_values[i] = kv->value.str;
        st->n_meta++;
    }
    return EMBCL_OK;
}

static embcl_status read_shape(st_entry *e, const json_value *shape, const ctx *c)
{
    if (!shape || shape->type != JSON_ARRAY)
        return bad(c, "tensor '%s': 'shape' is %s, not an array", e->name,
                   shape ? json_type_name(shape->type) : "missing");
    if (shape->n > EMBCL_ST_MAX_DIMS)
        return bad(c, "tensor '%s': more than 8 dimensions", e->name);
    e->ndim = (int)shape->n;
    uint64_t numel = 1, d;
    for (size_t k = 0; k < shape->n; k++) {
        if (!json_as_u64(&shape->items[k], &d) || d > (uint64_t)INT64_MAX)
            return bad(c, "tensor '%s': shape holds something other than a non-negative integer", e->name);
        e->shape[k] = (int64_t)d;
        if (d && numel > (uint64_t)INT64_MAX / d)
            return bad(c, "tensor '%s': shape has more elements than fit in 64 bits", e->name);
        numel *= d;
    }
    e->numel = (int64_t)numel;
    if (numel && e->dtype->size > UINT64_MAX / numel)
        return bad(c, "tensor '%s': too many bytes", e->name);
    e->nbytes = numel * e->dtype->size;
    return EMBCL_OK;
}

static embcl_status read_entry(st_entry *e, const json_member *m, const ctx *c)
{
    e->name = m->key;
    if (strlen(m->key) != m->key_len)
        return bad(c, "a tensor name holds a NUL character");
    const json_value *v = &m->value;
    if (v->type != JSON_OBJECT)
        return bad(c, "tensor '%s' is %s, not an object", e->name, json_type_name(v->type));
    const json_value *dt = json_get(v, "dtype"), *off = json_get(v, "data_offsets");
    if (!dt || dt->type != JSON_STRING)
        return bad(c, "tensor '%s': 'dtype' is %s, not a string", e->name, dt ? json_type_name(dt->type) : "missing");
    if (!(e->dtype = st_dtype_by_name(dt->str)))
        return bad(c, "tensor '%s': unknown dtype '%s'", e->name, dt->str);
    EMBCL_TRY(read_shape(e, json_get(v, "shape"), c));
    if (!off || off->type != JSON_ARRAY || off->n != 2 || !json_as_u64(&off->items[0], &e->begin) ||
        !json_as_u64(&off->items[1], &e->end))
        return bad(c, "tensor '%s': 'data_offsets' is not [BEGIN, END] (two non-negative integers)", e->name);
    return EMBCL_OK;
}

static int by_offset(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : (x->end > y->end);
}

/* Offsets in range, sizes matching dtype and shape, and the tensors tiling
 * the data with no gap or overlap (as the reference reader demands). */
static embcl_status check_layout(struct embcl_safetensors *st, const ctx *c)
{
    for (size_t i = 0; i < st->n; i++) {
        const st_entry *e = &st->entries[i];
        if (e->end < e->begin || e->end > st->data_len)
            return bad(c, "tensor '%s': data_offsets [%llu, %llu] outside the %llu data bytes", e->name,
                       (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)st->data_len);
        if (e->end - e->begin != e->nbytes)
            return bad(c, "tensor '%s': %s x %lld elements need %llu bytes, data_offsets give %llu", e->name,
                       e->dtype->name, (long long)e->numel, (unsigned long long)e->nbytes,
                       (unsigned long long)(e->end - e->begin));
    }
    qsort(st->entries, st->n, sizeof *st->entries, by_offset);
    uint64_t at = 0;
    for (size_t i = 0; i < st->n; i++) {
        const st_entry *e = &st->entries[i];
        if (e->begin != at)
            return bad(c, "tensor '%s' %s: it starts at byte %llu, the previous tensor ends at %llu", e->name,
                       e->begin < at ? "overlaps the tensor before it" : "leaves a gap",
                       (unsigned long long)e->begin, (unsigned long long)at);
        at = e->end;
    }
    if (at != st->data_len)
        return bad(c, "the tensors cover only %llu of the %llu data bytes", (unsigned long long)at,
                   (unsigned long long)st->data_len);
    return EMBCL_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const st_named *)a)->name, ((const st_named *)b)->name);
}

static embcl_status index_names(struct embcl_safetensors *st, const ctx *c)
{
    st->by_name = embcl_malloc((st->n ? st->n : 1) * sizeof *st->by_name, c->func);
    if (!st->by_name)
        return EMBCL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < st->n; i++)
        st->by_name[i] = (st_named){st->entries[i].name, i};
    qsort(st->by_name, st->n, sizeof *st->by_name, by_name);
    for (size_t i = 1; i < st->n; i++)
        if (strcmp(st->by_name[i - 1].name, st->by_name[i].name) == 0)
            return bad(c, "tensor '%s' appears twice", st->by_name[i].name);
    return EMBCL_OK;
}

static embcl_status read_header(struct embcl_safetensors *st, const unsigned char *buf, size_t len, const ctx *c)
{
    if (len < 8)
        return embcl_error(EMBCL_ERR_FORMAT, c->func,
                           "%s: %zu bytes; a safetensors file starts with an 8-byte header length", io_name(c->name),
                           len);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = (hlen << 8) | buf[k];
    if (hlen > len - 8)
        return embcl_error(EMBCL_ERR_FORMAT, c->func,
                           "%s: header length %llu is larger than the %zu bytes that follow it (truncated file?)",
                           io_name(c->name), (unsigned long long)hlen, len - 8);
    if (hlen > ST_MAX_HEADER)
        return embcl_error(EMBCL_ERR_FORMAT, c->func, "%s: header length %llu exceeds the %llu-byte limit",
                           io_name(c->name), (unsigned long long)hlen, ST_MAX_HEADER);
    char what[300];
    snprintf(what, sizeof what, "%s: header", io_name(c->name));
    EMBCL_TRY(json_parse((const char *)buf + 8, (size_t)hlen, c->func, what, &st->root));
    if (st->root.type != JSON_OBJECT)
        return bad(c, "the header is %s, not an object", json_type_name(st->root.type));
    st->data = buf + 8 + hlen;
    st->data_len = len - 8 - hlen;
    st->entries = embcl_calloc(st->root.n ? st->root.n : 1, sizeof *st->entries, c->func);
    if (!st->entries)
        return EMBCL_ERR_OUT_OF_MEMORY;
    int seen_meta = 0;
    for (size_t i = 0; i < st->root.n; i++) {
        const json_member *m = &st->root.members[i];
        if (strcmp(m->key, "__metadata__") == 0) {
            if (seen_meta++)
                return bad(c, "__metadata__ appears twice");
            EMBCL_TRY(read_meta(st, &m->value, c));
            continue;
        }
        EMBCL_TRY(read_entry(&st->entries[st->n], m, c));
        st->n++;
    }
    EMBCL_TRY(check_layout(st, c));
    return index_names(st, c);
}

static embcl_status parse(const void *buf, size_t len, const char *name, const char *func, io_image *img,
                          embcl_safetensors_t *out)
{
    ctx c = {func, name};
    struct embcl_safetensors *st = embcl_calloc(1, sizeof *st, func);
    if (!st)
        return EMBCL_ERR_OUT_OF_MEMORY;
    if (img)
        st->img = *img;
    embcl_status s = read_header(st, buf, len, &c);
    if (s != EMBCL_OK) {
        embcl_safetensors_close(st);
        return s;
    }
    *out = st;
    return EMBCL_OK;
}

embcl_status embcl_safetensors_parse(const void *buf, size_t len, const char *name, embcl_safetensors_t *out)
{
    static const char *fn = "embcl_safetensors_parse";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    EMBCL_CHECK_ARG(buf || len == 0, fn, "buf is NULL with len %zu", len);
    return parse(buf ? buf : "", len, name, fn, NULL, out);
}

embcl_status embcl_safetensors_open(const char *path, embcl_safetensors_t *out)
{
    static const char *fn = "embcl_safetensors_open";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    io_image img;
    EMBCL_TRY(io_image_open(path, fn, &img));
    /* on failure parse() closes the handle, and with it the image */
    return parse(img.data, img.len, path, fn, &img, out);
}

void embcl_safetensors_close(embcl_safetensors_t st)
{
    if (!st)
        return;
    io_image_close(&st->img);
    json_free(&st->root);
    free(st->entries);
    free(st->by_name);
    free(st->meta_keys);
    free(st->meta_values);
    free(st);
}

size_t embcl_safetensors_count(embcl_safetensors_t st)
{
    return st ? st->n : 0;
}

static void fill_info(const struct embcl_safetensors *st, const st_entry *e, embcl_st_info *info)
{
    memset(info, 0, sizeof *info);
    info->name = e->name;
    info->dtype_name = e->dtype->name;
    info->dtype = e->dtype->embcl;
    info->ndim = e->ndim;
    memcpy(info->shape, e->shape, sizeof e->shape);
    info->numel = e->numel;
    info->nbytes = (size_t)e->nbytes;
    info->data = st->data + e->begin;
}

embcl_status embcl_safetensors_at(embcl_safetensors_t st, size_t i, embcl_st_info *info)
{
    static const char *fn = "embcl_safetensors_at";
    EMBCL_CHECK_ARG(st && info, fn, "%s is NULL", st ? "info" : "st");
    if (i >= st->n)
        return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "i = %zu but the file holds %zu tensors", i, st->n);
    fill_info(st, &st->entries[i], info);
    return EMBCL_OK;
}

static const st_entry *lookup(const struct embcl_safetensors *st, const char *name)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid].name, name);
        if (c == 0)
            return &st->entries[st->by_name[mid].index];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static embcl_status find(embcl_safetensors_t st, const char *name, const char *fn, const st_entry **e)
{
    EMBCL_CHECK_ARG(st, fn, "st is NULL");
    EMBCL_CHECK_ARG(name, fn, "name is NULL");
    *e = lookup(st, name);
    if (!*e)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "no tensor named '%s' in %s (it holds %zu tensors)", name,
                           st->img.map ? "the file" : "the buffer", st->n);
    return EMBCL_OK;
}

embcl_status embcl_safetensors_find(embcl_safetensors_t st, const char *name, embcl_st_info *info)
{
    static const char *fn = "embcl_safetensors_find";
    const st_entry *e;
    EMBCL_CHECK_ARG(info, fn, "info is NULL");
    EMBCL_TRY(find(st, name, fn, &e));
    fill_info(st, e, info);
    return EMBCL_OK;
}

embcl_status embcl_safetensors_read(embcl_safetensors_t st, const char *name, embcl_dtype dtype, int ndim,
                                    const int64_t *shape, void *dst, size_t bytes)
{
    static const char *fn = "embcl_safetensors_read";
    const st_entry *e;
    EMBCL_TRY(find(st, name, fn, &e));
    if (e->dtype->embcl != dtype)
        return embcl_error(EMBCL_ERR_DTYPE, fn, "tensor '%s' is %s, not %s", name, e->dtype->name,
                           embcl_dtype_name(dtype));
    int same = e->ndim == ndim && (ndim == 0 || shape);
    for (int k = 0; same && k < ndim; k++)
        same = e->shape[k] == shape[k];
    if (!same) {
        char got[200] = "", want[200] = "";
        for (int k = 0; k < e->ndim; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? ", " : "", (long long)e->shape[k]);
        for (int k = 0; shape && k < ndim && k < EMBCL_ST_MAX_DIMS; k++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", k ? ", " : "", (long long)shape[k]);
        return embcl_error(EMBCL_ERR_SHAPE, fn, "tensor '%s' has shape [%s], expected [%s]", name, got, want);
    }
    EMBCL_CHECK_ARG(bytes == e->nbytes, fn, "bytes is %zu; tensor '%s' has %llu", bytes, name,
                    (unsigned long long)e->nbytes);
    EMBCL_CHECK_ARG(dst || bytes == 0, fn, "dst is NULL");
    if (bytes)
        memcpy(dst, st->data + e->begin, bytes);
    return EMBCL_OK;
}

const char *embcl_safetensors_meta(embcl_safetensors_t st, const char *key)
{
    for (size_t i = 0; st && key && i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            return st->meta_values[i];
    return NULL;
}

size_t embcl_safetensors_meta_count(embcl_safetensors_t st)
{
    return st ? st->n_meta : 0;
}

void embcl_safetensors_meta_at(embcl_safetensors_t st, size_t i, const char **key, const char **value)
{
    int ok = st && i < st->n_meta;
    if (key)
        *key = ok ? st->meta_keys[i] : NULL;
    if (value)
        *value = ok ? st->meta_values[i] : NULL;
}
