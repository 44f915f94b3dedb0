/* Every launch is checked against the kernel's and the device's limits
 * before it is enqueued, so a bad size is named instead of coming back as a
 * bare CL_INVALID_WORK_GROUP_SIZE (or running wrongly on some drivers). The
 * limits are read here with OpenCL's own queries, independently of embcl. */
#include <stdio.h>
#include <string.h>

#include "device/program.h"
#include "tensor/tensor_impl.h"
#include "test_util.h"

TEST_DEVICE_FIXTURE
TestSuite(launch_limits, .init = test_device_setup, .fini = test_device_teardown);

/* scale_2d of kernels/optim.cl over a 4x4 tensor: any range is safe (it
 * checks bounds). */
static cl_kernel scale_kernel(embcl_tensor_t *t)
{
    int64_t shape[2] = {4, 4};
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, t));
    TEST_OK(embcl_tensor_fill(*t, 1.0));
    cl_kernel k;
    TEST_OK(embcl_kernel_get(dev, "optim", NULL, "scale_2d", &k));
    cl_ulong off = 0, ld = 4, rows = 4, cols = 4;
    float coef = 2.0f;
    embcl_karg args[] = {EMBCL_KARG((*t)->buf->mem), EMBCL_KARG(off), EMBCL_KARG(ld), EMBCL_KARG(rows),
                         EMBCL_KARG(cols), EMBCL_KARG(coef)};
    TEST_OK(embcl_kernel_set_args(k, "scale_2d", 6, args));
    return k;
}

static size_t kernel_wgs(cl_kernel k)
{
    size_t n = 0;
    cr_assert_eq(clGetKernelWorkGroupInfo(k, dev->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof n, &n, NULL), CL_SUCCESS);
    return n;
}

static void item_sizes(size_t out[3])
{
    size_t all[64];
    cr_assert_eq(clGetDeviceInfo(dev->id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof all, all, NULL), CL_SUCCESS);
    memcpy(out, all, 3 * sizeof *out);
}

Test(launch_limits, device_info_has_the_per_dimension_limits)
{
    size_t want[3];
    item_sizes(want);
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(dev, &info));
    for (int d = 0; d < 3; d++)
        cr_assert_eq(info.max_work_item_sizes[d], want[d], "dimension %d", d);
}

Test(launch_limits, group_above_the_kernels_limit_is_named)
{
    embcl_tensor_t t;
    cl_kernel k = scale_kernel(&t);
    size_t lim = kernel_wgs(k), dims[3];
    item_sizes(dims);
    /* twice the limit, spread so no single dimension is over its own */
    size_t lx = 1;
    while (lx * 2 <= dims[0] && lx * 2 <= lim)
        lx *= 2;
    size_t ly = 2 * lim / lx + 1;
    if (ly > dims[1])
        cr_skip_test("the device's dimensions cannot hold a group above the kernel's limit");
    size_t lws[2] = {lx, ly}, gws[2] = {lx, ly};
    char want[128];
    snprintf(want, sizeof want, "limit of %zu", lim);
    TEST_FAILS(EMBCL_ERR_LAUNCH_LIMIT, embcl_kernel_launch(dev, k, "scale_2d", 2, gws, lws, NULL), "'scale_2d'",
               "kernels/optim.cl", "CL_KERNEL_WORK_GROUP_SIZE", want);
    /* the same kernel at its limit still runs */
    size_t ok_lws[2] = {lim / 4, 4}, ok_gws[2] = {lim / 4, 4};
    if (lim < 4 || lim / 4 > dims[0]) {
        ok_lws[0] = ok_gws[0] = 1;
        ok_lws[1] = ok_gws[1] = 1;
    }
    TEST_OK(embcl_kernel_launch(dev, k, "scale_2d", 2, ok_gws, ok_lws, NULL));
    float h[16];
    TEST_OK(embcl_tensor_download(t, h, sizeof h));
    cr_assert_eq(h[0], 2.0f);
    embcl_tensor_free(t);
}

Test(launch_limits, dimension_above_its_limit_is_named)
{
    embcl_tensor_t t;
    cl_kernel k = scale_kernel(&t);
    size_t dims[3];
    item_sizes(dims);
    /* dimension 2 over its limit by one, the others 1 */
    size_t lws[3] = {1, 1, dims[2] + 1}, gws[3] = {1, 1, dims[2] + 1};
    char want[64];
    snprintf(want, sizeof want, "limit of %zu", dims[2]);
    TEST_FAILS(EMBCL_ERR_LAUNCH_LIMIT, embcl_kernel_launch(dev, k, "scale_2d", 3, gws, lws, NULL), "'scale_2d'",
               "dimension 2", "CL_DEVICE_MAX_WORK_ITEM_SIZES[2]", want);
    embcl_tensor_free(t);
}

