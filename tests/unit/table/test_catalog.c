/*
 * test_catalog.c -- the catalog and the write path: schemas and tables
 * persist across reopen, rows written through table_write are durable
 * (replayed from the log), concurrent writers are group-committed, the
 * data directory is locked, dead letters are stored, and errors name the
 * problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "table/catalog.h"

static const char schema_json[] =
	"{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
	"{\"name\":\"tag\",\"dataType\":\"STRING\"}],"
	"\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}]}";
static const char table_json[] =
	"{\"tableName\":\"ev\",\"tableType\":\"REALTIME\",\"segmentsConfig\":{\"schemaName\":\"ev\"},"
	"\"tableIndexConfig\":{},\"tenants\":{},\"metadata\":{}}";

static void
write_rows(Table *t, long from, long n)
{
	RowBatch b;
	rowbatch_init(&b, 3);
	for (long i = from; i < from + n; i++) {
		Value *r = rowbatch_add_row(&b);
		r[0] = value_int(TYPE_LONG, i);
		char *s = arena_printf(&b.arena, "t%ld", i % 10);
		r[1] = value_str(TYPE_STRING, s, (uint32_t)strlen(s));
		r[2] = value_double(TYPE_DOUBLE, (double)i / 2);
	}
	Err e = {0};
	assert_int_equal(table_write(t, &b, &e), 0);
	rowbatch_free(&b);
}

static size_t
count_rows(Table *t, long *sum)
{
	TableSnap s;
	Err e = {0};
	assert_int_equal(table_snapshot(t, &s, &e), 0);
	*sum = 0;
	for (int i = 0; i < s.nsegs; i++)
		for (size_t r = 0; r < s.segs[i].rows; r++)
			*sum += *(const int64_t *)mutcol_data(mutseg_col(s.segs[i].seg, 0), r);
	size_t n = s.total_rows;
	table_snap_free(&s);
	return n;
}

typedef struct Writer {
	Table *t;
	long from;
} Writer;

static void *
writer(void *arg)
{
	Writer *w = arg;
	for (int k = 0; k < 20; k++)
		write_rows(w->t, w->from + k * 100, 100);
	return NULL;
}

static void
test_persist_and_replay(void **state)
{
	char dir[] = "/tmp/wbcat-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *c;
	Err e = {0};
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	/* a second server on the same directory is refused */
	Catalog *c2;
	Err e2 = {0};
	assert_int_equal(catalog_open(dir, &c2, &e2), ERR_BUSY);
	/* table before schema: the error names the missing schema */
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e),
			 ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "schema 'ev' does not exist"));
	err_clear(&e);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 0, NULL, &e), 0);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 0, NULL, &e), ERR_EXISTS);
	err_clear(&e);
	char *unrec = NULL;
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, &unrec, &e), 0);
	mem_free(unrec);
	Table *t = catalog_get_table(c, "ev_REALTIME");
	assert_non_null(t);
	Writer w[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (Writer){t, i * 100000L};
		pthread_create(&th[i], NULL, writer, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	long sum;
	assert_int_equal(count_rows(t, &sum), 8000);
	long want = sum;
	table_unref(t);
	assert_int_equal(catalog_dead_letter(c, "ev", "test", 7, "tag", "bad tag", "{\"x\"", 4, &e), 0);
	catalog_close(c);

	assert_int_equal(catalog_open(dir, &c, &e), 0);
	t = catalog_get_table_ci(c, "EV");
	assert_non_null(t);
	assert_int_equal(count_rows(t, &sum), 8000);
	assert_int_equal(sum, want);
	table_unref(t);
	Table *dl = catalog_get_table(c, "sys.dead_letters");
	assert_non_null(dl);
	assert_int_equal(count_rows(dl, &sum), 1);
	table_unref(dl);
	/* schema in use cannot be deleted; dropping the table removes its data */
	assert_int_equal(catalog_delete_schema(c, "ev", &e), ERR_EXISTS);
	err_clear(&e);
	assert_int_equal(catalog_delete_table(c, "ev", -1, &e), 0);
	char tdir[300];
	snprintf(tdir, sizeof(tdir), "%s/tables/ev", dir);
	assert_false(file_exists(tdir));
	assert_int_equal(catalog_delete_schema(c, "ev", &e), 0);
	assert_null(catalog_get_table(c, "ev"));
	catalog_close(c);
	file_remove_tree(dir, &e);
}

/* Regression: the in-use check compared Schema pointers, and a table keeps
 * the Schema it was opened with, so after one compatible replace a second
 * replace could change the columns of a table in use -- and the next start
 * failed replaying the log with the wrong column count. */
static void
test_schema_replace_twice_keeps_columns(void **state)
{
	char dir[] = "/tmp/wbcat-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *c;
	Err e = {0};
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 0, NULL, &e), 0);
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 1, NULL, &e), 0);
	static const char changed[] =
		"{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"}]}";
	assert_int_equal(catalog_put_schema(c, changed, strlen(changed), 1, NULL, &e), ERR_BAD_SCHEMA);
	assert_non_null(strstr(e.msg, "column 'tag'"));
	assert_non_null(strstr(e.msg, "table ev"));
	err_clear(&e);
	Table *t = catalog_get_table(c, "ev");
	write_rows(t, 0, 10);
	table_unref(t);
	catalog_close(c);
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	t = catalog_get_table(c, "ev");
	long sum;
	assert_int_equal(count_rows(t, &sum), 10);
	table_unref(t);
	catalog_close(c);
	file_remove_tree(dir, &e);
}

