/*
 * window.h -- window functions (OVER (PARTITION BY ... ORDER BY ... frame))
 * computed over materialized rows.
 *
 * The statement layer (query.c) runs the query without its window
 * functions, so every window's arguments, partition keys and order keys
 * are columns of the materialized rows; window_compute then produces one
 * output value per row for one window function, in the rows' original
 * order.  Rows are never reordered: the module sorts a permutation.
 */
#ifndef WB_WINDOW_H
#define WB_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "storage/value.h"

typedef enum WinFn {
	WIN_ROW_NUMBER, WIN_RANK, WIN_DENSE_RANK, WIN_PERCENT_RANK, WIN_CUME_DIST,
	WIN_NTILE,		/* ntile(n): n = param (constant > 0) */
	WIN_LAG, WIN_LEAD,	/* arg, offset = param (default 1), default
				 * value = dflt (NULL unless given) */
	WIN_FIRST_VALUE, WIN_LAST_VALUE,
	WIN_NTH_VALUE,		/* arg, n = param (1-based) */
	WIN_COUNT_STAR, WIN_COUNT, WIN_SUM, WIN_AVG, WIN_MIN, WIN_MAX,
	WIN_BOOL_AND, WIN_BOOL_OR
} WinFn;

typedef enum WinBound {
	WINB_UNBOUNDED_PRECEDING, WINB_PRECEDING, WINB_CURRENT_ROW, WINB_FOLLOWING,
	WINB_UNBOUNDED_FOLLOWING
} WinBound;

typedef enum WinExclude {
	WINX_NO_OTHERS, WINX_CURRENT_ROW, WINX_GROUP, WINX_TIES
} WinExclude;

typedef struct WinFrame {
	int given;		/* 0: the default frame (RANGE UNBOUNDED
				 * PRECEDING .. CURRENT ROW with ORDER BY, the
				 * whole partition without) */
	int rows;		/* 1 ROWS, 0 RANGE */
	WinBound start, end;
	int64_t start_off, end_off;	/* for PRECEDING / FOLLOWING (>= 0) */
	WinExclude exclude;	/* EXCLUDE ... : rows left out of each frame */
} WinFrame;

typedef struct WinSpec {
	WinFn fn;
	int arg;		/* column index of the argument, -1 for none */
	int64_t param;		/* ntile n, lag/lead offset, nth_value n */
	Value dflt;		/* lag/lead default (null = none) */
	int ignore_nulls;	/* IGNORE NULLS (lag/lead/first/last_value) */
	int npart;
	const int *part;	/* partition key column indexes */
	int norder;
	const int *order;	/* order key column indexes */
	const int *desc;	/* per order key: 1 DESC */
	const int *nulls_first;	/* per order key: 1 NULLS FIRST, 0 NULLS LAST
				 * (PostgreSQL's default: NULLS LAST for ASC,
				 * FIRST for DESC; the caller resolves it) */
	WinFrame frame;
	WbType out_type;	/* from window_result_type */
} WinSpec;

/* The result type of fn over an argument of type t (TYPE_NULL when the
 * function takes no argument): ROW_NUMBER/RANK/DENSE_RANK/NTILE/COUNT ->
 * LONG; PERCENT_RANK/CUME_DIST/AVG -> DOUBLE; SUM of integers -> LONG,
 * of floats -> DOUBLE; the value functions and MIN/MAX -> t; BOOL_AND/OR
 * -> BOOLEAN.  ERR_TYPE (message names fn and t) when fn does not take
 * t (SUM of a string, BOOL_AND of a number, an MV argument...). */
int window_result_type(WinFn fn, WbType t, int mv, WbType *out, Err *e);

/* Computes w over rows (nrows x ncols Values, row-major) into out[nrows]
 * (out[r] belongs to row r).  Strings in out point into rows or into a;
 * nothing else is allocated in a.  Errors: ERR_NOMEM, ERR_INVALID for a
 * bad frame (start after end, a negative offset, RANGE with an offset
 * but not exactly one numeric ORDER BY key).  Time: O(n log n) for the
 * sort plus O(n) per function for running frames; sliding MIN/MAX
 * frames may be O(n * frame). */
int window_compute(const Value *rows, size_t nrows, int ncols, const WinSpec *w, Value *out,
		   Arena *a, Err *e);

#endif
