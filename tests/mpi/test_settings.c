/* Settings that differ between ranks are found at start and named, with
 * both values, on every rank: never a hang, never replicas drifting apart. */
#include <stdlib.h>

#include "mpi_test.h"

static void same_settings_pass(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const embcl_mpi_setting st[] = {{"vocab_size", NULL, 5000}, {"dim", NULL, 64}, {"optimizer", "Adam", 0}};
    MT_OK(embcl_mpi_check_settings(m, st, 3));
}

static void rank_dependent_vocab_named(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    const embcl_mpi_setting st[] = {{"dim", NULL, 64}, {"vocab_size", NULL, 100 + r}, {"seed", NULL, 1}};
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_check_settings(m, st, 3), "embcl_mpi_check_settings",
             "setting 'vocab_size' differs across ranks", "rank 0 has 100", "rank 1 has 101");
}

static void rank_dependent_text_named(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    const embcl_mpi_setting st[] = {{"lr", r ? "0.01" : "0.005", 0}};
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_check_settings(m, st, 1), "'lr'", "rank 0 has 0.005",
             "rank 1 has 0.01");
}

static void different_lists_named(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    const embcl_mpi_setting st[] = {{"dim", NULL, 64}, {"seed", NULL, 1}};
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_check_settings(m, st, r == 0 ? 2 : 1), "different settings",
             "'seed'");
    const embcl_mpi_setting named[] = {{r ? "bptt" : "batch", NULL, 20}};
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_check_settings(m, named, 1), "'batch' on rank 0 but 'bptt' on rank 1");
}

static void table_shape_mismatch_named(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    embcl_mpi_table_t t = (embcl_mpi_table_t)&t; /* must come back NULL */
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_table_create(m, dev, 1000, 16 + 16 * r, 0, &t), "embcl_mpi_table_create",
             "'table dim'", "rank 0 has 16", "rank 1 has 32");
    MT_CHECK(t == NULL, "a refused table was returned");
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_table_create(m, dev, 1000 + r, 16, 0, &t), "'table num_rows'",
             "rank 0 has 1000", "rank 1 has 1001");
}

/* A bad id on one rank fails the lookup on both: rank 1 names the id, rank
 * 0 names rank 1; then both go on working. */
static void bad_input_on_one_rank_fails_all(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    embcl_mpi_table_t t;
    MT_OK(embcl_mpi_table_create(m, dev, 10, 4, 0, &t));
    embcl_tensor_t rows;
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){3, 4}, &rows));
    int64_t ids[3] = {1, 2, r == 1 ? 99 : 3}, local[3], nu;
    if (r == 1)
        MT_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_mpi_table_lookup(t, ids, 3, rows, local, &nu), "ids[2] is 99",
                 "[0, 10)");
    else
        MT_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_mpi_table_lookup(t, ids, 3, rows, local, &nu), "rank 1 failed");
    ids[2] = 3;
    MT_OK(embcl_mpi_table_lookup(t, ids, 3, rows, local, &nu));
    MT_CHECK(nu == 3, "3 distinct ids, got %lld", (long long)nu);
    embcl_tensor_free(rows);
    embcl_mpi_table_free(t);
}

int main(int argc, char **argv)
{
    static const mt_test tests[] = {
        {"same_settings_pass", same_settings_pass},
        {"rank_dependent_vocab_named", rank_dependent_vocab_named},
        {"rank_dependent_text_named", rank_dependent_text_named},
        {"different_lists_named", different_lists_named},
        {"table_shape_mismatch_named", table_shape_mismatch_named},
        {"bad_input_on_one_rank_fails_all", bad_input_on_one_rank_fails_all},
    };
    return mt_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
