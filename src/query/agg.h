/*
 * agg.h -- aggregate functions as init / update / merge / finalize with a
 * serializable intermediate state.
 *
 * States are fixed-size blobs (state_size bytes), stored per group in
 * arrays: group g's state is at states + g * state_size.  update is
 * vectorized: it takes a batch's argument vector, the selection and, per
 * row, the group index (NULL = every row in group 0).  COUNT(DISTINCT)
 * keeps a pointer to a hash set in its state; destroy frees it.
 * serialize/deserialize give the byte form used to merge partial results
 * coming from elsewhere (other nodes later).
 */
#ifndef WB_AGG_H
#define WB_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/arena.h"
#include "expr/expr.h"
#include "expr/exprvec.h"
#include "storage/value.h"

typedef enum AggKind {
	AGG_COUNT_STAR, AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG,
	AGG_COUNT_DISTINCT, AGG_MINMAXRANGE,
	/* Pinot's multi-value forms: over every element of an MV column */
	AGG_COUNT_MV, AGG_SUM_MV, AGG_MIN_MV, AGG_MAX_MV, AGG_AVG_MV, AGG_MINMAXRANGE_MV,
	AGG_DISTINCT_MV,
	/* (x, p): p in the state through setparam */
	AGG_PERCENTILE, AGG_PERCENTILE_MV, AGG_PERCENTILE_EST, AGG_PERCENTILE_EST_MV,
	AGG_PERCENTILE_TDIGEST, AGG_PERCENTILE_TDIGEST_MV,
	AGG_HLL, AGG_HLL_MV, AGG_THETA,
	/* PostgreSQL's percentile_cont/percentile_disc(f) WITHIN GROUP
	 * (ORDER BY x): exact, f in [0, 1] kept as p = 100 f */
	AGG_PERCENTILE_CONT, AGG_PERCENTILE_DISC,
	/* MIN/MAX of strings (the binder picks them for var-length input) */
	AGG_MIN_STR, AGG_MAX_STR,
	/* (value, key): the value at the greatest / least key */
	AGG_ARG_MAX, AGG_ARG_MIN, AGG_LAST_WITH_TIME, AGG_FIRST_WITH_TIME,
	/* sample skewness / excess kurtosis (Apache Commons Math's) */
	AGG_SKEWNESS, AGG_KURTOSIS,
	/* Pinot's DISTINCTSUM / DISTINCTAVG: over the distinct values */
	AGG_DISTINCT_SUM, AGG_DISTINCT_AVG,
	/* (x, p): KLL's inclusive rank rule, computed exactly */
	AGG_PERCENTILE_KLL, AGG_PERCENTILE_KLL_MV,
	/* exact up to a threshold (setparam), then HyperLogLog */
	AGG_SMART_HLL,
	/* PostgreSQL's bit_and / bit_or / bit_xor of integers (found by
	 * agg_lookup_args only: Pinot's bit_and(a, b) is a scalar) */
	AGG_BIT_AND, AGG_BIT_OR, AGG_BIT_XOR,
	/* Pinot's FUNNELCOUNT(STEPS(c1, ...), CORRELATE_BY(id)): the value is
	 * the id, the key (agg_update2) a bit mask of the steps the row
	 * matched; setparam takes the step count; the result is a LONG
	 * multi-value (agg_result_mv) */
	AGG_FUNNEL_COUNT,
	/* Pinot's FUNNELMAXSTEP(ts, window, n, step1, ..., stepn[, mode...]):
	 * the most steps reached in order within the window (INT).  The
	 * value is the time, the key the index of the first step the row
	 * matched (-1: none); setparam takes the step count, agg_plan_init
	 * (or agg_funnel_config) the window and modes */
	AGG_FUNNEL_MAX_STEP,
	/* ... the same, as an INT multi-value of n flags: 1 for the steps
	 * reached */
	AGG_FUNNEL_MATCH_STEP,
	/* ... the same: how many times all n steps were completed (INT) */
	AGG_FUNNEL_COMPLETE_COUNT
} AggKind;

#define AGG_FUNNEL_MAX 32	/* steps of a funnel aggregate */

/* Pinot's modes of FUNNELMAXSTEP & co (bits of PlanAgg.funnel_modes) */
#define AGG_FUNNEL_STRICT_DEDUPLICATION 1
#define AGG_FUNNEL_STRICT_ORDER 2
#define AGG_FUNNEL_STRICT_INCREASE 4
#define AGG_FUNNEL_KEEP_ALL 8

struct PlanAgg;

typedef struct AggFunc {
	AggKind kind;
	const char *name;
	size_t state_size;
	void (*init)(void *st);
	/* arg is NULL for COUNT(*).  ERR_NOMEM possible (DISTINCT). */
	int (*update)(char *states, const uint32_t *gidx, const Vec *arg, const uint16_t *sel,
		      int nsel);
	int (*merge)(void *dst, const void *src);
	/* type = the aggregate's result type */
	void (*finalize)(const void *st, WbType type, Value *out);
	void (*serialize)(const void *st, Buf *out);
	/* Reads one state from p (n bytes); *used receives the bytes read. */
	int (*deserialize)(void *st, const char *p, size_t n, size_t *used, Err *e);
	void (*destroy)(void *st);
	/* Parameterized aggregates (PERCENTILE's p): called right after
	 * init with the plan's parameter; NULL for the others. */
	void (*setparam)(void *st, double param);
} AggFunc;

