/*
 * regression.c - predicting a number: a network with a linear output and
 * mean squared error, trained on a CSV file, measured on held-out rows
 * against the simplest rival, always guessing the training mean.
 *
 * By default it predicts the petal width of Fisher's irises from the other
 * three measurements (the species column is left out):
 *
 *     build/examples/regression
 *     build/examples/regression DATA.csv TARGET [IGNORED-COLUMN...]
 *     cc regression.c $(pkg-config --cflags --libs soma) -lm -o regression
 */
#include <math.h>
#include <soma.h>
#include <stdio.h>
#include <stdlib.h>

/* Root mean squared error of pred [n] against y [n]. */
static double rmse(const float *pred, const float *y, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)pred[i] - (double)y[i];
        sum += e * e;
    }
    return sqrt(sum / (double)n);
}

/* make builds the examples with the path of this tree's tests/data */
#ifndef SOMA_EXAMPLE_DATA
#define SOMA_EXAMPLE_DATA "tests/data"
#endif

int main(int argc, char **argv)
{
    static const char *const iris_ignore[] = {"species"};
    const char *path = SOMA_EXAMPLE_DATA "/iris.csv", *target = "petal_width";
    const char *const *ignore = iris_ignore;
    int n_ignore = 1;
    if (argc == 2 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s [DATA.csv TARGET [IGNORED-COLUMN...]]\n", argv[0]);
        return 2;
    }
    if (argc > 2) {
        path = argv[1];
        target = argv[2];
        ignore = (const char *const *)argv + 3;
        n_ignore = argc - 3;
    }

    soma_error err = {SOMA_OK, ""};
    soma_dataset *all = NULL, *train = NULL, *test = NULL;
    soma_net *net = NULL;
    float *mean = NULL, *std = NULL, *pred = NULL;
    int rc = 1;

    /* SOMA_TARGET_VALUE: the target is a number to predict, not a class */
    soma_csv_options opt = {0};
    opt.target = target;
    opt.target_kind = SOMA_TARGET_VALUE;
    opt.ignore = ignore;
    opt.n_ignore = n_ignore;
    if (soma_csv_read(path, &opt, &all, &err) != SOMA_OK ||
        soma_dataset_split(all, 0.2, 1, &train, &test, &err) != SOMA_OK)
        goto done;
    int d = train->n_features;

    /* d inputs -> 16 tanh units -> 1 linear output, mean squared error */
    soma_layer_spec layers[2] = {{16, SOMA_ACT_TANH, 1}, {1, SOMA_ACT_LINEAR, 1}};
    soma_spec spec = {d, 2, layers, SOMA_LOSS_MSE};
    mean = malloc((size_t)d * sizeof *mean);
    std = malloc((size_t)d * sizeof *std);
    pred = malloc(test->n_rows * sizeof *pred);
    if (!mean || !std || !pred) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    if (!(net = soma_net_new(&spec, &err)) ||
        soma_net_init(net, SOMA_INIT_GLOROT, 7, &err) != SOMA_OK ||
        soma_standardize_fit(train->x, train->n_rows, d, mean, std, &err) != SOMA_OK ||
        soma_net_set_standardize(net, mean, std, &err) != SOMA_OK)
        goto done;

    soma_train_config cfg = soma_train_config_default();
    cfg.learning_rate = 0.01;
    cfg.batch_size = 16;
    cfg.epochs = 300;
    if (soma_train(net, train->x, train->y, train->n_rows, 1, &cfg, &err) != SOMA_OK ||
        soma_predict(net, test->x, test->n_rows, pred, &err) != SOMA_OK)
        goto done;

    /* the rival: the mean of the training targets, whatever the input */
    double train_mean = 0.0;
    for (size_t i = 0; i < train->n_rows; i++)
        train_mean += (double)train->y[i];
    train_mean /= (double)train->n_rows;
    double base = 0.0;
    for (size_t i = 0; i < test->n_rows; i++) {
        double e = train_mean - (double)test->y[i];
        base += e * e;
    }
    base = sqrt(base / (double)test->n_rows);

    printf("%s from %d columns of %s, %zu training rows, %zu held out\n",
           target, d, path, train->n_rows, test->n_rows);
    printf("held-out RMSE %.4f (always guessing the mean: %.4f)\n",
           rmse(pred, test->y, test->n_rows), base);
    printf("%10s %10s\n", "true", "predicted");
    for (size_t i = 0; i < test->n_rows && i < 5; i++)
        printf("%10.3f %10.3f\n", (double)test->y[i], (double)pred[i]);
    rc = 0;
done:
    if (err.code != SOMA_OK)
        fprintf(stderr, "regression: %s\n", err.message);
    free(pred);
    free(std);
    free(mean);
    soma_net_free(net);
    soma_dataset_free(test);
    soma_dataset_free(train);
    soma_dataset_free(all);
    return rc;
}
