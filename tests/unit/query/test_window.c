/*
 * test_window.c -- window functions over materialized rows: every
 * function with and without partitions, peers and ties, NULLs in the
 * partition, order and argument columns, DESC and NULLS FIRST, every
 * frame kind and the frame errors, LAG/LEAD defaults and IGNORE NULLS,
 * NTILE with more buckets than rows, empty input, SUM overflow, the
 * result types, allocation failure, and a randomized check of every
 * function against a naive O(n^2) reference built from the definitions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "query/window.h"

/* ---- helpers ----------------------------------------------------------- */

#define NUL INT64_MIN /* marks a NULL in the int tables below */

static Value
iv(WbType t, int64_t x)
{
	return x == NUL ? value_null(t) : value_int(t, x);
}

static Value
sv(const char *s)
{
	return s ? value_str(TYPE_STRING, s, (uint32_t)strlen(s)) : value_null(TYPE_STRING);
}

static WinSpec
spec(WinFn fn, int arg, WbType argtype)
{
	WinSpec w;
	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.arg = arg;
	w.param = fn == WIN_LAG || fn == WIN_LEAD ? 1 : 0;
	w.dflt = value_null(argtype);
	Err e;
	err_clear(&e);
	assert_int_equal(window_result_type(fn, argtype, 0, &w.out_type, &e), 0);
	return w;
}

static int one_key[1] = {1};
static int zero[4] = {0, 0, 0, 0};
static int ones[4] = {1, 1, 1, 1};
static int part0[1] = {0};

static void
order_by(WinSpec *w, const int *cols, int n, const int *desc, const int *nf)
{
	w->norder = n;
	w->order = cols;
	w->desc = desc;
	w->nulls_first = nf;
}

static void
part_by0(WinSpec *w)
{
	w->npart = 1;
	w->part = part0;
}

static void
frame(WinSpec *w, int rows, WinBound s, int64_t so, WinBound en, int64_t eo)
{
	w->frame.given = 1;
	w->frame.rows = rows;
	w->frame.start = s;
	w->frame.start_off = so;
	w->frame.end = en;
	w->frame.end_off = eo;
}

static void
run(const Value *rows, size_t n, int ncols, const WinSpec *w, Value *out)
{
	Arena a;
	arena_init(&a, 1024);
	Err e;
	err_clear(&e);
	int rc = window_compute(rows, n, ncols, w, out, &a, &e);
	if (rc != 0)
		fail_msg("window_compute: %s", err_msg(&e));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].type, w->out_type);
	arena_free(&a);
}

static void
expect_ints(const Value *out, size_t n, const int64_t *want)
{
	for (size_t i = 0; i < n; i++) {
		if (want[i] == NUL) {
			if (!out[i].null)
				fail_msg("row %zu: want NULL, got %lld", i, (long long)out[i].u.i);
		} else {
			if (out[i].null)
				fail_msg("row %zu: want %lld, got NULL", i, (long long)want[i]);
			if (out[i].u.i != want[i])
				fail_msg("row %zu: want %lld, got %lld", i, (long long)want[i],
				         (long long)out[i].u.i);
		}
	}
}

static void
expect_dbls(const Value *out, size_t n, const double *want)
{
	for (size_t i = 0; i < n; i++) {
		if (isnan(want[i])) {
			if (!out[i].null)
				fail_msg("row %zu: want NULL, got %g", i, out[i].u.d);
			continue;
		}
		if (out[i].null)
			fail_msg("row %zu: want %g, got NULL", i, want[i]);
		if (fabs(out[i].u.d - want[i]) > 1e-9)
			fail_msg("row %zu: want %g, got %g", i, want[i], out[i].u.d);
	}
}

/* ---- fixture: (part INT, ord INT, x LONG) ------------------------------- */

#define NR 8
static Value T[NR * 3];

static void
fill_t(void)
{
	/* r: part, ord, x */
	static const int64_t d[NR][3] = {
	        {1, 10, 5},    /* r0 */
	        {2, 5, 7},     /* r1 */
	        {1, 20, NUL},  /* r2 */
	        {1, 10, 3},    /* r3 */
	        {2, NUL, 1},   /* r4 */
	        {NUL, 3, 2},   /* r5 */
	        {1, NUL, 4},   /* r6 */
	        {NUL, 3, NUL}, /* r7 */
	};
	for (int r = 0; r < NR; r++) {
		T[r * 3 + 0] = iv(TYPE_INT, d[r][0]);
		T[r * 3 + 1] = iv(TYPE_INT, d[r][1]);
		T[r * 3 + 2] = iv(TYPE_LONG, d[r][2]);
	}
}

/* ---- tests ------------------------------------------------------------- */

