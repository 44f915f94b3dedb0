/* The per-thread last error. A fixed thread-local buffer, so recording an
 * error never allocates (it must work when allocation is what failed) and
 * nothing is left to free when a thread ends. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define EMBCL_ERROR_CAP 32768

static _Thread_local char last_error[EMBCL_ERROR_CAP];

static void mark_truncated(void)
{
    static const char tail[] = " ... [truncated]";
    memcpy(last_error + EMBCL_ERROR_CAP - sizeof tail, tail, sizeof tail);
}

static void append_v(const char *fmt, va_list ap)
{
    size_t len = strlen(last_error);
    if (len + 1 >= EMBCL_ERROR_CAP)
        return;
    int n = vsnprintf(last_error + len, EMBCL_ERROR_CAP - len, fmt, ap);
    if (n > 0 && (size_t)n >= EMBCL_ERROR_CAP - len)
        mark_truncated();
}

embcl_status embcl_error(embcl_status status, const char *func, const char *fmt, ...)
{
    int n = snprintf(last_error, EMBCL_ERROR_CAP, "%s: ", func ? func : "embcl");
    if (n < 0)
        last_error[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    append_v(fmt, ap);
    va_end(ap);
    return status;
}

void embcl_error_append(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append_v(fmt, ap);
    va_end(ap);
}

embcl_status embcl_error_context(embcl_status status, const char *func)
{
    size_t flen = strlen(func);
    size_t len = strlen(last_error);
    if (len > 0 && strncmp(last_error, func, flen) == 0 && last_error[flen] == ':')
        return status; /* already names this function first */
    if (flen + 2 + len + 1 > EMBCL_ERROR_CAP)
        len = EMBCL_ERROR_CAP - flen - 3;
    memmove(last_error + flen + 2, last_error, len);
    memcpy(last_error, func, flen);
    last_error[flen] = ':';
    last_error[flen + 1] = ' ';
    last_error[flen + 2 + len] = '\0';
    return status;
}

const char *embcl_last_error(void)
{
    return last_error;
}

void embcl_clear_error(void)
{
    last_error[0] = '\0';
}
