/*
 * test_schema.c -- schema_parse: defaults, multi-value, primary keys,
 * date-time formats, legacy timeFieldSpec, complex fields, and the exact
 * error message for each kind of invalid document.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"
#include "table/schema.h"

static Schema *
parse_ok(const char *json)
{
	Schema *s = NULL;
	Err e = {0};
	int rc = schema_parse(json, strlen(json), &s, &e);
	if (rc != 0)
		print_error("unexpected error: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

static void
expect_err(const char *json, int code, const char *msg)
{
	Schema *s = NULL;
	Err e = {0};
	int rc = schema_parse(json, strlen(json), &s, &e);
	assert_int_equal(rc, code);
	assert_null(s);
	assert_string_equal(e.msg, msg);
}

static const Field *
field(const Schema *s, const char *name)
{
	int i = schema_find(s, name);
	assert_true(i >= 0);
	return &s->fields[i];
}

static void
test_defaults(void **state)
{
	(void)state;
	Schema *s = parse_ok(
		"{\"schemaName\":\"t\",\"dimensionFieldSpecs\":["
		"{\"name\":\"i\",\"dataType\":\"INT\"},{\"name\":\"l\",\"dataType\":\"LONG\"},"
		"{\"name\":\"f\",\"dataType\":\"FLOAT\"},{\"name\":\"d\",\"dataType\":\"DOUBLE\"},"
		"{\"name\":\"b\",\"dataType\":\"BOOLEAN\"},{\"name\":\"ts\",\"dataType\":\"TIMESTAMP\"},"
		"{\"name\":\"s\",\"dataType\":\"STRING\"},{\"name\":\"j\",\"dataType\":\"JSON\"},"
		"{\"name\":\"y\",\"dataType\":\"BYTES\"},{\"name\":\"bd\",\"dataType\":\"BIG_DECIMAL\"}],"
		"\"metricFieldSpecs\":[{\"name\":\"mi\",\"dataType\":\"INT\"},"
		"{\"name\":\"ml\",\"dataType\":\"LONG\"},{\"name\":\"md\",\"dataType\":\"DOUBLE\"},"
		"{\"name\":\"my\",\"dataType\":\"BYTES\"}],"
		"\"dateTimeFieldSpecs\":[{\"name\":\"dt\",\"dataType\":\"LONG\","
		"\"format\":\"1:MILLISECONDS:EPOCH\",\"granularity\":\"1:MILLISECONDS\"}]}");
	assert_string_equal(s->name, "t");
	assert_int_equal(s->nfields, 15);
	assert_int_equal(field(s, "i")->default_null.u.i, INT32_MIN);
	assert_int_equal(field(s, "l")->default_null.u.i, INT64_MIN);
	assert_true(isinf(field(s, "f")->default_null.u.d) && field(s, "f")->default_null.u.d < 0);
	assert_true(isinf(field(s, "d")->default_null.u.d) && field(s, "d")->default_null.u.d < 0);
	assert_int_equal(field(s, "b")->default_null.u.i, 0);
	assert_int_equal(field(s, "ts")->default_null.u.i, 0);
	assert_int_equal(field(s, "s")->default_null.n, 4);
	assert_memory_equal(field(s, "s")->default_null.u.s, "null", 4);
	assert_memory_equal(field(s, "j")->default_null.u.s, "null", 4);
	assert_int_equal(field(s, "y")->default_null.n, 0);
	assert_int_equal(field(s, "bd")->type, TYPE_DOUBLE);
	assert_true(field(s, "bd")->default_null.u.d == 0.0);
	assert_int_equal(field(s, "mi")->default_null.u.i, 0);
	assert_int_equal(field(s, "ml")->default_null.u.i, 0);
	assert_true(field(s, "md")->default_null.u.d == 0.0);
	assert_int_equal(field(s, "my")->default_null.n, 0);
	assert_int_equal(field(s, "dt")->default_null.u.i, INT64_MIN);
	assert_int_equal(field(s, "dt")->kind, FIELD_DATETIME);
	assert_string_equal(field(s, "dt")->format, "1:MILLISECONDS:EPOCH");
	assert_string_equal(field(s, "dt")->granularity, "1:MILLISECONDS");
	assert_int_equal(field(s, "i")->single_value, 1);
	assert_int_equal(field(s, "mi")->kind, FIELD_METRIC);
	/* declaration order: dimensions, metrics, date-times */
	assert_int_equal(schema_find(s, "i"), 0);
	assert_int_equal(schema_find(s, "mi"), 10);
	assert_int_equal(schema_find(s, "dt"), 14);
	assert_int_equal(field(s, "i")->default_null.type, TYPE_INT);
	assert_non_null(s->json);
	assert_non_null(strstr(s->json, "\"schemaName\":\"t\""));
	schema_unref(s);
}

