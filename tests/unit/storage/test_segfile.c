/*
 * test_segfile.c -- segment files: every type round-trips row for row
 * (nulls, multi-value, empty strings, extreme values) with every codec,
 * with and without dictionaries; 0 and 1 rows; millions of rows; sorted
 * dictionaries and lookups; the sort column; damaged files (bit flips,
 * truncations, garbage) always detected and never a crash; the
 * `waybill segment` command called directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"
#include "storage/codec.h"
#include "storage/mutseg.h"
#include "storage/segfile.h"
#include "storage/segwrite.h"

/* The CLI is not in wbcore: compile it into this test to call it. */
#include "cli/cmd_segment.c"

static char dir[256];

/* Path of a file in the test directory (a few rotating buffers). */
static const char *
tpath(const char *name)
{
	static char p[4][512];
	static int k;
	k = (k + 1) & 3;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/wb-segfile-%d", (int)getpid());
	Err e = {0};
	file_remove_tree(dir, &e);
	return file_mkdirs(dir, &e);
}

static int
teardown(void **state)
{
	Err e = {0};
	file_remove_tree(dir, &e);
	return 0;
}

/* ---- a MutSeg with every type ---- */

#define NCOLS 14
static const ColDesc all_cols[NCOLS] = {
	{TYPE_INT, 0},	  {TYPE_LONG, 0},   {TYPE_FLOAT, 0},  {TYPE_DOUBLE, 0}, {TYPE_BOOLEAN, 0},
	{TYPE_TIMESTAMP, 0}, {TYPE_STRING, 0}, {TYPE_JSON, 0},   {TYPE_BYTES, 0},  {TYPE_STRING, 1},
	{TYPE_LONG, 1},	  {TYPE_DOUBLE, 1}, {TYPE_INT, 0},    {TYPE_STRING, 0},
};
static const char *all_names[NCOLS] = {"i", "l", "f", "d", "b", "ts", "s", "j", "by",
				       "smv", "lmv", "dmv", "ilow", "sempty"};

static Value
mk_str(RowBatch *b, WbType t, const char *s)
{
	size_t n = strlen(s);
	return value_str(t, arena_strndup(&b->arena, s, n), (uint32_t)n);
}

static void
fill_row(RowBatch *b, Value *r, size_t i)
{
	static const int64_t ext[] = {INT64_MIN, INT64_MAX, 0, -1};
	static const int32_t ext32[] = {INT32_MIN, INT32_MAX, 0, -1};
	char tmp[64];
	r[0] = value_int(TYPE_INT, i % 97 == 0 ? ext32[i / 97 % 4] : (int64_t)(i * 31 % 1000) - 500);
	r[1] = value_int(TYPE_LONG, i % 89 == 0 ? ext[i / 89 % 4] : (int64_t)i * 1000003);
	r[2] = value_double(TYPE_FLOAT, i % 13 == 0 ? -0.0 : (double)(float)(i * 0.25));
	r[3] = value_double(TYPE_DOUBLE, i % 17 == 0 ? DBL_MAX : (i % 19 == 0 ? -DBL_MIN : i / 3.0));
	r[4] = value_int(TYPE_BOOLEAN, i & 1);
	r[5] = value_int(TYPE_TIMESTAMP, 1700000000000LL + (int64_t)i * 1000);
	snprintf(tmp, sizeof(tmp), "s%zu", (i * 7919) % 301);
	r[6] = mk_str(b, TYPE_STRING, i % 11 == 0 ? "" : tmp);
	snprintf(tmp, sizeof(tmp), "{\"k\":%zu}", i % 5);
	r[7] = mk_str(b, TYPE_JSON, tmp);
	char *by = arena_alloc(&b->arena, 4);
	by[0] = (char)(i & 0xff);
	by[1] = 0;
	by[2] = (char)0xff;
	by[3] = (char)(i % 3);
	r[8] = value_str(TYPE_BYTES, by, (uint32_t)(i % 4));
	size_t k = i % 4;
	Value *mv = arena_alloc(&b->arena, sizeof(Value) * 4);
	for (size_t j = 0; j < k; j++) {
		snprintf(tmp, sizeof(tmp), "e%zu", (i + j) % 50);
		mv[j] = mk_str(b, TYPE_STRING, j == 2 ? "" : tmp);
	}
	r[9] = value_str(TYPE_STRING, NULL, (uint32_t)k);
	r[9].mv = 1;
	r[9].u.mv = mv;
	Value *lv = arena_alloc(&b->arena, sizeof(Value) * 3);
	for (size_t j = 0; j < 3; j++)
		lv[j] = value_int(TYPE_LONG, (int64_t)(i * 3 + j) * (j == 1 ? -1 : 1));
	r[10] = value_str(TYPE_LONG, NULL, (uint32_t)(i % 3));
	r[10].mv = 1;
	r[10].u.mv = lv;
	Value *dv = arena_alloc(&b->arena, sizeof(Value) * 2);
	dv[0] = value_double(TYPE_DOUBLE, i * 0.5);
	dv[1] = value_double(TYPE_DOUBLE, -(double)i);
	r[11] = value_str(TYPE_DOUBLE, NULL, 2);
	r[11].mv = 1;
	r[11].u.mv = dv;
	r[12] = value_int(TYPE_INT, (int64_t)(i % 5));
	r[13] = mk_str(b, TYPE_STRING, "");
	/* nulls: different densities per column */
	if (i % 7 == 3)
		r[0].null = 1;
	if (i % 50 == 1)
		r[6].null = 1;
	if (i % 9 == 2)
		r[9].null = 1;
	if (i % 4 == 0)
		r[3].null = 1;
	if (i % 1000 == 999)
		r[5].null = 1;
}

static MutSeg *
make_seg(size_t nrows)
{
	MutSeg *s = mutseg_create(NCOLS, all_cols);
	RowBatch b;
	rowbatch_init(&b, NCOLS);
	Err e = {0};
	for (size_t i = 0; i < nrows; i++) {
		fill_row(&b, rowbatch_add_row(&b), i);
		if (b.nrows == 8192 || i + 1 == nrows) {
			assert_int_equal(mutseg_append(s, &b, &e), 0);
			mutseg_publish(s);
			rowbatch_reset(&b);
		}
	}
	rowbatch_free(&b);
	return s;
}

static uint64_t
write_seg(const char *path, MutSeg *s, int codec, int dict, int sort_col)
{
	SegColOpt opts[NCOLS];
	for (int c = 0; c < NCOLS; c++) {
		opts[c].name = all_names[c];
		opts[c].codec = (codec + 1 + c) % CODEC_COUNT;
		opts[c].dict = dict || c == 12;
	}
	if (codec >= 0)
		for (int c = 0; c < NCOLS; c++)
			opts[c].codec = codec;
	SegSource src[2] = {{3, 100, 200}, {4, -5, 7}};
	SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = sort_col, .time_col = 5,
			   .sources = src, .nsources = 2, .created_ms = 1700000000123LL};
	uint64_t bytes = 0;
	Err e = {0};
	int rc = segwrite_file(path, &sp, &bytes, &e);
	if (rc)
		fprintf(stderr, "write: %s\n", err_msg(&e));
	assert_int_equal(rc, 0);
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_false(file_exists(tmp));
	return bytes;
}