static void
test_result_types(void **state)
{
	(void)state;
	Err e;
	WbType t;
	err_clear(&e);
	assert_int_equal(window_result_type(WIN_ROW_NUMBER, TYPE_NULL, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_LONG);
	assert_int_equal(window_result_type(WIN_CUME_DIST, TYPE_NULL, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_DOUBLE);
	assert_int_equal(window_result_type(WIN_SUM, TYPE_INT, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_LONG);
	assert_int_equal(window_result_type(WIN_SUM, TYPE_FLOAT, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_DOUBLE);
	assert_int_equal(window_result_type(WIN_AVG, TYPE_INT, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_DOUBLE);
	assert_int_equal(window_result_type(WIN_MIN, TYPE_STRING, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_STRING);
	assert_int_equal(window_result_type(WIN_LAG, TYPE_TIMESTAMP, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_TIMESTAMP);
	assert_int_equal(window_result_type(WIN_BOOL_OR, TYPE_BOOLEAN, 0, &t, &e), 0);
	assert_int_equal(t, TYPE_BOOLEAN);
	assert_int_equal(window_result_type(WIN_COUNT, TYPE_STRING, 1, &t, &e), 0);
	assert_int_equal(t, TYPE_LONG);
	assert_int_equal(window_result_type(WIN_SUM, TYPE_STRING, 0, &t, &e), ERR_TYPE);
	assert_non_null(strstr(e.msg, "sum"));
	assert_non_null(strstr(e.msg, "STRING"));
	err_clear(&e);
	assert_int_equal(window_result_type(WIN_BOOL_AND, TYPE_INT, 0, &t, &e), ERR_TYPE);
	err_clear(&e);
	assert_int_equal(window_result_type(WIN_AVG, TYPE_BOOLEAN, 0, &t, &e), ERR_TYPE);
	err_clear(&e);
	assert_int_equal(window_result_type(WIN_MAX, TYPE_INT, 1, &t, &e), ERR_TYPE);
	assert_non_null(strstr(e.msg, "multi-value"));
}

static void
test_empty(void **state)
{
	(void)state;
	WinSpec w = spec(WIN_SUM, 0, TYPE_LONG);
	Value out[1];
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(NULL, 0, 1, &w, out, &a, &e), 0);
	w = spec(WIN_ROW_NUMBER, -1, TYPE_NULL);
	order_by(&w, one_key, 1, NULL, NULL);
	assert_int_equal(window_compute(NULL, 0, 2, &w, out, &a, &e), 0);
	/* a bad frame is an error even without rows */
	frame(&w, 1, WINB_FOLLOWING, 1, WINB_CURRENT_ROW, 0);
	assert_int_equal(window_compute(NULL, 0, 2, &w, out, &a, &e), ERR_INVALID);
	arena_free(&a);
}

static void
test_ranking(void **state)
{
	(void)state;
	fill_t();
	Value out[NR];
	/* PARTITION BY part ORDER BY ord (ASC NULLS LAST) */
	WinSpec w = spec(WIN_ROW_NUMBER, -1, TYPE_NULL);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	run(T, NR, 3, &w, out);
	/* part 1: r0(10) r3(10) r2(20) r6(NULL); part 2: r1(5) r4(NULL);
	 * part NULL: r5(3) r7(3) */
	expect_ints(out, NR, (int64_t[]){1, 1, 3, 2, 2, 1, 4, 2});
	w.fn = WIN_RANK;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){1, 1, 3, 1, 2, 1, 4, 1});
	w.fn = WIN_DENSE_RANK;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){1, 1, 2, 1, 2, 1, 3, 1});
	w = spec(WIN_PERCENT_RANK, -1, TYPE_NULL);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	run(T, NR, 3, &w, out);
	expect_dbls(out, NR, (double[]){0, 0, 2.0 / 3, 0, 1, 0, 1, 0});
	w.fn = WIN_CUME_DIST;
	run(T, NR, 3, &w, out);
	expect_dbls(out, NR, (double[]){0.5, 0.5, 0.75, 0.5, 1, 1, 1, 1});

	/* DESC, NULLS FIRST (PostgreSQL's default for DESC) */
	w = spec(WIN_ROW_NUMBER, -1, TYPE_NULL);
	part_by0(&w);
	order_by(&w, one_key, 1, ones, ones);
	run(T, NR, 3, &w, out);
	/* part 1: r6(NULL) r2(20) r0(10) r3(10) */
	expect_ints(out, NR, (int64_t[]){3, 2, 2, 4, 1, 1, 1, 2});
	w.fn = WIN_RANK;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 2, 2, 3, 1, 1, 1, 1});
	/* ASC NULLS FIRST */
	order_by(&w, one_key, 1, zero, ones);
	w.fn = WIN_ROW_NUMBER;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){2, 2, 4, 3, 1, 1, 1, 2});

	/* no partition, no order: original order, all peers */
	w = spec(WIN_ROW_NUMBER, -1, TYPE_NULL);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){1, 2, 3, 4, 5, 6, 7, 8});
	w.fn = WIN_RANK;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1});
	w = spec(WIN_CUME_DIST, -1, TYPE_NULL);
	run(T, NR, 3, &w, out);
	expect_dbls(out, NR, (double[]){1, 1, 1, 1, 1, 1, 1, 1});

	/* no partition, ORDER BY ord: 3,3,5,10,10,20,NULL,NULL */
	w = spec(WIN_DENSE_RANK, -1, TYPE_NULL);
	order_by(&w, one_key, 1, zero, zero);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 2, 4, 3, 5, 1, 5, 1});
}

static void
test_ntile(void **state)
{
	(void)state;
	Value rows[10], out[10];
	for (int i = 0; i < 10; i++)
		rows[i] = value_int(TYPE_INT, 9 - i);
	int key[1] = {0};
	WinSpec w = spec(WIN_NTILE, -1, TYPE_NULL);
	w.param = 3;
	order_by(&w, key, 1, zero, zero);
	run(rows, 10, 1, &w, out);
	/* sorted 0..9 -> buckets 4,3,3; row i holds 9-i */
	expect_ints(out, 10, (int64_t[]){3, 3, 3, 2, 2, 2, 1, 1, 1, 1});
	w.param = 20; /* more buckets than rows */
	run(rows, 5, 1, &w, out);
	expect_ints(out, 5, (int64_t[]){5, 4, 3, 2, 1});
	w.param = INT64_MAX;
	run(rows, 3, 1, &w, out);
	expect_ints(out, 3, (int64_t[]){3, 2, 1});
	w.param = 0;
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(rows, 10, 1, &w, out, &a, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "ntile"));
	arena_free(&a);
}

static void
test_lag_lead(void **state)
{
	(void)state;
	fill_t();
	Value out[NR];
	WinSpec w = spec(WIN_LAG, 2, TYPE_LONG);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	/* part 1 order: r0(x5) r3(x3) r2(NULL) r6(x4); part 2: r1(7) r4(1);
	 * part NULL: r5(2) r7(NULL) */
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, 3, 5, 7, NUL, NUL, 2});
	w.fn = WIN_LEAD;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 1, 4, NUL, NUL, NUL, NUL, NUL});
	/* offset 2 with a default */
	w.param = 2;
	w.dflt = value_int(TYPE_INT, -1);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, -1, -1, 4, -1, -1, -1, -1});
	w.fn = WIN_LAG;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){-1, -1, 5, -1, -1, -1, 3, -1});
	/* offset 0: the current row, even when NULL */
	w.param = 0;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, NUL, 3, 1, 2, 4, NUL});
	/* negative offset looks the other way */
	w.param = -1;
	w.dflt = value_null(TYPE_LONG);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 1, 4, NUL, NUL, NUL, NUL, NUL});
	w.param = INT64_MIN;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL});
	w.param = INT64_MAX;
	w.fn = WIN_LEAD;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL});
	/* IGNORE NULLS: lead(x) of r3 skips r2's NULL */
	w.param = 1;
	w.ignore_nulls = 1;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 1, 4, 4, NUL, NUL, NUL, NUL});
	w.fn = WIN_LAG;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, 3, 5, 7, NUL, 3, 2});
	w.param = 2;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, 5, NUL, NUL, NUL, 5, NUL});
	/* a double default is converted when whole, refused otherwise */
	w.ignore_nulls = 0;
	w.dflt = value_double(TYPE_DOUBLE, 8.0);
	run(T, NR, 3, &w, out);
	assert_int_equal(out[1].u.i, 8);
	w.dflt = value_double(TYPE_DOUBLE, 8.5);
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(T, NR, 3, &w, out, &a, &e), ERR_TYPE);
	assert_non_null(strstr(e.msg, "default"));
	arena_free(&a);
}

