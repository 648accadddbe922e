/*
 * test_tblconfig.c -- tblconfig_parse: names and types, segmentsConfig,
 * index lists, partitioning, stream settings from both places, seal
 * thresholds (current and older key spellings), upsert, unrecognized
 * properties in Pinot's path format, exact error messages, and
 * tblconfig_check_schema.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "table/schema.h"
#include "table/tblconfig.h"

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
expect_err(const char *json, int code, const char *msg)
{
	TableConfig *c = NULL;
	Err e = {0};
	int rc = tblconfig_parse(json, strlen(json), &c, &e);
	if (rc == 0)
		print_error("parsed, expected: %s\n", msg);
	assert_int_equal(rc, code);
	assert_null(c);
	assert_string_equal(e.msg, msg);
}

static void
test_minimal_offline(void **state)
{
	(void)state;
	TableConfig *c = parse_ok("{\"tableName\":\"orders_OFFLINE\",\"tableType\":\"OFFLINE\"}");
	assert_string_equal(c->name, "orders");
	assert_int_equal(c->type, TABLE_OFFLINE);
	assert_string_equal(c->schema_name, "orders");
	assert_null(c->time_column);
	assert_int_equal(c->replication, 1);
	assert_int_equal(c->num_partitions, 1);
	assert_null(c->partition_column);
	assert_int_equal(c->load_mode_mmap, 1);
	assert_null(c->stream_type);
	assert_int_equal(c->flush_rows, 0);
	assert_string_equal(c->unrecognized, "{}");
	assert_string_equal(c->json, "{\"tableName\":\"orders_OFFLINE\",\"tableType\":\"OFFLINE\"}");
	assert_string_equal(tblconfig_type_name(c->type), "OFFLINE");
	tblconfig_free(c);
}

static void
test_full_realtime(void **state)
{
	(void)state;
	TableConfig *c = parse_ok(
		"{\"tableName\":\"events\",\"tableType\":\"REALTIME\","
		"\"segmentsConfig\":{\"schemaName\":\"ev\",\"timeColumnName\":\"ts\","
		"\"retentionTimeUnit\":\"DAYS\",\"retentionTimeValue\":\"365\",\"replication\":\"3\","
		"\"replicasPerPartition\":\"1\"},"
		"\"tenants\":{\"broker\":\"DefaultTenant\"},"
		"\"tableIndexConfig\":{\"invertedIndexColumns\":[\"a\",\"b\"],\"sortedColumn\":[\"s\"],"
		"\"noDictionaryColumns\":[\"n\"],\"rangeIndexColumns\":[\"r\"],"
		"\"bloomFilterColumns\":[\"bf\"],\"loadMode\":\"HEAP\","
		"\"segmentPartitionConfig\":{\"columnPartitionMap\":{\"k\":{\"functionName\":\"Murmur\","
		"\"numPartitions\":4}}},"
		"\"streamConfigs\":{\"streamType\":\"kafka\",\"stream.kafka.topic.name\":\"t1\","
		"\"stream.kafka.broker.list\":\"localhost:9092\","
		"\"stream.kafka.decoder.class.name\":\"JSONMessageDecoder\","
		"\"stream.kafka.consumer.prop.auto.offset.reset\":\"smallest\","
		"\"realtime.segment.flush.threshold.rows\":\"500000\","
		"\"realtime.segment.flush.threshold.time\":\"6h\","
		"\"realtime.segment.flush.threshold.segment.size\":\"200M\"}},"
		"\"upsertConfig\":{\"mode\":\"full\",\"comparisonColumn\":\"ts\"},"
		"\"metadata\":{\"customConfigs\":{\"x\":\"y\"}}}");
	assert_string_equal(c->name, "events");
	assert_int_equal(c->type, TABLE_REALTIME);
	assert_string_equal(c->schema_name, "ev");
	assert_string_equal(c->time_column, "ts");
	assert_string_equal(c->retention_unit, "DAYS");
	assert_int_equal(c->retention_value, 365);
	assert_int_equal(c->replication, 3);
	assert_int_equal(c->ninverted, 2);
	assert_string_equal(c->inverted[1], "b");
	assert_string_equal(c->sorted_column, "s");
	assert_int_equal(c->nnodict, 1);
	assert_string_equal(c->no_dictionary[0], "n");
	assert_int_equal(c->nrange, 1);
	assert_int_equal(c->nbloom, 1);
	assert_int_equal(c->load_mode_mmap, 0);
	assert_int_equal(c->num_partitions, 4);
	assert_string_equal(c->partition_column, "k");
	assert_string_equal(c->stream_type, "kafka");
	assert_string_equal(c->topic, "t1");
	assert_string_equal(c->broker_list, "localhost:9092");
	assert_string_equal(c->decoder_class, "JSONMessageDecoder");
	assert_int_equal(c->flush_rows, 500000);
	assert_int_equal(c->flush_time_ms, 6 * 3600000LL);
	assert_int_equal(c->flush_size_bytes, 200LL * 1024 * 1024);
	assert_string_equal(c->upsert_mode, "FULL");
	assert_string_equal(c->unrecognized, "{}");
	tblconfig_free(c);
}

static void
test_stream_config_maps(void **state)
{
	(void)state;
	/* streamConfigMaps[0] wins over streamConfigs key by key; older key
	 * spellings: threshold.size = rows, desired.size = segment size */
	TableConfig *c = parse_ok(
		"{\"tableName\":\"e_REALTIME\",\"tableType\":\"REALTIME\","
		"\"tableIndexConfig\":{\"streamConfigs\":{\"streamType\":\"kafka\","
		"\"stream.kafka.topic.name\":\"old\",\"realtime.segment.flush.threshold.time\":\"1d\"}},"
		"\"ingestionConfig\":{\"streamIngestionConfig\":{\"streamConfigMaps\":[{"
		"\"streamType\":\"kafka\",\"stream.kafka.topic.name\":\"new\","
		"\"realtime.segment.flush.threshold.size\":100000000,"
		"\"realtime.segment.flush.desired.size\":\"150MB\"}]},"
		"\"transformConfigs\":[{\"columnName\":\"x\",\"transformFunction\":\"y\"}]}}");
	assert_string_equal(c->name, "e");
	assert_string_equal(c->topic, "new");
	assert_null(c->broker_list);
	assert_int_equal(c->flush_rows, 100000000);
	assert_int_equal(c->flush_time_ms, 86400000);
	assert_int_equal(c->flush_size_bytes, 150LL * 1024 * 1024);
	assert_string_equal(c->unrecognized, "{}");
	tblconfig_free(c);

	/* the current key wins over the older one */
	c = parse_ok("{\"tableName\":\"e\",\"tableType\":\"REALTIME\",\"tableIndexConfig\":{"
		     "\"streamConfigs\":{\"realtime.segment.flush.threshold.size\":\"5\","
		     "\"realtime.segment.flush.threshold.rows\":\"7\"}}}");
	assert_int_equal(c->flush_rows, 7);
	assert_null(c->stream_type);	/* push-fed, thresholds only */
	tblconfig_free(c);
}

