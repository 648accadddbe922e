/*
 * pgproto.c -- the byte level of PostgreSQL's frontend/backend protocol
 * 3.0, for the wire server (pgwire.c): bounded readers of client message
 * fields, writers of server messages, and Waybill values in PostgreSQL's
 * text and binary forms.
 *
 * Reading: a PgMsg walks one message body that the caller has already
 * framed (type byte and length checked).  Getters never read past the
 * end; a short or unterminated field sets m->bad and yields zero or "",
 * so a parser takes every field it needs and tests bad once -- a
 * malformed message can never make the server read out of bounds.
 *
 * Writing: messages are built in a Buf; pgproto_begin writes the type
 * and a length placeholder that pgproto_end patches, so no message needs
 * its size in advance.  Integers are big-endian as the protocol wants.
 *
 * Types: a Waybill column goes out as one PostgreSQL type (pgtype_oid,
 * expr/pgtype.c, which the catalog emulation shares): INT int4, LONG int8, FLOAT float4, DOUBLE float8, BOOLEAN bool,
 * TIMESTAMP timestamp (without time zone: the session zone is always
 * UTC), STRING text, JSON json, BYTES bytea, a bare NULL text, and a
 * multi-value column the array of its element type.  Text forms follow
 * PostgreSQL's output functions: floats are the shortest text that reads
 * back to the same value (PostgreSQL 12+ with extra_float_digits >= 1),
 * exponent notation outside 1e-4 .. 1e15 (1e6 for float4); timestamps
 * 'YYYY-MM-DD HH:MM:SS' plus the fraction without trailing zeros; bytea
 * in hex; arrays with PostgreSQL's quoting.  Binary forms: network-order
 * integers and IEEE floats, timestamps as microseconds since 2000-01-01,
 * arrays with their one-dimension header.
 *
 * Parameters (Bind) become SQL literals spliced into the statement text
 * (pgproto_param_literal): values are checked against their declared
 * type first (PostgreSQL's "invalid input syntax for type integer"), and
 * strings are quoted, so no parameter can change the statement's shape.
 *
 * Exports: pgproto_msg_init, pgproto_get_u8, pgproto_get_i16,
 * pgproto_get_i32, pgproto_get_str, pgproto_get_bytes, pgproto_begin,
 * pgproto_end, pgproto_put_i16, pgproto_put_i32, pgproto_put_i64,
 * pgproto_put_str, pgproto_auth, pgproto_param_status, pgproto_ready,
 * pgproto_complete, pgproto_simple, pgproto_error, pgproto_text_value, pgproto_binary_value,
 * pgproto_data_row, pgproto_param_literal.
 */
#include "server/pgproto.h"
#include "base/civil.h"
#include "expr/pgtype.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- reading ------------------------------------------------------------ */

void
pgproto_msg_init(PgMsg *m, const char *p, size_t len)
{
	m->p = p;
	m->len = len;
	m->off = 0;
	m->bad = 0;
}

const char *
pgproto_get_bytes(PgMsg *m, size_t n)
{
	if (m->bad || n > m->len - m->off) {
		m->bad = 1;
		return NULL;
	}
	const char *s = m->p + m->off;
	m->off += n;
	return s;
}

int
pgproto_get_u8(PgMsg *m)
{
	const char *s = pgproto_get_bytes(m, 1);
	return s ? (unsigned char)s[0] : 0;
}

int32_t
pgproto_get_i16(PgMsg *m)
{
	const unsigned char *s = (const unsigned char *)pgproto_get_bytes(m, 2);
	return s ? (int16_t)(uint16_t)(s[0] << 8 | s[1]) : 0;
}

int32_t
pgproto_get_i32(PgMsg *m)
{
	const unsigned char *s = (const unsigned char *)pgproto_get_bytes(m, 4);
	return s ? (int32_t)((uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3]) : 0;
}

