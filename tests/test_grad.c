/*
 * test_grad.c - the backward pass against central finite differences, and
 * the parameter updates against their formulas.
 *
 * Gradients: soma_trainer_gradient (the training path: forward, fused or
 * unfused loss gradient, activation backward, the two sgemm products and
 * the bias sums) is compared with (L(w + h) - L(w - h)) / 2h, where L is
 * soma_evaluate's loss over the same rows. Both normalise the same way
 * (mean over the n rows, a sum for sse), so they must agree for every
 * loss, every activation as hidden and as output layer, with and without
 * bias.
 *
 * Precision: the forward pass is float32 and the loss is summed in double,
 * so L carries rounding noise of a few units of 2^-24 relative, which the
 * difference divides by 2h. With h = 1e-2 that is ~5e-6 for L ~ 1 (sse sums
 * reach L ~ 90, hence a noise term proportional to |L|), and the truncation
 * error h^2 / 6 * L''' stays below ~1e-5 for these small nets. A parameter
 * passes when
 *     |num - ana| <= 1e-4 + 4 * 2^-24 * max(1, |L|) / h
 *                    + 1e-2 * max(|num|, |ana|)
 * and the whole gradient vector when ||num - ana|| <= 1e-2 ||num||; the
 * worst case uses under half of that. A missing factor (2 in mse, 1/n, a
 * dropped bias row, a wrong activation derivative) is far outside both.
 * relu and leaky_relu have kinks: a parameter whose +-h step flips the sign
 * of any relu/leaky pre-activation is retried with h / 10 and skipped (and
 * counted, at most 10% of a net) if it still does; every other parameter
 * must pass.
 */
#include "harness.h"
#include "internal.h"
#include "kernels/kernels.h"

static float gemm_ws[SOMA_GEMM_WS];

#include <math.h>
#include <stdlib.h>

#define N_ROWS 6
#define N_IN 4
#define FD_H 1e-2f
#define ATOL 1e-4
#define RTOL 1e-2

/* The worst |num - ana| / tolerance of the current test, printed at its
 * end to show the margin. */
static double worst_ratio;

static const char *act_names[6] = {"sigmoid", "tanh",   "relu",
                                   "leaky",   "linear", "softmax"};

static float uniform(soma_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * soma_rng_float(r);
}

/* A 4-5-3-k net (or any spec) with glorot weights and biases moved off 0
 * so that their gradients are not trivially tied to the weights'. */
static soma_net *make_net(const soma_layer_spec *layers, int n_layers,
                          soma_loss loss, uint64_t seed)
{
    soma_spec spec = {N_IN, n_layers, layers, loss};
    soma_error err;
    soma_net *net = soma_net_new(&spec, &err);
    if (!net) {
        printf("  soma_net_new: %s\n", err.message);
        return NULL;
    }
    if (soma_net_init(net, SOMA_INIT_GLOROT, seed, &err) != SOMA_OK) {
        printf("  soma_net_init: %s\n", err.message);
        soma_net_free(net);
        return NULL;
    }
    soma_rng r;
    soma_rng_seed(&r, seed ^ 0xb1a5u);
    for (int l = 0; l < n_layers; l++) {
        float *b = soma_net_bias(net, l);
        if (b)
            for (int j = 0; j < layers[l].units; j++)
                b[j] = uniform(&r, -0.5f, 0.5f);
    }
    return net;
}

/* Targets for loss with k outputs: y [N_ROWS, y_cols]. For ce with y_cols
 * == k, rows are probability vectors (positive, summing to 1) unless
 * unnormalised is set. */
static void make_targets(soma_rng *r, soma_loss loss, int k, int y_cols,
                         int unnormalised, float *y)
{
    for (int i = 0; i < N_ROWS; i++) {
        float *t = y + i * y_cols;
        if (loss == SOMA_LOSS_CE && y_cols == 1) {
            t[0] = (float)soma_rng_below(r, (uint64_t)k);
        } else if (loss == SOMA_LOSS_CE) {
            float s = 0.0f;
            for (int j = 0; j < k; j++) {
                t[j] = uniform(r, 0.05f, 1.0f);
                s += t[j];
            }
            if (!unnormalised)
                for (int j = 0; j < k; j++)
                    t[j] /= s;
        } else if (loss == SOMA_LOSS_BCE) {
            for (int j = 0; j < k; j++)
                t[j] = (float)soma_rng_below(r, 2);
        } else {
            for (int j = 0; j < k; j++)
                t[j] = uniform(r, -1.0f, 1.0f);
        }
    }
}

