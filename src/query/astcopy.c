/*
 * astcopy.c -- deep copies of Waybill's syntax trees.
 *
 * Running a statement rewrites its tree in place (subqueries become
 * constants, grouping sets expand), so a subquery that runs once per
 * outer row runs on a fresh copy each time.  Every node, array and
 * nested SELECT is copied into the given arena; names and constant
 * values are shared (nothing writes them).  Recursion follows the tree,
 * whose depth the parser bounds (PGPARSE_MAX_DEPTH).
 *
 * Exports: astcopy_expr, astcopy_select.
 */
#include "query/astcopy.h"

#include <string.h>

static void *
dup(Arena *a, const void *p, size_t n)
{
	if (p == NULL || n == 0)
		return NULL;
	void *d = arena_alloc(a, n);
	if (d != NULL)
		memcpy(d, p, n);
	return d;
}

#define FAIL_IF(c) do { if (c) return NULL; } while (0)

static AstOrder *
copy_order(const AstOrder *o, int n, Arena *a)
{
	if (n == 0)
		return NULL;
	AstOrder *d = dup(a, o, sizeof(AstOrder) * (size_t)n);
	FAIL_IF(d == NULL);
	for (int i = 0; i < n; i++)
		FAIL_IF(o[i].expr && (d[i].expr = astcopy_expr(o[i].expr, a)) == NULL);
	return d;
}

Ast *
astcopy_expr(const Ast *n, Arena *a)
{
	if (n == NULL)
		return NULL;
	Ast *d = dup(a, n, sizeof(Ast));
	FAIL_IF(d == NULL);
	if (n->nargs > 0) {
		d->args = arena_calloc(a, sizeof(Ast *) * (size_t)n->nargs);
		FAIL_IF(d->args == NULL);
		for (int i = 0; i < n->nargs; i++)
			FAIL_IF(n->args[i] && (d->args[i] = astcopy_expr(n->args[i], a)) == NULL);
	}
	FAIL_IF(n->filter && (d->filter = astcopy_expr(n->filter, a)) == NULL);
	FAIL_IF(n->sub && (d->sub = astcopy_select(n->sub, a)) == NULL);
	if (n->over != NULL) {
		AstWindow *w = dup(a, n->over, sizeof(AstWindow));
		FAIL_IF(w == NULL);
		if (w->npart > 0) {
			w->part = arena_calloc(a, sizeof(Ast *) * (size_t)w->npart);
			FAIL_IF(w->part == NULL);
			for (int i = 0; i < w->npart; i++)
				FAIL_IF((w->part[i] = astcopy_expr(n->over->part[i], a)) == NULL);
		}
		FAIL_IF(w->norder && (w->order = copy_order(n->over->order, w->norder, a)) == NULL);
		FAIL_IF(w->start_off && (w->start_off = astcopy_expr(n->over->start_off, a)) == NULL);
		FAIL_IF(w->end_off && (w->end_off = astcopy_expr(n->over->end_off, a)) == NULL);
		d->over = w;
	}
	return d;
}

AstSelect *
astcopy_select(const AstSelect *q, Arena *a)
{
	if (q == NULL)
		return NULL;
	AstSelect *d = dup(a, q, sizeof(AstSelect));
	FAIL_IF(d == NULL);
	if (q->ntargets > 0) {
		d->targets = dup(a, q->targets, sizeof(AstTarget) * (size_t)q->ntargets);
		FAIL_IF(d->targets == NULL);
		for (int i = 0; i < q->ntargets; i++)
			FAIL_IF((d->targets[i].expr = astcopy_expr(q->targets[i].expr, a)) == NULL);
	}
	FAIL_IF(q->from_sub && (d->from_sub = astcopy_select(q->from_sub, a)) == NULL);
	if (q->nbranch > 0) {
		d->branches = arena_calloc(a, sizeof(AstSelect *) * (size_t)q->nbranch);
		FAIL_IF(d->branches == NULL);
		for (int i = 0; i < q->nbranch; i++)
			FAIL_IF((d->branches[i] = astcopy_select(q->branches[i], a)) == NULL);
	}
	FAIL_IF(q->ngsets && (d->gsets = dup(a, q->gsets, sizeof(uint64_t) * (size_t)q->ngsets)) == NULL);
	if (q->nfrom > 0) {
		d->from = dup(a, q->from, sizeof(AstFrom) * (size_t)q->nfrom);
		FAIL_IF(d->from == NULL);
		for (int i = 0; i < q->nfrom; i++) {
			FAIL_IF(q->from[i].sub && (d->from[i].sub = astcopy_select(q->from[i].sub, a)) == NULL);
			FAIL_IF(q->from[i].on && (d->from[i].on = astcopy_expr(q->from[i].on, a)) == NULL);
			FAIL_IF(q->from[i].fcall && (d->from[i].fcall = astcopy_expr(q->from[i].fcall, a)) == NULL);
		}
	}
	FAIL_IF(q->where && (d->where = astcopy_expr(q->where, a)) == NULL);
	if (q->ngroup > 0) {
		/* GROUPING SETS keep room for PGPARSE_MAX_GROUP_KEYS slots */
		d->group = arena_calloc(a, sizeof(Ast *) * (size_t)(q->ngroup > 64 ? q->ngroup : 64));
		FAIL_IF(d->group == NULL);
		for (int i = 0; i < q->ngroup; i++)
			FAIL_IF((d->group[i] = astcopy_expr(q->group[i], a)) == NULL);
	}
	FAIL_IF(q->having && (d->having = astcopy_expr(q->having, a)) == NULL);
	FAIL_IF(q->norder && (d->order = copy_order(q->order, q->norder, a)) == NULL);
	FAIL_IF(q->limit && (d->limit = astcopy_expr(q->limit, a)) == NULL);
	FAIL_IF(q->offset && (d->offset = astcopy_expr(q->offset, a)) == NULL);
	return d;
}
