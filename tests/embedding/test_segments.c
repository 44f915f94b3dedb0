/* embcl_segments_build against a plain-C reference: a stable sort of
 * positions by index, the distinct kept values, and segment starts. Several
 * tunings (serial CPU groups, GPU-like wide groups, odd sizes) must give
 * the same bits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/segments.h"
#include "test_util.h"

TEST_DEVICE_FIXTURE
TestSuite(segments, .init = test_device_setup, .fini = test_device_teardown, .timeout = 120);

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

enum dist { UNIFORM, SKEWED, ALL_EQUAL };

/* Skewed: u^6 piles most draws onto the first rows, as Zipf-like traffic does. */
static int64_t *make_indices(int64_t n, int64_t num_rows, enum dist d, uint64_t seed)
{
    int64_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(rng_next(&seed) >> 11) / 9007199254740992.0;
        if (d == UNIFORM)
            v[i] = (int64_t)(u * (double)num_rows);
        else if (d == SKEWED)
            v[i] = (int64_t)(u * u * u * u * u * u * (double)num_rows);
        else
            v[i] = num_rows / 2;
    }
    return v;
}

static embcl_tensor_t upload_indices(const int64_t *v, int64_t n, embcl_dtype dt)
{
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, dt, 1, &n, &t));
    if (dt == EMBCL_I64) {
        TEST_OK(embcl_tensor_upload(t, v, (size_t)n * 8));
    } else {
        int32_t *w = malloc((size_t)(n > 0 ? n : 1) * 4);
        for (int64_t i = 0; i < n; i++)
            w[i] = (int32_t)v[i];
        TEST_OK(embcl_tensor_upload(t, w, (size_t)n * 4));
        free(w);
    }
    return t;
}

/* The reference: kept positions by (value, position), then skipped ones. */
typedef struct ref_seg {
    int32_t *perm, *seg_start;
    int64_t *uniq;
    int64_t nnz;
} ref_seg;

static const int64_t *cmp_vals;
static int cmp_pos(const void *a, const void *b)
{
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (cmp_vals[i] != cmp_vals[j])
        return cmp_vals[i] < cmp_vals[j] ? -1 : 1;
    return (i > j) - (i < j);
}

static ref_seg reference(const int64_t *v, int64_t n, int64_t skip)
{
    ref_seg r;
    r.perm = malloc((size_t)(n + 1) * 4);
    r.seg_start = malloc((size_t)(n + 1) * 4);
    r.uniq = malloc((size_t)(n + 1) * 8);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (v[i] != skip)
            r.perm[m++] = (int32_t)i;
    int64_t tail = m;
    for (int64_t i = 0; i < n; i++)
        if (v[i] == skip)
            r.perm[tail++] = (int32_t)i;
    cmp_vals = v;
    qsort(r.perm, (size_t)m, 4, cmp_pos);
    r.nnz = 0;
    for (int64_t i = 0; i < m; i++)
        if (i == 0 || v[r.perm[i]] != v[r.perm[i - 1]]) {
            r.seg_start[r.nnz] = (int32_t)i;
            r.uniq[r.nnz++] = v[r.perm[i]];
        }
    r.seg_start[r.nnz] = (int32_t)m;
    return r;
}

static void ref_free_seg(ref_seg *r)
{
    free(r->perm);
    free(r->seg_start);
    free(r->uniq);
}

/* Download what the device built: perm [n], uniq [nnz], seg_start [nnz + 1]. */
static void fetch(const embcl_segments *s, int32_t *perm, int64_t *uniq, int32_t *seg_start)
{
    TEST_OK(embcl_tensor_download(s->perm, perm, (size_t)s->n * 4));
    int64_t *u = malloc((size_t)(s->n + 1) * 8);
    int32_t *st = malloc((size_t)(s->n + 1) * 4);
    TEST_OK(embcl_tensor_download(s->uniq, u, (size_t)s->n * 8));
    TEST_OK(embcl_tensor_download(s->seg_start, st, (size_t)(s->n + 1) * 4));
    memcpy(uniq, u, (size_t)s->nnz * 8);
    memcpy(seg_start, st, (size_t)(s->nnz + 1) * 4);
    free(u);
    free(st);
}

