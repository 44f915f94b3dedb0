/* Helpers for the Embedding / EmbeddingBag tests (tests/embedding/): device
 * tensors from reference tensors, options from a case's attributes,
 * comparisons of device results with PyTorch's. */
#ifndef EMBCL_TEST_EMB_REF_H
#define EMBCL_TEST_EMB_REF_H

#include <embcl.h>

#include "ref.h"

/* A runtime on the test device and its first device (suite .init). */
void emb_suite_open(embcl_runtime_t *rt, embcl_device_t *dev);
/* Fails the test if tensors are still held on dev, then frees rt (.fini). */
void emb_suite_close(embcl_runtime_t rt, embcl_device_t dev);

/* A device tensor with t's dtype, shape and values. */
embcl_tensor_t emb_upload(embcl_device_t dev, const ref_tensor *t);
/* A [rows, cols] f32 tensor of zeros. */
embcl_tensor_t emb_zeros(embcl_device_t dev, int64_t rows, int64_t cols);
/* The case's options (padding_idx, max_norm, norm_type, scale_grad_by_freq,
 * mode, include_last_offset when present; "none" for None). */
embcl_embedding_options emb_case_options(const ref_case *c);
/* Download t (f32) and compare with want: |got - want| <= rtol * max + atol. */
void emb_expect_f32(embcl_tensor_t t, const ref_tensor *want, double rtol, double atol, const char *what);
/* Download t (i32/i64) and compare exactly. */
void emb_expect_int(embcl_tensor_t t, const ref_tensor *want, const char *what);
/* t's contents as floats (caller frees). */
float *emb_download_f32(embcl_tensor_t t);
/* Bytes of t equal to the given host floats? */
int emb_bits_equal(embcl_tensor_t t, const float *host);

#endif
