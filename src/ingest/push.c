/*
 * push.c -- a push-ingest job: decoder -> row batch -> table, with
 * rejected records collected for sys.dead_letters.
 *
 * Memory is bounded: rows accumulate in a RowBatch until PUSH_FLUSH_ROWS
 * rows or PUSH_FLUSH_BYTES of strings, then the batch is written
 * (table_write: durable and visible on return) and reset.  A body small
 * enough for one batch is therefore written atomically.
 *
 * Writes overlap decoding: the job has two slots of batches.  A full slot
 * is handed to the job's flusher thread (started on the first flush), and
 * decoding continues into the other slot; before the next hand-over the
 * job waits for the previous write.  So at most two batches are held, and
 * the fsync of one batch overlaps the decoding of the next.  push_finish
 * returns only after the last write completed.  Rejected records
 * become rows of the dead-letter table (catalog_dead_letter_row: raw bytes made valid
 * UTF-8, cut at 64 KiB) and are written just before the good rows of the
 * same flush, so each bad record is stored once per accepted flush.
 *
 * Ingestion transforms and filters of the table's config are applied by
 * the decoder (decoder.h, xform.h); rows a filter drops are counted in
 * PushResult.filtered, not rejected.
 *
 * The job owns its decoder and batches, and holds a reference to the
 * target table and to sys.dead_letters.
 *
 * Exports: push_begin, push_feed, push_finish, push_progress, push_free.
 */
#include "ingest/push.h"
#include "base/clock.h"
#include "base/metric.h"
#include "base/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PUSH_FLUSH_ROWS 32768
#define PUSH_FLUSH_BYTES (8u << 20)

struct PushJob {
	Catalog *cat;
	Table *table;
	Table *dead;
	Decoder *dec;
	char *source;
	RowBatch rows_slot[2];
	RowBatch bad_slot[2];
	int cur;		/* slot being decoded into */
	PushResult res;
	int failed;
	int counted;		/* metrics recorded (finish or free) */
	Err fail_err;
	/* flusher thread; fields below are under mu */
	pthread_t th;
	int th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int busy;		/* a slot is being written */
	int busy_slot;
	int stop;
	int wrc;		/* result of the last write */
	Err werr;
	uint64_t waccepted;	/* rows made durable by the flusher */
};

#define CUR_ROWS(j) (&(j)->rows_slot[(j)->cur])
#define CUR_BAD(j) (&(j)->bad_slot[(j)->cur])

