/* A variant is only as good as its results: embcl tune rejects one whose
 * output leaves the reference's tolerance, however fast it is. */
#include <math.h>

#include "tune_check.h"

int tune_outputs_match(const float *want, const float *got, size_t n, double rtol, double atol, tune_diff *d)
{
    int ok = 1;
    d->at = 0;
    d->want = d->got = 0;
    d->max_err = 0;
    for (size_t i = 0; i < n; i++) {
        double w = want[i], g = got[i], err;
        if (isnan(w) || isinf(w) || isnan(g) || isinf(g))
            err = (isnan(w) && isnan(g)) || w == g ? 0.0 : INFINITY;
        else
            err = fabs(g - w) / (rtol * fabs(w) + atol);
        if (err > d->max_err)
            d->max_err = err;
        if (err > 1.0 && ok) {
            ok = 0;
            d->at = i;
            d->want = want[i];
            d->got = got[i];
        }
    }
    return ok;
}
