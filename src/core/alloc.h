/* Host allocation that records a named error on failure. */
#ifndef EMBCL_SRC_CORE_ALLOC_H
#define EMBCL_SRC_CORE_ALLOC_H

#include <stddef.h>
#include "embcl/core.h"

/* Each returns NULL after recording EMBCL_ERR_OUT_OF_MEMORY naming `func`. */
void *embcl_malloc(size_t bytes, const char *func);
void *embcl_calloc(size_t n, size_t size, const char *func);
void *embcl_realloc(void *p, size_t bytes, const char *func);
char *embcl_strdup(const char *s, const char *func);
void embcl_free(void *p);

/* A growable byte string. */
typedef struct embcl_strbuf {
    char *data;
    size_t len;
    size_t cap;
} embcl_strbuf;

embcl_status embcl_strbuf_append(embcl_strbuf *b, const char *s, size_t n);
embcl_status embcl_strbuf_appendf(embcl_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void embcl_strbuf_free(embcl_strbuf *b);

#endif
