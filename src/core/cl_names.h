/* Names of OpenCL's error codes, kept in core (as plain numbers) so a status
 * can be printed without including OpenCL. */
#ifndef EMBCL_SRC_CORE_CL_NAMES_H
#define EMBCL_SRC_CORE_CL_NAMES_H

/* "CL_OUT_OF_RESOURCES" for -5; NULL for a code OpenCL does not define. */
const char *embcl_cl_error_name(int code);

#endif
