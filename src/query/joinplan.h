/*
 * joinplan.h -- plans a SELECT whose FROM joins several items: what each
 * item must produce, what each join step joins on, and the statement that
 * runs over the joined rows.
 */
#ifndef WB_JOINPLAN_H
#define WB_JOINPLAN_H

#include "base/arena.h"
#include "base/err.h"
#include "query/ast.h"
#include "query/join.h"

/* What the caller knows of FROM item i before planning. */
typedef struct JoinInput {
	int ncols;
	const char *const *names;	/* its columns */
	int is_table;		/* a table (or sys. table): it is read by
				 * the scan statement joinplan builds; else a
				 * derived table whose rows the caller has */
} JoinInput;

typedef struct JoinPlan {
	int n;			/* FROM items */
	AstSelect **scans;	/* per table item: the statement reading it
				 * (needed columns, key expressions, pushed
				 * filters); NULL for derived tables */
	int *width;		/* columns each item contributes */
	JoinSpec *steps;	/* steps[i], i >= 1: joins item i to the rows
				 * of items 0..i-1 (lkey: their columns,
				 * rkey: item i's) */
	AstSelect **resid;	/* resid[i]: for an outer join step whose ON
				 * has conditions other than keys, the
				 * statement that picks the matching pairs
				 * ("__lrid", "__rrid") among the inner join's
				 * rows (with those row numbers, join.h); NULL
				 * otherwise */
	int ncols;		/* joined columns, named names[] */
	const char **names;
	AstSelect *final;	/* runs over the joined rows */
} JoinPlan;

/* Plans q (q->nfrom > 1 items, or one with a join).  Everything lives in
 * a.  Errors name the construct and position: ERR_AMBIGUOUS (a column of several items),
 * ERR_SQL_PARSE (a table named twice without aliases). */
int joinplan_plan(const AstSelect *q, const JoinInput *in, Arena *a, JoinPlan *jp, Err *e);

#endif
