/* embcl tune --show: every tuning key, the value the device takes and
 * where it comes from; and what embcl tune's parts share. */
#include <stdio.h>
#include <string.h>

#include "tune_show.h"

void tune_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

embcl_status tune_open_device(const char *device, const char *tuning, embcl_runtime_t *rt, embcl_device_t *dev)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = device;
    o.tuning = tuning;
    embcl_status s = embcl_runtime_create(&o, rt);
    if (s != EMBCL_OK)
        return s;
    s = embcl_runtime_device(*rt, 0, dev);
    if (s != EMBCL_OK) {
        embcl_runtime_free(*rt);
        *rt = NULL;
    }
    return s;
}

static void show_text(const char *key, const embcl_tune_param *p, const embcl_tune_value *v)
{
    char range[96];
    if (p->n_allowed) {
        size_t n = (size_t)snprintf(range, sizeof range, "one of ");
        for (size_t i = 0; i < p->n_allowed && n < sizeof range; i++)
            n += (size_t)snprintf(range + n, sizeof range - n, "%s%lld", i ? "," : "", p->allowed[i]);
    } else {
        snprintf(range, sizeof range, "%lld..%lld", p->min, p->max);
    }
    if (v->source == EMBCL_TUNE_FROM_OP)
        printf("  %-22s %8s  %-9s %-24s %s\n", key, "-", "op", range, p->doc);
    else
        printf("  %-22s %8lld  %-9s %-24s %s\n", key, v->value, embcl_tune_source_name(v->source), range, p->doc);
}

static void show_json(const char *key, const embcl_tune_param *p, const embcl_tune_value *v)
{
    printf("{\"key\": \"%s\", \"family\": \"%s\", \"value\": ", key, p->family);
    if (v->source == EMBCL_TUNE_FROM_OP)
        printf("null");
    else
        printf("%lld", v->value);
    printf(", \"source\": \"%s\", \"min\": %lld, \"max\": %lld, \"swept\": %s", embcl_tune_source_name(v->source),
           p->min, p->max, p->n_grid ? "true" : "false");
    if (v->vendor) {
        printf(", \"row_vendor\": ");
        tune_json_str(stdout, v->vendor);
    }
    if (v->device) {
        printf(", \"row_device\": ");
        tune_json_str(stdout, v->device);
    }
    printf("}\n");
}

/* Every key, the value dev takes and where it comes from. */
int tune_show(const char *device, const char *family, int json)
{
    embcl_runtime_t rt;
    embcl_device_t dev;
    embcl_device_info info;
    if (tune_open_device(device, NULL, &rt, &dev) != EMBCL_OK || embcl_device_get_info(dev, &info) != EMBCL_OK) {
        fprintf(stderr, "embcl tune: %s\n", embcl_last_error());
        return 1;
    }
    if (!json)
        printf("%s (vendor %s, %s class)\n  %-22s %8s  %-9s %-24s %s\n", info.name, info.vendor,
               embcl_device_type_name(info.device_class), "key", "value", "from", "valid", "meaning");
    size_t n = embcl_tune_param_count(), shown = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        embcl_tune_param p;
        embcl_tune_value v;
        char key[96];
        if (embcl_tune_param_get(i, &p) != EMBCL_OK)
            rc = 1;
        if (rc || (family && strcmp(family, p.family) != 0))
            continue;
        snprintf(key, sizeof key, "%s.%s", p.family, p.name);
        if (embcl_device_tune_value(dev, key, &v) != EMBCL_OK) {
            fprintf(stderr, "embcl tune: %s\n", embcl_last_error());
            rc = 1;
            break;
        }
        (json ? show_json : show_text)(key, &p, &v);
        shown++;
    }
    if (!rc && shown == 0) {
        fprintf(stderr, "embcl tune: no tuning family '%s'\n", family);
        rc = 2;
    }
    embcl_runtime_free(rt);
    return rc;
}

