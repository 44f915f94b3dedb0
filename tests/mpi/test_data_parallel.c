/* Data parallel across ranks: each rank trains the same model on its share
 * of the global batch and the ranks' gradients are reduced in rank order;
 * the result must equal one process training on the whole batch (1e-5),
 * and every rank must hold the same bits. */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_test.h"

enum { V = 40, D = 8, C = 4, B = 8, L = 3, STEPS = 3 };

/* Dense: each rank's values differ; the result is their mean, on every rank. */
static void allreduce_dense_values(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m), P = embcl_mpi_size(m);
    enum { N = 37 }; /* not a multiple of the ranks: uneven slices */
    float h[N], want[N], got[N];
    for (int i = 0; i < N; i++) {
        h[i] = (float)(r + 1) * 0.25f + (float)i;
        want[i] = 0;
        for (int q = 0; q < P; q++)
            want[i] += (float)(q + 1) * 0.25f + (float)i;
        want[i] /= (float)P;
    }
    embcl_tensor_t t;
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){1, N}, &t));
    MT_OK(embcl_tensor_upload(t, h, sizeof h));
    embcl_grad g = {t, NULL};
    uint64_t before = embcl_mpi_bytes_sent(m);
    MT_OK(embcl_mpi_allreduce_grads(m, &g, 1, 1.0 / P));
    MT_CHECK(embcl_mpi_bytes_sent(m) > before, "no bytes counted");
    mt_download(t, got);
    mt_close(got, want, N, 1e-6, 0, "mean");
    embcl_tensor_free(t);
}

/* Row-sparse: rank r holds ids {r, 3, 10 + r}; the merge holds the union,
 * shared ids summed, on every rank. */
static void allreduce_sparse_merge(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m), P = embcl_mpi_size(m);
    MT_CHECK(P == 2, "this check is written for 2 ranks, not %d", P);
    embcl_rowsparse_t g;
    MT_OK(embcl_rowsparse_create(dev, 20, 2, 3, &g));
    int64_t ids[3] = {r, 3, 10 + r};
    float vals[6] = {1, 2, (float)(10 * (r + 1)), 1, 5, 6};
    MT_OK(embcl_rowsparse_set(g, 3, ids, vals));
    embcl_grad gr = {NULL, g};
    MT_OK(embcl_mpi_allreduce_grads(m, &gr, 1, 1.0));
    MT_CHECK(gr.sparse != g && gr.sparse != NULL, "the merged gradient should replace the caller's");
    MT_CHECK(embcl_rowsparse_nnz(gr.sparse) == 5, "union of {0,3,10} and {1,3,11} has 5 ids, got %lld",
             (long long)embcl_rowsparse_nnz(gr.sparse));
    embcl_tensor_t it, vt;
    MT_OK(embcl_rowsparse_ids(gr.sparse, &it));
    MT_OK(embcl_rowsparse_values(gr.sparse, &vt));
    int64_t got_ids[5];
    float got_vals[10];
    MT_OK(embcl_tensor_download(it, got_ids, sizeof got_ids));
    mt_download(vt, got_vals);
    const int64_t want_ids[5] = {0, 1, 3, 10, 11};
    const float want_vals[10] = {1, 2, 1, 2, 30, 2, 5, 6, 5, 6};
    for (int i = 0; i < 5; i++)
        MT_CHECK(got_ids[i] == want_ids[i], "id %d: got %lld, want %lld", i, (long long)got_ids[i],
                 (long long)want_ids[i]);
    mt_close(got_vals, want_vals, 10, 0, 0, "merged rows");
    embcl_tensor_free(it);
    embcl_tensor_free(vt);
    embcl_rowsparse_free(g);
}

/* A rank bringing another shape fails on every rank, naming both. */
static void allreduce_shape_mismatch(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    const int r = embcl_mpi_rank(m);
    embcl_tensor_t t;
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){2, 3 + r}, &t));
    MT_OK(embcl_tensor_fill(t, 1.0));
    embcl_grad g = {t, NULL};
    MT_FAILS(EMBCL_ERR_SHAPE, embcl_mpi_allreduce_grads(m, &g, 1, 1.0), "gradient 0", "dense (6 x 3)",
             "dense (8 x 4)");
    float h[8];
    MT_OK(embcl_tensor_download(t, h, (size_t)(6 + 2 * r) * sizeof *h));
    MT_CHECK(h[0] == 1.0f, "a refused reduction changed the gradient");
    embcl_tensor_free(t);
}

