/*
 * model.c - a soma_net as a safetensors file (docs/model-format.md):
 * tensors "layers.{i}.weight" [units, inputs], "layers.{i}.bias" [units]
 * (the PyTorch nn.Linear layout), "standardize.mean" and "standardize.std"
 * [inputs]; the architecture, labels and user metadata as strings in
 * "__metadata__". Tensors named "train.*" belong to checkpoints and are
 * ignored here.
 */
#include "io/safetensors.h"

#include <jansson.h>

#include "io/json_write.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Version 2 is version 1 plus "soma.preprocess", which changes what the
 * inputs and outputs mean (raw table columns, outputs in the target's
 * units): a net with a preprocessing is written as version 2, so that a
 * version-1 reader refuses it instead of misreading it; every other net
 * is still written as version 1. Both are read. */
#define FORMAT_VERSION "1"
#define FORMAT_VERSION_PREP "2"

/* ---- saving ------------------------------------------------------------- */

static char *layers_json(const soma_net *net)
{
    soma_jw w;
    soma_jw_init(&w);
    soma_jw_raw(&w, "[");
    for (int i = 0; i < net->n_layers; i++) {
        const soma_layer_spec *l = &net->layers[i];
        soma_jw_raw(&w, i ? ",{\"units\":" : "{\"units\":");
        soma_jw_u64(&w, (uint64_t)l->units);
        soma_jw_raw(&w, ",\"activation\":");
        soma_jw_string(&w, soma_activation_name(l->activation));
        soma_jw_raw(&w, l->bias ? ",\"bias\":true}" : ",\"bias\":false}");
    }
    soma_jw_raw(&w, "]");
    return soma_jw_finish(&w, NULL);
}

static char *strings_json(char *const *s, int n)
{
    soma_jw w;
    soma_jw_init(&w);
    soma_jw_raw(&w, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            soma_jw_raw(&w, ",");
        soma_jw_string(&w, s[i]);
    }
    soma_jw_raw(&w, "]");
    return soma_jw_finish(&w, NULL);
}

static int all_utf8(char *const *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!soma_utf8_valid(s[i]))
            return 0;
    return 1;
}

void soma_model_parts_free(soma_model_parts *p)
{
    if (!p)
        return;
    soma_free(p->tensors);
    soma_free(p->meta);
    for (int i = 0; i < 5; i++)
        soma_free(p->owned[i]);
    memset(p, 0, sizeof *p);
}

#define NAME_SIZE 32 /* "layers.255.weight" and the like */

