/*
 * partition.c -- a partition's writer thread, group commit and recovery.
 *
 * Writers (HTTP ingest jobs, dead-letter recording) call partition_write,
 * which queues a request and sleeps on it.  The writer thread takes every
 * queued request at once (a group) and, for the group:
 *   1. appends each batch to the mutable segment, unpublished; on failure
 *      (memory) the segment is rolled back and the whole group fails;
 *   2. encodes every batch into one log record per batch and writes them;
 *      a write error (disk full) rolls back the segment, cuts the log
 *      back to where the group began (wal_truncate) and fails the group;
 *      the partition stays usable;
 *   3. one fdatasync for the group (a failure moves the partition to
 *      FAILED: nothing is acknowledged and every later write is refused);
 *   4. publishes the segment -- the rows become visible to queries;
 *   5. wakes every request with its result.
 * So an acknowledged row is both durable and visible, and a row is never
 * visible before it is durable.
 *
 * At open, the log is replayed into the mutable segment before the writer
 * starts; a torn tail is cut by wal_open.  A newly created partition
 * directory is fsynced into its table directory and that into
 * DATA/tables, so acknowledged rows cannot vanish with a lost directory
 * entry.
 *
 * Owns: the MutSeg, the Wal, the thread.  Requests live on their callers'
 * stacks.
 *
 * Exports: partition_open, partition_close, partition_write,
 * partition_mutseg, partition_id, partition_last_write_ms,
 * partition_wal_bytes.
 */
#include "table/partition.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "storage/wal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct WriteReq {
	const RowBatch *batch;
	int done;
	int rc;
	Err err;
	struct WriteReq *next;
} WriteReq;

struct Partition {
	int id;
	char *dir;
	int ncols;
	MutSeg *seg;
	Wal *wal;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;	/* writer waits for work */
	pthread_cond_t done;	/* requesters wait for results */
	WriteReq *head, *tail;
	int stopping;
	int failed;
	_Atomic int64_t last_write_ms;
	Buf enc;		/* writer's encode buffer */
};

static int
replay_record(void *ctx, const char *data, size_t len, Err *e)
{
	Partition *p = ctx;
	RowBatch b;
	rowbatch_init(&b, p->ncols);
	int rc = rowbatch_decode(&b, data, len, e);
	if (rc == 0)
		rc = mutseg_append(p->seg, &b, e);
	if (rc == 0)
		mutseg_publish(p->seg);
	rowbatch_free(&b);
	return rc;
}

static void
commit_group(Partition *p, WriteReq *group)
{
	Err e = {0};
	int rc = 0;
	if (p->failed)
		rc = err_set(&e, ERR_IO, "partition %d is failed after an fsync error", p->id);
	for (WriteReq *r = group; rc == 0 && r; r = r->next)
		rc = mutseg_append(p->seg, r->batch, &e);
	uint64_t wal_before = wal_size(p->wal);
	for (WriteReq *r = group; rc == 0 && r; r = r->next) {
		buf_reset(&p->enc);
		rowbatch_encode(r->batch, &p->enc);
		if (p->enc.oom) {
			/* a Buf's OOM is sticky: start afresh, or every later
			 * group would fail too */
			buf_free(&p->enc);
			rc = err_set(&e, ERR_NOMEM, "encoding a log record");
		} else
			rc = wal_append(p->wal, p->enc.p, p->enc.len, &e);
	}
	if (rc == 0 && wal_size(p->wal) != wal_before) {
		rc = wal_sync(p->wal, &e);
		if (rc)
			p->failed = 1;
	}
	if (rc == 0) {
		mutseg_publish(p->seg);
		atomic_store(&p->last_write_ms, clock_wall_ms());
	} else {
		mutseg_rollback(p->seg);
		/* a failed append cuts its own partial record; the group's
		 * earlier records are cut here, or a later group's fsync would
		 * make refused rows durable and replay would bring them back.
		 * A failed sync leaves them, but the partition is failed and
		 * they were never acknowledged. */
		if (!p->failed && wal_size(p->wal) != wal_before) {
			Err te = {0};
			if (wal_truncate(p->wal, wal_before, &te) != 0)
				p->failed = 1;
		}
	}
	if (p->enc.cap > (64u << 20))
		buf_free(&p->enc);
	pthread_mutex_lock(&p->mu);
	for (WriteReq *r = group; r; r = r->next) {
		r->rc = rc;
		r->err = e;
		r->done = 1;
	}
	pthread_cond_broadcast(&p->done);
	pthread_mutex_unlock(&p->mu);
}

