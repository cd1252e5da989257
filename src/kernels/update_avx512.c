/*
 * update_avx512.c - soma_rank1t_gd with AVX-512 (contract in kernels.h).
 * Compiled with -mavx512f; called only after soma_cpu_has_avx512(). The
 * same scheme as the AVX2 version (update_avx2.c): 32 registers hold a
 * 128-column block's deltas and chains together, so a layer of up to 128
 * units is one pass over its weight.
 */
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)

#include "kernels.h"

#include <immintrin.h>
#include <math.h>

/* Columns [0, 16G) (G <= 8), the last group masked by mlast; the checks
 * as in update_avx2.c. */
static inline __attribute__((always_inline)) int
cols(int G, __mmask16 mlast, float *wt, size_t K, const float *du,
     const float *xu, float lr, const float *xf, float *z)
{
    __m512 zero = _mm512_setzero_ps(), vlr = _mm512_set1_ps(lr);
    __m512 acc[8], d[8];
#define MASK(g) ((g) == G - 1 ? mlast : (__mmask16)0xffff)
    SOMA_UNROLL
    for (int g = 0; g < G; g++) {
        acc[g] = zero;
        d[g] = xu ? _mm512_maskz_loadu_ps(MASK(g), du + 16 * g) : zero;
    }
    for (size_t k = 0; k < K; k++) {
        const size_t pk = 16 * K; /* one panel */
        float *w = wt + 16 * k;
        __m512 xfv = _mm512_set1_ps(xf ? xf[k] : 0.0f);
        if (xu && xu[k] != 0.0f) {
            __m512 xv = _mm512_set1_ps(xu[k]);
            SOMA_UNROLL
            for (int g = 0; g < G; g++) {
                __m512 gv = _mm512_fmadd_ps(d[g], xv, zero);
                __m512 wv = _mm512_sub_ps(_mm512_maskz_loadu_ps(MASK(g), w + pk * g),
                                          _mm512_mul_ps(vlr, gv));
                _mm512_mask_storeu_ps(w + pk * g, MASK(g), wv);
                acc[g] = _mm512_fmadd_ps(xfv, wv, acc[g]);
            }
        } else if (xf) {
            SOMA_UNROLL
            for (int g = 0; g < G; g++)
                acc[g] = _mm512_fmadd_ps(
                    xfv, _mm512_maskz_loadu_ps(MASK(g), w + pk * g), acc[g]);
        }
    }
    __mmask16 odd = 0;
    SOMA_UNROLL
    for (int g = 0; g < G; g++) {
        __m512 t = _mm512_sub_ps(acc[g], acc[g]);
        odd |= _mm512_cmp_ps_mask(t, zero, _CMP_NEQ_UQ);
        if (xf)
            _mm512_mask_storeu_ps(z + 16 * g, MASK(g), acc[g]);
    }
#undef MASK
    if (!odd)
        return 0;
    size_t n = 16 * (size_t)(G - 1);
    for (__mmask16 m = mlast; m; m >>= 1)
        n++;
    return soma_rank1t_scan(wt, K, n, xu);
}

int soma_rank1t_gd_avx512(float *wt, size_t K, size_t N,
                          const float *du, const float *xu, float lr,
                          const float *xf, float *z)
{
    int bad = 0;
    size_t j = 0;
    for (; j + 128 <= N; j += 128)
        bad |= cols(8, 0xffff, wt + K * j, K, du ? du + j : NULL, xu, lr, xf,
                    z ? z + j : NULL);
    if (j == N)
        return bad;
    /* the rest, under 128 columns, in one pass too */
    size_t left = N - j, G = (left + 15) / 16, nl = left - 16 * (G - 1);
    __mmask16 m = (__mmask16)((1u << nl) - 1u);
    float *w = wt + K * j, *zj = z ? z + j : NULL;
    const float *dj = du ? du + j : NULL;
    switch (G) {
    case 1: return bad | cols(1, m, w, K, dj, xu, lr, xf, zj);
    case 2: return bad | cols(2, m, w, K, dj, xu, lr, xf, zj);
    case 3: return bad | cols(3, m, w, K, dj, xu, lr, xf, zj);
    case 4: return bad | cols(4, m, w, K, dj, xu, lr, xf, zj);
    case 5: return bad | cols(5, m, w, K, dj, xu, lr, xf, zj);
    case 6: return bad | cols(6, m, w, K, dj, xu, lr, xf, zj);
    case 7: return bad | cols(7, m, w, K, dj, xu, lr, xf, zj);
    default: return bad | cols(8, m, w, K, dj, xu, lr, xf, zj);
    }
}

#else
typedef int soma_update_avx512_unused;
#endif
