/*
 * test_idx.c - the IDX reader: values and scaling, 2- and 3-dimensional
 * images, plain and gzipped files, label classes and a model's class list,
 * the content sniffer, every error message, allocation failures, and a fuzz
 * pass over every prefix and random mutations of a plain and a gzipped file.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmp_dir[64];

/* tmp_dir/name in a static buffer (one of four, so a call may hold a few). */
static const char *tmp_path(const char *name)
{
    static char bufs[4][352];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return p;
}

static int write_plain(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (n && fwrite(data, 1, n, f) != n) {
        fclose(f);
        return 0;
    }
    return fclose(f) == 0;
}

static int write_gz(const char *path, const void *data, size_t n)
{
    gzFile g = gzopen(path, "wb");
    if (!g)
        return 0;
    if (n && gzwrite(g, data, (unsigned)n) != (int)n) {
        gzclose(g);
        return 0;
    }
    return gzclose(g) == Z_OK;
}

/* Reads a whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL)
        *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

/* An IDX file in memory: magic 00 00 type ndims, the dims, then data. */
typedef struct idx_bytes {
    unsigned char b[4096];
    size_t n;
} idx_bytes;

static idx_bytes make_idx(int type, int ndims, const uint32_t *dims,
                          const unsigned char *data, size_t n_data)
{
    idx_bytes f;
    int i;
    memset(&f, 0, sizeof f);
    f.b[2] = (unsigned char)type;
    f.b[3] = (unsigned char)ndims;
    f.n = 4;
    for (i = 0; i < ndims; i++) {
        f.b[f.n++] = (unsigned char)(dims[i] >> 24);
        f.b[f.n++] = (unsigned char)(dims[i] >> 16);
        f.b[f.n++] = (unsigned char)(dims[i] >> 8);
        f.b[f.n++] = (unsigned char)dims[i];
    }
    if (n_data)
        memcpy(f.b + f.n, data, n_data);
    f.n += n_data;
    return f;
}

/* Five 2x3 images and their labels, the fixture most tests use. */
static const unsigned char pixels[30] = {
    0,   255, 128, 1,   2,   3,   /* image 0 */
    10,  20,  30,  40,  50,  60,  /* image 1 */
    254, 253, 252, 251, 250, 249, /* image 2 */
    7,   7,   7,   7,   7,   7,   /* image 3 */
    100, 0,   255, 0,   100, 0,   /* image 4 */
};
static const unsigned char label_bytes[5] = {3, 1, 3, 0, 7};

static idx_bytes images_file(void)
{
    const uint32_t dims[3] = {5, 2, 3};
    return make_idx(0x08, 3, dims, pixels, sizeof pixels);
}

static idx_bytes labels_file(size_t n)
{
    const uint32_t dims[1] = {(uint32_t)n};
    return make_idx(0x08, 1, dims, label_bytes, n);
}

/* Writes the fixture as plain (img.idx, lab.idx) and gzipped (img.gz,
 * lab.gz) files. */
static int write_fixture(void)
{
    idx_bytes im = images_file(), lb = labels_file(5);
    return write_plain(tmp_path("img.idx"), im.b, im.n) &&
           write_plain(tmp_path("lab.idx"), lb.b, lb.n) &&
           write_gz(tmp_path("img.gz"), im.b, im.n) &&
           write_gz(tmp_path("lab.gz"), lb.b, lb.n);
}

static void check_fixture(const soma_dataset *ds)
{
    size_t i;
    CHECK(ds->n_rows == 5);
    CHECK(ds->n_features == 6);
    for (i = 0; i < 30; i++)
        if (ds->x[i] != (float)pixels[i] / 255.0f) {
            printf("  x[%zu] = %.9g, wanted %d / 255\n", i, (double)ds->x[i],
                   pixels[i]);
            CHECK(!"pixel value");
            break;
        }
    CHECK(ds->x[0] == 0.0f && ds->x[1] == 1.0f);
    CHECK(ds->feature_names == NULL);
    CHECK(ds->line == NULL);
}

