/*
 * messy_table.c - a real table as it comes (any separator, missing values,
 * text columns, gzipped or not) into a model that takes raw rows: what
 * `soma train` does with a table, in one page of C. The preprocessing is
 * fitted on the table, printed, applied, stored in the model and applied
 * again to new rows by whoever loads the model.
 *
 *     build/examples/messy_table cars.csv Miles_per_Gallon cars.safetensors
 *     cc messy_table.c $(pkg-config --cflags --libs soma) -o messy_table
 */
#include <soma.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s TABLE TARGET-COLUMN MODEL\n", argv[0]);
        return 2;
    }
    soma_error err = {SOMA_OK, ""};
    soma_table *table = NULL;
    soma_prep *prep = NULL;
    soma_dataset *ds = NULL;
    soma_net *net = NULL, *back = NULL;
    float *mean = NULL, *std = NULL, *out = NULL;
    int rc = 1;

    /* the separator, decimal mark and gzip are found in the file; the
     * roles of the columns and the task in the data */
    const char *target = argv[2];
    soma_prep_options po = {0};
    po.targets = &target;
    po.n_targets = 1;
    if (soma_table_read(argv[1], NULL, &table, &err) != SOMA_OK ||
        soma_prep_fit(table, &po, &prep, &err) != SOMA_OK)
        goto done;
    for (int c = 0; c < prep->n_columns; c++)
        printf("%-20s %-12s %s\n", prep->columns[c].name,
               soma_role_name(prep->columns[c].role), prep->columns[c].reason);
    printf("task: %s (%s)\n", prep->task == SOMA_TASK_CLASSIFY ? "classify"
                                                               : "regress",
           prep->task_reason);

    /* rows to numbers: missing values filled, categories one-hot; for
     * regression the targets are trained standardised */
    soma_prep_report rep;
    if (soma_prep_apply(prep, table, SOMA_PREP_TARGETS | SOMA_PREP_TRAINING, &ds,
                        &rep, &err) != SOMA_OK)
        goto done;
    printf("%zu rows (%zu without a target), %d inputs, %zu cells filled\n",
           ds->n_rows, rep.dropped_target, ds->n_features, rep.imputed);
    int classify = prep->task == SOMA_TASK_CLASSIFY;
    int k = classify ? prep->n_classes : 1;
    soma_prep_scale(prep, ds->y, ds->n_rows);

    soma_layer_spec layers[2] = {
        {32, SOMA_ACT_RELU, 1},
        {k, classify ? SOMA_ACT_SOFTMAX : SOMA_ACT_LINEAR, 1}};
    soma_spec spec = {ds->n_features, 2, layers,
                      classify ? SOMA_LOSS_CE : SOMA_LOSS_MSE};
    if (classify && k < 2) {
        fprintf(stderr, "%s: the target has a single class\n", argv[1]);
        goto done;
    }
    mean = malloc((size_t)ds->n_features * sizeof *mean);
    std = malloc((size_t)ds->n_features * sizeof *std);
    out = malloc(ds->n_rows * (size_t)k * sizeof *out);
    if (!mean || !std || !out) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    soma_train_config cfg = soma_train_config_default();
    cfg.learning_rate = 0.01;
    cfg.epochs = 100;
    if (!(net = soma_net_new(&spec, &err)) ||
        soma_net_init(net, SOMA_INIT_HE, 1, &err) != SOMA_OK ||
        soma_standardize_fit(ds->x, ds->n_rows, ds->n_features, mean, std,
                             &err) != SOMA_OK ||
        soma_net_set_standardize(net, mean, std, &err) != SOMA_OK ||
        soma_train(net, ds->x, ds->y, ds->n_rows, 1, &cfg, &err) != SOMA_OK ||
        (classify && soma_net_set_classes(net, k, (const char *const *)prep->classes,
                                          &err) != SOMA_OK) ||
        soma_net_set_prep(net, prep, &err) != SOMA_OK ||
        soma_net_save(net, argv[3], &err) != SOMA_OK)
        goto done;

    /* whoever loads the model gives it raw rows: here the table again */
    if (!(back = soma_net_load(argv[3], &err)))
        goto done;
    soma_dataset_free(ds);
    ds = NULL;
    if (soma_prep_apply(soma_net_prep(back), table, SOMA_PREP_TARGETS, &ds, NULL,
                        &err) != SOMA_OK ||
        soma_predict(back, ds->x, ds->n_rows, out, &err) != SOMA_OK)
        goto done;
    if (classify) {
        size_t right = 0;
        for (size_t i = 0; i < ds->n_rows; i++) {
            int c;
            soma_argmax(out + i * (size_t)k, 1, k, &c);
            right += c == (int)ds->y[i];
        }
        printf("training accuracy %.4f\n", (double)right / (double)ds->n_rows);
    } else {
        /* outputs back in the target's units */
        soma_prep_unscale(soma_net_prep(back), out, ds->n_rows);
        double se = 0;
        for (size_t i = 0; i < ds->n_rows; i++)
            se += ((double)out[i] - (double)ds->y[i]) *
                  ((double)out[i] - (double)ds->y[i]);
        printf("training RMSE %.4f (in the target's units)\n",
               sqrt(se / (double)ds->n_rows));
    }
    printf("saved %s\n", argv[3]);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "%s\n", err.message[0] ? err.message : "failed");
    free(mean);
    free(std);
    free(out);
    soma_dataset_free(ds);
    soma_prep_free(prep);
    soma_table_free(table);
    soma_net_free(net);
    soma_net_free(back);
    return rc;
}
