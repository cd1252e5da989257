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

static void same_bits_batch(const soma_spec *spec, soma_optimizer opt,
                            double wd, size_t batch)
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
    cfg.batch_size = batch;
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
        for (size_t i = 0; i < N; i += batch) {
            size_t B = N - i < batch ? N - i : batch;
            soma_trainer_gradient(tr, x + i * (size_t)d, y + i * (size_t)y_cols,
                                  B, y_cols, g);
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

/* Batch size 1 with every optimizer, with and without decay; plain gd
 * also at the small batches of the transposed path (3: a partial last
 * batch, 5 and 16: products in several passes). */
static void same_bits(const soma_spec *spec, soma_optimizer opt, double wd)
{
    same_bits_batch(spec, opt, wd, 1);
    if (opt == SOMA_OPT_GD && wd == 0.0) {
        same_bits_batch(spec, opt, wd, 3);
        same_bits_batch(spec, opt, wd, 5);
        same_bits_batch(spec, opt, wd, 16);
    }
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

/* The soma_gdt_step kernels this CPU runs, for test_gdt_kernel. */
static int gdt_kernels(soma_gdt_step_fn *k)
{
    int n = 0;
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
    if (soma_cpu_has_avx2_fma())
        k[n++] = soma_gdt_step_avx2;
    if (soma_cpu_has_avx512())
        k[n++] = soma_gdt_step_avx512;
#endif
    k[n++] = soma_gdt_step_best();
    return n;
}

/* One case of test_gdt_kernel: K rows of C columns in panels, one float
 * past an aligned start (the padding of a partial panel holds values too:
 * no kernel may change them); nu examples' update and nf examples'
 * product. Returns non-zero on a mismatch. */
static int gdt_case(soma_rng *r, soma_gdt_step_fn fast, size_t K, size_t C,
                    size_t nu, size_t nf)
{
    size_t n = SOMA_GDT_FLOATS(K, C) + 1;
    size_t bu = nu ? nu : 1, bf = nf ? nf : 1;
    float *w0 = malloc(n * sizeof(float)), *w1 = malloc(n * sizeof(float));
    float *w2 = malloc(n * sizeof(float));
    float *xu = malloc((bu * K + 1) * sizeof(float));
    float *xf = malloc((bf * K + 1) * sizeof(float));
    float *du = malloc((bu * C + 1) * sizeof(float));
    float *z1 = malloc((bf * C + 2) * sizeof(float));
    float *z2 = malloc((bf * C + 2) * sizeof(float));
    int bad = 1;
    if (!w0 || !w1 || !w2 || !xu || !xf || !du || !z1 || !z2)
        goto done;
    for (size_t i = 0; i < n; i++)
        w0[i] = 2.0f * soma_rng_float(r) - 1.0f;
    if (n > 1)
        w0[1] = -0.0f; /* a negative zero weight stays one where xu is 0 */
    /* rows where every example's input is 0 (k % 3 == 0), where some are */
    for (size_t b = 0; b < bu; b++)
        for (size_t k = 0; k < K; k++) {
            float u = soma_rng_float(r);
            xu[1 + b * K + k] = k % 3 == 0 || (k + b) % 4 == 1 ? 0.0f
                                : (k + b) % 7 == 1 ? -0.0f
                                                   : 4.0f * u - 2.0f;
        }
    for (size_t i = 0; i < bf * K; i++)
        xf[1 + i] = i % 4 == 0 ? 0.0f : 2.0f * soma_rng_float(r) - 1.0f;
    for (size_t i = 0; i < bu * C; i++)
        du[1 + i] = i % 5 == 0 ? 0.0f : i % 11 == 3 ? -0.0f
                                      : 3.0f * soma_rng_float(r) - 1.5f;
    memcpy(w1, w0, n * sizeof(float));
    memcpy(w2, w0, n * sizeof(float));
    for (size_t j = 0; j < bf * C + 2; j++)
        z1[j] = z2[j] = 7.0f;
    int a = soma_gdt_step_ref(w1 + 1, K, C, nu, du + 1, xu + 1, 0.25f, nf,
                              xf + 1, z1 + 1);
    int b = fast(w2 + 1, K, C, nu, du + 1, xu + 1, 0.25f, nf, xf + 1, z2 + 1);
    bad = a != 0 || b != 0 || memcmp(w1, w2, n * sizeof(float)) != 0 ||
          memcmp(z1, z2, (bf * C + 2) * sizeof(float)) != 0;
done:
    free(w0), free(w1), free(w2), free(xu), free(xf), free(du), free(z1), free(z2);
    return bad;
}

/* soma_gdt_step: every kernel this CPU runs against the reference, bit for
 * bit, over sizes around the vector widths, panels and blocks, on
 * unaligned buffers, for 0 to 9 examples updated and multiplied (the
 * kernels take up to 4 products a pass); its NaN flag, which a product
 * that overflows in the forward chain must not raise; and the panel
 * layout's packing, against its formula. */
static void test_gdt_kernel(void)
{
    static const size_t Ks[] = {0, 1, 7, 33, 67, 784};
    static const size_t Ns[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                100, 127, 128, 129, 130, 200, 256, 300};
    static const size_t Bs[][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 0}, {2, 2},
                                   {3, 1}, {1, 3}, {4, 4}, {5, 5}, {9, 9},
                                   {2, 0}, {0, 6}};
    soma_gdt_step_fn k[3];
    int nk = gdt_kernels(k);
    soma_rng r;
    soma_rng_seed(&r, 11);
    int mismatch = 0;
    for (int f = 0; f < nk; f++)
        for (size_t a = 0; a < sizeof Ks / sizeof *Ks; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof Bs / sizeof *Bs; c++)
                    if (Ks[a] < 784 || c < 2 || b % 4 == 0)
                        mismatch |= gdt_case(&r, k[f], Ks[a], Ns[b], Bs[c][0],
                                             Bs[c][1]);
    CHECK(!mismatch);
    for (int f = 0; f < nk + 1; f++) {
        soma_gdt_step_fn fn = f < nk ? k[f] : soma_gdt_step_ref;
        for (size_t C = 1; C <= 140; C += 13) {
            /* an update past FLT_MAX at the last column of the last row,
             * from one example and from the second of two */
            float w[SOMA_GDT_FLOATS(3, 140)], xf[6] = {1, 1, 1, 1, 1, 1};
            float xu[6] = {1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f};
            float du[280], z[280];
            size_t nw = SOMA_GDT_FLOATS(3, C);
            for (int two = 0; two < 2; two++) {
                for (size_t i = 0; i < nw; i++)
                    w[i] = 0.0f;
                for (size_t j = 0; j < 2 * C; j++)
                    du[j] = 1.0f;
                du[(size_t)two * C + C - 1] = 1e30f;
                w[48 * ((C - 1) / 16) + 32 + (C - 1) % 16] = -FLT_MAX;
                const float *u = two ? xu : xu + 3;
                CHECK(fn(w, 3, C, 1u + (size_t)two, du, u, 1e9f, 0, NULL, NULL) == 1);
                CHECK(fn(w, 3, C, 1u + (size_t)two, du, u, 0.0f, 2, xf, z) == 1);
            }
            /* finite weights whose forward product overflows */
            for (size_t i = 0; i < nw; i++)
                w[i] = 3e38f;
            CHECK(fn(w, 3, C, 0, NULL, NULL, 0.0f, 2, xf, z) == 0);
            CHECK(isinf(z[C - 1]) && isinf(z[2 * C - 1]));
        }
    }
    /* packing: every element where the formula puts it, and back */
    size_t K = 5, C = 37, nw = SOMA_GDT_FLOATS(5, 37);
    float W[5 * 37], back[5 * 37], wt[SOMA_GDT_FLOATS(5, 37)];
    for (size_t i = 0; i < K * C; i++)
        W[i] = (float)i;
    soma_gdt_pack(W, K, C, wt);
    int misplaced = nw != 16 * 5 * 3;
    for (size_t j = 0; j < C; j++)
        for (size_t kk = 0; kk < K; kk++)
            misplaced |= wt[16 * K * (j / 16) + 16 * kk + j % 16] != W[j * K + kk];
    soma_gdt_unpack(wt, K, C, back);
    CHECK(!misplaced);
    CHECK(memcmp(W, back, sizeof W) == 0);
}

/* Plain gd, lr 0.1, one example at a time in order. */
static soma_train_config gd_batch1(int epochs, int threads)
{
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.learning_rate = 0.1;
    cfg.batch_size = 1;
    cfg.shuffle = 0;
    cfg.epochs = epochs;
    cfg.threads = threads;
    return cfg;
}

/* The general path by hand for plain gradient descent: examples
 * [0, steps) of x, y one at a time into ref; returns non-zero when a weight
 * became NaN or infinite (ref then holds that update). */
static int replay_gd(soma_trainer *tr, soma_net *ref, const float *x,
                     const float *y, int d, int y_cols, int steps, float lr)
{
    size_t P = ref->n_params;
    float *g = malloc(P * sizeof(float));
    int bad = g == NULL;
    soma_opt_params op = {SOMA_OPT_GD, lr, 0.0f, 0.9f, 0.999f, 1e-8f, 1.0, 1.0};
    for (int i = 0; g && !bad && i < steps; i++) {
        soma_trainer_gradient(tr, x + (size_t)i * (size_t)d,
                              y + (size_t)i * (size_t)y_cols, 1, y_cols, g);
        bad = soma_opt_update(&op, ref->params, g, NULL, NULL, P);
    }
    free(g);
    return bad;
}

static int stop_at_5(void *ctx, const soma_batch_report *r)
{
    (void)ctx;
    return r->batch == 5;
}

typedef struct reader {
    soma_net *net;
    soma_net *copy; /* the net as on_batch saw it after batch 5 */
    float out[3];
    int bad;
} reader;

static int read_at_5(void *ctx, const soma_batch_report *r)
{
    reader *rd = ctx;
    if (r->epoch == 1 && r->batch == 5) {
        rd->copy = soma_net_clone(rd->net, NULL);
        float row[6] = {0.5f, -1, 0.25f, 0, 1, 2};
        rd->bad = soma_predict(rd->net, row, 1, rd->out, NULL) != SOMA_OK;
    }
    return 0;
}

/* Reading the net from on_batch in the middle of a batch-1 gd epoch (the
 * first layer then lives in the trainer): the reader sees the weights
 * after the batch, and the run goes on exactly as if nobody had looked. */
static void test_read_inside_epoch(void)
{
    soma_layer_spec layers[2] = {{20, SOMA_ACT_RELU, 1},
                                 {3, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {6, 2, layers, SOMA_LOSS_CE};
    float x[N * 6], y[N];
    make_data(6, 3, SOMA_LOSS_CE, x, y);
    soma_error err;
    soma_net *a = soma_net_new(&spec, &err);
    CHECK(a && soma_net_init(a, SOMA_INIT_HE, 5, &err) == SOMA_OK);
    if (!a)
        return;
    soma_net *b = soma_net_clone(a, &err), *ref = soma_net_clone(a, &err);
    CHECK(b && ref);
    soma_train_config cfg = gd_batch1(2, 1);
    reader rd = {a, NULL, {0}, 1};
    soma_train_config cr = cfg;
    cr.on_batch = read_at_5;
    cr.ctx = &rd;
    CHECK(soma_train(a, x, y, N, 1, &cr, &err) == SOMA_OK);
    CHECK(soma_train(b, x, y, N, 1, &cfg, &err) == SOMA_OK);
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
    soma_trainer *tr = soma_trainer_new(ref, &cfg, N, &err);
    CHECK(tr && rd.copy && !rd.bad);
    if (tr && rd.copy) {
        CHECK(!replay_gd(tr, ref, x, y, 6, 1, 5, 0.1f));
        CHECK(memcmp(rd.copy->params, ref->params,
                     ref->n_params * sizeof(float)) == 0);
        float row[6] = {0.5f, -1, 0.25f, 0, 1, 2}, out[3];
        CHECK(soma_predict(ref, row, 1, out, &err) == SOMA_OK);
        CHECK(memcmp(out, rd.out, sizeof out) == 0);
    }
    soma_trainer_free(tr);
    soma_net_free(rd.copy);
    soma_net_free(a);
    soma_net_free(b);
    soma_net_free(ref);
}

/* Plain gd at batch 1 holds back each step's first-layer update until the
 * next forward pass (the transposed path in train.c). Whenever the
 * trainer returns, the net must hold exactly the general path's weights:
 * after a callback stops it, after a bad input row (the steps before it
 * all taken), and after an update that overflows (that step taken, the
 * error naming its batch, found one forward pass later). */
static void test_held_back_update(void)
{
    soma_layer_spec layers[2] = {{20, SOMA_ACT_RELU, 1},
                                 {3, SOMA_ACT_SOFTMAX, 1}};
    soma_spec deep = {6, 2, layers, SOMA_LOSS_CE};
    soma_spec flat = {6, 1, layers + 1, SOMA_LOSS_CE};
    int d = 6, k = 3;
    float x[N * 6], y[N];
    make_data(d, k, SOMA_LOSS_CE, x, y);
    soma_error err;
    for (int c = 0; c < 4; c++) {
        soma_net *fast = soma_net_new(c < 2 ? &deep : &flat, &err), *ref = NULL;
        CHECK(fast && soma_net_init(fast, SOMA_INIT_HE, 5, &err) == SOMA_OK);
        if (!fast)
            return;
        ref = soma_net_clone(fast, &err);
        soma_train_config cfg = gd_batch1(1, 1 + c % 2);
        float xs[N * 6];
        memcpy(xs, x, sizeof x);
        int steps = 0;
        if (c == 0) {
            cfg.on_batch = stop_at_5;
            steps = 5;
        } else if (c == 1) {
            xs[7 * d + 2] = NAN; /* row 7: steps 0..6 are taken */
            steps = 7;
        } else {
            /* one layer: the first update overflows its weights (through
             * a large input), not its biases; on 1 or 2 threads */
            xs[1] = 1000.0f;
            cfg.learning_rate = 1e36;
            steps = 1;
        }
        soma_trainer *tf = soma_trainer_new(fast, &cfg, N, &err);
        soma_trainer *tr = soma_trainer_new(ref, &cfg, N, &err);
        CHECK(tf && tr && ref);
        if (tf && tr && ref) {
            int stopped = 0;
            soma_status s = soma_trainer_epoch(tf, xs, y, N, 1, NULL, &stopped,
                                               &err);
            if (c == 0)
                CHECK(s == SOMA_OK && stopped);
            else if (c == 1)
                CHECK_ERR(s, SOMA_ERR_DATA, "row 7, input 2", &err);
            else
                CHECK_ERR(s, SOMA_ERR_NUMERIC, "batch 1: a weight", &err);
            int bad = replay_gd(tr, ref, xs, y, d, 1, steps,
                                (float)cfg.learning_rate);
            CHECK(bad == (c >= 2));
            CHECK(memcmp(fast->params, ref->params,
                         ref->n_params * sizeof(float)) == 0);
        }
        soma_trainer_free(tf);
        soma_trainer_free(tr);
        soma_net_free(fast);
        soma_net_free(ref);
    }
}

/* Predictions one row at a time from a prepared net (soma_net_prepare)
 * against the same net unprepared, bit for bit, for nets of several
 * shapes (widths around the 16-column panels, no bias, every kind of
 * output); then that every documented way of changing the weights drops
 * the prepared copy. */
static void predict_rows_match(soma_net *a, soma_net *b, const float *x, int d,
                               int k, int rows)
{
    soma_error err;
    int mismatch = 0;
    for (int i = 0; i < rows; i++) {
        float pa[64], pb[64];
        CHECK(soma_predict(a, x + (size_t)i * (size_t)d, 1, pa, &err) == SOMA_OK);
        CHECK(soma_predict(b, x + (size_t)i * (size_t)d, 1, pb, &err) == SOMA_OK);
        mismatch |= memcmp(pa, pb, (size_t)k * sizeof(float)) != 0;
    }
    CHECK(!mismatch);
}

static void test_prepared_predict(void)
{
    soma_layer_spec s1[2] = {{128, SOMA_ACT_RELU, 1}, {10, SOMA_ACT_SOFTMAX, 1}};
    soma_layer_spec s2[3] = {{17, SOMA_ACT_TANH, 0},
                             {33, SOMA_ACT_LEAKY_RELU, 1},
                             {1, SOMA_ACT_SIGMOID, 1}};
    soma_layer_spec s3[1] = {{3, SOMA_ACT_LINEAR, 1}};
    soma_spec specs[3] = {{300, 2, s1, SOMA_LOSS_CE},
                          {300, 3, s2, SOMA_LOSS_BCE},
                          {5, 1, s3, SOMA_LOSS_MSE}};
    float *x = malloc(sizeof(float) * N * 300), y[N * 64];
    soma_error err;
    CHECK(x != NULL);
    for (int c = 0; x && c < 3; c++) {
        int d = specs[c].n_inputs;
        int k = specs[c].layers[specs[c].n_layers - 1].units;
        make_data(d, k, specs[c].loss, x, y);
        soma_net *a = soma_net_new(&specs[c], &err), *b = NULL;
        CHECK(a && soma_net_init(a, SOMA_INIT_HE, 3, &err) == SOMA_OK);
        b = a ? soma_net_clone(a, &err) : NULL;
        CHECK(b != NULL);
        if (!a || !b) {
            soma_net_free(a);
            soma_net_free(b);
            break;
        }
        float mean[300], sd[300];
        CHECK(soma_standardize_fit(x, N, d, mean, sd, &err) == SOMA_OK);
        CHECK(soma_net_set_standardize(a, mean, sd, &err) == SOMA_OK);
        CHECK(soma_net_set_standardize(b, mean, sd, &err) == SOMA_OK);
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        CHECK(a->prep != NULL);
        predict_rows_match(a, b, x, d, k, N);

        /* a write through soma_net_weight, soma_net_bias or soma_net_params
         * after getting the pointer (each drops the copy) */
        float *w = soma_net_weight(a, 0);
        CHECK(a->prep == NULL);
        w[0] += 0.5f;
        soma_net_weight(b, 0)[0] += 0.5f;
        predict_rows_match(a, b, x, d, k, 4);
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        float *bias = soma_net_bias(a, specs[c].n_layers - 1);
        bias[0] -= 0.25f;
        soma_net_bias(b, specs[c].n_layers - 1)[0] -= 0.25f;
        predict_rows_match(a, b, x, d, k, 4);
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        float *p = soma_net_params(a);
        p[soma_net_n_params(a) / 2] *= -1.0f;
        soma_net_params(b)[soma_net_n_params(b) / 2] *= -1.0f;
        predict_rows_match(a, b, x, d, k, 4);
        /* soma_net_init and soma_net_copy_params */
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        CHECK(soma_net_init(a, SOMA_INIT_GLOROT, 9, &err) == SOMA_OK);
        CHECK(soma_net_init(b, SOMA_INIT_GLOROT, 9, &err) == SOMA_OK);
        predict_rows_match(a, b, x, d, k, 4);
        soma_net *c2 = soma_net_clone(b, &err);
        CHECK(c2 && soma_net_init(c2, SOMA_INIT_HE, 10, &err) == SOMA_OK);
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        CHECK(soma_net_copy_params(a, c2, &err) == SOMA_OK);
        CHECK(soma_net_copy_params(b, c2, &err) == SOMA_OK);
        predict_rows_match(a, b, x, d, k, 4);
        soma_net_free(c2);
        /* training */
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        soma_train_config cfg = soma_train_config_default();
        cfg.epochs = 1;
        cfg.threads = 1;
        int y_cols = specs[c].loss == SOMA_LOSS_CE ? 1 : k;
        CHECK(soma_train(a, x, y, N, y_cols, &cfg, &err) == SOMA_OK);
        CHECK(soma_train(b, x, y, N, y_cols, &cfg, &err) == SOMA_OK);
        predict_rows_match(a, b, x, d, k, N);
        CHECK(soma_net_prepare(a, &err) == SOMA_OK);
        predict_rows_match(a, b, x, d, k, N);
        soma_net_free(a);
        soma_net_free(b);
    }
    free(x);
    CHECK_ERR(soma_net_prepare(NULL, &err), SOMA_ERR_ARG, "no network given",
              &err);
}

int main(void)
{
    RUN(test_rank1_kernel);
    RUN(test_gdt_kernel);
    RUN(test_relu_softmax);
    RUN(test_deep_no_bias);
    RUN(test_linear);
    RUN(test_held_back_update);
    RUN(test_read_inside_epoch);
    RUN(test_prepared_predict);
    return harness_summary();
}
