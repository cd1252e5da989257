/*
 * classify_csv.c - a multi-class classifier on a CSV file: read the data,
 * hold out a fifth of it, train a small network on the rest, measure it on
 * the held-out rows and save it. What `soma train` and `soma eval` do, in
 * one page of C.
 *
 *     build/examples/classify_csv tests/data/iris.csv species iris.safetensors
 *     cc classify_csv.c $(pkg-config --cflags --libs soma) -o classify_csv
 */
#include <soma.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DATA.csv TARGET-COLUMN MODEL\n", argv[0]);
        return 2;
    }
    soma_error err = {SOMA_OK, ""};
    soma_dataset *all = NULL, *train = NULL, *test = NULL;
    soma_net *net = NULL;
    float *mean = NULL, *std = NULL;
    size_t *confusion = NULL;
    int rc = 1;

    /* every column but the target is a numeric feature; each distinct
     * target value is a class (class_names holds them, sorted) */
    soma_csv_options opt = {0};
    opt.target = argv[2];
    opt.target_kind = SOMA_TARGET_CLASSES;
    if (soma_csv_read(argv[1], &opt, &all, &err) != SOMA_OK ||
        soma_dataset_split(all, 0.2, 1, &train, &test, &err) != SOMA_OK)
        goto done;
    int d = train->n_features, k = train->n_classes;
    if (k < 2) {
        fprintf(stderr, "%s: the target has a single class\n", argv[1]);
        goto done;
    }

    /* d inputs -> 16 ReLU units -> k softmax outputs, cross-entropy loss */
    soma_layer_spec layers[2] = {{16, SOMA_ACT_RELU, 1}, {k, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {d, 2, layers, SOMA_LOSS_CE};
    mean = malloc((size_t)d * sizeof *mean);
    std = malloc((size_t)d * sizeof *std);
    confusion = calloc((size_t)k * (size_t)k, sizeof *confusion);
    if (!mean || !std || !confusion) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    /* the net standardises its inputs with the training rows' statistics
     * and remembers class and feature names, so the saved file is all that
     * `soma predict` needs */
    if (!(net = soma_net_new(&spec, &err)) ||
        soma_net_init(net, SOMA_INIT_HE, 42, &err) != SOMA_OK ||
        soma_standardize_fit(train->x, train->n_rows, d, mean, std, &err) != SOMA_OK ||
        soma_net_set_standardize(net, mean, std, &err) != SOMA_OK ||
        soma_net_set_classes(net, k, (const char *const *)train->class_names,
                             &err) != SOMA_OK ||
        soma_net_set_features(net, d, (const char *const *)train->feature_names,
                              &err) != SOMA_OK ||
        soma_net_set_meta(net, "target", train->target_name, &err) != SOMA_OK)
        goto done;

    /* y holds one class index per row, so y_cols is 1 */
    soma_train_config cfg = soma_train_config_default(); /* adam, batches of 32 */
    cfg.learning_rate = 0.01;
    cfg.epochs = 100;
    if (soma_train(net, train->x, train->y, train->n_rows, 1, &cfg, &err) != SOMA_OK)
        goto done;

    double loss, accuracy;
    if (soma_evaluate(net, test->x, test->y, test->n_rows, 1, &loss, &accuracy,
                      confusion, &err) != SOMA_OK)
        goto done;
    printf("trained on %zu rows, tested on %zu held-out rows\n", train->n_rows,
           test->n_rows);
    printf("test loss %.4f, accuracy %.4f\n", loss, accuracy);
    printf("confusion (rows: true class, columns: predicted)\n");
    for (int i = 0; i < k; i++) {
        printf("  %-12s", train->class_names[i]);
        for (int j = 0; j < k; j++)
            printf(" %4zu", confusion[i * k + j]);
        printf("\n");
    }
    if (soma_net_save(net, argv[3], &err) != SOMA_OK)
        goto done;
    printf("saved %s\n", argv[3]);
    rc = 0;
done:
    if (err.code != SOMA_OK)
        fprintf(stderr, "classify_csv: %s\n", err.message);
    free(confusion);
    free(std);
    free(mean);
    soma_net_free(net);
    soma_dataset_free(test);
    soma_dataset_free(train);
    soma_dataset_free(all);
    return rc;
}
