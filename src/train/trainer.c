/* The trainer: creation, one step (gradients from the graph, clipped
 * together, then each optimizer), evaluation on the held-out sentences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "optim/optim_impl.h"
#include "train/train_impl.h"

#define DIAG_STEPS 3

void embcl_trainer_free(embcl_trainer_t tr)
{
    if (!tr)
        return;
    train_model_free(tr);
    train_data_free(tr);
    if (tr->snapshots)
        for (size_t i = 0; i < tr->n_params; i++)
            free(tr->snapshots[i]);
    free(tr->snapshots);
    free(tr);
}

embcl_status embcl_trainer_create(embcl_runtime_t rt, const embcl_train_config *cfg, embcl_vocab_t vocab,
                                  embcl_corpus_t corpus, const float *pretrained, embcl_diag_fn diag_fn,
                                  void *diag_user, embcl_trainer_t *out)
{
    static const char *fn = "embcl_trainer_create";
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    *out = NULL;
    EMBCL_CHECK_ARG(rt && vocab && corpus, fn, "arguments 'rt', 'vocab' and 'corpus' must not be NULL");
    EMBCL_TRY(embcl_train_config_check(cfg));
    struct embcl_trainer *tr = embcl_calloc(1, sizeof *tr, fn);
    if (!tr)
        return EMBCL_ERR_OUT_OF_MEMORY;
    tr->cfg = *cfg;
    tr->rt = rt;
    tr->vocab = vocab;
    tr->diag_fn = diag_fn;
    tr->diag_user = diag_user;
    embcl_status s = embcl_runtime_device(rt, 0, &tr->dev);
    if (s == EMBCL_OK) {
        tr->eos = embcl_vocab_find(vocab, "<eos>", 5);
        if (pretrained && tr->eos >= 0)
            s = embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                            "the vocabulary already has '<eos>'; pretrained rows must come before it is added");
        else if (tr->eos < 0)
            s = embcl_vocab_add(vocab, "<eos>", 0, &tr->eos);
    }
    if (s == EMBCL_OK) {
        tr->V = embcl_vocab_size(vocab);
        tr->W = cfg->dim + cfg->bag_extra;
        s = train_data_init(tr, corpus);
    }
    if (s == EMBCL_OK)
        s = train_model_build(tr, pretrained);
    if (s != EMBCL_OK) {
        embcl_trainer_free(tr);
        return embcl_error_context(s, fn);
    }
    *out = tr;
    return EMBCL_OK;
}

embcl_status embcl_trainer_info(embcl_trainer_t tr, embcl_train_info *out)
{
    static const char *fn = "embcl_trainer_info";
    EMBCL_CHECK_ARG(tr && out, fn, "arguments 'tr' and 'out' must not be NULL");
    memset(out, 0, sizeof *out);
    out->vocab_size = tr->V;
    out->steps_per_epoch = tr->steps_per_epoch;
    out->total_steps = tr->total_steps;
    out->tokens_per_step = tr->cfg.batch * tr->cfg.bptt * train_mpi_ranks(tr);
    out->train_tokens = tr->n_train_stream;
    out->valid_tokens = tr->n_valid_stream;
    out->train_sentences = tr->n_train_sent;
    out->valid_sentences = tr->n_valid_sent;
    out->n_classes = tr->n_classes;
    out->bag_len = tr->cfg.bag_len;
    out->table_width = tr->W;
    for (size_t i = 0; i < tr->n_params; i++)
        out->n_params += embcl_tensor_numel(tr->params[i].tensor);
    return EMBCL_OK;
}

int64_t embcl_trainer_steps_done(embcl_trainer_t tr)
{
    return tr ? tr->step : 0;
}

embcl_graph_t embcl_trainer_graph(embcl_trainer_t tr)
{
    return tr ? tr->g : NULL;
}

embcl_status embcl_trainer_batch(embcl_trainer_t tr, int64_t step, int64_t *tokens, int64_t *targets,
                                 int64_t *bags, int64_t *labels)
{
    static const char *fn = "embcl_trainer_batch";
    EMBCL_CHECK_ARG(tr && tokens && targets, fn, "arguments 'tr', 'tokens' and 'targets' must not be NULL");
    EMBCL_CHECK_ARG(step >= 0, fn, "argument 'step' is %lld; expected >= 0", (long long)step);
    train_lm_window(tr, tr->train_stream, tr->ncol, step % tr->steps_per_epoch, tokens, targets);
    if (tr->n_classes > 0 && (bags || labels)) {
        /* train_cls_batch fills the trainer's own arrays, which the next
         * step fills again before it reads them. */
        EMBCL_TRY(train_cls_batch(tr, step));
        const size_t CB = (size_t)tr->cfg.cls_batch, L = (size_t)tr->cfg.bag_len;
        if (bags)
            memcpy(bags, tr->host_bags, CB * L * sizeof *bags);
        if (labels)
            memcpy(labels, tr->host_labels, CB * sizeof *labels);
    }
    return EMBCL_OK;
}

