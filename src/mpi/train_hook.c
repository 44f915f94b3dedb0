/* embcl train across ranks: the trainer calls these hooks (with no MPI
 * handle attached they do nothing), so src/train knows only that its
 * gradients, losses and data positions may be shared with other ranks.
 * Uses the public MPI layer only, so it builds without MPI too. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "embcl/mpi.h"
#include "train/train_impl.h"

static const char *fn = "embcl_mpi_trainer_attach";

int64_t train_mpi_data_step(const struct embcl_trainer *tr)
{
    if (!tr->mpi)
        return tr->step;
    return tr->step * embcl_mpi_size(tr->mpi) + embcl_mpi_rank(tr->mpi);
}

int64_t train_mpi_ranks(const struct embcl_trainer *tr)
{
    return tr->mpi ? embcl_mpi_size(tr->mpi) : 1;
}

embcl_status train_mpi_reduce(struct embcl_trainer *tr, embcl_grad *grads)
{
    if (!tr->mpi)
        return EMBCL_OK;
    embcl_status s = embcl_mpi_allreduce_grads(tr->mpi, grads, tr->n_params, 1.0 / embcl_mpi_size(tr->mpi));
    return s == EMBCL_OK ? s : embcl_error_context(s, "embcl_trainer_step");
}

embcl_status train_mpi_losses(struct embcl_trainer *tr, float *lm, float *cls)
{
    if (!tr->mpi)
        return EMBCL_OK;
    double v[2] = {*lm, *cls};
    embcl_status s = embcl_mpi_sum_host(tr->mpi, v, 2, 1.0 / embcl_mpi_size(tr->mpi));
    if (s != EMBCL_OK)
        return embcl_error_context(s, "embcl_trainer_step");
    *lm = (float)v[0];
    *cls = (float)v[1];
    return EMBCL_OK;
}

/* Every field of the config, and the data's sizes, as named settings. */
static embcl_status check_config(embcl_mpi_t m, const struct embcl_trainer *tr)
{
    const embcl_train_config *c = &tr->cfg;
    char f[8][32], seed[32];
    const double dbl[] = {c->lr, c->table_lr, c->weight_decay, c->clip, c->pretrained_lr, c->pretrained_weight_decay};
    for (int i = 0; i < 6; i++)
        snprintf(f[i], sizeof f[i], "%.17g", dbl[i]);
    snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
    const char *opt = embcl_optim_kind_name(c->optimizer), *topt = embcl_optim_kind_name(c->table_optimizer);
    const embcl_mpi_setting st[] = {
        {"vocab_size", NULL, tr->V},
        {"dim", NULL, c->dim},
        {"bag_extra", NULL, c->bag_extra},
        {"hidden", NULL, c->hidden},
        {"layers", NULL, c->layers},
        {"bidirectional", NULL, c->bidirectional},
        {"batch", NULL, c->batch},
        {"bptt", NULL, c->bptt},
        {"cls_batch", NULL, c->cls_batch},
        {"bag_len", NULL, c->bag_len},
        {"epochs", NULL, c->epochs},
        {"max_steps", NULL, c->max_steps},
        {"optimizer", opt ? opt : "?", 0},
        {"table_optimizer", topt ? topt : "?", 0},
        {"lr", f[0], 0},
        {"table_lr", f[1], 0},
        {"weight_decay", f[2], 0},
        {"clip", f[3], 0},
        {"pretrained_lr", f[4], 0},
        {"pretrained_weight_decay", f[5], 0},
        {"freeze_pretrained", NULL, c->freeze_pretrained},
        {"seed", seed, 0},
        {"deterministic", NULL, c->deterministic},
        {"valid_pct", NULL, c->valid_pct},
        {"train_tokens", NULL, tr->n_train_stream},
        {"train_sentences", NULL, tr->n_train_sent},
        {"classes", NULL, tr->n_classes},
        {"parameters", NULL, (int64_t)tr->n_params},
        {"steps_done", NULL, tr->step},
    };
    return embcl_mpi_check_settings(m, st, sizeof st / sizeof st[0]);
}

static embcl_status share_tensor(embcl_mpi_t m, embcl_tensor_t t)
{
    size_t bytes = (size_t)embcl_tensor_numel(t) * sizeof(float);
    float *h = embcl_malloc(bytes ? bytes : 1, fn);
    embcl_status s = h ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK && embcl_mpi_rank(m) == 0)
        s = embcl_tensor_download(t, h, bytes);
    s = embcl_mpi_agree(m, s, fn);
    if (s == EMBCL_OK)
        s = embcl_mpi_broadcast(m, 0, h, bytes);
    if (s == EMBCL_OK && embcl_mpi_rank(m) != 0)
        s = embcl_tensor_upload(t, h, bytes);
    free(h);
    return s;
}

static embcl_status share_optim(embcl_mpi_t m, embcl_optim_t o)
{
    size_t bytes = 0, written = 0;
    embcl_status s = embcl_optim_state_size(o, &bytes);
    void *buf = s == EMBCL_OK ? embcl_malloc(bytes ? bytes : 1, fn) : NULL;
    if (s == EMBCL_OK && !buf)
        s = EMBCL_ERR_OUT_OF_MEMORY;
    if (s == EMBCL_OK && embcl_mpi_rank(m) == 0)
        s = embcl_optim_state_save(o, buf, bytes, &written);
    s = embcl_mpi_agree(m, s, fn);
    if (s == EMBCL_OK)
        s = embcl_mpi_broadcast(m, 0, buf, bytes);
    if (s == EMBCL_OK && embcl_mpi_rank(m) != 0)
        s = embcl_optim_state_load(o, buf, bytes);
    free(buf);
    return s;
}

embcl_status embcl_mpi_trainer_attach(embcl_mpi_t m, embcl_trainer_t tr)
{
    EMBCL_CHECK_ARG(m && tr, fn, "arguments 'm' and 'tr' must not be NULL");
    embcl_status s = check_config(m, tr);
    if (s != EMBCL_OK)
        return embcl_error_context(s, fn);
    /* Seeded initialisation gives every rank the same bits already; the
     * copy makes sure of it (devices of other kinds, resumed files). */
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++)
        s = share_tensor(m, tr->params[i].tensor);
    if (s == EMBCL_OK)
        s = share_optim(m, tr->table_opt);
    if (s == EMBCL_OK)
        s = share_optim(m, tr->dense_opt);
    if (s != EMBCL_OK)
        return s;
    const int64_t P = embcl_mpi_size(m), epochs_steps = (int64_t)tr->cfg.epochs * tr->steps_per_epoch;
    if (tr->cfg.epochs > 0 && (tr->cfg.max_steps <= 0 || tr->cfg.max_steps >= epochs_steps))
        tr->total_steps = (epochs_steps + P - 1) / P;
    tr->mpi = m;
    return EMBCL_OK;
}
