/* Counter-based random numbers: the value for (seed, index) is a pure
 * function of both, so a mask can be regenerated in backward instead of
 * stored, and every device (and the host, see src/ops/random.h) gives the
 * same bits. splitmix64's finaliser over seed + index * golden ratio. */
#ifndef EMBCL_KERNELS_RANDOM_H
#define EMBCL_KERNELS_RANDOM_H

static inline ulong embcl_mix64(ulong seed, ulong index)
{
    ulong z = seed + (index + 1) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 24 random bits. */
static inline float embcl_uniform(ulong seed, ulong index)
{
    return (float)(uint)(embcl_mix64(seed, index) >> 40) * (1.0f / 16777216.0f);
}

#endif
