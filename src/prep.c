/*
 * prep.c - from a table of raw cells to the numbers a net takes: column
 * roles, missing values, one-hot categories, the task and the target's
 * scale (soma_prep_fit), applied the same way to any later table
 * (soma_prep_apply), and stored with the net as JSON ("soma.preprocess",
 * docs/model-format.md).
 */
#include "internal.h"

#include <jansson.h>

#include "io/json_write.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREP_VERSION 1
#define PREP_MAX_CATEGORIES 1000
/* SOMA_TASK_AUTO: whole-number targets with at most this many values may
 * be classes. */
#define AUTO_MAX_CLASSES 32
/* ... when each is seen on this many rows on average: up to
 * AUTO_FEW_CLASSES values (ratings, digits, species codes) need a few rows
 * each; more values need many, or they are a measurement (a shoe size, an
 * age) rather than labels. */
#define AUTO_FEW_CLASSES 10
#define AUTO_ROWS_PER_CLASS 5
#define AUTO_ROWS_PER_MANY_CLASSES 20
/* Text in which more than this share of the values is distinct, and more
 * than ID_MIN_DISTINCT of them, identifies rows rather than groups them. */
#define ID_SHARE 0.5
#define ID_MIN_DISTINCT 20
#define NAME_SHOW 80
/* The most targets one net learns (a bound for hostile model files too). */
#define PREP_MAX_TARGETS 4096

const char *soma_role_name(soma_role r)
{
    switch (r) {
    case SOMA_ROLE_IGNORED: return "ignored";
    case SOMA_ROLE_NUMERIC: return "numeric";
    case SOMA_ROLE_CATEGORICAL: return "categorical";
    case SOMA_ROLE_TARGET: return "target";
    }
    return NULL;
}

static const char *missing_name(soma_missing m)
{
    return m == SOMA_MISSING_DROP ? "drop" : m == SOMA_MISSING_ERROR ? "error"
                                                                   : "impute";
}

static const char *task_name(soma_task t)
{
    return t == SOMA_TASK_CLASSIFY ? "classify" : "regress";
}

void soma_prep_free(soma_prep *p)
{
    if (!p)
        return;
    if (p->columns)
        for (int c = 0; c < p->n_columns; c++) {
            soma_prep_column *col = &p->columns[c];
            soma_free(col->name);
            soma_free(col->reason);
            if (col->categories)
                for (int k = 0; k < col->n_categories; k++)
                    soma_free(col->categories[k]);
            soma_free(col->categories);
        }
    soma_free(p->columns);
    if (p->na_values)
        for (int i = 0; i < p->n_na_values; i++)
            soma_free(p->na_values[i]);
    soma_free(p->na_values);
    soma_free(p->task_reason);
    soma_free(p->targets);
    if (p->classes)
        for (int i = 0; i < p->n_classes; i++)
            soma_free(p->classes[i]);
    soma_free(p->classes);
    soma_free(p->target_mean);
    soma_free(p->target_std);
    soma_free(p);
}

/* A new string, as long as it needs to be (a cut could split a UTF-8
 * character of a long column name). */
static char *dup_printf(const char *fmt, ...) SOMA_PRINTF(1, 2);
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = soma_alloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- fitting ------------------------------------------------------------ */

typedef struct fit_state {
    const soma_table *t;
    const soma_prep_options *opt;
    soma_prep *p;
    soma_error *err;
    unsigned char *used;    /* [n_rows]: the row has all its targets */
    size_t n_used;
    struct col_count *counts; /* [n_cols]: each column's cells, counted once */
} fit_state;

static soma_status nomem(const fit_state *s)
{
    return soma_fail(s->err, SOMA_ERR_NOMEM, "%s: out of memory", s->t->name);
}

/* The column called key; an error naming the near miss otherwise. */
static soma_status resolve(const fit_state *s, const char *what, const char *key,
                           int *col)
{
    const soma_table *t = s->t;
    *col = soma_table_find(t, key);
    if (*col >= 0)
        return SOMA_OK;
    /* no column has that name: a 0-based index */
    if (*key && strspn(key, "0123456789") == strlen(key) && strlen(key) < 9 &&
        atoi(key) < t->n_cols) {
        *col = atoi(key);
        return SOMA_OK;
    }
    for (int c = 0; c < t->n_cols; c++)
        if (strcasecmp(t->names[c], key) == 0)
            return soma_fail(s->err, SOMA_ERR_ARG,
                             "%s: %s: no column '%.*s' (did you mean '%.*s'?)",
                             t->name, what, NAME_SHOW, key, NAME_SHOW,
                             t->names[c]);
    /* the list of columns, cut at a name boundary */
    char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (int c = 0; c < t->n_cols; c++) {
        size_t n = strlen(t->names[c]);
        if (len + n + 8 >= sizeof list) {
            snprintf(list + len, sizeof list - len, "%s...", c ? ", " : "");
            break;
        }
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                c ? ", " : "", t->names[c]);
    }
    return soma_fail(s->err, SOMA_ERR_ARG, "%s: %s: no column '%.*s' (columns: %s)",
                     t->name, what, NAME_SHOW, key, list);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct label_key {
    double value;
    char *text;
} label_key;

static int cmp_label_value(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* The distinct values of column c over the used rows, as texts (numbers in
 * their shortest form), sorted by strcmp (or by value when by_value and
 * all are numbers), into *out [*n]. Stops and returns SOMA_OK with
 * *over set when there are more than limit. */
static soma_status distinct_values(fit_state *s, int c, int by_value, int limit,
                                   char ***out, int *n, int *over, int *numeric)
{
    const soma_table *t = s->t;
    const soma_dict *d = &t->dicts[c];
    soma_dict nums;
    memset(&nums, 0, sizeof nums);
    unsigned char *seen = d->n ? soma_alloc_zero(d->n, 1) : NULL;
    soma_status st = SOMA_OK;
    size_t count = 0;
    *out = NULL;
    *n = 0;
    *over = 0;
    *numeric = 1;
    if (d->n && !seen)
        return nomem(s);
    for (size_t i = 0; i < t->n_rows && !*over; i++) {
        if (!s->used[i])
            continue;
        uint32_t cell = t->cells[i * (size_t)t->n_cols + (size_t)c];
        int kind = soma_cell_kind(cell);
        if (kind == SOMA_CELL_TEXT) {
            uint32_t id = soma_cell_text_id(cell);
            *numeric = 0;
            if (id >= d->n) {
                *over = 1; /* past what the reader kept */
                break;
            }
            if (!seen[id]) {
                seen[id] = 1;
                count++;
            }
        } else if (kind == SOMA_CELL_NUMBER) {
            char buf[32];
            soma_format_number(soma_cell_number(cell), buf, sizeof buf);
            uint32_t before = nums.n;
            if (soma_dict_add(&nums, buf, strlen(buf)) < 0) {
                st = nomem(s);
                goto done;
            }
            count += nums.n - before;
        }
        if (count > (size_t)limit)
            *over = 1;
    }
    if (*over)
        goto done;
    char **v = soma_alloc_zero(count ? count : 1, sizeof *v);
    if (!v) {
        st = nomem(s);
        goto done;
    }
    *out = v;
    size_t k = 0;
    for (uint32_t id = 0; id < d->n; id++)
        if (seen[id]) {
            if (!(v[k++] = soma_strdup(SOMA_DICT_TEXT(d, id)))) {
                *n = (int)k;
                st = nomem(s);
                goto done;
            }
        }
    for (uint32_t id = 0; id < nums.n; id++)
        if (!(v[k++] = soma_strdup(SOMA_DICT_TEXT(&nums, id)))) {
            *n = (int)k;
            st = nomem(s);
            goto done;
        }
    *n = (int)k;
    if (by_value && *numeric) {
        label_key *keys = soma_alloc_array(k ? k : 1, sizeof *keys);
        if (!keys) {
            st = nomem(s);
            goto done;
        }
        for (size_t i = 0; i < k; i++) {
            keys[i].value = strtod(v[i], NULL);
            keys[i].text = v[i];
        }
        qsort(keys, k, sizeof *keys, cmp_label_value);
        for (size_t i = 0; i < k; i++)
            v[i] = keys[i].text;
        soma_free(keys);
    } else {
        qsort(v, k, sizeof *v, cmp_str);
        /* a text and a number can have one name: with decimal commas, the
         * text "1.5" and the number written "1,5" */
        size_t u = 0;
        for (size_t i = 0; i < k; i++) {
            if (u > 0 && strcmp(v[u - 1], v[i]) == 0) {
                soma_free(v[i]);
                continue;
            }
            v[u++] = v[i];
        }
        *n = (int)u;
    }
done:
    soma_free(seen);
    soma_dict_free(&nums);
    return st;
}

static void free_strings(char **v, int n)
{
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        soma_free(v[i]);
    soma_free(v);
}

/* Whether text looks like a date: 2024-01-31, 2024/1/31, 31.01.2024,
 * 1/31/24, with or without a time after it. */
static int looks_like_date(const char *s)
{
    int groups[3] = {0, 0, 0}, g = 0;
    char sep = 0;
    const char *p = s;
    for (; g < 3; g++) {
        while (*p >= '0' && *p <= '9') {
            groups[g]++;
            p++;
        }
        if (!groups[g])
            return 0;
        if (g == 2)
            break;
        if (*p != '-' && *p != '/' && *p != '.')
            return 0;
        if (sep && *p != sep)
            return 0;
        sep = *p++;
    }
    if (!(groups[0] == 4 || groups[2] == 4 || groups[2] == 2))
        return 0;
    if (groups[1] > 2)
        return 0;
    return *p == '\0' || *p == ' ' || *p == 'T';
}

/* Counts the used rows' cells of column c by kind, and the numbers' sum,
 * minimum and maximum. */
typedef struct col_count {
    size_t number, missing, text;
    double sum, min, max;
    size_t first_text_row;
} col_count;

static void count_column(const fit_state *s, int c, col_count *k)
{
    const soma_table *t = s->t;
    memset(k, 0, sizeof *k);
    k->min = INFINITY;
    k->max = -INFINITY;
    k->first_text_row = SIZE_MAX;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (!s->used[i])
            continue;
        uint32_t cell = t->cells[i * (size_t)t->n_cols + (size_t)c];
        switch (soma_cell_kind(cell)) {
        case SOMA_CELL_NUMBER: {
            double v = (double)soma_cell_number(cell);
            k->number++;
            k->sum += v;
            if (v < k->min)
                k->min = v;
            if (v > k->max)
                k->max = v;
            break;
        }
        case SOMA_CELL_MISSING:
            k->missing++;
            break;
        default:
            if (k->first_text_row == SIZE_MAX)
                k->first_text_row = i;
            k->text++;
        }
    }
}

