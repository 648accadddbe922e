/*
 * table.h -- a table's data: its schema, its config(s) and its partitions.
 *
 * A table name may carry an OFFLINE and a REALTIME config (a Pinot hybrid
 * table); Waybill keeps one set of partitions for the logical table and
 * queries see all of it.  Tables are shared by reference count: the
 * catalog holds one reference, each query or ingest job its own.
 *
 * Writes (table_write) are split by partition, appended to each
 * partition's write-ahead log, made durable and published before the call
 * returns.  Reads go through a TableSnap: a consistent list of segments
 * and their published row counts, taken without blocking writers.
 */
#ifndef WB_TABLE_H
#define WB_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "storage/mutseg.h"
#include "storage/segfile.h"
#include "storage/value.h"
#include "table/schema.h"
#include "table/tblconfig.h"

typedef struct Table Table;
typedef struct Partition Partition;

typedef struct SnapSeg {
	const MutSeg *seg;	/* a mutable segment, or NULL when file is set */
	size_t rows;		/* rows visible to this snapshot */
	int partition;
	const SegFile *file;	/* an immutable segment file (seg NULL) */
	int consuming;		/* the mutable segment taking writes (Pinot's
				 * "consuming segment"); a mutable segment
				 * being sealed is not */
	/* upsert tables: bit r set = row r is the latest live version of
	 * its key, for r < rows; NULL = every row is visible (an append
	 * table).  Owned by the snapshot; queries with skipUpsert=true
	 * ignore it and see every version. */
	const uint64_t *valid;
	size_t nvalid;		/* bits set in valid[0, rows) */
} SnapSeg;

struct PartView;

typedef struct TableSnap {
	Table *table;		/* referenced while the snapshot lives */
	int nsegs;
	SnapSeg *segs;
	size_t total_rows;
	/* the schema whose column order the segments follow (valid while
	 * the snapshot lives); a plan bound against another one must bind
	 * again: a schema change may have added columns in between */
	const Schema *schema;
	struct PartView **views;	/* one per partition: keeps the segments */
	int nviews;		/* partitions when the snapshot was taken */
} TableSnap;

#define TABLE_MAX_PARTS 1024

/* What a stream source reports about one partition it feeds (for
 * sys.ingestion and /metrics). */
typedef struct IngestStat {
	int valid;
	int partition;
	char source[200];	/* e.g. "kafka:orders" */
	char state[16];		/* CONSUMING, PAUSED, CATCHING_UP, ERROR */
	char error[256];	/* the last error, "" if none */
	int64_t offset;		/* the next offset to consume */
	int64_t high_watermark;	/* -1 if unknown */
	int64_t lag;		/* messages behind, -1 if unknown */
	uint64_t messages, rows, bytes, dead_letters, filtered;
	double msgs_per_s, rows_per_s, bytes_per_s;	/* over the last seconds */
	int64_t last_ingest_ms;	/* wall time of the last batch made visible */
	int64_t delay_ms;	/* Pinot's ingestion delay: age of the newest
				 * message consumed, 0 when caught up */
	int64_t freshness_ms;	/* produce-to-visible of the last batch (its
				 * oldest message), -1 if unknown */
	int64_t freshness_p99_ms;	/* over the last 1,024 batches */
	int64_t rate_limit;	/* messages per second, 0 = none */
} IngestStat;

const char *table_name(const Table *t);
/* The current schema; borrowed, valid while the caller holds a reference
 * to t (replaced schemas are kept until the table is freed). */
const Schema *table_schema(const Table *t);
/* The REALTIME config if any, else the OFFLINE one. */
const TableConfig *table_config(const Table *t);
const TableConfig *table_config_of(const Table *t, TableType type);
int table_num_partitions(const Table *t);

void table_ref(Table *t);
void table_unref(Table *t);

/* Takes a consistent snapshot; release with table_snap_free. */
int table_snapshot(Table *t, TableSnap *snap, Err *e);
void table_snap_free(TableSnap *snap);

