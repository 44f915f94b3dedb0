#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultcl.h"

static long armed_at, calls;
static cl_int armed_err;
static int fired;
static const char *fired_in = "";
static int fired_from_clblast; /* the failed call was made by CLBlast's library */
static const char *only_in; /* count only this function's calls (NULL: all) */
static int sticky;          /* fail every counted call from armed_at on */

void faultcl_arm(long n, cl_int err)
{
    armed_at = n;
    armed_err = err;
    only_in = NULL;
    sticky = 0;
    calls = 0;
    fired = 0;
    fired_in = "";
    fired_from_clblast = 0;
}

void faultcl_arm_in(const char *function, long n, cl_int err)
{
    faultcl_arm(n, err);
    only_in = function;
}

void faultcl_arm_from(const char *function, long n, cl_int err)
{
    faultcl_arm_in(function, n, err);
    sticky = 1;
}

void faultcl_disarm(void)
{
    armed_at = 0;
}

long faultcl_calls(void)
{
    return calls;
}

int faultcl_fired(void)
{
    return fired;
}

const char *faultcl_fired_in(void)
{
    return fired_in;
}

int faultcl_fired_from_clblast(void)
{
    return fired_from_clblast;
}

/* Whether code at `caller` belongs to a library whose file name names CLBlast. */
static int in_clblast(void *caller)
{
    Dl_info di;
    return caller && dladdr(caller, &di) && di.dli_fname && strstr(di.dli_fname, "clblast") != NULL;
}

/* Count this call (made from `caller`); true if it is the one to fail. */
static int should_fail(const char *name, void *caller)
{
    if (only_in && strcmp(only_in, name) != 0)
        return 0;
    calls++;
    if (armed_at > 0 && (calls == armed_at || (sticky && calls > armed_at))) {
        if (!fired) {
            fired_in = name;
            fired_from_clblast = in_clblast(caller);
        }
        fired = 1;
        return 1;
    }
    return 0;
}

static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "faultcl: no real %s\n", name);
        abort();
    }
    return f;
}

