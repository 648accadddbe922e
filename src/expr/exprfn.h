/*
 * exprfn.h -- the table of scalar SQL functions (EXPR_FUNC nodes): names,
 * argument classes, result types, and their vectorized implementations.
 *
 * The binder looks a name up (exprfn_find), checks and coerces the
 * arguments against the signature, then calls the entry's prep hook to
 * validate constant parameters (units, patterns) and store them in the
 * node.  exprvec.c evaluates the arguments over the selection and calls
 * the entry's eval with an FnCall.
 */
#ifndef WB_EXPRFN_H
#define WB_EXPRFN_H

#include "expr/exprvec.h"

/* Evaluation of one EXPR_FUNC node over a batch. */
typedef struct FnCall {
	const Expr *e;
	const Vec *const *a;	/* evaluated arguments */
	const uint16_t *sel;
	int nsel;
	int64_t *oi;		/* outputs by result encoding; write selected rows */
	double *od;
	const char **os;
	uint32_t *ol;
	uint8_t *on;		/* NULL flags: preset from the arguments for
				 * strict functions; a function may set more */
	Vec *omv;		/* FN_MVRESULT: the output vector; write
				 * omv->mvoff/mvcnt (preallocated arrays, cast
				 * away const) at selected rows and point
				 * omv->elems (numbers) or omv->s/slen (strings)
				 * at element arrays allocated in arena */
	Arena *arena;		/* result strings; reset per batch */
	void **state;		/* per-ExprCtx state of this node (or NULL) */
	Err *err;
} FnCall;

/* Argument classes in ExprFn.args: S string, N number, I integer,
 * T TIMESTAMP, M TIMESTAMP or integer milliseconds, B boolean, A any
 * scalar, V a multi-value column (any element type; the function reads
 * it with exprvec_mv_range / exprvec_elem); '|' starts the optional
 * ones; a trailing '*' repeats the last.
 * Result classes (ExprFn.ret): I INT, L LONG, D DOUBLE, S STRING,
 * B BOOLEAN, T TIMESTAMP, '0'..'3' the (element) type of that argument,
 * 'n' the arithmetic type of all numeric arguments, X the type named by
 * the constant string argument 2 ('INT', 'LONG', 'DOUBLE', 'STRING',
 * 'BOOLEAN', 'TIMESTAMP'). */
typedef struct ExprFn {
	const char *name;
	const char *args;
	char ret;
	int flags;
	/* validates constant arguments at bind time, may set e->op / e->aux;
	 * ERR_* with a message (the binder adds the position) */
	int (*prep)(Expr *e, Arena *a, Err *err);
	int (*eval)(FnCall *c);
	void (*free_state)(void *state);
} ExprFn;

#define FN_STRICT 1		/* NULL if any argument is NULL */
#define FN_VOLATILE 2		/* never folded at bind time (now()) */
#define FN_CONSTARGS 4		/* arguments after the first must be constants */
#define FN_MVRESULT 8		/* returns a multi-value result (Expr.mv) of
				 * the result type's elements (FnCall.omv) */

/* Expr.aux of sqrt, ln, log10 and log(x): IEEE results (NaN below zero,
 * -Infinity for the logarithm of 0) instead of PostgreSQL's domain
 * errors, as Pinot (Java's Math) computes them.  Set by the binder. */
#define FNMATH_IEEE 1

/* Entries named name (lowercase), in table order; *n receives their count. */
const ExprFn *exprfn_find(const char *name, int *n);
/* 1 if a and b are the same function name as Pinot canonicalizes them:
 * case and underscores ignored (regexp_like = regexpLike). */
int exprfn_name_eq(const char *a, const char *b);
/* 1 if name is a known scalar function (any arity). */
int exprfn_exists(const char *name);
/* Parses a PostgreSQL interval literal ('1 hour', '2 days 03:00:00',
 * '1 month', ISO 'PT1H'); 0 or ERR_TYPE. */
int exprfn_interval_parse(const char *s, size_t n, int64_t *months, int64_t *ms);

/* Helpers for implementations (exprfn.c). */
const char *exprfn_str(const Vec *v, int r, uint32_t *len);
static inline int
exprfn_null(const Vec *v, int r)
{
	return v->nulls != NULL && v->nulls[r];
}
/* A number argument's value; 0 for a string one (an 'A' class argument
 * may be either: the function decides what a string means). */
static inline double
exprfn_d(const Vec *v, int r)
{
	return v->enc == VEC_F64 ? v->d[r] : v->enc == VEC_I64 ? (double)v->i[r] : 0.0;
}
static inline int64_t
exprfn_i(const Vec *v, int r)
{
	return v->enc == VEC_F64 ? (int64_t)v->d[r] : v->enc == VEC_I64 ? v->i[r] : 0;
}
/* Sets an error at the node's position. */
int exprfn_fail(FnCall *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Tables of the function families (fnstr.c, fnmath.c, fntime.c,
 * fntext.c, fnmv.c, fnjson.c). */
extern const ExprFn fnstr_table[];
extern const ExprFn fnmath_table[];
extern const ExprFn fntime_table[];
extern const ExprFn fntext_table[];
extern const ExprFn fnmv_table[];
extern const ExprFn fnjson_table[];

#define FN_FOR(c, k, r) \
	for (int k = 0, r; k < (c)->nsel && ((r = (c)->sel ? (c)->sel[k] : k), 1); k++)

/* The class letter of argument i of a call with nargs arguments under
 * signature sig (ExprFn.args), 0 if the arity does not fit sig. */
char exprfn_sig_class(const char *sig, int i, int nargs);

#endif
