/*
 * test_csv.c - the CSV reader: RFC 4180 quoting, line ends, column
 * selection, target kinds, every error message, allocation failures and a
 * fuzz pass over truncated and mutated input.
 */
#include "harness.h"
#include "internal.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const no_names[1];

static soma_status parse(const char *text, const soma_csv_options *opt,
                         soma_dataset **ds, soma_error *e)
{
    return soma_csv_parse(text, strlen(text), "t.csv", opt, ds, e);
}

/* x[row, col] of a data set. */
static float X(const soma_dataset *ds, size_t row, int col)
{
    return ds->x[row * (size_t)ds->n_features + (size_t)col];
}

static soma_csv_options target_opts(const char *target, soma_target_kind kind)
{
    soma_csv_options o;
    memset(&o, 0, sizeof o);
    o.target = target;
    o.target_kind = kind;
    return o;
}

static void test_plain(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    CHECK(parse("a,b,c\n1,2,3\n4.5,-5e-1,6\n", NULL, &ds, &e) == SOMA_OK);
    CHECK(ds != NULL);
    if (!ds)
        return;
    CHECK(ds->n_rows == 2);
    CHECK(ds->n_features == 3);
    CHECK(strcmp(ds->feature_names[0], "a") == 0);
    CHECK(strcmp(ds->feature_names[2], "c") == 0);
    CHECK(X(ds, 0, 0) == 1.0f && X(ds, 0, 1) == 2.0f && X(ds, 0, 2) == 3.0f);
    CHECK(X(ds, 1, 0) == 4.5f && X(ds, 1, 1) == -0.5f && X(ds, 1, 2) == 6.0f);
    CHECK(ds->y == NULL);
    CHECK(ds->target_name == NULL);
    CHECK(ds->n_classes == 0 && ds->class_names == NULL);
    CHECK(ds->line[0] == 2 && ds->line[1] == 3);
    CHECK(e.code == SOMA_OK);
    soma_dataset_free(ds);
    soma_dataset_free(NULL);
}

static void test_quoting(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    soma_csv_options o = target_opts("label", SOMA_TARGET_CLASSES);
    const char *text =
        "id,\"label\",\"v, w\"\n"
        "1,\"a,b\",2\n"
        "2,\"multi\nline\r\nlabel\",\"3\"\n"
        "\"3\",\"say \"\"x\"\"\",  \" 4 \" \n"
        "4,plain,5\n";
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (!ds) {
        printf("  %s\n", e.message);
        return;
    }
    CHECK(ds->n_rows == 4);
    CHECK(ds->n_features == 2);
    CHECK(strcmp(ds->feature_names[1], "v, w") == 0);
    CHECK(strcmp(ds->target_name, "label") == 0);
    CHECK(X(ds, 1, 1) == 3.0f && X(ds, 2, 0) == 3.0f && X(ds, 2, 1) == 4.0f);
    /* the row after the three-line field starts on line 6 */
    CHECK(ds->line[0] == 2 && ds->line[1] == 3 && ds->line[2] == 6 &&
          ds->line[3] == 7);
    CHECK(ds->n_classes == 4);
    if (ds->n_classes == 4) {
        /* strcmp order */
        CHECK(strcmp(ds->class_names[0], "a,b") == 0);
        CHECK(strcmp(ds->class_names[1], "multi\nline\r\nlabel") == 0);
        CHECK(strcmp(ds->class_names[2], "plain") == 0);
        CHECK(strcmp(ds->class_names[3], "say \"x\"") == 0);
    }
    CHECK(ds->y[0] == 0.0f && ds->y[1] == 1.0f && ds->y[2] == 3.0f &&
          ds->y[3] == 2.0f);
    soma_dataset_free(ds);

    /* errors after multi-line fields name the file's line, not the row */
    CHECK_ERR(parse("a,b\n1,\"x\ny\"\n2,3\n", NULL, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 2, column 'b': 'x y' is not a number", &e);
    o = target_opts("b", SOMA_TARGET_CLASSES);
    CHECK_ERR(parse("a,b\n1,\"x\n\ny\"\n2,z\n3,\"\"\n", &o, &ds, &e),
              SOMA_ERR_DATA, "t.csv: line 6, column 'b': empty label", &e);
    CHECK_ERR(parse("a,b\n1,\"x\r\n\ry\"\n2,z\n3,\"\"\n", &o, &ds, &e),
              SOMA_ERR_DATA, "t.csv: line 6, column 'b': empty label", &e);
    CHECK_ERR(parse("a,b\n1,\"x\n\ny\"\n2,z\nq,w\n", &o, &ds, &e),
              SOMA_ERR_DATA, "t.csv: line 6, column 'a': 'q' is not a number", &e);
    CHECK(ds == NULL);
}

static void test_line_ends(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    /* CRLF, with a blank CRLF line and CRLF inside quotes */
    {
        soma_csv_options o = target_opts("b", SOMA_TARGET_CLASSES);
        CHECK(parse("a,b\r\n1,2\r\n\r\n3,\"x\r\ny\"\r\n5,6\r\n", &o, &ds, &e) ==
              SOMA_OK);
        if (ds) {
            CHECK(ds->n_rows == 3);
            CHECK(X(ds, 1, 0) == 3.0f && X(ds, 2, 0) == 5.0f);
            CHECK(ds->line[0] == 2 && ds->line[1] == 4 && ds->line[2] == 6);
            CHECK(ds->n_classes == 3 &&
                  strcmp(ds->class_names[2], "x\r\ny") == 0);
            soma_dataset_free(ds);
        }
    }
    /* lone CRs */
    CHECK(parse("a,b\r1,2\r3,4\r", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 2 && ds->line[1] == 3 && X(ds, 1, 1) == 4.0f);
        soma_dataset_free(ds);
    }
    /* no newline at the end, plain and quoted */
    CHECK(parse("a,b\n1,2\n3,4", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 2 && X(ds, 1, 1) == 4.0f);
        soma_dataset_free(ds);
    }
    CHECK(parse("a,b\n1,2\n3,\"4\"", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 2 && X(ds, 1, 1) == 4.0f);
        soma_dataset_free(ds);
    }
    /* a byte-order mark */
    CHECK(parse("\xEF\xBB\xBF" "a,b\n1,2\n", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->feature_names[0], "a") == 0);
        soma_dataset_free(ds);
    }
    /* blank and whitespace-only lines anywhere */
    CHECK(parse("\n\na,b\n\n1,2\n \t \n\n3,4\n\n", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 2);
        CHECK(ds->line[0] == 5 && ds->line[1] == 8);
        soma_dataset_free(ds);
    }
    /* spaces and tabs around fields and names */
    CHECK(parse(" a ,\tb\t\n 1 ,\t2\t\n", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->feature_names[0], "a") == 0);
        CHECK(strcmp(ds->feature_names[1], "b") == 0);
        CHECK(X(ds, 0, 0) == 1.0f && X(ds, 0, 1) == 2.0f);
        soma_dataset_free(ds);
    }
    /* quoted names keep their spaces */
    CHECK(parse("\" a \",b\n1,2\n", NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->feature_names[0], " a ") == 0);
        soma_dataset_free(ds);
    }
}

