/*
 * fnmv.c -- Pinot's functions over multi-value columns and JSON text:
 *
 *   ARRAYLENGTH(mv)                  number of elements (INT)
 *   VALUEIN(mv, c1, c2, ...)         the elements of mv equal to one of the
 *                                    constants, in mv's order (multi-value
 *                                    result; Pinot's way to GROUP BY only
 *                                    some values of an MV column)
 *   MAPVALUE(keys_mv, 'key', vals_mv) the element of vals_mv at the
 *                                    position of 'key' in keys_mv (Pinot's
 *                                    map columns stored as two MV columns
 *                                    col__KEYS / col__VALUES); NULL when
 *                                    the key is absent
 *   JSONEXTRACTSCALAR(json, '$.path', 'TYPE'[, 'default'])
 *                                    the scalar at a JSON path converted
 *                                    to TYPE (INT, LONG, FLOAT, DOUBLE,
 *                                    STRING, BOOLEAN, TIMESTAMP: the
 *                                    binder types the node from argument
 *                                    3); the default (or NULL) when the
 *                                    path is missing, null or not a scalar
 *   JSONEXTRACTKEY(json, '$.path.*') the paths of the members of the
 *                                    object (or array) at $.path, as
 *                                    "$['k1']" / "$['a'][0]" (multi-value)
 *
 * JSON paths: $ followed by steps .key, ['key'] or ["key"], and [n]
 * (array index).  The text is scanned in place, without building a tree
 * and without allocation, except for a string result containing escapes,
 * which is decoded into the batch arena.  Text that is not valid JSON
 * where the path leads gives the default, as a missing path does.
 *
 * Multi-value arguments arrive as VEC_MV vectors (class 'V'), read with
 * exprvec_mv_range / exprvec_elem.  Multi-value results (FN_MVRESULT) are
 * written as element arrays allocated once per batch in the batch arena
 * (FnCall.omv), sized by a first pass over the selected rows.
 *
 * Errors: a path not starting with '$' or with a malformed step, a
 * default that does not convert to the result type: ERR_INVALID (at bind
 * time, from the prep hook).
 *
 * Exports: fnmv_table.
 */
#include "expr/exprfn.h"

#include <stdlib.h>
#include <string.h>

/* ---- ARRAYLENGTH, MAPVALUE ------------------------------------------------ */

static int
f_arraylength(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		c->oi[r] = n;
	}
	return 0;
}

static void
put_value(FnCall *c, int r, const Value *v)
{
	WbType t = c->e->type;
	if (type_is_var(t)) {
		c->os[r] = v->u.s;
		c->ol[r] = v->n;
	} else if (type_is_float(t)) {
		c->od[r] = type_is_float((WbType)v->type) ? v->u.d : (double)v->u.i;
	} else {
		c->oi[r] = type_is_float((WbType)v->type) ? (int64_t)v->u.d : v->u.i;
	}
}

static int
f_mapvalue(FnCall *c)
{
	const Vec *keys = c->a[0], *vals = c->a[2];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t kl;
		const char *key = exprfn_str(c->a[1], r, &kl);
		uint64_t ks, vs;
		uint32_t kn, vn;
		exprvec_mv_range(keys, r, &ks, &kn);
		exprvec_mv_range(vals, r, &vs, &vn);
		int found = 0;
		for (uint32_t i = 0; i < kn && i < vn && !found; i++) {
			Value kv = exprvec_elem(keys, ks + i);
			int eq;
			if (type_is_var((WbType)kv.type)) {
				eq = kv.n == kl && memcmp(kv.u.s, key, kl) == 0;
			} else {
				char tmp[32];
				size_t m = kl < sizeof(tmp) - 1 ? kl : sizeof(tmp) - 1;
				memcpy(tmp, key, m);
				tmp[m] = '\0';
				eq = type_is_float((WbType)kv.type) ? strtod(tmp, NULL) == kv.u.d
								     : strtoll(tmp, NULL, 10) == kv.u.i;
			}
			if (eq) {
				Value vv = exprvec_elem(vals, vs + i);
				put_value(c, r, &vv);
				found = 1;
			}
		}
		if (!found)
			c->on[r] = 1;
	}
	return 0;
}

/* Does element x equal constant k (numbers by value, strings by bytes,
 * a string constant against a number parsed)? */
