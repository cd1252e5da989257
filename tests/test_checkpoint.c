/*
 * test_checkpoint.c - checkpoints, resume, early stopping and schedules:
 *   - a run stopped in the middle of an epoch (or at its end), saved,
 *     read back into a new net and trainer and finished, ends with the same
 *     bits as a run that was never stopped, for every optimizer, with
 *     validation, early stopping and a step schedule in play;
 *   - a checkpoint is a model file that soma_net_load reads;
 *   - a plain model or a damaged checkpoint is refused with a message;
 *   - early stopping keeps the best epoch's weights;
 *   - the schedules give the documented learning rates.
 */
#include "harness.h"
#include "soma.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { N = 203, NV = 50, D = 9, K = 3 };

static float X[N * D], Y[N], VX[NV * D], VY[NV];
static char dir[64], path[128];

static void make_data(void)
{
    unsigned s = 99;
    for (int i = 0; i < N * D; i++) {
        s = s * 1103515245u + 12345u;
        X[i] = (float)((s >> 8) & 0xffff) / 65536.0f;
    }
    for (int i = 0; i < N; i++)
        Y[i] = (float)((X[i * D] + X[i * D + 1] > 1.0f) + (X[i * D + 2] > 0.7f));
    for (int i = 0; i < NV * D; i++) {
        s = s * 1103515245u + 12345u;
        VX[i] = (float)((s >> 8) & 0xffff) / 65536.0f;
    }
    for (int i = 0; i < NV; i++)
        VY[i] = (float)((VX[i * D] + VX[i * D + 1] > 1.0f) + (VX[i * D + 2] > 0.7f));
}

static soma_net *new_net(void)
{
    soma_layer_spec layers[2] = {{11, SOMA_ACT_TANH, 1}, {K, SOMA_ACT_SOFTMAX, 1}};
    soma_spec spec = {D, 2, layers, SOMA_LOSS_CE};
    soma_net *net = soma_net_new(&spec, NULL);
    soma_net_init(net, SOMA_INIT_GLOROT, 5, NULL);
    return net;
}

static soma_train_config config_batch(soma_optimizer opt, size_t batch)
{
    soma_train_config c = soma_train_config_default();
    c.optimizer = opt;
    c.learning_rate = opt == SOMA_OPT_ADAM ? 0.02 : 0.2;
    c.momentum = opt == SOMA_OPT_SGD ? 0.9 : 0.0;
    c.batch_size = batch;
    c.epochs = 6;
    c.seed = 3;
    c.lr_schedule = SOMA_LR_STEP;
    c.lr_step = 2;
    c.lr_gamma = 0.5;
    c.val_x = VX;
    c.val_y = VY;
    c.val_n = NV;
    c.early_stopping = 3;
    c.threads = 2;
    return c;
}

static soma_train_config config(soma_optimizer opt)
{
    return config_batch(opt, 16);
}

typedef struct stopper {
    int epoch;
    size_t batch;
} stopper;

static int stop_at(void *ctx, const soma_batch_report *r)
{
    const stopper *s = ctx;
    return r->epoch == s->epoch && r->batch == s->batch;
}

static void resume_matches_batch(soma_optimizer opt, int stop_epoch,
                                 size_t stop_batch, size_t batch)
{
    soma_error err;
    /* uninterrupted */
    soma_net *a = new_net();
    soma_train_config c = config_batch(opt, batch);
    CHECK(soma_train(a, X, Y, N, 1, &c, &err) == SOMA_OK);

    /* stopped, saved, thrown away, resumed */
    soma_net *b = new_net();
    stopper st = {stop_epoch, stop_batch};
    c.on_batch = stop_at;
    c.ctx = &st;
    soma_trainer *t = soma_trainer_new(b, &c, N, &err);
    int stopped = 0;
    while (!stopped && !soma_trainer_finished(t))
        CHECK(soma_trainer_epoch(t, X, Y, N, 1, NULL, &stopped, &err) == SOMA_OK);
    CHECK(stopped);
    CHECK(soma_trainer_save(t, path, &err) == SOMA_OK);
    soma_trainer_free(t);
    soma_net_free(b);

    soma_net *r = NULL;
    soma_train_config rc;
    CHECK(soma_checkpoint_read(path, &r, &rc, &err) == SOMA_OK);
    if (!r)
        return;
    CHECK(rc.optimizer == opt && rc.epochs == 6 && rc.lr_step == 2 &&
          rc.early_stopping == 3 && rc.seed == 3);
    rc.val_x = VX;
    rc.val_y = VY;
    rc.val_n = NV;
    rc.threads = 1; /* another thread count: still the same bits */
    t = soma_trainer_new(r, &rc, N, &err);
    CHECK_ERR(soma_trainer_restore(t, path, &err), SOMA_OK, "", &err);
    while (!soma_trainer_finished(t))
        CHECK(soma_trainer_epoch(t, X, Y, N, 1, NULL, NULL, &err) == SOMA_OK);
    CHECK(soma_trainer_finish(t, &err) == SOMA_OK);
    CHECK(soma_net_n_params(a) == soma_net_n_params(r));
    CHECK(memcmp(soma_net_params(a), soma_net_params(r),
                 soma_net_n_params(a) * sizeof(float)) == 0);
    soma_trainer_free(t);
    soma_net_free(r);
    soma_net_free(a);
}

