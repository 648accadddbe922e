/*
 * partition.h -- one partition of a table: the unit of ownership and
 * recovery.  It owns a mutable segment, a write-ahead log and the single
 * writer thread that changes them.
 *
 * States: OPEN -> (fsync failure) FAILED -> CLOSED.  partition_open moves
 * nothing to OPEN until the log was replayed into the mutable segment;
 * partition_close stops the writer after it drained queued requests.
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

#endif
