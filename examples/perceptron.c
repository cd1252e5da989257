/*
 * perceptron.c - the blog post "How to build a simple neural network from
 * scratch" in soma: one sigmoid neuron, three inputs, no bias, trained by
 * full-batch gradient descent on four examples, then asked about [1, 0, 0].
 *
 *     cc perceptron.c $(pkg-config --cflags --libs soma) -o perceptron
 */
#include <soma.h>
#include <stdio.h>

int main(void)
{
    const float x[4 * 3] = {0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1};
    const float y[4] = {0, 1, 1, 0};
    soma_error err;

    /* one dense layer: 3 inputs -> 1 sigmoid unit, no bias; loss sse */
    soma_layer_spec neuron = {1, SOMA_ACT_SIGMOID, 0};
    soma_spec spec = {3, 1, &neuron, SOMA_LOSS_SSE};
    soma_net *net = soma_net_new(&spec, &err);
    if (!net || soma_net_init(net, SOMA_INIT_UNIFORM, 1, &err) != SOMA_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    const float *w = soma_net_weight(net, 0);
    printf("start weights: %f %f %f\n", (double)w[0], (double)w[1], (double)w[2]);

    /* w += X^T . (error * out * (1 - out)), 10000 times */
    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.learning_rate = 1.0;
    cfg.batch_size = 0; /* the whole data set in one batch */
    cfg.epochs = 10000;
    float query[3] = {1, 0, 0}, p;
    if (soma_train(net, x, y, 4, 1, &cfg, &err) != SOMA_OK ||
        soma_predict(net, query, 1, &p, &err) != SOMA_OK) {
        fprintf(stderr, "%s\n", err.message);
        soma_net_free(net);
        return 1;
    }
    printf("final weights: %f %f %f\n", (double)w[0], (double)w[1], (double)w[2]);
    printf("prediction for [1, 0, 0]: %f\n", (double)p);
    soma_net_free(net);
    return 0;
}
