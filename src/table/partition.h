/*
 * partition.h -- one partition of a table: the unit of ownership and
 * recovery.  It owns its segments (sealed segment files, at most one
 * mutable segment being sealed, the mutable segment taking writes), the
 * write-ahead log files of its mutable rows, and the two threads that
 * change them: the writer (appends, group commit, rotation) and the
 * sealer (segment files, manifest, retention, quarantine).
 *
 * States: OPEN -> (fsync failure, or a column change whose new log could
 * not be renamed into place) FAILED -> CLOSED.  partition_open moves
 * nothing to OPEN until the manifest's segments were mapped and the logs
 * replayed into the mutable segment (completing or discarding a column
 * change a crash interrupted); partition_close stops the writer after it
 * drained queued requests, then the sealer (an unfinished seal is simply
 * redone from the log at the next start).
 * A column change: OPEN -> prepare -> PREPARED -> commit + install -> OPEN
 * (new layout), or PREPARED -> abort -> OPEN (old layout).
 */
#ifndef WB_PARTITION_H
#define WB_PARTITION_H

#include <stdint.h>

#include "base/err.h"
#include "table/upsert.h"
#include "storage/mutseg.h"
#include "storage/segfile.h"
#include "storage/segwrite.h"
#include "storage/value.h"

typedef struct Partition Partition;

/* How a partition seals and ages its segments (from the table config and
 * schema; table.c builds it).  Thresholds of 0 are "never". */
typedef struct PartConfig {
	int64_t flush_rows;	/* seal when the mutable segment has this many rows */
	int64_t flush_bytes;	/* ... or uses this many bytes of memory */
	int64_t flush_time_ms;	/* ... or its first row is this old */
	int ncols;
	const SegColOpt *cols;	/* names and encodings, one per column */
	int sort_col;		/* -1 or the sortedColumn */
	int time_col;		/* -1 or an INT/LONG/TIMESTAMP time column */
	double time_unit_ms;	/* milliseconds per unit of the time column
				 * (0: unknown, no retention) */
	int64_t retention_ms;	/* drop sealed segments whose newest time is
				 * older than this (0: keep forever) */
} PartConfig;

enum { PART_SEG_SEALED, PART_SEG_SEALING, PART_SEG_MUTABLE };

/* One segment of a view. */
typedef struct PartSeg {
	int state;		/* PART_SEG_* */
	const MutSeg *mut;	/* SEALING / MUTABLE: the rows */
	SegFile *file;		/* SEALED: the mapped file */
	size_t rows;		/* rows at the time the view was made (a
				 * MUTABLE segment may have more now:
				 * mutseg_rows) */
	uint64_t seq;		/* segment sequence number in the partition */
	int64_t src_start, src_end;	/* source positions covered, [start, end)
					 * (pushed data: log file numbers) */
	int64_t off_start, off_end;	/* stream positions covered (Kafka
					 * offsets), -1 when none */
	uint64_t bytes;		/* file size, or memory of a mutable one */
	int64_t created_ms;	/* SEALED: creation time */
	/* upsert partitions: validity of rows [0, rows) (bit set = the
	 * latest live version of its key), owned by the view; NULL for an
	 * append partition.  rows is then fixed for a MUTABLE one too. */
	const uint64_t *valid;
	size_t nvalid;
} PartSeg;

/* An immutable list of a partition's segments, sealed ones first (oldest
 * first), then the one being sealed, then the mutable one: every row is
 * in exactly one of them.  Shared by reference count; a segment stays
 * mapped / allocated while any view holding it lives. */
typedef struct PartView {
	_Atomic int refs;
	int nsegs;
	PartSeg *segs;
	void **owners;		/* internal */
	int own_valid;		/* internal: the valid arrays are the view's */
} PartView;

/* Opens (creating if needed) the partition stored under dir: maps the
 * segments its manifest lists (a damaged one is quarantined), replays its
 * logs into a new mutable segment with the given columns, and starts its
 * threads.  Nothing is sealed until partition_configure.  ups (may be
 * NULL; copied) makes it an upsert partition: every write is decided
 * against its key index (upsert.h), its segments are never re-sorted, and
 * views carry validity bitmaps. */
