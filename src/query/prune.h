/*
 * prune.h -- segment pruning and index use for a plan's WHERE.
 *
 * prune_segment decides, before any row is read, that no row of a segment
 * can make the WHERE TRUE (min/max, time range, dictionary, bloom filter
 * of segment files; constant FALSE / NULL predicates for any segment).
 * prune_index turns the WHERE conjuncts that a segment file's indexes
 * answer into a row bitset and lists the conjuncts still to evaluate.
 */
#ifndef WB_PRUNE_H
#define WB_PRUNE_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "query/plan.h"
#include "table/table.h"

typedef enum PruneWhy {
	PRUNE_KEEP = 0,		/* the segment may hold matching rows */
	PRUNE_EMPTY,		/* no rows (Pinot: numSegmentsPrunedInvalid) */
	PRUNE_CONST,		/* the WHERE is constantly FALSE or NULL */
	PRUNE_MINMAX,		/* column min/max */
	PRUNE_TIME,		/* the segment's time range */
	PRUNE_DICT,		/* constant absent from the column's dictionary */
	PRUNE_BLOOM,		/* bloom filter says absent */
	PRUNE_LIMIT,		/* selection LIMIT already met by other segments */
	PRUNE_NWHY
} PruneWhy;

/* Static name of a reason ("minmax", "time", ...). */
const char *prune_why_name(PruneWhy w);

/* Can a row of ss make p->where TRUE?  *why = PRUNE_KEEP if it may (or
 * nothing proves otherwise), else the reason it cannot.  ignore_nulls:
 * NULLs read as stored default values (columns with NULLs are then not
 * used).  Errors: ERR_CORRUPT from a damaged dictionary or bloom filter. */
int prune_segment(const Plan *p, const SnapSeg *ss, int ignore_nulls, PruneWhy *why, Err *e);

/* Index use over one segment file. */
typedef struct PruneIx {
	uint64_t *rows;		/* owned; bitset of candidate rows ((nrows+63)/64
				 * words), NULL when no index was used */
	int nresid;		/* conjuncts still to evaluate on those rows */
	const Expr **resid;	/* owned array; the Exprs are the plan's */
	int resid_cols;		/* distinct columns the residual reads */
	int nused;		/* conjuncts answered through an index */
	uint64_t entries;	/* index entries read */
} PruneIx;

/* Fills ix for segment file f (a zeroed ix = "no index: scan with the
 * whole WHERE").  An index that fails with anything but ERR_CORRUPT or
 * ERR_NOMEM is skipped (its conjunct is evaluated by the scan). */
int prune_index(const Plan *p, const SegFile *f, int ignore_nulls, PruneIx *ix, Err *e);
void prune_index_free(PruneIx *ix);

/* EXPLAIN: one line per WHERE conjunct of p with the access path it gets
 * in file segments (counts over files) into b, each line prefixed by
 * indent. */
void prune_explain(const Plan *p, const TableSnap *snap, const char *indent, Buf *b);

#endif
