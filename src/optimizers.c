/*
 * optimizers.c - parameter updates as flat loops over the one parameter
 * array (see struct soma_net): w, g, m and v share offsets.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* The exponent field of w is all ones (NaN or infinity) exactly when adding
 * one to it carries into the sign bit: OR-ed over a loop, this checks every
 * updated weight in the same pass, without a branch. */
static inline uint32_t nonfinite_bit(float w)
{
    uint32_t b;
    memcpy(&b, &w, sizeof b);
    return (b & 0x7f800000u) + 0x00800000u;
}

SOMA_VECTOR_CLONES
int soma_opt_update(const soma_opt_params *p, float *restrict w,
                    const float *restrict g, float *restrict m,
                    float *restrict v, size_t n)
{
    uint32_t acc = 0;
    switch (p->kind) {
    case SOMA_OPT_GD: {
        float lr = p->lr;
        for (size_t i = 0; i < n; i++) {
            w[i] -= lr * g[i];
            acc |= nonfinite_bit(w[i]);
        }
        break;
    }
    case SOMA_OPT_SGD: { /* PyTorch's form: v = mu v + g; w -= lr v */
        float lr = p->lr, mu = p->momentum;
        for (size_t i = 0; i < n; i++) {
            m[i] = mu * m[i] + g[i];
            w[i] -= lr * m[i];
            acc |= nonfinite_bit(w[i]);
        }
        break;
    }
    case SOMA_OPT_ADAM: {
        /* PyTorch's form: w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps) */
        float step = (float)((double)p->lr / (1.0 - p->beta1_pow));
        float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - p->beta2_pow));
        float b1 = p->beta1, b2 = p->beta2, eps = p->epsilon;
        float c1 = 1.0f - b1, c2 = 1.0f - b2;
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + c1 * g[i];
            v[i] = b2 * v[i] + c2 * (g[i] * g[i]);
            float denom = sqrtf(v[i]) * inv_sqrt_bc2 + eps;
            w[i] -= step * (m[i] / denom);
            acc |= nonfinite_bit(w[i]);
        }
        break;
    }
    }
    return (acc & 0x80000000u) != 0;
}

SOMA_VECTOR_CLONES
int soma_any_nonfinite(const float *x, size_t n)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= nonfinite_bit(x[i]);
    return (acc & 0x80000000u) != 0;
}
