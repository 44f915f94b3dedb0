/* embcl tune: --show lists what the device takes from the tuning database
 * and from EMBCL_TUNE; a quick sweep of bag_fwd on PoCL checks every
 * variant, rejects a wrong one, and prints rows that parse back as
 * EMBCL_TUNE overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "test_util.h"

#define TOOL "EMBCL_DEVICE=cpu EMBCL_TUNE= EMBCL_DEVICE_CLASS= " EMBCL_TOOL_PATH

/* The JSON line of out holding `needle`, copied (NULL if none). */
static char *line_with(const char *out, const char *needle)
{
    const char *at = strstr(out, needle);
    if (!at)
        return NULL;
    const char *s = at, *e = strchr(at, '\n');
    while (s > out && s[-1] != '\n')
        s--;
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *l = malloc(n + 1);
    memcpy(l, s, n);
    l[n] = '\0';
    return l;
}

static void expect_line(const char *out, const char *needle, const char *part)
{
    char *l = line_with(out, needle);
    cr_assert_not_null(l, "no line with '%s':\n%s", needle, out);
    cr_assert(strstr(l, part), "line lacks '%s': %s", part, l);
    free(l);
}

Test(cli, tune_show_lists_every_key_with_value_and_source)
{
    char *out;
    int rc = cli_run(TOOL " tune --show", &out);
    cr_assert_eq(rc, 0, "%s", out);
    static const char *const keys[] = {"bag_fwd.VW", "bag_bwd.LANES", "optim_row.WGS", "sort.RB", "gemm.KC",
                                       "pool.HUGE_MIN_MB", "loss.VW", "journal.WGS"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(strstr(out, keys[i]), "no %s:\n%s", keys[i], out);
    free(out);

    rc = cli_run(TOOL " tune --show bag_fwd --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    expect_line(out, "\"key\": \"bag_fwd.PREFETCH\"", "\"value\": 16, \"source\": \"class\"");
    cr_assert_null(strstr(out, "bag_bwd"), "--show FAMILY shows only that family:\n%s", out);
    free(out);

    /* 0 switches a key off; the listing says the override set it */
    rc = cli_run("EMBCL_TUNE=bag_fwd.PREFETCH=0,pool.HUGE_MIN_MB=0 EMBCL_DEVICE=cpu " EMBCL_TOOL_PATH
                 " tune --show --json",
                 &out);
    cr_assert_eq(rc, 0, "%s", out);
    expect_line(out, "\"key\": \"bag_fwd.PREFETCH\"", "\"value\": 0, \"source\": \"override\"");
    expect_line(out, "\"key\": \"pool.HUGE_MIN_MB\"", "\"value\": 0, \"source\": \"override\"");
    free(out);

    /* a CPU taking the GPU paths takes the GPU rows */
    rc = cli_run("EMBCL_DEVICE_CLASS=gpu EMBCL_DEVICE=cpu EMBCL_TUNE= " EMBCL_TOOL_PATH " tune --show --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    expect_line(out, "\"key\": \"bag_fwd.LANES\"", "\"value\": 32, \"source\": \"class\"");
    expect_line(out, "\"key\": \"sort.GROUPS\"", "\"value\": 2048");
    expect_line(out, "\"key\": \"bag_fwd.PREFETCH\"", "\"value\": null, \"source\": \"op\"");
    free(out);
}

Test(cli, tune_rejects_bad_overrides_families_and_keys)
{
    char *out;
    int rc = cli_run("EMBCL_TUNE=bag_fwd.WGS=0 EMBCL_DEVICE=cpu " EMBCL_TOOL_PATH " tune --show", &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "embcl_runtime_create") && strstr(out, "'bag_fwd.WGS=0'") && strstr(out, "[1, 8192]"),
              "%s", out);
    free(out);
    rc = cli_run(TOOL " tune nosuch --quick", &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "no sweep for family 'nosuch'") && strstr(out, "bag_fwd"), "%s", out);
    free(out);
    rc = cli_run(TOOL " tune bag_fwd --quick --keys VW,NOPE", &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "'NOPE' is not a swept key of bag_fwd"), "%s", out);
    free(out);
    rc = cli_run(TOOL " tune bag_fwd --fault bag_fwd.VW=3", &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "--fault") && strstr(out, "bag_fwd.VW is 3"), "%s", out);
    free(out);
    rc = cli_run(TOOL " tune", &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "usage: embcl tune"), "%s", out);
    free(out);
}

/* One quick sweep (about 10 variants, the same ones every run, so their
 * kernels are cached for the next): every variant checked, the one --fault corrupts rejected and not
 * chosen, the best printed as a row and as an override that parses. */
Test(cli, tune_bag_fwd_quick_checks_variants_and_prints_rows)
{
    char *out;
    int rc = cli_run(TOOL " tune bag_fwd --quick --fault bag_fwd.VW=4", &out);
    cr_assert_eq(rc, 0, "%s", out);
    int ok = 0, rejected = 0;
    for (const char *p = out; (p = strstr(p, "{\"tune\": \"bag_fwd\", \"device\"")) != NULL; p++) {
        char *l = line_with(p, "\"variant\"");
        cr_assert_not_null(l);
        int is_vw4 = strstr(l, "bag_fwd.VW=4,") != NULL;
        if (strstr(l, "\"status\": \"ok\"")) {
            ok++;
            cr_assert(!is_vw4, "the corrupted variant passed: %s", l);
            cr_assert(strstr(l, "\"ms\": ") && strstr(l, "\"max_err\": "), "%s", l);
        } else {
            cr_assert(strstr(l, "\"status\": \"rejected\"") && is_vw4, "%s", l);
            cr_assert(strstr(l, "the reference's"), "%s", l);
            rejected++;
        }
        free(l);
    }
    cr_assert_geq(ok, 6, "%s", out);
    cr_assert_eq(rejected, 1, "%s", out);
    expect_line(out, "\"best\": ", "\"rejected\": 1");
    cr_assert_null(strstr(line_with(out, "\"best\": "), "VW=4,"), "%s", out);
    expect_line(out, "{EMBCL_DEVICE_CPU, \"", "{\"VW\", ");
    const char *at = strstr(out, "\nEMBCL_TUNE=");
    cr_assert_not_null(at, "%s", out);
    char *tune = line_with(at + 1, "EMBCL_TUNE=");
    cr_assert(strncmp(tune, "EMBCL_TUNE=bag_fwd.VW=", 22) == 0, "%s", tune);
    TEST_OK(embcl_tune_check(tune + strlen("EMBCL_TUNE=")));
    free(out);
    /* and the tool takes it back */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "EMBCL_DEVICE=cpu %s " EMBCL_TOOL_PATH " tune --show bag_fwd --json", tune);
    rc = cli_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", out);
    expect_line(out, "\"key\": \"bag_fwd.VW\"", "\"source\": \"override\"");
    free(out);
    free(tune);
}