const char *
pgproto_get_str(PgMsg *m)
{
	if (m->bad)
		return "";
	const char *s = m->p + m->off;
	const char *nul = memchr(s, '\0', m->len - m->off);
	if (nul == NULL) {
		m->bad = 1;
		return "";
	}
	m->off += (size_t)(nul - s) + 1;
	return s;
}

/* ---- writing ------------------------------------------------------------ */

size_t
pgproto_begin(Buf *b, char type)
{
	if (type)
		buf_putc(b, type);
	size_t start = b->len;
	buf_append(b, "\0\0\0\0", 4);
	return start;
}

void
pgproto_end(Buf *b, size_t start)
{
	if (b->oom || b->len < start + 4)
		return;
	uint32_t n = (uint32_t)(b->len - start);
	unsigned char *p = (unsigned char *)b->p + start;
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

void
pgproto_put_i16(Buf *b, int v)
{
	unsigned char p[2] = {(unsigned char)((unsigned)v >> 8), (unsigned char)v};
	buf_append(b, p, 2);
}

void
pgproto_put_i32(Buf *b, int32_t v)
{
	uint32_t u = (uint32_t)v;
	unsigned char p[4] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16), (unsigned char)(u >> 8),
			      (unsigned char)u};
	buf_append(b, p, 4);
}

void
pgproto_put_i64(Buf *b, int64_t v)
{
	pgproto_put_i32(b, (int32_t)(uint32_t)((uint64_t)v >> 32));
	pgproto_put_i32(b, (int32_t)(uint32_t)(uint64_t)v);
}

void
pgproto_put_str(Buf *b, const char *s)
{
	buf_append(b, s, strlen(s) + 1);
}

void
pgproto_auth(Buf *b, int32_t code, const void *data, size_t n)
{
	size_t m = pgproto_begin(b, 'R');
	pgproto_put_i32(b, code);
	if (n)
		buf_append(b, data, n);
	pgproto_end(b, m);
}

void
pgproto_param_status(Buf *b, const char *name, const char *value)
{
	size_t m = pgproto_begin(b, 'S');
	pgproto_put_str(b, name);
	pgproto_put_str(b, value);
	pgproto_end(b, m);
}

void
pgproto_ready(Buf *b, char status)
{
	size_t m = pgproto_begin(b, 'Z');
	buf_putc(b, status);
	pgproto_end(b, m);
}

void
pgproto_complete(Buf *b, const char *tag)
{
	size_t m = pgproto_begin(b, 'C');
	pgproto_put_str(b, tag);
	pgproto_end(b, m);
}

void
pgproto_simple(Buf *b, char type)
{
	pgproto_end(b, pgproto_begin(b, type));
}

/* A message field must not hold a NUL: cut there. */
static void
put_field(Buf *b, char code, const char *s)
{
	buf_putc(b, code);
	pgproto_put_str(b, s);
}

void
pgproto_error(Buf *b, char type, const char *severity, const char *sqlstate, const char *msg,
	      const char *detail, const char *hint, int position)
{
	size_t m = pgproto_begin(b, type);
	put_field(b, 'S', severity);
	put_field(b, 'V', severity);
	put_field(b, 'C', sqlstate);
	put_field(b, 'M', msg);
	if (detail && *detail)
		put_field(b, 'D', detail);
	if (hint && *hint)
		put_field(b, 'H', hint);
	if (position > 0) {
		char pos[16];
		snprintf(pos, sizeof(pos), "%d", position);
		put_field(b, 'P', pos);
	}
	buf_putc(b, '\0');
	pgproto_end(b, m);
}

/* ---- types -------------------------------------------------------------- */

/* ---- text forms --------------------------------------------------------- */

/* PostgreSQL's float output: the shortest digits that read back to d,
 * fixed notation for decimal exponents in [-4, maxexp), else d.ddde+XX. */
