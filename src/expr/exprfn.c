/*
 * exprfn.c -- lookup in the scalar function tables and the helpers their
 * implementations share.
 *
 * The function families live in fnstr.c (strings), fnmath.c (numbers),
 * fntime.c (timestamps), fntext.c (full-text TEXT_MATCH), fnmv.c
 * (multi-value and map/JSON extraction), fnjson.c (Pinot's JSON paths),
 * fnpg.c (PostgreSQL's catalog and session functions);
 * each exports a table terminated by a NULL
 * name.  A name may appear more than once (overloads by arity or argument
 * class); the binder tries the entries in order.  A name that matches
 * no entry exactly is looked up again in Pinot's canonical form (case
 * and underscores ignored: regexpLike finds regexp_like).  Tables are
 * constant and shared by every thread.
 *
 * Exports: exprfn_find, exprfn_name_eq, exprfn_exists, exprfn_interval_parse,
 * exprfn_str, exprfn_fail, exprfn_sig_class.
 */
#include "expr/exprfn.h"
#include "expr/fnpg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const ExprFn *const tables[] = {fnstr_table, fnmath_table, fntime_table, fntext_table,
					 fnmv_table, fnjson_table, fnpg_table};

/* Pinot's canonical form of a function name: lowercase without
 * underscores (regexp_like = regexpLike = REGEXP_LIKE). */
int
exprfn_name_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		if (*a == '\0')
			return 1;
		a++;
		b++;
	}
}

/* The run of entries named name (exactly, or by canonical form when
 * canon) in table order. */
static const ExprFn *
find_run(const char *name, int canon, int *n)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const ExprFn *f = tables[t]; f->name; f++)
			if (canon ? exprfn_name_eq(f->name, name) : strcmp(f->name, name) == 0) {
				int k = 0;
				while (f[k].name && strcmp(f[k].name, f->name) == 0)
					k++;
				*n = k;
				return f;
			}
	*n = 0;
	return NULL;
}

const ExprFn *
exprfn_find(const char *name, int *n)
{
	const ExprFn *f = find_run(name, 0, n);
	return f ? f : find_run(name, 1, n);
}

int
exprfn_exists(const char *name)
{
	int n;
	return exprfn_find(name, &n) != NULL;
}

const char *
exprfn_str(const Vec *v, int r, uint32_t *len)
{
	if (v->enc == VEC_STR) {
		*len = v->slen[r];
		return v->s[r];
	}
	if (v->enc == VEC_DICT) {
		uint32_t l = 0;
		const char *p = v->ids[r] < mutcol_dict_size(v->col) ? mutcol_dict_get(v->col, v->ids[r], &l) : NULL;
		*len = p ? l : 0;
		return p ? p : "";
	}
	*len = 0;
	return "";
}

int
exprfn_fail(FnCall *c, int code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int rc;
	if (c->e->pos > 0)
		rc = err_set(c->err, code, "%s at position %d", msg, c->e->pos);
	else
		rc = err_set(c->err, code, "%s", msg);
	if (c->err)
		c->err->pos = c->e->pos;
	return rc;
}

/* ---- interval literals ------------------------------------------------- */

static int
unit_ms(const char *u, size_t n, int64_t *ms, int64_t *months)
{
	static const struct { const char *name; int64_t ms; int64_t months; } units[] = {
		{"millisecond", 1, 0}, {"milliseconds", 1, 0}, {"ms", 1, 0}, {"msec", 1, 0},
		{"msecs", 1, 0},
		{"second", 1000, 0}, {"seconds", 1000, 0}, {"sec", 1000, 0}, {"secs", 1000, 0},
		{"s", 1000, 0},
		{"minute", 60000, 0}, {"minutes", 60000, 0}, {"min", 60000, 0}, {"mins", 60000, 0},
		{"m", 60000, 0},
		{"hour", 3600000, 0}, {"hours", 3600000, 0}, {"hr", 3600000, 0}, {"hrs", 3600000, 0},
		{"h", 3600000, 0},
		{"day", 86400000, 0}, {"days", 86400000, 0}, {"d", 86400000, 0},
		{"week", 604800000, 0}, {"weeks", 604800000, 0}, {"w", 604800000, 0},
		{"month", 0, 1}, {"months", 0, 1}, {"mon", 0, 1}, {"mons", 0, 1},
		{"year", 0, 12}, {"years", 0, 12}, {"y", 0, 12}, {"yr", 0, 12}, {"yrs", 0, 12},
		{"decade", 0, 120}, {"decades", 0, 120}, {"century", 0, 1200}, {"centuries", 0, 1200},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && strncasecmp(units[i].name, u, n) == 0) {
			*ms = units[i].ms;
			*months = units[i].months;
			return 0;
		}
	return -1;
}

