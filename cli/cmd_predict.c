/*
 * cmd_predict.c - soma predict and soma eval: run a saved model on a CSV or
 * on IDX images.
 */
#include "cli.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads a model that runs on the given number of threads, or returns NULL
 * after printing an error (*rc: its exit status; a file that is no model
 * at all, the arguments swapped, is a usage error). */
static soma_net *load_model(const cli_command *cmd, const char *path,
                            int threads, int *rc)
{
    soma_error err;
    char msg[512];
    *rc = 1;
    if (cli_not_a_model(path, msg, sizeof msg)) {
        *rc = cli_usage_error(cmd, msg);
        return NULL;
    }
    soma_net *net = soma_net_load(path, &err);
    if (!net || soma_net_set_threads(net, threads, &err) != SOMA_OK) {
        soma_net_free(net);
        cli_error("%s", err.message);
        return NULL;
    }
    return net;
}

/* "predicted_<target>" and "p_<class>": names no input column is likely
 * to have, so the predictions join the input table without a clash. */
static void print_header_name(FILE *f, const char *prefix, const char *name)
{
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *s = malloc(n);
    if (!s) {
        cli_csv_field(f, prefix);
        return;
    }
    snprintf(s, n, "%s%s", prefix, name);
    cli_csv_field(f, s);
    free(s);
}

int cmd_predict(int argc, char **argv)
{
    int threads = 0;
    const char *output = NULL, *sep = NULL, *decimal = NULL;
    static cli_list ids, na;
    const cli_opt opts[] = {
        {"output", 'o', OPT_STRING, &output, 0, 0, "FILE",
         "write the CSV to FILE (atomically) instead of standard output"},
        {"id", 0, OPT_LIST, &ids, 0, 0, "COL",
         "copy this column in front of the predictions (repeatable)"},
        CLI_TABLE_OPTS(sep, decimal, na),
        {"threads", 0, OPT_INT, &threads, 0, 1024, "N",
         "worker threads, 0 = one per core (default 0)"},
    };
    const cli_command cmd = {
        "predict", "MODEL DATA.csv|IMAGES [-o FILE] [--id COL]",
        "Writes CSV: a header, then for each row the --id columns, the\n"
        "predicted label (predicted_<target>) and one probability column per\n"
        "class (p_<class>), or the predicted value of each target (predicted_<t>)\n"
        "for a regression model, in the target's units. Rows are raw rows like\n"
        "the training file's: the model finds its columns by name and applies\n"
        "its preprocessing (missing values, categories, scaling). IDX images\n"
        "(plain or gzipped, told apart from CSV by their content) give their\n"
        "pixels in order, one row per image.",
        opts, (int)(sizeof opts / sizeof opts[0]), 2, 2};
    const char *pos[2];
    int n_pos, idx;
    char msg[512];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    soma_table_options topt;
    if (cli_table_options(sep, decimal, &na, &topt, msg, sizeof msg))
        return cli_usage_error(&cmd, msg);
    cli_set_table_options(&topt);
    if (cli_sniff(pos[1], 0, &idx))
        return 1;
    if (idx && ids.n)
        return cli_usage_error(&cmd, "--id is for CSV files");

    int lrc;
    soma_net *net = load_model(&cmd, pos[0], threads, &lrc);
    if (!net)
        return lrc;
    soma_table *idt = NULL;
    int idc[CLI_LIST_MAX];
    soma_dataset *ds = NULL;
    if (ids.n && !soma_net_prep(net)) {
        soma_net_free(net);
        return cli_error("%s: --id needs a model that keeps its preprocessing "
                         "(trained on a CSV by this version of soma)", pos[0]);
    }
    ds = ids.n ? cli_read_prep(pos[1], net, NULL, 0, &ids, &idt)
               : cli_read_for_model(pos[1], idx, net, NULL, NULL);
    for (int i = 0; ds && i < ids.n; i++)
        idc[i] = soma_table_find(idt, ids.items[i]);
    if (!ds) {
        soma_dataset_free(ds);
        soma_table_free(idt);
        soma_net_free(net);
        return 1;
    }
    int k = soma_net_n_outputs(net), nc = soma_net_n_classes(net);
    size_t n = ds->n_rows;
    float *out = malloc(n * (size_t)k * sizeof *out + 1);
    soma_error err;
    cli_out o = {NULL, NULL, NULL};
    int rc = 1;
    if (!out) {
        cli_error("out of memory");
        goto done;
    }
    if (soma_predict(net, ds->x, n, out, &err) != SOMA_OK) {
        cli_error("%s: %s", pos[1], err.message);
        goto done;
    }
    const soma_prep *prep = soma_net_prep(net);
    soma_prep_unscale(prep, out, n);
    if (cli_out_open(&o, output ? output : "-", msg, sizeof msg) != 0) {
        cli_error("%s", msg);
        goto done;
    }
    FILE *f = o.f;
    for (int j = 0; j < ids.n; j++) {
        cli_csv_field(f, soma_table_col_name(idt, idc[j]));
        fputc(',', f);
    }
    /* one sigmoid output with two labels reads as P(second label) */
    int binary = nc == 2 && k == 1;
    int classify = nc > 0 && (nc == k || binary);
    const char *t = prep ? prep->columns[prep->targets[0]].name
                         : soma_net_get_meta(net, "target");
    if (classify) {
        print_header_name(f, "predicted_", t ? t : "class");
        for (int c = 0; c < nc; c++) {
            fputc(',', f);
            print_header_name(f, "p_", soma_net_class(net, c));
        }
    } else {
        for (int j = 0; j < k; j++) {
            if (j)
                fputc(',', f);
            if (prep && prep->n_targets == k)
                print_header_name(f, "predicted_",
                                  prep->columns[prep->targets[j]].name);
            else if (k == 1)
                print_header_name(f, "predicted_", t ? t : "value");
            else
                fprintf(f, "output%d", j);
        }
    }
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < ids.n; j++) {
            char buf[64];
            cli_csv_field(f, soma_table_cell_text(idt, i, idc[j], buf, sizeof buf));
            fputc(',', f);
        }
        const float *row = out + i * (size_t)k;
        if (classify) {
            int c;
            soma_argmax(row, 1, k, &c);
            cli_csv_field(f, soma_net_class(net, c));
            if (binary)
                fprintf(f, ",%.9g,%.9g\n", (double)(1.0f - row[0]),
                        (double)row[0]);
            else {
                for (int j = 0; j < k; j++)
                    fprintf(f, ",%.9g", (double)row[j]);
                fputc('\n', f);
            }
        } else {
            for (int j = 0; j < k; j++)
                fprintf(f, "%.9g%c", (double)row[j], j + 1 < k ? ',' : '\n');
        }
    }
    if (cli_out_commit(&o, msg, sizeof msg) != 0) {
        o.tmp = NULL;
        cli_error("%s", output ? msg : "cannot write the predictions to standard "
                                       "output");
        goto done;
    }
    rc = 0;
