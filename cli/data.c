/*
 * data.c - reading data for a model (CSV or IDX, told apart by content) and
 * turning data sets into what the library trains and evaluates on.
 */
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_sniff(const char *path, int labels_given, int *is_idx)
{
    struct stat sb;
    soma_error err;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        *is_idx = labels_given;
        return 0;
    }
    if (soma_idx_sniff(path, is_idx, &err) != SOMA_OK)
        return cli_error("%s", err.message);
    return 0;
}

int cli_targets(const char *path, const soma_dataset *ds, soma_loss loss, int k,
                float **y, int *y_cols)
{
    size_t n = ds->n_rows;
    int one_hot = ds->n_classes > 0 && k > 1 && loss != SOMA_LOSS_CE;
    if (ds->n_classes > 0 && k > 1 && ds->n_classes != k)
        return cli_error("%s: the target has %d classes but the network has %d "
                         "outputs", path, ds->n_classes, k);
    if (ds->n_classes > 2 && k == 1)
        return cli_error("%s: the target has %d classes but the network has one "
                         "output (use --output-activation softmax)", path, ds->n_classes);
    int vcols = ds->y_cols > 1 ? ds->y_cols : 1;
    if (ds->n_classes == 0 && k != vcols)
        return vcols == 1
                   ? cli_error("%s: a numeric target gives one value per row "
                               "but the network has %d outputs", path, k)
                   : cli_error("%s: the targets give %d values per row but the "
                               "network has %d outputs", path, vcols, k);
    if (ds->n_classes > 0)
        for (size_t i = 0; i < n; i++)
            if (ds->y[i] < 0)
                return cli_error("%s: line %zu: the label is not one of the "
                                 "model's classes",
                                 path, ds->line ? ds->line[i] : i + 1);
    *y_cols = one_hot ? k : vcols;
    *y = malloc(n * (size_t)*y_cols * sizeof(float) + 1);
    if (!*y)
        return cli_error("out of memory");
    if (one_hot) {
        memset(*y, 0, n * (size_t)k * sizeof(float));
        for (size_t i = 0; i < n; i++)
            (*y)[i * (size_t)k + (size_t)ds->y[i]] = 1.0f;
    } else {
        memcpy(*y, ds->y, n * (size_t)vcols * sizeof(float));
    }
    return 0;
}

/* The model's class labels as a borrowed list (free() the array), or NULL
 * with *n = 0 when it has none. Sets *oom on allocation failure. */
static const char **model_classes(const soma_net *net, int *n, int *oom)
{
    *n = soma_net_n_classes(net);
    *oom = 0;
    if (*n <= 0)
        return NULL;
    const char **classes = malloc((size_t)*n * sizeof *classes);
    if (!classes) {
        *oom = 1;
        return NULL;
    }
    for (int i = 0; i < *n; i++)
        classes[i] = soma_net_class(net, i);
    return classes;
}

static soma_dataset *read_idx(const char *path, const soma_net *net,
                              const char *labels)
{
    int nc = 0, oom = 0;
    const char **classes = labels ? model_classes(net, &nc, &oom) : NULL;
    if (oom) {
        cli_error("out of memory");
        return NULL;
    }
    soma_dataset *ds = NULL;
    soma_error err;
    if (soma_idx_read(path, labels, classes, nc, &ds, &err) != SOMA_OK) {
        cli_error("%s", err.message);
        ds = NULL;
    } else if (ds->n_features != soma_net_n_inputs(net)) {
        cli_error("%s: images of %d values, the model takes %d inputs", path,
                  ds->n_features, soma_net_n_inputs(net));
        soma_dataset_free(ds);
        ds = NULL;
    }
    free(classes);
    return ds;
}

static soma_table_options table_opt;
/* the training file's missing-value tokens, and the command's */
static const char *na_all[CLI_LIST_MAX * 2];

void cli_table_options_for(const soma_prep *p, soma_table_options *opt)
{
    *opt = table_opt;
    int n_na = 0;
    for (int i = 0; i < p->n_na_values && n_na < CLI_LIST_MAX; i++)
        na_all[n_na++] = p->na_values[i];
    for (int i = 0; i < table_opt.n_na_values && n_na < 2 * CLI_LIST_MAX; i++)
        na_all[n_na++] = table_opt.na_values[i];
    opt->na_values = na_all;
    opt->n_na_values = n_na;
    /* a file of one column has no separator to find: the training file's */
    opt->fallback_sep = p->sep;
    if (!opt->decimal && p->decimal == ',' && opt->sep != ',')
        opt->decimal = ',';
}

