/*
 * sgemm_avx2.c - the AVX2+FMA block kernel for soma_sgemm (contract in
 * kernels.h). Compiled with -mavx2 -mfma; called only after
 * soma_cpu_has_avx2_fma().
 *
 * Blocking: for each NC-wide group of columns and each KC-deep slice of k,
 * op(B) is packed into panels of 16 columns ([kc][16], zero-padded), then
 * every 6-row strip of op(A) is multiplied with every panel by a 6x16
 * register tile (12 ymm accumulators). A is read in place: its 6 rows (or,
 * transposed, 6 adjacent columns) are broadcast one k at a time.
 *
 * Bits: each accumulator lane is one FMA chain over k in increasing order.
 * Across KC slices the chain continues through C: the first slice starts
 * from 0, later slices reload the partial sum stored in C, which is the
 * exact float the chain held. alpha and beta are applied after the last
 * slice, so beta != 0 needs K <= KC (soma_gemm sends the rare other case to
 * the portable kernel).
 */
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)

#include "kernels.h"
#include "pack_avx.h"

#include <immintrin.h>
#include <string.h>

#define MR PACK_MR
#define NR PACK_NR

/* How a tile ends: alpha, beta, and the epilogue (kernels.h) with bias
 * pointing at the tile's first column (NULL: none). */
typedef struct tile_end {
    float alpha, beta;
    const float *bias;
    int relu;
} tile_end;

/* alpha, beta and the epilogue on v, the 8 columns at c (bias at b); mask
 * selects the columns that exist unless full. */
static inline __m256 finish8(__m256 v, const float *c, const float *b,
                             __m256i mask, int full, const tile_end *e)
{
    if (e->alpha != 1.0f)
        v = _mm256_mul_ps(_mm256_set1_ps(e->alpha), v);
    if (e->beta != 0.0f) {
        __m256 old = full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, mask);
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_set1_ps(e->beta), old));
    }
    if (b)
        v = _mm256_add_ps(v, full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, mask));
    /* max(v, 0) returns its second operand for NaN and for -0: v > 0 ? v : 0 */
    if (e->relu)
        v = _mm256_max_ps(v, _mm256_setzero_ps());
    return v;
}

/* The 6x16 tile c (row stride ldc) over kc steps: row r of op(A) at step k
 * is a[r][k * sk]. first: start from 0, else from c. last: apply e (alpha,
 * beta, epilogue; e->bias holds the tile's 16 columns). */
static void tile(int kc, const float *const a[MR], size_t sk, const float *bp,
                 float *c, size_t ldc, int first, int last, const tile_end *e)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (first) {
        c00 = c01 = c10 = c11 = c20 = c21 = _mm256_setzero_ps();
        c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    } else {
        c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    }
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4],
                *a5 = a[5];
    size_t off = 0;
    for (int k = 0; k < kc; k++, off += sk, bp += NR) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), x;
        x = _mm256_broadcast_ss(a0 + off);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + off);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + off);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + off);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + off);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + off);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    __m256i all = _mm256_set1_epi32(-1);
    for (int r = 0; r < MR; r++)
        for (int h = 0; h < 2; h++) {
            __m256 v = acc[2 * r + h];
            float *p = c + r * ldc + 8 * h;
            if (last)
                v = finish8(v, p, e->bias ? e->bias + 8 * h : NULL, all, 1, e);
            _mm256_storeu_ps(p, v);
        }
}

/* ---- fewer than 6 rows: no packing ---------------------------------------
 * With one to five rows of op(A) (a single example in predict or in
 * training with batch size 1), packing all of op(B) to use it once costs
 * more than the product, and the 6x16 tile would compute rows that are
 * thrown away. These paths read B in place and keep each C element's
 * accumulator in a register over all of k, so the chains are the same. */

/* v finished (finish8) and stored at c, whose bias is at b (may be NULL);
 * mask selects the columns that exist unless full. */
static inline void store_masked(float *c, const float *b, __m256 v,
                                __m256i mask, int full, const tile_end *e)
{
    v = finish8(v, c, b, mask, full, e);
    if (full)
        _mm256_storeu_ps(c, v);
    else
        _mm256_maskstore_ps(c, mask, v);
}