/* ISO 8601 duration: P[nY][nM][nW][nD][T[nH][nM][n[.f]S]] */
static int
iso_duration(const char *s, size_t n, int64_t *months, int64_t *ms)
{
	size_t i = 1;
	int t = 0, any = 0;
	double tot = 0;
	int64_t mon = 0;
	while (i < n) {
		if (s[i] == 'T' || s[i] == 't') {
			t = 1;
			i++;
			continue;
		}
		char *end;
		char tmp[64];
		size_t k = 0;
		while (i < n && k < sizeof(tmp) - 1 && (isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
			tmp[k++] = s[i++];
		tmp[k] = '\0';
		double v = strtod(tmp, &end);
		if (k == 0 || *end != '\0' || i >= n)
			return ERR_TYPE;
		char u = (char)toupper((unsigned char)s[i++]);
		any = 1;
		if (!t && u == 'Y')
			mon += (int64_t)(v * 12);
		else if (!t && u == 'M')
			mon += (int64_t)v;
		else if (!t && u == 'W')
			tot += v * 604800000.0;
		else if (!t && u == 'D')
			tot += v * 86400000.0;
		else if (t && u == 'H')
			tot += v * 3600000.0;
		else if (t && u == 'M')
			tot += v * 60000.0;
		else if (t && u == 'S')
			tot += v * 1000.0;
		else
			return ERR_TYPE;
	}
	if (!any)
		return ERR_TYPE;
	*months = mon;
	*ms = (int64_t)tot;
	return 0;
}

int
exprfn_interval_parse(const char *s, size_t n, int64_t *months, int64_t *ms)
{
	size_t i = 0;
	int64_t mon = 0;
	double tot = 0;
	int any = 0, ago = 0;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == 'P' || s[i] == 'p'))
		return iso_duration(s + i, n - i, months, ms);
	while (i < n) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i >= n)
			break;
		char tmp[64];
		size_t k = 0;
		while (i < n && k < sizeof(tmp) - 1 &&
		       (isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '+' || s[i] == ':'))
			tmp[k++] = s[i++];
		tmp[k] = '\0';
		if (k == 0) {
			size_t w = i;
			while (i < n && isalpha((unsigned char)s[i]))
				i++;
			if (i - w == 3 && strncasecmp(s + w, "ago", 3) == 0) {
				ago = 1;
				continue;
			}
			return ERR_TYPE;
		}
		if (strchr(tmp, ':') != NULL) {
			/* [-]HH:MM[:SS[.fff]] */
			int neg = tmp[0] == '-';
			double h = 0, m = 0, sec = 0;
			int got = sscanf(tmp + (neg || tmp[0] == '+'), "%lf:%lf:%lf", &h, &m, &sec);
			if (got < 2)
				return ERR_TYPE;
			double v = h * 3600000.0 + m * 60000.0 + sec * 1000.0;
			tot += neg ? -v : v;
			any = 1;
			continue;
		}
		char *end;
		double v = strtod(tmp, &end);
		if (*end != '\0')
			return ERR_TYPE;
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		size_t w = i;
		while (i < n && isalpha((unsigned char)s[i]))
			i++;
		int64_t ums, umon;
		if (i == w) {
			umon = 0;
			ums = 1000;	/* a bare number is seconds, as PostgreSQL */
		} else if (unit_ms(s + w, i - w, &ums, &umon) != 0)
			return ERR_TYPE;
		if (umon != 0) {
			if (v != (double)(int64_t)v)
				return ERR_TYPE;
			mon += (int64_t)v * umon;
		} else {
			tot += v * (double)ums;
		}
		any = 1;
		while (i < n && (isspace((unsigned char)s[i]) || s[i] == ','))
			i++;
	}
	if (!any || tot > 9.2e18 || tot < -9.2e18)
		return ERR_TYPE;
	*months = ago ? -mon : mon;
	*ms = ago ? -(int64_t)tot : (int64_t)tot;
	return 0;
}

char
exprfn_sig_class(const char *sig, int i, int nargs)
{
	int req = 0, tot = 0, rep = 0;
	for (const char *p = sig; *p; p++) {
		if (*p == '|')
			req = -1;
		else if (*p == '*')
			rep = 1;
		else {
			tot++;
			if (req >= 0)
				req++;
		}
	}
	if (req < 0) {
		req = 0;
		for (const char *p = sig; *p && *p != '|'; p++)
			req += *p != '*';
	}
	if (nargs < req || (!rep && nargs > tot))
		return 0;
	int k = 0;
	char last = 0;
	for (const char *p = sig; *p; p++) {
		if (*p == '|' || *p == '*')
			continue;
		if (k == i)
			return *p;
		last = *p;
		k++;
	}
	return rep ? last : 0;
}
