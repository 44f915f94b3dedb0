/* Embedding and EmbeddingBag nodes in graphs: one table shared by both
 * (through a column view), row-sparse gradients merged across tied
 * readers, sparse mixed with dense, the optimizer update with groups and
 * frozen rows, and a bad index that leaves everything as it was. */
#include <embcl/graph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "graph_host.h"

TEST_DEVICE_FIXTURE
TestSuite(graph_embedding, .init = test_device_setup, .fini = test_device_teardown);

enum { V = 10, D = 4, E = 2, B = 3, L = 5, BL = 4 };

/* Problem 4 of PROBLEMS.md: an Embedding reads columns [0, D) of the table
 * an EmbeddingBag reads whole (D shared columns + E bag-only ones). Both
 * gradients land in the one table; padding row 0 gets none from the
 * Embedding. */
Test(graph_embedding, embedding_and_bag_share_one_table_through_a_column_view)
{
    float table[V * (D + E)], t1[B * L * D], t2[B * (D + E)];
    int64_t seq[B * L] = {1, 0, 3, 3, 9, 0, 0, 2, 5, 1, 7, 8, 0, 4, 4};
    int64_t bags[B * BL] = {2, 3, 3, 0, 9, 9, 9, 1, 6, 5, 4, 2};
    host_fill(table, V * (D + E), 51, 1.0f);
    host_fill(t1, B * L * D, 52, 1.0f);
    host_fill(t2, B * (D + E), 53, 1.0f);
    int64_t st[2] = {V, D + E};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, shared, vseq, vbags, vt1, vt2, e, bg, l1, l2, loss;
    int64_t sseq[2] = {B, L}, sbags[2] = {B, BL}, st1[3] = {B, L, D}, st2[2] = {B, D + E};
    TEST_OK(embcl_graph_param(g, "table", tt, &p));
    TEST_OK(embcl_graph_cols(g, p, 0, D, &shared));
    TEST_OK(embcl_graph_input(g, "seq", EMBCL_I64, 2, sseq, &vseq));
    TEST_OK(embcl_graph_input(g, "bags", EMBCL_I64, 2, sbags, &vbags));
    TEST_OK(embcl_graph_input(g, "t1", EMBCL_F32, 3, st1, &vt1));
    TEST_OK(embcl_graph_input(g, "t2", EMBCL_F32, 2, st2, &vt2));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.padding_idx = 0;
    TEST_OK(embcl_graph_embedding(g, shared, vseq, &eo, &e));
    embcl_embedding_options bo = embcl_embedding_options_default(); /* mode mean */
    TEST_OK(embcl_graph_embedding_bag(g, p, vbags, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &bo, &bg));
    int nd;
    int64_t shape[4];
    TEST_OK(embcl_graph_value_shape(g, e, NULL, &nd, shape));
    cr_assert(nd == 3 && shape[0] == B && shape[1] == L && shape[2] == D, "embedding result shape inferred wrong");
    TEST_OK(embcl_graph_mse_loss(g, e, vt1, &l1));
    TEST_OK(embcl_graph_mse_loss(g, bg, vt2, &l2));
    TEST_OK(embcl_graph_add(g, l1, l2, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vseq, seq, sizeof seq));
    TEST_OK(embcl_graph_set_input(g, vbags, bags, sizeof bags));
    TEST_OK(embcl_graph_set_input(g, vt1, t1, sizeof t1));
    TEST_OK(embcl_graph_set_input(g, vt2, t2, sizeof t2));
    TEST_OK(embcl_graph_step(g));

    const int W = D + E;
    double want[V * (D + E)] = {0};
    for (int i = 0; i < B * L; i++)
        for (int d = 0; d < D; d++)
            if (seq[i] != 0)
                want[seq[i] * W + d] += 2.0 * ((double)table[seq[i] * W + d] - t1[i * D + d]) / (B * L * D);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < W; c++) {
            double m = 0;
            for (int l = 0; l < BL; l++)
                m += table[bags[b * BL + l] * W + c];
            m /= BL;
            double gy = 2.0 * (m - t2[b * W + c]) / (B * W);
            for (int l = 0; l < BL; l++)
                want[bags[b * BL + l] * W + c] += gy / BL;
        }
    float got[V * (D + E)], wantf[V * (D + E)];
    grad_of(g, p, got, V * W);
    to_float(want, wantf, V * W);
    test_assert_close(got, wantf, V * W, 1e-4, 1e-6, "table grad from Embedding (columns 0..4) + EmbeddingBag");
    embcl_graph_free(g);
    embcl_tensor_free(tt);
}

