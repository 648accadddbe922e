/*
 * partition.c -- a partition's segments, its writer and sealer threads,
 * group commit, sealing, the manifest and recovery.
 *
 * Files in the partition directory DIR:
 *   wal-NNNNNN.log   write-ahead log files, numbered; the mutable rows
 *                    are exactly the records of the files numbered above
 *                    the manifest's wal_through
 *   seg-NNNNNN.wbs   sealed segment files (docs/segment-format.md)
 *   MANIFEST         the sealed segments and wal_through; replaced
 *                    atomically (file_write_atomic), checksummed
 *   quarantine/      damaged segment files, each with a .reason file
 *   wal.next         a column change's rewritten log (below)
 *
 * Writes.  Writers (ingest jobs, dead-letter recording) call
 * partition_write, which queues a request and sleeps on it.  The writer
 * thread takes every queued request at once (a group) and, for the group:
 *   1. appends each batch to the mutable segment, unpublished; on failure
 *      (memory) the segment is rolled back and the whole group fails;
 *   2. encodes every batch into one log record and writes them; a write
 *      error (disk full) rolls back the segment, cuts the log back to
 *      where the group began (wal_truncate) and fails the group;
 *   3. one fdatasync for the group (a failure moves the partition to
 *      FAILED: nothing is acknowledged and every later write is refused);
 *   4. publishes the segment -- the rows become visible to queries;
 *   5. wakes every request with its result.
 * So an acknowledged row is both durable and visible, and a row is never
 * visible before it is durable.
 *
 * Sealing.  Between groups, when the mutable segment passed a threshold
 * (rows, bytes, or the age of its first row; checked by the writer after
 * each group and by the sealer's one-second timer), or on
 * partition_seal, the writer ROTATES: it opens the next log file, starts a
 * new empty mutable segment, and publishes a view in which the old one is
 * SEALING -- ingestion goes on at once.  The sealer thread then writes the
 * old segment's rows to seg-N.wbs (temporary name, fsync, rename, dir
 * fsync: segwrite_file), maps it, writes the new MANIFEST (the file added,
 * wal_through = the last log file the segment covers), publishes a view in
 * which the file replaces the SEALING segment, and only then removes the
 * covered log files.  A view is swapped as one pointer under the mutex, so
 * a query sees each row exactly once: in the sealing segment or in the
 * file, never both, never neither.  If the seal fails (disk full), the
 * segment stays SEALING, served from memory and still covered by its log,
 * and the sealer retries every few seconds; no second rotation happens
 * meanwhile.
 *
 * Crash recovery (partition_open), for any moment of the above:
 *   - segment files not in the manifest (written, not yet committed) and
 *     *.tmp files are removed: their rows are still in the logs;
 *   - log files numbered <= wal_through (committed, not yet removed) are
 *     removed: their rows are in segment files;
 *   - every other log file is replayed, in order, into one mutable
 *     segment (it covers all of them; the next seal removes them all).
 * A segment file that fails to map (footer checksum, bounds) is moved to
 * quarantine/ and dropped from the manifest; the rest is served.  After
 * opening, the sealer verifies every block of every mapped file in the
 * background and quarantines what fails.
 *
 * Stream partitions (a Kafka partition feeding this one,
 * partition_write_stream).  Each write is one log record: STREAM_MARK,
 * the stream position before it (prev) and after it (end), then its rows
 * (possibly none: messages that were all rejected still advance the
 * position).  The writer checks that prev continues the partition's
 * position (stream_next), and does not fsync such groups: the broker keeps
 * the messages.  A kill -9 loses nothing written to the log; an operating
 * system crash may lose a tail (or, in theory, a middle file): replay
 * applies a stream record only when its prev is the position reached so
 * far and skips the rest, and the source resumes from stream_next -- so
 * every message is in the partition exactly once.  A segment records the
 * positions it covers ([off_start, off_end)) in its footer (a second
 * SegSource whose id is the partition number) and in the manifest; at
 * open, stream_next starts at the newest sealed segment's end and replay
 * advances it.  A column change restates the rows and then one empty
 * stream record with the mutable segment's positions.
 *
 * Retention: the sealer drops (manifest first, then unlink) sealed files
 * whose newest time is older than the retention period.
 *
 * Column changes (driven by table.c, which keeps every writer out from
 * prepare to install/abort):
 *   prepare  waits until no seal is in progress and holds rotation off,
 *            builds a new MutSeg in the new layout and copies the
 *            published rows into it (old column i to its new index, new
 *            columns NULL with their default), and writes the same rows
 *            into DIR/wal.next, led by a layout record; fsynced.
 *   commit   (after the caller made the new schema durable) renames
 *            wal.next to the next log file number and removes the older
 *            live logs, which it restates.
 *   install  publishes the new MutSeg in a new view.
 *   abort    drops what prepare built and removes wal.next.
 * A layout record is a log record whose first u32 is LAYOUT_MARK (no row
 * batch has 2^32-1 rows), then u32 ncols and per column u8 type, u8 mv.
 * It only ever leads a log file, and such a file restates every mutable
 * row: replay empties the mutable segment when it meets one (the older
 * log files it replaced may survive a crash inside commit).  At open, a
 * DIR/wal.next whose layout record matches the columns the partition is
 * opened with (the schema on disk) belongs to a committed change that
 * crashed before its rename: it is renamed into place and replayed.  Any
 * other wal.next (no layout record, torn, another layout) belongs to a
 * change that never committed: it is removed.  A layout record that does
 * not match fails the open with ERR_CORRUPT naming both column counts.
 * A pre-sealing DIR/wal.log is taken over as the first log file.
 *
 * Owns: the segments (through SegRefs shared by views), the Wal, the
 * threads, a copy of the column descriptions and of the PartConfig.
 * Requests live on their callers' stacks.
 *
 * Exports: partition_open, partition_close, partition_configure,
 * partition_write, partition_write_stream, partition_stream_next,
 * partition_view, partition_view_release, partition_seal,
 * partition_quarantine, partition_tick, partition_id, partition_dir,
 * partition_last_write_ms, partition_wal_bytes, partition_quarantined,
 * partition_evolve_prepare, partition_evolve_commit,
 * partition_evolve_install, partition_evolve_abort.
 */
#define _GNU_SOURCE
#include "table/partition.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metric.h"
#include "storage/codec.h"
#include "storage/wal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LAYOUT_MARK 0xffffffffu
#define STREAM_MARK 0xfffffffeu	/* a stream record: rows with their source
				 * positions (see "Stream partitions") */
#define STREAM_HDR 24		/* u32 mark, u32 0, i64 prev, i64 end */
#define COPY_ROWS 4096		/* rows per record when rewriting the log */
#define WAL_SOURCE (-1)		/* SegSource.id of pushed data: [start, end)
				 * are log file numbers */
#define SEAL_RETRY_MS 5000
#define TICK_MS 1000
#define MANIFEST_MAGIC "waybill-manifest 1"

/* A segment shared by views: freed when the last view holding it goes. */
typedef struct SegRef {
	_Atomic int refs;
	MutSeg *mut;
	SegFile *file;
	uint64_t seq;
	int64_t src_start, src_end;
	/* stream positions: [off_start, off_end) were consumed into this
	 * segment (-1: none); a mutable one's off_start is the partition's
	 * position when it began */
	int64_t off_start, off_end;
	size_t rows;		/* sealed / sealing: final */
	uint64_t bytes;
	int64_t created_ms;
	int64_t tmax_ms;	/* newest time in ms (retention), INT64_MIN if unknown */
	int unlink_on_free;	/* dropped by retention: remove the file at the end */
} SegRef;

typedef struct WriteReq {
	const RowBatch *batch;
	int stream;		/* partition_write_stream: no fsync, positions */
	int64_t off_prev, off_end;
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
	Wal *wal;		/* the log file taking appends */
	uint64_t wal_first;	/* first live log file (the mutable segment's) */
	uint64_t wal_cur;	/* number of p->wal */
	uint64_t wal_through;	/* manifest: files <= this are sealed */
	uint64_t next_seq;	/* next segment number */
	int64_t stream_next;	/* stream position after the last stream record
				 * (-1: none yet); writer thread, read under mu */
	uint64_t stream_skipped;	/* replay: stream records that did not
					 * continue the position */
	/* segments, under mu; the sealed list changes only under man_mu */
	SegRef **sealed;
	int nsealed, capsealed;
	SegRef *sealing;
	SegRef *active;
	PartView *view;
	int64_t active_since_ms;	/* wall time of the mutable segment's first row */
	/* rotation and seal requests, under mu */
	int rotate_pending;
	uint64_t force_req, force_done;
	uint64_t seal_fails;
	Err seal_err;
	int64_t seal_retry_ms;
	int evolving;		/* a column change holds rotation off */
	PartConfig cfg;		/* deep copy in cfg_arena; cfg.cols NULL = none */
	Arena cfg_arena;
	/* verification of the files mapped at open (sealer) */
	SegRef **verify;
	int nverify;
	_Atomic int quarantined;
	/* a prepared column change */
	MutSeg *next_seg;
	Wal *next_wal;
	ColDesc *next_cols;
	int next_ncols;
	/* replay state (partition_open only) */
	int need_layout;	/* replaying wal.next: a layout record must lead */
	int layout_ok;
	int layout_bad;
	int replay_first;	/* the next record is the first of its file */
	pthread_t thread, sealer;
	int sealer_started;
	pthread_mutex_t mu;
	pthread_mutex_t man_mu;	/* manifest writes */
	pthread_cond_t wake;	/* writer waits for work */
	pthread_cond_t done;	/* requesters wait for results */
	pthread_cond_t sealer_wake;
	pthread_cond_t sealed_cv;	/* partition_seal / prepare wait for seals */
	WriteReq *head, *tail;
	int stopping;
	int sealer_stopping;
	int failed;
	_Atomic int64_t last_write_ms;
	Buf enc;		/* writer's encode buffer */
	/* upsert partitions */
	Upsert *ups;		/* key index and validity; NULL: append */
	pthread_mutex_t uview_mu;	/* the cached query view below */
	PartView *uview;	/* the last view with validity handed out */
	PartView *uview_base;	/* the segment view it was made from (ref) */
	uint64_t uview_ver;
	void *usnap;		/* bitmaps at the last rotation, for the sealer */
	size_t usnap_len;
	uint64_t usnap_seq;	/* the segment being sealed they cover */
	int maint_due;		/* writer: run upsert_maintain */
};

