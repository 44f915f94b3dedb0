/* `embcl train` on the user's own files: a corpus with labels, pretrained
 * GloVe vectors frozen or fine-tuned as their own parameter group, the
 * per-step loss log, and the clear errors bad input gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "embcl.h"
#include "test_util.h"

static const char *subjects[] = {"cat", "dog", "bird", "fish", "car", "bus", "tree", "boat"};
static const char *verbs[] = {"runs", "sleeps", "eats", "waits"};
static const char *pos[] = {"good", "nice", "great"}, *neg[] = {"bad", "awful", "poor"};

/* 600 sentences "the S V and it is A"; the label says whether A is positive. */
static void write_corpus(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    FILE *c = fopen(path, "w");
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    FILE *l = fopen(path, "w");
    cr_assert(c && l);
    unsigned x = 12345;
    for (int i = 0; i < 600; i++) {
        x = x * 1103515245u + 12345u;
        int p = (x >> 16) & 1;
        unsigned s = (x >> 8) % 8, v = (x >> 12) % 4, a = (x >> 20) % 3;
        fprintf(c, "the %s %s and it is %s\n", subjects[s], verbs[v], p ? pos[a] : neg[a]);
        fprintf(l, "%d\n", p);
    }
    fclose(c);
    fclose(l);
}

static const char *glove_words[] = {"cat", "dog", "good", "zebra"};

static float glove_value(int w, int d)
{
    return (float)((w + 1) * 0.125 - d * 0.0625);
}

static void write_glove(const char *dir, int dim, int break_line)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/glove.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    for (int w = 0; w < 4; w++) {
        fprintf(f, "%s", glove_words[w]);
        for (int d = 0; d < dim - (w + 1 == break_line); d++)
            fprintf(f, " %.9g", glove_value(w, d));
        fprintf(f, "\n");
    }
    fclose(f);
}

#define USER " train --quiet --dim 8 --bag-extra 4 --batch 4 --bptt 8 --cls-batch 8 --json"

/* Columns [0, 8) of the checkpoint's table rows for the GloVe words. */
static void pretrained_rows(const char *ckpt, float got[3][8])
{
    embcl_safetensors_t st;
    TEST_OK(embcl_safetensors_open(ckpt, &st));
    const char *voc = embcl_safetensors_meta(st, "vocab");
    cr_assert_not_null(voc);
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_parse(voc, strlen(voc), "vocab", &v));
    embcl_st_info info;
    TEST_OK(embcl_safetensors_find(st, "embedding.weight", &info));
    cr_assert_eq(info.shape[1], 12);
    for (int w = 0; w < 3; w++) {
        int64_t id = embcl_vocab_find(v, glove_words[w], strlen(glove_words[w]));
        cr_assert_geq(id, 0);
        memcpy(got[w], (const char *)info.data + (size_t)(id * 12) * sizeof(float), 8 * sizeof(float));
    }
    embcl_vocab_free(v);
    embcl_safetensors_close(st);
}

Test(train_user, corpus_labels_and_frozen_glove_with_a_loss_log)
{
    char *dir = test_tempdir("user"), cmd[8192], *out;
    write_corpus(dir);
    write_glove(dir, 8, 0);
    snprintf(cmd, sizeof cmd,
             EMBCL_TOOL_PATH USER " --corpus %s/corpus.txt --labels %s/labels.txt --pretrained %s/glove.txt --freeze"
                             " --epochs 3 --log-csv %s/loss.csv --save %s/ck.st",
             dir, dir, dir, dir, dir);
    int rc = cli_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "600 sentences"), "%s", out);
    /* Coverage: cat, dog and good found, zebra is not in the corpus. */
    cr_assert(strstr(out, "3 of") && strstr(out, "frozen"), "no coverage report:\n%s", out);
    cr_assert_gt(cli_json_num(out, "accuracy"), 0.9, "%s", out);
    int steps = (int)cli_json_num(out, "steps");
    free(out);
    float got[3][8];
    snprintf(cmd, sizeof cmd, "%s/ck.st", dir);
    pretrained_rows(cmd, got);
    for (int w = 0; w < 3; w++)
        for (int d = 0; d < 8; d++)
            cr_assert_eq(got[w][d], glove_value(w, d), "frozen '%s' column %d changed: %g", glove_words[w], d,
                         got[w][d]);
    /* One CSV line per step after the header. */
    snprintf(cmd, sizeof cmd, "%s/loss.csv", dir);
    FILE *f = fopen(cmd, "r");
    cr_assert_not_null(f);
    char line[256];
    int lines = 0;
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, "step,lm_loss,cls_loss,grad_norm\n");
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    cr_assert_eq(lines, steps, "%d CSV lines for %d steps", lines, steps);

    /* The table out again: GloVe text that reads back as the same floats,
     * and a neighbours query against the checkpoint. */
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH " export %s/ck.st %s/out.txt --format glove", dir, dir);
    cr_assert_eq(cli_run(cmd, &out), 0, "%s", out);
    free(out);
    embcl_vocab_t v;
    float *m;
    snprintf(cmd, sizeof cmd, "%s/corpus.txt", dir);
    embcl_corpus_t c;
    TEST_OK(embcl_corpus_load(cmd, NULL, 1, &v, &c));
    embcl_corpus_free(c);
    snprintf(cmd, sizeof cmd, "%s/out.txt", dir);
    TEST_OK(embcl_pretrained_load(cmd, v, NULL, &m, NULL));
    int64_t cat = embcl_vocab_find(v, "cat", 3);
    for (int d = 0; d < 8; d++)
        cr_assert_eq(m[cat * 8 + d], glove_value(0, d), "exported 'cat' column %d: %g", d, m[cat * 8 + d]);
    embcl_io_free(m);
    embcl_vocab_free(v);
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH " neighbours %s/ck.st cat -k 3", dir);
    cr_assert_eq(cli_run(cmd, &out), 0, "%s", out);
    cr_assert(strncmp(out, "cat: ", 5) == 0 && strstr(out, "("), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH " neighbours %s/ck.st zebra", dir);
    cr_assert_eq(cli_run(cmd, &out), 1, "%s", out);
    cr_assert(strstr(out, "'zebra' is not in the checkpoint's vocabulary"), "%s", out);
    free(out);
    free(dir);
}