static embcl_status set_inputs(embcl_trainer_t tr, int bags)
{
    const size_t n = (size_t)(tr->cfg.batch * tr->cfg.bptt) * sizeof(int64_t);
    EMBCL_TRY(embcl_graph_set_input(tr->g, tr->v_tok, tr->host_tok, n));
    EMBCL_TRY(embcl_graph_set_input(tr->g, tr->v_tgt, tr->host_tgt, n));
    if (tr->n_classes > 0 && bags) {
        EMBCL_TRY(embcl_graph_set_input(tr->g, tr->v_bags, tr->host_bags,
                                        (size_t)(tr->cfg.cls_batch * tr->cfg.bag_len) * sizeof(int64_t)));
        EMBCL_TRY(embcl_graph_set_input(tr->g, tr->v_labels, tr->host_labels,
                                        (size_t)tr->cfg.cls_batch * sizeof(int64_t)));
    }
    return EMBCL_OK;
}

/* The graph has no optimizer to watch, so the trainer reports parameters
 * that did not change over the first steps itself. */
static embcl_status watch_unchanged(embcl_trainer_t tr)
{
    if (!tr->diag_fn || (tr->step != 0 && tr->step != DIAG_STEPS))
        return EMBCL_OK;
    if (tr->step == DIAG_STEPS && !tr->snapshots) /* resumed past step 0: nothing to compare with */
        return EMBCL_OK;
    static const char *fn = "embcl_trainer_step";
    if (tr->step == 0 && !tr->snapshots) { /* a retried first step keeps them */
        tr->snapshots = embcl_calloc(tr->n_params, sizeof *tr->snapshots, fn);
        if (!tr->snapshots)
            return EMBCL_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < tr->n_params; i++) {
        tparam *p = &tr->params[i];
        if (p->table && tr->cfg.freeze_pretrained && p->c0 == 0 && strchr(p->name, '['))
            continue; /* frozen on purpose */
        size_t bytes = (size_t)embcl_tensor_numel(p->tensor) * sizeof(float);
        float *now = embcl_malloc(bytes, fn);
        if (!now)
            return EMBCL_ERR_OUT_OF_MEMORY;
        embcl_status s = embcl_tensor_download(p->tensor, now, bytes);
        if (s != EMBCL_OK) {
            free(now);
            return s;
        }
        if (tr->step == 0) {
            free(tr->snapshots[i]);
            tr->snapshots[i] = now;
            continue;
        }
        if (tr->snapshots[i] && memcmp(now, tr->snapshots[i], bytes) == 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "parameter '%s' is trainable, yet unchanged after %d steps", p->name,
                     DIAG_STEPS);
            embcl_diag d = {EMBCL_DIAG_UNCHANGED, p->name, "", 0.0, msg};
            tr->diag_fn(tr->diag_user, &d);
        }
        free(now);
        free(tr->snapshots[i]);
        tr->snapshots[i] = NULL;
    }
    return EMBCL_OK;
}

