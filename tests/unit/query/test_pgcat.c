/*
 * test_pgcat.c -- PostgreSQL catalog emulation pieces that need no
 * server: type OIDs and format_type (expr/pgtype.c), settings
 * (expr/fnpg.c), relation OIDs (query/systab.c), and the parser forms the
 * catalog queries use (SHOW, = ANY, COLLATE, IS TRUE, ARRAY(...),
 * subscripts, functions in FROM).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "expr/fnpg.h"
#include "expr/pgtype.h"
#include "query/pgparse.h"
#include "query/systab.h"

static void
test_type_oids(void **state)
{
	(void)state;
	assert_int_equal(pgtype_oid(TYPE_INT, 0), 23);
	assert_int_equal(pgtype_oid(TYPE_LONG, 0), 20);
	assert_int_equal(pgtype_oid(TYPE_FLOAT, 0), 700);
	assert_int_equal(pgtype_oid(TYPE_DOUBLE, 0), 701);
	assert_int_equal(pgtype_oid(TYPE_BOOLEAN, 0), 16);
	assert_int_equal(pgtype_oid(TYPE_TIMESTAMP, 0), 1114);
	assert_int_equal(pgtype_oid(TYPE_STRING, 0), 25);
	assert_int_equal(pgtype_oid(TYPE_JSON, 0), 114);
	assert_int_equal(pgtype_oid(TYPE_BYTES, 0), 17);
	assert_int_equal(pgtype_oid(TYPE_INT, 1), 1007);
	assert_int_equal(pgtype_oid(TYPE_LONG, 1), 1016);
	assert_int_equal(pgtype_oid(TYPE_FLOAT, 1), 1021);
	assert_int_equal(pgtype_oid(TYPE_DOUBLE, 1), 1022);
	assert_int_equal(pgtype_oid(TYPE_STRING, 1), 1009);
	assert_int_equal(pgtype_oid(TYPE_BOOLEAN, 1), 1000);
	assert_int_equal(pgtype_oid(TYPE_TIMESTAMP, 1), 1115);
	assert_int_equal(pgtype_oid(TYPE_BYTES, 1), 1001);
	char b[64];
	pgtype_format(23, -1, b, sizeof(b));
	assert_string_equal(b, "integer");
	pgtype_format(1009, -1, b, sizeof(b));
	assert_string_equal(b, "text[]");
	pgtype_format(1043, 14, b, sizeof(b));
	assert_string_equal(b, "character varying(10)");
	pgtype_format(1114, -1, b, sizeof(b));
	assert_string_equal(b, "timestamp without time zone");
	pgtype_format(424242, -1, b, sizeof(b));
	assert_string_equal(b, "???");
	assert_int_equal(pgtype_by_name("int8")->oid, 20);
	assert_int_equal(pgtype_by_name("double precision")->oid, 701);
	assert_null(pgtype_by_name("nosuch"));
	/* every array type's element names it back */
	for (int i = 0; i < pgtype_count(); i++) {
		const PgType *t = pgtype_at(i);
		if (t->array != 0)
			assert_int_equal(pgtype_find(t->array)->elem, t->oid);
	}
}

static void
test_settings_and_oids(void **state)
{
	(void)state;
	assert_string_equal(fnpg_setting("server_version_num")->setting, "150000");
	assert_string_equal(fnpg_setting("STANDARD_CONFORMING_STRINGS")->setting, "on");
	assert_string_equal(fnpg_setting("transaction isolation level")->setting, "read committed");
	assert_null(fnpg_setting("nosuch"));
	assert_true(strstr(fnpg_version, "PostgreSQL 15") == fnpg_version);
	int32_t a = systab_rel_oid("public", "airlineStats");
	assert_true(a >= 16384);
	assert_int_equal(a, systab_rel_oid("public", "airlineStats"));
	assert_int_not_equal(a, systab_rel_oid("public", "airlinestats"));
	assert_int_equal(systab_ns_oid("pg_catalog"), 11);
	assert_int_equal(systab_ns_oid("public"), 2200);
	assert_non_null(systab_find(NULL, "pg_class"));
	assert_non_null(systab_find("pg_catalog", "pg_attribute"));
	assert_non_null(systab_find("information_schema", "columns"));
	assert_null(systab_find(NULL, "columns"));
	assert_null(systab_find("public", "pg_class"));
	assert_non_null(systab_find("sys", "tables"));
}

static void
parses(const char *sql)
{
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q = NULL;
	Err e;
	err_clear(&e);
	int rc = pgparse_parse(sql, &a, &q, &e);
	if (rc != 0)
		fail_msg("%s: %s", sql, err_msg(&e));
	arena_free(&a);
}

static void
test_parser_forms(void **state)
{
	(void)state;
	parses("SHOW standard_conforming_strings");
	parses("show transaction isolation level");
	parses("SELECT 1 WHERE 'a' = ANY (ARRAY['a', 'b'])");
	parses("SELECT 1 WHERE 'a' = ANY ('{a,b}')");
	parses("SELECT relname FROM pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default");
	parses("SELECT x IS TRUE, x IS NOT FALSE, x IS UNKNOWN FROM t");
	parses("SELECT array(SELECT 1)");
	parses("SELECT s[1] FROM string_to_array('a,b', ',') s");
	parses("SELECT i FROM generate_series(1, 3) AS i, t");
	parses("SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class");
	parses("SELECT current_user, session_user, user, current_catalog, current_schema");
	parses("SELECT x::pg_catalog.int2[] FROM t");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_oids),
		cmocka_unit_test(test_settings_and_oids),
		cmocka_unit_test(test_parser_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
