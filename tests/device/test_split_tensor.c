/* Tensors larger than the allocation limit are split by rows over several
 * buffers (runtime option max_alloc_bytes, forced to a few KiB here):
 * transfers, fills, copies and views see one tensor, with the same bytes as
 * the unsplit one; what cannot be split fails by name. */
#include <stdlib.h>
#include <string.h>

#include "split_pair.h"

static split_pair P;

static void setup(void)
{
    split_pair_open(&P);
}

static void teardown(void)
{
    split_pair_close(&P);
}

TestSuite(split_tensor, .init = setup, .fini = teardown);

#define V SPLIT_V
#define D 16

Test(split_tensor, a_large_table_is_split_and_round_trips)
{
    float *h = malloc(V * D * sizeof *h), *back = malloc(V * D * sizeof *back);
    split_fill_random(h, V * D, 1);
    embcl_tensor_t w = split_f32(P.dev[WHOLE], V, D, h), s = split_f32(P.dev[SPLIT], V, D, h);
    cr_assert(!split_is_split(w), "the unsplit runtime split a %d-byte table", V * D * 4);
    cr_assert(split_is_split(s), "a %d-byte table was not split under a %d-byte limit", V * D * 4, SPLIT_LIMIT);
    TEST_OK(embcl_tensor_download(s, back, V * D * sizeof *back));
    cr_assert(memcmp(h, back, V * D * sizeof *h) == 0, "download of a split table differs from its upload");
    /* 5 parts of at most SPLIT_LIMIT bytes: the pool shows 5 buffers */
    embcl_pool_stats st;
    TEST_OK(embcl_device_pool_stats(P.dev[SPLIT], &st));
    cr_assert_geq(st.bytes_in_use, V * D * 4, "split parts hold %llu bytes", (unsigned long long)st.bytes_in_use);
    cr_assert_eq(st.cl_allocs, 5, "a [1200, 16] table under a 16384-byte limit took %llu buffers",
                 (unsigned long long)st.cl_allocs);
    TEST_OK(embcl_tensor_fill(s, 0.25));
    TEST_OK(embcl_tensor_fill(w, 0.25));
    split_expect_same(w, s, "fill");
    embcl_tensor_free(w);
    embcl_tensor_free(s);
    free(h);
    free(back);
}

Test(split_tensor, copies_between_split_and_unsplit)
{
    float *h = malloc(V * D * sizeof *h);
    split_fill_random(h, V * D, 2);
    embcl_tensor_t a = split_f32(P.dev[SPLIT], V, D, h), b = split_f32(P.dev[SPLIT], V, D, NULL);
    TEST_OK(embcl_tensor_copy(b, a));
    embcl_tensor_t w = split_f32(P.dev[WHOLE], V, D, h);
    split_expect_same(w, b, "split -> split copy");
    /* across runtimes (through the host) both ways */
    embcl_tensor_t w2 = split_f32(P.dev[WHOLE], V, D, NULL);
    TEST_OK(embcl_tensor_copy(w2, b));
    split_expect_same(w, w2, "split -> unsplit copy");
    /* a column range of a wider split table from a packed one: parts of
     * different heights on the two sides */
    int64_t shape[2] = {V, D + 4};
    embcl_tensor_t wide, cols;
    TEST_OK(embcl_tensor_create(P.dev[SPLIT], EMBCL_F32, 2, shape, &wide));
    TEST_OK(embcl_tensor_fill(wide, -1.0));
    TEST_OK(embcl_tensor_view_cols(wide, 2, 2 + D, &cols));
    TEST_OK(embcl_tensor_copy(cols, a));
    split_expect_same(w, cols, "copy into a column view of a split table");
    float *all = split_download(wide);
    for (int r = 0; r < V; r++)
        for (int c = 0; c < D + 4; c++) {
            float want = c < 2 || c >= 2 + D ? -1.0f : h[r * D + c - 2];
            cr_assert(all[r * (D + 4) + c] == want, "wide[%d][%d] is %g, want %g", r, c,
                      (double)all[r * (D + 4) + c], (double)want);
        }
    free(all);
    embcl_tensor_free(cols);
    embcl_tensor_free(wide);
    embcl_tensor_free(w2);
    embcl_tensor_free(w);
    embcl_tensor_free(a);
    embcl_tensor_free(b);
    free(h);
}

