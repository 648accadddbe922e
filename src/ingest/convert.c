/*
 * convert.c -- type checking and conversion of one field value into a
 * Value of its column's type, for the ingest decoders.
 *
 * How it works: convert_json() looks at the cJSON node kind,
 * convert_jvalue() at a value parsed by jsonrec.c (the NDJSON hot path:
 * numbers arrive as their text) and convert_text() at the text; all
 * funnel into one routine per target type.  Rules (Pinot's PinotDataType conversions, except that Waybill
 * never silently loses data -- where Pinot truncates, Waybill rejects):
 *
 *   INT, LONG   JSON integers; JSON 12.0 -> 12, 12.5 -> error; text is
 *               trimmed, "12" and integral decimals ("12.0", "1e3") are
 *               accepted.  Out of range -> ERR_OVERFLOW.  convert_jvalue
 *               is exact on the number's digits (int64 range); cJSON
 *               holds numbers as doubles, so convert_json rejects a JSON
 *               *number* of magnitude >= 2^53 (its digits are lost).
 *   FLOAT,      numbers; text as strtod (also NaN, Infinity, -Infinity);
 *   DOUBLE      finite values beyond the type's range -> ERR_OVERFLOW.
 *   BOOLEAN     true/false, "true"/"false" (any case), 1/0, "1"/"0";
 *               anything else is an error (Pinot maps it to false).
 *   TIMESTAMP   epoch milliseconds (number or numeric text), or ISO-8601 /
 *               "yyyy-MM-dd HH:mm:ss[.SSS]" text (UTC unless an offset is
 *               given); sub-millisecond digits are truncated.
 *   STRING      strings as they are (must be valid UTF-8); JSON numbers and
 *               booleans become their text; objects and arrays are
 *               stringified as compact JSON (as Pinot does), never dropped.
 *   JSON        any JSON value, serialized compactly.  A JSON *string*
 *               whose content is itself valid JSON is stored as that JSON
 *               (producers often embed JSON as a string, as Pinot assumes);
 *               any other string is stored as a JSON string literal.  Text
 *               (CSV) is stored minified when it is valid JSON, else as a
 *               string literal.
 *   BYTES       hex text ("0aff"), trimmed; odd length or non-hex -> error.
 *
 * Multi-value columns take a JSON array (a scalar becomes a 1-element
 * array; null elements are skipped) or text split at mv_delim.  A missing
 * value, null, an empty text field or an empty array is null (null = 1):
 * a single value then holds the default null value in u; a multi-value
 * holds the 1-element array [default] pointing at the Field's own
 * default_null (Pinot stores [default] for a null multi-value).
 *
 * Memory: strings and arrays go to the caller's arena; cJSON printing uses
 * cJSON's allocator and is freed at once.  Nothing is kept between calls.
 *
 * Exports: convert_json, convert_jvalue, convert_null, convert_jnumber,
 * convert_print_number, convert_text, convert_utf8_valid,
 * convert_parse_timestamp.
 */
#include "base/civil.h"
#include "ingest/convert.h"
#include "base/buf.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHOW_MAX 64

/* Renders s for an error message: quoted, truncated, control bytes as '?'. */
static void
show_text(const char *s, size_t n, char *dst, size_t cap)
{
	size_t k = 0, lim = n < SHOW_MAX ? n : SHOW_MAX;
	dst[k++] = '"';
	for (size_t i = 0; i < lim && k + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[k++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
	}
	if (n > lim && k + 5 < cap) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k++] = '"';
	dst[k] = '\0';
}

static void
show_json(const cJSON *node, char *dst, size_t cap)
{
	if (cJSON_IsString(node))
		show_text(node->valuestring, strlen(node->valuestring), dst, cap);
	else if (cJSON_IsNumber(node))
		snprintf(dst, cap, "%.17g", node->valuedouble);
	else if (cJSON_IsTrue(node))
		snprintf(dst, cap, "true");
	else if (cJSON_IsFalse(node))
		snprintf(dst, cap, "false");
	else if (cJSON_IsArray(node))
		snprintf(dst, cap, "an array");
	else if (cJSON_IsObject(node))
		snprintf(dst, cap, "an object");
	else
		snprintf(dst, cap, "null");
}

