#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "device/device_impl.h"

embcl_status embcl_device_marker(embcl_device_t dev, embcl_event_t *out)
{
    static const char *fn = "embcl_device_marker";
    EMBCL_CHECK_ARG(dev != NULL, fn, "argument 'dev' is NULL");
    EMBCL_CHECK_ARG(out != NULL, fn, "argument 'out' is NULL");
    struct embcl_event *e = embcl_calloc(1, sizeof *e, fn);
    if (!e)
        return EMBCL_ERR_OUT_OF_MEMORY;
    embcl_status s = embcl_cl_check(clEnqueueMarkerWithWaitList(dev->queue, 0, NULL, &e->ev), fn,
                                    "clEnqueueMarkerWithWaitList");
    if (s != EMBCL_OK) {
        free(e);
        return s;
    }
    *out = e;
    return EMBCL_OK;
}

embcl_status embcl_event_wait(embcl_event_t ev)
{
    EMBCL_CHECK_ARG(ev != NULL, "embcl_event_wait", "argument 'ev' is NULL");
    return embcl_cl_check(clWaitForEvents(1, &ev->ev), "embcl_event_wait", "clWaitForEvents");
}

embcl_status embcl_event_elapsed_ms(embcl_event_t start, embcl_event_t end, double *ms)
{
    static const char *fn = "embcl_event_elapsed_ms";
    EMBCL_CHECK_ARG(start != NULL && end != NULL, fn, "argument 'start' or 'end' is NULL");
    EMBCL_CHECK_ARG(ms != NULL, fn, "argument 'ms' is NULL");
    cl_event evs[2] = {start->ev, end->ev};
    EMBCL_TRY(embcl_cl_check(clWaitForEvents(2, evs), fn, "clWaitForEvents"));
    cl_ulong t0, t1;
    EMBCL_TRY(embcl_cl_check(clGetEventProfilingInfo(start->ev, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL),
                             fn, "clGetEventProfilingInfo (was the runtime created with profiling = 1?)"));
    EMBCL_TRY(embcl_cl_check(clGetEventProfilingInfo(end->ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL),
                             fn, "clGetEventProfilingInfo"));
    *ms = ((double)t1 - (double)t0) / 1e6;
    return EMBCL_OK;
}

void embcl_event_free(embcl_event_t ev)
{
    if (!ev)
        return;
    clReleaseEvent(ev->ev);
    free(ev);
}
