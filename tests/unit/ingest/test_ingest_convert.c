/*
 * test_ingest_convert.c -- every type conversion of ingest/convert.c, from
 * JSON and from text, with its errors, multi-values and nulls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/convert.h"
#include "ingest_testutil.h"

typedef struct Ctx {
	Schema *s;
	Arena a;
	Err e;
	Value v;
} Ctx;

static Ctx C;

static int
setup(void **state)
{
	C.s = mk_schema("i:INT,l:LONG,f:FLOAT,d:DOUBLE,b:BOOLEAN,ts:TIMESTAMP,s:STRING,j:JSON,"
			"by:BYTES,im:INT[],sm:STRING[],ArrDelay:INT,mi:INT!,lm:LONG[]");
	arena_init(&C.a, 4096);
	return 0;
}

static int
teardown(void **state)
{
	arena_free(&C.a);
	free_schema(C.s);
	return 0;
}

static const Field *
fld(const char *name)
{
	int i = 0;
	while (strcmp(C.s->fields[i].name, name) != 0)
		i++;
	return &C.s->fields[i];
}

/* Converts JSON text `json` for column `col`; returns the rc. */
static int
cj(const char *col, const char *json)
{
	err_clear(&C.e);
	memset(&C.v, 0, sizeof C.v);
	cJSON *n = json ? cJSON_Parse(json) : NULL;
	if (json)
		assert_non_null(n);
	int rc = convert_json(fld(col), n, &C.a, &C.v, &C.e);
	cJSON_Delete(n);
	return rc;
}

static int
ct(const char *col, const char *text, int flags)
{
	err_clear(&C.e);
	memset(&C.v, 0, sizeof C.v);
	return convert_text(fld(col), text, strlen(text), flags, ';', &C.a, &C.v, &C.e);
}

static void
expect_str(const char *want)
{
	assert_int_equal(C.v.null, 0);
	assert_int_equal(C.v.n, strlen(want));
	assert_memory_equal(C.v.u.s, want, strlen(want));
}

static void
test_int(void **state)
{
	assert_int_equal(cj("i", "12"), 0);
	assert_int_equal(C.v.u.i, 12);
	assert_int_equal(C.v.type, TYPE_INT);
	assert_int_equal(C.v.null, 0);
	assert_int_equal(cj("i", "12.0"), 0);
	assert_int_equal(C.v.u.i, 12);
	assert_int_equal(cj("i", "12.5"), ERR_TYPE);
	assert_non_null(strstr(C.e.msg, "not an integer"));
	assert_int_equal(cj("i", "2147483647"), 0);
	assert_int_equal(C.v.u.i, INT32_MAX);
	assert_int_equal(cj("i", "-2147483648"), 0);
	assert_int_equal(C.v.u.i, INT32_MIN);
	assert_int_equal(cj("i", "2147483648"), ERR_OVERFLOW);
	assert_non_null(strstr(C.e.msg, "out of range"));
	assert_int_equal(cj("i", "1e300"), ERR_OVERFLOW);
	assert_int_equal(cj("i", "\" 42 \""), 0);
	assert_int_equal(C.v.u.i, 42);
	assert_int_equal(cj("i", "true"), ERR_TYPE);
	assert_int_equal(cj("i", "{\"a\":1}"), ERR_TYPE);
	assert_int_equal(cj("i", "[1]"), ERR_TYPE);
	assert_int_equal(cj("ArrDelay", "\"abc\""), ERR_TYPE);
	assert_string_equal(C.e.msg, "column 'ArrDelay': expected INT, got \"abc\"");

	assert_int_equal(ct("i", "-17", 0), 0);
	assert_int_equal(C.v.u.i, -17);
	assert_int_equal(ct("i", "+17", 0), 0);
	assert_int_equal(C.v.u.i, 17);
	assert_int_equal(ct("i", "1e3", 0), 0);
	assert_int_equal(C.v.u.i, 1000);
	assert_int_equal(ct("i", "3.0", 0), 0);
	assert_int_equal(C.v.u.i, 3);
	assert_int_equal(ct("i", "3.25", 0), ERR_TYPE);
	assert_int_equal(ct("i", "99999999999", 0), ERR_OVERFLOW);
	assert_int_equal(ct("i", "12abc", 0), ERR_TYPE);
	assert_int_equal(ct("i", "-", 0), ERR_TYPE);
	assert_int_equal(ct("i", "0x10", 0), ERR_TYPE);
	assert_int_equal(ct("ArrDelay", "abc", 0), ERR_TYPE);
	assert_string_equal(C.e.msg, "column 'ArrDelay': expected INT, got \"abc\"");
}

