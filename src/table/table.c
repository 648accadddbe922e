/*
 * table.c -- a table's partitions, its write routing and read snapshots.
 *
 * A Table is created by the catalog (table__open) and shared by reference
 * count.  Its partitions are those of the config (num_partitions) and
 * any more found on disk; a Kafka source adds one per partition of its
 * topic (table_ensure_partitions: the parts array never moves, a new
 * partition is stored before nparts counts it, and a snapshot records how
 * many it saw).  Stream writes go to the partition of the same number
 * (table_write_stream).  table_write routes a batch: to partition 0 when there is one,
 * by hash of the partition column when the config names one, else whole
 * batches round robin (so a batch stays atomic).  The last table_unref
 * stops the partitions' writers and, if the table was dropped, removes its
 * data directory -- which the drop first renamed (table__move_dir) out of
 * the way, so a new table of the same name never shares or loses it.
 *
 * Configs and schemas replaced while queries run are kept on a retired
 * list until the table is freed, so a pointer from table_config or
 * table_schema stays valid as long as the caller holds a reference.
 *
 * Adding columns (table__evolve_*, driven by catalog_put_schema): the
 * write lock (a writer-preferring rwlock that every table_write holds in
 * read mode) is taken for the whole change, so no batch is in flight
 * while the partitions copy their rows into the new layout and rewrite
 * their logs (partition_evolve_prepare).  After the catalog made the new
 * schema durable, each partition renames its new log into place, then
 * under the view lock (which table_snapshot holds in read mode for a few
 * loads) every partition's new segment and the new schema are published
 * together, so a snapshot never mixes layouts and always carries the
 * schema its segments follow (TableSnap.schema).
 *
 * Write observers (the life-cycle tracker): after a partition write
 * made rows visible, the table's observer (one, installed by the
 * catalog) is called with them, in the current schema's layout, still
 * under the write lock's read mode; a column change or a new observer
 * therefore never races a call in flight.
 *
 * Batches built for an earlier schema (an upload that began before the
 * change) are mapped, not refused: layouts only ever grow, so the batch's
 * column count names the schema it was built for, and its values move to
 * the columns of the same name; the new columns are NULL with their
 * default value.
 *
 * Exports: table_name, table_schema, table_config, table_config_of,
 * table_num_partitions, table_ref, table_unref, table_snapshot,
 * table_snap_free, table_write, table_stats, table_upsert_stats, table_segment_info,
 * table_seal, table_quarantine, table_tick, table_ensure_partitions,
 * table_write_stream, table_stream_next, table_seal_partition,
 * table_ingest_set, table_ingest_clear, table_ingest_get, and the
 * table__ functions of
 * table_int.h.
 */
#define _GNU_SOURCE
#include "table/table_int.h"
#include "table/partition.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/pool.h"
#include "storage/codec.h"

#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <pthread.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

typedef struct Retired {
	struct Retired *next;
	TableConfig *cfg;
	Schema *schema;
} Retired;

struct Table {
	_Atomic int refs;
	char *name;
	char *dir;
	Schema *_Atomic schema;
	TableConfig *_Atomic cfg[2];	/* by TableType */
	Retired *retired;	/* configs replaced (under the catalog's write_mu) */
	Retired *old_schemas;	/* schemas replaced (under the write lock) */
	/* partitions: parts has room for TABLE_MAX_PARTS, so the array never
	 * moves; a partition is stored before nparts counts it (growth:
	 * table_ensure_partitions, under the write lock) */
	_Atomic int nparts;
	Partition **parts;
	pthread_mutex_t ingest_mu;
	IngestStat *ingest;	/* TABLE_MAX_PARTS entries once a source reports */
	int part_col;		/* schema index of the partition column, or -1
				 * (changed under the write lock) */
	_Atomic unsigned rr;
	_Atomic int dropped;
	pthread_rwlock_t write_lock;	/* read: table_write; write: a column change */
	pthread_rwlock_t view_lock;	/* read: table_snapshot; write: installing one */
	Schema *next_schema;	/* a prepared column change (referenced) */
	UpsertCfg ups;		/* upsert tables (ups.on), for the schema in
				 * use; fixed when the table opens */
	/* the write observer (table__set_observer): read under the write
	 * lock's read mode by every write, set under its write mode */
	TableObserver obs_fn;
	void *obs_ctx;
};

static void
retire(Retired **list, TableConfig *cfg, Schema *schema)
{
	Retired *r = mem_alloc_or_die(sizeof(Retired));
	r->cfg = cfg;
	r->schema = schema;
	r->next = *list;
	*list = r;
}

/* The partitions' column descriptions for schema s (caller frees). */
static ColDesc *
col_descs(const Schema *s)
{
	ColDesc *cols = mem_calloc((size_t)s->nfields + 1, sizeof(ColDesc));
	if (cols == NULL)
		return NULL;
	for (int i = 0; i < s->nfields; i++) {
		cols[i].type = s->fields[i].type;
		cols[i].mv = !s->fields[i].single_value;
		cols[i].has_dflt = s->fields[i].default_null.type == (uint8_t)s->fields[i].type;
		cols[i].dflt = s->fields[i].default_null;
	}
	return cols;
}

/* Hash of row's primary key: which partition pushed rows of an upsert
 * table go to (every version of a key in one partition). */
