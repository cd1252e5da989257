/*
 * data.c - reading data for a model (CSV or IDX, told apart by content) and
 * turning data sets into what the library trains and evaluates on.
 */
#include "cli.h"

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
                         "output (use --output softmax)", path, ds->n_classes);
    if (ds->n_classes == 0 && k != 1)
        return cli_error("%s: a numeric target gives one value per row but the "
                         "network has %d outputs", path, k);
    *y_cols = one_hot ? k : 1;
    *y = malloc(n * (size_t)*y_cols * sizeof(float) + 1);
    if (!*y)
        return cli_error("out of memory");
    if (one_hot) {
        memset(*y, 0, n * (size_t)k * sizeof(float));
        for (size_t i = 0; i < n; i++)
            (*y)[i * (size_t)k + (size_t)ds->y[i]] = 1.0f;
    } else {
        memcpy(*y, ds->y, n * sizeof(float));
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

static soma_dataset *read_csv(const char *path, const soma_net *net,
                              const char *target)
{
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

soma_dataset *cli_read_for_model(const char *path, int idx, soma_net *net,
                                 const char *target, const char *labels)
{
    return idx ? read_idx(path, net, labels) : read_csv(path, net, target);
}
