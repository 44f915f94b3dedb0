/* The host twin of kernels/random.h: the same counter-based generator, so
 * parameter init and dropout masks are reproducible on any device. */
#ifndef EMBCL_SRC_OPS_RANDOM_H
#define EMBCL_SRC_OPS_RANDOM_H

#include <stdint.h>

static inline uint64_t embcl_mix64(uint64_t seed, uint64_t index)
{
    uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 24 random bits, as embcl_uniform in kernels. */
static inline float embcl_uniform01(uint64_t seed, uint64_t index)
{
    return (float)(uint32_t)(embcl_mix64(seed, index) >> 40) * (1.0f / 16777216.0f);
}

#endif
