/*
 * soma.h - the public API of libsoma, a small library for training and
 * running dense neural networks in C.
 *
 * This header is the manual. Every function states its contract: what it
 * takes, what it returns, who owns what it returns and what it does on bad
 * input. The library never exits, aborts or prints on bad input; functions
 * return a soma_status and, when the caller passes a soma_error, fill it with
 * a one-line message naming the file, line and field where one applies.
 *
 * Conventions
 *   - Matrices are row-major float arrays, one example per row. A shape is
 *     written [rows, cols]; x is [n, n_inputs].
 *   - Weights use the PyTorch nn.Linear layout: layer i has weight
 *     [units, inputs] and bias [units].
 *   - Every constructor has one matching _free, and _free(NULL) is a no-op.
 *   - Borrowed pointers are const and only read during the call unless the
 *     comment says otherwise.
 *   - Same seed, same bits: soma has its own PRNG and its own exp(), so a
 *     seeded run gives identical results on every run.
 *
 * Thread safety: distinct objects may be used from distinct threads. One
 * soma_net must not be used by two threads at once (predict keeps a cached
 * workspace inside the net).
 */
#ifndef SOMA_H
#define SOMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOMA_VERSION_MAJOR 0
#define SOMA_VERSION_MINOR 1
#define SOMA_VERSION_PATCH 0
#define SOMA_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum soma_status {
    SOMA_OK = 0,
    SOMA_ERR_NOMEM,       /* an allocation failed                            */
    SOMA_ERR_ARG,         /* a bad argument: NULL, out of range, bad spec     */
    SOMA_ERR_IO,          /* the operating system refused a read or write     */
    SOMA_ERR_FORMAT,      /* a file's bytes are not what its format allows    */
    SOMA_ERR_DATA,        /* values are unusable: NaN, wrong label, mismatch  */
    SOMA_ERR_NUMERIC,     /* training produced NaN or infinity                */
    SOMA_ERR_UNSUPPORTED  /* valid but not supported by this build            */
} soma_status;

#define SOMA_ERROR_MAX 512

/* Filled by any function that takes a soma_error* (which may be NULL). */
typedef struct soma_error {
    soma_status code;
    char message[SOMA_ERROR_MAX]; /* one line, no trailing newline */
} soma_error;

/* A static string describing a status code ("out of memory", ...). */
const char *soma_status_string(soma_status code);

/* ------------------------------------------------------------------------ */
/* Network description                                                      */
/* ------------------------------------------------------------------------ */

typedef enum soma_activation {
    SOMA_ACT_SIGMOID = 0,
    SOMA_ACT_TANH,
    SOMA_ACT_RELU,
    SOMA_ACT_LEAKY_RELU,  /* slope 0.01 below zero */
    SOMA_ACT_LINEAR,
    SOMA_ACT_SOFTMAX      /* over the units of one example */
} soma_activation;

typedef enum soma_loss {
    /* sse: 0.5 * sum over batch and outputs of (out - y)^2, not averaged;
     * its gradient is exactly the blog post's update. */
    SOMA_LOSS_SSE = 0,
    /* mse: mean over batch and outputs of (out - y)^2 (PyTorch MSELoss). */
    SOMA_LOSS_MSE,
    /* bce: binary cross-entropy, mean over batch and outputs; needs a sigmoid
     * output and is computed from the logits, so it cannot overflow. */
    SOMA_LOSS_BCE,
    /* ce: categorical cross-entropy, mean over the batch; needs a softmax
     * output and is computed fused from the logits (log-sum-exp). */
    SOMA_LOSS_CE
} soma_loss;

typedef enum soma_init {
    SOMA_INIT_UNIFORM = 0, /* U(-1, 1), the blog post's 2*random - 1 */
    SOMA_INIT_GLOROT,      /* U(-a, a), a = sqrt(6 / (inputs + units))  */
    SOMA_INIT_HE           /* U(-a, a), a = sqrt(6 / inputs)            */
} soma_init;

/* Names used by the CLI and the model file ("sigmoid", "ce", "he", ...).
 * *_name returns NULL for an out-of-range value; *_parse returns -1 for an
 * unknown name and otherwise the enum value. */
const char *soma_activation_name(soma_activation a);
int soma_activation_parse(const char *name);
const char *soma_loss_name(soma_loss l);
int soma_loss_parse(const char *name);
const char *soma_init_name(soma_init i);
int soma_init_parse(const char *name);

#define SOMA_MAX_LAYERS 256
#define SOMA_MAX_UNITS (1 << 24)

/* One dense layer: y = activation(x . W^T + b). */
typedef struct soma_layer_spec {
    int units;                  /* outputs of the layer, 1..SOMA_MAX_UNITS */
    soma_activation activation;
    int bias;                   /* non-zero: the layer has a bias vector   */
} soma_layer_spec;

