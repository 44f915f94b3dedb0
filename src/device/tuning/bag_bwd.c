/* bag_bwd: Embedding / EmbeddingBag backward (kernels/bag.cl:
 * bag_positions, seg_reduce, scatter_atomic, psw_grad). On CPUs CH 8 makes
 * 2 passes over a 128-wide row (16 spills registers); GPUs as bag_fwd.
 * NARROW_PF 16 took the narrow backward at D = 16 from 0.53-0.54 to
 * 0.49-0.50 ms (best of 400, in turns in one process; 32: 0.52-0.53). */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"VW", 1, 16, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), EMBCL_TUNE_LIST(1, 2, 4, 8, 16), "floats per vector along D"},
    {"CH", 1, 64, {{0}, 0}, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), "vectors a work-item accumulates per pass"},
    {"LANES", 1, 1024, {{0}, 0}, EMBCL_TUNE_LIST(1, 4, 8, 16, 32), "work-items sharing one segment's columns"},
    {"WGS", 1, 8192, {{0}, 0}, EMBCL_TUNE_LIST(64, 128, 256, 512), "work-group size (lanes x segments)"},
    {"NARROW_MAX_D", 0, 1 << 20, {{0}, 0}, {{0}, 0},
     "widest D whose backward to row-sparse skips the sort (src/ops/embedding_narrow.c; 0 off)"},
    {"NARROW_PF", 0, 64, EMBCL_TUNE_LIST(0, 8, 16, 32, 64), {{0}, 0},
     "positions ahead whose table words the narrow backward prefetches (CPUs; 0 off)"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL,
     {{"VW", 8}, {"CH", 8}, {"LANES", 1}, {"WGS", 256}, {"NARROW_MAX_D", 64}, {"NARROW_PF", 16}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"VW", 4}, {"CH", 1}, {"LANES", 32}, {"WGS", 256}}},
};

const embcl_tune_family embcl_tune_bag_bwd = {"bag_bwd",
                                              "kernels/bag.cl: bag_positions, seg_reduce, scatter_atomic, psw_grad",
                                              keys, EMBCL_TUNE_COUNT(keys), rows, EMBCL_TUNE_COUNT(rows)};
