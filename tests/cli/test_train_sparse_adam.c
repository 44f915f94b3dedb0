/* SparseAdam as the table optimizer of the tied table. The decoder scores
 * every word, so every row of the shared columns is touched each step, and
 * SparseAdam over all rows is Adam: the run must follow the table-Adam run
 * (up to where the two place eps, a relative 1e-5 here). Through the tool,
 * --table-optimizer sparseadam trains. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "test_util.h"
#include "trainer_small.h"

TEST_DEVICE_FIXTURE
TestSuite(train_sparse_adam, .init = test_device_setup, .fini = test_device_teardown);

#define STEPS 6

static void run(embcl_optim_kind table_optim, double *lm, double *cls, float **table)
{
    embcl_train_config c = embcl_train_config_default();
    c.dim = 16;
    c.bag_extra = 4;
    c.batch = 4;
    c.bptt = 6;
    c.cls_batch = 8;
    c.table_optimizer = table_optim;
    c.table_lr = 0.01;
    c.deterministic = 1;
    small_trainer st;
    small_trainer_make_data(&st, rt, c.seed, 800, 2, &c);
    embcl_trainer_t tr = st.tr;
    for (int i = 0; i < STEPS; i++) {
        embcl_step_result r;
        TEST_OK(embcl_trainer_step(tr, &r));
        lm[i] = r.lm_loss;
        cls[i] = r.cls_loss;
    }
    TEST_OK(embcl_trainer_table(tr, table, NULL, NULL));
    small_trainer_free(&st);
}

Test(train_sparse_adam, sparse_adam_on_the_tied_table_follows_adam)
{
    double lm_a[STEPS], cls_a[STEPS], lm_s[STEPS], cls_s[STEPS];
    float *ta, *ts;
    run(EMBCL_OPTIM_ADAM, lm_a, cls_a, &ta);
    run(EMBCL_OPTIM_SPARSE_ADAM, lm_s, cls_s, &ts);
    for (int i = 0; i < STEPS; i++) {
        cr_assert(fabs(lm_a[i] - lm_s[i]) <= 1e-4 * fabs(lm_a[i]), "step %d: LM loss %.7g (Adam) vs %.7g (SparseAdam)",
                  i, lm_a[i], lm_s[i]);
        cr_assert(fabs(cls_a[i] - cls_s[i]) <= 1e-4 * fabs(cls_a[i]),
                  "step %d: classifier loss %.7g (Adam) vs %.7g (SparseAdam)", i, cls_a[i], cls_s[i]);
    }
    cr_assert_lt(lm_s[STEPS - 1], lm_s[0], "SparseAdam did not lower the LM loss (%.4f -> %.4f)", lm_s[0],
                 lm_s[STEPS - 1]);
    embcl_io_free(ta);
    embcl_io_free(ts);
}

Test(train_sparse_adam, tool_trains_with_sparse_adam_on_the_table)
{
    char *out;
    int rc = cli_run(EMBCL_TOOL_PATH " train --sentences 2000 --topics 2 --topic-words 16 --dim 16 --bag-extra 4"
                                     " --steps 30 --table-optimizer sparseadam --table-lr 0.02 --json --quiet",
                     &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "diagnostics: none"), "%s", out);
    cr_assert_lt(cli_json_num(out, "perplexity"), cli_json_num(out, "init_perplexity"), "%s", out);
    free(out);
}