static uint64_t
pk_hash(const UpsertCfg *u, const Value *row)
{
	uint64_t h = 0x6a09e667f3bcc908ULL;
	for (int k = 0; k < u->npk; k++) {
		const Value *v = &row[u->pk[k]];
		uint64_t x;
		if (v->null || v->mv)
			x = 0x9e3779b97f4a7c15ULL;
		else if (v->type == TYPE_STRING || v->type == TYPE_JSON || v->type == TYPE_BYTES)
			x = hash_bytes(v->u.s, v->n);
		else if (v->type == TYPE_FLOAT || v->type == TYPE_DOUBLE)
			x = hash_u64((uint64_t)(int64_t)v->u.d ^ (uint64_t)k);
		else
			x = hash_u64((uint64_t)v->u.i);
		h = hash_u64(h ^ x);
	}
	return h;
}

static int
part_col_of(const Schema *s, const TableConfig *cfg)
{
	return cfg && cfg->partition_column ? schema_find(s, cfg->partition_column) : -1;
}

#define DEFAULT_FLUSH_ROWS 5000000	/* Pinot's defaults */
#define DEFAULT_FLUSH_TIME_MS (6 * 3600 * 1000LL)

static int
name_in(const char *name, const char **list, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

/* Tells every partition how to seal and age its segments under schema s
 * and the table's current config. */
static void
configure_parts(Table *t, const Schema *s)
{
	const TableConfig *cfg = table_config(t);
	SegColOpt *cols = mem_calloc((size_t)s->nfields + 1, sizeof(SegColOpt));
	if (cols == NULL || cfg == NULL) {
		mem_free(cols);
		log_error("table %s: no memory to configure sealing; segments stay mutable", t->name);
		return;
	}
	PartConfig pc = {0};
	pc.ncols = s->nfields;
	pc.cols = cols;
	pc.sort_col = pc.time_col = -1;
	for (int i = 0; i < s->nfields; i++) {
		const Field *f = &s->fields[i];
		cols[i].name = f->name;
		cols[i].codec = CODEC_LZ4;
		/* dimensions get a sorted dictionary unless the config says
		 * otherwise; metrics and times are stored raw */
		int nodict = name_in(f->name, cfg->no_dictionary, cfg->nnodict);
		cols[i].inverted = name_in(f->name, cfg->inverted, cfg->ninverted);
		cols[i].range = name_in(f->name, cfg->range, cfg->nrange);
		cols[i].bloom = name_in(f->name, cfg->bloom, cfg->nbloom);
		/* an inverted index needs a dictionary (as in Pinot) */
		cols[i].dict = type_is_var(f->type) ||
			       (!nodict && (f->kind == FIELD_DIMENSION || cols[i].inverted));
	}
	if (cfg->sorted_column) {
		int c = schema_find(s, cfg->sorted_column);
		if (c >= 0 && s->fields[c].single_value)
			pc.sort_col = c;
	}
	if (cfg->time_column) {
		int c = schema_find(s, cfg->time_column);
		if (c >= 0 && s->fields[c].single_value &&
		    (s->fields[c].type == TYPE_INT || s->fields[c].type == TYPE_LONG ||
		     s->fields[c].type == TYPE_TIMESTAMP)) {
			pc.time_col = c;
			pc.time_unit_ms = schema_time_unit_ms(&s->fields[c]);
		}
	}
	pc.flush_rows = cfg->flush_rows > 0 ? cfg->flush_rows
			: cfg->flush_size_bytes > 0 ? 0 : DEFAULT_FLUSH_ROWS;
	pc.flush_bytes = cfg->flush_size_bytes;
	pc.flush_time_ms = cfg->flush_time_ms > 0 ? cfg->flush_time_ms : DEFAULT_FLUSH_TIME_MS;
	pc.retention_ms = tblconfig_retention_ms(cfg);
	for (int i = 0; i < t->nparts; i++) {
		Err e = {0};
		if (partition_configure(t->parts[i], &pc, &e) != 0)
			log_error("table %s: %s", t->name, err_msg(&e));
	}
	mem_free(cols);
}

typedef struct OpenJob {
	const char *dir;
	int ncols;
	const ColDesc *cols;
	const UpsertCfg *ups;
	Partition **parts;
	Err *errs;		/* one per partition */
} OpenJob;

static void
open_one(void *arg, int i)
{
	OpenJob *j = arg;
	char pdir[4096];
	snprintf(pdir, sizeof(pdir), "%s/p%d", j->dir, i);
	j->parts[i] = NULL;
	partition_open(pdir, i, j->ncols, j->cols, j->ups, &j->parts[i], &j->errs[i]);
}

int
table__open(const char *dir, const char *name, Schema *s, TableConfig *cfg,
	    Table **out, Err *e)
{
	Table *t = mem_calloc(1, sizeof(Table));
	if (t == NULL)
		return err_set(e, ERR_NOMEM, "opening table %s", name);
	atomic_init(&t->refs, 1);
	t->name = mem_strdup(name);
	t->dir = mem_strdup(dir);
	schema_ref(s);
	atomic_init(&t->schema, s);
	t->cfg[cfg->type] = cfg;
	int np = cfg->num_partitions > 0 ? cfg->num_partitions : 1;
	/* a stream table may have grown past its config (the topic's
	 * partitions): every partition directory on disk is opened */
	while (np < TABLE_MAX_PARTS) {
		char pdir[4096];
		snprintf(pdir, sizeof(pdir), "%s/p%d", dir, np);
		if (!file_exists(pdir))
			break;
		np++;
	}
	t->nparts = np;
	pthread_mutex_init(&t->ingest_mu, NULL);
	t->part_col = part_col_of(s, cfg);
	t->parts = mem_calloc(TABLE_MAX_PARTS, sizeof(Partition *));
	ColDesc *cols = col_descs(s);
	int rc = upsert_cfg_build(cfg, s, &t->ups, e);
	if (rc) {
		mem_free(cols);
		mem_free(t->parts);
		schema_unref(s);
		mem_free(t->name);
		mem_free(t->dir);
		mem_free(t);
		return rc;
	}
	if (t->name == NULL || t->dir == NULL || t->parts == NULL || cols == NULL) {
		rc = err_set(e, ERR_NOMEM, "opening table %s", name);
		goto fail;
	}
	/* partitions replay their logs in parallel on the worker pool: a
	 * restart takes the time of the largest partition, not of all */
	OpenJob oj = {dir, s->nfields, cols, &t->ups, t->parts, NULL};
	oj.errs = mem_calloc((size_t)t->nparts, sizeof(Err));
	if (oj.errs == NULL) {
		rc = err_set(e, ERR_NOMEM, "opening table %s", name);
		goto fail;
	}
	pool_run(t->nparts > 1 ? pool_default() : NULL, t->nparts, open_one, &oj);
	for (int i = 0; i < t->nparts && rc == 0; i++) {
		if (oj.errs[i].code != 0) {
			rc = oj.errs[i].code;
			if (e && e->code == 0)
				*e = oj.errs[i];
		}
	}
	mem_free(oj.errs);
	if (rc)
		goto fail;
	mem_free(cols);
	configure_parts(t, s);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* a column change must not starve behind a stream of writes */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->write_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_rwlock_init(&t->view_lock, NULL);
	*out = t;
	return 0;
fail:
	mem_free(cols);
	if (t->parts)
		for (int i = 0; i < t->nparts; i++)
			partition_close(t->parts[i]);
	mem_free(t->parts);
	upsert_cfg_free(&t->ups);
	schema_unref(atomic_load(&t->schema));
	mem_free(t->name);
	mem_free(t->dir);
	mem_free(t);
	return rc;
}

void
table__set_config(Table *t, TableConfig *cfg)
{
	TableConfig *old = atomic_exchange(&t->cfg[cfg->type], cfg);
	if (old)
		retire(&t->retired, old, NULL);
	configure_parts(t, table_schema(t));
}

int
table__drop_config(Table *t, TableType type)
{
	TableConfig *old = atomic_exchange(&t->cfg[type], NULL);
	if (old)
		retire(&t->retired, old, NULL);
	return (atomic_load(&t->cfg[0]) != NULL) + (atomic_load(&t->cfg[1]) != NULL);
}

void table__mark_dropped(Table *t) { atomic_store(&t->dropped, 1); }

int
table__move_dir(Table *t, const char *newdir, Err *e)
{
	char *nd = mem_strdup(newdir);
	if (nd == NULL)
		return err_set(e, ERR_NOMEM, "dropping table %s", t->name);
	if (rename(t->dir, nd) != 0) {
		int rc = err_set(e, ERR_IO, "rename %s to %s: %s", t->dir, nd, strerror(errno));
		mem_free(nd);
		return rc;
	}
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", nd);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		file_fsync_dir(parent, NULL);
	}
	mem_free(t->dir);
	t->dir = nd;
	return 0;
}
const char *table__dir(const Table *t) { return t->dir; }

