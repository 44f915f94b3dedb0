/* embcl tune's checker (src/cli/tune_check.c, built into the tool, which
 * the tests cannot link: compiled here from its source). */
#include <math.h>

#include "cli/tune_check.c"
#include "test_util.h"

Test(cli, tune_checker_passes_equal_and_close_outputs)
{
    float want[4] = {1.0f, -2.0f, 0.0f, 1e6f}, got[4] = {1.0f, -2.0f, 5e-7f, 1e6f + 5.0f};
    tune_diff d;
    cr_assert(tune_outputs_match(want, want, 4, 1e-5, 1e-6, &d));
    cr_assert_eq(d.max_err, 0.0);
    cr_assert(tune_outputs_match(want, got, 4, 1e-5, 1e-6, &d));
    cr_assert(d.max_err > 0.4 && d.max_err <= 1.0, "%g", d.max_err);
}

Test(cli, tune_checker_rejects_a_wrong_variant_and_says_where)
{
    float want[5] = {1, 2, 3, 4, 5}, got[5] = {1, 2, 3.001f, 4, 6};
    tune_diff d;
    cr_assert_not(tune_outputs_match(want, got, 5, 1e-5, 1e-6, &d));
    cr_assert_eq(d.at, 2);
    cr_assert_float_eq(d.want, 3.0f, 0);
    cr_assert_float_eq(d.got, 3.001f, 0);
    cr_assert_gt(d.max_err, 1e4, "the largest error (element 4), not the first: %g", d.max_err);
}

Test(cli, tune_checker_treats_nan_and_inf_exactly)
{
    float want[3] = {NAN, INFINITY, 1}, same[3] = {NAN, INFINITY, 1}, nan_for_inf[3] = {NAN, NAN, 1},
          inf_for_num[3] = {NAN, INFINITY, INFINITY};
    tune_diff d;
    cr_assert(tune_outputs_match(want, same, 3, 1e-5, 1e-6, &d));
    cr_assert_not(tune_outputs_match(want, nan_for_inf, 3, 1e-5, 1e-6, &d));
    cr_assert_eq(d.at, 1);
    cr_assert_not(tune_outputs_match(want, inf_for_num, 3, 1e-5, 1e-6, &d));
    cr_assert_eq(d.at, 2);
}
