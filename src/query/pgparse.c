/*
 * pgparse.c -- the only file that includes libpg_query.
 *
 * pg_query_parse_protobuf gives the PostgreSQL 15 raw parse tree as a
 * protobuf message; we unpack it (protobuf-c, libc allocation owned by
 * protobuf-c and freed with free_unpacked) and convert the subset Waybill
 * supports into the AST of ast.h, allocated in the caller's arena.  The
 * protobuf tree is freed before returning, so nothing of libpg_query
 * escapes this file.
 *
 * PostgreSQL lowercases unquoted identifiers while parsing; to tell a
 * quoted name from an unquoted one we look at the SQL text at the node's
 * location (a leading double quote).
 *
 * GROUP BY: each distinct grouping expression gets one slot of
 * AstSelect.group; GROUPING SETS / ROLLUP / CUBE (nested, with (a, b)
 * lists and (), multiplied by the other items) become bit masks over those
 * slots in AstSelect.gsets, duplicates kept unless GROUP BY DISTINCT.
 * GROUPING(a, ...) becomes a call of "grouping" that gsets.c replaces per
 * set; a plain GROUP BY whose statement calls it gets the one set of all
 * its keys.
 *
 * Failures: syntax errors become ERR_SQL_PARSE with libpg_query's message
 * and cursor position; anything parsed but not supported (joins,
 * subqueries, window functions, UNION...) becomes ERR_UNSUPPORTED naming
 * the construct and its position.
 *
 * Exports: pgparse_parse, pgparse_fingerprint.
 */
#include "query/pgparse.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "query/gsets.h"

typedef struct Cte {
	const char *name;
	struct AstSelect *q;
	struct Cte *next;
} Cte;

typedef struct Conv {
	const char *sql;
	size_t sqllen;
	Arena *a;
	Err *e;
	Cte *ctes;		/* WITH queries in scope (innermost first) */
	int depth;		/* nesting of subqueries */
	struct AstSelect *cur;	/* the SELECT being converted */
	PgQuery__Node **wins;	/* its WINDOW clause: named windows */
	size_t nwins;
	int edepth;		/* expression nesting */
} Conv;

static int conv_sub(Conv *cv, PgQuery__Node *n, int location, struct AstSelect **out);

static int
pos1(int32_t loc)
{
	return loc >= 0 ? loc + 1 : 0;
}

static int
unsupported(Conv *cv, const char *what, int32_t loc)
{
	int p = pos1(loc);
	int rc;
	if (p > 0)
		rc = err_set(cv->e, ERR_UNSUPPORTED, "%s is not supported (at position %d)", what, p);
	else
		rc = err_set(cv->e, ERR_UNSUPPORTED, "%s is not supported", what);
	if (cv->e)
		cv->e->pos = p;
	return rc;
}

static int
nomem(Conv *cv)
{
	return err_set(cv->e, ERR_NOMEM, "out of memory parsing SQL");
}

static Ast *
mk(Conv *cv, AstKind k, int32_t loc, int nargs)
{
	Ast *n = arena_calloc(cv->a, sizeof(Ast));
	if (n == NULL)
		return NULL;
	n->kind = k;
	n->pos = pos1(loc);
	n->nargs = nargs;
	if (nargs > 0) {
		n->args = arena_calloc(cv->a, sizeof(Ast *) * (size_t)nargs);
		if (n->args == NULL)
			return NULL;
	}
	return n;
}

static int
quoted_at(Conv *cv, int32_t loc)
{
	return loc >= 0 && (size_t)loc < cv->sqllen && cv->sql[loc] == '"';
}

static const char *
str_of(PgQuery__Node *n)
{
	if (n != NULL && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string)
		return n->string->sval;
	return NULL;
}

static int conv_expr(Conv *cv, PgQuery__Node *n, Ast **out);
static int conv_window(Conv *cv, PgQuery__WindowDef *w, AstWindow **out);

static int
conv_const(Conv *cv, PgQuery__AConst *c, Ast **out)
{
	Ast *n = mk(cv, AST_CONST, c->location, 0);
	if (n == NULL)
		return nomem(cv);
	if (c->isnull) {
		n->val = value_null(TYPE_NULL);
	} else {
		switch (c->val_case) {
		case PG_QUERY__A__CONST__VAL_IVAL:
			n->val = value_int(TYPE_INT, c->ival ? c->ival->ival : 0);
			break;
		case PG_QUERY__A__CONST__VAL_FVAL: {
			const char *s = c->fval ? c->fval->fval : "0";
			char *end;
			errno = 0;
			long long v = strtoll(s, &end, 10);
			if (*end == '\0' && errno == 0)
				n->val = value_int(TYPE_LONG, v);
			else
				n->val = value_double(TYPE_DOUBLE, strtod(s, NULL));
			break;
		}
		case PG_QUERY__A__CONST__VAL_BOOLVAL:
			n->val = value_int(TYPE_BOOLEAN, c->boolval ? c->boolval->boolval : 0);
			break;
		case PG_QUERY__A__CONST__VAL_SVAL: {
			const char *s = c->sval && c->sval->sval ? c->sval->sval : "";
			char *d = arena_strdup(cv->a, s);
			if (d == NULL)
				return nomem(cv);
			n->val = value_str(TYPE_STRING, d, (uint32_t)strlen(d));
			n->lit_string = 1;
			break;
		}
		default:
			return unsupported(cv, "bit-string literal", c->location);
		}
	}
	*out = n;
	return 0;
}

static int
conv_list(Conv *cv, Ast *n, int first, PgQuery__Node **items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int rc = conv_expr(cv, items[i], &n->args[first + (int)i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* x = ANY (array): over ARRAY[a, b] or a '{a,b}' literal it is x IN (a, b);
 * over a multi-value column it is x = col, which is true when any element
 * matches (Pinot's meaning of = on a multi-value column). */
static int
conv_any(Conv *cv, PgQuery__AExpr *x, const char *op, Ast **out)
{
	if (op == NULL || strcmp(op, "=") != 0)
		return unsupported(cv, "ANY with an operator other than =", x->location);
	PgQuery__Node *r = x->rexpr;
	while (r != NULL && r->node_case == PG_QUERY__NODE__NODE_TYPE_CAST)
		r = r->type_cast->arg;
	Ast *n;
	int rc;
	if (r != NULL && r->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
		PgQuery__AArrayExpr *ar = r->a_array_expr;
		if ((n = mk(cv, AST_IN, x->location, 1 + (int)ar->n_elements)) == NULL)
			return nomem(cv);
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) ||
		    (rc = conv_list(cv, n, 1, ar->elements, ar->n_elements)))
			return rc;
		if (ar->n_elements == 0) {
			n->kind = AST_CONST;
			n->nargs = 0;
			n->val = value_int(TYPE_BOOLEAN, 0);
		}
		*out = n;
		return 0;
	}
	if (r != NULL && r->node_case == PG_QUERY__NODE__NODE_A_CONST && r->a_const->val_case ==
	    PG_QUERY__A__CONST__VAL_SVAL) {
		/* '{a,b,"c d"}': the elements, unquoted */
		const char *s = r->a_const->sval ? r->a_const->sval->sval : "";
		size_t len = strlen(s);
		if (len < 2 || s[0] != '{' || s[len - 1] != '}')
			return unsupported(cv, "ANY over this array literal", x->location);
		int cnt = 1;
		for (size_t i = 1; i + 1 < len; i++)
			cnt += s[i] == ',';
		if (len == 2)
			cnt = 0;
		if ((n = mk(cv, AST_IN, x->location, 1 + cnt)) == NULL)
			return nomem(cv);
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) != 0)
			return rc;
		const char *p = s + 1, *end = s + len - 1;
		for (int k = 0; k < cnt; k++) {
			const char *q = p;
			while (q < end && *q != ',')
				q++;
			const char *a = p, *b = q;
			if (b - a >= 2 && *a == '"' && b[-1] == '"') {
				a++;
				b--;
			}
			Ast *c = mk(cv, AST_CONST, x->location, 0);
			char *d = arena_alloc(cv->a, (size_t)(b - a) + 1);
			if (c == NULL || d == NULL)
				return nomem(cv);
			memcpy(d, a, (size_t)(b - a));
			d[b - a] = '\0';
			c->val = value_str(TYPE_STRING, d, (uint32_t)(b - a));
			c->lit_string = 1;
			n->args[1 + k] = c;
			p = q + 1;
		}
		if (cnt == 0) {
			n->kind = AST_CONST;
			n->nargs = 0;
			n->val = value_int(TYPE_BOOLEAN, 0);
		}
		*out = n;
		return 0;
	}
	/* an array column: wb_array_contains(col, x) (expr/fnpg.c) */
	if ((n = mk(cv, AST_FUNC, x->location, 2)) == NULL)
		return nomem(cv);
	n->name = "wb_array_contains";
	if ((rc = conv_expr(cv, x->rexpr, &n->args[0])) || (rc = conv_expr(cv, x->lexpr, &n->args[1])))
		return rc;
	*out = n;
	return 0;
}

