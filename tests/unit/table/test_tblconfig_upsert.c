/*
 * test_tblconfig_upsert.c -- upsertConfig in tblconfig_parse and
 * tblconfig_check_schema: every implemented key (comparison columns,
 * partial-upsert strategies, delete column, TTLs, out-of-order records),
 * the keys accepted without effect, wrong JSON types, Pinot's rules with
 * and without a schema, exact error messages, and Pinot's upsert examples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/mem.h"
#include "table/schema.h"
#include "table/tblconfig.h"

#define RT "{\"tableName\":\"ev\",\"tableType\":\"REALTIME\","

static TableConfig *
parse_ok(const char *json)
{
	TableConfig *c = NULL;
	Err e = {0};
	int rc = tblconfig_parse(json, strlen(json), &c, &e);
	if (rc != 0)
		print_error("unexpected error: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	return c;
}

static void
expect_err(const char *json, const char *msg)
{
	TableConfig *c = NULL;
	Err e = {0};
	int rc = tblconfig_parse(json, strlen(json), &c, &e);
	if (rc == 0)
		print_error("parsed, expected: %s\n", msg);
	assert_int_equal(rc, ERR_BAD_CONFIG);
	assert_null(c);
	assert_string_equal(e.msg, msg);
}

static void
test_defaults(void **state)
{
	(void)state;
	TableConfig *c = parse_ok(RT "\"upsertConfig\":{}}");
	assert_string_equal(c->upsert_mode, "FULL");
	assert_int_equal(c->ncmp, 0);
	assert_null(c->cmp_cols);
	assert_int_equal(c->nstrategies, 0);
	assert_int_equal(c->default_strategy, TBL_UPS_OVERWRITE);
	assert_null(c->delete_col);
	assert_true(c->deleted_keys_ttl == 0);
	assert_true(c->metadata_ttl == 0);
	assert_int_equal(c->drop_out_of_order, 0);
	assert_null(c->out_of_order_col);
	tblconfig_free(c);

	/* no upsertConfig: not an upsert table */
	c = parse_ok(RT "\"upsertConfig\":null}");
	assert_null(c->upsert_mode);
	tblconfig_free(c);

	/* empty comparison columns fall back to the time column */
	c = parse_ok(RT "\"upsertConfig\":{\"comparisonColumn\":\"\"}}");
	assert_int_equal(c->ncmp, 0);
	tblconfig_free(c);
	c = parse_ok(RT "\"upsertConfig\":{\"comparisonColumns\":[]}}");
	assert_int_equal(c->ncmp, 0);
	assert_null(c->cmp_cols);
	tblconfig_free(c);
}

static void
test_full_keys(void **state)
{
	(void)state;
	TableConfig *c = parse_ok(
		RT "\"upsertConfig\":{\"mode\":\"FULL\",\"comparisonColumn\":\"ts\","
		   "\"deleteRecordColumn\":\"deleted\",\"deletedKeysTTL\":86400.5,"
		   "\"metadataTTL\":\"3600\",\"dropOutOfOrderRecord\":\"true\","
		   "\"enableSnapshot\":true,\"enablePreload\":false,\"snapshot\":\"ENABLE\","
		   "\"preload\":\"DEFAULT\",\"hashFunction\":\"MURMUR3\",\"consistencyMode\":\"NONE\","
		   "\"upsertViewRefreshIntervalMs\":3000,\"newSegmentTrackingTimeMs\":10000,"
		   "\"enableDeletedKeysCompactionConsistency\":false,"
		   "\"enableCommitTimeCompaction\":false,"
		   "\"allowPartialUpsertConsumptionDuringCommit\":false,"
		   "\"metadataManagerClass\":\"x.Y\",\"metadataManagerConfigs\":{\"a\":\"b\"},"
		   "\"partialUpsertMergerClass\":\"x.M\","
		   "\"postPartialUpsertTransformConfigs\":[{\"columnName\":\"a\"}]}}");
	assert_string_equal(c->upsert_mode, "FULL");
	assert_int_equal(c->ncmp, 1);
	assert_string_equal(c->cmp_cols[0], "ts");
	assert_string_equal(c->delete_col, "deleted");
	assert_true(c->deleted_keys_ttl == 86400.5);
	assert_true(c->metadata_ttl == 3600);
	assert_int_equal(c->drop_out_of_order, 1);
	assert_null(c->out_of_order_col);
	/* every key but the one Waybill lacks is known */
	assert_string_equal(c->unrecognized,
			    "{\"/upsertConfig/postPartialUpsertTransformConfigs/0/columnName\":\"a\"}");
	tblconfig_free(c);

	c = parse_ok(RT "\"upsertConfig\":{\"comparisonColumns\":[\"a\",\"b\"],"
			"\"outOfOrderRecordColumn\":\"late\",\"dropOutOfOrderRecord\":false}}");
	assert_int_equal(c->ncmp, 2);
	assert_string_equal(c->cmp_cols[1], "b");
	assert_string_equal(c->out_of_order_col, "late");
	assert_int_equal(c->drop_out_of_order, 0);
	assert_string_equal(c->unrecognized, "{}");
	tblconfig_free(c);

	c = parse_ok(RT "\"upsertConfig\":{\"deleteRecordColumn\":\"d\",\"deletedKeysTTL\":-1,"
			"\"metadataTTL\":-5}}");
	/* Pinot enables a TTL only when it is positive */
	assert_true(c->deleted_keys_ttl == 0);
	assert_true(c->metadata_ttl == 0);
	assert_string_equal(c->unrecognized, "{}");
	tblconfig_free(c);
}

