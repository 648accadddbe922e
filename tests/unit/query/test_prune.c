/*
 * test_prune.c -- segment pruning and index use give the answers a plain
 * scan gives, and the statistics say what was pruned.
 *
 * Five segments of 1,000 rows with known, disjoint ranges (id, ts, i, s,
 * smv, f; d with a -0.0 in segment 1 and a NaN in segment 3; NULLs of i in
 * segment 0 only) are written as segment files twice (raw numbers without
 * indexes; dictionaries with inverted / range / bloom indexes), and a
 * sixth mutable segment plus an empty one are added.  Every query runs
 * over the files and over the same rows held in mutable segments (which
 * nothing prunes): the answers must be identical, with and without NULL
 * handling, and numSegmentsPrunedByValue / Invalid / ByLimit,
 * numSegmentsProcessed / Matched and numEntriesScannedInFilter must be
 * the expected ones.  Also prints the time of a selective count over a
 * 512k-row file with and without indexes (never asserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "query/bind.h"
#include "query/exec.h"
#include "query/pgparse.h"
#include "query/prune.h"
#include "storage/codec.h"
#include "storage/segfile.h"
#include "storage/segwrite.h"

#define NC 8
#define NSEG 5
#define SEGROWS 1000
#define T0 1700000000000LL
#ifndef REPS
#define REPS 5
#endif

static const BindCol cols[NC] = {
	{"id", TYPE_LONG, 0},	{"ts", TYPE_TIMESTAMP, 0}, {"i", TYPE_INT, 0},	 {"d", TYPE_DOUBLE, 0},
	{"s", TYPE_STRING, 0},	{"smv", TYPE_STRING, 1},   {"lmv", TYPE_LONG, 1}, {"f", TYPE_FLOAT, 0},
};
static const BindTable tab = {"t", NC, cols};

static char dir[256];
static MutSeg *mseg[NSEG + 2];	/* NSEG: the live one, NSEG+1: empty */
static SegFile *files[2][NSEG];

static Value
mk_str(RowBatch *b, const char *s)
{
	size_t n = strlen(s);
	return value_str(TYPE_STRING, arena_strndup(&b->arena, s, n), (uint32_t)n);
}

static void
fill_row(RowBatch *b, Value *r, int k, int j)
{
	char tmp[32];
	int64_t g = (int64_t)k * SEGROWS + j;
	r[0] = value_int(TYPE_LONG, g);
	r[1] = value_int(TYPE_TIMESTAMP, T0 + g * 1000);
	r[2] = value_int(TYPE_INT, k * 100 + j % 100);
	if (k == 0 && j % 10 == 3)
		r[2].null = 1;
	double d = k * 10 + j / 100.0;
	if (k == 1 && j == 0)
		d = -0.0;
	if (k == 3 && j == 1)
		d = NAN;
	r[3] = value_double(TYPE_DOUBLE, d);
	snprintf(tmp, sizeof(tmp), "k%d_%02d", k, j % 20);
	r[4] = mk_str(b, tmp);
	int n = j % 50 == 0 ? 0 : 2;
	Value mv = value_null(TYPE_STRING);
	mv.null = j % 77 == 1;
	mv.mv = 1;
	mv.n = (uint32_t)n;
	Value *el = arena_alloc(&b->arena, sizeof(Value) * 2);
	for (int e = 0; e < n; e++) {
		snprintf(tmp, sizeof(tmp), "m%d_%d", k, (j + e) % 5);
		el[e] = mk_str(b, tmp);
	}
	mv.u.mv = el;
	r[5] = mv;
	Value lv = value_null(TYPE_LONG);
	lv.null = 0;
	lv.mv = 1;
	lv.n = 2;
	Value *le = arena_alloc(&b->arena, sizeof(Value) * 2);
	le[0] = value_int(TYPE_LONG, g);
	le[1] = value_int(TYPE_LONG, -g);
	lv.u.mv = le;
	r[6] = lv;
	r[7] = value_double(TYPE_FLOAT, (double)(float)(k + j / 1000.0));
}

