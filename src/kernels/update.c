/*
 * update.c - the weight update of one example (batch size 1) for plain
 * gradient descent, on a row of a weight (soma_rank1_gd) and on a whole
 * transposed weight together with the next example's product
 * (soma_rank1t_gd): the naive references, and the choice of kernel for
 * this CPU (the SIMD ones are in update_avx2.c and update_avx512.c).
 * Contracts in kernels.h.
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

int soma_rank1t_gd_ref(float *wt, size_t K, size_t N, const float *du,
                       const float *xu, float lr, const float *xf, float *z)
{
    unsigned acc = 0;
    if (xf)
        for (size_t j = 0; j < N; j++)
            z[j] = 0.0f;
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < N; j++) {
            float *w = wt + 16 * K * (j / 16) + 16 * k + j % 16;
            if (xu && xu[k] != 0.0f) {
                float g = fmaf(du[j], xu[k], 0.0f);
                *w = *w - lr * g;
                acc |= nonfinite_bit(*w);
            }
            if (xf)
                z[j] = fmaf(xf[k], *w, z[j]);
        }
    return (acc & 0x80000000u) != 0;
}

int soma_rank1t_scan(const float *wt, size_t K, size_t N, const float *xu)
{
    for (size_t k = 0; xu && k < K; k++)
        if (xu[k] != 0.0f)
            for (size_t j = 0; j < N; j++)
                if (!isfinite(wt[16 * K * (j / 16) + 16 * k + j % 16]))
                    return 1;
    return 0;
}

void soma_rank1t_pack(const float *W, size_t K, size_t N, float *wt)
{
    memset(wt, 0, SOMA_RANK1T_FLOATS(K, N) * sizeof(float));
    for (size_t j = 0; j < N; j++)
        for (size_t k = 0; k < K; k++)
            wt[16 * K * (j / 16) + 16 * k + j % 16] = W[j * K + k];
}

void soma_rank1t_unpack(const float *wt, size_t K, size_t N, float *W)
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

soma_rank1t_gd_fn soma_rank1t_gd_best(void)
{
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
    if (soma_kernel_level() >= 2)
        return soma_rank1t_gd_avx512;
    if (soma_kernel_level() >= 1)
        return soma_rank1t_gd_avx2;
#endif
    return soma_rank1t_gd_ref;
}
