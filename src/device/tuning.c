#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/tuning.h"

typedef struct tune_entry {
    int type_mask;          /* embcl_device_type bits; 0 = any */
    const char *vendor;     /* substring of the vendor name; NULL = any */
    const char *key;
    long long value;
} tune_entry;

/* More specific entries (vendor) come before generic ones (type only).
 * Ops add their keys here; a key missing from the table uses the op's own
 * fallback. CPU devices (PoCL) like few large work-groups and wide vectors;
 * GPUs like many work-items reading consecutive floats. */
static const tune_entry table[] = {
    {EMBCL_DEVICE_CPU, NULL, "bandwidth.VW", 8},
    {EMBCL_DEVICE_CPU, NULL, "bandwidth.WGS", 1024},
    {EMBCL_DEVICE_GPU, NULL, "bandwidth.VW", 4},
    {EMBCL_DEVICE_GPU, NULL, "bandwidth.WGS", 256},
    {EMBCL_DEVICE_CPU, NULL, "optim.VW", 8},
    {EMBCL_DEVICE_CPU, NULL, "optim.WGS", 1024},
    {EMBCL_DEVICE_CPU, NULL, "optim_row.WGS", 256},
    {EMBCL_DEVICE_GPU, NULL, "optim.VW", 4},
    {EMBCL_DEVICE_GPU, NULL, "optim.WGS", 256},
    {EMBCL_DEVICE_GPU, NULL, "optim_row.WGS", 64},
    {EMBCL_DEVICE_GPU, NULL, "optim_row.LANES", 32},
    /* Embedding / EmbeddingBag (kernels/bag.cl): a CPU work-item walks whole
     * rows, 8 x float8 accumulators per pass; a GPU spreads a row over a
     * warp of 32 lanes reading float4s, 8 bags per group. */
    {EMBCL_DEVICE_CPU, NULL, "bag_fwd.VW", 8},
    {EMBCL_DEVICE_CPU, NULL, "bag_fwd.CH", 8},
    {EMBCL_DEVICE_CPU, NULL, "bag_fwd.LANES", 1},
    {EMBCL_DEVICE_CPU, NULL, "bag_fwd.WGS", 256},
    {EMBCL_DEVICE_CPU, NULL, "bag_fwd.PREFETCH", 16}, /* positions ahead (kernels/bag.cl) */
    {EMBCL_DEVICE_GPU, NULL, "bag_fwd.VW", 4},
    {EMBCL_DEVICE_GPU, NULL, "bag_fwd.CH", 1},
    {EMBCL_DEVICE_GPU, NULL, "bag_fwd.LANES", 32},
    {EMBCL_DEVICE_GPU, NULL, "bag_fwd.WGS", 256},
    {EMBCL_DEVICE_CPU, NULL, "bag_bwd.VW", 8},
    {EMBCL_DEVICE_CPU, NULL, "bag_bwd.CH", 8}, /* 2 passes over a 128-wide row; 16 spills */
    {EMBCL_DEVICE_CPU, NULL, "bag_bwd.LANES", 1},
    {EMBCL_DEVICE_CPU, NULL, "bag_bwd.WGS", 256},
    {EMBCL_DEVICE_CPU, NULL, "bag_bwd.NARROW_MAX_D", 64}, /* row-sparse backward without a sort (embedding_narrow.c) */
    {EMBCL_DEVICE_GPU, NULL, "bag_bwd.VW", 4},
    {EMBCL_DEVICE_GPU, NULL, "bag_bwd.CH", 1},
    {EMBCL_DEVICE_GPU, NULL, "bag_bwd.LANES", 32},
    {EMBCL_DEVICE_GPU, NULL, "bag_bwd.WGS", 256},
    /* sort (src/ops/segments.c): a CPU runs each group as one serial loop
     * over a big block; a GPU needs (1 << RB) * WGS * 4 bytes of local memory. */
    {EMBCL_DEVICE_CPU, NULL, "sort.WGS", 1},
    {EMBCL_DEVICE_CPU, NULL, "sort.RB", 11},
    {EMBCL_DEVICE_CPU, NULL, "sort.IPT", 4096},
    {EMBCL_DEVICE_GPU, NULL, "sort.WGS", 64},
    {EMBCL_DEVICE_GPU, NULL, "sort.RB", 6},
    {EMBCL_DEVICE_GPU, NULL, "sort.IPT", 16},
    {EMBCL_DEVICE_GPU, NULL, "sort.GROUPS", 2048},
    /* buffers of at least this many MiB get huge pages on CPU devices
     * (src/device/hugepages.c): gathers over a big table stop missing the TLB */
    {EMBCL_DEVICE_CPU, NULL, "pool.HUGE_MIN_MB", 16},
    /* GEMM: own tiled kernel on CPUs (kernels/gemm.cl), CLBlast on GPUs. */
    {EMBCL_DEVICE_CPU, NULL, "gemm.BACKEND", 1},
    {EMBCL_DEVICE_CPU, NULL, "gemm.RM", 6},
    {EMBCL_DEVICE_CPU, NULL, "gemm.VW", 8},
    {EMBCL_DEVICE_CPU, NULL, "gemm.NV", 2},
    {EMBCL_DEVICE_CPU, NULL, "gemm.WGX", 16},
    {EMBCL_DEVICE_CPU, NULL, "gemm.WGY", 4},
    {EMBCL_DEVICE_CPU, NULL, "gemm.KC", 512},
    {EMBCL_DEVICE_GPU, NULL, "gemm.BACKEND", 2},
    /* dense elementwise ops, losses and the LSTM cell (kernels/elementwise.cl, loss.cl, lstm.cl) */
    {EMBCL_DEVICE_CPU, NULL, "elementwise.WGS", 1024},
    {EMBCL_DEVICE_GPU, NULL, "elementwise.WGS", 256},
    {EMBCL_DEVICE_CPU, NULL, "loss.WGS", 64},
    {EMBCL_DEVICE_GPU, NULL, "loss.WGS", 256},
    /* cross-entropy rows in float8 steps on CPUs: PoCL vectorises exp only on vector types */
    {EMBCL_DEVICE_CPU, NULL, "loss.VW", 8},
    {EMBCL_DEVICE_GPU, NULL, "loss.VW", 1},
    {EMBCL_DEVICE_CPU, NULL, "lstm.WGS", 1024},
    {EMBCL_DEVICE_GPU, NULL, "lstm.WGS", 256},
};

