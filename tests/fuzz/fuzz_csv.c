/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (soma_csv_parse).
 *
 * Input layout, so that the option paths are fuzzed with the data:
 *   byte 0        flags: bits 0-1 target kind (0 auto, 1 classes, 2 value,
 *                 3 auto), bit 2 a target is given, bit 3 an ignore list,
 *                 bit 4 a feature list, bit 5 a class list, bit 6 split off
 *                 a validation part, bit 7 no name (NULL)
 *   bytes 1..LF   the options line: "TARGET;IGN1,IGN2;FEAT1,FEAT2;CLS1,CLS2"
 *                 (each list is used only when its flag is set)
 *   after LF      the CSV text, passed as it is (not NUL-terminated)
 *
 * Checks on every input: no crash, leak or undefined behaviour (the
 * sanitizers), at most CSV_MEM_FACTOR * size + CSV_MEM_SLACK bytes live at
 * once during the parse. On success: the data set's invariants, then a
 * round trip: the data set written back as CSV and parsed again must give
 * the same names, values and classes bit for bit.
 */
#include "fuzz_common.h"

#include "soma.h"

#include <math.h>

#define CSV_MEM_FACTOR 64
#define CSV_MEM_SLACK (64 * 1024)
#define MAX_LIST 64

/* Splits s (modified in place) at sep into at most max pieces; any further
 * pieces are dropped. */
static int split(char *s, char sep, const char **out, int max)
{
    int n = 0;
    if (!s)
        return 0;
    for (;;) {
        char *e = strchr(s, sep);
        if (n == max)
            break;
        out[n++] = s;
        if (!e)
            break;
        *e = '\0';
        s = e + 1;
    }
    return n;
}

typedef struct outbuf {
    char *p;
    size_t n, cap;
} outbuf;

