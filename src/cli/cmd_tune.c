/* embcl tune: what a device takes from the tuning database (--show), and
 * a sweep of one family's parameters on it. The sweep starts from the
 * values the device takes now (database and EMBCL_TUNE) and goes through
 * the family's keys one at a time, trying each value of the key's grid
 * with the others at the best found so far (--quick: the grid values next
 * to the current one, each from the current values; see sweep), and keeps
 * a value only if it is more than 2% faster: a full grid of every key
 * would be hundreds of kernel builds.
 * Each variant gets its own runtime (its overrides are the runtime's
 * tuning option), runs the family's case once, is checked against the
 * first variant's output and is timed (best of several samples after a
 * calibrating one); the winner is timed again next to the current values. A variant whose output differs beyond tolerance is rejected
 * however fast it is. Output: a JSON line per variant, then the best as a
 * database row to paste and as an EMBCL_TUNE override. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "embcl.h"
#include "tune_cases.h"
#include "tune_show.h"
#include "tune_check.h"

#define MAX_KEYS 16
#define MAX_GRID 32
#define RTOL 1e-5
#define ATOL 1e-6

typedef struct tkey {
    char full[64];        /* "bag_fwd.VW" */
    const char *name;     /* "VW" */
    const long long *grid;
    size_t n_grid;
    int has;              /* a value from the database or EMBCL_TUNE; else the op's own */
    long long value;
} tkey;

typedef struct tuner {
    const tune_case *tc;
    const char *device, *fault;
    int quick, reps;
    tkey keys[MAX_KEYS];
    size_t n_keys;
    embcl_device_info info;
    float *ref;
    size_t n_ref;
    int variants, rejected, failed;
} tuner;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* "fam.K=v,..." for the keys with a value; `key` (if >= 0) set to v. */
static void spec_of(const tuner *t, int key, long long v, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n_keys && n < cap; i++) {
        int mine = (int)i == key;
        if (!mine && !t->keys[i].has)
            continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s=%lld", n ? "," : "", t->keys[i].full,
                              mine ? v : t->keys[i].value);
    }
}

static int has_entry(const char *spec, const char *entry)
{
    size_t l = strlen(entry);
    for (const char *p = spec; (p = strstr(p, entry)) != NULL; p += l)
        if ((p == spec || p[-1] == ',') && (p[l] == '\0' || p[l] == ','))
            return 1;
    return 0;
}

typedef struct result {
    int ok;          /* 1 ran and matched, 0 rejected, -1 failed */
    double ms;
    tune_diff diff;
    char desc[160]; /* the case's sizes */
    char error[512];
} result;

/* One variant: build, run, check, time. The first one that runs becomes
 * the reference. */
static void measure(tuner *t, const char *spec, result *r)
{
    memset(r, 0, sizeof *r);
    r->ok = -1;
    embcl_runtime_t rt = NULL;
    embcl_device_t dev;
    void *ctx = NULL;
    float *out = NULL;
    size_t n = 0;
    embcl_status s = tune_open_device(t->device, spec, &rt, &dev);
    if (s == EMBCL_OK)
        s = t->tc->setup(dev, t->quick, &ctx, r->desc, sizeof r->desc);
    if (s == EMBCL_OK)
        s = t->tc->run(ctx);
    if (s == EMBCL_OK)
        s = embcl_device_finish(dev);
    if (s == EMBCL_OK)
        s = t->tc->output(ctx, &out, &n);
    if (s == EMBCL_OK) {
        if (t->fault && n > 0 && has_entry(spec, t->fault))
            out[n / 2] += 1.0f; /* --fault: what a wrong kernel would give */
        if (!t->ref) {
            t->ref = out;
            t->n_ref = n;
            out = NULL;
            r->ok = 1;
        } else if (n != t->n_ref) {
            r->ok = 0;
            snprintf(r->error, sizeof r->error, "output has %zu values, the reference %zu", n, t->n_ref);
        } else {
            r->ok = tune_outputs_match(t->ref, out, n, RTOL, ATOL, &r->diff);
            if (!r->ok)
                snprintf(r->error, sizeof r->error, "output %zu is %.9g, the reference's %.9g", r->diff.at,
                         (double)r->diff.got, (double)r->diff.want);
        }
    }
    /* Each sample runs the op `inner` times, enough for about 2 ms, so a
     * short kernel is not measured as the cost of one wait. */
    int inner = 1;
    for (int i = -1; s == EMBCL_OK && r->ok == 1 && i < t->reps; i++) {
        double t0 = now_ms();
        for (int j = 0; s == EMBCL_OK && j < inner; j++)
            s = t->tc->run(ctx);
        if (s == EMBCL_OK)
            s = embcl_device_finish(dev);
        double ms = (now_ms() - t0) / inner;
        if (i < 0) {
            inner = ms > 0 ? (int)(2.0 / ms) + 1 : 100;
            inner = inner > 100 ? 100 : inner;
        } else if (i == 0 || ms < r->ms) {
            r->ms = ms;
        }
    }
    if (s != EMBCL_OK) {
        r->ok = -1;
        snprintf(r->error, sizeof r->error, "%s", embcl_last_error());
    }
    free(out);
    if (ctx)
        t->tc->release(ctx);
    embcl_runtime_free(rt);
}