static void
test_thresholds(void **state)
{
	(void)state;
	int64_t v;
	static const struct {
		const char *s;
		int64_t ms;
	} periods[] = {
		{"6h", 21600000}, {"30m", 1800000}, {"1d", 86400000}, {"3600000", 3600000},
		{"1h30m", 5400000}, {"10s", 10000}, {"2D", 172800000}, {"0", 0},
	};
	for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		assert_int_equal(tblconfig_parse_period(periods[i].s, &v), 0);
		assert_int_equal(v, periods[i].ms);
	}
	static const char *const bad_periods[] = {"", "h", "6x", "30m1h", "1.5h", "-5", "6h "};
	for (size_t i = 0; i < sizeof(bad_periods) / sizeof(bad_periods[0]); i++)
		assert_int_equal(tblconfig_parse_period(bad_periods[i], &v), -1);
	static const struct {
		const char *s;
		int64_t b;
	} sizes[] = {
		{"200M", 200LL << 20}, {"150MB", 150LL << 20}, {"1G", 1LL << 30}, {"4096", 4096},
		{"10K", 10240},	       {"1.5G", 3LL << 29},    {"40B", 40},	  {"2gb", 2LL << 30},
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(tblconfig_parse_size(sizes[i].s, &v), 0);
		assert_int_equal(v, sizes[i].b);
	}
	static const char *const bad_sizes[] = {"", "M", "200X", "1.G", "-1M", "1MBB", "1 M"};
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		assert_int_equal(tblconfig_parse_size(bad_sizes[i], &v), -1);

	expect_err("{\"tableName\":\"e\",\"tableType\":\"REALTIME\",\"tableIndexConfig\":{"
		   "\"streamConfigs\":{\"realtime.segment.flush.threshold.time\":\"6x\"}}}",
		   ERR_BAD_CONFIG,
		   "tableIndexConfig.streamConfigs[\"realtime.segment.flush.threshold.time\"]: invalid "
		   "period '6x' (examples: '6h', '30m', '1d', '3600000')");
	expect_err("{\"tableName\":\"e\",\"tableType\":\"REALTIME\",\"ingestionConfig\":{"
		   "\"streamIngestionConfig\":{\"streamConfigMaps\":[{"
		   "\"realtime.segment.flush.threshold.segment.size\":\"lots\"}]}}}",
		   ERR_BAD_CONFIG,
		   "ingestionConfig.streamIngestionConfig.streamConfigMaps[0][\"realtime.segment.flush."
		   "threshold.segment.size\"]: invalid size 'lots' (examples: '200M', '150MB', '1G')");
	expect_err("{\"tableName\":\"e\",\"tableType\":\"REALTIME\",\"tableIndexConfig\":{"
		   "\"streamConfigs\":{\"realtime.segment.flush.threshold.rows\":\"-1\"}}}",
		   ERR_BAD_CONFIG,
		   "tableIndexConfig.streamConfigs[\"realtime.segment.flush.threshold.rows\"]: expected a "
		   "row count, got '-1'");
}

