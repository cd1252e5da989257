/*
 * idx.c - the IDX reader (the format of MNIST and Fashion-MNIST): unsigned
 * byte images and labels, plain or gzip-compressed, into a soma_dataset.
 *
 * Layout, integers big-endian:
 *   bytes 0-1       zero
 *   byte  2         element type: 0x08 unsigned byte (the only one read
 *                   here); 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32
 *                   and 0x0E float64 exist and are refused as unsupported
 *   byte  3         number of dimensions D: 1 for labels [n], 2 or 3 for
 *                   images [n, d] or [n, rows, cols]
 *   4 .. 4 + 4D     each dimension as a u32, none of them 0
 *   then            the product of the dimensions, one byte each, row-major,
 *                   and nothing after
 *
 * Memory follows the bytes that arrive, never the header: a header may
 * claim 2^32 images in a file of a few bytes. Data is read in chunks and
 * converted into the float array as it comes, the array growing (up to the
 * declared size) as the chunks arrive; a plain file's size is checked
 * against the header before anything is allocated. Peak memory is therefore
 * the floats plus two chunks, never a second copy of the raw bytes.
 *
 * Decompression is zlib's inflate with its allocations routed through
 * soma_alloc (gzopen cannot take an allocator), so failure injection and the
 * library's one-allocator rule cover it. Concatenated gzip members are read
 * as one stream, as gzip -d does; the CRC and length of each are checked.
 */
#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_CHUNK 65536
#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_DIMS 3

/* One input file, plain or gzip, read as a byte stream. */
typedef struct idx_src {
    const char *path;
    soma_error *err;
    FILE *f;
    long long file_size;     /* a plain regular file's size, else -1 */
    unsigned char head[2];   /* plain: the bytes read to tell gzip apart, */
    size_t n_head;           /* delivered first (a pipe cannot rewind)    */
    int gz;
    z_stream zs;
    int zs_live;             /* inflateInit2 succeeded: inflateEnd is owed */
    int zs_done;             /* the last gzip member ended with the file */
    unsigned char *in;       /* [IDX_CHUNK] compressed input (gzip only) */
} idx_src;

/* A parsed header. */
typedef struct idx_header {
    int n_dims;
    uint32_t dims[IDX_MAX_DIMS];
    size_t header_size;      /* 4 + 4 * n_dims */
    size_t n_items;          /* dims[0] */
    size_t item_size;        /* product of the other dimensions (1 for labels) */
    size_t total;            /* n_items * item_size bytes of data */
} idx_header;

static soma_status no_memory(soma_error *err, const char *path)
{
    return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", path);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return soma_alloc_array(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    soma_free(p);
}

/* ---- the byte stream ---------------------------------------------------- */

static soma_status read_error(idx_src *s)
{
    int e = errno;
    return soma_fail(s->err, SOMA_ERR_IO, "%s: cannot read: %s", s->path,
                     e ? strerror(e) : "read error");
}

/* Reads up to n raw file bytes; *got < n only at the end of the file. */
static soma_status file_read(idx_src *s, unsigned char *buf, size_t n, size_t *got)
{
    errno = 0;
    *got = fread(buf, 1, n, s->f);
    if (*got < n && ferror(s->f))
        return read_error(s);
    return SOMA_OK;
}

