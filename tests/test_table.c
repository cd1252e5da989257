/*
 * test_table.c - tables as people have them (io/table.c) and their
 * preprocessing (prep.c): separator and decimal sniffing, missing-value
 * tokens, gzip, records across the reader's buffer, column roles, the task
 * rule, imputation, one-hot encoding, target scaling, the JSON form with
 * its validation, and every error message.
 */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

static soma_table *parse(const char *text, const soma_table_options *opt)
{
    soma_error e;
    soma_table *t = NULL;
    if (soma_table_parse(text, strlen(text), "t.csv", opt, &t, &e) != SOMA_OK)
        printf("  parse failed: %s\n", e.message);
    return t;
}

static uint32_t cell(const soma_table *t, size_t r, int c)
{
    return t->cells[r * (size_t)t->n_cols + (size_t)c];
}

static int is_num(const soma_table *t, size_t r, int c, float v)
{
    uint32_t x = cell(t, r, c);
    return soma_cell_kind(x) == SOMA_CELL_NUMBER && soma_cell_number(x) == v;
}

static int is_missing(const soma_table *t, size_t r, int c)
{
    return soma_cell_kind(cell(t, r, c)) == SOMA_CELL_MISSING;
}

static int is_text(const soma_table *t, size_t r, int c, const char *s)
{
    char buf[32];
    uint32_t x = cell(t, r, c);
    return soma_cell_kind(x) == SOMA_CELL_TEXT &&
           strcmp(soma_table_cell_text(t, r, c, buf, sizeof buf), s) == 0;
}

static void test_sniff(void)
{
    soma_table *t = parse("a,b,c\n1,2,3\n4,5,6\n", NULL);
    CHECK(t && soma_table_sep(t) == ',' && soma_table_n_cols(t) == 3);
    CHECK(t && soma_table_decimal(t) == '.' && soma_table_n_rows(t) == 2);
    soma_table_free(t);
    /* a European export: semicolons and decimal commas */
    t = parse("a;b;c\n1,5;2;3,25\n-4,0;5;6\n", NULL);
    CHECK(t && soma_table_sep(t) == ';' && soma_table_decimal(t) == ',');
    CHECK(t && is_num(t, 0, 0, 1.5f) && is_num(t, 0, 2, 3.25f) &&
          is_num(t, 1, 0, -4.0f));
    soma_table_free(t);
    /* quoted, with a byte-order mark and CRLF, as spreadsheets write them */
    t = parse("\xef\xbb\xbf\"x\";\"y\"\r\n\"1,5\";\"a\"\r\n\"2,25\";\"b\"\r\n", NULL);
    CHECK(t && soma_table_sep(t) == ';' && soma_table_decimal(t) == ',');
    CHECK(t && is_num(t, 0, 0, 1.5f) && is_num(t, 1, 0, 2.25f) &&
          strcmp(soma_table_col_name(t, 0), "x") == 0);
    soma_table_free(t);
    /* semicolons with points stay points */
    t = parse("a;b\n1.5;2\n3;4.25\n", NULL);
    CHECK(t && soma_table_sep(t) == ';' && soma_table_decimal(t) == '.');
    CHECK(t && is_num(t, 1, 1, 4.25f));
    soma_table_free(t);
    t = parse("a\tb\tc\n1\t2\tx y\n", NULL);
    CHECK(t && soma_table_sep(t) == '\t' && is_text(t, 0, 2, "x y"));
    soma_table_free(t);
    /* a line of tabs in a tab-separated file is a row of empty cells */
    t = parse("a\tb\n1\t2\n\t\n3\t4\n", NULL);
    CHECK(t && soma_table_n_rows(t) == 3 && is_missing(t, 1, 0) && is_missing(t, 1, 1));
    soma_table_free(t);
    t = parse("a|b\n1|2\n", NULL);
    CHECK(t && soma_table_sep(t) == '|' && is_num(t, 0, 1, 2.0f));
    soma_table_free(t);
    /* whitespace-aligned, leading and trailing blanks */
    t = parse("  a    b     c\n  1  2.5   x\n 10   20  30  \n", NULL);
    CHECK(t && soma_table_sep(t) == ' ' && soma_table_n_cols(t) == 3);
    CHECK(t && is_num(t, 0, 1, 2.5f) && is_text(t, 0, 2, "x") &&
          is_num(t, 1, 2, 30.0f));
    soma_table_free(t);
    /* commas inside quotes do not count */
    t = parse("name;v\n\"a, b\";1\n\"c, d\";2\n", NULL);
    CHECK(t && soma_table_sep(t) == ';' && is_text(t, 1, 0, "c, d"));
    soma_table_free(t);
    /* asked for */
    soma_table_options o;
    memset(&o, 0, sizeof o);
    o.sep = ';';
    t = parse("a,b;c\nx,y;3\n", &o);
    CHECK(t && soma_table_n_cols(t) == 2 && is_text(t, 0, 0, "x,y"));
    soma_table_free(t);
    o.sep = ';';
    o.decimal = ',';
    t = parse("a;b\n1,5;2\n", &o);
    CHECK(t && is_num(t, 0, 0, 1.5f));
    soma_table_free(t);
}

