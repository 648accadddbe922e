/*
 * table.c -- a table's partitions, its write routing and read snapshots.
 *
 * A Table is created by the catalog (table__open) and shared by reference
 * count.  Its partitions are fixed when it opens (num_partitions of the
 * config).  table_write routes a batch: to partition 0 when there is one,
 * by hash of the partition column when the config names one, else whole
 * batches round robin (so a batch stays atomic).  The last table_unref
 * stops the partitions' writers and, if the table was dropped, removes its
 * data directory -- which the drop first renamed (table__move_dir) out of
 * the way, so a new table of the same name never shares or loses it.
 *
 * Configs replaced while queries run are kept on a retired list until the
 * table is freed, so a pointer from table_config stays valid as long as
 * the caller holds a reference.
 *
 * Exports: table_name, table_schema, table_config, table_config_of,
 * table_num_partitions, table_ref, table_unref, table_snapshot,
 * table_snap_free, table_write, table_stats, and the table__ functions of
 * table_int.h.
 */
#include "table/table_int.h"
#include "table/partition.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct Retired {
	struct Retired *next;
	TableConfig *cfg;
} Retired;

struct Table {
	_Atomic int refs;
	char *name;
	char *dir;
	Schema *schema;
	TableConfig *_Atomic cfg[2];	/* by TableType */
	Retired *retired;
	int nparts;
	Partition **parts;
	int part_col;		/* schema index of the partition column, or -1 */
	_Atomic unsigned rr;
	_Atomic int dropped;
};

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
	t->schema = s;
	t->cfg[cfg->type] = cfg;
	t->nparts = cfg->num_partitions > 0 ? cfg->num_partitions : 1;
	t->part_col = cfg->partition_column ? schema_find(s, cfg->partition_column) : -1;
	t->parts = mem_calloc((size_t)t->nparts, sizeof(Partition *));
	ColDesc *cols = mem_calloc((size_t)s->nfields + 1, sizeof(ColDesc));
	int rc = 0;
	if (t->name == NULL || t->dir == NULL || t->parts == NULL || cols == NULL) {
		rc = err_set(e, ERR_NOMEM, "opening table %s", name);
		goto fail;
	}
	for (int i = 0; i < s->nfields; i++) {
		cols[i].type = s->fields[i].type;
		cols[i].mv = !s->fields[i].single_value;
	}
	for (int i = 0; i < t->nparts; i++) {
		char pdir[4096];
		snprintf(pdir, sizeof(pdir), "%s/p%d", dir, i);
		rc = partition_open(pdir, i, s->nfields, cols, &t->parts[i], e);
		if (rc)
			goto fail;
	}
	mem_free(cols);
	*out = t;
	return 0;
fail:
	mem_free(cols);
	if (t->parts)
		for (int i = 0; i < t->nparts; i++)
			partition_close(t->parts[i]);
	mem_free(t->parts);
	schema_unref(t->schema);
	mem_free(t->name);
	mem_free(t->dir);
	mem_free(t);
	return rc;
}

void
table__set_config(Table *t, TableConfig *cfg)
{
	TableConfig *old = atomic_exchange(&t->cfg[cfg->type], cfg);
	if (old) {
		Retired *r = mem_alloc_or_die(sizeof(Retired));
		r->cfg = old;
		r->next = t->retired;
		t->retired = r;
	}
}

int
table__drop_config(Table *t, TableType type)
{
	TableConfig *old = atomic_exchange(&t->cfg[type], NULL);
	if (old) {
		Retired *r = mem_alloc_or_die(sizeof(Retired));
		r->cfg = old;
		r->next = t->retired;
		t->retired = r;
	}
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
const Schema *table_schema(const Table *t) { return t->schema; }
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
	while (t->retired) {
		Retired *r = t->retired;
		t->retired = r->next;
		tblconfig_free(r->cfg);
		mem_free(r);
	}
	schema_unref(t->schema);
	mem_free(t->parts);
	mem_free(t->name);
	mem_free(t->dir);
	mem_free(t);
}

int
table_snapshot(Table *t, TableSnap *snap, Err *e)
{
	snap->segs = mem_calloc((size_t)t->nparts, sizeof(SnapSeg));
	if (snap->segs == NULL)
		return err_set(e, ERR_NOMEM, "snapshot of %s", t->name);
	table_ref(t);
	snap->table = t;
	snap->nsegs = t->nparts;
	snap->total_rows = 0;
	for (int i = 0; i < t->nparts; i++) {
		const MutSeg *seg = partition_mutseg(t->parts[i]);
		snap->segs[i].seg = seg;
		snap->segs[i].rows = mutseg_rows(seg);
		snap->segs[i].partition = i;
		snap->total_rows += snap->segs[i].rows;
	}
	return 0;
}

void
table_snap_free(TableSnap *snap)
{
	if (snap->table)
		table_unref(snap->table);
	mem_free(snap->segs);
	snap->table = NULL;
	snap->segs = NULL;
	snap->nsegs = 0;
}

static uint64_t
value_hash(const Value *v)
{
	if (v->null)
		return 0;
	if (type_is_var((WbType)v->type))
		return hash_bytes(v->u.s, v->n);
	return hash_u64((uint64_t)v->u.i);
}

int
table_write(Table *t, const RowBatch *b, Err *e)
{
	if (b->ncols != t->schema->nfields)
		return err_set(e, ERR_INTERNAL, "batch has %d columns, table %s has %d",
			       b->ncols, t->name, t->schema->nfields);
	if (t->nparts == 1)
		return partition_write(t->parts[0], b, e);
	if (t->part_col < 0) {
		unsigned p = atomic_fetch_add(&t->rr, 1) % (unsigned)t->nparts;
		return partition_write(t->parts[p], b, e);
	}
	/* split by the partition column; sub-batches borrow b's strings */
	int rc = 0;
	for (int p = 0; p < t->nparts && rc == 0; p++) {
		RowBatch sub;
		rowbatch_init(&sub, b->ncols);
		for (size_t r = 0; r < b->nrows; r++) {
			const Value *row = rowbatch_row(b, r);
			if ((int)(value_hash(&row[t->part_col]) % (uint64_t)t->nparts) != p)
				continue;
			Value *dst = rowbatch_add_row(&sub);
			if (dst == NULL) {
				rc = err_set(e, ERR_NOMEM, "splitting a batch by partition");
				break;
			}
			memcpy(dst, row, sizeof(Value) * (size_t)b->ncols);
		}
		if (rc == 0)
			rc = partition_write(t->parts[p], &sub, e);
		rowbatch_free(&sub);
	}
	return rc;
}

void
table_stats(Table *t, TableStats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < t->nparts; i++) {
		const MutSeg *seg = partition_mutseg(t->parts[i]);
		st->rows += mutseg_rows(seg);
		st->bytes += mutseg_bytes(seg);
		int64_t w = partition_last_write_ms(t->parts[i]);
		if (w > st->last_write_ms)
			st->last_write_ms = w;
	}
}