static void
test_lag_string_default(void **state)
{
	(void)state;
	Value rows[3] = {sv("a"), sv(NULL), sv("c")};
	Value out[3];
	char dbuf[8] = "zz";
	WinSpec w = spec(WIN_LAG, 0, TYPE_STRING);
	w.dflt = value_str(TYPE_STRING, dbuf, 2);
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(rows, 3, 1, &w, out, &a, &e), 0);
	assert_int_equal(out[0].n, 2);
	assert_memory_equal(out[0].u.s, "zz", 2);
	assert_ptr_not_equal(out[0].u.s, dbuf); /* copied into the arena */
	assert_true(out[1].n == 1 && out[1].u.s == rows[0].u.s);
	assert_true(out[2].null);
	assert_int_equal(out[2].type, TYPE_STRING);
	/* a number as the default of a string is a type error */
	w.dflt = value_int(TYPE_INT, 1);
	assert_int_equal(window_compute(rows, 3, 1, &w, out, &a, &e), ERR_TYPE);
	arena_free(&a);
}

static void
test_value_functions(void **state)
{
	(void)state;
	fill_t();
	Value out[NR];
	/* default frame with ORDER BY includes peers: r0 and r3 tie on 10 */
	WinSpec w = spec(WIN_LAST_VALUE, 2, TYPE_LONG);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 7, NUL, 3, 1, NUL, 4, NUL});
	w.fn = WIN_FIRST_VALUE;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, 5, 5, 7, 2, 5, 2});
	w.fn = WIN_NTH_VALUE;
	w.param = 3;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL});
	/* whole partition */
	frame(&w, 1, WINB_UNBOUNDED_PRECEDING, 0, WINB_UNBOUNDED_FOLLOWING, 0);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL});
	w.param = 2;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 1, 3, 3, 1, NUL, 3, NUL});
	/* IGNORE NULLS: part 1 non-NULL: 5, 3, 4 */
	w.ignore_nulls = 1;
	w.param = 3;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){4, NUL, 4, 4, NUL, NUL, 4, NUL});
	w.fn = WIN_LAST_VALUE;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){4, 1, 4, 4, 1, 2, 4, 2});
	/* ROWS 1 PRECEDING .. CURRENT ROW, IGNORE NULLS: r2's frame is r3,r2 */
	frame(&w, 1, WINB_PRECEDING, 1, WINB_CURRENT_ROW, 0);
	w.fn = WIN_FIRST_VALUE;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, 3, 5, 7, 2, 4, 2});
	w.ignore_nulls = 0;
	w.fn = WIN_LAST_VALUE;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, NUL, 3, 1, 2, 4, NUL});
	w.param = 0;
	w.fn = WIN_NTH_VALUE;
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(T, NR, 3, &w, out, &a, &e), ERR_INVALID);
	arena_free(&a);
}

static void
test_aggregates(void **state)
{
	(void)state;
	fill_t();
	Value out[NR];
	/* running SUM with peers (RANGE default) */
	WinSpec w = spec(WIN_SUM, 2, TYPE_LONG);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){8, 7, 8, 8, 8, 2, 12, 2});
	w.fn = WIN_COUNT;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){2, 1, 2, 2, 2, 1, 3, 1});
	w = spec(WIN_COUNT_STAR, -1, TYPE_NULL);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){2, 1, 3, 2, 2, 2, 4, 2});
	/* without ORDER BY: the whole partition */
	w = spec(WIN_AVG, 2, TYPE_LONG);
	part_by0(&w);
	run(T, NR, 3, &w, out);
	expect_dbls(out, NR, (double[]){4, 4, 4, 4, 4, 2, 4, 2});
	w.fn = WIN_MIN;
	w.out_type = TYPE_LONG;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){3, 1, 3, 3, 1, 2, 3, 2});
	w.fn = WIN_MAX;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, 5, 5, 7, 2, 5, 2});
	/* a frame holding only NULLs: SUM/MIN NULL, COUNT 0 */
	w = spec(WIN_SUM, 2, TYPE_LONG);
	part_by0(&w);
	order_by(&w, one_key, 1, zero, zero);
	frame(&w, 1, WINB_CURRENT_ROW, 0, WINB_CURRENT_ROW, 0);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, NUL, 3, 1, 2, 4, NUL});
	w.fn = WIN_COUNT;
	w.out_type = TYPE_LONG;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){1, 1, 0, 1, 1, 1, 1, 0});
	w.fn = WIN_MIN;
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){5, 7, NUL, 3, 1, 2, 4, NUL});
	/* no partition, ORDER BY ord DESC NULLS FIRST:
	 * r4,r6 (NULL) r2(20) r0,r3(10) r1(5) r5,r7(3) */
	w = spec(WIN_SUM, 2, TYPE_LONG);
	order_by(&w, one_key, 1, ones, ones);
	run(T, NR, 3, &w, out);
	expect_ints(out, NR, (int64_t[]){13, 20, 5, 13, 5, 22, 5, 22});
}

