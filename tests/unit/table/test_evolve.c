/*
 * test_evolve.c -- adding columns to a schema whose table holds rows:
 * old rows read the new columns as NULL (default value stored), rows
 * written before and after survive a restart, batches built for the old
 * schema are mapped, non-additions are refused naming the column, a crash
 * at each step of the change reopens to a consistent state (the old
 * schema with the old data, or the new schema with all of it), and
 * queries and writers running during the change see one layout per
 * snapshot and lose nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "table/catalog.h"
#include "table/table_int.h"

/* v1: id, tag | v */
static const char schema_v1[] =
	"{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
	"{\"name\":\"tag\",\"dataType\":\"STRING\"}],"
	"\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}]}";
/* v2: zone (first: every old column moves), id, tag, region | v, cnt */
static const char schema_v2[] =
	"{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"zone\",\"dataType\":\"INT\"},"
	"{\"name\":\"id\",\"dataType\":\"LONG\"},"
	"{\"name\":\"tag\",\"dataType\":\"STRING\"},"
	"{\"name\":\"region\",\"dataType\":\"STRING\"},"
	"{\"name\":\"labels\",\"dataType\":\"STRING\",\"singleValueField\":false}],"
	"\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"},"
	"{\"name\":\"cnt\",\"dataType\":\"LONG\"}]}";
/* v3: v2 + a metric */
static const char schema_v3[] =
	"{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"zone\",\"dataType\":\"INT\"},"
	"{\"name\":\"id\",\"dataType\":\"LONG\"},"
	"{\"name\":\"tag\",\"dataType\":\"STRING\"},"
	"{\"name\":\"region\",\"dataType\":\"STRING\"},"
	"{\"name\":\"labels\",\"dataType\":\"STRING\",\"singleValueField\":false}],"
	"\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"},"
	"{\"name\":\"cnt\",\"dataType\":\"LONG\"},{\"name\":\"w\",\"dataType\":\"FLOAT\"}]}";
/* two partitions by id */
static const char table_json[] =
	"{\"tableName\":\"ev\",\"tableType\":\"REALTIME\",\"segmentsConfig\":{\"schemaName\":\"ev\"},"
	"\"tableIndexConfig\":{\"segmentPartitionConfig\":{\"columnPartitionMap\":"
	"{\"id\":{\"functionName\":\"Murmur\",\"numPartitions\":2}}}},\"tenants\":{},\"metadata\":{}}";

static Catalog *
open_cat(const char *dir)
{
	Catalog *c;
	Err e = {0};
	int rc = catalog_open(dir, &c, &e);
	if (rc)
		fail_msg("catalog_open %s: %s", dir, err_msg(&e));
	return c;
}

static void
put_schema(Catalog *c, const char *json, int want)
{
	Err e = {0};
	int rc = catalog_put_schema(c, json, strlen(json), 1, "ev", &e);
	if (rc != want)
		fail_msg("put_schema: %d (%s), wanted %d", rc, err_msg(&e), want);
}

/* Writes rows [from, from+n) in the layout of schema s (by name): id = i,
 * tag = "t<i%10>", v = i/2, cnt = i (if present), others NULL. */
static int
write_rows_as(Table *t, const Schema *s, long from, long n)
{
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	int iid = schema_find(s, "id"), itag = schema_find(s, "tag"), iv = schema_find(s, "v");
	int icnt = schema_find(s, "cnt");
	for (long i = from; i < from + n; i++) {
		Value *r = rowbatch_add_row(&b);
		assert_non_null(r);
		for (int k = 0; k < s->nfields; k++) {
			r[k] = s->fields[k].default_null;
			r[k].null = 1;
			if (!s->fields[k].single_value) {
				r[k].mv = 1;
				r[k].u.mv = &s->fields[k].default_null;
				r[k].n = 1;
			}
		}
		r[iid] = value_int(TYPE_LONG, i);
		char *str = arena_printf(&b.arena, "t%ld", i % 10);
		r[itag] = value_str(TYPE_STRING, str, (uint32_t)strlen(str));
		r[iv] = value_double(TYPE_DOUBLE, (double)i / 2);
		if (icnt >= 0)
			r[icnt] = value_int(TYPE_LONG, i);
	}
	Err e = {0};
	int rc = table_write(t, &b, &e);
	rowbatch_free(&b);
	return rc;
}

