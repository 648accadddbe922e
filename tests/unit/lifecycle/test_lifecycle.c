/*
 * test_lifecycle.c -- life-cycle tracking over a real catalog: a flow over
 * two push-fed tables, events before the flow (backfill) and after it
 * (the write observer), duplicates and late events, stuck, skipped and
 * contradicting stages, the state table read back by SQL, and the state
 * rebuilt identically after the catalog and the tracker are reopened.
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
#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/mem.h"
#include "lifecycle/lifecycle.h"
#include "query/query.h"
#include "table/catalog.h"

static char dir[256];

static const char *const SCHEMA =
	"{\"schemaName\":\"%s\",\"dimensionFieldSpecs\":[{\"name\":\"order_id\",\"dataType\":\"STRING\"},"
	"{\"name\":\"stage\",\"dataType\":\"STRING\"},{\"name\":\"event\",\"dataType\":\"STRING\"},"
	"{\"name\":\"market\",\"dataType\":\"STRING\"}],"
	"\"dateTimeFieldSpecs\":[{\"name\":\"ts\",\"dataType\":\"LONG\",\"format\":\"1:MILLISECONDS:EPOCH\","
	"\"granularity\":\"1:MILLISECONDS\"}]}";
static const char *const TABLE =
	"{\"tableName\":\"%s\",\"tableType\":\"REALTIME\",\"segmentsConfig\":{\"schemaName\":\"%s\","
	"\"timeColumnName\":\"ts\"},\"tableIndexConfig\":{},\"tenants\":{},\"metadata\":{}}";

/* a -> b -> c -> d (success); a, b -> x (cancel); SLA 1 s each */
static const char *const FLOW =
	"{\"name\":\"ord\",\"entityKey\":\"order_id\","
	"\"sourceDefaults\":{\"stageColumn\":\"stage\",\"timeColumn\":\"ts\",\"eventColumn\":\"event\"},"
	"\"sources\":[\"svc_a\",\"svc_b\"],"
	"\"stages\":[{\"name\":\"a\",\"sla\":\"1s\",\"next\":[\"b\",\"x\"]},{\"name\":\"b\",\"sla\":\"1s\","
	"\"next\":[\"c\",\"x\"]},{\"name\":\"c\",\"sla\":\"1s\"},{\"name\":\"d\"},{\"name\":\"x\"}],"
	"\"successStages\":[\"d\"],\"cancelStages\":[\"x\"],\"dimensions\":[\"market\"],"
	"\"gapGraceMs\":500,\"clock\":\"event\"}";

static Catalog *
open_catalog(void)
{
	Catalog *c;
	Err e = {0};
	assert_int_equal(catalog_open(dir, &c, &e), 0);
	return c;
}

static void
make_table(Catalog *c, const char *name)
{
	char js[2048];
	Err e = {0};
	snprintf(js, sizeof(js), SCHEMA, name);
	assert_int_equal(catalog_put_schema(c, js, strlen(js), 0, NULL, &e), 0);
	snprintf(js, sizeof(js), TABLE, name, name);
	assert_int_equal(catalog_put_table(c, js, strlen(js), 0, NULL, NULL, &e), 0);
}

static void
event(Catalog *c, const char *table, const char *key, const char *stage, const char *ev,
      int64_t ts)
{
	Table *t = catalog_get_table(c, table);
	assert_non_null(t);
	RowBatch b;
	rowbatch_init(&b, 5);
	Value *r = rowbatch_add_row(&b);
	const char *s[4] = {key, stage, ev, "US"};
	for (int i = 0; i < 4; i++)
		r[i] = value_str(TYPE_STRING, s[i], (uint32_t)strlen(s[i]));
	r[4] = value_int(TYPE_LONG, ts);
	Err e = {0};
	assert_int_equal(table_write(t, &b, &e), 0);
	rowbatch_free(&b);
	table_unref(t);
}

static cJSON *
entity(Lifecycle *lc, const char *key)
{
	Buf out;
	buf_init(&out);
	Err e = {0};
	int rc = lifecycle_entity(lc, "ord", key, &out, &e);
	cJSON *j = rc == 0 ? cJSON_Parse(out.p) : NULL;
	buf_free(&out);
	return j;
}

static const char *
jstr(cJSON *j, const char *k)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double
jnum(cJSON *j, const char *k)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
	return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

