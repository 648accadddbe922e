/*
 * lookup.c -- Pinot's LOOKUP() UDF (a lookup join against a dimension
 * table) as a rewrite of the statement into LEFT JOINs.
 *
 *   LOOKUP('dimTable', 'dimCol', 'dimKey1', factKey1 [, 'dimKey2', factKey2 ...])
 *
 * How it works.  Every statement of the tree is visited (derived tables,
 * UNION branches, join inputs and subqueries in expressions each on
 * their own, inner statements first).  In one statement, each LOOKUP
 * call is checked (string literals for the table, column and key names;
 * 4, 6, 8 ... arguments; the table and columns exist) and replaced, in
 * place, by a column reference "__lookupN"."__lkN_cM".  Calls with the
 * same table, the same dim keys and equal fact key expressions share
 * join N; the looked-up columns of a join are collected as the calls
 * are met.  A call inside another call's fact key is rewritten first, so
 * its join comes earlier in FROM and the outer call can join on it.
 *
 * Then the statement's FROM becomes a list of items (a plain table or a
 * derived table turns into from[0]; existing joins stay as they are;
 * without FROM a one-row derived table stands in) and each join is
 * appended as
 *
 *   LEFT JOIN (SELECT "__lkN_k0", ..., "__lkN_c0", ...
 *              FROM (SELECT "dimKey1" AS "__lkN_k0", ..., "dimCol" AS "__lkN_c0", ...,
 *                           row_number() OVER (PARTITION BY keys) AS "__lkN_rn",
 *                           count(*) OVER (PARTITION BY keys) AS "__lkN_n"
 *                    FROM "dimTable") AS "__lkN_d"
 *              WHERE "__lkN_rn" = "__lkN_n") AS "__lookupN"
 *     ON factKey1 = "__lookupN"."__lkN_k0" AND ...
 *
 * The derived table shows only the key and looked-up columns under
 * generated names, so the fact table's unqualified column names stay
 * unambiguous.  It keeps one row per key: the last in scan order (the
 * window sort is stable and a table is scanned oldest segment first), so
 * -- like Pinot, where a later row with the same primary key replaces an
 * earlier one -- the join never multiplies fact rows.  A fact key that is
 * a constant becomes a filter inside the derived table instead of a join
 * key (the join then has fewer or no keys: at most one dim row remains).
 * In a grouped statement, the looked-up columns of a join whose fact
 * keys are all GROUP BY items (or constants) are added to GROUP BY:
 * they are determined by the group, so the groups stay the same and
 * `SELECT k, LOOKUP(..., k), count(*) ... GROUP BY k` binds.
 * An unqualified `*` in the select list is replaced by one `alias.*` per
 * original FROM item, so the generated columns do not show.  An unaliased
 * select item that is just a LOOKUP call keeps the name Pinot gives it,
 * lookup('dimTable','dimCol','dimKey',factKey) (plain column and literal
 * arguments; the bare name "lookup" otherwise).
 *
 * Differences from Pinot: any table may be looked up, not only one
 * configured with "isDimTable" (Waybill does not track that flag), and
 * the keys need not be its primaryKeyColumns.  Keys compare as JOIN keys
 * do: numbers by value across integer and float types, strings
 * bytewise, a string never equals a number (Pinot converts the fact
 * value to the dim key's type; write CAST(x AS VARCHAR) here).  A fact
 * key expression over a derived table (not a plain column of it) or over
 * several FROM items cannot be a hash key, so that join filters a cross
 * product: correct but slow for large inputs.  LOOKUP in a JOIN's ON
 * condition or in the ORDER BY of a UNION is not supported.
 *
 * Memory: every new node, name and generated statement lives in the
 * arena given to lookup_rewrite (the statement's).  Table and schema
 * references taken from the catalog are released before returning.
 *
 * Failure: ERR_SQL_PARSE (argument count, a name that is not a string
 * literal), ERR_TABLE_MISSING, ERR_COLUMN_MISSING, ERR_INVALID (a
 * multi-value key column), ERR_UNSUPPORTED, ERR_NOMEM; each message
 * names the call's position, which also goes to e->pos.  On failure the
 * statement may be half rewritten and must be discarded.
 *
 * Exports: lookup_rewrite.
 */