static void test_target_selection(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    soma_csv_options o = target_opts("b", SOMA_TARGET_VALUE);
    const char *text = "a,b,c\n1,2,3\n4,5,6\n";

    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_features == 2);
        CHECK(strcmp(ds->feature_names[0], "a") == 0);
        CHECK(strcmp(ds->feature_names[1], "c") == 0);
        CHECK(strcmp(ds->target_name, "b") == 0);
        CHECK(X(ds, 1, 0) == 4.0f && X(ds, 1, 1) == 6.0f);
        CHECK(ds->y[0] == 2.0f && ds->y[1] == 5.0f);
        CHECK(ds->n_classes == 0 && ds->class_names == NULL);
        soma_dataset_free(ds);
    }
    /* by index */
    o.target = "2";
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->target_name, "c") == 0);
        CHECK(ds->y[1] == 6.0f);
        soma_dataset_free(ds);
    }
    /* a name wins over an index */
    o.target = "0";
    CHECK(parse("x,0,y\n1,2,3\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->target_name, "0") == 0 && ds->y[0] == 2.0f);
        soma_dataset_free(ds);
    }
    o.target = "2";
    CHECK(parse("x,0,y\n1,2,3\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->target_name, "y") == 0 && ds->y[0] == 3.0f);
        soma_dataset_free(ds);
    }
    /* an unnamed column, reachable by index */
    o.target = "1";
    CHECK(parse("x,,y\n1,2,3\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(strcmp(ds->target_name, "") == 0 && ds->y[0] == 2.0f);
        soma_dataset_free(ds);
    }

    o.target = "foo";
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG,
              "t.csv: no column 'foo' (columns: a, b, c)", &e);
    o.target = "3";
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "no column '3'", &e);
    o.target = "-1";
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "no column '-1'", &e);
    o.target = "";
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "no column ''", &e);
    /* a duplicated name is only a problem when it selects */
    o.target = "a";
    CHECK_ERR(parse("a,b,a\n1,2,3\n", &o, &ds, &e), SOMA_ERR_ARG,
              "t.csv: column name 'a' is not unique", &e);
    o.target = "b";
    CHECK(parse("a,b,a\n1,2,3\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_features == 2 && X(ds, 0, 1) == 3.0f);
        soma_dataset_free(ds);
    }
    /* a long header is listed, cut short */
    {
        char big[4096];
        size_t len = 0;
        int i;
        for (i = 0; i < 200; i++)
            len += (size_t)snprintf(big + len, sizeof big - len, "%scolumn_%d",
                                    i ? "," : "", i);
        snprintf(big + len, sizeof big - len, "\n");
        o.target = "nope";
        CHECK_ERR(parse(big, &o, &ds, &e), SOMA_ERR_ARG,
                  "no column 'nope' (columns: column_0, column_1", &e);
        CHECK(strlen(e.message) < SOMA_ERROR_MAX);
    }
}

static void test_ignore(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    const char *ign[] = {"id", "3"};
    soma_csv_options o = target_opts("y", SOMA_TARGET_VALUE);
    const char *text = "id,a,y,note,b\n7,1,2,x,3\n8,4,5,z,6\n";

    o.ignore = ign;
    o.n_ignore = 2;
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_features == 2);
        CHECK(strcmp(ds->feature_names[0], "a") == 0);
        CHECK(strcmp(ds->feature_names[1], "b") == 0);
        CHECK(X(ds, 1, 0) == 4.0f && X(ds, 1, 1) == 6.0f && ds->y[1] == 5.0f);
        soma_dataset_free(ds);
    }
    /* without ignoring "note", its text is an error */
    o.n_ignore = 1;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 2, column 'note': 'x' is not a number", &e);
    {
        const char *bad[] = {"nope"};
        o.ignore = bad;
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG,
                  "t.csv: no column 'nope' (columns: id, a, y, note, b)", &e);
    }
    {
        const char *bad[] = {"note", "y"};
        o.ignore = bad;
        o.n_ignore = 2;
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG,
                  "cannot ignore the target, column 'y'", &e);
        bad[1] = "2";
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG,
                  "cannot ignore the target", &e);
    }
    /* everything ignored */
    {
        const char *all[] = {"id", "a", "note", "b"};
        o.ignore = all;
        o.n_ignore = 4;
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_DATA,
                  "t.csv: no feature columns", &e);
    }
    o = target_opts("a", SOMA_TARGET_AUTO);
    CHECK_ERR(parse("a\n1\n", &o, &ds, &e), SOMA_ERR_DATA, "no feature columns",
              &e);
    CHECK(ds == NULL);
}