static void
test_long(void **state)
{
	assert_int_equal(ct("l", "9223372036854775807", 0), 0);
	assert_true(C.v.u.i == INT64_MAX);
	assert_int_equal(ct("l", "-9223372036854775808", 0), 0);
	assert_true(C.v.u.i == INT64_MIN);
	assert_int_equal(ct("l", "9223372036854775808", 0), ERR_OVERFLOW);
	assert_int_equal(ct("l", "-9223372036854775809", 0), ERR_OVERFLOW);
	assert_int_equal(ct("l", "123456789012345678901234567890", 0), ERR_OVERFLOW);
	assert_int_equal(cj("l", "1609491661001"), 0);
	assert_true(C.v.u.i == 1609491661001LL);
	assert_int_equal(cj("l", "9007199254740991"), 0);	/* 2^53 - 1 */
	assert_true(C.v.u.i == 9007199254740991LL);
	assert_int_equal(cj("l", "9007199254740992"), ERR_OVERFLOW);
	assert_int_equal(cj("l", "9007199254740993"), ERR_OVERFLOW);
	assert_non_null(strstr(C.e.msg, "as a string"));
	assert_int_equal(cj("l", "\"9007199254740993\""), 0);
	assert_true(C.v.u.i == 9007199254740993LL);
	assert_int_equal(cj("l", "-5"), 0);
	assert_true(C.v.u.i == -5);
	assert_int_equal(cj("l", "0.5"), ERR_TYPE);
}

static void
test_float_double(void **state)
{
	assert_int_equal(cj("f", "1.5"), 0);
	assert_true(C.v.u.d == 1.5);
	assert_int_equal(cj("f", "0.1"), 0);
	assert_true(C.v.u.d == (double)0.1f);	/* rounded to float */
	assert_int_equal(cj("f", "1e39"), ERR_OVERFLOW);
	assert_int_equal(ct("f", "1e39", 0), ERR_OVERFLOW);
	assert_int_equal(ct("f", "NaN", 0), 0);
	assert_true(isnan(C.v.u.d));
	assert_int_equal(ct("f", "-Infinity", 0), 0);
	assert_true(isinf(C.v.u.d) && C.v.u.d < 0);
	assert_int_equal(ct("f", "x1", 0), ERR_TYPE);
	assert_int_equal(cj("f", "false"), ERR_TYPE);

	assert_int_equal(cj("d", "1e308"), 0);
	assert_true(C.v.u.d == 1e308);
	assert_int_equal(cj("d", "1e999"), ERR_OVERFLOW);
	assert_int_equal(ct("d", "1e999", 0), ERR_OVERFLOW);
	assert_int_equal(ct("d", " 2.5 ", 0), 0);
	assert_true(C.v.u.d == 2.5);
	assert_int_equal(cj("d", "\"3.25\""), 0);
	assert_true(C.v.u.d == 3.25);
	assert_int_equal(cj("d", "7"), 0);
	assert_true(C.v.u.d == 7.0);
	assert_int_equal(ct("d", "1.5.2", 0), ERR_TYPE);
	assert_int_equal(ct("d", "0x1p3", 0), ERR_TYPE);
	assert_int_equal(cj("d", "[1.5]"), ERR_TYPE);
}