static void test_cells(void)
{
    /* every default missing-value token, quoted or not, and extra ones */
    soma_table *t = parse("a,b\nNA,1\nN/A,2\nNaN,3\nnan,4\nnull,5\nNULL,6\n?,7\n"
                          ",8\n\"NA\",9\n-,10\n1e3,11\n",
                          NULL);
    CHECK(t && soma_table_n_rows(t) == 11);
    for (size_t r = 0; t && r < 9; r++)
        CHECK(is_missing(t, r, 0));
    CHECK(t && is_text(t, 9, 0, "-") && is_num(t, 10, 0, 1000.0f));
    soma_table_free(t);
    const char *na[] = {"-", "missing"};
    soma_table_options o;
    memset(&o, 0, sizeof o);
    o.na_values = na;
    o.n_na_values = 2;
    t = parse("a,b\n-,1\nmissing,2\n3,x\n", &o);
    CHECK(t && is_missing(t, 0, 0) && is_missing(t, 1, 0) && is_num(t, 2, 0, 3));
    CHECK(t && is_text(t, 2, 1, "x"));
    soma_table_free(t);
    /* inf, huge numbers and hex are text, not numbers */
    t = parse("a\ninf\n1e300\n0x10\n-0\n", NULL);
    CHECK(t && is_text(t, 0, 0, "inf") && is_text(t, 1, 0, "1e300") &&
          is_text(t, 2, 0, "0x10") && is_num(t, 3, 0, 0.0f));
    soma_table_free(t);
    /* numbers are named by their shortest text */
    char buf[32];
    soma_format_number(0.1f, buf, sizeof buf);
    CHECK(strcmp(buf, "0.1") == 0);
    soma_format_number(191.0f, buf, sizeof buf);
    CHECK(strcmp(buf, "191") == 0);
    soma_format_number(100.0f, buf, sizeof buf);
    CHECK(strcmp(buf, "100") == 0); /* not %g's 1e+02 */
    soma_format_number(2.5e6f, buf, sizeof buf);
    CHECK(strcmp(buf, "2500000") == 0);
    soma_format_number(-0.0f, buf, sizeof buf);
    CHECK(strcmp(buf, "0") == 0);
    soma_format_number(1e-7f, buf, sizeof buf);
    CHECK(strcmp(buf, "1e-07") == 0);
    /* text columns keep their spelling */
    const char *keep[] = {"id"};
    memset(&o, 0, sizeof o);
    o.text_columns = keep;
    o.n_text_columns = 1;
    t = parse("id,v\n007,1\nNA,2\n", &o);
    CHECK(t && is_text(t, 0, 0, "007") && is_text(t, 1, 0, "NA") &&
          is_num(t, 0, 1, 1));
    soma_table_free(t);
}

/* Writes text to a file, gzipped when gz. */
static void write_file(const char *path, const char *text, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, text, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(text, 1, n, f);
        fclose(f);
    }
}

static int same_cells(const soma_table *a, const soma_table *b)
{
    if (!a || !b || a->n_rows != b->n_rows || a->n_cols != b->n_cols)
        return 0;
    for (size_t r = 0; r < a->n_rows; r++) {
        if (a->line[r] != b->line[r])
            return 0;
        for (int c = 0; c < a->n_cols; c++) {
            char x[32], y[32];
            if (strcmp(soma_table_cell_text(a, r, c, x, sizeof x),
                       soma_table_cell_text(b, r, c, y, sizeof y)) != 0 ||
                soma_cell_kind(cell(a, r, c)) != soma_cell_kind(cell(b, r, c)))
                return 0;
        }
    }
    return 1;
}

/* 2.5 MB of records with quoted line breaks, CRLF and blank lines, so
 * that records cross the reader's 1 MB buffer at every kind of place: the
 * file (plain and gzipped) reads as the buffer does. */
static void test_streaming(void)
{
    size_t cap = (5u << 20) / 2, n = 0;
    char *text = malloc(cap);
    n += (size_t)sprintf(text, "id,note,v\r\n");
    for (int i = 0; n < cap - 200; i++) {
        if (i % 3 == 0)
            n += (size_t)sprintf(text + n, "%d,\"line one\nline \"\"%d\"\"\",%d.%d\r\n",
                                 i, i, i, i % 10);
        else if (i % 7 == 0)
            n += (size_t)sprintf(text + n, "%d,NA,\r\n\r\n", i);
        else
            n += (size_t)sprintf(text + n, "%d,plain %d,%d\n", i, i % 5, -i);
    }
    char plain[] = "/tmp/soma_test_table_XXXXXX";
    int fd = mkstemp(plain);
    close(fd);
    char gz[64];
    snprintf(gz, sizeof gz, "%s.gz", plain);
    write_file(plain, text, n, 0);
    write_file(gz, text, n, 1);
    soma_error e;
    soma_table *a = NULL, *b = NULL, *c = NULL;
    CHECK_ERR(soma_table_parse(text, n, "buf", NULL, &a, &e), SOMA_OK, NULL, &e);
    CHECK_ERR(soma_table_read(plain, NULL, &b, &e), SOMA_OK, NULL, &e);
    CHECK_ERR(soma_table_read(gz, NULL, &c, &e), SOMA_OK, NULL, &e);
    CHECK(a && a->n_rows > 50000);
    CHECK(same_cells(a, b));
    CHECK(same_cells(a, c));
    CHECK(b && !soma_table_gzipped(b) && c && soma_table_gzipped(c));
    /* the line of a row after quoted line breaks */
    CHECK(a && a->line[1] == 4 && is_text(a, 0, 1, "line one\nline \"0\""));
    soma_table_free(a);
    soma_table_free(b);
    soma_table_free(c);
    /* a gzip file cut short */
    FILE *f = fopen(gz, "rb");
    char *z = malloc(n);
    size_t zn = fread(z, 1, n, f);
    fclose(f);
    write_file(gz, z, zn / 2, 0);
    CHECK_ERR(soma_table_read(gz, NULL, &c, &e), SOMA_ERR_FORMAT, "gzip data", &e);
    CHECK(c == NULL);
    free(z);
    unlink(plain);
    unlink(gz);
    free(text);
}

