/* clip_grad_norm against torch.nn.utils.clip_grad_norm_
 * (tests/data/optim/clip.ref): norm types 1, 2, 3 and inf, clipping and
 * not. Here every gradient is dense (the row-sparse one as its dense
 * equivalent); test_sparse.c mixes in a real row-sparse gradient. */
#include "optim_case.h"

#include "clip_case.h"

Test(optim_clip, dense_gradients_match_torch)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    ref_file *f = ref_load(ref_path("optim/clip.ref"));
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        embcl_tensor_t t[CLIP_GRADS];
        embcl_grad g[CLIP_GRADS + 1];
        for (int k = 0; k < CLIP_GRADS; k++) {
            float *host = clip_dense_values(c, k);
            int64_t shape[2] = {clip_shapes[k][0], clip_shapes[k][1]};
            t[k] = test_tensor_f32(dev, 2, shape, host);
            free(host);
            g[k].dense = t[k];
            g[k].sparse = NULL;
        }
        g[CLIP_GRADS].dense = NULL; /* a parameter without a gradient is skipped */
        g[CLIP_GRADS].sparse = NULL;
        double total;
        TEST_OK(embcl_clip_grad_norm(g, CLIP_GRADS + 1, ref_attr_f(c, "max_norm"), clip_norm_type(c), &total));
        cr_assert(fabs(total - ref_attr_f(c, "total")) <= 1e-5 * ref_attr_f(c, "total"), "%s: total %.9g, torch %.9g",
                  c->name, total, ref_attr_f(c, "total"));
        for (int k = 0; k < CLIP_GRADS; k++)
            clip_check(c, k, t[k]);
        for (int k = 0; k < CLIP_GRADS; k++)
            embcl_tensor_free(t[k]);
    }
    embcl_grad none = {NULL, NULL};
    double total = -1;
    TEST_OK(embcl_clip_grad_norm(&none, 1, 1.0, 2.0, &total));
    cr_assert_eq(total, 0.0);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_clip_grad_norm(&none, 1, 1.0, 0.0, &total), "'norm_type' is 0");
    ref_free(f);
    embcl_runtime_free(rt);
}