/* Regression: a dropped table kept its data directory until its last
 * reader ended, so a table re-created under the same name replayed the old
 * rows, and the old table's last unref then deleted the new table's data.
 * Also: data left behind by a drop that crashed after removing the config
 * must not come back when the name is created again. */
static void
test_drop_recreate_while_referenced(void **state)
{
	char dir[] = "/tmp/wbcat-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *c;
	Err e = {0};
	long sum;
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 0, NULL, &e), 0);
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	Table *old = catalog_get_table(c, "ev");
	write_rows(old, 0, 100);
	assert_int_equal(catalog_delete_table(c, "ev", -1, &e), 0);
	/* the old table still works for its reader */
	assert_int_equal(count_rows(old, &sum), 100);
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	Table *t = catalog_get_table(c, "ev");
	assert_ptr_not_equal(t, old);
	assert_int_equal(count_rows(t, &sum), 0);
	write_rows(t, 1000, 50);
	table_unref(old);	/* last reference: removes the OLD data only */
	assert_int_equal(count_rows(t, &sum), 50);
	table_unref(t);
	catalog_close(c);
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	t = catalog_get_table(c, "ev");
	assert_non_null(t);
	assert_int_equal(count_rows(t, &sum), 50);
	assert_int_equal(sum, 50 * 1000 + 49 * 50 / 2);
	table_unref(t);
	catalog_close(c);
	/* a crash between removing the config and moving the data */
	char path[300];
	snprintf(path, sizeof(path), "%s/catalog/tables/ev.REALTIME.json", dir);
	assert_int_equal(remove(path), 0);
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	assert_null(catalog_get_table(c, "ev"));
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	t = catalog_get_table(c, "ev");
	assert_int_equal(count_rows(t, &sum), 0);
	table_unref(t);
	catalog_close(c);
	file_remove_tree(dir, &e);
}

typedef struct Reader {
	Catalog *c;
	_Atomic int stop;
	_Atomic long lookups;
} Reader;

static void *
catalog_reader(void *arg)
{
	Reader *r = arg;
	while (!atomic_load(&r->stop)) {
		Table *t = catalog_get_table_ci(r->c, "EV");
		if (t) {
			TableStats st;
			table_stats(t, &st);
			long sum;
			count_rows(t, &sum);
			(void)table_config(t);
			table_unref(t);
		}
		Table **all;
		int n;
		if (catalog_tables(r->c, &all, &n) == 0) {
			for (int i = 0; i < n; i++)
				table_unref(all[i]);
			mem_free(all);
		}
		Buf b;
		buf_init(&b);
		catalog_list_tables(r->c, &b);
		buf_free(&b);
		atomic_fetch_add(&r->lookups, 1);
	}
	return NULL;
}

/* Readers look tables up, snapshot and count them while tables are
 * created, written, re-configured and dropped (run under TSan too). */
static void
test_catalog_changes_during_reads(void **state)
{
	char dir[] = "/tmp/wbcat-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *c;
	Err e = {0};
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 0, NULL, &e), 0);
	Reader r = {.c = c};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, catalog_reader, &r);
	for (int round = 0; round < 10; round++) {
		assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
		Table *t = catalog_get_table(c, "ev");
		write_rows(t, 0, 500);
		assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 1, NULL, NULL, &e), 0);
		write_rows(t, 500, 500);
		table_unref(t);
		assert_int_equal(catalog_delete_table(c, "ev", -1, &e), 0);
	}
	atomic_store(&r.stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(r.lookups > 0);
	catalog_close(c);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_persist_and_replay),
		cmocka_unit_test(test_schema_replace_twice_keeps_columns),
		cmocka_unit_test(test_drop_recreate_while_referenced),
		cmocka_unit_test(test_catalog_changes_during_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
