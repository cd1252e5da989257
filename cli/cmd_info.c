/*
 * cmd_info.c - soma info: describe a model file.
 */
#include "cli.h"

#include <stdio.h>

int cmd_info(int argc, char **argv)
{
    const cli_command cmd = {"info", "MODEL",
                             "Prints a model's architecture, parameter count, "
                             "classes, features and training metadata.",
                             NULL, 0, 1, 1};
    const char *pos[1];
    int n_pos;
    char msg[256];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    soma_error err;
    if (cli_not_a_model(pos[0], msg, sizeof msg))
        return cli_usage_error(&cmd, msg);
    soma_net *net = soma_net_load(pos[0], &err);
    if (!net)
        return cli_error("%s", err.message);

    printf("model       %s\n", pos[0]);
    printf("inputs      %d%s\n", soma_net_n_inputs(net),
           soma_net_mean(net) ? " (standardised)" : "");
    for (int i = 0; i < soma_net_n_layers(net); i++) {
        soma_layer_spec l = soma_net_layer(net, i);
        printf("layer %-5d %d units, %s%s\n", i, l.units,
               soma_activation_name(l.activation), l.bias ? ", bias" : ", no bias");
    }
    printf("loss        %s\n", soma_loss_name(soma_net_loss(net)));
    printf("parameters  %zu\n", soma_net_n_params(net));
    int nc = soma_net_n_classes(net);
    if (nc > 0) {
        printf("classes     %d:", nc);
        for (int i = 0; i < nc; i++)
            printf(" %s", soma_net_class(net, i));
        printf("\n");
    }
    const soma_prep *prep = soma_net_prep(net);
    if (prep) {
        printf("table       separator %s, decimal '%c', missing values: %s\n",
               cli_sep_name(prep->sep), prep->decimal,
               prep->missing == SOMA_MISSING_DROP    ? "drop"
               : prep->missing == SOMA_MISSING_ERROR ? "error"
                                                     : "impute");
        cli_print_prep(stdout, prep, NULL);
        for (int c = 0; c < prep->n_columns; c++) {
            const soma_prep_column *col = &prep->columns[c];
            if (col->role == SOMA_ROLE_NUMERIC)
                printf("  fill %-20s %.9g\n", col->name, col->fill);
        }
        if (prep->target_mean)
            for (int j = 0; j < prep->n_targets; j++)
                printf("target      %s: trained as (y - %.9g) / %.9g\n",
                       prep->columns[prep->targets[j]].name, prep->target_mean[j],
                       prep->target_std[j]);
    }
    int nf = soma_net_n_features(net);
    if (nf > 0) {
        printf("features    ");
        for (int i = 0; i < nf; i++)
            printf("%s%s", i ? ", " : "", soma_net_feature(net, i));
        printf("\n");
    }
    for (int i = 0; i < soma_net_n_meta(net); i++) {
        const char *key = soma_net_meta_key(net, i);
        printf("%-11s %s\n", key, soma_net_get_meta(net, key));
    }
    soma_net_free(net);
    return 0;
}
