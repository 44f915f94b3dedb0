/* Line and token scanning over byte buffers that need not end in NUL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/io_impl.h"

int io_lines_next(io_lines *it, const char **line, size_t *len)
{
    if (it->p >= it->end)
        return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = nl ? nl : it->end;
    *line = it->p;
    *len = (size_t)(stop - it->p);
    it->p = nl ? nl + 1 : it->end;
    it->line++;
    return 1;
}

int io_next_token(const char *s, size_t len, size_t *pos, const char **tok, size_t *tok_len)
{
    size_t i = *pos;
    while (i < len && io_is_space((unsigned char)s[i]))
        i++;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    size_t j = i;
    while (j < len && !io_is_space((unsigned char)s[j]))
        j++;
    *tok = s + i;
    *tok_len = j - i;
    *pos = j;
    return 1;
}

embcl_status io_check_no_nul(const char *line, size_t len, const char *func, const char *name,
                             int64_t line_no)
{
    const char *z = memchr(line, '\0', len);
    if (!z)
        return EMBCL_OK;
    return embcl_error(EMBCL_ERR_FORMAT, func, "%s line %lld: NUL byte at column %zu (a binary file?)",
                       io_name(name), (long long)line_no, (size_t)(z - line) + 1);
}

int io_parse_i64(const char *tok, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (len > 0 && (tok[0] == '-' || tok[0] == '+')) {
        neg = tok[0] == '-';
        i = 1;
    }
    if (i >= len)
        return 0;
    uint64_t v = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(tok[i] - '0');
        if (v > (limit - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

int io_parse_f32(const char *tok, size_t len, float *out)
{
    char buf[72];
    /* strtof needs a NUL and would read on past the buffer without one */
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, tok, len);
    buf[len] = '\0';
    char *end = NULL;
    float f = strtof(buf, &end);
    if (end != buf + len || !isfinite(f))
        return 0;
    *out = f;
    return 1;
}
