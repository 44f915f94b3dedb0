/* Vocabulary: the id rule (reserved ids, descending count, first
 * occurrence), min-count, lookup both ways, the text file. */
#include <string.h>

#include "io_test.h"

#define TEXT(s) s, sizeof(s) - 1

static embcl_vocab_t build(const char *text, size_t len, int64_t min_count)
{
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_build(text, len, "corpus.txt", min_count, &v));
    return v;
}

static void expect_word(embcl_vocab_t v, int64_t id, const char *word, int64_t count)
{
    cr_assert_str_eq(embcl_vocab_word(v, id), word, "id %lld", (long long)id);
    cr_assert_eq(embcl_vocab_count(v, id), count, "count of '%s'", word);
    cr_assert_eq(embcl_vocab_find(v, word, strlen(word)), id, "find '%s'", word);
}

Test(vocab, ids_by_descending_count_then_first_occurrence)
{
    embcl_vocab_t v = build(TEXT("b a c\n\tc  a d\r\nd e a\n"), 1);
    cr_assert_eq(embcl_vocab_size(v), 7);
    expect_word(v, EMBCL_VOCAB_PAD, "<pad>", 0);
    expect_word(v, EMBCL_VOCAB_UNK, "<unk>", 0);
    expect_word(v, 2, "a", 3);
    expect_word(v, 3, "c", 2); /* c and d tie at 2: c came first */
    expect_word(v, 4, "d", 2);
    expect_word(v, 5, "b", 1); /* b, e tie at 1: b came first */
    expect_word(v, 6, "e", 1);
    cr_assert_eq(embcl_vocab_find(v, "z", 1), -1);
    cr_assert_eq(embcl_vocab_find(v, "ab", 1), 2, "find uses only len bytes");
    cr_assert_eq(embcl_vocab_find(v, "a\0zzzzzzzz", 10), -1, "a NUL inside the key matches nothing");
    cr_assert_null(embcl_vocab_word(v, 7));
    cr_assert_null(embcl_vocab_word(v, -1));
    cr_assert_eq(embcl_vocab_count(v, 99), -1);
    embcl_vocab_free(v);
}

Test(vocab, min_count_sends_rare_words_to_unk)
{
    embcl_vocab_t v = build(TEXT("x x x y y z <unk> w"), 2);
    cr_assert_eq(embcl_vocab_size(v), 4);
    expect_word(v, 2, "x", 3);
    expect_word(v, 3, "y", 2);
    /* z and w fell below min_count; the literal <unk> counts too */
    cr_assert_eq(embcl_vocab_count(v, EMBCL_VOCAB_UNK), 3);
    cr_assert_eq(embcl_vocab_find(v, "z", 1), -1);
    embcl_vocab_free(v);
}

Test(vocab, same_text_gives_same_ids)
{
    /* many words, so the hash table grows several times */
    char text[60000];
    size_t n = 0;
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "w%d%s", (i * 7919) % 1500, i % 13 ? " " : "\n");
    embcl_vocab_t a = build(text, n, 1), b = build(text, n, 1);
    cr_assert_eq(embcl_vocab_size(a), 1502);
    for (int64_t id = 0; id < embcl_vocab_size(a); id++) {
        cr_assert_str_eq(embcl_vocab_word(a, id), embcl_vocab_word(b, id));
        const char *w = embcl_vocab_word(a, id);
        cr_assert_eq(embcl_vocab_find(a, w, strlen(w)), id);
        if (id > 2)
            cr_assert_geq(embcl_vocab_count(a, id - 1), embcl_vocab_count(a, id));
    }
    embcl_vocab_free(a);
    embcl_vocab_free(b);
}

Test(vocab, byte_order_mark_is_not_a_word)
{
    embcl_vocab_t v = build(TEXT("\xef\xbb\xbfhello world\nhello\n"), 1);
    cr_assert_eq(embcl_vocab_size(v), 4);
    expect_word(v, 2, "hello", 2);
    embcl_vocab_free(v);
}

Test(vocab, build_rejects_bad_input)
{
    embcl_vocab_t v;
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_build(TEXT("a"), NULL, 0, &v), "embcl_vocab_build", "min_count is 0");
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_vocab_build("a b\nc\0d\n", 8, "bin.txt", 1, &v), "embcl_vocab_build",
                "bin.txt line 2: NUL byte at column 2");
    TEST_OK(embcl_vocab_build("", 0, NULL, 1, &v));
    cr_assert_eq(embcl_vocab_size(v), 2);
    embcl_vocab_free(v);
}

Test(vocab, add_appends_and_checks)
{
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_create(&v));
    int64_t id = -1;
    TEST_OK(embcl_vocab_add(v, "king", 5, &id));
    cr_assert_eq(id, 2);
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_add(v, "king", 1, NULL), "embcl_vocab_add",
               "'king' is already id 2");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_add(v, "<unk>", 1, NULL), "already id 1");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_add(v, "a b", 1, NULL), "whitespace at position 1");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_add(v, "", 1, NULL), "word is empty");
    TEST_FAILS(EMBCL_ERR_INVALID_ARG, embcl_vocab_add(v, "q", -1, NULL), "count -1");
    cr_assert_eq(embcl_vocab_size(v), 3);
    embcl_vocab_free(v);
}

