#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

const char *ref_path(const char *rel)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", EMBCL_TEST_DATA_DIR, rel);
    return buf;
}

typedef struct reader {
    FILE *f;
    const char *path;
    int line;
    char buf[1 << 16];
} reader;

static char *next_line(reader *r)
{
    while (fgets(r->buf, sizeof r->buf, r->f)) {
        r->line++;
        size_t n = strlen(r->buf);
        while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r'))
            r->buf[--n] = '\0';
        if (n == 0 || r->buf[0] == '#')
            continue;
        return r->buf;
    }
    return NULL;
}

#define BAD(r, ...)                                                              \
    do {                                                                         \
        char msg_[512];                                                          \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                                \
        cr_assert_fail("%s:%d: malformed reference file: %s", (r)->path, (r)->line, msg_); \
    } while (0)

static embcl_dtype parse_dtype(reader *r, const char *s)
{
    if (strcmp(s, "f32") == 0)
        return EMBCL_F32;
    if (strcmp(s, "i32") == 0)
        return EMBCL_I32;
    if (strcmp(s, "i64") == 0)
        return EMBCL_I64;
    BAD(r, "unknown dtype '%s'", s);
    return EMBCL_F32;
}

/* Read numel whitespace-separated values, spanning lines. */
static void read_values(reader *r, ref_tensor *t)
{
    int64_t got = 0;
    while (got < t->numel) {
        char *p = next_line(r);
        if (!p)
            BAD(r, "tensor '%s' ends after %lld of %lld values", t->name, (long long)got, (long long)t->numel);
        while (*p) {
            while (isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            if (got >= t->numel)
                BAD(r, "tensor '%s' has more than %lld values", t->name, (long long)t->numel);
            char *end;
            if (t->dtype == EMBCL_F32) {
                t->f32[got] = strtof(p, &end);
            } else {
                long long v = strtoll(p, &end, 10);
                t->i64[got] = v;
                t->i32[got] = (int32_t)v;
            }
            if (end == p)
                BAD(r, "bad value '%.20s' in tensor '%s'", p, t->name);
            p = end;
            got++;
        }
    }
}

ref_file *ref_load(const char *path)
{
    reader *r = calloc(1, sizeof *r);
    r->path = path;
    r->f = fopen(path, "r");
    cr_assert_not_null(r->f, "cannot open reference file %s (made by a script in tests/)", path);
    ref_file *f = calloc(1, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    char *l = next_line(r);
    if (!l || strcmp(l, "embcl-ref 1") != 0)
        BAD(r, "first line must be 'embcl-ref 1'");
    ref_case *c = NULL;
    while ((l = next_line(r))) {
        char word[64];
        if (sscanf(l, "%63s", word) != 1)
            continue;
        if (strcmp(word, "case") == 0) {
            if (c)
                BAD(r, "case inside case '%s' (missing 'end')", c->name);
            f->cases = realloc(f->cases, (size_t)(f->n_cases + 1) * sizeof *f->cases);
            c = &f->cases[f->n_cases++];
            memset(c, 0, sizeof *c);
            if (sscanf(l, "case %127s", c->name) != 1)
                BAD(r, "case without a name");
        } else if (strcmp(word, "end") == 0) {
            if (!c)
                BAD(r, "'end' outside a case");
            c = NULL;
        } else if (strcmp(word, "attr") == 0) {
            if (!c)
                BAD(r, "attr outside a case");
            c->attrs = realloc(c->attrs, (size_t)(c->n_attrs + 1) * sizeof *c->attrs);
            ref_attr *a = &c->attrs[c->n_attrs++];
            if (sscanf(l, "attr %63s %127s", a->key, a->value) != 2)
                BAD(r, "attr needs a key and a value");
        } else if (strcmp(word, "tensor") == 0) {
            if (!c)
                BAD(r, "tensor outside a case");
            c->tensors = realloc(c->tensors, (size_t)(c->n_tensors + 1) * sizeof *c->tensors);
            ref_tensor *t = &c->tensors[c->n_tensors++];
            memset(t, 0, sizeof *t);
            char dt[16];
            int consumed = 0;
            if (sscanf(l, "tensor %63s %15s %d%n", t->name, dt, &t->ndim, &consumed) != 3 || t->ndim < 1 ||
                t->ndim > 4)
                BAD(r, "tensor line needs NAME DTYPE NDIM(1..4) DIMS");
            t->dtype = parse_dtype(r, dt);
            const char *p = l + consumed;
            t->numel = 1;
            for (int d = 0; d < t->ndim; d++) {
                char *end;
                long long v = strtoll(p, &end, 10);
                if (end == p || v < 0)
                    BAD(r, "tensor '%s': bad dimension %d", t->name, d);
                t->shape[d] = v;
                t->numel *= v;
                p = end;
            }
            size_t n = (size_t)(t->numel ? t->numel : 1);
            if (t->dtype == EMBCL_F32) {
                t->f32 = calloc(n, sizeof *t->f32);
            } else {
                t->i64 = calloc(n, sizeof *t->i64);
                t->i32 = calloc(n, sizeof *t->i32);
            }
            read_values(r, t);
        } else {
            BAD(r, "unknown line '%.40s'", l);
        }
    }
    if (c)
        BAD(r, "file ends inside case '%s'", c->name);
    fclose(r->f);
    free(r);
    return f;
}

void ref_free(ref_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_cases; i++) {
        ref_case *c = &f->cases[i];
        for (int j = 0; j < c->n_tensors; j++) {
            free(c->tensors[j].f32);
            free(c->tensors[j].i64);
            free(c->tensors[j].i32);
        }
        free(c->tensors);
        free(c->attrs);
    }
    free(f->cases);
    free(f);
}

const ref_case *ref_case_get(const ref_file *f, const char *name)
{
    for (int i = 0; i < f->n_cases; i++)
        if (strcmp(f->cases[i].name, name) == 0)
            return &f->cases[i];
    return NULL;
}

const ref_tensor *ref_tensor_get(const ref_case *c, const char *name)
{
    for (int i = 0; i < c->n_tensors; i++)
        if (strcmp(c->tensors[i].name, name) == 0)
            return &c->tensors[i];
    return NULL;
}

const ref_tensor *ref_tensor_need(const ref_case *c, const char *name)
{
    const ref_tensor *t = ref_tensor_get(c, name);
    cr_assert_not_null(t, "case '%s' has no tensor '%s'", c->name, name);
    return t;
}

static const ref_attr *find_attr(const ref_case *c, const char *key)
{
    for (int i = 0; i < c->n_attrs; i++)
        if (strcmp(c->attrs[i].key, key) == 0)
            return &c->attrs[i];
    return NULL;
}

int ref_has_attr(const ref_case *c, const char *key)
{
    return find_attr(c, key) != NULL;
}

const char *ref_attr_str(const ref_case *c, const char *key)
{
    const ref_attr *a = find_attr(c, key);
    cr_assert_not_null(a, "case '%s' has no attr '%s'", c->name, key);
    return a->value;
}

long long ref_attr_int(const ref_case *c, const char *key)
{
    const char *v = ref_attr_str(c, key);
    char *end;
    long long x = strtoll(v, &end, 10);
    cr_assert(end != v && *end == '\0', "case '%s': attr '%s' = '%s' is not an integer", c->name, key, v);
    return x;
}

double ref_attr_f(const ref_case *c, const char *key)
{
    const char *v = ref_attr_str(c, key);
    char *end;
    double x = strtod(v, &end);
    cr_assert(end != v && *end == '\0', "case '%s': attr '%s' = '%s' is not a number", c->name, key, v);
    return x;
}
