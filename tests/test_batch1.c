/*
 * test_batch1.c - batch size 1 takes a path of its own in the trainer
 * (fused_update in src/train.c: the weight gradient is never written out,
 * plain gradient descent updates each row in one pass and skips rows whose
 * delta is 0). It must give the bits of the general path. The reference
 * here is that path taken by hand: soma_trainer_gradient (the general
 * forward and backward), weight decay, then soma_opt_update over the whole
 * parameter array, one example at a time in order.
 */
#include "harness.h"
#include "internal.h"
#include "kernels/kernels.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 23 };

/* Inputs with exact zeros (rows of a ReLU layer and columns of the input
 * skipped by the fast path) and a few negative zeros. */
static void make_data(int d, int k, soma_loss loss, float *x, float *y)
{
    int y_cols = loss == SOMA_LOSS_CE ? 1 : k;
    unsigned s = 99;
    for (int i = 0; i < N * d; i++) {
        s = s * 1103515245u + 12345u;
        unsigned r = s >> 8;
        x[i] = r % 5 == 0 ? 0.0f : r % 17 == 0 ? -0.0f
                                 : (float)(r & 0xffff) / 32768.0f - 1.0f;
    }
    for (int i = 0; i < N * y_cols; i++) {
        if (loss == SOMA_LOSS_CE)
            y[i] = (float)(i % k);
        else if (loss == SOMA_LOSS_BCE)
            y[i] = (float)(i % 2);
        else
            y[i] = (float)i / (N * y_cols) - 0.5f;
    }
}

static void same_bits(const soma_spec *spec, soma_optimizer opt, double wd)
{
    int d = spec->n_inputs, k = spec->layers[spec->n_layers - 1].units;
    int y_cols = spec->loss == SOMA_LOSS_CE ? 1 : k;
    float *x = malloc(sizeof(float) * N * (size_t)d);
    float *y = malloc(sizeof(float) * N * (size_t)y_cols);
    soma_error err;
    soma_net *fast = soma_net_new(spec, &err), *ref = NULL;
    CHECK(x && y && fast);
    if (!x || !y || !fast)
        goto done;
    make_data(d, k, spec->loss, x, y);
    CHECK(soma_net_init(fast, SOMA_INIT_HE, 5, &err) == SOMA_OK);
    ref = soma_net_clone(fast, &err);
    CHECK(ref != NULL);
    if (!ref)
        goto done;

    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = opt;
    cfg.learning_rate = opt == SOMA_OPT_ADAM ? 0.01 : 0.1;
    cfg.momentum = opt == SOMA_OPT_SGD ? 0.9 : 0.0;
    cfg.beta1 = 0.9, cfg.beta2 = 0.999, cfg.epsilon = 1e-8;
    cfg.weight_decay = wd;
    cfg.batch_size = 1;
    cfg.shuffle = 0;
    cfg.epochs = 3;
    cfg.threads = 1;
    soma_trainer *tf = soma_trainer_new(fast, &cfg, N, &err);
    soma_trainer *tr = soma_trainer_new(ref, &cfg, N, &err);
    size_t P = ref->n_params;
    float *g = calloc(P, sizeof(float)), *m = calloc(P, sizeof(float)),
          *v = calloc(P, sizeof(float));
    CHECK(tf && tr && g && m && v);
    double b1p = 1.0, b2p = 1.0;
    for (int e = 0; tf && tr && g && m && v && e < cfg.epochs; e++) {
        CHECK(soma_trainer_epoch(tf, x, y, N, y_cols, NULL, NULL, &err) ==
              SOMA_OK);
        for (int i = 0; i < N; i++) {
            soma_trainer_gradient(tr, x + (size_t)i * d, y + (size_t)i * y_cols,
                                  1, y_cols, g);
            for (int l = 0; l < ref->n_layers; l++) {
                size_t w0 = ref->w_off[l];
                size_t nw = (size_t)ref->layers[l].units * (size_t)ref->fan_in[l];
                for (size_t j = w0; j < w0 + nw; j++)
                    g[j] += (float)wd * ref->params[j];
            }
            b1p *= cfg.beta1;
            b2p *= cfg.beta2;
            soma_opt_params op = {opt,
                                  (float)cfg.learning_rate,
                                  (float)cfg.momentum,
                                  (float)cfg.beta1,
                                  (float)cfg.beta2,
                                  (float)cfg.epsilon,
                                  b1p,
                                  b2p};
            CHECK(!soma_opt_update(&op, ref->params, g, m, v, P));
        }
        /* the same bits after every epoch */
        CHECK(memcmp(fast->params, ref->params, P * sizeof(float)) == 0);
    }
    soma_trainer_free(tf);
    soma_trainer_free(tr);
    free(g);
    free(m);
    free(v);
done:
    soma_net_free(fast);
    soma_net_free(ref);
    free(x);
    free(y);
}