/* ---- segments and views ------------------------------------------------ */

static SegRef *
ref_new(MutSeg *mut, SegFile *file, uint64_t seq)
{
	SegRef *r = mem_calloc(1, sizeof(SegRef));
	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	r->mut = mut;
	r->file = file;
	r->seq = seq;
	r->tmax_ms = INT64_MIN;
	r->off_start = r->off_end = -1;
	return r;
}

static void
ref_put(SegRef *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->file) {
		char path[4200];
		snprintf(path, sizeof(path), "%s", segfile_path(r->file));
		segfile_close(r->file);
		if (r->unlink_on_free && unlink(path) != 0 && errno != ENOENT)
			log_warn("remove %s: %s", path, strerror(errno));
	}
	mutseg_free(r->mut);
	mem_free(r);
}

static void
seg_fill(PartSeg *s, const SegRef *r, int state)
{
	s->state = state;
	s->mut = r->mut;
	s->file = r->file;
	s->seq = r->seq;
	s->src_start = r->src_start;
	s->src_end = r->src_end;
	s->off_start = r->off_start;
	s->off_end = r->off_end;
	s->created_ms = r->created_ms;
	if (r->file) {
		s->rows = (size_t)segfile_meta(r->file)->nrows;
		s->bytes = segfile_meta(r->file)->file_bytes;
	} else {
		s->rows = state == PART_SEG_MUTABLE ? mutseg_rows(r->mut) : r->rows;
		s->bytes = mutseg_bytes(r->mut);
	}
}

void
partition_view_release(PartView *v)
{
	if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	for (int i = 0; i < v->nsegs; i++) {
		ref_put(v->owners[i]);
		if (v->own_valid)
			mem_free((void *)v->segs[i].valid);
	}
	mem_free(v->owners);
	mem_free(v->segs);
	mem_free(v);
}

/* Builds and installs a view of the current segments (caller holds mu).
 * A view is a few hundred bytes; a partition whose segments changed must
 * show it, so this cannot fail (mem_alloc_or_die). */
static void
publish_view(Partition *p)
{
	int n = p->nsealed + (p->sealing != NULL) + 1;
	PartView *v = mem_alloc_or_die(sizeof(PartView));
	memset(v, 0, sizeof(*v));
	PartSeg *segs = mem_alloc_or_die(sizeof(PartSeg) * (size_t)n);
	void **owners = mem_alloc_or_die(sizeof(void *) * (size_t)n);
	memset(segs, 0, sizeof(PartSeg) * (size_t)n);
	atomic_init(&v->refs, 1);
	v->segs = segs;
	v->owners = owners;
	int k = 0;
	for (int i = 0; i < p->nsealed; i++) {
		seg_fill(&segs[k], p->sealed[i], PART_SEG_SEALED);
		owners[k++] = p->sealed[i];
	}
	if (p->sealing) {
		seg_fill(&segs[k], p->sealing, PART_SEG_SEALING);
		owners[k++] = p->sealing;
	}
	seg_fill(&segs[k], p->active, PART_SEG_MUTABLE);
	owners[k++] = p->active;
	v->nsegs = k;
	for (int i = 0; i < k; i++)
		atomic_fetch_add(&((SegRef *)owners[i])->refs, 1);
	PartView *old = p->view;
	p->view = v;
	partition_view_release(old);
}

static PartView *upsert_view_make(Partition *p, PartView *base);

/* An upsert partition's view: base's segments with a copy of their
 * validity bits and the rows they cover, made under the upsert lock (so
 * consistent with the rows published), and cached until either changes.
 * Takes over the caller's reference to base.  NULL without memory. */
static PartView *
upsert_view(Partition *p, PartView *base)
{
	/* the view is cached past the query asking for it: charged to no
	 * query's budget */
	MemBudget *qb = mem_budget_set(NULL);
	PartView *v = upsert_view_make(p, base);
	mem_budget_set(qb);
	return v;
}

static PartView *
upsert_view_make(Partition *p, PartView *base)
{
	pthread_mutex_lock(&p->uview_mu);
	upsert_lock(p->ups);
	uint64_t ver = upsert_version(p->ups);
	if (p->uview && p->uview_base == base && p->uview_ver == ver) {
		PartView *v = p->uview;
		atomic_fetch_add(&v->refs, 1);
		upsert_unlock(p->ups);
		pthread_mutex_unlock(&p->uview_mu);
		partition_view_release(base);
		return v;
	}
	int n = base->nsegs;
	PartView *v = mem_calloc(1, sizeof(PartView));
	PartSeg *segs = mem_calloc((size_t)n + 1, sizeof(PartSeg));
	void **owners = mem_calloc((size_t)n + 1, sizeof(void *));
	int ok = v && segs && owners;
	for (int i = 0; ok && i < n; i++) {
		segs[i] = base->segs[i];
		if (segs[i].state == PART_SEG_MUTABLE)
			segs[i].rows = mutseg_rows(segs[i].mut);
		uint64_t *bits;
		ok = upsert_view_bits(p->ups, segs[i].seq, segs[i].rows, &bits, &segs[i].nvalid) == 0;
		segs[i].valid = bits;
	}
	upsert_unlock(p->ups);
	if (!ok) {
		for (int i = 0; segs && i < n; i++)
			mem_free((void *)segs[i].valid);
		mem_free(segs);
		mem_free(owners);
		mem_free(v);
		pthread_mutex_unlock(&p->uview_mu);
		partition_view_release(base);
		return NULL;
	}
	atomic_init(&v->refs, 2);	/* the caller's and the cache's */
	v->nsegs = n;
	v->segs = segs;
	v->owners = owners;
	v->own_valid = 1;
	for (int i = 0; i < n; i++) {
		owners[i] = base->owners[i];
		atomic_fetch_add(&((SegRef *)owners[i])->refs, 1);
	}
	PartView *old = p->uview, *oldbase = p->uview_base;
	p->uview = v;
	p->uview_base = base;	/* the caller's reference moves here */
	p->uview_ver = ver;
	pthread_mutex_unlock(&p->uview_mu);
	partition_view_release(old);
	partition_view_release(oldbase);
	return v;
}

PartView *
partition_view(Partition *p)
{
	pthread_mutex_lock(&p->mu);
	PartView *v = p->view;
	atomic_fetch_add(&v->refs, 1);
	pthread_mutex_unlock(&p->mu);
	if (p->ups == NULL)
		return v;
	PartView *u = upsert_view(p, v);
	if (u == NULL) {
		/* no memory for the bitmaps: an empty view rather than one
		 * showing stale versions */
		log_error("partition %s: no memory for an upsert view", p->dir);
		PartView *e = mem_alloc_or_die(sizeof(PartView));
		memset(e, 0, sizeof(*e));
		atomic_init(&e->refs, 1);
		return e;
	}
	return u;
}

/* ---- files -------------------------------------------------------------- */

static void
wal_path(const Partition *p, uint64_t n, char *out, size_t cap)
{
	snprintf(out, cap, "%s/wal-%06" PRIu64 ".log", p->dir, n);
}

static void
seg_path(const Partition *p, uint64_t seq, char *out, size_t cap)
{
	snprintf(out, cap, "%s/seg-%06" PRIu64 ".wbs", p->dir, seq);
}

/* "prefix-N.suffix" -> N; 0 if name is not of that form */
static uint64_t
numbered(const char *name, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), nl = strlen(name);
	if (nl <= pl + sl || strncmp(name, prefix, pl) != 0 || strcmp(name + nl - sl, suffix) != 0)
		return 0;
	uint64_t n = 0;
	for (size_t i = pl; i < nl - sl; i++) {
		if (name[i] < '0' || name[i] > '9' || n > UINT64_MAX / 16)
			return 0;
		n = n * 10 + (uint64_t)(name[i] - '0');
	}
	return n;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Numbers of the files "prefix-N.suffix" in the directory, ascending
 * (caller frees *out). */
