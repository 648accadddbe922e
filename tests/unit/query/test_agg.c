/*
 * test_agg.c -- aggregate functions: update with NULLs and groups, merge
 * of partial states, serialize / deserialize round trip; the
 * multi-value forms over a real multi-value segment column; PERCENTILE,
 * the t-digest and HyperLogLog (accuracy, merge, serialize); skewness,
 * kurtosis, DISTINCTSUM/AVG, PERCENTILEKLL, smart HLL, bit_and/or/xor,
 * Pinot's name spellings and constant-argument checks.
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

/* SKEWNESS / KURTOSIS: Apache Commons Math's sample statistics, through
 * a split, serialized and merged state (Pinot's expected values). */
static void
test_moments(void **st)
{
	int64_t xs[8] = {1, 2, 3, 4, 4, 4, 7, 9};
	Vec v = {.type = TYPE_INT, .enc = VEC_I64, .i = xs};
	Value out;
	run(AGG_SKEWNESS, TYPE_INT, &v, 8, &out);
	assert_int_equal(out.type, TYPE_DOUBLE);
	assert_true(fabs(out.u.d - 0.8647536091225356) < 1e-12);
	run(AGG_KURTOSIS, TYPE_INT, &v, 8, &out);
	assert_true(fabs(out.u.d - 0.3561662049861511) < 1e-12);
	/* too few values: NaN; all equal: 0; none: NULL */
	run(AGG_SKEWNESS, TYPE_INT, &v, 2, &out);
	assert_true(isnan(out.u.d));
	run(AGG_KURTOSIS, TYPE_INT, &v, 3, &out);
	assert_true(isnan(out.u.d));
	int64_t same[5] = {4, 4, 4, 4, 4};
	Vec w = {.type = TYPE_INT, .enc = VEC_I64, .i = same};
	run(AGG_SKEWNESS, TYPE_INT, &w, 5, &out);
	assert_true(out.u.d == 0);
	run(AGG_KURTOSIS, TYPE_INT, &w, 0, &out);
	assert_true(out.null);
	Err e;
	WbType rt;
	err_clear(&e);
	assert_int_equal(agg_result_type(AGG_SKEWNESS, TYPE_STRING, &rt, &e), ERR_TYPE);
}

/* DISTINCTSUM / DISTINCTAVG over integers and doubles, NULLs skipped. */
static void
test_distinct_sum(void **st)
{
	int64_t xs[7] = {2, 2, 3, 100, 101, 0, 7};
	uint8_t nl[7] = {0, 0, 0, 0, 0, 0, 1};
	Vec v = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs, .nulls = nl};
	Value out;
	run(AGG_DISTINCT_SUM, TYPE_LONG, &v, 7, &out);
	assert_int_equal(out.type, TYPE_DOUBLE);
	assert_true(out.u.d == 206);
	run(AGG_DISTINCT_AVG, TYPE_LONG, &v, 7, &out);
	assert_true(out.u.d == 206.0 / 5);
	double ds[5] = {1.5, -1.5, 1.5, 0.0, -0.0};
	Vec d = {.type = TYPE_DOUBLE, .enc = VEC_F64, .d = ds};
	run(AGG_DISTINCT_SUM, TYPE_DOUBLE, &d, 5, &out);
	assert_true(out.u.d == 0);
	run(AGG_DISTINCT_AVG, TYPE_DOUBLE, &d, 5, &out);
	assert_true(out.u.d == 0);
	run(AGG_DISTINCT_SUM, TYPE_DOUBLE, &d, 0, &out);
	assert_true(out.null);
}

