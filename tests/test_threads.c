/*
 * test_threads.c - same seed, same bits, whatever the thread count: a
 * network trained with 1, 2 and 3 threads ends with identical parameters,
 * and predictions are identical too. The shapes are odd on purpose so the
 * products split unevenly, and large enough that they do split once the
 * trainer is told to thread even small steps (soma_debug_small_step_work).
 */
#include "harness.h"
#include "internal.h"

#include <stdlib.h>

enum { N = 301, D = 67, K = 5 };

static float X[N * D], Y[N];

static void make_data(void)
{
    unsigned s = 12345;
    for (int i = 0; i < N * D; i++) {
        s = s * 1103515245u + 12345u;
        X[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    for (int i = 0; i < N; i++)
        Y[i] = (float)(i % K);
}

/* Trains a fresh D-96-40-K net with the given thread count; returns its
 * parameters (malloc'd) and writes predictions for X into pred [N, K]. */
static float *train(int threads, soma_optimizer opt, size_t batch, float *pred,
                    size_t *n_params)
{
    soma_layer_spec layers[3] = {{96, SOMA_ACT_RELU, 1},
                                 {40, SOMA_ACT_TANH, 1},
                                 {K, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {D, 3, layers, SOMA_LOSS_CE};
    soma_error err;
    soma_net *net = soma_net_new(&spec, &err);
    CHECK(net && soma_net_init(net, SOMA_INIT_HE, 7, &err) == SOMA_OK);
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = opt;
    cfg.learning_rate = opt == SOMA_OPT_ADAM ? 0.01 : 0.1;
    cfg.momentum = opt == SOMA_OPT_SGD ? 0.9 : 0.0;
    /* plain gd at batches of up to 8 without decay takes the trainer's
     * transposed first-layer path; with decay, the general one */
    cfg.weight_decay = opt == SOMA_OPT_GD && batch <= 8 ? 0.0 : 1e-4;
    cfg.batch_size = batch;
    cfg.epochs = 3;
    cfg.threads = threads;
    CHECK(soma_train(net, X, Y, N, 1, &cfg, &err) == SOMA_OK);
    CHECK(soma_net_set_threads(net, threads, &err) == SOMA_OK);
    CHECK(soma_predict(net, X, N, pred, &err) == SOMA_OK);
    *n_params = soma_net_n_params(net);
    float *p = malloc(*n_params * sizeof *p);
    memcpy(p, soma_net_params(net), *n_params * sizeof *p);
    soma_net_free(net);
    return p;
}

/* Each comparison runs twice: as the trainer chooses (steps of these
 * small nets run on one thread: SMALL_STEP_WORK in src/train.c) and with
 * every step on all its threads. */
static void same_for_all_thread_counts(soma_optimizer opt, size_t batch)
{
    static float pred[4][N * K];
    float *params[4];
    size_t np = 0;
    for (int forced = 0; forced < 2; forced++) {
        soma_debug_small_step_work(forced ? 0.0 : -1.0);
        for (int t = 1; t <= 3; t++)
            params[t] = train(t, opt, batch, pred[t], &np);
        for (int t = 2; t <= 3; t++) {
            CHECK(memcmp(params[1], params[t], np * sizeof(float)) == 0);
            CHECK(memcmp(pred[1], pred[t], sizeof pred[1]) == 0);
        }
        for (int t = 1; t <= 3; t++)
            free(params[t]);
    }
    soma_debug_small_step_work(-1.0);
}

static void test_threads_gd_batch_37(void) { same_for_all_thread_counts(SOMA_OPT_GD, 37); }
static void test_threads_sgd_batch_64(void) { same_for_all_thread_counts(SOMA_OPT_SGD, 64); }
static void test_threads_adam_full_batch(void) { same_for_all_thread_counts(SOMA_OPT_ADAM, 0); }
static void test_threads_adam_batch_1(void) { same_for_all_thread_counts(SOMA_OPT_ADAM, 1); }
static void test_threads_gd_batch_1(void) { same_for_all_thread_counts(SOMA_OPT_GD, 1); }
static void test_threads_gd_batch_6(void) { same_for_all_thread_counts(SOMA_OPT_GD, 6); }

int main(void)
{
    make_data();
    RUN(test_threads_gd_batch_37);
    RUN(test_threads_gd_batch_1);
    RUN(test_threads_gd_batch_6);
    RUN(test_threads_sgd_batch_64);
    RUN(test_threads_adam_full_batch);
    RUN(test_threads_adam_batch_1);
    return harness_summary();
}
