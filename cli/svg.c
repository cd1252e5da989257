/*
 * svg.c - learning curves and confusion matrices as standalone SVG files.
 *
 * Plain fprintf of SVG 1.1: no scripts, no external resources, so a file
 * opens as it is in any browser. Layout is computed here in pixels; text
 * widths are estimated at 0.6 em per character (a generous average for
 * sans-serif fonts), which is all the layout needs.
 */
#include "svg.h"
#include "cli.h"

#include "soma.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FONT "Helvetica, Arial, sans-serif"
#define INK "#222222"
#define MUTED "#555555"
#define GRID "#e4e4e4"
#define CHAR_EM 0.58 /* estimated width of a character, in em */

/* Okabe-Ito blue and vermillion: told apart with every colour-vision
 * deficiency, and the dash pattern tells them apart in grey too. */
#define COLOUR_TRAIN "#0072B2"
#define COLOUR_VAL "#D55E00"

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

/* Reads one character of s into out (1..4 bytes of UTF-8) and returns how
 * many bytes of s it used (0 at the end). Bytes that are not UTF-8 and
 * characters XML 1.0 forbids come out as U+FFFD; tabs and line breaks come
 * out as spaces, since every label is drawn on one line. */
static size_t next_char(const unsigned char *s, unsigned char out[4],
                        size_t *out_len)
{
    static const unsigned char bad[3] = {0xef, 0xbf, 0xbd};
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c == 0)
        return 0;
    if (c < 0x80) {
        out[0] = c == '\t' || c == '\n' || c == '\r' ? ' ' : (unsigned char)c;
        *out_len = 1;
        if (c >= 0x20 && c != 0x7f)
            return 1;
        if (out[0] == ' ')
            return 1;
        memcpy(out, bad, 3);
        *out_len = 3;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        goto invalid;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto invalid;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
        (cp >= 0x80 && cp < 0xa0)) {
        /* overlong, surrogate, out of range, non-character or C1 control:
         * the whole sequence becomes one replacement character */
        memcpy(out, bad, 3);
        *out_len = 3;
        return n;
    }
    memcpy(out, s, n);
    *out_len = n;
    return n;
invalid:
    memcpy(out, bad, 3);
    *out_len = 3;
    return 1;
}

/* The number of characters of s (counting as next_char does). */
static size_t text_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char buf[4];
    size_t len, n = 0, k;
    while ((k = next_char(p, buf, &len)) != 0) {
        p += k;
        n++;
    }
    return n;
}

/* The characters drawn for s when at most max are shown (0: no limit). */
static size_t shown_chars(const char *s, size_t max)
{
    size_t n = text_chars(s);
    return max && n > max ? max : n;
}

/* Writes s as XML character data (valid in attribute values too), cut to
 * max characters with a trailing ellipsis when it is longer (0: no limit). */
static void put_text(FILE *f, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char buf[4];
    size_t len, k, i = 0, total = max ? text_chars(s) : 0;
    while ((k = next_char(p, buf, &len)) != 0) {
        if (max && total > max && i + 1 == max) {
            fputs("\xe2\x80\xa6", f); /* U+2026 ellipsis */
            return;
        }
        p += k;
        i++;
        if (len == 1 && buf[0] == '&')
            fputs("&amp;", f);
        else if (len == 1 && buf[0] == '<')
            fputs("&lt;", f);
        else if (len == 1 && buf[0] == '>')
            fputs("&gt;", f);
        else if (len == 1 && buf[0] == '"')
            fputs("&quot;", f);
        else if (len == 1 && buf[0] == '\'')
            fputs("&apos;", f);
        else
            fwrite(buf, 1, len, f);
    }
}

/* Estimated width in pixels of n characters at the given font size. */
static double text_width(size_t n, double font_size)
{
    return (double)n * CHAR_EM * font_size;
}

static void svg_begin(FILE *f, double width, double height, const char *title,
                      size_t title_max)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
               "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"" FONT "\" font-size=\"12\" fill=\"" INK "\">\n",
            width, height, width, height);
    fputs("<title>", f);
    put_text(f, title, title_max);
    fputs("</title>\n<desc>Drawn by soma " SOMA_VERSION_STRING "</desc>\n", f);
    fputs("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);
}