/* A name an exported index column has: none (pandas' "Unnamed: 0"), or
 * index, id, row, rownames in any case. */
static int is_index_name(const char *name)
{
    static const char *const names[] = {"index", "id", "row", "rownames"};
    if (strncmp(name, "Unnamed: ", 9) == 0)
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Whether column c counts the rows, 0, 1, 2, ... or 1, 2, 3, ... (an index
 * column that pandas' to_csv or R's write.csv wrote): as a feature it
 * would only tell the model where a row stood in the file. */
static int is_row_number(const fit_state *s, int c)
{
    const soma_table *t = s->t;
    double next = -1.0;
    for (size_t i = 0; i < t->n_rows; i++) {
        uint32_t cell = t->cells[i * (size_t)t->n_cols + (size_t)c];
        if (soma_cell_kind(cell) != SOMA_CELL_NUMBER)
            return 0;
        double v = (double)soma_cell_number(cell);
        if (next < 0.0) {
            if (v != 0.0 && v != 1.0)
                return 0;
        } else if (v != next) {
            return 0;
        }
        next = v + 1.0;
    }
    return 1;
}

/* The text of a cell for messages. */
static void cell_text(const soma_table *t, int c, uint32_t cell, char *buf,
                      size_t cap)
{
    int kind = soma_cell_kind(cell);
    if (kind == SOMA_CELL_NUMBER) {
        soma_format_number(soma_cell_number(cell), buf, cap);
    } else if (kind == SOMA_CELL_MISSING) {
        snprintf(buf, cap, "(missing)");
    } else {
        uint32_t id = soma_cell_text_id(cell);
        const soma_dict *d = &t->dicts[c];
        snprintf(buf, cap, "%.40s", id < d->n ? SOMA_DICT_TEXT(d, id) : "?");
    }
}

/* Categories and class labels are saved in the model, which holds UTF-8
 * only: an error naming the line of the first value that is not. */
static soma_status check_utf8(fit_state *s, int c, char *const *v, int n)
{
    const soma_table *t = s->t;
    for (int k = 0; k < n; k++) {
        if (soma_utf8_valid(v[k]))
            continue;
        size_t line = 0;
        for (size_t i = 0; i < t->n_rows && !line; i++) {
            uint32_t cell = t->cells[i * (size_t)t->n_cols + (size_t)c];
            if (s->used[i] && soma_cell_kind(cell) == SOMA_CELL_TEXT &&
                soma_cell_text_id(cell) < t->dicts[c].n &&
                strcmp(SOMA_DICT_TEXT(&t->dicts[c], soma_cell_text_id(cell)),
                       v[k]) == 0)
                line = t->line[i];
        }
        return soma_fail(s->err, SOMA_ERR_DATA,
                         "%s: line %zu, column '%.*s': the text is not valid "
                         "UTF-8 (save the file as UTF-8)",
                         t->name, line, NAME_SHOW, t->names[c]);
    }
    return SOMA_OK;
}

static soma_status fit_categorical(fit_state *s, int c, int forced, int limit)
{
    soma_prep_column *col = &s->p->columns[c];
    char **v = NULL;
    int n = 0, over = 0, numeric = 0;
    soma_status st = distinct_values(s, c, 0, limit, &v, &n, &over, &numeric);
    if (st)
        return st;
    if (over) {
        free_strings(v, n);
        if (forced)
            return soma_fail(s->err, SOMA_ERR_DATA,
                             "%s: column '%.*s' has more than %d distinct values, "
                             "too many to be categorical (--max-categories)",
                             s->t->name, NAME_SHOW, col->name, limit);
        col->role = SOMA_ROLE_IGNORED;
        soma_free(col->reason);
        col->reason = dup_printf("more than %d distinct values (--max-categories)",
                                 limit);
        return col->reason ? SOMA_OK : nomem(s);
    }
    col->role = SOMA_ROLE_CATEGORICAL;
    col->categories = v;
    col->n_categories = n;
    return check_utf8(s, c, v, n);
}

static soma_status infer_column(fit_state *s, int c, int limit)
{
    const soma_table *t = s->t;
    soma_prep_column *col = &s->p->columns[c];
    col_count k = s->counts[c];
    size_t present = k.number + k.text;
    const soma_dict *d = &t->dicts[c];

#define REASON(...)                                                            \
    do {                                                                       \
        soma_free(col->reason);                                                \
        if (!(col->reason = dup_printf(__VA_ARGS__)))                          \
            return nomem(s);                                                   \
    } while (0)

    if (present == 0) {
        col->role = SOMA_ROLE_IGNORED;
        REASON("no values (every cell is missing)");
        return SOMA_OK;
    }
    if (k.text == 0) {
        if (k.missing == 0 && k.number > ID_MIN_DISTINCT &&
            is_index_name(col->name) && is_row_number(s, c)) {
            col->role = SOMA_ROLE_IGNORED;
            REASON("row numbers (%g, %g, ... %g: an index, not a measurement)",
                   k.min, k.min + 1, k.max);
            return SOMA_OK;
        }
        if (k.min == k.max && s->n_used > 1 && !s->opt->keep_constant) {
            col->role = SOMA_ROLE_IGNORED;
            REASON("constant (every value is %g)", k.min);
            return SOMA_OK;
        }
        col->role = SOMA_ROLE_NUMERIC;
        col->fill = k.sum / (double)k.number;
        REASON("numbers");
        return SOMA_OK;
    }
    /* text: dates, identifiers and free text are left out */
    size_t dates = 0, words = 0;
    /* the distinct texts of the rows used (not of rows without a target) */
    unsigned char *seen = soma_alloc_zero(d->n ? d->n : 1, 1);
    if (!seen)
        return nomem(s);
    for (size_t i = 0; i < t->n_rows; i++) {
        uint32_t cell = t->cells[i * (size_t)t->n_cols + (size_t)c];
        if (s->used[i] && soma_cell_kind(cell) == SOMA_CELL_TEXT &&
            soma_cell_text_id(cell) < d->n)
            seen[soma_cell_text_id(cell)] = 1;
    }
    uint32_t n_distinct = 0;
    for (uint32_t id = 0; id < d->n; id++) {
        if (!seen[id])
            continue;
        const char *txt = SOMA_DICT_TEXT(d, id);
        n_distinct++;
        dates += (size_t)looks_like_date(txt);
        for (const char *q = txt; *q; q++)
            words += *q == ' ' && q[1] && q[1] != ' ';
    }
    soma_free(seen);
    if (n_distinct > 0 && dates * 10 >= (size_t)n_distinct * 9) {
        col->role = SOMA_ROLE_IGNORED;
        REASON("dates (give --categorical %s to use them as categories)",
               col->name);
        return SOMA_OK;
    }
    if (t->stats[c].overflow ||
        (n_distinct > ID_MIN_DISTINCT &&
         (double)n_distinct > ID_SHARE * (double)present)) {
        col->role = SOMA_ROLE_IGNORED;
        if (n_distinct && (double)words / (double)n_distinct >= 2.0)
            REASON("free text (%u distinct values in %zu rows)", n_distinct,
                   present);
        else
            REASON("identifier-like text (%u distinct values in %zu rows)",
                   n_distinct, present);
        return SOMA_OK;
    }
    soma_status st = fit_categorical(s, c, 0, limit);
    if (st || col->role != SOMA_ROLE_CATEGORICAL)
        return st;
    if (col->n_categories == 1 && k.missing == 0) {
        free_strings(col->categories, col->n_categories);
        col->categories = NULL;
        col->n_categories = 0;
        col->role = SOMA_ROLE_IGNORED;
        REASON("constant (one value on every row)");
        return SOMA_OK;
    }
    if (k.number)
        REASON("text and numbers, %d distinct values", col->n_categories);
    else
        REASON("text, %d distinct values", col->n_categories);
    return SOMA_OK;
#undef REASON
}

/* The task and, for classes, the labels; for regression the scale. */
static soma_status fit_targets(fit_state *s)
{
    soma_prep *p = s->p;
    const soma_table *t = s->t;
    const soma_prep_options *opt = s->opt;
    char reason[256];
    soma_task task = opt->task;
    int tc = p->targets[0];

    if (p->n_targets > 1) {
        if (task == SOMA_TASK_CLASSIFY)
            return soma_fail(s->err, SOMA_ERR_ARG,
                             "%s: several targets are trained as regression, one "
                             "output per target; classification takes one target",
                             t->name);
        task = SOMA_TASK_REGRESS;
        snprintf(reason, sizeof reason, "%d targets: one linear output each",
                 p->n_targets);
    }
    col_count k = s->counts[tc];
    if (task == SOMA_TASK_AUTO) {
        if (k.text > 0) {
            task = SOMA_TASK_CLASSIFY;
            snprintf(reason, sizeof reason, "the target '%.*s' holds text",
                     NAME_SHOW, t->names[tc]);
        } else {
            char **v = NULL;
            int n = 0, over = 0, numeric = 0;
            soma_status st = distinct_values(s, tc, 1, AUTO_MAX_CLASSES, &v, &n,
                                             &over, &numeric);
            if (st)
                return st;
            int whole = !over;
            for (int i = 0; whole && i < n; i++) {
                double x = strtod(v[i], NULL);
                whole = x == floor(x) && fabs(x) <= 16777216.0;
            }
            free_strings(v, n);
            if (!over && n <= 2) {
                task = SOMA_TASK_CLASSIFY;
                snprintf(reason, sizeof reason,
                         "the target '%.*s' holds %d distinct values", NAME_SHOW,
                         t->names[tc], n);
            } else if (whole && t->stats[tc].n_point == 0 &&
                       s->n_used >= (size_t)(n <= AUTO_FEW_CLASSES
                                                 ? AUTO_ROWS_PER_CLASS
                                                 : AUTO_ROWS_PER_MANY_CLASSES) *
                                        (size_t)n) {
                task = SOMA_TASK_CLASSIFY;
                snprintf(reason, sizeof reason,
                         "the target '%.*s' holds %d whole numbers, each on %zu "
                         "rows on average",
                         NAME_SHOW, t->names[tc], n, s->n_used / (size_t)n);
            } else {
                task = SOMA_TASK_REGRESS;
                if (over)
                    snprintf(reason, sizeof reason,
                             "the target '%.*s' holds numbers with more than %d "
                             "distinct values",
                             NAME_SHOW, t->names[tc], AUTO_MAX_CLASSES);
                else if (!whole || t->stats[tc].n_point)
                    snprintf(reason, sizeof reason,
                             "the target '%.*s' holds numbers written with a "
                             "fraction",
                             NAME_SHOW, t->names[tc]);
                else
                    snprintf(reason, sizeof reason,
                             "the target '%.*s' holds %d distinct numbers in %zu "
                             "rows, too many to be classes",
                             NAME_SHOW, t->names[tc], n, s->n_used);
            }
        }
    } else if (p->n_targets == 1) {
        if (opt->task_reason)
            snprintf(reason, sizeof reason, "%.200s", opt->task_reason);
        else
            snprintf(reason, sizeof reason, "as asked (--task %s)",
                     task_name(task));
    }
    p->task = task;
    if (!(p->task_reason = soma_strdup(reason)))
        return nomem(s);

    if (task == SOMA_TASK_CLASSIFY) {
        char **v = NULL;
        int n = 0, over = 0, numeric = 0;
        soma_status st = distinct_values(s, tc, 1, 65536, &v, &n, &over, &numeric);
        if (st)
            return st;
        if (over) {
            free_strings(v, n);
            return soma_fail(s->err, SOMA_ERR_DATA,
                             "%s: target '%.*s': more than 65536 classes", t->name,
                             NAME_SHOW, t->names[tc]);
        }
        p->classes = v;
        p->n_classes = n;
        return check_utf8(s, tc, v, n);
    }
    /* regression: numbers only, standardised */
    p->target_mean = soma_alloc_zero((size_t)p->n_targets, sizeof(double));
    p->target_std = soma_alloc_zero((size_t)p->n_targets, sizeof(double));
    if (!p->target_mean || !p->target_std)
        return nomem(s);
    for (int j = 0; j < p->n_targets; j++) {
        int c = p->targets[j];
        k = s->counts[c];
        if (k.text) {
            size_t r = k.first_text_row;
            char txt[64];
            cell_text(t, c, t->cells[r * (size_t)t->n_cols + (size_t)c], txt,
                      sizeof txt);
            return soma_fail(s->err, SOMA_ERR_DATA,
                             "%s: line %zu, column '%.*s': '%s' is not a number "
                             "(a regression target must be numbers)",
                             t->name, t->line[r], NAME_SHOW, t->names[c], txt);
        }
        double mean = k.sum / (double)k.number, ss = 0.0;
        for (size_t i = 0; i < t->n_rows; i++)
            if (s->used[i]) {
                double d = (double)soma_cell_number(
                               t->cells[i * (size_t)t->n_cols + (size_t)c]) -
                           mean;
                ss += d * d;
            }
        double sd = sqrt(ss / (double)k.number);
        p->target_mean[j] = mean;
        p->target_std[j] = sd > 0.0 && isfinite(sd) ? sd : 1.0;
    }
    return SOMA_OK;
}

static soma_status check_fit_options(const soma_prep_options *opt,
                                     soma_error *err)
{
    if (opt->n_targets < 1 || !opt->targets)
        return soma_fail(err, SOMA_ERR_ARG, "soma_prep_fit: bad options: no target column");
    if (opt->n_targets > PREP_MAX_TARGETS)
        return soma_fail(err, SOMA_ERR_ARG,
                         "soma_prep_fit: bad options: more than %d targets",
                         PREP_MAX_TARGETS);
    if (opt->n_categorical < 0 || opt->n_numeric < 0 || opt->n_ignore < 0 ||
        (opt->n_categorical && !opt->categorical) ||
        (opt->n_numeric && !opt->numeric) || (opt->n_ignore && !opt->ignore))
        return soma_fail(err, SOMA_ERR_ARG, "soma_prep_fit: bad options: a column list");
    if ((unsigned)opt->missing > SOMA_MISSING_ERROR ||
        (unsigned)opt->task > SOMA_TASK_REGRESS || opt->max_categories < 0)
        return soma_fail(err, SOMA_ERR_ARG, "soma_prep_fit: bad options: a value out of range");
    return SOMA_OK;
}

static soma_status force_roles(fit_state *s, const char *const *names, int n,
                               soma_role role, const char *what,
                               unsigned char *forced)
{
    for (int i = 0; i < n; i++) {
        int c;
        soma_status st = resolve(s, what, names[i], &c);
        if (st)
            return st;
        soma_prep_column *col = &s->p->columns[c];
        if (col->role == SOMA_ROLE_TARGET)
            return soma_fail(s->err, SOMA_ERR_ARG,
                             "%s: %s: '%.*s' is the target", s->t->name, what,
                             NAME_SHOW, col->name);
        if (forced[c] && forced[c] != (unsigned char)(role + 1))
            return soma_fail(s->err, SOMA_ERR_ARG,
                             "%s: column '%.*s' is given two roles (%s and %s)",
                             s->t->name, NAME_SHOW, col->name,
                             soma_role_name((soma_role)(forced[c] - 1)),
                             soma_role_name(role));
        forced[c] = (unsigned char)(role + 1);
        col->role = role;
    }
    return SOMA_OK;
}

static soma_status fit(fit_state *s)
{
    const soma_table *t = s->t;
    const soma_prep_options *opt = s->opt;
    soma_prep *p = s->p;
    int limit = opt->max_categories ? opt->max_categories : PREP_MAX_CATEGORIES;
    soma_status st;

    p->n_columns = t->n_cols;
    p->columns = soma_alloc_zero((size_t)t->n_cols, sizeof *p->columns);
    p->targets = soma_alloc_array((size_t)opt->n_targets, sizeof *p->targets);
    s->used = soma_alloc_array(t->n_rows ? t->n_rows : 1, 1);
    unsigned char *forced = soma_alloc_zero((size_t)t->n_cols, 1);
    if (!p->columns || !p->targets || !s->used || !forced) {
        soma_free(forced);
        return nomem(s);
    }
    for (int c = 0; c < t->n_cols; c++) {
        p->columns[c].role = SOMA_ROLE_IGNORED;
        if (!(p->columns[c].name = soma_strdup(t->names[c]))) {
            soma_free(forced);
            return nomem(s);
        }
    }
    p->sep = t->sep;
    p->decimal = t->decimal;
    p->missing = opt->missing;
    if (t->n_na) {
        p->na_values = soma_alloc_zero((size_t)t->n_na, sizeof *p->na_values);
        if (!p->na_values) {
            soma_free(forced);
            return nomem(s);
        }
        for (int i = 0; i < t->n_na; i++) {
            if (!(p->na_values[i] = soma_strdup(t->na[i]))) {
                soma_free(forced);
                return nomem(s);
            }
            p->n_na_values = i + 1;
        }
    }
    for (int j = 0; j < opt->n_targets; j++) {
        int c;
        if ((st = resolve(s, "target", opt->targets[j], &c)) != SOMA_OK) {
            soma_free(forced);
            return st;
        }
        if (p->columns[c].role == SOMA_ROLE_TARGET) {
            soma_free(forced);
            return soma_fail(s->err, SOMA_ERR_ARG, "%s: target '%.*s' is named twice",
                             t->name, NAME_SHOW, t->names[c]);
        }
        p->columns[c].role = SOMA_ROLE_TARGET;
        p->targets[j] = c;
        p->n_targets = j + 1;
    }
    st = force_roles(s, opt->ignore, opt->n_ignore, SOMA_ROLE_IGNORED, "--ignore",
                     forced);
    if (!st)
        st = force_roles(s, opt->categorical, opt->n_categorical,
                         SOMA_ROLE_CATEGORICAL, "--categorical", forced);
    if (!st)
        st = force_roles(s, opt->numeric, opt->n_numeric, SOMA_ROLE_NUMERIC,
                         "--numeric", forced);
    if (st) {
        soma_free(forced);
        return st;
    }

    /* the rows that have every target */
    s->n_used = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        int ok = 1;
        for (int j = 0; j < p->n_targets; j++)
            if (soma_cell_kind(t->cells[i * (size_t)t->n_cols +
                                        (size_t)p->targets[j]]) ==
                SOMA_CELL_MISSING)
                ok = 0;
        s->used[i] = (unsigned char)ok;
        s->n_used += (size_t)ok;
    }
    s->counts = soma_alloc_array((size_t)t->n_cols, sizeof *s->counts);
    if (!s->counts) {
        soma_free(forced);
        return nomem(s);
    }
    for (int c = 0; c < t->n_cols; c++)
        count_column(s, c, &s->counts[c]);
    for (int j = 0; j < p->n_targets; j++) {
        int c = p->targets[j];
        if (t->stats[c].n_number + t->stats[c].n_text == 0) {
            soma_free(forced);
            return soma_fail(s->err, SOMA_ERR_DATA,
                             "%s: column '%.*s': the target is missing on every "
                             "row",
                             t->name, NAME_SHOW, t->names[c]);
        }
    }
    if (s->n_used == 0) {
        soma_free(forced);
        return soma_fail(s->err, SOMA_ERR_DATA,
                         "%s: no row has a value for every target", t->name);
    }

    for (int c = 0; c < t->n_cols && !st; c++) {
        soma_prep_column *col = &p->columns[c];
        if (col->role == SOMA_ROLE_TARGET)
            continue;
        if (!forced[c]) {
            st = infer_column(s, c, limit);
            continue;
        }
        if (col->role == SOMA_ROLE_IGNORED) {
            if (!(col->reason = soma_strdup("as asked (--ignore)")))
                st = nomem(s);
        } else if (col->role == SOMA_ROLE_CATEGORICAL) {
            st = fit_categorical(s, c, 1, limit);
            if (!st && !(col->reason = soma_strdup("as asked (--categorical)")))
                st = nomem(s);
        } else {
            col_count k = s->counts[c];
            if (k.text) {
                char txt[64];
                size_t r = k.first_text_row;
                cell_text(t, c, t->cells[r * (size_t)t->n_cols + (size_t)c], txt,
                          sizeof txt);
                st = soma_fail(s->err, SOMA_ERR_DATA,
                               "%s: line %zu, column '%.*s': '%s' is not a number "
                               "(the column is --numeric)",
                               t->name, t->line[r], NAME_SHOW, col->name, txt);
            } else {
                col->fill = k.number ? k.sum / (double)k.number : 0.0;
                if (!(col->reason = soma_strdup("as asked (--numeric)")))
                    st = nomem(s);
            }
        }
    }
    soma_free(forced);
    if (st)
        return st;
    for (int c = 0; c < t->n_cols; c++) {
        soma_prep_column *col = &p->columns[c];
        if (col->role == SOMA_ROLE_TARGET && !col->reason &&
            !(col->reason = soma_strdup("the target")))
            return nomem(s);
        if (col->role == SOMA_ROLE_CATEGORICAL && p->missing == SOMA_MISSING_IMPUTE)
            col->missing_category = s->counts[c].missing > 0;
        int w = col->role == SOMA_ROLE_NUMERIC ? 1
                : col->role == SOMA_ROLE_CATEGORICAL
                    ? col->n_categories + col->missing_category
                    : 0;
        if (p->n_inputs > SOMA_MAX_UNITS - w)
            return soma_fail(s->err, SOMA_ERR_DATA,
                             "%s: more than %d inputs after one-hot encoding",
                             t->name, SOMA_MAX_UNITS);
        p->n_inputs += w;
    }
    if (p->n_inputs == 0)
        return soma_fail(s->err, SOMA_ERR_DATA,
                         "%s: no feature columns are left (see the notices; "
                         "--numeric or --categorical keeps a column)",
                         t->name);
    return fit_targets(s);
}

