/* Row-sparse gradients against a dense host reference: set (coalesce),
 * the ids/values views, to_dense in both modes, add with overlapping,
 * disjoint, empty and aliased operands, and every named error leaving its
 * operands unchanged. Sums happen in the same order on both sides, so
 * results are compared bit for bit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

TEST_DEVICE_FIXTURE
TestSuite(rowsparse, .init = test_device_setup, .fini = test_device_teardown, .timeout = 120);

static uint64_t rng_state = 7;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Random host COO data: nnz ids below `range`, values in [-1, 1) that are never -0. */
typedef struct coo {
    int64_t nnz, dim;
    int64_t *ids;
    float *values;
} coo;

static coo coo_random(int64_t nnz, int64_t dim, int64_t range)
{
    coo c = {nnz, dim, malloc((size_t)(nnz + 1) * 8), malloc((size_t)(nnz * dim + 1) * 4)};
    for (int64_t i = 0; i < nnz; i++)
        c.ids[i] = (int64_t)(rng_next() % (uint64_t)range);
    for (int64_t i = 0; i < nnz * dim; i++)
        c.values[i] = (float)((double)(rng_next() >> 40) / (double)(1 << 23) - 1.0) + 0.0f;
    return c;
}

static void coo_free(coo *c)
{
    free(c->ids);
    free(c->values);
}

/* dense += c in input order; present[r] marks rows c touches. */
static void coo_accumulate(const coo *c, float *dense, char *present)
{
    for (int64_t i = 0; i < c->nnz; i++) {
        present[c->ids[i]] = 1;
        for (int64_t k = 0; k < c->dim; k++)
            dense[c->ids[i] * c->dim + k] += c->values[i * c->dim + k];
    }
}

/* Check g holds exactly the present rows of dense, ascending. */
static void expect_rows(embcl_rowsparse_t g, const float *dense, const char *present, const char *what)
{
    int64_t rows = embcl_rowsparse_num_rows(g), dim = embcl_rowsparse_dim(g), want = 0;
    for (int64_t r = 0; r < rows; r++)
        want += present[r];
    cr_assert_eq(embcl_rowsparse_nnz(g), want, "%s: nnz %lld, expected %lld", what,
                 (long long)embcl_rowsparse_nnz(g), (long long)want);
    embcl_tensor_t ids, vals;
    TEST_OK(embcl_rowsparse_ids(g, &ids));
    TEST_OK(embcl_rowsparse_values(g, &vals));
    cr_assert_eq(embcl_tensor_numel(ids), want);
    cr_assert_eq(embcl_tensor_dim(vals, 0), want);
    cr_assert_eq(embcl_tensor_dim(vals, 1), dim);
    int64_t *gi = malloc((size_t)(want + 1) * 8);
    float *gv = malloc((size_t)(want * dim + 1) * 4);
    TEST_OK(embcl_tensor_download(ids, gi, (size_t)want * 8));
    TEST_OK(embcl_tensor_download(vals, gv, (size_t)(want * dim) * 4));
    int64_t j = 0;
    for (int64_t r = 0; r < rows; r++) {
        if (!present[r])
            continue;
        cr_assert_eq(gi[j], r, "%s: ids[%lld] = %lld, expected %lld", what, (long long)j, (long long)gi[j],
                     (long long)r);
        cr_assert(memcmp(gv + j * dim, dense + r * dim, (size_t)dim * 4) == 0, "%s: row %lld differs", what,
                  (long long)r);
        j++;
    }
    free(gi);
    free(gv);
    embcl_tensor_free(ids);
    embcl_tensor_free(vals);
}

static embcl_rowsparse_t make(int64_t rows, int64_t dim, int64_t cap, const coo *c)
{
    embcl_rowsparse_t g;
    TEST_OK(embcl_rowsparse_create(dev, rows, dim, cap, &g));
    if (c)
        TEST_OK(embcl_rowsparse_set(g, c->nnz, c->ids, c->values));
    return g;
}

