/*
 * test_base.c -- the foundation: allocation accounting, budgets and
 * failure injection, arenas, buffers, the error table, the worker pool and
 * atomic file replacement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/pool.h"

static void
test_mem_accounting(void **state)
{
	size_t before = mem_used();
	char *p = mem_alloc(1000);
	assert_non_null(p);
	assert_int_equal(mem_used(), before + 1000);
	p = mem_realloc(p, 5000);
	assert_int_equal(mem_used(), before + 5000);
	p = mem_realloc(p, 10);
	assert_int_equal(mem_used(), before + 10);
	mem_free(p);
	assert_int_equal(mem_used(), before);
	char *s = mem_strndup("hello world", 5);
	assert_string_equal(s, "hello");
	mem_free(s);
}

static void
test_mem_budget(void **state)
{
	MemBudget b;
	mem_budget_init(&b, 10000);
	MemBudget *old = mem_budget_set(&b);
	void *a = mem_alloc(6000);
	assert_non_null(a);
	assert_null(mem_alloc(6000));	/* would exceed the budget */
	assert_true(atomic_load(&b.exceeded));
	void *c = mem_alloc(3000);
	assert_non_null(c);
	mem_budget_set(old);
	/* freeing from outside the budget still credits it */
	mem_free(a);
	mem_free(c);
	assert_int_equal(atomic_load(&b.used), 0);
	assert_int_equal(atomic_load(&b.peak), 9000);
}

/* Blocks of 32 MiB and more are mappings of their own: calloc'd ones
 * read zero, contents survive growing (mremap) and shrinking, the
 * small-to-big and big-to-small transitions keep the bytes, and the
 * budget is charged and credited like any block. */
static void
test_mem_big_blocks(void **state)
{
	(void)state;
	size_t before = mem_used();
	size_t mib = (size_t)1 << 20;
	unsigned char *z = mem_calloc(40, mib);
	assert_non_null(z);
	for (size_t i = 0; i < 40 * mib; i += 4093)
		assert_int_equal(z[i], 0);
	mem_free(z);
	unsigned char *p = mem_alloc(1000);
	assert_non_null(p);
	memset(p, 7, 1000);
	p = mem_realloc(p, 33 * mib);	/* small -> big */
	assert_non_null(p);
	assert_int_equal(mem_used(), before + 33 * mib);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(p[i], 7);
	memset(p, 9, 33 * mib);
	p = mem_realloc(p, 130 * mib);	/* big -> bigger */
	assert_non_null(p);
	assert_int_equal(p[0], 9);
	assert_int_equal(p[33 * mib - 1], 9);
	p[130 * mib - 1] = 1;
	p = mem_realloc(p, 100);	/* big -> small size, still a mapping */
	assert_non_null(p);
	assert_int_equal(p[99], 9);
	assert_int_equal(mem_used(), before + 100);
	mem_free(p);
	assert_int_equal(mem_used(), before);
	MemBudget b;
	mem_budget_init(&b, 64 * mib);
	MemBudget *old = mem_budget_set(&b);
	void *a = mem_alloc(40 * mib);
	assert_non_null(a);
	assert_null(mem_alloc(40 * mib));	/* past the budget */
	assert_null(mem_realloc(a, 80 * mib));	/* a stays valid */
	mem_budget_set(old);
	mem_free(a);
	assert_int_equal(atomic_load(&b.used), 0);
}

/* arena_steal: what src handed out lives on in dst; src is reusable. */
static void
test_arena_steal(void **state)
{
	(void)state;
	Arena dst, src;
	arena_init(&dst, 256);
	arena_init(&src, 256);
	char *d1 = arena_strdup(&dst, "kept");
	char *s1 = arena_strdup(&src, "moved");
	char *big = arena_alloc(&src, 4096);	/* a one-off block */
	assert_non_null(big);
	memset(big, 'x', 4096);
	arena_steal(&dst, &src);
	assert_null(src.head);
	assert_int_equal(src.total, 0);
	char *s2 = arena_strdup(&src, "again");
	assert_string_equal(s2, "again");
	char *d2 = arena_strdup(&dst, "more");
	assert_string_equal(d1, "kept");
	assert_string_equal(s1, "moved");
	assert_string_equal(d2, "more");
	assert_int_equal(big[4095], 'x');
	arena_steal(&dst, &src);
	arena_steal(&dst, &src);	/* empty src: nothing */
	assert_string_equal(s2, "again");
	arena_free(&dst);
	arena_free(&src);
}

