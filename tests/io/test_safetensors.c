/* safetensors: files PyTorch wrote are read exactly, embcl's files are the
 * bytes PyTorch was checked to load (tests/make_ref_io.py), and malformed
 * files fail with a message naming what is wrong. */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_test.h"
#include "ref.h"

static void expect_tensor_equals_ref(embcl_safetensors_t st, const ref_tensor *want)
{
    embcl_st_info info;
    TEST_OK(embcl_safetensors_find(st, want->name, &info));
    cr_assert_eq(info.dtype, want->dtype, "%s: dtype %s", want->name, info.dtype_name);
    cr_assert_eq(info.numel, want->numel, "%s: numel", want->name);
    if (info.ndim > 0) {
        cr_assert_eq(info.ndim, want->ndim, "%s: ndim", want->name);
        for (int k = 0; k < info.ndim; k++)
            cr_assert_eq(info.shape[k], want->shape[k], "%s: shape[%d]", want->name, k);
    }
    size_t bytes = (size_t)info.numel * embcl_dtype_size(info.dtype);
    void *got = malloc(bytes ? bytes : 1);
    TEST_OK(embcl_safetensors_read(st, want->name, info.dtype, info.ndim, info.shape, got, bytes));
    for (int64_t i = 0; i < info.numel; i++) {
        if (info.dtype == EMBCL_F32)
            cr_assert_eq(((float *)got)[i], want->f32[i], "%s[%lld]", want->name, (long long)i);
        else if (info.dtype == EMBCL_I32)
            cr_assert_eq(((int32_t *)got)[i], want->i64[i], "%s[%lld]", want->name, (long long)i);
        else
            cr_assert_eq(((int64_t *)got)[i], want->i64[i], "%s[%lld]", want->name, (long long)i);
    }
    free(got);
}

Test(safetensors, reads_torch_written_file_exactly)
{
    ref_file *ref = ref_load(ref_path("io/torch_model.ref"));
    const ref_case *c = ref_case_get(ref, "model");
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(ref_path("io/torch_model.safetensors"), &st));
    cr_assert_eq(embcl_safetensors_count(st), (size_t)c->n_tensors);
    for (int i = 0; i < c->n_tensors; i++)
        expect_tensor_equals_ref(st, &c->tensors[i]);
    embcl_st_info info;
    TEST_OK(embcl_safetensors_find(st, "scale", &info));
    cr_assert_eq(info.ndim, 0, "a 0-d tensor stays 0-d");
    TEST_OK(embcl_safetensors_find(st, "empty", &info));
    cr_assert_eq(info.ndim, 2);
    cr_assert_eq(info.shape[1], 4);
    cr_assert_eq(embcl_safetensors_meta_count(st), 3);
    cr_assert_str_eq(embcl_safetensors_meta(st, "step"), "42");
    cr_assert_str_eq(embcl_safetensors_meta(st, "config"), "{\"dim\": 5, \"lr\": 0.1, \"optimizer\": \"adagrad\"}");
    cr_assert_str_eq(embcl_safetensors_meta(st, "note"),
                     "unicode \xe2\x9c\x93 na\xc3\xafve, \"quotes\", back\\slash");
    cr_assert_null(embcl_safetensors_meta(st, "absent"));
    embcl_safetensors_close(st);
    ref_free(ref);
}

Test(safetensors, lookup_errors_name_the_tensor)
{
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(ref_path("io/torch_model.safetensors"), &st));
    embcl_st_info info;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_find(st, "decoder.weight", &info), "embcl_safetensors_find",
               "'decoder.weight'");
    float buf[35];
    int64_t shape[2] = {7, 5}, wrong[2] = {5, 7};
    TEST_FAILS(EMBCL_ERR_DTYPE, embcl_safetensors_read(st, "embedding.weight", EMBCL_I32, 2, shape, buf, sizeof buf),
               "'embedding.weight' is F32, not i32");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_safetensors_read(st, "embedding.weight", EMBCL_F32, 2, wrong, buf, sizeof buf),
               "shape [7, 5], expected [5, 7]");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_read(st, "embedding.weight", EMBCL_F32, 2, shape, buf, 8),
               "bytes is 8");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_safetensors_at(st, 7, &info), "i = 7");
    embcl_safetensors_close(st);
}