static void
put_float(Buf *b, double d, int is_float4)
{
	if (isnan(d)) {
		buf_puts(b, "NaN");
		return;
	}
	if (isinf(d)) {
		buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (d == 0) {
		buf_puts(b, signbit(d) ? "-0" : "0");
		return;
	}
	char e[40];
	int maxp = is_float4 ? 9 : 17;
	for (int p = 1; p <= maxp; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, d);
		if (is_float4 ? strtof(e, NULL) == (float)d : strtod(e, NULL) == d)
			break;
	}
	/* e is [-]D[.DDD]e[+-]XX */
	const char *s = e;
	int neg = *s == '-';
	if (neg)
		s++;
	char dig[24];
	int nd = 0;
	for (; *s && *s != 'e'; s++)
		if (isdigit((unsigned char)*s))
			dig[nd++] = *s;
	int x = atoi(s + 1);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (neg)
		buf_putc(b, '-');
	int maxexp = is_float4 ? 6 : 15;
	if (x < -4 || x >= maxexp) {
		buf_putc(b, dig[0]);
		if (nd > 1) {
			buf_putc(b, '.');
			buf_append(b, dig + 1, (size_t)nd - 1);
		}
		buf_printf(b, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	} else if (x < 0) {
		buf_puts(b, "0.");
		for (int i = 0; i < -x - 1; i++)
			buf_putc(b, '0');
		buf_append(b, dig, (size_t)nd);
	} else {
		for (int i = 0; i <= x; i++)
			buf_putc(b, i < nd ? dig[i] : '0');
		if (nd > x + 1) {
			buf_putc(b, '.');
			buf_append(b, dig + x + 1, (size_t)(nd - x - 1));
		}
	}
}

/* Milliseconds since the epoch as 'YYYY-MM-DD HH:MM:SS[.fff]'. */
static void
put_timestamp(Buf *b, int64_t ms)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	int64_t secs = rem / 1000, frac = rem % 1000;
	if (y > 0)
		buf_printf(b, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d", y, mo, d, (int)(secs / 3600),
			   (int)(secs / 60 % 60), (int)(secs % 60));
	else
		buf_printf(b, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d", 1 - y, mo, d, (int)(secs / 3600),
			   (int)(secs / 60 % 60), (int)(secs % 60));
	if (frac) {
		char f[8];
		snprintf(f, sizeof(f), ".%03d", (int)frac);
		size_t n = strlen(f);
		while (f[n - 1] == '0')
			n--;
		buf_append(b, f, n);
	}
	if (y <= 0)
		buf_puts(b, " BC");
}

static void
put_hex(Buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_puts(b, "\\x");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char h[2] = {hex[c >> 4], hex[c & 15]};
		buf_append(b, h, 2);
	}
}

static void
scalar_text(const Value *v, Buf *b)
{
	switch ((WbType)v->type) {
	case TYPE_INT:
	case TYPE_LONG:
		buf_i64(b, v->u.i);
		break;
	case TYPE_BOOLEAN:
		buf_putc(b, v->u.i ? 't' : 'f');
		break;
	case TYPE_FLOAT:
		put_float(b, v->u.d, 1);
		break;
	case TYPE_DOUBLE:
		put_float(b, v->u.d, 0);
		break;
	case TYPE_TIMESTAMP:
		put_timestamp(b, v->u.i);
		break;
	case TYPE_BYTES:
		put_hex(b, v->u.s, v->n);
		break;
	case TYPE_STRING:
	case TYPE_JSON:
		buf_append(b, v->u.s, v->n);
		break;
	default:
		break;
	}
}

/* An array element needs quotes when it is empty, reads as NULL, or holds
 * a delimiter, brace, quote, backslash or blank. */
static int
needs_quotes(const char *s, size_t n)
{
	if (n == 0 || (n == 4 && strncasecmp(s, "null", 4) == 0))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (strchr("{},\"\\ \t\n\r\v\f", s[i]) != NULL && s[i] != '\0')
			return 1;
	return 0;
}