static void resume_matches(soma_optimizer opt, int stop_epoch, size_t stop_batch)
{
    resume_matches_batch(opt, stop_epoch, stop_batch, 16);
}

static void test_resume_adam_mid_epoch(void) { resume_matches(SOMA_OPT_ADAM, 2, 5); }
static void test_resume_sgd_mid_epoch(void) { resume_matches(SOMA_OPT_SGD, 3, 1); }
static void test_resume_gd_last_batch(void) { resume_matches(SOMA_OPT_GD, 1, 13); }
/* batch size 1 takes the trainer's own path (fused_update) */
static void test_resume_gd_batch_1(void) { resume_matches_batch(SOMA_OPT_GD, 2, 57, 1); }
static void test_resume_gd_batch_3(void) { resume_matches_batch(SOMA_OPT_GD, 3, 11, 3); }
static void test_resume_adam_batch_1(void) { resume_matches_batch(SOMA_OPT_ADAM, 4, 3, 1); }

typedef struct saver {
    soma_trainer *t;
    soma_status status;
} saver;

static int save_at_3(void *ctx, const soma_batch_report *r)
{
    saver *s = ctx;
    if (r->epoch == 2 && r->batch == 3)
        s->status = soma_trainer_save(s->t, path, NULL);
    return 0;
}

/* A checkpoint saved from on_batch while the epoch goes on (no stop),
 * resumed, ends where the run that saved it ends. At batch size 1 with gd
 * the first layer's weights are in the trainer's working copy then: the
 * save brings them back (soma_net_sync). */
static void test_save_inside_epoch(void)
{
    for (int b1 = 0; b1 < 2; b1++) {
        soma_error err;
        soma_net *a = new_net();
        soma_train_config c = config_batch(SOMA_OPT_GD, b1 ? 1 : 16);
        saver s = {NULL, SOMA_ERR_ARG};
        c.on_batch = save_at_3;
        c.ctx = &s;
        s.t = soma_trainer_new(a, &c, N, &err);
        CHECK(s.t != NULL);
        if (!s.t)
            return;
        while (!soma_trainer_finished(s.t))
            CHECK(soma_trainer_epoch(s.t, X, Y, N, 1, NULL, NULL, &err) == SOMA_OK);
        CHECK(soma_trainer_finish(s.t, &err) == SOMA_OK);
        CHECK(s.status == SOMA_OK);
        soma_trainer_free(s.t);

        soma_net *r = NULL;
        soma_train_config rc;
        CHECK(soma_checkpoint_read(path, &r, &rc, &err) == SOMA_OK);
        if (!r) {
            soma_net_free(a);
            return;
        }
        rc.val_x = VX;
        rc.val_y = VY;
        rc.val_n = NV;
        soma_trainer *t = soma_trainer_new(r, &rc, N, &err);
        CHECK_ERR(soma_trainer_restore(t, path, &err), SOMA_OK, "", &err);
        while (!soma_trainer_finished(t))
            CHECK(soma_trainer_epoch(t, X, Y, N, 1, NULL, NULL, &err) == SOMA_OK);
        CHECK(soma_trainer_finish(t, &err) == SOMA_OK);
        CHECK(memcmp(soma_net_params(a), soma_net_params(r),
                     soma_net_n_params(a) * sizeof(float)) == 0);
        soma_trainer_free(t);
        soma_net_free(r);
        soma_net_free(a);
    }
}

