/* bandwidth: the copy and triad kernels the benchmarks hold other kernels
 * to (kernels/bandwidth.cl; bench/bench_bandwidth.c, bench/bench_optim.c). */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"VW", 1, 16, EMBCL_TUNE_LIST(1, 2, 4, 8, 16), {{0}, 0}, "floats per work-item"},
    {"WGS", 1, 8192, {{0}, 0}, {{0}, 0}, "work-group size"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU, NULL, NULL, {{"VW", 8}, {"WGS", 1024}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"VW", 4}, {"WGS", 256}}},
};

const embcl_tune_family embcl_tune_bandwidth = {"bandwidth", "kernels/bandwidth.cl", keys, EMBCL_TUNE_COUNT(keys),
                                                rows, EMBCL_TUNE_COUNT(rows)};