static void print_variant(tuner *t, const char *spec, const result *r, double base_ms)
{
    printf("{\"tune\": \"%s\", \"device\": ", t->tc->family);
    tune_json_str(stdout, t->info.name);
    printf(", \"case\": \"%s\", \"variant\": %d, \"params\": \"%s\", \"status\": \"%s\"", r->desc, t->variants, spec,
           r->ok == 1 ? "ok" : r->ok == 0 ? "rejected" : "failed");
    if (r->ok == 1)
        printf(", \"ms\": %.4f, \"vs_current\": %.3f", r->ms, base_ms > 0 ? base_ms / r->ms : 1.0);
    if (r->ok >= 0)
        printf(", \"max_err\": %.3g", r->diff.max_err * RTOL);
    if (r->error[0]) {
        printf(", \"error\": ");
        tune_json_str(stdout, r->error);
    }
    printf("}\n");
    fflush(stdout);
    t->variants++;
    t->rejected += r->ok == 0;
    t->failed += r->ok < 0;
}

/* The values to try for key k: its grid, or with --quick the grid values
 * on either side of the current one (the grid's ends for a key the op
 * decides). */
static size_t candidates(const tkey *k, int quick, long long *out)
{
    size_t n = 0;
    if (!quick) {
        for (size_t i = 0; i < k->n_grid && n < MAX_GRID; i++)
            out[n++] = k->grid[i];
        return n;
    }
    if (!k->has) { /* the op's own value is unknown here: the grid's ends */
        out[n++] = k->grid[0];
        if (k->n_grid > 1)
            out[n++] = k->grid[k->n_grid - 1];
        return n;
    }
    long long below = -1, above = -1;
    for (size_t i = 0; i < k->n_grid; i++) {
        long long g = k->grid[i];
        if (g < k->value && (below < 0 || g > below))
            below = g;
        if (g > k->value && (above < 0 || g < above))
            above = g;
    }
    if (below >= 0)
        out[n++] = below;
    if (above >= 0)
        out[n++] = above;
    return n;
}

static const char *class_enum(embcl_device_type t)
{
    return t == EMBCL_DEVICE_GPU ? "EMBCL_DEVICE_GPU" : t == EMBCL_DEVICE_CPU ? "EMBCL_DEVICE_CPU"
           : t == EMBCL_DEVICE_ACCELERATOR ? "EMBCL_DEVICE_ACCELERATOR" : "EMBCL_DEVICE_OTHER";
}

static void print_best(const tuner *t, double base_ms, double best_ms)
{
    char spec[1024];
    spec_of(t, -1, 0, spec, sizeof spec);
    printf("{\"tune\": \"%s\", \"best\": \"%s\", \"ms\": %.4f, \"current_ms\": %.4f, \"speedup\": %.3f, "
           "\"variants\": %d, \"rejected\": %d, \"failed\": %d, \"vendor\": ",
           t->tc->family, spec, best_ms, base_ms, base_ms / best_ms, t->variants, t->rejected, t->failed);
    tune_json_str(stdout, t->info.vendor);
    printf(", \"device\": ");
    tune_json_str(stdout, t->info.name);
    printf(", \"class\": \"%s\", \"driver\": ", embcl_device_type_name(t->info.device_class));
    tune_json_str(stdout, t->info.driver_version);
    printf("}\n");
    printf("# %s on '%s' (%s, %s class, driver %s): %.4f ms, %.3fx the current values' %.4f ms\n", t->tc->family,
           t->info.name, t->info.vendor, embcl_device_type_name(t->info.device_class), t->info.driver_version,
           best_ms, base_ms / best_ms, base_ms);
    printf("# row for src/device/tuning/%s.c (vendor, device name, then key=value):\n", t->tc->family);
    printf("    {%s, ", class_enum(t->info.device_class));
    tune_json_str(stdout, t->info.vendor);
    printf(", ");
    tune_json_str(stdout, t->info.name);
    printf(", {");
    int first = 1;
    for (size_t i = 0; i < t->n_keys; i++)
        if (t->keys[i].has) {
            printf("%s{\"%s\", %lld}", first ? "" : ", ", t->keys[i].name, t->keys[i].value);
            first = 0;
        }
    printf("}},\n");
    printf("# as an override:\nEMBCL_TUNE=%s\n", spec);
}

