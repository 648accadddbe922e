/*
 * exprvec.h -- vectorized evaluation of Expr trees over batches of rows.
 * See expr.h for the model (Vec encodings, selection vectors, ExprCtx).
 */
#ifndef WB_EXPRVEC_H
#define WB_EXPRVEC_H

#include "expr/expr.h"
#include "storage/segfile.h"

typedef enum VecEnc { VEC_I64, VEC_F64, VEC_STR, VEC_DICT, VEC_MV } VecEnc;

typedef struct Vec {
	WbType type;
	VecEnc enc;
	const int64_t *i;
	const double *d;
	const char *const *s;
	const uint32_t *slen;
	const uint32_t *ids;
	const MutCol *col;	/* VEC_DICT / VEC_MV of a mutable segment */
	size_t row0;		/* VEC_MV: segment row of batch row 0 */
	const uint8_t *nulls;	/* 1 = NULL; NULL pointer = no NULLs */
	/* A segment file's column (col NULL).  Strings arrive as VEC_STR
	 * (s/slen point into the mapping, so any consumer can read them)
	 * with ids and fdict also set: predicates then run once per
	 * dictionary entry.  VEC_MV: batch row r has mvcnt[r] elements at
	 * elems[mvoff[r]...]: uint32_t dictionary ids (fdict) for strings,
	 * int64_t for integer types, double for FLOAT/DOUBLE.  A VEC_MV
	 * computed by a function (col and fdict NULL) holds its string
	 * elements in s/slen (indexed by element, not by row). */
	const SegDict *fdict;
	const uint32_t *mvoff;
	const uint32_t *mvcnt;
	const void *elems;
} Vec;

/* Dictionary behind a VEC_DICT, a file VEC_STR with ids, or a string
 * VEC_MV, whatever its source. */
static inline int
exprvec_has_dict(const Vec *v)
{
	return v->enc == VEC_DICT || (v->ids != NULL && v->fdict != NULL) ||
	       (v->enc == VEC_MV && type_is_var(v->type) && (v->col != NULL || v->fdict != NULL));
}
uint32_t exprvec_dict_size(const Vec *v);
const char *exprvec_dict_get(const Vec *v, uint32_t id, uint32_t *len);
/* Identity of v's dictionary (equal for every batch of one segment's
 * column): what caches keyed by dictionary id compare. */
const void *exprvec_dict_src(const Vec *v);
/* 1 if e is a predicate over a column (args[0]) that exprvec evaluates
 * from dictionary ids and NULL flags alone, never reading Vec.s: = < IN
 * LIKE ... against constants, IS [NOT] NULL.  A file scan then leaves a
 * string column's s/slen unset when that is its only use. */
int exprvec_dict_pred(const Expr *e);
/* Multi-value batch row r: *n elements starting at element *start. */
void exprvec_mv_range(const Vec *v, int r, uint64_t *start, uint32_t *n);
/* Element i (from exprvec_mv_range) as a Value (strings borrowed). */
Value exprvec_elem(const Vec *v, uint64_t i);

typedef struct Batch {
	int n;			/* rows */
	int ncols;
	Vec *cols;
} Batch;

typedef struct ExprSlot ExprSlot;

typedef struct ExprCtx {
	int nslots;
	ExprSlot **slots;	/* chunks of slots, each allocated on first use
				 * (a plan with a long IN list has many nodes
				 * that are never evaluated) */
	Arena tmp;		/* strings made while evaluating; reset per batch */
	int64_t deadline_ns;	/* clock_mono_ns() limit for long loops (a
				 * long IN list's set, a predicate per entry of
				 * a big dictionary): ERR_TIMEOUT past it; 0 =
				 * none (exprvec_ctx_init sets 0) */
} ExprCtx;

/* Per-thread evaluation state for trees whose ids are below nslots. */
int exprvec_ctx_init(ExprCtx *cx, int nslots);
void exprvec_ctx_free(ExprCtx *cx);
/* Drops strings made by the previous batch. */
void exprvec_reset_batch(ExprCtx *cx);

/* Evaluates e over the selected rows of b; *out is owned by cx and valid
 * until e is evaluated again.  Errors: ERR_DIV_ZERO, ERR_TYPE,
 * ERR_OVERFLOW, ERR_NOMEM, with e->pos as the position; ERR_TIMEOUT past
 * cx->deadline_ns. */
int exprvec_eval(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel,
		 int nsel, const Vec **out, Err *err);
/* Keeps the selected rows for which predicate e is TRUE (not FALSE, not
 * NULL): out receives their indexes, *nout their count.  out may equal
 * sel. */
int exprvec_filter(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel,
		   int nsel, uint16_t *out, int *nout, Err *err);
/* Row r of v as a Value (strings borrowed from v's owner; multi-value
 * arrays allocated in a). */
int exprvec_value(const Vec *v, int r, Value *out, Arena *a);

#endif
