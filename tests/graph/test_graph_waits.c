/* "The host waits only when the user asks": a steady-state training step
 * of the `embcl train` model (Embedding, LSTM, tied decoder, cross-entropy,
 * EmbeddingBag classifier) through embcl_graph_step must not block the host.
 * This executable defines the OpenCL calls that can block (clFinish,
 * clWaitForEvents, blocking reads, writes and maps) itself; they count the
 * blocking ones and forward to the loader's (dlsym RTLD_NEXT), so every
 * wait anywhere below embcl_graph_step is seen. */
#define _GNU_SOURCE
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "trainer_small.h"

static long n_waits;
static char last_wait[64];

static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "test_graph_waits: no %s after this executable\n", name);
        abort();
    }
    return f;
}

static void waited(const char *what)
{
    n_waits++;
    snprintf(last_wait, sizeof last_wait, "%s", what);
}

CL_API_ENTRY cl_int CL_API_CALL clFinish(cl_command_queue q)
{
    waited("clFinish");
    cl_int (*f)(cl_command_queue) = (cl_int(*)(cl_command_queue))real("clFinish");
    return f(q);
}

CL_API_ENTRY cl_int CL_API_CALL clWaitForEvents(cl_uint n, const cl_event *evs)
{
    waited("clWaitForEvents");
    cl_int (*f)(cl_uint, const cl_event *) = (cl_int(*)(cl_uint, const cl_event *))real("clWaitForEvents");
    return f(n, evs);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t off,
                                                    size_t n, void *p, cl_uint ne, const cl_event *w, cl_event *e)
{
    if (blocking)
        waited("clEnqueueReadBuffer");
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint, const cl_event *,
                         cl_event *);
    return ((fn)real("clEnqueueReadBuffer"))(q, m, blocking, off, n, p, ne, w, e);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t off,
                                                     size_t n, const void *p, cl_uint ne, const cl_event *w,
                                                     cl_event *e)
{
    if (blocking)
        waited("clEnqueueWriteBuffer");
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint,
                         const cl_event *, cl_event *);
    return ((fn)real("clEnqueueWriteBuffer"))(q, m, blocking, off, n, p, ne, w, e);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueReadBufferRect(cl_command_queue q, cl_mem m, cl_bool blocking,
                                                        const size_t *bo, const size_t *ho, const size_t *r,
                                                        size_t brp, size_t bsp, size_t hrp, size_t hsp, void *p,
                                                        cl_uint ne, const cl_event *w, cl_event *e)
{
    if (blocking)
        waited("clEnqueueReadBufferRect");
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, const size_t *, const size_t *, const size_t *, size_t,
                         size_t, size_t, size_t, void *, cl_uint, const cl_event *, cl_event *);
    return ((fn)real("clEnqueueReadBufferRect"))(q, m, blocking, bo, ho, r, brp, bsp, hrp, hsp, p, ne, w, e);
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueWriteBufferRect(cl_command_queue q, cl_mem m, cl_bool blocking,
                                                         const size_t *bo, const size_t *ho, const size_t *r,
                                                         size_t brp, size_t bsp, size_t hrp, size_t hsp,
                                                         const void *p, cl_uint ne, const cl_event *w, cl_event *e)
{
    if (blocking)
        waited("clEnqueueWriteBufferRect");
    typedef cl_int (*fn)(cl_command_queue, cl_mem, cl_bool, const size_t *, const size_t *, const size_t *, size_t,
                         size_t, size_t, size_t, const void *, cl_uint, const cl_event *, cl_event *);
    return ((fn)real("clEnqueueWriteBufferRect"))(q, m, blocking, bo, ho, r, brp, bsp, hrp, hsp, p, ne, w, e);
}

CL_API_ENTRY void *CL_API_CALL clEnqueueMapBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, cl_map_flags fl,
                                                  size_t off, size_t n, cl_uint ne, const cl_event *w, cl_event *e,
                                                  cl_int *err)
{
    if (blocking)
        waited("clEnqueueMapBuffer");
    typedef void *(*fn)(cl_command_queue, cl_mem, cl_bool, cl_map_flags, size_t, size_t, cl_uint, const cl_event *,
                        cl_event *, cl_int *);
    return ((fn)real("clEnqueueMapBuffer"))(q, m, blocking, fl, off, n, ne, w, e, err);
}