/* v: n indices, built against num_rows rows (d only for the messages).
 * Uploaded indices let the host count the distinct rows from the upload's
 * facts; a device-written copy makes the device count them (read back):
 * both are checked. */
static void check_values_on(int64_t *v, int64_t n, int64_t num_rows, enum dist d, embcl_dtype dt, int64_t skip,
                            int device_written)
{
    embcl_tensor_t t = upload_indices(v, n, dt);
    if (device_written && n > 0) {
        embcl_tensor_t c;
        TEST_OK(embcl_tensor_create(dev, dt, 1, &n, &c));
        TEST_OK(embcl_tensor_copy(c, t));
        embcl_tensor_free(t);
        t = c;
    }
    embcl_segments s;
    TEST_OK(embcl_segments_build(t, num_rows, skip, "test", "indices", &s));
    ref_seg r = reference(v, n, skip);
    cr_assert_eq(s.n, n);
    cr_assert_eq(s.nnz, r.nnz, "n=%lld rows=%lld dist=%d %s skip=%lld: nnz %lld, expected %lld", (long long)n,
                 (long long)num_rows, d, embcl_dtype_name(dt), (long long)skip, (long long)s.nnz, (long long)r.nnz);
    int32_t *perm = malloc((size_t)(n + 1) * 4), *st = malloc((size_t)(n + 1) * 4);
    int64_t *uniq = malloc((size_t)(n + 1) * 8);
    fetch(&s, perm, uniq, st);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(perm[i], r.perm[i], "n=%lld rows=%lld dist=%d %s skip=%lld: perm[%lld] = %d, expected %d",
                     (long long)n, (long long)num_rows, d, embcl_dtype_name(dt), (long long)skip, (long long)i,
                     perm[i], r.perm[i]);
    for (int64_t i = 0; i < r.nnz; i++)
        cr_assert_eq(uniq[i], r.uniq[i], "uniq[%lld] = %lld, expected %lld", (long long)i, (long long)uniq[i],
                     (long long)r.uniq[i]);
    for (int64_t i = 0; i <= r.nnz; i++)
        cr_assert_eq(st[i], r.seg_start[i], "seg_start[%lld] = %d, expected %d", (long long)i, st[i],
                     r.seg_start[i]);
    free(perm);
    free(st);
    free(uniq);
    ref_free_seg(&r);
    embcl_segments_free(&s);
    embcl_tensor_free(t);
}

static void check_values(int64_t *v, int64_t n, int64_t num_rows, enum dist d, embcl_dtype dt, int64_t skip)
{
    check_values_on(v, n, num_rows, d, dt, skip, 0);
    check_values_on(v, n, num_rows, d, dt, skip, 1);
}

static void check_case(int64_t n, int64_t num_rows, enum dist d, embcl_dtype dt, int64_t skip, uint64_t seed)
{
    int64_t *v = make_indices(n, num_rows, d, seed);
    check_values(v, n, num_rows, d, dt, skip);
    free(v);
}

static void sweep(void)
{
    static const int64_t ns[] = {0, 1, 7, 65, 100000};
    static const int64_t rows[] = {1, 5, 1000000};
    uint64_t seed = 42;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof rows / sizeof rows[0]; b++)
            for (int d = UNIFORM; d <= SKEWED; d++) {
                embcl_dtype dt = (a + b + (size_t)d) % 2 ? EMBCL_I32 : EMBCL_I64;
                check_case(ns[a], rows[b], (enum dist)d, dt, -1, seed++);
                /* the padding row: the most frequent value under skew */
                check_case(ns[a], rows[b], (enum dist)d, dt == EMBCL_I32 ? EMBCL_I64 : EMBCL_I32, 0, seed++);
            }
}

Test(segments, matches_reference_uniform_and_skewed)
{
    sweep();
}

Test(segments, all_equal_and_all_skipped)
{
    check_case(5000, 1000, ALL_EQUAL, EMBCL_I32, -1, 1);
    check_case(5000, 1000, ALL_EQUAL, EMBCL_I64, 500, 2); /* every position skipped: nnz 0 */
    check_case(5000, 1000, ALL_EQUAL, EMBCL_I64, 3, 3);
    check_case(1, 1, ALL_EQUAL, EMBCL_I32, 0, 4);
}

