/* Bandwidth probes for bench/ (what fraction of the device's memory speed
 * an op reaches is measured against these).
 * Tunables: VW (floats per work-item per step: 1, 2, 4, 8, 16).
 * copy:  y[i] = x[i]
 * triad: a[i] = b[i] + s * c[i]
 * Both take n in units of VW-vectors, one vector per work-item: PoCL runs
 * grid-stride loops many times slower than straight-line work-items. */
#include "common.h"

#ifndef VW
#define VW 4
#endif
#if VW == 1
#define VT float
#define VLOAD(i, p) (p)[i]
#define VSTORE(v, i, p) (p)[i] = (v)
#else
#define VT EMBCL_CAT(float, VW)
#define VLOAD(i, p) EMBCL_CAT(vload, VW)(i, p)
#define VSTORE(v, i, p) EMBCL_CAT(vstore, VW)(v, i, p)
#endif

__kernel void copy(__global float *restrict y, __global const float *restrict x, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n)
        VSTORE(VLOAD(i, x), i, y);
}

__kernel void triad(__global float *restrict a, __global const float *restrict b,
                    __global const float *restrict c, float s, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n)
        VSTORE(VLOAD(i, b) + s * VLOAD(i, c), i, a);
}
