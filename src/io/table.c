/*
 * table.c - delimited text as people have it, into a table of cells.
 *
 * The file is streamed through zlib's gzread, which reads gzip and plain
 * files alike (gzdirect tells which), a buffer at a time; a record that runs
 * past the end of the buffer is moved to its front and read again once more
 * text has come. Only the cells are kept: 4 bytes each, in rows.
 *
 * A cell is the bits of a float: a number is itself (always finite); a
 * missing value and a text are quiet NaNs whose 22-bit payload says which,
 * 0 for missing and k + 1 for the column's k-th distinct text. Nothing does
 * arithmetic on cells before they are told apart (table_cell_kind), so the
 * payloads are never lost.
 *
 * The separator is found from the header and the first rows (sniff): the
 * candidate that splits every sampled line into the same number of fields,
 * more than one, wins; ';' beats ',' when both do and the ';' fields hold
 * decimal commas, since then the commas are part of the numbers.
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
#include <zlib.h>

#define TB_CHUNK (1u << 20)        /* bytes read at a time */
#define TB_SNIFF (64u << 10)       /* bytes the separator is judged on */
#define TB_SNIFF_LINES 50
#define TB_SHOW 40                 /* bytes of a field shown in a message */
/* Distinct texts kept per column; later new texts become TB_OVERFLOW. */
#define TB_MAX_TEXTS SOMA_DICT_MAX

/* ---- numbers ------------------------------------------------------------ */

/* Doubles at or beyond this round to infinity as floats. */
#define FLOAT_LIMIT ((double)FLT_MAX + 0x1p103)

int soma_fast_decimal(const char *s, size_t len, char point, double *v,
                      int *has_point)
{
#if FLT_EVAL_METHOD == 0
    static const double pow10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    const char *end = s + len;
    uint64_t m = 0;
    int neg = 0, digits = 0, e10 = 0, pt = 0;
    double r;

    if (s < end && (*s == '-' || *s == '+'))
        neg = *s++ == '-';
    for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
        if (m > (UINT64_MAX - 9) / 10)
            return 0;
        m = m * 10 + (uint64_t)(*s - '0');
    }
    if (s < end && *s == point) {
        pt = 1;
        for (s++; s < end && *s >= '0' && *s <= '9'; s++, digits++, e10--) {
            if (m > (UINT64_MAX - 9) / 10)
                return 0;
            m = m * 10 + (uint64_t)(*s - '0');
        }
    }
    if (digits == 0)
        return 0;
    if (s < end && (*s == 'e' || *s == 'E')) {
        int eneg = 0, ex = 0, edigits = 0;
        pt = 1;
        s++;
        if (s < end && (*s == '-' || *s == '+'))
            eneg = *s++ == '-';
        for (; s < end && *s >= '0' && *s <= '9'; s++, edigits++)
            if ((ex = ex * 10 + (*s - '0')) > 1000)
                return 0;
        if (edigits == 0)
            return 0;
        e10 += eneg ? -ex : ex;
    }
    if (s != end || m > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
        return 0;
    r = (double)m;
    r = e10 < 0 ? r / pow10[-e10] : r * pow10[e10];
    *v = neg ? -r : r;
    if (has_point)
        *has_point = pt;
    return 1;
#else
    (void)s;
    (void)len;
    (void)point;
    (void)v;
    (void)has_point;
    return 0;
#endif
}

/* The whole of s[0..len) as a finite number that fits a float, with point
 * as the decimal mark: 1, else 0. strtod handles what the fast path does
 * not ("1e300" is refused here as out of range, "inf" as not finite). */
int soma_parse_cell_number(const char *s, size_t len, char point, double *v,
                            int *has_point)
{
    char tmp[128], *end;
    if (soma_fast_decimal(s, len, point, v, has_point))
        return 1;
    if (len == 0 || len >= sizeof tmp)
        return 0;
    /* strtod: only a sign, digits, the point, exponents; no hex, no inf */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == point || c == 'e' || c == 'E' ||
              c == '+' || c == '-'))
            return 0;
        tmp[i] = c == point ? '.' : c;
        if (c == ',' && point != ',')
            return 0;
    }
    tmp[len] = '\0';
    errno = 0;
    *v = strtod(tmp, &end);
    if (end != tmp + len || !isfinite(*v) || fabs(*v) >= FLOAT_LIMIT)
        return 0;
    if (has_point)
        *has_point = memchr(s, point, len) || memchr(s, 'e', len) ||
                     memchr(s, 'E', len);
    return 1;
}

void soma_format_number(float v, char *buf, size_t cap)
{
    /* a whole number as its digits (10, not %g's 1e+01), up to 10^15;
     * else the shortest %g text that reads back as the same float */
    if (v == floorf(v) && fabsf(v) < 1e15f) {
        snprintf(buf, cap, "%.0f", (double)v);
        if (strcmp(buf, "-0") == 0)
            snprintf(buf, cap, "0");
        return;
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v)
            return;
    }
}