/* Writes the rows of b (columns in schema order) durably: returns once
 * every row is in the WAL (fsynced) and visible to queries.  A batch
 * built for a schema the table had before columns were added is mapped
 * to the current one by column name (new columns NULL). */
int table_write(Table *t, const RowBatch *b, Err *e);

typedef struct TableStats {
	size_t rows;
	size_t bytes;
	int64_t last_write_ms;
	int segments;		/* sealed, sealing and mutable */
	int quarantined;	/* segment files quarantined since open */
} TableStats;
void table_stats(Table *t, TableStats *st);

/* Seals every partition's mutable segment now (Pinot's forceCommit) and
 * waits until the files are durable and in the manifests. */
int table_seal(Table *t, Err *e);
/* Quarantines the segment file f (a query found a damaged block in it). */
void table_quarantine(Table *t, const SegFile *f, const char *reason);
/* Runs retention and the time threshold now (tests). */
void table_tick(Table *t);

/* Write observer: called after every successful partition write of
 * table_write or table_write_stream, once the rows are visible, with the
 * partition and the rows written (in the current schema's layout;
 * borrowed for the call).  Calls for different partitions may run
 * concurrently; one partition's come in write order.  It must not write
 * to the same table.  Installed by the catalog (catalog_set_observer). */
typedef void (*TableObserver)(void *ctx, Table *t, int part, const RowBatch *b);

/* Stream-fed tables.
 * ensure_partitions: opens partitions up to n (a topic's partition count).
 * write_stream: writes b to partition part as the stream messages at
 * positions [prev, end) (partition_write_stream: not fsynced, visible on
 * return).  stream_next: that partition's next position, -1 if none.
 * seal_partition: forceCommit of one partition.
 * ingest_set / get / clear: the sources' reports (get returns a copy the
 * caller frees with mem_free). */
int table_ensure_partitions(Table *t, int n, Err *e);
int table_write_stream(Table *t, int part, const RowBatch *b, int64_t prev, int64_t end, Err *e);
int64_t table_stream_next(Table *t, int part);
int table_seal_partition(Table *t, int part, Err *e);
void table_ingest_set(Table *t, int part, const IngestStat *st);
void table_ingest_clear(Table *t);
int table_ingest_get(Table *t, IngestStat **out, int *n);

/* One segment of a table, for sys.segments. */
typedef struct SegInfo {
	int partition;
	const char *state;	/* "MUTABLE", "SEALING", "SEALED", "QUARANTINED"
				 * (static) */
	uint64_t seq;		/* segment number in the partition */
	int64_t created_ms;	/* SEALED: creation time */
	char reason[256];	/* QUARANTINED: why */
	char indexes[512];	/* SEALED: "col:sorted,col:inverted+bloom,..." */
	char name[256];
	char path[512];
	size_t rows;
	size_t bytes;
	int has_time;		/* min_time/max_time valid */
	int64_t min_time, max_time;	/* of the time column, ms or raw units */
	int64_t start_offset, end_offset;	/* source positions covered,
						 * [start, end) (pushed data:
						 * log file numbers; -1: open) */
} SegInfo;

/* An upsert table's key index, summed over its partitions (zeros for an
 * append table); returns 1 for an upsert table, else 0. */
typedef struct TableUpsertStats {
	uint64_t keys;		/* keys indexed (deleted ones included) */
	uint64_t deleted;	/* keys whose latest version is a delete */
	uint64_t index_bytes;	/* memory of the key indexes */
	uint64_t out_of_order;	/* rows that arrived older than their key's latest */
	uint64_t collisions;	/* distinct keys that shared a hash */
} TableUpsertStats;
int table_upsert_stats(Table *t, TableUpsertStats *st);

/* Fills *out (caller frees with mem_free) with one entry per segment. */
int table_segment_info(Table *t, SegInfo **out, int *n, Err *e);

#endif
