/*
 * internal.h - what the parts of libsoma share and the public API hides:
 * the net's layout, the one allocator, error helpers, the PRNG.
 */
#ifndef SOMA_INTERNAL_H
#define SOMA_INTERNAL_H

#include "soma.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SOMA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SOMA_PRINTF(a, b)
#endif

/* Elementwise loops the compiler vectorises are built twice on x86-64 with
 * GCC, for AVX2 and for the baseline, and the loader picks one for the CPU
 * (GCC function multiversioning). Both give the same bits: the loops have no
 * reductions over floats and the build forbids FMA contraction. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(SOMA_NO_SIMD) && !defined(__SANITIZE_ADDRESS__) &&          \
    !defined(__SANITIZE_THREAD__)
#define SOMA_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SOMA_VECTOR_CLONES
#endif

/* ---- Errors -------------------------------------------------------------
 * Sets err (when not NULL) and returns code, so a failing path reads
 *     return soma_fail(err, SOMA_ERR_FORMAT, "%s: line %zu: ...", ...);  */
soma_status soma_fail(soma_error *err, soma_status code, const char *fmt, ...)
    SOMA_PRINTF(3, 4);
void soma_clear_error(soma_error *err);

/* ---- Memory -------------------------------------------------------------
 * Every allocation in the library goes through these, so tests can make the
 * k-th one fail. Sizes are checked for overflow: soma_alloc_array(n, size)
 * returns NULL when n * size does not fit in size_t. soma_free(NULL) is a
 * no-op. */
void *soma_alloc(size_t size);
void *soma_alloc_zero(size_t n, size_t size);
void *soma_alloc_array(size_t n, size_t size);
void *soma_realloc_array(void *p, size_t n, size_t size);
void soma_free(void *p);
char *soma_strdup(const char *s);

/* 1 when s is valid UTF-8 (no overlong forms, no surrogates), else 0. Model
 * files hold UTF-8 text, so every string a net keeps must be. */
int soma_utf8_valid(const char *s);

/* Overflow-checked size arithmetic: return 0 and leave *out untouched on
 * overflow, 1 on success. */
int soma_size_mul(size_t a, size_t b, size_t *out);
int soma_size_add(size_t a, size_t b, size_t *out);

/* Failure injection for tests: after soma_debug_fail_after(k), the k-th
 * following allocation (1-based) and none other fails; k = 0 disables.
 * soma_debug_alloc_count() counts allocations since the last call to
 * soma_debug_fail_after. Not thread-safe; tests only. */
void soma_debug_fail_after(unsigned long k);
unsigned long soma_debug_alloc_count(void);

/* The trainer runs a step on one thread when its rows times the net's
 * parameters are below this (SMALL_STEP_WORK in train.c). Tests set it to
 * 0 so that small nets still take the threaded paths, and put it back
 * with a negative value. Not thread-safe; tests only. */
void soma_debug_small_step_work(double work);

/* ---- Tables (io/table.c, prep.c) ----------------------------------------
 * A table keeps its cells as float bits, row-major [n_rows, n_cols]: a
 * number is itself, a missing value and a text are quiet NaNs (see
 * table.c). Each column keeps its distinct texts in a soma_dict. */
enum { SOMA_CELL_NUMBER, SOMA_CELL_MISSING, SOMA_CELL_TEXT };
int soma_cell_kind(uint32_t cell);
uint32_t soma_cell_text_id(uint32_t cell); /* SOMA_CELL_TEXT only */
float soma_cell_number(uint32_t cell);     /* SOMA_CELL_NUMBER only */

typedef struct soma_dict {
    size_t *off;            /* [n] text k at pool + off[k], NUL-terminated */
    uint32_t *len;          /* [n] */
    uint64_t *hash;         /* [n] */
    uint32_t n, cap;
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t *slots;        /* open addressing; UINT32_MAX is empty */
    size_t n_slots;
    uint32_t max;           /* the most texts kept; 0: SOMA_DICT_MAX */
} soma_dict;

/* Texts a column keeps by default, and the most any column can (the
 * 22-bit NaN payload of a text cell holds the id + 1, one value is the
 * overflow mark). */
#define SOMA_DICT_MAX (1u << 20)
#define SOMA_DICT_MAX_ALL 0x3FFFFDu

/* FNV-1a of s[0..len): the hash of soma_dict and of the CSV reader's
 * label table. */
uint64_t soma_hash_bytes(const char *s, size_t len);
int64_t soma_dict_find(const soma_dict *d, const char *s, size_t len);
int64_t soma_dict_add(soma_dict *d, const char *s, size_t len);
void soma_dict_free(soma_dict *d);
#define SOMA_DICT_TEXT(d, k) ((d)->pool + (d)->off[k])

