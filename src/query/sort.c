/*
 * sort.c -- ORDER BY: multi-key comparison of materialized rows.
 *
 * Rows are arrays of Values; the sort permutes pointers to them, so no
 * Value moves.  NULLs sort after everything for ASC and before for DESC
 * unless NULLS FIRST/LAST says otherwise (PostgreSQL); strings compare
 * bytewise (C collation); integers and doubles numerically.
 *
 * Exports: sort_rows, sort_cmp_values, sort_cmp_keys.
 */
#define _GNU_SOURCE
#include "query/sort.h"

#include <stdlib.h>
#include <string.h>

typedef struct SortCtx {
	const Plan *p;
	int keyoff;
} SortCtx;

int
sort_cmp_values(const Value *a, const Value *b)
{
	WbType ta = (WbType)a->type, tb = (WbType)b->type;
	if (type_is_var(ta) || type_is_var(tb)) {
		size_t n = a->n < b->n ? a->n : b->n;
		int c = memcmp(a->u.s, b->u.s, n);
		if (c != 0)
			return c < 0 ? -1 : 1;
		return a->n < b->n ? -1 : a->n > b->n;
	}
	if (type_is_float(ta) || type_is_float(tb)) {
		double x = type_is_float(ta) ? a->u.d : (double)a->u.i;
		double y = type_is_float(tb) ? b->u.d : (double)b->u.i;
		if (x != x || y != y)	/* NaN sorts above every number, as in PostgreSQL */
			return (x != x) - (y != y);
		return x < y ? -1 : x > y;
	}
	return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
}

int
sort_cmp_keys(const Value *a, const Value *b, const Plan *p)
{
	SortCtx c = {p, 0};
	const Value *pa = a, *pb = b;
	return sort__row_cmp(&pa, &pb, &c);
}

int
sort__row_cmp(const void *x, const void *y, void *arg)
{
	const SortCtx *c = arg;
	const Value *a = *(const Value *const *)x, *b = *(const Value *const *)y;
	for (int k = 0; k < c->p->norder; k++) {
		const Value *va = &a[c->keyoff + k], *vb = &b[c->keyoff + k];
		int r;
		if (va->null || vb->null) {
			if (va->null && vb->null)
				continue;
			r = va->null ? 1 : -1;	/* NULL is "largest" */
			if (c->p->nulls_first[k])
				r = -r;
			return r;
		}
		r = sort_cmp_values(va, vb);
		if (r != 0)
			return c->p->desc[k] ? -r : r;
	}
	return 0;
}

void
sort_rows(const Value **rows, size_t n, const Plan *p, int keyoff)
{
	SortCtx c = {p, keyoff};
	if (n > 1 && p->norder > 0)
		qsort_r(rows, n, sizeof(*rows), sort__row_cmp, &c);
}