static void test_round_trip(void)
{
    static const char *const files[2][2] = {{"img.idx", "lab.idx"},
                                            {"img.gz", "lab.gz"}};
    soma_error e;
    int f;

    for (f = 0; f < 2; f++) {
        soma_dataset *ds = NULL;
        CHECK(soma_idx_read(tmp_path(files[f][0]), tmp_path(files[f][1]), NULL,
                            0, &ds, &e) == SOMA_OK);
        if (!ds) {
            printf("  %s\n", e.message);
            continue;
        }
        check_fixture(ds);
        /* labels 3 1 3 0 7: classes "0" "1" "3" "7" */
        CHECK(ds->n_classes == 4);
        CHECK(ds->class_names && strcmp(ds->class_names[0], "0") == 0 &&
              strcmp(ds->class_names[1], "1") == 0 &&
              strcmp(ds->class_names[2], "3") == 0 &&
              strcmp(ds->class_names[3], "7") == 0);
        CHECK(ds->y[0] == 2.0f && ds->y[1] == 1.0f && ds->y[2] == 2.0f &&
              ds->y[3] == 0.0f && ds->y[4] == 3.0f);
        CHECK(ds->target_name && strcmp(ds->target_name, "label") == 0);
        CHECK(e.code == SOMA_OK && e.message[0] == '\0');
        soma_dataset_free(ds);
    }
    /* plain images with gzipped labels, and without labels */
    {
        soma_dataset *ds = NULL;
        CHECK(soma_idx_read(tmp_path("img.idx"), tmp_path("lab.gz"), NULL, 0,
                            &ds, &e) == SOMA_OK);
        if (ds)
            CHECK(ds->n_classes == 4 && ds->y[4] == 3.0f);
        soma_dataset_free(ds);
        ds = NULL;
        CHECK(soma_idx_read(tmp_path("img.gz"), NULL, NULL, 0, &ds, &e) ==
              SOMA_OK);
        if (ds) {
            check_fixture(ds);
            CHECK(ds->y == NULL && ds->n_classes == 0 && ds->class_names == NULL &&
                  ds->target_name == NULL);
        }
        soma_dataset_free(ds);
    }
}

/* [n, d] images, every byte value, and a file bigger than one read chunk. */
static void test_shapes(void)
{
    const uint32_t dims2[2] = {256, 3};
    unsigned char *data = malloc(256 * 3);
    unsigned char *big;
    soma_error e;
    soma_dataset *ds = NULL;
    size_t i, n_big = 3000 * 100;
    FILE *f;

    if (!data) {
        CHECK(!"malloc");
        return;
    }
    for (i = 0; i < 256 * 3; i++)
        data[i] = (unsigned char)(i / 3);
    {
        idx_bytes h = make_idx(0x08, 2, dims2, NULL, 0);
        f = fopen(tmp_path("two.idx"), "wb");
        CHECK(f && fwrite(h.b, 1, h.n, f) == h.n &&
              fwrite(data, 1, 256 * 3, f) == 256 * 3);
        if (f)
            fclose(f);
    }
    CHECK(soma_idx_read(tmp_path("two.idx"), NULL, NULL, 0, &ds, &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_rows == 256 && ds->n_features == 3);
        for (i = 0; i < 256 * 3; i++)
            if (ds->x[i] != (float)(i / 3) / 255.0f || ds->x[i] < 0.0f ||
                ds->x[i] > 1.0f) {
                CHECK(!"scaling");
                break;
            }
        CHECK(ds->x[255 * 3] == 1.0f);
    }
    soma_dataset_free(ds);
    ds = NULL;
    free(data);

    /* 300000 bytes: several chunks, the float array grows under gzip */
    big = malloc(n_big + 64);
    if (!big) {
        CHECK(!"malloc");
        return;
    }
    {
        const uint32_t dims3[3] = {3000, 10, 10};
        idx_bytes h = make_idx(0x08, 3, dims3, NULL, 0);
        memcpy(big, h.b, h.n);
        for (i = 0; i < n_big; i++)
            big[h.n + i] = (unsigned char)((i * 7919u) >> 3);
        CHECK(write_plain(tmp_path("big.idx"), big, h.n + n_big));
        CHECK(write_gz(tmp_path("big.gz"), big, h.n + n_big));
        {
            soma_dataset *a = NULL, *b = NULL;
            CHECK(soma_idx_read(tmp_path("big.idx"), NULL, NULL, 0, &a, &e) ==
                  SOMA_OK);
            CHECK(soma_idx_read(tmp_path("big.gz"), NULL, NULL, 0, &b, &e) ==
                  SOMA_OK);
            if (a && b) {
                CHECK(a->n_rows == 3000 && a->n_features == 100);
                CHECK(b->n_rows == 3000 && b->n_features == 100);
                CHECK(memcmp(a->x, b->x, n_big * sizeof(float)) == 0);
                CHECK(a->x[n_big - 1] == (float)big[h.n + n_big - 1] / 255.0f);
            }
            soma_dataset_free(a);
            soma_dataset_free(b);
        }
        /* two gzip members, as `cat a.gz b.gz` makes: one stream */
        {
            gzFile g;
            unsigned char *gz1;
            size_t n1, half = (h.n + n_big) / 2;
            soma_dataset *c = NULL;
            CHECK(write_gz(tmp_path("m1.gz"), big, half));
            gz1 = slurp(tmp_path("m1.gz"), &n1);
            g = gzopen(tmp_path("m2.gz"), "wb");
            CHECK(g && gzwrite(g, big + half, (unsigned)(h.n + n_big - half)) > 0);
            if (g)
                gzclose(g);
            f = fopen(tmp_path("m1.gz"), "ab");
            if (f && gz1) {
                size_t n2;
                unsigned char *gz2 = slurp(tmp_path("m2.gz"), &n2);
                CHECK(gz2 && fwrite(gz2, 1, n2, f) == n2);
                free(gz2);
            }
            if (f)
                fclose(f);
            free(gz1);
            CHECK(soma_idx_read(tmp_path("m1.gz"), NULL, NULL, 0, &c, &e) ==
                  SOMA_OK);
            if (c)
                CHECK(c->n_rows == 3000 &&
                      c->x[n_big - 1] == (float)big[h.n + n_big - 1] / 255.0f);
            soma_dataset_free(c);
        }
    }
    free(big);
}

