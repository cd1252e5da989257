/*
 * sgemm_avx512.c - the AVX-512 block kernel for soma_sgemm (contract in
 * kernels.h). Compiled with -mavx512f -mfma; called only after
 * soma_cpu_has_avx512() (cores with full-width 512-bit FMA units do twice
 * the AVX2 kernel's work per cycle).
 *
 * Same blocking and packing as sgemm_avx2.c (op(B) in 16-column panels,
 * [kc][16], shared code in pack_avx.h), with a 6x32 register tile: 12 zmm
 * accumulators over two adjacent panels. Fewer than 6 rows go to the AVX2
 * kernel's few-rows path, which is bound by memory rather than by the FMA
 * units.
 *
 * Bits: as in sgemm_avx2.c, each accumulator lane is one FMA chain over k
 * in increasing order, continued through C across KC slices; alpha and beta
 * after the last slice (beta != 0 needs K <= KC, else the portable kernel).
 */
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)

#include "kernels.h"
#include "pack_avx.h"

#include <immintrin.h>
#include <string.h>

#define MR PACK_MR
#define NR PACK_NR /* one panel */

/* The 6 x (16 * np) tile c (np = 1 or 2 panels b0, b1; row stride ldc) over
 * kc steps: row r of op(A) at step k is a[r][k * sk]. first: start from 0,
 * else from c. last: apply alpha and beta. */
static inline __attribute__((always_inline)) void
tile(int np, int kc, const float *const a[MR], size_t sk, const float *b0,
     const float *b1, float *c, size_t ldc, int first, int last, float alpha,
     float beta, const float *bias, int relu)
{
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++)
        for (int h = 0; h < np; h++)
            acc[r][h] = first ? _mm512_setzero_ps()
                              : _mm512_loadu_ps(c + r * ldc + 16 * h);
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4],
                *a5 = a[5];
    size_t off = 0;
    for (int k = 0; k < kc; k++, off += sk, b0 += NR, b1 += NR) {
        __m512 p0 = _mm512_loadu_ps(b0), p1 = np > 1 ? _mm512_loadu_ps(b1) : p0;
        __m512 x;
#define ROW(r, ar)                                                            \
    x = _mm512_set1_ps(ar[off]);                                              \
    acc[r][0] = _mm512_fmadd_ps(x, p0, acc[r][0]);                            \
    if (np > 1)                                                               \
        acc[r][1] = _mm512_fmadd_ps(x, p1, acc[r][1]);
        ROW(0, a0)
        ROW(1, a1)
        ROW(2, a2)
        ROW(3, a3)
        ROW(4, a4)
        ROW(5, a5)
#undef ROW
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < MR; r++)
        for (int h = 0; h < np; h++) {
            __m512 v = acc[r][h];
            float *p = c + r * ldc + 16 * h;
            if (last && alpha != 1.0f)
                v = _mm512_mul_ps(va, v);
            if (last && beta != 0.0f)
                v = _mm512_add_ps(v, _mm512_mul_ps(vb, _mm512_loadu_ps(p)));
            if (last && bias)
                v = _mm512_add_ps(v, _mm512_loadu_ps(bias + 16 * h));
            /* max(v, 0) returns 0 for NaN and -0: v > 0 ? v : 0 */
            if (last && relu)
                v = _mm512_max_ps(v, _mm512_setzero_ps());
            _mm512_storeu_ps(p, v);
        }
}

void soma_sgemm_block_avx512(int trans_a, int trans_b, int M, int N, int K,
                             float alpha, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C,
                             int ldc, int m0, int m1, int n0, int n1, float *ws,
                             const soma_epilogue *ep)
{
    if (m0 >= m1 || n0 >= n1)
        return;
    /* few rows (memory-bound), K = 0 and beta with K > KC: as the AVX2
     * kernel does them */
    if (m1 - m0 < MR || K == 0 || (beta != 0.0f && K > SOMA_GEMM_KC)) {
        soma_sgemm_block_avx2(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb,
                              beta, C, ldc, m0, m1, n0, n1, ws, ep);
        return;
    }
    const float *bias = ep ? ep->bias : NULL;
    int relu = ep ? ep->relu : 0;
    float tmp[MR * 2 * NR], tbias[2 * NR] = {0};
    for (int j0 = n0; j0 < n1; j0 += SOMA_GEMM_NC) {
        int nc = n1 - j0 < SOMA_GEMM_NC ? n1 - j0 : SOMA_GEMM_NC;
        for (int k0 = 0; k0 < K; k0 += SOMA_GEMM_KC) {
            int kc = K - k0 < SOMA_GEMM_KC ? K - k0 : SOMA_GEMM_KC;
            int first = k0 == 0, last = k0 + kc == K;
            soma_pack_b(trans_b, B, ldb, k0, kc, j0, nc, ws);
            for (int i0 = m0; i0 < m1; i0 += MR) {
                int mr = m1 - i0 < MR ? m1 - i0 : MR;
                const float *a[MR];
                soma_strip_rows(a, trans_a, A, lda, i0, mr, k0);
                size_t sk = trans_a ? (size_t)lda : 1;
                for (int p = 0; p * NR < nc; p += 2) {
                    int ncol = nc - p * NR < 2 * NR ? nc - p * NR : 2 * NR;
                    int np = ncol > NR ? 2 : 1;
                    const float *b0 = ws + (size_t)p * kc * NR;
                    const float *b1 = b0 + (size_t)kc * NR;
                    float *c = C + (size_t)i0 * ldc + j0 + p * NR;
                    const float *tb = bias ? bias + j0 + p * NR : NULL;
                    if (mr == MR && ncol == 2 * NR) {
                        tile(2, kc, a, sk, b0, b1, c, (size_t)ldc, first, last,
                             alpha, beta, tb, relu);
                        continue;
                    }
                    if (mr == MR && ncol == NR) {
                        tile(1, kc, a, sk, b0, b1, c, (size_t)ldc, first, last,
                             alpha, beta, tb, relu);
                        continue;
                    }
                    if (tb) {
                        memcpy(tbias, tb, (size_t)ncol * sizeof(float));
                        tb = tbias;
                    }
                    /* an edge tile works in tmp; only its real part of C is
                     * read and written (the panels are zero-padded) */
                    if (!first || beta != 0.0f)
                        for (int r = 0; r < mr; r++)
                            memcpy(tmp + r * 2 * NR, c + (size_t)r * ldc,
                                   (size_t)ncol * sizeof(float));
                    if (np == 2)
                        tile(2, kc, a, sk, b0, b1, tmp, 2 * NR, first, last,
                             alpha, beta, tb, relu);
                    else
                        tile(1, kc, a, sk, b0, b1, tmp, 2 * NR, first, last,
                             alpha, beta, tb, relu);
                    for (int r = 0; r < mr; r++)
                        memcpy(c + (size_t)r * ldc, tmp + r * 2 * NR,
                               (size_t)ncol * sizeof(float));
                }
            }
        }
    }
}

#else
typedef int soma_sgemm_avx512_unused;
#endif
