/*
 * expr.h -- scalar expression trees and their vectorized evaluation.
 *
 * An Expr is a typed tree built by a binder (SQL) or by an ingest
 * transform.  Column references name a column of the input Batch by index;
 * nothing here knows about tables or SQL.  Trees are immutable once built
 * and may be shared by many threads: every mutable thing (output vectors,
 * per-segment dictionary id sets) lives in an ExprCtx, one per thread.
 *
 * Vectorized evaluation is in exprvec.h.  Evaluation works on a Batch of at most EXPR_BATCH rows: one Vec per
 * input column (values + optional per-row null flags), and a selection
 * vector (row indexes in increasing order; NULL = every row).  An output
 * Vec holds valid values at the selected rows only.
 *
 * Vec encodings:
 *   VEC_I64  INT, LONG, BOOLEAN (0/1), TIMESTAMP (ms) widened to int64
 *   VEC_F64  FLOAT, DOUBLE widened to double
 *   VEC_STR  pointer + length per row (STRING, JSON, BYTES)
 *   VEC_DICT dictionary ids of a mutable-segment column (col, ids)
 *   VEC_MV   multi-value column of a segment: rows row0.. of col
 */
#ifndef WB_EXPR_H
#define WB_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "storage/mutseg.h"
#include "storage/types.h"
#include "base/buf.h"
#include "storage/value.h"

#define EXPR_BATCH 1024

typedef enum ExprKind {
	EXPR_COL,		/* input column `col` */
	EXPR_CONST,		/* `val` (val.null for NULL) */
	EXPR_ARITH,		/* args[0] op args[1], op in EXPR_OP_ADD..MOD */
	EXPR_NEG,		/* -args[0] */
	EXPR_CMP,		/* args[0] op args[1], op in EXPR_OP_EQ..GE */
	EXPR_AND,		/* args[0..nargs) */
	EXPR_OR,
	EXPR_NOT,
	EXPR_IN,		/* args[0] IN (args[1..]) -- constants; neg = NOT IN */
	EXPR_LIKE,		/* args[0] LIKE args[1] (constant); neg = NOT LIKE */
	EXPR_ISNULL,		/* args[0] IS NULL; neg = IS NOT NULL */
	EXPR_CAST,		/* args[0] converted to `type` */
	EXPR_FUNC,		/* fn(args); op = a constant parameter (unit, ...) */
	EXPR_CASE,		/* args: cond0, val0, cond1, val1, ..., else */
	EXPR_COALESCE		/* first non-NULL of args, evaluated lazily */
} ExprKind;

typedef enum ExprOp {
	EXPR_OP_ADD, EXPR_OP_SUB, EXPR_OP_MUL, EXPR_OP_DIV, EXPR_OP_MOD,
	EXPR_OP_EQ, EXPR_OP_NE, EXPR_OP_LT, EXPR_OP_LE, EXPR_OP_GT, EXPR_OP_GE
} ExprOp;

typedef struct Expr {
	ExprKind kind;
	WbType type;		/* result type (TYPE_NULL for a bare NULL) */
	int mv;			/* result is a multi-value column */
	int op;			/* ExprOp */
	int neg;
	int col;		/* EXPR_COL */
	int id;			/* slot in an ExprCtx, unique within a plan */
	int pos;		/* 1-based position in the source text, 0 = unknown */
	Value val;		/* EXPR_CONST */
	const struct ExprFn *fn; /* EXPR_FUNC */
	int64_t aux;		/* EXPR_FUNC parameter (interval months...);
				 * EXPR_IN: 1 when every list item is a
				 * constant (set by expr_number) */
	int memo;		/* column + 1 when e depends on that single-value
				 * string column only (and holds a function, CASE
				 * or cast): evaluated once per dictionary entry;
				 * 0 otherwise (set by expr_number) */
	int nargs;
	struct Expr **args;
} Expr;

/* Tree construction in arena a (nodes live until the arena is reset).
 * Return NULL on allocation failure. */
Expr *expr_new(Arena *a, ExprKind kind, WbType type, int nargs);
Expr *expr_col(Arena *a, int col, WbType type, int mv);
Expr *expr_const(Arena *a, Value v);
/* Numbers every node of e from *next on (sets e->id) and marks the
 * subtrees that depend on one single-value string column only (memo);
 * *next advances. */
void expr_number(Expr *e, int *next);
/* 1 if e (or a child) refers to an input column. */
int expr_has_col(const Expr *e);

/* Result type of arithmetic between a and b (PostgreSQL rules: INT op INT
 * is INT, integers widen to LONG, any float gives DOUBLE). */
WbType expr_arith_type(WbType a, WbType b);

/* LIKE with % and _ and backslash escape; 1 on match. */
int expr_like(const char *pat, size_t plen, const char *s, size_t slen);

/* TIMESTAMP text: "YYYY-MM-DD HH:MM:SS[.fff]" (also 'T' separator, a
 * date alone, or a trailing Z) to ms since epoch UTC; 0 or ERR_TYPE. */
int expr_ts_parse(const char *s, size_t n, int64_t *ms);
/* Pinot's rendering of a TIMESTAMP: "2014-01-01 00:00:00.0". */
void expr_ts_format(int64_t ms, Buf *b);
/* Converts a constant to type t (number parsing, timestamp text, ...);
 * ERR_TYPE with a message on failure.  Strings are allocated in a. */
int expr_convert(const Value *in, WbType t, Value *out, Arena *a, Err *e);

#endif
