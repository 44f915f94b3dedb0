/* GloVe and word2vec text: detection, coverage, initialisation of missing
 * rows, and errors that name the file, line and word. */
#include <math.h>
#include <string.h>

#include "io_test.h"

#define TEXT(s) s, sizeof(s) - 1

static embcl_vocab_t small_vocab(void)
{
    /* ids: <pad> <unk> king queen man woman zebra */
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_build(TEXT("king king king queen queen man man woman zebra"), NULL, 1, &v));
    cr_assert_str_eq(embcl_vocab_word(v, 2), "king");
    cr_assert_str_eq(embcl_vocab_word(v, 6), "zebra");
    return v;
}

static const char GLOVE[] = "the 0.1 0.2 0.3\n"
                            "king 1 2 3\n"
                            "queen -1.5 2.5e-1 3\n"
                            "king 9 9 9\n"
                            ". . . 7 8 9\n"
                            "\n"
                            "man 0.5 0.25 -0.125\n"
                            "woman 4 5 6\n";

Test(pretrained, glove_fills_found_rows_and_reports_coverage)
{
    embcl_vocab_t v = small_vocab();
    float *m;
    embcl_pretrained_stats st;
    embcl_pretrained_options o;
    embcl_pretrained_options_default(&o);
    o.seed = 7;
    TEST_OK(embcl_pretrained_parse(TEXT(GLOVE), "glove.txt", v, &o, &m, &st));
    cr_assert_eq(st.format, EMBCL_PRETRAINED_GLOVE);
    cr_assert_eq(st.dim, 3);
    cr_assert_eq(st.file_rows, 7);
    cr_assert_eq(st.vocab_size, 7);
    cr_assert_eq(st.found, 4);       /* king queen man woman */
    cr_assert_eq(st.missing, 2);     /* <unk> zebra */
    cr_assert_eq(st.pad_zeroed, 1);
    cr_assert_eq(st.duplicate_rows, 1);
    cr_assert_eq(st.multiword_rows, 1);
    const float king[3] = {1, 2, 3}, queen[3] = {-1.5f, 0.25f, 3}, man[3] = {0.5f, 0.25f, -0.125f};
    cr_assert(memcmp(m + 2 * 3, king, sizeof king) == 0, "the first king row wins");
    cr_assert(memcmp(m + 3 * 3, queen, sizeof queen) == 0);
    cr_assert(memcmp(m + 4 * 3, man, sizeof man) == 0);
    for (int j = 0; j < 3; j++)
        cr_assert_eq(m[j], 0.0f, "<pad> row is zeros");
    /* missing rows: N(0,1)*scale from the seed, drawn in id order */
    float *m2;
    o.init_scale = 2.0;
    TEST_OK(embcl_pretrained_parse(TEXT(GLOVE), "glove.txt", v, &o, &m2, NULL));
    for (int id = 0; id < 7; id++)
        for (int j = 0; j < 3; j++) {
            int missing = id == 1 || id == 6;
            float want = missing ? 2.0f * m[id * 3 + j] : m[id * 3 + j];
            cr_assert_eq(m2[id * 3 + j], want, "row %d col %d", id, j);
            if (missing)
                cr_assert(m[id * 3 + j] != 0.0f && fabsf(m[id * 3 + j]) < 6.0f);
        }
    char line[300];
    size_t need = embcl_pretrained_describe(&st, line, sizeof line);
    cr_assert_lt(need, sizeof line);
    cr_assert(strstr(line, "4 of 6 words found (66.7%), 2 missing initialised N(0,1)*1 (seed 7), <pad> zeros"),
              "%s", line);
    embcl_io_free(m);
    embcl_io_free(m2);
    embcl_vocab_free(v);
}

Test(pretrained, missing_rows_look_standard_normal)
{
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_create(&v));
    char w[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(w, sizeof w, "w%d", i);
        TEST_OK(embcl_vocab_add(v, w, 1, NULL));
    }
    float *m;
    embcl_pretrained_stats st;
    TEST_OK(embcl_pretrained_parse(TEXT("w0 1 1 1 1 1 1 1 1\n"), NULL, v, NULL, &m, &st));
    cr_assert_eq(st.missing, 2000); /* <unk> and w1..w1999 */
    double sum = 0, sq = 0;
    int64_t n = 0;
    for (int64_t id = 3; id < embcl_vocab_size(v); id++)
        for (int j = 0; j < 8; j++, n++) {
            sum += m[id * 8 + j];
            sq += (double)m[id * 8 + j] * m[id * 8 + j];
        }
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    cr_assert(fabs(mean) < 0.05 && fabs(var - 1.0) < 0.05, "mean %g var %g", mean, var);
    embcl_io_free(m);
    embcl_vocab_free(v);
}