soma_status soma_model_parts_build(const soma_net *net, soma_model_parts *p,
                                   soma_error *err)
{
    if (!p)
        return soma_fail(err, SOMA_ERR_ARG, "no parts given");
    memset(p, 0, sizeof *p);
    soma_net_sync(net);
    if (!net)
        return soma_fail(err, SOMA_ERR_ARG, "no network given");
    int L = net->n_layers;
    for (int l = 0; l < L; l++) {
        size_t nw = (size_t)net->layers[l].units * (size_t)net->fan_in[l];
        size_t bad = soma_find_nonfinite(net->params + net->w_off[l], nw);
        if (bad < nw)
            return soma_fail(err, SOMA_ERR_DATA,
                             "layer %d: weight %zu is not finite; a model with "
                             "NaN or infinity cannot be saved",
                             l, bad);
        size_t nb = (size_t)net->layers[l].units;
        if (net->layers[l].bias &&
            (bad = soma_find_nonfinite(net->params + net->b_off[l], nb)) < nb)
            return soma_fail(err, SOMA_ERR_DATA,
                             "layer %d: bias %d is not finite; a model with "
                             "NaN or infinity cannot be saved",
                             l, (int)bad);
    }
    if (!all_utf8(net->classes, net->n_classes) ||
        !all_utf8(net->features, net->n_features) ||
        !all_utf8(net->meta_keys, net->n_meta) ||
        !all_utf8(net->meta_values, net->n_meta))
        return soma_fail(err, SOMA_ERR_ARG,
                         "a class label, feature name or metadata string is "
                         "not valid UTF-8");

    size_t nt = 2 * (size_t)L + 2, nm = 8 + (size_t)net->n_meta;
    p->tensors = soma_alloc_zero(nt, sizeof *p->tensors);
    p->meta = soma_alloc_zero(nm, sizeof *p->meta);
    char *names = p->owned[0] = soma_alloc_zero(nt, NAME_SIZE);
    if (!p->tensors || !p->meta || !names)
        goto nomem;

    size_t t = 0;
    for (int l = 0; l < L; l++) {
        soma_st_entry *e = &p->tensors[t];
        snprintf(names + t * NAME_SIZE, NAME_SIZE, "layers.%d.weight", l);
        e->name = names + t * NAME_SIZE;
        e->ndim = 2;
        e->shape[0] = (size_t)net->layers[l].units;
        e->shape[1] = (size_t)net->fan_in[l];
        e->data = net->params + net->w_off[l];
        t++;
        if (net->layers[l].bias) {
            e = &p->tensors[t];
            snprintf(names + t * NAME_SIZE, NAME_SIZE, "layers.%d.bias", l);
            e->name = names + t * NAME_SIZE;
            e->ndim = 1;
            e->shape[0] = (size_t)net->layers[l].units;
            e->data = net->params + net->b_off[l];
            t++;
        }
    }
    if (net->mean) {
        soma_st_entry m = {"standardize.mean", 1, {(size_t)net->n_inputs},
                           net->mean};
        soma_st_entry s = {"standardize.std", 1, {(size_t)net->n_inputs},
                           net->std};
        p->tensors[t++] = m;
        p->tensors[t++] = s;
    }
    p->n_tensors = t;

    snprintf(p->inputs, sizeof p->inputs, "%d", net->n_inputs);
    p->owned[1] = layers_json(net);
    if (!p->owned[1])
        goto nomem;
    size_t m = 0;
    p->meta[m++] = (soma_st_pair){"format", "soma"};
    p->meta[m++] = (soma_st_pair){"soma.format_version",
                                  net->preprocess ? FORMAT_VERSION_PREP
                                                  : FORMAT_VERSION};
    p->meta[m++] = (soma_st_pair){"soma.inputs", p->inputs};
    p->meta[m++] = (soma_st_pair){"soma.layers", p->owned[1]};
    p->meta[m++] = (soma_st_pair){"soma.loss", soma_loss_name(net->loss)};
    if (net->n_classes > 0) {
        p->owned[2] = strings_json(net->classes, net->n_classes);
        if (!p->owned[2])
            goto nomem;
        p->meta[m++] = (soma_st_pair){"soma.classes", p->owned[2]};
    }
    if (net->n_features > 0) {
        p->owned[3] = strings_json(net->features, net->n_features);
        if (!p->owned[3])
            goto nomem;
        p->meta[m++] = (soma_st_pair){"soma.features", p->owned[3]};
    }
    if (net->preprocess) {
        p->owned[4] = soma_prep_to_json(net->preprocess, err);
        if (!p->owned[4]) {
            soma_status st = err ? err->code : SOMA_ERR_NOMEM;
            soma_model_parts_free(p);
            return st;
        }
        p->meta[m++] = (soma_st_pair){"soma.preprocess", p->owned[4]};
    }
    for (int i = 0; i < net->n_meta; i++)
        p->meta[m++] = (soma_st_pair){net->meta_keys[i], net->meta_values[i]};
    p->n_meta = m;
    return SOMA_OK;
nomem:
    soma_model_parts_free(p);
    return soma_fail(err, SOMA_ERR_NOMEM, "out of memory saving the model");
}

soma_status soma_net_save(const soma_net *net, const char *path,
                          soma_error *err)
{
    if (!net || !path || !*path)
        return soma_fail(err, SOMA_ERR_ARG, "no network or path given");
    soma_model_parts p;
    soma_status s = soma_model_parts_build(net, &p, err);
    if (s != SOMA_OK) {
        if (err && s != SOMA_ERR_NOMEM) {
            char msg[SOMA_ERROR_MAX];
            memcpy(msg, err->message, sizeof msg);
            soma_fail(err, s, "%s: %s", path, msg);
        }
        return s;
    }
    s = soma_st_write(path, p.tensors, p.n_tensors, p.meta, p.n_meta, err);
    soma_model_parts_free(&p);
    return s;
}

