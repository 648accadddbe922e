/*
 * test_segindex.c -- the indexes of segment files (format v2): inverted,
 * sorted and range indexes and bloom filters for every type family (INT,
 * LONG, FLOAT, DOUBLE, STRING, multi-value), built from random data with
 * NULLs, empty strings and extreme values, checked against a brute-force
 * scan of the same file's rows; damaged index blocks (flipped bytes, and
 * bytes rewritten with a matching checksum) are ERR_CORRUPT or harmless,
 * never a crash; `waybill segment inspect` lists the indexes.
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

#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"
#include "storage/codec.h"
#include "storage/mutseg.h"
#include "storage/rbitmap.h"
#include "storage/segfile.h"
#include "storage/segwrite.h"

/* The CLI is not in wbcore: compile it into this test to call it. */
#include "cli/cmd_segment.c"

static char dir[256];

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
	snprintf(dir, sizeof(dir), "/tmp/wb-segindex-%d", (int)getpid());
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

/* ---- random data ---- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

#define NCOLS 11
static const ColDesc cols[NCOLS] = {
	{TYPE_INT, 0},	 {TYPE_LONG, 0},  {TYPE_FLOAT, 0}, {TYPE_DOUBLE, 0},
	{TYPE_STRING, 0}, {TYPE_STRING, 1}, {TYPE_LONG, 1},  {TYPE_DOUBLE, 1},
	{TYPE_INT, 0},	 {TYPE_FLOAT, 1}, {TYPE_INT, 1},
};
static const char *names[NCOLS] = {"i", "l", "f", "d", "s", "smv", "lmv", "dmv", "clus",
				   "fmv", "imv"};

static int64_t
r_int(WbType t)
{
	static const int64_t e64[] = {INT64_MIN, INT64_MAX, 0, -1, 1};
	static const int64_t e32[] = {INT32_MIN, INT32_MAX, 0, -1, 1};
	unsigned k = rn(10);
	if (k < 1)
		return t == TYPE_LONG ? e64[rn(5)] : e32[rn(5)];
	if (k < 5)
		return (int64_t)rn(40) - 20;
	if (t == TYPE_LONG)
		return (int64_t)rnd();
	return (int32_t)(uint32_t)rnd();
}

static double
r_dbl(WbType t)
{
	static const double ext[] = {-0.0, 0.0, INFINITY, -INFINITY, DBL_MAX, -DBL_MAX, DBL_MIN, NAN};
	unsigned k = rn(10);
	double d;
	if (k < 1)
		d = ext[rn(8)];
	else if (k < 5)
		d = (double)((int)rn(40) - 20) * 0.5;
	else
		d = ((double)rnd() / 1e10) * (rn(2) ? 1 : -1);
	if (t == TYPE_FLOAT) {
		if (d == DBL_MAX || d == -DBL_MAX)
			d = d > 0 ? FLT_MAX : -FLT_MAX;
		else if (d == DBL_MIN)
			d = FLT_MIN;
		d = (double)(float)d;
	}
	return d;
}

static Value
r_str(RowBatch *b)
{
	char tmp[80];
	unsigned k = rn(10);
	size_t n;
	if (k < 1) {
		n = 0;
	} else if (k < 7) {
		n = (size_t)snprintf(tmp, sizeof(tmp), "v%u", rn(300));
	} else {
		n = 1 + rn(60);
		for (size_t i = 0; i < n; i++)
			tmp[i] = (char)(rn(3) ? 'a' + rn(26) : rn(256));
	}
	return value_str(TYPE_STRING, arena_strndup(&b->arena, tmp, n), (uint32_t)n);
}

static Value
r_val(RowBatch *b, WbType t)
{
	if (t == TYPE_STRING)
		return r_str(b);
	if (type_is_float(t))
		return value_double(t, r_dbl(t));
	return value_int(t, r_int(t));
}

static void
fill_row(RowBatch *b, Value *r, size_t i)
{
	for (int c = 0; c < NCOLS; c++) {
		WbType t = cols[c].type;
		if (c == 8) {	/* clustered: runs, and alternating rows */
			int64_t v = (int64_t)(i / 7000);
			if ((i / 7000) % 2)
				v = 1000 + (int64_t)(i / 14000) * 2 + (int64_t)(i & 1);
			r[c] = value_int(t, v);
		} else if (!cols[c].mv) {
			r[c] = r_val(b, t);
		} else {
			uint32_t k = rn(6);
			Value *mv = arena_alloc(&b->arena, sizeof(Value) * (k ? k : 1));
			for (uint32_t j = 0; j < k; j++)
				mv[j] = (j > 0 && rn(4) == 0) ? mv[j - 1] : r_val(b, t);
			r[c] = value_str(t, NULL, k);
			r[c].mv = 1;
			r[c].u.mv = mv;
		}
		if (c != 8 && rn(20) == 0)
			r[c].null = 1;
	}
}

