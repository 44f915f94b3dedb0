/* loss: cross-entropy and the reductions (kernels/loss.cl). Rows in float8
 * steps on CPUs: PoCL vectorises exp only on vector types. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"WGS", 1, 8192, {{0}, 0}, {{0}, 0}, "work-group size per row (rounded down to a power of two)"},
    {"VW", 1, 8, EMBCL_TUNE_LIST(1, 4, 8), {{0}, 0}, "floats per step along a row"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"WGS", 64}, {"VW", 8}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"WGS", 256}, {"VW", 1}}},
};

const embcl_tune_family embcl_tune_loss = {"loss", "kernels/loss.cl", keys, EMBCL_TUNE_COUNT(keys), rows,
                                           EMBCL_TUNE_COUNT(rows)};