static void
test_explicit_defaults(void **state)
{
	(void)state;
	Schema *s = parse_ok(
		"{\"schemaName\":\"t\",\"dimensionFieldSpecs\":["
		"{\"name\":\"i\",\"dataType\":\"INT\",\"defaultNullValue\":-1},"
		"{\"name\":\"i2\",\"dataType\":\"INT\",\"defaultNullValue\":\"42\"},"
		"{\"name\":\"f\",\"dataType\":\"FLOAT\",\"defaultNullValue\":-2},"
		"{\"name\":\"b\",\"dataType\":\"BOOLEAN\",\"defaultNullValue\":true},"
		"{\"name\":\"b2\",\"dataType\":\"BOOLEAN\",\"defaultNullValue\":\"false\"},"
		"{\"name\":\"s\",\"dataType\":\"STRING\",\"defaultNullValue\":\"\"},"
		"{\"name\":\"s2\",\"dataType\":\"STRING\",\"defaultNullValue\":20200101},"
		"{\"name\":\"y\",\"dataType\":\"BYTES\",\"defaultNullValue\":\"0aFf\"},"
		"{\"name\":\"ts\",\"dataType\":\"TIMESTAMP\",\"defaultNullValue\":\"2020-01-02 03:04:05.5\"},"
		"{\"name\":\"ts2\",\"dataType\":\"TIMESTAMP\",\"defaultNullValue\":1000},"
		"{\"name\":\"ts3\",\"dataType\":\"TIMESTAMP\",\"defaultNullValue\":\"1970-01-02\"},"
		"{\"name\":\"n\",\"dataType\":\"INT\",\"defaultNullValue\":null}]}");
	assert_int_equal(field(s, "i")->default_null.u.i, -1);
	assert_int_equal(field(s, "i2")->default_null.u.i, 42);
	assert_true(field(s, "f")->default_null.u.d == -2.0);
	assert_int_equal(field(s, "b")->default_null.u.i, 1);
	assert_int_equal(field(s, "b2")->default_null.u.i, 0);
	assert_int_equal(field(s, "s")->default_null.n, 0);
	assert_string_equal(field(s, "s2")->default_null.u.s, "20200101");
	assert_int_equal(field(s, "y")->default_null.n, 2);
	assert_memory_equal(field(s, "y")->default_null.u.s, "\x0a\xff", 2);
	assert_int_equal(field(s, "ts")->default_null.u.i, 1577934245500LL);
	assert_int_equal(field(s, "ts2")->default_null.u.i, 1000);
	assert_int_equal(field(s, "ts3")->default_null.u.i, 86400000);
	assert_int_equal(field(s, "n")->default_null.u.i, INT32_MIN);
	schema_unref(s);
}

static void
test_mv_and_flags(void **state)
{
	(void)state;
	Schema *s = parse_ok(
		"{\"schemaName\":\"t\",\"dimensionFieldSpecs\":["
		"{\"name\":\"tags\",\"dataType\":\"STRING\",\"singleValueField\":false,"
		"\"maxLength\":1000,\"notNull\":\"true\",\"transformFunction\":\"split(x, ',')\"},"
		"{\"name\":\"g\",\"dataType\":\"STRING\",\"singleValueField\":\"false\","
		"\"cardinality\":10}],"
		"\"enableColumnBasedNullHandling\":true}");
	const Field *f = field(s, "tags");
	assert_int_equal(f->single_value, 0);
	assert_int_equal(f->max_length, 1000);
	assert_int_equal(f->not_null, 1);
	assert_string_equal(f->transform, "split(x, ',')");
	assert_int_equal(field(s, "g")->single_value, 0);
	assert_int_equal(field(s, "g")->max_length, 0);
	assert_int_equal(s->column_null_handling, 1);
	schema_unref(s);
}

