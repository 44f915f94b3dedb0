/* The embcl tool, run as a user would run it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "test_util.h"

Test(cli, devices_lists_pocl_and_marks_selection)
{
    char *out;
    int rc = cli_run("EMBCL_DEVICE=cpu " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "Portable Computing Language"), "%s", out);
    cr_assert(strstr(out, "* 0:0"), "%s", out);
    cr_assert(strstr(out, "selected by EMBCL_DEVICE='cpu'"), "%s", out);
    free(out);
}

Test(cli, devices_json_is_machine_readable)
{
    char *out;
    int rc = cli_run("EMBCL_DEVICE= " EMBCL_TOOL_PATH " devices --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strncmp(out, "{\"selector\": null, \"devices\": [", 30) == 0, "%s", out);
    cr_assert(strstr(out, "\"type\": \"CPU\""), "%s", out);
    cr_assert(strstr(out, "\"selected\": true"), "%s", out);
    free(out);
    /* python, where present, is the real JSON check */
    rc = cli_run("command -v python3 >/dev/null || exit 0; " EMBCL_TOOL_PATH
             " devices --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"devices\"][0][\"compute_units\"] > 0'",
             &out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

Test(cli, unknown_device_selector_fails_naming_value_and_choices)
{
    char *out;
    int rc = cli_run("EMBCL_DEVICE=nosuch " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(out, "'nosuch'"), "%s", out);
    cr_assert(strstr(out, "0:0 '"), "%s", out);
    free(out);
}

Test(cli, usage_errors_exit_2)
{
    char *out;
    cr_assert_eq(cli_run(EMBCL_TOOL_PATH " frobnicate", &out), 2);
    cr_assert(strstr(out, "unknown command 'frobnicate'"), "%s", out);
    free(out);
    cr_assert_eq(cli_run(EMBCL_TOOL_PATH " devices --bogus", &out), 2);
    free(out);
    cr_assert_eq(cli_run(EMBCL_TOOL_PATH " --version", &out), 0);
    cr_assert(strstr(out, EMBCL_VERSION_STRING), "%s", out);
    free(out);
}

/* The class is shown where it differs from the hardware's type, so a run
 * under EMBCL_DEVICE_CLASS=gpu (as CI's GPU-class pass is) says so; each
 * command sets the variable itself, whatever the test runs under. */
Test(cli, devices_shows_the_class_a_device_is_treated_as)
{
    char *out;
    int rc = cli_run("EMBCL_DEVICE_CLASS=gpu EMBCL_DEVICE=cpu " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "type CPU"), "the hardware's type stays: %s", out);
    cr_assert(strstr(out, "treated as GPU (EMBCL_DEVICE_CLASS=gpu)"), "%s", out);
    free(out);

    rc = cli_run("EMBCL_DEVICE_CLASS=gpu " EMBCL_TOOL_PATH " devices --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"type\": \"CPU\", \"device_class\": \"GPU\""), "%s", out);
    free(out);

    rc = cli_run("EMBCL_DEVICE_CLASS=auto " EMBCL_TOOL_PATH " devices --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"type\": \"CPU\", \"device_class\": \"CPU\""), "%s", out);
    free(out);
    rc = cli_run("EMBCL_DEVICE_CLASS= " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_null(strstr(out, "treated as"), "%s", out);
    free(out);

    rc = cli_run("EMBCL_DEVICE_CLASS=gpus " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "EMBCL_DEVICE_CLASS") && strstr(out, "'gpus'"), "%s", out);
    free(out);
}

Test(cli, train_names_the_class_its_device_is_treated_as)
{
    char *out;
    int rc = cli_run("EMBCL_DEVICE_CLASS=gpu EMBCL_DEVICE=cpu " EMBCL_TOOL_PATH
                     " train --sentences 200 --steps 1 --dim 8 --bag-extra 2 --batch 2 --bptt 3 --cls-batch 4 --quiet",
                     &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "(CPU, treated as GPU by EMBCL_DEVICE_CLASS)"), "%s", out);
    free(out);
}
