#include "test_util.h"

Test(pool, freed_buffers_are_reused_without_new_allocations)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    int64_t a[1] = {1000}, b[2] = {33, 77};
    /* one "step" allocates two tensors and frees them */
    for (int step = 0; step < 5; step++) {
        embcl_pool_stats before;
        TEST_OK(embcl_device_pool_stats(dev, &before));
        embcl_tensor_t t1, t2;
        TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, a, &t1));
        TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 2, b, &t2));
        embcl_tensor_free(t1);
        embcl_tensor_free(t2);
        embcl_pool_stats after;
        TEST_OK(embcl_device_pool_stats(dev, &after));
        if (step > 0) {
            cr_assert_eq(after.cl_allocs, before.cl_allocs, "step %d allocated from OpenCL", step);
            cr_assert_eq(after.hits, before.hits + 2);
        }
        cr_assert_eq(after.bytes_in_use, 0);
    }
    embcl_pool_stats st;
    TEST_OK(embcl_device_pool_stats(dev, &st));
    cr_assert_eq(st.cl_allocs, 2);
    cr_assert_gt(st.bytes_cached, 0);
    cr_assert_geq(st.peak_bytes_in_use, 4000 + 33 * 77 * 8);
    TEST_OK(embcl_device_pool_trim(dev));
    TEST_OK(embcl_device_pool_stats(dev, &st));
    cr_assert_eq(st.bytes_cached, 0);
    cr_assert_eq(st.cl_frees, 2);
    embcl_runtime_free(rt);
}

/* A table past the device's allocation limit is split by rows
 * (tests/device/test_split_tensor.c); what cannot be split fails by name
 * before anything is allocated: a 1-D tensor (one row) past the limit, and
 * a table needing more than 8 buffers. */
Test(pool, allocation_beyond_device_limit_is_named)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(dev, &info));
    int64_t flat = (int64_t)(info.max_alloc_bytes / 4) + 1;
    embcl_tensor_t t = NULL;
    TEST_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_tensor_create(dev, EMBCL_F32, 1, &flat, &t), "embcl_tensor_create",
               "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "does not fit");
    cr_assert_null(t);
    int64_t shape[2] = {(int64_t)(info.max_alloc_bytes / 4 / 16) * 8 + 1, 16};
    TEST_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_tensor_create(dev, EMBCL_F32, 2, shape, &t), "embcl_tensor_create",
               "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "9 buffers", "at most 8");
    cr_assert_null(t);
    embcl_pool_stats st;
    TEST_OK(embcl_device_pool_stats(dev, &st));
    cr_assert_eq(st.bytes_in_use, 0);
    embcl_runtime_free(rt);
}
