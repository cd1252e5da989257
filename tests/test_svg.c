/*
 * test_svg.c - the soma program's SVG pictures (cli/svg.c): nice ticks,
 * text sanitising, the confusion heat map and the learning curves, written
 * atomically. The file under test is included whole, so its static helpers
 * are tested directly.
 *
 * With "--write DIR" it only writes sample pictures into DIR, for
 * tests/cli_plot.sh to check with an XML parser.
 */
#include "harness.h"

#include "../cli/svg.c"
#include "../cli/out.c"

#include <dirent.h>
#include <sys/stat.h>

static char dir[64];

/* The whole file at path, NUL-terminated (free()), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *b = realloc(buf, cap * 2);
        if (!b)
            free(buf);
        buf = b;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The number of entries in the test directory (temporary files included). */
static int dir_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static void test_nice_steps(void)
{
    CHECK_NEAR(nice_step(1.1, 5), 0.2, 1e-12);
    CHECK_NEAR(nice_step(100.0, 5), 20.0, 1e-9);
    CHECK_NEAR(nice_step(2.5e6, 5), 5e5, 1e-3);
    CHECK_NEAR(nice_step(0.7, 5), 0.1, 1e-12);
    CHECK_NEAR(nice_step(0.003, 6), 5e-4, 1e-15);

    axis a;
    axis_fit(&a, 0.0, 1.1, 5, 0);
    CHECK_NEAR(a.lo, 0.0, 0);
    CHECK_NEAR(a.hi, 1.2, 1e-12);
    double t[MAX_TICKS];
    CHECK(axis_ticks(&a, t) == 7);
    axis_fit(&a, 0.3, 1.0, 5, 0); /* 1.0 is a tick, not 1.2 */
    CHECK_NEAR(a.hi, 1.0, 1e-12);
    axis_fit(&a, 1.0, 1.0, 6, 1); /* one epoch: a range around it */
    CHECK(a.lo < 1.0 && a.hi > 1.0 && a.step >= 1.0);
    axis_fit(&a, 1.0, 7.0, 6, 1); /* epochs: whole-number steps */
    CHECK_NEAR(a.step, 1.0, 0);

    char buf[32];
    axis_fit(&a, 0.0, 1.1, 5, 0);
    fmt_tick(&a, 0.6000000000000001, buf, sizeof buf);
    CHECK(strcmp(buf, "0.6") == 0);
    fmt_tick(&a, -1e-17, buf, sizeof buf);
    CHECK(strcmp(buf, "0") == 0);
    axis_fit(&a, 0.0, 2.4e6, 5, 0);
    fmt_tick(&a, 1.5e6, buf, sizeof buf);
    CHECK(strcmp(buf, "1.5M") == 0);
    axis_fit(&a, 0.0, 40000.0, 5, 0);
    fmt_tick(&a, 30000.0, buf, sizeof buf);
    CHECK(strcmp(buf, "30k") == 0);
    axis_fit(&a, 0.0, 0.0004, 4, 0);
    fmt_tick(&a, 0.0003, buf, sizeof buf);
    CHECK(strcmp(buf, "0.0003") == 0);

    axis_fit_log(&a, 0.03, 40.0);
    CHECK_NEAR(a.lo, -2.0, 0);
    CHECK_NEAR(a.hi, 2.0, 0);
    CHECK(axis_ticks(&a, t) == 5); /* 0.01 0.1 1 10 100 */
    fmt_tick(&a, t[0], buf, sizeof buf);
    CHECK(strcmp(buf, "0.01") == 0);
    axis_fit_log(&a, 2.0, 30.0); /* two decades: 1 2 5 10 20 50 100 */
    CHECK(axis_ticks(&a, t) == 7);
}

static void test_text(void)
{
    char path[128];
    path_in(path, sizeof path, "text.txt");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    put_text(f, "a&b<c>\"d'", 0);
    fputc('|', f);
    put_text(f, "caf\xc3\xa9 \xff\xfe tab\there\x01", 0);
    fputc('|', f);
    /* a surrogate, an overlong '/', past U+10FFFF, cut short */
    put_text(f, "\xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xe2\x82", 0);
    fputc('|', f);
    put_text(f, "abcdefghij", 4);
    fputc('|', f);
    put_text(f, "abcd", 4);
    fclose(f);
    char *s = slurp(path);
    CHECK(s != NULL);
    if (!s)
        return;
    const char *want = "a&amp;b&lt;c&gt;&quot;d&apos;|"
                       "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd tab here\xef\xbf\xbd|"
                       "\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd "
                       "\xef\xbf\xbd\xef\xbf\xbd|"
                       "abc\xe2\x80\xa6|abcd";
    if (strcmp(s, want) != 0)
        printf("  got  '%s'\n  want '%s'\n", s, want);
    CHECK(strcmp(s, want) == 0);
    CHECK(text_chars("caf\xc3\xa9") == 4);
    free(s);
    remove(path);
}