static int
conv_aexpr(Conv *cv, PgQuery__AExpr *x, Ast **out)
{
	const char *op = x->n_name > 0 ? str_of(x->name[x->n_name - 1]) : NULL;
	Ast *n;
	int rc;
	switch (x->kind) {
	case PG_QUERY__A__EXPR__KIND__AEXPR_OP:
		if (op == NULL)
			return unsupported(cv, "operator", x->location);
		if (x->lexpr == NULL) {
			/* unary: fold -constant, keep -expr */
			Ast *arg;
			if ((rc = conv_expr(cv, x->rexpr, &arg)) != 0)
				return rc;
			if (strcmp(op, "+") == 0) {
				*out = arg;
				return 0;
			}
			if (strcmp(op, "-") != 0)
				return unsupported(cv, "prefix operator", x->location);
			if (arg->kind == AST_CONST && !arg->val.null && type_is_integer((WbType)arg->val.type)) {
				arg->val.u.i = -arg->val.u.i;
				*out = arg;
				return 0;
			}
			if (arg->kind == AST_CONST && !arg->val.null && type_is_float((WbType)arg->val.type)) {
				arg->val.u.d = -arg->val.u.d;
				*out = arg;
				return 0;
			}
			if ((n = mk(cv, AST_OP, x->location, 1)) == NULL)
				return nomem(cv);
			n->name = "-";
			n->args[0] = arg;
			*out = n;
			return 0;
		}
		if (strcmp(op, "~") == 0 || strcmp(op, "~*") == 0 || strcmp(op, "!~") == 0 ||
		    strcmp(op, "!~*") == 0) {
			/* POSIX regex match: x ~ p is regexp_like(x, p), ~* adds
			 * the 'i' flag, !~ negates */
			int icase = op[strlen(op) - 1] == '*';
			if ((n = mk(cv, AST_FUNC, x->location, 2 + icase)) == NULL)
				return nomem(cv);
			n->name = "regexp_like";
			if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_expr(cv, x->rexpr, &n->args[1])))
				return rc;
			if (icase) {
				Ast *flag = mk(cv, AST_CONST, x->location, 0);
				if (flag == NULL)
					return nomem(cv);
				flag->val = value_str(TYPE_STRING, "i", 1);
				flag->lit_string = 1;
				n->args[2] = flag;
			}
			if (op[0] == '!') {
				Ast *no = mk(cv, AST_NOT, x->location, 1);
				if (no == NULL)
					return nomem(cv);
				no->args[0] = n;
				n = no;
			}
			*out = n;
			return 0;
		}
		if ((n = mk(cv, AST_OP, x->location, 2)) == NULL)
			return nomem(cv);
		if (strcmp(op, "&") == 0 || strcmp(op, "|") == 0 || strcmp(op, "#") == 0) {
			/* integer bitwise and / or / xor (pgjdbc's getIndexInfo:
			 * indoption[k] & 1) */
			n->kind = AST_FUNC;
			n->name = op[0] == '&' ? "bitand" : op[0] == '|' ? "bitor" : "bitxor";
			if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_expr(cv, x->rexpr, &n->args[1])))
				return rc;
			*out = n;
			return 0;
		}
		if (strcmp(op, "||") == 0) {
			/* s || t is textcat(s, t) */
			n->kind = AST_FUNC;
			n->name = "textcat";
			if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_expr(cv, x->rexpr, &n->args[1])))
				return rc;
			*out = n;
			return 0;
		}
		if (strcmp(op, "~~") == 0 || strcmp(op, "!~~") == 0 || strcmp(op, "~~*") == 0 ||
		    strcmp(op, "!~~*") == 0) {
			n->kind = AST_LIKE;
			n->neg = op[0] == '!';
			n->ilike = op[strlen(op) - 1] == '*';
		} else {
			static const char *ok[] = {"+", "-", "*", "/", "%", "=", "<>", "!=", "<", "<=", ">", ">=", NULL};
			int found = 0;
			for (int i = 0; ok[i]; i++)
				if (strcmp(ok[i], op) == 0)
					found = 1;
			if (!found) {
				char what[64];
				snprintf(what, sizeof(what), "operator %s", op);
				return unsupported(cv, what, x->location);
			}
			n->name = arena_strdup(cv->a, strcmp(op, "!=") == 0 ? "<>" : op);
			if (n->name == NULL)
				return nomem(cv);
		}
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_expr(cv, x->rexpr, &n->args[1])))
			return rc;
		*out = n;
		return 0;
	case PG_QUERY__A__EXPR__KIND__AEXPR_LIKE:
	case PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE:
		if ((n = mk(cv, AST_LIKE, x->location, 2)) == NULL)
			return nomem(cv);
		n->neg = op != NULL && op[0] == '!';
		n->ilike = x->kind == PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE;
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_expr(cv, x->rexpr, &n->args[1])))
			return rc;
		*out = n;
		return 0;
	case PG_QUERY__A__EXPR__KIND__AEXPR_IN: {
		PgQuery__Node *r = x->rexpr;
		if (r == NULL || r->node_case != PG_QUERY__NODE__NODE_LIST)
			return unsupported(cv, "IN with a subquery", x->location);
		PgQuery__List *l = r->list;
		if ((n = mk(cv, AST_IN, x->location, 1 + (int)l->n_items)) == NULL)
			return nomem(cv);
		n->neg = op != NULL && strcmp(op, "<>") == 0;
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_list(cv, n, 1, l->items, l->n_items)))
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
	case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN: {
		PgQuery__Node *r = x->rexpr;
		if (r == NULL || r->node_case != PG_QUERY__NODE__NODE_LIST || r->list->n_items != 2)
			return unsupported(cv, "BETWEEN form", x->location);
		if ((n = mk(cv, AST_BETWEEN, x->location, 3)) == NULL)
			return nomem(cv);
		n->neg = x->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN;
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) ||
		    (rc = conv_list(cv, n, 1, r->list->items, 2)))
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN_SYM:
	case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN_SYM:
		return unsupported(cv, "BETWEEN SYMMETRIC", x->location);
	case PG_QUERY__A__EXPR__KIND__AEXPR_DISTINCT:
	case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT:
		return unsupported(cv, "IS [NOT] DISTINCT FROM", x->location);
	case PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF:
		if ((n = mk(cv, AST_FUNC, x->location, 2)) == NULL)
			return nomem(cv);
		n->name = "nullif";
		if ((rc = conv_expr(cv, x->lexpr, &n->args[0])) || (rc = conv_expr(cv, x->rexpr, &n->args[1])))
			return rc;
		*out = n;
		return 0;
	case PG_QUERY__A__EXPR__KIND__AEXPR_SIMILAR:
		return unsupported(cv, "SIMILAR TO", x->location);
	case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY:
		return conv_any(cv, x, op, out);
	default:
		return unsupported(cv, "ANY/ALL", x->location);
	}
}

