/*
 * cmd_train.c - soma train: read the data (a CSV, or IDX images with their
 * labels) into one data set, pick the task, build the network, train,
 * report and save. Everything after reading is the same for both formats.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_IGNORE 64

typedef struct train_args {
    const char *data, *labels, *target, *output_path, *layers, *activation;
    const char *output, *loss, *optimizer, *init, *init_from;
    const char *sep, *decimal, *missing, *task, *class_weight;
    cli_list ignore, categorical, numeric, na_values;
    soma_table_options table; /* from --sep, --decimal, --na-values */
    int max_categories;
    const char *target_file; /* where the targets come from, for messages */
    const char *val, *val_labels, *log, *checkpoint, *resume, *lr_schedule;
    double lr, momentum, weight_decay, val_split, lr_gamma;
    size_t batch_size;
    int epochs, threads, no_bias, no_standardize, quiet, early_stopping;
    int verbose, print_every;
    int lr_step, checkpoint_every;
    int idx;                 /* the data is IDX images (by content) */
    uint64_t seed;
    char *command;           /* this command line, for the resume hint */
} train_args;

/* Parses "16,8" into widths; "none" gives 0 hidden layers. Returns the
 * count or -1. */
static int parse_layers(const char *s, int *widths, int max)
{
    if (strcmp(s, "none") == 0)
        return 0;
    int n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > SOMA_MAX_UNITS || n >= max)
            return -1;
        widths[n++] = (int)v;
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
}

static int all_numeric(const soma_dataset *ds)
{
    for (int i = 0; i < ds->n_classes; i++) {
        char *end;
        strtod(ds->class_names[i], &end);
        if (end == ds->class_names[i] || *end)
            return 0;
    }
    return 1;
}

/* The post's rule: a sigmoid output learns 0/1 targets. With numeric labels
 * the numbers themselves are the targets, so anything but 0 and 1 is an
 * error naming its line (or for IDX labels, its item). */
static int check_zero_one(const char *path, const soma_dataset *ds)
{
    for (int c = 0; c < ds->n_classes; c++) {
        double v = strtod(ds->class_names[c], NULL);
        if (v == (double)c && (c == 0 || c == 1))
            continue;
        for (size_t i = 0; i < ds->n_rows; i++) {
            if ((int)ds->y[i] != c)
                continue;
            if (!ds->line)
                return cli_error("%s: item %zu (0-based): label %s is not 0 or 1 "
                                 "(a sigmoid output needs 0/1 targets)",
                                 path, i, ds->class_names[c]);
            return cli_error("%s: line %zu, column '%s': target %s is not 0 "
                             "or 1 (a sigmoid output needs 0/1 targets)",
                             path, ds->line[i], ds->target_name,
                             ds->class_names[c]);
        }
    }
    return 0;
}

static void set_meta_num(soma_net *net, const char *key, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v);
    soma_net_set_meta(net, key, buf, NULL);
}

/* Reads the training data into one data set: IDX images with their labels
 * file, or a table whose columns soma_prep_fit sorts into roles (printed
 * unless quiet) and soma_prep_apply encodes; the task follows --task, or
 * the output layer and loss when they imply one, or the data. *prep gets
 * the preprocessing (NULL for IDX). Returns 0, or 1 after printing an
 * error. */