static void *
writer_main(void *arg)
{
	Partition *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->wake, &p->mu);
		if (p->head == NULL && p->stopping)
			break;
		WriteReq *group = p->head;
		p->head = p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		commit_group(p, group);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* fsyncs the directories holding dir and its parent (the table directory
 * and DATA/tables), so newly created ones survive a crash */
static int
sync_parents(const char *dir, Err *e)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", dir);
	for (int level = 0; level < 2; level++) {
		char *slash = strrchr(buf, '/');
		if (slash == NULL || slash == buf)
			return 0;
		*slash = '\0';
		int rc = file_fsync_dir(buf, e);
		if (rc)
			return rc;
	}
	return 0;
}

int
partition_open(const char *dir, int id, int ncols, const ColDesc *cols,
	       Partition **out, Err *e)
{
	int existed = file_exists(dir);
	int rc = file_mkdirs(dir, e);
	if (rc == 0 && !existed)
		rc = sync_parents(dir, e);
	if (rc)
		return rc;
	Partition *p = mem_calloc(1, sizeof(Partition));
	if (p == NULL)
		return err_set(e, ERR_NOMEM, "opening partition %s", dir);
	p->id = id;
	p->ncols = ncols;
	p->dir = mem_strdup(dir);
	p->seg = mutseg_create(ncols, cols);
	buf_init(&p->enc);
	if (p->dir == NULL || p->seg == NULL) {
		rc = err_set(e, ERR_NOMEM, "opening partition %s", dir);
		goto fail;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/wal.log", dir);
	int64_t t0 = clock_mono_ns();
	rc = wal_open(path, replay_record, p, &p->wal, e);
	if (rc)
		goto fail;
	if (wal_records(p->wal))
		log_info("partition %s: replayed %llu log records, %zu rows in %.1f ms", dir,
			 (unsigned long long)wal_records(p->wal), mutseg_rows(p->seg),
			 (double)(clock_mono_ns() - t0) / 1e6);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	if (pthread_create(&p->thread, NULL, writer_main, p) != 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot start writer thread for %s", dir);
		wal_close(p->wal);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	mutseg_free(p->seg);
	mem_free(p->dir);
	mem_free(p);
	return rc;
}

void
partition_close(Partition *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	wal_close(p->wal);
	mutseg_free(p->seg);
	buf_free(&p->enc);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	mem_free(p->dir);
	mem_free(p);
}

int
partition_write(Partition *p, const RowBatch *b, Err *e)
{
	if (b->nrows == 0)
		return 0;
	WriteReq r = {.batch = b};
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mu);
		return err_set(e, ERR_SHUTDOWN, "partition %d is closing", p->id);
	}
	if (p->tail)
		p->tail->next = &r;
	else
		p->head = &r;
	p->tail = &r;
	pthread_cond_signal(&p->wake);
	while (!r.done)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (r.rc && e && e->code == 0)
		*e = r.err;
	return r.rc;
}

const MutSeg *partition_mutseg(const Partition *p) { return p->seg; }
int partition_id(const Partition *p) { return p->id; }
int64_t partition_last_write_ms(const Partition *p) { return atomic_load(&((Partition *)p)->last_write_ms); }
uint64_t partition_wal_bytes(const Partition *p) { return wal_size(p->wal); }
