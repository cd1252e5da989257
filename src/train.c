/*
 * train.c - the training loop: batches, forward, loss, backward, update,
 * then validation, early stopping and the learning-rate schedule.
 *
 * All memory is allocated by soma_trainer_new; an epoch allocates nothing.
 * Per batch of B rows, with a_l [B, units_l] the output of layer l (a_-1 the
 * standardised input) and W_l [units_l, fan_in_l]:
 *   forward   z_l = a_{l-1} . W_l^T + b_l,   a_l = f_l(z_l)
 *   loss      d_L = dL/dz_L (fused losses) or f_L'(dL/da_L)
 *   backward  dW_l = d_l^T . a_{l-1},  db_l = column sums of d_l,
 *             d_{l-1} = f_{l-1}'(d_l . W_l)
 *
 * Position in a run: t->rng is the PRNG as it was at the start of the
 * current epoch, and next_batch the first batch not yet trained. The
 * epoch's row order is regenerated from t->rng whenever needed, so this
 * pair (saved in checkpoints) is all it takes to go on from any batch.
 */
#include "internal.h"
#include "kernels/kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

/* Floats of the gradient buffer of the small-batch path (fused_update). */
#define GCHUNK_FLOATS 4096
/* Batches of up to this many rows with plain gradient descent (no weight
 * decay) take the small-batch path with the first layer transposed (see
 * "the first layer transposed" below; the measurements behind the number
 * are there); other optimizers take the small-batch path at batch size 1
 * only. */
#define GDT_MAX_BATCH 8

static const char *const schedule_names[] = {"constant", "step", "cosine"};

const char *soma_lr_schedule_name(soma_lr_schedule s)
{
    return (int)s >= 0 && (int)s < 3 ? schedule_names[s] : NULL;
}

int soma_lr_schedule_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, schedule_names[i]) == 0)
            return i;
    return -1;
}

soma_train_config soma_train_config_default(void)
{
    soma_train_config c;
    memset(&c, 0, sizeof c);
    c.optimizer = SOMA_OPT_ADAM;
    c.learning_rate = 0.001;
    c.batch_size = 32;
    c.epochs = 10;
    c.shuffle = 1;
    c.seed = 1;
    c.lr_schedule = SOMA_LR_CONSTANT;
    c.lr_step = 10;
    c.lr_gamma = 0.1;
    return c;
}

static soma_status check_config(const soma_train_config *c, soma_error *err)
{
    if (!soma_optimizer_name(c->optimizer))
        return soma_fail(err, SOMA_ERR_ARG, "unknown optimizer %d",
                         (int)c->optimizer);
    if (!isfinite(c->learning_rate) || c->learning_rate < 0.0)
        return soma_fail(err, SOMA_ERR_ARG,
                         "learning rate must be a finite number >= 0, not %g",
                         c->learning_rate);
    if (!(c->momentum >= 0.0 && c->momentum < 1.0))
        return soma_fail(err, SOMA_ERR_ARG, "momentum must be in [0, 1), not %g",
                         c->momentum);
    if (!(c->beta1 >= 0.0 && c->beta1 < 1.0) || !(c->beta2 >= 0.0 && c->beta2 < 1.0))
        return soma_fail(err, SOMA_ERR_ARG, "adam betas must be in [0, 1)");
    if (!(c->epsilon >= 0.0) || !isfinite(c->epsilon))
        return soma_fail(err, SOMA_ERR_ARG, "adam epsilon must be >= 0");
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return soma_fail(err, SOMA_ERR_ARG,
                         "weight decay must be a finite number >= 0, not %g",
                         c->weight_decay);
    if (c->epochs < 0)
        return soma_fail(err, SOMA_ERR_ARG, "epochs must be >= 0, not %d",
                         c->epochs);
    if (c->threads < 0 || c->threads > 1024)
        return soma_fail(err, SOMA_ERR_ARG, "threads must be 0..1024, not %d",
                         c->threads);
    if (!soma_lr_schedule_name(c->lr_schedule))
        return soma_fail(err, SOMA_ERR_ARG, "unknown learning-rate schedule %d",
                         (int)c->lr_schedule);
    if (c->lr_schedule == SOMA_LR_STEP &&
        (c->lr_step < 1 || !(c->lr_gamma > 0.0 && c->lr_gamma <= 1.0)))
        return soma_fail(err, SOMA_ERR_ARG,
                         "the step schedule needs lr_step >= 1 and lr_gamma in "
                         "(0, 1]");
    if (c->early_stopping < 0)
        return soma_fail(err, SOMA_ERR_ARG, "early stopping patience must be >= 0");
    if (c->val_n > 0 && (!c->val_x || !c->val_y))
        return soma_fail(err, SOMA_ERR_ARG, "validation data missing");
    if (c->early_stopping > 0 && c->val_n == 0)
        return soma_fail(err, SOMA_ERR_ARG,
                         "early stopping needs validation data");
    return SOMA_OK;
}

void soma_trainer_free(soma_trainer *t)
{
    if (!t)
        return;
    soma_free(t->perm);
    soma_free(t->grad);
    soma_free(t->m);
    soma_free(t->v);
    soma_free(t->best);
    soma_free(t->xb);
    soma_free(t->yb);
    soma_free(t->acts);
    soma_free(t->logits);
    soma_free(t->delta[0]);
    soma_free(t->delta[1]);
    soma_free(t->d1);
    soma_free(t->gchunk);
    if (t->wt_live) { /* not left: never, but the hook must not dangle */
        t->net->sync = NULL;
        t->net->sync_ctx = NULL;
    }
    soma_free(t->wt_mem);
    soma_free(t->xprev);
    soma_exec_free(&t->exec_all);
    soma_free(t);
}

