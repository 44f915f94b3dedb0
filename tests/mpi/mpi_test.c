#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>

#include "mpi_test.h"

void mt_fail(const char *file, int line, const char *fmt, ...)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "rank %d: %s:%d: %s\n", rank, file, line, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
}

embcl_runtime_t mt_runtime(void)
{
    embcl_runtime_options o = embcl_runtime_options_default();
    const char *d = getenv("EMBCL_TEST_DEVICE");
    o.device = d && *d ? d : "cpu";
    embcl_runtime_t rt = NULL;
    MT_OK(embcl_runtime_create(&o, &rt));
    return rt;
}

embcl_device_t mt_device(embcl_runtime_t rt)
{
    embcl_device_t dev = NULL;
    MT_OK(embcl_runtime_device(rt, 0, &dev));
    return dev;
}

void mt_close(const float *got, const float *want, size_t n, double rtol, double atol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        double tol = rtol * fmax(fabs(a), fabs(b)) + atol;
        MT_CHECK(fabs(a - b) <= tol && !isnan(a), "%s[%zu]: got %.9g, want %.9g (tolerance %.3g)", what, i, a, b,
                 tol);
    }
}

void mt_download(embcl_tensor_t t, float *host)
{
    MT_OK(embcl_tensor_download(t, host, (size_t)embcl_tensor_numel(t) * sizeof(float)));
}

int mt_run(int argc, char **argv, const mt_test *tests, size_t n)
{
    MPI_Init(&argc, &argv);
    embcl_runtime_t rt = mt_runtime();
    embcl_device_t dev = mt_device(rt);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (size_t i = 0; i < n; i++) {
        if (rank == 0)
            printf("[ RUN  ] %s (%d ranks)\n", tests[i].name, size);
        fflush(stdout);
        /* a handle per check: what a handle keeps is freed before the leak check */
        embcl_mpi_t m = NULL;
        MT_OK(embcl_mpi_create(NULL, &m));
        tests[i].fn(m, rt, dev);
        embcl_mpi_free(m);
        embcl_pool_stats st;
        MT_OK(embcl_device_pool_stats(dev, &st));
        MT_CHECK(st.bytes_in_use == 0, "%s leaked %llu bytes of tensors", tests[i].name,
                 (unsigned long long)st.bytes_in_use);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0)
            printf("[  OK  ] %s\n", tests[i].name);
        fflush(stdout);
    }
    embcl_runtime_free(rt);
    MT_OK(embcl_mpi_finalize());
    return 0;
}

void mt_init_linear(int64_t C, int64_t D, float *w, float *b)
{
    for (int64_t i = 0; i < C * D; i++)
        w[i] = 0.3f * sinf(0.7f * (float)i + 0.1f);
    for (int64_t i = 0; i < C; i++)
        b[i] = 0.05f * (float)(i % 3) - 0.05f;
}

void mt_batch(int step, int64_t B, int64_t L, int64_t V, int64_t C, int64_t *idx, int64_t *tgt)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(step + 1);
    for (int64_t i = 0; i < B * L; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t u = x >> 33;
        /* min of two draws: small ids come up more often, as in text */
        uint64_t v = (x * 2862933555777941757ull + 3037000493ull) >> 33;
        idx[i] = 1 + (int64_t)((u < v ? u : v) % (uint64_t)(V - 1));
        if (i % 4 == 0) /* hot rows every rank reads */
            idx[i] = 1 + (i / 4) % 3;
    }
    for (int64_t b = 0; b < B; b++)
        tgt[b] = (int64_t)((uint64_t)(b * 7 + step * 3) % (uint64_t)C);
}