static void
test_strategies(void **state)
{
	(void)state;
	TableConfig *c = parse_ok(
		RT "\"upsertConfig\":{\"mode\":\"partial\",\"partialUpsertStrategies\":{"
		   "\"o\":\"OVERWRITE\",\"f\":\"force_overwrite\",\"i\":\"INCREMENT\",\"a\":\"APPEND\","
		   "\"u\":\"Union\",\"g\":\"IGNORE\",\"mx\":\"MAX\",\"mn\":\"min\"},"
		   "\"defaultPartialUpsertStrategy\":\"ignore\"}}");
	assert_string_equal(c->upsert_mode, "PARTIAL");
	static const struct {
		const char *col;
		int st;
	} want[] = {
		{"o", TBL_UPS_OVERWRITE}, {"f", TBL_UPS_FORCE_OVERWRITE}, {"i", TBL_UPS_INCREMENT},
		{"a", TBL_UPS_APPEND},	  {"u", TBL_UPS_UNION},		  {"g", TBL_UPS_IGNORE},
		{"mx", TBL_UPS_MAX},	  {"mn", TBL_UPS_MIN},
	};
	assert_int_equal(c->nstrategies, 8);
	for (int i = 0; i < 8; i++) {
		assert_string_equal(c->strategy_cols[i], want[i].col);
		assert_int_equal(c->strategies[i], want[i].st);
	}
	assert_int_equal(c->default_strategy, TBL_UPS_IGNORE);
	assert_string_equal(c->unrecognized, "{}");
	tblconfig_free(c);

	c = parse_ok(RT "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"partialUpsertStrategies\":{}}}");
	assert_int_equal(c->nstrategies, 0);
	assert_int_equal(c->default_strategy, TBL_UPS_OVERWRITE);
	tblconfig_free(c);

	/* a merger class replaces the strategies; in FULL mode Pinot ignores both */
	c = parse_ok(RT "\"upsertConfig\":{\"partialUpsertMergerClass\":\"x.M\","
			"\"partialUpsertStrategies\":{\"a\":\"APPEND\"}}}");
	assert_int_equal(c->nstrategies, 1);
	tblconfig_free(c);
}

