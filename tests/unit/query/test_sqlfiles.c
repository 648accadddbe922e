/*
 * test_sqlfiles.c -- runs every tests/sql/NAME.test data file under $WB_SRC
 * through a real catalog and query_exec.  Format: see docs/sql.md
 * ("Data-file tests").  Each file gets a fresh catalog in a temp dir.
 *
 * Every file runs twice: once with all rows in mutable segments, once
 * with each `rows` block written in two halves with a seal (forceCommit)
 * in between, so the rows span a segment file and a mutable segment.
 * The answers must be the same (queries of sys.* tables, which show the
 * segments, only run in the first pass).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "expr/expr.h"
#include "query/query.h"
#include "table/catalog.h"

static int failures;
static int seal_mode;

static void
fmt_value(const Value *v, Buf *b)
{
	if (v->null) {
		buf_puts(b, "NULL");
		return;
	}
	if (v->mv) {
		buf_putc(b, '[');
		for (uint32_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			fmt_value(&v->u.mv[i], b);
		}
		buf_putc(b, ']');
		return;
	}
	if (v->type == TYPE_TIMESTAMP)
		expr_ts_format(v->u.i, b);
	else
		value_format(v, b);
}

static int
json_to_value(const cJSON *j, WbType t, Value *out, Arena *a)
{
	if (j == NULL || cJSON_IsNull(j)) {
		*out = value_null(t);
		return 0;
	}
	if (cJSON_IsArray(j)) {
		int n = cJSON_GetArraySize(j);
		Value *arr = arena_calloc(a, sizeof(Value) * (size_t)(n + 1));
		for (int i = 0; i < n; i++)
			json_to_value(cJSON_GetArrayItem(j, i), t, &arr[i], a);
		Value v = {.type = (uint8_t)t, .mv = 1, .n = (uint32_t)n};
		v.u.mv = arr;
		*out = v;
		return 0;
	}
	if (cJSON_IsBool(j)) {
		*out = value_int(t, cJSON_IsTrue(j));
		return 0;
	}
	if (type_is_var(t)) {
		const char *s = cJSON_IsString(j) ? j->valuestring : NULL;
		char tmp[64];
		if (s == NULL) {
			snprintf(tmp, sizeof(tmp), "%g", j->valuedouble);
			s = tmp;
		}
		char *d = arena_strdup(a, s);
		*out = value_str(t, d, (uint32_t)strlen(d));
		return 0;
	}
	if (cJSON_IsString(j)) {
		Value in = value_str(TYPE_STRING, j->valuestring, (uint32_t)strlen(j->valuestring));
		Err e;
		err_clear(&e);
		return expr_convert(&in, t, out, a, &e);
	}
	if (type_is_float(t))
		*out = value_double(t, j->valuedouble);
	else
		*out = value_int(t, (int64_t)j->valuedouble);
	return 0;
}

/* Reads lines until one equal to `end` (or EOF); returns malloc'd text. */
static char *
read_block(FILE *f, const char *end, int *lineno)
{
	Buf b;
	buf_init(&b);
	char line[65536];
	while (fgets(line, sizeof(line), f)) {
		(*lineno)++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strcmp(line, end) == 0)
			break;
		buf_puts(&b, line);
		buf_putc(&b, '\n');
	}
	if (b.p == NULL)
		buf_puts(&b, "");
	return buf_take(&b);
}

static void
fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sort_lines(char *text)
{
	static char *lines[100000];
	int n = 0;
	if (text == NULL || text[0] == '\0')
		return;	/* an empty result: nothing to sort */
	for (char *p = strtok(text, "\n"); p && n < 100000; p = strtok(NULL, "\n"))
		lines[n++] = strdup(p);
	qsort(lines, (size_t)n, sizeof(char *), cmp_str);
	text[0] = '\0';
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		memcpy(text + off, lines[i], l);
		text[off + l] = '\n';
		off += l + 1;
		free(lines[i]);
	}
	text[off] = '\0';
}