typedef struct Seen {
	size_t rows;
	long sum_id;
	size_t null_region, null_cnt;	/* rows whose column is NULL */
	size_t cnt_rows;		/* rows with cnt == id */
} Seen;

/* Reads every row of a snapshot by column name; checks that every
 * segment follows the snapshot's schema and that the values are right. */
static Seen
scan(Table *t)
{
	TableSnap s;
	Err e = {0};
	assert_int_equal(table_snapshot(t, &s, &e), 0);
	assert_non_null(s.schema);
	const Schema *sc = s.schema;
	int iid = schema_find(sc, "id"), itag = schema_find(sc, "tag"), iv = schema_find(sc, "v");
	int ireg = schema_find(sc, "region"), icnt = schema_find(sc, "cnt");
	int izone = schema_find(sc, "zone"), ilab = schema_find(sc, "labels");
	Seen seen = {0};
	Arena a;
	arena_init(&a, 4096);
	for (int p = 0; p < s.nsegs; p++) {
		const MutSeg *seg = s.segs[p].seg;
		assert_int_equal(mutseg_ncols(seg), sc->nfields);
		for (int k = 0; k < sc->nfields; k++)
			assert_int_equal(mutcol_type(mutseg_col(seg, k)), sc->fields[k].type);
		for (size_t r = 0; r < s.segs[p].rows; r++) {
			long id = (long)*(const int64_t *)mutcol_data(mutseg_col(seg, iid), r);
			double v = *(const double *)mutcol_data(mutseg_col(seg, iv), r);
			assert_true(v == (double)id / 2);
			Value tv;
			assert_int_equal(mutcol_value(mutseg_col(seg, itag), r, &tv, &a), 0);
			char want[32];
			snprintf(want, sizeof(want), "t%ld", id % 10);
			assert_int_equal(tv.n, strlen(want));
			assert_memory_equal(tv.u.s, want, tv.n);
			if (ireg >= 0 && mutcol_is_null(mutseg_col(seg, ireg), r)) {
				seen.null_region++;
				/* the default null value is stored */
				assert_int_equal(mutcol_value(mutseg_col(seg, ireg), r, &tv, &a), 0);
				assert_int_equal(tv.n, 4);
				assert_memory_equal(tv.u.s, "null", 4);
			}
			if (izone >= 0 && mutcol_is_null(mutseg_col(seg, izone), r))
				assert_int_equal(*(const int32_t *)mutcol_data(mutseg_col(seg, izone), r),
						 INT32_MIN);
			if (ilab >= 0)
				assert_true(mutcol_is_null(mutseg_col(seg, ilab), r));
			if (icnt >= 0) {
				int64_t cnt = *(const int64_t *)mutcol_data(mutseg_col(seg, icnt), r);
				if (mutcol_is_null(mutseg_col(seg, icnt), r)) {
					seen.null_cnt++;
					assert_int_equal(cnt, 0);	/* metric default */
				} else {
					assert_int_equal(cnt, id);
					seen.cnt_rows++;
				}
			}
			seen.sum_id += id;
			seen.rows++;
		}
	}
	assert_int_equal(seen.rows, s.total_rows);
	arena_free(&a);
	table_snap_free(&s);
	return seen;
}

static long
sum_range(long from, long n)
{
	return (from + from + n - 1) * n / 2;
}

static int
count_files(const char *dir, const char *name)
{
	char p[512];
	int n = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/tables/ev/p%d/%s", dir, i, name);
		n += file_exists(p);
	}
	return n;
}

static Catalog *
setup(char *dir, long rows)
{
	assert_non_null(mkdtemp(dir));
	Catalog *c = open_cat(dir);
	Err e = {0};
	assert_int_equal(catalog_put_schema(c, schema_v1, strlen(schema_v1), 0, NULL, &e), 0);
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	Table *t = catalog_get_table(c, "ev");
	assert_int_equal(write_rows_as(t, table_schema(t), 0, rows), 0);
	table_unref(t);
	return c;
}