static void
test_type_errors(void **state)
{
	(void)state;
	expect_err(RT "\"upsertConfig\":{\"comparisonColumn\":\"a\",\"comparisonColumns\":[\"b\"]}}",
		   "upsertConfig.comparisonColumns: cannot be given together with the deprecated "
		   "comparisonColumn; keep only comparisonColumns");
	expect_err(RT "\"upsertConfig\":{\"comparisonColumn\":5}}",
		   "upsertConfig.comparisonColumn: expected a string");
	expect_err(RT "\"upsertConfig\":{\"comparisonColumns\":\"a\"}}",
		   "upsertConfig.comparisonColumns: expected an array");
	expect_err(RT "\"upsertConfig\":{\"comparisonColumns\":[\"a\",1]}}",
		   "upsertConfig.comparisonColumns[1]: expected a string");
	expect_err(RT "\"upsertConfig\":{\"comparisonColumns\":[\"a\",\"\"]}}",
		   "upsertConfig.comparisonColumns[1]: must not be empty");
	expect_err(RT "\"upsertConfig\":{\"partialUpsertStrategies\":[]}}",
		   "upsertConfig.partialUpsertStrategies: expected an object");
	expect_err(RT "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"partialUpsertStrategies\":{"
		      "\"a\":\"APPEND\",\"score\":\"FOO\"}}}",
		   "upsertConfig.partialUpsertStrategies.score: unknown strategy 'FOO' (expected "
		   "OVERWRITE, FORCE_OVERWRITE, INCREMENT, APPEND, UNION, IGNORE, MAX or MIN)");
	expect_err(RT "\"upsertConfig\":{\"partialUpsertStrategies\":{\"score\":1}}}",
		   "upsertConfig.partialUpsertStrategies.score: expected a string");
	expect_err(RT "\"upsertConfig\":{\"partialUpsertStrategies\":{\"score\":null}}}",
		   "upsertConfig.partialUpsertStrategies.score: expected a string");
	expect_err(RT "\"upsertConfig\":{\"defaultPartialUpsertStrategy\":\"LATEST\"}}",
		   "upsertConfig.defaultPartialUpsertStrategy: unknown strategy 'LATEST' (expected "
		   "OVERWRITE, FORCE_OVERWRITE, INCREMENT, APPEND, UNION, IGNORE, MAX or MIN)");
	expect_err(RT "\"upsertConfig\":{\"defaultPartialUpsertStrategy\":[]}}",
		   "upsertConfig.defaultPartialUpsertStrategy: expected a string");
	expect_err(RT "\"upsertConfig\":{\"deleteRecordColumn\":true}}",
		   "upsertConfig.deleteRecordColumn: expected a string");
	expect_err(RT "\"upsertConfig\":{\"outOfOrderRecordColumn\":{}}}",
		   "upsertConfig.outOfOrderRecordColumn: expected a string");
	expect_err(RT "\"upsertConfig\":{\"deletedKeysTTL\":\"soon\"}}",
		   "upsertConfig.deletedKeysTTL: must be a number");
	expect_err(RT "\"upsertConfig\":{\"deletedKeysTTL\":true}}",
		   "upsertConfig.deletedKeysTTL: must be a number");
	expect_err(RT "\"upsertConfig\":{\"metadataTTL\":[1]}}",
		   "upsertConfig.metadataTTL: must be a number");
	expect_err(RT "\"upsertConfig\":{\"metadataTTL\":\"nan\"}}",
		   "upsertConfig.metadataTTL: must be a number");
	expect_err(RT "\"upsertConfig\":{\"metadataTTL\":\" 5\"}}",
		   "upsertConfig.metadataTTL: must be a number");
	expect_err(RT "\"upsertConfig\":{\"dropOutOfOrderRecord\":1}}",
		   "upsertConfig.dropOutOfOrderRecord: must be true or false");
	expect_err(RT "\"upsertConfig\":{\"dropOutOfOrderRecord\":\"yes\"}}",
		   "upsertConfig.dropOutOfOrderRecord: must be true or false");
	expect_err(RT "\"upsertConfig\":{\"enableDeletedKeysCompactionConsistency\":\"on\"}}",
		   "upsertConfig.enableDeletedKeysCompactionConsistency: must be true or false");
	expect_err(RT "\"upsertConfig\":{\"consistencyMode\":\"STRICT\"}}",
		   "upsertConfig.consistencyMode: must be NONE, SYNC or SNAPSHOT, got 'STRICT'");
	expect_err(RT "\"upsertConfig\":{\"mode\":5}}", "upsertConfig.mode: expected a string");
	expect_err(RT "\"upsertConfig\":[]}", "upsertConfig: expected an object");
}