done:
    if (o.tmp)
        cli_out_abort(&o);
    free(out);
    soma_table_free(idt);
    soma_dataset_free(ds);
    soma_net_free(net);
    return rc;
}

/* Figures of a model from its predictions on ds: ds->y holds class indices
 * (-1: a label the model does not know) or the targets in their units.
 * With a preprocessing the regression baseline is the training mean it
 * stored; without one (older models), the mean of these targets. Returns
 * the exit status. */
static int eval_report(soma_net *net, const soma_dataset *ds, const char *path,
                       int json, const char *confusion_svg)
{
    const soma_prep *p = soma_net_prep(net);
    size_t n = ds->n_rows;
    int k = soma_net_n_outputs(net);
    soma_error err;
    float *out = malloc(n * (size_t)k * sizeof *out + 1);
    if (!out)
        return cli_error("out of memory");
    if (soma_predict(net, ds->x, n, out, &err) != SOMA_OK) {
        free(out);
        return cli_error("%s: %s", path, err.message);
    }
    int rc = 0;
    int nc = soma_net_n_classes(net);
    if (p ? p->task == SOMA_TASK_REGRESS : nc == 0) {
        soma_prep_unscale(p, out, n);
        int t = p ? p->n_targets : k;
        const char *meta_target = soma_net_get_meta(net, "target");
        if (json)
            printf("{\"rows\":%zu,\"task\":\"regression\",\"targets\":[", n);
        else
            printf("rows      %zu\n", n);
        for (int j = 0; j < t; j++) {
            double mean = 0.0;
            for (size_t i = 0; i < n; i++)
                mean += (double)ds->y[i * (size_t)t + (size_t)j];
            mean /= (double)n;
            double base = p && p->target_mean ? p->target_mean[j] : mean;
            double se = 0, ae = 0, bse = 0, bae = 0, tss = 0;
            for (size_t i = 0; i < n; i++) {
                double yi = (double)ds->y[i * (size_t)t + (size_t)j];
                double e = (double)out[i * (size_t)k + (size_t)j] - yi;
                se += e * e;
                ae += fabs(e);
                bse += (base - yi) * (base - yi);
                bae += fabs(base - yi);
                tss += (yi - mean) * (yi - mean);
            }
            double mse = se / (double)n, mae = ae / (double)n;
            double bmse = bse / (double)n, bmae = bae / (double)n;
            double r2 = tss > 0 ? 1.0 - se / tss : 0.0;
            double br2 = tss > 0 ? 1.0 - bse / tss : 0.0;
            char oname[32];
            snprintf(oname, sizeof oname, "output%d", j);
            const char *name = p ? p->columns[p->targets[j]].name
                               : t == 1 && meta_target ? meta_target
                                                       : oname;
            if (json) {
                printf("%s{\"target\":", j ? "," : "");
                cli_json_string(stdout, name);
                printf(",\"mse\":%.9g,\"rmse\":%.9g,\"mae\":%.9g,\"r2\":%.9g,"
                       "\"baseline\":{\"predict\":%.9g,\"mse\":%.9g,\"rmse\":%.9g,"
                       "\"mae\":%.9g,\"r2\":%.9g}}",
                       mse, sqrt(mse), mae, r2, base, bmse, sqrt(bmse), bmae, br2);
            } else {
                printf("\ntarget    %s\n", name);
                printf("%-10s %14s %14s\n", "", "model",
                       p ? "training mean" : "mean");
                printf("%-10s %14.6g %14.6g\n", "mse", mse, bmse);
                printf("%-10s %14.6g %14.6g\n", "rmse", sqrt(mse), sqrt(bmse));
                printf("%-10s %14.6g %14.6g\n", "mae", mae, bmae);
                printf("%-10s %14.6g %14.6g\n", "r2", r2, br2);
            }
        }
        if (json)
            printf("]}\n");
        if (confusion_svg)
            rc = cli_error("--confusion-svg: the model is a regression model; it "
                           "has no confusion matrix");
        free(out);
        return rc;
    }
    if (nc < 2 || !(nc == k || (nc == 2 && k == 1))) {
        free(out);
        return cli_error("%s: the model's %d class labels do not fit its %d "
                         "outputs",
                         path, nc, k);
    }
    const char **cls = malloc((size_t)nc * sizeof *cls);
    if (!cls) {
        free(out);
        return cli_error("out of memory");
    }
    for (int c = 0; c < nc; c++)
        cls[c] = soma_net_class(net, c);
    size_t *conf = calloc((size_t)nc * (size_t)nc, sizeof *conf);
    if (!conf) {
        free(cls);
        free(out);
        return cli_error("out of memory");
    }
    size_t unknown = 0, right = 0;
    double logloss = 0.0;
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        const float *o = out + i * (size_t)k;
        int pred, c = (int)ds->y[i];
        soma_argmax(o, 1, k, &pred);
        if (c < 0) {
            unknown++;
            continue;
        }
        double pc = k == 1 ? (c == 1 ? (double)o[0] : 1.0 - (double)o[0])
                           : (double)o[c];
        if (pc < 1e-15)
            pc = 1e-15;
        logloss -= log(pc);
        known++;
        conf[(size_t)c * (size_t)nc + (size_t)pred]++;
        right += pred == c;
    }
    if (unknown)
        cli_notice("warning: %s: %zu row%s with a label the model never saw "
                   "(counted as wrong)",
                path, unknown, unknown == 1 ? "" : "s");
    double acc = (double)right / (double)n;
    double macro_f1 = 0.0, weighted_f1 = 0.0;
    double *prec = malloc((size_t)nc * 3 * sizeof *prec);
    if (!prec) {
        free(cls);
        free(out);
        free(conf);
        return cli_error("out of memory");
    }
    double *rec = prec + nc, *f1 = prec + 2 * nc;
    size_t *support = calloc((size_t)nc, sizeof *support);
    if (!support) {
        free(cls);
        free(out);
        free(conf);
        free(prec);
        return cli_error("out of memory");
    }
    for (int c = 0; c < nc; c++) {
        size_t tp = conf[(size_t)c * (size_t)nc + (size_t)c], col = 0;
        for (int r = 0; r < nc; r++) {
            support[c] += conf[(size_t)c * (size_t)nc + (size_t)r];
            col += conf[(size_t)r * (size_t)nc + (size_t)c];
        }
        prec[c] = col ? (double)tp / (double)col : 0.0;
        rec[c] = support[c] ? (double)tp / (double)support[c] : 0.0;
        f1[c] = prec[c] + rec[c] > 0 ? 2 * prec[c] * rec[c] / (prec[c] + rec[c]) : 0.0;
        macro_f1 += f1[c] / nc;
        weighted_f1 += known ? f1[c] * (double)support[c] / (double)known : 0.0;
    }
    logloss = known ? logloss / (double)known : 0.0;
    if (json) {
        printf("{\"rows\":%zu,\"task\":\"classification\",\"accuracy\":%.9g,"
               "\"correct\":%zu,\"unknown_label_rows\":%zu,\"log_loss\":%.9g,"
               "\"macro_f1\":%.9g,\"weighted_f1\":%.9g,\"classes\":[",
               n, acc, right, unknown, logloss, macro_f1, weighted_f1);
        for (int c = 0; c < nc; c++) {
            printf("%s{\"class\":", c ? "," : "");
            cli_json_string(stdout, cls[c]);
            printf(",\"precision\":%.9g,\"recall\":%.9g,\"f1\":%.9g,\"support\":%zu}",
                   prec[c], rec[c], f1[c], support[c]);
        }
        printf("],\"confusion\":[");
        for (int r = 0; r < nc; r++) {
            printf("%s[", r ? "," : "");
            for (int c = 0; c < nc; c++)
                printf("%s%zu", c ? "," : "", conf[(size_t)r * (size_t)nc + (size_t)c]);
            printf("]");
        }
        printf("]}\n");
    } else {
        printf("rows      %zu\n", n);
        printf("accuracy  %.4f (%zu of %zu)\n", acc, right, n);
        printf("log loss  %.6f\n", logloss);
        printf("macro F1  %.4f\nweighted F1 %.4f\n\n", macro_f1, weighted_f1);
        int w = 9;
        for (int c = 0; c < nc; c++) {
            int len = (int)strlen(cls[c]);
            if (len > w)
                w = len;
        }
        if (w > 24)
            w = 24;
        printf("%*s %9s %9s %9s %9s\n", w, "class", "precision", "recall", "f1",
               "support");
        for (int c = 0; c < nc; c++)
            printf("%*.*s %9.4f %9.4f %9.4f %9zu\n", w, w, cls[c], prec[c],
                   rec[c], f1[c], support[c]);
        printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
        printf("%*s", w, "");
        for (int j = 0; j < nc; j++)
            printf(" %*.*s", w, w, cls[j]);
        printf("\n");
        for (int i = 0; i < nc; i++) {
            printf("%*.*s", w, w, cls[i]);
            for (int j = 0; j < nc; j++)
                printf(" %*zu", w, conf[(size_t)i * (size_t)nc + (size_t)j]);
            printf("\n");
        }
    }
    if (confusion_svg) {
        char smsg[512];
        if (svg_confusion(confusion_svg, nc, cls, conf, smsg, sizeof smsg))
            rc = cli_error("%s", smsg);
    }
    free(support);
    free(prec);
    free(conf);
    free(cls);
    free(out);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *target = NULL, *labels = NULL, *confusion_svg = NULL;
    const char *sep = NULL, *decimal = NULL;
    static cli_list na;
    int threads = 0, json = 0;
    const cli_opt opts[] = {
        {"json", 0, OPT_FLAG, &json, 0, 0, NULL,
         "print the figures as one JSON object on standard output"},
        CLI_TABLE_OPTS(sep, decimal, na),
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
        "Prints how well a model does on labelled data: for classes the loss,\n"
        "accuracy, per-class precision, recall, F1 and support, macro and\n"
        "weighted F1, log loss and the confusion matrix (a row whose label the\n"
        "model never saw counts as wrong, with a warning); for regression MSE,\n"
        "RMSE, MAE and R^2 in the target's units, beside the same figures for\n"
        "always predicting the training mean. Data: a CSV file or IDX images\n"
        "with their IDX labels (plain or gzipped, told apart by content).",
        opts, (int)(sizeof opts / sizeof opts[0]), 2, 2};
    const char *pos[2];
    int n_pos, idx;
    char msg[256];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    soma_table_options topt;
    if (cli_table_options(sep, decimal, &na, &topt, msg, sizeof msg))
        return cli_usage_error(&cmd, msg);
    cli_set_table_options(&topt);
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

    int lrc;
    soma_net *net = load_model(&cmd, pos[0], threads, &lrc);
    if (!net)
        return lrc;
    if (idx && soma_net_n_classes(net) == 0) {
        soma_net_free(net);
        return cli_error("%s: the model has no classes, so IDX labels cannot be "
                         "its targets", pos[0]);
    }
    if (!idx && !target && soma_net_prep(net)) {
        const soma_prep *p = soma_net_prep(net);
        target = p->columns[p->targets[0]].name;
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
    /* a model without its preprocessing: its targets are checked against
     * its outputs first (the messages name the mismatch) */
    if (!soma_net_prep(net) &&
        cli_targets(target_file, ds, soma_net_loss(net), k, &y, &y_cols))
        goto done;
    if (nc == 0 || nc == k || (nc == 2 && k == 1) || soma_net_prep(net)) {
        rc = eval_report(net, ds, pos[1], json, confusion_svg);
        goto done;
    }
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
