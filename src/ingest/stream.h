/*
 * stream.h -- the Kafka sources of stream-fed REALTIME tables.
 *
 * A StreamSet watches the catalog: every table whose config has
 * streamType kafka gets a source, which consumes each partition of its
 * topic into the table partition of the same number, exactly once
 * (positions recorded with the rows: table_write_stream), with bad
 * messages recorded in sys.dead_letters.  Tables created, changed or
 * dropped are picked up within a second (or at once with
 * streamset_sync); partitions added to a topic within a few seconds.
 */
#ifndef WB_STREAM_H
#define WB_STREAM_H

#include "base/buf.h"
#include "base/err.h"
#include "ingest/xform.h"
#include "table/catalog.h"

typedef struct StreamSet StreamSet;

/* Starts watching c (borrowed; must outlive the set); cc compiles the
 * tables' ingestion transforms (copied; its functions must stay valid). */
int streamset_create(Catalog *c, const XformCompiler *cc, StreamSet **out, Err *e);
/* Stops every source (their rows stay in the tables). */
void streamset_free(StreamSet *s);
/* Checks what a table config asks of ingestion against schema sc before
 * the table is created or changed: its transforms compile, and for a
 * stream table the stream settings and decoder are valid.  ERR_BAD_CONFIG
 * (or the decoder's error) names the setting. */
int streamset_check(const StreamSet *s, const TableConfig *cfg, const Schema *sc, Err *e);
/* Reconciles sources with the catalog now. */
void streamset_sync(StreamSet *s);

/* Pinot's pauseConsumption: seals the consuming segments and stops
 * consuming until resumed (remembered across restarts).  ERR_NOT_FOUND
 * for a table that is not stream-fed.  Appends Pinot's answer
 * ({"pauseFlag":..,"consumingSegments":[..],"description":..}) to out. */
int streamset_pause(StreamSet *s, const char *table, Buf *out, Err *e);
/* resumeConsumption; consume_from NULL (where it stopped), "smallest" or
 * "largest" (never before where it stopped: nothing is consumed twice). */
int streamset_resume(StreamSet *s, const char *table, const char *consume_from, Buf *out,
		     Err *e);
/* pauseStatus. */
int streamset_pause_status(StreamSet *s, const char *table, Buf *out, Err *e);

#endif
