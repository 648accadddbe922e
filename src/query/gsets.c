/*
 * gsets.c -- GROUPING SETS / ROLLUP / CUBE as a UNION ALL of one grouped
 * statement per set, with GROUPING() turned into constants.
 *
 * pgparse.c gives each distinct grouping expression one slot of
 * AstSelect.group and each set a bit mask over those slots (ast.h).  For
 * set k, the branch groups by the slots of mask k; in its select list and
 * HAVING (outside aggregate calls, whose arguments read the input rows) an
 * expression equal to a slot left out of the set becomes NULL, and
 * GROUPING(a, b, ...) becomes the set's constant: one bit per argument,
 * the leftmost the most significant, 1 when that argument is not grouped
 * in the set (PostgreSQL's meaning).  The union's ORDER BY, LIMIT, OFFSET
 * and DISTINCT are the statement's; an ORDER BY item equal to a select
 * item becomes that item's position, so ORDER BY sum(x) or GROUPING(a)
 * work over the union's rows.
 *
 * The union's column names come from its first branch.  When the first set
 * would change an unnamed select item (a key left out becomes NULL and
 * would be named "?column?"), a first branch of all the keys with WHERE
 * false and LIMIT 0 is added: it returns no row but names and types the
 * columns as the plain grouped statement would.
 *
 * Everything is allocated in the caller's arena; the branches share the
 * statement's unchanged subtrees.  Errors: ERR_GROUPING for a GROUPING()
 * argument that is no grouping expression (with its position), ERR_NOMEM.
 *
 * Exports: gsets_expand, gsets_ast_equal.
 */
#include "query/gsets.h"

#include <string.h>
#include <strings.h>

#include "query/agg.h"
#include "query/bind.h"

typedef struct G {
	const AstSelect *q;
	Arena *a;
	Err *e;
} G;

static int
nomem(G *g)
{
	return err_set(g->e, ERR_NOMEM, "out of memory");
}

/* x and y, equal to bind_ast_equal (which ignores qualifiers, windows
 * and subqueries), also agree on those: e.dept and d.dept differ (dept
 * may be either), and so do two windows or two subqueries. */
static int
refs_agree(const Ast *x, const Ast *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	if (x->over != y->over || x->sub != y->sub)
		return 0;
	if (x->kind == AST_CONST && x->val.mv != y->val.mv)
		return 0;
	if (x->kind == AST_COLREF && x->qual && y->qual && strcasecmp(x->qual, y->qual) != 0)
		return 0;
	for (int i = 0; i < x->nargs; i++)
		if (!refs_agree(x->args[i], y->args[i]))
			return 0;
	return refs_agree(x->filter, y->filter);
}

int
gsets_ast_equal(const Ast *x, const Ast *y)
{
	return x == y || (bind_ast_equal(x, y) && refs_agree(x, y));
}

static Ast *
mk_const(G *g, Value v, int pos)
{
	Ast *n = arena_calloc(g->a, sizeof(Ast));
	if (n == NULL)
		return NULL;
	n->kind = AST_CONST;
	n->pos = pos;
	n->val = v;
	return n;
}

static int
is_grouping(const Ast *n)
{
	return n->kind == AST_FUNC && n->over == NULL && n->name &&
	       strcmp(n->name, "grouping") == 0;
}

/* The slot of q->group equal to n, or -1. */
static int
slot_of(const AstSelect *q, const Ast *n)
{
	for (int i = 0; i < q->ngroup; i++)
		if (gsets_ast_equal(n, q->group[i]))
			return i;
	return -1;
}

/* n as it reads in the branch of set `set`: *out is n itself when nothing
 * changes, else a copy (in g->a) sharing n's unchanged subtrees. */
