/*
 * optimizers.c - parameter updates as flat loops over the one parameter
 * array (see struct soma_net): w, g, m and v share offsets.
 */
#include "internal.h"

#include <math.h>

void soma_opt_update(const soma_opt_params *p, float *restrict w,
                     const float *restrict g, float *restrict m,
                     float *restrict v, size_t n)
{
    switch (p->kind) {
    case SOMA_OPT_GD:
        for (size_t i = 0; i < n; i++)
            w[i] -= p->lr * g[i];
        break;
    case SOMA_OPT_SGD: /* PyTorch's form: v = mu v + g; w -= lr v */
        for (size_t i = 0; i < n; i++) {
            m[i] = p->momentum * m[i] + g[i];
            w[i] -= p->lr * m[i];
        }
        break;
    case SOMA_OPT_ADAM: {
        /* PyTorch's form: w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps) */
        float step = (float)((double)p->lr / (1.0 - p->beta1_pow));
        float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - p->beta2_pow));
        float b1 = p->beta1, b2 = p->beta2;
        float c1 = 1.0f - b1, c2 = 1.0f - b2;
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + c1 * g[i];
            v[i] = b2 * v[i] + c2 * (g[i] * g[i]);
            float denom = sqrtf(v[i]) * inv_sqrt_bc2 + p->epsilon;
            w[i] -= step * (m[i] / denom);
        }
        break;
    }
    }
}
