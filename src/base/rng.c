#include <math.h>

#include "base.h"

void dsc_rng_seed(dsc_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    (void)dsc_rng_u32(r);
    r->state += seed;
    (void)dsc_rng_u32(r);
}

uint32_t dsc_rng_u32(dsc_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float dsc_rng_uniform(dsc_rng *r) { return (float)(dsc_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

uint32_t dsc_rng_below(dsc_rng *r, uint32_t n)
{
    /* Rejection of the low values that would bias the modulo. */
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = dsc_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

double dsc_rng_normal(dsc_rng *r)
{
    /* u1 in (0, 1] so the log is finite. */
    double u1 = ((double)dsc_rng_u32(r) + 1.0) / 4294967296.0;
    double u2 = (double)dsc_rng_u32(r) / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void dsc_rng_shuffle(dsc_rng *r, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        uint32_t j = dsc_rng_below(r, (uint32_t)i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

uint64_t dsc_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
