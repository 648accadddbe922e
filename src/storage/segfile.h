/*
 * segfile.h -- immutable segment files: format constants and the
 * memory-mapped reader (segwrite.h writes them).  The byte format is in
 * docs/segment-format.md.
 *
 * A SegFile is read-only once open and may be shared by any number of
 * threads; each thread scanning a column uses its own SegCursor, which
 * owns the buffers of the block it decoded last.  Nothing read from the
 * file is trusted: segfile_open checks the footer checksum and every
 * offset, length and count; a block's checksum and contents (ids below
 * the dictionary size, multi-value offsets in order) are checked the
 * first time any cursor decodes it, or all at once by segfile_verify.
 * Damage is ERR_CORRUPT with a message naming the file, column and block.
 */
#ifndef WB_SEGFILE_H
#define WB_SEGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "storage/types.h"
#include "storage/value.h"

#define SEGFILE_VERSION 3		/* written; 2 is still read */
#define SEGFILE_VERSION_MIN 2
#define SEGFILE_BLOCK_ROWS 65536	/* rows per row block (= MutSeg chunk) */
/* Format 3: a single-value data block is framed in sub-blocks of
 * SEGFILE_SUB_ROWS rows (the writer's default; a block header says its
 * own, a power of two in [SEGFILE_SUB_MIN, SEGFILE_BLOCK_ROWS]), each
 * compressed on its own, so reading a few rows decodes one sub-block. */
#define SEGFILE_SUB_ROWS 2048
#define SEGFILE_SUB_ZSTD 16384		/* zstd frames: its per-frame setup costs */
#define SEGFILE_SUB_MIN 1024
#define SEGFILE_NONE UINT32_MAX		/* "no such id / block" */

/* Opaque source position covered by a segment: e.g. a Kafka partition
 * and an offset range [start, end), or a WAL id and byte positions. */
typedef struct SegSource {
	int64_t id;
	int64_t start;
	int64_t end;
} SegSource;

/* Format constants shared with segwrite.c (docs/segment-format.md). */
#define SEGFILE_MAGIC "WBSEGMT\x1a"	/* 8 bytes, at both ends of the file */
#define SEGFILE_HEADER_BYTES 16
#define SEGFILE_TRAILER_BYTES 32
#define SEGFILE_BLOCK_BYTES 32		/* one block table entry */
#define SEGFILE_RB_BYTES 24		/* one row-block record */

enum {
	SEGFILE_K_DICT_OFFS = 1,	/* var-length dictionary: card+1 u32 offsets */
	SEGFILE_K_DICT_BYTES = 2,	/* var-length dictionary: entry bytes */
	SEGFILE_K_DICT_NUMS = 3,	/* numeric dictionary: card 8-byte values */
	SEGFILE_K_DATA = 4,		/* single-value rows: packed ids or values */
	SEGFILE_K_NULLS = 5,		/* null bitmap words of a row block */
	SEGFILE_K_MV_ENDS = 6,		/* multi-value: u32 element end per row */
	SEGFILE_K_MV_ELEMS = 7,		/* multi-value: packed ids or values */
	SEGFILE_K_INV_DIR = 8,		/* inverted index: 16-byte entry per id */
	SEGFILE_K_INV_BITMAPS = 9,	/* inverted index: bitsets / Roaring bitmaps */
	SEGFILE_K_SORTED = 10,		/* sorted index: card+1 u32 row starts */
	SEGFILE_K_RANGE_STARTS = 11,	/* range index (dictionary): card+1 u32 */
	SEGFILE_K_RANGE_VALUES = 12,	/* range index (raw): sorted 8-byte values */
	SEGFILE_K_RANGE_ROWS = 13,	/* range index: u32 row per entry */
	SEGFILE_K_BLOOM = 14,		/* bloom filter */
	SEGFILE_K_COUNT
};

/* The index block references of a column record, in footer order. */
enum {
	SEGFILE_IXB_INV_DIR,
	SEGFILE_IXB_INV_BITMAPS,
	SEGFILE_IXB_SORTED,
	SEGFILE_IXB_RANGE_A,		/* RANGE_STARTS or RANGE_VALUES */
	SEGFILE_IXB_RANGE_ROWS,
	SEGFILE_IXB_BLOOM,
	SEGFILE_IXB_COUNT
};

#define SEGFILE_INV_ENTRY_BYTES 16	/* u32 offset, u32 length, u32 rows, u32 encoding */
enum {
	SEGFILE_INV_EMPTY = 0,		/* no row */
	SEGFILE_INV_BITSET = 1,		/* (nrows + 63) / 64 u64 words */
	SEGFILE_INV_ROARING = 2		/* portable Roaring bitmap */
};

/* ---- reader ---- */

typedef struct SegFile SegFile;

