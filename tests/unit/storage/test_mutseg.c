/*
 * test_mutseg.c -- the mutable segment: typed appends, nulls, multi-value,
 * dictionaries, publish visibility, and a concurrent reader that must never
 * see a half-written row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "storage/mutseg.h"

static void
test_types_and_nulls(void **state)
{
	ColDesc cols[] = {{TYPE_INT, 0}, {TYPE_DOUBLE, 0}, {TYPE_STRING, 0},
			  {TYPE_STRING, 1}, {TYPE_LONG, 1}};
	MutSeg *s = mutseg_create(5, cols);
	assert_non_null(s);
	RowBatch b;
	rowbatch_init(&b, 5);
	for (int i = 0; i < 200000; i++) {
		Value *r = rowbatch_add_row(&b);
		r[0] = value_int(TYPE_INT, i);
		r[1] = value_double(TYPE_DOUBLE, i * 0.5);
		char tmp[16];
		int n = snprintf(tmp, sizeof(tmp), "k%d", i % 7);
		r[2] = value_str(TYPE_STRING, arena_strndup(&b.arena, tmp, (size_t)n), (uint32_t)n);
		if (i % 3 == 0) {
			r[3] = value_null(TYPE_STRING);
		} else {
			Value *mv = arena_alloc(&b.arena, 2 * sizeof(Value));
			mv[0] = value_str(TYPE_STRING, "a", 1);
			mv[1] = value_str(TYPE_STRING, "b", 1);
			r[3] = value_str(TYPE_STRING, NULL, 2);
			r[3].mv = 1;
			r[3].u.mv = mv;
		}
		if (i % 5 == 0)
			r[0].null = 1;
		r[4] = value_int(TYPE_LONG, i);	/* scalar into an MV column */
	}
	Err e = {0};
	assert_int_equal(mutseg_append(s, &b, &e), 0);
	assert_int_equal(mutseg_rows(s), 0);
	mutseg_publish(s);
	assert_int_equal(mutseg_rows(s), 200000);
	const MutCol *c0 = mutseg_col(s, 0), *c2 = mutseg_col(s, 2), *c3 = mutseg_col(s, 3);
	assert_int_equal(mutcol_dict_size(c2), 7);
	Arena a;
	arena_init(&a, 0);
	for (size_t i = 0; i < 200000; i += 997) {
		Value v;
		mutcol_value(c0, i, &v, &a);
		assert_int_equal(v.null, i % 5 == 0);
		if (!v.null)
			assert_int_equal(v.u.i, (int64_t)i);
		mutcol_value(c2, i, &v, &a);
		char tmp[16];
		snprintf(tmp, sizeof(tmp), "k%zu", i % 7);
		assert_int_equal(v.n, strlen(tmp));
		assert_memory_equal(v.u.s, tmp, v.n);
		mutcol_value(c3, i, &v, &a);
		assert_int_equal(v.null, i % 3 == 0);
		if (!v.null) {
			assert_int_equal(v.n, 2);
			assert_memory_equal(v.u.mv[1].u.s, "b", 1);
		}
		mutcol_value(mutseg_col(s, 4), i, &v, &a);
		assert_int_equal(v.n, 1);
		assert_int_equal(v.u.mv[0].u.i, (int64_t)i);
	}
	const int32_t *d = mutcol_data(c0, 65536);
	assert_int_equal(d[1], 65537);
	assert_int_not_equal(mutcol_dict_find(c2, "k3", 2), UINT32_MAX);
	assert_int_equal(mutcol_dict_find(c2, "zz", 2), UINT32_MAX);
	arena_free(&a);
	rowbatch_free(&b);
	mutseg_free(s);
	assert_int_equal(mem_used(), 0);
}

typedef struct Shared {
	MutSeg *s;
	volatile int stop;
	long bad;
} Shared;

static void *
reader(void *arg)
{
	Shared *sh = arg;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		size_t n = mutseg_rows(sh->s);
		const MutCol *a = mutseg_col(sh->s, 0), *b = mutseg_col(sh->s, 1);
		for (size_t i = n > 1000 ? n - 1000 : 0; i < n; i++) {
			int64_t x = *(const int64_t *)mutcol_data(a, i);
			uint32_t id = *(const uint32_t *)mutcol_data(b, i), len;
			if (id >= mutcol_dict_size(b)) {
				sh->bad++;
				continue;
			}
			const char *p = mutcol_dict_get(b, id, &len);
			char tmp[32];
			int m = snprintf(tmp, sizeof(tmp), "%lld", (long long)x);
			if (x != (int64_t)i || len != (uint32_t)m || memcmp(p, tmp, len) != 0)
				sh->bad++;
		}
	}
	return NULL;
}

