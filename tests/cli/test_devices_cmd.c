/* The embcl tool, run as a user would run it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test_util.h"

/* Runs `cmd` through the shell; returns its exit status and its output
 * (stdout and stderr) in a malloc'd string. */
static int run(const char *cmd, char **out)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    cr_assert_not_null(p);
    size_t n = 0, cap = 65536;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cli, devices_lists_pocl_and_marks_selection)
{
    char *out;
    int rc = run("EMBCL_DEVICE=cpu " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "Portable Computing Language"), "%s", out);
    cr_assert(strstr(out, "* 0:0"), "%s", out);
    cr_assert(strstr(out, "selected by EMBCL_DEVICE='cpu'"), "%s", out);
    free(out);
}

Test(cli, devices_json_is_machine_readable)
{
    char *out;
    int rc = run("EMBCL_DEVICE= " EMBCL_TOOL_PATH " devices --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strncmp(out, "{\"selector\": null, \"devices\": [", 30) == 0, "%s", out);
    cr_assert(strstr(out, "\"type\": \"CPU\""), "%s", out);
    cr_assert(strstr(out, "\"selected\": true"), "%s", out);
    free(out);
    /* python, where present, is the real JSON check */
    rc = run("command -v python3 >/dev/null || exit 0; " EMBCL_TOOL_PATH
             " devices --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"devices\"][0][\"compute_units\"] > 0'",
             &out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

Test(cli, unknown_device_selector_fails_naming_value_and_choices)
{
    char *out;
    int rc = run("EMBCL_DEVICE=nosuch " EMBCL_TOOL_PATH " devices", &out);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(out, "'nosuch'"), "%s", out);
    cr_assert(strstr(out, "0:0 '"), "%s", out);
    free(out);
}

Test(cli, usage_errors_exit_2)
{
    char *out;
    cr_assert_eq(run(EMBCL_TOOL_PATH " frobnicate", &out), 2);
    cr_assert(strstr(out, "unknown command 'frobnicate'"), "%s", out);
    free(out);
    cr_assert_eq(run(EMBCL_TOOL_PATH " devices --bogus", &out), 2);
    free(out);
    cr_assert_eq(run(EMBCL_TOOL_PATH " --version", &out), 0);
    cr_assert(strstr(out, EMBCL_VERSION_STRING), "%s", out);
    free(out);
}