soma_trainer *soma_trainer_new(soma_net *net, const soma_train_config *cfg,
                               size_t n_examples, soma_error *err)
{
    if (!net || !cfg || n_examples == 0) {
        soma_fail(err, SOMA_ERR_ARG,
                  "training needs a net, a config and at least one example");
        return NULL;
    }
    if (check_config(cfg, err) != SOMA_OK)
        return NULL;
    soma_trainer *t = soma_alloc_zero(1, sizeof *t);
    if (!t)
        goto nomem;
    t->net = net;
    t->cfg = *cfg;
    if (t->cfg.beta1 == 0.0)
        t->cfg.beta1 = 0.9;
    if (t->cfg.beta2 == 0.0)
        t->cfg.beta2 = 0.999;
    if (t->cfg.epsilon == 0.0)
        t->cfg.epsilon = 1e-8;
    t->n = n_examples;
    t->batch = cfg->batch_size == 0 || cfg->batch_size > n_examples
                   ? n_examples
                   : cfg->batch_size;
    soma_rng_seed(&t->rng, cfg->seed);
    t->beta1_pow = t->beta2_pow = 1.0;
    t->best_loss = INFINITY;

    size_t P = net->n_params, B = t->batch, k = (size_t)soma_net_n_outputs(net);
    size_t act_total = 0;
    for (int l = 0; l < net->n_layers; l++) {
        size_t sz;
        if (!soma_size_mul(B, (size_t)net->layers[l].units, &sz) ||
            !soma_size_add(act_total, sz, &act_total))
            goto nomem;
    }
    size_t wide;
    if (!soma_size_mul(B, (size_t)net->max_units, &wide))
        goto nomem;
    t->perm = soma_alloc_array(n_examples, sizeof *t->perm);
    t->grad = soma_alloc_array(P, sizeof(float));
    int need_m = cfg->optimizer != SOMA_OPT_GD, need_v = cfg->optimizer == SOMA_OPT_ADAM;
    if (need_m)
        t->m = soma_alloc_zero(P, sizeof(float));
    if (need_v)
        t->v = soma_alloc_zero(P, sizeof(float));
    if (cfg->early_stopping > 0)
        t->best = soma_alloc_array(P, sizeof(float));
    t->xb = soma_alloc_array(B * (size_t)net->n_inputs, sizeof(float));
    t->yb = soma_alloc_array(B * k, sizeof(float));
    t->acts = soma_alloc_array(act_total, sizeof(float));
    t->logits = soma_alloc_array(B * k, sizeof(float));
    t->delta[0] = soma_alloc_array(wide, sizeof(float));
    t->delta[1] = soma_alloc_array(wide, sizeof(float));
    if (!t->perm || !t->grad || (need_m && !t->m) || (need_v && !t->v) ||
        (cfg->early_stopping > 0 && !t->best) || !t->xb || !t->yb || !t->acts ||
        !t->logits || !t->delta[0] || !t->delta[1])
        goto nomem;
    int plain_gd = cfg->optimizer == SOMA_OPT_GD && cfg->weight_decay == 0.0;
    if (B == 1 || (plain_gd && B <= GDT_MAX_BATCH)) {
        /* d1: every layer's delta for a batch, laid out as t->acts */
        t->gchunk_n = GCHUNK_FLOATS > (size_t)net->max_units
                          ? GCHUNK_FLOATS
                          : (size_t)net->max_units;
        t->d1 = soma_alloc_array(act_total, sizeof(float));
        /* one buffer per thread (the exec's threads, below) */
        int T = cfg->threads <= 0 ? soma_cpu_count() : cfg->threads;
        t->gchunk = soma_alloc_array(t->gchunk_n * (size_t)T, sizeof(float));
        if (!t->d1 || !t->gchunk)
            goto nomem;
        if (plain_gd) {
            /* aligned to a cache line: the panels start on one */
            t->wt_mem = soma_alloc_array(SOMA_GDT_FLOATS(net->fan_in[0],
                                                         net->layers[0].units) +
                                             16,
                                         sizeof(float));
            t->xprev = soma_alloc_array(B * (size_t)net->n_inputs, sizeof(float));
            if (!t->wt_mem || !t->xprev)
                goto nomem;
            t->wt = t->wt_mem + (16 - (uintptr_t)t->wt_mem / sizeof(float) % 16) % 16;
        }
    }
    if (soma_exec_init(&t->exec_all, cfg->threads, err) != SOMA_OK) {
        soma_trainer_free(t);
        return NULL;
    }
    t->exec_one = t->exec_all;
    t->exec_one.pool = NULL;
    t->exec_one.threads = 1;
    t->exec = t->exec_all;
    return t;
nomem:
    soma_trainer_free(t);
    soma_fail(err, SOMA_ERR_NOMEM, "out of memory setting up training");
    return NULL;
}

int soma_trainer_epochs_done(const soma_trainer *t)
{
    return t ? t->epochs_done : 0;
}

int soma_trainer_best(const soma_trainer *t, double *val_loss)
{
    if (val_loss)
        *val_loss = t && t->best_epoch > 0 ? t->best_loss : -1.0;
    return t ? t->best_epoch : 0;
}

int soma_trainer_stopped_early(const soma_trainer *t)
{
    return t ? t->early_stopped : 0;
}

int soma_trainer_finished(const soma_trainer *t)
{
    return !t || t->early_stopped ||
           (t->epochs_done >= t->cfg.epochs && t->next_batch == 0);
}

soma_status soma_trainer_finish(soma_trainer *t, soma_error *err)
{
    if (!t)
        return soma_fail(err, SOMA_ERR_ARG, "no trainer given");
    if (t->best && t->best_epoch > 0) {
        soma_net_unprepare(t->net);
        memcpy(t->net->params, t->best, t->net->n_params * sizeof(float));
    }
    return SOMA_OK;
}