static void
fmt(const Value *v, Buf *b)
{
	buf_reset(b);
	buf_printf(b, "%d:", v->null);
	if (!v->null)
		value_format(v, b);
}

/* Every row of the file equals the MutSeg's row perm[r] (or r). */
static void
check_rows(SegFile *sf, MutSeg *s, const uint32_t *perm, size_t stride)
{
	Arena a;
	arena_init(&a, 0);
	Buf x, y;
	buf_init(&x);
	buf_init(&y);
	Err e = {0};
	size_t n = segfile_meta(sf)->nrows;
	for (int c = 0; c < NCOLS; c++) {
		SegCursor cur;
		segfile_cursor_init(&cur, sf, c);
		for (size_t r = 0; r < n; r += (r % 64 == 63) ? stride : 1) {
			Value v, w;
			int rc = segfile_value(&cur, r, &v, &a, &e);
			if (rc)
				fprintf(stderr, "%s\n", err_msg(&e));
			assert_int_equal(rc, 0);
			assert_int_equal(mutcol_value(mutseg_col(s, c), perm ? perm[r] : r, &w, &a), 0);
			fmt(&v, &x);
			fmt(&w, &y);
			if (strcmp(x.p, y.p) != 0)
				fprintf(stderr, "column %s row %zu: %s vs %s\n", all_names[c], r, x.p, y.p);
			assert_string_equal(x.p, y.p);
			if ((r & 1023) == 1023)
				arena_reset(&a);
		}
		segfile_cursor_free(&cur);
	}
	buf_free(&x);
	buf_free(&y);
	arena_free(&a);
}

static void
test_roundtrip_all_types(void **state)
{
	size_t nrows = 70000;	/* two row blocks, the second partial */
	MutSeg *s = make_seg(nrows);
	for (int codec = -1; codec < CODEC_COUNT; codec++) {
		for (int dict = 0; dict < 2; dict++) {
			const char *p = tpath("x");
			write_seg(p, s, codec, dict, -1);
			SegFile *sf;
			Err e = {0};
			assert_int_equal(segfile_open(p, &sf, &e), 0);
			const SegMeta *m = segfile_meta(sf);
			assert_int_equal(m->nrows, nrows);
			assert_int_equal(m->ncols, NCOLS);
			assert_int_equal(m->created_ms, 1700000000123LL);
			assert_int_equal(m->nsources, 2);
			assert_int_equal(m->sources[1].start, -5);
			assert_int_equal(m->time_col, 5);
			assert_true(m->has_time);
			assert_int_equal(m->tmin, 1700000000000LL);
			assert_int_equal(m->tmax, 1700000000000LL + (int64_t)(nrows - 2) * 1000);
			assert_int_equal(segfile_col_find(sf, "smv"), 9);
			assert_int_equal(segfile_col_find(sf, "nope"), -1);
			assert_int_equal(segfile_verify(sf, &e), 0);
			const SegColInfo *ci = segfile_col(sf, 0);
			assert_int_equal(ci->null_count, (nrows + 3) / 7);
			assert_int_equal(ci->has_dict, dict);
			assert_int_equal(ci->min.i, INT32_MIN);
			assert_int_equal(ci->max.i, INT32_MAX);
			assert_int_equal(segfile_col(sf, 12)->card, 5);
			assert_int_equal(segfile_col(sf, 12)->bits, 3);
			assert_int_equal(segfile_col(sf, 13)->card, 1);
			assert_int_equal(segfile_col(sf, 13)->bits, 0);
			check_rows(sf, s, NULL, codec == -1 ? 1 : 641);
			segfile_close(sf);
		}
	}
	mutseg_free(s);
}

static void
test_zero_and_one_row(void **state)
{
	for (size_t n = 0; n < 2; n++) {
		MutSeg *s = make_seg(n);
		const char *p = tpath("small");
		uint64_t bytes = write_seg(p, s, CODEC_ZSTD, 1, n ? 6 : -1);
		assert_true(bytes > 0);
		SegFile *sf;
		Err e = {0};
		assert_int_equal(segfile_open(p, &sf, &e), 0);
		assert_int_equal(segfile_meta(sf)->nrows, n);
		assert_int_equal(segfile_verify(sf, &e), 0);
		assert_int_equal(segfile_meta(sf)->has_time, (int)n);
		assert_int_equal(segfile_col(sf, 1)->has_minmax, (int)n);
		check_rows(sf, s, NULL, 1);
		segfile_close(sf);
		mutseg_free(s);
	}
}

static void
test_dictionary_sorted_and_lookups(void **state)
{
	MutSeg *s = make_seg(20000);
	const char *p = tpath("dict");
	write_seg(p, s, CODEC_LZ4, 1, -1);
	SegFile *sf;
	Err e = {0};
	assert_int_equal(segfile_open(p, &sf, &e), 0);
	SegDict d;
	assert_int_equal(segfile_dict(sf, 6, &d, &e), 0);
	assert_int_equal(d.card, 302);	/* 301 strings and "" */
	for (uint32_t id = 1; id < d.card; id++) {
		uint32_t la, lb;
		const char *a = segfile_dict_str(&d, id - 1, &la), *b = segfile_dict_str(&d, id, &lb);
		int c = memcmp(a, b, la < lb ? la : lb);
		assert_true(c < 0 || (c == 0 && la < lb));
	}
	Value v = value_str(TYPE_STRING, "s42", 3);
	uint32_t id = segfile_dict_find(&d, &v);
	assert_int_not_equal(id, SEGFILE_NONE);
	uint32_t len;
	assert_memory_equal(segfile_dict_str(&d, id, &len), "s42", 3);
	Value miss = value_str(TYPE_STRING, "s42x", 4);
	assert_int_equal(segfile_dict_find(&d, &miss), SEGFILE_NONE);
	assert_int_equal(segfile_dict_bound(&d, &miss, 0), id + 1);
	Value empty = value_str(TYPE_STRING, "", 0);
	assert_int_equal(segfile_dict_find(&d, &empty), 0);
	/* a numeric dictionary: range of ids for a value range */
	assert_int_equal(segfile_dict(sf, 0, &d, &e), 0);
	Value lo = value_int(TYPE_INT, -10), hi = value_int(TYPE_INT, 10);
	uint32_t a = segfile_dict_bound(&d, &lo, 0), b = segfile_dict_bound(&d, &hi, 1);
	for (uint32_t k = a; k < b; k++)
		assert_true(segfile_dict_i64(&d, k) >= -10 && segfile_dict_i64(&d, k) <= 10);
	assert_true(a == 0 || segfile_dict_i64(&d, a - 1) < -10);
	assert_true(b == d.card || segfile_dict_i64(&d, b) > 10);
	assert_int_equal(segfile_dict_i64(&d, 0), INT32_MIN);
	assert_int_equal(segfile_dict_i64(&d, d.card - 1), INT32_MAX);
	/* doubles: -0.0 and 0.0 are distinct entries in IEEE total order */
	assert_int_equal(segfile_dict(sf, 2, &d, &e), 0);
	Value nz = value_double(TYPE_FLOAT, -0.0), z = value_double(TYPE_FLOAT, 0.0);
	assert_int_equal(segfile_dict_find(&d, &nz), 0);	/* the smallest value */
	assert_true(signbit(segfile_dict_f64(&d, 0)));
	assert_int_equal(segfile_dict_find(&d, &z), SEGFILE_NONE);	/* never written */
	assert_int_equal(segfile_dict_bound(&d, &z, 0), 1);
	/* no dictionary on a raw column */
	segfile_close(sf);
	write_seg(p, s, CODEC_NONE, 0, -1);
	assert_int_equal(segfile_open(p, &sf, &e), 0);
	assert_int_equal(segfile_dict(sf, 1, &d, &e), ERR_INVALID);
	segfile_close(sf);
	mutseg_free(s);
}

