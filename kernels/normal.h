/* N(0, 1) samples that are the same bits on every OpenCL device and on the
 * host: compiled both as OpenCL C (kernels/embedding.cl) and as C
 * (src/ops/embedding_init.c).
 *
 * Philox4x32-10 (a counter-based generator: output = f(key, counter), no
 * state) gives 4 x 32 random bits per counter; Box-Muller turns two into two
 * normals. log, sqrt, sin and cos are written here with integer bit
 * manipulation, + and * only (each correctly rounded in IEEE and in OpenCL,
 * which allows several ulps of error for its own log/sqrt/sin/cos and for
 * division), with contraction into fma turned off, so no library or device
 * difference can change a bit. Accuracy is ~1e-7 relative, far below what
 * matters for initial weights. */
#ifndef EMBCL_KERNELS_NORMAL_H
#define EMBCL_KERNELS_NORMAL_H

#ifdef __OPENCL_C_VERSION__
#pragma OPENCL FP_CONTRACT OFF
#define NRM_U32 uint
#define NRM_U64 ulong
#define NRM_FN static inline
static inline float nrm_as_float(uint u) { return as_float(u); }
static inline uint nrm_as_uint(float f) { return as_uint(f); }
#else
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdint.h>
#include <string.h>
#define NRM_U32 uint32_t
#define NRM_U64 uint64_t
#define NRM_FN static inline
static inline float nrm_as_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t nrm_as_uint(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
#endif

/* Philox4x32-10 of counter (c0, c1, 0, 0) under key (k0, k1). */
NRM_FN void nrm_philox(NRM_U32 c0, NRM_U32 c1, NRM_U32 k0, NRM_U32 k1, NRM_U32 out[4])
{
    NRM_U32 c2 = 0, c3 = 0;
    for (int i = 0; i < 10; i++) {
        NRM_U64 p0 = (NRM_U64)0xD2511F53u * c0, p1 = (NRM_U64)0xCD9E8D57u * c2;
        NRM_U32 hi0 = (NRM_U32)(p0 >> 32), lo0 = (NRM_U32)p0;
        NRM_U32 hi1 = (NRM_U32)(p1 >> 32), lo1 = (NRM_U32)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* ln(u) for u in (0, 1]: u = m * 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln u = e ln 2 + log1p(m - 1), the series to 20 terms (|m - 1| < 0.415:
 * truncation below 1e-9). */
NRM_FN float nrm_log(float u)
{
    NRM_U32 bits = nrm_as_uint(u);
    int e = (int)(bits >> 23) - 127;
    float m = nrm_as_float((bits & 0x7fffffu) | 0x3f800000u);
    if (m > 1.41421353816986083984375f) {
        m = m * 0.5f;
        e += 1;
    }
    float f = m - 1.0f;
    const float c[20] = {1.0f, -0.5f, 0.3333333432674408f, -0.25f, 0.20000000298023224f, -0.1666666716337204f,
                         0.1428571492433548f, -0.125f, 0.1111111119389534f, -0.10000000149011612f,
                         0.09090909361839294f, -0.0833333358168602f, 0.07692307978868484f, -0.0714285746216774f,
                         0.06666667014360428f, -0.0625f, 0.05882352963089943f, -0.0555555559694767f,
                         0.05263157933950424f, -0.05000000074505806f};
    float p = c[19];
    for (int k = 18; k >= 0; k--)
        p = p * f + c[k];
    return (float)e * 0.693147182464599609375f + p * f;
}

/* sqrt(x) for x >= 0 from Newton steps on 1/sqrt(x). */
NRM_FN float nrm_sqrt(float x)
{
    float y = nrm_as_float(0x5f3759dfu - (nrm_as_uint(x) >> 1));
    for (int i = 0; i < 4; i++)
        y = y * (1.5f - 0.5f * x * y * y);
    return x * y;
}

/* cos and sin of 2 pi k / 2^24 for k < 2^24: the top two bits pick the
 * quadrant, the rest is an angle in [0, pi/2) for the series. */
NRM_FN void nrm_sincos_turn(NRM_U32 k, float *cs, float *sn)
{
    NRM_U32 q = k >> 22;
    float x = (float)(k & 0x3fffffu) * (1.0f / 4194304.0f) * 1.57079637050628662109375f;
    float x2 = x * x;
    const float sc[7] = {1.0f, -0.1666666716337204f, 0.008333333767950535f, -0.00019841270113829523f,
                         2.7557318844628753e-06f, -2.5052107943679403e-08f, 1.6059044372074283e-10f};
    const float cc[8] = {1.0f, -0.5f, 0.0416666679084301f, -0.0013888889225199819f, 2.4801587642286904e-05f,
                         -2.755731998149713e-07f, 2.0876755879584152e-09f, -1.147074536050896e-11f};
    float s = sc[6], c = cc[7];
    for (int j = 5; j >= 0; j--)
        s = s * x2 + sc[j];
    for (int j = 6; j >= 0; j--)
        c = c * x2 + cc[j];
    s = s * x;
    float rc = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
    float rs = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
    *cs = rc;
    *sn = rs;
}

/* The normal sample for element e (of a table read row-major) under seed:
 * Philox of counter e / 4 gives four words, words (0, 1) and (2, 3) make
 * two Box-Muller pairs, element e takes number e % 4. */
NRM_FN float nrm_normal(NRM_U64 seed, NRM_U64 e)
{
    NRM_U64 ctr = e >> 2;
    NRM_U32 w[4];
    nrm_philox((NRM_U32)ctr, (NRM_U32)(ctr >> 32), (NRM_U32)seed, (NRM_U32)(seed >> 32), w);
    int j = (int)(e & 3);
    NRM_U32 a = w[j & 2], b = w[(j & 2) + 1];
    float u1 = (float)((a >> 8) + 1u) * (1.0f / 16777216.0f); /* (0, 1] */
    float r = nrm_sqrt(-2.0f * nrm_log(u1));
    float cs, sn;
    nrm_sincos_turn(b >> 8, &cs, &sn);
    return (j & 1) ? r * sn : r * cs;
}

#endif