static void
copy_trunc(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void
on_reject(void *ctx, uint64_t line, const char *column, const char *reason,
	  const char *raw, size_t raw_len)
{
	PushJob *j = ctx;
	j->res.rejected++;
	if (j->res.nerrors < PUSH_MAX_ERRORS) {
		PushError *pe = &j->res.errors[j->res.nerrors++];
		pe->line = line;
		copy_trunc(pe->column, sizeof(pe->column), column);
		copy_trunc(pe->reason, sizeof(pe->reason), reason);
	}
	/* a row that cannot be added (no memory) leaves the counts right;
	 * the record is then missing from sys.dead_letters only */
	(void)catalog_dead_letter_row(j->cat, CUR_BAD(j), table_name(j->table), j->source,
				      (int64_t)line, column, reason, raw, raw_len);
}

/* Writes slot k: dead letters first, then the rows. */
static int
write_slot(PushJob *j, int k, uint64_t *accepted, Err *e)
{
	int rc = 0;
	RowBatch *bad = &j->bad_slot[k], *rows = &j->rows_slot[k];
	if (bad->nrows)
		rc = table_write(j->dead, bad, e);
	if (rc == 0 && rows->nrows) {
		rc = table_write(j->table, rows, e);
		if (rc == 0)
			*accepted += rows->nrows;
	}
	rowbatch_reset(bad);
	rowbatch_reset(rows);
	return rc;
}

static void *
flusher_main(void *arg)
{
	PushJob *j = arg;
	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (!j->busy && !j->stop)
			pthread_cond_wait(&j->cv, &j->mu);
		if (!j->busy)
			break;
		int k = j->busy_slot;
		pthread_mutex_unlock(&j->mu);
		Err e = {0};
		uint64_t acc = 0;
		int rc = write_slot(j, k, &acc, &e);
		pthread_mutex_lock(&j->mu);
		j->waccepted += acc;
		if (rc && j->wrc == 0) {
			j->wrc = rc;
			j->werr = e;
		}
		j->busy = 0;
		pthread_cond_broadcast(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Waits for the write in flight (if any); returns its result. */
static int
wait_flush(PushJob *j, Err *e)
{
	if (!j->th_started)
		return 0;
	pthread_mutex_lock(&j->mu);
	while (j->busy)
		pthread_cond_wait(&j->cv, &j->mu);
	int rc = j->wrc;
	j->res.accepted = j->waccepted;
	if (rc && !j->failed) {
		j->failed = 1;
		j->fail_err = j->werr;
	}
	pthread_mutex_unlock(&j->mu);
	if (rc && e && e->code == 0)
		*e = j->fail_err;
	return rc;
}

/* Hands the current slot to the flusher and switches slots.  With sync
 * set, also waits for it (the end of the body). */
static int
flush(PushJob *j, int sync, Err *e)
{
	int rc = wait_flush(j, e);
	if (rc)
		return rc;
	if (!j->th_started) {
		if (pthread_create(&j->th, NULL, flusher_main, j) != 0) {
			/* no thread: write synchronously */
			uint64_t acc = 0;
			rc = write_slot(j, j->cur, &acc, e);
			j->res.accepted += acc;
			if (rc) {
				j->failed = 1;
				if (e)
					j->fail_err = *e;
				else
					err_set(&j->fail_err, rc, "writing a batch");
			}
			return rc;
		}
		j->th_started = 1;
		j->waccepted = j->res.accepted;
	}
	pthread_mutex_lock(&j->mu);
	j->busy = 1;
	j->busy_slot = j->cur;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	j->cur ^= 1;
	return sync ? wait_flush(j, e) : 0;
}

int
push_begin(Catalog *c, Table *t, DecodeFormat fmt, const DecodeOpts *o,
	   const char *source, PushJob **out, Err *e)
{
	PushJob *j = mem_calloc(1, sizeof(PushJob));
	if (j == NULL)
		return err_set(e, ERR_NOMEM, "starting ingest");
	j->cat = c;
	j->table = t;
	table_ref(t);
	j->dead = catalog_get_table(c, "sys.dead_letters");
	j->source = mem_strdup(source ? source : "http");
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	for (int k = 0; k < 2; k++) {
		rowbatch_init(&j->rows_slot[k], table_schema(t)->nfields);
		rowbatch_init(&j->bad_slot[k], j->dead ? table_schema(j->dead)->nfields : 1);
	}
	/* the table's ingestion transforms apply (decoder.h) */
	DecodeOpts oo;
	if (o != NULL)
		oo = *o;
	else
		decoder_opts_init(&oo);
	if (oo.config == NULL)
		oo.config = table_config(t);
	j->dec = decoder_create(fmt, table_schema(t), &oo, e);
	if (j->dec == NULL || j->dead == NULL || j->source == NULL) {
		int rc = e && e->code ? e->code : err_set(e, ERR_NOMEM, "starting ingest");
		push_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

int
push_feed(PushJob *j, const char *data, size_t n, Err *e)
{
	if (j->failed) {
		if (e && e->code == 0)
			*e = j->fail_err;
		return j->fail_err.code;
	}
	/* feed in slices so one huge chunk cannot grow the batch unbounded */
	while (n > 0) {
		size_t k = n > (1u << 20) ? (1u << 20) : n;
		if (decoder_feed(j->dec, data, k, CUR_ROWS(j), on_reject, j) != 0)
			return err_set(e, ERR_NOMEM, "decoding the body");
		j->res.bytes += k;
		data += k;
		n -= k;
		RowBatch *rows = CUR_ROWS(j), *bad = CUR_BAD(j);
		if (rows->nrows >= PUSH_FLUSH_ROWS || rows->arena.total >= PUSH_FLUSH_BYTES ||
		    bad->nrows >= PUSH_FLUSH_ROWS || bad->arena.total >= PUSH_FLUSH_BYTES) {
			int rc = flush(j, 0, e);
			if (rc)
				return rc;
		}
	}
	return 0;
}

void
push_progress(const PushJob *j, PushResult *res)
{
	PushJob *mj = (PushJob *)j;
	*res = j->res;
	if (j->dec != NULL) {
		DecodeStats st;
		decoder_stats(j->dec, &st);
		res->filtered = st.filtered;
	}
	if (j->th_started) {
		pthread_mutex_lock(&mj->mu);
		res->accepted = j->waccepted;
		pthread_mutex_unlock(&mj->mu);
	}
}

/* Records the job in the process metrics once: rows made durable count
 * even when the job failed later. */
static void
count_metrics(PushJob *j, int rc)
{
	if (j->counted)
		return;
	j->counted = 1;
	PushResult r;
	push_progress(j, &r);
	metric_add(METRIC_INGEST_ROWS, r.accepted);
	metric_add(METRIC_INGEST_REJECTED, r.rejected);
	metric_add(METRIC_INGEST_BYTES, r.bytes);
	metric_add(METRIC_INGEST_REQUESTS, 1);
	if (rc != 0)
		metric_add(METRIC_INGEST_FAILED, 1);
}

int
push_finish(PushJob *j, PushResult *res, Err *e)
{
	int rc = 0;
	if (j->failed) {
		if (e && e->code == 0)
			*e = j->fail_err;
		rc = j->fail_err.code;
	} else if (decoder_finish(j->dec, CUR_ROWS(j), on_reject, j) != 0) {
		rc = err_set(e, ERR_NOMEM, "decoding the body");
		wait_flush(j, NULL);
	} else {
		rc = flush(j, 1, e);
	}
	if (res)
		push_progress(j, res);
	count_metrics(j, rc);
	return rc;
}

void
push_free(PushJob *j)
{
	if (j == NULL)
		return;
	if (j->th_started) {
		/* the client may have gone away mid-body: let the write in
		 * flight end, then stop the flusher */
		pthread_mutex_lock(&j->mu);
		while (j->busy)
			pthread_cond_wait(&j->cv, &j->mu);
		j->stop = 1;
		pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->th, NULL);
	}
	if (j->dec != NULL)
		count_metrics(j, ERR_CANCELED);	/* not finished: the client left */
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	decoder_free(j->dec);
	for (int k = 0; k < 2; k++) {
		rowbatch_free(&j->rows_slot[k]);
		rowbatch_free(&j->bad_slot[k]);
	}
	if (j->dead)
		table_unref(j->dead);
	table_unref(j->table);
	mem_free(j->source);
	mem_free(j);
}