static void test_table_errors(void)
{
    soma_error e;
    soma_table *t = NULL;
    const char *s;
#define BAD(text, status, sub)                                                 \
    do {                                                                       \
        s = (text);                                                            \
        CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", NULL, &t, &e), status, \
                  sub, &e);                                                    \
        CHECK(t == NULL);                                                      \
    } while (0)
    BAD("", SOMA_ERR_DATA, "no header row");
    BAD("a,b\n", SOMA_ERR_DATA, "t.csv: no data rows");
    /* an empty name is pandas' "Unnamed: N" */
    s = ",a,\n1,2,3\n";
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", NULL, &t, &e), SOMA_OK, NULL,
              &e);
    CHECK(t && strcmp(soma_table_col_name(t, 0), "Unnamed: 0") == 0 &&
          strcmp(soma_table_col_name(t, 2), "Unnamed: 2") == 0);
    soma_table_free(t);
    t = NULL;
    BAD("a,b,a\n1,2,3\n", SOMA_ERR_DATA,
        "line 1: duplicate column name 'a' (columns 1 and 3)");
    BAD("a,b\n1,2\n3\n", SOMA_ERR_FORMAT, "line 3: 1 field, the header has 2");
    BAD("a,b\n1,\"2\n", SOMA_ERR_FORMAT, "line 2: unterminated quoted field");
    BAD("a,b\n1,\"2\"x\n", SOMA_ERR_FORMAT, "line 2: text after a closing quote");
    /* a quote inside an unquoted field is part of it, as in Python's csv */
    s = "name,h\nbob,6'2\"\n";
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", NULL, &t, &e), SOMA_OK, NULL,
              &e);
    CHECK(t && soma_table_n_cols(t) == 2 && is_text(t, 0, 1, "6'2\""));
    soma_table_free(t);
    t = NULL;
    CHECK_ERR(soma_table_parse("a,b\n1,\0", 7, "t.csv", NULL, &t, &e),
              SOMA_ERR_FORMAT, "NUL byte", &e);
    /* a one-column header and two-field rows: the separator is wrong */
    soma_table_options o;
    memset(&o, 0, sizeof o);
    o.sep = ';';
    s = "a,b\n1,2\n";
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_OK, NULL,
              &e);
    soma_table_free(t);
    o.sep = ',';
    s = "ab\n1,2\n";
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_ERR_FORMAT,
              "the header has one column with the separator ','", &e);
    o.sep = 'x';
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_ERR_ARG,
              "bad table option: the separator", &e);
    o.sep = 0;
    o.decimal = ';';
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_ERR_ARG,
              "bad table option: the decimal mark", &e);
    o.sep = ',';
    o.decimal = ',';
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_ERR_ARG,
              "bad table option: decimal commas", &e);
    memset(&o, 0, sizeof o);
    o.n_na_values = 1;
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_ERR_ARG,
              "bad table option: the list of missing-value tokens", &e);
    const char *na[] = {NULL};
    o.na_values = na;
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", &o, &t, &e), SOMA_ERR_ARG,
              "bad table option: na_values[0] is NULL", &e);
    CHECK_ERR(soma_table_parse(s, strlen(s), "t.csv", NULL, NULL, &e), SOMA_ERR_ARG,
              "soma_table_parse: NULL argument", &e);
    CHECK_ERR(soma_table_read(NULL, NULL, &t, &e), SOMA_ERR_ARG,
              "soma_table_read: NULL argument", &e);
    CHECK_ERR(soma_table_read("/nonexistent/x.csv", NULL, &t, &e), SOMA_ERR_IO,
              "/nonexistent/x.csv: cannot open", &e);
    CHECK_ERR(soma_table_read("/tmp", NULL, &t, &e), SOMA_ERR_IO,
              "Is a directory", &e);
#undef BAD
}

static soma_prep_options popts(const char *const *targets, int n)
{
    soma_prep_options o;
    memset(&o, 0, sizeof o);
    o.targets = targets;
    o.n_targets = n;
    return o;
}

static const soma_prep_column *col(const soma_prep *p, const char *name)
{
    for (int c = 0; c < p->n_columns; c++)
        if (strcmp(p->columns[c].name, name) == 0)
            return &p->columns[c];
    return NULL;
}

/* A table with one column of every kind. */
static char *kinds_table(void)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)sprintf(s, "name,height,colour,day,const,empty,y\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(s + n, "person %d,%s,%s,2024-01-%02d,7,,%s\n", i,
                             i % 10 == 3 ? "NA" : (i % 2 ? "1.5" : "2.5"),
                             i % 11 == 4 ? "" : (i % 3 ? "red" : "blue"),
                             i % 28 + 1, i % 2 ? "yes" : "no");
    return s;
}

