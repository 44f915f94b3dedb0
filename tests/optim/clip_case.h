/* The gradients of tests/data/optim/clip.ref's cases (made from
 * optim_case.h's hash at step 1) and the checks on clipped results. */
#ifndef EMBCL_TESTS_OPTIM_CLIP_CASE_H
#define EMBCL_TESTS_OPTIM_CLIP_CASE_H

#include "optim_case.h"

#define CLIP_GRADS 3
/* g0, g1 dense; g2 is row-sparse in PyTorch's run */
static const int clip_shapes[CLIP_GRADS][2] = {{12, 8}, {1, 7}, {12, 8}};

static inline double clip_norm_type(const ref_case *c)
{
    return strcmp(ref_attr_str(c, "norm_type"), "inf") == 0 ? INFINITY : ref_attr_f(c, "norm_type");
}

/* The 7 (id, row) picks of the row-sparse gradient, as the script makes them. */
static inline void clip_sparse_picks(const ref_case *c, int64_t *ids, float *vals)
{
    uint32_t seed = (uint32_t)ref_attr_int(c, "seed") + 101u * 2u;
    for (int j = 0; j < OC_SPARSE_PICKS; j++)
        ids[j] = ((int64_t)(oc_hidx(seed, 1, 5000u + (uint32_t)j) % 5u) + 2) % 11;
    for (int i = 0; i < OC_SPARSE_PICKS * 8; i++)
        vals[i] = oc_uval(seed, 1, 10000u + (uint32_t)i);
}

/* Gradient k as a dense host matrix (the sparse one summed into zeros in
 * pick order, as coalesce sums). Caller frees. */
static inline float *clip_dense_values(const ref_case *c, int k)
{
    int rows = clip_shapes[k][0], cols = clip_shapes[k][1];
    float *h = calloc((size_t)(rows * cols), sizeof *h);
    uint32_t seed = (uint32_t)ref_attr_int(c, "seed") + 101u * (uint32_t)k;
    if (k < 2) {
        for (int i = 0; i < rows * cols; i++)
            h[i] = oc_uval(seed, 1, (uint32_t)i);
        return h;
    }
    int64_t ids[OC_SPARSE_PICKS];
    float vals[OC_SPARSE_PICKS * 8];
    clip_sparse_picks(c, ids, vals);
    for (int j = 0; j < OC_SPARSE_PICKS; j++)
        for (int d = 0; d < cols; d++)
            h[ids[j] * cols + d] += vals[j * cols + d];
    return h;
}

static inline void clip_check(const ref_case *c, int k, embcl_tensor_t t)
{
    char name[8], what[200];
    snprintf(name, sizeof name, "g%d", k);
    const ref_tensor *want = ref_tensor_need(c, name);
    float *got = oc_download(t);
    snprintf(what, sizeof what, "%s: %s", c->name, name);
    test_assert_close(got, want->f32, (size_t)want->numel, 1e-5, 1e-7, what);
    free(got);
}

#endif