static int has_kink(soma_activation a)
{
    return a == SOMA_ACT_RELU || a == SOMA_ACT_LEAKY_RELU;
}

/* Fills sign[] with (output > 0) for every unit of every row of every layer
 * with a kink, from a forward pass over the standardised x; returns the
 * count written. relu and leaky_relu outputs keep the sign of the
 * pre-activation, so a change of pattern means a kink was crossed. */
static size_t kink_pattern(const soma_net *net, const float *x, size_t n,
                           float *scratch, unsigned char *sign)
{
    float *acts[SOMA_MAX_LAYERS];
    float *in = scratch, *p = scratch + n * (size_t)net->n_inputs;
    soma_standardize_rows(net, x, n, in);
    for (int l = 0; l < net->n_layers; l++) {
        acts[l] = p;
        p += n * (size_t)net->layers[l].units;
    }
    soma_exec one = {NULL, 1, gemm_ws};
    soma_forward(&one, net, in, n, acts, NULL);
    size_t c = 0;
    for (int l = 0; l < net->n_layers; l++) {
        if (!has_kink(net->layers[l].activation))
            continue;
        size_t m = n * (size_t)net->layers[l].units;
        for (size_t i = 0; i < m; i++)
            sign[c++] = acts[l][i] > 0.0f;
    }
    return c;
}

typedef struct grad_result {
    size_t n_params, failed, kinked;
    double worst;    /* worst |num - ana| / (ATOL + RTOL max(|num|, |ana|)) */
    double rel_norm; /* ||num - ana|| / ||num|| over the non-kinked ones */
    int ok;          /* the setup worked and the loss matched */
} grad_result;

/* Compares soma_trainer_gradient with central differences of soma_evaluate
 * on net over x [N_ROWS, N_IN], y [N_ROWS, y_cols]. */
static grad_result grad_check(soma_net *net, const float *x, const float *y,
                              int y_cols, const char *label)
{
    grad_result res = {0, 0, 0, 0.0, 0.0, 0};
    soma_error err;
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.batch_size = 0; /* the whole set: n rows per batch */
    soma_trainer *t = soma_trainer_new(net, &cfg, N_ROWS, &err);
    size_t P = soma_net_n_params(net), width = (size_t)net->n_inputs;
    for (int l = 0; l < net->n_layers; l++)
        width += (size_t)net->layers[l].units;
    float *ana = malloc(P * sizeof(float));
    float *scratch = malloc(N_ROWS * width * sizeof(float));
    unsigned char *base = malloc(N_ROWS * width), *moved = malloc(N_ROWS * width);
    if (!t || !ana || !scratch || !base || !moved) {
        printf("  %s: setup failed\n", label);
        goto done;
    }
    res.n_params = P;
    double loss_g = soma_trainer_gradient(t, x, y, N_ROWS, y_cols, ana);
    double loss_e;
    if (soma_evaluate(net, x, y, N_ROWS, y_cols, &loss_e, NULL, NULL, &err) !=
        SOMA_OK) {
        printf("  %s: soma_evaluate: %s\n", label, err.message);
        goto done;
    }
    /* the gradient's loss is the same quantity the differences are taken
     * of */
    if (!(fabs(loss_g - loss_e) <= 1e-6 * (1.0 + fabs(loss_e)))) {
        printf("  %s: trainer loss %.9g, evaluate loss %.9g\n", label, loss_g,
               loss_e);
        goto done;
    }
    int kinks = 0;
    for (int l = 0; l < net->n_layers; l++)
        kinks |= has_kink(net->layers[l].activation);
    size_t n_sign = kinks ? kink_pattern(net, x, N_ROWS, scratch, base) : 0;

    /* loss rounding: the float forward pass perturbs L by a few units of
     * 2^-24 relative, which the difference divides by 2h */
    double noise = 4.0 * 0x1p-24 * fmax(1.0, fabs(loss_e));
    float *w = soma_net_params(net);
    double diff2 = 0.0, num2 = 0.0;
    for (size_t p = 0; p < P; p++) {
        float w0 = w[p], h = FD_H;
        double num = 0.0;
        int crossed = 1;
        /* a step that crosses a kink is retried 10 times shorter */
        for (int attempt = 0; attempt < 2 && crossed; attempt++, h *= 0.1f) {
            float wp = w0 + h, wm = w0 - h;
            double lp, lm;
            crossed = 0;
            w[p] = wp;
            soma_evaluate(net, x, y, N_ROWS, y_cols, &lp, NULL, NULL, NULL);
            if (kinks) {
                kink_pattern(net, x, N_ROWS, scratch, moved);
                crossed |= memcmp(base, moved, n_sign) != 0;
            }
            w[p] = wm;
            soma_evaluate(net, x, y, N_ROWS, y_cols, &lm, NULL, NULL, NULL);
            if (kinks) {
                kink_pattern(net, x, N_ROWS, scratch, moved);
                crossed |= memcmp(base, moved, n_sign) != 0;
            }
            w[p] = w0;
            /* the step actually taken in float, not the nominal 2h */
            num = (lp - lm) / ((double)wp - (double)wm);
        }
        h *= 10.0f; /* the step num was taken with */
        if (crossed) {
            res.kinked++;
            continue;
        }
        double a = (double)ana[p];
        double tol = ATOL + noise / (double)h + RTOL * fmax(fabs(num), fabs(a));
        double r = fabs(num - a) / tol;
        if (!(r <= res.worst))
            res.worst = r;
        if (!(r <= 1.0)) {
            if (res.failed < 4)
                printf("  %s: param %zu: numeric %.7g, analytic %.7g\n", label,
                       p, num, a);
            res.failed++;
        }
        diff2 += (num - a) * (num - a);
        num2 += num * num;
    }
    res.rel_norm = num2 > 0.0 ? sqrt(diff2 / num2) : sqrt(diff2);
    res.ok = 1;
done:
    free(ana);
    free(scratch);
    free(base);
    free(moved);
    soma_trainer_free(t);
    return res;
}

