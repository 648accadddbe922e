/*
 * test_pgfuzz.c -- replays the fuzz corpora of the wire server in the
 * normal test build (gcc, ASan+UBSan), so what the fuzzer once found
 * stays fixed without clang or libFuzzer.
 *
 *   tests/fuzz/corpus/pgwire/    whole sessions through pgwire_fuzz,
 *                                against the catalog of fuzz_common.h
 *   tests/fuzz/corpus/pglex/     fz_pglex_one (lexer invariants)
 *   tests/fuzz/corpus/pgparam/   fz_param_one (Bind parameter literals)
 *   tests/fuzz/regressions/<target>-*  crash reproducers, by the same
 *                                target their name starts with
 *
 * An oracle's complaint fails the test naming the file; a crash, a leak
 * or a sanitizer report fails it too (the test runs under ASan).  The
 * corpus is found through WB_SRC (set by ctest), else the current
 * directory's ../.. (build-X/ inside the repository).  Regressions run
 * first and are named as they run; WB_FUZZ_VERBOSE=1 names every corpus
 * file too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../fuzz/fuzz_common.h"

static Catalog *cat;
static char dir[64];
static char root[1024];

static int
setup(void **state)
{
	(void)state;
	const char *src = getenv("WB_SRC");
	snprintf(root, sizeof(root), "%s/tests/fuzz", src && *src ? src : "../..");
	log_set_level(LOG_ERROR + 1);
	cat = fz_catalog_open(dir);
	return cat ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	fz_catalog_close(cat, dir);
	cat = NULL;
	log_set_level(LOG_INFO);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of path whose names start with prefix (NULL: all),
 * sorted; caller frees each and the array with mem_free. */
static char **
list_files(const char *path, const char *prefix, int *n)
{
	*n = 0;
	DIR *d = opendir(path);
	if (d == NULL)
		return NULL;
	char **names = NULL;
	int cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
			continue;
		if (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			names = mem_realloc(names, sizeof(char *) * (size_t)cap);
			assert_non_null(names);
		}
		names[(*n)++] = mem_strdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, (size_t)*n, sizeof(char *), cmp_names);
	return names;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	Buf b;
	buf_init(&b);
	char chunk[8192];
	size_t k;
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, k);
	fclose(f);
	*len = b.len;
	/* exactly len bytes (plus one so an empty file is not NULL): ASan
	 * then sees any read past the input's end */
	char *p = mem_alloc(b.len + 1);
	assert_non_null(p);
	if (b.len)
		memcpy(p, b.p, b.len);
	buf_free(&b);
	return p;
}

enum { T_PGWIRE, T_PGLEX, T_PGPARAM };

static int
run_one(int target, const char *path, int verbose)
{
	if (verbose)
		print_message("replaying %s\n", path);
	size_t len = 0;
	char *data = read_all(path, &len);
	if (data == NULL) {
		print_error("cannot read %s\n", path);
		return 1;
	}
	const char *bad = NULL;
	if (target == T_PGWIRE)
		pgwire_fuzz(cat, data, len);
	else if (target == T_PGLEX)
		bad = fz_pglex_one(data, len);
	else
		bad = fz_param_one(data, len);
	mem_free(data);
	if (bad) {
		print_error("%s: %s\n", path, bad);
		return 1;
	}
	return 0;
}

/* Replays dir/<prefix>*; returns the number of files.  verbose names
 * each file first (a sanitizer report ends the process without saying
 * which input it was). */
static int
replay(int target, const char *sub, const char *prefix, int verbose, int *failed)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", root, sub);
	int n;
	char **names = list_files(path, prefix, &n);
	for (int i = 0; i < n; i++) {
		char file[1500];
		snprintf(file, sizeof(file), "%s/%s", path, names[i]);
		*failed += run_one(target, file, verbose);
		mem_free(names[i]);
	}
	mem_free(names);
	return n;
}

static void
check_target(int target, const char *name, int min_corpus)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failed = 0;
	char sub[64], prefix[64];
	snprintf(sub, sizeof(sub), "corpus/%s", name);
	snprintf(prefix, sizeof(prefix), "%s-", name);
	int r = replay(target, "regressions", prefix, 1, &failed);
	int n = replay(target, sub, NULL, getenv("WB_FUZZ_VERBOSE") != NULL, &failed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("%s: %d corpus files, %d regressions, %.1f s\n", name, n, r,
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (n < min_corpus)
		fail_msg("%s/%s: %d files, expected at least %d (is WB_SRC set?)", root, sub, n, min_corpus);
	assert_int_equal(failed, 0);
}

static void
test_pgwire_corpus(void **state)
{
	(void)state;
	check_target(T_PGWIRE, "pgwire", 20);
}

static void
test_pglex_corpus(void **state)
{
	(void)state;
	check_target(T_PGLEX, "pglex", 5);
}

static void
test_pgparam_corpus(void **state)
{
	(void)state;
	check_target(T_PGPARAM, "pgparam", 5);
}

/* The oracles themselves: they accept what is right and catch what is
 * not, so a silent corpus replay means something. */
static void
test_oracles(void **state)
{
	(void)state;
	static const char sql[] = "SELECT 'a;b', $2; SELECT $$;$$ -- $9\n";
	assert_null(fz_pglex_one(sql, sizeof(sql) - 1));
	assert_null(fz_literal_check("'it''s'", 7));
	assert_null(fz_literal_check("(-5)", 4));
	assert_non_null(fz_literal_check("'open", 5));
	assert_non_null(fz_literal_check("1; DROP", 7));
	assert_non_null(fz_literal_check("$1", 2));
	assert_non_null(fz_literal_check("1 -- x", 6));
	assert_non_null(fz_literal_check("(1", 2));
	static const char p[] = {4, 0, '4', '2'};	/* int8 "42", text */
	assert_null(fz_param_one(p, sizeof(p)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracles),
		cmocka_unit_test(test_pglex_corpus),
		cmocka_unit_test(test_pgparam_corpus),
		cmocka_unit_test(test_pgwire_corpus),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