static int
rewrite(G *g, uint64_t set, const Ast *n, Ast **out)
{
	AggKind k;
	*out = (Ast *)n;
	if (n == NULL)
		return 0;
	int s = slot_of(g->q, n);
	if (s >= 0) {
		if (!(set & (1ull << s)) &&
		    (*out = mk_const(g, value_null(TYPE_NULL), n->pos)) == NULL)
			return nomem(g);
		return 0;
	}
	if (is_grouping(n)) {
		int64_t v = 0;
		for (int i = 0; i < n->nargs; i++) {
			int a = slot_of(g->q, n->args[i]);
			if (a < 0) {
				int pos = n->args[i]->pos ? n->args[i]->pos : n->pos;
				int rc = err_set(
				        g->e, ERR_GROUPING,
				        "arguments to GROUPING must be grouping expressions of the "
				        "associated query level (at position %d)",
				        pos);
				if (g->e)
					g->e->pos = pos;
				return rc;
			}
			v = (v << 1) | !(set & (1ull << a));
		}
		if ((*out = mk_const(g, value_int(TYPE_INT, v), n->pos)) == NULL)
			return nomem(g);
		return 0;
	}
	/* an aggregate's arguments read the input rows; a subquery is a
	 * statement of its own */
	if (n->kind == AST_SUBLINK || (n->kind == AST_FUNC && n->over == NULL &&
	                               agg_lookup_args(n->name, n->distinct, n->nargs, &k) == 0))
		return 0;
	if (n->nargs == 0 && n->filter == NULL)
		return 0;
	Ast **args = n->nargs > 0 ? arena_alloc(g->a, sizeof(Ast *) * (size_t)n->nargs) : NULL;
	Ast *filter;
	int changed = 0, rc;
	if (n->nargs > 0 && args == NULL)
		return nomem(g);
	for (int i = 0; i < n->nargs; i++) {
		if ((rc = rewrite(g, set, n->args[i], &args[i])) != 0)
			return rc;
		changed |= args[i] != n->args[i];
	}
	if ((rc = rewrite(g, set, n->filter, &filter)) != 0)
		return rc;
	changed |= filter != n->filter;
	if (!changed)
		return 0;
	Ast *c = arena_alloc(g->a, sizeof(Ast));
	if (c == NULL)
		return nomem(g);
	*c = *n;
	c->args = args;
	c->filter = filter;
	*out = c;
	return 0;
}

static int
has_agg(const Ast *n)
{
	AggKind k;
	if (n == NULL || n->kind == AST_SUBLINK)
		return 0;
	if (n->kind == AST_FUNC && n->over == NULL &&
	    agg_lookup_args(n->name, n->distinct, n->nargs, &k) == 0)
		return 1;
	for (int i = 0; i < n->nargs; i++)
		if (has_agg(n->args[i]))
			return 1;
	return has_agg(n->filter);
}

/* The branch grouping by the slots of `set`.  *renamed: an unnamed select
 * item other than a GROUPING() call changed (its name would change). */
static int
branch(G *g, uint64_t set, AstSelect **out, int *renamed)
{
	const AstSelect *q = g->q;
	AstSelect *b = arena_alloc(g->a, sizeof(AstSelect));
	Ast **grp = arena_calloc(g->a, sizeof(Ast *) * (size_t)(q->ngroup + 1));
	AstTarget *t = arena_calloc(g->a, sizeof(AstTarget) * (size_t)(q->ntargets + 1));
	int rc;
	if (b == NULL || grp == NULL || t == NULL)
		return nomem(g);
	*b = *q;
	b->ngsets = 0;
	b->gsets = NULL;
	b->norder = 0;
	b->order = NULL;
	b->limit = b->offset = NULL;
	b->ngroup = 0;
	for (int i = 0; i < q->ngroup; i++)
		if (set & (1ull << i))
			grp[b->ngroup++] = q->group[i];
	b->group = grp;
	*renamed = 0;
	for (int j = 0; j < q->ntargets; j++) {
		t[j] = q->targets[j];
		if ((rc = rewrite(g, set, q->targets[j].expr, &t[j].expr)) != 0)
			return rc;
		if (t[j].alias != NULL || t[j].expr == q->targets[j].expr)
			continue;
		if (is_grouping(q->targets[j].expr))
			t[j].alias = "grouping";
		else
			*renamed = 1;
	}
	b->targets = t;
	if ((rc = rewrite(g, set, q->having, &b->having)) != 0)
		return rc;
	int agg = has_agg(b->having);
	for (int j = 0; j < q->ntargets && !agg; j++)
		agg = has_agg(t[j].expr);
	if (b->ngroup == 0 && !agg) {
		/* the set () is one group, even of no row: HAVING makes the
		 * statement grouped */
		Ast *cnt = arena_calloc(g->a, sizeof(Ast));
		Ast *ge = arena_calloc(g->a, sizeof(Ast));
		Ast **ga = arena_calloc(g->a, sizeof(Ast *) * 2);
		if (cnt == NULL || ge == NULL || ga == NULL ||
		    (ga[1] = mk_const(g, value_int(TYPE_INT, 0), 0)) == NULL)
			return nomem(g);
		cnt->kind = AST_FUNC;
		cnt->name = "count";
		cnt->star = 1;
		ga[0] = cnt;
		ge->kind = AST_OP;
		ge->name = ">=";
		ge->nargs = 2;
		ge->args = ga;
		if (b->having != NULL) {
			Ast *and = arena_calloc(g->a, sizeof(Ast));
			Ast **aa = arena_calloc(g->a, sizeof(Ast *) * 2);
			if (and == NULL || aa == NULL)
				return nomem(g);
			aa[0] = ge;
			aa[1] = b->having;
			and->kind = AST_AND;
			and->nargs = 2;
			and->args = aa;
			ge = and;
		}
		b->having = ge;
	}
	*out = b;
	return 0;
}