typedef struct SortCheck {
	uint64_t sum;
} SortCheck;

static void
test_sort_column(void **state)
{
	size_t nrows = 150000;
	MutSeg *s = make_seg(nrows);
	for (int sc = 0; sc < 3; sc++) {
		int col = sc == 0 ? 6 : (sc == 1 ? 3 : 12);	/* string dict, raw double, int dict */
		const char *p = tpath("sorted");
		write_seg(p, s, CODEC_LZ4, sc == 2, col);
		SegFile *sf;
		Err e = {0};
		assert_int_equal(segfile_open(p, &sf, &e), 0);
		assert_int_equal(segfile_meta(sf)->sort_col, col);
		assert_int_equal(segfile_verify(sf, &e), 0);
		/* rebuild the permutation: the sort is stable, so rows of one key
		 * keep their order; check keys are ordered and rows match */
		Arena a;
		arena_init(&a, 0);
		SegCursor cur;
		segfile_cursor_init(&cur, sf, 1);	/* "l" = i * 1000003 (unique) */
		uint32_t *perm = mem_alloc(nrows * 4);
		for (size_t r = 0; r < nrows; r++) {
			Value v;
			assert_int_equal(segfile_value(&cur, r, &v, &a, &e), 0);
			/* find i from l: l = i * 1000003 except extremes at i % 89 == 0 */
			size_t i = 0;
			if (v.u.i % 1000003 == 0 && v.u.i >= 0)
				i = (size_t)(v.u.i / 1000003);
			perm[r] = (uint32_t)i;
		}
		segfile_cursor_free(&cur);
		/* rows with extreme l (i % 89 == 0) cannot be identified that way:
		 * compare the other rows, and check the key order on all */
		SegCursor kc;
		segfile_cursor_init(&kc, sf, col);
		Value prev = {0};
		Buf x, y;
		buf_init(&x);
		buf_init(&y);
		for (size_t r = 0; r < nrows; r++) {
			Value v;
			assert_int_equal(segfile_value(&kc, r, &v, &a, &e), 0);
			Value stored = v;
			stored.null = 0;
			if (r > 0) {
				if (col == 6) {
					uint32_t m = prev.n < stored.n ? prev.n : stored.n;
					int c = memcmp(prev.u.s, stored.u.s, m);
					assert_true(c < 0 || (c == 0 && prev.n <= stored.n));
				} else if (col == 3) {
					assert_true(prev.u.d <= stored.u.d || signbit(prev.u.d));
				} else {
					assert_true(prev.u.i <= stored.u.i);
				}
			}
			prev = stored;
			if (perm[r] % 89 != 0) {
				Value w;
				mutcol_value(mutseg_col(s, col), perm[r], &w, &a);
				fmt(&v, &x);
				fmt(&w, &y);
				assert_string_equal(x.p, y.p);
			}
			if ((r & 1023) == 0)
				arena_reset(&a);
		}
		buf_free(&x);
		buf_free(&y);
		segfile_cursor_free(&kc);
		mem_free(perm);
		arena_free(&a);
		segfile_close(sf);
	}
	mutseg_free(s);
}

/* ---- millions of rows: values equal row for row, and figures ---- */

/* What a query's scan does with a file: fresh cursors, 1,024-row batches
 * (EXPR_BATCH) through segfile_cursor_get and the null words.  Point
 * reads: the batch holding one random row, for 9 columns (all but the
 * first), as `SELECT 9 columns WHERE key = x` reads its rows; cold right
 * after open (blocks not yet checked), then warm (the same rows again).
 * Scans: every batch of a column in order, with a fresh cursor. */
static double
read_batches(SegFile *sf, const size_t *rows, size_t nr, int c0, int c1)
{
	Err e = {0};
	const SegMeta *m = segfile_meta(sf);
	int64_t t0 = clock_mono_ns();
	uint64_t sink = 0;
	for (size_t k = 0; k < nr; k++) {
		SegCursor cur[16];
		for (int c = c0; c < c1; c++) {
			segfile_cursor_init(&cur[c], sf, c);
			size_t b0 = rows[k] & ~(size_t)1023;
			size_t n = m->nrows - b0 < 1024 ? m->nrows - b0 : 1024;
			const void *ptr;
			assert_int_equal(segfile_cursor_get(&cur[c], b0, n, &ptr, &e), 0);
			sink += ((const unsigned char *)ptr)[(rows[k] - b0) * 4];
			if (segfile_col(sf, c)->null_count) {
				uint64_t w[16];
				int any;
				assert_int_equal(segfile_read_nulls(&cur[c], b0, n, w, &any, &e), 0);
			}
		}
		for (int c = c0; c < c1; c++)
			segfile_cursor_free(&cur[c]);
	}
	(void)sink;
	return (double)(clock_mono_ns() - t0);
}

/* Best of a few passes over column c in gets of `step` rows. */
static double
scan_col(SegFile *sf, int c, size_t step)
{
	Err e = {0};
	size_t nrows = segfile_meta(sf)->nrows;
	double best = 1e30;
	for (int pass = 0; pass < 5; pass++) {
		SegCursor cur;
		segfile_cursor_init(&cur, sf, c);
		int64_t t0 = clock_mono_ns();
		uint64_t sink = 0;
		for (size_t r = 0; r < nrows; r += step) {
			const void *ptr;
			size_t n = nrows - r < step ? nrows - r : step;
			assert_int_equal(segfile_cursor_get(&cur, r, n, &ptr, &e), 0);
			sink += *(const unsigned char *)ptr;
		}
		(void)sink;
		double t = (double)(clock_mono_ns() - t0);
		best = t < best ? t : best;
		segfile_cursor_free(&cur);
	}
	return best;
}

