/*
 * query.h -- the SQL entry points used by the servers and the CLI.
 *
 * query_exec parses (libpg_query, through the adapter in pgparse.c),
 * binds against the catalog, plans and runs one SQL statement and returns
 * its rows.  query_pinot_response wraps it into Pinot's broker-response
 * JSON, errors included, for POST /query/sql.
 */
#ifndef WB_QUERY_H
#define WB_QUERY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "storage/value.h"
#include "table/catalog.h"

typedef struct QueryOpts {
	int64_t timeout_ms;	/* 0 = server default */
	size_t max_rows;	/* result row ceiling; 0 = server default */
	size_t mem_limit;	/* bytes; 0 = server default */
	size_t max_groups;	/* GROUP BY groups (Pinot's numGroupsLimit); 0 = server default */
	int pinot_default_limit;	/* implicit LIMIT 10 as Pinot does */
	int pinot_dialect;	/* Pinot's function semantics and result types,
				 * without the implicit limit (queryOptions
				 * useMultiStageEngine=true) */
	int no_null_handling;	/* Pinot's enableNullHandling=false: NULLs
				 * read as the column's default null value */
	int skip_upsert;	/* Pinot's skipUpsert=true: an upsert table
				 * shows every version of its rows, not only
				 * the latest per key */
	/* Set (non-zero) by another thread to cancel the running statement:
	 * it stops at its next check (every batch of rows, every 64 Ki
	 * groups) with ERR_CANCELED.  NULL = not cancellable. */
	const _Atomic int *cancel;
	/* The session a statement runs for (PostgreSQL wire; NULL = the
	 * defaults "waybill"): what current_user, session_user and
	 * current_database() answer. */
	const char *user;
	const char *database;
	/* The session's settings (PostgreSQL wire: SET, startup parameters):
	 * what current_setting(name) answers.  Returns the value, or NULL
	 * when the session has no such setting (then the server default
	 * applies).  NULL = no session. */
	const char *(*setting)(void *ctx, const char *name);
	void *setting_ctx;
	/* PostgreSQL's names for unnamed result columns (count, sum,
	 * ?column?) instead of Pinot's (count(*), sum(x)): the PostgreSQL
	 * wire sets it */
	int pg_names;
	/* Plan only: a statement over one table runs over none of its rows,
	 * so the result has its columns (and at most the one row of a global
	 * aggregate) at the cost of binding; statements over derived rows
	 * (subqueries, joins) still run.  The PostgreSQL wire's Describe of
	 * a prepared statement uses it. */
	int describe_only;
	/* With describe_only: the string literal "\x01wbparam<n>" stands for
	 * parameter n of a prepared statement, and param_types[n-1] (the
	 * caller's, TYPE_NULL-filled, nparams entries) gets the type the
	 * statement gives it, where it gives one (bind_set_param_sink). */
	WbType *param_types;
	int nparams;
} QueryOpts;

/* Pinot's meanings: queried = every segment of the snapshot; processed =
 * queried minus pruned; matched = segments with a row passing the filter;
 * consuming = mutable segments queried; pruned_by_server = invalid (no
 * rows) + by_limit (a selection LIMIT already met) + by_value (min/max,
 * time range, dictionary, bloom filter, constant predicates);
 * docs_scanned = rows passing the filter; entries_scanned_in_filter =
 * values the filter read (rows x predicate columns when scanning, index
 * entries when an index answers); post_filter = docs_scanned x columns
 * read after the filter; total_docs = rows of every queried segment. */
typedef struct QueryStats {
	uint64_t num_docs_scanned;
	uint64_t total_docs;
	uint64_t num_entries_scanned_in_filter;
	uint64_t num_entries_scanned_post_filter;
	int num_segments_queried;
	int num_segments_processed;
	int num_segments_matched;
	int num_consuming_segments_queried;
	int num_segments_pruned_by_server;
	int num_segments_pruned_invalid;
	int num_segments_pruned_by_limit;
	int num_segments_pruned_by_value;
	int num_segments_index_used;	/* file segments whose filter used an index */
	size_t peak_mem;
	int64_t time_used_ms;
} QueryStats;

typedef struct ResultCol {
	const char *name;
	WbType type;
	int mv;
	int untyped;		/* a bare NULL (typed STRING for lack of a
				 * type): UNION takes the other inputs' type */
} ResultCol;

typedef struct ResultSet {
	int ncols;
	ResultCol *cols;
	size_t nrows;
	Value *rows;		/* nrows * ncols, row-major */
	int partial;		/* cut by the row ceiling */
	const char *table;	/* table queried, or NULL */
	char warning[256];
	QueryStats stats;
	Arena arena;		/* owns everything above */
	struct MemBudget *budget;	/* a statement over derived rows: the
					 * budget its materialized rows were
					 * charged to (freed last), or NULL */
} ResultSet;

/* Server-wide ceilings; a client cannot raise a limit above them. */
void query_set_ceilings(int64_t timeout_ms, size_t max_rows, size_t mem_limit, size_t max_groups);

/* Runs one statement.  On success *out is owned by the caller
 * (result_free).  Errors carry position (1-based, into sql) when known. */
int query_exec(Catalog *c, const char *sql, const QueryOpts *opts,
	       ResultSet **out, Err *e);
void result_free(ResultSet *r);

/* Tests: fn (NULL = none) is called with a view of every table snapshot
 * a query takes (to run it or EXPLAIN it) before the query reads it: a
 * copy of the snapshot whose segment list fn may edit, e.g. set
 * SnapSeg.valid / nvalid to bitmaps the test owns (they must outlive
 * the query).  The snapshot itself is left as taken and freed as usual.
 * Process-wide and unsynchronized: set it while no query runs. */
typedef void (*QuerySnapHook)(TableSnap *snap, void *arg);
void query_set_snap_hook(QuerySnapHook fn, void *arg);

/* Table functions of upper layers (life-cycle tracking's flow_stuck(...)):
 * a function called name in FROM calls fn with the catalog the statement
 * runs on and its arguments' values (constant expressions, evaluated
 * first), and reads the rows fn puts in *out (a ResultSet from
 * query_result_new: columns and rows in its arena).  fn returns 0 or an
 * ERR_* with e set.  Registration is process-wide; a name registered
 * again replaces the previous one; fn NULL removes it. */
typedef int (*QueryTableFn)(void *ctx, Catalog *c, const char *name, const Value *args, int nargs,
			    ResultSet **out, Err *e);
void query_register_table_fn(const char *name, QueryTableFn fn, void *ctx);
/* An empty ResultSet (NULL on OOM), for table functions. */
ResultSet *query_result_new(void);

/* Parses Pinot's queryOptions string "k=v;k2=v2" into opts (unknown keys
 * are ignored). */
int query_parse_options(const char *s, QueryOpts *opts, Err *e);

/* Runs sql and writes Pinot's complete broker response to out (always a
 * JSON object; failures go to "exceptions" with Pinot's error codes). */
void query_pinot_response(Catalog *c, const char *sql, const char *query_options,
			  Buf *out);

#endif
