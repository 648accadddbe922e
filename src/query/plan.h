/*
 * plan.h -- a bound query: the output of the binder, the input of the
 * executor, and what the plan cache keeps.
 *
 * Every Expr, name and array lives in the plan's arena.  A plan is
 * immutable once built and shared read-only by concurrent executions
 * (their mutable state is in per-thread ExprCtx).
 *
 * Batches seen by the expressions:
 *   scan batch  one Vec per table column (only `used` ones are filled);
 *               `where`, `group`, aggregate arguments and, for selection
 *               queries, `out` and `order` are evaluated over it;
 *   post batch  aggregation queries: group keys [0, ngroup) then the
 *               finalized aggregates [ngroup, ngroup + nagg); `having`,
 *               `out` and `order` are evaluated over it.
 */
#ifndef WB_PLAN_H
#define WB_PLAN_H

#include <stdint.h>

#include "base/arena.h"
#include "expr/expr.h"
#include "query/agg.h"

typedef struct BindCol {
	const char *name;
	WbType type;
	int mv;
} BindCol;

typedef struct BindTable {
	const char *name;
	int ncols;
	const BindCol *cols;
	const char *alias;	/* FROM t AS alias: qualifies columns too */
} BindTable;

typedef struct PlanAgg {
	AggKind kind;
	Expr *arg;		/* NULL for COUNT(*) */
	WbType type;		/* result type */
	double param;		/* constant parameter (PERCENTILE's p), else 0 */
	Expr *arg2;		/* the key of a (value, key) aggregate
				 * (agg_is_two_arg) or of a funnel aggregate
				 * (agg_is_funnel: the steps' mask or first
				 * step index), else NULL */
	Expr *filter;		/* FILTER (WHERE ...): rows it is not true for
				 * are not aggregated; NULL = none */
	/* funnel aggregates (agg_is_funnel), else 0; every new state gets
	 * them from agg_plan_init */
	int nsteps;		/* 1..AGG_FUNNEL_MAX (also in param) */
	int funnel_modes;	/* AGG_FUNNEL_STRICT_* / KEEP_ALL bits */
	int64_t window;		/* FUNNELMAXSTEP & co: > 0, time units */
	int64_t max_step_duration;	/* 0 = none */
} PlanAgg;

typedef struct Plan {
	Arena arena;
	const char *table;	/* table as resolved; NULL = no FROM */
	int systables;		/* virtual system table: systab_id(), 0 = none */
	BindTable tab;
	uint8_t *used;		/* per table column: read by the scan */
	int nfilter_cols;	/* columns read by WHERE (for statistics) */
	int nnodes;		/* Expr ids are below this */
	Expr *where;
	int is_agg;
	int ngroup;
	Expr **group;
	int nagg;
	PlanAgg *aggs;
	Expr *having;
	int nout;
	Expr **out;
	const char **names;
	int norder;
	Expr **order;
	uint8_t *desc;
	uint8_t *nulls_first;
	int64_t limit;		/* -1 = none */
	int64_t offset;
	int explain;
	/* leading SET statements, -1 / 0 = not set */
	int64_t set_timeout_ms;
	int64_t set_max_rows;
	int64_t set_max_groups;
	int set_pinot_limit;
	int set_skip_upsert;	/* SET skipUpsert = true: 1 */
} Plan;

#endif
