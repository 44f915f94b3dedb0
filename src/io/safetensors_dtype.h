/* safetensors dtype names and sizes (the format's full list, so files with
 * types embcl cannot use are still validated byte for byte). */
#ifndef EMBCL_SRC_IO_SAFETENSORS_DTYPE_H
#define EMBCL_SRC_IO_SAFETENSORS_DTYPE_H

#include <string.h>

#include "embcl/core.h"

typedef struct st_dtype {
    const char *name;
    size_t size;
    embcl_dtype embcl;  /* EMBCL_DTYPE_COUNT: none */
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"F64", 8, EMBCL_DTYPE_COUNT}, {"I64", 8, EMBCL_I64},         {"U64", 8, EMBCL_DTYPE_COUNT},
    {"F32", 4, EMBCL_F32},         {"I32", 4, EMBCL_I32},         {"U32", 4, EMBCL_DTYPE_COUNT},
    {"F16", 2, EMBCL_DTYPE_COUNT}, {"BF16", 2, EMBCL_BF16}, {"I16", 2, EMBCL_DTYPE_COUNT},
    {"U16", 2, EMBCL_DTYPE_COUNT}, {"I8", 1, EMBCL_DTYPE_COUNT},   {"U8", 1, EMBCL_DTYPE_COUNT},
    {"BOOL", 1, EMBCL_DTYPE_COUNT}, {"F8_E4M3", 1, EMBCL_DTYPE_COUNT}, {"F8_E5M2", 1, EMBCL_DTYPE_COUNT},
};

static inline const st_dtype *st_dtype_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0)
            return &st_dtypes[i];
    return NULL;
}

static inline const st_dtype *st_dtype_of(embcl_dtype dt)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (st_dtypes[i].embcl == dt && dt != EMBCL_DTYPE_COUNT)
            return &st_dtypes[i];
    return NULL;
}

static inline int st_host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

#endif
