/*
 * test_exprfn.c -- scalar functions evaluated directly: interval
 * literals, date_trunc and DATETRUNC across month/year boundaries and
 * before 1970 (UTC, no DST), Pinot's truncating epoch conversions of
 * negative values, CASE evaluating only the rows that reach a branch,
 * and strict NULL propagation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/mem.h"
#include "expr/exprfn.h"

static void
test_interval_parse(void **st)
{
	int64_t mon, ms;
	assert_int_equal(exprfn_interval_parse("1 hour", 6, &mon, &ms), 0);
	assert_true(mon == 0 && ms == 3600000);
	assert_int_equal(exprfn_interval_parse("2 days 03:00:00", 15, &mon, &ms), 0);
	assert_true(mon == 0 && ms == 2 * 86400000LL + 3 * 3600000LL);
	assert_int_equal(exprfn_interval_parse("1 year 2 months", 15, &mon, &ms), 0);
	assert_true(mon == 14 && ms == 0);
	assert_int_equal(exprfn_interval_parse("PT1H30M", 7, &mon, &ms), 0);
	assert_true(mon == 0 && ms == 5400000);
	assert_int_equal(exprfn_interval_parse("P1D", 3, &mon, &ms), 0);
	assert_true(ms == 86400000);
	assert_int_equal(exprfn_interval_parse("1.5 seconds", 11, &mon, &ms), 0);
	assert_true(ms == 1500);
	assert_int_equal(exprfn_interval_parse("3 days ago", 10, &mon, &ms), 0);
	assert_true(ms == -3 * 86400000LL);
	assert_int_not_equal(exprfn_interval_parse("soon", 4, &mon, &ms), 0);
	assert_int_not_equal(exprfn_interval_parse("1 fortnight", 11, &mon, &ms), 0);
	assert_int_not_equal(exprfn_interval_parse("", 0, &mon, &ms), 0);
	assert_int_not_equal(exprfn_interval_parse("P", 1, &mon, &ms), 0);
	(void)st;
}

/* f(unit, col0) over the values of xs */
static void
run_unit_fn(const char *fname, const char *unit, WbType argt, const int64_t *xs, const uint8_t *nl, int n,
	    int64_t *out, uint8_t *outnull)
{
	Arena a;
	arena_init(&a, 4096);
	Vec col = {.type = argt, .enc = VEC_I64, .i = xs, .nulls = nl};
	Batch b = {n, 1, &col};
	int nf;
	const ExprFn *f = exprfn_find(fname, &nf);
	assert_non_null(f);
	Expr *e = expr_new(&a, EXPR_FUNC, f->ret == 'T' ? TYPE_TIMESTAMP : TYPE_LONG, 2);
	e->fn = f;
	e->args[0] = expr_const(&a, value_str(TYPE_STRING, unit, (uint32_t)strlen(unit)));
	e->args[1] = expr_col(&a, 0, argt, 0);
	Err err;
	err_clear(&err);
	assert_int_equal(f->prep(e, &a, &err), 0);
	int next = 0;
	expr_number(e, &next);
	ExprCtx cx;
	assert_int_equal(exprvec_ctx_init(&cx, next), 0);
	const Vec *v;
	assert_int_equal(exprvec_eval(&cx, e, &b, NULL, n, &v, &err), 0);
	for (int r = 0; r < n; r++) {
		out[r] = v->i[r];
		outnull[r] = v->nulls ? v->nulls[r] : 0;
	}
	exprvec_ctx_free(&cx);
	arena_free(&a);
}

