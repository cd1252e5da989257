/*
 * dataset.c - operations on loaded data sets that do not depend on the
 * file they came from.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

static char **copy_names(char *const *src, int n)
{
    if (n == 0 || !src)
        return NULL;
    char **d = soma_alloc_zero((size_t)n, sizeof *d);
    if (!d)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!(d[i] = soma_strdup(src[i]))) {
            for (int j = 0; j < i; j++)
                soma_free(d[j]);
            soma_free(d);
            return NULL;
        }
    return d;
}

/* A data set with the shape and names of ds and rows[0..n) of its rows. */
static soma_dataset *subset(const soma_dataset *ds, const size_t *rows, size_t n)
{
    soma_dataset *o = soma_alloc_zero(1, sizeof *o);
    if (!o)
        return NULL;
    size_t d = (size_t)ds->n_features;
    o->n_rows = n;
    o->n_features = ds->n_features;
    o->n_classes = ds->n_classes;
    o->y_cols = ds->y_cols;
    size_t yc = ds->y_cols > 1 ? (size_t)ds->y_cols : 1;
    o->x = soma_alloc_array(n * d, sizeof(float));
    o->feature_names = copy_names(ds->feature_names, ds->n_features);
    int ok = o->x && (o->feature_names || !ds->feature_names);
    if (ds->y)
        ok = ok && (o->y = soma_alloc_array(n, yc * sizeof(float)));
    if (ds->line)
        ok = ok && (o->line = soma_alloc_array(n, sizeof(size_t)));
    if (ds->target_name)
        ok = ok && (o->target_name = soma_strdup(ds->target_name));
    if (ds->n_classes)
        ok = ok && (o->class_names = copy_names(ds->class_names, ds->n_classes));
    if (!ok) {
        soma_dataset_free(o);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(o->x + i * d, ds->x + rows[i] * d, d * sizeof(float));
        if (ds->y)
            memcpy(o->y + i * yc, ds->y + rows[i] * yc, yc * sizeof(float));
        if (ds->line)
            o->line[i] = ds->line[rows[i]];
    }
    return o;
}

soma_status soma_dataset_split(const soma_dataset *ds, double fraction,
                               uint64_t seed, soma_dataset **train,
                               soma_dataset **val, soma_error *err)
{
    if (!ds || !train || !val)
        return soma_fail(err, SOMA_ERR_ARG, "split needs a data set");
    *train = *val = NULL;
    if (!(fraction >= 0.0 && fraction < 1.0))
        return soma_fail(err, SOMA_ERR_ARG,
                         "the validation fraction must be in [0, 1), not %g",
                         fraction);
    size_t n = ds->n_rows;
    size_t n_val = (size_t)floor(fraction * (double)n + 0.5);
    if (n_val >= n)
        return soma_fail(err, SOMA_ERR_DATA,
                         "a validation fraction of %g leaves no training rows "
                         "out of %zu", fraction, n);
    size_t *perm = soma_alloc_array(n, sizeof *perm);
    if (!perm)
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    if (n_val > 0) {
        soma_rng rng;
        soma_rng_seed(&rng, seed);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)soma_rng_below(&rng, (uint64_t)i + 1);
            size_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    }
    *train = subset(ds, perm, n - n_val);
    if (*train && n_val > 0)
        *val = subset(ds, perm + (n - n_val), n_val);
    soma_free(perm);
    if (!*train || (n_val > 0 && !*val)) {
        soma_dataset_free(*train);
        *train = NULL;
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory splitting the data");
    }
    return SOMA_OK;
}
