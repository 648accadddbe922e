/*
 * fnjson.c -- Pinot's JSON-path scalar functions (jsonPathString,
 * jsonPathLong, jsonPathDouble, jsonPathArray, jsonPathArrayDefaultEmpty,
 * jsonFormat), used by ingestion transforms and by SQL alike.
 *
 * How it works: the first argument is JSON text (a JSON column, or a
 * string holding JSON); each row is parsed with cJSON and the path is
 * walked over the tree.  Paths are the subset of Jayway JsonPath that
 * Pinot's examples use: `$`, `.key`, `['key']`, `[n]` (0-based), and one
 * or more `[*]` / `.*` wildcards (jsonPathArray collects every match in
 * document order; the scalar functions take the first match).  The path
 * must be a constant; it is checked when the expression is bound.
 *
 * Results follow Pinot's JsonFunctions: a string value as it is, any
 * other value as its compact JSON text (jsonPathString); numbers read
 * from numbers or numeric strings (jsonPathLong / jsonPathDouble); a
 * missing path (or JSON null) gives the default argument when there is
 * one, else NULL (which an ingest column turns into its default null
 * value, as Pinot's Long.MIN_VALUE / NaN defaults do).  jsonPathArray
 * gives a multi-value of strings (numbers as their text), so a column of
 * any element type can take it.  jsonFormat(x) gives the compact JSON
 * text of x (JSON and JSON-looking strings are re-printed compactly;
 * other strings become JSON string literals; numbers their text).
 *
 * Memory: cJSON trees use cJSON's allocator and are freed before the row
 * ends; result strings go to the batch arena (FnCall.arena).
 *
 * Errors: the input is not valid JSON -> ERR_TYPE naming the function
 * ("jsonPathString: input is not valid JSON"); a value that is not a
 * number for jsonPathLong/Double -> ERR_TYPE; a bad path -> ERR_INVALID at
 * bind time.
 *
 * Exports: fnjson_table.
 */
#include "expr/exprfn.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 64

typedef struct Step {
	const char *key;	/* NULL: index or wildcard */
	size_t kl;
	long idx;		/* -1 = wildcard (when key NULL) */
} Step;

/* Parses path p[0..n) into steps; the count, or -1 when malformed. */
static int
parse_path(const char *p, size_t n, Step *st)
{
	if (n == 0 || p[0] != '$')
		return -1;
	size_t i = 1;
	int k = 0;
	while (i < n) {
		if (k == MAX_STEPS)
			return -1;
		Step *s = &st[k++];
		s->key = NULL;
		s->idx = -1;
		if (p[i] == '.') {
			size_t b = ++i;
			if (i < n && p[i] == '*') {
				i++;
				continue;
			}
			while (i < n && p[i] != '.' && p[i] != '[')
				i++;
			if (i == b)
				return -1;
			s->key = p + b;
			s->kl = i - b;
			continue;
		}
		if (p[i] != '[' || ++i >= n)
			return -1;
		if (p[i] == '\'' || p[i] == '"') {
			char q = p[i];
			size_t b = ++i;
			while (i < n && p[i] != q)
				i++;
			if (i + 1 >= n || p[i + 1] != ']')
				return -1;
			s->key = p + b;
			s->kl = i - b;
			i += 2;
			continue;
		}
		if (p[i] == '*') {
			if (i + 1 >= n || p[i + 1] != ']')
				return -1;
			i += 2;
			continue;
		}
		long v = 0;
		size_t b = i;
		while (i < n && p[i] >= '0' && p[i] <= '9' && v < 100000000)
			v = v * 10 + (p[i++] - '0');
		if (i == b || i >= n || p[i] != ']')
			return -1;
		s->idx = v;
		i++;
	}
	return k;
}

/* Calls hit for every node matching steps[0..ns) under node, in
 * document order, until hit returns nonzero (its value is returned). */
