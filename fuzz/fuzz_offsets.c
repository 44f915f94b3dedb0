/* libFuzzer target: EmbeddingBag's indices/offsets validation, forward and
 * backward, on the OpenCL device (PoCL). The input picks the mode,
 * include_last_offset, index and offset dtypes, 1-D or 2-D indices,
 * per-sample weights, padding_idx and dense or row-sparse backward, then
 * gives the raw index and offset values (any bits: negative, huge,
 * decreasing). Every call must either succeed, with the forward equal to a
 * host reference, or fail with a validation status whose message names
 * the function and an argument; a failed call leaves the output as it
 * was. The device's kernels are outside the sanitizers' sight, so the host
 * reference is what catches an index that slipped through validation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embcl.h"

#define MAX_V 24
#define MAX_D 5
#define MAX_N 64
#define MAX_B 20
/* bags: up to MAX_B + 3 offsets, or one per index for 2-D [n, 1] */
#define MAX_BAGS (MAX_N + MAX_B)

static embcl_runtime_t rt;
static embcl_device_t dev;
static const uint8_t *cur_data; /* the input being run, printed when it fails */
static size_t cur_size;

/* abort() after printing the input: PoCL's signal handlers can keep
 * libFuzzer from writing the crash file itself. */
static void fail(void)
{
    fprintf(stderr, "fuzz_offsets: failing input (%zu bytes):", cur_size);
    for (size_t i = 0; i < cur_size; i++)
        fprintf(stderr, " %02x", cur_data[i]);
    fprintf(stderr, "\n");
    abort();
}

static void die(const char *what, embcl_status s)
{
    fprintf(stderr, "fuzz_offsets: %s: %s: %s\n", what, embcl_status_str(s), embcl_last_error());
    fail();
}

static void init(void)
{
    if (rt)
        return;
    embcl_runtime_options o = embcl_runtime_options_default();
    o.device = "cpu";
    embcl_status s = embcl_runtime_create(&o, &rt);
    if (s == EMBCL_OK)
        s = embcl_runtime_device(rt, 0, &dev);
    if (s != EMBCL_OK)
        die("no runtime", s);
}

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint64_t take(reader *r, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        v |= (uint64_t)(r->n ? *r->p : 0) << (8 * i);
        if (r->n) {
            r->p++;
            r->n--;
        }
    }
    return v;
}

/* A value mostly in a useful range, sometimes any bits. */
static int64_t take_index(reader *r, int64_t range, int wide)
{
    uint8_t sel = (uint8_t)take(r, 1);
    if (sel < 200)
        return (int64_t)(sel % (range + 2)) - 1; /* -1 .. range */
    return wide ? (int64_t)take(r, 8) : (int64_t)(int32_t)take(r, 4);
}

static embcl_tensor_t make(embcl_dtype dt, int nd, const int64_t *shape, const void *host)
{
    embcl_tensor_t t;
    embcl_status s = embcl_tensor_create(dev, dt, nd, shape, &t);
    if (s != EMBCL_OK)
        die("tensor_create", s);
    if (host) {
        int64_t n = 1;
        for (int d = 0; d < nd; d++)
            n *= shape[d];
        s = embcl_tensor_upload(t, host, (size_t)n * embcl_dtype_size(dt));
        if (s != EMBCL_OK)
            die("upload", s);
    }
    return t;
}

static int names_an_argument(const char *msg, const char *fn)
{
    static const char *const args[] = {"indices", "offsets", "per_sample_weights", "padding_idx", "mode",
                                       "weight", "out", "max_pos", "include_last_offset", "input", "grad",
                                       "bag"};
    if (!strstr(msg, fn))
        return 0;
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        if (strstr(msg, args[i]))
            return 1;
    return 0;
}

static void expect_validation(embcl_status s, const char *fn)
{
    if (s != EMBCL_ERR_INVALID_ARG && s != EMBCL_ERR_SHAPE && s != EMBCL_ERR_DTYPE && s != EMBCL_ERR_INDEX_RANGE &&
        s != EMBCL_ERR_UNSUPPORTED)
        die(fn, s);
    if (!names_an_argument(embcl_last_error(), fn)) {
        fprintf(stderr, "fuzz_offsets: %s failed without naming an argument: %s\n", fn, embcl_last_error());
        fail();
    }
}

