/*
 * buf.h -- a growable byte buffer (string builder) with JSON helpers.
 *
 * Allocation failure is sticky: after one failed growth, `oom` is set,
 * further appends are ignored, and the owner reports ERR_NOMEM once at the
 * end instead of checking every append.
 */
#ifndef WB_BUF_H
#define WB_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct Buf {
	char *p;	/* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	int oom;
} Buf;

void buf_init(Buf *b);
void buf_free(Buf *b);
void buf_reset(Buf *b);
int buf_reserve(Buf *b, size_t extra);
void buf_append(Buf *b, const void *data, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) as a JSON string literal, quotes included. */
void buf_json_str(Buf *b, const char *s, size_t n);
/* Appends a double the way JSON wants it (no NaN/Inf: those become the
 * strings "NaN", "Infinity", "-Infinity" as Pinot does). */
void buf_json_double(Buf *b, double d);
void buf_i64(Buf *b, int64_t v);
/* Takes the content: the caller owns the returned pointer (mem_free). */
char *buf_take(Buf *b);

#endif