/* Builds the 4-5-3-k net for one case, draws inputs and targets, runs the
 * check and folds its verdict into the current test. Returns the number of
 * kink-skipped parameters. */
static size_t check_case(soma_loss loss, soma_activation hidden,
                         soma_activation out, int k, int y_cols, int bias,
                         uint64_t seed)
{
    soma_layer_spec layers[3] = {
        {5, hidden, bias}, {3, hidden, bias}, {k, out, bias}};
    char label[128];
    snprintf(label, sizeof label, "%s, hidden %s, output %s x%d, y_cols %d, %s",
             soma_loss_name(loss), act_names[hidden], act_names[out], k, y_cols,
             bias ? "bias" : "no bias");
    soma_net *net = make_net(layers, 3, loss, seed);
    CHECK(net != NULL);
    if (!net)
        return 0;
    soma_rng r;
    soma_rng_seed(&r, seed * 31 + 7);
    float x[N_ROWS * N_IN], y[N_ROWS * 8];
    for (int i = 0; i < N_ROWS * N_IN; i++)
        x[i] = uniform(&r, -2.0f, 2.0f);
    make_targets(&r, loss, k, y_cols, 0, y);
    grad_result g = grad_check(net, x, y, y_cols, label);
    worst_ratio = fmax(worst_ratio, g.worst);
    CHECK(g.ok);
    CHECK(g.failed == 0);
    /* all parameters checked, except a few whose step crossed a kink */
    if (g.kinked * 10 > g.n_params)
        printf("  %s: %zu of %zu parameters skipped at kinks\n", label,
               g.kinked, g.n_params);
    CHECK(g.kinked * 10 <= g.n_params);
    if (g.ok && !(g.rel_norm <= RTOL)) {
        printf("  %s: ||num - ana|| / ||num|| = %.3g\n", label, g.rel_norm);
        CHECK(g.rel_norm <= RTOL);
    }
    soma_net_free(net);
    return g.kinked;
}

/* sse and mse are not fused: every activation, softmax included, must
 * backpropagate dL/dout correctly as the output layer as well as hidden. */
