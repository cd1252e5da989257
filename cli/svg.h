/*
 * svg.h - the soma program's pictures: learning curves from a training log
 * (soma plot) and a confusion matrix as a heat map (soma eval
 * --confusion-svg). Each is one standalone SVG 1.1 file that a browser shows
 * as it is: no scripts, no external fonts or styles.
 *
 * The file is written to a temporary name next to path and renamed over it,
 * so an existing picture is either kept whole or replaced whole. A path of
 * "-" writes to standard output instead.
 *
 * Every function returns 0, or -1 with a one-line message in msg (which
 * names the file) and no file left behind. Text that comes from the user
 * (titles, class labels) is escaped for XML and any bytes that are not
 * UTF-8 are replaced, so any label gives a well-formed file.
 */
#ifndef SOMA_SVG_H
#define SOMA_SVG_H

#include <stddef.h>

/* The four series of a training log, in the order of its columns. */
enum {
    SVG_TRAIN_LOSS = 0,
    SVG_TRAIN_ACCURACY,
    SVG_VAL_LOSS,
    SVG_VAL_ACCURACY,
    SVG_N_SERIES
};

/* A training run, one row per epoch. epoch must increase strictly. A value
 * that does not apply is NAN; a series whose values are all NAN (or whose
 * pointer is NULL) is not drawn, and without any accuracy the picture has
 * the loss panel only. All values must be finite or NAN. */
typedef struct svg_curves {
    size_t n;                          /* rows, >= 1               */
    const double *epoch;               /* [n]                      */
    const double *value[SVG_N_SERIES]; /* [n] each, or NULL        */
    int log_loss; /* non-zero: the loss axis is logarithmic (every loss
                     must then be > 0) */
} svg_curves;

/* Draws loss (and accuracy, when the log has any) against epoch: train
 * solid, validation dashed, with axes, ticks, labels, a legend and a line
 * of final values under the title. Each series is a <polyline> whose id is
 * its column name (train_loss, val_loss, train_accuracy, val_accuracy) with
 * one point per epoch that has a value. title may be NULL. */
int svg_learning_curves(const char *path, const char *title,
                        const svg_curves *c, char *msg, size_t msg_size);

/* Draws an n x n confusion matrix (counts[i * n + j]: examples of true
 * class i predicted as class j) as a heat map: each cell shaded by its
 * share of its row, the count printed in it, class labels on both axes,
 * the recall of each class at the end of its row and the overall accuracy
 * in the title. labels is [n] (NULL: the class numbers are used);
 * 1 <= n <= SVG_MAX_CLASSES. */
#define SVG_MAX_CLASSES 1000
int svg_confusion(const char *path, int n, const char *const *labels,
                  const size_t *counts, char *msg, size_t msg_size);

/* soma plot LOG.csv -o FILE.svg (cli/cmd_plot.c), declared here rather than
 * in cli.h so that the picture code stays in files of its own. */
int cmd_plot(int argc, char **argv);

#endif /* SOMA_SVG_H */