/* The architecture of a network. */
typedef struct soma_spec {
    int n_inputs;                  /* features per example, >= 1          */
    int n_layers;                  /* 1..SOMA_MAX_LAYERS                   */
    const soma_layer_spec *layers; /* [n_layers], borrowed                 */
    soma_loss loss;
} soma_spec;

typedef struct soma_net soma_net;

/* Creates a network with the given architecture and all parameters zero.
 * Checks the spec: sizes in range, the parameter count fits in memory,
 * bce needs a sigmoid last layer and ce a softmax last layer with at least
 * two units. Returns NULL on error (err says why). Free with soma_net_free. */
soma_net *soma_net_new(const soma_spec *spec, soma_error *err);

void soma_net_free(soma_net *net);

/* A deep copy, or NULL on allocation failure. */
soma_net *soma_net_clone(const soma_net *net, soma_error *err);

/* Fills weights with the initialiser using a PRNG seeded with seed; biases
 * are set to zero. Same seed, same weights, on every platform. */
soma_status soma_net_init(soma_net *net, soma_init init, uint64_t seed,
                          soma_error *err);

/* Architecture queries. Out-of-range layer indices return 0 / the zero
 * value. */
int soma_net_n_inputs(const soma_net *net);
int soma_net_n_outputs(const soma_net *net);
int soma_net_n_layers(const soma_net *net);
soma_layer_spec soma_net_layer(const soma_net *net, int layer);
soma_loss soma_net_loss(const soma_net *net);

/* All parameters in one flat array, layer by layer: weight [units, inputs]
 * then bias [units] (absent without bias). The pointer belongs to the net
 * and stays valid until soma_net_free; callers may read and write it. */
float *soma_net_params(soma_net *net);
const float *soma_net_params_const(const soma_net *net);
size_t soma_net_n_params(const soma_net *net);

/* Pointers into the flat array for one layer; the bias pointer is NULL for
 * a layer without bias. NULL for an out-of-range layer. */
float *soma_net_weight(soma_net *net, int layer);
float *soma_net_bias(soma_net *net, int layer);

/* Copies the parameters of src into dst; both must have the same
 * architecture (SOMA_ERR_ARG otherwise). Used by --init-from. */
soma_status soma_net_copy_params(soma_net *dst, const soma_net *src,
                                 soma_error *err);

/* ---- Input standardisation ---------------------------------------------
 * A net may carry per-feature mean and standard deviation. When it does,
 * soma_predict and soma_train standardise every input row as
 * (x - mean) / std before the first layer, so callers always pass raw data.
 */

/* Computes mean and population standard deviation of each column of
 * x [n, d] (in double precision). A column whose deviation is 0 gets std 1.
 * mean and std are [d], owned by the caller. n must be >= 1. */
soma_status soma_standardize_fit(const float *x, size_t n, int d,
                                 float *mean, float *std, soma_error *err);

/* Copies mean and std ([n_inputs] each) into the net; NULL for both turns
 * standardisation off. Every std must be finite and > 0. */
soma_status soma_net_set_standardize(soma_net *net, const float *mean,
                                     const float *std, soma_error *err);

/* Borrowed pointers to the net's mean and std, or NULL when it has none. */
const float *soma_net_mean(const soma_net *net);
const float *soma_net_std(const soma_net *net);

/* ---- Labels and metadata ----------------------------------------------- */

/* Class labels, one per class, in output order (for a single sigmoid output:
 * two labels, for 0 and 1). Copies the strings. n = 0 clears them. */
soma_status soma_net_set_classes(soma_net *net, int n, const char *const *labels,
                                 soma_error *err);
int soma_net_n_classes(const soma_net *net);
const char *soma_net_class(const soma_net *net, int i); /* borrowed or NULL */

/* Names of the input features (optional), used by the CLI to find the
 * columns of a CSV by name. Copies the strings; n must be n_inputs or 0. */
soma_status soma_net_set_features(soma_net *net, int n,
                                  const char *const *names, soma_error *err);
int soma_net_n_features(const soma_net *net);
const char *soma_net_feature(const soma_net *net, int i);

/* Free-form string metadata saved in the model file (training settings,
 * target column name...). Setting an existing key replaces its value; a
 * NULL value removes it. Keys must not be empty; "format" and keys that
 * start with "soma." are reserved for the model file's own fields. */
soma_status soma_net_set_meta(soma_net *net, const char *key,
                              const char *value, soma_error *err);
const char *soma_net_get_meta(const soma_net *net, const char *key);
int soma_net_n_meta(const soma_net *net);
const char *soma_net_meta_key(const soma_net *net, int i);

/* ------------------------------------------------------------------------ */
/* Inference                                                                */
/* ------------------------------------------------------------------------ */

/* Runs the network on x [n, n_inputs] and writes out [n, n_outputs]: the
 * output activations (probabilities for sigmoid and softmax outputs).
 * Applies the net's standardisation. Inputs must be finite (SOMA_ERR_DATA
 * names the row and column otherwise). n = 0 is allowed and does nothing. */
soma_status soma_predict(soma_net *net, const float *x, size_t n, float *out,
                         soma_error *err);

