/*
 * checkpoint.c - saving a training run and going on from it.
 *
 * A checkpoint is a model file (src/io/model.c) plus the trainer's state:
 * tensors "train.m", "train.v" (optimizer moments, when the optimizer has
 * them) and "train.best" (early stopping's best weights, once there are
 * some), each [n_params]; and metadata "soma.train.*" holding the
 * configuration and the position in the run. Doubles are written as C99
 * hexadecimal floats ("%a") so they come back exactly. The layout is in
 * docs/model-format.md.
 */
#include "internal.h"
#include "io/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_VERSION "1"

enum { MAX_EXTRA_META = 40, VALUE_SIZE = 80 };

typedef struct meta_buf {
    soma_st_pair pairs[MAX_EXTRA_META];
    char values[MAX_EXTRA_META][VALUE_SIZE];
    int n;
} meta_buf;

static void put(meta_buf *m, const char *key, const char *fmt, ...)
    SOMA_PRINTF(3, 4);

static void put(meta_buf *m, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->values[m->n], VALUE_SIZE, fmt, ap);
    va_end(ap);
    m->pairs[m->n].key = key;
    m->pairs[m->n].value = m->values[m->n];
    m->n++;
}

soma_status soma_trainer_save(const soma_trainer *t, const char *path,
                              soma_error *err)
{
    if (!t || !path)
        return soma_fail(err, SOMA_ERR_ARG, "checkpoint needs a trainer and a path");
    const soma_train_config *c = &t->cfg;
    meta_buf m;
    m.n = 0;
    put(&m, "soma.train.version", "%s", CKPT_VERSION);
    put(&m, "soma.train.optimizer", "%s", soma_optimizer_name(c->optimizer));
    put(&m, "soma.train.learning_rate", "%a", c->learning_rate);
    put(&m, "soma.train.momentum", "%a", c->momentum);
    put(&m, "soma.train.beta1", "%a", c->beta1);
    put(&m, "soma.train.beta2", "%a", c->beta2);
    put(&m, "soma.train.epsilon", "%a", c->epsilon);
    put(&m, "soma.train.weight_decay", "%a", c->weight_decay);
    put(&m, "soma.train.batch_size", "%zu", c->batch_size);
    put(&m, "soma.train.epochs", "%d", c->epochs);
    put(&m, "soma.train.shuffle", "%d", c->shuffle ? 1 : 0);
    put(&m, "soma.train.seed", "%" PRIu64, c->seed);
    put(&m, "soma.train.lr_schedule", "%s", soma_lr_schedule_name(c->lr_schedule));
    put(&m, "soma.train.lr_step", "%d", c->lr_step);
    put(&m, "soma.train.lr_gamma", "%a", c->lr_gamma);
    put(&m, "soma.train.early_stopping", "%d", c->early_stopping);
    put(&m, "soma.train.rows", "%zu", t->n);
    put(&m, "soma.train.epochs_done", "%d", t->epochs_done);
    put(&m, "soma.train.next_batch", "%zu", t->next_batch);
    put(&m, "soma.train.part_loss", "%a", t->part_loss);
    put(&m, "soma.train.part_correct", "%zu", t->part_correct);
    put(&m, "soma.train.steps", "%" PRIu64, t->steps);
    put(&m, "soma.train.beta1_pow", "%a", t->beta1_pow);
    put(&m, "soma.train.beta2_pow", "%a", t->beta2_pow);
    put(&m, "soma.train.rng", "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
        t->rng.s[0], t->rng.s[1], t->rng.s[2], t->rng.s[3]);
    put(&m, "soma.train.best_loss", "%a", t->best_loss);
    put(&m, "soma.train.best_epoch", "%d", t->best_epoch);
    put(&m, "soma.train.bad_epochs", "%d", t->bad_epochs);
    put(&m, "soma.train.early_stopped", "%d", t->early_stopped);

    soma_model_parts parts;
    soma_status s = soma_model_parts_build(t->net, &parts, err);
    if (s != SOMA_OK)
        return s;
    size_t nt = parts.n_tensors + 3, nm = parts.n_meta + (size_t)m.n;
    soma_st_entry *tensors = soma_alloc_array(nt, sizeof *tensors);
    soma_st_pair *meta = soma_alloc_array(nm, sizeof *meta);
    if (!tensors || !meta) {
        s = soma_fail(err, SOMA_ERR_NOMEM, "out of memory writing %s", path);
        goto done;
    }
    memcpy(tensors, parts.tensors, parts.n_tensors * sizeof *tensors);
    memcpy(meta, parts.meta, parts.n_meta * sizeof *meta);
    memcpy(meta + parts.n_meta, m.pairs, (size_t)m.n * sizeof *meta);
    nt = parts.n_tensors;
    const struct {
        const char *name;
        const float *data;
    } extra[3] = {{"train.m", t->m},
                  {"train.v", t->v},
                  {"train.best", t->best_epoch > 0 ? t->best : NULL}};
    for (int i = 0; i < 3; i++) {
        if (!extra[i].data)
            continue;
        soma_st_entry *e = &tensors[nt++];
        memset(e, 0, sizeof *e);
        e->name = extra[i].name;
        e->ndim = 1;
        e->shape[0] = t->net->n_params;
        e->data = extra[i].data;
    }
    s = soma_st_write(path, tensors, nt, meta, nm, err);
done:
    soma_free(tensors);
    soma_free(meta);
    soma_model_parts_free(&parts);
    return s;
}