Test(safetensors, reads_file_without_metadata)
{
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(ref_path("io/torch_nometa.safetensors"), &st));
    cr_assert_eq(embcl_safetensors_meta_count(st), 0);
    const char *k = "x", *v = "y";
    embcl_safetensors_meta_at(st, 0, &k, &v);
    cr_assert(k == NULL && v == NULL);
    float w[6];
    int64_t shape[2] = {2, 3};
    TEST_OK(embcl_safetensors_read(st, "w", EMBCL_F32, 2, shape, w, sizeof w));
    for (int i = 0; i < 6; i++)
        cr_assert_eq(w[i], 1.0f);
    embcl_safetensors_close(st);
}

/* The tensors tests/make_ref_io.py expects in embcl_written.safetensors. */
typedef struct {
    float emb[4][3];
    int32_t ids[5];
    int64_t big[2][2];
    float scalar;
    embcl_st_tensor t[5];
} written_set;

static const char *W_KEYS[] = {"config", "step", "rng", "unicode"};
static const char *W_VALUES[] = {"{\"dim\": 3, \"optimizer\": \"adagrad\"}", "1000", "0123456789abcdef",
                                 "na\xc3\xafve \xe2\x9c\x93 \"q\" \\ \n tab\t"};

static void make_written_set(written_set *w)
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            w->emb[i][j] = (float)(i * 3 + j) * 0.25f - 1.0f;
    for (int i = 0; i < 5; i++)
        w->ids[i] = 7 * i - 11;
    for (int k = 0; k < 4; k++)
        w->big[k / 2][k % 2] = ((1LL << 40) + k) * (k % 2 ? -1 : 1);
    w->scalar = 0.1f;
    embcl_st_tensor t[5] = {
        {"embedding.weight", EMBCL_F32, 2, {4, 3}, w->emb},
        {"ids", EMBCL_I32, 1, {5}, w->ids},
        {"big", EMBCL_I64, 2, {2, 2}, w->big},
        {"scalar", EMBCL_F32, 0, {0}, &w->scalar},
        {"empty", EMBCL_F32, 2, {0, 3}, NULL},
    };
    memcpy(w->t, t, sizeof t);
}

Test(safetensors, writes_the_bytes_pytorch_loaded)
{
    written_set w;
    make_written_set(&w);
    mkdir(EMBCL_BINARY_DIR "/io-out", 0755);
    const char *path = EMBCL_BINARY_DIR "/io-out/embcl_written.safetensors";
    TEST_OK(embcl_safetensors_save(path, w.t, 5, W_KEYS, W_VALUES, 4));
    size_t n_got, n_want;
    char *got = io_test_read(path, &n_got);
    char *want = io_test_read(ref_path("io/embcl_written.safetensors"), &n_want);
    cr_assert(n_got == n_want && memcmp(got, want, n_got) == 0,
              "embcl's output differs from tests/data/io/embcl_written.safetensors, which PyTorch was checked to "
              "load; if the change is intended, copy %s there and rerun tests/make_ref_io.py", path);
    free(got);
    free(want);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0644);
}