/* ---- loading ------------------------------------------------------------ */

/* A canonical decimal (digits only, no sign, no leading zero) in 0..max,
 * or -1. */
static long parse_decimal(const char *s, long max)
{
    if (!s || !*s || (s[0] == '0' && s[1]))
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return v;
}

/* Parses one of the JSON texts inside the metadata; errors name the key. */
static json_t *load_json(const char *text, const char *key, const char *name,
                         soma_status *s, soma_error *err)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        for (char *c = je.text; *c; c++) /* keep the quoted bytes printable */
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        if (json_error_code(&je) == json_error_out_of_memory)
            *s = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
        else
            *s = soma_fail(err, SOMA_ERR_FORMAT,
                           "%s: %s is not valid JSON: %s at column %d", name,
                           key, je.text, je.column);
    }
    return j;
}

/* Reads soma.layers into layers [SOMA_MAX_LAYERS]. */
static soma_status parse_layers(const char *text, const char *name,
                                soma_layer_spec *layers, int *n_layers,
                                soma_error *err)
{
    char cb[72];
    soma_status s = SOMA_OK;
    json_t *a = load_json(text, "soma.layers", name, &s, err);
    if (!a)
        return s;
    if (!json_is_array(a)) {
        s = soma_fail(err, SOMA_ERR_FORMAT, "%s: soma.layers is not a JSON array",
                      name);
        goto done;
    }
    size_t n = json_array_size(a);
    if (n < 1 || n > SOMA_MAX_LAYERS) {
        s = soma_fail(err, SOMA_ERR_FORMAT,
                      "%s: soma.layers has %zu layers, it must have 1..%d",
                      name, n, SOMA_MAX_LAYERS);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(a, i);
        if (!json_is_object(o)) {
            s = soma_fail(err, SOMA_ERR_FORMAT,
                          "%s: soma.layers[%zu] is not a JSON object", name, i);
            goto done;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)o, k, v)
            if (strcmp(k, "units") != 0 && strcmp(k, "activation") != 0 &&
                strcmp(k, "bias") != 0) {
                s = soma_fail(err, SOMA_ERR_FORMAT,
                              "%s: soma.layers[%zu]: unknown field '%s'", name,
                              i, soma_st_clip(k, cb));
                goto done;
            }
        const json_t *units = json_object_get(o, "units");
        const json_t *act = json_object_get(o, "activation");
        const json_t *bias = json_object_get(o, "bias");
        if (!json_is_integer(units) || json_integer_value(units) < 1 ||
            json_integer_value(units) > SOMA_MAX_UNITS) {
            s = soma_fail(err, SOMA_ERR_FORMAT,
                          "%s: soma.layers[%zu].units is missing or not an "
                          "integer in 1..%d",
                          name, i, SOMA_MAX_UNITS);
            goto done;
        }
        if (!json_is_string(act)) {
            s = soma_fail(err, SOMA_ERR_FORMAT,
                          "%s: soma.layers[%zu].activation is missing or not "
                          "a string",
                          name, i);
            goto done;
        }
        int a_id = soma_activation_parse(json_string_value(act));
        if (a_id < 0) {
            s = soma_fail(err, SOMA_ERR_FORMAT,
                          "%s: soma.layers[%zu].activation: unknown activation "
                          "'%s'",
                          name, i, soma_st_clip(json_string_value(act), cb));
            goto done;
        }
        if (!json_is_boolean(bias)) {
            s = soma_fail(err, SOMA_ERR_FORMAT,
                          "%s: soma.layers[%zu].bias is missing or not true or "
                          "false",
                          name, i);
            goto done;
        }
        layers[i].units = (int)json_integer_value(units);
        layers[i].activation = (soma_activation)a_id;
        layers[i].bias = json_is_true(bias);
    }
    *n_layers = (int)n;
done:
    json_decref(a);
    return s;
}

/* Reads a JSON array of strings (soma.classes, soma.features) into a new
 * soma-allocated array *out of *n strings. */
