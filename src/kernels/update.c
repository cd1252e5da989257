/*
 * update.c - plain gradient descent for one example on a row of a weight
 * (soma_rank1_gd), and for a few examples on a whole transposed weight
 * together with the next examples' product (soma_gdt_step): the naive
 * references, and the choice of kernel for this CPU (the SIMD ones are in
 * update_avx2.c and update_avx512.c). Contracts in kernels.h.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* The sign bit is set exactly when w is NaN or infinite (its exponent is
 * all ones, so adding one to it carries into the sign). */
static inline unsigned nonfinite_bit(float w)
{
    unsigned b;
    memcpy(&b, &w, sizeof b);
    return (b & 0x7f800000u) + 0x00800000u;
}

int soma_rank1_gd_ref(float *w, const float *x, size_t n, float d, float lr)
{
    unsigned acc = 0;
    for (size_t k = 0; k < n; k++) {
        float g = fmaf(d, x[k], 0.0f);
        w[k] = w[k] - lr * g;
        acc |= nonfinite_bit(w[k]);
    }
    return (acc & 0x80000000u) != 0;
}

int soma_gdt_step_ref(float *wt, size_t K, size_t N, size_t nu,
                      const float *du, const float *xu, float lr, size_t nf,
                      const float *xf, float *z)
{
    unsigned acc = 0;
    for (size_t i = 0; i < nf * N; i++)
        z[i] = 0.0f;
    for (size_t k = 0; k < K; k++) {
        int moves = soma_gdt_row_moves(xu, nu, K, k);
        for (size_t j = 0; j < N; j++) {
            float *w = wt + 16 * K * (j / 16) + 16 * k + j % 16;
            if (moves) {
                float g = 0.0f;
                for (size_t b = 0; b < nu; b++)
                    g = fmaf(du[b * N + j], xu[b * K + k], g);
                *w = *w - lr * g;
                acc |= nonfinite_bit(*w);
            }
            for (size_t b = 0; b < nf; b++)
                z[b * N + j] = fmaf(xf[b * K + k], *w, z[b * N + j]);
        }
    }
    return (acc & 0x80000000u) != 0;
}

int soma_gdt_passes(soma_gdt_pass_fn pass, float *wt, size_t K, size_t N,
                    size_t nu, const float *du, const float *xu, float lr,
                    size_t nf, const float *xf, float *z)
{
    int bad = 0;
    size_t f0 = 0;
    do {
        size_t bf = nf - f0 < 4 ? nf - f0 : 4;
        const float *x = bf ? xf + f0 * K : NULL;
        float *zz = bf ? z + f0 * N : NULL;
        size_t u = f0 == 0 ? nu : 0; /* the first pass updates */
        bad |= pass(bf ? bf : 1, wt, K, N, u, du, xu, lr, x, zz);
        f0 += bf;
    } while (f0 < nf);
    return bad;
}

int soma_gdt_scan(const float *wt, size_t K, size_t N, size_t nu,
                  const float *xu)
{
    for (size_t k = 0; k < K; k++)
        if (soma_gdt_row_moves(xu, nu, K, k))
            for (size_t j = 0; j < N; j++)
                if (!isfinite(wt[16 * K * (j / 16) + 16 * k + j % 16]))
                    return 1;
    return 0;
}

void soma_gdt_pack(const float *W, size_t K, size_t N, float *wt)
{
    memset(wt, 0, SOMA_GDT_FLOATS(K, N) * sizeof(float));
    for (size_t j = 0; j < N; j++)
        for (size_t k = 0; k < K; k++)
            wt[16 * K * (j / 16) + 16 * k + j % 16] = W[j * K + k];
}

void soma_gdt_unpack(const float *wt, size_t K, size_t N, float *W)
{
    for (size_t j = 0; j < N; j++)
        for (size_t k = 0; k < K; k++)
            W[j * K + k] = wt[16 * K * (j / 16) + 16 * k + j % 16];
}

soma_rank1_gd_fn soma_rank1_gd_best(void)
{
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
    if (soma_kernel_level() >= 1)
        return soma_rank1_gd_avx2;
#endif
    return soma_rank1_gd_ref;
}

soma_gdt_step_fn soma_gdt_step_best(void)
{
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
    if (soma_kernel_level() >= 2)
        return soma_gdt_step_avx512;
    if (soma_kernel_level() >= 1)
        return soma_gdt_step_avx2;
#endif
    return soma_gdt_step_ref;
}
