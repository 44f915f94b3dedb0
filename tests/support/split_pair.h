/* Tests of tables split over several buffers (a forced small allocation
 * limit): the same work on two runtimes of the test device, one with the
 * device's own limit (every table in one buffer) and one with a limit of a
 * few KiB (tables split by rows, a ragged last part), compared bit for
 * bit. */
#ifndef EMBCL_TEST_SPLIT_PAIR_H
#define EMBCL_TEST_SPLIT_PAIR_H

#include <embcl.h>

#include "test_util.h"

/* The forced limit: a [1200, 16] f32 table (64 B rows) splits into parts
 * of 256 rows, 5 of them, the last of 176; a [1200, 20] one into 6 parts of
 * 204 rows (the last 180). Small enough for tables of a test's size, large
 * enough for the ops' scratch (the sort's histograms, a batch's rows). */
#define SPLIT_LIMIT 16384
#define SPLIT_V 1200

enum { WHOLE = 0, SPLIT = 1 };

typedef struct split_pair {
    embcl_runtime_t rt[2];
    embcl_device_t dev[2];
} split_pair;

void split_pair_open(split_pair *p);
/* Fails the test if either side still holds tensors. */
void split_pair_close(split_pair *p);

/* Whether t is split over several buffers (it then has no single cl_mem). */
int split_is_split(embcl_tensor_t t);
/* A [rows, cols] f32 tensor on dev with contents host (NULL: zeros). */
embcl_tensor_t split_f32(embcl_device_t dev, int64_t rows, int64_t cols, const float *host);
/* A 1-D i64 tensor of n values. */
embcl_tensor_t split_i64(embcl_device_t dev, int64_t n, const int64_t *host);
/* Deterministic floats in [-1, 1). */
void split_fill_random(float *x, size_t n, unsigned seed);
/* t's contents (caller frees). */
float *split_download(embcl_tensor_t t);
/* The two tensors hold the same bytes; the failure names `what` and the
 * first element that differs. */
void split_expect_same(embcl_tensor_t whole, embcl_tensor_t split, const char *what);

#endif
