/* Strict JSON: recursive descent with a depth limit, so hostile headers
 * cannot exhaust the stack; every byte is checked against the grammar. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"

typedef struct {
    const char *s;
    size_t len, pos;
    const char *func, *what;
} parser;

static embcl_status fail(const parser *p, size_t at, const char *why)
{
    return embcl_error(EMBCL_ERR_FORMAT, p->func, "%s byte %zu: %s", p->what, at, why);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static embcl_status parse_value(parser *p, json_value *v, int depth);

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return 0;
    p->pos += n;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static embcl_status parse_number(parser *p, json_value *v)
{
    size_t i = p->pos;
    if (i < p->len && p->s[i] == '-')
        i++;
    if (i >= p->len || !is_digit(p->s[i]))
        return fail(p, i, "expected a digit");
    if (p->s[i] == '0')
        i++;
    else
        while (i < p->len && is_digit(p->s[i]))
            i++;
    if (i < p->len && p->s[i] == '.') {
        i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail(p, i, "expected a digit after '.'");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || !is_digit(p->s[i]))
            return fail(p, i, "expected a digit in the exponent");
        while (i < p->len && is_digit(p->s[i]))
            i++;
    }
    v->type = JSON_NUMBER;
    v->num = p->s + p->pos;
    v->num_len = i - p->pos;
    p->pos = i;
    return EMBCL_OK;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t x = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
                   : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 16u;
        if (d > 15)
            return 0;
        x = x * 16 + d;
    }
    *out = x;
    return 1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s[0, n) (not ASCII), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    uint32_t cp, min;
    size_t k;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        k = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        k = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        k = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

/* An escape after the backslash at p->pos - 1; appends its UTF-8 to o. */
static embcl_status parse_escape(parser *p, char *o, size_t *olen)
{
    size_t at = p->pos - 1;
    if (p->pos >= p->len)
        return fail(p, at, "unterminated escape");
    char c = p->s[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        o[(*olen)++] = to[hit - from];
        return EMBCL_OK;
    }
    if (c != 'u')
        return fail(p, at, "unknown escape");
    uint32_t cp, lo;
    if (p->len - p->pos < 4 || !hex4(p->s + p->pos, &cp))
        return fail(p, at, "\\u needs four hex digits");
    p->pos += 4;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail(p, at, "lone low surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
            !hex4(p->s + p->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return fail(p, at, "high surrogate not followed by a low one");
        p->pos += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    *olen += put_utf8(o + *olen, cp);
    return EMBCL_OK;
}

/* A string at p->pos (the opening quote), decoded into *out. */
static embcl_status parse_string(parser *p, char **out, size_t *out_len)
{
    size_t start = p->pos++;
    /* decoding never lengthens: an escape of k bytes yields at most k */
    size_t end = p->pos;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return fail(p, start, "unterminated string");
    char *o = embcl_malloc(end - p->pos + 1, p->func);
    if (!o)
        return EMBCL_ERR_OUT_OF_MEMORY;
    size_t olen = 0;
    embcl_status s = EMBCL_OK;
    while (s == EMBCL_OK) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            s = fail(p, p->pos, "control character in a string");
        } else if (c == '\\') {
            p->pos++;
            s = parse_escape(p, o, &olen);
        } else if (c < 0x80) {
            o[olen++] = (char)c;
            p->pos++;
        } else {
            size_t k = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
            if (!k) {
                s = fail(p, p->pos, "invalid UTF-8");
            } else {
                memcpy(o + olen, p->s + p->pos, k);
                olen += k;
                p->pos += k;
            }
        }
    }
    if (s != EMBCL_OK) {
        free(o);
        return s;
    }
    o[olen] = '\0';
    *out = o;
    *out_len = olen;
    return EMBCL_OK;
}

/* Grow an array of elements of size sz to hold n + 1. */
static embcl_status grow(void **arr, size_t n, size_t *cap, size_t sz, const char *func)
{
    if (n < *cap)
        return EMBCL_OK;
    size_t c = *cap ? *cap * 2 : 4;
    void *a = embcl_realloc(*arr, c * sz, func);
    if (!a)
        return EMBCL_ERR_OUT_OF_MEMORY;
    *arr = a;
    *cap = c;
    return EMBCL_OK;
}

