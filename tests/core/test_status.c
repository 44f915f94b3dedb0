#include <pthread.h>
#include <string.h>

#include "core/error.h"
#include "test_util.h"

Test(status, names_cover_embcl_and_opencl_codes)
{
    cr_assert_str_eq(embcl_status_str(EMBCL_OK), "EMBCL_OK");
    cr_assert_str_eq(embcl_status_str(EMBCL_ERR_SHAPE), "EMBCL_ERR_SHAPE");
    cr_assert_str_eq(embcl_status_str(EMBCL_ERR_INDEX_RANGE), "EMBCL_ERR_INDEX_RANGE");
    cr_assert_str_eq(embcl_status_str((embcl_status)-5), "CL_OUT_OF_RESOURCES");
    cr_assert_str_eq(embcl_status_str((embcl_status)-4), "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    cr_assert_str_eq(embcl_status_str((embcl_status)-11), "CL_BUILD_PROGRAM_FAILURE");
    cr_assert_str_eq(embcl_status_str((embcl_status)-999), "EMBCL_STATUS_UNKNOWN");
    cr_assert_str_eq(embcl_status_str((embcl_status)12345), "EMBCL_STATUS_UNKNOWN");
}

Test(status, dtype_names_and_sizes)
{
    cr_assert_str_eq(embcl_dtype_name(EMBCL_F32), "f32");
    cr_assert_str_eq(embcl_dtype_name(EMBCL_I64), "i64");
    cr_assert_eq(embcl_dtype_size(EMBCL_I32), 4);
    cr_assert_eq(embcl_dtype_size(EMBCL_I64), 8);
    cr_assert_eq(embcl_dtype_size((embcl_dtype)99), 0);
}

Test(status, error_names_function_and_chains_context)
{
    embcl_status s = embcl_error(EMBCL_ERR_SHAPE, "inner_fn", "argument '%s' is %d", "n", -3);
    cr_assert_eq(s, EMBCL_ERR_SHAPE);
    cr_assert_str_eq(embcl_last_error(), "inner_fn: argument 'n' is -3");
    embcl_error_context(s, "embcl_outer");
    cr_assert_str_eq(embcl_last_error(), "embcl_outer: inner_fn: argument 'n' is -3");
    embcl_error_context(s, "embcl_outer"); /* not repeated */
    cr_assert_str_eq(embcl_last_error(), "embcl_outer: inner_fn: argument 'n' is -3");
    embcl_clear_error();
    cr_assert_str_eq(embcl_last_error(), "");
}

Test(status, long_messages_are_truncated_not_overrun)
{
    static char big[100000];
    memset(big, 'x', sizeof big - 1);
    embcl_error(EMBCL_ERR_BUILD, "f", "%s", big);
    size_t n = strlen(embcl_last_error());
    cr_assert(n < 40000 && n > 1000, "length %zu", n);
    cr_assert(strstr(embcl_last_error(), "[truncated]") != NULL);
}

static void *other_thread(void *arg)
{
    (void)arg;
    embcl_error(EMBCL_ERR_IO, "thread_fn", "from the other thread");
    return NULL;
}

Test(status, last_error_is_per_thread)
{
    embcl_error(EMBCL_ERR_FORMAT, "main_fn", "from main");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, NULL);
    cr_assert_str_eq(embcl_last_error(), "main_fn: from main");
}

Test(status, null_arguments_are_named)
{
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_runtime_create(NULL, NULL), "embcl_runtime_create", "'out'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_list(NULL, NULL), "embcl_device_list", "'out'");
}