soma_status soma_prep_fit(const soma_table *t, const soma_prep_options *opt,
                          soma_prep **out, soma_error *err)
{
    soma_clear_error(err);
    if (out)
        *out = NULL;
    if (!t || !opt || !out)
        return soma_fail(err, SOMA_ERR_ARG, "soma_prep_fit: NULL argument");
    soma_status st = check_fit_options(opt, err);
    if (st)
        return st;
    fit_state s;
    memset(&s, 0, sizeof s);
    s.t = t;
    s.opt = opt;
    s.err = err;
    s.p = soma_alloc_zero(1, sizeof *s.p);
    if (!s.p)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", t->name);
    st = fit(&s);
    soma_free(s.used);
    soma_free(s.counts);
    if (st) {
        soma_prep_free(s.p);
        return st;
    }
    *out = s.p;
    return SOMA_OK;
}

/* ---- applying ----------------------------------------------------------- */

/* The names among a vocabulary (categories or classes) that are numbers,
 * by value: a number cell finds its name by binary search instead of being
 * formatted and compared (names are the shortest text of their float, so
 * reading a name back gives the value exactly). */
typedef struct num_index {
    float *value;
    int32_t *index;
    int n;
} num_index;

static int cmp_float_idx(const void *a, const void *b)
{
    const float *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static soma_status build_num_index(char *const *v, int n, num_index *ni,
                                   const char *name, soma_error *err)
{
    memset(ni, 0, sizeof *ni);
    struct pair {
        float value;
        int32_t index;
    } *pairs = soma_alloc_array(n > 0 ? (size_t)n : 1, sizeof *pairs);
    if (!pairs)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
    int k = 0;
    for (int i = 0; i < n; i++) {
        double d;
        char buf[32];
        if (!soma_parse_cell_number(v[i], strlen(v[i]), '.', &d, NULL))
            continue;
        /* only a name in the canonical form is reachable from a number */
        soma_format_number((float)d, buf, sizeof buf);
        if (strcmp(buf, v[i]) != 0)
            continue;
        pairs[k].value = (float)d;
        pairs[k].index = i;
        k++;
    }
    qsort(pairs, (size_t)k, sizeof *pairs, cmp_float_idx);
    ni->value = soma_alloc_array(k > 0 ? (size_t)k : 1, sizeof *ni->value);
    ni->index = soma_alloc_array(k > 0 ? (size_t)k : 1, sizeof *ni->index);
    if (!ni->value || !ni->index) {
        soma_free(pairs);
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
    }
    for (int i = 0; i < k; i++) {
        ni->value[i] = pairs[i].value;
        ni->index[i] = pairs[i].index;
    }
    ni->n = k;
    soma_free(pairs);
    return SOMA_OK;
}

static void free_num_index(num_index *ni)
{
    soma_free(ni->value);
    soma_free(ni->index);
}

/* The category (or class) of a number cell, or -1. */
static int number_category(const num_index *ni, float x)
{
    int lo = 0, hi = ni->n;
    if (x == 0.0f)
        x = 0.0f;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (ni->value[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ni->n && ni->value[lo] == x ? ni->index[lo] : -1;
}

typedef struct apply_col {
    int tcol;               /* the table's column */
    int offset;             /* first input */
    int32_t *map;           /* categorical: table text id -> category, -1 */
    num_index nums;         /* categorical: the categories that are numbers */
    size_t matched_numbers, numbers;
} apply_col;

static int find_sorted(char *const *v, int n, const char *s)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int r = strcmp(v[mid], s);
        if (r == 0)
            return mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static soma_status build_map(const soma_table *t, int tc, char *const *v, int n,
                             int sorted, int32_t **map, soma_error *err)
{
    const soma_dict *d = &t->dicts[tc];
    *map = soma_alloc_array(d->n ? d->n : 1, sizeof **map);
    if (!*map)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", t->name);
    soma_dict idx;
    memset(&idx, 0, sizeof idx);
    if (!sorted)
        for (int i = 0; i < n; i++)
            if (soma_dict_add(&idx, v[i], strlen(v[i])) < 0) {
                soma_dict_free(&idx);
                return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", t->name);
            }
    for (uint32_t id = 0; id < d->n; id++)
        (*map)[id] = sorted ? find_sorted(v, n, SOMA_DICT_TEXT(d, id))
                            : (int32_t)soma_dict_find(&idx, SOMA_DICT_TEXT(d, id),
                                                      d->len[id]);
    soma_dict_free(&idx);
    return SOMA_OK;
}

typedef struct apply_state {
    const soma_prep *p;
    const soma_table *t;
    soma_error *err;
    apply_col *cols;        /* [p->n_columns] */
    int32_t *class_map;
    num_index class_nums;
    int flags;
} apply_state;

static soma_status apply_setup(apply_state *a)
{
    const soma_prep *p = a->p;
    const soma_table *t = a->t;
    a->cols = soma_alloc_zero((size_t)p->n_columns, sizeof *a->cols);
    if (!a->cols)
        return soma_fail(a->err, SOMA_ERR_NOMEM, "%s: out of memory", t->name);
    /* the table's columns by name (the names are distinct) */
    soma_dict names;
    memset(&names, 0, sizeof names);
    for (int c = 0; c < t->n_cols; c++) {
        int64_t k = soma_dict_add(&names, t->names[c], strlen(t->names[c]));
        if (k < 0) {
            soma_dict_free(&names);
            return k == -1 ? soma_fail(a->err, SOMA_ERR_NOMEM, "%s: out of memory",
                                       t->name)
                           : soma_fail(a->err, SOMA_ERR_FORMAT,
                                       "%s: too many fields in the header",
                                       t->name);
        }
    }
    int offset = 0;
    for (int c = 0; c < p->n_columns; c++) {
        const soma_prep_column *col = &p->columns[c];
        apply_col *ac = &a->cols[c];
        ac->tcol = -1;
        ac->offset = offset;
        if (col->role == SOMA_ROLE_IGNORED ||
            (col->role == SOMA_ROLE_TARGET && !(a->flags & SOMA_PREP_TARGETS)))
            continue;
        ac->tcol = (int)soma_dict_find(&names, col->name, strlen(col->name));
        if (ac->tcol < 0) {
            soma_dict_free(&names);
            return soma_fail(a->err, SOMA_ERR_DATA,
                             "%s: line 1: no column '%.*s', which the model "
                             "needs (%s)",
                             t->name, NAME_SHOW, col->name,
                             col->role == SOMA_ROLE_TARGET ? "its target"
                                                           : "a feature");
        }
        if (col->role == SOMA_ROLE_NUMERIC) {
            offset++;
        } else if (col->role == SOMA_ROLE_CATEGORICAL) {
            soma_status st = build_map(t, ac->tcol, col->categories,
                                       col->n_categories, 1, &ac->map, a->err);
            if (!st)
                st = build_num_index(col->categories, col->n_categories,
                                     &ac->nums, t->name, a->err);
            if (st) {
                soma_dict_free(&names);
                return st;
            }
            offset += col->n_categories + col->missing_category;
        }
    }
    soma_dict_free(&names);
    if ((a->flags & SOMA_PREP_TARGETS) && p->task == SOMA_TASK_CLASSIFY) {
        soma_status st = build_map(t, a->cols[p->targets[0]].tcol, p->classes,
                                   p->n_classes, 0, &a->class_map, a->err);
        if (st)
            return st;
        return build_num_index(p->classes, p->n_classes, &a->class_nums, t->name,
                               a->err);
    }
    return SOMA_OK;
}

static void apply_free(apply_state *a)
{
    if (a->cols)
        for (int c = 0; c < a->p->n_columns; c++) {
            soma_free(a->cols[c].map);
            free_num_index(&a->cols[c].nums);
        }
    soma_free(a->cols);
    soma_free(a->class_map);
    free_num_index(&a->class_nums);
}

static soma_status missing_error(const apply_state *a, size_t r, int tc)
{
    return soma_fail(a->err, SOMA_ERR_DATA,
                     "%s: line %zu, column '%.*s': missing value (--missing "
                     "error)",
                     a->t->name, a->t->line[r], NAME_SHOW, a->t->names[tc]);
}

/* The kind of a cell, with a missing-value token in a column read as
 * text (an --id) counted as missing. */
static int cell_kind(const soma_table *t, int tc, uint32_t cell)
{
    int kind = soma_cell_kind(cell);
    if (kind == SOMA_CELL_TEXT && t->stats[tc].as_text) {
        const soma_dict *d = &t->dicts[tc];
        uint32_t id = soma_cell_text_id(cell);
        if (id < d->n && soma_table_is_na(t, SOMA_DICT_TEXT(d, id), d->len[id]))
            return SOMA_CELL_MISSING;
    }
    return kind;
}

/* Encodes table row r into x [n_inputs] and y; *keep is 0 for a row that
 * is left out. row is a copy of the row's cells. */
static soma_status encode_row(apply_state *a, size_t r, const uint32_t *row,
                              float *x, float *y, int *keep,
                              soma_prep_report *rep)
{
    const soma_prep *p = a->p;
    const soma_table *t = a->t;
    *keep = 1;
    if (a->flags & SOMA_PREP_TARGETS) {
        for (int j = 0; j < p->n_targets; j++) {
            uint32_t cell = row[a->cols[p->targets[j]].tcol];
            int kind = soma_cell_kind(cell);
            if (kind == SOMA_CELL_MISSING) {
                rep->dropped_target++;
                *keep = 0;
                return SOMA_OK;
            }
            if (p->task == SOMA_TASK_CLASSIFY) {
                int tc = a->cols[p->targets[0]].tcol;
                uint32_t id = soma_cell_text_id(cell);
                int k = kind == SOMA_CELL_NUMBER
                            ? number_category(&a->class_nums,
                                              soma_cell_number(cell))
                        : id < t->dicts[tc].n ? a->class_map[id]
                                              : -1; /* past the kept texts */
                if (k < 0)
                    rep->unknown_class++;
                y[0] = (float)k;
            } else {
                if (kind != SOMA_CELL_NUMBER) {
                    char txt[64];
                    int tc = a->cols[p->targets[j]].tcol;
                    cell_text(t, tc, cell, txt, sizeof txt);
                    return soma_fail(a->err, SOMA_ERR_DATA,
                                     "%s: line %zu, column '%.*s': '%s' is not a "
                                     "number (the target is numeric)",
                                     t->name, t->line[r], NAME_SHOW, t->names[tc],
                                     txt);
                }
                y[j] = soma_cell_number(cell);
            }
        }
    }
    if ((a->flags & SOMA_PREP_TRAINING) && p->missing == SOMA_MISSING_DROP)
        for (int c = 0; c < p->n_columns; c++) {
            soma_role role = p->columns[c].role;
            if ((role == SOMA_ROLE_NUMERIC || role == SOMA_ROLE_CATEGORICAL) &&
                cell_kind(t, a->cols[c].tcol, row[a->cols[c].tcol]) ==
                    SOMA_CELL_MISSING) {
                rep->dropped_missing++;
                *keep = 0;
                return SOMA_OK;
            }
        }
    for (int c = 0; c < p->n_columns; c++) {
        const soma_prep_column *col = &p->columns[c];
        apply_col *ac = &a->cols[c];
        if (col->role == SOMA_ROLE_NUMERIC) {
            uint32_t cell = row[ac->tcol];
            int kind = cell_kind(t, ac->tcol, cell);
            if (kind == SOMA_CELL_NUMBER) {
                x[ac->offset] = soma_cell_number(cell);
            } else if (kind == SOMA_CELL_MISSING) {
                if (p->missing == SOMA_MISSING_ERROR)
                    return missing_error(a, r, ac->tcol);
                x[ac->offset] = (float)col->fill;
                rep->imputed++;
            } else {
                /* a column read as text (an --id) may still hold numbers */
                const soma_dict *d = &t->dicts[ac->tcol];
                uint32_t id = soma_cell_text_id(cell);
                double v;
                if (id < d->n && soma_parse_cell_number(SOMA_DICT_TEXT(d, id),
                                                        d->len[id], t->decimal,
                                                        &v, NULL)) {
                    x[ac->offset] = (float)v;
                    continue;
                }
                char txt[64];
                cell_text(t, ac->tcol, cell, txt, sizeof txt);
                return soma_fail(a->err, SOMA_ERR_DATA,
                                 "%s: line %zu, column '%.*s': '%s' is not a "
                                 "number (the column is numeric in the model)",
                                 t->name, t->line[r], NAME_SHOW, col->name, txt);
            }
        } else if (col->role == SOMA_ROLE_CATEGORICAL) {
            int w = col->n_categories + col->missing_category;
            float *o = x + ac->offset;
            for (int k = 0; k < w; k++)
                o[k] = 0.0f;
            uint32_t cell = row[ac->tcol];
            int kind = cell_kind(t, ac->tcol, cell), k;
            if (kind == SOMA_CELL_MISSING) {
                if (p->missing == SOMA_MISSING_ERROR)
                    return missing_error(a, r, ac->tcol);
                if (col->missing_category)
                    o[col->n_categories] = 1.0f;
                rep->imputed++;
                continue;
            }
            if (kind == SOMA_CELL_NUMBER) {
                k = number_category(&ac->nums, soma_cell_number(cell));
                ac->numbers++;
                ac->matched_numbers += k >= 0;
            } else {
                const soma_dict *d = &t->dicts[ac->tcol];
                uint32_t id = soma_cell_text_id(cell);
                double v;
                k = id < d->n ? ac->map[id] : -1;
                /* a column read as text (an --id) still names its numbers
                 * by value, as training did */
                if (k < 0 && id < d->n && t->stats[ac->tcol].as_text &&
                    soma_parse_cell_number(SOMA_DICT_TEXT(d, id), d->len[id],
                                           t->decimal, &v, NULL))
                    k = number_category(&ac->nums, (float)v);
            }
            if (k >= 0) {
                o[k] = 1.0f;
            } else {
                rep->unseen++;
                if (rep->unseen_col < 0)
                    rep->unseen_col = c;
            }
        }
    }
    return SOMA_OK;
}

static soma_status encoded_names(const soma_prep *p, soma_dataset *ds)
{
    ds->feature_names = soma_alloc_zero((size_t)p->n_inputs,
                                        sizeof *ds->feature_names);
    if (!ds->feature_names)
        return SOMA_ERR_NOMEM;
    int f = 0;
    for (int c = 0; c < p->n_columns; c++) {
        const soma_prep_column *col = &p->columns[c];
        if (col->role == SOMA_ROLE_NUMERIC) {
            if (!(ds->feature_names[f++] = soma_strdup(col->name)))
                return SOMA_ERR_NOMEM;
        } else if (col->role == SOMA_ROLE_CATEGORICAL) {
            for (int k = 0; k < col->n_categories; k++)
                if (!(ds->feature_names[f++] =
                          dup_printf("%s=%s", col->name, col->categories[k])))
                    return SOMA_ERR_NOMEM;
            if (col->missing_category &&
                !(ds->feature_names[f++] = dup_printf("%s (missing)", col->name)))
                return SOMA_ERR_NOMEM;
        }
    }
    if (p->n_targets >= 1) {
        const char *tn = p->columns[p->targets[0]].name;
        if (!(ds->target_name = soma_strdup(tn)))
            return SOMA_ERR_NOMEM;
    }
    if (p->task == SOMA_TASK_CLASSIFY) {
        ds->class_names = soma_alloc_zero((size_t)p->n_classes,
                                          sizeof *ds->class_names);
        if (!ds->class_names)
            return SOMA_ERR_NOMEM;
        ds->n_classes = p->n_classes;
        for (int k = 0; k < p->n_classes; k++)
            if (!(ds->class_names[k] = soma_strdup(p->classes[k])))
                return SOMA_ERR_NOMEM;
    }
    return SOMA_OK;
}

/* In place: x is written over t's cells, which it replaces (t keeps no
 * rows afterwards). Possible when a row's inputs take no more room than
 * its cells: row i's inputs then end before row i + 1's cells start. */
static soma_status apply(const soma_prep *p, soma_table *t, const soma_table *ct,
                         int flags, soma_dataset **out, soma_prep_report *rep,
                         soma_error *err)
{
    apply_state a;
    memset(&a, 0, sizeof a);
    a.p = p;
    a.t = ct;
    a.err = err;
    a.flags = flags;
    memset(rep, 0, sizeof *rep);
    rep->unseen_col = -1;
    rep->rows_in = ct->n_rows;
    int yc = (flags & SOMA_PREP_TARGETS)
                 ? (p->task == SOMA_TASK_CLASSIFY ? 1 : p->n_targets)
                 : 0;
    size_t nc = (size_t)ct->n_cols, d = (size_t)p->n_inputs, n = ct->n_rows;
    soma_dataset *ds = soma_alloc_zero(1, sizeof *ds);
    uint32_t *row = soma_alloc_array(nc ? nc : 1, sizeof *row);
    soma_status st = SOMA_OK;
    if (!ds || !row) {
        st = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", ct->name);
        goto done;
    }
    st = apply_setup(&a);
    if (st)
        goto done;
    int in_place = t && d <= nc && n > 0;
    size_t nx;
    if (!soma_size_mul(n ? n : 1, d, &nx))
        nx = SIZE_MAX;
    ds->x = in_place ? (float *)(void *)t->cells : soma_alloc_array(nx, sizeof(float));
    if (in_place)
        t->cells = NULL;
    ds->line = soma_alloc_array(n ? n : 1, sizeof *ds->line);
    if (yc)
        ds->y = soma_alloc_array(n ? n : 1, (size_t)yc * sizeof(float));
    if (!ds->x || !ds->line || (yc && !ds->y)) {
        st = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", ct->name);
        goto done;
    }
    ds->n_features = p->n_inputs;
    ds->y_cols = yc ? yc : 0;
    const uint32_t *cells = in_place ? (const uint32_t *)(void *)ds->x : ct->cells;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int keep;
        memcpy(row, cells + i * nc, nc * sizeof *row);
        st = encode_row(&a, i, row, ds->x + m * d, yc ? ds->y + m * (size_t)yc : NULL,
                        &keep, rep);
        if (st)
            goto done;
        if (keep) {
            ds->line[m] = ct->line[i];
            m++;
        }
    }
    ds->n_rows = m;
    for (int c = 0; c < p->n_columns; c++) {
        const apply_col *ac = &a.cols[c];
        if (p->columns[c].role == SOMA_ROLE_CATEGORICAL && ac->numbers > 0 &&
            ac->matched_numbers == 0 && ct->stats[ac->tcol].n_text == 0) {
            st = soma_fail(err, SOMA_ERR_DATA,
                           "%s: column '%.*s' held text in training (%d "
                           "categories such as '%.40s') but holds only numbers "
                           "here, none of them a category: a wrong or shifted "
                           "column?",
                           ct->name, NAME_SHOW, p->columns[c].name,
                           p->columns[c].n_categories,
                           p->columns[c].n_categories ? p->columns[c].categories[0]
                                                      : "");
            goto done;
        }
    }
    if (m == 0) {
        st = soma_fail(err, SOMA_ERR_DATA,
                       "%s: no rows left (%zu without a target, %zu with a "
                       "missing feature)",
                       ct->name, rep->dropped_target, rep->dropped_missing);
        goto done;
    }
    if (m < n || in_place) {
        float *x = soma_realloc_array(ds->x, m * d > 0 ? m * d : 1, sizeof *x);
        if (x)
            ds->x = x;
    }
    if (encoded_names(p, ds) != SOMA_OK)
        st = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", ct->name);
done:
    if (t && !t->cells)
        t->n_rows = 0; /* its cells are now the data set's, or gone */
    apply_free(&a);
    soma_free(row);
    if (st) {
        soma_dataset_free(ds);
        return st;
    }
    *out = ds;
    return SOMA_OK;
}

soma_status soma_prep_apply(const soma_prep *p, const soma_table *t, int flags,
                            soma_dataset **out, soma_prep_report *rep,
                            soma_error *err)
{
    soma_prep_report local;
    soma_clear_error(err);
    if (out)
        *out = NULL;
    if (!p || !t || !out)
        return soma_fail(err, SOMA_ERR_ARG, "soma_prep_apply: NULL argument");
    return apply(p, NULL, t, flags, out, rep ? rep : &local, err);
}

soma_status soma_prep_apply_in_place(const soma_prep *p, soma_table *t,
                                     int flags, soma_dataset **out,
                                     soma_prep_report *rep, soma_error *err)
{
    soma_prep_report local;
    soma_clear_error(err);
    if (out)
        *out = NULL;
    if (!p || !t || !out)
        return soma_fail(err, SOMA_ERR_ARG,
                         "soma_prep_apply_in_place: NULL argument");
    return apply(p, t, t, flags, out, rep ? rep : &local, err);
}

void soma_prep_scale(const soma_prep *p, float *y, size_t n)
{
    if (!p || !p->target_mean || !y)
        return;
    size_t k = (size_t)p->n_targets;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            y[i * k + j] = (float)(((double)y[i * k + j] - p->target_mean[j]) /
                                   p->target_std[j]);
}

void soma_prep_unscale(const soma_prep *p, float *out, size_t n)
{
    if (!p || !p->target_mean || !out)
        return;
    size_t k = (size_t)p->n_targets;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = (float)((double)out[i * k + j] * p->target_std[j] +
                                     p->target_mean[j]);
}

/* ---- JSON --------------------------------------------------------------- */

static void jw_double(soma_jw *w, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    soma_jw_raw(w, buf);
}

static void jw_sep_char(soma_jw *w, char c)
{
    char s[2] = {c, 0};
    soma_jw_string(w, s);
}

static void jw_strings(soma_jw *w, char *const *v, int n)
{
    soma_jw_raw(w, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            soma_jw_raw(w, ",");
        soma_jw_string(w, v[i]);
    }
    soma_jw_raw(w, "]");
}

static int prep_utf8(const soma_prep *p)
{
    for (int c = 0; c < p->n_columns; c++) {
        const soma_prep_column *col = &p->columns[c];
        if (!soma_utf8_valid(col->name) ||
            (col->reason && !soma_utf8_valid(col->reason)))
            return 0;
        for (int k = 0; k < col->n_categories; k++)
            if (!soma_utf8_valid(col->categories[k]))
                return 0;
    }
    for (int i = 0; i < p->n_na_values; i++)
        if (!soma_utf8_valid(p->na_values[i]))
            return 0;
    for (int i = 0; i < p->n_classes; i++)
        if (!soma_utf8_valid(p->classes[i]))
            return 0;
    return 1;
}

char *soma_prep_to_json(const soma_prep *p, soma_error *err)
{
    if (!p) {
        soma_fail(err, SOMA_ERR_ARG, "soma_prep_to_json: NULL argument");
        return NULL;
    }
    if (!prep_utf8(p)) {
        soma_fail(err, SOMA_ERR_ARG,
                  "a column name, category, class or token is not valid UTF-8");
        return NULL;
    }
    soma_jw w;
    soma_jw_init(&w);
    soma_jw_raw(&w, "{\"version\":");
    soma_jw_u64(&w, PREP_VERSION);
    soma_jw_raw(&w, ",\"sep\":");
    jw_sep_char(&w, p->sep);
    soma_jw_raw(&w, ",\"decimal\":");
    jw_sep_char(&w, p->decimal);
    soma_jw_raw(&w, ",\"na_values\":");
    jw_strings(&w, p->na_values, p->n_na_values);
    soma_jw_raw(&w, ",\"missing\":");
    soma_jw_string(&w, missing_name(p->missing));
    soma_jw_raw(&w, ",\"task\":");
    soma_jw_string(&w, task_name(p->task));
    soma_jw_raw(&w, ",\"task_reason\":");
    soma_jw_string(&w, p->task_reason ? p->task_reason : "");
    soma_jw_raw(&w, ",\"inputs\":");
    soma_jw_u64(&w, (uint64_t)p->n_inputs);
    soma_jw_raw(&w, ",\"columns\":[");
    for (int c = 0; c < p->n_columns; c++) {
        const soma_prep_column *col = &p->columns[c];
        soma_jw_raw(&w, c ? ",{\"name\":" : "{\"name\":");
        soma_jw_string(&w, col->name);
        soma_jw_raw(&w, ",\"role\":");
        soma_jw_string(&w, soma_role_name(col->role));
        soma_jw_raw(&w, ",\"reason\":");
        soma_jw_string(&w, col->reason ? col->reason : "");
        if (col->role == SOMA_ROLE_NUMERIC) {
            soma_jw_raw(&w, ",\"fill\":");
            jw_double(&w, col->fill);
        } else if (col->role == SOMA_ROLE_CATEGORICAL) {
            soma_jw_raw(&w, ",\"categories\":");
            jw_strings(&w, col->categories, col->n_categories);
            soma_jw_raw(&w, col->missing_category ? ",\"missing_category\":true"
                                                  : ",\"missing_category\":false");
        }
        soma_jw_raw(&w, "}");
    }
    soma_jw_raw(&w, "],\"targets\":[");
    for (int j = 0; j < p->n_targets; j++) {
        if (j)
            soma_jw_raw(&w, ",");
        soma_jw_string(&w, p->columns[p->targets[j]].name);
    }
    soma_jw_raw(&w, "]");
    if (p->task == SOMA_TASK_CLASSIFY) {
        soma_jw_raw(&w, ",\"classes\":");
        jw_strings(&w, p->classes, p->n_classes);
    }
    if (p->target_mean) {
        soma_jw_raw(&w, ",\"target_mean\":[");
        for (int j = 0; j < p->n_targets; j++) {
            if (j)
                soma_jw_raw(&w, ",");
            jw_double(&w, p->target_mean[j]);
        }
        soma_jw_raw(&w, "],\"target_std\":[");
        for (int j = 0; j < p->n_targets; j++) {
            if (j)
                soma_jw_raw(&w, ",");
            jw_double(&w, p->target_std[j]);
        }
        soma_jw_raw(&w, "]");
    }
    soma_jw_raw(&w, "}");
    char *s = soma_jw_finish(&w, NULL);
    if (!s)
        soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
    return s;
}

void soma_prep_json_free(char *json)
{
    soma_free(json);
}

typedef struct jr {
    const char *name;
    soma_error *err;
    soma_status st;
} jr;

static int jbad(jr *r, const char *what)
{
    if (!r->st)
        r->st = soma_fail(r->err, SOMA_ERR_FORMAT, "%s: soma.preprocess: %s",
                          r->name, what);
    return 0;
}

static int jnomem(jr *r)
{
    if (!r->st)
        r->st = soma_fail(r->err, SOMA_ERR_NOMEM, "%s: out of memory", r->name);
    return 0;
}

static int jstrings(jr *r, json_t *a, const char *what, char ***out, int *n,
                    size_t max)
{
    if (!json_is_array(a) || json_array_size(a) > max)
        return jbad(r, what);
    size_t k = json_array_size(a);
    *out = soma_alloc_zero(k ? k : 1, sizeof **out);
    if (!*out)
        return jnomem(r);
    for (size_t i = 0; i < k; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e) || !soma_utf8_valid(json_string_value(e)))
            return jbad(r, what);
        if (!((*out)[i] = soma_strdup(json_string_value(e))))
            return jnomem(r);
        *n = (int)i + 1;
    }
    return 1;
}