static void test_model_classes(void)
{
    const char *order[] = {"7", "3", "1", "0", "9"};
    const char *numeric[] = {"0.0", "1", " 3", "7.0"};
    const char *missing[] = {"0", "1", "3"};
    const char *words[] = {"cat", "dog"};
    soma_error e;
    soma_dataset *ds = NULL;

    /* labels 3 1 3 0 7 onto the model's order */
    CHECK(soma_idx_read(tmp_path("img.gz"), tmp_path("lab.gz"), order, 5, &ds,
                        &e) == SOMA_OK);
    if (ds) {
        CHECK(ds->n_classes == 5);
        CHECK(strcmp(ds->class_names[0], "7") == 0 &&
              strcmp(ds->class_names[4], "9") == 0);
        CHECK(ds->y[0] == 1.0f && ds->y[1] == 2.0f && ds->y[2] == 1.0f &&
              ds->y[3] == 3.0f && ds->y[4] == 0.0f);
    }
    soma_dataset_free(ds);
    ds = NULL;
    /* matched by value too */
    CHECK(soma_idx_read(tmp_path("img.idx"), tmp_path("lab.idx"), numeric, 4,
                        &ds, &e) == SOMA_OK);
    if (ds)
        CHECK(ds->y[0] == 2.0f && ds->y[3] == 0.0f && ds->y[4] == 3.0f &&
              strcmp(ds->class_names[0], "0.0") == 0);
    soma_dataset_free(ds);
    ds = NULL;
    /* a label the model does not know: the labels file and the item */
    {
        char want[256];
        snprintf(want, sizeof want, "%s: item 4 (0-based): label 7 is not one of "
                 "the model's classes", tmp_path("lab.idx"));
        const char *w = want;
        CHECK_ERR(soma_idx_read(tmp_path("img.idx"), tmp_path("lab.idx"), missing,
                                3, &ds, &e),
                  SOMA_ERR_DATA, w, &e);
        CHECK_ERR(soma_idx_read(tmp_path("img.idx"), tmp_path("lab.idx"), words, 2,
                                &ds, &e),
                  SOMA_ERR_DATA, "item 0 (0-based): label 3", &e);
    }
    CHECK(ds == NULL);
    /* classes without labels are not needed and not an error */
    CHECK(soma_idx_read(tmp_path("img.idx"), NULL, order, 5, &ds, &e) == SOMA_OK);
    if (ds)
        CHECK(ds->y == NULL);
    soma_dataset_free(ds);
}

