/*
 * test_inlist.c -- long IN / NOT IN lists (a subquery's 200k values made
 * constants): evaluated through a hash set with the
 * answers (and NULL handling) of the short-list form, over a dictionary
 * column, raw strings, integers and doubles; the query deadline ends the
 * work with ERR_TIMEOUT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "expr/exprvec.h"

#define NLIST 200000
#define NROWS 1000

/* x IN (every even number below 2 * NLIST, as strings "k<n>" or numbers),
 * plus one NULL constant */
static Expr *
long_in(Arena *a, WbType t, int neg, int col)
{
	Expr *in = expr_new(a, EXPR_IN, TYPE_BOOLEAN, NLIST + 2);
	in->neg = neg;
	in->args[0] = expr_col(a, col, t, 0);
	for (int k = 0; k < NLIST; k++) {
		Value v;
		if (type_is_var(t)) {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "k%d", 2 * k);
			v = value_str(TYPE_STRING, arena_strndup(a, buf, (size_t)n), (uint32_t)n);
		} else if (type_is_float(t)) {
			v = value_double(TYPE_DOUBLE, 2.0 * k);
		} else {
			v = value_int(TYPE_LONG, 2 * (int64_t)k);
		}
		in->args[1 + k] = expr_const(a, v);
	}
	in->args[NLIST + 1] = expr_const(a, value_null(t));
	return in;
}

/* Rows r = 0..NROWS: value 397 * r (even ones in the list when below
 * 2 * NLIST), row 5 NULL. */
static void
check(const Vec *out, int neg)
{
	for (int r = 0; r < NROWS; r++) {
		if (r == 5) {
			assert_true(out->nulls != NULL && out->nulls[r]);
			continue;
		}
		int64_t x = 397 * (int64_t)r;
		int in = x % 2 == 0 && x < 2 * NLIST;
		assert_int_equal(out->i[r] != 0, neg ? !in : in);
	}
}

static void
test_long_lists(void **st)
{
	Arena a;
	arena_init(&a, 1 << 20);
	static int64_t iv[NROWS];
	static double dv[NROWS];
	static const char *sv[NROWS];
	static uint32_t sl[NROWS];
	static uint8_t nl[NROWS];
	for (int r = 0; r < NROWS; r++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "k%d", 397 * r);
		iv[r] = 397 * (int64_t)r;
		dv[r] = 397.0 * r;
		sv[r] = arena_strndup(&a, buf, (size_t)n);
		sl[r] = (uint32_t)n;
		nl[r] = r == 5;
	}
	Vec cols[3] = {
		{.type = TYPE_LONG, .enc = VEC_I64, .i = iv, .nulls = nl},
		{.type = TYPE_DOUBLE, .enc = VEC_F64, .d = dv, .nulls = nl},
		{.type = TYPE_STRING, .enc = VEC_STR, .s = sv, .slen = sl, .nulls = nl},
	};
	Batch b = {NROWS, 3, cols};
	WbType ts[3] = {TYPE_LONG, TYPE_DOUBLE, TYPE_STRING};
	for (int c = 0; c < 3; c++)
		for (int neg = 0; neg < 2; neg++) {
			Expr *in = long_in(&a, ts[c], neg, c);
			int n = 0;
			expr_number(in, &n);
			ExprCtx cx;
			assert_int_equal(exprvec_ctx_init(&cx, n), 0);
			const Vec *out;
			Err e;
			err_clear(&e);
			/* twice: the set is built once per context */
			for (int rep = 0; rep < 2; rep++) {
				assert_int_equal(exprvec_eval(&cx, in, &b, NULL, NROWS, &out, &e), 0);
				check(out, neg);
			}
			exprvec_ctx_free(&cx);
		}
	/* an integer column against double constants and the reverse */
	Expr *mix = expr_new(&a, EXPR_IN, TYPE_BOOLEAN, 41);
	mix->args[0] = expr_col(&a, 0, TYPE_LONG, 0);
	for (int k = 0; k < 40; k++)
		mix->args[1 + k] = expr_const(&a, value_double(TYPE_DOUBLE, 397.0 * k + (k % 2 ? 0.5 : 0)));
	int n = 0;
	expr_number(mix, &n);
	ExprCtx cx;
	assert_int_equal(exprvec_ctx_init(&cx, n), 0);
	const Vec *out;
	Err e;
	err_clear(&e);
	assert_int_equal(exprvec_eval(&cx, mix, &b, NULL, NROWS, &out, &e), 0);
	for (int r = 0; r < NROWS; r++)
		if (r != 5)
			assert_int_equal(out->i[r] != 0, r < 40 && r % 2 == 0);
	exprvec_ctx_free(&cx);
	arena_free(&a);
	(void)st;
}

/* A dictionary column of a mutable segment: the set per dictionary entry
 * comes from the hashed list, and a deadline in the past ends it. */
static void
test_dict_and_deadline(void **st)
{
	ColDesc cd[1] = {{TYPE_STRING, 0}};
	MutSeg *s = mutseg_create(1, cd);
	RowBatch rb;
	rowbatch_init(&rb, 1);
	Arena a;
	arena_init(&a, 1 << 20);
	for (int r = 0; r < NROWS; r++) {
		Value *row = rowbatch_add_row(&rb);
		if (r == 5)
			continue;	/* NULL */
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "k%d", 397 * r);
		row[0] = value_str(TYPE_STRING, arena_strndup(&a, buf, (size_t)n), (uint32_t)n);
	}
	Err e;
	err_clear(&e);
	assert_int_equal(mutseg_append(s, &rb, &e), 0);
	mutseg_publish(s);
	const MutCol *mc = mutseg_col(s, 0);
	static uint8_t nl[NROWS];
	for (int i = 0; i < NROWS; i++)
		nl[i] = (uint8_t)mutcol_is_null(mc, (size_t)i);
	Vec col = {.type = TYPE_STRING, .enc = VEC_DICT, .ids = mutcol_data(mc, 0), .col = mc, .nulls = nl};
	Batch b = {NROWS, 1, &col};
	for (int neg = 0; neg < 2; neg++) {
		Expr *in = long_in(&a, TYPE_STRING, neg, 0);
		int n = 0;
		expr_number(in, &n);
		ExprCtx cx;
		assert_int_equal(exprvec_ctx_init(&cx, n), 0);
		static uint16_t sel[NROWS];
		int ns = 0;
		assert_int_equal(exprvec_filter(&cx, in, &b, NULL, NROWS, sel, &ns, &e), 0);
		/* even r: 397 r even and below 2 * NLIST (r < 504); NULL never */
		int want = 0;
		for (int r = 0; r < NROWS; r++)
			if (r != 5 && ((397 * r) % 2 == 0 && 397 * r < 2 * NLIST) != neg)
				want++;
		assert_int_equal(ns, want);
		exprvec_ctx_free(&cx);

		/* past the deadline: ERR_TIMEOUT, not a long loop */
		assert_int_equal(exprvec_ctx_init(&cx, n), 0);
		cx.deadline_ns = clock_mono_ns() - 1;
		err_clear(&e);
		assert_int_equal(exprvec_filter(&cx, in, &b, NULL, NROWS, sel, &ns, &e), ERR_TIMEOUT);
		exprvec_ctx_free(&cx);
	}
	arena_free(&a);
	rowbatch_free(&rb);
	mutseg_free(s);
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_lists),
		cmocka_unit_test(test_dict_and_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
