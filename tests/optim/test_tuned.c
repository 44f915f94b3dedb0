/* Every reference trajectory again under GPU-shaped tunings (vector width
 * 4, 64-item groups, row-wise Adagrad with 8 lanes per row and a local
 * reduction), so the kernels a GPU runs are checked on PoCL too. */
#include "optim_case.h"

static void init(void)
{
    oc_suite_init("optim.VW=4,optim.WGS=64,optim_row.WGS=64,optim_row.LANES=8", "optim/steps.ref");
}

TestSuite(optim_tuned, .init = init, .fini = oc_suite_fini);

Test(optim_tuned, every_case_and_column_views)
{
    for (int i = 0; i < oc_ref->n_cases; i++) {
        oc_run(oc_dev, oc_ref, oc_ref->cases[i].name, 0);
        oc_run(oc_dev, oc_ref, oc_ref->cases[i].name, 1);
    }
}