static void
test_mem_fail_injection(void **state)
{
	mem_fail_nth(3);
	void *a = mem_alloc(10), *b = mem_alloc(10), *c = mem_alloc(10), *d = mem_alloc(10);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(c);
	assert_non_null(d);
	mem_fail_nth(0);
	mem_free(a);
	mem_free(b);
	mem_free(d);
}

static void
test_arena(void **state)
{
	size_t before = mem_used();
	Arena a;
	arena_init(&a, 1024);
	for (int i = 0; i < 1000; i++) {
		char *s = arena_printf(&a, "item-%d", i);
		assert_string_equal(s, (snprintf((char[32]){0}, 32, "item-%d", i), s));
		assert_int_equal(((uintptr_t)arena_alloc(&a, 3)) % 8, 0);
	}
	void *big = arena_alloc(&a, 100000);
	assert_non_null(big);
	memset(big, 1, 100000);
	arena_reset(&a);
	assert_int_equal(a.total, 0);
	assert_non_null(arena_alloc(&a, 16));
	arena_free(&a);
	assert_int_equal(mem_used(), before);
}

static void
test_buf_json(void **state)
{
	Buf b;
	buf_init(&b);
	buf_json_str(&b, "a\"b\\c\n\x01", 7);
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u0001\"");
	buf_reset(&b);
	buf_json_double(&b, 0.1);
	buf_putc(&b, ' ');
	buf_json_double(&b, 3.0);
	buf_putc(&b, ' ');
	buf_json_double(&b, -1.0 / 0.0);
	assert_string_equal(b.p, "0.1 3.0 \"-Infinity\"");
	buf_free(&b);
}

static void
test_err_table(void **state)
{
	assert_string_equal(err_name(ERR_SQL_PARSE), "ERR_SQL_PARSE");
	assert_int_equal(err_pinot_code(ERR_SQL_PARSE), 150);
	assert_int_equal(err_pinot_code(ERR_TABLE_MISSING), 190);
	assert_int_equal(err_pinot_code(ERR_COLUMN_MISSING), 710);
	assert_int_equal(err_pinot_code(ERR_TIMEOUT), 250);
	assert_string_equal(err_sqlstate(ERR_COLUMN_MISSING), "42703");
	assert_int_equal(err_http_status(ERR_NOT_FOUND), 404);
	Err e = {0};
	assert_int_equal(err_set(&e, ERR_IO, "disk %d", 7), ERR_IO);
	err_set(&e, ERR_NOMEM, "second error does not overwrite");
	assert_string_equal(err_msg(&e), "disk 7");
	err_reset(&e, ERR_NOMEM, NULL);
	assert_string_equal(err_msg(&e), "out of memory");
}

static _Atomic long pool_sum;

static void
add_i(void *arg, int i)
{
	atomic_fetch_add(&pool_sum, i);
}

static void
test_pool(void **state)
{
	Pool *p = pool_create(3);
	assert_non_null(p);
	for (int round = 0; round < 200; round++) {
		atomic_store(&pool_sum, 0);
		pool_run(p, 1000, add_i, NULL);
		assert_int_equal(atomic_load(&pool_sum), 999 * 1000 / 2);
	}
	pool_destroy(p);
}

static void
test_file_atomic(void **state)
{
	char dir[] = "/tmp/wbtest-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[256], path[300];
	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	Err e = {0};
	assert_int_equal(file_mkdirs(sub, &e), 0);
	snprintf(path, sizeof(path), "%s/x.json", sub);
	assert_int_equal(file_write_atomic(path, "one", 3, &e), 0);
	assert_int_equal(file_write_atomic(path, "second", 6, &e), 0);
	char *data;
	size_t len;
	assert_int_equal(file_read_all(path, &data, &len, &e), 0);
	assert_int_equal(len, 6);
	assert_string_equal(data, "second");
	mem_free(data);
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_false(file_exists(tmp));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(file_read_all(path, &data, &len, &e), ERR_NOT_FOUND);
	assert_int_equal(file_remove_tree(dir, &e), 0);
	assert_false(file_exists(dir));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_accounting), cmocka_unit_test(test_mem_budget),
		cmocka_unit_test(test_mem_big_blocks),
		cmocka_unit_test(test_arena_steal),
		cmocka_unit_test(test_mem_fail_injection), cmocka_unit_test(test_arena),
		cmocka_unit_test(test_buf_json), cmocka_unit_test(test_err_table),
		cmocka_unit_test(test_pool), cmocka_unit_test(test_file_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
