#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

embcl_runtime_t test_runtime_with(const embcl_runtime_options *opts)
{
    embcl_runtime_options o = opts ? *opts : embcl_runtime_options_default();
    if (!o.device) {
        const char *d = getenv("EMBCL_TEST_DEVICE");
        o.device = d && *d ? d : "cpu";
    }
    embcl_runtime_t rt = NULL;
    embcl_status s = embcl_runtime_create(&o, &rt);
    cr_assert_eq(s, EMBCL_OK, "embcl_runtime_create: %s: %s", embcl_status_str(s), embcl_last_error());
    return rt;
}

embcl_runtime_t test_runtime(void)
{
    return test_runtime_with(NULL);
}

embcl_device_t test_device(embcl_runtime_t rt)
{
    embcl_device_t dev = NULL;
    TEST_OK(embcl_runtime_device(rt, 0, &dev));
    return dev;
}

void test_expect_no_tensors(embcl_device_t dev)
{
    embcl_pool_stats st;
    TEST_OK(embcl_device_pool_stats(dev, &st));
    cr_expect_eq(st.bytes_in_use, 0, "a test leaked %llu bytes of tensors", (unsigned long long)st.bytes_in_use);
}

void test_pocl_devices(int n)
{
    char v[128] = "";
    for (int i = 0; i < n && i < 8; i++)
        strcat(v, i ? " pthread" : "pthread");
    setenv("POCL_DEVICES", v, 1);
}

embcl_tensor_t test_tensor_f32(embcl_device_t dev, int ndim, const int64_t *shape, const float *data)
{
    embcl_tensor_t t = NULL;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, ndim, shape, &t));
    if (data)
        TEST_OK(embcl_tensor_upload(t, data, (size_t)embcl_tensor_numel(t) * sizeof(float)));
    return t;
}

void test_assert_close(const float *got, const float *want, size_t n, double rtol, double atol,
                       const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        double tol = rtol * fmax(fabs(a), fabs(b)) + atol;
        if (isnan(a) != isnan(b) || fabs(a - b) > tol)
            cr_assert_fail("%s: element %zu is %.9g, expected %.9g (rtol %g, atol %g)", what, i, a, b, rtol, atol);
    }
}

char *test_tempdir(const char *tag)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/test-tmp", EMBCL_BINARY_DIR);
    mkdir(tmpl, 0755); /* may exist already */
    snprintf(tmpl + strlen(tmpl), sizeof tmpl - strlen(tmpl), "/%s-XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    cr_assert_not_null(d, "mkdtemp %s failed", tmpl);
    return strdup(d);
}