Test(safetensors, round_trip_write_then_read)
{
    written_set w;
    make_written_set(&w);
    char *dir = test_tempdir("st-roundtrip");
    char *path = io_test_join(dir, "model.safetensors");
    TEST_OK(embcl_safetensors_save(path, w.t, 5, W_KEYS, W_VALUES, 4));
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(path, &st));
    cr_assert_eq(embcl_safetensors_count(st), 5);
    float emb[4][3], scalar;
    int32_t ids[5];
    int64_t big[2][2];
    TEST_OK(embcl_safetensors_read(st, "embedding.weight", EMBCL_F32, 2, w.t[0].shape, emb, sizeof emb));
    TEST_OK(embcl_safetensors_read(st, "ids", EMBCL_I32, 1, w.t[1].shape, ids, sizeof ids));
    TEST_OK(embcl_safetensors_read(st, "big", EMBCL_I64, 2, w.t[2].shape, big, sizeof big));
    TEST_OK(embcl_safetensors_read(st, "scalar", EMBCL_F32, 0, NULL, &scalar, sizeof scalar));
    TEST_OK(embcl_safetensors_read(st, "empty", EMBCL_F32, 2, w.t[4].shape, NULL, 0));
    cr_assert(memcmp(emb, w.emb, sizeof emb) == 0);
    cr_assert(memcmp(ids, w.ids, sizeof ids) == 0);
    cr_assert(memcmp(big, w.big, sizeof big) == 0);
    cr_assert_eq(scalar, 0.1f);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(embcl_safetensors_meta(st, W_KEYS[i]), W_VALUES[i]);
    /* larger elements first, so each tensor is aligned to its element size */
    embcl_st_info info;
    TEST_OK(embcl_safetensors_at(st, 0, &info));
    cr_assert_str_eq(info.name, "big");
    embcl_safetensors_close(st);
    /* a second save replaces the file whole and leaves no temporary behind */
    TEST_OK(embcl_safetensors_save(path, w.t, 1, NULL, NULL, 0));
    TEST_OK(embcl_safetensors_open(path, &st));
    cr_assert_eq(embcl_safetensors_count(st), 1);
    cr_assert_eq(embcl_safetensors_meta_count(st), 0);
    embcl_safetensors_close(st);
    io_test_expect_one_file(dir);
    free(path);
    free(dir);
}

Test(safetensors, save_rejects_bad_arguments_before_writing)
{
    written_set w;
    make_written_set(&w);
    char *dir = test_tempdir("st-args");
    char *path = io_test_join(dir, "x.safetensors");
    embcl_st_tensor t[2] = {w.t[0], w.t[1]};
    t[1].name = "embedding.weight";
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, t, 2, NULL, NULL, 0), "embcl_safetensors_save",
               "'embedding.weight' appears twice");
    t[1] = w.t[1];
    t[1].name = "__metadata__";
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, t, 2, NULL, NULL, 0), "reserved");
    t[1] = w.t[1];
    t[1].dtype = EMBCL_DTYPE_COUNT;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, t, 2, NULL, NULL, 0), "tensors[1] ('ids').dtype");
    t[1] = w.t[1];
    t[1].data = NULL;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, t, 2, NULL, NULL, 0), "('ids').data is NULL");
    t[1] = w.t[1];
    t[1].shape[0] = -2;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, t, 2, NULL, NULL, 0), "shape[0] is -2");
    t[1] = w.t[1];
    t[1].name = "bad\xff";
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, t, 2, NULL, NULL, 0), "not valid UTF-8");
    const char *keys[2] = {"k", "k"}, *values[2] = {"1", "2"};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_safetensors_save(path, w.t, 1, keys, values, 2), "'k' appears twice");
    cr_assert_neq(access(path, F_OK), 0, "nothing may be written on bad arguments");
    TEST_FAILS(EMBCL_ERR_IO, embcl_safetensors_save(EMBCL_BINARY_DIR "/no/such/dir/x.safetensors", w.t, 1, NULL,
                                                    NULL, 0),
               "no/such/dir/x.safetensors");
    free(path);
    free(dir);
}

/* A write that fails part way (here the file-size limit stands in for a
 * full disk) leaves the previous checkpoint loadable and no temporary. */