static int
walk(const cJSON *node, const Step *steps, int ns, int (*hit)(void *, const cJSON *), void *ctx)
{
	if (node == NULL)
		return 0;
	if (ns == 0)
		return hit(ctx, node);
	const Step *s = &steps[0];
	if (s->key != NULL) {
		if (!cJSON_IsObject(node))
			return 0;
		for (const cJSON *c = node->child; c; c = c->next)
			if (c->string && strlen(c->string) == s->kl && memcmp(c->string, s->key, s->kl) == 0)
				return walk(c, steps + 1, ns - 1, hit, ctx);
		return 0;
	}
	if (s->idx >= 0) {
		if (!cJSON_IsArray(node))
			return 0;
		return walk(cJSON_GetArrayItem(node, (int)s->idx), steps + 1, ns - 1, hit, ctx);
	}
	if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
		return 0;
	for (const cJSON *c = node->child; c; c = c->next) {
		int rc = walk(c, steps + 1, ns - 1, hit, ctx);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
first_hit(void *ctx, const cJSON *n)
{
	*(const cJSON **)ctx = n;
	return 1;
}

static const char *
fname(FnCall *c)
{
	static const struct { const char *low, *pinot; } names[] = {
		{"jsonpathstring", "jsonPathString"}, {"jsonpathlong", "jsonPathLong"},
		{"jsonpathdouble", "jsonPathDouble"}, {"jsonpatharray", "jsonPathArray"},
		{"jsonpatharraydefaultempty", "jsonPathArrayDefaultEmpty"}, {"jsonformat", "jsonFormat"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].low, c->e->fn->name) == 0)
			return names[i].pinot;
	return c->e->fn->name;
}

/* Parses row r's first argument; NULL (with the error set) when invalid. */
static cJSON *
parse_arg(FnCall *c, int r, int *rc)
{
	uint32_t n;
	const char *s = exprfn_str(c->a[0], r, &n);
	cJSON *j = cJSON_ParseWithLength(s, n);
	*rc = j ? 0 : exprfn_fail(c, ERR_TYPE, "%s: input is not valid JSON: '%.*s'", fname(c),
				  (int)(n > 60 ? 60 : n), s);
	return j;
}

static int
steps_of(FnCall *c, int r, Step *st)
{
	uint32_t pn;
	const char *p = exprfn_str(c->a[1], r, &pn);
	int ns = parse_path(p, pn, st);
	if (ns < 0)
		return exprfn_fail(c, ERR_INVALID, "%s: invalid JSON path '%.*s'", fname(c), (int)pn, p);
	return ns;
}

/* Compact JSON text of node into the arena (strings unquoted when
 * raw_strings). */
static int
put_json(FnCall *c, int r, const cJSON *node, int raw_strings)
{
	if (raw_strings && cJSON_IsString(node)) {
		size_t n = strlen(node->valuestring);
		char *o = arena_alloc(c->arena, n + 1);
		if (o == NULL)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
		memcpy(o, node->valuestring, n + 1);
		c->os[r] = o;
		c->ol[r] = (uint32_t)n;
		return 0;
	}
	char *t = cJSON_PrintUnformatted(node);
	if (t == NULL)
		return exprfn_fail(c, ERR_NOMEM, "out of memory");
	size_t n = strlen(t);
	char *o = arena_alloc(c->arena, n + 1);
	if (o != NULL)
		memcpy(o, t, n + 1);
	cJSON_free(t);
	if (o == NULL)
		return exprfn_fail(c, ERR_NOMEM, "out of memory");
	c->os[r] = o;
	c->ol[r] = (uint32_t)n;
	return 0;
}

/* The default argument (index 2) into row r, else NULL. */
static void
put_default(FnCall *c, int r)
{
	if (c->e->nargs < 3 || exprfn_null(c->a[2], r)) {
		c->on[r] = 1;
		return;
	}
	const Vec *d = c->a[2];
	if (type_is_var(c->e->type))
		c->os[r] = exprfn_str(d, r, &c->ol[r]);
	else if (type_is_float(c->e->type))
		c->od[r] = exprfn_d(d, r);
	else
		c->oi[r] = exprfn_i(d, r);
}

static int
f_jsonpath(FnCall *c)
{
	Step st[MAX_STEPS];
	WbType t = c->e->type;
	FN_FOR(c, k, r) {
		if (exprfn_null(c->a[0], r) || exprfn_null(c->a[1], r)) {
			put_default(c, r);
			continue;
		}
		int rc, ns = steps_of(c, r, st);
		if (ns < 0)
			return ns;
		cJSON *j = parse_arg(c, r, &rc);
		if (j == NULL)
			return rc;
		const cJSON *v = NULL;
		walk(j, st, ns, first_hit, &v);
		if (v == NULL || cJSON_IsNull(v)) {
			put_default(c, r);
		} else if (type_is_var(t)) {
			rc = put_json(c, r, v, 1);
		} else {
			double d = 0;
			char *end = NULL;
			if (cJSON_IsNumber(v)) {
				d = v->valuedouble;
			} else if (cJSON_IsBool(v)) {
				d = cJSON_IsTrue(v);
			} else if (cJSON_IsString(v) && (d = strtod(v->valuestring, &end), end != v->valuestring && *end == '\0')) {
				;
			} else {
				char *txt = cJSON_PrintUnformatted(v);
				rc = exprfn_fail(c, ERR_TYPE, "%s: value %.60s is not a number", fname(c), txt ? txt : "?");
				cJSON_free(txt);
			}
			if (rc == 0) {
				if (type_is_float(t))
					c->od[r] = d;
				else if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18))
					rc = exprfn_fail(c, ERR_OVERFLOW, "%s: %g is out of range for LONG", fname(c), d);
				else
					c->oi[r] = (int64_t)d;
			}
		}
		cJSON_Delete(j);
		if (rc != 0)
			return rc;
	}
	return 0;
}