/* ---- cells -------------------------------------------------------------- */

#define CELL_NAN 0x7FC00000u
#define CELL_MISSING CELL_NAN
#define TB_OVERFLOW 0x3FFFFFu /* payload of a text past TB_MAX_TEXTS */

int soma_cell_kind(uint32_t c)
{
    if ((c & CELL_NAN) != CELL_NAN)
        return SOMA_CELL_NUMBER;
    return c == CELL_MISSING ? SOMA_CELL_MISSING : SOMA_CELL_TEXT;
}

static uint32_t text_cell(uint32_t id)
{
    return CELL_NAN | (id + 1);
}

uint32_t soma_cell_text_id(uint32_t c)
{
    return (c & 0x3FFFFFu) - 1;
}

float soma_cell_number(uint32_t c)
{
    float f;
    memcpy(&f, &c, sizeof f);
    return f;
}

static uint32_t number_cell(double v)
{
    float f = (float)v;
    uint32_t c;
    if (f == 0.0f)
        f = 0.0f; /* -0 and 0 are one value */
    memcpy(&c, &f, sizeof c);
    return c;
}

/* ---- distinct texts ----------------------------------------------------- */

uint64_t soma_hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static size_t dict_slot(const soma_dict *d, const char *s, size_t len,
                        uint64_t h)
{
    size_t mask = d->n_slots - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t k = d->slots[i];
        if (k == UINT32_MAX)
            return i;
        if (d->hash[k] == h && d->len[k] == len &&
            memcmp(d->pool + d->off[k], s, len) == 0)
            return i;
    }
}

int64_t soma_dict_find(const soma_dict *d, const char *s, size_t len)
{
    if (!d->n_slots)
        return -1;
    uint32_t k = d->slots[dict_slot(d, s, len, soma_hash_bytes(s, len))];
    return k == UINT32_MAX ? -1 : (int64_t)k;
}

/* The id of s, added when new; -1 out of memory, -2 when full. */
int64_t soma_dict_add(soma_dict *d, const char *s, size_t len)
{
    uint64_t h = soma_hash_bytes(s, len);
    if (d->n_slots) {
        uint32_t k = d->slots[dict_slot(d, s, len, h)];
        if (k != UINT32_MAX)
            return k;
    }
    if (d->n >= (d->max ? d->max : TB_MAX_TEXTS))
        return -2;
    if ((d->n + 1) * 2 > d->n_slots) {
        size_t ns = d->n_slots ? d->n_slots * 2 : 16;
        uint32_t *slots = soma_alloc_array(ns, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < ns; i++)
            slots[i] = UINT32_MAX;
        soma_free(d->slots);
        d->slots = slots;
        d->n_slots = ns;
        for (uint32_t k = 0; k < d->n; k++)
            slots[dict_slot(d, d->pool + d->off[k], d->len[k], d->hash[k])] = k;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        size_t *off = soma_realloc_array(d->off, cap, sizeof *off);
        if (!off)
            return -1;
        d->off = off;
        uint32_t *ln = soma_realloc_array(d->len, cap, sizeof *ln);
        if (!ln)
            return -1;
        d->len = ln;
        uint64_t *hs = soma_realloc_array(d->hash, cap, sizeof *hs);
        if (!hs)
            return -1;
        d->hash = hs;
        d->cap = cap;
    }
    size_t need;
    if (len > UINT32_MAX || !soma_size_add(d->pool_len, len + 1, &need))
        return -1;
    if (need > d->pool_cap) {
        size_t cap = d->pool_cap ? d->pool_cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *pool = soma_realloc_array(d->pool, cap, 1);
        if (!pool)
            return -1;
        d->pool = pool;
        d->pool_cap = cap;
    }
    uint32_t k = d->n;
    d->off[k] = d->pool_len;
    d->len[k] = (uint32_t)len;
    d->hash[k] = h;
    memcpy(d->pool + d->pool_len, s, len);
    d->pool[d->pool_len + len] = '\0';
    d->pool_len = need;
    d->slots[dict_slot(d, s, len, h)] = k;
    d->n++;
    return k;
}

void soma_dict_free(soma_dict *d)
{
    soma_free(d->off);
    soma_free(d->len);
    soma_free(d->hash);
    soma_free(d->pool);
    soma_free(d->slots);
    memset(d, 0, sizeof *d);
}

/* ---- the source --------------------------------------------------------- */

typedef struct tb_field {
    size_t start, end;      /* [start, end) in buf, quotes excluded */
    unsigned char quoted, escaped;
} tb_field;

typedef struct tb_reader {
    const char *name;
    soma_error *err;
    gzFile gz;              /* NULL for a buffer */
    char *buf;              /* owned unless from a buffer */
    size_t len, cap, pos;
    int eof, owned;
    size_t line;            /* line of buf[pos] */
    char sep;               /* ' ': runs of blanks */
    tb_field *fields;
    size_t fields_cap;
    char *tmp;              /* one decoded field */
    size_t tmp_cap;
} tb_reader;

