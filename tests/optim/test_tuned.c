/* Every reference trajectory again under GPU-shaped tunings (vector width
 * 4, 64-item groups, row-wise Adagrad with 8 lanes per row and a local
 * reduction), so the kernels a GPU runs are checked on PoCL too. */
#include "optim_case.h"

static embcl_runtime_t rt;
static embcl_device_t dev;
static ref_file *ref;

static void setup(void)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    o.tuning = "optim.VW=4,optim.WGS=64,optim_row.WGS=64,optim_row.LANES=8";
    rt = test_runtime_with(&o);
    dev = test_device(rt);
    ref = ref_load(ref_path("optim/steps.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    embcl_runtime_free(rt);
}

TestSuite(optim_tuned, .init = setup, .fini = teardown);

Test(optim_tuned, every_case_and_column_views)
{
    for (int i = 0; i < ref->n_cases; i++) {
        oc_run(dev, ref, ref->cases[i].name, 0);
        oc_run(dev, ref, ref->cases[i].name, 1);
    }
}
