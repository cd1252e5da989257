/*
 * util.c - error reporting, the library's one allocator and overflow-checked
 * size arithmetic.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *soma_status_string(soma_status code)
{
    switch (code) {
    case SOMA_OK: return "success";
    case SOMA_ERR_NOMEM: return "out of memory";
    case SOMA_ERR_ARG: return "invalid argument";
    case SOMA_ERR_IO: return "input/output error";
    case SOMA_ERR_FORMAT: return "malformed file";
    case SOMA_ERR_DATA: return "unusable data";
    case SOMA_ERR_NUMERIC: return "numeric failure";
    case SOMA_ERR_UNSUPPORTED: return "not supported";
    }
    return "unknown status";
}

soma_status soma_fail(soma_error *err, soma_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* keep messages on one line */
        for (char *p = err->message; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return code;
}

void soma_clear_error(soma_error *err)
{
    if (err) {
        err->code = SOMA_OK;
        err->message[0] = '\0';
    }
}

/* ---- allocation ---------------------------------------------------------- */

static unsigned long fail_after;  /* 0: never fail */
static unsigned long alloc_count;

void soma_debug_fail_after(unsigned long k)
{
    fail_after = k;
    alloc_count = 0;
}

unsigned long soma_debug_alloc_count(void)
{
    return alloc_count;
}

/* Counts the allocation and says whether failure injection wants it to
 * fail. */
static int inject_failure(void)
{
    alloc_count++;
    return fail_after != 0 && alloc_count == fail_after;
}

void *soma_alloc(size_t size)
{
    if (inject_failure())
        return NULL;
    return malloc(size ? size : 1);
}

void *soma_alloc_zero(size_t n, size_t size)
{
    size_t total;
    if (!soma_size_mul(n, size, &total))
        return NULL;
    if (inject_failure())
        return NULL;
    return calloc(total ? total : 1, 1);
}

void *soma_alloc_array(size_t n, size_t size)
{
    size_t total;
    if (!soma_size_mul(n, size, &total))
        return NULL;
    return soma_alloc(total);
}

void *soma_realloc_array(void *p, size_t n, size_t size)
{
    size_t total;
    if (!soma_size_mul(n, size, &total))
        return NULL;
    if (inject_failure())
        return NULL;
    return realloc(p, total ? total : 1);
}

void soma_free(void *p)
{
    free(p);
}

char *soma_strdup(const char *s)
{
    size_t len = strlen(s);
    char *d = soma_alloc(len + 1);
    if (d)
        memcpy(d, s, len + 1);
    return d;
}

int soma_size_mul(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

int soma_size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return 0;
    *out = a + b;
    return 1;
}

int soma_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        int extra;
        unsigned min, cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i <= extra; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += extra + 1;
    }
    return 1;
}
