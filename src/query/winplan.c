/*
 * winplan.c -- window functions in a SELECT: split the statement around
 * them, then compute them over the inner statement's rows.
 *
 * SQL evaluates window functions after WHERE, GROUP BY and HAVING and
 * before DISTINCT, ORDER BY and LIMIT.  winplan_split therefore builds:
 *
 *   inner: SELECT <the select items without window functions, in their
 *          places (a window item leaves a NULL placeholder, so ordinals
 *          and aliases in GROUP BY keep their meaning)>, <every window
 *          argument, PARTITION BY and ORDER BY expression>, <the largest
 *          window-free parts of the expressions around window calls and
 *          of ORDER BY> FROM ... WHERE ... GROUP BY ... HAVING ...
 *   outer: SELECT [DISTINCT] <the items over inner columns __wK and
 *          window columns __xJ> ORDER BY ... LIMIT ... OFFSET ...
 *
 * A window-free select item goes to the inner statement whole and keeps
 * the name the inner binder gives it; constants stay in the outer one.
 * ORDER BY items naming a select item (alias or ordinal) use that item's
 * outer expression.  One * is allowed among the select items: it expands
 * in the inner statement, and in the outer one to the columns it gave.
 *
 * winplan_apply maps inner target numbers to result columns, copies the
 * inner rows with room for one value per window function, computes each
 * with window_compute, and fills the outer statement.  Everything of the
 * split lives in the caller's arena; the extended ResultSet is the
 * caller's.
 *
 * Exports: winplan_split, winplan_apply.
 */
#include "query/winplan.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "query/agg.h"
#include "query/bind.h"

typedef struct Split {
	const AstSelect *q;
	Arena *a;
	Err *e;
	WinPlan *wp;
	AstTarget *in;		/* inner targets */
	int nin, capin;
	int capcalls;
} Split;

static int
fail(Split *s, int code, int pos, const char *fmt, const char *arg)
{
	int rc = err_set(s->e, code, fmt, arg, pos);
	if (s->e)
		s->e->pos = pos;
	return rc;
}

static int
nomem(Split *s)
{
	return err_set(s->e, ERR_NOMEM, "out of memory");
}

static int
has_window(const Ast *n)
{
	if (n == NULL)
		return 0;
	if (n->kind == AST_FUNC && n->over != NULL)
		return 1;
	for (int i = 0; i < n->nargs; i++)
		if (has_window(n->args[i]))
			return 1;
	return has_window(n->filter);
}

static int
grow_in(Split *s)
{
	if (s->nin < s->capin)
		return 0;
	int cap = s->capin ? s->capin * 2 : 16;
	AstTarget *t = arena_calloc(s->a, sizeof(AstTarget) * (size_t)cap);
	if (t == NULL)
		return nomem(s);
	if (s->nin)
		memcpy(t, s->in, sizeof(AstTarget) * (size_t)s->nin);
	s->in = t;
	s->capin = cap;
	return 0;
}

static const char *
inner_name(Arena *a, int k)
{
	return arena_printf(a, "__w%d", k);
}

/* Adds expr as an inner target (reusing an equal one when dedupe) and
 * returns its index, or a negative error.  A select item keeps the
 * user's alias, or none, so the inner binder names it as the user's
 * statement would (whole = 1); the others are named __wK. */
static int
add_inner_as(Split *s, Ast *expr, const char *alias, int dedupe, int whole)
{
	if (dedupe)
		for (int i = 0; i < s->nin; i++)
			if (s->in[i].expr && i != s->wp->star && bind_ast_equal(s->in[i].expr, expr))
				return i;
	int rc = grow_in(s);
	if (rc != 0)
		return rc;
	s->in[s->nin] = (AstTarget){expr, alias || whole ? alias : inner_name(s->a, s->nin), expr ? expr->pos : 0};
	if (s->in[s->nin].alias == NULL && !whole)
		return nomem(s);
	return s->nin++;
}

static int
add_inner(Split *s, Ast *expr, const char *alias, int dedupe)
{
	return add_inner_as(s, expr, alias, dedupe, 0);
}