static int
list_numbered(const Partition *p, const char *prefix, const char *suffix, uint64_t **out,
	      int *n, Err *e)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(p->dir);
	if (d == NULL)
		return err_set(e, ERR_IO, "open directory %s: %s", p->dir, strerror(errno));
	struct dirent *de;
	int cap = 0, rc = 0;
	while ((de = readdir(d)) != NULL) {
		uint64_t k = numbered(de->d_name, prefix, suffix);
		if (k == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *nv = mem_realloc(*out, sizeof(uint64_t) * (size_t)cap);
			if (nv == NULL) {
				rc = err_set(e, ERR_NOMEM, "listing %s", p->dir);
				break;
			}
			*out = nv;
		}
		(*out)[(*n)++] = k;
	}
	closedir(d);
	if (rc == 0 && *n > 1)
		qsort(*out, (size_t)*n, sizeof(uint64_t), cmp_u64);
	return rc;
}

/* ---- manifest ------------------------------------------------------------
 * Text, one item per line:
 *   waybill-manifest 1
 *   wal_through N
 *   next_seq N
 *   seg SEQ SRC_START SRC_END ROWS [OFF_START OFF_END]
 *                                         (one per sealed segment, in order;
 *                                         stream positions when it has them)
 *   crc XXXXXXXX                          (XXH32 of every byte before it)
 */

static int
manifest_write(Partition *p, SegRef **list, int n, uint64_t wal_through, uint64_t next_seq,
	       Err *e)
{
	Buf b;
	buf_init(&b);
	buf_printf(&b, "%s\nwal_through %" PRIu64 "\nnext_seq %" PRIu64 "\n", MANIFEST_MAGIC,
		   wal_through, next_seq);
	for (int i = 0; i < n; i++) {
		buf_printf(&b, "seg %" PRIu64 " %" PRId64 " %" PRId64 " %zu", list[i]->seq,
			   list[i]->src_start, list[i]->src_end, list[i]->rows);
		if (list[i]->off_end >= 0)
			buf_printf(&b, " %" PRId64 " %" PRId64, list[i]->off_start, list[i]->off_end);
		buf_printf(&b, "\n");
	}
	if (!b.oom)
		buf_printf(&b, "crc %08x\n", (unsigned)hash_crc(b.p, b.len));
	char path[4200];
	snprintf(path, sizeof(path), "%s/MANIFEST", p->dir);
	int rc = b.oom ? err_set(e, ERR_NOMEM, "writing %s", path)
		       : file_write_atomic(path, b.p, b.len, e);
	buf_free(&b);
	return rc;
}

typedef struct ManEntry {
	uint64_t seq;
	int64_t start, end;
	uint64_t rows;
	int64_t ostart, oend;	/* stream positions, -1 if none */
} ManEntry;

/* Reads DIR/MANIFEST; a missing one is an empty partition.  A damaged one
 * is ERR_CORRUPT naming the file and line. */
