/*
 * test_alloc.c - allocation failure along every path a program takes: build
 * a net, train it (every optimizer, step by step, with validation and early
 * stopping, with threads), save, load, predict, evaluate, read CSV and IDX,
 * split, clone, checkpoint.
 *
 * For each call the sweep makes the k-th allocation fail, for k = 1, 2, ...
 * until the call makes fewer than k allocations and succeeds. Every failing
 * k must give SOMA_ERR_NOMEM with a one-line message, and leave the objects
 * passed in as they were and usable: the net still predicts the same and
 * trains again, an existing model file is intact and no temporary file is
 * left. Leaks are LeakSanitizer's job (the sanitizer build) or valgrind's
 * (make check-valgrind): every path frees what it built, failed or not.
 *
 * jansson, which parses and prints the model file's header, allocates with
 * malloc, not through soma's allocator (src/io/safetensors.c says why), so
 * its allocations are not failed here; tests/test_regress.c fails them too
 * (through json_set_alloc_funcs) for what soma must still guarantee then.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Far more than any path here makes: a sweep that reaches it is stuck. */
#define MAX_K 200000

static char tmpdir[256];

/* ---- the sweep ----------------------------------------------------------- */

/* One call under test: returns its status and fills err. */
typedef soma_status (*op_fn)(void *ctx, soma_error *err);
/* Run after each failed call: checks that the objects are as they were. */
typedef void (*after_fn)(void *ctx);

/* Calls op with the k-th allocation failing for k = 1, 2, ... and returns
 * how many allocations the successful call made. */
static unsigned long sweep(const char *what, op_fn op, after_fn after, void *ctx)
{
    for (unsigned long k = 1; k < MAX_K; k++) {
        soma_error err;
        memset(&err, 0, sizeof err);
        soma_debug_fail_after(k);
        soma_status st = op(ctx, &err);
        unsigned long count = soma_debug_alloc_count();
        soma_debug_fail_after(0);
        if (count < k) {
            /* no failure was injected: the call must work */
            if (st != SOMA_OK) {
                printf("  %s: fails without an injected failure (%d allocations): "
                       "%s\n", what, (int)count, err.message);
                harness_current_failures++;
            }
            printf("  %s: %lu allocations, each failed in turn\n", what, count);
            return count;
        }
        if (st != SOMA_ERR_NOMEM || err.code != st || err.message[0] == '\0' ||
            strchr(err.message, '\n')) {
            printf("  %s: allocation %lu failed: status %d (wanted %d, "
                   "SOMA_ERR_NOMEM), message '%s'\n",
                   what, k, (int)st, (int)SOMA_ERR_NOMEM, err.message);
            harness_current_failures++;
        }
        if (after)
            after(ctx);
        if (harness_current_failures > 20)
            return count; /* one bug, many k: enough said */
    }
    printf("  %s: still allocating after %d failures\n", what, MAX_K);
    harness_current_failures++;
    return 0;
}

/* ---- fixtures -------------------------------------------------------------- */

/* 12 rows, 2 features, 3 classes (ce targets are class indices). */
static const float X[24] = {0.1f, 0.2f, 0.9f, 0.8f, 0.5f, 0.1f, 0.2f, 0.3f,
                            0.8f, 0.9f, 0.4f, 0.0f, 0.0f, 0.3f, 1.0f, 0.7f,
                            0.6f, 0.2f, 0.1f, 0.1f, 0.9f, 1.0f, 0.5f, 0.0f};
static const float Y[12] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
#define N_ROWS 12

static const soma_layer_spec LAYERS[2] = {{5, SOMA_ACT_TANH, 1},
                                          {3, SOMA_ACT_SOFTMAX, 1}};
static const soma_spec SPEC = {2, 2, LAYERS, SOMA_LOSS_CE};
static const char *const CLASSES[3] = {"a", "b", "c"};
static const char *const FEATURES[2] = {"x1", "x2"};