static void
test_rules(void **state)
{
	(void)state;
	expect_err(RT "\"upsertConfig\":{\"outOfOrderRecordColumn\":\"late\","
		      "\"dropOutOfOrderRecord\":true}}",
		   "upsertConfig.outOfOrderRecordColumn: cannot be used with dropOutOfOrderRecord");
	expect_err(RT "\"upsertConfig\":{\"consistencyMode\":\"SYNC\",\"dropOutOfOrderRecord\":true}}",
		   "upsertConfig.dropOutOfOrderRecord: not allowed when consistencyMode is SYNC "
		   "(only NONE)");
	expect_err(RT "\"upsertConfig\":{\"consistencyMode\":\"snapshot\","
		      "\"outOfOrderRecordColumn\":\"late\"}}",
		   "upsertConfig.outOfOrderRecordColumn: not allowed when consistencyMode is snapshot "
		   "(only NONE)");
	expect_err(RT "\"upsertConfig\":{\"comparisonColumns\":[\"a\",\"b\"],\"metadataTTL\":10}}",
		   "upsertConfig.metadataTTL: needs a single comparison column, got 2");
	expect_err(RT "\"upsertConfig\":{\"comparisonColumns\":[\"a\",\"b\"],"
		      "\"deleteRecordColumn\":\"d\",\"deletedKeysTTL\":10}}",
		   "upsertConfig.deletedKeysTTL: needs a single comparison column, got 2");
	expect_err(RT "\"upsertConfig\":{\"deletedKeysTTL\":10}}",
		   "upsertConfig.deletedKeysTTL: needs deleteRecordColumn");
	expect_err(RT "\"upsertConfig\":{\"enableDeletedKeysCompactionConsistency\":true,"
		      "\"deleteRecordColumn\":\"d\",\"deletedKeysTTL\":10,\"metadataTTL\":10}}",
		   "upsertConfig.enableDeletedKeysCompactionConsistency: cannot be used with "
		   "metadataTTL");
	expect_err(RT "\"upsertConfig\":{\"enableDeletedKeysCompactionConsistency\":true}}",
		   "upsertConfig.enableDeletedKeysCompactionConsistency: needs deletedKeysTTL");
	expect_err(RT "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"partialUpsertMergerClass\":\"x.M\","
		      "\"partialUpsertStrategies\":{\"a\":\"APPEND\"}}}",
		   "upsertConfig.partialUpsertStrategies: must be empty when partialUpsertMergerClass "
		   "is given");

	/* Pinot checks none of these rules when upsert is off (mode NONE) */
	TableConfig *c = parse_ok(RT "\"upsertConfig\":{\"mode\":\"NONE\",\"deletedKeysTTL\":10,"
				     "\"outOfOrderRecordColumn\":\"late\",\"dropOutOfOrderRecord\":true,"
				     "\"comparisonColumns\":[\"a\",\"b\"],\"metadataTTL\":1}}");
	assert_string_equal(c->upsert_mode, "NONE");
	assert_true(c->deleted_keys_ttl == 10);
	tblconfig_free(c);
	/* an OFFLINE table may carry a NONE upsertConfig */
	c = parse_ok("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"upsertConfig\":"
		     "{\"mode\":\"NONE\"}}");
	tblconfig_free(c);
	/* compaction consistency with what it needs */
	c = parse_ok(RT "\"upsertConfig\":{\"enableDeletedKeysCompactionConsistency\":true,"
			"\"deleteRecordColumn\":\"d\",\"deletedKeysTTL\":10}}");
	tblconfig_free(c);
}

/* --- against a schema --------------------------------------------------- */

static Schema *
schema(const char *json)
{
	Schema *s = NULL;
	Err e = {0};
	int rc = schema_parse(json, strlen(json), &s, &e);
	if (rc != 0)
		print_error("schema: %s\n", e.msg);
	assert_int_equal(rc, 0);
	return s;
}

static void
check(const Schema *s, const char *cfg, const char *msg)
{
	TableConfig *c = parse_ok(cfg);
	Err e = {0};
	int rc = tblconfig_check_schema(c, s, &e);
	if (msg == NULL) {
		if (rc != 0)
			print_error("unexpected: %s\n", e.msg);
		assert_int_equal(rc, 0);
	} else {
		if (rc == 0)
			print_error("passed, expected: %s\n", msg);
		assert_int_equal(rc, ERR_BAD_CONFIG);
		assert_string_equal(e.msg, msg);
	}
	tblconfig_free(c);
}

#define TS "\"segmentsConfig\":{\"timeColumnName\":\"ts\"},"