static void
test_boolean(void **state)
{
	const char *t_json[] = {"true", "1", "\"TRUE\"", "\"true\"", "\"1\"", "\" True \""};
	const char *f_json[] = {"false", "0", "\"False\"", "\"0\""};
	for (size_t i = 0; i < sizeof t_json / sizeof *t_json; i++) {
		assert_int_equal(cj("b", t_json[i]), 0);
		assert_int_equal(C.v.u.i, 1);
		assert_int_equal(C.v.type, TYPE_BOOLEAN);
	}
	for (size_t i = 0; i < sizeof f_json / sizeof *f_json; i++) {
		assert_int_equal(cj("b", f_json[i]), 0);
		assert_int_equal(C.v.u.i, 0);
	}
	assert_int_equal(cj("b", "2"), ERR_TYPE);
	assert_int_equal(cj("b", "\"yes\""), ERR_TYPE);
	assert_int_equal(cj("b", "{}"), ERR_TYPE);
	assert_int_equal(ct("b", "tRuE", 0), 0);
	assert_int_equal(C.v.u.i, 1);
	assert_int_equal(ct("b", "0", 0), 0);
	assert_int_equal(C.v.u.i, 0);
	assert_int_equal(ct("b", "no", 0), ERR_TYPE);
}

static void
test_timestamp(void **state)
{
	const int64_t want = 1609491661001LL;	/* 2021-01-01 09:01:01.001 UTC */
	assert_int_equal(cj("ts", "1609491661001"), 0);
	assert_true(C.v.u.i == want);
	assert_int_equal(C.v.type, TYPE_TIMESTAMP);
	const char *texts[] = {"1609491661001", "2021-01-01 09:01:01.001",
			       "2021-01-01T09:01:01.001Z", "2021-01-01T10:01:01.001+01:00",
			       "2021-01-01T08:01:01.001-0100", "2021-01-01T09:01:01.0015Z",
			       " 2021-01-01 09:01:01.001 "};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		assert_int_equal(ct("ts", texts[i], 0), 0);
		assert_true(C.v.u.i == want);
	}
	assert_int_equal(ct("ts", "2021-01-01", 0), 0);
	assert_true(C.v.u.i == 1609459200000LL);
	assert_int_equal(ct("ts", "1970-01-01T00:00:00Z", 0), 0);
	assert_true(C.v.u.i == 0);
	assert_int_equal(ct("ts", "1969-12-31 23:59:59", 0), 0);
	assert_true(C.v.u.i == -1000);
	assert_int_equal(ct("ts", "2024-02-29 12:00:00.5", 0), 0);
	assert_true(C.v.u.i == 1709208000500LL);
	assert_int_equal(ct("ts", "2023-02-29", 0), ERR_TYPE);
	assert_int_equal(ct("ts", "2021-13-01", 0), ERR_TYPE);
	assert_int_equal(ct("ts", "2021-01-01 25:00:00", 0), ERR_TYPE);
	assert_int_equal(ct("ts", "yesterday", 0), ERR_TYPE);
	assert_non_null(strstr(C.e.msg, "column 'ts': expected TIMESTAMP"));
	assert_int_equal(cj("ts", "\"2021-01-01T09:01:01.001Z\""), 0);
	assert_true(C.v.u.i == want);
	assert_int_equal(cj("ts", "12.5"), ERR_TYPE);
	assert_int_equal(cj("ts", "true"), ERR_TYPE);
	int64_t ms;
	assert_int_equal(convert_parse_timestamp("2014-01-01", 10, &ms), 0);
	assert_true(ms == 16071LL * 86400000);
}