static void test_roles(void)
{
    char *text = kinds_table();
    soma_table *t = parse(text, NULL);
    const char *y[] = {"y"};
    soma_prep_options o = popts(y, 1);
    soma_prep *p = NULL;
    soma_error e;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_OK, NULL, &e);
    if (!p) {
        soma_table_free(t);
        free(text);
        return;
    }
    CHECK(col(p, "name")->role == SOMA_ROLE_IGNORED &&
          strstr(col(p, "name")->reason, "identifier-like"));
    CHECK(col(p, "height")->role == SOMA_ROLE_NUMERIC);
    CHECK_NEAR(col(p, "height")->fill, (40 * 1.5 + 50 * 2.5) / 90.0, 1e-12);
    CHECK(col(p, "colour")->role == SOMA_ROLE_CATEGORICAL &&
          col(p, "colour")->n_categories == 2 &&
          strcmp(col(p, "colour")->categories[0], "blue") == 0 &&
          col(p, "colour")->missing_category);
    CHECK(col(p, "day")->role == SOMA_ROLE_IGNORED &&
          strstr(col(p, "day")->reason, "dates"));
    CHECK(col(p, "const")->role == SOMA_ROLE_IGNORED &&
          strstr(col(p, "const")->reason, "constant"));
    CHECK(col(p, "empty")->role == SOMA_ROLE_IGNORED &&
          strstr(col(p, "empty")->reason, "no values"));
    CHECK(p->task == SOMA_TASK_CLASSIFY && p->n_classes == 2 &&
          strcmp(p->classes[0], "no") == 0);
    CHECK(p->n_inputs == 1 + 3);

    soma_dataset *ds = NULL;
    soma_prep_report rep;
    CHECK_ERR(soma_prep_apply(p, t, SOMA_PREP_TARGETS | SOMA_PREP_TRAINING, &ds,
                              &rep, &e),
              SOMA_OK, NULL, &e);
    if (ds) {
        /* row 3: height NA -> the mean; colour blue */
        const float *x = ds->x + 3 * 4;
        CHECK(x[0] == (float)col(p, "height")->fill);
        CHECK(x[1] == 1.0f && x[2] == 0.0f && x[3] == 0.0f);
        /* row 4: colour missing -> its own input */
        x = ds->x + 4 * 4;
        CHECK(x[1] == 0.0f && x[2] == 0.0f && x[3] == 1.0f);
        CHECK(ds->y[0] == 0.0f && ds->y[1] == 1.0f);
        CHECK(rep.imputed == 10 + 9 && rep.dropped_target == 0);
        CHECK(strcmp(ds->feature_names[1], "colour=blue") == 0 &&
              strcmp(ds->feature_names[3], "colour (missing)") == 0);
    }
    soma_dataset_free(ds);

    /* forced roles, --missing drop */
    const char *cat[] = {"height"}, *num[] = {"const"}, *ign[] = {"colour"};
    o.categorical = cat;
    o.n_categorical = 1;
    o.numeric = num;
    o.n_numeric = 1;
    o.ignore = ign;
    o.n_ignore = 1;
    o.missing = SOMA_MISSING_DROP;
    soma_prep *q = NULL;
    CHECK_ERR(soma_prep_fit(t, &o, &q, &e), SOMA_OK, NULL, &e);
    if (q) {
        CHECK(col(q, "height")->role == SOMA_ROLE_CATEGORICAL &&
              col(q, "height")->n_categories == 2 &&
              !col(q, "height")->missing_category);
        CHECK(col(q, "const")->role == SOMA_ROLE_NUMERIC);
        CHECK(col(q, "colour")->role == SOMA_ROLE_IGNORED);
        CHECK_ERR(soma_prep_apply(q, t, SOMA_PREP_TARGETS | SOMA_PREP_TRAINING,
                                  &ds, &rep, &e),
                  SOMA_OK, NULL, &e);
        CHECK(ds && ds->n_rows == 90 && rep.dropped_missing == 10);
        soma_dataset_free(ds);
        /* outside training a missing value is filled, not dropped */
        CHECK_ERR(soma_prep_apply(q, t, 0, &ds, &rep, &e), SOMA_OK, NULL, &e);
        CHECK(ds && ds->n_rows == 100 && ds->y == NULL);
        soma_dataset_free(ds);
    }
    soma_prep_free(q);
    soma_prep_free(p);
    soma_table_free(t);
    free(text);
}

static soma_prep *fit_text(const char *text, const char *target, soma_task task)
{
    soma_table *t = parse(text, NULL);
    const char *y[] = {target};
    soma_prep_options o = popts(y, 1);
    o.task = task;
    soma_prep *p = NULL;
    soma_error e;
    if (t && soma_prep_fit(t, &o, &p, &e) != SOMA_OK)
        printf("  fit failed: %s\n", e.message);
    soma_table_free(t);
    return p;
}

