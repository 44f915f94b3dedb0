#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

void *embcl_malloc(size_t bytes, const char *func)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        embcl_error(EMBCL_ERR_OUT_OF_MEMORY, func, "could not allocate %zu bytes of host memory", bytes);
    return p;
}

void *embcl_calloc(size_t n, size_t size, const char *func)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        embcl_error(EMBCL_ERR_OUT_OF_MEMORY, func,
                    "could not allocate %zu x %zu bytes of host memory", n, size);
    return p;
}

void *embcl_realloc(void *old, size_t bytes, const char *func)
{
    void *p = realloc(old, bytes ? bytes : 1);
    if (!p)
        embcl_error(EMBCL_ERR_OUT_OF_MEMORY, func, "could not grow a block to %zu bytes", bytes);
    return p;
}

char *embcl_strdup(const char *s, const char *func)
{
    size_t n = strlen(s) + 1;
    char *p = embcl_malloc(n, func);
    if (p)
        memcpy(p, s, n);
    return p;
}

void embcl_free(void *p)
{
    free(p);
}

embcl_status embcl_strbuf_append(embcl_strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = embcl_realloc(b->data, cap, "embcl_strbuf_append");
        if (!d)
            return EMBCL_ERR_OUT_OF_MEMORY;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return EMBCL_OK;
}

embcl_status embcl_strbuf_appendf(embcl_strbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return embcl_error(EMBCL_ERR_FORMAT, "embcl_strbuf_appendf", "bad format '%s'", fmt);
    if ((size_t)n < sizeof small)
        return embcl_strbuf_append(b, small, (size_t)n);
    char *big = embcl_malloc((size_t)n + 1, "embcl_strbuf_appendf");
    if (!big)
        return EMBCL_ERR_OUT_OF_MEMORY;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    embcl_status s = embcl_strbuf_append(b, big, (size_t)n);
    free(big);
    return s;
}

void embcl_strbuf_free(embcl_strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
