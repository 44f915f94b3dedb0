#include <string.h>

#include "test_util.h"

TEST_DEVICE_FIXTURE
TestSuite(tensor, .init = test_device_setup, .fini = test_device_teardown);

Test(tensor, create_reports_shape_and_dtype)
{
    int64_t shape[3] = {2, 3, 4};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 3, shape, &t));
    cr_assert_eq(embcl_tensor_ndim(t), 3);
    cr_assert_eq(embcl_tensor_dim(t, 1), 3);
    cr_assert_eq(embcl_tensor_dim(t, 3), -1);
    cr_assert_eq(embcl_tensor_numel(t), 24);
    cr_assert_eq(embcl_tensor_dtype(t), EMBCL_I64);
    cr_assert(embcl_tensor_is_contiguous(t));
    embcl_tensor_free(t);
}

Test(tensor, bad_shapes_are_named)
{
    embcl_tensor_t t = NULL;
    int64_t bad[2] = {3, -2};
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_create(dev, EMBCL_F32, 2, bad, &t), "embcl_tensor_create", "-2",
               "dimension 1");
    int64_t ok[5] = {1, 1, 1, 1, 1};
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_create(dev, EMBCL_F32, 5, ok, &t), "'ndim' is 5");
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_tensor_create(dev, (embcl_dtype)7, 1, ok, &t), "'dtype' is 7");
    cr_assert_null(t);
}

Test(tensor, upload_download_round_trip_all_dtypes)
{
    int64_t shape[2] = {5, 7};
    float f[35], fo[35];
    int32_t i[35], io[35];
    int64_t l[35], lo[35];
    for (int k = 0; k < 35; k++) {
        f[k] = (float)k * 0.25f - 3.0f;
        i[k] = k * 1000 - 7;
        l[k] = ((int64_t)k << 40) - 5;
    }
    embcl_tensor_t tf, ti, tl;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &tf));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 2, shape, &ti));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 2, shape, &tl));
    TEST_OK(embcl_tensor_upload(tf, f, sizeof f));
    TEST_OK(embcl_tensor_upload(ti, i, sizeof i));
    TEST_OK(embcl_tensor_upload(tl, l, sizeof l));
    TEST_OK(embcl_tensor_download(tf, fo, sizeof fo));
    TEST_OK(embcl_tensor_download(ti, io, sizeof io));
    TEST_OK(embcl_tensor_download(tl, lo, sizeof lo));
    cr_assert(memcmp(f, fo, sizeof f) == 0);
    cr_assert(memcmp(i, io, sizeof i) == 0);
    cr_assert(memcmp(l, lo, sizeof l) == 0);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_upload(tf, f, sizeof f - 4), "embcl_tensor_upload", "136", "140");
    embcl_tensor_free(tf);
    embcl_tensor_free(ti);
    embcl_tensor_free(tl);
}

Test(tensor, fill_every_dtype)
{
    int64_t shape[1] = {1000};
    embcl_tensor_t tf, tl;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, shape, &tf));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, shape, &tl));
    TEST_OK(embcl_tensor_fill(tf, -1.5));
    TEST_OK(embcl_tensor_fill(tl, 1e12));
    static float f[1000];
    static int64_t l[1000];
    TEST_OK(embcl_tensor_download(tf, f, sizeof f));
    TEST_OK(embcl_tensor_download(tl, l, sizeof l));
    for (int k = 0; k < 1000; k++) {
        cr_assert_eq(f[k], -1.5f);
        cr_assert_eq(l[k], (int64_t)1000000000000LL);
    }
    embcl_tensor_free(tf);
    embcl_tensor_free(tl);
}

Test(tensor, column_view_shares_memory_with_its_table)
{
    /* a [4, 6] table; the view is columns [2, 5) */
    int64_t shape[2] = {4, 6};
    float table[24];
    for (int k = 0; k < 24; k++)
        table[k] = (float)k;
    embcl_tensor_t t = test_tensor_f32(dev, 2, shape, table), v;
    TEST_OK(embcl_tensor_view_cols(t, 2, 5, &v));
    cr_assert_eq(embcl_tensor_dim(v, 1), 3);
    cr_assert_eq(embcl_tensor_row_stride(v), 6);
    cr_assert_not(embcl_tensor_is_contiguous(v));
    cr_assert(embcl_tensor_shares_buffer(t, v));
    float got[12];
    TEST_OK(embcl_tensor_download(v, got, sizeof got));
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++)
            cr_assert_eq(got[r * 3 + c], (float)(r * 6 + 2 + c));
    /* writing through the view changes the table, and only those columns */
    TEST_OK(embcl_tensor_fill(v, -1.0));
    TEST_OK(embcl_tensor_download(t, table, sizeof table));
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++)
            cr_assert_eq(table[r * 6 + c], (c >= 2 && c < 5) ? -1.0f : (float)(r * 6 + c));
    float up[12];
    for (int k = 0; k < 12; k++)
        up[k] = 100.0f + (float)k;
    TEST_OK(embcl_tensor_upload(v, up, sizeof up));
    TEST_OK(embcl_tensor_download(t, table, sizeof table));
    cr_assert_eq(table[1 * 6 + 3], 104.0f);
    cr_assert_eq(table[1 * 6 + 5], 11.0f);
    /* the table outlives neither: free the table first, the view still works */
    embcl_tensor_free(t);
    TEST_OK(embcl_tensor_download(v, got, sizeof got));
    cr_assert_eq(got[11], 111.0f);
    embcl_tensor_free(v);
}