static int
elem_eq(const Value *x, const Value *k)
{
	if (k->null)
		return 0;
	int xs = type_is_var((WbType)x->type), ks = type_is_var((WbType)k->type);
	if (xs && ks)
		return x->n == k->n && memcmp(x->u.s, k->u.s, x->n) == 0;
	if (xs)
		return 0;
	double xd = type_is_float((WbType)x->type) ? x->u.d : (double)x->u.i;
	if (ks) {
		char tmp[64];
		size_t m = k->n < sizeof(tmp) - 1 ? k->n : sizeof(tmp) - 1;
		memcpy(tmp, k->u.s, m);
		tmp[m] = '\0';
		char *end;
		double kd = strtod(tmp, &end);
		return end != tmp && *end == '\0' && kd == xd;
	}
	if (!type_is_float((WbType)x->type) && !type_is_float((WbType)k->type))
		return x->u.i == k->u.i;
	return xd == (type_is_float((WbType)k->type) ? k->u.d : (double)k->u.i);
}

/* Allocates the element arrays of c->omv for `total` elements. */
static int
mv_alloc(FnCall *c, uint64_t total, int strings)
{
	size_t n = total ? (size_t)total : 1;
	Vec *o = c->omv;
	if (strings) {
		const char **s = arena_alloc(c->arena, n * sizeof(char *));
		uint32_t *l = arena_alloc(c->arena, n * sizeof(uint32_t));
		if (s == NULL || l == NULL)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
		o->s = s;
		o->slen = l;
	} else {
		void *el = arena_alloc(c->arena, n * 8);
		if (el == NULL)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
		o->elems = el;
	}
	return 0;
}

static int
f_valuein(FnCall *c)
{
	const Vec *v = c->a[0];
	WbType t = c->e->type;
	int strings = type_is_var(t);
	uint64_t total = 0;
	FN_FOR(c, k, r) {
		uint64_t st;
		uint32_t n;
		if (c->on[r])
			continue;
		exprvec_mv_range(v, r, &st, &n);
		total += n;
	}
	if (mv_alloc(c, total, strings) != 0)
		return c->err->code;
	Vec *o = c->omv;
	uint32_t *off = (uint32_t *)o->mvoff, *cnt = (uint32_t *)o->mvcnt;
	const char **os = (const char **)o->s;
	uint32_t *ol = (uint32_t *)o->slen;
	uint64_t w = 0;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(v, r, &st, &n);
		off[r] = (uint32_t)w;
		for (uint32_t i = 0; i < n; i++) {
			Value x = exprvec_elem(v, st + i);
			int hit = 0;
			for (int j = 1; j < c->e->nargs && !hit; j++)
				hit = elem_eq(&x, &c->e->args[j]->val);
			if (!hit)
				continue;
			if (strings) {
				os[w] = x.u.s;
				ol[w] = x.n;
			} else if (type_is_float(t)) {
				((double *)o->elems)[w] = type_is_float((WbType)x.type) ? x.u.d : (double)x.u.i;
			} else {
				((int64_t *)o->elems)[w] = x.u.i;
			}
			w++;
		}
		cnt[r] = (uint32_t)(w - off[r]);
	}
	return 0;
}

/* ---- JSON scanning ----------------------------------------------------------- */

static size_t
ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* End of the string starting at s[i] == '"' (index after the closing
 * quote), or 0 if unterminated. */
static size_t
str_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* End of the value starting at s[i] (after whitespace), 0 on bad JSON. */
static size_t
value_end(const char *s, size_t n, size_t i)
{
	if (i >= n)
		return 0;
	if (s[i] == '"')
		return str_end(s, n, i);
	if (s[i] == '{' || s[i] == '[') {
		int depth = 0;
		for (; i < n; i++) {
			if (s[i] == '"') {
				size_t e = str_end(s, n, i);
				if (e == 0)
					return 0;
				i = e - 1;
			} else if (s[i] == '{' || s[i] == '[') {
				depth++;
			} else if (s[i] == '}' || s[i] == ']') {
				if (--depth == 0)
					return i + 1;
			}
		}
		return 0;
	}
	size_t st = i;
	while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
	       s[i] != '\n' && s[i] != '\r')
		i++;
	return i > st ? i : 0;
}

/* Does the JSON string s[a..b) (quotes included) equal key[0..kl)?
 * Escapes other than \" and \\ never match. */
