/*
 * run.c - the training loop of soma train: progress on the terminal or one
 * line per epoch, the --log CSV, checkpoints every N epochs, and Ctrl-C,
 * which finishes the current batch, writes a checkpoint and exits 130.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted, resized;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void on_sigwinch(int sig)
{
    (void)sig;
    resized = 1;
}

/* The terminal's width: the window size of standard output, else
 * $COLUMNS, else 80. */
static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v > 0 && v < 10000 ? (int)v : 80;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct run_state {
    const cli_run *run;
    int tty;             /* stdout is a terminal: live progress line */
    int epochs;
    size_t rows;
    double epoch_start;  /* when the current epoch (or resumed part) began */
    size_t rows_at_start;/* rows already done when it began */
    double last_draw;
    double epoch_seconds;/* the last full epoch's time, for the ETA */
    int columns;         /* the terminal's width; 0: not read yet */
    FILE *log;
    char *log_tmp;
    size_t batch, n_batches; /* the last batch trained, of the epoch's */
} run_state;

static void format_time(double s, char *buf, size_t size)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static int on_batch(void *ctx, const soma_batch_report *r)
{
    run_state *st = ctx;
    st->batch = r->batch;
    st->n_batches = r->n_batches;
    if (st->tty && !st->run->quiet) {
        double t = now();
        if (t - st->last_draw >= 0.1 || r->batch == r->n_batches) {
            st->last_draw = t;
            double el = t - st->epoch_start;
            size_t done = r->rows_done - st->rows_at_start;
            double rate = el > 0 ? (double)done / el : 0.0;
            double left_rows = (double)(st->rows - r->rows_done) +
                               (double)(st->epochs - r->epoch) * (double)st->rows;
            char eta[32];
            format_time(rate > 0 ? left_rows / rate : 0.0, eta, sizeof eta);
            if (resized || st->columns == 0) {
                resized = 0;
                st->columns = terminal_width();
            }
            /* the fields, dropped from the least needed until the line
             * fits (a line that wraps cannot be redrawn in place): the
             * accuracy, the rate, the time left, then a shorter bar */
            char head[32], tail[96], rate_s[32] = "", left_s[48] = "", acc_s[24] = "";
            int pct = (int)(100.0 * (double)r->batch / (double)r->n_batches);
            snprintf(head, sizeof head, "epoch %d/%d ", r->epoch, st->epochs);
            char pct_s[8];
            snprintf(pct_s, sizeof pct_s, " %3d%%", pct);
            snprintf(tail, sizeof tail, "  loss %.4f", r->running_loss);
            snprintf(rate_s, sizeof rate_s, "  %.0f samples/s", rate);
            snprintf(left_s, sizeof left_s, "  %s left", eta);
            if (r->running_accuracy >= 0)
                snprintf(acc_s, sizeof acc_s, "  acc %.4f", r->running_accuracy);
            int room = st->columns - 1, bar_w = 24;
            int fixed = (int)(strlen(head) + strlen(pct_s) + strlen(tail)) + 2;
            int need = fixed + bar_w + (int)(strlen(rate_s) + strlen(left_s) +
                                             strlen(acc_s));
            if (need > room) { /* first a shorter bar, down to 10 */
                int cut = need - room < bar_w - 10 ? need - room : bar_w - 10;
                bar_w -= cut;
                need -= cut;
            }
            if (need > room) { need -= (int)strlen(rate_s); rate_s[0] = '\0'; }
            if (need > room) { need -= (int)strlen(acc_s); acc_s[0] = '\0'; }
            if (need > room) { need -= (int)strlen(left_s); left_s[0] = '\0'; }
            if (need > room)
                bar_w = room - (need - bar_w) > 4 ? room - (need - bar_w) : 4;
            int fill = (int)((double)bar_w * (double)r->batch / (double)r->n_batches);
            char bar[32];
            for (int i = 0; i < bar_w; i++)
                bar[i] = i < fill ? '#' : '.';
            bar[bar_w] = '\0';
            /* the order of old: epoch, bar, %, rate, time left, loss, acc */
            printf("\r%s[%s]%s%s%s%s%s\033[K", head, bar, pct_s, rate_s, left_s,
                   tail, acc_s);
            fflush(stdout);
        }
    }
    return interrupted;
}

static void log_value(FILE *f, double v)
{
    if (v >= 0)
        fprintf(f, ",%.9g", v);
    else
        fputc(',', f);
}

