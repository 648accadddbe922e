/*
 * test_funnel.c -- the funnel aggregates from SQL to plan and state:
 * what the binder builds (key expression, step count, window, modes) and
 * the messages of bad calls; Pinot's window walk on a hand-made stream
 * (modes, maxStepDuration, KEEP_ALL) through the plan's configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "query/bind.h"
#include "query/pgparse.h"

static const BindCol cols[] = {
	{"user_id", TYPE_STRING, 0}, {"url", TYPE_STRING, 0}, {"ts", TYPE_LONG, 0}, {"tags", TYPE_STRING, 1},
};
static const BindTable tab = {"clicks", 4, cols, NULL};

/* Binds sql; returns the code, the plan in *p (bind_free) on success. */
static int
bind(const char *sql, Plan **p, Err *e)
{
	Arena a;
	AstSelect *q;
	arena_init(&a, 4096);
	err_clear(e);
	int rc = pgparse_parse(sql, &a, &q, e);
	if (rc == 0)
		rc = bind_select(q, &tab, 0, p, e);
	arena_free(&a);
	return rc;
}

static void
expect_error(const char *sql, int code, const char *text)
{
	Plan *p = NULL;
	Err e;
	int rc = bind(sql, &p, &e);
	if (rc != code || strstr(e.msg, text) == NULL)
		print_error("%s\n  got %d '%s', want %d '%s'\n", sql, rc, e.msg, code, text);
	assert_int_equal(rc, code);
	assert_non_null(strstr(e.msg, text));
}

static void
test_plans(void **st)
{
	(void)st;
	Plan *p;
	Err e;
	assert_int_equal(bind("SELECT FUNNELCOUNT(STEPS(url = 'a', url = 'b', url = 'c'), CORRELATE_BY(user_id), "
			      "SETTINGS('set', 'nominalEntries=4096')) FROM clicks",
			      &p, &e),
			 0);
	assert_int_equal(p->nagg, 1);
	assert_int_equal(p->aggs[0].kind, AGG_FUNNEL_COUNT);
	assert_int_equal(p->aggs[0].nsteps, 3);
	assert_true(p->aggs[0].param == 3);
	assert_int_equal(p->aggs[0].arg->kind, EXPR_COL);
	assert_int_equal(p->aggs[0].arg2->type, TYPE_LONG);
	assert_true(p->out[0]->mv);
	assert_int_equal(p->out[0]->type, TYPE_LONG);
	bind_free(p);

	assert_int_equal(bind("SELECT funnel_match_step(ts, '60', 2, url = 'a', url = 'b', 'mode = strict_order, "
			      "keep_all', 'maxStepDuration=5') FROM clicks",
			      &p, &e),
			 0);
	assert_int_equal(p->aggs[0].kind, AGG_FUNNEL_MATCH_STEP);
	assert_int_equal(p->aggs[0].window, 60);
	assert_int_equal(p->aggs[0].max_step_duration, 5);
	assert_int_equal(p->aggs[0].funnel_modes, AGG_FUNNEL_STRICT_ORDER | AGG_FUNNEL_KEEP_ALL);
	assert_int_equal(p->aggs[0].arg2->kind, EXPR_CASE);
	assert_true(p->out[0]->mv);
	assert_int_equal(p->out[0]->type, TYPE_INT);
	bind_free(p);
}

