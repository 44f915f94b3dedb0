/* The host twins of kernels/bf16.h's conversions, bit for bit. */
#ifndef EMBCL_SRC_TENSOR_BF16_HOST_H
#define EMBCL_SRC_TENSOR_BF16_HOST_H

#include <stdint.h>
#include <string.h>

static inline uint16_t embcl_bf16_rne_host(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float embcl_bf16_value_host(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#endif