static soma_status parse_strings(const char *text, const char *key,
                                 const char *name, char ***out, int *n,
                                 soma_error *err)
{
    soma_status s = SOMA_OK;
    json_t *a = load_json(text, key, name, &s, err);
    if (!a)
        return s;
    size_t count = json_array_size(a);
    if (!json_is_array(a) || count > INT_MAX) {
        s = soma_fail(err, SOMA_ERR_FORMAT,
                      "%s: %s is not a JSON array of strings", name, key);
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        if (!json_is_string(json_array_get(a, i))) {
            s = soma_fail(err, SOMA_ERR_FORMAT,
                          "%s: %s[%zu] is not a string (%s must be a JSON "
                          "array of strings)",
                          name, key, i, key);
            goto done;
        }
    char **v = soma_alloc_zero(count, sizeof *v);
    if (!v)
        goto nomem;
    *out = v;
    *n = (int)count; /* the caller frees the entries set so far */
    for (size_t i = 0; i < count; i++) {
        v[i] = soma_strdup(json_string_value(json_array_get(a, i)));
        if (!v[i])
            goto nomem;
    }
    goto done;
nomem:
    s = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
done:
    json_decref(a);
    return s;
}

/* "layers.<i>.weight" / "layers.<i>.bias" with a canonical decimal i:
 * returns i and sets *is_bias, or returns -1. */
static long layer_tensor(const char *t, int *is_bias)
{
    if (strncmp(t, "layers.", 7) != 0)
        return -1;
    const char *p = t + 7, *dot = strchr(p, '.');
    if (!dot || dot == p || dot - p > 3)
        return -1;
    char digits[4];
    memcpy(digits, p, (size_t)(dot - p));
    digits[dot - p] = '\0';
    long i = parse_decimal(digits, SOMA_MAX_LAYERS);
    if (i < 0)
        return -1;
    if (strcmp(dot + 1, "weight") == 0)
        *is_bias = 0;
    else if (strcmp(dot + 1, "bias") == 0)
        *is_bias = 1;
    else
        return -1;
    return i;
}

/* Checks that tensor tn exists with shape [d0] (ndim 1) or [d0, d1]. */
static soma_status check_shape(const soma_st_file *f, const char *tn, int ndim,
                               size_t d0, size_t d1, const char *name,
                               soma_error *err)
{
    const soma_st_tensor *t = soma_st_find(f, tn);
    if (!t)
        return soma_fail(err, SOMA_ERR_FORMAT, "%s: tensor '%s' is missing",
                         name, tn);
    if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 && t->shape[1] != d1)) {
        char want[64], got[200];
        size_t at = 0;
        if (ndim == 2)
            snprintf(want, sizeof want, "[%zu, %zu]", d0, d1);
        else
            snprintf(want, sizeof want, "[%zu]", d0);
        got[at++] = '[';
        for (int i = 0; i < t->ndim; i++)
            at += (size_t)snprintf(got + at, sizeof got - at, "%s%zu",
                                   i ? ", " : "", t->shape[i]);
        snprintf(got + at, sizeof got - at, "]");
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s' must have shape %s to match the "
                         "architecture, not %s",
                         name, tn, want, got);
    }
    return SOMA_OK;
}

/* Decodes a tensor into dst and checks every value is finite. */
static soma_status read_finite(const soma_st_tensor *t, float *dst,
                               const char *name, soma_error *err)
{
    soma_st_read_f32(t, dst);
    size_t bad = soma_find_nonfinite(dst, t->count);
    if (bad < t->count)
        return soma_fail(err, SOMA_ERR_DATA,
                         "%s: tensor '%s': element %zu is not finite (%g)",
                         name, t->name, bad, (double)dst[bad]);
    return SOMA_OK;
}

/* Checks the tensor names: each is a layer's weight or bias, a
 * standardisation vector or a "train." checkpoint tensor. */
static soma_status check_names(const soma_st_file *f, const soma_spec *spec,
                               const char *name, soma_error *err)
{
    char cb[72];
    for (size_t i = 0; i < f->n_tensors; i++) {
        const char *tn = f->tensors[i].name;
        if (strncmp(tn, "train.", 6) == 0 ||
            strcmp(tn, "standardize.mean") == 0 ||
            strcmp(tn, "standardize.std") == 0)
            continue;
        int is_bias = 0;
        long l = layer_tensor(tn, &is_bias);
        if (l < 0)
            return soma_fail(err, SOMA_ERR_FORMAT, "%s: unknown tensor '%s'",
                             name, soma_st_clip(tn, cb));
        if (l >= spec->n_layers)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: tensor '%s' is for layer %ld, but soma.layers "
                             "declares only %d layers",
                             name, tn, l, spec->n_layers);
        if (is_bias && !spec->layers[l].bias)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: tensor '%s' is present but layer %ld is "
                             "declared without bias",
                             name, tn, l);
    }
    return SOMA_OK;
}