typedef struct Collect {
	FnCall *c;
	uint64_t w;
	size_t cap;
	int rc;
} Collect;

static int
collect_hit(void *ctx, const cJSON *n)
{
	Collect *col = ctx;
	FnCall *c = col->c;
	if (cJSON_IsNull(n))
		return 0;
	if (col->w == col->cap) {
		size_t cap = col->cap ? col->cap * 2 : 16;
		const char **s = arena_alloc(c->arena, cap * sizeof(char *));
		uint32_t *l = arena_alloc(c->arena, cap * sizeof(uint32_t));
		if (s == NULL || l == NULL) {
			col->rc = exprfn_fail(c, ERR_NOMEM, "out of memory");
			return 1;
		}
		if (col->w) {
			memcpy(s, c->omv->s, col->w * sizeof(char *));
			memcpy(l, c->omv->slen, col->w * sizeof(uint32_t));
		}
		c->omv->s = s;
		c->omv->slen = l;
		col->cap = cap;
	}
	/* put_json writes os/ol at a row index: borrow them for element w */
	const char **os = c->os;
	uint32_t *ol = c->ol;
	c->os = (const char **)c->omv->s;
	c->ol = (uint32_t *)c->omv->slen;
	col->rc = put_json(c, (int)col->w, n, 1);
	c->os = os;
	c->ol = ol;
	col->w++;
	return col->rc != 0;
}