/* Prepares net for predictions one row at a time: keeps a second copy of
 * the weights (as much memory again), laid out so that soma_predict with
 * n = 1 reads each weight once, in order, on the calling thread (about
 * twice as fast for a 784-128-10 net; BENCHMARKS.md). Results are the same
 * bits with or without it.
 *
 * The copy follows the weights only through soma's own calls: training,
 * soma_net_init, soma_net_copy_params and restoring a checkpoint drop it,
 * and so do soma_net_params, soma_net_weight and soma_net_bias, since the
 * caller may write through the pointer they return. A pointer obtained
 * before soma_net_prepare must not be written through after it, unless
 * soma_net_prepare is called again after the writes. Calling it again
 * re-reads the weights; SOMA_ERR_NOMEM when the copy cannot be made. */
soma_status soma_net_prepare(soma_net *net, soma_error *err);

/* Sets how many threads soma_predict and soma_evaluate use on this net:
 * 0 = one per core, 1 = the calling thread only (the default). Results do
 * not depend on it. */
soma_status soma_net_set_threads(soma_net *net, int threads, soma_error *err);

/* The number of cores soma uses for "0 threads". */
int soma_cpu_count(void);

/* The predicted class of each output row out [n, n_outputs]: argmax, or for a
 * single output, 1 when out >= 0.5 else 0. classes is [n]. */
void soma_argmax(const float *out, size_t n, int n_outputs, int *classes);

/* Loss and accuracy of the net on x [n, n_inputs] with targets y [n, y_cols]
 * (see soma_train for the target layout). accuracy is set for
 * classification losses (bce, ce) and to -1 otherwise. confusion, when not
 * NULL, receives a [k, k] matrix of counts (row = true class, column =
 * predicted) where k = n_outputs, or 2 for a single sigmoid output. */
soma_status soma_evaluate(soma_net *net, const float *x, const float *y,
                          size_t n, int y_cols, double *loss, double *accuracy,
                          size_t *confusion, soma_error *err);

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

typedef enum soma_optimizer {
    SOMA_OPT_GD = 0, /* w -= lr * g                                        */
    SOMA_OPT_SGD,    /* v = momentum * v + g;  w -= lr * v  (PyTorch SGD)   */
    SOMA_OPT_ADAM    /* Adam with bias correction (PyTorch Adam)            */
} soma_optimizer;

const char *soma_optimizer_name(soma_optimizer o);
int soma_optimizer_parse(const char *name);

typedef enum soma_lr_schedule {
    SOMA_LR_CONSTANT = 0, /* learning_rate throughout                      */
    SOMA_LR_STEP,         /* times lr_gamma every lr_step epochs           */
    SOMA_LR_COSINE        /* lr * (1 + cos(pi * e / epochs)) / 2 for the
                             0-based epoch e: from lr down towards 0       */
} soma_lr_schedule;

const char *soma_lr_schedule_name(soma_lr_schedule s);
int soma_lr_schedule_parse(const char *name);

/* What the trainer reports after each epoch. Values that do not apply are
 * -1: accuracy for regression losses, validation without validation data. */
typedef struct soma_epoch_report {
    int epoch;             /* 1-based */
    int epochs;            /* the configured number */
    double train_loss;     /* mean over the epoch's batches, as trained */
    double train_accuracy;
    double val_loss;
    double val_accuracy;
    double learning_rate;  /* used in this epoch */
    double seconds;        /* wall-clock time of the epoch */
    int best;              /* the best validation loss so far (early
                              stopping keeps these weights) */
} soma_epoch_report;

/* What the trainer reports after each batch. */
typedef struct soma_batch_report {
    int epoch;               /* 1-based */
    size_t batch;            /* 1-based within the epoch */
    size_t n_batches;        /* in the epoch */
    size_t rows_done;        /* rows of the epoch trained so far */
    double batch_loss;
    double running_loss;     /* the epoch so far, as train_loss will be */
    double running_accuracy; /* the epoch so far; -1 for regression */
} soma_batch_report;

/* Called after every batch; return non-zero to stop training after it (the
 * net then holds the weights after that batch, and the trainer can go on
 * from there, or be saved as a checkpoint). The callback may also use the
 * net while training goes on (predict, evaluate, save, clone, a
 * checkpoint): each of those calls sees the weights after the batch. Read
 * the weights themselves through soma_net_params and the like in the
 * callback, not through a pointer kept from before: with batches of up to
 * 8 rows and plain gradient descent (gd, no weight decay) the first
 * layer's weights live in the trainer's own copy during an epoch, and
 * those calls are what bring them back into the net. */
typedef int (*soma_batch_fn)(void *ctx, const soma_batch_report *report);
/* Called after every epoch; return non-zero to stop. */
typedef int (*soma_epoch_fn)(void *ctx, const soma_epoch_report *report);

