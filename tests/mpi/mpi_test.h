/* A small harness for tests/mpi: every rank runs the same checks; a failed
 * check prints "rank R: file:line: message" and aborts the whole job, so
 * no rank is left waiting in a collective. */
#ifndef EMBCL_MPI_TEST_H
#define EMBCL_MPI_TEST_H

#include <embcl.h>
#include <embcl/mpi.h>
#include <stdio.h>
#include <string.h>

void mt_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;

#define MT_CHECK(cond, ...)                                  \
    do {                                                     \
        if (!(cond))                                         \
            mt_fail(__FILE__, __LINE__, __VA_ARGS__);        \
    } while (0)

#define MT_OK(expr)                                                                                       \
    do {                                                                                                  \
        embcl_status mt_s_ = (expr);                                                                      \
        MT_CHECK(mt_s_ == EMBCL_OK, "%s returned %s: %s", #expr, embcl_status_str(mt_s_), embcl_last_error()); \
    } while (0)

/* expr fails with `want` and its message holds each of the substrings. */
#define MT_FAILS(want, expr, ...)                                                                          \
    do {                                                                                                   \
        embcl_status mt_s_ = (expr);                                                                       \
        MT_CHECK(mt_s_ == (want), "%s returned %s, expected %s (message: %s)", #expr, embcl_status_str(mt_s_), \
                 embcl_status_str(want), embcl_last_error());                                              \
        const char *mt_parts_[] = {__VA_ARGS__};                                                           \
        for (size_t mt_i_ = 0; mt_i_ < sizeof mt_parts_ / sizeof mt_parts_[0]; mt_i_++)                    \
            MT_CHECK(strstr(embcl_last_error(), mt_parts_[mt_i_]) != NULL, "error message lacks '%s': %s",  \
                     mt_parts_[mt_i_], embcl_last_error());                                                \
    } while (0)

/* A runtime on EMBCL_TEST_DEVICE, else the CPU (PoCL). */
embcl_runtime_t mt_runtime(void);
embcl_device_t mt_device(embcl_runtime_t rt);

/* |got - want| <= rtol * max(|got|, |want|) + atol for every element. */
void mt_close(const float *got, const float *want, size_t n, double rtol, double atol, const char *what);

/* One named check; run_tests runs them in order on every rank, printing
 * each name on rank 0. */
typedef struct mt_test {
    const char *name;
    void (*fn)(embcl_mpi_t m, embcl_runtime_t rt, embcl_device_t dev);
} mt_test;
int mt_run(int argc, char **argv, const mt_test *tests, size_t n);

/* The tensor's contents (f32). */
void mt_download(embcl_tensor_t t, float *host);

#endif

/* The test model: EmbeddingBag(mean) over `table` [rows, D] reading bags
 * idx [B, L] -> Linear(D -> C, bias) -> cross-entropy against tgt [B]. The
 * table's gradient is row-sparse when `sparse`. optim NULL: steps compute
 * gradients only; else every parameter is in its group 0. The parameters
 * start from mt_init_* (table: given host rows). */
typedef struct mt_model {
    embcl_graph_t g;
    embcl_value table, idx, w, b, tgt, loss;
    embcl_tensor_t table_t, w_t, b_t;
} mt_model;
void mt_model_build(mt_model *mm, embcl_runtime_t rt, embcl_device_t dev, int64_t rows, int64_t D, int64_t C,
                    int64_t B, int64_t L, int sparse, embcl_optim_t optim, const float *table_rows);
void mt_model_free(mt_model *mm);
/* Set the inputs and run one step. */
void mt_model_step(mt_model *mm, const int64_t *idx, const int64_t *tgt, int64_t B, int64_t L);

/* The global batch of a step: idx [B, L] in [1, V) (skewed to small ids,
 * every 4th one of ids 1..3, so ranks share rows), tgt [B] in [0, C). */
void mt_batch(int step, int64_t B, int64_t L, int64_t V, int64_t C, int64_t *idx, int64_t *tgt);
/* The Linear's starting weight [C, D] and bias [C]. */
void mt_init_linear(int64_t C, int64_t D, float *w, float *b);

/* SGD, lr 0.5, one group: its update shows a wrongly scaled gradient
 * (Adagrad's would not: it divides the scale out). */
embcl_optim_t mt_sgd(embcl_device_t dev);

/* What training left: table [V, D], fc weight [C, D] and bias [C], the
 * loss of each step (the ranks' mean for data parallel). */
#define MT_MAX_STEPS 8
typedef struct mt_trained {
    int64_t V, D, C;
    float *table, *w, *b;
    float loss[MT_MAX_STEPS];
} mt_trained;
void mt_trained_alloc(mt_trained *t, int64_t V, int64_t D, int64_t C);
void mt_trained_free(mt_trained *t);
/* The fc parameters of mm, and its table when `table` (else left as is). */
void mt_trained_take(mt_trained *t, const mt_model *mm, int table);
/* got equals want within 1e-5 (relative) + 1e-6: losses and parameters. */
void mt_trained_close(const mt_trained *got, const mt_trained *want, int steps);

/* One process trains the model over all V rows on the whole batch
 * (B bags of L ids) of each step, with the graph's own optimizer (mt_sgd). */
void mt_train_reference(embcl_runtime_t rt, embcl_device_t dev, int64_t B, int64_t L, int sparse, const float *init,
                        int steps, mt_trained *out);
