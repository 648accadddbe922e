/*
 * winplan.h -- splits a SELECT that calls window functions into the
 * query without them (inner) and a query over its rows plus one column
 * per window function (outer).
 *
 * query.c runs the inner statement, hands its rows to winplan_apply,
 * which computes every window function (window.h) and returns the
 * extended rows, and then runs the outer statement over them as a derived
 * table.  WHERE, GROUP BY, HAVING and aggregates stay in the inner
 * statement; DISTINCT, ORDER BY, LIMIT and OFFSET go to the outer one,
 * as SQL evaluates windows after grouping and before ordering.
 */
#ifndef WB_WINPLAN_H
#define WB_WINPLAN_H

#include "base/arena.h"
#include "base/err.h"
#include "query/ast.h"
#include "query/query.h"
#include "query/window.h"

typedef struct WinCall {
	const Ast *call;	/* the OVER (...) call */
	WinSpec spec;		/* column indexes as inner target numbers
				 * until winplan_apply maps them */
	int arg;		/* inner target of the argument, -1 none */
	int *part, *order;	/* inner targets */
} WinCall;

typedef struct WinTarget {
	Ast *expr;		/* over the inner columns; NULL for * */
	const char *alias;	/* the user's alias or NULL */
	int whole;		/* >= 0: the target is inner target `whole`
				 * unchanged (named as the inner query named
				 * it) */
} WinTarget;

typedef struct WinPlan {
	AstSelect *inner;	/* the statement without window functions */
	int star;		/* inner target index of a *, -1 none */
	int ntargets;
	WinTarget *targets;	/* the outer select list, before * expands */
	int ncalls;
	WinCall *calls;
	AstSelect outer;	/* filled by winplan_apply */
} WinPlan;

/* Splits q (q->has_window).  Everything is allocated in a.  Errors:
 * ERR_GROUPING (a window function inside an aggregate, another window
 * function, WHERE...), ERR_FUNC_MISSING (not a window function),
 * ERR_UNSUPPORTED, ERR_TYPE (a bad constant argument), with e->pos. */
int winplan_split(const AstSelect *q, Arena *a, WinPlan *wp, Err *e);

/* Computes the window functions over in (the inner statement's rows) and
 * returns *out, a new ResultSet with in's columns renamed and one column
 * per window function, owned by the caller (result_free); its strings
 * may point into in, which must outlive it.  Fills wp->outer, the
 * statement to run over *out.  Errors: ERR_TYPE, ERR_INVALID (frames),
 * ERR_NOMEM. */
int winplan_apply(WinPlan *wp, ResultSet *in, Arena *a, ResultSet **out, Err *e);

#endif