static void
test_primary_keys(void **state)
{
	(void)state;
	Schema *s = parse_ok("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":["
			     "{\"name\":\"a\",\"dataType\":\"INT\"},{\"name\":\"b\",\"dataType\":\"STRING\"}],"
			     "\"primaryKeyColumns\":[\"b\",\"a\"]}");
	assert_int_equal(s->npk, 2);
	assert_string_equal(s->pk[0], "b");
	assert_string_equal(s->pk[1], "a");
	schema_unref(s);
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}],"
		   "\"primaryKeyColumns\":[\"a\",\"zz\"]}",
		   ERR_BAD_SCHEMA, "primaryKeyColumns[1]: unknown column 'zz'");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}],"
		   "\"primaryKeyColumns\":[\"a\",\"a\"]}",
		   ERR_BAD_SCHEMA, "primaryKeyColumns[1]: column 'a' listed twice");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}],"
		   "\"primaryKeyColumns\":[1]}",
		   ERR_BAD_SCHEMA, "primaryKeyColumns[0]: expected a string");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\","
		   "\"singleValueField\":false}],\"primaryKeyColumns\":[\"a\"]}",
		   ERR_BAD_SCHEMA, "primaryKeyColumns[0]: column 'a' is multi-valued");
}

static void
test_time_field_spec(void **state)
{
	(void)state;
	Schema *s = parse_ok(
		"{\"schemaName\":\"t\",\"timeFieldSpec\":{"
		"\"incomingGranularitySpec\":{\"dataType\":\"LONG\",\"timeType\":\"SECONDS\","
		"\"timeUnitSize\":10,\"name\":\"incoming\"},"
		"\"outgoingGranularitySpec\":{\"dataType\":\"INT\",\"timeType\":\"DAYS\",\"name\":\"outgoing\"},"
		"\"defaultNullValue\":10000,\"transformFunction\":\"toEpochDays(millis)\"}}");
	assert_int_equal(s->nfields, 1);
	const Field *f = &s->fields[0];
	assert_string_equal(f->name, "outgoing");
	assert_int_equal(f->type, TYPE_INT);
	assert_int_equal(f->kind, FIELD_TIME);
	assert_string_equal(f->format, "1:DAYS:EPOCH");
	assert_string_equal(f->granularity, "1:DAYS");
	assert_int_equal(f->default_null.u.i, 10000);
	assert_string_equal(f->transform, "toEpochDays(millis)");
	schema_unref(s);

	s = parse_ok("{\"schemaName\":\"t\",\"timeFieldSpec\":{\"incomingGranularitySpec\":"
		     "{\"timeType\":\"DAYS\",\"dataType\":\"LONG\",\"name\":\"days\",\"timeUnitSize\":\"2\"}}}");
	assert_string_equal(s->fields[0].name, "days");
	assert_string_equal(s->fields[0].format, "2:DAYS:EPOCH");
	schema_unref(s);

	expect_err("{\"schemaName\":\"t\",\"timeFieldSpec\":{}}", ERR_BAD_SCHEMA,
		   "timeFieldSpec: needs incomingGranularitySpec or outgoingGranularitySpec");
	expect_err("{\"schemaName\":\"t\",\"timeFieldSpec\":{\"incomingGranularitySpec\":"
		   "{\"dataType\":\"LONG\",\"name\":\"x\"}}}",
		   ERR_BAD_SCHEMA, "timeFieldSpec.incomingGranularitySpec.timeType: required");
	expect_err("{\"schemaName\":\"t\",\"timeFieldSpec\":{\"incomingGranularitySpec\":"
		   "{\"dataType\":\"LONG\",\"name\":\"x\",\"timeType\":\"FORTNIGHTS\"}}}",
		   ERR_BAD_SCHEMA,
		   "timeFieldSpec.incomingGranularitySpec.timeType: unknown time unit 'FORTNIGHTS'");
}

