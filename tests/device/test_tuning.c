/* The tuning database: every value the flat CPU/GPU table had before the
 * database (frozen here), the device -> vendor -> class -> op fallback
 * order, the rows' own consistency, and the override checks (0 where a
 * key can be switched off, named errors elsewhere). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/tuning.h"
#include "test_util.h"

typedef struct kv {
    const char *key;
    long long value;
} kv;

/* The table as it was (src/device/tuning.c before the database). */
static const kv cpu_values[] = {
    {"bandwidth.VW", 8},     {"bandwidth.WGS", 1024},  {"optim.VW", 8},        {"optim.WGS", 1024},
    {"optim_row.WGS", 256},  {"bag_fwd.VW", 8},        {"bag_fwd.CH", 8},      {"bag_fwd.LANES", 1},
    {"bag_fwd.WGS", 256},    {"bag_fwd.PREFETCH", 16}, {"bag_bwd.VW", 8},      {"bag_bwd.CH", 8},
    {"bag_bwd.LANES", 1},    {"bag_bwd.WGS", 256},     {"sort.WGS", 1},        {"sort.RB", 11},
    {"sort.IPT", 4096},      {"pool.HUGE_MIN_MB", 16}, {"gemm.BACKEND", 1},    {"gemm.RM", 6},
    {"gemm.VW", 8},          {"gemm.NV", 2},           {"gemm.WGX", 16},       {"gemm.WGY", 4},
    {"gemm.KC", 512},        {"elementwise.WGS", 1024}, {"loss.WGS", 64},      {"loss.VW", 8},
    {"lstm.WGS", 1024},
};
static const char *const cpu_unset[] = {"optim_row.LANES", "sort.GROUPS", "optim_norm.WGS", "journal.WGS"};
static const kv gpu_values[] = {
    {"bandwidth.VW", 4},   {"bandwidth.WGS", 256}, {"optim.VW", 4},          {"optim.WGS", 256},
    {"optim_row.WGS", 64}, {"optim_row.LANES", 32}, {"bag_fwd.VW", 4},       {"bag_fwd.CH", 1},
    {"bag_fwd.LANES", 32}, {"bag_fwd.WGS", 256},   {"bag_bwd.VW", 4},        {"bag_bwd.CH", 1},
    {"bag_bwd.LANES", 32}, {"bag_bwd.WGS", 256},   {"sort.WGS", 64},         {"sort.RB", 6},
    {"sort.IPT", 16},      {"sort.GROUPS", 2048},  {"gemm.BACKEND", 2},      {"elementwise.WGS", 256},
    {"loss.WGS", 256},     {"loss.VW", 1},         {"lstm.WGS", 256},
};
static const char *const gpu_unset[] = {"bag_fwd.PREFETCH", "pool.HUGE_MIN_MB", "gemm.RM", "gemm.KC",
                                        "optim_norm.WGS", "journal.WGS"};

static embcl_runtime_t runtime_as(const char *cls, const char *tuning)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    o.device_class = cls;
    o.tuning = tuning;
    return test_runtime_with(&o);
}

static void expect_values(embcl_device_t dev, const kv *v, size_t n, const char *const *unset, size_t nu)
{
    for (size_t i = 0; i < n; i++) {
        embcl_tune_value tv;
        TEST_OK(embcl_device_tune_value(dev, v[i].key, &tv));
        cr_assert_eq(tv.source, EMBCL_TUNE_FROM_CLASS, "%s: source %s", v[i].key, embcl_tune_source_name(tv.source));
        cr_assert_eq(tv.value, v[i].value, "%s is %lld, was %lld", v[i].key, tv.value, v[i].value);
        cr_assert_eq(embcl_tune_get(dev, v[i].key, -7), v[i].value, "%s", v[i].key);
    }
    for (size_t i = 0; i < nu; i++) {
        embcl_tune_value tv;
        TEST_OK(embcl_device_tune_value(dev, unset[i], &tv));
        cr_assert_eq(tv.source, EMBCL_TUNE_FROM_OP, "%s has a row now", unset[i]);
        cr_assert_eq(embcl_tune_get(dev, unset[i], -7), -7, "%s: the op's fallback", unset[i]);
    }
}

Test(tuning, cpu_and_gpu_class_defaults_keep_the_old_values)
{
    embcl_runtime_t rt = runtime_as("cpu", NULL);
    expect_values(test_device(rt), cpu_values, sizeof cpu_values / sizeof cpu_values[0], cpu_unset,
                  sizeof cpu_unset / sizeof cpu_unset[0]);
    embcl_runtime_free(rt);
    rt = runtime_as("gpu", NULL);
    expect_values(test_device(rt), gpu_values, sizeof gpu_values / sizeof gpu_values[0], gpu_unset,
                  sizeof gpu_unset / sizeof gpu_unset[0]);
    embcl_runtime_free(rt);
}

