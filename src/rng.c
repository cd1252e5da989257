/*
 * rng.c - soma's own PRNG: xoshiro256** (Blackman and Vigna) seeded with
 * splitmix64. Defined by integer arithmetic only, so a seed gives the same
 * sequence on every platform.
 */
#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void soma_rng_seed(soma_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t soma_rng_next(soma_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float soma_rng_float(soma_rng *r)
{
    return (float)(soma_rng_next(r) >> 40) * 0x1.0p-24f;
}

uint64_t soma_rng_below(soma_rng *r, uint64_t n)
{
    /* reject the top partial copy of [0, n) so every value is equally
     * likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = soma_rng_next(r);
    while (v >= limit);
    return v % n;
}