Test(rowsparse, create_reports_sizes)
{
    embcl_rowsparse_t g = make(100, 8, 40, NULL);
    cr_assert_eq(embcl_rowsparse_num_rows(g), 100);
    cr_assert_eq(embcl_rowsparse_dim(g), 8);
    cr_assert_eq(embcl_rowsparse_capacity(g), 40);
    cr_assert_eq(embcl_rowsparse_nnz(g), 0);
    cr_assert_eq(embcl_rowsparse_device(g), dev);
    embcl_rowsparse_free(g);
    g = make(10, 3, 1000, NULL);
    cr_assert_eq(embcl_rowsparse_capacity(g), 10, "capacity beyond num_rows is never usable");
    embcl_rowsparse_free(g);
    embcl_rowsparse_free(NULL);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_create(dev, 10, -3, 5, &g), "embcl_rowsparse_create", "'dim'", "-3");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_rowsparse_create(NULL, 10, 3, 5, &g), "'dev'");
}

Test(rowsparse, set_coalesces_like_pytorch)
{
    static const int64_t sizes[][3] = {{0, 50, 4}, {1, 50, 4}, {7, 5, 3}, {65, 5, 16}, {3000, 1000, 5}, {500, 1, 2}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t nnz = sizes[s][0], rows = sizes[s][1], dim = sizes[s][2];
        coo c = coo_random(nnz, dim, rows);
        embcl_rowsparse_t g = make(rows, dim, nnz, &c);
        float *dense = calloc((size_t)(rows * dim), 4);
        char *present = calloc((size_t)rows, 1);
        coo_accumulate(&c, dense, present);
        expect_rows(g, dense, present, "set");
        free(dense);
        free(present);
        coo_free(&c);
        embcl_rowsparse_free(g);
    }
}

Test(rowsparse, zero_width_rows_keep_ids)
{
    int64_t ids[5] = {4, 1, 4, 0, 1}, want[3] = {0, 1, 4}, got[3];
    embcl_rowsparse_t g = make(6, 0, 6, NULL);
    TEST_OK(embcl_rowsparse_set(g, 5, ids, NULL));
    cr_assert_eq(embcl_rowsparse_nnz(g), 3);
    embcl_tensor_t t;
    TEST_OK(embcl_rowsparse_ids(g, &t));
    TEST_OK(embcl_tensor_download(t, got, sizeof got));
    cr_assert(memcmp(got, want, sizeof got) == 0);
    embcl_tensor_free(t);
    embcl_rowsparse_free(g);
}

Test(rowsparse, set_then_zero_is_empty)
{
    coo c = coo_random(20, 3, 10);
    embcl_rowsparse_t g = make(10, 3, 10, &c);
    TEST_OK(embcl_rowsparse_zero(g));
    cr_assert_eq(embcl_rowsparse_nnz(g), 0);
    coo_free(&c);
    embcl_rowsparse_free(g);
}

