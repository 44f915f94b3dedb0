/* A 128-bit non-cryptographic hash (two FNV-1a lanes with different seeds),
 * used for cache keys and file names. Collisions are caught by storing the
 * full key beside the data; this only has to spread well. */
#ifndef EMBCL_SRC_CORE_HASH_H
#define EMBCL_SRC_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct embcl_hash {
    uint64_t a, b;
} embcl_hash;

embcl_hash embcl_hash_init(void);
void embcl_hash_update(embcl_hash *h, const void *data, size_t n);
/* 32 lowercase hex digits and a NUL. */
void embcl_hash_hex(const embcl_hash *h, char out[33]);
embcl_hash embcl_hash_bytes(const void *data, size_t n);

#endif
