/* Soak: trains an EmbeddingBag -> Linear -> cross-entropy model with a new
 * random batch shape every step (bags, bag lengths, bag mode) for a given
 * time, through the public API only, the table with SparseAdam (row-sparse
 * gradients) and the Linear with Adam, each step inside optimizer
 * transactions as the trainer runs them. It samples host RSS and the
 * device pool's statistics, then replays the first steps on a fresh
 * runtime with the same seed and checks the losses are the same bits.
 * Built and run by scripts/soak.sh; prints its figures and one JSON
 * summary line; exits non-zero if memory grew or the replay differed.
 *
 * usage: soak SECONDS [SEED] */
#include <embcl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define V 20000
#define D 32
#define C 16
#define MAX_B 256
#define MAX_L 24
#define REPLAY_STEPS 400

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        embcl_status s_ = (expr);                                                                  \
        if (s_ != EMBCL_OK) {                                                                      \
            fprintf(stderr, "soak: %s failed: %s: %s\n", #expr, embcl_status_str(s_), embcl_last_error()); \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double rss_mib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

typedef struct model {
    embcl_runtime_t rt;
    embcl_device_t dev;
    embcl_tensor_t table, w, b, dw, db;
    embcl_optim_t table_opt, dense_opt;
    embcl_rowsparse_t gtable;
    uint64_t rng;
} model;

static void model_make(model *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->rng = seed;
    embcl_runtime_options o = embcl_runtime_options_default();
    CHECK(embcl_runtime_create(&o, &m->rt));
    CHECK(embcl_runtime_device(m->rt, 0, &m->dev));
    int64_t st[2] = {V, D}, sw[2] = {C, D}, sb[1] = {C};
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, st, &m->table));
    CHECK(embcl_embedding_init_normal(m->table, seed, EMBCL_PADDING_NONE));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, sw, &m->w));
    CHECK(embcl_embedding_init_normal(m->w, seed + 1, EMBCL_PADDING_NONE));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 1, sb, &m->b));
    CHECK(embcl_tensor_fill(m->b, 0.0));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, sw, &m->dw));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 1, sb, &m->db));
    CHECK(embcl_rowsparse_create(m->dev, V, D, MAX_B * MAX_L, &m->gtable));
    embcl_optim_hparams hp = embcl_optim_defaults(EMBCL_OPTIM_SPARSE_ADAM);
    hp.lr = 1e-2;
    CHECK(embcl_optim_create(m->dev, EMBCL_OPTIM_SPARSE_ADAM, &hp, &m->table_opt));
    CHECK(embcl_optim_add_group(m->table_opt, NULL, NULL));
    CHECK(embcl_optim_add_param(m->table_opt, 0, m->table, "table", NULL));
    CHECK(embcl_optim_create(m->dev, EMBCL_OPTIM_ADAM, NULL, &m->dense_opt));
    CHECK(embcl_optim_add_group(m->dense_opt, NULL, NULL));
    CHECK(embcl_optim_add_param(m->dense_opt, 0, m->w, "fc.weight", NULL));
    CHECK(embcl_optim_add_param(m->dense_opt, 0, m->b, "fc.bias", NULL));
}

static void model_free(model *m)
{
    embcl_optim_free(m->table_opt);
    embcl_optim_free(m->dense_opt);
    embcl_rowsparse_free(m->gtable);
    embcl_tensor_free(m->table);
    embcl_tensor_free(m->w);
    embcl_tensor_free(m->b);
    embcl_tensor_free(m->dw);
    embcl_tensor_free(m->db);
    embcl_runtime_free(m->rt);
}

static embcl_tensor_t upload(model *m, embcl_dtype dt, int64_t n, const void *host)
{
    embcl_tensor_t t;
    CHECK(embcl_tensor_create(m->dev, dt, 1, &n, &t));
    CHECK(embcl_tensor_upload(t, host, (size_t)n * embcl_dtype_size(dt)));
    return t;
}

