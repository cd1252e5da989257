/*
 * test_errors.c - the library errors of docs/errors.md that no other test
 * provokes: bad network specs and training settings, bad targets and
 * inputs, misused calls (NULL arguments), divergence that breaks a weight,
 * the internal safetensors layer, and the SVG drawing code's own checks
 * (cli/svg.c, included whole as tests/test_svg.c does). Each check names
 * the status and a distinctive part of the message; docs/errors.md names
 * these tests, and tests/py_errors_catalogue.py holds the two together.
 */
#include "harness.h"
#include "io/safetensors.h" /* and internal.h */

#include "../cli/svg.c"
#include "../cli/out.c"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* A net of 2 inputs and one layer of `units` with the given output and
 * loss, weights from seed 1. */
static soma_net *small_net(int units, soma_activation act, soma_loss loss)
{
    soma_layer_spec layer = {units, act, 1};
    soma_spec spec = {2, 1, &layer, loss};
    soma_net *net = soma_net_new(&spec, NULL);
    if (net)
        soma_net_init(net, SOMA_INIT_GLOROT, 1, NULL);
    return net;
}

static soma_train_config quick_config(void)
{
    soma_train_config c = soma_train_config_default();
    c.epochs = 1;
    c.threads = 1;
    return c;
}

static const float X4[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float Y4[4] = {0, 1, 1, 0};

/* ---- network specs and setters ------------------------------------------ */

static void test_net_spec(void)
{
    soma_error e;
    soma_layer_spec layer = {1, SOMA_ACT_SIGMOID, 1};
    soma_spec spec = {0, 1, &layer, SOMA_LOSS_BCE};
    CHECK(soma_net_new(&spec, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "inputs must be 1..16777216, not 0", &e);
    spec.n_inputs = 2;
    spec.n_layers = 0;
    CHECK(soma_net_new(&spec, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "layers must be 1..256, not 0", &e);
    spec.n_layers = 1;
    layer.units = 0;
    CHECK(soma_net_new(&spec, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "layer 0: units must be 1..16777216, not 0", &e);
    layer.units = 1;
    layer.activation = (soma_activation)99;
    CHECK(soma_net_new(&spec, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "layer 0: unknown activation 99", &e);
    layer.activation = SOMA_ACT_SIGMOID;
    spec.loss = (soma_loss)99;
    CHECK(soma_net_new(&spec, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "unknown loss 99", &e);
    spec.loss = SOMA_LOSS_BCE;
    soma_net *net = soma_net_new(&spec, &e);
    CHECK(net != NULL);
    CHECK_ERR(soma_net_init(net, (soma_init)99, 1, &e), SOMA_ERR_ARG,
              "unknown initialiser 99", &e);
    soma_net_free(net);
}

static void test_net_setters(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    CHECK_ERR(soma_net_set_threads(net, 2000, &e), SOMA_ERR_ARG,
              "threads must be 0..1024, not 2000", &e);
    const float mean[2] = {0, 0}, nan_mean[2] = {0, NAN};
    const float zero_std[2] = {1, 0}, std[2] = {1, 1};
    CHECK_ERR(soma_net_set_standardize(net, mean, NULL, &e), SOMA_ERR_ARG,
              "standardize needs both mean and std, or neither", &e);
    CHECK_ERR(soma_net_set_standardize(net, nan_mean, std, &e), SOMA_ERR_DATA,
              "standardize mean of input 1 is not finite", &e);
    CHECK_ERR(soma_net_set_standardize(net, mean, zero_std, &e), SOMA_ERR_DATA,
              "standardize std of input 1 must be finite and positive", &e);
    float m[2], s[2];
    CHECK_ERR(soma_standardize_fit(X4, 0, 2, m, s, &e), SOMA_ERR_ARG,
              "standardize needs at least one row and one column", &e);
    CHECK_ERR(soma_net_set_classes(net, -1, NULL, &e), SOMA_ERR_ARG,
              "bad class labels", &e);
    const char *half[2] = {"a", NULL};
    CHECK_ERR(soma_net_set_classes(net, 2, half, &e), SOMA_ERR_ARG,
              "string 1 is NULL", &e);
    CHECK(soma_net_n_classes(net) == 0); /* unchanged */
    const char *three[3] = {"a", "b", "c"};
    CHECK_ERR(soma_net_set_features(net, 3, three, &e), SOMA_ERR_ARG,
              "feature names: 3 given, the network has 2 inputs", &e);
    CHECK_ERR(soma_net_set_meta(net, "", "v", &e), SOMA_ERR_ARG,
              "metadata needs a non-empty key", &e);
    CHECK_ERR(soma_net_set_meta(net, "soma.inputs", "3", &e), SOMA_ERR_ARG,
              "metadata key 'soma.inputs' is reserved for the model format", &e);
    CHECK_ERR(soma_net_set_meta(net, "format", "x", &e), SOMA_ERR_ARG,
              "is reserved for the model format", &e);
    soma_net_free(net);
}

/* ---- training settings --------------------------------------------------- */

/* soma_train with c refuses, with status ARG and sub in the message. */
static void expect_config(soma_train_config c, const char *sub)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    float before = soma_net_params(net)[0];
    CHECK_ERR(soma_train(net, X4, Y4, 4, 1, &c, &e), SOMA_ERR_ARG, sub, &e);
    CHECK(soma_net_params(net)[0] == before);
    soma_net_free(net);
}

static void test_train_config(void)
{
    soma_train_config c = quick_config();
    c.optimizer = (soma_optimizer)7;
    expect_config(c, "unknown optimizer 7");
    c = quick_config();
    c.learning_rate = -1;
    expect_config(c, "learning rate must be a finite number >= 0, not -1");
    c.learning_rate = INFINITY;
    expect_config(c, "learning rate must be a finite number >= 0, not inf");
    c = quick_config();
    c.momentum = 1;
    expect_config(c, "momentum must be in [0, 1), not 1");
    c = quick_config();
    c.beta2 = 1;
    expect_config(c, "adam betas must be in [0, 1)");
    c = quick_config();
    c.epsilon = -1e-8;
    expect_config(c, "adam epsilon must be >= 0");
    c = quick_config();
    c.weight_decay = NAN;
    expect_config(c, "weight decay must be a finite number >= 0, not nan");
    c = quick_config();
    c.epochs = -1;
    expect_config(c, "epochs must be >= 0, not -1");
    c = quick_config();
    c.threads = -1;
    expect_config(c, "threads must be 0..1024, not -1");
    c = quick_config();
    c.lr_schedule = (soma_lr_schedule)9;
    expect_config(c, "unknown learning-rate schedule 9");
    c = quick_config();
    c.lr_schedule = SOMA_LR_STEP;
    c.lr_step = 0;
    expect_config(c, "the step schedule needs lr_step >= 1 and lr_gamma in (0, 1]");
    c.lr_step = 1;
    c.lr_gamma = 0;
    expect_config(c, "the step schedule needs");
    c = quick_config();
    c.early_stopping = -1;
    expect_config(c, "early stopping patience must be >= 0");
    c = quick_config();
    c.val_n = 4;
    expect_config(c, "validation data missing");
}

static void test_split(void)
{
    soma_error e;
    soma_dataset *train = NULL, *val = NULL;
    CHECK_ERR(soma_dataset_split(NULL, 0.5, 1, &train, &val, &e), SOMA_ERR_ARG,
              "split needs a data set", &e);
    soma_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n_rows = 4;
    ds.n_features = 2;
    ds.x = (float *)X4;
    CHECK_ERR(soma_dataset_split(&ds, 1.0, 1, &train, &val, &e), SOMA_ERR_ARG,
              "the validation fraction must be in [0, 1), not 1", &e);
    CHECK_ERR(soma_dataset_split(&ds, 0.9, 1, &train, &val, &e), SOMA_ERR_DATA,
              "a validation fraction of 0.9 leaves no training rows out of 4", &e);
    CHECK(train == NULL && val == NULL);
}

/* ---- targets, inputs, divergence ----------------------------------------- */

static void test_targets(void)
{
    soma_error e;
    soma_train_config c = quick_config();
    soma_net *reg = small_net(1, SOMA_ACT_LINEAR, SOMA_LOSS_MSE);
    const float y_nan[4] = {0, 1, NAN, 0};
    CHECK_ERR(soma_train(reg, X4, y_nan, 4, 1, &c, &e), SOMA_ERR_DATA,
              "row 2: target 0 is not a finite number", &e);
    soma_net_free(reg);

    soma_net *bin = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    const float y_half[4] = {0, 1, 0.5f, 0};
    CHECK_ERR(soma_train(bin, X4, y_half, 4, 1, &c, &e), SOMA_ERR_DATA,
              "row 2: target 0.5 is not 0 or 1 (a sigmoid output with bce needs "
              "0/1 targets)", &e);
    soma_net_free(bin);

    soma_net *cls = small_net(3, SOMA_ACT_SOFTMAX, SOMA_LOSS_CE);
    const float y_class[4] = {0, 1, 3, 2};
    CHECK_ERR(soma_train(cls, X4, y_class, 4, 1, &c, &e), SOMA_ERR_DATA,
              "row 2: target 3 is not a class index in 0..2", &e);
    float y_prob[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, -0.5f, 1};
    CHECK_ERR(soma_train(cls, X4, y_prob, 4, 3, &c, &e), SOMA_ERR_DATA,
              "row 3: target probability -0.5 is negative", &e);
    CHECK_ERR(soma_train(cls, X4, y_prob, 4, 2, &c, &e), SOMA_ERR_ARG,
              "loss ce takes 1 target column (class index) or 3 (one per class), "
              "not 2", &e);
    double loss, acc;
    CHECK_ERR(soma_evaluate(cls, X4, y_class, 4, 1, &loss, &acc, NULL, &e),
              SOMA_ERR_DATA, "is not a class index in 0..2", &e);
    soma_net_free(cls);

    soma_net *two = small_net(2, SOMA_ACT_LINEAR, SOMA_LOSS_MSE);
    CHECK_ERR(soma_train(two, X4, Y4, 4, 1, &c, &e), SOMA_ERR_ARG,
              "loss mse needs 2 target columns (one per output), not 1", &e);
    soma_net_free(two);
}

static void test_trainer_calls(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    soma_train_config c = quick_config();
    soma_trainer *t = soma_trainer_new(net, &c, 4, &e);
    CHECK(t != NULL);
    CHECK_ERR(soma_trainer_epoch(t, X4, Y4, 3, 1, NULL, NULL, &e), SOMA_ERR_ARG,
              "the trainer was set up for 4 rows, not 3", &e);
    const float y2[8] = {0, 1, 1, 0, 1, 0, 0, 1};
    CHECK_ERR(soma_trainer_epoch(t, X4, y2, 4, 2, NULL, NULL, &e), SOMA_ERR_ARG,
              "2 target columns for 1 outputs", &e);
    CHECK(soma_trainer_epochs_done(t) == 0);
    soma_trainer_free(t);
    soma_net_free(net);
}

static void test_bad_inputs(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    float x[8] = {0, 0, 0, 1, 1, INFINITY, 1, 1}, out[4];
    CHECK_ERR(soma_predict(net, x, 4, out, &e), SOMA_ERR_DATA,
              "row 2, input 1: inf is not a finite number", &e);
    double loss, acc;
    CHECK_ERR(soma_evaluate(net, x, Y4, 4, 1, &loss, &acc, NULL, &e), SOMA_ERR_DATA,
              "row 2, input 1: inf is not a finite number", &e);
    soma_train_config c = quick_config();
    c.shuffle = 0;
    x[5] = NAN;
    CHECK_ERR(soma_train(net, x, Y4, 4, 1, &c, &e), SOMA_ERR_DATA,
              "row 2, input 1: nan is not a finite number", &e);
    soma_net_free(net);
}

/* One weight, no bias, linear output: a step of lr 1e6 on x = 3e16 turns
 * the weight into -1.8e39, past the float range, while the loss (9e32 in
 * float) and the gradient (1.8e33) are still finite. */
static void test_diverging(void)
{
    soma_error e;
    soma_layer_spec layer = {1, SOMA_ACT_LINEAR, 0};
    soma_spec spec = {1, 1, &layer, SOMA_LOSS_MSE};
    soma_net *net = soma_net_new(&spec, &e);
    CHECK(net != NULL);
    if (!net)
        return;
    soma_net_weight(net, 0)[0] = 1.0f;
    const float x[1] = {3e16f}, y[1] = {0};
    soma_train_config c = quick_config();
    c.optimizer = SOMA_OPT_GD;
    c.learning_rate = 1e6;
    CHECK_ERR(soma_train(net, x, y, 1, 1, &c, &e), SOMA_ERR_NUMERIC,
              "epoch 1, batch 1: a weight became NaN or infinite; try a smaller "
              "learning rate", &e);
    soma_net_free(net);
}

/* A NaN written into the weights before training (soma_net_params hands
 * out a writable pointer) is refused before any step. */
static void test_nonfinite_start(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    soma_net_weight(net, 0)[1] = NAN;
    const float x[4] = {0, 1, 2, 3}, y[2] = {0, 1};
    soma_train_config c = quick_config();
    c.batch_size = 1;
    CHECK_ERR(soma_train(net, x, y, 2, 1, &c, &e), SOMA_ERR_NUMERIC,
              "parameter 1 of the network is nan before epoch 1; training "
              "needs finite weights", &e);
    soma_net_free(net);
}

/* ---- saving, calls without their arguments ------------------------------ */

/* Model files hold UTF-8 text: the setters refuse anything else. */
static void test_utf8_setters(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    const char *names[2] = {"ok", "caf\xe9"};
    CHECK_ERR(soma_net_set_features(net, 2, names, &e), SOMA_ERR_ARG,
              "feature name 1 is not valid UTF-8", &e);
    CHECK_ERR(soma_net_set_classes(net, 2, names, &e), SOMA_ERR_ARG,
              "class label 1 is not valid UTF-8", &e);
    CHECK_ERR(soma_net_set_meta(net, "note", "\xc0\xaf", &e), SOMA_ERR_ARG,
              "metadata: a key or value is not valid UTF-8", &e);
    CHECK_ERR(soma_net_set_meta(net, "\xff", "x", &e), SOMA_ERR_ARG,
              "metadata: a key or value is not valid UTF-8", &e);
    /* nothing was set */
    CHECK(soma_net_n_features(net) == 0 && soma_net_n_classes(net) == 0 &&
          soma_net_n_meta(net) == 0);
    soma_net_free(net);
}

static void test_save_no_path(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    CHECK_ERR(soma_net_save(net, "", &e), SOMA_ERR_ARG,
              "no network or path given", &e);
    CHECK_ERR(soma_net_save(net, NULL, &e), SOMA_ERR_ARG,
              "no network or path given", &e);
    CHECK_ERR(soma_net_save(NULL, "x.safetensors", &e), SOMA_ERR_ARG,
              "no network or path given", &e);
    soma_net_free(net);
}

static void test_save_nonfinite(void)
{
    soma_error e;
    char path[128];
    snprintf(path, sizeof path, "%s/nan.safetensors", tmpdir);
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    soma_net_weight(net, 0)[1] = NAN;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_ERR_DATA,
              "nan.safetensors: layer 0: weight 1 is not finite; a model with NaN "
              "or infinity cannot be saved", &e);
    soma_net_weight(net, 0)[1] = 0.5f;
    soma_net_bias(net, 0)[0] = -INFINITY;
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_ERR_DATA,
              "layer 0: bias 0 is not finite; a model with NaN or infinity cannot "
              "be saved", &e);
    CHECK(access(path, F_OK) != 0);
    soma_net_free(net);
}

static void test_api_null(void)
{
    soma_error e;
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    float out[4];
    double loss, acc;
    CHECK(soma_net_new(NULL, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "no network spec given", &e);
    soma_spec spec = {2, 1, NULL, SOMA_LOSS_MSE};
    CHECK(soma_net_new(&spec, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "no layer specs given", &e);
    CHECK(soma_net_clone(NULL, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "no network given", &e);
    CHECK_ERR(soma_net_init(NULL, SOMA_INIT_HE, 1, &e), SOMA_ERR_ARG,
              "no network given", &e);
    CHECK_ERR(soma_net_copy_params(net, NULL, &e), SOMA_ERR_ARG,
              "no network given", &e);
    CHECK_ERR(soma_net_set_standardize(NULL, NULL, NULL, &e), SOMA_ERR_ARG,
              "no network given", &e);
    CHECK_ERR(soma_trainer_finish(NULL, &e), SOMA_ERR_ARG, "no trainer given", &e);
    soma_train_config c = quick_config();
    CHECK_ERR(soma_train(net, X4, Y4, 0, 1, &c, &e), SOMA_ERR_ARG,
              "training needs a net, a config and at least one example", &e);
    CHECK(soma_trainer_new(net, NULL, 4, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "training needs a net, a config", &e);
    soma_trainer *t = soma_trainer_new(net, &c, 4, &e);
    CHECK_ERR(soma_trainer_epoch(t, NULL, Y4, 4, 1, NULL, NULL, &e), SOMA_ERR_ARG,
              "training needs inputs and targets", &e);
    CHECK_ERR(soma_trainer_save(NULL, "x", &e), SOMA_ERR_ARG,
              "checkpoint needs a trainer and a path", &e);
    CHECK_ERR(soma_trainer_save(t, NULL, &e), SOMA_ERR_ARG,
              "checkpoint needs a trainer and a path", &e);
    CHECK_ERR(soma_trainer_restore(t, NULL, &e), SOMA_ERR_ARG,
              "restore needs a trainer and a path", &e);
    soma_trainer_free(t);
    soma_net *back = NULL;
    CHECK_ERR(soma_checkpoint_read(NULL, &back, &c, &e), SOMA_ERR_ARG,
              "checkpoint read needs a path, net and config", &e);
    CHECK_ERR(soma_predict(NULL, X4, 4, out, &e), SOMA_ERR_ARG,
              "predict needs a net, inputs and an output buffer", &e);
    CHECK_ERR(soma_predict(net, X4, 4, NULL, &e), SOMA_ERR_ARG,
              "predict needs a net", &e);
    CHECK_ERR(soma_evaluate(net, X4, Y4, 0, 1, &loss, &acc, NULL, &e), SOMA_ERR_ARG,
              "evaluate needs a net and at least one example", &e);
    CHECK(soma_net_load(NULL, &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "no path given", &e);
    CHECK(soma_net_load_buffer(NULL, 5, "b", &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "no buffer given", &e);
    soma_dataset *ds = NULL;
    CHECK_ERR(soma_csv_read(NULL, NULL, &ds, &e), SOMA_ERR_ARG,
              "soma_csv_read: path is NULL", &e);
    CHECK_ERR(soma_csv_read("tests/data/iris.csv", NULL, NULL, &e), SOMA_ERR_ARG,
              "soma_csv_read: out is NULL", &e);
    int is_idx;
    CHECK_ERR(soma_idx_sniff(NULL, &is_idx, &e), SOMA_ERR_ARG,
              "soma_idx_sniff: path is NULL", &e);
    CHECK_ERR(soma_idx_sniff("tests/data/iris.csv", NULL, &e), SOMA_ERR_ARG,
              "soma_idx_sniff: is_idx is NULL", &e);
    soma_net_free(net);
}

static void test_csv_options(void)
{
    static const char *many[65537];
    for (int i = 0; i < 65537; i++)
        many[i] = "a";
    soma_csv_options o;
    memset(&o, 0, sizeof o);
    o.target = "y";
    o.classes = many;
    o.n_classes = 65537;
    soma_error e;
    soma_dataset *ds = NULL;
    CHECK_ERR(soma_csv_parse("x,y\n1,a\n", 8, "t.csv", &o, &ds, &e), SOMA_ERR_ARG,
              "t.csv: more than 65536 classes", &e);
    CHECK(ds == NULL);
}

/* ---- the internal safetensors layer -------------------------------------- */

static void test_st_layer(void)
{
    soma_error e;
    float a[1] = {1};
    soma_st_entry t = {"a", 1, {1}, a};
    CHECK_ERR(soma_st_write(NULL, &t, 1, NULL, 0, &e), SOMA_ERR_ARG,
              "no path or entries given", &e);
    CHECK_ERR(soma_st_write("", &t, 1, NULL, 0, &e), SOMA_ERR_ARG,
              "no path or entries given", &e);
    soma_net *net = small_net(1, SOMA_ACT_SIGMOID, SOMA_LOSS_BCE);
    CHECK_ERR(soma_model_parts_build(net, NULL, &e), SOMA_ERR_ARG,
              "no parts given", &e);
    CHECK(soma_model_from_st(NULL, "m", &e) == NULL);
    CHECK_ERR(e.code, SOMA_ERR_ARG, "no file given", &e);
    soma_net_free(net);
}

/* ---- the SVG drawing code's own checks ------------------------------------ */

static void test_svg_curves(void)
{
    char path[128], msg[256];
    snprintf(path, sizeof path, "%s/c.svg", tmpdir);
    svg_curves c;
    memset(&c, 0, sizeof c);
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "c.svg: no epochs to draw") != NULL);
    const double ep[3] = {1, 2, 3}, loss[3] = {0.5, INFINITY, 0.25};
    const double none[3] = {NAN, NAN, NAN};
    c.n = 3;
    c.epoch = ep;
    c.value[SVG_TRAIN_LOSS] = loss;
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "c.svg: train_loss is not finite at epoch 2") != NULL);
    c.value[SVG_TRAIN_LOSS] = none;
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "c.svg: no loss or accuracy values to draw") != NULL);
    CHECK(access(path, F_OK) != 0);
}

static void test_svg_confusion(void)
{
    char path[128], msg[256];
    snprintf(path, sizeof path, "%s/m.svg", tmpdir);
    size_t counts[1] = {0};
    CHECK(svg_confusion(path, 1001, NULL, counts, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "m.svg: a confusion matrix needs 1 to 1000 classes") != NULL);
    CHECK(svg_confusion(path, 0, NULL, counts, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "a confusion matrix needs 1 to") != NULL);
    CHECK(access(path, F_OK) != 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/soma_errors_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_net_spec);
    RUN(test_net_setters);
    RUN(test_train_config);
    RUN(test_split);
    RUN(test_targets);
    RUN(test_trainer_calls);
    RUN(test_bad_inputs);
    RUN(test_diverging);
    RUN(test_nonfinite_start);
    RUN(test_save_nonfinite);
    RUN(test_save_no_path);
    RUN(test_utf8_setters);
    RUN(test_api_null);
    RUN(test_csv_options);
    RUN(test_st_layer);
    RUN(test_svg_curves);
    RUN(test_svg_confusion);
    rmdir(tmpdir);
    return harness_summary();
}