static void
load_rows(Catalog *cat, const char *table, const char *text, const char *file, int line)
{
	Table *t = catalog_get_table(cat, table);
	if (t == NULL) {
		fail_at(file, line, "rows: no table %s", table);
		return;
	}
	const Schema *s = table_schema(t);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0) {
			cJSON *j = cJSON_ParseWithLength(p, len);
			if (j == NULL) {
				fail_at(file, line, "bad NDJSON row: %.*s", (int)len, p);
			} else {
				Value *row = rowbatch_add_row(&b);
				for (int c = 0; c < s->nfields; c++) {
					const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, s->fields[c].name);
					json_to_value(f, s->fields[c].type, &row[c], &b.arena);
					if (f == NULL)
						row[c] = value_null(s->fields[c].type);
					if (!s->fields[c].single_value && !row[c].null && !row[c].mv) {
						Value *arr = arena_alloc(&b.arena, sizeof(Value));
						*arr = row[c];
						row[c].mv = 1;
						row[c].n = 1;
						row[c].u.mv = arr;
					}
				}
				cJSON_Delete(j);
			}
		}
		p += len + (nl ? 1 : 0);
	}
	Err e;
	err_clear(&e);
	if (!seal_mode) {
		if (table_write(t, &b, &e) != 0)
			fail_at(file, line, "table_write: %s", err_msg(&e));
	} else {
		/* first half, seal, second half */
		RowBatch h;
		size_t half = b.nrows / 2;
		for (int k = 0; k < 2; k++) {
			rowbatch_init(&h, s->nfields);
			for (size_t r = k ? half : 0; r < (k ? b.nrows : half); r++)
				memcpy(rowbatch_add_row(&h), rowbatch_row(&b, r), sizeof(Value) * (size_t)s->nfields);
			if (h.nrows && table_write(t, &h, &e) != 0)
				fail_at(file, line, "table_write: %s", err_msg(&e));
			rowbatch_free(&h);
			if (k == 0 && table_seal(t, &e) != 0)
				fail_at(file, line, "table_seal: %s", err_msg(&e));
		}
	}
	rowbatch_free(&b);
	table_unref(t);
}

static void
run_file(const char *path)
{
	char dir[] = "/tmp/wb-sqltest-XXXXXX";
	Err e;
	err_clear(&e);
	if (mkdtemp(dir) == NULL) {
		fail_at(path, 0, "mkdtemp failed");
		return;
	}
	Catalog *cat = NULL;
	if (catalog_open(dir, &cat, &e) != 0) {
		fail_at(path, 0, "catalog_open: %s", err_msg(&e));
		return;
	}
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;
	int nq = 0;
	while (f && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		int start = lineno;
		err_clear(&e);
		if (strcmp(line, "schema") == 0) {
			char *js = read_block(f, "end", &lineno);
			if (catalog_put_schema(cat, js, strlen(js), 1, NULL, &e) != 0)
				fail_at(path, start, "schema: %s", err_msg(&e));
			mem_free(js);
		} else if (strcmp(line, "table") == 0) {
			char *js = read_block(f, "end", &lineno);
			if (catalog_put_table(cat, js, strlen(js), 1, NULL, NULL, &e) != 0)
				fail_at(path, start, "table: %s", err_msg(&e));
			mem_free(js);
		} else if (strncmp(line, "rows ", 5) == 0) {
			char *rows = read_block(f, "end", &lineno);
			load_rows(cat, line + 5, rows, path, start);
			mem_free(rows);
		} else if (strncmp(line, "query", 5) == 0) {
			int rowsort = strstr(line, "rowsort") != NULL;
			const char *opt = strstr(line, "options=");
			QueryOpts qo = {0};
			if (opt)
				query_parse_options(opt + 8, &qo, &e);
			char *sql = read_block(f, "----", &lineno);
			char *expect = read_block(f, "", &lineno);
			ResultSet *rs = NULL;
			nq++;
			if (seal_mode && strstr(sql, "sys.") != NULL) {
				nq--;
			} else if (query_exec(cat, sql, &qo, &rs, &e) != 0) {
				fail_at(path, start, "query failed: %s\n  %s", err_msg(&e), sql);
			} else {
				Buf got;
				buf_init(&got);
				for (size_t r = 0; r < rs->nrows; r++) {
					for (int c = 0; c < rs->ncols; c++) {
						if (c)
							buf_putc(&got, '\t');
						fmt_value(&rs->rows[r * (size_t)rs->ncols + c], &got);
					}
					buf_putc(&got, '\n');
				}
				if (rs->partial)
					buf_puts(&got, "(partial)\n");
				char *g = got.p ? got.p : "";
				if (rowsort) {
					sort_lines(g);
					sort_lines(expect);
				}
				if (strcmp(g, expect) != 0)
					fail_at(path, start, "mismatch for\n  %s--- expected\n%s--- got\n%s", sql, expect, g);
				buf_free(&got);
				result_free(rs);
			}
			mem_free(sql);
			mem_free(expect);
		} else if (strncmp(line, "error ", 6) == 0) {
			int code = atoi(line + 6);
			const char *pp = strstr(line, "pos ");
			int pos = pp ? atoi(pp + 4) : -1;
			char *sql = read_block(f, "", &lineno);
			ResultSet *rs = NULL;
			nq++;
			int rc = query_exec(cat, sql, NULL, &rs, &e);
			if (rc == 0) {
				fail_at(path, start, "expected error %d, query succeeded:\n  %s", code, sql);
				result_free(rs);
			} else if (err_pinot_code(rc) != code && rc != -code) {
				fail_at(path, start, "expected error %d, got %d (%s): %s", code, err_pinot_code(rc),
					err_name(rc), err_msg(&e));
			} else if (pos >= 0 && e.pos != pos) {
				fail_at(path, start, "expected error position %d, got %d: %s", pos, e.pos, err_msg(&e));
			}
			mem_free(sql);
		} else {
			fail_at(path, lineno, "unknown directive: %s", line);
		}
	}
	if (f)
		fclose(f);
	fprintf(stderr, "%s: %d queries%s\n", path, nq, seal_mode ? " (rows in sealed segments)" : "");
	catalog_close(cat);
	file_remove_tree(dir, &e);
}