static void
test_string(void **state)
{
	assert_int_equal(cj("s", "\"héllo\""), 0);
	expect_str("héllo");
	assert_int_equal(C.v.type, TYPE_STRING);
	assert_int_equal(cj("s", "12"), 0);
	expect_str("12");
	assert_int_equal(cj("s", "1.5"), 0);
	expect_str("1.5");
	assert_int_equal(cj("s", "0.1"), 0);
	expect_str("0.1");
	assert_int_equal(cj("s", "true"), 0);
	expect_str("true");
	assert_int_equal(cj("s", "{\"a\": [1, 2]}"), 0);
	expect_str("{\"a\":[1,2]}");
	assert_int_equal(cj("s", "[\"x\"]"), 0);
	expect_str("[\"x\"]");
	assert_int_equal(cj("s", "\"bad\xff\""), ERR_TYPE);
	assert_non_null(strstr(C.e.msg, "invalid UTF-8"));
	assert_int_equal(ct("s", " spaced ", 0), 0);
	expect_str(" spaced ");
	assert_int_equal(ct("s", "\xc3", 0), ERR_TYPE);
	assert_int_equal(ct("s", "\xed\xa0\x80", 0), ERR_TYPE);	/* surrogate */
	assert_int_equal(ct("s", "\xc0\xaf", 0), ERR_TYPE);	/* overlong */
	assert_int_equal(ct("s", "\xf0\x9f\x98\x80 ok", 0), 0);
	assert_true(convert_utf8_valid("abcdefghijklmnop\xe2\x82\xac", 19));
	assert_false(convert_utf8_valid("abcdefghijklmnop\xe2\x82", 18));
}

static void
test_json(void **state)
{
	assert_int_equal(cj("j", "{\"a\": [1, 2], \"b\": {\"c\": null}}"), 0);
	expect_str("{\"a\":[1,2],\"b\":{\"c\":null}}");
	assert_int_equal(C.v.type, TYPE_JSON);
	assert_int_equal(cj("j", "\"hello\""), 0);
	expect_str("\"hello\"");
	assert_int_equal(cj("j", "\"{\\\"x\\\": 1}\""), 0);
	expect_str("{\"x\":1}");
	assert_int_equal(cj("j", "5"), 0);
	expect_str("5");
	assert_int_equal(cj("j", "[true,false]"), 0);
	expect_str("[true,false]");
	assert_int_equal(ct("j", " {\"a\" : 12345678901234567890} ", 0), 0);
	expect_str("{\"a\":12345678901234567890}");	/* digits kept as sent */
	assert_int_equal(ct("j", "abc", 0), 0);
	expect_str("\"abc\"");
	assert_int_equal(ct("j", "say \"hi\"", 0), 0);
	expect_str("\"say \\\"hi\\\"\"");
}

static void
test_bytes(void **state)
{
	assert_int_equal(cj("by", "\"0aFF\""), 0);
	assert_int_equal(C.v.n, 2);
	assert_memory_equal(C.v.u.s, "\x0a\xff", 2);
	assert_int_equal(C.v.type, TYPE_BYTES);
	assert_int_equal(ct("by", "00", 0), 0);
	assert_int_equal(C.v.n, 1);
	assert_int_equal(C.v.u.s[0], 0);
	assert_int_equal(ct("by", "abc", 0), ERR_TYPE);
	assert_non_null(strstr(C.e.msg, "odd length"));
	assert_int_equal(ct("by", "zz", 0), ERR_TYPE);
	assert_int_equal(cj("by", "12"), ERR_TYPE);
}