static int
bad_text(const Field *f, const char *s, size_t n, int code, const char *why, Err *e)
{
	char shown[SHOW_MAX + 16];
	show_text(s, n, shown, sizeof shown);
	return err_reset(e, code, "column '%s': expected %s, got %s%s%s", f->name,
			 type_name(f->type), shown, why ? ": " : "", why ? why : "");
}

static int
bad_json(const Field *f, const cJSON *node, int code, const char *why, Err *e)
{
	char shown[SHOW_MAX + 16];
	show_json(node, shown, sizeof shown);
	return err_reset(e, code, "column '%s': expected %s, got %s%s%s", f->name,
			 type_name(f->type), shown, why ? ": " : "", why ? why : "");
}

static int
nomem(const Field *f, Err *e)
{
	return err_reset(e, ERR_NOMEM, "column '%s': out of memory", f->name);
}

int
convert_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		/* ASCII fast path, 8 bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

enum { PARSE_OK = 0, PARSE_SYNTAX = -1, PARSE_RANGE = -2, PARSE_FRACTION = -3 };

/* strtod over exactly n bytes of plain decimal/exponent text (digits, '.',
 * 'e', sign; n < 128): PARSE_OK with errno as strtod left it, or
 * PARSE_SYNTAX. */
static int
decimal_span(const char *s, size_t n, double *out)
{
	char tmp[128];
	if (n >= sizeof tmp)
		return PARSE_SYNTAX;
	for (size_t k = 0; k < n; k++) {
		char c = s[k];
		if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' ||
		      c == '+'))
			return PARSE_SYNTAX;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	*out = strtod(tmp, &end);
	return end == tmp + n ? PARSE_OK : PARSE_SYNTAX;
}

/* Parses trimmed text as an int64: plain digits exactly, or a decimal /
 * exponent form whose value is integral. */
static int
parse_i64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (n == 0)
		return PARSE_SYNTAX;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return PARSE_SYNTAX;
	uint64_t acc = 0;
	size_t start = i;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (acc > (UINT64_MAX - d) / 10) {
			acc = UINT64_MAX;
			for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				;
			break;
		}
		acc = acc * 10 + d;
	}
	if (i == n && i > start) {
		if (neg) {
			if (acc > (uint64_t)INT64_MAX + 1)
				return PARSE_RANGE;
			*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
		} else {
			if (acc > (uint64_t)INT64_MAX)
				return PARSE_RANGE;
			*out = (int64_t)acc;
		}
		return PARSE_OK;
	}
	/* decimal or exponent form */
	double d;
	if (n >= 64 || decimal_span(s, n, &d) != PARSE_OK)
		return PARSE_SYNTAX;
	if (!isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		return PARSE_RANGE;
	if (d != trunc(d))
		return PARSE_FRACTION;
	*out = (int64_t)d;
	return PARSE_OK;
}

/* Parses trimmed text as a double (Java's NaN/Infinity spellings too). */
static int
parse_double(const char *s, size_t n, double *out)
{
	if (n == 0 || n >= 128)
		return PARSE_SYNTAX;
	const char *p = s;
	size_t m = n;
	int neg = 0;
	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
		m--;
	}
	if (m == 3 && strncasecmp(p, "nan", 3) == 0) {
		*out = NAN;
		return PARSE_OK;
	}
	if ((m == 8 && strncasecmp(p, "infinity", 8) == 0) ||
	    (m == 3 && strncasecmp(p, "inf", 3) == 0)) {
		*out = neg ? -INFINITY : INFINITY;
		return PARSE_OK;
	}
	double d;
	if (decimal_span(s, n, &d) != PARSE_OK)
		return PARSE_SYNTAX;
	if (errno == ERANGE && isinf(d))
		return PARSE_RANGE;
	*out = d;
	return PARSE_OK;
}