static int read_data(const train_args *a, int out_act, int loss,
                     soma_dataset **ds, soma_prep **prep)
{
    soma_error err;
    *prep = NULL;
    if (a->idx) {
        if (soma_idx_read(a->data, a->labels, NULL, 0, ds, &err) != SOMA_OK)
            return cli_error("%s", err.message);
        return 0;
    }
    soma_table *t = NULL;
    if (soma_table_read(a->data, &a->table, &t, &err) != SOMA_OK)
        return cli_error("%s", err.message);
    if (soma_table_n_cols(t) < 2) {
        cli_error("%s: line 1: one column only with the separator %s; give "
                  "--sep (',', ';', tab, '|' or ' ')",
                  a->data, cli_sep_name(soma_table_sep(t)));
        soma_table_free(t);
        return 1;
    }
    cli_list targets;
    memset(&targets, 0, sizeof targets);
    cli_split_list(a->target, &targets);
    soma_prep_options popt;
    memset(&popt, 0, sizeof popt);
    popt.targets = targets.items;
    popt.n_targets = targets.n;
    popt.categorical = a->categorical.items;
    popt.n_categorical = a->categorical.n;
    popt.numeric = a->numeric.items;
    popt.n_numeric = a->numeric.n;
    popt.ignore = a->ignore.items;
    popt.n_ignore = a->ignore.n;
    popt.max_categories = a->max_categories;
    popt.keep_constant = a->no_bias;
    popt.missing = !a->missing ? SOMA_MISSING_IMPUTE
                   : strcmp(a->missing, "drop") == 0 ? SOMA_MISSING_DROP
                   : strcmp(a->missing, "error") == 0 ? SOMA_MISSING_ERROR
                                                      : SOMA_MISSING_IMPUTE;
    if (a->task)
        popt.task = strcmp(a->task, "classify") == 0 ? SOMA_TASK_CLASSIFY
                                                     : SOMA_TASK_REGRESS;
    else if (out_act == SOMA_ACT_LINEAR || (out_act < 0 && loss == SOMA_LOSS_MSE))
        popt.task = SOMA_TASK_REGRESS;
    else if (out_act >= 0 || loss == SOMA_LOSS_CE || loss == SOMA_LOSS_BCE)
        popt.task = SOMA_TASK_CLASSIFY;
    if (!a->task && popt.task != SOMA_TASK_AUTO)
        popt.task_reason = a->output ? "as the output layer (--output-activation) "
                                       "implies"
                                     : "as the loss (--loss) implies";
    if (soma_prep_fit(t, &popt, prep, &err) != SOMA_OK) {
        soma_table_free(t);
        return cli_error("%s", err.message);
    }
    if (!a->quiet)
        cli_print_prep(stdout, *prep, t);
    soma_prep_report rep;
    soma_status st = soma_prep_apply_in_place(*prep, t,
                                              SOMA_PREP_TARGETS | SOMA_PREP_TRAINING,
                                              ds, &rep, &err);
    soma_table_free(t);
    if (st != SOMA_OK) {
        soma_prep_free(*prep);
        *prep = NULL;
        return cli_error("%s", err.message);
    }
    if (!a->quiet)
        cli_print_report(stdout, a->data, *prep, &rep);
    return 0;
}

/* A new network for the data, as the options say. Picks the output layer
 * and loss from the target where the options leave them open, sets the
 * standardisation, features, classes and the training settings as
 * metadata (so a checkpoint carries them and a resumed run ends with the
 * same bytes). Returns NULL after printing an error. */