static void test_checkpoint_is_a_model(void)
{
    soma_error err;
    soma_net *net = new_net();
    soma_train_config c = config(SOMA_OPT_ADAM);
    soma_trainer *t = soma_trainer_new(net, &c, N, &err);
    CHECK(soma_trainer_epoch(t, X, Y, N, 1, NULL, NULL, &err) == SOMA_OK);
    CHECK(soma_trainer_save(t, path, &err) == SOMA_OK);
    soma_net *m = soma_net_load(path, &err);
    CHECK(m != NULL);
    if (m)
        CHECK(memcmp(soma_net_params(m), soma_net_params(net),
                     soma_net_n_params(net) * sizeof(float)) == 0);
    soma_net_free(m);
    /* a plain model is not a checkpoint */
    CHECK(soma_net_save(net, path, &err) == SOMA_OK);
    soma_net *r = NULL;
    soma_train_config rc;
    CHECK_ERR(soma_checkpoint_read(path, &r, &rc, &err), SOMA_ERR_FORMAT,
              "not a checkpoint", &err);
    CHECK_ERR(soma_trainer_restore(t, path, &err), SOMA_ERR_FORMAT,
              "not a checkpoint", &err);
    /* a trainer for other data refuses the checkpoint */
    CHECK(soma_trainer_save(t, path, &err) == SOMA_OK);
    soma_trainer *t2 = soma_trainer_new(net, &c, N - 1, &err);
    CHECK_ERR(soma_trainer_restore(t2, path, &err), SOMA_ERR_DATA, "203 rows",
              &err);
    soma_trainer_free(t2);
    soma_trainer_free(t);
    soma_net_free(net);
}

/* Rewrites one metadata value in the checkpoint at path (same length or
 * not: the header is re-serialised by hand) and checks restore's error. */
static void damaged(const char *key, const char *value, soma_status code,
                    const char *want)
{
    FILE *f = fopen(path, "rb");
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unsigned long long hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | buf[i];
    char *hdr = malloc(hl + 1 + 256);
    memcpy(hdr, buf + 8, hl);
    hdr[hl] = '\0';
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    char *p = strstr(hdr, pat);
    CHECK(p != NULL);
    if (!p) {
        free(hdr);
        return;
    }
    p += strlen(pat);
    char *q = strchr(p, '"');
    char *out = malloc(hl + 256);
    size_t pre = (size_t)(p - hdr);
    memcpy(out, hdr, pre);
    size_t len = pre + (size_t)sprintf(out + pre, "%s", value);
    memcpy(out + len, q, strlen(q));
    len += strlen(q);
    /* keep the data offset: pad or trim trailing spaces of the header */
    while (len < hl)
        out[len++] = ' ';
    while (len > hl && out[len - 1] == ' ')
        len--;
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/damaged.safetensors", dir);
    f = fopen(tmp, "wb");
    unsigned char lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)((unsigned long long)len >> (8 * i));
    fwrite(lb, 1, 8, f);
    fwrite(out, 1, len, f);
    fwrite(buf + 8 + hl, 1, n - 8 - hl, f);
    fclose(f);
    soma_error err;
    soma_net *net = new_net();
    soma_train_config c = config(SOMA_OPT_ADAM);
    soma_trainer *t = soma_trainer_new(net, &c, N, &err);
    float before = soma_net_params(net)[0];
    CHECK_ERR(soma_trainer_restore(t, tmp, &err), code, want, &err);
    CHECK(soma_net_params(net)[0] == before); /* untouched */
    soma_trainer_free(t);
    soma_net_free(net);
    free(out);
    free(hdr);
}

static void test_damaged_checkpoints(void)
{
    soma_error err;
    soma_net *net = new_net();
    soma_train_config c = config(SOMA_OPT_ADAM);
    soma_trainer *t = soma_trainer_new(net, &c, N, &err);
    CHECK(soma_trainer_epoch(t, X, Y, N, 1, NULL, NULL, &err) == SOMA_OK);
    CHECK(soma_trainer_save(t, path, &err) == SOMA_OK);
    soma_trainer_free(t);
    soma_net_free(net);
    const soma_status F = SOMA_ERR_FORMAT;
    damaged("soma.train.next_batch", "99", F, "past the epoch");
    damaged("soma.train.next_batch", "-1", F, "'soma.train.next_batch'");
    damaged("soma.train.epochs_done", "7", F, "'soma.train.epochs_done'");
    damaged("soma.train.rng", "zz", F, "64 hex digits");
    damaged("soma.train.rng",
            "0000000000000000000000000000000000000000000000000000000000000000", F,
            "all zero");
    damaged("soma.train.beta1_pow", "nan", F, "'soma.train.beta1_pow'");
    damaged("soma.train.best_epoch", "5", F, "'soma.train.best_epoch'");
    damaged("soma.train.version", "9", SOMA_ERR_UNSUPPORTED, "version '9'");
}

