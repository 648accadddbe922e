/*
 * exprvec.h -- vectorized evaluation of Expr trees over batches of rows.
 * See expr.h for the model (Vec encodings, selection vectors, ExprCtx).
 */
#ifndef WB_EXPRVEC_H
#define WB_EXPRVEC_H

#include "expr/expr.h"

typedef enum VecEnc { VEC_I64, VEC_F64, VEC_STR, VEC_DICT, VEC_MV } VecEnc;

typedef struct Vec {
	WbType type;
	VecEnc enc;
	const int64_t *i;
	const double *d;
	const char *const *s;
	const uint32_t *slen;
	const uint32_t *ids;
	const MutCol *col;	/* VEC_DICT / VEC_MV */
	size_t row0;		/* VEC_MV: segment row of batch row 0 */
	const uint8_t *nulls;	/* 1 = NULL; NULL pointer = no NULLs */
} Vec;

typedef struct Batch {
	int n;			/* rows */
	int ncols;
	Vec *cols;
} Batch;

typedef struct ExprSlot ExprSlot;

typedef struct ExprCtx {
	int nslots;
	ExprSlot *slots;
	Arena tmp;		/* strings made while evaluating; reset per batch */
} ExprCtx;

/* Per-thread evaluation state for trees whose ids are below nslots. */
int exprvec_ctx_init(ExprCtx *cx, int nslots);
void exprvec_ctx_free(ExprCtx *cx);
/* Drops strings made by the previous batch. */
void exprvec_reset_batch(ExprCtx *cx);

/* Evaluates e over the selected rows of b; *out is owned by cx and valid
 * until e is evaluated again.  Errors: ERR_DIV_ZERO, ERR_TYPE,
 * ERR_OVERFLOW, ERR_NOMEM, with e->pos as the position. */
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
