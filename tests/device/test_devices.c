#include <stdlib.h>
#include <string.h>

#include "test_util.h"

Test(devices, list_shows_pocl_with_properties)
{
    embcl_device_info *list;
    size_t n;
    TEST_OK(embcl_device_list(&list, &n));
    cr_assert_geq(n, 1, "no OpenCL device; is pocl-opencl-icd installed?");
    int found_cpu = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_gt(strlen(list[i].name), 0);
        cr_assert_gt(list[i].compute_units, 0);
        cr_assert_gt(list[i].global_mem_bytes, 0);
        cr_assert_gt(list[i].max_alloc_bytes, 0);
        cr_assert(strncmp(list[i].opencl_c_version, "OpenCL C", 8) == 0, "%s", list[i].opencl_c_version);
        found_cpu |= list[i].type == EMBCL_DEVICE_CPU;
    }
    cr_assert(found_cpu);
    embcl_device_list_free(list);
}

Test(devices, runtime_follows_EMBCL_DEVICE_and_names_bad_values)
{
    setenv("EMBCL_DEVICE", "nosuch-device", 1);
    embcl_runtime_t rt = NULL;
    TEST_FAILS(EMBCL_ERR_NO_DEVICE, embcl_runtime_create(NULL, &rt), "embcl_runtime_create", "'nosuch-device'",
               "EMBCL_DEVICE", "devices:");
    cr_assert_null(rt);
    setenv("EMBCL_DEVICE", "cpu", 1);
    TEST_OK(embcl_runtime_create(NULL, &rt));
    size_t n;
    TEST_OK(embcl_runtime_device_count(rt, &n));
    cr_assert_geq(n, 1);
    embcl_device_t dev;
    TEST_OK(embcl_runtime_device(rt, 0, &dev));
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(dev, &info));
    cr_assert_eq(info.type, EMBCL_DEVICE_CPU);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_runtime_device(rt, n, &dev), "'i' is");
    embcl_runtime_free(rt);
    unsetenv("EMBCL_DEVICE");
}

Test(devices, option_beats_environment)
{
    setenv("EMBCL_DEVICE", "nosuch-device", 1);
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    embcl_runtime_t rt;
    TEST_OK(embcl_runtime_create(&o, &rt));
    embcl_runtime_free(rt);
}

Test(devices, bad_tuning_override_is_named)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    o.tuning = "bag.VW=4,bag.WGS";
    embcl_runtime_t rt = NULL;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'bag.WGS'", "key=value");
    o.tuning = "bag.VW=x";
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_runtime_create(&o, &rt), "'x'");
}

Test(devices, markers_time_work_when_profiling)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.profiling = 1;
    embcl_runtime_t rt = test_runtime_with(&o);
    embcl_device_t dev = test_device(rt);
    int64_t shape[1] = {1 << 20};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &t));
    embcl_event_t a, b;
    TEST_OK(embcl_device_marker(dev, &a));
    TEST_OK(embcl_tensor_fill(t, 1.0));
    TEST_OK(embcl_device_marker(dev, &b));
    double ms = -1;
    TEST_OK(embcl_event_elapsed_ms(a, b, &ms));
    cr_assert_geq(ms, 0.0);
    TEST_OK(embcl_event_wait(b));
    embcl_event_free(a);
    embcl_event_free(b);
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
}

Test(devices, device_class_makes_a_cpu_take_gpu_paths)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    o.device_class = "gpu";
    embcl_runtime_t rt;
    TEST_OK(embcl_runtime_create(&o, &rt));
    embcl_device_info info;
    TEST_OK(embcl_device_get_info(test_device(rt), &info));
    cr_assert_eq(info.type, EMBCL_DEVICE_CPU, "the reported type stays the hardware's");
    cr_assert_eq(info.device_class, EMBCL_DEVICE_GPU);
    embcl_runtime_free(rt);

    setenv("EMBCL_DEVICE_CLASS", "gpu", 1);
    o.device_class = NULL;
    TEST_OK(embcl_runtime_create(&o, &rt));
    TEST_OK(embcl_device_get_info(test_device(rt), &info));
    cr_assert_eq(info.device_class, EMBCL_DEVICE_GPU);
    embcl_runtime_free(rt);
    o.device_class = "auto"; /* the option beats the environment */
    TEST_OK(embcl_runtime_create(&o, &rt));
    TEST_OK(embcl_device_get_info(test_device(rt), &info));
    cr_assert_eq(info.device_class, EMBCL_DEVICE_CPU);
    embcl_runtime_free(rt);

    setenv("EMBCL_DEVICE_CLASS", "gpus", 1);
    o.device_class = NULL;
    rt = NULL;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_runtime_create(&o, &rt), "embcl_runtime_create", "'gpus'",
               "EMBCL_DEVICE_CLASS");
    cr_assert_null(rt);
    unsetenv("EMBCL_DEVICE_CLASS");
}