static void
test_strings_bools(void **state)
{
	(void)state;
	/* (k INT, s STRING, b BOOLEAN) */
	Value rows[5 * 3] = {
	        value_int(TYPE_INT, 1), sv("pear"),  value_int(TYPE_BOOLEAN, 1),
	        value_int(TYPE_INT, 2), sv("apple"), value_int(TYPE_BOOLEAN, 0),
	        value_int(TYPE_INT, 3), sv(NULL),    value_null(TYPE_BOOLEAN),
	        value_int(TYPE_INT, 4), sv(""),      value_int(TYPE_BOOLEAN, 1),
	        value_int(TYPE_INT, 5), sv("zoo"),   value_int(TYPE_BOOLEAN, 1),
	};
	Value out[5];
	int key[1] = {0};
	WinSpec w = spec(WIN_MIN, 1, TYPE_STRING);
	order_by(&w, key, 1, zero, zero);
	run(rows, 5, 3, &w, out);
	const char *mins[5] = {"pear", "apple", "apple", "", ""};
	for (int i = 0; i < 5; i++)
		assert_true(out[i].n == strlen(mins[i]) &&
		            memcmp(out[i].u.s, mins[i], out[i].n) == 0);
	w.fn = WIN_MAX;
	frame(&w, 1, WINB_PRECEDING, 1, WINB_FOLLOWING, 1);
	run(rows, 5, 3, &w, out);
	const char *maxs[5] = {"pear", "pear", "apple", "zoo", "zoo"};
	for (int i = 0; i < 5; i++)
		assert_true(out[i].n == strlen(maxs[i]) &&
		            memcmp(out[i].u.s, maxs[i], out[i].n) == 0);
	w = spec(WIN_BOOL_AND, 2, TYPE_BOOLEAN);
	order_by(&w, key, 1, zero, zero);
	run(rows, 5, 3, &w, out);
	expect_ints(out, 5, (int64_t[]){1, 0, 0, 0, 0});
	frame(&w, 1, WINB_CURRENT_ROW, 0, WINB_CURRENT_ROW, 0);
	run(rows, 5, 3, &w, out);
	expect_ints(out, 5, (int64_t[]){1, 0, NUL, 1, 1});
	frame(&w, 1, WINB_CURRENT_ROW, 0, WINB_UNBOUNDED_FOLLOWING, 0);
	w.fn = WIN_BOOL_OR;
	run(rows, 5, 3, &w, out);
	expect_ints(out, 5, (int64_t[]){1, 1, 1, 1, 1});
	w.fn = WIN_BOOL_AND;
	run(rows, 5, 3, &w, out);
	expect_ints(out, 5, (int64_t[]){0, 0, 1, 1, 1});
}

static void
test_frames(void **state)
{
	(void)state;
	/* (k INT, x LONG): keys 1,2,2,4,7,NULL */
	static const int64_t kk[6] = {1, 2, 2, 4, 7, NUL};
	Value rows[6 * 2];
	for (int i = 0; i < 6; i++) {
		rows[i * 2] = iv(TYPE_INT, kk[i]);
		rows[i * 2 + 1] = value_int(TYPE_LONG, 1LL << i); /* 1,2,4,8,16,32 */
	}
	Value out[6];
	int key[1] = {0};
	WinSpec w = spec(WIN_SUM, 1, TYPE_LONG);
	order_by(&w, key, 1, zero, zero);
	frame(&w, 1, WINB_PRECEDING, 1, WINB_FOLLOWING, 1);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){3, 7, 14, 28, 56, 48});
	/* ROWS 2 FOLLOWING .. 1 FOLLOWING: always empty */
	frame(&w, 1, WINB_FOLLOWING, 2, WINB_FOLLOWING, 1);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){NUL, NUL, NUL, NUL, NUL, NUL});
	frame(&w, 1, WINB_FOLLOWING, 1, WINB_FOLLOWING, 2);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){6, 12, 24, 48, 32, NUL});
	frame(&w, 1, WINB_UNBOUNDED_PRECEDING, 0, WINB_PRECEDING, 1);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){NUL, 1, 3, 7, 15, 31});
	/* RANGE CURRENT ROW .. UNBOUNDED FOLLOWING: peers included */
	frame(&w, 0, WINB_CURRENT_ROW, 0, WINB_UNBOUNDED_FOLLOWING, 0);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){63, 62, 62, 56, 48, 32});
	/* RANGE 1 PRECEDING .. 2 FOLLOWING; the NULL row sees its peers */
	frame(&w, 0, WINB_PRECEDING, 1, WINB_FOLLOWING, 2);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){7, 15, 15, 8, 16, 32});
	/* the same DESC NULLS FIRST: 1 PRECEDING means key + 1 */
	order_by(&w, key, 1, ones, ones);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){7, 7, 7, 14, 16, 32});
	/* UNBOUNDED PRECEDING .. 3 PRECEDING DESC NULLS FIRST: the NULL row
	 * starts the partition */
	frame(&w, 0, WINB_UNBOUNDED_PRECEDING, 0, WINB_PRECEDING, 3);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){56, 48, 48, 48, 32, 32});
	/* ASC NULLS FIRST, 0 PRECEDING .. 0 FOLLOWING = peers */
	order_by(&w, key, 1, zero, ones);
	frame(&w, 0, WINB_PRECEDING, 0, WINB_FOLLOWING, 0);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){1, 6, 6, 8, 16, 32});
	/* huge offsets do not overflow */
	order_by(&w, key, 1, zero, zero);
	frame(&w, 0, WINB_PRECEDING, INT64_MAX, WINB_FOLLOWING, INT64_MAX);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){31, 31, 31, 31, 31, 32});
	frame(&w, 1, WINB_PRECEDING, INT64_MAX, WINB_FOLLOWING, INT64_MAX);
	run(rows, 6, 2, &w, out);
	expect_ints(out, 6, (int64_t[]){63, 63, 63, 63, 63, 63});
	/* RANGE offset over extreme keys */
	Value ext[3 * 2] = {
	        value_int(TYPE_LONG, INT64_MIN), value_int(TYPE_LONG, 1),
	        value_int(TYPE_LONG, INT64_MAX), value_int(TYPE_LONG, 2),
	        value_int(TYPE_LONG, 0),         value_int(TYPE_LONG, 4),
	};
	frame(&w, 0, WINB_FOLLOWING, 1, WINB_UNBOUNDED_FOLLOWING, 0);
	run(ext, 3, 2, &w, out);
	expect_ints(out, 3, (int64_t[]){6, NUL, 2});
	frame(&w, 0, WINB_UNBOUNDED_PRECEDING, 0, WINB_PRECEDING, 1);
	run(ext, 3, 2, &w, out);
	expect_ints(out, 3, (int64_t[]){NUL, 5, 1});
}

static void
test_range_double_key(void **state)
{
	(void)state;
	double keys[6] = {0.5, 1.5, -INFINITY, NAN, 2.0, INFINITY};
	Value rows[6 * 2];
	for (int i = 0; i < 6; i++) {
		rows[i * 2] = value_double(TYPE_DOUBLE, keys[i]);
		rows[i * 2 + 1] = value_int(TYPE_LONG, 1LL << i);
	}
	Value out[6];
	int key[1] = {0};
	WinSpec w = spec(WIN_SUM, 1, TYPE_LONG);
	order_by(&w, key, 1, zero, zero);
	frame(&w, 0, WINB_PRECEDING, 1, WINB_FOLLOWING, 0);
	run(rows, 6, 2, &w, out);
	/* sorted: -inf(4) 0.5(1) 1.5(2) 2.0(16) inf(32) NaN(8) */
	expect_ints(out, 6, (int64_t[]){1, 3, 4, 8, 18, 32});
}

