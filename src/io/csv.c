/*
 * csv.c - the CSV reader: RFC 4180 text in, a soma_dataset out.
 *
 * One pass over the text tokenizes a record at a time into a reused field
 * index (offsets into the caller's buffer, nothing copied) and converts its
 * fields at once. Memory is therefore the data set itself plus the distinct
 * target labels, never a second copy of the text.
 *
 * Numbers go through strtod, which follows the LC_NUMERIC locale. The
 * library assumes the "C" locale there: a program that switches LC_NUMERIC
 * to a locale with a decimal comma would see "1.5" rejected. setlocale is
 * process-wide, so the library never calls it.
 *
 * Whitespace: spaces and tabs around an unquoted field, and around the
 * quotes of a quoted one, are not part of the field. Inside quotes the text
 * is kept as written, except that numbers and target labels are always
 * trimmed of surrounding spaces and tabs.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bounds the label table, and so the memory one hostile target column can
 * claim; also the most classes a data set may have. */
#define CSV_MAX_CLASSES 65536
/* SOMA_TARGET_AUTO: whole-number targets (of magnitude at most 2^24) with at
 * most this many distinct values are classes. */
#define CSV_AUTO_MAX_CLASSES 32
/* Bytes of a bad field shown in a message. */
#define CSV_SHOW_MAX 40
#define CSV_NO_LABEL UINT32_MAX

typedef struct csv_field {
    size_t start, end;      /* [start, end) in the data, quotes excluded */
    unsigned char quoted;
    unsigned char escaped;  /* holds "" pairs to undouble */
} csv_field;

typedef struct csv_parser {
    const char *data;
    size_t size, pos;
    size_t line;            /* line number of data[pos], 1-based */
    const char *name;
    soma_error *err;
    csv_field *fields;      /* the current record */
    size_t fields_cap;
    char *buf;              /* one decoded field, NUL-terminated */
    size_t buf_cap;
} csv_parser;

/* One distinct target label. */
typedef struct csv_label {
    size_t off, len;        /* text in the pool, NUL-terminated there */
    uint64_t hash;
    double value;           /* when numeric */
    int numeric;            /* parses as a finite number */
} csv_label;

/* Distinct labels with an open-addressing index over them. */
typedef struct csv_labels {
    csv_label *items;
    size_t n, cap;
    size_t n_text;          /* items that are not numbers */
    char *pool;
    size_t pool_len, pool_cap;
    int32_t *slots;         /* item index or -1; n_slots is a power of two */
    size_t n_slots;
} csv_labels;

/* A model class that is a number, for matching "1.0" to class "1". */
typedef struct csv_num_class {
    double value;
    int cls;
} csv_num_class;

typedef enum csv_mode {
    CSV_MODE_NONE,          /* no target column */
    CSV_MODE_VALUE,
    CSV_MODE_CLASSES,
    CSV_MODE_AUTO,
    CSV_MODE_MODEL          /* mapped onto the caller's class list */
} csv_mode;

typedef struct csv_state {
    csv_parser p;
    const soma_csv_options *opt;
    char **names;           /* [n_cols] header names */
    size_t n_cols;
    int target;             /* column, or -1 */
    unsigned char *ignored; /* [n_cols] */
    int *feat_col;          /* [nf] column of each feature */
    int nf;
    csv_mode mode;
    csv_labels labels;
    int labels_full;        /* AUTO saw more than CSV_MAX_CLASSES numbers */
    csv_num_class *num_classes;
    size_t n_num_classes;
    uint32_t *ids;          /* [rows_cap] label of each row (AUTO, CLASSES) */
    size_t rows_cap;
    soma_dataset *ds;
} csv_state;