static MutSeg *
make_seg(size_t nrows, uint64_t seed)
{
	rng = seed;
	MutSeg *s = mutseg_create(NCOLS, cols);
	RowBatch b;
	rowbatch_init(&b, NCOLS);
	Err e = {0};
	for (size_t i = 0; i < nrows; i++) {
		fill_row(&b, rowbatch_add_row(&b), i);
		if (b.nrows == 4096 || i + 1 == nrows) {
			assert_int_equal(mutseg_append(s, &b, &e), 0);
			mutseg_publish(s);
			rowbatch_reset(&b);
		}
	}
	rowbatch_free(&b);
	return s;
}

typedef struct Opts {
	int dict, inverted, range, bloom, sort_col, codec;
} Opts;

static void
write_ix(const char *path, MutSeg *s, Opts o)
{
	SegColOpt opts[NCOLS];
	memset(opts, 0, sizeof(opts));
	for (int c = 0; c < NCOLS; c++) {
		opts[c].name = names[c];
		opts[c].codec = o.codec;
		opts[c].dict = o.dict;
		opts[c].inverted = o.inverted;
		opts[c].range = o.range;
		opts[c].bloom = o.bloom;
	}
	SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = o.sort_col, .time_col = -1};
	Err e = {0};
	int rc = segwrite_file(path, &sp, NULL, &e);
	if (rc)
		fprintf(stderr, "write: %s\n", err_msg(&e));
	assert_int_equal(rc, 0);
}

static SegFile *
open_ok(const char *p)
{
	SegFile *sf;
	Err e = {0};
	int rc = segfile_open(p, &sf, &e);
	if (rc)
		fprintf(stderr, "open: %s\n", err_msg(&e));
	assert_int_equal(rc, 0);
	return sf;
}

/* ---- brute force: every stored (row, value) entry of a column ---- */

typedef struct Ent {
	uint32_t row;
	uint32_t id;		/* dictionary columns */
	int64_t i;		/* raw integer columns */
	double d;		/* raw float columns */
} Ent;

typedef struct Ents {
	Ent *e;
	size_t n;
} Ents;

static Ents
col_entries(SegFile *sf, int c)
{
	const SegColInfo *ci = segfile_col(sf, c);
	size_t nrows = segfile_meta(sf)->nrows;
	Ents out = {0};
	SegCursor cur;
	Err e = {0};
	segfile_cursor_init(&cur, sf, c);
	size_t total = ci->mv ? ci->nelems : nrows;
	out.e = mem_calloc(total + 1, sizeof(Ent));
	unsigned char *vals = mem_alloc(8 * (total + 1));
	uint32_t *rowof = mem_alloc(4 * (total + 1));
	if (!ci->mv) {
		assert_int_equal(segfile_read(&cur, 0, nrows, vals, &e), 0);
		for (size_t r = 0; r < nrows; r++)
			rowof[r] = (uint32_t)r;
	} else {
		uint64_t *st = mem_alloc(8 * (nrows + 1));
		uint32_t *cn = mem_alloc(4 * (nrows + 1));
		assert_int_equal(segfile_read_mv(&cur, 0, nrows, st, cn, &e), 0);
		for (size_t r = 0; r < nrows; r++)
			for (uint32_t k = 0; k < cn[r]; k++)
				rowof[st[r] + k] = (uint32_t)r;
		assert_int_equal(segfile_read_elems(&cur, 0, total, vals, &e), 0);
		mem_free(st);
		mem_free(cn);
	}
	for (size_t k = 0; k < total; k++) {
		Ent *x = &out.e[k];
		x->row = rowof[k];
		if (ci->has_dict) {
			memcpy(&x->id, vals + 4 * k, 4);
			continue;
		}
		switch (ci->type) {
		case TYPE_INT: {
			int32_t v;
			memcpy(&v, vals + 4 * k, 4);
			x->i = v;
			break;
		}
		case TYPE_FLOAT: {
			float v;
			memcpy(&v, vals + 4 * k, 4);
			x->d = v;
			break;
		}
		case TYPE_DOUBLE:
			memcpy(&x->d, vals + 8 * k, 8);
			break;
		default:
			memcpy(&x->i, vals + 8 * k, 8);
			break;
		}
	}
	out.n = total;
	mem_free(vals);
	mem_free(rowof);
	segfile_cursor_free(&cur);
	return out;
}

