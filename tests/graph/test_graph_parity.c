/* A whole training run against PyTorch (tests/make_ref_graph.py): the
 * seed's model, Embedding -> LSTM -> Linear -> cross-entropy, three SGD
 * steps from the same initial weights; dense and sparse embedding
 * gradients, and the embedding tied to the output projection. Losses to
 * 1e-5, parameters after the steps to 1e-4 (reduced gradients). */
#include <embcl/graph.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;
static ref_file *ref;

static void setup(void)
{
    rt = test_runtime();
    dev = test_device(rt);
    ref = ref_load(ref_path("graph/train.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    test_expect_no_tensors(dev);
    embcl_runtime_free(rt);
}

TestSuite(graph_parity, .init = setup, .fini = teardown);

static const ref_tensor *need(const ref_case *c, const char *name)
{
    const ref_tensor *t = ref_tensor_get(c, name);
    cr_assert_not_null(t, "reference lacks tensor %s", name);
    return t;
}

static embcl_tensor_t from_ref(const ref_tensor *t)
{
    return test_tensor_f32(dev, t->ndim, t->shape, t->f32);
}

static void expect_param(embcl_graph_t g, const ref_case *c, const char *name, double rtol)
{
    char key[128];
    snprintf(key, sizeof key, "final.%s", name);
    const ref_tensor *want = need(c, key);
    embcl_value v;
    TEST_OK(embcl_graph_find(g, name, &v));
    embcl_tensor_t t;
    TEST_OK(embcl_graph_param_tensor(g, v, &t));
    float *got = malloc((size_t)want->numel * sizeof *got);
    TEST_OK(embcl_tensor_download(t, got, (size_t)want->numel * sizeof *got));
    test_assert_close(got, want->f32, (size_t)want->numel, rtol, 1e-6, key);
    free(got);
    embcl_tensor_free(t);
}

static void run_case(const char *name)
{
    const ref_case *c = ref_case_get(ref, name);
    int tied = (int)ref_attr_int(c, "tied"), steps = (int)ref_attr_int(c, "steps");
    int64_t dim = ref_attr_int(c, "dim");
    const ref_tensor *tokens = need(c, "tokens"), *targets = need(c, "targets");
    int64_t B = tokens->shape[1], T = tokens->shape[2], stok[2] = {B, T};
    embcl_tensor_t table = from_ref(need(c, "init.embedding.weight"));
    embcl_tensor_t fc_b = from_ref(need(c, "init.fc.bias"));
    embcl_tensor_t fc_w = tied ? NULL : from_ref(need(c, "init.fc.weight"));
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    hp.lr = ref_attr_f(c, "lr");
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, &hp, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));

    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value pe, pw, pb, tok, tgt, e, h, logits, loss;
    TEST_OK(embcl_graph_param(g, "embedding.weight", table, &pe));
    if (tied)
        pw = pe;
    else
        TEST_OK(embcl_graph_param(g, "fc.weight", fc_w, &pw));
    TEST_OK(embcl_graph_param(g, "fc.bias", fc_b, &pb));
    TEST_OK(embcl_graph_input(g, "tokens", EMBCL_I64, 2, stok, &tok));
    TEST_OK(embcl_graph_input(g, "targets", EMBCL_I64, 2, stok, &tgt));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.sparse = (int)ref_attr_int(c, "sparse");
    TEST_OK(embcl_graph_embedding(g, pe, tok, &eo, &e));
    embcl_lstm_config cfg = embcl_lstm_config_default(dim, 32);
    cfg.batch_first = 1;
    TEST_OK(embcl_graph_lstm(g, e, dev, &cfg, NULL, "lstm", &h));
    TEST_OK(embcl_graph_linear(g, h, pw, pb, &logits));
    TEST_OK(embcl_graph_cross_entropy(g, logits, tgt, NULL, &loss));
    TEST_OK(embcl_graph_set_loss(g, loss));
    /* The LSTM's weights: PyTorch's initial values. */
    const char *lstm_params[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
    for (int i = 0; i < 4; i++) {
        char key[128], full[64];
        snprintf(full, sizeof full, "lstm.%s", lstm_params[i]);
        snprintf(key, sizeof key, "init.%s", full);
        const ref_tensor *r = need(c, key);
        embcl_value v;
        embcl_tensor_t t;
        TEST_OK(embcl_graph_find(g, full, &v));
        TEST_OK(embcl_graph_param_tensor(g, v, &t));
        TEST_OK(embcl_tensor_upload(t, r->f32, (size_t)r->numel * sizeof(float)));
        embcl_tensor_free(t);
    }
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = opt;
    TEST_OK(embcl_graph_compile(g, &go));
    cr_assert_eq(embcl_optim_param_count(opt), tied ? 6 : 7, "every parameter, once, in the optimizer");
    const ref_tensor *losses = need(c, "losses");
    for (int s = 0; s < steps; s++) {
        TEST_OK(embcl_graph_set_input(g, tok, tokens->i64 + s * B * T, (size_t)(B * T) * sizeof(int64_t)));
        TEST_OK(embcl_graph_set_input(g, tgt, targets->i64 + s * B * T, (size_t)(B * T) * sizeof(int64_t)));
        TEST_OK(embcl_graph_step(g));
        float l;
        TEST_OK(embcl_graph_download(g, loss, &l, sizeof l));
        char what[64];
        snprintf(what, sizeof what, "%s: loss of step %d", name, s);
        test_assert_close(&l, &losses->f32[s], 1, 1e-5, 0, what);
    }
    cr_assert_eq(embcl_graph_diag_count(g), 0, "a correct model reported findings");
    expect_param(g, c, "embedding.weight", 1e-4);
    expect_param(g, c, "lstm.weight_ih_l0", 1e-4);
    expect_param(g, c, "lstm.weight_hh_l0", 1e-4);
    expect_param(g, c, "lstm.bias_hh_l0", 1e-4);
    expect_param(g, c, "fc.bias", 1e-4);
    if (!tied)
        expect_param(g, c, "fc.weight", 1e-4);
    embcl_graph_free(g);
    embcl_optim_free(opt);
    embcl_tensor_free(table);
    embcl_tensor_free(fc_w);
    embcl_tensor_free(fc_b);
}

Test(graph_parity, seed_model_dense_embedding_gradient)
{
    run_case("dense");
}

Test(graph_parity, seed_model_sparse_embedding_gradient)
{
    run_case("sparse");
}

Test(graph_parity, embedding_tied_to_the_output_projection)
{
    run_case("tied");
}
