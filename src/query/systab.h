/*
 * systab.h -- Waybill's virtual system tables (sys.tables, sys.segments,
 * ...) and PostgreSQL's emulated catalog (pg_catalog.*,
 * information_schema.*): one registry of names, columns and builders.
 * A query on one of them builds a temporary MutSeg from the catalog's
 * state at that moment and scans it like any table.  (sys.dead_letters
 * is a real table.)
 */
#ifndef WB_SYSTAB_H
#define WB_SYSTAB_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "query/plan.h"
#include "storage/mutseg.h"
#include "table/catalog.h"

typedef struct SysTab SysTab;

/* The virtual table schema.table ("sys", "segments"; "pg_catalog",
 * "pg_class"; "information_schema", "columns"), or NULL.  schema NULL
 * finds pg_catalog's tables (PostgreSQL's search path). */
const SysTab *systab_find(const char *schema, const char *table);
/* 1-based id for plans (0 = not a virtual table), and back. */
int systab_id(const SysTab *t);
const SysTab *systab_get(int id);
const char *systab_name(const SysTab *t);
const char *systab_schema(const SysTab *t);
int systab_ncols(const SysTab *t);
const BindCol *systab_cols(const SysTab *t);
/* Builds the table's rows now for the session user / database (NULL =
 * "waybill"); *out is owned by the caller (mutseg_free). */
int systab_build(const SysTab *t, Catalog *cat, const char *user, const char *db, MutSeg **out,
		 Err *e);

/* The OID of relation schema.name as the emulated pg_class shows it (a
 * hash: stable across restarts), and of a namespace. */
int32_t systab_rel_oid(const char *schema, const char *name);
int32_t systab_ns_oid(const char *schema);
/* The OID of the relation name (schema NULL: a table, then pg_catalog's;
 * names exact), 0 if there is none. */
int32_t systab_rel_by_name(Catalog *cat, const char *schema, const char *name);
/* The relation with OID oid: 1 with its schema, name and (bytes, may be
 * NULL) size on disk, 0 if none. */
int systab_rel_by_oid(Catalog *cat, int32_t oid, char *schema, size_t scap, char *name, size_t ncap,
		      int64_t *bytes);
/* The definition of a table's primary key (an index OID: col 0 its
 * CREATE UNIQUE INDEX, col k > 0 the name of its k-th column; a
 * pg_constraint OID: col -1, "PRIMARY KEY (a, b)") into out: 0, or -1
 * when oid is no such object. */
int systab_index_def(Catalog *cat, int32_t oid, int col, char *out, size_t cap);

#endif