/* What reading counted in each column. */
typedef struct soma_table_stats {
    size_t n_number, n_missing, n_text;
    size_t n_point;         /* numbers written with a decimal point or an
                               exponent */
    size_t first_text_line; /* line of the first text, 0 for none */
    int overflow;           /* more distinct texts than are kept */
    int as_text;            /* every cell is kept as text */
} soma_table_stats;

struct soma_table {
    char *name;
    int n_cols;
    char **names;           /* [n_cols] */
    soma_dict *dicts;       /* [n_cols] */
    soma_table_stats *stats;/* [n_cols] */
    size_t n_rows, rows_cap;
    uint32_t *cells;        /* [n_rows, n_cols] */
    size_t *line;           /* [n_rows] source line of each row */
    char sep, decimal;
    int sep_detected, gzipped;
    int n_na;
    char **na;              /* extra missing-value tokens */
};

/* Whether s[0..len) is one of t's missing-value tokens. */
int soma_table_is_na(const soma_table *t, const char *s, size_t len);

/* Plain decimals ("-12.5", "3e-4", with point as the decimal mark) parsed
 * without strtod: when the digits fit in 53 bits and the power of ten is
 * at most 22, one multiply or divide rounds correctly (Clinger's fast
 * path), so the result is the bits strtod gives. Returns 0 for anything
 * else, valid numbers included. *has_point (may be NULL) is set when the
 * text had a decimal point or an exponent. */
int soma_fast_decimal(const char *s, size_t len, char point, double *v,
                      int *has_point);

/* The whole of s[0..len) as a finite number that fits a float (decimal
 * mark point): 1, else 0; soma_fast_decimal first, then strtod on what
 * looks like a number (no "inf", no hex). */
int soma_parse_cell_number(const char *s, size_t len, char point, double *v,
                           int *has_point);

/* The shortest "%.Ng" text that reads back as v: how a number in a
 * categorical column or a class label is named. */
void soma_format_number(float v, char *buf, size_t cap);

/* ---- PRNG ---------------------------------------------------------------
 * xoshiro256** seeded through splitmix64: fast, 256 bits of state, the
 * same sequence on every platform. */
typedef struct soma_rng {
    uint64_t s[4];
} soma_rng;

void soma_rng_seed(soma_rng *r, uint64_t seed);
uint64_t soma_rng_next(soma_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable). */
float soma_rng_float(soma_rng *r);
/* Uniform integer in [0, n), unbiased; n >= 1. */
uint64_t soma_rng_below(soma_rng *r, uint64_t n);

/* ---- The network --------------------------------------------------------
 * Parameters live in one flat array: for each layer its weight
 * [units, inputs] then its bias [units]. w_off and b_off index into it. */
struct soma_net {
    int n_inputs;
    int n_layers;
    soma_layer_spec *layers; /* [n_layers] */
    int *fan_in;             /* [n_layers] inputs of each layer */
    soma_loss loss;
    size_t *w_off;           /* [n_layers] */
    size_t *b_off;           /* [n_layers], meaningful where layers[i].bias */
    size_t n_params;
    float *params;           /* [n_params] */
    int max_units;           /* widest layer, inputs included */

    float *mean, *std;       /* [n_inputs] each, or both NULL */

    int n_classes;
    char **classes;
    int n_features;
    char **features;
    int n_meta;
    char **meta_keys, **meta_values;
    soma_prep *preprocess;   /* raw table rows to inputs, or NULL */

    int threads;             /* for predict and evaluate, 0 = all cores */

    /* predict workspace, made on first use: three [rows, max_units]
     * buffers, and the threads with their matrix workspace (exec) */
    float *ws;
    size_t ws_rows;
    struct soma_exec *exec;
    /* soma_net_prepare's copy of the weights for one-row predictions: each
     * layer's weight transposed in 16-column panels (the layout of
     * soma_gdt_step, kernels.h) at prep + prep_off[l]; NULL when the net
     * is not prepared. Anything that may change the weights drops it
     * (soma_net_unprepare). */
    float *prep;
    size_t prep_off[SOMA_MAX_LAYERS];
    /* Set by a trainer while some of the weights live in its own working
     * copy (small batches with gd, train.c): sync(sync_ctx) puts them back.
     * soma_net_sync calls it; every function that reads or writes the
     * weights calls soma_net_sync first. */
    void (*sync)(void *ctx);
    void *sync_ctx;
};

/* Brings the net's weights up to date when a trainer holds some of them
 * (see sync above). Takes a const net: the weights it writes are the ones
 * the net stands for already. */
void soma_net_sync(const soma_net *net);