static int
digits(const char *s, size_t n, size_t *i, int count, int *out)
{
	int v = 0;
	for (int k = 0; k < count; k++) {
		if (*i >= n || s[*i] < '0' || s[*i] > '9')
			return -1;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*out = v;
	return 0;
}

int
convert_parse_timestamp(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t i = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	if (digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || digits(s, n, &i, 2, &mo) ||
	    i >= n || s[i++] != '-' || digits(s, n, &i, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	int64_t off_min = 0;
	if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
		i++;
		if (digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' ||
		    digits(s, n, &i, 2, &mi))
			return -1;
		if (i < n && s[i] == ':') {
			i++;
			if (digits(s, n, &i, 2, &sec))
				return -1;
			if (i < n && (s[i] == '.' || s[i] == ',')) {
				i++;
				int nd = 0;
				for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
					if (nd < 3)
						frac = frac * 10 + (s[i] - '0');
				if (nd == 0)
					return -1;
				for (; nd < 3; nd++)
					frac *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i < n && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
			if (digits(s, n, &i, 2, &oh))
				return -1;
			if (i < n && s[i] == ':')
				i++;
			if (i < n && digits(s, n, &i, 2, &om))
				return -1;
			if (oh > 18 || om > 59)
				return -1;
			off_min = sign * (oh * 60 + om);
		}
	}
	if (i != n)
		return -1;
	int64_t days = civil_days_from(y, (unsigned)mo, (unsigned)d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
	*ms = secs * 1000 + frac;
	return 0;
}

static int
store_str(const Field *f, const char *s, size_t n, Arena *a, Value *out, Err *e)
{
	if (n > UINT32_MAX)
		return err_reset(e, ERR_TOO_LARGE, "column '%s': value of %zu bytes is too long",
				 f->name, n);
	char *p = arena_alloc(a, n + 1);
	if (p == NULL)
		return nomem(f, e);
	memcpy(p, s, n);
	p[n] = '\0';
	out->u.s = p;
	out->n = (uint32_t)n;
	return 0;
}


/* Minifies text that is valid JSON into the arena; 1 if it was not JSON. */
static int
store_json_text(const Field *f, const char *s, size_t n, Arena *a, Value *out, Err *e)
{
	cJSON *tree = cJSON_ParseWithLength(s, n);
	if (tree == NULL)
		return 1;
	cJSON_Delete(tree);
	char *p = arena_alloc(a, n + 1);
	if (p == NULL)
		return nomem(f, e);
	memcpy(p, s, n);
	p[n] = '\0';
	cJSON_Minify(p);
	out->u.s = p;
	out->n = (uint32_t)strlen(p);
	return 0;
}

static int
store_json_literal(const Field *f, const char *s, size_t n, Arena *a, Value *out, Err *e)
{
	Buf b;
	buf_init(&b);
	buf_json_str(&b, s, n);
	int rc = b.oom ? nomem(f, e) : store_str(f, b.p, b.len, a, out, e);
	buf_free(&b);
	return rc;
}

/* Converts trimmed-or-not text to a non-null scalar of f's type. */
static int
scalar_text(const Field *f, const char *s, size_t n, Arena *a, Value *out, Err *e)
{
	WbType t = f->type;
	const char *ts = s;
	size_t tn = n;
	int64_t iv;
	double dv;
	int rc;

	out->type = (uint8_t)t;
	out->null = 0;
	out->mv = 0;
	switch (t) {
	case TYPE_INT:
	case TYPE_LONG:
		trim(&ts, &tn);
		rc = parse_i64(ts, tn, &iv);
		if (rc == PARSE_OK && t == TYPE_INT && (iv < INT32_MIN || iv > INT32_MAX))
			rc = PARSE_RANGE;
		if (rc == PARSE_RANGE)
			return bad_text(f, s, n, ERR_OVERFLOW, "out of range", e);
		if (rc == PARSE_FRACTION)
			return bad_text(f, s, n, ERR_TYPE, "not an integer", e);
		if (rc != PARSE_OK)
			return bad_text(f, s, n, ERR_TYPE, NULL, e);
		out->u.i = iv;
		return 0;
	case TYPE_FLOAT:
	case TYPE_DOUBLE:
		trim(&ts, &tn);
		rc = parse_double(ts, tn, &dv);
		if (rc == PARSE_OK && t == TYPE_FLOAT && isfinite(dv) && fabs(dv) > FLT_MAX)
			rc = PARSE_RANGE;
		if (rc == PARSE_RANGE)
			return bad_text(f, s, n, ERR_OVERFLOW, "out of range", e);
		if (rc != PARSE_OK)
			return bad_text(f, s, n, ERR_TYPE, NULL, e);
		out->u.d = t == TYPE_FLOAT ? (double)(float)dv : dv;
		return 0;
	case TYPE_BOOLEAN:
		trim(&ts, &tn);
		if ((tn == 4 && strncasecmp(ts, "true", 4) == 0) || (tn == 1 && ts[0] == '1'))
			out->u.i = 1;
		else if ((tn == 5 && strncasecmp(ts, "false", 5) == 0) || (tn == 1 && ts[0] == '0'))
			out->u.i = 0;
		else
			return bad_text(f, s, n, ERR_TYPE, NULL, e);
		return 0;
	case TYPE_TIMESTAMP:
		trim(&ts, &tn);
		rc = parse_i64(ts, tn, &iv);
		if (rc == PARSE_RANGE)
			return bad_text(f, s, n, ERR_OVERFLOW, "out of range", e);
		if (rc == PARSE_FRACTION)
			return bad_text(f, s, n, ERR_TYPE, "not whole milliseconds", e);
		if (rc != PARSE_OK && convert_parse_timestamp(ts, tn, &iv) != 0)
			return bad_text(f, s, n, ERR_TYPE,
					"not epoch milliseconds or an ISO-8601 timestamp", e);
		out->u.i = iv;
		return 0;
	case TYPE_STRING:
		if (!convert_utf8_valid(s, n))
			return err_reset(e, ERR_TYPE, "column '%s': invalid UTF-8", f->name);
		return store_str(f, s, n, a, out, e);
	case TYPE_JSON:
		if (!convert_utf8_valid(s, n))
			return err_reset(e, ERR_TYPE, "column '%s': invalid UTF-8", f->name);
		rc = store_json_text(f, s, n, a, out, e);
		if (rc <= 0)
			return rc;
		return store_json_literal(f, s, n, a, out, e);
	case TYPE_BYTES: {
		trim(&ts, &tn);
		if (tn % 2 != 0)
			return bad_text(f, s, n, ERR_TYPE, "hex text of odd length", e);
		char *p = arena_alloc(a, tn / 2 + 1);
		if (p == NULL)
			return nomem(f, e);
		for (size_t k = 0; k < tn; k += 2) {
			int hi = civil_hexval(ts[k]), lo = civil_hexval(ts[k + 1]);
			if (hi < 0 || lo < 0)
				return bad_text(f, s, n, ERR_TYPE, "not hex", e);
			p[k / 2] = (char)(hi << 4 | lo);
		}
		p[tn / 2] = '\0';
		out->u.s = p;
		out->n = (uint32_t)(tn / 2);
		return 0;
	}
	default:
		return err_reset(e, ERR_INTERNAL, "column '%s': unsupported type %d", f->name, t);
	}
}

#define TWO53 9007199254740992.0

/* Text of a JSON number that a STRING column keeps. */
static size_t
number_text(double d, char *buf, size_t cap)
{
	if (d == trunc(d) && fabs(d) < 1e17)
		return (size_t)snprintf(buf, cap, "%.0f", d);
	for (int prec = 15; prec <= 17; prec++) {
		int len = snprintf(buf, cap, "%.*g", prec, d);
		if (prec == 17 || strtod(buf, NULL) == d)
			return (size_t)len;
	}
	return 0;
}

static int
store_printed(const Field *f, const cJSON *node, Arena *a, Value *out, Err *e)
{
	char *txt = cJSON_PrintUnformatted(node);
	if (txt == NULL)
		return nomem(f, e);
	int rc = 0;
	size_t len = strlen(txt);
	if (!convert_utf8_valid(txt, len))
		rc = err_reset(e, ERR_TYPE, "column '%s': invalid UTF-8", f->name);
	else
		rc = store_str(f, txt, len, a, out, e);
	cJSON_free(txt);
	return rc;
}

/* Converts a non-null, non-array-for-MV JSON node to a scalar. */
static int
scalar_json(const Field *f, const cJSON *node, Arena *a, Value *out, Err *e)
{
	WbType t = f->type;
	out->type = (uint8_t)t;
	out->null = 0;
	out->mv = 0;
	if (cJSON_IsString(node)) {
		const char *s = node->valuestring;
		size_t n = strlen(s);
		if (t == TYPE_JSON) {
			if (!convert_utf8_valid(s, n))
				return err_reset(e, ERR_TYPE, "column '%s': invalid UTF-8", f->name);
			int rc = store_json_text(f, s, n, a, out, e);
			if (rc <= 0)
				return rc;
			return store_json_literal(f, s, n, a, out, e);
		}
		return scalar_text(f, s, n, a, out, e);
	}
	if (t == TYPE_JSON)
		return store_printed(f, node, a, out, e);
	if (cJSON_IsNumber(node)) {
		double d = node->valuedouble;
		char buf[40];
		switch (t) {
		case TYPE_INT:
		case TYPE_LONG:
		case TYPE_TIMESTAMP:
			if (!isfinite(d))
				return bad_json(f, node, ERR_OVERFLOW, "out of range", e);
			if (d != trunc(d))
				return bad_json(f, node, ERR_TYPE,
						t == TYPE_TIMESTAMP ? "not whole milliseconds"
								    : "not an integer", e);
			if (t == TYPE_INT && (d < INT32_MIN || d > INT32_MAX))
				return bad_json(f, node, ERR_OVERFLOW, "out of range", e);
			if (fabs(d) >= TWO53)
				return bad_json(f, node, ERR_OVERFLOW,
						"JSON numbers of 2^53 or more lose precision; send it "
						"as a string", e);
			out->u.i = (int64_t)d;
			return 0;
		case TYPE_FLOAT:
			if (!isfinite(d) || fabs(d) > FLT_MAX)
				return bad_json(f, node, ERR_OVERFLOW, "out of range", e);
			out->u.d = (double)(float)d;
			return 0;
		case TYPE_DOUBLE:
			if (!isfinite(d))
				return bad_json(f, node, ERR_OVERFLOW, "out of range", e);
			out->u.d = d;
			return 0;
		case TYPE_BOOLEAN:
			if (d != 0 && d != 1)
				return bad_json(f, node, ERR_TYPE, NULL, e);
			out->u.i = d == 1;
			return 0;
		case TYPE_STRING: {
			size_t len = number_text(d, buf, sizeof buf);
			return store_str(f, buf, len, a, out, e);
		}
		default:
			return bad_json(f, node, ERR_TYPE, NULL, e);
		}
	}
	if (cJSON_IsBool(node)) {
		int b = cJSON_IsTrue(node);
		if (t == TYPE_BOOLEAN) {
			out->u.i = b;
			return 0;
		}
		if (t == TYPE_STRING)
			return store_str(f, b ? "true" : "false", b ? 4 : 5, a, out, e);
		return bad_json(f, node, ERR_TYPE, NULL, e);
	}
	/* object, or array in a single-value column */
	if (t == TYPE_STRING)
		return store_printed(f, node, a, out, e);
	return bad_json(f, node, ERR_TYPE, NULL, e);
}

static void
set_null(const Field *f, Value *out)
{
	if (f->single_value) {
		*out = f->default_null;
		out->mv = 0;
	} else {
		out->u.mv = &f->default_null;
		out->n = 1;
		out->mv = 1;
	}
	out->type = (uint8_t)f->type;
	out->null = 1;
}

int
convert_json(const Field *f, const cJSON *node, Arena *a, Value *out, Err *e)
{
	if (node == NULL || cJSON_IsNull(node)) {
		set_null(f, out);
		return 0;
	}
	if (f->single_value)
		return scalar_json(f, node, a, out, e);
	if (!cJSON_IsArray(node)) {
		Value *arr = arena_alloc(a, sizeof(Value));
		if (arr == NULL)
			return nomem(f, e);
		int rc = scalar_json(f, node, a, arr, e);
		if (rc != 0)
			return rc;
		*out = (Value){.type = (uint8_t)f->type, .mv = 1, .n = 1};
		out->u.mv = arr;
		return 0;
	}
	size_t cnt = 0;
	for (const cJSON *c = node->child; c != NULL; c = c->next)
		cnt++;
	Value *arr = cnt ? arena_alloc(a, sizeof(Value) * cnt) : NULL;
	if (cnt && arr == NULL)
		return nomem(f, e);
	size_t k = 0;
	for (const cJSON *c = node->child; c != NULL; c = c->next) {
		if (cJSON_IsNull(c))
			continue;
		if (cJSON_IsArray(c) && f->type != TYPE_JSON && f->type != TYPE_STRING)
			return bad_json(f, c, ERR_TYPE, "nested array", e);
		int rc = scalar_json(f, c, a, &arr[k], e);
		if (rc != 0)
			return rc;
		k++;
	}
	if (k == 0) {
		set_null(f, out);
		return 0;
	}
	*out = (Value){.type = (uint8_t)f->type, .mv = 1, .n = (uint32_t)k};
	out->u.mv = arr;
	return 0;
}

int
convert_text(const Field *f, const char *s, size_t n, int flags, char mv_delim, Arena *a,
	     Value *out, Err *e)
{
	int quoted = (flags & CONVERT_QUOTED) != 0;
	if (n == 0 && !(quoted && f->type == TYPE_STRING && f->single_value)) {
		set_null(f, out);
		return 0;
	}
	if (f->single_value)
		return scalar_text(f, s, n, a, out, e);
	size_t cnt = 1;
	for (size_t i = 0; i < n; i++)
		cnt += s[i] == mv_delim;
	Value *arr = arena_alloc(a, sizeof(Value) * cnt);
	if (arr == NULL)
		return nomem(f, e);
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != mv_delim)
			continue;
		const char *el = s + start;
		size_t len = i - start;
		start = i + 1;
		if (len == 0 && f->type != TYPE_STRING)
			continue;
		int rc = scalar_text(f, el, len, a, &arr[k], e);
		if (rc != 0)
			return rc;
		k++;
	}
	if (k == 0) {
		set_null(f, out);
		return 0;
	}
	*out = (Value){.type = (uint8_t)f->type, .mv = 1, .n = (uint32_t)k};
	out->u.mv = arr;
	return 0;
}

void
convert_null(const Field *f, Value *out)
{
	set_null(f, out);
}

static const double pow10_exact[23] = {
	1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* The fast path needs each double operation rounded once, to double. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#define NO_FAST_DOUBLE 1
#endif

double
convert_jnumber(const char *s, size_t n)
{
	char tmp[72];
#ifndef NO_FAST_DOUBLE
	/* m * 10^e with m < 2^53 and |e| <= 22 is one correctly rounded
	 * IEEE operation on exact operands (Clinger), so equals strtod. */
	size_t i = 0;
	int neg = 0, ok = 1, nfrac = 0, digits = 0;
	uint64_t m = 0;
	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (m >= 100000000000000000ull)
			ok = 0;
		else
			m = m * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++, nfrac++) {
			if (m >= 100000000000000000ull)
				ok = 0;
			else
				m = m * 10 + (uint64_t)(s[i] - '0');
		}
	}
	int e = 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (e > 10000)
				ok = 0;
			else
				e = e * 10 + (s[i] - '0');
		}
		if (eneg)
			e = -e;
	}
	e -= nfrac;
	if (ok && i == n && digits > 0 && m <= (1ull << 53) && e >= -22 && e <= 22) {
		double d = (double)m;
		d = e >= 0 ? d * pow10_exact[e] : d / pow10_exact[-e];
		return neg ? -d : d;
	}
