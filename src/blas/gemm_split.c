/* GEMM with operands split by rows over several buffers (tables larger than
 * one allocation: a tied decoder's weight, its gradient, big logits). Each
 * split operand's rows are one of the product's dimensions: A's rows are M
 * (K when transposed), B's are K (N when transposed), C's are M. The
 * product is cut along M, then N, then K at the parts' row boundaries into
 * sub-products over single buffers. Cuts along M and N are separate
 * products of the same elements; a cut along K continues each element's sum
 * where the previous piece left it, so the bits match one unsplit pass. */
#include "blas/gemm.h"
#include "core/error.h"

/* Columns [c0, c1) of t, borrowed (t may be split: the parts stay). */
static struct embcl_tensor cols_of(const struct embcl_tensor *t, size_t c0, size_t c1)
{
    struct embcl_tensor v = *t;
    v.offset += c0;
    v.cols = c1 - c0;
    v.shape[1] = (int64_t)(c1 - c0);
    return v;
}

/* Rows [r0, r1) of t, inside one part (or of a single buffer), borrowed. */
static struct embcl_tensor rows_of(const struct embcl_tensor *t, size_t r0, size_t r1)
{
    struct embcl_tensor v;
    embcl_tensor_part_view(t, r0, r1, &v);
    return v;
}

typedef struct gemm_call {
    embcl_gemm_backend backend;
    int ta, tb;
    const char *func;
} gemm_call;

static embcl_status product(const gemm_call *g, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                            float beta, struct embcl_tensor *c);

/* Columns [c0, c1) of op(B): B's columns, or its rows when transposed. */
static struct embcl_tensor opb_cols(const gemm_call *g, const struct embcl_tensor *b, size_t c0, size_t c1)
{
    return g->tb ? rows_of(b, c0, c1) : cols_of(b, c0, c1);
}

/* C[:, cs:ce] over K in chunks of ch, as one unsplit pass rounds: each
 * chunk's sum is alpha-scaled and added to C (beta for the first chunk, 1
 * after), and a chunk that spans parts is summed piece by piece into
 * scratch, each piece continuing the last, then added the same way. */
static embcl_status k_chunks(const gemm_call *g, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                             float beta, struct embcl_tensor *c, size_t cs, size_t ce, size_t ch)
{
    size_t K = g->ta ? a->rows : a->cols;
    struct embcl_tensor *krows[2] = {g->ta ? a : NULL, g->tb ? NULL : b};
    struct embcl_tensor bc = opb_cols(g, b, cs, ce), cc = cols_of(c, cs, ce), *t = NULL;
    embcl_status s = EMBCL_OK;
    for (size_t q0 = 0; s == EMBCL_OK && q0 < K; q0 += ch) {
        size_t q1 = K - q0 < ch ? K : q0 + ch;
        float bk = q0 == 0 ? beta : 1.0f;
        size_t first_end = embcl_parts_run(krows, 2, q0, q1);
        if (first_end == q1) { /* one piece: the chunk as the kernel would do it */
            struct embcl_tensor sa = g->ta ? rows_of(a, q0, q1) : cols_of(a, q0, q1);
            struct embcl_tensor sb = g->tb ? cols_of(&bc, q0, q1) : rows_of(&bc, q0, q1);
            s = embcl_sgemm_batched(g->backend, g->ta, g->tb, alpha, &sa, &sb, bk, &cc, 1, 0, 0, 0, g->func);
            continue;
        }
        if (!t) {
            int64_t shape[2] = {(int64_t)cc.rows, (int64_t)cc.cols};
            s = embcl_tensor_new(c->dev, EMBCL_F32, 2, shape, g->func, &t);
        }
        for (size_t k0 = q0, k1; s == EMBCL_OK && k0 < q1; k0 = k1) {
            k1 = embcl_parts_run(krows, 2, k0, q1);
            struct embcl_tensor sa = g->ta ? rows_of(a, k0, k1) : cols_of(a, k0, k1);
            struct embcl_tensor sb = g->tb ? cols_of(&bc, k0, k1) : rows_of(&bc, k0, k1);
            s = k0 == q0 ? embcl_sgemm_batched(g->backend, g->ta, g->tb, 1.0f, &sa, &sb, 0.0f, t, 1, 0, 0, 0, g->func)
                         : embcl_sgemm_continue(g->backend, g->ta, g->tb, &sa, &sb, t, g->func);
        }
        if (s == EMBCL_OK)
            s = embcl_gemm_axpby(alpha, t, bk, &cc, g->func);
    }
    embcl_tensor_free(t);
    return s;
}

/* Cut along K at the row boundaries of the split operands whose rows are
 * K: the tile columns chunk K as the kernel does, the edge columns not. */
static embcl_status along_k(const gemm_call *g, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                            float beta, struct embcl_tensor *c)
{
    size_t K = g->ta ? a->rows : a->cols, N = c->cols, kc, n0;
    embcl_gemm_k_layout(c->dev, g->backend, K, N, &kc, &n0);
    if (n0 > 0)
        EMBCL_TRY(k_chunks(g, alpha, a, b, beta, c, 0, n0, kc));
    if (n0 < N)
        EMBCL_TRY(k_chunks(g, alpha, a, b, beta, c, n0, N, K));
    return EMBCL_OK;
}

static embcl_status product(const gemm_call *g, float alpha, struct embcl_tensor *a, struct embcl_tensor *b,
                            float beta, struct embcl_tensor *c)
{
    size_t M = c->rows, N = c->cols;
    if (embcl_tensor_is_split(c) || (!g->ta && embcl_tensor_is_split(a))) {
        struct embcl_tensor *mrows[2] = {c, g->ta ? NULL : a};
        for (size_t m0 = 0, m1; m0 < M; m0 = m1) {
            m1 = embcl_parts_run(mrows, 2, m0, M);
            struct embcl_tensor sc = rows_of(c, m0, m1);
            struct embcl_tensor sa = g->ta ? cols_of(a, m0, m1) : rows_of(a, m0, m1);
            EMBCL_TRY(product(g, alpha, &sa, b, beta, &sc));
        }
        return EMBCL_OK;
    }
    if (g->tb && embcl_tensor_is_split(b)) {
        for (size_t n0 = 0, n1; n0 < N; n0 = n1) {
            n1 = embcl_parts_run(&b, 1, n0, N);
            struct embcl_tensor sb = rows_of(b, n0, n1), sc = cols_of(c, n0, n1);
            EMBCL_TRY(product(g, alpha, a, &sb, beta, &sc));
        }
        return EMBCL_OK;
    }
    if (embcl_tensor_is_split(a) || embcl_tensor_is_split(b))
        return along_k(g, alpha, a, b, beta, c);
    return embcl_sgemm_batched(g->backend, g->ta, g->tb, alpha, a, b, beta, c, 1, 0, 0, 0, g->func);
}

embcl_status embcl_sgemm_split(embcl_gemm_backend backend, int trans_a, int trans_b, float alpha,
                               struct embcl_tensor *a, struct embcl_tensor *b, float beta, struct embcl_tensor *c,
                               const char *func)
{
    gemm_call g = {backend, trans_a, trans_b, func};
    return product(&g, alpha, a, b, beta, c);
}
