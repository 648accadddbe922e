/*
 * fnmath.c -- numeric scalar functions: PostgreSQL's abs, ceil/ceiling,
 * floor, round, trunc, sqrt, cbrt, exp, ln, log/log10, power/pow, mod,
 * sign, pi, and Pinot's add, sub, mult, div (and plus, minus, times,
 * divide), roundDecimal, and Pinot's bit functions (bitAnd, bitOr,
 * bitXor, bitNot, bitShiftLeft, bitShiftRight, bitShiftRightUnsigned /
 * bitShiftRightLogical, bitMask, bitExtract / extractBit) with Java's
 * int / long semantics: INT arguments give INT results wrapping at 32
 * bits, shift counts are taken modulo the width.
 *
 * PostgreSQL names keep PostgreSQL's semantics: integer arguments stay
 * integers where PostgreSQL's result is exact (abs, ceil, floor, round,
 * sign, mod), domain errors are errors ("cannot take logarithm of zero"),
 * mod by zero is a division-by-zero error (sqrt and the logarithms give
 * NaN / -Infinity instead when the binder sets aux = FNMATH_IEEE, for
 * Pinot's dialect).  Pinot's names keep Pinot's:
 * DOUBLE arithmetic following IEEE (div by zero gives Infinity).
 *
 * Each function loops over the selected rows, skipping rows already NULL
 * (all are FN_STRICT); nothing is allocated.
 *
 * Exports: fnmath_table.
 */
#include "expr/exprfn.h"

#include <math.h>

#define IS_F(c) ((c)->e->type == TYPE_DOUBLE || (c)->e->type == TYPE_FLOAT)

static int
f_abs(FnCall *c)
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		if (IS_F(c))
			c->od[r] = fabs(exprfn_d(a, r));
		else
			c->oi[r] = a->i[r] < 0 ? (int64_t)(0 - (uint64_t)a->i[r]) : a->i[r];
	}
	return 0;
}

static int
unary_d(FnCall *c, double (*fn)(double))
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		if (IS_F(c))
			c->od[r] = fn(exprfn_d(a, r));
		else
			c->oi[r] = a->i[r];	/* integers are their own ceil/floor/round */
	}
	return 0;
}

/* PostgreSQL rounds half away from zero */
static double
round_away(double x)
{
	return round(x);
}

static int f_ceil(FnCall *c) { return unary_d(c, ceil); }
static int f_floor(FnCall *c) { return unary_d(c, floor); }
static int f_round1(FnCall *c) { return unary_d(c, round_away); }
static int f_trunc1(FnCall *c) { return unary_d(c, trunc); }

static int
scaled(FnCall *c, double (*fn)(double))
{
	const Vec *a = c->a[0], *b = c->a[1];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t n = exprfn_i(b, r);
		double x = exprfn_d(a, r);
		if (n > 300)
			n = 300;
		if (n < -300)
			n = -300;
		double p = pow(10.0, (double)(n < 0 ? -n : n));
		double y = n >= 0 ? fn(x * p) / p : fn(x / p) * p;
		if (!isfinite(y))
			y = x;
		c->od[r] = y;
	}
	return 0;
}

static int f_round2(FnCall *c) { return scaled(c, round_away); }
static int f_trunc2(FnCall *c) { return scaled(c, trunc); }

static int
f_sqrt(FnCall *c)
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double x = exprfn_d(a, r);
		if (x < 0 && c->e->aux != FNMATH_IEEE)
			return exprfn_fail(c, ERR_INVALID, "cannot take square root of a negative number");
		c->od[r] = sqrt(x);
	}
	return 0;
}

static int
f_cbrt(FnCall *c)
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (!c->on[r])
			c->od[r] = cbrt(exprfn_d(a, r));
	}
	return 0;
}

static int
f_exp(FnCall *c)
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double x = exprfn_d(a, r);
		double y = exp(x);
		if (isinf(y) && !isinf(x))
			return exprfn_fail(c, ERR_OVERFLOW, "value out of range: overflow");
		c->od[r] = y;
	}
	return 0;
}

