/*
 * test_agg.c -- aggregate functions: update with NULLs and groups, merge
 * of partial states, serialize / deserialize round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "query/agg.h"

static void
run(AggKind k, WbType t, const Vec *v, int n, Value *out)
{
	const AggFunc *f = agg_func(k);
	char a[64], b[64], c[64];
	f->init(a);
	f->init(b);
	f->init(c);
	uint16_t first[16], second[16];
	int n1 = 0, n2 = 0;
	for (int r = 0; r < n; r++) {
		if (r % 2)
			first[n1++] = (uint16_t)r;
		else
			second[n2++] = (uint16_t)r;
	}
	assert_int_equal(f->update(a, NULL, v, first, n1), 0);
	assert_int_equal(f->update(b, NULL, v, second, n2), 0);
	/* b travels serialized, as a partial result from elsewhere */
	Buf buf;
	buf_init(&buf);
	f->serialize(b, &buf);
	size_t used = 0;
	Err e;
	err_clear(&e);
	assert_int_equal(f->deserialize(c, buf.p, buf.len, &used, &e), 0);
	assert_int_equal(used, buf.len);
	buf_free(&buf);
	assert_int_equal(f->merge(a, c), 0);
	WbType rt;
	assert_int_equal(agg_result_type(k, t, &rt, &e), 0);
	f->finalize(a, rt, out);
	f->destroy(a);
	f->destroy(b);
	f->destroy(c);
}

static void
test_numeric(void **st)
{
	int64_t xs[6] = {5, 1, 7, 3, 3, 100};
	uint8_t nl[6] = {0, 0, 0, 0, 0, 1};
	Vec v = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs, .nulls = nl};
	Value out;
	run(AGG_COUNT, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.u.i, 5);
	run(AGG_COUNT_STAR, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.u.i, 6);
	run(AGG_SUM, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.type, TYPE_LONG);
	assert_int_equal(out.u.i, 19);
	run(AGG_MIN, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.u.i, 1);
	run(AGG_MAX, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.u.i, 7);
	run(AGG_AVG, TYPE_LONG, &v, 6, &out);
	assert_true(out.u.d == 3.8);
	run(AGG_COUNT_DISTINCT, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.u.i, 4);
	run(AGG_MINMAXRANGE, TYPE_LONG, &v, 6, &out);
	assert_true(out.u.d == 6.0);
	/* all NULL: SUM/MIN/AVG are NULL, COUNT is 0 */
	memset(nl, 1, sizeof(nl));
	run(AGG_SUM, TYPE_LONG, &v, 6, &out);
	assert_true(out.null);
	run(AGG_AVG, TYPE_LONG, &v, 6, &out);
	assert_true(out.null);
	run(AGG_COUNT, TYPE_LONG, &v, 6, &out);
	assert_int_equal(out.u.i, 0);
	(void)st;
}

static void
test_groups_and_strings(void **st)
{
	const AggFunc *f = agg_func(AGG_SUM);
	char states[3 * 64];
	for (int g = 0; g < 3; g++)
		f->init(states + g * f->state_size);
	double xs[5] = {1.5, 2.5, 3.0, 4.0, 0.5};
	uint32_t gidx[5] = {0, 1, 0, 2, 1};
	Vec v = {.type = TYPE_DOUBLE, .enc = VEC_F64, .d = xs};
	assert_int_equal(f->update(states, gidx, &v, NULL, 5), 0);
	Value out;
	f->finalize(states + 1 * f->state_size, TYPE_DOUBLE, &out);
	assert_true(out.u.d == 3.0);
	f->finalize(states + 0 * f->state_size, TYPE_DOUBLE, &out);
	assert_true(out.u.d == 4.5);

	const char *ss[5] = {"a", "b", "a", "c", "b"};
	uint32_t sl[5] = {1, 1, 1, 1, 1};
	Vec sv = {.type = TYPE_STRING, .enc = VEC_STR, .s = ss, .slen = sl};
	run(AGG_COUNT_DISTINCT, TYPE_STRING, &sv, 5, &out);
	assert_int_equal(out.u.i, 3);
	Err e;
	err_clear(&e);
	WbType rt;
	assert_int_equal(agg_result_type(AGG_SUM, TYPE_STRING, &rt, &e), ERR_TYPE);
	AggKind k;
	assert_int_equal(agg_lookup("distinctcount", 0, &k), 0);
	assert_int_equal(k, AGG_COUNT_DISTINCT);
	assert_int_equal(agg_lookup("nosuch", 0, &k), -1);
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_groups_and_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
