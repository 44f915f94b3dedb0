/* Checkpoints as safetensors: parameters under PyTorch's names, optimizer
 * state (readable tensors and the exact bytes for resuming), the step,
 * config and vocabulary in the metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "train/train_impl.h"

#define CKPT_FORMAT "embcl-checkpoint-1"
#define MAX_ST (3 * TRAIN_MAX_PARAMS + 8)
#define MAX_META 16

typedef struct ckpt {
    embcl_st_tensor t[MAX_ST];
    void *data[MAX_ST];
    char names[MAX_ST][160];
    size_t n;
} ckpt;

static void ckpt_free(ckpt *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->data[i]);
}

static embcl_status add_f32(ckpt *c, const char *name, int ndim, const int64_t *shape, float *data)
{
    embcl_st_tensor *t = &c->t[c->n];
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
    t->name = c->names[c->n];
    t->dtype = EMBCL_F32;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->data = data;
    c->data[c->n++] = data;
    return EMBCL_OK;
}

static embcl_status add_download(ckpt *c, const char *name, embcl_tensor_t src)
{
    static const char *fn = "embcl_trainer_save";
    int64_t shape[4];
    int nd = embcl_tensor_ndim(src);
    for (int d = 0; d < nd; d++)
        shape[d] = embcl_tensor_dim(src, d);
    size_t bytes = (size_t)embcl_tensor_numel(src) * sizeof(float);
    float *h = embcl_malloc(bytes ? bytes : 1, fn);
    if (!h)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_tensor_download(src, h, bytes);
    if (s != EMBCL_OK) {
        free(h);
        return s;
    }
    return add_f32(c, name, nd, shape, h);
}

/* An optimizer's exact state bytes as an I32 tensor (padded to 4 bytes). */
static embcl_status add_blob(ckpt *c, const char *name, embcl_optim_t opt, size_t *bytes_out)
{
    static const char *fn = "embcl_trainer_save";
    size_t bytes, written;
    EMBCL_TRY(embcl_optim_state_size(opt, &bytes));
    size_t padded = (bytes + 3) / 4 * 4;
    void *buf = embcl_calloc(1, padded ? padded : 4, fn);
    if (!buf)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_optim_state_save(opt, buf, padded, &written);
    if (s != EMBCL_OK) {
        free(buf);
        return s;
    }
    embcl_st_tensor *t = &c->t[c->n];
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
    t->name = c->names[c->n];
    t->dtype = EMBCL_I32;
    t->ndim = 1;
    t->shape[0] = (int64_t)(padded / 4);
    t->data = buf;
    c->data[c->n++] = buf;
    *bytes_out = bytes;
    return EMBCL_OK;
}

static embcl_status add_optim_states(ckpt *c, embcl_trainer_t tr)
{
    static const char *fn = "embcl_trainer_save";
    size_t di = 0, ti = 0;
    for (size_t i = 0; i < tr->n_params; i++) {
        tparam *p = &tr->params[i];
        embcl_optim_t o = p->table ? tr->table_opt : tr->dense_opt;
        size_t idx = p->table ? ti++ : di++, n;
        const char *names[8];
        EMBCL_TRY(embcl_optim_state_names(o, idx, &n, names, 8));
        for (size_t k = 0; k < n && k < 8; k++) {
            int64_t shape[2] = {embcl_tensor_dim(p->tensor, 0), embcl_tensor_ndim(p->tensor) > 1
                                                                    ? embcl_tensor_dim(p->tensor, 1)
                                                                    : 1};
            int nd = embcl_tensor_ndim(p->tensor) > 1 ? 2 : 1;
            if (strcmp(names[k], "momentum1") == 0) /* row-wise: one value per row */
                nd = 1;
            int64_t numel = nd == 1 ? shape[0] : shape[0] * shape[1];
            if (embcl_tensor_ndim(p->tensor) == 1)
                numel = shape[0];
            float *h = embcl_malloc((size_t)numel * sizeof *h, fn);
            if (!h)
                return EMBCL_ERR_OUT_OF_MEMORY;
            embcl_status s = embcl_optim_state_download(o, idx, k, h, (size_t)numel * sizeof *h);
            if (s != EMBCL_OK) {
                free(h);
                return s;
            }
            char name[160];
            snprintf(name, sizeof name, "optimizer.%s.%s", p->name, names[k]);
            EMBCL_TRY(add_f32(c, name, nd, shape, h));
        }
    }
    return EMBCL_OK;
}

