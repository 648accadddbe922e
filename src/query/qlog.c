/*
 * qlog.c -- ring buffer of recent queries for sys.queries.
 *
 * One mutex guards the ring; a query takes it once, after it finished,
 * to copy its entry in (the SQL text is cut at QLOG_SQL_MAX bytes on a
 * UTF-8 boundary).  Reading (a query on sys.queries) copies the entries
 * out under the same mutex.  Memory: a static array, QLOG_SIZE entries.
 *
 * Exports: qlog_record, qlog_rows, qlog_next_id.
 */
#include "query/qlog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static QlogEntry ring[QLOG_SIZE];
static uint64_t ring_count;	/* entries ever recorded */
static pthread_mutex_t ring_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t next_id = 1;

uint64_t qlog_next_id(void) { return atomic_fetch_add(&next_id, 1); }

void
qlog_record(const QlogEntry *q)
{
	pthread_mutex_lock(&ring_mu);
	QlogEntry *slot = &ring[ring_count % QLOG_SIZE];
	*slot = *q;
	/* never leave a cut UTF-8 sequence at the end */
	size_t n = strnlen(slot->sql, QLOG_SQL_MAX - 1);
	while (n > 0 && ((unsigned char)slot->sql[n - 1] & 0xC0) == 0x80)
		n--;
	if (n > 0 && ((unsigned char)slot->sql[n - 1] & 0x80) && n == QLOG_SQL_MAX - 1)
		n--;
	slot->sql[n] = '\0';
	slot->message[sizeof(slot->message) - 1] = '\0';
	ring_count++;
	pthread_mutex_unlock(&ring_mu);
}

static Value
text(Arena *a, const char *s)
{
	char *d = arena_strdup(a, s);
	return d ? value_str(TYPE_STRING, d, (uint32_t)strlen(d)) : value_null(TYPE_STRING);
}

int
qlog_rows(RowBatch *b)
{
	pthread_mutex_lock(&ring_mu);
	uint64_t first = ring_count > QLOG_SIZE ? ring_count - QLOG_SIZE : 0;
	int rc = 0;
	for (uint64_t i = first; i < ring_count; i++) {
		const QlogEntry *q = &ring[i % QLOG_SIZE];
		Value *r = rowbatch_add_row(b);
		if (r == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		r[0] = value_int(TYPE_LONG, (int64_t)q->id);
		r[1] = value_int(TYPE_TIMESTAMP, q->start_ms);
		r[2] = value_double(TYPE_DOUBLE, (double)q->duration_us / 1000.0);
		r[3] = value_int(TYPE_LONG, (int64_t)q->docs_scanned);
		r[4] = value_int(TYPE_LONG, (int64_t)q->total_docs);
		r[5] = value_int(TYPE_LONG, (int64_t)q->result_rows);
		r[6] = value_int(TYPE_LONG, (int64_t)q->peak_mem);
		r[7] = text(&b->arena, q->error ? err_name(q->error) : "OK");
		r[8] = q->message[0] ? text(&b->arena, q->message) : value_null(TYPE_STRING);
		r[9] = text(&b->arena, q->sql);
	}
	pthread_mutex_unlock(&ring_mu);
	return rc;
}