static void test_sniff(void)
{
    soma_error e;
    int is = -1;
    idx_bytes lb = labels_file(5);
    static const char csv[] = "a,b,y\n1,2,3\n";

    CHECK(soma_idx_sniff(tmp_path("img.idx"), &is, &e) == SOMA_OK && is == 1);
    is = -1;
    CHECK(soma_idx_sniff(tmp_path("img.gz"), &is, &e) == SOMA_OK && is == 1);
    is = -1;
    CHECK(soma_idx_sniff(tmp_path("lab.gz"), &is, &e) == SOMA_OK && is == 1);
    CHECK(write_plain(tmp_path("d.csv"), csv, sizeof csv - 1));
    CHECK(soma_idx_sniff(tmp_path("d.csv"), &is, &e) == SOMA_OK && is == 0);
    CHECK(write_gz(tmp_path("d.csv.gz"), csv, sizeof csv - 1));
    CHECK(soma_idx_sniff(tmp_path("d.csv.gz"), &is, &e) == SOMA_OK && is == 0);
    CHECK(write_plain(tmp_path("empty"), "", 0));
    CHECK(soma_idx_sniff(tmp_path("empty"), &is, &e) == SOMA_OK && is == 0);
    CHECK(write_plain(tmp_path("one"), "\0", 1));
    CHECK(soma_idx_sniff(tmp_path("one"), &is, &e) == SOMA_OK && is == 0);
    /* the name does not matter */
    CHECK(write_plain(tmp_path("labels.csv"), lb.b, lb.n));
    CHECK(soma_idx_sniff(tmp_path("labels.csv"), &is, &e) == SOMA_OK && is == 1);
    /* a float IDX file is IDX too, so the reader can say what is wrong */
    {
        const uint32_t dims[2] = {1, 1};
        static const unsigned char four[4] = {0, 0, 0, 0};
        idx_bytes fl = make_idx(0x0D, 2, dims, four, 4);
        CHECK(write_plain(tmp_path("float.idx"), fl.b, fl.n));
        CHECK(soma_idx_sniff(tmp_path("float.idx"), &is, &e) == SOMA_OK && is == 1);
    }
    {
        char want[200];
        snprintf(want, sizeof want, "%s: cannot open: ", tmp_path("none"));
        const char *w = want;
        CHECK_ERR(soma_idx_sniff(tmp_path("none"), &is, &e), SOMA_ERR_IO, w, &e);
        CHECK_ERR(soma_idx_sniff(tmp_dir, &is, &e), SOMA_ERR_IO, "cannot read", &e);
    }
    CHECK_ERR(soma_idx_sniff(NULL, &is, &e), SOMA_ERR_ARG, "path", &e);
    CHECK_ERR(soma_idx_sniff(tmp_path("img.idx"), NULL, &e), SOMA_ERR_ARG,
              "is_idx", &e);
    /* a gzip header that breaks before any data */
    CHECK(write_plain(tmp_path("badgz"), "\x1f\x8b\x08\x00\x00", 5));
    CHECK_ERR(soma_idx_sniff(tmp_path("badgz"), &is, &e), SOMA_ERR_FORMAT,
              "gzip", &e);
}

/* Writes bytes to name (plain or gzipped) and checks that reading them as
 * images (labels NULL) or as the labels of the fixture's images fails with
 * status and a message holding the path and sub. */
static void expect(const char *name, const void *bytes, size_t n, int gz,
                   int as_labels, soma_status status, const char *sub)
{
    const char *path = tmp_path(name);
    soma_error e;
    soma_dataset *ds = (soma_dataset *)&e; /* must be reset to NULL */
    soma_status st;
    if (!(gz ? write_gz(path, bytes, n) : write_plain(path, bytes, n))) {
        CHECK(!"write");
        return;
    }
    st = as_labels ? soma_idx_read(tmp_path("img.idx"), path, NULL, 0, &ds, &e)
                   : soma_idx_read(path, NULL, NULL, 0, &ds, &e);
    if (st != status || !strstr(e.message, sub) || !strstr(e.message, path) ||
        ds != NULL || e.code != status) {
        printf("  %s: status %d '%s', wanted %d with '%s'\n", name, (int)st,
               e.message, (int)status, sub);
        CHECK(!"error");
        if (st == SOMA_OK)
            soma_dataset_free(ds);
    }
}

