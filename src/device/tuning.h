/* Kernel tunables (vector widths, work-group sizes, items per work-item):
 * a small table by device type and vendor with defaults, overridden per
 * runtime by "key=value,..." (runtime option `tuning` or EMBCL_TUNE).
 * Values reach kernels only as -D defines. */
#ifndef EMBCL_SRC_DEVICE_TUNING_H
#define EMBCL_SRC_DEVICE_TUNING_H

#include "device/device_impl.h"

/* The value of `key` (e.g. "bag_fwd.VW") for dev: override, else the most
 * specific table entry, else `fallback`. */
long long embcl_tune_get(struct embcl_device *dev, const char *key, long long fallback);

embcl_status embcl_tuning_parse(struct embcl_runtime *rt, const char *spec);
void embcl_tuning_free(struct embcl_runtime *rt);

#endif
