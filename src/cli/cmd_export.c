/* embcl export and embcl neighbours: a checkpoint's word vectors as GloVe,
 * word2vec or safetensors, and nearest-neighbour queries against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embcl.h"

static int fail(const char *cmd)
{
    fprintf(stderr, "embcl %s: %s\n", cmd, embcl_last_error());
    return 1;
}

int embcl_cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *format = "glove";
    int all = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: embcl export CHECKPOINT OUT [--format glove|word2vec|safetensors] [--all-columns]\n"
                   "Writes the checkpoint's word vectors (the columns shared with the language model; with\n"
                   "--all-columns the bag-only ones too): GloVe or word2vec text, or a safetensors file with\n"
                   "\"weight\" [V, dim] and the vocabulary in its metadata. [default format glove]\n");
            return 0;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--all-columns") == 0) {
            all = 1;
        } else if (argv[i][0] != '-' && !in) {
            in = argv[i];
        } else if (argv[i][0] != '-' && !out) {
            out = argv[i];
        } else {
            fprintf(stderr, "embcl export: unexpected argument '%s' (see embcl export --help)\n", argv[i]);
            return 2;
        }
    }
    int st_out = strcmp(format, "safetensors") == 0, w2v = strcmp(format, "word2vec") == 0;
    if (!in || !out || (!st_out && !w2v && strcmp(format, "glove") != 0)) {
        fprintf(stderr, "embcl export: needs CHECKPOINT and OUT, and --format glove, word2vec or safetensors%s%s%s\n",
                format ? " (got '" : "", format ? format : "", format ? "')" : "");
        return 2;
    }
    float *rows;
    int64_t V, D;
    embcl_vocab_t vocab;
    if (embcl_checkpoint_table(in, all, &rows, &V, &D, &vocab) != EMBCL_OK)
        return fail("export");
    embcl_status s;
    if (st_out) {
        char *text = NULL;
        size_t len;
        s = embcl_vocab_serialize(vocab, &text, &len);
        embcl_st_tensor t = {"weight", EMBCL_F32, 2, {V, D}, rows};
        const char *k[1] = {"vocab"}, *v[1] = {text};
        if (s == EMBCL_OK)
            s = embcl_safetensors_save(out, &t, 1, k, v, 1);
        embcl_io_free(text);
    } else {
        s = embcl_pretrained_save(out, vocab, rows, D, w2v ? EMBCL_PRETRAINED_WORD2VEC : EMBCL_PRETRAINED_GLOVE);
    }
    if (s == EMBCL_OK)
        printf("wrote %lld words x %lld columns to %s (%s)\n", (long long)V, (long long)D, out, format);
    embcl_io_free(rows);
    embcl_vocab_free(vocab);
    return s == EMBCL_OK ? 0 : fail("export");
}

int embcl_cmd_neighbours(int argc, char **argv)
{
    const char *ckpt = NULL;
    long k = 10;
    int first_word = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: embcl neighbours CHECKPOINT WORD... [-k N]\n"
                   "The N words nearest (cosine) to each WORD in the checkpoint's embedding. [default k 10]\n");
            return 0;
        } else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            k = strtol(argv[++i], NULL, 10);
        } else if (!ckpt) {
            ckpt = argv[i];
        } else if (first_word < 0) {
            first_word = i;
        }
    }
    if (!ckpt || first_word < 0 || k < 1) {
        fprintf(stderr, "embcl neighbours: needs CHECKPOINT and at least one WORD, and -k >= 1\n");
        return 2;
    }
    float *rows;
    int64_t V, D;
    embcl_vocab_t vocab;
    if (embcl_checkpoint_table(ckpt, 0, &rows, &V, &D, &vocab) != EMBCL_OK)
        return fail("neighbours");
    int64_t *ids = malloc((size_t)k * sizeof *ids);
    float *sims = malloc((size_t)k * sizeof *sims);
    int rc = ids && sims ? 0 : 1;
    for (int i = first_word; i < argc && !rc; i++) {
        if (strcmp(argv[i], "-k") == 0) {
            i++;
            continue;
        }
        int64_t w = embcl_vocab_find(vocab, argv[i], strlen(argv[i]));
        if (w < 0) {
            fprintf(stderr, "embcl neighbours: '%s' is not in the checkpoint's vocabulary (%lld words)\n", argv[i],
                    (long long)V);
            rc = 1;
            break;
        }
        size_t found = 0;
        if (embcl_nearest(rows, V, D, rows + w * D, 2, &w, 1, (size_t)k, ids, sims, &found) != EMBCL_OK) {
            rc = fail("neighbours");
            break;
        }
        printf("%s:", argv[i]);
        for (size_t j = 0; j < found; j++)
            printf(" %s (%.3f)", embcl_vocab_word(vocab, ids[j]), sims[j]);
        printf("\n");
    }
    free(ids);
    free(sims);
    embcl_io_free(rows);
    embcl_vocab_free(vocab);
    return rc;
}