static soma_status rd_nomem(const tb_reader *r)
{
    return soma_fail(r->err, SOMA_ERR_NOMEM, "%s: out of memory", r->name);
}

/* Moves the unread text to the front and reads more. Sets eof at the end. */
static soma_status rd_fill(tb_reader *r)
{
    if (!r->gz) {
        r->eof = 1;
        return SOMA_OK;
    }
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == r->cap) {
        if (r->cap > SIZE_MAX / 2)
            return rd_nomem(r);
        char *nb = soma_realloc_array(r->buf, r->cap * 2 + 1, 1);
        if (!nb)
            return rd_nomem(r);
        r->buf = nb;
        r->cap *= 2;
    }
    size_t want = r->cap - r->len;
    if (want > INT_MAX)
        want = INT_MAX;
    int got = gzread(r->gz, r->buf + r->len, (unsigned)want);
    if (got < 0) {
        int zerr = 0;
        const char *m = gzerror(r->gz, &zerr);
        if (zerr == Z_ERRNO)
            return soma_fail(r->err, SOMA_ERR_IO, "%s: cannot read: %s", r->name,
                             strerror(errno));
        return soma_fail(r->err, SOMA_ERR_FORMAT,
                         "%s: corrupt gzip data (line %zu): %s", r->name, r->line,
                         m ? m : "error");
    }
    if (got == 0) {
        int zerr = 0;
        gzerror(r->gz, &zerr);
        /* a gzip stream cut short reads as a clean end unless asked */
        if (!gzdirect(r->gz) && zerr == Z_BUF_ERROR)
            return soma_fail(r->err, SOMA_ERR_FORMAT,
                             "%s: truncated gzip data (line %zu)", r->name,
                             r->line);
        r->eof = 1;
    }
    r->len += (size_t)got;
    r->buf[r->len] = '\0';
    return SOMA_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Blanks that may surround a field: spaces and tabs, but not the
 * separator itself. */
static int is_pad(char c, char sep)
{
    return c == ' ' || (c == '\t' && sep != '\t');
}

enum { REC_OK, REC_EOF, REC_MORE };

/* Tokenizes the record at pos into r->fields (*n of them). REC_MORE when
 * the buffer ends before the record does and more text may come: nothing
 * is consumed then. */
