/*
 * joinplan.c -- plans a SELECT over several FROM items joined together.
 *
 * Joins run over materialized rows, left-deep in FROM order: the rows of
 * items 0..i-1, already joined, are joined to item i's rows by a hash
 * join (join.c).  Each table item is read by a statement of its own, the
 * scan, which asks for the columns the query uses (no more), computes key
 * expressions, and applies the filters that concern that item alone, so
 * the engine's pruning and indexes still work per table.  The statement
 * itself then runs over the joined rows as over a derived table whose
 * columns are named "alias.column"; joinplan rewrites its column
 * references to those names.
 *
 * What goes where:
 *   - a WHERE conjunct over one item that no outer join null-extends is
 *     pushed into that item's scan;
 *   - an equality between the items joined so far and item i (from ON,
 *     USING, NATURAL, or from WHERE for inner joins) becomes a hash key;
 *     each side is a column or an expression over one table item (then an
 *     extra scan column);
 *   - an ON conjunct over item i alone is pushed into its scan (inner and
 *     LEFT joins); a LEFT JOIN's ON conjuncts over one left table become a
 *     boolean scan column that gates matching;
 *   - any other conjunct of an inner join goes to the final WHERE; those
 *     of an outer join make a residual statement (JoinPlan.resid) that
 *     filters the step's inner-join pairs before the unmatched rows are
 *     added back with NULLs.
 * Without a key a step is a cross product (bounded by the memory budget).
 *
 * An unqualified * lists the columns as PostgreSQL does: a USING /
 * NATURAL step's merged columns once and first (the left value, the
 * right one for RIGHT JOIN, COALESCE of both for FULL JOIN), then the
 * rest of the left side, then the right item's (star_cols).
 *
 * Name resolution follows SQL: a qualified name by its item's alias (or
 * table name), an unqualified one must belong to one item (else
 * ERR_AMBIGUOUS) unless USING / NATURAL merged it.  An unqualified name
 * in step i's ON sees only items 0..i, the items joined so far (as in
 * PostgreSQL): on_step qualifies it with its item's alias first.  Names that resolve to
 * nothing are left alone for the final binder to report (or to match a
 * select alias in ORDER BY).  Everything is allocated in the caller's
 * arena.
 *
 * Exports: joinplan_plan.
 */
#include "query/joinplan.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "query/agg.h"
#include "query/bind.h"

typedef struct Ref {
	int item, col;
} Ref;

/* One side of a key: a column of an item, or an extra scan column. */
typedef struct Side {
	int item;
	int col;		/* >= 0: a column of the item */
	int extra;		/* >= 0: extra scan column */
} Side;

typedef struct Merge {
	const char *name;
	Ref use;		/* what the unqualified name means */
	Ref other;		/* FULL JOIN: the name means COALESCE(use, other) */
	int full;
} Merge;

typedef struct P {
	const AstSelect *q;
	const JoinInput *in;
	Arena *a;
	Err *e;
	JoinPlan *jp;
	int n;
	const char ***full;	/* full[i][c]: "alias.column" */
	uint8_t **needed;
	Ast ***extra;		/* per item: extra scan expressions */
	int *nextra;
	Ast **pushed;		/* per item: AND of pushed conjuncts */
	Ast **resid;		/* per step: AND of residual ON conjuncts */
	Side **lk, **rk;	/* per step: keys */
	int *nk;
	int *lcond;		/* per step: extra index of the gate, -1 */
	int *lcond_item;
	uint8_t *nullext;	/* item may be null-extended */
	Merge *merges;
	int nmerges;
	Ast **where;		/* remaining WHERE conjuncts (original) */
	int nwhere;
} P;

static int
nomem(P *p)
{
	return err_set(p->e, ERR_NOMEM, "out of memory");
}

static int
fail(P *p, int code, int pos, const char *what)
{
	int rc = pos > 0 ? err_set(p->e, code, "%s (at position %d)", what, pos) : err_set(p->e, code, "%s", what);
	if (p->e)
		p->e->pos = pos;
	return rc;
}

static int
name_eq(const char *a, const char *b, int quoted)
{
	return quoted ? strcmp(a, b) == 0 : strcasecmp(a, b) == 0;
}

/* 1 and *r when n resolves among items 0..lim-1, 0 when it does not,
 * ERR_AMBIGUOUS. */
static int
resolve(P *p, const Ast *n, int lim, Ref *r)
{
	if (n->qual != NULL) {
		for (int i = 0; i < lim; i++) {
			if (strcasecmp(p->q->from[i].alias, n->qual) != 0)
				continue;
			for (int c = 0; c < p->in[i].ncols; c++)
				if (name_eq(p->in[i].names[c], n->name, n->quoted)) {
					*r = (Ref){i, c};
					return 1;
				}
			return 0;
		}
		return 0;
	}
	int found = 0;
	for (int i = 0; i < lim; i++)
		for (int c = 0; c < p->in[i].ncols; c++)
			if (name_eq(p->in[i].names[c], n->name, n->quoted)) {
				if (found++ == 0)
					*r = (Ref){i, c};
			}
	if (found <= 1)
		return found;
	for (int m = p->nmerges; m-- > 0;)
		if (name_eq(p->merges[m].name, n->name, n->quoted) && p->merges[m].use.item < lim) {
			*r = p->merges[m].use;
			return 1;
		}
	char msg[300];
	snprintf(msg, sizeof(msg), "column reference '%s' is ambiguous", n->name);
	return fail(p, ERR_AMBIGUOUS, n->pos, msg);
}

