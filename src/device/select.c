/* Device selectors: "gpu", "cpu", "accelerator", "all", "P:D", or a name
 * substring; comma-separated for several. Pure string work over a device
 * list, so it is testable (and fuzzable) without OpenCL. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "device/device_impl.h"

static int contains_ci(const char *hay, const char *needle, size_t n)
{
    size_t h = strlen(hay);
    for (size_t i = 0; i + n <= h; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* Parse "P:D" with both parts plain decimal numbers. */
static int parse_pd(const char *t, size_t n, long *p, long *d)
{
    size_t i = 0;
    long a = 0, b = 0;
    if (i >= n || !isdigit((unsigned char)t[i]))
        return 0;
    while (i < n && isdigit((unsigned char)t[i]) && a < 100000)
        a = a * 10 + (t[i++] - '0');
    if (i >= n || t[i] != ':')
        return 0;
    i++;
    if (i >= n || !isdigit((unsigned char)t[i]))
        return 0;
    while (i < n && isdigit((unsigned char)t[i]) && b < 100000)
        b = b * 10 + (t[i++] - '0');
    if (i != n)
        return 0;
    *p = a;
    *d = b;
    return 1;
}

static int term_matches(const char *t, size_t n, const embcl_device_info *dev)
{
    long p, d;
    if (n == 3 && strncasecmp(t, "gpu", 3) == 0)
        return dev->type == EMBCL_DEVICE_GPU;
    if (n == 3 && strncasecmp(t, "cpu", 3) == 0)
        return dev->type == EMBCL_DEVICE_CPU;
    if (n == 11 && strncasecmp(t, "accelerator", 11) == 0)
        return dev->type == EMBCL_DEVICE_ACCELERATOR;
    if (n == 3 && strncasecmp(t, "all", 3) == 0)
        return 1;
    if (parse_pd(t, n, &p, &d))
        return dev->platform_index == p && dev->device_index == d;
    return contains_ci(dev->name, t, n) || contains_ci(dev->platform_name, t, n);
}

static void list_devices(const embcl_device_info *list, size_t count)
{
    if (count == 0) {
        embcl_error_append("; no OpenCL device was found (is an ICD such as pocl-opencl-icd installed?)");
        return;
    }
    embcl_error_append("; devices:");
    for (size_t i = 0; i < count; i++)
        embcl_error_append("%s %d:%d '%s' (%s, %s)", i ? "," : "", list[i].platform_index,
                           list[i].device_index, list[i].name, embcl_device_type_name(list[i].type),
                           list[i].platform_name);
}

embcl_status embcl_device_select(const char *selector, const embcl_device_info *list, size_t count,
                                 size_t *picked, size_t cap, size_t *n_picked)
{
    static const char *fn = "embcl_device_select";
    EMBCL_CHECK_ARG(n_picked != NULL, fn, "argument 'n_picked' is NULL");
    EMBCL_CHECK_ARG(picked != NULL || cap == 0, fn, "argument 'picked' is NULL with cap %zu", cap);
    EMBCL_CHECK_ARG(list != NULL || count == 0, fn, "argument 'list' is NULL with count %zu", count);
    *n_picked = 0;
    size_t n = 0;
    if (!selector || !*selector) {
        size_t best = count;
        for (size_t i = 0; i < count && best == count; i++)
            if (list[i].type == EMBCL_DEVICE_GPU)
                best = i;
        if (best == count && count > 0)
            best = 0;
        if (best == count) {
            embcl_error(EMBCL_ERR_NO_DEVICE, fn, "no OpenCL device to choose from");
            list_devices(list, count);
            return EMBCL_ERR_NO_DEVICE;
        }
        if (cap > 0)
            picked[0] = best;
        *n_picked = 1;
        return EMBCL_OK;
    }
    const char *t = selector;
    for (;;) {
        const char *end = strchr(t, ',');
        size_t len = end ? (size_t)(end - t) : strlen(t);
        const char *s = t;
        size_t sl = len;
        while (sl > 0 && isspace((unsigned char)*s)) {
            s++;
            sl--;
        }
        while (sl > 0 && isspace((unsigned char)s[sl - 1]))
            sl--;
        if (sl == 0) {
            embcl_error(EMBCL_ERR_NO_DEVICE, fn, "device selector '%s' has an empty entry", selector);
            list_devices(list, count);
            return EMBCL_ERR_NO_DEVICE;
        }
        for (size_t i = 0; i < count; i++) {
            if (!term_matches(s, sl, &list[i]))
                continue;
            int seen = 0;
            for (size_t j = 0; j < n && j < cap; j++)
                seen |= picked[j] == i;
            if (seen)
                continue;
            if (n < cap)
                picked[n] = i;
            n++;
        }
        int matched = 0;
        for (size_t i = 0; i < count; i++)
            matched |= term_matches(s, sl, &list[i]);
        if (!matched) {
            embcl_error(EMBCL_ERR_NO_DEVICE, fn, "device selector '%s': entry '%.*s' matches no device",
                        selector, (int)sl, s);
            list_devices(list, count);
            return EMBCL_ERR_NO_DEVICE;
        }
        if (!end)
            break;
        t = end + 1;
    }
    *n_picked = n;
    return EMBCL_OK;
}
