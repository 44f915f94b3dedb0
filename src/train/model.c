/* The model as a graph: the tied language model and the bag classifier
 * over one [V, dim + bag_extra] table, and the two optimizers the trainer
 * steps itself (the graph computes gradients only, so they can be clipped
 * together first and the table can have its own row-wise optimizer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "train/train_impl.h"

static const char *FN = "embcl_trainer_create";

/* PyTorch's nn.Linear init bound, 1/sqrt(fan_in), drawn from (seed, i). */
static void uniform_fill(float *x, int64_t n, double bound, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = train_mix(seed ^ train_mix((uint64_t)i));
        double u = (double)(r >> 11) * (1.0 / 9007199254740992.0);
        x[i] = (float)((2.0 * u - 1.0) * bound);
    }
}

static embcl_status dense_param(struct embcl_trainer *tr, const char *name, int ndim, const int64_t *shape,
                                double bound, uint64_t seed, embcl_value *out)
{
    if (tr->n_owned == sizeof tr->owned / sizeof tr->owned[0])
        return embcl_error(EMBCL_ERR_STATE, FN, "too many parameters");
    int64_t n = shape[0] * (ndim > 1 ? shape[1] : 1);
    float *host = embcl_malloc((size_t)n * sizeof *host, FN);
    if (!host)
        return EMBCL_ERR_OUT_OF_MEMORY;
    uniform_fill(host, n, bound, seed);
    embcl_tensor_t t;
    embcl_status s = embcl_tensor_create(tr->dev, EMBCL_F32, ndim, shape, &t);
    if (s == EMBCL_OK) {
        tr->owned[tr->n_owned++] = t;
        s = embcl_tensor_upload(t, host, (size_t)n * sizeof *host);
    }
    free(host);
    if (s == EMBCL_OK)
        s = embcl_graph_param(tr->g, name, t, out);
    return s;
}

