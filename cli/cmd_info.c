/*
 * cmd_info.c - soma info: describe a model file, for people (aligned
 * "key  value" lines) or for scripts (--json).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_strings(const char *key, int n, const char *(*get)(const soma_net *, int),
                         const soma_net *net)
{
    printf(",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        if (i)
            putchar(',');
        cli_json_string(stdout, get(net, i));
    }
    putchar(']');
}

/* The model as one JSON object: the architecture, the preprocessing (as
 * docs/model-format.md stores it) and the training metadata. */
static int info_json(const char *path, const soma_net *net)
{
    soma_error err;
    printf("{\"model\":");
    cli_json_string(stdout, path);
    printf(",\"inputs\":%d,\"standardised\":%s,\"layers\":[", soma_net_n_inputs(net),
           soma_net_mean(net) ? "true" : "false");
    for (int i = 0; i < soma_net_n_layers(net); i++) {
        soma_layer_spec l = soma_net_layer(net, i);
        printf("%s{\"units\":%d,\"activation\":\"%s\",\"bias\":%s}", i ? "," : "",
               l.units, soma_activation_name(l.activation),
               l.bias ? "true" : "false");
    }
    printf("],\"loss\":\"%s\",\"parameters\":%zu", soma_loss_name(soma_net_loss(net)),
           soma_net_n_params(net));
    json_strings("classes", soma_net_n_classes(net), soma_net_class, net);
    json_strings("features", soma_net_n_features(net), soma_net_feature, net);
    printf(",\"preprocess\":");
    const soma_prep *prep = soma_net_prep(net);
    if (prep) {
        char *j = soma_prep_to_json(prep, &err);
        if (!j) {
            putchar('\n');
            return cli_error("%s: %s", path, err.message);
        }
        fputs(j, stdout);
        soma_prep_json_free(j);
    } else {
        fputs("null", stdout);
    }
    printf(",\"metadata\":{");
    for (int i = 0; i < soma_net_n_meta(net); i++) {
        const char *key = soma_net_meta_key(net, i);
        if (i)
            putchar(',');
        cli_json_string(stdout, key);
        putchar(':');
        cli_json_string(stdout, soma_net_get_meta(net, key));
    }
    printf("}}\n");
    return 0;
}

int cmd_info(int argc, char **argv)
{
    int json = 0;
    const cli_opt opts[] = {
        {"json", 0, OPT_FLAG, &json, 0, 0, NULL,
         "print the model as one JSON object on standard output"},
    };
    const cli_command cmd = {"info", "MODEL [--json]",
                             "Prints a model's architecture, parameter count, "
                             "classes, preprocessing,\nfeatures and training "
                             "metadata.",
                             opts, 1, 1, 1};
    const char *pos[1];
    int n_pos;
    char msg[512];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    soma_error err;
    if (cli_not_a_model(pos[0], msg, sizeof msg))
        return cli_usage_error(&cmd, msg);
    soma_net *net = soma_net_load(pos[0], &err);
    if (!net)
        return cli_error("%s", err.message);
    if (json) {
        int rc = info_json(pos[0], net);
        soma_net_free(net);
        return rc;
    }

    /* keys in one column, as wide as the widest */
    int w = 11;
    for (int i = 0; i < soma_net_n_meta(net); i++) {
        int len = (int)strlen(soma_net_meta_key(net, i));
        if (len > w)
            w = len;
    }
    if (w > 28)
        w = 28;
    printf("%-*s %s\n", w, "model", pos[0]);
    printf("%-*s %d%s\n", w, "inputs", soma_net_n_inputs(net),
           soma_net_mean(net) ? " (standardised)" : "");
    for (int i = 0; i < soma_net_n_layers(net); i++) {
        soma_layer_spec l = soma_net_layer(net, i);
        char key[32];
        snprintf(key, sizeof key, "layer %d", i);
        printf("%-*s %d unit%s, %s%s\n", w, key, l.units, l.units == 1 ? "" : "s",
               soma_activation_name(l.activation), l.bias ? ", bias" : ", no bias");
    }
    printf("%-*s %s\n", w, "loss", soma_loss_name(soma_net_loss(net)));
    printf("%-*s %zu\n", w, "parameters", soma_net_n_params(net));
    int nc = soma_net_n_classes(net);
    if (nc > 0) {
        printf("%-*s %d:", w, "classes", nc);
        for (int i = 0; i < nc; i++)
            printf(" %s", soma_net_class(net, i));
        printf("\n");
    }
    const soma_prep *prep = soma_net_prep(net);
    if (prep) {
        printf("%-*s separator %s, decimal '%c', missing values: %s\n", w, "table",
               cli_sep_name(prep->sep), prep->decimal,
               prep->missing == SOMA_MISSING_DROP    ? "drop"
               : prep->missing == SOMA_MISSING_ERROR ? "error"
                                                     : "impute");
        char task[600];
        printf("%-*s %s\n", w, "task", cli_task_text(prep, task, sizeof task));
        printf("%-*s %s\n", w, "columns", "(--numeric, --categorical, --ignore "
                                          "change them)");
        cli_print_roles(stdout, prep);
        if (prep->target_mean)
            for (int j = 0; j < prep->n_targets; j++)
                printf("%-*s %s: trained as (y - %.9g) / %.9g\n", w, "target",
                       prep->columns[prep->targets[j]].name, prep->target_mean[j],
                       prep->target_std[j]);
    }
    int nf = soma_net_n_features(net);
    if (nf > 0) {
        printf("%-*s ", w, "features");
        for (int i = 0; i < nf; i++)
            printf("%s%s", i ? ", " : "", soma_net_feature(net, i));
        printf("\n");
    }
    for (int i = 0; i < soma_net_n_meta(net); i++) {
        const char *key = soma_net_meta_key(net, i);
        if (prep && strcmp(key, "task") == 0)
            continue; /* the task line above says it, with its reason */
        printf("%-*s %s\n", w, key, soma_net_get_meta(net, key));
    }
    soma_net_free(net);
    return 0;
}
