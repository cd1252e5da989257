/*
 * cmd_plot.c - soma plot: learning curves from a training log.
 *
 * The log is what `soma train --log FILE` writes: a header naming the
 * columns (epoch,train_loss,train_accuracy,val_loss,val_accuracy,
 * learning_rate,seconds), then one row per epoch, with an empty field where
 * a value does not apply (no validation set, no accuracy for a regression).
 * Columns are found by name, so columns this version does not know are
 * skipped; epoch and at least one loss or accuracy column must be there.
 */
#include "cli.h"
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MAX_BYTES ((size_t)1 << 30)
#define LOG_MAX_COLUMNS 64

typedef struct training_log {
    size_t n, cap;
    double *epoch;
    double *value[SVG_N_SERIES];
} training_log;

static void log_free(training_log *g)
{
    free(g->epoch);
    for (int s = 0; s < SVG_N_SERIES; s++)
        free(g->value[s]);
}

/* Reads the whole file into a NUL-terminated buffer; NULL after printing
 * an error. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            cli_error("%s: out of memory", path);
            fclose(f);
            return NULL;
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        if (cap >= LOG_MAX_BYTES) {
            cli_error("%s: too large for a training log (over 1 GiB)", path);
            free(buf);
            fclose(f);
            return NULL;
        }
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (ferror(f)) {
        cli_error("%s: cannot read: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *size = n;
    return buf;
}

/* Splits the line [s, end) at commas in place; returns the field count,
 * or -1 when there are more than max fields. */
static int split(char *s, char *end, char **fields, int max)
{
    int n = 0;
    for (;;) {
        if (n == max)
            return -1;
        fields[n++] = s;
        char *comma = memchr(s, ',', (size_t)(end - s));
        if (!comma)
            break;
        *comma = '\0';
        s = comma + 1;
    }
    *end = '\0';
    return n;
}

static int grow(training_log *g, const char *path)
{
    size_t cap = g->cap ? g->cap * 2 : 256;
    double *p = realloc(g->epoch, cap * sizeof *p);
    if (!p)
        return cli_error("%s: out of memory", path);
    g->epoch = p;
    for (int s = 0; s < SVG_N_SERIES; s++) {
        p = realloc(g->value[s], cap * sizeof *p);
        if (!p)
            return cli_error("%s: out of memory", path);
        g->value[s] = p;
    }
    g->cap = cap;
    return 0;
}

/* Parses a field: empty gives NAN; otherwise a finite number is needed.
 * Returns 0, or 1 after printing an error naming the line and column. */
static int number(const char *path, size_t line, const char *column,
                  const char *text, double *v)
{
    if (*text == '\0') {
        *v = (double)NAN;
        return 0;
    }
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    if (end == text || *end || text[0] == ' ' || text[0] == '\t')
        return cli_error("%s: line %zu, column '%s': '%.40s' is not a number",
                         path, line, column, text);
    if (!isfinite(*v))
        return cli_error("%s: line %zu, column '%s': '%.40s' is not a finite "
                         "number", path, line, column, text);
    return 0;
}