static int jchar(jr *r, json_t *o, const char *key, const char *allowed,
                 char *out)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 1 || !strchr(allowed, s[0]))
        return jbad(r, key);
    *out = s[0];
    return 1;
}

static int jfinite(json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return isfinite(*out);
}

static int sorted_unique(char *const *v, int n)
{
    for (int i = 1; i < n; i++)
        if (strcmp(v[i - 1], v[i]) >= 0)
            return 0;
    return 1;
}

static int jcolumns(jr *r, json_t *a, soma_prep *p)
{
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > (size_t)INT_MAX / 4)
        return jbad(r, "columns must be a non-empty array");
    size_t n = json_array_size(a);
    p->columns = soma_alloc_zero(n, sizeof *p->columns);
    if (!p->columns)
        return jnomem(r);
    p->n_columns = (int)n;
    long inputs = 0;
    for (size_t c = 0; c < n; c++) {
        json_t *o = json_array_get(a, c);
        soma_prep_column *col = &p->columns[c];
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *role = json_string_value(json_object_get(o, "role"));
        const char *reason = json_string_value(json_object_get(o, "reason"));
        if (!json_is_object(o) || !name || !role || !soma_utf8_valid(name))
            return jbad(r, "a column needs a name and a role");
        if (!(col->name = soma_strdup(name)) ||
            !(col->reason = soma_strdup(reason && soma_utf8_valid(reason) ? reason
                                                                           : "")))
            return jnomem(r);

        if (strcmp(role, "ignored") == 0) {
            col->role = SOMA_ROLE_IGNORED;
        } else if (strcmp(role, "target") == 0) {
            col->role = SOMA_ROLE_TARGET;
        } else if (strcmp(role, "numeric") == 0) {
            col->role = SOMA_ROLE_NUMERIC;
            if (!jfinite(json_object_get(o, "fill"), &col->fill) ||
                fabs(col->fill) > (double)FLT_MAX)
                return jbad(r, "a numeric column needs a finite fill");
            inputs++;
        } else if (strcmp(role, "categorical") == 0) {
            col->role = SOMA_ROLE_CATEGORICAL;
            if (!jstrings(r, json_object_get(o, "categories"), "categories",
                          &col->categories, &col->n_categories, SOMA_MAX_UNITS))
                return 0;
            if (!sorted_unique(col->categories, col->n_categories))
                return jbad(r, "categories must be sorted and distinct");
            json_t *mc = json_object_get(o, "missing_category");
            if (!json_is_boolean(mc))
                return jbad(r, "missing_category must be true or false");
            col->missing_category = json_is_true(mc);
            inputs += col->n_categories + col->missing_category;
        } else {
            return jbad(r, "unknown role");
        }
        if (inputs > SOMA_MAX_UNITS)
            return jbad(r, "too many inputs");
    }
    p->n_inputs = (int)inputs;
    char **names = soma_alloc_array(n, sizeof *names);
    if (!names)
        return jnomem(r);
    for (size_t c = 0; c < n; c++)
        names[c] = p->columns[c].name;
    qsort(names, n, sizeof *names, cmp_str);
    int dup = !sorted_unique(names, (int)n);
    soma_free(names);
    if (dup)
        return jbad(r, "two columns have the same name");
    return 1;
}

