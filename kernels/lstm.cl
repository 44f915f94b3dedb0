/* LSTM cell update (forward and backward) for one time step of every
 * direction at once, and the batch-first permutation.
 *
 * Layout (per layer; D directions, T steps, B sequences, H hidden units):
 *   gates [D][T*B][4H]  on entry to cell_fwd the pre-activations x W_ih^T +
 *                       h W_hh^T of step t (gate order i, f, g, o, as
 *                       PyTorch); cell_fwd overwrites them with the
 *                       activated gates, which is what backward needs.
 *   P, C  [D][T+1][B][H] hidden and cell states: direction 0 reads state t
 *                       and writes t+1 at time t; direction 1 (reverse)
 *                       reads t+1 and writes t, so both start at their own
 *                       end of the sequence.
 *   len   [B] i32 steps of each sequence. At t >= len[b] the state passes
 *         through unchanged and the output is 0, as with a packed sequence.
 * Work-item (j, b, d): hidden unit j of sequence b in direction d. Step s is
 * time s for direction 0 and T-1-s for direction 1.
 *
 * cell_fwd  c' = f c + i g, h' = o tanh(c'), with both biases added.
 * cell_bwd  from dh (carried, plus the output's gradient) and dc (carried):
 *           pre-activation gate gradients dG, dc for the previous step, and
 *           dh zeroed (the host adds dG W_hh to it) or passed through past
 *           the sequence's end.
 * permute01 [A0][A1][F] -> [A1][A0][F] (batch-first <-> time-major).
 * No tunables. */
#include "common.h"

#define STEP_IDS                                                      \
    uint j = get_global_id(0), b = get_global_id(1), d = get_global_id(2); \
    if (j >= H || b >= B)                                             \
        return;                                                       \
    uint t = d ? T - 1 - s : s;                                       \
    uint jin = d ? t + 1 : t, jout = d ? t : t + 1;                   \
    ulong G = 4 * (ulong)H;                                           \
    ulong grow = ((ulong)d * T * B + (ulong)t * B + b) * G;           \
    ulong sin = (((ulong)d * (T + 1) + jin) * B + b) * H + j;         \
    ulong sout = (((ulong)d * (T + 1) + jout) * B + b) * H + j;       \
    int active = (int)t < len[b];

inline float sigm(float x)
{
    return 1.0f / (1.0f + exp(-x));
}

__kernel void cell_fwd(uint s, uint T, uint B, uint H, __global const int *len, __global float *gates,
                       __global const float *b_ih, __global const float *b_hh, int has_bias, __global float *P,
                       __global float *C, __global float *out, ulong out_off, ulong out_ld)
{
    STEP_IDS
    __global float *out_p = out + out_off + ((ulong)t * B + b) * out_ld + (ulong)d * H + j;
    if (!active) {
        P[sout] = P[sin];
        C[sout] = C[sin];
        *out_p = 0.0f;
        return;
    }
    __global float *g = gates + grow + j;
    float zi = g[0], zf = g[H], zg = g[2 * H], zo = g[3 * H];
    if (has_bias) {
        ulong bo = (ulong)d * G + j;
        zi += b_ih[bo] + b_hh[bo];
        zf += b_ih[bo + H] + b_hh[bo + H];
        zg += b_ih[bo + 2 * H] + b_hh[bo + 2 * H];
        zo += b_ih[bo + 3 * H] + b_hh[bo + 3 * H];
    }
    float i = sigm(zi), f = sigm(zf), gg = tanh(zg), o = sigm(zo);
    float c = f * C[sin] + i * gg;
    float h = o * tanh(c);
    g[0] = i;
    g[H] = f;
    g[2 * H] = gg;
    g[3 * H] = o;
    C[sout] = c;
    P[sout] = h;
    *out_p = h;
}

/* dh, dc: [D][B][H] carried gradients; dout: the layer output's gradient
 * ([T*B] rows, direction d at columns d*H); dG: [D][T*B][4H]. */
__kernel void cell_bwd(uint s, uint T, uint B, uint H, __global const int *len, __global const float *gates,
                       __global const float *C, __global const float *dout, ulong dout_off, ulong dout_ld,
                       __global float *dh, __global float *dc, __global float *dG)
{
    STEP_IDS
    ulong k = ((ulong)d * B + b) * H + j;
    __global float *dg = dG + grow + j;
    if (!active) {
        dg[0] = dg[H] = dg[2 * H] = dg[3 * H] = 0.0f;
        return; /* dh and dc pass through unchanged */
    }
    float dht = dh[k] + dout[dout_off + ((ulong)t * B + b) * dout_ld + (ulong)d * H + j];
    const __global float *g = gates + grow + j;
    float i = g[0], f = g[H], gg = g[2 * H], o = g[3 * H];
    float c = C[sout], tc = tanh(c);
    float dct = dc[k] + dht * o * (1.0f - tc * tc);
    dg[0] = dct * gg * i * (1.0f - i);
    dg[H] = dct * C[sin] * f * (1.0f - f);
    dg[2 * H] = dct * i * (1.0f - gg * gg);
    dg[3 * H] = dht * tc * o * (1.0f - o);
    dc[k] = dct * f;
    dh[k] = 0.0f;
}

__kernel void permute01(uint A0, uint A1, uint F, __global const float *src, ulong s_off, __global float *dst,
                        ulong d_off)
{
    uint f = get_global_id(0), r = get_global_id(1);
    if (f >= F || r >= A0 * A1)
        return;
    uint i1 = r / A0, i0 = r % A0; /* r indexes dst rows: i1 * A0 + i0 */
    dst[d_off + (ulong)r * F + f] = src[s_off + ((ulong)i0 * A1 + i1) * F + f];
}