static int
logn(FnCall *c, double (*fn)(double))
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double x = exprfn_d(a, r);
		if (x == 0 && c->e->aux != FNMATH_IEEE)
			return exprfn_fail(c, ERR_INVALID, "cannot take logarithm of zero");
		if (x < 0 && c->e->aux != FNMATH_IEEE)
			return exprfn_fail(c, ERR_INVALID, "cannot take logarithm of a negative number");
		c->od[r] = fn(x);	/* IEEE: -Infinity for 0, NaN below */
	}
	return 0;
}

static int f_ln(FnCall *c) { return logn(c, log); }
static int f_log10(FnCall *c) { return logn(c, log10); }

static int
f_log2(FnCall *c)
{
	/* log(b, x): logarithm of x to base b */
	const Vec *b = c->a[0], *a = c->a[1];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double x = exprfn_d(a, r), base = exprfn_d(b, r);
		if (x == 0 || base == 0)
			return exprfn_fail(c, ERR_INVALID, "cannot take logarithm of zero");
		if (x < 0 || base < 0)
			return exprfn_fail(c, ERR_INVALID, "cannot take logarithm of a negative number");
		if (base == 1)
			return exprfn_fail(c, ERR_DIV_ZERO, "division by zero");
		c->od[r] = log(x) / log(base);
	}
	return 0;
}

static int
f_power(FnCall *c)
{
	const Vec *a = c->a[0], *b = c->a[1];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double x = exprfn_d(a, r), y = exprfn_d(b, r);
		if (x == 0 && y < 0)
			return exprfn_fail(c, ERR_INVALID, "zero raised to a negative power is undefined");
		if (x < 0 && y != floor(y))
			return exprfn_fail(c, ERR_INVALID,
					   "a negative number raised to a non-integer power yields a complex result");
		double z = pow(x, y);
		if (isinf(z) && !isinf(x) && !isinf(y))
			return exprfn_fail(c, ERR_OVERFLOW, "value out of range: overflow");
		c->od[r] = z;
	}
	return 0;
}

static int
f_mod(FnCall *c)
{
	const Vec *a = c->a[0], *b = c->a[1];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		if (IS_F(c)) {
			double y = exprfn_d(b, r);
			if (y == 0)
				return exprfn_fail(c, ERR_DIV_ZERO, "division by zero");
			c->od[r] = fmod(exprfn_d(a, r), y);
		} else {
			int64_t y = b->i[r];
			if (y == 0)
				return exprfn_fail(c, ERR_DIV_ZERO, "division by zero");
			c->oi[r] = y == -1 ? 0 : a->i[r] % y;
		}
	}
	return 0;
}

static int
f_sign(FnCall *c)
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		if (IS_F(c)) {
			double x = exprfn_d(a, r);
			c->od[r] = x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
		} else {
			c->oi[r] = a->i[r] > 0 ? 1 : a->i[r] < 0 ? -1 : 0;
		}
	}
	return 0;
}

static int
f_pi(FnCall *c)
{
	FN_FOR(c, k, r)
		c->od[r] = 3.14159265358979323846;
	return 0;
}

/* Pinot: DOUBLE arithmetic over any number of arguments */
static int
pinot_fold(FnCall *c, int op)
{
	int n = c->e->nargs;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double z = exprfn_d(c->a[0], r);
		for (int j = 1; j < n; j++) {
			double y = exprfn_d(c->a[j], r);
			switch (op) {
			case 0: z += y; break;
			case 1: z -= y; break;
			case 2: z *= y; break;
			default: z /= y; break;
			}
		}
		c->od[r] = z;
	}
	return 0;
}

static int f_add(FnCall *c) { return pinot_fold(c, 0); }
static int f_sub(FnCall *c) { return pinot_fold(c, 1); }
static int f_mult(FnCall *c) { return pinot_fold(c, 2); }
static int f_div(FnCall *c) { return pinot_fold(c, 3); }