#endif
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return strtod(tmp, NULL);
}

/* d as cJSON prints it: 15 significant digits unless that does not read
 * back within DBL_EPSILON, then 17; NaN and Infinity as null. */
static size_t
cjson_number(double d, char *buf, size_t cap)
{
	if (isnan(d) || isinf(d))
		return (size_t)snprintf(buf, cap, "null");
	int len = snprintf(buf, cap, "%1.15g", d);
	double back = strtod(buf, NULL);
	double maxv = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
	if (!(fabs(back - d) <= maxv * DBL_EPSILON))
		len = snprintf(buf, cap, "%1.17g", d);
	return (size_t)len;
}

void
convert_print_number(double d, Buf *b)
{
	char tmp[40];
	size_t n = cjson_number(d, tmp, sizeof tmp);
	buf_append(b, tmp, n);
}

/* Exact value of a plain integer token ("-?[0-9]+"): PARSE_OK,
 * PARSE_RANGE (beyond int64), or PARSE_SYNTAX (not a plain integer). */
static int
plain_int(const char *s, size_t n, int64_t *out)
{
	size_t i = s[0] == '-';
	if (i == n)
		return PARSE_SYNTAX;
	uint64_t acc = 0;
	int over = 0;
	for (size_t k = i; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return PARSE_SYNTAX;
		unsigned dg = (unsigned)(s[k] - '0');
		if (acc > (UINT64_MAX - dg) / 10)
			over = 1;
		else
			acc = acc * 10 + dg;
	}
	if (over || acc > (uint64_t)INT64_MAX + (i ? 1 : 0))
		return PARSE_RANGE;
	*out = i ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
	return PARSE_OK;
}

