/*
 * bind.c -- the binder: resolves names and types of a parsed SELECT
 * against a table's columns and builds the Plan (plan.h).
 *
 * Names: unquoted identifiers match columns ignoring case (two columns
 * differing only in case make the name ambiguous); quoted ones match
 * exactly.  Types follow PostgreSQL: integer arithmetic stays integer,
 * any float makes DOUBLE, an untyped string literal takes the type of the
 * other operand (so ts >= '2014-01-01 00:00:00' compares timestamps),
 * comparing a string column with a number is a type error.
 *
 * Aggregation: a query aggregates when it has GROUP BY, DISTINCT, HAVING
 * or an aggregate call.  Then select items, HAVING and ORDER BY are bound
 * "above" the aggregation: an expression equal to a GROUP BY expression
 * becomes a reference to that key, an aggregate call a reference to its
 * (deduplicated) result, and any other column reference is a grouping
 * error, as in PostgreSQL.
 *
 * Pinot's dialect: when the request asks for Pinot's implicit LIMIT
 * (queryOptions pinotDefaultLimit=true, or SET pinotDefaultLimit), it
 * gets Pinot's single-stage conventions altogether: aggregate result
 * types (DOUBLE for MIN/MAX/AVG/..., INT for DISTINCTCOUNT: a CAST above
 * the aggregate's result), column names ("count(*)" for COUNT(x),
 * "percentile(x, 80.0)", "cast(x,'BIGINT')"), DOUBLE MOD, IEEE sqrt/ln
 * (NaN, -Infinity) and SUBSTR with a 0-based begin and exclusive end.
 *
 * Funnel aggregates (FUNNELCOUNT(STEPS(...), CORRELATE_BY(id)[,
 * SETTINGS(...)]), FUNNELMAXSTEP / FUNNELMATCHSTEP /
 * FUNNELCOMPLETECOUNT(ts, window, n, step1, ...[, mode...])) become
 * (value, key) aggregates: the key is built from the step conditions (a
 * bit mask of the steps matched, or the first step matched), the
 * window and modes go into the PlanAgg (see agg.h).
 *
 * Everything built lives in the plan's arena; the AST is only read.
 * Errors carry the position of the offending node in Err.pos and in the
 * message ("Unknown column 'x' at position 8").
 *
 * Exports: bind_select, bind_free, bind_type_name.
 */
#include "query/bind.h"
#include "base/mem.h"
#include "expr/exprfn.h"

#include <stdarg.h>
#include <stdio.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

typedef struct B {
	Plan *p;
	const AstSelect *q;
	const BindTable *t;
	Err *e;
	Arena *a;
	int agg_ctx;		/* binding above the aggregation */
	int in_agg;		/* inside an aggregate's argument */
	const char *clause;	/* for "not allowed in WHERE" */
	Ast **gast;		/* GROUP BY expressions, for matching */
	Ast **aast;		/* aggregate calls, for deduplication */
	int aggcap;
	int in_where;
	uint8_t *where_cols;
	int pinot;		/* Pinot's dialect (see pinot_agg_type) */
} B;

static int
fail(B *b, int code, int pos, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int rc;
	if (pos > 0)
		rc = err_set(b->e, code, "%s at position %d", msg, pos);
	else
		rc = err_set(b->e, code, "%s", msg);
	if (b->e && b->e->pos == 0)
		b->e->pos = pos;
	return rc;
}

static int
nomem(B *b)
{
	return err_set(b->e, ERR_NOMEM, "out of memory binding the query");
}

int
bind_type_name(const char *n, WbType *out)
{
	static const struct { const char *name; WbType t; } map[] = {
		{"int", TYPE_INT}, {"int4", TYPE_INT}, {"integer", TYPE_INT}, {"int2", TYPE_INT},
		{"smallint", TYPE_INT}, {"int8", TYPE_LONG}, {"bigint", TYPE_LONG}, {"long", TYPE_LONG},
		{"float4", TYPE_FLOAT}, {"real", TYPE_FLOAT}, {"float", TYPE_FLOAT},
		{"float8", TYPE_DOUBLE}, {"double", TYPE_DOUBLE}, {"numeric", TYPE_DOUBLE},
		{"decimal", TYPE_DOUBLE}, {"varchar", TYPE_STRING}, {"text", TYPE_STRING},
		{"string", TYPE_STRING}, {"bpchar", TYPE_STRING}, {"char", TYPE_STRING},
		{"bool", TYPE_BOOLEAN}, {"boolean", TYPE_BOOLEAN}, {"timestamp", TYPE_TIMESTAMP},
		{"timestamptz", TYPE_TIMESTAMP}, {"json", TYPE_JSON}, {"jsonb", TYPE_JSON},
		{"bytea", TYPE_BYTES}, {"bytes", TYPE_BYTES},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(map[i].name, n) == 0) {
			*out = map[i].t;
			return 0;
		}
	return -1;
}

static int
ast_equal(const Ast *x, const Ast *y)
{
	if (x == y)
		return 1;
	if (x == NULL || y == NULL || x->kind != y->kind || x->nargs != y->nargs ||
	    x->neg != y->neg || x->distinct != y->distinct || x->ilike != y->ilike)
		return 0;
	/* a column of an expanded * (star = its position) is the column */
	if (x->kind != AST_COLREF && x->star != y->star)
		return 0;
	if ((x->name == NULL) != (y->name == NULL))
		return 0;
	if (x->name) {
		if (x->kind == AST_COLREF && !x->quoted && !y->quoted) {
			if (strcasecmp(x->name, y->name) != 0)
				return 0;
		} else if (strcmp(x->name, y->name) != 0)
			return 0;
	}
	if (x->kind == AST_CONST) {
		const Value *a = &x->val, *c = &y->val;
		if (a->type != c->type || a->null != c->null)
			return 0;
		if (!a->null) {
			if (type_is_var((WbType)a->type)) {
				if (a->n != c->n || memcmp(a->u.s, c->u.s, a->n) != 0)
					return 0;
			} else if (a->u.i != c->u.i)
				return 0;
		}
	}
	for (int i = 0; i < x->nargs; i++)
		if (!ast_equal(x->args[i], y->args[i]))
			return 0;
	if ((x->filter == NULL) != (y->filter == NULL) ||
	    (x->filter && !ast_equal(x->filter, y->filter)))
		return 0;
	return 1;
}

int
bind_ast_equal(const Ast *x, const Ast *y)
{
	return ast_equal(x, y);
}

static int
ast_has_agg(const Ast *n)
{
	AggKind k;
	if (n == NULL)
		return 0;
	if (n->kind == AST_FUNC && agg_lookup_args(n->name, n->distinct, n->nargs, &k) == 0)
		return 1;
	for (int i = 0; i < n->nargs; i++)
		if (ast_has_agg(n->args[i]))
			return 1;
	return 0;
}

static int
resolve_col(B *b, const Ast *n, int *out)
{
	const BindTable *t = b->t;
	if (t == NULL)
		return fail(b, ERR_COLUMN_MISSING, n->pos, "Unknown column '%s'", n->name);
	if (n->qual != NULL && strcasecmp(n->qual, t->name) != 0 &&
	    (t->alias == NULL || strcmp(n->qual, t->alias) != 0)) {
		const char *dot = strrchr(t->name, '.');
		if (dot == NULL || strcasecmp(n->qual, dot + 1) != 0)
			return fail(b, ERR_COLUMN_MISSING, n->pos, "Unknown column '%s.%s'", n->qual, n->name);
	}
	if (n->star > 0 && n->star <= t->ncols && n->qual == NULL) {
		/* an item of an expanded *: its column by position (a UNION of
		 * SELECT NULL, NULL has two columns named ?column?) */
		*out = n->star - 1;
		return 0;
	}
	int found = -1;
	for (int i = 0; i < t->ncols; i++) {
		int eq = n->quoted ? strcmp(t->cols[i].name, n->name) == 0
				   : strcasecmp(t->cols[i].name, n->name) == 0;
		if (!eq)
			continue;
		if (found >= 0)
			return fail(b, ERR_AMBIGUOUS, n->pos, "column reference '%s' is ambiguous", n->name);
		found = i;
	}
	if (found < 0)
		return fail(b, ERR_COLUMN_MISSING, n->pos, "Unknown column '%s'", n->name);
	*out = found;
	return 0;
}

static Expr *
mkexpr(B *b, ExprKind k, WbType t, int nargs, int pos)
{
	Expr *e = expr_new(b->a, k, t, nargs);
	if (e != NULL)
		e->pos = pos;
	return e;
}

/* Describe of a prepared statement (bind_set_param_sink): parameter n
 * arrives as the string literal PARAM_MARK "n"; where the binder coerces
 * it to a type, the type is recorded and the literal becomes a NULL of
 * that type. */
#define PARAM_MARK "\x01wbparam"
static _Thread_local WbType *param_sink;
static _Thread_local int param_sink_n;

void
bind_set_param_sink(WbType *types, int n)
{
	param_sink = types;
	param_sink_n = types ? n : 0;
}

static int
param_mark(const Value *v)
{
	size_t ml = sizeof(PARAM_MARK) - 1;
	if (param_sink == NULL || v->null || v->type != TYPE_STRING || v->n <= ml || v->n > ml + 5 ||
	    memcmp(v->u.s, PARAM_MARK, ml) != 0)
		return 0;
	int n = 0;
	for (uint32_t i = (uint32_t)ml; i < v->n; i++) {
		if (v->u.s[i] < '0' || v->u.s[i] > '9')
			return 0;
		n = n * 10 + (v->u.s[i] - '0');
	}
	return n >= 1 && n <= param_sink_n ? n : 0;
}

static int
coerce_const(B *b, Expr *c, WbType t, int pos)
{
	int pn = param_mark(&c->val);
	if (pn > 0) {
		if (param_sink[pn - 1] == TYPE_NULL)
			param_sink[pn - 1] = t;
		c->val = value_null(t);
		c->type = t;
		return 0;
	}
	Value v;
	Err tmp;
	err_clear(&tmp);
	if (expr_convert(&c->val, t, &v, b->a, &tmp) != 0)
		return fail(b, tmp.code, pos, "%s", tmp.msg);
	c->val = v;
	c->type = t;
	return 0;
}

static int bind_expr(B *b, const Ast *n, Expr **out);

static int
is_lit_string(const Expr *e)
{
	return e->kind == EXPR_CONST && !e->val.null && e->val.type == TYPE_STRING;
}

static int
flip(int op)
{
	switch (op) {
	case EXPR_OP_LT: return EXPR_OP_GT;
	case EXPR_OP_LE: return EXPR_OP_GE;
	case EXPR_OP_GT: return EXPR_OP_LT;
	case EXPR_OP_GE: return EXPR_OP_LE;
	default: return op;
	}
}

static int
null_bool(B *b, int pos, Expr **out)
{
	Expr *e = mkexpr(b, EXPR_CONST, TYPE_BOOLEAN, 0, pos);
	if (e == NULL)
		return nomem(b);
	e->val = value_null(TYPE_BOOLEAN);
	*out = e;
	return 0;
}

static int
bind_cmp(B *b, int op, Expr *l, Expr *r, int pos, const char *opname, Expr **out)
{
	if (l->kind == EXPR_CONST && r->kind != EXPR_CONST) {
		Expr *t = l;
		l = r;
		r = t;
		op = flip(op);
	}
	if ((l->kind == EXPR_CONST && l->val.null) || (r->kind == EXPR_CONST && r->val.null))
		return null_bool(b, pos, out);
	WbType lt = l->type, rt = r->type;
	if (lt == TYPE_BYTES && is_lit_string(r)) {
		/* bytesCol = 'deadbeef': the literal is hex */
		if (coerce_const(b, r, TYPE_BYTES, r->pos ? r->pos : pos) != 0)
			return b->e->code;
		rt = TYPE_BYTES;
	}
	if (type_is_var(lt) != type_is_var(rt)) {
		if (is_lit_string(r)) {
			/* an INT column takes a parameter of its own type */
			if (coerce_const(b, r, lt == TYPE_INT && !param_mark(&r->val) ? TYPE_LONG : lt, r->pos ? r->pos : pos) != 0)
				return b->e->code;
			r->type = lt;
		} else if (is_lit_string(l)) {
			if (coerce_const(b, l, rt, l->pos ? l->pos : pos) != 0)
				return b->e->code;
		} else {
			return fail(b, ERR_TYPE, pos, "operator does not exist: %s %s %s", type_name(lt), opname,
				    type_name(rt));
		}
	}
	if (r->mv || (l->mv && r->kind != EXPR_CONST))
		return fail(b, ERR_UNSUPPORTED, pos, "comparing a multi-value column with a non-constant");
	Expr *e = mkexpr(b, EXPR_CMP, TYPE_BOOLEAN, 2, pos);
	if (e == NULL)
		return nomem(b);
	e->op = op;
	e->args[0] = l;
	e->args[1] = r;
	*out = e;
	return 0;
}

