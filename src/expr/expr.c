/*
 * expr.c -- expression trees: construction, typing helpers, LIKE
 * matching, timestamp text and constant conversion.
 *
 * Trees are allocated in an arena owned by whoever builds them (a query
 * plan, a transform); nothing here frees nodes one by one.  Conversion of
 * constants reports bad input as ERR_TYPE naming the value and the type,
 * never asserts.
 *
 * Exports: expr_new, expr_col, expr_const, expr_number, expr_has_col,
 * expr_arith_type, expr_like, expr_ts_parse, expr_ts_format, expr_convert.
 */
#include "base/civil.h"
#include "expr/expr.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Expr *
expr_new(Arena *a, ExprKind kind, WbType type, int nargs)
{
	Expr *e = arena_calloc(a, sizeof(Expr));
	if (e == NULL)
		return NULL;
	e->kind = kind;
	e->type = type;
	e->nargs = nargs;
	if (nargs > 0) {
		e->args = arena_calloc(a, sizeof(Expr *) * (size_t)nargs);
		if (e->args == NULL)
			return NULL;
	}
	return e;
}

Expr *
expr_col(Arena *a, int col, WbType type, int mv)
{
	Expr *e = expr_new(a, EXPR_COL, type, 0);
	if (e != NULL) {
		e->col = col;
		e->mv = mv;
	}
	return e;
}

Expr *
expr_const(Arena *a, Value v)
{
	Expr *e = expr_new(a, EXPR_CONST, v.null ? (WbType)v.type : (WbType)v.type, 0);
	if (e != NULL)
		e->val = v;
	return e;
}

/* Returns the one string column e depends on (-1 none, -2 several or
 * not memoizable); *worth says e contains a node worth memoizing. */
static int
number(Expr *e, int *next, int *worth)
{
	int col = -1, w = 0;
	e->id = (*next)++;
	if (e->kind == EXPR_COL)
		col = !e->mv && type_is_var(e->type) && e->type != TYPE_BYTES ? e->col : -2;
	for (int i = 0; i < e->nargs; i++) {
		int cw = 0;
		int c = number(e->args[i], next, &cw);
		w |= cw;
		if (c == -2 || (col >= 0 && c >= 0 && c != col))
			col = -2;
		else if (c >= 0 && col != -2)
			col = c;
	}
	if (e->kind == EXPR_FUNC || e->kind == EXPR_CASE || e->kind == EXPR_COALESCE ||
	    e->kind == EXPR_CAST)
		w = 1;
	e->memo = col >= 0 && w && !e->mv ? col + 1 : 0;
	if (e->kind == EXPR_IN) {
		/* a list of constants (a subquery's rows may be 10^6 of
		 * them): said once here, not found by a pass per use */
		int allc = e->nargs >= 1;
		for (int i = 1; i < e->nargs && allc; i++)
			allc = e->args[i]->kind == EXPR_CONST;
		e->aux = allc;
	}
	*worth = w;
	return col;
}

void
expr_number(Expr *e, int *next)
{
	int w;
	if (e != NULL)
		number(e, next, &w);
}

int
expr_has_col(const Expr *e)
{
	if (e == NULL)
		return 0;
	if (e->kind == EXPR_COL)
		return 1;
	for (int i = 0; i < e->nargs; i++)
		if (expr_has_col(e->args[i]))
			return 1;
	return 0;
}

WbType
expr_arith_type(WbType a, WbType b)
{
	if (a == TYPE_NULL)
		a = b;
	if (b == TYPE_NULL)
		b = a;
	if (type_is_float(a) || type_is_float(b))
		return TYPE_DOUBLE;
	if (a == TYPE_INT && b == TYPE_INT)
		return TYPE_INT;
	if (a == TYPE_NULL)
		return TYPE_INT;
	return TYPE_LONG;
}

