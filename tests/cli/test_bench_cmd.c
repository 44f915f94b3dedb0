/* embcl bench: one JSON line a case, as the bench/ programs print them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "test_util.h"

/* The line of out whose "bench" is name, or NULL. */
static const char *line_of(const char *out, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "{\"bench\": \"%s\"", name);
    return strstr(out, key);
}

Test(cli, bench_quick_prints_every_case_with_times_and_rates)
{
    char *out;
    int rc = cli_run(EMBCL_TOOL_PATH " bench --quick", &out);
    cr_assert_eq(rc, 0, "%s", out);
    static const char *const cases[] = {"copy", "bag_fwd", "bag_bwd", "sparse_step", "train_step"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *l = line_of(out, cases[i]);
        cr_assert_not_null(l, "no '%s' line:\n%s", cases[i], out);
        cr_assert_gt(cli_json_num(l, "embcl_ms"), 0.0, "%s", l);
        cr_assert(strstr(l, "\"case\": \"") && strstr(l, "\"bound_frac\": "), "%s", l);
    }
    cr_assert_gt(cli_json_num(line_of(out, "bag_fwd"), "gbps"), 0.0);
    cr_assert_gt(cli_json_num(line_of(out, "sparse_step"), "gbps"), 0.0);
    cr_assert_gt(cli_json_num(line_of(out, "train_step"), "tokens_per_s"), 0.0);
    cr_assert(strstr(line_of(out, "sparse_step"), "nnz="), "%s", out);
    free(out);
    /* python, where present, is the real JSON check */
    rc = cli_run("command -v python3 >/dev/null || exit 0; " EMBCL_TOOL_PATH
                 " bench --quick --filter bag | python3 -c 'import json,sys; "
                 "r=[json.loads(l) for l in sys.stdin]; assert [x[\"bench\"] for x in r]==[\"bag_fwd\",\"bag_bwd\"], r'",
                 &out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

Test(cli, bench_filter_picks_cases_and_rejects_unknown_ones)
{
    char *out;
    int rc = cli_run(EMBCL_TOOL_PATH " bench --quick --filter sparse", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(line_of(out, "sparse_step"), "%s", out);
    cr_assert_null(line_of(out, "bag_fwd"), "%s", out);
    cr_assert_null(line_of(out, "train_step"), "%s", out);
    free(out);
    rc = cli_run(EMBCL_TOOL_PATH " bench --filter nosuch", &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "'nosuch' matches no case"), "%s", out);
    free(out);
    rc = cli_run(EMBCL_TOOL_PATH " bench --frobnicate", &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "'--frobnicate'") && strstr(out, "usage: embcl bench"), "%s", out);
    free(out);
    rc = cli_run(EMBCL_TOOL_PATH " bench --device nosuch --quick", &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "'nosuch'"), "%s", out);
    free(out);
}
