/*
 * update_avx2.c - soma_rank1_gd and soma_rank1t_gd with AVX2+FMA
 * (contracts in kernels.h).
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

/* Lanes 0..n-1 set (n in 1..8). */
static inline __m256i lane_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* soma_rank1t_gd on columns [0, 8G) (G <= 8) of which the last group has
 * nlast. Each lane of acc is one column's chain over k in order. The
 * weights are checked through the chains: a NaN or infinite weight makes
 * its column's chain NaN or infinite (with xf NULL the chain multiplies by
 * 0, which only a NaN or infinity turns into NaN), and a chain that ends
 * non-finite sends the columns to an exact scan (a finite product can
 * overflow). */
static inline __attribute__((always_inline)) int
cols(int G, int nlast, float *wt, size_t K, const float *du,
     const float *xu, float lr, const float *xf, float *z)
{
    __m256i m = lane_mask(nlast);
    __m256 zero = _mm256_setzero_ps(), vlr = _mm256_set1_ps(lr);
    __m256 acc[8];
    /* group g: columns 8g..8g+7, half of panel g / 2 */
#define AT(g) (16 * K * (size_t)((g) / 2) + 8 * (size_t)((g) % 2))
#define LOAD(p, g) (g == G - 1 && nlast < 8 ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p))
    SOMA_UNROLL
    for (int g = 0; g < G; g++)
        acc[g] = zero;
    for (size_t k = 0; k < K; k++) {
        float *w = wt + 16 * k;
        __m256 xfv = _mm256_set1_ps(xf ? xf[k] : 0.0f);
        if (xu && xu[k] != 0.0f) {
            __m256 xv = _mm256_set1_ps(xu[k]);
            SOMA_UNROLL
            for (int g = 0; g < G; g++) {
                /* the deltas come from L1: registers are short */
                __m256 gv = _mm256_fmadd_ps(LOAD(du + 8 * g, g), xv, zero);
                __m256 wv = _mm256_sub_ps(LOAD(w + AT(g), g), _mm256_mul_ps(vlr, gv));
                if (g == G - 1 && nlast < 8)
                    _mm256_maskstore_ps(w + AT(g), m, wv);
                else
                    _mm256_storeu_ps(w + AT(g), wv);
                acc[g] = _mm256_fmadd_ps(xfv, wv, acc[g]);
            }
        } else if (xf) {
            SOMA_UNROLL
            for (int g = 0; g < G; g++)
                acc[g] = _mm256_fmadd_ps(xfv, LOAD(w + AT(g), g), acc[g]);
        }
    }
#undef LOAD
#undef AT
    int odd = 0;
    SOMA_UNROLL
    for (int g = 0; g < G; g++) {
        /* acc - acc is 0 for a finite lane, NaN otherwise */
        __m256 t = _mm256_sub_ps(acc[g], acc[g]);
        odd |= _mm256_movemask_ps(_mm256_cmp_ps(t, zero, _CMP_NEQ_UQ));
        if (xf) {
            if (g == G - 1 && nlast < 8)
                _mm256_maskstore_ps(z + 8 * g, m, acc[g]);
            else
                _mm256_storeu_ps(z + 8 * g, acc[g]);
        }
    }
    return odd ? soma_rank1t_scan(wt, K, (size_t)(8 * (G - 1) + nlast), xu) : 0;
}

int soma_rank1t_gd_avx2(float *wt, size_t K, size_t N,
                        const float *du, const float *xu, float lr,
                        const float *xf, float *z)
{
    int bad = 0;
    size_t j = 0;
    for (; j + 64 <= N; j += 64)
        bad |= cols(8, 8, wt + K * j, K, du ? du + j : NULL, xu, lr, xf,
                    z ? z + j : NULL);
    for (; j + 32 <= N; j += 32)
        bad |= cols(4, 8, wt + K * j, K, du ? du + j : NULL, xu, lr, xf,
                    z ? z + j : NULL);
    for (; j < N; j += 8) {
        int n = N - j < 8 ? (int)(N - j) : 8;
        bad |= cols(1, n, wt + 16 * K * (j / 16) + j % 16, K, du ? du + j : NULL, xu, lr, xf,
                    z ? z + j : NULL);
    }
    return bad;
}

#else
typedef int soma_update_avx2_unused;
#endif