/* The family's swept keys and the values dev takes for them now. */
static int load_keys(tuner *t, embcl_device_t dev)
{
    size_t n = embcl_tune_param_count();
    for (size_t i = 0; i < n; i++) {
        embcl_tune_param p;
        if (embcl_tune_param_get(i, &p) != EMBCL_OK || strcmp(p.family, t->tc->family) != 0 || p.n_grid == 0)
            continue;
        if (t->n_keys == MAX_KEYS)
            break;
        tkey *k = &t->keys[t->n_keys++];
        snprintf(k->full, sizeof k->full, "%s.%s", p.family, p.name);
        k->name = p.name;
        k->grid = p.grid;
        k->n_grid = p.n_grid;
        embcl_tune_value v;
        if (embcl_device_tune_value(dev, k->full, &v) != EMBCL_OK) {
            fprintf(stderr, "embcl tune: %s\n", embcl_last_error());
            return 1;
        }
        k->has = v.source != EMBCL_TUNE_FROM_OP;
        k->value = v.value;
    }
    return 0;
}

static int wanted(const char *keys, const char *name)
{
    if (!keys)
        return 1;
    char buf[256];
    snprintf(buf, sizeof buf, ",%s,", keys);
    char want[80];
    snprintf(want, sizeof want, ",%s,", name);
    return strstr(buf, want) != NULL;
}

/* The full sweep adopts each key's best before the next key (so later
 * keys are tried with it); --quick tries every key from the current
 * values, then the winners together: the same variants on every run, so
 * a second quick run finds its kernels in the cache. */
static int sweep(tuner *t, const char *keys)
{
    char spec[1024];
    result r;
    spec_of(t, -1, 0, spec, sizeof spec);
    measure(t, spec, &r);
    print_variant(t, spec, &r, 0);
    if (r.ok != 1) {
        fprintf(stderr, "embcl tune: the current values fail: %s\n", r.error);
        return 1;
    }
    double base_ms = r.ms, best_ms = r.ms;
    tkey start[MAX_KEYS];
    memcpy(start, t->keys, sizeof start);
    double key_ms[MAX_KEYS];
    long long key_v[MAX_KEYS];
    int n_won = 0, best_single = -1;
    for (size_t k = 0; k < t->n_keys; k++) {
        key_ms[k] = 0;
        if (!wanted(keys, t->keys[k].name))
            continue;
        long long cand[MAX_GRID];
        size_t nc = candidates(&t->keys[k], t->quick, cand);
        double bar = t->quick ? base_ms : best_ms;
        for (size_t c = 0; c < nc; c++) {
            if (t->keys[k].has && cand[c] == t->keys[k].value)
                continue;
            spec_of(t, (int)k, cand[c], spec, sizeof spec);
            measure(t, spec, &r);
            print_variant(t, spec, &r, base_ms);
            if (r.ok == 1 && r.ms < bar * 0.98 && (key_ms[k] == 0 || r.ms < key_ms[k])) {
                key_ms[k] = r.ms;
                key_v[k] = cand[c];
            }
        }
        if (key_ms[k] == 0)
            continue;
        n_won++;
        if (best_single < 0 || key_ms[k] < key_ms[best_single])
            best_single = (int)k;
        if (!t->quick) {
            best_ms = key_ms[k];
            t->keys[k].value = key_v[k];
            t->keys[k].has = 1;
        }
    }
    if (t->quick && n_won > 0) {
        best_ms = key_ms[best_single];
        for (size_t k = 0; k < t->n_keys; k++)
            if (key_ms[k] > 0) {
                t->keys[k].value = key_v[k];
                t->keys[k].has = 1;
            }
        int together = n_won > 1;
        if (together) {
            spec_of(t, -1, 0, spec, sizeof spec);
            measure(t, spec, &r);
            print_variant(t, spec, &r, base_ms);
            together = r.ok == 1 && r.ms < best_ms;
            if (together)
                best_ms = r.ms;
        }
        if (!together) { /* the best single change alone */
            memcpy(t->keys, start, sizeof start);
            t->keys[best_single].value = key_v[best_single];
            t->keys[best_single].has = 1;
        }
    }
    if (memcmp(start, t->keys, sizeof start) != 0) {
        /* Again, the current values and the winner one after the other:
         * the first variant ran alone at the start, and a machine busy
         * then (or at the winner's turn) would pass noise off as a row. */
        tkey chosen[MAX_KEYS];
        memcpy(chosen, t->keys, sizeof chosen);
        memcpy(t->keys, start, sizeof start);
        spec_of(t, -1, 0, spec, sizeof spec);
        measure(t, spec, &r);
        print_variant(t, spec, &r, base_ms);
        if (r.ok == 1 && r.ms < base_ms)
            base_ms = r.ms;
        memcpy(t->keys, chosen, sizeof chosen);
        spec_of(t, -1, 0, spec, sizeof spec);
        measure(t, spec, &r);
        print_variant(t, spec, &r, base_ms);
        if (r.ok == 1 && r.ms < best_ms)
            best_ms = r.ms;
        if (!(best_ms < base_ms * 0.98)) {
            memcpy(t->keys, start, sizeof start);
            best_ms = base_ms;
        }
    }
    print_best(t, base_ms, best_ms);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: embcl tune FAMILY [--quick] [--device SEL] [--keys K1,K2] [--reps N]\n"
               "       embcl tune --show [FAMILY] [--device SEL] [--json]\n"
               "Sweeps FAMILY's tuning parameters on the device, one key at a time from the values it takes\n"
               "now; checks every variant's output against the first's and rejects those that differ; prints\n"
               "a JSON line per variant, then the best as a row for src/device/tuning/FAMILY.c and as an\n"
               "EMBCL_TUNE override.\n"
               "  families    ");
    for (size_t i = 0; i < tune_n_cases; i++)
        fprintf(f, "%s%s", i ? ", " : "", tune_cases[i]->family);
    fprintf(f, "\n"
               "  --quick     smaller case, fewer repeats, only the grid values next to the current one\n"
               "  --device S  device selector as EMBCL_DEVICE (gpu, cpu, P:D, a name)\n"
               "  --keys L    sweep only these keys (e.g. VW,CH)\n"
               "  --reps N    timed runs per variant, best taken (default 10, --quick 3)\n"
               "  --show      every key, the value the device takes and its source (--json: a line each)\n"
               "  --fault K=V testing the checker: variants with override K=V get one output value wrong\n");
}