static void test_features_by_name(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    const char *feat[] = {"c", "a"};
    soma_csv_options o = target_opts("b", SOMA_TARGET_VALUE);
    const char *text = "a,b,c,d\n1,2,3,junk\n4,5,6,junk\n";

    o.features = feat;
    o.n_features = 2;
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_features == 2);
        CHECK(strcmp(ds->feature_names[0], "c") == 0);
        CHECK(strcmp(ds->feature_names[1], "a") == 0);
        CHECK(X(ds, 0, 0) == 3.0f && X(ds, 0, 1) == 1.0f);
        CHECK(X(ds, 1, 0) == 6.0f && X(ds, 1, 1) == 4.0f);
        CHECK(ds->y[1] == 5.0f);
        soma_dataset_free(ds);
    }
    /* without a target (predict) */
    o.target = NULL;
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_features == 2 && ds->y == NULL && X(ds, 1, 1) == 4.0f);
        soma_dataset_free(ds);
    }
    {
        const char *missing[] = {"a", "petal_width"};
        o.features = missing;
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_DATA,
                  "t.csv: no column 'petal_width', which the model needs", &e);
    }
    {
        /* names, not indices */
        const char *idx[] = {"0"};
        o.features = idx;
        o.n_features = 1;
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_DATA,
                  "no column '0', which the model needs", &e);
    }
    {
        const char *both[] = {"a", "b"};
        o.features = both;
        o.n_features = 2;
        o.target = "b";
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG,
                  "column 'b' is a feature and also the target", &e);
    }
    {
        const char *dup[] = {"a"};
        o.features = dup;
        o.n_features = 1;
        CHECK_ERR(parse("a,b,a\n1,2,3\n", &o, &ds, &e), SOMA_ERR_DATA,
                  "'a', which the model needs, is not unique", &e);
    }
    CHECK(ds == NULL);
}

