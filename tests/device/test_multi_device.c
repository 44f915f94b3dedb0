/* Two PoCL devices in one process (POCL_DEVICES="pthread pthread"): one
 * context, two queues, and copies between them. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void two_devices(void)
{
    test_pocl_devices(2);
}

Test(multi_device, copy_between_two_devices_in_one_context, .init = two_devices)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "0:0,0:1";
    embcl_runtime_t rt = test_runtime_with(&o);
    size_t n;
    TEST_OK(embcl_runtime_device_count(rt, &n));
    cr_assert_eq(n, 2);
    embcl_device_t d0, d1;
    TEST_OK(embcl_runtime_device(rt, 0, &d0));
    TEST_OK(embcl_runtime_device(rt, 1, &d1));
    cr_assert_neq(d0, d1);
    enum { R = 64, C = 48 };
    int64_t shape[2] = {R, C};
    static float a[R * C], b[R * C];
    for (int i = 0; i < R * C; i++)
        a[i] = (float)i * 0.5f;
    embcl_tensor_t t0 = test_tensor_f32(d0, 2, shape, a), t1;
    TEST_OK(embcl_tensor_create(d1, EMBCL_F32, 2, shape, &t1));
    TEST_OK(embcl_tensor_fill(t1, 0.0));
    TEST_OK(embcl_tensor_copy(t1, t0));
    TEST_OK(embcl_tensor_fill(t0, -7.0)); /* must not overtake the copy */
    TEST_OK(embcl_tensor_download(t1, b, sizeof b));
    cr_assert(memcmp(a, b, sizeof a) == 0);
    /* and back, through column views on both sides */
    embcl_tensor_t v0, v1;
    TEST_OK(embcl_tensor_view_cols(t0, 10, 20, &v0));
    TEST_OK(embcl_tensor_view_cols(t1, 30, 40, &v1));
    TEST_OK(embcl_tensor_copy(v0, v1));
    TEST_OK(embcl_tensor_download(t0, b, sizeof b));
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            cr_assert_eq(b[r * C + c], (c >= 10 && c < 20) ? a[r * C + c + 20] : -7.0f, "at %d,%d", r, c);
    embcl_tensor_free(v0);
    embcl_tensor_free(v1);
    embcl_tensor_free(t0);
    embcl_tensor_free(t1);
    embcl_runtime_free(rt);
}

Test(multi_device, copy_across_runtimes_stages_through_host, .init = two_devices)
{
    /* two runtimes have two contexts: the copy must go through the host */
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "0:0";
    embcl_runtime_t ra = test_runtime_with(&o);
    o.device = "0:1";
    embcl_runtime_t rb = test_runtime_with(&o);
    int64_t shape[1] = {1000};
    static float a[1000], b[1000];
    for (int i = 0; i < 1000; i++)
        a[i] = (float)(i * 3);
    embcl_tensor_t ta = test_tensor_f32(test_device(ra), 1, shape, a), tb;
    TEST_OK(embcl_tensor_create(test_device(rb), EMBCL_F32, 1, shape, &tb));
    TEST_OK(embcl_tensor_copy(tb, ta));
    TEST_OK(embcl_tensor_download(tb, b, sizeof b));
    cr_assert(memcmp(a, b, sizeof a) == 0);
    embcl_tensor_free(ta);
    embcl_tensor_free(tb);
    embcl_runtime_free(ra);
    embcl_runtime_free(rb);
}