typedef struct SegMeta {
	uint32_t version;
	uint64_t nrows;
	int ncols;
	uint32_t block_rows;
	int64_t created_ms;
	int time_col;		/* -1 if none */
	int64_t tmin, tmax;	/* valid when time_col >= 0 and has_time */
	int has_time;		/* 0: no time column or every time is NULL */
	int sort_col;		/* -1 if rows are in arrival order */
	uint32_t nsources;
	const SegSource *sources;
	uint64_t file_bytes;
	uint32_t nblocks;
} SegMeta;

typedef union SegNum {
	int64_t i;		/* integer types */
	double d;		/* FLOAT, DOUBLE */
	uint32_t id;		/* var-length types: dictionary id */
} SegNum;

typedef struct SegColInfo {
	const char *name;	/* NUL-terminated, lives with the SegFile */
	WbType type;
	int mv;
	int has_dict;
	int codec;
	unsigned bits;		/* bits per dictionary id */
	uint32_t card;		/* dictionary entries (0 without dictionary) */
	uint64_t null_count;
	uint64_t nelems;	/* multi-value: total elements */
	int has_minmax;		/* 0 when every value is NULL (or no rows) */
	SegNum min, max;	/* over non-NULL values (elements for MV);
				 * dictionary ids for var-length types */
	uint64_t stored_bytes;	/* bytes of the column's blocks in the file */
	uint64_t raw_bytes;	/* same, uncompressed */
	unsigned indexes;	/* a set of SEGFILE_IX_* bits */
	uint64_t ix_bytes[4];	/* stored bytes of each index, by bit number
				 * (inverted, sorted, range, bloom); 0 for a
				 * dictionary range index served by the
				 * inverted or sorted index */
} SegColInfo;

#define SEGFILE_IX_INVERTED 1u	/* bitmap of rows per dictionary id */
#define SEGFILE_IX_SORTED   2u	/* rows sorted by this column: a row range per dictionary id */
#define SEGFILE_IX_RANGE    4u	/* range queries by value (dictionary or raw numeric column) */
#define SEGFILE_IX_BLOOM    8u	/* bloom filter over the column's distinct values */

/* Maps and checks path; *out is owned by the caller (segfile_close). */
int segfile_open(const char *path, SegFile **out, Err *e);
void segfile_close(SegFile *sf);
const char *segfile_path(const SegFile *sf);
const SegMeta *segfile_meta(const SegFile *sf);
const SegColInfo *segfile_col(const SegFile *sf, int c);
/* Column index by name (exact), or -1. */
int segfile_col_find(const SegFile *sf, const char *name);
/* Checks every block (checksum and contents) and every dictionary. */
int segfile_verify(SegFile *sf, Err *e);

/* A sorted dictionary, pointing into the mapping (valid until
 * segfile_close).  Entries are strictly increasing: strings by bytes
 * (memcmp, then shorter first), numbers by value (doubles in IEEE total
 * order, so -0.0 < 0.0). */
typedef struct SegDict {
	WbType type;
	uint32_t card;
	const uint32_t *offs;	/* var-length: card + 1 offsets into bytes */
	const char *bytes;
	const unsigned char *nums; /* numbers: card 8-byte LE values (int64_t
				 * for integer types, double for floats) */
} SegDict;

/* Checks (once) and returns column c's dictionary; ERR_INVALID if the
 * column has none. */
int segfile_dict(SegFile *sf, int c, SegDict *out, Err *e);
const char *segfile_dict_str(const SegDict *d, uint32_t id, uint32_t *len);
int64_t segfile_dict_i64(const SegDict *d, uint32_t id);
double segfile_dict_f64(const SegDict *d, uint32_t id);
/* Entry id as a Value (strings point into the mapping). */
Value segfile_dict_value(const SegDict *d, uint32_t id);
/* Id of v (of the column's type family: a string for var-length, an
 * integer or double otherwise), or SEGFILE_NONE. */
uint32_t segfile_dict_find(const SegDict *d, const Value *v);
/* First id whose entry is >= v (upper = 0) or > v (upper = 1); card if
 * none.  The ids of entries in [lo, hi] are [lower(lo), upper(hi)). */
uint32_t segfile_dict_bound(const SegDict *d, const Value *v, int upper);

/* A reading position in one column.  Owns the decoded copy of the last
 * row block it touched (nothing for uncompressed blocks, which are read
 * in place).  Not shared between threads. */
typedef struct SegCursor {
	SegFile *sf;
	int col;
	uint32_t rb;		/* row block held, or SEGFILE_NONE */
	const void *data;	/* its values: ids (uint32_t) or typed values */
	const uint64_t *nulls;	/* its null words, NULL if none are NULL */
	const uint32_t *ends;	/* MV: element end per row, block-relative */
	const void *elems;	/* MV: element ids / values of the block */
	uint64_t elem0;		/* MV: global index of the block's first element */
	uint64_t nelems_rb;	/* MV: elements in the block */
	void *bufs[6];		/* owned decode buffers */
	size_t caps[6];
	/* single-value data decoded lazily, by sub-block (reader-private) */
	const unsigned char *src;	/* packed ids / frames in the mapping */
	unsigned char *raw;		/* decoded bytes of a compressed block, or NULL */
	uint64_t have;			/* sub-blocks decoded into data (bit per sub-block) */
	uint32_t dblk;			/* the data block, SEGFILE_NONE for multi-value */
	uint32_t nrows_rb;		/* rows of the row block held */
	unsigned sub_shift;		/* log2 of its sub-block rows */
	unsigned hdr;			/* framed: header bytes before the first frame, else 0 */
} SegCursor;