long long embcl_tune_get(struct embcl_device *dev, const char *key, long long fallback)
{
    struct embcl_runtime *rt = dev->rt;
    for (size_t i = 0; i < rt->n_tune; i++)
        if (strcmp(rt->tune[i].key, key) == 0)
            return rt->tune[i].value;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const tune_entry *e = &table[i];
        if (strcmp(e->key, key) != 0)
            continue;
        if (e->type_mask && !(e->type_mask & (int)dev->info.device_class))
            continue;
        if (e->vendor && !strcasestr(dev->info.vendor, e->vendor))
            continue;
        return e->value;
    }
    return fallback;
}

embcl_status embcl_tuning_parse(struct embcl_runtime *rt, const char *spec)
{
    static const char *fn = "embcl_runtime_create";
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p)
            return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s' in '%s' is not key=value",
                               (int)len, p, spec);
        char num[32];
        size_t vl = len - (size_t)(eq + 1 - p);
        if (vl == 0 || vl >= sizeof num)
            return embcl_error(EMBCL_ERR_FORMAT, fn, "tuning override '%.*s' has no usable value",
                               (int)len, p);
        memcpy(num, eq + 1, vl);
        num[vl] = '\0';
        char *e;
        long long v = strtoll(num, &e, 10);
        if (*e != '\0' || v <= 0)
            return embcl_error(EMBCL_ERR_FORMAT, fn,
                               "tuning override '%.*s': value '%s' is not a positive integer", (int)len, p,
                               num);
        embcl_tune_override *grown = embcl_realloc(rt->tune, (rt->n_tune + 1) * sizeof *grown, fn);
        if (!grown)
            return EMBCL_ERR_OUT_OF_MEMORY;
        rt->tune = grown;
        char *key = embcl_malloc((size_t)(eq - p) + 1, fn);
        if (!key)
            return EMBCL_ERR_OUT_OF_MEMORY;
        memcpy(key, p, (size_t)(eq - p));
        key[eq - p] = '\0';
        rt->tune[rt->n_tune].key = key;
        rt->tune[rt->n_tune].value = v;
        rt->n_tune++;
        if (!end)
            break;
        p = end + 1;
    }
    return EMBCL_OK;
}

void embcl_tuning_free(struct embcl_runtime *rt)
{
    for (size_t i = 0; i < rt->n_tune; i++)
        embcl_free(rt->tune[i].key);
    embcl_free(rt->tune);
    rt->tune = NULL;
    rt->n_tune = 0;
}