/* Two sparse Embeddings of one table: the row-sparse gradients merge (rows
 * both touch summed); SGD applies them. */
Test(graph_embedding, tied_sparse_embeddings_merge_row_sparse_gradients)
{
    enum { VS = 64 };
    float table[VS * D], t1[6 * D], t2[4 * D];
    int64_t a[6] = {1, 3, 3, 8, 2, 1}, b[4] = {3, 7, 7, 9};
    host_fill(table, VS * D, 61, 1.0f);
    host_fill(t1, 6 * D, 62, 1.0f);
    host_fill(t2, 4 * D, 63, 1.0f);
    int64_t st[2] = {VS, D};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table);
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    hp.lr = 0.5;
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, &hp, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, va, vb, vt1, vt2, e1, e2, l1, l2, loss;
    int64_t sa[1] = {6}, sb[1] = {4}, st1[2] = {6, D}, st2[2] = {4, D};
    TEST_OK(embcl_graph_param(g, "embedding.weight", tt, &p));
    TEST_OK(embcl_graph_input(g, "a", EMBCL_I64, 1, sa, &va));
    TEST_OK(embcl_graph_input(g, "b", EMBCL_I64, 1, sb, &vb));
    TEST_OK(embcl_graph_input(g, "t1", EMBCL_F32, 2, st1, &vt1));
    TEST_OK(embcl_graph_input(g, "t2", EMBCL_F32, 2, st2, &vt2));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.sparse = 1;
    TEST_OK(embcl_graph_embedding(g, p, va, &eo, &e1));
    TEST_OK(embcl_graph_embedding(g, p, vb, &eo, &e2));
    TEST_OK(embcl_graph_mse_loss(g, e1, vt1, &l1));
    TEST_OK(embcl_graph_mse_loss(g, e2, vt2, &l2));
    TEST_OK(embcl_graph_add(g, l1, l2, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = opt;
    TEST_OK(embcl_graph_compile(g, &go));
    embcl_graph_memory m;
    TEST_OK(embcl_graph_memory_stats(g, &m));
    cr_assert_lt(m.param_grad_bytes, (uint64_t)VS * D * 4, "the gradient is not row-sparse (%llu bytes)",
                 (unsigned long long)m.param_grad_bytes);
    TEST_OK(embcl_graph_set_input(g, va, a, sizeof a));
    TEST_OK(embcl_graph_set_input(g, vb, b, sizeof b));
    TEST_OK(embcl_graph_set_input(g, vt1, t1, sizeof t1));
    TEST_OK(embcl_graph_set_input(g, vt2, t2, sizeof t2));
    TEST_OK(embcl_graph_step(g));

    double want[VS * D] = {0};
    for (int i = 0; i < 6; i++)
        for (int d = 0; d < D; d++)
            want[a[i] * D + d] += 2.0 * ((double)table[a[i] * D + d] - t1[i * D + d]) / (6 * D);
    for (int i = 0; i < 4; i++)
        for (int d = 0; d < D; d++)
            want[b[i] * D + d] += 2.0 * ((double)table[b[i] * D + d] - t2[i * D + d]) / (4 * D);
    float got[VS * D], wantf[VS * D], after[VS * D], stepped[VS * D];
    grad_of(g, p, got, VS * D);
    to_float(want, wantf, VS * D);
    test_assert_close(got, wantf, VS * D, 1e-4, 1e-6, "merged row-sparse grad");
    TEST_OK(embcl_tensor_download(tt, after, sizeof after));
    for (int i = 0; i < VS * D; i++)
        stepped[i] = (float)(table[i] - 0.5 * want[i]);
    test_assert_close(after, stepped, VS * D, 1e-5, 1e-6, "table after one SGD step");
    embcl_graph_free(g);
    embcl_optim_free(opt);
    embcl_tensor_free(tt);
}

/* A sparse Embedding tied to the output projection (a Linear reading the
 * same table): the gradient is dense, the sum of both. */
Test(graph_embedding, sparse_embedding_tied_to_a_linear_gets_a_dense_sum)
{
    float table[V * D], t[5 * V];
    int64_t idx[5] = {4, 4, 0, 9, 2};
    host_fill(table, V * D, 71, 1.0f);
    host_fill(t, 5 * V, 72, 1.0f);
    int64_t st[2] = {V, D};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table);
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, vi, vt, e, y, loss;
    int64_t si[1] = {5}, stt[2] = {5, V};
    TEST_OK(embcl_graph_param(g, "tied.weight", tt, &p));
    TEST_OK(embcl_graph_input(g, "idx", EMBCL_I64, 1, si, &vi));
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, stt, &vt));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.sparse = 1;
    TEST_OK(embcl_graph_embedding(g, p, vi, &eo, &e));
    TEST_OK(embcl_graph_linear(g, e, p, EMBCL_VALUE_NONE, &y)); /* [5, V] logits */
    TEST_OK(embcl_graph_mse_loss(g, y, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    TEST_OK(embcl_graph_compile(g, NULL));
    TEST_OK(embcl_graph_set_input(g, vi, idx, sizeof idx));
    TEST_OK(embcl_graph_set_input(g, vt, t, sizeof t));
    TEST_OK(embcl_graph_step(g));

    float ef[5 * D];
    for (int i = 0; i < 5; i++)
        memcpy(ef + i * D, table + idx[i] * D, D * sizeof(float));
    double yy[5 * V], gy[5 * V], ge[5 * D] = {0}, gw[V * D] = {0};
    host_linear(ef, 5, D, table, D, NULL, V, yy);
    for (int i = 0; i < 5 * V; i++)
        gy[i] = 2.0 * (yy[i] - t[i]) / (5 * V);
    host_linear_back(ef, 5, D, table, D, V, gy, ge, gw, NULL);
    for (int i = 0; i < 5; i++)
        for (int d = 0; d < D; d++)
            gw[idx[i] * D + d] += ge[i * D + d];
    float got[V * D], want[V * D];
    grad_of(g, p, got, V * D);
    to_float(gw, want, V * D);
    test_assert_close(got, want, V * D, 1e-4, 1e-6, "tied grad (embedding + projection)");
    embcl_graph_free(g);
    embcl_tensor_free(tt);
}

/* Frozen columns of a shared table (the bag-only columns) stay
 * bit-identical while the shared columns train through both readers. */
Test(graph_embedding, frozen_columns_of_a_shared_table_stay_put)
{
    float table[V * (D + E)], t1[B * L * D], t2[B * (D + E)];
    int64_t seq[B * L] = {1, 0, 3, 3, 9, 0, 0, 2, 5, 1, 7, 8, 0, 4, 4};
    int64_t bags[B * BL] = {2, 3, 3, 0, 9, 9, 9, 1, 6, 5, 4, 2};
    host_fill(table, V * (D + E), 91, 1.0f);
    host_fill(t1, B * L * D, 92, 1.0f);
    host_fill(t2, B * (D + E), 93, 1.0f);
    int64_t st[2] = {V, D + E};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table);
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_ADAGRAD, NULL, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, shared, vseq, vbags, vt1, vt2, e, bg, l1, l2, loss;
    int64_t sseq[2] = {B, L}, sbags[2] = {B, BL}, st1[3] = {B, L, D}, st2[2] = {B, D + E};
    TEST_OK(embcl_graph_param(g, "table", tt, &p));
    TEST_OK(embcl_graph_param_freeze_cols(g, p, D, D + E));
    TEST_OK(embcl_graph_cols(g, p, 0, D, &shared));
    TEST_OK(embcl_graph_input(g, "seq", EMBCL_I64, 2, sseq, &vseq));
    TEST_OK(embcl_graph_input(g, "bags", EMBCL_I64, 2, sbags, &vbags));
    TEST_OK(embcl_graph_input(g, "t1", EMBCL_F32, 3, st1, &vt1));
    TEST_OK(embcl_graph_input(g, "t2", EMBCL_F32, 2, st2, &vt2));
    TEST_OK(embcl_graph_embedding(g, shared, vseq, NULL, &e));
    embcl_embedding_options bo = embcl_embedding_options_default();
    bo.mode = EMBCL_BAG_SUM;
    TEST_OK(embcl_graph_embedding_bag(g, p, vbags, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &bo, &bg));
    TEST_OK(embcl_graph_mse_loss(g, e, vt1, &l1));
    TEST_OK(embcl_graph_mse_loss(g, bg, vt2, &l2));
    TEST_OK(embcl_graph_add(g, l1, l2, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = opt;
    TEST_OK(embcl_graph_compile(g, &go));
    TEST_OK(embcl_graph_set_input(g, vseq, seq, sizeof seq));
    TEST_OK(embcl_graph_set_input(g, vbags, bags, sizeof bags));
    TEST_OK(embcl_graph_set_input(g, vt1, t1, sizeof t1));
    TEST_OK(embcl_graph_set_input(g, vt2, t2, sizeof t2));
    for (int s = 0; s < 3; s++)
        TEST_OK(embcl_graph_step(g));
    float after[V * (D + E)];
    TEST_OK(embcl_tensor_download(tt, after, sizeof after));
    int shared_changed = 0;
    for (int r = 0; r < V; r++) {
        cr_assert(memcmp(after + r * (D + E) + D, table + r * (D + E) + D, E * sizeof(float)) == 0,
                  "frozen columns of row %d changed", r);
        shared_changed |= memcmp(after + r * (D + E), table + r * (D + E), D * sizeof(float)) != 0;
    }
    cr_assert(shared_changed, "the shared columns did not train");
    embcl_graph_free(g);
    embcl_optim_free(opt);
    embcl_tensor_free(tt);
}

/* Groups and frozen rows go to the optimizer; a bad index fails the step
 * naming the position and value, and nothing changes. */
Test(graph_embedding, optimizer_groups_frozen_rows_and_bad_indices)
{
    float table[V * D], other[V * D], t[4 * D];
    host_fill(table, V * D, 81, 1.0f);
    host_fill(other, V * D, 82, 1.0f);
    host_fill(t, 4 * D, 83, 1.0f);
    int64_t st[2] = {V, D};
    embcl_tensor_t tt = test_tensor_f32(dev, 2, st, table), to = test_tensor_f32(dev, 2, st, other);
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_ADAM, NULL, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value p, q, vi, vt, e1, e2, s, loss;
    int64_t si[1] = {4}, stt[2] = {4, D};
    TEST_OK(embcl_graph_param(g, "a.weight", tt, &p));
    TEST_OK(embcl_graph_param(g, "b.weight", to, &q));
    TEST_OK(embcl_graph_param_freeze_rows(g, p, 2, 4));
    TEST_OK(embcl_graph_param_group(g, q, EMBCL_GROUP_NONE));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_graph_param_freeze_rows(g, p, 5, 11), "embcl_graph_param_freeze_rows",
               "[5, 11)", "a.weight");
    TEST_OK(embcl_graph_input(g, "idx", EMBCL_I64, 1, si, &vi));
    TEST_OK(embcl_graph_input(g, "t", EMBCL_F32, 2, stt, &vt));
    TEST_OK(embcl_graph_embedding(g, p, vi, NULL, &e1));
    TEST_OK(embcl_graph_embedding(g, q, vi, NULL, &e2));
    TEST_OK(embcl_graph_add(g, e1, e2, &s));
    TEST_OK(embcl_graph_mse_loss(g, s, vt, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = opt;
    TEST_OK(embcl_graph_compile(g, &go));
    cr_assert_eq(embcl_optim_param_count(opt), 1, "only a.weight has a group");
    int64_t idx[4] = {1, 2, 3, 5};
    TEST_OK(embcl_graph_set_input(g, vi, idx, sizeof idx));
    TEST_OK(embcl_graph_set_input(g, vt, t, sizeof t));
    TEST_OK(embcl_graph_step(g));
    float a1[V * D], b1[V * D];
    TEST_OK(embcl_tensor_download(tt, a1, sizeof a1));
    TEST_OK(embcl_tensor_download(to, b1, sizeof b1));
    cr_assert(memcmp(b1, other, sizeof b1) == 0, "b.weight has no group, yet it changed");
    cr_assert(memcmp(a1 + 2 * D, table + 2 * D, 2 * D * sizeof(float)) == 0, "frozen rows 2..4 changed");
    cr_assert(memcmp(a1 + 1 * D, table + 1 * D, D * sizeof(float)) != 0, "row 1 was looked up but did not change");
    cr_assert(memcmp(a1 + 5 * D, table + 5 * D, D * sizeof(float)) != 0, "row 5 was looked up but did not change");

    int64_t bad[4] = {1, 2, 10, 5};
    TEST_OK(embcl_graph_set_input(g, vi, bad, sizeof bad));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_graph_step(g), "embcl_graph_step", "10", "embedding_0");
    float a2[V * D];
    TEST_OK(embcl_tensor_download(tt, a2, sizeof a2));
    cr_assert(memcmp(a1, a2, sizeof a1) == 0, "a failed step changed a.weight");
    int64_t steps;
    TEST_OK(embcl_optim_param_steps(opt, 0, &steps));
    cr_assert_eq(steps, 1, "a failed step advanced the optimizer (steps %lld)", (long long)steps);
    embcl_graph_free(g);
    embcl_optim_free(opt);
    embcl_tensor_free(tt);
    embcl_tensor_free(to);
}