static Schema *
upsert_schema(void)
{
	return schema(
		"{\"schemaName\":\"ev\",\"primaryKeyColumns\":[\"id\"],"
		"\"enableColumnBasedNullHandling\":true,\"dimensionFieldSpecs\":["
		"{\"name\":\"id\",\"dataType\":\"STRING\"},{\"name\":\"seq\",\"dataType\":\"LONG\"},"
		"{\"name\":\"ver\",\"dataType\":\"STRING\"},{\"name\":\"name\",\"dataType\":\"STRING\"},"
		"{\"name\":\"tags\",\"dataType\":\"STRING\",\"singleValueField\":false},"
		"{\"name\":\"nums\",\"dataType\":\"INT\",\"singleValueField\":false},"
		"{\"name\":\"deleted\",\"dataType\":\"BOOLEAN\"},{\"name\":\"del_i\",\"dataType\":\"INT\"},"
		"{\"name\":\"ooo\",\"dataType\":\"BOOLEAN\"},{\"name\":\"blob\",\"dataType\":\"BYTES\"},"
		"{\"name\":\"seen\",\"dataType\":\"TIMESTAMP\"}],"
		"\"metricFieldSpecs\":[{\"name\":\"score\",\"dataType\":\"INT\"},"
		"{\"name\":\"price\",\"dataType\":\"DOUBLE\"}],"
		"\"dateTimeFieldSpecs\":[{\"name\":\"ts\",\"dataType\":\"LONG\","
		"\"format\":\"1:MILLISECONDS:EPOCH\",\"granularity\":\"1:MILLISECONDS\"},"
		"{\"name\":\"ts2\",\"dataType\":\"LONG\",\"format\":\"1:MILLISECONDS:EPOCH\","
		"\"granularity\":\"1:MILLISECONDS\"}]}");
}

static void
test_schema_good(void **state)
{
	(void)state;
	Schema *s = upsert_schema();
	check(s,
	      RT TS "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"comparisonColumns\":[\"seq\",\"ver\"],"
		    "\"partialUpsertStrategies\":{\"score\":\"INCREMENT\",\"price\":\"MAX\","
		    "\"seen\":\"MIN\",\"tags\":\"APPEND\",\"nums\":\"UNION\",\"name\":\"IGNORE\","
		    "\"blob\":\"FORCE_OVERWRITE\",\"ts2\":\"MAX\"},"
		    "\"deleteRecordColumn\":\"deleted\",\"outOfOrderRecordColumn\":\"ooo\"}}",
	      NULL);
	/* Pinot compares any single-value type, STRING too */
	check(s, RT "\"upsertConfig\":{\"comparisonColumn\":\"ver\"}}", NULL);
	/* FULL ignores the strategies, as Pinot does */
	check(s, RT "\"upsertConfig\":{\"partialUpsertStrategies\":{\"score\":\"APPEND\","
		    "\"zz\":\"MAX\"}}}",
	      NULL);
	check(s, RT "\"upsertConfig\":{\"deleteRecordColumn\":\"del_i\"}}", NULL);
	check(s, RT "\"upsertConfig\":{\"deleteRecordColumn\":\"name\"}}", NULL);
	check(s, RT "\"upsertConfig\":{\"deleteRecordColumn\":\"price\"}}", NULL);
	/* TTLs on the time column, or on the one comparison column */
	check(s, RT TS "\"upsertConfig\":{\"metadataTTL\":3600}}", NULL);
	check(s, RT "\"upsertConfig\":{\"comparisonColumns\":[\"seen\"],\"metadataTTL\":3600,"
		    "\"deleteRecordColumn\":\"deleted\",\"deletedKeysTTL\":60}}",
	      NULL);
	/* mode NONE: nothing is checked */
	check(s, RT "\"upsertConfig\":{\"mode\":\"NONE\",\"comparisonColumns\":[\"zz\"],"
		    "\"deleteRecordColumn\":\"zz\"}}",
	      NULL);
	schema_unref(s);
}