Test(split_tensor, row_and_column_views)
{
    float *h = malloc(V * D * sizeof *h);
    split_fill_random(h, V * D, 3);
    embcl_tensor_t w = split_f32(P.dev[WHOLE], V, D, h), s = split_f32(P.dev[SPLIT], V, D, h);
    /* within a part, from a part's start across parts, the ragged end */
    int64_t ranges[][2] = {{10, 20}, {256, 700}, {512, 1200}, {1024, 1200}, {0, 1200}, {1199, 1200}, {1200, 1200}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        embcl_tensor_t vw, vs;
        TEST_OK(embcl_tensor_view_rows(w, ranges[i][0], ranges[i][1], &vw));
        TEST_OK(embcl_tensor_view_rows(s, ranges[i][0], ranges[i][1], &vs));
        split_expect_same(vw, vs, "row view");
        TEST_OK(embcl_tensor_fill(vw, (double)i));
        TEST_OK(embcl_tensor_fill(vs, (double)i));
        embcl_tensor_free(vw);
        embcl_tensor_free(vs);
    }
    split_expect_same(w, s, "the table after filling its row views");
    embcl_tensor_t v;
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_tensor_view_rows(s, 250, 260, &v), "embcl_tensor_view_rows",
               "[250, 260)", "multiple of 256");
    embcl_tensor_t cw, cs;
    TEST_OK(embcl_tensor_view_cols(w, 3, 11, &cw));
    TEST_OK(embcl_tensor_view_cols(s, 3, 11, &cs));
    cr_assert(split_is_split(cs));
    split_expect_same(cw, cs, "column view");
    float *c8 = malloc(V * 8 * sizeof *c8);
    split_fill_random(c8, V * 8, 4);
    TEST_OK(embcl_tensor_upload(cw, c8, V * 8 * sizeof *c8));
    TEST_OK(embcl_tensor_upload(cs, c8, V * 8 * sizeof *c8));
    split_expect_same(w, s, "the table after uploading into its column view");
    embcl_tensor_t rw, rs;
    int64_t shape3[3] = {120, 10, D};
    TEST_OK(embcl_tensor_reshape(w, 3, shape3, &rw));
    TEST_OK(embcl_tensor_reshape(s, 3, shape3, &rs));
    split_expect_same(rw, rs, "reshape keeping the rows' width");
    int64_t flat = V * D;
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_tensor_reshape(s, 1, &flat, &v), "embcl_tensor_reshape", "split");
    cr_assert(embcl_tensor_shares_buffer(s, cs));
    embcl_tensor_free(rw);
    embcl_tensor_free(rs);
    embcl_tensor_free(cw);
    embcl_tensor_free(cs);
    embcl_tensor_free(w);
    embcl_tensor_free(s);
    free(c8);
    free(h);
}

Test(split_tensor, what_cannot_be_split_fails_by_name)
{
    embcl_tensor_t t;
    /* one row of 16388 bytes does not fit in 16384 */
    int64_t wide[2] = {4, 4097};
    TEST_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_tensor_create(P.dev[SPLIT], EMBCL_F32, 2, wide, &t),
               "embcl_tensor_create", "(16388 bytes)", "does not fit", "16384");
    /* a 1-D tensor is one row */
    int64_t n = 5000;
    TEST_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_tensor_create(P.dev[SPLIT], EMBCL_F32, 1, &n, &t),
               "embcl_tensor_create", "20000 bytes", "does not fit");
    /* more parts than EMBCL_MAX_PARTS (8): 9 parts of 256 rows */
    int64_t tall[2] = {256 * 8 + 1, D};
    TEST_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_tensor_create(P.dev[SPLIT], EMBCL_F32, 2, tall, &t),
               "embcl_tensor_create", "9 buffers", "at most 8");
    /* an op that takes single buffers names the argument and the sizes */
    embcl_tensor_t s = split_f32(P.dev[SPLIT], V, D, NULL), y = split_f32(P.dev[SPLIT], V, D, NULL);
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_tanh(s, y), "embcl_tanh", "[1200, 16]", "5 buffers", "16384");
    embcl_tensor_free(s);
    embcl_tensor_free(y);
}

Test(split_tensor, environment_sets_the_limit)
{
    setenv("EMBCL_MAX_ALLOC", "16384", 1);
    embcl_runtime_t rt = test_runtime();
    unsetenv("EMBCL_MAX_ALLOC");
    embcl_device_t dev = test_device(rt);
    embcl_tensor_t t = split_f32(dev, V, D, NULL);
    cr_assert(split_is_split(t), "EMBCL_MAX_ALLOC=16384 did not split a [1200, 16] table");
    embcl_tensor_free(t);
    embcl_runtime_free(rt);
    setenv("EMBCL_MAX_ALLOC", "lots", 1);
    embcl_runtime_t bad = NULL;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_runtime_create(NULL, &bad), "EMBCL_MAX_ALLOC", "'lots'");
    unsetenv("EMBCL_MAX_ALLOC");
}