#include "query/lookup.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/mem.h"
#include "query/bind.h"
#include "query/pgparse.h"

#define MAX_DEPTH 2000

/* One LEFT JOIN of a dimension table. */
typedef struct LkJoin {
	int id;			/* N of "__lookupN" */
	int pos;		/* the first call's position */
	const char *table;	/* the catalog's name */
	int nkeys;
	const char **dkeys;	/* dim key columns (schema spelling) */
	Ast **fkeys;		/* fact key expressions */
	int ncols, cap;
	const char **cols;	/* looked-up columns, in order of first use */
	struct LkJoin *next;
} LkJoin;

typedef struct Rw {
	Catalog *c;
	Arena *a;
	Err *e;
	int next_id;		/* statement-wide, so names never repeat */
	int changed;
} Rw;

/* The joins of the statement being rewritten; list NULL where LOOKUP
 * cannot go (what names the place). */
typedef struct Site {
	LkJoin *list, *last;
	const char *forbid;
} Site;

static int rewrite_select(Rw *r, AstSelect *q, int depth);

static int
nomem(Rw *r)
{
	return err_set(r->e, ERR_NOMEM, "out of memory");
}

static int
fail_at(Rw *r, int code, int pos, const char *msg)
{
	int rc = err_set(r->e, code, "LOOKUP at position %d: %s", pos, msg);
	r->e->pos = pos;
	return rc;
}

static int
is_lookup(const Ast *n)
{
	return n->kind == AST_FUNC && n->over == NULL && n->name != NULL && strcmp(n->name, "lookup") == 0;
}

static const char *
str_arg(const Ast *n)
{
	if (n == NULL || n->kind != AST_CONST || n->val.null || n->val.mv || !type_is_var((WbType)n->val.type))
		return NULL;
	return n->val.u.s ? n->val.u.s : "";
}

/* A string argument's text, NUL-terminated, in the arena (NULL: not a
 * string literal, or out of memory with *oom set). */
static const char *
lit(Rw *r, const Ast *n, int *oom)
{
	const char *s = str_arg(n);
	if (s == NULL)
		return NULL;
	char *d = arena_strndup(r->a, s, n->val.n);
	if (d == NULL)
		*oom = 1;
	return d;
}

/* A column of sc by exact name, else ignoring case; its schema spelling
 * copied into the arena, or an error naming it. */
static int
find_col(Rw *r, const Schema *sc, const char *table, const char *name, const char *what, int pos, int key,
	 const char **out)
{
	int i = schema_find(sc, name);
	if (i < 0)
		i = schema_find_ci(sc, name);
	char msg[600];
	if (i == -2) {
		snprintf(msg, sizeof(msg), "%s '%s' matches several columns of table '%s' (they differ only in case)",
			 what, name, table);
		return fail_at(r, ERR_AMBIGUOUS, pos, msg);
	}
	if (i < 0) {
		snprintf(msg, sizeof(msg), "%s '%s' is not a column of dimension table '%s'", what, name, table);
		return fail_at(r, ERR_COLUMN_MISSING, pos, msg);
	}
	if (key && !sc->fields[i].single_value) {
		snprintf(msg, sizeof(msg), "join key '%s' of table '%s' is a multi-value column", name, table);
		return fail_at(r, ERR_INVALID, pos, msg);
	}
	if ((*out = arena_strdup(r->a, sc->fields[i].name)) == NULL)
		return nomem(r);
	return 0;
}

/* 1 if x and y, equal to bind_ast_equal (which ignores qualifiers),
 * also qualify their columns alike and hold the same subqueries and
 * windows: t.k and u.k are different fact keys. */
static int
same_refs(const Ast *x, const Ast *y)
{
	if (x == y)
		return 1;
	if (x == NULL || y == NULL || x->nargs != y->nargs || x->sub != y->sub || x->over != y->over)
		return 0;
	if ((x->qual == NULL) != (y->qual == NULL) || (x->qual && strcasecmp(x->qual, y->qual) != 0))
		return 0;
	for (int i = 0; i < x->nargs; i++)
		if (!same_refs(x->args[i], y->args[i]))
			return 0;
	return same_refs(x->filter, y->filter);
}