void cli_report_unseen(const char *path, const soma_prep *p,
                       const soma_prep_report *rep)
{
    if (rep->unseen)
        cli_notice("warning: %s: %zu cell%s with a category not seen in "
                   "training (first in column '%s'): encoded as all zeros",
                   path, rep->unseen, rep->unseen == 1 ? "" : "s",
                   p->columns[rep->unseen_col].name);
}

void cli_set_table_options(const soma_table_options *opt)
{
    table_opt = *opt;
}

soma_dataset *cli_read_prep(const char *path, const soma_net *net,
                            const char *target, int training, const cli_list *ids,
                            soma_table **keep)
{
    const soma_prep *p = soma_net_prep(net);
    const char *own = p->columns[p->targets[0]].name;
    if (target && p->n_targets == 1 && strcmp(target, own) != 0) {
        cli_error("%s: the model was trained on the target '%s', not '%s'",
                  path, own, target);
        return NULL;
    }
    soma_table_options opt;
    cli_table_options_for(p, &opt);
    if (ids) {
        /* an id is text: no token is missing and numbers keep their spelling */
        opt.text_columns = ids->items;
        opt.n_text_columns = ids->n;
    }
    soma_error err;
    soma_table *t = NULL;
    if (soma_table_read(path, &opt, &t, &err) != SOMA_OK) {
        cli_error("%s", err.message);
        return NULL;
    }
    for (int i = 0; ids && i < ids->n; i++)
        if (soma_table_find(t, ids->items[i]) < 0) {
            cli_error("%s: line 1: --id: no column '%s'", path, ids->items[i]);
            soma_table_free(t);
            return NULL;
        }
    soma_dataset *ds = NULL;
    soma_prep_report rep;
    int flags = (target ? SOMA_PREP_TARGETS : 0) |
                (training ? SOMA_PREP_TARGETS | SOMA_PREP_TRAINING : 0);
    /* a table that is kept keeps its cells: the data is then a copy */
    soma_status st = keep ? soma_prep_apply(p, t, flags, &ds, &rep, &err)
                          : soma_prep_apply_in_place(p, t, flags, &ds, &rep, &err);
    if (st != SOMA_OK || !keep)
        soma_table_free(t);
    if (st != SOMA_OK) {
        cli_error("%s", err.message);
        return NULL;
    }
    if (keep)
        *keep = t;
    cli_report_unseen(path, p, &rep);
    if (rep.dropped_target)
        cli_notice("%s: %zu row%s without a target value left out", path,
                   rep.dropped_target, rep.dropped_target == 1 ? "" : "s");
    return ds;
}

static soma_dataset *read_csv(const char *path, const soma_net *net,
                              const char *target)
{
    if (soma_net_prep(net))
        return cli_read_prep(path, net, target, 0, NULL, NULL);
    soma_csv_options opt;
    memset(&opt, 0, sizeof opt);
    const char **names = NULL;
    /* A model that knows its feature names picks its columns by name, so
     * column order and extra columns (the target among them) do not
     * matter; one without names takes every column but the target. */
    int nf = soma_net_n_features(net);
    if (nf > 0) {
        names = malloc((size_t)nf * sizeof *names);
        if (!names) {
            cli_error("out of memory");
            return NULL;
        }
        for (int i = 0; i < nf; i++)
            names[i] = soma_net_feature(net, i);
        opt.features = names;
        opt.n_features = nf;
    }
    opt.target = target;
    int nc = 0, oom = 0;
    const char **classes = target ? model_classes(net, &nc, &oom) : NULL;
    if (oom) {
        free(names);
        cli_error("out of memory");
        return NULL;
    }
    if (classes) {
        opt.classes = classes;
        opt.n_classes = nc;
        opt.target_kind = SOMA_TARGET_CLASSES;
    } else if (target) {
        opt.target_kind = SOMA_TARGET_VALUE;
    }
    soma_dataset *ds = NULL;
    soma_error err;
    if (soma_csv_read(path, &opt, &ds, &err) != SOMA_OK) {
        cli_error("%s", err.message);
        ds = NULL;
    } else if (ds->n_features != soma_net_n_inputs(net)) {
        cli_error("%s: %d feature columns, the model takes %d", path,
                  ds->n_features, soma_net_n_inputs(net));
        soma_dataset_free(ds);
        ds = NULL;
    }
    free(names);
    free(classes);
    return ds;
}

