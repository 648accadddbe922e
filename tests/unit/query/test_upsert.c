/*
 * test_upsert.c -- every query path honors the upsert validity bitmaps of
 * a snapshot's segments (SnapSeg.valid / nvalid), and Pinot's skipUpsert
 * (queryOptions, or SET skipUpsert = true) shows every version.
 *
 * The table layer is not asked to make the bitmaps: a snapshot hook
 * (query_set_snap_hook) gives each segment of "ev" and "dim" a bitmap
 * computed from the rows' id column by an oracle (ev_valid / dim_valid),
 * with garbage bits past the segment's rows (the contract leaves them
 * undefined).  "ev" has three sealed segments (a sorted index on cat, an
 * inverted index on pk) -- the third with no valid row at all -- and a
 * mutable one; whole 1,024-row batches without a valid row exist in a
 * sealed and in the mutable segment.  Each query's rows are compared with
 * the oracle's, with and without skipUpsert: count, sum, GROUP BY,
 * ROLLUP, index filters with residuals, selection LIMIT (the "pruned by
 * limit" count must use valid rows), ORDER BY top-N, LOOKUP, JOIN,
 * window functions, a derived table; and the Pinot statistics
 * (totalDocs = all rows, numDocsScanned = visible matching rows).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "query/query.h"
#include "table/catalog.h"

#define SEG_A 3000	/* ids [0, 3000): sealed */
#define SEG_B 6000	/* [3000, 6000): sealed */
#define SEG_C 6500	/* [6000, 6500): sealed, no valid row */
#define NROWS 9000	/* [6500, 9000): mutable */
#define NKEYS 10
#define NDIM 20

static Catalog *cat;
static char dir[64];
static int hook_calls;

/* ---- the oracle --------------------------------------------------------- */

static int
ev_valid(int64_t id)
{
	if (id >= SEG_B && id < SEG_C)
		return 0;
	if (id >= SEG_A + 1024 && id < SEG_A + 2048)
		return 0;	/* a sealed segment's batch (sorted by cat: scattered) */
	if (id >= SEG_C + 1024 && id < SEG_C + 2048)
		return 0;	/* the mutable segment's second batch */
	return ((uint64_t)id * 2654435761u >> 7) % 3 != 0;
}

/* dim: ids [0, 10) are the first version of key k<id>, [10, 20) the
 * second; the first is the valid one for even keys, the second for odd
 * keys, and key k9 is deleted (no valid version). */
static int
dim_valid(int64_t id)
{
	int key = (int)(id % NKEYS);
	if (key == 9)
		return 0;
	return (id < NKEYS) == (key % 2 == 0);
}

static const char *const cats[4] = {"a", "b", "c", "d"};

static const char *
ev_cat(int64_t id)
{
	return cats[(id / 3) % 4];
}

static int64_t
ev_v(int64_t id)
{
	return (id * 37) % 101;
}

static int
vis(int64_t id, int skip)
{
	return skip || ev_valid(id);
}

/* ---- the hook: bitmaps from the id column -------------------------------- */

static uint64_t *bitmaps[64];
static int nbitmaps;

static void
free_bitmaps(void)
{
	for (int i = 0; i < nbitmaps; i++)
		mem_free(bitmaps[i]);
	nbitmaps = 0;
}

