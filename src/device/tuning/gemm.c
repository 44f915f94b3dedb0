/* gemm: embcl's tiled kernel on CPUs (kernels/gemm.cl), CLBlast on GPUs
 * (BACKEND 1 own, 2 CLBlast, as embcl_gemm_backend). KC: K in chunks, so a
 * group's B panel stays in the core's cache (K = 2240 with 256 columns ran
 * 10x slower unchunked). */
#include "device/tuning_db.h"

static const embcl_tune_key_spec keys[] = {
    {"BACKEND", 1, 2, EMBCL_TUNE_LIST(1, 2), {{0}, 0}, "1 embcl's tiled kernel, 2 CLBlast"},
    {"RM", 1, 16, {{0}, 0}, {{0}, 0}, "rows of C per work-item"},
    {"VW", 4, 16, EMBCL_TUNE_LIST(4, 8, 16), {{0}, 0}, "vector width of B and C"},
    {"NV", 1, 8, {{0}, 0}, {{0}, 0}, "vectors per row of a work-item's block"},
    {"WGX", 1, 1024, {{0}, 0}, {{0}, 0}, "work-group columns (blocks)"},
    {"WGY", 1, 1024, {{0}, 0}, {{0}, 0}, "work-group rows (blocks)"},
    {"KC", 1, 1 << 30, {{0}, 0}, {{0}, 0}, "K per chunk"},
};

static const embcl_tune_row rows[] = {
    {EMBCL_DEVICE_CPU,
     NULL,
     NULL,
     {{"BACKEND", 1}, {"RM", 6}, {"VW", 8}, {"NV", 2}, {"WGX", 16}, {"WGY", 4}, {"KC", 512}}},
    {EMBCL_DEVICE_GPU, NULL, NULL, {{"BACKEND", 2}}},
};

const embcl_tune_family embcl_tune_gemm = {"gemm", "src/blas/gemm.c, kernels/gemm.cl", keys, EMBCL_TUNE_COUNT(keys),
                                           rows, EMBCL_TUNE_COUNT(rows)};