Test(tuning, device_row_beats_vendor_row_beats_class_default)
{
    embcl_runtime_t rt = runtime_as("cpu", NULL);
    embcl_device_t dev = test_device(rt);
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(dev, &info));
    /* substrings of this device's own strings, in another case */
    char vendor[8] = {0}, name[8] = {0};
    for (int i = 0; i < 4 && info.vendor[i]; i++)
        vendor[i] = (char)(isupper((unsigned char)info.vendor[i]) ? tolower((unsigned char)info.vendor[i])
                                                                   : toupper((unsigned char)info.vendor[i]));
    memcpy(name, info.name, 4);
    embcl_tune_row rows[] = {
        {EMBCL_DEVICE_CPU, NULL, NULL, {{"A", 1}, {"B", 1}, {"C", 1}}},
        {EMBCL_DEVICE_CPU, vendor, name, {{"A", 3}}},
        {EMBCL_DEVICE_CPU, vendor, NULL, {{"A", 2}, {"B", 2}}},
        {EMBCL_DEVICE_CPU, vendor, "no such device", {{"B", 9}, {"C", 9}}},
        {EMBCL_DEVICE_CPU, "no such vendor", NULL, {{"C", 9}}},
        {EMBCL_DEVICE_GPU, NULL, NULL, {{"D", 9}}},
    };
    embcl_tune_family fam = {"test", "", NULL, 0, rows, sizeof rows / sizeof rows[0]};
    int level;
    const embcl_tune_row *r = embcl_tune_best_row(&fam, "A", dev, &level);
    cr_assert(r == &rows[1] && level == 3, "A: the device row");
    r = embcl_tune_best_row(&fam, "B", dev, &level);
    cr_assert(r == &rows[2] && level == 2, "B: the vendor row");
    r = embcl_tune_best_row(&fam, "C", dev, &level);
    cr_assert(r == &rows[0] && level == 1, "C: the class default");
    r = embcl_tune_best_row(&fam, "D", dev, &level);
    cr_assert(r == NULL && level == 0, "D: a GPU row does not apply to a CPU");
    embcl_runtime_free(rt);
}

Test(tuning, every_row_names_known_keys_with_valid_values)
{
    for (size_t f = 0; f < embcl_tune_n_families; f++) {
        const embcl_tune_family *F = embcl_tune_families[f];
        for (size_t i = 0; i < F->n_rows; i++)
            for (size_t j = 0; j < EMBCL_TUNE_ROW_MAX && F->rows[i].values[j].key; j++) {
                char spec[128];
                snprintf(spec, sizeof spec, "%s.%s=%lld", F->name, F->rows[i].values[j].key,
                         F->rows[i].values[j].value);
                TEST_OK(embcl_tune_check(spec));
            }
        for (size_t k = 0; k < F->n_keys; k++)
            for (int g = 0; g < F->keys[k].grid.n; g++) {
                char spec[128];
                snprintf(spec, sizeof spec, "%s.%s=%lld", F->name, F->keys[k].name, F->keys[k].grid.v[g]);
                TEST_OK(embcl_tune_check(spec));
            }
    }
    size_t n = embcl_tune_param_count();
    cr_assert_gt(n, 30);
    embcl_tune_param p;
    TEST_OK(embcl_tune_param_get(0, &p));
    cr_assert_str_eq(p.family, "bag_fwd");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_tune_param_get(n, &p), "embcl_tune_param_get", "'i'");
}

Test(tuning, zero_switches_off_keys_that_allow_it)
{
    embcl_runtime_t rt = runtime_as("cpu", "bag_fwd.PREFETCH=0,pool.HUGE_MIN_MB=0");
    embcl_device_t dev = test_device(rt);
    embcl_tune_value tv;
    TEST_OK(embcl_device_tune_value(dev, "bag_fwd.PREFETCH", &tv));
    cr_assert(tv.source == EMBCL_TUNE_FROM_OVERRIDE && tv.value == 0);
    TEST_OK(embcl_device_tune_value(dev, "pool.HUGE_MIN_MB", &tv));
    cr_assert(tv.source == EMBCL_TUNE_FROM_OVERRIDE && tv.value == 0);
    cr_assert_eq(embcl_tune_get(dev, "pool.HUGE_MIN_MB", 5), 0);
    /* the ops still run with the key off */
    int64_t shape[2] = {64, 16};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &t));
    TEST_OK(embcl_tensor_fill(t, 1.0));
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
}

Test(tuning, meaningless_values_are_named)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    embcl_runtime_t rt = NULL;
    o.tuning = "bag_fwd.VW=8,bag_fwd.WGS=0";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "embcl_runtime_create", "'bag_fwd.WGS=0'",
               "bag_fwd.WGS is 0", "[1, 8192]");
    cr_assert_null(rt);
    o.tuning = "optim.VW=3";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'optim.VW=3'", "one of 1, 2, 4, 8, 16");
    o.tuning = "sort.RB=0";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "sort.RB is 0");
    o.tuning = "bag_fwd.PREFETCH=-1";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'bag_fwd.PREFETCH=-1'", "'-1' is negative");
    o.tuning = "bag_fwd.vw=8";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "family 'bag_fwd' has no key 'vw'", "VW, CH");
    o.tuning = "VW=8";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'VW' is not a tuning key", "family.KEY");
    o.tuning = "bag.VW=8";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'bag.VW' is not a tuning key", "bag_fwd");
    cr_assert_null(rt);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_tune_check("gemm.BACKEND=3"), "embcl_tune_check", "gemm.BACKEND is 3");
    TEST_OK(embcl_tune_check("gemm.BACKEND=2,bag_bwd.LANES=32,"));
    /* EMBCL_TUNE gets the same checks */
    setenv("EMBCL_TUNE", "loss.WGS=0", 1);
    o.tuning = NULL;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'loss.WGS=0'");
    unsetenv("EMBCL_TUNE");
}

Test(tuning, later_override_of_a_key_wins)
{
    embcl_runtime_t rt = runtime_as("cpu", "bag_fwd.VW=2,bag_fwd.VW=16");
    cr_assert_eq(embcl_tune_get(test_device(rt), "bag_fwd.VW", 0), 16);
    embcl_runtime_free(rt);
}

Test(tuning, unknown_key_has_no_value)
{
    embcl_runtime_t rt = runtime_as("cpu", NULL);
    embcl_tune_value tv;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_tune_value(test_device(rt), "bag_fwd.NOPE", &tv),
               "embcl_device_tune_value", "'bag_fwd.NOPE'");
    embcl_runtime_free(rt);
}
