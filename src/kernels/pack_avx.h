/*
 * pack_avx.h - what the x86 kernels share: packing op(B) into 16-column
 * panels for the block kernels (sgemm_avx2.c, sgemm_avx512.c), and the
 * lane masks of the AVX2 ones (also update_avx2.c); needs AVX2 (include it
 * only from files compiled for AVX2 or AVX-512).
 */
#ifndef SOMA_PACK_AVX_H
#define SOMA_PACK_AVX_H

#include <immintrin.h>
#include <stddef.h>

#define PACK_NR 16
#define PACK_MR 6

/* Lanes 0..n-1 of 8 set (n in 1..8), for masked loads and stores. */
static inline __m256i soma_lane_mask8(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The rows i0 .. i0+mr of op(A) from column k0 on, for a 6-row register
 * tile: row r at a[r][k * sk] (sk = lda with trans_a, else 1). Rows past
 * mr repeat the last real one; the tile's results for them are dropped. */
static inline void soma_strip_rows(const float *a[PACK_MR], int trans_a,
                                   const float *A, int lda, int i0, int mr,
                                   int k0)
{
    for (int r = 0; r < PACK_MR; r++) {
        int i = i0 + (r < mr ? r : mr - 1);
        a[r] = trans_a ? A + (size_t)k0 * lda + i : A + (size_t)i * lda + k0;
    }
}

/* Packs op(B)[k0..k0+kc, j0..j0+nc) into ws as ceil(nc/16) panels of
 * [kc][16]. */
static inline void soma_pack_b(int trans_b, const float *B, int ldb, int k0, int kc, int j0,
                   int nc, float *ws)
{
    for (int p = 0; p * PACK_NR < nc; p++) {
        int nr = nc - p * PACK_NR < PACK_NR ? nc - p * PACK_NR : PACK_NR;
        float *dst = ws + (size_t)p * kc * PACK_NR;
        int jb = j0 + p * PACK_NR;
        if (!trans_b) {
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + jb;
                float *d = dst + (size_t)k * PACK_NR;
                if (nr == PACK_NR) {
                    _mm256_storeu_ps(d, _mm256_loadu_ps(src));
                    _mm256_storeu_ps(d + 8, _mm256_loadu_ps(src + 8));
                } else {
                    int l = 0;
                    for (; l < nr; l++)
                        d[l] = src[l];
                    for (; l < PACK_NR; l++)
                        d[l] = 0.0f;
                }
            }
        } else if (nr == PACK_NR) {
            /* op(B)[k][j] = B[j][k]: transpose 8x8 blocks in registers */
            int k = 0;
            for (; k + 8 <= kc; k += 8)
                for (int h = 0; h < 2; h++) {
                    const float *s = B + (size_t)(jb + 8 * h) * ldb + k0 + k;
                    __m256 r0 = _mm256_loadu_ps(s);
                    __m256 r1 = _mm256_loadu_ps(s + ldb);
                    __m256 r2 = _mm256_loadu_ps(s + 2 * (size_t)ldb);
                    __m256 r3 = _mm256_loadu_ps(s + 3 * (size_t)ldb);
                    __m256 r4 = _mm256_loadu_ps(s + 4 * (size_t)ldb);
                    __m256 r5 = _mm256_loadu_ps(s + 5 * (size_t)ldb);
                    __m256 r6 = _mm256_loadu_ps(s + 6 * (size_t)ldb);
                    __m256 r7 = _mm256_loadu_ps(s + 7 * (size_t)ldb);
                    __m256 t0 = _mm256_unpacklo_ps(r0, r1);
                    __m256 t1 = _mm256_unpackhi_ps(r0, r1);
                    __m256 t2 = _mm256_unpacklo_ps(r2, r3);
                    __m256 t3 = _mm256_unpackhi_ps(r2, r3);
                    __m256 t4 = _mm256_unpacklo_ps(r4, r5);
                    __m256 t5 = _mm256_unpackhi_ps(r4, r5);
                    __m256 t6 = _mm256_unpacklo_ps(r6, r7);
                    __m256 t7 = _mm256_unpackhi_ps(r6, r7);
                    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44);
                    __m256 u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
                    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44);
                    __m256 u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
                    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44);
                    __m256 u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
                    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44);
                    __m256 u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
                    float *d = dst + (size_t)k * PACK_NR + 8 * h;
                    _mm256_storeu_ps(d + 0 * PACK_NR, _mm256_permute2f128_ps(u0, u4, 0x20));
                    _mm256_storeu_ps(d + 1 * PACK_NR, _mm256_permute2f128_ps(u1, u5, 0x20));
                    _mm256_storeu_ps(d + 2 * PACK_NR, _mm256_permute2f128_ps(u2, u6, 0x20));
                    _mm256_storeu_ps(d + 3 * PACK_NR, _mm256_permute2f128_ps(u3, u7, 0x20));
                    _mm256_storeu_ps(d + 4 * PACK_NR, _mm256_permute2f128_ps(u0, u4, 0x31));
                    _mm256_storeu_ps(d + 5 * PACK_NR, _mm256_permute2f128_ps(u1, u5, 0x31));
                    _mm256_storeu_ps(d + 6 * PACK_NR, _mm256_permute2f128_ps(u2, u6, 0x31));
                    _mm256_storeu_ps(d + 7 * PACK_NR, _mm256_permute2f128_ps(u3, u7, 0x31));
                }
            for (; k < kc; k++)
                for (int l = 0; l < PACK_NR; l++)
                    dst[(size_t)k * PACK_NR + l] = B[(size_t)(jb + l) * ldb + k0 + k];
        } else {
            for (int k = 0; k < kc; k++) {
                float *d = dst + (size_t)k * PACK_NR;
                int l = 0;
                for (; l < nr; l++)
                    d[l] = B[(size_t)(jb + l) * ldb + k0 + k];
                for (; l < PACK_NR; l++)
                    d[l] = 0.0f;
            }
        }
    }
}

#endif /* SOMA_PACK_AVX_H */