static void
hook(TableSnap *snap, void *arg)
{
	(void)arg;
	const char *tn = table_name(snap->table);
	int (*fn)(int64_t) = strcmp(tn, "ev") == 0 ? ev_valid : strcmp(tn, "dim") == 0 ? dim_valid : NULL;
	if (fn == NULL)
		return;
	hook_calls++;
	int idc = -1;
	for (int c = 0; c < snap->schema->nfields; c++)
		if (strcmp(snap->schema->fields[c].name, "id") == 0)
			idc = c;
	assert_true(idc >= 0);
	Arena a;
	arena_init(&a, 4096);
	for (int s = 0; s < snap->nsegs; s++) {
		SnapSeg *ss = &snap->segs[s];
		size_t nw = (ss->rows + 63) / 64 + 1;
		uint64_t *bits = mem_calloc(nw, 8);
		assert_non_null(bits);
		assert_true(nbitmaps < 64);
		bitmaps[nbitmaps++] = bits;
		/* bits past the rows are undefined: make them set */
		bits[ss->rows / 64] = ~(uint64_t)0 << (ss->rows % 64);
		bits[nw - 1] = ~(uint64_t)0;
		size_t nvalid = 0;
		SegCursor cur;
		Err e;
		err_clear(&e);
		if (ss->file)
			segfile_cursor_init(&cur, (SegFile *)ss->file, segfile_col_find(ss->file, "id"));
		for (size_t r = 0; r < ss->rows; r++) {
			Value v;
			if (ss->file)
				assert_int_equal(segfile_value(&cur, r, &v, &a, &e), 0);
			else
				assert_int_equal(mutcol_value(mutseg_col(ss->seg, idc), r, &v, &a), 0);
			if (fn(v.u.i)) {
				bits[r / 64] |= (uint64_t)1 << (r % 64);
				nvalid++;
			}
		}
		if (ss->file)
			segfile_cursor_free(&cur);
		ss->valid = bits;
		ss->nvalid = nvalid;
	}
	arena_free(&a);
}

/* ---- set-up -------------------------------------------------------------- */

static void
put(const char *schema, const char *table)
{
	Err e;
	err_clear(&e);
	if (catalog_put_schema(cat, schema, strlen(schema), 1, NULL, &e) != 0)
		fail_msg("schema: %s", err_msg(&e));
	if (catalog_put_table(cat, table, strlen(table), 1, NULL, NULL, &e) != 0)
		fail_msg("table: %s", err_msg(&e));
}

static Value
str(RowBatch *b, const char *s)
{
	size_t n = strlen(s);
	return value_str(TYPE_STRING, arena_strndup(&b->arena, s, n), (uint32_t)n);
}

