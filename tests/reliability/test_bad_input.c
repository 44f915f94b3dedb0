/* Bad input to the parts of the API whose rejections had no test of
 * their own (docs/BAD_INPUT.md lists every one with its test): NULL
 * handles and out-parameters, values out of range, calls out of order, a
 * checkpoint of another model, files that are missing or not checkpoints.
 * Each call fails with the status and a message that names the public
 * function and the argument, and changes nothing. */
#include "trainer_small.h"

TEST_DEVICE_FIXTURE
TestSuite(bad_input, .init = test_device_setup, .fini = test_device_teardown);

Test(bad_input, null_handles_and_out_parameters)
{
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_pool_stats(dev, NULL), "embcl_device_pool_stats");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_pool_stats(NULL, NULL), "embcl_device_pool_stats");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_pool_trim(NULL), "embcl_device_pool_trim");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_get_info(dev, NULL), "embcl_device_get_info");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_finish(NULL), "embcl_device_finish");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_device_marker(dev, NULL), "embcl_device_marker");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_event_wait(NULL), "embcl_event_wait");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_runtime_device_count(rt, NULL), "embcl_runtime_device_count");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_runtime_finish(NULL), "embcl_runtime_finish");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_runtime_cache_stats(rt, NULL), "embcl_runtime_cache_stats");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_create(NULL, NULL), "embcl_graph_create");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_create(NULL), "embcl_vocab_create");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_commit(NULL), "embcl_optim_commit", "'opt'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_rollback(NULL), "embcl_optim_rollback", "'opt'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_begin(NULL), "embcl_optim_begin", "'opt'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_trainer_step(NULL, NULL), "embcl_trainer_step", "'tr'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_trainer_info(NULL, NULL), "embcl_trainer_info", "'tr'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_trainer_evaluate(NULL, NULL), "embcl_trainer_evaluate", "'tr'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_trainer_table(NULL, NULL, NULL, NULL), "embcl_trainer_table", "'tr'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_trainer_save(NULL, "x", NULL, NULL, 0), "embcl_trainer_save", "'tr'");
}

Test(bad_input, optimizer_queries_out_of_range)
{
    embcl_optim_t opt;
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_ADAM, NULL, &opt));
    TEST_OK(embcl_optim_add_group(opt, NULL, NULL));
    int64_t shape[2] = {4, 3};
    embcl_tensor_t p;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &p));
    TEST_OK(embcl_optim_add_param(opt, 0, p, "w", NULL));
    embcl_optim_hparams hp;
    int64_t steps;
    size_t n;
    float host[12];
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_group_hparams(opt, 1, &hp), "embcl_optim_group_hparams",
               "'group' is 1");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_group_hparams(opt, 0, NULL), "embcl_optim_group_hparams", "'out'");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_param_steps(opt, 2, &steps), "embcl_optim_param_steps",
               "'param' is 2");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_param_steps(opt, 0, NULL), "embcl_optim_param_steps", "'out'");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_state_names(opt, 1, &n, NULL, 0), "embcl_optim_state_names",
               "'param' is 1");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_optim_state_download(opt, 0, 2, host, sizeof host),
               "embcl_optim_state_download", "'which' is 2");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_optim_state_download(opt, 0, 0, host, 4), "embcl_optim_state_download");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_optim_state_size(opt, NULL), "embcl_optim_state_size");
    TEST_FAILS(EMBCL_ERR_IO, embcl_optim_state_save_file(opt, "/nonexistent-dir/x.bin"), "embcl_optim_state_save_file",
               "/nonexistent-dir/x.bin");
    embcl_optim_free(opt);
    embcl_tensor_free(p);
}

Test(bad_input, tensor_transfers_of_the_wrong_size)
{
    int64_t shape[2] = {4, 3};
    embcl_tensor_t t;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, shape, &t));
    float host[12];
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_tensor_download(t, host, 8), "embcl_tensor_download", "'bytes'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_tensor_download(t, NULL, sizeof host), "embcl_tensor_download");
    embcl_tensor_free(t);
}

Test(bad_input, graph_misuse)
{
    embcl_graph_t g;
    TEST_OK(embcl_graph_create(rt, &g));
    embcl_value x, w, y, v;
    int64_t sx[2] = {2, 3}, sw[2] = {4, 3};
    TEST_OK(embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &x));
    TEST_OK(embcl_graph_param_new(g, "w", 2, sw, &w));
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_find(g, "nosuch", &v), "embcl_graph_find", "nosuch");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_param_group(g, x, 0), "embcl_graph_param_group", "'x'");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_param_requires_grad(g, x, 0), "embcl_graph_param_requires_grad",
               "'x'");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_graph_param_freeze_cols(g, w, 2, 9), "embcl_graph_param_freeze_cols");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_graph_cols(g, w, 0, 4, &v), "embcl_graph_cols");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_input(g, "x", EMBCL_F32, 2, sx, &v), "embcl_graph_input", "'x'");
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_graph_add(g, x, w, &v), "embcl_graph_add");
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_forward(g), "embcl_graph_forward", "not compiled");
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_set_input(g, x, sx, sizeof sx), "embcl_graph_set_input", "not compiled");
    TEST_OK(embcl_graph_linear(g, x, w, EMBCL_VALUE_NONE, &y));
    TEST_OK(embcl_graph_compile(g, NULL));
    float host[6];
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_graph_set_input(g, x, host, 4), "embcl_graph_set_input", "'bytes' is 4");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_set_input(g, w, host, sizeof host), "embcl_graph_set_input",
               "not an input");
    embcl_tensor_t gt;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_graph_grad(g, x, &gt), "embcl_graph_grad", "not a parameter");
    TEST_FAILS(EMBCL_ERR_STATE, embcl_graph_keep(g, y), "embcl_graph_keep");
    embcl_graph_free(g);
}