static Ast *
colref(Split *s, const char *name, int pos)
{
	Ast *n = arena_calloc(s->a, sizeof(Ast));
	if (n == NULL)
		return NULL;
	n->kind = AST_COLREF;
	n->name = name;
	n->quoted = 1;
	n->pos = pos;
	return n;
}

typedef struct FnName {
	const char *name;
	WinFn fn;
	int nargs_min, nargs_max;	/* star: COUNT(*) */
} FnName;

static const FnName fns[] = {
	{"row_number", WIN_ROW_NUMBER, 0, 0}, {"rank", WIN_RANK, 0, 0},
	{"dense_rank", WIN_DENSE_RANK, 0, 0}, {"percent_rank", WIN_PERCENT_RANK, 0, 0},
	{"cume_dist", WIN_CUME_DIST, 0, 0}, {"ntile", WIN_NTILE, 1, 1},
	{"lag", WIN_LAG, 1, 3}, {"lead", WIN_LEAD, 1, 3},
	{"first_value", WIN_FIRST_VALUE, 1, 1}, {"last_value", WIN_LAST_VALUE, 1, 1},
	{"nth_value", WIN_NTH_VALUE, 2, 2}, {"count", WIN_COUNT, 1, 1},
	{"sum", WIN_SUM, 1, 1}, {"avg", WIN_AVG, 1, 1}, {"min", WIN_MIN, 1, 1},
	{"max", WIN_MAX, 1, 1}, {"bool_and", WIN_BOOL_AND, 1, 1}, {"every", WIN_BOOL_AND, 1, 1},
	{"bool_or", WIN_BOOL_OR, 1, 1},
};

/* A constant integer argument (ntile's n, lag's offset, nth_value's n). */
static int
const_int(Split *s, const Ast *n, const char *fn, int64_t min, int64_t *out)
{
	if (n->kind != AST_CONST || n->val.null || !type_is_integer((WbType)n->val.type) || n->val.u.i < min)
		return fail(s, ERR_TYPE, n->pos,
			    min > 0 ? "the argument of %s must be a positive integer constant (at position %d)"
				    : "the offset of %s must be an integer constant (at position %d)",
			    fn);
	*out = n->val.u.i;
	return 0;
}

static int
frame_of(Split *s, const AstWindow *w, WinFrame *f)
{
	int o = w->frame_options;
	f->given = (o & AST_FRAME_NONDEFAULT) != 0;
	f->rows = (o & AST_FRAME_ROWS) != 0;
	const Ast *offs[2] = {w->start_off, w->end_off};
	int64_t *dst[2] = {&f->start_off, &f->end_off};
	for (int i = 0; i < 2; i++) {
		const Ast *n = offs[i];
		if (n == NULL)
			continue;
		if (n->kind != AST_CONST || n->val.null || !type_is_integer((WbType)n->val.type) || n->val.u.i < 0)
			return fail(s, ERR_UNSUPPORTED, n->pos ? n->pos : w->pos,
				    "a window frame offset must be a non-negative integer constant%s (at position %d)",
				    "");
		*dst[i] = n->val.u.i;
	}
	f->exclude = o & AST_FRAME_EXCLUDE_CURRENT_ROW ? WINX_CURRENT_ROW
		   : o & AST_FRAME_EXCLUDE_GROUP ? WINX_GROUP
		   : o & AST_FRAME_EXCLUDE_TIES ? WINX_TIES : WINX_NO_OTHERS;
	f->start = o & AST_FRAME_START_UNBOUNDED_PRECEDING ? WINB_UNBOUNDED_PRECEDING
		 : o & AST_FRAME_START_OFFSET_PRECEDING ? WINB_PRECEDING
		 : o & AST_FRAME_START_OFFSET_FOLLOWING ? WINB_FOLLOWING
		 : o & AST_FRAME_START_UNBOUNDED_FOLLOWING ? WINB_UNBOUNDED_FOLLOWING : WINB_CURRENT_ROW;
	f->end = o & AST_FRAME_END_UNBOUNDED_FOLLOWING ? WINB_UNBOUNDED_FOLLOWING
	       : o & AST_FRAME_END_OFFSET_PRECEDING ? WINB_PRECEDING
	       : o & AST_FRAME_END_OFFSET_FOLLOWING ? WINB_FOLLOWING
	       : o & AST_FRAME_END_UNBOUNDED_PRECEDING ? WINB_UNBOUNDED_PRECEDING : WINB_CURRENT_ROW;
	return 0;
}