/* The learning rate of the 0-based epoch e. */
static double epoch_lr(const soma_train_config *c, int e)
{
    switch (c->lr_schedule) {
    case SOMA_LR_STEP: {
        double lr = c->learning_rate;
        for (int s = e / c->lr_step; s > 0; s--)
            lr *= c->lr_gamma;
        return lr;
    }
    case SOMA_LR_COSINE:
        if (c->epochs <= 1)
            return c->learning_rate;
        return c->learning_rate * 0.5 *
               (1.0 + cos(3.14159265358979323846 * (double)e / (double)c->epochs));
    case SOMA_LR_CONSTANT:
        break;
    }
    return c->learning_rate;
}

/* Fills perm with the row order of the current epoch, drawn from a copy of
 * t->rng; returns the PRNG state after the draw (the next epoch's start).
 * One batch holding every row is not shuffled: order would only change
 * rounding. */
static soma_rng epoch_order(soma_trainer *t)
{
    soma_rng r = t->rng;
    size_t n = t->n;
    for (size_t i = 0; i < n; i++)
        t->perm[i] = i;
    if (t->cfg.shuffle && t->batch < n)
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)soma_rng_below(&r, (uint64_t)i + 1);
            size_t tmp = t->perm[i];
            t->perm[i] = t->perm[j];
            t->perm[j] = tmp;
        }
    return r;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Copies rows rows[0..B) of x and y into the batch buffers, standardising
 * the inputs, split over the threads when the batch is large (rows of a
 * shuffled data set are scattered in memory: the copy is worth sharing).
 * Returns the index of a row with a NaN or infinite input (the check rides
 * along the copy), or SIZE_MAX. */
typedef struct gather_job {
    soma_trainer *t;
    const float *x, *y;
    int y_cols;
    const size_t *rows;
    size_t B;
    size_t B_next;    /* rows of the next batch, at rows + B: prefetched */
    size_t bad[1024]; /* per task: the first bad row it met, or SIZE_MAX */
} gather_job;

/* Each task also asks the cache for its share of the next batch's rows
 * (the next gather splits them the same way, so each thread fetches into
 * its own core's cache what it will read): rows of a shuffled data set are
 * scattered in memory, and waiting for them was a tenth of a step. Only
 * for batches of up to PREFETCH_MAX floats. */
#define PREFETCH_MAX 65536
/* GCC 12 drops a loop of nothing but __builtin_prefetch at -O1 and above */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PREFETCH(p) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))
#elif defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#endif

static void prefetch_next(const gather_job *g, int task, int n_tasks)
{
#ifdef PREFETCH
    size_t d = (size_t)g->t->net->n_inputs;
    if (g->B_next * d > PREFETCH_MAX)
        return;
    size_t r0 = g->B_next * (size_t)task / (size_t)n_tasks;
    size_t r1 = g->B_next * (size_t)(task + 1) / (size_t)n_tasks;
    for (size_t r = r0; r < r1; r++) {
        const char *p = (const char *)(g->x + g->rows[g->B + r] * d);
        for (size_t off = 0; off < d * sizeof(float); off += 64)
            PREFETCH(p + off);
    }
#else
    (void)g, (void)task, (void)n_tasks;
#endif
}

static void gather_task(void *ctx, int task, int n_tasks)
{
    gather_job *g = ctx;
    const soma_net *net = g->t->net;
    size_t d = (size_t)net->n_inputs, yc = (size_t)g->y_cols;
    size_t r0 = g->B * (size_t)task / (size_t)n_tasks;
    size_t r1 = g->B * (size_t)(task + 1) / (size_t)n_tasks;
    g->bad[task] = SIZE_MAX;
    for (size_t r = r0; r < r1; r++) {
        const float *src = g->x + g->rows[r] * d;
        if (soma_any_nonfinite(src, d)) {
            g->bad[task] = g->rows[r];
            return;
        }
        soma_standardize_rows(net, src, 1, g->t->xb + r * d);
        memcpy(g->t->yb + r * yc, g->y + g->rows[r] * yc, yc * sizeof(float));
    }
    prefetch_next(g, task, n_tasks);
}

/* Below this many floats per batch the copy stays on one thread. */
#define PARALLEL_GATHER_MIN 16384

static size_t gather(soma_trainer *t, const float *x, const float *y, int y_cols,
                     const size_t *rows, size_t B, size_t B_next)
{
    gather_job g;
    g.t = t;
    g.x = x;
    g.y = y;
    g.y_cols = y_cols;
    g.rows = rows;
    g.B = B;
    g.B_next = B_next;
    int n = 1;
    if (B * (size_t)t->net->n_inputs >= PARALLEL_GATHER_MIN) {
        n = soma_pool_threads(t->exec.pool);
        soma_pool_run(t->exec.pool, gather_task, &g);
    } else {
        gather_task(&g, 0, 1);
    }
    /* the first bad row in batch order, whichever thread met it */
    for (int i = 0; i < n; i++)
        if (g.bad[i] != SIZE_MAX)
            return g.bad[i];
    return SIZE_MAX;
}

/* The gradient of layer l's weights and bias from its delta d [B, units]
 * and its input a_prev [B, fan_in], into t->grad. */
static void layer_gradient(soma_trainer *t, int l, const float *d,
                           const float *a_prev, size_t B)
{
    const soma_net *net = t->net;
    int units = net->layers[l].units, fan_in = net->fan_in[l];
    float *gw = t->grad + net->w_off[l];
    /* dW [units, fan_in] = d^T [units, B] . a_prev [B, fan_in] */
    soma_gemm(&t->exec, 1, 0, units, fan_in, (int)B, 1.0f, d, units, a_prev,
              fan_in, 0.0f, gw, fan_in, NULL);
    if (net->layers[l].bias) {
        float *gb = t->grad + net->b_off[l];
        for (int j = 0; j < units; j++)
            gb[j] = 0.0f;
        for (size_t r = 0; r < B; r++)
            for (int j = 0; j < units; j++)
                gb[j] += d[r * (size_t)units + (size_t)j];
    }
}