static void
test_add_columns_keeps_rows(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbevolve-XXXXXX";
	Catalog *c = setup(dir, 1000);
	Table *t = catalog_get_table(c, "ev");
	const Schema *v1 = table_schema(t);
	unsigned long ver = catalog_version(c);
	put_schema(c, schema_v2, 0);
	assert_true(catalog_version(c) > ver);
	assert_int_equal(table_schema(t)->nfields, 7);
	Seen s = scan(t);
	assert_int_equal(s.rows, 1000);
	assert_int_equal(s.sum_id, sum_range(0, 1000));
	assert_int_equal(s.null_region, 1000);
	assert_int_equal(s.null_cnt, 1000);
	/* new layout, and a batch still built for v1 (an upload that began
	 * before the change): mapped, new columns NULL */
	assert_int_equal(write_rows_as(t, table_schema(t), 1000, 100), 0);
	assert_int_equal(write_rows_as(t, v1, 1100, 50), 0);
	s = scan(t);
	assert_int_equal(s.rows, 1150);
	assert_int_equal(s.cnt_rows, 100);
	assert_int_equal(s.null_cnt, 1050);
	table_unref(t);
	catalog_close(c);
	assert_int_equal(count_files(dir, "wal.next"), 0);

	c = open_cat(dir);
	t = catalog_get_table(c, "ev");
	assert_int_equal(table_schema(t)->nfields, 7);
	s = scan(t);
	assert_int_equal(s.rows, 1150);
	assert_int_equal(s.sum_id, sum_range(0, 1150));
	assert_int_equal(s.cnt_rows, 100);
	assert_int_equal(s.null_region, 1150);
	/* a second change after a restart */
	put_schema(c, schema_v3, 0);
	assert_int_equal(write_rows_as(t, table_schema(t), 1150, 10), 0);
	s = scan(t);
	assert_int_equal(s.rows, 1160);
	assert_int_equal(s.cnt_rows, 110);
	table_unref(t);
	catalog_close(c);
	c = open_cat(dir);
	t = catalog_get_table(c, "ev");
	assert_int_equal(table_schema(t)->nfields, 8);
	assert_int_equal(scan(t).rows, 1160);
	table_unref(t);
	catalog_close(c);
	Err e = {0};
	file_remove_tree(dir, &e);
}

static void
expect_refused(Catalog *c, const char *json, const char *col, const char *why)
{
	Err e = {0};
	assert_int_equal(catalog_put_schema(c, json, strlen(json), 1, "ev", &e), ERR_BAD_SCHEMA);
	if (strstr(e.msg, col) == NULL || strstr(e.msg, why) == NULL)
		fail_msg("message '%s' lacks '%s' or '%s'", e.msg, col, why);
}

static void
test_non_additions_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbevolve-XXXXXX";
	Catalog *c = setup(dir, 10);
	expect_refused(c,
		       "{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"}],"
		       "\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}]}",
		       "column 'tag'", "dropping");
	expect_refused(c,
		       "{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
		       "{\"name\":\"tag\",\"dataType\":\"STRING\"}],"
		       "\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"LONG\"}]}",
		       "column 'v'", "dataType from DOUBLE to LONG");
	expect_refused(c,
		       "{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
		       "{\"name\":\"tag\",\"dataType\":\"STRING\",\"singleValueField\":false},"
		       "{\"name\":\"extra\",\"dataType\":\"INT\"}],"
		       "\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}]}",
		       "column 'tag'", "singleValueField");
	/* nothing changed, on disk or in memory */
	Schema *s = catalog_get_schema(c, "ev");
	assert_int_equal(s->nfields, 3);
	schema_unref(s);
	Table *t = catalog_get_table(c, "ev");
	assert_int_equal(table_schema(t)->nfields, 3);
	assert_int_equal(scan(t).rows, 10);
	/* same columns, another default: accepted, no rewrite */
	put_schema(c,
		   "{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
		   "{\"name\":\"tag\",\"dataType\":\"STRING\",\"defaultNullValue\":\"none\"}],"
		   "\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}]}",
		   0);
	assert_int_equal(table_schema(t)->nfields, 3);
	assert_int_equal(strcmp(table_schema(t)->fields[1].default_null.u.s, "none"), 0);
	table_unref(t);
	catalog_close(c);
	c = open_cat(dir);
	t = catalog_get_table(c, "ev");
	assert_int_equal(scan(t).rows, 10);
	table_unref(t);
	catalog_close(c);
	Err e = {0};
	file_remove_tree(dir, &e);
}