const AggFunc *agg_func(AggKind k);
/* Maps a SQL function name (lowercase) to an aggregate; -1 if none.
 * distinct: COUNT(DISTINCT x). */
int agg_lookup(const char *name, int distinct, AggKind *out);
/* As agg_lookup, knowing the call's argument count: finds the
 * aggregates whose name is also a scalar function of another arity
 * (bit_and(x) is PostgreSQL's aggregate, bit_and(a, b) Pinot's scalar);
 * -1 if the name with nargs arguments is not an aggregate. */
int agg_lookup_args(const char *name, int distinct, int nargs, AggKind *out);
/* How many constant arguments may follow the value (*lo to *hi):
 * PERCENTILE's p, DISTINCTCOUNTHLL's log2m, DISTINCTCOUNTSMARTHLL's
 * options, ...  0 and 0 for the others (and for the two-argument
 * aggregates, whose second argument is an expression). */
void agg_const_args(AggKind k, int *lo, int *hi);
/* Checks constant argument i (1 = the one after the value) given to
 * aggregate k (called fname in the query) and folds it into *param, the
 * value later given to setparam (the caller starts *param at 0 and
 * passes every present argument in order).  ERR_TYPE with a message
 * naming the function and the argument. */
int agg_const_arg(AggKind k, const char *fname, int i, const Value *v, double *param, Err *e);
/* Result type for argument type t; ERR_TYPE (with message) when the
 * aggregate does not accept t. */
int agg_result_type(AggKind k, WbType t, WbType *out, Err *e);
/* 1 for the aggregates whose result is a multi-value of the result
 * type (FUNNELCOUNT, FUNNELMATCHSTEP); finalize points it into the
 * state or into constant storage (valid until destroy: copy it
 * before). */
int agg_result_mv(AggKind k);
/* 1 for the funnel aggregates (FUNNELCOUNT, FUNNELMAXSTEP,
 * FUNNELMATCHSTEP, FUNNELCOMPLETECOUNT): the binder builds their key
 * (PlanAgg.arg2) from the steps; agg_update2 updates them. */
int agg_is_funnel(AggKind k);
/* Gives a new state st of aggregate pa (right after init and setparam)
 * what the plan says beyond the parameter: FUNNELMAXSTEP & co's window,
 * modes and maximum step duration.  Nothing for the other aggregates.
 * Borrows pa. */
void agg_plan_init(const struct PlanAgg *pa, void *st);
/* Vectorized update of FUNNELCOUNT from the step conditions themselves:
 * corr the CORRELATE_BY values (any single-value type, NULL skipped),
 * steps[0..nsteps) the step conditions (BOOLEAN vectors; NULL = not
 * matched).  nsteps must equal the count given to setparam
 * (ERR_INTERNAL otherwise).  ERR_NOMEM, ERR_TYPE possible. */
int agg_update_funnel(char *states, const uint32_t *gidx, const Vec *corr, const Vec *const *steps, int nsteps,
		      const uint16_t *sel, int nsel);
/* Vectorized update of FUNNELMAXSTEP & co from the step conditions: ts
 * the time (integer or TIMESTAMP; NULL rows skipped), steps as for
 * agg_update_funnel; a row is an event of the first step it matches.
 * ERR_NOMEM, ERR_TYPE, ERR_INTERNAL (not configured) possible. */
int agg_update_funnel_steps(char *states, const uint32_t *gidx, const Vec *ts, const Vec *const *steps,
			    int nsteps, const uint16_t *sel, int nsel);
/* Gives a FUNNELCOUNT / FUNNELMAXSTEP & co state (right after init) its
 * step count (1..AGG_FUNNEL_MAX) and, for the windowed ones, the window
 * (in the time argument's units, > 0), no mode. */
void agg_funnel_config(AggKind k, void *st, int nsteps, int64_t window);
/* 1 for the aggregates whose argument must be a multi-value column. */
int agg_is_mv(AggKind k);
/* 1 for the (value, key) aggregates: ARG_MAX, ARG_MIN, LASTWITHTIME,
 * FIRSTWITHTIME; their update is agg_update2 (AggFunc.update fails), as
 * the funnel aggregates' (agg_is_funnel). */
int agg_is_two_arg(AggKind k);
/* Vectorized update of a (value, key) aggregate; key is an integer or
 * floating vector (ERR_TYPE otherwise), ERR_NOMEM possible.  Also the
 * funnel aggregates': value = CORRELATE_BY id or time, key = their
 * step mask / step index (integers), ERR_INTERNAL when a windowed
 * funnel's state was not configured (agg_plan_init). */
int agg_update2(AggKind k, char *states, const uint32_t *gidx, const Vec *value, const Vec *key,
		const uint16_t *sel, int nsel);

#endif
