/* Launching kernels/graph.cl: argument lists built operand by operand. */
#ifndef EMBCL_SRC_GRAPH_GRAPH_KERNELS_H
#define EMBCL_SRC_GRAPH_GRAPH_KERNELS_H

#include "device/program.h"
#include "tensor/tensor_impl.h"

#define GK_MAX_ARGS 24

typedef struct gk_args {
    embcl_karg a[GK_MAX_ARGS];
    cl_ulong u[GK_MAX_ARGS];
    cl_int i[GK_MAX_ARGS];
    cl_float f[GK_MAX_ARGS];
    size_t n;
} gk_args;

/* A matrix operand: its buffer, element offset and row stride. */
void gk_mat(gk_args *a, const struct embcl_tensor *t);
void gk_ulong(gk_args *a, uint64_t v);
void gk_int(gk_args *a, int v);
void gk_float(gk_args *a, float v);

/* Run kernel `kname` of kernels/graph.cl over rows x cols (2-D launch), or
 * over cols only (rows 0: 1-D launch), or as one work-group (one_group). */
embcl_status gk_run(struct embcl_device *dev, const char *kname, gk_args *a, size_t rows, size_t cols);
embcl_status gk_run_1d(struct embcl_device *dev, const char *kname, gk_args *a, size_t n);
embcl_status gk_run_group(struct embcl_device *dev, const char *kname, gk_args *a);

/* y := (acc ? y : 0) + alpha * x, same rows and columns. */
embcl_status gk_axpy(struct embcl_tensor *y, const struct embcl_tensor *x, float alpha, int acc);

#endif