static void
test_errors(void **state)
{
	(void)state;
	expect_err("{\"tableName\":\"t\",\"tableType\":\"BATCH\"}", ERR_BAD_CONFIG,
		   "tableType: must be OFFLINE or REALTIME, got 'BATCH'");
	expect_err("{\"tableName\":\"t\"}", ERR_BAD_CONFIG, "tableType: required");
	expect_err("{\"tableType\":\"OFFLINE\"}", ERR_BAD_CONFIG, "tableName: required");
	expect_err("{\"tableName\":1,\"tableType\":\"OFFLINE\"}", ERR_BAD_CONFIG,
		   "tableName: expected a string");
	expect_err("{\"tableName\":\"t_REALTIME\",\"tableType\":\"OFFLINE\"}", ERR_BAD_CONFIG,
		   "tableName: suffix _REALTIME does not match tableType OFFLINE");
	expect_err("{\"tableName\":\"_OFFLINE\",\"tableType\":\"OFFLINE\"}", ERR_BAD_CONFIG,
		   "tableName: must not be empty");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":{\"replication\":\"x\"}}",
		   ERR_BAD_CONFIG, "segmentsConfig.replication: not a number");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":{\"replication\":0}}",
		   ERR_BAD_CONFIG, "segmentsConfig.replication: must be at least 1");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":"
		   "{\"retentionTimeValue\":\"soon\"}}",
		   ERR_BAD_CONFIG, "segmentsConfig.retentionTimeValue: not a number");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":"
		   "{\"retentionTimeUnit\":\"WEEKS\"}}",
		   ERR_BAD_CONFIG, "segmentsConfig.retentionTimeUnit: unknown time unit 'WEEKS'");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":[]}",
		   ERR_BAD_CONFIG, "segmentsConfig: expected an object");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":{\"timeColumnName\":5}}",
		   ERR_BAD_CONFIG, "segmentsConfig.timeColumnName: expected a string");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"invertedIndexColumns\":[\"a\",\"b\",3]}}",
		   ERR_BAD_CONFIG, "tableIndexConfig.invertedIndexColumns[2]: expected a string");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"rangeIndexColumns\":\"a\"}}",
		   ERR_BAD_CONFIG, "tableIndexConfig.rangeIndexColumns: expected an array");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"sortedColumn\":[\"a\",\"b\"]}}",
		   ERR_BAD_CONFIG, "tableIndexConfig.sortedColumn: at most one column, got 2");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"loadMode\":\"DISK\"}}",
		   ERR_BAD_CONFIG, "tableIndexConfig.loadMode: must be MMAP or HEAP, got 'DISK'");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"segmentPartitionConfig\":{\"columnPartitionMap\":{\"k\":{\"numPartitions\":0}}}}}",
		   ERR_BAD_CONFIG,
		   "tableIndexConfig.segmentPartitionConfig.columnPartitionMap.k.numPartitions: expected a "
		   "number from 1 to 65536");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"segmentPartitionConfig\":{\"columnPartitionMap\":{\"k\":{},\"j\":{}}}}}",
		   ERR_BAD_CONFIG,
		   "tableIndexConfig.segmentPartitionConfig.columnPartitionMap: Waybill partitions by one "
		   "column, got 2");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"REALTIME\",\"tableIndexConfig\":"
		   "{\"streamConfigs\":{\"streamType\":\"kafka\"}}}",
		   ERR_BAD_CONFIG,
		   "tableIndexConfig.streamConfigs: \"stream.kafka.topic.name\" is required when "
		   "streamType is 'kafka'");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"REALTIME\",\"tableIndexConfig\":"
		   "{\"streamConfigs\":{\"streamType\":[]}}}",
		   ERR_BAD_CONFIG, "tableIndexConfig.streamConfigs[\"streamType\"]: expected a string");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"REALTIME\",\"ingestionConfig\":"
		   "{\"streamIngestionConfig\":{\"streamConfigMaps\":{}}}}",
		   ERR_BAD_CONFIG,
		   "ingestionConfig.streamIngestionConfig.streamConfigMaps: expected an array");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"REALTIME\",\"upsertConfig\":{\"mode\":\"SOME\"}}",
		   ERR_BAD_CONFIG, "upsertConfig.mode: must be FULL, PARTIAL or NONE, got 'SOME'");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"upsertConfig\":{\"mode\":\"FULL\"}}",
		   ERR_BAD_CONFIG, "upsertConfig: upsert needs a REALTIME table");
	expect_err("{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		   "{\"loadMode\":\"MMAP\",\"loadMode\":\"HEAP\"}}",
		   ERR_BAD_CONFIG, "tableIndexConfig: duplicate key 'loadMode'");
	expect_err("\"x\"", ERR_BAD_CONFIG, "table config: expected a JSON object");
	expect_err("{\"tableName\":\"t\",", ERR_BAD_JSON, "malformed JSON at byte 16");
}