const char *table_name(const Table *t) { return t->name; }
const Schema *table_schema(const Table *t) { return atomic_load(&((Table *)t)->schema); }
int table_num_partitions(const Table *t) { return t->nparts; }

const TableConfig *
table_config(const Table *t)
{
	TableConfig *c = atomic_load(&((Table *)t)->cfg[TABLE_REALTIME]);
	return c ? c : atomic_load(&((Table *)t)->cfg[TABLE_OFFLINE]);
}

const TableConfig *
table_config_of(const Table *t, TableType type)
{
	return atomic_load(&((Table *)t)->cfg[type]);
}

void table_ref(Table *t) { atomic_fetch_add(&t->refs, 1); }

void
table__set_observer(Table *t, TableObserver fn, void *ctx)
{
	pthread_rwlock_wrlock(&t->write_lock);
	t->obs_fn = fn;
	t->obs_ctx = ctx;
	pthread_rwlock_unlock(&t->write_lock);
}

void
table_unref(Table *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (int i = 0; i < t->nparts; i++)
		partition_close(t->parts[i]);
	if (atomic_load(&t->dropped)) {
		Err e = {0};
		if (file_remove_tree(t->dir, &e) != 0)
			log_warn("dropping table %s: %s", t->name, err_msg(&e));
	}
	for (int i = 0; i < 2; i++)
		tblconfig_free(atomic_load(&t->cfg[i]));
	for (int k = 0; k < 2; k++) {
		Retired **list = k ? &t->old_schemas : &t->retired;
		while (*list) {
			Retired *r = *list;
			*list = r->next;
			tblconfig_free(r->cfg);
			schema_unref(r->schema);
			mem_free(r);
		}
	}
	schema_unref(t->next_schema);
	schema_unref(atomic_load(&t->schema));
	pthread_rwlock_destroy(&t->write_lock);
	pthread_rwlock_destroy(&t->view_lock);
	pthread_mutex_destroy(&t->ingest_mu);
	mem_free(t->ingest);
	mem_free(t->parts);
	upsert_cfg_free(&t->ups);
	mem_free(t->name);
	mem_free(t->dir);
	mem_free(t);
}

int
table_upsert_stats(Table *t, TableUpsertStats *st)
{
	memset(st, 0, sizeof(*st));
	if (!t->ups.on)
		return 0;
	int n = atomic_load(&t->nparts);
	for (int i = 0; i < n; i++) {
		UpsertStats u;
		partition_upsert_stats(t->parts[i], &u);
		st->keys += u.keys;
		st->deleted += u.deleted;
		st->index_bytes += u.index_bytes;
		st->out_of_order += u.out_of_order;
		st->collisions += u.collisions;
	}
	return 1;
}

