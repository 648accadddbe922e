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
#include "expr/exprvec.h"
#include "storage/value.h"

typedef enum AggKind {
	AGG_COUNT_STAR, AGG_COUNT, AGG_SUM, AGG_MIN, AGG_MAX, AGG_AVG,
	AGG_COUNT_DISTINCT, AGG_MINMAXRANGE
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
} AggFunc;

const AggFunc *agg_func(AggKind k);
/* Maps a SQL function name (lowercase) to an aggregate; -1 if none.
 * distinct: COUNT(DISTINCT x). */
int agg_lookup(const char *name, int distinct, AggKind *out);
/* Result type for argument type t; ERR_TYPE (with message) when the
 * aggregate does not accept t. */
int agg_result_type(AggKind k, WbType t, WbType *out, Err *e);

#endif