static void
test_complex_fields(void **state)
{
	(void)state;
	Schema *s = parse_ok("{\"schemaName\":\"t\",\"complexFieldSpecs\":[{\"name\":\"m\","
			     "\"dataType\":\"MAP\",\"childFieldSpecs\":{\"key\":{\"name\":\"key\","
			     "\"dataType\":\"STRING\"}}}]}");
	assert_int_equal(s->fields[0].kind, FIELD_COMPLEX);
	assert_int_equal(s->fields[0].type, TYPE_JSON);
	schema_unref(s);
	expect_err("{\"schemaName\":\"t\",\"complexFieldSpecs\":[{\"name\":\"m\",\"dataType\":\"INT\"}]}",
		   ERR_BAD_SCHEMA,
		   "complexFieldSpecs[0].dataType: complex fields are MAP, STRUCT or LIST, got 'INT'");
}

static void
test_datetime_formats(void **state)
{
	(void)state;
	static const char *const good[] = {
		"1:MILLISECONDS:EPOCH", "5:MINUTES:EPOCH", "1:DAYS:SIMPLE_DATE_FORMAT:yyyyMMdd",
		"1:SECONDS:SIMPLE_DATE_FORMAT:yyyy-MM-dd'T'HH:mm:ss'Z'", "1:MILLISECONDS:TIMESTAMP",
		"1:DAYS:SIMPLE_DATE_FORMAT", "EPOCH|MILLISECONDS|1", "EPOCH|DAYS", "EPOCH|SECONDS|5",
		"SIMPLE_DATE_FORMAT|yyyy-MM-dd", "SIMPLE_DATE_FORMAT|yyyy-MM-dd|America/Los_Angeles",
		"TIMESTAMP", "1:WEEKS:EPOCH",
	};
	static const char *const bad[][2] = {
		{"", "must not be empty"},
		{"1:MILLISECONDS", "must be of the form 'size:timeUnit:timeFormat(:pattern)'"},
		{"0:MILLISECONDS:EPOCH", "invalid size '0'"},
		{"1:MILLIS:EPOCH", "invalid time unit 'MILLIS'"},
		{"1:DAYS:DATE", "invalid time format 'DATE' (EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP)"},
		{"EPOCH", "must be of the form 'EPOCH|timeUnit(|size)'"},
		{"EPOCH|DAYZ", "invalid time unit 'DAYZ'"},
		{"EPOCH|DAYS|x", "invalid size 'x'"},
		{"TIMESTAMP|x", "TIMESTAMP takes no arguments"},
		{"SIMPLE_DATE_FORMAT|", "empty SIMPLE_DATE_FORMAT pattern"},
		{"ISO8601", "invalid time format 'ISO8601' (EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP)"},
	};
	char why[160];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (schema_check_datetime_format(good[i], why, sizeof(why)) != 0)
			print_error("%s: %s\n", good[i], why);
		assert_int_equal(schema_check_datetime_format(good[i], why, sizeof(why)), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(schema_check_datetime_format(bad[i][0], why, sizeof(why)), -1);
		assert_string_equal(why, bad[i][1]);
	}
	assert_int_equal(schema_check_granularity("1:MILLISECONDS", why, sizeof(why)), 0);
	assert_int_equal(schema_check_granularity("15:MINUTES", why, sizeof(why)), 0);
	assert_int_equal(schema_check_granularity("DAYS", why, sizeof(why)), 0);
	assert_int_equal(schema_check_granularity("SECONDS|1", why, sizeof(why)), 0);
	assert_int_equal(schema_check_granularity("0:DAYS", why, sizeof(why)), -1);
	assert_int_equal(schema_check_granularity("1:DAY", why, sizeof(why)), -1);
	assert_int_equal(schema_check_granularity("1:DAYS:x", why, sizeof(why)), -1);

	expect_err("{\"schemaName\":\"t\",\"dateTimeFieldSpecs\":[{\"name\":\"d\",\"dataType\":\"LONG\","
		   "\"format\":\"1:HOURS:EPOCHS\",\"granularity\":\"1:HOURS\"}]}",
		   ERR_BAD_SCHEMA,
		   "dateTimeFieldSpecs[0].format: invalid format '1:HOURS:EPOCHS': invalid time format "
		   "'EPOCHS' (EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP)");
	expect_err("{\"schemaName\":\"t\",\"dateTimeFieldSpecs\":[{\"name\":\"d\",\"dataType\":\"LONG\","
		   "\"granularity\":\"1:HOURS\"}]}",
		   ERR_BAD_SCHEMA, "dateTimeFieldSpecs[0].format: required");
	expect_err("{\"schemaName\":\"t\",\"dateTimeFieldSpecs\":[{\"name\":\"d\",\"dataType\":\"LONG\","
		   "\"format\":\"EPOCH|HOURS\",\"granularity\":\"HOUR\"}]}",
		   ERR_BAD_SCHEMA,
		   "dateTimeFieldSpecs[0].granularity: invalid granularity 'HOUR': must be of the form "
		   "'size:timeUnit' or 'timeUnit(|size)'");
}

