/* libFuzzer target: GloVe / word2vec text against a fixed vocabulary. Any
 * input must load or fail with EMBCL_ERR_FORMAT; a load must account for
 * every vocabulary id (found + missing + <pad>). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char words[] = "king queen man woman the of 1 2 3 <unk>";
    embcl_vocab_t v;
    if (embcl_vocab_build(words, strlen(words), NULL, 1, &v) != EMBCL_OK)
        abort();
    float *m = NULL;
    embcl_pretrained_stats st;
    embcl_status s = embcl_pretrained_parse((const char *)data, size, NULL, v, NULL, &m, &st);
    if (s != EMBCL_OK && (s != EMBCL_ERR_FORMAT || m != NULL))
        abort();
    if (s == EMBCL_OK) {
        if (st.dim < 1 || st.found + st.missing + 1 != embcl_vocab_size(v))
            abort();
        volatile float sink = 0;
        for (int64_t i = 0; i < st.dim * embcl_vocab_size(v); i++)
            sink += m[i];
        (void)sink;
    }
    embcl_io_free(m);
    embcl_vocab_free(v);
    return 0;
}