/* The first GROUPING() call in n, or NULL. */
static const Ast *
grouping_in(const Ast *n)
{
	if (n == NULL || n->kind == AST_SUBLINK)
		return NULL;
	if (is_grouping(n))
		return n;
	for (int i = 0; i < n->nargs; i++) {
		const Ast *c = grouping_in(n->args[i]);
		if (c != NULL)
			return c;
	}
	return grouping_in(n->filter);
}

/* ORDER BY over the union: an item equal to a select item becomes its
 * position (unless the select list has a *, whose width is unknown here);
 * other items name the union's columns. */
static int
union_order(G *g, AstSelect *u)
{
	const AstSelect *q = g->q;
	int star = 0;
	for (int j = 0; j < q->ntargets; j++)
		star |= q->targets[j].expr->kind == AST_STAR;
	if (q->norder == 0)
		return 0;
	AstOrder *o = arena_alloc(g->a, sizeof(AstOrder) * (size_t)q->norder);
	if (o == NULL)
		return nomem(g);
	for (int i = 0; i < q->norder; i++) {
		o[i] = q->order[i];
		const Ast *x = o[i].expr;
		int found = -1;
		for (int j = 0; j < q->ntargets && !star && found < 0 && x->kind != AST_CONST; j++)
			if (gsets_ast_equal(x, q->targets[j].expr))
				found = j;
		if (found >= 0) {
			if ((o[i].expr = mk_const(g, value_int(TYPE_INT, found + 1), x->pos)) ==
			    NULL)
				return nomem(g);
			continue;
		}
		const Ast *gc = grouping_in(x);
		if (gc != NULL) {
			int rc = err_set(g->e, ERR_GROUPING,
			                 "GROUPING() in ORDER BY with grouping sets must also be a "
			                 "select item (at position %d)",
			                 gc->pos);
			if (g->e)
				g->e->pos = gc->pos;
			return rc;
		}
	}
	u->order = o;
	u->norder = q->norder;
	return 0;
}

int
gsets_expand(const AstSelect *q, Arena *a, AstSelect **out, Err *e)
{
	G g = {q, a, e};
	int rc, renamed;
	AstSelect *u = arena_calloc(a, sizeof(AstSelect));
	AstSelect **br = arena_calloc(a, sizeof(AstSelect *) * (size_t)(q->ngsets + 1));
	if (u == NULL || br == NULL)
		return nomem(&g);
	int nb = 0;
	for (int k = 0; k < q->ngsets; k++) {
		if ((rc = branch(&g, q->gsets[k], &br[nb], &renamed)) != 0)
			return rc;
		if (k == 0 && renamed && q->ngroup > 0) {
			/* names and types from the statement grouped by every key */
			uint64_t all = q->ngroup >= 64 ? ~0ull : (1ull << q->ngroup) - 1;
			AstSelect *first = br[0], *names;
			if ((rc = branch(&g, all, &names, &renamed)) != 0)
				return rc;
			if ((names->where = mk_const(&g, value_int(TYPE_BOOLEAN, 0), 0)) == NULL ||
			    (names->limit = mk_const(&g, value_int(TYPE_INT, 0), 0)) == NULL)
				return nomem(&g);
			names->having = NULL;
			br[0] = names;
			br[1] = first;
			nb = 2;
			continue;
		}
		nb++;
	}
	u->nbranch = nb;
	u->branches = br;
	u->setop = AST_SETOP_UNION;
	u->union_distinct = q->distinct;
	u->limit = q->limit;
	u->offset = q->offset;
	if ((rc = union_order(&g, u)) != 0)
		return rc;
	*out = u;
	return 0;
}
