/* Replays fuzz_offsets' seed corpus (fuzz/corpus/offsets/) and the inputs
 * it found (tests/data/fuzz/offsets/) through the target itself: any
 * crash, wrong forward value or error that names no argument aborts. */
#include <dirent.h>
#include <stdio.h>

#include "../../fuzz/fuzz_offsets.c"
#include "test_util.h"

static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "cannot open %s", path);
        uint8_t buf[4096];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        n++;
    }
    closedir(d);
    return n;
}

Test(fuzz_offsets, replay_corpus_and_findings)
{
    int n = replay_dir(EMBCL_TEST_DATA_DIR "/../../fuzz/corpus/offsets");
    n += replay_dir(EMBCL_TEST_DATA_DIR "/fuzz/offsets");
    cr_assert_gt(n, 5);
    embcl_runtime_free(rt);
    rt = NULL;
}
