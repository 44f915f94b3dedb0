/* Row-sharded tables: rank r holds rows id % size == r. The lookup fetches
 * rows from their owners, the backward sends their gradients back, the
 * owners apply the sparse update. Training must equal the unsharded model
 * (1e-5), with a table no single rank can hold under the device budget. */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_test.h"

enum { V = 4001, D = 16, C = 4, B = 8, L = 3, STEPS = 3 };
#define FULL_BYTES ((uint64_t)V * D * sizeof(float))
#define BUDGET (FULL_BYTES * 6 / 10)

/* Each rank: its share of the batch; the graph reads the fetched rows as a
 * [Bl * L, D] parameter, whose gradient goes back to the owners. */
static void train_sharded(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev, const float *init,
                          mt_trained *out)
{
    const int r = embcl_mpi_rank(m), P = embcl_mpi_size(m);
    const int64_t Bl = B / P, cap = Bl * L;
    embcl_mpi_table_t t;
    MT_OK(embcl_mpi_table_create(m, dev, V, D, BUDGET, &t));
    MT_OK(embcl_mpi_table_scatter(t, 0, r == 0 ? init : NULL));
    embcl_tensor_t shard;
    MT_OK(embcl_mpi_table_shard(t, &shard));
    const int64_t want_rows = (V - r + P - 1) / P;
    MT_CHECK(embcl_tensor_dim(shard, 0) == want_rows && embcl_tensor_dim(shard, 1) == D,
             "rank %d's shard is [%lld, %lld], want [%lld, %d]", r, (long long)embcl_tensor_dim(shard, 0),
             (long long)embcl_tensor_dim(shard, 1), (long long)want_rows, D);
    embcl_optim_t table_opt = mt_sgd(dev), dense_opt = mt_sgd(dev);
    MT_OK(embcl_optim_add_param(table_opt, 0, shard, "embedding.weight", NULL));
    mt_model mm;
    mt_model_build(&mm, rt, dev, cap, D, C, Bl, L, 0, NULL, NULL);
    MT_OK(embcl_optim_add_param(dense_opt, 0, mm.w_t, "fc.weight", NULL));
    MT_OK(embcl_optim_add_param(dense_opt, 0, mm.b_t, "fc.bias", NULL));
    /* this rank's device holds its shard, not the table */
    embcl_pool_stats st;
    MT_OK(embcl_device_pool_stats(dev, &st));
    MT_CHECK(st.bytes_in_use < FULL_BYTES, "rank %d holds %llu bytes of tensors; the whole table is %llu", r,
             (unsigned long long)st.bytes_in_use, (unsigned long long)FULL_BYTES);
    int64_t idx[B * L], tgt[B], local[B * L], nu;
    for (int s = 0; s < STEPS; s++) {
        mt_batch(s, B, L, V, C, idx, tgt);
        MT_OK(embcl_mpi_table_lookup(t, idx + r * cap, cap, mm.table_t, local, &nu));
        mt_model_step(&mm, local, tgt + r * Bl, Bl, L);
        embcl_tensor_t rows_grad;
        MT_OK(embcl_graph_grad(mm.g, mm.table, &rows_grad));
        embcl_rowsparse_t tg;
        MT_OK(embcl_mpi_table_backward(t, rows_grad, 1.0 / P, &tg));
        embcl_tensor_free(rows_grad);
        embcl_grad g1 = {NULL, tg};
        MT_OK(embcl_optim_step(table_opt, &g1, 1));
        embcl_grad g2[2];
        MT_OK(embcl_mpi_graph_grad(mm.g, mm.w, &g2[0]));
        MT_OK(embcl_mpi_graph_grad(mm.g, mm.b, &g2[1]));
        MT_OK(embcl_mpi_allreduce_grads(m, g2, 2, 1.0 / P));
        MT_OK(embcl_optim_step(dense_opt, g2, 2));
        embcl_tensor_free(g2[0].dense);
        embcl_tensor_free(g2[1].dense);
        float l;
        MT_OK(embcl_graph_download(mm.g, mm.loss, &l, sizeof l));
        double mean = l;
        MT_OK(embcl_mpi_sum_host(m, &mean, 1, 1.0 / P));
        out->loss[s] = (float)mean;
    }
    MT_OK(embcl_mpi_table_gather(t, 0, r == 0 ? out->table : NULL));
    MPI_Bcast(out->table, V * D, MPI_FLOAT, 0, MPI_COMM_WORLD);
    mt_trained_take(out, &mm, 0);
    mt_model_free(&mm);
    embcl_optim_free(table_opt);
    embcl_optim_free(dense_opt);
    embcl_tensor_free(shard);
    embcl_mpi_table_free(t);
}

static void sharded_equals_unsharded(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    MT_CHECK(embcl_mpi_size(m) == 2, "written for 2 ranks");
    static float init[V * D];
    mt_trained one, sh;
    mt_trained_alloc(&one, V, D, C);
    mt_trained_alloc(&sh, V, D, C);
    MT_OK(embcl_embedding_normal_host(11, 0, V, D, init));
    mt_train_reference(rt, dev, B, L, 1, init, STEPS, &one);
    train_sharded(m, rt, dev, init, &sh);
    mt_trained_close(&sh, &one, STEPS);
    MT_CHECK(memcmp(sh.table, init, sizeof init) != 0, "training left the table as it was");
    mt_trained_free(&one);
    mt_trained_free(&sh);
}

