/*
 * scan.h -- the scan operator: a row range of one segment, batch by batch.
 */
#ifndef WB_SCAN_H
#define WB_SCAN_H

#include "expr/exprvec.h"
#include "query/plan.h"
#include "storage/mutseg.h"
#include "storage/segfile.h"

typedef struct Scan {
	const Plan *p;
	const MutSeg *seg;	/* NULL: one row with no columns (no FROM) */
	size_t row, end;
	Batch batch;
	int64_t *ibuf;		/* ncols * EXPR_BATCH */
	double *dbuf;
	uint8_t *nbuf;
	int ignore_nulls;	/* set after scan_init: NULL bits are not read */
	const Value *dflt;	/* set after scan_init (may stay NULL): per plan
				 * column, the value a column missing from a
				 * segment file reads as (its default null) */
	/* segment file scans (scan_init_file) */
	SegFile *file;
	SegCursor *cur;		/* per column (used ones initialized) */
	SegDict *dict;		/* per column with a dictionary */
	const char **sbuf;	/* ncols * EXPR_BATCH string pointers */
	uint32_t *lbuf;		/* their lengths */
	uint32_t *mvoff, *mvcnt;	/* ncols * EXPR_BATCH */
	uint64_t *mvst;		/* EXPR_BATCH */
	void **ebuf;		/* per column: batch elements, 8 bytes each */
	void **rbuf;		/* per column: raw elements / ids as read */
	size_t *ecap;		/* elements both hold */
	uint8_t *need_str;	/* per column: s/slen are read by someone */
	int *fmap;		/* per plan column: the file's column (by name),
				 * -1 if the file lacks it (read as NULL) */
	Err *err;		/* where scan_next reports errors */
	/* candidate rows (a bitset over the segment, set after scan_init or
	 * scan_init_file; NULL = every row): an index's answer or an upsert
	 * segment's valid rows; batches with no candidate in [row, end)
	 * are skipped without being read */
	const uint64_t *selbits;
	size_t batch_row;	/* segment row of the last batch's row 0 */
} Scan;

/* Rows [begin, end) of seg; begin must be a multiple of EXPR_BATCH. */
int scan_init(Scan *s, const Plan *p, const MutSeg *seg, size_t begin, size_t end, Err *e);
/* Rows [begin, end) of a segment file (begin a multiple of EXPR_BATCH).
 * The plan's columns are found in the file by name; a column the file
 * lacks (added to the table after the file was written) reads as NULL.
 * ERR_INVALID if a used column has another type in the file. */
int scan_init_file(Scan *s, const Plan *p, const SegFile *f, size_t begin, size_t end, Err *e);
/* Next batch (*out points into s; its first row is s->batch_row);
 * returns its row count, 0 at the end,
 * or a negative ERR_* (a damaged file block: ERR_CORRUPT) recorded in the
 * Err given to scan_init*. */
int scan_next(Scan *s, const Batch **out);
void scan_end(Scan *s);

#endif
