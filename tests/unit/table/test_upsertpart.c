/*
 * test_upsertpart.c -- upsert partitions against an oracle: string keys whose
 * hashes are forced to collide are never merged; the latest version by
 * the comparison column wins (ties: the later arrival); deletes hide a
 * key until a newer version; partial-upsert strategies merge; the state
 * survives sealing, a restart from the snapshot, a restart without it
 * (rebuild), and allocation failures in the middle of writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "table/partition.h"
#include "table/tblconfig.h"

enum { C_KEY, C_TS, C_VAL, C_DEL, C_TAGS, NC };
#define NKEYS 300

typedef struct Oracle {
	int present[NKEYS];	/* a version was written */
	int64_t ts[NKEYS];
	int64_t val[NKEYS];
	int del[NKEYS];
} Oracle;

static ColDesc cols[NC];
static const char *names[NC] = {"k", "ts", "v", "del", "tags"};
static int strat[NC];

static void
setup_cols(void)
{
	memset(cols, 0, sizeof(cols));
	cols[C_KEY].type = TYPE_STRING;
	cols[C_TS].type = TYPE_LONG;
	cols[C_VAL].type = TYPE_LONG;
	cols[C_DEL].type = TYPE_BOOLEAN;
	cols[C_TAGS].type = TYPE_STRING;
	cols[C_TAGS].mv = 1;
}

static UpsertCfg
cfg_full(int hash_bits)
{
	UpsertCfg u;
	memset(&u, 0, sizeof(u));
	u.on = 1;
	u.ncols = NC;
	u.names = names;
	u.npk = 1;
	u.pk[0] = C_KEY;
	u.ncmp = 1;
	u.cmp[0] = C_TS;
	for (int i = 0; i < NC; i++)
		strat[i] = TBL_UPS_OVERWRITE;
	u.strategy = strat;
	u.delete_col = C_DEL;
	u.ooo_col = -1;
	u.hash_bits = hash_bits;
	return u;
}

static void
key_of(int k, char *buf)
{
	snprintf(buf, 32, "key-%d", k);
}

static void
add(RowBatch *b, int k, int64_t ts, int64_t v, int del)
{
	char kb[32];
	key_of(k, kb);
	Value *r = rowbatch_add_row(b);
	assert_non_null(r);
	char *s = arena_strdup(&b->arena, kb);
	r[C_KEY] = value_str(TYPE_STRING, s, (uint32_t)strlen(s));
	r[C_TS] = value_int(TYPE_LONG, ts);
	r[C_VAL] = value_int(TYPE_LONG, v);
	r[C_DEL] = value_int(TYPE_BOOLEAN, del);
	r[C_TAGS] = value_null(TYPE_STRING);
	r[C_TAGS].mv = 1;
}

static void
oracle_apply(Oracle *o, int k, int64_t ts, int64_t v, int del)
{
	if (o->present[k] && ts < o->ts[k])
		return;
	o->present[k] = 1;
	o->ts[k] = ts;
	o->val[k] = v;
	o->del[k] = del;
}

/* Every visible row is its key's oracle version, and every live key is
 * visible exactly once. */
static void
check(Partition *p, const Oracle *o)
{
	PartView *v = partition_view(p);
	int seen[NKEYS] = {0};
	size_t visible = 0;
	Arena a;
	arena_init(&a, 4096);
	for (int i = 0; i < v->nsegs; i++) {
		const PartSeg *s = &v->segs[i];
		assert_non_null(s->valid != NULL || s->rows == 0 ? (void *)1 : NULL);
		SegCursor cur[NC];
		if (s->file)
			for (int c = 0; c < NC; c++)
				segfile_cursor_init(&cur[c], s->file, segfile_col_find(s->file, names[c]));
		for (size_t r = 0; r < s->rows; r++) {
			if (!((s->valid[r >> 6] >> (r & 63)) & 1))
				continue;
			visible++;
			Value kv, tv, vv;
			Err e = {0};
			if (s->file) {
				assert_int_equal(segfile_value(&cur[C_KEY], r, &kv, &a, &e), 0);
				assert_int_equal(segfile_value(&cur[C_TS], r, &tv, &a, &e), 0);
				assert_int_equal(segfile_value(&cur[C_VAL], r, &vv, &a, &e), 0);
			} else {
				assert_int_equal(mutcol_value(mutseg_col(s->mut, C_KEY), r, &kv, &a), 0);
				assert_int_equal(mutcol_value(mutseg_col(s->mut, C_TS), r, &tv, &a), 0);
				assert_int_equal(mutcol_value(mutseg_col(s->mut, C_VAL), r, &vv, &a), 0);
			}
			int k = atoi(kv.u.s + 4);
			assert_true(k >= 0 && k < NKEYS);
			assert_int_equal(seen[k], 0);
			seen[k] = 1;
			assert_true(o->present[k] && !o->del[k]);
			assert_int_equal(tv.u.i, o->ts[k]);
			assert_int_equal(vv.u.i, o->val[k]);
		}
		if (s->file)
			for (int c = 0; c < NC; c++)
				segfile_cursor_free(&cur[c]);
	}
	size_t live = 0;
	for (int k = 0; k < NKEYS; k++)
		live += o->present[k] && !o->del[k];
	assert_int_equal(visible, live);
	arena_free(&a);
	partition_view_release(v);
}