static embcl_status update(embcl_trainer_t tr, embcl_grad *grads, double *norm)
{
    *norm = 0;
    EMBCL_TRY(train_mpi_reduce(tr, grads)); /* under MPI: the ranks' mean, before clipping */
    if (tr->cfg.clip > 0)
        EMBCL_TRY(embcl_clip_grad_norm(grads, tr->n_params, tr->cfg.clip, 2.0, norm));
    embcl_grad dense[TRAIN_MAX_PARAMS], table[TRAIN_MAX_PARAMS];
    size_t nd = 0, nt = 0;
    for (size_t i = 0; i < tr->n_params; i++) {
        if (tr->params[i].table)
            table[nt++] = grads[i];
        else
            dense[nd++] = grads[i];
    }
    EMBCL_TRY(embcl_optim_step(tr->table_opt, table, nt));
    return embcl_optim_step(tr->dense_opt, dense, nd);
}

/* The check after a step, made as if the step were counted already. */
static embcl_status watch_unchanged_after(embcl_trainer_t tr)
{
    tr->step++;
    embcl_status s = watch_unchanged(tr);
    tr->step--;
    return s;
}

static embcl_status step_once(embcl_trainer_t tr, embcl_step_result *out, const char *fn)
{
    EMBCL_TRY(watch_unchanged(tr));
    const int64_t k = train_mpi_data_step(tr);
    int64_t w = k % tr->steps_per_epoch;
    train_lm_window(tr, tr->train_stream, tr->ncol, w, tr->host_tok, tr->host_tgt);
    if (tr->n_classes > 0)
        EMBCL_TRY(train_cls_batch(tr, k));
    EMBCL_TRY(set_inputs(tr, 1));
    EMBCL_TRY(embcl_graph_step(tr->g));
    embcl_grad grads[TRAIN_MAX_PARAMS];
    memset(grads, 0, sizeof grads);
    double norm = 0;
    float lm = 0, cl = 0;
    /* All or nothing: until the losses are read back, a failure puts the
     * parameters and both optimizers' state back (optim.h, transactions). */
    optim_tx ttx, dtx;
    EMBCL_TRY(optim_tx_open(tr->table_opt, &ttx));
    embcl_status s = optim_tx_open(tr->dense_opt, &dtx);
    if (s != EMBCL_OK)
        return optim_tx_close(tr->table_opt, &ttx, s, fn) == EMBCL_OK ? s : embcl_error_context(s, fn);
    s = train_collect_grads(tr, grads);
    if (s == EMBCL_OK)
        s = train_sparse_table_grads(tr, grads);
    if (s == EMBCL_OK)
        s = update(tr, grads, &norm);
    for (size_t i = 0; i < tr->n_params; i++)
        embcl_tensor_free(grads[i].dense);
    if (s == EMBCL_OK)
        s = embcl_graph_download(tr->g, tr->lm_loss, &lm, sizeof lm);
    if (s == EMBCL_OK && tr->n_classes > 0)
        s = embcl_graph_download(tr->g, tr->cls_loss, &cl, sizeof cl);
    if (s == EMBCL_OK)
        s = train_mpi_losses(tr, &lm, &cl);
    if (s == EMBCL_OK && (s = watch_unchanged_after(tr)) == EMBCL_OK)
        tr->step++;
    if (s != EMBCL_OK)
        embcl_error_context(s, fn);
    embcl_status a = optim_tx_close(tr->table_opt, &ttx, s, fn), b = optim_tx_close(tr->dense_opt, &dtx, s, fn);
    EMBCL_TRY(a != EMBCL_OK ? a : b != EMBCL_OK ? b : s);
    if (out) {
        out->step = tr->step;
        out->lm_loss = lm;
        out->cls_loss = cl;
        out->grad_norm = norm;
    }
    return EMBCL_OK;
}