int embcl_cmd_tune(int argc, char **argv)
{
    tuner t;
    memset(&t, 0, sizeof t);
    const char *family = NULL, *keys = NULL;
    int show_mode = 0, json = 0, reps = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            t.quick = 1;
        } else if (strcmp(a, "--show") == 0) {
            show_mode = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--device") == 0 && more) {
            t.device = argv[++i];
        } else if (strcmp(a, "--keys") == 0 && more) {
            keys = argv[++i];
        } else if (strcmp(a, "--fault") == 0 && more) {
            t.fault = argv[++i];
        } else if (strcmp(a, "--reps") == 0 && more) {
            char *e;
            reps = (int)strtol(argv[++i], &e, 10);
            if (*e || reps < 1 || reps > 1000) {
                fprintf(stderr, "embcl tune: --reps '%s' is not a count in [1, 1000]\n", argv[i]);
                return 2;
            }
        } else if (a[0] != '-' && !family) {
            family = a;
        } else {
            fprintf(stderr, "embcl tune: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (show_mode)
        return tune_show(t.device, family, json);
    if (!family) {
        usage(stderr);
        return 2;
    }
    t.tc = tune_case_for(family);
    if (!t.tc) {
        fprintf(stderr, "embcl tune: no sweep for family '%s' (these have one: ", family);
        for (size_t i = 0; i < tune_n_cases; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", tune_cases[i]->family);
        fprintf(stderr, "; embcl tune --show lists every key)\n");
        return 2;
    }
    t.reps = reps ? reps : t.quick ? 3 : 10;
    embcl_runtime_t rt;
    embcl_device_t dev;
    if (tune_open_device(t.device, NULL, &rt, &dev) != EMBCL_OK || embcl_device_get_info(dev, &t.info) != EMBCL_OK) {
        fprintf(stderr, "embcl tune: %s\n", embcl_last_error());
        return 1;
    }
    int rc = load_keys(&t, dev);
    embcl_runtime_free(rt);
    if (!rc && keys) {
        for (const char *p = keys; *p;) {
            size_t l = strcspn(p, ",");
            int found = 0;
            for (size_t k = 0; k < t.n_keys; k++)
                found |= strlen(t.keys[k].name) == l && strncmp(t.keys[k].name, p, l) == 0;
            if (!found) {
                fprintf(stderr, "embcl tune: --keys: '%.*s' is not a swept key of %s\n", (int)l, p, family);
                return 2;
            }
            p += l + (p[l] == ',');
        }
    }
    if (!rc && t.fault && embcl_tune_check(t.fault) != EMBCL_OK) {
        fprintf(stderr, "embcl tune: --fault: %s\n", embcl_last_error());
        return 2;
    }
    if (!rc)
        rc = sweep(&t, keys);
    free(t.ref);
    return rc;
}
