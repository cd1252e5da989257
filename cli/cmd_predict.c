/*
 * cmd_predict.c - soma predict and soma eval: run a saved model on a CSV or
 * on IDX images.
 */
#include "cli.h"
#include "svg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads a model that runs on the given number of threads, or returns NULL
 * after printing an error. */
static soma_net *load_model(const char *path, int threads)
{
    soma_error err;
    soma_net *net = soma_net_load(path, &err);
    if (!net || soma_net_set_threads(net, threads, &err) != SOMA_OK) {
        soma_net_free(net);
        cli_error("%s", err.message);
        return NULL;
    }
    return net;
}

int cmd_predict(int argc, char **argv)
{
    int threads = 0;
    const cli_opt opts[] = {
        {"threads", 0, OPT_INT, &threads, 0, 1024, "N",
         "worker threads, 0 = one per core (default 0)"},
    };
    const cli_command cmd = {
        "predict", "MODEL DATA.csv|IMAGES [--threads N]",
        "Writes CSV to stdout: a header, then for each row the predicted label\n"
        "and one probability column per class (or the predicted value for a\n"
        "regression model). In a CSV the model's features are found by name;\n"
        "other columns, such as the target, are ignored. IDX images (plain or\n"
        "gzipped, told apart from CSV by their content) give their pixels in\n"
        "order, one row per image.",
        opts, 1, 2, 2};
    const char *pos[2];
    int n_pos, idx;
    char msg[256];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    if (cli_sniff(pos[1], 0, &idx))
        return 1;

    soma_net *net = load_model(pos[0], threads);
    if (!net)
        return 1;
    soma_dataset *ds = cli_read_for_model(pos[1], idx, net, NULL, NULL);
    if (!ds) {
        soma_net_free(net);
        return 1;
    }
    int k = soma_net_n_outputs(net), nc = soma_net_n_classes(net);
    size_t n = ds->n_rows;
    float *out = malloc(n * (size_t)k * sizeof *out + 1);
    soma_error err;
    int rc = 1;
    if (!out) {
        cli_error("out of memory");
        goto done;
    }
    if (soma_predict(net, ds->x, n, out, &err) != SOMA_OK) {
        cli_error("%s: %s", pos[1], err.message);
        goto done;
    }
    /* one sigmoid output with two labels reads as P(second label) */
    int binary = nc == 2 && k == 1;
    int classify = nc > 0 && (nc == k || binary);
    if (classify) {
        fputs("predicted", stdout);
        for (int c = 0; c < nc; c++) {
            fputc(',', stdout);
            cli_csv_field(stdout, soma_net_class(net, c));
        }
        fputc('\n', stdout);
        for (size_t i = 0; i < n; i++) {
            const float *o = out + i * (size_t)k;
            int c;
            soma_argmax(o, 1, k, &c);
            cli_csv_field(stdout, soma_net_class(net, c));
            if (binary)
                printf(",%.9g,%.9g\n", (double)(1.0f - o[0]), (double)o[0]);
            else {
                for (int j = 0; j < k; j++)
                    printf(",%.9g", (double)o[j]);
                fputc('\n', stdout);
            }
        }
    } else {
        const char *t = soma_net_get_meta(net, "target");
        for (int j = 0; j < k; j++) {
            if (j)
                fputc(',', stdout);
            if (k == 1)
                cli_csv_field(stdout, t ? t : "predicted");
            else
                printf("output%d", j);
        }
        fputc('\n', stdout);
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < k; j++)
                printf("%.9g%c", (double)out[i * (size_t)k + (size_t)j],
                       j + 1 < k ? ',' : '\n');
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the predictions to standard output");
        goto done;
    }
    rc = 0;