Test(tensor, row_view_and_views_outside_the_table)
{
    int64_t shape[2] = {5, 2};
    float table[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    embcl_tensor_t t = test_tensor_f32(dev, 2, shape, table), v = NULL;
    TEST_OK(embcl_tensor_view_rows(t, 1, 3, &v));
    float got[4];
    TEST_OK(embcl_tensor_download(v, got, sizeof got));
    cr_assert_eq(got[0], 2.0f);
    cr_assert_eq(got[3], 5.0f);
    embcl_tensor_free(v);
    v = NULL;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_tensor_view_rows(t, 3, 6, &v), "embcl_tensor_view_rows", "[3, 6)", "5 rows");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_tensor_view_cols(t, 1, 3, &v), "embcl_tensor_view_cols", "[1, 3)",
               "2 columns");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_tensor_view_cols(t, -1, 1, &v), "[-1, 1)");
    cr_assert_null(v);
    embcl_tensor_free(t);
}

Test(tensor, copy_between_tensors_and_views)
{
    int64_t shape[2] = {3, 4}, vshape[2] = {3, 2};
    float a[12], b[12] = {0};
    for (int k = 0; k < 12; k++)
        a[k] = (float)k + 0.5f;
    embcl_tensor_t ta = test_tensor_f32(dev, 2, shape, a), tb = test_tensor_f32(dev, 2, shape, b);
    TEST_OK(embcl_tensor_copy(tb, ta));
    TEST_OK(embcl_tensor_download(tb, b, sizeof b));
    cr_assert(memcmp(a, b, sizeof a) == 0);
    embcl_tensor_t va, vb;
    TEST_OK(embcl_tensor_view_cols(ta, 0, 2, &va));
    TEST_OK(embcl_tensor_view_cols(tb, 2, 4, &vb));
    TEST_OK(embcl_tensor_copy(vb, va)); /* tb[:, 2:4] = ta[:, 0:2] */
    TEST_OK(embcl_tensor_download(tb, b, sizeof b));
    for (int r = 0; r < 3; r++) {
        cr_assert_eq(b[r * 4 + 2], a[r * 4 + 0]);
        cr_assert_eq(b[r * 4 + 3], a[r * 4 + 1]);
        cr_assert_eq(b[r * 4 + 1], a[r * 4 + 1]);
    }
    embcl_tensor_t small = test_tensor_f32(dev, 2, vshape, NULL);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_copy(small, ta), "embcl_tensor_copy", "[3, 2]", "[3, 4]");
    embcl_tensor_t self_view;
    TEST_OK(embcl_tensor_view_cols(ta, 1, 3, &self_view));
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_tensor_copy(self_view, va), "overlap");
    embcl_tensor_free(self_view);
    embcl_tensor_free(small);
    embcl_tensor_free(va);
    embcl_tensor_free(vb);
    embcl_tensor_free(ta);
    embcl_tensor_free(tb);
}

Test(tensor, reshape_shares_and_checks_count)
{
    int64_t shape[2] = {2, 6}, s3[3] = {2, 3, 2}, bad[2] = {5, 2};
    embcl_tensor_t t = test_tensor_f32(dev, 2, shape, NULL), r = NULL, v;
    TEST_OK(embcl_tensor_reshape(t, 3, s3, &r));
    cr_assert(embcl_tensor_shares_buffer(t, r));
    embcl_tensor_free(r);
    r = NULL;
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_reshape(t, 2, bad, &r), "12 elements", "10 elements");
    TEST_OK(embcl_tensor_view_cols(t, 0, 3, &v));
    int64_t flat[1] = {6};
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_reshape(v, 1, flat, &r), "column view");
    embcl_tensor_free(v);
    embcl_tensor_free(t);
}
