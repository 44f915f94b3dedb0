/* Lookup in the tuning database (src/device/tuning_db.h) and its public
 * listing. */
#define _GNU_SOURCE /* strcasestr */
#include <string.h>

#include "core/error.h"
#include "device/tuning.h"
#include "embcl/tuning.h"

int embcl_tune_find(const char *key, const embcl_tune_family **fam, const embcl_tune_key_spec **spec)
{
    *fam = NULL;
    const char *dot = strchr(key, '.');
    if (!dot)
        return 0;
    size_t fl = (size_t)(dot - key);
    for (size_t f = 0; f < embcl_tune_n_families; f++) {
        const embcl_tune_family *F = embcl_tune_families[f];
        if (strlen(F->name) != fl || strncmp(F->name, key, fl) != 0)
            continue;
        for (size_t k = 0; k < F->n_keys; k++)
            if (strcmp(F->keys[k].name, dot + 1) == 0) {
                *fam = F;
                if (spec)
                    *spec = &F->keys[k];
                return 1;
            }
        *fam = F;
        return 0;
    }
    return 0;
}

/* How specifically a row matches dev: 3 device, 2 vendor, 1 class default,
 * 0 not at all. */
static int row_match(const embcl_tune_row *r, const struct embcl_device *dev)
{
    if (r->cls != dev->info.device_class)
        return 0;
    if (!r->vendor)
        return 1;
    if (!strcasestr(dev->info.vendor, r->vendor))
        return 0;
    if (!r->device)
        return 2;
    return strcasestr(dev->info.name, r->device) ? 3 : 0;
}

static const embcl_tune_kv *row_value(const embcl_tune_row *r, const char *name)
{
    for (size_t i = 0; i < EMBCL_TUNE_ROW_MAX && r->values[i].key; i++)
        if (strcmp(r->values[i].key, name) == 0)
            return &r->values[i];
    return NULL;
}

const embcl_tune_row *embcl_tune_best_row(const embcl_tune_family *fam, const char *name,
                                          const struct embcl_device *dev, int *level)
{
    const embcl_tune_row *best = NULL;
    *level = 0;
    for (size_t i = 0; i < fam->n_rows; i++) {
        int m = row_match(&fam->rows[i], dev);
        if (m > *level && row_value(&fam->rows[i], name)) {
            best = &fam->rows[i];
            *level = m;
        }
    }
    return best;
}

static const struct embcl_tune_override *override_of(const struct embcl_runtime *rt, const char *key)
{
    for (size_t i = 0; i < rt->n_tune; i++)
        if (strcmp(rt->tune[i].key, key) == 0)
            return &rt->tune[i];
    return NULL;
}

long long embcl_tune_get(struct embcl_device *dev, const char *key, long long fallback)
{
    const struct embcl_tune_override *o = override_of(dev->rt, key);
    if (o)
        return o->value;
    const embcl_tune_family *fam;
    const embcl_tune_key_spec *spec;
    if (!embcl_tune_find(key, &fam, &spec))
        return fallback;
    int level;
    const embcl_tune_row *r = embcl_tune_best_row(fam, spec->name, dev, &level);
    return r ? row_value(r, spec->name)->value : fallback;
}

size_t embcl_tune_param_count(void)
{
    size_t n = 0;
    for (size_t f = 0; f < embcl_tune_n_families; f++)
        n += embcl_tune_families[f]->n_keys;
    return n;
}

embcl_status embcl_tune_param_get(size_t i, embcl_tune_param *out)
{
    static const char *fn = "embcl_tune_param_get";
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    size_t at = i;
    for (size_t f = 0; f < embcl_tune_n_families; f++) {
        const embcl_tune_family *F = embcl_tune_families[f];
        if (at >= F->n_keys) {
            at -= F->n_keys;
            continue;
        }
        const embcl_tune_key_spec *s = &F->keys[at];
        out->family = F->name;
        out->name = s->name;
        out->min = s->min;
        out->max = s->max;
        out->allowed = s->only.v;
        out->n_allowed = (size_t)s->only.n;
        out->grid = s->grid.v;
        out->n_grid = (size_t)s->grid.n;
        out->doc = s->doc;
        return EMBCL_OK;
    }
    return embcl_error(EMBCL_ERR_INDEX_RANGE, fn, "'i' is %zu; the database has %zu keys", i,
                       embcl_tune_param_count());
}

const char *embcl_tune_source_name(embcl_tune_source source)
{
    switch (source) {
    case EMBCL_TUNE_FROM_OP: return "op";
    case EMBCL_TUNE_FROM_CLASS: return "class";
    case EMBCL_TUNE_FROM_VENDOR: return "vendor";
    case EMBCL_TUNE_FROM_DEVICE: return "device";
    case EMBCL_TUNE_FROM_OVERRIDE: return "override";
    }
    return "unknown";
}

embcl_status embcl_device_tune_value(embcl_device_t dev, const char *key, embcl_tune_value *out)
{
    static const char *fn = "embcl_device_tune_value";
    EMBCL_CHECK_ARG(dev, fn, "dev is NULL");
    EMBCL_CHECK_ARG(key, fn, "key is NULL");
    EMBCL_CHECK_ARG(out, fn, "out is NULL");
    const embcl_tune_family *fam;
    const embcl_tune_key_spec *spec;
    if (!embcl_tune_find(key, &fam, &spec))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "'key' is '%s': no such tuning key (embcl tune --show lists them)",
                           key);
    memset(out, 0, sizeof *out);
    const struct embcl_tune_override *o = override_of(dev->rt, key);
    if (o) {
        out->source = EMBCL_TUNE_FROM_OVERRIDE;
        out->value = o->value;
        return EMBCL_OK;
    }
    int level;
    const embcl_tune_row *r = embcl_tune_best_row(fam, spec->name, dev, &level);
    if (!r)
        return EMBCL_OK;
    out->source = level == 3 ? EMBCL_TUNE_FROM_DEVICE : level == 2 ? EMBCL_TUNE_FROM_VENDOR : EMBCL_TUNE_FROM_CLASS;
    out->value = row_value(r, spec->name)->value;
    out->cls = r->cls;
    out->vendor = r->vendor;
    out->device = r->device;
    return EMBCL_OK;
}