void segfile_cursor_init(SegCursor *cur, SegFile *sf, int c);
void segfile_cursor_free(SegCursor *cur);
/* Zero-copy access: *out points to n contiguous values of rows
 * [row, row+n), which must lie in one row block: uint32_t dictionary ids
 * for a dictionary column, else type_width() values.  Valid until the
 * cursor moves to another row block or is freed.  Only the sub-blocks
 * holding [row, row+n) are decoded (checked on first use), so asking for
 * the few rows a query needs costs a few thousand rows' decoding, not the
 * row block's 65,536. */
int segfile_cursor_get(SegCursor *cur, size_t row, size_t n, const void **out, Err *e);
/* Copies rows [row, row+n) (any range) into out: dictionary ids as
 * uint32_t, else int32_t / int64_t / float / double by type. */
int segfile_read(SegCursor *cur, size_t row, size_t n, void *out, Err *e);
/* As segfile_read, but numbers as values even for a dictionary column
 * (var-length columns: ERR_INVALID). */
int segfile_read_values(SegCursor *cur, size_t row, size_t n, void *out, Err *e);
/* Null words of rows [row, row+n) (row a multiple of 64) into
 * out[0 .. (n+63)/64), bits at or past n cleared; *any = 1 if a row is
 * NULL. */
int segfile_read_nulls(SegCursor *cur, size_t row, size_t n, uint64_t *out, int *any, Err *e);
/* Multi-value rows [row, row+n): element ranges start[k], count[k] in the
 * column's global element numbering. */
int segfile_read_mv(SegCursor *cur, size_t row, size_t n, uint64_t *start, uint32_t *count,
		    Err *e);
/* Elements [elem, elem+n) into out (ids as uint32_t, or typed values). */
int segfile_read_elems(SegCursor *cur, uint64_t elem, size_t n, void *out, Err *e);
/* Row r as a Value (strings into the mapping; MV arrays in a). */
int segfile_value(SegCursor *cur, size_t r, Value *out, Arena *a, Err *e);

/* ---- indexes (format v2) ----
 *
 * Rows as a dense bitset over the segment: word k holds rows 64k..64k+63
 * (bit r%64), (nrows+63)/64 words, allocated and zeroed by the caller.
 * The functions OR their rows into it.
 *
 * Indexes cover the values rows STORE: a NULL row is found under the
 * default value it stores (a NULL multi-value row under the elements it
 * keeps), as a scan of the stored values would; callers remove NULL rows
 * with the null bitmap.  A multi-value row is found when any element
 * matches.  *entries counts what was read: dictionary ids for the sorted
 * and inverted indexes, (id, row) or (value, row) entries for a range
 * index.  Each index is checked on first use (ERR_CORRUPT naming file,
 * column and block) and then read in place; safe from any thread. */

/* Rows whose value of dictionary column c has an id in [lo, hi), through the
 * inverted, sorted or range index (whichever the column has; fastest first).
 * ERR_INVALID if the column has none of them; ERR_CORRUPT on a damaged index block.
 * *entries (may be NULL) gets the number of index entries read (for
 * numEntriesScannedInFilter). */
int segfile_ix_ids(SegFile *sf, int c, uint32_t lo, uint32_t hi, uint64_t *rows,
		   uint64_t *entries, Err *e);

/* Rows of a raw (no-dictionary) numeric single-value column c with a range
 * index whose value lies in [lo, hi] (both inclusive; SegNum.i for integer
 * types, SegNum.d for FLOAT/DOUBLE).  ERR_INVALID without a range index. */
int segfile_ix_range(SegFile *sf, int c, SegNum lo, SegNum hi, uint64_t *rows,
		     uint64_t *entries, Err *e);

/* *may = 0 if no row of column c can equal v (the bloom filter says absent),
 * 1 if some may (also 1 when the column has no bloom filter).  v is of the
 * column's type family (string for var-length, integer or double otherwise).
 * ERR_CORRUPT on a damaged filter block.  Values hash by what they are, so
 * -0.0 finds 0.0 and an integral double finds the integer; a FLOAT column
 * holds floats, so ask for (double)(float)x.  A NULL or multi-value v, or
 * one of another family, gets *may = 1. */
int segfile_bloom_check(SegFile *sf, int c, const Value *v, int *may, Err *e);

#endif
