/*
 * json_write.c - the compact JSON builder (json_write.h).
 */
#include "io/json_write.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

void soma_jw_init(soma_jw *w)
{
    memset(w, 0, sizeof *w);
}

static void put(soma_jw *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    size_t need;
    if (!soma_size_add(w->len, n + 1, &need)) {
        w->failed = 1;
        return;
    }
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *b = soma_realloc_array(w->buf, cap, 1);
        if (!b) {
            w->failed = 1;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

void soma_jw_raw(soma_jw *w, const char *s)
{
    put(w, s, strlen(s));
}

void soma_jw_string(soma_jw *w, const char *s)
{
    put(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        if (esc) {
            put(w, run, (size_t)(s - run));
            put(w, esc, strlen(esc));
            run = s + 1;
        }
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

void soma_jw_u64(soma_jw *w, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    put(w, b, strlen(b));
}

char *soma_jw_finish(soma_jw *w, size_t *len)
{
    char *out = NULL;
    if (!w->failed && !w->buf)
        put(w, "", 0);
    if (!w->failed) {
        out = w->buf;
        if (len)
            *len = w->len;
    } else {
        soma_free(w->buf);
    }
    soma_jw_init(w);
    return out;
}
