/* Every OpenCL call the foundation makes, failed in turn: each failure is a
 * named error, nothing is half-written, nothing leaks (the sanitizer build
 * runs this too), and the next call works. */
#include <string.h>

#include "faultcl.h"
#include "test_util.h"

static int names_cl_call(const char *msg)
{
    return strstr(msg, ": cl") != NULL || strstr(msg, " cl") != NULL;
}

Test(fault, runtime_creation_fails_cleanly_at_every_call)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    o.disk_cache = 0;
    embcl_runtime_t rt;
    faultcl_arm(0, CL_SUCCESS);
    TEST_OK(embcl_runtime_create(&o, &rt));
    long n = faultcl_calls();
    embcl_runtime_free(rt);
    cr_assert_gt(n, 5);
    for (long i = 1; i <= n; i++) {
        faultcl_arm(i, CL_OUT_OF_HOST_MEMORY);
        rt = NULL;
        embcl_status s = embcl_runtime_create(&o, &rt);
        faultcl_disarm();
        cr_assert(faultcl_fired(), "call %ld of %ld never happened", i, n);
        cr_assert_eq(s, (embcl_status)CL_OUT_OF_HOST_MEMORY, "failing call %ld (%s) gave %s: %s", i,
                     faultcl_fired_in(), embcl_status_str(s), embcl_last_error());
        cr_assert_null(rt);
        cr_assert(strstr(embcl_last_error(), "embcl_runtime_create") && names_cl_call(embcl_last_error()) &&
                      strstr(embcl_last_error(), "CL_OUT_OF_HOST_MEMORY"),
                  "call %ld (%s): message '%s'", i, faultcl_fired_in(), embcl_last_error());
        cr_assert(strstr(embcl_last_error(), faultcl_fired_in()), "message does not name %s: %s",
                  faultcl_fired_in(), embcl_last_error());
    }
}

/* Runs op(t) with each of its OpenCL calls failing in turn; after each
 * failure the tensor still holds `before`, and the op then succeeds. */
typedef embcl_status (*tensor_op)(embcl_tensor_t dst, embcl_tensor_t src);

static embcl_status op_fill(embcl_tensor_t dst, embcl_tensor_t src)
{
    (void)src;
    return embcl_tensor_fill(dst, 9.0);
}

static embcl_status op_copy(embcl_tensor_t dst, embcl_tensor_t src)
{
    return embcl_tensor_copy(dst, src);
}

static void each_call_fails_cleanly(tensor_op op, const char *what)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.disk_cache = 0;
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_device_t dev = test_device(rt);
    int64_t shape[2] = {16, 24};
    float before[16 * 24], src_data[16 * 24], got[16 * 24];
    for (int i = 0; i < 16 * 24; i++) {
        before[i] = (float)i;
        src_data[i] = -(float)i;
    }
    embcl_tensor_t table = test_tensor_f32(dev, 2, shape, before), src = test_tensor_f32(dev, 2, shape, src_data);
    embcl_tensor_t dst, view_src;
    TEST_OK(embcl_tensor_view_cols(table, 4, 20, &dst)); /* strided: the rect paths */
    TEST_OK(embcl_tensor_view_cols(src, 0, 16, &view_src));
    /* count the op's calls on a warm runtime (kernels built) */
    TEST_OK(op(dst, view_src));
    TEST_OK(embcl_tensor_upload(table, before, sizeof before));
    faultcl_arm(0, CL_SUCCESS);
    TEST_OK(op(dst, view_src));
    long n = faultcl_calls();
    faultcl_disarm();
    TEST_OK(embcl_tensor_upload(table, before, sizeof before));
    cr_assert_gt(n, 0);
    for (long i = 1; i <= n; i++) {
        faultcl_arm(i, CL_OUT_OF_RESOURCES);
        embcl_status s = op(dst, view_src);
        faultcl_disarm();
        cr_assert_eq(s, (embcl_status)CL_OUT_OF_RESOURCES, "%s: call %ld (%s) gave %s: %s", what, i,
                     faultcl_fired_in(), embcl_status_str(s), embcl_last_error());
        cr_assert(strstr(embcl_last_error(), faultcl_fired_in()), "%s: '%s' not named in '%s'", what,
                  faultcl_fired_in(), embcl_last_error());
        /* the only call that writes is the last: earlier failures leave the table as it was */
        if (i < n) {
            TEST_OK(embcl_tensor_download(table, got, sizeof got));
            cr_assert(memcmp(got, before, sizeof got) == 0, "%s: failing call %ld (%s) changed the table", what, i,
                      faultcl_fired_in());
        }
        TEST_OK(embcl_tensor_upload(table, before, sizeof before));
    }
    TEST_OK(op(dst, view_src));
    embcl_tensor_free(dst);
    embcl_tensor_free(view_src);
    embcl_tensor_free(table);
    embcl_tensor_free(src);
    embcl_runtime_free(rt);
}

Test(fault, fill_fails_cleanly_at_every_call)
{
    each_call_fails_cleanly(op_fill, "fill");
}

Test(fault, copy_fails_cleanly_at_every_call)
{
    each_call_fails_cleanly(op_copy, "copy");
}

Test(fault, failed_build_is_not_cached_and_retries)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.disk_cache = 0;
    embcl_runtime_t rt = test_runtime_with(&o);
    int64_t shape[1] = {8};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(test_device(rt), EMBCL_F32, 1, shape, &t));
    for (long i = 1;; i++) {
        faultcl_arm(i, CL_OUT_OF_RESOURCES);
        embcl_status s = embcl_tensor_fill(t, 1.0);
        faultcl_disarm();
        if (!faultcl_fired()) {
            TEST_OK(s); /* every call has been failed once; now it works */
            break;
        }
        cr_assert_neq(s, EMBCL_OK, "failing %s went unnoticed", faultcl_fired_in());
        cr_assert(strstr(embcl_last_error(), faultcl_fired_in()), "'%s' not named in '%s'", faultcl_fired_in(),
                  embcl_last_error());
    }
    float h[8];
    TEST_OK(embcl_tensor_download(t, h, sizeof h));
    cr_assert_eq(h[7], 1.0f);
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
}
