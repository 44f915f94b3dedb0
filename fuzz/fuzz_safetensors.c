/* libFuzzer target: safetensors file images. Any input must be accepted or
 * fail with EMBCL_ERR_FORMAT; every tensor of an accepted file must be
 * readable in full and found again by its name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    embcl_safetensors_t st;
    embcl_status s = embcl_safetensors_parse(data, size, NULL, &st);
    if (s != EMBCL_OK) {
        if (s != EMBCL_ERR_FORMAT || st != NULL)
            abort();
        return 0;
    }
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < embcl_safetensors_count(st); i++) {
        embcl_st_info info, again;
        if (embcl_safetensors_at(st, i, &info) != EMBCL_OK ||
            embcl_safetensors_find(st, info.name, &again) != EMBCL_OK || again.data != info.data)
            abort();
        for (size_t b = 0; b < info.nbytes; b++)
            sink ^= ((const uint8_t *)info.data)[b];
    }
    for (size_t i = 0; i < embcl_safetensors_meta_count(st); i++) {
        const char *k, *v;
        embcl_safetensors_meta_at(st, i, &k, &v);
        if (!k || !v || embcl_safetensors_meta(st, k) != v)
            abort();
    }
    (void)sink;
    embcl_safetensors_close(st);
    return 0;
}
