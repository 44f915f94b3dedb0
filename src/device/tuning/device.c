/* device: limits embcl keeps to on the whole device (src/device/runtime.c,
 * src/device/program.c); no rows: every device keeps its own limits. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"MAX_WGS", 1, 1 << 20, {{0}, 0}, {{0}, 0},
     "lowers the device's, each dimension's and each kernel's work-group limit to this (tests of small devices)"},
};

const embcl_tune_family embcl_tune_device = {"device", "src/device/runtime.c", keys, EMBCL_TUNE_COUNT(keys), NULL,
                                             0};