/* A net with everything set, made with no failure injected. */
static soma_net *full_net(void)
{
    soma_net *net = soma_net_new(&SPEC, NULL);
    float mean[2] = {0.5f, 0.4f}, sd[2] = {0.3f, 0.35f};
    if (!net || soma_net_init(net, SOMA_INIT_GLOROT, 3, NULL) ||
        soma_net_set_standardize(net, mean, sd, NULL) ||
        soma_net_set_classes(net, 3, CLASSES, NULL) ||
        soma_net_set_features(net, 2, FEATURES, NULL) ||
        soma_net_set_meta(net, "target", "y", NULL) ||
        soma_net_set_meta(net, "note", "two\nlines", NULL) ||
        soma_net_set_threads(net, 1, NULL)) {
        printf("  cannot build the fixture net\n");
        exit(1);
    }
    return net;
}

static soma_train_config small_config(soma_optimizer o)
{
    soma_train_config c = soma_train_config_default();
    c.optimizer = o;
    c.learning_rate = 0.05;
    c.momentum = o == SOMA_OPT_SGD ? 0.5 : 0.0;
    c.batch_size = 5;
    c.epochs = 3;
    c.threads = 1;
    return c;
}

static int same_params(const soma_net *a, const soma_net *b)
{
    return soma_net_n_params(a) == soma_net_n_params(b) &&
           memcmp(soma_net_params_const(a), soma_net_params_const(b),
                  soma_net_n_params(a) * sizeof(float)) == 0;
}

/* The net predicts X exactly as ref does, and trains without error. */
static void check_usable(soma_net *net, const soma_net *ref)
{
    float a[N_ROWS * 3], b[N_ROWS * 3];
    soma_error err;
    CHECK_ERR(soma_predict(net, X, N_ROWS, a, &err), SOMA_OK, NULL, &err);
    soma_net *r = soma_net_clone(ref, NULL);
    CHECK(r != NULL);
    if (!r)
        return;
    soma_net_set_threads(r, 1, NULL);
    CHECK(soma_predict(r, X, N_ROWS, b, NULL) == SOMA_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    soma_train_config c = small_config(SOMA_OPT_ADAM);
    CHECK_ERR(soma_train(r, X, Y, N_ROWS, 1, &c, &err), SOMA_OK, NULL, &err);
    soma_net_free(r);
}

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

static unsigned char *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
            if (!nb)
                break;
            buf = nb;
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

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Entries of tmpdir whose names contain sub. */
static int count_entries(const char *sub)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, sub))
            n++;
    closedir(d);
    return n;
}

/* ---- building a net -------------------------------------------------------- */

static soma_status op_net_new(void *ctx, soma_error *err)
{
    (void)ctx;
    soma_net *net = soma_net_new(&SPEC, err);
    if (!net)
        return err->code;
    soma_net_free(net);
    return SOMA_OK;
}

static void test_net_new(void)
{
    sweep("soma_net_new", op_net_new, NULL, NULL);
}

typedef struct setter_ctx {
    soma_net *net;       /* the net under test */
    const soma_net *ref; /* a copy of it before the call */
    int which;
} setter_ctx;

static soma_status op_setter(void *ctx, soma_error *err)
{
    setter_ctx *c = ctx;
    static const char *const other_classes[3] = {"x", "y", "z"};
    static const char *const other_features[2] = {"f1", "f2"};
    float mean[2] = {1.0f, 2.0f}, sd[2] = {3.0f, 4.0f};
    switch (c->which) {
    case 0: return soma_net_set_standardize(c->net, mean, sd, err);
    case 1: return soma_net_set_classes(c->net, 3, other_classes, err);
    case 2: return soma_net_set_features(c->net, 2, other_features, err);
    case 3: return soma_net_set_meta(c->net, "new key", "value", err);
    case 4: return soma_net_set_meta(c->net, "target", "replaced", err);
    }
    return soma_net_init(c->net, SOMA_INIT_HE, 9, err);
}