/* Opens path and decides by its first two bytes whether it is gzip. */
static soma_status src_open(idx_src *s, const char *path, soma_error *err)
{
    struct stat sb;
    unsigned char magic[2];
    size_t got;
    soma_status st;

    memset(s, 0, sizeof *s);
    s->path = path;
    s->err = err;
    s->file_size = -1;
    s->f = fopen(path, "rb");
    if (!s->f)
        return soma_fail(err, SOMA_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    if (fstat(fileno(s->f), &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return soma_fail(err, SOMA_ERR_IO, "%s: cannot read: %s", path,
                             strerror(EISDIR));
        if (S_ISREG(sb.st_mode))
            s->file_size = (long long)sb.st_size;
    }
    st = file_read(s, magic, 2, &got);
    if (st)
        return st;
    s->gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!s->gz) {
        memcpy(s->head, magic, got);
        s->n_head = got;
        return SOMA_OK;
    }
    s->file_size = -1; /* the uncompressed size is unknown */
    s->in = soma_alloc(IDX_CHUNK);
    if (!s->in)
        return no_memory(err, path);
    memcpy(s->in, magic, 2);
    s->zs.next_in = s->in;
    s->zs.avail_in = 2;
    s->zs.zalloc = z_alloc;
    s->zs.zfree = z_free;
    s->zs.opaque = Z_NULL;
    /* 15 + 16: the largest window, gzip wrapper only */
    switch (inflateInit2(&s->zs, 15 + 16)) {
    case Z_OK:
        s->zs_live = 1;
        return SOMA_OK;
    case Z_MEM_ERROR:
        return no_memory(err, path);
    default:
        return soma_fail(err, SOMA_ERR_UNSUPPORTED, "%s: zlib cannot start: %s",
                         path, s->zs.msg ? s->zs.msg : "version mismatch");
    }
}

static void src_close(idx_src *s)
{
    if (s->zs_live)
        inflateEnd(&s->zs);
    if (s->f)
        fclose(s->f);
    soma_free(s->in);
    s->zs_live = 0;
    s->f = NULL;
    s->in = NULL;
}

/* Inflates up to n bytes into buf; *got < n only at the end of the data. */
static soma_status gz_read(idx_src *s, unsigned char *buf, size_t n, size_t *got)
{
    z_stream *z = &s->zs;
    *got = 0;
    while (*got < n && !s->zs_done) {
        uInt room = n - *got > UINT_MAX ? UINT_MAX : (uInt)(n - *got);
        int r;
        if (z->avail_in == 0) {
            size_t m;
            soma_status st = file_read(s, s->in, IDX_CHUNK, &m);
            if (st)
                return st;
            z->next_in = s->in;
            z->avail_in = (uInt)m;
        }
        z->next_out = buf + *got;
        z->avail_out = room;
        r = inflate(z, Z_NO_FLUSH);
        *got += room - z->avail_out;
        switch (r) {
        case Z_OK:
            continue;
        case Z_STREAM_END: {
            /* another gzip member may follow (gzip -d reads them all) */
            size_t m = 0;
            if (z->avail_in == 0) {
                soma_status st = file_read(s, s->in, IDX_CHUNK, &m);
                if (st)
                    return st;
                z->next_in = s->in;
                z->avail_in = (uInt)m;
            }
            if (z->avail_in == 0) {
                s->zs_done = 1;
                break;
            }
            if (z->next_in[0] != 0x1f)
                return soma_fail(s->err, SOMA_ERR_FORMAT,
                                 "%s: bytes after the end of the gzip data",
                                 s->path);
            inflateReset(z);
            continue;
        }
        case Z_BUF_ERROR:
            /* no progress possible: the input ran out mid-stream */
            if (z->avail_in == 0)
                return soma_fail(s->err, SOMA_ERR_FORMAT,
                                 "%s: truncated gzip data (the file ends inside "
                                 "the compressed stream)", s->path);
            return soma_fail(s->err, SOMA_ERR_FORMAT, "%s: corrupt gzip data",
                             s->path);
        case Z_MEM_ERROR:
            return no_memory(s->err, s->path);
        default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return soma_fail(s->err, SOMA_ERR_FORMAT, "%s: corrupt gzip data: %s",
                             s->path, z->msg ? z->msg : "bad stream");
        }
    }
    return SOMA_OK;
}

/* Reads up to n bytes of a plain file, the peeked ones first. */
static soma_status plain_read(idx_src *s, unsigned char *buf, size_t n,
                              size_t *got)
{
    size_t k = s->n_head < n ? s->n_head : n, m;
    soma_status st;
    memcpy(buf, s->head, k);
    memmove(s->head, s->head + k, s->n_head - k);
    s->n_head -= k;
    st = file_read(s, buf + k, n - k, &m);
    *got = k + m;
    return st;
}

/* Reads up to n bytes of the (uncompressed) stream; *got < n only at the
 * end of the data. */
static soma_status src_read(idx_src *s, unsigned char *buf, size_t n, size_t *got)
{
    return s->gz ? gz_read(s, buf, n, got) : plain_read(s, buf, n, got);
}

/* ---- header ------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static const char *type_name(int type)
{
    switch (type) {
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return NULL;
}

static const char *file_kind(int labels)
{
    return labels ? "labels" : "images";
}

/* Reads and checks the header of an images (labels = 0) or labels file. */
static soma_status read_header(idx_src *s, int labels, idx_header *h)
{
    unsigned char b[4 + 4 * IDX_MAX_DIMS];
    size_t got, i;
    soma_status st;
    int type;

    memset(h, 0, sizeof *h);
    st = src_read(s, b, 4, &got);
    if (st)
        return st;
    if (got < 4)
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: %zu byte%s, too short for an IDX header", s->path,
                         got, got == 1 ? "" : "s");
    if (b[0] != 0 || b[1] != 0)
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: not an IDX file (magic %02x %02x %02x %02x, wanted "
                         "00 00 08 0N)", s->path, b[0], b[1], b[2], b[3]);
    type = b[2];
    if (type != IDX_TYPE_UBYTE) {
        if (type_name(type))
            return soma_fail(s->err, SOMA_ERR_UNSUPPORTED,
                             "%s: unsupported IDX type 0x%02X (%s); soma reads "
                             "unsigned bytes (0x08)", s->path, type,
                             type_name(type));
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: unknown IDX type 0x%02X in the magic number",
                         s->path, type);
    }
    h->n_dims = b[3];
    if (labels && h->n_dims != 1)
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: a labels file has 1 dimension, this one has %d%s",
                         s->path, h->n_dims,
                         h->n_dims == 3 ? " (an images file?)" : "");
    if (!labels && (h->n_dims < 2 || h->n_dims > 3))
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: images need 2 or 3 dimensions, this file has %d%s",
                         s->path, h->n_dims,
                         h->n_dims == 1 ? " (a labels file?)" : "");
    h->header_size = 4 + 4 * (size_t)h->n_dims;
    st = src_read(s, b + 4, 4 * (size_t)h->n_dims, &got);
    if (st)
        return st;
    if (got < 4 * (size_t)h->n_dims)
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: truncated header: %d dimension%s need%s %zu bytes, "
                         "the file has %zu", s->path, h->n_dims,
                         h->n_dims == 1 ? "" : "s", h->n_dims == 1 ? "s" : "",
                         h->header_size, 4 + got);
    for (i = 0; i < (size_t)h->n_dims; i++) {
        h->dims[i] = be32(b + 4 + 4 * i);
        if (h->dims[i] == 0)
            return soma_fail(s->err, SOMA_ERR_FORMAT,
                             "%s: dimension %zu of the header is 0 (no %s)",
                             s->path, i + 1, i == 0 ? file_kind(labels) : "data");
    }
    h->n_items = h->dims[0];
    h->item_size = 1;
    for (i = 1; i < (size_t)h->n_dims; i++)
        if (!soma_size_mul(h->item_size, h->dims[i], &h->item_size))
            h->item_size = SIZE_MAX; /* refused just below */
    if (h->item_size > (size_t)INT_MAX ||
        !soma_size_mul(h->n_items, h->item_size, &h->total) ||
        h->total > SIZE_MAX / sizeof(float))
        return soma_fail(s->err, SOMA_ERR_FORMAT,
                         "%s: the header's sizes overflow (%zu %s of %zu bytes)",
                         s->path, h->n_items, file_kind(labels), h->item_size);
    return SOMA_OK;
}