/* Where layer l's output starts in t->acts, and its delta in t->d1. */
static size_t layer_offset(const soma_net *net, int l, size_t B)
{
    size_t off = 0;
    for (int i = 0; i < l; i++)
        off += B * (size_t)net->layers[i].units;
    return off;
}

/* Forward, loss and backward for the batch in xb/yb; leaves the gradient
 * of the batch loss in t->grad and returns the loss. With fused (batch size
 * 1, see fused_update) the weight gradients are not formed: each layer's
 * delta is kept in t->d1 instead. */
static double batch_gradient(soma_trainer *t, size_t B, int y_cols,
                             size_t *correct, int fused, int forward_done)
{
    const soma_net *net = t->net;
    int L = net->n_layers, k = soma_net_n_outputs(net);
    float *acts[SOMA_MAX_LAYERS];
    for (int l = 0; l < L; l++)
        acts[l] = t->acts + layer_offset(net, l, B);
    if (!forward_done)
        soma_forward(&t->exec, net, t->xb, B, acts, t->logits);

    const float *out = acts[L - 1];
    float *d = t->delta[0];
    double loss = soma_loss_eval(net->loss, t->logits, out, t->yb, y_cols, B, k,
                                 (double)B, d);
    if (net->loss == SOMA_LOSS_CE || net->loss == SOMA_LOSS_BCE)
        *correct += soma_count_correct(net->loss, out, t->yb, y_cols, B, k);
    if (!soma_loss_is_fused(net->loss))
        soma_act_backward(net->layers[L - 1].activation, out, d, B, k);

    for (int l = L - 1; l >= 0; l--) {
        int units = net->layers[l].units, fan_in = net->fan_in[l];
        const float *a_prev = l > 0 ? acts[l - 1] : t->xb;
        if (fused)
            memcpy(t->d1 + layer_offset(net, l, B), d,
                   B * (size_t)units * sizeof(float));
        else
            layer_gradient(t, l, d, a_prev, B);
        if (l > 0) {
            float *d_prev = d == t->delta[0] ? t->delta[1] : t->delta[0];
            /* d_prev [B, fan_in] = d [B, units] . W [units, fan_in] */
            soma_gemm(&t->exec, 0, 0, (int)B, fan_in, units, 1.0f, d, units,
                      net->params + net->w_off[l], fan_in, 0.0f, d_prev, fan_in,
                      NULL);
            soma_act_backward(net->layers[l - 1].activation, acts[l - 1], d_prev,
                              B, fan_in);
            d = d_prev;
        }
    }
    return loss;
}

/* ---- Small batches -------------------------------------------------------
 * With one example per step (or a few: batch size 1 with any optimizer, up
 * to GDT_MAX_BATCH with plain gd) the gradient of a weight matrix is a sum
 * of few outer products of the layer's deltas and its inputs, and writing
 * it out in full (as large as the weights), checking it, then reading it
 * back to update costs several times the forward pass. fused_update
 * instead forms the gradient a chunk of rows at a time in a small buffer
 * that stays in cache and updates those rows at once.
 *
 * The arithmetic is exactly that of the general path: each gradient
 * element is the matrix kernel's chain over the batch's rows, fma(d_j, a_k,
 * acc) from 0 (computed by the same kernel), the bias gradient the column
 * sums from 0 row by row, weight decay and the optimizer run through the
 * same functions. What changes is when the gradient is checked for NaN and
 * infinity: before any weight moves, from bounds that imply every element
 * is finite (deltas and inputs finite, and B max|d| max|a| <= FLT_MAX, with
 * room for the roundings when B > 1, so no chain overflows). When the bound
 * does not hold the step falls back to the general path, which decides.
 * The buffer holds GCHUNK_FLOATS (16 KB), or one row if wider.
 *
 * Plain gradient descent without weight decay goes further at batch size
 * 1: one pass per row (soma_rank1_gd), rows with a zero delta skipped. Skipping a row also
 * skips its NaN check, which is why an epoch starts by checking that every
 * parameter is finite: from there each weight that moves is checked. */
/* max |x[i]|, or INFINITY when an x[i] is NaN or infinite. */
static float max_abs(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float v = fabsf(x[i]);
        if (!(v <= FLT_MAX))
            return INFINITY;
        m = v > m ? v : m;
    }
    return m;
}

/* Whether the bound above holds for every layer of a batch of B rows. */
static int fused_gradient_finite(const soma_trainer *t, size_t B)
{
    const soma_net *net = t->net;
    for (int l = 0; l < net->n_layers; l++) {
        const float *a = l > 0 ? t->acts + layer_offset(net, l - 1, B) : t->xb;
        double md = (double)max_abs(t->d1 + layer_offset(net, l, B),
                                    B * (size_t)net->layers[l].units);
        double ma = (double)max_abs(a, B * (size_t)net->fan_in[l]);
        /* one product: exact; a chain of B: room for its roundings */
        if (!((double)B * md * ma <= (B == 1 ? 1.0 : 0.5) * (double)FLT_MAX))
            return 0;
    }
    return 1;
}

/* The general path's gradient, from the deltas kept in t->d1. */
static void fused_to_gradient(soma_trainer *t, size_t B)
{
    const soma_net *net = t->net;
    for (int l = 0; l < net->n_layers; l++)
        layer_gradient(t, l, t->d1 + layer_offset(net, l, B),
                       l > 0 ? t->acts + layer_offset(net, l - 1, B) : t->xb, B);
}

/* One layer's weight rows [j0, j1) updated from the kept delta, on thread
 * task (its gradient buffer and matrix workspace); returns non-zero when a
 * weight became NaN or infinite. */
