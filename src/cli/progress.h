/* The training progress display of `embcl train`. */
#ifndef EMBCL_CLI_PROGRESS_H
#define EMBCL_CLI_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int tty, quiet;
    int64_t first, total, tokens_per_step, every;
    double t0, last_draw;
    /* The step and time of the first update: rates count from there, so the
     * first step's kernel builds and pool warm-up stay out of them. */
    int64_t base_step;
    double base_t;
} progress;

/* What a line shows at `step`, `now` (progress_now's clock). */
typedef struct progress_rate {
    int known;            /* 0 until a step after the first has finished */
    double tokens_per_s;  /* over the steps after the first */
    double eta_s;         /* the remaining steps at that pace */
    double elapsed_s;     /* since progress_start, first step included */
} progress_rate;

double progress_now(void);
void progress_start(progress *p, int64_t first, int64_t total, int64_t tokens_per_step, int quiet);
/* Records `step` as done at `now` and returns the rate; the update that
 * calls it first sets the base. Pure but for p: the display's tests feed it
 * made-up times. */
progress_rate progress_observe(progress *p, int64_t step, double now);
void progress_update(progress *p, int64_t step, double lm_loss, double cls_loss);

#endif
