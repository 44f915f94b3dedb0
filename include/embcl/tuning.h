/* embcl kernel tuning: the parameters kernels are built with (vector widths,
 * work-group sizes, items per work-item, ...), named "<family>.<KEY>"
 * ("bag_fwd.VW"). A database inside the library gives, per kernel family,
 * rows for a device class (CPU, GPU), narrowed to a vendor and to a device;
 * a device takes the most specific row that matches it, else the op's own
 * default. The runtime option `tuning` (or EMBCL_TUNE), "key=value,...",
 * overrides it. `embcl tune --show` prints what a device takes and
 * `embcl tune FAMILY` measures better values (README: "Tuning").
 *
 * Every string returned here is static. */
#ifndef EMBCL_TUNING_H
#define EMBCL_TUNING_H

#include "core.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One tunable key and the values it may take. */
typedef struct embcl_tune_param {
    const char *family;       /* "bag_fwd" */
    const char *name;         /* "VW": the key is "bag_fwd.VW" */
    long long min, max;       /* valid range; min 0 where 0 switches the key off */
    const long long *allowed; /* when n_allowed > 0, the only valid values */
    size_t n_allowed;
    const long long *grid;    /* the values `embcl tune` tries; n_grid 0: not swept */
    size_t n_grid;
    const char *doc;
} embcl_tune_param;

/* How many keys the database knows, and key i (0 <= i < count), grouped by
 * family. */
EMBCL_API size_t embcl_tune_param_count(void);
EMBCL_API embcl_status embcl_tune_param_get(size_t i, embcl_tune_param *out);

/* Checks "key=value,..." as embcl_runtime_create checks its tuning option:
 * every entry key=value, the key known, the value an integer the key
 * allows. Fails with EMBCL_ERR_FORMAT naming the entry, the key and the
 * value. */
EMBCL_API embcl_status embcl_tune_check(const char *spec);

typedef enum embcl_tune_source {
    EMBCL_TUNE_FROM_OP = 0,   /* no row names the key: the op's own default */
    EMBCL_TUNE_FROM_CLASS,    /* the default row of the device's class */
    EMBCL_TUNE_FROM_VENDOR,   /* a row for the device's vendor */
    EMBCL_TUNE_FROM_DEVICE,   /* a row for the device itself */
    EMBCL_TUNE_FROM_OVERRIDE  /* the runtime's tuning option or EMBCL_TUNE */
} embcl_tune_source;

EMBCL_API const char *embcl_tune_source_name(embcl_tune_source source);

/* What dev takes for a key. */
typedef struct embcl_tune_value {
    embcl_tune_source source;
    long long value;          /* meaningless with EMBCL_TUNE_FROM_OP */
    embcl_device_type cls;    /* the row's device class (rows only) */
    const char *vendor;       /* the row's vendor and device strings (NULL where the row has none) */
    const char *device;
} embcl_tune_value;

/* key: "family.KEY", one embcl_tune_param_get lists; else EMBCL_ERR_INVALID_ARG. */
EMBCL_API embcl_status embcl_device_tune_value(embcl_device_t dev, const char *key, embcl_tune_value *out);

#ifdef __cplusplus
}
#endif
#endif