TEST_DEVICE_FIXTURE
TestSuite(graph_waits, .init = test_device_setup, .fini = test_device_teardown);

/* A classifier graph: Linear -> cross-entropy over targets from the host,
 * SGD inside the graph. */
typedef struct clf {
    embcl_tensor_t w, b;
    embcl_optim_t opt;
    embcl_graph_t g;
    embcl_value x, t, loss;
} clf;

enum { N = 6, F = 4, C = 3 };

static void clf_make(clf *m)
{
    int64_t sw[2] = {C, F}, sb[1] = {C}, sx[2] = {N, F}, st[1] = {N};
    float w[C * F], b[C];
    for (int i = 0; i < C * F; i++)
        w[i] = 0.1f * (float)((i * 7) % 5) - 0.2f;
    for (int i = 0; i < C; i++)
        b[i] = 0.05f * (float)i;
    m->w = test_tensor_f32(dev, 2, sw, w);
    m->b = test_tensor_f32(dev, 1, sb, b);
    TEST_OK(embcl_optim_create(dev, EMBCL_OPTIM_SGD, NULL, &m->opt));
    TEST_OK(embcl_optim_add_group(m->opt, NULL, NULL));
    TEST_OK(embcl_graph_create(rt, &m->g));
    embcl_value pw, pb, lg;
    TEST_OK(embcl_graph_param(m->g, "fc.weight", m->w, &pw));
    TEST_OK(embcl_graph_param(m->g, "fc.bias", m->b, &pb));
    TEST_OK(embcl_graph_input(m->g, "x", EMBCL_F32, 2, sx, &m->x));
    TEST_OK(embcl_graph_input(m->g, "labels", EMBCL_I64, 1, st, &m->t));
    TEST_OK(embcl_graph_linear(m->g, m->x, pw, pb, &lg));
    embcl_cross_entropy_options o = embcl_cross_entropy_options_default();
    o.ignore_index = 1; /* the mean's divisor then depends on the targets */
    TEST_OK(embcl_graph_cross_entropy(m->g, lg, m->t, &o, &m->loss));
    TEST_OK(embcl_graph_set_loss(m->g, m->loss));
    embcl_graph_options go = embcl_graph_options_default();
    go.optim = m->opt;
    go.diagnostics = 0;
    TEST_OK(embcl_graph_compile(m->g, &go));
}

static void clf_free(clf *m)
{
    embcl_graph_free(m->g);
    embcl_optim_free(m->opt);
    embcl_tensor_free(m->w);
    embcl_tensor_free(m->b);
}

static const float X[N * F] = {0.5f, -1, 0.25f, 2, 1, 0, -0.5f, 0.75f, -2, 0.5f, 1, 0,
                               0.1f, 0.2f, 0.3f, 0.4f, -1, -1, 1, 1, 0.6f, -0.3f, 0.9f, -0.2f};

/* Cross-entropy's targets are checked in embcl_graph_set_input, on the
 * host: the step itself reads nothing back. */
Test(graph_waits, cross_entropy_step_never_blocks_the_host)
{
    clf m;
    clf_make(&m);
    const int64_t t[N] = {0, 2, 1, 2, 0, 1};
    TEST_OK(embcl_graph_set_input(m.g, m.x, X, sizeof X));
    TEST_OK(embcl_graph_set_input(m.g, m.t, t, sizeof t));
    TEST_OK(embcl_graph_step(m.g));
    n_waits = 0;
    TEST_OK(embcl_graph_step(m.g));
    TEST_OK(embcl_graph_forward(m.g));
    cr_assert_eq(n_waits, 0, "a graph step made the host wait %ld times (last: %s)", n_waits, last_wait);
    /* Only asking for a value waits; and the counter sees it. */
    float l;
    TEST_OK(embcl_graph_download(m.g, m.loss, &l, sizeof l));
    cr_assert_gt(n_waits, 0, "reading the loss back was not counted as a wait");
    clf_free(&m);
}

/* The mean divides by the targets not ignored, counted on the host: the
 * same loss as the op that reads them back (embcl_cross_entropy alone). */
