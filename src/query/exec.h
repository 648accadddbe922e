/*
 * exec.h -- runs a bound Plan over a table snapshot.
 */
#ifndef WB_EXEC_H
#define WB_EXEC_H

#include "query/plan.h"
#include "query/query.h"
#include "table/table.h"

typedef struct ExecLimits {
	int64_t timeout_ms;	/* 0 = none */
	size_t max_rows;	/* 0 = none */
	size_t mem_limit;	/* 0 = none */
	int ignore_nulls;	/* read NULLs as stored default values (Pinot's
				 * enableNullHandling=false) */
	size_t max_groups;	/* groups of one GROUP BY; 0 = none */
	int skip_upsert;	/* Pinot's skipUpsert: every version of an
				 * upsert table's rows is visible (SnapSeg.valid
				 * ignored); also set by the plan's SET */
	const _Atomic int *cancel;	/* QueryOpts.cancel: non-zero stops the
					 * query with ERR_CANCELED; NULL none */
	int describe_only;	/* QueryOpts.describe_only (query.c reads it) */
} ExecLimits;

/* Runs p over snap (NULL when the plan has no FROM) and fills rs, whose
 * arena the caller initialized.  Rows whose bit is clear in their
 * segment's SnapSeg.valid are invisible (not scanned, counted or
 * returned) unless lim->skip_upsert or p->set_skip_upsert.  Errors: ERR_TIMEOUT, ERR_MEM_LIMIT,
 * ERR_DIV_ZERO, ERR_TYPE, ERR_NOMEM... */
int exec_run(const Plan *p, const TableSnap *snap, const ExecLimits *lim, ResultSet *rs, Err *e);

#endif