static void
cmp_bits(const uint64_t *got, const uint64_t *want, size_t nw, const char *what, int c,
	 double a, double b)
{
	for (size_t k = 0; k < nw; k++)
		if (got[k] != want[k])
			fail_msg("%s: column %s [%g, %g]: word %zu: %016llx want %016llx", what,
				 names[c], a, b, k, (unsigned long long)got[k],
				 (unsigned long long)want[k]);
}

/* segfile_ix_ids over many id ranges equals the scan. */
static void
check_ids(SegFile *sf, int c, const Ents *en)
{
	const SegColInfo *ci = segfile_col(sf, c);
	size_t nrows = segfile_meta(sf)->nrows, nw = (nrows + 63) / 64;
	uint64_t *got = mem_calloc(nw + 1, 8), *want = mem_calloc(nw + 1, 8);
	Err e = {0};
	for (int q = 0; q < 40; q++) {
		uint32_t lo, hi;
		if (q == 0) {
			lo = 0;
			hi = ci->card;
		} else if (q == 1) {
			lo = ci->card;
			hi = ci->card + 5;
		} else if (q < 20) {
			lo = ci->card ? rn(ci->card) : 0;
			hi = lo + 1;
		} else {
			lo = ci->card ? rn(ci->card) : 0;
			hi = lo + rn(ci->card + 3);
		}
		memset(got, 0, nw * 8);
		memset(want, 0, nw * 8);
		for (size_t k = 0; k < en->n; k++)
			if (en->e[k].id >= lo && en->e[k].id < hi)
				want[en->e[k].row >> 6] |= (uint64_t)1 << (en->e[k].row & 63);
		uint64_t ent = 99;
		int rc = segfile_ix_ids(sf, c, lo, hi, got, &ent, &e);
		if (rc)
			fail_msg("ix_ids %s: %s", names[c], err_msg(&e));
		cmp_bits(got, want, nw, "ix_ids", c, lo, hi);
		assert_true(ent != 99);
	}
	mem_free(got);
	mem_free(want);
}

/* segfile_ix_range over value ranges equals the scan. */
static void
check_range(SegFile *sf, int c, const Ents *en)
{
	const SegColInfo *ci = segfile_col(sf, c);
	int fl = type_is_float(ci->type);
	size_t nrows = segfile_meta(sf)->nrows, nw = (nrows + 63) / 64;
	uint64_t *got = mem_calloc(nw + 1, 8), *want = mem_calloc(nw + 1, 8);
	Err e = {0};
	for (int q = 0; q < 60; q++) {
		SegNum lo, hi;
		const Ent *x = en->n ? &en->e[rn((unsigned)en->n)] : NULL;
		const Ent *y = en->n ? &en->e[rn((unsigned)en->n)] : NULL;
		if (fl) {
			double a = x ? x->d : 0, b = y ? y->d : 0;
			switch (q % 6) {
			case 0: a = -INFINITY; b = INFINITY; break;
			case 1: a = -0.0; b = 0.0; break;
			case 2: b = a; break;
			case 3: a = r_dbl(TYPE_DOUBLE); b = a + fabs(r_dbl(TYPE_DOUBLE)); break;
			case 4: a = 0.0; b = -0.0; break;
			default: break;
			}
			lo.d = a;
			hi.d = b;
		} else {
			int64_t a = x ? x->i : 0, b = y ? y->i : 0;
			switch (q % 5) {
			case 0: a = INT64_MIN; b = INT64_MAX; break;
			case 1: b = a; break;
			case 2: a = r_int(TYPE_LONG); b = a > INT64_MAX - 1000 ? a : a + (int64_t)rn(1000); break;
			default: break;
			}
			lo.i = a;
			hi.i = b;
		}
		memset(got, 0, nw * 8);
		memset(want, 0, nw * 8);
		for (size_t k = 0; k < en->n; k++) {
			const Ent *z = &en->e[k];
			int in = fl ? (z->d >= lo.d && z->d <= hi.d) : (z->i >= lo.i && z->i <= hi.i);
			if (in)
				want[z->row >> 6] |= (uint64_t)1 << (z->row & 63);
		}
		int rc = segfile_ix_range(sf, c, lo, hi, got, NULL, &e);
		if (rc)
			fail_msg("ix_range %s: %s", names[c], err_msg(&e));
		cmp_bits(got, want, nw, "ix_range", c, fl ? lo.d : (double)lo.i,
			 fl ? hi.d : (double)hi.i);
	}
	mem_free(got);
	mem_free(want);
}

