/*
 * test_pgproto.c -- the PostgreSQL wire's byte level and lexer: text
 * forms as PostgreSQL's output functions write them (floats, timestamps,
 * bytea, arrays), binary forms, parameter literals (checked numbers,
 * quoted strings, binary values), bounded message readers, and the
 * lexer's statement splitting and $n parameters around quotes, comments
 * and dollar-quoted bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "server/pglex.h"
#include "server/pgproto.h"

static void
check_text(Value v, const char *want)
{
	Buf b;
	buf_init(&b);
	pgproto_text_value(&v, &b);
	assert_string_equal(b.p ? b.p : "", want);
	buf_free(&b);
}

static void
test_float_text(void **state)
{
	(void)state;
	check_text(value_double(TYPE_DOUBLE, 1.0), "1");
	check_text(value_double(TYPE_DOUBLE, 0.1), "0.1");
	check_text(value_double(TYPE_DOUBLE, -2.5), "-2.5");
	check_text(value_double(TYPE_DOUBLE, 1e15), "1e+15");
	check_text(value_double(TYPE_DOUBLE, 123456789012345.0), "123456789012345");
	check_text(value_double(TYPE_DOUBLE, 0.0001), "0.0001");
	check_text(value_double(TYPE_DOUBLE, 0.00001), "1e-05");
	check_text(value_double(TYPE_DOUBLE, 1.0 / 3), "0.3333333333333333");
	check_text(value_double(TYPE_DOUBLE, NAN), "NaN");
	check_text(value_double(TYPE_DOUBLE, -INFINITY), "-Infinity");
	check_text(value_double(TYPE_FLOAT, 1000000.0), "1e+06");
	check_text(value_double(TYPE_FLOAT, (float)0.1), "0.1");
	check_text(value_double(TYPE_FLOAT, 123456.0), "123456");
}

static void
test_other_text(void **state)
{
	(void)state;
	check_text(value_int(TYPE_TIMESTAMP, 0), "1970-01-01 00:00:00");
	check_text(value_int(TYPE_TIMESTAMP, 1700000000123), "2023-11-14 22:13:20.123");
	check_text(value_int(TYPE_TIMESTAMP, 1700000000100), "2023-11-14 22:13:20.1");
	check_text(value_int(TYPE_TIMESTAMP, -1), "1969-12-31 23:59:59.999");
	check_text(value_int(TYPE_BOOLEAN, 1), "t");
	check_text(value_int(TYPE_LONG, -42), "-42");
	check_text(value_str(TYPE_BYTES, "\x01\xff", 2), "\\x01ff");
	Value els[4] = {value_str(TYPE_STRING, "a", 1), value_str(TYPE_STRING, "b c", 3), value_null(TYPE_STRING),
			value_str(TYPE_STRING, "q\"\\", 3)};
	Value mv = {.type = TYPE_STRING, .mv = 1, .n = 4};
	mv.u.mv = els;
	check_text(mv, "{a,\"b c\",NULL,\"q\\\"\\\\\"}");
	Value nul = value_str(TYPE_STRING, "NULL", 4);
	mv.u.mv = &nul;
	mv.n = 1;
	check_text(mv, "{\"NULL\"}");
	mv.n = 0;
	check_text(mv, "{}");
}

static void
test_binary(void **state)
{
	(void)state;
	Buf b;
	buf_init(&b);
	Value v = value_int(TYPE_INT, -2);
	pgproto_binary_value(&v, &b);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.p, "\xff\xff\xff\xfe", 4);
	buf_reset(&b);
	v = value_int(TYPE_TIMESTAMP, 946684800001);	/* 2000-01-01 + 1 ms */
	pgproto_binary_value(&v, &b);
	assert_memory_equal(b.p, "\0\0\0\0\0\0\x03\xe8", 8);
	buf_reset(&b);
	Value els[2] = {value_int(TYPE_LONG, 7), value_null(TYPE_LONG)};
	Value mv = {.type = TYPE_LONG, .mv = 1, .n = 2};
	mv.u.mv = els;
	pgproto_binary_value(&mv, &b);
	/* ndim 1, hasnull 1, int8, dim 2, lbound 1, len 8 + 7, -1 */
	assert_int_equal(b.len, 20 + 12 + 4);
	assert_memory_equal(b.p, "\0\0\0\1\0\0\0\1\0\0\0\x14\0\0\0\2\0\0\0\1", 20);
	buf_reset(&b);
	pgproto_data_row(&b, els, 2, NULL);
	assert_memory_equal(b.p, "D\0\0\0\x0f\0\2\0\0\0\1" "7\xff\xff\xff\xff", 16);
	buf_free(&b);
}

static void
check_param(int32_t oid, int binary, const char *data, int32_t len, const char *want, int want_rc)
{
	Buf b;
	buf_init(&b);
	Err e = {0};
	int rc = pgproto_param_literal(1, oid, binary, data, len, &b, &e);
	assert_int_equal(rc, want_rc);
	if (rc == 0)
		assert_string_equal(b.p, want);
	else
		assert_non_null(strstr(e.msg, "$1") ? e.msg : strstr(e.msg, "parameter 1") ? e.msg : NULL);
	buf_free(&b);
}

