/* optim: the elementwise optimizer updates (kernels/optim.cl; VW also
 * for row-wise Adagrad, whose launch is family optim_row). CPUs want few
 * large groups of float8s, GPUs many work-items reading float4s. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"VW", 1, 16, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), EMBCL_TUNE_LIST(1, 2, 4, 8, 16),
     "floats per work-item step (halved until the shape allows it)"},
    {"WGS", 1, 8192, {{0}, 0}, EMBCL_TUNE_LIST(64, 128, 256, 512, 1024), "work-group size"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"VW", 8}, {"WGS", 1024}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"VW", 4}, {"WGS", 256}}},
};

const embcl_tune_family embcl_tune_optim = {"optim", "kernels/optim.cl: every update kernel", keys,
                                            EMBCL_TUNE_COUNT(keys), rows, EMBCL_TUNE_COUNT(rows)};
