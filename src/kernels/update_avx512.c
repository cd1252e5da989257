/*
 * update_avx512.c - soma_gdt_step with AVX-512 (contract in kernels.h).
 * Compiled with -mavx512f; called only after soma_cpu_has_avx512().
 *
 * A pass runs over the rows k of a block of G panels (16 columns each) and
 * keeps in registers the block's G weight vectors of row k and BF of the
 * next batch's chains per panel: 128 columns for one example (8 + 8
 * registers), 64 for two to four (4 + 16). More than four examples take
 * several passes, the first of which also applies the update.
 */
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)

#include "kernels.h"

#include <immintrin.h>
#include <math.h>

/* Columns [0, 16G) at wt (a panel's start), the last panel masked by
 * mlast; nu examples' update, then BF examples' chains (xf NULL: one chain
 * of zeros, which only checks the weights). N is the row stride of du and
 * z.
 *
 * The weights are checked through the chains: a NaN or infinite weight
 * makes its column's chain NaN or infinite (multiplying by 0 turns only a
 * NaN or an infinity into NaN), and a chain that ends non-finite sends the
 * columns to an exact scan (a product of finite numbers can overflow). */
static inline __attribute__((always_inline)) int
cols(int G, int BF, int ONE, __mmask16 mlast, float *wt, size_t K, size_t N,
     size_t nu, const float *du, const float *xu, float lr, const float *xf,
     float *z)
{
    const size_t pk = 16 * K; /* one panel */
    __m512 zero = _mm512_setzero_ps(), vlr = _mm512_set1_ps(lr);
    __m512 acc[4][8], d1[8];
#define MASK(g) ((g) == G - 1 ? mlast : (__mmask16)0xffff)
    SOMA_UNROLL
    for (int f = 0; f < BF; f++) {
        SOMA_UNROLL
        for (int g = 0; g < G; g++)
            acc[f][g] = zero;
    }
    /* ONE: nu is 1, and its deltas stay in registers */
    SOMA_UNROLL
    for (int g = 0; g < G; g++)
        d1[g] = ONE ? _mm512_maskz_loadu_ps(MASK(g), du + 16 * g) : zero;
    for (size_t k = 0; k < K; k++) {
        float *w = wt + 16 * k;
        /* with ONE, nu is 1 at compile time */
        int moves = soma_gdt_row_moves(xu, ONE ? 1 : nu, K, k);
        if (!moves && !xf)
            continue;
        __m512 xfv[4];
        SOMA_UNROLL
        for (int f = 0; f < BF; f++)
            xfv[f] = _mm512_set1_ps(xf ? xf[(size_t)f * K + k] : 0.0f);
        /* two loops, not a test in one: a branch per panel cost 20% */
        if (moves) {
            SOMA_UNROLL
            for (int g = 0; g < G; g++) {
                __m512 gv = zero;
                if (ONE)
                    gv = _mm512_fmadd_ps(d1[g], _mm512_set1_ps(xu[k]), zero);
                else
                    for (size_t b = 0; b < nu; b++)
                        gv = _mm512_fmadd_ps(
                            _mm512_maskz_loadu_ps(MASK(g), du + b * N + 16 * g),
                            _mm512_set1_ps(xu[b * K + k]), gv);
                __m512 wv = _mm512_sub_ps(
                    _mm512_maskz_loadu_ps(MASK(g), w + pk * g),
                    _mm512_mul_ps(vlr, gv));
                _mm512_mask_storeu_ps(w + pk * g, MASK(g), wv);
                SOMA_UNROLL
                for (int f = 0; f < BF; f++)
                    acc[f][g] = _mm512_fmadd_ps(xfv[f], wv, acc[f][g]);
            }
        } else {
            SOMA_UNROLL
            for (int g = 0; g < G; g++) {
                __m512 wv = _mm512_maskz_loadu_ps(MASK(g), w + pk * g);
                SOMA_UNROLL
                for (int f = 0; f < BF; f++)
                    acc[f][g] = _mm512_fmadd_ps(xfv[f], wv, acc[f][g]);
            }
        }
    }
    __mmask16 odd = 0;
    SOMA_UNROLL
    for (int f = 0; f < BF; f++) {
        SOMA_UNROLL
        for (int g = 0; g < G; g++) {
            __m512 t = _mm512_sub_ps(acc[f][g], acc[f][g]);
            odd |= _mm512_cmp_ps_mask(t, zero, _CMP_NEQ_UQ);
            if (xf)
                _mm512_mask_storeu_ps(z + (size_t)f * N + 16 * g, MASK(g),
                                      acc[f][g]);
        }
    }
#undef MASK
    if (!odd || nu == 0)
        return 0;
    size_t n = 16 * (size_t)(G - 1);
    for (__mmask16 m = mlast; m; m >>= 1)
        n++;
    return soma_gdt_scan(wt, K, n, nu, xu);
}

