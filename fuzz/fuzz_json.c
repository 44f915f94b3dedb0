/* libFuzzer target: the strict JSON parser under the safetensors header.
 * Any input must parse or fail with EMBCL_ERR_FORMAT; a parsed string
 * written back must parse to the same string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_value v;
    embcl_status s = json_parse((const char *)data, size, "fuzz", "json", &v);
    if (s != EMBCL_OK && s != EMBCL_ERR_FORMAT)
        abort();
    if (s == EMBCL_OK && v.type == JSON_STRING) {
        embcl_strbuf b = {0};
        json_value w;
        if (json_write_string(&b, v.str, v.str_len, "fuzz", "string") != EMBCL_OK ||
            json_parse(b.data, b.len, "fuzz", "json", &w) != EMBCL_OK || w.str_len != v.str_len ||
            memcmp(w.str, v.str, v.str_len) != 0)
            abort();
        json_free(&w);
        embcl_strbuf_free(&b);
    }
    json_free(&v);
    return 0;
}