static const char *const iris[3] = {"setosa", "versicolor", "virginica"};
static const size_t iris_counts[9] = {50, 0, 0, 0, 47, 3, 0, 2, 48};

static void test_confusion(void)
{
    char path[128], msg[256];
    path_in(path, sizeof path, "confusion.svg");
    CHECK(svg_confusion(path, 3, iris, iris_counts, msg, sizeof msg) == 0);
    char *s = slurp(path);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
    CHECK(strstr(s, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(s, "viewBox=\"0 0 ") != NULL);
    CHECK(strstr(s, "<title>Confusion matrix: accuracy 0.9667 (145 of 150)</title>"));
    CHECK(count(s, "class=\"cell\"") == 9);
    CHECK(count(s, "class=\"count\"") == 9);
    CHECK(count(s, ">virginica</text>") == 2); /* row and column label */
    CHECK(strstr(s, ">true class</text>") != NULL);
    CHECK(strstr(s, ">predicted class</text>") != NULL);
    CHECK(strstr(s, ">94.0%</text>") != NULL); /* recall of versicolor */
    /* the diagonal is dark, with white counts; empty cells are light */
    CHECK(strstr(s, "id=\"cell_0_0\" class=\"cell\"") != NULL);
    CHECK(strstr(s, "fill=\"#ffffff\">50</text>") != NULL);
    CHECK(strstr(s, "fill=\"#9a9a9a\">0</text>") != NULL);
    CHECK(strstr(s, "rotate(-45") == NULL); /* short labels stay level */
    CHECK(strcmp(s + strlen(s) - 7, "</svg>\n") == 0);
    free(s);
    CHECK(dir_entries() == 1); /* no temporary file left */

    /* written again: replaced whole */
    const size_t other[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(svg_confusion(path, 3, NULL, other, msg, sizeof msg) == 0);
    s = slurp(path);
    CHECK(s && strstr(s, "accuracy 1.0000 (3 of 3)") != NULL);
    CHECK(s && strstr(s, ">2</text>") != NULL); /* class numbers as labels */
    free(s);
    CHECK(dir_entries() == 1);
    remove(path);
}

static void test_confusion_hostile_labels(void)
{
    const char *labels[3] = {"<b>&amp;\"", "caf\xc3\xa9\xff",
                             ("a\nvery long label that goes on and on and on")};
    const size_t counts[9] = {1, 2, 3, 4, 5, 6, 7, 8, 1000000};
    char path[128], msg[256];
    path_in(path, sizeof path, "hostile.svg");
    CHECK(svg_confusion(path, 3, labels, counts, msg, sizeof msg) == 0);
    char *s = slurp(path);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strstr(s, "<b>") == NULL);
    CHECK(strstr(s, "&lt;b&gt;&amp;amp;&quot;") != NULL);
    CHECK(strchr(s, '\xff') == NULL);
    CHECK(strstr(s, "caf\xc3\xa9\xef\xbf\xbd") != NULL);
    CHECK(strstr(s, "rotate(-45") != NULL); /* long labels are slanted */
    CHECK(strstr(s, "a very long label that \xe2\x80\xa6<") != NULL); /* cut */
    CHECK(strstr(s, "predicted a very long label that goes on and on and on:"));
    free(s);
    remove(path);
}

static void test_confusion_fifty(void)
{
    enum { N = 50 };
    char names[N][32];
    const char *labels[N];
    size_t *counts = calloc(N * N, sizeof *counts);
    CHECK(counts != NULL);
    if (!counts)
        return;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "class_%02d", i);
        labels[i] = names[i];
        counts[i * N + i] = 90;
        counts[i * N + (i + 1) % N] = 10;
    }
    char path[128], msg[256];
    path_in(path, sizeof path, "fifty.svg");
    CHECK(svg_confusion(path, N, labels, counts, msg, sizeof msg) == 0);
    char *s = slurp(path);
    CHECK(s && count(s, "class=\"cell\"") == N * N);
    CHECK(s && count(s, "class=\"count\"") == 2 * N); /* no zeros printed */
    CHECK(s && strstr(s, "accuracy 0.9000 (4500 of 5000)") != NULL);
    /* small cells, small text */
    CHECK(s && strstr(s, "width=\"18.0\" height=\"18.0\"") != NULL);
    free(s);
    free(counts);
    remove(path);
}

