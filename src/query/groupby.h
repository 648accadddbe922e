/*
 * groupby.h -- hash aggregation: group keys to aggregate states.
 *
 * A local table (one per scan task) keys groups by 64-bit words per key:
 * integers and double bits, dictionary ids (for a dictionary column of
 * the task's segment), or pointers to strings interned in the table's
 * arena.  groupby_merge moves a local table into the query's global one,
 * whose string keys are always interned copies.
 */
#ifndef WB_GROUPBY_H
#define WB_GROUPBY_H

#include "expr/exprvec.h"
#include "query/plan.h"

typedef struct GroupTable {
	const Plan *p;
	int nkeys;
	uint32_t n, cap;
	size_t max_groups;	/* 0 = none; a new group past it fails the
				 * update with ERR_TOO_LARGE */
	int64_t deadline_ns;	/* clock_mono_ns; 0 = none (ERR_TIMEOUT) */
	int64_t timeout_ms;	/* for the message */
	uint64_t *keys;		/* cap * nkeys */
	uint8_t *knull;		/* cap * nkeys */
	VecEnc *kenc;		/* per key: encoding the words come from */
	const MutCol **kcol;	/* per key: dictionary column (VEC_DICT) */
	uint32_t *ht;		/* group + 1, 0 = empty */
	uint32_t htcap;
	char **states;		/* per aggregate: cap * state_size */
	uint32_t *direct;	/* single dictionary key: id -> group + 1 */
	uint32_t ndirect;
	const MutCol *dcol;
	uint32_t gidx[EXPR_BATCH];
	uint64_t w[EXPR_BATCH];
	/* multi-value keys: row r's groups are mvg[mvoff[r]..+mvcnt[r]) */
	uint32_t mvoff[EXPR_BATCH], mvcnt[EXPR_BATCH];
	uint32_t *mvg, nmvg, mvgcap;
	uint16_t sel2[EXPR_BATCH];
	/* per key: the word of each dictionary id of the source idsrc
	 * (interned strings of a file dictionary; 0 = not yet), when that
	 * dictionary is small enough, else the last id's word alone */
	uint64_t **idw;
	uint32_t *nidw;
	const void **idsrc;
	uint32_t *lastid;
	uint64_t *lastw;
	const char **istr;	/* interned strings (records: u32 len, bytes) */
	uint32_t nistr, istrcap;
	Arena arena;
} GroupTable;

/* The query's limits as a table enforces them. */
typedef struct GroupLimits {
	size_t max_groups;	/* ExecLimits.max_groups; 0 = none: the table
				 * never holds more, in any task or merged */
	int64_t deadline_ns;	/* clock_mono_ns deadline; 0 = none */
	int64_t timeout_ms;	/* the timeout, for the message */
} GroupLimits;

/* lim may be NULL (no limits). */
int groupby_init(GroupTable *gt, const Plan *p, const GroupLimits *lim, Err *e);
void groupby_free(GroupTable *gt);
/* Adds the selected rows of b (keys and aggregate arguments evaluated
 * with cx) to the table. */
int groupby_update(GroupTable *gt, ExprCtx *cx, const Batch *b, const uint16_t *sel, int nsel,
		   Err *e);
/* Merges src into dst (dst's strings are copied); src's states are
 * consumed (destroyed). */
int groupby_merge(GroupTable *dst, GroupTable *src, Err *e);
/* Makes dst (not initialized) the table src was, without a copy, when
 * src's key words do not depend on a segment (no mutable-segment
 * dictionary ids); src is left empty (groupby_free-able).  The groups
 * keep their numbers: as merging src into an empty table would.  1 (and
 * nothing done) when src cannot be adopted. */
int groupby_adopt(GroupTable *dst, GroupTable *src, const GroupLimits *lim);
/* Group g as a post-batch row: keys then finalized aggregates (strings
 * borrowed from gt). */
void groupby_row(const GroupTable *gt, uint32_t g, Value *row);

#endif