/* A line of text at (x, y) with the anchor start, middle or end. */
static void put_label(FILE *f, double x, double y, double size,
                      const char *anchor, const char *attrs, const char *s,
                      size_t max)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\"", x, y, size);
    if (strcmp(anchor, "start") != 0)
        fprintf(f, " text-anchor=\"%s\"", anchor);
    if (attrs && *attrs)
        fprintf(f, " %s", attrs);
    fputc('>', f);
    put_text(f, s, max);
    fputs("</text>\n", f);
}

/* ------------------------------------------------------------------------ */
/* Axes with nice ticks                                                     */
/* ------------------------------------------------------------------------ */

/* An axis drawn from pixel p0 (at lo) to pixel p1 (at hi). Linear: lo and
 * hi are multiples of the tick step. Logarithmic: lo and hi are powers of
 * ten, stored as their exponents, with ticks at each power (and at 2 and 5
 * times each when the axis spans two decades or less). */
typedef struct axis {
    double lo, hi, step;
    int log;
    double p0, p1;
} axis;

#define MAX_TICKS 64

/* The 1-2-5 step that cuts span into about target pieces: the raw step's
 * mantissa is rounded to the nearest of 1, 2, 5 and 10 in log space (the
 * thresholds are their geometric means). */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return (m >= 7.0710678 ? 10.0 : m >= 3.1622777 ? 5.0 : m >= 1.4142136 ? 2.0
                                                                          : 1.0) * p;
}

/* A linear axis over [lo, hi] widened to multiples of a nice step.
 * integer: steps of at least 1 (epochs). */
static void axis_fit(axis *a, double lo, double hi, int target, int integer)
{
    if (!(hi > lo)) {
        double d = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
        if (integer && d < 1.0)
            d = 1.0;
        lo -= d;
        hi += d;
    }
    double step = nice_step(hi - lo, target);
    if (integer && step < 1.0)
        step = 1.0;
    /* the tolerance keeps 1.0 / 0.2 = 5.000000000000001 on tick 5 */
    a->lo = floor(lo / step + 1e-9) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
    a->step = step;
    a->log = 0;
}

/* A logarithmic axis over [lo, hi], both > 0, widened to powers of ten. */
static void axis_fit_log(axis *a, double lo, double hi)
{
    a->lo = floor(log10(lo) + 1e-9);
    a->hi = ceil(log10(hi) - 1e-9);
    if (a->hi <= a->lo)
        a->hi = a->lo + 1.0;
    a->step = 1.0;
    a->log = 1;
}