static void
configure(Partition *p)
{
	SegColOpt opts[NC];
	memset(opts, 0, sizeof(opts));
	for (int c = 0; c < NC; c++) {
		opts[c].name = names[c];
		opts[c].dict = c == C_KEY || c == C_TAGS;
	}
	PartConfig pc = {0};
	pc.ncols = NC;
	pc.cols = opts;
	pc.sort_col = C_VAL;	/* must be ignored: rows keep their places */
	pc.time_col = -1;
	Err e = {0};
	assert_int_equal(partition_configure(p, &pc, &e), 0);
}

static void
remove_snapshots(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "upsert-", 7) == 0) {
			char path[600];
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
}

static void
test_collisions_versions_deletes_restart(void **state)
{
	(void)state;
	setup_cols();
	char dir[] = "/tmp/wbups-XXXXXX";
	assert_non_null(mkdtemp(dir));
	UpsertCfg u = cfg_full(3);	/* 8 hash values for 300 keys */
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(dir, 0, NC, cols, &u, &p, &e), 0);
	configure(p);
	Oracle o;
	memset(&o, 0, sizeof(o));
	unsigned seed = 7;
	RowBatch b;
	rowbatch_init(&b, NC);
	for (int round = 0; round < 12; round++) {
		rowbatch_reset(&b);
		for (int i = 0; i < 250; i++) {
			int k = rand_r(&seed) % NKEYS;
			int64_t ts = rand_r(&seed) % 1000;
			int64_t v = round * 1000 + i;
			int del = rand_r(&seed) % 10 == 0;
			add(&b, k, ts, v, del);
			oracle_apply(&o, k, ts, v, del);
		}
		assert_int_equal(partition_write(p, &b, &e), 0);
		check(p, &o);
		if (round % 4 == 3)
			assert_int_equal(partition_seal(p, &e), 0);
	}
	check(p, &o);
	UpsertStats st;
	partition_upsert_stats(p, &st);
	assert_true(st.collisions > 0);
	partition_close(p);
	/* restart from the snapshot of the last seal plus the log */
	assert_int_equal(partition_open(dir, 0, NC, cols, &u, &p, &e), 0);
	configure(p);
	check(p, &o);
	partition_close(p);
	/* and without any snapshot: rebuilt from the segments */
	remove_snapshots(dir);
	assert_int_equal(partition_open(dir, 0, NC, cols, &u, &p, &e), 0);
	configure(p);
	check(p, &o);
	/* a newer version revives a deleted key; an older one does not */
	int dk = -1;
	for (int k = 0; k < NKEYS && dk < 0; k++)
		if (o.present[k] && o.del[k])
			dk = k;
	assert_true(dk >= 0);
	rowbatch_reset(&b);
	add(&b, dk, o.ts[dk] - 1, 1, 0);
	oracle_apply(&o, dk, o.ts[dk] - 1, 1, 0);
	assert_int_equal(partition_write(p, &b, &e), 0);
	check(p, &o);
	rowbatch_reset(&b);
	add(&b, dk, o.ts[dk] + 1, 2, 0);
	oracle_apply(&o, dk, o.ts[dk] + 1, 2, 0);
	assert_int_equal(partition_write(p, &b, &e), 0);
	check(p, &o);
	rowbatch_free(&b);
	partition_close(p);
	Err fe = {0};
	file_remove_tree(dir, &fe);
}

/* Writes that fail on an allocation leave the state as if they never
 * happened. */