int
expr_like(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0;
	size_t star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '%') {
			star_p = ++pi;
			star_s = si;
			continue;
		}
		if (pi < pn) {
			char pc = p[pi];
			size_t step = 1;
			if (pc == '\\' && pi + 1 < pn) {
				pc = p[pi + 1];
				step = 2;
				if (pc == s[si]) {
					pi += step;
					si++;
					continue;
				}
			} else if (pc == '_') {
				/* one character: a UTF-8 lead byte and its
				 * continuation bytes */
				pi++;
				si++;
				while (si < sn && ((unsigned char)s[si] & 0xC0) == 0x80)
					si++;
				continue;
			} else if (pc == s[si]) {
				pi++;
				si++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return 0;
		pi = star_p;
		/* % resumes at the next character, never inside one */
		si = ++star_s;
		while (si < sn && ((unsigned char)s[si] & 0xC0) == 0x80)
			si = ++star_s;
	}
	while (pi < pn && p[pi] == '%')
		pi++;
	return pi == pn;
}



static int
digits(const char *s, size_t n, size_t *i, int count, int *out)
{
	int v = 0;
	for (int k = 0; k < count; k++) {
		if (*i >= n || !isdigit((unsigned char)s[*i]))
			return -1;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*out = v;
	return 0;
}

int
expr_ts_parse(const char *s, size_t n, int64_t *ms)
{
	size_t i = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' ||
	    digits(s, n, &i, 2, &mo) || i >= n || s[i++] != '-' ||
	    digits(s, n, &i, 2, &d))
		return ERR_TYPE;
	if (i < n && (s[i] == ' ' || s[i] == 'T')) {
		i++;
		if (digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' ||
		    digits(s, n, &i, 2, &mi))
			return ERR_TYPE;
		if (i < n && s[i] == ':') {
			i++;
			if (digits(s, n, &i, 2, &sec))
				return ERR_TYPE;
		}
		if (i < n && s[i] == '.') {
			i++;
			int scale = 100, any = 0;
			while (i < n && isdigit((unsigned char)s[i])) {
				frac += (s[i] - '0') * scale;
				scale /= 10;
				i++;
				any = 1;
			}
			if (!any)
				return ERR_TYPE;
		}
	}
	if (i < n && s[i] == 'Z')
		i++;
	if (i != n || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return ERR_TYPE;
	int64_t days = civil_days_from(y, (unsigned)mo, (unsigned)d);
	*ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + frac;
	return 0;
}

void
expr_ts_format(int64_t ms, Buf *b)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int msec = (int)(rem % 1000);
	int64_t secs = rem / 1000;
	buf_printf(b, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d.", y, m, d, (int)(secs / 3600),
		   (int)(secs / 60 % 60), (int)(secs % 60));
	/* java.sql.Timestamp: fraction without trailing zeros, at least one digit */
	char f[4];
	snprintf(f, sizeof(f), "%03d", msec);
	int len = 3;
	while (len > 1 && f[len - 1] == '0')
		len--;
	buf_append(b, f, (size_t)len);
}

