/*
 * exprin.h -- the contract between a compiler of standalone expressions
 * (src/query/exprc.c) and their users in other layer-3 folders (ingest
 * transforms, src/ingest/xform.c): named, typed inputs and a compiled
 * tree.  Types only; no functions.
 */
#ifndef WB_EXPRIN_H
#define WB_EXPRIN_H

#include "base/err.h"
#include "expr/expr.h"

/* A named input column of an expression. */
typedef struct ExprIn {
	const char *name;
	WbType type;		/* TYPE_NULL given to a compiler: a field of
				 * unknown type (the compiler picks one from
				 * how the expression uses it) */
	int mv;
} ExprIn;

/* One compiled expression: expr's EXPR_COL nodes index inputs[]. */
typedef struct ExprCompiled {
	Expr *expr;		/* result type expr->type (expr->mv) */
	int nnodes;		/* Expr ids are below this (ExprCtx slots) */
	int ninputs;
	ExprIn *inputs;		/* the names as the source spells them, with
				 * the types the compiler chose */
	void *owner;		/* what the compiler's release frees; owns
				 * expr and inputs */
} ExprCompiled;

/* Compiles text (Pinot's SQL expression dialect) against known[0..nknown)
 * (typed columns, matched as SQL names are); any other name is a field
 * of unknown type.  Errors: ERR_SQL_PARSE, ERR_FUNC_MISSING, ERR_TYPE,
 * ERR_UNSUPPORTED with e->msg. */
typedef int (*ExprCompileFn)(void *ctx, const char *text, const ExprIn *known, int nknown,
			     ExprCompiled *out, Err *e);
typedef void (*ExprReleaseFn)(void *ctx, void *owner);

#endif
