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
    OPT_STRING, /* const char**, pointing into argv */
    OPT_LIST    /* cli_list*: comma-separated items; repeats accumulate */
} opt_kind;

#define CLI_LIST_MAX 256

/* The items of a repeatable list option ("--ignore a,b --ignore c" gives
 * a, b, c), copied into buf. Empty items are dropped. */
typedef struct cli_list {
    const char *items[CLI_LIST_MAX];
    int n;
    size_t used;
    char buf[16384];
} cli_list;

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

/* Prints "soma: MESSAGE" to stderr: a warning or a notice, not an error. */
void cli_notice(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints "soma: MESSAGE" to stderr and returns 1 (the error exit status). */
int cli_error(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints "soma CMD: MESSAGE (see 'soma CMD --help')" and returns 2. */
int cli_usage_error(const cli_command *cmd, const char *msg);

/* The name among names[n] that word most likely means: the same but for
 * case, or within a small edit distance (at most 2, and less than a third
 * of its length). NULL for none. */
const char *cli_suggest(const char *word, const char *const *names, int n);

/* Writes s as one CSV field, quoted when it holds a comma, quote or line
 * break. */
void cli_csv_field(FILE *f, const char *s);

/* Writes s as a JSON string (s is UTF-8). */
void cli_json_string(FILE *f, const char *s);

/* ---- output files (cli/out.c) ---- */

typedef struct cli_out {
    FILE *f;
    const char *path;
    char *tmp; /* the temporary file, or NULL when writing to stdout */
} cli_out;

/* Opens a temporary file next to path ("-": standard output). Returns 0,
 * or -1 with msg set. */
int cli_out_open(cli_out *o, const char *path, char *msg, size_t msg_size);
/* Flushes, syncs and renames the temporary file over the path; 0 or -1
 * with msg set (the temporary file is then removed). */
int cli_out_commit(cli_out *o, char *msg, size_t msg_size);
/* Closes and removes the temporary file: the path is left as it was. */
void cli_out_abort(cli_out *o);

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

/* Reads a table for a model with a preprocessing: its columns by name,
 * encoded as in training; with a target (or training, which also applies
 * the model's missing-value policy) y holds class indices (-1 for a label
 * the model does not know) or values in the target's units. With ids, those
 * columns are read as text (so "007" stays "007") and must exist, and the
 * table is kept in *keep (free with soma_table_free) for their values; one
 * read, so a pipe works. Returns NULL after printing an error. */
soma_dataset *cli_read_prep(const char *path, const soma_net *net,
                            const char *target, int training, const cli_list *ids,
                            soma_table **keep);

/* The same for the training rows of a resumed run: a model's missing-value
 * policy applies (--missing drop leaves rows out) as when it was trained. */
soma_dataset *cli_read_for_training(const char *path, int idx, soma_net *net,
                                    const char *target, const char *labels);

/* The options every command that reads a table takes (train, predict,
 * eval), as cli_opt initialisers: sep and decimal are const char*, na a
 * cli_list. */
#define CLI_TABLE_OPTS(sep, decimal, na)                                       \
    {"sep", 0, OPT_STRING, &(sep), 0, 0, "C",                                  \
     "separator: , ; | tab space (default: detected)"},                        \
    {"decimal", 0, OPT_STRING, &(decimal), 0, 0, "C",                          \
     "decimal mark . or , (default: detected for non-comma separators, or "    \
     "the model's)"},                                                          \
    {"na-values", 0, OPT_LIST, &(na), 0, 0, "T1,T2..",                         \
     "more missing-value tokens (always: empty, NA, N/A, NaN, nan, null, "     \
     "NULL, ?)"}

/* Table reading options from --sep, --decimal and --na-values (NULL or
 * empty: the defaults); "\t" or "tab" and "space" are accepted. Returns 0,
 * or -1 with a usage error in msg. */
int cli_table_options(const char *sep, const char *decimal,
                      const cli_list *na_values, soma_table_options *opt,
                      char *msg, size_t msg_size);
/* The options to read a table for a model with preprocessing p: those
 * set by cli_set_table_options, the training file's missing-value tokens
 * and decimal mark. The token list is static (one caller at a time). */
void cli_table_options_for(const soma_prep *p, soma_table_options *opt);
/* The warning about categories the model never saw, when there were. */
void cli_report_unseen(const char *path, const soma_prep *p,
                       const soma_prep_report *rep);
/* Sets the options cli_read_for_model reads tables with. */
void cli_set_table_options(const soma_table_options *opt);
/* "','", "tab", "spaces" ... for messages. */
const char *cli_sep_name(char sep);
/* Splits a comma-separated string into l (which must start empty). */
void cli_split_list(const char *s, cli_list *l);
/* What train found in table t: its layout, the roles of the columns, one
 * line each, the task and the number of inputs. */
void cli_print_prep(FILE *f, const soma_prep *p, const soma_table *t);
/* The column lines alone, indented by two spaces. */
void cli_print_roles(FILE *f, const soma_prep *p);
/* "classification into 3 classes: REASON (--task regress to change)". */
const char *cli_task_text(const soma_prep *p, char *buf, size_t size);
/* Notices about rows left out and cells filled. */
void cli_print_report(FILE *f, const char *path, const soma_prep *p,
                      const soma_prep_report *rep);
/* --class-weight balanced: y becomes one row per example of k weights,
 * the row's class weighted n / (k * count of the class), as
 * scikit-learn's class_weight="balanced"; yv (validation, may be NULL)
 * becomes plain one-hot rows. Returns 0, or 1 after printing an error. */
int cli_balance(const soma_dataset *ds, const soma_dataset *va, int k,
                float **y, float **yv, int *y_cols, int quiet);

/* 1 with a message in msg when path exists but cannot be a model file at
 * all (a CSV, a picture, a log: not safetensors), the usual mistake of
 * giving the arguments in the wrong order; 0 otherwise, where the loader's
 * own error, if any, says more. */
int cli_not_a_model(const char *path, char *msg, size_t size);

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
    /* an epoch line every this many epochs (and the first and the last);
     * 0: every epoch up to 100, then about 100 lines in all */
    int print_every;
} cli_run;

/* Trains net on x [n, ...], y [n, y_cols] with cfg (its callbacks are set
 * here), printing progress on stdout, writing the log and checkpoints, and
 * restoring from run->resume first when set. Returns 0, 1 after printing an
 * error, or 130 when Ctrl-C stopped it (a checkpoint was written). */
int cli_run_training(soma_net *net, soma_train_config *cfg, const float *x,
                     const float *y, size_t n, int y_cols, const cli_run *run);

#endif /* SOMA_CLI_H */
