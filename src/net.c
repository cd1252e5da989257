/*
 * net.c - the network object: architecture, flat parameters,
 * standardisation, class labels, feature names and string metadata.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* ---- names -------------------------------------------------------------- */

static const char *const activation_names[] = {
    "sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"};
static const char *const loss_names[] = {"sse", "mse", "bce", "ce"};
static const char *const init_names[] = {"uniform", "glorot", "he"};
static const char *const optimizer_names[] = {"gd", "sgd", "adam"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : NULL;
}

static int parse_name(const char *const *names, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *soma_activation_name(soma_activation a)
{
    return name_of(activation_names, COUNT(activation_names), (int)a);
}
int soma_activation_parse(const char *s)
{
    return parse_name(activation_names, COUNT(activation_names), s);
}
const char *soma_loss_name(soma_loss l)
{
    return name_of(loss_names, COUNT(loss_names), (int)l);
}
int soma_loss_parse(const char *s)
{
    return parse_name(loss_names, COUNT(loss_names), s);
}
const char *soma_init_name(soma_init i)
{
    return name_of(init_names, COUNT(init_names), (int)i);
}
int soma_init_parse(const char *s)
{
    return parse_name(init_names, COUNT(init_names), s);
}
const char *soma_optimizer_name(soma_optimizer o)
{
    return name_of(optimizer_names, COUNT(optimizer_names), (int)o);
}
int soma_optimizer_parse(const char *s)
{
    return parse_name(optimizer_names, COUNT(optimizer_names), s);
}

/* ---- creation ----------------------------------------------------------- */

soma_status soma_spec_check(const soma_spec *spec, soma_error *err)
{
    if (!spec)
        return soma_fail(err, SOMA_ERR_ARG, "no network spec given");
    if (spec->n_inputs < 1 || spec->n_inputs > SOMA_MAX_UNITS)
        return soma_fail(err, SOMA_ERR_ARG, "inputs must be 1..%d, not %d",
                         SOMA_MAX_UNITS, spec->n_inputs);
    if (spec->n_layers < 1 || spec->n_layers > SOMA_MAX_LAYERS)
        return soma_fail(err, SOMA_ERR_ARG, "layers must be 1..%d, not %d",
                         SOMA_MAX_LAYERS, spec->n_layers);
    if (!spec->layers)
        return soma_fail(err, SOMA_ERR_ARG, "no layer specs given");
    if (!soma_loss_name(spec->loss))
        return soma_fail(err, SOMA_ERR_ARG, "unknown loss %d", (int)spec->loss);
    size_t total = 0;
    int fan_in = spec->n_inputs;
    for (int i = 0; i < spec->n_layers; i++) {
        const soma_layer_spec *l = &spec->layers[i];
        if (l->units < 1 || l->units > SOMA_MAX_UNITS)
            return soma_fail(err, SOMA_ERR_ARG,
                             "layer %d: units must be 1..%d, not %d", i,
                             SOMA_MAX_UNITS, l->units);
        if (!soma_activation_name(l->activation))
            return soma_fail(err, SOMA_ERR_ARG, "layer %d: unknown activation %d",
                             i, (int)l->activation);
        size_t w;
        if (!soma_size_mul((size_t)l->units, (size_t)fan_in, &w) ||
            !soma_size_add(total, w, &total) ||
            !soma_size_add(total, l->bias ? (size_t)l->units : 0, &total) ||
            total > SIZE_MAX / sizeof(float) / 4)
            return soma_fail(err, SOMA_ERR_ARG,
                             "the network has too many parameters");
        fan_in = l->units;
    }
    const soma_layer_spec *last = &spec->layers[spec->n_layers - 1];
    if (spec->loss == SOMA_LOSS_BCE && last->activation != SOMA_ACT_SIGMOID)
        return soma_fail(err, SOMA_ERR_ARG,
                         "loss bce needs a sigmoid output layer, not %s",
                         soma_activation_name(last->activation));
    if (spec->loss == SOMA_LOSS_CE &&
        (last->activation != SOMA_ACT_SOFTMAX || last->units < 2))
        return soma_fail(err, SOMA_ERR_ARG,
                         "loss ce needs a softmax output layer with at least 2 "
                         "units, not %s with %d",
                         soma_activation_name(last->activation), last->units);
    return SOMA_OK;
}

soma_net *soma_net_new(const soma_spec *spec, soma_error *err)
{
    if (soma_spec_check(spec, err) != SOMA_OK)
        return NULL;
    soma_net *net = soma_alloc_zero(1, sizeof *net);
    if (!net)
        goto nomem;
    int L = spec->n_layers;
    net->n_inputs = spec->n_inputs;
    net->n_layers = L;
    net->loss = spec->loss;
    net->threads = 1;
    net->layers = soma_alloc_array((size_t)L, sizeof *net->layers);
    net->fan_in = soma_alloc_array((size_t)L, sizeof *net->fan_in);
    net->w_off = soma_alloc_array((size_t)L, sizeof *net->w_off);
    net->b_off = soma_alloc_array((size_t)L, sizeof *net->b_off);
    if (!net->layers || !net->fan_in || !net->w_off || !net->b_off)
        goto nomem;
    size_t off = 0;
    int fan_in = spec->n_inputs;
    net->max_units = fan_in;
    for (int i = 0; i < L; i++) {
        net->layers[i] = spec->layers[i];
        net->layers[i].bias = spec->layers[i].bias != 0;
        net->fan_in[i] = fan_in;
        net->w_off[i] = off;
        off += (size_t)spec->layers[i].units * (size_t)fan_in;
        net->b_off[i] = off;
        if (net->layers[i].bias)
            off += (size_t)spec->layers[i].units;
        fan_in = spec->layers[i].units;
        if (fan_in > net->max_units)
            net->max_units = fan_in;
    }
    net->n_params = off;
    net->params = soma_alloc_zero(off, sizeof(float));
    if (!net->params)
        goto nomem;
    return net;
nomem:
    soma_net_free(net);
    soma_fail(err, SOMA_ERR_NOMEM, "out of memory creating the network");
    return NULL;
}

static void free_strings(char **s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++)
        soma_free(s[i]);
    soma_free(s);
}

