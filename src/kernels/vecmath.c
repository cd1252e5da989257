/*
 * vecmath.c - exp and expm1 built from float arithmetic, so activations give
 * the same bits on every platform.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* 2^n for an integer n in [-126, 127], by building the float's bits. */
static float pow2i(int n)
{
    unsigned int bits = (unsigned int)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float soma_expf(float x)
{
    if (x != x)
        return x;
    if (x > 88.72283935546875f)
        return INFINITY;
    if (x < -87.33654022216797f)
        return 0.0f;
    /* x = n ln2 + r, |r| <= ln2 / 2; ln2 split in a high part with few bits
     * (exact products n * ln2_hi) and a low correction. */
    const float log2e = 1.44269502162933349609375f;
    const float ln2_hi = 0.693145751953125f;
    const float ln2_lo = 1.428606765330187045e-06f;
    float n = floorf(x * log2e + 0.5f);
    float r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    /* Taylor series of e^r to degree 7: truncation below 5e-9 relative. */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int ni = (int)n;
    /* n can reach 128 just below the overflow threshold: scale in two
     * steps so 2^n stays representable. */
    if (ni > 127)
        return p * 2.0f * pow2i(ni - 1);
    if (ni < -126)
        return p * 0.5f * pow2i(ni + 1);
    return p * pow2i(ni);
}

float soma_expm1f(float x)
{
    if (x > -0.34657359f && x < 0.34657359f) {
        /* Taylor series to degree 8: relative truncation below 1e-9. */
        float p = 1.0f / 40320.0f;
        p = p * x + 1.0f / 5040.0f;
        p = p * x + 1.0f / 720.0f;
        p = p * x + 1.0f / 120.0f;
        p = p * x + 1.0f / 24.0f;
        p = p * x + 1.0f / 6.0f;
        p = p * x + 0.5f;
        p = p * x + 1.0f;
        return p * x;
    }
    return soma_expf(x) - 1.0f;
}
