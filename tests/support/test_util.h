/* Helpers for embcl's Criterion tests. */
#ifndef EMBCL_TEST_UTIL_H
#define EMBCL_TEST_UTIL_H

#include <criterion/criterion.h>
#include <embcl.h>

/* A runtime on the test device: EMBCL_TEST_DEVICE if set, else "cpu" (PoCL).
 * Fails the test, printing embcl's error, if none can be had. */
embcl_runtime_t test_runtime(void);
embcl_runtime_t test_runtime_with(const embcl_runtime_options *opts);
embcl_device_t test_device(embcl_runtime_t rt);

/* Fails the test if tensors made on dev are still held (the test leaked). */
void test_expect_no_tensors(embcl_device_t dev);

/* For a suite whose tests each get a fresh runtime: static `rt` and `dev`,
 * set up by test_device_setup; test_device_teardown checks that the test
 * freed every tensor it made, then frees the runtime. Use as
 *   TEST_DEVICE_FIXTURE
 *   TestSuite(name, .init = test_device_setup, .fini = test_device_teardown); */
#define TEST_DEVICE_FIXTURE                  \
    static embcl_runtime_t rt;               \
    static embcl_device_t dev;               \
    static void test_device_setup(void)      \
    {                                        \
        rt = test_runtime();                 \
        dev = test_device(rt);               \
    }                                        \
    static void test_device_teardown(void)   \
    {                                        \
        test_expect_no_tensors(dev);         \
        embcl_runtime_free(rt);              \
    }

/* Make PoCL show n CPU devices. Call before any OpenCL call in the process. */
void test_pocl_devices(int n);

/* Assert that an embcl call succeeded, printing the last error if not. */
#define TEST_OK(expr)                                                                              \
    do {                                                                                           \
        embcl_status test_ok_s_ = (expr);                                                          \
        cr_assert_eq(test_ok_s_, EMBCL_OK, "%s returned %s: %s", #expr, embcl_status_str(test_ok_s_), \
                     embcl_last_error());                                                          \
    } while (0)

/* Assert that an embcl call failed with `want` and that its message holds
 * every one of the given substrings. */
#define TEST_FAILS(want, expr, ...)                                                                 \
    do {                                                                                            \
        embcl_status test_fail_s_ = (expr);                                                         \
        cr_assert_eq(test_fail_s_, (want), "%s returned %s, expected %s (message: %s)", #expr,       \
                     embcl_status_str(test_fail_s_), embcl_status_str(want), embcl_last_error());   \
        const char *test_fail_parts_[] = {__VA_ARGS__};                                             \
        for (size_t i_ = 0; i_ < sizeof test_fail_parts_ / sizeof test_fail_parts_[0]; i_++)        \
            cr_assert(strstr(embcl_last_error(), test_fail_parts_[i_]) != NULL,                     \
                      "error message lacks '%s': %s", test_fail_parts_[i_], embcl_last_error());     \
    } while (0)

/* A tensor with the given contents (f32), created on dev. */
embcl_tensor_t test_tensor_f32(embcl_device_t dev, int ndim, const int64_t *shape, const float *data);

/* Relative comparison: |a-b| <= rtol*max(|a|,|b|) + atol, reporting the
 * first element that differs. */
void test_assert_close(const float *got, const float *want, size_t n, double rtol, double atol,
                       const char *what);

/* Make an empty temporary directory (under the build tree); returns a
 * malloc'd path the caller frees. */
char *test_tempdir(const char *tag);

#endif