static void
point_reads(const char *path, SegFile *warm, size_t nrows)
{
	size_t np = nrows >= 1000000 ? 2000 : 200;
	size_t *rows = mem_alloc(np * sizeof(size_t));
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t k = 0; k < np; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rows[k] = (size_t)(x % nrows);
	}
	/* a block boundary and the last row are among them */
	rows[0] = nrows > SEGFILE_BLOCK_ROWS ? SEGFILE_BLOCK_ROWS - 1 : 0;
	rows[1] = nrows - 1;
	double cold = 1e30, hot = 1e30;
	for (int pass = 0; pass < 3; pass++) {
		SegFile *sf;
		Err e = {0};
		assert_int_equal(segfile_open(path, &sf, &e), 0);
		double t = read_batches(sf, rows, np, 1, 10);
		cold = t < cold ? t : cold;
		t = read_batches(sf, rows, np, 1, 10);
		hot = t < hot ? t : hot;
		segfile_close(sf);
	}
	double tb = 0, tw = 0, cb[10], cw[10];
	for (int c = 0; c < 10; c++) {
		cb[c] = scan_col(warm, c, 1024);
		cw[c] = scan_col(warm, c, SEGFILE_BLOCK_ROWS);
		tb += cb[c];
		tw += cw[c];
	}
	fprintf(stderr,
		"[segfile] %zu point reads (9 columns, the 1,024-row batch holding a random row): "
		"cold %.1f us, warm %.1f us per read; scan of all columns (best of 5): "
		"1,024-row gets %.1f ms (%.0f M values/s), whole-block gets %.1f ms (%.0f M values/s)\n",
		np, cold / (double)np / 1e3, hot / (double)np / 1e3, tb / 1e6,
		(double)nrows * 10 / (tb / 1e9) / 1e6, tw / 1e6, (double)nrows * 10 / (tw / 1e9) / 1e6);
	for (int c = 0; c < 10; c++)
		fprintf(stderr, "[segfile]   %-11s scan M rows/s: 1,024-row gets %.0f, whole blocks %.0f\n",
			segfile_col(warm, c)->name, (double)nrows / (cb[c] / 1e9) / 1e6,
			(double)nrows / (cw[c] / 1e9) / 1e6);
	mem_free(rows);
}

static void
test_millions(void **state)
{
	/* WB_SEGFILE_ROWS overrides the row count for measuring */
	size_t nrows = getenv("WB_SEGFILE_ROWS") ? (size_t)atol(getenv("WB_SEGFILE_ROWS")) : 3000000;
	ColDesc cols[10] = {{TYPE_LONG, 0},   {TYPE_STRING, 0}, {TYPE_STRING, 0}, {TYPE_STRING, 0},
			    {TYPE_INT, 0},    {TYPE_STRING, 0}, {TYPE_TIMESTAMP, 0}, {TYPE_INT, 0},
			    {TYPE_DOUBLE, 0}, {TYPE_INT, 0}};
	const char *names[10] = {"order_id", "market", "service", "event_type", "status",
				 "store_id", "event_time", "latency_ms", "amount", "attempt"};
	static const char *markets[] = {"US", "CA", "MX"};
	static const char *services[] = {"order", "payment", "inventory", "picking", "packing",
					 "dispatch", "driver", "delivery", "notify"};
	MutSeg *s = mutseg_create(10, cols);
	RowBatch b;
	rowbatch_init(&b, 10);
	Err e = {0};
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < nrows; i++) {
		Value *r = rowbatch_add_row(&b);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		char tmp[32];
		r[0] = value_int(TYPE_LONG, 5000000 + (int64_t)i / 6);
		r[1] = value_str(TYPE_STRING, markets[x % 3], 2);
		r[2] = mk_str(&b, TYPE_STRING, services[(x >> 8) % 9]);
		snprintf(tmp, sizeof(tmp), "evt_%d", (int)((x >> 16) % 20));
		r[3] = mk_str(&b, TYPE_STRING, tmp);
		r[4] = value_int(TYPE_INT, (int64_t)((x >> 24) % 6));
		snprintf(tmp, sizeof(tmp), "store-%04d", (int)((x >> 28) % 3000));
		r[5] = mk_str(&b, TYPE_STRING, tmp);
		r[6] = value_int(TYPE_TIMESTAMP, 1732500000000LL + (int64_t)i * 3);
		r[7] = value_int(TYPE_INT, (int64_t)((x >> 40) % 5000));
		r[8] = value_double(TYPE_DOUBLE, (double)((x >> 20) % 100000) / 100.0);
		r[9] = value_int(TYPE_INT, (int64_t)((x >> 50) % 4));
		if (b.nrows == 32768) {
			assert_int_equal(mutseg_append(s, &b, &e), 0);
			mutseg_publish(s);
			rowbatch_reset(&b);
		}
	}
	assert_int_equal(mutseg_append(s, &b, &e), 0);
	mutseg_publish(s);
	rowbatch_free(&b);
	/* dimensions with a dictionary, metrics raw */
	SegColOpt opts[10];
	memset(opts, 0, sizeof(opts));	/* no indexes */
	for (int c = 0; c < 10; c++) {
		opts[c].name = names[c];
		opts[c].dict = c == 4 || c == 9;
		/* WB_SEGFILE_CODEC=none|lz4|zstd picks the metrics' codec */
		int mc = CODEC_LZ4;
		if (getenv("WB_SEGFILE_CODEC"))
			assert_int_equal(codec_from_name(getenv("WB_SEGFILE_CODEC"), &mc), 0);
		/* WB_SEGFILE_DCODEC the dimensions' (as a table seals them: lz4) */
		int dc = CODEC_NONE;
		if (getenv("WB_SEGFILE_DCODEC"))
			assert_int_equal(codec_from_name(getenv("WB_SEGFILE_DCODEC"), &dc), 0);
		opts[c].codec = (c == 0 || c == 6 || c == 7 || c == 8) ? mc : dc;
	}
	SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = -1, .time_col = 6};
	/* WB_SEGFILE_VERSION=2 writes the previous layout; WB_SEGFILE_SUBROWS
	 * sets the rows per sub-block */
	if (getenv("WB_SEGFILE_VERSION"))
		sp.version = (uint32_t)atoi(getenv("WB_SEGFILE_VERSION"));
	if (getenv("WB_SEGFILE_SUBROWS"))
		sp.sub_rows = (uint32_t)atoi(getenv("WB_SEGFILE_SUBROWS"));
	const char *p = tpath("big");
	uint64_t bytes;
	int64_t t0 = clock_mono_ns();
	assert_int_equal(segwrite_file(p, &sp, &bytes, &e), 0);
	int64_t t1 = clock_mono_ns();
	SegFile *sf;
	assert_int_equal(segfile_open(p, &sf, &e), 0);
	int64_t t2 = clock_mono_ns();
	assert_int_equal(segfile_verify(sf, &e), 0);
	int64_t t3 = clock_mono_ns();
	/* full-column scans, compared with the MutSeg value for value */
	double scan_ns = 0, col_ns[10];
	uint32_t *ids = mem_alloc(SEGFILE_BLOCK_ROWS * 4);
	for (int c = 0; c < 10; c++) {
		const MutCol *mc = mutseg_col(s, c);
		SegCursor cur;
		segfile_cursor_init(&cur, sf, c);
		int64_t a0 = clock_mono_ns();
		uint64_t sink = 0;
		for (size_t r = 0; r < nrows; r += SEGFILE_BLOCK_ROWS) {
			size_t k = nrows - r < SEGFILE_BLOCK_ROWS ? nrows - r : SEGFILE_BLOCK_ROWS;
			const void *ptr;
			assert_int_equal(segfile_cursor_get(&cur, r, k, &ptr, &e), 0);
			sink += *(const uint32_t *)ptr;
		}
		col_ns[c] = (double)(clock_mono_ns() - a0);
		scan_ns += col_ns[c];
		(void)sink;
		SegDict d;
		const SegColInfo *ci = segfile_col(sf, c);
		if (ci->has_dict)
			assert_int_equal(segfile_dict(sf, c, &d, &e), 0);
		for (size_t r = 0; r < nrows; r += SEGFILE_BLOCK_ROWS) {
			size_t k = nrows - r < SEGFILE_BLOCK_ROWS ? nrows - r : SEGFILE_BLOCK_ROWS;
			const void *ptr;
			assert_int_equal(segfile_cursor_get(&cur, r, k, &ptr, &e), 0);
			const char *md = mutcol_data(mc, r);
			for (size_t i = 0; i < k; i++) {
				if (type_is_var(ci->type)) {
					uint32_t l1, l2;
					const char *s1 = segfile_dict_str(&d, ((const uint32_t *)ptr)[i], &l1);
					const char *s2 = mutcol_dict_get(mc, ((const uint32_t *)md)[i], &l2);
					assert_int_equal(l1, l2);
					assert_memory_equal(s1, s2, l1);
				} else if (ci->has_dict) {
					int32_t v;
					memcpy(&v, md + i * 4, 4);
					assert_int_equal(segfile_dict_i64(&d, ((const uint32_t *)ptr)[i]), v);
				} else {
					size_t w = type_width(ci->type);
					assert_memory_equal((const char *)ptr + i * w, md + i * w, w);
				}
			}
		}
		segfile_cursor_free(&cur);
	}
	mem_free(ids);
	point_reads(p, sf, nrows);
	fprintf(stderr,
		"[segfile] %zu rows x 10 columns: write %.2f s (%.2f M rows/s), file %llu bytes "
		"(%.2f B/row) vs MutSeg %zu bytes (%.2fx); open %.3f ms; verify %.0f ms; "
		"full scan of all columns %.1f ms (%.0f M values/s)\n",
		nrows, (double)(t1 - t0) / 1e9, (double)nrows / ((double)(t1 - t0) / 1e9) / 1e6,
		(unsigned long long)bytes, (double)bytes / (double)nrows, mutseg_bytes(s),
		(double)bytes / (double)mutseg_bytes(s), (double)(t2 - t1) / 1e6,
		(double)(t3 - t2) / 1e6, scan_ns / 1e6, (double)nrows * 10 / (scan_ns / 1e9) / 1e6);
	for (int c = 0; c < 10; c++) {
		const SegColInfo *ci = segfile_col(sf, c);
		fprintf(stderr, "[segfile]   %-11s %s %-4s card=%-5u stored=%-9llu raw=%-9llu scan %.0f M rows/s\n",
			ci->name, ci->has_dict ? "dict" : "raw ", codec_name(ci->codec), ci->card,
			(unsigned long long)ci->stored_bytes, (unsigned long long)ci->raw_bytes,
			(double)nrows / (col_ns[c] / 1e9) / 1e6);
	}
	segfile_close(sf);
	mutseg_free(s);
}