/* A window-free expression used by a window (argument, PARTITION BY or
 * ORDER BY key) becomes an inner target. */
static int
window_input(Split *s, Ast *n, const char *what)
{
	if (has_window(n))
		return fail(s, ERR_GROUPING, n->pos, "window function calls cannot be nested (in %s at position %d)",
			    what);
	return add_inner(s, n, NULL, 1);
}

/* Registers the window call n; *out names its result column. */
static int
add_call(Split *s, Ast *n, Ast **out)
{
	WinPlan *wp = s->wp;
	const FnName *f = NULL;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]) && f == NULL; i++)
		if (strcmp(fns[i].name, n->name) == 0)
			f = &fns[i];
	if (f == NULL)
		return fail(s, ERR_FUNC_MISSING, n->pos, "%s is not a window function (at position %d)", n->name);
	if (n->distinct)
		return fail(s, ERR_UNSUPPORTED, n->pos, "DISTINCT in the window function %s (at position %d)",
			    n->name);
	if (wp->ncalls >= s->capcalls) {
		int cap = s->capcalls ? s->capcalls * 2 : 8;
		WinCall *c = arena_calloc(s->a, sizeof(WinCall) * (size_t)cap);
		if (c == NULL)
			return nomem(s);
		if (wp->ncalls)
			memcpy(c, wp->calls, sizeof(WinCall) * (size_t)wp->ncalls);
		wp->calls = c;
		s->capcalls = cap;
	}
	WinCall *c = &wp->calls[wp->ncalls];
	memset(c, 0, sizeof(*c));
	c->call = n;
	c->arg = -1;
	WinSpec *w = &c->spec;
	w->fn = f->fn;
	w->arg = -1;
	w->dflt = value_null(TYPE_NULL);
	if (n->star) {
		if (f->fn != WIN_COUNT)
			return fail(s, ERR_SQL_PARSE, n->pos, "%s(*) is not valid (at position %d)", n->name);
		w->fn = WIN_COUNT_STAR;
	} else if (n->nargs < f->nargs_min || n->nargs > f->nargs_max) {
		return fail(s, ERR_FUNC_MISSING, n->pos,
			    "window function %s called with the wrong number of arguments (at position %d)", n->name);
	}
	int rc;
	switch (w->fn) {
	case WIN_NTILE:
		if ((rc = const_int(s, n->args[0], n->name, 1, &w->param)) != 0)
			return rc;
		break;
	case WIN_NTH_VALUE:
		if ((rc = const_int(s, n->args[1], n->name, 1, &w->param)) != 0)
			return rc;
		break;
	case WIN_LAG:
	case WIN_LEAD:
		w->param = 1;
		if (n->nargs > 1 && (rc = const_int(s, n->args[1], n->name, INT64_MIN, &w->param)) != 0)
			return rc;
		if (n->nargs > 2) {
			if (n->args[2]->kind != AST_CONST)
				return fail(s, ERR_UNSUPPORTED, n->args[2]->pos,
					    "the default of %s must be a constant (at position %d)", n->name);
			w->dflt = n->args[2]->val;
		}
		break;
	default:
		break;
	}
	if (f->nargs_min > 0 && w->fn != WIN_NTILE && w->fn != WIN_COUNT_STAR) {
		if ((rc = window_input(s, n->args[0], n->name)) < 0)
			return rc;
		c->arg = rc;
	}
	const AstWindow *ow = n->over;
	w->npart = ow->npart;
	w->norder = ow->norder;
	c->part = arena_calloc(s->a, sizeof(int) * (size_t)(ow->npart + 1));
	c->order = arena_calloc(s->a, sizeof(int) * (size_t)(ow->norder + 1));
	int *desc = arena_calloc(s->a, sizeof(int) * (size_t)(ow->norder + 1));
	int *nf = arena_calloc(s->a, sizeof(int) * (size_t)(ow->norder + 1));
	if (c->part == NULL || c->order == NULL || desc == NULL || nf == NULL)
		return nomem(s);
	for (int i = 0; i < ow->npart; i++) {
		if ((rc = window_input(s, ow->part[i], "PARTITION BY")) < 0)
			return rc;
		c->part[i] = rc;
	}
	for (int i = 0; i < ow->norder; i++) {
		if ((rc = window_input(s, ow->order[i].expr, "a window's ORDER BY")) < 0)
			return rc;
		c->order[i] = rc;
		desc[i] = ow->order[i].desc;
		nf[i] = ow->order[i].nulls == 1 || (ow->order[i].nulls == 0 && ow->order[i].desc);
	}
	w->desc = desc;
	w->nulls_first = nf;
	if ((rc = frame_of(s, ow, &w->frame)) != 0)
		return rc;
	const char *name = arena_printf(s->a, "__x%d", wp->ncalls);
	if (name == NULL || (*out = colref(s, name, n->pos)) == NULL)
		return nomem(s);
	wp->ncalls++;
	return 0;
}

