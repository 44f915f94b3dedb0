/* embcl tune: what each family's variants run. A case builds its inputs
 * on a device (the same inputs on every device and variant: fixed seeds),
 * runs the op, and copies to the host what the variants must agree on. */
#ifndef EMBCL_CLI_TUNE_CASES_H
#define EMBCL_CLI_TUNE_CASES_H

#include <stddef.h>

#include "embcl.h"

typedef struct tune_case {
    const char *family; /* the tuning family it sweeps */
    const char *what;   /* the op it times */
    /* Inputs on dev; *ctx for the others; desc gets the sizes ("V=..,D=.."). */
    embcl_status (*setup)(embcl_device_t dev, int quick, void **ctx, char *desc, size_t cap);
    embcl_status (*run)(void *ctx);
    /* What is checked, as floats (ids converted exactly), malloc'd. */
    embcl_status (*output)(void *ctx, float **out, size_t *n);
    void (*release)(void *ctx);
} tune_case;

/* The case for a family, or NULL; tune_case_list names them all. */
const tune_case *tune_case_for(const char *family);
extern const tune_case *const tune_cases[];
extern const size_t tune_n_cases;

#endif
