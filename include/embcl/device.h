/* embcl devices: enumeration, selection, the runtime that owns contexts,
 * queues, buffer pools and the kernel cache, and events.
 *
 * Ownership: embcl_runtime_create() gives a runtime the caller frees with
 * embcl_runtime_free(). Devices returned by embcl_runtime_device() belong to
 * the runtime. Tensors, events and everything made on a device must be freed
 * before the runtime. A runtime and what it owns are used by one thread at a
 * time; separate runtimes are independent and may be created, used and freed
 * from several threads at once (embcl orders, with a process-wide lock, the
 * calls into PoCL's enumeration and CLBlast's first use that are not safe to
 * overlap). embcl_device_list may likewise be called from any thread.
 *
 * Launch limits: a kernel launch over the kernel's work-group limit, a
 * device's per-dimension limit (max_work_item_sizes) or its local memory
 * fails with EMBCL_ERR_LAUNCH_LIMIT before it is enqueued; ops fit their
 * group sizes to these limits. Tuning key device.MAX_WGS lowers them.
 *
 * Selectors (the `device` option or EMBCL_DEVICE), comma-separated for several:
 *   "gpu", "cpu", "accelerator"  every device of that type (first platform that has one)
 *   "P:D"                        platform P, device D (0-based, as `embcl devices` lists)
 *   "P"                          every device of platform P
 *   anything else                devices whose name or platform name contains it
 *                                (case-insensitive)
 * With no selector: the first GPU if there is one, else the first device.
 */
#ifndef EMBCL_DEVICE_H
#define EMBCL_DEVICE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_runtime *embcl_runtime_t;
typedef struct embcl_device *embcl_device_t;
typedef struct embcl_event *embcl_event_t;

typedef enum embcl_device_type {
    EMBCL_DEVICE_CPU = 1,
    EMBCL_DEVICE_GPU = 2,
    EMBCL_DEVICE_ACCELERATOR = 4,
    EMBCL_DEVICE_OTHER = 8
} embcl_device_type;

EMBCL_API const char *embcl_device_type_name(embcl_device_type type);

/* Plain data describing one OpenCL device. */
typedef struct embcl_device_info {
    int platform_index;
    int device_index;            /* within its platform */
    char platform_name[128];
    char platform_version[128];
    char name[128];
    char vendor[128];
    char driver_version[128];
    char device_version[128];    /* "OpenCL 3.0 ..." */
    char opencl_c_version[64];   /* "OpenCL C 1.2 ..." */
    embcl_device_type type;      /* what the device reports */
    /* The type whose code paths embcl takes on this device (base defines,
     * tuning rows, launch shapes, placement, the scatter `embcl train`
     * picks): `type`, unless the runtime's device_class option (or
     * EMBCL_DEVICE_CLASS) says otherwise; limits such as work-group size and
     * local memory stay the hardware's. embcl_device_list() gives `type`;
     * embcl_device_class_apply() what a runtime would give. */
    embcl_device_type device_class;
    uint32_t compute_units;
    uint32_t max_clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    uint32_t preferred_vector_width_float;
    int has_fp16;
    int has_fp64;
    int has_int64_atomics;       /* cl_khr_int64_base_atomics */
    int has_int32_atomics;       /* global int32 base atomics (all OpenCL 1.1+) */
    int has_command_buffers;     /* cl_khr_command_buffer */
    size_t max_work_item_sizes[3]; /* CL_DEVICE_MAX_WORK_ITEM_SIZES: a work-group's extent per dimension */
} embcl_device_info;

/* Every device of every platform. *out is an array the caller frees with
 * embcl_device_list_free(). No platform at all gives EMBCL_OK with *count 0. */
EMBCL_API embcl_status embcl_device_list(embcl_device_info **out, size_t *count);
EMBCL_API void embcl_device_list_free(embcl_device_info *list);

/* Which of `list` a selector picks: writes up to `cap` indices into `picked`
 * and the number picked into *n_picked. A selector that matches nothing gives
 * EMBCL_ERR_NO_DEVICE, naming the selector and listing the devices there are. */
EMBCL_API embcl_status embcl_device_select(const char *selector, const embcl_device_info *list,
                                           size_t count, size_t *picked, size_t cap,
                                           size_t *n_picked);

/* Sets device_class in each of list[0..count) as a runtime whose
 * device_class option is `device_class` would: "gpu" or "cpu" that type for
 * every device, NULL or "auto" each device's own type. For tools that list
 * devices without a runtime (`embcl devices`, passing EMBCL_DEVICE_CLASS);
 * reads no environment itself. Another value gives EMBCL_ERR_INVALID_ARG
 * and leaves list unchanged. */
EMBCL_API embcl_status embcl_device_class_apply(const char *device_class, embcl_device_info *list,
                                                size_t count);

typedef enum embcl_log_level { EMBCL_LOG_DEBUG = 0, EMBCL_LOG_INFO, EMBCL_LOG_WARN } embcl_log_level;
typedef void (*embcl_log_fn)(void *user, embcl_log_level level, const char *message);