int
table_snapshot(Table *t, TableSnap *snap, Err *e)
{
	memset(snap, 0, sizeof(*snap));
	snap->views = mem_calloc(TABLE_MAX_PARTS, sizeof(PartView *));
	if (snap->views == NULL)
		return err_set(e, ERR_NOMEM, "snapshot of %s", t->name);
	table_ref(t);
	snap->table = t;
	/* the view lock keeps a column change from installing between the
	 * partitions' views and the schema: they always match */
	pthread_rwlock_rdlock(&t->view_lock);
	snap->schema = atomic_load(&t->schema);
	int n = 0;
	snap->nviews = atomic_load(&t->nparts);
	for (int i = 0; i < snap->nviews; i++) {
		snap->views[i] = partition_view(t->parts[i]);
		n += snap->views[i]->nsegs;
	}
	pthread_rwlock_unlock(&t->view_lock);
	snap->segs = mem_calloc((size_t)n + 1, sizeof(SnapSeg));
	if (snap->segs == NULL) {
		table_snap_free(snap);
		return err_set(e, ERR_NOMEM, "snapshot of %s", t->name);
	}
	for (int i = 0; i < snap->nviews; i++) {
		const PartView *v = snap->views[i];
		for (int k = 0; k < v->nsegs; k++) {
			const PartSeg *ps = &v->segs[k];
			SnapSeg *ss = &snap->segs[snap->nsegs++];
			ss->partition = i;
			ss->seg = ps->file ? NULL : ps->mut;
			ss->file = ps->file;
			/* a mutable segment: the rows published by now (an
			 * upsert view fixed them with its bitmaps) */
			ss->rows = ps->state == PART_SEG_MUTABLE && ps->valid == NULL && !v->own_valid
					   ? mutseg_rows(ps->mut)
					   : ps->rows;
			ss->valid = ps->valid;
			ss->nvalid = ps->nvalid;
			ss->consuming = ps->state == PART_SEG_MUTABLE;
			snap->total_rows += ss->rows;
		}
	}
	return 0;
}

void
table_snap_free(TableSnap *snap)
{
	if (snap->table) {
		for (int i = 0; snap->views && i < snap->nviews; i++)
			partition_view_release(snap->views[i]);
		table_unref(snap->table);
	}
	mem_free(snap->views);
	mem_free(snap->segs);
	snap->views = NULL;
	snap->table = NULL;
	snap->segs = NULL;
	snap->schema = NULL;
	snap->nsegs = 0;
}

int
table_seal(Table *t, Err *e)
{
	int rc = 0;
	for (int i = 0; i < t->nparts && rc == 0; i++)
		rc = partition_seal(t->parts[i], e);
	return rc;
}

void
table_quarantine(Table *t, const SegFile *f, const char *reason)
{
	for (int i = 0; i < t->nparts; i++)
		partition_quarantine(t->parts[i], f, reason);
}

void
table_tick(Table *t)
{
	for (int i = 0; i < t->nparts; i++)
		partition_tick(t->parts[i]);
}

static uint64_t
value_hash(const Value *v)
{
	if (v->null)
		return 0;
	if (v->mv) {
		/* a multi-value key: combine its elements in order */
		uint64_t h = 0x9e3779b97f4a7c15ULL;
		for (uint32_t i = 0; i < v->n; i++)
			h = hash_u64(h ^ value_hash(&v->u.mv[i]));
		return h;
	}
	if (type_is_var((WbType)v->type))
		return hash_bytes(v->u.s, v->n);
	if (type_is_float((WbType)v->type)) {
		double d = v->u.d == 0 ? 0.0 : v->u.d;	/* -0.0 and 0.0 alike */
		uint64_t bits;
		memcpy(&bits, &d, sizeof(bits));
		return hash_u64(bits);
	}
	return hash_u64((uint64_t)v->u.i);
}

/* The schema a batch of ncols columns was built for: the current one, or
 * a replaced one (layouts only grow, so the count names it).  Called
 * under the write lock. */
static const Schema *
schema_for_batch(Table *t, int ncols)
{
	const Schema *cur = atomic_load(&t->schema);
	if (cur->nfields == ncols)
		return cur;
	for (Retired *r = t->old_schemas; r; r = r->next)
		if (r->schema->nfields == ncols)
			return r->schema;
	return NULL;
}

/* Copies b (built for schema from) into out in the layout of schema to;
 * out borrows b's strings. */
static int
map_batch(const RowBatch *b, const Schema *from, const Schema *to, RowBatch *out, Err *e)
{
	int *map = mem_calloc((size_t)to->nfields + 1, sizeof(int));
	if (map == NULL)
		return err_set(e, ERR_NOMEM, "mapping a batch to a new schema");
	for (int i = 0; i < to->nfields; i++)
		map[i] = schema_find(from, to->fields[i].name);
	int rc = 0;
	for (size_t r = 0; r < b->nrows && rc == 0; r++) {
		const Value *src = rowbatch_row(b, r);
		Value *dst = rowbatch_add_row(out);
		if (dst == NULL) {
			rc = err_set(e, ERR_NOMEM, "mapping a batch to a new schema");
			break;
		}
		for (int i = 0; i < to->nfields; i++) {
			const Field *f = &to->fields[i];
			if (map[i] >= 0) {
				dst[i] = src[map[i]];
				continue;
			}
			/* what ingest stores for a missing value */
			if (f->single_value) {
				dst[i] = f->default_null;
				dst[i].mv = 0;
			} else {
				dst[i] = value_null(f->type);
				dst[i].u.mv = &f->default_null;
				dst[i].n = 1;
				dst[i].mv = 1;
			}
			dst[i].type = (uint8_t)f->type;
			dst[i].null = 1;
		}
	}
	mem_free(map);
	return rc;
}