static void check_to_dense(int64_t rows, int64_t dim, int64_t nnz, int accumulate, int column_view)
{
    coo c = coo_random(nnz, dim, rows);
    embcl_rowsparse_t g = make(rows, dim, nnz, &c);
    /* The target is columns [2, 2 + dim) of a wider table when column_view. */
    int64_t width = column_view ? dim + 5 : dim, shape[2] = {rows, width};
    float *host = malloc((size_t)(rows * width) * 4);
    for (int64_t i = 0; i < rows * width; i++)
        host[i] = (float)(i % 13) - 6.0f;
    embcl_tensor_t table = test_tensor_f32(dev, 2, shape, host), dense = table;
    if (column_view)
        TEST_OK(embcl_tensor_view_cols(table, 2, 2 + dim, &dense));
    TEST_OK(embcl_rowsparse_to_dense(g, dense, accumulate));
    float *want = malloc((size_t)(rows * width) * 4), *got = malloc((size_t)(rows * width) * 4);
    float *acc = calloc((size_t)(rows * dim), 4);
    char *present = calloc((size_t)rows, 1);
    coo_accumulate(&c, acc, present);
    int64_t c0 = column_view ? 2 : 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < width; k++) {
            float old = host[r * width + k];
            int inside = k >= c0 && k < c0 + dim;
            want[r * width + k] = !inside ? old : present[r] ? (accumulate ? old + acc[r * dim + k - c0] : acc[r * dim + k - c0])
                                                             : (accumulate ? old : 0.0f);
        }
    TEST_OK(embcl_tensor_download(table, got, (size_t)(rows * width) * 4));
    cr_assert(memcmp(got, want, (size_t)(rows * width) * 4) == 0, "to_dense rows=%lld dim=%lld nnz=%lld acc=%d view=%d",
              (long long)rows, (long long)dim, (long long)nnz, accumulate, column_view);
    if (column_view)
        embcl_tensor_free(dense);
    embcl_tensor_free(table);
    embcl_rowsparse_free(g);
    coo_free(&c);
    free(host);
    free(want);
    free(got);
    free(acc);
    free(present);
}

Test(rowsparse, to_dense_overwrites_or_accumulates)
{
    for (int acc = 0; acc < 2; acc++) {
        check_to_dense(1000, 16, 300, acc, 0);
        check_to_dense(5, 3, 7, acc, 0);
        check_to_dense(5, 3, 0, acc, 0);
        check_to_dense(40, 7, 65, acc, 1);
    }
}

/* dst := a + b against dense sums; `alias` 1: dst is a, 2: dst is b, 3: a is b. */
static void check_add(int64_t rows, int64_t dim, int64_t na, int64_t nb, int64_t range_b_lo, int alias)
{
    coo ca = coo_random(na, dim, rows), cb = coo_random(nb, dim, rows - range_b_lo);
    for (int64_t i = 0; i < nb; i++)
        cb.ids[i] += range_b_lo;
    embcl_rowsparse_t a = make(rows, dim, rows, &ca);
    embcl_rowsparse_t b = alias == 3 ? a : make(rows, dim, rows, &cb);
    embcl_rowsparse_t dst = alias == 1 ? a : alias == 2 ? b : make(rows, dim, rows, NULL);
    float *dense = calloc((size_t)(rows * dim + 1), 4), *db = calloc((size_t)(rows * dim + 1), 4);
    char *present = calloc((size_t)rows, 1);
    coo_accumulate(&ca, dense, present);
    coo_accumulate(alias == 3 ? &ca : &cb, db, present);
    for (int64_t i = 0; i < rows * dim; i++)
        dense[i] += db[i];
    TEST_OK(embcl_rowsparse_add(dst, a, b));
    expect_rows(dst, dense, present, "add");
    if (dst != a && dst != b)
        embcl_rowsparse_free(dst);
    if (b != a)
        embcl_rowsparse_free(b);
    embcl_rowsparse_free(a);
    coo_free(&ca);
    coo_free(&cb);
    free(dense);
    free(db);
    free(present);
}

Test(rowsparse, add_overlapping_disjoint_empty_and_aliased)
{
    check_add(100, 8, 60, 70, 0, 0);   /* overlapping */
    check_add(100, 8, 30, 30, 50, 0);  /* b's rows may land above a's */
    check_add(1000, 3, 0, 40, 0, 0);   /* a empty */
    check_add(1000, 3, 40, 0, 0, 0);   /* b empty */
    check_add(1000, 3, 0, 0, 0, 0);    /* both empty */
    check_add(5000, 17, 2000, 3000, 0, 1); /* dst is a */
    check_add(5000, 17, 2000, 3000, 0, 2); /* dst is b */
    check_add(64, 4, 50, 0, 0, 3);     /* a + a */
    check_add(10, 0, 5, 5, 0, 0);      /* zero-width rows still merge ids */
}