static void
test_sql_files(void **state)
{
	(void)state;
	const char *src = getenv("WB_SRC");
	char pat[1024];
	snprintf(pat, sizeof(pat), "%s/tests/sql/*.test", src ? src : ".");
	glob_t g;
	int rc = glob(pat, 0, NULL, &g);
	assert_int_equal(rc, 0);
	for (seal_mode = 0; seal_mode < 2; seal_mode++)
		for (size_t i = 0; i < g.gl_pathc; i++)
			run_file(g.gl_pathv[i]);
	globfree(&g);
	assert_int_equal(failures, 0);
}

static void
test_pinot_response(void **state)
{
	(void)state;
	char dir[] = "/tmp/wb-pinotresp-XXXXXX";
	assert_non_null(mkdtemp(dir));
	Catalog *cat;
	Err e;
	err_clear(&e);
	assert_int_equal(catalog_open(dir, &cat, &e), 0);
	Buf b;
	buf_init(&b);
	query_pinot_response(cat, "SELECT 1 + 1 AS two, 1.0 / 4, CAST('2014-01-01' AS TIMESTAMP), 'x'", NULL, &b);
	cJSON *j = cJSON_Parse(b.p);
	assert_non_null(j);
	cJSON *rt = cJSON_GetObjectItem(j, "resultTable");
	assert_non_null(rt);
	cJSON *types = cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "dataSchema"), "columnDataTypes");
	assert_string_equal(cJSON_GetArrayItem(types, 0)->valuestring, "INT");
	assert_string_equal(cJSON_GetArrayItem(types, 2)->valuestring, "TIMESTAMP");
	cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(rt, "rows"), 0);
	assert_int_equal(cJSON_GetArrayItem(row, 0)->valueint, 2);
	assert_string_equal(cJSON_GetArrayItem(row, 2)->valuestring, "2014-01-01 00:00:00.0");
	assert_int_equal(cJSON_GetObjectItem(j, "numServersQueried")->valueint, 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "exceptions")), 0);
	cJSON_Delete(j);
	buf_reset(&b);
	query_pinot_response(cat, "SELECT x FROM nosuch", "timeoutMs=100", &b);
	j = cJSON_Parse(b.p);
	assert_non_null(j);
	assert_null(cJSON_GetObjectItem(j, "resultTable"));
	cJSON *ex = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "exceptions"), 0);
	assert_int_equal(cJSON_GetObjectItem(ex, "errorCode")->valueint, 190);
	assert_non_null(strstr(cJSON_GetObjectItem(ex, "message")->valuestring, "position 15"));
	cJSON_Delete(j);
	buf_free(&b);
	catalog_close(cat);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_sql_files), cmocka_unit_test(test_pinot_response)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