static void test_header_errors(void)
{
    idx_bytes im = images_file(), lb;
    const uint32_t d1[1] = {5}, d2[2] = {5, 6}, d4[4] = {5, 1, 2, 3};
    idx_bytes f;
    int gz;

    for (gz = 0; gz < 2; gz++) {
        f = im;
        f.b[0] = 1;
        expect("magic", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
               "not an IDX file (magic 01 00 08 03, wanted 00 00 08 0N)");
        f = im;
        f.b[2] = 0x0D;
        expect("float", f.b, f.n, gz, 0, SOMA_ERR_UNSUPPORTED,
               "unsupported IDX type 0x0D (float32); soma reads unsigned bytes");
        f.b[2] = 0x0B;
        expect("short", f.b, f.n, gz, 0, SOMA_ERR_UNSUPPORTED, "0x0B (int16)");
        f.b[2] = 0x09;
        expect("int8", f.b, f.n, gz, 0, SOMA_ERR_UNSUPPORTED, "0x09 (int8)");
        f.b[2] = 0x07;
        expect("type7", f.b, f.n, gz, 0, SOMA_ERR_FORMAT, "unknown IDX type 0x07");
        f = make_idx(0x08, 1, d1, pixels, 5);
        expect("dims1", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
               "images need 2 or 3 dimensions, this file has 1 (a labels file?)");
        f = make_idx(0x08, 4, d4, pixels, 30);
        expect("dims4", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
               "images need 2 or 3 dimensions, this file has 4");
        f = make_idx(0x08, 0, NULL, NULL, 0);
        expect("dims0", f.b, f.n, gz, 0, SOMA_ERR_FORMAT, "this file has 0");
        /* an images file given as labels */
        expect("labels3", im.b, im.n, gz, 1, SOMA_ERR_FORMAT,
               "a labels file has 1 dimension, this one has 3 (an images file?)");
        f = make_idx(0x08, 2, d2, pixels, 30);
        expect("labels2", f.b, f.n, gz, 1, SOMA_ERR_FORMAT,
               "a labels file has 1 dimension, this one has 2");
        /* zero dimensions */
        {
            const uint32_t z0[3] = {0, 2, 3}, z2[3] = {5, 2, 0}, l0[1] = {0};
            f = make_idx(0x08, 3, z0, NULL, 0);
            expect("zero_n", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
                   "dimension 1 of the header is 0 (no images)");
            f = make_idx(0x08, 3, z2, NULL, 0);
            expect("zero_cols", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
                   "dimension 3 of the header is 0");
            f = make_idx(0x08, 1, l0, NULL, 0);
            expect("zero_labels", f.b, f.n, gz, 1, SOMA_ERR_FORMAT,
                   "dimension 1 of the header is 0 (no labels)");
        }
        /* sizes that overflow: the int feature count, then size_t */
        {
            const uint32_t wide[3] = {1, 0x10000, 0x8000};
            const uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFu, 0x7FFFu};
            f = make_idx(0x08, 3, wide, NULL, 0);
            expect("wide", f.b, f.n, gz, 0, SOMA_ERR_FORMAT, "sizes overflow");
            f = make_idx(0x08, 3, huge, NULL, 0);
            expect("huge", f.b, f.n, gz, 0, SOMA_ERR_FORMAT, "sizes overflow");
        }
        /* short headers */
        expect("empty", "", 0, gz, 0, SOMA_ERR_FORMAT,
               "0 bytes, too short for an IDX header");
        expect("three", im.b, 3, gz, 0, SOMA_ERR_FORMAT,
               "3 bytes, too short for an IDX header");
        expect("half_header", im.b, 10, gz, 0, SOMA_ERR_FORMAT,
               "truncated header: 3 dimensions need 16 bytes, the file has 10");
        lb = labels_file(5);
        expect("half_labels_header", lb.b, 6, gz, 1, SOMA_ERR_FORMAT,
               "truncated header: 1 dimension needs 8 bytes, the file has 6");
    }
}