static void
test_errors(void **st)
{
	(void)st;
	expect_error("SELECT FUNNELCOUNT(CORRELATE_BY(user_id)) FROM clicks", ERR_FUNC_MISSING,
		     "FUNNELCOUNT requires STEPS(condition, ...)");
	expect_error("SELECT FUNNELCOUNT(STEPS(url = 'a')) FROM clicks", ERR_FUNC_MISSING,
		     "FUNNELCOUNT requires CORRELATE_BY(column)");
	expect_error("SELECT FUNNELCOUNT(STEPS(url = 'a'), CORRELATE_BY(user_id, url)) FROM clicks", ERR_UNSUPPORTED,
		     "one column only");
	expect_error("SELECT FUNNELCOUNT(STEPS(url = 'a'), CORRELATE_BY(tags)) FROM clicks", ERR_UNSUPPORTED,
		     "multi-value");
	expect_error("SELECT FUNNELCOUNT(STEPS(url = 'a', ts), CORRELATE_BY(user_id)) FROM clicks", ERR_TYPE,
		     "step 2 of FUNNELCOUNT must be a BOOLEAN condition, not LONG");
	expect_error("SELECT FUNNELCOUNT(STEPS(url = 'a'), CORRELATE_BY(user_id), SETTINGS('nominalEntries=x')) "
		     "FROM clicks",
		     ERR_TYPE, "nominalEntries needs a positive integer");
	char sql[2048] = "SELECT FUNNELCOUNT(STEPS(ts = 0";
	for (int i = 1; i < 33; i++)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), ", ts = %d", i);
	strcat(sql, "), CORRELATE_BY(user_id)) FROM clicks");
	expect_error(sql, ERR_UNSUPPORTED, "at most 32 steps, not 33");
	expect_error("SELECT FUNNELMAXSTEP(ts, 10, 2, url = 'a') FROM clicks", ERR_FUNC_MISSING,
		     "the number of steps is 2 but 1 step conditions follow");
	expect_error("SELECT FUNNELMAXSTEP(ts, -1, 1, url = 'a') FROM clicks", ERR_TYPE,
		     "window size of FUNNELMAXSTEP must be a positive integer");
	expect_error("SELECT FUNNELMAXSTEP(ts, 10, 1, url = 'a', 'maxStepDuration=0') FROM clicks", ERR_TYPE,
		     "maxStepDuration must be a positive integer");
	expect_error("SELECT FUNNELMAXSTEP(ts, 10, 1, url = 'a', 'speed=3') FROM clicks", ERR_TYPE,
		     "Unrecognized extra argument for funnel function FUNNELMAXSTEP: 'speed=3'");
	expect_error("SELECT FUNNELCOMPLETECOUNT(url, 10, 1, url = 'a') FROM clicks", ERR_TYPE,
		     "timestamp of FUNNELCOMPLETECOUNT must be an integer or a TIMESTAMP");
}

/* The windows of Pinot's walk, through a plan's configuration. */
static void
test_walk(void **st)
{
	(void)st;
	/* steps 0,1,2; times 0..: 0:s0 1:s1 2:none 3:s0 4:s2 9:s1 10:s2 */
	int64_t ts[7] = {0, 1, 2, 3, 4, 9, 10};
	int64_t step[7] = {0, 1, -1, 0, 2, 1, 2};
	Vec tv = {.type = TYPE_LONG, .enc = VEC_I64, .i = ts};
	Vec sv = {.type = TYPE_INT, .enc = VEC_I64, .i = step};
	struct { int modes; int64_t window, maxdur, max, complete; } cases[] = {
		{0, 100, 0, 3, 1},	/* 0,1 then 4 */
		{0, 4, 0, 2, 0},	/* the window from 0 ends before 4; from 3: 9 is out */
		{AGG_FUNNEL_STRICT_ORDER, 100, 0, 2, 0},	/* 3 (s0) breaks 0,1 */
		{AGG_FUNNEL_STRICT_ORDER | AGG_FUNNEL_KEEP_ALL, 100, 0, 2, 0},
		{0, 100, 1, 2, 0},	/* 1 -> 3 and 4 -> 9: more than 1 apart */
	};
	const AggFunc *fm = agg_func(AGG_FUNNEL_MAX_STEP), *fc = agg_func(AGG_FUNNEL_COMPLETE_COUNT);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PlanAgg pa = {.kind = AGG_FUNNEL_MAX_STEP, .nsteps = 3, .param = 3, .window = cases[i].window,
			      .max_step_duration = cases[i].maxdur, .funnel_modes = cases[i].modes};
		char a[128], c[128];
		Value out;
		fm->init(a);
		fm->setparam(a, 3);
		assert_int_equal(agg_update2(AGG_FUNNEL_MAX_STEP, a, NULL, &tv, &sv, NULL, 7), ERR_INTERNAL);
		agg_plan_init(&pa, a);
		assert_int_equal(agg_update2(AGG_FUNNEL_MAX_STEP, a, NULL, &tv, &sv, NULL, 7), 0);
		fm->finalize(a, TYPE_INT, &out);
		if (out.u.i != cases[i].max)
			print_error("case %zu: max step %lld\n", i, (long long)out.u.i);
		assert_int_equal(out.u.i, cases[i].max);
		pa.kind = AGG_FUNNEL_COMPLETE_COUNT;
		fc->init(c);
		fc->setparam(c, 3);
		agg_plan_init(&pa, c);
		assert_int_equal(fc->merge(c, a), 0);
		fc->finalize(c, TYPE_INT, &out);
		if (out.u.i != cases[i].complete)
			print_error("case %zu: complete count %lld\n", i, (long long)out.u.i);
		assert_int_equal(out.u.i, cases[i].complete);
		fm->destroy(a);
		fc->destroy(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