typedef struct soma_train_config {
    soma_optimizer optimizer;
    double learning_rate;
    double momentum;      /* sgd only                                     */
    double beta1, beta2;  /* adam; 0 means the defaults 0.9 and 0.999      */
    double epsilon;       /* adam; 0 means the default 1e-8                */
    double weight_decay;  /* L2: adds weight_decay * w to the gradient of
                             every weight (not biases)                   */
    size_t batch_size;    /* 0: the whole data set in one batch           */
    int epochs;           /* passes over the data, >= 0                   */
    int shuffle;          /* non-zero: seeded reshuffle before each epoch */
    uint64_t seed;        /* shuffling PRNG seed                          */
    int threads;          /* worker threads: 0 = one per core (the
                             default), 1 = none. Results are bit-identical
                             for every thread count. */
    soma_lr_schedule lr_schedule;
    int lr_step;          /* SOMA_LR_STEP: epochs per step (>= 1)          */
    double lr_gamma;      /* SOMA_LR_STEP: factor per step, in (0, 1]      */
    /* Validation data, borrowed, same layout as the training data (see
     * soma_train); val_n = 0 for none. Evaluated after every epoch. */
    const float *val_x, *val_y;
    size_t val_n;
    /* Stop after this many epochs without a lower validation loss and
     * keep the weights of the best epoch; 0 = off. Needs validation data. */
    int early_stopping;
    soma_batch_fn on_batch; /* optional */
    soma_epoch_fn on_epoch; /* optional */
    void *ctx;              /* passed to the callbacks */
} soma_train_config;

/* A config with the defaults: adam, lr 0.001, batch 32, 10 epochs,
 * shuffle on, seed 1, threads 0 (all cores), constant learning rate,
 * lr_step 10 and lr_gamma 0.1 (used by SOMA_LR_STEP), no validation. */
soma_train_config soma_train_config_default(void);

/* Trains net on x [n, n_inputs] with targets y [n, y_cols].
 *
 * Targets: for sse, mse and bce, y_cols equals the number of outputs and
 * holds the wanted output values (for bce each must be 0 or 1). For ce,
 * y_cols is either 1 (the class index 0..k-1 of each row, stored as a float)
 * or k (one row of non-negative target weights per example, normally
 * probabilities that sum to 1).
 *
 * Returns SOMA_ERR_DATA naming the row for a bad target or non-finite
 * input, SOMA_ERR_NUMERIC naming the epoch and batch if the loss, the
 * gradient or the weights become NaN or infinite. A non-finite loss or
 * gradient is caught before the update, so the net keeps the weights from
 * before that batch; an update that itself overflows leaves non-finite
 * weights, which soma_net_save refuses to write. With early stopping the
 * net ends with the weights of the best validation epoch. n must be >= 1. */
soma_status soma_train(soma_net *net, const float *x, const float *y,
                       size_t n, int y_cols, const soma_train_config *cfg,
                       soma_error *err);

/* ---- Step by step ------------------------------------------------------
 * A soma_trainer holds everything a training run needs besides the net:
 * optimizer state, the shuffling PRNG, the position in the run, the
 * early-stopping state and all workspace, so that no allocation happens
 * inside the training loop. soma_train is
 *     t = soma_trainer_new(...);
 *     while (!soma_trainer_finished(t)) soma_trainer_epoch(t, ...);
 *     soma_trainer_finish(t, ...);  */
typedef struct soma_trainer soma_trainer;

/* Creates a trainer for net (borrowed: it must outlive the trainer) with a
 * copy of cfg (the validation data and ctx stay borrowed), for data sets
 * of n_examples rows (this bounds the workspace: batches hold
 * min(batch_size, n_examples) rows, all of them when batch_size is 0).
 * Every later epoch must pass the same n. */
soma_trainer *soma_trainer_new(soma_net *net, const soma_train_config *cfg,
                               size_t n_examples, soma_error *err);
void soma_trainer_free(soma_trainer *t);

/* Runs the rest of the current epoch (all of it, unless an earlier call
 * stopped in the middle) over the same data each time, then evaluates the
 * validation data, updates early stopping and calls on_epoch. Fills
 * *report when not NULL. *stopped (may be NULL) is set when a callback
 * asked to stop; after a stop inside an epoch the next call goes on from
 * the next batch, exactly as if there had been no stop. */
soma_status soma_trainer_epoch(soma_trainer *t, const float *x, const float *y,
                               size_t n, int y_cols, soma_epoch_report *report,
                               int *stopped, soma_error *err);

/* Epochs completed so far. */
int soma_trainer_epochs_done(const soma_trainer *t);

/* Non-zero when the configured epochs are done or early stopping ended
 * the run. */
int soma_trainer_finished(const soma_trainer *t);

/* The epoch (1-based) with the lowest validation loss so far, and that
 * loss in *val_loss (may be NULL); 0 and -1 without validation data or
 * before the first epoch. A checkpoint keeps it. */
int soma_trainer_best(const soma_trainer *t, double *val_loss);

/* Non-zero when early stopping ended the run before its epochs. */
int soma_trainer_stopped_early(const soma_trainer *t);

