/*
 * test_pgparse.c -- the libpg_query adapter on many statements, errors
 * with positions, and the binder's name and type errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "query/bind.h"
#include "query/pgparse.h"

static int
parse(const char *sql, AstSelect **q, Arena *a, Err *e)
{
	err_clear(e);
	return pgparse_parse(sql, a, q, e);
}

static void
test_accepts(void **st)
{
	static const char *ok[] = {
		"SELECT 1",
		"SELECT * FROM t",
		"SELECT a, b AS x, a + 1 FROM t WHERE a > 1 AND b IN ('x', 'y') OR c IS NOT NULL",
		"SELECT count(*), COUNT(DISTINCT a), sum(b) FROM t GROUP BY c HAVING sum(b) > 3 ORDER BY 1 DESC NULLS LAST LIMIT 10 OFFSET 5",
		"SELECT CAST(a AS BIGINT), a::text FROM t WHERE a BETWEEN 1 AND 2 AND b NOT LIKE 'x%'",
		"SELECT DISTINCT a FROM t",
		"SET timeoutMs = 100; SELECT a FROM t",
		"SELECT \"Quoted\" FROM sys.tables",
		"EXPLAIN SELECT a FROM t",
		"SELECT -a, -1.5, 3000000000 FROM t",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		Arena a;
		arena_init(&a, 4096);
		AstSelect *q;
		Err e;
		int rc = parse(ok[i], &q, &a, &e);
		if (rc != 0)
			fail_msg("%s: %s", ok[i], e.msg);
		arena_free(&a);
	}
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q;
	Err e;
	assert_int_equal(parse("SELECT \"Quoted\", plain FROM sys.\"Tab\"", &q, &a, &e), 0);
	assert_true(q->targets[0].expr->quoted);
	assert_false(q->targets[1].expr->quoted);
	assert_string_equal(q->schema, "sys");
	assert_string_equal(q->table, "Tab");
	assert_true(q->table_quoted);
	assert_int_equal(parse("SET timeoutMs = 100; SELECT 3000000000, -2", &q, &a, &e), 0);
	assert_int_equal(q->noptions, 1);
	assert_int_equal(q->options[0].val.u.i, 100);
	assert_int_equal(q->targets[0].expr->val.u.i, 3000000000LL);
	assert_int_equal(q->targets[1].expr->val.u.i, -2);
	/* joins flatten left-deep; window calls carry their OVER */
	assert_int_equal(parse("SELECT * FROM t a LEFT JOIN u b ON a.x = b.x, v JOIN w USING (k)", &q, &a, &e), 0);
	assert_int_equal(q->nfrom, 4);
	assert_string_equal(q->from[1].alias, "b");
	assert_int_equal(q->from[1].join, AST_JOIN_LEFT);
	assert_non_null(q->from[1].on);
	assert_int_equal(q->from[2].join, AST_JOIN_CROSS);
	assert_int_equal(q->from[3].nusing, 1);
	assert_int_equal(parse("SELECT rank() OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY b DESC)", &q, &a, &e), 0);
	assert_true(q->has_window);
	assert_int_equal(q->targets[0].expr->over->npart, 1);
	assert_int_equal(q->targets[0].expr->over->norder, 1);
	assert_true(q->targets[0].expr->over->order[0].desc);
	arena_free(&a);
	(void)st;
}