static soma_net *build_net(const train_args *a, const soma_dataset *ds,
                           const soma_prep *prep, double val_split,
                           soma_train_config *cfg)
{
    soma_error err;
    int hidden[SOMA_MAX_LAYERS];
    int n_hidden = parse_layers(a->layers, hidden, SOMA_MAX_LAYERS - 1);
    int act = soma_activation_parse(a->activation);
    int out_act = a->output ? soma_activation_parse(a->output) : -1;
    int loss = a->loss ? soma_loss_parse(a->loss) : -1;
    int init = a->init ? soma_init_parse(a->init)
                       : (act == SOMA_ACT_RELU || act == SOMA_ACT_LEAKY_RELU
                              ? SOMA_INIT_HE
                              : SOMA_INIT_GLOROT);
    int regression = ds->n_classes == 0, k = 1;
    int balanced = a->class_weight && strcmp(a->class_weight, "balanced") == 0;
    if (regression) {
        if (balanced) {
            cli_error("--class-weight: %s is a regression target", ds->target_name);
            return NULL;
        }
        k = ds->y_cols > 1 ? ds->y_cols : 1;
        if (out_act < 0)
            out_act = SOMA_ACT_LINEAR;
        if (loss < 0)
            loss = SOMA_LOSS_MSE;
    } else {
        if (ds->n_classes < 2) {
            cli_error("%s: the target '%s' has only one value ('%s'); nothing to "
                      "classify", a->target_file, ds->target_name,
                      ds->class_names[0]);
            return NULL;
        }
        int explicit_sigmoid = out_act == SOMA_ACT_SIGMOID;
        if (balanced && (out_act == SOMA_ACT_SIGMOID ||
                         (a->loss && soma_loss_parse(a->loss) != SOMA_LOSS_CE))) {
            cli_error("--class-weight balanced weighs the cross-entropy of a "
                      "softmax output; leave --output-activation and --loss out");
            return NULL;
        }
        /* class weights need one output per class: softmax even for two */
        if (out_act < 0)
            out_act = ds->n_classes == 2 && !balanced ? SOMA_ACT_SIGMOID
                                                      : SOMA_ACT_SOFTMAX;
        if (out_act == SOMA_ACT_SIGMOID) {
            if (explicit_sigmoid && all_numeric(ds) &&
                check_zero_one(a->target_file, ds))
                return NULL;
            if (ds->n_classes > 2) {
                cli_error("%s: the target '%s' has %d classes; one sigmoid output "
                          "can only tell two apart (use --output-activation softmax)",
                          a->target_file, ds->target_name, ds->n_classes);
                return NULL;
            }
        } else if (out_act == SOMA_ACT_SOFTMAX) {
            k = ds->n_classes;
        }
        if (loss < 0)
            loss = out_act == SOMA_ACT_SOFTMAX ? SOMA_LOSS_CE
                   : out_act == SOMA_ACT_SIGMOID ? SOMA_LOSS_BCE
                                                 : SOMA_LOSS_MSE;
    }

    soma_layer_spec layers[SOMA_MAX_LAYERS];
    for (int i = 0; i < n_hidden; i++)
        layers[i] = (soma_layer_spec){hidden[i], (soma_activation)act, !a->no_bias};
    layers[n_hidden] = (soma_layer_spec){k, (soma_activation)out_act, !a->no_bias};
    soma_spec spec = {ds->n_features, n_hidden + 1, layers, (soma_loss)loss};
    soma_net *net = soma_net_new(&spec, &err), *from = NULL;
    soma_status s = SOMA_OK;
    float *mean = NULL, *sd = NULL;
    if (!net || soma_net_init(net, (soma_init)init, a->seed, &err) != SOMA_OK) {
        cli_error("%s", err.message);
        goto fail;
    }
    if (a->init_from) {
        from = soma_net_load(a->init_from, &err);
        if (!from || soma_net_copy_params(net, from, &err) != SOMA_OK) {
            cli_error("--init-from %s: %s", a->init_from, err.message);
            goto fail;
        }
    }
    /* standardisation: a model we start from keeps the statistics its
     * weights were trained with */
    if (from && soma_net_mean(from)) {
        s = soma_net_set_standardize(net, soma_net_mean(from), soma_net_std(from),
                                     &err);
    } else if (!a->no_standardize) {
        mean = malloc((size_t)ds->n_features * sizeof *mean);
        sd = malloc((size_t)ds->n_features * sizeof *sd);
        if (!mean || !sd) {
            cli_error("out of memory");
            goto fail;
        }
        s = soma_standardize_fit(ds->x, ds->n_rows, ds->n_features, mean, sd, &err);
        if (s == SOMA_OK)
            s = soma_net_set_standardize(net, mean, sd, &err);
    }
    if (s != SOMA_OK) {
        cli_error("%s", err.message);
        goto fail;
    }
    /* IDX pixels have no names: such a model takes its inputs by position.
     * Names and labels must be UTF-8 (a Latin-1 CSV is refused here, before
     * training, not when the model is saved) */
    if (soma_net_set_features(net, ds->feature_names ? ds->n_features : 0,
                              (const char *const *)ds->feature_names,
                              &err) != SOMA_OK ||
        (!regression && soma_net_set_classes(net, ds->n_classes,
                                             (const char *const *)ds->class_names,
                                             &err) != SOMA_OK) ||
        soma_net_set_prep(net, prep, &err) != SOMA_OK ||
        soma_net_set_meta(net, "target", ds->target_name, &err) != SOMA_OK) {
        cli_error("%s: %s", a->target_file, err.message);
        goto fail;
    }

    *cfg = soma_train_config_default();
    int opt = soma_optimizer_parse(a->optimizer);
    cfg->optimizer = (soma_optimizer)opt;
    cfg->learning_rate = a->lr >= 0.0 ? a->lr : (opt == SOMA_OPT_ADAM ? 0.01 : 0.1);
    /* plain SGD unless --momentum, as torch.optim.SGD and keras SGD */
    cfg->momentum = a->momentum >= 0.0 ? a->momentum : 0.0;
    cfg->weight_decay = a->weight_decay;
    cfg->batch_size = a->batch_size;
    cfg->epochs = a->epochs;
    cfg->seed = a->seed;
    cfg->lr_schedule = (soma_lr_schedule)soma_lr_schedule_parse(a->lr_schedule);
    cfg->lr_step = a->lr_step;
    cfg->lr_gamma = a->lr_gamma;
    cfg->early_stopping = a->early_stopping;

    /* the file names are only a record: one that is not UTF-8 is left out */
    soma_net_set_meta(net, "task", regression ? "regression" : "classification",
                      NULL);
    soma_net_set_meta(net, "soma_version", SOMA_VERSION_STRING, NULL);
    soma_net_set_meta(net, "train.data", a->data, NULL);
    if (a->labels)
        soma_net_set_meta(net, "train.labels", a->labels, NULL);
    if (a->val)
        soma_net_set_meta(net, "train.val", a->val, NULL);
    if (a->val_labels)
        soma_net_set_meta(net, "train.val_labels", a->val_labels, NULL);
    if (val_split > 0)
        set_meta_num(net, "train.val_split", val_split);
    soma_net_set_meta(net, "train.optimizer", soma_optimizer_name(cfg->optimizer),
                      NULL);
    set_meta_num(net, "train.learning_rate", cfg->learning_rate);
    if (opt == SOMA_OPT_SGD)
        set_meta_num(net, "train.momentum", cfg->momentum);
    if (cfg->lr_schedule != SOMA_LR_CONSTANT)
        soma_net_set_meta(net, "train.lr_schedule",
                          soma_lr_schedule_name(cfg->lr_schedule), NULL);
    set_meta_num(net, "train.weight_decay", cfg->weight_decay);
    set_meta_num(net, "train.epochs", cfg->epochs);
    if (cfg->early_stopping)
        set_meta_num(net, "train.early_stopping", cfg->early_stopping);
    if (balanced)
        soma_net_set_meta(net, "train.class_weight", "balanced", NULL);
    set_meta_num(net, "train.batch_size", (double)cfg->batch_size);
    set_meta_num(net, "train.seed", (double)cfg->seed);
    soma_net_set_meta(net, "train.init",
                      a->init_from ? a->init_from : soma_init_name((soma_init)init),
                      NULL);
    free(mean);
    free(sd);
    soma_net_free(from);
    return net;
fail:
    free(mean);
    free(sd);
    soma_net_free(from);
    soma_net_free(net);
    return NULL;
}

