/* Reading reference files written by tests/ref_format.py (PyTorch's
 * results for a set of cases). Any problem fails the running test with the
 * file, line and what was wrong. */
#ifndef EMBCL_TEST_REF_H
#define EMBCL_TEST_REF_H

#include <stdint.h>

#include <embcl.h>

typedef struct ref_tensor {
    char name[64];
    embcl_dtype dtype;
    int ndim;
    int64_t shape[4];
    int64_t numel;
    float *f32;   /* for f32 */
    int64_t *i64; /* for i32 and i64 */
    int32_t *i32; /* for i32 and i64 (values narrowed) */
} ref_tensor;

typedef struct ref_attr {
    char key[64];
    char value[128];
} ref_attr;

typedef struct ref_case {
    char name[128];
    ref_attr *attrs;
    int n_attrs;
    ref_tensor *tensors;
    int n_tensors;
} ref_case;

typedef struct ref_file {
    char path[512];
    ref_case *cases;
    int n_cases;
} ref_file;

/* EMBCL_TEST_DATA_DIR "/" rel, in a static buffer. */
const char *ref_path(const char *rel);
ref_file *ref_load(const char *path);
void ref_free(ref_file *f);
/* NULL if absent. */
const ref_case *ref_case_get(const ref_file *f, const char *name);
const ref_tensor *ref_tensor_get(const ref_case *c, const char *name);
/* Like ref_tensor_get, but fails the test if the tensor is absent. */
const ref_tensor *ref_tensor_need(const ref_case *c, const char *name);
int ref_has_attr(const ref_case *c, const char *key);
/* These fail the test if the attribute is absent or malformed. */
long long ref_attr_int(const ref_case *c, const char *key);
double ref_attr_f(const ref_case *c, const char *key);
const char *ref_attr_str(const ref_case *c, const char *key);

#endif
