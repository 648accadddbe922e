/*
 * test_sealfuzz.c -- damaged segment files are always detected.
 *
 * A partition seals rows of every kind (LONG/INT/DOUBLE/STRING/BYTES,
 * NULLs, multi-value, empty strings, extreme values) into a segment file.
 * Then, on copies of that file:
 *   - 1,000 random damages (a flipped bit anywhere, a truncation, a run
 *     of garbage bytes, zeroed blocks) each must make segfile_open or
 *     segfile_verify fail with ERR_CORRUPT -- 100% detection, no crash
 *     (the test build runs under ASan/UBSan);
 *   - through the partition: a damaged file put in place of the sealed one
 *     is quarantined (at open, or by the background verification) and the
 *     partition keeps serving its other rows and taking writes.
 * WB_LONG=1 runs 20,000 damages.
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
#include "storage/segfile.h"
#include "table/partition.h"

#define NCOLS 6

static const ColDesc cols[NCOLS] = {
	{TYPE_LONG, 0}, {TYPE_INT, 0}, {TYPE_DOUBLE, 0}, {TYPE_STRING, 0}, {TYPE_STRING, 1}, {TYPE_BYTES, 0},
};
static const SegColOpt opts[NCOLS] = {
	{"id", 0, 1}, {"n", 1, 2}, {"d", 0, 0}, {"s", 1, 1}, {"tags", 1, 1}, {"b", 1, 0},
};

static void
write_rows(Partition *p, long from, long n)
{
	RowBatch b;
	rowbatch_init(&b, NCOLS);
	static const char *const words[] = {"", "alpha", "beta", "gamma", "a much longer string value"};
	for (long i = from; i < from + n; i++) {
		Value *r = rowbatch_add_row(&b);
		r[0] = value_int(TYPE_LONG, i % 97 == 0 ? INT64_MIN + i : i);
		r[1] = i % 5 == 0 ? value_null(TYPE_INT) : value_int(TYPE_INT, i % 3 ? (int32_t)(i * 7) : INT32_MAX);
		r[2] = i % 11 == 0 ? value_null(TYPE_DOUBLE) : value_double(TYPE_DOUBLE, (double)i / 3.0);
		r[3] = i % 7 == 0 ? value_null(TYPE_STRING) : value_str(TYPE_STRING, words[i % 5], strlen(words[i % 5]));
		Value *el = arena_alloc(&b.arena, sizeof(Value) * 3);
		int k = (int)(i % 4);
		for (int j = 0; j < k && j < 3; j++)
			el[j] = value_str(TYPE_STRING, words[(i + j) % 5], strlen(words[(i + j) % 5]));
		r[4] = value_null(TYPE_STRING);
		r[4].mv = 1;
		r[4].n = (uint32_t)(k < 3 ? k : 3);
		r[4].u.mv = el;
		r[4].null = r[4].n == 0;
		char *hex = arena_alloc(&b.arena, 2);
		hex[0] = (char)(i & 0xff);
		hex[1] = (char)(i >> 8);
		r[5] = value_str(TYPE_BYTES, hex, (size_t)(i % 3));
	}
	Err e = {0};
	assert_int_equal(partition_write(p, &b, &e), 0);
	rowbatch_free(&b);
}

static size_t
rows_of(Partition *p)
{
	PartView *v = partition_view(p);
	size_t n = 0;
	for (int i = 0; i < v->nsegs; i++)
		n += v->segs[i].state == PART_SEG_MUTABLE ? mutseg_rows(v->segs[i].mut) : v->segs[i].rows;
	partition_view_release(v);
	return n;
}

static Partition *
open_part(const char *pdir)
{
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(pdir, 0, NCOLS, cols, NULL, &p, &e), 0);
	PartConfig pc = {.ncols = NCOLS, .cols = opts, .sort_col = -1, .time_col = 0, .time_unit_ms = 1};
	assert_int_equal(partition_configure(p, &pc, &e), 0);
	return p;
}

static char *
slurp(const char *path, size_t *len)
{
	char *d;
	Err e = {0};
	assert_int_equal(file_read_all(path, &d, len, &e), 0);
	return d;
}

static void
spit(const char *path, const char *d, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, len, f), len);
	fclose(f);
}

/* 0 if the damaged file at path is accepted end to end */
static int
detected(const char *path)
{
	SegFile *sf = NULL;
	Err e = {0};
	int rc = segfile_open(path, &sf, &e);
	if (rc == 0) {
		rc = segfile_verify(sf, &e);
		segfile_close(sf);
	}
	if (rc != 0 && rc != ERR_CORRUPT)
		fail_msg("damage reported as %s, not ERR_CORRUPT: %s", err_name(rc), err_msg(&e));
	return rc != 0;
}

