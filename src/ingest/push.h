/*
 * push.h -- one push-ingest job: a body streamed into a table.
 *
 * States: FEEDING (push_feed any number of times) -> FINISHED
 * (push_finish) or FAILED (a write failed: later calls return the error).
 * Good rows are written to the table in batches; every bad record goes to
 * sys.dead_letters, written before the good rows of the same batch.  When
 * push_finish returns 0, every accepted row is durable and visible.
 */
#ifndef WB_PUSH_H
#define WB_PUSH_H

#include <stdint.h>

#include "base/err.h"
#include "ingest/decoder.h"
#include "table/catalog.h"

#define PUSH_MAX_ERRORS 100

typedef struct PushError {
	uint64_t line;
	char column[128];	/* empty when the record as a whole is bad */
	char reason[256];
} PushError;

typedef struct PushResult {
	uint64_t accepted;
	uint64_t rejected;
	uint64_t filtered;	/* rows dropped by the table's filterConfig */
	uint64_t bytes;
	int nerrors;		/* first errors, up to PUSH_MAX_ERRORS */
	PushError errors[PUSH_MAX_ERRORS];
} PushResult;

typedef struct PushJob PushJob;

/* t is referenced by the job; source names the origin for dead letters
 * (e.g. "http"). */
int push_begin(Catalog *c, Table *t, DecodeFormat fmt, const DecodeOpts *o,
	       const char *source, PushJob **out, Err *e);
int push_feed(PushJob *j, const char *data, size_t n, Err *e);
/* Ends the body and writes what is left; fills res (also on failure, with
 * what was accepted so far). */
int push_finish(PushJob *j, PushResult *res, Err *e);
/* Current counts (for progress), without finishing. */
void push_progress(const PushJob *j, PushResult *res);
void push_free(PushJob *j);

#endif
