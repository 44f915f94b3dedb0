/* The training progress display of `embcl train`. */
#ifndef EMBCL_CLI_PROGRESS_H
#define EMBCL_CLI_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int tty, quiet;
    int64_t first, total, tokens_per_step, every;
    double t0, last_draw;
} progress;

double progress_now(void);
void progress_start(progress *p, int64_t first, int64_t total, int64_t tokens_per_step, int quiet);
void progress_update(progress *p, int64_t step, double lm_loss, double cls_loss);

#endif
