/*
 * test_scanfile.c -- the executor scans a segment file exactly as it
 * scans the mutable segment it was written from: a MutSeg with every
 * type, NULLs, multi-value columns and a 5,000-entry dictionary over
 * 200,000 rows (4 row blocks) is written twice (numbers raw with lz4 /
 * zstd; everything dictionary-encoded uncompressed) and the same SQL
 * (filters, GROUP BY, aggregates, ORDER BY LIMIT, selections; with and
 * without NULL handling) must give identical results over all three.  A
 * file with a damaged data block gives ERR_CORRUPT, never a crash.
 * Prints the scan speed of a file vs the MutSeg (never asserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/mem.h"
#include "query/bind.h"
#include "query/exec.h"
#include "query/pgparse.h"
#include "storage/codec.h"
#include "storage/segfile.h"
#include "storage/segwrite.h"

#define NC 14
static const BindCol cols[NC] = {
	{"i", TYPE_INT, 0},	 {"l", TYPE_LONG, 0},	 {"f", TYPE_FLOAT, 0},	  {"d", TYPE_DOUBLE, 0},
	{"b", TYPE_BOOLEAN, 0},	 {"ts", TYPE_TIMESTAMP, 0}, {"s", TYPE_STRING, 0},  {"j", TYPE_JSON, 0},
	{"smv", TYPE_STRING, 1}, {"lmv", TYPE_LONG, 1},	 {"dmv", TYPE_DOUBLE, 1}, {"g", TYPE_INT, 0},
	{"cat", TYPE_STRING, 0}, {"imv", TYPE_INT, 1},
};
static const BindTable tab = {"t", NC, cols};

static char dir[256];
static MutSeg *seg;
static size_t nrows;
static SegFile *fa, *fb;

static Value
mk_str(RowBatch *b, const char *s)
{
	size_t n = strlen(s);
	return value_str(TYPE_STRING, arena_strndup(&b->arena, s, n), (uint32_t)n);
}

static Value
mk_mv(RowBatch *b, WbType t, size_t n)
{
	Value v = value_null(t);
	v.null = 0;
	v.mv = 1;
	v.n = (uint32_t)n;
	v.u.mv = arena_alloc(&b->arena, sizeof(Value) * (n ? n : 1));
	return v;
}

static void
fill_row(RowBatch *b, Value *r, size_t i)
{
	char tmp[64];
	r[0] = value_int(TYPE_INT, (int64_t)(i * 31 % 1000) - 500);
	r[1] = value_int(TYPE_LONG, (int64_t)i * 1000003);
	r[2] = value_double(TYPE_FLOAT, (double)(float)((double)(i % 4000) * 0.25));
	r[3] = value_double(TYPE_DOUBLE, (double)(i % 10007) / 3.0);
	r[4] = value_int(TYPE_BOOLEAN, (i / 3) & 1);
	r[5] = value_int(TYPE_TIMESTAMP, 1700000000000LL + (int64_t)i * 1000);
	snprintf(tmp, sizeof(tmp), "v%05zu", (i * 7919) % 5000);
	r[6] = mk_str(b, i % 11 == 0 ? "" : tmp);
	snprintf(tmp, sizeof(tmp), "{\"k\":%zu}", i % 5);
	r[7] = mk_str(b, tmp);
	r[7].type = TYPE_JSON;
	size_t k = i % 4;
	r[8] = mk_mv(b, TYPE_STRING, k);
	for (size_t j = 0; j < k; j++) {
		snprintf(tmp, sizeof(tmp), "e%zu", (i + j * 7) % 50);
		((Value *)r[8].u.mv)[j] = mk_str(b, tmp);
	}
	r[9] = mk_mv(b, TYPE_LONG, i % 3);
	for (size_t j = 0; j < i % 3; j++)
		((Value *)r[9].u.mv)[j] = value_int(TYPE_LONG, (int64_t)(i * 3 + j) * (j == 1 ? -1 : 1));
	r[10] = mk_mv(b, TYPE_DOUBLE, 2);
	((Value *)r[10].u.mv)[0] = value_double(TYPE_DOUBLE, (double)i * 0.5);
	((Value *)r[10].u.mv)[1] = value_double(TYPE_DOUBLE, -(double)(i % 777));
	r[11] = value_int(TYPE_INT, (int64_t)(i % 5));
	snprintf(tmp, sizeof(tmp), "c%zu", i % 13);
	r[12] = mk_str(b, tmp);
	r[13] = mk_mv(b, TYPE_INT, 1 + i % 2);
	for (size_t j = 0; j < 1 + i % 2; j++)
		((Value *)r[13].u.mv)[j] = value_int(TYPE_INT, (int64_t)((i + j) % 9));
	if (i % 7 == 3)
		r[0].null = 1;
	if (i % 4 == 0)
		r[3].null = 1;
	if (i % 1000 == 999)
		r[5].null = 1;
	if (i % 50 == 1)
		r[6].null = 1;
	if (i % 9 == 2)
		r[8].null = 1;
	if (i % 21 == 5)
		r[9].null = 1;
	if (i % 33 == 7)
		r[13].null = 1;
	if (i % 17 == 4)
		r[12].null = 1;
}

static MutSeg *
make_seg(size_t n)
{
	ColDesc cd[NC];
	for (int c = 0; c < NC; c++)
		cd[c] = (ColDesc){cols[c].type, cols[c].mv};
	MutSeg *s = mutseg_create(NC, cd);
	RowBatch b;
	rowbatch_init(&b, NC);
	Err e;
	err_clear(&e);
	for (size_t i = 0; i < n; i++) {
		fill_row(&b, rowbatch_add_row(&b), i);
		if (b.nrows == 10000 || i + 1 == n) {
			assert_int_equal(mutseg_append(s, &b, &e), 0);
			mutseg_publish(s);
			rowbatch_reset(&b);
		}
	}
	rowbatch_free(&b);
	return s;
}

static const char *
tpath(const char *name)
{
	static char p[4][512];
	static int k;
	k = (k + 1) & 3;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* variant 0: numbers raw (lz4, zstd), strings lz4; 1: all dictionary,
 * uncompressed */