static void
test_date_trunc_boundaries(void **st)
{
	/* 2023-12-31 23:59:59.999, 2024-02-29 12:00, 1969-12-31 23:00,
	 * -1 ms, 1900-03-01 00:00:00.001, NULL */
	int64_t xs[6] = {1704067199999LL, 1709208000000LL, -3600000LL, -1, -2203891199999LL, 0};
	uint8_t nl[6] = {0, 0, 0, 0, 0, 1};
	int64_t out[6];
	uint8_t on[6];
	run_unit_fn("date_trunc", "month", TYPE_TIMESTAMP, xs, nl, 6, out, on);
	assert_true(out[0] == 1701388800000LL);	/* 2023-12-01 */
	assert_true(out[1] == 1706745600000LL);	/* 2024-02-01 */
	assert_true(out[2] == -2678400000LL);	/* 1969-12-01 */
	assert_true(out[3] == -2678400000LL);
	assert_true(out[4] == -2203891200000LL);	/* 1900-03-01 */
	assert_true(on[5] && !on[0]);
	run_unit_fn("date_trunc", "year", TYPE_TIMESTAMP, xs, nl, 6, out, on);
	assert_true(out[0] == 1672531200000LL);	/* 2023-01-01 */
	assert_true(out[1] == 1704067200000LL);	/* 2024-01-01 */
	assert_true(out[3] == -31536000000LL);	/* 1969-01-01 */
	run_unit_fn("date_trunc", "day", TYPE_TIMESTAMP, xs, nl, 6, out, on);
	assert_true(out[3] == -86400000LL);
	run_unit_fn("date_trunc", "week", TYPE_TIMESTAMP, xs, nl, 6, out, on);
	assert_true(out[0] == 1703462400000LL);	/* Monday 2023-12-25 */
	assert_true(out[3] == -259200000LL);	/* Monday 1969-12-29 */
	run_unit_fn("datetrunc", "QUARTER", TYPE_LONG, xs, nl, 6, out, on);
	assert_true(out[0] == 1696118400000LL);	/* 2023-10-01 */
	assert_true(out[1] == 1704067200000LL);
	(void)st;
}

static void
test_epoch_truncates(void **st)
{
	Arena a;
	arena_init(&a, 4096);
	int64_t xs[3] = {-1500, 1500, -60001};
	Vec col = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs};
	Batch b = {3, 1, &col};
	int nf;
	Expr *e = expr_new(&a, EXPR_FUNC, TYPE_LONG, 1);
	e->fn = exprfn_find("toepochseconds", &nf);
	e->args[0] = expr_col(&a, 0, TYPE_LONG, 0);
	int next = 0;
	expr_number(e, &next);
	ExprCtx cx;
	assert_int_equal(exprvec_ctx_init(&cx, next), 0);
	const Vec *v;
	Err err;
	err_clear(&err);
	assert_int_equal(exprvec_eval(&cx, e, &b, NULL, 3, &v, &err), 0);
	assert_true(v->i[0] == -1 && v->i[1] == 1 && v->i[2] == -60);	/* Java: toward zero */
	exprvec_ctx_free(&cx);
	arena_free(&a);
	(void)st;
}

static void
test_case_lazy(void **st)
{
	/* CASE WHEN x = 0 THEN -1 ELSE 10 / x END never divides by zero */
	Arena a;
	arena_init(&a, 4096);
	int64_t xs[4] = {0, 5, 0, -2};
	uint8_t nl[4] = {0, 0, 0, 1};
	Vec col = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs, .nulls = nl};
	Batch b = {4, 1, &col};
	Expr *cmp = expr_new(&a, EXPR_CMP, TYPE_BOOLEAN, 2);
	cmp->op = EXPR_OP_EQ;
	cmp->args[0] = expr_col(&a, 0, TYPE_LONG, 0);
	cmp->args[1] = expr_const(&a, value_int(TYPE_LONG, 0));
	Expr *div = expr_new(&a, EXPR_ARITH, TYPE_LONG, 2);
	div->op = EXPR_OP_DIV;
	div->args[0] = expr_const(&a, value_int(TYPE_LONG, 10));
	div->args[1] = expr_col(&a, 0, TYPE_LONG, 0);
	Expr *c = expr_new(&a, EXPR_CASE, TYPE_LONG, 3);
	c->args[0] = cmp;
	c->args[1] = expr_const(&a, value_int(TYPE_LONG, -1));
	c->args[2] = div;
	int next = 0;
	expr_number(c, &next);
	ExprCtx cx;
	assert_int_equal(exprvec_ctx_init(&cx, next), 0);
	const Vec *v;
	Err err;
	err_clear(&err);
	assert_int_equal(exprvec_eval(&cx, c, &b, NULL, 4, &v, &err), 0);
	assert_true(v->i[0] == -1 && v->i[1] == 2 && v->i[2] == -1);
	assert_true(v->nulls[3] && !v->nulls[0] && !v->nulls[1]);
	/* with a selection that skips row 0 */
	uint16_t sel[2] = {1, 3};
	assert_int_equal(exprvec_eval(&cx, c, &b, sel, 2, &v, &err), 0);
	assert_true(v->i[1] == 2 && v->nulls[3]);
	exprvec_ctx_free(&cx);
	arena_free(&a);
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_parse),
		cmocka_unit_test(test_date_trunc_boundaries),
		cmocka_unit_test(test_epoch_truncates),
		cmocka_unit_test(test_case_lazy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