/* Reads a training log. Returns 0, or 1 after printing an error. */
static int log_read(const char *path, training_log *g)
{
    static const char *const names[SVG_N_SERIES] = {
        "train_loss", "train_accuracy", "val_loss", "val_accuracy"};
    size_t size;
    char *buf = slurp(path, &size);
    if (!buf)
        return 1;
    char *p = buf, *stop = buf + size;
    if (size >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3; /* a UTF-8 byte-order mark */
    if (memchr(p, '\0', (size_t)(stop - p))) {
        free(buf);
        return cli_error("%s: not a training log (it holds NUL bytes)", path);
    }
    int rc = 1, n_cols = 0, epoch_col = -1, col[SVG_N_SERIES];
    char *header[LOG_MAX_COLUMNS], *fields[LOG_MAX_COLUMNS];
    for (int s = 0; s < SVG_N_SERIES; s++)
        col[s] = -1;
    for (size_t line = 1; p < stop; line++) {
        char *nl = memchr(p, '\n', (size_t)(stop - p)), *end = nl ? nl : stop;
        char *next = nl ? nl + 1 : stop;
        if (end > p && end[-1] == '\r')
            end--;
        if (end == p) { /* blank lines (a final newline) carry nothing */
            p = next;
            continue;
        }
        if (n_cols == 0) {
            n_cols = split(p, end, header, LOG_MAX_COLUMNS);
            if (n_cols < 0) {
                cli_error("%s: line %zu: more than %d columns; not a training "
                          "log", path, line, LOG_MAX_COLUMNS);
                goto done;
            }
            for (int j = 0; j < n_cols; j++) {
                for (int k = 0; k < j; k++)
                    if (strcmp(header[j], header[k]) == 0) {
                        cli_error("%s: line %zu: column '%.40s' appears twice",
                                  path, line, header[j]);
                        goto done;
                    }
                if (strcmp(header[j], "epoch") == 0)
                    epoch_col = j;
                for (int s = 0; s < SVG_N_SERIES; s++)
                    if (strcmp(header[j], names[s]) == 0)
                        col[s] = j;
            }
            if (epoch_col < 0 || (col[0] < 0 && col[1] < 0 && col[2] < 0 &&
                                  col[3] < 0)) {
                cli_error("%s: line %zu: not a training log (the header needs "
                          "'epoch' and a loss or accuracy column, as written by "
                          "soma train --log)", path, line);
                goto done;
            }
            p = next;
            continue;
        }
        int n = split(p, end, fields, LOG_MAX_COLUMNS);
        if (n != n_cols) {
            if (n < 0)
                cli_error("%s: line %zu: more fields than the header's %d", path,
                          line, n_cols);
            else
                cli_error("%s: line %zu: %d field%s, the header has %d", path,
                          line, n, n == 1 ? "" : "s", n_cols);
            goto done;
        }
        if (g->n == g->cap && grow(g, path))
            goto done;
        double e;
        if (number(path, line, "epoch", fields[epoch_col], &e))
            goto done;
        if (isnan(e) || e < 0 || e != floor(e) || e > 1e15) {
            cli_error("%s: line %zu, column 'epoch': '%.40s' is not an epoch "
                      "number", path, line, fields[epoch_col]);
            goto done;
        }
        if (g->n > 0 && !(e > g->epoch[g->n - 1])) {
            cli_error("%s: line %zu: epoch %.0f follows epoch %.0f (one run per "
                      "log, epochs in order)", path, line, e, g->epoch[g->n - 1]);
            goto done;
        }
        g->epoch[g->n] = e;
        for (int s = 0; s < SVG_N_SERIES; s++) {
            double v = (double)NAN;
            if (col[s] >= 0 && number(path, line, names[s], fields[col[s]], &v))
                goto done;
            g->value[s][g->n] = v;
        }
        g->n++;
        p = next;
    }
    if (n_cols == 0) {
        cli_error("%s: empty file; not a training log", path);
        goto done;
    }
    if (g->n == 0) {
        cli_error("%s: no epochs in the log (only a header)", path);
        goto done;
    }
    for (int s = 0; s < SVG_N_SERIES; s++)
        for (size_t i = 0; i < g->n; i++)
            if (!isnan(g->value[s][i]))
                rc = 0;
    if (rc)
        cli_error("%s: no loss or accuracy values in the log", path);
done:
    free(buf);
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    const char *output = NULL, *title = NULL;
    int log_loss = 0;
    const cli_opt opts[] = {
        {"output", 'o', OPT_STRING, &output, 0, 0, "FILE.svg",
         "the picture to write (required; - for standard output)"},
        {"output-file", 0, OPT_STRING, &output, 0, 0, "FILE.svg",
         "the same as -o (an older name)"},
        {"title", 0, OPT_STRING, &title, 0, 0, "TEXT",
         "the title (default: 'Learning curves: ' and the log's name)"},
        {"log-loss", 0, OPT_FLAG, &log_loss, 0, 0, NULL,
         "draw the loss on a logarithmic scale"},
    };
    const cli_command cmd = {
        "plot", "LOG.csv -o FILE.svg [--title TEXT] [--log-loss]",
        "Draws the learning curves of a training log (written by soma train\n"
        "--log) as an SVG picture: loss, and accuracy for a classifier, against\n"
        "the epoch, training solid and validation dashed.",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, 1};
    const char *pos[1];
    int n_pos;
    char msg[512];
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos, msg, sizeof msg);
    if (r != 0)
        return r > 0 ? 0 : cli_usage_error(&cmd, msg);
    if (!output)
        return cli_usage_error(&cmd, "-o FILE.svg is required");

    training_log g;
    memset(&g, 0, sizeof g);
    if (log_read(pos[0], &g)) {
        log_free(&g);
        return 1;
    }
    char def[512];
    if (!title) {
        const char *base = strrchr(pos[0], '/');
        snprintf(def, sizeof def, "Learning curves: %s", base ? base + 1 : pos[0]);
        title = def;
    }
    svg_curves c;
    c.n = g.n;
    c.epoch = g.epoch;
    c.log_loss = log_loss;
    for (int s = 0; s < SVG_N_SERIES; s++)
        c.value[s] = g.value[s];
    r = svg_learning_curves(output, title, &c, msg, sizeof msg);
    log_free(&g);
    if (r != 0)
        return cli_error("%s", msg);
    return 0;
}