/* partition_write, then the observer (under the write lock's read
 * mode, so table__set_observer waits for calls in flight). */
static int
part_write(Table *t, int p, const RowBatch *b, Err *e)
{
	int rc = partition_write(t->parts[p], b, e);
	if (rc == 0 && t->obs_fn && b->nrows > 0)
		t->obs_fn(t->obs_ctx, t, p, b);
	return rc;
}

static int
write_locked(Table *t, const RowBatch *b, Err *e)
{
	if (t->nparts == 1)
		return part_write(t, 0, b, e);
	if (t->part_col < 0 && !t->ups.on) {
		unsigned p = atomic_fetch_add(&t->rr, 1) % (unsigned)t->nparts;
		return part_write(t, (int)p, b, e);
	}
	/* split by the partition column; sub-batches borrow b's strings */
	int rc = 0;
	for (int p = 0; p < t->nparts && rc == 0; p++) {
		RowBatch sub;
		rowbatch_init(&sub, b->ncols);
		for (size_t r = 0; r < b->nrows; r++) {
			const Value *row = rowbatch_row(b, r);
			uint64_t h = t->part_col >= 0 ? value_hash(&row[t->part_col]) : pk_hash(&t->ups, row);
			if ((int)(h % (uint64_t)t->nparts) != p)
				continue;
			Value *dst = rowbatch_add_row(&sub);
			if (dst == NULL) {
				rc = err_set(e, ERR_NOMEM, "splitting a batch by partition");
				break;
			}
			memcpy(dst, row, sizeof(Value) * (size_t)b->ncols);
		}
		if (rc == 0)
			rc = part_write(t, p, &sub, e);
		rowbatch_free(&sub);
	}
	return rc;
}

int
table_write(Table *t, const RowBatch *b, Err *e)
{
	pthread_rwlock_rdlock(&t->write_lock);
	const Schema *cur = atomic_load(&t->schema);
	int rc;
	if (b->ncols == cur->nfields) {
		rc = write_locked(t, b, e);
	} else {
		const Schema *from = schema_for_batch(t, b->ncols);
		if (from == NULL) {
			rc = err_set(e, ERR_INTERNAL, "batch has %d columns, table %s has %d",
				     b->ncols, t->name, cur->nfields);
		} else {
			RowBatch m;
			rowbatch_init(&m, cur->nfields);
			rc = map_batch(b, from, cur, &m, e);
			if (rc == 0)
				rc = write_locked(t, &m, e);
			rowbatch_free(&m);
		}
	}
	pthread_rwlock_unlock(&t->write_lock);
	return rc;
}

/* ---- stream-fed partitions ---------------------------------------------- */

int
table_ensure_partitions(Table *t, int n, Err *e)
{
	if (n > TABLE_MAX_PARTS)
		return err_set(e, ERR_TOO_LARGE, "table %s: %d partitions, at most %d are supported", t->name,
			       n, TABLE_MAX_PARTS);
	if (n <= atomic_load(&t->nparts))
		return 0;
	pthread_rwlock_wrlock(&t->write_lock);
	const Schema *s = atomic_load(&t->schema);
	ColDesc *cols = col_descs(s);
	int rc = cols ? 0 : err_set(e, ERR_NOMEM, "adding partitions to %s", t->name);
	int grew = 0;
	while (rc == 0 && atomic_load(&t->nparts) < n) {
		int i = atomic_load(&t->nparts);
		char pdir[4096];
		snprintf(pdir, sizeof(pdir), "%s/p%d", t->dir, i);
		if ((rc = partition_open(pdir, i, s->nfields, cols, &t->ups, &t->parts[i], e)) == 0) {
			pthread_rwlock_wrlock(&t->view_lock);
			atomic_store(&t->nparts, i + 1);
			pthread_rwlock_unlock(&t->view_lock);
			grew = 1;
		}
	}
	mem_free(cols);
	if (grew)
		configure_parts(t, s);
	pthread_rwlock_unlock(&t->write_lock);
	return rc;
}

int
table_write_stream(Table *t, int part, const RowBatch *b, int64_t prev, int64_t end, Err *e)
{
	pthread_rwlock_rdlock(&t->write_lock);
	const Schema *cur = atomic_load(&t->schema);
	int rc;
	if (part < 0 || part >= atomic_load(&t->nparts)) {
		rc = err_set(e, ERR_INVALID, "table %s has no partition %d", t->name, part);
	} else if (b->ncols == cur->nfields) {
		rc = partition_write_stream(t->parts[part], b, prev, end, e);
		if (rc == 0 && t->obs_fn && b->nrows > 0)
			t->obs_fn(t->obs_ctx, t, part, b);
	} else {
		const Schema *from = schema_for_batch(t, b->ncols);
		RowBatch m;
		rowbatch_init(&m, cur->nfields);
		rc = from ? map_batch(b, from, cur, &m, e)
			  : err_set(e, ERR_INTERNAL, "batch has %d columns, table %s has %d", b->ncols,
				    t->name, cur->nfields);
		if (rc == 0)
			rc = partition_write_stream(t->parts[part], &m, prev, end, e);
		if (rc == 0 && t->obs_fn && m.nrows > 0)
			t->obs_fn(t->obs_ctx, t, part, &m);
		rowbatch_free(&m);
	}
	pthread_rwlock_unlock(&t->write_lock);
	return rc;
}