/* ---- reading ----------------------------------------------------------- */

/* A checkpoint being read: the file, the parse, and the name for errors. */
typedef struct ckpt {
    unsigned char *data;
    size_t size;
    soma_st_file *st;
    const char *path;
} ckpt;

static void ckpt_close(ckpt *c)
{
    soma_st_free(c->st);
    soma_free(c->data);
}

static soma_status ckpt_open(ckpt *c, const char *path, soma_error *err)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    soma_status s = soma_st_read_file(path, &c->data, &c->size, err);
    if (s == SOMA_OK)
        s = soma_st_parse(c->data, c->size, path, &c->st, err);
    if (s == SOMA_OK && !soma_st_meta(c->st, "soma.train.version"))
        s = soma_fail(err, SOMA_ERR_FORMAT,
                      "%s: not a checkpoint (a model file without training "
                      "state; write one with --checkpoint)", path);
    if (s == SOMA_OK &&
        strcmp(soma_st_meta(c->st, "soma.train.version"), CKPT_VERSION) != 0)
        s = soma_fail(err, SOMA_ERR_UNSUPPORTED,
                      "%s: checkpoint version '%s' is not supported (this soma "
                      "reads version %s)", path,
                      soma_st_meta(c->st, "soma.train.version"), CKPT_VERSION);
    if (s != SOMA_OK)
        ckpt_close(c);
    return s;
}

static const char *field(const ckpt *c, const char *key, soma_error *err)
{
    const char *v = soma_st_meta(c->st, key);
    if (!v)
        soma_fail(err, SOMA_ERR_FORMAT, "%s: checkpoint field '%s' is missing",
                  c->path, key);
    return v;
}

static soma_status get_u64(const ckpt *c, const char *key, uint64_t max,
                           uint64_t *out, soma_error *err)
{
    const char *v = field(c, key, err);
    if (!v)
        return SOMA_ERR_FORMAT;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *v == '-' || *v == '+' || *end || errno || x > max)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint field '%s' = '%s' is not a whole number "
                         "from 0 to %" PRIu64, c->path, key, v, max);
    *out = (uint64_t)x;
    return SOMA_OK;
}

static soma_status get_int(const ckpt *c, const char *key, int max, int *out,
                           soma_error *err)
{
    uint64_t x;
    soma_status s = get_u64(c, key, (uint64_t)max, &x, err);
    if (s == SOMA_OK)
        *out = (int)x;
    return s;
}

static soma_status get_size(const ckpt *c, const char *key, size_t *out,
                            soma_error *err)
{
    uint64_t x;
    soma_status s = get_u64(c, key, SIZE_MAX, &x, err);
    if (s == SOMA_OK)
        *out = (size_t)x;
    return s;
}

/* A double in [lo, hi] (INFINITY allowed only when hi is). */
static soma_status get_double(const ckpt *c, const char *key, double lo,
                              double hi, double *out, soma_error *err)
{
    const char *v = field(c, key, err);
    if (!v)
        return SOMA_ERR_FORMAT;
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || isnan(x) || x < lo || x > hi)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint field '%s' = '%s' is not a number from "
                         "%g to %g", c->path, key, v, lo, hi);
    *out = x;
    return SOMA_OK;
}

static soma_status get_name(const ckpt *c, const char *key,
                            int (*parse)(const char *), int *out, soma_error *err)
{
    const char *v = field(c, key, err);
    if (!v)
        return SOMA_ERR_FORMAT;
    int x = parse(v);
    if (x < 0)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint field '%s' = '%s' is not a known name",
                         c->path, key, v);
    *out = x;
    return SOMA_OK;
}

