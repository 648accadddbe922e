/*
 * test_quarantine.c -- a log record that passes its checksum but cannot be
 * replayed (it does not decode for this table) must not stop the server:
 * the partition serves the rows before it, the record and the rest of the
 * log are kept aside as a QUARANTINED segment (listed by
 * table_segment_info, for sys.segments), and new writes after the restart
 * are durable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "storage/wal.h"
#include "table/catalog.h"

static const char schema_json[] =
	"{\"schemaName\":\"q\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"}]}";
static const char table_json[] = "{\"tableName\":\"q\",\"tableType\":\"REALTIME\"}";

static void
write_ids(Table *t, long from, long n)
{
	RowBatch b;
	rowbatch_init(&b, 1);
	for (long i = from; i < from + n; i++)
		rowbatch_add_row(&b)[0] = value_int(TYPE_LONG, i);
	Err e = {0};
	assert_int_equal(table_write(t, &b, &e), 0);
	rowbatch_free(&b);
}

static size_t
rows_of(Table *t)
{
	TableSnap s;
	Err e = {0};
	assert_int_equal(table_snapshot(t, &s, &e), 0);
	size_t n = s.total_rows;
	table_snap_free(&s);
	return n;
}

static void
test_unreplayable_record_is_quarantined(void **state)
{
	char dir[] = "/tmp/wbquar-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *c;
	Err e = {0};
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	assert_int_equal(catalog_put_schema(c, schema_json, strlen(schema_json), 0, NULL, &e), 0);
	assert_int_equal(catalog_put_table(c, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	Table *t = catalog_get_table(c, "q");
	write_ids(t, 0, 100);
	table_unref(t);
	catalog_close(c);

	/* an intact record (valid frame and checksum) that is not a row batch
	 * of this table, followed by a good-looking one */
	char path[512];
	snprintf(path, sizeof(path), "%s/tables/q/p0/wal.log", dir);
	Wal *w;
	assert_int_equal(wal_open(path, NULL, NULL, &w, &e), 0);
	assert_int_equal(wal_append(w, "\x05\x00\x00\x00\x07\x00\x00\x00garbage", 15, &e), 0);
	assert_int_equal(wal_append(w, "more", 4, &e), 0);
	assert_int_equal(wal_sync(w, &e), 0);
	wal_close(w);

	assert_int_equal(catalog_open(dir, &c, &e), 0);	/* the server starts */
	t = catalog_get_table(c, "q");
	assert_non_null(t);
	assert_int_equal(rows_of(t), 100);
	SegInfo *si;
	int n;
	assert_int_equal(table_segment_info(t, &si, &n, &e), 0);
	int quarantined = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(si[i].state, "QUARANTINED") == 0) {
			quarantined++;
			assert_true(file_exists(si[i].path));
			assert_true(si[i].bytes > 0);
		}
	}
	assert_int_equal(quarantined, 1);
	mem_free(si);
	write_ids(t, 100, 10);
	table_unref(t);
	catalog_close(c);

	assert_int_equal(catalog_open(dir, &c, &e), 0);
	t = catalog_get_table(c, "q");
	assert_int_equal(rows_of(t), 110);
	table_unref(t);
	catalog_close(c);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreplayable_record_is_quarantined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
