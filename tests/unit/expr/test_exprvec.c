/*
 * test_exprvec.c -- vectorized expression evaluation: arithmetic and
 * comparison with NULLs, three-valued AND/OR, dictionary predicates over
 * a mutable segment, LIKE, timestamps, division by zero.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/mem.h"
#include "expr/exprvec.h"

static Vec
i64vec(const int64_t *v, const uint8_t *nl)
{
	Vec x = {.type = TYPE_LONG, .enc = VEC_I64, .i = v, .nulls = nl};
	return x;
}

static void
test_arith_nulls(void **st)
{
	Arena a;
	arena_init(&a, 4096);
	int64_t xs[4] = {1, 2, 3, 4}, ys[4] = {10, 0, 30, 40};
	uint8_t yn[4] = {0, 1, 0, 0};
	Vec cols[2] = {i64vec(xs, NULL), i64vec(ys, yn)};
	Batch b = {4, 2, cols};
	Expr *add = expr_new(&a, EXPR_ARITH, TYPE_LONG, 2);
	add->op = EXPR_OP_DIV;
	add->args[0] = expr_col(&a, 1, TYPE_LONG, 0);
	add->args[1] = expr_col(&a, 0, TYPE_LONG, 0);
	int n = 0;
	expr_number(add, &n);
	ExprCtx cx;
	assert_int_equal(exprvec_ctx_init(&cx, n), 0);
	const Vec *out;
	Err e;
	err_clear(&e);
	assert_int_equal(exprvec_eval(&cx, add, &b, NULL, 4, &out, &e), 0);
	assert_int_equal(out->i[0], 10);
	assert_true(out->nulls[1]);
	assert_int_equal(out->i[2], 10);
	assert_int_equal(out->i[3], 10);
	/* y / x with x = 0 on a non-NULL row fails */
	add->args[0] = expr_col(&a, 0, TYPE_LONG, 0);
	add->args[1] = expr_col(&a, 1, TYPE_LONG, 0);
	yn[1] = 0;
	assert_int_equal(exprvec_eval(&cx, add, &b, NULL, 4, &out, &e), ERR_DIV_ZERO);
	exprvec_ctx_free(&cx);
	arena_free(&a);
	(void)st;
}

static void
test_three_valued(void **st)
{
	Arena a;
	arena_init(&a, 4096);
	int64_t p[3] = {1, 0, 0}, q[3] = {0, 0, 1};
	uint8_t pn[3] = {0, 0, 1}, qn[3] = {1, 0, 0};
	Vec cols[2] = {i64vec(p, pn), i64vec(q, qn)};
	cols[0].type = cols[1].type = TYPE_BOOLEAN;
	Batch b = {3, 2, cols};
	Expr *or = expr_new(&a, EXPR_OR, TYPE_BOOLEAN, 2);
	or->args[0] = expr_col(&a, 0, TYPE_BOOLEAN, 0);
	or->args[1] = expr_col(&a, 1, TYPE_BOOLEAN, 0);
	Expr *and = expr_new(&a, EXPR_AND, TYPE_BOOLEAN, 2);
	and->args[0] = expr_col(&a, 0, TYPE_BOOLEAN, 0);
	and->args[1] = expr_col(&a, 1, TYPE_BOOLEAN, 0);
	int n = 0;
	expr_number(or, &n);
	expr_number(and, &n);
	ExprCtx cx;
	exprvec_ctx_init(&cx, n);
	const Vec *out;
	Err e;
	err_clear(&e);
	assert_int_equal(exprvec_eval(&cx, or, &b, NULL, 3, &out, &e), 0);
	/* TRUE OR NULL = TRUE; FALSE OR FALSE = FALSE; NULL OR TRUE = TRUE */
	assert_true(out->i[0] == 1 && !out->nulls[0]);
	assert_true(out->i[1] == 0 && !out->nulls[1]);
	assert_true(out->i[2] == 1 && !out->nulls[2]);
	assert_int_equal(exprvec_eval(&cx, and, &b, NULL, 3, &out, &e), 0);
	/* TRUE AND NULL = NULL; NULL AND TRUE = NULL */
	assert_true(out->nulls[0]);
	assert_true(out->i[1] == 0 && !out->nulls[1]);
	assert_true(out->nulls[2]);
	uint16_t sel[3];
	int ns;
	assert_int_equal(exprvec_filter(&cx, or, &b, NULL, 3, sel, &ns, &e), 0);
	assert_int_equal(ns, 2);
	exprvec_ctx_free(&cx);
	arena_free(&a);
	(void)st;
}