/* A function returning cl_int. */
#define WRAP_STATUS(name, params, args)                     \
    cl_int name params                                      \
    {                                                       \
        static cl_int(*fn) params;                          \
        if (should_fail(#name, __builtin_return_address(0)))                             \
            return armed_err;                               \
        if (!fn)                                            \
            *(void **)&fn = real(#name);                    \
        return fn args;                                     \
    }

/* A function returning an object and reporting through errcode_ret. */
#define WRAP_CREATE(type, name, params, args)               \
    type name params                                        \
    {                                                       \
        static type(*fn) params;                            \
        if (should_fail(#name, __builtin_return_address(0))) {                           \
            if (errcode_ret)                                \
                *errcode_ret = armed_err;                   \
            return NULL;                                    \
        }                                                   \
        if (!fn)                                            \
            *(void **)&fn = real(#name);                    \
        return fn args;                                     \
    }

WRAP_STATUS(clGetPlatformIDs, (cl_uint n, cl_platform_id *p, cl_uint *np), (n, p, np))
WRAP_STATUS(clGetPlatformInfo, (cl_platform_id p, cl_platform_info i, size_t s, void *v, size_t *r), (p, i, s, v, r))
WRAP_STATUS(clGetDeviceIDs, (cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *nd),
            (p, t, n, d, nd))
WRAP_STATUS(clGetDeviceInfo, (cl_device_id d, cl_device_info i, size_t s, void *v, size_t *r), (d, i, s, v, r))
WRAP_CREATE(cl_context, clCreateContext,
            (const cl_context_properties *p, cl_uint n, const cl_device_id *d,
             void(CL_CALLBACK *cb)(const char *, const void *, size_t, void *), void *u, cl_int *errcode_ret),
            (p, n, d, cb, u, errcode_ret))
WRAP_CREATE(cl_command_queue, clCreateCommandQueue,
            (cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *errcode_ret),
            (c, d, p, errcode_ret))
WRAP_CREATE(cl_mem, clCreateBuffer, (cl_context c, cl_mem_flags f, size_t s, void *h, cl_int *errcode_ret),
            (c, f, s, h, errcode_ret))
WRAP_CREATE(cl_program, clCreateProgramWithSource,
            (cl_context c, cl_uint n, const char **s, const size_t *l, cl_int *errcode_ret),
            (c, n, s, l, errcode_ret))
WRAP_CREATE(cl_program, clCreateProgramWithBinary,
            (cl_context c, cl_uint n, const cl_device_id *d, const size_t *l, const unsigned char **b, cl_int *st,
             cl_int *errcode_ret),
            (c, n, d, l, b, st, errcode_ret))
WRAP_STATUS(clBuildProgram,
            (cl_program p, cl_uint n, const cl_device_id *d, const char *o,
             void(CL_CALLBACK *cb)(cl_program, void *), void *u),
            (p, n, d, o, cb, u))
WRAP_STATUS(clGetProgramInfo, (cl_program p, cl_program_info i, size_t s, void *v, size_t *r), (p, i, s, v, r))
WRAP_STATUS(clGetProgramBuildInfo,
            (cl_program p, cl_device_id d, cl_program_build_info i, size_t s, void *v, size_t *r),
            (p, d, i, s, v, r))
WRAP_CREATE(cl_kernel, clCreateKernel, (cl_program p, const char *n, cl_int *errcode_ret), (p, n, errcode_ret))
WRAP_STATUS(clSetKernelArg, (cl_kernel k, cl_uint i, size_t s, const void *v), (k, i, s, v))
WRAP_STATUS(clEnqueueNDRangeKernel,
            (cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o, const size_t *g, const size_t *l,
             cl_uint n, const cl_event *w, cl_event *e),
            (q, k, d, o, g, l, n, w, e))
WRAP_STATUS(clEnqueueWriteBuffer,
            (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, const void *p, cl_uint n,
             const cl_event *w, cl_event *e),
            (q, m, b, o, s, p, n, w, e))
WRAP_STATUS(clEnqueueReadBuffer,
            (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, void *p, cl_uint n, const cl_event *w,
             cl_event *e),
            (q, m, b, o, s, p, n, w, e))
WRAP_STATUS(clEnqueueWriteBufferRect,
            (cl_command_queue q, cl_mem m, cl_bool b, const size_t *bo, const size_t *ho, const size_t *r,
             size_t brp, size_t bsp, size_t hrp, size_t hsp, const void *p, cl_uint n, const cl_event *w,
             cl_event *e),
            (q, m, b, bo, ho, r, brp, bsp, hrp, hsp, p, n, w, e))
WRAP_STATUS(clEnqueueReadBufferRect,
            (cl_command_queue q, cl_mem m, cl_bool b, const size_t *bo, const size_t *ho, const size_t *r,
             size_t brp, size_t bsp, size_t hrp, size_t hsp, void *p, cl_uint n, const cl_event *w, cl_event *e),
            (q, m, b, bo, ho, r, brp, bsp, hrp, hsp, p, n, w, e))
WRAP_STATUS(clEnqueueCopyBuffer,
            (cl_command_queue q, cl_mem s, cl_mem d, size_t so, size_t dof, size_t sz, cl_uint n,
             const cl_event *w, cl_event *e),
            (q, s, d, so, dof, sz, n, w, e))
WRAP_STATUS(clEnqueueCopyBufferRect,
            (cl_command_queue q, cl_mem s, cl_mem d, const size_t *so, const size_t *dof, const size_t *r,
             size_t srp, size_t ssp, size_t drp, size_t dsp, cl_uint n, const cl_event *w, cl_event *e),
            (q, s, d, so, dof, r, srp, ssp, drp, dsp, n, w, e))
WRAP_STATUS(clEnqueueFillBuffer,
            (cl_command_queue q, cl_mem m, const void *p, size_t ps, size_t o, size_t s, cl_uint n,
             const cl_event *w, cl_event *e),
            (q, m, p, ps, o, s, n, w, e))
WRAP_STATUS(clEnqueueMarkerWithWaitList, (cl_command_queue q, cl_uint n, const cl_event *w, cl_event *e),
            (q, n, w, e))
WRAP_STATUS(clEnqueueBarrierWithWaitList, (cl_command_queue q, cl_uint n, const cl_event *w, cl_event *e),
            (q, n, w, e))
WRAP_STATUS(clFinish, (cl_command_queue q), (q))
WRAP_STATUS(clFlush, (cl_command_queue q), (q))
WRAP_STATUS(clWaitForEvents, (cl_uint n, const cl_event *e), (n, e))
WRAP_STATUS(clGetEventProfilingInfo, (cl_event e, cl_profiling_info i, size_t s, void *v, size_t *r),
            (e, i, s, v, r))
