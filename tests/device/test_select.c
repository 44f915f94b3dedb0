/* Selectors are pure string work over a device list: tested on made-up
 * lists so every case runs without the hardware it describes. */
#include <string.h>

#include "test_util.h"

static embcl_device_info fake[4];

static void setup(void)
{
    memset(fake, 0, sizeof fake);
    const char *names[4] = {"pthread-haswell", "NVIDIA H100", "NVIDIA A10", "Intel Arc"};
    const char *plats[4] = {"Portable Computing Language", "NVIDIA CUDA", "NVIDIA CUDA", "Intel(R) OpenCL"};
    int pi[4] = {0, 1, 1, 2}, di[4] = {0, 0, 1, 0};
    embcl_device_type ty[4] = {EMBCL_DEVICE_CPU, EMBCL_DEVICE_GPU, EMBCL_DEVICE_GPU, EMBCL_DEVICE_GPU};
    for (int i = 0; i < 4; i++) {
        strcpy(fake[i].name, names[i]);
        strcpy(fake[i].platform_name, plats[i]);
        fake[i].platform_index = pi[i];
        fake[i].device_index = di[i];
        fake[i].type = ty[i];
    }
}

TestSuite(select, .init = setup);

static size_t pick(const char *sel, size_t *out)
{
    size_t n = 0;
    TEST_OK(embcl_device_select(sel, fake, 4, out, 4, &n));
    return n;
}

Test(select, default_is_first_gpu_then_first_device)
{
    size_t p[4];
    cr_assert_eq(pick(NULL, p), 1);
    cr_assert_eq(p[0], 1);
    cr_assert_eq(pick("", p), 1);
    size_t n = 0;
    TEST_OK(embcl_device_select(NULL, fake, 1, p, 4, &n)); /* only the CPU */
    cr_assert_eq(n, 1);
    cr_assert_eq(p[0], 0);
}

Test(select, by_type_index_and_name)
{
    size_t p[4];
    cr_assert_eq(pick("cpu", p), 1);
    cr_assert_eq(p[0], 0);
    cr_assert_eq(pick("GPU", p), 3);
    cr_assert_eq(pick("1:1", p), 1);
    cr_assert_eq(p[0], 2);
    cr_assert_eq(pick("h100", p), 1);
    cr_assert_eq(p[0], 1);
    cr_assert_eq(pick("nvidia", p), 2);
    cr_assert_eq(pick("all", p), 4);
}

Test(select, lists_keep_order_and_drop_repeats)
{
    size_t p[4];
    cr_assert_eq(pick("2:0, cpu ,1:0,cpu", p), 3);
    cr_assert_eq(p[0], 3);
    cr_assert_eq(p[1], 0);
    cr_assert_eq(p[2], 1);
}

Test(select, unknown_selector_names_value_and_lists_devices)
{
    size_t p[4], n = 99;
    TEST_FAILS(EMBCL_ERR_NO_DEVICE, embcl_device_select("nosuch", fake, 4, p, 4, &n), "'nosuch'",
               "1:0 'NVIDIA H100'", "0:0 'pthread-haswell'");
    TEST_FAILS(EMBCL_ERR_NO_DEVICE, embcl_device_select("cpu,7:0", fake, 4, p, 4, &n), "entry '7:0'");
    TEST_FAILS(EMBCL_ERR_NO_DEVICE, embcl_device_select("cpu,,gpu", fake, 4, p, 4, &n), "empty entry");
    TEST_FAILS(EMBCL_ERR_NO_DEVICE, embcl_device_select("accelerator", fake, 4, p, 4, &n), "'accelerator'");
    TEST_FAILS(EMBCL_ERR_NO_DEVICE, embcl_device_select(NULL, fake, 0, p, 4, &n), "no OpenCL device");
}

/* Selectors name hardware: a class given to the devices does not change
 * which a selector picks, and the class applies to every device alike. */
Test(select, device_class_apply_sets_every_class_and_selectors_keep_the_hardware_type)
{
    TEST_OK(embcl_device_class_apply("cpu", fake, 4));
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(fake[i].device_class, EMBCL_DEVICE_CPU);
        cr_assert_eq(fake[i].type, i == 0 ? EMBCL_DEVICE_CPU : EMBCL_DEVICE_GPU);
    }
    size_t p[4];
    cr_assert_eq(pick("gpu", p), 3, "the GPUs by hardware type");
    cr_assert_eq(pick(NULL, p), 1);
    cr_assert_eq(p[0], 1);

    TEST_OK(embcl_device_class_apply("gpu", fake, 4));
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fake[i].device_class, EMBCL_DEVICE_GPU);
    TEST_OK(embcl_device_class_apply(NULL, fake, 4));
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fake[i].device_class, fake[i].type);
    TEST_OK(embcl_device_class_apply("gpu", fake, 4));
    TEST_OK(embcl_device_class_apply("auto", fake, 4));
    cr_assert_eq(fake[0].device_class, EMBCL_DEVICE_CPU);

    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_class_apply("GPU ", fake, 4), "embcl_device_class_apply",
               "'GPU '");
    cr_assert_eq(fake[0].device_class, EMBCL_DEVICE_CPU, "a bad value leaves the list as it was");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_class_apply("gpu", NULL, 2), "embcl_device_class_apply", "'list'");
    TEST_OK(embcl_device_class_apply("gpu", NULL, 0));
}