/* The items n's columns belong to (bits), *unres when a name resolves
 * to nothing, *agg when n calls an aggregate. */
static int
items_of(P *p, const Ast *n, int lim, uint64_t *mask, int *unres, int *agg)
{
	AggKind k;
	if (n == NULL)
		return 0;
	if (n->kind == AST_COLREF) {
		Ref r;
		int rc = resolve(p, n, lim, &r);
		if (rc < 0)
			return rc;
		if (rc == 0)
			*unres = 1;
		else
			*mask |= (uint64_t)1 << r.item;
		return 0;
	}
	if (n->kind == AST_STAR || n->kind == AST_SUBLINK || n->over != NULL)
		*unres = 1;
	if (n->kind == AST_FUNC && agg_lookup_args(n->name, n->distinct, n->nargs, &k) == 0)
		*agg = 1;
	for (int i = 0; i < n->nargs; i++) {
		int rc = items_of(p, n->args[i], lim, mask, unres, agg);
		if (rc != 0)
			return rc;
	}
	return items_of(p, n->filter, lim, mask, unres, agg);
}

/* Splits an AND tree into its conjuncts (appended to *v). */
static int
conjuncts(P *p, Ast *n, Ast ***v, int *nv, int *cap)
{
	if (n == NULL)
		return 0;
	if (n->kind == AST_AND) {
		for (int i = 0; i < n->nargs; i++) {
			int rc = conjuncts(p, n->args[i], v, nv, cap);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	if (*nv >= *cap) {
		int nc = *cap ? *cap * 2 : 8;
		Ast **nvv = arena_alloc(p->a, sizeof(Ast *) * (size_t)nc);
		if (nvv == NULL)
			return nomem(p);
		if (*nv)
			memcpy(nvv, *v, sizeof(Ast *) * (size_t)*nv);
		*v = nvv;
		*cap = nc;
	}
	(*v)[(*nv)++] = n;
	return 0;
}

static Ast *
mk_and(P *p, Ast *x, Ast *y)
{
	if (x == NULL)
		return y;
	if (y == NULL)
		return x;
	Ast *n = arena_calloc(p->a, sizeof(Ast));
	Ast **args = arena_calloc(p->a, sizeof(Ast *) * 2);
	if (n == NULL || args == NULL)
		return NULL;
	n->kind = AST_AND;
	n->nargs = 2;
	n->args = args;
	args[0] = x;
	args[1] = y;
	n->pos = x->pos;
	return n;
}

static int
add_extra(P *p, int item, Ast *x)
{
	for (int i = 0; i < p->nextra[item]; i++)
		if (bind_ast_equal(p->extra[item][i], x))
			return i;
	if (p->nextra[item] % 8 == 0) {
		Ast **nv = arena_alloc(p->a, sizeof(Ast *) * (size_t)(p->nextra[item] + 8));
		if (nv == NULL)
			return nomem(p);
		if (p->nextra[item])
			memcpy(nv, p->extra[item], sizeof(Ast *) * (size_t)p->nextra[item]);
		p->extra[item] = nv;
	}
	p->extra[item][p->nextra[item]] = x;
	return p->nextra[item]++;
}

/* A key side over one item: a column, or an expression over one table
 * item (computed by its scan).  0 = fine, 1 = cannot be a key side. */
static int
key_side(P *p, Ast *x, int lim, uint64_t mask, Side *s)
{
	int item = __builtin_ctzll(mask);
	if (x->kind == AST_COLREF) {
		Ref r;
		int rc = resolve(p, x, lim, &r);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return 1;
		*s = (Side){r.item, r.col, -1};
		return 0;
	}
	if ((mask & (mask - 1)) != 0 || !p->in[item].is_table)
		return 1;
	int k = add_extra(p, item, x);
	if (k < 0)
		return k;
	*s = (Side){item, -1, k};
	return 0;
}

static int
add_key(P *p, int step, Side l, Side r)
{
	if (p->nk[step] % 8 == 0) {
		Side *nl = arena_alloc(p->a, sizeof(Side) * (size_t)(p->nk[step] + 8));
		Side *nr = arena_alloc(p->a, sizeof(Side) * (size_t)(p->nk[step] + 8));
		if (nl == NULL || nr == NULL)
			return nomem(p);
		if (p->nk[step]) {
			memcpy(nl, p->lk[step], sizeof(Side) * (size_t)p->nk[step]);
			memcpy(nr, p->rk[step], sizeof(Side) * (size_t)p->nk[step]);
		}
		p->lk[step] = nl;
		p->rk[step] = nr;
	}
	p->lk[step][p->nk[step]] = l;
	p->rk[step][p->nk[step]] = r;
	p->nk[step]++;
	return 0;
}

/* If c is `x = y` with x over items before step and y over item step
 * (or the reverse), adds it as a key: 1 when it did, 0 when c is not
 * such an equality. */
static int
try_key(P *p, int step, Ast *c)
{
	if (c->kind != AST_OP || c->nargs != 2 || strcmp(c->name, "=") != 0)
		return 0;
	uint64_t mx = 0, my = 0, left = ((uint64_t)1 << step) - 1, right = (uint64_t)1 << step;
	int ux = 0, uy = 0, ax = 0, ay = 0, rc;
	if ((rc = items_of(p, c->args[0], step + 1, &mx, &ux, &ax)) != 0 ||
	    (rc = items_of(p, c->args[1], step + 1, &my, &uy, &ay)) != 0)
		return rc;
	if (ux || uy || ax || ay || mx == 0 || my == 0)
		return 0;
	Ast *lx = c->args[0], *ry = c->args[1];
	uint64_t ml = mx, mr = my;
	if ((mx & ~left) == 0 && my == right) {
	} else if ((my & ~left) == 0 && mx == right) {
		lx = c->args[1];
		ry = c->args[0];
		ml = my;
		mr = mx;
	} else {
		return 0;
	}
	Side ls, rs;
	if ((rc = key_side(p, lx, step + 1, ml, &ls)) != 0 || (rc = key_side(p, ry, step + 1, mr, &rs)) != 0)
		return rc < 0 ? rc : 0;
	return (rc = add_key(p, step, ls, rs)) != 0 ? rc : 1;
}

static int
push(P *p, int item, Ast *c)
{
	if ((p->pushed[item] = mk_and(p, p->pushed[item], c)) == NULL)
		return nomem(p);
	return 0;
}

static int
keep_where(P *p, Ast *c)
{
	Ast **nv = arena_alloc(p->a, sizeof(Ast *) * (size_t)(p->nwhere + 1));
	if (nv == NULL)
		return nomem(p);
	if (p->nwhere)
		memcpy(nv, p->where, sizeof(Ast *) * (size_t)p->nwhere);
	nv[p->nwhere++] = c;
	p->where = nv;
	return 0;
}

/* USING (names) / NATURAL of step i: equality keys on same-named
 * columns, merged for unqualified references. */
static int
using_keys(P *p, int i)
{
	const AstFrom *f = &p->q->from[i];
	const char **names = (const char **)f->usings;
	int n = f->nusing;
	if (f->natural) {
		names = arena_calloc(p->a, sizeof(char *) * (size_t)(p->in[i].ncols + 1));
		if (names == NULL)
			return nomem(p);
		n = 0;
		for (int c = 0; c < p->in[i].ncols; c++) {
			Ast probe = {.kind = AST_COLREF, .name = p->in[i].names[c], .quoted = 1};
			Ref r;
			int rc = resolve(p, &probe, i, &r);
			if (rc < 0)
				return rc;
			if (rc == 1)
				names[n++] = p->in[i].names[c];
		}
	}
	for (int k = 0; k < n; k++) {
		Ast probe = {.kind = AST_COLREF, .name = names[k], .quoted = f->natural};
		Ref l, r;
		int rc = resolve(p, &probe, i, &l);
		if (rc < 0)
			return rc;
		int rr = -1;
		for (int c = 0; c < p->in[i].ncols && rr < 0; c++)
			if (name_eq(p->in[i].names[c], names[k], f->natural))
				rr = c;
		if (rc == 0 || rr < 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "column \"%s\" specified in USING is missing on one side of the join",
				 names[k]);
			return fail(p, ERR_COLUMN_MISSING, 0, msg);
		}
		r = (Ref){i, rr};
		if ((rc = add_key(p, i, (Side){l.item, l.col, -1}, (Side){r.item, r.col, -1})) != 0)
			return rc;
		Merge *nm = arena_alloc(p->a, sizeof(Merge) * (size_t)(p->nmerges + 1));
		if (nm == NULL)
			return nomem(p);
		if (p->nmerges)
			memcpy(nm, p->merges, sizeof(Merge) * (size_t)p->nmerges);
		nm[p->nmerges++] = (Merge){names[k], f->join == AST_JOIN_RIGHT ? r : l, f->join == AST_JOIN_RIGHT ? l : r,
					   f->join == AST_JOIN_FULL};
		p->merges = nm;
	}
	return 0;
}

/* A copy of n whose unqualified column references that name a column
 * of items 0..lim-1 are qualified with that item's alias: an ON clause
 * sees only the items joined so far, so a name there may be ambiguous
 * among all the items but not among those (PostgreSQL's scoping).  Done
 * before the conjunct moves to WHERE, a residual or a scan.  A FULL
 * JOIN's merged USING name stays as it is (rewrite makes it COALESCE);
 * names found nowhere stay for the final binder. */
static int
qualify(P *p, Ast *n, int lim, Ast **out)
{
	*out = n;
	if (n == NULL)
		return 0;
	if (n->kind == AST_COLREF) {
		if (n->qual != NULL)
			return 0;
		for (int m = 0; m < p->nmerges; m++)
			if (p->merges[m].full && name_eq(p->merges[m].name, n->name, n->quoted))
				return 0;
		Ref r;
		int rc = resolve(p, n, lim, &r);
		if (rc <= 0)
			return rc;
		Ast *c = arena_alloc(p->a, sizeof(Ast));
		if (c == NULL)
			return nomem(p);
		*c = *n;
		c->qual = p->q->from[r.item].alias;
		c->name = p->in[r.item].names[r.col];
		c->quoted = 1;
		*out = c;
		return 0;
	}
	if (n->nargs == 0 && n->filter == NULL)
		return 0;
	Ast *c = arena_alloc(p->a, sizeof(Ast));
	if (c == NULL)
		return nomem(p);
	*c = *n;
	if (n->nargs > 0 && (c->args = arena_calloc(p->a, sizeof(Ast *) * (size_t)n->nargs)) == NULL)
		return nomem(p);
	for (int i = 0; i < n->nargs; i++) {
		int rc = qualify(p, n->args[i], lim, &c->args[i]);
		if (rc != 0)
			return rc;
	}
	*out = c;
	return qualify(p, n->filter, lim, &c->filter);
}

/* The ON conjuncts of step i. */
static int
on_step(P *p, int i)
{
	const AstFrom *f = &p->q->from[i];
	AstJoin t = f->join;
	int outer = t == AST_JOIN_LEFT || t == AST_JOIN_RIGHT || t == AST_JOIN_FULL;
	Ast **cs = NULL;
	int ncs = 0, cap = 0, rc;
	uint64_t left = ((uint64_t)1 << i) - 1, right = (uint64_t)1 << i;
	if ((rc = using_keys(p, i)) != 0)
		return rc;
	if ((rc = conjuncts(p, f->on, &cs, &ncs, &cap)) != 0)
		return rc;
	for (int k = 0; k < ncs; k++) {
		Ast *c = NULL;
		if ((rc = qualify(p, cs[k], i + 1, &c)) != 0)
			return rc;
		if ((rc = try_key(p, i, c)) < 0)
			return rc;
		if (rc == 1)
			continue;
		uint64_t m = 0;
		int unres = 0, agg = 0;
		if ((rc = items_of(p, c, i + 1, &m, &unres, &agg)) != 0)
			return rc;
		if (agg)
			return fail(p, ERR_GROUPING, c->pos, "aggregate functions are not allowed in JOIN conditions");
		if (unres && !outer) {
			if ((rc = keep_where(p, c)) != 0)
				return rc;
			continue;
		}
		if (!unres && m == right && t != AST_JOIN_RIGHT && t != AST_JOIN_FULL && p->in[i].is_table) {
			if ((rc = push(p, i, c)) != 0)
				return rc;
			continue;
		}
		if (!outer) {
			if ((rc = keep_where(p, c)) != 0)
				return rc;
			continue;
		}
		if (!unres && t == AST_JOIN_LEFT && m != 0 && (m & ~left) == 0 && (m & (m - 1)) == 0 &&
		    p->in[__builtin_ctzll(m)].is_table &&
		    (p->lcond_item[i] < 0 || p->lcond_item[i] == __builtin_ctzll(m))) {
			int item = __builtin_ctzll(m);
			Ast *g = p->lcond_item[i] >= 0 ? mk_and(p, p->extra[item][p->lcond[i]], c) : c;
			if (g == NULL)
				return nomem(p);
			/* a new gate expression: an extra column of its own */
			if (p->lcond_item[i] >= 0)
				p->extra[item][p->lcond[i]] = g;
			else if ((rc = add_extra(p, item, g)) < 0)
				return rc;
			else
				p->lcond[i] = rc;
			p->lcond_item[i] = item;
			continue;
		}
		if ((p->resid[i] = mk_and(p, p->resid[i], c)) == NULL)
			return nomem(p);
	}
	return 0;
}

static int rewrite(P *p, const Ast *n, Ast **out);

/* The residual statements of the outer join steps (after the final
 * statement, before the scans: they too mark the columns they read). */
static int
build_resid(P *p)
{
	for (int i = 1; i < p->n; i++) {
		if (p->resid[i] == NULL)
			continue;
		AstSelect *s = arena_calloc(p->a, sizeof(AstSelect));
		AstTarget *ts = arena_calloc(p->a, sizeof(AstTarget) * 2);
		Ast *l = arena_calloc(p->a, sizeof(Ast)), *r = arena_calloc(p->a, sizeof(Ast));
		if (s == NULL || ts == NULL || l == NULL || r == NULL)
			return nomem(p);
		*l = (Ast){.kind = AST_COLREF, .name = "__lrid", .quoted = 1};
		*r = (Ast){.kind = AST_COLREF, .name = "__rrid", .quoted = 1};
		ts[0] = (AstTarget){l, "__lrid", 0};
		ts[1] = (AstTarget){r, "__rrid", 0};
		s->ntargets = 2;
		s->targets = ts;
		s->noptions = p->q->noptions;
		s->options = p->q->options;
		int rc = rewrite(p, p->resid[i], &s->where);
		if (rc != 0)
			return rc;
		p->jp->resid[i] = s;
	}
	return 0;
}

/* A copy of n whose column references name the joined columns. */
static int colref_of(P *p, int item, int col, Ast **out);
static int mk_coalesce(P *p, Ast *x, Ast *y, Ast **out);

static int
rewrite(P *p, const Ast *n, Ast **out)
{
	if (n == NULL) {
		*out = NULL;
		return 0;
	}
	for (int m = p->nmerges; n->kind == AST_COLREF && n->qual == NULL && m-- > 0;) {
		const Merge *mg = &p->merges[m];
		if (!mg->full || !name_eq(mg->name, n->name, n->quoted))
			continue;
		/* a FULL JOIN's USING column: whichever side has it */
		Ast *x = NULL, *y = NULL;
		int rc;
		if ((rc = colref_of(p, mg->use.item, mg->use.col, &x)) != 0 ||
		    (rc = colref_of(p, mg->other.item, mg->other.col, &y)) != 0 ||
		    (rc = mk_coalesce(p, x, y, out)) != 0)
			return rc;
		(*out)->pos = n->pos;
		return 0;
	}
	if (n->kind == AST_COLREF) {
		Ref r;
		int rc = resolve(p, n, p->n, &r);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			*out = (Ast *)n;
			return 0;
		}
		Ast *c = arena_calloc(p->a, sizeof(Ast));
		if (c == NULL)
			return nomem(p);
		c->kind = AST_COLREF;
		c->name = p->full[r.item][r.col];
		c->quoted = 1;
		c->pos = n->pos;
		p->needed[r.item][r.col] = 1;
		*out = c;
		return 0;
	}
	Ast *c = arena_alloc(p->a, sizeof(Ast));
	if (c == NULL)
		return nomem(p);
	*c = *n;
	if (n->nargs > 0 && (c->args = arena_calloc(p->a, sizeof(Ast *) * (size_t)n->nargs)) == NULL)
		return nomem(p);
	for (int i = 0; i < n->nargs; i++) {
		int rc = rewrite(p, n->args[i], &c->args[i]);
		if (rc != 0)
			return rc;
	}
	if (n->over != NULL)
		return fail(p, ERR_UNSUPPORTED, n->pos, "a window function over a join");
	int rc = rewrite(p, n->filter, &c->filter);
	*out = c;
	return rc;
}