static void test_task(void)
{
    char buf[8192];
    size_t n;
    /* a weight written 191.0: measurements, not 13 classes */
    n = (size_t)sprintf(buf, "x,w\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(buf + n, "%d,%d.0\n", i, 150 + (i * 7) % 13);
    soma_prep *p = fit_text(buf, "w", SOMA_TASK_AUTO);
    CHECK(p && p->task == SOMA_TASK_REGRESS && strstr(p->task_reason, "fraction"));
    soma_prep_free(p);
    /* 3 whole values on 150 rows: classes */
    n = (size_t)sprintf(buf, "x,c\n");
    for (int i = 0; i < 150; i++)
        n += (size_t)sprintf(buf + n, "%d,%d\n", i, i % 3 + 1);
    p = fit_text(buf, "c", SOMA_TASK_AUTO);
    CHECK(p && p->task == SOMA_TASK_CLASSIFY && p->n_classes == 3 &&
          strcmp(p->classes[2], "3") == 0);
    soma_prep_free(p);
    /* 17 whole values on 20 rows (a body mass): regression */
    n = (size_t)sprintf(buf, "x,m\n");
    for (int i = 0; i < 20; i++)
        n += (size_t)sprintf(buf + n, "%d,%d\n", i, 3000 + 25 * (i % 17));
    p = fit_text(buf, "m", SOMA_TASK_AUTO);
    CHECK(p && p->task == SOMA_TASK_REGRESS);
    if (p) {
        double mean = 0;
        for (int i = 0; i < 20; i++)
            mean += 3000 + 25 * (i % 17);
        CHECK_NEAR(p->target_mean[0], mean / 20, 1e-9);
        float v[2] = {3000.0f, 3400.0f};
        soma_prep_scale(p, v, 2);
        CHECK_NEAR(v[0], (3000 - p->target_mean[0]) / p->target_std[0], 1e-5);
        soma_prep_unscale(p, v, 2);
        CHECK_NEAR(v[1], 3400.0, 1e-3);
    }
    soma_prep_free(p);
    /* pandas' index column, written by to_csv: row numbers, left out */
    n = (size_t)sprintf(buf, ",x,y\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(buf + n, "%d,%d,%d\n", i, (i * 7) % 11, i % 2);
    p = fit_text(buf, "y", SOMA_TASK_AUTO);
    CHECK(p && p->columns[0].role == SOMA_ROLE_IGNORED &&
          strstr(p->columns[0].reason, "row numbers") &&
          strcmp(p->columns[0].name, "Unnamed: 0") == 0 &&
          p->columns[1].role == SOMA_ROLE_NUMERIC);
    soma_prep_free(p);
    /* two values, even written 0.0 and 1.0: classes */
    p = fit_text("x,b\n1,0.0\n2,1.0\n3,1.0\n", "b", SOMA_TASK_AUTO);
    CHECK(p && p->task == SOMA_TASK_CLASSIFY && strcmp(p->classes[1], "1") == 0);
    soma_prep_free(p);
    /* as asked */
    p = fit_text("x,b\n1,0\n2,1\n3,1\n", "b", SOMA_TASK_REGRESS);
    CHECK(p && p->task == SOMA_TASK_REGRESS && strstr(p->task_reason, "as asked"));
    soma_prep_free(p);
}

static void test_unseen_and_shifted(void)
{
    soma_prep *p = fit_text("c,v,y\nred,1,0\nblue,2,1\nred,3,1\nblue,4,0\n", "y",
                            SOMA_TASK_AUTO);
    soma_table *t;
    soma_error e;
    if (!p)
        return;
    /* columns in another order, an unseen category, a label never seen */
    t = parse("y,v,extra,c\n0,5,a,green\n7,6,b,red\n", NULL);
    soma_dataset *ds = NULL;
    soma_prep_report rep;
    CHECK_ERR(soma_prep_apply(p, t, SOMA_PREP_TARGETS, &ds, &rep, &e), SOMA_OK,
              NULL, &e);
    CHECK(rep.unseen == 1 && rep.unseen_col == 0 && rep.unknown_class == 1);
    CHECK(ds && ds->x[0] == 0 && ds->x[1] == 0 && ds->x[2] == 5);
    CHECK(ds && ds->y[0] == 0.0f && ds->y[1] == -1.0f);
    soma_dataset_free(ds);
    soma_table_free(t);
    /* the categorical column holds numbers only: a shifted column */
    t = parse("c,v,y\n1,red,0\n2,blue,1\n", NULL);
    CHECK_ERR(soma_prep_apply(p, t, 0, &ds, &rep, &e), SOMA_ERR_DATA,
              "line 2, column 'v': 'red' is not a number", &e);
    soma_table_free(t);
    t = parse("c,v\n1,3\n2,4\n", NULL);
    CHECK_ERR(soma_prep_apply(p, t, 0, &ds, &rep, &e), SOMA_ERR_DATA,
              "column 'c' held text in training", &e);
    soma_table_free(t);
    t = parse("v,y\n1,0\n", NULL);
    CHECK_ERR(soma_prep_apply(p, t, 0, &ds, &rep, &e), SOMA_ERR_DATA,
              "t.csv: line 1: no column 'c', which the model needs", &e);
    soma_table_free(t);
    t = parse("c,v,y\nred,1,NA\n", NULL);
    CHECK_ERR(soma_prep_apply(p, t, SOMA_PREP_TARGETS, &ds, &rep, &e),
              SOMA_ERR_DATA, "no rows left (1 without a target", &e);
    soma_table_free(t);
    CHECK_ERR(soma_prep_apply(p, NULL, 0, &ds, &rep, &e), SOMA_ERR_ARG,
              "soma_prep_apply: NULL argument", &e);
    CHECK_ERR(soma_prep_apply_in_place(p, NULL, 0, &ds, &rep, &e), SOMA_ERR_ARG,
              "soma_prep_apply_in_place: NULL argument", &e);
    soma_prep_free(p);
}

static void test_in_place(void)
{
    char *text = kinds_table();
    soma_table *t = parse(text, NULL), *u = parse(text, NULL);
    const char *y[] = {"y"};
    soma_prep_options o = popts(y, 1);
    soma_prep *p = NULL;
    soma_error e;
    soma_dataset *a = NULL, *b = NULL;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_OK, NULL, &e);
    CHECK_ERR(soma_prep_apply(p, t, SOMA_PREP_TARGETS, &a, NULL, &e), SOMA_OK, NULL,
              &e);
    CHECK_ERR(soma_prep_apply_in_place(p, u, SOMA_PREP_TARGETS, &b, NULL, &e),
              SOMA_OK, NULL, &e);
    CHECK(a && b && a->n_rows == b->n_rows &&
          memcmp(a->x, b->x, a->n_rows * (size_t)a->n_features * 4) == 0 &&
          memcmp(a->y, b->y, a->n_rows * 4) == 0);
    CHECK(soma_table_n_rows(u) == 0);
    soma_dataset_free(a);
    soma_dataset_free(b);
    soma_prep_free(p);
    soma_table_free(t);
    soma_table_free(u);
    free(text);
}

static void test_fit_errors(void)
{
    soma_table *t = parse("a,b,c,y,z\n1,x,NA,0,1\n2,y,NA,1,2\n3,z,NA,0,3\n", NULL);
    soma_prep *p = NULL;
    soma_error e;
    const char *y[] = {"y"}, *yy[] = {"y", "y"}, *yz[] = {"y", "z"};
    const char *ry[] = {"Y"}, *nope[] = {"nope"}, *b[] = {"b"}, *a[] = {"a"};
    const char *c[] = {"c"};
    soma_prep_options o = popts(ry, 1);
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "target: no column 'Y' (did you mean 'y'?)", &e);
    o = popts(nope, 1);
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "no column 'nope' (columns: a, b, c, y, z)", &e);
    o = popts(yy, 2);
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG, "target 'y' is named twice",
              &e);
    o = popts(yz, 2);
    o.task = SOMA_TASK_CLASSIFY;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "several targets are trained as regression", &e);
    o = popts(c, 1);
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_DATA,
              "column 'c': the target is missing on every row", &e);
    o = popts(y, 1);
    o.ignore = y;
    o.n_ignore = 1;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "--ignore: 'y' is the target", &e);
    o = popts(y, 1);
    o.ignore = a;
    o.n_ignore = 1;
    o.numeric = a;
    o.n_numeric = 1;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "column 'a' is given two roles (ignored and numeric)", &e);
    o = popts(y, 1);
    o.numeric = b;
    o.n_numeric = 1;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_DATA,
              "line 2, column 'b': 'x' is not a number (the column is --numeric)",
              &e);
    o = popts(y, 1);
    o.categorical = a;
    o.n_categorical = 1;
    o.max_categories = 2;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_DATA,
              "column 'a' has more than 2 distinct values, too many to be "
              "categorical",
              &e);
    o = popts(y, 1);
    o.ignore = a;
    o.n_ignore = 1;
    o.categorical = b;
    o.n_categorical = 1;
    o.max_categories = 2;
    const char *more[] = {"a", "b", "z"};
    o.ignore = more;
    o.n_ignore = 3;
    o.categorical = NULL;
    o.n_categorical = 0;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_DATA,
              "no feature columns are left", &e);
    o = popts(yz, 2);
    o.task = SOMA_TASK_REGRESS;
    soma_table *u = parse("a,y,z\n1,0,x\n2,1,y\n", NULL);
    CHECK_ERR(soma_prep_fit(u, &o, &p, &e), SOMA_ERR_DATA,
              "line 2, column 'z': 'x' is not a number (a regression target", &e);
    soma_table_free(u);
    u = parse("a,y,z\n1,NA,1\n2,1,NA\n", NULL);
    CHECK_ERR(soma_prep_fit(u, &o, &p, &e), SOMA_ERR_DATA,
              "no row has a value for every target", &e);
    soma_table_free(u);
    /* missing values under --missing error */
    u = parse("a,y\n1,0\nNA,1\n3,0\n", NULL);
    o = popts(y, 1);
    o.missing = SOMA_MISSING_ERROR;
    CHECK_ERR(soma_prep_fit(u, &o, &p, &e), SOMA_OK, NULL, &e);
    soma_dataset *ds = NULL;
    CHECK_ERR(soma_prep_apply(p, u, SOMA_PREP_TARGETS, &ds, NULL, &e), SOMA_ERR_DATA,
              "line 3, column 'a': missing value (--missing error)", &e);
    soma_prep_free(p);
    soma_table_free(u);
    /* the text "1.5" and the number "1,5" are one category */
    soma_table_options dc;
    memset(&dc, 0, sizeof dc);
    dc.decimal = ',';
    dc.sep = ';';
    u = parse("a;y\n1.5;0\n1,5;1\nx;0\n", &dc);
    const char *cat_a[] = {"a"};
    o = popts(y, 1);
    o.categorical = cat_a;
    o.n_categorical = 1;
    CHECK_ERR(soma_prep_fit(u, &o, &p, &e), SOMA_OK, NULL, &e);
    CHECK(p && col(p, "a")->n_categories == 2);
    if (p) {
        char *j = soma_prep_to_json(p, &e);
        soma_prep *q = soma_prep_from_json(j, "m", &e);
        CHECK(q != NULL);
        soma_prep_free(q);
        soma_prep_json_free(j);
        soma_dataset *d2 = NULL;
        CHECK_ERR(soma_prep_apply(p, u, 0, &d2, NULL, &e), SOMA_OK, NULL, &e);
        CHECK(d2 && d2->x[0] == 1.0f && d2->x[2] == 1.0f && d2->x[5] == 1.0f);
        soma_dataset_free(d2);
    }
    soma_prep_free(p);
    soma_table_free(u);
    /* a Latin-1 category cannot be saved in a model */
    u = parse("a,c,y\n1,caf\xe9,0\n2,tea,1\n3,tea,0\n", NULL);
    o = popts(y, 1);
    CHECK_ERR(soma_prep_fit(u, &o, &p, &e), SOMA_ERR_DATA,
              "line 2, column 'c': the text is not valid UTF-8", &e);
    soma_table_free(u);
    /* options */
    o = popts(NULL, 0);
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "bad options: no target column", &e);
    o = popts(y, 1);
    o.n_ignore = 1;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG, "bad options: a column list",
              &e);
    o = popts(y, 1);
    o.task = (soma_task)7;
    CHECK_ERR(soma_prep_fit(t, &o, &p, &e), SOMA_ERR_ARG,
              "bad options: a value out of range", &e);
    CHECK_ERR(soma_prep_fit(NULL, &o, &p, &e), SOMA_ERR_ARG,
              "soma_prep_fit: NULL argument", &e);
    soma_table_free(t);
}