/* Checks the options that name things before any data is read. */
/* The parenthesis after an unknown name: a suggestion when value is close
 * to one of names, else the list of them. */
static const char *name_hint(char *buf, size_t size, const char *value,
                             const char *const *names, int n)
{
    const char *near = cli_suggest(value, names, n);
    if (near) {
        snprintf(buf, size, "(did you mean '%s'?)", near);
        return buf;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "(",
                                names[i]);
    snprintf(buf + len, size - len, ")");
    return buf;
}

/* Checks the options that name things before any data is read; -1 with a
 * usage error in msg. */
static int check_names(const train_args *a, char *msg, size_t size)
{
    static const char *const acts[] = {"sigmoid", "tanh",   "relu",
                                       "leaky_relu", "linear", "softmax"};
    static const char *const outs[] = {"sigmoid", "softmax", "linear"};
    static const char *const losses[] = {"sse", "mse", "bce", "ce"};
    static const char *const opts[] = {"gd", "sgd", "adam"};
    static const char *const inits[] = {"uniform", "glorot", "he"};
    static const char *const scheds[] = {"constant", "step", "cosine"};
    char h[128];
    int hidden[SOMA_MAX_LAYERS];
    if (parse_layers(a->layers, hidden, SOMA_MAX_LAYERS - 1) < 0) {
        snprintf(msg, size, "--layers: '%.40s' is not a list of widths like 16,8 "
                            "or 'none'", a->layers);
        return -1;
    }
    if (soma_activation_parse(a->activation) < 0) {
        snprintf(msg, size, "--activation: unknown activation '%.40s' %s",
                 a->activation, name_hint(h, sizeof h, a->activation, acts, 6));
        return -1;
    }
    int out_act = a->output ? soma_activation_parse(a->output) : -1;
    if (a->output && out_act != SOMA_ACT_SIGMOID && out_act != SOMA_ACT_SOFTMAX &&
        out_act != SOMA_ACT_LINEAR) {
        snprintf(msg, size, "--output-activation: '%.40s' is not sigmoid, "
                            "softmax or linear %s",
                 a->output, name_hint(h, sizeof h, a->output, outs, 3));
        return -1;
    }
    if (a->loss && soma_loss_parse(a->loss) < 0) {
        snprintf(msg, size, "--loss: unknown loss '%.40s' %s", a->loss,
                 name_hint(h, sizeof h, a->loss, losses, 4));
        return -1;
    }
    if (soma_optimizer_parse(a->optimizer) < 0) {
        snprintf(msg, size, "--optimizer: unknown optimizer '%.40s' %s",
                 a->optimizer, name_hint(h, sizeof h, a->optimizer, opts, 3));
        return -1;
    }
    if (a->init && soma_init_parse(a->init) < 0) {
        snprintf(msg, size, "--init: unknown initialiser '%.40s' %s", a->init,
                 name_hint(h, sizeof h, a->init, inits, 3));
        return -1;
    }
    if (soma_lr_schedule_parse(a->lr_schedule) < 0) {
        snprintf(msg, size, "--lr-schedule: unknown schedule '%.40s' %s",
                 a->lr_schedule, name_hint(h, sizeof h, a->lr_schedule, scheds, 3));
        return -1;
    }
    return 0;
}

/* Whether a file can be created next to path, as saving will need: found
 * out before training rather than after it, when the run would be lost.
 * Same wording as the library's save error (E-SAVE-TEMP). */
static int check_writable(const char *path)
{
    size_t n = strlen(path) + 48;
    char *tmp = malloc(n);
    if (!tmp)
        return cli_error("out of memory");
    snprintf(tmp, n, "%s.tmp.%ld.probe", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        int e = errno;
        cli_error("%s: cannot create the temporary file '%s': %s", path, tmp,
                  strerror(e));
        free(tmp);
        return 1;
    }
    close(fd);
    unlink(tmp);
    free(tmp);
    return 0;
}