int64_t
table_stream_next(Table *t, int part)
{
	if (part < 0 || part >= atomic_load(&t->nparts))
		return -1;
	return partition_stream_next(t->parts[part]);
}

int
table_seal_partition(Table *t, int part, Err *e)
{
	if (part < 0 || part >= atomic_load(&t->nparts))
		return err_set(e, ERR_INVALID, "table %s has no partition %d", t->name, part);
	return partition_seal(t->parts[part], e);
}

void
table_ingest_set(Table *t, int part, const IngestStat *st)
{
	if (part < 0 || part >= TABLE_MAX_PARTS)
		return;
	pthread_mutex_lock(&t->ingest_mu);
	if (t->ingest == NULL)
		t->ingest = mem_calloc(TABLE_MAX_PARTS, sizeof(IngestStat));
	if (t->ingest) {
		t->ingest[part] = *st;
		t->ingest[part].valid = 1;
	}
	pthread_mutex_unlock(&t->ingest_mu);
}

void
table_ingest_clear(Table *t)
{
	pthread_mutex_lock(&t->ingest_mu);
	mem_free(t->ingest);
	t->ingest = NULL;
	pthread_mutex_unlock(&t->ingest_mu);
}

int
table_ingest_get(Table *t, IngestStat **out, int *n)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&t->ingest_mu);
	int count = 0;
	for (int i = 0; t->ingest && i < TABLE_MAX_PARTS; i++)
		count += t->ingest[i].valid;
	int rc = 0;
	if (count) {
		*out = mem_alloc(sizeof(IngestStat) * (size_t)count);
		if (*out == NULL)
			rc = ERR_NOMEM;
		for (int i = 0; *out && i < TABLE_MAX_PARTS; i++)
			if (t->ingest[i].valid)
				(*out)[(*n)++] = t->ingest[i];
	}
	pthread_mutex_unlock(&t->ingest_mu);
	return rc;
}

/* ---- column changes --------------------------------------------------- */

int
table__evolve_check(const Table *t, const Schema *s, int *changed, Err *e)
{
	const Schema *cur = table_schema(t);
	*changed = 0;
	for (int i = 0; i < cur->nfields; i++) {
		const Field *of = &cur->fields[i];
		int j = schema_find(s, of->name);
		if (j < 0)
			return err_set(e, ERR_BAD_SCHEMA,
				       "column '%s': dropping a column of schema %s is not allowed: table %s holds it (only adding columns is backward compatible)",
				       of->name, s->name, t->name);
		const Field *nf = &s->fields[j];
		if (nf->type != of->type)
			return err_set(e, ERR_BAD_SCHEMA,
				       "column '%s': changing its dataType from %s to %s is not allowed: table %s holds it (only adding columns is backward compatible)",
				       of->name, type_name(of->type), type_name(nf->type), t->name);
		if (nf->single_value != of->single_value)
			return err_set(e, ERR_BAD_SCHEMA,
				       "column '%s': changing singleValueField from %s to %s is not allowed: table %s holds it (only adding columns is backward compatible)",
				       of->name, of->single_value ? "true" : "false",
				       nf->single_value ? "true" : "false", t->name);
		if (j != i)
			*changed = 1;
	}
	if (s->nfields != cur->nfields)
		*changed = 1;
	const TableConfig *cfg = table_config(t);
	if (cfg && cfg->partition_column && schema_find(s, cfg->partition_column) < 0)
		return err_set(e, ERR_BAD_SCHEMA, "column '%s': table %s partitions by it",
			       cfg->partition_column, t->name);
	return 0;
}

void
table__set_schema(Table *t, Schema *s)
{
	schema_ref(s);
	pthread_rwlock_wrlock(&t->write_lock);
	pthread_rwlock_wrlock(&t->view_lock);
	Schema *old = atomic_exchange(&t->schema, s);
	pthread_rwlock_unlock(&t->view_lock);
	retire(&t->old_schemas, NULL, old);
	configure_parts(t, s);
	pthread_rwlock_unlock(&t->write_lock);
}

/* An upsert table's columns changed from prev to s (partitions installed,
 * writers held off): the partitions' key indexes and the table's
 * UpsertCfg follow the new column positions. */
static void
remap_upsert(Table *t, const Schema *prev, const Schema *s)
{
	int *map = mem_calloc((size_t)s->nfields + 1, sizeof(int));
	const char **names = mem_calloc((size_t)s->nfields + 1, sizeof(char *));
	UpsertCfg nc;
	Err e = {0};
	if (map == NULL || names == NULL || upsert_cfg_build(table_config(t), s, &nc, &e) != 0) {
		/* the old positions stay; columns are only ever added at the
		 * end in practice, so they still hold */
		log_error("table %s: no memory to follow a column change in the upsert key index", t->name);
		mem_free(map);
		mem_free(names);
		return;
	}
	for (int i = 0; i < s->nfields; i++) {
		map[i] = schema_find(prev, s->fields[i].name);
		names[i] = s->fields[i].name;
	}
	for (int i = 0; i < t->nparts; i++)
		if (partition_upsert_remap(t->parts[i], names, map, &e) != 0)
			log_error("table %s: %s", t->name, err_msg(&e));
	upsert_cfg_free(&t->ups);
	t->ups = nc;
	mem_free(map);
	mem_free(names);
}

