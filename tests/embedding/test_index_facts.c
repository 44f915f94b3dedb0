/* Index checks from upload facts: indices and offsets uploaded from the host
 * are checked from what the upload learnt (no device work, no wait); any
 * device write to their buffer (fill, copy, a write through a view of the
 * same buffer) makes the next call check on the device again, so stale facts
 * can never let a bad index through. The error texts are the same on both
 * paths (tests/embedding/test_errors.c checks them in detail). */
#include <string.h>

#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;

#define V 10
#define D 4
#define B 3

static embcl_tensor_t w, out;

static void setup(void)
{
    emb_suite_open(&rt, &dev);
    float wh[V * D];
    for (int i = 0; i < V * D; i++)
        wh[i] = (float)i;
    int64_t ws[2] = {V, D};
    w = test_tensor_f32(dev, 2, ws, wh);
    out = emb_zeros(dev, B, D);
}

static void teardown(void)
{
    embcl_tensor_free(w);
    embcl_tensor_free(out);
    emb_suite_close(rt, dev);
}

TestSuite(index_facts, .init = setup, .fini = teardown);

static embcl_tensor_t i64_upload(int64_t n, const int64_t *v)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, &n, &t));
    TEST_OK(embcl_tensor_upload(t, v, (size_t)n * sizeof *v));
    return t;
}

/* Pool requests so far: the device check takes a verdict buffer from the
 * pool, the facts path takes none. */
static uint64_t pool_requests(void)
{
    embcl_pool_stats st;
    TEST_OK(embcl_device_pool_stats(dev, &st));
    return st.hits + st.misses;
}

static embcl_status bag(embcl_tensor_t idx, embcl_tensor_t offs)
{
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = EMBCL_BAG_SUM;
    embcl_bags b = {idx, offs, NULL};
    return embcl_embedding_bag(w, &b, &o, out, NULL);
}

static void expect_out_unchanged(const float *before)
{
    float now[B * D];
    TEST_OK(embcl_tensor_download(out, now, sizeof now));
    cr_assert(memcmp(now, before, sizeof now) == 0, "a refused call wrote its output");
}

Test(index_facts, uploaded_data_needs_no_device_check)
{
    const int64_t iv[6] = {1, 9, 0, 3, 3, 2}, ov[B] = {0, 2, 5};
    embcl_tensor_t idx = i64_upload(6, iv), offs = i64_upload(B, ov);
    TEST_OK(bag(idx, offs)); /* warm-up: kernel build */
    uint64_t before = pool_requests();
    TEST_OK(bag(idx, offs));
    cr_assert_eq(pool_requests(), before, "a forward over uploaded indices still checked them on the device");
    /* A device write (here a valid one) sends the next call to the device check. */
    TEST_OK(embcl_tensor_fill(idx, 4.0));
    before = pool_requests();
    TEST_OK(bag(idx, offs));
    cr_assert_gt(pool_requests(), before, "indices written on the device were not checked on the device");
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
}

Test(index_facts, fill_after_upload_is_checked)
{
    const int64_t iv[6] = {1, 9, 0, 3, 3, 2}, ov[B] = {0, 2, 5};
    embcl_tensor_t idx = i64_upload(6, iv), offs = i64_upload(B, ov);
    TEST_OK(embcl_tensor_fill(out, 7.0));
    float before[B * D];
    TEST_OK(embcl_tensor_download(out, before, sizeof before));
    TEST_OK(embcl_tensor_fill(idx, 12.0));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "embcl_embedding_bag", "'indices'", "value 12", "position 0");
    expect_out_unchanged(before);
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
}

Test(index_facts, copy_into_uploaded_indices_is_checked)
{
    const int64_t iv[6] = {1, 9, 0, 3, 3, 2}, bad[6] = {1, 2, 3, -4, 5, 6}, ov[B] = {0, 2, 5};
    embcl_tensor_t idx = i64_upload(6, iv), src = i64_upload(6, bad), offs = i64_upload(B, ov);
    TEST_OK(bag(idx, offs));
    TEST_OK(embcl_tensor_copy(idx, src));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "value -4", "position 3");
    embcl_tensor_free(idx);
    embcl_tensor_free(src);
    embcl_tensor_free(offs);
}

Test(index_facts, write_through_another_view_is_checked)
{
    const int64_t iv[6] = {1, 9, 0, 3, 3, 2}, ov[B] = {0, 2, 5};
    embcl_tensor_t idx = i64_upload(6, iv), offs = i64_upload(B, ov), half;
    TEST_OK(bag(idx, offs));
    /* rows 3..5 of the same buffer, as a [3, 1] view written on the device */
    int64_t shape[2] = {6, 1};
    embcl_tensor_t idx2, tail;
    TEST_OK(embcl_tensor_reshape(idx, 2, shape, &idx2));
    TEST_OK(embcl_tensor_view_rows(idx2, 3, 6, &tail));
    TEST_OK(embcl_tensor_fill(tail, 10.0));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "value 10", "position 3");
    /* Facts learnt for a view are not used for a wider range of the buffer. */
    const int64_t ok3[3] = {0, 1, 2};
    TEST_OK(embcl_tensor_view_rows(idx2, 0, 3, &half));
    TEST_OK(embcl_tensor_upload(half, ok3, sizeof ok3));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "value 10", "position 3");
    embcl_tensor_free(half);
    embcl_tensor_free(tail);
    embcl_tensor_free(idx2);
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
}

Test(index_facts, offsets_written_on_device_are_checked)
{
    const int64_t iv[6] = {1, 9, 0, 3, 3, 2}, ov[B] = {0, 2, 5}, bad[B] = {0, 4, 3};
    embcl_tensor_t idx = i64_upload(6, iv), offs = i64_upload(B, ov), src = i64_upload(B, bad);
    TEST_OK(bag(idx, offs));
    TEST_OK(embcl_tensor_copy(offs, src));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "'offsets'", "offsets[2] is 3");
    TEST_OK(embcl_tensor_fill(offs, 1.0));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "offsets[0] has to be 0");
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
    embcl_tensor_free(src);
}

Test(index_facts, uploaded_bad_data_reports_first_bad_position)
{
    const int64_t iv[6] = {1, 2, 11, 3, -1, 2}, ov[B] = {0, 2, 5}, dec[B] = {0, 3, 2}, past[B] = {0, 2, 7};
    embcl_tensor_t idx = i64_upload(6, iv), offs = i64_upload(B, ov);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "value 11", "position 2");
    const int64_t good[6] = {1, 2, 3, 3, 0, 2};
    TEST_OK(embcl_tensor_upload(idx, good, sizeof good));
    TEST_OK(embcl_tensor_upload(offs, dec, sizeof dec));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "offsets[2] is 2, less than offsets[1] = 3");
    TEST_OK(embcl_tensor_upload(offs, past, sizeof past));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, bag(idx, offs), "offsets[2] is 7, past the end");
    embcl_tensor_free(idx);
    embcl_tensor_free(offs);
}