embcl_status embcl_trainer_save(embcl_trainer_t tr, const char *path, const char *const *meta_keys,
                                const char *const *meta_values, size_t n_meta)
{
    static const char *fn = "embcl_trainer_save";
    EMBCL_CHECK_ARG(tr && path, fn, "arguments 'tr' and 'path' must not be NULL");
    EMBCL_CHECK_ARG(n_meta <= MAX_META - 8, fn, "argument 'n_meta' is %zu; at most %d", n_meta, MAX_META - 8);
    ckpt *c = embcl_calloc(1, sizeof *c, fn);
    if (!c)
        return EMBCL_ERR_OUT_OF_MEMORY;
    char *config = NULL, *vocab = NULL;
    size_t vlen, dense_bytes = 0, table_bytes = 0;
    embcl_status s = add_download(c, "embedding.weight", tr->table);
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++)
        if (!tr->params[i].table)
            s = add_download(c, tr->params[i].name, tr->params[i].tensor);
    if (s == EMBCL_OK)
        s = add_optim_states(c, tr);
    if (s == EMBCL_OK)
        s = add_blob(c, "optimizer.dense.blob", tr->dense_opt, &dense_bytes);
    if (s == EMBCL_OK)
        s = add_blob(c, "optimizer.table.blob", tr->table_opt, &table_bytes);
    if (s == EMBCL_OK)
        s = train_config_json(&tr->cfg, &config);
    if (s == EMBCL_OK)
        s = embcl_vocab_serialize(tr->vocab, &vocab, &vlen);
    if (s == EMBCL_OK) {
        char step[32], db[32], tb[32], rng[96];
        snprintf(step, sizeof step, "%lld", (long long)tr->step);
        snprintf(db, sizeof db, "%zu", dense_bytes);
        snprintf(tb, sizeof tb, "%zu", table_bytes);
        /* Every random draw after initialisation (batch order) is a function of (seed, step). */
        snprintf(rng, sizeof rng, "{\"seed\": %llu, \"step\": %lld}", (unsigned long long)tr->cfg.seed,
                 (long long)tr->step);
        const char *keys[MAX_META] = {"format", "step", "config", "vocab", "rng",
                                      "optimizer.dense.blob_bytes", "optimizer.table.blob_bytes"};
        const char *vals[MAX_META] = {CKPT_FORMAT, step, config, vocab, rng, db, tb};
        size_t nm = 7;
        for (size_t i = 0; i < n_meta; i++, nm++) {
            keys[nm] = meta_keys[i];
            vals[nm] = meta_values[i];
        }
        s = embcl_safetensors_save(path, c->t, c->n, keys, vals, nm);
    }
    free(config);
    embcl_io_free(vocab);
    ckpt_free(c);
    free(c);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

/* Read a whole tensor of the expected shape into a new host buffer. */
static embcl_status read_f32(embcl_safetensors_t st, const char *name, embcl_tensor_t like, float **out)
{
    static const char *fn = "embcl_trainer_load";
    int64_t shape[4];
    int nd = embcl_tensor_ndim(like);
    for (int d = 0; d < nd; d++)
        shape[d] = embcl_tensor_dim(like, d);
    size_t bytes = (size_t)embcl_tensor_numel(like) * sizeof(float);
    *out = embcl_malloc(bytes ? bytes : 1, fn);
    if (!*out)
        return EMBCL_ERR_OUT_OF_MEMORY;
    return embcl_safetensors_read(st, name, EMBCL_F32, nd, shape, *out, bytes);
}

static embcl_status read_blob(embcl_safetensors_t st, const char *name, const char *bytes_key, embcl_optim_t opt,
                              void **blob, size_t *len)
{
    static const char *fn = "embcl_trainer_load";
    embcl_st_info info;
    EMBCL_TRY(embcl_safetensors_find(st, name, &info));
    const char *b = embcl_safetensors_meta(st, bytes_key);
    size_t want;
    EMBCL_TRY(embcl_optim_state_size(opt, &want));
    if (!b || strtoull(b, NULL, 10) != want || info.dtype != EMBCL_I32 || info.nbytes < want)
        return embcl_error(EMBCL_ERR_FORMAT, fn,
                           "'%s' holds optimizer state of %s bytes; this model's optimizer has %zu "
                           "(another model or optimizer?)",
                           name, b ? b : "?", want);
    *blob = embcl_malloc(info.nbytes ? info.nbytes : 1, fn);
    if (!*blob)
        return EMBCL_ERR_OUT_OF_MEMORY;
    memcpy(*blob, info.data, info.nbytes);
    *len = want;
    return EMBCL_OK;
}

