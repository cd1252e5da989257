/*
 * fuzz_idx.c - libFuzzer target for the IDX reader (soma_idx_read,
 * soma_idx_sniff).
 *
 * soma_idx_read takes paths, so the input is cut into an images file and
 * an optional labels file, written to per-process temporary files:
 *   byte 0        flags: 1 a labels file, 2 gzip the images, 4 gzip the
 *                 labels (the target compresses, so that the reader's gzip
 *                 path sees valid streams of fuzzed content; raw gzip bytes
 *                 in the input reach it too), 8 a class list, 16 also run
 *                 soma_idx_sniff on both files
 *   [flags & 8]   one byte k, then k + 1 pairs (value, style): class names
 *                 "V", "V.0", " V" or "LV" (style & 3)
 *   [flags & 1]   a little-endian u16 length L, then L bytes of labels file
 *   the rest      the images file
 *
 * Checks on every input: no crash, leak or undefined behaviour, at most
 * IDX_MEM_FACTOR * (input bytes + uncompressed bytes) + IDX_MEM_SLACK bytes
 * live at once (memory follows the data that arrives; for gzip that is the
 * uncompressed data), a one-line message on failure. On success: the shape
 * matches the header, every pixel is byte / 255 of the images' bytes (when
 * the target knows them uncompressed), labels are class indices.
 */
#include "fuzz_common.h"

#include "soma.h"

#include <math.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MEM_FACTOR 16
#define IDX_MEM_SLACK (1024 * 1024)
/* Uncompressed bytes the target counts in a raw gzip input before giving
 * up counting (the bound then uses the cap; the reader reads on). */
#define INFLATE_CAP (64u << 20)

static char images_path[256], labels_path[256];