static int
is_alias(const AstSelect *q, const Ast *n)
{
	if (n->kind != AST_COLREF || n->qual != NULL)
		return 0;
	for (int i = 0; i < q->ntargets; i++)
		if (q->targets[i].alias && name_eq(q->targets[i].alias, n->name, n->quoted))
			return 1;
	return 0;
}

static int
add_target(P *p, AstTarget **v, int *nv, int *cap, Ast *x, const char *alias, int pos)
{
	if (*nv >= *cap) {
		int nc = *cap ? *cap * 2 : 16;
		AstTarget *nt = arena_calloc(p->a, sizeof(AstTarget) * (size_t)nc);
		if (nt == NULL)
			return nomem(p);
		if (*nv)
			memcpy(nt, *v, sizeof(AstTarget) * (size_t)*nv);
		*v = nt;
		*cap = nc;
	}
	(*v)[(*nv)++] = (AstTarget){x, alias, pos};
	return 0;
}

static int
colref_of(P *p, int item, int col, Ast **out)
{
	Ast *c = arena_calloc(p->a, sizeof(Ast));
	if (c == NULL)
		return nomem(p);
	c->kind = AST_COLREF;
	c->name = p->full[item][col];
	c->quoted = 1;
	p->needed[item][col] = 1;
	*out = c;
	return 0;
}