static double axis_px(const axis *a, double v)
{
    double t = a->log ? log10(v) : v;
    return a->p0 + (t - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* The tick values of the axis, at most MAX_TICKS; returns their count. */
static int axis_ticks(const axis *a, double *ticks)
{
    int n = 0;
    if (!a->log) {
        long long first = llround(a->lo / a->step), last = llround(a->hi / a->step);
        for (long long i = first; i <= last && n < MAX_TICKS; i++)
            ticks[n++] = (double)i * a->step;
        return n;
    }
    int fine = a->hi - a->lo <= 2.0;
    for (double e = a->lo; e <= a->hi + 0.5 && n < MAX_TICKS; e += 1.0) {
        double p = pow(10.0, e);
        ticks[n++] = p;
        if (fine && e < a->hi - 0.5) {
            ticks[n++] = 2.0 * p;
            ticks[n++] = 5.0 * p;
        }
    }
    return n;
}

/* The k, M or G suffix for values up to amax, and its divisor. */
static const char *suffix_for(double amax, double *div)
{
    *div = amax >= 1e9 ? 1e9 : amax >= 1e6 ? 1e6 : amax >= 1e4 ? 1e3 : 1.0;
    return *div == 1e9 ? "G" : *div == 1e6 ? "M" : *div == 1e3 ? "k" : "";
}

/* Formats tick value v with as many decimals as the step needs; large
 * values get a k, M or G suffix ("2.5M"). */
static void fmt_tick(const axis *a, double v, char *buf, size_t size)
{
    double div;
    if (a->log) {
        const char *suffix = suffix_for(v, &div);
        if (v >= 1e13 || v < 1e-4)
            snprintf(buf, size, "%.0e", v);
        else
            snprintf(buf, size, "%g%s", v / div, suffix);
        return;
    }
    double step = a->step, amax = fmax(fabs(a->lo), fabs(a->hi));
    if (fabs(v) < step * 1e-6) {
        snprintf(buf, size, "0"); /* no "-0", no "0.0M" */
        return;
    }
    if (amax >= 1e13) {
        snprintf(buf, size, "%.3g", v);
        return;
    }
    const char *suffix = "";
    if (step >= 1.0) {
        suffix = suffix_for(amax, &div);
        v /= div;
        step /= div;
    }
    int dec = step >= 1.0 ? 0 : (int)-floor(log10(step) + 1e-9);
    if (dec > 6)
        snprintf(buf, size, "%.3g%s", v, suffix);
    else
        snprintf(buf, size, "%.*f%s", dec, v, suffix);
}

/* ------------------------------------------------------------------------ */
/* Learning curves                                                          */
/* ------------------------------------------------------------------------ */

static const char *const series_id[SVG_N_SERIES] = {
    "train_loss", "train_accuracy", "val_loss", "val_accuracy"};
static const char *const series_name[SVG_N_SERIES] = {
    "train loss", "train accuracy", "validation loss", "validation accuracy"};

enum {
    PLOT_W = 380,  /* plot area of one panel */
    PLOT_H = 260,
    PANEL_L = 76,  /* room left of the plot area: tick labels, axis label */
    PANEL_R = 28,
    PAGE_PAD = 16,
    MARKERS_UP_TO = 30 /* epochs up to which every point gets a marker */
};

static int is_val(int s)
{
    return s == SVG_VAL_LOSS || s == SVG_VAL_ACCURACY;
}

/* The row of the lowest validation loss (the first, on a tie); the curves
 * must have one. */
static size_t best_val(const svg_curves *c)
{
    const double *v = c->value[SVG_VAL_LOSS];
    size_t best = c->n;
    for (size_t i = 0; i < c->n; i++)
        if (!isnan(v[i]) && (best == c->n || v[i] < v[best]))
            best = i;
    return best;
}

/* Draws the loss or the accuracy panel, train and validation, with the
 * top left corner of its plot area at (x, y). */
static void draw_panel(FILE *f, const svg_curves *c, const int *has, int accuracy,
                       double x, double y)
{
    const int ser[2] = {accuracy ? SVG_TRAIN_ACCURACY : SVG_TRAIN_LOSS,
                        accuracy ? SVG_VAL_ACCURACY : SVG_VAL_LOSS};
    const char *name = accuracy ? "accuracy" : "loss";
    const char *label = accuracy ? "accuracy" : c->log_loss ? "loss (log scale)"
                                                            : "loss";
    double vmin = (double)INFINITY, vmax = -(double)INFINITY;
    for (int k = 0; k < 2; k++) {
        if (!has[ser[k]])
            continue;
        for (size_t i = 0; i < c->n; i++) {
            double v = c->value[ser[k]][i];
            if (isnan(v))
                continue;
            vmin = fmin(vmin, v);
            vmax = fmax(vmax, v);
        }
    }
    axis ax, ay;
    ax.p0 = x;
    ax.p1 = x + PLOT_W;
    ay.p0 = y + PLOT_H;
    ay.p1 = y;
    axis_fit(&ax, c->epoch[0], c->epoch[c->n - 1], 6, 1);
    if (accuracy) {
        /* a share: the axis ends at 1 and shows at least 0.9 to 1 */
        double hi = fmax(vmax, 1.0), lo = fmin(vmin, hi - 0.1);
        axis_fit(&ay, lo, hi, 5, 0);
        if (ay.lo < 0.0 && lo >= 0.0)
            ay.lo = 0.0;
    } else if (c->log_loss) {
        axis_fit_log(&ay, vmin, vmax);
    } else {
        /* a loss: from zero, so that the eye reads ratios correctly */
        double lo = fmin(vmin, 0.0), hi = vmax > lo ? vmax : lo + 1.0;
        axis_fit(&ay, lo, hi, 5, 0);
    }

    fprintf(f, "<g id=\"%s_panel\">\n", name);
    /* horizontal grid lines and y ticks */
    char buf[64];
    double ticks[MAX_TICKS];
    int n_ticks = axis_ticks(&ay, ticks);
    for (int i = 0; i < n_ticks; i++) {
        double v = ticks[i], py = axis_px(&ay, v);
        fmt_tick(&ay, v, buf, sizeof buf);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"" GRID "\"/>\n", x, py, x + PLOT_W, py);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"" INK "\"/>\n", x - 5, py, x, py);
        put_label(f, x - 8, py + 4, 11, "end", "class=\"tick\"", buf, 0);
    }
    /* x ticks */
    n_ticks = axis_ticks(&ax, ticks);
    for (int i = 0; i < n_ticks; i++) {
        double v = ticks[i], px = axis_px(&ax, v);
        fmt_tick(&ax, v, buf, sizeof buf);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"" INK "\"/>\n", px, y + PLOT_H, px, y + PLOT_H + 5);
        put_label(f, px, y + PLOT_H + 18, 11, "middle", "class=\"tick\"", buf, 0);
    }
    /* the axes themselves */
    fprintf(f, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"" INK
               "\"/>\n", x, y, y + PLOT_H, x + PLOT_W);
    put_label(f, x + PLOT_W / 2.0, y + PLOT_H + 40, 13, "middle",
              "class=\"axis-label\"", "epoch", 0);
    double lx = x - PANEL_L + 18, ly = y + PLOT_H / 2.0;
    char rot[64];
    snprintf(rot, sizeof rot, "class=\"axis-label\" transform=\"rotate(-90 %.1f "
             "%.1f)\"", lx, ly);
    put_label(f, lx, ly, 13, "middle", rot, label, 0);

    /* the epoch of the lowest validation loss: where early stopping stops
     * and the weights it keeps */
    if (has[SVG_VAL_LOSS]) {
        size_t best = best_val(c);
        double bx = axis_px(&ax, c->epoch[best]);
        fprintf(f, "<line id=\"best_epoch_%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\" stroke=\"#888888\" stroke-dasharray=\"2 3\"/>\n",
                name, bx, y, bx, y + PLOT_H);
        /* above the plot area, clear of the data, kept inside the panel */
        const char *best_text = "lowest validation loss";
        double half = text_width(strlen(best_text), 10) / 2;
        double tx = fmin(fmax(bx, x + half), x + PLOT_W - half);
        put_label(f, tx, y - 5, 10, "middle", "fill=\"" MUTED "\"", best_text, 0);
    }

    /* the series: validation first, so the training line is on top */
    for (int k = 1; k >= 0; k--) {
        int s = ser[k];
        if (!has[s])
            continue;
        const char *colour = is_val(s) ? COLOUR_VAL : COLOUR_TRAIN;
        fprintf(f, "<polyline id=\"%s\" class=\"series %s\" fill=\"none\" "
                   "stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" "
                   "stroke-linecap=\"round\"%s points=\"",
                series_id[s], is_val(s) ? "validation" : "train", colour,
                is_val(s) ? " stroke-dasharray=\"7 4\"" : "");
        size_t points = 0;
        for (size_t i = 0; i < c->n; i++) {
            double v = c->value[s][i];
            if (isnan(v))
                continue;
            fprintf(f, "%s%.1f,%.1f", points++ ? " " : "",
                    axis_px(&ax, c->epoch[i]), axis_px(&ay, v));
        }
        fputs("\"/>\n", f);
        /* markers where the line alone would hide the points */
        if (points > 1 && c->n > MARKERS_UP_TO)
            continue;
        fprintf(f, "<g id=\"%s_markers\" fill=\"%s\" stroke=\"%s\" "
                   "stroke-width=\"1.5\">\n", series_id[s],
                is_val(s) ? "#ffffff" : colour, colour);
        for (size_t i = 0; i < c->n; i++) {
            double v = c->value[s][i];
            if (!isnan(v))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n",
                        axis_px(&ax, c->epoch[i]), axis_px(&ay, v));
        }
        fputs("</g>\n", f);
    }
    fputs("</g>\n", f);
}