/* One step on a random batch; its loss. */
static float model_step(model *m)
{
    static int64_t idx[MAX_B * MAX_L], off[MAX_B], tgt[MAX_B];
    int64_t B = 1 + (int64_t)(rng_next(&m->rng) % MAX_B), n = 0;
    for (int64_t b = 0; b < B; b++) {
        off[b] = n;
        int64_t len = (int64_t)(rng_next(&m->rng) % (MAX_L + 1));
        for (int64_t k = 0; k < len; k++)
            idx[n++] = (int64_t)(rng_next(&m->rng) % V);
        tgt[b] = (int64_t)(rng_next(&m->rng) % C);
    }
    embcl_embedding_options eo = embcl_embedding_options_default();
    eo.mode = rng_next(&m->rng) % 2 ? EMBCL_BAG_SUM : EMBCL_BAG_MEAN;
    eo.sparse = 1;
    int64_t n_alloc = n ? n : 1;
    if (!n)
        idx[0] = 0;
    embcl_bags bags = {upload(m, EMBCL_I64, n_alloc, idx), upload(m, EMBCL_I64, B, off), NULL};
    if (!n) { /* all bags empty: one index in the last bag keeps n > 0 */
        embcl_tensor_free(bags.indices);
        bags.indices = upload(m, EMBCL_I64, 1, idx);
    }
    embcl_tensor_t target = upload(m, EMBCL_I64, B, tgt);
    int64_t sx[2] = {B, D}, sy[2] = {B, C}, one = 1;
    embcl_tensor_t x, dx, y, dy, loss;
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, sx, &x));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, sx, &dx));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, sy, &y));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 2, sy, &dy));
    CHECK(embcl_tensor_create(m->dev, EMBCL_F32, 1, &one, &loss));
    CHECK(embcl_embedding_bag(m->table, &bags, &eo, x, NULL));
    CHECK(embcl_linear_forward(x, m->w, m->b, y));
    CHECK(embcl_cross_entropy(y, target, NULL, loss));
    CHECK(embcl_cross_entropy_backward(y, target, NULL, NULL, dy, 0));
    CHECK(embcl_linear_backward(x, m->w, dy, dx, m->dw, m->db, 0));
    CHECK(embcl_embedding_bag_backward(dx, NULL, &bags, NULL, V, &eo, NULL, m->gtable, NULL));
    embcl_grad gt = {NULL, m->gtable}, gd[2] = {{m->dw, NULL}, {m->db, NULL}};
    CHECK(embcl_optim_begin(m->table_opt));
    CHECK(embcl_optim_begin(m->dense_opt));
    CHECK(embcl_optim_step(m->table_opt, &gt, 1));
    CHECK(embcl_optim_step(m->dense_opt, gd, 2));
    float l;
    CHECK(embcl_tensor_download(loss, &l, sizeof l));
    CHECK(embcl_optim_commit(m->table_opt));
    CHECK(embcl_optim_commit(m->dense_opt));
    embcl_tensor_t all[] = {bags.indices, bags.offsets, target, x, dx, y, dy, loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        embcl_tensor_free(all[i]);
    return l;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    model m;
    model_make(&m, seed);
    /* only the losses the replay checks: a growing array would show up as
     * host memory growth */
    static float losses[REPLAY_STEPS];
    size_t steps = 0;
    double t0 = now_s(), next = t0, warm_rss = 0, max_rss = 0, end_rss = 0;
    uint64_t warm_pool = 0, max_pool = 0, warm_allocs = 0, end_allocs = 0;
    embcl_pool_stats ps;
    int warm = 0;
    printf("%8s %8s %10s %12s %12s %10s %10s\n", "seconds", "steps", "rss_MiB", "pool_use_B", "pool_cache_B",
           "cl_allocs", "loss");
    for (;;) {
        float l = model_step(&m);
        if (steps < REPLAY_STEPS)
            losses[steps] = l;
        steps++;
        double t = now_s();
        if (t >= next || t - t0 >= seconds) {
            CHECK(embcl_device_finish(m.dev));
            CHECK(embcl_device_pool_stats(m.dev, &ps));
            double rss = rss_mib();
            uint64_t pool = ps.bytes_in_use + ps.bytes_cached;
            printf("%8.0f %8zu %10.1f %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10.4f\n", t - t0, steps, rss,
                   ps.bytes_in_use, ps.bytes_cached, ps.cl_allocs, l);
            fflush(stdout);
            /* the first quarter is warm-up: the pool meets the size classes */
            if (!warm && t - t0 >= seconds / 4) {
                warm = 1;
                warm_rss = rss;
                warm_pool = pool;
                warm_allocs = ps.cl_allocs;
            }
            if (warm) {
                max_rss = rss > max_rss ? rss : max_rss;
                max_pool = pool > max_pool ? pool : max_pool;
            }
            end_rss = rss;
            end_allocs = ps.cl_allocs;
            next = t + (seconds >= 600 ? 60 : seconds / 10);
            if (t - t0 >= seconds)
                break;
        }
    }
    model_free(&m);

    /* Determinism: the same seed on a fresh runtime gives the same bits. */
    size_t replay = steps < REPLAY_STEPS ? steps : REPLAY_STEPS, differ = 0;
    model_make(&m, seed);
    for (size_t i = 0; i < replay; i++) {
        float l = model_step(&m);
        if (memcmp(&l, &losses[i], sizeof l) != 0 && differ++ == 0)
            fprintf(stderr, "soak: replay step %zu: loss %.9g, first run %.9g\n", i, l, losses[i]);
    }
    model_free(&m);

    /* Flat: after warm-up, RSS grows by under 5% + 8 MiB and the pool by
     * under 5% (no new size classes keep appearing). */
    int rss_flat = max_rss <= warm_rss * 1.05 + 8.0;
    int pool_flat = (double)max_pool <= (double)warm_pool * 1.05 + 1.0;
    printf("{\"soak_seconds\": %.0f, \"steps\": %zu, \"rss_mib_after_warmup\": %.1f, \"rss_mib_max\": %.1f, "
           "\"rss_mib_end\": %.1f, \"pool_bytes_after_warmup\": %" PRIu64 ", \"pool_bytes_max\": %" PRIu64
           ", \"cl_allocs_after_warmup\": %" PRIu64 ", \"cl_allocs_end\": %" PRIu64
           ", \"replayed_steps\": %zu, \"replay_differs\": %zu, \"rss_flat\": %d, \"pool_flat\": %d}\n",
           seconds, steps, warm_rss, max_rss, end_rss, warm_pool, max_pool, warm_allocs, end_allocs, replay, differ,
           rss_flat, pool_flat);
    return (rss_flat && pool_flat && differ == 0) ? 0 : 1;
}