static MutSeg *
make_seg(int k, int n)
{
	ColDesc cd[NC];
	memset(cd, 0, sizeof(cd));
	for (int c = 0; c < NC; c++)
		cd[c] = (ColDesc){cols[c].type, cols[c].mv, 0, value_null(cols[c].type)};
	cd[2].has_dflt = 1;
	cd[2].dflt = value_int(TYPE_INT, INT32_MIN);
	MutSeg *s = mutseg_create(NC, cd);
	RowBatch b;
	rowbatch_init(&b, NC);
	Err e;
	err_clear(&e);
	for (int j = 0; j < n; j++)
		fill_row(&b, rowbatch_add_row(&b), k, j);
	if (n > 0) {
		assert_int_equal(mutseg_append(s, &b, &e), 0);
		mutseg_publish(s);
	}
	rowbatch_free(&b);
	return s;
}

/* variant 0: raw numbers, no index; 1: dictionaries and indexes */
static SegFile *
write_file(int k, int variant)
{
	SegColOpt o[NC];
	memset(o, 0, sizeof(o));
	for (int c = 0; c < NC; c++) {
		o[c].name = cols[c].name;
		o[c].codec = CODEC_LZ4;
		o[c].dict = variant == 1 && c != 3 && c != 0;
	}
	if (variant == 1) {
		o[0].range = o[0].bloom = 1;	/* raw LONG */
		o[2].inverted = 1;
		o[3].range = 1;			/* raw DOUBLE */
		o[4].inverted = o[4].bloom = 1;
		o[5].inverted = 1;
		o[6].range = 1;
		o[7].range = 1;
	}
	SegWriteSpec sp = {.seg = mseg[k], .cols = o, .sort_col = variant == 1 ? 0 : -1, .time_col = 1};
	Err e;
	err_clear(&e);
	char p[512];
	snprintf(p, sizeof(p), "%s/seg%d_%d", dir, k, variant);
	if (segwrite_file(p, &sp, NULL, &e) != 0)
		fail_msg("segwrite_file: %s", e.msg);
	SegFile *f;
	if (segfile_open(p, &f, &e) != 0)
		fail_msg("segfile_open: %s", e.msg);
	return f;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wb-prune-%d", (int)getpid());
	Err e = {0};
	file_remove_tree(dir, &e);
	if (file_mkdirs(dir, &e) != 0)
		return -1;
	for (int k = 0; k < NSEG; k++)
		mseg[k] = make_seg(k, SEGROWS);
	mseg[NSEG] = make_seg(NSEG, SEGROWS / 2);
	mseg[NSEG + 1] = make_seg(NSEG + 1, 0);
	for (int v = 0; v < 2; v++)
		for (int k = 0; k < NSEG; k++)
			files[v][k] = write_file(k, v);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int v = 0; v < 2; v++)
		for (int k = 0; k < NSEG; k++)
			segfile_close(files[v][k]);
	for (int k = 0; k < NSEG + 2; k++)
		mutseg_free(mseg[k]);
	Err e = {0};
	file_remove_tree(dir, &e);
	return 0;
}

/* snapshot: files of variant v (v < 0: every segment mutable) */
static void
make_snap(int v, SnapSeg *segs, TableSnap *snap)
{
	size_t tot = 0;
	for (int k = 0; k < NSEG + 2; k++) {
		size_t rows = k < NSEG ? SEGROWS : k == NSEG ? SEGROWS / 2 : 0;
		if (v >= 0 && k < NSEG)
			segs[k] = (SnapSeg){NULL, rows, 0, files[v][k]};
		else
			segs[k] = (SnapSeg){mseg[k], rows, 0, NULL};
		tot += rows;
	}
	*snap = (TableSnap){NULL, NSEG + 2, segs, tot, NULL};
}