static void
test_unrecognized(void **state)
{
	(void)state;
	TableConfig *c = parse_ok(
		"{\"tableName\":\"t\",\"tableType\":\"OFFLINE\",\"quota\":{\"storage\":\"10G\"},"
		"\"tableIndexConfig\":{\"loadMode\":\"MMAP\",\"starTreeIndexConfigs\":[{"
		"\"dimensionsSplitOrder\":[\"a\"],\"maxLeafRecords\":10}],\"jsonIndexColumns\":[],"
		"\"streamConfigs\":{\"stream.kafka.clusterGroup\":\"x\",\"streamType\":\"kafka\","
		"\"stream.kafka.topic.name\":\"t\"}},"
		"\"ingestionConfig\":{\"streamIngestionConfig\":{\"streamConfigMaps\":[{},"
		"{\"streamType\":\"kafka\"}]}},"
		"\"dedupConfig\":null,\"upsertConfig\":{\"mode\":\"NONE\",\"metadataTTL\":5,\"offHeapStorageTTL\":5}}");
	assert_string_equal(
		c->unrecognized,
		"{\"/quota/storage\":\"10G\","
		"\"/tableIndexConfig/starTreeIndexConfigs/0/dimensionsSplitOrder/0\":\"a\","
		"\"/tableIndexConfig/starTreeIndexConfigs/0/maxLeafRecords\":10,"
		"\"/tableIndexConfig/jsonIndexColumns\":[],"
		"\"/tableIndexConfig/streamConfigs/stream.kafka.clusterGroup\":\"x\","
		"\"/ingestionConfig/streamIngestionConfig/streamConfigMaps/1/streamType\":\"kafka\","
		"\"/dedupConfig\":null,"
		"\"/upsertConfig/offHeapStorageTTL\":5}");
	tblconfig_free(c);
}

static Schema *
schema(const char *json)
{
	Schema *s = NULL;
	Err e = {0};
	assert_int_equal(schema_parse(json, strlen(json), &s, &e), 0);
	return s;
}