/* ---- Pinot's bit functions: Java's two's-complement int / long ---- */

/* Stores v as the node's integer type: an INT result wraps to 32 bits. */
static inline int64_t
as_type(const FnCall *c, uint64_t v)
{
	return c->e->type == TYPE_INT ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

static int
bit_binary(FnCall *c, int op)
{
	const Vec *a = c->a[0], *b = c->a[1];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t x = (uint64_t)a->i[r], y = (uint64_t)b->i[r];
		c->oi[r] = as_type(c, op == 0 ? x & y : op == 1 ? x | y : x ^ y);
	}
	return 0;
}

static int f_bitand(FnCall *c) { return bit_binary(c, 0); }
static int f_bitor(FnCall *c) { return bit_binary(c, 1); }
static int f_bitxor(FnCall *c) { return bit_binary(c, 2); }

static int
f_bitnot(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (!c->on[r])
			c->oi[r] = as_type(c, ~(uint64_t)c->a[0]->i[r]);
	}
	return 0;
}

/* Shifts as Java's <<, >> and >>> on the first argument's type: the
 * count is taken modulo 32 (INT) or 64 (LONG). */
static int
bit_shift(FnCall *c, int op)
{
	const Vec *a = c->a[0], *n = c->a[1];
	int is32 = c->e->type == TYPE_INT;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		unsigned sh = (unsigned)((uint64_t)n->i[r] & (is32 ? 31u : 63u));
		if (is32) {
			uint32_t x = (uint32_t)a->i[r];
			uint32_t v = op == 0 ? x << sh : op == 1 ? (x >> sh) | ((x >> 31) && sh ? ~(UINT32_MAX >> sh) : 0)
							   : x >> sh;
			c->oi[r] = (int64_t)(int32_t)v;
		} else {
			uint64_t x = (uint64_t)a->i[r];
			uint64_t v = op == 0 ? x << sh : op == 1 ? (x >> sh) | ((x >> 63) && sh ? ~(UINT64_MAX >> sh) : 0)
							   : x >> sh;
			c->oi[r] = (int64_t)v;
		}
	}
	return 0;
}

static int f_shl(FnCall *c) { return bit_shift(c, 0); }
static int f_shr(FnCall *c) { return bit_shift(c, 1); }
static int f_shru(FnCall *c) { return bit_shift(c, 2); }

/* bitMask(n): the LONG with only bit n set; 0 for n outside 0..63. */
static int
f_bitmask(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t n = c->a[0]->i[r];
		c->oi[r] = n >= 0 && n < 64 ? (int64_t)(UINT64_C(1) << n) : 0;
	}
	return 0;
}

/* bitExtract(x, n): bit n of x as 0 or 1; 0 for n outside 0..63. */
static int
f_bitextract(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t n = c->a[1]->i[r];
		c->oi[r] = n >= 0 && n < 64 ? (int64_t)(((uint64_t)c->a[0]->i[r] >> n) & 1) : 0;
	}
	return 0;
}

/* roundDecimal(x[, scale]): Pinot's, half away from zero (HALF_UP) to
 * scale decimals (0 without); a DOUBLE. */
static int
f_round_decimal(FnCall *c)
{
	int two = c->e->nargs > 1;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double x = exprfn_d(c->a[0], r);
		int64_t sc = two ? c->a[1]->i[r] : 0;
		if (!isfinite(x) || sc > 330) {
			c->od[r] = x;
			continue;
		}
		if (sc < -330) {
			c->od[r] = 0 * x;
			continue;
		}
		double p = pow(10.0, (double)(sc < 0 ? -sc : sc));
		double y = sc >= 0 ? x * p : x / p;
		if (!isfinite(y)) {
			c->od[r] = x;	/* more decimals than a double has */
			continue;
		}
		y = round(y);
		c->od[r] = sc >= 0 ? y / p : y * p;
	}
	return 0;
}