/* gzip-compresses data [n] into a new buffer *out [*out_n]. */
static void gzip_bytes(const uint8_t *data, size_t n, uint8_t **out, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    FUZZ_ASSERT(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) ==
                Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    *out = malloc(cap);
    FUZZ_ASSERT(*out);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = *out;
    z.avail_out = (uInt)cap;
    FUZZ_ASSERT(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
}

/* The uncompressed size of a (possibly multi-member) gzip buffer, counted
 * up to INFLATE_CAP; 0 when data is not gzip. Stops at the first error. */
static size_t gunzip_size(const uint8_t *data, size_t n)
{
    if (n < 2 || data[0] != 0x1f || data[1] != 0x8b)
        return 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return 0;
    static uint8_t buf[65536];
    size_t total = 0;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    while (total < INFLATE_CAP) {
        z.next_out = buf;
        z.avail_out = sizeof buf;
        int r = inflate(&z, Z_NO_FLUSH);
        total += sizeof buf - z.avail_out;
        if (r == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            inflateReset(&z);
            continue;
        }
        if (r != Z_OK)
            break;
    }
    inflateEnd(&z);
    return total;
}

static void write_file(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f);
    FUZZ_ASSERT(fwrite(data, 1, n, f) == n);
    FUZZ_ASSERT(fclose(f) == 0);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Checks ds against the plain images bytes img [n] (NULL: unknown). */
static void check_dataset(const soma_dataset *ds, const uint8_t *img, size_t n,
                          int labels, int n_classes)
{
    FUZZ_ASSERT(ds->n_rows >= 1 && ds->n_features >= 1 && ds->x);
    FUZZ_ASSERT(ds->feature_names == NULL && ds->line == NULL);
    size_t total = ds->n_rows * (size_t)ds->n_features;
    for (size_t i = 0; i < total; i++)
        FUZZ_ASSERT(ds->x[i] >= 0.0f && ds->x[i] <= 1.0f);
    if (img) {
        FUZZ_ASSERT(n >= 4 && (img[3] == 2 || img[3] == 3));
        size_t header = 4 + 4 * (size_t)img[3];
        FUZZ_ASSERT(n == header + total);
        FUZZ_ASSERT(be32(img + 4) == ds->n_rows);
        for (size_t i = 0; i < total; i++)
            FUZZ_ASSERT(ds->x[i] == (float)img[header + i] / 255.0f);
    }
    if (!labels) {
        FUZZ_ASSERT(!ds->y && !ds->target_name && ds->n_classes == 0);
        return;
    }
    FUZZ_ASSERT(ds->y && ds->target_name && strcmp(ds->target_name, "label") == 0);
    FUZZ_ASSERT(ds->n_classes >= 1 && ds->class_names);
    if (n_classes)
        FUZZ_ASSERT(ds->n_classes == n_classes);
    for (int c = 0; c < ds->n_classes; c++)
        FUZZ_ASSERT(ds->class_names[c] != NULL);
    for (size_t i = 0; i < ds->n_rows; i++)
        FUZZ_ASSERT(ds->y[i] >= 0.0f && ds->y[i] < (float)ds->n_classes &&
                    ds->y[i] == floorf(ds->y[i]));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_mem_init();
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(images_path, sizeof images_path, "%s/soma-fuzz-idx-%ld-images", dir,
             (long)getpid());
    snprintf(labels_path, sizeof labels_path, "%s/soma-fuzz-idx-%ld-labels", dir,
             (long)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size};
    unsigned flags = fuzz_byte(&r);

    char names[32][8];
    const char *classes[32];
    int n_classes = 0;
    if (flags & 8) {
        n_classes = (int)(fuzz_byte(&r) % 32) + 1;
        for (int c = 0; c < n_classes; c++) {
            unsigned v = fuzz_byte(&r), style = fuzz_byte(&r) & 3;
            static const char *const fmt[4] = {"%u", "%u.0", " %u", "L%u"};
            snprintf(names[c], sizeof names[c], fmt[style], v);
            classes[c] = names[c];
        }
    }
    const uint8_t *lab = NULL;
    size_t lab_n = 0;
    if (flags & 1) {
        size_t len = fuzz_byte(&r);
        len |= (size_t)fuzz_byte(&r) << 8;
        lab_n = len < r.n ? len : r.n;
        lab = r.p;
        r.p += lab_n;
        r.n -= lab_n;
    }
    const uint8_t *img = r.p;
    size_t img_n = r.n;

    /* what the reader will see, and its uncompressed size */
    uint8_t *gz_img = NULL, *gz_lab = NULL;
    size_t unpacked = 0;
    const uint8_t *img_file = img, *lab_file = lab;
    size_t img_file_n = img_n, lab_file_n = lab_n;
    if (flags & 2) {
        gzip_bytes(img, img_n, &gz_img, &img_file_n);
        img_file = gz_img;
        unpacked += img_n;
    } else {
        unpacked += gunzip_size(img, img_n);
    }
    if (flags & 1) {
        if (flags & 4) {
            gzip_bytes(lab, lab_n, &gz_lab, &lab_file_n);
            lab_file = gz_lab;
            unpacked += lab_n;
        } else {
            unpacked += gunzip_size(lab, lab_n);
        }
        write_file(labels_path, lab_file, lab_file_n);
    }
    write_file(images_path, img_file, img_file_n);

    soma_error err;
    if (flags & 16) {
        int is_idx = -1;
        soma_status st = soma_idx_sniff(images_path, &is_idx, &err);
        FUZZ_ASSERT(st == SOMA_OK ? (is_idx == 0 || is_idx == 1)
                                  : err.message[0] != '\0');
        /* plain bytes: the verdict is just "starts with two zeros" */
        if (st == SOMA_OK && !(flags & 2) && !(img_n >= 2 && img[0] == 0x1f && img[1] == 0x8b))
            FUZZ_ASSERT(is_idx == (img_n >= 2 && img[0] == 0 && img[1] == 0));
    }

    soma_dataset *ds = NULL;
    fuzz_mem_begin();
    soma_status st = soma_idx_read(images_path, (flags & 1) ? labels_path : NULL,
                                   n_classes ? classes : NULL, n_classes, &ds, &err);
    fuzz_mem_check("soma_idx_read",
                   IDX_MEM_FACTOR * (size + unpacked) + IDX_MEM_SLACK, size);
    if (st != SOMA_OK) {
        FUZZ_ASSERT(ds == NULL);
        FUZZ_ASSERT(err.code == st && err.message[0] != '\0');
        FUZZ_ASSERT(strchr(err.message, '\n') == NULL);
    } else {
        int plain = (flags & 2) || gunzip_size(img, img_n) == 0;
        check_dataset(ds, plain ? img : NULL, img_n, flags & 1, n_classes);
        soma_dataset_free(ds);
    }
    unlink(images_path);
    if (flags & 1)
        unlink(labels_path);
    free(gz_img);
    free(gz_lab);
    return 0;
}