static void put(outbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        FUZZ_ASSERT(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_quoted(outbuf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            put(b, "\"\"", 2);
        else
            put(b, s, 1);
    }
    put(b, "\"", 1);
}

static void put_float(outbuf *b, float v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%.9g", (double)v);
    put(b, t, (size_t)n);
}

static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void check_dataset(const soma_dataset *ds, const soma_csv_options *opt)
{
    FUZZ_ASSERT(ds->n_rows >= 1 && ds->n_features >= 1 && ds->x);
    FUZZ_ASSERT(ds->feature_names);
    for (int j = 0; j < ds->n_features; j++)
        FUZZ_ASSERT(ds->feature_names[j]);
    for (size_t i = 0; i < ds->n_rows * (size_t)ds->n_features; i++)
        FUZZ_ASSERT(isfinite(ds->x[i]));
    if (opt->features) {
        FUZZ_ASSERT(ds->n_features == opt->n_features);
        for (int j = 0; j < ds->n_features; j++)
            FUZZ_ASSERT(strcmp(ds->feature_names[j], opt->features[j]) == 0);
    }
    if (ds->line)
        for (size_t i = 1; i < ds->n_rows; i++)
            FUZZ_ASSERT(ds->line[i] > ds->line[i - 1]);
    if (!opt->target) {
        FUZZ_ASSERT(!ds->y && !ds->target_name && ds->n_classes == 0);
        return;
    }
    FUZZ_ASSERT(ds->y && ds->target_name);
    FUZZ_ASSERT(ds->n_classes >= 0);
    if (opt->target_kind == SOMA_TARGET_VALUE && !(opt->classes && opt->n_classes))
        FUZZ_ASSERT(ds->n_classes == 0);
    if (opt->target_kind == SOMA_TARGET_CLASSES)
        FUZZ_ASSERT(ds->n_classes >= 1);
    for (size_t i = 0; i < ds->n_rows; i++) {
        FUZZ_ASSERT(isfinite(ds->y[i]));
        if (ds->n_classes > 0)
            FUZZ_ASSERT(ds->y[i] >= 0 && ds->y[i] < (float)ds->n_classes &&
                        ds->y[i] == floorf(ds->y[i]));
    }
    for (int c = 0; c < ds->n_classes; c++) {
        FUZZ_ASSERT(ds->class_names && ds->class_names[c]);
        if (opt->classes && opt->n_classes)
            FUZZ_ASSERT(strcmp(ds->class_names[c], opt->classes[c]) == 0);
        else if (c > 0)
            FUZZ_ASSERT(strcmp(ds->class_names[c - 1], ds->class_names[c]) != 0);
    }
}

/* Writes ds back as CSV (the target first, every field quoted but the
 * numbers) and parses it again: everything must come back the same. */
static void round_trip(const soma_dataset *ds, const soma_csv_options *opt)
{
    outbuf b = {0};
    int has_target = ds->target_name != NULL;
    for (int j = 0; j < ds->n_features; j++)
        if (has_target && strcmp(ds->feature_names[j], "0") == 0)
            return; /* "0" would name that feature rather than the target */
    if (has_target) {
        put_quoted(&b, ds->target_name);
        put(&b, ",", 1);
    }
    for (int j = 0; j < ds->n_features; j++) {
        put_quoted(&b, ds->feature_names[j]);
        put(&b, j + 1 < ds->n_features ? "," : "\n", 1);
    }
    for (size_t i = 0; i < ds->n_rows; i++) {
        if (has_target) {
            if (ds->n_classes > 0)
                put_quoted(&b, ds->class_names[(int)ds->y[i]]);
            else
                put_float(&b, ds->y[i]);
            put(&b, ",", 1);
        }
        for (int j = 0; j < ds->n_features; j++) {
            put_float(&b, ds->x[i * (size_t)ds->n_features + (size_t)j]);
            put(&b, j + 1 < ds->n_features ? "," : "\n", 1);
        }
    }

    soma_csv_options o2;
    memset(&o2, 0, sizeof o2);
    if (has_target) {
        o2.target = "0";
        if (opt->classes && opt->n_classes) {
            o2.classes = opt->classes;
            o2.n_classes = opt->n_classes;
        }
        o2.target_kind = ds->n_classes > 0 ? SOMA_TARGET_CLASSES
                                           : SOMA_TARGET_VALUE;
    }
    soma_dataset *d2 = NULL;
    soma_error err;
    soma_status st = soma_csv_parse(b.p, b.n, "round-trip", &o2, &d2, &err);
    if (st != SOMA_OK)
        fuzz_fail("round trip failed: %s", err.message);
    FUZZ_ASSERT(d2->n_rows == ds->n_rows && d2->n_features == ds->n_features);
    for (int j = 0; j < ds->n_features; j++)
        FUZZ_ASSERT(strcmp(d2->feature_names[j], ds->feature_names[j]) == 0);
    for (size_t i = 0; i < ds->n_rows * (size_t)ds->n_features; i++)
        FUZZ_ASSERT(same_float(d2->x[i], ds->x[i]));
    if (has_target) {
        FUZZ_ASSERT(strcmp(d2->target_name, ds->target_name) == 0);
        FUZZ_ASSERT(d2->n_classes == ds->n_classes);
        for (int c = 0; c < ds->n_classes; c++)
            FUZZ_ASSERT(strcmp(d2->class_names[c], ds->class_names[c]) == 0);
        for (size_t i = 0; i < ds->n_rows; i++)
            FUZZ_ASSERT(same_float(d2->y[i], ds->y[i]));
    }
    soma_dataset_free(d2);
    free(b.p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_mem_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const uint8_t *nl = memchr(data + 1, '\n', size - 1);
    size_t opt_len = nl ? (size_t)(nl - (data + 1)) : size - 1;
    const char *csv = nl ? (const char *)nl + 1 : "";
    size_t csv_size = nl ? size - (size_t)(nl + 1 - data) : 0;

    char *line = malloc(opt_len + 1);
    FUZZ_ASSERT(line);
    memcpy(line, data + 1, opt_len);
    line[opt_len] = '\0';
    const char *parts[4] = {NULL, NULL, NULL, NULL};
    split(line, ';', parts, 4);

    const char *ignore[MAX_LIST], *features[MAX_LIST], *classes[MAX_LIST];
    soma_csv_options opt;
    memset(&opt, 0, sizeof opt);
    static const soma_target_kind kinds[4] = {
        SOMA_TARGET_AUTO, SOMA_TARGET_CLASSES, SOMA_TARGET_VALUE, SOMA_TARGET_AUTO};
    opt.target_kind = kinds[flags & 3];
    if (flags & 4)
        opt.target = parts[0] ? parts[0] : "";
    if (flags & 8) {
        opt.ignore = ignore;
        opt.n_ignore = split((char *)parts[1], ',', ignore, MAX_LIST);
    }
    if ((flags & 16) && parts[2]) {
        opt.features = features;
        opt.n_features = split((char *)parts[2], ',', features, MAX_LIST);
    }
    if ((flags & 32) && parts[3]) {
        opt.classes = classes;
        opt.n_classes = split((char *)parts[3], ',', classes, MAX_LIST);
    }

    soma_dataset *ds = NULL;
    soma_error err;
    fuzz_mem_begin();
    soma_status st = soma_csv_parse(csv, csv_size, (flags & 128) ? NULL : "fuzz.csv",
                                    &opt, &ds, &err);
    fuzz_mem_check("soma_csv_parse", CSV_MEM_FACTOR * size + CSV_MEM_SLACK, size);
    if (st != SOMA_OK) {
        FUZZ_ASSERT(ds == NULL);
        FUZZ_ASSERT(err.code == st && err.message[0] != '\0');
        FUZZ_ASSERT(strchr(err.message, '\n') == NULL);
    } else {
        FUZZ_ASSERT(ds != NULL);
        check_dataset(ds, &opt);
        round_trip(ds, &opt);
        if (flags & 64) {
            soma_dataset *tr = NULL, *va = NULL;
            double fraction = (double)(flags & 3) / 4.0 + 0.125;
            st = soma_dataset_split(ds, fraction, flags, &tr, &va, &err);
            if (st == SOMA_OK) {
                size_t nv = va ? va->n_rows : 0;
                FUZZ_ASSERT(tr && tr->n_rows + nv == ds->n_rows);
                FUZZ_ASSERT(tr->n_features == ds->n_features);
            } else {
                FUZZ_ASSERT(st == SOMA_ERR_DATA && !tr && !va);
            }
            soma_dataset_free(tr);
            soma_dataset_free(va);
        }
        soma_dataset_free(ds);
    }
    free(line);
    return 0;
}
