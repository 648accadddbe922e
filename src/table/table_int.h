/*
 * table_int.h -- what the table folder shares between table.c and
 * catalog.c (not for other layers).
 */
#ifndef WB_TABLE_INT_H
#define WB_TABLE_INT_H

#include "table/table.h"

/* Opens a table's data under dir with schema s (referenced) and config cfg
 * (owned by the table from now on).  name is the table's SQL name. */
int table__open(const char *dir, const char *name, Schema *s, TableConfig *cfg,
		Table **out, Err *e);
/* Installs cfg (owned) as the table's config of its type; the previous one
 * is kept until the table is freed (readers may hold it). */
void table__set_config(Table *t, TableConfig *cfg);
/* Removes the config of type; returns the number of configs left. */
int table__drop_config(Table *t, TableType type);
/* Marks the table dropped: its data directory is removed when the last
 * reference goes. */
void table__mark_dropped(Table *t);
/* Renames the table's data directory to newdir (fsyncing its parent), so
 * a table created later under the same name starts from an empty
 * directory while this one still runs for its last readers. */
int table__move_dir(Table *t, const char *newdir, Err *e);
const char *table__dir(const Table *t);
/* Installs the write observer (fn NULL: none); waits for calls in
 * flight. */
void table__set_observer(Table *t, TableObserver fn, void *ctx);

/* Column changes (catalog_put_schema, under the catalog's write_mu).
 * check: 0 if s keeps every column of t's schema with its type and
 * single/multi-value (*changed = 1 when columns are added or moved), else
 * ERR_BAD_SCHEMA naming the column and why.
 * set_schema: installs s (referenced) when the columns are the same.
 * prepare: takes the table's write lock (no table_write runs until finish
 * or abort) and builds each partition's rows and log in s's layout; on
 * failure releases the lock and leaves nothing.
 * finish: after s is durable in the catalog: installs the new logs,
 * segments and s together and releases the lock; returns the number of
 * partitions that could not rename their log (they are FAILED and refuse
 * writes; the next start completes them).
 * abort: forgets a prepared change and releases the lock. */
int table__evolve_check(const Table *t, const Schema *s, int *changed, Err *e);
void table__set_schema(Table *t, Schema *s);
int table__evolve_prepare(Table *t, Schema *s, Err *e);
int table__evolve_finish(Table *t);
void table__evolve_abort(Table *t);

#endif