typedef struct fused_job {
    soma_trainer *t;
    const soma_opt_params *op;
    soma_rank1_gd_fn rank1; /* batch size 1, plain gd, no decay: one pass */
    int layer;
    size_t B;               /* rows of the batch */
    int bad[1024];          /* per task */
} fused_job;

static int fused_rows(const fused_job *job, int task, int j0, int j1)
{
    soma_trainer *t = job->t;
    soma_net *net = t->net;
    const soma_opt_params *op = job->op;
    int l = job->layer, units = net->layers[l].units, fan_in = net->fan_in[l];
    size_t B = job->B;
    const float *d = t->d1 + layer_offset(net, l, B);
    const float *a = l > 0 ? t->acts + layer_offset(net, l - 1, B) : t->xb;
    float *W = net->params + net->w_off[l];
    int bad = 0;
    if (job->rank1) {
        /* a row whose delta is 0 (a ReLU unit that did not fire) has the
         * gradient +0 throughout, which leaves every weight of the row as
         * it was: skipped */
        for (int j = j0; j < j1; j++)
            if (d[j] != 0.0f)
                bad |= job->rank1(W + (size_t)j * (size_t)fan_in, a,
                                  (size_t)fan_in, d[j], op->lr);
        return bad;
    }
    soma_sgemm_block_fn gemm = soma_sgemm_block_best(NULL);
    float wd = (float)t->cfg.weight_decay;
    float *g = t->gchunk + (size_t)task * t->gchunk_n;
    float *ws = t->exec.ws + (size_t)task * SOMA_GEMM_WS;
    int rows = (int)(t->gchunk_n / (size_t)fan_in);
    for (int jc = j0; jc < j1; jc += rows) {
        int r = j1 - jc < rows ? j1 - jc : rows;
        size_t off = net->w_off[l] + (size_t)jc * (size_t)fan_in;
        size_t n = (size_t)r * (size_t)fan_in;
        float *w = net->params + off;
        /* g [r, fan_in] = d[:, jc..jc+r)^T [r, B] . a [B, fan_in] */
        gemm(1, 0, r, fan_in, (int)B, 1.0f, d + jc, units, a, fan_in, 0.0f, g,
             fan_in, 0, r, 0, fan_in, ws, NULL);
        if (wd > 0.0f)
            for (size_t i = 0; i < n; i++)
                g[i] += wd * w[i];
        bad |= soma_opt_update(op, w, g, t->m ? t->m + off : NULL,
                               t->v ? t->v + off : NULL, n);
    }
    return bad;
}

/* The rows of a layer shared out as soma_gemm shares out the layer's
 * forward product for one example: by 16-column panels of its outputs, so
 * each thread updates the rows its own core has just read (moving them
 * between the cores' caches instead cost more than the update). */
static void fused_task(void *ctx, int task, int n_tasks)
{
    fused_job *job = ctx;
    int units = job->t->net->layers[job->layer].units;
    int panels = (units + 15) / 16;
    int u0 = (int)((long long)panels * task / n_tasks);
    int u1 = (int)((long long)panels * (task + 1) / n_tasks);
    int j0 = 16 * u0, j1 = 16 * u1 < units ? 16 * u1 : units;
    job->bad[task] = j0 < j1 ? fused_rows(job, task, j0, j1) : 0;
}

/* Updates every parameter from the kept deltas of a batch of B rows (but
 * layer 0's weights with skip_w0); returns non-zero when a weight became
 * NaN or infinite. */
static int fused_update(soma_trainer *t, const soma_opt_params *op,
                        int skip_w0, size_t B)
{
    soma_net *net = t->net;
    fused_job job;
    job.t = t;
    job.op = op;
    job.B = B;
    job.rank1 = B == 1 && op->kind == SOMA_OPT_GD && t->cfg.weight_decay == 0.0
                    ? soma_rank1_gd_best()
                    : NULL;
    int bad = 0;
    for (int l = 0; l < net->n_layers; l++) {
        int units = net->layers[l].units, fan_in = net->fan_in[l];
        job.layer = l;
        int T = soma_gemm_threads(&t->exec, (int)B, units, fan_in);
        if (l == 0 && skip_w0) {
            /* updated in the transposed copy with the next forward pass */
        } else if (T > 1) {
            soma_pool_run(t->exec.pool, fused_task, &job);
            for (int i = 0; i < T; i++)
                bad |= job.bad[i];
        } else {
            bad |= fused_rows(&job, 0, 0, units);
        }
        if (net->layers[l].bias) {
            /* the general path's column sums, row by row from 0 */
            const float *d = t->d1 + layer_offset(net, l, B);
            size_t off = net->b_off[l];
            float *g = t->gchunk;
            for (int j = 0; j < units; j++)
                g[j] = 0.0f;
            for (size_t r = 0; r < B; r++)
                for (int j = 0; j < units; j++)
                    g[j] += d[r * (size_t)units + (size_t)j];
            bad |= soma_opt_update(op, net->params + off, g,
                                   t->m ? t->m + off : NULL,
                                   t->v ? t->v + off : NULL, (size_t)units);
        }
    }
    return bad;
}