Test(graph_waits, host_counted_mean_equals_the_ops)
{
    clf m;
    clf_make(&m);
    const int64_t t[N] = {0, 1, 1, 2, 1, 0}; /* three ignored */
    TEST_OK(embcl_graph_set_input(m.g, m.x, X, sizeof X));
    TEST_OK(embcl_graph_set_input(m.g, m.t, t, sizeof t));
    TEST_OK(embcl_graph_forward(m.g));
    float got, want;
    TEST_OK(embcl_graph_download(m.g, m.loss, &got, sizeof got));
    int64_t sx[2] = {N, F}, slg[2] = {N, C}, st[1] = {N}, one[1] = {1};
    embcl_tensor_t x = test_tensor_f32(dev, 2, sx, X), lg, tt, loss;
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 2, slg, &lg));
    TEST_OK(embcl_tensor_create(dev, EMBCL_I64, 1, st, &tt));
    TEST_OK(embcl_tensor_create(dev, EMBCL_F32, 1, one, &loss));
    TEST_OK(embcl_tensor_upload(tt, t, sizeof t));
    TEST_OK(embcl_linear_forward(x, m.w, m.b, lg));
    embcl_cross_entropy_options o = embcl_cross_entropy_options_default();
    o.ignore_index = 1;
    TEST_OK(embcl_cross_entropy(lg, tt, &o, loss));
    TEST_OK(embcl_tensor_download(loss, &want, sizeof want));
    test_assert_close(&got, &want, 1, 1e-6, 0, "loss");
    embcl_tensor_t all[] = {x, lg, tt, loss};
    for (size_t i = 0; i < 4; i++)
        embcl_tensor_free(all[i]);
    clf_free(&m);
}

/* A class id out of range fails in embcl_graph_set_input, naming the input,
 * the position and the value, and the previous targets stay in force. */
Test(graph_waits, bad_target_fails_at_set_input_and_changes_nothing)
{
    clf m;
    clf_make(&m);
    const int64_t good[N] = {0, 2, 1, 2, 0, 1}, bad[N] = {0, 2, 0, 7, 0, 1};
    TEST_OK(embcl_graph_set_input(m.g, m.x, X, sizeof X));
    TEST_OK(embcl_graph_set_input(m.g, m.t, good, sizeof good));
    TEST_OK(embcl_graph_forward(m.g));
    float before, after;
    TEST_OK(embcl_graph_download(m.g, m.loss, &before, sizeof before));
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_graph_set_input(m.g, m.t, bad, sizeof bad), "embcl_graph_set_input",
               "position 3", "is 7", "[0, 3)", "labels");
    TEST_OK(embcl_graph_forward(m.g));
    TEST_OK(embcl_graph_download(m.g, m.loss, &after, sizeof after));
    cr_assert_eq(before, after, "the rejected targets changed the loss (%g -> %g)", (double)before, (double)after);
    clf_free(&m);
}

/* The `embcl train` model, small: its steady-state step makes the host
 * wait nowhere. Gone: cross-entropy's 4 (2 losses, forward and backward:
 * the targets are checked in set_input), the LSTM's 1 (it uploaded its
 * sequence lengths every forward; now only when they change), the
 * Embedding and EmbeddingBag index checks' 2 and the deterministic
 * scatter's 2 reads of how many rows the batch touched (uploaded indices
 * carry host-made facts: src/tensor/transfer.c). */
#define WAITS_TODAY 0 /* a new wait anywhere in the step fails here */

Test(graph_waits, train_model_step_waits_no_more_than_its_ops_do)
{
    embcl_train_config c = embcl_train_config_default();
    c.dim = 16;
    c.bag_extra = 4;
    c.batch = 4;
    c.bptt = 5;
    c.cls_batch = 4;
    small_trainer st;
    small_trainer_make_data(&st, rt, c.seed, 600, 2, &c);
    embcl_trainer_t tr = st.tr;
    for (int i = 0; i < 4; i++) /* past the first steps' diagnostics */
        TEST_OK(embcl_trainer_step(tr, NULL));
    embcl_graph_t g = embcl_trainer_graph(tr);
    cr_assert_not_null(g);
    /* The inputs the trainer set last stay: a step on them again. */
    n_waits = 0;
    embcl_status s = embcl_graph_step(g);
    long waits = n_waits;
    small_trainer_free(&st);
    TEST_OK(s);
    cr_assert_leq(waits, WAITS_TODAY, "the model's step made the host wait %ld times, more than %d (last: %s)",
                  waits, WAITS_TODAY, last_wait);
}