static void test_confusion_errors(void)
{
    char path[128], msg[256] = "";
    size_t c[1] = {0};
    path_in(path, sizeof path, "none.svg");
    CHECK(svg_confusion(path, 0, NULL, c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "1 to 1000 classes") != NULL);
    path_in(path, sizeof path, "no/such/dir/c.svg");
    CHECK(svg_confusion(path, 1, NULL, c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "no/such/dir/c.svg: cannot create the temporary file") != NULL);
    CHECK(strchr(msg, '\n') == NULL);
    CHECK(dir_entries() == 0);
    /* no examples at all: still a picture, saying so */
    path_in(path, sizeof path, "empty.svg");
    CHECK(svg_confusion(path, 1, NULL, c, msg, sizeof msg) == 0);
    char *s = slurp(path);
    CHECK(s && strstr(s, "no examples") != NULL);
    free(s);
    remove(path);
}

static const double ep[5] = {1, 2, 3, 4, 5};
static const double tl[5] = {1.1, 0.8, 0.5, 0.3, 0.2};
static const double ta[5] = {0.33, 0.6, 0.8, 0.9, 0.95};
static const double vl[5] = {(double)NAN, 0.85, (double)NAN, 0.45, (double)NAN};

static void test_curves(void)
{
    svg_curves c;
    memset(&c, 0, sizeof c);
    c.n = 5;
    c.epoch = ep;
    c.value[SVG_TRAIN_LOSS] = tl;
    c.value[SVG_TRAIN_ACCURACY] = ta;
    c.value[SVG_VAL_LOSS] = vl;
    char path[128], msg[256];
    path_in(path, sizeof path, "curves.svg");
    CHECK(svg_learning_curves(path, "a <run> & more", &c, msg, sizeof msg) == 0);
    char *s = slurp(path);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strstr(s, "<title>a &lt;run&gt; &amp; more</title>") != NULL);
    CHECK(strstr(s, "<polyline id=\"train_loss\"") != NULL);
    CHECK(strstr(s, "<polyline id=\"val_loss\"") != NULL);
    CHECK(strstr(s, "<polyline id=\"train_accuracy\"") != NULL);
    CHECK(strstr(s, "id=\"val_accuracy\"") == NULL);
    CHECK(strstr(s, "id=\"accuracy_panel\"") != NULL);
    CHECK(strstr(s, "lowest validation loss 0.45 at epoch 4") != NULL);
    CHECK(strstr(s, ">validation</text>") != NULL);
    free(s);

    /* a regression: the loss panel only */
    c.value[SVG_TRAIN_ACCURACY] = NULL;
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == 0);
    s = slurp(path);
    CHECK(s && strstr(s, "id=\"accuracy_panel\"") == NULL);
    CHECK(s && strstr(s, "id=\"loss_panel\"") != NULL);
    free(s);

    /* bad input */
    const double back[5] = {1, 2, 2, 4, 5};
    c.epoch = back;
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "epochs do not increase") != NULL);
    c.epoch = ep;
    const double zero[5] = {1, 0.5, 0, 0.1, 0.1};
    c.value[SVG_TRAIN_LOSS] = zero;
    c.log_loss = 1;
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "train_loss is 0 at epoch 3") != NULL);
    c.log_loss = 0;
    c.value[SVG_TRAIN_LOSS] = NULL;
    c.value[SVG_VAL_LOSS] = NULL;
    CHECK(svg_learning_curves(path, NULL, &c, msg, sizeof msg) == -1);
    CHECK(strstr(msg, "no loss or accuracy") != NULL);
    remove(path);
    CHECK(dir_entries() == 0);
}

/* Sample confusion pictures for tests/cli_plot.sh's XML checks. */
static int write_samples(const char *out)
{
    char path[4096], msg[256];
    const char *labels[3] = {"<b>&amp;\"", "caf\xc3\xa9\xff\x01",
                             "a very long label that goes on and on"};
    const size_t counts[9] = {5, 1, 0, 2, 7, 1, 0, 0, 9};
    snprintf(path, sizeof path, "%s/confusion_iris.svg", out);
    int rc = svg_confusion(path, 3, iris, iris_counts, msg, sizeof msg);
    snprintf(path, sizeof path, "%s/confusion_hostile.svg", out);
    rc = rc ? rc : svg_confusion(path, 3, labels, counts, msg, sizeof msg);
    if (rc)
        fprintf(stderr, "%s\n", msg);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_samples(argv[2]);
    snprintf(dir, sizeof dir, "/tmp/soma-test-svg-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    RUN(test_nice_steps);
    RUN(test_text);
    RUN(test_confusion);
    RUN(test_confusion_hostile_labels);
    RUN(test_confusion_fifty);
    RUN(test_confusion_errors);
    RUN(test_curves);
    rmdir(dir);
    return harness_summary();
}
