/*
 * test_model.c - model files: bit-exact round trips and identical bytes on
 * re-save, the byte layout of a tiny file, atomic saving, every validation
 * rule of docs/model-format.md on crafted files, allocation failures, and
 * a fuzz pass over truncated and mutated files.
 *
 * `test_model --write-fixture DIR` instead writes DIR/model.safetensors,
 * DIR/inputs.bin and DIR/outputs.bin for tests/py_model_readback.py.
 */
#include "harness.h"
#include "io/safetensors.h" /* and internal.h */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* ---- helpers ------------------------------------------------------------ */

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            if (!buf)
                break;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *size = n;
    return buf;
}

static int write_all(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Counts the entries of a directory whose names contain sub. */
static int count_entries(const char *dir, const char *sub)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, sub))
            n++;
    closedir(d);
    return n;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char sub[1024];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static uint64_t test_rng_state = 88172645463325252ull;

static uint64_t test_rand(void)
{
    uint64_t x = test_rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return test_rng_state = x;
}

/* A net with three layers (one without bias), standardisation, classes,
 * features and metadata, its weights from a seed. */
static soma_net *make_full_net(uint64_t seed)
{
    soma_layer_spec layers[3] = {{5, SOMA_ACT_TANH, 1},
                                 {4, SOMA_ACT_LEAKY_RELU, 0},
                                 {3, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {3, 3, layers, SOMA_LOSS_CE};
    soma_error e;
    soma_net *net = soma_net_new(&spec, &e);
    if (!net)
        return NULL;
    soma_net_init(net, SOMA_INIT_GLOROT, seed, &e);
    float *b = soma_net_bias(net, 2);
    b[0] = 0.25f, b[1] = -1e-30f, b[2] = 3.0e30f;
    float mean[3] = {1.5f, -2.0f, 1e-7f}, std[3] = {0.5f, 3.0f, 1e6f};
    const char *classes[3] = {"setosa", "versi\"color\"", "vir\xc3\xa9ginica \\ /"};
    const char *features[3] = {"sepal length", "sepal,width", "\xe2\x88\x9a"};
    soma_net_set_standardize(net, mean, std, &e);
    soma_net_set_classes(net, 3, classes, &e);
    soma_net_set_features(net, 3, features, &e);
    soma_net_set_meta(net, "target", "species", &e);
    soma_net_set_meta(net, "train.epochs", "100", &e);
    soma_net_set_meta(net, "note", "line1\nline2\t\"quoted\" \xf0\x9f\x98\x80", &e);
    soma_net_set_meta(net, "empty", "", &e);
    return net;
}

static soma_net *make_tiny_net(void)
{
    soma_layer_spec layer = {1, SOMA_ACT_SIGMOID, 1};
    soma_spec spec = {2, 1, &layer, SOMA_LOSS_BCE};
    soma_net *net = soma_net_new(&spec, NULL);
    if (net) {
        float *w = soma_net_weight(net, 0);
        w[0] = 1.0f;
        w[1] = -2.0f;
        soma_net_bias(net, 0)[0] = 0.5f;
    }
    return net;
}

static int same_floats(const float *a, const float *b, size_t n)
{
    if (!a || !b)
        return a == b;
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static int same_string(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Every field of two nets is equal, parameters bit for bit. */
static void check_same_net(const soma_net *a, const soma_net *b)
{
    CHECK(a && b);
    if (!a || !b)
        return;
    CHECK(soma_net_n_inputs(a) == soma_net_n_inputs(b));
    CHECK(soma_net_n_layers(a) == soma_net_n_layers(b));
    CHECK(soma_net_loss(a) == soma_net_loss(b));
    for (int i = 0; i < soma_net_n_layers(a) && i < soma_net_n_layers(b); i++) {
        soma_layer_spec x = soma_net_layer(a, i), y = soma_net_layer(b, i);
        CHECK(x.units == y.units && x.activation == y.activation &&
              x.bias == y.bias);
    }
    CHECK(soma_net_n_params(a) == soma_net_n_params(b));
    if (soma_net_n_params(a) == soma_net_n_params(b))
        CHECK(same_floats(soma_net_params_const(a), soma_net_params_const(b),
                          soma_net_n_params(a)));
    CHECK(same_floats(soma_net_mean(a), soma_net_mean(b),
                      (size_t)soma_net_n_inputs(a)));
    CHECK(same_floats(soma_net_std(a), soma_net_std(b),
                      (size_t)soma_net_n_inputs(a)));
    CHECK(soma_net_n_classes(a) == soma_net_n_classes(b));
    for (int i = 0; i < soma_net_n_classes(a); i++)
        CHECK(same_string(soma_net_class(a, i), soma_net_class(b, i)));
    CHECK(soma_net_n_features(a) == soma_net_n_features(b));
    for (int i = 0; i < soma_net_n_features(a); i++)
        CHECK(same_string(soma_net_feature(a, i), soma_net_feature(b, i)));
    CHECK(soma_net_n_meta(a) == soma_net_n_meta(b));
    for (int i = 0; i < soma_net_n_meta(a); i++) {
        const char *k = soma_net_meta_key(a, i);
        CHECK(same_string(k, soma_net_meta_key(b, i)));
        CHECK(same_string(soma_net_get_meta(a, k), soma_net_get_meta(b, k)));
    }
}

/* Saves, loads, compares, re-saves and compares the bytes. */
static void round_trip(const soma_net *net, const char *name)
{
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/%s-1.safetensors", tmpdir, name);
    snprintf(p2, sizeof p2, "%s/%s-2.safetensors", tmpdir, name);
    soma_error e;
    CHECK_ERR(soma_net_save(net, p1, &e), SOMA_OK, "", &e);
    soma_net *back = soma_net_load(p1, &e);
    if (!back) {
        printf("  load: %s\n", e.message);
        CHECK(back != NULL);
        return;
    }
    check_same_net(net, back);
    CHECK_ERR(soma_net_save(back, p2, &e), SOMA_OK, "", &e);
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = read_all(p1, &n1), *b2 = read_all(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
    /* and from a buffer: the same net */
    soma_net *again = soma_net_load_buffer(b1, n1, "buf", &e);
    check_same_net(net, again);
    soma_net_free(again);
    free(b1);
    free(b2);
    soma_net_free(back);
}

/* ---- round trips and layout -------------------------------------------- */

static void test_round_trip_full(void)
{
    soma_net *net = make_full_net(7);
    CHECK(net != NULL);
    if (!net)
        return;
    round_trip(net, "full");
    soma_net_free(net);
}

static void test_round_trip_minimal(void)
{
    soma_layer_spec layers[2] = {{1, SOMA_ACT_RELU, 0}, {1, SOMA_ACT_LINEAR, 0}};
    soma_spec spec = {1, 2, layers, SOMA_LOSS_MSE};
    soma_net *net = soma_net_new(&spec, NULL);
    CHECK(net != NULL);
    if (!net)
        return;
    soma_net_params(net)[0] = -0.0f;
    soma_net_params(net)[1] = 1.17549435e-38f / 4; /* a subnormal */
    round_trip(net, "minimal");
    soma_net_free(net);
}

static void test_round_trip_every_activation(void)
{
    soma_layer_spec layers[6] = {
        {7, SOMA_ACT_SIGMOID, 1}, {6, SOMA_ACT_TANH, 0},
        {5, SOMA_ACT_RELU, 1},    {5, SOMA_ACT_LEAKY_RELU, 1},
        {4, SOMA_ACT_LINEAR, 0},  {1, SOMA_ACT_SIGMOID, 1}};
    soma_spec spec = {4, 6, layers, SOMA_LOSS_BCE};
    soma_net *net = soma_net_new(&spec, NULL);
    CHECK(net != NULL);
    if (!net)
        return;
    soma_net_init(net, SOMA_INIT_HE, 99, NULL);
    const char *cls[2] = {"no", "yes"};
    soma_net_set_classes(net, 2, cls, NULL);
    round_trip(net, "every");
    soma_net_free(net);
}

static void test_tiny_layout(void)
{
    soma_net *net = make_tiny_net();
    char path[512];
    tmp_path(path, sizeof path, "tiny.safetensors");
    soma_error e;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_OK, "", &e);
    size_t size = 0;
    unsigned char *b = read_all(path, &size);
    const char *json =
        "{\"__metadata__\":{\"format\":\"soma\",\"soma.format_version\":\"1\","
        "\"soma.inputs\":\"2\",\"soma.layers\":\"[{\\\"units\\\":1,"
        "\\\"activation\\\":\\\"sigmoid\\\",\\\"bias\\\":true}]\","
        "\"soma.loss\":\"bce\"},"
        "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],"
        "\"data_offsets\":[0,8]},"
        "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[8,12]}}";
    size_t len = strlen(json), n = (len + 7) / 8 * 8;
    static const unsigned char data[12] = {0x00, 0x00, 0x80, 0x3f,  /* 1.0  */
                                           0x00, 0x00, 0x00, 0xc0,  /* -2.0 */
                                           0x00, 0x00, 0x00, 0x3f}; /* 0.5  */
    CHECK(b != NULL && size == 8 + n + 12);
    if (b && size == 8 + n + 12) {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--)
            hl = hl << 8 | b[i];
        CHECK(hl == n);
        CHECK((8 + hl) % 8 == 0);
        CHECK(memcmp(b + 8, json, len) == 0);
        if (memcmp(b + 8, json, len) != 0)
            printf("  header: %.*s\n", (int)len, (const char *)b + 8);
        for (size_t i = len; i < n; i++)
            CHECK(b[8 + i] == ' ');
        CHECK(memcmp(b + 8 + n, data, 12) == 0);
    }
    free(b);
    soma_net_free(net);
}

/* A version-1 file kept in the repository: it still loads, and saving it
 * again gives the same bytes, so the format cannot drift unnoticed. Made
 * by saving make_full_net(7); run from the repository root. */
static void test_stored_v1_file(void)
{
    const char *path = "tests/data/models/v1-full.safetensors";
    size_t size = 0;
    unsigned char *stored = read_all(path, &size);
    CHECK(stored != NULL);
    if (!stored) {
        printf("  cannot read %s (run from the repository root)\n", path);
        return;
    }
    soma_error e;
    soma_net *net = soma_net_load(path, &e);
    if (net) {
        /* values make_full_net sets by hand (the weights come from the
         * initialiser, and the byte comparison below covers them) */
        const float *b = soma_net_bias(net, 2);
        CHECK(b[0] == 0.25f && b[1] == -1e-30f && b[2] == 3.0e30f);
        CHECK(soma_net_mean(net)[2] == 1e-7f && soma_net_std(net)[2] == 1e6f);
        CHECK(soma_net_n_inputs(net) == 3 && soma_net_n_layers(net) == 3);
        CHECK(soma_net_layer(net, 1).bias == 0);
        CHECK(same_string(soma_net_class(net, 1), "versi\"color\""));
        CHECK(same_string(soma_net_feature(net, 2), "\xe2\x88\x9a"));
        CHECK(same_string(soma_net_meta_key(net, 0), "target"));
        char out[512];
        tmp_path(out, sizeof out, "v1-again.safetensors");
        CHECK_ERR(soma_net_save(net, out, &e), SOMA_OK, "", &e);
        size_t n2 = 0;
        unsigned char *again = read_all(out, &n2);
        CHECK(again && n2 == size && memcmp(again, stored, size) == 0);
        free(again);
    } else {
        printf("  %s\n", e.message);
    }
    soma_net_free(net);
    free(stored);
}

/* The generic writer and reader: several dims, scalars, empty tensors. */
static void test_generic_layer(void)
{
    float a[24], s = 42.0f;
    for (int i = 0; i < 24; i++)
        a[i] = (float)i - 3.5f;
    soma_st_entry t[4] = {{"a", 3, {2, 3, 4}, a},
                          {"scalar", 0, {0}, &s},
                          {"empty", 2, {0, 5}, NULL},
                          {"four", 4, {1, 1, 2, 1}, a + 20}};
    soma_st_pair m[2] = {{"k", "v"}, {"z", "y"}};
    char path[512];
    tmp_path(path, sizeof path, "generic.safetensors");
    soma_error e;
    CHECK_ERR(soma_st_write(path, t, 4, m, 2, &e), SOMA_OK, "", &e);
    size_t size = 0;
    unsigned char *b = read_all(path, &size);
    soma_st_file *f = NULL;
    CHECK_ERR(soma_st_parse(b, size, "g", &f, &e), SOMA_OK, "", &e);
    if (f) {
        CHECK(f->n_tensors == 4 && f->n_meta == 2 && f->has_meta);
        CHECK((8 + f->header_size) % 8 == 0);
        CHECK(f->data_size == (24 + 1 + 2) * 4);
        CHECK(same_string(soma_st_meta(f, "z"), "y"));
        CHECK(soma_st_meta(f, "nope") == NULL);
        const soma_st_tensor *x = soma_st_find(f, "a");
        CHECK(x && x->ndim == 3 && x->shape[2] == 4 && x->count == 24);
        float back[24];
        if (x) {
            soma_st_read_f32(x, back);
            CHECK(memcmp(back, a, sizeof a) == 0);
        }
        x = soma_st_find(f, "scalar");
        CHECK(x && x->ndim == 0 && x->count == 1);
        x = soma_st_find(f, "empty");
        CHECK(x && x->count == 0 && x->begin == x->end);
        CHECK(soma_st_find(f, "missing") == NULL);
        /* a model loader refuses this file */
        soma_net *net = soma_net_load_buffer(b, size, "g", &e);
        CHECK(net == NULL && e.code == SOMA_ERR_FORMAT);
        soma_st_free(f);
    }
    soma_st_free(NULL);
    free(b);
    /* bad writer arguments */
    soma_st_entry dup[2] = {{"a", 1, {1}, a}, {"a", 1, {1}, a}};
    CHECK_ERR(soma_st_write(path, dup, 2, NULL, 0, &e), SOMA_ERR_ARG,
              "duplicate", &e);
    soma_st_entry reserved = {"__metadata__", 1, {1}, a};
    CHECK_ERR(soma_st_write(path, &reserved, 1, NULL, 0, &e), SOMA_ERR_ARG,
              "reserved", &e);
    soma_st_entry deep = {"d", 5, {1}, a};
    CHECK_ERR(soma_st_write(path, &deep, 1, NULL, 0, &e), SOMA_ERR_ARG,
              "dimensions", &e);
    soma_st_entry huge = {"h", 2, {SIZE_MAX / 2, 4}, a};
    CHECK_ERR(soma_st_write(path, &huge, 1, NULL, 0, &e), SOMA_ERR_ARG,
              "too large", &e);
    soma_st_pair bad_utf8 = {"k", "\xff"};
    CHECK_ERR(soma_st_write(path, t, 1, &bad_utf8, 1, &e), SOMA_ERR_ARG,
              "UTF-8", &e);
    soma_st_pair dup_meta[2] = {{"k", "1"}, {"k", "2"}};
    CHECK_ERR(soma_st_write(path, t, 1, dup_meta, 2, &e), SOMA_ERR_ARG,
              "duplicate metadata key", &e);
    CHECK(soma_utf8_valid("plain \xc3\xa9 \xe2\x88\x9a \xf0\x9f\x98\x80"));
    CHECK(!soma_utf8_valid("\xc0\xaf"));         /* overlong */
    CHECK(!soma_utf8_valid("\xed\xa0\x80"));     /* surrogate */
    CHECK(!soma_utf8_valid("\xf4\x90\x80\x80")); /* past U+10FFFF */
    CHECK(!soma_utf8_valid("\xe2\x88"));         /* cut short */
}

/* ---- saving ------------------------------------------------------------- */

static void test_save_replaces(void)
{
    char path[512];
    tmp_path(path, sizeof path, "replace.safetensors");
    CHECK(write_all(path, "old contents", 12));
    soma_net *net = make_full_net(3);
    soma_error e;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_OK, "", &e);
    soma_net *back = soma_net_load(path, &e);
    check_same_net(net, back);
    soma_net_free(back);
    /* a second save over a model file replaces it too */
    soma_net *tiny = make_tiny_net();
    CHECK_ERR(soma_net_save(tiny, path, &e), SOMA_OK, "", &e);
    back = soma_net_load(path, &e);
    check_same_net(tiny, back);
    soma_net_free(back);
    CHECK(count_entries(tmpdir, ".tmp.") == 0);
    soma_net_free(tiny);
    soma_net_free(net);
}

static void test_save_failures(void)
{
    soma_net *net = make_tiny_net();
    soma_error e;
    char path[512];
    /* Tests run as root, and root writes into a chmod 0555 directory all
     * the same, so a missing directory stands in for an unwritable one. */
    tmp_path(path, sizeof path, "no/such/dir/model.safetensors");
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_ERR_IO,
              "No such file or directory", &e);
    CHECK(strstr(e.message, path) != NULL);
    CHECK_ERR(soma_net_save(NULL, path, &e), SOMA_ERR_ARG, "", &e);
    CHECK_ERR(soma_net_save(net, NULL, &e), SOMA_ERR_ARG, "", &e);

    /* The target is a directory: the rename fails, the directory stays
     * and the temporary file is removed. */
    tmp_path(path, sizeof path, "target-is-dir");
    CHECK(mkdir(path, 0755) == 0);
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_ERR_IO, "cannot rename", &e);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(count_entries(tmpdir, ".tmp.") == 0);

    /* A write that fails half way (the file size limit, which binds root
     * too) leaves an existing target as it was. */
    tmp_path(path, sizeof path, "intact.safetensors");
    CHECK(write_all(path, "precious", 8));
    soma_layer_spec layer = {1000, SOMA_ACT_LINEAR, 1};
    soma_spec spec = {100, 1, &layer, SOMA_LOSS_MSE};
    soma_net *big = soma_net_new(&spec, NULL);
    struct rlimit old, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small = old;
    small.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    soma_status s = soma_net_save(big, path, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK_ERR(s, SOMA_ERR_IO, "cannot write", &e);
    CHECK(strstr(e.message, "File too large") != NULL);
    size_t size = 0;
    unsigned char *b = read_all(path, &size);
    CHECK(b && size == 8 && memcmp(b, "precious", 8) == 0);
    free(b);
    CHECK(count_entries(tmpdir, ".tmp.") == 0);
    soma_net_free(big);

    /* NaN weights are refused: the file could not be loaded again */
    soma_net_weight(net, 0)[1] = NAN;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_ERR_DATA, "not finite", &e);
    soma_net_free(net);
}