static const char *
arg_none(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

static cJSON *
query(Lifecycle *lc, const char *what)
{
	Buf out;
	buf_init(&out);
	Err e = {0};
	assert_int_equal(lifecycle_query(lc, "ord", what, arg_none, NULL, &out, &e), 0);
	cJSON *j = cJSON_Parse(out.p);
	assert_non_null(j);
	buf_free(&out);
	return j;
}

static int
has_key(cJSON *ans, const char *key)
{
	cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(ans, "entities"))
		if (strcmp(jstr(x, "key"), key) == 0)
			return 1;
	return 0;
}

static void
wait_ready(Lifecycle *lc)
{
	for (int i = 0; i < 500; i++) {
		Buf out;
		buf_init(&out);
		Err e = {0};
		assert_int_equal(lifecycle_get_flow(lc, "ord", &out, &e), 0);
		int ready = strstr(out.p, "\"READY\"") != NULL;
		buf_free(&out);
		if (ready)
			return;
		clock_sleep_ms(10);
	}
	fail_msg("backfill did not end");
}

static long
sql_count(Catalog *c, const char *sql)
{
	ResultSet *r;
	Err e = {0};
	QueryOpts o = {0};
	if (query_exec(c, sql, &o, &r, &e) != 0)
		return -1;
	long n = r->nrows == 1 ? (long)r->rows[0].u.i : -1;
	result_free(r);
	return n;
}