static int
manifest_read(Partition *p, ManEntry **out, int *n, Err *e)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/MANIFEST", p->dir);
	*out = NULL;
	*n = 0;
	char *text;
	size_t len;
	int rc = file_read_all(path, &text, &len, e);
	if (rc == ERR_NOT_FOUND) {
		err_clear(e);
		return 0;
	}
	if (rc)
		return rc;
	char *crc = NULL;
	for (char *q = text; q && q < text + len; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL)
		if (strncmp(q, "crc ", 4) == 0)
			crc = q;
	unsigned want;
	if (crc == NULL || sscanf(crc, "crc %8x", &want) != 1 ||
	    hash_crc(text, (size_t)(crc - text)) != want) {
		mem_free(text);
		return err_set(e, ERR_CORRUPT, "%s: checksum missing or wrong (the file is damaged)", path);
	}
	*crc = '\0';
	int line = 0, cap = 0;
	rc = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && rc == 0; l = strtok_r(NULL, "\n", &save)) {
		line++;
		ManEntry m = {.ostart = -1, .oend = -1};
		int nf;
		if (line == 1) {
			if (strcmp(l, MANIFEST_MAGIC) != 0)
				rc = err_set(e, ERR_CORRUPT, "%s: line 1: not a version 1 manifest", path);
		} else if (sscanf(l, "wal_through %" SCNu64, &p->wal_through) == 1) {
		} else if (sscanf(l, "next_seq %" SCNu64, &p->next_seq) == 1) {
		} else if ((nf = sscanf(l, "seg %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %" SCNd64
					" %" SCNd64, &m.seq, &m.start, &m.end, &m.rows, &m.ostart, &m.oend)) == 4 ||
			   nf == 6) {
			if (nf == 4)
				m.ostart = m.oend = -1;
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				ManEntry *nv = mem_realloc(*out, sizeof(ManEntry) * (size_t)cap);
				if (nv == NULL) {
					rc = err_set(e, ERR_NOMEM, "reading %s", path);
					break;
				}
				*out = nv;
			}
			(*out)[(*n)++] = m;
		} else {
			rc = err_set(e, ERR_CORRUPT, "%s: line %d: unrecognized '%.40s'", path, line, l);
		}
	}
	mem_free(text);
	if (rc) {
		mem_free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* A damaged manifest is rebuilt from the segment files themselves: each
 * footer records the log files it covers.  Every complete file counts,
 * also one whose seal crashed before its manifest update (its rows are
 * then not replayed from the logs it covers, which are removed: still
 * exactly once).  The damaged manifest is kept as MANIFEST.damaged. */
static int
manifest_rebuild(Partition *p, ManEntry **out, int *n, Err *e)
{
	char path[4200], keep[4300];
	snprintf(path, sizeof(path), "%s/MANIFEST", p->dir);
	snprintf(keep, sizeof(keep), "%s.damaged", path);
	if (rename(path, keep) != 0)
		return err_set(e, ERR_IO, "rename %s: %s", path, strerror(errno));
	uint64_t *seqs;
	int ns;
	int rc = list_numbered(p, "seg-", ".wbs", &seqs, &ns, e);
	if (rc)
		return rc;
	*out = mem_calloc((size_t)ns + 1, sizeof(ManEntry));
	*n = 0;
	p->wal_through = 0;
	p->next_seq = 1;
	if (*out == NULL) {
		mem_free(seqs);
		return err_set(e, ERR_NOMEM, "rebuilding %s", path);
	}
	for (int i = 0; i < ns; i++) {
		char sp[4200];
		seg_path(p, seqs[i], sp, sizeof(sp));
		SegFile *sf;
		Err se = {0};
		if (segfile_open(sp, &sf, &se) != 0) {
			/* kept in the list: open_segments quarantines it */
			(*out)[(*n)++] = (ManEntry){seqs[i], 0, 0, 0, -1, -1};
			continue;
		}
		const SegMeta *m = segfile_meta(sf);
		ManEntry me = {seqs[i], 0, 0, m->nrows, -1, -1};
		if (m->nsources == 2 && m->sources[1].id != WAL_SOURCE) {
			me.ostart = m->sources[1].start;
			me.oend = m->sources[1].end;
		}
		if (m->nsources >= 1 && m->sources[0].id == WAL_SOURCE) {
			me.start = m->sources[0].start;
			me.end = m->sources[0].end;
			if (me.end > 0 && (uint64_t)me.end - 1 > p->wal_through)
				p->wal_through = (uint64_t)me.end - 1;
		}
		(*out)[(*n)++] = me;
		if (seqs[i] + 1 > p->next_seq)
			p->next_seq = seqs[i] + 1;
		segfile_close(sf);
	}
	mem_free(seqs);
	log_warn("partition %s: manifest rebuilt from %d segment files (log files up to %" PRIu64
		 " are sealed); the damaged one is kept as %s", p->dir, *n, p->wal_through, keep);
	return 0;
}

/* ---- log records -------------------------------------------------------- */

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

static uint32_t
rd_u32(const char *data)
{
	uint32_t m;
	memcpy(&m, data, 4);
	return m;
}

/* Appends a stream record's header (prev, end) to b. */
static void
stream_hdr_encode(Buf *b, int64_t prev, int64_t end)
{
	uint32_t h[2] = {STREAM_MARK, 0};
	buf_append(b, h, sizeof(h));
	buf_append(b, &prev, 8);
	buf_append(b, &end, 8);
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

static void
publish_seg(void *seg)
{
	mutseg_publish(seg);
}

/* Appends replayed rows to the mutable segment (an upsert partition
 * decides them first, as stored rows). */
static int
replay_rows(Partition *p, const RowBatch *b, Err *e)
{
	MutSeg *seg = p->active->mut;
	if (b->nrows == 0)
		return 0;
	if (p->ups == NULL) {
		int rc = mutseg_append(seg, b, e);
		if (rc == 0)
			mutseg_publish(seg);
		return rc;
	}
	const RowBatch *out;
	int rc = upsert_prepare(p->ups, b, p->active->seq, mutseg_rows(seg), 1, &out, e);
	if (rc == 0)
		rc = mutseg_append(seg, out, e);
	if (rc == 0)
		upsert_commit(p->ups, publish_seg, seg);
	else
		upsert_rollback(p->ups);
	return rc;
}

static int
replay_record(void *ctx, const char *data, size_t len, Err *e)
{
	Partition *p = ctx;
	int first = p->replay_first;
	p->replay_first = 0;
	if (len >= STREAM_HDR && rd_u32(data) == STREAM_MARK) {
		int64_t prev, end;
		memcpy(&prev, data + 8, 8);
		memcpy(&end, data + 16, 8);
		if (p->stream_next >= 0 && prev != p->stream_next) {
			/* written after positions this replay never saw (a
			 * log file lost in a power failure): what it holds is
			 * consumed again from the stream */
			p->stream_skipped++;
			return 0;
		}
		int rc = 0;
		if (len > STREAM_HDR) {
			RowBatch b;
			rowbatch_init(&b, p->ncols);
			rc = rowbatch_decode(&b, data + STREAM_HDR, len - STREAM_HDR, e);
			if (rc == 0)
				rc = replay_rows(p, &b, e);
			rowbatch_free(&b);
		}
		if (rc == 0) {
			if (p->active->off_start < 0)
				p->active->off_start = prev;
			p->active->off_end = p->stream_next = end;
		}
		return rc;
	}
	if (is_layout(data, len)) {
		long n;
		if (!layout_matches(data, len, p->ncols, p->cols, &n)) {
			p->layout_bad = 1;
			return err_set(e, ERR_CORRUPT,
				       "partition %s: log records a layout of %ld columns, the schema has %d columns (types or order differ)",
				       p->dir, n, p->ncols);
		}
		p->layout_ok = 1;
		if (first) {
			/* the stream records of the restated rows follow */
			p->stream_next = p->active->off_start;
			p->active->off_end = -1;
		}
		if (first && mutseg_rows(p->active->mut) > 0) {
			/* this file restates every mutable row (a column
			 * change): what the older files gave is replaced */
			MutSeg *fresh = mutseg_create(p->ncols, p->cols);
			if (fresh == NULL)
				return err_set(e, ERR_NOMEM, "replaying %s", p->dir);
			if (p->ups)
				upsert_seg_reset(p->ups, p->active->seq, fresh);
			mutseg_free(p->active->mut);
			p->active->mut = fresh;
		}
		return 0;
	}
	if (p->need_layout && !p->layout_ok) {
		p->layout_bad = 1;
		return err_set(e, ERR_CORRUPT, "partition %s: rewritten log has no layout record", p->dir);
	}
	RowBatch b;
	rowbatch_init(&b, p->ncols);
	int rc = rowbatch_decode(&b, data, len, e);
	if (rc == 0)
		rc = replay_rows(p, &b, e);
	rowbatch_free(&b);
	return rc;
}

/* ---- writer ------------------------------------------------------------- */

static void
commit_group(Partition *p, WriteReq *group)
{
	Err e = {0};
	int rc = 0;
	/* only this thread (and a column change, while no request is queued
	 * or running) changes p->active */
	MutSeg *seg = p->active->mut;
	size_t rows_before = mutseg_rows(seg);
	int need_sync = 0;
	int64_t pos = p->stream_next, first_prev = -1;
	if (p->failed)
		rc = err_set(&e, ERR_IO, "partition %d is failed after an I/O error", p->id);
	uint64_t wal_before = wal_size(p->wal);
	size_t next_row = rows_before;
	/* each request: decide (upsert), append to the segment unpublished,
	 * log what was stored */
	for (WriteReq *r = group; rc == 0 && r; r = r->next) {
		if (r->stream) {
			if (pos >= 0 && r->off_prev != pos)
				rc = err_set(&e, ERR_INVALID,
					     "partition %d: stream write from position %" PRId64
					     " does not continue position %" PRId64, p->id, r->off_prev, pos);
			if (first_prev < 0)
				first_prev = r->off_prev;
			pos = r->off_end;
		} else
			need_sync = 1;
		const RowBatch *stored = r->batch;
		if (rc == 0 && p->ups && r->batch->nrows > 0)
			rc = upsert_prepare(p->ups, r->batch, p->active->seq, next_row, 0, &stored, &e);
		if (rc == 0 && stored->nrows > 0)
			rc = mutseg_append(seg, stored, &e);
		if (rc)
			break;
		next_row += stored->nrows;
		buf_reset(&p->enc);
		if (r->stream)
			stream_hdr_encode(&p->enc, r->off_prev, r->off_end);
		if (!r->stream || stored->nrows > 0)
			rowbatch_encode(stored, &p->enc);
		if (p->enc.oom) {
			/* a Buf's OOM is sticky: start afresh, or every later
			 * group would fail too */
			buf_free(&p->enc);
			rc = err_set(&e, ERR_NOMEM, "encoding a log record");
		} else
			rc = wal_append(p->wal, p->enc.p, p->enc.len, &e);
	}
	if (rc == 0 && need_sync && wal_size(p->wal) != wal_before) {
		rc = wal_sync(p->wal, &e);
		if (rc)
			p->failed = 1;
		else {
			metric_add(METRIC_WAL_SYNCS, 1);
			metric_add(METRIC_WAL_BYTES, wal_size(p->wal) - wal_before);
		}
	}
	if (rc == 0) {
		if (p->ups)
			upsert_commit(p->ups, publish_seg, seg);
		else
			mutseg_publish(seg);
		if (first_prev >= 0 || pos >= 0) {
			pthread_mutex_lock(&p->mu);
			if (p->active->off_start < 0)
				p->active->off_start = first_prev;
			if (pos >= 0)
				p->active->off_end = p->stream_next = pos;
			pthread_mutex_unlock(&p->mu);
		}
		int64_t now = clock_wall_ms();
		atomic_store(&p->last_write_ms, now);
		if (rows_before == 0 && mutseg_rows(seg) > 0)
			p->active_since_ms = now;
	} else {
		mutseg_rollback(seg);
		if (p->ups)
			upsert_rollback(p->ups);
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

/* 1 if the mutable segment passed a threshold (caller holds mu) */
static int
over_threshold(const Partition *p, int64_t now)
{
	const MutSeg *s = p->active->mut;
	size_t rows = mutseg_rows(s);
	if (rows == 0 || p->cfg.cols == NULL)
		return 0;
	if (p->cfg.flush_rows > 0 && (int64_t)rows >= p->cfg.flush_rows)
		return 1;
	if (p->cfg.flush_bytes > 0 && (int64_t)mutseg_bytes(s) >= p->cfg.flush_bytes)
		return 1;
	return p->cfg.flush_time_ms > 0 && now - p->active_since_ms >= p->cfg.flush_time_ms;
}

/* Makes the mutable segment SEALING and starts a new one with the next
 * log file (writer thread, between groups; caller holds mu, which is
 * released around the file work).  On failure nothing changes and the
 * error is logged; the rotation is retried at the next threshold check. */
static void
rotate(Partition *p)
{
	uint64_t n = p->wal_cur + 1;
	MutSeg *fresh = mutseg_create(p->ncols, p->cols);
	SegRef *ref = fresh ? ref_new(fresh, NULL, 0) : NULL;
	if (ref == NULL) {
		mutseg_free(fresh);
		err_set(&p->seal_err, ERR_NOMEM, "partition %s: no memory to start a new mutable segment",
			p->dir);
		goto fail;
	}
	char path[4200];
	wal_path(p, n, path, sizeof(path));
	pthread_mutex_unlock(&p->mu);
	Wal *w = NULL;
	Err e = {0};
	int rc = wal_open(path, NULL, NULL, &w, &e);
	if (rc == 0 && p->ups)
		rc = upsert_seg_add(p->ups, p->next_seq + 1, fresh, NULL, &e);
	pthread_mutex_lock(&p->mu);
	if (rc) {
		if (w) {
			wal_close(w);
			unlink(path);
		}
		ref_put(ref);
		p->seal_err = e;
		goto fail;
	}
	SegRef *old = p->active;
	old->rows = mutseg_rows(old->mut);
	old->seq = p->next_seq++;
	old->src_start = (int64_t)p->wal_first;
	old->src_end = (int64_t)p->wal_cur + 1;
	wal_close(p->wal);
	p->wal = w;
	p->wal_first = p->wal_cur = n;
	ref->seq = p->next_seq;
	ref->src_start = (int64_t)n;
	ref->off_start = p->stream_next;
	p->sealing = old;
	p->active = ref;
	p->active_since_ms = 0;
	p->rotate_pending = 0;
	if (p->ups) {
		/* the state the sealed segments will have at restart */
		mem_free(p->usnap);
		p->usnap = NULL;
		Err se = {0};
		if (upsert_snapshot_take(p->ups, old->seq, &p->usnap, &p->usnap_len, &se) != 0)
			log_warn("partition %s: %s; a restart rebuilds the key index", p->dir, err_msg(&se));
		p->usnap_seq = old->seq;
		p->maint_due = 1;
	}
	publish_view(p);
	pthread_cond_signal(&p->sealer_wake);
	return;
fail:
	log_error("%s; sealing is retried in %d s", err_msg(&p->seal_err), SEAL_RETRY_MS / 1000);
	p->seal_fails++;
	p->seal_retry_ms = clock_wall_ms() + SEAL_RETRY_MS;
	pthread_cond_broadcast(&p->sealed_cv);
}

static void *
writer_main(void *arg)
{
	Partition *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		/* rotate when asked and the previous seal is done */
		int can_rotate = p->sealing == NULL && !p->evolving && !p->failed &&
				 clock_wall_ms() >= p->seal_retry_ms;
		if (can_rotate && p->force_done < p->force_req) {
			uint64_t want = p->force_req;
			if (mutseg_rows(p->active->mut) > 0)
				rotate(p);
			if (p->sealing != NULL || mutseg_rows(p->active->mut) == 0)
				p->force_done = want;
			pthread_cond_broadcast(&p->sealed_cv);
			continue;
		}
		if (can_rotate && (p->rotate_pending || over_threshold(p, clock_wall_ms()))) {
			rotate(p);
			continue;
		}
		if (p->head == NULL && p->stopping)
			break;
		if (p->head == NULL) {
			pthread_cond_wait(&p->wake, &p->mu);
			continue;
		}
		WriteReq *group = p->head;
		p->head = p->tail = NULL;
		int maint = p->maint_due;
		p->maint_due = 0;
		pthread_mutex_unlock(&p->mu);
		if (maint && p->ups)
			upsert_maintain(p->ups);
		commit_group(p, group);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- sealer ------------------------------------------------------------- */

static void write_usnap(Partition *p, uint64_t seq);
static void remove_snaps(Partition *p, uint64_t keep);

static int64_t
tmax_ms_of(const Partition *p, const SegFile *sf)
{
	const SegMeta *m = segfile_meta(sf);
	if (!m->has_time || p->cfg.time_unit_ms <= 0)
		return INT64_MIN;
	double ms = (double)m->tmax * p->cfg.time_unit_ms;
	return ms > 9e18 ? INT64_MAX : ms < -9e18 ? INT64_MIN + 1 : (int64_t)ms;
}

static void
remove_logs(Partition *p, uint64_t from, uint64_t to)
{
	for (uint64_t n = from; n <= to && n > 0; n++) {
		char path[4200];
		wal_path(p, n, path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("remove %s: %s", path, strerror(errno));
	}
}

/* The partition's segment list minus drop (NULL: none) plus add (NULL:
 * none), for a manifest (caller frees; holds man_mu). */
static SegRef **
list_with(Partition *p, SegRef *drop, SegRef *add, int *n)
{
	pthread_mutex_lock(&p->mu);
	SegRef **l = mem_alloc(sizeof(SegRef *) * (size_t)(p->nsealed + 1));
	*n = 0;
	if (l) {
		for (int i = 0; i < p->nsealed; i++)
			if (p->sealed[i] != drop)
				l[(*n)++] = p->sealed[i];
		if (add)
			l[(*n)++] = add;
	}
	pthread_mutex_unlock(&p->mu);
	return l;
}

/* Installs list l of n segments as the sealed list (caller holds man_mu
 * and mu; l is taken over). */
static void
set_sealed(Partition *p, SegRef **l, int n)
{
	mem_free(p->sealed);
	p->sealed = l;
	p->nsealed = p->capsealed = n;
}

/* Moves the segment file src into DIR/quarantine with a .reason file
 * beside it (a missing src is no error: nothing to move). */
static int
move_to_quarantine(Partition *p, const char *src, const char *reason, Err *e)
{
	char qdir[4200], dst[4400], why[4500];
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	snprintf(qdir, sizeof(qdir), "%s/quarantine", p->dir);
	snprintf(dst, sizeof(dst), "%s/%s", qdir, base);
	snprintf(why, sizeof(why), "%s.reason", dst);
	int rc = file_mkdirs(qdir, e);
	if (rc != 0 || !file_exists(src))
		return rc;
	if (rename(src, dst) != 0)
		return err_set(e, ERR_IO, "rename %s to %s: %s", src, dst, strerror(errno));
	return file_write_atomic(why, reason, strlen(reason), e);
}

/* A copy of n column options, names included, in a (NULL: no memory). */
static SegColOpt *
colopts_dup(Arena *a, const SegColOpt *cols, int n)
{
	SegColOpt *out = arena_alloc(a, sizeof(SegColOpt) * (size_t)(n + 1));
	for (int i = 0; out && i < n; i++) {
		out[i] = cols[i];
		if ((out[i].name = arena_strdup(a, cols[i].name)) == NULL)
			return NULL;
	}
	return out;
}

/* Writes, maps and commits the SEALING segment (sealer thread). */
static void
seal_one(Partition *p)
{
	pthread_mutex_lock(&p->man_mu);
	pthread_mutex_lock(&p->mu);
	SegRef *s = p->sealing;
	Arena a;
	arena_init(&a, 4096);
	SegWriteSpec spec = {0};
	SegColOpt *cols = NULL;
	int ok = s != NULL && p->cfg.cols != NULL && p->cfg.ncols == mutseg_ncols(s->mut);
	if (ok) {
		cols = colopts_dup(&a, p->cfg.cols, p->cfg.ncols);
		/* the upsert writer reads key and comparison values of single
		 * rows back: stored uncompressed, that costs no block decode */
		for (int c = 0; cols && p->ups && c < p->cfg.ncols; c++)
			if (upsert_col_read(p->ups, c))
				cols[c].codec = CODEC_NONE;
		/* an upsert partition's key index and bitmaps name rows by
		 * position: no re-sorting */
		spec.sort_col = p->ups ? -1 : p->cfg.sort_col;
		spec.time_col = p->cfg.time_col;
	}
	pthread_mutex_unlock(&p->mu);
	if (!ok || cols == NULL) {
		if (s != NULL)
			log_warn("partition %s: cannot seal yet (%s)", p->dir,
				 cols == NULL && ok ? "no memory" : "no column configuration");
		pthread_mutex_lock(&p->mu);
		p->seal_retry_ms = clock_wall_ms() + SEAL_RETRY_MS;
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_unlock(&p->man_mu);
		arena_free(&a);
		return;
	}
	int64_t t0 = clock_mono_ns();
	SegSource src[2] = {{WAL_SOURCE, s->src_start, s->src_end}, {p->id, s->off_start, s->off_end}};
	spec.seg = s->mut;
	spec.nrows = s->rows;
	spec.cols = cols;
	spec.sources = src;
	spec.nsources = s->off_end >= 0 ? 2 : 1;
	char path[4200];
	seg_path(p, s->seq, path, sizeof(path));
	Err e = {0};
	uint64_t bytes = 0;
	SegFile *sf = NULL;
	SegRef *r = NULL;
	SegRef **l = NULL;
	int n = 0;
	int rc = segwrite_file(path, &spec, &bytes, &e);
	if (rc == 0 && (rc = segfile_open(path, &sf, &e)) == 0) {
		r = ref_new(NULL, sf, s->seq);
		l = r ? list_with(p, NULL, r, &n) : NULL;
		if (l == NULL) {
			rc = err_set(&e, ERR_NOMEM, "sealing %s", path);
		} else {
			r->src_start = s->src_start;
			r->src_end = s->src_end;
			r->off_start = s->off_start;
			r->off_end = s->off_end;
			r->rows = s->rows;
			r->created_ms = segfile_meta(sf)->created_ms;
			r->tmax_ms = tmax_ms_of(p, sf);
			write_usnap(p, s->seq);
			rc = manifest_write(p, l, n, (uint64_t)s->src_end - 1, s->seq + 1, &e);
		}
	}
	arena_free(&a);
	pthread_mutex_lock(&p->mu);
	if (rc) {
		mem_free(l);
		if (r)
			ref_put(r);
		else if (sf)
			segfile_close(sf);
		unlink(path);
		p->seal_err = e;
		p->seal_fails++;
		p->seal_retry_ms = clock_wall_ms() + SEAL_RETRY_MS;
		pthread_cond_broadcast(&p->sealed_cv);
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_unlock(&p->man_mu);
		log_error("partition %s: sealing segment %" PRIu64 " failed: %s; its rows stay in memory "
			  "and in the log, retrying in %d s", p->dir, s->seq, err_msg(&e), SEAL_RETRY_MS / 1000);
		return;
	}
	if (p->ups)
		upsert_seg_set_file(p->ups, s->seq, sf);
	set_sealed(p, l, n);
	p->wal_through = (uint64_t)s->src_end - 1;
	p->sealing = NULL;
	publish_view(p);
	pthread_cond_broadcast(&p->sealed_cv);
	pthread_cond_signal(&p->wake);	/* a rotation may wait for this seal */
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->man_mu);
	remove_logs(p, (uint64_t)s->src_start, (uint64_t)s->src_end - 1);
	if (p->ups)
		remove_snaps(p, s->seq);
	log_info("partition %s: sealed segment %" PRIu64 ": %zu rows, %" PRIu64 " bytes in %.1f ms",
		 p->dir, s->seq, s->rows, bytes, (double)(clock_mono_ns() - t0) / 1e6);
	metric_add(METRIC_SEGMENTS_SEALED, 1);
	ref_put(s);		/* the partition's reference; views may hold more */
}

/* Writes the upsert snapshot taken at the rotation of segment seq as
 * DIR/upsert-SEQ.snap (sealer, before the manifest names the segment).
 * A failure only costs a slower restart. */
static void
write_usnap(Partition *p, uint64_t seq)
{
	if (p->ups == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	void *blob = p->usnap_seq == seq ? p->usnap : NULL;
	size_t len = p->usnap_len;
	p->usnap = blob ? NULL : p->usnap;
	pthread_mutex_unlock(&p->mu);
	if (blob == NULL)
		return;
	char path[4200];
	snprintf(path, sizeof(path), "%s/upsert-%06" PRIu64 ".snap", p->dir, seq);
	Err e = {0};
	if (upsert_snapshot_write(path, blob, len, &e) != 0)
		log_warn("partition %s: %s; a restart rebuilds the key index", p->dir, err_msg(&e));
	mem_free(blob);
}

/* Removes upsert snapshots older than the one for segment keep. */
static void
remove_snaps(Partition *p, uint64_t keep)
{
	DIR *d = opendir(p->dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t k = upsert_snapshot_upto(de->d_name);
		if (k == 0 || k >= keep)
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", p->dir, de->d_name);
		if (unlink(path) != 0)
			log_warn("remove %s: %s", path, strerror(errno));
	}
	closedir(d);
}

/* Moves r's file to DIR/quarantine and drops it from the manifest and the
 * views (any thread; takes man_mu). */
static void
quarantine(Partition *p, SegRef *r, const char *reason)
{
	pthread_mutex_lock(&p->man_mu);
	int n;
	SegRef **l = list_with(p, r, NULL, &n);
	pthread_mutex_lock(&p->mu);
	int present = 0;
	for (int i = 0; i < p->nsealed; i++)
		present |= p->sealed[i] == r;
	pthread_mutex_unlock(&p->mu);
	if (!present || l == NULL) {
		mem_free(l);
		pthread_mutex_unlock(&p->man_mu);
		return;
	}
	const char *src = segfile_path(r->file);
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	Err e = {0};
	int rc = move_to_quarantine(p, src, reason, &e);
	if (rc == 0)
		rc = manifest_write(p, l, n, p->wal_through, p->next_seq, &e);
	if (rc) {
		/* still serve nothing from it: the views drop it below, and
		 * the next start finds it damaged again */
		log_error("partition %s: quarantining %s: %s", p->dir, src, err_msg(&e));
	}
	if (p->ups)
		upsert_seg_drop(p->ups, r->seq);
	pthread_mutex_lock(&p->mu);
	set_sealed(p, l, n);
	publish_view(p);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->man_mu);
	atomic_fetch_add(&p->quarantined, 1);
	metric_add(METRIC_SEGMENTS_QUARANTINED, 1);
	log_error("partition %s: segment file %s is damaged (%s); moved to %s/quarantine, the rest is served",
		  p->dir, base, reason, p->dir);
	ref_put(r);
}

void
partition_quarantine(Partition *p, const SegFile *f, const char *reason)
{
	SegRef *r = NULL;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->nsealed && r == NULL; i++)
		if (p->sealed[i]->file == f) {
			r = p->sealed[i];
			atomic_fetch_add(&r->refs, 1);
		}
	pthread_mutex_unlock(&p->mu);
	if (r == NULL)
		return;
	quarantine(p, r, reason);
	ref_put(r);
}

/* Drops sealed segments past retention (sealer thread). */
static void
retention(Partition *p)
{
	pthread_mutex_lock(&p->mu);
	int64_t keep = p->cfg.retention_ms;
	int64_t cutoff = clock_wall_ms() - keep;
	int any = 0;
	for (int i = 0; i < p->nsealed && keep > 0; i++)
		any |= p->sealed[i]->tmax_ms != INT64_MIN && p->sealed[i]->tmax_ms < cutoff;
	pthread_mutex_unlock(&p->mu);
	if (!any)
		return;
	pthread_mutex_lock(&p->man_mu);
	pthread_mutex_lock(&p->mu);
	SegRef **l = mem_alloc(sizeof(SegRef *) * (size_t)(p->nsealed + 1));
	int n = 0;
	for (int i = 0; l && i < p->nsealed; i++)
		if (!(p->sealed[i]->tmax_ms != INT64_MIN && p->sealed[i]->tmax_ms < cutoff))
			l[n++] = p->sealed[i];
	pthread_mutex_unlock(&p->mu);
	Err e = {0};
	int rc = l ? manifest_write(p, l, n, p->wal_through, p->next_seq, &e)
		   : err_set(&e, ERR_NOMEM, "retention in %s", p->dir);
	if (rc) {
		mem_free(l);
		pthread_mutex_unlock(&p->man_mu);
		log_error("partition %s: dropping segments past retention: %s", p->dir, err_msg(&e));
		return;
	}
	for (int i = 0; p->ups && i < p->nsealed; i++) {
		int kept = 0;
		for (int j = 0; j < n; j++)
			kept |= l[j] == p->sealed[i];
		if (!kept)
			upsert_seg_drop(p->ups, p->sealed[i]->seq);
	}
	pthread_mutex_lock(&p->mu);
	SegRef **old = p->sealed;
	int nold = p->nsealed;
	p->sealed = NULL;
	set_sealed(p, l, n);
	publish_view(p);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->man_mu);
	for (int i = 0; i < nold; i++) {
		int kept = 0;
		for (int j = 0; j < n; j++)
			kept |= l[j] == old[i];
		if (kept)
			continue;
		metric_add(METRIC_SEGMENTS_DROPPED, 1);
		log_info("partition %s: dropped segment %" PRIu64 " (%zu rows): past retention", p->dir,
			 old[i]->seq, old[i]->rows);
		old[i]->unlink_on_free = 1;
		ref_put(old[i]);
	}
	mem_free(old);
}

void
partition_tick(Partition *p)
{
	pthread_mutex_lock(&p->mu);
	if (over_threshold(p, clock_wall_ms()))
		pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	retention(p);
}

static void *
sealer_main(void *arg)
{
	Partition *p = arg;
	int64_t next_tick = 0;
	pthread_mutex_lock(&p->mu);
	while (!p->sealer_stopping) {
		int64_t now = clock_wall_ms();
		if (p->sealing != NULL && now >= p->seal_retry_ms) {
			pthread_mutex_unlock(&p->mu);
			seal_one(p);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->nverify > 0) {
			SegRef *r = p->verify[--p->nverify];
			pthread_mutex_unlock(&p->mu);
			Err e = {0};
			if (segfile_verify(r->file, &e) != 0)
				quarantine(p, r, err_msg(&e));
			ref_put(r);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (now >= next_tick) {
			pthread_mutex_unlock(&p->mu);
			partition_tick(p);
			pthread_mutex_lock(&p->mu);
			next_tick = now + TICK_MS;
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS % 1000 * 1000000L;
		ts.tv_sec += TICK_MS / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->sealer_wake, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- open and close ----------------------------------------------------- */

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

/* Maps the manifest's segments; damaged or missing ones are quarantined
 * (the manifest is rewritten without them).  Removes files a crash left
 * behind: uncommitted segment files, temporaries, sealed logs. */
static int
open_segments(Partition *p, Err *e)
{
	ManEntry *m;
	int nm;
	int rc = manifest_read(p, &m, &nm, e);
	int rebuilt = 0;
	if (rc == ERR_CORRUPT) {
		log_error("partition %s: %s; rebuilding it from the segment files", p->dir, err_msg(e));
		err_clear(e);
		rc = manifest_rebuild(p, &m, &nm, e);
		rebuilt = 1;
	}
	if (rc)
		return rc;
	p->sealed = mem_calloc((size_t)nm + 1, sizeof(SegRef *));
	p->verify = mem_calloc((size_t)nm + 1, sizeof(SegRef *));
	if (p->sealed == NULL || p->verify == NULL) {
		mem_free(m);
		return err_set(e, ERR_NOMEM, "opening %s", p->dir);
	}
	p->capsealed = nm;
	int dropped = 0;
	for (int i = 0; i < nm; i++) {
		char path[4200];
		seg_path(p, m[i].seq, path, sizeof(path));
		SegFile *sf = NULL;
		Err se = {0};
		int src = segfile_open(path, &sf, &se);
		if (src == 0 && segfile_meta(sf)->nrows != m[i].rows)
			src = err_set(&se, ERR_CORRUPT, "%s holds %" PRIu64 " rows, the manifest says %" PRIu64,
				      path, segfile_meta(sf)->nrows, m[i].rows);
		if (src != 0) {
			if (sf)
				segfile_close(sf);
			dropped++;
			atomic_fetch_add(&p->quarantined, 1);
			metric_add(METRIC_SEGMENTS_QUARANTINED, 1);
			if (src == ERR_NOMEM) {
				mem_free(m);
				*e = se;
				return src;
			}
			Err qe = {0};
			if (move_to_quarantine(p, path, err_msg(&se), &qe) != 0)
				log_error("partition %s: %s", p->dir, err_msg(&qe));
			log_error("partition %s: segment %" PRIu64 " cannot be used (%s); it is quarantined "
				  "in %s/quarantine and the rest is served", p->dir, m[i].seq, err_msg(&se), p->dir);
			continue;
		}
		SegRef *r = ref_new(NULL, sf, m[i].seq);
		if (r == NULL) {
			segfile_close(sf);
			mem_free(m);
			return err_set(e, ERR_NOMEM, "opening %s", p->dir);
		}
		r->src_start = m[i].start;
		r->src_end = m[i].end;
		r->off_start = m[i].ostart;
		r->off_end = m[i].oend;
		if (m[i].oend > p->stream_next)
			p->stream_next = m[i].oend;
		r->rows = (size_t)m[i].rows;
		r->created_ms = segfile_meta(sf)->created_ms;
		p->sealed[p->nsealed++] = r;
		atomic_fetch_add(&r->refs, 1);
		p->verify[p->nverify++] = r;
	}
	mem_free(m);
	/* verify in order of age, the newest first (a stack) */
	if ((dropped || rebuilt) && (rc = manifest_write(p, p->sealed, p->nsealed, p->wal_through, p->next_seq, e)) != 0)
		return rc;
	/* leftovers of a crash */
	DIR *d = opendir(p->dir);
	if (d == NULL)
		return err_set(e, ERR_IO, "open directory %s: %s", p->dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t k;
		int stale = 0;
		if ((k = numbered(de->d_name, "seg-", ".wbs")) != 0) {
			stale = 1;
			for (int i = 0; i < p->nsealed; i++)
				stale &= p->sealed[i]->seq != k;
		} else if ((k = numbered(de->d_name, "wal-", ".log")) != 0) {
			stale = k <= p->wal_through;
		} else {
			size_t l = strlen(de->d_name);
			stale = l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0;
		}
		if (!stale)
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", p->dir, de->d_name);
		log_info("partition %s: removing %s left by an interrupted seal", p->dir, de->d_name);
		if (unlink(path) != 0)
			log_warn("remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (p->next_seq == 0)
		p->next_seq = 1;
	return file_fsync_dir(p->dir, e);
}

/* Handles DIR/wal.next of a column change a crash interrupted (see the
 * header comment): a committed one becomes log file `to`. */
static int
recover_next(Partition *p, uint64_t to, Err *e)
{
	char next[4096];
	snprintf(next, sizeof(next), "%s/wal.next", p->dir);
	if (!file_exists(next))
		return 0;
	p->need_layout = 1;
	p->layout_ok = p->layout_bad = 0;
	p->replay_first = 1;
	Wal *w = NULL;
	Err le = {0};
	int rc = wal_open(next, replay_record, p, &w, &le);
	p->need_layout = 0;
	/* the logs are replayed from scratch below */
	MutSeg *fresh = mutseg_create(p->ncols, p->cols);
	if (fresh == NULL) {
		wal_close(w);
		return err_set(e, ERR_NOMEM, "opening partition %s", p->dir);
	}
	if (p->ups)
		upsert_seg_reset(p->ups, p->active->seq, fresh);
	mutseg_free(p->active->mut);
	p->active->mut = fresh;
	if (rc == 0 && p->layout_ok) {
		char path[4200];
		wal_path(p, to, path, sizeof(path));
		rc = wal_rename(w, path, e);
		wal_close(w);
		if (rc == 0)
			log_info("partition %s: completed a schema change (installed the rewritten log)", p->dir);
		return rc;
	}
	if (rc != 0 && !p->layout_bad) {
		wal_close(w);
		*e = le;
		return rc;
	}
	wal_close(w);
	log_warn("partition %s: removing %s of a schema change that was not committed%s%s", p->dir,
		 next, rc ? ": " : "", rc ? err_msg(&le) : "");
	if (unlink(next) != 0)
		return err_set(e, ERR_IO, "remove %s: %s", next, strerror(errno));
	return file_fsync_dir(p->dir, e);
}

/* Replays every live log file into the mutable segment and opens the
 * last one for appends (a first one is created when there is none). */
static int
open_logs(Partition *p, Err *e)
{
	char legacy[4200];
	snprintf(legacy, sizeof(legacy), "%s/wal.log", p->dir);
	uint64_t *ns;
	int n;
	int rc = list_numbered(p, "wal-", ".log", &ns, &n, e);
	if (rc)
		return rc;
	uint64_t top = n ? ns[n - 1] : p->wal_through;
	if (top < p->wal_through)
		top = p->wal_through;
	if (file_exists(legacy)) {
		/* a log from before sealing existed: it is the first file */
		char path[4200];
		wal_path(p, top + 1, path, sizeof(path));
		if (rename(legacy, path) != 0) {
			mem_free(ns);
			return err_set(e, ERR_IO, "rename %s to %s: %s", legacy, path, strerror(errno));
		}
		mem_free(ns);
		if ((rc = file_fsync_dir(p->dir, e)) != 0 ||
		    (rc = list_numbered(p, "wal-", ".log", &ns, &n, e)) != 0)
			return rc;
		top++;
	}
	if ((rc = recover_next(p, top + 1, e)) != 0) {
		mem_free(ns);
		return rc;
	}
	mem_free(ns);
	if ((rc = list_numbered(p, "wal-", ".log", &ns, &n, e)) != 0)
		return rc;
	int64_t t0 = clock_mono_ns();
	uint64_t records = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		if (ns[i] <= p->wal_through)
			continue;
		char path[4200];
		wal_path(p, ns[i], path, sizeof(path));
		Wal *w = NULL;
		p->replay_first = 1;
		rc = wal_open(path, replay_record, p, &w, e);
		if (rc)
			break;
		records += wal_records(w);
		if (p->wal_first == 0)
			p->wal_first = ns[i];
		if (p->wal) {
			wal_close(p->wal);
		}
		p->wal = w;
		p->wal_cur = ns[i];
	}
	mem_free(ns);
	if (rc)
		return rc;
	if (p->wal == NULL) {
		uint64_t first = p->wal_through + 1;
		char path[4200];
		wal_path(p, first, path, sizeof(path));
		if ((rc = wal_open(path, NULL, NULL, &p->wal, e)) != 0)
			return rc;
		p->wal_first = p->wal_cur = first;
	}
	size_t rows = mutseg_rows(p->active->mut);
	if (records)
		log_info("partition %s: replayed %" PRIu64 " log records, %zu rows in %.1f ms", p->dir,
			 records, rows, (double)(clock_mono_ns() - t0) / 1e6);
	if (rows)
		p->active_since_ms = clock_wall_ms();
	return 0;
}

/* Upsert partitions (partition_open, after the sealed segments are
 * mapped): the key index and bitmaps from the newest usable snapshot, or
 * rebuilt from the segments; the mutable segment is added for replay. */
static int
open_upsert(Partition *p, const UpsertCfg *cfg, Err *e)
{
	int rc = upsert_new(cfg, p->cols, &p->ups, e);
	for (int i = 0; rc == 0 && i < p->nsealed; i++)
		rc = upsert_seg_add(p->ups, p->sealed[i]->seq, NULL, p->sealed[i]->file, e);
	if (rc)
		return rc;
	uint64_t top = p->nsealed ? p->sealed[p->nsealed - 1]->seq : 0;
	int64_t t0 = clock_mono_ns();
	int loaded = p->nsealed == 0;
	/* newest first: one covering exactly the mapped segments */
	uint64_t tried = UINT64_MAX;
	while (!loaded) {
		uint64_t best = 0;
		DIR *d = opendir(p->dir);
		struct dirent *de;
		while (d && (de = readdir(d)) != NULL) {
			uint64_t k = upsert_snapshot_upto(de->d_name);
			if (k > best && k <= top && k < tried)
				best = k;
		}
		if (d)
			closedir(d);
		if (best == 0)
			break;
		tried = best;
		char path[4200];
		snprintf(path, sizeof(path), "%s/upsert-%06" PRIu64 ".snap", p->dir, best);
		Err le = {0};
		int r = upsert_load(p->ups, path, &le);
		if (r < 0) {
			log_warn("partition %s: %s; trying an older snapshot", p->dir, err_msg(&le));
			upsert_free(p->ups);
			p->ups = NULL;
			if ((rc = upsert_new(cfg, p->cols, &p->ups, e)) != 0)
				return rc;
			for (int i = 0; rc == 0 && i < p->nsealed; i++)
				rc = upsert_seg_add(p->ups, p->sealed[i]->seq, NULL, p->sealed[i]->file, e);
			if (rc)
				return rc;
			continue;
		}
		loaded = r == 1;
	}
	if (!loaded) {
		log_info("partition %s: no usable upsert snapshot; rebuilding the key index from %d segments",
			 p->dir, p->nsealed);
		if ((rc = upsert_rebuild(p->ups, e)) != 0)
			return rc;
	}
	UpsertStats st;
	upsert_stats(p->ups, &st);
	if (p->nsealed)
		log_info("partition %s: upsert key index %s: %" PRIu64 " keys in %.1f ms", p->dir,
			 loaded ? "loaded" : "rebuilt", st.keys, (double)(clock_mono_ns() - t0) / 1e6);
	return upsert_seg_add(p->ups, p->active->seq, p->active->mut, NULL, e);
}

void
partition_upsert_stats(Partition *p, UpsertStats *st)
{
	memset(st, 0, sizeof(*st));
	if (p->ups)
		upsert_stats(p->ups, st);
}

int
partition_upsert_remap(Partition *p, const char **names, const int *map, Err *e)
{
	if (p->ups == NULL)
		return 0;
	upsert_seg_set_mut(p->ups, p->active->seq, p->active->mut);
	return upsert_remap(p->ups, p->ncols, p->cols, names, map, e);
}

int
partition_open(const char *dir, int id, int ncols, const ColDesc *cols, const UpsertCfg *ups,
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
	MutSeg *seg = mutseg_create(ncols, cols);
	p->active = seg ? ref_new(seg, NULL, 0) : NULL;
	if (p->active == NULL)
		mutseg_free(seg);
	buf_init(&p->enc);
	arena_init(&p->cfg_arena, 1024);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->man_mu, NULL);
	pthread_mutex_init(&p->uview_mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->sealer_wake, NULL);
	pthread_cond_init(&p->sealed_cv, NULL);
	p->cfg.sort_col = p->cfg.time_col = -1;
	p->stream_next = -1;
	if (p->dir == NULL || p->cols == NULL || p->active == NULL) {
		rc = err_set(e, ERR_NOMEM, "opening partition %s", dir);
		goto fail;
	}
	if ((rc = open_segments(p, e)) != 0)
		goto fail;
	p->active->off_start = p->stream_next;
	p->active->seq = p->next_seq;
	if (ups && ups->on && (rc = open_upsert(p, ups, e)) != 0)
		goto fail;
	if ((rc = open_logs(p, e)) != 0)
		goto fail;
	if (p->stream_skipped)
		log_warn("partition %s: %" PRIu64 " stream log records did not continue position %" PRId64
			 " and were skipped (their messages are consumed again)", p->dir, p->stream_skipped,
			 p->stream_next);
	p->active->seq = p->next_seq;
	p->active->src_start = (int64_t)p->wal_first;
	pthread_mutex_lock(&p->mu);
	publish_view(p);
	pthread_mutex_unlock(&p->mu);
	if (pthread_create(&p->thread, NULL, writer_main, p) != 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot start writer thread for %s", dir);
		goto fail;
	}
	if (pthread_create(&p->sealer, NULL, sealer_main, p) != 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot start sealer thread for %s", dir);
		pthread_mutex_lock(&p->mu);
		p->stopping = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
		goto fail;
	}
	p->sealer_started = 1;
	*out = p;
	return 0;
fail:
	p->stopping = 1;
	partition_close(p);
	return rc;
}

void
partition_close(Partition *p)
{
	if (p == NULL)
		return;
	if (!p->stopping) {
		pthread_mutex_lock(&p->mu);
		p->stopping = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	if (p->sealer_started) {
		pthread_mutex_lock(&p->mu);
		p->sealer_stopping = 1;
		pthread_cond_signal(&p->sealer_wake);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->sealer, NULL);
	}
	partition_evolve_abort(p);
	wal_close(p->wal);
	partition_view_release(p->view);
	partition_view_release(p->uview);
	partition_view_release(p->uview_base);
	mem_free(p->usnap);
	for (int i = 0; i < p->nverify; i++)
		ref_put(p->verify[i]);
	mem_free(p->verify);
	for (int i = 0; i < p->nsealed; i++)
		ref_put(p->sealed[i]);
	mem_free(p->sealed);
	ref_put(p->sealing);
	ref_put(p->active);
	mem_free(p->cols);
	buf_free(&p->enc);
	arena_free(&p->cfg_arena);
	upsert_free(p->ups);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->man_mu);
	pthread_mutex_destroy(&p->uview_mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->sealer_wake);
	pthread_cond_destroy(&p->sealed_cv);
	mem_free(p->dir);
	mem_free(p);
}

int
partition_configure(Partition *p, const PartConfig *cfg, Err *e)
{
	Arena a;
	arena_init(&a, 1024);
	SegColOpt *cols = colopts_dup(&a, cfg->cols, cfg->ncols);
	if (cols == NULL) {
		arena_free(&a);
		return err_set(e, ERR_NOMEM, "configuring partition %s", p->dir);
	}
	/* the sealer copies what it needs under mu, so the old arena can go */
	pthread_mutex_lock(&p->mu);
	Arena old = p->cfg_arena;
	p->cfg = *cfg;
	p->cfg.cols = cols;
	p->cfg_arena = a;
	for (int i = 0; i < p->nsealed; i++)
		p->sealed[i]->tmax_ms = tmax_ms_of(p, p->sealed[i]->file);
	pthread_cond_signal(&p->wake);	/* thresholds may be passed now */
	pthread_mutex_unlock(&p->mu);
	arena_free(&old);
	return 0;
}

int
partition_seal(Partition *p, Err *e)
{
	pthread_mutex_lock(&p->mu);
	uint64_t want = ++p->force_req;
	uint64_t fails = p->seal_fails;
	pthread_cond_signal(&p->wake);
	int rc = 0;
	for (;;) {
		if (p->failed || p->stopping) {
			rc = err_set(e, p->failed ? ERR_IO : ERR_SHUTDOWN, "partition %s is %s", p->dir,
				     p->failed ? "failed after an I/O error" : "closing");
			break;
		}
		if (p->seal_fails != fails) {
			if (e)
				*e = p->seal_err;
			rc = p->seal_err.code ? p->seal_err.code : ERR_IO;
			break;
		}
		if (p->force_done >= want && p->sealing == NULL)
			break;
		pthread_cond_wait(&p->sealed_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int
submit(Partition *p, WriteReq *rq, Err *e);

int
partition_write(Partition *p, const RowBatch *b, Err *e)
{
	if (b->nrows == 0)
		return 0;
	WriteReq r = {.batch = b};
	return submit(p, &r, e);
}

int
partition_write_stream(Partition *p, const RowBatch *b, int64_t prev, int64_t end, Err *e)
{
	if (prev < 0 || end < prev)
		return err_set(e, ERR_INVALID, "partition %d: bad stream positions [%" PRId64 ", %" PRId64 ")",
			       p->id, prev, end);
	WriteReq r = {.batch = b, .stream = 1, .off_prev = prev, .off_end = end};
	return submit(p, &r, e);
}

int64_t
partition_stream_next(Partition *p)
{
	pthread_mutex_lock(&p->mu);
	int64_t n = p->stream_next;
	pthread_mutex_unlock(&p->mu);
	return n;
}

static int
submit(Partition *p, WriteReq *rq, Err *e)
{
	WriteReq r = *rq;
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

int partition_id(const Partition *p) { return p->id; }
const char *partition_dir(const Partition *p) { return p->dir; }
int64_t partition_last_write_ms(const Partition *p) { return atomic_load(&((Partition *)p)->last_write_ms); }

uint64_t
partition_wal_bytes(const Partition *p)
{
	Partition *q = (Partition *)p;
	pthread_mutex_lock(&q->mu);
	uint64_t n = wal_size(q->wal);
	pthread_mutex_unlock(&q->mu);
	return n;
}
int partition_quarantined(const Partition *p) { return atomic_load(&((Partition *)p)->quarantined); }

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
	/* the rows to restate are the mutable segment's only: no seal may be
	 * in progress, and none may start */
	pthread_mutex_lock(&p->mu);
	p->evolving = 1;
	while (p->sealing != NULL && !p->failed) {
		pthread_cond_signal(&p->sealer_wake);
		pthread_cond_wait(&p->sealed_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	char next[4096];
	snprintf(next, sizeof(next), "%s/wal.next", p->dir);
	if (unlink(next) != 0 && errno != ENOENT) {
		partition_evolve_abort(p);
		return err_set(e, ERR_IO, "remove %s: %s", next, strerror(errno));
	}
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
	const MutSeg *old = p->active->mut;
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
	if (rc == 0 && p->active->off_end >= 0) {
		/* the restated rows' stream positions */
		buf_reset(&enc);
		stream_hdr_encode(&enc, p->active->off_start, p->active->off_end);
		rc = enc.oom ? err_set(e, ERR_NOMEM, "encoding a log record")
			     : wal_append(p->next_wal, enc.p, enc.len, e);
	}
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
	char log[4200];
	wal_path(p, p->wal_cur + 1, log, sizeof(log));
	int rc = p->next_wal ? wal_rename(p->next_wal, log, e)
			     : err_set(e, ERR_INTERNAL, "partition %s: no column change prepared", p->dir);
	if (rc) {
		/* the new schema is durable and so is wal.next, which the
		 * next start installs; until then take no writes, and no
		 * further change (it would remove wal.next) */
		p->failed = 1;
		log_error("partition %s: %s; the partition refuses writes until restarted", p->dir,
			  err_msg(e));
		return rc;
	}
	/* the new file restates the older ones (replay would also let it
	 * replace them if this removal does not happen) */
	remove_logs(p, p->wal_first, p->wal_cur);
	return 0;
}

void
partition_evolve_install(Partition *p)
{
	if (p->next_seg == NULL)
		return;
	/* a few bytes, and the change is committed: it cannot fail */
	SegRef *r = mem_alloc_or_die(sizeof(SegRef));
	memset(r, 0, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->mut = p->next_seg;
	r->seq = p->next_seq;
	r->tmax_ms = INT64_MIN;
	r->src_start = (int64_t)p->wal_cur + 1;
	pthread_mutex_lock(&p->mu);
	r->off_start = p->active->off_start;
	r->off_end = p->active->off_end;
	wal_close(p->wal);
	p->wal = p->next_wal;
	p->wal_cur++;
	p->wal_first = p->wal_cur;
	mem_free(p->cols);
	p->cols = p->next_cols;
	p->ncols = p->next_ncols;
	SegRef *old = p->active;
	p->active = r;
	publish_view(p);
	p->evolving = 0;
	pthread_mutex_unlock(&p->mu);
	ref_put(old);
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
	pthread_mutex_lock(&p->mu);
	p->evolving = 0;
	pthread_mutex_unlock(&p->mu);
}