/* Bytes that end or break an unquoted field. */
static const unsigned char csv_special[256] = {
    [0] = 1, ['\n'] = 1, ['\r'] = 1, [','] = 1, ['"'] = 1,
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static soma_status no_memory(const csv_parser *p)
{
    return soma_fail(p->err, SOMA_ERR_NOMEM, "%s: out of memory", p->name);
}

/* ---- tokenizer ---------------------------------------------------------- */

/* Consumes the line end at p->pos: LF, CRLF or a lone CR. */
static void eat_newline(csv_parser *p)
{
    if (p->data[p->pos] == '\r' && p->pos + 1 < p->size &&
        p->data[p->pos + 1] == '\n')
        p->pos++;
    p->pos++;
    p->line++;
}

/* Skips lines holding nothing or only spaces and tabs; such a line can never
 * be a valid record (an empty number or label is an error), so skipping
 * whitespace-only lines too loses nothing. Returns 1 at the end of data. */
static int skip_blank_lines(csv_parser *p)
{
    for (;;) {
        size_t q = p->pos;
        while (q < p->size && is_blank(p->data[q]))
            q++;
        if (q == p->size) {
            p->pos = q;
            return 1;
        }
        if (p->data[q] != '\n' && p->data[q] != '\r')
            return 0;
        p->pos = q;
        eat_newline(p);
    }
}

static soma_status nul_byte(const csv_parser *p, size_t line)
{
    return soma_fail(p->err, SOMA_ERR_FORMAT, "%s: line %zu: NUL byte in the data",
                     p->name, line);
}

/* Reads the next record into p->fields (the first `limit` fields are stored,
 * all are counted in *n_out), growing the index when grow is set. *eof is
 * set instead when only blank lines are left. */
static soma_status next_record(csv_parser *p, size_t limit, int grow,
                               size_t *n_out, size_t *line_out, int *eof)
{
    const char *d = p->data;
    size_t n = 0;

    *eof = skip_blank_lines(p);
    if (*eof)
        return SOMA_OK;
    *line_out = p->line;
    for (;;) {
        csv_field f;
        size_t q = p->pos;
        while (q < p->size && is_blank(d[q]))
            q++;
        if (q < p->size && d[q] == '"') {
            size_t open_line = p->line;
            f.quoted = 1;
            f.escaped = 0;
            f.start = ++q;
            for (;;) {
                char c;
                if (q == p->size)
                    return soma_fail(p->err, SOMA_ERR_FORMAT,
                                     "%s: line %zu: unterminated quoted field",
                                     p->name, open_line);
                c = d[q];
                if (c == '"') {
                    if (q + 1 < p->size && d[q + 1] == '"') {
                        f.escaped = 1;
                        q += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\0')
                    return nul_byte(p, p->line);
                /* count line breaks the way eat_newline does: CRLF once */
                if (c == '\n' ||
                    (c == '\r' && !(q + 1 < p->size && d[q + 1] == '\n')))
                    p->line++;
                q++;
            }
            f.end = q++;
            while (q < p->size && is_blank(d[q]))
                q++;
            if (q < p->size && d[q] != ',' && d[q] != '\n' && d[q] != '\r') {
                if (d[q] == '\0')
                    return nul_byte(p, p->line);
                /* a stray quote pairs with a later one: point at both */
                if (open_line != p->line)
                    return soma_fail(p->err, SOMA_ERR_FORMAT,
                                     "%s: line %zu: text after a closing quote "
                                     "(of a quoted field opened on line %zu)",
                                     p->name, p->line, open_line);
                return soma_fail(p->err, SOMA_ERR_FORMAT,
                                 "%s: line %zu: text after a closing quote",
                                 p->name, p->line);
            }
        } else {
            f.quoted = f.escaped = 0;
            f.start = q;
            while (q < p->size && !csv_special[(unsigned char)d[q]])
                q++;
            if (q < p->size && d[q] == '"')
                return soma_fail(p->err, SOMA_ERR_FORMAT,
                                 "%s: line %zu: quote inside an unquoted field",
                                 p->name, p->line);
            if (q < p->size && d[q] == '\0')
                return nul_byte(p, p->line);
            f.end = q;
            while (f.end > f.start && is_blank(d[f.end - 1]))
                f.end--;
        }
        if (n < limit) {
            if (n == p->fields_cap) {
                size_t cap = p->fields_cap ? p->fields_cap * 2 : 16;
                csv_field *nf;
                if (!grow || cap > (size_t)INT_MAX)
                    return soma_fail(p->err, SOMA_ERR_FORMAT,
                                     "%s: line %zu: too many fields", p->name,
                                     *line_out);
                nf = soma_realloc_array(p->fields, cap, sizeof *nf);
                if (!nf)
                    return no_memory(p);
                p->fields = nf;
                p->fields_cap = cap;
            }
            p->fields[n] = f;
        }
        n++;
        p->pos = q;
        if (q == p->size)
            break;
        if (d[q] == ',') {
            p->pos++;
            continue;
        }
        eat_newline(p);
        break;
    }
    *n_out = n;
    return SOMA_OK;
}

/* The text of a field in p->buf, NUL-terminated, with "" pairs undoubled.
 * The pointer stays valid until the next call. */
static soma_status field_text(csv_parser *p, const csv_field *f, char **text,
                              size_t *len)
{
    size_t n = f->end - f->start;
    const char *src = p->data + f->start;
    if (n + 1 > p->buf_cap) {
        size_t cap = p->buf_cap ? p->buf_cap : 64;
        char *b;
        while (cap < n + 1)
            cap = cap > SIZE_MAX / 2 ? n + 1 : cap * 2;
        b = soma_alloc(cap);
        if (!b)
            return no_memory(p);
        soma_free(p->buf);
        p->buf = b;
        p->buf_cap = cap;
    }
    if (!f->escaped) {
        memcpy(p->buf, src, n);
    } else {
        size_t i, j = 0;
        for (i = 0; i < n; i++) {
            p->buf[j++] = src[i];
            if (src[i] == '"')
                i++; /* the tokenizer guarantees the pair */
        }
        n = j;
    }
    p->buf[n] = '\0';
    *text = p->buf;
    *len = n;
    return SOMA_OK;
}

/* Trims spaces and tabs in place. */
static void trim(char **text, size_t *len)
{
    char *s = *text;
    size_t n = *len;
    while (n && is_blank(*s)) {
        s++;
        n--;
    }
    while (n && is_blank(s[n - 1]))
        n--;
    s[n] = '\0';
    *text = s;
    *len = n;
}

enum { NUM_OK, NUM_NOT, NUM_NONFINITE, NUM_RANGE };

/* Parses a whole trimmed, NUL-terminated string as a finite double. */
static int parse_number(const char *s, double *v)
{
    char *end;
    /* strtod would skip a leading line break from a quoted field */
    if (*s == '\0' || isspace((unsigned char)*s))
        return NUM_NOT;
    *v = strtod(s, &end);
    if (end == s || *end != '\0')
        return NUM_NOT;
    if (!isfinite(*v))
        return NUM_NONFINITE;
    return NUM_OK;
}

/* Plain decimals go through soma_fast_decimal (table.c) first, which
 * gives the bits strtod would, without strtod's cost. */
static int fast_decimal(const char *s, size_t len, double *v)
{
    return soma_fast_decimal(s, len, '.', v, NULL);
}

/* Doubles at or beyond this round to infinity as floats: FLT_MAX plus half
 * its ulp (2^104), a tie that rounds to the even infinity. Anything below
 * rounds to a finite float, so "3.40282347e+38" (FLT_MAX printed to 9
 * digits, a little above it) is a float. */
#define FLOAT_LIMIT ((double)FLT_MAX + 0x1p103)

/* Like parse_number, but the value must also fit in a float. */
static int parse_float(const char *s, double *v)
{
    int r = parse_number(s, v);
    if (r == NUM_OK && fabs(*v) >= FLOAT_LIMIT)
        return NUM_RANGE;
    return r;
}

/* parse_float with the fast path first; len is strlen(s). */
static int parse_float_len(const char *s, size_t len, double *v)
{
    if (fast_decimal(s, len, v))
        return NUM_OK; /* |v| < 2^53 * 1e22 < FLT_MAX */
    return parse_float(s, v);
}

/* ---- messages ----------------------------------------------------------- */

/* "column 'name'", or "column 3" for an unnamed one (as --target 3 would
 * address it). */
static void column_desc(const csv_state *s, int col, char *out, size_t cap)
{
    const char *nm = s->names[col];
    if (nm[0])
        snprintf(out, cap, "column '%.80s'", nm);
    else
        snprintf(out, cap, "column %d", col);
}

/* How many bytes of text to show, cut at a UTF-8 character boundary. */
static int show_len(const char *text, size_t len)
{
    size_t n = len;
    if (n > CSV_SHOW_MAX) {
        n = CSV_SHOW_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    return (int)n;
}

/* The error for a field that failed parse_float with result r. */
static soma_status bad_number(const csv_state *s, size_t line, int col,
                              const char *text, size_t len, int r)
{
    char cd[128];
    const char *what = r == NUM_NONFINITE ? "is not a finite number"
                     : r == NUM_RANGE     ? "is out of the float range"
                                          : "is not a number";
    column_desc(s, col, cd, sizeof cd);
    return soma_fail(s->p.err, SOMA_ERR_DATA, "%s: line %zu, %s: '%.*s%s' %s",
                     s->p.name, line, cd, show_len(text, len), text,
                     len > (size_t)show_len(text, len) ? "..." : "", what);
}

/* The header names as "a, b, c", cut short with ", ..." to fit in cap
 * (at least 8) bytes. */
static void list_columns(const csv_state *s, char *out, size_t cap)
{
    size_t len = 0, i, room = cap - 6; /* 6: ", ..." and its NUL */
    out[0] = '\0';
    for (i = 0; i < s->n_cols; i++) {
        const char *nm = s->names[i][0] ? s->names[i] : "''";
        size_t n = strlen(nm);
        if (len + n + 2 >= room) {
            strcpy(out + len, i ? ", ..." : "...");
            return;
        }
        if (i) {
            memcpy(out + len, ", ", 2);
            len += 2;
        }
        memcpy(out + len, nm, n + 1);
        len += n;
    }
}

/* ---- columns ------------------------------------------------------------ */

/* A key made only of decimal digits, as a column index below n_cols; -1
 * otherwise. */
static int parse_index(const char *key, size_t n_cols)
{
    size_t v = 0;
    if (!*key)
        return -1;
    for (; *key; key++) {
        if (*key < '0' || *key > '9')
            return -1;
        v = v * 10 + (size_t)(*key - '0');
        if (v >= n_cols)
            return -1; /* more digits can only make it larger */
    }
    return (int)v;
}

/* The column called key, or, when allowed and no column has that name, the
 * column whose index key spells. Returns -1 for none, -2 for a name that
 * several columns share (the first two in *first, *second). */
static int find_column(const csv_state *s, const char *key, int allow_index,
                       int *first, int *second)
{
    int found = -1;
    size_t i;
    for (i = 0; i < s->n_cols; i++) {
        if (strcmp(s->names[i], key) != 0)
            continue;
        if (found >= 0) {
            *first = found;
            *second = (int)i;
            return -2;
        }
        found = (int)i;
    }
    if (found < 0 && allow_index)
        found = parse_index(key, s->n_cols);
    return found;
}

/* Resolves a target or ignore key (name or index); SOMA_ERR_ARG otherwise. */
static soma_status resolve_key(const csv_state *s, const char *key, int *col)
{
    int a = 0, b = 0;
    *col = find_column(s, key, 1, &a, &b);
    if (*col == -2)
        return soma_fail(s->p.err, SOMA_ERR_ARG,
                         "%s: column name '%.80s' is not unique (columns %d "
                         "and %d)",
                         s->p.name, key, a, b);
    if (*col < 0) {
        char list[SOMA_ERROR_MAX];
        list_columns(s, list, sizeof list);
        return soma_fail(s->p.err, SOMA_ERR_ARG,
                         "%s: no column '%.80s' (columns: %s)", s->p.name, key,
                         list);
    }
    return SOMA_OK;
}

static soma_status select_columns(csv_state *s)
{
    const soma_csv_options *opt = s->opt;
    soma_status st;
    char cd[128];
    int i;

    s->target = -1;
    if (opt->target) {
        st = resolve_key(s, opt->target, &s->target);
        if (st)
            return st;
    }
    s->ignored = soma_alloc_zero(s->n_cols, 1);
    if (!s->ignored)
        return no_memory(&s->p);
    for (i = 0; i < opt->n_ignore; i++) {
        int col;
        st = resolve_key(s, opt->ignore[i], &col);
        if (st)
            return st;
        if (col == s->target) {
            column_desc(s, col, cd, sizeof cd);
            return soma_fail(s->p.err, SOMA_ERR_ARG,
                             "%s: cannot ignore the target, %s", s->p.name, cd);
        }
        s->ignored[col] = 1;
    }

    if (opt->features) {
        s->feat_col = soma_alloc_array((size_t)opt->n_features,
                                       sizeof *s->feat_col);
        if (!s->feat_col)
            return no_memory(&s->p);
        for (i = 0; i < opt->n_features; i++) {
            int a = 0, b = 0;
            int col = find_column(s, opt->features[i], 0, &a, &b);
            if (col == -2)
                return soma_fail(s->p.err, SOMA_ERR_DATA,
                                 "%s: column name '%.80s', which the model "
                                 "needs, is not unique (columns %d and %d)",
                                 s->p.name, opt->features[i], a, b);
            if (col < 0)
                return soma_fail(s->p.err, SOMA_ERR_DATA,
                                 "%s: no column '%.80s', which the model needs",
                                 s->p.name, opt->features[i]);
            if (col == s->target || s->ignored[col]) {
                column_desc(s, col, cd, sizeof cd);
                return soma_fail(s->p.err, SOMA_ERR_ARG,
                                 "%s: %s is a feature and also %s", s->p.name,
                                 cd, col == s->target ? "the target" : "ignored");
            }
            s->feat_col[i] = col;
        }
        s->nf = opt->n_features;
    } else {
        size_t c;
        s->feat_col = soma_alloc_array(s->n_cols, sizeof *s->feat_col);
        if (!s->feat_col)
            return no_memory(&s->p);
        for (c = 0; c < s->n_cols; c++)
            if ((int)c != s->target && !s->ignored[c])
                s->feat_col[s->nf++] = (int)c;
    }
    if (s->nf == 0)
        return soma_fail(s->p.err, SOMA_ERR_DATA,
                         "%s: no feature columns (the header has %zu column%s)",
                         s->p.name, s->n_cols, s->n_cols == 1 ? "" : "s");
    return SOMA_OK;
}

static soma_status read_header(csv_state *s)
{
    csv_parser *p = &s->p;
    size_t n, line, i;
    int eof;
    soma_status st = next_record(p, SIZE_MAX, 1, &n, &line, &eof);
    if (st)
        return st;
    if (eof)
        return soma_fail(p->err, SOMA_ERR_DATA,
                         "%s: no header row (the file is empty)", p->name);
    s->names = soma_alloc_zero(n, sizeof *s->names);
    if (!s->names)
        return no_memory(p);
    s->n_cols = n;
    for (i = 0; i < n; i++) {
        char *text;
        size_t len;
        st = field_text(p, &p->fields[i], &text, &len);
        if (st)
            return st;
        s->names[i] = soma_strdup(text);
        if (!s->names[i])
            return no_memory(p);
    }
    return SOMA_OK;
}

/* ---- labels ------------------------------------------------------------- */

/* The slot holding text, or the empty slot where it would go. */
static size_t label_slot(const csv_labels *t, const char *text, size_t len,
                         uint64_t h)
{
    size_t mask = t->n_slots - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        const csv_label *l;
        if (t->slots[i] < 0)
            return i;
        l = &t->items[t->slots[i]];
        if (l->hash == h && l->len == len &&
            memcmp(t->pool + l->off, text, len) == 0)
            return i;
    }
}

/* Index of text in the table, or -1. */
static int label_find(const csv_labels *t, const char *text, size_t len)
{
    size_t i;
    if (!t->n_slots)
        return -1;
    i = label_slot(t, text, len, soma_hash_bytes(text, len));
    return t->slots[i];
}

/* Adds text, known to be absent, and returns its index (-1: no memory). */
static int label_add(csv_labels *t, const char *text, size_t len)
{
    uint64_t h = soma_hash_bytes(text, len);
    csv_label *l;
    size_t need;
    double v;

    if ((t->n + 1) * 2 > t->n_slots) {
        size_t ns = t->n_slots ? t->n_slots * 2 : 64, i;
        int32_t *slots = soma_alloc_array(ns, sizeof *slots);
        int32_t *old = t->slots;
        if (!slots)
            return -1;
        for (i = 0; i < ns; i++)
            slots[i] = -1;
        t->slots = slots;
        t->n_slots = ns;
        for (i = 0; i < t->n; i++)
            slots[label_slot(t, t->pool + t->items[i].off, t->items[i].len,
                             t->items[i].hash)] = (int32_t)i;
        soma_free(old);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        csv_label *items = soma_realloc_array(t->items, cap, sizeof *items);
        if (!items)
            return -1;
        t->items = items;
        t->cap = cap;
    }
    if (!soma_size_add(t->pool_len, len + 1, &need))
        return -1;
    if (need > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 1024;
        char *pool;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        pool = soma_realloc_array(t->pool, cap, 1);
        if (!pool)
            return -1;
        t->pool = pool;
        t->pool_cap = cap;
    }
    l = &t->items[t->n];
    l->off = t->pool_len;
    l->len = len;
    l->hash = h;
    memcpy(t->pool + l->off, text, len + 1);
    t->pool_len = need;
    l->numeric = parse_number(text, &v) == NUM_OK;
    l->value = l->numeric ? v : 0.0;
    if (!l->numeric)
        t->n_text++;
    t->slots[label_slot(t, text, len, h)] = (int32_t)t->n;
    return (int)t->n++;
}

static void labels_free(csv_labels *t)
{
    soma_free(t->items);
    soma_free(t->pool);
    soma_free(t->slots);
}

static int cmp_num_class(const void *a, const void *b)
{
    const csv_num_class *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

/* Loads the caller's class list into the label table (index = class) and
 * its numeric members, sorted, into num_classes. */
static soma_status setup_model_classes(csv_state *s)
{
    const soma_csv_options *opt = s->opt;
    int i;
    s->num_classes = soma_alloc_array((size_t)opt->n_classes,
                                      sizeof *s->num_classes);
    if (!s->num_classes)
        return no_memory(&s->p);
    for (i = 0; i < opt->n_classes; i++) {
        const char *c = opt->classes[i];
        size_t len = strlen(c);
        int id;
        if (label_find(&s->labels, c, len) >= 0)
            return soma_fail(s->p.err, SOMA_ERR_ARG,
                             "%s: the class '%.80s' is listed twice", s->p.name, c);
        id = label_add(&s->labels, c, len);
        if (id < 0)
            return no_memory(&s->p);
        if (s->labels.items[id].numeric) {
            s->num_classes[s->n_num_classes].value = s->labels.items[id].value;
            s->num_classes[s->n_num_classes].cls = i;
            s->n_num_classes++;
        }
    }
    qsort(s->num_classes, s->n_num_classes, sizeof *s->num_classes, cmp_num_class);
    return SOMA_OK;
}

/* The first model class numerically equal to v, or -1. */
static int find_num_class(const csv_state *s, double v)
{
    size_t lo = 0, hi = s->n_num_classes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->num_classes[mid].value < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n_num_classes && s->num_classes[lo].value == v)
        return s->num_classes[lo].cls;
    return -1;
}

/* ---- rows --------------------------------------------------------------- */

static soma_status grow_rows(csv_state *s)
{
    soma_dataset *ds = s->ds;
    size_t cap, nx;
    float *x;
    size_t *line;

    if (s->rows_cap > SIZE_MAX / 4)
        return no_memory(&s->p);
    cap = s->rows_cap ? s->rows_cap * 2 : 256;
    /* Never more rows than the rest of the input can hold: every row takes
     * at least one byte per column (its separators and line end), so a
     * wide header cannot make a short file claim memory for rows that are
     * not there. */
    size_t n_cols = s->n_cols ? s->n_cols : 1;
    size_t possible = s->rows_cap + 1 + (s->p.size - s->p.pos) / n_cols;
    if (cap > possible)
        cap = possible;
    if (!soma_size_mul(cap, (size_t)s->nf, &nx))
        return no_memory(&s->p);
    /* each array is at least rows_cap long whichever of these fails */
    x = soma_realloc_array(ds->x, nx, sizeof *x);
    if (!x)
        return no_memory(&s->p);
    ds->x = x;
    line = soma_realloc_array(ds->line, cap, sizeof *line);
    if (!line)
        return no_memory(&s->p);
    ds->line = line;
    if (s->mode != CSV_MODE_NONE) {
        float *y = soma_realloc_array(ds->y, cap, sizeof *y);
        if (!y)
            return no_memory(&s->p);
        ds->y = y;
    }
    if (s->mode == CSV_MODE_AUTO || s->mode == CSV_MODE_CLASSES) {
        uint32_t *ids = soma_realloc_array(s->ids, cap, sizeof *ids);
        if (!ids)
            return no_memory(&s->p);
        s->ids = ids;
    }
    s->rows_cap = cap;
    return SOMA_OK;
}

/* "FILE: line L, column 'c': what", with "label 'text'" before what when
 * text is not NULL. Built only on failure: it is too slow for every row. */
static soma_status label_error(const csv_state *s, size_t line,
                               const char *what, const char *text, size_t len)
{
    char cd[128];
    column_desc(s, s->target, cd, sizeof cd);
    if (!text)
        return soma_fail(s->p.err, SOMA_ERR_DATA, "%s: line %zu, %s: %s",
                         s->p.name, line, cd, what);
    return soma_fail(s->p.err, SOMA_ERR_DATA,
                     "%s: line %zu, %s: label '%.*s%s' %s", s->p.name, line,
                     cd, show_len(text, len), text,
                     len > (size_t)show_len(text, len) ? "..." : "", what);
}

static soma_status read_target(csv_state *s, const csv_field *f, size_t line,
                               size_t row)
{
    char *text;
    size_t len;
    double v;
    int r, id;
    soma_status st = field_text(&s->p, f, &text, &len);
    if (st)
        return st;
    trim(&text, &len);

    if (s->mode == CSV_MODE_VALUE) {
        r = parse_float_len(text, len, &v);
        if (r != NUM_OK)
            return bad_number(s, line, s->target, text, len, r);
        s->ds->y[row] = (float)v;
        return SOMA_OK;
    }

    if (len == 0)
        return label_error(s, line, "empty label", NULL, 0);
    id = label_find(&s->labels, text, len);

    if (s->mode == CSV_MODE_MODEL) {
        if (id < 0 && parse_number(text, &v) == NUM_OK)
            id = find_num_class(s, v);
        if (id < 0)
            return label_error(s, line, "is not one of the model's classes",
                               text, len);
        s->ds->y[row] = (float)id;
        return SOMA_OK;
    }

    if (id < 0 && s->labels.n < CSV_MAX_CLASSES) {
        id = label_add(&s->labels, text, len);
        if (id < 0)
            return no_memory(&s->p);
    }
    if (id >= 0) {
        s->ids[row] = (uint32_t)id;
        return SOMA_OK;
    }
    /* The table is full. Only AUTO with numbers alone can go on: it will be
     * a value target, so keep the value and stop collecting labels. */
    r = parse_float_len(text, len, &v);
    if (s->mode == CSV_MODE_CLASSES || s->labels.n_text > 0 ||
        r == NUM_NOT || r == NUM_NONFINITE) {
        char what[64];
        snprintf(what, sizeof what, "more than %d distinct labels",
                 CSV_MAX_CLASSES);
        return label_error(s, line, what, NULL, 0);
    }
    if (r != NUM_OK)
        return bad_number(s, line, s->target, text, len, r);
    s->labels_full = 1;
    s->ids[row] = CSV_NO_LABEL;
    s->ds->y[row] = (float)v;
    return SOMA_OK;
}

static soma_status read_rows(csv_state *s)
{
    csv_parser *p = &s->p;
    soma_dataset *ds = s->ds;
    size_t row = 0;

    for (;;) {
        size_t n, line;
        int eof, j;
        float *xr;
        soma_status st = next_record(p, s->n_cols, 0, &n, &line, &eof);
        if (st)
            return st;
        if (eof)
            break;
        if (n != s->n_cols)
            return soma_fail(p->err, SOMA_ERR_FORMAT,
                             "%s: line %zu: %zu field%s, the header has %zu",
                             p->name, line, n, n == 1 ? "" : "s", s->n_cols);
        if (row == s->rows_cap) {
            st = grow_rows(s);
            if (st)
                return st;
        }
        ds->line[row] = line;
        xr = ds->x + row * (size_t)s->nf;
        for (j = 0; j < s->nf; j++) {
            int col = s->feat_col[j];
            char *text;
            size_t len;
            double v;
            int r;
            const csv_field *f = &p->fields[col];
            /* most fields need no copy: plain decimals parse in place */
            if (!f->quoted &&
                fast_decimal(p->data + f->start, f->end - f->start, &v)) {
                xr[j] = (float)v; /* |v| < 2^53 * 1e22 < FLT_MAX */
                continue;
            }
            st = field_text(p, f, &text, &len);
            if (st)
                return st;
            if (f->quoted)
                trim(&text, &len);
            r = parse_float_len(text, len, &v);
            if (r != NUM_OK)
                return bad_number(s, line, col, text, len, r);
            xr[j] = (float)v;
        }
        if (s->target >= 0) {
            st = read_target(s, &p->fields[s->target], line, row);
            if (st)
                return st;
        }
        ds->n_rows = ++row;
    }
    if (row == 0)
        return soma_fail(p->err, SOMA_ERR_DATA, "%s: no data rows", p->name);
    return SOMA_OK;
}

/* ---- the target's final form -------------------------------------------- */

typedef struct csv_key {
    double value;
    const char *text;
    uint32_t id;
} csv_key;

static int cmp_key_text(const void *a, const void *b)
{
    const csv_key *x = a, *y = b;
    return strcmp(x->text, y->text);
}

static int cmp_key_value(const void *a, const void *b)
{
    const csv_key *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp(x->text, y->text);
}

/* AUTO decided on values: every row's label becomes its number. */
static soma_status labels_to_values(csv_state *s)
{
    soma_dataset *ds = s->ds;
    size_t i;
    for (i = 0; i < ds->n_rows; i++) {
        const csv_label *l;
        if (s->ids[i] == CSV_NO_LABEL)
            continue;
        l = &s->labels.items[s->ids[i]];
        if (fabs(l->value) >= FLOAT_LIMIT)
            return bad_number(s, ds->line[i], s->target, s->labels.pool + l->off,
                              l->len, NUM_RANGE);
        ds->y[i] = (float)l->value;
    }
    return SOMA_OK;
}

/* Sorts the distinct labels into classes (numerically when all are numbers,
 * merging equal values such as "1" and "1.0"), or for AUTO decides the
 * target is a value. */
static soma_status finish_labels(csv_state *s)
{
    csv_labels *t = &s->labels;
    soma_dataset *ds = s->ds;
    csv_key *keys;
    uint32_t *rank;
    size_t i, k = 0;
    int numeric = t->n_text == 0, integers = 1;
    soma_status st = SOMA_OK;

    if (s->labels_full)
        return labels_to_values(s);
    keys = soma_alloc_array(t->n, sizeof *keys);
    rank = soma_alloc_array(t->n, sizeof *rank);
    if (!keys || !rank) {
        st = no_memory(&s->p);
        goto done;
    }
    for (i = 0; i < t->n; i++) {
        keys[i].value = t->items[i].value;
        keys[i].text = t->pool + t->items[i].off;
        keys[i].id = (uint32_t)i;
    }
    qsort(keys, t->n, sizeof *keys, numeric ? cmp_key_value : cmp_key_text);
    for (i = 0; i < t->n; i++) {
        if (i == 0 || !numeric || keys[i].value != keys[i - 1].value) {
            keys[k++] = keys[i]; /* k <= i: keys[i] is not needed again */
            /* class labels are small whole numbers: 3e38 is whole but a
             * measurement, not a label */
            if (numeric && (keys[i].value != floor(keys[i].value) ||
                            fabs(keys[i].value) > 16777216.0))
                integers = 0;
        }
        rank[keys[i].id] = (uint32_t)(k - 1);
    }
    if (s->mode == CSV_MODE_AUTO && numeric &&
        !(integers && k <= CSV_AUTO_MAX_CLASSES)) {
        st = labels_to_values(s);
        goto done;
    }
    ds->class_names = soma_alloc_zero(k, sizeof *ds->class_names);
    if (!ds->class_names) {
        st = no_memory(&s->p);
        goto done;
    }
    ds->n_classes = (int)k;
    for (i = 0; i < k; i++) {
        ds->class_names[i] = soma_strdup(keys[i].text);
        if (!ds->class_names[i]) {
            st = no_memory(&s->p);
            goto done;
        }
    }
    for (i = 0; i < ds->n_rows; i++)
        ds->y[i] = (float)rank[s->ids[i]];
done:
    soma_free(keys);
    soma_free(rank);
    return st;
}

static soma_status finish(csv_state *s)
{
    soma_dataset *ds = s->ds;
    int i;

    ds->feature_names = soma_alloc_zero((size_t)s->nf, sizeof *ds->feature_names);
    if (!ds->feature_names)
        return no_memory(&s->p);
    for (i = 0; i < s->nf; i++) {
        ds->feature_names[i] = soma_strdup(s->names[s->feat_col[i]]);
        if (!ds->feature_names[i])
            return no_memory(&s->p);
    }
    if (s->mode == CSV_MODE_NONE)
        return SOMA_OK;
    ds->target_name = soma_strdup(s->names[s->target]);
    if (!ds->target_name)
        return no_memory(&s->p);
    if (s->mode == CSV_MODE_MODEL) {
        ds->class_names = soma_alloc_zero((size_t)s->opt->n_classes,
                                          sizeof *ds->class_names);
        if (!ds->class_names)
            return no_memory(&s->p);
        ds->n_classes = s->opt->n_classes;
        for (i = 0; i < s->opt->n_classes; i++) {
            ds->class_names[i] = soma_strdup(s->opt->classes[i]);
            if (!ds->class_names[i])
                return no_memory(&s->p);
        }
        return SOMA_OK;
    }
    if (s->mode == CSV_MODE_CLASSES || s->mode == CSV_MODE_AUTO)
        return finish_labels(s);
    return SOMA_OK;
}

/* ---- entry points ------------------------------------------------------- */

static soma_status check_options(const soma_csv_options *opt, const char *name,
                                 soma_error *err)
{
    int i;
    if (opt->target_kind != SOMA_TARGET_AUTO &&
        opt->target_kind != SOMA_TARGET_CLASSES &&
        opt->target_kind != SOMA_TARGET_VALUE)
        return soma_fail(err, SOMA_ERR_ARG, "%s: unknown target kind %d", name,
                         (int)opt->target_kind);
    if (opt->n_ignore < 0 || (opt->n_ignore > 0 && !opt->ignore))
        return soma_fail(err, SOMA_ERR_ARG, "%s: bad ignore list", name);
    for (i = 0; i < opt->n_ignore; i++)
        if (!opt->ignore[i])
            return soma_fail(err, SOMA_ERR_ARG, "%s: ignore[%d] is NULL", name, i);
    if (opt->features) {
        if (opt->n_features <= 0)
            return soma_fail(err, SOMA_ERR_ARG, "%s: empty feature list", name);
        for (i = 0; i < opt->n_features; i++)
            if (!opt->features[i])
                return soma_fail(err, SOMA_ERR_ARG, "%s: features[%d] is NULL",
                                 name, i);
    }
    if (opt->n_classes < 0)
        return soma_fail(err, SOMA_ERR_ARG, "%s: negative class count", name);
    if (opt->classes && opt->n_classes > 0) {
        if (opt->n_classes > CSV_MAX_CLASSES)
            return soma_fail(err, SOMA_ERR_ARG, "%s: more than %d classes", name,
                             CSV_MAX_CLASSES);
        if (opt->target && opt->target_kind == SOMA_TARGET_VALUE)
            return soma_fail(err, SOMA_ERR_ARG,
                             "%s: a class list was given for a value target", name);
        for (i = 0; i < opt->n_classes; i++)
            if (!opt->classes[i])
                return soma_fail(err, SOMA_ERR_ARG, "%s: classes[%d] is NULL",
                                 name, i);
    }
    return SOMA_OK;
}

static soma_status parse_all(csv_state *s)
{
    const soma_csv_options *opt = s->opt;
    csv_parser *p = &s->p;
    soma_status st;

    if (p->size >= 3 && memcmp(p->data, "\xEF\xBB\xBF", 3) == 0)
        p->pos = 3;
    st = read_header(s);
    if (!st)
        st = select_columns(s);
    if (st)
        return st;
    if (s->target < 0)
        s->mode = CSV_MODE_NONE;
    else if (opt->classes && opt->n_classes > 0)
        s->mode = CSV_MODE_MODEL;
    else if (opt->target_kind == SOMA_TARGET_VALUE)
        s->mode = CSV_MODE_VALUE;
    else if (opt->target_kind == SOMA_TARGET_CLASSES)
        s->mode = CSV_MODE_CLASSES;
    else
        s->mode = CSV_MODE_AUTO;
    if (s->mode == CSV_MODE_MODEL) {
        st = setup_model_classes(s);
        if (st)
            return st;
    }
    s->ds = soma_alloc_zero(1, sizeof *s->ds);
    if (!s->ds)
        return no_memory(p);
    s->ds->n_features = s->nf;
    st = read_rows(s);
    if (!st)
        st = finish(s);
    return st;
}

soma_status soma_csv_parse(const char *data, size_t size, const char *name,
                           const soma_csv_options *opt, soma_dataset **out,
                           soma_error *err)
{
    static const soma_csv_options defaults; /* no target, AUTO */
    csv_state s;
    soma_status st;
    size_t i;

    soma_clear_error(err);
    if (!out)
        return soma_fail(err, SOMA_ERR_ARG, "soma_csv_parse: out is NULL");
    *out = NULL;
    if (!data && size)
        return soma_fail(err, SOMA_ERR_ARG, "soma_csv_parse: data is NULL");
    if (!opt)
        opt = &defaults;
    st = check_options(opt, name ? name : "csv", err);
    if (st)
        return st;

    memset(&s, 0, sizeof s);
    s.opt = opt;
    s.p.data = data ? data : "";
    s.p.size = size;
    s.p.line = 1;
    s.p.name = name ? name : "csv";
    s.p.err = err;
    st = parse_all(&s);
    if (!st) {
        *out = s.ds;
        s.ds = NULL;
    }
    soma_dataset_free(s.ds);
    for (i = 0; i < s.n_cols; i++)
        soma_free(s.names[i]);
    soma_free(s.names);
    soma_free(s.ignored);
    soma_free(s.feat_col);
    soma_free(s.num_classes);
    soma_free(s.ids);
    labels_free(&s.labels);
    soma_free(s.p.fields);
    soma_free(s.p.buf);
    return st;
}

/* Reads all of f. A regular file's size is only a hint: a pipe, or a file
 * that changes while read, still works. */
static soma_status read_all(FILE *f, const char *path, char **data, size_t *size,
                            soma_error *err)
{
    size_t cap = 65536, len = 0;
    char *buf;
    struct stat sb;

    if (fstat(fileno(f), &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return soma_fail(err, SOMA_ERR_IO, "%s: cannot read: %s", path,
                             strerror(EISDIR));
        /* + 1 so that the read that finds the end needs no growth */
        if (S_ISREG(sb.st_mode) && sb.st_size >= 0 &&
            (uintmax_t)sb.st_size < (uintmax_t)SIZE_MAX)
            cap = (size_t)sb.st_size + 1;
    }
    buf = soma_alloc(cap);
    if (!buf)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", path);
    for (;;) {
        size_t got;
        if (len == cap) {
            char *nb = cap <= SIZE_MAX / 2 ? soma_realloc_array(buf, cap * 2, 1)
                                           : NULL;
            if (!nb) {
                soma_free(buf);
                return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        errno = 0;
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                soma_free(buf);
                return soma_fail(err, SOMA_ERR_IO, "%s: cannot read: %s", path,
                                 e ? strerror(e) : "read error");
            }
            break;
        }
    }
    *data = buf;
    *size = len;
    return SOMA_OK;
}

soma_status soma_csv_read(const char *path, const soma_csv_options *opt,
                          soma_dataset **out, soma_error *err)
{
    FILE *f;
    char *data = NULL;
    size_t size = 0;
    soma_status st;

    soma_clear_error(err);
    if (out)
        *out = NULL;
    if (!path || !out)
        return soma_fail(err, SOMA_ERR_ARG, "soma_csv_read: %s is NULL",
                         path ? "out" : "path");
    f = fopen(path, "rb");
    if (!f)
        return soma_fail(err, SOMA_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    st = read_all(f, path, &data, &size, err);
    fclose(f);
    if (st)
        return st;
    st = soma_csv_parse(data, size, path, opt, out, err);
    soma_free(data);
    return st;
}

void soma_dataset_free(soma_dataset *ds)
{
    int i;
    if (!ds)
        return;
    if (ds->feature_names)
        for (i = 0; i < ds->n_features; i++)
            soma_free(ds->feature_names[i]);
    if (ds->class_names)
        for (i = 0; i < ds->n_classes; i++)
            soma_free(ds->class_names[i]);
    soma_free(ds->feature_names);
    soma_free(ds->class_names);
    soma_free(ds->x);
    soma_free(ds->y);
    soma_free(ds->target_name);
    soma_free(ds->line);
    soma_free(ds);
}