/* The budget that a shard fits: one rank alone cannot hold the table. */
static void one_rank_cannot_hold_the_table(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    embcl_mpi_t self;
    MPI_Comm c = MPI_COMM_SELF;
    MT_OK(embcl_mpi_create(&c, &self));
    embcl_mpi_table_t t = NULL;
    MT_FAILS(EMBCL_ERR_OUT_OF_MEMORY, embcl_mpi_table_create(self, dev, V, D, BUDGET, &t), "above device_budget",
             "use more ranks");
    MT_CHECK(t == NULL, "a refused table was returned");
    embcl_mpi_free(self);
    MT_OK(embcl_mpi_table_create(m, dev, V, D, BUDGET, &t));
    embcl_mpi_table_free(t);
}

/* Lookups: repeated ids share one row, rows past the distinct ids are zero,
 * and the rows are the owners' values. */
static void lookup_rows_and_positions(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    enum { N = 9, W = 3 };
    embcl_mpi_table_t t;
    MT_OK(embcl_mpi_table_create(m, dev, N, W, 0, &t));
    float full[N * W];
    for (int i = 0; i < N * W; i++)
        full[i] = (float)i;
    MT_OK(embcl_mpi_table_scatter(t, 1, r == 1 ? full : NULL));
    embcl_tensor_t rows;
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){5, W}, &rows));
    int64_t ids[4] = {8, 1 + r, 8, 4}, local[4], nu;
    MT_OK(embcl_mpi_table_lookup(t, ids, 4, rows, local, &nu));
    MT_CHECK(nu == 3, "3 distinct ids, got %lld", (long long)nu);
    MT_CHECK(local[0] == local[2], "a repeated id got two rows (%lld, %lld)", (long long)local[0],
             (long long)local[2]);
    float got[5 * W];
    mt_download(rows, got);
    for (int i = 0; i < 4; i++)
        mt_close(got + local[i] * W, full + ids[i] * W, W, 0, 0, "fetched row");
    const float zero[2 * W] = {0};
    mt_close(got + 3 * W, zero, 2 * W, 0, 0, "rows past the distinct ids");
    float back[N * W];
    MT_OK(embcl_mpi_table_gather(t, 0, r == 0 ? back : NULL));
    if (r == 0)
        mt_close(back, full, N * W, 0, 0, "gathered table");
    embcl_tensor_free(rows);
    embcl_mpi_table_free(t);
}

/* A sharded table's checkpoint is the whole table: one process reads it,
 * a table over one rank (unsharded) loads it, and a sharded table loads
 * what one process wrote. */
static void checkpoint_loads_either_way(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    enum { N = 11, W = 5 };
    const char *path = EMBCL_BINARY_DIR "/mpi-sharded-table.st", *single = EMBCL_BINARY_DIR "/mpi-single-table.st";
    float full[N * W], back[N * W];
    for (int i = 0; i < N * W; i++)
        full[i] = 0.5f * (float)i - 3.0f;
    embcl_mpi_table_t t;
    MT_OK(embcl_mpi_table_create(m, dev, N, W, 0, &t));
    MT_OK(embcl_mpi_table_scatter(t, 0, r == 0 ? full : NULL));
    MT_OK(embcl_mpi_table_save(t, path, "embedding.weight"));
    /* one process reads it as any safetensors table */
    embcl_safetensors_t st;
    MT_OK(embcl_safetensors_open(path, &st));
    MT_OK(embcl_safetensors_read(st, "embedding.weight", EMBCL_F32, 2, (int64_t[]){N, W}, back, sizeof back));
    embcl_safetensors_close(st);
    mt_close(back, full, N * W, 0, 0, "table read in one process");
    /* a table over this rank alone holds every row: the unsharded model */
    embcl_mpi_t self;
    MPI_Comm c = MPI_COMM_SELF;
    MT_OK(embcl_mpi_create(&c, &self));
    embcl_mpi_table_t whole;
    MT_OK(embcl_mpi_table_create(self, dev, N, W, 0, &whole));
    MT_OK(embcl_mpi_table_load(whole, path, "embedding.weight"));
    embcl_tensor_t sh;
    MT_OK(embcl_mpi_table_shard(whole, &sh));
    mt_download(sh, back);
    mt_close(back, full, N * W, 0, 0, "unsharded table loaded from the sharded checkpoint");
    embcl_tensor_free(sh);
    embcl_mpi_table_free(whole);
    embcl_mpi_free(self);
    /* the other way: a file one process wrote, loaded into shards */
    for (int i = 0; i < N * W; i++)
        full[i] = (float)(i * i % 17);
    if (r == 0) {
        embcl_st_tensor one = {"embedding.weight", EMBCL_F32, 2, {N, W}, full};
        MT_OK(embcl_safetensors_save(single, &one, 1, NULL, NULL, 0));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MT_OK(embcl_mpi_table_load(t, single, "embedding.weight"));
    MT_OK(embcl_mpi_table_gather(t, 0, r == 0 ? back : NULL));
    if (r == 0)
        mt_close(back, full, N * W, 0, 0, "sharded table loaded from one process's file");
    /* a wrong name fails on every rank, the shards unchanged */
    MT_FAILS(EMBCL_ERR_INVALID_ARG, embcl_mpi_table_load(t, single, "decoder.weight"),
             r == 0 ? "decoder.weight" : "rank 0 failed");
    MT_OK(embcl_mpi_table_gather(t, 0, r == 0 ? back : NULL));
    if (r == 0)
        mt_close(back, full, N * W, 0, 0, "table after a refused load");
    embcl_mpi_table_free(t);
}

int main(int argc, char **argv)
{
    static const mt_test tests[] = {
        {"lookup_rows_and_positions", lookup_rows_and_positions},
        {"one_rank_cannot_hold_the_table", one_rank_cannot_hold_the_table},
        {"sharded_equals_unsharded", sharded_equals_unsharded},
        {"checkpoint_loads_either_way", checkpoint_loads_either_way},
    };
    return mt_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
