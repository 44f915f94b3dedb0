/* optim: the elementwise optimizer updates (kernels/optim.cl; VW also
 * for row-wise Adagrad, whose launch is family optim_row). CPUs want few
 * large groups of float8s, GPUs many work-items reading float4s; on a bf16
 * table a CPU work-item wants 16 elements, as many table bytes as 8 f32
 * ones, to carry its fixed costs (row index, gradient segment, a vector
 * draw of random bits, the rounding). */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"VW", 1, 16, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), EMBCL_TUNE_LIST(1, 2, 4, 8, 16),
     "floats per work-item step (halved until the shape allows it)"},
    {"WGS", 1, 8192, {{0}, 0}, EMBCL_TUNE_LIST(64, 128, 256, 512, 1024), "work-group size"},
    {"BF16_VW", 0, 16, EMBCL_TUNE_LIST(0, 1, 2, 4, 8, 16), {{0}, 0},
     "VW on a bf16 table, row-wise Adagrad aside: its width orders its sum (0: VW)"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"VW", 8}, {"WGS", 1024}, {"BF16_VW", 16}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"VW", 4}, {"WGS", 256}}},
};

const embcl_tune_family embcl_tune_optim = {"optim", "kernels/optim.cl: every update kernel", keys,
                                            EMBCL_TUNE_COUNT(keys), rows, EMBCL_TUNE_COUNT(rows)};
