/* The embcl train model (Embedding -> LSTM -> tied decoder, EmbeddingBag
 * classifier over the same [V, dim + bag_extra] table through column views,
 * row-wise Adagrad or SparseAdam on the table, Adam on the rest, clipping,
 * transactions) trains over a table split by rows exactly as over an
 * unsplit one: the same losses and the same table bits after every step,
 * and a checkpoint saved with the split table resumes unsplit and back. The
 * forced limit is chosen from the vocabulary so the [V, 28] table splits
 * in 4 parts while the LSTM's weights, the sort's scratch and the logits of
 * the 1 x 2 batch still fit one buffer; the activations exceed it, so the graph's arena is
 * planned in chunks. */
#include <math.h>
#include <string.h>

#include <embcl-opencl.h>

#include "test_util.h"
#include "trainer_small.h"

TestSuite(split_trainer);

typedef struct two {
    embcl_runtime_t rt[2];
    small_trainer st[2];
    size_t limit;
    int exact; /* embcl's own GEMM: the same bits; CLBlast (the GPU class) cuts the tied decoder's K
                * at the table's parts and accumulates with beta 1, equal within rounding */
} two;

/* Bits on embcl's GEMM; else relative 1e-5 for losses and 1e-4 for table
 * elements (4 steps of Adagrad/Adam carry the decoder's rounding into the
 * rows; a wrong part is off by whole rows' values). */
static int same(const two *t, double a, double b, double rtol)
{
    if (t->exact)
        return memcmp(&a, &b, sizeof a) == 0;
    return fabs(a - b) <= rtol * fabs(a) + 1e-6;
}

static embcl_train_config config(embcl_optim_kind table_opt)
{
    embcl_train_config cfg = small_config(16, 5);
    cfg.bag_extra = 12;
    cfg.batch = 1;
    cfg.bptt = 2;
    cfg.cls_batch = 2;
    cfg.bag_len = 4;
    cfg.table_optimizer = table_opt;
    return cfg;
}

/* 8 topics of 40 words: a vocabulary of about 350. */
static void make_trainer(small_trainer *s, embcl_runtime_t rt, const embcl_train_config *cfg)
{
    embcl_dataset_options dopt;
    embcl_dataset_options_default(&dopt);
    dopt.seed = 5;
    dopt.n_sentences = 300;
    dopt.n_topics = 8;
    dopt.words_per_topic = 40;
    TEST_OK(embcl_dataset_generate(&dopt, &s->ds));
    TEST_OK(embcl_trainer_create(rt, cfg, embcl_dataset_vocab(s->ds), embcl_dataset_corpus(s->ds), NULL, NULL, NULL,
                                 &s->tr));
}

static void open_two(two *t, embcl_optim_kind table_opt)
{
    embcl_train_config cfg = config(table_opt);
    t->rt[0] = test_runtime();
    embcl_device_info di;
    TEST_OK(embcl_device_get_info(test_device(t->rt[0]), &di));
    t->exact = di.device_class == EMBCL_DEVICE_CPU;
    make_trainer(&t->st[0], t->rt[0], &cfg);
    embcl_train_info info;
    TEST_OK(embcl_trainer_info(t->st[0].tr, &info));
    size_t row = (size_t)info.table_width * 4, per = (size_t)info.vocab_size * 2 / 7;
    t->limit = per * row;
    /* the LSTM's [64, 16] weights and the sort's histograms (2^11 ints on
     * CPUs) must fit one buffer */
    cr_assert_geq(t->limit, 8192 + 1024, "V = %lld is too small for this test", (long long)info.vocab_size);
    embcl_runtime_options o = embcl_runtime_options_default();
    o.max_alloc_bytes = t->limit;
    t->rt[1] = test_runtime_with(&o);
    make_trainer(&t->st[1], t->rt[1], &cfg);
    for (int i = 0; i < 2; i++) {
        embcl_graph_t g = embcl_trainer_graph(t->st[i].tr);
        embcl_value v;
        embcl_tensor_t table;
        TEST_OK(embcl_graph_find(g, "embedding.weight", &v));
        TEST_OK(embcl_graph_param_tensor(g, v, &table));
        cr_assert_eq(embcl_tensor_cl_mem(table, NULL) == NULL, i == 1, "the table should be split on the %s side only",
                     i ? "limited" : "other");
        embcl_tensor_free(table);
    }
}