soma_dataset *cli_read_for_training(const char *path, int idx, soma_net *net,
                                    const char *target, const char *labels)
{
    if (!idx && soma_net_prep(net))
        return cli_read_prep(path, net, target, 1, NULL, NULL);
    return cli_read_for_model(path, idx, net, target, labels);
}

soma_dataset *cli_read_for_model(const char *path, int idx, soma_net *net,
                                 const char *target, const char *labels)
{
    return idx ? read_idx(path, net, labels) : read_csv(path, net, target);
}

int cli_table_options(const char *sep, const char *decimal,
                      const cli_list *na_values, soma_table_options *opt,
                      char *msg, size_t msg_size)
{
    memset(opt, 0, sizeof *opt);
    if (sep && *sep) {
        if (strcmp(sep, "\\t") == 0 || strcmp(sep, "tab") == 0 ||
            strcmp(sep, "\t") == 0)
            opt->sep = '\t';
        else if (strcmp(sep, "space") == 0 || strcmp(sep, " ") == 0)
            opt->sep = ' ';
        else if (strlen(sep) == 1 && strchr(",;|", sep[0]))
            opt->sep = sep[0];
        else {
            snprintf(msg, msg_size, "--sep: '%.40s' is not ',', ';', '|', tab or "
                                    "space", sep);
            return -1;
        }
    }
    if (decimal && *decimal) {
        if (strcmp(decimal, ".") != 0 && strcmp(decimal, ",") != 0) {
            snprintf(msg, msg_size, "--decimal: '%.40s' is not '.' or ','",
                     decimal);
            return -1;
        }
        opt->decimal = decimal[0];
        if (opt->decimal == ',' && opt->sep == ',') {
            snprintf(msg, msg_size, "--decimal: ',' needs another --sep than ','");
            return -1;
        }
    }
    if (na_values) {
        opt->na_values = na_values->items;
        opt->n_na_values = na_values->n;
    }
    return 0;
}

const char *cli_sep_name(char sep)
{
    switch (sep) {
    case ',': return "','";
    case ';': return "';'";
    case '|': return "'|'";
    case '\t': return "tab";
    case ' ': return "spaces";
    }
    return "?";
}

void cli_split_list(const char *s, cli_list *l)
{
    if (!s)
        return;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (len > 0 && l->n < CLI_LIST_MAX && l->used + len + 1 <= sizeof l->buf) {
            memcpy(l->buf + l->used, s, len);
            l->buf[l->used + len] = '\0';
            l->items[l->n++] = l->buf + l->used;
            l->used += len + 1;
        }
        if (!s[len])
            return;
        s += len + 1;
    }
}

void cli_print_roles(FILE *f, const soma_prep *p)
{
    int w = 8;
    for (int c = 0; c < p->n_columns; c++) {
        int len = (int)strlen(p->columns[c].name);
        if (len > w)
            w = len;
    }
    if (w > 28)
        w = 28;
    for (int c = 0; c < p->n_columns; c++) {
        const soma_prep_column *col = &p->columns[c];
        char extra[64] = "";
        if (col->role == SOMA_ROLE_CATEGORICAL) {
            int k = col->n_categories + col->missing_category;
            snprintf(extra, sizeof extra, " -> %d input%s", k, k == 1 ? "" : "s");
        } else if (col->role == SOMA_ROLE_NUMERIC) {
            snprintf(extra, sizeof extra, " (missing -> %.6g)", col->fill);
        }
        fprintf(f, "  %-*.*s  %-11s %s%s\n", w, w, col->name,
                soma_role_name(col->role), col->reason, extra);
    }
}

const char *cli_task_text(const soma_prep *p, char *buf, size_t size)
{
    if (p->task == SOMA_TASK_CLASSIFY)
        snprintf(buf, size, "classification into %d classes: %s (--task regress "
                            "to change)",
                 p->n_classes, p->task_reason);
    else
        snprintf(buf, size, "regression%s: %s (--task classify to change)",
                 p->n_targets > 1 ? " of several targets" : "", p->task_reason);
    return buf;
}

