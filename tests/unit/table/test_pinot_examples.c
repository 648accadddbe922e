/*
 * test_pinot_examples.c -- every Pinot example schema and table config in
 * $WB_SHARED/pinot-examples parses, and every table config whose schema
 * lies in the same directory passes tblconfig_check_schema.
 *
 * Walker rules (applied to every regular file, recursively):
 *   1. Directories "rawdata" (datasets) and "multistage-query-tests"
 *      (query cases whose schemas are inline, not schema files) are not
 *      entered.
 *   2. Only names ending in ".json" or ".schema" are considered.
 *   3. Deliberate skips, checked first (see skip_rules[] for the reason of
 *      each): broker responses, CSV record-reader configs, stream-config
 *      fragments of the compatibility verifier, column annotations, and
 *      data files ("*_data.json", "*_data_reduced.json").
 *   4. A schema is "*.schema" or "*schema*.json".
 *   5. A table config is a ".json" whose name contains "table_config",
 *      "table-config" or "create-table", ends in "_config.json", starts
 *      with "feature-test-", or sits in a "testConfigs" directory.
 *   6. Any other ".json"/".schema" file fails the test as unclassified, so
 *      a new example file cannot be silently ignored.
 * A config is checked against the schema of the same directory whose
 * schemaName equals the config's schema name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/mem.h"
#include "table/schema.h"
#include "table/tblconfig.h"

typedef struct SkipRule {
	const char *pattern;	/* fnmatch pattern on the base name */
	const char *reason;
} SkipRule;

static const SkipRule skip_rules[] = {
	{"sample-broker-response.json", "a broker query response, not a config"},
	{"recordReaderConfig*.json", "CSV record-reader settings of the compatibility verifier"},
	{"*-stream-config.json", "stream-config fragment used by the verifier's stream operation"},
	{"chaos-monkey-schema-annotations.json", "column value-generation annotations (a JSON array)"},
	{"*_data.json", "dataset (JSON rows)"},
	{"*_data_reduced.json", "dataset (NDJSON rows)"},
};

typedef struct Doc {
	char path[1024];
	char dir[1024];
	Schema *schema;		/* when it is a schema */
	TableConfig *config;	/* when it is a table config */
} Doc;

typedef struct Walk {
	Doc *docs;
	int n, cap;
	int nschemas, nconfigs, nskipped, nfailed;
} Walk;

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static int
is_skipped(const char *name)
{
	for (size_t i = 0; i < sizeof(skip_rules) / sizeof(skip_rules[0]); i++)
		if (fnmatch(skip_rules[i].pattern, name, 0) == 0)
			return 1;
	return 0;
}

static int
is_schema(const char *name)
{
	return ends_with(name, ".schema") || (ends_with(name, ".json") && strstr(name, "schema"));
}

static int
is_config(const char *dir, const char *name)
{
	if (!ends_with(name, ".json"))
		return 0;
	return strstr(name, "table_config") || strstr(name, "table-config") ||
	       strstr(name, "create-table") || ends_with(name, "_config.json") ||
	       strncmp(name, "feature-test-", 13) == 0 || strcmp(base_name(dir), "testConfigs") == 0;
}

static void
visit_file(Walk *w, const char *dir, const char *path)
{
	const char *name = base_name(path);
	if (!ends_with(name, ".json") && !ends_with(name, ".schema"))
		return;
	if (is_skipped(name)) {
		w->nskipped++;
		return;
	}
	int schema = is_schema(name), config = !schema && is_config(dir, name);
	if (!schema && !config) {
		print_error("unclassified example file: %s\n", path);
		w->nfailed++;
		return;
	}
	char *text;
	size_t len;
	Err e = {0};
	if (file_read_all(path, &text, &len, &e) != 0) {
		print_error("%s: %s\n", path, err_msg(&e));
		w->nfailed++;
		return;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->docs = mem_realloc(w->docs, sizeof(Doc) * (size_t)w->cap);
		assert_non_null(w->docs);
	}
	Doc *d = &w->docs[w->n];
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	int rc = schema ? schema_parse(text, len, &d->schema, &e)
			: tblconfig_parse(text, len, &d->config, &e);
	mem_free(text);
	if (rc != 0) {
		print_error("%s: %s\n", path, err_msg(&e));
		w->nfailed++;
		return;
	}
	if (schema)
		w->nschemas++;
	else
		w->nconfigs++;
	w->n++;
}

static void
walk_dir(Walk *w, const char *dir)
{
	DIR *dp = opendir(dir);
	assert_non_null(dp);
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(de->d_name, "rawdata") != 0 &&
			    strcmp(de->d_name, "multistage-query-tests") != 0)
				walk_dir(w, path);
		} else if (S_ISREG(st.st_mode)) {
			visit_file(w, dir, path);
		}
	}
	closedir(dp);
}

static void
test_all_examples(void **state)
{
	(void)state;
	const char *shared = getenv("WB_SHARED");
	if (shared == NULL)
		shared = "/work/shared";
	char root[1024];
	snprintf(root, sizeof(root), "%s/pinot-examples", shared);
	Walk w = {0};
	walk_dir(&w, root);

	int checked = 0;
	for (int i = 0; i < w.n; i++) {
		TableConfig *c = w.docs[i].config;
		if (c == NULL)
			continue;
		for (int j = 0; j < w.n; j++) {
			Schema *s = w.docs[j].schema;
			if (s == NULL || strcmp(w.docs[j].dir, w.docs[i].dir) != 0 ||
			    strcmp(s->name, c->schema_name) != 0)
				continue;
			Err e = {0};
			if (tblconfig_check_schema(c, s, &e) != 0) {
				print_error("%s against %s: %s\n", w.docs[i].path, w.docs[j].path,
					    err_msg(&e));
				w.nfailed++;
			}
			checked++;
			break;
		}
	}
	print_message("pinot-examples: %d schemas, %d table configs parsed, %d config/schema "
		      "pairs checked, %d files skipped deliberately\n",
		      w.nschemas, w.nconfigs, checked, w.nskipped);
	for (int i = 0; i < w.n; i++) {
		schema_unref(w.docs[i].schema);
		tblconfig_free(w.docs[i].config);
	}
	mem_free(w.docs);
	assert_int_equal(w.nfailed, 0);
	/* the tree holds 74 schemas and 70 table configs: a walker that finds
	 * far fewer is broken */
	assert_true(w.nschemas >= 70);
	assert_true(w.nconfigs >= 65);
	assert_true(checked >= 55);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