/* Ends a run: with early stopping, puts the best epoch's weights into the
 * net. Safe to call more than once. */
soma_status soma_trainer_finish(soma_trainer *t, soma_error *err);

/* ---- Checkpoints ---------------------------------------------------------
 * A checkpoint is a model file (soma_net_load, soma info, predict and eval
 * read it) that also holds the optimizer state, the PRNG, the position in
 * the run, the early-stopping state and the configuration, as extra
 * "train." tensors and "soma.train." metadata (docs/model-format.md).
 * Resuming from it and training on the same data gives the same bits as a
 * run that was never interrupted. */

/* Writes the trainer's net and state to path (atomically, like
 * soma_net_save). */
soma_status soma_trainer_save(const soma_trainer *t, const char *path,
                              soma_error *err);

/* Reads a checkpoint: *net receives the network (free with soma_net_free)
 * and *cfg the configuration it was trained with (its pointers, the
 * validation data and callbacks, are NULL: set them before creating the
 * trainer). SOMA_ERR_FORMAT when the file is not a checkpoint. */
soma_status soma_checkpoint_read(const char *path, soma_net **net,
                                 soma_train_config *cfg, soma_error *err);

/* Loads the state of the checkpoint at path into t, which must have been
 * made with the net and config from soma_checkpoint_read of the same file
 * and the same number of rows. */
soma_status soma_trainer_restore(soma_trainer *t, const char *path,
                                 soma_error *err);

/* ------------------------------------------------------------------------ */
/* Data sets                                                                */
/* ------------------------------------------------------------------------ */

/* A table of examples: x [n_rows, n_features] and, when a target was read,
 * y [n_rows] (class index for classification, value for regression). */
typedef struct soma_dataset {
    size_t n_rows;
    int n_features;
    float *x;               /* [n_rows, n_features]                        */
    float *y;               /* [n_rows] or NULL when there is no target    */
    char **feature_names;   /* [n_features]                               */
    char *target_name;      /* NULL when there is no target                */
    int n_classes;          /* 0 for a numeric (regression) target         */
    char **class_names;     /* [n_classes], sorted                         */
    size_t *line;           /* [n_rows]: the source line of each row (1-based,
                               for error messages), or NULL                */
    int y_cols;             /* columns of y: 1 for one target (0 is read as
                               1), or the number of regression targets;
                               y is then [n_rows, y_cols]                  */
} soma_dataset;

void soma_dataset_free(soma_dataset *ds);

/* Splits ds into a training part and a validation part holding
 * round(fraction * n_rows) rows, drawn by a seeded shuffle (the same seed
 * always gives the same split). Both parts are deep copies to free with
 * soma_dataset_free; the row order inside each part follows the shuffle.
 * fraction must be in [0, 1) and leave at least one training row; fraction
 * 0 gives *val = NULL and a copy in *train. */
soma_status soma_dataset_split(const soma_dataset *ds, double fraction,
                               uint64_t seed, soma_dataset **train,
                               soma_dataset **val, soma_error *err);

typedef enum soma_target_kind {
    SOMA_TARGET_AUTO = 0,   /* text labels, or whole numbers of at most 2^24
                               with few distinct values (<= 32): classes;
                               other numbers: values                        */
    SOMA_TARGET_CLASSES,    /* every distinct value is a class              */
    SOMA_TARGET_VALUE       /* the number itself (regression, or 0/1 for one
                               sigmoid output); must be numeric             */
} soma_target_kind;

typedef struct soma_csv_options {
    const char *target;        /* column name, or its 0-based index as text;
                                  NULL: no target (predict)                */
    const char *const *ignore; /* names or indices of columns to drop      */
    int n_ignore;
    /* When not NULL: read exactly these feature columns by name, in this
     * order, and ignore all others (predict and eval with a model). */
    const char *const *features;
    int n_features;
    soma_target_kind target_kind;
    /* When not NULL, class labels to map the target onto (eval with a
     * model): a label outside them is an error naming the line. */
    const char *const *classes;
    int n_classes;
} soma_csv_options;

/* Reads a CSV file: a header row, comma separators, RFC 4180 quoting
 * (double quotes, "" inside quotes, line breaks inside quotes), LF or CRLF
 * line ends, an optional UTF-8 byte-order mark. Every feature must be a
 * finite number. Errors name the file, line and column. On success *out is a
 * new data set to free with soma_dataset_free. */
soma_status soma_csv_read(const char *path, const soma_csv_options *opt,
                          soma_dataset **out, soma_error *err);

/* The same from a memory buffer; name is used in error messages. */
soma_status soma_csv_parse(const char *data, size_t size, const char *name,
                           const soma_csv_options *opt, soma_dataset **out,
                           soma_error *err);