static const soma_optimizer opts[3] = {SOMA_OPT_GD, SOMA_OPT_SGD, SOMA_OPT_ADAM};

/* ReLU hidden layer (dead units: skipped rows), softmax and ce. */
static void test_relu_softmax(void)
{
    soma_layer_spec layers[2] = {{16, SOMA_ACT_RELU, 1},
                                 {3, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {6, 2, layers, SOMA_LOSS_CE};
    for (int o = 0; o < 3; o++)
        for (int w = 0; w < 2; w++)
            same_bits(&spec, opts[o], w ? 1e-3 : 0.0);
}

/* Three layers, one without bias, a leaky ReLU (no zero deltas) and a
 * wide enough input that a gradient chunk holds several rows but not all. */
static void test_deep_no_bias(void)
{
    soma_layer_spec layers[3] = {{40, SOMA_ACT_TANH, 1},
                                 {9, SOMA_ACT_LEAKY_RELU, 0},
                                 {1, SOMA_ACT_SIGMOID, 1}};
    soma_spec spec = {300, 3, layers, SOMA_LOSS_BCE};
    for (int o = 0; o < 3; o++)
        for (int w = 0; w < 2; w++)
            same_bits(&spec, opts[o], w ? 1e-3 : 0.0);
}

/* A single linear neuron with mse (the post's shape of problem). */
static void test_linear(void)
{
    soma_layer_spec layers[1] = {{2, SOMA_ACT_LINEAR, 1}};
    soma_spec spec = {4, 1, layers, SOMA_LOSS_MSE};
    for (int o = 0; o < 3; o++)
        same_bits(&spec, opts[o], 0.0);
}

/* soma_rank1_gd: the kernel for this CPU against the reference, bit for bit,
 * at every length up to 70 and on unaligned rows, and its NaN flag. */
static void test_rank1_kernel(void)
{
    soma_rank1_gd_fn fast = soma_rank1_gd_best();
    float xs[72], w0[72], w1[72], w2[72];
    soma_rng r;
    soma_rng_seed(&r, 3);
    int mismatch = 0;
    for (int n = 0; n <= 70; n++)
        for (int t = 0; t < 4; t++) {
            for (int i = 0; i < 72; i++) {
                xs[i] = i % 7 == 0 ? 0.0f : 4.0f * soma_rng_float(&r) - 2.0f;
                w0[i] = 2.0f * soma_rng_float(&r) - 1.0f;
            }
            float dj = t == 0 ? -0.0f : 3.0f * soma_rng_float(&r) - 1.5f;
            memcpy(w1, w0, sizeof w0);
            memcpy(w2, w0, sizeof w0);
            int a = soma_rank1_gd_ref(w1 + 1, xs + (t & 1), (size_t)n, dj, 0.25f);
            int b = fast(w2 + 1, xs + (t & 1), (size_t)n, dj, 0.25f);
            mismatch |= a != b || a != 0 ||
                        memcmp(w1, w2, sizeof w1) != 0;
        }
    CHECK(!mismatch);
    /* an update past FLT_MAX is flagged, at any position */
    for (int n = 1; n <= 20; n++) {
        for (int i = 0; i < n; i++)
            xs[i] = 1.0f, w1[i] = w2[i] = 0.0f;
        w1[n - 1] = w2[n - 1] = -FLT_MAX;
        CHECK(soma_rank1_gd_ref(w1, xs, (size_t)n, 1e30f, 1e9f) == 1);
        CHECK(fast(w2, xs, (size_t)n, 1e30f, 1e9f) == 1);
        CHECK(memcmp(w1, w2, (size_t)n * sizeof(float)) == 0);
    }
}

int main(void)
{
    RUN(test_rank1_kernel);
    RUN(test_relu_softmax);
    RUN(test_deep_no_bias);
    RUN(test_linear);
    return harness_summary();
}