/* op(B) = B [K, N] row-major: row i of C, columns [j, j + 8G), G groups of 8
 * of which the last has nlast columns. Each k broadcasts a[k] against G
 * vectors of B's row k: G independent chains. */
static inline __attribute__((always_inline)) void
row_nt(int G, int K, const float *a, size_t sk, const float *B, int ldb,
       float *c, const float *bias, int nlast, const tile_end *e)
{
    __m256 acc[8];
    __m256i m = soma_lane_mask8(nlast);
    for (int g = 0; g < G; g++)
        acc[g] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 x = _mm256_broadcast_ss(a + (size_t)k * sk);
        const float *b = B + (size_t)k * ldb;
        for (int g = 0; g < G - 1; g++)
            acc[g] = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + 8 * g), acc[g]);
        __m256 bl = nlast == 8 ? _mm256_loadu_ps(b + 8 * (G - 1))
                               : _mm256_maskload_ps(b + 8 * (G - 1), m);
        acc[G - 1] = _mm256_fmadd_ps(x, bl, acc[G - 1]);
    }
    for (int g = 0; g < G - 1; g++)
        store_masked(c + 8 * g, bias ? bias + 8 * g : NULL, acc[g], m, 1, e);
    store_masked(c + 8 * (G - 1), bias ? bias + 8 * (G - 1) : NULL, acc[G - 1],
                 m, nlast == 8, e);
}

/* The 8x8 block B[r[0..7]][k..k+8) transposed: t[q] holds B[r[*]][k + q]. */
static inline __attribute__((always_inline)) void
transpose8(const float *const r[8], int k, __m256 t[8])
{
    __m256 r0 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[0] + k)),
                                     _mm_loadu_ps(r[4] + k), 1);
    __m256 r1 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[1] + k)),
                                     _mm_loadu_ps(r[5] + k), 1);
    __m256 r2 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[2] + k)),
                                     _mm_loadu_ps(r[6] + k), 1);
    __m256 r3 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[3] + k)),
                                     _mm_loadu_ps(r[7] + k), 1);
    __m256 r4 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[0] + k + 4)),
                                     _mm_loadu_ps(r[4] + k + 4), 1);
    __m256 r5 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[1] + k + 4)),
                                     _mm_loadu_ps(r[5] + k + 4), 1);
    __m256 r6 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[2] + k + 4)),
                                     _mm_loadu_ps(r[6] + k + 4), 1);
    __m256 r7 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[3] + k + 4)),
                                     _mm_loadu_ps(r[7] + k + 4), 1);
    /* r0 = rows 0|4 at k..k+3, r1 = rows 1|5, r2 = 2|6, r3 = 3|7; r4..r7
     * the same at k+4..k+7 */
    __m256 u0 = _mm256_unpacklo_ps(r0, r1), u1 = _mm256_unpackhi_ps(r0, r1);
    __m256 u2 = _mm256_unpacklo_ps(r2, r3), u3 = _mm256_unpackhi_ps(r2, r3);
    __m256 u4 = _mm256_unpacklo_ps(r4, r5), u5 = _mm256_unpackhi_ps(r4, r5);
    __m256 u6 = _mm256_unpacklo_ps(r6, r7), u7 = _mm256_unpackhi_ps(r6, r7);
    /* one shuffle and two blends per pair instead of two shuffles: blends
     * run on more of the FP pipes */
    __m256 v;
    v = _mm256_shuffle_ps(u0, u2, 0x4E);
    t[0] = _mm256_blend_ps(u0, v, 0xCC), t[1] = _mm256_blend_ps(u2, v, 0x33);
    v = _mm256_shuffle_ps(u1, u3, 0x4E);
    t[2] = _mm256_blend_ps(u1, v, 0xCC), t[3] = _mm256_blend_ps(u3, v, 0x33);
    v = _mm256_shuffle_ps(u4, u6, 0x4E);
    t[4] = _mm256_blend_ps(u4, v, 0xCC), t[5] = _mm256_blend_ps(u6, v, 0x33);
    v = _mm256_shuffle_ps(u5, u7, 0x4E);
    t[6] = _mm256_blend_ps(u5, v, 0xCC), t[7] = _mm256_blend_ps(u7, v, 0x33);
}

