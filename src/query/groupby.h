/*
 * groupby.h -- hash aggregation: group keys to aggregate states.
 *
 * A table (one per scan task, and the query's global one) keys groups by
 * one 64-bit word per key: integers and double bits, dictionary ids of a
 * mutable segment's column (a task's table while it reads that segment),
 * or a pointer to a string's bytes with the length beside it.  A string
 * word points into a segment file's dictionary (mapped for the whole
 * query) or into the table's arena (copies of other strings); strings
 * compare by content.  groupby_merge moves a task's table into the global
 * one, strings and all.
 */
#ifndef WB_GROUPBY_H
#define WB_GROUPBY_H

#include "expr/exprvec.h"
#include "query/plan.h"

/* Per key: the words of one dictionary's ids (pointer, length, hash),
 * for every id when the dictionary is small, else for the last id. */
typedef struct KeyCache {
	const void *src;	/* the dictionary (exprvec_dict_src) */
	uint32_t n;		/* entries in p/len/h; 0 = last id only */
	const char **p;		/* NULL = not yet */
	uint32_t *len;
	uint64_t *h;
	uint32_t lastid;
	const char *lastp;
	uint32_t lastlen;
	uint64_t lasth;
} KeyCache;

typedef struct GroupTable {
	const Plan *p;
	int nkeys;
	uint32_t n, cap;
	size_t max_groups;	/* 0 = none; a new group past it fails the
				 * update with ERR_TOO_LARGE */
	int64_t deadline_ns;	/* clock_mono_ns; 0 = none (ERR_TIMEOUT) */
	int64_t timeout_ms;	/* for the message */
	uint64_t *keys;		/* cap * nkeys words */
	uint32_t *klen;		/* cap * nkeys: byte length of string words */
	uint8_t *knull;		/* cap * nkeys */
	uint64_t *ghash;	/* cap: each group's key hash */
	VecEnc *kenc;		/* per key: VEC_I64, VEC_F64, VEC_STR (string
				 * words) or VEC_DICT (ids of kcol) */
	const MutCol **kcol;	/* per key: dictionary column (VEC_DICT) */
	uint32_t *ht;		/* group + 1, 0 = empty */
	uint32_t htcap;
	const void *pure;	/* non-NULL: every group came from the direct
				 * array over this dictionary, and ht indexes
				 * none of them (distinct ids: distinct keys) */
	char **states;		/* per aggregate: cap * state_size */
	uint32_t *direct;	/* single dictionary key: id -> group + 1 */
	uint32_t ndirect;
	/* two dictionary keys with few value pairs: (id0, id1) -> group + 1
	 * over dictionaries d2src[0], d2src[1] (slot (id0 + 1) * stride2 +
	 * id1 + 1; 0 for NULL) */
	uint32_t *direct2;
	uint32_t ndirect2, stride2;
	const void *d2src[2];
	uint32_t gidx[EXPR_BATCH];
	/* multi-value keys: row r's groups are mvg[mvoff[r]..+mvcnt[r]) */
	uint32_t mvoff[EXPR_BATCH], mvcnt[EXPR_BATCH];
	uint32_t *mvg, nmvg, mvgcap;
	uint16_t sel2[EXPR_BATCH];
	KeyCache *kc;		/* per key */
	Arena arena;		/* copied key strings */
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
/* Merges src into dst: src's states are consumed (destroyed), its copied
 * strings move to dst's arena. */
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