void soma_net_free(soma_net *net)
{
    if (!net)
        return;
    soma_free(net->layers);
    soma_free(net->fan_in);
    soma_free(net->w_off);
    soma_free(net->b_off);
    soma_free(net->params);
    soma_free(net->mean);
    soma_free(net->std);
    free_strings(net->classes, net->n_classes);
    free_strings(net->features, net->n_features);
    free_strings(net->meta_keys, net->n_meta);
    free_strings(net->meta_values, net->n_meta);
    soma_prep_free(net->preprocess);
    soma_free(net->ws);
    soma_free(net->prep);
    soma_exec_free(net->exec);
    soma_free(net->exec);
    soma_free(net);
}

soma_net *soma_net_clone(const soma_net *src, soma_error *err)
{
    if (!src) {
        soma_fail(err, SOMA_ERR_ARG, "no network given");
        return NULL;
    }
    soma_spec spec = {src->n_inputs, src->n_layers, src->layers, src->loss};
    soma_net *net = soma_net_new(&spec, err);
    if (!net)
        return NULL;
    soma_net_sync(src);
    memcpy(net->params, src->params, src->n_params * sizeof(float));
    if (soma_net_set_standardize(net, src->mean, src->std, err) != SOMA_OK ||
        soma_net_set_classes(net, src->n_classes,
                             (const char *const *)src->classes, err) != SOMA_OK ||
        soma_net_set_features(net, src->n_features,
                              (const char *const *)src->features, err) != SOMA_OK ||
        soma_net_set_prep(net, src->preprocess, err) != SOMA_OK)
        goto fail;
    for (int i = 0; i < src->n_meta; i++)
        if (soma_net_set_meta(net, src->meta_keys[i], src->meta_values[i], err) !=
            SOMA_OK)
            goto fail;
    return net;
fail:
    soma_net_free(net);
    return NULL;
}

soma_status soma_net_init(soma_net *net, soma_init init, uint64_t seed,
                          soma_error *err)
{
    if (!net)
        return soma_fail(err, SOMA_ERR_ARG, "no network given");
    if (!soma_init_name(init))
        return soma_fail(err, SOMA_ERR_ARG, "unknown initialiser %d", (int)init);
    soma_net_sync(net);
    soma_net_unprepare(net);
    soma_rng rng;
    soma_rng_seed(&rng, seed);
    for (int l = 0; l < net->n_layers; l++) {
        int units = net->layers[l].units, in = net->fan_in[l];
        float a = 1.0f;
        if (init == SOMA_INIT_GLOROT)
            a = sqrtf(6.0f / ((float)in + (float)units));
        else if (init == SOMA_INIT_HE)
            a = sqrtf(6.0f / (float)in);
        float *w = net->params + net->w_off[l];
        size_t nw = (size_t)units * (size_t)in;
        for (size_t i = 0; i < nw; i++)
            w[i] = a * (2.0f * soma_rng_float(&rng) - 1.0f);
        if (net->layers[l].bias)
            memset(net->params + net->b_off[l], 0, (size_t)units * sizeof(float));
    }
    return SOMA_OK;
}

