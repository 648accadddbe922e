/*
 * test_pgcat.c -- PostgreSQL catalog emulation pieces that need no
 * server: type OIDs and format_type (expr/pgtype.c), settings
 * (expr/fnpg.c), relation OIDs (query/systab.c), and the parser forms the
 * catalog queries use (SHOW, = ANY, COLLATE, IS TRUE, ARRAY(...),
 * subscripts, functions in FROM), and pgcat.c's rewrites that need no
 * catalog (_pg_expandarray and record fields, int2vector subscripts,
 * generate_series over an array's bounds, text::regclass).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "expr/fnpg.h"
#include "expr/pgtype.h"
#include "query/pgcat.h"
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
	parses("SELECT pos.n FROM generate_series(1, 32) pos(n)");
	parses("SELECT indoption[0] & 1, 5 | 2, 6 # 3 FROM pg_index");
	parses("SELECT ((information_schema._pg_expandarray(indkey)).x) FROM pg_index");
}

/* parses and rewrites sql (no catalog); its first target */
static const Ast *
rewritten(const char *sql, Arena *a, AstSelect **qout)
{
	AstSelect *q = NULL;
	Err e;
	err_clear(&e);
	QueryOpts o;
	memset(&o, 0, sizeof(o));
	int session = 0;
	if (pgparse_parse(sql, a, &q, &e) != 0 || pgcat_rewrite(NULL, q, &o, a, &session, &e) != 0)
		fail_msg("%s: %s", sql, err_msg(&e));
	*qout = q;
	return q->targets[0].expr;
}

static void
test_rewrites(void **state)
{
	(void)state;
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q;
	/* (_pg_expandarray(a)).n: the position; .x and the record: unnest */
	const Ast *n = rewritten("SELECT (information_schema._pg_expandarray(i.indkey)).n AS k, "
				 "information_schema._pg_expandarray(i.indkey) AS keys FROM pg_index i", &a, &q);
	assert_string_equal(n->name, "generate_subscripts");
	assert_string_equal(q->targets[1].expr->name, "unnest");
	assert_string_equal(q->targets[1].alias, "keys");
	/* a derived table's record column gets "keys.n"; (r.keys).x is r.keys */
	n = rewritten("SELECT (r.keys).x, (r.keys).n FROM (SELECT information_schema._pg_expandarray(indkey) AS keys "
		      "FROM pg_index) r", &a, &q);
	assert_int_equal(n->kind, AST_COLREF);
	assert_string_equal(n->name, "keys");
	assert_string_equal(q->targets[0].alias, "x");
	assert_string_equal(q->targets[1].expr->name, "keys.n");
	assert_int_equal(q->from_sub ? q->from_sub->ntargets : q->from[0].sub->ntargets, 2);
	/* int2vector subscripts from 0: indkey[k] reads element k + 1 */
	n = rewritten("SELECT i.indkey[0], conkey[1] FROM pg_index i, pg_constraint", &a, &q);
	assert_string_equal(n->name, "wb_subscript0");
	assert_string_equal(q->targets[0].alias, "indkey");
	assert_string_equal(q->targets[1].expr->name, "wb_subscript");
	/* a WITH query read twice is rewritten twice: the same answer */
	n = rewritten("WITH x AS (SELECT indkey[0] AS k, (information_schema._pg_expandarray(indkey)).n AS p "
		      "FROM pg_index) SELECT a.k, b.p FROM x a, x b", &a, &q);
	assert_string_equal(q->from[0].sub->targets[0].expr->name, "wb_subscript0");
	assert_string_equal(q->from[0].sub->targets[1].expr->name, "generate_subscripts");
	assert_int_equal(q->from[0].sub->ntargets, 2);
	/* wb_field with a number is no field selection (nothing to crash on) */
	n = rewritten("SELECT wb_field(x, 1) FROM t", &a, &q);
	assert_string_equal(n->name, "wb_field");
	/* psqlODBC's generate_series over an array's bounds */
	n = rewritten("SELECT generate_series(array_lower(conkey, 1), array_upper(conkey, 1)) AS i FROM pg_constraint",
		      &a, &q);
	assert_string_equal(n->name, "generate_subscripts");
	n = rewritten("SELECT generate_series(1, 3)", &a, &q);
	assert_string_equal(n->name, "generate_series");
	/* text::regclass of an expression: looked up at run time */
	n = rewritten("SELECT (relname || '')::regclass FROM pg_class", &a, &q);
	assert_string_equal(n->name, "wb_regclass");
	/* a field of anything else is refused, not crashed on */
	AstSelect *q2 = NULL;
	Err e;
	err_clear(&e);
	QueryOpts o;
	memset(&o, 0, sizeof(o));
	int session = 0;
	assert_int_equal(pgparse_parse("SELECT (r.keys).f FROM (SELECT information_schema._pg_expandarray(indkey) "
				       "AS keys FROM pg_index) r", &a, &q2, &e), 0);
	assert_int_equal(pgcat_rewrite(NULL, q2, &o, &a, &session, &e), ERR_UNSUPPORTED);
	assert_non_null(strstr(err_msg(&e), "(...).f"));
	/* (c).x of an ordinary column: not a composite type (PostgreSQL:
	 * "column notation .x applied to type text, which is not a
	 * composite type") */
	static const char *const plain[] = {
		"SELECT (t.r).f FROM t",
		"SELECT (carrier).x FROM t",
		"SELECT 1 FROM t WHERE (t.ids).n = 1",
		/* keys is a record of r, not of the other derived table */
		"SELECT (s.keys).x FROM (SELECT information_schema._pg_expandarray(indkey) AS keys FROM pg_index) r, "
		"(SELECT indkey AS keys FROM pg_index) s",
		NULL,
	};
	for (int i = 0; plain[i]; i++) {
		err_clear(&e);
		assert_int_equal(pgparse_parse(plain[i], &a, &q2, &e), 0);
		assert_int_equal(pgcat_rewrite(NULL, q2, &o, &a, &session, &e), ERR_TYPE);
		assert_non_null(strstr(err_msg(&e), "which is not a composite type"));
		assert_true(e.pos > 0);
	}
	/* a record column of a derived table of an enclosing statement, and
	 * one of a later FROM item named in an ON (pgjdbc's getPrimaryKeys) */
	n = rewritten("SELECT 1 FROM (SELECT information_schema._pg_expandarray(indkey) AS keys FROM pg_index) r "
		      "WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = (r.keys).x)", &a, &q);
	n = rewritten("SELECT (i.keys).n FROM pg_attribute a JOIN (SELECT indrelid, information_schema._pg_expandarray"
		      "(indkey) AS keys FROM pg_index) i ON (a.attnum = (i.keys).x AND a.attrelid = i.indrelid)", &a, &q);
	assert_string_equal(n->name, "keys.n");
	assert_int_not_equal(pgparse_parse("SELECT (t.r).* FROM t", &a, &q2, &e), 0);
	arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_oids),
		cmocka_unit_test(test_settings_and_oids),
		cmocka_unit_test(test_parser_forms),
		cmocka_unit_test(test_rewrites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