static void
test_double_sum(void **state)
{
	(void)state;
	double xs[7] = {1e16, 1.0, -1e16, 1.0, INFINITY, 3.0, NAN};
	Value rows[7], out[7];
	for (int i = 0; i < 7; i++)
		rows[i] = value_double(TYPE_DOUBLE, xs[i]);
	WinSpec w = spec(WIN_SUM, 0, TYPE_DOUBLE);
	frame(&w, 1, WINB_PRECEDING, 1, WINB_CURRENT_ROW, 0);
	run(rows, 7, 1, &w, out);
	assert_true(out[0].u.d == 1e16);
	assert_true(out[1].u.d == 1e16 + 1.0);
	assert_true(out[2].u.d == -1e16 + 1.0);
	assert_true(out[3].u.d == -1e16 + 1.0);
	assert_true(isinf(out[4].u.d) && out[4].u.d > 0);
	assert_true(isinf(out[5].u.d));
	assert_true(isnan(out[6].u.d));
	/* a running sum that overflows double and comes back */
	double ys[4] = {1e308, 1e308, -1e308, -1e308};
	for (int i = 0; i < 4; i++)
		rows[i] = value_double(TYPE_DOUBLE, ys[i]);
	run(rows, 4, 1, &w, out);
	assert_true(out[0].u.d == 1e308);
	assert_true(isinf(out[1].u.d));
	assert_true(out[2].u.d == 0.0);
	assert_true(isinf(out[3].u.d) && out[3].u.d < 0);
}

static void
test_overflow(void **state)
{
	(void)state;
	Value rows[3] = {value_int(TYPE_LONG, INT64_MAX), value_int(TYPE_LONG, INT64_MAX),
	                 value_int(TYPE_LONG, -5)};
	Value out[3];
	WinSpec w = spec(WIN_SUM, 0, TYPE_LONG);
	/* each frame is one row: never overflows, even while sliding */
	frame(&w, 1, WINB_CURRENT_ROW, 0, WINB_CURRENT_ROW, 0);
	run(rows, 3, 1, &w, out);
	expect_ints(out, 3, (int64_t[]){INT64_MAX, INT64_MAX, -5});
	w.fn = WIN_AVG;
	w.out_type = TYPE_DOUBLE;
	w.frame.given = 0;
	run(rows, 3, 1, &w, out);
	double avg = (2.0 * (double)INT64_MAX - 5) / 3;
	for (int i = 0; i < 3; i++)
		assert_true(fabs(out[i].u.d - avg) <= avg * 1e-15);
	w.fn = WIN_SUM;
	w.out_type = TYPE_LONG;
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(rows, 3, 1, &w, out, &a, &e), ERR_OVERFLOW);
	assert_non_null(strstr(e.msg, "out of range"));
	arena_free(&a);
}

static void
test_frame_errors(void **state)
{
	(void)state;
	fill_t();
	Value out[NR];
	Arena a;
	arena_init(&a, 256);
	struct {
		int rows;
		WinBound s;
		int64_t so;
		WinBound en;
		int64_t eo;
		int norder;
		const char *msg;
	} cases[] = {
	        {1, WINB_FOLLOWING, 1, WINB_CURRENT_ROW, 0, 1, "cannot end with current row"},
	        {1, WINB_FOLLOWING, 1, WINB_PRECEDING, 1, 1, "cannot have preceding rows"},
	        {0, WINB_CURRENT_ROW, 0, WINB_PRECEDING, 1, 1, "current row cannot have preceding"},
	        {1, WINB_UNBOUNDED_FOLLOWING, 0, WINB_UNBOUNDED_FOLLOWING, 0, 1,
	         "UNBOUNDED FOLLOWING"},
	        {1, WINB_UNBOUNDED_PRECEDING, 0, WINB_UNBOUNDED_PRECEDING, 0, 1,
	         "UNBOUNDED PRECEDING"},
	        {1, WINB_PRECEDING, -1, WINB_CURRENT_ROW, 0, 1,
	         "starting offset must not be negative"},
	        {1, WINB_CURRENT_ROW, 0, WINB_FOLLOWING, -2, 1,
	         "ending offset must not be negative"},
	        {0, WINB_PRECEDING, 1, WINB_CURRENT_ROW, 0, 0, "exactly one ORDER BY"},
	        {0, WINB_CURRENT_ROW, 0, WINB_FOLLOWING, 1, 2, "exactly one ORDER BY"},
	        {1, (WinBound)42, 0, WINB_CURRENT_ROW, 0, 1, "invalid window frame bound"},
	};
	int keys[2] = {1, 0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		WinSpec w = spec(WIN_SUM, 2, TYPE_LONG);
		order_by(&w, keys, cases[i].norder, zero, zero);
		frame(&w, cases[i].rows, cases[i].s, cases[i].so, cases[i].en, cases[i].eo);
		Err e;
		err_clear(&e);
		assert_int_equal(window_compute(T, NR, 3, &w, out, &a, &e), ERR_INVALID);
		if (!strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i, e.msg, cases[i].msg);
	}
	/* RANGE offset over a string key */
	Value srows[2] = {sv("a"), sv("b")};
	int k0[1] = {0};
	WinSpec w = spec(WIN_COUNT_STAR, -1, TYPE_NULL);
	order_by(&w, k0, 1, zero, zero);
	frame(&w, 0, WINB_PRECEDING, 1, WINB_CURRENT_ROW, 0);
	Err e;
	err_clear(&e);
	assert_int_equal(window_compute(srows, 2, 1, &w, out, &a, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "STRING"));
	/* a missing argument */
	w = spec(WIN_SUM, 0, TYPE_LONG);
	w.arg = -1;
	err_clear(&e);
	assert_int_equal(window_compute(T, NR, 3, &w, out, &a, &e), ERR_INVALID);
	arena_free(&a);
}

static void
test_nomem(void **state)
{
	(void)state;
	fill_t();
	Value out[NR];
	WinSpec w = spec(WIN_MAX, 2, TYPE_LONG);
	order_by(&w, one_key, 1, zero, zero);
	Arena a;
	arena_init(&a, 256);
	Err e;
	err_clear(&e);
	mem_fail_nth(1);
	int rc = window_compute(T, NR, 3, &w, out, &a, &e);
	mem_fail_nth(0);
	assert_int_equal(rc, ERR_NOMEM);
	arena_free(&a);
}

