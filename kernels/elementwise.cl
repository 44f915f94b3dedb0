/* Elementwise ops and row/column reductions over matrices. Every operand is
 * a rows x cols matrix at element offset X_off with row stride X_ld (column
 * views work). Global size (cols, rows), rounded up to the work-group.
 * Outputs with an `acc` flag add into what is there (acc = 1) or overwrite.
 *
 * Kernels: copy_acc (y = a, the backward of add and of concat), add, mul,
 * tanh_fwd/tanh_bwd, sigmoid_fwd/sigmoid_bwd (backward from the forward's
 * output), dropout (mask from (seed, r * cols + c), so forward and backward
 * regenerate it), bias_rows (y[r][c] += b[c]), sum_rows (y[c] = sum over r,
 * one work-item per 8 columns, rows in order: deterministic), mean_time and
 * mean_time_bwd (mean over the first len[b] steps of [T, B, F] or [B, T, F]).
 * No tunables: the host picks the work-group (elementwise.WGS). */
#include "common.h"
#include "random.h"
#include "activation.h"

#define MAT(p) __global const float *p, ulong p##_off, ulong p##_ld
#define MATW(p) __global float *p, ulong p##_off, ulong p##_ld
#define AT(p, r, c) p[p##_off + (ulong)(r) * p##_ld + (c)]
#define IDS                        \
    uint c = get_global_id(0);     \
    uint r = get_global_id(1);     \
    if (c >= cols || r >= rows)    \
        return;
#define STORE(v)                                      \
    do {                                              \
        float v_ = (v);                               \
        if (acc)                                      \
            v_ += AT(y, r, c);                        \
        AT(y, r, c) = v_;                             \
    } while (0)

__kernel void copy_acc(uint rows, uint cols, MAT(a), MATW(y), int acc)
{
    IDS
    STORE(AT(a, r, c));
}

__kernel void add(uint rows, uint cols, MAT(a), MAT(b), MATW(y), int acc)
{
    IDS
    STORE(AT(a, r, c) + AT(b, r, c));
}

__kernel void mul(uint rows, uint cols, MAT(a), MAT(b), MATW(y), int acc)
{
    IDS
    STORE(AT(a, r, c) * AT(b, r, c));
}

__kernel void tanh_fwd(uint rows, uint cols, MAT(a), MATW(y), int acc)
{
    IDS
    STORE(embcl_tanh(AT(a, r, c)));
}

/* a: the forward's output, b: the incoming gradient */
__kernel void tanh_bwd(uint rows, uint cols, MAT(a), MAT(b), MATW(y), int acc)
{
    IDS
    float t = AT(a, r, c);
    STORE(AT(b, r, c) * (1.0f - t * t));
}

__kernel void sigmoid_fwd(uint rows, uint cols, MAT(a), MATW(y), int acc)
{
    IDS
    STORE(embcl_sigmoid(AT(a, r, c)));
}

__kernel void sigmoid_bwd(uint rows, uint cols, MAT(a), MAT(b), MATW(y), int acc)
{
    IDS
    float s = AT(a, r, c);
    STORE(AT(b, r, c) * s * (1.0f - s));
}

/* keep with probability 1 - p, scaled by 1 / (1 - p) */
__kernel void dropout(uint rows, uint cols, MAT(a), MATW(y), int acc, ulong seed, float p, float scale)
{
    IDS
    float u = embcl_uniform(seed, (ulong)r * cols + c);
    STORE(u >= p ? AT(a, r, c) * scale : 0.0f);
}

__kernel void bias_rows(uint rows, uint cols, __global const float *b, ulong b_off, MATW(y))
{
    IDS
    AT(y, r, c) += b[b_off + c];
}

/* each work-item sums 8 adjacent columns with vector loads (the rows are
 * walked in order, so the result does not depend on the device) */
__kernel void sum_rows(uint rows, uint cols, MAT(a), __global float *y, ulong y_off, int acc)
{
    uint c0 = get_global_id(0) * 8;
    if (c0 >= cols)
        return;
    if (c0 + 8 <= cols) {
        float8 s = (float8)(0.0f);
        for (uint r = 0; r < rows; r++)
            s += vload8(0, a + a_off + (ulong)r * a_ld + c0);
        if (acc)
            s += vload8(0, y + y_off + c0);
        vstore8(s, 0, y + y_off + c0);
        return;
    }
    for (uint c = c0; c < cols; c++) {
        float s = 0.0f;
        for (uint r = 0; r < rows; r++)
            s += AT(a, r, c);
        if (acc)
            s += y[y_off + c];
        y[y_off + c] = s;
    }
}

/* x: T*B rows of F; step t of sequence b is row t * t_stride + b * b_stride.
 * y: B rows of F. len: [B] i32 valid steps. */
__kernel void mean_time(uint B, uint F, MAT(a), uint t_stride, uint b_stride, __global const int *len, MATW(y),
                        int acc)
{
    uint c = get_global_id(0), r = get_global_id(1);
    uint rows = B, cols = F;
    if (c >= cols || r >= rows)
        return;
    int n = len[r];
    float s = 0.0f;
    for (int t = 0; t < n; t++)
        s += AT(a, (uint)t * t_stride + r * b_stride, c);
    STORE(s / (float)n);
}

/* dx (y here, T*B rows) from dmean (a, B rows) */
__kernel void mean_time_bwd(uint T, uint B, uint F, MAT(a), uint t_stride, uint b_stride,
                            __global const int *len, MATW(y), int acc)
{
    uint c = get_global_id(0), rr = get_global_id(1);
    uint cols = F;
    if (c >= cols || rr >= T * B)
        return;
    uint b = rr % B, t = rr / B;
    uint r = t * t_stride + b * b_stride;
    int n = len[b];
    STORE((int)t < n ? AT(a, b, c) / (float)n : 0.0f);
}