/* Everything about the tensors that can be checked before allocating the
 * net: afterwards the parameter count is known to be backed by file bytes. */
static soma_status check_tensors(const soma_st_file *f, const soma_spec *spec,
                                 const char *name, soma_error *err)
{
    soma_status s = check_names(f, spec, name, err);
    if (s != SOMA_OK)
        return s;
    char tn[NAME_SIZE];
    size_t fan_in = (size_t)spec->n_inputs;
    for (int l = 0; l < spec->n_layers; l++) {
        size_t units = (size_t)spec->layers[l].units;
        snprintf(tn, sizeof tn, "layers.%d.weight", l);
        if ((s = check_shape(f, tn, 2, units, fan_in, name, err)) != SOMA_OK)
            return s;
        snprintf(tn, sizeof tn, "layers.%d.bias", l);
        if (spec->layers[l].bias &&
            (s = check_shape(f, tn, 1, units, 0, name, err)) != SOMA_OK)
            return s;
        fan_in = units;
    }
    const soma_st_tensor *mean = soma_st_find(f, "standardize.mean");
    const soma_st_tensor *std = soma_st_find(f, "standardize.std");
    if (!mean != !std)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s' is present without '%s' (both or "
                         "neither)",
                         name, mean ? "standardize.mean" : "standardize.std",
                         mean ? "standardize.std" : "standardize.mean");
    if (mean) {
        size_t d = (size_t)spec->n_inputs;
        if ((s = check_shape(f, "standardize.mean", 1, d, 0, name, err)) ||
            (s = check_shape(f, "standardize.std", 1, d, 0, name, err)))
            return s;
    }
    return SOMA_OK;
}

static const char *need_meta(const soma_st_file *f, const char *key,
                             const char *name, soma_error *err)
{
    const char *v = soma_st_meta(f, key);
    if (!v)
        soma_fail(err, SOMA_ERR_FORMAT, "%s: metadata has no '%s'", name, key);
    return v;
}

/* Parses the architecture from the metadata into spec (layers is
 * [SOMA_MAX_LAYERS]) and checks it the way soma_net_new does. */
static soma_status read_spec(const soma_st_file *f, const char *name,
                             soma_spec *spec, soma_layer_spec *layers,
                             soma_error *err)
{
    char cb[72];
    if (!f->has_meta)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: no __metadata__: not a soma model file", name);
    const char *format = need_meta(f, "format", name, err);
    if (!format)
        return SOMA_ERR_FORMAT;
    if (strcmp(format, "soma") != 0)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: format is '%s', not 'soma': not a soma model file",
                         name, soma_st_clip(format, cb));
    const char *version = need_meta(f, "soma.format_version", name, err);
    if (!version)
        return SOMA_ERR_FORMAT;
    if (strcmp(version, FORMAT_VERSION) != 0 &&
        strcmp(version, FORMAT_VERSION_PREP) != 0)
        return soma_fail(err, SOMA_ERR_UNSUPPORTED,
                         "%s: soma.format_version '%s' is not supported (this "
                         "build reads versions %s and %s)",
                         name, soma_st_clip(version, cb), FORMAT_VERSION,
                         FORMAT_VERSION_PREP);
    const char *inputs = need_meta(f, "soma.inputs", name, err);
    if (!inputs)
        return SOMA_ERR_FORMAT;
    long n_inputs = parse_decimal(inputs, SOMA_MAX_UNITS);
    if (n_inputs < 1)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: soma.inputs must be a decimal integer in 1..%d, "
                         "not '%s'",
                         name, SOMA_MAX_UNITS, soma_st_clip(inputs, cb));
    const char *ltext = need_meta(f, "soma.layers", name, err);
    if (!ltext)
        return SOMA_ERR_FORMAT;
    int n_layers = 0;
    soma_status s = parse_layers(ltext, name, layers, &n_layers, err);
    if (s != SOMA_OK)
        return s;
    const char *loss = need_meta(f, "soma.loss", name, err);
    if (!loss)
        return SOMA_ERR_FORMAT;
    int loss_id = soma_loss_parse(loss);
    if (loss_id < 0)
        return soma_fail(err, SOMA_ERR_FORMAT, "%s: soma.loss: unknown loss '%s'",
                         name, soma_st_clip(loss, cb));
    spec->n_inputs = (int)n_inputs;
    spec->n_layers = n_layers;
    spec->layers = layers;
    spec->loss = (soma_loss)loss_id;
    soma_error inner;
    if (soma_spec_check(spec, &inner) != SOMA_OK)
        return soma_fail(err, SOMA_ERR_FORMAT, "%s: %s", name, inner.message);
    return SOMA_OK;
}