static void
test_schema_bad(void **state)
{
	(void)state;
	Schema *s = upsert_schema();
	check(s, RT "\"upsertConfig\":{\"comparisonColumns\":[\"seq\",\"zz\"]}}",
	      "upsertConfig.comparisonColumns[1]: column 'zz' is not in schema 'ev'");
	check(s, RT "\"upsertConfig\":{\"comparisonColumn\":\"zz\"}}",
	      "upsertConfig.comparisonColumn: column 'zz' is not in schema 'ev'");
	check(s, RT "\"upsertConfig\":{\"comparisonColumns\":[\"tags\"]}}",
	      "upsertConfig.comparisonColumns[0]: column 'tags' is multi-value STRING; a comparison "
	      "column must be single-value");
	check(s, RT "\"upsertConfig\":{\"comparisonColumn\":\"ver\",\"metadataTTL\":10}}",
	      "upsertConfig.metadataTTL: the comparison column 'ver' must be numeric or TIMESTAMP, "
	      "it is STRING");
	check(s, RT "\"upsertConfig\":{\"metadataTTL\":10}}",
	      "upsertConfig.metadataTTL: needs a comparison column or segmentsConfig.timeColumnName");
	check(s, RT "\"upsertConfig\":{\"deleteRecordColumn\":\"gone\"}}",
	      "upsertConfig.deleteRecordColumn: column 'gone' is not in schema 'ev'");
	check(s, RT "\"upsertConfig\":{\"deleteRecordColumn\":\"blob\"}}",
	      "upsertConfig.deleteRecordColumn: column 'blob' must be a single-value BOOLEAN, STRING "
	      "or numeric column, it is BYTES");
	check(s, RT "\"upsertConfig\":{\"deleteRecordColumn\":\"tags\"}}",
	      "upsertConfig.deleteRecordColumn: column 'tags' must be a single-value BOOLEAN, STRING "
	      "or numeric column, it is multi-value STRING");
	check(s, RT "\"upsertConfig\":{\"outOfOrderRecordColumn\":\"gone\"}}",
	      "upsertConfig.outOfOrderRecordColumn: column 'gone' is not in schema 'ev'");
	check(s, RT "\"upsertConfig\":{\"outOfOrderRecordColumn\":\"score\"}}",
	      "upsertConfig.outOfOrderRecordColumn: column 'score' must be a single-value BOOLEAN "
	      "column, it is INT");

#define PARTIAL(strategies) RT TS "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"partialUpsertStrategies\":{" strategies "}}}"
	check(s, PARTIAL("\"id\":\"OVERWRITE\""),
	      "upsertConfig.partialUpsertStrategies.id: 'id' is a primary key column; no merge "
	      "strategy applies to it");
	check(s, PARTIAL("\"ts\":\"MAX\""),
	      "upsertConfig.partialUpsertStrategies.ts: 'ts' is the time column; no merge strategy "
	      "applies to it");
	check(s,
	      RT "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"comparisonColumns\":[\"seq\"],"
		 "\"partialUpsertStrategies\":{\"seq\":\"MAX\"}}}",
	      "upsertConfig.partialUpsertStrategies.seq: 'seq' is the comparison column; no merge "
	      "strategy applies to it");
	check(s, PARTIAL("\"zz\":\"IGNORE\""),
	      "upsertConfig.partialUpsertStrategies.zz: column 'zz' is not in schema 'ev'");
	check(s, PARTIAL("\"name\":\"INCREMENT\""),
	      "upsertConfig.partialUpsertStrategies.name: INCREMENT needs a single-value numeric "
	      "column, 'name' is STRING");
	check(s, PARTIAL("\"nums\":\"MAX\""),
	      "upsertConfig.partialUpsertStrategies.nums: MAX needs a single-value numeric column, "
	      "'nums' is multi-value INT");
	check(s, PARTIAL("\"ver\":\"MIN\""),
	      "upsertConfig.partialUpsertStrategies.ver: MIN needs a single-value numeric column, "
	      "'ver' is STRING");
	check(s, PARTIAL("\"ts2\":\"INCREMENT\""),
	      "upsertConfig.partialUpsertStrategies.ts2: INCREMENT cannot apply to the dateTime "
	      "column 'ts2'");
	check(s, PARTIAL("\"name\":\"APPEND\""),
	      "upsertConfig.partialUpsertStrategies.name: APPEND needs a multi-value column, 'name' "
	      "is STRING");
	check(s, PARTIAL("\"score\":\"UNION\""),
	      "upsertConfig.partialUpsertStrategies.score: UNION needs a multi-value column, 'score' "
	      "is INT");
#undef PARTIAL
	schema_unref(s);

	/* the primary-key check still comes first */
	s = schema("{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"a\","
		   "\"dataType\":\"STRING\"}]}");
	check(s, RT "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"comparisonColumns\":[\"zz\"]}}",
	      "upsertConfig.mode: PARTIAL upsert needs primaryKeyColumns in schema 'ev'");
	schema_unref(s);
}

