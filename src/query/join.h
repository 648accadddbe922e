/*
 * join.h -- hash join (and cross join) of two materialized row sets.
 */
#ifndef WB_JOIN_H
#define WB_JOIN_H

#include <stdint.h>

#include "base/err.h"
#include <stdatomic.h>

#include "query/ast.h"
#include "query/query.h"

typedef struct JoinSpec {
	AstJoin type;		/* INNER, LEFT, RIGHT, FULL, CROSS */
	int nkeys;		/* equality keys: l column lkey[i] = r column
				 * rkey[i]; 0 = every pair (a cross product,
				 * filtered later) */
	const int *lkey;
	const int *rkey;
	int lcond;		/* a left BOOLEAN column that must be true for
				 * a left row to match at all (a LEFT JOIN's ON
				 * conjuncts over the left side only), -1 none */
	int64_t deadline_ns;	/* clock_mono_ns() limit, 0 = none */
	const _Atomic int *cancel;	/* non-zero: stop with ERR_CANCELED; NULL none */
	int rids;		/* INNER only: two more LONG columns, the left
				 * and right row numbers of each pair */
} JoinSpec;

/* Joins l and r into out (whose arena the caller initialized): out's
 * columns are l's then r's, named as given in names (ncols l + r
 * entries, borrowed for out's lifetime).  Rows of an outer join without a
 * match get NULLs on the other side.  Keys compare by value across
 * integer and floating types; NULL keys never match.  out's values point
 * into l and r, which must outlive it.  Errors: ERR_TYPE (keys that
 * cannot be compared: a string with a number, multi-value), ERR_MEM_LIMIT
 * / ERR_NOMEM (a result too big for the query's budget), ERR_TIMEOUT. */
int join_rows(const ResultSet *l, const ResultSet *r, const JoinSpec *js, const char *const *names,
	      ResultSet *out, Err *e);

/* The outer join of l and r (type LEFT, RIGHT or FULL; INNER gives the
 * pairs alone) from the matching pairs found otherwise (an ON condition
 * that is not an equality, filtered by the statement layer): pairs are
 * (lrid[k], rrid[k]) row numbers; rows without a pair get NULLs on the
 * other side.  Names, ownership and errors as join_rows. */
int join_from_pairs(const ResultSet *l, const ResultSet *r, AstJoin type, const int64_t *lrid,
		    const int64_t *rrid, size_t npairs, const char *const *names, ResultSet *out, Err *e);

/* INTERSECT / EXCEPT (op AST_SETOP_*) of two row sets with the same
 * columns, as SQL defines them: rows compare by value with NULLs equal;
 * without all, each distinct row at most once; with ALL, min(m, n) /
 * max(m - n, 0) copies of a row l has m times and r n times.  out's
 * rows are l's (kept in l's order), its columns l's; l must outlive it. */
int join_setop(const ResultSet *l, const ResultSet *r, int op, int all, ResultSet *out, Err *e);

#endif