/* Copies the user metadata: every key but "format" and "soma.*" (unknown
 * "soma.*" keys are ignored, see docs/model-format.md). */
static soma_status read_user_meta(const soma_st_file *f, soma_net *net,
                                  const char *name, soma_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_meta; i++) {
        const char *k = f->meta_keys[i];
        if (strcmp(k, "format") == 0 || strncmp(k, "soma.", 5) == 0)
            continue;
        if (!*k)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: a metadata key is empty", name);
        n++;
    }
    if (n == 0)
        return SOMA_OK;
    if (n > INT_MAX)
        return soma_fail(err, SOMA_ERR_FORMAT, "%s: too many metadata entries",
                         name);
    /* keys are unique (the parser rejects duplicates), so they go in
     * directly: soma_net_set_meta would make this quadratic */
    net->meta_keys = soma_alloc_zero(n, sizeof *net->meta_keys);
    net->meta_values = soma_alloc_zero(n, sizeof *net->meta_values);
    if (!net->meta_keys || !net->meta_values)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
    net->n_meta = (int)n;
    size_t j = 0;
    for (size_t i = 0; i < f->n_meta; i++) {
        const char *k = f->meta_keys[i];
        if (strcmp(k, "format") == 0 || strncmp(k, "soma.", 5) == 0)
            continue;
        net->meta_keys[j] = soma_strdup(k);
        net->meta_values[j] = soma_strdup(f->meta_values[i]);
        if (!net->meta_keys[j] || !net->meta_values[j])
            return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
        j++;
    }
    return SOMA_OK;
}