/* Pinot's own upsert examples load and check as before. */
static void
test_pinot_examples(void **state)
{
	(void)state;
	const char *shared = getenv("WB_SHARED");
	char dir[1024], path[1200];
	snprintf(dir, sizeof(dir), "%s/pinot-examples/pinot-tools-examples/stream/"
		 "upsertPartialMeetupRsvp",
		 shared ? shared : "/work/shared");
	char *text;
	size_t len;
	Err e = {0};
	snprintf(path, sizeof(path), "%s/upsertPartialMeetupRsvp_realtime_table_config.json", dir);
	assert_int_equal(file_read_all(path, &text, &len, &e), 0);
	TableConfig *c = NULL;
	assert_int_equal(tblconfig_parse(text, len, &c, &e), 0);
	mem_free(text);
	snprintf(path, sizeof(path), "%s/upsertPartialMeetupRsvp_schema.json", dir);
	assert_int_equal(file_read_all(path, &text, &len, &e), 0);
	Schema *s = NULL;
	assert_int_equal(schema_parse(text, len, &s, &e), 0);
	mem_free(text);
	assert_string_equal(c->upsert_mode, "PARTIAL");
	assert_int_equal(c->nstrategies, 3);
	for (int i = 0; i < 3; i++) {
		const char *col = c->strategy_cols[i];
		int st = c->strategies[i];
		if (strcmp(col, "rsvp_count") == 0)
			assert_int_equal(st, TBL_UPS_INCREMENT);
		else if (strcmp(col, "group_name") == 0)
			assert_int_equal(st, TBL_UPS_UNION);
		else
			assert_int_equal(st, TBL_UPS_APPEND);
	}
	if (tblconfig_check_schema(c, s, &e) != 0)
		print_error("%s\n", e.msg);
	assert_int_equal(tblconfig_check_schema(c, s, &e), 0);
	schema_unref(s);
	tblconfig_free(c);

	snprintf(path, sizeof(path), "%s/pinot-examples/unit-test-data/configs/testConfigs/"
		 "multipleIndexPartialUpsertMultipleComparisonColumnConfig.json",
		 shared ? shared : "/work/shared");
	assert_int_equal(file_read_all(path, &text, &len, &e), 0);
	assert_int_equal(tblconfig_parse(text, len, &c, &e), 0);
	mem_free(text);
	assert_int_equal(c->ncmp, 2);
	assert_string_equal(c->cmp_cols[0], "_comparison_column");
	assert_string_equal(c->cmp_cols[1], "foo");
	assert_int_equal(c->default_strategy, TBL_UPS_OVERWRITE);
	tblconfig_free(c);
}

static void
test_alloc_failure(void **state)
{
	(void)state;
	const char *j = RT "\"upsertConfig\":{\"mode\":\"PARTIAL\",\"comparisonColumn\":\"ts\","
			   "\"partialUpsertStrategies\":{\"a\":\"APPEND\",\"b\":\"MAX\"},"
			   "\"deleteRecordColumn\":\"d\",\"outOfOrderRecordColumn\":\"o\","
			   "\"hashFunction\":\"MD5\",\"x\":1}}";
	for (long n = 1; n < 40; n++) {
		TableConfig *c = NULL;
		Err e = {0};
		mem_fail_nth(n);
		int rc = tblconfig_parse(j, strlen(j), &c, &e);
		mem_fail_nth(0);
		assert_true(rc == 0 || rc == ERR_NOMEM);
		if (rc == 0) {
			assert_int_equal(c->nstrategies, 2);
			tblconfig_free(c);
		} else {
			assert_null(c);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),    cmocka_unit_test(test_full_keys),
		cmocka_unit_test(test_strategies),  cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_rules),	    cmocka_unit_test(test_schema_good),
		cmocka_unit_test(test_schema_bad),  cmocka_unit_test(test_pinot_examples),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
