/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit word of state, good
 * enough statistics for initialisation and synthetic data. */
#include <math.h>

#include "io/io_impl.h"

uint64_t io_rng_next(io_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t io_rng_below(io_rng *r, uint64_t n)
{
    /* reject the top partial block so every residue is equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = io_rng_next(r);
    while (x >= limit);
    return x % n;
}

double io_rng_normal(io_rng *r)
{
    /* u1 in (0, 1] so log(u1) is finite */
    double u1 = ((double)(io_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(io_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