/* The last value of series s. */
static double last_value(const svg_curves *c, int s)
{
    for (size_t i = c->n; i-- > 0;)
        if (!isnan(c->value[s][i]))
            return c->value[s][i];
    return (double)NAN;
}

int svg_learning_curves(const char *path, const char *title,
                        const svg_curves *c, char *msg, size_t msg_size)
{
    int has[SVG_N_SERIES] = {0};
    if (!c || c->n == 0 || !c->epoch) {
        snprintf(msg, msg_size, "%s: no epochs to draw", path ? path : "?");
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (!isfinite(c->epoch[i]) || (i > 0 && !(c->epoch[i] > c->epoch[i - 1]))) {
            snprintf(msg, msg_size, "%s: the epochs do not increase", path);
            return -1;
        }
        for (int s = 0; s < SVG_N_SERIES; s++) {
            if (!c->value[s] || isnan(c->value[s][i]))
                continue;
            if (!isfinite(c->value[s][i])) {
                snprintf(msg, msg_size, "%s: %s is not finite at epoch %.0f",
                         path, series_id[s], c->epoch[i]);
                return -1;
            }
            if (c->log_loss && (s == SVG_TRAIN_LOSS || s == SVG_VAL_LOSS) &&
                !(c->value[s][i] > 0.0)) {
                snprintf(msg, msg_size, "%s: %s is %g at epoch %.0f; a log scale "
                         "needs losses above 0", path, series_id[s],
                         c->value[s][i], c->epoch[i]);
                return -1;
            }
            has[s] = 1;
        }
    }
    int loss = has[SVG_TRAIN_LOSS] || has[SVG_VAL_LOSS];
    int acc = has[SVG_TRAIN_ACCURACY] || has[SVG_VAL_ACCURACY];
    int panels = loss + acc;
    if (!panels) {
        snprintf(msg, msg_size, "%s: no loss or accuracy values to draw", path);
        return -1;
    }
    if (!title)
        title = "Learning curves";

    /* the line under the title: final values, best validation loss */
    char parts[8][96];
    int n_parts = 0;
    if (c->epoch[0] == 1.0)
        snprintf(parts[n_parts++], sizeof parts[0], "%.0f epoch%s",
                 c->epoch[c->n - 1], c->epoch[c->n - 1] == 1.0 ? "" : "s");
    else
        snprintf(parts[n_parts++], sizeof parts[0], "epochs %.0f to %.0f",
                 c->epoch[0], c->epoch[c->n - 1]);
    for (int k = 0; k < SVG_N_SERIES; k++) {
        /* losses first, then accuracies */
        static const int order[SVG_N_SERIES] = {SVG_TRAIN_LOSS, SVG_VAL_LOSS,
                                                SVG_TRAIN_ACCURACY,
                                                SVG_VAL_ACCURACY};
        int s = order[k], i = n_parts;
        if (!has[s])
            continue;
        snprintf(parts[i], sizeof parts[0], "%s%s %.4g", i == 1 ? "final " : "",
                 series_name[s], last_value(c, s));
        n_parts++;
    }
    if (has[SVG_VAL_LOSS]) {
        size_t best = best_val(c);
        snprintf(parts[n_parts++], sizeof parts[0],
                 "lowest validation loss %.4g at epoch %.0f",
                 c->value[SVG_VAL_LOSS][best], c->epoch[best]);
    }

    double width = 2 * PAGE_PAD + panels * (PANEL_L + PLOT_W + PANEL_R);
    size_t title_max = (size_t)((width - 2 * PAGE_PAD) / (CHAR_EM * 18));
    size_t line_max = (size_t)((width - 2 * PAGE_PAD) / (CHAR_EM * 12));
    /* wrap the parts into lines joined by " · " */
    char lines[4][512];
    int n_lines = 0;
    lines[0][0] = '\0';
    for (int i = 0; i < n_parts; i++) {
        size_t cur = text_chars(lines[n_lines]), add = strlen(parts[i]);
        if (cur && cur + 3 + add > line_max && n_lines < 3)
            lines[++n_lines][0] = '\0';
        if (lines[n_lines][0])
            strcat(lines[n_lines], " \xc2\xb7 ");
        strcat(lines[n_lines], parts[i]);
    }
    n_lines++;
    double legend_y = 58 + 17.0 * n_lines, top = legend_y + 24;
    double height = top + PLOT_H + 56;

    cli_out o;
    if (cli_out_open(&o, path, msg, msg_size) != 0)
        return -1;
    FILE *f = o.f;
    svg_begin(f, width, height, title, 0);
    put_label(f, PAGE_PAD, 32, 18, "start", "id=\"title\" font-weight=\"bold\"",
              title, title_max);
    for (int i = 0; i < n_lines; i++)
        put_label(f, PAGE_PAD, 56 + 17.0 * i, 12, "start",
                  "class=\"summary\" fill=\"" MUTED "\"", lines[i], line_max);

    /* the legend: one entry each for train and validation */
    double lx = PAGE_PAD + PANEL_L;
    fputs("<g id=\"legend\">\n", f);
    for (int v = 0; v < 2; v++) {
        int present = v ? has[SVG_VAL_LOSS] || has[SVG_VAL_ACCURACY]
                        : has[SVG_TRAIN_LOSS] || has[SVG_TRAIN_ACCURACY];
        if (!present)
            continue;
        const char *label = v ? "validation" : "train";
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"2\"%s/>\n", lx, legend_y - 4,
                lx + 28, legend_y - 4, v ? COLOUR_VAL : COLOUR_TRAIN,
                v ? " stroke-dasharray=\"7 4\"" : "");
        put_label(f, lx + 34, legend_y, 12, "start", "class=\"legend\"", label, 0);
        lx += 34 + text_width(strlen(label), 12) + 24;
    }
    fputs("</g>\n", f);

    double x = PAGE_PAD + PANEL_L;
    if (loss) {
        draw_panel(f, c, has, 0, x, top);
        x += PANEL_L + PLOT_W + PANEL_R;
    }
    if (acc)
        draw_panel(f, c, has, 1, x, top);
    fputs("</svg>\n", f);
    return cli_out_commit(&o, msg, msg_size);
}