/* What a load writes: the parameters (host copies; slot TRAIN_MAX_PARAMS is
 * the table) and both optimizers' state blobs. */
typedef struct trainer_image {
    float *host[TRAIN_MAX_PARAMS + 1];
    void *dblob, *tblob;
    size_t dlen, tlen;
} trainer_image;

static void image_free(trainer_image *im)
{
    for (size_t i = 0; i <= TRAIN_MAX_PARAMS; i++)
        free(im->host[i]);
    free(im->dblob);
    free(im->tblob);
    memset(im, 0, sizeof *im);
}

static size_t f32_bytes(embcl_tensor_t t)
{
    return (size_t)embcl_tensor_numel(t) * sizeof(float);
}

/* A new host copy of tensor t. */
static embcl_status take_f32(embcl_tensor_t t, float **dst)
{
    *dst = embcl_malloc(f32_bytes(t) + 1, "embcl_trainer_load");
    return *dst ? embcl_tensor_download(t, *dst, f32_bytes(t)) : EMBCL_ERR_OUT_OF_MEMORY;
}

/* A copy of optimizer opt's state. */
static embcl_status take_blob(embcl_optim_t opt, void **blob, size_t *len)
{
    EMBCL_TRY(embcl_optim_state_size(opt, len));
    *blob = embcl_malloc(*len + 1, "embcl_trainer_load");
    return *blob ? embcl_optim_state_save(opt, *blob, *len, len) : EMBCL_ERR_OUT_OF_MEMORY;
}

/* The trainer's current image, read from the device (what image_put writes). */
static embcl_status image_take(embcl_trainer_t tr, trainer_image *im)
{
    embcl_status s = take_f32(tr->table, &im->host[TRAIN_MAX_PARAMS]);
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++)
        if (!tr->params[i].table)
            s = take_f32(tr->params[i].tensor, &im->host[i]);
    if (s == EMBCL_OK)
        s = take_blob(tr->dense_opt, &im->dblob, &im->dlen);
    if (s == EMBCL_OK)
        s = take_blob(tr->table_opt, &im->tblob, &im->tlen);
    return s;
}

/* Write an image into the trainer (optimizer state, then the parameters). */
static embcl_status image_put(embcl_trainer_t tr, const trainer_image *im)
{
    embcl_status s = embcl_optim_state_load(tr->dense_opt, im->dblob, im->dlen);
    if (s == EMBCL_OK)
        s = embcl_optim_state_load(tr->table_opt, im->tblob, im->tlen);
    if (s == EMBCL_OK)
        s = embcl_tensor_upload(tr->table, im->host[TRAIN_MAX_PARAMS], f32_bytes(tr->table));
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++)
        if (!tr->params[i].table)
            s = embcl_tensor_upload(tr->params[i].tensor, im->host[i], f32_bytes(tr->params[i].tensor));
    if (s == EMBCL_OK)
        s = embcl_device_finish(tr->dev);
    return s;
}

/* All or nothing: everything is read from the file and checked, and the
 * trainer's current image is copied to the host, before anything is
 * written; a device failure while writing puts the copy back. The copy
 * costs a read of the model per load (loads are rare; a half-loaded model
 * that trains on is worse). */