static void close_two(two *t)
{
    for (int i = 0; i < 2; i++) {
        small_trainer_free(&t->st[i]);
        embcl_runtime_free(t->rt[i]);
    }
}

static void expect_same_tables(two *t, const char *what)
{
    float *rows[2];
    int64_t V[2], dim[2];
    for (int i = 0; i < 2; i++)
        TEST_OK(embcl_trainer_table(t->st[i].tr, &rows[i], &V[i], &dim[i]));
    cr_assert(V[0] == V[1] && dim[0] == dim[1]);
    for (int64_t k = 0; k < V[0] * dim[0]; k++)
        cr_assert(t->exact ? memcmp(&rows[0][k], &rows[1][k], sizeof(float)) == 0
                           : same(t, rows[0][k], rows[1][k], 1e-4),
                  "%s: table element %lld (row %lld) is %.9g unsplit, %.9g split", what, (long long)k,
                  (long long)(k / dim[0]), (double)rows[0][k], (double)rows[1][k]);
    embcl_io_free(rows[0]);
    embcl_io_free(rows[1]);
}

static void step_both(two *t, int n)
{
    for (int s = 0; s < n; s++) {
        embcl_step_result r[2];
        for (int i = 0; i < 2; i++)
            TEST_OK(embcl_trainer_step(t->st[i].tr, &r[i]));
        cr_assert(same(t, r[0].lm_loss, r[1].lm_loss, 1e-5) && same(t, r[0].cls_loss, r[1].cls_loss, 1e-5) &&
                      same(t, r[0].grad_norm, r[1].grad_norm, 1e-5),
                  "step %lld: losses %.17g / %.17g, norm %.17g unsplit; %.17g / %.17g, %.17g split", (long long)r[0].step,
                  r[0].lm_loss, r[0].cls_loss, r[0].grad_norm, r[1].lm_loss, r[1].cls_loss, r[1].grad_norm);
    }
}

static void trains_alike(embcl_optim_kind table_opt)
{
    two t;
    open_two(&t, table_opt);
    expect_same_tables(&t, "at initialisation");
    step_both(&t, 4);
    expect_same_tables(&t, "after 4 steps");
    close_two(&t);
}

Test(split_trainer, rowwise_adagrad_table_trains_alike)
{
    trains_alike(EMBCL_OPTIM_ROWWISE_ADAGRAD);
}

Test(split_trainer, sparse_adam_table_trains_alike)
{
    trains_alike(EMBCL_OPTIM_SPARSE_ADAM);
}

Test(split_trainer, checkpoints_move_between_split_and_unsplit)
{
    two t;
    open_two(&t, EMBCL_OPTIM_ROWWISE_ADAGRAD);
    char *dir = test_tempdir("split_trainer");
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/split.safetensors", dir);
    snprintf(b, sizeof b, "%s/whole.safetensors", dir);
    step_both(&t, 2);
    TEST_OK(embcl_trainer_save(t.st[1].tr, a, NULL, NULL, 0));
    TEST_OK(embcl_trainer_save(t.st[0].tr, b, NULL, NULL, 0));
    size_t na = 0, nb = 0;
    unsigned char *fa = read_whole(a, &na), *fb = read_whole(b, &nb);
    cr_assert(fa && fb && na == nb, "the checkpoints' sizes differ");
    /* the same bytes where the steps give the same bits (else the values
     * differ within rounding, checked through the tables) */
    cr_assert(!t.exact || memcmp(fa, fb, na) == 0, "the split trainer's checkpoint differs from the unsplit one's");
    free(fa);
    free(fb);
    step_both(&t, 1);
    /* each resumes from the other's checkpoint and both continue alike */
    TEST_OK(embcl_trainer_load(t.st[0].tr, a));
    TEST_OK(embcl_trainer_load(t.st[1].tr, b));
    expect_same_tables(&t, "after loading each other's checkpoint");
    step_both(&t, 2);
    expect_same_tables(&t, "two steps after loading");
    free(dir);
    close_two(&t);
}