/* ---- damage ---- */

static unsigned char *
slurp(const char *p, size_t *n)
{
	char *d;
	Err e = {0};
	assert_int_equal(file_read_all(p, &d, n, &e), 0);
	return (unsigned char *)d;
}

static void
spit(const char *p, const void *d, size_t n)
{
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

/* Opens, reads every value and verifies; returns 0 if all passed, else
 * the first error code (which must be ERR_CORRUPT, with a message that
 * names the file). */
static int
try_damaged(const char *p)
{
	SegFile *sf;
	Err e = {0};
	int rc = segfile_open(p, &sf, &e);
	if (rc == 0) {
		Arena a;
		arena_init(&a, 0);
		const SegMeta *m = segfile_meta(sf);
		for (int c = 0; c < m->ncols && rc == 0; c++) {
			SegCursor cur;
			segfile_cursor_init(&cur, sf, c);
			for (size_t r = 0; r < m->nrows && rc == 0; r += 97) {
				Value v;
				Err e2 = {0};
				rc = segfile_value(&cur, r, &v, &a, &e2);
				if (rc) {
					assert_int_equal(rc, ERR_CORRUPT);
					assert_non_null(strstr(e2.msg, p));
					assert_non_null(strstr(e2.msg, "column"));
				}
			}
			segfile_cursor_free(&cur);
			arena_reset(&a);
		}
		arena_free(&a);
		err_clear(&e);
		int vr = segfile_verify(sf, &e);
		if (rc == 0)
			rc = vr;
		else
			assert_int_equal(vr, ERR_CORRUPT);	/* what a read saw, verify sees */
		segfile_close(sf);
	}
	if (rc) {
		if (rc != ERR_CORRUPT)
			fprintf(stderr, "unexpected %d: %s\n", rc, err_msg(&e));
		assert_int_equal(rc, ERR_CORRUPT);
	}
	return rc;
}

static void
test_corruption_fuzz(void **state)
{
	MutSeg *s = make_seg(1500);
	const char *good = tpath("good");
	write_seg(good, s, -1, 0, -1);	/* codecs vary per column */
	size_t n;
	unsigned char *orig = slurp(good, &n);
	unsigned char *buf = mem_alloc(n + 64);
	const char *bad = tpath("bad");
	srand(12345);
	int flips = 0, truncs = 0;
	/* a byte changed anywhere is detected, at open or by verify */
	size_t fstep = n / 2000 + 1, tstep = n / 500 + 1;
	for (size_t pos = 0; pos < n; pos += 1 + (size_t)rand() % fstep) {
		memcpy(buf, orig, n);
		buf[pos] ^= (unsigned char)(1u << (rand() % 8));
		spit(bad, buf, n);
		if (try_damaged(bad) == 0)
			fail_msg("flip at byte %zu of %zu not detected", pos, n);
		flips++;
	}
	/* and every byte of the footer and trailer */
	uint64_t foff;
	memcpy(&foff, orig + n - 32, 8);
	for (size_t pos = foff; pos < n; pos++) {
		memcpy(buf, orig, n);
		buf[pos] ^= (unsigned char)(1u << (rand() % 8));
		spit(bad, buf, n);
		assert_int_equal(try_damaged(bad), ERR_CORRUPT);
		flips++;
	}
	/* every truncation */
	for (size_t len = 0; len < n; len += 1 + (size_t)rand() % tstep) {
		spit(bad, orig, len);
		assert_int_equal(try_damaged(bad), ERR_CORRUPT);
		truncs++;
	}
	/* random garbage, and garbage with valid magic numbers */
	for (int k = 0; k < 200; k++) {
		size_t len = (size_t)rand() % 4096;
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand();
		if (k & 1 && len >= 48) {
			memcpy(buf, orig, 16);
			memcpy(buf + len - 32, orig + n - 32, 32);
		}
		spit(bad, buf, len);
		assert_int_equal(try_damaged(bad), ERR_CORRUPT);
	}
	/* several random bytes at once */
	for (int k = 0; k < 300; k++) {
		memcpy(buf, orig, n);
		for (int j = 0; j < 1 + rand() % 8; j++)
			buf[(size_t)rand() % n] = (unsigned char)rand();
		if (memcmp(buf, orig, n) == 0)
			continue;
		spit(bad, buf, n);
		assert_int_equal(try_damaged(bad), ERR_CORRUPT);
	}
	fprintf(stderr, "[segfile] %d flips, %d truncations, 500 garbage files: all detected\n",
		flips, truncs);
	/* a missing file is not corruption */
	SegFile *sf;
	Err e = {0};
	assert_int_equal(segfile_open(tpath("missing"), &sf, &e), ERR_NOT_FOUND);
	mem_free(buf);
	mem_free(orig);
	mutseg_free(s);
}

/* A block whose checksum matches but whose ids exceed the dictionary is
 * refused too: forge one by rewriting a packed id block and its crc. */
static void
forge(unsigned char *d, size_t n, int kind, int col, unsigned char fill)
{
	uint64_t foff;
	memcpy(&foff, d + n - 32, 8);
	unsigned char *f = d + foff;
	uint32_t nsrc, nblocks;
	memcpy(&nsrc, f + 36, 4);
	size_t bt = 56 + (size_t)nsrc * 24;
	memcpy(&nblocks, f + bt, 4);
	for (uint32_t b = 0; b < nblocks; b++) {
		unsigned char *ent = f + bt + 8 + (size_t)b * 32;
		uint64_t off, stored;
		uint16_t c;
		memcpy(&off, ent, 8);
		memcpy(&stored, ent + 8, 8);
		memcpy(&c, ent + 30, 2);
		if (ent[29] != kind || c != col)
			continue;
		assert_int_equal(ent[28], CODEC_NONE);
		if (kind == SEGFILE_K_DATA) {
			/* framed (format 3): fill the frames, fix their checksums */
			uint32_t nsub, prev = 0;
			memcpy(&nsub, d + off, 4);
			unsigned char *fr = d + off + 8 + 8 * (size_t)nsub;
			memset(fr, fill, stored - 8 - 8 * (size_t)nsub);
			for (uint32_t i = 0; i < nsub; i++) {
				uint32_t end, crc;
				memcpy(&end, d + off + 8 + 8 * (size_t)i, 4);
				crc = hash_crc(fr + prev, end - prev);
				memcpy(d + off + 12 + 8 * (size_t)i, &crc, 4);
				prev = end;
			}
		} else {
			memset(d + off, fill, stored);
		}
		uint32_t crc = hash_crc(d + off, stored);
		memcpy(ent + 24, &crc, 4);
		break;
	}
	uint32_t fcrc = hash_crc(f, n - 32 - foff);
	memcpy(d + n - 16, &fcrc, 4);
}

static void
test_forged_block(void **state)
{
	MutSeg *s = make_seg(5000);
	const char *p = tpath("forged");
	write_seg(p, s, CODEC_NONE, 1, -1);
	size_t n;
	unsigned char *orig = slurp(p, &n), *d = mem_alloc(n);
	struct {
		int kind, col;
		unsigned char fill;
		const char *why;
	} cases[] = {
		{SEGFILE_K_DATA, 12, 0xff, "dictionary id out of range"},	/* card 5, 3 bits */
		{SEGFILE_K_MV_ENDS, 9, 0x11, "element ends"},
		{SEGFILE_K_DICT_OFFS, 6, 0x00, "offsets"},
		{SEGFILE_K_DICT_BYTES, 6, 'a', "not sorted"},
		{SEGFILE_K_DICT_NUMS, 1, 0x00, "not sorted"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memcpy(d, orig, n);
		forge(d, n, cases[k].kind, cases[k].col, cases[k].fill);
		spit(p, d, n);
		SegFile *sf;
		Err e = {0};
		assert_int_equal(segfile_open(p, &sf, &e), 0);	/* checksums all match */
		assert_int_equal(segfile_verify(sf, &e), ERR_CORRUPT);
		if (strstr(e.msg, cases[k].why) == NULL)
			fail_msg("case %zu: %s", k, e.msg);
		segfile_close(sf);
		assert_int_equal(try_damaged(p), ERR_CORRUPT);
	}
	mem_free(d);
	mem_free(orig);
	mutseg_free(s);
}

/* Allocation failure at every point of a write and an open: ERR_NOMEM,
 * no temporary file left, nothing leaked (ASan checks leaks). */
static void
test_alloc_failure(void **state)
{
	MutSeg *s = make_seg(3000);
	const char *p = tpath("oom");
	SegColOpt opts[NCOLS];
	for (int c = 0; c < NCOLS; c++) {
		opts[c].name = all_names[c];
		opts[c].codec = c % CODEC_COUNT;
		opts[c].dict = c < 3;
	}
	SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = 6, .time_col = 5};
	int done = 0;
	for (long k = 1; k < 400 && !done; k++) {
		Err e = {0};
		mem_fail_nth(k);
		int rc = segwrite_file(p, &sp, NULL, &e);
		mem_fail_nth(0);
		if (rc == 0) {
			done = 1;
			break;
		}
		assert_int_equal(rc, ERR_NOMEM);
		char tmp[600];
		snprintf(tmp, sizeof(tmp), "%s.tmp", p);
		assert_false(file_exists(tmp));
	}
	assert_true(done);
	done = 0;
	for (long k = 1; k < 100 && !done; k++) {
		SegFile *sf;
		Err e = {0};
		mem_fail_nth(k);
		int rc = segfile_open(p, &sf, &e);
		mem_fail_nth(0);
		if (rc == 0) {
			segfile_close(sf);
			done = 1;
		} else {
			assert_int_equal(rc, ERR_NOMEM);
		}
	}
	assert_true(done);
	/* bad specs are refused before anything is written */
	Err e = {0};
	sp.sort_col = 9;	/* multi-value */
	assert_int_equal(segwrite_file(p, &sp, NULL, &e), ERR_INVALID);
	sp.sort_col = -2;
	assert_int_equal(segwrite_file(p, &sp, NULL, &e), ERR_INVALID);
	sp.sort_col = -1;
	sp.time_col = 6;	/* a string */
	assert_int_equal(segwrite_file(p, &sp, NULL, &e), ERR_INVALID);
	mutseg_free(s);
}

/* ---- format 3: sub-blocks; format 2 still read ---- */

/* Row r of every column through a fresh cursor (so only the sub-block
 * holding r is decoded) equals the MutSeg's. */
static void
check_point(SegFile *sf, MutSeg *s, size_t r)
{
	Arena a;
	arena_init(&a, 0);
	Buf x, y;
	buf_init(&x);
	buf_init(&y);
	Err e = {0};
	for (int c = 0; c < NCOLS; c++) {
		SegCursor cur;
		segfile_cursor_init(&cur, sf, c);
		Value v, w;
		int rc = segfile_value(&cur, r, &v, &a, &e);
		if (rc)
			fail_msg("column %s row %zu: %s", all_names[c], r, err_msg(&e));
		assert_int_equal(mutcol_value(mutseg_col(s, c), r, &w, &a), 0);
		fmt(&v, &x);
		fmt(&w, &y);
		if (strcmp(x.p, y.p) != 0)
			fail_msg("column %s row %zu: %s vs %s", all_names[c], r, x.p, y.p);
		segfile_cursor_free(&cur);
	}
	buf_free(&x);
	buf_free(&y);
	arena_free(&a);
}

/* Point reads and ranges across sub-block and row-block boundaries, for
 * every codec, with and without dictionaries, several sub-block sizes,
 * and the format 2 layout. */
static void
test_subblock_boundaries(void **state)
{
	size_t nrows = 70000;	/* two row blocks, the second partial */
	MutSeg *s = make_seg(nrows);
	static const size_t rows[] = {0, 1, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 16383, 16384,
				      65535, 65536, 65537, 67583, 67584, 69999};
	static const uint32_t subs[] = {0, 1024, 65536, 2};	/* 2: format 2 */
	for (int codec = 0; codec < CODEC_COUNT; codec++)
		for (int dict = 0; dict < 2; dict++)
			for (size_t k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
				SegColOpt opts[NCOLS];
				memset(opts, 0, sizeof(opts));
				for (int c = 0; c < NCOLS; c++) {
					opts[c].name = all_names[c];
					opts[c].codec = codec;
					opts[c].dict = dict || c == 12;
				}
				SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = -1, .time_col = 5,
						   .version = subs[k] == 2 ? 2 : 0,
						   .sub_rows = subs[k] == 2 ? 0 : subs[k]};
				const char *p = tpath("sub");
				Err e = {0};
				assert_int_equal(segwrite_file(p, &sp, NULL, &e), 0);
				SegFile *sf;
				assert_int_equal(segfile_open(p, &sf, &e), 0);
				assert_int_equal(segfile_meta(sf)->version, subs[k] == 2 ? 2 : SEGFILE_VERSION);
				for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
					check_point(sf, s, rows[i]);
				/* ranges crossing sub-blocks, fresh cursors, against
				 * one cursor reading everything */
				for (int c = 0; c < NCOLS; c++) {
					const SegColInfo *ci = segfile_col(sf, c);
					if (ci->mv)
						continue;
					size_t w = ci->has_dict ? 4 : type_width(ci->type);
					unsigned char *all = mem_alloc(nrows * w), *part = mem_alloc(3000 * w);
					SegCursor cur;
					segfile_cursor_init(&cur, sf, c);
					assert_int_equal(segfile_read(&cur, 0, nrows, all, &e), 0);
					segfile_cursor_free(&cur);
					static const size_t r0s[] = {1000, 2040, 63000, 65000, 67000};
					for (size_t j = 0; j < sizeof(r0s) / sizeof(r0s[0]); j++) {
						size_t r0 = r0s[j], n = 3000 < nrows - r0 ? 3000 : nrows - r0;
						segfile_cursor_init(&cur, sf, c);
						assert_int_equal(segfile_read(&cur, r0, n, part, &e), 0);
						assert_memory_equal(part, all + r0 * w, n * w);
						segfile_cursor_free(&cur);
					}
					mem_free(all);
					mem_free(part);
				}
				assert_int_equal(segfile_verify(sf, &e), 0);
				check_rows(sf, s, NULL, 997);
				segfile_close(sf);
			}
	/* bad versions and sub-block sizes are refused */
	SegColOpt opts[NCOLS];
	memset(opts, 0, sizeof(opts));
	for (int c = 0; c < NCOLS; c++)
		opts[c].name = all_names[c];
	SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = -1, .time_col = -1, .sub_rows = 3000};
	Err e = {0};
	assert_int_equal(segwrite_file(tpath("sub"), &sp, NULL, &e), ERR_INVALID);
	sp.sub_rows = 512;
	assert_int_equal(segwrite_file(tpath("sub"), &sp, NULL, &e), ERR_INVALID);
	sp.sub_rows = 0;
	sp.version = 1;
	assert_int_equal(segwrite_file(tpath("sub"), &sp, NULL, &e), ERR_INVALID);
	mutseg_free(s);
}