static void test_data_errors(void)
{
    idx_bytes im = images_file(), lb;
    unsigned char buf[4200];
    int gz;

    for (gz = 0; gz < 2; gz++) {
        const char *unc = gz ? " (uncompressed)" : "";
        char want[200];
        snprintf(want, sizeof want,
                 "truncated: the header says 5 images of 2x3 = 30 bytes, the file "
                 "has 29%s", unc);
        expect("short_data", im.b, im.n - 1, gz, 0, SOMA_ERR_FORMAT, want);
        snprintf(want, sizeof want,
                 "truncated: the header says 5 images of 2x3 = 30 bytes, the file "
                 "has 0%s", unc);
        expect("no_data", im.b, 16, gz, 0, SOMA_ERR_FORMAT, want);
        memcpy(buf, im.b, im.n);
        buf[im.n] = 9;
        expect("trailing", buf, im.n + 1, gz, 0, SOMA_ERR_FORMAT,
               gz ? "bytes after the data (the header says 5 images of 2x3 = 30 "
                    "bytes)"
                  : "1 byte after the data (the header says 5 images");
        {
            const uint32_t d2[2] = {5, 6};
            idx_bytes f = make_idx(0x08, 2, d2, pixels, 29);
            expect("short_2d", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
                   "the header says 5 rows of 6 = 30 bytes");
        }
        lb = labels_file(5);
        expect("short_labels", lb.b, lb.n - 1, gz, 1, SOMA_ERR_FORMAT,
               "the header says 5 labels = 5 bytes, the file has 4");
        /* a header that claims far more than the file holds: an error, not
         * an attempt to allocate the claim (that would be SOMA_ERR_NOMEM) */
        {
            const uint32_t big[3] = {0xFFFFFFFFu, 0x4000, 0x4000};
            idx_bytes f = make_idx(0x08, 3, big, pixels, 30);
            expect("claims_exabytes", f.b, f.n, gz, 0, SOMA_ERR_FORMAT,
                   "truncated: the header says 4294967295 images of 16384x16384");
        }
    }
    /* images against labels: counted before any data is read */
    {
        char want[300];
        lb = labels_file(4);
        CHECK(write_gz(tmp_path("lab4.gz"), lb.b, lb.n));
        snprintf(want, sizeof want, "%s has 5 images but %s has 4 labels",
                 tmp_path("img.idx"), tmp_path("lab4.gz"));
        const char *w = want;
        soma_error e;
        soma_dataset *ds = NULL;
        CHECK_ERR(soma_idx_read(tmp_path("img.idx"), tmp_path("lab4.gz"), NULL, 0,
                                &ds, &e),
                  SOMA_ERR_DATA, w, &e);
        CHECK(ds == NULL);
    }
}

static void test_gzip_errors(void)
{
    unsigned char *gz;
    size_t n;
    soma_error e;
    soma_dataset *ds = NULL;

    gz = slurp(tmp_path("img.gz"), &n);
    if (!gz || n < 20) {
        CHECK(!"slurp");
        free(gz);
        return;
    }
    /* a flipped bit in the compressed data or in the CRC */
    {
        unsigned char *c = malloc(n + 8);
        size_t at;
        int errors = 0;
        if (!c) {
            CHECK(!"malloc");
            free(gz);
            return;
        }
        for (at = 10; at < n; at++) {
            soma_status st;
            memcpy(c, gz, n);
            c[at] ^= 0x10;
            CHECK(write_plain(tmp_path("flip.gz"), c, n));
            st = soma_idx_read(tmp_path("flip.gz"), NULL, NULL, 0, &ds, &e);
            if (st == SOMA_OK) {
                soma_dataset_free(ds);
                ds = NULL;
            } else {
                errors++;
                CHECK(strstr(e.message, tmp_path("flip.gz")) != NULL);
            }
        }
        /* the CRC and the length are checked: every flip is caught */
        CHECK(errors == (int)(n - 10));
        /* the last byte of the CRC */
        memcpy(c, gz, n);
        c[n - 5] ^= 1;
        CHECK(write_plain(tmp_path("crc.gz"), c, n));
        CHECK_ERR(soma_idx_read(tmp_path("crc.gz"), NULL, NULL, 0, &ds, &e),
                  SOMA_ERR_FORMAT, "corrupt gzip data: incorrect data check", &e);
        /* cut inside the compressed stream */
        CHECK(write_plain(tmp_path("cut.gz"), gz, n - 3));
        CHECK_ERR(soma_idx_read(tmp_path("cut.gz"), NULL, NULL, 0, &ds, &e),
                  SOMA_ERR_FORMAT, "truncated gzip data", &e);
        /* junk after the gzip member */
        memcpy(c, gz, n);
        memcpy(c + n, "junk", 4);
        CHECK(write_plain(tmp_path("junk.gz"), c, n + 4));
        CHECK_ERR(soma_idx_read(tmp_path("junk.gz"), NULL, NULL, 0, &ds, &e),
                  SOMA_ERR_FORMAT, "bytes after the end of the gzip data", &e);
        free(c);
    }
    free(gz);
    CHECK(ds == NULL);
}