static int
check_scalar(B *b, const Expr *e, int pos)
{
	if (e->mv)
		return fail(b, ERR_UNSUPPORTED, pos, "multi-value column in an expression");
	return 0;
}

/* Pinot type name (any case) of n bytes at s; 1 if known. */
static int
type_name_in(const char *s, uint32_t n, WbType *out)
{
	char buf[32];
	for (uint32_t i = 0; i < n && i < sizeof(buf) - 1; i++)
		buf[i] = (char)toupper((unsigned char)s[i]);
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
	return type_from_name(buf, out) == 0;
}

static int
check_bool(B *b, const Expr *e, const char *what, int pos)
{
	if (e->type != TYPE_BOOLEAN && e->type != TYPE_NULL)
		return fail(b, ERR_TYPE, pos, "argument of %s must be type BOOLEAN, not type %s", what,
			    type_name(e->type));
	return 0;
}

/* ---- scalar functions, CASE, COALESCE ------------------------------------ */

static const char *
sql_type_name(WbType t)
{
	return t == TYPE_NULL ? "unknown" : type_name(t);
}

/* The common type of the non-NULL values of a CASE / COALESCE /
 * GREATEST / LEAST; untyped string literals follow the others. */
static int
common_type(B *b, Expr **v, int n, const char *what, int pos, WbType *out)
{
	WbType t = TYPE_NULL;
	int any_lit = 0;
	for (int i = 0; i < n; i++) {
		WbType x = v[i]->type;
		if (x == TYPE_NULL)
			continue;
		if (is_lit_string(v[i])) {
			any_lit = 1;
			continue;
		}
		if (t == TYPE_NULL) {
			t = x;
			continue;
		}
		if (x == t)
			continue;
		if (type_is_numeric(t) && type_is_numeric(x) && t != TYPE_BOOLEAN && x != TYPE_BOOLEAN &&
		    t != TYPE_TIMESTAMP && x != TYPE_TIMESTAMP) {
			t = expr_arith_type(t, x);
			continue;
		}
		if (type_is_var(t) && type_is_var(x) && t != TYPE_BYTES && x != TYPE_BYTES) {
			t = TYPE_STRING;
			continue;
		}
		return fail(b, ERR_TYPE, pos, "%s types %s and %s cannot be matched", what, sql_type_name(t),
			    sql_type_name(x));
	}
	if (t == TYPE_NULL)
		t = any_lit ? TYPE_STRING : TYPE_NULL;
	for (int i = 0; i < n; i++) {
		if (v[i]->mv)
			return fail(b, ERR_UNSUPPORTED, pos, "multi-value column in %s", what);
		if (is_lit_string(v[i]) && t != TYPE_STRING) {
			int rc = coerce_const(b, v[i], t, v[i]->pos ? v[i]->pos : pos);
			if (rc != 0)
				return rc;
		}
	}
	*out = t;
	return 0;
}

/* Evaluates a constant expression now (bind time). */
static int
fold(B *b, Expr *e, Expr **out)
{
	ExprCtx cx;
	int next = 0, rc;
	expr_number(e, &next);
	if (exprvec_ctx_init(&cx, next) != 0) {
		exprvec_ctx_free(&cx);
		return nomem(b);
	}
	Batch bt = {.n = 1, .ncols = 0, .cols = NULL};
	const Vec *v;
	Err tmp;
	err_clear(&tmp);
	rc = exprvec_eval(&cx, e, &bt, NULL, 1, &v, &tmp);
	if (rc != 0) {
		exprvec_ctx_free(&cx);
		return fail(b, tmp.code, e->pos, "%s", tmp.msg);
	}
	Value val, cp;
	if (exprvec_value(v, 0, &val, &cx.tmp) != 0 || value_copy(&cp, &val, b->a) != 0) {
		exprvec_ctx_free(&cx);
		return nomem(b);
	}
	exprvec_ctx_free(&cx);
	cp.type = (uint8_t)e->type;
	Expr *c = expr_const(b->a, cp);
	if (c == NULL)
		return nomem(b);
	c->type = e->type;
	c->pos = e->pos;
	*out = c;
	return 0;
}

static int
all_const(const Expr *e)
{
	for (int i = 0; i < e->nargs; i++)
		if (e->args[i]->kind != EXPR_CONST)
			return 0;
	return 1;
}

