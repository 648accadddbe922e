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
 * Column changes (a schema that adds columns; driven by table.c, which
 * keeps every writer out from prepare to install/abort):
 *   prepare  builds a new MutSeg in the new layout and copies the
 *            published rows into it (old column i to its new index, new
 *            columns NULL with their default), and writes the same rows
 *            into DIR/wal.next, led by a layout record; fsynced.
 *   commit   (after the caller made the new schema durable) renames
 *            wal.next over wal.log and fsyncs the directory.
 *   install  publishes the new MutSeg (atomic pointer store) and makes
 *            the new log the live one; the old MutSeg stays on a retired
 *            list until partition_close, as snapshots may still read it.
 *   abort    drops what prepare built and removes wal.next.
 * A layout record is a log record whose first u32 is LAYOUT_MARK (no row
 * batch has 2^32-1 rows), then u32 ncols and per column u8 type, u8 mv.
 * At open, a DIR/wal.next whose layout record matches the columns the
 * partition is opened with (the schema on disk) belongs to a committed
 * change that crashed before its rename: it is renamed over wal.log and
 * replayed.  Any other wal.next (no layout record, torn, another layout)
 * belongs to a change that never committed: it is removed and wal.log
 * replayed.  A layout record in wal.log must match, or the open fails
 * with ERR_CORRUPT naming both column counts.
 *
 * Owns: the MutSeg (and retired ones), the Wal, the thread, a copy of the
 * column descriptions.  Requests live on their callers' stacks.
 *
 * Exports: partition_open, partition_close, partition_write,
 * partition_mutseg, partition_id, partition_last_write_ms,
 * partition_wal_bytes, partition_evolve_prepare, partition_evolve_commit,
 * partition_evolve_install, partition_evolve_abort.
 */
#include "table/partition.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/metric.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "storage/wal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LAYOUT_MARK 0xffffffffu
#define COPY_ROWS 4096		/* rows per record when rewriting the log */

typedef struct RetiredSeg {
	struct RetiredSeg *next;
	MutSeg *seg;
} RetiredSeg;

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
	ColDesc *cols;		/* owned copy */
	MutSeg *_Atomic seg;	/* replaced only by install */
	Wal *wal;
	RetiredSeg *retired;	/* segments replaced by a column change */
	/* a prepared column change */
	MutSeg *next_seg;
	Wal *next_wal;
	ColDesc *next_cols;
	int next_ncols;
	/* replay state (partition_open only) */
	int need_layout;	/* replaying wal.next: a layout record must lead */
	int layout_ok;
	int layout_bad;
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

static void
layout_encode(Buf *b, int ncols, const ColDesc *cols)
{
	uint32_t h[2] = {LAYOUT_MARK, (uint32_t)ncols};
	buf_append(b, h, sizeof(h));
	for (int i = 0; i < ncols; i++) {
		char d[2] = {(char)cols[i].type, (char)(cols[i].mv != 0)};
		buf_append(b, d, 2);
	}
}

static int
is_layout(const char *data, size_t len)
{
	uint32_t m;
	if (len < 4)
		return 0;
	memcpy(&m, data, 4);
	return m == LAYOUT_MARK;
}

/* 1 if the layout record describes exactly ncols/cols; *n gets its
 * column count (-1 if malformed). */
static int
layout_matches(const char *data, size_t len, int ncols, const ColDesc *cols, long *n)
{
	uint32_t h[2];
	*n = -1;
	if (len < sizeof(h))
		return 0;
	memcpy(h, data, sizeof(h));
	if (len != sizeof(h) + 2 * (size_t)h[1])
		return 0;
	*n = (long)h[1];
	if ((int)h[1] != ncols)
		return 0;
	const unsigned char *d = (const unsigned char *)data + sizeof(h);
	for (int i = 0; i < ncols; i++)
		if (d[2 * i] != (unsigned char)cols[i].type || d[2 * i + 1] != (cols[i].mv != 0))
			return 0;
	return 1;
}

static int
replay_record(void *ctx, const char *data, size_t len, Err *e)
{
	Partition *p = ctx;
	if (is_layout(data, len)) {
		long n;
		if (!layout_matches(data, len, p->ncols, p->cols, &n)) {
			p->layout_bad = 1;
			return err_set(e, ERR_CORRUPT,
				       "partition %s: log records a layout of %ld columns, the schema has %d columns (types or order differ)",
				       p->dir, n, p->ncols);
		}
		p->layout_ok = 1;
		return 0;
	}
	if (p->need_layout && !p->layout_ok) {
		p->layout_bad = 1;
		return err_set(e, ERR_CORRUPT, "partition %s: rewritten log has no layout record", p->dir);
	}
	RowBatch b;
	rowbatch_init(&b, p->ncols);
	int rc = rowbatch_decode(&b, data, len, e);
	MutSeg *seg = atomic_load_explicit(&p->seg, memory_order_relaxed);
	if (rc == 0)
		rc = mutseg_append(seg, &b, e);
	if (rc == 0)
		mutseg_publish(seg);
	rowbatch_free(&b);
	return rc;
}