int
table__evolve_prepare(Table *t, Schema *s, Err *e)
{
	pthread_rwlock_wrlock(&t->write_lock);
	const Schema *cur = atomic_load(&t->schema);
	ColDesc *cols = col_descs(s);
	int *map = mem_calloc((size_t)s->nfields + 1, sizeof(int));
	int rc = 0;
	if (cols == NULL || map == NULL)
		rc = err_set(e, ERR_NOMEM, "changing the columns of table %s", t->name);
	for (int i = 0; rc == 0 && i < s->nfields; i++)
		map[i] = schema_find(cur, s->fields[i].name);
	int done = 0;
	for (; rc == 0 && done < t->nparts; done++)
		rc = partition_evolve_prepare(t->parts[done], s->nfields, cols, map, e);
	mem_free(cols);
	mem_free(map);
	if (rc) {
		for (int i = 0; i < t->nparts; i++)
			partition_evolve_abort(t->parts[i]);
		pthread_rwlock_unlock(&t->write_lock);
		return err_reset(e, rc, "table %s: %s", t->name, err_msg(e));
	}
	schema_ref(s);
	t->next_schema = s;
	return 0;
}

int
table__evolve_finish(Table *t)
{
	int failed = 0;
	for (int i = 0; i < t->nparts; i++) {
		Err pe = {0};
		if (partition_evolve_commit(t->parts[i], &pe) != 0)
			failed++;
	}
	Schema *s = t->next_schema;
	t->next_schema = NULL;
	pthread_rwlock_wrlock(&t->view_lock);
	const Schema *prev = atomic_load(&t->schema);
	for (int i = 0; i < t->nparts; i++)
		partition_evolve_install(t->parts[i]);
	if (t->ups.on)
		remap_upsert(t, prev, s);
	Schema *old = atomic_exchange(&t->schema, s);
	pthread_rwlock_unlock(&t->view_lock);
	t->part_col = part_col_of(s, table_config(t));
	retire(&t->old_schemas, NULL, old);
	configure_parts(t, s);
	pthread_rwlock_unlock(&t->write_lock);
	return failed;
}

void
table__evolve_abort(Table *t)
{
	for (int i = 0; i < t->nparts; i++)
		partition_evolve_abort(t->parts[i]);
	schema_unref(t->next_schema);
	t->next_schema = NULL;
	pthread_rwlock_unlock(&t->write_lock);
}

void
table_stats(Table *t, TableStats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < t->nparts; i++) {
		PartView *v = partition_view(t->parts[i]);
		for (int k = 0; k < v->nsegs; k++) {
			const PartSeg *ps = &v->segs[k];
			st->rows += ps->state == PART_SEG_MUTABLE ? mutseg_rows(ps->mut) : ps->rows;
			st->bytes += ps->state == PART_SEG_MUTABLE ? mutseg_bytes(ps->mut) : ps->bytes;
			st->segments++;
		}
		partition_view_release(v);
		st->quarantined += partition_quarantined(t->parts[i]);
		int64_t w = partition_last_write_ms(t->parts[i]);
		if (w > st->last_write_ms)
			st->last_write_ms = w;
	}
}

/* Min and max of the non-NULL values of an integer column over rows
 * [0, n) of seg; 0 when there are none. */
static int
col_range(const MutSeg *seg, int c, size_t n, int64_t *lo, int64_t *hi)
{
	const MutCol *col = mutseg_col(seg, c);
	WbType t = mutcol_type(col);
	if (mutcol_is_mv(col) || !type_is_integer(t))
		return 0;
	int found = 0;
	for (size_t r = 0; r < n;) {
		size_t end = (r | (MUTSEG_CHUNK_ROWS - 1)) + 1;
		if (end > n)
			end = n;
		const char *base = mutcol_data(col, r);
		for (size_t k = r; k < end; k++) {
			if (mutcol_is_null(col, k))
				continue;
			int64_t v;
			if (type_width(t) == 8) {
				memcpy(&v, base + (k - r) * 8, 8);
			} else {
				int32_t x;
				memcpy(&x, base + (k - r) * 4, 4);
				v = x;
			}
			if (!found || v < *lo)
				*lo = v;
			if (!found || v > *hi)
				*hi = v;
			found = 1;
		}
		r = end;
	}
	return found;
}

static void
seg_name(char *out, size_t cap, const char *table, int p, uint64_t seq, int64_t ms)
{
	if (ms <= 0) {
		snprintf(out, cap, "%s__%d__%" PRIu64 "__consuming", table, p, seq);
		return;
	}
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%s__%d__%" PRIu64 "__%04d%02d%02dT%02d%02dZ", table, p, seq,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* "col:sorted,col:inverted+bloom" for the indexes of a segment file. */
static void
index_list(const SegFile *f, char *out, size_t cap)
{
	static const struct { unsigned bit; const char *name; } kinds[] = {
		{SEGFILE_IX_SORTED, "sorted"}, {SEGFILE_IX_INVERTED, "inverted"},
		{SEGFILE_IX_RANGE, "range"}, {SEGFILE_IX_BLOOM, "bloom"}};
	size_t len = 0;
	out[0] = '\0';
	for (int c = 0; c < segfile_meta(f)->ncols; c++) {
		const SegColInfo *ci = segfile_col(f, c);
		if (ci->indexes == 0)
			continue;
		int n = snprintf(out + len, cap - len, "%s%s:", len ? "," : "", ci->name);
		if (n < 0 || (size_t)n >= cap - len)
			return;
		len += (size_t)n;
		int first = 1;
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (!(ci->indexes & kinds[k].bit))
				continue;
			n = snprintf(out + len, cap - len, "%s%s", first ? "" : "+", kinds[k].name);
			if (n < 0 || (size_t)n >= cap - len)
				return;
			len += (size_t)n;
			first = 0;
		}
	}
}