/* Exact integer value of a decimal/exponent token (at most 63 bytes):
 * PARSE_OK, PARSE_FRACTION or PARSE_RANGE. */
static int
exact_int(const char *s, size_t n, int64_t *out)
{
	char dg[64];
	size_t nd = 0, i = 0;
	int neg = 0, frac = 0;
	long e = 0;
	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			frac = 1;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		e -= frac;
		if (nd == 0 && c == '0')
			continue;
		if (nd == sizeof dg)
			return PARSE_RANGE;
		dg[nd++] = c;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0;
		long x = 0;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if (x < 100000)
				x = x * 10 + (s[i] - '0');
		e += eneg ? -x : x;
	}
	/* value = dg * 10^e */
	while (e < 0 && nd > 0) {
		if (dg[nd - 1] != '0')
			return PARSE_FRACTION;
		nd--;
		e++;
	}
	if (nd == 0) {
		*out = 0;
		return PARSE_OK;
	}
	if ((long)nd + e > 19)
		return PARSE_RANGE;
	uint64_t acc = 0;
	for (size_t k = 0; k < nd; k++)
		acc = acc * 10 + (uint64_t)(dg[k] - '0');
	for (long k = 0; k < e; k++) {
		if (acc > UINT64_MAX / 10)
			return PARSE_RANGE;
		acc *= 10;
	}
	if (acc > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return PARSE_RANGE;
	*out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
	return PARSE_OK;
}

