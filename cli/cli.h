/*
 * cli.h - what the soma program's subcommands share: option parsing and
 * error reporting. Each subcommand is a function cmd_NAME(argc, argv) that
 * returns the process exit status; only main() exits.
 */
#ifndef SOMA_CLI_H
#define SOMA_CLI_H

#include "soma.h"

#include <stddef.h>

enum { EXIT_USAGE = 2 };

typedef enum opt_kind {
    OPT_FLAG,   /* int*, set to 1 */
    OPT_INT,    /* int*, a decimal integer within [min, max] */
    OPT_SIZE,   /* size_t*, a decimal integer within [min, max] */
    OPT_U64,    /* uint64_t*, any decimal 64-bit value */
    OPT_DOUBLE, /* double*, a finite number within [min, max] */
    OPT_STRING  /* const char**, pointing into argv */
} opt_kind;

typedef struct cli_opt {
    const char *name;  /* long name without dashes ("epochs") */
    char short_name;   /* 'o' for -o, or 0 */
    opt_kind kind;
    void *dest;
    double min, max;   /* OPT_INT, OPT_SIZE, OPT_DOUBLE */
    const char *arg;   /* value placeholder in help ("N"), NULL for flags */
    const char *help;
} cli_opt;

typedef struct cli_command {
    const char *name;     /* "train" */
    const char *usage;    /* "DATA.csv --target COL -o MODEL [options]" */
    const char *summary;  /* one line */
    const cli_opt *opts;
    int n_opts;
    int min_pos, max_pos; /* positional arguments allowed */
} cli_command;

/* Parses argv[1..argc) (argv[0] is the subcommand name) against cmd.
 * Positional arguments go to pos[0..*n_pos). Returns 0 on success, 1 when
 * --help was given (help already printed to stdout), and -1 on a usage error
 * (message in msg). Never exits, never allocates. */
int cli_parse(const cli_command *cmd, int argc, char **argv, const char **pos,
              int *n_pos, char *msg, size_t msg_size);

/* Prints the help text of cmd to stdout. */
void cli_help(const cli_command *cmd);

/* Prints "soma: MESSAGE" to stderr and returns 1 (the error exit status). */
int cli_error(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints "soma CMD: MESSAGE (see 'soma CMD --help')" and returns 2. */
int cli_usage_error(const cli_command *cmd, const char *msg);

/* Writes s as one CSV field, quoted when it holds a comma, quote or line
 * break. */
void cli_csv_field(FILE *f, const char *s);

int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* ---- data helpers (cli/data.c) ---- */

/* Whether the data file at path holds IDX images. A file is judged by its
 * content (soma_idx_sniff), not its name; anything else is read as CSV. A
 * pipe, which cannot be read twice, is judged by the options instead: IDX
 * when labels_given (--labels), CSV otherwise. Returns 0 with *is_idx set,
 * or 1 after printing an error. */
int cli_sniff(const char *path, int labels_given, int *is_idx);

/* Builds the target matrix for a net with k outputs and the given loss from
 * a data set's y column: class indices for ce, 0/1 for one output, one-hot
 * rows for several outputs with another loss, values for regression.
 * *y is allocated (free()); returns 0, or 1 after printing an error. */
int cli_targets(const char *path, const soma_dataset *ds, soma_loss loss, int k,
                float **y, int *y_cols);

/* Reads data for a model and checks that it has the model's input width.
 * IDX images (idx non-zero) take their pixels in order and, when labels is
 * not NULL, their targets from that IDX labels file, mapped onto the
 * model's classes. A CSV gives the model's features by name (when the
 * model has names) and the target column named by target (NULL: none),
 * mapped onto the model's classes. Returns NULL after printing an error. */
soma_dataset *cli_read_for_model(const char *path, int idx, soma_net *net,
                                 const char *target, const char *labels);

/* ---- the training loop (cli/run.c) ---- */

typedef struct cli_run {
    const char *data_name;      /* for messages */
    const char *log;            /* --log FILE, or NULL */
    const char *checkpoint;     /* --checkpoint FILE, or NULL */
    int checkpoint_every;       /* epochs, with checkpoint */
    const char *interrupt_path; /* where Ctrl-C saves (never NULL) */
    const char *resume;         /* checkpoint to go on from, or NULL */
    const char *command;        /* the command line to resume with */
    int early_stopping;         /* mark best epochs in the progress lines */
    int quiet;
} cli_run;

/* Trains net on x [n, ...], y [n, y_cols] with cfg (its callbacks are set
 * here), printing progress on stdout, writing the log and checkpoints, and
 * restoring from run->resume first when set. Returns 0, 1 after printing an
 * error, or 130 when Ctrl-C stopped it (a checkpoint was written). */
int cli_run_training(soma_net *net, soma_train_config *cfg, const float *x,
                     const float *y, size_t n, int y_cols, const cli_run *run);

#endif /* SOMA_CLI_H */
