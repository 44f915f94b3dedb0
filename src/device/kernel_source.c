/* Kernel sources: from the embedded copy, or from EMBCL_KERNEL_DIR while
 * developing. `#include "x.h"` lines are inlined here, from the same origin
 * as the file itself, so the compiler never needs a search path and the
 * cache key covers every byte the compiler sees. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/kernel_files.h"
#include "device/program.h"

#define MAX_INCLUDES 32

typedef struct include_state {
    const char *dir;
    const char *seen[MAX_INCLUDES];
    size_t n_seen;
    int depth;
} include_state;

static embcl_status read_file(const char *dir, const char *name, char **out, size_t *len)
{
    static const char *fn = "embcl_kernel_source";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return embcl_error(EMBCL_ERR_IO, fn, "cannot open kernel file '%s' (from EMBCL_KERNEL_DIR)", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *g = embcl_realloc(buf, cap, fn);
            if (!g) {
                free(buf);
                fclose(f);
                return EMBCL_ERR_OUT_OF_MEMORY;
            }
            buf = g;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return embcl_error(EMBCL_ERR_IO, fn, "error reading kernel file '%s'", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return EMBCL_OK;
}

static embcl_status load_raw(const char *dir, const char *name, char **out, size_t *len)
{
    if (dir)
        return read_file(dir, name, out, len);
    for (size_t i = 0; i < embcl_kernel_file_count; i++) {
        if (strcmp(embcl_kernel_files[i].name, name) != 0)
            continue;
        char *c = embcl_malloc(embcl_kernel_files[i].len + 1, "embcl_kernel_source");
        if (!c)
            return EMBCL_ERR_OUT_OF_MEMORY;
        memcpy(c, embcl_kernel_files[i].data, embcl_kernel_files[i].len);
        c[embcl_kernel_files[i].len] = '\0';
        *out = c;
        *len = embcl_kernel_files[i].len;
        return EMBCL_OK;
    }
    return embcl_error(EMBCL_ERR_INVALID_ARG, "embcl_kernel_source",
                       "no kernel file '%s' is embedded in this build", name);
}

/* If `line` is `#include "name"`, copy the name into buf and return it. */
static const char *include_name(const char *line, size_t n, char *buf, size_t cap)
{
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i >= n || line[i] != '#')
        return NULL;
    i++;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (n - i < 7 || strncmp(line + i, "include", 7) != 0)
        return NULL;
    i += 7;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i >= n || line[i] != '"')
        return NULL;
    const char *start = line + i + 1;
    const char *end = memchr(start, '"', n - i - 1);
    if (!end || (size_t)(end - start) >= cap || end == start)
        return NULL;
    memcpy(buf, start, (size_t)(end - start));
    buf[end - start] = '\0';
    return buf;
}

static embcl_status expand(include_state *st, const char *name, embcl_strbuf *out)
{
    static const char *fn = "embcl_kernel_source";
    if (st->depth > 8)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "includes nest too deep at '%s'", name);
    char *src = NULL;
    size_t len = 0;
    EMBCL_TRY(load_raw(st->dir, name, &src, &len));
    embcl_status s = EMBCL_OK;
    const char *p = src, *end = src + len;
    while (p < end && s == EMBCL_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char inc[256];
        const char *iname = include_name(p, n, inc, sizeof inc);
        if (!iname) {
            s = embcl_strbuf_append(out, p, n);
        } else {
            int seen = 0;
            for (size_t i = 0; i < st->n_seen; i++)
                seen |= strcmp(st->seen[i], iname) == 0;
            if (!seen) {
                if (st->n_seen == MAX_INCLUDES) {
                    s = embcl_error(EMBCL_ERR_FORMAT, fn, "too many included files under '%s'", name);
                    break;
                }
                char *copy = embcl_strdup(iname, fn);
                if (!copy) {
                    s = EMBCL_ERR_OUT_OF_MEMORY;
                    break;
                }
                st->seen[st->n_seen++] = copy;
                st->depth++;
                s = expand(st, iname, out);
                st->depth--;
                if (s == EMBCL_OK)
                    s = embcl_strbuf_append(out, "\n", 1);
            }
        }
        p += n;
    }
    free(src);
    if (s != EMBCL_OK)
        embcl_error_append(" (while reading '%s')", name);
    return s;
}

embcl_status embcl_kernel_source(struct embcl_runtime *rt, const char *program, char **out, size_t *len)
{
    include_state st;
    memset(&st, 0, sizeof st);
    st.dir = rt->kernel_dir;
    char file[256];
    snprintf(file, sizeof file, "%s.cl", program);
    embcl_strbuf b = {0};
    embcl_status s = expand(&st, file, &b);
    for (size_t i = 0; i < st.n_seen; i++)
        free((void *)st.seen[i]);
    if (s != EMBCL_OK) {
        embcl_strbuf_free(&b);
        return s;
    }
    if (!b.data && (s = embcl_strbuf_append(&b, "", 0)) != EMBCL_OK)
        return s;
    *out = b.data;
    *len = b.len;
    return EMBCL_OK;
}