static void
write_ev(Table *t, int64_t from, int64_t to, int seal)
{
	RowBatch b;
	Err e;
	err_clear(&e);
	rowbatch_init(&b, 4);
	for (int64_t id = from; id < to; id++) {
		char pk[16];
		snprintf(pk, sizeof(pk), "k%d", (int)(id % NKEYS));
		Value *r = rowbatch_add_row(&b);
		r[0] = value_int(TYPE_LONG, id);
		r[1] = str(&b, pk);
		r[2] = str(&b, ev_cat(id));
		r[3] = value_int(TYPE_LONG, ev_v(id));
	}
	if (table_write(t, &b, &e) != 0)
		fail_msg("write: %s", err_msg(&e));
	rowbatch_free(&b);
	if (seal && table_seal(t, &e) != 0)
		fail_msg("seal: %s", err_msg(&e));
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wb-upsert-XXXXXX");
	assert_non_null(mkdtemp(dir));
	Err e;
	err_clear(&e);
	assert_int_equal(catalog_open(dir, &cat, &e), 0);
	put("{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
	    "{\"name\":\"pk\",\"dataType\":\"STRING\"},{\"name\":\"cat\",\"dataType\":\"STRING\"}],"
	    "\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"LONG\"}],\"primaryKeyColumns\":[\"id\"]}",
	    "{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":{\"schemaName\":\"ev\","
	    "\"replication\":\"1\"},\"tableIndexConfig\":{\"invertedIndexColumns\":[\"pk\"],"
	    "\"sortedColumn\":[\"cat\"]}}");
	put("{\"schemaName\":\"dim\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
	    "{\"name\":\"pk\",\"dataType\":\"STRING\"},{\"name\":\"name\",\"dataType\":\"STRING\"}],"
	    "\"primaryKeyColumns\":[\"pk\"]}",
	    "{\"tableName\":\"dim\",\"tableType\":\"OFFLINE\",\"isDimTable\":true,\"segmentsConfig\":"
	    "{\"schemaName\":\"dim\",\"replication\":\"1\"}}");
	Table *t = catalog_get_table(cat, "ev");
	assert_non_null(t);
	write_ev(t, 0, SEG_A, 1);
	write_ev(t, SEG_A, SEG_B, 1);
	write_ev(t, SEG_B, SEG_C, 1);
	write_ev(t, SEG_C, NROWS, 0);
	table_unref(t);

	/* dim: the first versions sealed, the second ones mutable */
	t = catalog_get_table(cat, "dim");
	assert_non_null(t);
	for (int part = 0; part < 2; part++) {
		RowBatch b;
		rowbatch_init(&b, 3);
		for (int id = part * NKEYS; id < (part + 1) * NKEYS; id++) {
			char pk[16], nm[32];
			snprintf(pk, sizeof(pk), "k%d", id % NKEYS);
			snprintf(nm, sizeof(nm), "%s_k%d", id < NKEYS ? "old" : "new", id % NKEYS);
			Value *r = rowbatch_add_row(&b);
			r[0] = value_int(TYPE_LONG, id);
			r[1] = str(&b, pk);
			r[2] = str(&b, nm);
		}
		assert_int_equal(table_write(t, &b, &e), 0);
		rowbatch_free(&b);
		if (part == 0)
			assert_int_equal(table_seal(t, &e), 0);
	}
	table_unref(t);
	query_set_snap_hook(hook, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	query_set_snap_hook(NULL, NULL);
	Err e;
	err_clear(&e);
	catalog_close(cat);
	file_remove_tree(dir, &e);
	return 0;
}

/* ---- running and comparing ----------------------------------------------- */

static void
fmt_rows(const ResultSet *rs, Buf *b)
{
	for (size_t r = 0; r < rs->nrows; r++) {
		for (int c = 0; c < rs->ncols; c++) {
			const Value *v = &rs->rows[r * (size_t)rs->ncols + (size_t)c];
			if (c)
				buf_putc(b, ',');
			if (v->null)
				buf_puts(b, "NULL");
			else
				value_format(v, b);
		}
		buf_putc(b, '\n');
	}
}

/* Runs sql (with skipUpsert when skip) and checks its rows against want;
 * returns the result (caller frees). */
static ResultSet *
check(const char *sql, int skip, const char *want)
{
	QueryOpts o = {0};
	o.skip_upsert = skip;
	ResultSet *rs = NULL;
	Err e;
	err_clear(&e);
	int rc = query_exec(cat, sql, &o, &rs, &e);
	free_bitmaps();
	if (rc != 0)
		fail_msg("%s (skip %d): %s", sql, skip, err_msg(&e));
	Buf b;
	buf_init(&b);
	fmt_rows(rs, &b);
	if (want != NULL && strcmp(b.p ? b.p : "", want) != 0)
		fail_msg("%s (skip %d):\n got:\n%s\n want:\n%s", sql, skip, b.p ? b.p : "", want);
	buf_free(&b);
	return rs;
}

static void
check_free(const char *sql, int skip, const char *want)
{
	result_free(check(sql, skip, want));
}

/* ---- tests --------------------------------------------------------------- */

static void
test_aggregates(void **state)
{
	(void)state;
	for (int skip = 0; skip < 2; skip++) {
		int64_t n = 0, sum = 0, ncat[4] = {0}, scat[4] = {0}, mn = INT64_MAX, mx = -1;
		for (int64_t id = 0; id < NROWS; id++) {
			if (!vis(id, skip))
				continue;
			n++;
			sum += ev_v(id);
			ncat[(id / 3) % 4]++;
			scat[(id / 3) % 4] += ev_v(id);
			mn = id < mn ? id : mn;
			mx = id > mx ? id : mx;
		}
		char want[512];
		snprintf(want, sizeof(want), "%lld,%lld,%lld,%lld\n", (long long)n, (long long)sum, (long long)mn,
			 (long long)mx);
		ResultSet *rs = check("SELECT count(*), sum(v), min(id), max(id) FROM ev", skip, want);
		assert_int_equal(rs->stats.total_docs, NROWS);
		assert_int_equal(rs->stats.num_docs_scanned, (uint64_t)n);
		assert_int_equal(rs->stats.num_segments_queried, 4);
		/* the segment with no valid row is pruned as empty */
		assert_int_equal(rs->stats.num_segments_pruned_invalid, skip ? 0 : 1);
		assert_int_equal(rs->stats.num_segments_processed, skip ? 4 : 3);
		result_free(rs);

		int off = 0;
		for (int c = 0; c < 4; c++)
			off += snprintf(want + off, sizeof(want) - (size_t)off, "%s,%lld,%lld\n", cats[c],
					(long long)ncat[c], (long long)scat[c]);
		check_free("SELECT cat, count(*), sum(v) FROM ev GROUP BY cat ORDER BY cat", skip, want);

		/* ROLLUP (grouping sets run as a UNION of statements) */
		snprintf(want + off, sizeof(want) - (size_t)off, "NULL,%lld,%lld\n", (long long)n, (long long)sum);
		check_free("SELECT cat, count(*), sum(v) FROM ev GROUP BY ROLLUP(cat) ORDER BY cat NULLS LAST", skip,
			   want);
	}
}

static void
test_index_filters(void **state)
{
	(void)state;
	for (int skip = 0; skip < 2; skip++) {
		int64_t na = 0, nk3 = 0, sk3 = 0, nres = 0, nrange = 0;
		for (int64_t id = 0; id < NROWS; id++) {
			if (!vis(id, skip))
				continue;
			na += strcmp(ev_cat(id), "a") == 0;
			if (id % NKEYS == 3) {
				nk3++;
				sk3 += ev_v(id);
			}
			nres += strcmp(ev_cat(id), "b") == 0 && ev_v(id) > 50 && id % NKEYS != 7;
			nrange += id >= 1000 && id < 7000;
		}
		char want[128];
		/* sorted index on cat */
		snprintf(want, sizeof(want), "%lld\n", (long long)na);
		ResultSet *rs = check("SELECT count(*) FROM ev WHERE cat = 'a'", skip, want);
		assert_int_equal(rs->stats.num_docs_scanned, (uint64_t)na);
		assert_int_equal(rs->stats.total_docs, NROWS);
		assert_true(rs->stats.num_segments_index_used >= 2);
		result_free(rs);
		/* inverted index on pk */
		snprintf(want, sizeof(want), "%lld,%lld\n", (long long)nk3, (long long)sk3);
		check_free("SELECT count(*), sum(v) FROM ev WHERE pk = 'k3'", skip, want);
		/* index and residual */
		snprintf(want, sizeof(want), "%lld\n", (long long)nres);
		check_free("SELECT count(*) FROM ev WHERE cat = 'b' AND v > 50 AND pk <> 'k7'", skip, want);
		/* no index: the validity bitmap alone, WHERE as the residual */
		snprintf(want, sizeof(want), "%lld\n", (long long)nrange);
		rs = check("SELECT count(*) FROM ev WHERE id >= 1000 AND id < 7000", skip, want);
		assert_int_equal(rs->stats.num_docs_scanned, (uint64_t)nrange);
		result_free(rs);
	}
}

static void
test_selection(void **state)
{
	(void)state;
	for (int skip = 0; skip < 2; skip++) {
		/* LIMIT above the first segment's valid rows but below its rows:
		 * the second segment must not be pruned by limit */
		int64_t nva = 0;
		for (int64_t id = 0; id < SEG_A; id++)
			nva += vis(id, skip);
		int lim = skip ? 2500 : (int)nva + 300;
		assert_true(lim < SEG_A);
		char sql[256];
		snprintf(sql, sizeof(sql), "SELECT id FROM ev LIMIT %d", lim);
		ResultSet *rs = check(sql, skip, NULL);
		assert_int_equal(rs->nrows, (size_t)lim);
		for (size_t r = 0; r < rs->nrows; r++)
			assert_true(vis(rs->rows[r].u.i, skip));
		assert_int_equal(rs->stats.num_segments_pruned_by_limit, skip ? 3 : 1);
		result_free(rs);

		/* every visible row, nothing else */
		rs = check("SELECT id, v FROM ev WHERE v >= 0 LIMIT 100000", skip, NULL);
		int64_t n = 0;
		for (int64_t id = 0; id < NROWS; id++)
			n += vis(id, skip);
		assert_int_equal(rs->nrows, (size_t)n);
		for (size_t r = 0; r < rs->nrows; r++) {
			int64_t id = rs->rows[r * 2].u.i;
			assert_true(vis(id, skip));
			assert_int_equal(rs->rows[r * 2 + 1].u.i, ev_v(id));
		}
		result_free(rs);

		/* ORDER BY top-N: the 12 visible rows of the highest v, then
		 * the lowest id */
		Buf want;
		buf_init(&want);
		int got = 0;
		for (int64_t v = 100; v >= 0 && got < 12; v--)
			for (int64_t id = 0; id < NROWS && got < 12; id++)
				if (vis(id, skip) && ev_v(id) == v) {
					buf_printf(&want, "%lld,%lld\n", (long long)id, (long long)v);
					got++;
				}
		check_free("SELECT id, v FROM ev ORDER BY v DESC, id LIMIT 12", skip, want.p);
		buf_reset(&want);
		got = 0;
		for (int64_t id = NROWS - 1; id >= 0 && got < 5; id--)
			if (vis(id, skip) && strcmp(ev_cat(id), "c") == 0) {
				buf_printf(&want, "%lld\n", (long long)id);
				got++;
			}
		check_free("SELECT id FROM ev WHERE cat = 'c' ORDER BY id DESC LIMIT 5", skip, want.p);
		buf_free(&want);
	}
}

static void
test_lookup_join(void **state)
{
	(void)state;
	for (int skip = 0; skip < 2; skip++) {
		Buf want;
		buf_init(&want);
		for (int64_t id = 0; id < 40; id++) {
			if (!vis(id, skip))
				continue;
			int key = (int)(id % NKEYS);
			if (skip)
				/* every version: the last in scan order wins */
				buf_printf(&want, "%lld,new_k%d\n", (long long)id, key);
			else if (key == 9)
				buf_printf(&want, "%lld,NULL\n", (long long)id);
			else
				buf_printf(&want, "%lld,%s_k%d\n", (long long)id, key % 2 == 0 ? "old" : "new", key);
		}
		check_free("SELECT id, LOOKUP('dim', 'name', 'pk', pk) FROM ev WHERE id < 40 ORDER BY id", skip,
			   want.p);

		/* an inner join: valid rows on both sides */
		int64_t n = 0;
		for (int64_t id = 0; id < NROWS; id++)
			for (int d = 0; d < NDIM; d++)
				n += vis(id, skip) && (skip || dim_valid(d)) && d % NKEYS == id % NKEYS;
		buf_reset(&want);
		buf_printf(&want, "%lld\n", (long long)n);
		check_free("SELECT count(*) FROM ev JOIN dim ON ev.pk = dim.pk", skip, want.p);
		buf_free(&want);
	}
}

static void
test_window_derived(void **state)
{
	(void)state;
	for (int skip = 0; skip < 2; skip++) {
		Buf want;
		buf_init(&want);
		int64_t total = 0;
		for (int64_t id = 0; id < 100; id++)
			total += vis(id, skip);
		int64_t rn = 0;
		for (int64_t id = 0; id < 100; id++)
			if (vis(id, skip))
				buf_printf(&want, "%lld,%lld,%lld\n", (long long)id, (long long)++rn, (long long)total);
		check_free("SELECT id, row_number() OVER (ORDER BY id), count(*) OVER () FROM ev WHERE id < 100 "
			   "ORDER BY id",
			   skip, want.p);

		buf_reset(&want);
		int64_t n = 0;
		for (int64_t id = 0; id < NROWS; id++)
			n += vis(id, skip) && ev_v(id) > 90;
		buf_printf(&want, "%lld\n", (long long)n);
		check_free("SELECT count(*) FROM (SELECT id, v FROM ev WHERE v > 90) AS t", skip, want.p);
		buf_free(&want);
	}
}

/* SET skipUpsert, queryOptions, the Pinot response's statistics. */
static void
test_options(void **state)
{
	(void)state;
	int64_t n = 0;
	for (int64_t id = 0; id < NROWS; id++)
		n += ev_valid(id);
	char want[64], all[64];
	snprintf(want, sizeof(want), "%lld\n", (long long)n);
	snprintf(all, sizeof(all), "%d\n", NROWS);
	check_free("SET skipUpsert = true; SELECT count(*) FROM ev", 0, all);
	check_free("SET skipUpsert = false; SELECT count(*) FROM ev", 0, want);
	check_free("SET skipUpsert = true; SELECT count(*) FROM (SELECT id FROM ev) AS t", 0, all);
	/* row 0 is not valid */
	check_free("SET skipUpsert = 'true'; SELECT cat, count(*) OVER () FROM ev WHERE id = 0", 0, "a,1\n");
	check_free("SELECT cat, count(*) OVER () FROM ev WHERE id = 0", 0, "");

	QueryOpts o = {0};
	Err e;
	err_clear(&e);
	assert_int_equal(query_parse_options("timeoutMs=1000; skipUpsert = true", &o, &e), 0);
	assert_int_equal(o.skip_upsert, 1);
	assert_int_equal(query_parse_options("skipUpsert=false", &o, &e), 0);
	assert_int_equal(o.skip_upsert, 0);

	for (int skip = 0; skip < 2; skip++) {
		Buf b;
		buf_init(&b);
		query_pinot_response(cat, "SELECT count(*) FROM ev WHERE cat = 'd'", skip ? "skipUpsert=true" : NULL,
				     &b);
		free_bitmaps();
		cJSON *j = cJSON_Parse(b.p);
		assert_non_null(j);
		int64_t nd = 0;
		for (int64_t id = 0; id < NROWS; id++)
			nd += vis(id, skip) && strcmp(ev_cat(id), "d") == 0;
		cJSON *rows = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "resultTable"), "rows");
		assert_int_equal((int64_t)cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0)->valuedouble, nd);
		assert_int_equal((int64_t)cJSON_GetObjectItem(j, "numDocsScanned")->valuedouble, nd);
		assert_int_equal((int64_t)cJSON_GetObjectItem(j, "totalDocs")->valuedouble, NROWS);
		cJSON_Delete(j);
		buf_free(&b);
	}

	/* EXPLAIN counts the segment without a valid row as empty */
	ResultSet *rs = check("EXPLAIN SELECT count(*) FROM ev", 0, NULL);
	Buf b;
	buf_init(&b);
	fmt_rows(rs, &b);
	assert_non_null(strstr(b.p, "3 to scan, 1 pruned by empty"));
	buf_free(&b);
	result_free(rs);
	assert_true(hook_calls > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregates),    cmocka_unit_test(test_index_filters),
		cmocka_unit_test(test_selection),     cmocka_unit_test(test_lookup_join),
		cmocka_unit_test(test_window_derived), cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