/* A file written by the format 2 writer (before sub-blocks; kept as a
 * fixture: make_seg(1500), write_seg(p, s, -1, 0, -1)) reads row for row. */
static void
test_old_format_fixture(void **state)
{
	char p[1024];
	const char *src = getenv("WB_SRC");
	snprintf(p, sizeof(p), "%s/tests/unit/storage/fixtures/segfile-v2.seg", src ? src : ".");
	SegFile *sf;
	Err e = {0};
	if (segfile_open(p, &sf, &e) != 0)
		fail_msg("%s", err_msg(&e));
	assert_int_equal(segfile_meta(sf)->version, 2);
	assert_int_equal(segfile_meta(sf)->nrows, 1500);
	assert_int_equal(segfile_verify(sf, &e), 0);
	MutSeg *s = make_seg(1500);
	check_rows(sf, s, NULL, 1);
	for (size_t r = 0; r < 1500; r += 499)
		check_point(sf, s, r);
	segfile_close(sf);
	/* damaged, it is refused like any file */
	size_t n;
	unsigned char *d = slurp(p, &n);
	for (size_t pos = 16; pos < n; pos += n / 50) {
		unsigned char *x = mem_alloc(n);
		memcpy(x, d, n);
		x[pos] ^= 0x21;
		spit(tpath("v2bad"), x, n);
		assert_int_equal(try_damaged(tpath("v2bad")), ERR_CORRUPT);
		mem_free(x);
	}
	mem_free(d);
	mutseg_free(s);
}