static void test_json(void)
{
    char *text = kinds_table();
    soma_prep *p = fit_text(text, "height", SOMA_TASK_AUTO);
    soma_error e;
    free(text);
    if (!p)
        return;
    CHECK(p->task == SOMA_TASK_CLASSIFY); /* 1.5 and 2.5: two values */
    char *j = soma_prep_to_json(p, &e);
    soma_prep *q = j ? soma_prep_from_json(j, "m", &e) : NULL;
    char *k = q ? soma_prep_to_json(q, &e) : NULL;
    CHECK(j && k && strcmp(j, k) == 0);
    soma_prep_json_free(k);
    soma_prep_free(q);
    CHECK(soma_prep_to_json(NULL, &e) == NULL &&
          strstr(e.message, "soma_prep_to_json: NULL argument"));
    CHECK(soma_prep_from_json(NULL, "m", &e) == NULL &&
          strstr(e.message, "soma_prep_from_json: NULL argument"));
    /* hostile or broken texts: each refused with its reason */
    static const struct {
        const char *from, *to, *want;
        soma_status status;
    } cases[] = {
        {"\"version\":1", "\"version\":2", "version 2 is not supported",
         SOMA_ERR_UNSUPPORTED},
        {"\"version\":1", "\"versio\":1", "soma.preprocess: no version",
         SOMA_ERR_FORMAT},
        {"\"sep\":\",\"", "\"sep\":\"x\"", "soma.preprocess: sep", SOMA_ERR_FORMAT},
        {"\"missing\":\"impute\"", "\"missing\":\"guess\"",
         "missing must be impute, drop or error", SOMA_ERR_FORMAT},
        {"\"role\":\"ignored\"", "\"role\":\"magic\"", "unknown role",
         SOMA_ERR_FORMAT},
        {"\"categories\":[\"blue\",\"red\"]", "\"categories\":[\"red\",\"blue\"]",
         "categories must be sorted and distinct", SOMA_ERR_FORMAT},
        {"\"missing_category\":true", "\"missing_category\":1",
         "missing_category must be true or false", SOMA_ERR_FORMAT},
        {"\"inputs\":5", "\"inputs\":6", "inputs does not match the columns",
         SOMA_ERR_FORMAT},
        {"\"task\":\"classify\"", "\"task\":\"cluster\"",
         "task must be 'classify' or 'regress'", SOMA_ERR_FORMAT},
        {"\"classes\":[\"1.5\",\"2.5\"]", "\"classes\":[\"1.5\",\"1.5\"]",
         "a class is listed twice", SOMA_ERR_FORMAT},
        {"\"targets\":[\"height\"]", "\"targets\":[\"colour\"]",
         "a target is not a column of role target", SOMA_ERR_FORMAT},
        {"\"targets\":[\"height\"]", "\"targets\":[]",
         "targets must name the target columns", SOMA_ERR_FORMAT},
        {"{\"version\"", "[{\"version\"", "not valid JSON", SOMA_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *at = strstr(j, cases[i].from);
        CHECK(at != NULL);
        if (!at)
            continue;
        size_t n = strlen(j) + 64;
        char *bad = malloc(n);
        snprintf(bad, n, "%.*s%s%s", (int)(at - j), j, cases[i].to,
                 at + strlen(cases[i].from));
        q = soma_prep_from_json(bad, "m", &e);
        if (q || e.code != cases[i].status || !strstr(e.message, cases[i].want))
            printf("  case %zu: %s\n", i, q ? "accepted" : e.message);
        CHECK(q == NULL && e.code == cases[i].status &&
              strstr(e.message, cases[i].want));
        soma_prep_free(q);
        free(bad);
    }
    soma_prep_json_free(j);

    /* with a net: the prep is saved and loaded with it */
    soma_layer_spec l = {2, SOMA_ACT_SOFTMAX, 1};
    soma_spec spec = {p->n_inputs, 1, &l, SOMA_LOSS_CE};
    soma_net *net = soma_net_new(&spec, &e);
    CHECK_ERR(soma_net_set_prep(net, p, &e), SOMA_OK, NULL, &e);
    char path[] = "/tmp/soma_test_prep_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_ERR(soma_net_save(net, path, &e), SOMA_OK, NULL, &e);
    soma_net *back = soma_net_load(path, &e);
    CHECK(back && soma_net_prep(back) &&
          soma_net_prep(back)->n_inputs == p->n_inputs &&
          soma_net_prep(back)->columns[2].n_categories == 2);
    /* the same file with a prep one input narrower (a category shorter by a
     * letter pays for "false", so the header keeps its length) */
    FILE *f = fopen(path, "rb");
    char *bytes = malloc(1 << 20);
    size_t nb = fread(bytes, 1, 1 << 20, f);
    fclose(f);
    static const char *const edits[][2] = {
        {"\\\"inputs\\\":5", "\\\"inputs\\\":4"},
        {"\\\"missing_category\\\":true", "\\\"missing_category\\\":false"},
        {"\\\"blue\\\"", "\\\"blu\\\""},
    };
    int edited = 0;
    for (int i = 0; i < 3; i++) {
        size_t lf = strlen(edits[i][0]), lt = strlen(edits[i][1]);
        for (size_t at = 0; at + lf <= nb; at++)
            if (memcmp(bytes + at, edits[i][0], lf) == 0) {
                memmove(bytes + at + lt, bytes + at + lf, nb - at - lf);
                memcpy(bytes + at, edits[i][1], lt);
                nb = nb + lt - lf;
                edited++;
                break;
            }
    }
    CHECK(edited == 3);
    soma_net *narrow = soma_net_load_buffer(bytes, nb, "m.safetensors", &e);
    CHECK(narrow == NULL && e.code == SOMA_ERR_FORMAT &&
          strstr(e.message, "soma.preprocess gives 4 inputs but the model has 5"));
    if (narrow == NULL && !strstr(e.message, "soma.preprocess gives"))
        printf("  %s\n", e.message);
    soma_net_free(narrow);
    /* the same file with other class labels than its prep's */
    f = fopen(path, "rb");
    nb = fread(bytes, 1, 1 << 20, f);
    fclose(f);
    static const char from[] = "\"soma.classes\":\"[\\\"1.5\\\",\\\"2.5\\\"]\"";
    int swapped = 0;
    for (size_t at = 0; at + sizeof from - 1 <= nb && !swapped; at++)
        if (memcmp(bytes + at, from, sizeof from - 1) == 0) {
            char *five = memchr(bytes + at + 20, '5', sizeof from - 21);
            five = five ? memchr(five + 1, '5', (size_t)(bytes + at + sizeof from - 1 - five - 1)) : NULL;
            if (five) {
                *five = '6'; /* "2.5" -> "2.6" */
                swapped = 1;
            }
        }
    CHECK(swapped);
    narrow = soma_net_load_buffer(bytes, nb, "m.safetensors", &e);
    CHECK(narrow == NULL && e.code == SOMA_ERR_FORMAT &&
          strstr(e.message, "soma.preprocess has class '2.5' where soma.classes "
                            "has '2.6'"));
    soma_net_free(narrow);
    free(bytes);
    soma_net *copy = back ? soma_net_clone(back, &e) : NULL;
    CHECK(copy && soma_net_prep(copy) && soma_net_prep(copy) != soma_net_prep(back));
    soma_net_free(copy);
    soma_net_free(back);
    unlink(path);
    soma_layer_spec l3 = {2, SOMA_ACT_SOFTMAX, 1};
    soma_spec spec3 = {p->n_inputs + 1, 1, &l3, SOMA_LOSS_CE};
    soma_net *wide = soma_net_new(&spec3, &e);
    CHECK_ERR(soma_net_set_prep(wide, p, &e), SOMA_ERR_ARG,
              "the preprocessing gives 5 inputs, the network takes 6", &e);
    CHECK_ERR(soma_net_set_prep(wide, NULL, &e), SOMA_OK, NULL, &e);
    soma_net_free(wide);
    soma_net_free(net);
    soma_prep_free(p);
}

int main(void)
{
    RUN(test_sniff);
    RUN(test_cells);
    RUN(test_streaming);
    RUN(test_table_errors);
    RUN(test_roles);
    RUN(test_task);
    RUN(test_unseen_and_shifted);
    RUN(test_in_place);
    RUN(test_fit_errors);
    RUN(test_json);
    return harness_summary();
}
