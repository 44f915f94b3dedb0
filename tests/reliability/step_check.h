/* Shared by the step fault tests: the errors a device can give mid-step,
 * and the check of one failed call's message. */
#ifndef EMBCL_TEST_STEP_CHECK_H
#define EMBCL_TEST_STEP_CHECK_H

#include <string.h>

#include "faultcl.h"
#include "test_util.h"

/* Out of resources, allocation failure, a lost device. */
static const cl_int step_errors[] = {CL_OUT_OF_RESOURCES, CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_DEVICE_NOT_AVAILABLE};
#define N_STEP_ERRORS (sizeof step_errors / sizeof step_errors[0])

/* The failed step's status is the injected error and its message names the
 * public function and the OpenCL call that failed, or, for a call CLBlast
 * made (GEMMs under the GPU class), that it failed inside CLBlast and with
 * which error: CLBlast returns the code without saying which call gave it. */
static inline void step_check_error(embcl_status s, cl_int err, const char *fn, long call, long n)
{
    cr_assert(faultcl_fired(), "call %ld of %ld never happened", call, n);
    cr_assert_eq(s, (embcl_status)err, "failing call %ld of %ld (%s) with %d gave %s: %s", call, n,
                 faultcl_fired_in(), (int)err, embcl_status_str(s), embcl_last_error());
    int clblast = faultcl_fired_from_clblast();
    const char *where = clblast ? "inside CLBlast" : faultcl_fired_in();
    cr_assert(strstr(embcl_last_error(), fn) && strstr(embcl_last_error(), where) &&
                  (!clblast || strstr(embcl_last_error(), embcl_status_str(s))),
              "call %ld (%s%s): the message does not name %s and '%s'%s: %s", call, faultcl_fired_in(),
              clblast ? ", made by CLBlast" : "", fn, where, clblast ? " and the error" : "", embcl_last_error());
}

#endif
