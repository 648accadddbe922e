/*
 * catalog.h -- the schemas and tables of one Waybill server, persisted
 * under DATA/catalog/ and reopened at start-up.
 *
 * Layout:
 *   DATA/catalog/schemas/<name>.json     schema JSON as posted
 *   DATA/catalog/tables/<name>.<TYPE>.json  table config JSON as posted
 *   DATA/tables/<name>/p<N>/...          partition data (WAL, segments)
 *   DATA/tables/.dropped.<name>.<ms>.<n>/ data of a dropped table whose
 *                                        last reader has not ended yet
 *
 * All functions are thread-safe (one rwlock over the maps; tables are
 * reference-counted so a dropped table lives until its last reader ends).
 * System tables: "sys.dead_letters" is an ordinary table created at open;
 * virtual ones (sys.tables) are built by the query layer from
 * catalog_list_tables.
 */
#ifndef WB_CATALOG_H
#define WB_CATALOG_H

#include "base/buf.h"
#include "base/err.h"
#include "table/schema.h"
#include "table/table.h"
#include "table/tblconfig.h"

typedef struct Catalog Catalog;

int catalog_open(const char *data_dir, Catalog **out, Err *e);
void catalog_close(Catalog *c);
const char *catalog_data_dir(const Catalog *c);
/* Incremented by every schema or table change (for plan caches). */
unsigned long catalog_version(const Catalog *c);

/* Schemas.  add fails with ERR_EXISTS unless replace is set; a schema in
 * use by a table cannot be deleted (ERR_EXISTS names the table).  A
 * replacement of a schema in use may add columns (old rows read them as
 * NULL; crash-safe: either the old or the new schema and all rows);
 * dropping or retyping a column in use fails with ERR_BAD_SCHEMA naming
 * the column. */
int catalog_put_schema(Catalog *c, const char *json, size_t len, int replace,
		       const char *expect_name, Err *e);
int catalog_delete_schema(Catalog *c, const char *name, Err *e);
/* Returns a new reference (schema_unref it) or NULL. */
Schema *catalog_get_schema(Catalog *c, const char *name);
/* JSON array of schema names. */
void catalog_list_schemas(Catalog *c, Buf *out);

/* Tables.  The schema must exist.  *unrecognized (optional) receives the
 * config's unrecognizedProperties JSON (caller frees with mem_free). */
int catalog_put_table(Catalog *c, const char *json, size_t len, int replace,
		      const char *expect_name, char **unrecognized, Err *e);
/* type < 0 drops every config of the table and its data. */
int catalog_delete_table(Catalog *c, const char *name, int type, Err *e);
/* Looks a table up by name; a _OFFLINE/_REALTIME suffix is accepted.
 * Returns a new reference (table_unref it) or NULL. */
Table *catalog_get_table(Catalog *c, const char *name);
/* Case-insensitive lookup for SQL's unquoted identifiers. */
Table *catalog_get_table_ci(Catalog *c, const char *name);
/* JSON array of table names (raw names). */
void catalog_list_tables(Catalog *c, Buf *out);
/* New references to every table (and their count); free the array with
 * mem_free after unref'ing each. */
int catalog_tables(Catalog *c, Table ***out, int *n);

/* Installs fn (NULL: none) as the write observer of every table, present
 * and future (sys.dead_letters excluded): see TableObserver.  Waits for
 * calls in flight on the old one. */
void catalog_set_observer(Catalog *c, TableObserver fn, void *ctx);

/* Dead letters in batches (stream sources): dead_letter_row appends one
 * row for sys.dead_letters to b (initialized by the caller with
 * catalog_dead_letter_ncols columns; strings copied into b's arena, raw
 * made valid UTF-8 and cut at 64 KiB); dead_letters_write writes b
 * durably.  dead_letter_max finds the largest position recorded for
 * (table, source), -1 if none (a source that consumes messages again
 * after a crash skips the dead letters it already recorded). */
int catalog_dead_letter_ncols(Catalog *c);
int catalog_dead_letter_row(Catalog *c, RowBatch *b, const char *table, const char *source,
			    int64_t position, const char *column, const char *error,
			    const char *raw, size_t rawlen);
int catalog_dead_letters_write(Catalog *c, const RowBatch *b, Err *e);
int catalog_dead_letter_max(Catalog *c, const char *table, const char *source, int64_t *max,
			    Err *e);

/* Records a rejected record in sys.dead_letters (durably). */
int catalog_dead_letter(Catalog *c, const char *table, const char *source,
			int64_t position, const char *column, const char *error,
			const char *raw, size_t rawlen, Err *e);

#endif
