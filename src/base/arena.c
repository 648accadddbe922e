/*
 * arena.c -- a chain of blocks from mem_alloc with a bump pointer.
 * Requests larger than a quarter block get a block of their own.  The
 * arena owns every block; arena_free returns them all.
 *
 * Exports: arena_init, arena_alloc, arena_calloc, arena_strndup,
 * arena_strdup, arena_printf, arena_steal, arena_reset, arena_free.
 */
#include "base/arena.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ArenaBlock {
	ArenaBlock *next;
	size_t size;
	size_t used;
	_Alignas(16) char data[];
};

void
arena_init(Arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
	a->total = 0;
}

void *
arena_alloc(Arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	ArenaBlock *b = a->head;
	if (b == NULL || b->size - b->used < n) {
		size_t sz = n > a->block_size / 4 ? n : a->block_size;
		ArenaBlock *nb = mem_alloc(sizeof(ArenaBlock) + sz);
		if (nb == NULL)
			return NULL;
		nb->size = sz;
		nb->used = 0;
		if (b != NULL && sz != a->block_size) {
			/* big one-off block: keep the current block on top */
			nb->next = b->next;
			b->next = nb;
			nb->used = n;
			a->total += n;
			return nb->data;
		}
		nb->next = b;
		a->head = b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	a->total += n;
	return p;
}

void *
arena_calloc(Arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *
arena_strndup(Arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *
arena_strdup(Arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(Arena *a, const char *fmt, ...)
{
	va_list ap;
	char tmp[256];

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *d = arena_alloc(a, (size_t)n + 1);
	if (d == NULL)
		return NULL;
	if ((size_t)n < sizeof(tmp)) {
		memcpy(d, tmp, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(d, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return d;
}

void
arena_steal(Arena *dst, Arena *src)
{
	ArenaBlock *tail = src->head;
	if (tail == NULL)
		return;
	while (tail->next != NULL)
		tail = tail->next;
	if (dst->head == NULL) {
		dst->head = src->head;
	} else {
		/* behind dst's current block, which stays the one bumped */
		tail->next = dst->head->next;
		dst->head->next = src->head;
	}
	dst->total += src->total;
	src->head = NULL;
	src->total = 0;
}

void
arena_reset(Arena *a)
{
	ArenaBlock *keep = NULL;
	ArenaBlock *b = a->head;
	while (b) {
		ArenaBlock *next = b->next;
		if (keep == NULL && b->size == a->block_size) {
			keep = b;
			keep->used = 0;
		} else {
			mem_free(b);
		}
		b = next;
	}
	if (keep)
		keep->next = NULL;
	a->head = keep;
	a->total = 0;
}

void
arena_free(Arena *a)
{
	ArenaBlock *b = a->head;
	while (b) {
		ArenaBlock *next = b->next;
		mem_free(b);
		b = next;
	}
	a->head = NULL;
	a->total = 0;
}