static void
test_concurrent_reader(void **state)
{
	ColDesc cols[] = {{TYPE_LONG, 0}, {TYPE_STRING, 0}};
	Shared sh = {mutseg_create(2, cols), 0, 0};
	pthread_t th;
	pthread_create(&th, NULL, reader, &sh);
	RowBatch b;
	rowbatch_init(&b, 2);
	size_t row = 0;
	for (int batch = 0; batch < 300; batch++) {
		rowbatch_reset(&b);
		for (int i = 0; i < 1000; i++, row++) {
			Value *r = rowbatch_add_row(&b);
			r[0] = value_int(TYPE_LONG, (int64_t)row);
			char *t = arena_printf(&b.arena, "%zu", row);
			r[1] = value_str(TYPE_STRING, t, (uint32_t)strlen(t));
		}
		Err e = {0};
		assert_int_equal(mutseg_append(sh.s, &b, &e), 0);
		mutseg_publish(sh.s);
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(sh.bad, 0);
	rowbatch_free(&b);
	mutseg_free(sh.s);
}

static void *
null_reader(void *arg)
{
	Shared *sh = arg;
	unsigned seed = 1;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		size_t n = mutseg_rows(sh->s);
		const MutCol *a = mutseg_col(sh->s, 0);
		(void)mutseg_bytes(sh->s);
		for (int k = 0; n && k < 200; k++) {
			size_t i = k == 0 ? n - 1 : (size_t)rand_r(&seed) % n;
			if (mutcol_is_null(a, i) != (i % 50000 == 7))
				sh->bad++;
			size_t r0 = i & ~(size_t)63, m = n - r0 < 64 ? n - r0 : 64;
			uint64_t w = 0, want = 0;
			for (size_t k = 0; k < m; k++)
				if ((r0 + k) % 50000 == 7)
					want |= (uint64_t)1 << k;
			if (mutcol_nulls_load(a, r0, m, &w) != (want != 0) || (want && w != want))
				sh->bad++;
		}
	}
	return NULL;
}

/* Regression: readers checked the null vector's directory capacity with a
 * plain load while the writer grew the directory, so a reader could pair
 * an old directory with the new capacity and read past its end (a data
 * race under TSan); mutseg_bytes also read the writer's counters. */
