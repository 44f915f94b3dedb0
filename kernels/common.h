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

#endif
