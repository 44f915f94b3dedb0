/* A progress display: a bar redrawn in place on a terminal, plain lines
 * (about every 5 % of the run) otherwise. Tokens/s and the ETA count from
 * the end of the run's first step: that step builds the kernels (seconds on
 * a cold cache), and counted in, it made the first lines show a fraction of
 * the real rate and an ETA several times too long. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, int64_t first, int64_t total, int64_t tokens_per_step, int quiet)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(fileno(stdout));
    p->first = first;
    p->total = total;
    p->tokens_per_step = tokens_per_step;
    p->t0 = progress_now();
    p->quiet = quiet;
    p->base_step = -1;
    int64_t every = (total - first) / 20;
    p->every = every < 1 ? 1 : every;
}

static void fmt_time(double s, char *buf, size_t cap)
{
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%d:%02d", t / 60, t % 60);
}

progress_rate progress_observe(progress *p, int64_t step, double now)
{
    if (p->base_step < 0) {
        p->base_step = step;
        p->base_t = now;
    }
    progress_rate r = {0, 0.0, 0.0, now - p->t0};
    double done = (double)(step - p->base_step), el = now - p->base_t;
    if (done > 0 && el > 0) {
        r.known = 1;
        r.tokens_per_s = done * (double)p->tokens_per_step / el;
        r.eta_s = el / done * (double)(p->total - step);
    }
    return r;
}

void progress_update(progress *p, int64_t step, double lm_loss, double cls_loss)
{
    if (p->quiet)
        return;
    double now = progress_now();
    progress_rate r = progress_observe(p, step, now);
    char eta_s[32], el_s[32], tps_s[32];
    if (r.known) {
        fmt_time(r.eta_s, eta_s, sizeof eta_s);
        snprintf(tps_s, sizeof tps_s, "%.0f", r.tokens_per_s);
    } else { /* one step done: its time is mostly kernel builds */
        snprintf(eta_s, sizeof eta_s, "-");
        snprintf(tps_s, sizeof tps_s, "-");
    }
    fmt_time(r.elapsed_s, el_s, sizeof el_s);
    if (p->tty) {
        if (step != p->total && now - p->last_draw < 0.1)
            return;
        p->last_draw = now;
        int width = 30, fill = p->total > 0 ? (int)(width * step / p->total) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[width] = '\0';
        printf("\r[%s] step %lld/%lld  loss %.3f  cls %.3f  %s tok/s  ETA %s ", bar, (long long)step,
               (long long)p->total, lm_loss, cls_loss, tps_s, eta_s);
        if (step == p->total)
            printf("\n");
        fflush(stdout);
    } else if ((step - p->first) % p->every == 0 || step == p->total) {
        printf("step %lld/%lld  loss %.4f  cls %.4f  %s tok/s  elapsed %s  ETA %s\n", (long long)step,
               (long long)p->total, lm_loss, cls_loss, tps_s, el_s, eta_s);
        fflush(stdout);
    }
}
