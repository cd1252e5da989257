/*
 * safetensors.c - the safetensors container: validate a whole file held in
 * memory, and write one atomically. docs/model-format.md is the
 * specification; every rule there is checked here or in model.c.
 *
 *   bytes 0..7      N, the JSON header's length, unsigned little-endian
 *   bytes 8..8+N    the JSON header (UTF-8), padded with spaces
 *   bytes 8+N..     the data buffer, exactly covered by the tensors
 *
 * JSON is parsed by jansson, which allocates with malloc: soma does not
 * call json_set_alloc_funcs, because that setting is global to the process
 * and would change the allocator of a host program using jansson itself.
 * jansson's own out-of-memory failures still become SOMA_ERR_NOMEM. JSON is
 * written by the small builder in json_write.c (see there for why).
 */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>

#include "io/json_write.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------ */


const char *soma_st_clip(const char *s, char buf[72])
{
    size_t i = 0;
    for (; s[i] && i < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Writes "[2, 3]" into buf (at most 8 dimensions of 20 digits fit). */
static const char *shape_text(const size_t *shape, int ndim, char buf[200])
{
    size_t at = 0;
    buf[at++] = '[';
    for (int i = 0; i < ndim; i++)
        at += (size_t)snprintf(buf + at, 200 - at, "%s%zu", i ? ", " : "",
                               shape[i]);
    buf[at++] = ']';
    buf[at] = '\0';
    return buf;
}

/* ---- reading ------------------------------------------------------------ */

/* The dtype names of the safetensors specification, for a precise
 * message: a known one is valid but unsupported, anything else is an
 * error in the file. */
static const char *const known_dtypes[] = {
    "F64",  "F32", "F16",  "BF16", "I64",     "I32",     "I16", "I8",
    "U64",  "U32", "U16",  "U8",   "BOOL",    "F8_E4M3", "F8_E5M2",
    "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

static uint64_t get_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void soma_st_free(soma_st_file *f)
{
    if (!f)
        return;
    if (f->meta_keys)
        for (size_t i = 0; i < f->n_meta; i++)
            soma_free(f->meta_keys[i]);
    if (f->meta_values)
        for (size_t i = 0; i < f->n_meta; i++)
            soma_free(f->meta_values[i]);
    soma_free(f->meta_keys);
    soma_free(f->meta_values);
    if (f->tensors)
        for (size_t i = 0; i < f->n_tensors; i++)
            soma_free(f->tensors[i].name);
    soma_free(f->tensors);
    soma_free(f->by_name);
    soma_free(f);
}

/* Reads a JSON integer that must be >= 0 and fit in size_t. */
static int get_size(const json_t *v, size_t *out)
{
    if (!json_is_integer(v))
        return 0;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (unsigned long long)i > SIZE_MAX)
        return 0;
    *out = (size_t)i;
    return 1;
}

static soma_status parse_metadata(soma_st_file *f, const json_t *m,
                                  const char *name, soma_error *err)
{
    char cb[72];
    if (!json_is_object(m))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: __metadata__ is not a JSON object", name);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)m, key, v)
        if (!json_is_string(v))
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: __metadata__ entry '%s' is not a string",
                             name, soma_st_clip(key, cb));
    size_t n = json_object_size(m);
    f->meta_keys = soma_alloc_zero(n, sizeof *f->meta_keys);
    f->meta_values = soma_alloc_zero(n, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
    f->n_meta = n;
    size_t i = 0;
    json_object_foreach((json_t *)m, key, v) {
        f->meta_keys[i] = soma_strdup(key);
        f->meta_values[i] = soma_strdup(json_string_value(v));
        if (!f->meta_keys[i] || !f->meta_values[i])
            return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
        i++;
    }
    return SOMA_OK;
}

/* Validates one tensor entry and fills t (except the name). */
static soma_status parse_tensor(soma_st_tensor *t, const char *key,
                                const json_t *e, const unsigned char *buffer,
                                size_t buffer_size, const char *name,
                                soma_error *err)
{
    char cb[72], cb2[72], sb[200];
    const char *tn = soma_st_clip(key, cb);
    if (!json_is_object(e))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': entry is not a JSON object", name, tn);
    const char *field;
    json_t *v;
    json_object_foreach((json_t *)e, field, v)
        if (strcmp(field, "dtype") != 0 && strcmp(field, "shape") != 0 &&
            strcmp(field, "data_offsets") != 0)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: tensor '%s': unknown field '%s'", name, tn,
                             soma_st_clip(field, cb2));

    const json_t *dtype = json_object_get(e, "dtype");
    if (!dtype)
        return soma_fail(err, SOMA_ERR_FORMAT, "%s: tensor '%s': no dtype",
                         name, tn);
    if (!json_is_string(dtype))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': dtype is not a string", name, tn);
    const char *dt = json_string_value(dtype);
    if (strcmp(dt, "F32") != 0) {
        for (size_t i = 0; i < sizeof known_dtypes / sizeof *known_dtypes; i++)
            if (strcmp(dt, known_dtypes[i]) == 0)
                return soma_fail(err, SOMA_ERR_UNSUPPORTED,
                                 "%s: tensor '%s': dtype %s is not supported "
                                 "(soma reads F32 only)",
                                 name, tn, dt);
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': unknown dtype '%s'", name, tn,
                         soma_st_clip(dt, cb2));
    }

    const json_t *shape = json_object_get(e, "shape");
    if (!json_is_array(shape))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': shape is missing or not an array",
                         name, tn);
    size_t nd = json_array_size(shape);
    if (nd > SOMA_ST_MAX_DIMS)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': shape has %zu dimensions, at most "
                         "%d are allowed",
                         name, tn, nd, SOMA_ST_MAX_DIMS);
    t->ndim = (int)nd;
    size_t count = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        const json_t *d = json_array_get(shape, i);
        if (json_is_integer(d) && json_integer_value(d) >= 0 &&
            (unsigned long long)json_integer_value(d) > SIZE_MAX)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: tensor '%s': shape[%zu] is too large", name,
                             tn, i);
        if (!get_size(d, &t->shape[i]))
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: tensor '%s': shape[%zu] is not a "
                             "non-negative integer",
                             name, tn, i);
        if (!soma_size_mul(count, t->shape[i], &count))
            overflow = 1;
    }
    size_t bytes = 0;
    if (overflow || !soma_size_mul(count, 4, &bytes))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': shape %s has too many elements",
                         name, tn, shape_text(t->shape, t->ndim, sb));
    t->count = count;

    const json_t *offs = json_object_get(e, "data_offsets");
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !get_size(json_array_get(offs, 0), &t->begin) ||
        !get_size(json_array_get(offs, 1), &t->end))
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets is not two "
                         "non-negative integers",
                         name, tn);
    if (t->begin > t->end)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets begin %zu is after "
                         "end %zu",
                         name, tn, t->begin, t->end);
    if (t->end > buffer_size)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets end %zu is past the "
                         "end of the data buffer (%zu bytes)",
                         name, tn, t->end, buffer_size);
    if (t->end - t->begin != bytes)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%zu, %zu] hold %zu "
                         "bytes but shape %s of F32 needs %zu",
                         name, tn, t->begin, t->end, t->end - t->begin,
                         shape_text(t->shape, t->ndim, sb), bytes);
    t->data = buffer + t->begin;
    return SOMA_OK;
}

