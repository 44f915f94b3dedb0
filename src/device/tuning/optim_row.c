/* optim_row: launch shape of row-wise Adagrad (kernels/optim.cl), whose
 * work-items share a row (a tree over LANES) to reduce its mean square. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"WGS", 1, 8192, {{0}, 0}, EMBCL_TUNE_LIST(32, 64, 128, 256, 512), "work-group size"},
    {"LANES", 1, 1024, {{0}, 0}, EMBCL_TUNE_LIST(1, 2, 4, 8, 16, 32),
     "work-items sharing a row (rounded down to a power of two)"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"WGS", 256}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"WGS", 64}, {"LANES", 32}}},
};

const embcl_tune_family embcl_tune_optim_row = {"optim_row", "kernels/optim.cl: rowwise_adagrad", keys,
                                                EMBCL_TUNE_COUNT(keys), rows, EMBCL_TUNE_COUNT(rows)};