static int
mk_coalesce(P *p, Ast *x, Ast *y, Ast **out)
{
	Ast *c = arena_calloc(p->a, sizeof(Ast));
	Ast **args = arena_calloc(p->a, sizeof(Ast *) * 2);
	if (c == NULL || args == NULL)
		return nomem(p);
	args[0] = x;
	args[1] = y;
	c->kind = AST_FUNC;
	c->name = "coalesce";
	c->nargs = 2;
	c->args = args;
	*out = c;
	return 0;
}

/* One column of an unqualified *. */
typedef struct StarCol {
	const char *name;
	Ast *x;
} StarCol;

/* The columns of an unqualified * in PostgreSQL's order, built join by
 * join (left-deep): a step with USING / NATURAL puts the merged columns
 * first (in the USING list's order, or the left side's for NATURAL), each
 * once -- the left value, the right one for a RIGHT JOIN, COALESCE of
 * both for a FULL JOIN -- then the other columns of the left side, then
 * those of item i; any other step appends item i's columns. */
static int
star_cols(P *p, StarCol **out, int *nout)
{
	const AstSelect *q = p->q;
	int cap = 0, nl = 0, rc;
	for (int i = 0; i < p->n; i++)
		cap += p->in[i].ncols;
	StarCol *l = arena_alloc(p->a, sizeof(StarCol) * (size_t)(cap + 1));
	StarCol *t = arena_alloc(p->a, sizeof(StarCol) * (size_t)(cap + 1));
	if (l == NULL || t == NULL)
		return nomem(p);
	for (int c = 0; c < p->in[0].ncols; c++) {
		l[nl].name = p->in[0].names[c];
		if ((rc = colref_of(p, 0, c, &l[nl++].x)) != 0)
			return rc;
	}
	for (int i = 1; i < p->n; i++) {
		const AstFrom *f = &q->from[i];
		const JoinInput *r = &p->in[i];
		uint8_t *lused = arena_calloc(p->a, (size_t)nl + 1);
		uint8_t *rused = arena_calloc(p->a, (size_t)r->ncols + 1);
		if (lused == NULL || rused == NULL)
			return nomem(p);
		int nt = 0;
		int nm = f->natural ? nl : f->nusing;
		for (int k = 0; k < nm; k++) {
			int li = f->natural ? k : -1, ri = -1;
			const char *name = f->natural ? l[k].name : f->usings[k];
			for (int j = 0; j < nl && li < 0; j++)
				if (name_eq(l[j].name, name, 0))
					li = j;
			for (int c = 0; c < r->ncols && ri < 0; c++)
				if (name_eq(r->names[c], name, f->natural))
					ri = c;
			if (li < 0 || ri < 0 || lused[li] || rused[ri])
				continue;
			lused[li] = rused[ri] = 1;
			Ast *rx = NULL;
			if ((rc = colref_of(p, i, ri, &rx)) != 0)
				return rc;
			t[nt].name = l[li].name;
			if (f->join == AST_JOIN_RIGHT)
				t[nt].x = rx;
			else if (f->join != AST_JOIN_FULL)
				t[nt].x = l[li].x;
			else if ((rc = mk_coalesce(p, l[li].x, rx, &t[nt].x)) != 0)
				return rc;
			nt++;
		}
		for (int j = 0; j < nl; j++)
			if (!lused[j])
				t[nt++] = l[j];
		for (int c = 0; c < r->ncols; c++) {
			if (rused[c])
				continue;
			t[nt].name = r->names[c];
			if ((rc = colref_of(p, i, c, &t[nt++].x)) != 0)
				return rc;
		}
		StarCol *sw = l;
		l = t;
		t = sw;
		nl = nt;
	}
	*out = l;
	*nout = nl;
	return 0;
}

