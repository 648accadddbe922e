/*
 * mem.h -- the one allocation wrapper.
 *
 * Every heap allocation in Waybill goes through mem_*.  Each block carries
 * a small header with its size and the budget it was charged to, so bytes
 * are counted globally and against the calling thread's current budget (a
 * query's, an ingest job's).  mem_alloc returns NULL when the allocator
 * fails, when the thread's budget would be exceeded, or when failure
 * injection says so; callers turn NULL into ERR_NOMEM / ERR_MEM_LIMIT.
 */
#ifndef WB_MEM_H
#define WB_MEM_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct MemBudget {
	_Atomic size_t used;	/* bytes currently charged */
	_Atomic size_t peak;	/* high-water mark */
	size_t limit;		/* 0 = unlimited */
	_Atomic int exceeded;	/* set once an allocation was refused */
} MemBudget;

void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
void mem_free(void *p);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
/* Allocates or panics: for process-lifetime structures whose failure
 * leaves nothing sensible to do (startup tables). */
void *mem_alloc_or_die(size_t n);

/* Bytes currently allocated through mem_* by the whole process. */
size_t mem_used(void);
/* Failure injection for tests: the n-th allocation from now (1 = the next)
 * fails; 0 turns injection off. */
void mem_fail_nth(long n);

/* Charges this thread's allocations to b until set again (NULL = none).
 * Returns the previous budget. b must outlive every block charged to it. */
MemBudget *mem_budget_set(MemBudget *b);
void mem_budget_init(MemBudget *b, size_t limit);

#endif