/* Whether epoch e of n gets a line: the first, the last, every
 * print_every-th, or by default every one of at most 100 epochs and about
 * 100 lines in all beyond (a 10,000-epoch run on a pipe printed 10,000). */
static int epoch_line(const cli_run *run, int e, int n)
{
    int every = run->print_every;
    if (every <= 0)
        every = n <= 100 ? 1 : (n + 99) / 100;
    return e == 1 || e == n || e % every == 0;
}

static int on_epoch(void *ctx, const soma_epoch_report *r)
{
    run_state *st = ctx;
    if (!st->run->quiet && epoch_line(st->run, r->epoch, r->epochs)) {
        if (st->tty)
            printf("\r\033[K");
        /* the training figures are running means over the epoch's batches,
         * as the weights changed; the final line recomputes them */
        printf("epoch %d/%d  running loss %.6f", r->epoch, r->epochs,
               r->train_loss);
        if (r->train_accuracy >= 0)
            printf("  accuracy %.4f", r->train_accuracy);
        if (r->val_loss >= 0) {
            printf("  val loss %.6f", r->val_loss);
            if (r->val_accuracy >= 0)
                printf("  val accuracy %.4f", r->val_accuracy);
        }
        printf("  lr %.4g  %.2f s%s\n", r->learning_rate, r->seconds,
               r->best && st->run->early_stopping ? "  (best)" : "");
        fflush(stdout);
    }
    if (st->log) {
        fprintf(st->log, "%d", r->epoch);
        log_value(st->log, r->train_loss);
        log_value(st->log, r->train_accuracy);
        log_value(st->log, r->val_loss);
        log_value(st->log, r->val_accuracy);
        fprintf(st->log, ",%.9g,%.6f\n", r->learning_rate, r->seconds);
        fflush(st->log);
    }
    st->epoch_seconds = r->seconds;
    st->epoch_start = now();
    st->rows_at_start = 0;
    return 0;
}

static const char LOG_HEADER[] =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,"
    "seconds\n";

/* Opens the log under a temporary name; on resume, carries over the rows of
 * the epochs already done from an existing log. */
static int log_open(run_state *st, const char *path, int keep_epochs)
{
    size_t len = strlen(path) + 32;
    st->log_tmp = malloc(len);
    if (!st->log_tmp)
        return cli_error("out of memory");
    snprintf(st->log_tmp, len, "%s.tmp.%ld", path, (long)getpid());
    st->log = fopen(st->log_tmp, "w");
    if (!st->log) {
        int e = errno;
        free(st->log_tmp);
        st->log_tmp = NULL;
        return cli_error("--log %s: cannot create: %s", path, strerror(e));
    }
    fputs(LOG_HEADER, st->log);
    FILE *old = keep_epochs > 0 ? fopen(path, "r") : NULL;
    if (old) {
        char line[1024];
        int first = 1;
        while (fgets(line, sizeof line, old)) {
            if (first) {
                first = 0;
                if (strcmp(line, LOG_HEADER) != 0)
                    break;
                continue;
            }
            int e = atoi(line);
            if (e >= 1 && e <= keep_epochs)
                fputs(line, st->log);
        }
        fclose(old);
    }
    fflush(st->log);
    return 0;
}

/* Puts the log in place (whatever it holds: a partial log of an interrupted
 * or failed run is still worth having). */
static int log_close(run_state *st, const char *path)
{
    if (!st->log)
        return 0;
    int bad = ferror(st->log) != 0;
    bad |= fclose(st->log) != 0;
    st->log = NULL;
    if (!bad && rename(st->log_tmp, path) != 0)
        bad = 1;
    if (bad) {
        int e = errno;
        remove(st->log_tmp);
        cli_error("--log %s: cannot write: %s", path, strerror(e));
    }
    free(st->log_tmp);
    st->log_tmp = NULL;
    return bad;
}

/* What early stopping did, said once the run is over and kept in the
 * model's metadata (soma info shows it). */