/* ------------------------------------------------------------------------ */
/* Confusion matrix                                                         */
/* ------------------------------------------------------------------------ */

/* ColorBrewer's sequential "Blues", light to dark. */
static const unsigned char blues[9][3] = {
    {0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef},
    {0x9e, 0xca, 0xe1}, {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6},
    {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c}, {0x08, 0x30, 0x6b}};

/* The colour for a share t in [0, 1], as "#rrggbb", and whether text on it
 * should be white. */
static int shade(double t, char hex[8])
{
    double pos = fmin(fmax(t, 0.0), 1.0) * 8.0;
    int i = pos >= 8.0 ? 7 : (int)pos;
    double u = pos - i, rgb[3];
    for (int k = 0; k < 3; k++)
        rgb[k] = blues[i][k] + u * (blues[i + 1][k] - blues[i][k]);
    snprintf(hex, 8, "#%02x%02x%02x", (unsigned)lround(rgb[0]),
             (unsigned)lround(rgb[1]), (unsigned)lround(rgb[2]));
    /* relative luminance (sRGB weights) below one half: light text */
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 128.0;
}

#define LABEL_MAX 24 /* characters shown of a class label */

int svg_confusion(const char *path, int n, const char *const *labels,
                  const size_t *counts, char *msg, size_t msg_size)
{
    if (n < 1 || n > SVG_MAX_CLASSES || !counts) {
        snprintf(msg, msg_size, "%s: a confusion matrix needs 1 to %d classes",
                 path ? path : "?", SVG_MAX_CLASSES);
        return -1;
    }
    char num[2][32];
    const char *lab[2];
    size_t nn = (size_t)n;
    size_t total = 0, right = 0, max_label = 1;
    size_t *row = calloc(nn, sizeof *row);
    if (!row) {
        snprintf(msg, msg_size, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < nn; i++) {
        for (size_t j = 0; j < nn; j++)
            row[i] += counts[i * nn + j];
        total += row[i];
        right += counts[i * nn + i];
        size_t len = labels && labels[i]
                         ? shown_chars(labels[i], LABEL_MAX)
                         : (size_t)snprintf(num[0], sizeof num[0], "%zu", i);
        if (len > max_label)
            max_label = len;
    }

    /* the layout: cells shrink with the class count, text with the cells */
    double cell = fmin(60.0, fmax(18.0, round(640.0 / n)));
    double lf = fmin(13.0, cell * 0.7);            /* label font */
    double cf = fmin(14.0, cell * 0.42);           /* count font */
    double lw = text_width(max_label, lf);
    /* a few classes: cells wide enough for level column labels */
    if (lw + 10 > cell && lw + 10 <= 120.0 && (lw + 10) * n <= 640.0)
        cell = lw + 10;
    int rotate = lw > cell - 4;
    double grid = cell * n;
    double gx = PAGE_PAD + 24 + lw + 10, gy = 84;
    double below = rotate ? lw * 0.7071 + lf + 12 : lf + 12;
    double rx = gx + grid + 12;                    /* recall column */
    double bx = rx + 64;                           /* colour bar */
    double width = bx + 14 + 44 + PAGE_PAD;
    double height = gy + grid + below + 36;

    char title[160], sub[200];
    if (total)
        snprintf(title, sizeof title, "Confusion matrix: accuracy %.4f (%zu of %zu)",
                 (double)right / (double)total, right, total);
    else
        snprintf(title, sizeof title, "Confusion matrix: no examples");
    snprintf(sub, sizeof sub, "%d classes \xc2\xb7 rows: true class \xc2\xb7 "
             "columns: predicted class \xc2\xb7 shade: share of the row", n);
    width = fmax(width, 2 * PAGE_PAD + text_width(text_chars(sub), 12));
    width = fmax(width, 2 * PAGE_PAD + text_width(strlen(title), 16));

    cli_out o;
    if (cli_out_open(&o, path, msg, msg_size) != 0) {
        free(row);
        return -1;
    }
    FILE *f = o.f;
    svg_begin(f, width, height, title, 0);
    fputs("<defs><linearGradient id=\"shade\" x1=\"0\" y1=\"1\" x2=\"0\" "
          "y2=\"0\">", f);
    for (int i = 0; i < 9; i++)
        fprintf(f, "<stop offset=\"%.3f\" stop-color=\"#%02x%02x%02x\"/>",
                i / 8.0, blues[i][0], blues[i][1], blues[i][2]);
    fputs("</linearGradient></defs>\n", f);
    put_label(f, PAGE_PAD, 30, 16, "start", "id=\"title\" font-weight=\"bold\"",
              title, 0);
    put_label(f, PAGE_PAD, 52, 12, "start", "class=\"summary\" fill=\"" MUTED "\"",
              sub, 0);

    /* the cells, each with a tooltip */
    fputs("<g id=\"cells\" stroke=\"#ffffff\">\n", f);
    for (size_t i = 0; i < nn; i++) {
        if (labels && labels[i])
            lab[0] = labels[i];
        else {
            snprintf(num[0], sizeof num[0], "%zu", i);
            lab[0] = num[0];
        }
        for (size_t j = 0; j < nn; j++) {
            size_t k = counts[i * nn + j];
            double share = row[i] ? (double)k / (double)row[i] : 0.0;
            char hex[8];
            int light = shade(share, hex);
            double x = gx + cell * (double)j, y = gy + cell * (double)i;
            if (labels && labels[j])
                lab[1] = labels[j];
            else {
                snprintf(num[1], sizeof num[1], "%zu", j);
                lab[1] = num[1];
            }
            fprintf(f, "<rect id=\"cell_%zu_%zu\" class=\"cell\" x=\"%.1f\" "
                       "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                       "<title>true ", i, j, x, y, cell, cell, hex);
            put_text(f, lab[0], 0);
            fputs(", predicted ", f);
            put_text(f, lab[1], 0);
            fprintf(f, ": %zu (%.1f%% of the row)</title></rect>\n", k,
                    100.0 * share);
            if (k == 0 && n > 20)
                continue; /* in a big matrix the shade says it: less clutter */
            char txt[32];
            int digits = snprintf(txt, sizeof txt, "%zu", k);
            double size = fmin(cf, (cell - 4) / (digits * CHAR_EM));
            char attrs[64];
            snprintf(attrs, sizeof attrs, "class=\"count\" stroke=\"none\" "
                     "fill=\"%s\"", light ? "#ffffff" : k ? INK : "#9a9a9a");
            put_label(f, x + cell / 2, y + cell / 2 + size * 0.35, size, "middle",
                      attrs, txt, 0);
        }
    }
    fputs("</g>\n", f);

    /* class labels: rows on the left, columns below (slanted when long) */
    fputs("<g id=\"labels\">\n", f);
    for (size_t i = 0; i < nn; i++) {
        const char *s = labels && labels[i] ? labels[i] : NULL;
        if (!s) {
            snprintf(num[0], sizeof num[0], "%zu", i);
            s = num[0];
        }
        double mid = cell * ((double)i + 0.5);
        put_label(f, gx - 8, gy + mid + lf * 0.35, lf, "end",
                  "class=\"row-label\"", s, LABEL_MAX);
        if (rotate) {
            double x = gx + mid + lf * 0.35, y = gy + grid + 10;
            char attrs[96];
            snprintf(attrs, sizeof attrs, "class=\"column-label\" "
                     "transform=\"rotate(-45 %.1f %.1f)\"", x, y);
            put_label(f, x, y, lf, "end", attrs, s, LABEL_MAX);
        } else {
            put_label(f, gx + mid, gy + grid + lf + 6, lf, "middle",
                      "class=\"column-label\"", s, LABEL_MAX);
        }
    }
    fputs("</g>\n", f);
    put_label(f, gx + grid / 2, gy + grid + below + 14, 13, "middle",
              "class=\"axis-label\" font-weight=\"bold\"", "predicted class", 0);
    char rot[96];
    double ax = PAGE_PAD + 12, ay = gy + grid / 2;
    snprintf(rot, sizeof rot, "class=\"axis-label\" font-weight=\"bold\" "
             "transform=\"rotate(-90 %.1f %.1f)\"", ax, ay);
    put_label(f, ax, ay, 13, "middle", rot, "true class", 0);

    /* recall: the diagonal's share of each row */
    fputs("<g id=\"recall\">\n", f);
    put_label(f, rx, gy - 8, 11, "start", "fill=\"" MUTED "\"", "recall", 0);
    for (size_t i = 0; i < nn; i++) {
        char txt[32];
        if (row[i])
            snprintf(txt, sizeof txt, "%.1f%%",
                     100.0 * (double)counts[i * nn + i] / (double)row[i]);
        else
            snprintf(txt, sizeof txt, "\xe2\x80\x93"); /* en dash: no rows */
        put_label(f, rx, gy + cell * ((double)i + 0.5) + fmin(11.0, lf) * 0.35,
                  fmin(11.0, lf), "start", "fill=\"" MUTED "\"", txt, 0);
    }
    fputs("</g>\n", f);

    /* the colour scale */
    double bh = fmin(grid, 200.0);
    fprintf(f, "<g id=\"scale\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" "
               "height=\"%.1f\" fill=\"url(#shade)\" stroke=\"#bbbbbb\"/>\n",
            bx, gy, bh);
    for (int k = 0; k <= 2; k++) {
        char txt[8];
        snprintf(txt, sizeof txt, "%d%%", 50 * k);
        put_label(f, bx + 19, gy + bh - bh * k / 2.0 + 4, 10, "start",
                  "fill=\"" MUTED "\"", txt, 0);
    }
    fputs("</g>\n</svg>\n", f);
    free(row);
    return cli_out_commit(&o, msg, msg_size);
}