embcl_status embcl_trainer_load(embcl_trainer_t tr, const char *path)
{
    static const char *fn = "embcl_trainer_load";
    EMBCL_CHECK_ARG(tr && path, fn, "arguments 'tr' and 'path' must not be NULL");
    embcl_safetensors_t st;
    embcl_status opened = embcl_safetensors_open(path, &st);
    if (opened != EMBCL_OK) /* named as the caller's call, not the reader's */
        return embcl_error_context(opened, fn);
    trainer_image in = {0}, old = {0};
    embcl_status s = EMBCL_OK;
    const char *fmt = embcl_safetensors_meta(st, "format"), *step = embcl_safetensors_meta(st, "step");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0 || !step)
        s = embcl_error(EMBCL_ERR_FORMAT, fn, "%s: not an embcl checkpoint (metadata 'format' is '%s', expected '%s')",
                        path, fmt ? fmt : "(none)", CKPT_FORMAT);
    if (s == EMBCL_OK)
        s = read_f32(st, "embedding.weight", tr->table, &in.host[TRAIN_MAX_PARAMS]);
    for (size_t i = 0; i < tr->n_params && s == EMBCL_OK; i++)
        if (!tr->params[i].table)
            s = read_f32(st, tr->params[i].name, tr->params[i].tensor, &in.host[i]);
    if (s == EMBCL_OK)
        s = read_blob(st, "optimizer.dense.blob", "optimizer.dense.blob_bytes", tr->dense_opt, &in.dblob, &in.dlen);
    if (s == EMBCL_OK)
        s = read_blob(st, "optimizer.table.blob", "optimizer.table.blob_bytes", tr->table_opt, &in.tblob, &in.tlen);
    if (s == EMBCL_OK)
        s = image_take(tr, &old);
    if (s == EMBCL_OK) {
        s = image_put(tr, &in);
        if (s != EMBCL_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", embcl_last_error());
            embcl_status r = image_put(tr, &old);
            if (r == EMBCL_OK) /* the first failure is the one to report */
                s = embcl_error(s, fn, "%s: %s (the trainer is as before the call)", path, why);
            else
                s = embcl_error(r, fn, "%s: %s; putting the previous state back failed too: %s (the trainer's "
                                "state is undefined: load a checkpoint on a new runtime)",
                                path, why, embcl_last_error());
        }
    }
    if (s == EMBCL_OK)
        tr->step = strtoll(step, NULL, 10);
    image_free(&in);
    image_free(&old);
    embcl_safetensors_close(st);
    return s == EMBCL_OK ? s : embcl_error_context(s, fn);
}

embcl_status embcl_checkpoint_table(const char *path, int all_columns, float **rows, int64_t *V, int64_t *dim,
                                    embcl_vocab_t *vocab)
{
    static const char *fn = "embcl_checkpoint_table";
    EMBCL_CHECK_ARG(path && rows && V && dim && vocab, fn, "arguments must not be NULL");
    *rows = NULL;
    *vocab = NULL;
    embcl_safetensors_t st;
    embcl_status opened = embcl_safetensors_open(path, &st);
    if (opened != EMBCL_OK) /* named as the caller's call, not the reader's */
        return embcl_error_context(opened, fn);
    const char *cfg_s = embcl_safetensors_meta(st, "config"), *voc = embcl_safetensors_meta(st, "vocab");
    embcl_train_config cfg;
    embcl_st_info info;
    embcl_status s = EMBCL_OK;
    if (!cfg_s || !voc)
        s = embcl_error(EMBCL_ERR_FORMAT, fn, "%s: no 'config' or 'vocab' metadata: not an embcl checkpoint", path);
    if (s == EMBCL_OK)
        s = embcl_train_config_parse(cfg_s, &cfg);
    if (s == EMBCL_OK)
        s = embcl_safetensors_find(st, "embedding.weight", &info);
    if (s == EMBCL_OK && (info.dtype != EMBCL_F32 || info.ndim != 2 || info.shape[1] < cfg.dim))
        s = embcl_error(EMBCL_ERR_FORMAT, fn, "%s: 'embedding.weight' is not a [V, >= %lld] F32 matrix", path,
                        (long long)cfg.dim);
    if (s == EMBCL_OK)
        s = embcl_vocab_parse(voc, strlen(voc), path, vocab);
    if (s == EMBCL_OK && embcl_vocab_size(*vocab) != info.shape[0])
        s = embcl_error(EMBCL_ERR_FORMAT, fn, "%s: the vocabulary has %lld words but the table %lld rows", path,
                        (long long)embcl_vocab_size(*vocab), (long long)info.shape[0]);
    if (s == EMBCL_OK) {
        const int64_t R = info.shape[0], W = info.shape[1], D = all_columns ? W : cfg.dim;
        *rows = embcl_malloc((size_t)(R * D) * sizeof(float) + 1, fn);
        if (!*rows)
            s = EMBCL_ERR_OUT_OF_MEMORY;
        for (int64_t r = 0; r < R && s == EMBCL_OK; r++) /* the file's data may be unaligned */
            memcpy(*rows + r * D, (const char *)info.data + (size_t)(r * W) * sizeof(float),
                   (size_t)D * sizeof(float));
        *V = R;
        *dim = D;
    }
    embcl_safetensors_close(st);
    if (s != EMBCL_OK) {
        free(*rows);
        *rows = NULL;
        embcl_vocab_free(*vocab);
        *vocab = NULL;
    }
    return s;
}
