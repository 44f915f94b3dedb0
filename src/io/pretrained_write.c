/* Exporting a table as GloVe or word2vec text. */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/io_impl.h"

static const char *FN = "embcl_pretrained_save";

typedef struct {
    embcl_vocab_t v;
    const float *m;
    int64_t dim;
    embcl_pretrained_format format;
} export_job;

/* Rows are formatted into a buffer flushed every megabyte, so a large
 * table never needs its whole text in memory. */
static embcl_status fill(int fd, void *ctx, const char *func, const char *path)
{
    const export_job *J = ctx;
    embcl_strbuf b = {0};
    int64_t V = embcl_vocab_size(J->v);
    embcl_status s = EMBCL_OK;
    if (J->format == EMBCL_PRETRAINED_WORD2VEC)
        s = embcl_strbuf_appendf(&b, "%lld %lld\n", (long long)V, (long long)J->dim);
    for (int64_t id = 0; id < V && s == EMBCL_OK; id++) {
        s = embcl_strbuf_appendf(&b, "%s", embcl_vocab_word(J->v, id));
        for (int64_t j = 0; j < J->dim && s == EMBCL_OK; j++)
            s = embcl_strbuf_appendf(&b, " %.9g", (double)J->m[id * J->dim + j]);
        if (s == EMBCL_OK)
            s = embcl_strbuf_append(&b, "\n", 1);
        if (s == EMBCL_OK && (b.len >= (1u << 20) || id == V - 1)) {
            s = io_write_all(fd, b.data, b.len, func, path);
            b.len = 0;
        }
    }
    embcl_strbuf_free(&b);
    return s;
}

embcl_status embcl_pretrained_save(const char *path, embcl_vocab_t v, const float *matrix, int64_t dim,
                                   embcl_pretrained_format format)
{
    EMBCL_CHECK_ARG(v, FN, "vocab is NULL");
    EMBCL_CHECK_ARG(matrix, FN, "matrix is NULL");
    EMBCL_CHECK_ARG(dim >= 1, FN, "dim is %lld", (long long)dim);
    EMBCL_CHECK_ARG(format == EMBCL_PRETRAINED_GLOVE || format == EMBCL_PRETRAINED_WORD2VEC, FN, "format is %d",
                    (int)format);
    int64_t V = embcl_vocab_size(v);
    for (int64_t i = 0; i < V * dim; i++)
        if (!isfinite(matrix[i]))
            return embcl_error(EMBCL_ERR_INVALID_ARG, FN, "matrix[%lld][%lld] (word '%s') is %g", (long long)(i / dim),
                               (long long)(i % dim), embcl_vocab_word(v, i / dim), (double)matrix[i]);
    export_job J = {v, matrix, dim, format};
    return io_write_atomic(path, FN, fill, &J);
}
