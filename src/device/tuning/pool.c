/* pool: buffers of at least HUGE_MIN_MB MiB get huge pages on CPU devices
 * (src/device/hugepages.c): gathers over a big table stop missing the TLB. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"HUGE_MIN_MB", 0, 1 << 20, {{0}, 0}, {{0}, 0}, "MiB from which a buffer gets huge pages (CPUs; 0 off)"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"HUGE_MIN_MB", 16}}},
};

const embcl_tune_family embcl_tune_pool = {"pool", "src/device/hugepages.c", keys, EMBCL_TUNE_COUNT(keys), rows,
                                           EMBCL_TUNE_COUNT(rows)};
