/* The trainer's configuration: defaults, checks and its JSON form (kept
 * in checkpoints). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "train/train_impl.h"

embcl_train_config embcl_train_config_default(void)
{
    embcl_train_config c;
    memset(&c, 0, sizeof c);
    c.dim = 64;
    c.bag_extra = 16;
    c.hidden = 0; /* = dim */
    c.layers = 1;
    c.epochs = 2;
    c.batch = 32;
    c.bptt = 20;
    c.cls_batch = 32;
    c.bag_len = 0; /* from the corpus */
    c.lr = 5e-3;
    c.optimizer = EMBCL_OPTIM_ADAM;
    c.table_lr = 0.3;
    c.table_optimizer = EMBCL_OPTIM_ROWWISE_ADAGRAD;
    c.clip = 1.0;
    c.seed = 1;
    c.valid_pct = 10;
    c.pretrained_lr = -1; /* table_lr / 10 */
    return c;
}

embcl_status embcl_train_config_check(const embcl_train_config *c)
{
    static const char *fn = "embcl_train_config_check";
    EMBCL_CHECK_ARG(c != NULL, fn, "argument 'cfg' is NULL");
#define POS(field, opt)                                                                                    \
    if (!(c->field > 0))                                                                                   \
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--" opt " is %g; it must be positive", (double)c->field);
    POS(dim, "dim");
    POS(layers, "layers");
    POS(batch, "batch");
    POS(bptt, "bptt");
    POS(cls_batch, "cls-batch");
    POS(lr, "lr");
    POS(table_lr, "table-lr");
#undef POS
    if (c->hidden < 0)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--hidden is %lld; it must be >= 0 (0: the same as --dim)",
                           (long long)c->hidden);
    if (c->bag_len < 0)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--bag-len is %lld; it must be >= 0 (0: from the corpus)",
                           (long long)c->bag_len);
    if (c->bag_extra < 0)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--bag-extra is %lld; it must be >= 0", (long long)c->bag_extra);
    if (c->epochs < 0 || c->max_steps < 0 || (c->epochs == 0 && c->max_steps == 0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--epochs is %d and --steps %lld; one must be positive",
                           c->epochs, (long long)c->max_steps);
    if (!(c->weight_decay >= 0) || !(c->clip >= 0) || !(c->pretrained_weight_decay >= 0))
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "--weight-decay (%g), --clip (%g) and --pretrained-weight-decay (%g) must be >= 0",
                           c->weight_decay, c->clip, c->pretrained_weight_decay);
    if (c->valid_pct < 1 || c->valid_pct > 50)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--valid-pct is %d; it must be in [1, 50]", c->valid_pct);
    if (c->optimizer == EMBCL_OPTIM_SPARSE_ADAM || (unsigned)c->optimizer >= EMBCL_OPTIM_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn,
                           "--optimizer is '%s'; the dense parameters take sgd, adam, adamw, adagrad or rowwise-adagrad",
                           embcl_optim_kind_name(c->optimizer) ? embcl_optim_kind_name(c->optimizer) : "?");
    /* SparseAdam takes the rows each step touched (train/sparse_table.c). */
    if ((unsigned)c->table_optimizer >= EMBCL_OPTIM_COUNT)
        return embcl_error(EMBCL_ERR_INVALID_ARG, fn, "--table-optimizer is %d, not an optimizer",
                           (int)c->table_optimizer);
    return EMBCL_OK;
}