done:
    free(out);
    soma_dataset_free(ds);
    soma_net_free(net);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *target = NULL, *labels = NULL, *confusion_svg = NULL;
    int threads = 0;
    const cli_opt opts[] = {
        {"confusion-svg", 0, OPT_STRING, &confusion_svg, 0, 0, "FILE.svg",
         "also draw the confusion matrix as an SVG heat map"},
        {"target", 't', OPT_STRING, &target, 0, 0, "COL",
         "CSV: target column (default: the one the model was trained on)"},
        {"labels", 0, OPT_STRING, &labels, 0, 0, "FILE",
         "IDX images: the IDX labels file (required)"},
        {"threads", 0, OPT_INT, &threads, 0, 1024, "N",
         "worker threads, 0 = one per core (default 0)"},
    };
    const cli_command cmd = {
        "eval", "MODEL (DATA.csv [--target COL] | IMAGES --labels LABELS)",
        "Prints the loss, the accuracy and the confusion matrix of a model on a\n"
        "labelled CSV file or on IDX images with their IDX labels (plain or\n"
        "gzipped, told apart from CSV by their content).",
        opts, (int)(sizeof opts / sizeof opts[0]), 2, 2};
    const char *pos[2];
    int n_pos, idx;
    char msg[256];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    if (cli_sniff(pos[1], labels != NULL, &idx))
        return 1;
    if (idx && !labels)
        return cli_usage_error(&cmd, "IDX images need --labels");
    if (idx && target)
        return cli_usage_error(&cmd, "--target is for CSV files; IDX images take "
                                     "--labels");
    if (!idx && labels)
        return cli_usage_error(&cmd, "--labels is for IDX images; a CSV names its "
                                     "target with --target");

    soma_net *net = load_model(pos[0], threads);
    if (!net)
        return 1;
    if (idx && soma_net_n_classes(net) == 0) {
        soma_net_free(net);
        return cli_error("%s: the model has no classes, so IDX labels cannot be "
                         "its targets", pos[0]);
    }
    if (!idx && !target)
        target = soma_net_get_meta(net, "target");
    if (!idx && !target) {
        soma_net_free(net);
        return cli_usage_error(&cmd, "the model does not name its target column; "
                                     "give --target");
    }
    soma_error err;
    int rc = 1;
    float *y = NULL;
    size_t *conf = NULL;
    const char *target_file = idx ? labels : pos[1];
    soma_dataset *ds = cli_read_for_model(pos[1], idx, net, target, labels);
    if (!ds)
        goto done;
    int k = soma_net_n_outputs(net), y_cols, nc = soma_net_n_classes(net);
    if (cli_targets(target_file, ds, soma_net_loss(net), k, &y, &y_cols))
        goto done;
    int m = k == 1 ? 2 : k;
    conf = calloc((size_t)m * (size_t)m, sizeof *conf);
    if (!conf) {
        cli_error("out of memory");
        goto done;
    }
    double loss, acc;
    if (soma_evaluate(net, ds->x, y, ds->n_rows, y_cols, &loss, &acc, conf, &err) !=
        SOMA_OK) {
        cli_error("%s: %s", pos[1], err.message);
        goto done;
    }
    printf("rows      %zu\n", ds->n_rows);
    printf("loss      %.6f (%s)\n", loss, soma_loss_name(soma_net_loss(net)));
    if (acc >= 0.0) {
        size_t right = 0;
        for (int i = 0; i < m; i++)
            right += conf[(size_t)i * (size_t)m + (size_t)i];
        printf("accuracy  %.4f (%zu of %zu)\n", acc, right, ds->n_rows);
        if (nc == m) {
            printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
            int w = 9;
            for (int i = 0; i < nc; i++) {
                int len = (int)strlen(soma_net_class(net, i));
                if (len > w)
                    w = len;
            }
            if (w > 24)
                w = 24;
            printf("%*s", w, "");
            for (int j = 0; j < nc; j++)
                printf(" %*.*s", w, w, soma_net_class(net, j));
            printf("\n");
            for (int i = 0; i < nc; i++) {
                printf("%*.*s", w, w, soma_net_class(net, i));
                for (int j = 0; j < nc; j++)
                    printf(" %*zu", w, conf[(size_t)i * (size_t)m + (size_t)j]);
                printf("\n");
            }
        }
    }
    if (confusion_svg) {
        if (acc < 0.0) {
            cli_error("--confusion-svg: %s is a regression model; it has no "
                      "confusion matrix", pos[0]);
            goto done;
        }
        const char **lab = malloc((size_t)m * sizeof *lab);
        if (!lab) {
            cli_error("out of memory");
            goto done;
        }
        for (int i = 0; i < m; i++)
            lab[i] = nc == m ? soma_net_class(net, i) : NULL;
        char smsg[512];
        int bad = svg_confusion(confusion_svg, m, lab, conf, smsg, sizeof smsg);
        free(lab);
        if (bad) {
            cli_error("%s", smsg);
            goto done;
        }
    }
    rc = 0;
done:
    free(y);
    free(conf);
    soma_dataset_free(ds);
    soma_net_free(net);
    return rc;
}
