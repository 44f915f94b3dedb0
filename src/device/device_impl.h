/* Private layout of runtimes, devices, buffers and events, shared by the
 * device and tensor layers and by the ops' host code. */
#ifndef EMBCL_SRC_DEVICE_DEVICE_IMPL_H
#define EMBCL_SRC_DEVICE_DEVICE_IMPL_H

#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include "embcl/device.h"

/* A kernel and the limits of its launches, read once when it is created (a
 * query per launch would add OpenCL calls to every step). */
typedef struct embcl_kernel_entry {
    char *name;
    cl_kernel kernel;
    const char *program;  /* the program entry's name, for messages */
    size_t max_wgs;       /* CL_KERNEL_WORK_GROUP_SIZE, at most the device's max_work_group_size */
    cl_ulong local_fixed; /* CL_KERNEL_LOCAL_MEM_SIZE before any __local argument is set */
    cl_ulong local_args;  /* bytes of the __local arguments set last (embcl_kernel_set_args_on) */
} embcl_kernel_entry;

/* One built program: a kernel file compiled with one set of defines. */
typedef struct embcl_program_entry {
    struct embcl_program_entry *next;
    char *name;
    char *defines;
    cl_program program;
    embcl_kernel_entry *kernels;
    size_t n_kernels;
} embcl_program_entry;

/* What the host learnt about integer data while uploading it into a buffer
 * (src/tensor/transfer.c), so index checks need no device work: elements
 * [offset, offset + n) of dtype `dtype` hold values in [min, max], starting
 * with `first`, ending with `last`, non-decreasing if `nondecreasing`. Any
 * device write to the buffer clears `valid` (embcl_tensor_written). */
typedef struct embcl_index_facts {
    int valid;
    int dtype;
    size_t offset, n;
    long long min, max, first, last;
    int nondecreasing;
    /* Which values in [min, max] occur (bit v - min), when that range is
     * small enough to keep a bitmap of (NULL otherwise), and how many
     * distinct values there are: so the deterministic scatter knows how
     * many rows a batch touched without reading it back. Owned by the
     * buffer (freed by embcl_index_facts_clear). */
    unsigned char *seen;
    long long distinct;
    /* Of those, the values that occur more than once (same layout as seen,
     * in the block seen starts) and how many there are: the narrow backward
     * (src/ops/embedding_narrow.c) groups only these positions. */
    unsigned char *dup;
    long long dup_values;
} embcl_index_facts;

/* Drop what the facts hold (the bitmap) and mark them invalid. */
void embcl_index_facts_clear(embcl_index_facts *f);
/* Whether value v occurs, when the facts have a bitmap covering it. */
static inline int embcl_index_facts_has(const embcl_index_facts *f, long long v)
{
    if (v < f->min || v > f->max)
        return 0;
    unsigned long long b = (unsigned long long)(v - f->min);
    return (f->seen[b >> 3] >> (b & 7)) & 1;
}

/* A device buffer, shared by a tensor and its views through refs. */
typedef struct embcl_buffer {
    cl_mem mem;
    size_t size; /* the size class actually allocated */
    int refs;
    struct embcl_device *dev;
    embcl_index_facts facts;
} embcl_buffer;

typedef struct embcl_pool_slot {
    cl_mem mem;
    size_t size;
} embcl_pool_slot;

typedef struct embcl_pool {
    embcl_pool_slot *free_slots;
    size_t n_free;
    size_t cap_free;
    embcl_pool_stats stats;
} embcl_pool;

struct embcl_device {
    struct embcl_runtime *rt;
    size_t index;             /* position in the runtime */
    embcl_device_info info;
    cl_platform_id platform;
    cl_device_id id;
    cl_context ctx;           /* owned by the runtime, shared per platform */
    cl_command_queue queue;   /* in-order */
    embcl_pool pool;
    embcl_program_entry *programs;
    /* The entry of the kernel found last (launches look kernels up by
     * handle, mostly the one whose arguments were just set). */
    embcl_program_entry *last_program;
    size_t last_kernel;
    char base_options[256];   /* defines every program of this device gets */
    size_t max_alloc;         /* runtime option max_alloc_bytes; 0: the device's own
                               * (embcl_device_max_alloc reads both) */
};

typedef struct embcl_tune_override {
    char *key;
    long long value;
} embcl_tune_override;

struct embcl_runtime {
    struct embcl_device *devices;
    size_t n_devices;
    cl_context *contexts;
    size_t n_contexts;
    int profiling;
    char *cache_dir;          /* NULL: disk cache off */
    char *kernel_dir;         /* NULL: embedded sources */
    embcl_tune_override *tune;
    size_t n_tune;
    embcl_log_fn log;
    void *log_user;
    embcl_device_type device_class; /* 0: each device as it reports itself */
    int warned_cache;
    size_t max_alloc;         /* the option max_alloc_bytes (or EMBCL_MAX_ALLOC); 0: none */
    embcl_cache_stats cache_stats;
};

struct embcl_event {
    cl_event ev;
};

/* Turn a failed OpenCL call into a status and a message naming the embcl
 * function, the OpenCL call and the error code's name. */
embcl_status embcl_cl_fail(cl_int err, const char *func, const char *call);

static inline embcl_status embcl_cl_check(cl_int err, const char *func, const char *call)
{
    return err == CL_SUCCESS ? EMBCL_OK : embcl_cl_fail(err, func, call);
}

/* Log through the runtime's callback. */
void embcl_log(struct embcl_runtime *rt, embcl_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Whether embcl takes its GPU (or CPU) code paths on dev: by its
 * device_class, which the runtime's device_class option can set. */
static inline int embcl_dev_is_gpu(const struct embcl_device *dev)
{
    return dev->info.device_class == EMBCL_DEVICE_GPU;
}
static inline int embcl_dev_is_cpu(const struct embcl_device *dev)
{
    return dev->info.device_class == EMBCL_DEVICE_CPU;
}
/* embcl_device_list for a caller holding the process lock
 * (src/device/process_lock.h). */
embcl_status embcl_device_list_unlocked(embcl_device_info **out, size_t *count);

/* The device_class option's value (NULL: "auto") as a type, 0 for "auto";
 * anything else fails naming fn, the value and `origin` (appended, e.g. " (from
 * EMBCL_DEVICE_CLASS)"; NULL for none). src/device/device_class.c */
embcl_status embcl_device_class_parse(const char *cls, const char *fn, const char *origin,
                                      embcl_device_type *out);

/* Fill `info` for one OpenCL device. */
embcl_status embcl_device_query(cl_platform_id platform, cl_device_id id, int pi, int di,
                                embcl_device_info *info);

/* The pool: take a buffer of at least `bytes`, give it back. */
embcl_status embcl_pool_acquire(struct embcl_device *dev, size_t bytes, embcl_buffer **out,
                                const char *func);
/* Ask the OS for huge pages behind a new big buffer of a CPU device
 * (src/device/hugepages.c; tunable "pool.HUGE_MIN_MB"). */
void embcl_pool_advise_huge(struct embcl_device *dev, cl_mem mem, size_t bytes);
void embcl_buffer_retain(embcl_buffer *b);
void embcl_buffer_release(embcl_buffer *b);
void embcl_pool_destroy(struct embcl_device *dev);

#endif