static double lrs[8];

static int record_lr(void *ctx, const soma_epoch_report *r)
{
    (void)ctx;
    lrs[r->epoch - 1] = r->learning_rate;
    return 0;
}

static void test_schedules(void)
{
    soma_net *net = new_net();
    soma_train_config c = soma_train_config_default();
    c.learning_rate = 0.1;
    c.epochs = 4;
    c.on_epoch = record_lr;
    c.lr_schedule = SOMA_LR_STEP;
    c.lr_step = 2;
    c.lr_gamma = 0.5;
    CHECK(soma_train(net, X, Y, N, 1, &c, NULL) == SOMA_OK);
    CHECK(lrs[0] == 0.1 && lrs[1] == 0.1 && lrs[2] == 0.05 && lrs[3] == 0.05);
    c.lr_schedule = SOMA_LR_COSINE;
    CHECK(soma_train(net, X, Y, N, 1, &c, NULL) == SOMA_OK);
    CHECK_NEAR(lrs[0], 0.1, 1e-15);
    CHECK_NEAR(lrs[1], 0.1 * 0.5 * (1 + cos(3.14159265358979 / 4)), 1e-12);
    CHECK_NEAR(lrs[2], 0.05, 1e-12);
    CHECK_NEAR(lrs[3], 0.1 * 0.5 * (1 + cos(3 * 3.14159265358979 / 4)), 1e-12);
    c.lr_schedule = SOMA_LR_CONSTANT;
    CHECK(soma_train(net, X, Y, N, 1, &c, NULL) == SOMA_OK);
    CHECK(lrs[3] == 0.1);
    soma_net_free(net);
    CHECK(soma_lr_schedule_parse("cosine") == SOMA_LR_COSINE);
    CHECK(soma_lr_schedule_parse("warm") == -1);
}

typedef struct best_tracker {
    soma_net *net;
    float *best;
    int best_epoch, last_epoch;
} best_tracker;

static int track_best(void *ctx, const soma_epoch_report *r)
{
    best_tracker *b = ctx;
    b->last_epoch = r->epoch;
    if (r->best) {
        b->best_epoch = r->epoch;
        memcpy(b->best, soma_net_params(b->net),
               soma_net_n_params(b->net) * sizeof(float));
    }
    return 0;
}

static void test_early_stopping_keeps_best(void)
{
    soma_error err;
    soma_net *net = new_net();
    best_tracker bt = {net, malloc(soma_net_n_params(net) * sizeof(float)), 0, 0};
    soma_train_config c = config(SOMA_OPT_ADAM);
    c.learning_rate = 0.3; /* too high: validation loss soon gets worse */
    c.lr_schedule = SOMA_LR_CONSTANT;
    c.epochs = 200;
    c.early_stopping = 2;
    c.on_epoch = track_best;
    c.ctx = &bt;
    CHECK(soma_train(net, X, Y, N, 1, &c, &err) == SOMA_OK);
    CHECK(bt.last_epoch < 200);
    CHECK(bt.last_epoch == bt.best_epoch + 2);
    CHECK(memcmp(bt.best, soma_net_params(net),
                 soma_net_n_params(net) * sizeof(float)) == 0);
    free(bt.best);
    /* early stopping without validation data is refused */
    c.val_n = 0;
    CHECK_ERR(soma_train(net, X, Y, N, 1, &c, &err), SOMA_ERR_ARG,
              "needs validation data", &err);
    soma_net_free(net);
}

int main(void)
{
    make_data();
    snprintf(dir, sizeof dir, "/tmp/soma_ckpt_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/run.safetensors", dir);
    RUN(test_resume_adam_mid_epoch);
    RUN(test_resume_sgd_mid_epoch);
    RUN(test_resume_gd_last_batch);
    RUN(test_resume_gd_batch_1);
    RUN(test_resume_gd_batch_3);
    RUN(test_resume_adam_batch_1);
    RUN(test_save_inside_epoch);
    RUN(test_checkpoint_is_a_model);
    RUN(test_damaged_checkpoints);
    RUN(test_schedules);
    RUN(test_early_stopping_keeps_best);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("  could not remove %s\n", dir);
    return harness_summary();
}