static int
key_eq(const char *s, size_t a, size_t b, const char *key, size_t kl)
{
	size_t j = 0;
	for (size_t i = a + 1; i + 1 < b; i++) {
		char ch = s[i];
		if (ch == '\\') {
			i++;
			if (s[i] != '"' && s[i] != '\\' && s[i] != '/')
				return 0;
			ch = s[i];
		}
		if (j >= kl || key[j] != ch)
			return 0;
		j++;
	}
	return j == kl;
}

/* One path step at p[*pi]: a key (*key, *kl) or an index (*idx >= 0).
 * 1 = a step, 0 = end of path, -1 = malformed. */
static int
next_step(const char *p, size_t pn, size_t *pi, const char **key, size_t *kl, long *idx)
{
	size_t i = *pi;
	*idx = -1;
	if (i >= pn)
		return 0;
	if (p[i] == '.') {
		size_t st = ++i;
		while (i < pn && p[i] != '.' && p[i] != '[')
			i++;
		if (i == st)
			return -1;
		*key = p + st;
		*kl = i - st;
		*pi = i;
		return 1;
	}
	if (p[i] != '[')
		return -1;
	i++;
	if (i < pn && (p[i] == '\'' || p[i] == '"')) {
		char q = p[i];
		size_t st = ++i;
		while (i < pn && p[i] != q)
			i++;
		if (i + 1 >= pn || p[i + 1] != ']')
			return -1;
		*key = p + st;
		*kl = i - st;
		*pi = i + 2;
		return 1;
	}
	long v = 0;
	size_t st = i;
	while (i < pn && p[i] >= '0' && p[i] <= '9' && v < 100000000)
		v = v * 10 + (p[i++] - '0');
	if (i == st || i >= pn || p[i] != ']')
		return -1;
	*idx = v;
	*pi = i + 1;
	return 1;
}

/* Checks a path's syntax; 0 or -1. */
static int
path_ok(const char *p, size_t pn)
{
	if (pn == 0 || p[0] != '$')
		return -1;
	size_t i = 1;
	const char *k;
	size_t kl;
	long idx;
	int rc;
	while ((rc = next_step(p, pn, &i, &k, &kl, &idx)) == 1)
		;
	return rc;
}

/* Locates path p in JSON text s: [*vs, *ve) is the value; 0 found, -1 not. */
static int
json_find(const char *s, size_t n, const char *p, size_t pn, size_t *vs, size_t *ve)
{
	size_t i = ws(s, n, 0);
	size_t pi = 1;
	const char *key;
	size_t kl;
	long idx;
	int rc;
	while ((rc = next_step(p, pn, &pi, &key, &kl, &idx)) == 1) {
		if (i >= n)
			return -1;
		if (idx < 0) {
			if (s[i] != '{')
				return -1;
			i = ws(s, n, i + 1);
			int found = 0;
			while (i < n && s[i] != '}') {
				if (s[i] != '"')
					return -1;
				size_t ke = str_end(s, n, i);
				if (ke == 0)
					return -1;
				int eq = key_eq(s, i, ke, key, kl);
				i = ws(s, n, ke);
				if (i >= n || s[i] != ':')
					return -1;
				i = ws(s, n, i + 1);
				if (eq) {
					found = 1;
					break;
				}
				size_t e = value_end(s, n, i);
				if (e == 0)
					return -1;
				i = ws(s, n, e);
				if (i < n && s[i] == ',')
					i = ws(s, n, i + 1);
			}
			if (!found)
				return -1;
		} else {
			if (s[i] != '[')
				return -1;
			i = ws(s, n, i + 1);
			for (long k = 0; k < idx; k++) {
				if (i >= n || s[i] == ']')
					return -1;
				size_t e = value_end(s, n, i);
				if (e == 0)
					return -1;
				i = ws(s, n, e);
				if (i >= n || s[i] != ',')
					return -1;
				i = ws(s, n, i + 1);
			}
			if (i >= n || s[i] == ']')
				return -1;
		}
	}
	if (rc < 0)
		return -1;
	size_t e = value_end(s, n, i);
	if (e == 0)
		return -1;
	*vs = i;
	*ve = e;
	return 0;
}

/* Converts text t[0..n) (unquoted) to the node's type into row r;
 * -1 if it does not convert. */