static void test_load_io_errors(void)
{
    soma_error e;
    char path[512];
    tmp_path(path, sizeof path, "does-not-exist.safetensors");
    CHECK(soma_net_load(path, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_IO, "cannot open: No such file", &e);
    CHECK(strstr(e.message, path) != NULL);
    CHECK(soma_net_load(tmpdir, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_IO, "is a directory", &e);
    CHECK(soma_net_load(NULL, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "", &e);
    tmp_path(path, sizeof path, "empty.safetensors");
    CHECK(write_all(path, "", 0));
    CHECK(soma_net_load(path, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_FORMAT, "too short", &e);
}

/* ---- crafted files ------------------------------------------------------ */

/* Test JSON is written with ' for " and ` for \" (a quote inside one of
 * the metadata strings that hold JSON). */
static char *unquote(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *out = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') {
            out[k++] = '"';
        } else if (s[i] == '`') {
            out[k++] = '\\';
            out[k++] = '"';
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

/* 8-byte length + header + data, in a buffer of exactly that size. */
static unsigned char *craft(const char *header, size_t hlen,
                            const void *data, size_t dlen, size_t *size)
{
    *size = 8 + hlen + dlen;
    unsigned char *b = malloc(*size);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, hlen);
    if (dlen)
        memcpy(b + 8 + hlen, data, dlen);
    return b;
}

static void put_f32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

/* Data for the base file: weight [1, 2] then bias [1], plus room. */
static unsigned char base_data[64];

static void init_base_data(void)
{
    static const float v[16] = {0.5f,   0.25f, 1.0f, 2.0f,  3.0f, 4.0f,
                                -0.75f, -1.0f, 0.0f, -0.25f, 5.0f, 6.0f,
                                7.0f,   8.0f,  9.0f, 10.0f};
    for (int i = 0; i < 16; i++)
        put_f32(base_data + 4 * i, v[i]);
}

#define META_OK                                                              \
    "'format':'soma','soma.format_version':'1','soma.inputs':'2',"           \
    "'soma.layers':'[{`units`:1,`activation`:`sigmoid`,`bias`:true}]',"      \
    "'soma.loss':'bce'"
#define T_WEIGHT "'layers.0.weight':{'dtype':'F32','shape':[1,2],'data_offsets':[0,8]}"
#define T_BIAS "'layers.0.bias':{'dtype':'F32','shape':[1],'data_offsets':[8,12]}"
#define T_OK T_WEIGHT "," T_BIAS
#define FILE_OK "{'__metadata__':{" META_OK "}," T_OK "}"

/* Loads header (test quoting) + dlen bytes of data, returns the net. */
static soma_net *load_crafted(const char *header, size_t dlen, soma_error *e)
{
    char *h = unquote(header);
    size_t size;
    unsigned char *b = craft(h, strlen(h), base_data, dlen, &size);
    soma_net *net = soma_net_load_buffer(b, size, "crafted.safetensors", e);
    free(b);
    free(h);
    return net;
}

static void expect_bad_at(int line, const char *header, size_t dlen,
                          soma_status status, const char *sub)
{
    soma_error e;
    soma_clear_error(&e);
    soma_net *net = load_crafted(header, dlen, &e);
    int before = harness_current_failures;
    CHECK(net == NULL);
    CHECK_ERR(e.code, status, sub, &e);
    CHECK(strncmp(e.message, "crafted.safetensors: ", 21) == 0);
    if (harness_current_failures > before)
        printf("  (from line %d: %s)\n", line, header);
    else if (getenv("SOMA_TEST_VERBOSE"))
        printf("  %s\n", e.message);
    soma_net_free(net);
}
#define EXPECT_BAD(header, dlen, status, sub) \
    expect_bad_at(__LINE__, header, dlen, status, sub)

/* The header with the metadata META_OK plus extra, and the tensors. */
#define WITH_META(extra, tensors) "{'__metadata__':{" META_OK extra "}," tensors "}"
/* The header with soma.layers replaced. */
#define WITH_LAYERS(layers, loss, tensors)                                      \
    "{'__metadata__':{'format':'soma','soma.format_version':'1',"               \
    "'soma.inputs':'2','soma.layers':'" layers "','soma.loss':'" loss "'},"     \
    tensors "}"

static void test_crafted_valid(void)
{
    soma_error e;
    soma_net *net = load_crafted(FILE_OK, 12, &e);
    CHECK(net != NULL);
    if (!net) {
        printf("  %s\n", e.message);
        return;
    }
    CHECK(soma_net_n_inputs(net) == 2 && soma_net_n_outputs(net) == 1);
    CHECK(soma_net_weight(net, 0)[1] == 0.25f && soma_net_bias(net, 0)[0] == 1.0f);
    soma_net_free(net);

    /* the tensors in another order, no padding (unaligned data start) */
    net = load_crafted("{" T_BIAS ",'__metadata__':{" META_OK "}," T_WEIGHT "}", 12, &e);
    CHECK(net != NULL);
    soma_net_free(net);

    /* unknown soma.* keys are ignored; others are kept as user metadata */
    net = load_crafted(WITH_META(",'soma.future':'x','user':'u','format2':'f'",
                                 T_OK),
                       12, &e);
    CHECK(net != NULL);
    if (net) {
        CHECK(soma_net_n_meta(net) == 2);
        CHECK(same_string(soma_net_meta_key(net, 0), "user"));
        CHECK(same_string(soma_net_get_meta(net, "format2"), "f"));
        CHECK(soma_net_get_meta(net, "soma.future") == NULL);
        soma_net_free(net);
    }

    /* train.* tensors (checkpoint state) are ignored, empty ones too */
    net = load_crafted(WITH_META("", T_OK ",'train.step':{'dtype':'F32','shape':"
                                         "[1],'data_offsets':[12,16]},'train.e':{"
                                         "'dtype':'F32','shape':[0,3],"
                                         "'data_offsets':[16,16]}"),
                       16, &e);
    CHECK(net != NULL);
    soma_net_free(net);

    /* empty classes and features arrays mean none */
    net = load_crafted(WITH_META(",'soma.classes':'[]','soma.features':'[]'", T_OK),
                       12, &e);
    CHECK(net != NULL && soma_net_n_classes(net) == 0 &&
          soma_net_n_features(net) == 0);
    soma_net_free(net);

    /* a layer without bias, classes, features, standardisation */
    net = load_crafted(
        "{'__metadata__':{'format':'soma','soma.format_version':'1',"
        "'soma.inputs':'2','soma.layers':'[{`units`:1,`activation`:`linear`,"
        "`bias`:false}]','soma.loss':'mse','soma.classes':'[`a`,`b`]',"
        "'soma.features':'[`x`,`y`]'},"
        "'layers.0.weight':{'dtype':'F32','shape':[1,2],'data_offsets':[0,8]},"
        "'standardize.mean':{'dtype':'F32','shape':[2],'data_offsets':[8,16]},"
        "'standardize.std':{'dtype':'F32','shape':[2],'data_offsets':[16,24]}}",
        24, &e);
    CHECK(net != NULL);
    if (net) {
        CHECK(soma_net_n_classes(net) == 2 && same_string(soma_net_class(net, 1), "b"));
        CHECK(soma_net_n_features(net) == 2 && same_string(soma_net_feature(net, 0), "x"));
        CHECK(soma_net_mean(net) && soma_net_mean(net)[0] == 1.0f);
        CHECK(soma_net_std(net) && soma_net_std(net)[1] == 4.0f);
        soma_net_free(net);
    } else {
        printf("  %s\n", e.message);
    }
}

static void test_crafted_container(void)
{
    soma_error e;
    /* shorter than the length field */
    unsigned char short_file[5] = {1, 0, 0, 0, 0};
    CHECK(soma_net_load_buffer(short_file, 5, "crafted.safetensors", &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_FORMAT, "5 bytes, too short", &e);
    CHECK(soma_net_load_buffer(NULL, 0, "crafted.safetensors", &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_FORMAT, "too short", &e);

    /* header length over the limit, and past the end of the file */
    unsigned char hdr[16] = {0};
    uint64_t big[2] = {100000001ull, 0xffffffffffffffffull};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 8; i++)
            hdr[i] = (unsigned char)(big[k] >> (8 * i));
        CHECK(soma_net_load_buffer(hdr, 16, "crafted.safetensors", &e) == NULL);
        CHECK_ERR(e.code, SOMA_ERR_FORMAT, "over the limit of 100000000", &e);
    }
    hdr[0] = 9;
    for (int i = 1; i < 8; i++)
        hdr[i] = 0;
    CHECK(soma_net_load_buffer(hdr, 16, "crafted.safetensors", &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_FORMAT, "header length 9 runs past the end", &e);

    /* JSON syntax, with jansson's position */
    EXPECT_BAD("{'__metadata__':{\n'format':}}", 0, SOMA_ERR_FORMAT,
               "header JSON: ");
    EXPECT_BAD("{'__metadata__':{\n'format':}}", 0, SOMA_ERR_FORMAT,
               "at line 2, column");
    EXPECT_BAD("", 0, SOMA_ERR_FORMAT, "header JSON");
    EXPECT_BAD("{'a\xff':1}", 0, SOMA_ERR_FORMAT, "header JSON");
    {
        size_t size;
        unsigned char *b = craft("{}\0 ", 4, NULL, 0, &size);
        CHECK(soma_net_load_buffer(b, size, "crafted.safetensors", &e) == NULL);
        CHECK_ERR(e.code, SOMA_ERR_FORMAT, "header JSON", &e);
        free(b);
    }
    EXPECT_BAD("{'a\\u0000b':1}", 0, SOMA_ERR_FORMAT, "header JSON");
    EXPECT_BAD("{'x':1} {}", 0, SOMA_ERR_FORMAT, "header JSON");
    EXPECT_BAD("{'n':99999999999999999999999}", 0, SOMA_ERR_FORMAT, "header JSON");
    EXPECT_BAD("[1,2]", 0, SOMA_ERR_FORMAT, "header is not a JSON object");

    /* tensor entries */
    EXPECT_BAD("{'layers.0.weight':5}", 0, SOMA_ERR_FORMAT,
               "tensor 'layers.0.weight': entry is not a JSON object");
    EXPECT_BAD("{'w':{'shape':[1],'data_offsets':[0,4]}}", 4, SOMA_ERR_FORMAT,
               "tensor 'w': no dtype");
    EXPECT_BAD("{'w':{'dtype':32,'shape':[1],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_FORMAT, "dtype is not a string");
    EXPECT_BAD("{'w':{'dtype':'F16','shape':[2],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_UNSUPPORTED, "dtype F16 is not supported");
    EXPECT_BAD("{'w':{'dtype':'BF16','shape':[2],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_UNSUPPORTED, "dtype BF16");
    EXPECT_BAD("{'w':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_FORMAT, "unknown dtype 'f32'");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4],'x':1}}", 4,
               SOMA_ERR_FORMAT, "tensor 'w': unknown field 'x'");
    EXPECT_BAD("{'w':{'dtype':'F32','data_offsets':[0,4]}}", 4, SOMA_ERR_FORMAT,
               "shape is missing or not an array");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':4,'data_offsets':[0,4]}}", 4,
               SOMA_ERR_FORMAT, "shape is missing or not an array");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[-1],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_FORMAT, "shape[0] is not a non-negative integer");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1,1.0],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_FORMAT, "shape[1] is not a non-negative integer");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':['1'],'data_offsets':[0,4]}}", 4,
               SOMA_ERR_FORMAT, "shape[0] is not a non-negative integer");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1,1,1,1,1,1,1,1,1],"
               "'data_offsets':[0,4]}}",
               4, SOMA_ERR_FORMAT, "shape has 9 dimensions, at most 8");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':4}}", 4,
               SOMA_ERR_FORMAT, "data_offsets is not two non-negative integers");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1]}}", 4, SOMA_ERR_FORMAT,
               "data_offsets is not two");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0]}}", 4,
               SOMA_ERR_FORMAT, "data_offsets is not two");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}", 4,
               SOMA_ERR_FORMAT, "data_offsets is not two");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[-4,0]}}", 4,
               SOMA_ERR_FORMAT, "data_offsets is not two");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':['0',4]}}", 4,
               SOMA_ERR_FORMAT, "data_offsets is not two");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[4,0]}}", 4,
               SOMA_ERR_FORMAT, "data_offsets begin 4 is after end 0");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 4,
               SOMA_ERR_FORMAT,
               "data_offsets end 8 is past the end of the data buffer (4 bytes)");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[4294967296,4294967296,16],"
               "'data_offsets':[0,4]}}",
               4, SOMA_ERR_FORMAT, "shape [4294967296, 4294967296, 16] has too "
                                   "many elements");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[4611686018427387904],"
               "'data_offsets':[0,4]}}",
               4, SOMA_ERR_FORMAT, "too many elements");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1,3],'data_offsets':[0,8]}}", 8,
               SOMA_ERR_FORMAT,
               "data_offsets [0, 8] hold 8 bytes but shape [1, 3] of F32 needs 12");

    /* the data buffer: overlaps, holes, trailing bytes */
    EXPECT_BAD("{" T_WEIGHT ",'layers.0.bias':{'dtype':'F32','shape':[1],"
               "'data_offsets':[4,8]}}",
               12, SOMA_ERR_FORMAT,
               "tensors 'layers.0.weight' and 'layers.0.bias' overlap");
    EXPECT_BAD("{" T_WEIGHT ",'b':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}",
               8, SOMA_ERR_FORMAT, "overlap");
    EXPECT_BAD("{" T_WEIGHT ",'e':{'dtype':'F32','shape':[0],'data_offsets':[4,4]}}",
               8, SOMA_ERR_FORMAT, "overlap");
    EXPECT_BAD("{" T_WEIGHT ",'layers.0.bias':{'dtype':'F32','shape':[1],"
               "'data_offsets':[12,16]}}",
               16, SOMA_ERR_FORMAT,
               "bytes 8..12 of the data buffer belong to no tensor");
    EXPECT_BAD("{'w':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8,
               SOMA_ERR_FORMAT, "bytes 0..4 of the data buffer belong to no tensor");
    EXPECT_BAD(FILE_OK, 16, SOMA_ERR_FORMAT,
               "bytes 12..16 of the data buffer belong to no tensor (a hole at "
               "the end");
    EXPECT_BAD("{}", 4, SOMA_ERR_FORMAT, "bytes 0..4");

    /* duplicate names */
    EXPECT_BAD("{" T_WEIGHT "," T_WEIGHT "}", 8, SOMA_ERR_FORMAT, "duplicate");
    EXPECT_BAD("{'__metadata__':{'format':'soma','format':'soma'}," T_OK "}", 12,
               SOMA_ERR_FORMAT, "duplicate");

    /* metadata container */
    EXPECT_BAD("{" T_OK "}", 12, SOMA_ERR_FORMAT,
               "no __metadata__: not a soma model file");
    EXPECT_BAD("{'__metadata__':['format','soma']," T_OK "}", 12, SOMA_ERR_FORMAT,
               "__metadata__ is not a JSON object");
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.inputs':2}," T_OK "}", 12,
               SOMA_ERR_FORMAT, "__metadata__ entry 'soma.inputs' is not a string");
    EXPECT_BAD("{'__metadata__':{'format':null}," T_OK "}", 12, SOMA_ERR_FORMAT,
               "__metadata__ entry 'format' is not a string");
}

