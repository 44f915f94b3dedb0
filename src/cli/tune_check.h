/* embcl tune: whether a variant's output matches the reference's. */
#ifndef EMBCL_CLI_TUNE_CHECK_H
#define EMBCL_CLI_TUNE_CHECK_H

#include <stddef.h>

/* The first element outside tolerance, and the largest error seen. */
typedef struct tune_diff {
    size_t at;         /* index of the first bad element (when not ok) */
    float want, got;
    double max_err;    /* largest |got - want| / (rtol * |want| + atol) over all elements */
} tune_diff;

/* 1 if every |got[i] - want[i]| <= rtol * |want[i]| + atol (NaN or an
 * infinity only where the reference has the same), else 0; *d says where
 * and by how much. */
int tune_outputs_match(const float *want, const float *got, size_t n, double rtol, double atol, tune_diff *d);

#endif