Test(vocab, save_and_load_round_trip)
{
    embcl_vocab_t v = build(TEXT("the cat sat on the mat <pad>\nthe end"), 1);
    char *dir = test_tempdir("vocab");
    char *path = io_test_join(dir, "vocab.txt");
    TEST_OK(embcl_vocab_save(v, path));
    size_t len;
    char *text = io_test_read(path, &len);
    const char *want = "embcl-vocab 1 8\n<pad> 1\n<unk> 0\nthe 3\ncat 1\nsat 1\n";
    cr_assert(strncmp(text, want, strlen(want)) == 0, "file: %s", text);
    free(text);
    embcl_vocab_t w;
    TEST_OK(embcl_vocab_load(path, &w));
    cr_assert_eq(embcl_vocab_size(w), embcl_vocab_size(v));
    for (int64_t id = 0; id < embcl_vocab_size(v); id++) {
        cr_assert_str_eq(embcl_vocab_word(w, id), embcl_vocab_word(v, id));
        cr_assert_eq(embcl_vocab_count(w, id), embcl_vocab_count(v, id));
    }
    embcl_vocab_free(w);
    char *mem;
    size_t mem_len, file_len;
    TEST_OK(embcl_vocab_serialize(v, &mem, &mem_len));
    char *file = io_test_read(path, &file_len);
    cr_assert(mem_len == file_len && strcmp(mem, file) == 0, "serialize and save write the same text");
    TEST_OK(embcl_vocab_parse(mem, mem_len, "metadata", &w));
    cr_assert_eq(embcl_vocab_size(w), 8);
    embcl_vocab_free(w);
    embcl_io_free(mem);
    free(file);
    embcl_vocab_free(v);
    free(path);
    free(dir);
}

static void expect_parse_error(const char *text, const char *part)
{
    embcl_vocab_t v = (embcl_vocab_t)1;
    TEST_FAILS(EMBCL_ERR_FORMAT, embcl_vocab_parse(text, strlen(text), "v.txt", &v), "embcl_vocab_parse", "v.txt",
               part);
    cr_assert_null(v);
}

Test(vocab, malformed_files_name_the_line)
{
    expect_parse_error("", "v.txt is empty");
    expect_parse_error("embcl-vocab 2 2\n<pad> 0\n<unk> 0\n", "line 1: version 2");
    expect_parse_error("vocab 1 2\n", "line 1: expected 'embcl-vocab 1 SIZE', found 'vocab 1 2'");
    expect_parse_error("embcl-vocab 1 1\n<pad> 0\n", "line 1: size 1");
    expect_parse_error("embcl-vocab 1 3\n<unk> 0\n<pad> 0\na 1\n", "line 2: id 0 must be '<pad>', found '<unk>'");
    expect_parse_error("embcl-vocab 1 3\n<pad> 0\n<unk> 0\na\n", "line 4: expected 'WORD COUNT'");
    expect_parse_error("embcl-vocab 1 3\n<pad> 0\n<unk> 0\na -3\n", "line 4: expected 'WORD COUNT'");
    expect_parse_error("embcl-vocab 1 4\n<pad> 0\n<unk> 0\na 1\na 2\n", "line 5: word 'a' repeats id 2");
    expect_parse_error("embcl-vocab 1 3\n<pad> 0\n<unk> 0\n", "the header gives 3 entries, the file has 2");
    expect_parse_error("embcl-vocab 1 2\n<pad> 0\n<unk> 0\nx 1\n", "line 4: more entries than the 2");
    embcl_vocab_t v;
    TEST_FAILS(EMBCL_ERR_IO, embcl_vocab_load(EMBCL_BINARY_DIR "/no-such-vocab.txt", &v), "embcl_vocab_load",
               "no-such-vocab.txt");
}

static embcl_status parse_vocab(const char *buf, size_t len)
{
    embcl_vocab_t v;
    embcl_status s = embcl_vocab_parse(buf, len, NULL, &v);
    embcl_vocab_free(v);
    return s;
}

static embcl_status build_vocab(const char *buf, size_t len)
{
    embcl_vocab_t v;
    embcl_status s = embcl_vocab_build(buf, len, NULL, 1, &v);
    embcl_vocab_free(v);
    return s;
}

Test(vocab, damaged_copies_never_crash)
{
    const char good[] = "embcl-vocab 1 6\n<pad> 0\n<unk> 4\nthe 10\nking 3\nqueen 3\nman 1\n";
    int failed;
    io_test_mutate(good, sizeof good - 1, 3000, parse_vocab, &failed);
    cr_assert_gt(failed, 1000);
    io_test_mutate(good, sizeof good - 1, 1000, build_vocab, &failed);
}