static ResultSet *
run(const char *sql, int v, int ignore_nulls)
{
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q;
	Err e;
	err_clear(&e);
	if (pgparse_parse(sql, &a, &q, &e) != 0)
		fail_msg("parse %s: %s", sql, e.msg);
	Plan *p;
	if (bind_select(q, &tab, 0, &p, &e) != 0)
		fail_msg("bind %s: %s", sql, e.msg);
	ResultSet *rs = calloc(1, sizeof(ResultSet));
	arena_init(&rs->arena, 4096);
	SnapSeg segs[NSEG + 2];
	TableSnap snap;
	make_snap(v, segs, &snap);
	ExecLimits lim = {0, 0, 0, ignore_nulls};
	if (exec_run(p, &snap, &lim, rs, &e) != 0)
		fail_msg("%s (variant %d): %s", sql, v, e.msg);
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

static int
same_value(const Value *a, const Value *b)
{
	if (a->type != b->type || a->null != b->null || a->mv != b->mv)
		return 0;
	if (a->null)
		return 1;
	if (a->mv) {
		if (a->n != b->n)
			return 0;
		for (uint32_t k = 0; k < a->n; k++)
			if (!same_value(&a->u.mv[k], &b->u.mv[k]))
				return 0;
		return 1;
	}
	if (type_is_var((WbType)a->type))
		return a->n == b->n && (a->n == 0 || memcmp(a->u.s, b->u.s, a->n) == 0);
	if (type_is_float((WbType)a->type))
		return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
	return a->u.i == b->u.i;
}

static void
same_result(const char *sql, const ResultSet *x, const ResultSet *y, const char *what)
{
	if (x->ncols != y->ncols || x->nrows != y->nrows)
		fail_msg("%s [%s]: %d x %zu vs %d x %zu", sql, what, x->ncols, x->nrows, y->ncols, y->nrows);
	for (size_t r = 0; r < x->nrows; r++)
		for (int c = 0; c < x->ncols; c++)
			if (!same_value(&x->rows[r * (size_t)x->ncols + (size_t)c],
					&y->rows[r * (size_t)y->ncols + (size_t)c]))
				fail_msg("%s [%s]: row %zu column %d differs", sql, what, r, c);
}

typedef struct Case {
	const char *sql;
	int by_value;		/* expected numSegmentsPrunedByValue, -1: any */
	int64_t count;		/* expected count(*) when >= 0 */
} Case;

static const Case cases[] = {
	{"SELECT count(*) FROM t WHERE id = 2500", 4, 1},
	{"SELECT count(*) FROM t WHERE id BETWEEN 1500 AND 2500", 3, 1001},
	{"SELECT count(*) FROM t WHERE ts >= 1700003000000", 3, 2500},
	{"SELECT count(*) FROM t WHERE s = 'k3_07'", 4, 50},
	{"SELECT count(*) FROM t WHERE s = 'nope'", 5, 0},
	{"SELECT count(*) FROM t WHERE s IN ('nope', 'k1_01', 'k4_19')", 3, 100},
	{"SELECT count(*) FROM t WHERE i > 250.5", 2, -1},
	{"SELECT count(*) FROM t WHERE i = 150.5", 5, 0},
	{"SELECT count(*) FROM t WHERE i = 150.0", 4, 10},
	{"SELECT count(*) FROM t WHERE i < 99.5", 4, -1},
	{"SELECT count(*) FROM t WHERE NOT (id < 4000)", 4, 1500},
	{"SELECT count(*) FROM t WHERE id < 1000 OR id >= 4000", 3, 2500},
	{"SELECT count(*) FROM t WHERE NOT (id <> 2500)", 4, 1},
	{"SELECT count(*) FROM t WHERE NOT (id >= 1000 AND id < 4000)", 3, 2500},
	{"SELECT count(*) FROM t WHERE NOT (id >= 1000 OR i < 5)", 4, -1},
	{"SELECT count(*) FROM t WHERE i IS NULL", 4, 100},
	{"SELECT count(*) FROM t WHERE i IN (3, 13, 5)", 4, 10},
	{"SELECT count(*) FROM t WHERE i = -2147483648", 5, 0},
	{"SELECT count(*) FROM t WHERE i = -2147483648 OR i = 2", 4, 10},
	{"SELECT count(*) FROM t WHERE i IS NOT NULL", 0, 5400},
	{"SELECT count(*) FROM t WHERE ts IS NULL", 5, 0},
	{"SELECT count(*) FROM t WHERE smv = 'm2_3'", 4, -1},
	{"SELECT count(*) FROM t WHERE NOT (smv = 'm2_3')", 0, -1},
	{"SELECT count(*) FROM t WHERE smv IN ('m4_0', 'zz')", 4, -1},
	{"SELECT count(*) FROM t WHERE smv NOT IN ('m4_0')", 0, -1},
	{"SELECT count(*) FROM t WHERE smv <> 'm1_1'", 0, -1},
	{"SELECT count(*) FROM t WHERE lmv IN (1, -4001)", -1, 2},
	{"SELECT count(*) FROM t WHERE lmv > 3500", 3, -1},
	{"SELECT count(*) FROM t WHERE lmv < -3500", 3, -1},
	{"SELECT count(*) FROM t WHERE id IN (10, 4010)", 3, 2},
	{"SELECT count(*) FROM t WHERE id NOT IN (10)", 0, 5499},
	{"SELECT count(*) FROM t WHERE id IN (10, NULL)", 4, 1},
	{"SELECT count(*) FROM t WHERE s > 'k2' AND s < 'k3'", 4, 1000},
	{"SELECT count(*) FROM t WHERE s >= 'k4_19'", 4, 50 + 500},
	{"SELECT count(*) FROM t WHERE s LIKE 'k1%'", 0, 1000},
	{"SELECT count(*) FROM t WHERE d = 0", 2, 2},
	{"SELECT count(*) FROM t WHERE d > 35", 3, -1},
	{"SELECT count(*) FROM t WHERE d < 5 OR d > 1000000", 2, -1},
	{"SELECT count(*) FROM t WHERE f < 1.5", 3, 1500},
	{"SELECT count(*) FROM t WHERE f = 2", 4, 1},
	{"SELECT count(*) FROM t WHERE i <> 250", 0, -1},
	{"SELECT count(*) FROM t WHERE id >= 0", 0, 5500},
	{"SELECT count(*) FROM t WHERE id = 2500 AND false", 6, 0},
	{"SELECT count(*) FROM t WHERE id = 2500 OR true", 0, 5500},
	{"SELECT count(*) FROM t WHERE upper(s) = 'K3_07'", 0, 50},
	{"SELECT count(*) FROM t WHERE id = 2500 AND upper(s) = 'K2_00'", 4, 1},
	{"SELECT s, count(*), sum(i) FROM t WHERE id < 1500 GROUP BY s ORDER BY s", 3, -1},
	{"SELECT id, s, smv, lmv, d FROM t WHERE id BETWEEN 995 AND 1005 ORDER BY id", 3, -1},
	{"SELECT id, i FROM t WHERE i < 0 ORDER BY id", -1, -1},
	{"SELECT id FROM t WHERE s IN ('k0_03', 'k2_04') AND id > 900 AND i >= 3 ORDER BY id", -1, -1},
	{"SELECT id, d FROM t WHERE d >= 39.5 AND d < 40.5 ORDER BY id", 3, -1},
	{"SELECT id FROM t WHERE ts BETWEEN 1700000500000 AND 1700001500000 AND s = 'k1_05' ORDER BY id",
	 4, -1},
};

static void
test_answers_and_pruning(void **state)
{
	(void)state;
	for (size_t q = 0; q < sizeof(cases) / sizeof(cases[0]); q++) {
		const Case *c = &cases[q];
		for (int ign = 0; ign < 2; ign++) {
			ResultSet *ref = run(c->sql, -1, ign);
			/* the mutable snapshot prunes nothing but constant predicates */
			assert_int_equal(ref->stats.num_segments_pruned_invalid, 1);
			for (int v = 0; v < 2; v++) {
				ResultSet *rs = run(c->sql, v, ign);
				char what[64];
				snprintf(what, sizeof(what), "variant %d%s", v, ign ? ", NULLs ignored" : "");
				same_result(c->sql, ref, rs, what);
				const QueryStats *st = &rs->stats;
				assert_int_equal(st->num_segments_queried, NSEG + 2);
				assert_int_equal(st->num_consuming_segments_queried, 2);
				assert_int_equal(st->total_docs, NSEG * SEGROWS + SEGROWS / 2);
				assert_int_equal(st->num_segments_pruned_invalid, 1);
				assert_int_equal(st->num_segments_pruned_by_server,
						 st->num_segments_pruned_invalid + st->num_segments_pruned_by_limit +
							 st->num_segments_pruned_by_value);
				assert_int_equal(st->num_segments_processed,
						 st->num_segments_queried - st->num_segments_pruned_by_server);
				assert_true(st->num_segments_matched <= st->num_segments_processed);
				if (!ign && c->by_value >= 0 && st->num_segments_pruned_by_value != c->by_value)
					fail_msg("%s [%s]: %d segments pruned by value, want %d", c->sql, what,
						 st->num_segments_pruned_by_value, c->by_value);
				if (!ign && c->count >= 0 && rs->rows[0].u.i != c->count)
					fail_msg("%s [%s]: count %lld, want %lld", c->sql, what,
						 (long long)rs->rows[0].u.i, (long long)c->count);
				done(rs);
			}
			done(ref);
		}
	}
}

static void
test_stats(void **state)
{
	(void)state;
	/* one file kept (1,000 rows) + the live segment (500), one column */
	ResultSet *rs = run("SELECT count(*) FROM t WHERE id = 2500", 0, 0);
	assert_int_equal(rs->stats.num_segments_processed, 2);
	assert_int_equal(rs->stats.num_segments_matched, 1);
	assert_int_equal(rs->stats.num_docs_scanned, 1);
	assert_int_equal(rs->stats.num_entries_scanned_in_filter, 1500);
	done(rs);
	/* a time range: the first three files go by their time range */
	rs = run("SELECT id, s FROM t WHERE ts >= 1700003000000 AND ts < 1700003000010", 0, 0);
	assert_int_equal(rs->stats.num_segments_pruned_by_value, 4);
	assert_int_equal(rs->stats.num_segments_matched, 1);
	assert_int_equal(rs->stats.num_docs_scanned, 1);
	assert_int_equal(rs->stats.num_entries_scanned_post_filter, 2);
	done(rs);
	/* LIMIT without filter: the first file is enough */
	rs = run("SELECT id FROM t LIMIT 5", 0, 0);
	assert_int_equal(rs->nrows, 5);
	assert_int_equal(rs->stats.num_segments_pruned_by_limit, NSEG);
	assert_int_equal(rs->stats.num_segments_processed, 1);
	done(rs);
	rs = run("SELECT id FROM t LIMIT 5 OFFSET 1200", 0, 0);
	assert_int_equal(rs->nrows, 5);
	assert_int_equal(rs->stats.num_segments_pruned_by_limit, NSEG - 1);
	done(rs);
	/* ORDER BY or aggregation: nothing pruned by limit */
	rs = run("SELECT id FROM t ORDER BY id DESC LIMIT 5", 0, 0);
	assert_int_equal(rs->stats.num_segments_pruned_by_limit, 0);
	assert_int_equal(rs->rows[0].u.i, 5499);
	done(rs);
	/* everything pruned: aggregates still answer */
	rs = run("SELECT count(*), sum(id), max(s) FROM t WHERE s = 'nope' AND id > 10", 0, 0);
	assert_int_equal(rs->nrows, 1);
	assert_int_equal(rs->rows[0].u.i, 0);
	assert_true(rs->rows[1].null);
	assert_int_equal(rs->stats.num_segments_matched, 0);
	done(rs);
}

/* The indexes of variant 1, once the storage layer answers them. */
static void
test_index_use(void **state)
{
	(void)state;
	ResultSet *rs = run("SELECT count(*) FROM t WHERE s = 'k3_07'", 1, 0);
	assert_int_equal(rs->rows[0].u.i, 50);
	if (rs->stats.num_segments_index_used == 0) {
		print_message("indexes not answered by storage yet: plain scan used\n");
		done(rs);
		return;
	}
	/* file 3 through its inverted index, the live segment scanned */
	assert_int_equal(rs->stats.num_segments_index_used, 1);
	assert_true(rs->stats.num_entries_scanned_in_filter < SEGROWS + SEGROWS / 2);
	done(rs);
	rs = run("SELECT count(*) FROM t WHERE d >= 12.5 AND d < 13", 1, 0);
	assert_int_equal(rs->rows[0].u.i, 50);
	assert_int_equal(rs->stats.num_segments_index_used, 1);
	done(rs);
}

/* A table whose schema grew after the files were written (columns
 * inserted, order changed): files are read by column name, pruning looks
 * at the right column, and the new columns read as NULL. */
static void
test_schema_grown(void **state)
{
	(void)state;
	static const BindCol gc[6] = {{"xnew", TYPE_LONG, 0}, {"s", TYPE_STRING, 0}, {"i", TYPE_INT, 0},
				      {"id", TYPE_LONG, 0},  {"tagsnew", TYPE_STRING, 1}, {"d", TYPE_DOUBLE, 0}};
	const BindTable gt = {"t2", 6, gc};
	static const struct {
		const char *sql;
		int by_value;
		int64_t v0, v1;		/* first row's first two values (-1: NULL) */
	} qs[] = {
		{"SELECT count(*) FROM t2 WHERE id = 2500", 4, 1, -2},
		{"SELECT count(*) FROM t2 WHERE i = 150", 4, 10, -2},
		{"SELECT count(*) FROM t2 WHERE xnew IS NULL", 0, 5000, -2},
		{"SELECT count(*) FROM t2 WHERE xnew = 3 OR tagsnew = 'a' OR tagsnew IN ('b')", 0, 0, -2},
		{"SELECT count(*), count(xnew) FROM t2 WHERE s = 'k1_03'", 4, 50, 0},
		{"SELECT xnew, count(*) FROM t2 WHERE i < 5 GROUP BY xnew", 4, -1, 40},
		{"SELECT id, xnew, tagsnew FROM t2 WHERE id = 7", 4, 7, -1},
		{"SELECT count(*) FROM t2 WHERE s > 'k3' AND id < 3500", 4, 500, -2},
	};
	for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++)
		for (int v = 0; v < 2; v++) {
			Arena a;
			arena_init(&a, 4096);
			AstSelect *ast;
			Plan *p;
			Err e;
			err_clear(&e);
			if (pgparse_parse(qs[q].sql, &a, &ast, &e) != 0 || bind_select(ast, &gt, 0, &p, &e) != 0)
				fail_msg("%s: %s", qs[q].sql, e.msg);
			SnapSeg segs[NSEG];
			for (int k = 0; k < NSEG; k++)
				segs[k] = (SnapSeg){NULL, SEGROWS, 0, files[v][k]};
			TableSnap snap = {NULL, NSEG, segs, NSEG * SEGROWS, NULL};
			ExecLimits lim = {0, 0, 0, 0};
			ResultSet *rs = calloc(1, sizeof(ResultSet));
			arena_init(&rs->arena, 4096);
			if (exec_run(p, &snap, &lim, rs, &e) != 0)
				fail_msg("%s (variant %d): %s", qs[q].sql, v, e.msg);
			assert_true(rs->nrows >= 1);
			const Value *r0 = rs->rows;
			if (qs[q].v0 >= 0 ? (r0[0].null || r0[0].u.i != qs[q].v0) : !r0[0].null)
				fail_msg("%s (variant %d): first value differs", qs[q].sql, v);
			if (qs[q].v1 != -2 && (qs[q].v1 >= 0 ? (r0[1].null || r0[1].u.i != qs[q].v1) : !r0[1].null))
				fail_msg("%s (variant %d): second value differs", qs[q].sql, v);
			if (rs->stats.num_segments_pruned_by_value != qs[q].by_value)
				fail_msg("%s (variant %d): %d pruned, want %d", qs[q].sql, v,
					 rs->stats.num_segments_pruned_by_value, qs[q].by_value);
			done(rs);
			bind_free(p);
			arena_free(&a);
		}
}