/* Fills a new net from the checked file. */
static soma_status fill_net(const soma_st_file *f, soma_net *net,
                            const char *name, soma_error *err)
{
    char tn[NAME_SIZE];
    soma_status s;
    for (int l = 0; l < net->n_layers; l++) {
        snprintf(tn, sizeof tn, "layers.%d.weight", l);
        s = read_finite(soma_st_find(f, tn), net->params + net->w_off[l], name,
                        err);
        if (s != SOMA_OK)
            return s;
        if (net->layers[l].bias) {
            snprintf(tn, sizeof tn, "layers.%d.bias", l);
            s = read_finite(soma_st_find(f, tn), net->params + net->b_off[l],
                            name, err);
            if (s != SOMA_OK)
                return s;
        }
    }
    const soma_st_tensor *mean = soma_st_find(f, "standardize.mean");
    const soma_st_tensor *std = soma_st_find(f, "standardize.std");
    if (mean) {
        size_t d = (size_t)net->n_inputs;
        net->mean = soma_alloc_array(d, sizeof(float));
        net->std = soma_alloc_array(d, sizeof(float));
        if (!net->mean || !net->std)
            return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
        if ((s = read_finite(mean, net->mean, name, err)) != SOMA_OK ||
            (s = read_finite(std, net->std, name, err)) != SOMA_OK)
            return s;
        for (size_t j = 0; j < d; j++)
            if (!(net->std[j] > 0.0f))
                return soma_fail(err, SOMA_ERR_DATA,
                                 "%s: tensor 'standardize.std': element %zu is "
                                 "%g, it must be > 0",
                                 name, j, (double)net->std[j]);
    }
    const char *classes = soma_st_meta(f, "soma.classes");
    if (classes && (s = parse_strings(classes, "soma.classes", name,
                                      &net->classes, &net->n_classes, err)))
        return s;
    const char *features = soma_st_meta(f, "soma.features");
    if (features) {
        if ((s = parse_strings(features, "soma.features", name, &net->features,
                               &net->n_features, err)))
            return s;
        if (net->n_features != 0 && net->n_features != net->n_inputs)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: soma.features has %d names but the model has "
                             "%d inputs",
                             name, net->n_features, net->n_inputs);
    }
    /* version 1 knows no preprocessing: the key is ignored there, like
     * any unknown soma.* key */
    const char *prep = soma_st_meta(f, "soma.preprocess");
    const char *version = soma_st_meta(f, "soma.format_version");
    if (prep && version && strcmp(version, FORMAT_VERSION_PREP) == 0) {
        net->preprocess = soma_prep_from_json(prep, name, err);
        if (!net->preprocess)
            return err ? err->code : SOMA_ERR_FORMAT;
        const soma_prep *pp = net->preprocess;
        int outputs = net->layers[net->n_layers - 1].units;
        if (pp->n_inputs != net->n_inputs)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: soma.preprocess gives %d inputs but the model "
                             "has %d",
                             name, pp->n_inputs, net->n_inputs);
        /* what reads the outputs trusts these counts */
        if (pp->task == SOMA_TASK_REGRESS && pp->n_targets != outputs)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: soma.preprocess has %d targets but the model "
                             "has %d outputs",
                             name, pp->n_targets, outputs);
        if (pp->task == SOMA_TASK_CLASSIFY &&
            (pp->n_classes != net->n_classes ||
             !(pp->n_classes == outputs || (pp->n_classes == 2 && outputs == 1))))
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: soma.preprocess has %d classes but the model "
                             "has %d outputs and %d class labels",
                             name, pp->n_classes, outputs, net->n_classes);
        for (int c = 0; pp->task == SOMA_TASK_CLASSIFY && c < pp->n_classes; c++)
            if (strcmp(pp->classes[c], net->classes[c]) != 0) {
                char a[72], b[72];
                return soma_fail(err, SOMA_ERR_FORMAT,
                                 "%s: soma.preprocess has class '%s' where "
                                 "soma.classes has '%s'",
                                 name, soma_st_clip(pp->classes[c], a),
                                 soma_st_clip(net->classes[c], b));
            }
    }
    return read_user_meta(f, net, name, err);
}

soma_net *soma_model_from_st(const soma_st_file *f, const char *name,
                             soma_error *err)
{
    if (!f) {
        soma_fail(err, SOMA_ERR_ARG, "no file given");
        return NULL;
    }
    if (!name)
        name = "(buffer)";
    soma_layer_spec layers[SOMA_MAX_LAYERS];
    soma_spec spec;
    if (read_spec(f, name, &spec, layers, err) != SOMA_OK ||
        check_tensors(f, &spec, name, err) != SOMA_OK)
        return NULL;
    soma_error inner;
    soma_net *net = soma_net_new(&spec, &inner);
    if (!net) {
        soma_fail(err, inner.code, "%s: %s", name, inner.message);
        return NULL;
    }
    if (fill_net(f, net, name, err) != SOMA_OK) {
        soma_net_free(net);
        return NULL;
    }
    return net;
}

soma_net *soma_net_load_buffer(const void *data, size_t size, const char *name,
                               soma_error *err)
{
    if (!name)
        name = "(buffer)";
    soma_st_file *f = NULL;
    if (soma_st_parse(data, size, name, &f, err) != SOMA_OK)
        return NULL;
    soma_net *net = soma_model_from_st(f, name, err);
    soma_st_free(f);
    return net;
}

soma_net *soma_net_load(const char *path, soma_error *err)
{
    if (!path) {
        soma_fail(err, SOMA_ERR_ARG, "no path given");
        return NULL;
    }
    unsigned char *data = NULL;
    size_t size = 0;
    if (soma_st_read_file(path, &data, &size, err) != SOMA_OK)
        return NULL;
    soma_net *net = soma_net_load_buffer(data, size, path, err);
    soma_free(data);
    return net;
}