static void test_grad_sse_mse(void)
{
    worst_ratio = 0.0;
    static const soma_loss losses[2] = {SOMA_LOSS_SSE, SOMA_LOSS_MSE};
    size_t kinked = 0;
    uint64_t seed = 100;
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 6; h++)
            for (int o = 0; o < 6; o++)
                for (int b = 0; b < 2; b++)
                    kinked += check_case(losses[l], (soma_activation)h,
                                         (soma_activation)o, 2, 2, b, seed++);
    printf("  sse/mse: %zu parameters skipped at kinks, worst error %.2f of "
           "the tolerance\n",
           kinked, worst_ratio);
}

static void test_grad_bce(void)
{
    worst_ratio = 0.0;
    uint64_t seed = 300;
    for (int h = 0; h < 6; h++)
        for (int b = 0; b < 2; b++) {
            check_case(SOMA_LOSS_BCE, (soma_activation)h, SOMA_ACT_SIGMOID, 1,
                       1, b, seed++);
            check_case(SOMA_LOSS_BCE, (soma_activation)h, SOMA_ACT_SIGMOID, 3,
                       3, b, seed++);
        }
    printf("  bce: worst error %.2f of the tolerance\n", worst_ratio);
}

static void test_grad_ce(void)
{
    worst_ratio = 0.0;
    uint64_t seed = 400;
    for (int h = 0; h < 6; h++)
        for (int b = 0; b < 2; b++) {
            /* class indices, then probability rows */
            check_case(SOMA_LOSS_CE, (soma_activation)h, SOMA_ACT_SOFTMAX, 3, 1,
                       b, seed++);
            check_case(SOMA_LOSS_CE, (soma_activation)h, SOMA_ACT_SOFTMAX, 3, 3,
                       b, seed++);
            check_case(SOMA_LOSS_CE, (soma_activation)h, SOMA_ACT_SOFTMAX, 2, 1,
                       b, seed++);
        }
    printf("  ce: worst error %.2f of the tolerance\n", worst_ratio);
}

/* A deeper net with a different activation in every layer, a single input
 * feature column scaled far from 1, and the net's standardisation on: the
 * gradient is with respect to the parameters acting on standardised
 * inputs, which evaluate reproduces. */
static void test_grad_deep_standardized(void)
{
    soma_layer_spec layers[5] = {{6, SOMA_ACT_TANH, 1},
                                 {5, SOMA_ACT_SIGMOID, 0},
                                 {4, SOMA_ACT_SOFTMAX, 1},
                                 {4, SOMA_ACT_LINEAR, 1},
                                 {3, SOMA_ACT_SOFTMAX, 1}};
    soma_net *net = make_net(layers, 5, SOMA_LOSS_CE, 77);
    CHECK(net != NULL);
    if (!net)
        return;
    soma_rng r;
    soma_rng_seed(&r, 78);
    float x[N_ROWS * N_IN], y[N_ROWS * 3];
    for (int i = 0; i < N_ROWS * N_IN; i++)
        x[i] = uniform(&r, -2.0f, 2.0f) * (i % N_IN == 2 ? 100.0f : 1.0f) +
               (i % N_IN == 1 ? 50.0f : 0.0f);
    make_targets(&r, SOMA_LOSS_CE, 3, 3, 0, y);
    float mean[N_IN], std[N_IN];
    CHECK(soma_standardize_fit(x, N_ROWS, N_IN, mean, std, NULL) == SOMA_OK);
    CHECK(soma_net_set_standardize(net, mean, std, NULL) == SOMA_OK);
    grad_result g = grad_check(net, x, y, 3, "deep, standardised");
    CHECK(g.ok);
    CHECK(g.failed == 0);
    CHECK(g.rel_norm <= RTOL);
    soma_net_free(net);
}

/* ce with y_cols = k takes "one probability row per example", and
 * soma_check_targets accepts any non-negative row. The loss is
 * sum_j y_j (lse - z_j), whose gradient is (sum_j y_j) p - y; when the
 * library accepts a row that does not sum to 1, the gradient it trains on
 * must still be the gradient of the loss it reports (or the row must be
 * rejected). */