/* The block table entry of the nth block of a kind and column. */
static unsigned char *
find_block(unsigned char *d, size_t n, int kind, int col, int nth)
{
	uint64_t foff;
	memcpy(&foff, d + n - 32, 8);
	unsigned char *f = d + foff;
	uint32_t nsrc, nblocks;
	memcpy(&nsrc, f + 36, 4);
	size_t bt = 56 + (size_t)nsrc * 24;
	memcpy(&nblocks, f + bt, 4);
	for (uint32_t b = 0; b < nblocks; b++) {
		unsigned char *ent = f + bt + 8 + (size_t)b * 32;
		uint16_t c;
		memcpy(&c, ent + 30, 2);
		if (ent[29] == kind && c == col && nth-- == 0)
			return ent;
	}
	fail_msg("no block of kind %d column %d", kind, col);
	return NULL;
}

/* Makes the block's and the footer's checksums match again. */
static void
fix_crcs(unsigned char *d, size_t n, unsigned char *ent)
{
	uint64_t off, stored, foff;
	memcpy(&off, ent, 8);
	memcpy(&stored, ent + 8, 8);
	uint32_t crc = hash_crc(d + off, stored);
	memcpy(ent + 24, &crc, 4);
	memcpy(&foff, d + n - 32, 8);
	uint32_t fcrc = hash_crc(d + foff, n - 32 - foff);
	memcpy(d + n - 16, &fcrc, 4);
}

