/* A small strict JSON (RFC 8259) parser for safetensors headers: UTF-8
 * checked, depth limited, numbers kept as their text, byte offsets kept
 * for messages. Duplicate keys are left for the caller to judge. */
#ifndef EMBCL_SRC_IO_JSON_H
#define EMBCL_SRC_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "embcl/core.h"

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_member json_member;

typedef struct json_value {
    json_type type;
    size_t offset;  /* where the value starts in the text */
    int boolean;
    const char *num;  /* JSON_NUMBER: its text, num_len bytes (not NUL-terminated) */
    size_t num_len;
    char *str;        /* JSON_STRING: decoded, NUL-terminated; str_len excludes the NUL */
    size_t str_len;
    struct json_value *items;  /* JSON_ARRAY */
    json_member *members;      /* JSON_OBJECT, in text order */
    size_t n;                  /* items or members */
} json_value;

struct json_member {
    char *key;
    size_t key_len;
    size_t key_offset;
    json_value value;
};

#define JSON_MAX_DEPTH 64

/* Parse text[0, len) into *root. On failure records EMBCL_ERR_FORMAT as
 * "func: what byte N: reason" (what: e.g. "x.safetensors header") and
 * leaves *root empty. Free with json_free either way. */
embcl_status json_parse(const char *text, size_t len, const char *func, const char *what, json_value *root);
void json_free(json_value *v);

const char *json_type_name(json_type t);
/* A non-negative integer without fraction or exponent that fits uint64. */
int json_as_u64(const json_value *v, uint64_t *out);
/* The member of an object named key, or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

/* Whether s[0, n) is valid UTF-8 (no overlongs, no surrogates). */
int json_utf8_valid(const char *s, size_t n);

struct embcl_strbuf;
/* Append s[0, n) as a quoted JSON string; fails (naming func and what) if
 * it is not valid UTF-8. */
embcl_status json_write_string(struct embcl_strbuf *b, const char *s, size_t n, const char *func,
                               const char *what);

#endif