/* After a failed setter the net holds exactly what it held before. */
static void after_setter(void *ctx)
{
    setter_ctx *c = ctx;
    const soma_net *a = c->net, *b = c->ref;
    CHECK(same_params(a, b));
    CHECK(memcmp(soma_net_mean(a), soma_net_mean(b), 2 * sizeof(float)) == 0);
    CHECK(memcmp(soma_net_std(a), soma_net_std(b), 2 * sizeof(float)) == 0);
    CHECK(soma_net_n_classes(a) == 3);
    for (int i = 0; i < 3 && soma_net_n_classes(a) == 3; i++)
        CHECK(strcmp(soma_net_class(a, i), CLASSES[i]) == 0);
    CHECK(soma_net_n_features(a) == 2);
    for (int i = 0; i < 2 && soma_net_n_features(a) == 2; i++)
        CHECK(strcmp(soma_net_feature(a, i), FEATURES[i]) == 0);
    CHECK(soma_net_n_meta(a) == 2);
    CHECK(soma_net_get_meta(a, "target") &&
          strcmp(soma_net_get_meta(a, "target"), "y") == 0);
    CHECK(soma_net_get_meta(a, "new key") == NULL);
    check_usable(c->net, c->ref);
}

static void test_net_setters(void)
{
    static const char *const names[] = {"soma_net_set_standardize",
                                        "soma_net_set_classes",
                                        "soma_net_set_features",
                                        "soma_net_set_meta (new key)",
                                        "soma_net_set_meta (replace)",
                                        "soma_net_init"};
    for (int w = 0; w < 6; w++) {
        setter_ctx c = {full_net(), full_net(), w};
        sweep(names[w], op_setter, after_setter, &c);
        soma_net_free(c.net);
        soma_net_free((soma_net *)c.ref);
    }
}

static soma_status op_clone(void *ctx, soma_error *err)
{
    soma_net *copy = soma_net_clone(ctx, err);
    if (!copy)
        return err->code;
    CHECK(same_params(copy, ctx));
    CHECK(soma_net_n_meta(copy) == soma_net_n_meta(ctx));
    soma_net_free(copy);
    return SOMA_OK;
}

static void after_clone(void *ctx)
{
    check_usable(ctx, ctx);
}

static void test_clone(void)
{
    soma_net *net = full_net();
    sweep("soma_net_clone", op_clone, after_clone, net);
    soma_net_free(net);
}

/* ---- training ------------------------------------------------------------ */

typedef struct train_ctx {
    soma_net *net;
    const soma_net *ref;
    soma_train_config cfg;
} train_ctx;

static soma_status op_train(void *ctx, soma_error *err)
{
    train_ctx *c = ctx;
    return soma_train(c->net, X, Y, N_ROWS, 1, &c->cfg, err);
}

/* A failed soma_train fails before the first update: the net is as it was. */
static void after_train(void *ctx)
{
    train_ctx *c = ctx;
    CHECK(same_params(c->net, c->ref));
    check_usable(c->net, c->ref);
}

static void train_sweep(const char *what, soma_train_config cfg)
{
    train_ctx c = {full_net(), full_net(), cfg};
    sweep(what, op_train, after_train, &c);
    soma_net_free(c.net);
    soma_net_free((soma_net *)c.ref);
}

static void test_train(void)
{
    train_sweep("soma_train gd", small_config(SOMA_OPT_GD));
    train_sweep("soma_train sgd", small_config(SOMA_OPT_SGD));
    train_sweep("soma_train adam", small_config(SOMA_OPT_ADAM));
    soma_train_config full = small_config(SOMA_OPT_ADAM);
    full.batch_size = 0;
    full.weight_decay = 0.01;
    full.lr_schedule = SOMA_LR_STEP;
    full.lr_step = 1;
    full.lr_gamma = 0.5;
    full.val_x = X;
    full.val_y = Y;
    full.val_n = 6;
    full.early_stopping = 2;
    train_sweep("soma_train adam, validation, early stopping", full);
}

static void test_train_threads(void)
{
    soma_train_config c = small_config(SOMA_OPT_SGD);
    c.threads = 2;
    train_sweep("soma_train with 2 threads", c);
}