/* ---- randomized check against a naive reference ------------------------ */

/* columns: 0 part INT, 1 ord (INT or DOUBLE), 2 ord2 INT, 3 x LONG,
 * 4 d DOUBLE, 5 s STRING, 6 b BOOLEAN */
#define RC 7

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int
rn(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

static const char *words[] = {"", "a", "ab", "b", "abcdefgh", "abcdefghX", "abcdefghA"};

typedef struct Ref {
	const Value *rows;
	size_t n;
	const WinSpec *w;
	size_t *pos;   /* position of each row in its partition */
	size_t *psize; /* size of each row's partition */
} Ref;

static double
num(const Value *v)
{
	return type_is_float((WbType)v->type) ? v->u.d : (double)v->u.i;
}

static int
ref_vcmp(const Value *a, const Value *b)
{
	if (type_is_var((WbType)a->type)) {
		size_t m = a->n < b->n ? a->n : b->n;
		int c = m ? memcmp(a->u.s, b->u.s, m) : 0;
		if (c)
			return c < 0 ? -1 : 1;
		return (a->n > b->n) - (a->n < b->n);
	}
	double x = num(a), y = num(b);
	return (x > y) - (x < y);
}

static int
ref_same_part(const Ref *r, size_t a, size_t b)
{
	if (r->w->npart == 0)
		return 1;
	const Value *x = &r->rows[a * RC], *y = &r->rows[b * RC];
	if (x->null || y->null)
		return x->null && y->null;
	return x->u.i == y->u.i;
}

/* order keys only: < 0 when a sorts before b */
static int
ref_ocmp(const Ref *r, size_t a, size_t b)
{
	for (int k = 0; k < r->w->norder; k++) {
		int col = r->w->order[k];
		const Value *x = &r->rows[a * RC + col], *y = &r->rows[b * RC + col];
		int c;
		if (x->null || y->null) {
			if (x->null && y->null)
				continue;
			c = x->null ? 1 : -1;
			if (r->w->nulls_first[k])
				c = -c;
			return c;
		}
		c = ref_vcmp(x, y);
		if (r->w->desc[k])
			c = -c;
		if (c)
			return c;
	}
	return 0;
}

static void
ref_positions(Ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		size_t p = 0, sz = 0;
		for (size_t q = 0; q < r->n; q++) {
			if (!ref_same_part(r, i, q))
				continue;
			sz++;
			int c = ref_ocmp(r, q, i);
			if (c < 0 || (c == 0 && q < i))
				p++;
		}
		r->pos[i] = p;
		r->psize[i] = sz;
	}
}

/* value-based RANGE offset bound: is q on the inside of cur's bound? */
static int
ref_range_ok(const Ref *r, size_t q, size_t cur, WinBound b, int64_t off, int is_end)
{
	int col = r->w->order[0];
	const Value *vq = &r->rows[q * RC + col], *vc = &r->rows[cur * RC + col];
	int nf = r->w->nulls_first[0], desc = r->w->desc[0];
	if (vc->null)
		return is_end ? ref_ocmp(r, q, cur) <= 0 : ref_ocmp(r, q, cur) >= 0;
	if (vq->null)
		return is_end ? nf : !nf;
	double t = num(vc) + (double)((b == WINB_PRECEDING) == !desc ? -off : off);
	double x = num(vq);
	if (!is_end)
		return desc ? x <= t : x >= t;
	return desc ? x >= t : x <= t;
}

static int
ref_in_frame(const Ref *r, size_t q, size_t cur)
{
	const WinFrame *f = &r->w->frame;
	int64_t pq = (int64_t)r->pos[q], pc = (int64_t)r->pos[cur];
	if (!f->given) {
		if (r->w->norder == 0)
			return 1;
		return ref_ocmp(r, q, cur) <= 0;
	}
	int ok;
	switch (f->start) {
	case WINB_UNBOUNDED_PRECEDING:
		ok = 1;
		break;
	case WINB_CURRENT_ROW:
		ok = f->rows ? pq >= pc : ref_ocmp(r, q, cur) >= 0;
		break;
	default:
		if (f->rows)
			ok = pq >= pc + (f->start == WINB_PRECEDING ? -f->start_off : f->start_off);
		else
			ok = ref_range_ok(r, q, cur, f->start, f->start_off, 0);
		break;
	}
	if (!ok)
		return 0;
	switch (f->end) {
	case WINB_UNBOUNDED_FOLLOWING:
		return 1;
	case WINB_CURRENT_ROW:
		return f->rows ? pq <= pc : ref_ocmp(r, q, cur) <= 0;
	default:
		if (f->rows)
			return pq <= pc + (f->end == WINB_PRECEDING ? -f->end_off : f->end_off);
		return ref_range_ok(r, q, cur, f->end, f->end_off, 1);
	}
}

/* rows of cur's partition in sorted order, into buf; returns the count */
static size_t
ref_partition(const Ref *r, size_t cur, size_t *buf)
{
	size_t m = r->psize[cur];
	for (size_t q = 0; q < r->n; q++)
		if (ref_same_part(r, q, cur))
			buf[r->pos[q]] = q;
	return m;
}

