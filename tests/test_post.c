/*
 * test_post.c - the blog post's perceptron through the general library
 * path, against the numpy reference in tests/data/post_reference.txt
 * (printed by tests/post_reference.py; regenerate with
 *     /usr/bin/python3 tests/post_reference.py > tests/data/post_reference.txt).
 * numpy works in float64 and soma in float32: after 10000 iterations they
 * differ by about 5e-6, so the tolerance is 1e-4.
 */
#include "harness.h"
#include "soma.h"

#include <stdlib.h>

static double ref_start[3], ref_iter[3][3], ref_predict;
static const int ref_at[3] = {10, 1000, 10000};

static int read_reference(void)
{
    FILE *f = fopen("tests/data/post_reference.txt", "r");
    if (!f)
        return 0;
    int ok = fscanf(f, "start %lf %lf %lf\n", &ref_start[0], &ref_start[1],
                    &ref_start[2]) == 3;
    for (int i = 0; i < 3 && ok; i++) {
        int at;
        ok = fscanf(f, "iter %d %lf %lf %lf\n", &at, &ref_iter[i][0],
                    &ref_iter[i][1], &ref_iter[i][2]) == 4 && at == ref_at[i];
    }
    ok = ok && fscanf(f, "predict %lf", &ref_predict) == 1;
    fclose(f);
    return ok;
}

static const float X[12] = {0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1};
static const float Y[4] = {0, 1, 1, 0};

static soma_net *post_net(void)
{
    soma_layer_spec layer = {1, SOMA_ACT_SIGMOID, 0};
    soma_spec spec = {3, 1, &layer, SOMA_LOSS_SSE};
    return soma_net_new(&spec, NULL);
}

static soma_train_config post_config(int epochs)
{
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.learning_rate = 1.0;
    cfg.batch_size = 0;
    cfg.epochs = epochs;
    return cfg;
}

static void test_post_matches_numpy(void)
{
    CHECK(read_reference());
    soma_net *net = post_net();
    CHECK(net != NULL);
    if (!net)
        return;
    float *w = soma_net_weight(net, 0);
    for (int i = 0; i < 3; i++)
        w[i] = (float)ref_start[i];
    soma_train_config cfg = post_config(10000);
    soma_error err;
    soma_trainer *t = soma_trainer_new(net, &cfg, 4, &err);
    CHECK(t != NULL);
    for (int c = 0; c < 3 && t; c++) {
        while (soma_trainer_epochs_done(t) < ref_at[c])
            CHECK(soma_trainer_epoch(t, X, Y, 4, 1, NULL, NULL, &err) ==
                  SOMA_OK);
        for (int i = 0; i < 3; i++)
            CHECK_NEAR(w[i], ref_iter[c][i], 1e-4);
    }
    float x[3] = {1, 0, 0}, p;
    CHECK(soma_predict(net, x, 1, &p, &err) == SOMA_OK);
    CHECK_NEAR(p, ref_predict, 1e-6);
    soma_trainer_free(t);
    soma_net_free(net);
}

/* soma_train gives the same bits as the step-by-step trainer, and a seed
 * always gives the same start. */
static void test_post_reproducible(void)
{
    float out[2][3];
    for (int run = 0; run < 2; run++) {
        soma_net *net = post_net();
        CHECK(soma_net_init(net, SOMA_INIT_UNIFORM, 1, NULL) == SOMA_OK);
        soma_train_config cfg = post_config(1000);
        CHECK(soma_train(net, X, Y, 4, 1, &cfg, NULL) == SOMA_OK);
        for (int i = 0; i < 3; i++)
            out[run][i] = soma_net_weight(net, 0)[i];
        soma_net_free(net);
    }
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0);
}

/* The post's single neuron cannot learn XOR; a 2-8-1 network can. */
static void test_xor(void)
{
    const float xx[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float yy[4] = {0, 1, 1, 0};
    float p[4];
    soma_error err;

    soma_layer_spec single = {1, SOMA_ACT_SIGMOID, 1};
    soma_spec s1 = {2, 1, &single, SOMA_LOSS_BCE};
    soma_net *net = soma_net_new(&s1, &err);
    soma_net_init(net, SOMA_INIT_UNIFORM, 1, NULL);
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_ADAM;
    cfg.learning_rate = 0.05;
    cfg.batch_size = 0;
    cfg.epochs = 3000;
    CHECK(soma_train(net, xx, yy, 4, 1, &cfg, &err) == SOMA_OK);
    CHECK(soma_predict(net, xx, 4, p, &err) == SOMA_OK);
    int right = 0;
    for (int i = 0; i < 4; i++)
        right += (p[i] >= 0.5f) == (yy[i] >= 0.5f);
    CHECK(right <= 3); /* a line cannot separate XOR */
    soma_net_free(net);

    soma_layer_spec two[2] = {{8, SOMA_ACT_TANH, 1}, {1, SOMA_ACT_SIGMOID, 1}};
    soma_spec s2 = {2, 2, two, SOMA_LOSS_BCE};
    net = soma_net_new(&s2, &err);
    soma_net_init(net, SOMA_INIT_GLOROT, 1, NULL);
    CHECK(soma_train(net, xx, yy, 4, 1, &cfg, &err) == SOMA_OK);
    CHECK(soma_predict(net, xx, 4, p, &err) == SOMA_OK);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(p[i], yy[i], 0.1);
    soma_net_free(net);
}

int main(void)
{
    RUN(test_post_matches_numpy);
    RUN(test_post_reproducible);
    RUN(test_xor);
    return harness_summary();
}