/* PERCENTILEKLL: the smallest value whose rank share reaches p. */
static void
test_percentile_kll(void **st)
{
	double fs[4] = {100, 1, 1.01, 1.5};
	Vec v = {.type = TYPE_DOUBLE, .enc = VEC_F64, .d = fs};
	Value out;
	run_p(AGG_PERCENTILE_KLL, TYPE_DOUBLE, &v, 4, 50, &out);
	assert_true(out.u.d == 1.01);
	run_p(AGG_PERCENTILE_KLL, TYPE_DOUBLE, &v, 4, 75, &out);
	assert_true(out.u.d == 1.5);
	run_p(AGG_PERCENTILE_KLL, TYPE_DOUBLE, &v, 4, 0, &out);
	assert_true(out.u.d == 1);
	run_p(AGG_PERCENTILE_KLL, TYPE_DOUBLE, &v, 4, 100, &out);
	assert_true(out.u.d == 100);
	/* PERCENTILEEST truncates to longs first, as Pinot's q-digest */
	double es[5] = {300, 400, 1.75, 1.5, 1.01};
	Vec w = {.type = TYPE_DOUBLE, .enc = VEC_F64, .d = es};
	run_p(AGG_PERCENTILE_EST, TYPE_DOUBLE, &w, 5, 50, &out);
	assert_int_equal(out.u.i, 1);
}

/* DISTINCTCOUNTSMARTHLL: exact below the threshold, HyperLogLog above
 * (100,000 by default) with the usual accuracy; merge across the switch. */
static void
test_smart_hll(void **st)
{
	enum { N = 1000 };
	static int64_t xs[N];
	for (int i = 0; i < N; i++)
		xs[i] = i % 300;
	Vec v = {.type = TYPE_LONG, .enc = VEC_I64, .i = xs};
	const AggFunc *f = agg_func(AGG_SMART_HLL);
	char a[64], b[64];
	f->init(a);
	f->init(b);
	assert_int_equal(f->update(a, NULL, &v, NULL, N), 0);
	Value out;
	f->finalize(a, TYPE_LONG, &out);
	assert_int_equal(out.u.i, 300);
	/* b past the threshold: 150,000 distinct values */
	static int64_t big[1000];
	for (int round = 0; round < 150; round++) {
		for (int i = 0; i < 1000; i++)
			big[i] = (int64_t)round * 1000 + i;
		Vec bv = {.type = TYPE_LONG, .enc = VEC_I64, .i = big};
		assert_int_equal(f->update(b, NULL, &bv, NULL, 1000), 0);
	}
	f->finalize(b, TYPE_LONG, &out);
	assert_true(fabs((double)out.u.i - 150000) < 150000 * 0.05);
	Buf buf;
	buf_init(&buf);
	f->serialize(b, &buf);
	char c[64];
	size_t used = 0;
	Err e;
	err_clear(&e);
	f->init(c);
	assert_int_equal(f->deserialize(c, buf.p, buf.len, &used, &e), 0);
	assert_int_equal(used, buf.len);
	buf_free(&buf);
	assert_int_equal(f->merge(a, c), 0);	/* exact into sketch */
	f->finalize(a, TYPE_LONG, &out);
	assert_true(fabs((double)out.u.i - 150000) < 150000 * 0.05);
	/* truncated state */
	char d[64];
	f->init(d);
	assert_int_equal(f->deserialize(d, "\0\0\0\0\0\0\0\0\7", 9, &used, &e), ERR_CORRUPT);
	f->destroy(a);
	f->destroy(b);
	f->destroy(c);
	f->destroy(d);
}

