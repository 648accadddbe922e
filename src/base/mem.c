/*
 * mem.c -- counted allocation with budgets and failure injection
 * (after Redis zmalloc and SQLite's fault-injection hooks).
 *
 * Each block is preceded by a 16-byte header { size, budget } so that
 * mem_free credits the same budget the block was charged to, whatever
 * thread frees it.  The global counter and budgets are atomics; there is
 * no lock.  Failure injection uses a global countdown, meant for
 * single-threaded unit tests.
 *
 * Exports: mem_alloc, mem_calloc, mem_realloc, mem_free, mem_strdup,
 * mem_strndup, mem_alloc_or_die, mem_used, mem_fail_nth, mem_budget_set,
 * mem_budget_init.
 */
#include "base/mem.h"
#include "base/panic.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct MemHdr {
	size_t size;
	MemBudget *budget;
} MemHdr;

static _Atomic size_t mem_total;
static _Atomic long mem_fail_countdown;
static _Thread_local MemBudget *mem_cur_budget;

static int
charge(MemBudget *b, size_t n)
{
	long c = atomic_load_explicit(&mem_fail_countdown, memory_order_relaxed);
	if (c > 0 && atomic_fetch_sub(&mem_fail_countdown, 1) == 1)
		return -1;
	if (b) {
		size_t used = atomic_fetch_add(&b->used, n) + n;
		if (b->limit && used > b->limit) {
			atomic_fetch_sub(&b->used, n);
			atomic_store(&b->exceeded, 1);
			return -1;
		}
		size_t peak = atomic_load(&b->peak);
		while (used > peak && !atomic_compare_exchange_weak(&b->peak, &peak, used))
			;
	}
	atomic_fetch_add_explicit(&mem_total, n, memory_order_relaxed);
	return 0;
}

static void
credit(MemBudget *b, size_t n)
{
	if (b)
		atomic_fetch_sub(&b->used, n);
	atomic_fetch_sub_explicit(&mem_total, n, memory_order_relaxed);
}

void *
mem_alloc(size_t n)
{
	MemBudget *b = mem_cur_budget;
	if (n > SIZE_MAX - sizeof(MemHdr) || charge(b, n) != 0)
		return NULL;
	MemHdr *h = malloc(sizeof(MemHdr) + n);
	if (h == NULL) {
		credit(b, n);
		return NULL;
	}
	h->size = n;
	h->budget = b;
	return h + 1;
}

void *
mem_calloc(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	void *p = mem_alloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void *
mem_realloc(void *p, size_t n)
{
	if (p == NULL)
		return mem_alloc(n);
	MemHdr *h = (MemHdr *)p - 1;
	size_t old = h->size;
	MemBudget *b = h->budget;
	if (n > old) {
		if (n > SIZE_MAX - sizeof(MemHdr) || charge(b, n - old) != 0)
			return NULL;
	}
	MemHdr *nh = realloc(h, sizeof(MemHdr) + n);
	if (nh == NULL) {
		if (n > old)
			credit(b, n - old);
		return NULL;
	}
	if (n < old)
		credit(b, old - n);
	nh->size = n;
	return nh + 1;
}

void
mem_free(void *p)
{
	if (p == NULL)
		return;
	MemHdr *h = (MemHdr *)p - 1;
	credit(h->budget, h->size);
	free(h);
}

char *
mem_strndup(const char *s, size_t n)
{
	char *d = mem_alloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *
mem_strdup(const char *s)
{
	return mem_strndup(s, strlen(s));
}

void *
mem_alloc_or_die(size_t n)
{
	void *p = mem_alloc(n);
	if (p == NULL)
		PANIC("out of memory allocating %zu bytes", n);
	return p;
}

size_t mem_used(void) { return atomic_load(&mem_total); }
void mem_fail_nth(long n) { atomic_store(&mem_fail_countdown, n); }

MemBudget *
mem_budget_set(MemBudget *b)
{
	MemBudget *old = mem_cur_budget;
	mem_cur_budget = b;
	return old;
}

void
mem_budget_init(MemBudget *b, size_t limit)
{
	atomic_store(&b->used, 0);
	atomic_store(&b->peak, 0);
	atomic_store(&b->exceeded, 0);
	b->limit = limit;
}
