/*
 * test_agg.c -- aggregate functions: update with NULLs and groups, merge
 * of partial states, serialize / deserialize round trip; the
 * multi-value forms over a real multi-value segment column; PERCENTILE,
 * the t-digest and HyperLogLog (accuracy, merge, serialize).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "query/agg.h"
#include "base/mem.h"

static void
run_p(AggKind k, WbType t, const Vec *v, int n, double param, Value *out)
{
	const AggFunc *f = agg_func(k);
	char a[64], b[64], c[64];
	f->init(a);
	f->init(b);
	f->init(c);
	if (f->setparam) {
		f->setparam(a, param);
		f->setparam(b, param);
	}
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
run(AggKind k, WbType t, const Vec *v, int n, Value *out)
{
	run_p(k, t, v, n, 0, out);
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

/* Rows of INT arrays: {1,2,3} {3,4} {} {5} {10,20} {7} (the empty one has
 * no elements), one MV column. */
static MutSeg *
mv_seg(int nrows)
{
	ColDesc cd[1] = {{TYPE_INT, 1}};
	MutSeg *s = mutseg_create(1, cd);
	RowBatch b;
	rowbatch_init(&b, 1);
	static const int lens[6] = {3, 2, 0, 1, 2, 1};
	static const int64_t els[6][3] = {{1, 2, 3}, {3, 4}, {0}, {5}, {10, 20}, {7}};
	Value ev[6][3];
	for (int r = 0; r < nrows; r++) {
		Value *row = rowbatch_add_row(&b);
		for (int j = 0; j < lens[r]; j++)
			ev[r][j] = value_int(TYPE_INT, els[r][j]);
		row[0] = value_null(TYPE_INT);
		row[0].null = 0;
		row[0].mv = 1;
		row[0].u.mv = ev[r];
		row[0].n = (uint32_t)lens[r];
	}
	Err e;
	err_clear(&e);
	assert_int_equal(mutseg_append(s, &b, &e), 0);
	mutseg_publish(s);
	rowbatch_free(&b);
	return s;
}

static void
test_multi_value(void **st)
{
	MutSeg *seg = mv_seg(6);
	Vec v = {.type = TYPE_INT, .enc = VEC_MV, .col = mutseg_col(seg, 0), .row0 = 0};
	Value out;
	run(AGG_COUNT_MV, TYPE_INT, &v, 6, &out);
	assert_int_equal(out.u.i, 9);
	run(AGG_SUM_MV, TYPE_INT, &v, 6, &out);
	assert_int_equal(out.type, TYPE_DOUBLE);
	assert_true(out.u.d == 55.0);
	run(AGG_MIN_MV, TYPE_INT, &v, 6, &out);
	assert_true(out.u.d == 1.0);
	run(AGG_MAX_MV, TYPE_INT, &v, 6, &out);
	assert_true(out.u.d == 20.0);
	run(AGG_AVG_MV, TYPE_INT, &v, 6, &out);
	assert_true(fabs(out.u.d - 55.0 / 9) < 1e-12);
	run(AGG_MINMAXRANGE_MV, TYPE_INT, &v, 6, &out);
	assert_true(out.u.d == 19.0);
	run(AGG_DISTINCT_MV, TYPE_INT, &v, 6, &out);
	assert_int_equal(out.u.i, 8);
	run(AGG_HLL_MV, TYPE_INT, &v, 6, &out);
	assert_int_equal(out.u.i, 8);
	run_p(AGG_PERCENTILE_MV, TYPE_INT, &v, 6, 50, &out);
	assert_true(out.u.d == 4.0);	/* 1 2 3 3 [4] 5 7 10 20 */
	run_p(AGG_PERCENTILE_TDIGEST_MV, TYPE_INT, &v, 6, 50, &out);
	assert_true(out.u.d == 4.0);
	/* per group, with a NULL row */
	uint8_t nl[6] = {0, 0, 0, 1, 0, 0};
	v.nulls = nl;
	const AggFunc *f = agg_func(AGG_SUM_MV);
	char states[2 * 64];
	f->init(states);
	f->init(states + f->state_size);
	uint32_t gidx[6] = {0, 1, 0, 1, 1, 0};
	assert_int_equal(f->update(states, gidx, &v, NULL, 6), 0);
	f->finalize(states, TYPE_DOUBLE, &out);
	assert_true(out.u.d == 13.0);
	f->finalize(states + f->state_size, TYPE_DOUBLE, &out);
	assert_true(out.u.d == 37.0);
	/* MV forms refuse a single-value argument instead of misreading it */
	int64_t xs[2] = {1, 2};
	Vec sv = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs};
	assert_int_equal(f->update(states, NULL, &sv, NULL, 2), ERR_TYPE);
	assert_true(agg_is_mv(AGG_SUM_MV) && !agg_is_mv(AGG_SUM));
	mutseg_free(seg);
	(void)st;
}

