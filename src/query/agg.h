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
	AGG_ARG_MAX, AGG_ARG_MIN, AGG_LAST_WITH_TIME, AGG_FIRST_WITH_TIME
} AggKind;

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
/* Result type for argument type t; ERR_TYPE (with message) when the
 * aggregate does not accept t. */
int agg_result_type(AggKind k, WbType t, WbType *out, Err *e);
/* 1 for the aggregates whose argument must be a multi-value column. */
int agg_is_mv(AggKind k);
/* 1 for the (value, key) aggregates: ARG_MAX, ARG_MIN, LASTWITHTIME,
 * FIRSTWITHTIME; their update is agg_update2 (AggFunc.update fails). */
int agg_is_two_arg(AggKind k);
/* Vectorized update of a (value, key) aggregate; key is an integer or
 * floating vector (ERR_TYPE otherwise), ERR_NOMEM possible. */
int agg_update2(AggKind k, char *states, const uint32_t *gidx, const Vec *value, const Vec *key,
		const uint16_t *sel, int nsel);

#endif
