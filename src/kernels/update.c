/*
 * update.c - the weight update of one example (batch size 1) for plain
 * gradient descent: the naive reference, and the choice of kernel for this
 * CPU (the AVX2+FMA one is in update_avx2.c). Contract in kernels.h.
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

soma_rank1_gd_fn soma_rank1_gd_best(void)
{
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
    if (soma_kernel_level() >= 1)
        return soma_rank1_gd_avx2;
#endif
    return soma_rank1_gd_ref;
}
