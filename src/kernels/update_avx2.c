/*
 * update_avx2.c - soma_rank1_gd and soma_gdt_step with AVX2+FMA
 * (contracts in kernels.h).
 * Compiled with -mavx2 -mfma; called only after soma_cpu_has_avx2_fma().
 */
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)

#include "kernels.h"
#include "pack_avx.h"

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

/* soma_gdt_step on columns [0, 8G) at wt (G <= 8) of which the last group
 * has nlast; group g is half of panel g / 2. nu examples' update, then BF
 * examples' chains (xf NULL: one chain of zeros, which only checks the
 * weights); N is the row stride of du and z. The checks as in
 * update_avx512.c. */
static inline __attribute__((always_inline)) int
cols(int G, int BF, int ONE, int nlast, float *wt, size_t K, size_t N,
     size_t nu, const float *du, const float *xu, float lr, const float *xf,
     float *z)
{
    __m256i m = soma_lane_mask8(nlast);
    __m256 zero = _mm256_setzero_ps(), vlr = _mm256_set1_ps(lr);
    __m256 acc[4][8];
#define AT(g) (16 * K * (size_t)((g) / 2) + 8 * (size_t)((g) % 2))
#define PART(g) ((g) == G - 1 && nlast < 8)
#define LOAD(p, g) (PART(g) ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p))
    SOMA_UNROLL
    for (int f = 0; f < BF; f++) {
        SOMA_UNROLL
        for (int g = 0; g < G; g++)
            acc[f][g] = zero;
    }
    for (size_t k = 0; k < K; k++) {
        float *w = wt + 16 * k;
        /* with ONE, nu is 1 at compile time */
        int moves = soma_gdt_row_moves(xu, ONE ? 1 : nu, K, k);
        if (!moves && !xf)
            continue;
        __m256 xfv[4];
        SOMA_UNROLL
        for (int f = 0; f < BF; f++)
            xfv[f] = _mm256_set1_ps(xf ? xf[(size_t)f * K + k] : 0.0f);
        /* two loops, not a test in one: a branch per group cost 20% */
        if (moves) {
            SOMA_UNROLL
            for (int g = 0; g < G; g++) {
                /* the deltas come from L1: registers are short */
                __m256 gv = zero;
                if (ONE)
                    gv = _mm256_fmadd_ps(LOAD(du + 8 * g, g),
                                         _mm256_set1_ps(xu[k]), zero);
                else
                    for (size_t b = 0; b < nu; b++)
                        gv = _mm256_fmadd_ps(LOAD(du + b * N + 8 * g, g),
                                             _mm256_set1_ps(xu[b * K + k]), gv);
                __m256 wv = _mm256_sub_ps(LOAD(w + AT(g), g), _mm256_mul_ps(vlr, gv));
                if (PART(g))
                    _mm256_maskstore_ps(w + AT(g), m, wv);
                else
                    _mm256_storeu_ps(w + AT(g), wv);
                SOMA_UNROLL
                for (int f = 0; f < BF; f++)
                    acc[f][g] = _mm256_fmadd_ps(xfv[f], wv, acc[f][g]);
            }
        } else {
            SOMA_UNROLL
            for (int g = 0; g < G; g++) {
                __m256 wv = LOAD(w + AT(g), g);
                SOMA_UNROLL
                for (int f = 0; f < BF; f++)
                    acc[f][g] = _mm256_fmadd_ps(xfv[f], wv, acc[f][g]);
            }
        }
    }
    int odd = 0;
    SOMA_UNROLL
    for (int f = 0; f < BF; f++) {
        SOMA_UNROLL
        for (int g = 0; g < G; g++) {
            /* acc - acc is 0 for a finite lane, NaN otherwise */
            __m256 t = _mm256_sub_ps(acc[f][g], acc[f][g]);
            odd |= _mm256_movemask_ps(_mm256_cmp_ps(t, zero, _CMP_NEQ_UQ));
            if (!xf)
                continue;
            float *zp = z + (size_t)f * N + 8 * g;
            if (PART(g))
                _mm256_maskstore_ps(zp, m, acc[f][g]);
            else
                _mm256_storeu_ps(zp, acc[f][g]);
        }
    }
#undef LOAD
#undef PART
#undef AT
    if (!odd || nu == 0)
        return 0;
    return soma_gdt_scan(wt, K, (size_t)(8 * (G - 1) + nlast), nu, xu);
}