Test(safetensors, failed_write_keeps_the_previous_file)
{
    written_set w;
    make_written_set(&w);
    char *dir = test_tempdir("st-full");
    char *path = io_test_join(dir, "ckpt.safetensors");
    TEST_OK(embcl_safetensors_save(path, w.t, 5, W_KEYS, W_VALUES, 4));
    size_t n_before;
    char *before = io_test_read(path, &n_before);
    static float big[64 * 1024];
    embcl_st_tensor t = {"embedding.weight", EMBCL_F32, 1, {64 * 1024}, big};
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {4096, 4096};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    TEST_FAILS(EMBCL_ERR_IO, embcl_safetensors_save(path, &t, 1, NULL, NULL, 0), "embcl_safetensors_save",
               "ckpt.safetensors");
    size_t n_after;
    char *after = io_test_read(path, &n_after);
    cr_assert(n_after == n_before && memcmp(before, after, n_before) == 0, "the previous checkpoint changed");
    io_test_expect_one_file(dir);
    free(before);
    free(after);
    free(path);
    free(dir);
}

/* ---- malformed files ---- */

static char file_buf[4096];

/* An image: the 8-byte length of header (or hlen_override if non-zero),
 * the header, then n_data bytes of data. */
static size_t make_file(const char *header, size_t n_data, uint64_t hlen_override)
{
    size_t h = strlen(header);
    uint64_t hlen = hlen_override ? hlen_override : h;
    for (int k = 0; k < 8; k++)
        file_buf[k] = (char)(hlen >> (8 * k));
    memcpy(file_buf + 8, header, h);
    memset(file_buf + 8 + h, 0x3f, n_data);
    return 8 + h + n_data;
}

static void expect_format_error(const char *header, size_t n_data, uint64_t hlen, const char *part)
{
    size_t n = make_file(header, n_data, hlen);
    char *exact = malloc(n);
    memcpy(exact, file_buf, n);
    embcl_safetensors_t st = (embcl_safetensors_t)1;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_safetensors_parse(exact, n, "bad.safetensors", &st), "embcl_safetensors_parse",
               "bad.safetensors", part);
    cr_assert_null(st);
    free(exact);
}

#define T1(dtype, shape, b, e) "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

