/* embcl's trainer across ranks: rank r reads the batches of steps
 * s * size + r, the ranks' gradients are averaged before clipping and the
 * update, replicas stay identical to the bit, and configs that differ
 * between ranks are refused by name. */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_test.h"

typedef struct run {
    embcl_dataset_t ds;
    embcl_trainer_t tr;
} run;

static embcl_train_config small_config(void)
{
    embcl_train_config c = embcl_train_config_default();
    c.dim = 16;
    c.bag_extra = 4;
    c.batch = 4;
    c.bptt = 8;
    c.cls_batch = 8;
    c.epochs = 1;
    c.deterministic = 1;
    return c;
}

static void start(run *x, embcl_runtime_t rt, const embcl_train_config *c)
{
    embcl_dataset_options o;
    embcl_dataset_options_default(&o);
    o.seed = 1; /* the same data on every rank, whatever the model's seed */
    o.n_sentences = 600;
    MT_OK(embcl_dataset_generate(&o, &x->ds));
    MT_OK(embcl_trainer_create(rt, c, embcl_dataset_vocab(x->ds), embcl_dataset_corpus(x->ds), NULL, NULL, NULL,
                               &x->tr));
}

static void stop(run *x)
{
    embcl_trainer_free(x->tr);
    embcl_dataset_free(x->ds);
}

/* The first data-parallel step's losses are the means of one process's
 * losses on batches 0 and 1 at the starting parameters (a tiny lr keeps
 * them); after more steps every rank holds the same table. */
static void ranks_share_batches_and_stay_identical(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    MT_CHECK(embcl_mpi_size(m) == 2, "written for 2 ranks");
    embcl_train_config c = small_config();
    embcl_train_config frozen = c;
    frozen.lr = 1e-30; /* steps far below a float's last bit: the parameters stay */
    frozen.table_lr = 1e-30;
    run ref, dp;
    start(&ref, rt, &frozen);
    embcl_step_result r0, r1, d;
    MT_OK(embcl_trainer_step(ref.tr, &r0));
    MT_OK(embcl_trainer_step(ref.tr, &r1));
    stop(&ref);

    start(&dp, rt, &c);
    embcl_train_info before, after;
    MT_OK(embcl_trainer_info(dp.tr, &before));
    MT_OK(embcl_mpi_trainer_attach(m, dp.tr));
    MT_OK(embcl_trainer_info(dp.tr, &after));
    MT_CHECK(after.total_steps == (before.total_steps + 1) / 2, "an epoch over 2 ranks takes %lld steps, not %lld",
             (long long)(before.total_steps + 1) / 2, (long long)after.total_steps);
    MT_OK(embcl_trainer_step(dp.tr, &d));
    const float got[2] = {(float)d.lm_loss, (float)d.cls_loss};
    const float want[2] = {(float)((r0.lm_loss + r1.lm_loss) / 2), (float)((r0.cls_loss + r1.cls_loss) / 2)};
    mt_close(got, want, 2, 1e-5, 0, "first step's mean losses (lm, classifier)");
    MT_CHECK(fabs(r0.lm_loss - r1.lm_loss) > 1e-4, "batches 0 and 1 give the same loss: the check shows nothing");
    for (int s = 0; s < 2; s++)
        MT_OK(embcl_trainer_step(dp.tr, &d));
    float *rows = NULL;
    int64_t V = 0, D = 0;
    MT_OK(embcl_trainer_table(dp.tr, &rows, &V, &D));
    size_t bytes = (size_t)(V * D) * sizeof *rows;
    float *first = malloc(bytes);
    MT_CHECK(first != NULL, "out of memory");
    memcpy(first, rows, bytes);
    MPI_Bcast(first, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    MT_CHECK(memcmp(first, rows, bytes) == 0, "rank %d's table differs from rank 0's after 3 steps",
             embcl_mpi_rank(m));
    double losses[2] = {d.lm_loss, d.lm_loss}, all[4];
    MPI_Allgather(losses, 2, MPI_DOUBLE, all, 2, MPI_DOUBLE, MPI_COMM_WORLD);
    MT_CHECK(all[0] == all[2], "ranks report different losses: %g and %g", all[0], all[2]);
    free(first);
    embcl_io_free(rows);
    stop(&dp);
}

static void config_mismatch_named(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    embcl_train_config c = small_config();
    c.dim = 16 + 8 * r;
    run x;
    start(&x, rt, &c);
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_trainer_attach(m, x.tr), "embcl_mpi_trainer_attach",
             "setting 'dim' differs across ranks", "rank 0 has 16", "rank 1 has 24");
    stop(&x);
    c = small_config();
    c.seed = 7 + (uint64_t)r;
    start(&x, rt, &c);
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_trainer_attach(m, x.tr), "'seed'", "rank 0 has 7", "rank 1 has 8");
    /* refused: the trainer is still a single-process one */
    embcl_train_info info;
    MT_OK(embcl_trainer_info(x.tr, &info));
    embcl_step_result res;
    MT_OK(embcl_trainer_step(x.tr, &res));
    stop(&x);
}

int main(int argc, char **argv)
{
    static const mt_test tests[] = {
        {"ranks_share_batches_and_stay_identical", ranks_share_batches_and_stay_identical},
        {"config_mismatch_named", config_mismatch_named},
    };
    return mt_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
