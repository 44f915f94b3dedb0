/* Learning-rate schedules against torch.optim.lr_scheduler
 * (tests/data/optim/schedules.ref, base lr 0.1, epochs 0..14). */
#include "ref.h"
#include "test_util.h"

static embcl_lr_schedule from_case(const ref_case *c)
{
    embcl_lr_schedule s;
    memset(&s, 0, sizeof s);
    const char *k = ref_attr_str(c, "kind");
    s.kind = strcmp(k, "step") == 0 ? EMBCL_LR_STEP
             : strcmp(k, "cosine") == 0 ? EMBCL_LR_COSINE
             : strcmp(k, "linear") == 0 ? EMBCL_LR_LINEAR
                                        : EMBCL_LR_WARMUP_COSINE;
    s.step_size = ref_has_attr(c, "step_size") ? ref_attr_int(c, "step_size") : 0;
    s.gamma = ref_has_attr(c, "gamma") ? ref_attr_f(c, "gamma") : 0;
    s.t_max = ref_has_attr(c, "t_max") ? ref_attr_int(c, "t_max") : 0;
    s.eta_min = ref_has_attr(c, "eta_min") ? ref_attr_f(c, "eta_min") : 0;
    s.start_factor = ref_has_attr(c, "start_factor") ? ref_attr_f(c, "start_factor") : 0;
    s.end_factor = ref_has_attr(c, "end_factor") ? ref_attr_f(c, "end_factor") : 0;
    s.total_iters = ref_has_attr(c, "total_iters") ? ref_attr_int(c, "total_iters") : 0;
    return s;
}

Test(optim_schedule, matches_torch_lr_scheduler)
{
    ref_file *f = ref_load(ref_path("optim/schedules.ref"));
    cr_assert_eq(f->n_cases, 5);
    for (int i = 0; i < f->n_cases; i++) {
        const ref_case *c = &f->cases[i];
        embcl_lr_schedule s = from_case(c);
        const ref_tensor *want = ref_tensor_need(c, "lr");
        float got[64];
        for (int e = 0; e < want->numel; e++) {
            double lr;
            TEST_OK(embcl_lr_at(&s, 0.1, e, &lr));
            got[e] = (float)lr;
        }
        test_assert_close(got, want->f32, (size_t)want->numel, 1e-6, 0.0, c->name);
    }
    ref_free(f);
}

Test(optim_schedule, sets_each_group_from_its_base_lr)
{
    embcl_runtime_t rt = test_runtime();
    embcl_device_t dev = test_device(rt);
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_ADAM, NULL, &opt));
    embcl_optim_hparams h = embcl_optim_defaults(EMBCL_OPTIM_ADAM);
    h.lr = 1e-4; /* a pretrained table fine-tuned slowly */
    TEST_OK(embcl_optim_add_group(opt, &h, NULL));
    h.lr = 1e-3;
    TEST_OK(embcl_optim_add_group(opt, &h, NULL));
    embcl_lr_schedule s = {.kind = EMBCL_LR_STEP, .step_size = 2, .gamma = 0.1};
    TEST_OK(embcl_optim_schedule(opt, &s, 5));
    embcl_optim_hparams g0, g1;
    TEST_OK(embcl_optim_group_hparams(opt, 0, &g0));
    TEST_OK(embcl_optim_group_hparams(opt, 1, &g1));
    cr_assert_float_eq(g0.lr, 1e-6, 1e-18);
    cr_assert_float_eq(g1.lr, 1e-5, 1e-17);
    TEST_OK(embcl_optim_schedule(opt, &s, 0));
    TEST_OK(embcl_optim_group_hparams(opt, 0, &g0));
    cr_assert_eq(g0.lr, 1e-4);
    embcl_lr_schedule bad = {.kind = EMBCL_LR_LINEAR, .start_factor = 1.5, .end_factor = 1.0, .total_iters = 3};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_schedule(opt, &bad, 1), "LinearLR",
               "Starting multiplicative factor", "1.5");
    bad = (embcl_lr_schedule){.kind = EMBCL_LR_COSINE, .t_max = 0};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_schedule(opt, &bad, 1), "T_max is 0");
    double lr;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_lr_at(&s, 0.1, -1, &lr), "'epoch' is -1");
    embcl_optim_free(opt);
    embcl_runtime_free(rt);
}