/* PostgreSQL's bit_and / bit_or / bit_xor (found with one argument only). */
static void
test_bit_aggs(void **st)
{
	int64_t xs[4] = {6, 3, 7, 1};
	uint8_t nl[4] = {0, 0, 0, 1};
	Vec v = {.type = TYPE_INT, .enc = VEC_I64, .i = xs, .nulls = nl};
	Value out;
	run(AGG_BIT_AND, TYPE_INT, &v, 4, &out);
	assert_int_equal(out.u.i, 2);
	run(AGG_BIT_OR, TYPE_INT, &v, 4, &out);
	assert_int_equal(out.u.i, 7);
	run(AGG_BIT_XOR, TYPE_INT, &v, 4, &out);
	assert_int_equal(out.u.i, 2);
	run(AGG_BIT_AND, TYPE_INT, &v, 0, &out);
	assert_true(out.null);
	AggKind k;
	assert_int_equal(agg_lookup_args("bit_and", 0, 1, &k), 0);
	assert_int_equal(k, AGG_BIT_AND);
	assert_int_equal(agg_lookup_args("bit_and", 0, 2, &k), -1);
	assert_int_equal(agg_lookup("bit_or", 0, &k), -1);
	Err e;
	WbType rt;
	err_clear(&e);
	assert_int_equal(agg_result_type(AGG_BIT_OR, TYPE_DOUBLE, &rt, &e), ERR_TYPE);
}

/* Pinot's spellings and the constant arguments' checks. */
static void
test_names_and_args(void **st)
{
	AggKind k;
	assert_int_equal(agg_lookup("percentile_tdigest", 0, &k), 0);
	assert_int_equal(k, AGG_PERCENTILE_TDIGEST);
	assert_int_equal(agg_lookup("min_max_range", 0, &k), 0);
	assert_int_equal(k, AGG_MINMAXRANGE);
	assert_int_equal(agg_lookup("distinct_count_theta_sketch", 0, &k), 0);
	assert_int_equal(k, AGG_THETA);
	assert_int_equal(agg_lookup("last_with_time", 0, &k), 0);
	assert_int_equal(k, AGG_LAST_WITH_TIME);
	assert_int_equal(agg_lookup("segment_partitioned_distinct_count", 0, &k), 0);
	assert_int_equal(k, AGG_COUNT_DISTINCT);
	assert_int_equal(agg_lookup("no_such_agg", 0, &k), -1);

	int lo, hi;
	agg_const_args(AGG_HLL, &lo, &hi);
	assert_true(lo == 0 && hi == 1);
	agg_const_args(AGG_PERCENTILE, &lo, &hi);
	assert_true(lo == 1 && hi == 1);
	agg_const_args(AGG_SUM, &lo, &hi);
	assert_true(lo == 0 && hi == 0);

	Err e;
	err_clear(&e);
	double p = 0;
	Value eight = value_int(TYPE_INT, 8), big = value_int(TYPE_INT, 99);
	assert_int_equal(agg_const_arg(AGG_HLL, "distinctcounthll", 1, &eight, &p, &e), 0);
	assert_int_equal(agg_const_arg(AGG_HLL, "distinctcounthll", 1, &big, &p, &e), ERR_TYPE);
	assert_non_null(strstr(e.msg, "distinctcounthll"));
	Value fifty = value_double(TYPE_DOUBLE, 50.0);
	assert_int_equal(agg_const_arg(AGG_PERCENTILE_KLL, "percentile_kll", 1, &fifty, &p, &e), 0);
	assert_true(p == 50);
	assert_int_equal(agg_const_arg(AGG_PERCENTILE, "percentile", 1, &big, &p, &e), 0);
	Value half = value_double(TYPE_DOUBLE, 0.5);
	assert_int_equal(agg_const_arg(AGG_PERCENTILE_CONT, "percentile_cont", 1, &half, &p, &e), 0);
	assert_true(p == 50);
	assert_int_equal(agg_const_arg(AGG_PERCENTILE_CONT, "percentile_cont", 1, &fifty, &p, &e), ERR_TYPE);

	Value opt = {.type = TYPE_STRING, .u.s = "hllConversionThreshold=10; hllLog2m=8", .n = 37};
	assert_int_equal(agg_const_arg(AGG_SMART_HLL, "distinctcountsmarthll", 1, &opt, &p, &e), 0);
	assert_true(p == 10);
	const char *bad[] = {"hllLog2m", "hllLog2m=x", "hllLog2m=99", "nope=1", "threshold=-1", "algorithm=foo"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Value b = {.type = TYPE_STRING, .u.s = bad[i], .n = (uint32_t)strlen(bad[i])};
		err_clear(&e);
		assert_int_equal(agg_const_arg(AGG_SMART_HLL, "distinctcountsmarthll", 1, &b, &p, &e), ERR_TYPE);
		assert_non_null(strstr(e.msg, "distinctcountsmarthll"));
	}
	Value empty = {.type = TYPE_STRING, .u.s = "", .n = 0};
	assert_int_equal(agg_const_arg(AGG_SMART_HLL, "distinctcountsmarthll", 1, &empty, &p, &e), 0);
	assert_int_equal(agg_const_arg(AGG_SMART_HLL, "distinctcountsmarthll", 1, &eight, &p, &e), ERR_TYPE);
	assert_int_equal(agg_const_arg(AGG_SUM, "sum", 1, &eight, &p, &e), ERR_TYPE);
}