static void
test_errors(void **st)
{
	static const struct { const char *sql; int code; int pos; } bad[] = {
		{"SELECT * FORM t", ERR_SQL_PARSE, 10},
		{"SELECT a FROM t WHERE", ERR_SQL_PARSE, 22},
		{"SELECT a FROM t JOIN (u JOIN v ON u.a = v.a) ON t.a = u.a", ERR_UNSUPPORTED, 0},
		{"SELECT a FROM t JOIN u ON t.a = u.a JOIN LATERAL (SELECT 1) x ON true", ERR_UNSUPPORTED, 0},
		{"WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", ERR_UNSUPPORTED, 0},
		{"SELECT a FROM LATERAL (SELECT 1) x", ERR_UNSUPPORTED, 0},
		{"SELECT a FROM t WHERE a > ALL (SELECT 1)", ERR_UNSUPPORTED, 0},
		{"SELECT a FROM t UNION SELECT b FROM u FOR UPDATE", ERR_UNSUPPORTED, 0},
		{"SELECT sum(a) OVER (ORDER BY a GROUPS 1 PRECEDING) FROM t", ERR_UNSUPPORTED, 0},
		{"SELECT sum(a) OVER w FROM t", ERR_SQL_PARSE, 0},
		{"SELECT sum(a) FILTER (WHERE a > 1) OVER () FROM t", ERR_UNSUPPORTED, 0},
		{"INSERT INTO t VALUES (1)", ERR_UNSUPPORTED, 1},
		{"SELECT a FROM t WHERE a @@ 'x'", ERR_UNSUPPORTED, 25},
		{"", ERR_SQL_PARSE, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Arena a;
		arena_init(&a, 4096);
		AstSelect *q;
		Err e;
		int rc = parse(bad[i].sql, &q, &a, &e);
		if (rc != bad[i].code || (bad[i].pos && e.pos != bad[i].pos))
			fail_msg("%s: got %s pos %d (%s)", bad[i].sql, err_name(rc), e.pos, e.msg);
		arena_free(&a);
	}
	(void)st;
}

static void
test_binder(void **st)
{
	static const BindCol cols[] = {{"playerName", TYPE_STRING, 0}, {"games", TYPE_INT, 0},
				       {"Dup", TYPE_INT, 0}, {"dup", TYPE_INT, 0}, {"ts", TYPE_TIMESTAMP, 0}};
	BindTable t = {"t", 5, cols};
	static const struct { const char *sql; int code; int pos; } cases[] = {
		{"SELECT playername, GAMES FROM t", 0, 0},
		{"SELECT nosuch FROM t", ERR_COLUMN_MISSING, 8},
		{"SELECT \"games\" FROM t WHERE \"Games\" > 1", ERR_COLUMN_MISSING, 29},
		{"SELECT dup FROM t", ERR_AMBIGUOUS, 8},
		{"SELECT \"Dup\" FROM t", 0, 0},
		{"SELECT playerName, count(*) FROM t", ERR_GROUPING, 8},
		{"SELECT games FROM t WHERE count(*) > 1", ERR_GROUPING, 27},
		{"SELECT playerName + 1 FROM t", ERR_TYPE, 19},
		{"SELECT * FROM t WHERE playerName = 1", ERR_TYPE, 34},
		{"SELECT * FROM t WHERE ts > '2014-01-01'", 0, 0},
		{"SELECT * FROM t WHERE ts > 'yesterday'", ERR_TYPE, 28},
		{"SELECT * FROM t WHERE games", ERR_TYPE, 23},
		{"SELECT sum(playerName) FROM t", ERR_TYPE, 8},
		{"SELECT foo(games) FROM t", ERR_FUNC_MISSING, 8},
		{"SELECT games FROM t ORDER BY 3", ERR_SQL_PARSE, 30},
		{"SELECT games AS g, count(*) FROM t GROUP BY 1 ORDER BY g", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Arena a;
		arena_init(&a, 4096);
		AstSelect *q;
		Err e;
		assert_int_equal(parse(cases[i].sql, &q, &a, &e), 0);
		Plan *p = NULL;
		int rc = bind_select(q, &t, 0, &p, &e);
		if (rc != cases[i].code || (cases[i].pos && e.pos != cases[i].pos))
			fail_msg("%s: got %s pos %d (%s)", cases[i].sql, err_name(rc), e.pos, e.msg);
		bind_free(p);
		arena_free(&a);
	}
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_binder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
