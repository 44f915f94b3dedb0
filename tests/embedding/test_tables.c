/* Table-batched bags: several tables with their own dims, one offsets
 * array, outputs side by side, against per-table F.embedding_bag
 * (tests/data/embedding/tables.ref). Nine tables take two launches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embcl-opencl.h"
#include "emb_ref.h"
#include "test_util.h"

static embcl_runtime_t rt;
static embcl_device_t dev;
static ref_file *ref;

static void setup(void)
{
    emb_suite_open(&rt, &dev);
    ref = ref_load(ref_path("embedding/tables.ref"));
}

static void teardown(void)
{
    ref_free(ref);
    emb_suite_close(rt, dev);
}

TestSuite(tables, .init = setup, .fini = teardown);

typedef struct tcase {
    int T;
    int64_t B, sumD;
    embcl_tensor_t w[16], idx, offs, psw, out;
    embcl_bags bags;
    embcl_embedding_options o;
} tcase;

static void open_case(tcase *k, const ref_case *c)
{
    memset(k, 0, sizeof *k);
    k->T = (int)ref_attr_int(c, "T");
    k->B = ref_attr_int(c, "B");
    k->o = emb_case_options(c);
    for (int t = 0; t < k->T; t++) {
        char name[32];
        snprintf(name, sizeof name, "weight%d", t);
        k->w[t] = emb_upload(dev, ref_tensor_need(c, name));
        k->sumD += embcl_tensor_dim(k->w[t], 1);
    }
    k->idx = emb_upload(dev, ref_tensor_need(c, "indices"));
    k->offs = emb_upload(dev, ref_tensor_need(c, "offsets"));
    if (ref_tensor_get(c, "per_sample_weights"))
        k->psw = emb_upload(dev, ref_tensor_get(c, "per_sample_weights"));
    k->bags = (embcl_bags){k->idx, k->offs, k->psw};
    k->out = emb_zeros(dev, k->B, k->sumD);
}

static void close_case(tcase *k)
{
    for (int t = 0; t < k->T; t++)
        embcl_tensor_free(k->w[t]);
    embcl_tensor_free(k->idx);
    embcl_tensor_free(k->offs);
    embcl_tensor_free(k->psw);
    embcl_tensor_free(k->out);
}

Test(tables, forward_matches_per_table_pytorch)
{
    for (int i = 0; i < ref->n_cases; i++) {
        tcase k;
        open_case(&k, &ref->cases[i]);
        TEST_OK(embcl_embedding_bag_tables(k.T, k.w, &k.bags, &k.o, k.out));
        char what[160];
        snprintf(what, sizeof what, "%s: out", ref->cases[i].name);
        emb_expect_f32(k.out, ref_tensor_need(&ref->cases[i], "out"), 1e-5, 1e-6, what);
        close_case(&k);
    }
}

/* Every table's gradient, both scatter paths; table 1 frozen (NULL) gets
 * nothing and does not shift the others' columns. */
Test(tables, backward_matches_per_table_pytorch)
{
    for (int path = 0; path < 2; path++) {
        for (int i = 0; i < ref->n_cases; i++) {
            const ref_case *c = &ref->cases[i];
            tcase k;
            open_case(&k, c);
            k.o.scatter = (embcl_scatter)path;
            embcl_tensor_t g = emb_upload(dev, ref_tensor_need(c, "grad_out")), gw[16] = {0};
            for (int t = 0; t < k.T; t++)
                if (t != 1)
                    gw[t] = emb_zeros(dev, embcl_tensor_dim(k.w[t], 0), embcl_tensor_dim(k.w[t], 1));
            TEST_OK(embcl_embedding_bag_tables_backward(k.T, g, k.w, &k.bags, &k.o, gw));
            for (int t = 0; t < k.T; t++) {
                if (!gw[t])
                    continue;
                char name[32], what[256];
                snprintf(name, sizeof name, "grad_weight%d", t);
                snprintf(what, sizeof what, "%s (%s): %s", c->name, path ? "atomic" : "deterministic", name);
                emb_expect_f32(gw[t], ref_tensor_need(c, name), 1e-4, 1e-6, what);
                embcl_tensor_free(gw[t]);
            }
            embcl_tensor_free(g);
            close_case(&k);
        }
    }
}

Test(tables, bad_index_is_named_per_table)
{
    const ref_case *c = ref_case_get(ref, "three_sum");
    cr_assert_not_null(c);
    tcase k;
    open_case(&k, c);
    /* Table 1 has 7 rows: an index of 7 in its range is out of range there
     * though valid for tables 0 and 2. */
    const ref_tensor *offs = ref_tensor_need(c, "offsets");
    int64_t p = offs->i64[k.B]; /* table 1's first index */
    int64_t p_end = offs->i64[2 * k.B];
    cr_assert_lt(p, p_end, "table 1 needs an index in this case");
    int64_t bad = 7;
    cl_mem m = embcl_tensor_cl_mem(k.idx, NULL);
    cr_assert_eq(clEnqueueWriteBuffer(embcl_device_cl_queue(dev), m, CL_TRUE, (size_t)p * sizeof bad, sizeof bad, &bad,
                                      0, NULL, NULL), CL_SUCCESS);
    TEST_OK(embcl_tensor_fill(k.out, 5.0));
    char pos[64];
    snprintf(pos, sizeof pos, "position %lld", (long long)p);
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_embedding_bag_tables(k.T, k.w, &k.bags, &k.o, k.out),
               "embcl_embedding_bag_tables", "'indices'", "value 7", pos, "num_embeddings = 7");
    float *h = emb_download_f32(k.out);
    for (int64_t e = 0; e < k.B * k.sumD; e++)
        cr_assert_eq(h[e], 5.0f, "out was written at %lld", (long long)e);
    free(h);
    close_case(&k);
}
