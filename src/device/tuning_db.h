/* The tuning database: per kernel family, the keys it reads (with the
 * values each may take and the ones `embcl tune` sweeps) and rows of
 * values, each row for a device class, optionally narrowed to a vendor and
 * then to a device. One file per family under src/device/tuning/; the list
 * of families is src/device/tuning/families.c.
 *
 * Lookup (src/device/tuning.c) takes, for a key, the most specific row
 * that names it and matches the device: device row, else vendor row, else
 * the class default, else the op's own fallback. Vendor and device match
 * as case-insensitive substrings of the device's vendor and name strings,
 * so "NVIDIA" covers "NVIDIA Corporation" and "H200" every H200 board;
 * among rows equally specific, the first wins. */
#ifndef EMBCL_SRC_DEVICE_TUNING_DB_H
#define EMBCL_SRC_DEVICE_TUNING_DB_H

#include "embcl/device.h"

#define EMBCL_TUNE_LIST_MAX 8
#define EMBCL_TUNE_ROW_MAX 8

/* A short list of values; n counts them (0: none). */
typedef struct embcl_tune_list {
    long long v[EMBCL_TUNE_LIST_MAX];
    int n;
} embcl_tune_list;

#define EMBCL_TUNE_LIST(...) \
    {{__VA_ARGS__}, (int)(sizeof((long long[]){__VA_ARGS__}) / sizeof(long long))}

typedef struct embcl_tune_key_spec {
    const char *name;     /* "VW": the key is "<family>.VW" */
    long long min, max;   /* valid values; min 0 where 0 switches the key off */
    embcl_tune_list only; /* when not empty, the only valid values */
    embcl_tune_list grid; /* what `embcl tune` tries; empty: not swept */
    const char *doc;
} embcl_tune_key_spec;

typedef struct embcl_tune_kv {
    const char *key; /* short name, as in the family's specs; NULL ends a row */
    long long value;
} embcl_tune_kv;

typedef struct embcl_tune_row {
    embcl_device_type cls; /* the device class the row is for */
    const char *vendor;    /* substring of the vendor; NULL: the class default */
    const char *device;    /* substring of the device name; NULL: every device of the vendor */
    embcl_tune_kv values[EMBCL_TUNE_ROW_MAX];
} embcl_tune_row;

typedef struct embcl_tune_family {
    const char *name; /* "bag_fwd" */
    const char *doc;  /* which kernels read it */
    const embcl_tune_key_spec *keys;
    size_t n_keys;
    const embcl_tune_row *rows;
    size_t n_rows;
} embcl_tune_family;

#define EMBCL_TUNE_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Every family, in the order `embcl tune --show` lists them. */
extern const embcl_tune_family *const embcl_tune_families[];
extern const size_t embcl_tune_n_families;

#endif
