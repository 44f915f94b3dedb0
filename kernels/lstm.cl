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
 *           the sequence's end. dG is written twice: [D][T*B][4H] for the
 *           products with W_hh and W_ih, and transposed, [D][4H][T*B], so
 *           the weight gradients dG^T x are plain GEMMs (no transpose of a
 *           T*B-long operand).
 * permute01 [A0][A1][F] -> [A1][A0][F] (batch-first <-> time-major).
 * No tunables. */
#include "common.h"
#include "activation.h"

/* The host launches exactly (H, B, D) work-items: no bounds check, so
 * PoCL can vectorise the whole body across work-items. */
#define STEP_IDS                                                      \
    uint j = get_global_id(0), b = get_global_id(1), d = get_global_id(2); \
    uint t = d ? T - 1 - s : s;                                       \
    uint jin = d ? t + 1 : t, jout = d ? t : t + 1;                   \
    ulong G = 4 * (ulong)H;                                           \
    ulong grow = ((ulong)d * T * B + (ulong)t * B + b) * G;           \
    ulong sin = (((ulong)d * (T + 1) + jin) * B + b) * H + j;         \
    ulong sout = (((ulong)d * (T + 1) + jout) * B + b) * H + j;       \
    int active = (int)t < len[b];


__kernel void cell_fwd(uint s, uint T, uint B, uint H, __global const int *len, __global float *gates,
                       __global const float *b_ih, __global const float *b_hh, int has_bias, __global float *P,
                       __global float *C, __global float *out, ulong out_off, ulong out_ld)
{
    STEP_IDS
    __global float *out_p = out + out_off + ((ulong)t * B + b) * out_ld + (ulong)d * H + j;
    /* computed for every position, kept only where the sequence is active:
     * branch-free, and the gate rows exist for every (t, b) */
    __global float *g = gates + grow + j;
    float zi = g[0], zf = g[H], zg = g[2 * H], zo = g[3 * H];
    if (has_bias) {
        ulong bo = (ulong)d * G + j;
        zi += b_ih[bo] + b_hh[bo];
        zf += b_ih[bo + H] + b_hh[bo + H];
        zg += b_ih[bo + 2 * H] + b_hh[bo + 2 * H];
        zo += b_ih[bo + 3 * H] + b_hh[bo + 3 * H];
    }
    float i = embcl_sigmoid(zi), f = embcl_sigmoid(zf), gg = embcl_tanh(zg), o = embcl_sigmoid(zo);
    float cp = C[sin], hp = P[sin];
    float c = f * cp + i * gg;
    float h = o * embcl_tanh(c);
    g[0] = i;
    g[H] = f;
    g[2 * H] = gg;
    g[3 * H] = o;
    C[sout] = active ? c : cp;
    P[sout] = active ? h : hp;
    *out_p = active ? h : 0.0f;
}

/* dh, dc: [D][B][H] carried gradients; dout: the layer output's gradient
 * ([T*B] rows, direction d at columns d*H); dG: [D][T*B][4H]. */
__kernel void cell_bwd(uint s, uint T, uint B, uint H, __global const int *len, __global const float *gates,
                       __global const float *C, __global const float *dout, ulong dout_off, ulong dout_ld,
                       __global float *dh, __global float *dc, __global float *dG, __global float *dGT)
{
    STEP_IDS
    ulong k = ((ulong)d * B + b) * H + j;
    __global float *dg = dG + grow + j;
    float dhc = dh[k], dcc = dc[k];
    float dht = dhc + dout[dout_off + ((ulong)t * B + b) * dout_ld + (ulong)d * H + j];
    const __global float *g = gates + grow + j;
    float i = g[0], f = g[H], gg = g[2 * H], o = g[3 * H];
    float c = C[sout], tc = embcl_tanh(c);
    float dct = dcc + dht * o * (1.0f - tc * tc);
    float m = active ? 1.0f : 0.0f;
    float gi = m * (dct * gg * i * (1.0f - i));
    float gf = m * (dct * C[sin] * f * (1.0f - f));
    float gc = m * (dct * i * (1.0f - gg * gg));
    float go = m * (dht * tc * o * (1.0f - o));
    dg[0] = gi;
    dg[H] = gf;
    dg[2 * H] = gc;
    dg[3 * H] = go;
    ulong TB = (ulong)T * B;
    __global float *dgt = dGT + (ulong)d * G * TB + (ulong)j * TB + (ulong)t * B + b;
    dgt[0] = gi;
    dgt[H * TB] = gf;
    dgt[2 * H * TB] = gc;
    dgt[3 * H * TB] = go;
    /* past the sequence's end dh and dc pass through unchanged */
    dc[k] = active ? dct * f : dcc;
    dh[k] = active ? 0.0f : dhc;
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