Test(bad_input, evaluation_helpers)
{
    float rows[4 * 2] = {1, 0, 0, 1, 1, 1, -1, 0}, q[2] = {1, 0}, sims[2];
    int64_t ids[2];
    size_t found;
    double purity;
    int32_t label[4] = {0, 0, 1, 1};
    int64_t words[2] = {0, 1};
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_nearest(NULL, 4, 2, q, 0, NULL, 0, 2, ids, sims, &found), "embcl_nearest");
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_analogy(rows, 4, 2, 0, 1, 7, 0, 2, ids, sims, &found), "embcl_analogy",
               "7");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_neighbour_purity(rows, 4, 2, label, words, 2, 0, &purity),
               "embcl_neighbour_purity", "k > 0");
    int64_t stray[3] = {0, 1, 4};
    purity = -1;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_neighbour_purity(rows, 4, 2, label, stray, 3, 1, &purity),
               "embcl_neighbour_purity", "words[2] = 4");
    cr_assert_eq(purity, -1, "a rejected call wrote its result");
    /* the words in range still count: with k = 3 every other word is a
     * neighbour, one of three shares each word's label */
    TEST_OK(embcl_neighbour_purity(rows, 4, 2, label, stray, 2, 3, &purity));
    cr_assert_float_eq(purity, 1.0 / 3.0, 1e-12, "purity %g", purity);
}

Test(bad_input, checkpoints_of_another_model_missing_or_not_checkpoints)
{
    char *dir = test_tempdir("bad_ckpt");
    char ck[512], other[512], junk[512];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    snprintf(other, sizeof other, "%s/other.safetensors", dir);
    snprintf(junk, sizeof junk, "%s/junk.safetensors", dir);
    small_trainer a;
    small_trainer_make(&a, rt, 3);
    TEST_OK(embcl_trainer_step(a.tr, NULL));
    TEST_OK(embcl_trainer_save(a.tr, ck, NULL, NULL, 0));
    size_t n_before = 0;
    unsigned char *before = read_whole(ck, &n_before);
    /* another vocabulary (another seed and topics) and a wider model */
    small_trainer b;
    small_trainer_make_with(&b, rt, 99, 12, 3);
    TEST_OK(embcl_trainer_save(b.tr, other, NULL, NULL, 0));
    TEST_FAILS(EMBCL_ERR_SHAPE, embcl_trainer_load(a.tr, other), "embcl_trainer_load", "'embedding.weight'",
               "expected");
    TEST_FAILS(EMBCL_ERR_IO, embcl_trainer_load(a.tr, "/nonexistent/ck.safetensors"), "embcl_trainer_load",
               "/nonexistent/ck.safetensors");
    FILE *f = fopen(junk, "wb");
    fputs("not a checkpoint", f);
    fclose(f);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_trainer_load(a.tr, junk), "embcl_trainer_load", "junk.safetensors");
    float *table = NULL;
    int64_t tv, td;
    embcl_vocab_t tvoc = NULL;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_checkpoint_table(junk, 0, &table, &tv, &td, &tvoc), "embcl_checkpoint_table",
               "junk.safetensors");
    cr_assert(table == NULL && tvoc == NULL);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_trainer_save(a.tr, ck, (const char *[]){"step"},
                                                         (const char *[]){"5"}, 1),
               "embcl_trainer_save", "step");
    /* none of it touched the trainer or its checkpoint */
    TEST_OK(embcl_trainer_save(a.tr, ck, NULL, NULL, 0));
    size_t n_after = 0;
    unsigned char *after = read_whole(ck, &n_after);
    cr_assert(n_after == n_before && memcmp(after, before, n_before) == 0, "a failed load changed the trainer");
    free(before);
    free(after);
    small_trainer_free(&b);
    small_trainer_free(&a);
    rm_dir(dir);
}

Test(bad_input, train_config)
{
    embcl_train_config c;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_train_config_parse("{\"dim\": ", &c), "embcl_train_config_parse");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_train_config_parse(NULL, &c), "embcl_train_config_parse");
    c = embcl_train_config_default();
    c.dim = 0;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_train_config_check(&c), "--dim is 0");
    c = embcl_train_config_default();
    c.valid_pct = 90;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_train_config_check(&c), "--valid-pct is 90");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_train_config_check(NULL), "embcl_train_config_check");
}