static SegFile *
write_file(const char *name, int variant)
{
	SegColOpt o[NC];
	memset(o, 0, sizeof(o));
	for (int c = 0; c < NC; c++) {
		o[c].name = cols[c].name;
		o[c].dict = variant == 1;
		o[c].codec = variant == 1 ? CODEC_NONE : (c % 3 == 2 ? CODEC_ZSTD : CODEC_LZ4);
	}
	SegWriteSpec sp = {.seg = seg, .cols = o, .sort_col = -1, .time_col = 5};
	Err e;
	err_clear(&e);
	const char *p = tpath(name);
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
	snprintf(dir, sizeof(dir), "/tmp/wb-scanfile-%d", (int)getpid());
	Err e = {0};
	file_remove_tree(dir, &e);
	if (file_mkdirs(dir, &e) != 0)
		return -1;
	const char *env = getenv("WB_SCANFILE_ROWS");
	nrows = env ? (size_t)atoll(env) : 200000;
	seg = make_seg(nrows);
	fa = write_file("a.seg", 0);
	fb = write_file("b.seg", 1);
	return 0;
}

static int
teardown(void **state)
{
	segfile_close(fa);
	segfile_close(fb);
	mutseg_free(seg);
	Err e = {0};
	file_remove_tree(dir, &e);
	return 0;
}

/* Runs sql; returns the exec code, *out the result (NULL on error). */
static int
run(const char *sql, const SnapSeg *ss, int ignore_nulls, ResultSet **out, Err *e, double *secs)
{
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q;
	err_clear(e);
	if (pgparse_parse(sql, &a, &q, e) != 0)
		fail_msg("parse %s: %s", sql, e->msg);
	Plan *p;
	if (bind_select(q, &tab, 0, &p, e) != 0)
		fail_msg("bind %s: %s", sql, e->msg);
	ResultSet *rs = calloc(1, sizeof(ResultSet));
	arena_init(&rs->arena, 4096);
	SnapSeg segs[1] = {*ss};
	TableSnap snap = {NULL, 1, segs, ss->rows};
	ExecLimits lim = {0, 0, 0, ignore_nulls};
	int64_t t0 = clock_mono_ns();
	int rc = exec_run(p, &snap, &lim, rs, e);
	if (secs)
		*secs = (double)(clock_mono_ns() - t0) / 1e9;
	bind_free(p);
	arena_free(&a);
	if (rc != 0) {
		arena_free(&rs->arena);
		free(rs);
		rs = NULL;
	}
	*out = rs;
	return rc;
}