/* "60000 images of 28x28 = 47040000 bytes" */
static void describe(const idx_header *h, int labels, char *buf, size_t size)
{
    if (labels)
        snprintf(buf, size, "%zu labels = %zu bytes", h->n_items, h->total);
    else if (h->n_dims == 3)
        snprintf(buf, size, "%zu images of %" PRIu32 "x%" PRIu32 " = %zu bytes",
                 h->n_items, h->dims[1], h->dims[2], h->total);
    else
        snprintf(buf, size, "%zu rows of %" PRIu32 " = %zu bytes", h->n_items,
                 h->dims[1], h->total);
}

/* ---- data --------------------------------------------------------------- */

/* Reads the h->total data bytes as floats byte / divisor into a new array
 * *out [h->total]: chunk by chunk, the array growing with the data that
 * actually arrives. Then checks that nothing follows. */
static soma_status read_body(idx_src *s, const idx_header *h, int labels,
                             float divisor, unsigned char *chunk, float **out)
{
    float lut[256];
    float *x = NULL;
    size_t cap = 0, have = 0, got, i;
    char what[128];
    soma_status st;

    *out = NULL;
    describe(h, labels, what, sizeof what);
    /* a plain file's size tells at once whether the data is all there */
    if (s->file_size >= 0) {
        unsigned long long size = (unsigned long long)s->file_size;
        unsigned long long want = (unsigned long long)h->header_size + h->total;
        if (size < want)
            return soma_fail(s->err, SOMA_ERR_FORMAT,
                             "%s: truncated: the header says %s, the file has %llu",
                             s->path, what, size - h->header_size);
        if (size > want)
            return soma_fail(s->err, SOMA_ERR_FORMAT,
                             "%s: %llu byte%s after the data (the header says %s)",
                             s->path, size - want, size - want == 1 ? "" : "s",
                             what);
        cap = h->total;
        x = soma_alloc_array(cap, sizeof *x);
        if (!x)
            return no_memory(s->err, s->path);
    }
    for (i = 0; i < 256; i++)
        lut[i] = (float)i / divisor;
    while (have < h->total) {
        size_t want = h->total - have < IDX_CHUNK ? h->total - have : IDX_CHUNK;
        st = src_read(s, chunk, want, &got);
        if (st)
            goto fail;
        if (have + got > cap) {
            /* double, within [one chunk, the declared size] */
            size_t ncap = cap > h->total / 2 ? h->total : 2 * cap;
            float *nx;
            if (ncap < have + got)
                ncap = h->total - have < IDX_CHUNK ? h->total : have + IDX_CHUNK;
            nx = soma_realloc_array(x, ncap, sizeof *x);
            if (!nx) {
                st = no_memory(s->err, s->path);
                goto fail;
            }
            x = nx;
            cap = ncap;
        }
        for (i = 0; i < got; i++)
            x[have + i] = lut[chunk[i]];
        have += got;
        if (got < want)
            break;
    }
    if (have < h->total) {
        st = soma_fail(s->err, SOMA_ERR_FORMAT,
                       "%s: truncated: the header says %s, the file has %zu%s",
                       s->path, what, have, s->gz ? " (uncompressed)" : "");
        goto fail;
    }
    /* reading on to the end also checks a gzip stream's CRC and length */
    st = src_read(s, chunk, 1, &got);
    if (st)
        goto fail;
    if (got) {
        st = soma_fail(s->err, SOMA_ERR_FORMAT,
                       "%s: bytes after the data (the header says %s)", s->path,
                       what);
        goto fail;
    }
    *out = x;
    return SOMA_OK;
fail:
    soma_free(x);
    return st;
}