static void test_grad_ce_unnormalised_rows(void)
{
    soma_layer_spec layers[2] = {{5, SOMA_ACT_TANH, 1},
                                 {3, SOMA_ACT_SOFTMAX, 1}};
    soma_net *net = make_net(layers, 2, SOMA_LOSS_CE, 91);
    CHECK(net != NULL);
    if (!net)
        return;
    soma_rng r;
    soma_rng_seed(&r, 92);
    float x[N_ROWS * N_IN], y[N_ROWS * 3];
    for (int i = 0; i < N_ROWS * N_IN; i++)
        x[i] = uniform(&r, -2.0f, 2.0f);
    make_targets(&r, SOMA_LOSS_CE, 3, 3, 1, y); /* rows sum to ~1.6 */
    soma_error err;
    double loss;
    if (soma_evaluate(net, x, y, N_ROWS, 3, &loss, NULL, NULL, &err) ==
        SOMA_ERR_DATA) {
        soma_net_free(net); /* rejected: consistent */
        return;
    }
    grad_result g = grad_check(net, x, y, 3, "ce, unnormalised target rows");
    CHECK(g.ok);
    CHECK(g.failed == 0);
    CHECK(g.rel_norm <= RTOL);
    soma_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* Updates                                                                  */
/* ------------------------------------------------------------------------ */

/* The data and the 4-5-3 net (sigmoid, tanh hidden; mse) for the update
 * tests: smooth activations, so no gradient is exactly 0. */
static float ux[N_ROWS * N_IN], uy[N_ROWS * 3];

static soma_net *update_net(void)
{
    static const soma_layer_spec layers[2] = {{5, SOMA_ACT_TANH, 1},
                                              {3, SOMA_ACT_SIGMOID, 1}};
    soma_rng r;
    soma_rng_seed(&r, 555);
    for (int i = 0; i < N_ROWS * N_IN; i++)
        ux[i] = uniform(&r, -2.0f, 2.0f);
    make_targets(&r, SOMA_LOSS_MSE, 3, 3, 0, uy);
    return make_net(layers, 2, SOMA_LOSS_MSE, 556);
}

/* The gradient of net at its current parameters, from a trainer of its
 * own. */
static int gradient_now(soma_net *net, float *g)
{
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.batch_size = 0;
    soma_trainer *t = soma_trainer_new(net, &cfg, N_ROWS, NULL);
    if (!t)
        return 0;
    soma_trainer_gradient(t, ux, uy, N_ROWS, 3, g);
    soma_trainer_free(t);
    return 1;
}

/* 1 for weights, 0 for biases, per flat parameter index. */
static void weight_mask(const soma_net *net, unsigned char *is_weight)
{
    for (int l = 0; l < net->n_layers; l++) {
        size_t nw = (size_t)net->layers[l].units * (size_t)net->fan_in[l];
        for (size_t i = 0; i < nw; i++)
            is_weight[net->w_off[l] + i] = 1;
        if (net->layers[l].bias)
            for (int j = 0; j < net->layers[l].units; j++)
                is_weight[net->b_off[l] + (size_t)j] = 0;
    }
}

#define MAX_P 64

/* One full-batch gd step with weight decay 0.1: weights follow
 * w - lr (g + 0.1 w), biases b - lr g. */
static void test_weight_decay(void)
{
    soma_net *net = update_net();
    CHECK(net != NULL);
    if (!net)
        return;
    size_t P = soma_net_n_params(net);
    CHECK(P <= MAX_P);
    float w0[MAX_P], g[MAX_P];
    unsigned char is_w[MAX_P];
    memcpy(w0, soma_net_params(net), P * sizeof(float));
    weight_mask(net, is_w);
    CHECK(gradient_now(net, g));

    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.learning_rate = 0.1;
    cfg.weight_decay = 0.1;
    cfg.batch_size = 0;
    cfg.epochs = 1;
    soma_error err;
    CHECK(soma_train(net, ux, uy, N_ROWS, 3, &cfg, &err) == SOMA_OK);
    const float *w1 = soma_net_params(net);
    int ok = 1, n_weights = 0;
    for (size_t i = 0; i < P; i++) {
        double w = (double)w0[i], gi = (double)g[i];
        double want = is_w[i] ? w - 0.1 * (gi + 0.1 * w) : w - 0.1 * gi;
        /* float rounding only; the decay term itself is ~0.01 |w| */
        if (!(fabs((double)w1[i] - want) <= 1e-6)) {
            printf("  param %zu (%s): %.9g, want %.9g\n", i,
                   is_w[i] ? "weight" : "bias", (double)w1[i], want);
            ok = 0;
        }
        n_weights += is_w[i];
    }
    CHECK(ok);
    CHECK(n_weights == 4 * 5 + 5 * 3);
    soma_net_free(net);
}

/* Runs `steps` full-batch epochs of cfg and compares every parameter after
 * each one with the formula, computed in double from the library's
 * gradient at the parameters before the step. */
static void check_optimizer(soma_train_config cfg, int steps, const char *name)
{
    soma_net *net = update_net();
    CHECK(net != NULL);
    if (!net)
        return;
    size_t P = soma_net_n_params(net);
    CHECK(P <= MAX_P);
    double m[MAX_P] = {0}, v[MAX_P] = {0};
    float g[MAX_P], w[MAX_P];
    double lr = cfg.learning_rate, mu = cfg.momentum;
    double b1 = cfg.beta1 != 0.0 ? cfg.beta1 : 0.9;
    double b2 = cfg.beta2 != 0.0 ? cfg.beta2 : 0.999;
    double eps = cfg.epsilon != 0.0 ? cfg.epsilon : 1e-8;
    cfg.batch_size = 0;
    soma_error err;
    soma_trainer *t = soma_trainer_new(net, &cfg, N_ROWS, &err);
    CHECK(t != NULL);
    for (int s = 1; s <= steps && t; s++) {
        memcpy(w, soma_net_params(net), P * sizeof(float));
        CHECK(gradient_now(net, g));
        CHECK(soma_trainer_epoch(t, ux, uy, N_ROWS, 3, NULL, NULL, &err) ==
              SOMA_OK);
        const float *w1 = soma_net_params(net);
        int ok = 1;
        double moved = 0.0;
        for (size_t i = 0; i < P; i++) {
            double gi = (double)g[i], want = (double)w[i];
            switch (cfg.optimizer) {
            case SOMA_OPT_GD:
                want -= lr * gi;
                break;
            case SOMA_OPT_SGD: /* PyTorch: buf = mu buf + g; w -= lr buf */
                m[i] = mu * m[i] + gi;
                want -= lr * m[i];
                break;
            case SOMA_OPT_ADAM: {
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                double mhat = m[i] / (1.0 - pow(b1, s));
                double vhat = v[i] / (1.0 - pow(b2, s));
                want -= lr * mhat / (sqrt(vhat) + eps);
                break;
            }
            }
            double got = (double)w1[i];
            moved = fmax(moved, fabs(want - (double)w[i]));
            if (!(fabs(got - want) <= 2e-7 + 1e-4 * fabs(want - (double)w[i]))) {
                if (ok)
                    printf("  %s step %d, param %zu: %.9g, want %.9g (from "
                           "%.9g, gradient %.6g)\n",
                           name, s, i, got, want, (double)w[i], gi);
                ok = 0;
            }
        }
        CHECK(ok);
        /* the step is far larger than the tolerance, so the check has
         * teeth */
        CHECK(moved > 1e-4);
    }
    soma_trainer_free(t);
    soma_net_free(net);
}

static void test_optimizer_gd(void)
{
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.learning_rate = 0.5;
    check_optimizer(cfg, 2, "gd");
}

static void test_optimizer_sgd_momentum(void)
{
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_SGD;
    cfg.learning_rate = 0.3;
    cfg.momentum = 0.9;
    check_optimizer(cfg, 3, "sgd momentum 0.9");
    cfg.momentum = 0.0;
    check_optimizer(cfg, 2, "sgd momentum 0");
}

static void test_optimizer_adam(void)
{
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_ADAM;
    cfg.learning_rate = 0.01;
    check_optimizer(cfg, 3, "adam defaults");
    cfg.beta1 = 0.5;
    cfg.beta2 = 0.75;
    cfg.epsilon = 1e-3;
    check_optimizer(cfg, 3, "adam 0.5 0.75 1e-3");
}

int main(void)
{
    RUN(test_grad_sse_mse);
    RUN(test_grad_bce);
    RUN(test_grad_ce);
    RUN(test_grad_deep_standardized);
    RUN(test_grad_ce_unnormalised_rows);
    RUN(test_weight_decay);
    RUN(test_optimizer_gd);
    RUN(test_optimizer_sgd_momentum);
    RUN(test_optimizer_adam);
    return harness_summary();
}
