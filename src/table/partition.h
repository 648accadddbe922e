/*
 * partition.h -- one partition of a table: the unit of ownership and
 * recovery.  It owns a mutable segment, a write-ahead log and the single
 * writer thread that changes them.
 *
 * States: OPEN -> (fsync failure, or a column change whose new log could
 * not be renamed into place) FAILED -> CLOSED.  partition_open moves
 * nothing to OPEN until the log was replayed into the mutable segment
 * (completing or discarding a column change a crash interrupted);
 * partition_close stops the writer after it drained queued requests.
 * A column change: OPEN -> prepare -> PREPARED -> commit + install -> OPEN
 * (new layout), or PREPARED -> abort -> OPEN (old layout).
 */
#ifndef WB_PARTITION_H
#define WB_PARTITION_H

#include <stdint.h>

#include "base/err.h"
#include "storage/mutseg.h"
#include "storage/value.h"

typedef struct Partition Partition;

/* Opens (creating if needed) the partition stored under dir, replays its
 * log into a new mutable segment with the given columns, and starts its
 * writer thread. */
int partition_open(const char *dir, int id, int ncols, const ColDesc *cols,
		   Partition **out, Err *e);
void partition_close(Partition *p);

/* Hands b to the writer and waits until its rows are durable (fsynced in
 * the log, group-committed with concurrent requests) and published.  b is
 * borrowed for the duration of the call. */
int partition_write(Partition *p, const RowBatch *b, Err *e);

const MutSeg *partition_mutseg(const Partition *p);
int partition_id(const Partition *p);
int64_t partition_last_write_ms(const Partition *p);
uint64_t partition_wal_bytes(const Partition *p);

/* Changing the partition's columns (a schema that adds columns).  The
 * caller guarantees that no partition_write runs or starts from prepare
 * until install or abort returns (table.c holds its write lock).
 *
 * prepare: builds a segment with ncols columns cols (copied) holding the
 * published rows, column i taken from old column map[i] (map[i] < 0: a
 * new column, NULL with cols[i].dflt), and writes them to DIR/wal.next
 * (fsynced).  Nothing visible changes; on failure nothing is left.
 * commit: after the caller made the new schema durable, renames wal.next
 * over wal.log (a failure leaves the partition FAILED; the next start
 * completes the change).
 * install: publishes the new segment; the old one stays readable by
 * existing snapshots until partition_close.
 * abort: forgets a prepared change and removes wal.next. */
int partition_evolve_prepare(Partition *p, int ncols, const ColDesc *cols, const int *map,
			     Err *e);
int partition_evolve_commit(Partition *p, Err *e);
void partition_evolve_install(Partition *p);
void partition_evolve_abort(Partition *p);

#endif
