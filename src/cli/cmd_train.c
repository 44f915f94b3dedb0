/* embcl train: the main job. Data (built-in or the user's), the trainer,
 * progress, diagnostics, checkpoints, and the closing report. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embcl.h"
#include "progress.h"
#include "train_args.h"
#include "train_mpi.h"
#include "train_report.h"

typedef struct job {
    train_args a;
    embcl_runtime_t rt;
    embcl_dataset_t ds;
    embcl_vocab_t vocab;  /* owned unless it is the dataset's */
    embcl_corpus_t corpus;
    float *pretrained;
    embcl_trainer_t tr;
    FILE *csv;
    int n_diags;
    char *meta_corpus, *meta_labels;
    embcl_mpi_t mpi; /* under mpirun: data parallel (train_mpi.c); else NULL */
} job;

static int fail(const char *what)
{
    fprintf(stderr, "embcl train: %s%s%s\n", what ? what : "", what ? ": " : "", embcl_last_error());
    return 1;
}

static void on_diag(void *user, const embcl_diag *d)
{
    job *j = user;
    j->n_diags++;
    printf("diagnostic [%s]: %s\n", embcl_diag_kind_name(d->kind), d->message);
    fflush(stdout);
}

/* Which data a checkpoint was trained on: the built-in dataset's options,
 * or the corpus files (which --corpus/--labels may still override). */
static int read_data_meta(job *j, embcl_safetensors_t st)
{
    const char *ds = embcl_safetensors_meta(st, "dataset");
    const char *corpus = embcl_safetensors_meta(st, "corpus"), *labels = embcl_safetensors_meta(st, "labels");
    long long n = 0;
    int topics = 0, words = 0;
    if (ds && sscanf(ds, "{\"sentences\": %lld, \"topics\": %d, \"topic_words\": %d}", &n, &topics, &words) == 3) {
        j->a.sentences = n;
        j->a.topics = topics;
        j->a.topic_words = words;
    }
    if (corpus) {
        j->meta_corpus = strdup(corpus);
        j->a.corpus = j->meta_corpus;
    }
    if (labels) {
        j->meta_labels = strdup(labels);
        j->a.labels = j->meta_labels;
    }
    return 0;
}

/* The config (and vocabulary) a checkpoint was trained with. */
static int read_resume(job *j, const char *path)
{
    embcl_safetensors_t st;
    if (embcl_safetensors_open(path, &st) != EMBCL_OK)
        return fail("--resume");
    const char *cfg = embcl_safetensors_meta(st, "config"), *voc = embcl_safetensors_meta(st, "vocab");
    int rc = 0;
    if (!cfg || !voc) {
        fprintf(stderr, "embcl train: --resume %s: no 'config' or 'vocab' in its metadata (not an embcl checkpoint)\n",
                path);
        rc = 1;
    } else if (read_data_meta(j, st) || embcl_train_config_parse(cfg, &j->a.cfg) != EMBCL_OK ||
               embcl_vocab_parse(voc, strlen(voc), path, &j->vocab) != EMBCL_OK) {
        rc = fail("--resume");
    }
    embcl_safetensors_close(st);
    return rc;
}