/* Appends entries for the files in DIR/quarantine of partition p. */
static SegInfo *
add_quarantined(Table *t, int p, SegInfo *si, int *count)
{
	char qdir[4096];
	snprintf(qdir, sizeof(qdir), "%s/p%d/quarantine", t->dir, p);
	DIR *d = opendir(qdir);
	if (d == NULL)
		return si;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".wbs") != 0)
			continue;
		SegInfo *ns = mem_realloc(si, sizeof(SegInfo) * (size_t)(*count + 1));
		if (ns == NULL)
			break;
		si = ns;
		SegInfo *q = &si[(*count)++];
		memset(q, 0, sizeof(*q));
		q->partition = p;
		q->state = "QUARANTINED";
		snprintf(q->name, sizeof(q->name), "%s__%d__%.*s", t->name, p, (int)(l - 4), de->d_name);
		snprintf(q->path, sizeof(q->path), "%s/%s", qdir, de->d_name);
		struct stat st;
		if (stat(q->path, &st) == 0)
			q->bytes = (size_t)st.st_size;
		char rpath[4400];
		snprintf(rpath, sizeof(rpath), "%s.reason", q->path);
		char *why;
		size_t wl;
		Err e = {0};
		if (file_read_all(rpath, &why, &wl, &e) == 0) {
			snprintf(q->reason, sizeof(q->reason), "%s", why);
			mem_free(why);
		}
	}
	closedir(d);
	return si;
}

int
table_segment_info(Table *t, SegInfo **out, int *n, Err *e)
{
	TableSnap snap;
	int rc = table_snapshot(t, &snap, e);
	if (rc)
		return rc;
	SegInfo *si = mem_calloc((size_t)snap.nsegs + 1, sizeof(SegInfo));
	if (si == NULL) {
		table_snap_free(&snap);
		return err_set(e, ERR_NOMEM, "listing segments of %s", t->name);
	}
	const TableConfig *cfg = table_config(t);
	int tc = cfg && cfg->time_column ? schema_find(snap.schema, cfg->time_column) : -1;
	int count = 0;
	for (int i = 0; i < snap.nviews; i++) {
		const PartView *v = snap.views[i];
		for (int k = 0; k < v->nsegs; k++) {
			const PartSeg *ps = &v->segs[k];
			SegInfo *s = &si[count];
			const SnapSeg *ss = &snap.segs[count++];
			s->partition = i;
			s->state = ps->state == PART_SEG_SEALED ? "SEALED"
				   : ps->state == PART_SEG_SEALING ? "SEALING" : "MUTABLE";
			seg_name(s->name, sizeof(s->name), t->name, i, ps->seq,
				 ps->state == PART_SEG_SEALED ? ps->created_ms : 0);
			s->rows = ss->rows;
			s->start_offset = ps->off_end >= 0 ? ps->off_start : ps->src_start;
			s->end_offset = ps->off_end >= 0 ? ps->off_end : ps->src_end;
			s->seq = ps->seq;
			if (ps->file) {
				const SegMeta *m = segfile_meta(ps->file);
				snprintf(s->path, sizeof(s->path), "%s", segfile_path(ps->file));
				s->bytes = (size_t)m->file_bytes;
				s->has_time = m->has_time;
				s->min_time = m->tmin;
				s->max_time = m->tmax;
				s->created_ms = m->created_ms;
				index_list(ps->file, s->indexes, sizeof(s->indexes));
			} else {
				snprintf(s->path, sizeof(s->path), "%s/p%d", t->dir, i);
				s->bytes = mutseg_bytes(ps->mut);
				if (tc >= 0)
					s->has_time = col_range(ps->mut, tc, s->rows, &s->min_time, &s->max_time);
				if (ps->state == PART_SEG_MUTABLE) {
					s->start_offset = ps->off_start >= 0 ? ps->off_start : ps->src_start;
					s->end_offset = -1;
				}
			}
		}
	}
	table_snap_free(&snap);
	/* log bytes set aside at start-up (damaged, or not replayable) and
	 * damaged segment files are quarantined until an operator deals
	 * with them */
	for (int p = 0; p < t->nparts; p++) {
		si = add_quarantined(t, p, si, &count);
		char pdir[4096];
		snprintf(pdir, sizeof(pdir), "%s/p%d", t->dir, p);
		DIR *d = opendir(pdir);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strstr(de->d_name, ".damaged-") == NULL)
				continue;
			SegInfo *ns = mem_realloc(si, sizeof(SegInfo) * (size_t)(count + 1));
			if (ns == NULL)
				break;
			si = ns;
			SegInfo *q = &si[count++];
			memset(q, 0, sizeof(*q));
			q->partition = p;
			q->state = "QUARANTINED";
			snprintf(q->name, sizeof(q->name), "%s__%d__%s", t->name, p, de->d_name);
			snprintf(q->path, sizeof(q->path), "%s/%s", pdir, de->d_name);
			snprintf(q->reason, sizeof(q->reason), "damaged or unreplayable write-ahead log bytes");
			struct stat st;
			if (stat(q->path, &st) == 0)
				q->bytes = (size_t)st.st_size;
			const char *at = strstr(de->d_name, ".damaged-") + 9;
			q->start_offset = strtoll(at, NULL, 10);
			q->end_offset = q->start_offset + (int64_t)q->bytes;
		}
		closedir(d);
	}
	*n = count;
	*out = si;
	return 0;
}