/* Drops soma_net_prepare's copy of the weights. */
void soma_net_unprepare(soma_net *net);

/* Checks a spec the way soma_net_new does. */
soma_status soma_spec_check(const soma_spec *spec, soma_error *err);

/* Forward pass over a batch already standardised: in [n, n_inputs],
 * acts[l] [n, units_l] receives the output of layer l. When logits is not
 * NULL the last layer's pre-activation is also copied there [n, units].
 * Pure arithmetic: no checks, no allocation. */
struct soma_exec;
void soma_forward(const struct soma_exec *e, const soma_net *net,
                  const float *in, size_t n, float *const *acts, float *logits);

/* The same from layer first on, in being that layer's input [n, fan_in]. */
void soma_forward_from(const struct soma_exec *e, const soma_net *net,
                       int first, const float *in, size_t n,
                       float *const *acts, float *logits);

/* Layer l's bias and activation on z [n, units], which holds the layer's
 * product in . W^T computed elsewhere (the small-batch trainer's own
 * kernel): the bits soma_forward gives, logits as there. */
void soma_forward_finish(const soma_net *net, int l, float *z, size_t n,
                         float *logits);

/* Copies rows [n, d] from src to dst, standardising with the net's
 * mean/std when it has them. */
void soma_standardize_rows(const soma_net *net, const float *src, size_t n,
                           float *dst);

/* Returns the index of the first non-finite value in x [n] or n. */
size_t soma_find_nonfinite(const float *x, size_t n);


/* ---- Activations (src/activations.c) -------------------------------------
 * In place over x [rows, cols]. backward turns g = dL/dy into dL/dz using
 * the forward output y = f(z) (every soma activation's derivative can be
 * written in terms of its output). */
void soma_act_forward(soma_activation a, float *x, size_t rows, int cols);
void soma_act_backward(soma_activation a, const float *y, float *g, size_t rows,
                       int cols);
#define SOMA_LEAKY_SLOPE 0.01f

/* ---- Losses (src/losses.c) -----------------------------------------------
 * For a batch of B rows with k outputs: logits z [B, k] (the last layer's
 * pre-activation), out [B, k] = act(z), targets y [B, y_cols] as described
 * at soma_train. Returns the loss of the batch (a mean or, for sse, a sum,
 * see soma_loss) and, when grad is not NULL, writes into grad [B, k]:
 *   - for the fused pairs (bce with sigmoid, ce with softmax) dL/dz;
 *   - otherwise dL/dout, to be passed through soma_act_backward.
 * soma_loss_is_fused tells which. norm_rows is the number of rows the mean
 * is taken over (B for a batch). */
double soma_loss_eval(soma_loss loss, const float *z, const float *out,
                      const float *y, int y_cols, size_t B, int k,
                      double norm_rows, float *grad);
int soma_loss_is_fused(soma_loss loss);

/* Checks targets y [n, y_cols] against the loss and output width: shape,
 * finiteness, 0/1 for bce, class indices for ce. Names the row on error. */
soma_status soma_check_targets(soma_loss loss, int k, const float *y,
                               size_t n, int y_cols, soma_error *err);

/* Number of correct predictions in a batch for classification losses. */
size_t soma_count_correct(soma_loss loss, const float *out, const float *y,
                          int y_cols, size_t B, int k);
/* The true class of row i of the targets (ce, bce with one output). */
int soma_target_class(soma_loss loss, const float *y_row, int y_cols, int k);

/* ---- Optimizers (src/optimizers.c) ---------------------------------------
 * Flat loops over the parameter array w [n], its gradient g [n] and the
 * optimizer state m, v [n] (unused ones may be NULL). step is the 1-based
 * update count (Adam's bias correction). */
typedef struct soma_opt_params {
    soma_optimizer kind;
    float lr, momentum, beta1, beta2, epsilon;
    double beta1_pow, beta2_pow; /* beta^step, kept by the caller */
} soma_opt_params;

/* Returns non-zero when an updated weight is NaN or infinite (checked in
 * the same pass). */
int soma_opt_update(const soma_opt_params *p, float *w, const float *g,
                    float *m, float *v, size_t n);

/* Non-zero when x[0..n) holds a NaN or an infinity (one pass, no early
 * exit: the fast check behind soma_find_nonfinite). */
int soma_any_nonfinite(const float *x, size_t n);

/* ---- Training internals, exposed for tests (src/train.c) ----------------
 * The gradient of the loss over rows x [n, n_inputs], y [n, y_cols] taken
 * as one batch (n <= the trainer's batch size), written to grad
 * [n_params]; returns the loss. No update, no weight decay. */
double soma_trainer_gradient(soma_trainer *t, const float *x, const float *y,
                             size_t n, int y_cols, float *grad);