/* 8 k steps of one 8-column group: transposes the block and chains its 8
 * columns of op(B) into acc, in k order. */
static inline __attribute__((always_inline)) __m256
group8(const float *const r[8], int k, const float *x, __m256 acc)
{
    __m256 t[8];
    transpose8(r, k, t);
    for (int q = 0; q < 8; q++)
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(x + q), t[q], acc);
    return acc;
}

/* One k step of one group, for the k remainder. */
static inline __attribute__((always_inline)) __m256
group1(const float *const r[8], int k, __m256 x, __m256 acc)
{
    __m256 b = _mm256_setr_ps(r[0][k], r[1][k], r[2][k], r[3][k], r[4][k],
                              r[5][k], r[6][k], r[7][k]);
    return _mm256_fmadd_ps(x, b, acc);
}

/* op(B) = B^T with B [N, K] row-major (a layer's weight): one row of C,
 * columns [j, j + 8G) (G = 1, 2 or 4) of which the last group has nlast.
 * Column j of op(B) is row j of B, so 8 rows of B are read 8 k at a time
 * and transposed in registers; rows past the last real column repeat it
 * (results dropped). The accumulators are named variables so that they
 * stay in registers. */
static inline __attribute__((always_inline)) void
row_t(int G, int K, const float *a, size_t sk, const float *B, int ldb, int j,
      float *c, const float *bias, int nlast, const tile_end *e)
{
    const float *rows[4][8];
    int jmax = j + 8 * (G - 1) + nlast - 1;
    for (int g = 0; g < G; g++)
        for (int r = 0; r < 8; r++) {
            int jj = j + 8 * g + r;
            rows[g][r] = B + (size_t)(jj < jmax ? jj : jmax) * ldb;
        }
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    float x[8];
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        const float *xk = a + (size_t)k * sk;
        if (sk != 1) {
            for (int q = 0; q < 8; q++)
                x[q] = xk[(size_t)q * sk];
            xk = x;
        }
        acc0 = group8(rows[0], k, xk, acc0);
        if (G > 1)
            acc1 = group8(rows[1], k, xk, acc1);
        if (G > 2)
            acc2 = group8(rows[2], k, xk, acc2);
        if (G > 3)
            acc3 = group8(rows[3], k, xk, acc3);
    }
    for (; k < K; k++) {
        __m256 xv = _mm256_set1_ps(a[(size_t)k * sk]);
        acc0 = group1(rows[0], k, xv, acc0);
        if (G > 1)
            acc1 = group1(rows[1], k, xv, acc1);
        if (G > 2)
            acc2 = group1(rows[2], k, xv, acc2);
        if (G > 3)
            acc3 = group1(rows[3], k, xv, acc3);
    }
    __m256i m = soma_lane_mask8(nlast);
    __m256 acc[4] = {acc0, acc1, acc2, acc3};
    for (int g = 0; g < G - 1; g++)
        store_masked(c + 8 * g, bias ? bias + 8 * g : NULL, acc[g], m, 1, e);
    store_masked(c + 8 * (G - 1), bias ? bias + 8 * (G - 1) : NULL, acc[G - 1],
                 m, nlast == 8, e);
}

/* Rows [m0, m1) with m1 - m0 < MR, columns [n0, n1); bias is the
 * epilogue's, indexed by column (NULL: none). */