static int
same_join(const LkJoin *j, const char *table, int nkeys, const char **dkeys, Ast **fkeys)
{
	if (strcmp(j->table, table) != 0 || j->nkeys != nkeys)
		return 0;
	for (int k = 0; k < nkeys; k++)
		if (strcmp(j->dkeys[k], dkeys[k]) != 0 || !bind_ast_equal(j->fkeys[k], fkeys[k]) ||
		    !same_refs(j->fkeys[k], fkeys[k]))
			return 0;
	return 1;
}

/* Checks call n and turns it into a column reference of its join. */
static int
rewrite_call(Rw *r, Site *s, Ast *n)
{
	char msg[600];
	if (s->forbid != NULL) {
		snprintf(msg, sizeof(msg), "LOOKUP is not supported in %s", s->forbid);
		return fail_at(r, ERR_UNSUPPORTED, n->pos, msg);
	}
	if (n->star || n->distinct || n->filter != NULL)
		return fail_at(r, ERR_SQL_PARSE, n->pos, "LOOKUP takes no *, DISTINCT or FILTER");
	if (n->nargs < 4 || n->nargs % 2 != 0) {
		snprintf(msg, sizeof(msg),
			 "expected LOOKUP('dimTable', 'dimColumn', 'dimJoinKey', factJoinKey [, 'dimJoinKey2', "
			 "factJoinKey2 ...]): 4, 6, 8 ... arguments, got %d",
			 n->nargs);
		return fail_at(r, ERR_SQL_PARSE, n->pos, msg);
	}
	int oom = 0;
	for (int i = 0; i < n->nargs; i++) {
		if (i >= 3 && i % 2 == 1)
			continue;
		if (str_arg(n->args[i]) == NULL) {
			const char *what = i == 0 ? "the dimension table name" : i == 1 ? "the column to look up"
											  : "a dim join key name";
			snprintf(msg, sizeof(msg), "argument %d (%s) must be a string literal", i + 1, what);
			return fail_at(r, ERR_SQL_PARSE, n->args[i]->pos > 0 ? n->args[i]->pos : n->pos, msg);
		}
	}
	const char *tname = lit(r, n->args[0], &oom);
	const char *cname = lit(r, n->args[1], &oom);
	if (oom)
		return nomem(r);
	Table *t = NULL;
	if (r->c != NULL && (t = catalog_get_table(r->c, tname)) == NULL)
		t = catalog_get_table_ci(r->c, tname);
	if (t == NULL) {
		snprintf(msg, sizeof(msg), "dimension table '%s' does not exist", tname);
		return fail_at(r, ERR_TABLE_MISSING, n->args[0]->pos > 0 ? n->args[0]->pos : n->pos, msg);
	}
	int nkeys = (n->nargs - 2) / 2, rc = 0;
	const Schema *sc = table_schema(t);
	const char *table = arena_strdup(r->a, table_name(t));
	const char *col = NULL;
	const char **dkeys = arena_calloc(r->a, sizeof(char *) * (size_t)nkeys);
	Ast **fkeys = arena_calloc(r->a, sizeof(Ast *) * (size_t)nkeys);
	if (table == NULL || dkeys == NULL || fkeys == NULL)
		rc = nomem(r);
	if (rc == 0)
		rc = find_col(r, sc, table, cname, "column to look up", n->pos, 0, &col);
	for (int k = 0; rc == 0 && k < nkeys; k++) {
		const char *kn = lit(r, n->args[2 + 2 * k], &oom);
		if (oom) {
			rc = nomem(r);
			break;
		}
		rc = find_col(r, sc, table, kn, "join key", n->pos, 1, &dkeys[k]);
		fkeys[k] = n->args[3 + 2 * k];
	}
	table_unref(t);
	if (rc != 0)
		return rc;
	LkJoin *j = s->list;
	while (j != NULL && !same_join(j, table, nkeys, dkeys, fkeys))
		j = j->next;
	if (j == NULL) {
		if ((j = arena_calloc(r->a, sizeof(LkJoin))) == NULL)
			return nomem(r);
		*j = (LkJoin){++r->next_id, n->pos, table, nkeys, dkeys, fkeys, 0, 0, NULL, NULL};
		if (s->last)
			s->last->next = j;
		else
			s->list = j;
		s->last = j;
	}
	int ci = 0;
	while (ci < j->ncols && strcmp(j->cols[ci], col) != 0)
		ci++;
	if (ci == j->ncols) {
		if (j->ncols == j->cap) {
			int nc = j->cap ? j->cap * 2 : 4;
			const char **v = arena_alloc(r->a, sizeof(char *) * (size_t)nc);
			if (v == NULL)
				return nomem(r);
			if (j->ncols)
				memcpy(v, j->cols, sizeof(char *) * (size_t)j->ncols);
			j->cols = v;
			j->cap = nc;
		}
		j->cols[j->ncols++] = col;
	}
	const char *qual = arena_printf(r->a, "__lookup%d", j->id);
	const char *name = arena_printf(r->a, "__lk%d_c%d", j->id, ci);
	if (qual == NULL || name == NULL)
		return nomem(r);
	int pos = n->pos;
	memset(n, 0, sizeof(*n));
	n->kind = AST_COLREF;
	n->pos = pos;
	n->qual = qual;
	n->name = name;
	n->quoted = 1;
	r->changed = 1;
	return 0;
}