static int
put_text(FnCall *c, int r, const char *t, size_t n)
{
	WbType ty = c->e->type;
	if (type_is_var(ty)) {
		c->os[r] = t;
		c->ol[r] = (uint32_t)n;
		return 0;
	}
	char buf[64];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	char *end;
	if (ty == TYPE_BOOLEAN) {
		if (strcmp(buf, "true") == 0)
			c->oi[r] = 1;
		else if (strcmp(buf, "false") == 0)
			c->oi[r] = 0;
		else
			return -1;
		return 0;
	}
	if (type_is_float(ty)) {
		double d = strtod(buf, &end);
		if (*end != '\0')
			return -1;
		c->od[r] = d;
		return 0;
	}
	long long v = strtoll(buf, &end, 10);
	if (*end == '.' || *end == 'e' || *end == 'E') {
		double d = strtod(buf, &end);
		if (*end != '\0')
			return -1;
		v = (long long)d;
	} else if (*end != '\0') {
		return -1;
	}
	if (ty == TYPE_INT && (v < INT32_MIN || v > INT32_MAX))
		return -1;
	c->oi[r] = v;
	return 0;
}

/* The default (argument 3) into row r, else NULL. */
static int
put_default(FnCall *c, int r)
{
	if (c->e->nargs < 4) {
		c->on[r] = 1;
		return 0;
	}
	uint32_t dn;
	const char *d = exprfn_str(c->a[3], r, &dn);
	if (put_text(c, r, d, dn) != 0)
		return exprfn_fail(c, ERR_INVALID, "jsonextractscalar: the default '%.*s' is not a %s", (int)dn, d,
				   type_name(c->e->type));
	return 0;
}

static int
f_jsonextractscalar(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, pn;
		const char *s = exprfn_str(c->a[0], r, &n);
		const char *p = exprfn_str(c->a[1], r, &pn);
		size_t vs, ve;
		int rc;
		if (json_find(s, n, p, pn, &vs, &ve) != 0 || s[vs] == '{' || s[vs] == '[' ||
		    (ve - vs == 4 && memcmp(s + vs, "null", 4) == 0)) {
			if (type_is_var(c->e->type) && json_find(s, n, p, pn, &vs, &ve) == 0 &&
			    (s[vs] == '{' || s[vs] == '[')) {
				c->os[r] = s + vs;	/* an object or array as text */
				c->ol[r] = (uint32_t)(ve - vs);
				continue;
			}
			if ((rc = put_default(c, r)) != 0)
				return rc;
			continue;
		}
		if (s[vs] != '"') {
			if (put_text(c, r, s + vs, ve - vs) != 0 && (rc = put_default(c, r)) != 0)
				return rc;
			continue;
		}
		/* a string: decode escapes when there are any */
		const char *t = s + vs + 1;
		size_t tn = ve - vs - 2;
		if (memchr(t, '\\', tn) != NULL) {
			char *o = arena_alloc(c->arena, tn + 1);
			if (o == NULL)
				return exprfn_fail(c, ERR_NOMEM, "out of memory");
			size_t m = 0;
			for (size_t i = 0; i < tn; i++) {
				char ch = t[i];
				if (ch == '\\' && i + 1 < tn) {
					ch = t[++i];
					switch (ch) {
					case 'n': ch = '\n'; break;
					case 't': ch = '\t'; break;
					case 'r': ch = '\r'; break;
					case 'b': ch = '\b'; break;
					case 'f': ch = '\f'; break;
					default: break;	/* \" \\ \/ (and \u kept as the letter) */
					}
				}
				o[m++] = ch;
			}
			t = o;
			tn = m;
		}
		if (put_text(c, r, t, tn) != 0 && (rc = put_default(c, r)) != 0)
			return rc;
	}
	return 0;
}

/* The path of a JSONEXTRACTKEY: a prefix path then ".*" or "[*]"; the
 * prefix length in *pn, -1 if the path does not end so. */
static int
key_path(const char *p, size_t n, size_t *pn)
{
	if (n >= 3 && memcmp(p + n - 2, ".*", 2) == 0)
		*pn = n - 2;
	else if (n >= 4 && memcmp(p + n - 3, "[*]", 3) == 0)
		*pn = n - 3;
	else
		return -1;
	return path_ok(p, *pn);
}

/* Appends the canonical form of prefix path p[0..pn) ("$['a'][0]"). */
static void
canon_path(const char *p, size_t pn, Buf *b)
{
	buf_putc(b, '$');
	size_t i = 1;
	const char *k;
	size_t kl;
	long idx;
	while (next_step(p, pn, &i, &k, &kl, &idx) == 1) {
		if (idx >= 0)
			buf_printf(b, "[%ld]", idx);
		else
			buf_printf(b, "['%.*s']", (int)kl, k);
	}
}