static void
expect_schema_check(const char *cfg, const Schema *s, const char *msg)
{
	TableConfig *c = parse_ok(cfg);
	Err e = {0};
	int rc = tblconfig_check_schema(c, s, &e);
	if (msg == NULL) {
		if (rc != 0)
			print_error("unexpected: %s\n", e.msg);
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(rc, ERR_BAD_CONFIG);
		assert_string_equal(e.msg, msg);
	}
	tblconfig_free(c);
}

static void
test_check_schema(void **state)
{
	(void)state;
	Schema *s = schema("{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":["
			   "{\"name\":\"a\",\"dataType\":\"STRING\"},{\"name\":\"k\",\"dataType\":\"INT\"}],"
			   "\"dateTimeFieldSpecs\":[{\"name\":\"ts\",\"dataType\":\"LONG\","
			   "\"format\":\"1:MILLISECONDS:EPOCH\",\"granularity\":\"1:MILLISECONDS\"}]}");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":"
		     "{\"timeColumnName\":\"ts\"},\"tableIndexConfig\":{\"invertedIndexColumns\":[\"a\"],"
		     "\"sortedColumn\":[\"k\"],\"segmentPartitionConfig\":{\"columnPartitionMap\":"
		     "{\"k\":{\"numPartitions\":2}}}}}",
		     s, NULL);
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":"
		     "{\"timeColumnName\":\"when\"}}",
		     s, "segmentsConfig.timeColumnName: column 'when' is not in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":"
		     "{\"timeColumnName\":\"a\"}}",
		     s,
		     "segmentsConfig.timeColumnName: column 'a' is not a dateTime field in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		     "{\"invertedIndexColumns\":[\"a\",\"k\",\"zz\"]}}",
		     s, "tableIndexConfig.invertedIndexColumns[2]: column 'zz' is not in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		     "{\"sortedColumn\":\"b\"}}",
		     s, "tableIndexConfig.sortedColumn: column 'b' is not in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		     "{\"noDictionaryColumns\":[\"q\"]}}",
		     s, "tableIndexConfig.noDictionaryColumns[0]: column 'q' is not in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		     "{\"rangeIndexColumns\":[\"q\"]}}",
		     s, "tableIndexConfig.rangeIndexColumns[0]: column 'q' is not in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		     "{\"bloomFilterColumns\":[\"a\",\"q\"]}}",
		     s, "tableIndexConfig.bloomFilterColumns[1]: column 'q' is not in schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"OFFLINE\",\"tableIndexConfig\":"
		     "{\"segmentPartitionConfig\":{\"columnPartitionMap\":{\"p\":{\"numPartitions\":2}}}}}",
		     s,
		     "tableIndexConfig.segmentPartitionConfig.columnPartitionMap.p: column 'p' is not in "
		     "schema 'ev'");
	expect_schema_check("{\"tableName\":\"ev\",\"tableType\":\"REALTIME\",\"upsertConfig\":{\"mode\":\"FULL\"}}",
		     s, "upsertConfig.mode: FULL upsert needs primaryKeyColumns in schema 'ev'");
	schema_unref(s);
}

static void
test_alloc_failure(void **state)
{
	(void)state;
	const char *j = "{\"tableName\":\"t\",\"tableType\":\"REALTIME\",\"tableIndexConfig\":{"
			"\"invertedIndexColumns\":[\"a\"],\"streamConfigs\":{\"streamType\":\"kafka\","
			"\"stream.kafka.topic.name\":\"x\"}},\"quota\":{\"a\":1}}";
	for (long n = 1; n < 40; n++) {
		TableConfig *c = NULL;
		Err e = {0};
		mem_fail_nth(n);
		int rc = tblconfig_parse(j, strlen(j), &c, &e);
		mem_fail_nth(0);
		assert_true(rc == 0 || rc == ERR_NOMEM);
		if (rc == 0)
			tblconfig_free(c);
		else
			assert_null(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_offline), cmocka_unit_test(test_full_realtime),
		cmocka_unit_test(test_stream_config_maps), cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_errors),		cmocka_unit_test(test_unrecognized),
		cmocka_unit_test(test_check_schema),	cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