static int jtargets(jr *r, json_t *root, soma_prep *p)
{
    json_t *a = json_object_get(root, "targets");
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > (size_t)p->n_columns ||
        json_array_size(a) > PREP_MAX_TARGETS)
        return jbad(r, "targets must name the target columns");
    size_t n = json_array_size(a);
    p->targets = soma_alloc_array(n, sizeof *p->targets);
    if (!p->targets)
        return jnomem(r);
    p->n_targets = (int)n;
    int n_target_cols = 0;
    for (int c = 0; c < p->n_columns; c++)
        n_target_cols += p->columns[c].role == SOMA_ROLE_TARGET;
    if ((size_t)n_target_cols != n)
        return jbad(r, "targets and the columns of role target differ");
    for (size_t j = 0; j < n; j++) {
        const char *s = json_string_value(json_array_get(a, j));
        int found = -1;
        for (int c = 0; s && c < p->n_columns; c++)
            if (strcmp(p->columns[c].name, s) == 0)
                found = c;
        if (found < 0 || p->columns[found].role != SOMA_ROLE_TARGET)
            return jbad(r, "a target is not a column of role target");
        for (size_t k = 0; k < j; k++)
            if (p->targets[k] == found)
                return jbad(r, "a target is listed twice");
        p->targets[j] = found;
    }
    const char *task = json_string_value(json_object_get(root, "task"));
    if (task && strcmp(task, "classify") == 0) {
        p->task = SOMA_TASK_CLASSIFY;
        if (n != 1)
            return jbad(r, "classification has one target");
        if (!jstrings(r, json_object_get(root, "classes"), "classes", &p->classes,
                      &p->n_classes, 65536))
            return 0;
        if (p->n_classes < 2)
            return jbad(r, "classes needs at least two labels");
        /* distinct: sorted copies side by side (65536 labels would make a
         * pairwise check slow) */
        char **sorted = soma_alloc_array((size_t)p->n_classes, sizeof *sorted);
        if (!sorted)
            return jnomem(r);
        memcpy(sorted, p->classes, (size_t)p->n_classes * sizeof *sorted);
        qsort(sorted, (size_t)p->n_classes, sizeof *sorted, cmp_str);
        int dup = !sorted_unique(sorted, p->n_classes);
        soma_free(sorted);
        if (dup)
            return jbad(r, "a class is listed twice");
    } else if (task && strcmp(task, "regress") == 0) {
        p->task = SOMA_TASK_REGRESS;
        json_t *m = json_object_get(root, "target_mean");
        json_t *sd = json_object_get(root, "target_std");
        if (!m && !sd)
            return 1;
        if (!json_is_array(m) || !json_is_array(sd) || json_array_size(m) != n ||
            json_array_size(sd) != n)
            return jbad(r, "target_mean and target_std need one number per target");
        p->target_mean = soma_alloc_array(n, sizeof(double));
        p->target_std = soma_alloc_array(n, sizeof(double));
        if (!p->target_mean || !p->target_std)
            return jnomem(r);
        for (size_t j = 0; j < n; j++)
            if (!jfinite(json_array_get(m, j), &p->target_mean[j]) ||
                !jfinite(json_array_get(sd, j), &p->target_std[j]) ||
                !(p->target_std[j] > 0.0))
                return jbad(r, "target_mean must be finite, target_std finite "
                               "and > 0");
    } else {
        return jbad(r, "task must be 'classify' or 'regress'");
    }
    return 1;
}