/* ---- Threads (src/pool.c) -------------------------------------------------
 * A pool runs one task per thread: soma_pool_run(p, fn, ctx) calls
 * fn(ctx, t, n) for t = 0..n-1 with n = soma_pool_threads(p), task 0 on the
 * calling thread, and returns when all are done. Workers spin briefly
 * between tasks, then sleep. A NULL pool means one thread. */
typedef struct soma_pool soma_pool;
typedef void (*soma_task_fn)(void *ctx, int task, int n_tasks);

soma_pool *soma_pool_new(int threads, soma_error *err);
void soma_pool_free(soma_pool *p);
int soma_pool_threads(const soma_pool *p);
void soma_pool_run(soma_pool *p, soma_task_fn fn, void *ctx);

/* Everything a threaded matrix product needs: the pool and one
 * SOMA_GEMM_WS workspace per thread. */
typedef struct soma_exec {
    soma_pool *pool;
    int threads;
    float *ws; /* [threads * SOMA_GEMM_WS] */
} soma_exec;

/* threads: 0 = one per core. */
soma_status soma_exec_init(soma_exec *e, int threads, soma_error *err);
void soma_exec_free(soma_exec *e);

/* How many threads soma_gemm gives a product of this shape (1 when waking
 * others would cost more than they save). */
int soma_gemm_threads(const soma_exec *e, int M, int N, int K);

/* soma_sgemm (kernels.h) split over the exec's threads, followed by the
 * epilogue ep (bias and ReLU, may be NULL): the output is cut into blocks
 * of whole 16-column panels or 6-row strips, one per thread. Every element
 * is computed by the same code whatever the split, so the result does not
 * depend on the thread count. */
struct soma_epilogue;
void soma_gemm(const soma_exec *e, int trans_a, int trans_b, int M, int N,
               int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc,
               const struct soma_epilogue *ep);

/* ---- The trainer (src/train.c, src/checkpoint.c) -------------------------
 * See soma_trainer_epoch in train.c for how rng and next_batch mark the
 * position in a run. */
struct soma_trainer {
    soma_net *net;               /* borrowed */
    soma_train_config cfg;
    size_t n;                    /* rows of the data set */
    size_t batch;                /* rows per batch */
    soma_rng rng;                /* at the start of the current epoch */
    int epochs_done;
    size_t next_batch;           /* first untrained batch of the epoch */
    double part_loss;            /* the current epoch's loss so far */
    size_t part_correct;
    double part_seconds;
    uint64_t steps;              /* updates so far */
    double beta1_pow, beta2_pow; /* Adam's beta^steps */
    double best_loss;            /* validation; INFINITY before any */
    int best_epoch;              /* 0: none yet */
    int bad_epochs;              /* epochs since the best */
    int early_stopped;
    float *best;                 /* [n_params] best weights, early stopping */
    size_t *perm;                /* [n] row order of the current epoch */
    float *grad;                 /* [n_params] */
    float *m, *v;                /* [n_params] optimizer state or NULL */
    float *xb;                   /* [batch, n_inputs] */
    float *yb;                   /* [batch, n_outputs] */
    float *acts;                 /* per layer [batch, units_l], contiguous */
    float *logits;               /* [batch, k] */
    float *delta[2];             /* [batch, max_units] each */
    /* the small-batch path only (see fused_update in train.c): every
     * layer's delta [batch, units] laid out as acts, and one chunk of
     * gradient rows */
    float *d1;
    float *gchunk;               /* [GCHUNK_FLOATS or a row, if wider] */
    size_t gchunk_n;
    /* small batches with plain gradient descent without decay (see "the
     * first layer transposed" in train.c): layer 0's weight transposed
     * [fan_in, units], the inputs of the batch whose layer-0 update is
     * pending [batch, n_inputs], and the state of the two */
    float *wt;                   /* in wt_mem, 64-byte aligned */
    float *wt_mem;
    float *xprev;
    int wt_live;                 /* wt holds layer 0's weights, the net's
                                    copy is stale */
    size_t wt_pending;           /* rows of xprev whose update is not yet
                                    in wt (0: none) */
    float wt_lr;                 /* its learning rate */
    size_t wt_batch;             /* its batch, 1-based, for errors */
    int wt_sync_bad;             /* soma_net_sync applied it, and a weight
                                    became NaN or infinite */
    soma_exec exec;              /* threads and workspace of this step:
                                    exec_all, or exec_one for small steps */
    soma_exec exec_all;          /* the configured threads (owns the memory) */
    soma_exec exec_one;          /* the same workspace, no other thread */
};

#endif /* SOMA_INTERNAL_H */
