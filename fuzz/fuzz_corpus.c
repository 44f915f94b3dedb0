/* libFuzzer target: a corpus file (vocabulary built from it, then encoded)
 * and the same bytes as a labels file. Failures must be EMBCL_ERR_FORMAT;
 * an encoded corpus must be consistent with its vocabulary. */
#include <stdint.h>
#include <stdlib.h>

#include "embcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    embcl_vocab_t v;
    embcl_corpus_t c;
    embcl_status s = embcl_vocab_build(text, size, NULL, 2, &v);
    if (s != EMBCL_OK) {
        if (s != EMBCL_ERR_FORMAT)
            abort();
        return 0;
    }
    if (embcl_corpus_encode(v, text, size, NULL, &c) != EMBCL_OK)
        abort(); /* the same bytes built the vocabulary */
    embcl_corpus_view cv;
    embcl_corpus_get(c, &cv);
    int64_t V = embcl_vocab_size(v);
    for (int64_t i = 0; i < cv.n_tokens; i++)
        if (cv.tokens[i] < 0 || cv.tokens[i] >= V)
            abort();
    if (cv.offsets[0] != 0 || cv.offsets[cv.n_sentences] != cv.n_tokens)
        abort();
    s = embcl_corpus_parse_labels(c, text, size, NULL);
    if (s != EMBCL_OK && s != EMBCL_ERR_FORMAT)
        abort();
    embcl_corpus_get(c, &cv);
    if (s == EMBCL_OK && cv.n_sentences > 0 && (!cv.labels || cv.n_classes < 1))
        abort();
    embcl_corpus_free(c);
    embcl_vocab_free(v);
    return 0;
}