static void
test_multi_value(void **state)
{
	assert_int_equal(cj("im", "[1, 2, 3]"), 0);
	assert_int_equal(C.v.mv, 1);
	assert_int_equal(C.v.null, 0);
	assert_int_equal(C.v.n, 3);
	assert_int_equal(C.v.u.mv[2].u.i, 3);
	assert_int_equal(C.v.u.mv[0].type, TYPE_INT);
	assert_int_equal(cj("im", "5"), 0);
	assert_int_equal(C.v.mv, 1);
	assert_int_equal(C.v.n, 1);
	assert_int_equal(C.v.u.mv[0].u.i, 5);
	assert_int_equal(cj("im", "[1, null, \"2\"]"), 0);
	assert_int_equal(C.v.n, 2);
	assert_int_equal(C.v.u.mv[1].u.i, 2);
	assert_int_equal(cj("im", "[1, \"x\"]"), ERR_TYPE);
	assert_non_null(strstr(C.e.msg, "column 'im': expected INT, got \"x\""));
	assert_int_equal(cj("im", "[1, 2147483648]"), ERR_OVERFLOW);
	assert_int_equal(cj("im", "[[1]]"), ERR_TYPE);
	assert_int_equal(cj("im", "[]"), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.mv, 1);
	assert_int_equal(C.v.n, 1);
	assert_int_equal(C.v.u.mv[0].u.i, INT32_MIN);
	assert_int_equal(cj("sm", "[\"a\", 7, true]"), 0);
	assert_int_equal(C.v.n, 3);
	assert_int_equal(C.v.u.mv[1].n, 1);
	assert_memory_equal(C.v.u.mv[1].u.s, "7", 1);

	assert_int_equal(ct("sm", "a;b;;c", 0), 0);
	assert_int_equal(C.v.n, 4);
	assert_memory_equal(C.v.u.mv[3].u.s, "c", 1);
	assert_int_equal(C.v.u.mv[2].n, 0);
	assert_int_equal(ct("im", "1;2; 3", 0), 0);
	assert_int_equal(C.v.n, 3);
	assert_int_equal(C.v.u.mv[2].u.i, 3);
	assert_int_equal(ct("im", "1;;2", 0), 0);
	assert_int_equal(C.v.n, 2);
	assert_int_equal(ct("im", "1;x", 0), ERR_TYPE);
	assert_int_equal(ct("lm", "1;99999999999999999999", 0), ERR_OVERFLOW);
	assert_int_equal(ct("im", "", 0), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.mv, 1);
	assert_int_equal(ct("im", ";", 0), 0);
	assert_int_equal(C.v.null, 1);
}