static void
copy_dir(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	assert_int_equal(system(cmd), 0);
}

/* Reopens a copy of the data directory taken mid-change (a crash at
 * that moment) and checks it holds one consistent state. */
static void
check_reopen(const char *dir, int want_fields, long rows)
{
	Catalog *c = open_cat(dir);
	Table *t = catalog_get_table(c, "ev");
	assert_non_null(t);
	assert_int_equal(table_schema(t)->nfields, want_fields);
	Schema *cs = catalog_get_schema(c, "ev");
	assert_int_equal(cs->nfields, want_fields);
	schema_unref(cs);
	Seen s = scan(t);
	assert_int_equal(s.rows, (size_t)rows);
	assert_int_equal(s.sum_id, sum_range(0, rows));
	if (want_fields > 3)
		assert_int_equal(s.null_region, (size_t)rows);
	/* and it goes on working: a write, a change, a restart */
	assert_int_equal(write_rows_as(t, table_schema(t), rows, 5), 0);
	put_schema(c, schema_v3, 0);
	assert_int_equal(write_rows_as(t, table_schema(t), rows + 5, 5), 0);
	table_unref(t);
	catalog_close(c);
	assert_int_equal(count_files(dir, "wal.next"), 0);
	c = open_cat(dir);
	t = catalog_get_table(c, "ev");
	assert_int_equal(table_schema(t)->nfields, 8);
	s = scan(t);
	assert_int_equal(s.rows, (size_t)rows + 10);
	assert_int_equal(s.cnt_rows, want_fields > 3 ? 10 : 5);
	table_unref(t);
	catalog_close(c);
	Err e = {0};
	file_remove_tree(dir, &e);
}

static void
test_crash_at_each_step(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbevolve-XXXXXX";
	const long rows = 3000;
	Catalog *c = setup(dir, rows);
	Table *t = catalog_get_table(c, "ev");
	Schema *v2;
	Err e = {0};
	assert_int_equal(schema_parse(schema_v2, strlen(schema_v2), &v2, &e), 0);
	char a[600], a2[600], a3[600], b[600], cc[600], p[700], q[700];
	snprintf(a, sizeof(a), "%s-a", dir);
	snprintf(a2, sizeof(a2), "%s-a2", dir);
	snprintf(a3, sizeof(a3), "%s-a3", dir);
	snprintf(b, sizeof(b), "%s-b", dir);
	snprintf(cc, sizeof(cc), "%s-c", dir);

	/* step 1 done: every partition wrote wal.next; schema not replaced */
	assert_int_equal(table__evolve_prepare(t, v2, &e), 0);
	assert_int_equal(count_files(dir, "wal.next"), 2);
	copy_dir(dir, a);
	/* crash while writing wal.next: torn after a few bytes, and torn
	 * inside the rows */
	copy_dir(dir, a2);
	snprintf(p, sizeof(p), "%s/tables/ev/p0/wal.next", a2);
	assert_int_equal(truncate(p, 10), 0);
	copy_dir(dir, a3);
	snprintf(p, sizeof(p), "%s/tables/ev/p1/wal.next", a3);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size / 2), 0);

	/* step 2 done: the commit point, the schema file is replaced */
	snprintf(p, sizeof(p), "%s/catalog/schemas/ev.json", dir);
	assert_int_equal(file_write_atomic(p, schema_v2, strlen(schema_v2), &e), 0);
	copy_dir(dir, b);

	/* step 3 half done: partition 0 renamed its log, partition 1 not */
	copy_dir(dir, cc);
	snprintf(p, sizeof(p), "%s/tables/ev/p0/wal.next", cc);
	snprintf(q, sizeof(q), "%s/tables/ev/p0/wal.log", cc);
	assert_int_equal(rename(p, q), 0);

	/* the live change completes */
	assert_int_equal(table__evolve_finish(t), 0);
	assert_int_equal(count_files(dir, "wal.next"), 0);
	assert_int_equal(scan(t).rows, (size_t)rows);
	table_unref(t);
	schema_unref(v2);
	catalog_close(c);

	check_reopen(a, 3, rows);
	check_reopen(a2, 3, rows);
	check_reopen(a3, 3, rows);
	check_reopen(b, 7, rows);
	check_reopen(cc, 7, rows);
	check_reopen(dir, 7, rows);
}