/* ---- labels to classes -------------------------------------------------- */

/* Whether class name c denotes the label value v: the same decimal text,
 * or a number equal to v ("7.0"). */
static int class_matches(const char *c, unsigned v)
{
    char text[16], *end;
    double d;
    snprintf(text, sizeof text, "%u", v);
    if (strcmp(c, text) == 0)
        return 1;
    errno = 0;
    d = strtod(c, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    return end != c && *end == '\0' && errno == 0 && d == (double)v;
}

/* Turns the label values in y [n] into class indices: onto the caller's
 * classes when given, else onto the distinct values sorted numerically. */
static soma_status map_labels(const char *path, float *y, size_t n,
                              const char *const *classes, int n_classes,
                              soma_dataset *ds, soma_error *err)
{
    int cls[256], k = 0, v, c;
    size_t i;

    for (v = 0; v < 256; v++)
        cls[v] = -2; /* absent */
    for (i = 0; i < n; i++)
        cls[(int)y[i]] = -1;
    if (classes) {
        for (i = 0; i < n; i++) {
            v = (int)y[i];
            if (cls[v] == -1) {
                for (c = 0; c < n_classes && !class_matches(classes[c], (unsigned)v);
                     c++)
                    ;
                if (c == n_classes)
                    return soma_fail(err, SOMA_ERR_DATA,
                                     "%s: item %zu (0-based): label %d is not one "
                                     "of the model's classes", path, i, v);
                cls[v] = c;
            }
            y[i] = (float)cls[v];
        }
        k = n_classes;
    } else {
        for (v = 0; v < 256; v++)
            if (cls[v] == -1)
                cls[v] = k++;
        for (i = 0; i < n; i++)
            y[i] = (float)cls[(int)y[i]];
    }
    ds->class_names = soma_alloc_zero((size_t)k, sizeof *ds->class_names);
    if (!ds->class_names)
        return no_memory(err, path);
    ds->n_classes = k;
    if (classes) {
        for (c = 0; c < k; c++)
            if (!(ds->class_names[c] = soma_strdup(classes[c])))
                return no_memory(err, path);
        return SOMA_OK;
    }
    for (v = 0; v < 256; v++)
        if (cls[v] >= 0) {
            char text[16];
            snprintf(text, sizeof text, "%d", v);
            if (!(ds->class_names[cls[v]] = soma_strdup(text)))
                return no_memory(err, path);
        }
    return SOMA_OK;
}

/* ---- entry points ------------------------------------------------------- */

soma_status soma_idx_sniff(const char *path, int *is_idx, soma_error *err)
{
    idx_src s;
    unsigned char b[2];
    size_t got = 0;
    soma_status st;

    soma_clear_error(err);
    if (!path || !is_idx)
        return soma_fail(err, SOMA_ERR_ARG, "soma_idx_sniff: %s is NULL",
                         path ? "is_idx" : "path");
    *is_idx = 0;
    st = src_open(&s, path, err);
    if (!st)
        st = src_read(&s, b, 2, &got);
    src_close(&s);
    if (!st)
        *is_idx = got == 2 && b[0] == 0 && b[1] == 0;
    return st;
}

static soma_status check_args(const char *images, const char *const *classes,
                              int n_classes, soma_dataset **out, soma_error *err)
{
    int i;
    if (!out)
        return soma_fail(err, SOMA_ERR_ARG, "soma_idx_read: out is NULL");
    if (!images)
        return soma_fail(err, SOMA_ERR_ARG, "soma_idx_read: images is NULL");
    if (n_classes < 0 || (n_classes > 0 && !classes) || (classes && n_classes == 0))
        return soma_fail(err, SOMA_ERR_ARG,
                         "soma_idx_read: bad class list (%d classes)", n_classes);
    for (i = 0; i < n_classes; i++)
        if (!classes[i])
            return soma_fail(err, SOMA_ERR_ARG, "soma_idx_read: classes[%d] is NULL",
                             i);
    return SOMA_OK;
}

soma_status soma_idx_read(const char *images, const char *labels,
                          const char *const *classes, int n_classes,
                          soma_dataset **out, soma_error *err)
{
    idx_src img, lab;
    idx_header hi, hl;
    unsigned char *chunk = NULL;
    soma_dataset *ds = NULL;
    soma_status st;

    soma_clear_error(err);
    if (out)
        *out = NULL;
    st = check_args(images, classes, n_classes, out, err);
    if (st)
        return st;
    memset(&img, 0, sizeof img);
    memset(&lab, 0, sizeof lab);

    /* both headers first, so a count mismatch costs no reading */
    if (labels) {
        st = src_open(&lab, labels, err);
        if (!st)
            st = read_header(&lab, 1, &hl);
        if (st)
            goto done;
    }
    st = src_open(&img, images, err);
    if (!st)
        st = read_header(&img, 0, &hi);
    if (st)
        goto done;
    if (labels && hl.n_items != hi.n_items) {
        st = soma_fail(err, SOMA_ERR_DATA, "%s has %zu images but %s has %zu labels",
                       images, hi.n_items, labels, hl.n_items);
        goto done;
    }

    chunk = soma_alloc(IDX_CHUNK);
    ds = soma_alloc_zero(1, sizeof *ds);
    if (!chunk || !ds) {
        st = no_memory(err, images);
        goto done;
    }
    if (labels) {
        st = read_body(&lab, &hl, 1, 1.0f, chunk, &ds->y);
        if (st)
            goto done;
        src_close(&lab);
        st = map_labels(labels, ds->y, hl.n_items, classes, n_classes, ds, err);
        if (!st && !(ds->target_name = soma_strdup("label")))
            st = no_memory(err, labels);
        if (st)
            goto done;
    }
    st = read_body(&img, &hi, 0, 255.0f, chunk, &ds->x);
    if (st)
        goto done;
    ds->n_rows = hi.n_items;
    ds->n_features = (int)hi.item_size;
    *out = ds;
    ds = NULL;
done:
    src_close(&img);
    src_close(&lab);
    soma_free(chunk);
    soma_dataset_free(ds);
    return st;
}