static void
test_errors(void **state)
{
	(void)state;
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"},"
		   "{\"name\":\"b\",\"dataType\":\"INT\"},{\"name\":\"c\",\"dataType\":\"INT\"},"
		   "{\"name\":\"d\",\"dataType\":\"INTEGR\"}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[3].dataType: unknown type 'INTEGR'");
	expect_err("{\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}]}", ERR_BAD_SCHEMA,
		   "schemaName: required");
	expect_err("{\"schemaName\":5,\"dimensionFieldSpecs\":[]}", ERR_BAD_SCHEMA,
		   "schemaName: expected a string");
	expect_err("{\"schemaName\":\"\"}", ERR_BAD_SCHEMA, "schemaName: must not be empty");
	expect_err("{\"schemaName\":\"t\"}", ERR_BAD_SCHEMA, "schema: has no fields");
	expect_err("[1,2]", ERR_BAD_SCHEMA, "schema: expected a JSON object");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":{}}", ERR_BAD_SCHEMA,
		   "dimensionFieldSpecs: expected an array");
	expect_err("{\"schemaName\":\"t\",\"metricFieldSpecs\":[\"x\"]}", ERR_BAD_SCHEMA,
		   "metricFieldSpecs[0]: expected an object");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"dataType\":\"INT\"}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0].name: required");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\"}]}", ERR_BAD_SCHEMA,
		   "dimensionFieldSpecs[0].dataType: required");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":7,\"dataType\":\"INT\"}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0].name: expected a string");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":[]}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0].dataType: expected a string");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}],"
		   "\"metricFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"LONG\"}]}",
		   ERR_BAD_SCHEMA, "metricFieldSpecs[0].name: duplicate column 'a'");
	expect_err("{\"schemaName\":\"t\",\"metricFieldSpecs\":[{\"name\":\"m\",\"dataType\":\"STRING\"}]}",
		   ERR_BAD_SCHEMA, "metricFieldSpecs[0].dataType: STRING is not allowed for a metric");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\","
		   "\"singleValueField\":\"maybe\"}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0].singleValueField: expected a boolean");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"STRING\","
		   "\"maxLength\":-3}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0].maxLength: expected a positive integer");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\","
		   "\"transformFunction\":3}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0].transformFunction: expected a string");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}],"
		   "\"enableColumnBasedNullHandling\":\"yes\"}",
		   ERR_BAD_SCHEMA, "enableColumnBasedNullHandling: expected a boolean");
	expect_err("{\"schemaName\":\"t\",\"schemaName\":\"u\",\"dimensionFieldSpecs\":[]}",
		   ERR_BAD_SCHEMA, "duplicate key 'schemaName'");
	expect_err("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"name\":\"b\","
		   "\"dataType\":\"INT\"}]}",
		   ERR_BAD_SCHEMA, "dimensionFieldSpecs[0]: duplicate key 'name'");
}