/* Prints (never asserts) the time of a selective count over one 512k-row
 * file with and without an inverted / range index (values in runs, as
 * in time-ordered data, so the index lets whole batches be skipped). */
static void
test_index_speed(void **state)
{
	(void)state;
	enum { N = 512 * 1024 };
	ColDesc cd[2] = {{TYPE_STRING, 0, 0, value_null(TYPE_STRING)}, {TYPE_LONG, 0, 0, value_null(TYPE_LONG)}};
	MutSeg *ms = mutseg_create(2, cd);
	RowBatch b;
	rowbatch_init(&b, 2);
	Err e;
	err_clear(&e);
	char tmp[16];
	for (size_t r = 0; r < N; r++) {
		Value *row = rowbatch_add_row(&b);
		snprintf(tmp, sizeof(tmp), "v%04zu", r / 263);	/* runs of 263 rows */
		row[0] = mk_str(&b, tmp);
		row[1] = value_int(TYPE_LONG, (int64_t)r);
		if (b.nrows == 8192 || r + 1 == N) {
			assert_int_equal(mutseg_append(ms, &b, &e), 0);
			mutseg_publish(ms);
			rowbatch_reset(&b);
		}
	}
	rowbatch_free(&b);
	static const BindCol bc[2] = {{"s", TYPE_STRING, 0}, {"x", TYPE_LONG, 0}};
	const BindTable bt = {"u", 2, bc};
	SegFile *f[2];
	for (int v = 0; v < 2; v++) {
		SegColOpt o[2];
		memset(o, 0, sizeof(o));
		o[0] = (SegColOpt){.name = "s", .dict = 1, .codec = CODEC_LZ4, .inverted = v};
		o[1] = (SegColOpt){.name = "x", .dict = 0, .codec = CODEC_LZ4, .range = v};
		SegWriteSpec sp = {.seg = ms, .cols = o, .sort_col = -1, .time_col = -1};
		char p[512];
		snprintf(p, sizeof(p), "%s/speed%d", dir, v);
		if (segwrite_file(p, &sp, NULL, &e) != 0 || segfile_open(p, &f[v], &e) != 0)
			fail_msg("%s", e.msg);
	}
	static const char *const qs[] = {"SELECT count(*) FROM u WHERE s = 'v0042'",
					 "SELECT count(*) FROM u WHERE x BETWEEN 1000 AND 1499",
					 "SELECT count(*) FROM u WHERE s IN ('v0001', 'v0002') AND x < 100000"};
	for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
		double secs[2];
		int64_t cnt[2];
		uint64_t ent[2];
		for (int v = 0; v < 2; v++) {
			Arena a;
			arena_init(&a, 4096);
			AstSelect *ast;
			Plan *p;
			if (pgparse_parse(qs[q], &a, &ast, &e) != 0 || bind_select(ast, &bt, 0, &p, &e) != 0)
				fail_msg("%s: %s", qs[q], e.msg);
			SnapSeg ss = {NULL, N, 0, f[v]};
			TableSnap snap = {NULL, 1, &ss, N, NULL};
			ExecLimits lim = {0, 0, 0, 0};
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (int rep = 0; rep < REPS; rep++) {
				ResultSet *rs = calloc(1, sizeof(ResultSet));
				arena_init(&rs->arena, 4096);
				if (exec_run(p, &snap, &lim, rs, &e) != 0)
					fail_msg("%s: %s", qs[q], e.msg);
				cnt[v] = rs->rows[0].u.i;
				ent[v] = rs->stats.num_entries_scanned_in_filter;
				done(rs);
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			secs[v] = ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9) / REPS;
			bind_free(p);
			arena_free(&a);
		}
		assert_int_equal(cnt[0], cnt[1]);
		print_message("%-70s scan %.2f ms (%llu entries), index %.2f ms (%llu entries)\n", qs[q],
			      secs[0] * 1e3, (unsigned long long)ent[0], secs[1] * 1e3, (unsigned long long)ent[1]);
	}
	segfile_close(f[0]);
	segfile_close(f[1]);
	mutseg_free(ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers_and_pruning),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_index_use),
		cmocka_unit_test(test_schema_grown),
		cmocka_unit_test(test_index_speed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