static void report_early_stopping(soma_net *net, const soma_trainer *t,
                                  const soma_train_config *cfg, const cli_run *run)
{
    double best_loss;
    int best = soma_trainer_best(t, &best_loss);
    int done = soma_trainer_epochs_done(t);
    char buf[64];
    snprintf(buf, sizeof buf, "%d", done);
    soma_net_set_meta(net, "train.epochs_run", buf, NULL);
    if (best <= 0)
        return;
    snprintf(buf, sizeof buf, "%d", best);
    soma_net_set_meta(net, "train.best_epoch", buf, NULL);
    snprintf(buf, sizeof buf, "%.9g", best_loss);
    soma_net_set_meta(net, "train.best_val_loss", buf, NULL);
    if (run->quiet)
        return;
    if (soma_trainer_stopped_early(t))
        printf("stopped after epoch %d: no lower validation loss for %d epoch%s; "
               "kept the weights of epoch %d (val loss %.6g)\n",
               done, cfg->early_stopping, cfg->early_stopping == 1 ? "" : "s", best,
               best_loss);
    else
        printf("ran all %d epoch%s; kept the weights of epoch %d, the lowest "
               "validation loss (%.6g)\n",
               done, done == 1 ? "" : "s", best, best_loss);
    fflush(stdout);
}

int cli_run_training(soma_net *net, soma_train_config *cfg, const float *x,
                     const float *y, size_t n, int y_cols, const cli_run *run)
{
    soma_error err;
    run_state st;
    memset(&st, 0, sizeof st);
    st.run = run;
    st.tty = isatty(STDOUT_FILENO);
    st.epochs = cfg->epochs;
    st.rows = n;
    cfg->on_batch = on_batch;
    cfg->on_epoch = on_epoch;
    cfg->ctx = &st;

    soma_trainer *t = soma_trainer_new(net, cfg, n, &err);
    if (!t)
        return cli_error("%s", err.message);
    if (run->resume && soma_trainer_restore(t, run->resume, &err) != SOMA_OK) {
        soma_trainer_free(t);
        return cli_error("%s", err.message);
    }
    if (run->log && log_open(&st, run->log, soma_trainer_epochs_done(t))) {
        soma_trainer_free(t);
        return 1;
    }
    if (run->resume && !run->quiet)
        printf("resuming from %s after %d of %d epochs\n", run->resume,
               soma_trainer_epochs_done(t), cfg->epochs);

    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends soma at once */
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_sa);
    struct sigaction wa, old_wa;
    memset(&wa, 0, sizeof wa);
    wa.sa_handler = on_sigwinch;
    sigemptyset(&wa.sa_mask);
    wa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &wa, &old_wa);

    int rc = 0;
    st.epoch_start = now();
    while (!soma_trainer_finished(t)) {
        int stopped = 0;
        if (soma_trainer_epoch(t, x, y, n, y_cols, NULL, &stopped, &err) !=
            SOMA_OK) {
            if (st.tty && !run->quiet)
                printf("\n");
            rc = cli_error("%s: %s", run->data_name, err.message);
            break;
        }
        if (interrupted) {
            if (st.tty && !run->quiet)
                printf("\n");
            if (soma_trainer_save(t, run->interrupt_path, &err) != SOMA_OK) {
                rc = cli_error("interrupted, and the checkpoint could not be "
                               "written: %s", err.message);
                break;
            }
            char where[96];
            int done = soma_trainer_epochs_done(t);
            if (stopped)
                snprintf(where, sizeof where, "in epoch %d, after batch %zu of %zu",
                         done + 1, st.batch, st.n_batches);
            else
                snprintf(where, sizeof where, "after epoch %d", done);
            fprintf(stderr,
                    "soma: interrupted %s; checkpoint saved to %s\nresume with: "
                    "%s --resume %s\n",
                    where, run->interrupt_path, run->command, run->interrupt_path);
            rc = 130;
            break;
        }
        int done = soma_trainer_epochs_done(t);
        if (run->checkpoint && run->checkpoint_every > 0 &&
            done % run->checkpoint_every == 0 &&
            soma_trainer_save(t, run->checkpoint, &err) != SOMA_OK) {
            rc = cli_error("%s", err.message);
            break;
        }
    }
    sigaction(SIGINT, &old_sa, NULL);
    sigaction(SIGWINCH, &old_wa, NULL);
    if (rc == 0 && soma_trainer_finish(t, &err) != SOMA_OK)
        rc = cli_error("%s", err.message);
    if (rc == 0 && cfg->early_stopping > 0)
        report_early_stopping(net, t, cfg, run);
    if (run->log && log_close(&st, run->log) && rc == 0)
        rc = 1;
    soma_trainer_free(t);
    return rc;
}
