/*
 * fnmath.c -- numeric scalar functions: PostgreSQL's abs, ceil/ceiling,
 * floor, round, trunc, sqrt, cbrt, exp, ln, log/log10, power/pow, mod,
 * sign, pi, and Pinot's add, sub, mult, div (and plus, minus, times,
 * divide).
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
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
