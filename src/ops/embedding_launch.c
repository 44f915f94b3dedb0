/* Kernel variants and launch geometry of the Embedding / EmbeddingBag
 * kernels, from the tuning table (src/device/tuning.c: "<op>.VW", ".CH",
 * ".LANES", ".WGS"). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "device/tuning.h"
#include "ops/embedding_impl.h"

emb_tune emb_tune_for(struct embcl_device *dev, const char *op)
{
    char key[64];
    emb_tune t;
    snprintf(key, sizeof key, "%s.VW", op);
    t.vw = embcl_tune_get(dev, key, 4);
    snprintf(key, sizeof key, "%s.CH", op);
    t.ch = embcl_tune_get(dev, key, 1);
    snprintf(key, sizeof key, "%s.LANES", op);
    t.lanes = embcl_tune_get(dev, key, 1);
    snprintf(key, sizeof key, "%s.WGS", op);
    t.wgs = embcl_tune_get(dev, key, 256);
    snprintf(key, sizeof key, "%s.PREFETCH", op);
    t.prefetch = embcl_tune_get(dev, key, 0);
    /* One variant per device whatever D is: narrow rows go through the
     * kernels' single-vector and scalar tails instead of another build. */
    if (t.vw != 1 && t.vw != 2 && t.vw != 4 && t.vw != 8 && t.vw != 16)
        t.vw = 4;
    if (t.ch < 1)
        t.ch = 1;
    if (t.lanes < 1)
        t.lanes = 1;
    if (t.wgs < t.lanes)
        t.wgs = t.lanes;
    if (t.prefetch < 0)
        t.prefetch = 0;
    return t;
}

static const char *type_name(embcl_dtype t)
{
    return t == EMBCL_I32 ? "int" : "long";
}

void emb_defines(char *buf, size_t cap, embcl_dtype idx, embcl_dtype off, const emb_tune *t)
{
    snprintf(buf, cap, "-DIDX_T=%s -DOFF_T=%s -DVW=%lld -DCH=%lld -DLANES=%lld -DPREFETCH=%lld", type_name(idx),
             type_name(off), t->vw, t->ch, t->lanes, t->prefetch);
}

embcl_status emb_bag_kernel_parts(struct embcl_device *dev, const char *op, const emb_bags *eb, const char *kname,
                                  int split, cl_kernel *k, emb_tune *t)
{
    *t = emb_tune_for(dev, op);
    char defs[176];
    emb_defines(defs, sizeof defs - 32, eb->idx->dtype, eb->offs ? eb->offs->dtype : EMBCL_I64, t);
    if (eb->table_bf16)
        strcat(defs, " -DTABLE_BF16=1");
    strcat(defs, embcl_parts_define(split));
    return embcl_kernel_get(dev, "bag", defs, kname, k);
}

embcl_status emb_bag_kernel(struct embcl_device *dev, const char *op, const emb_bags *eb, const char *kname,
                            cl_kernel *k, emb_tune *t)
{
    return emb_bag_kernel_parts(dev, op, eb, kname, 0, k, t);
}

embcl_status emb_launch_lanes(struct embcl_device *dev, cl_kernel k, const char *kname, const emb_tune *t,
                              size_t items)
{
    if (items == 0)
        return EMBCL_OK;
    size_t lanes = (size_t)t->lanes;
    size_t per = embcl_kernel_fit_wgs(dev, k, (size_t)t->wgs, 0) / lanes;
    if (per > dev->info.max_work_item_sizes[1])
        per = dev->info.max_work_item_sizes[1];
    if (per < 1)
        per = 1;
    /* Few items: smaller groups so every compute unit gets some. */
    size_t cu = dev->info.compute_units ? dev->info.compute_units : 1;
    while (per > 1 && (items + per - 1) / per < cu)
        per /= 2;
    size_t gws[2] = {lanes, embcl_round_up(items, per)};
    size_t lws[2] = {lanes, per};
    return embcl_kernel_launch(dev, k, kname, 2, gws, lws, NULL);
}

embcl_status emb_launch_flat(struct embcl_device *dev, cl_kernel k, const char *kname, size_t n)
{
    if (n == 0)
        return EMBCL_OK;
    size_t wgs = embcl_kernel_fit_wgs(dev, k, embcl_dev_is_cpu(dev) ? 1024 : 256, 0);
    if (wgs > dev->info.max_work_item_sizes[0])
        wgs = dev->info.max_work_item_sizes[0];
    size_t cu = dev->info.compute_units ? dev->info.compute_units : 1;
    /* Enough groups to fill the device, no more than the work needs: each
     * work-item strides over the rest. */
    size_t groups = cu * (embcl_dev_is_cpu(dev) ? 4 : 16);
    while (wgs > 1 && (n + wgs - 1) / wgs < cu)
        wgs /= 2;
    size_t need = (n + wgs - 1) / wgs;
    if (groups > need)
        groups = need;
    size_t gws = groups * wgs;
    return embcl_kernel_launch(dev, k, kname, 1, &gws, &wgs, NULL);
}