static double meta_number(const soma_net *net, const char *key)
{
    const char *v = soma_net_get_meta(net, key);
    return v ? strtod(v, NULL) : 0.0;
}

static int train(const train_args *a)
{
    int rc = 1;
    soma_error err;
    soma_dataset *ds = NULL, *va = NULL;
    soma_net *net = NULL;
    soma_prep *prep = NULL;
    float *y = NULL, *yv = NULL;
    int y_cols = 0;
    soma_train_config cfg;
    double val_split = a->val_split;
    const char *val = a->val, *val_labels = a->val_labels;

    if (check_writable(a->output_path) ||
        (a->checkpoint && check_writable(a->checkpoint)))
        return 1;
    if (a->resume) {
        /* the network, its settings and the run's position all come from
         * the checkpoint; the command line gives the data again */
        if (soma_checkpoint_read(a->resume, &net, &cfg, &err) != SOMA_OK)
            return cli_error("%s", err.message);
        const char *target = a->target ? a->target : soma_net_get_meta(net, "target");
        ds = cli_read_for_training(a->data, a->idx, net, a->idx ? NULL : target,
                                   a->labels);
        if (!ds)
            goto done;
        if (!a->val_split)
            val_split = meta_number(net, "train.val_split");
        if (!val)
            val = soma_net_get_meta(net, "train.val");
        if (!val_labels)
            val_labels = soma_net_get_meta(net, "train.val_labels");
    } else {
        int out_act = a->output ? soma_activation_parse(a->output) : -1;
        if (read_data(a, out_act, a->loss ? soma_loss_parse(a->loss) : -1, &ds,
                      &prep))
            return 1;
    }
    /* regression targets are trained standardised */
    const soma_prep *scale = prep ? prep : soma_net_prep(net);
    soma_prep_scale(scale, ds->y, ds->n_rows);

    /* the training rows: all of ds, or what a validation split leaves (ds
     * is then freed, so the data is held once, not twice) */
    if (val_split > 0.0) {
        soma_dataset *rest = NULL;
        if (soma_dataset_split(ds, val_split, a->resume ? cfg.seed : a->seed,
                               &rest, &va, &err) != SOMA_OK) {
            cli_error("%s", err.message);
            goto done;
        }
        soma_dataset_free(ds);
        ds = rest;
    }
    if (!a->resume && !(net = build_net(a, ds, prep, val_split, &cfg)))
        goto done;
    if (val && !va) {
        int val_idx = 0;
        if (cli_sniff(val, val_labels != NULL, &val_idx))
            goto done;
        if (val_idx && !val_labels) {
            cli_error("--val %s: IDX images need --val-labels", val);
            goto done;
        }
        va = cli_read_for_model(val, val_idx, net,
                                val_idx ? NULL : soma_net_get_meta(net, "target"),
                                val_labels);
        if (!va)
            goto done;
        soma_prep_scale(soma_net_prep(net), va->y, va->n_rows);
    }
    soma_loss loss = soma_net_loss(net);
    int k = soma_net_n_outputs(net);
    if (cli_targets(a->target_file, ds, loss, k, &y, &y_cols) ||
        (va && cli_targets(val ? val : a->target_file, va, loss, k, &yv, &y_cols)))
        goto done;
    const char *cw = soma_net_get_meta(net, "train.class_weight");
    if (cw && strcmp(cw, "balanced") == 0 &&
        cli_balance(ds, va, k, &y, &yv, &y_cols, a->quiet))
        goto done;
    if (cfg.early_stopping > 0 && !va) {
        cli_error("--early-stopping needs validation data (--val-split or --val)");
        goto done;
    }
    cfg.threads = a->threads;
    if (va) {
        cfg.val_x = va->x;
        cfg.val_y = yv;
        cfg.val_n = va->n_rows;
    }
    if (soma_net_set_threads(net, a->threads, &err) != SOMA_OK) {
        cli_error("%s", err.message);
        goto done;
    }
    if (!a->quiet) {
        char task[64];
        if (soma_net_n_classes(net) == 0)
            snprintf(task, sizeof task, "regression");
        else
            snprintf(task, sizeof task, "%d classes", soma_net_n_classes(net));
        printf("training on %s: %zu rows, %d features, %s; %d epochs of %s "
               "(lr %g), loss %s%s\n",
               a->data, ds->n_rows, ds->n_features, task, cfg.epochs,
               soma_optimizer_name(cfg.optimizer), cfg.learning_rate,
               soma_loss_name(loss), va ? ", validating each epoch" : "");
        fflush(stdout);
    }

    /* Ctrl-C saves to the checkpoint file, or next to the model */
    size_t plen = strlen(a->output_path) + 32;
    char *interrupt_path = malloc(plen);
    if (!interrupt_path) {
        cli_error("out of memory");
        goto done;
    }
    if (a->checkpoint)
        snprintf(interrupt_path, plen, "%s", a->checkpoint);
    else
        snprintf(interrupt_path, plen, "%s.checkpoint", a->output_path);
    cli_run run = {a->data, a->log, a->checkpoint, a->checkpoint_every,
                   interrupt_path, a->resume, a->command, cfg.early_stopping,
                   a->quiet, a->verbose ? 1 : a->print_every};
    rc = cli_run_training(net, &cfg, ds->x, y, ds->n_rows, y_cols, &run);
    free(interrupt_path);
    if (rc != 0)
        goto done;
    rc = 1;

    double tl, ta, vl = 0, vacc = -1;
    if (soma_evaluate(net, ds->x, y, ds->n_rows, y_cols, &tl, &ta, NULL, &err) !=
            SOMA_OK ||
        (va && soma_evaluate(net, va->x, yv, va->n_rows, y_cols, &vl, &vacc, NULL,
                             &err) != SOMA_OK)) {
        cli_error("%s: %s", a->data, err.message);
        goto done;
    }
    set_meta_num(net, "train.rows", (double)ds->n_rows);
    set_meta_num(net, "train.loss", tl);
    if (ta >= 0)
        set_meta_num(net, "train.accuracy", ta);
    if (va) {
        set_meta_num(net, "val.rows", (double)va->n_rows);
        set_meta_num(net, "val.loss", vl);
        if (vacc >= 0)
            set_meta_num(net, "val.accuracy", vacc);
    }
    if (soma_net_save(net, a->output_path, &err) != SOMA_OK) {
        cli_error("%s", err.message);
        goto done;
    }
    if (!a->quiet) {
        printf("final weights: train loss %.6f", tl);
        if (ta >= 0)
            printf(", accuracy %.4f", ta);
        if (va) {
            printf("; validation (%zu rows) loss %.6f", va->n_rows, vl);
            if (vacc >= 0)
                printf(", accuracy %.4f", vacc);
        }
        printf("\nsaved %s\n", a->output_path);
    }
    rc = 0;
done:
    free(y);
    free(yv);
    soma_prep_free(prep);
    soma_net_free(net);
    soma_dataset_free(ds);
    soma_dataset_free(va);
    return rc;
}