Test(pretrained, word2vec_text_is_detected)
{
    embcl_vocab_t v = small_vocab();
    float *m;
    embcl_pretrained_stats st;
    TEST_OK(embcl_pretrained_parse(TEXT("3 2\nqueen 1 2\nzebra 3 4\n<unk> 5 6\n"), "vec.txt", v, NULL, &m, &st));
    cr_assert_eq(st.format, EMBCL_PRETRAINED_WORD2VEC);
    cr_assert_eq(st.dim, 2);
    cr_assert_eq(st.file_rows, 3);
    cr_assert_eq(st.found, 3);
    cr_assert_eq(m[1 * 2 + 1], 6.0f);
    cr_assert_eq(m[6 * 2], 3.0f);
    embcl_io_free(m);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_pretrained_parse(TEXT("3 2\nqueen 1 2\nzebra 3 4\n"), "vec.txt", v, NULL, &m,
                                                        NULL),
               "embcl_pretrained_parse", "vec.txt: the word2vec header gives 3 rows, the file has 2");
    /* a file whose only row is a multi-word one still yields a whole table */
    TEST_OK(embcl_pretrained_parse(TEXT("1 2\nking queen 1 2\n"), "vec.txt", v, NULL, &m, &st));
    cr_assert(st.multiword_rows == 1 && st.found == 0 && st.missing == 6);
    embcl_io_free(m);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_pretrained_parse(TEXT("3 0\n"), "vec.txt", v, NULL, &m, NULL),
               "line 1: word2vec header gives 3 rows of dimension 0");
    cr_assert_null(m);
    embcl_vocab_free(v);
}

static void expect_error(embcl_status want, const char *text, const embcl_pretrained_options *o, const char *part)
{
    embcl_vocab_t v = small_vocab();
    float *m = (float *)1;
    TEST_FAILS(want, embcl_pretrained_parse(text, strlen(text), "glove.txt", v, o, &m, NULL), "embcl_pretrained_parse",
               part);
    cr_assert_null(m);
    embcl_vocab_free(v);
}

Test(pretrained, malformed_rows_name_file_line_and_word)
{
    char text[16384];
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "w%d", i);
        for (int j = 0; j < 50; j++)
            n += (size_t)snprintf(text + n, sizeof text - n, " %d.5", j);
        text[n++] = '\n';
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "king");
    for (int j = 0; j < 49; j++)
        n += (size_t)snprintf(text + n, sizeof text - n, " 0.%d", j);
    text[n] = '\0';
    expect_error(EMBCL_ERR_FORMAT, text, NULL, "glove.txt line 17: expected 50 numbers after 'king', found 49");
    expect_error(EMBCL_ERR_FORMAT, "a 1 2\nking 1 2 3\n", NULL, "line 2: expected 2 numbers after 'king', found 3");
    expect_error(EMBCL_ERR_FORMAT, "a 1 2\nking 1 x\n", NULL, "line 2: number 2 after 'king' is 'x', not a finite");
    expect_error(EMBCL_ERR_FORMAT, "a 1 2\nking 1 nan\n", NULL, "'nan', not a finite number");
    expect_error(EMBCL_ERR_FORMAT, "a 1 2\nking 1 1e99\n", NULL, "'1e99', not a finite number");
    expect_error(EMBCL_ERR_FORMAT, "lonely\n", NULL, "line 1: expected a word and its numbers");
    expect_error(EMBCL_ERR_FORMAT, "", NULL, "glove.txt has no vectors");
    expect_error(EMBCL_ERR_FORMAT, "0 5\n", NULL, "glove.txt has no vectors");
    /* a header's dimension is not trusted for allocation before a row shows it */
    expect_error(EMBCL_ERR_FORMAT, "1 4000000000000\nking 1 2\n", NULL,
                 "line 2: expected 4000000000000 numbers after 'king', found 2");
    embcl_vocab_t v = small_vocab();
    float *m;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_pretrained_parse(TEXT("a 1\nb\0 2\n"), "g.txt", v, NULL, &m, NULL),
               "g.txt line 2: NUL byte");
    embcl_vocab_free(v);
    embcl_pretrained_options o;
    embcl_pretrained_options_default(&o);
    o.dim = 100;
    expect_error(EMBCL_ERR_SHAPE, "a 1 2\n", &o, "glove.txt has vectors of dimension 2; the model's is 100");
}

