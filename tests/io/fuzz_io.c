/* libFuzzer entry for every io parser (not part of the ctest suite; the
 * test_*.c files run a deterministic damaged-input loop instead). The first
 * byte picks the parser, the rest is its input. Build and run by hand:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *       tests/io/fuzz_io.c src/io/[a-z]*.c src/core/alloc.c src/core/error.c src/core/status.c \
 *       src/core/cl_names.c \
 *       -lm -o build/fuzz_io
 *   mkdir -p build/fuzz-corpus && build/fuzz_io -max_total_time=300 build/fuzz-corpus
 */
#include <stdint.h>
#include <stdlib.h>

#include "embcl/io.h"
#include "io/json.h"

static void run_text_parsers(const char *s, size_t n, int which)
{
    embcl_vocab_t v = NULL;
    embcl_corpus_t c = NULL;
    float *m = NULL;
    switch (which) {
    case 0:
        embcl_vocab_parse(s, n, NULL, &v);
        break;
    case 1:
        if (embcl_vocab_build(s, n, NULL, 1, &v) == EMBCL_OK && embcl_corpus_encode(v, s, n, NULL, &c) == EMBCL_OK)
            embcl_corpus_parse_labels(c, s, n, NULL);
        break;
    default:
        if (embcl_vocab_build("king queen man woman the of", 27, NULL, 1, &v) == EMBCL_OK)
            embcl_pretrained_parse(s, n, NULL, v, NULL, &m, NULL);
        break;
    }
    embcl_io_free(m);
    embcl_corpus_free(c);
    embcl_vocab_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 5;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    if (which < 3) {
        run_text_parsers(s, n, which);
    } else if (which == 3) {
        embcl_safetensors_t st = NULL;
        if (embcl_safetensors_parse(s, n, NULL, &st) == EMBCL_OK) {
            embcl_st_info info;
            volatile uint8_t sink = 0;
            for (size_t i = 0; i < embcl_safetensors_count(st); i++)
                if (embcl_safetensors_at(st, i, &info) == EMBCL_OK && info.nbytes)
                    sink ^= ((const uint8_t *)info.data)[info.nbytes - 1];
            (void)sink;
        }
        embcl_safetensors_close(st);
    } else {
        json_value v;
        json_parse(s, n, "fuzz", "json", &v);
        json_free(&v);
    }
    return 0;
}