static embcl_status add_tparam(struct embcl_trainer *tr, const char *name, embcl_value v, int table, int64_t c0,
                               int64_t c1, int whole)
{
    if (tr->n_params == TRAIN_MAX_PARAMS)
        return embcl_error(EMBCL_ERR_STATE, FN, "more than %d parameters", TRAIN_MAX_PARAMS);
    tparam *p = &tr->params[tr->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->value = v;
    p->table = table;
    p->c0 = c0;
    p->c1 = c1;
    p->whole = whole;
    embcl_tensor_t t;
    EMBCL_TRY(embcl_graph_param_tensor(tr->g, v, &t));
    if (whole) {
        p->tensor = t;
    } else {
        embcl_status s = embcl_tensor_view_cols(t, c0, c1, &p->tensor);
        embcl_tensor_free(t);
        EMBCL_TRY(s);
    }
    tr->n_params++;
    return EMBCL_OK;
}

static embcl_status init_table(struct embcl_trainer *tr, const float *pretrained)
{
    const int64_t V = tr->V, W = tr->W, D = tr->cfg.dim;
    float *host = embcl_malloc((size_t)(V * W) * sizeof *host, FN);
    if (!host)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_embedding_normal_host(tr->cfg.seed, 0, V, W, host);
    /* N(0, 1) as nn.Embedding, scaled down: the table is also the decoder,
     * whose logits would otherwise start with a spread of sqrt(dim). */
    for (int64_t i = 0; i < V * W; i++)
        host[i] *= 0.1f;
    if (pretrained) /* rows of the vocabulary before <eos> was added */
        for (int64_t r = 0; r < V - 1; r++)
            memcpy(host + r * W, pretrained + r * D, (size_t)D * sizeof *host);
    for (int64_t c = 0; c < W; c++)
        host[EMBCL_VOCAB_PAD * W + c] = 0.0f;
    int64_t shape[2] = {V, W};
    if (s == EMBCL_OK)
        s = embcl_tensor_create(tr->dev, EMBCL_F32, 2, shape, &tr->table);
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(tr->table, host, (size_t)(V * W) * sizeof *host);
    free(host);
    return s;
}

static embcl_status build_graph(struct embcl_trainer *tr, const float *pretrained)
{
    const embcl_train_config *c = &tr->cfg;
    const int64_t V = tr->V, D = c->dim, W = tr->W, B = c->batch, T = c->bptt;
    const int64_t H = c->hidden > 0 ? c->hidden : D, HD = H * (c->bidirectional ? 2 : 1);
    embcl_graph_t g = tr->g;
    EMBCL_TRY(init_table(tr, pretrained));
    embcl_value shared, e, h, logits, dec_b;
    EMBCL_TRY(embcl_graph_param(g, "embedding.weight", tr->table, &tr->v_table));
    EMBCL_TRY(embcl_graph_cols(g, tr->v_table, 0, D, &shared));
    int64_t s_tok[2] = {B, T};
    EMBCL_TRY(embcl_graph_input(g, "tokens", EMBCL_I64, 2, s_tok, &tr->v_tok));
    EMBCL_TRY(embcl_graph_input(g, "targets", EMBCL_I64, 2, s_tok, &tr->v_tgt));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.padding_idx = EMBCL_VOCAB_PAD;
    embcl_device_info di;
    EMBCL_TRY(embcl_device_get_info(tr->dev, &di));
    /* Atomic scatter is the faster path on GPUs; CPUs lose nothing by sorting. */
    eo.scatter = c->deterministic || di.device_class != EMBCL_DEVICE_GPU ? EMBCL_SCATTER_DETERMINISTIC : EMBCL_SCATTER_ATOMIC;
    EMBCL_TRY(embcl_graph_embedding(g, shared, tr->v_tok, &eo, &e));
    EMBCL_TRY(embcl_graph_set_name(g, e, "embedding"));
    embcl_lstm_config lc = embcl_lstm_config_default(D, H);
    lc.num_layers = c->layers;
    lc.bidirectional = c->bidirectional;
    lc.batch_first = 1;
    lc.seed = train_mix(c->seed + 1);
    EMBCL_TRY(embcl_graph_lstm(g, e, tr->dev, &lc, NULL, "lstm", &h));
    if (HD != D) { /* the decoder is the table: project the LSTM's output to its width */
        embcl_value pw, pb;
        int64_t sw[2] = {D, HD}, sb[1] = {D};
        double bound = 1.0 / sqrt((double)HD);
        EMBCL_TRY(dense_param(tr, "proj.weight", 2, sw, bound, train_mix(c->seed + 2), &pw));
        EMBCL_TRY(dense_param(tr, "proj.bias", 1, sb, bound, train_mix(c->seed + 3), &pb));
        EMBCL_TRY(embcl_graph_linear(g, h, pw, pb, &h));
    }
    int64_t s_v[1] = {V};
    EMBCL_TRY(dense_param(tr, "decoder.bias", 1, s_v, 0.0, 0, &dec_b));
    EMBCL_TRY(embcl_graph_linear(g, h, shared, dec_b, &logits));
    EMBCL_TRY(embcl_graph_set_name(g, logits, "decoder"));
    EMBCL_TRY(embcl_graph_cross_entropy(g, logits, tr->v_tgt, NULL, &tr->lm_loss));
    EMBCL_TRY(embcl_graph_keep(g, tr->lm_loss));
    embcl_value loss = tr->lm_loss;
    if (tr->n_classes > 0) {
        embcl_value bag, cw, cb;
        int64_t s_bags[2] = {c->cls_batch, c->bag_len}, s_lab[1] = {c->cls_batch};
        EMBCL_TRY(embcl_graph_input(g, "bags", EMBCL_I64, 2, s_bags, &tr->v_bags));
        EMBCL_TRY(embcl_graph_input(g, "labels", EMBCL_I64, 1, s_lab, &tr->v_labels));
        embcl_embedding_options bo = eo;
        bo.mode = EMBCL_BAG_MEAN;
        EMBCL_TRY(embcl_graph_embedding_bag(g, tr->v_table, tr->v_bags, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &bo,
                                            &bag));
        EMBCL_TRY(embcl_graph_set_name(g, bag, "bag"));
        int64_t sw[2] = {tr->n_classes, W}, sb[1] = {tr->n_classes};
        double bound = 1.0 / sqrt((double)W);
        EMBCL_TRY(dense_param(tr, "classifier.weight", 2, sw, bound, train_mix(c->seed + 4), &cw));
        EMBCL_TRY(dense_param(tr, "classifier.bias", 1, sb, bound, train_mix(c->seed + 5), &cb));
        EMBCL_TRY(embcl_graph_linear(g, bag, cw, cb, &tr->cls_logits));
        EMBCL_TRY(embcl_graph_keep(g, tr->cls_logits));
        EMBCL_TRY(embcl_graph_cross_entropy(g, tr->cls_logits, tr->v_labels, NULL, &tr->cls_loss));
        EMBCL_TRY(embcl_graph_keep(g, tr->cls_loss));
        EMBCL_TRY(embcl_graph_add(g, tr->lm_loss, tr->cls_loss, &loss));
    }
    EMBCL_TRY(embcl_graph_set_loss(g, loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.diag_fn = tr->diag_fn;
    go.diag_user = tr->diag_user;
    return embcl_graph_compile(g, &go);
}

/* Every parameter the graph holds, in the graph's PyTorch names, except
 * the table: the dense optimizer's. */
static embcl_status dense_params(struct embcl_trainer *tr)
{
    static const char *const fixed[] = {"proj.weight", "proj.bias", "decoder.bias", "classifier.weight",
                                        "classifier.bias"};
    const int dirs = tr->cfg.bidirectional ? 2 : 1;
    char name[96];
    embcl_value v;
    for (int l = 0; l < tr->cfg.layers; l++)
        for (int d = 0; d < dirs; d++)
            for (int k = 0; k < 4; k++) {
                static const char *const kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
                snprintf(name, sizeof name, "lstm.%s_l%d%s", kinds[k], l, d ? "_reverse" : "");
                EMBCL_TRY(embcl_graph_find(tr->g, name, &v));
                EMBCL_TRY(add_tparam(tr, name, v, 0, 0, 0, 1));
            }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        embcl_clear_error();
        if (embcl_graph_find(tr->g, fixed[i], &v) != EMBCL_OK)
            continue;
        EMBCL_TRY(add_tparam(tr, fixed[i], v, 0, 0, 0, 1));
    }
    embcl_clear_error();
    return EMBCL_OK;
}

static embcl_status make_optims(struct embcl_trainer *tr, int pretrained)
{
    const embcl_train_config *c = &tr->cfg;
    embcl_optim_hparams hp = embcl_optim_defaults(c->optimizer);
    hp.lr = c->lr;
    hp.weight_decay = c->weight_decay;
    if (c->optimizer == EMBCL_OPTIM_ROWWISE_ADAGRAD && c->weight_decay > 0)
        hp.wd_mode = EMBCL_WD_L2;
    EMBCL_TRY(embcl_optim_create(tr->dev, c->optimizer, &hp, &tr->dense_opt));
    EMBCL_TRY(embcl_optim_add_group(tr->dense_opt, NULL, NULL));
    embcl_optim_hparams th = embcl_optim_defaults(c->table_optimizer);
    th.lr = c->table_lr;
    EMBCL_TRY(embcl_optim_create(tr->dev, c->table_optimizer, &th, &tr->table_opt));
    EMBCL_TRY(embcl_optim_add_group(tr->table_opt, NULL, NULL));
    const int64_t D = c->dim;
    if (!pretrained) {
        EMBCL_TRY(add_tparam(tr, "embedding.weight", tr->v_table, 1, 0, tr->W, 1));
    } else {
        /* Pretrained columns are a group of their own: their lr and weight decay. */
        embcl_optim_hparams ph = th;
        ph.lr = c->pretrained_lr >= 0 ? c->pretrained_lr : c->table_lr / 10;
        ph.weight_decay = c->pretrained_weight_decay;
        if (c->table_optimizer == EMBCL_OPTIM_ROWWISE_ADAGRAD && ph.weight_decay > 0)
            ph.wd_mode = EMBCL_WD_L2;
        EMBCL_TRY(embcl_optim_add_group(tr->table_opt, &ph, NULL));
        EMBCL_TRY(add_tparam(tr, "embedding.weight[:, :dim]", tr->v_table, 1, 0, D, tr->W == D));
        if (tr->W > D)
            EMBCL_TRY(add_tparam(tr, "embedding.weight[:, dim:]", tr->v_table, 1, D, tr->W, 0));
    }
    EMBCL_TRY(dense_params(tr));
    for (size_t i = 0; i < tr->n_params; i++) {
        tparam *p = &tr->params[i];
        embcl_optim_t o = p->table ? tr->table_opt : tr->dense_opt;
        size_t group = p->table && pretrained && p->c0 == 0 ? 1 : 0, idx;
        EMBCL_TRY(embcl_optim_add_param(o, group, p->tensor, p->name, &idx));
        if (p->table && pretrained && p->c0 == 0 && c->freeze_pretrained)
            EMBCL_TRY(embcl_optim_freeze(o, idx, 1));
        /* <pad> stays zero, as nn.Embedding's padding_idx row. */
        if (p->table)
            EMBCL_TRY(embcl_optim_freeze_rows(o, idx, EMBCL_VOCAB_PAD, EMBCL_VOCAB_PAD + 1, 1));
    }
    return EMBCL_OK;
}

embcl_status train_model_build(struct embcl_trainer *tr, const float *pretrained)
{
    EMBCL_TRY(embcl_graph_create(tr->rt, &tr->g));
    EMBCL_TRY(build_graph(tr, pretrained));
    return make_optims(tr, pretrained != NULL);
}

void train_model_free(struct embcl_trainer *tr)
{
    train_sparse_table_free(tr);
    for (size_t i = 0; i < tr->n_params; i++)
        embcl_tensor_free(tr->params[i].tensor);
    embcl_graph_free(tr->g);
    embcl_optim_free(tr->dense_opt);
    embcl_optim_free(tr->table_opt);
    embcl_tensor_free(tr->table);
    for (size_t i = 0; i < tr->n_owned; i++)
        embcl_tensor_free(tr->owned[i]);
}

embcl_status train_collect_grads(struct embcl_trainer *tr, embcl_grad *grads)
{
    embcl_tensor_t table_grad = NULL;
    embcl_status s = embcl_graph_grad(tr->g, tr->v_table, &table_grad);
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++) {
        tparam *p = &tr->params[i];
        grads[i].sparse = NULL;
        grads[i].dense = NULL;
        if (p->value == tr->v_table) {
            if (table_grad)
                s = p->whole ? embcl_tensor_view_cols(table_grad, 0, tr->W, &grads[i].dense)
                             : embcl_tensor_view_cols(table_grad, p->c0, p->c1, &grads[i].dense);
        } else {
            s = embcl_graph_grad(tr->g, p->value, &grads[i].dense);
        }
    }
    embcl_tensor_free(table_grad);
    return s;
}
