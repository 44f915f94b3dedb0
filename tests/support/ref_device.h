/* Moving reference tensors (tests/support/ref.h) to and from a device. */
#ifndef EMBCL_TEST_REF_DEVICE_H
#define EMBCL_TEST_REF_DEVICE_H

#include <embcl.h>

#include "ref.h"

/* A device tensor of r's shape and dtype, holding r's values when
 * with_data is set (else uninitialised). */
embcl_tensor_t ref_to_device(embcl_device_t dev, const ref_tensor *r, int with_data);

/* Fails the test unless t (f32) matches want * scale elementwise within
 * rtol relative plus atol absolute; messages name the case and tensor. */
void ref_expect_close(embcl_tensor_t t, const ref_tensor *want, float scale, double rtol, double atol,
                      const char *case_name);

/* embcl_tensor_free on each of n tensors (NULLs allowed). */
void test_free_tensors(embcl_tensor_t *ts, size_t n);
#define TEST_FREE_ALL(...)                                                                 \
    do {                                                                                   \
        embcl_tensor_t test_free_all_[] = {__VA_ARGS__};                                   \
        test_free_tensors(test_free_all_, sizeof test_free_all_ / sizeof test_free_all_[0]); \
    } while (0)

#endif
