/*
 * activations.c - activation functions, forward and backward side by side.
 * x, y and g are [rows, cols]; every function works in place.
 */
#include "internal.h"
#include "kernels/kernels.h"

static float sigmoidf(float z)
{
    return 1.0f / (1.0f + soma_expf(-z));
}

/* tanh from expm1 so small arguments keep full relative precision. */
static float tanhf_soma(float z)
{
    float a = z < 0.0f ? -z : z;
    float e = soma_expm1f(-2.0f * a); /* in (-1, 0] */
    float t = -e / (e + 2.0f);
    return z < 0.0f ? -t : t;
}

static void softmax_row(float *x, int n)
{
    float m = x[0];
    for (int j = 1; j < n; j++)
        if (x[j] > m)
            m = x[j];
    float s = 0.0f;
    for (int j = 0; j < n; j++) {
        x[j] = soma_expf(x[j] - m);
        s += x[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < n; j++)
        x[j] *= inv;
}

void soma_act_forward(soma_activation a, float *x, size_t rows, int cols)
{
    size_t n = rows * (size_t)cols;
    switch (a) {
    case SOMA_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            x[i] = sigmoidf(x[i]);
        break;
    case SOMA_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            x[i] = tanhf_soma(x[i]);
        break;
    case SOMA_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case SOMA_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : SOMA_LEAKY_SLOPE * x[i];
        break;
    case SOMA_ACT_LINEAR:
        break;
    case SOMA_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++)
            softmax_row(x + r * (size_t)cols, cols);
        break;
    }
}

void soma_act_backward(soma_activation a, const float *y, float *g, size_t rows,
                       int cols)
{
    size_t n = rows * (size_t)cols;
    switch (a) {
    case SOMA_ACT_SIGMOID: /* y' = y (1 - y) */
        for (size_t i = 0; i < n; i++)
            g[i] = g[i] * (y[i] * (1.0f - y[i]));
        break;
    case SOMA_ACT_TANH: /* y' = 1 - y^2 */
        for (size_t i = 0; i < n; i++)
            g[i] = g[i] * (1.0f - y[i] * y[i]);
        break;
    case SOMA_ACT_RELU: /* y > 0 exactly where z > 0 */
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : 0.0f;
        break;
    case SOMA_ACT_LEAKY_RELU: /* the slope is positive, so y keeps z's sign */
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : SOMA_LEAKY_SLOPE * g[i];
        break;
    case SOMA_ACT_LINEAR:
        break;
    case SOMA_ACT_SOFTMAX: /* dz_j = y_j (g_j - sum_i g_i y_i) */
        for (size_t r = 0; r < rows; r++) {
            const float *yr = y + r * (size_t)cols;
            float *gr = g + r * (size_t)cols;
            float dot = 0.0f;
            for (int j = 0; j < cols; j++)
                dot += gr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                gr[j] = yr[j] * (gr[j] - dot);
        }
        break;
    }
}