Test(rowsparse, add_of_disjoint_ranges_keeps_both)
{
    coo ca = coo_random(20, 2, 50), cb = coo_random(20, 2, 50);
    for (int64_t i = 0; i < 20; i++)
        cb.ids[i] += 50;
    embcl_rowsparse_t a = make(100, 2, 50, &ca), b = make(100, 2, 50, &cb), dst = make(100, 2, 100, NULL);
    TEST_OK(embcl_rowsparse_add(dst, a, b));
    cr_assert_eq(embcl_rowsparse_nnz(dst), embcl_rowsparse_nnz(a) + embcl_rowsparse_nnz(b));
    embcl_pool_stats before, after;
    TEST_OK(embcl_device_pool_stats(dev, &before));
    TEST_OK(embcl_rowsparse_add(dst, a, b));
    TEST_OK(embcl_device_pool_stats(dev, &after));
    cr_assert_eq(after.cl_allocs, before.cl_allocs, "a repeated add allocated new OpenCL buffers");
    embcl_rowsparse_free(a);
    embcl_rowsparse_free(b);
    embcl_rowsparse_free(dst);
    coo_free(&ca);
    coo_free(&cb);
}

/* The ids and values a gradient holds, for checking that a failed call left it alone. */
static void snapshot(embcl_rowsparse_t g, int64_t *nnz, int64_t *ids, float *vals)
{
    *nnz = embcl_rowsparse_nnz(g);
    embcl_tensor_t ti, tv;
    TEST_OK(embcl_rowsparse_ids(g, &ti));
    TEST_OK(embcl_rowsparse_values(g, &tv));
    TEST_OK(embcl_tensor_download(ti, ids, (size_t)*nnz * 8));
    TEST_OK(embcl_tensor_download(tv, vals, (size_t)(*nnz * embcl_rowsparse_dim(g)) * 4));
    embcl_tensor_free(ti);
    embcl_tensor_free(tv);
}

static void expect_unchanged(embcl_rowsparse_t g, int64_t nnz, const int64_t *ids, const float *vals)
{
    int64_t n2, ids2[64];
    float vals2[256];
    snapshot(g, &n2, ids2, vals2);
    cr_assert_eq(n2, nnz, "a failed call changed nnz");
    cr_assert(memcmp(ids2, ids, (size_t)nnz * 8) == 0, "a failed call changed ids");
    cr_assert(memcmp(vals2, vals, (size_t)(nnz * embcl_rowsparse_dim(g)) * 4) == 0, "a failed call changed values");
}

Test(rowsparse, set_errors_name_position_and_leave_g_alone)
{
    coo c = coo_random(12, 4, 30);
    embcl_rowsparse_t g = make(30, 4, 12, &c);
    int64_t nnz, ids[64];
    float vals[256];
    snapshot(g, &nnz, ids, vals);
    coo bad = coo_random(12, 4, 30);
    bad.ids[9] = 30;
    bad.ids[11] = -2;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_rowsparse_set(g, 12, bad.ids, bad.values), "embcl_rowsparse_set",
               "'ids' has 30 at position 9", "[0, 30)");
    bad.ids[9] = 0;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_rowsparse_set(g, 12, bad.ids, bad.values), "-2 at position 11");
    expect_unchanged(g, nnz, ids, vals);
    coo many = coo_random(40, 4, 30); /* up to 30 distinct rows, capacity 12 */
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_set(g, 40, many.ids, many.values), "embcl_rowsparse_set",
               "capacity is 12");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_set(g, -1, many.ids, many.values), "'nnz' is -1");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_rowsparse_set(g, 3, NULL, many.values), "'ids'");
    expect_unchanged(g, nnz, ids, vals);
    /* 40 entries over 12 distinct rows fit a capacity of 12 once coalesced. */
    for (int i = 0; i < 40; i++)
        many.ids[i] = (i * 7) % 12;
    TEST_OK(embcl_rowsparse_set(g, 40, many.ids, many.values));
    cr_assert_eq(embcl_rowsparse_nnz(g), 12);
    embcl_rowsparse_free(g);
    coo_free(&c);
    coo_free(&bad);
    coo_free(&many);
}

