/*
 * mutseg.h -- the mutable segment: the newest rows of a partition, in
 * columns, appendable by one writer and readable by any number of queries
 * at the same time without locks.
 *
 * Concurrency contract:
 *   - Exactly one writer thread calls mutseg_append / mutseg_publish.
 *   - Readers call mutseg_rows() once (acquire) and then read only rows
 *     below that count; everything those rows reference (chunks,
 *     dictionary entries) was written before the count was published.
 *   - Storage is chunked (MUTSEG_CHUNK_ROWS rows per chunk) and chunks never
 *     move, so a pointer obtained for a row stays valid for the life of the
 *     segment.  Rows [r, end of r's chunk) are contiguous in memory.
 *
 * Columns:
 *   - fixed-width single-value columns (INT, LONG, FLOAT, DOUBLE, BOOLEAN,
 *     TIMESTAMP): values in a chunk array of type_width() bytes each;
 *   - STRING/JSON/BYTES single-value: uint32_t dictionary ids, with an
 *     insertion-ordered dictionary (ids are NOT sorted by value);
 *   - multi-value: per row the end offset (uint64_t, exclusive) into an
 *     element column of the element type (dictionary ids for strings);
 *   - every column has a null bitmap (bit set = NULL); a NULL row still
 *     stores a default value in the data slot: the column's dflt when
 *     the ColDesc has one (so rows replayed from a log, whose NULLs carry
 *     no payload, store the same as freshly ingested ones), else what the
 *     Value carried.
 */
#ifndef WB_MUTSEG_H
#define WB_MUTSEG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "storage/types.h"
#include "storage/value.h"

#define MUTSEG_CHUNK_SHIFT 16
#define MUTSEG_CHUNK_ROWS ((size_t)1 << MUTSEG_CHUNK_SHIFT)
#define MUTSEG_MAX_CHUNKS 4096	/* 268M rows per mutable segment */

typedef struct MutSeg MutSeg;
typedef struct MutCol MutCol;

typedef struct ColDesc {
	WbType type;
	int mv;			/* multi-value */
	int has_dflt;		/* 1: a NULL single-value row stores dflt */
	Value dflt;		/* the column's default null value (of type;
				 * bytes copied by mutseg_create) */
} ColDesc;

/* Creates an empty segment with ncols columns described by cols (copied,
 * default values included). */
MutSeg *mutseg_create(int ncols, const ColDesc *cols);
void mutseg_free(MutSeg *s);

/* Writer: appends the rows of b (b->ncols must equal the segment's). The
 * rows are not visible until mutseg_publish.  ERR_NOMEM / ERR_TOO_LARGE
 * leave the already-published rows intact; unpublished rows of a failed
 * append are discarded. */
int mutseg_append(MutSeg *s, const RowBatch *b, Err *e);
void mutseg_publish(MutSeg *s);
/* Writer: discards appended rows that were not published. */
void mutseg_rollback(MutSeg *s);

/* Reader side. */
size_t mutseg_rows(const MutSeg *s);	/* published rows (acquire) */
int mutseg_ncols(const MutSeg *s);
const MutCol *mutseg_col(const MutSeg *s, int c);
size_t mutseg_bytes(const MutSeg *s);	/* memory used, as of the last publish */

WbType mutcol_type(const MutCol *c);
int mutcol_is_mv(const MutCol *c);
/* Pointer to the data slot of single-value row r: int32_t, int64_t,
 * float, double, or uint32_t dictionary id, by type.  Contiguous up to
 * the end of r's chunk. */
const void *mutcol_data(const MutCol *c, size_t r);
/* 1 if row r is NULL. */
int mutcol_is_null(const MutCol *c, size_t r);
/* Null bitmap words for the chunk holding r, starting at the word that
 * holds r (r must be a multiple of 64 for the bits to line up with r);
 * NULL if the column has had no NULL so far in that chunk. */
const uint64_t *mutcol_nulls(const MutCol *c, size_t r);
/* Loads the null bits of rows [r, r+n) into out[0 .. (n+63)/64) with
 * atomic loads (the writer may be setting bits of unpublished rows in the
 * same words), bits at or past n cleared.  r must be a multiple of 64 and
 * the rows within one chunk.  Returns 1 if any row is NULL, else 0 (out
 * then untouched when the chunk has no NULL at all). */
int mutcol_nulls_load(const MutCol *c, size_t r, size_t n, uint64_t *out);
/* Multi-value row r: *n elements; element k is at element index *start+k,
 * read with mutcol_elem. */
void mutcol_mv_range(const MutCol *c, size_t r, uint64_t *start, uint32_t *n);
/* Pointer to the element data slot at element index i (type as above). */
const void *mutcol_elem(const MutCol *c, uint64_t i);

/* Dictionary of a var-length column (for multi-value: of its elements).
 * mutcol_dict_size is the number of published entries. */
uint32_t mutcol_dict_size(const MutCol *c);
const char *mutcol_dict_get(const MutCol *c, uint32_t id, uint32_t *len);
/* Id of s in the dictionary, or UINT32_MAX when absent.  Writer thread
 * only (readers scan the dictionary instead). */
uint32_t mutcol_dict_find(const MutCol *c, const char *s, uint32_t len);

/* Row r as a Value.  Strings point into the dictionary (valid for the
 * segment's life); multi-value arrays are allocated in a. */
int mutcol_value(const MutCol *c, size_t r, Value *out, Arena *a);
/* As mutcol_value, but ignoring the null bit: what is stored (the default
 * null value for a NULL), as Pinot shows it with null handling off. */
int mutcol_value_stored(const MutCol *c, size_t r, Value *out, Arena *a);

#endif