/* The command line as one string, for the resume hint (arguments with
 * spaces or quotes single-quoted). */
static char *join_command(int argc, char **argv)
{
    size_t len = 16;
    for (int i = 0; i < argc; i++)
        len += 4 * strlen(argv[i]) + 3;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    p += sprintf(p, "soma");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--resume") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        if (strncmp(a, "--resume=", 9) == 0)
            continue;
        *p++ = ' ';
        if (a[strcspn(a, " \t'\"\\$`*?")] == '\0' && *a) {
            p += sprintf(p, "%s", a);
            continue;
        }
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'')
                p += sprintf(p, "'\\''");
            else
                *p++ = *a;
        }
        *p++ = '\'';
    }
    *p = '\0';
    return s;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    memset(&a, 0, sizeof a);
    a.layers = "32";
    a.activation = "relu";
    a.optimizer = "adam";
    a.lr = -1.0;
    a.momentum = -1.0;
    a.batch_size = 32;
    a.epochs = 100;
    a.seed = 1;
    a.lr_schedule = "constant";
    a.lr_step = 10;
    a.lr_gamma = 0.1;
    a.checkpoint_every = 1;
    const cli_opt opts[] = {
        {"target", 't', OPT_STRING, &a.target, 0, 0, "COL",
         "CSV: target column(s) by name (required); several: one regression "
         "output each"},
        {"labels", 0, OPT_STRING, &a.labels, 0, 0, "FILE",
         "IDX images: the IDX labels file (required)"},
        {"output", 'o', OPT_STRING, &a.output_path, 0, 0, "MODEL",
         "where to save the model (required)"},
        {"output-file", 0, OPT_STRING, &a.output_path, 0, 0, "MODEL",
         "the same as -o (an older name)"},
        {"layers", 0, OPT_STRING, &a.layers, 0, 0, "W1,W2..",
         "hidden layer widths, or 'none' for no hidden layer (default 32)"},
        {"activation", 0, OPT_STRING, &a.activation, 0, 0, "NAME",
         "hidden activation: sigmoid, tanh, relu, leaky_relu, linear (default "
         "relu)"},
        {"output-activation", 0, OPT_STRING, &a.output, 0, 0, "NAME",
         "output layer: sigmoid, softmax or linear (default: from the target)"},
        {"loss", 0, OPT_STRING, &a.loss, 0, 0, "NAME",
         "sse, mse, bce or ce (default: from the output)"},
        {"optimizer", 0, OPT_STRING, &a.optimizer, 0, 0, "NAME",
         "gd, sgd or adam (default adam)"},
        {"lr", 0, OPT_DOUBLE, &a.lr, 0, 1e6, "X",
         "learning rate (default 0.01 for adam, 0.1 otherwise)"},
        {"momentum", 0, OPT_DOUBLE, &a.momentum, 0, 0.999999, "X",
         "sgd momentum (default 0: plain SGD, as in PyTorch and Keras)"},
        {"batch-size", 0, OPT_SIZE, &a.batch_size, 0, 1e12, "N",
         "examples per batch, 0 = full batch (default 32)"},
        {"epochs", 0, OPT_INT, &a.epochs, 0, 1e9, "N", "passes over the data "
                                                       "(default 100)"},
        {"weight-decay", 0, OPT_DOUBLE, &a.weight_decay, 0, 1e6, "X",
         "L2 penalty on the weights (default 0)"},
        {"seed", 0, OPT_U64, &a.seed, 0, 0, "S",
         "seed for weights, shuffling and the split (default 1)"},
        {"no-bias", 0, OPT_FLAG, &a.no_bias, 0, 0, NULL, "layers without bias"},
        {"init", 0, OPT_STRING, &a.init, 0, 0, "NAME",
         "uniform, glorot or he (default he for relu, else glorot)"},
        {"init-from", 0, OPT_STRING, &a.init_from, 0, 0, "MODEL",
         "start from the weights of a model with the same architecture"},
        {"no-standardize", 0, OPT_FLAG, &a.no_standardize, 0, 0, NULL,
         "use the features as they are"},
        {"ignore", 0, OPT_LIST, &a.ignore, 0, 0, "C1,C2..",
         "CSV columns to leave out (repeatable)"},
        {"categorical", 0, OPT_LIST, &a.categorical, 0, 0, "C1,C2..",
         "columns to one-hot encode, even if they hold numbers (repeatable)"},
        {"numeric", 0, OPT_LIST, &a.numeric, 0, 0, "C1,C2..",
         "columns to read as numbers (repeatable)"},
        {"max-categories", 0, OPT_INT, &a.max_categories, 1, 1e6, "N",
         "most values of a categorical column (default 1000)"},
        {"missing", 0, OPT_STRING, &a.missing, 0, 0, "HOW",
         "impute (mean / own category; default), drop (rows) or error"},
        CLI_TABLE_OPTS(a.sep, a.decimal, a.na_values),
        {"task", 0, OPT_STRING, &a.task, 0, 0, "TASK",
         "classify or regress (default: from the target, and said why)"},
        {"class-weight", 0, OPT_STRING, &a.class_weight, 0, 0, "W",
         "balanced: weigh each class n / (k * count), as scikit-learn"},
        {"val-split", 0, OPT_DOUBLE, &a.val_split, 0, 0.99, "F",
         "hold out this fraction of rows for validation (default 0)"},
        {"val", 0, OPT_STRING, &a.val, 0, 0, "FILE",
         "validation data (CSV, or IDX images with --val-labels)"},
        {"val-labels", 0, OPT_STRING, &a.val_labels, 0, 0, "FILE",
         "IDX labels of the --val images"},
        {"early-stopping", 0, OPT_INT, &a.early_stopping, 0, 1e9, "N",
         "stop after N epochs without a lower validation loss, keep the best"},
        {"lr-schedule", 0, OPT_STRING, &a.lr_schedule, 0, 0, "NAME",
         "constant, step or cosine (default constant)"},
        {"lr-step", 0, OPT_INT, &a.lr_step, 1, 1e9, "N",
         "step schedule: epochs per step (default 10)"},
        {"lr-gamma", 0, OPT_DOUBLE, &a.lr_gamma, 1e-12, 1, "X",
         "step schedule: factor per step (default 0.1)"},
        {"log", 0, OPT_STRING, &a.log, 0, 0, "FILE.csv",
         "write one row per epoch (losses, accuracies, lr, seconds)"},
        {"checkpoint", 0, OPT_STRING, &a.checkpoint, 0, 0, "FILE",
         "save a resumable checkpoint here"},
        {"checkpoint-every", 0, OPT_INT, &a.checkpoint_every, 1, 1e9, "N",
         "epochs between checkpoints (default 1)"},
        {"resume", 0, OPT_STRING, &a.resume, 0, 0, "FILE",
         "go on from a checkpoint (its settings replace the options)"},
        {"threads", 0, OPT_INT, &a.threads, 0, 1024, "N",
         "worker threads, 0 = one per core (default 0)"},
        {"quiet", 'q', OPT_FLAG, &a.quiet, 0, 0, NULL, "print only errors"},
        {"verbose", 'v', OPT_FLAG, &a.verbose, 0, 0, NULL,
         "a line for every epoch, however many"},
        {"print-every", 0, OPT_INT, &a.print_every, 1, 1e9, "N",
         "a line every N epochs (default: every epoch up to 100 epochs, then "
         "about 100 lines)"},
    };
    const cli_command cmd = {
        "train", "(DATA.csv --target COL | IMAGES --labels LABELS) -o MODEL "
                 "[options]",
        "Trains a network on a table (CSV with a header row: any separator, decimal\n"
        "commas, missing values, text columns, gzipped or not) or on IDX images\n"
        "(idx3-ubyte, plain or gzipped; pixels scaled to [0,1]) with their IDX\n"
        "labels, and saves it as a safetensors model. The file's content, not its\n"
        "name, tells the formats apart. A table's columns are sorted into numbers,\n"
        "categories (one-hot) and columns left out (identifiers, dates, constants),\n"
        "missing values are filled, and the task is picked from the target: text\n"
        "or small-integer labels are classified (sigmoid for two classes, softmax\n"
        "for more), other numbers regressed (linear output, mse, on the standardised\n"
        "target). Each choice is printed with its reason, kept in the model for\n"
        "predict and eval, and changed by the options below.",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, 1};
    const char *pos[1];
    int n_pos;
    char msg[256];
    /* --output was the output layer's activation before it was the model
     * file, as -o is everywhere: the old spelling gets the new one */
    for (int i = 1; i < argc; i++) {
        const char *v = strncmp(argv[i], "--output=", 9) == 0 ? argv[i] + 9
                        : strcmp(argv[i], "--output") == 0 && i + 1 < argc
                            ? argv[i + 1]
                            : NULL;
        if (v && soma_activation_parse(v) >= 0) {
            snprintf(msg, sizeof msg,
                     "--output is the model file (-o); the output layer is "
                     "--output-activation %.20s",
                     v);
            return cli_usage_error(&cmd, msg);
        }
    }
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    if (!a.output_path)
        return cli_usage_error(&cmd, "-o MODEL is required");
    /* an empty name would only fail when the run is over */
    const char *empty = !*a.output_path                    ? "-o"
                        : a.checkpoint && !*a.checkpoint ? "--checkpoint"
                        : a.log && !*a.log               ? "--log"
                                                         : NULL;
    if (empty) {
        snprintf(msg, sizeof msg, "%s: the file name is empty", empty);
        return cli_usage_error(&cmd, msg);
    }
    a.data = pos[0];
    if (cli_sniff(a.data, a.labels != NULL, &a.idx))
        return 1;
    if (a.idx) {
        if (!a.labels)
            return cli_usage_error(&cmd, "IDX images need --labels");
        if (a.target || a.ignore.n)
            return cli_usage_error(&cmd, a.target ? "--target is for CSV files; "
                                                    "IDX images take --labels"
                                                  : "--ignore is for CSV columns");
    } else {
        if (a.labels)
            return cli_usage_error(&cmd, "--labels is for IDX images; a CSV names "
                                         "its target with --target");
        if (!a.target && !a.resume)
            return cli_usage_error(&cmd, "--target is required");
    }
    if (a.quiet && (a.verbose || a.print_every))
        return cli_usage_error(&cmd, a.verbose ? "--quiet and --verbose exclude "
                                                 "each other"
                                               : "--quiet and --print-every "
                                                 "exclude each other");
    if (!a.resume && check_names(&a, msg, sizeof msg))
        return cli_usage_error(&cmd, msg);
    if (a.momentum >= 0.0 && strcmp(a.optimizer, "sgd") != 0)
        return cli_usage_error(&cmd, "--momentum is for --optimizer sgd");
    if (a.missing && strcmp(a.missing, "impute") && strcmp(a.missing, "drop") &&
        strcmp(a.missing, "error"))
        return cli_usage_error(&cmd, "--missing: use impute, drop or error");
    if (a.task && strcmp(a.task, "classify") && strcmp(a.task, "regress"))
        return cli_usage_error(&cmd, "--task: use classify or regress");
    if (a.class_weight && strcmp(a.class_weight, "balanced") &&
        strcmp(a.class_weight, "none"))
        return cli_usage_error(&cmd, "--class-weight: use balanced or none");
    soma_table_options topt;
    if (cli_table_options(a.sep, a.decimal, &a.na_values, &topt, msg, sizeof msg))
        return cli_usage_error(&cmd, msg);
    cli_set_table_options(&topt);
    a.table = topt;
    if (a.val_labels && !a.val)
        return cli_usage_error(&cmd, "--val-labels goes with --val");
    if (a.val && a.val_split > 0)
        return cli_usage_error(&cmd, "--val and --val-split exclude each other");
    a.target_file = a.idx ? a.labels : a.data;
    a.command = join_command(argc, argv);
    if (!a.command)
        return cli_error("out of memory");
    int rc = train(&a);
    free(a.command);
    return rc;
}