/* ---- Small batches, plain gradient descent: the first layer transposed --
 * A few examples at a time, the first layer's weight (784 x 128 floats for
 * Fashion-MNIST, larger than the core's L1 and most of its L2) is the
 * cost: the forward product reads it, the update reads and writes it. Here
 * a transposed copy, t->wt [fan_in, units] in panels of 16 columns
 * (kernels.h), takes its place for the epoch, and one pass of
 * soma_gdt_step over it applies the update of batch i and computes the
 * first layer's product of batch i + 1: each row of the copy is loaded
 * once, updated in registers and multiplied into the next chains
 * (kernels.h). Transposed, a row is what one input feeds to every unit, so
 * an input that is 0 in every example of the batch (a background pixel)
 * leaves its row as it was, and the product's chains run along the vector
 * lanes without any shuffling. Measured per epoch on the benchmark
 * machine: batch 1 0.46 s (the general path: 3.6 s), 2 0.64 s (1.64 s),
 * 4 0.57 s (0.98 s), 8 0.55 s (0.61 s); at 16 the general path is faster
 * (0.32 s), hence GDT_MAX_BATCH.
 *
 * So the update of layer 0's weights is held back: at the end of step i
 * its inputs go to t->xprev (its deltas stay in t->d1, which the next
 * backward pass overwrites only after the next forward) and wt_pending
 * holds their number. The other layers and every bias are updated at once, as in
 * fused_update. The bits are the general path's: the same arithmetic per
 * weight, the same order of updates and products.
 *
 * The net's own copy of the weight is stale while wt_live; wt_leave
 * applies a pending update and copies the weight back. It runs whenever
 * the trainer hands control back (the epoch ends, a callback stops it, an
 * error) and before the general path takes a step. In between, on_batch
 * may read the net (predict, save, a checkpoint, the parameter pointers):
 * every such call goes through soma_net_sync, which runs wt_sync below, so
 * the caller sees the weights after the batch; the next step copies them
 * in again. The one visible difference: a held-back update that makes a
 * weight NaN or infinite is found by the next pass, so on_batch has
 * already been called for its batch; the error still names that batch,
 * and the net holds the weights the general path would leave. */

/* Applies the pending update (if any) and, with xf not NULL, computes the
 * layer-0 product of xf into z; returns non-zero when a weight became NaN
 * or infinite. The pass runs on the calling thread: shared between two
 * threads by panels (the layout allows it) it measured no faster, at
 * 128 units (0.50 s per epoch both ways) and at 1024 (3.75 s shared, 3.46 s
 * not) on the 2-core benchmark machine: it is bound by the memory
 * bandwidth the cores share, not by arithmetic. */
static int wt_pass(soma_trainer *t, size_t nf, const float *xf, float *z)
{
    const soma_net *net = t->net;
    size_t nu = t->wt_pending;
    t->wt_pending = 0;
    if (nu == 0 && nf == 0)
        return 0;
    /* layer 0's deltas come first in t->d1 */
    return soma_gdt_step_best()(t->wt, (size_t)net->fan_in[0],
                                (size_t)net->layers[0].units, nu, t->d1,
                                t->xprev, t->wt_lr, nf, xf, z);
}

/* Puts layer 0's weight back into the net; returns non-zero when the
 * pending update made a weight NaN or infinite. */
static int wt_leave(soma_trainer *t)
{
    int bad = wt_pass(t, 0, NULL, NULL);
    if (t->wt_live) {
        soma_net *net = t->net;
        soma_gdt_unpack(t->wt, (size_t)net->fan_in[0],
                           (size_t)net->layers[0].units,
                           net->params + net->w_off[0]);
        t->wt_live = 0;
        net->sync = NULL;
        net->sync_ctx = NULL;
    }
    return bad;
}

/* The net's sync hook while wt_live (soma_net_sync): wt_leave on behalf of
 * code that reads the net from inside on_batch. A weight made NaN or
 * infinite there is reported when on_batch returns. */
static void wt_sync(void *ctx)
{
    soma_trainer *t = ctx;
    if (wt_leave(t))
        t->wt_sync_bad = 1;
}

/* Forward pass of the batch of B rows in t->xb with layer 0 from wt,
 * applying the pending update on the way; returns non-zero when that made
 * a weight NaN or infinite. */
static int wt_forward(soma_trainer *t, size_t B)
{
    soma_net *net = t->net;
    if (!t->wt_live) {
        soma_gdt_pack(net->params + net->w_off[0], (size_t)net->fan_in[0],
                         (size_t)net->layers[0].units, t->wt);
        t->wt_live = 1;
        net->sync = wt_sync;
        net->sync_ctx = t;
    }
    float *z0 = t->acts; /* layer 0's output comes first */
    if (wt_pass(t, B, t->xb, z0))
        return 1;
    float *acts[SOMA_MAX_LAYERS];
    for (int l = 0; l < net->n_layers; l++)
        acts[l] = t->acts + layer_offset(net, l, B);
    soma_forward_finish(net, 0, z0, B, t->logits);
    soma_forward_from(&t->exec, net, 1, z0, B, acts, t->logits);
    return 0;
}

/* Holds back layer 0's update of the step just taken, of B rows, with
 * learning rate lr, in batch (1-based) of the epoch (see above). */
static void wt_hold(soma_trainer *t, float lr, size_t batch, size_t B)
{
    float *x = t->xprev;
    t->xprev = t->xb;
    t->xb = x;
    t->wt_pending = B;
    t->wt_lr = lr;
    t->wt_batch = batch;
}

/* A step of fewer multiply-adds per pass over the weights (rows times
 * parameters) than this runs on the calling thread alone: its products and
 * updates are too small to pay for waking the others and for the weights
 * moving between the cores' caches. Measured on the benchmark's 2 cores
 * (seconds per epoch, 2 threads against 1): 784-128-10 at batch 4 1.36
 * against 1.00, at 16 0.40 against 0.34, at 24 0.29 against 0.28, at 32
 * 0.25 against 0.27 (3.3 million); 784-1024-10 at batch 4 (3.3 million)
 * 7.1 against 6.8, at 16 2.1 against 2.7. */
#define SMALL_STEP_WORK 3e6
static double small_step_work = SMALL_STEP_WORK;

void soma_debug_small_step_work(double work)
{
    small_step_work = work < 0.0 ? SMALL_STEP_WORK : work;
}

/* The update step runs over the flat parameter array in slices, one per
 * thread; every element's arithmetic is the same whatever the slicing. */