void
pgproto_text_value(const Value *v, Buf *b)
{
	if (!v->mv) {
		scalar_text(v, b);
		return;
	}
	buf_putc(b, '{');
	Buf el;
	buf_init(&el);
	for (uint32_t i = 0; i < v->n; i++) {
		const Value *x = &v->u.mv[i];
		if (i)
			buf_putc(b, ',');
		if (x->null) {
			buf_puts(b, "NULL");
			continue;
		}
		buf_reset(&el);
		scalar_text(x, &el);
		if (!needs_quotes(el.p ? el.p : "", el.len)) {
			buf_append(b, el.p, el.len);
			continue;
		}
		buf_putc(b, '"');
		for (size_t k = 0; k < el.len; k++) {
			if (el.p[k] == '"' || el.p[k] == '\\')
				buf_putc(b, '\\');
			buf_putc(b, el.p[k]);
		}
		buf_putc(b, '"');
	}
	buf_free(&el);
	buf_putc(b, '}');
}

/* ---- binary forms ------------------------------------------------------- */

/* 2000-01-01 in milliseconds since the epoch: the binary timestamp zero. */
#define PG_EPOCH_MS INT64_C(946684800000)

static void
scalar_binary(const Value *v, Buf *b)
{
	switch ((WbType)v->type) {
	case TYPE_INT:
		pgproto_put_i32(b, (int32_t)v->u.i);
		break;
	case TYPE_LONG:
		pgproto_put_i64(b, v->u.i);
		break;
	case TYPE_BOOLEAN:
		buf_putc(b, v->u.i ? 1 : 0);
		break;
	case TYPE_FLOAT: {
		float f = (float)v->u.d;
		uint32_t u;
		memcpy(&u, &f, 4);
		pgproto_put_i32(b, (int32_t)u);
		break;
	}
	case TYPE_DOUBLE: {
		uint64_t u;
		memcpy(&u, &v->u.d, 8);
		pgproto_put_i64(b, (int64_t)u);
		break;
	}
	case TYPE_TIMESTAMP:
		pgproto_put_i64(b, (v->u.i - PG_EPOCH_MS) * 1000);
		break;
	case TYPE_STRING:
	case TYPE_JSON:
	case TYPE_BYTES:
		buf_append(b, v->u.s, v->n);
		break;
	default:
		break;
	}
}

void
pgproto_binary_value(const Value *v, Buf *b)
{
	if (!v->mv) {
		scalar_binary(v, b);
		return;
	}
	int hasnull = 0;
	for (uint32_t i = 0; i < v->n; i++)
		hasnull |= v->u.mv[i].null;
	pgproto_put_i32(b, v->n ? 1 : 0);
	pgproto_put_i32(b, hasnull);
	pgproto_put_i32(b, pgtype_oid((WbType)v->type, 0));
	if (v->n == 0)
		return;
	pgproto_put_i32(b, (int32_t)v->n);
	pgproto_put_i32(b, 1);
	for (uint32_t i = 0; i < v->n; i++) {
		const Value *x = &v->u.mv[i];
		if (x->null) {
			pgproto_put_i32(b, -1);
			continue;
		}
		size_t at = b->len;
		pgproto_put_i32(b, 0);
		scalar_binary(x, b);
		if (!b->oom) {
			uint32_t n = (uint32_t)(b->len - at - 4);
			unsigned char *p = (unsigned char *)b->p + at;
			p[0] = (unsigned char)(n >> 24);
			p[1] = (unsigned char)(n >> 16);
			p[2] = (unsigned char)(n >> 8);
			p[3] = (unsigned char)n;
		}
	}
}

