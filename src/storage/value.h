/*
 * value.h -- one typed value, and a batch of rows of values.
 *
 * Value is the row-at-a-time currency between decoders, the write path,
 * the WAL and query results.  It never owns memory: strings and
 * multi-value arrays point into an arena (a RowBatch's, a query's) or
 * into a segment dictionary, and live as long as that owner.
 *
 *   type INT/LONG/BOOLEAN/TIMESTAMP -> u.i
 *   type FLOAT/DOUBLE               -> u.d
 *   type STRING/JSON/BYTES          -> u.s, n bytes (not NUL-terminated
 *                                      in general; BYTES are raw bytes)
 *   mv = 1                          -> u.mv, n element Values of `type`
 *   null = 1                        -> SQL NULL (u may hold the column's
 *                                      default null value)
 *
 * RowBatch holds nrows * ncols Values row-major, plus the arena that owns
 * their strings.  rowbatch_encode/decode give the WAL's binary form.
 */
#ifndef WB_VALUE_H
#define WB_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "storage/types.h"

typedef struct Value {
	uint8_t type;		/* WbType */
	uint8_t null;
	uint8_t mv;
	uint8_t pad_;
	uint32_t n;
	union {
		int64_t i;
		double d;
		const char *s;
		const struct Value *mv;
	} u;
} Value;

static inline Value
value_null(WbType t)
{
	Value v = {.type = (uint8_t)t, .null = 1};
	return v;
}

static inline Value
value_int(WbType t, int64_t i)
{
	Value v = {.type = (uint8_t)t};
	v.u.i = i;
	return v;
}

static inline Value
value_double(WbType t, double d)
{
	Value v = {.type = (uint8_t)t};
	v.u.d = d;
	return v;
}

static inline Value
value_str(WbType t, const char *s, uint32_t n)
{
	Value v = {.type = (uint8_t)t, .n = n};
	v.u.s = s;
	return v;
}

/* Appends a text form of v (no quoting) to b: integers in decimal, doubles
 * shortest round-trip, BYTES in hex, MV as [a,b], NULL as "null". */
void value_format(const Value *v, Buf *b);
/* Appends v as JSON (strings quoted, MV as arrays, NULL as null). */
void value_json(const Value *v, Buf *b);
/* Deep-copies strings and MV arrays of src into arena a. */
int value_copy(Value *dst, const Value *src, Arena *a);

typedef struct RowBatch {
	int ncols;
	size_t nrows;
	size_t cap;
	Value *vals;		/* nrows * ncols, row-major; owned */
	Arena arena;		/* owns strings and MV arrays of vals */
} RowBatch;

void rowbatch_init(RowBatch *b, int ncols);
void rowbatch_free(RowBatch *b);
/* Empties the batch (keeps memory for reuse). */
void rowbatch_reset(RowBatch *b);
/* Appends a row of ncols NULL values and returns it; NULL on OOM.  The
 * pointer is valid until the next rowbatch_add_row. */
Value *rowbatch_add_row(RowBatch *b);
/* Drops the last row (a row that failed to decode half-way). */
void rowbatch_pop_row(RowBatch *b);
static inline Value *
rowbatch_row(const RowBatch *b, size_t r)
{
	return b->vals + r * (size_t)b->ncols;
}

/* Binary form for the WAL: self-describing, little-endian. */
void rowbatch_encode(const RowBatch *b, Buf *out);
/* Appends the rows encoded in data to b (whose ncols must match). */
int rowbatch_decode(RowBatch *b, const char *data, size_t len, Err *e);

#endif