/* ---- Tables as people have them -----------------------------------------
 * soma_table_read reads a delimited text file (CSV, semicolon or tab
 * separated, pipe separated, or aligned by runs of spaces), plain or
 * gzipped (told by its magic bytes, never its name), streaming: the text is
 * never held whole, only the cells. A cell is a number, a missing value or
 * a text. soma_prep_fit then decides what each column is (numeric,
 * categorical, left out), how missing values are filled and what the task
 * is; soma_prep_apply turns a table into the numbers a net takes. A net
 * carries its soma_prep (soma_net_set_prep), so the rows given to it later
 * are raw rows exactly like the training file's. docs/model-format.md
 * specifies how a prep is stored. */

/* The missing-value tokens every table knows (pandas' common ones): the
 * empty cell, NA, N/A, NaN, nan, null, NULL and ?. */
#define SOMA_NA_DEFAULTS "", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"

typedef struct soma_table_options {
    /* 0: detected from the header and the first rows among ',' ';' '\t'
     * '|' and runs of spaces; ' ' means runs of spaces and tabs (leading
     * ones ignored). */
    char sep;
    /* 0: '.', or ',' when the separator is not ',' and the numbers of the
     * first rows are written with decimal commas; '.' or ',' to choose. */
    char decimal;
    const char *const *na_values; /* more missing-value tokens (borrowed) */
    int n_na_values;
    /* Columns (by name) whose cells are all kept as their text, numbers
     * and missing-value tokens included: keys such as "007". */
    const char *const *text_columns;
    int n_text_columns;
    /* With sep 0: the separator when none is found, as in a file of one
     * column (0: ','). A model's training separator, for instance. */
    char fallback_sep;
} soma_table_options;

typedef struct soma_table soma_table;

/* Reads path (plain or gzip) into a table: a header row of column names,
 * then rows with as many fields each. Quoting follows RFC 4180 (double
 * quotes, "" inside, line breaks inside quotes); LF, CRLF or CR line ends;
 * a UTF-8 byte-order mark is skipped; blank lines are skipped; spaces and
 * tabs around a field are trimmed. Errors (SOMA_ERR_FORMAT / _DATA / _IO)
 * name the file and line: a row with another number of fields, an
 * unterminated quote, a NUL byte, corrupt gzip data, duplicate column
 * names (SOMA_ERR_DATA naming both), no data rows. Memory: 4 bytes a cell
 * plus each column's distinct texts. *out: free with soma_table_free. */
soma_status soma_table_read(const char *path, const soma_table_options *opt,
                            soma_table **out, soma_error *err);
/* The same from a buffer holding the whole (plain, not gzipped) text;
 * name is for messages. */
soma_status soma_table_parse(const void *data, size_t size, const char *name,
                             const soma_table_options *opt, soma_table **out,
                             soma_error *err);
void soma_table_free(soma_table *t);

size_t soma_table_n_rows(const soma_table *t);
int soma_table_n_cols(const soma_table *t);
const char *soma_table_col_name(const soma_table *t, int col); /* borrowed */
/* The column called name (exact match), or -1. */
int soma_table_find(const soma_table *t, const char *name);
char soma_table_sep(const soma_table *t);     /* as read: ',' ';' ... ' ' */
char soma_table_decimal(const soma_table *t); /* '.' or ',' */
int soma_table_gzipped(const soma_table *t);
const char *soma_table_name(const soma_table *t); /* the path, borrowed */
/* The text of a cell: a text as read, a number in its shortest form
 * (buf, cap >= 32, holds it), "" for a missing value; NULL out of range. */
const char *soma_table_cell_text(const soma_table *t, size_t row, int col,
                                 char *buf, size_t cap);

typedef enum soma_role {
    SOMA_ROLE_IGNORED = 0, /* left out; reason says why                    */
    SOMA_ROLE_NUMERIC,     /* one input: the number (missing: fill)          */
    SOMA_ROLE_CATEGORICAL, /* one input per category, one-hot               */
    SOMA_ROLE_TARGET
} soma_role;

const char *soma_role_name(soma_role r); /* "ignored", "numeric", ...     */

typedef enum soma_missing {
    SOMA_MISSING_IMPUTE = 0, /* numeric: the training mean; categorical: a
                                category of its own                       */
    SOMA_MISSING_DROP,       /* training drops rows with a missing feature;
                                later rows are still imputed              */
    SOMA_MISSING_ERROR       /* a missing feature is an error naming it   */
} soma_missing;

typedef enum soma_task {
    SOMA_TASK_AUTO = 0,
    SOMA_TASK_CLASSIFY,
    SOMA_TASK_REGRESS
} soma_task;

typedef struct soma_prep_options {
    const char *const *targets; /* column names (>= 1; several: regression) */
    int n_targets;
    const char *const *categorical, *const *numeric, *const *ignore;
    int n_categorical, n_numeric, n_ignore; /* forced roles, by name      */
    soma_missing missing;
    soma_task task;
    /* The most categories a categorical column may have (0: 1000). An
     * inferred column with more is left out; a forced one is an error. */
    int max_categories;
    /* Non-zero: keep constant numeric columns (for layers without bias, a
     * constant input is the bias; the blog post's third input is one). */
    int keep_constant;
    /* With a task other than AUTO: why it was chosen, for task_reason
     * (NULL: "as asked (--task NAME)"). Copied. */
    const char *task_reason;
} soma_prep_options;