Test(train_user, glove_fine_tuned_with_its_own_learning_rate_moves)
{
    char *dir = test_tempdir("tune"), cmd[8192], *out;
    write_corpus(dir);
    write_glove(dir, 8, 0);
    snprintf(cmd, sizeof cmd,
             EMBCL_TOOL_PATH USER " --corpus %s/corpus.txt --pretrained %s/glove.txt --pretrained-lr 0.05"
                             " --pretrained-weight-decay 0.01 --steps 20 --save %s/ck.st",
             dir, dir, dir);
    int rc = cli_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "fine-tuned"), "%s", out);
    cr_assert(strstr(out, "language model only"), "without --labels there is no classifier:\n%s", out);
    free(out);
    float got[3][8];
    snprintf(cmd, sizeof cmd, "%s/ck.st", dir);
    pretrained_rows(cmd, got);
    int moved = 0;
    for (int w = 0; w < 3; w++)
        for (int d = 0; d < 8; d++)
            moved += got[w][d] != glove_value(w, d);
    cr_assert_gt(moved, 12, "fine-tuned rows barely moved (%d of 24 values)", moved);
    free(dir);
}

static void expect_failure(const char *cmd, int want_rc, const char *const *needles, size_t n)
{
    char *out;
    int rc = cli_run(cmd, &out);
    cr_assert_eq(rc, want_rc, "exit %d (expected %d) for %s:\n%s", rc, want_rc, cmd, out);
    for (size_t i = 0; i < n; i++)
        cr_assert(strstr(out, needles[i]), "'%s' not in the message of %s:\n%s", needles[i], cmd, out);
    free(out);
}

Test(train_user, bad_input_gets_a_clear_message)
{
    char *dir = test_tempdir("bad"), cmd[8192];
    write_corpus(dir);
    write_glove(dir, 8, 2); /* 'dog' has 7 numbers */
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH USER " --corpus %s/corpus.txt --pretrained %s/glove.txt", dir, dir);
    expect_failure(cmd, 1, (const char *[]){"glove.txt line 2", "dog"}, 2);

    write_glove(dir, 8, 0);
    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH USER " --corpus %s/corpus.txt --pretrained %s/glove.txt --dim 16", dir,
             dir);
    expect_failure(cmd, 1, (const char *[]){"glove.txt", "16", "8"}, 3);

    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH USER " --corpus %s/nosuch.txt", dir);
    expect_failure(cmd, 1, (const char *[]){"nosuch.txt"}, 1);

    snprintf(cmd, sizeof cmd, "head -n 5 %s/labels.txt > %s/short.txt; " EMBCL_TOOL_PATH USER
                              " --corpus %s/corpus.txt --labels %s/short.txt",
             dir, dir, dir, dir);
    expect_failure(cmd, 1, (const char *[]){"short.txt", "600", "5"}, 3);

    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH USER " --corpus %s/corpus.txt --steps 2 --save %s/no/such/dir/ck.st",
             dir, dir);
    expect_failure(cmd, 1, (const char *[]){"--save", "no/such/dir/ck.st"}, 2);

    snprintf(cmd, sizeof cmd, EMBCL_TOOL_PATH " train --resume %s/glove.txt", dir);
    expect_failure(cmd, 1, (const char *[]){"glove.txt"}, 1);

    expect_failure(EMBCL_TOOL_PATH " train --bptt 0 --sentences 200 --quiet", 1, (const char *[]){"--bptt is 0"}, 1);
    expect_failure(EMBCL_TOOL_PATH " train --frobnicate", 2, (const char *[]){"unknown option '--frobnicate'"}, 1);
    expect_failure(EMBCL_TOOL_PATH " train --lr fast", 2, (const char *[]){"--lr", "'fast'"}, 2);
    expect_failure(EMBCL_TOOL_PATH " train --optimizer lion", 2, (const char *[]){"'lion'"}, 1);
    expect_failure(EMBCL_TOOL_PATH " train --freeze", 2, (const char *[]){"--freeze needs --pretrained"}, 1);
    free(dir);
}

Test(train_user, help_lists_every_option_with_its_default)
{
    char *out;
    cr_assert_eq(cli_run(EMBCL_TOOL_PATH " train --help", &out), 0);
    const char *opts[] = {"--dim N", "[default 64]", "--hidden", "--layers", "--bidirectional", "--epochs",
                          "--batch", "--bptt", "--lr X", "--optimizer NAME", "[default adam]", "--weight-decay",
                          "--clip", "--device", "--seed", "--deterministic", "--pretrained", "--freeze",
                          "--pretrained-lr", "--log-csv", "--json", "--resume", "--save", "--corpus", "--labels",
                          "--min-count", "[default rowwise-adagrad]"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        cr_assert(strstr(out, opts[i]), "'%s' missing from --help:\n%s", opts[i], out);
    free(out);
}