static int
bind_args(B *b, const Ast *n, Expr **args)
{
	for (int i = 0; i < n->nargs; i++) {
		int rc = bind_expr(b, n->args[i], &args[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* does argument x fit class c?  untyped literals are coerced later */
static int
arg_fits(const Expr *x, char c)
{
	WbType t = x->type;
	if (c == 'V')
		return x->mv;
	if (t == TYPE_NULL)
		return 1;
	if (x->mv)
		return 0;
	switch (c) {
	case 'S': return t == TYPE_STRING || t == TYPE_JSON;
	case 'N': return type_is_numeric(t) && t != TYPE_BOOLEAN && t != TYPE_TIMESTAMP;
	case 'I': return t == TYPE_INT || t == TYPE_LONG;
	case 'T': return t == TYPE_TIMESTAMP;
	case 'M': return t == TYPE_TIMESTAMP || t == TYPE_INT || t == TYPE_LONG;
	case 'B': return t == TYPE_BOOLEAN;
	default: return 1;
	}
}

static WbType
class_type(char c)
{
	switch (c) {
	case 'S': return TYPE_STRING;
	case 'N': return TYPE_DOUBLE;
	case 'I': return TYPE_LONG;
	case 'T': return TYPE_TIMESTAMP;
	case 'M': return TYPE_LONG;
	case 'B': return TYPE_BOOLEAN;
	default: return TYPE_STRING;
	}
}

static int
sig_fits(const ExprFn *f, Expr **args, int nargs, int strict_lit)
{
	if (nargs == 0)
		return exprfn_sig_class(f->args, 0, 0) == 0 && (f->args[0] == '\0' || f->args[0] == '|');
	for (int i = 0; i < nargs; i++) {
		char c = exprfn_sig_class(f->args, i, nargs);
		if (c == 0)
			return 0;
		if (c == 'V' && !args[i]->mv)
			return 0;
		if (is_lit_string(args[i])) {
			if (strict_lit && c != 'S' && c != 'A')
				return 0;
			continue;
		}
		if (!arg_fits(args[i], c))
			return 0;
	}
	return 1;
}

static int
no_such_function(B *b, const Ast *n, Expr **args)
{
	char sig[400];
	size_t o = 0;
	sig[0] = '\0';
	for (int i = 0; i < n->nargs && o < sizeof(sig) - 40; i++)
		o += (size_t)snprintf(sig + o, sizeof(sig) - o, "%s%s%s", i ? ", " : "",
				      is_lit_string(args[i]) ? "unknown" : sql_type_name(args[i]->type),
				      args[i]->mv ? "[]" : "");
	return fail(b, ERR_FUNC_MISSING, n->pos, "function %s(%s) does not exist", n->name, sig);
}

static int
bind_case(B *b, const Ast *n, Expr **out)
{
	int rc;
	int nw = (n->nargs - 2) / 2;
	Expr *operand = NULL;
	if (n->args[0] != NULL) {
		if ((rc = bind_expr(b, n->args[0], &operand)) != 0)
			return rc;
		if ((rc = check_scalar(b, operand, n->pos)) != 0)
			return rc;
	}
	Expr *e = mkexpr(b, EXPR_CASE, TYPE_NULL, 2 * nw + 1, n->pos);
	Expr **vals = arena_calloc(b->a, sizeof(Expr *) * (size_t)(nw + 1));
	if (e == NULL || vals == NULL)
		return nomem(b);
	for (int i = 0; i < nw; i++) {
		const Ast *w = n->args[1 + 2 * i];
		Expr *c;
		if ((rc = bind_expr(b, w, &c)) != 0)
			return rc;
		if (operand != NULL) {
			if ((rc = bind_cmp(b, EXPR_OP_EQ, operand, c, w->pos ? w->pos : n->pos, "=", &c)) != 0)
				return rc;
		} else if ((rc = check_bool(b, c, "CASE/WHEN", w->pos ? w->pos : n->pos)) != 0)
			return rc;
		e->args[2 * i] = c;
		if ((rc = bind_expr(b, n->args[2 + 2 * i], &vals[i])) != 0)
			return rc;
	}
	if (n->args[n->nargs - 1] != NULL) {
		if ((rc = bind_expr(b, n->args[n->nargs - 1], &vals[nw])) != 0)
			return rc;
	} else {
		if ((vals[nw] = expr_const(b->a, value_null(TYPE_NULL))) == NULL)
			return nomem(b);
	}
	WbType t;
	if ((rc = common_type(b, vals, nw + 1, "CASE", n->pos, &t)) != 0)
		return rc;
	for (int i = 0; i < nw; i++)
		e->args[2 * i + 1] = vals[i];
	e->args[2 * nw] = vals[nw];
	e->type = t == TYPE_NULL ? TYPE_STRING : t;
	*out = e;
	return 0;
}

/*
 * Pinot's dialect for a bound scalar function e (before its prep hook):
 * sqrt and the logarithms follow IEEE (NaN, -Infinity) as Java does, and
 * SUBSTR(s, begin[, end]) takes Pinot's 0-based begin and exclusive end
 * (end -1 = to the end of s), rewritten into PostgreSQL's 1-based start
 * and length when begin and end are constants; CONCAT(a, b, separator)
 * is Pinot's a || separator || b.
 */
static int
pinot_scalar_args(B *b, const char *name, Expr *e)
{
	if (!strcmp(name, "concat") && e->nargs == 3) {
		Expr *sep = e->args[2];
		e->args[2] = e->args[1];
		e->args[1] = sep;
		return 0;
	}
	if (!strcmp(name, "sqrt") || !strcmp(name, "ln") || !strcmp(name, "log10") ||
	    (!strcmp(name, "log") && e->nargs == 1)) {
		e->aux = FNMATH_IEEE;
		return 0;
	}
	if (strcmp(name, "substr") != 0 || e->nargs < 2)
		return 0;
	for (int i = 1; i < e->nargs; i++)
		if (e->args[i]->kind != EXPR_CONST || e->args[i]->val.null)
			return 0;
	int64_t begin = e->args[1]->val.u.i;
	if (begin < 0)
		begin = 0;
	if (e->nargs == 3) {
		int64_t end = e->args[2]->val.u.i;
		if (end < 0) {
			int nf;
			const ExprFn *f = exprfn_find("substr", &nf);
			for (int i = 0; i < nf; i++)
				if (strcmp(f[i].args, "SI") == 0)
					e->fn = &f[i];
			if (strcmp(e->fn->args, "SI") != 0)
				return fail(b, ERR_INTERNAL, e->pos, "substr(string, integer) is missing");
			e->nargs = 2;
		} else {
			Expr *len = expr_const(b->a, value_int(e->args[2]->type, end > begin ? end - begin : 0));
			if (len == NULL)
				return nomem(b);
			len->pos = e->args[2]->pos;
			e->args[2] = len;
		}
	}
	Expr *start = expr_const(b->a, value_int(e->args[1]->type, begin + 1));
	if (start == NULL)
		return nomem(b);
	start->pos = e->args[1]->pos;
	e->args[1] = start;
	return 0;
}

static int
bind_scalar(B *b, const Ast *n, Expr **out)
{
	int rc;
	const char *name = n->name;
	if (n->star || n->distinct)
		return fail(b, ERR_FUNC_MISSING, n->pos, "%s(%s) is not an aggregate function", name,
			    n->star ? "*" : "DISTINCT");
	Expr **args = arena_calloc(b->a, sizeof(Expr *) * (size_t)(n->nargs + 1));
	if (args == NULL)
		return nomem(b);
	int nf;
	const ExprFn *f = exprfn_find(name, &nf);
	int special = !strcmp(name, "coalesce") || !strcmp(name, "greatest") || !strcmp(name, "least") ||
		      !strcmp(name, "nullif");
	if (f == NULL && !special && strcmp(name, "current_date") != 0)
		return fail(b, ERR_FUNC_MISSING, n->pos, "function %s does not exist", name);
	if ((rc = bind_args(b, n, args)) != 0)
		return rc;
	if (f != NULL && strcmp(name, "textcat") == 0 && n->nargs == 2 && (args[0]->mv || args[1]->mv))
		f = exprfn_find("array_cat", &nf);	/* array || array */
	Expr *e;
	if (special) {
		if (n->nargs < 1 || (!strcmp(name, "nullif") && n->nargs != 2))
			return no_such_function(b, n, args);
		WbType t;
		if (!strcmp(name, "nullif")) {
			/* NULLIF(a, b) = CASE WHEN a = b THEN NULL ELSE a END */
			Expr *cmp;
			if ((rc = check_scalar(b, args[0], n->pos)) != 0 ||
			    (rc = bind_cmp(b, EXPR_OP_EQ, args[0], args[1], n->pos, "=", &cmp)) != 0)
				return rc;
			if ((e = mkexpr(b, EXPR_CASE, args[0]->type, 3, n->pos)) == NULL ||
			    (e->args[1] = expr_const(b->a, value_null(args[0]->type))) == NULL)
				return nomem(b);
			e->args[0] = cmp;
			e->args[2] = args[0];
			if (e->type == TYPE_NULL)
				e->type = TYPE_STRING;
			*out = e;
			return 0;
		}
		if ((rc = common_type(b, args, n->nargs, name[0] == 'c' ? "COALESCE" : name[0] == 'g' ? "GREATEST" : "LEAST",
				      n->pos, &t)) != 0)
			return rc;
		if (t == TYPE_NULL)
			t = TYPE_STRING;
		if (name[0] == 'c') {
			if ((e = mkexpr(b, EXPR_COALESCE, t, n->nargs, n->pos)) == NULL)
				return nomem(b);
			memcpy(e->args, args, sizeof(Expr *) * (size_t)n->nargs);
			*out = e;
			return 0;
		}
		/* GREATEST(a, b, c) = CASE WHEN a >= b AND ... ignoring NULLs:
		 * folded pairwise as COALESCE-protected CASEs */
		Expr *acc = args[0];
		for (int i = 1; i < n->nargs; i++) {
			Expr *x = args[i], *cmp, *nx, *na, *o1, *c;
			if ((rc = bind_cmp(b, name[0] == 'g' ? EXPR_OP_GT : EXPR_OP_LT, x, acc, n->pos,
					   name[0] == 'g' ? ">" : "<", &cmp)) != 0)
				return rc;
			/* x wins when acc IS NULL or x beats acc (x not NULL) */
			if ((na = mkexpr(b, EXPR_ISNULL, TYPE_BOOLEAN, 1, n->pos)) == NULL ||
			    (nx = mkexpr(b, EXPR_ISNULL, TYPE_BOOLEAN, 1, n->pos)) == NULL ||
			    (o1 = mkexpr(b, EXPR_OR, TYPE_BOOLEAN, 2, n->pos)) == NULL ||
			    (c = mkexpr(b, EXPR_CASE, t, 5, n->pos)) == NULL)
				return nomem(b);
			nx->args[0] = x;
			na->args[0] = acc;
			o1->args[0] = na;
			o1->args[1] = cmp;
			c->args[0] = nx;	/* x IS NULL -> acc */
			c->args[1] = acc;
			c->args[2] = o1;	/* acc IS NULL OR x beats acc -> x */
			c->args[3] = x;
			c->args[4] = acc;
			acc = c;
		}
		if (acc->kind != EXPR_CASE) {
			if ((e = mkexpr(b, EXPR_COALESCE, t, 1, n->pos)) == NULL)
				return nomem(b);
			e->args[0] = acc;
			acc = e;
		}
		*out = acc;
		return 0;
	}
	if (!strcmp(name, "current_date")) {
		/* date_trunc('day', now()) */
		f = exprfn_find("date_trunc", &nf);
		Expr *now;
		int nn;
		if ((e = mkexpr(b, EXPR_FUNC, TYPE_TIMESTAMP, 2, n->pos)) == NULL ||
		    (now = mkexpr(b, EXPR_FUNC, TYPE_TIMESTAMP, 0, n->pos)) == NULL ||
		    (e->args[0] = expr_const(b->a, value_str(TYPE_STRING, "day", 3))) == NULL)
			return nomem(b);
		now->fn = exprfn_find("now", &nn);
		e->fn = f;
		e->args[1] = now;
		Err tmp;
		err_clear(&tmp);
		if (f->prep(e, b->a, &tmp) != 0)
			return fail(b, tmp.code, n->pos, "%s", tmp.msg);
		*out = e;
		return 0;
	}
	/* pick the overload: exact classes first, then with literal coercion */
	const ExprFn *pick = NULL;
	for (int pass = 0; pass < 2 && pick == NULL; pass++)
		for (int i = 0; i < nf && pick == NULL; i++)
			if (sig_fits(&f[i], args, n->nargs, pass == 0))
				pick = &f[i];
	if (pick == NULL)
		return no_such_function(b, n, args);
	if ((e = mkexpr(b, EXPR_FUNC, TYPE_NULL, n->nargs, n->pos)) == NULL)
		return nomem(b);
	e->fn = pick;
	for (int i = 0; i < n->nargs; i++) {
		char c = exprfn_sig_class(pick->args, i, n->nargs);
		Expr *x = args[i];
		int p = x->pos ? x->pos : n->pos;
		if (is_lit_string(x) && c != 'S' && c != 'A') {
			if ((rc = coerce_const(b, x, class_type(c), p)) != 0)
				return rc;
		} else if (x->kind == EXPR_CONST && x->val.null && x->type == TYPE_NULL) {
			x->type = class_type(c);
			x->val.type = (uint8_t)x->type;
		}
		e->args[i] = x;
	}
	switch (pick->ret) {
	case 'I': e->type = TYPE_INT; break;
	case 'L': e->type = TYPE_LONG; break;
	case 'D': e->type = TYPE_DOUBLE; break;
	case 'S': e->type = TYPE_STRING; break;
	case 'B': e->type = TYPE_BOOLEAN; break;
	case 'T': e->type = TYPE_TIMESTAMP; break;
	case '0': e->type = n->nargs > 0 ? e->args[0]->type : TYPE_DOUBLE; break;
	case '1': case '2': case '3':
		e->type = n->nargs > pick->ret - '0' ? e->args[pick->ret - '0']->type : TYPE_STRING;
		break;
	case 'X': {
		/* the type named by the constant argument 2 ('INT', 'DOUBLE',
		 * 'STRING', ...), as Pinot's JSONEXTRACTSCALAR takes it */
		const Expr *tn = n->nargs > 2 ? e->args[2] : NULL;
		char nm[32];
		if (tn == NULL || tn->kind != EXPR_CONST || tn->val.null || !type_is_var((WbType)tn->val.type) ||
		    tn->val.n >= sizeof(nm))
			return fail(b, ERR_TYPE, n->pos, "%s: argument 3 must be a type name constant", name);
		memcpy(nm, tn->val.u.s, tn->val.n);
		nm[tn->val.n] = '\0';
		if (!strcasecmp(nm, "INT") || !strcasecmp(nm, "INTEGER"))
			e->type = TYPE_INT;
		else if (!strcasecmp(nm, "LONG") || !strcasecmp(nm, "BIGINT"))
			e->type = TYPE_LONG;
		else if (!strcasecmp(nm, "FLOAT") || !strcasecmp(nm, "DOUBLE") || !strcasecmp(nm, "BIG_DECIMAL"))
			e->type = TYPE_DOUBLE;
		else if (!strcasecmp(nm, "STRING") || !strcasecmp(nm, "JSON"))
			e->type = TYPE_STRING;
		else if (!strcasecmp(nm, "BOOLEAN"))
			e->type = TYPE_BOOLEAN;
		else if (!strcasecmp(nm, "TIMESTAMP"))
			e->type = TYPE_TIMESTAMP;
		else
			return fail(b, ERR_UNSUPPORTED, tn->pos ? tn->pos : n->pos, "%s: result type '%s' is not supported",
				    name, nm);
		break;
	}
	default: {
		WbType t = TYPE_NULL;
		for (int i = 0; i < n->nargs; i++)
			t = i == 0 ? e->args[0]->type : expr_arith_type(t, e->args[i]->type);
		e->type = t;
	}
	}
	if (e->type == TYPE_FLOAT && pick->ret == '0' && !(pick->flags & FN_MVRESULT))
		e->type = TYPE_DOUBLE;
	if (pick->flags & FN_MVRESULT)
		e->mv = 1;
	if ((pick->flags & FN_CONSTARGS))
		for (int i = 1; i < n->nargs; i++)
			if (e->args[i]->kind != EXPR_CONST)
				return fail(b, ERR_UNSUPPORTED, e->args[i]->pos ? e->args[i]->pos : n->pos,
					    "%s: argument %d must be a constant", name, i + 1);
	if (b->pinot && (rc = pinot_scalar_args(b, name, e)) != 0)
		return rc;
	if (pick->prep != NULL) {
		Err tmp;
		err_clear(&tmp);
		if (pick->prep(e, b->a, &tmp) != 0)
			return fail(b, tmp.code, n->pos, "%s", tmp.msg);
	}
	Expr *r = e;
	if (!(pick->flags & FN_VOLATILE) && all_const(e) && (rc = fold(b, e, &r)) != 0)
		return rc;
	if (b->pinot && !strcmp(name, "mod") && r->type != TYPE_DOUBLE) {
		/* Pinot's MOD is DOUBLE arithmetic */
		Expr *c = mkexpr(b, EXPR_CAST, TYPE_DOUBLE, 1, n->pos);
		if (c == NULL)
			return nomem(b);
		c->args[0] = r;
		r = c;
	}
	*out = r;
	return 0;
}

/* CAST(x AS interval): a constant INTERVAL, kept as LONG milliseconds
 * with the months in aux and neg = 2 marking it */
static int
bind_interval(B *b, const Ast *n, Expr **out)
{
	const Ast *a = n->args[0];
	int64_t mon, ms;
	if (a->kind != AST_CONST || a->val.null || !type_is_var((WbType)a->val.type))
		return fail(b, ERR_UNSUPPORTED, n->pos, "INTERVAL must be a constant string");
	if (exprfn_interval_parse(a->val.u.s, a->val.n, &mon, &ms) != 0)
		return fail(b, ERR_TYPE, a->pos ? a->pos : n->pos, "invalid input syntax for type interval: \"%.*s\"",
			    (int)(a->val.n > 100 ? 100 : a->val.n), a->val.u.s);
	Expr *e = expr_const(b->a, value_int(TYPE_LONG, ms));
	if (e == NULL)
		return nomem(b);
	e->pos = n->pos;
	e->aux = mon;
	e->neg = 2;
	*out = e;
	return 0;
}

static int
is_interval(const Expr *e)
{
	return e->kind == EXPR_CONST && e->neg == 2;
}

/* timestamp +/- interval */
static int
bind_ts_interval(B *b, const Ast *n, Expr *ts, Expr *iv, int minus, Expr **out)
{
	int nf;
	Expr *ms = expr_const(b->a, value_int(TYPE_LONG, minus ? -iv->val.u.i : iv->val.u.i));
	Expr *e = mkexpr(b, EXPR_FUNC, TYPE_TIMESTAMP, 2, n->pos);
	if (e == NULL || ms == NULL)
		return nomem(b);
	e->fn = exprfn_find("$ts_add", &nf);
	e->aux = minus ? -iv->aux : iv->aux;
	e->args[0] = ts;
	e->args[1] = ms;
	if (ts->kind == EXPR_CONST)
		return fold(b, e, out);
	*out = e;
	return 0;
}

static int
bind_arith(B *b, const Ast *n, Expr **out)
{
	static const char *ops[] = {"+", "-", "*", "/", "%"};
	int op = -1;
	for (int i = 0; i < 5; i++)
		if (strcmp(n->name, ops[i]) == 0)
			op = i;
	Expr *l, *r;
	int rc;
	if (n->nargs == 1) {
		if ((rc = bind_expr(b, n->args[0], &l)) != 0)
			return rc;
		if (!type_is_numeric(l->type) && l->type != TYPE_NULL)
			return fail(b, ERR_TYPE, n->pos, "operator does not exist: -%s", type_name(l->type));
		Expr *e = mkexpr(b, EXPR_NEG, l->type == TYPE_NULL ? TYPE_INT : l->type, 1, n->pos);
		if (e == NULL)
			return nomem(b);
		e->args[0] = l;
		*out = e;
		return check_scalar(b, l, n->pos);
	}
	if ((rc = bind_expr(b, n->args[0], &l)) || (rc = bind_expr(b, n->args[1], &r)))
		return rc;
	if ((rc = check_scalar(b, l, n->pos)) || (rc = check_scalar(b, r, n->pos)))
		return rc;
	if (is_interval(l) || is_interval(r)) {
		Expr *iv = is_interval(r) ? r : l, *x = is_interval(r) ? l : r;
		if (is_lit_string(x) && (rc = coerce_const(b, x, TYPE_TIMESTAMP, x->pos ? x->pos : n->pos)) != 0)
			return rc;
		if (x->type == TYPE_TIMESTAMP && (op == EXPR_OP_ADD || (op == EXPR_OP_SUB && iv == r)))
			return bind_ts_interval(b, n, x, iv, op == EXPR_OP_SUB, out);
		if (iv->aux != 0 || (x->type != TYPE_LONG && x->type != TYPE_INT && !is_interval(x)))
			return fail(b, ERR_TYPE, n->pos, "operator does not exist: %s %s interval",
				    sql_type_name(x->type), n->name);
		/* millisecond numbers +/- an interval of fixed length */
	}
	if (is_lit_string(l) && type_is_numeric(r->type) && (rc = coerce_const(b, l, r->type, l->pos)))
		return rc;
	if (is_lit_string(r) && type_is_numeric(l->type) && (rc = coerce_const(b, r, l->type, r->pos)))
		return rc;
	WbType lt = l->type == TYPE_TIMESTAMP ? TYPE_LONG : l->type;
	WbType rt = r->type == TYPE_TIMESTAMP ? TYPE_LONG : r->type;
	if ((!type_is_numeric(lt) && lt != TYPE_NULL) || (!type_is_numeric(rt) && rt != TYPE_NULL) ||
	    lt == TYPE_BOOLEAN || rt == TYPE_BOOLEAN)
		return fail(b, ERR_TYPE, n->pos, "operator does not exist: %s %s %s", type_name(l->type),
			    n->name, type_name(r->type));
	Expr *e = mkexpr(b, EXPR_ARITH, expr_arith_type(lt, rt), 2, n->pos);
	if (e == NULL)
		return nomem(b);
	e->op = EXPR_OP_ADD + op;
	e->args[0] = l;
	e->args[1] = r;
	*out = e;
	return 0;
}

/*
 * Pinot's dialect (the request asked for Pinot's conventions, see
 * bind_select): the result types Pinot's single-stage engine gives its
 * aggregates -- DOUBLE for MIN/MAX/AVG/MINMAXRANGE/PERCENTILE and the MV
 * sums, INT for DISTINCTCOUNT, LONG for PERCENTILEEST -- whatever the
 * argument type.  TYPE_NULL = keep Waybill's (PostgreSQL's) type.
 */
static WbType
pinot_agg_type(AggKind k)
{
	switch (k) {
	case AGG_MIN: case AGG_MAX: case AGG_MIN_MV: case AGG_MAX_MV: case AGG_SUM_MV:
	case AGG_AVG: case AGG_AVG_MV: case AGG_MINMAXRANGE: case AGG_MINMAXRANGE_MV:
	case AGG_PERCENTILE: case AGG_PERCENTILE_MV:
	case AGG_PERCENTILE_TDIGEST: case AGG_PERCENTILE_TDIGEST_MV:
		return TYPE_DOUBLE;
	case AGG_COUNT_DISTINCT: case AGG_DISTINCT_MV:
		return TYPE_INT;
	case AGG_PERCENTILE_EST: case AGG_PERCENTILE_EST_MV:
		return TYPE_LONG;
	default:
		return TYPE_NULL;
	}
}

/* The reference e to aggregate ag's result, converted to Pinot's result
 * type in Pinot's dialect. */
static int
pinot_agg_out(B *b, const PlanAgg *ag, Expr *e, Expr **out)
{
	WbType t = b->pinot ? pinot_agg_type(ag->kind) : TYPE_NULL;
	if (t == TYPE_NULL || t == ag->type) {
		*out = e;
		return 0;
	}
	Expr *c = mkexpr(b, EXPR_CAST, t, 1, e->pos);
	if (c == NULL)
		return nomem(b);
	c->args[0] = e;
	*out = c;
	return 0;
}

/* ---- funnel aggregates ---------------------------------------------------- */

/* Binds argument n of an aggregate call (aggregates inside not allowed). */
static int
bind_agg_arg(B *b, const Ast *n, Expr **out)
{
	b->in_agg = 1;
	b->agg_ctx = 0;
	int rc = bind_expr(b, n, out);
	b->in_agg = 0;
	b->agg_ctx = 1;
	return rc;
}

static const char *
funnel_name(AggKind k)
{
	switch (k) {
	case AGG_FUNNEL_COUNT: return "FUNNELCOUNT";
	case AGG_FUNNEL_MAX_STEP: return "FUNNELMAXSTEP";
	case AGG_FUNNEL_MATCH_STEP: return "FUNNELMATCHSTEP";
	default: return "FUNNELCOMPLETECOUNT";
	}
}

/* Binds the step conditions steps[0..ns) of funnel fname into out[]. */
static int
bind_steps(B *b, const char *fname, Ast *const *steps, int ns, Expr **out)
{
	for (int j = 0; j < ns; j++) {
		int rc = bind_agg_arg(b, steps[j], &out[j]);
		if (rc != 0)
			return rc;
		if (out[j]->mv || (out[j]->type != TYPE_BOOLEAN && out[j]->type != TYPE_NULL))
			return fail(b, ERR_TYPE, steps[j]->pos, "step %d of %s must be a BOOLEAN condition, not %s%s",
				    j + 1, fname, out[j]->mv ? "a multi-value " : "", type_name(out[j]->type));
	}
	return 0;
}

/* CASE WHEN c THEN v ELSE other END, all typed t. */
static Expr *
case_when(B *b, Expr *c, WbType t, int64_t v, int64_t other, int pos)
{
	Expr *e = mkexpr(b, EXPR_CASE, t, 3, pos);
	if (e == NULL || (e->args[1] = expr_const(b->a, value_int(t, v))) == NULL ||
	    (e->args[2] = expr_const(b->a, value_int(t, other))) == NULL)
		return NULL;
	e->args[0] = c;
	return e;
}

/* Integer constant argument n (a number, or a string holding one, as
 * Pinot's literals allow) in [lo, hi]; *ok = 0 when it is none. */
static int64_t
int_const(const Ast *n, int64_t lo, int64_t hi, int *ok)
{
	*ok = 0;
	if (n->kind != AST_CONST || n->val.null)
		return 0;
	int64_t x;
	if (type_is_integer((WbType)n->val.type) && n->val.type != TYPE_BOOLEAN &&
	    n->val.type != TYPE_TIMESTAMP) {
		x = n->val.u.i;
	} else if (type_is_var((WbType)n->val.type) && n->val.n > 0 && n->val.n < 24) {
		char buf[24], *end;
		memcpy(buf, n->val.u.s, n->val.n);
		buf[n->val.n] = '\0';
		long long v = strtoll(buf, &end, 10);
		if (*end != '\0')
			return 0;
		x = v;
	} else {
		return 0;
	}
	*ok = x >= lo && x <= hi;
	return x;
}

/* Checks one SETTINGS(...) entry of FUNNELCOUNT: Pinot's strategies
 * (set, bitmap, partitioned, sorted, theta_sketch, each also as
 * name=value) and nominalEntries=N.  Waybill counts exactly whatever
 * the strategy, so they change nothing. */
static int
funnel_setting(B *b, const Ast *n)
{
	static const char *const names[] = {"set", "bitmap", "partitioned", "sorted", "theta_sketch",
					    "nominalentries"};
	char s[64];
	size_t len = 0;
	if (n->kind != AST_CONST || n->val.null || !type_is_var((WbType)n->val.type))
		return fail(b, ERR_TYPE, n->pos, "FUNNELCOUNT SETTINGS take string constants like 'set'");
	for (uint32_t i = 0; i < n->val.n && len < sizeof(s) - 1; i++)
		if (!isspace((unsigned char)n->val.u.s[i]))
			s[len++] = (char)tolower((unsigned char)n->val.u.s[i]);
	s[len] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t nl = strlen(names[i]);
		if (strncmp(s, names[i], nl) != 0 || (s[nl] != '\0' && s[nl] != '='))
			continue;
		if (i == 5) {
			char *end;
			long long x = s[nl] == '=' ? strtoll(s + nl + 1, &end, 10) : 0;
			if (s[nl] != '=' || *end != '\0' || s[nl + 1] == '\0' || x <= 0 || x > INT32_MAX)
				return fail(b, ERR_TYPE, n->pos,
					    "FUNNELCOUNT setting nominalEntries needs a positive integer, not '%.*s'",
					    (int)n->val.n, n->val.u.s);
		}
		return 0;
	}
	return fail(b, ERR_TYPE, n->pos,
		    "Invalid FUNNELCOUNT SETTINGS: '%.*s' (set, bitmap, partitioned, sorted, theta_sketch, "
		    "nominalEntries=N)",
		    (int)n->val.n, n->val.u.s);
}

/* FUNNELCOUNT(STEPS(c1, ..., cn), CORRELATE_BY(id)[, SETTINGS('...', ...)])
 * in any order: arg = id, arg2 = the mask sum of CASE WHEN cj THEN 2^j
 * ELSE 0 END, param = n. */
static int
bind_funnel_count(B *b, const Ast *n, PlanAgg *ag)
{
	const Ast *steps = NULL, *corr = NULL, *settings = NULL;
	int rc;
	if (n->star || n->nargs == 0)
		return fail(b, ERR_FUNC_MISSING, n->pos,
			    "FUNNELCOUNT takes STEPS(condition, ...), CORRELATE_BY(column) and optionally "
			    "SETTINGS('...')");
	for (int i = 0; i < n->nargs; i++) {
		const Ast *a = n->args[i];
		const Ast **slot = NULL;
		if (a->kind == AST_FUNC && a->over == NULL && a->filter == NULL && !a->distinct) {
			if (exprfn_name_eq(a->name, "steps"))
				slot = &steps;
			else if (exprfn_name_eq(a->name, "correlate_by") || exprfn_name_eq(a->name, "correlated_by"))
				slot = &corr;
			else if (exprfn_name_eq(a->name, "settings"))
				slot = &settings;
		}
		if (slot == NULL)
			return fail(b, ERR_FUNC_MISSING, a->pos,
				    "Invalid FUNNELCOUNT option: argument %d must be STEPS(...), CORRELATE_BY(...) "
				    "or SETTINGS(...)",
				    i + 1);
		if (*slot != NULL)
			return fail(b, ERR_FUNC_MISSING, a->pos, "FUNNELCOUNT takes one %s(...)", a->name);
		if (a->star)
			return fail(b, ERR_FUNC_MISSING, a->pos, "%s(*) is not valid in FUNNELCOUNT", a->name);
		*slot = a;
	}
	if (steps == NULL || steps->nargs == 0)
		return fail(b, ERR_FUNC_MISSING, steps ? steps->pos : n->pos,
			    "FUNNELCOUNT requires STEPS(condition, ...) with at least one step");
	if (corr == NULL || corr->nargs == 0)
		return fail(b, ERR_FUNC_MISSING, corr ? corr->pos : n->pos,
			    "FUNNELCOUNT requires CORRELATE_BY(column)");
	if (corr->nargs > 1)
		return fail(b, ERR_UNSUPPORTED, corr->args[1]->pos,
			    "FUNNELCOUNT correlates by one column only (CORRELATE_BY(column))");
	if (steps->nargs > AGG_FUNNEL_MAX)
		return fail(b, ERR_UNSUPPORTED, steps->args[AGG_FUNNEL_MAX]->pos,
			    "FUNNELCOUNT takes at most %d steps, not %d", AGG_FUNNEL_MAX, steps->nargs);
	for (int i = 0; settings != NULL && i < settings->nargs; i++)
		if ((rc = funnel_setting(b, settings->args[i])) != 0)
			return rc;
	if ((rc = bind_agg_arg(b, corr->args[0], &ag->arg)) != 0)
		return rc;
	if (ag->arg->mv)
		return fail(b, ERR_UNSUPPORTED, corr->args[0]->pos,
			    "FUNNELCOUNT cannot correlate by a multi-value column");
	Expr *conds[AGG_FUNNEL_MAX];
	int ns = steps->nargs;
	if ((rc = bind_steps(b, "FUNNELCOUNT", steps->args, ns, conds)) != 0)
		return rc;
	Expr *mask = NULL;
	for (int j = 0; j < ns; j++) {
		Expr *c = case_when(b, conds[j], TYPE_LONG, INT64_C(1) << j, 0, steps->args[j]->pos);
		if (c == NULL)
			return nomem(b);
		if (mask == NULL) {
			mask = c;
			continue;
		}
		Expr *sum = mkexpr(b, EXPR_ARITH, TYPE_LONG, 2, steps->pos);
		if (sum == NULL)
			return nomem(b);
		sum->op = EXPR_OP_ADD;
		sum->args[0] = mask;
		sum->args[1] = c;
		mask = sum;
	}
	ag->arg2 = mask;
	ag->nsteps = ns;
	ag->param = ns;
	return 0;
}

/* One mode argument of FUNNELMAXSTEP & co (Pinot's extra arguments):
 * a mode name, 'mode=A,B' or 'maxStepDuration=N' (any case). */
static int
funnel_mode(B *b, const char *fname, const Ast *n, int i, PlanAgg *ag)
{
	static const char *const modes[] = {"STRICT_DEDUPLICATION", "STRICT_ORDER", "STRICT_INCREASE", "KEEP_ALL"};
	char s[128];
	if (n->kind != AST_CONST || n->val.null || !type_is_var((WbType)n->val.type))
		return fail(b, ERR_TYPE, n->pos,
			    "argument %d of %s must be a mode string ('STRICT_DEDUPLICATION', 'STRICT_ORDER', "
			    "'STRICT_INCREASE', 'KEEP_ALL', 'mode=...', 'maxStepDuration=N'): the number of "
			    "steps (argument 3) is %d",
			    i + 1, fname, ag->nsteps);
	uint32_t len = n->val.n < sizeof(s) - 1 ? n->val.n : (uint32_t)sizeof(s) - 1;
	for (uint32_t k = 0; k < len; k++)
		s[k] = (char)toupper((unsigned char)n->val.u.s[k]);
	s[len] = '\0';
	char *eq = strchr(s, '=');
	char *list = s;
	if (eq != NULL) {
		*eq = '\0';
		char *key = s, *val = eq + 1;
		while (isspace((unsigned char)*key))
			key++;
		for (char *e = eq; e > key && isspace((unsigned char)e[-1]); e--)
			e[-1] = '\0';
		if (strchr(val, '=') == NULL && strcmp(key, "MAXSTEPDURATION") == 0) {
			char *end;
			long long x = strtoll(val, &end, 10);
			while (isspace((unsigned char)*end))
				end++;
			if (end == val || *end != '\0' || x <= 0)
				return fail(b, ERR_TYPE, n->pos, "%s: maxStepDuration must be a positive integer",
					    fname);
			ag->max_step_duration = x;
			return 0;
		}
		if (strchr(val, '=') != NULL || strcmp(key, "MODE") != 0)
			return fail(b, ERR_TYPE, n->pos, "Unrecognized extra argument for funnel function %s: '%.*s'",
				    fname, (int)n->val.n, n->val.u.s);
		list = val;
	}
	/* a comma-separated list of modes */
	for (char *tok = list; tok != NULL;) {
		char *comma = strchr(tok, ',');
		if (comma != NULL)
			*comma = '\0';
		while (isspace((unsigned char)*tok))
			tok++;
		for (char *e = tok + strlen(tok); e > tok && isspace((unsigned char)e[-1]); e--)
			e[-1] = '\0';
		size_t m = 0;
		while (m < sizeof(modes) / sizeof(modes[0]) && strcmp(tok, modes[m]) != 0)
			m++;
		if (m == sizeof(modes) / sizeof(modes[0]) || (eq == NULL && comma != NULL))
			return fail(b, ERR_TYPE, n->pos,
				    "Unrecognized extra argument for funnel function %s: '%.*s' (modes: "
				    "STRICT_DEDUPLICATION, STRICT_ORDER, STRICT_INCREASE, KEEP_ALL)",
				    fname, (int)n->val.n, n->val.u.s);
		ag->funnel_modes |= 1 << m;
		tok = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* FUNNELMAXSTEP / FUNNELMATCHSTEP / FUNNELCOMPLETECOUNT(ts, window, n,
 * step1, ..., stepn[, mode, ...]): arg = ts, arg2 = CASE WHEN step1 THEN
 * 0 WHEN step2 THEN 1 ... ELSE -1 END (a row is an event of the first
 * step it matches, as in Pinot), param = n. */
static int
bind_funnel_window(B *b, const Ast *n, AggKind k, PlanAgg *ag)
{
	const char *fname = funnel_name(k);
	int rc, ok;
	if (n->star || n->nargs < 4)
		return fail(b, ERR_FUNC_MISSING, n->pos,
			    "%s takes (timestamp, windowSize, numberOfSteps, step1, ..., stepN[, mode, ...])", fname);
	ag->window = int_const(n->args[1], 1, INT64_MAX, &ok);
	if (!ok)
		return fail(b, ERR_TYPE, n->args[1]->pos, "the window size of %s must be a positive integer constant",
			    fname);
	int64_t ns = int_const(n->args[2], 1, INT64_MAX, &ok);
	if (!ok)
		return fail(b, ERR_TYPE, n->args[2]->pos,
			    "the number of steps of %s must be a positive integer constant", fname);
	if (ns > AGG_FUNNEL_MAX)
		return fail(b, ERR_UNSUPPORTED, n->args[2]->pos, "%s takes at most %d steps, not %lld", fname,
			    AGG_FUNNEL_MAX, (long long)ns);
	if (n->nargs < 3 + ns)
		return fail(b, ERR_FUNC_MISSING, n->pos, "%s: the number of steps is %lld but %d step conditions follow",
			    fname, (long long)ns, n->nargs - 3);
	ag->nsteps = (int)ns;
	ag->param = (double)ns;
	for (int i = 3 + (int)ns; i < n->nargs; i++)
		if ((rc = funnel_mode(b, fname, n->args[i], i, ag)) != 0)
			return rc;
	if ((rc = bind_agg_arg(b, n->args[0], &ag->arg)) != 0)
		return rc;
	WbType tt = ag->arg->type;
	if (ag->arg->mv || !(tt == TYPE_INT || tt == TYPE_LONG || tt == TYPE_TIMESTAMP || tt == TYPE_NULL))
		return fail(b, ERR_TYPE, n->args[0]->pos, "the timestamp of %s must be an integer or a TIMESTAMP, not %s%s",
			    fname, ag->arg->mv ? "a multi-value " : "", type_name(tt));
	Expr *conds[AGG_FUNNEL_MAX];
	if ((rc = bind_steps(b, fname, n->args + 3, (int)ns, conds)) != 0)
		return rc;
	Expr *e = mkexpr(b, EXPR_CASE, TYPE_INT, 2 * (int)ns + 1, n->args[3]->pos);
	if (e == NULL || (e->args[2 * ns] = expr_const(b->a, value_int(TYPE_INT, -1))) == NULL)
		return nomem(b);
	for (int j = 0; j < ns; j++) {
		e->args[2 * j] = conds[j];
		if ((e->args[2 * j + 1] = expr_const(b->a, value_int(TYPE_INT, j))) == NULL)
			return nomem(b);
	}
	ag->arg2 = e;
	return 0;
}

static int
bind_func(B *b, const Ast *n, Expr **out)
{
	AggKind k;
	int rc;
	if (n->over != NULL)
		return fail(b, ERR_GROUPING, n->pos, "window functions are not allowed in %s", b->clause);
	if (agg_lookup_args(n->name, n->distinct, n->nargs, &k) != 0) {
		if (n->filter)
			return fail(b, ERR_SQL_PARSE, n->pos, "FILTER specified, but %s is not an aggregate function",
				    n->name);
		return bind_scalar(b, n, out);
	}
	if (b->in_agg)
		return fail(b, ERR_GROUPING, n->pos, "aggregate function calls cannot be nested");
	if (!b->agg_ctx)
		return fail(b, ERR_GROUPING, n->pos, "aggregate functions are not allowed in %s", b->clause);
	if (n->distinct && k != AGG_COUNT_DISTINCT)
		return fail(b, ERR_UNSUPPORTED, n->pos, "DISTINCT in %s()", n->name);
	for (int i = 0; i < b->p->nagg; i++)
		if (ast_equal(b->aast[i], n)) {
			Expr *e = expr_col(b->a, b->p->ngroup + i, b->p->aggs[i].type,
					   agg_result_mv(b->p->aggs[i].kind));
			if (e == NULL)
				return nomem(b);
			e->pos = n->pos;
			return pinot_agg_out(b, &b->p->aggs[i], e, out);
		}
	PlanAgg ag = {.kind = k};
	WbType at = TYPE_NULL;
	WbType declared = TYPE_NULL;
	if (agg_is_funnel(k)) {
		rc = k == AGG_FUNNEL_COUNT ? bind_funnel_count(b, n, &ag) : bind_funnel_window(b, n, k, &ag);
		if (rc != 0)
			return rc;
		at = ag.arg->type;
	} else if (agg_is_two_arg(k)) {
		int wt = k == AGG_LAST_WITH_TIME || k == AGG_FIRST_WITH_TIME;
		if (n->star || n->nargs < 2 || n->nargs > 2 + wt)
			return fail(b, ERR_FUNC_MISSING, n->pos, "function %s takes %s", n->name,
				    wt ? "(value, time[, 'dataType'])" : "two arguments (value, key)");
		if (n->nargs == 3) {
			const Ast *ta = n->args[2];
			if (ta->kind != AST_CONST || ta->val.null || !type_is_var(ta->val.type) ||
			    ta->val.n >= 32 || !type_name_in(ta->val.u.s, ta->val.n, &declared) ||
			    !(type_is_numeric(declared) || declared == TYPE_STRING || declared == TYPE_BOOLEAN))
				return fail(b, ERR_TYPE, ta->pos,
					    "the dataType of %s must be 'INT', 'LONG', 'FLOAT', 'DOUBLE', 'BOOLEAN' or 'STRING'",
					    n->name);
		}
		b->in_agg = 1;
		b->agg_ctx = 0;
		rc = bind_expr(b, n->args[0], &ag.arg);
		if (rc == 0)
			rc = bind_expr(b, n->args[1], &ag.arg2);
		b->in_agg = 0;
		b->agg_ctx = 1;
		if (rc != 0)
			return rc;
		if (ag.arg->mv || ag.arg2->mv)
			return fail(b, ERR_UNSUPPORTED, n->pos, "%s over a multi-value column", n->name);
		if (!type_is_numeric(ag.arg2->type) && ag.arg2->type != TYPE_TIMESTAMP &&
		    ag.arg2->type != TYPE_NULL)
			return fail(b, ERR_TYPE, n->args[1]->pos, "the %s of %s must be a number or a timestamp, not %s",
				    wt ? "time" : "key", n->name, type_name(ag.arg2->type));
		at = ag.arg->type;
		if (declared != TYPE_NULL) {
			if (type_is_var(at) != (declared == TYPE_STRING))
				return fail(b, ERR_TYPE, n->args[0]->pos, "%s: a %s value cannot be returned as %s",
					    n->name, type_name(at), type_name(declared));
			at = declared;
		}
	} else if (n->star) {
		if (k != AGG_COUNT)
			return fail(b, ERR_SQL_PARSE, n->pos, "%s(*) is not valid", n->name);
		ag.kind = AGG_COUNT_STAR;
	} else {
		int lo, hi;
		double param = 0;
		agg_const_args(k, &lo, &hi);
		if (n->nargs < 1 + lo || n->nargs > 1 + hi) {
			if (lo == 0 && hi == 0)
				return fail(b, ERR_FUNC_MISSING, n->pos, "function %s takes one argument", n->name);
			return fail(b, ERR_FUNC_MISSING, n->pos, "function %s takes a value and %d to %d constants",
				    n->name, lo, hi);
		}
		for (int i = 1; i < n->nargs; i++) {
			const Ast *pa = n->args[i];
			if (pa->kind != AST_CONST)
				return fail(b, ERR_TYPE, pa->pos, "argument %d of %s must be a constant", i + 1,
					    n->name);
			Err ce;
			err_clear(&ce);
			if (agg_const_arg(k, n->name, i, &pa->val, &param, &ce) != 0)
				return fail(b, ce.code ? ce.code : ERR_TYPE, pa->pos, "%s", ce.msg);
		}
		b->in_agg = 1;
		b->agg_ctx = 0;
		rc = bind_expr(b, n->args[0], &ag.arg);
		b->in_agg = 0;
		b->agg_ctx = 1;
		if (rc != 0)
			return rc;
		if (agg_is_mv(k) && !ag.arg->mv)
			return fail(b, ERR_TYPE, n->pos, "%s needs a multi-value column argument", n->name);
		if (ag.arg->mv && k != AGG_COUNT && !agg_is_mv(k))
			return fail(b, ERR_UNSUPPORTED, n->pos,
				    "%s over a multi-value column (use %smv)", n->name, n->name);
		at = ag.arg->type;
		if ((k == AGG_MIN || k == AGG_MAX) && type_is_var(at) && !ag.arg->mv)
			ag.kind = k == AGG_MIN ? AGG_MIN_STR : AGG_MAX_STR;
		ag.param = param;
	}
	if (n->filter) {
		/* evaluated per row, before the aggregate sees it */
		b->in_agg = 1;
		b->agg_ctx = 0;
		const char *clause = b->clause;
		b->clause = "FILTER";
		rc = bind_expr(b, n->filter, &ag.filter);
		b->clause = clause;
		b->in_agg = 0;
		b->agg_ctx = 1;
		if (rc != 0)
			return rc;
		if ((rc = check_bool(b, ag.filter, "FILTER", n->filter->pos)) != 0)
			return rc;
	}
	Err tmp;
	err_clear(&tmp);
	if (agg_result_type(ag.kind, at, &ag.type, &tmp) != 0)
		return fail(b, tmp.code, n->pos, "%s", tmp.msg);
	Plan *p = b->p;
	if (p->nagg == b->aggcap) {
		int cap = b->aggcap ? b->aggcap * 2 : 8;
		PlanAgg *na = arena_alloc(b->a, sizeof(PlanAgg) * (size_t)cap);
		Ast **nast = arena_alloc(b->a, sizeof(Ast *) * (size_t)cap);
		if (na == NULL || nast == NULL)
			return nomem(b);
		if (p->nagg) {
			memcpy(na, p->aggs, sizeof(PlanAgg) * (size_t)p->nagg);
			memcpy(nast, b->aast, sizeof(Ast *) * (size_t)p->nagg);
		}
		p->aggs = na;
		b->aast = nast;
		b->aggcap = cap;
	}
	p->aggs[p->nagg] = ag;
	b->aast[p->nagg] = (Ast *)n;
	Expr *e = expr_col(b->a, p->ngroup + p->nagg, ag.type, agg_result_mv(ag.kind));
	if (e == NULL)
		return nomem(b);
	e->pos = n->pos;
	p->nagg++;
	return pinot_agg_out(b, &p->aggs[p->nagg - 1], e, out);
}

static int
bind_expr(B *b, const Ast *n, Expr **out)
{
	int rc;
	Expr *e, *x;
	if (b->agg_ctx && !b->in_agg) {
		for (int g = 0; g < b->p->ngroup; g++)
			if (ast_equal(n, b->gast[g])) {
				e = expr_col(b->a, g, b->p->group[g]->type, 0);
				if (e == NULL)
					return nomem(b);
				e->pos = n->pos;
				*out = e;
				return 0;
			}
	}
	switch (n->kind) {
	case AST_SUBLINK:
		/* query.c runs subqueries before binding; one left here is in
		 * a place that is not searched (e.g. an aggregate's FILTER) */
		return fail(b, ERR_UNSUPPORTED, n->pos, "a subquery in this place");
	case AST_COLREF: {
		int c;
		if (b->agg_ctx && !b->in_agg) {
			if ((rc = resolve_col(b, n, &c)) != 0)
				return rc;
			return fail(b, ERR_GROUPING, n->pos,
				    "column '%s' must appear in the GROUP BY clause or be used in an aggregate function",
				    b->t->cols[c].name);
		}
		if ((rc = resolve_col(b, n, &c)) != 0)
			return rc;
		b->p->used[c] = 1;
		if (b->in_where)
			b->where_cols[c] = 1;
		e = expr_col(b->a, c, b->t->cols[c].type, b->t->cols[c].mv);
		if (e == NULL)
			return nomem(b);
		e->pos = n->pos;
		*out = e;
		return 0;
	}
	case AST_STAR:
		return fail(b, ERR_SQL_PARSE, n->pos, "* is not allowed here");
	case AST_CONST: {
		Value v;
		/* the AST's strings die with the AST: copy into the plan */
		if (value_copy(&v, &n->val, b->a) != 0 || (e = expr_const(b->a, v)) == NULL)
			return nomem(b);
		e->pos = n->pos;
		*out = e;
		return 0;
	}
	case AST_OP: {
		static const char *cmps[] = {"=", "<>", "<", "<=", ">", ">="};
		for (int i = 0; i < 6; i++)
			if (strcmp(n->name, cmps[i]) == 0) {
				Expr *l, *r;
				if ((rc = bind_expr(b, n->args[0], &l)) || (rc = bind_expr(b, n->args[1], &r)))
					return rc;
				return bind_cmp(b, EXPR_OP_EQ + i, l, r, n->pos, n->name, out);
			}
		return bind_arith(b, n, out);
	}
	case AST_AND:
	case AST_OR:
	case AST_NOT:
		e = mkexpr(b, n->kind == AST_AND ? EXPR_AND : n->kind == AST_OR ? EXPR_OR : EXPR_NOT,
			   TYPE_BOOLEAN, n->nargs, n->pos);
		if (e == NULL)
			return nomem(b);
		for (int i = 0; i < n->nargs; i++) {
			if ((rc = bind_expr(b, n->args[i], &e->args[i])) != 0)
				return rc;
			if ((rc = check_bool(b, e->args[i], n->kind == AST_AND ? "AND" : n->kind == AST_OR ? "OR" : "NOT",
					     n->args[i]->pos ? n->args[i]->pos : n->pos)) != 0)
				return rc;
		}
		*out = e;
		return 0;
	case AST_NULLTEST:
		if ((rc = bind_expr(b, n->args[0], &x)) != 0)
			return rc;
		if ((e = mkexpr(b, EXPR_ISNULL, TYPE_BOOLEAN, 1, n->pos)) == NULL)
			return nomem(b);
		e->neg = n->neg;
		e->args[0] = x;
		*out = e;
		return 0;
	case AST_IN:
	case AST_LIKE: {
		if (n->kind == AST_IN) {
			/* PostgreSQL: with a NULL in the list, a value that matches
			 * nothing gives NULL, not false.  x [NOT] IN (a, NULL) is
			 * CASE WHEN x IN (a) THEN true [false] END. */
			int nulls = 0;
			for (int i = 1; i < n->nargs; i++)
				nulls += n->args[i]->kind == AST_CONST && n->args[i]->val.null;
			if (nulls > 0) {
				if (nulls == n->nargs - 1)
					return null_bool(b, n->pos, out);
				Ast *in = arena_calloc(b->a, sizeof(Ast));
				Ast **ia = arena_calloc(b->a, sizeof(Ast *) * (size_t)(n->nargs - nulls));
				Ast *kase = arena_calloc(b->a, sizeof(Ast));
				Ast **ka = arena_calloc(b->a, sizeof(Ast *) * 4);
				Ast *res = arena_calloc(b->a, sizeof(Ast));
				if (!in || !ia || !kase || !ka || !res)
					return nomem(b);
				*in = *n;
				in->neg = 0;
				in->args = ia;
				in->nargs = 0;
				for (int i = 0; i < n->nargs; i++)
					if (i == 0 || !(n->args[i]->kind == AST_CONST && n->args[i]->val.null))
						ia[in->nargs++] = n->args[i];
				*res = (Ast){.kind = AST_CONST, .pos = n->pos};
				res->val = value_int(TYPE_BOOLEAN, n->neg ? 0 : 1);
				ka[0] = NULL;
				ka[1] = in;
				ka[2] = res;
				ka[3] = NULL;
				*kase = (Ast){.kind = AST_CASE, .pos = n->pos, .nargs = 4, .args = ka};
				return bind_expr(b, kase, out);
			}
		}
		if (n->kind == AST_LIKE && n->ilike) {
			/* x ILIKE p is lower(x) LIKE lower(p): lower() of a string
			 * column runs once per dictionary entry */
			Ast *lx = arena_calloc(b->a, sizeof(Ast)), *lp = arena_calloc(b->a, sizeof(Ast));
			Ast *like = arena_calloc(b->a, sizeof(Ast));
			Ast **ax = arena_calloc(b->a, sizeof(Ast *)), **ap = arena_calloc(b->a, sizeof(Ast *));
			Ast **al = arena_calloc(b->a, sizeof(Ast *) * 2);
			if (!lx || !lp || !like || !ax || !ap || !al)
				return nomem(b);
			*lx = (Ast){.kind = AST_FUNC, .pos = n->args[0]->pos, .name = "lower", .nargs = 1, .args = ax};
			*lp = (Ast){.kind = AST_FUNC, .pos = n->args[1]->pos, .name = "lower", .nargs = 1, .args = ap};
			ax[0] = n->args[0];
			ap[0] = n->args[1];
			al[0] = lx;
			al[1] = lp;
			*like = *n;
			like->ilike = 0;
			like->args = al;
			return bind_expr(b, like, out);
		}
		if ((rc = bind_expr(b, n->args[0], &x)) != 0)
			return rc;
		if (n->kind == AST_LIKE && !type_is_var(x->type))
			return fail(b, ERR_TYPE, n->pos, "operator does not exist: %s LIKE", type_name(x->type));
		e = mkexpr(b, n->kind == AST_IN ? EXPR_IN : EXPR_LIKE, TYPE_BOOLEAN, n->nargs, n->pos);
		if (e == NULL)
			return nomem(b);
		e->neg = n->neg;
		e->args[0] = x;
		for (int i = 1; i < n->nargs; i++) {
			Expr *c;
			int p = n->args[i]->pos ? n->args[i]->pos : n->pos;
			if ((rc = bind_expr(b, n->args[i], &c)) != 0)
				return rc;
			if (c->kind != EXPR_CONST)
				return fail(b, ERR_UNSUPPORTED, p, "%s with a non-constant",
					    n->kind == AST_IN ? "IN list" : "LIKE pattern");
			if (!c->val.null) {
				if (type_is_var(x->type) != type_is_var(c->type)) {
					if (!is_lit_string(c))
						return fail(b, ERR_TYPE, p, "%s %s: cannot compare %s with %s",
							    n->kind == AST_IN ? "IN" : "LIKE", "list",
							    type_name(x->type), type_name(c->type));
					if ((rc = coerce_const(b, c, x->type == TYPE_INT && !param_mark(&c->val) ? TYPE_LONG : x->type, p)) != 0)
						return rc;
				}
			}
			e->args[i] = c;
		}
		if (n->kind == AST_LIKE && e->args[1]->val.null)
			return null_bool(b, n->pos, out);
		*out = e;
		return 0;
	}
	case AST_BETWEEN: {
		Expr *s, *lo, *hi, *c1, *c2;
		if ((rc = bind_expr(b, n->args[0], &s)) || (rc = bind_expr(b, n->args[1], &lo)) ||
		    (rc = bind_expr(b, n->args[2], &hi)))
			return rc;
		if ((rc = bind_cmp(b, EXPR_OP_GE, s, lo, n->pos, ">=", &c1)) ||
		    (rc = bind_cmp(b, EXPR_OP_LE, s, hi, n->pos, "<=", &c2)))
			return rc;
		if ((e = mkexpr(b, EXPR_AND, TYPE_BOOLEAN, 2, n->pos)) == NULL)
			return nomem(b);
		e->args[0] = c1;
		e->args[1] = c2;
		if (n->neg) {
			if ((x = mkexpr(b, EXPR_NOT, TYPE_BOOLEAN, 1, n->pos)) == NULL)
				return nomem(b);
			x->args[0] = e;
			e = x;
		}
		*out = e;
		return 0;
	}
	case AST_FUNC:
		return bind_func(b, n, out);
	case AST_CASE:
		return bind_case(b, n, out);
	case AST_CAST: {
		WbType t;
		if (strcmp(n->name, "interval") == 0)
			return bind_interval(b, n, out);
		if (bind_type_name(n->name, &t) != 0)
			return fail(b, ERR_TYPE, n->pos, "type \"%s\" does not exist", n->name);
		if ((rc = bind_expr(b, n->args[0], &x)) != 0)
			return rc;
		if (x->mv && t == TYPE_STRING) {
			/* array::text: PostgreSQL's forms, '1 2 3' for integer
			 * vectors (int2vector, what catalogs cast), '{a,b}' else */
			int ints = type_is_integer(x->type);
			Ast *sep = arena_calloc(b->a, sizeof(Ast)), *call = arena_calloc(b->a, sizeof(Ast));
			Ast **args = arena_calloc(b->a, sizeof(Ast *) * 3);
			if (sep == NULL || call == NULL || args == NULL)
				return nomem(b);
			sep->kind = AST_CONST;
			sep->val = value_str(TYPE_STRING, ints ? " " : ",", 1);
			sep->lit_string = 1;
			args[0] = n->args[0];
			args[1] = sep;
			*call = (Ast){.kind = AST_FUNC, .pos = n->pos, .name = "array_to_string", .nargs = 2, .args = args};
			if (!ints) {
				Ast *l = arena_calloc(b->a, sizeof(Ast)), *r = arena_calloc(b->a, sizeof(Ast));
				Ast *cc = arena_calloc(b->a, sizeof(Ast));
				if (l == NULL || r == NULL || cc == NULL)
					return nomem(b);
				*l = (Ast){.kind = AST_CONST, .val = value_str(TYPE_STRING, "{", 1), .lit_string = 1};
				*r = (Ast){.kind = AST_CONST, .val = value_str(TYPE_STRING, "}", 1), .lit_string = 1};
				args[0] = l;
				args[1] = call;
				args[2] = r;
				call = arena_calloc(b->a, sizeof(Ast));
				Ast **a2 = arena_calloc(b->a, sizeof(Ast *) * 2);
				if (call == NULL || a2 == NULL)
					return nomem(b);
				a2[0] = n->args[0];
				a2[1] = sep;
				args[1] = arena_calloc(b->a, sizeof(Ast));
				if (args[1] == NULL)
					return nomem(b);
				*args[1] = (Ast){.kind = AST_FUNC, .pos = n->pos, .name = "array_to_string", .nargs = 2,
						 .args = a2};
				*cc = (Ast){.kind = AST_FUNC, .pos = n->pos, .name = "concat", .nargs = 3, .args = args};
				call = cc;
			}
			return bind_expr(b, call, out);
		}
		if ((rc = check_scalar(b, x, n->pos)) != 0)
			return rc;
		if (x->kind == EXPR_CONST) {
			if ((rc = coerce_const(b, x, t, n->args[0]->pos ? n->args[0]->pos : n->pos)) != 0)
				return rc;
			*out = x;
			return 0;
		}
		if ((e = mkexpr(b, EXPR_CAST, t, 1, n->pos)) == NULL)
			return nomem(b);
		e->args[0] = x;
		*out = e;
		return 0;
	}
	}
	return fail(b, ERR_INTERNAL, n->pos, "unknown syntax node");
}

/*
 * The output name of an unaliased function call, as Pinot's broker names
 * it so that Pinot clients find their columns: the lowercased function
 * name and its arguments, "count(*)", "sum(games)",
 * "distinctcount(team)" (COUNT(DISTINCT x) is "distinctcount(x)").
 * Arguments that are not plain columns, * or constants fall back to the
 * bare function name.
 */
/* The SQL type name Pinot's parser (Calcite) prints in a CAST. */
static const char *
calcite_type_name(WbType t)
{
	switch (t) {
	case TYPE_INT: return "INTEGER";
	case TYPE_LONG: return "BIGINT";
	case TYPE_FLOAT: return "FLOAT";
	case TYPE_DOUBLE: return "DOUBLE";
	case TYPE_BOOLEAN: return "BOOLEAN";
	case TYPE_TIMESTAMP: return "TIMESTAMP";
	case TYPE_JSON: return "JSON";
	case TYPE_BYTES: return "VARBINARY";
	default: return "VARCHAR";
	}
}

/* A number as Java's Double.toString writes it for ordinary magnitudes:
 * "80.0", "99.9" (the shortest text that reads back the same). */
static void
java_double(double d, char *out, size_t cap)
{
	if (d == (double)(int64_t)d && d > -1e7 && d < 1e7) {
		snprintf(out, cap, "%.1f", d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* Pinot's canonical text of a scalar expression: name(arg,arg) with no
 * spaces and literals quoted, "add(a,sub(b,'3'))"; -1 if e has a part
 * Pinot would print differently (operators, CASE, ...). */
static int
scalar_name(B *b, const Ast *n, Buf *o, int depth)
{
	AggKind k;
	if (depth > 32)
		return -1;
	switch (n->kind) {
	case AST_COLREF: {
		int c;
		Err save = *b->e;
		if (b->t != NULL && resolve_col(b, n, &c) == 0)
			buf_puts(o, b->t->cols[c].name);
		else {
			*b->e = save;
			buf_puts(o, n->name);
		}
		return 0;
	}
	case AST_CONST:
		if (n->val.null)
			return -1;
		buf_putc(o, '\'');
		value_format(&n->val, o);
		buf_putc(o, '\'');
		return 0;
	case AST_CAST: {
		WbType t;
		if (!b->pinot || bind_type_name(n->name, &t) != 0)
			return -1;
		buf_puts(o, "cast(");
		if (scalar_name(b, n->args[0], o, depth + 1) != 0)
			return -1;
		buf_printf(o, ",'%s')", calcite_type_name(t));
		return 0;
	}
	case AST_FUNC:
		if (agg_lookup_args(n->name, n->distinct, n->nargs, &k) == 0 || n->star || n->distinct)
			return -1;
		buf_puts(o, n->name);
		buf_putc(o, '(');
		for (int i = 0; i < n->nargs; i++) {
			if (i)
				buf_putc(o, ',');
			if (scalar_name(b, n->args[i], o, depth + 1) != 0)
				return -1;
		}
		buf_putc(o, ')');
		return 0;
	default:
		return -1;
	}
}

/*
 * The output name of an unaliased function call, as Pinot's broker names
 * it so that Pinot clients find their columns: the lowercased function
 * name and its arguments, "count(*)", "sum(games)",
 * "distinctcount(team)" (COUNT(DISTINCT x) is "distinctcount(x)"); a
 * scalar function in Pinot's canonical form, "upper(name)",
 * "add(a,sub(b,'3'))".  Anything else falls back to the bare function
 * name, as PostgreSQL names it.
 */
static const char *
pinot_func_name(B *b, const Ast *n)
{
	char buf[512];
	size_t o = 0;
	AggKind k;
	if (agg_lookup_args(n->name, n->distinct, n->nargs, &k) != 0) {
		Buf sb;
		buf_init(&sb);
		const char *r = n->name;
		if (scalar_name(b, n, &sb, 0) == 0 && !sb.oom && sb.len < 512) {
			const char *d = arena_strndup(b->a, sb.p, sb.len);
			if (d != NULL)
				r = d;
		}
		buf_free(&sb);
		return r;
	}
	int distinct = n->distinct && strcmp(n->name, "count") == 0;
	/* Pinot's dialect: COUNT(x) is COUNT(*) (no NULLs without null
	 * handling) and a percentile is printed as a double, "80.0" */
	if (b->pinot && k == AGG_COUNT && !distinct)
		return "count(*)";
	int dparam = b->pinot && agg_func(k)->setparam != NULL;
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s(", distinct ? "distinctcount" : n->name);
	if (n->star)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "*");
	for (int i = 0; i < n->nargs && o < sizeof(buf); i++) {
		const Ast *a = n->args[i];
		const char *sep = i ? ", " : "";
		if (a->kind == AST_COLREF) {
			int c;
			Err save = *b->e;
			const char *nm = a->name;
			if (resolve_col(b, a, &c) == 0)
				nm = b->t->cols[c].name;
			else
				*b->e = save;
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", sep, nm);
		} else if (a->kind == AST_STAR) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s*", sep);
		} else if (a->kind == AST_CONST && !a->val.null && dparam && i == 1 &&
			   type_is_numeric((WbType)a->val.type)) {
			char num[64];
			java_double(type_is_float((WbType)a->val.type) ? a->val.u.d : (double)a->val.u.i, num,
				    sizeof(num));
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", sep, num);
		} else if (a->kind == AST_CONST && !a->val.null) {
			Buf vb;
			buf_init(&vb);
			value_format(&a->val, &vb);
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", sep, vb.p ? vb.p : "");
			buf_free(&vb);
		} else if (a->kind == AST_FUNC) {
			Buf vb;
			buf_init(&vb);
			int ok = scalar_name(b, a, &vb, 0) == 0 && !vb.oom;
			if (ok)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%.*s", sep, (int)vb.len, vb.p);
			buf_free(&vb);
			if (!ok)
				return n->name;
		} else {
			return n->name;
		}
	}
	if (o + 2 > sizeof(buf))
		return n->name;
	buf[o++] = ')';
	buf[o] = '\0';
	const char *r = arena_strdup(b->a, buf);
	return r ? r : n->name;
}

static const char *
target_name(B *b, const AstTarget *t)
{
	const Ast *n = t->expr;
	if (t->alias)
		return t->alias;
	if (n->kind == AST_COLREF) {
		int c;
		Err save = *b->e;
		if (resolve_col(b, n, &c) == 0)
			return b->t->cols[c].name;
		*b->e = save;
		return n->name;
	}
	if (n->kind == AST_FUNC)
		return pinot_func_name(b, n);
	if (n->kind == AST_CASE)
		return "case";
	if (n->kind == AST_CAST) {
		if (b->pinot) {
			Buf sb;
			buf_init(&sb);
			const char *r = NULL;
			if (scalar_name(b, n, &sb, 0) == 0 && !sb.oom)
				r = arena_strndup(b->a, sb.p, sb.len);
			buf_free(&sb);
			if (r != NULL)
				return r;
		}
		if (n->args[0]->kind == AST_COLREF)
			return n->args[0]->name;
		return n->name;
	}
	return "?column?";
}

static int
const_limit(B *b, const Ast *n, const char *what, int64_t *out)
{
	if (n->kind != AST_CONST)
		return fail(b, ERR_UNSUPPORTED, n->pos, "%s must be a constant", what);
	if (n->val.null) {
		*out = -1;
		return 0;
	}
	if (!type_is_integer((WbType)n->val.type) || n->val.u.i < 0)
		return fail(b, ERR_SQL_PARSE, n->pos, "%s must be a non-negative integer", what);
	*out = n->val.u.i;
	return 0;
}

/* GROUP BY / ORDER BY item referring to a select item by number or alias:
 * returns its index, -1 if it is an ordinary expression. */
static int
target_ref(B *b, const Ast *n, int ntargets, const AstTarget *targets, int alias_first, int *idx)
{
	*idx = -1;
	if (n->kind == AST_CONST && !n->val.null && type_is_integer((WbType)n->val.type) &&
	    n->val.type != TYPE_BOOLEAN) {
		if (n->val.u.i < 1 || n->val.u.i > ntargets)
			return fail(b, ERR_SQL_PARSE, n->pos, "position %lld is not in select list",
				    (long long)n->val.u.i);
		*idx = (int)n->val.u.i - 1;
		return 0;
	}
	if (n->kind == AST_COLREF && n->qual == NULL) {
		if (!alias_first) {
			int c;
			Err save = *b->e;
			if (b->t != NULL && resolve_col(b, n, &c) == 0)
				return 0;
			*b->e = save;
		}
		for (int i = 0; i < ntargets; i++) {
			const char *nm = targets[i].alias;
			if (nm && (n->quoted ? strcmp(nm, n->name) == 0 : strcasecmp(nm, n->name) == 0)) {
				*idx = i;
				return 0;
			}
		}
	}
	return 0;
}

static int
apply_options(B *b, const AstSelect *q)
{
	Plan *p = b->p;
	p->set_timeout_ms = -1;
	p->set_max_rows = -1;
	p->set_max_groups = -1;
	p->set_pinot_limit = -1;
	p->set_skip_upsert = -1;
	for (int i = 0; i < q->noptions; i++) {
		const AstOption *o = &q->options[i];
		int64_t iv = 0;
		if (!o->val.null && type_is_integer((WbType)o->val.type))
			iv = o->val.u.i;
		else if (!o->val.null && type_is_var((WbType)o->val.type))
			iv = (o->val.n == 4 && strncasecmp(o->val.u.s, "true", 4) == 0) ? 1 : atoll(o->val.u.s);
		if (strcasecmp(o->name, "timeoutms") == 0)
			p->set_timeout_ms = iv;
		else if (strcasecmp(o->name, "maxrows") == 0)
			p->set_max_rows = iv;
		else if (strcasecmp(o->name, "numgroupslimit") == 0 || strcasecmp(o->name, "maxgroups") == 0)
			p->set_max_groups = iv;
		else if (strcasecmp(o->name, "pinotdefaultlimit") == 0)
			p->set_pinot_limit = iv != 0;
		else if (strcasecmp(o->name, "skipupsert") == 0)
			p->set_skip_upsert = iv != 0;
	}
	return 0;
}

int
bind_select(const AstSelect *q, const BindTable *t, int pinot_limit, Plan **out, Err *e)
{
	Plan *p = mem_calloc(1, sizeof(Plan));
	if (p == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	arena_init(&p->arena, 8192);
	B bb = {.p = p, .q = q, .t = t, .e = e, .a = &p->arena, .clause = "WHERE"};
	B *b = &bb;
	int rc = 0;
	int nt = 0;
	AstTarget *targets = NULL;

	p->limit = -1;
	p->explain = q->explain;
	apply_options(b, q);
	/* Pinot's implicit LIMIT asks for Pinot's conventions altogether:
	 * aggregate result types, column names, IEEE math, SUBSTR */
	b->pinot = p->set_pinot_limit >= 0 ? (int)p->set_pinot_limit : pinot_limit != 0;
	if (t != NULL) {
		p->table = arena_strdup(b->a, t->name);
		p->tab = *t;
		p->used = arena_calloc(b->a, (size_t)t->ncols + 1);
		b->where_cols = arena_calloc(b->a, (size_t)t->ncols + 1);
		if (p->table == NULL || p->used == NULL || b->where_cols == NULL) {
			rc = nomem(b);
			goto out;
		}
	}
	/* expand * */
	for (int i = 0; i < q->ntargets; i++)
		nt += q->targets[i].expr->kind == AST_STAR ? (t ? t->ncols : 0) : 1;
	targets = arena_calloc(b->a, sizeof(AstTarget) * (size_t)(nt + 1));
	if (targets == NULL) {
		rc = nomem(b);
		goto out;
	}
	nt = 0;
	for (int i = 0; i < q->ntargets; i++) {
		const AstTarget *tg = &q->targets[i];
		if (tg->expr->kind != AST_STAR) {
			targets[nt++] = *tg;
			continue;
		}
		if (t == NULL) {
			rc = fail(b, ERR_SQL_PARSE, tg->expr->pos, "SELECT * with no tables specified is not valid");
			goto out;
		}
		for (int c = 0; c < t->ncols; c++) {
			Ast *cr = arena_calloc(b->a, sizeof(Ast));
			if (cr == NULL) {
				rc = nomem(b);
				goto out;
			}
			cr->kind = AST_COLREF;
			cr->name = t->cols[c].name;
			cr->quoted = 1;
			cr->star = c + 1;	/* by position: names may repeat */
			cr->pos = tg->expr->pos;
			targets[nt].expr = cr;
			targets[nt].pos = tg->pos;
			nt++;
		}
	}

	int has_agg = q->having != NULL || q->ngroup > 0 || q->distinct;
	for (int i = 0; i < nt && !has_agg; i++)
		has_agg = ast_has_agg(targets[i].expr);
	for (int i = 0; i < q->norder && !has_agg; i++)
		has_agg = ast_has_agg(q->order[i].expr);
	p->is_agg = has_agg;

	if (q->where) {
		b->in_where = 1;
		rc = bind_expr(b, q->where, &p->where);
		b->in_where = 0;
		if (rc || (rc = check_bool(b, p->where, "WHERE", q->where->pos)))
			goto out;
		for (int c = 0; t && c < t->ncols; c++)
			p->nfilter_cols += b->where_cols[c];
	}

	/* GROUP BY (or DISTINCT) keys, bound below the aggregation */
	b->clause = "GROUP BY";
	int ng = q->distinct && q->ngroup == 0 ? nt : q->ngroup;
	b->gast = arena_calloc(b->a, sizeof(Ast *) * (size_t)(ng + 1));
	p->group = arena_calloc(b->a, sizeof(Expr *) * (size_t)(ng + 1));
	if (b->gast == NULL || p->group == NULL) {
		rc = nomem(b);
		goto out;
	}
	for (int g = 0; g < ng; g++) {
		const Ast *n;
		if (q->distinct && q->ngroup == 0) {
			n = targets[g].expr;
		} else {
			int idx;
			if ((rc = target_ref(b, q->group[g], nt, targets, 0, &idx)) != 0)
				goto out;
			n = idx >= 0 ? targets[idx].expr : q->group[g];
		}
		if (ast_has_agg(n)) {
			rc = fail(b, ERR_GROUPING, n->pos, "aggregate functions are not allowed in GROUP BY");
			goto out;
		}
		if ((rc = bind_expr(b, n, &p->group[g])) != 0)
			goto out;
		if (p->group[g]->mv && p->group[g]->kind != EXPR_COL && p->group[g]->kind != EXPR_FUNC) {
			rc = fail(b, ERR_UNSUPPORTED, n->pos, "GROUP BY a multi-value expression");
			goto out;
		}
		b->gast[g] = (Ast *)n;
		p->ngroup = g + 1;
	}

	/* select list */
	b->agg_ctx = p->is_agg;
	b->clause = "this context";
	p->nout = nt;
	p->out = arena_calloc(b->a, sizeof(Expr *) * (size_t)(nt + 1));
	p->names = arena_calloc(b->a, sizeof(char *) * (size_t)(nt + 1));
	if (p->out == NULL || p->names == NULL) {
		rc = nomem(b);
		goto out;
	}
	for (int i = 0; i < nt; i++) {
		if ((rc = bind_expr(b, targets[i].expr, &p->out[i])) != 0)
			goto out;
		p->names[i] = arena_strdup(b->a, target_name(b, &targets[i]));
	}
	if (q->having) {
		if ((rc = bind_expr(b, q->having, &p->having)) != 0 ||
		    (rc = check_bool(b, p->having, "HAVING", q->having->pos)) != 0)
			goto out;
	}
	if (q->norder > 0) {
		p->norder = q->norder;
		p->order = arena_calloc(b->a, sizeof(Expr *) * (size_t)q->norder);
		p->desc = arena_calloc(b->a, (size_t)q->norder);
		p->nulls_first = arena_calloc(b->a, (size_t)q->norder);
		if (p->order == NULL || p->desc == NULL || p->nulls_first == NULL) {
			rc = nomem(b);
			goto out;
		}
		for (int i = 0; i < q->norder; i++) {
			const AstOrder *o = &q->order[i];
			int idx;
			if ((rc = target_ref(b, o->expr, nt, targets, 1, &idx)) != 0)
				goto out;
			if (idx >= 0)
				p->order[i] = p->out[idx];
			else if ((rc = bind_expr(b, o->expr, &p->order[i])) != 0)
				goto out;
			if (p->order[i]->mv) {
				rc = fail(b, ERR_UNSUPPORTED, o->expr->pos, "ORDER BY a multi-value column");
				goto out;
			}
			p->desc[i] = (uint8_t)o->desc;
			/* PostgreSQL: NULLS LAST for ASC, FIRST for DESC */
			p->nulls_first[i] = (uint8_t)(o->nulls == 1 || (o->nulls == 0 && o->desc));
		}
	}
	if (q->limit && (rc = const_limit(b, q->limit, "LIMIT", &p->limit)) != 0)
		goto out;
	if (q->offset && (rc = const_limit(b, q->offset, "OFFSET", &p->offset)) != 0)
		goto out;
	if (p->offset < 0)
		p->offset = 0;
	int implicit = pinot_limit == 1;
	if (p->set_pinot_limit >= 0 && pinot_limit != 2)
		implicit = p->set_pinot_limit != 0;
	if (q->limit == NULL && implicit)
		p->limit = 10;

	int next = 0;
	expr_number(p->where, &next);
	for (int g = 0; g < p->ngroup; g++)
		expr_number(p->group[g], &next);
	for (int i = 0; i < p->nagg; i++) {
		expr_number(p->aggs[i].arg, &next);
		expr_number(p->aggs[i].arg2, &next);
		expr_number(p->aggs[i].filter, &next);
	}
	expr_number(p->having, &next);
	for (int i = 0; i < p->nout; i++)
		expr_number(p->out[i], &next);
	for (int i = 0; i < p->norder; i++)
		expr_number(p->order[i], &next);
	p->nnodes = next;
out:
	if (rc != 0) {
		bind_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void
bind_free(Plan *p)
{
	if (p == NULL)
		return;
	arena_free(&p->arena);
	mem_free(p);
}