/* A damaged sub-block table or frame, even with every block checksum made
 * to match: reading a row there is ERR_CORRUPT naming file, column,
 * block and sub-block; never a crash; verify sees it too. */
static void
test_subblock_corruption(void **state)
{
	MutSeg *s = make_seg(70000);
	const char *good = tpath("fr-good"), *bad = tpath("fr-bad");
	for (int codec = 0; codec < CODEC_COUNT; codec++) {
		SegColOpt opts[NCOLS];
		memset(opts, 0, sizeof(opts));
		for (int c = 0; c < NCOLS; c++) {
			opts[c].name = all_names[c];
			opts[c].codec = codec;
			opts[c].dict = c == 12;
		}
		SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = -1, .time_col = 5,
				   .sub_rows = 1024};
		Err e = {0};
		assert_int_equal(segwrite_file(good, &sp, NULL, &e), 0);
		size_t n;
		unsigned char *orig = slurp(good, &n), *d = mem_alloc(n);
		/* column l (LONG raw) and ilow (3-bit ids), first row block */
		static const int cols[] = {1, 12};
		for (size_t ci = 0; ci < 2; ci++) {
			int col = cols[ci];
			memcpy(d, orig, n);
			unsigned char *ent = find_block(d, n, SEGFILE_K_DATA, col, 0);
			uint64_t off, stored;
			memcpy(&off, ent, 8);
			memcpy(&stored, ent + 8, 8);
			uint32_t nsub;
			memcpy(&nsub, d + off, 4);
			assert_int_equal(nsub, 64);
			/* every byte of the table, and bytes of the frames */
			size_t hdr = 8 + 8 * (size_t)nsub;
			for (size_t pos = 0; pos < stored; pos += pos < hdr ? 1 : 1 + stored / 97) {
				memcpy(d, orig, n);
				ent = find_block(d, n, SEGFILE_K_DATA, col, 0);
				unsigned char old = d[off + pos];
				d[off + pos] ^= (unsigned char)(1u << (pos % 8));
				if (pos >= hdr && col == 12 && codec == CODEC_NONE)
					d[off + pos] = old;	/* ids: a frame flip may stay in range */
				if (d[off + pos] == old)
					continue;
				fix_crcs(d, n, ent);
				spit(bad, d, n);
				SegFile *sf;
				assert_int_equal(segfile_open(bad, &sf, &e), 0);
				/* the sub-block holding the damage (the table: all) */
				int rc = 0;
				Err e2 = {0};
				for (size_t r = 0; r < SEGFILE_BLOCK_ROWS && rc == 0; r += 1024) {
					SegCursor cur;
					segfile_cursor_init(&cur, sf, col);
					const void *ptr;
					rc = segfile_cursor_get(&cur, r, 1024, &ptr, &e2);
					segfile_cursor_free(&cur);
				}
				if (rc != ERR_CORRUPT)
					fail_msg("codec %d column %d: byte %zu of %llu: not detected", codec,
						 col, pos, (unsigned long long)stored);
				assert_non_null(strstr(e2.msg, bad));
				assert_non_null(strstr(e2.msg, all_names[col]));
				assert_non_null(strstr(e2.msg, "block"));
				if (strstr(e2.msg, "sub-block") == NULL)
					fail_msg("%s", e2.msg);
				err_clear(&e);
				assert_int_equal(segfile_verify(sf, &e), ERR_CORRUPT);
				segfile_close(sf);
			}
		}
		mem_free(d);
		mem_free(orig);
	}
	mutseg_free(s);
}

/* ---- the CLI ---- */

static char *
run_cli(int argc, char **argv, int *status)
{
	FILE *out = tmpfile(), *err = tmpfile();
	*status = segment_run(argc, argv, out, err);
	static char text[65536];
	size_t n = 0;
	rewind(out);
	n += fread(text, 1, sizeof(text) / 2, out);
	rewind(err);
	n += fread(text + n, 1, sizeof(text) / 2 - 1, err);
	text[n] = '\0';
	fclose(out);
	fclose(err);
	return text;
}

static void
test_cli(void **state)
{
	MutSeg *s = make_seg(1000);
	char p[512];
	snprintf(p, sizeof(p), "%s", tpath("cli"));
	write_seg(p, s, CODEC_ZSTD, 1, -1);
	int st;
	char *argv_i[] = {"inspect", p};
	char *t = run_cli(2, argv_i, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(t, "rows:        1000"));
	assert_non_null(strstr(t, "time column: ts [1700000000000, 1700000000998000]") ||
			strstr(t, "time column: ts ["));
	assert_non_null(strstr(t, "2023-11-14T22:13:20.123Z"));
	assert_non_null(strstr(t, "smv"));
	assert_non_null(strstr(t, "dict card="));
	assert_non_null(strstr(t, "zstd"));
	assert_non_null(strstr(t, "id 3: [100, 200)"));
	char *argv_v[] = {"verify", p};
	t = run_cli(2, argv_v, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(t, "ok:"));
	/* damage one byte in the middle: verify says where, exit 1 */
	size_t n;
	unsigned char *d = slurp(p, &n);
	d[n / 3] ^= 0x10;
	spit(p, d, n);
	t = run_cli(2, argv_v, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(t, "column"));
	assert_non_null(strstr(t, "block"));
	/* truncated: open fails, exit 1 */
	spit(p, d, n - 5);
	t = run_cli(2, argv_i, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(t, p));
	char *argv_bad[] = {"frobnicate", p};
	run_cli(2, argv_bad, &st);
	assert_int_equal(st, 2);
	mem_free(d);
	mutseg_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_zero_and_one_row),
		cmocka_unit_test(test_dictionary_sorted_and_lookups),
		cmocka_unit_test(test_sort_column),
		cmocka_unit_test(test_corruption_fuzz),
		cmocka_unit_test(test_forged_block),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_subblock_boundaries),
		cmocka_unit_test(test_old_format_fixture),
		cmocka_unit_test(test_subblock_corruption),
		cmocka_unit_test(test_millions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