static void
commit_group(Partition *p, WriteReq *group)
{
	Err e = {0};
	int rc = 0;
	/* only this thread and a column change (while no request is queued
	 * or running) store p->seg */
	MutSeg *seg = atomic_load_explicit(&p->seg, memory_order_relaxed);
	if (p->failed)
		rc = err_set(&e, ERR_IO, "partition %d is failed after an I/O error", p->id);
	for (WriteReq *r = group; rc == 0 && r; r = r->next)
		rc = mutseg_append(seg, r->batch, &e);
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
		else {
			metric_add(METRIC_WAL_SYNCS, 1);
			metric_add(METRIC_WAL_BYTES, wal_size(p->wal) - wal_before);
		}
	}
	if (rc == 0) {
		mutseg_publish(seg);
		atomic_store(&p->last_write_ms, clock_wall_ms());
	} else {
		mutseg_rollback(seg);
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

/* Completes or discards a column change that crashed half-way (see the
 * header comment).  On return p->wal is open when the change was
 * completed, else NULL and wal.log is still to be opened. */
static int
recover_next(Partition *p, const ColDesc *cols, Err *e)
{
	char next[4096], log[4096];
	snprintf(next, sizeof(next), "%s/wal.next", p->dir);
	snprintf(log, sizeof(log), "%s/wal.log", p->dir);
	if (!file_exists(next))
		return 0;
	p->need_layout = 1;
	p->layout_ok = p->layout_bad = 0;
	Wal *w = NULL;
	Err le = {0};
	int rc = wal_open(next, replay_record, p, &w, &le);
	p->need_layout = 0;
	if (rc == 0 && p->layout_ok) {
		if ((rc = wal_rename(w, log, e)) != 0) {
			wal_close(w);
			return rc;
		}
		log_info("partition %s: completed a schema change (installed the rewritten log)", p->dir);
		p->wal = w;
		return 0;
	}
	if (rc != 0 && !p->layout_bad) {
		*e = le;
		return rc;
	}
	wal_close(w);
	log_warn("partition %s: removing %s of a schema change that was not committed%s%s", p->dir,
		 next, rc ? ": " : "", rc ? err_msg(&le) : "");
	MutSeg *fresh = mutseg_create(p->ncols, cols);
	if (fresh == NULL)
		return err_set(e, ERR_NOMEM, "opening partition %s", p->dir);
	mutseg_free(atomic_load_explicit(&p->seg, memory_order_relaxed));
	atomic_store_explicit(&p->seg, fresh, memory_order_relaxed);
	if (unlink(next) != 0)
		return err_set(e, ERR_IO, "remove %s: %s", next, strerror(errno));
	return file_fsync_dir(p->dir, e);
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
	p->cols = mem_calloc((size_t)ncols + 1, sizeof(ColDesc));
	if (p->cols)
		memcpy(p->cols, cols, sizeof(ColDesc) * (size_t)ncols);
	atomic_init(&p->seg, mutseg_create(ncols, cols));
	buf_init(&p->enc);
	if (p->dir == NULL || p->cols == NULL || atomic_load(&p->seg) == NULL) {
		rc = err_set(e, ERR_NOMEM, "opening partition %s", dir);
		goto fail;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/wal.log", dir);
	int64_t t0 = clock_mono_ns();
	if ((rc = recover_next(p, cols, e)) != 0)
		goto fail;
	if (p->wal == NULL && (rc = wal_open(path, replay_record, p, &p->wal, e)) != 0)
		goto fail;
	if (wal_records(p->wal))
		log_info("partition %s: replayed %llu log records, %zu rows in %.1f ms", dir,
			 (unsigned long long)wal_records(p->wal), mutseg_rows(atomic_load(&p->seg)),
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
	mutseg_free(atomic_load(&p->seg));
	mem_free(p->cols);
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
	partition_evolve_abort(p);
	wal_close(p->wal);
	mutseg_free(atomic_load(&p->seg));
	while (p->retired) {
		RetiredSeg *r = p->retired;
		p->retired = r->next;
		mutseg_free(r->seg);
		mem_free(r);
	}
	mem_free(p->cols);
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

const MutSeg *partition_mutseg(const Partition *p) { return atomic_load(&((Partition *)p)->seg); }
int partition_id(const Partition *p) { return p->id; }
int64_t partition_last_write_ms(const Partition *p) { return atomic_load(&((Partition *)p)->last_write_ms); }
uint64_t partition_wal_bytes(const Partition *p) { return wal_size(p->wal); }

/* ---- column changes --------------------------------------------------- */

/* Fills row with published row r of old, mapped to the new layout. */
static int
copy_row(const MutSeg *old, size_t r, int ncols, const ColDesc *cols, const int *map,
	 Value *row, Arena *a)
{
	for (int i = 0; i < ncols; i++) {
		if (map[i] >= 0) {
			int rc = mutcol_value(mutseg_col(old, map[i]), r, &row[i], a);
			if (rc)
				return rc;
			continue;
		}
		row[i] = cols[i].has_dflt && !cols[i].mv ? cols[i].dflt : value_null(cols[i].type);
		row[i].type = (uint8_t)cols[i].type;
		row[i].null = 1;
		row[i].mv = (uint8_t)(cols[i].mv != 0);
		if (cols[i].mv)
			row[i].n = 0;
	}
	return 0;
}

int
partition_evolve_prepare(Partition *p, int ncols, const ColDesc *cols, const int *map, Err *e)
{
	if (p->failed)
		return err_set(e, ERR_IO, "partition %s is failed after an I/O error; restart the server",
			       p->dir);
	partition_evolve_abort(p);
	char next[4096];
	snprintf(next, sizeof(next), "%s/wal.next", p->dir);
	if (unlink(next) != 0 && errno != ENOENT)
		return err_set(e, ERR_IO, "remove %s: %s", next, strerror(errno));
	p->next_cols = mem_calloc((size_t)ncols + 1, sizeof(ColDesc));
	p->next_seg = mutseg_create(ncols, cols);
	if (p->next_cols == NULL || p->next_seg == NULL) {
		partition_evolve_abort(p);
		return err_set(e, ERR_NOMEM, "changing the columns of partition %s", p->dir);
	}
	memcpy(p->next_cols, cols, sizeof(ColDesc) * (size_t)ncols);
	p->next_ncols = ncols;
	int rc = wal_open(next, NULL, NULL, &p->next_wal, e);
	if (rc) {
		partition_evolve_abort(p);
		return rc;
	}
	const MutSeg *old = atomic_load_explicit(&p->seg, memory_order_relaxed);
	size_t nrows = mutseg_rows(old);
	Buf enc;
	buf_init(&enc);
	layout_encode(&enc, ncols, cols);
	rc = enc.oom ? err_set(e, ERR_NOMEM, "encoding a layout record")
		     : wal_append(p->next_wal, enc.p, enc.len, e);
	RowBatch b;
	rowbatch_init(&b, ncols);
	for (size_t r0 = 0; rc == 0 && r0 < nrows; r0 += COPY_ROWS) {
		size_t n = nrows - r0 < COPY_ROWS ? nrows - r0 : COPY_ROWS;
		rowbatch_reset(&b);
		for (size_t r = r0; rc == 0 && r < r0 + n; r++) {
			Value *row = rowbatch_add_row(&b);
			if (row == NULL || copy_row(old, r, ncols, cols, map, row, &b.arena) != 0)
				rc = err_set(e, ERR_NOMEM, "copying rows of partition %s", p->dir);
		}
		if (rc == 0 && (rc = mutseg_append(p->next_seg, &b, e)) == 0)
			mutseg_publish(p->next_seg);
		buf_reset(&enc);
		rowbatch_encode(&b, &enc);
		if (rc == 0)
			rc = enc.oom ? err_set(e, ERR_NOMEM, "encoding a log record")
				     : wal_append(p->next_wal, enc.p, enc.len, e);
	}
	rowbatch_free(&b);
	buf_free(&enc);
	if (rc == 0)
		rc = wal_sync(p->next_wal, e);
	if (rc)
		partition_evolve_abort(p);
	return rc;
}

int
partition_evolve_commit(Partition *p, Err *e)
{
	char log[4096];
	snprintf(log, sizeof(log), "%s/wal.log", p->dir);
	int rc = p->next_wal ? wal_rename(p->next_wal, log, e)
			     : err_set(e, ERR_INTERNAL, "partition %s: no column change prepared", p->dir);
	if (rc) {
		/* the new schema is durable and so is wal.next, which the
		 * next start installs; until then take no writes, and no
		 * further change (it would remove wal.next) */
		p->failed = 1;
		log_error("partition %s: %s; the partition refuses writes until restarted", p->dir,
			  err_msg(e));
	}
	return rc;
}

void
partition_evolve_install(Partition *p)
{
	if (p->next_seg == NULL)
		return;
	RetiredSeg *r = mem_alloc_or_die(sizeof(RetiredSeg));
	r->seg = atomic_load_explicit(&p->seg, memory_order_relaxed);
	r->next = p->retired;
	p->retired = r;
	wal_close(p->wal);
	p->wal = p->next_wal;
	mem_free(p->cols);
	p->cols = p->next_cols;
	p->ncols = p->next_ncols;
	atomic_store_explicit(&p->seg, p->next_seg, memory_order_release);
	p->next_seg = NULL;
	p->next_wal = NULL;
	p->next_cols = NULL;
	p->next_ncols = 0;
}

void
partition_evolve_abort(Partition *p)
{
	if (p->next_wal) {
		char next[4096];
		snprintf(next, sizeof(next), "%s/wal.next", p->dir);
		wal_close(p->next_wal);
		/* harmless if it stays: the next start finds its layout does
		 * not match the schema and removes it */
		unlink(next);
	}
	mutseg_free(p->next_seg);
	mem_free(p->next_cols);
	p->next_seg = NULL;
	p->next_wal = NULL;
	p->next_cols = NULL;
	p->next_ncols = 0;
}