static void test_bad_arguments(void)
{
    const char *cls[] = {"a", NULL};
    soma_error e;
    soma_dataset *ds = (soma_dataset *)&e;

    CHECK_ERR(soma_idx_read(NULL, NULL, NULL, 0, &ds, &e), SOMA_ERR_ARG,
              "images is NULL", &e);
    CHECK(ds == NULL);
    CHECK_ERR(soma_idx_read(tmp_path("img.idx"), NULL, NULL, 0, NULL, &e),
              SOMA_ERR_ARG, "out is NULL", &e);
    CHECK_ERR(soma_idx_read(tmp_path("img.idx"), NULL, NULL, 2, &ds, &e),
              SOMA_ERR_ARG, "class list", &e);
    CHECK_ERR(soma_idx_read(tmp_path("img.idx"), NULL, cls, 0, &ds, &e),
              SOMA_ERR_ARG, "class list", &e);
    CHECK_ERR(soma_idx_read(tmp_path("img.idx"), NULL, cls, -1, &ds, &e),
              SOMA_ERR_ARG, "class list", &e);
    CHECK_ERR(soma_idx_read(tmp_path("img.idx"), NULL, cls, 2, &ds, &e),
              SOMA_ERR_ARG, "classes[1] is NULL", &e);
    {
        char want[200];
        snprintf(want, sizeof want, "%s: cannot open: ", tmp_path("nope.gz"));
        const char *w = want;
        CHECK_ERR(soma_idx_read(tmp_path("nope.gz"), NULL, NULL, 0, &ds, &e),
                  SOMA_ERR_IO, w, &e);
        CHECK_ERR(soma_idx_read(tmp_path("img.idx"), tmp_path("nope.gz"), NULL, 0,
                                &ds, &e),
                  SOMA_ERR_IO, w, &e);
    }
    CHECK_ERR(soma_idx_read(tmp_dir, NULL, NULL, 0, &ds, &e), SOMA_ERR_IO,
              "cannot read", &e);
    CHECK(ds == NULL);
    /* a NULL err is allowed */
    CHECK(soma_idx_read(tmp_path("nope.gz"), NULL, NULL, 0, &ds, NULL) ==
          SOMA_ERR_IO);
}

/* Runs one load with the k-th allocation failing, for every k until a load
 * succeeds: each must give OK or SOMA_ERR_NOMEM naming a file, and the
 * sanitizer build checks that nothing leaks. */
static void alloc_sweep(const char *images, const char *labels,
                        const char *const *classes, int n_classes)
{
    unsigned long k;
    for (k = 1; k < 1000; k++) {
        soma_error e;
        soma_dataset *ds = NULL;
        soma_status st;
        soma_debug_fail_after(k);
        st = soma_idx_read(images, labels, classes, n_classes, &ds, &e);
        if (st == SOMA_OK) {
            CHECK(soma_debug_alloc_count() < k);
            soma_dataset_free(ds);
            break;
        }
        CHECK(ds == NULL);
        if (st != SOMA_ERR_NOMEM || !strstr(e.message, ": out of memory")) {
            printf("  k = %lu: %s\n", k, e.message);
            CHECK(!"SOMA_ERR_NOMEM");
            break;
        }
    }
    soma_debug_fail_after(0);
    CHECK(k > 3 && k < 1000);
    for (k = 1; k < 100; k++) {
        soma_error e;
        int is = -1;
        soma_status st;
        soma_debug_fail_after(k);
        st = soma_idx_sniff(images, &is, &e);
        if (st == SOMA_OK) {
            CHECK(is == 1);
            break;
        }
        CHECK(st == SOMA_ERR_NOMEM);
    }
    soma_debug_fail_after(0);
}

static void test_alloc_failures(void)
{
    const char *cls[] = {"0", "1", "3", "7"};
    alloc_sweep(tmp_path("img.idx"), tmp_path("lab.idx"), NULL, 0);
    alloc_sweep(tmp_path("img.gz"), tmp_path("lab.gz"), NULL, 0);
    alloc_sweep(tmp_path("img.gz"), tmp_path("lab.idx"), cls, 4);
    alloc_sweep(tmp_path("big.gz"), NULL, NULL, 0);
    alloc_sweep(tmp_path("m1.gz"), NULL, NULL, 0);
}

/* Reads bytes written to name as images, and as the fixture's labels: the
 * result must be a sound data set or an error naming the file. */