void mt_model_build(mt_model *mm, embcl_runtime_t rt, embcl_device_t dev, int64_t rows, int64_t D, int64_t C,
                    int64_t B, int64_t L, int sparse, embcl_optim_t optim, const float *table_rows)
{
    memset(mm, 0, sizeof *mm);
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){rows, D}, &mm->table_t));
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 2, (int64_t[]){C, D}, &mm->w_t));
    MT_OK(embcl_tensor_create(dev, EMBCL_F32, 1, (int64_t[]){C}, &mm->b_t));
    if (table_rows)
        MT_OK(embcl_tensor_upload(mm->table_t, table_rows, (size_t)(rows * D) * sizeof(float)));
    else
        MT_OK(embcl_tensor_fill(mm->table_t, 0.0));
    float *w = malloc((size_t)(C * D + C) * sizeof *w);
    MT_CHECK(w != NULL, "out of memory");
    mt_init_linear(C, D, w, w + C * D);
    MT_OK(embcl_tensor_upload(mm->w_t, w, (size_t)(C * D) * sizeof *w));
    MT_OK(embcl_tensor_upload(mm->b_t, w + C * D, (size_t)C * sizeof *w));
    free(w);
    MT_OK(embcl_graph_create(rt, &mm->g));
    MT_OK(embcl_graph_param(mm->g, "embedding.weight", mm->table_t, &mm->table));
    MT_OK(embcl_graph_param(mm->g, "fc.weight", mm->w_t, &mm->w));
    MT_OK(embcl_graph_param(mm->g, "fc.bias", mm->b_t, &mm->b));
    MT_OK(embcl_graph_input(mm->g, "bags", EMBCL_I64, 2, (int64_t[]){B, L}, &mm->idx));
    MT_OK(embcl_graph_input(mm->g, "labels", EMBCL_I64, 1, (int64_t[]){B}, &mm->tgt));
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.mode = EMBCL_BAG_MEAN;
    eo.sparse = sparse;
    embcl_value bag, logits;
    MT_OK(embcl_graph_embedding_bag(mm->g, mm->table, mm->idx, EMBCL_VALUE_NONE, EMBCL_VALUE_NONE, &eo, &bag));
    MT_OK(embcl_graph_linear(mm->g, bag, mm->w, mm->b, &logits));
    MT_OK(embcl_graph_cross_entropy(mm->g, logits, mm->tgt, NULL, &mm->loss));
    MT_OK(embcl_graph_set_loss(mm->g, mm->loss));
    embcl_graph_options o = embcl_graph_options_default();
    o.optim = optim;
    o.diagnostics = 0;
    MT_OK(embcl_graph_compile(mm->g, &o));
}

void mt_model_free(mt_model *mm)
{
    embcl_graph_free(mm->g);
    embcl_tensor_free(mm->table_t);
    embcl_tensor_free(mm->w_t);
    embcl_tensor_free(mm->b_t);
    memset(mm, 0, sizeof *mm);
}

void mt_model_step(mt_model *mm, const int64_t *idx, const int64_t *tgt, int64_t B, int64_t L)
{
    MT_OK(embcl_graph_set_input(mm->g, mm->idx, idx, (size_t)(B * L) * sizeof *idx));
    MT_OK(embcl_graph_set_input(mm->g, mm->tgt, tgt, (size_t)B * sizeof *tgt));
    MT_OK(embcl_graph_step(mm->g));
}

embcl_optim_t mt_sgd(embcl_device_t dev)
{
    embcl_optim_t opt;
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SGD);
    hp.lr = 0.5;
    MT_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, &hp, &opt));
    MT_OK(embcl_optim_add_group(opt, NULL, NULL));
    return opt;
}

void mt_trained_alloc(mt_trained *t, int64_t V, int64_t D, int64_t C)
{
    memset(t, 0, sizeof *t);
    t->V = V, t->D = D, t->C = C;
    t->table = malloc((size_t)(V * D) * sizeof *t->table);
    t->w = malloc((size_t)(C * D) * sizeof *t->w);
    t->b = malloc((size_t)C * sizeof *t->b);
    MT_CHECK(t->table && t->w && t->b, "out of memory");
}

void mt_trained_free(mt_trained *t)
{
    free(t->table);
    free(t->w);
    free(t->b);
}

void mt_trained_take(mt_trained *t, const mt_model *mm, int table)
{
    if (table)
        mt_download(mm->table_t, t->table);
    mt_download(mm->w_t, t->w);
    mt_download(mm->b_t, t->b);
}

void mt_trained_close(const mt_trained *got, const mt_trained *want, int steps)
{
    mt_close(got->loss, want->loss, (size_t)steps, 1e-5, 1e-6, "loss");
    mt_close(got->table, want->table, (size_t)(want->V * want->D), 1e-5, 1e-6, "embedding.weight");
    mt_close(got->w, want->w, (size_t)(want->C * want->D), 1e-5, 1e-6, "fc.weight");
    mt_close(got->b, want->b, (size_t)want->C, 1e-5, 1e-6, "fc.bias");
}

void mt_train_reference(embcl_runtime_t rt, embcl_device_t dev, int64_t B, int64_t L, int sparse, const float *init,
                        int steps, mt_trained *out)
{
    embcl_optim_t opt = mt_sgd(dev);
    mt_model mm;
    mt_model_build(&mm, rt, dev, out->V, out->D, out->C, B, L, sparse, opt, init);
    int64_t *idx = malloc((size_t)(B * L + B) * sizeof *idx);
    MT_CHECK(idx != NULL && steps <= MT_MAX_STEPS, "out of memory, or too many steps");
    for (int s = 0; s < steps; s++) {
        mt_batch(s, B, L, out->V, out->C, idx, idx + B * L);
        mt_model_step(&mm, idx, idx + B * L, B, L);
        MT_OK(embcl_graph_download(mm.g, mm.loss, &out->loss[s], sizeof(float)));
    }
    free(idx);
    mt_trained_take(out, &mm, 1);
    mt_model_free(&mm);
    embcl_optim_free(opt);
}