void
pgproto_data_row(Buf *b, const Value *row, int n, const int16_t *formats)
{
	size_t m = pgproto_begin(b, 'D');
	pgproto_put_i16(b, n);
	for (int i = 0; i < n; i++) {
		const Value *v = &row[i];
		if (v->null) {
			pgproto_put_i32(b, -1);
			continue;
		}
		size_t at = b->len;
		pgproto_put_i32(b, 0);
		if (formats && formats[i] == 1)
			pgproto_binary_value(v, b);
		else
			pgproto_text_value(v, b);
		if (!b->oom) {
			uint32_t len = (uint32_t)(b->len - at - 4);
			unsigned char *p = (unsigned char *)b->p + at;
			p[0] = (unsigned char)(len >> 24);
			p[1] = (unsigned char)(len >> 16);
			p[2] = (unsigned char)(len >> 8);
			p[3] = (unsigned char)len;
		}
	}
	pgproto_end(b, m);
}

/* ---- parameters --------------------------------------------------------- */

static void
quote_literal(Buf *out, const char *s, size_t n)
{
	buf_putc(out, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			buf_putc(out, '\'');
		buf_putc(out, s[i]);
	}
	buf_putc(out, '\'');
}

static const char *
pg_type_name(int32_t oid)
{
	switch (oid) {
	case PG_INT2: return "smallint";
	case PG_INT4: return "integer";
	case PG_INT8: return "bigint";
	case PG_OID: return "oid";
	case PG_FLOAT4: return "real";
	case PG_FLOAT8: return "double precision";
	case PG_NUMERIC: return "numeric";
	case PG_BOOL: return "boolean";
	default: return "text";
	}
}

/* Is s (n bytes, surrounding blanks allowed) a number of the kind? */
static int
numeric_text(const char *s, size_t n, int integer)
{
	char tmp[128];
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	if (integer) {
		(void)strtoll(tmp, &end, 10);
		return *end == '\0' && errno == 0;
	}
	(void)strtod(tmp, &end);
	if (*end != '\0')
		return 0;
	/* plain decimal syntax only: strtod's hex floats, "inf" and "nan"
	 * are not SQL numbers */
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)tmp[i]) && !strchr("+-.eE", tmp[i]))
			return 0;
	return 1;
}

static void
put_number(Buf *out, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n && *s == '+')
		s++, n--;
	if (n && *s == '-') {
		buf_putc(out, '(');
		buf_append(out, s, n);
		buf_putc(out, ')');
	} else {
		buf_append(out, s, n);
	}
}

/* Binary numeric: ndigits, weight, sign, dscale, then base-10000 digits. */
static int
numeric_binary(int num, const char *d, int32_t len, Buf *out, Err *e)
{
	PgMsg m;
	pgproto_msg_init(&m, d, (size_t)len);
	int nd = pgproto_get_i16(&m), weight = pgproto_get_i16(&m);
	int sign = pgproto_get_i16(&m) & 0xFFFF, dscale = pgproto_get_i16(&m);
	if (m.bad || nd < 0 || dscale < 0 || (size_t)len != 8 + 2 * (size_t)nd)
		return err_set(e, ERR_BAD_REQUEST, "incorrect binary data format in bind parameter %d", num);
	if (sign == 0xC000) {
		buf_puts(out, "CAST('NaN' AS DOUBLE PRECISION)");
		return 0;
	}
	Buf t;
	buf_init(&t);
	if (sign == 0x4000)
		buf_putc(&t, '-');
	int32_t digits[1000];
	if (nd > 1000) {
		buf_free(&t);
		return err_set(e, ERR_BAD_REQUEST, "numeric bind parameter %d has too many digits", num);
	}
	for (int i = 0; i < nd; i++) {
		digits[i] = pgproto_get_i16(&m);
		if (digits[i] < 0 || digits[i] > 9999) {
			buf_free(&t);
			return err_set(e, ERR_BAD_REQUEST, "incorrect binary data format in bind parameter %d", num);
		}
	}
	/* integer part: groups 0..weight */
	if (weight < 0) {
		buf_putc(&t, '0');
	} else {
		for (int i = 0; i <= weight; i++) {
			int g = i < nd ? digits[i] : 0;
			buf_printf(&t, i == 0 ? "%d" : "%04d", g);
		}
	}
	if (dscale > 0) {
		buf_putc(&t, '.');
		int written = 0;
		for (int i = weight + 1; written < dscale; i++) {
			int g = i >= 0 && i < nd ? digits[i] : 0;
			char q[8];
			snprintf(q, sizeof(q), "%04d", g);
			for (int k = 0; k < 4 && written < dscale; k++, written++)
				buf_putc(&t, q[k]);
		}
	}
	put_number(out, t.p, t.len);
	buf_free(&t);
	return 0;
}

