/* Internal error helpers: every failure path records a message and returns. */
#ifndef EMBCL_SRC_CORE_ERROR_H
#define EMBCL_SRC_CORE_ERROR_H

#include "embcl/core.h"

#if defined(__GNUC__)
#define EMBCL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EMBCL_PRINTF(a, b)
#endif

/* Record "func: message" as this thread's last error; returns status. */
embcl_status embcl_error(embcl_status status, const char *func, const char *fmt, ...)
    EMBCL_PRINTF(3, 4);

/* Append text to the last error (for build logs and "caused by" chains). */
void embcl_error_append(const char *fmt, ...) EMBCL_PRINTF(1, 2);

/* Prefix the current last error with "func: " so a failure deep down reads
 * as a chain naming the public entry point first. Returns status. */
embcl_status embcl_error_context(embcl_status status, const char *func);

#define EMBCL_TRY(expr)                        \
    do {                                       \
        embcl_status embcl_try_s_ = (expr);    \
        if (embcl_try_s_ != EMBCL_OK)          \
            return embcl_try_s_;               \
    } while (0)

/* Argument checks: fail naming the function, the argument and its value. */
#define EMBCL_CHECK_ARG(cond, func, ...)                                 \
    do {                                                                 \
        if (!(cond))                                                     \
            return embcl_error(EMBCL_ERR_INVALID_ARG, func, __VA_ARGS__); \
    } while (0)

#endif