static void
test_params(void **state)
{
	(void)state;
	check_param(PG_INT8, 0, "42", 2, "42", 0);
	check_param(PG_INT8, 0, "-42", 3, "(-42)", 0);
	check_param(PG_INT8, 0, "4 2", 3, NULL, ERR_BAD_RECORD);
	check_param(PG_INT4, 0, "1; DROP", 7, NULL, ERR_BAD_RECORD);
	check_param(PG_FLOAT8, 0, "1e3", 3, "1e3", 0);
	check_param(PG_FLOAT8, 0, "0x10", 4, NULL, ERR_BAD_RECORD);
	check_param(PG_BOOL, 0, "yes", 3, "TRUE", 0);
	check_param(PG_BOOL, 0, "maybe", 5, NULL, ERR_BAD_RECORD);
	check_param(PG_TEXT, 0, "it's", 4, "'it''s'", 0);
	check_param(0, 0, "x", 1, "'x'", 0);
	check_param(PG_TEXT, 0, "a\0b", 3, NULL, ERR_BAD_RECORD);
	check_param(PG_INT8, 0, NULL, -1, "NULL", 0);
	check_param(PG_TIMESTAMP, 0, "2024-01-02 03:04:05", 19, "CAST('2024-01-02 03:04:05' AS TIMESTAMP)", 0);
	check_param(PG_INT8, 1, "\0\0\0\0\0\0\0\x05", 8, "5", 0);
	check_param(PG_INT8, 1, "\0\0\0\x05", 4, NULL, ERR_BAD_REQUEST);
	check_param(PG_INT4, 1, "\xff\xff\xff\xff", 4, "(-1)", 0);
	check_param(PG_FLOAT8, 1, "\x3f\xf8\0\0\0\0\0\0", 8, "1.5", 0);
	check_param(PG_BOOL, 1, "\1", 1, "TRUE", 0);
	/* numeric 12.5: ndigits 2, weight 0, sign +, dscale 1, digits 12 5000 */
	check_param(PG_NUMERIC, 1, "\0\2\0\0\0\0\0\1\0\x0c\x13\x88", 12, "12.5", 0);
	check_param(PG_NUMERIC, 1, "\0\1\0\0\x40\0\0\0\0\x07", 10, "(-7)", 0);
	check_param(PG_TIMESTAMP, 1, "\0\0\0\0\0\0\x03\xe8", 8, "CAST('2000-01-01 00:00:00.001' AS TIMESTAMP)", 0);
	check_param(PG_JSONB, 1, "\1{}", 3, "'{}'", 0);
	check_param(1186 /* interval */, 1, "\0\0\0\0", 4, NULL, ERR_UNSUPPORTED);
}

static void
test_reader(void **state)
{
	(void)state;
	PgMsg m;
	pgproto_msg_init(&m, "ab\0\0\0\0\5", 7);
	assert_string_equal(pgproto_get_str(&m), "ab");
	assert_int_equal(pgproto_get_i32(&m), 5);
	assert_false(m.bad);
	assert_int_equal(pgproto_get_i16(&m), 0);
	assert_true(m.bad);
	pgproto_msg_init(&m, "abc", 3);
	assert_string_equal(pgproto_get_str(&m), "");
	assert_true(m.bad);
	pgproto_msg_init(&m, "\0\0", 2);
	assert_null(pgproto_get_bytes(&m, 3));
	assert_true(m.bad);
}

static void
test_lexer(void **state)
{
	(void)state;
	const char *q = "SELECT 'a;b', \"c;d\" -- e;f\n; /* g; /* h; */ i; */ SELECT $$j;k$$, $t$l;$$m$t$;;  ;"
			"SELECT E'n\\';o'";
	PgSpan sp[8];
	int n = pglex_split(q, strlen(q), sp, 8);
	assert_int_equal(n, 3);
	/* a statement's text runs to its ';' (a trailing comment included) */
	assert_memory_equal(q + sp[0].start, "SELECT 'a;b', \"c;d\" -- e;f\n", sp[0].end - sp[0].start);
	assert_memory_equal(q + sp[1].start, "SELECT $$j;k$$, $t$l;$$m$t$", sp[1].end - sp[1].start);
	assert_memory_equal(q + sp[2].start, "SELECT E'n\\';o'", sp[2].end - sp[2].start);
	assert_int_equal(pglex_split("  -- only\n ; /* c */", 20, sp, 8), 0);
	const char *p = "SELECT $1, '$2', \"$3\", $12 /* $40 */";
	assert_int_equal(pglex_max_param(p, strlen(p)), 12);
	PgLex l;
	PgTok t;
	const char *s = "Set \"App\" TO 'it''s'";
	pglex_init(&l, s, strlen(s));
	pglex_next(&l, &t);
	assert_true(pglex_is(&l, &t, "set"));
	Buf b;
	buf_init(&b);
	pglex_next(&l, &t);
	pglex_text(&l, &t, &b);
	assert_string_equal(b.p, "App");
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	buf_reset(&b);
	pglex_text(&l, &t, &b);
	assert_string_equal(b.p, "it's");
	buf_free(&b);
	/* unterminated things run to the end, never past it */
	const char *u[] = {"'abc", "\"abc", "/* abc", "$x$ abc", "E'\\", "$", "$1"};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		pglex_init(&l, u[i], strlen(u[i]));
		while (pglex_next(&l, &t) != PGT_END)
			assert_true(t.start + t.len <= strlen(u[i]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_float_text), cmocka_unit_test(test_other_text), cmocka_unit_test(test_binary),
		cmocka_unit_test(test_params),	   cmocka_unit_test(test_reader),     cmocka_unit_test(test_lexer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
