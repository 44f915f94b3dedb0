/* sort: the radix sort behind deterministic scatter (src/ops/segments.c,
 * kernels/sort.cl). A CPU runs each group as one serial loop over a big
 * block; a GPU group needs (1 << RB) * WGS * 4 bytes of local memory (the
 * op shrinks WGS, then RB, to fit). */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"WGS", 1, 8192, {{0}, 0}, EMBCL_TUNE_LIST(1, 16, 32, 64, 128, 256), "work-group size"},
    {"RB", 1, 12, {{0}, 0}, EMBCL_TUNE_LIST(4, 5, 6, 8, 11), "radix bits per pass"},
    {"IPT", 1, 1 << 20, {{0}, 0}, EMBCL_TUNE_LIST(16, 64, 256, 1024, 4096), "keys per work-item"},
    {"GROUPS", 1, 1 << 20, {{0}, 0}, EMBCL_TUNE_LIST(64, 256, 1024, 2048, 4096),
     "most work-groups (default 4 per compute unit)"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"WGS", 1}, {"RB", 11}, {"IPT", 4096}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"WGS", 64}, {"RB", 6}, {"IPT", 16}, {"GROUPS", 2048}}},
};

const embcl_tune_family embcl_tune_sort = {"sort", "kernels/sort.cl", keys, EMBCL_TUNE_COUNT(keys), rows,
                                           EMBCL_TUNE_COUNT(rows)};