static embcl_status parse_array(parser *p, json_value *v, int depth)
{
    v->type = JSON_ARRAY;
    size_t cap = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return EMBCL_OK;
    }
    for (;;) {
        EMBCL_TRY(grow((void **)&v->items, v->n, &cap, sizeof *v->items, p->func));
        json_value *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        v->n++;
        skip_ws(p);
        EMBCL_TRY(parse_value(p, item, depth + 1));
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return EMBCL_OK;
        }
        return fail(p, p->pos, "expected ',' or ']' in an array");
    }
}

static embcl_status parse_object(parser *p, json_value *v, int depth)
{
    v->type = JSON_OBJECT;
    size_t cap = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return EMBCL_OK;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return fail(p, p->pos, "expected a string key in an object");
        EMBCL_TRY(grow((void **)&v->members, v->n, &cap, sizeof *v->members, p->func));
        json_member *m = &v->members[v->n];
        memset(m, 0, sizeof *m);
        v->n++;
        m->key_offset = p->pos;
        EMBCL_TRY(parse_string(p, &m->key, &m->key_len));
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return fail(p, p->pos, "expected ':' after an object key");
        p->pos++;
        skip_ws(p);
        EMBCL_TRY(parse_value(p, &m->value, depth + 1));
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return EMBCL_OK;
        }
        return fail(p, p->pos, "expected ',' or '}' in an object");
    }
}

static embcl_status parse_value(parser *p, json_value *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(p, p->pos, "nested deeper than 64 levels");
    v->offset = p->pos;
    if (p->pos >= p->len)
        return fail(p, p->pos, "expected a value, found the end");
    char c = p->s[p->pos];
    switch (c) {
    case '{':
        return parse_object(p, v, depth);
    case '[':
        return parse_array(p, v, depth);
    case '"':
        v->type = JSON_STRING;
        return parse_string(p, &v->str, &v->str_len);
    case 't':
    case 'f':
        v->type = JSON_BOOL;
        v->boolean = c == 't';
        if (!literal(p, c == 't' ? "true" : "false"))
            return fail(p, p->pos, "expected 'true' or 'false'");
        return EMBCL_OK;
    case 'n':
        v->type = JSON_NULL;
        if (!literal(p, "null"))
            return fail(p, p->pos, "expected 'null'");
        return EMBCL_OK;
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, v);
        return fail(p, p->pos, "expected a value");
    }
}

embcl_status json_parse(const char *text, size_t len, const char *func, const char *what, json_value *root)
{
    memset(root, 0, sizeof *root);
    parser p = {text, len, 0, func, what};
    skip_ws(&p);
    EMBCL_TRY(parse_value(&p, root, 0));
    skip_ws(&p);
    if (p.pos != len)
        return fail(&p, p.pos, "text after the JSON value");
    return EMBCL_OK;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; v->type == JSON_ARRAY && i < v->n; i++)
        json_free(&v->items[i]);
    for (size_t i = 0; v->type == JSON_OBJECT && i < v->n; i++) {
        free(v->members[i].key);
        json_free(&v->members[i].value);
    }
    free(v->items);
    free(v->members);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const char *json_type_name(json_type t)
{
    static const char *names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return t <= JSON_OBJECT ? names[t] : "?";
}

int json_as_u64(const json_value *v, uint64_t *out)
{
    if (!v || v->type != JSON_NUMBER || v->num_len == 0)
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < v->num_len; i++) {
        char c = v->num[i];
        if (!is_digit(c))
            return 0;
        uint64_t d = (uint64_t)(c - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->n; i++)
        if (obj->members[i].key_len == n && memcmp(obj->members[i].key, key, n) == 0)
            return &obj->members[i].value;
    return NULL;
}

int json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_len(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

embcl_status json_write_string(embcl_strbuf *b, const char *s, size_t n, const char *func, const char *what)
{
    if (!json_utf8_valid(s, n))
        return embcl_error(EMBCL_ERR_INVALID_ARG, func, "%s '%.*s' is not valid UTF-8", what,
                           (int)(n < 40 ? n : 40), s);
    EMBCL_TRY(embcl_strbuf_append(b, "\"", 1));
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        EMBCL_TRY(embcl_strbuf_append(b, s + run, i - run));
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            EMBCL_TRY(embcl_strbuf_append(b, esc, 2));
        } else {
            EMBCL_TRY(embcl_strbuf_appendf(b, "\\u%04x", c));
        }
        run = i + 1;
    }
    EMBCL_TRY(embcl_strbuf_append(b, s + run, n - run));
    return embcl_strbuf_append(b, "\"", 1);
}