static void few_rows(int trans_a, int trans_b, int K, const float *A, int lda,
                     const float *B, int ldb, float *C, int ldc, int m0, int m1,
                     int n0, int n1, const float *bias, const tile_end *e)
{
    size_t sk = trans_a ? (size_t)lda : 1;
#define BIAS(j) (bias ? bias + (j) : NULL)
    for (int i = m0; i < m1; i++) {
        const float *a = trans_a ? A + i : A + (size_t)i * lda;
        float *c = C + (size_t)i * ldc;
        int j = n0;
        if (!trans_b) {
            for (; j + 64 <= n1; j += 64)
                row_nt(8, K, a, sk, B + j, ldb, c + j, BIAS(j), 8, e);
            for (; j + 32 <= n1; j += 32)
                row_nt(4, K, a, sk, B + j, ldb, c + j, BIAS(j), 8, e);
            for (; j < n1; j += 8)
                row_nt(1, K, a, sk, B + j, ldb, c + j, BIAS(j),
                       n1 - j < 8 ? n1 - j : 8, e);
        } else {
            /* 4 groups of 8 columns side by side (their chains are
             * independent), then the rest in one call of 1 to 4 groups,
             * the last one partial */
            for (; j + 32 <= n1; j += 32)
                row_t(4, K, a, sk, B, ldb, j, c + j, BIAS(j), 8, e);
            int left = n1 - j, G = (left + 7) / 8;
            if (G == 4)
                row_t(4, K, a, sk, B, ldb, j, c + j, BIAS(j), left - 24, e);
            else if (G == 3)
                row_t(3, K, a, sk, B, ldb, j, c + j, BIAS(j), left - 16, e);
            else if (G == 2)
                row_t(2, K, a, sk, B, ldb, j, c + j, BIAS(j), left - 8, e);
            else if (G == 1)
                row_t(1, K, a, sk, B, ldb, j, c + j, BIAS(j), left, e);
        }
    }
#undef BIAS
}

void soma_sgemm_block_avx2(int trans_a, int trans_b, int M, int N, int K,
                           float alpha, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc, int m0,
                           int m1, int n0, int n1, float *ws,
                           const soma_epilogue *ep)
{
    (void)M;
    (void)N;
    if (m0 >= m1 || n0 >= n1)
        return;
    const float *bias = ep ? ep->bias : NULL;
    tile_end e = {alpha, beta, NULL, ep ? ep->relu : 0};
    /* one row with B transposed (a layer's forward for one example), or
     * up to five with B in place: read B where it is */
    if (m1 - m0 == 1 || (!trans_b && m1 - m0 < MR)) {
        few_rows(trans_a, trans_b, K, A, lda, B, ldb, C, ldc, m0, m1, n0, n1,
                 bias, &e);
        return;
    }
    if (beta != 0.0f && K > SOMA_GEMM_KC) {
        /* the partial sums would overwrite the C that beta scales */
        soma_sgemm_block_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B,
                                  ldb, beta, C, ldc, m0, m1, n0, n1, ws, ep);
        return;
    }
    if (K == 0) {
        /* every chain is empty: acc = 0 */
        for (int i = m0; i < m1; i++)
            for (int j = n0; j < n1; j++) {
                float *p = C + (size_t)i * ldc + j;
                float v = alpha == 1.0f ? 0.0f : alpha * 0.0f;
                if (beta != 0.0f) {
                    float old = beta * *p;
                    v = v + old;
                }
                *p = v;
            }
        soma_epilogue_apply(ep, C, ldc, m0, m1, n0, n1);
        return;
    }
    float tmp[MR * NR] = {0}, tbias[NR] = {0};
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
                for (int p = 0; p * NR < nc; p++) {
                    int nr = nc - p * NR < NR ? nc - p * NR : NR;
                    const float *bp = ws + (size_t)p * kc * NR;
                    float *c = C + (size_t)i0 * ldc + j0 + p * NR;
                    e.bias = bias ? bias + j0 + p * NR : NULL;
                    if (mr == MR && nr == NR) {
                        tile(kc, a, sk, bp, c, (size_t)ldc, first, last, &e);
                        continue;
                    }
                    /* an edge tile works in tmp; only its real part of C is
                     * read and written, and of the bias */
                    if (!first || beta != 0.0f)
                        for (int r = 0; r < mr; r++)
                            memcpy(tmp + r * NR, c + (size_t)r * ldc,
                                   (size_t)nr * sizeof(float));
                    if (bias) {
                        memcpy(tbias, e.bias, (size_t)nr * sizeof(float));
                        e.bias = tbias;
                    }
                    tile(kc, a, sk, bp, tmp, NR, first, last, &e);
                    for (int r = 0; r < mr; r++)
                        memcpy(c + (size_t)r * ldc, tmp + r * NR,
                               (size_t)nr * sizeof(float));
                }
            }
        }
    }
}

#else
/* Nothing to build: keep ISO C happy about an empty translation unit. */
typedef int soma_sgemm_avx2_unused;
#endif