/* Each rank its share of every batch; gradients reduced across ranks, then
 * the same optimizer on every rank. */
static void train_ranks(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev, int sparse, const float *init,
                        mt_trained *out)
{
    const int r = embcl_mpi_rank(m), P = embcl_mpi_size(m);
    const int64_t Bl = B / P;
    embcl_optim_t opt = mt_sgd(dev);
    mt_model mm;
    mt_model_build(&mm, rt, dev, V, D, C, Bl, L, sparse, NULL, init);
    MT_OK(embcl_optim_add_param(opt, 0, mm.table_t, "embedding.weight", NULL));
    MT_OK(embcl_optim_add_param(opt, 0, mm.w_t, "fc.weight", NULL));
    MT_OK(embcl_optim_add_param(opt, 0, mm.b_t, "fc.bias", NULL));
    int64_t idx[B * L], tgt[B];
    for (int s = 0; s < STEPS; s++) {
        mt_batch(s, B, L, V, C, idx, tgt);
        mt_model_step(&mm, idx + r * Bl * L, tgt + r * Bl, Bl, L);
        embcl_grad g[3];
        MT_OK(embcl_mpi_graph_grad(mm.g, mm.table, &g[0]));
        MT_OK(embcl_mpi_graph_grad(mm.g, mm.w, &g[1]));
        MT_OK(embcl_mpi_graph_grad(mm.g, mm.b, &g[2]));
        MT_CHECK(sparse ? g[0].sparse != NULL : g[0].dense != NULL, "the table's gradient is not %s",
                 sparse ? "row-sparse" : "dense");
        MT_OK(embcl_mpi_allreduce_grads(m, g, 3, 1.0 / P));
        MT_OK(embcl_optim_step(opt, g, 3));
        for (int i = 0; i < 3; i++)
            embcl_tensor_free(g[i].dense);
        float l;
        MT_OK(embcl_graph_download(mm.g, mm.loss, &l, sizeof l));
        double mean = l;
        MT_OK(embcl_mpi_sum_host(m, &mean, 1, 1.0 / P));
        out->loss[s] = (float)mean;
    }
    mt_trained_take(out, &mm, 1);
    mt_model_free(&mm);
    embcl_optim_free(opt);
}

static void parity(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev, int sparse)
{
    float init[V * D];
    MT_OK(embcl_embedding_normal_host(7, 0, V, D, init));
    mt_trained one, dp;
    mt_trained_alloc(&one, V, D, C);
    mt_trained_alloc(&dp, V, D, C);
    mt_train_reference(rt, dev, B, L, sparse, init, STEPS, &one);
    train_ranks(m, rt, dev, sparse, init, &dp);
    mt_trained_close(&dp, &one, STEPS);
    MT_CHECK(memcmp(init, dp.table, sizeof init) != 0, "training left the table as it was");
    /* replicas identical to the bit: rank 0's parameters on every rank */
    float first[V * D + C * D + C], mine[V * D + C * D + C];
    memcpy(mine, dp.table, sizeof(float) * V * D);
    memcpy(mine + V * D, dp.w, sizeof(float) * C * D);
    memcpy(mine + V * D + C * D, dp.b, sizeof(float) * C);
    memcpy(first, mine, sizeof mine);
    MPI_Bcast(first, (int)sizeof first, MPI_BYTE, 0, MPI_COMM_WORLD);
    MT_CHECK(memcmp(first, mine, sizeof mine) == 0, "rank %d's parameters differ from rank 0's", embcl_mpi_rank(m));
    mt_trained_free(&one);
    mt_trained_free(&dp);
}

static void graph_parity_sparse_table(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    parity(m, rt, dev, 1);
}

static void graph_parity_dense_table(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev)
{
    parity(m, rt, dev, 0);
}

int main(int argc, char **argv)
{
    static const mt_test tests[] = {
        {"allreduce_dense_values", allreduce_dense_values},
        {"allreduce_sparse_merge", allreduce_sparse_merge},
        {"allreduce_shape_mismatch", allreduce_shape_mismatch},
        {"graph_parity_sparse_table", graph_parity_sparse_table},
        {"graph_parity_dense_table", graph_parity_dense_table},
    };
    return mt_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
