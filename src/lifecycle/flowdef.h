/*
 * flowdef.h -- a flow definition: the life cycle of one kind of entity
 * (an order, a shipment) across the tables of the services it crosses.
 *
 * Parsed from the JSON of POST /flows (docs/lifecycle.md), checked
 * against the catalog, and written back as canonical JSON (what is
 * persisted and what GET /flows/{name} answers).  Stage graph facts the
 * entity state needs on every event (dominators, ancestors, descendants)
 * are computed once here, as 64-bit stage masks.
 */
#ifndef WB_FLOWDEF_H
#define WB_FLOWDEF_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "table/catalog.h"

#define FLOW_MAX_STAGES 64
#define FLOW_MAX_SOURCES 128
#define FLOW_MAX_DIMS 8
#define FLOW_NAME_MAX 64

enum {
	FLOW_STAGE_NORMAL = 0,
	FLOW_STAGE_SUCCESS,	/* successStages: terminal, the entity is done */
	FLOW_STAGE_FAILURE,	/* failureStages: terminal, failed */
	FLOW_STAGE_CANCEL	/* cancelStages: terminal, cancelled */
};

/* One participating table (one service). */
typedef struct FlowSource {
	char *table;		/* table name as in the catalog */
	char *key_col;		/* keyColumn (default: the flow's entityKey) */
	char *stage_col;	/* stageColumn, or NULL when stage_expr is set */
	char *stage_expr;	/* stageExpr: SQL expression over the table's
				 * columns giving a stage name (or a stageMap
				 * key), or NULL */
	int nmap;		/* stageMap {"value": "stage"}: map_from[i] ->
				 * stage map_to[i]; nmap 0 = the value is
				 * the stage name */
	char **map_from;
	int *map_to;
	char *time_col;		/* timeColumn (default: the table config's
				 * timeColumnName); INT/LONG/TIMESTAMP,
				 * epoch ms */
	char *service_col;	/* serviceColumn, or NULL: the service is
				 * the table's name */
	char *event_col;	/* eventColumn: the event's label in timelines,
				 * or NULL: the stage value */
} FlowSource;

typedef struct FlowStage {
	char *name;
	int64_t sla_ms;		/* time allowed in this stage before one of
				 * next is reached; 0 = none */
	int kind;		/* FLOW_STAGE_* */
	int nnext;
	int next[FLOW_MAX_STAGES];	/* stage indexes; default: the following
					 * stage, none for a terminal stage */
} FlowStage;

typedef struct FlowDef {
	char *name;		/* [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes */
	char *entity_key;	/* entityKey: the key's column name in the
				 * state table (e.g. order_id) */
	int nsources;
	FlowSource *sources;
	int nstages;		/* 1..FLOW_MAX_STAGES; stages[0] is the
				 * first stage; listed in their usual order
				 * (an entity's current stage is the furthest
				 * in this order it has reached) */
	FlowStage *stages;
	int ndims;
	char **dims;		/* dimensions: columns carried into the
				 * state (market, store_id) */
	int64_t gap_grace_ms;	/* gapGraceMs: a skipped stage is a gap once
				 * a later stage is this old (default 60000) */
	int event_clock;	/* "clock": "event" (1): now is the newest
				 * event time seen; "wall" (0, default): the
				 * later of the wall clock and that */
	/* derived (flowdef_parse), bit i = stage i */
	uint64_t dom[FLOW_MAX_STAGES];	/* stages on every path from stage 0
					 * to s, s excluded (0 when s is not
					 * reachable from stage 0) */
	uint64_t anc[FLOW_MAX_STAGES];	/* stages from which s is reachable */
	uint64_t desc[FLOW_MAX_STAGES];	/* stages reachable from s */
	uint64_t terminal;	/* mask of terminal stages */
} FlowDef;

/* Parses and validates a flow definition; expect_name (may be NULL) must
 * equal its name (PUT /flows/{name}).  ERR_BAD_CONFIG with the JSON path
 * of what is wrong ("stages[3].next[0]: no stage \"pakcing\"").
 * *out is owned by the caller (flowdef_free). */
int flowdef_parse(const char *json, size_t len, const char *expect_name, FlowDef **out, Err *e);
/* Checks the sources against the catalog: each table exists and has the
 * named columns with usable types (ERR_BAD_CONFIG naming the source and
 * column; ERR_NOT_FOUND for a missing table). */
int flowdef_check(const FlowDef *d, Catalog *c, Err *e);
/* Canonical JSON (every default spelled out); parsing it gives the same
 * definition. */
void flowdef_to_json(const FlowDef *d, Buf *out);
void flowdef_free(FlowDef *d);
/* Index of the stage called name, or -1. */
int flowdef_stage(const FlowDef *d, const char *name, size_t len);
/* Parses a duration: "250ms", "45s", "30m", "6h", "2d", combinations
 * such as "1h30m"; 0 on success with *ms set. */
int flowdef_duration(const char *s, int64_t *ms);

/* Appends ms as a duration string flowdef_duration reads back: "1h30m",
 * "250ms", "2d"; "0ms" for 0 or less. */
void flowdef_format_duration(int64_t ms, Buf *out);

#endif