soma_status soma_net_set_threads(soma_net *net, int threads, soma_error *err)
{
    if (!net || threads < 0 || threads > 1024)
        return soma_fail(err, SOMA_ERR_ARG, "threads must be 0..1024, not %d",
                         threads);
    net->threads = threads;
    return SOMA_OK;
}

/* ---- queries ------------------------------------------------------------ */

int soma_net_n_inputs(const soma_net *net) { return net ? net->n_inputs : 0; }
int soma_net_n_layers(const soma_net *net) { return net ? net->n_layers : 0; }
soma_loss soma_net_loss(const soma_net *net) { return net ? net->loss : SOMA_LOSS_SSE; }

int soma_net_n_outputs(const soma_net *net)
{
    return net ? net->layers[net->n_layers - 1].units : 0;
}

soma_layer_spec soma_net_layer(const soma_net *net, int layer)
{
    soma_layer_spec none = {0, SOMA_ACT_SIGMOID, 0};
    if (!net || layer < 0 || layer >= net->n_layers)
        return none;
    return net->layers[layer];
}

/* The writable accessors drop a prepared copy of the weights: the caller
 * may be about to change them (soma.h, soma_net_prepare). */
void soma_net_sync(const soma_net *net)
{
    if (net && net->sync)
        net->sync(net->sync_ctx);
}

/* All the accessors bring the weights up to date first (soma_net_sync). */
float *soma_net_params(soma_net *net)
{
    soma_net_sync(net);
    soma_net_unprepare(net);
    return net ? net->params : NULL;
}

const float *soma_net_params_const(const soma_net *net)
{
    soma_net_sync(net);
    return net ? net->params : NULL;
}
size_t soma_net_n_params(const soma_net *net) { return net ? net->n_params : 0; }

float *soma_net_weight(soma_net *net, int layer)
{
    if (!net || layer < 0 || layer >= net->n_layers)
        return NULL;
    soma_net_sync(net);
    soma_net_unprepare(net);
    return net->params + net->w_off[layer];
}

float *soma_net_bias(soma_net *net, int layer)
{
    if (!net || layer < 0 || layer >= net->n_layers || !net->layers[layer].bias)
        return NULL;
    soma_net_sync(net);
    soma_net_unprepare(net);
    return net->params + net->b_off[layer];
}

static int same_architecture(const soma_net *a, const soma_net *b)
{
    if (a->n_inputs != b->n_inputs || a->n_layers != b->n_layers)
        return 0;
    for (int i = 0; i < a->n_layers; i++)
        if (a->layers[i].units != b->layers[i].units ||
            a->layers[i].activation != b->layers[i].activation ||
            a->layers[i].bias != b->layers[i].bias)
            return 0;
    return 1;
}

soma_status soma_net_copy_params(soma_net *dst, const soma_net *src,
                                 soma_error *err)
{
    if (!dst || !src)
        return soma_fail(err, SOMA_ERR_ARG, "no network given");
    if (!same_architecture(dst, src))
        return soma_fail(err, SOMA_ERR_ARG,
                         "the networks differ in architecture (inputs, layer "
                         "widths, activations or biases)");
    soma_net_sync(src);
    soma_net_sync(dst);
    soma_net_unprepare(dst);
    memcpy(dst->params, src->params, src->n_params * sizeof(float));
    return SOMA_OK;
}

/* ---- standardisation ---------------------------------------------------- */

soma_status soma_standardize_fit(const float *x, size_t n, int d, float *mean,
                                 float *std, soma_error *err)
{
    if (!x || !mean || !std || n < 1 || d < 1)
        return soma_fail(err, SOMA_ERR_ARG,
                         "standardize needs at least one row and one column");
    for (int j = 0; j < d; j++) {
        /* two passes in double: exact enough for any float data set */
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += (double)x[i * (size_t)d + (size_t)j];
        double m = s / (double)n;
        double v = 0.0;
        for (size_t i = 0; i < n; i++) {
            double t = (double)x[i * (size_t)d + (size_t)j] - m;
            v += t * t;
        }
        double sd = sqrt(v / (double)n);
        mean[j] = (float)m;
        std[j] = (sd > 0.0 && (float)sd > 0.0f && isfinite((float)sd)) ? (float)sd : 1.0f;
    }
    return SOMA_OK;
}