const ExprFn fnmath_table[] = {
	{"abs", "N", '0', FN_STRICT, NULL, f_abs, NULL},
	{"ceil", "N", '0', FN_STRICT, NULL, f_ceil, NULL},
	{"ceiling", "N", '0', FN_STRICT, NULL, f_ceil, NULL},
	{"floor", "N", '0', FN_STRICT, NULL, f_floor, NULL},
	{"round", "N", '0', FN_STRICT, NULL, f_round1, NULL},
	{"round", "NI", 'D', FN_STRICT, NULL, f_round2, NULL},
	{"trunc", "N", '0', FN_STRICT, NULL, f_trunc1, NULL},
	{"trunc", "NI", 'D', FN_STRICT, NULL, f_trunc2, NULL},
	{"truncate", "N", '0', FN_STRICT, NULL, f_trunc1, NULL},
	{"truncate", "NI", 'D', FN_STRICT, NULL, f_trunc2, NULL},
	{"sqrt", "N", 'D', FN_STRICT, NULL, f_sqrt, NULL},
	{"cbrt", "N", 'D', FN_STRICT, NULL, f_cbrt, NULL},
	{"exp", "N", 'D', FN_STRICT, NULL, f_exp, NULL},
	{"ln", "N", 'D', FN_STRICT, NULL, f_ln, NULL},
	{"log10", "N", 'D', FN_STRICT, NULL, f_log10, NULL},
	{"log", "N", 'D', FN_STRICT, NULL, f_log10, NULL},
	{"log", "NN", 'D', FN_STRICT, NULL, f_log2, NULL},
	{"power", "NN", 'D', FN_STRICT, NULL, f_power, NULL},
	{"pow", "NN", 'D', FN_STRICT, NULL, f_power, NULL},
	{"mod", "NN", 'n', FN_STRICT, NULL, f_mod, NULL},
	{"sign", "N", '0', FN_STRICT, NULL, f_sign, NULL},
	{"pi", "", 'D', 0, NULL, f_pi, NULL},
	{"add", "NN*", 'D', FN_STRICT, NULL, f_add, NULL},
	{"plus", "NN", 'D', FN_STRICT, NULL, f_add, NULL},
	{"sub", "NN", 'D', FN_STRICT, NULL, f_sub, NULL},
	{"minus", "NN", 'D', FN_STRICT, NULL, f_sub, NULL},
	{"mult", "NN*", 'D', FN_STRICT, NULL, f_mult, NULL},
	{"times", "NN*", 'D', FN_STRICT, NULL, f_mult, NULL},
	{"div", "NN", 'D', FN_STRICT, NULL, f_div, NULL},
	{"divide", "NN", 'D', FN_STRICT, NULL, f_div, NULL},
	{"bitand", "II", 'n', FN_STRICT, NULL, f_bitand, NULL},
	{"bitor", "II", 'n', FN_STRICT, NULL, f_bitor, NULL},
	{"bitxor", "II", 'n', FN_STRICT, NULL, f_bitxor, NULL},
	{"bitnot", "I", '0', FN_STRICT, NULL, f_bitnot, NULL},
	{"bitshiftleft", "II", '0', FN_STRICT, NULL, f_shl, NULL},
	{"bitshiftright", "II", '0', FN_STRICT, NULL, f_shr, NULL},
	{"bitshiftrightunsigned", "II", '0', FN_STRICT, NULL, f_shru, NULL},
	{"bitshiftrightlogical", "II", '0', FN_STRICT, NULL, f_shru, NULL},
	{"bitmask", "I", 'L', FN_STRICT, NULL, f_bitmask, NULL},
	{"bitextract", "II", 'I', FN_STRICT, NULL, f_bitextract, NULL},
	{"extractbit", "II", 'I', FN_STRICT, NULL, f_bitextract, NULL},
	{"rounddecimal", "N", 'D', FN_STRICT, NULL, f_round_decimal, NULL},
	{"rounddecimal", "NI", 'D', FN_STRICT, NULL, f_round_decimal, NULL},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