/* The outer form of n: window calls become their result columns, the
 * largest window-free parts inner targets (constants stay). */
static int
lift(Split *s, Ast *n, Ast **out)
{
	AggKind k;
	int rc;
	if (n == NULL) {
		*out = NULL;
		return 0;
	}
	if (!has_window(n)) {
		if (n->kind == AST_CONST) {
			*out = n;
			return 0;
		}
		if ((rc = add_inner(s, n, NULL, 1)) < 0)
			return rc;
		if ((*out = colref(s, inner_name(s->a, rc), n->pos)) == NULL)
			return nomem(s);
		return 0;
	}
	if (n->kind == AST_FUNC && n->over != NULL)
		return add_call(s, n, out);
	if (n->kind == AST_FUNC && agg_lookup_args(n->name, n->distinct, n->nargs, &k) == 0)
		return fail(s, ERR_GROUPING, n->pos,
			    "aggregate function calls cannot contain window function calls (%s at position %d)",
			    n->name);
	if (n->filter != NULL && has_window(n->filter))
		return fail(s, ERR_GROUPING, n->pos, "window functions are not allowed in FILTER%s (at position %d)",
			    "");
	Ast *c = arena_alloc(s->a, sizeof(Ast));
	if (c == NULL)
		return nomem(s);
	*c = *n;
	if (n->nargs > 0 && (c->args = arena_calloc(s->a, sizeof(Ast *) * (size_t)n->nargs)) == NULL)
		return nomem(s);
	for (int i = 0; i < n->nargs; i++)
		if ((rc = lift(s, n->args[i], &c->args[i])) != 0)
			return rc;
	*out = c;
	return 0;
}

static int
check_clause(Split *s, const Ast *n, const char *clause)
{
	if (has_window(n))
		return fail(s, ERR_GROUPING, n->pos, "window functions are not allowed in %s (at position %d)",
			    clause);
	return 0;
}

/* The select item an ORDER BY item names (an ordinal, or a bare name
 * equal to an item's alias or to a bare column item), or -1. */
static int
order_ref(const AstSelect *q, const Ast *n)
{
	if (n->kind == AST_CONST && !n->val.null && type_is_integer((WbType)n->val.type)) {
		int64_t i = n->val.u.i;
		return i >= 1 && i <= q->ntargets ? (int)i - 1 : -2;
	}
	if (n->kind != AST_COLREF || n->qual != NULL)
		return -1;
	for (int i = 0; i < q->ntargets; i++) {
		const AstTarget *t = &q->targets[i];
		const char *nm = t->alias;
		if (nm == NULL && t->expr->kind == AST_COLREF && t->expr->qual == NULL)
			nm = t->expr->name;
		if (nm && (n->quoted ? strcmp(nm, n->name) == 0 : strcasecmp(nm, n->name) == 0))
			return i;
	}
	return -1;
}

