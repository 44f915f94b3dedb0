/* Helpers for the graph tests: plain-C references for the maths of the
 * graph's nodes (double precision), inputs, and reading gradients. */
#ifndef EMBCL_TEST_GRAPH_HOST_H
#define EMBCL_TEST_GRAPH_HOST_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* y[r, o] = sum_i x[r, i] w[o, i * ws...] with w row stride ldw, + b[o] (b may be NULL). */
static inline void host_linear(const float *x, int rows, int in, const float *w, int ldw, const float *b, int out,
                               double *y)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++)
                s += (double)x[r * in + i] * w[o * ldw + i];
            y[r * out + o] = s;
        }
}

/* gw[o, i (stride ldw)] += sum_r gy[r, o] x[r, i]; gx[r, i] += sum_o gy[r, o] w[o, i]; gb[o] += sum_r gy[r, o] */
static inline void host_linear_back(const float *x, int rows, int in, const float *w, int ldw, int out,
                                    const double *gy, double *gx, double *gw, double *gb)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double d = gy[r * out + o];
            if (gb)
                gb[o] += d;
            for (int i = 0; i < in; i++) {
                if (gw)
                    gw[o * ldw + i] += d * x[r * in + i];
                if (gx)
                    gx[r * in + i] += d * w[o * ldw + i];
            }
        }
}

static inline void host_fill(float *p, size_t n, uint32_t seed, float scale)
{
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = scale * ((float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f);
    }
}

static inline void to_float(const double *a, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (float)a[i];
}

#ifdef EMBCL_GRAPH_H
/* The gradient of parameter p after the last step, into host (n floats). */
static inline void grad_of(embcl_graph_t g, embcl_value p, float *host, size_t n)
{
    embcl_tensor_t t = NULL;
    TEST_OK(embcl_graph_grad(g, p, &t));
    cr_assert_not_null(t, "no gradient for value %d", (int)p);
    TEST_OK(embcl_tensor_download(t, host, n * sizeof(float)));
    embcl_tensor_free(t);
}
#endif

#endif
