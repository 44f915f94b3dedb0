/* optim_norm: gradient-norm partial sums for clipping (src/optim/clip.c);
 * no rows: every device takes the op's 256. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"WGS", 1, 8192, {{0}, 0}, {{0}, 0}, "work-group size (rounded down to a power of two)"},
};

const embcl_tune_family embcl_tune_optim_norm = {"optim_norm", "kernels/optim.cl: norm_partial", keys,
                                                 EMBCL_TUNE_COUNT(keys), NULL, 0};