static int load_data(job *j)
{
    train_args *a = &j->a;
    if (!a->corpus) {
        embcl_dataset_options o;
        embcl_dataset_options_default(&o);
        o.seed = a->cfg.seed;
        o.n_sentences = a->sentences;
        o.n_topics = a->topics;
        o.words_per_topic = a->topic_words;
        double t0 = progress_now();
        if (embcl_dataset_generate(&o, &j->ds) != EMBCL_OK)
            return fail("built-in dataset");
        j->corpus = embcl_dataset_corpus(j->ds);
        if (!j->vocab) /* resuming gives the checkpoint's, which is the same plus <eos> */
            j->vocab = embcl_dataset_vocab(j->ds);
        embcl_corpus_view v;
        embcl_corpus_get(j->corpus, &v);
        printf("built-in dataset: %lld sentences, %lld tokens, %lld words, %lld classes (%.1f s)\n",
               (long long)v.n_sentences, (long long)v.n_tokens, (long long)embcl_vocab_size(j->vocab),
               (long long)v.n_classes, progress_now() - t0);
        return 0;
    }
    embcl_vocab_t built = NULL;
    if (embcl_corpus_load(a->corpus, j->vocab, a->min_count, j->vocab ? NULL : &built, &j->corpus) != EMBCL_OK)
        return fail(NULL);
    if (built)
        j->vocab = built;
    if (a->labels && embcl_corpus_load_labels(j->corpus, a->labels) != EMBCL_OK)
        return fail(NULL);
    embcl_corpus_view v;
    embcl_corpus_get(j->corpus, &v);
    int64_t unk = 0;
    for (int64_t i = 0; i < v.n_tokens; i++)
        unk += v.tokens[i] == EMBCL_VOCAB_UNK;
    printf("corpus %s: %lld sentences, %lld tokens, vocabulary %lld (min count %lld; %.1f%% of tokens <unk>)%s\n",
           a->corpus, (long long)v.n_sentences, (long long)v.n_tokens, (long long)embcl_vocab_size(j->vocab),
           (long long)a->min_count, v.n_tokens ? 100.0 * (double)unk / (double)v.n_tokens : 0.0,
           v.labels ? "" : ", no labels: language model only");
    return 0;
}

static int load_pretrained(job *j)
{
    if (!j->a.pretrained)
        return 0;
    if (j->a.resume) {
        printf("--pretrained ignored: the weights come from --resume\n");
        return 0;
    }
    embcl_pretrained_options o;
    embcl_pretrained_options_default(&o);
    o.dim = j->a.cfg.dim;
    o.init_scale = 0.1; /* as the trainer's own initialisation */
    o.seed = j->a.cfg.seed;
    embcl_pretrained_stats st;
    if (embcl_pretrained_load(j->a.pretrained, j->vocab, &o, &j->pretrained, &st) != EMBCL_OK)
        return fail("--pretrained");
    char line[512];
    embcl_pretrained_describe(&st, line, sizeof line);
    printf("%s; %s\n", line,
           j->a.cfg.freeze_pretrained ? "frozen" : "fine-tuned as their own parameter group (--pretrained-lr)");
    return 0;
}

typedef struct snapshot {
    embcl_eval_result ev;
    quality q;
} snapshot;

static int measure(job *j, snapshot *s, FILE *print)
{
    if (embcl_trainer_evaluate(j->tr, &s->ev) != EMBCL_OK)
        return fail("evaluation");
    embcl_dataset_truth truth;
    if (j->ds)
        embcl_dataset_truth_get(j->ds, &truth);
    return report_quality(j->tr, j->vocab, j->ds ? &truth : NULL, print, &s->q);
}

static int save(job *j)
{
    if (!train_mpi_speaks(j->mpi))
        return 0;
    char ds[160];
    const char *keys[2], *vals[2];
    size_t n = 0;
    if (j->a.corpus) {
        keys[n] = "corpus", vals[n++] = j->a.corpus;
        if (j->a.labels)
            keys[n] = "labels", vals[n++] = j->a.labels;
    } else {
        snprintf(ds, sizeof ds, "{\"sentences\": %lld, \"topics\": %d, \"topic_words\": %d}",
                 (long long)j->a.sentences, j->a.topics, j->a.topic_words);
        keys[n] = "dataset", vals[n++] = ds;
    }
    if (embcl_trainer_save(j->tr, j->a.save, keys, vals, n) != EMBCL_OK)
        return fail("--save");
    return 0;
}