int partition_open(const char *dir, int id, int ncols, const ColDesc *cols, const UpsertCfg *ups,
		   Partition **out, Err *e);
/* Upsert partitions: the key index's figures (zeros otherwise). */
void partition_upsert_stats(Partition *p, UpsertStats *st);
/* After partition_evolve_install of an upsert partition: column i of the
 * new layout (names) was old column map[i]. */
int partition_upsert_remap(Partition *p, const char **names, const int *map, Err *e);
void partition_close(Partition *p);

/* Sets the sealing and retention rules (copied).  cfg->ncols must be the
 * partition's column count, else nothing is sealed until it is. */
int partition_configure(Partition *p, const PartConfig *cfg, Err *e);

/* Hands b to the writer and waits until its rows are durable (fsynced in
 * the log, group-committed with concurrent requests) and published.  b is
 * borrowed for the duration of the call. */
int partition_write(Partition *p, const RowBatch *b, Err *e);

/* Writes b (may have no rows) as the messages of a stream at positions
 * [prev, end): prev must be the partition's stream position
 * (partition_stream_next, or any value for the first write), else
 * ERR_INVALID.  Unlike partition_write the log is not fsynced: the stream
 * keeps the messages, and after a crash the partition's position is that
 * of the last complete stream record in its log (an operating-system
 * crash may lose a tail; the source consumes it again).  Returns once the
 * rows are visible. */
int partition_write_stream(Partition *p, const RowBatch *b, int64_t prev, int64_t end, Err *e);
/* The position after the last stream write (sealed segments and log
 * included), or -1 if the partition never had one. */
int64_t partition_stream_next(Partition *p);

/* The current segments; release with partition_view_release. */
PartView *partition_view(Partition *p);
void partition_view_release(PartView *v);

/* Seals the mutable segment now (Pinot's forceCommit) and waits until its
 * file is durable and in the manifest; 0 at once if there is nothing to
 * seal.  Fails with the seal's error (e.g. disk full: the rows stay in
 * memory and in the log, and sealing is retried). */
int partition_seal(Partition *p, Err *e);

/* Moves the segment file of f to the partition's quarantine directory
 * (DIR/quarantine), dropping it from the manifest and from later views,
 * with reason logged and kept in a .reason file beside it.  Used when a
 * query finds a damaged block. */
void partition_quarantine(Partition *p, const SegFile *f, const char *reason);

/* Runs the retention and time-threshold checks now (tests, and the
 * sealer's own timer). */
void partition_tick(Partition *p);

int partition_id(const Partition *p);
const char *partition_dir(const Partition *p);
int64_t partition_last_write_ms(const Partition *p);
uint64_t partition_wal_bytes(const Partition *p);
int partition_quarantined(const Partition *p);	/* segments quarantined since open */

/* Changing the partition's columns (a schema that adds columns).  The
 * caller guarantees that no partition_write runs or starts from prepare
 * until install or abort returns (table.c holds its write lock).  Prepare
 * first waits for a seal in progress and holds further seals off until
 * install or abort; segment files keep the columns they were written with
 * (readers find columns by name).
 *
 * prepare: builds a segment with ncols columns cols (copied) holding the
 * published rows of the mutable segment, column i taken from old column
 * map[i] (map[i] < 0: a new column, NULL with cols[i].dflt), and writes
 * them to DIR/wal.next (fsynced).  Nothing visible changes; on failure
 * nothing is left.
 * commit: after the caller made the new schema durable, renames wal.next
 * to the next log file and removes the logs it replaces (a failure leaves
 * the partition FAILED; the next start completes the change).
 * install: publishes the new segment; the old one stays readable by
 * existing views.
 * abort: forgets a prepared change and removes wal.next. */
int partition_evolve_prepare(Partition *p, int ncols, const ColDesc *cols, const int *map,
			     Err *e);
int partition_evolve_commit(Partition *p, Err *e);
void partition_evolve_install(Partition *p);
void partition_evolve_abort(Partition *p);

#endif
