/* The progress display's rate and ETA (src/cli/progress.c), fed with made-up
 * times: the first step of a run builds the kernels and may take seconds, so
 * tokens/s and the ETA must count only the steps after it. */
#include <math.h>

#include "progress.h"
#include "test_util.h"

#define TOKENS 640

/* A run of `total` steps from `first`, started at t = 100 s. */
static progress start(int64_t first, int64_t total)
{
    progress p;
    progress_start(&p, first, total, TOKENS, 1);
    p.t0 = 100.0;
    return p;
}

Test(progress, first_step_kernel_builds_stay_out_of_rate_and_eta)
{
    progress p = start(0, 100);
    /* step 1 takes 5 s (kernel builds), each later one 0.1 s */
    progress_rate r = progress_observe(&p, 1, 105.0);
    cr_assert_not(r.known, "one step done: no rate yet");
    cr_assert_float_eq(r.elapsed_s, 5.0, 1e-9);
    for (int s = 2; s <= 11; s++)
        r = progress_observe(&p, s, 105.0 + 0.1 * (s - 1));
    cr_assert(r.known);
    /* counting the first step in gave 11 * 640 / 6 = 1173 tok/s and an ETA of 48.5 s */
    cr_assert_float_eq(r.tokens_per_s, TOKENS / 0.1, 1e-6, "%g tok/s", r.tokens_per_s);
    cr_assert_float_eq(r.eta_s, 89 * 0.1, 1e-6, "ETA %g s", r.eta_s);
    cr_assert_float_eq(r.elapsed_s, 6.0, 1e-9, "elapsed counts every step");
}

Test(progress, resumed_run_counts_from_its_own_first_step)
{
    progress p = start(50, 60); /* resumed at step 50 of 60 */
    progress_rate r = progress_observe(&p, 51, 103.0);
    cr_assert_not(r.known);
    r = progress_observe(&p, 52, 103.25);
    r = progress_observe(&p, 53, 103.5);
    cr_assert(r.known);
    cr_assert_float_eq(r.tokens_per_s, TOKENS / 0.25, 1e-6, "%g tok/s", r.tokens_per_s);
    cr_assert_float_eq(r.eta_s, 7 * 0.25, 1e-6, "ETA %g s", r.eta_s);
}

Test(progress, last_step_has_no_time_left)
{
    progress p = start(0, 3);
    progress_observe(&p, 1, 104.0);
    progress_observe(&p, 2, 104.5);
    progress_rate r = progress_observe(&p, 3, 105.0);
    cr_assert(r.known);
    cr_assert_float_eq(r.eta_s, 0.0, 1e-12);
    cr_assert_float_eq(r.tokens_per_s, TOKENS / 0.5, 1e-6);
    cr_assert(isfinite(r.tokens_per_s));
}