soma_status soma_net_set_standardize(soma_net *net, const float *mean,
                                     const float *std, soma_error *err)
{
    if (!net)
        return soma_fail(err, SOMA_ERR_ARG, "no network given");
    if (!mean != !std)
        return soma_fail(err, SOMA_ERR_ARG,
                         "standardize needs both mean and std, or neither");
    if (!mean) {
        soma_free(net->mean);
        soma_free(net->std);
        net->mean = net->std = NULL;
        return SOMA_OK;
    }
    size_t d = (size_t)net->n_inputs;
    for (size_t j = 0; j < d; j++) {
        if (!isfinite(mean[j]))
            return soma_fail(err, SOMA_ERR_DATA,
                             "standardize mean of input %zu is not finite", j);
        if (!isfinite(std[j]) || !(std[j] > 0.0f))
            return soma_fail(err, SOMA_ERR_DATA,
                             "standardize std of input %zu must be finite and "
                             "positive", j);
    }
    float *m = soma_alloc_array(d, sizeof(float));
    float *s = soma_alloc_array(d, sizeof(float));
    if (!m || !s) {
        soma_free(m);
        soma_free(s);
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
    }
    memcpy(m, mean, d * sizeof(float));
    memcpy(s, std, d * sizeof(float));
    soma_free(net->mean);
    soma_free(net->std);
    net->mean = m;
    net->std = s;
    return SOMA_OK;
}

const float *soma_net_mean(const soma_net *net) { return net ? net->mean : NULL; }
const float *soma_net_std(const soma_net *net) { return net ? net->std : NULL; }