/* Every stored value passes the bloom filter; few absent ones do. */
static void
check_bloom(SegFile *sf, int c, const Ents *en)
{
	const SegColInfo *ci = segfile_col(sf, c);
	Err e = {0};
	int may;
	SegDict d;
	if (ci->has_dict)
		assert_int_equal(segfile_dict(sf, c, &d, &e), 0);
	for (size_t k = 0; k < en->n; k++) {
		const Ent *z = &en->e[k];
		Value v;
		if (ci->has_dict)
			v = segfile_dict_value(&d, z->id);
		else if (type_is_float(ci->type))
			v = value_double(ci->type, z->d);
		else
			v = value_int(ci->type, z->i);
		assert_int_equal(segfile_bloom_check(sf, c, &v, &may, &e), 0);
		if (!may)
			fail_msg("bloom %s: false negative at entry %zu", names[c], k);
		if (type_is_float(ci->type) && v.u.d == 0) {	/* -0.0 == 0.0 */
			Value w = value_double(ci->type, signbit(v.u.d) ? 0.0 : -0.0);
			assert_int_equal(segfile_bloom_check(sf, c, &w, &may, &e), 0);
			assert_true(may);
		}
	}
	/* absent values: about 1% pass */
	int pass = 0, tries = 0;
	for (int k = 0; k < 4000; k++) {
		Value v;
		char tmp[40];
		if (type_is_var(ci->type)) {
			int n = snprintf(tmp, sizeof(tmp), "absent-%d", k);
			v = value_str(ci->type, tmp, (uint32_t)n);
		} else if (type_is_float(ci->type)) {
			v = value_double(ci->type, 1e300 * (k + 1.5));
			if (isinf(v.u.d))
				v.u.d = 1e-300 * (k + 1.5);
		} else {
			v = value_int(ci->type, 1000000007LL * (k + 3));
		}
		assert_int_equal(segfile_bloom_check(sf, c, &v, &may, &e), 0);
		pass += may;
		tries++;
	}
	if (pass * 100 > tries * 4)
		fail_msg("bloom %s: %d of %d absent values pass", names[c], pass, tries);
	/* a non-integral double can never equal an integer */
	if (type_is_integer(ci->type)) {
		Value v = value_double(TYPE_DOUBLE, 0.5);
		assert_int_equal(segfile_bloom_check(sf, c, &v, &may, &e), 0);
		assert_false(may);
	}
}

static void
check_all(const char *p, Opts o)
{
	SegFile *sf = open_ok(p);
	Err e = {0};
	int rc = segfile_verify(sf, &e);
	if (rc)
		fprintf(stderr, "verify: %s\n", err_msg(&e));
	assert_int_equal(rc, 0);
	for (int c = 0; c < NCOLS; c++) {
		const SegColInfo *ci = segfile_col(sf, c);
		Ents en = col_entries(sf, c);
		if (ci->has_dict) {
			if (o.inverted)
				assert_true(ci->indexes & SEGFILE_IX_INVERTED);
			if (o.sort_col == c)
				assert_true(ci->indexes & SEGFILE_IX_SORTED);
			if (ci->indexes & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED | SEGFILE_IX_RANGE))
				check_ids(sf, c, &en);
			else
				assert_int_equal(segfile_ix_ids(sf, c, 0, 1, NULL, NULL, &e), ERR_INVALID);
		} else {
			assert_false(ci->indexes & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED));
			if (o.range) {
				assert_true(ci->indexes & SEGFILE_IX_RANGE);
				check_range(sf, c, &en);
			}
		}
		if (o.range)
			assert_true(ci->indexes & SEGFILE_IX_RANGE);
		if (o.bloom) {
			assert_true(ci->indexes & SEGFILE_IX_BLOOM);
			check_bloom(sf, c, &en);
		}
		mem_free(en.e);
	}
	segfile_close(sf);
}