static Value
ref_eval(const Ref *r, size_t cur, size_t *buf)
{
	const WinSpec *w = r->w;
	WbType t = w->out_type;
	size_t m = ref_partition(r, cur, buf);
	size_t pc = r->pos[cur];
	const Value *arg = w->arg >= 0 ? &r->rows[cur * RC + w->arg] : NULL;
	(void)arg;
	switch (w->fn) {
	case WIN_ROW_NUMBER:
		return value_int(t, (int64_t)pc + 1);
	case WIN_RANK:
	case WIN_DENSE_RANK:
	case WIN_PERCENT_RANK:
	case WIN_CUME_DIST: {
		int64_t less = 0, le = 0, groups = 0;
		for (size_t i = 0; i < m; i++) {
			int c = ref_ocmp(r, buf[i], cur);
			less += c < 0;
			le += c <= 0;
			if (c < 0 && (i == 0 || ref_ocmp(r, buf[i - 1], buf[i]) != 0))
				groups++;
		}
		if (w->fn == WIN_RANK)
			return value_int(t, less + 1);
		if (w->fn == WIN_DENSE_RANK)
			return value_int(t, groups + 1);
		if (w->fn == WIN_PERCENT_RANK)
			return value_double(t, m > 1 ? (double)less / (double)(m - 1) : 0);
		return value_double(t, (double)le / (double)m);
	}
	case WIN_NTILE: {
		/* deal rows into buckets one by one: bucket sizes differ by 1 */
		int64_t nb = w->param, q = (int64_t)m / nb, rem = (int64_t)m % nb, start = 0;
		for (int64_t b = 0;; b++) {
			int64_t sz = q + (b < rem);
			if ((int64_t)pc < start + sz)
				return value_int(t, b + 1);
			start += sz;
		}
	}
	case WIN_LAG:
	case WIN_LEAD: {
		int64_t off = w->fn == WIN_LAG ? -w->param : w->param;
		if (off == 0)
			return r->rows[cur * RC + w->arg];
		int64_t step = off > 0 ? 1 : -1, need = off > 0 ? off : -off;
		for (int64_t p = (int64_t)pc + step; p >= 0 && p < (int64_t)m; p += step) {
			const Value *v = &r->rows[buf[p] * RC + w->arg];
			if (w->ignore_nulls && v->null)
				continue;
			if (--need == 0)
				return *v;
		}
		return w->dflt;
	}
	default:
		break;
	}
	/* frame functions */
	int64_t cnt = 0, nn = 0, isum = 0, ntrue = 0, k = 0;
	double dsum = 0;
	const Value *mn = NULL, *mx = NULL, *first = NULL, *last = NULL, *nth = NULL;
	for (size_t i = 0; i < m; i++) {
		size_t q = buf[i];
		if (!ref_in_frame(r, q, cur))
			continue;
		cnt++;
		if (w->fn == WIN_COUNT_STAR)
			continue;
		const Value *v = &r->rows[q * RC + w->arg];
		if (!(w->ignore_nulls && v->null)) {
			if (!first)
				first = v;
			last = v;
			if (++k == w->param)
				nth = v;
		}
		if (v->null)
			continue;
		nn++;
		if (type_is_float((WbType)v->type))
			dsum += v->u.d;
		else
			isum += v->u.i;
		ntrue += v->u.i != 0;
		if (!mn || ref_vcmp(v, mn) < 0)
			mn = v;
		if (!mx || ref_vcmp(v, mx) > 0)
			mx = v;
	}
	Value nul = value_null(t);
	switch (w->fn) {
	case WIN_COUNT_STAR:
		return value_int(t, cnt);
	case WIN_COUNT:
		return value_int(t, nn);
	case WIN_SUM:
		if (!nn)
			return nul;
		return type_is_float(t) ? value_double(t, dsum + (double)isum) : value_int(t, isum);
	case WIN_AVG:
		return nn ? value_double(t, (dsum + (double)isum) / (double)nn) : nul;
	case WIN_MIN:
		return mn ? *mn : nul;
	case WIN_MAX:
		return mx ? *mx : nul;
	case WIN_BOOL_AND:
		return nn ? value_int(t, ntrue == nn) : nul;
	case WIN_BOOL_OR:
		return nn ? value_int(t, ntrue > 0) : nul;
	case WIN_FIRST_VALUE:
		return first ? *first : nul;
	case WIN_LAST_VALUE:
		return last ? *last : nul;
	case WIN_NTH_VALUE:
		return nth ? *nth : nul;
	default:
		return nul;
	}
}

static int
same_value(const Value *a, const Value *b)
{
	if (a->null || b->null)
		return a->null && b->null;
	if (type_is_var((WbType)a->type))
		return a->n == b->n && (a->n == 0 || memcmp(a->u.s, b->u.s, a->n) == 0);
	if (type_is_float((WbType)a->type) || type_is_float((WbType)b->type)) {
		double x = num(a), y = num(b);
		return fabs(x - y) <= 1e-9 * (1 + fabs(x) + fabs(y));
	}
	return a->u.i == b->u.i;
}

/* PostgreSQL's frame rules, stated independently */
static int
ref_frame_valid(const WinSpec *w)
{
	const WinFrame *f = &w->frame;
	if (!f->given)
		return 1;
	if (f->start == WINB_UNBOUNDED_FOLLOWING || f->end == WINB_UNBOUNDED_PRECEDING)
		return 0;
	if (f->start == WINB_CURRENT_ROW && f->end == WINB_PRECEDING)
		return 0;
	if (f->start == WINB_FOLLOWING && (f->end == WINB_PRECEDING || f->end == WINB_CURRENT_ROW))
		return 0;
	int off = f->start == WINB_PRECEDING || f->start == WINB_FOLLOWING ||
	          f->end == WINB_PRECEDING || f->end == WINB_FOLLOWING;
	if (!f->rows && off && w->norder != 1)
		return 0;
	return 1;
}

