/* `embcl train` options: one table gives the parser, the checks and the
 * --help text with each default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_args.h"

typedef enum otype { O_I64, O_INT, O_DBL, O_U64, O_STR, O_FLAG, O_OPTIM } otype;

typedef struct opt {
    const char *name, *arg, *help;
    otype type;
    void *p;
} opt;

#define N_OPTS 40

static size_t table(train_args *a, opt *o)
{
    embcl_train_config *c = &a->cfg;
    opt t[] = {
        {"corpus", "FILE", "text to train on, one sentence a line (default: the built-in dataset)", O_STR, &a->corpus},
        {"labels", "FILE", "one class id a line for --corpus: trains the sentence classifier", O_STR, &a->labels},
        {"min-count", "N", "words seen fewer times become <unk>", O_I64, &a->min_count},
        {"sentences", "N", "sentences of the built-in dataset", O_I64, &a->sentences},
        {"topics", "N", "topics of the built-in dataset (1..8)", O_INT, &a->topics},
        {"topic-words", "N", "words per topic of the built-in dataset (>= 16)", O_INT, &a->topic_words},
        {"dim", "N", "embedding columns shared by the LM and the classifier", O_I64, &c->dim},
        {"bag-extra", "N", "bag-only columns beside them (one wider table)", O_I64, &c->bag_extra},
        {"hidden", "N", "LSTM hidden size (0: = --dim)", O_I64, &c->hidden},
        {"layers", "N", "LSTM layers", O_INT, &c->layers},
        {"bidirectional", NULL, "bidirectional LSTM (the LM then sees the future: perplexity is no measure)",
         O_FLAG, &c->bidirectional},
        {"epochs", "N", "passes over the training text", O_INT, &c->epochs},
        {"steps", "N", "stop after N steps in all (0: --epochs decides)", O_I64, &c->max_steps},
        {"batch", "N", "LM batch (stream columns)", O_I64, &c->batch},
        {"bptt", "N", "LM window length", O_I64, &c->bptt},
        {"cls-batch", "N", "sentences per classifier step", O_I64, &c->cls_batch},
        {"bag-len", "N", "tokens per bag, longer sentences cut (0: 90th percentile of lengths)", O_I64, &c->bag_len},
        {"lr", "X", "learning rate of the dense parameters", O_DBL, &c->lr},
        {"optimizer", "NAME", "dense parameters: sgd, adam, adamw, adagrad", O_OPTIM, &c->optimizer},
        {"table-lr", "X", "learning rate of the embedding table", O_DBL, &c->table_lr},
        {"table-optimizer", "NAME",
         "the table: rowwise-adagrad, sparseadam (over the rows each step touches), adagrad, adam, adamw, sgd",
         O_OPTIM, &c->table_optimizer},
        {"weight-decay", "X", "weight decay of the dense parameters", O_DBL, &c->weight_decay},
        {"clip", "X", "clip the total gradient norm (0: off)", O_DBL, &c->clip},
        {"valid-pct", "N", "share of sentences held out for evaluation", O_INT, &c->valid_pct},
        {"pretrained", "FILE", "GloVe or word2vec text vectors for the shared columns", O_STR, &a->pretrained},
        {"freeze", NULL, "keep the pretrained vectors fixed", O_FLAG, &a->freeze},
        {"pretrained-lr", "X", "learning rate of the pretrained columns (-1: --table-lr / 10)", O_DBL,
         &c->pretrained_lr},
        {"pretrained-weight-decay", "X", "weight decay of the pretrained columns", O_DBL,
         &c->pretrained_weight_decay},
        {"device", "SEL", "device selector as EMBCL_DEVICE (gpu, cpu, P:D, a name)", O_STR, &a->device},
        {"seed", "N", "seed of the initial weights and the data order", O_U64, &c->seed},
        {"deterministic", NULL, "the same bits on every run (deterministic scatter on GPUs too)", O_FLAG,
         &c->deterministic},
        {"log-csv", "FILE", "write step,lm_loss,cls_loss,grad_norm per step", O_STR, &a->log_csv},
        {"save", "FILE", "write a safetensors checkpoint at the end", O_STR, &a->save},
        {"checkpoint-every", "N", "also write --save every N steps", O_I64, &a->checkpoint_every},
        {"resume", "FILE", "continue from a checkpoint (its config; --steps/--epochs count from 0)", O_STR,
         &a->resume},
        {"json", NULL, "print a JSON summary as the last line", O_FLAG, &a->json},
        {"quiet", NULL, "no progress display", O_FLAG, &a->quiet},
    };
    size_t n = sizeof t / sizeof t[0];
    memcpy(o, t, sizeof t);
    return n;
}

void train_args_defaults(train_args *a)
{
    memset(a, 0, sizeof *a);
    a->cfg = embcl_train_config_default();
    a->min_count = 1;
    embcl_dataset_options d;
    embcl_dataset_options_default(&d);
    a->sentences = d.n_sentences;
    a->topics = d.n_topics;
    a->topic_words = d.words_per_topic;
}

static const struct {
    const char *name;
    embcl_optim_kind kind;
} optim_names[] = {{"sgd", EMBCL_OPTIM_SGD},         {"adam", EMBCL_OPTIM_ADAM},
                   {"adamw", EMBCL_OPTIM_ADAMW},     {"adagrad", EMBCL_OPTIM_ADAGRAD},
                   {"sparseadam", EMBCL_OPTIM_SPARSE_ADAM}, {"rowwise-adagrad", EMBCL_OPTIM_ROWWISE_ADAGRAD}};

static const char *optim_name(embcl_optim_kind k)
{
    for (size_t i = 0; i < sizeof optim_names / sizeof optim_names[0]; i++)
        if (optim_names[i].kind == k)
            return optim_names[i].name;
    return "?";
}

static void show_default(const opt *o, char *buf, size_t cap)
{
    switch (o->type) {
    case O_I64: snprintf(buf, cap, "%lld", (long long)*(int64_t *)o->p); break;
    case O_INT: snprintf(buf, cap, "%d", *(int *)o->p); break;
    case O_DBL: snprintf(buf, cap, "%g", *(double *)o->p); break;
    case O_U64: snprintf(buf, cap, "%llu", (unsigned long long)*(uint64_t *)o->p); break;
    case O_STR: snprintf(buf, cap, "%s", *(const char **)o->p ? *(const char **)o->p : ""); break;
    case O_FLAG: buf[0] = '\0'; break;
    case O_OPTIM: snprintf(buf, cap, "%s", optim_name(*(embcl_optim_kind *)o->p)); break;
    }
}

static void help(const opt *o, size_t n)
{
    printf("usage: embcl train [options]\n"
           "Trains a language model (Embedding -> LSTM -> Linear tied to the embedding) and a sentence\n"
           "classifier (EmbeddingBag, mean, over the same table plus bag-only columns) on the built-in\n"
           "dataset or on --corpus, then reports perplexity, accuracy, neighbours and an analogy.\n\noptions:\n");
    for (size_t i = 0; i < n; i++) {
        char flag[48], def[64];
        snprintf(flag, sizeof flag, "--%s%s%s", o[i].name, o[i].arg ? " " : "", o[i].arg ? o[i].arg : "");
        show_default(&o[i], def, sizeof def);
        printf("  %-28s %s%s%s%s\n", flag, o[i].help, def[0] ? " [default " : "", def, def[0] ? "]" : "");
    }
}

static int set_value(const opt *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case O_I64: *(int64_t *)o->p = strtoll(v, &end, 10); break;
    case O_INT: *(int *)o->p = (int)strtol(v, &end, 10); break;
    case O_U64: *(uint64_t *)o->p = strtoull(v, &end, 10); break;
    case O_DBL: *(double *)o->p = strtod(v, &end); break;
    case O_STR: *(const char **)o->p = v; return 0;
    case O_OPTIM:
        for (size_t i = 0; i < sizeof optim_names / sizeof optim_names[0]; i++)
            if (strcmp(optim_names[i].name, v) == 0) {
                *(embcl_optim_kind *)o->p = optim_names[i].kind;
                return 0;
            }
        fprintf(stderr,
                "embcl train: --%s is '%s'; expected sgd, adam, adamw, adagrad, sparseadam or rowwise-adagrad\n",
                o->name, v);
        return 2;
    case O_FLAG: return 0;
    }
    if (errno || end == v || *end) {
        fprintf(stderr, "embcl train: --%s expects a number, got '%s'\n", o->name, v);
        return 2;
    }
    return 0;
}

const char *train_args_resume(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--resume") == 0)
            return argv[i + 1];
    return NULL;
}

int train_args_parse(int argc, char **argv, train_args *a)
{
    opt o[N_OPTS];
    size_t n = table(a, o);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            help(o, n);
            return 1;
        }
        const opt *hit = NULL;
        for (size_t k = 0; k < n && !hit; k++)
            if (strncmp(s, "--", 2) == 0 && strcmp(s + 2, o[k].name) == 0)
                hit = &o[k];
        if (!hit) {
            fprintf(stderr, "embcl train: unknown option '%s' (see embcl train --help)\n", s);
            return 2;
        }
        if (hit->type == O_FLAG) {
            *(int *)hit->p = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "embcl train: --%s needs a value (%s)\n", hit->name, hit->arg);
            return 2;
        }
        int rc = set_value(hit, argv[++i]);
        if (rc)
            return rc;
    }
    if (a->freeze)
        a->cfg.freeze_pretrained = 1;
    if (a->freeze && !a->pretrained) {
        fprintf(stderr, "embcl train: --freeze needs --pretrained FILE\n");
        return 2;
    }
    if (a->labels && !a->corpus) {
        fprintf(stderr, "embcl train: --labels needs --corpus FILE\n");
        return 2;
    }
    return 0;
}
