/*
 * test_pgparse.c -- the libpg_query adapter on many statements, errors
 * with positions, and the binder's name and type errors; grouping sets
 * (pgparse's masks, gsets.c's branches) and the select list of a join
 * (joinplan.c's * over USING / NATURAL).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "query/bind.h"
#include "query/gsets.h"
#include "query/joinplan.h"
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

/* The sets of q as a string of masks, e.g. "3,1,0". */
static const char *
masks(const AstSelect *q, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < q->ngsets && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%llu", i ? "," : "", (unsigned long long)q->gsets[i]);
	return buf;
}

static void
test_grouping_sets(void **st)
{
	static const struct { const char *sql; int ngroup; const char *sets; } cases[] = {
		/* (a, b) inside GROUPING SETS: one set of both keys; a once */
		{"SELECT a FROM t GROUP BY GROUPING SETS ((a), (a, b))", 2, "1,3"},
		{"SELECT a FROM t GROUP BY GROUPING SETS ((a, b), a, (), ())", 2, "3,1,0,0"},
		{"SELECT a FROM t GROUP BY ROLLUP (a, b)", 2, "3,1,0"},
		{"SELECT a FROM t GROUP BY ROLLUP (a, (b, c))", 3, "7,1,0"},
		{"SELECT a FROM t GROUP BY CUBE (a, b)", 2, "3,2,1,0"},
		{"SELECT a FROM t GROUP BY GROUPING SETS (ROLLUP (a, b), CUBE (c))", 3, "3,1,0,4,0"},
		{"SELECT a FROM t GROUP BY GROUPING SETS (a, GROUPING SETS ((), (b)))", 2, "1,0,2"},
		{"SELECT a FROM t GROUP BY a, ROLLUP (b, c)", 3, "7,3,1"},
		{"SELECT a FROM t GROUP BY ROLLUP (a), ROLLUP (a)", 1, "1,1,1,0"},
		{"SELECT a FROM t GROUP BY DISTINCT ROLLUP (a), ROLLUP (a)", 1, "1,0"},
		{"SELECT a FROM t GROUP BY ()", 0, "0"},
		/* e.a and u.a are two keys; a and e.a one */
		{"SELECT 1 FROM t e JOIN u ON e.a = u.a GROUP BY ROLLUP (e.a, u.a, a)", 2, "3,3,1,0"},
		/* GROUPING() over a plain GROUP BY: the one set of every key */
		{"SELECT a, grouping(a) FROM t GROUP BY a, b", 2, "3"},
		{"SELECT a FROM t GROUP BY a, b", 2, ""},
		{"SELECT a FROM t GROUP BY (a, b), c", 3, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Arena a;
		arena_init(&a, 4096);
		AstSelect *q;
		Err e;
		char buf[200];
		int rc = parse(cases[i].sql, &q, &a, &e);
		if (rc != 0)
			fail_msg("%s: %s", cases[i].sql, e.msg);
		if (q->ngroup != cases[i].ngroup || strcmp(masks(q, buf, sizeof(buf)), cases[i].sets) != 0)
			fail_msg("%s: %d keys, sets %s", cases[i].sql, q->ngroup, buf);
		arena_free(&a);
	}
	static const struct { const char *sql; int code; int pos; } bad[] = {
		{"SELECT a FROM t GROUP BY CUBE (a, b, c, d, e, f, g, h, i, j, k, l, m)", ERR_TOO_LARGE, 26},
		{"SELECT grouping(a) FROM t", ERR_GROUPING, 8},
		{"SELECT a FROM t WHERE grouping(a) = 0 GROUP BY a", ERR_GROUPING, 23},
		{"SELECT a FROM t GROUP BY GROUPING SETS (ROW(a, b))", ERR_UNSUPPORTED, 0},
		{"SELECT a FROM t GROUP BY CUBE (a, b, c, d, e, f, g, h, i, j, k, l), CUBE (a, b)", ERR_TOO_LARGE, 0},
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
test_gsets_expand(void **st)
{
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q, *u;
	Err e;
	/* the first set (a) would rename b: a no-row branch of every key
	 * comes first */
	assert_int_equal(parse("SELECT a, b, grouping(a, b), sum(c) AS s FROM t GROUP BY GROUPING SETS ((a), (b), ()) "
			       "ORDER BY grouping(a, b), sum(c) DESC, s",
			       &q, &a, &e), 0);
	assert_int_equal(gsets_expand(q, &a, &u, &e), 0);
	assert_int_equal(u->nbranch, 4);
	assert_int_equal(u->union_distinct, 0);
	AstSelect *nm = u->branches[0];
	assert_int_equal(nm->ngroup, 2);
	assert_non_null(nm->where);
	assert_int_equal(nm->limit->val.u.i, 0);
	assert_int_equal(nm->targets[2].expr->kind, AST_CONST);
	assert_int_equal(nm->targets[2].expr->val.u.i, 0);
	assert_string_equal(nm->targets[2].alias, "grouping");
	/* (a): b is NULL, GROUPING(a, b) = 1 */
	AstSelect *b1 = u->branches[1];
	assert_int_equal(b1->ngroup, 1);
	assert_int_equal(b1->targets[0].expr->kind, AST_COLREF);
	assert_true(b1->targets[1].expr->kind == AST_CONST && b1->targets[1].expr->val.null);
	assert_int_equal(b1->targets[2].expr->val.u.i, 1);
	assert_int_equal(u->branches[2]->targets[2].expr->val.u.i, 2);
	/* (): no key, GROUPING = 3, the aggregate untouched */
	AstSelect *b3 = u->branches[3];
	assert_int_equal(b3->ngroup, 0);
	assert_int_equal(b3->targets[2].expr->val.u.i, 3);
	assert_ptr_equal(b3->targets[3].expr, q->targets[3].expr);
	/* ORDER BY items equal to select items become their positions */
	assert_int_equal(u->norder, 3);
	assert_int_equal(u->order[0].expr->val.u.i, 3);
	assert_int_equal(u->order[1].expr->val.u.i, 4);
	assert_int_equal(u->order[1].desc, 1);
	assert_int_equal(u->order[2].expr->kind, AST_COLREF);

	/* ROLLUP: the first set has every key, no extra branch; an
	 * expression over a key left out reads NULL inside it; the set ()
	 * without an aggregate still makes one group */
	assert_int_equal(parse("SELECT DISTINCT a + 1, upper(b) FROM t GROUP BY ROLLUP (a, b) HAVING a > 0", &q, &a, &e), 0);
	assert_int_equal(gsets_expand(q, &a, &u, &e), 0);
	assert_int_equal(u->nbranch, 3);
	assert_int_equal(u->union_distinct, 1);
	assert_ptr_equal(u->branches[0]->targets[0].expr, q->targets[0].expr);
	const Ast *x = u->branches[2]->targets[0].expr;
	assert_int_equal(x->kind, AST_OP);
	assert_true(x->args[0]->kind == AST_CONST && x->args[0]->val.null);
	assert_true(u->branches[1]->targets[1].expr->args[0]->val.null);
	assert_int_equal(u->branches[2]->having->kind, AST_AND);
	assert_ptr_equal(u->branches[1]->having, q->having);

	assert_int_equal(parse("SELECT a, grouping(c) FROM t GROUP BY ROLLUP (a, b)", &q, &a, &e), 0);
	assert_int_equal(gsets_expand(q, &a, &u, &e), ERR_GROUPING);
	assert_int_equal(e.pos, 20);
	assert_int_equal(parse("SELECT a FROM t GROUP BY CUBE (a) ORDER BY grouping(a)", &q, &a, &e), 0);
	assert_int_equal(gsets_expand(q, &a, &u, &e), ERR_GROUPING);
	arena_free(&a);
	(void)st;
}

/* The names and expressions of SELECT * over a join of emp and dept. */
static void
star_of(const char *sql, const char *want)
{
	static const char *emp[] = {"id", "dept", "name"};
	static const char *dept[] = {"dept", "floor", "head"};
	JoinInput in[3] = {{3, emp, 1}, {3, dept, 1}, {3, emp, 1}};
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q;
	Err e;
	JoinPlan jp;
	if (parse(sql, &q, &a, &e) != 0 || joinplan_plan(q, in, &a, &jp, &e) != 0)
		fail_msg("%s: %s", sql, e.msg);
	char got[512];
	size_t o = 0;
	for (int i = 0; i < jp.final->ntargets; i++) {
		const Ast *x = jp.final->targets[i].expr;
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s=%s", i ? " " : "", jp.final->targets[i].alias,
				      x->kind == AST_COLREF ? x->name : x->name ? x->name : "?");
	}
	if (strcmp(got, want) != 0)
		fail_msg("%s:\n  got  %s\n  want %s", sql, got, want);
	arena_free(&a);
}

static void
test_join_star(void **st)
{
	star_of("SELECT * FROM emp e JOIN dept d ON e.dept = d.dept",
		"id=e.id dept=e.dept name=e.name dept=d.dept floor=d.floor head=d.head");
	star_of("SELECT * FROM emp e JOIN dept d USING (dept)",
		"dept=e.dept id=e.id name=e.name floor=d.floor head=d.head");
	star_of("SELECT * FROM emp e LEFT JOIN dept d USING (dept)",
		"dept=e.dept id=e.id name=e.name floor=d.floor head=d.head");
	star_of("SELECT * FROM emp e RIGHT JOIN dept d USING (dept)",
		"dept=d.dept id=e.id name=e.name floor=d.floor head=d.head");
	star_of("SELECT * FROM emp e FULL JOIN dept d USING (dept)",
		"dept=coalesce id=e.id name=e.name floor=d.floor head=d.head");
	star_of("SELECT * FROM emp e NATURAL JOIN dept d",
		"dept=e.dept id=e.id name=e.name floor=d.floor head=d.head");
	star_of("SELECT e.*, * FROM emp e JOIN dept d USING (dept) JOIN emp h USING (name)",
		"id=e.id dept=e.dept name=e.name "
		"name=e.name dept=e.dept id=e.id floor=d.floor head=d.head id=h.id dept=h.dept");
	(void)st;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_binder),
		cmocka_unit_test(test_grouping_sets),
		cmocka_unit_test(test_gsets_expand),
		cmocka_unit_test(test_join_star),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
