/*
 * arena.h -- bump allocation tied to a lifetime (a query, a batch, a
 * request).  Reset, not freed object by object.
 */
#ifndef WB_ARENA_H
#define WB_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
	ArenaBlock *head;	/* current block; older blocks chained behind */
	size_t block_size;	/* default size of a new block */
	size_t total;		/* bytes handed out since the last reset */
} Arena;

void arena_init(Arena *a, size_t block_size);
/* 8-byte aligned memory that lives until arena_reset/arena_free; NULL on
 * allocation failure. */
void *arena_alloc(Arena *a, size_t n);
void *arena_calloc(Arena *a, size_t n);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves every block of src into dst (what src handed out now lives as
 * long as dst); src is left empty, usable. */
void arena_steal(Arena *dst, Arena *src);
/* Frees every block but the first, which is kept for reuse. */
void arena_reset(Arena *a);
void arena_free(Arena *a);

#endif