static void test_crafted_model(void)
{
    /* format and version */
    EXPECT_BAD("{'__metadata__':{'soma.format_version':'1'}," T_OK "}", 12,
               SOMA_ERR_FORMAT, "metadata has no 'format'");
    EXPECT_BAD("{'__metadata__':{'format':'pt'}," T_OK "}", 12, SOMA_ERR_FORMAT,
               "format is 'pt', not 'soma'");
    EXPECT_BAD("{'__metadata__':{'format':'soma'}," T_OK "}", 12, SOMA_ERR_FORMAT,
               "metadata has no 'soma.format_version'");
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.format_version':'3'}," T_OK
               "}",
               12, SOMA_ERR_UNSUPPORTED,
               "soma.format_version '3' is not supported (this build reads "
               "versions 1 and 2)");
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.format_version':'1.0'},"
               T_OK "}",
               12, SOMA_ERR_UNSUPPORTED, "'1.0' is not supported");

    /* inputs */
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.format_version':'1'},"
               T_OK "}",
               12, SOMA_ERR_FORMAT, "metadata has no 'soma.inputs'");
    static const char *const bad_inputs[] = {"", "0", "-2", "+2", "02", " 2",
                                             "2 ", "2.0", "0x2", "16777217",
                                             "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_inputs / sizeof *bad_inputs; i++) {
        char h[1024];
        snprintf(h, sizeof h,
                 "{'__metadata__':{'format':'soma','soma.format_version':'1',"
                 "'soma.inputs':'%s'}," T_OK "}",
                 bad_inputs[i]);
        EXPECT_BAD(h, 12, SOMA_ERR_FORMAT,
                   "soma.inputs must be a decimal integer in 1..16777216");
    }

    /* layers */
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.format_version':'1',"
               "'soma.inputs':'2'}," T_OK "}",
               12, SOMA_ERR_FORMAT, "metadata has no 'soma.layers'");
    EXPECT_BAD(WITH_LAYERS("[{", "bce", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.layers is not valid JSON");
    EXPECT_BAD(WITH_LAYERS("{}", "bce", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.layers is not a JSON array");
    EXPECT_BAD(WITH_LAYERS("[]", "bce", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.layers has 0 layers, it must have 1..256");
    EXPECT_BAD(WITH_LAYERS("[5]", "bce", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.layers[0] is not a JSON object");
    EXPECT_BAD(WITH_LAYERS("[{`activation`:`sigmoid`,`bias`:true}]", "bce", T_OK),
               12, SOMA_ERR_FORMAT, "soma.layers[0].units is missing");
    EXPECT_BAD(WITH_LAYERS("[{`units`:0,`activation`:`sigmoid`,`bias`:true}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT, "units is missing or not an integer in 1..");
    EXPECT_BAD(WITH_LAYERS("[{`units`:16777217,`activation`:`sigmoid`,"
                           "`bias`:true}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT, "units is missing or not an integer");
    EXPECT_BAD(WITH_LAYERS("[{`units`:`1`,`activation`:`sigmoid`,`bias`:true}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT, "units is missing or not an integer");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1.5,`activation`:`sigmoid`,`bias`:true}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT, "units is missing or not an integer");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`bias`:true}]", "bce", T_OK), 12,
               SOMA_ERR_FORMAT, "soma.layers[0].activation is missing or not a string");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:3,`bias`:true}]", "bce", T_OK),
               12, SOMA_ERR_FORMAT, "activation is missing or not a string");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`gelu`,`bias`:true}]", "bce",
                           T_OK),
               12, SOMA_ERR_FORMAT, "soma.layers[0].activation: unknown activation 'gelu'");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`sigmoid`}]", "bce", T_OK), 12,
               SOMA_ERR_FORMAT, "soma.layers[0].bias is missing or not true or false");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`sigmoid`,`bias`:1}]", "bce",
                           T_OK),
               12, SOMA_ERR_FORMAT, "bias is missing or not true or false");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`sigmoid`,`bias`:true,"
                           "`dropout`:0.5}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT, "soma.layers[0]: unknown field 'dropout'");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`units`:1,`activation`:`sigmoid`,"
                           "`bias`:true}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT, "soma.layers is not valid JSON: duplicate");
    {
        /* 257 layers */
        static char layers[257 * 48 + 16], h[sizeof layers + 512];
        size_t at = 0;
        layers[at++] = '[';
        for (int i = 0; i < 257; i++)
            at += (size_t)sprintf(layers + at, "%s{`units`:1,`activation`:"
                                               "`linear`,`bias`:true}",
                                  i ? "," : "");
        layers[at++] = ']';
        layers[at] = '\0';
        snprintf(h, sizeof h, WITH_LAYERS("%s", "mse", T_OK), layers);
        EXPECT_BAD(h, 12, SOMA_ERR_FORMAT, "soma.layers has 257 layers");
    }

    /* loss, and the spec check of soma_net_new */
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.format_version':'1',"
               "'soma.inputs':'2','soma.layers':'[{`units`:1,`activation`:"
               "`sigmoid`,`bias`:true}]'}," T_OK "}",
               12, SOMA_ERR_FORMAT, "metadata has no 'soma.loss'");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`sigmoid`,`bias`:true}]",
                           "hinge", T_OK),
               12, SOMA_ERR_FORMAT, "soma.loss: unknown loss 'hinge'");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`sigmoid`,`bias`:true}]", "ce",
                           T_OK),
               12, SOMA_ERR_FORMAT,
               "crafted.safetensors: loss ce needs a softmax output layer");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`relu`,`bias`:true}]", "bce",
                           T_OK),
               12, SOMA_ERR_FORMAT, "loss bce needs a sigmoid output layer, not relu");

    /* tensors against the architecture */
    EXPECT_BAD(WITH_META("", "'layers.0.bias':{'dtype':'F32','shape':[1],"
                             "'data_offsets':[0,4]}"),
               4, SOMA_ERR_FORMAT, "tensor 'layers.0.weight' is missing");
    EXPECT_BAD(WITH_META("", "'layers.0.weight':{'dtype':'F32','shape':[1,2],"
                             "'data_offsets':[0,8]}"),
               8, SOMA_ERR_FORMAT, "tensor 'layers.0.bias' is missing");
    EXPECT_BAD(WITH_META("", "'layers.0.weight':{'dtype':'F32','shape':[2,1],"
                             "'data_offsets':[0,8]}," T_BIAS),
               12, SOMA_ERR_FORMAT,
               "tensor 'layers.0.weight' must have shape [1, 2] to match the "
               "architecture, not [2, 1]");
    EXPECT_BAD(WITH_META("", "'layers.0.weight':{'dtype':'F32','shape':[2],"
                             "'data_offsets':[0,8]}," T_BIAS),
               12, SOMA_ERR_FORMAT, "tensor 'layers.0.weight' must have shape [1, 2]");
    EXPECT_BAD(WITH_META("", T_WEIGHT ",'layers.0.bias':{'dtype':'F32','shape':[1,1],"
                                  "'data_offsets':[8,12]}"),
               12, SOMA_ERR_FORMAT, "tensor 'layers.0.bias' must have shape [1] to match "
                                   "the architecture, not [1, 1]");
    EXPECT_BAD(WITH_LAYERS("[{`units`:1,`activation`:`sigmoid`,`bias`:false}]",
                           "bce", T_OK),
               12, SOMA_ERR_FORMAT,
               "tensor 'layers.0.bias' is present but layer 0 is declared without "
               "bias");
    EXPECT_BAD(WITH_META("", T_OK ",'foo':{'dtype':'F32','shape':[1],"
                                  "'data_offsets':[12,16]}"),
               16, SOMA_ERR_FORMAT, "unknown tensor 'foo'");
    EXPECT_BAD(WITH_META("", T_OK ",'layers.1.weight':{'dtype':'F32','shape':[1],"
                                  "'data_offsets':[12,16]}"),
               16, SOMA_ERR_FORMAT,
               "tensor 'layers.1.weight' is for layer 1, but soma.layers declares only 1 "
               "layers");
    EXPECT_BAD(WITH_META("", T_OK ",'layers.00.weight':{'dtype':'F32','shape':[1],"
                                  "'data_offsets':[12,16]}"),
               16, SOMA_ERR_FORMAT, "unknown tensor 'layers.00.weight'");
    EXPECT_BAD(WITH_META("", T_OK ",'layers.0.weights':{'dtype':'F32','shape':[1],"
                                  "'data_offsets':[12,16]}"),
               16, SOMA_ERR_FORMAT, "unknown tensor 'layers.0.weights'");
    EXPECT_BAD(WITH_META("", T_OK ",'training.x':{'dtype':'F32','shape':[1],"
                                  "'data_offsets':[12,16]}"),
               16, SOMA_ERR_FORMAT, "unknown tensor 'training.x'");
    /* a huge declared architecture is refused before anything is
     * allocated for it (under ASan a 2^50-byte request would abort) */
    EXPECT_BAD("{'__metadata__':{'format':'soma','soma.format_version':'1',"
               "'soma.inputs':'16777216','soma.layers':'[{`units`:16777216,"
               "`activation`:`linear`,`bias`:true}]','soma.loss':'mse'}," T_OK "}",
               12, SOMA_ERR_FORMAT,
               "tensor 'layers.0.weight' must have shape [16777216, 16777216]");

    /* classes and features */
    EXPECT_BAD(WITH_META(",'soma.classes':'[1,2]'", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.classes[0] is not a string");
    EXPECT_BAD(WITH_META(",'soma.classes':'{`a`:1}'", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.classes is not a JSON array of strings");
    EXPECT_BAD(WITH_META(",'soma.classes':'[`a`'", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.classes is not valid JSON");
    EXPECT_BAD(WITH_META(",'soma.classes':'[`a\\\\u0000`]'", T_OK), 12,
               SOMA_ERR_FORMAT, "soma.classes is not valid JSON");
    EXPECT_BAD(WITH_META(",'soma.features':'[`a`]'", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.features has 1 names but the model has 2 inputs");
    EXPECT_BAD(WITH_META(",'soma.features':'[`a`,null]'", T_OK), 12,
               SOMA_ERR_FORMAT, "soma.features[1] is not a string");
    EXPECT_BAD(WITH_META(",'soma.features':'`a`'", T_OK), 12, SOMA_ERR_FORMAT,
               "soma.features is not valid JSON");
    EXPECT_BAD(WITH_META(",'':'x'", T_OK), 12, SOMA_ERR_FORMAT,
               "a metadata key is empty");

    /* standardisation */
    EXPECT_BAD(WITH_META("", T_OK ",'standardize.mean':{'dtype':'F32','shape':[2],"
                                  "'data_offsets':[12,20]}"),
               20, SOMA_ERR_FORMAT,
               "tensor 'standardize.mean' is present without 'standardize.std'");
    EXPECT_BAD(WITH_META("", T_OK ",'standardize.std':{'dtype':'F32','shape':[2],"
                                  "'data_offsets':[12,20]}"),
               20, SOMA_ERR_FORMAT,
               "tensor 'standardize.std' is present without 'standardize.mean'");
    EXPECT_BAD(WITH_META("", T_OK ",'standardize.mean':{'dtype':'F32','shape':[3],"
                                  "'data_offsets':[12,24]},'standardize.std':{"
                                  "'dtype':'F32','shape':[2],'data_offsets':[24,32]}"),
               32, SOMA_ERR_FORMAT, "tensor 'standardize.mean' must have shape [2]");
    EXPECT_BAD(WITH_META("", T_OK ",'standardize.mean':{'dtype':'F32','shape':[2],"
                                  "'data_offsets':[12,20]},'standardize.std':{"
                                  "'dtype':'F32','shape':[1,2],'data_offsets':[20,28]}"),
               28, SOMA_ERR_FORMAT, "tensor 'standardize.std' must have shape [2]");
    /* base_data: bytes 20..28 hold 4, -0.75 and bytes 32..40 hold 0, -0.25 */
    EXPECT_BAD(WITH_META("", T_OK ",'standardize.mean':{'dtype':'F32','shape':[2],"
                                  "'data_offsets':[12,20]},'standardize.std':{"
                                  "'dtype':'F32','shape':[2],'data_offsets':[20,28]}"),
               28, SOMA_ERR_DATA,
               "tensor 'standardize.std': element 1 is -0.75, it must be > 0");
    EXPECT_BAD(WITH_META("", T_OK ",'standardize.mean':{'dtype':'F32','shape':[2],"
                                  "'data_offsets':[12,20]},'train.pad':{'dtype':"
                                  "'F32','shape':[3],'data_offsets':[20,32]},"
                                  "'standardize.std':{'dtype':'F32','shape':[2],"
                                  "'data_offsets':[32,40]}"),
               40, SOMA_ERR_DATA, "tensor 'standardize.std': element 0 is 0, it must");
}

/* NaN and infinity, patched into the data of a valid file. */
static void test_crafted_nonfinite(void)
{
    static const struct {
        int slot;        /* float index in the data */
        float value;
        const char *sub;
    } cases[] = {
        {0, NAN, "tensor 'layers.0.weight': element 0 is not finite (nan)"},
        {1, INFINITY, "tensor 'layers.0.weight': element 1 is not finite (inf)"},
        {2, -INFINITY, "tensor 'layers.0.bias': element 0 is not finite (-inf)"},
        {3, NAN, "tensor 'standardize.mean': element 0 is not finite"},
        {6, INFINITY, "tensor 'standardize.std': element 1 is not finite"},
    };
    char *h = unquote(WITH_META("", T_OK ",'standardize.mean':{'dtype':'F32',"
                                         "'shape':[2],'data_offsets':[12,20]},"
                                         "'standardize.std':{'dtype':'F32',"
                                         "'shape':[2],'data_offsets':[20,28]}"));
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        unsigned char data[28];
        for (int i = 0; i < 7; i++)
            put_f32(data + 4 * i, 1.0f + (float)i);
        put_f32(data + 4 * cases[c].slot, cases[c].value);
        size_t size;
        unsigned char *b = craft(h, strlen(h), data, 28, &size);
        soma_error e;
        soma_net *net = soma_net_load_buffer(b, size, "crafted.safetensors", &e);
        CHECK(net == NULL);
        CHECK_ERR(e.code, SOMA_ERR_DATA, cases[c].sub, &e);
        soma_net_free(net);
        free(b);
    }
    free(h);
}

/* ---- allocation failures ------------------------------------------------ */

static void test_alloc_failures(void)
{
    soma_net *net = make_full_net(11);
    char path[512];
    tmp_path(path, sizeof path, "nomem.safetensors");
    soma_error e;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_OK, "", &e);
    size_t size = 0;
    unsigned char *file = read_all(path, &size);
    int saved = 0, loaded = 0, read = 0;
    for (unsigned long k = 1; k < 10000 && !(saved && loaded && read); k++) {
        if (!saved) {
            soma_debug_fail_after(k);
            soma_status s = soma_net_save(net, path, &e);
            soma_debug_fail_after(0);
            CHECK(s == SOMA_OK || s == SOMA_ERR_NOMEM);
            saved = s == SOMA_OK;
        }
        if (!loaded) {
            soma_debug_fail_after(k);
            soma_net *back = soma_net_load_buffer(file, size, "nomem", &e);
            soma_debug_fail_after(0);
            CHECK(back != NULL || e.code == SOMA_ERR_NOMEM);
            if (back) {
                check_same_net(net, back);
                loaded = 1;
            }
            soma_net_free(back);
        }
        if (!read) {
            soma_debug_fail_after(k);
            soma_net *back = soma_net_load(path, &e);
            soma_debug_fail_after(0);
            CHECK(back != NULL || e.code == SOMA_ERR_NOMEM);
            read = back != NULL;
            soma_net_free(back);
        }
    }
    CHECK(saved && loaded && read);
    CHECK(count_entries(tmpdir, ".tmp.") == 0);
    free(file);
    soma_net_free(net);
}

/* ---- fuzz --------------------------------------------------------------- */

static void test_fuzz(void)
{
    soma_net *net = make_full_net(5);
    char path[512];
    tmp_path(path, sizeof path, "fuzz.safetensors");
    soma_error e;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_OK, "", &e);
    soma_net_free(net);
    size_t size = 0;
    unsigned char *file = read_all(path, &size);
    CHECK(file && size > 100);
    if (!file)
        return;
    size_t header_end = 8;
    for (int i = 7; i >= 0; i--)
        header_end += (size_t)file[i] << (8 * i);
    /* every truncated prefix fails, with a message naming the file */
    for (size_t n = 0; n < size; n++) {
        unsigned char *b = malloc(n ? n : 1);
        memcpy(b, file, n);
        soma_clear_error(&e);
        soma_net *x = soma_net_load_buffer(b, n, "prefix", &e);
        CHECK(x == NULL && e.code != SOMA_OK && strncmp(e.message, "prefix: ", 8) == 0);
        soma_net_free(x);
        free(b);
    }
    /* seeded random mutations: never a crash; loads or fails with a
     * message (a mutated weight may still be a valid file) */
    static const unsigned char interesting[] = {'"', '{', '}', '[', ']', ',',
                                                ':', '0', '9', '-', ' ', 0,
                                                0x7f, 0x80, 0xff, '\\'};
    int ok = 0, failed = 0;
    test_rng_state = 12345;
    for (int it = 0; it < 4000; it++) {
        unsigned char *b = malloc(size);
        memcpy(b, file, size);
        int edits = 1 + (int)(test_rand() % 4);
        for (int k = 0; k < edits; k++) {
            size_t pos = (test_rand() % 4 != 0)
                             ? test_rand() % header_end
                             : test_rand() % size;
            b[pos] = (test_rand() % 2) ? interesting[test_rand() % sizeof interesting]
                                       : (unsigned char)test_rand();
        }
        soma_clear_error(&e);
        soma_net *x = soma_net_load_buffer(b, size, "mutant", &e);
        if (x) {
            ok++;
        } else {
            failed++;
            CHECK(e.code != SOMA_OK && strncmp(e.message, "mutant: ", 8) == 0);
        }
        soma_net_free(x);
        free(b);
    }
    CHECK(failed > 1000);
    printf("  fuzz: %d mutants loaded, %d refused\n", ok, failed);
    free(file);
}

/* ---- fixture for tests/py_model_readback.py ---------------------------- */

static int write_f32_file(const char *path, const float *x, size_t n)
{
    unsigned char *b = malloc(4 * n + 1);
    for (size_t i = 0; i < n; i++)
        put_f32(b + 4 * i, x[i]);
    int ok = write_all(path, b, 4 * n);
    free(b);
    return ok;
}

/* A model using every activation, with standardisation, classes, features
 * and metadata; inputs [16, 4] and the outputs of soma_predict [16, 3]. */
static int write_fixture(const char *dir)
{
    soma_layer_spec layers[6] = {
        {7, SOMA_ACT_SIGMOID, 1}, {6, SOMA_ACT_TANH, 0},
        {5, SOMA_ACT_RELU, 1},    {5, SOMA_ACT_LEAKY_RELU, 1},
        {4, SOMA_ACT_LINEAR, 1},  {3, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {4, 6, layers, SOMA_LOSS_CE};
    soma_error e;
    soma_net *net = soma_net_new(&spec, &e);
    if (!net) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    soma_net_init(net, SOMA_INIT_HE, 2024, &e);
    /* non-zero biases, so a bias mix-up shows */
    for (int l = 0; l < 6; l++) {
        float *b = soma_net_bias(net, l);
        for (int j = 0; b && j < layers[l].units; j++)
            b[j] = 0.1f * (float)(j + 1) * (l % 2 ? -1.0f : 1.0f);
    }
    enum { N = 16, D = 4, K = 3 };
    float x[N * D], out[N * K], mean[D], std[D];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((i * 7 + j * 3) % 11) * 0.75f - 2.0f +
                           (float)j * 10.0f;
    soma_standardize_fit(x, N, D, mean, std, &e);
    const char *classes[K] = {"setosa", "versicolor", "virginica"};
    const char *features[D] = {"sepal_length", "sepal_width", "petal_length",
                               "petal_width"};
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = 1;
    if (soma_net_set_standardize(net, mean, std, &e) != SOMA_OK ||
        soma_net_set_classes(net, K, classes, &e) != SOMA_OK ||
        soma_net_set_features(net, D, features, &e) != SOMA_OK ||
        soma_net_set_meta(net, "target", "species", &e) != SOMA_OK ||
        soma_predict(net, x, N, out, &e) != SOMA_OK ||
        soma_net_save(net, path, &e) != SOMA_OK) {
        fprintf(stderr, "%s\n", e.message);
        goto done;
    }
    snprintf(path, sizeof path, "%s/inputs.bin", dir);
    if (!write_f32_file(path, x, N * D))
        goto done;
    snprintf(path, sizeof path, "%s/outputs.bin", dir);
    if (!write_f32_file(path, out, N * K))
        goto done;
    rc = 0;
done:
    soma_net_free(net);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-fixture") == 0)
        return write_fixture(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: test_model [--write-fixture DIR]\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/soma-test-model-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    init_base_data();
    RUN(test_round_trip_full);
    RUN(test_round_trip_minimal);
    RUN(test_round_trip_every_activation);
    RUN(test_tiny_layout);
    RUN(test_stored_v1_file);
    RUN(test_generic_layer);
    RUN(test_save_replaces);
    RUN(test_save_failures);
    RUN(test_load_io_errors);
    RUN(test_crafted_valid);
    RUN(test_crafted_container);
    RUN(test_crafted_model);
    RUN(test_crafted_nonfinite);
    RUN(test_alloc_failures);
    RUN(test_fuzz);
    remove_tree(tmpdir);
    return harness_summary();
}