static void
done(ResultSet *rs)
{
	if (rs) {
		arena_free(&rs->arena);
		free(rs);
	}
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

static const char *queries[] = {
	"SELECT count(*) FROM t WHERE s = 'v00042'",
	"SELECT count(*) FROM t WHERE s IN ('v00001', 'v04999', '', 'nope')",
	"SELECT count(*) FROM t WHERE s NOT IN ('v00001', 'v04999')",
	"SELECT count(*) FROM t WHERE s LIKE 'v001%'",
	"SELECT count(*) FROM t WHERE s NOT LIKE '%9'",
	"SELECT count(*) FROM t WHERE s > 'v04000' AND s <= 'v04500'",
	"SELECT count(*) FROM t WHERE s < 'v00100' OR cat = 'c3'",
	"SELECT count(*) FROM t WHERE s IS NULL",
	"SELECT count(*) FROM t WHERE s IS NOT NULL AND cat IS NULL",
	"SELECT count(*) FROM t WHERE s = ''",
	"SELECT count(*) FROM t WHERE s <> 'v00042'",
	"SELECT count(*) FROM t WHERE i BETWEEN -100 AND 100",
	"SELECT count(*) FROM t WHERE i IS NULL",
	"SELECT count(*) FROM t WHERE d > 1000.5 AND d IS NOT NULL",
	"SELECT count(*) FROM t WHERE d IS NULL",
	"SELECT count(*) FROM t WHERE f < 10 OR f >= 990",
	"SELECT count(*) FROM t WHERE b = 1",
	"SELECT count(*) FROM t WHERE ts >= 1700000100000 AND ts < 1700100000000",
	"SELECT count(*) FROM t WHERE ts IS NULL",
	"SELECT count(*) FROM t WHERE l IN (0, 1000003, 5000015)",
	"SELECT count(*) FROM t WHERE smv = 'e7'",
	"SELECT count(*) FROM t WHERE smv IN ('e1', 'e2', 'e49')",
	"SELECT count(*) FROM t WHERE smv LIKE 'e1%'",
	"SELECT count(*) FROM t WHERE smv IS NULL",
	"SELECT count(*) FROM t WHERE lmv > 300000",
	"SELECT count(*) FROM t WHERE lmv = -7",
	"SELECT count(*) FROM t WHERE dmv < -500",
	"SELECT count(*) FROM t WHERE imv IN (3, 4)",
	"SELECT count(*) FROM t WHERE j = '{\"k\":3}'",
	"SELECT count(*) FROM t WHERE upper(s) = 'V00042' OR length(cat) = 3",
	"SELECT count(*) FROM t WHERE 'v00042' = s OR s < cat",
	"SELECT count(*) FROM t WHERE CASE WHEN i > 0 THEN s ELSE cat END LIKE 'v00%'",
	"SELECT count(*), sum(l), min(ts), max(f), sum(i), avg(d), count(smv) FROM t WHERE cat <> 'c3'",
	"SELECT cat, count(*), sum(i), min(d), max(l), avg(f) FROM t GROUP BY cat ORDER BY cat",
	"SELECT s, count(*), sum(d) FROM t WHERE s LIKE 'v00%' GROUP BY s ORDER BY s LIMIT 50",
	"SELECT s, count(*) FROM t GROUP BY s ORDER BY count(*) DESC, s LIMIT 20",
	"SELECT g, b, count(*), sum(d), min(f) FROM t GROUP BY g, b ORDER BY g, b",
	"SELECT i, count(*) FROM t WHERE i < -480 GROUP BY i ORDER BY i",
	"SELECT d, count(*) FROM t WHERE d < 5 GROUP BY d ORDER BY d",
	"SELECT j, cat, count(*) FROM t GROUP BY j, cat ORDER BY j, cat LIMIT 30",
	"SELECT upper(s), count(*) FROM t GROUP BY upper(s) ORDER BY count(*) DESC, upper(s) LIMIT 10",
	"SELECT distinctcount(s), distinctcount(cat), distinctcount(i) FROM t",
	"SELECT l, s, smv, lmv, dmv, imv, ts, j, i, d, f, b FROM t WHERE i = 5 ORDER BY l LIMIT 100",
	"SELECT l, s FROM t ORDER BY s DESC, l LIMIT 20",
	"SELECT l, s, cat FROM t WHERE s LIKE 'v0000%' ORDER BY l",
	"SELECT * FROM t WHERE g = 3 ORDER BY l LIMIT 30",
	"SELECT l, smv, lmv FROM t WHERE smv = 'e3' OR lmv = 30 ORDER BY l DESC LIMIT 40",
	"SELECT s, l FROM t WHERE l > 199000000000 ORDER BY l",
	/* multi-value GROUP BY keys and multi-value aggregates */
	"SELECT smv, count(*), sum(l) FROM t GROUP BY smv ORDER BY smv",
	"SELECT imv, cat, count(*), summv(lmv) FROM t GROUP BY imv, cat ORDER BY imv, cat",
	"SELECT lmv, count(*) FROM t WHERE lmv < 300 GROUP BY lmv ORDER BY lmv LIMIT 50",
	"SELECT dmv, count(*), min(s) FROM t WHERE i < -480 GROUP BY dmv ORDER BY dmv LIMIT 40",
	"SELECT smv, lmv, count(*) FROM t WHERE g = 3 GROUP BY smv, lmv ORDER BY smv, lmv LIMIT 40",
	"SELECT smv, imv, cat, count(*) FROM t WHERE i < -400 GROUP BY smv, imv, cat ORDER BY 1, 2, 3",
	"SELECT countmv(smv), summv(lmv), minmv(dmv), maxmv(lmv), avgmv(imv), minmaxrangemv(dmv), "
	"distinctcountmv(smv), distinctcountmv(lmv), distinctcountmv(dmv), distinctcountmv(imv) FROM t",
	"SELECT cat, countmv(lmv), summv(dmv), distinctcountmv(smv), percentilemv(lmv, 50), "
	"percentileestmv(dmv, 90), percentiletdigestmv(imv, 25), distinctcounthllmv(smv) FROM t "
	"GROUP BY cat ORDER BY cat",
	"SELECT s, distinctcountmv(imv), summv(imv), maxmv(dmv) FROM t WHERE s LIKE 'v000%' "
	"GROUP BY s ORDER BY s",
	"SELECT smv, summv(lmv), distinctcountmv(smv), avg(d) FROM t GROUP BY smv ORDER BY smv",
};

static void
test_same_results(void **state)
{
	SnapSeg sm = {seg, nrows, 0, NULL}, sa = {NULL, nrows, 0, fa}, sb = {NULL, nrows, 0, fb};
	Err e;
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		for (int ign = 0; ign < 2; ign++) {
			ResultSet *rm, *ra, *rb;
			if (run(queries[q], &sm, ign, &rm, &e, NULL) != 0)
				fail_msg("%s on the MutSeg: %s", queries[q], e.msg);
			if (run(queries[q], &sa, ign, &ra, &e, NULL) != 0)
				fail_msg("%s on file a: %s", queries[q], e.msg);
			if (run(queries[q], &sb, ign, &rb, &e, NULL) != 0)
				fail_msg("%s on file b: %s", queries[q], e.msg);
			assert_true(rm->nrows > 0);
			if (!ign && strncmp(queries[q], "SELECT count(*) FROM t WHERE", 28) == 0) {
				/* every filter selects some rows, not all */
				int64_t cnt = rm->rows[0].u.i;
				if (cnt <= 0 || (size_t)cnt >= nrows)
					fail_msg("%s: count %lld", queries[q], (long long)cnt);
			}
			same_result(queries[q], rm, ra, ign ? "file a, nulls ignored" : "file a");
			same_result(queries[q], rm, rb, ign ? "file b, nulls ignored" : "file b");
			done(rm);
			done(ra);
			done(rb);
		}
	}
}