static int
f_jsonpatharray(FnCall *c)
{
	Step st[MAX_STEPS];
	Collect col = {.c = c};
	uint32_t *off = (uint32_t *)c->omv->mvoff, *cnt = (uint32_t *)c->omv->mvcnt;
	int empty = strcmp(c->e->fn->name, "jsonpatharraydefaultempty") == 0;
	FN_FOR(c, k, r) {
		off[r] = (uint32_t)col.w;
		cnt[r] = 0;
		if (exprfn_null(c->a[0], r) || exprfn_null(c->a[1], r)) {
			c->on[r] = !empty;
			continue;
		}
		int rc, ns = steps_of(c, r, st);
		if (ns < 0)
			return ns;
		cJSON *j = parse_arg(c, r, &rc);
		if (j == NULL)
			return rc;
		const cJSON *v = NULL;
		walk(j, st, ns, first_hit, &v);
		int wild = 0;
		for (int i = 0; i < ns; i++)
			wild |= st[i].key == NULL && st[i].idx < 0;
		if (wild)
			walk(j, st, ns, collect_hit, &col);
		else if (v != NULL && cJSON_IsArray(v))
			for (const cJSON *e = v->child; e && col.rc == 0; e = e->next)
				collect_hit(&col, e);
		else if (v != NULL && !cJSON_IsNull(v))
			collect_hit(&col, v);
		cJSON_Delete(j);
		if (col.rc != 0)
			return col.rc;
		cnt[r] = (uint32_t)(col.w - off[r]);
		if (cnt[r] == 0 && !empty)
			c->on[r] = 1;
	}
	if (col.cap == 0) {
		const char **s = arena_alloc(c->arena, sizeof(char *));
		uint32_t *l = arena_alloc(c->arena, sizeof(uint32_t));
		if (s == NULL || l == NULL)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
		c->omv->s = s;
		c->omv->slen = l;
	}
	return 0;
}

static int
f_jsonformat(FnCall *c)
{
	const Vec *v = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		if (type_is_var(v->type)) {
			uint32_t n;
			const char *s = exprfn_str(v, r, &n);
			cJSON *j = cJSON_ParseWithLength(s, n);
			int rc;
			if (j != NULL) {
				rc = put_json(c, r, j, 0);
				cJSON_Delete(j);
			} else {
				cJSON *str = cJSON_CreateString("");
				char *tmp = arena_alloc(c->arena, (size_t)n + 1);
				if (str == NULL || tmp == NULL) {
					cJSON_Delete(str);
					return exprfn_fail(c, ERR_NOMEM, "out of memory");
				}
				memcpy(tmp, s, n);
				tmp[n] = '\0';
				cJSON_SetValuestring(str, tmp);
				rc = put_json(c, r, str, 0);
				cJSON_Delete(str);
			}
			if (rc != 0)
				return rc;
			continue;
		}
		Value x;
		if (exprvec_value(v, r, &x, c->arena) != 0)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
		Buf b;
		buf_init(&b);
		value_json(&x, &b);
		char *o = arena_alloc(c->arena, b.len + 1);
		if (o != NULL) {
			memcpy(o, b.p ? b.p : "", b.len);
			o[b.len] = '\0';
		}
		size_t n = b.len;
		buf_free(&b);
		if (o == NULL)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
		c->os[r] = o;
		c->ol[r] = (uint32_t)n;
	}
	return 0;
}

static int
prep_path(Expr *e, Arena *a, Err *err)
{
	(void)a;
	Step st[MAX_STEPS];
	const Expr *p = e->args[1];
	if (p->kind == EXPR_CONST && !p->val.null && parse_path(p->val.u.s, p->val.n, st) < 0)
		return err_set(err, ERR_INVALID, "%s: invalid JSON path '%.*s' (use $.key, $['key'], $[0], $[*])",
			       e->fn->name, (int)p->val.n, p->val.u.s);
	return 0;
}

const ExprFn fnjson_table[] = {
	{"jsonpathstring", "SS|S", 'S', FN_CONSTARGS, prep_path, f_jsonpath, NULL},
	{"jsonpathlong", "SS|I", 'L', FN_CONSTARGS, prep_path, f_jsonpath, NULL},
	{"jsonpathdouble", "SS|N", 'D', FN_CONSTARGS, prep_path, f_jsonpath, NULL},
	{"jsonpatharray", "SS", 'S', FN_STRICT | FN_CONSTARGS | FN_MVRESULT, prep_path, f_jsonpatharray, NULL},
	{"jsonpatharraydefaultempty", "SS", 'S', FN_CONSTARGS | FN_MVRESULT, prep_path, f_jsonpatharray, NULL},
	{"jsonformat", "A", 'S', FN_STRICT, NULL, f_jsonformat, NULL},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
