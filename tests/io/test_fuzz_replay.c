/* Replays what the io fuzz targets (fuzz/fuzz_<target>.c) found, kept in
 * tests/data/fuzz/<target>/, plus their seed corpora: every input must give
 * OK or EMBCL_ERR_FORMAT, with no crash or leak (the sanitizer build checks
 * the rest). */
#include <dirent.h>
#include <string.h>

#include "io/json.h"
#include "io_test.h"

static embcl_status run_vocab(const char *b, size_t n)
{
    embcl_vocab_t v;
    embcl_status s = embcl_vocab_parse(b, n, NULL, &v);
    embcl_vocab_free(v);
    return s;
}

static embcl_status run_corpus(const char *b, size_t n)
{
    embcl_vocab_t v;
    embcl_corpus_t c;
    embcl_status s = embcl_vocab_build(b, n, NULL, 2, &v);
    if (s == EMBCL_OK && (s = embcl_corpus_encode(v, b, n, NULL, &c)) == EMBCL_OK) {
        s = embcl_corpus_parse_labels(c, b, n, NULL);
        embcl_corpus_free(c);
    }
    embcl_vocab_free(v);
    return s;
}

static embcl_status run_pretrained(const char *b, size_t n)
{
    static const char words[] = "king queen man woman the of 1 2 3 <unk>";
    embcl_vocab_t v;
    TEST_OK(embcl_vocab_build(words, strlen(words), NULL, 1, &v));
    float *m = NULL;
    embcl_status s = embcl_pretrained_parse(b, n, NULL, v, NULL, &m, NULL);
    embcl_io_free(m);
    embcl_vocab_free(v);
    return s;
}

static embcl_status run_safetensors(const char *b, size_t n)
{
    embcl_safetensors_t st;
    embcl_status s = embcl_safetensors_parse(b, n, NULL, &st);
    embcl_safetensors_close(st);
    return s;
}

static embcl_status run_json(const char *b, size_t n)
{
    json_value v;
    embcl_status s = json_parse(b, n, "replay", "json", &v);
    json_free(&v);
    return s;
}

static const struct {
    const char *target;
    io_test_parse_fn run;
} targets[] = {{"vocab", run_vocab},
               {"corpus", run_corpus},
               {"pretrained", run_pretrained},
               {"safetensors", run_safetensors},
               {"json", run_json}};

static int replay_dir(const char *dir, io_test_parse_fn run)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char *path = io_test_join(dir, e->d_name);
        size_t len;
        char *buf = io_test_read(path, &len);
        char *exact = malloc(len ? len : 1); /* no NUL after it: overreads show under ASan */
        memcpy(exact, buf, len);
        embcl_status s = run(exact, len);
        cr_assert(s == EMBCL_OK || s == EMBCL_ERR_FORMAT, "%s gave %s: %s", path, embcl_status_str(s),
                  embcl_last_error());
        free(exact);
        free(buf);
        free(path);
        n++;
    }
    closedir(d);
    return n;
}

Test(fuzz_replay, io_targets_found_inputs_and_seeds)
{
    char dir[4096];
    int seeds = 0;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        snprintf(dir, sizeof dir, "%s/fuzz/%s", EMBCL_TEST_DATA_DIR, targets[i].target);
        replay_dir(dir, targets[i].run);
        snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", EMBCL_SOURCE_DIR, targets[i].target);
        int n = replay_dir(dir, targets[i].run);
        cr_assert_gt(n, 0, "no seeds in %s", dir);
        seeds += n;
    }
    cr_assert_geq(seeds, 5);
}
