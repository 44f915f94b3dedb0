/* Corpus encoding, sentence offsets, labels and their named errors. */
#include <string.h>

#include "io_test.h"

#define TEXT(s) s, sizeof(s) - 1

Test(corpus, encodes_lines_as_sentences)
{
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_build(TEXT("a b a\nc a\n"), NULL, 1, &v));
    embcl_corpus_t c;
    /* an empty line is an empty sentence; a last line without '\n' counts */
    TEST_OK(embcl_corpus_encode(v, TEXT("a zz b\n\n  \nc <unk> <pad>"), "t.txt", &c));
    embcl_corpus_view cv;
    embcl_corpus_get(c, &cv);
    cr_assert_eq(cv.n_sentences, 4);
    cr_assert_eq(cv.n_tokens, 6);
    int64_t a = embcl_vocab_find(v, "a", 1), b = embcl_vocab_find(v, "b", 1), cc = embcl_vocab_find(v, "c", 1);
    int64_t want_tok[6] = {a, EMBCL_VOCAB_UNK, b, cc, EMBCL_VOCAB_UNK, EMBCL_VOCAB_PAD};
    int64_t want_off[5] = {0, 3, 3, 3, 6};
    cr_assert(memcmp(cv.tokens, want_tok, sizeof want_tok) == 0);
    cr_assert(memcmp(cv.offsets, want_off, sizeof want_off) == 0);
    cr_assert_null(cv.labels);
    cr_assert_eq(cv.n_classes, 0);
    embcl_corpus_free(c);
    TEST_OK(embcl_corpus_encode(v, "", 0, NULL, &c));
    embcl_corpus_get(c, &cv);
    cr_assert_eq(cv.n_sentences, 0);
    cr_assert_eq(cv.offsets[0], 0);
    embcl_corpus_free(c);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_encode(v, "a\nb\0\n", 5, "t.txt", &c), "embcl_corpus_encode",
               "t.txt line 2: NUL byte");
    embcl_vocab_free(v);
}

Test(corpus, labels_line_up_with_sentences)
{
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_build(TEXT("good film\nbad film\nok\n"), NULL, 1, &v));
    embcl_corpus_t c;
    TEST_OK(embcl_corpus_encode(v, TEXT("good film\nbad film\nok\n"), NULL, &c));
    TEST_OK(embcl_corpus_parse_labels(c, TEXT("1\n0\n 2 \n"), "labels.txt"));
    embcl_corpus_view cv;
    embcl_corpus_get(c, &cv);
    cr_assert_eq(cv.labels[0], 1);
    cr_assert_eq(cv.labels[1], 0);
    cr_assert_eq(cv.labels[2], 2);
    cr_assert_eq(cv.n_classes, 3);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_parse_labels(c, TEXT("1\n0\n"), "labels.txt"),
               "embcl_corpus_parse_labels", "labels.txt has 2 label lines but the corpus has 3 sentences");
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_parse_labels(c, TEXT("1\n0\n1\n1\n0\n"), "labels.txt"),
               "5 label lines but the corpus has 3");
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_parse_labels(c, TEXT("1\npos\n1\n"), "labels.txt"),
               "labels.txt line 2: expected one integer label >= 0, found 'pos'");
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_parse_labels(c, TEXT("1\n-1\n1\n"), "labels.txt"), "line 2", "'-1'");
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_parse_labels(c, TEXT("1\n\n1\n"), "labels.txt"), "line 2");
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_parse_labels(c, TEXT("1 2\n0\n1\n"), "labels.txt"), "line 1");
    /* failures left the earlier labels in place */
    embcl_corpus_get(c, &cv);
    cr_assert_eq(cv.labels[2], 2);
    cr_assert_eq(cv.n_classes, 3);
    embcl_corpus_free(c);
    embcl_vocab_free(v);
}