/* Step by step: soma_trainer_new allocates everything, an epoch nothing. */
static soma_status op_trainer(void *ctx, soma_error *err)
{
    train_ctx *c = ctx;
    soma_trainer *t = soma_trainer_new(c->net, &c->cfg, N_ROWS, err);
    if (!t)
        return err->code;
    soma_status st = SOMA_OK;
    unsigned long before = soma_debug_alloc_count();
    while (st == SOMA_OK && !soma_trainer_finished(t))
        st = soma_trainer_epoch(t, X, Y, N_ROWS, 1, NULL, NULL, err);
    if (st == SOMA_OK)
        st = soma_trainer_finish(t, err);
    if (st == SOMA_OK && soma_debug_alloc_count() != before) {
        printf("  soma_trainer_epoch allocated %lu times (train.c: \"an epoch "
               "allocates nothing\")\n", soma_debug_alloc_count() - before);
        harness_current_failures++;
    }
    soma_trainer_free(t);
    return st;
}

static void test_trainer(void)
{
    soma_train_config cfg = small_config(SOMA_OPT_ADAM);
    train_ctx c = {full_net(), full_net(), cfg};
    sweep("soma_trainer_new + soma_trainer_epoch", op_trainer, after_train, &c);
    soma_net_free(c.net);
    soma_net_free((soma_net *)c.ref);

    cfg.val_x = X;
    cfg.val_y = Y;
    cfg.val_n = 6;
    cfg.early_stopping = 1;
    train_ctx v = {full_net(), full_net(), cfg};
    sweep("soma_trainer_epoch with validation", op_trainer, after_train, &v);
    soma_net_free(v.net);
    soma_net_free((soma_net *)v.ref);
}

/* ---- predict and evaluate ------------------------------------------------ */

static void test_predict(void)
{
    /* The fresh clone is made inside the call, so the sweep would count
     * its allocations too: clone first, then sweep predict alone. */
    for (int evaluate = 0; evaluate < 2; evaluate++)
        for (int threads = 1; threads <= 2; threads++) {
            soma_net *ref = full_net();
            for (unsigned long k = 1; k < MAX_K; k++) {
                soma_net *net = soma_net_clone(ref, NULL);
                soma_net_set_threads(net, threads, NULL);
                float out[N_ROWS * 3];
                double loss, acc;
                size_t confusion[9];
                soma_error err;
                memset(&err, 0, sizeof err);
                soma_debug_fail_after(k);
                soma_status st =
                    evaluate ? soma_evaluate(net, X, Y, N_ROWS, 1, &loss, &acc,
                                             confusion, &err)
                             : soma_predict(net, X, N_ROWS, out, &err);
                unsigned long count = soma_debug_alloc_count();
                soma_debug_fail_after(0);
                if (count < k) {
                    CHECK(st == SOMA_OK);
                    printf("  %s (%d threads): %lu allocations, each failed in "
                           "turn\n", evaluate ? "soma_evaluate" : "soma_predict",
                           threads, count);
                    soma_net_free(net);
                    break;
                }
                if (st != SOMA_ERR_NOMEM || err.code != st || !err.message[0]) {
                    printf("  %s (%d threads): allocation %lu failed: status %d, "
                           "message '%s'\n",
                           evaluate ? "soma_evaluate" : "soma_predict", threads, k,
                           (int)st, err.message);
                    harness_current_failures++;
                }
                check_usable(net, ref);
                soma_net_free(net);
            }
            soma_net_free(ref);
        }
}

typedef struct prepare_ctx {
    soma_net *net;
    const soma_net *ref;
} prepare_ctx;

static soma_status op_prepare(void *ctx, soma_error *err)
{
    return soma_net_prepare(((prepare_ctx *)ctx)->net, err);
}

/* A failed soma_net_prepare leaves the net unprepared and working. */
static void after_prepare(void *ctx)
{
    prepare_ctx *c = ctx;
    CHECK(c->net->prep == NULL);
    check_usable(c->net, c->ref);
}