static uint64_t
rd64(const unsigned char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static void
test_corrupt(void **state)
{
	/* copy file a, then flip a byte in the middle of the second data
	 * block of column s */
	char *data;
	size_t len;
	Err e;
	err_clear(&e);
	assert_int_equal(file_read_all(segfile_path(fa), &data, &len, &e), 0);
	const unsigned char *u = (const unsigned char *)data;
	uint64_t foff = rd64(u + len - 32);
	const unsigned char *ft = u + foff;
	uint32_t nsrc, nblocks;
	memcpy(&nsrc, ft + 36, 4);
	const unsigned char *bt = ft + 56 + 24 * (size_t)nsrc;
	memcpy(&nblocks, bt, 4);
	bt += 8;
	int seen = 0, flipped = 0;
	for (uint32_t k = 0; k < nblocks && !flipped; k++) {
		const unsigned char *ent = bt + 32 * (size_t)k;
		uint16_t col;
		memcpy(&col, ent + 30, 2);
		if (ent[29] == SEGFILE_K_DATA && col == 6 && seen++ == 1) {
			uint64_t off = rd64(ent), sl = rd64(ent + 8);
			assert_true(off + sl <= foff);
			data[off + sl / 2] ^= 0x5a;
			flipped = 1;
		}
	}
	assert_true(flipped);
	const char *p = tpath("bad.seg");
	assert_int_equal(file_write_atomic(p, data, len, &e), 0);
	mem_free(data);
	SegFile *f;
	assert_int_equal(segfile_open(p, &f, &e), 0);
	SnapSeg ss = {NULL, nrows, 0, f};
	ResultSet *r;
	static const char *qs[] = {
		"SELECT count(*) FROM t WHERE s = 'v00042'",
		"SELECT s, count(*) FROM t GROUP BY s ORDER BY s LIMIT 5",
		"SELECT l, s FROM t ORDER BY s LIMIT 5",
	};
	for (int q = 0; q < 3; q++) {
		assert_int_equal(run(qs[q], &ss, 0, &r, &e, NULL), ERR_CORRUPT);
		assert_non_null(strstr(e.msg, "bad.seg"));
		assert_non_null(strstr(e.msg, "column s:"));
	}
	/* columns in healthy blocks still read */
	assert_int_equal(run("SELECT count(*) FROM t WHERE i > 0", &ss, 0, &r, &e, NULL), 0);
	done(r);
	segfile_close(f);
}

static void
test_speed(void **state)
{
	SnapSeg sm = {seg, nrows, 0, NULL}, sa = {NULL, nrows, 0, fa}, sb = {NULL, nrows, 0, fb};
	static const char *qs[] = {
		"SELECT count(*) FROM t WHERE l >= 10 AND i <> 3",
		"SELECT count(*) FROM t WHERE s LIKE 'v001%'",
		"SELECT cat, count(*), sum(i) FROM t GROUP BY cat ORDER BY cat",
		"SELECT g, count(*), sum(l) FROM t GROUP BY g ORDER BY g",
		"SELECT s, count(*) FROM t GROUP BY s ORDER BY s LIMIT 10",
		"SELECT smv, count(*), summv(lmv) FROM t GROUP BY smv ORDER BY smv",
	};
	const SnapSeg *ss[3] = {&sm, &sa, &sb};
	const char *nm[3] = {"mutseg", "file lz4/zstd raw", "file dict none"};
	Err e;
	for (int q = 0; q < (int)(sizeof(qs) / sizeof(qs[0])); q++)
		for (int k = 0; k < 3; k++) {
			double best = 1e9;
			for (int rep = 0; rep < 5; rep++) {
				ResultSet *r;
				double t;
				assert_int_equal(run(qs[q], ss[k], 0, &r, &e, &t), 0);
				done(r);
				if (t < best)
					best = t;
			}
			printf("%-60s %-18s %8.2f Mrows/s\n", qs[q], nm[k], (double)nrows / best / 1e6);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_results),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_speed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
