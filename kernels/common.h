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