static void
test_damage_always_detected(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbsealfuzz-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char pdir[300], seg[400], copy[400];
	snprintf(pdir, sizeof(pdir), "%s/t/p0", dir);
	snprintf(seg, sizeof(seg), "%s/seg-000001.wbs", pdir);
	snprintf(copy, sizeof(copy), "%s/damaged.wbs", dir);
	Partition *p = open_part(pdir);
	write_rows(p, 0, 70000);	/* two row blocks */
	Err e = {0};
	assert_int_equal(partition_seal(p, &e), 0);
	write_rows(p, 70000, 100);
	assert_int_equal(rows_of(p), 70100);
	partition_close(p);

	size_t len;
	char *orig = slurp(seg, &len);
	assert_true(detected(seg) == 0);
	const char *lg = getenv("WB_LONG");
	int rounds = lg && *lg && strcmp(lg, "0") != 0 ? 20000 : 1000;
	unsigned seed = 12345;
	char *d = mem_alloc(len);
	int missed = 0;
	for (int k = 0; k < rounds; k++) {
		memcpy(d, orig, len);
		size_t n = len;
		int kind = rand_r(&seed) % 10;
		size_t at = (size_t)rand_r(&seed) % len;
		if (kind < 6) {
			d[at] ^= (char)(1u << (rand_r(&seed) % 8));
		} else if (kind < 8) {
			n = at;		/* truncated */
		} else if (kind < 9) {
			size_t run = 1 + (size_t)rand_r(&seed) % 64;
			for (size_t i = at; i < at + run && i < len; i++)
				d[i] = (char)(d[i] + 1 + rand_r(&seed) % 255);
		} else {
			size_t run = 1 + (size_t)rand_r(&seed) % 4096;
			int changed = 0;
			for (size_t i = at; i < at + run && i < len; i++) {
				changed |= d[i] != 0;
				d[i] = 0;
			}
			if (!changed)
				d[at] = 1;
		}
		spit(copy, d, n);
		if (!detected(copy)) {
			missed++;
			fprintf(stderr, "undetected damage: kind %d at byte %zu of %zu\n", kind, at, len);
		}
	}
	fprintf(stderr, "[sealfuzz] %d damages, %d undetected (file of %zu bytes)\n", rounds, missed, len);
	assert_int_equal(missed, 0);

	/* through the partition: 30 damaged files, each quarantined while
	 * the mutable rows stay served (the manifest is put back each time:
	 * the quarantine removes the file from it) */
	char man[400];
	snprintf(man, sizeof(man), "%s/MANIFEST", pdir);
	size_t mlen;
	char *morig = slurp(man, &mlen);
	for (int k = 0; k < 30; k++) {
		memcpy(d, orig, len);
		size_t at = (size_t)rand_r(&seed) % len;
		d[at] ^= (char)(1u << (rand_r(&seed) % 8));
		spit(seg, d, len);
		spit(man, morig, mlen);
		p = open_part(pdir);
		int64_t deadline = clock_mono_ns() + 20000000000LL;
		while (partition_quarantined(p) == 0 && clock_mono_ns() < deadline)
			usleep(1000);
		assert_int_equal(partition_quarantined(p), 1);
		assert_int_equal(rows_of(p), 100 + (size_t)k);	/* + one row per round */
		write_rows(p, 0, 1);	/* still takes writes */
		partition_close(p);
		char q[500];
		snprintf(q, sizeof(q), "%s/quarantine", pdir);
		assert_int_equal(file_remove_tree(q, &e), 0);
	}
	mem_free(morig);
	mem_free(d);
	mem_free(orig);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_damage_always_detected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