Test(pretrained, load_reads_a_file)
{
    char *dir = test_tempdir("glove");
    char *path = io_test_join(dir, "glove.6B.3d.txt");
    io_test_write(path, GLOVE, sizeof GLOVE - 1);
    embcl_vocab_t v = small_vocab();
    float *m;
    embcl_pretrained_stats st;
    TEST_OK(embcl_pretrained_load(path, v, NULL, &m, &st));
    cr_assert_eq(st.found, 4);
    embcl_io_free(m);
    io_test_write(path, "king 1 2\nqueen 1\n", 17);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_pretrained_load(path, v, NULL, &m, &st), "embcl_pretrained_load",
               "glove.6B.3d.txt line 2: expected 2 numbers after 'queen', found 1");
    char *missing = io_test_join(dir, "none.txt");
    TEST_FAILS(EMBCL_ERR_IO, embcl_pretrained_load(missing, v, NULL, &m, &st), "none.txt");
    embcl_vocab_free(v);
    free(missing);
    free(path);
    free(dir);
}

static embcl_status parse_glove(const char *buf, size_t len)
{
    embcl_vocab_t v;
    embcl_status s = embcl_vocab_build(TEXT("king queen man woman the"), NULL, 1, &v);
    float *m = NULL;
    if (s == EMBCL_OK)
        s = embcl_pretrained_parse(buf, len, NULL, v, NULL, &m, NULL);
    embcl_io_free(m);
    embcl_vocab_free(v);
    return s;
}

Test(pretrained, damaged_copies_never_crash)
{
    int failed;
    io_test_mutate(GLOVE, sizeof GLOVE - 1, 3000, parse_glove, &failed);
    cr_assert_gt(failed, 500);
    const char w2v[] = "4 3\nking 1 2 3\nqueen 4 5 6\nman 7 8 9\nwoman 1e3 -2 .5\n";
    io_test_mutate(w2v, sizeof w2v - 1, 2000, parse_glove, &failed);
    cr_assert_gt(failed, 500);
}

Test(pretrained, save_then_load_gives_the_same_floats)
{
    embcl_vocab_t v = small_vocab();
    const int64_t V = 7, D = 5;
    float m[7 * 5];
    uint64_t seed = 99;
    for (int i = 0; i < V * D; i++)
        m[i] = (float)((double)(int64_t)io_test_rand(&seed) / 9.2e18) * (i % 3 ? 1e-7f : 3e4f);
    char *dir = test_tempdir("export");
    char *path = io_test_join(dir, "vectors.txt");
    for (int f = 0; f < 2; f++) {
        embcl_pretrained_format format = f ? EMBCL_PRETRAINED_WORD2VEC : EMBCL_PRETRAINED_GLOVE;
        TEST_OK(embcl_pretrained_save(path, v, m, D, format));
        float *back;
        embcl_pretrained_stats st;
        TEST_OK(embcl_pretrained_load(path, v, NULL, &back, &st));
        cr_assert_eq(st.format, format);
        cr_assert_eq(st.found, V - 1);
        cr_assert_eq(st.missing, 0);
        cr_assert(memcmp(back, m, sizeof m) == 0, "floats changed in a %s round trip", f ? "word2vec" : "glove");
        embcl_io_free(back);
    }
    io_test_expect_one_file(dir);
    m[12] = NAN;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_pretrained_save(path, v, m, D, EMBCL_PRETRAINED_GLOVE),
               "embcl_pretrained_save", "matrix[2][2] (word 'king') is nan");
    embcl_vocab_free(v);
    free(path);
    free(dir);
}