embcl_status embcl_trainer_step(embcl_trainer_t tr, embcl_step_result *out)
{
    static const char *fn = "embcl_trainer_step";
    EMBCL_CHECK_ARG(tr != NULL, fn, "argument 'tr' is NULL");
    embcl_status s = step_once(tr, out, fn);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

embcl_status embcl_trainer_evaluate(embcl_trainer_t tr, embcl_eval_result *out)
{
    static const char *fn = "embcl_trainer_evaluate";
    EMBCL_CHECK_ARG(tr && out, fn, "arguments 'tr' and 'out' must not be NULL");
    memset(out, 0, sizeof *out);
    const int64_t B = tr->cfg.batch, T = tr->cfg.bptt, CB = tr->cfg.cls_batch;
    const int64_t ncol = tr->n_valid_stream / B, n_win = (ncol - 1) / T;
    const int64_t n_bat = tr->n_classes > 0 ? (tr->n_valid_sent + CB - 1) / CB : 0;
    double nll = 0, uni = 0;
    int64_t correct = 0, majority = 0;
    float *logits = tr->n_classes > 0 ? embcl_malloc((size_t)(CB * tr->n_classes) * sizeof *logits, fn) : NULL;
    int64_t *sent = embcl_malloc((size_t)CB * sizeof *sent, fn);
    if ((tr->n_classes > 0 && !logits) || !sent) {
        free(logits);
        free(sent);
        return EMBCL_ERR_OUT_OF_MEMORY;
    }
    embcl_status s = EMBCL_OK;
    const int64_t n_runs = n_win > n_bat ? n_win : n_bat;
    for (int64_t i = 0; i < n_runs && s == EMBCL_OK; i++) {
        train_lm_window(tr, tr->valid_stream, ncol, i < n_win ? i : 0, tr->host_tok, tr->host_tgt);
        size_t n_sent = 0;
        if (i < n_bat) {
            for (int64_t b = 0; b < CB && i * CB + b < tr->n_valid_sent; b++)
                sent[n_sent++] = tr->n_train_sent + i * CB + b;
            /* A short last batch is filled with repeats (not scored), not
             * empty bags: the graph's padding diagnostic sees these inputs. */
            for (int64_t b = (int64_t)n_sent; b < CB; b++)
                sent[b] = sent[b % (int64_t)n_sent];
            train_fill_bags(tr, sent, (size_t)CB, tr->host_bags, tr->host_labels);
        }
        s = set_inputs(tr, i < n_bat);
        if (s == EMBCL_OK)
            s = embcl_graph_forward(tr->g);
        if (s == EMBCL_OK && i < n_win) {
            float l;
            s = embcl_graph_download(tr->g, tr->lm_loss, &l, sizeof l);
            nll += (double)l * (double)(B * T);
            for (int64_t k = 0; k < B * T; k++)
                uni -= tr->unigram_logp[tr->host_tgt[k]];
            out->tokens += B * T;
        }
        if (s == EMBCL_OK && n_sent > 0) {
            s = embcl_graph_download(tr->g, tr->cls_logits, logits, (size_t)(CB * tr->n_classes) * sizeof *logits);
            for (size_t b = 0; b < n_sent && s == EMBCL_OK; b++) {
                int64_t best = 0;
                for (int64_t k = 1; k < tr->n_classes; k++)
                    if (logits[b * tr->n_classes + k] > logits[b * tr->n_classes + best])
                        best = k;
                correct += best == tr->host_labels[b];
                majority += tr->majority_class == tr->host_labels[b];
                out->sentences++;
            }
        }
    }
    free(logits);
    free(sent);
    EMBCL_TRY(s);
    out->perplexity = exp(nll / (double)out->tokens);
    out->unigram_perplexity = exp(uni / (double)out->tokens);
    out->accuracy = out->sentences ? (double)correct / (double)out->sentences : -1.0;
    out->majority_accuracy = out->sentences ? (double)majority / (double)out->sentences : -1.0;
    return EMBCL_OK;
}

embcl_status embcl_trainer_table(embcl_trainer_t tr, float **rows, int64_t *V, int64_t *dim)
{
    static const char *fn = "embcl_trainer_table";
    EMBCL_CHECK_ARG(tr && rows, fn, "arguments 'tr' and 'rows' must not be NULL");
    *rows = NULL;
    embcl_tensor_t view;
    EMBCL_TRY(embcl_tensor_view_cols(tr->table, 0, tr->cfg.dim, &view));
    size_t bytes = (size_t)(tr->V * tr->cfg.dim) * sizeof(float);
    float *h = embcl_malloc(bytes, fn);
    embcl_status s = h ? embcl_tensor_download(view, h, bytes) : EMBCL_ERR_OUT_OF_MEMORY;
    embcl_tensor_free(view);
    if (s != EMBCL_OK) {
        free(h);
        return s;
    }
    *rows = h;
    if (V)
        *V = tr->V;
    if (dim)
        *dim = tr->cfg.dim;
    return EMBCL_OK;
}