/* Rewrites the LOOKUP calls of expression n (inner ones first) and the
 * statements of its subqueries. */
static int
walk(Rw *r, Site *s, Ast *n, int depth)
{
	if (n == NULL)
		return 0;
	if (depth > MAX_DEPTH)
		return err_set(r->e, ERR_TOO_LARGE, "expression nested too deeply");
	int rc;
	for (int i = 0; i < n->nargs; i++)
		if ((rc = walk(r, s, n->args[i], depth + 1)) != 0)
			return rc;
	if ((rc = walk(r, s, n->filter, depth + 1)) != 0)
		return rc;
	if (n->over != NULL) {
		for (int i = 0; i < n->over->npart; i++)
			if ((rc = walk(r, s, n->over->part[i], depth + 1)) != 0)
				return rc;
		for (int i = 0; i < n->over->norder; i++)
			if ((rc = walk(r, s, n->over->order[i].expr, depth + 1)) != 0)
				return rc;
	}
	if (n->kind == AST_SUBLINK && (rc = rewrite_select(r, n->sub, depth + 1)) != 0)
		return rc;
	if (is_lookup(n))
		return rewrite_call(r, s, n);
	return 0;
}

/* Pinot's name for an unaliased select item LOOKUP(...):
 * lookup('dimTable','dimCol','dimKey',factKey), or "lookup" when an
 * argument is more than a column or a literal. */
static const char *
call_name(Rw *r, const Ast *n, const Schema *fact)
{
	Buf b;
	buf_init(&b);
	buf_puts(&b, "lookup(");
	int ok = 1;
	for (int i = 0; ok && i < n->nargs; i++) {
		const Ast *x = n->args[i];
		if (i)
			buf_putc(&b, ',');
		if (x->kind == AST_COLREF && x->qual == NULL) {
			int c = fact && !x->quoted ? schema_find_ci(fact, x->name) : -1;
			buf_puts(&b, c >= 0 ? fact->fields[c].name : x->name);
		} else if (x->kind == AST_CONST && !x->val.null && !x->val.mv) {
			buf_putc(&b, '\'');
			value_format(&x->val, &b);
			buf_putc(&b, '\'');
		} else {
			ok = 0;
		}
	}
	buf_putc(&b, ')');
	const char *name = ok && !b.oom ? arena_strndup(r->a, b.p, b.len) : NULL;
	buf_free(&b);
	return name ? name : "lookup";
}

