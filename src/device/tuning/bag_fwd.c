/* bag_fwd: Embedding / EmbeddingBag forward and the offsets check
 * (kernels/bag.cl: bag_fwd, bag_fwd_tables, check_offsets). A CPU
 * work-item walks whole rows, CH float8 accumulators a pass, prefetching
 * the rows PREFETCH positions ahead; a GPU spreads a row over a warp of 32
 * lanes reading float4s. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"VW", 1, 16, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), EMBCL_TUNE_LIST(1, 2, 4, 8, 16), "floats per vector along D"},
    {"CH", 1, 64, {{0}, 0}, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), "vectors a work-item accumulates per pass"},
    {"LANES", 1, 1024, {{0}, 0}, EMBCL_TUNE_LIST(1, 4, 8, 16, 32), "work-items sharing one bag's columns"},
    {"WGS", 1, 8192, {{0}, 0}, EMBCL_TUNE_LIST(64, 128, 256, 512), "work-group size (lanes x bags)"},
    {"PREFETCH", 0, 4096, {{0}, 0}, EMBCL_TUNE_LIST(0, 4, 8, 16, 32),
     "prefetch the row this many positions ahead (CPUs; 0 off)"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"VW", 8}, {"CH", 8}, {"LANES", 1}, {"WGS", 256}, {"PREFETCH", 16}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"VW", 4}, {"CH", 1}, {"LANES", 32}, {"WGS", 256}}},
};

const embcl_tune_family embcl_tune_bag_fwd = {"bag_fwd", "kernels/bag.cl: bag_fwd, bag_fwd_tables, check_offsets",
                                              keys, EMBCL_TUNE_COUNT(keys), rows, EMBCL_TUNE_COUNT(rows)};