static int by_offset(const void *a, const void *b)
{
    const soma_st_tensor *x = *(const soma_st_tensor *const *)a;
    const soma_st_tensor *y = *(const soma_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const soma_st_tensor *x = *(const soma_st_tensor *const *)a;
    const soma_st_tensor *y = *(const soma_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

/* The tensors sorted by offset must tile the buffer: each starts where the
 * one before ended (the reference implementation's rule), and the last
 * ends at the end of the buffer. */
static soma_status check_coverage(soma_st_file *f, const char *name,
                                  soma_error *err)
{
    char cb[72], cb2[72];
    qsort(f->by_name, f->n_tensors, sizeof *f->by_name, by_offset);
    size_t at = 0;
    const soma_st_tensor *prev = NULL;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const soma_st_tensor *t = f->by_name[i];
        if (t->begin < at)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: tensors '%s' and '%s' overlap in the data "
                             "buffer",
                             name, soma_st_clip(prev->name, cb), soma_st_clip(t->name, cb2));
        if (t->begin > at)
            return soma_fail(err, SOMA_ERR_FORMAT,
                             "%s: bytes %zu..%zu of the data buffer belong to "
                             "no tensor (a hole; the buffer must be fully "
                             "indexed)",
                             name, at, t->begin);
        prev = t;
        at = t->end;
    }
    if (at != f->data_size)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: bytes %zu..%zu of the data buffer belong to no "
                         "tensor (a hole at the end; the buffer must be fully "
                         "indexed)",
                         name, at, f->data_size);
    return SOMA_OK;
}

