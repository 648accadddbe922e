/*
 * lcstate.h -- the entity states of one flow, in memory: every entity's
 * events (compact, deduplicated, in event-time order) and what follows
 * from them (current stage, deadline, flags), kept up to date as events
 * are applied and as time passes (lcstate_sweep).
 */
#ifndef WB_LCSTATE_H
#define WB_LCSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "lifecycle/flowdef.h"
#include "storage/value.h"
#include "table/schema.h"

#define LC_NO_STAGE 255

enum {
	LC_F_STUCK = 1,		/* not terminal, past its deadline */
	LC_F_GAP = 2,		/* a stage on every path to one it reached is
				 * missing (past the grace time) */
	LC_F_CONTRA = 4,	/* a failure or cancel stage and a stage that
				 * cannot come with it */
	LC_F_FAILED = 8,	/* reached a failure stage */
	LC_F_TERMINAL = 16	/* its current stage is terminal */
};

/* One event to apply; strings borrowed for the call. */
typedef struct LcEventIn {
	const char *key;
	size_t keylen;
	int64_t ts;		/* event time, epoch ms */
	int stage;		/* stage index, or -1: an event of no stage */
	int src;		/* source index in the flow */
	const char *label;	/* the event's label (NULL: none) */
	size_t labellen;
	const char *svc;	/* the service */
	size_t svclen;
	const char *dim[FLOW_MAX_DIMS];	/* dimension values (NULL: absent) */
	size_t dimlen[FLOW_MAX_DIMS];
} LcEventIn;

/* A stored event. */
typedef struct LcEvent {
	int64_t ts;
	uint16_t label;		/* label id (0: none) */
	uint16_t svc;		/* service id */
	uint8_t stage;		/* LC_NO_STAGE: none */
	uint8_t src;
	uint16_t pad;
} LcEvent;

/* What an entity's events say at time now (lcstate_get, lcstate_scan). */
typedef struct LcView {
	const char *key;
	size_t keylen;
	int cur;		/* current stage, LC_NO_STAGE if none yet */
	int64_t since;		/* first time of the current stage */
	int64_t deadline;	/* INT64_MAX: none */
	int flags;		/* LC_F_* */
	uint64_t seen;		/* stages reached */
	uint64_t skipped;	/* stages missing (LC_F_GAP) */
	uint64_t contra;	/* contradicting stages (LC_F_CONTRA) */
	int64_t first_ts, last_ts;
	int last_svc, last_label;	/* of the newest event */
	int events, retries;
	int holder;		/* service id expected to act next, -1 */
	int64_t stuck_at;	/* wall-clock ms when the tracker first saw it
				 * stuck (at an event or a sweep), 0: not yet */
	uint32_t dims[FLOW_MAX_DIMS];	/* dimension value ids (0: none) */
	int64_t first[FLOW_MAX_STAGES];	/* per stage reached: first and */
	int64_t last[FLOW_MAX_STAGES];	/* last event time */
	const LcEvent *ev;	/* the events, in time order (valid during
				 * the callback only) */
	int nev;
} LcView;

typedef struct LcState LcState;

/* d is borrowed and must outlive the state. */
int lcstate_create(const FlowDef *d, LcState **out, Err *e);
void lcstate_free(LcState *s);

/* Applies events (thread-safe; an event already stored -- same time,
 * stage, source and label -- is ignored).  now: the flow's clock. */
int lcstate_apply(LcState *s, const LcEventIn *ev, int n, int64_t now, Err *e);
/* The newest event time applied (INT64_MIN if none). */
int64_t lcstate_max_ts(const LcState *s);
/* Re-derives the entities whose flags can have changed by now (their
 * deadline or gap grace passed). */
void lcstate_sweep(LcState *s, int64_t now);

/* The entity key (1 with *v filled for fn's duration, under the entity's
 * lock), 0 if unknown. */
int lcstate_get(LcState *s, const char *key, size_t keylen, int64_t now,
		void (*fn)(void *ctx, const LcView *v), void *ctx);
/* Every entity (want 0), or those that can have one of the flags want
 * now, one shard at a time (the shard is locked during its callbacks:
 * keep them short). */
void lcstate_scan(LcState *s, int64_t now, int want, void (*fn)(void *ctx, const LcView *v),
		  void *ctx);
uint64_t lcstate_count(const LcState *s);

/* "active", "stuck", "succeeded", "failed" or "cancelled". */
const char *lcstate_status(const LcState *s, const LcView *v);
/* Names behind ids. */
const char *lcstate_svc(const LcState *s, int id);
const char *lcstate_label(const LcState *s, int id);
const char *lcstate_dim(const LcState *s, uint32_t id);

/* The state table: its schema and table-config JSON, and rows of the
 * entities changed since the last drain, in schema sch's column order,
 * at most max of them (returns how many; 0 when none is waiting). */
void lcstate_schema_json(const FlowDef *d, Buf *out);
/* 1 if name is a column the state table has whatever the dimensions
 * (the entity key, stage, ..., t_<stage>): a dimension may not take it. */
int lcstate_own_column(const FlowDef *d, const char *name);
void lcstate_config_json(const FlowDef *d, Buf *out);
size_t lcstate_drain(LcState *s, int64_t now, const Schema *sch, RowBatch *b, size_t max);
/* Marks every entity changed (the next drains write them all). */
void lcstate_mark_all(LcState *s);

#endif