Test(segments, largest_rows_use_every_key_bit)
{
    check_case(20000, 4000000000ll, UNIFORM, EMBCL_I64, 3999999999ll, 5);
    check_case(20000, 10000000, SKEWED, EMBCL_I32, -1, 6);
}

/* GPU-shaped work-groups must give the same result as the CPU's serial
 * ones; odd sizes catch code that assumes powers of two. */
static void sweep_with(const char *tuning)
{
    embcl_runtime_free(rt);
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = tuning;
    rt = test_runtime_with(&o);
    dev = test_device(rt);
    check_case(100000, 1000000, UNIFORM, EMBCL_I64, -1, 7);
    check_case(100000, 1000000, SKEWED, EMBCL_I32, 0, 8);
    check_case(65, 5, UNIFORM, EMBCL_I32, 2, 9);
    check_case(7, 1, UNIFORM, EMBCL_I64, -1, 10);
    check_case(4099, 300, SKEWED, EMBCL_I64, -1, 11);
}

/* Uploaded indices far below num_rows: the upload's facts cut the radix
 * bits (one pass instead of two); with a padding row the full range stays. */
Test(segments, narrow_uploaded_indices_take_fewer_bits)
{
    int64_t *v = make_indices(50000, 1500, UNIFORM, 21);
    check_values(v, 50000, 1000000, UNIFORM, EMBCL_I64, -1);
    check_values(v, 50000, 1000000, UNIFORM, EMBCL_I32, 3);
    v[777] = 1499999; /* one wide index: the full range again */
    check_values(v, 50000, 2000000, UNIFORM, EMBCL_I64, -1);
    free(v);
}

Test(segments, gpu_shaped_groups)
{
    sweep_with("sort.WGS=64,sort.RB=6,sort.IPT=16,sort.GROUPS=2048");
}

/* Up to 1024 work-items, not a power of two, most of them with empty chunks
 * on small inputs, a tiny radix (many passes), more groups than needed. */
Test(segments, wide_odd_groups_many_passes)
{
    sweep_with("sort.WGS=1000,sort.RB=3,sort.IPT=3,sort.GROUPS=13");
}

/* What a build defines: perm, then uniq and seg_start up to nnz (past it
 * they are pool memory nobody wrote; valgrind flagged comparing it). The
 * rest of buf stays as the caller zeroed it. */
static void download_all(const embcl_segments *s, void *buf)
{
    char *p = buf;
    TEST_OK(embcl_tensor_download(s->perm, p, (size_t)s->n * 4));
    int64_t *uniq = malloc((size_t)s->n * 8);
    int32_t *st = malloc((size_t)(s->n + 1) * 4);
    TEST_OK(embcl_tensor_download(s->uniq, uniq, (size_t)s->n * 8));
    TEST_OK(embcl_tensor_download(s->seg_start, st, (size_t)(s->n + 1) * 4));
    memcpy(p + s->n * 4, uniq, (size_t)s->nnz * 8);
    memcpy(p + s->n * 12, st, (size_t)(s->nnz + 1) * 4);
    free(uniq);
    free(st);
}

Test(segments, deterministic_and_allocation_free_when_repeated)
{
    int64_t n = 81920, num_rows = 1000000;
    int64_t *v = make_indices(n, num_rows, SKEWED, 12);
    embcl_tensor_t t = upload_indices(v, n, EMBCL_I64);
    size_t bytes = (size_t)n * 16 + 4;
    char *a = calloc(1, bytes), *b = calloc(1, bytes);
    embcl_segments s;
    TEST_OK(embcl_segments_build(t, num_rows, 7, "test", "indices", &s));
    download_all(&s, a);
    int64_t nnz = s.nnz;
    embcl_segments_free(&s);
    embcl_pool_stats before, after;
    TEST_OK(embcl_device_pool_stats(dev, &before));
    TEST_OK(embcl_segments_build(t, num_rows, 7, "test", "indices", &s));
    TEST_OK(embcl_device_pool_stats(dev, &after));
    cr_assert_eq(after.cl_allocs, before.cl_allocs, "the second call allocated %llu new OpenCL buffers",
                 (unsigned long long)(after.cl_allocs - before.cl_allocs));
    cr_assert_eq(s.nnz, nnz);
    download_all(&s, b);
    cr_assert(memcmp(a, b, bytes) == 0, "two runs gave different bytes");
    embcl_segments_free(&s);
    embcl_tensor_free(t);
    free(a);
    free(b);
    free(v);
}