int
winplan_split(const AstSelect *q, Arena *a, WinPlan *wp, Err *e)
{
	Split s = {.q = q, .a = a, .e = e, .wp = wp};
	int rc;
	memset(wp, 0, sizeof(*wp));
	wp->star = -1;
	if (q->explain)
		return err_set(e, ERR_UNSUPPORTED, "EXPLAIN of a query with window functions");
	if ((rc = check_clause(&s, q->where, "WHERE")) != 0 || (rc = check_clause(&s, q->having, "HAVING")) != 0)
		return rc;
	for (int i = 0; i < q->ngroup; i++)
		if ((rc = check_clause(&s, q->group[i], "GROUP BY")) != 0)
			return rc;
	wp->ntargets = q->ntargets;
	if ((wp->targets = arena_calloc(a, sizeof(WinTarget) * (size_t)(q->ntargets + 1))) == NULL)
		return nomem(&s);
	/* first the items in their places, so GROUP BY 1 and aliases keep
	 * their meaning in the inner statement */
	for (int i = 0; i < q->ntargets; i++) {
		const AstTarget *t = &q->targets[i];
		WinTarget *wt = &wp->targets[i];
		wt->alias = t->alias;
		wt->whole = -1;
		if (t->expr->kind == AST_STAR) {
			if (wp->star >= 0 || t->expr->qual != NULL)
				return fail(&s, ERR_UNSUPPORTED, t->pos,
					    "more than one *, or t.*, with window functions%s (at position %d)", "");
			if ((rc = grow_in(&s)) != 0)
				return rc;
			wp->star = s.nin;
			s.in[s.nin++] = *t;
			continue;
		}
		if (has_window(t->expr)) {
			Ast *ph = arena_calloc(a, sizeof(Ast));
			if (ph == NULL)
				return nomem(&s);
			ph->kind = AST_CONST;
			ph->val = value_null(TYPE_NULL);
			if ((rc = add_inner(&s, ph, NULL, 0)) < 0)
				return rc;
			continue;
		}
		if ((rc = add_inner_as(&s, t->expr, t->alias, 0, 1)) < 0)
			return rc;
		wt->whole = rc;
	}
	for (int i = 0; i < q->ntargets; i++) {
		WinTarget *wt = &wp->targets[i];
		if (i == wp->star || q->targets[i].expr->kind == AST_STAR)
			continue;
		if (wt->whole >= 0) {
			if ((wt->expr = colref(&s, inner_name(a, wt->whole), q->targets[i].pos)) == NULL)
				return nomem(&s);
			continue;
		}
		if ((rc = lift(&s, q->targets[i].expr, &wt->expr)) != 0)
			return rc;
		if (wt->alias == NULL && q->targets[i].expr->kind == AST_FUNC)
			wt->alias = q->targets[i].expr->name;
	}
	AstSelect *o = &wp->outer;
	memset(o, 0, sizeof(*o));
	o->distinct = q->distinct;
	o->limit = q->limit;
	o->offset = q->offset;
	o->noptions = q->noptions;
	o->options = q->options;
	o->norder = q->norder;
	if (q->norder > 0 && (o->order = arena_calloc(a, sizeof(AstOrder) * (size_t)q->norder)) == NULL)
		return nomem(&s);
	for (int i = 0; i < q->norder; i++) {
		o->order[i] = q->order[i];
		int r = order_ref(q, q->order[i].expr);
		if (r == -2)
			return fail(&s, ERR_SQL_PARSE, q->order[i].expr->pos,
				    "ORDER BY position is not in select list%s (at position %d)", "");
		if (r >= 0 && wp->targets[r].expr == NULL)
			return fail(&s, ERR_UNSUPPORTED, q->order[i].expr->pos,
				    "ORDER BY naming * with window functions%s (at position %d)", "");
		if (r >= 0)
			o->order[i].expr = wp->targets[r].expr;
		else if ((rc = lift(&s, q->order[i].expr, &o->order[i].expr)) != 0)
			return rc;
	}
	/* without ORDER BY the rows come out in the order the first window
	 * sorted them (partition keys, then its ORDER BY), as PostgreSQL's
	 * and Pinot's window operators leave them */
	for (int j = 0; q->norder == 0 && j < wp->ncalls; j++) {
		const WinCall *c = &wp->calls[j];
		int n = c->spec.npart + c->spec.norder;
		if (n == 0)
			continue;
		if ((o->order = arena_calloc(a, sizeof(AstOrder) * (size_t)n)) == NULL)
			return nomem(&s);
		for (int i = 0; i < n; i++) {
			int k = i < c->spec.npart ? c->part[i] : c->order[i - c->spec.npart];
			AstOrder *ao = &o->order[i];
			if ((ao->expr = colref(&s, inner_name(a, k), 0)) == NULL)
				return nomem(&s);
			if (i >= c->spec.npart) {
				int oi = i - c->spec.npart;
				ao->desc = c->spec.desc[oi];
				ao->nulls = c->spec.nulls_first[oi] ? 1 : 2;
			}
		}
		o->norder = n;
		break;
	}
	AstSelect *in = arena_alloc(a, sizeof(AstSelect));
	if (in == NULL)
		return nomem(&s);
	*in = *q;
	in->has_window = 0;
	in->distinct = 0;
	in->norder = 0;
	in->order = NULL;
	in->limit = NULL;
	in->offset = NULL;
	in->ntargets = s.nin;
	in->targets = s.in;
	wp->inner = in;
	return 0;
}