/* Each shape of block as a function of its own: inlined into one
 * function, the compiler ran short of registers and kept some of the
 * block's vectors on the stack (37 spilling moves; none this way). */
#define BLOCK(G, BF, ONE)                                                      \
    static __attribute__((noinline)) int block_##G##_##BF##_##ONE(             \
        __mmask16 m, float *wt, size_t K, size_t N, size_t nu,                 \
        const float *du, const float *xu, float lr, const float *xf, float *z) \
    {                                                                          \
        /* a constant mask for whole blocks: masked stores are slow */        \
        return G > 1 ? cols(G, BF, ONE, 0xffff, wt, K, N, nu, du, xu, lr, xf, \
                            z)                                                \
                     : cols(G, BF, ONE, m, wt, K, N, nu, du, xu, lr, xf, z);  \
    }
BLOCK(8, 1, 0)
BLOCK(8, 1, 1)
BLOCK(1, 1, 0)
BLOCK(1, 1, 1)
BLOCK(4, 2, 0)
BLOCK(4, 2, 1)
BLOCK(1, 2, 0)
BLOCK(1, 2, 1)
BLOCK(4, 3, 0)
BLOCK(4, 3, 1)
BLOCK(1, 3, 0)
BLOCK(1, 3, 1)
BLOCK(4, 4, 0)
BLOCK(4, 4, 1)
BLOCK(1, 4, 0)
BLOCK(1, 4, 1)
#undef BLOCK

typedef int (*block_fn)(__mmask16 m, float *wt, size_t K, size_t N, size_t nu,
                        const float *du, const float *xu, float lr,
                        const float *xf, float *z);

/* [BF - 1][tail][one]: the full block (8 panels for one example, 4 for
 * more) or one panel, nu 1 or not */
static const block_fn blocks[4][2][2] = {
    {{block_8_1_0, block_8_1_1}, {block_1_1_0, block_1_1_1}},
    {{block_4_2_0, block_4_2_1}, {block_1_2_0, block_1_2_1}},
    {{block_4_3_0, block_4_3_1}, {block_1_3_0, block_1_3_1}},
    {{block_4_4_0, block_4_4_1}, {block_1_4_0, block_1_4_1}},
};

/* One pass over all N columns with bf (1 to 4) examples' chains. */
static int pass(size_t bf, float *wt, size_t K, size_t N, size_t nu,
                const float *du, const float *xu, float lr, const float *xf,
                float *z)
{
    const size_t W = bf == 1 ? 128 : 64; /* columns a block */
    int one = nu == 1, bad = 0;
    size_t j = 0;
    for (; j + W <= N; j += W)
        bad |= blocks[bf - 1][0][one](0xffff, wt + K * j, K, N, nu,
                                      nu ? du + j : NULL, xu, lr, xf,
                                      z ? z + j : NULL);
    for (; j < N; j += 16) {
        size_t n = N - j < 16 ? N - j : 16;
        bad |= blocks[bf - 1][1][one]((__mmask16)((1u << n) - 1u), wt + K * j,
                                      K, N, nu, nu ? du + j : NULL, xu, lr, xf,
                                      z ? z + j : NULL);
    }
    return bad;
}

int soma_gdt_step_avx512(float *wt, size_t K, size_t N, size_t nu,
                         const float *du, const float *xu, float lr, size_t nf,
                         const float *xf, float *z)
{
    return soma_gdt_passes(pass, wt, K, N, nu, du, xu, lr, nf, xf, z);
}

#else
typedef int soma_update_avx512_unused;
#endif
