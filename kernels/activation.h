/* Activations built on exp only. PoCL's tanh() runs scalar (measured: the
 * LSTM cell took 10x longer with it than with exp), while exp vectorises.
 * Accuracy: a few float ulps; below |x| = 0.25 the odd Taylor series (to
 * x^13, truncation < 1e-10 relative) avoids the cancellation in
 * 1 - 2/(e^2x + 1). Branch-free so work-items stay vectorised. */
#ifndef EMBCL_KERNELS_ACTIVATION_H
#define EMBCL_KERNELS_ACTIVATION_H

static inline float embcl_sigmoid(float x)
{
    return 1.0f / (1.0f + exp(-x));
}

static inline float embcl_tanh(float x)
{
    float a = fabs(x);
    float big = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
    float s = x * x;
    float p = 21844.0f / 6081075.0f;
    p = fma(p, s, -1382.0f / 155925.0f);
    p = fma(p, s, 62.0f / 2835.0f);
    p = fma(p, s, -17.0f / 315.0f);
    p = fma(p, s, 2.0f / 15.0f);
    p = fma(p, s, -1.0f / 3.0f);
    float small = fma(a * s, p, a);
    return copysign(a < 0.25f ? small : big, x);
}

#endif
