/* Tuning overrides, "key=value,...": the runtime option `tuning`,
 * EMBCL_TUNE, and embcl_tune_check. Each key must be one the database
 * knows and each value one it allows: a typo or a 0 where 0 means nothing
 * (a work-group size) would otherwise be silently ignored or clamped by
 * the op, and a tuning run would measure something else than it says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/tuning.h"
#include "embcl/tuning.h"

typedef struct entry {
    const char *p; /* the entry "key=value" within spec */
    size_t len;
    size_t key_len;
    long long value;
} entry;

/* The entry starting at p: syntax and an integer value. */
static embcl_status split(const char *spec, const char *p, entry *e, const char *fn)
{
    const char *end = strchr(p, ',');
    e->p = p;
    e->len = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', e->len);
    if (!eq || eq == p)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s' in '%s' is not key=value", (int)e->len, p,
                           spec);
    e->key_len = (size_t)(eq - p);
    char num[32];
    size_t vl = e->len - e->key_len - 1;
    if (vl == 0 || vl >= sizeof num)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s' has no usable value", (int)e->len, p);
    memcpy(num, eq + 1, vl);
    num[vl] = '\0';
    char *rest;
    e->value = strtoll(num, &rest, 10);
    if (*rest != '\0')
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': value '%s' is not an integer", (int)e->len,
                           p, num);
    if (e->value < 0)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': value '%s' is negative", (int)e->len, p,
                           num);
    return EMBCL_OK;
}

static void list_keys(const embcl_tune_family *fam, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < fam->n_keys && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? ", " : "", fam->keys[k].name);
}

static void list_families(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t f = 0; f < embcl_tune_n_families && n < cap; f++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", f ? ", " : "", embcl_tune_families[f]->name);
}

static embcl_status check_value(const entry *e, const char *key, const embcl_tune_key_spec *s, const char *fn)
{
    long long v = e->value;
    if (s->only.n > 0) {
        char opts[128];
        size_t n = 0;
        for (int i = 0; i < s->only.n; i++) {
            if (s->only.v[i] == v)
                return EMBCL_OK;
            n += (size_t)snprintf(opts + n, sizeof opts - n, "%s%lld", i ? ", " : "", s->only.v[i]);
        }
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': %s is %lld; it must be one of %s",
                           (int)e->len, e->p, key, v, opts);
    }
    if (v < s->min || v > s->max)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': %s is %lld; it must be in [%lld, %lld]%s",
                           (int)e->len, e->p, key, v, s->min, s->max,
                           v == 0 ? " (0 switches off only the keys whose range starts at 0)" : "");
    return EMBCL_OK;
}

static embcl_status check_entry(const entry *e, const char *fn)
{
    char key[96];
    if (e->key_len >= sizeof key)
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': the key is too long", (int)e->len, e->p);
    memcpy(key, e->p, e->key_len);
    key[e->key_len] = '\0';
    const embcl_tune_family *fam;
    const embcl_tune_key_spec *s;
    if (embcl_tune_find(key, &fam, &s))
        return check_value(e, key, s, fn);
    char names[512];
    if (fam) {
        list_keys(fam, names, sizeof names);
        return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': family '%s' has no key '%s' (keys: %s)",
                           (int)e->len, e->p, fam->name, key + strlen(fam->name) + 1, names);
    }
    list_families(names, sizeof names);
    return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s': '%s' is not a tuning key (family.KEY; families: %s)",
                       (int)e->len, e->p, key, names);
}

static embcl_status add(struct embcl_runtime *rt, const entry *e, const char *fn)
{
    embcl_tune_override *grown = embcl_realloc(rt->tune, (rt->n_tune + 1) * sizeof *grown, fn);
    if (!grown)
        return EMBCL_ERR_OUT_OF_MEMORY;
    rt->tune = grown;
    char *key = embcl_malloc(e->key_len + 1, fn);
    if (!key)
        return EMBCL_ERR_OUT_OF_MEMORY;
    memcpy(key, e->p, e->key_len);
    key[e->key_len] = '\0';
    /* a later entry for the same key wins, as it would on a command line */
    for (size_t i = 0; i < rt->n_tune; i++)
        if (strcmp(rt->tune[i].key, key) == 0) {
            embcl_free(key);
            rt->tune[i].value = e->value;
            return EMBCL_OK;
        }
    rt->tune[rt->n_tune].key = key;
    rt->tune[rt->n_tune].value = e->value;
    rt->n_tune++;
    return EMBCL_OK;
}

/* Two passes: a malformed entry anywhere is reported as such before any
 * key is judged, then every entry is checked before one is added. */
embcl_status embcl_tuning_parse(struct embcl_runtime *rt, const char *spec, const char *fn)
{
    for (int pass = 0; pass < 3; pass++) {
        const char *p = spec;
        while (*p) {
            entry e;
            EMBCL_TRY(split(spec, p, &e, fn));
            if (pass == 1)
                EMBCL_TRY(check_entry(&e, fn));
            if (pass == 2 && rt)
                EMBCL_TRY(add(rt, &e, fn));
            if (!p[e.len])
                break;
            p += e.len + 1;
        }
    }
    return EMBCL_OK;
}

embcl_status embcl_tune_check(const char *spec)
{
    static const char *fn = "embcl_tune_check";
    EMBCL_CHECK_ARG(spec, fn, "spec is NULL");
    return embcl_tuning_parse(NULL, spec, fn);
}

void embcl_tuning_free(struct embcl_runtime *rt)
{
    for (size_t i = 0; i < rt->n_tune; i++)
        embcl_free(rt->tune[i].key);
    embcl_free(rt->tune);
    rt->tune = NULL;
    rt->n_tune = 0;
}
