/*
 * lifecycle.h -- life-cycle tracking: the flows of a server, the entity
 * state each keeps up to date as events are ingested, and the questions
 * answered from it (where is entity X, which are stuck, which have gaps,
 * the funnel, which service holds them up).  docs/lifecycle.md is the
 * user's guide.
 *
 * A flow's definitions are persisted under DATA/flows/<name>.json.  Its
 * state is kept in memory (rebuilt from the source tables at start-up and
 * when a flow is defined: a backfill) and written to the upsert table
 * <flow>_state for SQL.  Answers are JSON documents (the HTTP API's
 * bodies).
 */
#ifndef WB_LIFECYCLE_H
#define WB_LIFECYCLE_H

#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "table/catalog.h"

typedef struct Lifecycle Lifecycle;

/* Loads every persisted flow, attaches them to their tables and starts
 * their backfills and the background thread (stuck detection, writes of
 * the state tables).  A flow whose tables are missing is kept, with the
 * reason in its status, and attached when they appear. */
int lifecycle_open(Catalog *cat, Lifecycle **out, Err *e);
void lifecycle_close(Lifecycle *lc);

/* Defines (replace 0: ERR_EXISTS if it exists) or replaces a flow from
 * its JSON (flowdef.h).  expect_name, when set, must be its name.  The
 * state table <name>_state is created or extended; a changed flow is
 * rebuilt from the stored events.  The definition is durable on return;
 * the backfill runs in the background (status "BACKFILLING"). */
int lifecycle_put_flow(Lifecycle *lc, const char *json, size_t len, int replace,
		       const char *expect_name, Err *e);
/* Drops a flow, its state and its state table.  ERR_NOT_FOUND. */
int lifecycle_delete_flow(Lifecycle *lc, const char *name, Err *e);
/* {"flow": definition, "status": {...}} of one flow; ERR_NOT_FOUND. */
int lifecycle_get_flow(Lifecycle *lc, const char *name, Buf *out, Err *e);
/* JSON array of flow names. */
void lifecycle_list_flows(Lifecycle *lc, Buf *out);

/* Query-string access for the questions below: returns the value of the
 * parameter name, or NULL. */
typedef const char *(*LcArgFn)(void *ctx, const char *name);

/* GET /flows/{flow}/entities/{key}: the timeline, current stage, next
 * stages and deadline, flags and anomalies of one entity (ERR_NOT_FOUND
 * when the flow or the entity is unknown). */
int lifecycle_entity(Lifecycle *lc, const char *flow, const char *key, Buf *out, Err *e);
/* GET /flows/{flow}/{what} for what = "stuck", "gaps", "funnel",
 * "attribution", with their parameters read through arg (docs/
 * lifecycle.md); ERR_INVALID naming a bad parameter, ERR_NOT_FOUND for an
 * unknown flow or question. */
int lifecycle_query(Lifecycle *lc, const char *flow, const char *what, LcArgFn arg, void *ctx,
		    Buf *out, Err *e);

/* Folder-internal (lcsql.c): the names of flow's dimensions, copied into
 * a, at most max; returns how many, or ERR_NOT_FOUND. */
int lifecycle__dims(Lifecycle *lc, const char *flow, const char **dims, int max, Arena *a, Err *e);

#endif
