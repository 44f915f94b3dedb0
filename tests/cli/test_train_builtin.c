/* `embcl train` on the built-in dataset, in a smaller configuration than
 * the default (a smaller dataset: 4 topics of 40 words): what the closing
 * report shows must have emerged from training, not from construction, so
 * each measure is checked at initialisation (where it must fail) and after
 * training (where it must be well above chance). And a resumed run must
 * continue exactly where an uninterrupted one would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "embcl.h"
#include "test_util.h"

#define SMALL " --sentences 6000 --topics 4 --topic-words 40 --dim 32 --bag-extra 8"

Test(train_builtin, neighbours_analogy_accuracy_and_perplexity_emerge_from_training)
{
    char *out;
    int rc = cli_run(EMBCL_TOOL_PATH " train" SMALL " --epochs 6 --json", &out);
    cr_assert_eq(rc, 0, "%s", out);
    /* The report's parts, for people. */
    cr_assert(strstr(out, "validation perplexity"), "%s", out);
    cr_assert(strstr(out, "unigram baseline"), "%s", out);
    cr_assert(strstr(out, "classifier accuracy"), "%s", out);
    cr_assert(strstr(out, "nearest neighbours"), "%s", out);
    cr_assert(strstr(out, "analogy: man : woman :: king : ?"), "%s", out);
    cr_assert(strstr(out, "tok/s") && strstr(out, "ETA"), "no progress lines:\n%s", out);
    cr_assert(strstr(out, "diagnostics: none"), "%s", out);

    double chance = cli_json_num(out, "purity_chance");
    cr_assert_float_eq(chance, 0.25, 1e-9);
    double p0 = cli_json_num(out, "init_purity"), p1 = cli_json_num(out, "purity");
    cr_assert_lt(p0, 1.6 * chance, "neighbours are topical before training (%.3f)", p0);
    cr_assert_gt(p1, 2.0 * chance, "neighbour purity %.3f is not well above chance %.3f", p1, chance);

    int r0 = (int)cli_json_num(out, "init_analogy_rank"), r1 = (int)cli_json_num(out, "analogy_rank");
    cr_assert(r0 == 0 || r0 > 3, "queen is in the top 3 before training (rank %d)", r0);
    cr_assert(r1 >= 1 && r1 <= 3, "man : woman :: king : queen not in the top 3 after training (rank %d)", r1);
    cr_assert_gt(cli_json_num(out, "analogy_top3"), 0.5, "most analogies should be solved");
    cr_assert_lt(cli_json_num(out, "init_analogy_top3"), 0.05);

    double a0 = cli_json_num(out, "init_accuracy"), a1 = cli_json_num(out, "accuracy");
    double maj = cli_json_num(out, "majority_accuracy");
    cr_assert_lt(a0, 0.65, "the classifier is right before training (%.3f)", a0);
    cr_assert_gt(a1, 0.9, "accuracy %.3f (majority class %.3f)", a1, maj);

    double ppl0 = cli_json_num(out, "init_perplexity"), ppl1 = cli_json_num(out, "perplexity");
    double uni = cli_json_num(out, "unigram_perplexity");
    cr_assert_gt(ppl0, uni, "the untrained LM already beats the unigram model (%.1f vs %.1f)", ppl0, uni);
    cr_assert_lt(ppl1, 0.5 * uni, "perplexity %.2f is not well below the unigram baseline %.2f", ppl1, uni);
    free(out);
}

/* The bytes of every tensor and the step of two checkpoints are equal. */
static void expect_same_checkpoint(const char *a, const char *b)
{
    embcl_safetensors_t x, y;
    TEST_OK(embcl_safetensors_open(a, &x));
    TEST_OK(embcl_safetensors_open(b, &y));
    size_t n = embcl_safetensors_count(x);
    cr_assert_eq(n, embcl_safetensors_count(y), "tensor counts differ");
    for (size_t i = 0; i < n; i++) {
        embcl_st_info ti, tj;
        TEST_OK(embcl_safetensors_at(x, i, &ti));
        TEST_OK(embcl_safetensors_find(y, ti.name, &tj));
        cr_assert_eq(ti.nbytes, tj.nbytes, "%s: sizes differ", ti.name);
        cr_assert(memcmp(ti.data, tj.data, ti.nbytes) == 0, "%s differs between the runs", ti.name);
    }
    cr_assert_str_eq(embcl_safetensors_meta(x, "step"), embcl_safetensors_meta(y, "step"));
    embcl_safetensors_close(x);
    embcl_safetensors_close(y);
}

Test(train_builtin, n_steps_then_resume_then_n_steps_equals_2n_steps_bit_for_bit)
{
    char *dir = test_tempdir("resume"), cmd[4096], *out;
    const char *cfg = " train --sentences 2000 --dim 16 --bag-extra 4 --batch 8 --bptt 10 --deterministic --quiet";
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH "%s --steps 4 --save %s/straight.st --log-csv %s/straight.csv", cfg,
             dir, dir);
    cr_assert_eq(cli_run(cmd, &out), 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH "%s --steps 2 --save %s/half.st --log-csv %s/resumed.csv", cfg, dir,
             dir);
    cr_assert_eq(cli_run(cmd, &out), 0, "%s", out);
    free(out);
    /* The checkpoint's config is used; only the run length comes from the command line.
     * Resuming at step 2 also crosses the step where the trainer checks
     * for parameters that did not change (it must not compare with nothing). */
    snprintf(cmd, sizeof cmd,
             EMBCL_TOOL_PATH " train --resume %s/half.st --steps 4 --quiet --save %s/resumed.st --log-csv %s/resumed.csv",
             dir, dir, dir);
    cr_assert_eq(cli_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "resumed from") && strstr(out, "at step 2"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/straight.st", dir);
    char other[4096];
    snprintf(other, sizeof other, "%s/resumed.st", dir);
    expect_same_checkpoint(cmd, other);
    /* The loss logs agree line for line too. */
    snprintf(cmd, sizeof cmd, "cmp %s/straight.csv %s/resumed.csv", dir, dir);
    cr_assert_eq(cli_run(cmd, &out), 0, "loss logs differ: %s", out);
    free(out);
    /* And the checkpoint holds what a PyTorch user loads by name. */
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(other, &st));
    const char *names[] = {"embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                           "lstm.bias_hh_l0", "decoder.bias", "classifier.weight", "classifier.bias",
                           "optimizer.embedding.weight.momentum1", "optimizer.lstm.weight_ih_l0.exp_avg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        embcl_st_info info;
        TEST_OK(embcl_safetensors_find(st, names[i], &info));
    }
    embcl_st_info emb;
    TEST_OK(embcl_safetensors_find(st, "embedding.weight", &emb));
    cr_assert(emb.ndim == 2 && emb.shape[1] == 20, "embedding.weight is [V, dim + bag_extra] = [V, 20]");
    cr_assert_not_null(embcl_safetensors_meta(st, "config"));
    cr_assert_not_null(embcl_safetensors_meta(st, "vocab"));
    cr_assert_not_null(embcl_safetensors_meta(st, "rng"));
    embcl_safetensors_close(st);
    free(dir);
}
