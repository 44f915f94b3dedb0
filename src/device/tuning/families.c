/* The families of the tuning database: one file each in this folder. */
#include "device/tuning_db.h"

extern const embcl_tune_family embcl_tune_bandwidth, embcl_tune_optim, embcl_tune_optim_row,
    embcl_tune_optim_norm, embcl_tune_journal, embcl_tune_bag_fwd, embcl_tune_bag_bwd, embcl_tune_sort,
    embcl_tune_pool, embcl_tune_gemm, embcl_tune_elementwise, embcl_tune_loss, embcl_tune_lstm, embcl_tune_device;

const embcl_tune_family *const embcl_tune_families[] = {
    &embcl_tune_bag_fwd, &embcl_tune_bag_bwd, &embcl_tune_optim, &embcl_tune_optim_row, &embcl_tune_optim_norm,
    &embcl_tune_journal, &embcl_tune_sort,    &embcl_tune_gemm,  &embcl_tune_elementwise, &embcl_tune_loss,
    &embcl_tune_lstm,    &embcl_tune_pool,    &embcl_tune_bandwidth, &embcl_tune_device,
};
const size_t embcl_tune_n_families = EMBCL_TUNE_COUNT(embcl_tune_families);