void soma_standardize_rows(const soma_net *net, const float *src, size_t n,
                           float *dst)
{
    size_t d = (size_t)net->n_inputs;
    if (!net->mean) {
        memcpy(dst, src, n * d * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            dst[i * d + j] = (src[i * d + j] - net->mean[j]) / net->std[j];
}

size_t soma_find_nonfinite(const float *x, size_t n)
{
    const size_t chunk = 4096;
    for (size_t c = 0; c < n; c += chunk) {
        size_t len = n - c < chunk ? n - c : chunk;
        if (!soma_any_nonfinite(x + c, len))
            continue;
        for (size_t i = c; i < c + len; i++)
            if (!isfinite(x[i]))
                return i;
    }
    return n;
}

/* ---- strings ------------------------------------------------------------ */

/* Replaces *dst (of *dst_n strings) with a copy of src[0..n). */
static soma_status copy_strings(char ***dst, int *dst_n, int n,
                                const char *const *src, soma_error *err)
{
    char **copy = NULL;
    if (n > 0) {
        copy = soma_alloc_zero((size_t)n, sizeof *copy);
        if (!copy)
            return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n; i++) {
            if (!src[i]) {
                free_strings(copy, n);
                return soma_fail(err, SOMA_ERR_ARG, "string %d is NULL", i);
            }
            copy[i] = soma_strdup(src[i]);
            if (!copy[i]) {
                free_strings(copy, n);
                return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
            }
        }
    }
    free_strings(*dst, *dst_n);
    *dst = copy;
    *dst_n = n;
    return SOMA_OK;
}

soma_status soma_net_set_classes(soma_net *net, int n, const char *const *labels,
                                 soma_error *err)
{
    if (!net || n < 0 || (n > 0 && !labels))
        return soma_fail(err, SOMA_ERR_ARG, "bad class labels");
    for (int i = 0; i < n; i++)
        if (labels[i] && !soma_utf8_valid(labels[i]))
            return soma_fail(err, SOMA_ERR_ARG,
                             "class label %d is not valid UTF-8 (model files "
                             "hold UTF-8 text)",
                             i);
    return copy_strings(&net->classes, &net->n_classes, n, labels, err);
}

int soma_net_n_classes(const soma_net *net) { return net ? net->n_classes : 0; }

const char *soma_net_class(const soma_net *net, int i)
{
    return net && i >= 0 && i < net->n_classes ? net->classes[i] : NULL;
}

soma_status soma_net_set_features(soma_net *net, int n,
                                  const char *const *names, soma_error *err)
{
    if (!net || (n != 0 && n != net->n_inputs) || (n > 0 && !names))
        return soma_fail(err, SOMA_ERR_ARG,
                         "feature names: %d given, the network has %d inputs", n,
                         net ? net->n_inputs : 0);
    for (int i = 0; i < n; i++)
        if (names[i] && !soma_utf8_valid(names[i]))
            return soma_fail(err, SOMA_ERR_ARG,
                             "feature name %d is not valid UTF-8 (model files "
                             "hold UTF-8 text)",
                             i);
    return copy_strings(&net->features, &net->n_features, n, names, err);
}

int soma_net_n_features(const soma_net *net) { return net ? net->n_features : 0; }

const char *soma_net_feature(const soma_net *net, int i)
{
    return net && i >= 0 && i < net->n_features ? net->features[i] : NULL;
}

soma_status soma_net_set_meta(soma_net *net, const char *key, const char *value,
                              soma_error *err)
{
    if (!net || !key || !*key)
        return soma_fail(err, SOMA_ERR_ARG, "metadata needs a non-empty key");
    if (!soma_utf8_valid(key) || (value && !soma_utf8_valid(value)))
        return soma_fail(err, SOMA_ERR_ARG,
                         "metadata: a key or value is not valid UTF-8 (model "
                         "files hold UTF-8 text)");
    if (strncmp(key, "soma.", 5) == 0 || strcmp(key, "format") == 0)
        return soma_fail(err, SOMA_ERR_ARG,
                         "metadata key '%s' is reserved for the model format",
                         key);
    int at = -1;
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_keys[i], key) == 0)
            at = i;
    if (!value) {
        if (at >= 0) {
            soma_free(net->meta_keys[at]);
            soma_free(net->meta_values[at]);
            for (int i = at + 1; i < net->n_meta; i++) {
                net->meta_keys[i - 1] = net->meta_keys[i];
                net->meta_values[i - 1] = net->meta_values[i];
            }
            net->n_meta--;
        }
        return SOMA_OK;
    }
    char *v = soma_strdup(value);
    if (!v)
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
    if (at >= 0) {
        soma_free(net->meta_values[at]);
        net->meta_values[at] = v;
        return SOMA_OK;
    }
    char *k = soma_strdup(key);
    char **keys = k ? soma_realloc_array(net->meta_keys, (size_t)net->n_meta + 1,
                                         sizeof *keys)
                    : NULL;
    if (keys)
        net->meta_keys = keys;
    char **vals = keys ? soma_realloc_array(net->meta_values,
                                            (size_t)net->n_meta + 1, sizeof *vals)
                       : NULL;
    if (vals)
        net->meta_values = vals;
    if (!vals) {
        soma_free(k);
        soma_free(v);
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
    }
    net->meta_keys[net->n_meta] = k;
    net->meta_values[net->n_meta] = v;
    net->n_meta++;
    return SOMA_OK;
}

const char *soma_net_get_meta(const soma_net *net, const char *key)
{
    if (!net || !key)
        return NULL;
    for (int i = 0; i < net->n_meta; i++)
        if (strcmp(net->meta_keys[i], key) == 0)
            return net->meta_values[i];
    return NULL;
}

int soma_net_n_meta(const soma_net *net) { return net ? net->n_meta : 0; }

const char *soma_net_meta_key(const soma_net *net, int i)
{
    return net && i >= 0 && i < net->n_meta ? net->meta_keys[i] : NULL;
}

soma_status soma_net_set_prep(soma_net *net, const soma_prep *p, soma_error *err)
{
    if (!net)
        return soma_fail(err, SOMA_ERR_ARG, "no network given");
    if (p && p->n_inputs != net->n_inputs)
        return soma_fail(err, SOMA_ERR_ARG,
                         "the preprocessing gives %d inputs, the network takes %d",
                         p->n_inputs, net->n_inputs);
    soma_prep *copy = NULL;
    if (p && !(copy = soma_prep_clone(p, err)))
        return err ? err->code : SOMA_ERR_NOMEM;
    /* a classifier's labels are the prep's classes, as the loader checks */
    if (p && p->task == SOMA_TASK_CLASSIFY && net->n_classes == 0) {
        soma_status st = soma_net_set_classes(net, p->n_classes,
                                              (const char *const *)p->classes, err);
        if (st != SOMA_OK) {
            soma_prep_free(copy);
            return st;
        }
    }
    soma_prep_free(net->preprocess);
    net->preprocess = copy;
    return SOMA_OK;
}

const soma_prep *soma_net_prep(const soma_net *net)
{
    return net ? net->preprocess : NULL;
}
