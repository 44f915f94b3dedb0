/* journal: the row copies of optimizer transactions (src/optim/journal.c);
 * no rows: every device takes the op's 256. */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"WGS", 1, 8192, {{0}, 0}, {{0}, 0}, "work-group size (columns x rows)"},
};

const embcl_tune_family embcl_tune_journal = {"journal", "kernels/journal.cl", keys, EMBCL_TUNE_COUNT(keys), NULL, 0};