void cli_print_prep(FILE *f, const soma_prep *p, const soma_table *t)
{
    char task[600];
    fprintf(f, "soma: %s: %zu rows, %d columns, separator %s, decimal '%c'%s\n",
            soma_table_name(t), soma_table_n_rows(t), soma_table_n_cols(t),
            cli_sep_name(soma_table_sep(t)), soma_table_decimal(t),
            soma_table_gzipped(t) ? ", gzipped" : "");
    fprintf(f, "soma: column roles (--numeric, --categorical, --ignore change "
               "them):\n");
    cli_print_roles(f, p);
    fprintf(f, "soma: task: %s\n", cli_task_text(p, task, sizeof task));
    fprintf(f, "soma: %d input%s after encoding\n", p->n_inputs,
            p->n_inputs == 1 ? "" : "s");
}

void cli_print_report(FILE *f, const char *path, const soma_prep *p,
                      const soma_prep_report *rep)
{
    if (rep->dropped_target)
        fprintf(f, "soma: %s: %zu row%s without a target value left out\n", path,
                rep->dropped_target, rep->dropped_target == 1 ? "" : "s");
    if (rep->dropped_missing)
        fprintf(f, "soma: %s: %zu row%s with a missing feature left out "
                   "(--missing drop)\n",
                path, rep->dropped_missing, rep->dropped_missing == 1 ? "" : "s");
    if (rep->imputed)
        fprintf(f, "soma: %s: %zu missing cell%s filled (numbers: the column's "
                   "mean; categories: a 'missing' category; --missing to "
                   "change)\n",
                path, rep->imputed, rep->imputed == 1 ? "" : "s");
    (void)p;
}

int cli_balance(const soma_dataset *ds, const soma_dataset *va, int k,
                float **y, float **yv, int *y_cols, int quiet)
{
    size_t n = ds->n_rows;
    size_t *count = calloc((size_t)k, sizeof *count);
    float *w = malloc((size_t)k * sizeof *w);
    float *ny = malloc(n * (size_t)k * sizeof *ny + 1);
    float *nv = va ? malloc(va->n_rows * (size_t)k * sizeof *nv + 1) : NULL;
    if (!count || !w || !ny || (va && !nv)) {
        free(count);
        free(w);
        free(ny);
        free(nv);
        return cli_error("out of memory");
    }
    for (size_t i = 0; i < n; i++)
        count[(int)ds->y[i]]++;
    for (int c = 0; c < k; c++)
        w[c] = count[c] ? (float)((double)n / ((double)k * (double)count[c])) : 0.0f;
    memset(ny, 0, n * (size_t)k * sizeof *ny);
    for (size_t i = 0; i < n; i++) {
        int c = (int)ds->y[i];
        ny[i * (size_t)k + (size_t)c] = w[c];
    }
    if (va) {
        memset(nv, 0, va->n_rows * (size_t)k * sizeof *nv);
        for (size_t i = 0; i < va->n_rows; i++)
            nv[i * (size_t)k + (size_t)va->y[i]] = 1.0f;
        free(*yv);
        *yv = nv;
    }
    if (!quiet) {
        printf("soma: class weights (balanced):");
        for (int c = 0; c < k; c++)
            printf(" %s %.4g", ds->class_names[c], (double)w[c]);
        printf("\n");
    }
    free(*y);
    *y = ny;
    *y_cols = k;
    free(count);
    free(w);
    return 0;
}

int cli_not_a_model(const char *path, char *msg, size_t size)
{
    /* a safetensors file starts with an 8-byte header length and then the
     * header's JSON object; a file whose ninth byte is no '{' is something
     * else altogether (a truncated or damaged model still has it, and gets
     * the loader's own message) */
    unsigned char b[9];
    struct stat sb;
    /* the loader says why it cannot be read, or is too large to be one */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (uintmax_t)sb.st_size > ((uintmax_t)1 << 32))
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    if (got == sizeof b && b[8] == '{')
        return 0;
    snprintf(msg, size, "%s is not a soma model file (a model is a .safetensors "
                        "file written by soma train)", path);
    return 1;
}