/* The forward on the host, for inputs the device accepted: bag b holds
 * positions [start_b, end_b) of the flattened indices. */
static void host_bag(const float *w, int64_t D, const int64_t *idx, const float *psw, int64_t start, int64_t end,
                     int mode, int64_t pad, float *out)
{
    int64_t count = 0;
    for (int64_t d = 0; d < D; d++)
        out[d] = mode == EMBCL_BAG_MAX ? -INFINITY : 0.0f;
    for (int64_t q = start; q < end; q++) {
        if (idx[q] == pad)
            continue;
        count++;
        for (int64_t d = 0; d < D; d++) {
            float x = w[idx[q] * D + d] * (psw ? psw[q] : 1.0f);
            if (mode == EMBCL_BAG_MAX)
                out[d] = x > out[d] ? x : out[d];
            else
                out[d] += x;
        }
    }
    for (int64_t d = 0; d < D; d++) {
        if (count == 0)
            out[d] = 0.0f;
        else if (mode == EMBCL_BAG_MEAN)
            out[d] /= (float)count;
    }
}

static void check_forward(const float *w, int64_t D, const int64_t *idx, int64_t n, const int64_t *off,
                          int64_t B, int two_d, int64_t L, const float *psw, int mode, int64_t pad, int last,
                          embcl_tensor_t out)
{
    float got[MAX_BAGS * MAX_D], want[MAX_D];
    embcl_status s = embcl_tensor_download(out, got, (size_t)(B * D) * sizeof(float));
    if (s != EMBCL_OK)
        die("download", s);
    for (int64_t b = 0; b < B; b++) {
        int64_t start = two_d ? b * L : off[b];
        int64_t end = two_d ? (b + 1) * L : (b + 1 < B || last ? off[b + 1] : n);
        host_bag(w, D, idx, psw, start, end, mode, pad, want);
        for (int64_t d = 0; d < D; d++) {
            float g = got[b * D + d], h = want[d];
            if (!(fabsf(g - h) <= 1e-4f * (1.0f + fabsf(h)))) {
                fprintf(stderr, "fuzz_offsets: bag %lld col %lld: device %g, host %g\n", (long long)b,
                        (long long)d, g, h);
                fail();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    cur_data = data;
    cur_size = size;
    reader r = {data, size};
    uint8_t flags = (uint8_t)take(&r, 1);
    int mode = flags % 3, last = (flags >> 2) & 1, idx64 = (flags >> 3) & 1, off64 = (flags >> 4) & 1;
    int two_d = (flags >> 5) & 1, with_psw = (flags >> 6) & 1, sparse = (flags >> 7) & 1;
    uint8_t dims = (uint8_t)take(&r, 1);
    int64_t V = 1 + dims % MAX_V, D = 1 + (dims >> 5) % MAX_D;
    uint8_t sizes = (uint8_t)take(&r, 1);
    int64_t n = sizes % (MAX_N + 1), n_off = (sizes >> 6) + (int64_t)take(&r, 1) % MAX_B;
    int64_t pad = (int64_t)(int8_t)take(&r, 1);
    embcl_embedding_options o = embcl_embedding_options_default();
    o.mode = (embcl_bag_mode)mode;
    o.include_last_offset = last;
    o.sparse = sparse;
    o.padding_idx = pad % 4 == 0 ? EMBCL_PADDING_NONE : pad % (V + 2);

    int64_t idx[MAX_N], off[MAX_B + 4];
    int32_t idx32[MAX_N], off32[MAX_B + 4];
    for (int64_t i = 0; i < n; i++) {
        idx[i] = take_index(&r, V, idx64);
        idx32[i] = (int32_t)idx[i];
        if (!idx64)
            idx[i] = idx32[i];
    }
    for (int64_t i = 0; i < n_off; i++) {
        off[i] = take_index(&r, n, off64);
        off32[i] = (int32_t)off[i];
        if (!off64)
            off[i] = off32[i];
    }
    float w[MAX_V * MAX_D], psw[MAX_N];
    for (int64_t i = 0; i < V * D; i++)
        w[i] = (float)((i * 37) % 19) / 8.0f - 1.0f;
    for (int64_t i = 0; i < n; i++)
        psw[i] = (float)(i % 5) / 4.0f - 0.5f;

    /* 2-D: [B, L] with L a divisor of n (else 1-D) and no offsets */
    int64_t L = 1, B;
    if (two_d && n > 0) {
        L = 1 + (int64_t)take(&r, 1) % 4;
        while (n % L)
            L--;
    }
    two_d = two_d && n > 0;
    B = two_d ? n / L : (last ? (n_off > 0 ? n_off - 1 : 0) : n_off);
    int64_t sw[2] = {V, D}, si[2] = {two_d ? n / L : n, L}, so[1] = {n_off};
    embcl_tensor_t wt = make(EMBCL_F32, 2, sw, w);
    embcl_tensor_t it = make(idx64 ? EMBCL_I64 : EMBCL_I32, two_d ? 2 : 1, two_d ? si : &n,
                             idx64 ? (void *)idx : (void *)idx32);
    embcl_tensor_t ot = two_d ? NULL : make(off64 ? EMBCL_I64 : EMBCL_I32, 1, so, off64 ? (void *)off : (void *)off32);
    embcl_tensor_t pt = with_psw ? make(EMBCL_F32, two_d ? 2 : 1, two_d ? si : &n, psw) : NULL;
    int64_t Bout = B > 0 ? B : 1, sout[2] = {Bout, D};
    embcl_tensor_t out = make(EMBCL_F32, 2, sout, NULL), mp = NULL;
    embcl_status s = embcl_tensor_fill(out, 7.0);
    if (s != EMBCL_OK)
        die("fill", s);
    if (mode == EMBCL_BAG_MAX)
        mp = make(EMBCL_I32, 2, sout, NULL);
    embcl_bags bags = {it, ot, pt};
    s = embcl_embedding_bag(wt, &bags, &o, out, mp);
    if (s != EMBCL_OK) {
        expect_validation(s, "embcl_embedding_bag");
        float got[MAX_BAGS * MAX_D];
        embcl_status d = embcl_tensor_download(out, got, (size_t)(Bout * D) * sizeof(float));
        if (d != EMBCL_OK)
            die("download", d);
        for (int64_t i = 0; i < Bout * D; i++)
            if (got[i] != 7.0f) {
                fprintf(stderr, "fuzz_offsets: a failed forward wrote its output\n");
                fail();
            }
    } else {
        if (B <= 0) {
            fprintf(stderr, "fuzz_offsets: accepted %lld bags\n", (long long)B);
            fail();
        }
        int64_t pad_row = o.padding_idx < 0 && o.padding_idx != EMBCL_PADDING_NONE ? o.padding_idx + V : o.padding_idx;
        check_forward(w, D, idx, n, off, B, two_d, L, pt ? psw : NULL, mode, pad_row, last, out);
        /* the backward of what the forward accepted */
        embcl_tensor_t gw = NULL;
        embcl_rowsparse_t gs = NULL;
        if (sparse)
            s = embcl_rowsparse_create(dev, V, D, n, &gs);
        else
            gw = make(EMBCL_F32, 2, sw, NULL);
        if (s != EMBCL_OK)
            die("rowsparse_create", s);
        s = embcl_embedding_bag_backward(out, wt, &bags, mp, V, &o, gw, gs, NULL);
        if (s != EMBCL_OK)
            expect_validation(s, "embcl_embedding_bag_backward");
        embcl_tensor_free(gw);
        embcl_rowsparse_free(gs);
    }
    embcl_tensor_t all[] = {wt, it, ot, pt, out, mp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        embcl_tensor_free(all[i]);
    return 0;
}