/* An aborted change (e.g. the schema file could not be written) leaves
 * the table as it was and takes writes again. */
static void
test_abort_restores_writes(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbevolve-XXXXXX";
	Catalog *c = setup(dir, 100);
	Table *t = catalog_get_table(c, "ev");
	Schema *v2;
	Err e = {0};
	assert_int_equal(schema_parse(schema_v2, strlen(schema_v2), &v2, &e), 0);
	assert_int_equal(table__evolve_prepare(t, v2, &e), 0);
	table__evolve_abort(t);
	assert_int_equal(count_files(dir, "wal.next"), 0);
	assert_int_equal(table_schema(t)->nfields, 3);
	assert_int_equal(write_rows_as(t, table_schema(t), 100, 10), 0);
	assert_int_equal(scan(t).rows, 110);
	table_unref(t);
	schema_unref(v2);
	catalog_close(c);
	check_reopen(dir, 3, 110);
}

typedef struct Shared {
	Table *t;
	_Atomic int stop;
	_Atomic long next_id;	/* ids handed out to writers */
	_Atomic long acked_rows;
	_Atomic long acked_sum;
	_Atomic long snaps;
	const Schema *v1;
} Shared;

static void *
writer_thread(void *arg)
{
	Shared *sh = arg;
	for (int k = 0; !atomic_load(&sh->stop); k++) {
		long from = atomic_fetch_add(&sh->next_id, 20);
		/* odd rounds keep using the first schema, as an upload that
		 * started before the change would */
		const Schema *s = (k & 1) ? sh->v1 : table_schema(sh->t);
		if (write_rows_as(sh->t, s, from, 20) == 0) {
			atomic_fetch_add(&sh->acked_rows, 20);
			atomic_fetch_add(&sh->acked_sum, sum_range(from, 20));
		}
	}
	return NULL;
}

static void *
reader_thread(void *arg)
{
	Shared *sh = arg;
	size_t last = 0;
	while (!atomic_load(&sh->stop)) {
		Seen s = scan(sh->t);
		assert_true(s.rows >= last);
		last = s.rows;
		atomic_fetch_add(&sh->snaps, 1);
	}
	return NULL;
}

static void
test_concurrent_reads_and_writes(void **state)
{
	(void)state;
	char dir[] = "/tmp/wbevolve-XXXXXX";
	Catalog *c = setup(dir, 2000);
	Shared sh = {0};
	sh.t = catalog_get_table(c, "ev");
	sh.v1 = table_schema(sh.t);
	atomic_store(&sh.next_id, 2000);
	atomic_store(&sh.acked_rows, 2000);
	atomic_store(&sh.acked_sum, sum_range(0, 2000));
	pthread_t w[3], r[2];
	for (int i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, writer_thread, &sh);
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, reader_thread, &sh);
	usleep(50 * 1000);
	put_schema(c, schema_v2, 0);
	usleep(50 * 1000);
	put_schema(c, schema_v3, 0);
	usleep(50 * 1000);
	atomic_store(&sh.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	assert_true(atomic_load(&sh.snaps) > 0);
	Seen s = scan(sh.t);
	long acked = atomic_load(&sh.acked_rows), sum = atomic_load(&sh.acked_sum);
	assert_int_equal((long)s.rows, acked);
	assert_int_equal(s.sum_id, sum);
	table_unref(sh.t);
	catalog_close(c);
	c = open_cat(dir);
	Table *t = catalog_get_table(c, "ev");
	assert_int_equal(table_schema(t)->nfields, 8);
	s = scan(t);
	assert_int_equal((long)s.rows, acked);
	assert_int_equal(s.sum_id, sum);
	table_unref(t);
	catalog_close(c);
	Err e = {0};
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_columns_keeps_rows),
		cmocka_unit_test(test_non_additions_refused),
		cmocka_unit_test(test_crash_at_each_step),
		cmocka_unit_test(test_abort_restores_writes),
		cmocka_unit_test(test_concurrent_reads_and_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