Test(launch_limits, global_size_not_a_multiple_of_the_group_is_named)
{
    embcl_tensor_t t;
    cl_kernel k = scale_kernel(&t);
    size_t lws[2] = {4, 1}, gws[2] = {6, 4};
    TEST_FAILS(EMBCL_ERR_LAUNCH_LIMIT, embcl_kernel_launch(dev, k, "scale_2d", 2, gws, lws, NULL), "'scale_2d'",
               "global size 6 of dimension 0 is not a multiple of 4");
    embcl_tensor_free(t);
}

/* norm_partial of kernels/optim.cl takes its scratch as a __local argument. */
static cl_kernel norm_kernel(embcl_tensor_t *x, embcl_tensor_t *part, size_t local_bytes)
{
    int64_t shape[1] = {64};
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, shape, x));
    TEST_OK(embcl_tensor_fill(*x, 1.0));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, shape, part));
    cl_kernel k;
    TEST_OK(embcl_kernel_get(dev, "optim", "-DNORM=2", "norm_partial", &k));
    cl_ulong off = 0, ld = 64, rows = 1, cols = 64, po = 0;
    float pw = 2.0f;
    embcl_karg args[] = {EMBCL_KARG((*x)->buf->mem), EMBCL_KARG(off), EMBCL_KARG(ld), EMBCL_KARG(rows),
                         EMBCL_KARG(cols), EMBCL_KARG(pw), EMBCL_KARG((*part)->buf->mem), EMBCL_KARG(po),
                         EMBCL_KARG_LOCAL(local_bytes)};
    TEST_OK(embcl_kernel_set_args_on(dev, k, "norm_partial", 9, args));
    return k;
}

Test(launch_limits, local_memory_above_the_device_is_named)
{
    cl_ulong have = 0;
    cr_assert_eq(clGetDeviceInfo(dev->id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof have, &have, NULL), CL_SUCCESS);
    embcl_tensor_t x, part;
    cl_kernel k = norm_kernel(&x, &part, (size_t)have + 4);
    size_t lws = 1, gws = 1;
    char want[64];
    snprintf(want, sizeof want, "has %llu", (unsigned long long)have);
    TEST_FAILS(EMBCL_ERR_LAUNCH_LIMIT, embcl_kernel_launch(dev, k, "norm_partial", 1, &gws, &lws, NULL),
               "'norm_partial'", "local memory", "CL_DEVICE_LOCAL_MEM_SIZE", want);
    /* the argument set again with what the group needs: the launch runs */
    embcl_tensor_free(x);
    embcl_tensor_free(part);
    k = norm_kernel(&x, &part, 4 * sizeof(float));
    lws = 4;
    gws = 4;
    TEST_OK(embcl_kernel_launch(dev, k, "norm_partial", 1, &gws, &lws, NULL));
    float h[64];
    TEST_OK(embcl_tensor_download(part, h, sizeof h));
    cr_assert_float_eq(h[0], 64.0f, 1e-4, "sum of squares of 64 ones is %g", (double)h[0]);
    embcl_tensor_free(x);
    embcl_tensor_free(part);
}

Test(launch_limits, local_argument_without_its_device_is_refused)
{
    cl_kernel k;
    TEST_OK(embcl_kernel_get(dev, "optim", "-DNORM=2", "norm_partial", &k));
    cl_ulong any = 0;
    embcl_karg args[9];
    for (int i = 0; i < 8; i++)
        args[i] = EMBCL_KARG(any);
    args[8] = EMBCL_KARG_LOCAL(16);
    TEST_FAILS(EMBCL_ERR_STATE, embcl_kernel_set_args(k, "norm_partial", 9, args), "norm_partial", "argument 8",
               "embcl_kernel_set_args_on");
}

Test(launch_limits, fit_wgs_keeps_to_the_kernel_and_local_memory)
{
    cl_kernel k;
    TEST_OK(embcl_kernel_get(dev, "optim", "-DNORM=2", "norm_partial", &k));
    size_t lim = kernel_wgs(k);
    cr_assert_eq(embcl_kernel_max_wgs(dev, k), lim < dev->info.max_work_group_size ? lim
                                                                                    : dev->info.max_work_group_size);
    cr_assert_eq(embcl_kernel_fit_wgs(dev, k, lim * 4, 0), embcl_kernel_max_wgs(dev, k));
    cr_assert_eq(embcl_kernel_fit_wgs(dev, k, 3, 0), 3);
    cr_assert_eq(embcl_kernel_fit_wgs(dev, k, 0, 0), 1);
    /* a work-item needing a quarter of the local memory: at most 4 fit */
    size_t per = (size_t)dev->info.local_mem_bytes / 4;
    cr_assert_leq(embcl_kernel_fit_wgs(dev, k, 64, per), 4);
}