Test(corpus, load_files_build_the_vocabulary)
{
    char *dir = test_tempdir("corpus");
    char *path = io_test_join(dir, "corpus.txt"), *lpath = io_test_join(dir, "labels.txt");
    const char text[] = "the king spoke\nthe queen spoke\nthe end\n";
    io_test_write(path, text, sizeof text - 1);
    io_test_write(lpath, "1\n1\n0\n", 6);
    embcl_vocab_t v;
    embcl_corpus_t c;
    TEST_OK(embcl_corpus_load(path, NULL, 2, &v, &c));
    cr_assert_eq(embcl_vocab_size(v), 4); /* <pad> <unk> the spoke */
    TEST_OK(embcl_corpus_load_labels(c, lpath));
    embcl_corpus_view cv;
    embcl_corpus_get(c, &cv);
    cr_assert_eq(cv.n_sentences, 3);
    cr_assert_eq(cv.tokens[1], EMBCL_VOCAB_UNK);
    cr_assert_eq(cv.n_classes, 2);
    embcl_corpus_t c2;
    embcl_vocab_t none = (embcl_vocab_t)1;
    TEST_OK(embcl_corpus_load(path, v, 1, &none, &c2));
    cr_assert_null(none, "no vocabulary is built when one is given");
    embcl_corpus_view cv2;
    embcl_corpus_get(c2, &cv2);
    cr_assert(memcmp(cv.tokens, cv2.tokens, (size_t)cv.n_tokens * sizeof *cv.tokens) == 0);
    embcl_corpus_free(c2);
    io_test_write(lpath, "1\n1\n", 4);
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_corpus_load_labels(c, lpath), "embcl_corpus_load_labels", "labels.txt has 2",
               "3 sentences");
    char *missing = io_test_join(dir, "missing.txt");
    embcl_vocab_t v2;
    TEST_FAILS(EMBCL_ERR_IO, embcl_corpus_load(missing, NULL, 1, &v2, &c2), "embcl_corpus_load", "missing.txt",
               "No such file");
    cr_assert(v2 == NULL && c2 == NULL);
    TEST_FAILS(EMBCL_ERR_IO, embcl_corpus_load(dir, NULL, 1, &v2, &c2), "not a regular file");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_corpus_load(path, NULL, 0, &v2, &c2), "min_count is 0");
    embcl_corpus_free(c);
    embcl_vocab_free(v);
    free(missing);
    free(path);
    free(lpath);
    free(dir);
}

Test(corpus, from_ids_validates_everything)
{
    int64_t tok[4] = {2, 3, 1, 2}, off[3] = {0, 1, 4}, lab[2] = {0, 1};
    embcl_corpus_t c;
    TEST_OK(embcl_corpus_from_ids(tok, 4, off, 2, lab, 4, &c));
    embcl_corpus_view cv;
    embcl_corpus_get(c, &cv);
    cr_assert_eq(cv.n_classes, 2);
    cr_assert_eq(cv.tokens[3], 2);
    embcl_corpus_free(c);
    tok[2] = 4;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_corpus_from_ids(tok, 4, off, 2, lab, 4, &c), "embcl_corpus_from_ids",
               "tokens[2] = 4 is outside [0, 4)");
    tok[2] = 1;
    off[1] = 5;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_corpus_from_ids(tok, 4, off, 2, lab, 4, &c), "offsets[2] = 4 is below");
    off[1] = 1;
    off[2] = 3;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_corpus_from_ids(tok, 4, off, 2, lab, 4, &c), "run from 0 to n_tokens 4");
    off[2] = 4;
    lab[1] = -1;
    TEST_FAILS(EMBCL_ERR_INDEX_RANGE, embcl_corpus_from_ids(tok, 4, off, 2, lab, 4, &c), "labels[1] = -1");
}

static embcl_status encode_with_labels(const char *buf, size_t len)
{
    embcl_vocab_t v;
    embcl_corpus_t c;
    embcl_status s = embcl_vocab_build(buf, len, NULL, 1, &v);
    if (s != EMBCL_OK)
        return s;
    s = embcl_corpus_encode(v, buf, len, NULL, &c);
    if (s == EMBCL_OK) {
        /* the damaged text doubles as a labels file */
        s = embcl_corpus_parse_labels(c, buf, len, NULL);
        embcl_corpus_free(c);
    }
    embcl_vocab_free(v);
    return s;
}

Test(corpus, damaged_copies_never_crash)
{
    const char good[] = "1\n0 \n 3\n12\nthe cat\n\n7\n";
    int failed;
    io_test_mutate(good, sizeof good - 1, 3000, encode_with_labels, &failed);
    cr_assert_gt(failed, 100);
}