static void
test_concurrent_null_directory_growth(void **state)
{
	ColDesc cols[] = {{TYPE_LONG, 0}};
	Shared sh = {mutseg_create(1, cols), 0, 0};
	pthread_t th;
	pthread_create(&th, NULL, null_reader, &sh);
	RowBatch b;
	rowbatch_init(&b, 1);
	size_t row = 0;
	for (int batch = 0; batch < 700; batch++) {
		rowbatch_reset(&b);
		for (int i = 0; i < 1000; i++, row++) {
			Value *r = rowbatch_add_row(&b);
			r[0] = row % 50000 == 7 ? value_null(TYPE_LONG) : value_int(TYPE_LONG, (int64_t)row);
		}
		Err e = {0};
		assert_int_equal(mutseg_append(sh.s, &b, &e), 0);
		mutseg_publish(sh.s);
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(sh.bad, 0);
	assert_true(mutseg_bytes(sh.s) > 700000 * 8);
	rowbatch_free(&b);
	mutseg_free(sh.s);
}

static void
fill_mixed(RowBatch *b, size_t from, size_t n)
{
	rowbatch_reset(b);
	for (size_t i = from; i < from + n; i++) {
		Value *r = rowbatch_add_row(b);
		char *t = arena_printf(&b->arena, "s%zu", i);
		r[0] = i % 3 == 0 ? value_null(TYPE_STRING) : value_str(TYPE_STRING, t, (uint32_t)strlen(t));
		Value *mv = arena_alloc(&b->arena, 2 * sizeof(Value));
		mv[0] = value_int(TYPE_LONG, (int64_t)i);
		mv[1] = value_int(TYPE_LONG, -(int64_t)i);
		r[1] = value_int(TYPE_LONG, 0);
		r[1].mv = 1;
		r[1].n = i % 4 == 0 ? 0 : 2;
		r[1].u.mv = mv;
		if (i % 5 == 0)
			r[1] = value_null(TYPE_LONG);
	}
}

static void
check_mixed(const MutSeg *s, size_t n)
{
	Arena a;
	arena_init(&a, 0);
	assert_int_equal(mutseg_rows(s), n);
	for (size_t i = 0; i < n; i++) {
		Value v;
		assert_int_equal(mutcol_value(mutseg_col(s, 0), i, &v, &a), 0);
		assert_int_equal(v.null, i % 3 == 0);
		if (!v.null) {
			char t[32];
			snprintf(t, sizeof(t), "s%zu", i);
			assert_int_equal(v.n, strlen(t));
			assert_memory_equal(v.u.s, t, v.n);
		}
		assert_int_equal(mutcol_value(mutseg_col(s, 1), i, &v, &a), 0);
		assert_int_equal(v.null, i % 5 == 0);
		if (!v.null) {
			assert_int_equal(v.n, i % 4 == 0 ? 0 : 2);
			if (v.n)
				assert_int_equal(v.u.mv[1].u.i, -(int64_t)i);
		}
	}
	arena_free(&a);
}

/* Every allocation of an append failing in turn: the append fails cleanly,
 * published rows are intact, and the next append works (fault test). */
static void
test_append_allocation_failures(void **state)
{
	ColDesc cols[] = {{TYPE_STRING, 0}, {TYPE_LONG, 1}};
	RowBatch b;
	rowbatch_init(&b, 2);
	int failures = 0, succeeded = 0;
	for (long nth = 1; nth < 200; nth++) {
		MutSeg *s = mutseg_create(2, cols);
		assert_non_null(s);
		Err e = {0};
		fill_mixed(&b, 0, 100);
		assert_int_equal(mutseg_append(s, &b, &e), 0);
		mutseg_publish(s);
		fill_mixed(&b, 100, 70000);	/* crosses a chunk: new chunks, dict growth */
		mem_fail_nth(nth);
		int rc = mutseg_append(s, &b, &e);
		mem_fail_nth(0);
		if (rc == 0) {
			mutseg_publish(s);
			check_mixed(s, 70100);
			mutseg_free(s);
			succeeded = 1;
			break;
		}
		failures++;
		assert_int_equal(rc, ERR_NOMEM);
		check_mixed(s, 100);
		assert_int_equal(mutseg_append(s, &b, &e), 0);
		mutseg_publish(s);
		check_mixed(s, 70100);
		mutseg_free(s);
	}
	assert_true(failures >= 5 && succeeded);
	rowbatch_free(&b);
	assert_int_equal(mem_used(), 0);
}

static void
test_wal_encoding_roundtrip(void **state)
{
	RowBatch b, c;
	rowbatch_init(&b, 3);
	rowbatch_init(&c, 3);
	Value *r = rowbatch_add_row(&b);
	r[0] = value_int(TYPE_INT, -5);
	r[1] = value_str(TYPE_BYTES, "\x00\x01", 2);
	Value mv[2] = {value_double(TYPE_DOUBLE, 1.5), value_double(TYPE_DOUBLE, -2)};
	r[2] = value_null(TYPE_DOUBLE);
	r[2].null = 0;
	r[2].mv = 1;
	r[2].n = 2;
	r[2].u.mv = mv;
	rowbatch_add_row(&b);	/* all NULL */
	Buf out;
	buf_init(&out);
	rowbatch_encode(&b, &out);
	Err e = {0};
	assert_int_equal(rowbatch_decode(&c, out.p, out.len, &e), 0);
	assert_int_equal(c.nrows, 2);
	assert_int_equal(rowbatch_row(&c, 0)[0].u.i, -5);
	assert_int_equal(rowbatch_row(&c, 0)[1].n, 2);
	assert_true(rowbatch_row(&c, 0)[2].u.mv[1].u.d == -2);
	assert_true(rowbatch_row(&c, 1)[1].null);
	/* every truncation is rejected, never over-read */
	for (size_t cut = 0; cut < out.len; cut++) {
		RowBatch d;
		rowbatch_init(&d, 3);
		Err e2 = {0};
		assert_int_equal(rowbatch_decode(&d, out.p, cut, &e2), ERR_CORRUPT);
		rowbatch_free(&d);
	}
	/* a row count the bytes cannot hold is refused up front, before any
	 * row is added */
	uint32_t forged[3] = {0x7fffffffu, 3, 0};
	RowBatch f;
	rowbatch_init(&f, 3);
	Err e3 = {0};
	assert_int_equal(rowbatch_decode(&f, (const char *)forged, sizeof(forged), &e3), ERR_CORRUPT);
	assert_non_null(strstr(e3.msg, "claims"));
	assert_int_equal(f.nrows, 0);
	rowbatch_free(&f);
	buf_free(&out);
	rowbatch_free(&b);
	rowbatch_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_and_nulls),
		cmocka_unit_test(test_concurrent_reader),
		cmocka_unit_test(test_concurrent_null_directory_growth),
		cmocka_unit_test(test_append_allocation_failures),
		cmocka_unit_test(test_wal_encoding_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
