/*
 * test_xform.c -- ingestion transforms (ingest/xform.c) with the SQL
 * expression compiler (query/exprc.c): config transforms, schema
 * transformFunction, filterConfig, complexTypeConfig flatten / unnest,
 * bad records with their reasons, Groovy refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/xform.h"
#include "query/exprc.h"

static const XformCompiler CC = {NULL, exprc_compile, exprc_release};

static const char *SCHEMA =
	"{\"schemaName\":\"t\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"INT\"},"
	"{\"name\":\"kind\",\"dataType\":\"STRING\"},{\"name\":\"repo.name\",\"dataType\":\"STRING\"},"
	"{\"name\":\"c.sha\",\"dataType\":\"STRING\"},"
	"{\"name\":\"up\",\"dataType\":\"STRING\",\"transformFunction\":\"lower(kind)\"}],"
	"\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}],"
	"\"dateTimeFieldSpecs\":[{\"name\":\"ts\",\"dataType\":\"TIMESTAMP\",\"format\":\"1:MILLISECONDS:TIMESTAMP\","
	"\"granularity\":\"1:MILLISECONDS\"}]}";

typedef struct Fx {
	Schema *s;
	TableConfig *c;
	Xform *x;
	RowBatch rb;
} Fx;

static int
setup(Fx *f, const char *ingestion, Err *e)
{
	memset(f, 0, sizeof *f);
	assert_int_equal(schema_parse(SCHEMA, strlen(SCHEMA), &f->s, e), 0);
	char cfg[2048];
	snprintf(cfg, sizeof cfg, "{\"tableName\":\"t\",\"tableType\":\"REALTIME\",\"ingestionConfig\":%s}", ingestion);
	assert_int_equal(tblconfig_parse(cfg, strlen(cfg), &f->c, e), 0);
	rowbatch_init(&f->rb, f->s->nfields);
	return xform_create(f->s, f->c, &CC, &f->x, e);
}

static void
teardown(Fx *f)
{
	xform_free(f->x);
	rowbatch_free(&f->rb);
	tblconfig_free(f->c);
	schema_unref(f->s);
}

static int
rec(Fx *f, const char *json, int *col, int *filtered, Err *e)
{
	err_clear(e);
	return xform_record(f->x, json, strlen(json), &f->rb, col, filtered, e);
}

static void
test_transforms_and_filter(void **state)
{
	(void)state;
	Fx f;
	Err e = {0};
	assert_int_equal(setup(&f, "{\"transformConfigs\":["
				   "{\"columnName\":\"kind\",\"transformFunction\":\"upper(k)\"},"
				   "{\"columnName\":\"v\",\"transformFunction\":\"plus(a, b * 2)\"},"
				   "{\"columnName\":\"ts\",\"transformFunction\":\"fromEpochDays(days)\"}],"
				   "\"filterConfig\":{\"filterFunction\":\"kind = 'SKIP'\"}}", &e), 0);
	assert_true(xform_active(f.x));
	int col, filtered = 0;
	assert_int_equal(rec(&f, "{\"id\":1,\"k\":\"abc\",\"a\":1.5,\"b\":\"2\",\"days\":2}", &col, &filtered, &e), 0);
	assert_int_equal(f.rb.nrows, 1);
	Value *r = rowbatch_row(&f.rb, 0);
	assert_int_equal(r[1].n, 3);
	assert_memory_equal(r[1].u.s, "ABC", 3);
	assert_true(r[4].n == 3 && memcmp(r[4].u.s, "abc", 3) == 0);	/* schema transform */
	assert_true(r[5].u.d == 5.5);
	assert_int_equal(r[6].u.i, 2 * 86400000LL);
	/* the record's own value wins over the transform (Pinot) */
	assert_int_equal(rec(&f, "{\"kind\":\"given\",\"k\":\"x\"}", &col, &filtered, &e), 0);
	assert_memory_equal(rowbatch_row(&f.rb, 1)[1].u.s, "given", 5);
	/* filtered: no row, counted */
	assert_int_equal(rec(&f, "{\"k\":\"skip\"}", &col, &filtered, &e), 0);
	assert_int_equal(filtered, 1);
	assert_int_equal(f.rb.nrows, 2);
	/* bad input to a transform: rejected, naming the column and function */
	assert_int_not_equal(rec(&f, "{\"k\":\"x\",\"a\":\"nan?\",\"b\":1}", &col, &filtered, &e), 0);
	assert_int_equal(col, schema_find(f.s, "v"));
	assert_non_null(strstr(e.msg, "column 'v'"));
	assert_non_null(strstr(e.msg, "plus("));
	assert_int_equal(f.rb.nrows, 2);
	assert_int_not_equal(rec(&f, "{\"k\":", &col, &filtered, &e), 0);
	assert_non_null(strstr(e.msg, "invalid JSON"));
	teardown(&f);
}

static void
test_complex_type(void **state)
{
	(void)state;
	Fx f;
	Err e = {0};
	assert_int_equal(setup(&f, "{\"complexTypeConfig\":{\"fieldsToUnnest\":[\"p.commits\"],"
				   "\"prefixesToRename\":{\"p.commits.\":\"c.\"}}}", &e), 0);
	int col, filtered = 0;
	assert_int_equal(rec(&f, "{\"id\":7,\"repo\":{\"name\":\"r/x\"},\"p\":{\"commits\":[{\"sha\":\"a1\"},{\"sha\":\"b2\"}]}}",
			     &col, &filtered, &e), 0);
	assert_int_equal(f.rb.nrows, 2);
	for (int i = 0; i < 2; i++) {
		Value *r = rowbatch_row(&f.rb, (size_t)i);
		assert_int_equal(r[0].u.i, 7);
		assert_memory_equal(r[2].u.s, "r/x", 3);
		assert_memory_equal(r[3].u.s, i ? "b2" : "a1", 2);
	}
	/* no commits: the record is kept once */
	assert_int_equal(rec(&f, "{\"id\":8,\"p\":{\"commits\":[]}}", &col, &filtered, &e), 0);
	assert_int_equal(f.rb.nrows, 3);
	teardown(&f);
}

static void
test_refused_configs(void **state)
{
	(void)state;
	Fx f;
	Err e = {0};
	assert_int_equal(setup(&f, "{\"transformConfigs\":[{\"columnName\":\"kind\",\"transformFunction\":"
				   "\"Groovy({a+b}, a, b)\"}]}", &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "transformConfigs[0].transformFunction"));
	assert_non_null(strstr(e.msg, "Groovy"));
	teardown(&f);
	err_clear(&e);
	assert_int_equal(setup(&f, "{\"transformConfigs\":[{\"columnName\":\"nope\",\"transformFunction\":\"1\"}]}", &e),
			 ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "nope"));
	teardown(&f);
	err_clear(&e);
	assert_int_equal(setup(&f, "{\"filterConfig\":{\"filterFunction\":\"nosuchfn(id)\"}}", &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "filterConfig.filterFunction"));
	teardown(&f);
}

static void
test_inactive(void **state)
{
	(void)state;
	Fx f;
	Err e = {0};
	assert_int_equal(setup(&f, "{}", &e), 0);
	/* only the schema's transformFunction on 'up' */
	assert_true(xform_active(f.x));
	teardown(&f);
	assert_false(xform_active(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transforms_and_filter),
		cmocka_unit_test(test_complex_type),
		cmocka_unit_test(test_refused_configs),
		cmocka_unit_test(test_inactive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