/* ---- tests ---- */

static void
test_inverted(void **state)
{
	MutSeg *s = make_seg(5000, 1);
	Opts o = {.dict = 1, .inverted = 1, .bloom = 1, .sort_col = -1, .codec = CODEC_LZ4};
	write_ix(tpath("inv"), s, o);
	check_all(tpath("inv"), o);
	mutseg_free(s);
}

static void
test_range_dict_and_raw(void **state)
{
	MutSeg *s = make_seg(6000, 2);
	Opts o = {.dict = 1, .range = 1, .sort_col = -1, .codec = CODEC_NONE};
	write_ix(tpath("rdict"), s, o);
	check_all(tpath("rdict"), o);
	Opts r = {.dict = 0, .range = 1, .bloom = 1, .sort_col = -1, .codec = CODEC_ZSTD};
	write_ix(tpath("rraw"), s, r);
	check_all(tpath("rraw"), r);
	mutseg_free(s);
}

static void
test_sorted(void **state)
{
	MutSeg *s = make_seg(4000, 3);
	int sorts[] = {0, 2, 3, 4, 1};
	for (size_t k = 0; k < sizeof(sorts) / sizeof(sorts[0]); k++) {
		Opts o = {.dict = 1, .range = (int)(k & 1), .sort_col = sorts[k], .codec = CODEC_NONE};
		write_ix(tpath("sorted"), s, o);
		check_all(tpath("sorted"), o);
	}
	/* a raw sort column gets no sorted index */
	Opts r = {.dict = 0, .sort_col = 1, .codec = CODEC_NONE};
	write_ix(tpath("sraw"), s, r);
	SegFile *sf = open_ok(tpath("sraw"));
	assert_int_equal(segfile_col(sf, 1)->indexes, 0);
	segfile_close(sf);
	mutseg_free(s);
}

/* Several row blocks: bitsets, Roaring arrays, runs and bitset
 * containers all appear. */
static void
test_large(void **state)
{
	MutSeg *s = make_seg(150000, 4);
	Opts o = {.dict = 1, .inverted = 1, .bloom = 1, .sort_col = -1, .codec = CODEC_LZ4};
	write_ix(tpath("large"), s, o);
	check_all(tpath("large"), o);
	Opts r = {.dict = 0, .range = 1, .sort_col = -1, .codec = CODEC_NONE};
	write_ix(tpath("large2"), s, r);
	check_all(tpath("large2"), r);
	mutseg_free(s);
}

static void
test_zero_and_one_row(void **state)
{
	for (size_t n = 0; n <= 2; n++) {
		MutSeg *s = make_seg(n, 5 + n);
		Opts o = {.dict = 1, .inverted = 1, .range = 1, .bloom = 1, .sort_col = 4};
		write_ix(tpath("tiny"), s, o);
		check_all(tpath("tiny"), o);
		Opts r = {.dict = 0, .range = 1, .bloom = 1, .sort_col = -1};
		write_ix(tpath("tiny"), s, r);
		check_all(tpath("tiny"), r);
		mutseg_free(s);
	}
}

/* Zeroed new options: no index, and the API says so. */
static void
test_no_indexes(void **state)
{
	MutSeg *s = make_seg(500, 6);
	Opts o = {.dict = 1, .sort_col = -1};
	write_ix(tpath("plain"), s, o);
	SegFile *sf = open_ok(tpath("plain"));
	Err e = {0};
	uint64_t w[8] = {0};
	for (int c = 0; c < NCOLS; c++) {
		assert_int_equal(segfile_col(sf, c)->indexes, 0);
		assert_int_equal(segfile_ix_ids(sf, c, 0, 1, w, NULL, &e), ERR_INVALID);
		SegNum a = {.i = 0};
		assert_int_equal(segfile_ix_range(sf, c, a, a, w, NULL, &e), ERR_INVALID);
		Value v = value_int(TYPE_INT, 1);
		int may = 0;
		assert_int_equal(segfile_bloom_check(sf, c, &v, &may, &e), 0);
		assert_true(may);
	}
	assert_int_equal(segfile_ix_ids(sf, NCOLS, 0, 1, w, NULL, &e), ERR_INVALID);
	segfile_close(sf);
	mutseg_free(s);
}