static void fuzz_one(const unsigned char *bytes, size_t n, int *bad)
{
    const char *path = tmp_path("fuzz");
    int as_labels, is = -1;
    soma_error e;
    if (!write_plain(path, bytes, n)) {
        (*bad)++;
        return;
    }
    if (soma_idx_sniff(path, &is, &e) != SOMA_OK &&
        (e.message[0] == '\0' || !strstr(e.message, path)))
        (*bad)++;
    for (as_labels = 0; as_labels < 2; as_labels++) {
        soma_dataset *ds = NULL;
        soma_status st =
            as_labels ? soma_idx_read(tmp_path("img.idx"), path, NULL, 0, &ds, &e)
                      : soma_idx_read(path, NULL, NULL, 0, &ds, &e);
        if (st == SOMA_OK) {
            size_t i, total = ds->n_rows * (size_t)ds->n_features;
            if (!ds->x || ds->n_rows == 0 || ds->n_features < 1)
                (*bad)++;
            for (i = 0; ds->x && i < total; i++)
                if (!(ds->x[i] >= 0.0f && ds->x[i] <= 1.0f)) {
                    (*bad)++;
                    break;
                }
            for (i = 0; as_labels && i < ds->n_rows; i++)
                if (!(ds->y[i] >= 0.0f && ds->y[i] < (float)ds->n_classes)) {
                    (*bad)++;
                    break;
                }
            soma_dataset_free(ds);
        } else if (ds != NULL || e.code != st || e.message[0] == '\0' ||
                   !strstr(e.message, path)) {
            printf("  status %d: '%s'\n", (int)st, e.message);
            (*bad)++;
        }
    }
}

static void test_fuzz(void)
{
    static const char *const seeds[] = {"img.idx", "img.gz", "lab.idx", "lab.gz"};
    soma_rng rng;
    int bad = 0, s, i;

    soma_rng_seed(&rng, 2051);
    for (s = 0; s < 4; s++) {
        size_t n, len;
        unsigned char *orig = slurp(tmp_path(seeds[s]), &n);
        unsigned char *buf = calloc(n + 8, 1); /* bytes past n are read when a mutation lengthens the input */
        if (!orig || !buf) {
            CHECK(!"slurp");
            free(orig);
            free(buf);
            continue;
        }
        /* every prefix */
        for (len = 0; len < n; len++) {
            memcpy(buf, orig, len);
            fuzz_one(buf, len, &bad);
        }
        /* random mutations: a few bytes changed, some cut off or added */
        for (i = 0; i < 750; i++) {
            int m, n_mut = 1 + (int)soma_rng_below(&rng, 3);
            memcpy(buf, orig, n);
            len = n;
            if (soma_rng_below(&rng, 4) == 0)
                len = n - (size_t)soma_rng_below(&rng, 4);
            else if (soma_rng_below(&rng, 4) == 0)
                len = n + (size_t)soma_rng_below(&rng, 8);
            for (m = 0; m < n_mut; m++) {
                size_t at = (size_t)soma_rng_below(&rng, len);
                static const unsigned char pick[] = {0, 1, 3, 8, 0xFF, 0x1f, 0x8b};
                buf[at] = soma_rng_below(&rng, 2)
                              ? pick[soma_rng_below(&rng, sizeof pick)]
                              : (unsigned char)soma_rng_below(&rng, 256);
            }
            fuzz_one(buf, len, &bad);
        }
        free(orig);
        free(buf);
    }
    CHECK(bad == 0);
}

/* Removes the temporary directory and everything the tests left in it. */
static void remove_tmp(void)
{
    DIR *d = opendir(tmp_dir);
    struct dirent *ent;
    if (!d)
        return;
    while ((ent = readdir(d)) != NULL)
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
            unlink(tmp_path(ent->d_name));
    closedir(d);
    rmdir(tmp_dir);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/soma_test_idx_XXXXXX");
    if (!mkdtemp(tmp_dir) || !write_fixture()) {
        printf("FAIL setup (cannot write to %s)\n", tmp_dir);
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_shapes);
    RUN(test_model_classes);
    RUN(test_sniff);
    RUN(test_header_errors);
    RUN(test_data_errors);
    RUN(test_gzip_errors);
    RUN(test_bad_arguments);
    RUN(test_alloc_failures);
    RUN(test_fuzz);
    remove_tmp();
    return harness_summary();
}