/* Appends `"name"` to b, doubling quotes. */
static void
quote(Buf *b, const char *name)
{
	buf_putc(b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

static Ast *
mk(Rw *r, AstKind k, int pos, int nargs)
{
	Ast *n = arena_calloc(r->a, sizeof(Ast));
	if (n == NULL)
		return NULL;
	n->kind = k;
	n->pos = pos;
	n->nargs = nargs;
	if (nargs > 0 && (n->args = arena_calloc(r->a, sizeof(Ast *) * (size_t)nargs)) == NULL)
		return NULL;
	return n;
}

static Ast *
mk_colref(Rw *r, const char *qual, const char *name, int pos)
{
	Ast *n = mk(r, AST_COLREF, pos, 0);
	if (n != NULL) {
		n->qual = qual;
		n->name = name;
		n->quoted = 1;
	}
	return n;
}

static Ast *
mk_eq(Rw *r, Ast *x, Ast *y, int pos)
{
	Ast *n = mk(r, AST_OP, pos, 2);
	if (n != NULL) {
		n->name = "=";
		n->args[0] = x;
		n->args[1] = y;
	}
	return n;
}

static Ast *
mk_and(Rw *r, Ast *x, Ast *y, int pos)
{
	if (x == NULL)
		return y;
	Ast *n = mk(r, AST_AND, pos, 2);
	if (n != NULL) {
		n->args[0] = x;
		n->args[1] = y;
	}
	return n;
}

/* The derived table of join j (see the file comment) and its ON
 * condition (NULL when every fact key is a constant). */
static int
dim_input(Rw *r, const LkJoin *j, AstSelect **sub, Ast **on)
{
	Buf b;
	buf_init(&b);
	int N = j->id;
	buf_puts(&b, "SELECT ");
	for (int k = 0; k < j->nkeys; k++)
		buf_printf(&b, "\"__lk%d_k%d\", ", N, k);
	for (int c = 0; c < j->ncols; c++)
		buf_printf(&b, "%s\"__lk%d_c%d\"", c ? ", " : "", N, c);
	buf_puts(&b, " FROM (SELECT ");
	for (int k = 0; k < j->nkeys; k++) {
		quote(&b, j->dkeys[k]);
		buf_printf(&b, " AS \"__lk%d_k%d\", ", N, k);
	}
	for (int c = 0; c < j->ncols; c++) {
		quote(&b, j->cols[c]);
		buf_printf(&b, " AS \"__lk%d_c%d\", ", N, c);
	}
	for (int w = 0; w < 2; w++) {
		buf_puts(&b, w ? "count(*)" : "row_number()");
		buf_puts(&b, " OVER (PARTITION BY ");
		for (int k = 0; k < j->nkeys; k++) {
			if (k)
				buf_puts(&b, ", ");
			quote(&b, j->dkeys[k]);
		}
		buf_printf(&b, ") AS \"__lk%d_%s\"%s", N, w ? "n" : "rn", w ? "" : ", ");
	}
	buf_puts(&b, " FROM ");
	quote(&b, j->table);
	buf_printf(&b, ") AS \"__lk%d_d\" WHERE \"__lk%d_rn\" = \"__lk%d_n\"", N, N, N);
	if (b.oom) {
		buf_free(&b);
		return nomem(r);
	}
	char *sql = buf_take(&b);
	int rc = sql ? pgparse_parse(sql, r->a, sub, r->e) : nomem(r);
	buf_free(&b);
	mem_free(sql);
	if (rc != 0)
		return rc;
	/* constant fact keys filter the dim rows; the others are join keys */
	AstSelect *inner = (*sub)->from_sub;
	const char *qual = arena_printf(r->a, "__lookup%d", N);
	if (inner == NULL || qual == NULL)
		return nomem(r);
	*on = NULL;
	for (int k = 0; k < j->nkeys; k++) {
		Ast *fk = j->fkeys[k], *eq;
		if (fk->kind == AST_CONST) {
			Ast *dk = mk_colref(r, NULL, j->dkeys[k], j->pos);
			if (dk == NULL || (eq = mk_eq(r, dk, fk, j->pos)) == NULL ||
			    (inner->where = mk_and(r, inner->where, eq, j->pos)) == NULL)
				return nomem(r);
			continue;
		}
		const char *kn = arena_printf(r->a, "__lk%d_k%d", N, k);
		Ast *dk = kn ? mk_colref(r, qual, kn, j->pos) : NULL;
		if (dk == NULL || (eq = mk_eq(r, fk, dk, j->pos)) == NULL || (*on = mk_and(r, *on, eq, j->pos)) == NULL)
			return nomem(r);
	}
	return 0;
}

/* Joins the dimension tables of s->list to q's FROM. */
static int
attach(Rw *r, AstSelect *q, Site *s)
{
	int nj = 0, nbase, rc;
	for (LkJoin *j = s->list; j; j = j->next)
		nj++;
	AstFrom one = {0};
	const AstFrom *base = q->from;
	nbase = q->nfrom;
	if (q->nfrom == 0) {
		base = &one;
		nbase = 1;
		if (q->table != NULL) {
			one.table = q->table;
			one.schema = q->schema;
			one.table_quoted = q->table_quoted;
			one.table_pos = q->table_pos;
			one.alias = q->from_alias ? q->from_alias : q->table;
		} else if (q->from_sub != NULL) {
			one.sub = q->from_sub;
			one.alias = q->from_alias ? q->from_alias : "__lookup_fact";
		} else {
			/* no FROM: one row to decorate */
			if ((rc = pgparse_parse("SELECT 1 AS \"__lookup_one\"", r->a, &one.sub, r->e)) != 0)
				return rc;
			one.alias = "__lookup_fact";
		}
		one.join = AST_JOIN_INNER;
	}
	AstFrom *from = arena_calloc(r->a, sizeof(AstFrom) * (size_t)(nbase + nj));
	if (from == NULL)
		return nomem(r);
	memcpy(from, base, sizeof(AstFrom) * (size_t)nbase);
	int i = nbase;
	for (LkJoin *j = s->list; j; j = j->next, i++) {
		AstFrom *f = &from[i];
		if ((rc = dim_input(r, j, &f->sub, &f->on)) != 0)
			return rc;
		if ((f->alias = arena_printf(r->a, "__lookup%d", j->id)) == NULL)
			return nomem(r);
		f->join = AST_JOIN_LEFT;
	}
	/* SELECT *: the original items' columns only */
	int nstar = 0;
	for (int t = 0; t < q->ntargets; t++)
		nstar += q->targets[t].expr->kind == AST_STAR && q->targets[t].expr->qual == NULL;
	if (nstar > 0) {
		int nt = q->ntargets + nstar * (nbase - 1);
		AstTarget *ts = arena_calloc(r->a, sizeof(AstTarget) * (size_t)(nt + 1));
		if (ts == NULL)
			return nomem(r);
		int o = 0;
		for (int t = 0; t < q->ntargets; t++) {
			const AstTarget *tg = &q->targets[t];
			if (tg->expr->kind != AST_STAR || tg->expr->qual != NULL) {
				ts[o++] = *tg;
				continue;
			}
			for (int k = 0; k < nbase; k++) {
				Ast *st = mk(r, AST_STAR, tg->expr->pos, 0);
				if (st == NULL)
					return nomem(r);
				st->qual = from[k].alias;
				ts[o] = *tg;
				ts[o++].expr = st;
			}
		}
		q->targets = ts;
		q->ntargets = o;
	}
	q->table = NULL;
	q->schema = NULL;
	q->table_quoted = 0;
	q->table_pos = 0;
	q->from_sub = NULL;
	q->from_alias = NULL;
	q->from = from;
	q->nfrom = nbase + nj;
	return 0;
}

static int
walk_all(Rw *r, Site *s, Ast **v, int n, int depth)
{
	for (int i = 0; i < n; i++) {
		int rc = walk(r, s, v[i], depth);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* In a grouped statement, a looked-up column whose fact keys are all
 * GROUP BY items (or constants) is determined by the group, so it joins
 * GROUP BY too: SELECT k, LOOKUP(..., k), count(*) ... GROUP BY k works.
 * (Not with GROUPING SETS, whose sets are masks over the items.) */
static int
group_lookups(Rw *r, AstSelect *q, const Site *s)
{
	if (q->ngroup == 0 || q->ngsets > 0)
		return 0;
	int add = 0;
	for (const LkJoin *j = s->list; j; j = j->next)
		add += j->ncols;
	Ast **g = arena_calloc(r->a, sizeof(Ast *) * (size_t)(q->ngroup + add));
	if (g == NULL)
		return nomem(r);
	memcpy(g, q->group, sizeof(Ast *) * (size_t)q->ngroup);
	int ng = q->ngroup;
	for (const LkJoin *j = s->list; j; j = j->next) {
		int all = 1;
		for (int k = 0; all && k < j->nkeys; k++) {
			int found = j->fkeys[k]->kind == AST_CONST;
			for (int i = 0; !found && i < q->ngroup; i++)
				found = bind_ast_equal(q->group[i], j->fkeys[k]) && same_refs(q->group[i], j->fkeys[k]);
			all = found;
		}
		for (int c = 0; all && c < j->ncols; c++) {
			Ast *x = mk_colref(r, arena_printf(r->a, "__lookup%d", j->id), arena_printf(r->a, "__lk%d_c%d", j->id, c),
					   j->pos);
			if (x == NULL || x->qual == NULL || x->name == NULL)
				return nomem(r);
			int dup = 0;
			for (int i = 0; !dup && i < ng; i++)
				dup = bind_ast_equal(g[i], x) && same_refs(g[i], x);
			if (!dup)
				g[ng++] = x;
		}
	}
	q->group = g;
	q->ngroup = ng;
	return 0;
}

static int
rewrite_select(Rw *r, AstSelect *q, int depth)
{
	if (q == NULL)
		return 0;
	if (depth > MAX_DEPTH)
		return err_set(r->e, ERR_TOO_LARGE, "statements nested too deeply");
	int rc;
	if ((rc = rewrite_select(r, q->from_sub, depth + 1)) != 0)
		return rc;
	for (int i = 0; i < q->nbranch; i++)
		if ((rc = rewrite_select(r, q->branches[i], depth + 1)) != 0)
			return rc;
	for (int i = 0; i < q->nfrom; i++)
		if ((rc = rewrite_select(r, q->from[i].sub, depth + 1)) != 0)
			return rc;
	Site no = {NULL, NULL, "a JOIN's ON condition"};
	for (int i = 0; i < q->nfrom; i++)
		if ((rc = walk(r, &no, q->from[i].on, depth + 1)) != 0)
			return rc;
	Site s = {NULL, NULL, q->nbranch > 0 ? "the ORDER BY of a set operation" : NULL};
	/* a plain table's schema spells the column names of the item names */
	Table *ft = NULL;
	for (int i = 0; i < q->ntargets; i++) {
		AstTarget *t = &q->targets[i];
		if (t->alias != NULL || t->expr == NULL || !is_lookup(t->expr))
			continue;
		if (ft == NULL && q->table != NULL && q->schema == NULL && r->c != NULL)
			ft = q->table_quoted ? catalog_get_table(r->c, q->table) : catalog_get_table_ci(r->c, q->table);
		t->alias = call_name(r, t->expr, ft ? table_schema(ft) : NULL);
	}
	if (ft != NULL)
		table_unref(ft);
	for (int i = 0; i < q->ntargets; i++)
		if ((rc = walk(r, &s, q->targets[i].expr, depth + 1)) != 0)
			return rc;
	if ((rc = walk(r, &s, q->where, depth + 1)) != 0 ||
	    (rc = walk_all(r, &s, q->group, q->ngroup, depth + 1)) != 0 ||
	    (rc = walk(r, &s, q->having, depth + 1)) != 0)
		return rc;
	for (int i = 0; i < q->norder; i++)
		if ((rc = walk(r, &s, q->order[i].expr, depth + 1)) != 0)
			return rc;
	Site lim = {NULL, NULL, "LIMIT or OFFSET"};
	if ((rc = walk(r, &lim, q->limit, depth + 1)) != 0 || (rc = walk(r, &lim, q->offset, depth + 1)) != 0)
		return rc;
	if (s.list == NULL)
		return 0;
	return (rc = group_lookups(r, q, &s)) != 0 ? rc : attach(r, q, &s);
}

int
lookup_rewrite(Catalog *c, AstSelect *q, Arena *a, int *changed, Err *e)
{
	Rw r = {c, a, e, 0, 0};
	*changed = 0;
	int rc = rewrite_select(&r, q, 0);
	*changed = rc == 0 && r.changed;
	return rc;
}
