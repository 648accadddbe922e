/*
 * buf.c -- growable buffer over mem_realloc, doubling capacity.
 *
 * Exports: buf_init, buf_free, buf_reset, buf_reserve, buf_append,
 * buf_puts, buf_putc, buf_printf, buf_json_str, buf_json_double, buf_i64,
 * buf_take.
 */
#include "base/buf.h"
#include "base/mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(Buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void
buf_free(Buf *b)
{
	mem_free(b->p);
	buf_init(b);
}

void
buf_reset(Buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

int
buf_reserve(Buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = mem_realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
buf_append(Buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;		/* data may be NULL */
	if (buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_puts(Buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void
buf_putc(Buf *b, char c)
{
	if (buf_reserve(b, 1) != 0)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
buf_printf(Buf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		buf_append(b, tmp, (size_t)n);
		return;
	}
	if (buf_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_json_str(Buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (buf_reserve(b, n + 2) != 0)
		return;
	buf_putc(b, '"');
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, u, 6);
		}
		}
	}
	buf_append(b, s + start, n - start);
	buf_putc(b, '"');
}

void
buf_json_double(Buf *b, double d)
{
	if (isnan(d)) {
		buf_puts(b, "\"NaN\"");
	} else if (isinf(d)) {
		buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	} else if (d == floor(d) && fabs(d) < 1e15) {
		buf_printf(b, "%.1f", d);
	} else {
		char tmp[40];
		snprintf(tmp, sizeof(tmp), "%.17g", d);
		/* prefer the shortest form that round-trips */
		for (int prec = 6; prec < 17; prec++) {
			char t2[40];
			snprintf(t2, sizeof(t2), "%.*g", prec, d);
			if (strtod(t2, NULL) == d) {
				memcpy(tmp, t2, sizeof(t2));
				break;
			}
		}
		buf_puts(b, tmp);
	}
}

void
buf_i64(Buf *b, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
	buf_append(b, tmp, (size_t)n);
}

char *
buf_take(Buf *b)
{
	char *p = b->p;
	if (p == NULL)
		p = mem_strdup("");
	buf_init(b);
	return p;
}