static void
test_nulls_and_defaults(void **state)
{
	assert_int_equal(cj("i", NULL), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.type, TYPE_INT);
	assert_int_equal(C.v.u.i, INT32_MIN);
	assert_int_equal(cj("i", "null"), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(cj("mi", NULL), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.u.i, 0);	/* metric default */
	assert_int_equal(cj("l", "null"), 0);
	assert_true(C.v.u.i == INT64_MIN);
	assert_int_equal(cj("d", NULL), 0);
	assert_true(isinf(C.v.u.d) && C.v.u.d < 0);
	assert_int_equal(cj("s", "null"), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.n, 4);
	assert_memory_equal(C.v.u.s, "null", 4);
	assert_int_equal(cj("sm", NULL), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.mv, 1);
	assert_int_equal(ct("i", "", 0), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(ct("s", "", 0), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(ct("s", "", CONVERT_QUOTED), 0);
	assert_int_equal(C.v.null, 0);
	assert_int_equal(C.v.n, 0);
	assert_int_equal(ct("ts", "", 0), 0);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.u.i, 0);
}

static void
test_error_text_is_bounded(void **state)
{
	char big[4000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[5] = '\n';
	assert_int_equal(ct("i", big, 0), ERR_TYPE);
	assert_true(strlen(C.e.msg) < 200);
	assert_null(strchr(C.e.msg, '\n'));
	assert_non_null(strstr(C.e.msg, "...\""));
}

/* convert_jnumber's fast path must give strtod's double bit for bit. */
static void
test_jnumber_matches_strtod(void **state)
{
	static const char *const fixed[] = {
		"0", "-0", "0.1", "1.5", "9007199254740992", "9007199254740993", "1e22", "1e23",
		"123456789012345678", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
		"0.30000000000000004", "-.5", "1.", "00012", "4.35", "1e-22", "9.999999999999999e22",
	};
	char buf[64];
	for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++) {
		double want = strtod(fixed[k], NULL), got = convert_jnumber(fixed[k], strlen(fixed[k]));
		assert_memory_equal(&want, &got, sizeof want);
	}
	uint64_t x = 0x2545F4914F6CDD1Dull;
	for (int it = 0; it < 200000; it++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int ndig = 1 + (int)(x % 19), dot = (int)((x >> 8) % (unsigned)(ndig + 1));
		size_t n = 0;
		if (x >> 63)
			buf[n++] = '-';
		uint64_t y = x;
		for (int d = 0; d < ndig; d++) {
			if (d == dot && d > 0)
				buf[n++] = '.';
			buf[n++] = (char)('0' + y % 10);
			y = y / 10 ^ (y << 7);
		}
		if ((x >> 20) % 3 == 0)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "e%d", (int)((x >> 24) % 61) - 30);
		buf[n] = '\0';
		double want = strtod(buf, NULL), got = convert_jnumber(buf, n);
		if (memcmp(&want, &got, sizeof want) != 0)
			fail_msg("%s: strtod %.17g, convert_jnumber %.17g", buf, want, got);
	}
}

static int
cv(const char *col, ConvertJKind kind, const char *s)
{
	err_clear(&C.e);
	memset(&C.v, 0, sizeof C.v);
	ConvertJValue v = {kind, s, s ? strlen(s) : 0};
	return convert_jvalue(fld(col), &v, &C.a, &C.v, &C.e);
}

static void
test_jvalue(void **state)
{
	assert_int_equal(cv("l", CONVERT_JNUMBER, "9007199254740993"), 0);
	assert_true(C.v.u.i == 9007199254740993LL);
	assert_int_equal(cv("l", CONVERT_JNUMBER, "92233720368547758.07e2"), 0);
	assert_true(C.v.u.i == INT64_MAX);
	assert_int_equal(cv("l", CONVERT_JNUMBER, "0.0000e5"), 0);
	assert_true(C.v.u.i == 0);
	assert_int_equal(cv("i", CONVERT_JNUMBER, "12.5"), ERR_TYPE);
	assert_string_equal(C.e.msg, "column 'i': expected INT, got 12.5: not an integer");
	assert_int_equal(cv("ArrDelay", CONVERT_JSTRING, "abc"), ERR_TYPE);
	assert_string_equal(C.e.msg, "column 'ArrDelay': expected INT, got \"abc\"");
	assert_int_equal(cv("s", CONVERT_JNUMBER, "0.1"), 0);
	expect_str("0.1");
	assert_int_equal(cv("j", CONVERT_JNUMBER, "-0"), 0);
	expect_str("-0");	/* as cJSON 1.7.15 prints it */
	assert_int_equal(cv("j", CONVERT_JTRUE, NULL), 0);
	expect_str("true");
	assert_int_equal(cv("s", CONVERT_JOBJECT, "{\"a\":1}"), 0);
	expect_str("{\"a\":1}");
	assert_int_equal(cv("d", CONVERT_JARRAY, NULL), ERR_TYPE);
	assert_string_equal(C.e.msg, "column 'd': expected DOUBLE, got an array");
	assert_int_equal(cv("b", CONVERT_JFALSE, NULL), 0);
	assert_int_equal(C.v.u.i, 0);
	convert_null(fld("im"), &C.v);
	assert_int_equal(C.v.null, 1);
	assert_int_equal(C.v.mv, 1);
	assert_int_equal(C.v.u.mv[0].u.i, INT32_MIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_float_double),
		cmocka_unit_test(test_boolean),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_multi_value),
		cmocka_unit_test(test_nulls_and_defaults),
		cmocka_unit_test(test_error_text_is_bounded),
		cmocka_unit_test(test_jnumber_matches_strtod),
		cmocka_unit_test(test_jvalue),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
