/*
 * mem.c -- counted allocation with budgets and failure injection
 * (after Redis zmalloc and SQLite's fault-injection hooks).
 *
 * Each block is preceded by a 16-byte header { size, budget } so that
 * mem_free credits the same budget the block was charged to, whatever
 * thread frees it.  The global counter and budgets are atomics; there is
 * no lock.  A block of BIG_MIN bytes or more is a mapping of its own
 * (flag BIG in the header's size), advised to use huge pages (a fault
 * per 2 MiB, not per 4 KiB: costly on a virtual machine) and grown by
 * mremap without a copy -- a group table of millions of groups doubles
 * its arrays several times per query.  Failure injection uses a global countdown, meant for
 * single-threaded unit tests.
 *
 * Exports: mem_alloc, mem_calloc, mem_realloc, mem_free, mem_strdup,
 * mem_strndup, mem_alloc_or_die, mem_used, mem_fail_nth, mem_budget_set,
 * mem_budget_init.
 */
#define _GNU_SOURCE
#include "base/mem.h"
#include "base/panic.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG_MIN ((size_t)32 << 20)
#define BIG ((size_t)1 << (sizeof(size_t) * 8 - 1))
#define PAGE ((size_t)4096)

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

static size_t
map_len(size_t n)
{
	return (sizeof(MemHdr) + n + PAGE - 1) & ~(PAGE - 1);
}

/* The huge-page advice for mapping m of len bytes: the whole mapping,
 * so it stays one area (mremap moves only a single area); the kernel
 * uses huge pages where 2 MiB-aligned ranges fit. */
static void
advise_huge(void *m, size_t len)
{
#ifdef MADV_HUGEPAGE
	(void)madvise(m, len, MADV_HUGEPAGE);
#else
	(void)m;
	(void)len;
#endif
}

/* A mapping for an n-byte block (zero-filled); NULL on failure. */
static MemHdr *
big_map(size_t n)
{
	size_t len = map_len(n);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	advise_huge(m, len);
	return m;
}

static void *
alloc(size_t n, int zero)
{
	MemBudget *b = mem_cur_budget;
	if (n > SIZE_MAX / 2 - PAGE || charge(b, n) != 0)
		return NULL;
	MemHdr *h;
	size_t flag = 0;
	if (n >= BIG_MIN) {
		h = big_map(n);
		flag = BIG;
	} else {
		h = zero ? calloc(1, sizeof(MemHdr) + n) : malloc(sizeof(MemHdr) + n);
	}
	if (h == NULL) {
		credit(b, n);
		return NULL;
	}
	h->size = n | flag;
	h->budget = b;
	return h + 1;
}

void *
mem_alloc(size_t n)
{
	return alloc(n, 0);
}

void *
mem_calloc(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	return alloc(count * size, 1);
}

void *
mem_realloc(void *p, size_t n)
{
	if (p == NULL)
		return mem_alloc(n);
	MemHdr *h = (MemHdr *)p - 1;
	size_t old = h->size & ~BIG;
	int big = (h->size & BIG) != 0;
	MemBudget *b = h->budget;
	if (n > SIZE_MAX / 2 - PAGE)
		return NULL;
	if (n > old && charge(b, n - old) != 0)
		return NULL;
	MemHdr *nh;
	if (big) {
		void *m = mremap(h, map_len(old), map_len(n), MREMAP_MAYMOVE);
		nh = m == MAP_FAILED ? NULL : m;
		if (nh != NULL && n > old)
			advise_huge(nh, map_len(n));
	} else if (n >= BIG_MIN) {
		if ((nh = big_map(n)) != NULL) {
			memcpy(nh, h, sizeof(MemHdr) + old);
			free(h);
			big = 1;
		}
	} else {
		nh = realloc(h, sizeof(MemHdr) + n);
	}
	if (nh == NULL) {
		if (n > old)
			credit(b, n - old);
		return NULL;
	}
	if (n < old)
		credit(b, old - n);
	nh->size = n | (big ? BIG : 0);
	return nh + 1;
}

void
mem_free(void *p)
{
	if (p == NULL)
		return;
	MemHdr *h = (MemHdr *)p - 1;
	size_t n = h->size & ~BIG;
	credit(h->budget, n);
	if (h->size & BIG)
		munmap(h, map_len(n));
	else
		free(h);
}

char *
mem_strndup(const char *s, size_t n)
{
	char *d = mem_alloc(n + 1);
	if (d) {
		if (n)
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
