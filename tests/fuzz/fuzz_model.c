/*
 * fuzz_model.c - libFuzzer target for the model-file loader
 * (soma_net_load_buffer: the safetensors container and the soma layer on
 * top of it).
 *
 * The input is a whole file, or in the field mode (see field_file) one
 * metadata text to put in an otherwise valid file. Checks on every input: no crash, leak or
 * undefined behaviour, at most MODEL_MEM_FACTOR * size + MODEL_MEM_SLACK
 * bytes live at once during the load, and a one-line message on failure.
 * When the file loads:
 *   - the net's invariants (sizes, finite parameters, std > 0, names);
 *   - soma_predict on one row of zeros succeeds, a sigmoid or softmax
 *     output that is not NaN lies in [0, 1], and predict allocates
 *     at most PREDICT_MEM_FACTOR times the net's parameter bytes;
 *   - soma_net_clone gives an equal net;
 *   - soma_net_save to a per-process temporary file, soma_net_load of it:
 *     an equal net; saving that again gives the same bytes (the file
 *     format's "load and save again gives the same bytes").
 * When the input holds "soma.train.version" it is also read as a training
 * checkpoint (src/checkpoint.c, which takes a path): soma_checkpoint_read,
 * and when that succeeds a trainer for soma.train.rows rows (at most
 * CKPT_MAX_ROWS), soma_trainer_restore, one epoch on rows of zeros and
 * soma_trainer_save.
 */
#include "fuzz_common.h"

#include "io/safetensors.h" /* soma.h, internal.h, the container parser */

#include <jansson.h>
#include <math.h>
#include <unistd.h>

#define MODEL_MEM_FACTOR 64
#define MODEL_MEM_SLACK (64 * 1024)
#define PREDICT_MEM_FACTOR 16
#define PREDICT_MEM_SLACK (1024 * 1024)
#define CKPT_MAX_ROWS 256

