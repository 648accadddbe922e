/*
 * scan.h -- the scan operator: a row range of one segment, batch by batch.
 */
#ifndef WB_SCAN_H
#define WB_SCAN_H

#include "expr/exprvec.h"
#include "query/plan.h"
#include "storage/mutseg.h"

typedef struct Scan {
	const Plan *p;
	const MutSeg *seg;	/* NULL: one row with no columns (no FROM) */
	size_t row, end;
	Batch batch;
	int64_t *ibuf;		/* ncols * EXPR_BATCH */
	double *dbuf;
	uint8_t *nbuf;
	int ignore_nulls;	/* set after scan_init: NULL bits are not read */
} Scan;

/* Rows [begin, end) of seg; begin must be a multiple of EXPR_BATCH. */
int scan_init(Scan *s, const Plan *p, const MutSeg *seg, size_t begin, size_t end, Err *e);
/* Next batch (*out points into s); returns its row count, 0 at the end. */
int scan_next(Scan *s, const Batch **out);
void scan_end(Scan *s);

#endif