static soma_status read_config(const ckpt *c, soma_train_config *cfg,
                               soma_error *err)
{
    soma_train_config d = soma_train_config_default();
    int opt = 0, sched = 0, shuffle = 0;
    uint64_t seed = 0;
    soma_status s = SOMA_OK;
#define TRY(call)                                                              \
    do {                                                                       \
        if (s == SOMA_OK)                                                      \
            s = (call);                                                        \
    } while (0)
    TRY(get_name(c, "soma.train.optimizer", soma_optimizer_parse, &opt, err));
    TRY(get_double(c, "soma.train.learning_rate", 0, 1e30, &d.learning_rate, err));
    TRY(get_double(c, "soma.train.momentum", 0, 1, &d.momentum, err));
    TRY(get_double(c, "soma.train.beta1", 0, 1, &d.beta1, err));
    TRY(get_double(c, "soma.train.beta2", 0, 1, &d.beta2, err));
    TRY(get_double(c, "soma.train.epsilon", 0, 1e30, &d.epsilon, err));
    TRY(get_double(c, "soma.train.weight_decay", 0, 1e30, &d.weight_decay, err));
    TRY(get_size(c, "soma.train.batch_size", &d.batch_size, err));
    TRY(get_int(c, "soma.train.epochs", 1000000000, &d.epochs, err));
    TRY(get_int(c, "soma.train.shuffle", 1, &shuffle, err));
    TRY(get_u64(c, "soma.train.seed", UINT64_MAX, &seed, err));
    TRY(get_name(c, "soma.train.lr_schedule", soma_lr_schedule_parse, &sched, err));
    TRY(get_int(c, "soma.train.lr_step", 1000000000, &d.lr_step, err));
    TRY(get_double(c, "soma.train.lr_gamma", 0, 1, &d.lr_gamma, err));
    TRY(get_int(c, "soma.train.early_stopping", 1000000000, &d.early_stopping, err));
#undef TRY
    if (s != SOMA_OK)
        return s;
    d.optimizer = (soma_optimizer)opt;
    d.lr_schedule = (soma_lr_schedule)sched;
    d.shuffle = shuffle;
    d.seed = seed;
    *cfg = d;
    return SOMA_OK;
}

soma_status soma_checkpoint_read(const char *path, soma_net **net,
                                 soma_train_config *cfg, soma_error *err)
{
    if (!path || !net || !cfg)
        return soma_fail(err, SOMA_ERR_ARG, "checkpoint read needs a path, net "
                                            "and config");
    *net = NULL;
    ckpt c;
    soma_status s = ckpt_open(&c, path, err);
    if (s != SOMA_OK)
        return s;
    s = read_config(&c, cfg, err);
    if (s == SOMA_OK) {
        *net = soma_model_from_st(c.st, path, err);
        if (!*net)
            s = err ? err->code : SOMA_ERR_FORMAT;
    }
    ckpt_close(&c);
    return s;
}

/* Copies the state tensor name [n_params] into dst; it must be there
 * exactly when want is set. */
static soma_status get_tensor(const ckpt *c, const char *name, int want,
                              float *dst, size_t n, soma_error *err)
{
    const soma_st_tensor *tt = soma_st_find(c->st, name);
    if (!tt && !want)
        return SOMA_OK;
    if (!tt)
        return soma_fail(err, SOMA_ERR_FORMAT, "%s: checkpoint tensor '%s' is "
                         "missing", c->path, name);
    if (!want || !dst)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint tensor '%s' does not belong to this "
                         "configuration", c->path, name);
    if (tt->ndim != 1 || tt->shape[0] != n)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint tensor '%s' should have shape [%zu]",
                         c->path, name, n);
    soma_st_read_f32(tt, dst);
    size_t bad = soma_find_nonfinite(dst, n);
    if (bad < n)
        return soma_fail(err, SOMA_ERR_DATA,
                         "%s: checkpoint tensor '%s' element %zu is not finite",
                         c->path, name, bad);
    return SOMA_OK;
}

static soma_status parse_rng(const ckpt *c, soma_rng *r, soma_error *err)
{
    const char *v = field(c, "soma.train.rng", err);
    if (!v)
        return SOMA_ERR_FORMAT;
    if (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint field 'soma.train.rng' is not 64 hex "
                         "digits", c->path);
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, v + 16 * i, 16);
        part[16] = '\0';
        r->s[i] = (uint64_t)strtoull(part, NULL, 16);
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: checkpoint PRNG state is all zero", c->path);
    return SOMA_OK;
}