/* The wrapper's checker refuses damaged Roaring bytes. */
static void
test_rbitmap(void **state)
{
	uint32_t v[5000];
	for (int k = 0; k < 5000; k++)
		v[k] = (uint32_t)k * 3 + (k > 2500 ? 70000 : 0);
	Buf b;
	buf_init(&b);
	assert_int_equal(rbitmap_encode(v, 5000, &b), 0);
	uint64_t card;
	const char *why;
	assert_int_equal(rbitmap_check(b.p, b.len, 1u << 20, &card, &why), 0);
	assert_int_equal(card, 5000);
	assert_int_equal(rbitmap_check(b.p, b.len, 80000, &card, &why), ERR_CORRUPT);
	assert_int_equal(rbitmap_check(b.p, b.len - 1, 1u << 20, &card, &why), ERR_CORRUPT);
	uint64_t words[(1 << 20) / 64];
	memset(words, 0, sizeof(words));
	assert_int_equal(rbitmap_or_into(b.p, b.len, words), 0);
	for (int k = 0; k < 5000; k++)
		assert_true((words[v[k] >> 6] >> (v[k] & 63)) & 1);
	/* every single-byte change: refused, or still well-formed */
	char *d = mem_alloc(b.len);
	for (size_t pos = 0; pos < b.len; pos += 1 + pos / 64) {
		memcpy(d, b.p, b.len);
		d[pos] ^= (char)(1 << (pos % 8));
		if (rbitmap_check(d, b.len, 1u << 20, &card, &why) == 0) {
			memset(words, 0, sizeof(words));
			assert_int_equal(rbitmap_or_into(d, b.len, words), 0);
		}
	}
	mem_free(d);
	buf_free(&b);
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

typedef struct BlkRef {
	uint64_t off, stored;
	int kind, col;
	size_t ent;		/* file offset of its block table entry */
} BlkRef;

/* The index blocks of a file image (kind >= SEGFILE_K_INV_DIR). */
static size_t
index_blocks(unsigned char *d, size_t n, BlkRef *out, size_t max)
{
	uint64_t foff;
	memcpy(&foff, d + n - 32, 8);
	unsigned char *f = d + foff;
	uint32_t nsrc, nblocks;
	memcpy(&nsrc, f + 36, 4);
	size_t bt = 56 + (size_t)nsrc * 24, k = 0;
	memcpy(&nblocks, f + bt, 4);
	for (uint32_t b = 0; b < nblocks && k < max; b++) {
		unsigned char *ent = f + bt + 8 + (size_t)b * 32;
		uint16_t c;
		memcpy(&c, ent + 30, 2);
		if (ent[29] < SEGFILE_K_INV_DIR)
			continue;
		memcpy(&out[k].off, ent, 8);
		memcpy(&out[k].stored, ent + 8, 8);
		out[k].kind = ent[29];
		out[k].col = c;
		out[k].ent = (size_t)(ent - d);
		k++;
	}
	return k;
}

static void
fix_crcs(unsigned char *d, size_t n, const BlkRef *b)
{
	uint32_t crc = hash_crc(d + b->off, b->stored);
	memcpy(d + b->ent + 24, &crc, 4);
	uint64_t foff;
	memcpy(&foff, d + n - 32, 8);
	uint32_t fcrc = hash_crc(d + foff, n - 32 - foff);
	memcpy(d + n - 16, &fcrc, 4);
}

/* Uses every index of every column; 0 or the first error, which must be
 * ERR_CORRUPT naming the file, column and block. */
static int
use_indexes(const char *p)
{
	SegFile *sf;
	Err e = {0};
	int rc = segfile_open(p, &sf, &e);
	if (rc) {
		assert_int_equal(rc, ERR_CORRUPT);
		return rc;
	}
	size_t nrows = segfile_meta(sf)->nrows, nw = (nrows + 63) / 64;
	uint64_t *w = mem_calloc(nw + 1, 8);
	int first = 0;
	for (int c = 0; c < NCOLS; c++) {
		const SegColInfo *ci = segfile_col(sf, c);
		Err e2 = {0};
		int r = 0;
		if (ci->has_dict && ci->indexes & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED |
						    SEGFILE_IX_RANGE))
			r = segfile_ix_ids(sf, c, 0, ci->card, w, NULL, &e2);
		if (r == 0 && !ci->has_dict && (ci->indexes & SEGFILE_IX_RANGE)) {
			SegNum lo, hi;
			if (type_is_float(ci->type)) {
				lo.d = -INFINITY;
				hi.d = INFINITY;
			} else {
				lo.i = INT64_MIN;
				hi.i = INT64_MAX;
			}
			r = segfile_ix_range(sf, c, lo, hi, w, NULL, &e2);
		}
		if (r == 0 && (ci->indexes & SEGFILE_IX_BLOOM)) {
			Value v = type_is_var(ci->type) ? value_str(TYPE_STRING, "x", 1)
							: value_int(TYPE_LONG, 3);
			int may;
			r = segfile_bloom_check(sf, c, &v, &may, &e2);
		}
		if (r) {
			if (r != ERR_CORRUPT)
				fprintf(stderr, "%d: %s\n", r, err_msg(&e2));
			assert_int_equal(r, ERR_CORRUPT);
			assert_non_null(strstr(e2.msg, p));
			assert_non_null(strstr(e2.msg, "column"));
			assert_non_null(strstr(e2.msg, "block"));
			if (!first)
				first = r;
		}
	}
	mem_free(w);
	int vr = segfile_verify(sf, &e);
	if (first)
		assert_int_equal(vr, ERR_CORRUPT);	/* what a use saw, verify sees */
	if (vr) {
		if (vr != ERR_CORRUPT)
			fprintf(stderr, "verify %d: %s\n", vr, err_msg(&e));
		assert_int_equal(vr, ERR_CORRUPT);
		first = vr;
	}
	segfile_close(sf);
	return first;
}