/* Inner target k's column in the inner rows (a * spans `width`). */
static int
col_of(const WinPlan *wp, int k, int width)
{
	return wp->star >= 0 && k > wp->star ? k + width - 1 : k;
}

/* lag/lead's default as a value of the argument's type. */
static int
default_of(WinSpec *w, WbType t, const Ast *call, Err *e)
{
	Value d = w->dflt;
	if (d.null) {
		w->dflt = value_null(t);
		return 0;
	}
	if (type_is_numeric(t) && type_is_numeric((WbType)d.type)) {
		if (type_is_float(t) && !type_is_float((WbType)d.type))
			d = value_double(t, (double)d.u.i);
		else if (!type_is_float(t) && type_is_float((WbType)d.type))
			d = value_double(TYPE_DOUBLE, d.u.d);
		else
			d.type = (uint8_t)t;
	} else if (type_is_var(t) && type_is_var((WbType)d.type)) {
		d.type = (uint8_t)t;
	} else if (t != TYPE_NULL && d.type != t) {
		int rc = err_set(e, ERR_TYPE, "the default of %s (%s) does not match its argument (%s) at position %d",
				 call->name, type_name((WbType)d.type), type_name(t), call->pos);
		e->pos = call->pos;
		return rc;
	}
	w->dflt = d;
	return 0;
}