static int
f_jsonextractkey(FnCall *c)
{
	Vec *o = c->omv;
	uint32_t *off = (uint32_t *)o->mvoff, *cnt = (uint32_t *)o->mvcnt;
	/* first pass: count members */
	uint64_t total = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && mv_alloc(c, total, 1) != 0)
			return c->err->code;
		uint64_t w = 0;
		FN_FOR(c, k, r) {
			if (c->on[r])
				continue;
			uint32_t n, pl;
			const char *s = exprfn_str(c->a[0], r, &n);
			const char *p = exprfn_str(c->a[1], r, &pl);
			size_t pn, vs, ve;
			off[r] = (uint32_t)w;
			cnt[r] = 0;
			if (key_path(p, pl, &pn) != 0 || json_find(s, n, p, pn, &vs, &ve) != 0 ||
			    (s[vs] != '{' && s[vs] != '['))
				continue;
			int obj = s[vs] == '{';
			size_t i = ws(s, ve, vs + 1);
			long idx = 0;
			while (i < ve && s[i] != '}' && s[i] != ']') {
				size_t ks = i, ke = i;
				if (obj) {
					if (s[i] != '"' || (ke = str_end(s, ve, i)) == 0)
						break;
					i = ws(s, ve, ke);
					if (i >= ve || s[i] != ':')
						break;
					i = ws(s, ve, i + 1);
				}
				size_t e = value_end(s, ve, i);
				if (e == 0)
					break;
				if (pass == 1) {
					Buf b;
					buf_init(&b);
					canon_path(p, pn, &b);
					if (obj)
						buf_printf(&b, "[%.*s]", (int)(ke - ks), s + ks);
					else
						buf_printf(&b, "[%ld]", idx);
					char *t = b.oom ? NULL : arena_alloc(c->arena, b.len + 1);
					if (t != NULL) {
						memcpy(t, b.p, b.len);
						/* Pinot quotes keys with single quotes */
						if (obj) {
							for (size_t q = 0; q < b.len; q++)
								if (t[q] == '"')
									t[q] = '\'';
						}
					}
					size_t len = b.len;
					buf_free(&b);
					if (t == NULL)
						return exprfn_fail(c, ERR_NOMEM, "out of memory");
					((const char **)o->s)[w] = t;
					((uint32_t *)o->slen)[w] = (uint32_t)len;
				}
				w++;
				cnt[r]++;
				idx++;
				i = ws(s, ve, e);
				if (i < ve && s[i] == ',')
					i = ws(s, ve, i + 1);
			}
		}
		total = w;
	}
	return 0;
}

static int
prep_jsonkey(Expr *e, Arena *a, Err *err)
{
	(void)a;
	const Expr *p = e->args[1];
	size_t pn;
	if (p->kind == EXPR_CONST && !p->val.null && key_path(p->val.u.s, p->val.n, &pn) != 0)
		return err_set(err, ERR_INVALID,
			       "jsonextractkey: the path '%.*s' must end with .* or [*] (as '$.*', '$.a.*')",
			       (int)p->val.n, p->val.u.s);
	return 0;
}

static int
prep_json(Expr *e, Arena *a, Err *err)
{
	(void)a;
	const Expr *p = e->args[1];
	if (p->kind == EXPR_CONST && !p->val.null && path_ok(p->val.u.s, p->val.n) != 0)
		return err_set(err, ERR_INVALID, "jsonextractscalar: invalid JSON path '%.*s' (use $.key, $['key'], $[0])",
			       (int)p->val.n, p->val.u.s);
	return 0;
}

const ExprFn fnmv_table[] = {
	{"arraylength", "V", 'I', FN_STRICT, NULL, f_arraylength, NULL},
	{"valuein", "VA*", '0', FN_STRICT | FN_CONSTARGS | FN_MVRESULT, NULL, f_valuein, NULL},
	{"jsonextractkey", "SS", 'S', FN_STRICT | FN_CONSTARGS | FN_MVRESULT, prep_jsonkey, f_jsonextractkey, NULL},
	{"cardinality", "V", 'I', FN_STRICT, NULL, f_arraylength, NULL},
	{"mapvalue", "VSV", '2', FN_STRICT, NULL, f_mapvalue, NULL},
	{"jsonextractscalar", "SSS|S", 'X', FN_STRICT | FN_CONSTARGS, prep_json, f_jsonextractscalar, NULL},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