static void
damage_file(const char *good, int *flips, int *forges)
{
	size_t n;
	unsigned char *orig = slurp(good, &n), *d = mem_alloc(n);
	BlkRef bl[256];
	size_t nb = index_blocks(orig, n, bl, 256);
	assert_true(nb > 0);
	const char *bad = tpath("bad");
	for (size_t b = 0; b < nb; b++) {
		if (bl[b].stored == 0)
			continue;
		size_t step = bl[b].stored / 12 + 1;
		for (size_t pos = 0; pos < bl[b].stored; pos += 1 + rn((unsigned)step)) {
			/* a flipped bit: the checksum finds it on use */
			memcpy(d, orig, n);
			d[bl[b].off + pos] ^= (unsigned char)(1u << rn(8));
			spit(bad, d, n);
			if (use_indexes(bad) != ERR_CORRUPT)
				fail_msg("flip in %s block of column %s not detected",
					 bl[b].kind == SEGFILE_K_BLOOM ? "bloom" : "index",
					 names[bl[b].col]);
			(*flips)++;
			/* a forged byte with a matching checksum: refused or
			 * harmless, never a crash */
			memcpy(d, orig, n);
			d[bl[b].off + pos] = (unsigned char)rnd();
			fix_crcs(d, n, &bl[b]);
			spit(bad, d, n);
			use_indexes(bad);
			(*forges)++;
		}
		/* the whole block forged to one byte value */
		for (int fill = 0; fill < 3; fill++) {
			memcpy(d, orig, n);
			memset(d + bl[b].off, fill == 0 ? 0 : fill == 1 ? 0xff : 0x41, bl[b].stored);
			fix_crcs(d, n, &bl[b]);
			spit(bad, d, n);
			use_indexes(bad);
			(*forges)++;
		}
	}
	mem_free(d);
	mem_free(orig);
}

static void
test_damaged_indexes(void **state)
{
	MutSeg *s = make_seg(3000, 7);
	int flips = 0, forges = 0;
	Opts o = {.dict = 1, .inverted = 1, .bloom = 1, .sort_col = 4, .codec = CODEC_NONE};
	write_ix(tpath("dmg1"), s, o);
	damage_file(tpath("dmg1"), &flips, &forges);
	Opts r = {.dict = 0, .range = 1, .bloom = 1, .sort_col = 0, .codec = CODEC_LZ4};
	write_ix(tpath("dmg2"), s, r);
	damage_file(tpath("dmg2"), &flips, &forges);
	fprintf(stderr, "[segindex] %d flips detected, %d forged blocks survived\n", flips, forges);
	mutseg_free(s);
}

/* A forged sorted index whose starts are out of order, and a forged
 * inverted directory entry pointing past its block, are named. */