static void
test_random(void **state)
{
	(void)state;
	enum { MAXN = 400 };
	Value *rows = mem_calloc(MAXN * RC, sizeof(Value));
	Value *out = mem_calloc(MAXN, sizeof(Value));
	size_t *pos = mem_calloc(MAXN, sizeof(size_t)), *psize = mem_calloc(MAXN, sizeof(size_t));
	size_t *buf = mem_calloc(MAXN, sizeof(size_t));
	assert_non_null(rows);
	assert_non_null(out);
	assert_non_null(pos);
	assert_non_null(psize);
	assert_non_null(buf);
	static const struct {
		WinFn fn;
		int arg;
		WbType t;
	} fns[] = {
	        {WIN_ROW_NUMBER, -1, TYPE_NULL}, {WIN_RANK, -1, TYPE_NULL},
	        {WIN_DENSE_RANK, -1, TYPE_NULL}, {WIN_PERCENT_RANK, -1, TYPE_NULL},
	        {WIN_CUME_DIST, -1, TYPE_NULL},  {WIN_NTILE, -1, TYPE_NULL},
	        {WIN_LAG, 3, TYPE_LONG},         {WIN_LEAD, 5, TYPE_STRING},
	        {WIN_FIRST_VALUE, 3, TYPE_LONG}, {WIN_LAST_VALUE, 5, TYPE_STRING},
	        {WIN_NTH_VALUE, 3, TYPE_LONG},   {WIN_COUNT_STAR, -1, TYPE_NULL},
	        {WIN_COUNT, 3, TYPE_LONG},       {WIN_SUM, 3, TYPE_LONG},
	        {WIN_SUM, 4, TYPE_DOUBLE},       {WIN_AVG, 3, TYPE_LONG},
	        {WIN_AVG, 4, TYPE_DOUBLE},       {WIN_MIN, 3, TYPE_LONG},
	        {WIN_MAX, 3, TYPE_LONG},         {WIN_MIN, 5, TYPE_STRING},
	        {WIN_MAX, 4, TYPE_DOUBLE},       {WIN_BOOL_AND, 6, TYPE_BOOLEAN},
	        {WIN_BOOL_OR, 6, TYPE_BOOLEAN},
	};
	const int nfns = (int)(sizeof(fns) / sizeof(fns[0]));
	static const int order_cols[2] = {1, 2}, str_order_cols[2] = {5, 2};
	Arena a;
	arena_init(&a, 1024);
	size_t total_rows = 0, checked = 0, invalid = 0;
	for (int iter = 0; iter < 160; iter++) {
		size_t n = iter == 0 ? 1 : (size_t)rn(iter < 40 ? 30 : MAXN) + 1;
		int dbl_ord = rn(3) == 0, nparts = 1 + rn(4), null_x = rn(8) == 0;
		for (size_t i = 0; i < n; i++) {
			Value *row = &rows[i * RC];
			row[0] = rn(10) == 0 ? value_null(TYPE_INT)
			                     : value_int(TYPE_INT, rn(nparts));
			if (rn(7) == 0)
				row[1] = value_null(dbl_ord ? TYPE_DOUBLE : TYPE_INT);
			else if (dbl_ord)
				row[1] = value_double(TYPE_DOUBLE, (rn(25) - 12) * 0.5);
			else
				row[1] = value_int(TYPE_INT, rn(13) - 6);
			row[2] = value_int(TYPE_INT, rn(3));
			row[3] = rn(5) == 0 || null_x ? value_null(TYPE_LONG)
			                              : value_int(TYPE_LONG, rn(2001) - 1000);
			row[4] = rn(6) == 0 ? value_null(TYPE_DOUBLE)
			                    : value_double(TYPE_DOUBLE,
			                                   (double)(rn(20001) - 10000) / 8.0);
			row[5] = rn(6) == 0 ? sv(NULL) : sv(words[rn(7)]);
			row[6] = rn(5) == 0 ? value_null(TYPE_BOOLEAN)
			                    : value_int(TYPE_BOOLEAN, rn(4) != 0);
		}
		total_rows += n;
		int desc[2] = {rn(2), rn(2)}, nf[2] = {rn(2), rn(2)};
		WinSpec w;
		memset(&w, 0, sizeof(w));
		w.npart = rn(3) ? 1 : 0;
		w.part = part0;
		w.norder = rn(5) == 0 ? 0 : rn(4) == 0 ? 2 : 1;
		int str_ord = rn(5) == 0;
		w.order = str_ord ? str_order_cols : order_cols;
		w.desc = desc;
		w.nulls_first = nf;
		w.frame.given = rn(4) != 0;
		w.frame.rows = rn(2);
		w.frame.start = (WinBound)rn(5);
		w.frame.end = (WinBound)rn(5);
		w.frame.start_off = rn(4) == 0 ? 0 : rn(6);
		w.frame.end_off = rn(4) == 0 ? 0 : rn(6);
		int valid = ref_frame_valid(&w);
		Ref r = {rows, n, &w, pos, psize};
		ref_positions(&r);
		for (int fi = 0; fi < nfns; fi++) {
			Err e;
			err_clear(&e);
			w.fn = fns[fi].fn;
			w.arg = fns[fi].arg;
			w.ignore_nulls = rn(3) == 0;
			w.param = w.fn == WIN_NTILE       ? 1 + rn(8)
			          : w.fn == WIN_NTH_VALUE ? 1 + rn(4)
			                                  : rn(7) - 3;
			w.dflt = rn(2)                      ? value_null(fns[fi].t)
			         : fns[fi].t == TYPE_STRING ? sv("dflt")
			                                    : value_int(fns[fi].t, -77);
			assert_int_equal(window_result_type(w.fn, fns[fi].t, 0, &w.out_type, &e),
			                 0);
			int rc = window_compute(rows, n, RC, &w, out, &a, &e);
			if (!valid) {
				assert_int_equal(rc, ERR_INVALID);
				invalid++;
				continue;
			}
			if (str_ord && w.frame.given && !w.frame.rows &&
			    (w.frame.start == WINB_PRECEDING || w.frame.start == WINB_FOLLOWING ||
			     w.frame.end == WINB_PRECEDING || w.frame.end == WINB_FOLLOWING)) {
				assert_int_equal(rc, ERR_INVALID);
				invalid++;
				continue;
			}
			if (rc != 0)
				fail_msg("iter %d fn %d: %s", iter, fi, err_msg(&e));
			for (size_t i = 0; i < n; i++) {
				Value want = ref_eval(&r, i, buf);
				assert_int_equal(out[i].type, w.out_type);
				if (!same_value(&out[i], &want))
					fail_msg("iter %d fn %d (%d) row %zu pos %zu: frame "
					         "rows=%d %d/%lld..%d/%lld "
					         "norder %d desc %d nf %d: got %s%g want %s%g",
					         iter, fi, (int)w.fn, i, pos[i], w.frame.rows,
					         (int)w.frame.start, (long long)w.frame.start_off,
					         (int)w.frame.end, (long long)w.frame.end_off,
					         w.norder, desc[0], nf[0],
					         out[i].null ? "NULL " : "", num(&out[i]),
					         want.null ? "NULL " : "", num(&want));
				checked++;
			}
			arena_reset(&a);
		}
	}
	printf("random: %zu rows, %zu values checked, %zu invalid frames refused\n", total_rows,
	       checked, invalid);
	arena_free(&a);
	mem_free(rows);
	mem_free(out);
	mem_free(pos);
	mem_free(psize);
	mem_free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_result_types),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_ranking),
	        cmocka_unit_test(test_ntile),
	        cmocka_unit_test(test_lag_lead),
	        cmocka_unit_test(test_lag_string_default),
	        cmocka_unit_test(test_value_functions),
	        cmocka_unit_test(test_aggregates),
	        cmocka_unit_test(test_strings_bools),
	        cmocka_unit_test(test_frames),
	        cmocka_unit_test(test_range_double_key),
	        cmocka_unit_test(test_double_sum),
	        cmocka_unit_test(test_overflow),
	        cmocka_unit_test(test_frame_errors),
	        cmocka_unit_test(test_nomem),
	        cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