static void
show_jvalue(const ConvertJValue *v, char *dst, size_t cap)
{
	switch (v->kind) {
	case CONVERT_JSTRING:
		show_text(v->s, v->n, dst, cap);
		break;
	case CONVERT_JNUMBER:
		snprintf(dst, cap, "%.17g", convert_jnumber(v->s, v->n));
		break;
	case CONVERT_JTRUE:
		snprintf(dst, cap, "true");
		break;
	case CONVERT_JFALSE:
		snprintf(dst, cap, "false");
		break;
	case CONVERT_JARRAY:
		snprintf(dst, cap, "an array");
		break;
	default:
		snprintf(dst, cap, "an object");
		break;
	}
}

static int
bad_jvalue(const Field *f, const ConvertJValue *v, int code, const char *why, Err *e)
{
	char shown[SHOW_MAX + 16];
	show_jvalue(v, shown, sizeof shown);
	return err_reset(e, code, "column '%s': expected %s, got %s%s%s", f->name,
			 type_name(f->type), shown, why ? ": " : "", why ? why : "");
}

static int
store_checked(const Field *f, const char *s, size_t n, Arena *a, Value *out, Err *e)
{
	if (!convert_utf8_valid(s, n))
		return err_reset(e, ERR_TYPE, "column '%s': invalid UTF-8", f->name);
	return store_str(f, s, n, a, out, e);
}