embcl_status train_config_json(const embcl_train_config *c, char **out)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf,
                     "{\"dim\": %lld, \"bag_extra\": %lld, \"hidden\": %lld, \"layers\": %d, \"bidirectional\": %d, "
                     "\"epochs\": %d, \"max_steps\": %lld, \"batch\": %lld, \"bptt\": %lld, \"cls_batch\": %lld, "
                     "\"bag_len\": %lld, \"lr\": %.17g, \"optimizer\": %d, \"table_lr\": %.17g, "
                     "\"table_optimizer\": %d, \"weight_decay\": %.17g, \"clip\": %.17g, \"seed\": %llu, "
                     "\"deterministic\": %d, \"valid_pct\": %d, \"freeze_pretrained\": %d, "
                     "\"pretrained_lr\": %.17g, \"pretrained_weight_decay\": %.17g}",
                     (long long)c->dim, (long long)c->bag_extra, (long long)c->hidden, c->layers, c->bidirectional,
                     c->epochs, (long long)c->max_steps, (long long)c->batch, (long long)c->bptt,
                     (long long)c->cls_batch, (long long)c->bag_len, c->lr, (int)c->optimizer, c->table_lr,
                     (int)c->table_optimizer, c->weight_decay, c->clip, (unsigned long long)c->seed,
                     c->deterministic, c->valid_pct, c->freeze_pretrained, c->pretrained_lr,
                     c->pretrained_weight_decay);
    *out = embcl_strdup(buf, "embcl_trainer_save");
    return *out ? EMBCL_OK : EMBCL_ERR_OUT_OF_MEMORY;
    (void)n;
}

static double num(const json_value *root, const char *key, double def)
{
    const json_value *v = json_get(root, key);
    if (!v || v->type != JSON_NUMBER)
        return def;
    char tmp[64];
    size_t n = v->num_len < sizeof tmp - 1 ? v->num_len : sizeof tmp - 1;
    memcpy(tmp, v->num, n);
    tmp[n] = '\0';
    return strtod(tmp, NULL);
}

embcl_status embcl_train_config_parse(const char *json, embcl_train_config *c)
{
    static const char *fn = "embcl_train_config_parse";
    EMBCL_CHECK_ARG(json != NULL && c != NULL, fn, "arguments 'json' and 'cfg' must not be NULL");
    json_value root;
    embcl_status s = json_parse(json, strlen(json), fn, "config", &root);
    if (s != EMBCL_OK) {
        json_free(&root);
        return s;
    }
    if (root.type != JSON_OBJECT) {
        json_free(&root);
        return embcl_error(EMBCL_ERR_FORMAT, fn, "the config is a JSON %s, not an object", json_type_name(root.type));
    }
    embcl_train_config d = embcl_train_config_default();
    c->dim = (int64_t)num(&root, "dim", (double)d.dim);
    c->bag_extra = (int64_t)num(&root, "bag_extra", (double)d.bag_extra);
    c->hidden = (int64_t)num(&root, "hidden", (double)d.hidden);
    c->layers = (int)num(&root, "layers", d.layers);
    c->bidirectional = (int)num(&root, "bidirectional", d.bidirectional);
    c->epochs = (int)num(&root, "epochs", d.epochs);
    c->max_steps = (int64_t)num(&root, "max_steps", (double)d.max_steps);
    c->batch = (int64_t)num(&root, "batch", (double)d.batch);
    c->bptt = (int64_t)num(&root, "bptt", (double)d.bptt);
    c->cls_batch = (int64_t)num(&root, "cls_batch", (double)d.cls_batch);
    c->bag_len = (int64_t)num(&root, "bag_len", (double)d.bag_len);
    c->lr = num(&root, "lr", d.lr);
    c->optimizer = (embcl_optim_kind)num(&root, "optimizer", d.optimizer);
    c->table_lr = num(&root, "table_lr", d.table_lr);
    c->table_optimizer = (embcl_optim_kind)num(&root, "table_optimizer", d.table_optimizer);
    c->weight_decay = num(&root, "weight_decay", d.weight_decay);
    c->clip = num(&root, "clip", d.clip);
    const json_value *seed = json_get(&root, "seed"); /* all 64 bits: no trip through a double */
    if (!seed || !json_as_u64(seed, &c->seed))
        c->seed = d.seed;
    c->deterministic = (int)num(&root, "deterministic", d.deterministic);
    c->valid_pct = (int)num(&root, "valid_pct", d.valid_pct);
    c->freeze_pretrained = (int)num(&root, "freeze_pretrained", d.freeze_pretrained);
    c->pretrained_lr = num(&root, "pretrained_lr", d.pretrained_lr);
    c->pretrained_weight_decay = num(&root, "pretrained_weight_decay", d.pretrained_weight_decay);
    json_free(&root);
    return EMBCL_OK;
}