static char path_a[256], path_b[256], path_c[256];

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    FUZZ_ASSERT(f);
    FUZZ_ASSERT(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    FUZZ_ASSERT(n >= 0 && fseek(f, 0, SEEK_SET) == 0);
    unsigned char *b = malloc((size_t)n + 1);
    FUZZ_ASSERT(b && fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

static int same_floats(const float *a, const float *b, size_t n)
{
    return (!a && !b) || (a && b && memcmp(a, b, n * sizeof *a) == 0);
}

static int same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void check_equal(const soma_net *a, const soma_net *b)
{
    FUZZ_ASSERT(soma_net_n_inputs(a) == soma_net_n_inputs(b));
    FUZZ_ASSERT(soma_net_n_layers(a) == soma_net_n_layers(b));
    FUZZ_ASSERT(soma_net_loss(a) == soma_net_loss(b));
    for (int l = 0; l < soma_net_n_layers(a); l++) {
        soma_layer_spec x = soma_net_layer(a, l), y = soma_net_layer(b, l);
        FUZZ_ASSERT(x.units == y.units && x.activation == y.activation &&
                    !x.bias == !y.bias);
    }
    FUZZ_ASSERT(soma_net_n_params(a) == soma_net_n_params(b));
    FUZZ_ASSERT(same_floats(soma_net_params_const(a), soma_net_params_const(b),
                            soma_net_n_params(a)));
    size_t d = (size_t)soma_net_n_inputs(a);
    FUZZ_ASSERT(same_floats(soma_net_mean(a), soma_net_mean(b), d));
    FUZZ_ASSERT(same_floats(soma_net_std(a), soma_net_std(b), d));
    FUZZ_ASSERT(soma_net_n_classes(a) == soma_net_n_classes(b));
    for (int i = 0; i < soma_net_n_classes(a); i++)
        FUZZ_ASSERT(same_str(soma_net_class(a, i), soma_net_class(b, i)));
    FUZZ_ASSERT(soma_net_n_features(a) == soma_net_n_features(b));
    for (int i = 0; i < soma_net_n_features(a); i++)
        FUZZ_ASSERT(same_str(soma_net_feature(a, i), soma_net_feature(b, i)));
    FUZZ_ASSERT(soma_net_n_meta(a) == soma_net_n_meta(b));
    for (int i = 0; i < soma_net_n_meta(a); i++) {
        const char *k = soma_net_meta_key(a, i);
        FUZZ_ASSERT(same_str(k, soma_net_meta_key(b, i)));
        FUZZ_ASSERT(same_str(soma_net_get_meta(a, k), soma_net_get_meta(b, k)));
    }
}

static void check_net(const soma_net *net)
{
    int L = soma_net_n_layers(net), in = soma_net_n_inputs(net);
    FUZZ_ASSERT(in >= 1 && L >= 1 && L <= SOMA_MAX_LAYERS);
    size_t n = 0, fan_in = (size_t)in;
    for (int l = 0; l < L; l++) {
        soma_layer_spec s = soma_net_layer(net, l);
        FUZZ_ASSERT(s.units >= 1 && s.units <= SOMA_MAX_UNITS);
        FUZZ_ASSERT(soma_activation_name(s.activation) != NULL);
        n += (size_t)s.units * fan_in + (s.bias ? (size_t)s.units : 0);
        fan_in = (size_t)s.units;
    }
    FUZZ_ASSERT(n == soma_net_n_params(net));
    const float *p = soma_net_params_const(net);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(isfinite(p[i]));
    const float *mean = soma_net_mean(net), *std = soma_net_std(net);
    FUZZ_ASSERT(!mean == !std);
    for (int j = 0; mean && j < in; j++)
        FUZZ_ASSERT(isfinite(mean[j]) && isfinite(std[j]) && std[j] > 0.0f);
    FUZZ_ASSERT(soma_net_n_features(net) == 0 || soma_net_n_features(net) == in);
    for (int i = 0; i < soma_net_n_classes(net); i++)
        FUZZ_ASSERT(soma_net_class(net, i) != NULL);
    for (int i = 0; i < soma_net_n_meta(net); i++) {
        const char *k = soma_net_meta_key(net, i);
        FUZZ_ASSERT(k && *k && strcmp(k, "format") != 0 &&
                    strncmp(k, "soma.", 5) != 0);
        FUZZ_ASSERT(soma_net_get_meta(net, k) != NULL);
    }
}

static void check_predict(soma_net *net)
{
    size_t d = (size_t)soma_net_n_inputs(net);
    int k = soma_net_n_outputs(net);
    float *x = calloc(d, sizeof *x), *out = malloc((size_t)k * sizeof *out);
    FUZZ_ASSERT(x && out);
    soma_error err;
    fuzz_mem_begin();
    soma_status st = soma_predict(net, x, 1, out, &err);
    fuzz_mem_check("soma_predict of one row",
                   PREDICT_MEM_FACTOR * soma_net_n_params(net) * sizeof(float) +
                       PREDICT_MEM_SLACK,
                   soma_net_n_params(net) * sizeof(float));
    FUZZ_ASSERT(st == SOMA_OK);
    soma_activation act = soma_net_layer(net, soma_net_n_layers(net) - 1).activation;
    /* Finite weights can still overflow to infinity and then NaN (inf -
     * inf) in a later layer: predict promises no finite output, but a
     * probability that is a number must be one. */
    for (int j = 0; j < k; j++)
        if ((act == SOMA_ACT_SIGMOID || act == SOMA_ACT_SOFTMAX) && !isnan(out[j]))
            FUZZ_ASSERT(out[j] >= 0.0f && out[j] <= 1.0f);
    free(x);
    free(out);
}

static void round_trip(const soma_net *net)
{
    soma_error err;
    soma_net *c = soma_net_clone(net, &err);
    FUZZ_ASSERT(c);
    check_equal(net, c);
    soma_net_free(c);

    soma_status st = soma_net_save(net, path_a, &err);
    if (st != SOMA_OK)
        fuzz_fail("save failed: %s", err.message);
    soma_net *back = soma_net_load(path_a, &err);
    if (!back)
        fuzz_fail("reload failed: %s", err.message);
    check_equal(net, back);
    FUZZ_ASSERT(soma_net_save(back, path_b, &err) == SOMA_OK);
    size_t na, nb;
    unsigned char *a = read_file(path_a, &na), *b = read_file(path_b, &nb);
    FUZZ_ASSERT(na == nb && memcmp(a, b, na) == 0);
    free(a);
    free(b);
    soma_net_free(back);
    unlink(path_a);
    unlink(path_b);
}

static int contains(const uint8_t *data, size_t size, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= size; i++)
        if (data[i] == (uint8_t)s[0] && memcmp(data + i, s, n) == 0)
            return 1;
    return 0;
}

/* The checkpoint's row count, or 0 when absent, bad or over the cap. */
static size_t checkpoint_rows(const uint8_t *data, size_t size)
{
    soma_st_file *f = NULL;
    size_t rows = 0;
    if (soma_st_parse(data, size, "fuzz", &f, NULL) == SOMA_OK) {
        const char *v = soma_st_meta(f, "soma.train.rows");
        char *end;
        unsigned long long n = v ? strtoull(v, &end, 10) : 0;
        if (v && *v && !*end && n <= CKPT_MAX_ROWS)
            rows = (size_t)n;
    }
    soma_st_free(f);
    return rows;
}

static void check_checkpoint(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path_c, "wb");
    FUZZ_ASSERT(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
    soma_net *net = NULL;
    soma_train_config cfg;
    soma_error err;
    soma_status st = soma_checkpoint_read(path_c, &net, &cfg, &err);
    if (st != SOMA_OK) {
        FUZZ_ASSERT(!net && err.message[0] && !strchr(err.message, '\n'));
        unlink(path_c);
        return;
    }
    check_net(net);
    size_t rows = checkpoint_rows(data, size);
    cfg.threads = 1;
    soma_trainer *t = rows ? soma_trainer_new(net, &cfg, rows, &err) : NULL;
    if (t) {
        st = soma_trainer_restore(t, path_c, &err);
        FUZZ_ASSERT(st == SOMA_OK || (err.message[0] && !strchr(err.message, '\n')));
        if (st == SOMA_OK && !soma_trainer_finished(t)) {
            size_t d = (size_t)soma_net_n_inputs(net);
            float *x = calloc(rows * d, sizeof *x), *y = calloc(rows, sizeof *y);
            FUZZ_ASSERT(x && y);
            int stopped = 0;
            /* zeros are valid targets for every loss (class 0 for ce) */
            st = soma_trainer_epoch(t, x, y, rows, 1, NULL, &stopped, &err);
            FUZZ_ASSERT(st == SOMA_OK || st == SOMA_ERR_NUMERIC);
            free(x);
            free(y);
        }
        if (st == SOMA_OK)
            FUZZ_ASSERT(soma_trainer_save(t, path_a, &err) == SOMA_OK);
        soma_trainer_free(t);
    }
    soma_net_free(net);
    unlink(path_a);
    unlink(path_c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_mem_init();
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path_a, sizeof path_a, "%s/soma-fuzz-model-%ld-a.safetensors", dir,
             (long)getpid());
    snprintf(path_b, sizeof path_b, "%s/soma-fuzz-model-%ld-b.safetensors", dir,
             (long)getpid());
    snprintf(path_c, sizeof path_c, "%s/soma-fuzz-model-%ld-c.safetensors", dir,
             (long)getpid());
    return 0;
}

/* The field mode: "#field", a byte choosing a metadata key, then a text
 * that becomes that key's value in an otherwise valid model file (the
 * header built and escaped here by jansson). Byte mutations of a whole
 * file rarely keep the JSON inside soma.layers, soma.classes and the like
 * well-formed (its quotes are escaped), so this mode fuzzes those texts
 * unescaped. No real file starts with "#field": as a header length it is
 * far over the limit. Returns the file to free(), or NULL. */
static uint8_t *field_file(const uint8_t *data, size_t size, size_t *out_size)
{
    static const char magic[] = "#field";
    static const char *const keys[] = {"soma.layers",   "soma.classes",
                                       "soma.features", "soma.inputs",
                                       "soma.loss",     "soma.format_version",
                                       "format",        "target"};
    const size_t m = sizeof magic - 1;
    if (size < m + 1 || memcmp(data, magic, m) != 0)
        return NULL;
    const char *key = keys[data[m] % (sizeof keys / sizeof *keys)];
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "format",
                             "soma", "soma.format_version", "1", "soma.inputs", "2",
                             "soma.layers",
                             "[{\"units\":2,\"activation\":\"softmax\",\"bias\":true}]",
                             "soma.loss", "ce", "soma.classes", "[\"a\",\"b\"]",
                             "soma.features", "[\"x\",\"y\"]", "target", "t");
    json_t *value = json_stringn((const char *)data + m + 1, size - m - 1);
    if (!meta || !value || json_object_set_new(meta, key, value) != 0) {
        json_decref(meta);
        return NULL; /* not UTF-8, or a NUL byte */
    }
    json_t *root = json_pack("{s:o, s:{s:s, s:[i,i], s:[i,i]}, s:{s:s, s:[i], s:[i,i]}}",
                             "__metadata__", meta, "layers.0.weight", "dtype", "F32",
                             "shape", 2, 2, "data_offsets", 0, 16, "layers.0.bias",
                             "dtype", "F32", "shape", 2, "data_offsets", 16, 24);
    char *header = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!header)
        return NULL;
    static const float params[6] = {1.0f, -1.0f, 0.5f, 2.0f, 0.0f, 0.25f};
    size_t n = strlen(header);
    uint8_t *file = malloc(8 + n + sizeof params);
    FUZZ_ASSERT(file);
    for (int i = 0; i < 8; i++)
        file[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(file + 8, header, n);
    memcpy(file + 8 + n, params, sizeof params); /* little-endian hosts */
    free(header);
    *out_size = 8 + n + sizeof params;
    return file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soma_error err;
    size_t built_size = 0;
    uint8_t *built = field_file(data, size, &built_size);
    if (built) {
        data = built;
        size = built_size;
    }
    fuzz_mem_begin();
    soma_net *net = soma_net_load_buffer(data, size, "fuzz.safetensors", &err);
    fuzz_mem_check("soma_net_load_buffer", MODEL_MEM_FACTOR * size + MODEL_MEM_SLACK,
                   size);
    if (contains(data, size, "soma.train.version"))
        check_checkpoint(data, size);
    if (!net) {
        FUZZ_ASSERT(err.code != SOMA_OK && err.message[0] != '\0');
        FUZZ_ASSERT(strchr(err.message, '\n') == NULL);
    } else {
        check_net(net);
        check_predict(net);
        round_trip(net);
        soma_net_free(net);
    }
    free(built);
    return 0;
}