static int
number_jvalue(const Field *f, const ConvertJValue *v, Arena *a, Value *out, Err *e)
{
	WbType t = f->type;
	int64_t iv;
	int prc = plain_int(v->s, v->n, &iv);
	double d;
	switch (t) {
	case TYPE_INT:
	case TYPE_LONG:
	case TYPE_TIMESTAMP:
		if (prc == PARSE_OK) {
			if (t == TYPE_INT && (iv < INT32_MIN || iv > INT32_MAX))
				return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
			out->u.i = iv;
			return 0;
		}
		if (prc == PARSE_RANGE)
			return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
		d = convert_jnumber(v->s, v->n);
		if (!isfinite(d))
			return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
		if (d != trunc(d))
			return bad_jvalue(f, v, ERR_TYPE,
					  t == TYPE_TIMESTAMP ? "not whole milliseconds"
							      : "not an integer", e);
		if (t == TYPE_INT && (d < INT32_MIN || d > INT32_MAX))
			return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
		if (fabs(d) >= TWO53) {
			/* the double may have rounded: decide on the digits */
			int rc = exact_int(v->s, v->n, &iv);
			if (rc == PARSE_FRACTION)
				return bad_jvalue(f, v, ERR_TYPE,
						  t == TYPE_TIMESTAMP ? "not whole milliseconds"
								      : "not an integer", e);
			if (rc != PARSE_OK)
				return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
			out->u.i = iv;
			return 0;
		}
		out->u.i = (int64_t)d;
		return 0;
	case TYPE_FLOAT:
		d = convert_jnumber(v->s, v->n);
		if (!isfinite(d) || fabs(d) > FLT_MAX)
			return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
		out->u.d = (double)(float)d;
		return 0;
	case TYPE_DOUBLE:
		d = convert_jnumber(v->s, v->n);
		if (!isfinite(d))
			return bad_jvalue(f, v, ERR_OVERFLOW, "out of range", e);
		out->u.d = d;
		return 0;
	case TYPE_BOOLEAN:
		d = convert_jnumber(v->s, v->n);
		if (d != 0 && d != 1)
			return bad_jvalue(f, v, ERR_TYPE, NULL, e);
		out->u.i = d == 1;
		return 0;
	case TYPE_STRING: {
		char buf[40];
		size_t len;
		if (prc == PARSE_OK && (iv >= (int64_t)TWO53 || iv <= -(int64_t)TWO53))
			len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)iv);
		else
			len = number_text(convert_jnumber(v->s, v->n), buf, sizeof buf);
		return store_str(f, buf, len, a, out, e);
	}
	case TYPE_JSON: {
		char buf[40];
		size_t len = cjson_number(convert_jnumber(v->s, v->n), buf, sizeof buf);
		return store_str(f, buf, len, a, out, e);
	}
	default:
		return bad_jvalue(f, v, ERR_TYPE, NULL, e);
	}
}