Test(safetensors, malformed_files_fail_with_named_errors)
{
    embcl_safetensors_t st;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_safetensors_parse("\x02\0\0", 3, NULL, &st), "<buffer>: 3 bytes",
               "8-byte header length");
    expect_format_error("{}", 0, 1000, "header length 1000 is larger than the 2 bytes");
    expect_format_error("{}", 0, 1ULL << 63, "header length 9223372036854775808 is larger");
    expect_format_error("{\"a\":" T1("F32", "[1]", 0, 4) "", 4, 0, "header byte");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",}}", 0, 0, "header byte 20: expected a string key");
    expect_format_error("[1]", 0, 0, "the header is an array, not an object");
    expect_format_error("{\"a\":" T1("F32", "[1]", 0, 400) "}", 4, 0,
                        "tensor 'a': data_offsets [0, 400] outside the 4 data bytes");
    expect_format_error("{\"a\":" T1("F32", "[1]", 8, 4) "}", 8, 0, "data_offsets [8, 4] outside");
    expect_format_error("{\"a\":" T1("F32", "[1]", 0, 4) ",\"b\":" T1("F32", "[1]", 2, 6) "}", 6, 0,
                        "tensor 'b' overlaps the tensor before it: it starts at byte 2, the previous tensor ends at 4");
    expect_format_error("{\"a\":" T1("F32", "[1]", 0, 4) ",\"b\":" T1("F32", "[1]", 6, 10) "}", 10, 0,
                        "tensor 'b' leaves a gap");
    expect_format_error("{\"a\":" T1("F32", "[2]", 0, 4) "}", 4, 0,
                        "tensor 'a': F32 x 2 elements need 8 bytes, data_offsets give 4");
    expect_format_error("{\"a\":" T1("I64", "[2,3]", 0, 24) "}", 24, 0, "I64 x 6 elements need 48 bytes");
    expect_format_error("{\"a\":" T1("F32", "[1]", 0, 4) "}", 12, 0, "the tensors cover only 4 of the 12 data bytes");
    expect_format_error("{\"a\":" T1("F33", "[1]", 0, 4) "}", 4, 0, "unknown dtype 'F33'");
    expect_format_error("{\"a\":" T1("F32", "[-1]", 0, 4) "}", 4, 0, "shape holds something other");
    expect_format_error("{\"a\":" T1("F32", "[1.0]", 0, 4) "}", 4, 0, "shape holds something other");
    expect_format_error("{\"a\":" T1("F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, 0, "more than 8 dimensions");
    expect_format_error("{\"a\":" T1("F32", "[4294967296,4294967296,4294967296]", 0, 4) "}", 4, 0, "64 bits");
    expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, "'data_offsets' is not [BEGIN, END]");
    expect_format_error("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "'dtype' is missing");
    expect_format_error("{\"a\":3}", 0, 0, "tensor 'a' is a number, not an object");
    expect_format_error("{\"a\":" T1("F32", "[1]", 0, 4) ",\"a\":" T1("F32", "[1]", 4, 8) "}", 8, 0,
                        "tensor 'a' appears twice");
    expect_format_error("{\"__metadata__\":{\"x\":1}}", 0, 0, "__metadata__ value of 'x' is a number");
    expect_format_error("{\"__metadata__\":[]}", 0, 0, "__metadata__ is an array");
    expect_format_error("{\"__metadata__\":{\"x\":\"1\",\"x\":\"2\"}}", 0, 0, "key 'x' appears twice");
    expect_format_error("{\"a\xff\":" T1("F32", "[1]", 0, 4) "}", 4, 0, "invalid UTF-8");
    expect_format_error("{\"a\\u0000b\":" T1("F32", "[1]", 0, 4) "}", 4, 0, "NUL character");
    char deep[300];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    expect_format_error(deep, 0, 0, "nested deeper than 64 levels");
    TEST_FAILS(EMBCL_ERR_IO, embcl_safetensors_open(EMBCL_BINARY_DIR "/no-such.safetensors", &st), "no-such.safetensors");
}

Test(safetensors, accepts_what_the_reference_accepts)
{
    /* unknown entry fields are ignored, null metadata is none, whitespace
     * around the header is JSON's: safetensors 0.8 loads this very file */
    const char *h = " {\"__metadata__\":null,\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3],\"x\":[]}}  ";
    size_t n = make_file(h, 3, 0);
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_parse(file_buf, n, NULL, &st));
    embcl_st_info info;
    TEST_OK(embcl_safetensors_find(st, "a", &info));
    cr_assert_str_eq(info.dtype_name, "U8");
    cr_assert_eq(info.dtype, EMBCL_DTYPE_COUNT);
    cr_assert_eq(info.nbytes, 3);
    embcl_safetensors_close(st);
    n = make_file("{}", 0, 0);
    TEST_OK(embcl_safetensors_parse(file_buf, n, NULL, &st));
    cr_assert_eq(embcl_safetensors_count(st), 0);
    embcl_safetensors_close(st);
}

static embcl_status parse_and_touch(const char *buf, size_t len)
{
    embcl_safetensors_t st;
    embcl_status s = embcl_safetensors_parse(buf, len, "fuzz", &st);
    if (s != EMBCL_OK)
        return s;
    /* whatever was accepted must be readable in full */
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < embcl_safetensors_count(st); i++) {
        embcl_st_info info;
        embcl_safetensors_at(st, i, &info);
        for (size_t b = 0; b < info.nbytes; b++)
            sink ^= ((const unsigned char *)info.data)[b];
    }
    (void)sink;
    embcl_safetensors_close(st);
    return s;
}

Test(safetensors, damaged_copies_never_crash)
{
    size_t len;
    char *good = io_test_read(ref_path("io/torch_model.safetensors"), &len);
    int failed;
    io_test_mutate(good, len, 4000, parse_and_touch, &failed);
    cr_assert_gt(failed, 2000, "most damaged copies should be refused (%d were)", failed);
    free(good);
}