typedef struct embcl_runtime_options {
    const char *device;      /* selector; NULL: EMBCL_DEVICE, else the default */
    int profiling;           /* queues record timestamps (events give times) */
    int disk_cache;          /* 1 on, 0 off, -1: EMBCL_CACHE (on unless "0") */
    const char *cache_dir;   /* NULL: EMBCL_CACHE_DIR, $XDG_CACHE_HOME/embcl, ~/.cache/embcl */
    const char *kernel_dir;  /* NULL: EMBCL_KERNEL_DIR, else the embedded sources */
    const char *tuning;      /* "family.KEY=value,..." overriding the tuning database
                              * (embcl/tuning.h); NULL: EMBCL_TUNE */
    embcl_log_fn log;        /* warnings and notes; NULL: print warnings to stderr */
    void *log_user;
    int context_per_device;  /* 1: each device its own OpenCL context, as devices of different
                              * platforms have (copies between them go through the host); 0:
                              * one context per platform, the default */
    const char *device_class; /* "gpu" or "cpu": treat every selected device as one of that type
                               * (device_class in its info), so a CPU runs every GPU code path;
                               * "auto": each device as it reports itself. NULL:
                               * EMBCL_DEVICE_CLASS, else "auto" */
    size_t max_alloc_bytes;  /* the most bytes one buffer may take; 0: EMBCL_MAX_ALLOC, else the
                              * device's CL_DEVICE_MAX_MEM_ALLOC_SIZE. A tensor larger than this
                              * (with more than one row) is split by rows over up to 8 buffers,
                              * transparently to the ops that take tables; the others refuse
                              * split tensors by name. Lowering it tests the split paths. */
} embcl_runtime_options;

/* Defaults: every field NULL/0 except disk_cache = -1. */
EMBCL_API embcl_runtime_options embcl_runtime_options_default(void);

/* Ask PoCL's CPU device to pin its worker threads, thread i to CPU i
 * (PoCL's POCL_AFFINITY=1), for a program that calls it before its first
 * OpenCL call: PoCL reads its environment once. Unpinned, the two workers
 * of a 2-core VM were often scheduled onto one core, so a short kernel ran
 * on one (bag_fwd at D = 16 took 0.18-0.31 ms a call, pinned 0.17-0.21).
 * Nothing is changed where POCL_AFFINITY is already set (the user's
 * choice), or where the process may not run on every online CPU (PoCL pins
 * by index, ignoring the allowed set: under taskset a worker would be sent
 * to a CPU it may not use). *applied (may be NULL): 1 if it set the
 * variable. Changes the process environment (setenv): not thread-safe;
 * the embcl tool and bench/ programs call it first thing. Other OpenCL
 * platforms ignore the variable. */
EMBCL_API embcl_status embcl_pocl_pin_threads(int *applied);

/* opts may be NULL for the defaults. */
EMBCL_API embcl_status embcl_runtime_create(const embcl_runtime_options *opts, embcl_runtime_t *out);
EMBCL_API void embcl_runtime_free(embcl_runtime_t rt);

EMBCL_API embcl_status embcl_runtime_device_count(embcl_runtime_t rt, size_t *count);
EMBCL_API embcl_status embcl_runtime_device(embcl_runtime_t rt, size_t i, embcl_device_t *out);

/* Wait for every queue of the runtime. */
EMBCL_API embcl_status embcl_runtime_finish(embcl_runtime_t rt);

/* Kernel-cache counters for this runtime. */
typedef struct embcl_cache_stats {
    uint64_t programs_built;     /* compiled from source */
    uint64_t disk_hits;          /* loaded from the disk cache */
    uint64_t disk_writes;        /* binaries written to the disk cache */
    uint64_t disk_rejects;       /* entries found corrupt or stale and rebuilt */
    double build_ms;             /* time spent compiling or loading programs */
} embcl_cache_stats;
EMBCL_API embcl_status embcl_runtime_cache_stats(embcl_runtime_t rt, embcl_cache_stats *out);
/* The cache directory in use, or NULL when the disk cache is off. */
EMBCL_API const char *embcl_runtime_cache_dir(embcl_runtime_t rt);

EMBCL_API embcl_status embcl_device_get_info(embcl_device_t dev, embcl_device_info *out);
EMBCL_API embcl_status embcl_device_finish(embcl_device_t dev);

/* Buffer-pool statistics. A steady training step shows cl_allocs unchanged. */
typedef struct embcl_pool_stats {
    uint64_t cl_allocs;          /* buffers created with clCreateBuffer */
    uint64_t cl_frees;           /* buffers released to OpenCL */
    uint64_t hits;               /* requests served from the pool */
    uint64_t misses;             /* requests that needed a new buffer */
    uint64_t bytes_in_use;       /* held by live tensors (size classes) */
    uint64_t bytes_cached;       /* free in the pool */
    uint64_t peak_bytes_in_use;
} embcl_pool_stats;
EMBCL_API embcl_status embcl_device_pool_stats(embcl_device_t dev, embcl_pool_stats *out);
/* Release every free pooled buffer to OpenCL. */
EMBCL_API embcl_status embcl_device_pool_trim(embcl_device_t dev);

/* An event marks a point in a device's queue. */
EMBCL_API embcl_status embcl_device_marker(embcl_device_t dev, embcl_event_t *out);
EMBCL_API embcl_status embcl_event_wait(embcl_event_t ev);
/* Milliseconds between two events' completion (needs options.profiling). */
EMBCL_API embcl_status embcl_event_elapsed_ms(embcl_event_t start, embcl_event_t end, double *ms);
EMBCL_API void embcl_event_free(embcl_event_t ev);

#ifdef __cplusplus
}
#endif
#endif