static soma_status rd_record(tb_reader *r, size_t *n_out, size_t *line_out,
                             int *res)
{
    const char *d = r->buf;
    size_t q = r->pos, line = r->line, n = 0, size = r->len;
    int more = !r->eof;

    /* blank lines (in a tab-separated file a line of tabs is a row of
     * empty cells, not a blank line) */
    for (;;) {
        size_t b = q;
        while (b < size && is_pad(d[b], r->sep))
            b++;
        if (b == size) {
            /* the blank lines before q are consumed, so that a long run
             * of them is never held in the buffer */
            r->pos = q;
            r->line = line;
            *res = more ? REC_MORE : REC_EOF;
            if (!more)
                r->pos = size;
            return SOMA_OK;
        }
        if (d[b] != '\n' && d[b] != '\r')
            break;
        if (d[b] == '\r' && b + 1 == size && more) {
            r->pos = q;
            r->line = line;
            *res = REC_MORE;
            return SOMA_OK;
        }
        q = b + (d[b] == '\r' && b + 1 < size && d[b + 1] == '\n') + 1;
        line++;
    }
    *line_out = line;
    if (r->sep == ' ')
        while (q < size && is_blank(d[q]))
            q++;
    for (;;) {
        tb_field f;
        while (q < size && is_pad(d[q], r->sep))
            q++;
        if (q < size && d[q] == '"') {
            size_t open_line = line;
            f.quoted = 1;
            f.escaped = 0;
            f.start = ++q;
            for (;;) {
                if (q == size) {
                    if (more) {
                        *res = REC_MORE;
                        return SOMA_OK;
                    }
                    return soma_fail(r->err, SOMA_ERR_FORMAT,
                                     "%s: line %zu: unterminated quoted field",
                                     r->name, open_line);
                }
                char c = d[q];
                if (c == '"') {
                    if (q + 1 == size && more) {
                        *res = REC_MORE;
                        return SOMA_OK;
                    }
                    if (q + 1 < size && d[q + 1] == '"') {
                        f.escaped = 1;
                        q += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\0')
                    return soma_fail(r->err, SOMA_ERR_FORMAT,
                                     "%s: line %zu: NUL byte in the data",
                                     r->name, line);
                if (c == '\n' || (c == '\r' && !(q + 1 < size && d[q + 1] == '\n')))
                    line++;
                q++;
            }
            f.end = q++;
            if (r->sep != ' ')
                while (q < size && is_pad(d[q], r->sep))
                    q++;
            if (q < size && d[q] != r->sep && d[q] != '\n' && d[q] != '\r' &&
                !(r->sep == ' ' && is_blank(d[q]))) {
                if (d[q] == '\0')
                    return soma_fail(r->err, SOMA_ERR_FORMAT,
                                     "%s: line %zu: NUL byte in the data",
                                     r->name, line);
                return soma_fail(r->err, SOMA_ERR_FORMAT,
                                 "%s: line %zu: text after a closing quote",
                                 r->name, line);
            }
        } else {
            f.quoted = f.escaped = 0;
            f.start = q;
            /* a quote inside an unquoted field is a character of it
             * (6'2", as Python's csv module and pandas read it) */
            if (r->sep == ' ') {
                while (q < size && !is_blank(d[q]) && d[q] != '\n' &&
                       d[q] != '\r' && d[q] != '\0')
                    q++;
            } else {
                while (q < size && d[q] != r->sep && d[q] != '\n' &&
                       d[q] != '\r' && d[q] != '\0')
                    q++;
            }
            if (q < size && d[q] == '\0')
                return soma_fail(r->err, SOMA_ERR_FORMAT,
                                 "%s: line %zu: NUL byte in the data", r->name,
                                 line);
            f.end = q;
            while (f.end > f.start && is_pad(d[f.end - 1], r->sep))
                f.end--;
        }
        if (n == r->fields_cap) {
            size_t cap = r->fields_cap ? r->fields_cap * 2 : 32;
            if (cap > (size_t)INT_MAX)
                return soma_fail(r->err, SOMA_ERR_FORMAT,
                                 "%s: line %zu: too many fields", r->name, line);
            tb_field *nf = soma_realloc_array(r->fields, cap, sizeof *nf);
            if (!nf)
                return rd_nomem(r);
            r->fields = nf;
            r->fields_cap = cap;
        }
        r->fields[n++] = f;
        if (r->sep == ' ') {
            size_t b = q;
            while (b < size && is_blank(d[b]))
                b++;
            if (b == size && more) {
                *res = REC_MORE;
                return SOMA_OK;
            }
            if (b == size || d[b] == '\n' || d[b] == '\r') {
                q = b;
            } else {
                q = b;
                continue;
            }
        }
        if (q == size) {
            if (more) {
                *res = REC_MORE;
                return SOMA_OK;
            }
            break;
        }
        if (d[q] == r->sep) {
            q++;
            continue;
        }
        /* a line end */
        if (d[q] == '\r' && q + 1 == size && more) {
            *res = REC_MORE;
            return SOMA_OK;
        }
        q += (d[q] == '\r' && q + 1 < size && d[q + 1] == '\n') + 1;
        line++;
        break;
    }
    r->pos = q;
    r->line = line;
    *n_out = n;
    *res = REC_OK;
    return SOMA_OK;
}

/* The next record, reading more text as needed. */
static soma_status rd_next(tb_reader *r, size_t *n, size_t *line, int *eof)
{
    for (;;) {
        int res;
        soma_status st = rd_record(r, n, line, &res);
        if (st)
            return st;
        if (res != REC_MORE) {
            *eof = res == REC_EOF;
            return SOMA_OK;
        }
        if ((st = rd_fill(r)) != SOMA_OK)
            return st;
    }
}

/* A field's text, NUL-terminated, "" undoubled; valid until the next call. */
static soma_status rd_text(tb_reader *r, const tb_field *f, const char **text,
                           size_t *len)
{
    size_t n = f->end - f->start;
    const char *src = r->buf + f->start;
    if (!f->escaped && !f->quoted) {
        *text = src; /* not NUL-terminated: callers use len */
        *len = n;
        return SOMA_OK;
    }
    if (n + 1 > r->tmp_cap) {
        size_t cap = r->tmp_cap ? r->tmp_cap : 64;
        while (cap < n + 1)
            cap = cap > SIZE_MAX / 2 ? n + 1 : cap * 2;
        char *b = soma_alloc(cap);
        if (!b)
            return rd_nomem(r);
        soma_free(r->tmp);
        r->tmp = b;
        r->tmp_cap = cap;
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        r->tmp[j++] = src[i];
        if (f->escaped && src[i] == '"')
            i++;
    }
    /* inside quotes, surrounding blanks still do not count */
    size_t a = 0;
    while (a < j && is_blank(r->tmp[a]))
        a++;
    while (j > a && is_blank(r->tmp[j - 1]))
        j--;
    r->tmp[j] = '\0';
    *text = r->tmp + a;
    *len = j - a;
    return SOMA_OK;
}

/* ---- sniffing ----------------------------------------------------------- */

/* Fields of each of the first lines of text[0..n) split by sep, quotes
 * respected; counts[] gets up to max lines. Returns the lines counted. */
static int count_fields(const char *text, size_t n, char sep, int *counts,
                        int max, int *decimal_commas, int *point_numbers)
{
    int lines = 0, fields = 1, quoted = 0, in_field = 0;
    size_t fstart = 0;
    for (size_t i = 0; i <= n && lines < max; i++) {
        char c = i < n ? text[i] : '\n';
        if (quoted) {
            if (c == '"')
                quoted = 0;
            continue;
        }
        int end_field = 0, end_line = c == '\n' || c == '\r';
        if (c == '"' && !in_field) { /* a quote opens only a field */
            quoted = 1;
        } else if (sep == ' ' ? is_blank(c) : c == sep) {
            if (sep != ' ' || in_field)
                end_field = 1;
        }
        if ((end_field || end_line) && lines > 0) {
            /* the decimal-comma test, on data lines only */
            const char *f = text + fstart;
            size_t fl = i - fstart, k = 0, dig = 0, commas = 0, points = 0;
            while (k < fl && is_blank(f[k]))
                k++;
            /* a quoted number: the quotes are not part of it */
            while (fl > k && (is_blank(f[fl - 1]) || f[fl - 1] == '"'))
                fl--;
            if (k < fl && f[k] == '"')
                k++;
            if (k < fl && (f[k] == '-' || f[k] == '+'))
                k++;
            for (; k < fl; k++) {
                if (f[k] >= '0' && f[k] <= '9')
                    dig++;
                else if (f[k] == ',')
                    commas++;
                else if (f[k] == '.')
                    points++;
                else if (!is_blank(f[k]))
                    break;
            }
            if (k == fl && dig > 0 && commas == 1 && points == 0)
                (*decimal_commas)++;
            if (k == fl && dig > 0 && points == 1 && commas == 0)
                (*point_numbers)++;
        }
        if (end_field) {
            fields++;
            in_field = 0;
            fstart = i + 1;
        } else if (!end_line && !is_blank(c)) {
            in_field = 1;
        }
        if (end_line) {
            if (c == '\r' && i + 1 < n && text[i + 1] == '\n')
                i++;
            /* an empty line (the one after the last line end, say) */
            int blank = fields == 1 && !in_field;
            if (!blank) {
                /* a trailing run of blanks is no field */
                counts[lines++] = fields - (sep == ' ' && !in_field && fields > 1);
            }
            fields = 1;
            in_field = 0;
            fstart = i + 1;
        }
    }
    return lines;
}

static void sniff(const char *text, size_t n, int at_eof, char fallback,
                  char *sep, char *decimal)
{
    static const char cands[] = {',', ';', '\t', '|', ' '};
    int best = -1, best_fields = 1, semi_fields = 0, semi_dc = 0;
    int semi_pts = 0;
    /* judge whole lines only: cut at the last line end */
    if (!at_eof) {
        size_t e = n;
        while (e > 0 && text[e - 1] != '\n' && text[e - 1] != '\r')
            e--;
        if (e > 0)
            n = e;
    }
    for (int c = 0; c < 5; c++) {
        int counts[TB_SNIFF_LINES], dc = 0, pts = 0;
        int lines = count_fields(text, n, cands[c], counts, TB_SNIFF_LINES, &dc,
                                 &pts);
        int ok = lines > 0 && counts[0] > 1;
        for (int i = 1; ok && i < lines; i++)
            if (counts[i] != counts[0])
                ok = 0;
        if (!ok)
            continue;
        if (cands[c] == ';') {
            semi_fields = counts[0];
            semi_dc = dc;
            semi_pts = pts;
        }
        if (counts[0] > best_fields) {
            best = c;
            best_fields = counts[0];
        }
    }
    if (best < 0) {
        *sep = fallback ? fallback : ',';
    } else {
        *sep = cands[best];
        if (*sep == ',' && semi_fields > 1 && semi_dc > 0)
            *sep = ';';
    }
    if (!*decimal) {
        int dc = 0, pts = 0, counts[TB_SNIFF_LINES];
        if (*sep == ';') {
            dc = semi_dc;
            pts = semi_pts;
        } else if (*sep != ',') {
            count_fields(text, n, *sep, counts, TB_SNIFF_LINES, &dc, &pts);
        }
        *decimal = *sep != ',' && dc > pts ? ',' : '.';
    }
}

/* ---- the table ---------------------------------------------------------- */

static const char *const na_defaults[] = {
    SOMA_NA_DEFAULTS, "n/a", "<NA>", "#N/A", "#NA", "None", "-NaN", "-nan",
    "NaN", "#N/A N/A", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
};

static soma_table *table_new(void)
{
    return soma_alloc_zero(1, sizeof(soma_table));
}

void soma_table_free(soma_table *t)
{
    if (!t)
        return;
    for (int c = 0; c < t->n_cols; c++) {
        soma_free(t->names[c]);
        soma_dict_free(&t->dicts[c]);
    }
    soma_free(t->names);
    soma_free(t->dicts);
    soma_free(t->stats);
    soma_free(t->cells);
    soma_free(t->line);
    soma_free(t->name);
    for (int i = 0; i < t->n_na; i++)
        soma_free(t->na[i]);
    soma_free(t->na);
    soma_free(t);
}

size_t soma_table_n_rows(const soma_table *t) { return t ? t->n_rows : 0; }
int soma_table_n_cols(const soma_table *t) { return t ? t->n_cols : 0; }
char soma_table_sep(const soma_table *t) { return t ? t->sep : 0; }
char soma_table_decimal(const soma_table *t) { return t ? t->decimal : 0; }
int soma_table_gzipped(const soma_table *t) { return t ? t->gzipped : 0; }
const char *soma_table_name(const soma_table *t) { return t ? t->name : NULL; }

const char *soma_table_col_name(const soma_table *t, int col)
{
    if (!t || col < 0 || col >= t->n_cols)
        return NULL;
    return t->names[col];
}

int soma_table_find(const soma_table *t, const char *name)
{
    if (!t || !name)
        return -1;
    for (int c = 0; c < t->n_cols; c++)
        if (strcmp(t->names[c], name) == 0)
            return c;
    return -1;
}

int soma_table_is_na(const soma_table *t, const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof na_defaults / sizeof *na_defaults; i++)
        if (strlen(na_defaults[i]) == len && memcmp(na_defaults[i], s, len) == 0)
            return 1;
    for (int i = 0; i < t->n_na; i++)
        if (strlen(t->na[i]) == len && memcmp(t->na[i], s, len) == 0)
            return 1;
    return 0;
}

typedef struct name_pos {
    const char *name;
    size_t pos;
} name_pos;

static int cmp_name_pos(const void *a, const void *b)
{
    const name_pos *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static soma_status read_header(soma_table *t, tb_reader *r)
{
    size_t n, line;
    int eof;
    soma_status st = rd_next(r, &n, &line, &eof);
    if (st)
        return st;
    if (eof)
        return soma_fail(r->err, SOMA_ERR_DATA,
                         "%s: no header row (the file is empty)", r->name);
    if (n > (size_t)INT_MAX / 2)
        return soma_fail(r->err, SOMA_ERR_FORMAT, "%s: too many fields in the header",
                         r->name);
    t->names = soma_alloc_zero(n, sizeof *t->names);
    t->dicts = soma_alloc_zero(n, sizeof *t->dicts);
    t->stats = soma_alloc_zero(n, sizeof *t->stats);
    if (!t->names || !t->dicts || !t->stats)
        return rd_nomem(r);
    t->n_cols = (int)n;
    for (size_t i = 0; i < n; i++) {
        const char *text;
        size_t len;
        if ((st = rd_text(r, &r->fields[i], &text, &len)) != SOMA_OK)
            return st;
        if (len == 0) {
            /* pandas' name for a column without one */
            char buf[32];
            snprintf(buf, sizeof buf, "Unnamed: %zu", i);
            t->names[i] = soma_strdup(buf);
        } else {
            t->names[i] = soma_alloc(len + 1);
            if (t->names[i]) {
                memcpy(t->names[i], text, len);
                t->names[i][len] = '\0';
            }
        }
        if (!t->names[i])
            return rd_nomem(r);
        if (!soma_utf8_valid(t->names[i]))
            return soma_fail(r->err, SOMA_ERR_DATA,
                             "%s: line %zu: the name of column %zu is not valid "
                             "UTF-8",
                             r->name, line, i + 1);
    }
    /* duplicates: sorted by name (then position), neighbours compared, so
     * a header of a million columns is not a trillion comparisons */
    name_pos *order = soma_alloc_array(n ? n : 1, sizeof *order);
    if (!order)
        return rd_nomem(r);
    for (size_t i = 0; i < n; i++)
        order[i] = (name_pos){t->names[i], i};
    qsort(order, n, sizeof *order, cmp_name_pos);
    for (size_t k = 1; k < n; k++) {
        if (strcmp(order[k - 1].name, order[k].name) == 0) {
            size_t i = order[k - 1].pos, j = order[k].pos;
            soma_free(order);
            return soma_fail(r->err, SOMA_ERR_DATA,
                             "%s: line %zu: duplicate column name '%.80s' "
                             "(columns %zu and %zu); rename one",
                             r->name, line, t->names[i], i + 1, j + 1);
        }
    }
    soma_free(order);
    return SOMA_OK;
}

static soma_status grow_rows(soma_table *t, tb_reader *r)
{
    size_t cap = t->rows_cap ? t->rows_cap * 2 : 1024, nc;
    if (!soma_size_mul(cap, (size_t)t->n_cols, &nc))
        return rd_nomem(r);
    uint32_t *cells = soma_realloc_array(t->cells, nc, sizeof *cells);
    if (!cells)
        return rd_nomem(r);
    t->cells = cells;
    size_t *line = soma_realloc_array(t->line, cap, sizeof *line);
    if (!line)
        return rd_nomem(r);
    t->line = line;
    t->rows_cap = cap;
    return SOMA_OK;
}

static soma_status read_rows(soma_table *t, tb_reader *r)
{
    const char point = t->decimal;
    const int nc = t->n_cols;
    for (;;) {
        size_t n, line;
        int eof;
        soma_status st = rd_next(r, &n, &line, &eof);
        if (st)
            return st;
        if (eof)
            break;
        if (n != (size_t)nc) {
            if (nc == 1 && n > 1)
                return soma_fail(r->err, SOMA_ERR_FORMAT,
                                 "%s: line %zu: %zu fields, but the header has "
                                 "one column with the separator '%s' (give "
                                 "--sep)",
                                 r->name, line, n,
                                 t->sep == '\t' ? "\\t" : t->sep == ' ' ? "spaces"
                                 : (char[]){t->sep, 0});
            return soma_fail(r->err, SOMA_ERR_FORMAT,
                             "%s: line %zu: %zu field%s, the header has %d",
                             r->name, line, n, n == 1 ? "" : "s", nc);
        }
        if (t->n_rows == t->rows_cap && (st = grow_rows(t, r)) != SOMA_OK)
            return st;
        uint32_t *row = t->cells + t->n_rows * (size_t)nc;
        t->line[t->n_rows] = line;
        for (int c = 0; c < nc; c++) {
            const tb_field *f = &r->fields[c];
            soma_table_stats *cs = &t->stats[c];
            double v;
            int pt = 0;
            if (cs->as_text)
                goto text;
            if (!f->quoted &&
                soma_fast_decimal(r->buf + f->start, f->end - f->start, point,
                                  &v, &pt)) {
                row[c] = number_cell(v);
                cs->n_number++;
                cs->n_point += (size_t)pt;
                continue;
            }
        text:;
            const char *text;
            size_t len;
            if ((st = rd_text(r, f, &text, &len)) != SOMA_OK)
                return st;
            if (cs->as_text)
                goto intern;
            if (soma_table_is_na(t, text, len)) {
                row[c] = CELL_MISSING;
                cs->n_missing++;
                continue;
            }
            if (soma_parse_cell_number(text, len, point, &v, &pt)) {
                row[c] = number_cell(v);
                cs->n_number++;
                cs->n_point += (size_t)pt;
                continue;
            }
        intern:;
            int64_t id = soma_dict_add(&t->dicts[c], text, len);
            if (id == -1)
                return rd_nomem(r);
            cs->n_text++;
            if (id == -2 && cs->as_text)
                return soma_fail(r->err, SOMA_ERR_DATA,
                                 "%s: line %zu, column '%.80s': more than %u "
                                 "distinct values, too many to keep as text",
                                 r->name, line, t->names[c], SOMA_DICT_MAX_ALL);
            if (id == -2) {
                row[c] = text_cell(TB_OVERFLOW - 1);
                cs->overflow = 1;
                continue;
            }
            if (cs->first_text_line == 0)
                cs->first_text_line = line;
            row[c] = text_cell((uint32_t)id);
        }
        t->n_rows++;
    }
    if (t->n_rows == 0)
        return soma_fail(r->err, SOMA_ERR_DATA, "%s: no data rows", r->name);
    /* give back what growth over-reserved */
    if (t->rows_cap > t->n_rows) {
        uint32_t *cells = soma_realloc_array(t->cells, t->n_rows * (size_t)nc,
                                             sizeof *cells);
        if (cells)
            t->cells = cells;
        size_t *ln = soma_realloc_array(t->line, t->n_rows, sizeof *ln);
        if (ln)
            t->line = ln;
        t->rows_cap = t->n_rows;
    }
    return SOMA_OK;
}

static soma_status check_options(const soma_table_options *opt, const char *name,
                                 soma_error *err)
{
    if ((opt->sep && !strchr(",;\t| ", opt->sep)) ||
        (opt->fallback_sep && !strchr(",;\t| ", opt->fallback_sep)))
        return soma_fail(err, SOMA_ERR_ARG,
                         "%s: bad table option: the separator must be ',', ';', "
                         "tab, '|' or ' ' (runs of spaces)",
                         name);
    if (opt->decimal && opt->decimal != '.' && opt->decimal != ',')
        return soma_fail(err, SOMA_ERR_ARG, "%s: bad table option: the decimal mark must be '.' or ','",
                         name);
    if (opt->decimal == ',' && opt->sep == ',')
        return soma_fail(err, SOMA_ERR_ARG,
                         "%s: bad table option: decimal commas need another "
                         "separator than ','",
                         name);
    if (opt->n_na_values < 0 || (opt->n_na_values && !opt->na_values))
        return soma_fail(err, SOMA_ERR_ARG, "%s: bad table option: the list of missing-value tokens",
                         name);
    for (int i = 0; i < opt->n_na_values; i++)
        if (!opt->na_values[i])
            return soma_fail(err, SOMA_ERR_ARG,
                             "%s: bad table option: na_values[%d] is NULL", name, i);
    return SOMA_OK;
}

static soma_status run(soma_table *t, tb_reader *r, const soma_table_options *opt)
{
    soma_status st;
    if (opt->n_na_values > 0) {
        t->na = soma_alloc_zero((size_t)opt->n_na_values, sizeof *t->na);
        if (!t->na)
            return rd_nomem(r);
        for (int i = 0; i < opt->n_na_values; i++) {
            if (!(t->na[i] = soma_strdup(opt->na_values[i])))
                return rd_nomem(r);
            t->n_na = i + 1;
        }
    }
    /* enough text to judge the separator on */
    while (!r->eof && r->len < TB_SNIFF)
        if ((st = rd_fill(r)) != SOMA_OK)
            return st;
    if (r->gz)
        t->gzipped = !gzdirect(r->gz);
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    t->sep = opt->sep;
    t->decimal = opt->decimal;
    if (!t->sep) {
        sniff(r->buf + r->pos, r->len - r->pos, r->eof, opt->fallback_sep, &t->sep,
              &t->decimal);
        t->sep_detected = 1;
    }
    if (!t->decimal) {
        char s = t->sep;
        sniff(r->buf + r->pos, r->len - r->pos, r->eof, t->sep, &s, &t->decimal);
        if (t->sep == ',')
            t->decimal = '.';
    }
    if (t->decimal == ',' && t->sep == ',')
        t->decimal = '.';
    r->sep = t->sep;
    if ((st = read_header(t, r)) != SOMA_OK)
        return st;
    for (int i = 0; i < opt->n_text_columns; i++) {
        int c = soma_table_find(t, opt->text_columns[i]);
        if (c >= 0) {
            t->stats[c].as_text = 1;
            t->dicts[c].max = SOMA_DICT_MAX_ALL; /* every key, as written */
        }
    }
    return read_rows(t, r);
}

static void reader_free(tb_reader *r)
{
    if (r->owned)
        soma_free(r->buf);
    soma_free(r->fields);
    soma_free(r->tmp);
}

soma_status soma_table_read(const char *path, const soma_table_options *opt,
                            soma_table **out, soma_error *err)
{
    static const soma_table_options defaults;
    soma_clear_error(err);
    if (out)
        *out = NULL;
    if (!path || !out)
        return soma_fail(err, SOMA_ERR_ARG, "soma_table_read: NULL argument (%s)",
                         path ? "out" : "path");
    if (!opt)
        opt = &defaults;
    soma_status st = check_options(opt, path, err);
    if (st)
        return st;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return soma_fail(err, SOMA_ERR_IO, "%s: cannot read: %s", path,
                         strerror(EISDIR));
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return soma_fail(err, SOMA_ERR_IO, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1u << 17);
    tb_reader r;
    memset(&r, 0, sizeof r);
    r.name = path;
    r.err = err;
    r.gz = gz;
    r.owned = 1;
    r.line = 1;
    r.cap = TB_CHUNK;
    r.buf = soma_alloc(r.cap + 1);
    soma_table *t = table_new();
    if (!r.buf || !t || !(t->name = soma_strdup(path)))
        st = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", path);
    else
        st = run(t, &r, opt);
    gzclose(gz);
    reader_free(&r);
    if (st) {
        soma_table_free(t);
        return st;
    }
    *out = t;
    return SOMA_OK;
}

soma_status soma_table_parse(const void *data, size_t size, const char *name,
                             const soma_table_options *opt, soma_table **out,
                             soma_error *err)
{
    static const soma_table_options defaults;
    soma_clear_error(err);
    if (out)
        *out = NULL;
    if (!out || (!data && size))
        return soma_fail(err, SOMA_ERR_ARG, "soma_table_parse: NULL argument (%s)",
                         out ? "data" : "out");
    if (!name)
        name = "(buffer)";
    if (!opt)
        opt = &defaults;
    soma_status st = check_options(opt, name, err);
    if (st)
        return st;
    tb_reader r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.err = err;
    r.line = 1;
    r.eof = 1;
    /* the tokenizer looks one byte past the end: keep a NUL there */
    r.buf = soma_alloc(size + 1);
    r.owned = 1;
    soma_table *t = table_new();
    if (!r.buf || !t || !(t->name = soma_strdup(name))) {
        st = soma_fail(err, SOMA_ERR_NOMEM, "%s: out of memory", name);
    } else {
        if (size)
            memcpy(r.buf, data, size);
        r.buf[size] = '\0';
        r.len = r.cap = size;
        st = run(t, &r, opt);
    }
    reader_free(&r);
    if (st) {
        soma_table_free(t);
        return st;
    }
    *out = t;
    return SOMA_OK;
}

const char *soma_table_cell_text(const soma_table *t, size_t row, int col,
                                 char *buf, size_t cap)
{
    if (!t || !t->cells || row >= t->n_rows || col < 0 || col >= t->n_cols)
        return NULL;
    uint32_t cell = t->cells[row * (size_t)t->n_cols + (size_t)col];
    switch (soma_cell_kind(cell)) {
    case SOMA_CELL_NUMBER:
        soma_format_number(soma_cell_number(cell), buf, cap);
        return buf;
    case SOMA_CELL_MISSING:
        return "";
    default: {
        uint32_t id = soma_cell_text_id(cell);
        return id < t->dicts[col].n ? SOMA_DICT_TEXT(&t->dicts[col], id) : "";
    }
    }
}
