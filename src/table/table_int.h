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

#endif
