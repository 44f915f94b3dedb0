/* Small kernels of the graph executor's own nodes (affine, tanh, add, MSE,
 * gradient accumulation). Every matrix operand is (buffer, element offset,
 * row stride), so column views of wider tables work unchanged.
 * Variants: none. Tunables: -DWGS (work-group size of the reductions,
 * a power of two; default 256).
 * Global sizes: the 2-D kernels take (cols rounded up, rows); col_sum takes
 * cols rounded up; mse_fwd takes exactly one work-group of WGS. */
#include "common.h"

#ifndef WGS
#define WGS 256
#endif

#define AT(p, o, ld, r, c) p[(o) + (r) * (ld) + (c)]
#define IDX2                     \
    size_t c = get_global_id(0); \
    size_t r = get_global_id(1); \
    if (c >= cols || r >= rows)  \
        return;

/* y := (acc ? y : 0) + alpha * x */
__kernel void axpy2d(__global float *y, ulong yo, ulong yld, __global const float *x, ulong xo, ulong xld, ulong rows,
                     ulong cols, float alpha, int acc)
{
    IDX2
    float v = alpha * AT(x, xo, xld, r, c);
    AT(y, yo, yld, r, c) = acc ? AT(y, yo, yld, r, c) + v : v;
}

/* y := a + b */
__kernel void add2d(__global float *y, ulong yo, ulong yld, __global const float *a, ulong ao, ulong ald,
                    __global const float *b, ulong bo, ulong bld, ulong rows, ulong cols)
{
    IDX2
    AT(y, yo, yld, r, c) = AT(a, ao, ald, r, c) + AT(b, bo, bld, r, c);
}

/* y := tanh(x) (y may be x) */
__kernel void tanh_fwd(__global float *y, ulong yo, ulong yld, __global const float *x, ulong xo, ulong xld,
                       ulong rows, ulong cols)
{
    IDX2
    AT(y, yo, yld, r, c) = tanh(AT(x, xo, xld, r, c));
}

/* gx := (acc ? gx : 0) + gy * (1 - y^2) */
__kernel void tanh_bwd(__global float *gx, ulong go, ulong gld, __global const float *gy, ulong yo2, ulong gyld,
                       __global const float *y, ulong yo, ulong yld, ulong rows, ulong cols, int acc)
{
    IDX2
    float t = AT(y, yo, yld, r, c);
    float v = AT(gy, yo2, gyld, r, c) * (1.0f - t * t);
    AT(gx, go, gld, r, c) = acc ? AT(gx, go, gld, r, c) + v : v;
}

/* y[r, c] += b[c] */
__kernel void bias_add(__global float *y, ulong yo, ulong yld, __global const float *b, ulong bo, ulong rows,
                       ulong cols)
{
    IDX2
    AT(y, yo, yld, r, c) += b[bo + c];
}

/* gb[c] := (acc ? gb[c] : 0) + sum over r of gy[r, c], rows in order */
__kernel void col_sum(__global float *gb, ulong bo, __global const float *gy, ulong yo, ulong yld, ulong rows,
                      ulong cols, int acc)
{
    size_t c = get_global_id(0);
    if (c >= cols)
        return;
    float s = 0.0f;
    for (size_t r = 0; r < rows; r++)
        s += AT(gy, yo, yld, r, c);
    gb[bo + c] = acc ? gb[bo + c] + s : s;
}

/* loss[lo] := sum((x - t)^2) / n over a rows x cols matrix; one work-group */
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1))) void
mse_fwd(__global float *loss, ulong lo, __global const float *x, ulong xo, ulong xld, __global const float *t,
        ulong to, ulong tld, ulong rows, ulong cols)
{
    __local float part[WGS];
    size_t l = get_local_id(0);
    size_t n = rows * cols;
    float s = 0.0f;
    for (size_t e = l; e < n; e += WGS) {
        size_t r = e / cols, c = e % cols;
        float d = AT(x, xo, xld, r, c) - AT(t, to, tld, r, c);
        s += d * d;
    }
    part[l] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t h = WGS / 2; h > 0; h /= 2) {
        if (l < h)
            part[l] += part[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0)
        loss[lo] = part[0] / (float)n;
}

/* gx := (acc ? gx : 0) + gl[glo] * 2 (x - t) / n */
__kernel void mse_bwd(__global float *gx, ulong go, ulong gld, __global const float *gl, ulong glo,
                      __global const float *x, ulong xo, ulong xld, __global const float *t, ulong to, ulong tld,
                      ulong rows, ulong cols, int acc)
{
    IDX2
    float v = gl[glo] * 2.0f * (AT(x, xo, xld, r, c) - AT(t, to, tld, r, c)) / (float)(rows * cols);
    AT(gx, go, gld, r, c) = acc ? AT(gx, go, gld, r, c) + v : v;
}