static void
test_dict_predicates(void **st)
{
	ColDesc cd[1] = {{TYPE_STRING, 0}};
	MutSeg *s = mutseg_create(1, cd);
	RowBatch rb;
	rowbatch_init(&rb, 1);
	const char *names[] = {"apple", "banana", "cherry", "apple", "date"};
	for (int i = 0; i < 5; i++) {
		Value *r = rowbatch_add_row(&rb);
		r[0] = value_str(TYPE_STRING, names[i], (uint32_t)strlen(names[i]));
	}
	rowbatch_add_row(&rb);	/* NULL */
	Err e;
	err_clear(&e);
	assert_int_equal(mutseg_append(s, &rb, &e), 0);
	mutseg_publish(s);
	const MutCol *mc = mutseg_col(s, 0);
	uint8_t nl[6];
	for (int i = 0; i < 6; i++)
		nl[i] = (uint8_t)mutcol_is_null(mc, (size_t)i);
	Vec col = {.type = TYPE_STRING, .enc = VEC_DICT, .ids = mutcol_data(mc, 0), .col = mc, .nulls = nl};
	Batch b = {6, 1, &col};
	Arena a;
	arena_init(&a, 4096);
	Expr *like = expr_new(&a, EXPR_LIKE, TYPE_BOOLEAN, 2);
	like->args[0] = expr_col(&a, 0, TYPE_STRING, 0);
	like->args[1] = expr_const(&a, value_str(TYPE_STRING, "%an%", 4));
	Expr *in = expr_new(&a, EXPR_IN, TYPE_BOOLEAN, 3);
	in->neg = 1;
	in->args[0] = expr_col(&a, 0, TYPE_STRING, 0);
	in->args[1] = expr_const(&a, value_str(TYPE_STRING, "apple", 5));
	in->args[2] = expr_const(&a, value_str(TYPE_STRING, "date", 4));
	int n = 0;
	expr_number(like, &n);
	expr_number(in, &n);
	ExprCtx cx;
	exprvec_ctx_init(&cx, n);
	uint16_t sel[6];
	int ns;
	assert_int_equal(exprvec_filter(&cx, like, &b, NULL, 6, sel, &ns, &e), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(sel[0], 1);
	assert_int_equal(exprvec_filter(&cx, in, &b, NULL, 6, sel, &ns, &e), 0);
	assert_int_equal(ns, 2);	/* banana, cherry; NULL is not NOT IN */
	exprvec_ctx_free(&cx);
	arena_free(&a);
	rowbatch_free(&rb);
	mutseg_free(s);
	(void)st;
}

static void
test_like_and_ts(void **st)
{
	assert_true(expr_like("a%c", 3, "abbbc", 5));
	assert_true(expr_like("a_c", 3, "abc", 3));
	assert_false(expr_like("a_c", 3, "abbc", 4));
	assert_true(expr_like("%", 1, "", 0));
	assert_true(expr_like("50\\%", 4, "50%", 3));
	assert_false(expr_like("50\\%", 4, "500", 3));
	int64_t ms;
	assert_int_equal(expr_ts_parse("2014-01-01 00:00:00", 19, &ms), 0);
	assert_int_equal(ms, 1388534400000LL);
	assert_int_equal(expr_ts_parse("1969-12-31T23:59:59.9Z", 22, &ms), 0);
	assert_int_equal(ms, -100);
	assert_int_not_equal(expr_ts_parse("2014-13-01", 10, &ms), 0);
	Buf b;
	buf_init(&b);
	expr_ts_format(1388534400000LL, &b);
	assert_string_equal(b.p, "2014-01-01 00:00:00.0");
	buf_reset(&b);
	expr_ts_format(-100, &b);
	assert_string_equal(b.p, "1969-12-31 23:59:59.9");
	buf_free(&b);
	Arena a;
	arena_init(&a, 1024);
	Value in = value_str(TYPE_STRING, "abc", 3), out;
	Err e;
	err_clear(&e);
	assert_int_equal(expr_convert(&in, TYPE_INT, &out, &a, &e), ERR_TYPE);
	in = value_str(TYPE_STRING, " 42", 3);
	err_clear(&e);
	assert_int_equal(expr_convert(&in, TYPE_LONG, &out, &a, &e), 0);
	assert_int_equal(out.u.i, 42);
	arena_free(&a);
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arith_nulls),
		cmocka_unit_test(test_three_valued),
		cmocka_unit_test(test_dict_predicates),
		cmocka_unit_test(test_like_and_ts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
