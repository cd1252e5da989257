/*
 * in_memory.c - a network trained and used entirely from C on data made in
 * arrays: no files at all. Points of the square [-1, 1] x [-1, 1] are
 * labelled 1 inside the circle of radius 0.6 and 0 outside. No straight
 * line separates the two, so the network needs a hidden layer. After
 * training it is measured on fresh points and asked about a grid of points,
 * which it draws.
 *
 *     build/examples/in_memory
 *     cc in_memory.c $(pkg-config --cflags --libs soma) -o in_memory
 */
#include <soma.h>
#include <stdint.h>
#include <stdio.h>

enum { N_TRAIN = 800, N_TEST = 400, ROWS = 21, COLS = 41 };

/* A uniform number in [-1, 1) from a xorshift64* generator whose state the
 * caller keeps (the same seed gives the same points everywhere). */
static float uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    uint64_t r = *s * 0x2545F4914F6CDD1DULL;
    return (float)(r >> 40) / (float)(1 << 23) - 1.0f; /* 24 bits */
}

/* n points into x [n, 2] with their labels in y [n]. */
static void make_points(float *x, float *y, int n, uint64_t *rng)
{
    for (int i = 0; i < n; i++) {
        float a = uniform(rng), b = uniform(rng);
        x[2 * i] = a;
        x[2 * i + 1] = b;
        y[i] = a * a + b * b < 0.36f ? 1.0f : 0.0f;
    }
}

int main(void)
{
    static float x[N_TRAIN * 2], y[N_TRAIN], xt[N_TEST * 2], yt[N_TEST];
    static float grid[ROWS * COLS * 2], p[ROWS * COLS];
    uint64_t rng = 2024;
    make_points(x, y, N_TRAIN, &rng);
    make_points(xt, yt, N_TEST, &rng);

    /* 2 inputs -> 16 tanh -> 1 sigmoid, binary cross-entropy */
    soma_error err;
    soma_layer_spec layers[2] = {{16, SOMA_ACT_TANH, 1}, {1, SOMA_ACT_SIGMOID, 1}};
    soma_spec spec = {2, 2, layers, SOMA_LOSS_BCE};
    soma_net *net = soma_net_new(&spec, &err);
    if (!net || soma_net_init(net, SOMA_INIT_GLOROT, 1, &err) != SOMA_OK) {
        fprintf(stderr, "in_memory: %s\n", err.message);
        soma_net_free(net);
        return 1;
    }
    soma_train_config cfg = soma_train_config_default();
    cfg.learning_rate = 0.02;
    cfg.epochs = 200;

    /* for bce, y holds the wanted output of each row: y_cols = outputs = 1 */
    double loss, train_acc, test_acc;
    if (soma_train(net, x, y, N_TRAIN, 1, &cfg, &err) != SOMA_OK ||
        soma_evaluate(net, x, y, N_TRAIN, 1, &loss, &train_acc, NULL, &err) != SOMA_OK ||
        soma_evaluate(net, xt, yt, N_TEST, 1, &loss, &test_acc, NULL, &err) != SOMA_OK) {
        fprintf(stderr, "in_memory: %s\n", err.message);
        soma_net_free(net);
        return 1;
    }
    printf("accuracy: %.4f on the %d training points, %.4f on %d new ones\n",
           train_acc, N_TRAIN, test_acc, N_TEST);

    /* one call predicts the whole grid: each row of grid is one point */
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) {
            grid[2 * (r * COLS + c)] = -1.0f + 2.0f * (float)c / (COLS - 1);
            grid[2 * (r * COLS + c) + 1] = 1.0f - 2.0f * (float)r / (ROWS - 1);
        }
    if (soma_predict(net, grid, ROWS * COLS, p, &err) != SOMA_OK) {
        fprintf(stderr, "in_memory: %s\n", err.message);
        soma_net_free(net);
        return 1;
    }
    printf("inside the circle as the network sees it (# inside, . outside):\n");
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < COLS; c++)
            putchar(p[r * COLS + c] >= 0.5f ? '#' : '.');
        putchar('\n');
    }
    soma_net_free(net);
    return 0;
}