int
pgproto_param_literal(int num, int32_t oid, int binary, const char *data, int32_t len, Buf *out,
		      Err *e)
{
	if (len < 0) {
		buf_puts(out, "NULL");
		return 0;
	}
	if (memchr(data, '\0', (size_t)len) != NULL && (!binary || oid == PG_TEXT || oid == PG_VARCHAR ||
							oid == 0 || oid == PG_UNKNOWN))
		return err_set(e, ERR_BAD_RECORD, "invalid byte sequence for encoding \"UTF8\": 0x00 in parameter %d",
			       num);
	if (!binary) {
		switch (oid) {
		case PG_INT2:
		case PG_INT4:
		case PG_INT8:
		case PG_OID:
			if (!numeric_text(data, (size_t)len, 1))
				return err_set(e, ERR_BAD_RECORD, "invalid input syntax for type %s: \"%.*s\" (parameter $%d)",
					       pg_type_name(oid), len > 64 ? 64 : (int)len, data, num);
			put_number(out, data, (size_t)len);
			return 0;
		case PG_FLOAT4:
		case PG_FLOAT8:
		case PG_NUMERIC:
			if (numeric_text(data, (size_t)len, 0)) {
				put_number(out, data, (size_t)len);
				return 0;
			}
			if ((len == 3 && strncasecmp(data, "NaN", 3) == 0) ||
			    (len == 8 && strncasecmp(data, "Infinity", 8) == 0) ||
			    (len == 9 && strncasecmp(data, "-Infinity", 9) == 0)) {
				buf_puts(out, "CAST(");
				quote_literal(out, data, (size_t)len);
				buf_puts(out, " AS DOUBLE PRECISION)");
				return 0;
			}
			return err_set(e, ERR_BAD_RECORD, "invalid input syntax for type %s: \"%.*s\" (parameter $%d)",
				       pg_type_name(oid), len > 64 ? 64 : (int)len, data, num);
		case PG_BOOL: {
			static const char *const yes[] = {"t", "true", "y", "yes", "on", "1"};
			static const char *const no[] = {"f", "false", "n", "no", "off", "0"};
			for (int i = 0; i < 6; i++) {
				if ((size_t)len == strlen(yes[i]) && strncasecmp(data, yes[i], (size_t)len) == 0) {
					buf_puts(out, "TRUE");
					return 0;
				}
				if ((size_t)len == strlen(no[i]) && strncasecmp(data, no[i], (size_t)len) == 0) {
					buf_puts(out, "FALSE");
					return 0;
				}
			}
			return err_set(e, ERR_BAD_RECORD, "invalid input syntax for type boolean: \"%.*s\" (parameter $%d)",
				       len > 64 ? 64 : (int)len, data, num);
		}
		case PG_TIMESTAMP:
		case PG_TIMESTAMPTZ:
		case PG_DATE:
			buf_puts(out, "CAST(");
			quote_literal(out, data, (size_t)len);
			buf_puts(out, " AS TIMESTAMP)");
			return 0;
		default:
			quote_literal(out, data, (size_t)len);
			return 0;
		}
	}
	PgMsg m;
	pgproto_msg_init(&m, data, (size_t)len);
	char tmp[64];
	switch (oid) {
	case PG_INT2:
		if (len != 2)
			break;
		snprintf(tmp, sizeof(tmp), "%d", (int)pgproto_get_i16(&m));
		put_number(out, tmp, strlen(tmp));
		return 0;
	case PG_INT4:
	case PG_OID:
		if (len != 4)
			break;
		if (oid == PG_OID)
			snprintf(tmp, sizeof(tmp), "%u", (unsigned)pgproto_get_i32(&m));
		else
			snprintf(tmp, sizeof(tmp), "%d", (int)pgproto_get_i32(&m));
		put_number(out, tmp, strlen(tmp));
		return 0;
	case PG_INT8: {
		if (len != 8)
			break;
		uint64_t hi = (uint32_t)pgproto_get_i32(&m), lo = (uint32_t)pgproto_get_i32(&m);
		snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)(hi << 32 | lo));
		put_number(out, tmp, strlen(tmp));
		return 0;
	}
	case PG_FLOAT4:
	case PG_FLOAT8: {
		double d;
		if (oid == PG_FLOAT4 && len == 4) {
			uint32_t u = (uint32_t)pgproto_get_i32(&m);
			float f;
			memcpy(&f, &u, 4);
			d = f;
		} else if (oid == PG_FLOAT8 && len == 8) {
			uint64_t hi = (uint32_t)pgproto_get_i32(&m), lo = (uint32_t)pgproto_get_i32(&m);
			uint64_t u = hi << 32 | lo;
			memcpy(&d, &u, 8);
		} else {
			break;
		}
		if (isnan(d) || isinf(d)) {
			buf_printf(out, "CAST('%s' AS DOUBLE PRECISION)",
				   isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
			return 0;
		}
		snprintf(tmp, sizeof(tmp), "%.17g", d);
		put_number(out, tmp, strlen(tmp));
		return 0;
	}
	case PG_NUMERIC:
		return numeric_binary(num, data, len, out, e);
	case PG_BOOL:
		if (len != 1)
			break;
		buf_puts(out, data[0] ? "TRUE" : "FALSE");
		return 0;
	case PG_TIMESTAMP:
	case PG_TIMESTAMPTZ: {
		if (len != 8)
			break;
		uint64_t hi = (uint32_t)pgproto_get_i32(&m), lo = (uint32_t)pgproto_get_i32(&m);
		int64_t us = (int64_t)(hi << 32 | lo);
		int64_t ms = us / 1000 - (us % 1000 < 0 ? 1 : 0) + PG_EPOCH_MS;
		Buf t;
		buf_init(&t);
		put_timestamp(&t, ms);
		buf_puts(out, "CAST(");
		quote_literal(out, t.p ? t.p : "", t.len);
		buf_puts(out, " AS TIMESTAMP)");
		buf_free(&t);
		return 0;
	}
	case PG_BYTEA: {
		Buf t;
		buf_init(&t);
		put_hex(&t, data, (size_t)len);
		quote_literal(out, t.p ? t.p : "", t.len);
		buf_free(&t);
		return 0;
	}
	case PG_JSONB:
		if (len < 1 || data[0] != 1)
			break;
		quote_literal(out, data + 1, (size_t)len - 1);
		return 0;
	case 0:
	case PG_UNKNOWN:
	case PG_TEXT:
	case PG_VARCHAR:
	case PG_BPCHAR:
	case PG_NAME:
	case PG_JSON:
		quote_literal(out, data, (size_t)len);
		return 0;
	default:
		return err_set(e, ERR_UNSUPPORTED, "binary format for parameter $%d of type OID %d is not supported; send it as text",
			       num, (int)oid);
	}
	return err_set(e, ERR_BAD_REQUEST, "incorrect binary data format in bind parameter %d (type OID %d, %d bytes)",
		       num, (int)oid, (int)len);
}