static int train_loop(job *j, double *seconds, double *last_loss)
{
    embcl_train_info info;
    embcl_trainer_info(j->tr, &info);
    int64_t first = embcl_trainer_steps_done(j->tr);
    progress p;
    progress_start(&p, first, info.total_steps, info.tokens_per_step, j->a.quiet);
    double t0 = progress_now();
    for (int64_t s = first; s < info.total_steps; s++) {
        embcl_step_result r;
        if (embcl_trainer_step(j->tr, &r) != EMBCL_OK)
            return fail("step");
        *last_loss = r.lm_loss;
        if (!isfinite(r.lm_loss) || !isfinite(r.cls_loss)) {
            fprintf(stderr, "embcl train: the loss became %g at step %lld (lower --lr or --table-lr, or --clip)\n",
                    r.lm_loss, (long long)r.step);
            return 1;
        }
        if (j->csv)
            fprintf(j->csv, "%lld,%.9g,%.9g,%.9g\n", (long long)r.step, r.lm_loss, r.cls_loss, r.grad_norm);
        progress_update(&p, r.step, r.lm_loss, r.cls_loss);
        if (j->a.save && j->a.checkpoint_every > 0 && r.step % j->a.checkpoint_every == 0 && save(j))
            return 1;
    }
    *seconds = progress_now() - t0;
    return 0;
}

static void print_eval(const char *when, const snapshot *s)
{
    printf("%s: validation perplexity %.2f (unigram baseline %.2f)", when, s->ev.perplexity,
           s->ev.unigram_perplexity);
    if (s->ev.accuracy >= 0)
        printf(", classifier accuracy %.3f (majority class %.3f)", s->ev.accuracy, s->ev.majority_accuracy);
    printf("\n");
}

static void print_json(const job *j, const snapshot *init, const snapshot *fin, int64_t steps, double seconds,
                       double tps, double last_loss)
{
    printf("{\"steps\": %lld, \"seconds\": %.3f, \"tokens_per_s\": %.1f, \"final_loss\": %.6f, "
           "\"perplexity\": %.4f, \"init_perplexity\": %.4f, \"unigram_perplexity\": %.4f, "
           "\"accuracy\": %.4f, \"init_accuracy\": %.4f, \"majority_accuracy\": %.4f, "
           "\"purity\": %.4f, \"init_purity\": %.4f, \"purity_chance\": %.4f, "
           "\"analogy_top1\": %.4f, \"analogy_top3\": %.4f, \"init_analogy_top3\": %.4f, "
           "\"analogy_rank\": %d, \"init_analogy_rank\": %d, \"diagnostics\": %d}\n",
           (long long)steps, seconds, tps, last_loss, fin->ev.perplexity, init->ev.perplexity,
           fin->ev.unigram_perplexity, fin->ev.accuracy, init->ev.accuracy, fin->ev.majority_accuracy, fin->q.purity,
           init->q.purity, fin->q.purity_chance, fin->q.analogy_top1, fin->q.analogy_top3, init->q.analogy_top3,
           fin->q.demo_rank, init->q.demo_rank, j->n_diags);
}