int
winplan_apply(WinPlan *wp, ResultSet *in, Arena *a, ResultSet **out, Err *e)
{
	int nin = wp->inner->ntargets;
	int width = wp->star >= 0 ? in->ncols - (nin - 1) : 1;
	int ncols = in->ncols + wp->ncalls;
	int rc = 0;
	if (width < 0)
		return err_set(e, ERR_INTERNAL, "window plan: %d columns for %d targets", in->ncols, nin);
	ResultSet *x = mem_calloc(1, sizeof(ResultSet));
	if (x == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	arena_init(&x->arena, 16 * 1024);
	x->ncols = ncols;
	x->nrows = in->nrows;
	x->cols = arena_calloc(&x->arena, sizeof(ResultCol) * (size_t)(ncols + 1));
	x->rows = in->nrows ? arena_alloc(&x->arena, sizeof(Value) * in->nrows * (size_t)ncols) : NULL;
	Value *tmp = mem_alloc(sizeof(Value) * (in->nrows + 1));
	const char **names = arena_calloc(a, sizeof(char *) * (size_t)(nin + 1));
	if (x->cols == NULL || (in->nrows && x->rows == NULL) || tmp == NULL || names == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto done;
	}
	/* the inner columns: a * keeps its names, the others become __wK */
	for (int k = 0; k < nin; k++) {
		if (k == wp->star)
			continue;
		int c = col_of(wp, k, width);
		names[k] = arena_strdup(a, in->cols[c].name);
		if (names[k] == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto done;
		}
	}
	for (int c = 0; c < in->ncols; c++)
		x->cols[c] = in->cols[c];
	for (int k = 0; k < nin; k++)
		if (k != wp->star && (x->cols[col_of(wp, k, width)].name = inner_name(&x->arena, k)) == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	for (size_t r = 0; rc == 0 && r < in->nrows; r++)
		memcpy(&x->rows[r * (size_t)ncols], &in->rows[r * (size_t)in->ncols], sizeof(Value) * (size_t)in->ncols);
	for (int j = 0; rc == 0 && j < wp->ncalls; j++) {
		WinCall *c = &wp->calls[j];
		WinSpec w = c->spec;
		int *part = arena_calloc(a, sizeof(int) * (size_t)(w.npart + 1));
		int *order = arena_calloc(a, sizeof(int) * (size_t)(w.norder + 1));
		if (part == NULL || order == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		for (int i = 0; i < w.npart; i++)
			part[i] = col_of(wp, c->part[i], width);
		for (int i = 0; i < w.norder; i++)
			order[i] = col_of(wp, c->order[i], width);
		w.part = part;
		w.order = order;
		WbType at = TYPE_NULL;
		int mv = 0;
		if (c->arg >= 0) {
			w.arg = col_of(wp, c->arg, width);
			at = in->cols[w.arg].type;
			mv = in->cols[w.arg].mv;
		}
		if ((rc = window_result_type(w.fn, at, mv, &w.out_type, e)) != 0) {
			e->pos = c->call->pos;
			break;
		}
		if ((w.fn == WIN_LAG || w.fn == WIN_LEAD) && (rc = default_of(&w, at, c->call, e)) != 0)
			break;
		/* the rows stay where they are: window_compute reads in's */
		if ((rc = window_compute(in->rows, in->nrows, in->ncols, &w, tmp, &x->arena, e)) != 0)
			break;
		int oc = in->ncols + j;
		x->cols[oc].name = arena_printf(&x->arena, "__x%d", j);
		x->cols[oc].type = w.out_type;
		x->cols[oc].mv = 0;
		if (x->cols[oc].name == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		for (size_t r = 0; r < in->nrows; r++)
			x->rows[r * (size_t)ncols + (size_t)oc] = tmp[r];
	}
	if (rc != 0)
		goto done;
	/* the outer select list: * expands to the columns it gave */
	AstSelect *o = &wp->outer;
	int nt = wp->ntargets + (wp->star >= 0 ? width - 1 : 0);
	o->targets = arena_calloc(a, sizeof(AstTarget) * (size_t)(nt + 1));
	if (o->targets == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto done;
	}
	o->ntargets = 0;
	for (int i = 0; i < wp->ntargets; i++) {
		WinTarget *t = &wp->targets[i];
		if (t->expr == NULL) {
			for (int c = wp->star; c < wp->star + width; c++) {
				Ast *n = arena_calloc(a, sizeof(Ast));
				if (n == NULL) {
					rc = err_set(e, ERR_NOMEM, "out of memory");
					goto done;
				}
				n->kind = AST_COLREF;
				n->quoted = 1;
				n->name = in->cols[c].name;
				o->targets[o->ntargets++] = (AstTarget){n, in->cols[c].name, 0};
			}
			continue;
		}
		const char *alias = t->alias;
		if (alias == NULL && t->whole >= 0)
			alias = names[t->whole];
		o->targets[o->ntargets++] = (AstTarget){t->expr, alias ? alias : "?column?", t->expr->pos};
	}
done:
	mem_free(tmp);
	if (rc != 0) {
		result_free(x);
		return rc;
	}
	*out = x;
	return 0;
}
