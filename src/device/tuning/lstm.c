/* lstm: the LSTM cell's elementwise kernels (kernels/lstm.cl). */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"WGS", 1, 8192, {{0}, 0}, {{0}, 0}, "work-group size"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"WGS", 1024}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"WGS", 256}}},
};

const embcl_tune_family embcl_tune_lstm = {"lstm", "kernels/lstm.cl", keys, EMBCL_TUNE_COUNT(keys), rows,
                                           EMBCL_TUNE_COUNT(rows)};