static soma_status parse_root(soma_st_file *f, const json_t *root,
                              const unsigned char *buffer, const char *name,
                              soma_error *err)
{
    const json_t *meta = json_object_get(root, "__metadata__");
    if (meta) {
        f->has_meta = 1;
        soma_status s = parse_metadata(f, meta, name, err);
        if (s != SOMA_OK)
            return s;
    }
    size_t nt = json_object_size(root) - (meta ? 1 : 0);
    f->tensors = soma_alloc_zero(nt, sizeof *f->tensors);
    f->by_name = soma_alloc_zero(nt, sizeof *f->by_name);
    if (!f->tensors || !f->by_name)
        return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
    f->n_tensors = nt;
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach((json_t *)root, key, v) {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        soma_st_tensor *t = &f->tensors[i];
        soma_status s =
            parse_tensor(t, key, v, buffer, f->data_size, name, err);
        if (s != SOMA_OK)
            return s;
        t->name = soma_strdup(key);
        if (!t->name)
            return soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
        f->by_name[i] = t;
        i++;
    }
    soma_status s = check_coverage(f, name, err);
    if (s != SOMA_OK)
        return s;
    qsort(f->by_name, nt, sizeof *f->by_name, by_name);
    return SOMA_OK;
}

soma_status soma_st_parse(const void *data, size_t size, const char *name,
                          soma_st_file **out, soma_error *err)
{
    if (!out || (!data && size))
        return soma_fail(err, SOMA_ERR_ARG, "no buffer given");
    *out = NULL;
    if (!name)
        name = "(buffer)";
    const unsigned char *b = data;
    if (size < 8)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: file is %zu bytes, too short for the 8-byte "
                         "header length",
                         name, size);
    uint64_t n = get_u64le(b);
    if (n > SOMA_ST_MAX_HEADER)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: header length %llu is over the limit of %u "
                         "bytes",
                         name, (unsigned long long)n, SOMA_ST_MAX_HEADER);
    if (n > size - 8)
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: header length %llu runs past the end of the "
                         "file (%zu bytes)",
                         name, (unsigned long long)n, size);
    json_error_t je;
    json_t *root = json_loadb((const char *)b + 8, (size_t)n,
                              JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* jansson quotes the bytes near the error: keep them printable */
        for (char *c = je.text; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        if (json_error_code(&je) == json_error_out_of_memory)
            return soma_fail(err, SOMA_ERR_NOMEM,
                             "%s: out of memory parsing the header", name);
        return soma_fail(err, SOMA_ERR_FORMAT,
                         "%s: header JSON: %s at line %d, column %d", name,
                         je.text, je.line, je.column);
    }
    soma_status s;
    soma_st_file *f = NULL;
    if (!json_is_object(root)) {
        s = soma_fail(err, SOMA_ERR_FORMAT, "%s: header is not a JSON object",
                      name);
        goto done;
    }
    f = soma_alloc_zero(1, sizeof *f);
    if (!f) {
        s = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    f->header_size = (size_t)n;
    f->data_size = size - 8 - (size_t)n;
    s = parse_root(f, root, b + 8 + n, name, err);
done:
    json_decref(root);
    if (s != SOMA_OK) {
        soma_st_free(f);
        return s;
    }
    *out = f;
    return SOMA_OK;
}

const soma_st_tensor *soma_st_find(const soma_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0)
            return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *soma_st_meta(const soma_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

void soma_st_read_f32(const soma_st_tensor *t, float *dst)
{
    const unsigned char *p = t->data;
    for (size_t i = 0; i < t->count; i++, p += 4) {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

soma_status soma_st_read_file(const char *path, unsigned char **data,
                              size_t *size, soma_error *err)
{
    if (!path || !data || !size)
        return soma_fail(err, SOMA_ERR_ARG, "no path given");
    *data = NULL;
    *size = 0;
    uint64_t limit = SOMA_ST_MAX_FILE;
    if (limit > SIZE_MAX - 1)
        limit = SIZE_MAX - 1;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return soma_fail(err, SOMA_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    soma_status s = SOMA_OK;
    unsigned char *buf = NULL;
    size_t cap = 65536, len = 0;
    struct stat st;
    if (fstat(fileno(fp), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            s = soma_fail(err, SOMA_ERR_IO, "%s: cannot read: is a directory",
                          path);
            goto done;
        }
        if (S_ISREG(st.st_mode)) {
            if (st.st_size < 0 || (uint64_t)st.st_size > limit) {
                s = soma_fail(err, SOMA_ERR_IO,
                              "%s: file is %lld bytes, over the limit of %llu",
                              path, (long long)st.st_size,
                              (unsigned long long)limit);
                goto done;
            }
            /* one spare byte, so the end of file is seen without growing */
            cap = (size_t)st.st_size + 1;
        }
    }
    buf = soma_alloc(cap);
    if (!buf) {
        s = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory reading", path);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if (len > limit) {
                s = soma_fail(err, SOMA_ERR_IO,
                              "%s: file is over the limit of %llu bytes", path,
                              (unsigned long long)limit);
                goto done;
            }
            size_t ncap = cap < limit / 2 ? cap * 2 : (size_t)limit + 1;
            unsigned char *nb = soma_realloc_array(buf, ncap, 1);
            if (!nb) {
                s = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory reading",
                              path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                s = soma_fail(err, SOMA_ERR_IO, "%s: cannot read: %s", path,
                              strerror(errno));
                goto done;
            }
            break;
        }
    }
    if (len > limit) {
        s = soma_fail(err, SOMA_ERR_IO,
                      "%s: file is over the limit of %llu bytes", path,
                      (unsigned long long)limit);
        goto done;
    }
done:
    fclose(fp);
    if (s != SOMA_OK) {
        soma_free(buf);
        return s;
    }
    *data = buf;
    *size = len;
    return SOMA_OK;
}

/* ---- writing ------------------------------------------------------------ */

/* Whether names[0..n) already holds name (the lists are short: a model's
 * metadata and tensors). */
static int seen(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* Builds the JSON header; *out_n is its length padded so that 8 + it is a
 * multiple of 8. *out is soma_alloc'ed: free with soma_free. */
static soma_status build_header(const soma_st_entry *tensors, size_t nt,
                                const soma_st_pair *meta, size_t nm,
                                char **out, size_t *out_len, size_t *out_n,
                                soma_error *err)
{
    char cb[72];
    soma_jw w;
    soma_jw_init(&w);
    const char **names = soma_alloc_array(nm + nt + 1, sizeof *names);
    if (!names)
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory building the header");
    soma_status s = SOMA_OK;
    soma_jw_raw(&w, "{");
    if (nm > 0) {
        soma_jw_raw(&w, "\"__metadata__\":{");
        for (size_t i = 0; i < nm; i++) {
            const char *k = meta[i].key, *v = meta[i].value;
            if (!k || !v || !soma_utf8_valid(k) || !soma_utf8_valid(v)) {
                s = soma_fail(err, SOMA_ERR_ARG,
                              "metadata entry %zu is missing or not UTF-8", i);
                goto fail;
            }
            if (seen(names, i, k)) {
                s = soma_fail(err, SOMA_ERR_ARG, "duplicate metadata key '%s'",
                              soma_st_clip(k, cb));
                goto fail;
            }
            names[i] = k;
            if (i)
                soma_jw_raw(&w, ",");
            soma_jw_string(&w, k);
            soma_jw_raw(&w, ":");
            soma_jw_string(&w, v);
        }
        soma_jw_raw(&w, "}");
    }
    size_t offset = 0;
    const char **tnames = names + nm;
    for (size_t i = 0; i < nt; i++) {
        const soma_st_entry *t = &tensors[i];
        if (!t->name || !soma_utf8_valid(t->name) ||
            strcmp(t->name, "__metadata__") == 0 || seen(tnames, i, t->name)) {
            s = soma_fail(err, SOMA_ERR_ARG,
                          "tensor %zu: name is missing, not UTF-8, reserved "
                          "or a duplicate",
                          i);
            goto fail;
        }
        tnames[i] = t->name;
        if (t->ndim < 0 || t->ndim > SOMA_ST_WRITE_MAX_DIMS) {
            s = soma_fail(err, SOMA_ERR_ARG,
                          "tensor '%s': %d dimensions, at most %d",
                          soma_st_clip(t->name, cb), t->ndim, SOMA_ST_WRITE_MAX_DIMS);
            goto fail;
        }
        size_t count = 1, bytes, end;
        int ok = 1;
        for (int d = 0; d < t->ndim; d++)
            ok = ok && t->shape[d] <= (size_t)INT64_MAX &&
                 soma_size_mul(count, t->shape[d], &count);
        if (!ok || !soma_size_mul(count, 4, &bytes) ||
            !soma_size_add(offset, bytes, &end) || end > (size_t)INT64_MAX ||
            (count > 0 && !t->data)) {
            s = soma_fail(err, SOMA_ERR_ARG,
                          "tensor '%s': no data or too large",
                          soma_st_clip(t->name, cb));
            goto fail;
        }
        if (nm > 0 || i > 0)
            soma_jw_raw(&w, ",");
        soma_jw_string(&w, t->name);
        soma_jw_raw(&w, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                soma_jw_raw(&w, ",");
            soma_jw_u64(&w, (uint64_t)t->shape[d]);
        }
        soma_jw_raw(&w, "],\"data_offsets\":[");
        soma_jw_u64(&w, (uint64_t)offset);
        soma_jw_raw(&w, ",");
        soma_jw_u64(&w, (uint64_t)end);
        soma_jw_raw(&w, "]}");
        offset = end;
    }
    soma_jw_raw(&w, "}");
    soma_free(names);
    size_t len;
    char *text = soma_jw_finish(&w, &len);
    if (!text)
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory building the header");
    *out = text;
    *out_len = len;
    *out_n = (len + 7) & ~(size_t)7;
    return SOMA_OK;
fail:
    soma_free(names);
    soma_free(soma_jw_finish(&w, NULL));
    return s;
}

/* Creates a new file next to path, named path.tmp.PID.K. The mode 0666
 * goes through the umask, like any file the program creates. */
static soma_status open_temp(const char *path, char *tmp, size_t tmp_size,
                             int *fd, soma_error *err)
{
    for (int k = 0; k < 1000; k++) {
        snprintf(tmp, tmp_size, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        *fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0)
            return SOMA_OK;
        if (errno != EEXIST)
            return soma_fail(err, SOMA_ERR_IO,
                             "%s: cannot create the temporary file '%s': %s",
                             path, tmp, strerror(errno));
    }
    return soma_fail(err, SOMA_ERR_IO,
                     "%s: cannot create a temporary file: too many exist",
                     path);
}

static int write_tensor(FILE *fp, const soma_st_entry *t)
{
    size_t count = 1;
    for (int d = 0; d < t->ndim; d++)
        count *= t->shape[d];
    unsigned char buf[4096];
    size_t i = 0;
    while (i < count) {
        size_t n = count - i < sizeof buf / 4 ? count - i : sizeof buf / 4;
        for (size_t j = 0; j < n; j++) {
            uint32_t u;
            memcpy(&u, &t->data[i + j], 4);
            buf[4 * j] = (unsigned char)(u & 0xff);
            buf[4 * j + 1] = (unsigned char)(u >> 8 & 0xff);
            buf[4 * j + 2] = (unsigned char)(u >> 16 & 0xff);
            buf[4 * j + 3] = (unsigned char)(u >> 24 & 0xff);
        }
        if (fwrite(buf, 4, n, fp) != n)
            return 0;
        i += n;
    }
    return 1;
}

/* Makes the rename durable: syncs the directory holding path. Best effort:
 * the file is already in place, and some file systems refuse. tmp is
 * scratch space at least as long as path. */
static void sync_dir(const char *path, char *tmp)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(tmp, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(tmp, path, n);
        tmp[n] = '\0';
    }
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

soma_status soma_st_write(const char *path, const soma_st_entry *tensors,
                          size_t n_tensors, const soma_st_pair *meta,
                          size_t n_meta, soma_error *err)
{
    if (!path || !*path || (n_tensors && !tensors) || (n_meta && !meta))
        return soma_fail(err, SOMA_ERR_ARG, "no path or entries given");
    char *header = NULL;
    size_t len = 0, n = 0;
    soma_status s = build_header(tensors, n_tensors, meta, n_meta, &header,
                                 &len, &n, err);
    if (s != SOMA_OK)
        return s;
    size_t tmp_size = strlen(path) + 48;
    char *tmp = soma_alloc(tmp_size);
    if (!tmp) {
        soma_free(header);
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory saving %s", path);
    }
    int fd = -1;
    s = open_temp(path, tmp, tmp_size, &fd, err);
    if (s != SOMA_OK)
        goto out;
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        s = soma_fail(err, SOMA_ERR_IO, "%s: cannot write '%s': %s", path, tmp,
                      strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    unsigned char lenbytes[8];
    for (int i = 0; i < 8; i++)
        lenbytes[i] = (unsigned char)((uint64_t)n >> (8 * i) & 0xff);
    int ok = fwrite(lenbytes, 1, 8, fp) == 8 && fwrite(header, 1, len, fp) == len;
    for (size_t i = len; ok && i < n; i++)
        ok = fputc(' ', fp) != EOF;
    for (size_t i = 0; ok && i < n_tensors; i++)
        ok = write_tensor(fp, &tensors[i]);
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    int e = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        s = soma_fail(err, SOMA_ERR_IO, "%s: cannot write '%s': %s", path, tmp,
                      strerror(e));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        s = soma_fail(err, SOMA_ERR_IO, "%s: cannot rename '%s' to it: %s",
                      path, tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    sync_dir(path, tmp);
out:
    soma_free(tmp);
    soma_free(header);
    return s;
}