static void
test_flow(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wb_test_lc_%d", (int)getpid());
	Err e = {0};
	file_remove_tree(dir, &e);
	Catalog *c = open_catalog();
	make_table(c, "svc_a");
	make_table(c, "svc_b");
	const int64_t T = 1700000000000LL;
	/* before the flow: read by the backfill */
	event(c, "svc_a", "o1", "a", "created", T);
	event(c, "svc_b", "o1", "b", "paid", T + 100);

	Lifecycle *lc;
	assert_int_equal(lifecycle_open(c, &lc, &e), 0);
	assert_int_equal(lifecycle_put_flow(lc, FLOW, strlen(FLOW), 0, NULL, &e), 0);
	e = (Err){0};
	assert_int_equal(lifecycle_put_flow(lc, FLOW, strlen(FLOW), 0, NULL, &e), ERR_EXISTS);
	wait_ready(lc);

	/* live: c, a duplicate of b, and a late a (older than b) from another
	 * service: the stage stays c, events count 4 */
	event(c, "svc_a", "o1", "c", "packed", T + 200);
	event(c, "svc_b", "o1", "b", "paid", T + 100);
	event(c, "svc_b", "o1", "a", "verified", T + 50);
	cJSON *j = entity(lc, "o1");
	assert_non_null(j);
	assert_string_equal(jstr(j, "stage"), "c");
	assert_int_equal((int)jnum(j, "events"), 4);
	assert_true(jnum(j, "stageSince") == (double)(T + 200));
	cJSON *dims = cJSON_GetObjectItemCaseSensitive(j, "dims");
	assert_string_equal(jstr(dims, "market"), "US");
	cJSON *tl = cJSON_GetObjectItemCaseSensitive(j, "timeline");
	assert_int_equal(cJSON_GetArraySize(tl), 4);
	assert_string_equal(jstr(cJSON_GetArrayItem(tl, 1), "event"), "verified");
	cJSON_Delete(j);
	assert_null(entity(lc, "nope"));

	/* o2 reaches c without b (a gap once the grace passed); o3 reaches b
	 * and stops (stuck once the event clock passes its deadline); o4 is
	 * cancelled after reaching c (a contradiction) */
	event(c, "svc_a", "o2", "a", "created", T + 300);
	event(c, "svc_a", "o2", "c", "packed", T + 400);
	event(c, "svc_a", "o3", "a", "created", T + 500);
	event(c, "svc_b", "o3", "b", "paid", T + 600);
	event(c, "svc_a", "o4", "a", "created", T + 500);
	event(c, "svc_a", "o4", "c", "packed", T + 700);
	event(c, "svc_b", "o4", "x", "cancelled", T + 800);
	cJSON *g = query(lc, "gaps");
	assert_false(has_key(g, "o2"));	/* within the grace time */
	assert_true(has_key(g, "o4"));
	cJSON_Delete(g);
	/* advance the clock: o5 far later */
	event(c, "svc_a", "o5", "a", "created", T + 10000);
	cJSON *s = query(lc, "stuck");
	assert_true(has_key(s, "o3"));
	assert_true(has_key(s, "o1"));	/* stuck in c too */
	assert_false(has_key(s, "o4"));	/* cancelled: terminal */
	assert_false(has_key(s, "o5"));
	cJSON_Delete(s);
	g = query(lc, "gaps");
	assert_true(has_key(g, "o2"));
	cJSON_Delete(g);
	/* the same answers from SQL */
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_stuck('ord') WHERE stage = 'b' AND market = 'US'"), 1);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_gaps('ord') WHERE kind = 'contradiction'"), 1);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_timeline('ord', 'o1')"), 4);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_timeline('ord', 'nobody')"), 0);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_funnel('ord') WHERE stage = 'a' AND count = 5"), 1);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_attribution('ord', '1s', '1h')"), sql_count(c, "SELECT count(*) FROM flow_attribution('ord', '1s', '1h') WHERE kind IN ('service', 'stage')"));
	assert_int_equal(sql_count(c, "SELECT count(*) FROM flow_stuck('nope')"), -1);
	cJSON *f = query(lc, "funnel");
	cJSON_Delete(f);
	cJSON *a = query(lc, "attribution");
	cJSON_Delete(a);

	/* the state table catches up within a few ticks */
	long n = -1;
	for (int i = 0; i < 1500 && n != 5; i++) {
		clock_sleep_ms(20);
		n = sql_count(c, "SELECT count(*) FROM ord_state");
	}
	assert_int_equal(n, 5);
	for (int i = 0; i < 1500; i++) {
		if (sql_count(c, "SELECT count(*) FROM ord_state WHERE stuck = true AND order_id = 'o3'") == 1)
			break;
		clock_sleep_ms(20);
	}
	assert_int_equal(sql_count(c, "SELECT count(*) FROM ord_state WHERE stuck = true AND order_id = 'o3'"), 1);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM ord_state WHERE contradiction AND order_id = 'o4'"), 1);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM ord_state WHERE stage = 'c' AND t_b IS NULL"), 1);

	/* a flow whose stages come from an expression */
	static const char flow2[] =
		"{\"name\":\"ord2\",\"entityKey\":\"order_id\",\"sources\":[{\"table\":\"svc_a\","
		"\"stageExpr\":\"CASE WHEN event = 'created' THEN 'new' WHEN event = 'packed' THEN "
		"'done' END\"}],\"stages\":[{\"name\":\"new\"},{\"name\":\"done\"}],"
		"\"successStages\":[\"done\"]}";
	assert_int_equal(lifecycle_put_flow(lc, flow2, strlen(flow2), 0, NULL, &e), 0);
	for (int i = 0; i < 1500; i++) {
		if (sql_count(c, "SELECT count(*) FROM ord2_state WHERE stage = 'done'") == 3)
			break;
		clock_sleep_ms(20);
	}
	/* o1, o2 and o4 were packed */
	assert_int_equal(sql_count(c, "SELECT count(*) FROM ord2_state WHERE stage = 'done'"), 3);
	assert_int_equal(sql_count(c, "SELECT count(*) FROM ord2_state WHERE stage = 'new'"), 2);
	static const char bad_expr[] =
		"{\"name\":\"ord3\",\"entityKey\":\"order_id\",\"sources\":[{\"table\":\"svc_a\","
		"\"stageExpr\":\"upper(no_such_column)\"}],\"stages\":[\"x\"]}";
	e = (Err){0};
	assert_int_equal(lifecycle_put_flow(lc, bad_expr, strlen(bad_expr), 0, NULL, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "no_such_column"));
	e = (Err){0};
	assert_int_equal(lifecycle_delete_flow(lc, "ord2", &e), 0);

	/* bad definitions */
	e = (Err){0};
	assert_int_not_equal(lifecycle_put_flow(lc, "{", 1, 0, NULL, &e), 0);
	e = (Err){0};
	assert_int_equal(lifecycle_delete_flow(lc, "nope", &e), ERR_NOT_FOUND);

	/* reopen: the state is rebuilt from the tables */
	lifecycle_close(lc);
	catalog_close(c);
	c = open_catalog();
	assert_int_equal(lifecycle_open(c, &lc, &e), 0);
	wait_ready(lc);
	j = entity(lc, "o1");
	assert_non_null(j);
	assert_string_equal(jstr(j, "stage"), "c");
	assert_int_equal((int)jnum(j, "events"), 4);
	cJSON_Delete(j);
	s = query(lc, "stuck");
	assert_true(has_key(s, "o3"));
	cJSON_Delete(s);

	assert_int_equal(lifecycle_delete_flow(lc, "ord", &e), 0);
	assert_null(catalog_get_table(c, "ord_state"));
	lifecycle_close(lc);
	catalog_close(c);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