int
convert_jvalue(const Field *f, const ConvertJValue *v, Arena *a, Value *out, Err *e)
{
	WbType t = f->type;
	out->type = (uint8_t)t;
	out->null = 0;
	out->mv = 0;
	switch (v->kind) {
	case CONVERT_JSTRING:
		if (t == TYPE_JSON) {
			if (!convert_utf8_valid(v->s, v->n))
				return err_reset(e, ERR_TYPE, "column '%s': invalid UTF-8", f->name);
			int rc = store_json_text(f, v->s, v->n, a, out, e);
			if (rc <= 0)
				return rc;
			return store_json_literal(f, v->s, v->n, a, out, e);
		}
		return scalar_text(f, v->s, v->n, a, out, e);
	case CONVERT_JNUMBER:
		return number_jvalue(f, v, a, out, e);
	case CONVERT_JTRUE:
	case CONVERT_JFALSE: {
		int b = v->kind == CONVERT_JTRUE;
		if (t == TYPE_BOOLEAN) {
			out->u.i = b;
			return 0;
		}
		if (t == TYPE_STRING || t == TYPE_JSON)
			return store_str(f, b ? "true" : "false", b ? 4 : 5, a, out, e);
		return bad_jvalue(f, v, ERR_TYPE, NULL, e);
	}
	default:
		if ((t == TYPE_STRING || t == TYPE_JSON) && v->s != NULL)
			return store_checked(f, v->s, v->n, a, out, e);
		return bad_jvalue(f, v, ERR_TYPE, NULL, e);
	}
}