soma_prep *soma_prep_from_json(const char *json, const char *name,
                               soma_error *err)
{
    jr r = {name ? name : "(prep)", err, SOMA_OK};
    soma_clear_error(err);
    if (!json) {
        soma_fail(err, SOMA_ERR_ARG, "soma_prep_from_json: NULL argument");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        soma_fail(err, SOMA_ERR_FORMAT, "%s: soma.preprocess is not valid JSON: %s",
                  r.name, je.text);
        return NULL;
    }
    soma_prep *p = soma_alloc_zero(1, sizeof *p);
    if (!p) {
        json_decref(root);
        soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", r.name);
        return NULL;
    }
    json_t *ver = json_object_get(root, "version");
    const char *missing = json_string_value(json_object_get(root, "missing"));
    const char *reason = json_string_value(json_object_get(root, "task_reason"));
    json_t *inputs = json_object_get(root, "inputs");
    if (!json_is_object(root)) {
        jbad(&r, "not a JSON object");
    } else if (!json_is_integer(ver)) {
        jbad(&r, "no version");
    } else if (json_integer_value(ver) != PREP_VERSION) {
        r.st = soma_fail(err, SOMA_ERR_UNSUPPORTED,
                         "%s: soma.preprocess version %lld is not supported (this "
                         "build reads version %d)",
                         r.name, (long long)json_integer_value(ver), PREP_VERSION);
    } else if (jchar(&r, root, "sep", ",;\t| ", &p->sep) &&
               jchar(&r, root, "decimal", ".,", &p->decimal) &&
               jstrings(&r, json_object_get(root, "na_values"), "na_values",
                        &p->na_values, &p->n_na_values, 1024)) {
        if (!missing || (strcmp(missing, "impute") && strcmp(missing, "drop") &&
                         strcmp(missing, "error")))
            jbad(&r, "missing must be impute, drop or error");
        else
            p->missing = !strcmp(missing, "drop")    ? SOMA_MISSING_DROP
                         : !strcmp(missing, "error") ? SOMA_MISSING_ERROR
                                                     : SOMA_MISSING_IMPUTE;
        if (!r.st && !(p->task_reason = soma_strdup(
                           reason && soma_utf8_valid(reason) ? reason : "")))
            jnomem(&r);
        if (!r.st && jcolumns(&r, json_object_get(root, "columns"), p) &&
            jtargets(&r, root, p)) {
            if (!json_is_integer(inputs) ||
                json_integer_value(inputs) != (json_int_t)p->n_inputs)
                jbad(&r, "inputs does not match the columns");
            else if (p->n_inputs < 1)
                jbad(&r, "no input columns");
        }
    }
    json_decref(root);
    if (r.st) {
        soma_prep_free(p);
        return NULL;
    }
    return p;
}

soma_prep *soma_prep_clone(const soma_prep *p, soma_error *err)
{
    char *json = soma_prep_to_json(p, err);
    if (!json)
        return NULL;
    soma_prep *q = soma_prep_from_json(json, "(copy)", err);
    soma_free(json);
    return q;
}
