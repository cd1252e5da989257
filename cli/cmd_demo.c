/*
 * cmd_demo.c - soma demo: the blog post's perceptron through the general
 * library path: one dense layer without bias, sigmoid output, loss sse,
 * full-batch gradient descent with learning rate 1.
 */
#include "cli.h"

#include <stdio.h>

int cmd_demo(int argc, char **argv)
{
    int iterations = 10000;
    uint64_t seed = 1;
    const cli_opt opts[] = {
        {"iterations", 0, OPT_INT, &iterations, 0, 1e9, "N",
         "training iterations (default 10000)"},
        {"seed", 0, OPT_U64, &seed, 0, 0, "S", "PRNG seed (default 1)"},
    };
    const cli_command cmd = {"demo", "[--iterations N] [--seed S]",
                             "Trains the blog post's single sigmoid neuron on its "
                             "four examples and predicts [1, 0, 0].",
                             opts, 2, 0, 0};
    const char *pos[1];
    int n_pos;
    char msg[256];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);

    static const float x[12] = {0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1};
    static const float y[4] = {0, 1, 1, 0};
    soma_layer_spec layer = {1, SOMA_ACT_SIGMOID, 0};
    soma_spec spec = {3, 1, &layer, SOMA_LOSS_SSE};
    soma_error err;
    soma_net *net = soma_net_new(&spec, &err);
    if (!net || soma_net_init(net, SOMA_INIT_UNIFORM, seed, &err) != SOMA_OK) {
        soma_net_free(net);
        return cli_error("%s", err.message);
    }
    const float *w = soma_net_weight(net, 0);
    printf("The blog post's perceptron: 3 inputs, one sigmoid neuron, no bias.\n");
    printf("Training data (inputs -> output):\n");
    for (int i = 0; i < 4; i++)
        printf("  %.0f %.0f %.0f -> %.0f\n", (double)x[3 * i], (double)x[3 * i + 1],
               (double)x[3 * i + 2], (double)y[i]);
    printf("Starting weights (seed %llu): %.8f %.8f %.8f\n",
           (unsigned long long)seed, (double)w[0], (double)w[1], (double)w[2]);

    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = SOMA_OPT_GD;
    cfg.learning_rate = 1.0;
    cfg.batch_size = 0;
    cfg.epochs = iterations;
    float p, q[3] = {1, 0, 0};
    if (soma_train(net, x, y, 4, 1, &cfg, &err) != SOMA_OK ||
        soma_predict(net, q, 1, &p, &err) != SOMA_OK) {
        soma_net_free(net);
        return cli_error("%s", err.message);
    }
    printf("Weights after %d iterations: %.8f %.8f %.8f\n", iterations,
           (double)w[0], (double)w[1], (double)w[2]);
    printf("Prediction for [1, 0, 0]: %.8f\n", (double)p);
    soma_net_free(net);
    return 0;
}