static void
test_invalid_defaults(void **state)
{
	(void)state;
	static const char *const cases[][3] = {
		{"INT", "\"abc\"", "dimensionFieldSpecs[0].defaultNullValue: invalid INT value 'abc'"},
		{"INT", "1.5", "dimensionFieldSpecs[0].defaultNullValue: invalid INT value '1.5'"},
		{"INT", "3000000000", "dimensionFieldSpecs[0].defaultNullValue: invalid INT value '3000000000'"},
		{"INT", "true", "dimensionFieldSpecs[0].defaultNullValue: invalid INT value 'true'"},
		{"LONG", "\"12x\"", "dimensionFieldSpecs[0].defaultNullValue: invalid LONG value '12x'"},
		{"DOUBLE", "\"x1\"", "dimensionFieldSpecs[0].defaultNullValue: invalid DOUBLE value 'x1'"},
		{"BOOLEAN", "\"yes\"", "dimensionFieldSpecs[0].defaultNullValue: invalid BOOLEAN value 'yes'"},
		{"BOOLEAN", "2", "dimensionFieldSpecs[0].defaultNullValue: invalid BOOLEAN value '2'"},
		{"TIMESTAMP", "\"yesterday\"",
		 "dimensionFieldSpecs[0].defaultNullValue: invalid TIMESTAMP value 'yesterday'"},
		{"BYTES", "\"abc\"", "dimensionFieldSpecs[0].defaultNullValue: invalid BYTES value 'abc'"},
		{"BYTES", "\"zz\"", "dimensionFieldSpecs[0].defaultNullValue: invalid BYTES value 'zz'"},
		{"BYTES", "12", "dimensionFieldSpecs[0].defaultNullValue: invalid BYTES value '12'"},
		{"STRING", "[1]", "dimensionFieldSpecs[0].defaultNullValue: expected a scalar"},
		{"STRING", "{}", "dimensionFieldSpecs[0].defaultNullValue: expected a scalar"},
	};
	char json[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(json, sizeof(json),
			 "{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":"
			 "\"%s\",\"defaultNullValue\":%s}]}",
			 cases[i][0], cases[i][1]);
		expect_err(json, ERR_BAD_SCHEMA, cases[i][2]);
	}
}

static void
test_bad_json(void **state)
{
	(void)state;
	Schema *s = NULL;
	Err e = {0};
	const char *j = "{\"schemaName\":\"t\",\"x\":[1,]}";
	assert_int_equal(schema_parse(j, strlen(j), &s, &e), ERR_BAD_JSON);
	assert_string_equal(e.msg, "malformed JSON at byte 25");
	assert_int_equal(e.pos, 26);
	err_clear(&e);
	j = "{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}]} x";
	assert_int_equal(schema_parse(j, strlen(j), &s, &e), ERR_BAD_JSON);
	assert_string_equal(e.msg, "malformed JSON at byte 73: data after the document");
	err_clear(&e);
	assert_int_equal(schema_parse("", 0, &s, &e), ERR_BAD_JSON);
	err_clear(&e);
	/* length is honoured: the text after len is not read */
	j = "{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":\"INT\"}]}garbage";
	assert_int_equal(schema_parse(j, strlen(j) - 7, &s, &e), 0);
	schema_unref(s);
}

static void
test_find(void **state)
{
	(void)state;
	Schema *s = parse_ok("{\"schemaName\":\"t\",\"dimensionFieldSpecs\":["
			     "{\"name\":\"Foo\",\"dataType\":\"INT\"},{\"name\":\"foo\",\"dataType\":\"INT\"},"
			     "{\"name\":\"Bar\",\"dataType\":\"INT\"}]}");
	assert_int_equal(schema_find(s, "Foo"), 0);
	assert_int_equal(schema_find(s, "foo"), 1);
	assert_int_equal(schema_find(s, "FOO"), -1);
	assert_int_equal(schema_find_ci(s, "FOO"), -2);
	assert_int_equal(schema_find_ci(s, "foo"), 1);
	assert_int_equal(schema_find_ci(s, "bar"), 2);
	assert_int_equal(schema_find_ci(s, "baz"), -1);
	schema_ref(s);
	schema_unref(s);
	assert_int_equal(s->refs, 1);
	schema_unref(s);
}

static void
test_alloc_failure(void **state)
{
	(void)state;
	const char *j = "{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"a\",\"dataType\":"
			"\"STRING\",\"defaultNullValue\":\"x\"}],\"primaryKeyColumns\":[\"a\"]}";
	for (long n = 1; n < 40; n++) {
		Schema *s = NULL;
		Err e = {0};
		mem_fail_nth(n);
		int rc = schema_parse(j, strlen(j), &s, &e);
		mem_fail_nth(0);
		assert_true(rc == 0 || rc == ERR_NOMEM);
		if (rc == 0)
			schema_unref(s);
		else
			assert_null(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	cmocka_unit_test(test_explicit_defaults),
		cmocka_unit_test(test_mv_and_flags),	cmocka_unit_test(test_primary_keys),
		cmocka_unit_test(test_time_field_spec), cmocka_unit_test(test_complex_fields),
		cmocka_unit_test(test_datetime_formats), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_invalid_defaults), cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_find),		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