static int
parse_i64(const char *s, size_t n, int64_t *out)
{
	char tmp[64];
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(tmp, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (errno != 0 || *end != '\0' || end == tmp)
		return -1;
	*out = v;
	return 0;
}

static int
parse_f64(const char *s, size_t n, double *out)
{
	char tmp[128];
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	double v = strtod(tmp, &end);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (*end != '\0' || end == tmp)
		return -1;
	*out = v;
	return 0;
}

static int
bad_text(Err *e, const Value *in, WbType t)
{
	return err_set(e, ERR_TYPE, "invalid input syntax for type %s: \"%.*s\"", type_name(t),
		       (int)(in->n > 200 ? 200 : in->n), in->u.s);
}

static int
int_range(int64_t v, WbType t, Err *e)
{
	if (t == TYPE_INT && (v < INT32_MIN || v > INT32_MAX))
		return err_set(e, ERR_OVERFLOW, "integer out of range: %" PRId64, v);
	return 0;
}


int
expr_convert(const Value *in, WbType t, Value *out, Arena *a, Err *e)
{
	WbType from = (WbType)in->type;
	if (in->null) {
		*out = value_null(t);
		return 0;
	}
	if (in->mv)
		return err_set(e, ERR_TYPE, "cannot cast a multi-value to %s", type_name(t));
	if (from == t) {
		*out = *in;
		return 0;
	}
	int rc;
	switch (t) {
	case TYPE_INT:
	case TYPE_LONG:
	case TYPE_TIMESTAMP:
	case TYPE_BOOLEAN: {
		int64_t v;
		if (type_is_integer(from)) {
			v = in->u.i;
		} else if (type_is_float(from)) {
			double d = nearbyint(in->u.d);
			if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18))
				return err_set(e, ERR_OVERFLOW, "%s out of range", type_name(t));
			v = (int64_t)d;
		} else if (type_is_var(from)) {
			if (t == TYPE_TIMESTAMP) {
				if (expr_ts_parse(in->u.s, in->n, &v) != 0 && parse_i64(in->u.s, in->n, &v) != 0)
					return bad_text(e, in, t);
			} else if (t == TYPE_BOOLEAN) {
				char w[8] = {0};
				size_t k;
				for (k = 0; k < in->n && k < 7; k++)
					w[k] = (char)tolower((unsigned char)in->u.s[k]);
				if (in->n < 7 && (!strcmp(w, "true") || !strcmp(w, "t") || !strcmp(w, "1") ||
						  !strcmp(w, "yes") || !strcmp(w, "on")))
					v = 1;
				else if (in->n < 7 && (!strcmp(w, "false") || !strcmp(w, "f") || !strcmp(w, "0") ||
						       !strcmp(w, "no") || !strcmp(w, "off")))
					v = 0;
				else
					return bad_text(e, in, t);
			} else if (parse_i64(in->u.s, in->n, &v) != 0) {
				double d;
				if (parse_f64(in->u.s, in->n, &d) != 0 || d != floor(d) ||
				    !(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18))
					return bad_text(e, in, t);
				v = (int64_t)d;
			}
		} else {
			return err_set(e, ERR_TYPE, "cannot cast %s to %s", type_name(from), type_name(t));
		}
		if (t == TYPE_BOOLEAN)
			v = v != 0;
		if ((rc = int_range(v, t, e)) != 0)
			return rc;
		*out = value_int(t, v);
		return 0;
	}
	case TYPE_FLOAT:
	case TYPE_DOUBLE: {
		double d;
		if (type_is_integer(from))
			d = (double)in->u.i;
		else if (type_is_float(from))
			d = in->u.d;
		else if (type_is_var(from)) {
			if (parse_f64(in->u.s, in->n, &d) != 0)
				return bad_text(e, in, t);
		} else
			return err_set(e, ERR_TYPE, "cannot cast %s to %s", type_name(from), type_name(t));
		if (t == TYPE_FLOAT)
			d = (double)(float)d;
		*out = value_double(t, d);
		return 0;
	}
	case TYPE_STRING:
	case TYPE_JSON:
	case TYPE_BYTES: {
		if (t == TYPE_BYTES && (from == TYPE_STRING || from == TYPE_JSON)) {
			/* text to bytes is hex, as Pinot (and PostgreSQL's \\x form) */
			const char *h = in->u.s;
			size_t hn = in->n;
			if (hn >= 2 && h[0] == '\\' && (h[1] == 'x' || h[1] == 'X')) {
				h += 2;
				hn -= 2;
			}
			if (hn % 2 != 0)
				return bad_text(e, in, t);
			char *d = arena_alloc(a, hn / 2 + 1);
			if (d == NULL)
				return ERR_NOMEM;
			for (size_t k = 0; k < hn; k += 2) {
				int hi = civil_hexval(h[k]), lo = civil_hexval(h[k + 1]);
				if (hi < 0 || lo < 0)
					return bad_text(e, in, t);
				d[k / 2] = (char)(hi * 16 + lo);
			}
			*out = value_str(t, d, (uint32_t)(hn / 2));
			return 0;
		}
		Buf b;
		buf_init(&b);
		if (from == TYPE_TIMESTAMP)
			expr_ts_format(in->u.i, &b);
		else
			value_format(in, &b);
		if (b.oom) {
			buf_free(&b);
			return ERR_NOMEM;
		}
		char *s = arena_strndup(a, b.p ? b.p : "", b.len);
		size_t n = b.len;
		buf_free(&b);
		if (s == NULL)
			return ERR_NOMEM;
		*out = value_str(t, s, (uint32_t)n);
		return 0;
	}
	default:
		return err_set(e, ERR_TYPE, "cannot cast %s to %s", type_name(from), type_name(t));
	}
}