soma_status soma_trainer_restore(soma_trainer *t, const char *path,
                                 soma_error *err)
{
    if (!t || !path)
        return soma_fail(err, SOMA_ERR_ARG, "restore needs a trainer and a path");
    ckpt c;
    soma_status s = ckpt_open(&c, path, err);
    if (s != SOMA_OK)
        return s;
    soma_trainer r = *t; /* state is read into a copy and committed at the end */
    size_t rows = 0, P = t->net->n_params;
    size_t n_batches = (t->n + t->batch - 1) / t->batch;
    uint64_t steps = 0;
#define TRY(call)                                                              \
    do {                                                                       \
        if (s == SOMA_OK)                                                      \
            s = (call);                                                        \
    } while (0)
    TRY(get_size(&c, "soma.train.rows", &rows, err));
    if (s == SOMA_OK && rows != t->n)
        s = soma_fail(err, SOMA_ERR_DATA,
                      "%s: the checkpoint was made on %zu rows of data, this run "
                      "has %zu", path, rows, t->n);
    TRY(get_int(&c, "soma.train.epochs_done", t->cfg.epochs, &r.epochs_done, err));
    TRY(get_size(&c, "soma.train.next_batch", &r.next_batch, err));
    if (s == SOMA_OK && r.next_batch >= n_batches)
        s = soma_fail(err, SOMA_ERR_FORMAT,
                      "%s: checkpoint batch %zu is past the epoch's %zu batches",
                      path, r.next_batch, n_batches);
    TRY(get_double(&c, "soma.train.part_loss", 0, 1e300, &r.part_loss, err));
    TRY(get_size(&c, "soma.train.part_correct", &r.part_correct, err));
    TRY(get_u64(&c, "soma.train.steps", UINT64_MAX, &steps, err));
    TRY(get_double(&c, "soma.train.beta1_pow", 0, 1, &r.beta1_pow, err));
    TRY(get_double(&c, "soma.train.beta2_pow", 0, 1, &r.beta2_pow, err));
    TRY(parse_rng(&c, &r.rng, err));
    TRY(get_double(&c, "soma.train.best_loss", 0, INFINITY, &r.best_loss, err));
    TRY(get_int(&c, "soma.train.best_epoch", r.epochs_done, &r.best_epoch, err));
    TRY(get_int(&c, "soma.train.bad_epochs", 1000000000, &r.bad_epochs, err));
    TRY(get_int(&c, "soma.train.early_stopped", 1, &r.early_stopped, err));
    TRY(get_tensor(&c, "train.m", t->m != NULL, t->m ? t->grad : NULL, P, err));
#undef TRY
    /* tensors go through scratch (grad, then the workspace) so that t is
     * untouched until everything has been checked */
    float *v_tmp = NULL, *best_tmp = NULL;
    if (s == SOMA_OK && t->v) {
        v_tmp = soma_alloc_array(P, sizeof(float));
        if (!v_tmp)
            s = soma_fail(err, SOMA_ERR_NOMEM, "out of memory reading %s", path);
        else
            s = get_tensor(&c, "train.v", 1, v_tmp, P, err);
    } else if (s == SOMA_OK) {
        s = get_tensor(&c, "train.v", 0, NULL, P, err);
    }
    if (s == SOMA_OK && t->best && r.best_epoch > 0) {
        best_tmp = soma_alloc_array(P, sizeof(float));
        if (!best_tmp)
            s = soma_fail(err, SOMA_ERR_NOMEM, "out of memory reading %s", path);
        else
            s = get_tensor(&c, "train.best", 1, best_tmp, P, err);
    } else if (s == SOMA_OK) {
        s = get_tensor(&c, "train.best", 0, NULL, P, err);
    }
    if (s == SOMA_OK) {
        soma_net *saved = soma_model_from_st(c.st, path, err);
        if (!saved)
            s = err ? err->code : SOMA_ERR_FORMAT;
        else
            s = soma_net_copy_params(t->net, saved, err);
        soma_net_free(saved);
    }
    if (s == SOMA_OK) {
        if (t->m)
            memcpy(t->m, t->grad, P * sizeof(float));
        if (t->v)
            memcpy(t->v, v_tmp, P * sizeof(float));
        if (best_tmp)
            memcpy(t->best, best_tmp, P * sizeof(float));
        t->epochs_done = r.epochs_done;
        t->next_batch = r.next_batch;
        t->part_loss = r.part_loss;
        t->part_correct = r.part_correct;
        t->part_seconds = 0.0;
        t->steps = steps;
        t->beta1_pow = r.beta1_pow;
        t->beta2_pow = r.beta2_pow;
        t->rng = r.rng;
        t->best_loss = r.best_loss;
        t->best_epoch = r.best_epoch;
        t->bad_epochs = r.bad_epochs;
        t->early_stopped = r.early_stopped;
    }
    soma_free(v_tmp);
    soma_free(best_tmp);
    ckpt_close(&c);
    return s;
}
