/*
 * update_avx2.c - soma_rank1_gd with AVX2+FMA (contract in kernels.h).
 * Compiled with -mavx2 -mfma; called only after soma_cpu_has_avx2_fma().
 */
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)

#include "kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

int soma_rank1_gd_avx2(float *w, const float *x, size_t n, float d, float lr)
{
    __m256 vd = _mm256_set1_ps(d), vlr = _mm256_set1_ps(lr);
    __m256 zero = _mm256_setzero_ps();
    __m256i expo = _mm256_set1_epi32(0x7f800000), one = _mm256_set1_epi32(0x00800000);
    __m256i acc = _mm256_setzero_si256();
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 g = _mm256_fmadd_ps(vd, _mm256_loadu_ps(x + k), zero);
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(w + k), _mm256_mul_ps(vlr, g));
        _mm256_storeu_ps(w + k, v);
        __m256i b = _mm256_and_si256(_mm256_castps_si256(v), expo);
        acc = _mm256_or_si256(acc, _mm256_add_epi32(b, one));
    }
    unsigned bad = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(acc));
    for (; k < n; k++) {
        float g = fmaf(d, x[k], 0.0f);
        w[k] = w[k] - lr * g;
        unsigned b;
        memcpy(&b, &w[k], sizeof b);
        bad |= ((b & 0x7f800000u) + 0x00800000u) >> 31;
    }
    return bad != 0;
}

#else
typedef int soma_update_avx2_unused;
#endif