/* Each shape of block as a function of its own, so that the compiler
 * allocates registers for one shape at a time (inlined into one function,
 * it kept vectors on the stack). */
#define BLOCK(G, BF, ONE)                                                      \
    static __attribute__((noinline)) int block_##G##_##BF##_##ONE(             \
        int nlast, float *wt, size_t K, size_t N, size_t nu, const float *du,  \
        const float *xu, float lr, const float *xf, float *z)                  \
    {                                                                          \
        /* whole groups but in the one-group tail: no masks to keep */        \
        return G > 1 ? cols(G, BF, ONE, 8, wt, K, N, nu, du, xu, lr, xf, z)   \
                     : cols(G, BF, ONE, nlast, wt, K, N, nu, du, xu, lr, xf, \
                            z);                                               \
    }
BLOCK(8, 1, 0)
BLOCK(8, 1, 1)
BLOCK(2, 1, 0)
BLOCK(2, 1, 1)
BLOCK(1, 1, 0)
BLOCK(1, 1, 1)
BLOCK(2, 2, 0)
BLOCK(2, 2, 1)
BLOCK(1, 2, 0)
BLOCK(1, 2, 1)
BLOCK(2, 3, 0)
BLOCK(2, 3, 1)
BLOCK(1, 3, 0)
BLOCK(1, 3, 1)
BLOCK(2, 4, 0)
BLOCK(2, 4, 1)
BLOCK(1, 4, 0)
BLOCK(1, 4, 1)
#undef BLOCK

typedef int (*block_fn)(int nlast, float *wt, size_t K, size_t N, size_t nu,
                        const float *du, const float *xu, float lr,
                        const float *xf, float *z);

/* [BF - 1][shape][one]: shape 0 four panels (one example only), 1 one
 * panel, 2 a group of 8 columns or fewer; nu 1 or not */
static const block_fn blocks[4][3][2] = {
    {{block_8_1_0, block_8_1_1}, {block_2_1_0, block_2_1_1}, {block_1_1_0, block_1_1_1}},
    {{NULL, NULL}, {block_2_2_0, block_2_2_1}, {block_1_2_0, block_1_2_1}},
    {{NULL, NULL}, {block_2_3_0, block_2_3_1}, {block_1_3_0, block_1_3_1}},
    {{NULL, NULL}, {block_2_4_0, block_2_4_1}, {block_1_4_0, block_1_4_1}},
};

/* One pass over all N columns with bf (1 to 4) examples' chains: blocks of
 * 64 columns for one example, of one panel for more. */
static int pass(size_t bf, float *wt, size_t K, size_t N, size_t nu,
                const float *du, const float *xu, float lr, const float *xf,
                float *z)
{
    const block_fn *b = blocks[bf - 1][0];
    int one = nu == 1, bad = 0;
    size_t j = 0;
#define RUN(shape, n)                                                          \
    bad |= b[2 * (shape) + one](n, wt + 16 * K * (j / 16) + j % 16, K, N, nu,  \
                                nu ? du + j : NULL, xu, lr, xf,               \
                                z ? z + j : NULL)
    if (bf == 1)
        for (; j + 64 <= N; j += 64)
            RUN(0, 8);
    for (; j + 16 <= N; j += 16)
        RUN(1, 8);
    for (; j < N; j += 8)
        RUN(2, N - j < 8 ? (int)(N - j) : 8);
#undef RUN
    return bad;
}

int soma_gdt_step_avx2(float *wt, size_t K, size_t N, size_t nu,
                       const float *du, const float *xu, float lr, size_t nf,
                       const float *xf, float *z)
{
    return soma_gdt_passes(pass, wt, K, N, nu, du, xu, lr, nf, xf, z);
}

#else
typedef int soma_update_avx2_unused;
#endif
