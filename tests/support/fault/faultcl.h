/* OpenCL fault injection for the reliability tests. faultcl.c defines the
 * OpenCL entry points embcl uses; linked into a test executable they take
 * the place of the ICD loader's for every caller in it (embcl's static
 * library, CLBlast), count calls and forward them to the real ones, except
 * the one armed to fail. Release calls are never failed or counted: a
 * failed release cannot be handled, only leaked. */
#ifndef EMBCL_TEST_FAULTCL_H
#define EMBCL_TEST_FAULTCL_H

#include <CL/cl.h>

/* Count calls from now on; the n-th (1-based) fails with err. n = 0 only counts. */
void faultcl_arm(long n, cl_int err);
/* The same, counting only calls to `function` (e.g. "clBuildProgram"). */
void faultcl_arm_in(const char *function, long n, cl_int err);
/* The same, failing every later call to `function` too (a compiler that
 * stays broken: a retry from source fails as well). */
void faultcl_arm_from(const char *function, long n, cl_int err);
void faultcl_disarm(void);
/* Calls counted since the last arm. */
long faultcl_calls(void);
/* Whether the armed failure has happened, and in which OpenCL function. */
int faultcl_fired(void);
const char *faultcl_fired_in(void);
/* Whether the failed call was made from CLBlast's library (the GEMM of the
 * GPU class, EMBCL_DEVICE_CLASS=gpu) rather than from embcl. */
int faultcl_fired_from_clblast(void);

#endif
