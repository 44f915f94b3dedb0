/* Shared by every embcl kernel file. Host code passes tunables as -D
 * defines; the device type arrives as EMBCL_CPU / EMBCL_GPU. */
#ifndef EMBCL_KERNELS_COMMON_H
#define EMBCL_KERNELS_COMMON_H

#ifndef EMBCL_CPU
#define EMBCL_CPU 0
#endif
#ifndef EMBCL_GPU
#define EMBCL_GPU 0
#endif

#define EMBCL_CAT_(a, b) a##b
#define EMBCL_CAT(a, b) EMBCL_CAT_(a, b)

/* Tables split by rows over several buffers (src/tensor/parts.c). A kernel
 * parameter SPLIT_PARAM(Q, w) is one pointer `Q float *w` in the default
 * build; built with -DPARTS=8 (the host's EMBCL_MAX_PARTS) it is eight,
 * w0 .. w7, and w_rows, the rows of each part. SPLIT_ROW(w, r, ld) is the
 * start of row r (plus the tensor's offset, common to every part): with
 * PARTS 1 exactly the pointer arithmetic of an unsplit table, so its
 * kernels compile to what they were. */
#ifndef PARTS
#define PARTS 1
#endif
#if PARTS == 1
#define SPLIT_PARAM_T(Q, T, w) Q T *w
#define SPLIT_ROW(w, r, ld) ((w) + (ulong)(r) * (ld))
#define SPLIT_PASS(w) w
#else
#define SPLIT_PARAM_T(Q, T, w) \
    Q T *w##0, Q T *w##1, Q T *w##2, Q T *w##3, Q T *w##4, Q T *w##5, Q T *w##6, Q T *w##7, ulong w##_rows
#define SPLIT_PICK(w, q)                                                                                      \
    ((q) == 0 ? w##0 : (q) == 1 ? w##1 : (q) == 2 ? w##2 : (q) == 3 ? w##3 : (q) == 4 ? w##4 : (q) == 5 ? w##5 \
     : (q) == 6 ? w##6 : w##7)
#define SPLIT_ROW(w, r, ld) \
    (SPLIT_PICK(w, (ulong)(r) / w##_rows) + ((ulong)(r) % w##_rows) * (ld))
#define SPLIT_PASS(w) w##0, w##1, w##2, w##3, w##4, w##5, w##6, w##7, w##_rows
#endif
/* SPLIT_PARAM_T for an element type other than float: a bf16 table's
 * TABLE_T (kernels/bf16.h) */
#define SPLIT_PARAM(Q, w) SPLIT_PARAM_T(Q, float, w)

/* *p += v for a float in global memory. OpenCL 1.2 has no float atomics
 * (nor does PoCL), so this retries a compare-and-swap on the float's bits
 * until no other work-item wrote in between. */
static inline void embcl_atomic_add_f(volatile __global float *p, float v)
{
    union {
        uint u;
        float f;
    } old, upd;
    do {
        old.f = *p;
        upd.f = old.f + v;
    } while (atomic_cmpxchg((volatile __global uint *)p, old.u, upd.u) != old.u);
}

#endif