static void
test_failed_writes_leave_no_trace(void **state)
{
	(void)state;
	setup_cols();
	char dir[] = "/tmp/wbups-XXXXXX";
	assert_non_null(mkdtemp(dir));
	UpsertCfg u = cfg_full(2);
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(dir, 0, NC, cols, &u, &p, &e), 0);
	configure(p);
	Oracle o;
	memset(&o, 0, sizeof(o));
	unsigned seed = 11;
	RowBatch b;
	rowbatch_init(&b, NC);
	int failed = 0;
	for (int round = 0; round < 60; round++) {
		rowbatch_reset(&b);
		int ks[40];
		int64_t ts[40], vs[40];
		int dl[40];
		for (int i = 0; i < 40; i++) {
			ks[i] = rand_r(&seed) % NKEYS;
			ts[i] = rand_r(&seed) % 100;
			vs[i] = round * 100 + i;
			dl[i] = rand_r(&seed) % 8 == 0;
			add(&b, ks[i], ts[i], vs[i], dl[i]);
		}
		mem_fail_nth(1 + round % 7);
		int rc = partition_write(p, &b, &e);
		mem_fail_nth(0);
		if (rc == 0)
			for (int i = 0; i < 40; i++)
				oracle_apply(&o, ks[i], ts[i], vs[i], dl[i]);
		else
			failed++;
		err_clear(&e);
		check(p, &o);
	}
	assert_true(failed > 0);
	rowbatch_free(&b);
	partition_close(p);
	assert_int_equal(partition_open(dir, 0, NC, cols, &u, &p, &e), 0);
	check(p, &o);
	partition_close(p);
	Err fe = {0};
	file_remove_tree(dir, &fe);
}

static Value
tags(RowBatch *b, const char *a, const char *c)
{
	Value *el = arena_alloc(&b->arena, sizeof(Value) * 2);
	int n = 0;
	if (a)
		el[n++] = value_str(TYPE_STRING, a, (uint32_t)strlen(a));
	if (c)
		el[n++] = value_str(TYPE_STRING, c, (uint32_t)strlen(c));
	Value v = {.type = TYPE_STRING, .mv = 1, .n = (uint32_t)n};
	v.u.mv = el;
	return v;
}

static void
test_partial_strategies(void **state)
{
	(void)state;
	setup_cols();
	char dir[] = "/tmp/wbups-XXXXXX";
	assert_non_null(mkdtemp(dir));
	UpsertCfg u = cfg_full(0);
	u.partial = 1;
	u.strategy = strat;
	strat[C_VAL] = TBL_UPS_INCREMENT;
	strat[C_TAGS] = TBL_UPS_UNION;
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(dir, 0, NC, cols, &u, &p, &e), 0);
	configure(p);
	RowBatch b;
	rowbatch_init(&b, NC);
	add(&b, 1, 10, 5, 0);
	rowbatch_row(&b, 0)[C_TAGS] = tags(&b, "a", "b");
	add(&b, 1, 20, 7, 0);	/* same batch: merges with the row above */
	rowbatch_row(&b, 1)[C_TAGS] = tags(&b, "b", "c");
	assert_int_equal(partition_write(p, &b, &e), 0);
	rowbatch_reset(&b);
	add(&b, 1, 5, 100, 0);	/* older: not merged, invisible */
	add(&b, 1, 30, 1, 0);
	rowbatch_row(&b, 1)[C_TAGS] = tags(&b, "a", "d");
	assert_int_equal(partition_write(p, &b, &e), 0);
	assert_int_equal(partition_seal(p, &e), 0);
	rowbatch_reset(&b);
	add(&b, 1, 40, 10, 0);	/* merges with the sealed version */
	assert_int_equal(partition_write(p, &b, &e), 0);
	PartView *v = partition_view(p);
	Arena a;
	arena_init(&a, 1024);
	int found = 0;
	for (int i = 0; i < v->nsegs; i++) {
		const PartSeg *s = &v->segs[i];
		for (size_t r = 0; r < s->rows; r++) {
			if (!((s->valid[r >> 6] >> (r & 63)) & 1))
				continue;
			assert_null(s->file);
			Value val, tg;
			assert_int_equal(mutcol_value(mutseg_col(s->mut, C_VAL), r, &val, &a), 0);
			assert_int_equal(mutcol_value(mutseg_col(s->mut, C_TAGS), r, &tg, &a), 0);
			assert_int_equal(val.u.i, 5 + 7 + 1 + 10);
			assert_int_equal(tg.n, 4);	/* a b c d */
			assert_memory_equal(tg.u.mv[3].u.s, "d", 1);
			found++;
		}
	}
	assert_int_equal(found, 1);
	arena_free(&a);
	partition_view_release(v);
	rowbatch_free(&b);
	partition_close(p);
	Err fe = {0};
	file_remove_tree(dir, &fe);
}