typedef struct soma_prep_column {
    char *name;
    soma_role role;
    char *reason;         /* one line: why this role (never NULL)         */
    double fill;          /* numeric: the value for a missing cell        */
    int n_categories;     /* categorical: the vocabulary, sorted by strcmp */
    char **categories;
    int missing_category; /* categorical: one more input for "missing"    */
} soma_prep_column;

/* What soma_prep_fit decided, read-only to callers. Inputs are laid out
 * column by column in file order: a numeric column gives one, a
 * categorical one n_categories (+ 1 with missing_category), others none. */
typedef struct soma_prep {
    int n_columns;
    soma_prep_column *columns;  /* [n_columns], every column of the table */
    char sep, decimal;          /* as the training file was read           */
    int n_na_values;            /* the extra missing tokens it was read with */
    char **na_values;
    soma_missing missing;
    soma_task task;             /* SOMA_TASK_CLASSIFY or SOMA_TASK_REGRESS */
    char *task_reason;          /* one line                                 */
    int n_targets;
    int *targets;               /* [n_targets] column indices, output order */
    int n_classes;              /* classification: the labels, sorted      */
    char **classes;             /* (numerically when all are numbers)      */
    /* Regression: y is trained as (y - mean) / std, and soma_prep_unscale
     * turns outputs back into the target's units. NULL: no scaling. */
    double *target_mean, *target_std;
    int n_inputs;               /* the width of the encoded rows           */
} soma_prep;

/* Infers the roles of t's columns and fits what the encoding needs: fill
 * values (means of the numbers), vocabularies, the classes or the target's
 * mean and deviation. Rows whose target is missing are not used. Rules, in
 * order: a forced role; a target; no value at all, or one value only:
 * ignored; an exported index (a column without a name, or called index,
 * id, row or rownames, that counts the rows 0, 1, 2, ... or 1, 2, 3, ...):
 * ignored; text that looks like dates, or in which almost every value is
 * distinct (names, codes, free text), or with more than max_categories
 * values: ignored; other text: categorical; numbers: numeric. The task
 * (opt->task AUTO): text labels are classes; numbers are classes when they
 * are whole, written without a decimal point, and few for the rows: at
 * most 10 distinct values seen on 5 rows each on average, or at most 32
 * seen on 20 (or only two values); else regression.
 * Errors name the file and column: an unknown column (SOMA_ERR_ARG), a
 * column forced twice, a target that is entirely missing, a forced
 * categorical column over max_categories, a text target for regression,
 * no feature left. *out: free with soma_prep_free. */
soma_status soma_prep_fit(const soma_table *t, const soma_prep_options *opt,
                          soma_prep **out, soma_error *err);
void soma_prep_free(soma_prep *p);

/* A deep copy, or NULL (err says why). */
soma_prep *soma_prep_clone(const soma_prep *p, soma_error *err);

/* Counts soma_prep_apply reports. */
typedef struct soma_prep_report {
    size_t rows_in;          /* data rows in the table                     */
    size_t dropped_target;   /* rows without a target value (not used)     */
    size_t dropped_missing;  /* SOMA_MISSING_DROP: rows with a missing feature */
    size_t imputed;          /* cells filled                               */
    size_t unseen;           /* categorical cells with a category not in the
                                vocabulary: encoded as all zeros           */
    size_t unknown_class;    /* rows whose label is not one of the classes:
                                y is -1 for them                           */
    int unseen_col;          /* the first column with an unseen category, or -1 */
} soma_prep_report;

enum {
    SOMA_PREP_TARGETS = 1, /* read the targets too (their columns must exist) */
    SOMA_PREP_TRAINING = 2 /* apply the missing policy's row drops        */
};

/* Encodes t (which may be another file than the one fitted: columns are
 * found by name, in any order, extra columns ignored) into a data set of
 * n_inputs features. With SOMA_PREP_TARGETS, y holds the class index of
 * each row (-1 for a label outside the classes) or the target values in
 * their units ([n_rows, n_targets]), and rows with a missing target are
 * left out. Errors naming file, line and column: a column the prep needs
 * is absent; a numeric column holds text; a categorical column holds only
 * numbers none of which is a category (a shifted or wrong column); a
 * missing value under SOMA_MISSING_ERROR. rep may be NULL. */
soma_status soma_prep_apply(const soma_prep *p, const soma_table *t, int flags,
                            soma_dataset **out, soma_prep_report *rep,
                            soma_error *err);

/* The same, but x is written over t's cells where the encoded rows are no
 * wider than the table's (no memory for a second copy; otherwise x is a
 * copy as with soma_prep_apply). Afterwards t may hold no rows: only
 * soma_table_free is left to do with it. */
soma_status soma_prep_apply_in_place(const soma_prep *p, soma_table *t,
                                     int flags, soma_dataset **out,
                                     soma_prep_report *rep, soma_error *err);