/* FUNNELCOUNT: per step, the ids that matched it and every earlier
 * step; split, serialized and merged. */
static void
test_funnel(void **st)
{
	/* id 1: steps 0,1,2; id 2: steps 0,2 (not 1); id 3: step 1 only;
	 * id 4: step 0, 1 (over two rows); NULL id skipped */
	int64_t ids[8] = {1, 1, 2, 3, 4, 4, 1, 0};
	uint8_t idn[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	int64_t s0[8] = {1, 0, 1, 0, 1, 0, 0, 1};
	int64_t s1[8] = {0, 1, 0, 1, 0, 1, 0, 1};
	int64_t s2[8] = {0, 0, 1, 0, 0, 0, 1, 1};
	Vec corr = {.type = TYPE_LONG, .enc = VEC_I64, .i = ids, .nulls = idn};
	Vec v0 = {.type = TYPE_BOOLEAN, .enc = VEC_I64, .i = s0};
	Vec v1 = {.type = TYPE_BOOLEAN, .enc = VEC_I64, .i = s1};
	Vec v2 = {.type = TYPE_BOOLEAN, .enc = VEC_I64, .i = s2};
	const Vec *steps[3] = {&v0, &v1, &v2};
	const AggFunc *f = agg_func(AGG_FUNNEL_COUNT);
	AggKind k;
	assert_int_equal(agg_lookup_args("funnelCount", 0, 2, &k), 0);
	assert_int_equal(k, AGG_FUNNEL_COUNT);
	assert_int_equal(agg_lookup("funnelcount", 0, &k), -1);
	assert_true(agg_result_mv(AGG_FUNNEL_COUNT));
	char a[512], b[512], c[512];
	f->init(a);
	f->init(b);
	f->init(c);
	f->setparam(a, 3);
	f->setparam(b, 3);
	f->setparam(c, 3);
	Value out;
	f->finalize(a, TYPE_LONG, &out);
	assert_true(out.mv && out.n == 3 && out.u.mv[0].u.i == 0 && out.u.mv[2].u.i == 0);
	uint16_t first[4] = {0, 1, 2, 3}, second[4] = {4, 5, 6, 7};
	assert_int_equal(agg_update_funnel(a, NULL, &corr, steps, 3, first, 4), 0);
	assert_int_equal(agg_update_funnel(b, NULL, &corr, steps, 3, second, 4), 0);
	assert_int_equal(agg_update_funnel(b, NULL, &corr, steps, 2, second, 4), ERR_INTERNAL);
	Buf buf;
	buf_init(&buf);
	f->serialize(b, &buf);
	size_t used = 0;
	Err e;
	err_clear(&e);
	assert_int_equal(f->deserialize(c, buf.p, buf.len, &used, &e), 0);
	assert_int_equal(used, buf.len);
	assert_int_equal(f->deserialize(c, buf.p, buf.len - 1, &used, &e), ERR_CORRUPT);
	buf_free(&buf);
	assert_int_equal(f->merge(a, c), 0);
	f->finalize(a, TYPE_LONG, &out);
	assert_int_equal(out.n, 3);
	assert_int_equal(out.u.mv[0].u.i, 3);	/* ids 1, 2, 4 */
	assert_int_equal(out.u.mv[1].u.i, 2);	/* ids 1, 4 */
	assert_int_equal(out.u.mv[2].u.i, 1);	/* id 1 */
	f->destroy(a);
	f->destroy(b);
	f->destroy(c);
}

/* FUNNELMAXSTEP: steps in order within the window from a step-1 event. */
static void
test_funnel_max_step(void **st)
{
	/* times out of order; step1 at 10, step2 at 15, step3 at 40 (outside
	 * the window of 20 from 10); a later step1 at 30 reaches step3 at 40 */
	int64_t ts[6] = {40, 10, 15, 30, 35, 0};
	uint8_t tn[6] = {0, 0, 0, 0, 0, 1};
	int64_t s0[6] = {0, 1, 0, 1, 0, 1};
	int64_t s1[6] = {0, 0, 1, 0, 1, 1};
	int64_t s2[6] = {1, 0, 0, 0, 0, 1};
	Vec tv = {.type = TYPE_LONG, .enc = VEC_I64, .i = ts, .nulls = tn};
	Vec v0 = {.type = TYPE_BOOLEAN, .enc = VEC_I64, .i = s0};
	Vec v1 = {.type = TYPE_BOOLEAN, .enc = VEC_I64, .i = s1};
	Vec v2 = {.type = TYPE_BOOLEAN, .enc = VEC_I64, .i = s2};
	const Vec *steps[3] = {&v0, &v1, &v2};
	const AggFunc *f = agg_func(AGG_FUNNEL_MAX_STEP);
	AggKind k;
	assert_int_equal(agg_lookup_args("funnel_max_step", 0, 5, &k), 0);
	assert_int_equal(k, AGG_FUNNEL_MAX_STEP);
	char a[128], b[128], c[128];
	f->init(a);
	f->init(b);
	f->init(c);
	agg_funnel_config(k, a, 3, 20);
	agg_funnel_config(k, b, 3, 20);
	agg_funnel_config(k, c, 3, 20);
	Value out;
	f->finalize(a, TYPE_LONG, &out);
	assert_int_equal(out.u.i, 0);
	uint16_t first[3] = {0, 1, 2}, second[3] = {3, 4, 5};
	assert_int_equal(agg_update_funnel_steps(a, NULL, &tv, steps, 3, first, 3), 0);
	f->finalize(a, TYPE_LONG, &out);
	assert_int_equal(out.u.i, 2);
	assert_int_equal(agg_update_funnel_steps(b, NULL, &tv, steps, 3, second, 3), 0);
	Buf buf;
	buf_init(&buf);
	f->serialize(b, &buf);
	size_t used = 0;
	Err e;
	err_clear(&e);
	assert_int_equal(f->deserialize(c, buf.p, buf.len, &used, &e), 0);
	assert_int_equal(used, buf.len);
	assert_int_equal(f->deserialize(c, buf.p, buf.len - 3, &used, &e), ERR_CORRUPT);
	buf_free(&buf);
	assert_int_equal(f->merge(a, c), 0);
	f->finalize(a, TYPE_LONG, &out);
	assert_int_equal(out.u.i, 3);
	f->destroy(a);
	f->destroy(b);
	f->destroy(c);
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
		cmocka_unit_test(test_moments),
		cmocka_unit_test(test_distinct_sum),
		cmocka_unit_test(test_percentile_kll),
		cmocka_unit_test(test_smart_hll),
		cmocka_unit_test(test_bit_aggs),
		cmocka_unit_test(test_names_and_args),
		cmocka_unit_test(test_funnel),
		cmocka_unit_test(test_funnel_max_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