/* The final statement: select list (with * expanded), WHERE, GROUP BY,
 * HAVING, ORDER BY over the joined columns. */
static int
build_final(P *p)
{
	const AstSelect *q = p->q;
	AstSelect *f = arena_alloc(p->a, sizeof(AstSelect));
	if (f == NULL)
		return nomem(p);
	*f = *q;
	f->nfrom = 0;
	f->from = NULL;
	f->table = NULL;
	f->schema = NULL;
	f->from_sub = NULL;
	f->from_alias = NULL;
	AstTarget *ts = NULL;
	int nt = 0, cap = 0, rc;
	for (int i = 0; i < q->ntargets; i++) {
		const AstTarget *t = &q->targets[i];
		if (t->expr->kind == AST_STAR && t->expr->qual == NULL) {
			StarCol *sc = NULL;
			int nsc = 0;
			if ((rc = star_cols(p, &sc, &nsc)) != 0)
				return rc;
			for (int c = 0; c < nsc; c++)
				if ((rc = add_target(p, &ts, &nt, &cap, sc[c].x, sc[c].name, t->pos)) != 0)
					return rc;
			continue;
		}
		if (t->expr->kind == AST_STAR) {
			int any = 0;
			for (int j = 0; j < p->n; j++) {
				if (t->expr->qual && strcasecmp(t->expr->qual, q->from[j].alias) != 0)
					continue;
				any = 1;
				for (int c = 0; c < p->in[j].ncols; c++) {
					Ast *x = NULL;
					if ((rc = colref_of(p, j, c, &x)) != 0 ||
					    (rc = add_target(p, &ts, &nt, &cap, x, p->in[j].names[c], t->pos)) != 0)
						return rc;
				}
			}
			if (!any) {
				char msg[300];
				snprintf(msg, sizeof(msg), "missing FROM-clause entry for table \"%s\"", t->expr->qual);
				return fail(p, ERR_TABLE_MISSING, t->pos, msg);
			}
			continue;
		}
		Ast *x;
		if ((rc = rewrite(p, t->expr, &x)) != 0)
			return rc;
		const char *alias = t->alias;
		Ref r;
		if (alias == NULL && t->expr->kind == AST_COLREF && resolve(p, t->expr, p->n, &r) == 1)
			alias = p->in[r.item].names[r.col];
		if ((rc = add_target(p, &ts, &nt, &cap, x, alias, t->pos)) != 0)
			return rc;
	}
	f->targets = ts;
	f->ntargets = nt;
	Ast *w = NULL;
	for (int i = 0; i < p->nwhere; i++) {
		Ast *x;
		if ((rc = rewrite(p, p->where[i], &x)) != 0)
			return rc;
		if ((w = mk_and(p, w, x)) == NULL)
			return nomem(p);
	}
	f->where = w;
	if (q->ngroup > 0) {
		if ((f->group = arena_calloc(p->a, sizeof(Ast *) * (size_t)q->ngroup)) == NULL)
			return nomem(p);
		for (int i = 0; i < q->ngroup; i++)
			if ((rc = rewrite(p, q->group[i], &f->group[i])) != 0)
				return rc;
	}
	if ((rc = rewrite(p, q->having, &f->having)) != 0)
		return rc;
	if (q->norder > 0) {
		if ((f->order = arena_calloc(p->a, sizeof(AstOrder) * (size_t)q->norder)) == NULL)
			return nomem(p);
		for (int i = 0; i < q->norder; i++) {
			f->order[i] = q->order[i];
			if (!is_alias(q, q->order[i].expr) &&
			    (rc = rewrite(p, q->order[i].expr, &f->order[i].expr)) != 0)
				return rc;
		}
	}
	p->jp->final = f;
	return 0;
}

