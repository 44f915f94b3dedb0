#include <stdio.h>

#include "core/hash.h"

#define FNV_PRIME 0x100000001b3ULL

embcl_hash embcl_hash_init(void)
{
    embcl_hash h = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
    return h;
}

void embcl_hash_update(embcl_hash *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ p[i]) * FNV_PRIME;
        /* the second lane mixes position too, so the lanes decorrelate */
        h->b = (h->b ^ (uint64_t)(p[i] + 0x9e * (i & 0xff))) * FNV_PRIME;
        h->b ^= h->b >> 29;
    }
}

void embcl_hash_hex(const embcl_hash *h, char out[33])
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h->a, (unsigned long long)h->b);
}

embcl_hash embcl_hash_bytes(const void *data, size_t n)
{
    embcl_hash h = embcl_hash_init();
    embcl_hash_update(&h, data, n);
    return h;
}