Test(rowsparse, add_errors_leave_dst_alone)
{
    coo ca = coo_random(10, 4, 30), cb = coo_random(10, 4, 30);
    for (int i = 0; i < 10; i++) {
        ca.ids[i] = i;
        cb.ids[i] = 10 + i;
    }
    embcl_rowsparse_t a = make(30, 4, 10, &ca), b = make(30, 4, 10, &cb);
    int64_t nnz, ids[64];
    float vals[256];
    snapshot(a, &nnz, ids, vals);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_add(a, a, b), "embcl_rowsparse_add", "'dst' has capacity 10",
               "has 20 rows");
    expect_unchanged(a, nnz, ids, vals);
    embcl_rowsparse_t wide = make(30, 5, 30, NULL), tall = make(31, 4, 30, NULL);
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_add(wide, a, b), "'a'", "[30, 4]", "[30, 5]");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_add(a, a, tall), "'b'", "[31, 4]");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_rowsparse_add(a, NULL, b), "'a'");
    expect_unchanged(a, nnz, ids, vals);

    embcl_runtime_t rt2 = test_runtime();
    embcl_device_t dev2 = test_device(rt2);
    embcl_rowsparse_t other;
    TEST_OK(embcl_rowsparse_create(dev2, 30, 4, 30, &other));
    TEST_FAILS(EMBCL_ERR_DEVICE_MISMATCH, embcl_rowsparse_add(other, a, b), "embcl_rowsparse_add", "'a'");
    int64_t shape[2] = {30, 4};
    embcl_tensor_t dense2;
    TEST_OK(embcl_tensor_create(dev2, EMBCL_F32, 2, shape, &dense2));
    TEST_FAILS(EMBCL_ERR_DEVICE_MISMATCH, embcl_rowsparse_to_dense(a, dense2, 0), "embcl_rowsparse_to_dense",
               "'dense'");
    embcl_tensor_free(dense2);
    embcl_rowsparse_free(other);
    embcl_runtime_free(rt2);

    embcl_rowsparse_free(wide);
    embcl_rowsparse_free(tall);
    embcl_rowsparse_free(a);
    embcl_rowsparse_free(b);
    coo_free(&ca);
    coo_free(&cb);
}

Test(rowsparse, to_dense_errors_write_nothing)
{
    coo c = coo_random(5, 4, 30);
    embcl_rowsparse_t g = make(30, 4, 5, &c);
    int64_t s1[2] = {30, 5}, s2[2] = {30, 4}, s3[1] = {120};
    float host[150];
    for (int i = 0; i < 150; i++)
        host[i] = (float)i;
    embcl_tensor_t wrong = test_tensor_f32(dev, 2, s1, host), flat = test_tensor_f32(dev, 1, s3, host), ints;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I32, 2, s2, &ints));
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_to_dense(g, wrong, 0), "embcl_rowsparse_to_dense", "[30, 5]",
               "expected [30, 4]");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_rowsparse_to_dense(g, flat, 1), "[120]");
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_rowsparse_to_dense(g, ints, 0), "'dense'", "i32");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_rowsparse_to_dense(g, NULL, 0), "'dense'");
    float got[150];
    TEST_OK(embcl_tensor_download(wrong, got, sizeof got));
    cr_assert(memcmp(got, host, sizeof got) == 0, "a failed to_dense wrote its target");
    embcl_tensor_free(wrong);
    embcl_tensor_free(flat);
    embcl_tensor_free(ints);
    embcl_rowsparse_free(g);
    coo_free(&c);
}