/* Two integer key columns: keys whose values fit 32 bits hash exactly,
 * others (a huge first column) go the verified way; both kinds live side
 * by side, including keys that differ only in which kind they are. */
static void
test_two_integer_keys(void **state)
{
	(void)state;
	ColDesc c2[4];
	memset(c2, 0, sizeof(c2));
	c2[0].type = TYPE_LONG;
	c2[1].type = TYPE_INT;
	c2[2].type = TYPE_LONG;
	c2[3].type = TYPE_LONG;
	const char *n2[4] = {"a", "b", "ts", "v"};
	int st2[4] = {0};
	UpsertCfg u;
	memset(&u, 0, sizeof(u));
	u.on = 1;
	u.ncols = 4;
	u.names = n2;
	u.npk = 2;
	u.pk[0] = 0;
	u.pk[1] = 1;
	u.ncmp = 1;
	u.cmp[0] = 2;
	u.strategy = st2;
	u.delete_col = u.ooo_col = -1;
	char dir[] = "/tmp/wbups-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(dir, 0, 4, c2, &u, &p, &e), 0);
	enum { NA = 20, NB = 10 };
	int64_t best_ts[2 * NA][NB], best_v[2 * NA][NB];
	memset(best_ts, 0xff, sizeof(best_ts));	/* -1: none */
	unsigned seed = 3;
	RowBatch b;
	rowbatch_init(&b, 4);
	for (int round = 0; round < 10; round++) {
		rowbatch_reset(&b);
		for (int i = 0; i < 300; i++) {
			int ai = rand_r(&seed) % (2 * NA), bi = rand_r(&seed) % NB;
			/* ai >= NA: the same low bits, but past 32 bits */
			int64_t a = ai < NA ? ai : ((int64_t)1 << 40) + (ai - NA);
			int64_t ts = rand_r(&seed) % 500, v = round * 1000 + i;
			Value *r = rowbatch_add_row(&b);
			r[0] = value_int(TYPE_LONG, a);
			r[1] = value_int(TYPE_INT, bi);
			r[2] = value_int(TYPE_LONG, ts);
			r[3] = value_int(TYPE_LONG, v);
			if (ts >= best_ts[ai][bi]) {
				best_ts[ai][bi] = ts;
				best_v[ai][bi] = v;
			}
		}
		assert_int_equal(partition_write(p, &b, &e), 0);
	}
	PartView *v = partition_view(p);
	size_t live = 0, visible = 0;
	for (int ai = 0; ai < 2 * NA; ai++)
		for (int bi = 0; bi < NB; bi++)
			live += best_ts[ai][bi] >= 0;
	Arena a;
	arena_init(&a, 1024);
	for (int i = 0; i < v->nsegs; i++) {
		const PartSeg *s = &v->segs[i];
		for (size_t r = 0; r < s->rows; r++) {
			if (!((s->valid[r >> 6] >> (r & 63)) & 1))
				continue;
			visible++;
			Value av, bv, vv;
			assert_int_equal(mutcol_value(mutseg_col(s->mut, 0), r, &av, &a), 0);
			assert_int_equal(mutcol_value(mutseg_col(s->mut, 1), r, &bv, &a), 0);
			assert_int_equal(mutcol_value(mutseg_col(s->mut, 3), r, &vv, &a), 0);
			int ai = av.u.i < NA ? (int)av.u.i : NA + (int)(av.u.i - ((int64_t)1 << 40));
			assert_int_equal(vv.u.i, best_v[ai][bv.u.i]);
		}
	}
	assert_int_equal(visible, live);
	arena_free(&a);
	partition_view_release(v);
	rowbatch_free(&b);
	partition_close(p);
	Err fe = {0};
	file_remove_tree(dir, &fe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collisions_versions_deletes_restart),
		cmocka_unit_test(test_failed_writes_leave_no_trace),
		cmocka_unit_test(test_partial_strategies),
		cmocka_unit_test(test_two_integer_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