static void
test_forged_messages(void **state)
{
	MutSeg *s = make_seg(2000, 8);
	Opts o = {.dict = 1, .inverted = 1, .sort_col = 4, .codec = CODEC_NONE};
	const char *p = tpath("forged");
	write_ix(p, s, o);
	size_t n;
	unsigned char *orig = slurp(p, &n), *d = mem_alloc(n);
	BlkRef bl[64];
	size_t nb = index_blocks(orig, n, bl, 64);
	int seen = 0;
	for (size_t b = 0; b < nb; b++) {
		const char *why = NULL;
		memcpy(d, orig, n);
		if (bl[b].kind == SEGFILE_K_SORTED && bl[b].stored >= 8) {
			uint32_t big = 0x7fffffff;
			memcpy(d + bl[b].off + 4, &big, 4);
			why = "starts";
		} else if (bl[b].kind == SEGFILE_K_INV_DIR && bl[b].col == 0) {
			uint32_t big = 0x7ffffff8;
			memcpy(d + bl[b].off, &big, 4);
			why = "outside";
		} else {
			continue;
		}
		fix_crcs(d, n, &bl[b]);
		spit(p, d, n);
		SegFile *sf = open_ok(p);
		Err e = {0};
		assert_int_equal(segfile_verify(sf, &e), ERR_CORRUPT);
		if (strstr(e.msg, why) == NULL || strstr(e.msg, "column") == NULL)
			fail_msg("%s", e.msg);
		segfile_close(sf);
		seen++;
	}
	assert_int_equal(seen, 2);
	mem_free(d);
	mem_free(orig);
	mutseg_free(s);
}

/* Allocation failure at every point of a write with indexes: ERR_NOMEM,
 * no temporary left, nothing leaked (ASan). */
static void
test_alloc_failure(void **state)
{
	MutSeg *s = make_seg(3000, 10);
	const char *p = tpath("oom");
	for (int variant = 0; variant < 2; variant++) {
		SegColOpt opts[NCOLS];
		memset(opts, 0, sizeof(opts));
		for (int c = 0; c < NCOLS; c++) {
			opts[c].name = names[c];
			opts[c].dict = variant == 0;
			opts[c].inverted = variant == 0 && c % 2 == 0;
			opts[c].range = 1;
			opts[c].bloom = 1;
		}
		SegWriteSpec sp = {.seg = s, .cols = opts, .sort_col = variant ? 0 : 4,
				   .time_col = -1};
		int done = 0;
		for (long k = 1; k < 1000 && !done; k++) {
			Err e = {0};
			mem_fail_nth(k);
			int rc = segwrite_file(p, &sp, NULL, &e);
			mem_fail_nth(0);
			if (rc == 0) {
				done = 1;
				break;
			}
			if (rc != ERR_NOMEM)
				fail_msg("k=%ld: %d %s", k, rc, err_msg(&e));
			char tmp[600];
			snprintf(tmp, sizeof(tmp), "%s.tmp", p);
			assert_false(file_exists(tmp));
		}
		assert_true(done);
		Opts o = {.dict = variant == 0, .range = 1, .bloom = 1, .sort_col = variant ? 0 : 4};
		check_all(p, o);
	}
	mutseg_free(s);
}

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
test_cli_indexes(void **state)
{
	MutSeg *s = make_seg(1000, 9);
	char p[512];
	snprintf(p, sizeof(p), "%s", tpath("cli"));
	Opts o = {.dict = 1, .inverted = 1, .range = 1, .bloom = 1, .sort_col = 4};
	write_ix(p, s, o);
	int st;
	char *argv_i[] = {"inspect", p};
	char *t = run_cli(2, argv_i, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(t, "format:      version 3"));
	assert_non_null(strstr(t, "inverted"));
	assert_non_null(strstr(t, "sorted"));
	assert_non_null(strstr(t, "range"));
	assert_non_null(strstr(t, "bloom"));
	char *argv_v[] = {"verify", p};
	t = run_cli(2, argv_v, &st);
	assert_int_equal(st, 0);
	mutseg_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rbitmap),
		cmocka_unit_test(test_no_indexes),
		cmocka_unit_test(test_zero_and_one_row),
		cmocka_unit_test(test_inverted),
		cmocka_unit_test(test_range_dict_and_raw),
		cmocka_unit_test(test_sorted),
		cmocka_unit_test(test_forged_messages),
		cmocka_unit_test(test_damaged_indexes),
		cmocka_unit_test(test_cli_indexes),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
