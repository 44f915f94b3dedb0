/* libFuzzer target: the vocabulary text file. Any input must parse or fail
 * with EMBCL_ERR_FORMAT; what parses must serialize back to a text that
 * parses to the same vocabulary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    embcl_vocab_t v, w;
    embcl_status s = embcl_vocab_parse((const char *)data, size, NULL, &v);
    if (s != EMBCL_OK) {
        if (s != EMBCL_ERR_FORMAT || v != NULL)
            abort();
        return 0;
    }
    char *text;
    size_t len;
    if (embcl_vocab_serialize(v, &text, &len) != EMBCL_OK || embcl_vocab_parse(text, len, NULL, &w) != EMBCL_OK)
        abort();
    if (embcl_vocab_size(v) != embcl_vocab_size(w))
        abort();
    for (int64_t id = 0; id < embcl_vocab_size(v); id++)
        if (strcmp(embcl_vocab_word(v, id), embcl_vocab_word(w, id)) != 0 ||
            embcl_vocab_count(v, id) != embcl_vocab_count(w, id))
            abort();
    embcl_io_free(text);
    embcl_vocab_free(w);
    embcl_vocab_free(v);
    return 0;
}
