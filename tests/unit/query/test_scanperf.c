/*
 * test_scanperf.c -- correctness of parallel scans over several morsels
 * and segments, and a throughput figure (printed, never asserted) for
 * COUNT(*) with a filter and a GROUP BY.  Rows: WB_PERF_ROWS (default
 * 1,000,000) split over two segments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "query/bind.h"
#include "query/exec.h"
#include "query/pgparse.h"

static const BindCol cols[] = {{"x", TYPE_LONG, 0}, {"s", TYPE_STRING, 0}, {"i", TYPE_INT, 0}};
static const BindTable tab = {"t", 3, cols};

static MutSeg *
make_seg(size_t rows, size_t base)
{
	ColDesc cd[3] = {{TYPE_LONG, 0}, {TYPE_STRING, 0}, {TYPE_INT, 0}};
	MutSeg *s = mutseg_create(3, cd);
	RowBatch b;
	rowbatch_init(&b, 3);
	char names[100][8];
	for (int k = 0; k < 100; k++)
		snprintf(names[k], sizeof(names[k]), "k%02d", k);
	Err e;
	err_clear(&e);
	for (size_t r = 0; r < rows; r++) {
		Value *row = rowbatch_add_row(&b);
		size_t g = base + r;
		row[0] = value_int(TYPE_LONG, (int64_t)g);
		row[1] = value_str(TYPE_STRING, names[g % 100], 3);
		row[2] = value_int(TYPE_INT, (int64_t)(g % 7));
		if (b.nrows == 65536 || r + 1 == rows) {
			assert_int_equal(mutseg_append(s, &b, &e), 0);
			rowbatch_reset(&b);
		}
	}
	mutseg_publish(s);
	rowbatch_free(&b);
	return s;
}

static ResultSet *
run(const char *sql, const TableSnap *snap, double *secs)
{
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q;
	Err e;
	err_clear(&e);
	assert_int_equal(pgparse_parse(sql, &a, &q, &e), 0);
	Plan *p;
	assert_int_equal(bind_select(q, &tab, 0, &p, &e), 0);
	ResultSet *rs = calloc(1, sizeof(ResultSet));
	arena_init(&rs->arena, 4096);
	ExecLimits lim = {0, 0, 0};
	int64_t t0 = clock_mono_ns();
	int rc = exec_run(p, snap, &lim, rs, &e);
	*secs = (double)(clock_mono_ns() - t0) / 1e9;
	if (rc != 0)
		fail_msg("%s: %s", sql, e.msg);
	bind_free(p);
	arena_free(&a);
	return rs;
}

static void
done(ResultSet *rs)
{
	arena_free(&rs->arena);
	free(rs);
}

static void
test_scan(void **st)
{
	const char *env = getenv("WB_PERF_ROWS");
	size_t n = env ? (size_t)atoll(env) : 1000000;
	size_t half = n / 2;
	MutSeg *s1 = make_seg(half, 0), *s2 = make_seg(n - half, half);
	SnapSeg segs[2] = {{s1, half, 0}, {s2, n - half, 1}};
	TableSnap snap = {NULL, 2, segs, n};
	double t;
	ResultSet *rs;

	rs = run("SELECT count(*) FROM t WHERE x >= 10 AND i <> 3", &snap, &t);
	size_t expect = 0;
	for (size_t g = 10; g < n; g++)
		expect += g % 7 != 3;
	assert_int_equal(rs->rows[0].u.i, (int64_t)expect);
	fprintf(stderr, "count(*) with filter: %zu rows in %.4f s = %.0f M rows/s\n", n, t, n / t / 1e6);
	done(rs);

	rs = run("SELECT s, count(*), sum(i) FROM t WHERE s LIKE 'k1%' GROUP BY s ORDER BY s", &snap, &t);
	assert_int_equal(rs->nrows, 10);
	assert_string_equal(rs->rows[0].u.s, "k10");
	assert_int_equal(rs->rows[1].u.i, (int64_t)(n / 100));
	fprintf(stderr, "group by dictionary column: %zu rows in %.4f s = %.0f M rows/s\n", n, t, n / t / 1e6);
	done(rs);

	rs = run("SELECT i, count(*) FROM t GROUP BY i ORDER BY i", &snap, &t);
	assert_int_equal(rs->nrows, 7);
	fprintf(stderr, "group by int column (hash): %zu rows in %.4f s = %.0f M rows/s\n", n, t, n / t / 1e6);
	done(rs);

	rs = run("SELECT x FROM t WHERE i = 2 LIMIT 5", &snap, &t);
	assert_int_equal(rs->nrows, 5);
	done(rs);

	rs = run("SELECT x FROM t ORDER BY x DESC LIMIT 3", &snap, &t);
	assert_int_equal(rs->nrows, 3);
	assert_int_equal(rs->rows[0].u.i, (int64_t)n - 1);
	assert_int_equal(rs->rows[2].u.i, (int64_t)n - 3);
	fprintf(stderr, "top-3 selection: %zu rows in %.4f s\n", n, t);
	done(rs);

	mutseg_free(s1);
	mutseg_free(s2);
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_scan)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