static void test_prepare(void)
{
    soma_net *ref = full_net();
    prepare_ctx c = {soma_net_clone(ref, NULL), ref};
    CHECK(c.net != NULL);
    if (c.net)
        sweep("soma_net_prepare", op_prepare, after_prepare, &c);
    CHECK(c.net && c.net->prep != NULL);
    soma_net_free(c.net);
    soma_net_free(ref);
}

/* ---- saving and loading -------------------------------------------------- */

typedef struct save_ctx {
    const soma_net *net;
    char path[300];
    unsigned char *before; /* the file at path before the call */
    size_t before_size;
} save_ctx;

static soma_status op_save(void *ctx, soma_error *err)
{
    save_ctx *c = ctx;
    return soma_net_save(c->net, c->path, err);
}

static void after_save(void *ctx)
{
    save_ctx *c = ctx;
    size_t n = 0;
    unsigned char *now = read_bytes(c->path, &n);
    CHECK(now && n == c->before_size && memcmp(now, c->before, n) == 0);
    free(now);
    CHECK(count_entries(".tmp.") == 0);
}

static void test_save(void)
{
    soma_net *net = full_net();
    save_ctx c;
    c.net = net;
    tmp_path(c.path, sizeof c.path, "save.safetensors");
    static const char old[] = "an older file that a failed save must keep";
    CHECK(write_bytes(c.path, old, sizeof old));
    c.before = (unsigned char *)old;
    c.before_size = sizeof old;
    sweep("soma_net_save", op_save, after_save, &c);
    CHECK(count_entries(".tmp.") == 0);
    soma_net *back = soma_net_load(c.path, NULL);
    CHECK(back && same_params(back, net));
    soma_net_free(back);
    soma_net_free(net);
}

typedef struct load_ctx {
    char path[300];
    unsigned char *data;
    size_t size;
    const soma_net *ref;
    int from_buffer;
} load_ctx;

static soma_status op_load(void *ctx, soma_error *err)
{
    load_ctx *c = ctx;
    soma_net *net = c->from_buffer
                        ? soma_net_load_buffer(c->data, c->size, "buffer", err)
                        : soma_net_load(c->path, err);
    if (!net)
        return err->code;
    CHECK(same_params(net, c->ref));
    CHECK(soma_net_n_meta(net) == soma_net_n_meta(c->ref));
    soma_net_free(net);
    return SOMA_OK;
}

static void test_load(void)
{
    load_ctx c;
    soma_net *net = full_net();
    c.ref = net;
    tmp_path(c.path, sizeof c.path, "load.safetensors");
    CHECK(soma_net_save(net, c.path, NULL) == SOMA_OK);
    c.data = read_bytes(c.path, &c.size);
    CHECK(c.data != NULL);
    c.from_buffer = 0;
    sweep("soma_net_load", op_load, NULL, &c);
    c.from_buffer = 1;
    sweep("soma_net_load_buffer", op_load, NULL, &c);
    free(c.data);
    soma_net_free(net);
}

/* ---- checkpoints ---------------------------------------------------------- */

typedef struct ckpt_ctx {
    soma_net *net;
    soma_trainer *t;
    char path[300];
    unsigned char *saved;
    size_t saved_size;
    int which; /* 0 save, 1 read, 2 restore */
} ckpt_ctx;

static soma_status op_ckpt(void *ctx, soma_error *err)
{
    ckpt_ctx *c = ctx;
    if (c->which == 0) {
        char other[320];
        snprintf(other, sizeof other, "%s.new", c->path);
        return soma_trainer_save(c->t, other, err);
    }
    if (c->which == 1) {
        soma_net *net = NULL;
        soma_train_config cfg;
        soma_status st = soma_checkpoint_read(c->path, &net, &cfg, err);
        CHECK((st == SOMA_OK) == (net != NULL));
        soma_net_free(net);
        return st;
    }
    return soma_trainer_restore(c->t, c->path, err);
}

/* The trainer is untouched by a failed restore or save: training on from
 * it gives what the checkpoint gives. */
static void after_ckpt(void *ctx)
{
    ckpt_ctx *c = ctx;
    char other[320];
    snprintf(other, sizeof other, "%s.new", c->path);
    CHECK(count_entries(".tmp.") == 0);
    CHECK(access(other, F_OK) != 0);
    CHECK(soma_trainer_epochs_done(c->t) == 1);
}