/* Position of column `col` (or extra `extra`) in item i's rows. */
static int
pos_in(P *p, int i, int col, int extra)
{
	if (!p->in[i].is_table)
		return col;
	int k = 0;
	for (int c = 0; c < p->in[i].ncols; c++)
		if (p->needed[i][c]) {
			if (c == col)
				return k;
			k++;
		}
	return k + extra;
}

static int
build_scans(P *p)
{
	JoinPlan *jp = p->jp;
	int off = 0;
	jp->ncols = 0;
	for (int i = 0; i < p->n; i++) {
		if (!p->in[i].is_table) {
			jp->width[i] = p->in[i].ncols;
			jp->ncols += jp->width[i];
			continue;
		}
		int nn = 0;
		for (int c = 0; c < p->in[i].ncols; c++)
			nn += p->needed[i][c];
		jp->width[i] = nn + p->nextra[i];
		if (jp->width[i] == 0)
			jp->width[i] = 1;	/* a constant, to count rows */
		jp->ncols += jp->width[i];
	}
	if ((jp->names = arena_calloc(p->a, sizeof(char *) * (size_t)(jp->ncols + 1))) == NULL)
		return nomem(p);
	for (int i = 0; i < p->n; i++) {
		const AstFrom *f = &p->q->from[i];
		if (!p->in[i].is_table) {
			for (int c = 0; c < p->in[i].ncols; c++)
				jp->names[off + c] = p->full[i][c];
			off += jp->width[i];
			continue;
		}
		AstSelect *s = arena_calloc(p->a, sizeof(AstSelect));
		AstTarget *ts = arena_calloc(p->a, sizeof(AstTarget) * (size_t)(jp->width[i] + 1));
		if (s == NULL || ts == NULL)
			return nomem(p);
		int k = 0;
		for (int c = 0; c < p->in[i].ncols; c++) {
			if (!p->needed[i][c])
				continue;
			Ast *x = arena_calloc(p->a, sizeof(Ast));
			if (x == NULL)
				return nomem(p);
			x->kind = AST_COLREF;
			x->name = p->in[i].names[c];
			x->quoted = 1;
			ts[k] = (AstTarget){x, p->full[i][c], 0};
			jp->names[off + k++] = p->full[i][c];
		}
		for (int x = 0; x < p->nextra[i]; x++) {
			const char *nm = arena_printf(p->a, "%s.__k%d", f->alias, x);
			if (nm == NULL)
				return nomem(p);
			ts[k] = (AstTarget){p->extra[i][x], nm, 0};
			jp->names[off + k++] = nm;
		}
		if (k == 0) {
			Ast *one = arena_calloc(p->a, sizeof(Ast));
			const char *nm = arena_printf(p->a, "%s.__one", f->alias);
			if (one == NULL || nm == NULL)
				return nomem(p);
			one->kind = AST_CONST;
			one->val = value_int(TYPE_INT, 1);
			ts[k] = (AstTarget){one, nm, 0};
			jp->names[off + k++] = nm;
		}
		s->ntargets = k;
		s->targets = ts;
		s->table = f->table;
		s->schema = f->schema;
		s->table_quoted = f->table_quoted;
		s->table_pos = f->table_pos;
		s->from_alias = f->alias;
		s->where = p->pushed[i];
		s->noptions = p->q->noptions;
		s->options = p->q->options;
		jp->scans[i] = s;
		off += jp->width[i];
	}
	/* the steps' keys as column numbers */
	for (int i = 1; i < p->n; i++) {
		JoinSpec *js = &jp->steps[i];
		int *lk = arena_calloc(p->a, sizeof(int) * (size_t)(p->nk[i] + 1));
		int *rk = arena_calloc(p->a, sizeof(int) * (size_t)(p->nk[i] + 1));
		if (lk == NULL || rk == NULL)
			return nomem(p);
		for (int k = 0; k < p->nk[i]; k++) {
			Side l = p->lk[i][k], r = p->rk[i][k];
			int loff = 0;
			for (int j = 0; j < l.item; j++)
				loff += jp->width[j];
			lk[k] = loff + pos_in(p, l.item, l.col, l.extra);
			rk[k] = pos_in(p, r.item, r.col, r.extra);
		}
		js->type = p->q->from[i].join == AST_JOIN_CROSS ? AST_JOIN_INNER : p->q->from[i].join;
		js->nkeys = p->nk[i];
		js->lkey = lk;
		js->rkey = rk;
		js->lcond = -1;
		if (p->lcond_item[i] >= 0) {
			int loff = 0;
			for (int j = 0; j < p->lcond_item[i]; j++)
				loff += jp->width[j];
			js->lcond = loff + pos_in(p, p->lcond_item[i], -1, p->lcond[i]);
		}
	}
	return 0;
}