/* A bad index fails the call, names the first bad position and its value,
 * leaves *out alone and returns every buffer to the pool. */
static void check_bad(embcl_dtype dt, int64_t n, int64_t num_rows, const int64_t *pos, const int64_t *val,
                      size_t nbad, const char *want_pos, const char *want_val)
{
    int64_t *v = make_indices(n, num_rows, UNIFORM, 13);
    for (size_t i = 0; i < nbad; i++)
        v[pos[i]] = val[i];
    embcl_tensor_t t = upload_indices(v, n, dt);
    embcl_pool_stats before, after;
    TEST_OK(embcl_device_pool_stats(dev, &before));
    embcl_segments s, keep;
    memset(&s, 0x5a, sizeof s);
    keep = s;
    char rows[32];
    snprintf(rows, sizeof rows, "[0, %lld)", (long long)num_rows);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_segments_build(t, num_rows, -1, "embcl_embedding_bag", "indices", &s),
               "embcl_embedding_bag", "argument 'indices'", want_pos, want_val, rows);
    cr_assert(memcmp(&s, &keep, sizeof s) == 0, "a failed call wrote its output");
    TEST_OK(embcl_device_pool_stats(dev, &after));
    cr_assert_eq(after.bytes_in_use, before.bytes_in_use, "a failed call kept buffers");
    embcl_tensor_free(t);
    free(v);
}

Test(segments, out_of_range_names_first_position_and_value)
{
    int64_t p1[] = {90000, 17, 50000}, v1[] = {1000000, 1000000, 5};
    check_bad(EMBCL_I64, 100000, 1000000, p1, v1, 2, "position 17,", "has 1000000 at");
    int64_t p2[] = {64, 3}, v2[] = {-1, 99};
    check_bad(EMBCL_I32, 65, 5, p2, v2, 2, "position 3,", "has 99 at");
    int64_t p3[] = {0}, v3[] = {-7};
    check_bad(EMBCL_I32, 1, 1, p3, v3, 1, "position 0,", "has -7 at");
    int64_t p4[] = {99999}, v4[] = {-5000000000ll};
    check_bad(EMBCL_I64, 100000, 1000000, p4, v4, 1, "position 99999,", "has -5000000000 at");
}

Test(segments, bad_arguments_are_named)
{
    int64_t n = 4;
    embcl_tensor_t f;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, &n, &f));
    embcl_segments s;
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_segments_build(f, 10, -1, "embcl_embedding", "input", &s), "embcl_embedding",
               "'input'", "f32");
    int64_t v[4] = {0, 1, 2, 3};
    embcl_tensor_t t = upload_indices(v, 4, EMBCL_I64);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_segments_build(t, 10, 10, "embcl_embedding", "input", &s),
               "padding index 10");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_segments_build(NULL, 10, -1, "embcl_embedding", "input", &s), "'input'");
    TEST_FAILS(EMBCL_ERR_UNSUPPORTED, embcl_segments_build(t, 5000000000ll, -1, "embcl_embedding", "input", &s),
               "5000000000");
    embcl_tensor_free(t);
    embcl_tensor_free(f);
}

Test(segments, index_views_with_offsets)
{
    int64_t shape[2] = {4, 5};
    int64_t v[20];
    for (int i = 0; i < 20; i++)
        v[i] = (i * 7) % 6;
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 2, shape, &t));
    TEST_OK(embcl_tensor_upload(t, v, sizeof v));
    embcl_tensor_t rows23;
    TEST_OK(embcl_tensor_view_rows(t, 2, 4, &rows23));
    embcl_segments s;
    TEST_OK(embcl_segments_build(rows23, 6, -1, "test", "indices", &s));
    ref_seg r = reference(v + 10, 10, -1);
    int32_t perm[10], st[11];
    int64_t uniq[10];
    cr_assert_eq(s.nnz, r.nnz);
    fetch(&s, perm, uniq, st);
    cr_assert(memcmp(perm, r.perm, sizeof perm) == 0);
    cr_assert(memcmp(uniq, r.uniq, (size_t)r.nnz * 8) == 0);
    ref_free_seg(&r);
    embcl_segments_free(&s);
    embcl_tensor_free(rows23);
    embcl_tensor_free(t);
}