#define PARALLEL_UPDATE_MIN 65536
typedef struct update_job {
    soma_trainer *t;
    const soma_opt_params *op;
    int phase;     /* 0: check the gradient, 1: decay, update, check */
    int bad[1024]; /* per task: a non-finite value was seen */
} update_job;

/* Adds weight_decay * w to the gradient of the weights (not the biases)
 * that fall in [lo, hi) of the flat array. */
static void add_weight_decay(soma_trainer *t, size_t lo, size_t hi)
{
    const soma_net *net = t->net;
    float wd = (float)t->cfg.weight_decay;
    for (int l = 0; l < net->n_layers; l++) {
        size_t w0 = net->w_off[l];
        size_t w1 = w0 + (size_t)net->layers[l].units * (size_t)net->fan_in[l];
        size_t a = w0 > lo ? w0 : lo, b = w1 < hi ? w1 : hi;
        for (size_t i = a; i < b; i++)
            t->grad[i] += wd * net->params[i];
    }
}

static void update_task(void *ctx, int task, int n_tasks)
{
    update_job *job = ctx;
    soma_trainer *t = job->t;
    size_t P = t->net->n_params;
    size_t lo = P * (size_t)task / (size_t)n_tasks;
    size_t hi = P * (size_t)(task + 1) / (size_t)n_tasks;
    if (job->phase == 0) {
        job->bad[task] = soma_any_nonfinite(t->grad + lo, hi - lo);
        return;
    }
    if (t->cfg.weight_decay > 0.0)
        add_weight_decay(t, lo, hi);
    job->bad[task] = soma_opt_update(job->op, t->net->params + lo, t->grad + lo,
                                     t->m ? t->m + lo : NULL,
                                     t->v ? t->v + lo : NULL, hi - lo);
}

/* Runs one phase of the update on every thread; returns whether any slice
 * saw a non-finite value. */
static int run_update(soma_trainer *t, update_job *job, int phase)
{
    job->phase = phase;
    /* Waking the other threads costs more than a small net's update. With
     * a big one the update is shared even for small batches: the slices of
     * the flat array follow the rows of the first layer's weight, which
     * each thread has just read for its columns of the forward product, so
     * they stay in its core's cache (batch 4, 2 threads: 2.25 s per epoch
     * with the update on one thread, 1.62 s shared). Batch size 1 takes
     * fused_update instead. */
    int n = t->net->n_params >= PARALLEL_UPDATE_MIN && t->batch >= 2
                ? soma_pool_threads(t->exec.pool)
                : 1;
    if (n > 1)
        soma_pool_run(t->exec.pool, update_task, job);
    else
        update_task(job, 0, 1);
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad |= job->bad[i];
    return bad;
}

static soma_status weight_error(soma_error *err, int e, size_t batch)
{
    return soma_fail(err, SOMA_ERR_NUMERIC,
                     "epoch %d, batch %zu: a weight became NaN or infinite; "
                     "try a smaller learning rate",
                     e + 1, batch);
}