static int run(job *j)
{
    train_args *a = &j->a;
    if (train_mpi_begin(&j->mpi))
        return 1;
    embcl_runtime_options ro = embcl_runtime_options_default();
    ro.device = a->device;
    if (embcl_runtime_create(&ro, &j->rt) != EMBCL_OK)
        return fail("--device");
    embcl_device_t dev;
    embcl_device_info di;
    if (embcl_runtime_device(j->rt, 0, &dev) != EMBCL_OK || embcl_device_get_info(dev, &di) != EMBCL_OK)
        return fail(NULL);
    if (di.device_class != di.type) /* its times and scatter are another type's: say why */
        printf("device: %s (%s, treated as %s by EMBCL_DEVICE_CLASS)\n", di.name, embcl_device_type_name(di.type),
               embcl_device_type_name(di.device_class));
    else
        printf("device: %s (%s)\n", di.name, embcl_device_type_name(di.type));
    if (load_data(j) || load_pretrained(j))
        return 1;
    if (embcl_trainer_create(j->rt, &a->cfg, j->vocab, j->corpus, j->pretrained, on_diag, j, &j->tr) != EMBCL_OK)
        return fail(NULL);
    if (a->resume) {
        if (embcl_trainer_load(j->tr, a->resume) != EMBCL_OK)
            return fail("--resume");
        printf("resumed from %s at step %lld\n", a->resume, (long long)embcl_trainer_steps_done(j->tr));
    }
    if (train_mpi_attach(j->mpi, j->tr))
        return 1;
    embcl_train_info info;
    embcl_trainer_info(j->tr, &info);
    const embcl_train_config *c = &a->cfg;
    printf("model: Embedding(%lld, %lld) -> LSTM(hidden %lld, layers %d%s) -> Linear tied to the embedding",
           (long long)info.vocab_size, (long long)c->dim, (long long)(c->hidden ? c->hidden : c->dim), c->layers,
           c->bidirectional ? ", bidirectional" : "");
    if (info.n_classes)
        printf("; EmbeddingBag(mean) over the same table + %lld bag-only columns -> Linear(%lld classes)",
               (long long)c->bag_extra, (long long)info.n_classes);
    printf("\n%lld trainable floats; %lld steps (%lld a epoch) of %lld x %lld tokens%s\n", (long long)info.n_params,
           (long long)info.total_steps, (long long)info.steps_per_epoch, (long long)c->batch, (long long)c->bptt,
           info.n_classes ? " + a classifier batch" : "");
    if (c->bidirectional)
        printf("note: a bidirectional LSTM sees the next word, so its perplexity does not measure prediction\n");
    snapshot init, fin;
    if (measure(j, &init, NULL))
        return 1;
    print_eval("at initialisation", &init);
    if (a->log_csv && train_mpi_speaks(j->mpi)) {
        j->csv = fopen(a->log_csv, embcl_trainer_steps_done(j->tr) ? "a" : "w");
        if (!j->csv) {
            fprintf(stderr, "embcl train: --log-csv %s: cannot open for writing\n", a->log_csv);
            return 1;
        }
        if (!embcl_trainer_steps_done(j->tr))
            fprintf(j->csv, "step,lm_loss,cls_loss,grad_norm\n");
    }
    int64_t first = embcl_trainer_steps_done(j->tr);
    double seconds = 0, last_loss = NAN;
    if (train_loop(j, &seconds, &last_loss))
        return 1;
    int64_t done = embcl_trainer_steps_done(j->tr) - first;
    double tps = seconds > 0 ? (double)(done * info.tokens_per_step) / seconds : 0;
    printf("trained %lld steps in %.1f s (%.0f tokens/s)\n", (long long)done, seconds, tps);
    if (measure(j, &fin, stdout))
        return 1;
    print_eval("after training", &fin);
    if (j->n_diags == 0)
        printf("diagnostics: none (every parameter got gradients and changed)\n");
    if (a->save) {
        if (save(j))
            return 1;
        printf("checkpoint: %s (step %lld)\n", a->save, (long long)embcl_trainer_steps_done(j->tr));
    }
    if (a->json)
        print_json(j, &init, &fin, embcl_trainer_steps_done(j->tr), seconds, tps, last_loss);
    return 0;
}

int embcl_cmd_train(int argc, char **argv)
{
    job j;
    memset(&j, 0, sizeof j);
    train_args_defaults(&j.a);
    const char *resume = train_args_resume(argc, argv);
    if (resume && read_resume(&j, resume)) {
        embcl_vocab_free(j.vocab);
        return 1;
    }
    int rc = train_args_parse(argc, argv, &j.a);
    if (rc == 1)
        rc = 0;
    else if (rc == 0)
        rc = run(&j);
    if (j.csv)
        fclose(j.csv);
    embcl_trainer_free(j.tr);
    train_mpi_end(j.mpi, rc);
    if (!j.ds || j.vocab != embcl_dataset_vocab(j.ds))
        embcl_vocab_free(j.vocab);
    if (!j.ds)
        embcl_corpus_free(j.corpus);
    embcl_dataset_free(j.ds);
    embcl_io_free(j.pretrained);
    embcl_runtime_free(j.rt);
    free(j.meta_corpus);
    free(j.meta_labels);
    return rc;
}