static void test_target_kinds(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    soma_csv_options o = target_opts("y", SOMA_TARGET_AUTO);

    /* text: classes in strcmp order */
    CHECK(parse("x,y\n1,b\n2,a\n3, c \n4,b\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 3);
        CHECK(strcmp(ds->class_names[0], "a") == 0);
        CHECK(strcmp(ds->class_names[2], "c") == 0);
        CHECK(ds->y[0] == 1.0f && ds->y[1] == 0.0f && ds->y[2] == 2.0f &&
              ds->y[3] == 1.0f);
        soma_dataset_free(ds);
    }
    /* few integers: classes in numeric order, "1.0" the same class as "1" */
    CHECK(parse("x,y\n1,10\n2,2\n3,1\n4,1.0\n5,-3\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 4);
        if (ds->n_classes == 4) {
            CHECK(strcmp(ds->class_names[0], "-3") == 0);
            CHECK(strcmp(ds->class_names[1], "1") == 0);
            CHECK(strcmp(ds->class_names[2], "2") == 0);
            CHECK(strcmp(ds->class_names[3], "10") == 0);
        }
        CHECK(ds->y[0] == 3.0f && ds->y[1] == 2.0f && ds->y[2] == 1.0f &&
              ds->y[3] == 1.0f && ds->y[4] == 0.0f);
        soma_dataset_free(ds);
    }
    /* a fraction: a value */
    CHECK(parse("x,y\n1,1\n2,2.5\n3,1\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 0 && ds->class_names == NULL);
        CHECK(ds->y[0] == 1.0f && ds->y[1] == 2.5f);
        soma_dataset_free(ds);
    }
    /* mixed text and numbers: classes in strcmp order */
    CHECK(parse("x,y\n1,10\n2,9\n3,a\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 3);
        CHECK(strcmp(ds->class_names[0], "10") == 0);
        CHECK(strcmp(ds->class_names[1], "9") == 0);
        CHECK(ds->y[0] == 0.0f && ds->y[1] == 1.0f && ds->y[2] == 2.0f);
        soma_dataset_free(ds);
    }
    /* 32 distinct integers are classes, 33 a value */
    {
        char text[2048];
        size_t len = (size_t)snprintf(text, sizeof text, "x,y\n");
        int i;
        for (i = 0; i < 32; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d\n", i,
                                    100 - i);
        CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
        if (ds) {
            CHECK(ds->n_classes == 32);
            CHECK(ds->y[0] == 31.0f);
            soma_dataset_free(ds);
        }
        snprintf(text + len, sizeof text - len, "32,50\n");
        CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
        if (ds) {
            CHECK(ds->n_classes == 0 && ds->y[0] == 100.0f && ds->y[32] == 50.0f);
            soma_dataset_free(ds);
        }
        /* forced classes: numeric order */
        o.target_kind = SOMA_TARGET_CLASSES;
        CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
        if (ds) {
            CHECK(ds->n_classes == 33);
            CHECK(strcmp(ds->class_names[0], "50") == 0);
            CHECK(strcmp(ds->class_names[32], "100") == 0);
            CHECK(ds->y[0] == 32.0f && ds->y[32] == 0.0f);
            soma_dataset_free(ds);
        }
    }
    /* forced classes of fractions, numeric order */
    o.target_kind = SOMA_TARGET_CLASSES;
    CHECK(parse("x,y\n1,0.5\n2,-1e1\n3,.25\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 3);
        CHECK(strcmp(ds->class_names[0], "-1e1") == 0);
        CHECK(strcmp(ds->class_names[1], ".25") == 0);
        CHECK(ds->y[0] == 2.0f && ds->y[1] == 0.0f && ds->y[2] == 1.0f);
        soma_dataset_free(ds);
    }
    /* one class is enough */
    CHECK(parse("x,y\n1,a\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 1 && ds->y[0] == 0.0f);
        soma_dataset_free(ds);
    }
    /* forced value */
    o.target_kind = SOMA_TARGET_VALUE;
    CHECK(parse("x,y\n1,1\n2,\" 2 \"\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 0 && ds->y[0] == 1.0f && ds->y[1] == 2.0f);
        soma_dataset_free(ds);
    }
    CHECK_ERR(parse("x,y\n1,1\n2,setosa\n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 3, column 'y': 'setosa' is not a number", &e);
    CHECK_ERR(parse("x,y\n1,1\n2,inf\n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 3, column 'y': 'inf' is not a finite number", &e);
    CHECK_ERR(parse("x,y\n1,1\n2,\n", &o, &ds, &e), SOMA_ERR_DATA,
              "line 3, column 'y': '' is not a number", &e);
    /* empty labels */
    o.target_kind = SOMA_TARGET_CLASSES;
    CHECK_ERR(parse("x,y\n1,a\n2, \n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 3, column 'y': empty label", &e);
    o.target_kind = SOMA_TARGET_AUTO;
    CHECK_ERR(parse("x,y\n1,a\n2,\"\"\n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 3, column 'y': empty label", &e);
    /* an AUTO value that does not fit a float is an error once it is a value */
    CHECK_ERR(parse("x,y\n1,0.5\n2,1e300\n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 3, column 'y': '1e300' is out of the float range", &e);
    /* a whole number beyond 2^24 is a measurement, not a class label, so
     * even next to 0 it makes the column a value */
    CHECK_ERR(parse("x,y\n1,0\n2,1e300\n", &o, &ds, &e), SOMA_ERR_DATA,
              "'1e300' is out of the float range", &e);
    /* ... but fine as a class when classes are asked for */
    o.target_kind = SOMA_TARGET_CLASSES;
    CHECK(parse("x,y\n1,0\n2,1e300\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 2 && ds->y[1] == 1.0f);
        soma_dataset_free(ds);
    }
}

/* n rows whose target is the row number, text when prefix is not NULL. */
static char *many_labels(size_t n, const char *prefix)
{
    size_t cap = n * 40 + 16, len = 0, i;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    len += (size_t)snprintf(text, cap, "x,y\n");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%zu,%s%zu\n", i % 7,
                                prefix ? prefix : "", i);
    return text;
}

static void test_many_labels(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    soma_csv_options o = target_opts("y", SOMA_TARGET_AUTO);
    char *text = many_labels(70000, NULL);
    if (!text) {
        CHECK(!"malloc");
        return;
    }
    /* more numbers than the label table holds: AUTO makes them values */
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 70000 && ds->n_classes == 0);
        CHECK(ds->y[0] == 0.0f && ds->y[69999] == 69999.0f);
        CHECK(X(ds, 69999, 0) == 69999.0f - 7.0f * 9999.0f);
        CHECK(ds->line[69999] == 70001);
        soma_dataset_free(ds);
    }
    o.target_kind = SOMA_TARGET_CLASSES;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 65538, column 'y': more than 65536 distinct labels", &e);
    free(text);

    text = many_labels(70000, "c");
    if (!text)
        return;
    o.target_kind = SOMA_TARGET_AUTO;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_DATA,
              "line 65538, column 'y': more than 65536 distinct labels", &e);
    free(text);
    /* exactly 65536 distinct classes is allowed */
    text = many_labels(65536, "c");
    if (!text)
        return;
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 65536);
        soma_dataset_free(ds);
    }
    free(text);
}

static void test_model_classes(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    const char *cls[] = {"virginica", "setosa", "versicolor"};
    soma_csv_options o = target_opts("species", SOMA_TARGET_AUTO);
    const char *text = "a,species\n1,setosa\n2,virginica\n3, versicolor\n";

    o.classes = cls;
    o.n_classes = 3;
    CHECK(parse(text, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 3);
        /* the model's order, not sorted */
        CHECK(strcmp(ds->class_names[0], "virginica") == 0);
        CHECK(strcmp(ds->class_names[2], "versicolor") == 0);
        CHECK(ds->y[0] == 1.0f && ds->y[1] == 0.0f && ds->y[2] == 2.0f);
        soma_dataset_free(ds);
    }
    o.target_kind = SOMA_TARGET_CLASSES;
    CHECK_ERR(parse("a,species\n1,setosa\n\n2,foo\n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 4, column 'species': label 'foo' is not one of the "
              "model's classes", &e);
    CHECK_ERR(parse("a,species\n1,setosa\n2,\n", &o, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 3, column 'species': empty label", &e);
    {
        /* numeric labels match as text or by value */
        const char *num[] = {"0", "1", "2.5"};
        o.classes = num;
        CHECK(parse("a,species\n1,1.0\n2,0\n3,2.50\n4,1e0\n5,-0\n", &o, &ds, &e) ==
              SOMA_OK);
        if (ds) {
            CHECK(ds->y[0] == 1.0f && ds->y[1] == 0.0f && ds->y[2] == 2.0f &&
                  ds->y[3] == 1.0f && ds->y[4] == 0.0f);
            soma_dataset_free(ds);
        }
        CHECK_ERR(parse("a,species\n1,3\n", &o, &ds, &e), SOMA_ERR_DATA,
                  "label '3' is not one of the model's classes", &e);
    }
    {
        const char *dup[] = {"a", "b", "a"};
        o.classes = dup;
        CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "listed twice", &e);
    }
    o.classes = cls;
    o.target_kind = SOMA_TARGET_VALUE;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG,
              "class list was given for a value target", &e);
    /* classes without a target are not used */
    o.target = NULL;
    o.target_kind = SOMA_TARGET_AUTO;
    CHECK(parse("a,b\n1,2\n", &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->y == NULL && ds->n_classes == 0);
        soma_dataset_free(ds);
    }
}

static void test_format_errors(void)
{
    soma_error e;
    soma_dataset *ds = NULL;

    CHECK_ERR(parse("a,b\n1,2\n3,4\"5\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 3: quote inside an unquoted field", &e);
    CHECK_ERR(parse("a,b\n1,2\n3,\"4\"5\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 3: text after a closing quote", &e);
    CHECK_ERR(parse("a,b\n1,2\n3,\"4\" \"5\"\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 3: text after a closing quote", &e);
    CHECK_ERR(parse("a,b\n1,\"2\n3,4\n5,\"6\"\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 4: text after a closing quote (of a quoted field "
              "opened on line 2)", &e);
    CHECK_ERR(parse("a,b\n1,2\n3,\"4\n5\n6,7\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 3: unterminated quoted field", &e);
    CHECK_ERR(parse("a,b\n1,2\n3,\"", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 3: unterminated quoted field", &e);
    CHECK_ERR(parse("a,\"b\n1,2\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 1: unterminated quoted field", &e);
    CHECK_ERR(soma_csv_parse("a,b\n1,2\n3,\0\n", 12, "t.csv", NULL, &ds, &e),
              SOMA_ERR_FORMAT, "t.csv: line 3: NUL byte", &e);
    CHECK_ERR(soma_csv_parse("a,b\n1,\"\0\"\n", 10, "t.csv", NULL, &ds, &e),
              SOMA_ERR_FORMAT, "t.csv: line 2: NUL byte", &e);
    CHECK_ERR(soma_csv_parse("a,b\n1,\"2\"\0\n", 11, "t.csv", NULL, &ds, &e),
              SOMA_ERR_FORMAT, "t.csv: line 2: NUL byte", &e);
    CHECK_ERR(parse("a,b,c,d\n1,2,3,4\n1,2,3,4,5\n", NULL, &ds, &e),
              SOMA_ERR_FORMAT,
              "t.csv: line 3: 5 fields, the header has 4", &e);
    CHECK_ERR(parse("a,b,c,d\n1,2,3,4\n\n1\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 4: 1 field, the header has 4", &e);
    CHECK_ERR(parse("a,b\n1,2,\n", NULL, &ds, &e), SOMA_ERR_FORMAT,
              "t.csv: line 2: 3 fields, the header has 2", &e);
    CHECK(ds == NULL);
}

static void test_data_errors(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    static const struct {
        const char *field, *msg;
    } bad[] = {
        {"abc", "t.csv: line 3, column 'b': 'abc' is not a number"},
        {"", "t.csv: line 3, column 'b': '' is not a number"},
        {"\"\"", "t.csv: line 3, column 'b': '' is not a number"},
        {"1.5x", "'1.5x' is not a number"},
        {"1 2", "'1 2' is not a number"},
        {"--1", "'--1' is not a number"},
        {"nan", "t.csv: line 3, column 'b': 'nan' is not a finite number"},
        {"-inf", "'-inf' is not a finite number"},
        {"Infinity", "'Infinity' is not a finite number"},
        {"1e999", "'1e999' is not a finite number"},
        {"1e300", "'1e300' is out of the float range"},
        {"-3.5e38", "'-3.5e38' is out of the float range"},
        {"\"\n1\"", "' 1' is not a number"},
        {"\"1\n\"", "'1 ' is not a number"},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a number"},
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "a,b\n1,2\n3,%s\n", bad[i].field);
        CHECK_ERR(parse(text, NULL, &ds, &e), SOMA_ERR_DATA, bad[i].msg, &e);
    }
    /* values that are fine */
    CHECK(parse("a,b\n1,+2\n-0,3e-2\n.5,1e-50\n0x10,3.4e38\n", NULL, &ds, &e) ==
          SOMA_OK);
    if (ds) {
        CHECK(X(ds, 0, 1) == 2.0f && X(ds, 1, 1) == 0.03f && X(ds, 2, 0) == 0.5f);
        CHECK(X(ds, 2, 1) == 0.0f && X(ds, 3, 0) == 16.0f);
        soma_dataset_free(ds);
    }
    /* an unnamed column */
    CHECK_ERR(parse("a,\n1,x\n", NULL, &ds, &e), SOMA_ERR_DATA,
              "t.csv: line 2, column 1: 'x' is not a number", &e);
    /* no rows */
    CHECK_ERR(parse("a,b\n", NULL, &ds, &e), SOMA_ERR_DATA, "t.csv: no data rows",
              &e);
    CHECK_ERR(parse("a,b\n\n\r\n  \n", NULL, &ds, &e), SOMA_ERR_DATA,
              "t.csv: no data rows", &e);
    CHECK_ERR(parse("", NULL, &ds, &e), SOMA_ERR_DATA, "t.csv: no header row", &e);
    CHECK_ERR(parse("\xEF\xBB\xBF\n\n", NULL, &ds, &e), SOMA_ERR_DATA,
              "t.csv: no header row", &e);
    CHECK_ERR(soma_csv_parse(NULL, 0, "t.csv", NULL, &ds, &e), SOMA_ERR_DATA,
              "no header row", &e);
    CHECK(ds == NULL);
}

static void test_bad_arguments(void)
{
    soma_error e;
    soma_dataset *ds = (soma_dataset *)&e;
    soma_csv_options o = target_opts("b", SOMA_TARGET_AUTO);
    const char *text = "a,b\n1,2\n";

    CHECK_ERR(soma_csv_parse(text, strlen(text), "t.csv", NULL, NULL, &e),
              SOMA_ERR_ARG, "out is NULL", &e);
    CHECK_ERR(soma_csv_parse(NULL, 3, "t.csv", NULL, &ds, &e), SOMA_ERR_ARG,
              "data is NULL", &e);
    CHECK(ds == NULL);
    o.target_kind = (soma_target_kind)7;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "unknown target kind 7", &e);
    o.target_kind = SOMA_TARGET_AUTO;
    o.n_ignore = -1;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "bad ignore list", &e);
    o.n_ignore = 1;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "bad ignore list", &e);
    o.ignore = no_names;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "ignore[0] is NULL", &e);
    o.n_ignore = 0;
    o.features = no_names;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "empty feature list", &e);
    o.n_features = 1;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "features[0] is NULL", &e);
    o.features = NULL;
    o.n_classes = -1;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "negative class count", &e);
    o.classes = no_names;
    o.n_classes = 1;
    CHECK_ERR(parse(text, &o, &ds, &e), SOMA_ERR_ARG, "classes[0] is NULL", &e);
    CHECK(ds == NULL);
    /* a NULL name and a NULL error are fine */
    o = target_opts(NULL, SOMA_TARGET_AUTO);
    CHECK(soma_csv_parse(text, strlen(text), NULL, &o, &ds, NULL) == SOMA_OK);
    soma_dataset_free(ds);
    CHECK(soma_csv_parse("a\nx\n", 4, NULL, NULL, &ds, NULL) == SOMA_ERR_DATA);
    CHECK_ERR(soma_csv_read(NULL, NULL, &ds, &e), SOMA_ERR_ARG, "path is NULL", &e);
}

/* A random number as text in one of the shapes a CSV writer produces. */
static void random_number(soma_rng *r, char *out, size_t cap)
{
    static const char *const edge[] = {
        "0", "-0", "+0.0e-0", "9007199254740992", "9007199254740993",
        "18446744073709551615", "18446744073709551616", "123456789012345678901",
        "0.1", "0.30000000000000004", "1e22", "1e23", "1e-22", "1e-23",
        "4.9e-324", "1e-40", "3.4028234e38", "3.4028236e38", "-1.17549435e-38",
        "5.", ".5", "0005.2500", "1E5", "1e+05", "1e-0005", "7e0",
        "0.000000000000000000000000000001", "99999999999999999999e-20",
        "2.5e-1000", "1e999999999999", "16777217", "0.1e1", "1.e2",
    };
    size_t len = 0;
    int shape = (int)soma_rng_below(r, 6);
    if (shape == 0) {
        snprintf(out, cap, "%s",
                 edge[soma_rng_below(r, sizeof edge / sizeof *edge)]);
        return;
    }
    if (soma_rng_below(r, 3) == 0)
        out[len++] = soma_rng_below(r, 2) ? '-' : '+';
    {
        int n_int = (int)soma_rng_below(r, shape == 1 ? 21 : 8);
        int n_frac = shape >= 3 ? (int)soma_rng_below(r, 20) : 0;
        int i;
        for (i = 0; i < n_int; i++)
            out[len++] = (char)('0' + soma_rng_below(r, 10));
        if (shape >= 3 || (n_int > 0 && soma_rng_below(r, 4) == 0))
            out[len++] = '.';
        for (i = 0; i < n_frac; i++)
            out[len++] = (char)('0' + soma_rng_below(r, 10));
        if (n_int == 0 && n_frac == 0)
            out[len++] = '7';
    }
    if (shape >= 4) {
        int ex = (int)soma_rng_below(r, 60);
        out[len++] = soma_rng_below(r, 2) ? 'e' : 'E';
        if (soma_rng_below(r, 2))
            out[len++] = soma_rng_below(r, 3) ? '-' : '+';
        len += (size_t)snprintf(out + len, cap - len, "%d", ex);
    }
    out[len] = '\0';
}

/* Plain fields take a fast path, quoted ones always go through strtod: both
 * must give the bits of (float)strtod. */
static void test_numbers(void)
{
    enum { N = 20000 };
    size_t cap = (size_t)N * 100 + 16, len = 0;
    char *text = malloc(cap);
    float *want = malloc(N * sizeof *want);
    soma_rng rng;
    soma_error e;
    soma_dataset *ds = NULL;
    int i, n = 0, mismatches = 0;
    static const char *const invalid[] = {
        "1e", "1e+", ".", "-", "+", "-.", ".e1", "1.2.3", "1e5.5", "1e--5",
        "0x", "e5", "1 e5", "1,5",
    };

    if (!text || !want) {
        CHECK(!"malloc");
        free(text);
        free(want);
        return;
    }
    soma_rng_seed(&rng, 1936);
    len += (size_t)snprintf(text, cap, "plain,quoted\n");
    for (i = 0; i < N; i++) {
        char num[64], *end;
        double d;
        random_number(&rng, num, sizeof num);
        d = strtod(num, &end);
        if (*end != '\0' || !isfinite(d) || fabs(d) > (double)FLT_MAX)
            continue;
        want[n++] = (float)d;
        len += (size_t)snprintf(text + len, cap - len, "%s,\"%s\"\n", num, num);
    }
    CHECK(n > N / 2);
    CHECK(parse(text, NULL, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == (size_t)n);
        for (i = 0; i < n && (size_t)i < ds->n_rows; i++)
            if (memcmp(&ds->x[2 * i], &want[i], sizeof(float)) != 0 ||
                memcmp(&ds->x[2 * i + 1], &want[i], sizeof(float)) != 0) {
                if (mismatches++ < 5)
                    printf("  line %zu: %.9g, %.9g, want %.9g\n", ds->line[i],
                           (double)ds->x[2 * i], (double)ds->x[2 * i + 1],
                           (double)want[i]);
            }
        CHECK(mismatches == 0);
        soma_dataset_free(ds);
    } else {
        printf("  %s\n", e.message);
    }
    for (i = 0; i < (int)(sizeof invalid / sizeof *invalid); i++) {
        char t[64], m[64];
        const char *mp = m;
        snprintf(t, sizeof t, "a\n%s%s%s\n", i == 13 ? "\"" : "", invalid[i],
                 i == 13 ? "\"" : "");
        snprintf(m, sizeof m, "line 2, column 'a': '%s' is not a number",
                 invalid[i]);
        CHECK_ERR(parse(t, NULL, &ds, &e), SOMA_ERR_DATA, mp, &e);
    }
    free(text);
    free(want);
}

static void test_iris(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    soma_csv_options o = target_opts("species", SOMA_TARGET_AUTO);
    int count[3] = {0, 0, 0};
    size_t i;

    CHECK(soma_csv_read("tests/data/iris.csv", &o, &ds, &e) == SOMA_OK);
    if (!ds) {
        printf("  %s (run from the repository root)\n", e.message);
        return;
    }
    CHECK(ds->n_rows == 150 && ds->n_features == 4);
    CHECK(strcmp(ds->feature_names[0], "sepal_length") == 0);
    CHECK(strcmp(ds->feature_names[3], "petal_width") == 0);
    CHECK(strcmp(ds->target_name, "species") == 0);
    CHECK(ds->n_classes == 3);
    if (ds->n_classes == 3) {
        CHECK(strcmp(ds->class_names[0], "setosa") == 0);
        CHECK(strcmp(ds->class_names[1], "versicolor") == 0);
        CHECK(strcmp(ds->class_names[2], "virginica") == 0);
    }
    CHECK(X(ds, 0, 0) == 5.1f && X(ds, 0, 1) == 3.5f && X(ds, 0, 2) == 1.4f &&
          X(ds, 0, 3) == 0.2f);
    CHECK(X(ds, 149, 0) == 5.9f && X(ds, 149, 3) == 1.8f);
    for (i = 0; i < ds->n_rows; i++)
        if (ds->y[i] >= 0.0f && ds->y[i] < 3.0f)
            count[(int)ds->y[i]]++;
    CHECK(count[0] == 50 && count[1] == 50 && count[2] == 50);
    CHECK(ds->y[0] == 0.0f && ds->y[50] == 1.0f && ds->y[149] == 2.0f);
    CHECK(ds->line[0] == 2 && ds->line[149] == 151);
    soma_dataset_free(ds);
}

/* A temporary directory for the file tests, removed by cleanup_dir. */
static char tmp_dir[64];

static int write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (fwrite(text, 1, len, f) != len) {
        fclose(f);
        return 0;
    }
    return fclose(f) == 0;
}

static void test_read_file(void)
{
    soma_error e;
    soma_dataset *ds = NULL;
    char path[128], missing[128];
    soma_csv_options o = target_opts("y", SOMA_TARGET_AUTO);

    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/soma_test_csv_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/d.csv", tmp_dir);
    CHECK(write_file(path, "x,y\n1,a\n2,b\n", 12));
    CHECK(soma_csv_read(path, &o, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 2 && ds->n_classes == 2 && ds->y[1] == 1.0f);
        soma_dataset_free(ds);
    }
    /* messages name the path */
    CHECK(write_file(path, "x,y\n1,a\nq,b\n", 12));
    {
        char want[200];
        snprintf(want, sizeof want, "%s: line 3, column 'x': 'q' is not a number",
                 path);
        const char *w = want;
        CHECK_ERR(soma_csv_read(path, &o, &ds, &e), SOMA_ERR_DATA, w, &e);
    }
    /* an empty file */
    CHECK(write_file(path, "", 0));
    CHECK_ERR(soma_csv_read(path, &o, &ds, &e), SOMA_ERR_DATA, "no header row", &e);
    /* bigger than the first guess of a pipe read, and than one stdio buffer */
    {
        char *text = many_labels(20000, "c");
        if (text) {
            CHECK(write_file(path, text, strlen(text)));
            CHECK(soma_csv_read(path, &o, &ds, &e) == SOMA_OK);
            if (ds) {
                CHECK(ds->n_rows == 20000 && ds->n_classes == 20000);
                soma_dataset_free(ds);
            }
            free(text);
        }
    }
    snprintf(missing, sizeof missing, "%s/missing.csv", tmp_dir);
    {
        char want[200];
        snprintf(want, sizeof want, "%s: cannot open: ", missing);
        const char *w = want;
        CHECK_ERR(soma_csv_read(missing, &o, &ds, &e), SOMA_ERR_IO, w, &e);
    }
    {
        const char *w = tmp_dir;
        CHECK_ERR(soma_csv_read(tmp_dir, &o, &ds, &e), SOMA_ERR_IO, w, &e);
    }
    CHECK(ds == NULL);
    unlink(path);
    rmdir(tmp_dir);
}

/* Runs fn with the k-th allocation failing for every k until it succeeds
 * without a failure: each run must give OK or SOMA_ERR_NOMEM, and the
 * sanitizer build checks that nothing leaks. */
static void alloc_sweep(const char *text, const soma_csv_options *o,
                        const char *path)
{
    unsigned long k;
    for (k = 1; k < 100000; k++) {
        soma_error e;
        soma_dataset *ds = NULL;
        soma_status st;
        soma_debug_fail_after(k);
        st = path ? soma_csv_read(path, o, &ds, &e)
                  : parse(text, o, &ds, &e);
        if (st == SOMA_OK) {
            /* an injected failure must never be swallowed */
            CHECK(soma_debug_alloc_count() < k);
            soma_dataset_free(ds);
            break;
        }
        CHECK(st == SOMA_ERR_NOMEM);
        CHECK(ds == NULL);
        CHECK(strstr(e.message, "out of memory") != NULL);
        if (st != SOMA_ERR_NOMEM) {
            printf("  k = %lu: %s\n", k, e.message);
            break;
        }
    }
    soma_debug_fail_after(0);
    CHECK(k > 5 && k < 100000);
}

static void test_alloc_failures(void)
{
    soma_csv_options o = target_opts("y", SOMA_TARGET_AUTO);
    const char *cls[] = {"c1", "c2", "7"};
    char *text = many_labels(600, "c");
    char *nums = many_labels(700, NULL);
    if (!text || !nums) {
        CHECK(!"malloc");
        free(text);
        free(nums);
        return;
    }
    alloc_sweep(text, &o, NULL);          /* classes, table grows */
    alloc_sweep(nums, &o, NULL);          /* AUTO turns into a value */
    o.target_kind = SOMA_TARGET_VALUE;
    alloc_sweep(nums, &o, NULL);
    o.target_kind = SOMA_TARGET_CLASSES;
    o.classes = cls;
    o.n_classes = 3;
    alloc_sweep("x,y\n1,c1\n2,7.0\n3,c2\n", &o, NULL);
    alloc_sweep("\"a long header name, longer than sixty-four bytes, so that "
                "the field buffer grows\",y\n1,c1\n",
                &o, NULL);
    o = target_opts("species", SOMA_TARGET_AUTO);
    alloc_sweep(NULL, &o, "tests/data/iris.csv");
    free(text);
    free(nums);
}

/* Every result must be OK or an error with a message. */
static void fuzz_one(const char *data, size_t size, const soma_csv_options *o,
                     int *bad)
{
    soma_error e;
    soma_dataset *ds = NULL;
    soma_status st = soma_csv_parse(data, size, "f.csv", o, &ds, &e);
    if (st == SOMA_OK) {
        if (!ds || ds->n_rows == 0 || ds->n_features < 1 || !ds->x || !ds->line)
            (*bad)++;
        soma_dataset_free(ds);
    } else if (ds != NULL || e.message[0] == '\0' || e.code != st ||
               strncmp(e.message, "f.csv: ", 7) != 0) {
        (*bad)++;
    }
}

static void test_fuzz(void)
{
    static const char seed[] =
        "\xEF\xBB\xBF" "a,\"b\",c,label\r\n"
        "1,2.5,-3,x\r\n"
        "\"4\",\"5\"\"\",6,\"multi\nline\"\n"
        "\n"
        "  7 ,8,\t9\t, y \r"
        "1e3,\"\",0x1p3,\"z,z\"\n"
        "10,11,12,x";
    const size_t n = sizeof seed - 1;
    soma_csv_options opts[3];
    const char *feat[] = {"c", "a"};
    const char *cls[] = {"x", "y"};
    char *buf = malloc(n);
    soma_rng rng;
    int bad = 0, i;
    size_t len;

    if (!buf) {
        CHECK(!"malloc");
        return;
    }
    opts[0] = target_opts(NULL, SOMA_TARGET_AUTO);
    opts[1] = target_opts("label", SOMA_TARGET_AUTO);
    opts[2] = target_opts("3", SOMA_TARGET_CLASSES);
    opts[2].features = feat;
    opts[2].n_features = 2;
    opts[2].classes = cls;
    opts[2].n_classes = 2;

    /* every prefix, copied so that reading past the end is caught */
    for (len = 0; len <= n; len++) {
        memcpy(buf, seed, len);
        for (i = 0; i < 3; i++)
            fuzz_one(buf, len, &opts[i], &bad);
    }
    soma_rng_seed(&rng, 4180);
    for (i = 0; i < 5000; i++) {
        static const char pick[] = ",\"\r\n \t0.e-x\xEF\xBB\xBF";
        int m, n_mut = 1 + (int)soma_rng_below(&rng, 4);
        memcpy(buf, seed, n);
        len = n - (size_t)soma_rng_below(&rng, 3);
        for (m = 0; m < n_mut; m++) {
            size_t at = (size_t)soma_rng_below(&rng, len);
            buf[at] = soma_rng_below(&rng, 2)
                          ? pick[soma_rng_below(&rng, sizeof pick - 1)]
                          : (char)soma_rng_below(&rng, 256);
        }
        fuzz_one(buf, len, &opts[(size_t)i % 3], &bad);
    }
    CHECK(bad == 0);
    free(buf);
}

int main(void)
{
    RUN(test_plain);
    RUN(test_quoting);
    RUN(test_line_ends);
    RUN(test_target_selection);
    RUN(test_ignore);
    RUN(test_features_by_name);
    RUN(test_target_kinds);
    RUN(test_many_labels);
    RUN(test_model_classes);
    RUN(test_format_errors);
    RUN(test_data_errors);
    RUN(test_numbers);
    RUN(test_bad_arguments);
    RUN(test_iris);
    RUN(test_read_file);
    RUN(test_alloc_failures);
    RUN(test_fuzz);
    return harness_summary();
}