static char *
lower_dup(Conv *cv, const char *s)
{
	char *d = arena_strdup(cv->a, s ? s : "");
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int conv_expr_node(Conv *cv, PgQuery__Node *node, Ast **out);

/* Expressions nest at most PGPARSE_MAX_DEPTH deep: everything after the
 * parser (binder, evaluator) recurses over the tree. */
static int
conv_expr(Conv *cv, PgQuery__Node *node, Ast **out)
{
	if (++cv->edepth > PGPARSE_MAX_DEPTH) {
		int rc = err_set(cv->e, ERR_TOO_LARGE, "expression nested more than %d levels deep",
				 PGPARSE_MAX_DEPTH);
		cv->edepth--;
		return rc;
	}
	int rc = conv_expr_node(cv, node, out);
	cv->edepth--;
	return rc;
}

static int
conv_expr_node(Conv *cv, PgQuery__Node *node, Ast **out)
{
	Ast *n;
	int rc;
	if (node == NULL)
		return unsupported(cv, "empty expression", -1);
	switch (node->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST:
		return conv_const(cv, node->a_const, out);
	case PG_QUERY__NODE__NODE_COLUMN_REF: {
		PgQuery__ColumnRef *c = node->column_ref;
		PgQuery__ColumnRef two;
		size_t nf = c->n_fields;
		if (nf == 3) {
			/* schema.table.column: the table qualifies */
			two = *c;
			two.fields = c->fields + 1;
			two.n_fields = 2;
			c = &two;
			nf = 2;
		}
		if (nf == 0 || nf > 2)
			return unsupported(cv, "column reference with more than three parts", c->location);
		PgQuery__Node *last = c->fields[nf - 1];
		if (last->node_case == PG_QUERY__NODE__NODE_A_STAR) {
			if ((n = mk(cv, AST_STAR, c->location, 0)) == NULL)
				return nomem(cv);
		} else {
			if ((n = mk(cv, AST_COLREF, c->location, 0)) == NULL)
				return nomem(cv);
			const char *name = str_of(last);
			if (name == NULL)
				return unsupported(cv, "column reference", c->location);
			if ((n->name = arena_strdup(cv->a, name)) == NULL)
				return nomem(cv);
			if (nf == 1) {
				n->quoted = quoted_at(cv, c->location);
			} else {
				/* qual.col: the column part is quoted if ." follows */
				const char *p = cv->sql + c->location;
				const char *dot = strstr(p, ".");
				n->quoted = dot != NULL && dot[1] == '"';
			}
		}
		if (nf == 2) {
			const char *q = str_of(c->fields[0]);
			if (q == NULL || (n->qual = arena_strdup(cv->a, q)) == NULL)
				return unsupported(cv, "column qualifier", c->location);
		}
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_A_EXPR:
		return conv_aexpr(cv, node->a_expr, out);
	case PG_QUERY__NODE__NODE_BOOL_EXPR: {
		PgQuery__BoolExpr *b = node->bool_expr;
		AstKind k = b->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR ? AST_AND
			  : b->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR ? AST_OR : AST_NOT;
		if ((n = mk(cv, k, b->location, (int)b->n_args)) == NULL)
			return nomem(cv);
		if ((rc = conv_list(cv, n, 0, b->args, b->n_args)) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_NULL_TEST: {
		PgQuery__NullTest *t = node->null_test;
		if ((n = mk(cv, AST_NULLTEST, t->location, 1)) == NULL)
			return nomem(cv);
		n->neg = t->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL;
		if ((rc = conv_expr(cv, t->arg, &n->args[0])) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_FUNC_CALL: {
		PgQuery__FuncCall *f = node->func_call;
		const char *fname = f->n_funcname > 0 ? str_of(f->funcname[f->n_funcname - 1]) : NULL;
		if (fname == NULL)
			return unsupported(cv, "function name", f->location);
		if (f->agg_within_group && f->n_agg_order == 1 && f->n_args == 1 &&
		    (strcasecmp(fname, "percentile_cont") == 0 ||
		     strcasecmp(fname, "percentile_disc") == 0)) {
			/* percentile_cont(f) WITHIN GROUP (ORDER BY x) becomes
			 * percentile_cont(x, f) */
			PgQuery__Node *o = f->agg_order[0];
			if (o->node_case != PG_QUERY__NODE__NODE_SORT_BY)
				return unsupported(cv, "WITHIN GROUP item", f->location);
			PgQuery__SortBy *sb = o->sort_by;
			if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC ||
			    sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING)
				return unsupported(cv, "WITHIN GROUP (ORDER BY ... DESC)", sb->location);
			if ((n = mk(cv, AST_FUNC, f->location, 2)) == NULL)
				return nomem(cv);
			if ((n->name = lower_dup(cv, fname)) == NULL)
				return nomem(cv);
			if ((rc = conv_expr(cv, sb->node, &n->args[0])) != 0 ||
			    (rc = conv_expr(cv, f->args[0], &n->args[1])) != 0)
				return rc;
			*out = n;
			return 0;
		}
		if (f->n_agg_order > 0 || f->agg_within_group)
			return unsupported(cv, "ordered aggregate", f->location);
		if ((n = mk(cv, AST_FUNC, f->location, (int)f->n_args)) == NULL)
			return nomem(cv);
		if ((n->name = lower_dup(cv, fname)) == NULL)
			return nomem(cv);
		n->star = f->agg_star;
		n->distinct = f->agg_distinct;
		if ((rc = conv_list(cv, n, 0, f->args, f->n_args)) != 0)
			return rc;
		if (f->agg_filter != NULL && (rc = conv_expr(cv, f->agg_filter, &n->filter)) != 0)
			return rc;
		if (f->over != NULL) {
			if (f->agg_filter != NULL)
				return unsupported(cv, "FILTER in a window function call", f->location);
			if ((rc = conv_window(cv, f->over, &n->over)) != 0)
				return rc;
			if (cv->cur != NULL)
				cv->cur->has_window = 1;
		}
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_TYPE_CAST: {
		PgQuery__TypeCast *t = node->type_cast;
		PgQuery__TypeName *tn = t->type_name;
		if (tn == NULL || tn->n_names == 0)
			return unsupported(cv, "cast", t->location);
		if (tn->n_array_bounds > 0)
			/* x::int2[]: Waybill's arrays are multi-value columns,
			 * whose element type stays as it is */
			return conv_expr(cv, t->arg, out);
		const char *tname = str_of(tn->names[tn->n_names - 1]);
		if (tname == NULL)
			return unsupported(cv, "cast", t->location);
		if (strcmp(tname, "interval") == 0 && tn->n_typmods > 0)
			return unsupported(cv, "INTERVAL with a field qualifier (write INTERVAL '1 hour')",
					   t->location);
		if ((n = mk(cv, AST_CAST, t->location, 1)) == NULL)
			return nomem(cv);
		if ((n->name = lower_dup(cv, tname)) == NULL)
			return nomem(cv);
		if ((rc = conv_expr(cv, t->arg, &n->args[0])) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_SUB_LINK: {
		PgQuery__SubLink *sl = node->sub_link;
		int in = sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK;
		int exists = sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK;
		int array = sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK;
		int scalar = sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK || array;
		if (!in && !exists && !scalar)
			return unsupported(cv, "this kind of subquery (ALL, ARRAY, ...)", sl->location);
		if (in && sl->n_oper_name > 0) {
			const char *op = str_of(sl->oper_name[sl->n_oper_name - 1]);
			if (op == NULL || strcmp(op, "=") != 0)
				return unsupported(cv, "a comparison with ANY/SOME other than =", sl->location);
		}
		if ((n = mk(cv, AST_SUBLINK, sl->location, in ? 1 : 0)) == NULL)
			return nomem(cv);
		n->ilike = exists;
		n->array = array;
		if (in && (rc = conv_expr(cv, sl->testexpr, &n->args[0])) != 0)
			return rc;
		AstSelect *outer = cv->cur;
		if ((rc = conv_sub(cv, sl->subselect, sl->location, &n->sub)) != 0)
			return rc;
		if (outer)
			outer->has_sublink = 1;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_CASE_EXPR: {
		PgQuery__CaseExpr *c = node->case_expr;
		if ((n = mk(cv, AST_CASE, c->location, 2 + 2 * (int)c->n_args)) == NULL)
			return nomem(cv);
		if (c->arg && (rc = conv_expr(cv, c->arg, &n->args[0])) != 0)
			return rc;
		for (size_t i = 0; i < c->n_args; i++) {
			PgQuery__Node *w = c->args[i];
			if (w->node_case != PG_QUERY__NODE__NODE_CASE_WHEN)
				return unsupported(cv, "CASE item", c->location);
			if ((rc = conv_expr(cv, w->case_when->expr, &n->args[1 + 2 * i])) ||
			    (rc = conv_expr(cv, w->case_when->result, &n->args[2 + 2 * i])))
				return rc;
		}
		if (c->defresult && (rc = conv_expr(cv, c->defresult, &n->args[n->nargs - 1])) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_COALESCE_EXPR: {
		PgQuery__CoalesceExpr *c = node->coalesce_expr;
		if ((n = mk(cv, AST_FUNC, c->location, (int)c->n_args)) == NULL)
			return nomem(cv);
		n->name = "coalesce";
		if ((rc = conv_list(cv, n, 0, c->args, c->n_args)) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_MIN_MAX_EXPR: {
		PgQuery__MinMaxExpr *c = node->min_max_expr;
		if ((n = mk(cv, AST_FUNC, c->location, (int)c->n_args)) == NULL)
			return nomem(cv);
		n->name = c->op == PG_QUERY__MIN_MAX_OP__IS_LEAST ? "least" : "greatest";
		if ((rc = conv_list(cv, n, 0, c->args, c->n_args)) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION: {
		PgQuery__SQLValueFunction *f = node->sqlvalue_function;
		switch (f->op) {
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP_N:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP_N:
			if ((n = mk(cv, AST_FUNC, f->location, 0)) == NULL)
				return nomem(cv);
			n->name = "now";
			*out = n;
			return 0;
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_DATE:
			if ((n = mk(cv, AST_FUNC, f->location, 0)) == NULL)
				return nomem(cv);
			n->name = "current_date";
			*out = n;
			return 0;
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_ROLE:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_USER:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG:
		case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA:
			/* the session's names: query/pgcat.c puts them in */
			if ((n = mk(cv, AST_FUNC, f->location, 0)) == NULL)
				return nomem(cv);
			n->name = f->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG ? "current_catalog"
				: f->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA ? "current_schema"
				: f->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER ? "session_user"
				: "current_user";
			*out = n;
			return 0;
		default:
			return unsupported(cv, "this SQL value function", f->location);
		}
	}
	case PG_QUERY__NODE__NODE_GROUPING_FUNC: {
		/* GROUPING(a, ...): gsets.c turns it into each set's constant */
		PgQuery__GroupingFunc *g = node->grouping_func;
		if (g->n_args > 31)
			return unsupported(cv, "GROUPING with more than 31 arguments", g->location);
		if ((n = mk(cv, AST_FUNC, g->location, (int)g->n_args)) == NULL)
			return nomem(cv);
		n->name = "grouping";
		if ((rc = conv_list(cv, n, 0, g->args, g->n_args)) != 0)
			return rc;
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_BOOLEAN_TEST: {
		/* x IS TRUE: coalesce(x = true, false); IS FALSE: coalesce(x =
		 * false, false); IS UNKNOWN: x IS NULL; NOT negates each */
		PgQuery__BooleanTest *t = node->boolean_test;
		int k = t->booltesttype;
		Ast *x;
		if ((rc = conv_expr(cv, t->arg, &x)) != 0)
			return rc;
		if (k == PG_QUERY__BOOL_TEST_TYPE__IS_UNKNOWN || k == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN) {
			if ((n = mk(cv, AST_NULLTEST, t->location, 1)) == NULL)
				return nomem(cv);
			n->neg = k == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN;
			n->args[0] = x;
			*out = n;
			return 0;
		}
		int want = k == PG_QUERY__BOOL_TEST_TYPE__IS_TRUE || k == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE;
		int neg = k == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE || k == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_FALSE;
		Ast *eq = mk(cv, AST_OP, t->location, 2), *bv = mk(cv, AST_CONST, t->location, 0);
		Ast *f = mk(cv, AST_CONST, t->location, 0), *co = mk(cv, AST_FUNC, t->location, 2);
		if (eq == NULL || bv == NULL || f == NULL || co == NULL)
			return nomem(cv);
		bv->val = value_int(TYPE_BOOLEAN, want);
		f->val = value_int(TYPE_BOOLEAN, 0);
		eq->name = "=";
		eq->args[0] = x;
		eq->args[1] = bv;
		co->name = "coalesce";
		co->args[0] = eq;
		co->args[1] = f;
		n = co;
		if (neg) {
			if ((n = mk(cv, AST_NOT, t->location, 1)) == NULL)
				return nomem(cv);
			n->args[0] = co;
		}
		*out = n;
		return 0;
	}
	case PG_QUERY__NODE__NODE_A_INDIRECTION: {
		/* array[i] (1-based): wb_subscript(array, i); (record).field:
		 * wb_field(record, 'field') (pgcat.c rewrites the records it
		 * knows); applied left to right */
		PgQuery__AIndirection *ind = node->a_indirection;
		Ast *cur;
		if (ind->n_indirection < 1)
			return unsupported(cv, "this subscript or field selection", -1);
		if ((rc = conv_expr(cv, ind->arg, &cur)) != 0)
			return rc;
		for (size_t k = 0; k < ind->n_indirection; k++) {
			PgQuery__Node *in = ind->indirection[k];
			const char *field = str_of(in);
			if (field == NULL && (in->node_case != PG_QUERY__NODE__NODE_A_INDICES ||
					      in->a_indices->is_slice || in->a_indices->uidx == NULL))
				return unsupported(cv, in->node_case == PG_QUERY__NODE__NODE_A_STAR
						       ? "(record).*" : "an array slice", -1);
			if ((n = mk(cv, AST_FUNC, -1, 2)) == NULL)
				return nomem(cv);
			n->args[0] = cur;
			n->pos = cur->pos;
			if (field != NULL) {
				n->name = "wb_field";
				Ast *f = mk(cv, AST_CONST, -1, 0);
				const char *d = arena_strdup(cv->a, field);
				if (f == NULL || d == NULL)
					return nomem(cv);
				f->val = value_str(TYPE_STRING, d, (uint32_t)strlen(d));
				f->lit_string = 1;
				f->pos = cur->pos;
				n->args[1] = f;
			} else {
				n->name = "wb_subscript";
				if ((rc = conv_expr(cv, in->a_indices->uidx, &n->args[1])) != 0)
					return rc;
			}
			cur = n;
		}
		*out = cur;
		return 0;
	}
	case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
		/* COLLATE "C" / pg_catalog.default: strings compare by bytes
		 * whatever the collation */
		return conv_expr(cv, node->collate_clause->arg, out);
	default:
		return unsupported(cv, "this kind of expression", -1);
	}
}

/* ---- GROUP BY -------------------------------------------------------------
 * Each distinct grouping expression gets one slot of q->group (one bit of
 * a set's mask); each grouping set is the mask of the slots it groups by.
 * PostgreSQL's forms: plain keys, (a, b) (an implicit row: both keys), (),
 * ROLLUP and CUBE (whose elements may be (a, b)), GROUPING SETS nesting any
 * of these; the items of one GROUP BY multiply (GROUP BY a, ROLLUP (b) is
 * (a, b), (a)).  Duplicate sets are kept, as PostgreSQL keeps them (GROUP
 * BY DISTINCT drops them). */

typedef struct GsList {
	uint64_t *v;
	int n, cap;
} GsList;

static int
too_large(Conv *cv, const char *what, int32_t loc)
{
	int p = pos1(loc);
	int rc = p > 0 ? err_set(cv->e, ERR_TOO_LARGE, "%s (at position %d)", what, p)
		       : err_set(cv->e, ERR_TOO_LARGE, "%s", what);
	if (cv->e)
		cv->e->pos = p;
	return rc;
}

static int
gs_push(Conv *cv, GsList *l, uint64_t m, int32_t loc)
{
	if (l->n >= PGPARSE_MAX_GSETS)
		return too_large(cv, "too many grouping sets present (maximum 4096)", loc);
	if (l->n == l->cap) {
		int nc = l->cap ? l->cap * 2 : 16;
		uint64_t *nv = arena_alloc(cv->a, sizeof(uint64_t) * (size_t)nc);
		if (nv == NULL)
			return nomem(cv);
		if (l->n)
			memcpy(nv, l->v, sizeof(uint64_t) * (size_t)l->n);
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = m;
	return 0;
}

/* (a, b) written without ROW: a list of keys in a grouping set. */
static int
implicit_row(const PgQuery__Node *g)
{
	return g->node_case == PG_QUERY__NODE__NODE_ROW_EXPR &&
	       g->row_expr->row_format == PG_QUERY__COERCION_FORM__COERCE_IMPLICIT_CAST;
}

/* The slot of expression g in q->group (added unless an equal expression
 * is there already): *bit gets its mask bit. */
static int
group_add(Conv *cv, AstSelect *q, PgQuery__Node *g, uint64_t *bit)
{
	Ast *x;
	int rc = conv_expr(cv, g, &x);
	if (rc != 0)
		return rc;
	for (int i = 0; i < q->ngroup; i++)
		if (gsets_ast_equal(q->group[i], x)) {
			*bit = 1ull << i;
			return 0;
		}
	if (q->ngroup >= PGPARSE_MAX_GROUP_KEYS)
		return too_large(cv, "more than 64 distinct expressions in GROUPING SETS/ROLLUP/CUBE", x->pos - 1);
	q->group[q->ngroup] = x;
	*bit = 1ull << q->ngroup++;
	return 0;
}

/* One key or a (a, b) list of keys: its mask. */
static int
group_keys(Conv *cv, AstSelect *q, PgQuery__Node *g, uint64_t *m)
{
	*m = 0;
	if (!implicit_row(g))
		return group_add(cv, q, g, m);
	for (size_t i = 0; i < g->row_expr->n_args; i++) {
		uint64_t b;
		int rc = group_add(cv, q, g->row_expr->args[i], &b);
		if (rc != 0)
			return rc;
		*m |= b;
	}
	return 0;
}

/* Appends the sets of one GROUP BY item (or GROUPING SETS element) to l. */
static int
group_item(Conv *cv, AstSelect *q, PgQuery__Node *g, GsList *l)
{
	uint64_t m;
	int rc;
	if (g->node_case == PG_QUERY__NODE__NODE_ROW_EXPR && !implicit_row(g))
		return unsupported(cv, "grouping by a ROW value", g->row_expr->location);
	if (g->node_case != PG_QUERY__NODE__NODE_GROUPING_SET) {
		if ((rc = group_keys(cv, q, g, &m)) != 0)
			return rc;
		return gs_push(cv, l, m, -1);
	}
	PgQuery__GroupingSet *gs = g->grouping_set;
	uint64_t el[12];
	int nb = 0;
	switch (gs->kind) {
	case PG_QUERY__GROUPING_SET_KIND__GROUPING_SET_EMPTY:
		return gs_push(cv, l, 0, gs->location);
	case PG_QUERY__GROUPING_SET_KIND__GROUPING_SET_SIMPLE:
		m = 0;
		for (size_t i = 0; i < gs->n_content; i++) {
			uint64_t b;
			if ((rc = group_keys(cv, q, gs->content[i], &b)) != 0)
				return rc;
			m |= b;
		}
		return gs_push(cv, l, m, gs->location);
	case PG_QUERY__GROUPING_SET_KIND__GROUPING_SET_ROLLUP:
	case PG_QUERY__GROUPING_SET_KIND__GROUPING_SET_CUBE: {
		int cube = gs->kind == PG_QUERY__GROUPING_SET_KIND__GROUPING_SET_CUBE;
		uint64_t *els = el;
		if (gs->n_content > 12) {
			if (cube)
				return too_large(cv, "CUBE is limited to 12 elements", gs->location);
			if (gs->n_content > PGPARSE_MAX_GSETS)
				return too_large(cv, "too many grouping sets present (maximum 4096)", gs->location);
			if ((els = arena_alloc(cv->a, sizeof(uint64_t) * gs->n_content)) == NULL)
				return nomem(cv);
		}
		for (size_t i = 0; i < gs->n_content; i++) {
			PgQuery__Node *c = gs->content[i];
			if (c->node_case == PG_QUERY__NODE__NODE_GROUPING_SET)
				return unsupported(cv, "a grouping set inside ROLLUP/CUBE", gs->location);
			if (c->node_case == PG_QUERY__NODE__NODE_ROW_EXPR && !implicit_row(c))
				return unsupported(cv, "grouping by a ROW value", c->row_expr->location);
			if ((rc = group_keys(cv, q, c, &els[nb])) != 0)
				return rc;
			nb++;
		}
		if (!cube) {
			/* (a, b, c), (a, b), (a), () */
			for (int k = nb; k >= 0; k--) {
				m = 0;
				for (int i = 0; i < k; i++)
					m |= els[i];
				if ((rc = gs_push(cv, l, m, gs->location)) != 0)
					return rc;
			}
			return 0;
		}
		/* every subset, the whole first */
		for (int sub = (1 << nb) - 1; sub >= 0; sub--) {
			m = 0;
			for (int i = 0; i < nb; i++)
				if (sub & (1 << i))
					m |= els[i];
			if ((rc = gs_push(cv, l, m, gs->location)) != 0)
				return rc;
		}
		return 0;
	}
	case PG_QUERY__GROUPING_SET_KIND__GROUPING_SET_SETS:
		/* the sets of each element, in order (nested ones flatten) */
		for (size_t i = 0; i < gs->n_content; i++)
			if ((rc = group_item(cv, q, gs->content[i], l)) != 0)
				return rc;
		return 0;
	default:
		return unsupported(cv, "this grouping set", gs->location);
	}
}

/* GROUP BY: plain expressions (each (a, b) list flattened into its keys),
 * or with grouping sets, whose items multiply. */
static int
conv_group(Conv *cv, PgQuery__SelectStmt *s, AstSelect *q)
{
	int any = 0, rc;
	size_t nkeys = 0;
	for (size_t i = 0; i < s->n_group_clause; i++) {
		PgQuery__Node *g = s->group_clause[i];
		any |= g->node_case == PG_QUERY__NODE__NODE_GROUPING_SET;
		nkeys += implicit_row(g) ? g->row_expr->n_args : 1;
	}
	if (!any) {
		if ((q->group = arena_calloc(cv->a, sizeof(Ast *) * (nkeys + 1))) == NULL)
			return nomem(cv);
		for (size_t i = 0; i < s->n_group_clause; i++) {
			PgQuery__Node *g = s->group_clause[i];
			if (g->node_case == PG_QUERY__NODE__NODE_ROW_EXPR && !implicit_row(g))
				return unsupported(cv, "grouping by a ROW value", g->row_expr->location);
			PgQuery__Node **ks = implicit_row(g) ? g->row_expr->args : &s->group_clause[i];
			size_t nk = implicit_row(g) ? g->row_expr->n_args : 1;
			for (size_t k = 0; k < nk; k++)
				if ((rc = conv_expr(cv, ks[k], &q->group[q->ngroup++])) != 0)
					return rc;
		}
		return 0;
	}
	if ((q->group = arena_calloc(cv->a, sizeof(Ast *) * PGPARSE_MAX_GROUP_KEYS)) == NULL)
		return nomem(cv);
	GsList cur = {0}, item = {0};
	if ((rc = gs_push(cv, &cur, 0, -1)) != 0)
		return rc;
	for (size_t i = 0; i < s->n_group_clause; i++) {
		GsList next = {0};
		item.n = 0;
		if ((rc = group_item(cv, q, s->group_clause[i], &item)) != 0)
			return rc;
		for (int a = 0; a < cur.n; a++)
			for (int b = 0; b < item.n; b++)
				if ((rc = gs_push(cv, &next, cur.v[a] | item.v[b], -1)) != 0)
					return rc;
		cur = next;
	}
	if (s->group_distinct) {
		int n = 0;
		for (int a = 0; a < cur.n; a++) {
			int dup = 0;
			for (int b = 0; b < n && !dup; b++)
				dup = cur.v[b] == cur.v[a];
			if (!dup)
				cur.v[n++] = cur.v[a];
		}
		cur.n = n;
	}
	q->gsets = cur.v;
	q->ngsets = cur.n;
	return 0;
}

/* The first GROUPING() call in n, or NULL (subqueries are statements of
 * their own and not looked into). */
static const Ast *
grouping_call(const Ast *n)
{
	if (n == NULL)
		return NULL;
	if (n->kind == AST_FUNC && n->over == NULL && strcmp(n->name, "grouping") == 0)
		return n;
	for (int i = 0; i < n->nargs; i++) {
		const Ast *g = grouping_call(n->args[i]);
		if (g != NULL)
			return g;
	}
	return grouping_call(n->filter);
}

static int
grouping_error(Conv *cv, const Ast *g, const char *what)
{
	int rc = err_set(cv->e, ERR_GROUPING, "%s (at position %d)", what, g->pos);
	if (cv->e)
		cv->e->pos = g->pos;
	return rc;
}

/* GROUPING() may appear in the select list, HAVING and ORDER BY of a
 * grouped statement.  gsets.c replaces it per grouping set, so a plain
 * GROUP BY that calls it becomes the one set of all its keys. */
static int
check_grouping(Conv *cv, AstSelect *q)
{
	const Ast *g = grouping_call(q->where);
	if (g != NULL)
		return grouping_error(cv, g, "grouping operations are not allowed in WHERE");
	for (int i = 0; i < q->ngroup; i++)
		if ((g = grouping_call(q->group[i])) != NULL)
			return grouping_error(cv, g, "grouping operations are not allowed in GROUP BY");
	for (int i = 0; i < q->ntargets && g == NULL; i++)
		g = grouping_call(q->targets[i].expr);
	if (g == NULL)
		g = grouping_call(q->having);
	for (int i = 0; i < q->norder && g == NULL; i++)
		g = grouping_call(q->order[i].expr);
	if (g == NULL || q->ngsets > 0)
		return 0;
	if (q->ngroup == 0)
		return grouping_error(cv, g,
				      "arguments to GROUPING must be grouping expressions of the associated query level");
	if (q->ngroup > PGPARSE_MAX_GROUP_KEYS)
		return too_large(cv, "GROUPING with more than 64 GROUP BY expressions", g->pos - 1);
	if ((q->gsets = arena_alloc(cv->a, sizeof(uint64_t))) == NULL)
		return nomem(cv);
	q->gsets[0] = q->ngroup == 64 ? ~0ull : (1ull << q->ngroup) - 1;
	q->ngsets = 1;
	return 0;
}

/* ORDER BY items (SortBy nodes) into a new array. */
static int
conv_sortby(Conv *cv, PgQuery__Node **items, size_t n, AstOrder **out)
{
	AstOrder *o = arena_calloc(cv->a, sizeof(AstOrder) * (n + 1));
	if (o == NULL)
		return nomem(cv);
	for (size_t i = 0; i < n; i++) {
		if (items[i]->node_case != PG_QUERY__NODE__NODE_SORT_BY)
			return unsupported(cv, "ORDER BY item", -1);
		PgQuery__SortBy *sb = items[i]->sort_by;
		if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING)
			return unsupported(cv, "ORDER BY USING", sb->location);
		o[i].desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
		o[i].nulls = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ? 1
			   : sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST ? 2 : 0;
		int rc = conv_expr(cv, sb->node, &o[i].expr);
		if (rc != 0)
			return rc;
	}
	*out = o;
	return 0;
}

/* OVER (...) or OVER name: a named window (SELECT's WINDOW clause) is
 * copied in; OVER (name ORDER BY ...) adds to it as PostgreSQL allows
 * (the referenced window must not have an ORDER BY then, nor a frame). */
static int
conv_window(Conv *cv, PgQuery__WindowDef *w, AstWindow **out)
{
	AstWindow *aw = arena_calloc(cv->a, sizeof(AstWindow));
	if (aw == NULL)
		return nomem(cv);
	aw->pos = pos1(w->location);
	const char *ref = w->refname && w->refname[0] ? w->refname : w->name && w->name[0] ? w->name : NULL;
	PgQuery__WindowDef *base = NULL;
	if (ref != NULL) {
		for (size_t i = 0; i < cv->nwins && base == NULL; i++) {
			PgQuery__WindowDef *d = cv->wins[i]->window_def;
			if (d && d->name && strcmp(d->name, ref) == 0)
				base = d;
		}
		if (base == NULL) {
			int rc = err_set(cv->e, ERR_SQL_PARSE, "window \"%s\" does not exist at position %d", ref,
					 pos1(w->location));
			if (cv->e)
				cv->e->pos = pos1(w->location);
			return rc;
		}
		if (base == w)
			base = NULL;
	}
	PgQuery__WindowDef *pd = base && base->n_partition_clause > 0 ? base : w;
	int rc;
	if (base && w != base && w->n_partition_clause > 0)
		return unsupported(cv, "PARTITION BY over a named window", w->location);
	if (base && base->n_order_clause > 0 && w->n_order_clause > 0)
		return unsupported(cv, "ORDER BY over a named window that has one", w->location);
	aw->npart = (int)pd->n_partition_clause;
	if (aw->npart > 0) {
		if ((aw->part = arena_calloc(cv->a, sizeof(Ast *) * pd->n_partition_clause)) == NULL)
			return nomem(cv);
		for (size_t i = 0; i < pd->n_partition_clause; i++)
			if ((rc = conv_expr(cv, pd->partition_clause[i], &aw->part[i])) != 0)
				return rc;
	}
	PgQuery__WindowDef *od = base && base->n_order_clause > 0 ? base : w;
	aw->norder = (int)od->n_order_clause;
	if (aw->norder > 0 && (rc = conv_sortby(cv, od->order_clause, od->n_order_clause, &aw->order)) != 0)
		return rc;
	PgQuery__WindowDef *fd = (w->frame_options & AST_FRAME_NONDEFAULT) || base == NULL ? w : base;
	aw->frame_options = fd->frame_options;
	if (aw->frame_options & AST_FRAME_GROUPS)
		return unsupported(cv, "GROUPS frames", w->location);
	if (fd->start_offset && (rc = conv_expr(cv, fd->start_offset, &aw->start_off)) != 0)
		return rc;
	if (fd->end_offset && (rc = conv_expr(cv, fd->end_offset, &aw->end_off)) != 0)
		return rc;
	*out = aw;
	return 0;
}

/* ORDER BY, LIMIT, OFFSET of s into q. */
static int
conv_order_limit(Conv *cv, PgQuery__SelectStmt *s, AstSelect *q)
{
	int rc;
	if (s->n_sort_clause > 0) {
		q->norder = (int)s->n_sort_clause;
		if ((rc = conv_sortby(cv, s->sort_clause, s->n_sort_clause, &q->order)) != 0)
			return rc;
	}
	if (s->limit_count && (rc = conv_expr(cv, s->limit_count, &q->limit)) != 0)
		return rc;
	if (s->limit_offset && (rc = conv_expr(cv, s->limit_offset, &q->offset)) != 0)
		return rc;
	return 0;
}

static int conv_select(Conv *cv, PgQuery__SelectStmt *s, AstSelect *q);
static int conv_sub(Conv *cv, PgQuery__Node *n, int location, struct AstSelect **out);

/* One table, derived table or WITH query of a FROM list with joins. */
static int
conv_from_item(Conv *cv, PgQuery__Node *f, AstFrom *it)
{
	int rc;
	if (f->node_case == PG_QUERY__NODE__NODE_RANGE_SUBSELECT) {
		PgQuery__RangeSubselect *rs = f->range_subselect;
		if (rs->lateral)
			return unsupported(cv, "LATERAL", -1);
		if (rs->alias == NULL || rs->alias->aliasname == NULL)
			return err_set(cv->e, ERR_SQL_PARSE, "a subquery in FROM must have an alias");
		if (rs->alias->n_colnames > 0)
			return unsupported(cv, "column names after a subquery's alias", -1);
		if ((rc = conv_sub(cv, rs->subquery, -1, &it->sub)) != 0)
			return rc;
		if ((it->alias = arena_strdup(cv->a, rs->alias->aliasname)) == NULL)
			return nomem(cv);
		return 0;
	}
	if (f->node_case == PG_QUERY__NODE__NODE_RANGE_FUNCTION) {
		/* generate_series(...) s: query.c computes its rows */
		PgQuery__RangeFunction *rf = f->range_function;
		const char *fname = NULL;
		if (rf->lateral || rf->ordinality || rf->is_rowsfrom || rf->n_functions != 1 || rf->n_coldeflist > 0 ||
		    (rf->alias && rf->alias->n_colnames > 1))
			return unsupported(cv, "this function in FROM (LATERAL, WITH ORDINALITY, ROWS FROM, column lists)",
					   -1);
		if (rf->functions[0]->node_case == PG_QUERY__NODE__NODE_LIST && rf->functions[0]->list->n_items > 0 &&
		    rf->functions[0]->list->items[0]->node_case == PG_QUERY__NODE__NODE_FUNC_CALL) {
			PgQuery__Node *fn = rf->functions[0]->list->items[0];
			PgQuery__FuncCall *fc = fn->func_call;
			fname = fc->n_funcname > 0 ? str_of(fc->funcname[fc->n_funcname - 1]) : NULL;
			if ((rc = conv_expr(cv, fn, &it->fcall)) != 0)
				return rc;
			it->table_pos = pos1(fc->location);
		}
		if (it->fcall == NULL)
			return unsupported(cv, "this function in FROM", -1);
		it->func = 1;
		it->table = arena_strdup(cv->a, fname ? fname : "function");
		it->alias = arena_strdup(cv->a, rf->alias && rf->alias->aliasname ? rf->alias->aliasname
									: fname ? fname : "function");
		if (it->table == NULL || it->alias == NULL)
			return nomem(cv);
		if (rf->alias && rf->alias->n_colnames == 1) {
			/* f(...) a(c) (pgjdbc: generate_series(1, 32) pos(n)) is
			 * (SELECT c FROM f(...) c) a: the function's column is
			 * named after the item's alias (query.c) */
			const char *col = str_of(rf->alias->colnames[0]);
			AstSelect *q = arena_calloc(cv->a, sizeof(AstSelect));
			AstFrom *fi = arena_calloc(cv->a, sizeof(AstFrom));
			AstTarget *tg = arena_calloc(cv->a, sizeof(AstTarget));
			Ast *cr = mk(cv, AST_COLREF, -1, 0);
			if (col == NULL)
				return unsupported(cv, "this column name list", -1);
			if (q == NULL || fi == NULL || tg == NULL || cr == NULL ||
			    (cr->name = arena_strdup(cv->a, col)) == NULL)
				return nomem(cv);
			cr->quoted = 1;
			*fi = *it;
			fi->alias = cr->name;
			fi->on = NULL;
			fi->nusing = 0;
			fi->usings = NULL;
			fi->natural = 0;
			fi->join = AST_JOIN_INNER;
			tg->expr = cr;
			q->ntargets = 1;
			q->targets = tg;
			q->nfrom = 1;
			q->from = fi;
			it->func = 0;
			it->fcall = NULL;
			it->table = NULL;
			it->sub = q;
		}
		return 0;
	}
	if (f->node_case != PG_QUERY__NODE__NODE_RANGE_VAR)
		return unsupported(cv, "this FROM item", -1);
	PgQuery__RangeVar *rv = f->range_var;
	const char *alias = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : NULL;
	if (rv->alias && rv->alias->n_colnames > 0)
		return unsupported(cv, "column names after a table's alias", rv->location);
	for (Cte *ct = cv->ctes; ct; ct = ct->next) {
		if ((rv->schemaname && rv->schemaname[0]) || strcmp(ct->name, rv->relname ? rv->relname : "") != 0)
			continue;
		it->sub = ct->q;
		if ((it->alias = arena_strdup(cv->a, alias ? alias : ct->name)) == NULL)
			return nomem(cv);
		return 0;
	}
	if (rv->catalogname && rv->catalogname[0])
		return unsupported(cv, "catalog-qualified table name", rv->location);
	if ((it->table = arena_strdup(cv->a, rv->relname ? rv->relname : "")) == NULL)
		return nomem(cv);
	if (rv->schemaname && rv->schemaname[0]) {
		if ((it->schema = arena_strdup(cv->a, rv->schemaname)) == NULL)
			return nomem(cv);
		const char *dot = strchr(cv->sql + rv->location, '.');
		it->table_quoted = dot != NULL && dot[1] == '"';
	} else {
		it->table_quoted = quoted_at(cv, rv->location);
	}
	it->table_pos = pos1(rv->location);
	if ((it->alias = arena_strdup(cv->a, alias ? alias : it->table)) == NULL)
		return nomem(cv);
	return 0;
}

/* Flattens a join tree into q->from, left-deep: the leftmost item of
 * node takes the join (type, ON) that attaches node to what precedes. */
static int
conv_join_tree(Conv *cv, PgQuery__Node *node, AstJoin jt, PgQuery__JoinExpr *how, AstSelect *q)
{
	int rc;
	if (node->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR) {
		PgQuery__JoinExpr *j = node->join_expr;
		if (j->alias != NULL || j->join_using_alias != NULL)
			return unsupported(cv, "an alias on a JOIN", -1);
		if (j->rarg->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR)
			return unsupported(cv, "a parenthesized JOIN on the right of a JOIN", -1);
		AstJoin t;
		switch (j->jointype) {
		case PG_QUERY__JOIN_TYPE__JOIN_INNER:
			t = j->quals == NULL && j->n_using_clause == 0 && !j->is_natural ? AST_JOIN_CROSS
											 : AST_JOIN_INNER;
			break;
		case PG_QUERY__JOIN_TYPE__JOIN_LEFT: t = AST_JOIN_LEFT; break;
		case PG_QUERY__JOIN_TYPE__JOIN_RIGHT: t = AST_JOIN_RIGHT; break;
		case PG_QUERY__JOIN_TYPE__JOIN_FULL: t = AST_JOIN_FULL; break;
		default: return unsupported(cv, "this kind of JOIN", -1);
		}
		if ((rc = conv_join_tree(cv, j->larg, jt, how, q)) != 0)
			return rc;
		return conv_join_tree(cv, j->rarg, t, j, q);
	}
	if (q->nfrom >= 64)
		return unsupported(cv, "more than 64 tables in one FROM", -1);
	if (q->nfrom % 8 == 0) {
		AstFrom *nf = arena_calloc(cv->a, sizeof(AstFrom) * (size_t)(q->nfrom + 8));
		if (nf == NULL)
			return nomem(cv);
		if (q->nfrom)
			memcpy(nf, q->from, sizeof(AstFrom) * (size_t)q->nfrom);
		q->from = nf;
	}
	AstFrom *it = &q->from[q->nfrom];
	memset(it, 0, sizeof(*it));
	if ((rc = conv_from_item(cv, node, it)) != 0)
		return rc;
	cv->cur = q;
	it->join = jt;
	if (how != NULL && q->nfrom > 0) {
		if (how->quals && (rc = conv_expr(cv, how->quals, &it->on)) != 0)
			return rc;
		it->natural = how->is_natural;
		if (how->n_using_clause > 0) {
			it->nusing = (int)how->n_using_clause;
			if ((it->usings = arena_calloc(cv->a, sizeof(char *) * how->n_using_clause)) == NULL)
				return nomem(cv);
			for (size_t i = 0; i < how->n_using_clause; i++) {
				const char *nm = str_of(how->using_clause[i]);
				if (nm == NULL || (it->usings[i] = arena_strdup(cv->a, nm)) == NULL)
					return nomem(cv);
			}
		}
	}
	q->nfrom++;
	return 0;
}

/* A branch of UNION [ALL]: a SELECT, or a nested set operation of the
 * same kind, flattened into q's branch list. */
static int
conv_branches(Conv *cv, PgQuery__SelectStmt *s, PgQuery__SetOperation op, int all, int flat, AstSelect *q)
{
	/* a chain of one operation flattens, EXCEPT only along its left
	 * side: (a EXCEPT b) EXCEPT c is [a, b, c], a EXCEPT (b EXCEPT c) is
	 * not */
	int rflat = flat && op != PG_QUERY__SET_OPERATION__SETOP_EXCEPT;
	if (flat && s->op == op && s->all == all && s->n_sort_clause == 0 && s->limit_count == NULL &&
	    s->limit_offset == NULL && s->with_clause == NULL) {
		int rc = conv_branches(cv, s->larg, op, all, flat, q);
		return rc ? rc : conv_branches(cv, s->rarg, op, all, rflat, q);
	}
	if (q->nbranch >= 256)
		return unsupported(cv, "more than 256 UNION / INTERSECT / EXCEPT branches", -1);
	AstSelect *b = arena_calloc(cv->a, sizeof(AstSelect));
	if (b == NULL)
		return nomem(cv);
	cv->depth++;
	Cte *saved = cv->ctes;
	AstSelect *outer = cv->cur;
	PgQuery__Node **owins = cv->wins;
	size_t onwins = cv->nwins;
	int rc = conv_select(cv, s, b);
	cv->ctes = saved;
	cv->cur = outer;
	cv->wins = owins;
	cv->nwins = onwins;
	cv->depth--;
	if (rc != 0)
		return rc;
	if (q->nbranch % 8 == 0) {
		AstSelect **nb = arena_alloc(cv->a, sizeof(AstSelect *) * (size_t)(q->nbranch + 8));
		if (nb == NULL)
			return nomem(cv);
		if (q->nbranch)
			memcpy(nb, q->branches, sizeof(AstSelect *) * (size_t)q->nbranch);
		q->branches = nb;
	}
	q->branches[q->nbranch++] = b;
	return 0;
}

/* A nested SELECT (a subquery in FROM, a WITH query) into a new AstSelect. */
static int
conv_sub(Conv *cv, PgQuery__Node *n, int location, AstSelect **out)
{
	if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
		return unsupported(cv, "this subquery", location);
	if (cv->depth >= 64)
		return unsupported(cv, "subqueries nested more than 64 deep", location);
	AstSelect *q = arena_calloc(cv->a, sizeof(AstSelect));
	if (q == NULL)
		return nomem(cv);
	cv->depth++;
	Cte *saved = cv->ctes;
	AstSelect *outer = cv->cur;
	PgQuery__Node **owins = cv->wins;
	size_t onwins = cv->nwins;
	int rc = conv_select(cv, n->select_stmt, q);
	cv->ctes = saved;	/* the subquery's own WITH queries end with it */
	cv->cur = outer;
	cv->wins = owins;
	cv->nwins = onwins;
	cv->depth--;
	*out = q;
	return rc;
}

/* WITH a AS (...), b AS (...): each in scope for the ones after it and
 * for the statement. */
static int
conv_with(Conv *cv, PgQuery__WithClause *w)
{
	if (w->recursive)
		return unsupported(cv, "WITH RECURSIVE", w->location);
	for (size_t i = 0; i < w->n_ctes; i++) {
		PgQuery__Node *n = w->ctes[i];
		if (n->node_case != PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
			return unsupported(cv, "this WITH item", w->location);
		PgQuery__CommonTableExpr *c = n->common_table_expr;
		if (c->n_aliascolnames > 0)
			return unsupported(cv, "column names after a WITH query's name", c->location);
		Cte *ct = arena_calloc(cv->a, sizeof(Cte));
		if (ct == NULL || (ct->name = arena_strdup(cv->a, c->ctename ? c->ctename : "")) == NULL)
			return nomem(cv);
		int rc = conv_sub(cv, c->ctequery, c->location, &ct->q);
		if (rc != 0)
			return rc;
		ct->next = cv->ctes;
		cv->ctes = ct;
	}
	return 0;
}

static int
conv_select(Conv *cv, PgQuery__SelectStmt *s, AstSelect *q)
{
	int rc;
	cv->cur = q;
	if (s->with_clause && (rc = conv_with(cv, s->with_clause)) != 0)
		return rc;
	if (s->n_locking_clause > 0)
		return unsupported(cv, "FOR UPDATE/SHARE", -1);
	if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
		q->setop = s->op == PG_QUERY__SET_OPERATION__SETOP_INTERSECT ? AST_SETOP_INTERSECT
			 : s->op == PG_QUERY__SET_OPERATION__SETOP_EXCEPT ? AST_SETOP_EXCEPT : AST_SETOP_UNION;
		if (cv->depth >= 64)
			return unsupported(cv, "subqueries nested more than 64 deep", -1);
		q->union_distinct = !s->all;
		if ((rc = conv_branches(cv, s->larg, s->op, s->all, 1, q)) != 0 ||
		    (rc = conv_branches(cv, s->rarg, s->op, s->all, s->op != PG_QUERY__SET_OPERATION__SETOP_EXCEPT,
					q)) != 0)
			return rc;
		cv->cur = q;
		if ((rc = conv_order_limit(cv, s, q)) != 0)
			return rc;
		return check_grouping(cv, q);
	}
	if (s->n_values_lists > 0)
		return unsupported(cv, "VALUES", -1);
	if (s->into_clause)
		return unsupported(cv, "SELECT INTO", -1);
	cv->wins = s->window_clause;
	cv->nwins = s->n_window_clause;
	if (s->n_locking_clause > 0)
		return unsupported(cv, "FOR UPDATE/SHARE", -1);
	if (s->limit_option == PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_WITH_TIES)
		return unsupported(cv, "FETCH ... WITH TIES", -1);
	if (s->n_distinct_clause > 0) {
		if (s->distinct_clause[0] != NULL &&
		    s->distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET)
			return unsupported(cv, "DISTINCT ON", -1);
		q->distinct = 1;
	}
	if (s->n_from_clause > 1 ||
	    (s->n_from_clause == 1 && (s->from_clause[0]->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR ||
				       s->from_clause[0]->node_case == PG_QUERY__NODE__NODE_RANGE_FUNCTION))) {
		for (size_t i = 0; i < s->n_from_clause; i++)
			if ((rc = conv_join_tree(cv, s->from_clause[i], i ? AST_JOIN_CROSS : AST_JOIN_INNER, NULL, q)) != 0)
				return rc;
		cv->cur = q;
	} else if (s->n_from_clause == 1) {
		PgQuery__Node *f = s->from_clause[0];
		if (f->node_case == PG_QUERY__NODE__NODE_RANGE_SUBSELECT) {
			PgQuery__RangeSubselect *rs = f->range_subselect;
			if (rs->lateral)
				return unsupported(cv, "LATERAL", -1);
			if ((rc = conv_sub(cv, rs->subquery, -1, &q->from_sub)) != 0)
				return rc;
			q->from_alias = rs->alias && rs->alias->aliasname
					? arena_strdup(cv->a, rs->alias->aliasname) : "subquery";
			if (q->from_alias == NULL)
				return nomem(cv);
			if (rs->alias && rs->alias->n_colnames > 0)
				return unsupported(cv, "column names after a subquery's alias", -1);
		} else if (f->node_case != PG_QUERY__NODE__NODE_RANGE_VAR) {
			if (f->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR)
				return unsupported(cv, "JOIN", -1);
			return unsupported(cv, "this FROM item", -1);
		}
		PgQuery__RangeVar *rv = f->node_case == PG_QUERY__NODE__NODE_RANGE_VAR ? f->range_var : NULL;
		for (Cte *ct = cv->ctes; rv && ct; ct = ct->next) {
			if ((rv->schemaname && rv->schemaname[0]) || strcmp(ct->name, rv->relname ? rv->relname : "") != 0)
				continue;
			q->from_sub = ct->q;
			q->from_alias = rv->alias && rv->alias->aliasname ? arena_strdup(cv->a, rv->alias->aliasname)
									  : ct->name;
			if (q->from_alias == NULL)
				return nomem(cv);
			rv = NULL;
		}
	}
	if (s->n_from_clause == 1 && q->from_sub == NULL && q->nfrom == 0) {
		PgQuery__RangeVar *rv = s->from_clause[0]->range_var;
		if (rv->alias && rv->alias->aliasname &&
		    (q->from_alias = arena_strdup(cv->a, rv->alias->aliasname)) == NULL)
			return nomem(cv);
		if (rv->catalogname && rv->catalogname[0])
			return unsupported(cv, "catalog-qualified table name", rv->location);
		if ((q->table = arena_strdup(cv->a, rv->relname ? rv->relname : "")) == NULL)
			return nomem(cv);
		if (rv->schemaname && rv->schemaname[0]) {
			if ((q->schema = arena_strdup(cv->a, rv->schemaname)) == NULL)
				return nomem(cv);
			const char *p = cv->sql + rv->location;
			const char *dot = strchr(p, '.');
			q->table_quoted = dot != NULL && dot[1] == '"';
		} else {
			q->table_quoted = quoted_at(cv, rv->location);
		}
		q->table_pos = pos1(rv->location);
	}
	q->ntargets = (int)s->n_target_list;
	q->targets = arena_calloc(cv->a, sizeof(AstTarget) * (s->n_target_list + 1));
	if (q->targets == NULL)
		return nomem(cv);
	for (size_t i = 0; i < s->n_target_list; i++) {
		PgQuery__Node *t = s->target_list[i];
		if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET)
			return unsupported(cv, "select item", -1);
		PgQuery__ResTarget *rt = t->res_target;
		if (rt->n_indirection > 0)
			return unsupported(cv, "subscript", rt->location);
		if ((rc = conv_expr(cv, rt->val, &q->targets[i].expr)) != 0)
			return rc;
		if (rt->name && rt->name[0] && (q->targets[i].alias = arena_strdup(cv->a, rt->name)) == NULL)
			return nomem(cv);
		q->targets[i].pos = pos1(rt->location);
	}
	if (s->where_clause && (rc = conv_expr(cv, s->where_clause, &q->where)) != 0)
		return rc;
	if (s->n_group_clause > 0 && (rc = conv_group(cv, s, q)) != 0)
		return rc;
	if (s->having_clause && (rc = conv_expr(cv, s->having_clause, &q->having)) != 0)
		return rc;
	if ((rc = conv_order_limit(cv, s, q)) != 0)
		return rc;
	return check_grouping(cv, q);
}

static int
conv_set(Conv *cv, PgQuery__VariableSetStmt *v, AstSelect *q)
{
	if (v->kind != PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE || v->n_args != 1)
		return unsupported(cv, "this SET form", -1);
	Ast *val;
	int rc = conv_expr(cv, v->args[0], &val);
	if (rc != 0)
		return rc;
	if (val->kind != AST_CONST)
		return unsupported(cv, "SET to a non-constant", val->pos - 1);
	AstOption *o = arena_alloc(cv->a, sizeof(AstOption) * (size_t)(q->noptions + 1));
	if (o == NULL)
		return nomem(cv);
	if (q->noptions > 0)
		memcpy(o, q->options, sizeof(AstOption) * (size_t)q->noptions);
	o[q->noptions].name = arena_strdup(cv->a, v->name ? v->name : "");
	o[q->noptions].val = val->val;
	q->options = o;
	q->noptions++;
	return 0;
}

/* SHOW name is SELECT current_setting('name') AS name (PostgreSQL names
 * the column after the setting; SHOW ALL is not supported). */
static int
conv_show(Conv *cv, PgQuery__VariableShowStmt *v, int32_t loc, AstSelect *q)
{
	const char *name = v->name ? v->name : "";
	if (strcasecmp(name, "all") == 0)
		return unsupported(cv, "SHOW ALL", loc);
	if (strcasecmp(name, "transaction_isolation") == 0 || strcasecmp(name, "transaction isolation level") == 0)
		name = "transaction_isolation";
	Ast *f = mk(cv, AST_FUNC, loc, 1), *c = mk(cv, AST_CONST, loc, 0);
	q->targets = arena_calloc(cv->a, sizeof(AstTarget));
	char *d = lower_dup(cv, name);
	if (f == NULL || c == NULL || q->targets == NULL || d == NULL)
		return nomem(cv);
	c->val = value_str(TYPE_STRING, d, (uint32_t)strlen(d));
	c->lit_string = 1;
	f->name = "current_setting";
	f->args[0] = c;
	q->ntargets = 1;
	q->targets[0].expr = f;
	q->targets[0].alias = d;
	q->targets[0].pos = pos1(loc);
	return 0;
}

static int
parse_here(const char *sql, Arena *a, AstSelect **out, Err *e)
{
	Conv cv = {.sql = sql, .sqllen = strlen(sql), .a = a, .e = e};
	PgQueryProtobufParseResult pr = pg_query_parse_protobuf(sql);
	int rc = 0;

	if (pr.error != NULL) {
		int p = pr.error->cursorpos;
		if (p > 0)
			rc = err_set(e, ERR_SQL_PARSE, "%s at position %d", pr.error->message, p);
		else
			rc = err_set(e, ERR_SQL_PARSE, "%s", pr.error->message);
		if (e)
			e->pos = p;
		pg_query_free_protobuf_parse_result(pr);
		return rc;
	}
	PgQuery__ParseResult *res = pg_query__parse_result__unpack(NULL, pr.parse_tree.len,
								   (const uint8_t *)pr.parse_tree.data);
	pg_query_free_protobuf_parse_result(pr);
	if (res == NULL)
		return err_set(e, ERR_INTERNAL, "cannot unpack the parse tree");
	AstSelect *q = arena_calloc(a, sizeof(AstSelect));
	if (q == NULL) {
		rc = nomem(&cv);
		goto done;
	}
	int nsel = 0;
	for (size_t i = 0; i < res->n_stmts && rc == 0; i++) {
		PgQuery__RawStmt *raw = res->stmts[i];
		PgQuery__Node *st = raw->stmt;
		if (st == NULL)
			continue;
		if (nsel > 0) {
			rc = unsupported(&cv, "more than one query (only SET statements may precede it)",
					 raw->stmt_location);
			break;
		}
		switch (st->node_case) {
		case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
			rc = conv_set(&cv, st->variable_set_stmt, q);
			break;
		case PG_QUERY__NODE__NODE_SELECT_STMT:
			rc = conv_select(&cv, st->select_stmt, q);
			nsel++;
			break;
		case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
			rc = conv_show(&cv, st->variable_show_stmt, raw->stmt_location, q);
			nsel++;
			break;
		case PG_QUERY__NODE__NODE_EXPLAIN_STMT: {
			PgQuery__Node *inner = st->explain_stmt->query;
			if (inner == NULL || inner->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
				rc = unsupported(&cv, "EXPLAIN of this statement", raw->stmt_location);
				break;
			}
			q->explain = 1;
			rc = conv_select(&cv, inner->select_stmt, q);
			nsel++;
			break;
		}
		default:
			rc = unsupported(&cv, "statements other than SELECT", raw->stmt_location);
		}
	}
	if (rc == 0 && nsel == 0)
		rc = err_set(e, ERR_SQL_PARSE, "no SELECT statement found");
done:
	pg_query__parse_result__free_unpacked(res, NULL);
	if (rc == 0)
		*out = q;
	return rc;
}

typedef struct ParseJob {
	const char *sql;
	Arena *a;
	AstSelect **out;
	Err *e;
	int rc;
} ParseJob;

static void *
parse_thread(void *arg)
{
	ParseJob *j = arg;
	j->rc = parse_here(j->sql, j->a, j->out, j->e);
	return NULL;
}

/*
 * libpg_query and protobuf-c recurse once per nesting level of the tree
 * (1+1+1+... nests as deep as it is long), and a thread's usual stack
 * ends at a few thousand levels.  Long statements therefore parse on a
 * thread of their own with a large stack (reserved, touched only as
 * deep as the statement goes); conv_expr then refuses trees deeper than
 * PGPARSE_MAX_DEPTH, so nothing after the parser recurses further.
 */
int
pgparse_parse(const char *sql, Arena *a, AstSelect **out, Err *e)
{
	size_t len = strlen(sql);
	if (len > PGPARSE_MAX_SQL)
		return err_set(e, ERR_TOO_LARGE, "SQL text too large: %zu bytes; at most %d are accepted", len,
			       PGPARSE_MAX_SQL);
	if (len < 4096)
		return parse_here(sql, a, out, e);
	ParseJob j = {sql, a, out, e, 0};
	pthread_attr_t at;
	pthread_t th;
	if (pthread_attr_init(&at) != 0)
		return err_set(e, ERR_NOMEM, "cannot start the parser thread");
	pthread_attr_setstacksize(&at, (size_t)256 << 20);
	int prc = pthread_create(&th, &at, parse_thread, &j);
	pthread_attr_destroy(&at);
	if (prc != 0)
		return err_set(e, ERR_NOMEM, "cannot start the parser thread: %s", strerror(prc));
	pthread_join(th, NULL);
	return j.rc;
}

int
pgparse_fingerprint(const char *sql, uint64_t *fp, Err *e)
{
	PgQueryFingerprintResult r = pg_query_fingerprint(sql);
	int rc = 0;
	if (r.error != NULL) {
		rc = err_set(e, ERR_SQL_PARSE, "%s at position %d", r.error->message, r.error->cursorpos);
		if (e)
			e->pos = r.error->cursorpos;
	} else {
		*fp = r.fingerprint;
	}
	pg_query_free_fingerprint_result(r);
	return rc;
}