soma_status soma_trainer_epoch(soma_trainer *t, const float *x, const float *y,
                               size_t n, int y_cols, soma_epoch_report *report,
                               int *stopped, soma_error *err)
{
    if (stopped)
        *stopped = 0;
    if (!t || !x || !y)
        return soma_fail(err, SOMA_ERR_ARG, "training needs inputs and targets");
    if (n != t->n)
        return soma_fail(err, SOMA_ERR_ARG,
                         "the trainer was set up for %zu rows, not %zu", t->n, n);
    soma_net *net = t->net;
    soma_net_unprepare(net); /* the weights are about to change */
    int k = soma_net_n_outputs(net);
    if (y_cols > k)
        return soma_fail(err, SOMA_ERR_ARG,
                         "%d target columns for %d outputs", y_cols, k);
    soma_status s = soma_check_targets(net->loss, k, y, n, y_cols, err);
    if (s != SOMA_OK)
        return s;

    size_t bad_param = soma_find_nonfinite(net->params, net->n_params);
    if (bad_param < net->n_params)
        return soma_fail(err, SOMA_ERR_NUMERIC,
                         "parameter %zu of the network is %g before epoch %d; "
                         "training needs finite weights",
                         bad_param, (double)net->params[bad_param],
                         t->epochs_done + 1);
    double t0 = now_seconds();
    int e = t->epochs_done; /* 0-based index of this epoch */
    double lr = epoch_lr(&t->cfg, e);
    soma_rng next_rng = epoch_order(t);
    soma_opt_params op = {t->cfg.optimizer,
                          (float)lr,
                          (float)t->cfg.momentum,
                          (float)t->cfg.beta1,
                          (float)t->cfg.beta2,
                          (float)t->cfg.epsilon,
                          0.0,
                          0.0};
    int mean_loss = net->loss != SOMA_LOSS_SSE;
    int classify = net->loss == SOMA_LOSS_CE || net->loss == SOMA_LOSS_BCE;
    size_t n_batches = (n + t->batch - 1) / t->batch;
    int want_stop = 0;
    for (size_t b = t->next_batch; b < n_batches; b++) {
        size_t start = b * t->batch;
        size_t B = n - start < t->batch ? n - start : t->batch;
        size_t next = start + B < n ? n - (start + B) : 0;
        t->exec = (double)B * (double)net->n_params < small_step_work
                      ? t->exec_one
                      : t->exec_all;
        size_t bad = gather(t, x, y, y_cols, t->perm + start, B,
                            next < t->batch ? next : t->batch);
        if (bad != SIZE_MAX) {
            if (wt_leave(t))
                return weight_error(err, e, t->wt_batch);
            size_t d = (size_t)net->n_inputs;
            size_t j = soma_find_nonfinite(x + bad * d, d);
            return soma_fail(err, SOMA_ERR_DATA,
                             "row %zu, input %zu: %g is not a finite number", bad,
                             j, (double)x[bad * d + j]);
        }
        size_t correct = 0;
        int fused = t->d1 != NULL;
        if (t->wt && wt_forward(t, B)) {
            wt_leave(t);
            return weight_error(err, e, t->wt_batch);
        }
        double bl = batch_gradient(t, B, y_cols, &correct, fused, t->wt != NULL);
        /* Adam's beta^step, committed only once the step is taken */
        op.beta1_pow = t->beta1_pow * t->cfg.beta1;
        op.beta2_pow = t->beta2_pow * t->cfg.beta2;
        if (fused && isfinite(bl) && fused_gradient_finite(t, B)) {
            t->steps++;
            t->beta1_pow = op.beta1_pow;
            t->beta2_pow = op.beta2_pow;
            int bad_w = fused_update(t, &op, t->wt_live, B);
            if (t->wt_live)
                wt_hold(t, op.lr, b + 1, B);
            if (bad_w) {
                wt_leave(t);
                return weight_error(err, e, b + 1);
            }
            goto stepped;
        }
        /* the general path updates the net's own weights (nothing is
         * pending: this step's forward pass applied it) */
        wt_leave(t);
        if (fused)
            fused_to_gradient(t, B);
        update_job job;
        job.t = t;
        job.op = &op;
        if (!isfinite(bl) || run_update(t, &job, 0))
            return soma_fail(err, SOMA_ERR_NUMERIC,
                             "epoch %d, batch %zu: the %s became NaN or "
                             "infinite; try a smaller learning rate",
                             e + 1, b + 1, isfinite(bl) ? "gradient" : "loss");
        t->steps++;
        t->beta1_pow = op.beta1_pow;
        t->beta2_pow = op.beta2_pow;
        if (run_update(t, &job, 1))
            return weight_error(err, e, b + 1);
    stepped:
        t->part_loss += mean_loss ? bl * (double)B : bl;
        t->part_correct += correct;
        t->next_batch = b + 1;
        if (t->cfg.on_batch) {
            size_t done = start + B;
            soma_batch_report br = {e + 1, b + 1, n_batches, done, bl,
                                    mean_loss ? t->part_loss / (double)done
                                              : t->part_loss,
                                    classify ? (double)t->part_correct /
                                                   (double)done
                                             : -1.0};
            int stop = t->cfg.on_batch(t->cfg.ctx, &br);
            if (t->wt_sync_bad) /* the callback read the net: wt_sync */
                return weight_error(err, e, t->wt_batch);
            if (!stop)
                continue;
            want_stop = 1;
            if (b + 1 < n_batches) {
                if (wt_leave(t))
                    return weight_error(err, e, t->wt_batch);
                t->part_seconds += now_seconds() - t0;
                if (stopped)
                    *stopped = 1;
                return SOMA_OK;
            }
        }
    }

    /* the epoch is complete */
    if (wt_leave(t))
        return weight_error(err, e, t->wt_batch);
    soma_epoch_report r;
    r.epoch = e + 1;
    r.epochs = t->cfg.epochs;
    r.train_loss = mean_loss ? t->part_loss / (double)n : t->part_loss;
    r.train_accuracy = classify ? (double)t->part_correct / (double)n : -1.0;
    r.val_loss = r.val_accuracy = -1.0;
    r.learning_rate = lr;
    r.best = 0;
    t->rng = next_rng;
    t->next_batch = 0;
    t->part_loss = 0.0;
    t->part_correct = 0;
    t->epochs_done = e + 1;
    if (t->cfg.val_n > 0) {
        s = soma_evaluate(net, t->cfg.val_x, t->cfg.val_y, t->cfg.val_n, y_cols,
                          &r.val_loss, &r.val_accuracy, NULL, err);
        if (s != SOMA_OK)
            return s;
        if (r.val_loss < t->best_loss) {
            t->best_loss = r.val_loss;
            t->best_epoch = e + 1;
            t->bad_epochs = 0;
            r.best = 1;
            if (t->best)
                memcpy(t->best, net->params, net->n_params * sizeof(float));
        } else if (t->cfg.early_stopping > 0 &&
                   ++t->bad_epochs >= t->cfg.early_stopping) {
            t->early_stopped = 1;
        }
    }
    r.seconds = t->part_seconds + (now_seconds() - t0);
    t->part_seconds = 0.0;
    if (report)
        *report = r;
    if (t->cfg.on_epoch && t->cfg.on_epoch(t->cfg.ctx, &r))
        want_stop = 1;
    if (stopped)
        *stopped = want_stop;
    return SOMA_OK;
}

soma_status soma_train(soma_net *net, const float *x, const float *y, size_t n,
                       int y_cols, const soma_train_config *cfg, soma_error *err)
{
    soma_trainer *t = soma_trainer_new(net, cfg, n, err);
    if (!t)
        return err ? err->code : SOMA_ERR_NOMEM;
    soma_status s = SOMA_OK;
    while (s == SOMA_OK && !soma_trainer_finished(t)) {
        int stop = 0;
        s = soma_trainer_epoch(t, x, y, n, y_cols, NULL, &stop, err);
        if (stop)
            break;
    }
    if (s == SOMA_OK)
        s = soma_trainer_finish(t, err);
    soma_trainer_free(t);
    return s;
}

double soma_trainer_gradient(soma_trainer *t, const float *x, const float *y,
                             size_t n, int y_cols, float *grad)
{
    size_t correct = 0;
    for (size_t i = 0; i < n; i++)
        t->perm[i] = i;
    (void)gather(t, x, y, y_cols, t->perm, n, 0);
    double loss = batch_gradient(t, n, y_cols, &correct, 0, 0);
    memcpy(grad, t->grad, t->net->n_params * sizeof(float));
    return loss;
}