static void test_checkpoint(void)
{
    ckpt_ctx c;
    soma_train_config cfg = small_config(SOMA_OPT_ADAM);
    cfg.val_x = X;
    cfg.val_y = Y;
    cfg.val_n = 6;
    cfg.early_stopping = 3;
    c.net = full_net();
    c.t = soma_trainer_new(c.net, &cfg, N_ROWS, NULL);
    CHECK(c.t != NULL);
    if (!c.t)
        return;
    CHECK(soma_trainer_epoch(c.t, X, Y, N_ROWS, 1, NULL, NULL, NULL) == SOMA_OK);
    tmp_path(c.path, sizeof c.path, "run.ckpt");
    CHECK(soma_trainer_save(c.t, c.path, NULL) == SOMA_OK);
    static const char *const names[] = {"soma_trainer_save", "soma_checkpoint_read",
                                        "soma_trainer_restore"};
    for (c.which = 0; c.which < 3; c.which++) {
        char other[320];
        snprintf(other, sizeof other, "%s.new", c.path);
        sweep(names[c.which], op_ckpt, after_ckpt, &c);
        unlink(other);
    }
    /* after all that, the run goes on */
    CHECK(soma_trainer_epoch(c.t, X, Y, N_ROWS, 1, NULL, NULL, NULL) == SOMA_OK);
    soma_trainer_free(c.t);
    soma_net_free(c.net);
}

/* ---- data ---------------------------------------------------------------- */

static const char CSV[] =
    "\xEF\xBB\xBF" "f1,\"f 2\",label,skip\r\n"
    "1.5,2,setosa,a\r\n"
    "0.25,\"3\",versicolor,b\r\n"
    "1e2,-4,\"setosa\",c\r\n"
    "7,8,virginica,d\r\n";

typedef struct csv_ctx {
    soma_csv_options opt;
} csv_ctx;

static soma_status op_csv(void *ctx, soma_error *err)
{
    csv_ctx *c = ctx;
    soma_dataset *ds = NULL;
    soma_status st = soma_csv_parse(CSV, sizeof CSV - 1, "data.csv", &c->opt, &ds, err);
    CHECK((st == SOMA_OK) == (ds != NULL));
    soma_dataset_free(ds);
    return st;
}

static soma_status op_csv_read(void *ctx, soma_error *err)
{
    static const char *const ignore[] = {"skip"};
    soma_csv_options opt;
    memset(&opt, 0, sizeof opt);
    opt.target = "label";
    opt.ignore = ignore;
    opt.n_ignore = 1;
    soma_dataset *ds = NULL;
    soma_status st = soma_csv_read(ctx, &opt, &ds, err);
    CHECK((st == SOMA_OK) == (ds != NULL));
    soma_dataset_free(ds);
    return st;
}

static void test_csv(void)
{
    static const char *const ignore[] = {"skip"};
    static const char *const features[] = {"f 2", "f1"};
    static const char *const classes[] = {"virginica", "setosa", "versicolor"};
    csv_ctx c;
    memset(&c, 0, sizeof c);
    c.opt.target = "label";
    c.opt.ignore = ignore;
    c.opt.n_ignore = 1;
    sweep("soma_csv_parse, auto classes", op_csv, NULL, &c);
    c.opt.target_kind = SOMA_TARGET_CLASSES;
    c.opt.features = features;
    c.opt.n_features = 2;
    c.opt.classes = classes;
    c.opt.n_classes = 3;
    sweep("soma_csv_parse, a model's features and classes", op_csv, NULL, &c);
    memset(&c, 0, sizeof c);
    c.opt.target = "0";
    c.opt.target_kind = SOMA_TARGET_VALUE;
    static const char *const more_ignore[] = {"skip", "label"};
    c.opt.ignore = more_ignore;
    c.opt.n_ignore = 2;
    sweep("soma_csv_parse, value target", op_csv, NULL, &c);
    memset(&c, 0, sizeof c);
    c.opt.ignore = more_ignore;
    c.opt.n_ignore = 2;
    sweep("soma_csv_parse, no target", op_csv, NULL, &c);

    /* the file reader, as the CLI uses it */
    static char path[300];
    tmp_path(path, sizeof path, "data.csv");
    CHECK(write_bytes(path, CSV, sizeof CSV - 1));
    sweep("soma_csv_read", op_csv_read, NULL, path);
}

