/*
 * wal.h -- a partition's write-ahead log for pushed rows.
 *
 * States: OPEN (appending) -> FAILED (an fsync failed: the log can no
 * longer be trusted, every later call returns ERR_IO) ; wal_close from
 * either.  Records are length-prefixed and checksummed; wal_open replays
 * every intact record in order and cuts a torn tail left by a crash.
 */
#ifndef WB_WAL_H
#define WB_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct Wal Wal;

/* Called for each intact record at open; a non-zero return stops the
 * replay and fails wal_open with that code. */
typedef int (*WalReplayFn)(void *ctx, const char *data, size_t len, Err *e);

int wal_open(const char *path, WalReplayFn replay, void *ctx, Wal **out, Err *e);
void wal_close(Wal *w);
/* Appends one record (written, not yet durable).  On a write error (e.g.
 * ENOSPC) the log is cut back to its previous end and ERR_IO returned;
 * the log stays usable. */
int wal_append(Wal *w, const void *data, size_t len, Err *e);
/* Makes every appended record durable.  A failure is permanent (FAILED). */
int wal_sync(Wal *w, Err *e);
/* Cuts the log back to size (a value wal_size returned earlier), dropping
 * records appended since; used to undo a group whose later records could
 * not be written.  A failure marks the log FAILED. */
int wal_truncate(Wal *w, uint64_t size, Err *e);
/* Renames the log file to newpath (replacing what is there) and fsyncs
 * newpath's directory; the open log goes on appending to it.  Used to
 * install a rewritten log (a schema change) atomically. */
int wal_rename(Wal *w, const char *newpath, Err *e);
uint64_t wal_size(const Wal *w);
uint64_t wal_records(const Wal *w);

#endif
