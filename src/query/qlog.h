/*
 * qlog.h -- the log of recent queries behind sys.queries: a fixed ring of
 * the last QLOG_SIZE statements with their timing, rows scanned, peak
 * memory and outcome.
 */
#ifndef WB_QLOG_H
#define WB_QLOG_H

#include <stddef.h>
#include <stdint.h>

#include "storage/value.h"

#define QLOG_SIZE 1024
#define QLOG_SQL_MAX 2048

typedef struct QlogEntry {
	uint64_t id;
	int64_t start_ms;	/* wall clock */
	int64_t duration_us;
	uint64_t docs_scanned;
	uint64_t total_docs;
	uint64_t result_rows;
	uint64_t peak_mem;
	int error;		/* 0 or an ERR_* code */
	char sql[QLOG_SQL_MAX];
	char message[256];	/* the error message, or "" */
} QlogEntry;

/* Records one finished statement (copies everything). */
void qlog_record(const QlogEntry *q);
/* Copies the entries, oldest first, into a RowBatch with the columns of
 * sys.queries; returns 0 or ERR_NOMEM. */
int qlog_rows(RowBatch *b);
/* The next query id. */
uint64_t qlog_next_id(void);

#endif