/* Regression: y [n, n_targets] in place to the training scale, and outputs
 * out [n, n_targets] of a net back to the target's units. No-ops without
 * target scaling. */
void soma_prep_scale(const soma_prep *p, float *y, size_t n);
void soma_prep_unscale(const soma_prep *p, float *out, size_t n);

/* The prep as JSON text (docs/model-format.md, "soma.preprocess"), and
 * back; from_json validates every field (SOMA_ERR_FORMAT naming name, or
 * SOMA_ERR_UNSUPPORTED for a later version). to_json's text is freed with
 * soma_prep_json_free. */
char *soma_prep_to_json(const soma_prep *p, soma_error *err);
soma_prep *soma_prep_from_json(const char *json, const char *name,
                               soma_error *err);
void soma_prep_json_free(char *json);

/* Gives net a copy of p (NULL removes it); p->n_inputs must equal the
 * net's inputs. The prep is saved with the net. A classification prep
 * also gives a net without class labels its classes. soma_net_load
 * refuses a file whose prep disagrees with the net: another input width,
 * for regression another number of targets than outputs, for
 * classification other class labels or an output count that does not fit
 * them. */
soma_status soma_net_set_prep(soma_net *net, const soma_prep *p,
                              soma_error *err);
/* The net's prep (borrowed), or NULL for a net without one. */
const soma_prep *soma_net_prep(const soma_net *net);

/* ---- IDX files (MNIST, Fashion-MNIST) -----------------------------------
 * The IDX format: bytes 0-1 zero, byte 2 the element type (0x08: unsigned
 * byte), byte 3 the number of dimensions D, then D big-endian u32 sizes,
 * then the elements row-major and nothing after. Files may be gzipped; the
 * content decides, never the name. */

/* Sets *is_idx to 1 when path holds IDX data, plain or gzipped: its first
 * two (uncompressed) bytes are zero, which no text file starts with;
 * soma_idx_read then checks the rest of the header. Otherwise *is_idx is 0
 * (a CSV file, say, or a gzip file holding anything else). Reads at most
 * the first few bytes. Returns SOMA_ERR_IO naming the path when the file
 * cannot be opened or read, SOMA_ERR_FORMAT when a gzip file is corrupt
 * before its second byte. */
soma_status soma_idx_sniff(const char *path, int *is_idx, soma_error *err);

/* Reads IDX images of unsigned bytes, [n, rows, cols] or [n, d], into a data
 * set of n rows and rows * cols (or d) features scaled to [0, 1] as
 * byte / 255. feature_names is NULL: IDX columns have no names.
 *
 * labels (may be NULL: no target) names an IDX file of n unsigned byte
 * labels [n]. y[i] is then the class index of image i and target_name is
 * "label". Without a class list, the classes are the distinct label values
 * in numerical order, named by their decimal text ("0", "1", ... for
 * MNIST). With classes [n_classes] (a model's, borrowed; NULL and 0 for
 * none), labels map onto them by text or numerical value ("7" matches
 * class "7" or "7.0") and a label that matches none is SOMA_ERR_DATA naming
 * the file and the item's 0-based index. line is NULL.
 *
 * Checks, each with a message naming the file: the magic number
 * (SOMA_ERR_FORMAT; SOMA_ERR_UNSUPPORTED for the IDX types other than
 * unsigned byte), the number of dimensions (1 for labels, 2 or 3 for
 * images), dimensions that are 0 or whose product overflows, data shorter
 * than the header declares ("truncated: the header says 60000 images of
 * 28x28 = 47040000 bytes, the file has 1234") or followed by more bytes,
 * corrupt or truncated gzip data (SOMA_ERR_FORMAT), and a count of labels
 * that differs from the count of images (SOMA_ERR_DATA). Never allocates
 * from the header's counts before the bytes exist: memory follows the data
 * that arrives, so a hostile header cannot claim more than the file holds.
 * On success *out is a new data set to free with soma_dataset_free;
 * otherwise *out is NULL. */
soma_status soma_idx_read(const char *images, const char *labels,
                          const char *const *classes, int n_classes,
                          soma_dataset **out, soma_error *err);

/* ------------------------------------------------------------------------ */
/* Model files (safetensors; see docs/model-format.md)                      */
/* ------------------------------------------------------------------------ */

/* Writes the net to path: first to a temporary file in the same directory,
 * flushed and synced, then renamed over path, so an existing file is either
 * kept whole or replaced whole. */
soma_status soma_net_save(const soma_net *net, const char *path,
                          soma_error *err);

/* Reads a model file, validating every field (see docs/model-format.md).
 * Returns NULL with err set on any problem; never crashes on a hostile file.
 * Free with soma_net_free. */
soma_net *soma_net_load(const char *path, soma_error *err);

/* The same from a buffer holding a whole file; name is for messages. */
soma_net *soma_net_load_buffer(const void *data, size_t size, const char *name,
                               soma_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_H */