static void
test_percentile(void **st)
{
	int64_t xs[10] = {50, 10, 40, 20, 30, 90, 60, 80, 70, 100};
	Vec v = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs};
	Value out;
	run_p(AGG_PERCENTILE, TYPE_LONG, &v, 10, 50, &out);
	assert_true(out.u.d == 60.0);	/* index floor(10 * 0.5) = 5 */
	run_p(AGG_PERCENTILE, TYPE_LONG, &v, 10, 0, &out);
	assert_true(out.u.d == 10.0);
	run_p(AGG_PERCENTILE, TYPE_LONG, &v, 10, 100, &out);
	assert_true(out.u.d == 100.0);
	run_p(AGG_PERCENTILE, TYPE_LONG, &v, 10, 95, &out);
	assert_true(out.u.d == 100.0);
	run_p(AGG_PERCENTILE_TDIGEST, TYPE_LONG, &v, 10, 50, &out);
	assert_true(out.u.d == 60.0);	/* singletons are exact */
	run_p(AGG_PERCENTILE_EST, TYPE_LONG, &v, 10, 80, &out);
	assert_int_equal(out.type, TYPE_LONG);
	assert_int_equal(out.u.i, 90);
	uint8_t nl[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	v.nulls = nl;
	run_p(AGG_PERCENTILE, TYPE_LONG, &v, 10, 50, &out);
	assert_true(out.null);
	run_p(AGG_PERCENTILE_TDIGEST, TYPE_LONG, &v, 10, 50, &out);
	assert_true(out.null);
	(void)st;
}

/* Feeds 0..n-1 (in a scrambled order) into two states split by parity,
 * ships the second serialized, merges, finalizes. */
static void
big(AggKind k, double param, int n, Value *out)
{
	const AggFunc *f = agg_func(k);
	char a[64], b[64], c[64];
	f->init(a);
	f->init(b);
	f->init(c);
	if (f->setparam) {
		f->setparam(a, param);
		f->setparam(b, param);
	}
	int64_t xs[1024];
	for (int base = 0; base < n; base += 1024) {
		int m = n - base < 1024 ? n - base : 1024;
		for (int i = 0; i < m; i++)
			xs[i] = (int64_t)(((uint64_t)(base + i) * 7919u) % (uint64_t)n);
		Vec v = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs};
		assert_int_equal(f->update((base / 1024) % 2 ? b : a, NULL, &v, NULL, m), 0);
	}
	Buf buf;
	buf_init(&buf);
	f->serialize(b, &buf);
	Err e;
	err_clear(&e);
	size_t used = 0;
	assert_int_equal(f->deserialize(c, buf.p, buf.len, &used, &e), 0);
	assert_int_equal(used, buf.len);
	/* a truncated state is an error, not a crash */
	char d[64];
	f->init(d);
	if (buf.len > 1)
		assert_int_equal(f->deserialize(d, buf.p, buf.len - 1, &used, &e), ERR_CORRUPT);
	f->destroy(d);
	buf_free(&buf);
	assert_int_equal(f->merge(a, c), 0);
	WbType rt;
	assert_int_equal(agg_result_type(k, TYPE_LONG, &rt, &e), 0);
	f->finalize(a, rt, out);
	f->destroy(a);
	f->destroy(b);
	f->destroy(c);
}

static void
test_sketches(void **st)
{
	Value out;
	big(AGG_HLL, 0, 200000, &out);
	assert_true(fabs((double)out.u.i - 200000) < 200000 * 0.04);
	big(AGG_HLL, 0, 1000, &out);
	assert_true(fabs((double)out.u.i - 1000) < 1000 * 0.02);
	big(AGG_THETA, 0, 200000, &out);
	assert_true(fabs((double)out.u.i - 200000) < 200000 * 0.05);
	big(AGG_THETA, 0, 3000, &out);
	assert_int_equal(out.u.i, 3000);	/* below 4,096: exact */
	big(AGG_PERCENTILE_TDIGEST, 95, 200000, &out);
	assert_true(fabs(out.u.d - 190000) < 200000 * 0.005);
	big(AGG_PERCENTILE_TDIGEST, 50, 200000, &out);
	assert_true(fabs(out.u.d - 100000) < 200000 * 0.01);
	big(AGG_PERCENTILE_TDIGEST, 99.9, 200000, &out);
	assert_true(fabs(out.u.d - 199800) < 200000 * 0.001);
	big(AGG_PERCENTILE, 95, 200000, &out);
	assert_true(out.u.d == 190000.0);
	AggKind k;
	assert_int_equal(agg_lookup("approx_count_distinct", 0, &k), 0);
	assert_int_equal(k, AGG_HLL);
	/* an empty HLL is 0 and survives a round trip */
	const AggFunc *f = agg_func(AGG_HLL);
	char a[64], c[64];
	f->init(a);
	f->init(c);
	Buf buf;
	buf_init(&buf);
	f->serialize(a, &buf);
	Err e;
	err_clear(&e);
	size_t used;
	assert_int_equal(f->deserialize(c, buf.p, buf.len, &used, &e), 0);
	buf_free(&buf);
	f->finalize(c, TYPE_LONG, &out);
	assert_int_equal(out.u.i, 0);
	f->destroy(a);
	f->destroy(c);
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_groups_and_strings),
		cmocka_unit_test(test_multi_value),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_sketches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
