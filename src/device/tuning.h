/* Kernel tunables (vector widths, work-group sizes, items per work-item):
 * the database of src/device/tuning_db.h, overridden per runtime by
 * "key=value,..." (runtime option `tuning` or EMBCL_TUNE). Values reach
 * kernels only as -D defines. */
#ifndef EMBCL_SRC_DEVICE_TUNING_H
#define EMBCL_SRC_DEVICE_TUNING_H

#include "device/device_impl.h"
#include "device/tuning_db.h"

/* The value of `key` (e.g. "bag_fwd.VW") for dev: override, else the most
 * specific database row, else `fallback`. */
long long embcl_tune_get(struct embcl_device *dev, const char *key, long long fallback);

/* The family and key spec of "family.KEY"; 0 if the database has none. */
int embcl_tune_find(const char *key, const embcl_tune_family **fam, const embcl_tune_key_spec **spec);

/* The most specific row of fam that matches dev and names the short key
 * `name`, the first of equals, and how it matched (*level 3 device, 2
 * vendor, 1 class default); NULL and 0 if none. */
const embcl_tune_row *embcl_tune_best_row(const embcl_tune_family *fam, const char *name,
                                          const struct embcl_device *dev, int *level);

/* Checks spec (errors name fn) and, when rt is not NULL, adds its entries
 * to rt's overrides. Nothing is added unless every entry is valid. */
embcl_status embcl_tuning_parse(struct embcl_runtime *rt, const char *spec, const char *fn);
void embcl_tuning_free(struct embcl_runtime *rt);

#endif