typedef struct split_ctx {
    const soma_dataset *ds;
} split_ctx;

static soma_status op_split(void *ctx, soma_error *err)
{
    split_ctx *c = ctx;
    soma_dataset *tr = NULL, *va = NULL;
    soma_status st = soma_dataset_split(c->ds, 0.5, 7, &tr, &va, err);
    CHECK(st == SOMA_OK ? tr && va && tr->n_rows + va->n_rows == c->ds->n_rows
                        : !tr && !va);
    soma_dataset_free(tr);
    soma_dataset_free(va);
    return st;
}

static void test_split(void)
{
    static const char *const ignore[] = {"skip"};
    soma_csv_options opt;
    memset(&opt, 0, sizeof opt);
    opt.target = "label";
    opt.ignore = ignore;
    opt.n_ignore = 1;
    soma_dataset *ds = NULL;
    CHECK(soma_csv_parse(CSV, sizeof CSV - 1, "data.csv", &opt, &ds, NULL) == SOMA_OK);
    if (!ds)
        return;
    split_ctx c = {ds};
    sweep("soma_dataset_split", op_split, NULL, &c);
    soma_dataset_free(ds);
}

/* IDX files, plain and gzipped (zlib's allocations go through soma's). */
typedef struct idx_ctx {
    char images[300], labels[300];
    const char *const *classes;
    int n_classes;
} idx_ctx;

static soma_status op_idx(void *ctx, soma_error *err)
{
    idx_ctx *c = ctx;
    soma_dataset *ds = NULL;
    soma_status st = soma_idx_read(c->images, c->labels, c->classes, c->n_classes,
                                   &ds, err);
    CHECK((st == SOMA_OK) == (ds != NULL));
    if (ds)
        CHECK(ds->n_rows == 3 && ds->n_features == 4);
    soma_dataset_free(ds);
    return st;
}

static int write_gz(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    if (!f)
        return 0;
    int ok = gzwrite(f, data, (unsigned)n) == (int)n;
    return gzclose(f) == Z_OK && ok;
}

static void test_idx(void)
{
    static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2,
                                           0, 0, 0, 2, 0, 255, 3, 4, 9, 8,
                                           7, 6, 10, 11, 12, 13};
    static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 7};
    static const char *const classes[] = {"1", "7.0"};
    idx_ctx c;
    memset(&c, 0, sizeof c);
    tmp_path(c.images, sizeof c.images, "images.idx");
    tmp_path(c.labels, sizeof c.labels, "labels.idx.gz");
    CHECK(write_bytes(c.images, images, sizeof images));
    CHECK(write_gz(c.labels, labels, sizeof labels));
    sweep("soma_idx_read, plain images, gzipped labels", op_idx, NULL, &c);
    c.classes = classes;
    c.n_classes = 2;
    sweep("soma_idx_read with a class list", op_idx, NULL, &c);
    tmp_path(c.images, sizeof c.images, "images.idx.gz");
    CHECK(write_gz(c.images, images, sizeof images));
    sweep("soma_idx_read, gzipped images", op_idx, NULL, &c);
}

/* ---- main ------------------------------------------------------------------ */

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[600];
    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(tmpdir);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/soma-test-alloc-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_net_new);
    RUN(test_net_setters);
    RUN(test_clone);
    RUN(test_train);
    RUN(test_train_threads);
    RUN(test_trainer);
    RUN(test_predict);
    RUN(test_prepare);
    RUN(test_save);
    RUN(test_load);
    RUN(test_checkpoint);
    RUN(test_csv);
    RUN(test_split);
    RUN(test_idx);
    remove_tmpdir();
    return harness_summary();
}
