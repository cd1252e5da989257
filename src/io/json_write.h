/*
 * json_write.h - building compact JSON text for the files soma writes.
 *
 * Parsing stays with jansson (a hostile file needs a well-tested parser);
 * writing is this small builder because jansson 2.14's json_dumps can drop
 * an object key when an allocation fails and still return text, which
 * would turn an out-of-memory into a corrupt model file. The builder
 * records the first failure and reports it once, at the end.
 */
#ifndef SOMA_IO_JSON_WRITE_H
#define SOMA_IO_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct soma_jw {
    char *buf;   /* soma_alloc'ed, NUL-terminated while not failed */
    size_t len, cap;
    int failed;  /* an allocation failed: the text is unusable */
} soma_jw;

void soma_jw_init(soma_jw *w);
/* Text as it is (punctuation, keys already known to be plain). */
void soma_jw_raw(soma_jw *w, const char *s);
/* A JSON string: quotes, with " \ and control characters escaped; the
 * bytes must be valid UTF-8 (checked by the caller) and pass through. */
void soma_jw_string(soma_jw *w, const char *s);
void soma_jw_u64(soma_jw *w, uint64_t v);
/* Takes the text (free with soma_free) and its length; NULL when an
 * allocation failed. The builder is empty afterwards. */
char *soma_jw_finish(soma_jw *w, size_t *len);

#endif /* SOMA_IO_JSON_WRITE_H */