int
joinplan_plan(const AstSelect *q, const JoinInput *in, Arena *a, JoinPlan *jp, Err *e)
{
	int n = q->nfrom;
	P pp = {.q = q, .in = in, .a = a, .e = e, .jp = jp, .n = n};
	P *p = &pp;
	int rc;
	memset(jp, 0, sizeof(*jp));
	jp->n = n;
	jp->scans = arena_calloc(a, sizeof(AstSelect *) * (size_t)n);
	jp->width = arena_calloc(a, sizeof(int) * (size_t)n);
	jp->steps = arena_calloc(a, sizeof(JoinSpec) * (size_t)n);
	p->full = arena_calloc(a, sizeof(char **) * (size_t)n);
	p->needed = arena_calloc(a, sizeof(uint8_t *) * (size_t)n);
	p->extra = arena_calloc(a, sizeof(Ast **) * (size_t)n);
	p->nextra = arena_calloc(a, sizeof(int) * (size_t)n);
	p->pushed = arena_calloc(a, sizeof(Ast *) * (size_t)n);
	p->resid = arena_calloc(a, sizeof(Ast *) * (size_t)n);
	jp->resid = arena_calloc(a, sizeof(AstSelect *) * (size_t)n);
	p->lk = arena_calloc(a, sizeof(Side *) * (size_t)n);
	p->rk = arena_calloc(a, sizeof(Side *) * (size_t)n);
	p->nk = arena_calloc(a, sizeof(int) * (size_t)n);
	p->lcond = arena_calloc(a, sizeof(int) * (size_t)n);
	p->lcond_item = arena_calloc(a, sizeof(int) * (size_t)n);
	p->nullext = arena_calloc(a, (size_t)n);
	if (!jp->scans || !jp->width || !jp->steps || !p->full || !p->needed || !p->extra || !p->nextra ||
	    !p->pushed || !p->resid || !jp->resid || !p->lk || !p->rk || !p->nk || !p->lcond || !p->lcond_item || !p->nullext)
		return nomem(p);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++)
			if (strcasecmp(q->from[i].alias, q->from[j].alias) == 0) {
				char msg[300];
				snprintf(msg, sizeof(msg), "table name \"%s\" specified more than once (give each an alias)",
					 q->from[i].alias);
				return fail(p, ERR_SQL_PARSE, q->from[i].table_pos, msg);
			}
		p->full[i] = arena_calloc(a, sizeof(char *) * (size_t)(in[i].ncols + 1));
		p->needed[i] = arena_calloc(a, (size_t)in[i].ncols + 1);
		if (p->full[i] == NULL || p->needed[i] == NULL)
			return nomem(p);
		for (int c = 0; c < in[i].ncols; c++)
			if ((p->full[i][c] = arena_printf(a, "%s.%s", q->from[i].alias, in[i].names[c])) == NULL)
				return nomem(p);
		p->lcond[i] = -1;
		p->lcond_item[i] = -1;
		AstJoin t = q->from[i].join;
		if (i > 0 && (t == AST_JOIN_LEFT || t == AST_JOIN_FULL))
			p->nullext[i] = 1;
		if (i > 0 && (t == AST_JOIN_RIGHT || t == AST_JOIN_FULL))
			for (int j = 0; j < i; j++)
				p->nullext[j] = 1;
	}
	for (int i = 1; i < n; i++)
		if ((rc = on_step(p, i)) != 0)
			return rc;
	/* WHERE: push single-item filters, use cross-item equalities of
	 * inner steps as keys, keep the rest */
	Ast **ws = NULL;
	int nws = 0, cap = 0;
	if ((rc = conjuncts(p, q->where, &ws, &nws, &cap)) != 0)
		return rc;
	for (int k = 0; k < nws; k++) {
		Ast *c = ws[k];
		uint64_t m = 0;
		int unres = 0, agg = 0;
		if ((rc = items_of(p, c, n, &m, &unres, &agg)) != 0)
			return rc;
		if (!unres && !agg && m != 0 && (m & (m - 1)) == 0) {
			int i = __builtin_ctzll(m);
			if (in[i].is_table && !p->nullext[i]) {
				if ((rc = push(p, i, c)) != 0)
					return rc;
				continue;
			}
		}
		if (!unres && !agg && m != 0) {
			int top = 63 - __builtin_clzll(m);
			AstJoin t = q->from[top].join;
			if (top > 0 && (t == AST_JOIN_INNER || t == AST_JOIN_CROSS)) {
				if ((rc = try_key(p, top, c)) < 0)
					return rc;
				if (rc == 1)
					continue;
			}
		}
		if ((rc = keep_where(p, c)) != 0)
			return rc;
	}
	/* columns the keys read */
	for (int i = 1; i < n; i++)
		for (int k = 0; k < p->nk[i]; k++) {
			if (p->lk[i][k].col >= 0)
				p->needed[p->lk[i][k].item][p->lk[i][k].col] = 1;
			if (p->rk[i][k].col >= 0)
				p->needed[p->rk[i][k].item][p->rk[i][k].col] = 1;
		}
	if ((rc = build_final(p)) != 0 || (rc = build_resid(p)) != 0)
		return rc;
	return build_scans(p);
}
