/* Options of `embcl train` and what they fill. */
#ifndef EMBCL_CLI_TRAIN_ARGS_H
#define EMBCL_CLI_TRAIN_ARGS_H

#include <stdint.h>

#include "embcl.h"

typedef struct train_args {
    embcl_train_config cfg;
    const char *corpus, *labels, *pretrained, *log_csv, *save, *resume, *device;
    int64_t min_count, sentences, checkpoint_every;
    int topics, topic_words;
    int json, quiet, freeze;
} train_args;

/* Parse argv into a (whose fields hold the defaults on entry); returns 0,
 * 1 after --help (printed), or 2 on a usage error (printed to stderr). */
int train_args_parse(int argc, char **argv, train_args *a);
/* Only the --resume value (NULL if absent), before the full parse. */
const char *train_args_resume(int argc, char **argv);
void train_args_defaults(train_args *a);

#endif
