/*
 * systab.c -- the virtual system tables.
 *
 * Each entry of `systabs` names a table, its columns, and a builder that
 * appends one row per object into a RowBatch.  systab_build turns that
 * batch into a temporary, published MutSeg that the executor scans like
 * a table's segment, so every SQL feature works on system tables.  The
 * builders take their own references (catalog_tables) and release them
 * before returning; strings they add point into the batch's arena or into
 * objects that outlive the build.
 *
 *   sys.tables    one row per table: name, type, schema, partitions, rows,
 *                 bytes, last write time
 *   sys.segments  one row per segment: table, partition, segment name,
 *                 path, state (MUTABLE / SEALED / QUARANTINED), rows,
 *                 bytes, time range of the time column, source offsets
 *   sys.queries   the last 1024 statements (query/qlog.c): time, rows
 *                 scanned, peak memory, status, SQL
 *   sys.ingestion one row per partition fed by a stream source: state,
 *                 offsets and lag, delay, freshness, counts and rates
 *
 * PostgreSQL's catalog (for psql, JDBC, SQLAlchemy, BI tools; see
 * docs/pgcatalog.md): pg_catalog.pg_namespace, pg_class, pg_attribute,
 * pg_type, pg_database, pg_roles, pg_user, pg_settings, pg_tables,
 * pg_am, pg_collation, pg_tablespace, pg_stat_activity,
 * pg_stat_user_tables / pg_stat_all_tables, the primary keys of tables
 * with primaryKeyColumns (pg_index, pg_indexes, pg_constraint, an index
 * relation "<table>_pkey" in pg_class), empty ones (pg_description,
 * pg_attrdef, ...), and information_schema.tables, columns, schemata,
 * views, table_constraints, key_column_usage.  Their builders
 * (build_cx) see every relation at once (SysCx: Waybill's tables in
 * schema public -- a name "sys.x" in schema sys --, then these virtual
 * tables themselves) and the session's user and database.  A relation's
 * OID is a hash of its schema and name (systab_rel_oid), stable across
 * restarts; types have PostgreSQL's real OIDs (expr/pgtype.h).
 * Unqualified pg_* names resolve here too: pg_catalog is on PostgreSQL's
 * search path.
 *
 * Exports: systab_find, systab_id, systab_get, systab_name, systab_schema,
 * systab_ncols, systab_cols, systab_build, systab_rel_oid, systab_ns_oid,
 * systab_rel_by_name, systab_rel_by_oid, systab_index_def.
 */
#include "query/systab.h"
#include "query/qlog.h"
#include "base/buf.h"
#include "base/mem.h"
#include "expr/fnpg.h"
#include "expr/pgtype.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef int (*SysBuildFn)(Table *t, RowBatch *b, Err *e);

typedef struct SysCx SysCx;

struct SysTab {
	const char *name;	/* without the schema */
	const BindCol *cols;
	int ncols;
	SysBuildFn build;	/* rows of one table, or NULL */
	int (*build_all)(RowBatch *b, Err *e);	/* rows not tied to tables */
	const char *schema;	/* "sys", "pg_catalog", "information_schema" */
	int (*build_cx)(SysCx *x, RowBatch *b, Err *e);	/* the catalog emulation */
	char kind;		/* pg_class.relkind: 'r' or 'v' */
};

static Value
str(Arena *a, const char *s)
{
	char *d = arena_strdup(a, s ? s : "");
	return d ? value_str(TYPE_STRING, d, (uint32_t)strlen(d)) : value_null(TYPE_STRING);
}

static const BindCol tables_cols[] = {
	{"tableName", TYPE_STRING, 0}, {"tableType", TYPE_STRING, 0}, {"schemaName", TYPE_STRING, 0},
	{"partitions", TYPE_INT, 0},   {"numRows", TYPE_LONG, 0},     {"bytes", TYPE_LONG, 0},
	{"lastWriteMs", TYPE_LONG, 0},
};

static int
tables_build(Table *t, RowBatch *b, Err *e)
{
	TableStats st;
	memset(&st, 0, sizeof(st));
	table_stats(t, &st);
	const TableConfig *tc = table_config(t);
	const Schema *sc = table_schema(t);
	Value *row = rowbatch_add_row(b);
	if (row == NULL)
		return err_set(e, ERR_NOMEM, "building sys.tables");
	const char *nm = table_name(t);
	row[0] = str(&b->arena, nm);
	row[1] = str(&b->arena, tc ? tblconfig_type_name(tc->type) : "SYSTEM");
	row[2] = str(&b->arena, sc && sc->name ? sc->name : nm);
	row[3] = value_int(TYPE_INT, table_num_partitions(t));
	row[4] = value_int(TYPE_LONG, (int64_t)st.rows);
	row[5] = value_int(TYPE_LONG, (int64_t)st.bytes);
	row[6] = value_int(TYPE_LONG, st.last_write_ms);
	return 0;
}

static const BindCol segments_cols[] = {
	{"tableName", TYPE_STRING, 0}, {"partition", TYPE_INT, 0},  {"segmentName", TYPE_STRING, 0},
	{"path", TYPE_STRING, 0},      {"state", TYPE_STRING, 0},   {"numRows", TYPE_LONG, 0},
	{"bytes", TYPE_LONG, 0},       {"startTime", TYPE_LONG, 0}, {"endTime", TYPE_LONG, 0},
	{"startOffset", TYPE_LONG, 0}, {"endOffset", TYPE_LONG, 0}, {"seqNumber", TYPE_LONG, 0},
	{"creationTime", TYPE_TIMESTAMP, 0}, {"reason", TYPE_STRING, 0}, {"indexes", TYPE_STRING, 0},
};

static int
segments_build(Table *t, RowBatch *b, Err *e)
{
	SegInfo *si;
	int n;
	int rc = table_segment_info(t, &si, &n, e);
	if (rc)
		return rc;
	for (int i = 0; i < n && rc == 0; i++) {
		Value *row = rowbatch_add_row(b);
		if (row == NULL) {
			rc = err_set(e, ERR_NOMEM, "building sys.segments");
			break;
		}
		row[0] = str(&b->arena, table_name(t));
		row[1] = value_int(TYPE_INT, si[i].partition);
		row[2] = str(&b->arena, si[i].name);
		row[3] = str(&b->arena, si[i].path);
		row[4] = str(&b->arena, si[i].state);
		row[5] = value_int(TYPE_LONG, (int64_t)si[i].rows);
		row[6] = value_int(TYPE_LONG, (int64_t)si[i].bytes);
		row[7] = si[i].has_time ? value_int(TYPE_LONG, si[i].min_time) : value_null(TYPE_LONG);
		row[8] = si[i].has_time ? value_int(TYPE_LONG, si[i].max_time) : value_null(TYPE_LONG);
		row[9] = value_int(TYPE_LONG, si[i].start_offset);
		/* the mutable segment's end is open (Pinot: a consuming
		 * segment has no end offset yet) */
		row[10] = si[i].end_offset >= 0 ? value_int(TYPE_LONG, si[i].end_offset)
						: value_null(TYPE_LONG);
		row[11] = value_int(TYPE_LONG, (int64_t)si[i].seq);
		row[12] = si[i].created_ms > 0 ? value_int(TYPE_TIMESTAMP, si[i].created_ms)
					       : value_null(TYPE_TIMESTAMP);
		row[13] = si[i].reason[0] ? str(&b->arena, si[i].reason) : value_null(TYPE_STRING);
		row[14] = str(&b->arena, si[i].indexes);
	}
	mem_free(si);
	return rc;
}

static const BindCol ingestion_cols[] = {
	{"tableName", TYPE_STRING, 0},	  {"partition", TYPE_INT, 0},
	{"source", TYPE_STRING, 0},	  {"state", TYPE_STRING, 0},
	{"error", TYPE_STRING, 0},	  {"currentOffset", TYPE_LONG, 0},
	{"highWatermark", TYPE_LONG, 0},  {"offsetLag", TYPE_LONG, 0},
	{"ingestionDelayMs", TYPE_LONG, 0}, {"freshnessMs", TYPE_LONG, 0},
	{"freshnessP99Ms", TYPE_LONG, 0}, {"messages", TYPE_LONG, 0},
	{"rows", TYPE_LONG, 0},		  {"bytes", TYPE_LONG, 0},
	{"deadLetters", TYPE_LONG, 0},	  {"filtered", TYPE_LONG, 0},
	{"messagesPerSec", TYPE_DOUBLE, 0}, {"rowsPerSec", TYPE_DOUBLE, 0},
	{"bytesPerSec", TYPE_DOUBLE, 0},  {"lastIngestTime", TYPE_TIMESTAMP, 0},
	{"rateLimit", TYPE_LONG, 0},
};

static Value
opt_long(int64_t v)
{
	return v >= 0 ? value_int(TYPE_LONG, v) : value_null(TYPE_LONG);
}

static int
ingestion_build(Table *t, RowBatch *b, Err *e)
{
	IngestStat *st;
	int n;
	if (table_ingest_get(t, &st, &n) != 0)
		return err_set(e, ERR_NOMEM, "building sys.ingestion");
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		Value *row = rowbatch_add_row(b);
		if (row == NULL) {
			rc = err_set(e, ERR_NOMEM, "building sys.ingestion");
			break;
		}
		const IngestStat *x = &st[i];
		row[0] = str(&b->arena, table_name(t));
		row[1] = value_int(TYPE_INT, x->partition);
		row[2] = str(&b->arena, x->source);
		row[3] = str(&b->arena, x->state);
		row[4] = x->error[0] ? str(&b->arena, x->error) : value_null(TYPE_STRING);
		row[5] = opt_long(x->offset);
		row[6] = opt_long(x->high_watermark);
		row[7] = opt_long(x->lag);
		row[8] = value_int(TYPE_LONG, x->delay_ms);
		row[9] = opt_long(x->freshness_ms);
		row[10] = x->freshness_ms >= 0 ? value_int(TYPE_LONG, x->freshness_p99_ms) : value_null(TYPE_LONG);
		row[11] = value_int(TYPE_LONG, (int64_t)x->messages);
		row[12] = value_int(TYPE_LONG, (int64_t)x->rows);
		row[13] = value_int(TYPE_LONG, (int64_t)x->bytes);
		row[14] = value_int(TYPE_LONG, (int64_t)x->dead_letters);
		row[15] = value_int(TYPE_LONG, (int64_t)x->filtered);
		row[16] = value_double(TYPE_DOUBLE, x->msgs_per_s);
		row[17] = value_double(TYPE_DOUBLE, x->rows_per_s);
		row[18] = value_double(TYPE_DOUBLE, x->bytes_per_s);
		row[19] = x->last_ingest_ms > 0 ? value_int(TYPE_TIMESTAMP, x->last_ingest_ms)
						: value_null(TYPE_TIMESTAMP);
		row[20] = x->rate_limit > 0 ? value_int(TYPE_LONG, x->rate_limit) : value_null(TYPE_LONG);
	}
	mem_free(st);
	return rc;
}

static const BindCol queries_cols[] = {
	{"queryId", TYPE_LONG, 0},     {"startTime", TYPE_TIMESTAMP, 0}, {"timeMs", TYPE_DOUBLE, 0},
	{"docsScanned", TYPE_LONG, 0}, {"totalDocs", TYPE_LONG, 0},      {"resultRows", TYPE_LONG, 0},
	{"peakMemory", TYPE_LONG, 0},  {"status", TYPE_STRING, 0},       {"error", TYPE_STRING, 0},
	{"sql", TYPE_STRING, 0},
};

static int
queries_build(RowBatch *b, Err *e)
{
	if (qlog_rows(b) != 0)
		return err_set(e, ERR_NOMEM, "building sys.queries");
	return 0;
}

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- PostgreSQL's catalog ------------------------------------------------- */

#define NS_PG_CATALOG 11
#define NS_PUBLIC 2200
#define NS_INFO 13000
#define NS_SYS 13001
#define OWNER 10

/* One relation as the catalog shows it. */
typedef struct Rel {
	const char *schema;
	const char *name;
	char kind;
	int ncols;
	const BindCol *cols;
	int32_t oid;
	Table *t;		/* a Waybill table, or NULL */
	/* a table with primaryKeyColumns: its key's attnums (1-based), and
	 * on the 'i' relation (the key's index, "<table>_pkey", which also
	 * stands for the PRIMARY KEY constraint) the table's OID and name */
	int nkey;
	const int *keys;
	int32_t indrel;
	const char *relname;
	const uint8_t *notnull;	/* per column: NOT NULL (key columns, notNull) */
} Rel;

struct SysCx {
	Rel *rels;
	int nrels;
	const char *user;
	const char *db;
	Arena *a;		/* the batch's arena (Rel columns of tables) */
};

int32_t
systab_rel_oid(const char *schema, const char *name)
{
	/* FNV-1a over "schema.name" into [16384, 2^31) */
	uint32_t h = 2166136261u;
	for (const char *p = schema; p && *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ '.') * 16777619u;
	for (const char *p = name; p && *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return (int32_t)(16384 + h % (0x7fffffffu - 16384));
}

int32_t
systab_ns_oid(const char *schema)
{
	if (strcmp(schema, "pg_catalog") == 0)
		return NS_PG_CATALOG;
	if (strcmp(schema, "public") == 0)
		return NS_PUBLIC;
	if (strcmp(schema, "information_schema") == 0)
		return NS_INFO;
	if (strcmp(schema, "sys") == 0)
		return NS_SYS;
	return systab_rel_oid("pg_namespace", schema);
}

static Value
vi(int64_t v)
{
	return value_int(TYPE_INT, v);
}

static Value
vb(int v)
{
	return value_int(TYPE_BOOLEAN, v != 0);
}

static Value
vs(RowBatch *b, const char *s)
{
	return s ? str(&b->arena, s) : value_null(TYPE_STRING);
}

/* A new row with every column NULL of its type. */
static Value *
new_row(RowBatch *b, const BindCol *cols, int n)
{
	Value *row = rowbatch_add_row(b);
	for (int i = 0; row && i < n; i++) {
		row[i] = value_null(cols[i].type);
		row[i].mv = (uint8_t)cols[i].mv;
	}
	return row;
}

#define ROW(cols) Value *row = new_row(b, cols, NCOLS(cols)); \
	if (row == NULL) return err_set(e, ERR_NOMEM, "building the catalog")

#define C(n, t) {n, t, 0}
#define CI(n) {n, TYPE_INT, 0}
#define CS(n) {n, TYPE_STRING, 0}
#define CB(n) {n, TYPE_BOOLEAN, 0}
#define CL(n) {n, TYPE_LONG, 0}
#define CAI(n) {n, TYPE_INT, 1}
#define CAS(n) {n, TYPE_STRING, 1}

static const BindCol pg_namespace_cols[] = {CI("oid"), CS("nspname"), CI("nspowner"), CAS("nspacl")};

static int
pg_namespace_build(SysCx *x, RowBatch *b, Err *e)
{
	static const char *ns[] = {"pg_catalog", "public", "information_schema", "sys"};
	(void)x;
	for (int i = 0; i < 4; i++) {
		ROW(pg_namespace_cols);
		row[0] = vi(systab_ns_oid(ns[i]));
		row[1] = vs(b, ns[i]);
		row[2] = vi(OWNER);
	}
	return 0;
}

static const BindCol pg_class_cols[] = {
	CI("oid"), CS("relname"), CI("relnamespace"), CI("reltype"), CI("reloftype"), CI("relowner"),
	CI("relam"), CI("relfilenode"), CI("reltablespace"), CI("relpages"), C("reltuples", TYPE_FLOAT),
	CI("relallvisible"), CI("reltoastrelid"), CB("relhasindex"), CB("relisshared"),
	CS("relpersistence"), CS("relkind"), CI("relnatts"), CI("relchecks"), CB("relhasrules"),
	CB("relhastriggers"), CB("relhassubclass"), CB("relrowsecurity"), CB("relforcerowsecurity"),
	CB("relispopulated"), CS("relreplident"), CB("relispartition"), CI("relrewrite"),
	CI("relfrozenxid"), CI("relminmxid"), CAS("relacl"), CAS("reloptions"), CS("relpartbound"),
	CB("relhasoids"),
};

static int64_t
rel_rows(const Rel *r)
{
	if (r->t == NULL)
		return 0;
	TableStats st;
	memset(&st, 0, sizeof(st));
	table_stats(r->t, &st);
	return (int64_t)st.rows;
}

static int
pg_class_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		ROW(pg_class_cols);
		row[0] = vi(r->oid);
		row[1] = vs(b, r->name);
		row[2] = vi(systab_ns_oid(r->schema));
		row[3] = vi(0);
		row[4] = vi(0);
		row[5] = vi(OWNER);
		row[6] = vi(r->kind == 'r' ? 2 : r->kind == 'i' ? 403 : 0);
		row[7] = vi(r->kind == 'r' || r->kind == 'i' ? r->oid : 0);
		row[8] = vi(0);
		row[9] = vi(0);
		row[10] = value_double(TYPE_FLOAT, r->t ? (double)rel_rows(r) : -1.0);
		row[11] = vi(0);
		row[12] = vi(0);
		row[13] = vb(r->nkey > 0 && r->kind == 'r');
		row[14] = vb(0);
		row[15] = vs(b, "p");
		char kind[2] = {r->kind, 0};
		row[16] = vs(b, kind);
		row[17] = vi(r->ncols);
		row[18] = vi(0);
		for (int k = 19; k <= 23; k++)
			row[k] = vb(0);
		row[24] = vb(1);
		row[25] = vs(b, r->kind == 'r' ? "d" : "n");
		row[26] = vb(0);
		for (int k = 27; k <= 29; k++)
			row[k] = vi(0);
		row[33] = vb(0);
	}
	return 0;
}

static const BindCol pg_attribute_cols[] = {
	CI("attrelid"), CS("attname"), CI("atttypid"), CI("attstattarget"), CI("attlen"), CI("attnum"),
	CI("attndims"), CI("attcacheoff"), CI("atttypmod"), CB("attbyval"), CS("attalign"),
	CS("attstorage"), CS("attcompression"), CB("attnotnull"), CB("atthasdef"), CB("atthasmissing"),
	CS("attidentity"), CS("attgenerated"), CB("attisdropped"), CB("attislocal"), CI("attinhcount"),
	CI("attcollation"), CAS("attacl"), CAS("attoptions"), CAS("attfdwoptions"), CS("attmissingval"),
};

static int
pg_attribute_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		for (int c = 0; c < r->ncols; c++) {
			const BindCol *bc = &r->cols[c];
			int32_t oid = pgtype_oid(bc->type, bc->mv);
			const PgType *pt = pgtype_find(oid);
			int var = pt == NULL || pt->len < 0;
			ROW(pg_attribute_cols);
			row[0] = vi(r->oid);
			row[1] = vs(b, bc->name);
			row[2] = vi(oid);
			row[3] = vi(-1);
			row[4] = vi(pt ? pt->len : -1);
			row[5] = vi(c + 1);
			row[6] = vi(bc->mv ? 1 : 0);
			row[7] = vi(-1);
			row[8] = vi(-1);
			row[9] = vb(!var && pt->len <= 8);
			row[10] = vs(b, var ? "i" : pt->len == 8 ? "d" : pt->len == 4 ? "i" : "c");
			row[11] = vs(b, var ? "x" : "p");
			row[12] = vs(b, "");
			row[13] = vb(r->notnull && r->notnull[c]);
			row[14] = vb(0);
			row[15] = vb(0);
			row[16] = vs(b, "");
			row[17] = vs(b, "");
			row[18] = vb(0);
			row[19] = vb(1);
			row[20] = vi(0);
			row[21] = vi(bc->type == TYPE_STRING ? 100 : 0);
		}
	}
	return 0;
}

static const BindCol pg_type_cols[] = {
	CI("oid"), CS("typname"), CI("typnamespace"), CI("typowner"), CI("typlen"), CB("typbyval"),
	CS("typtype"), CS("typcategory"), CB("typispreferred"), CB("typisdefined"), CS("typdelim"),
	CI("typrelid"), CI("typelem"), CI("typarray"), CS("typinput"), CS("typoutput"),
	CS("typreceive"), CS("typsend"), CS("typmodin"), CS("typmodout"), CS("typanalyze"),
	CS("typalign"), CS("typstorage"), CB("typnotnull"), CI("typbasetype"), CI("typtypmod"),
	CI("typndims"), CI("typcollation"), CS("typdefaultbin"), CS("typdefault"), CAS("typacl"),
	CS("typsubscript"),
};

static int
pg_type_build(SysCx *x, RowBatch *b, Err *e)
{
	(void)x;
	for (int i = 0; i < pgtype_count(); i++) {
		const PgType *p = pgtype_at(i);
		ROW(pg_type_cols);
		char fn[80];
		const char *base = p->category == 'A' ? "array" : p->name;
		row[0] = vi(p->oid);
		row[1] = vs(b, p->name);
		row[2] = vi(NS_PG_CATALOG);
		row[3] = vi(OWNER);
		row[4] = vi(p->len);
		row[5] = vb(p->len > 0 && p->len <= 8);
		row[6] = vs(b, p->oid == 705 ? "p" : "b");
		char cat[2] = {p->category, 0};
		row[7] = vs(b, cat);
		row[8] = vb(p->oid == 25 || p->oid == 701 || p->oid == 16 || p->oid == 1184 || p->oid == 26);
		row[9] = vb(1);
		row[10] = vs(b, ",");
		row[11] = vi(0);
		row[12] = vi(p->elem);
		row[13] = vi(p->array);
		snprintf(fn, sizeof(fn), "%s_in", base);
		row[14] = vs(b, fn);
		snprintf(fn, sizeof(fn), "%s_out", base);
		row[15] = vs(b, fn);
		snprintf(fn, sizeof(fn), "%s_recv", base);
		row[16] = vs(b, fn);
		snprintf(fn, sizeof(fn), "%s_send", base);
		row[17] = vs(b, fn);
		row[18] = vs(b, "-");
		row[19] = vs(b, "-");
		row[20] = vs(b, "-");
		row[21] = vs(b, p->len == 8 ? "d" : p->len == 2 ? "s" : p->len == 1 ? "c" : "i");
		row[22] = vs(b, p->len < 0 ? "x" : "p");
		row[23] = vb(0);
		row[24] = vi(0);
		row[25] = vi(-1);
		row[26] = vi(0);
		row[27] = vi(p->oid == 25 || p->oid == 1043 || p->oid == 1042 || p->oid == 19 ? 100 : 0);
		row[31] = vs(b, p->category == 'A' ? "array_subscript_handler" : "-");
	}
	return 0;
}

static const BindCol pg_database_cols[] = {
	CI("oid"), CS("datname"), CI("datdba"), CI("encoding"), CS("datlocprovider"), CB("datistemplate"),
	CB("datallowconn"), CI("datconnlimit"), CI("datfrozenxid"), CI("datminmxid"), CI("dattablespace"),
	CS("datcollate"), CS("datctype"), CS("daticulocale"), CS("datcollversion"), CAS("datacl"),
};

static int
pg_database_build(SysCx *x, RowBatch *b, Err *e)
{
	ROW(pg_database_cols);
	row[0] = vi(systab_rel_oid("pg_database", x->db));
	row[1] = vs(b, x->db);
	row[2] = vi(OWNER);
	row[3] = vi(6);
	row[4] = vs(b, "c");
	row[5] = vb(0);
	row[6] = vb(1);
	row[7] = vi(-1);
	row[8] = vi(0);
	row[9] = vi(0);
	row[10] = vi(1663);
	row[11] = vs(b, "C.UTF-8");
	row[12] = vs(b, "C.UTF-8");
	return 0;
}

static const BindCol pg_roles_cols[] = {
	CS("rolname"), CB("rolsuper"), CB("rolinherit"), CB("rolcreaterole"), CB("rolcreatedb"),
	CB("rolcanlogin"), CB("rolreplication"), CI("rolconnlimit"), CS("rolpassword"),
	C("rolvaliduntil", TYPE_TIMESTAMP), CB("rolbypassrls"), CAS("rolconfig"), CI("oid"),
};

static int
pg_roles_build(SysCx *x, RowBatch *b, Err *e)
{
	ROW(pg_roles_cols);
	row[0] = vs(b, x->user);
	for (int k = 1; k <= 6; k++)
		row[k] = vb(k != 6);
	row[7] = vi(-1);
	row[8] = vs(b, "********");
	row[10] = vb(1);
	row[12] = vi(OWNER);
	return 0;
}

static const BindCol pg_user_cols[] = {
	CS("usename"), CI("usesysid"), CB("usecreatedb"), CB("usesuper"), CB("userepl"),
	CB("usebypassrls"), CS("passwd"), C("valuntil", TYPE_TIMESTAMP), CAS("useconfig"),
};

static int
pg_user_build(SysCx *x, RowBatch *b, Err *e)
{
	ROW(pg_user_cols);
	row[0] = vs(b, x->user);
	row[1] = vi(OWNER);
	row[2] = vb(1);
	row[3] = vb(1);
	row[4] = vb(0);
	row[5] = vb(1);
	row[6] = vs(b, "********");
	return 0;
}

static const BindCol pg_settings_cols[] = {
	CS("name"), CS("setting"), CS("unit"), CS("category"), CS("short_desc"), CS("extra_desc"),
	CS("context"), CS("vartype"), CS("source"), CS("min_val"), CS("max_val"), CAS("enumvals"),
	CS("boot_val"), CS("reset_val"), CS("sourcefile"), CI("sourceline"), CB("pending_restart"),
};

static int
pg_settings_build(SysCx *x, RowBatch *b, Err *e)
{
	(void)x;
	for (int i = 0; i < fnpg_nsettings(); i++) {
		const PgSetting *p = fnpg_setting_at(i);
		ROW(pg_settings_cols);
		row[0] = vs(b, p->name);
		row[1] = vs(b, p->setting);
		row[2] = vs(b, p->unit);
		row[3] = vs(b, p->category);
		row[4] = vs(b, p->desc);
		row[6] = vs(b, strcmp(p->category, "Preset Options") == 0 ? "internal" : "user");
		row[7] = vs(b, p->vartype);
		row[8] = vs(b, "default");
		row[12] = vs(b, p->setting);
		row[13] = vs(b, p->setting);
		row[16] = vb(0);
	}
	return 0;
}

static const BindCol pg_tables_cols[] = {
	CS("schemaname"), CS("tablename"), CS("tableowner"), CS("tablespace"), CB("hasindexes"),
	CB("hasrules"), CB("hastriggers"), CB("rowsecurity"),
};

static int
pg_tables_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind != 'r')
			continue;
		ROW(pg_tables_cols);
		row[0] = vs(b, r->schema);
		row[1] = vs(b, r->name);
		row[2] = vs(b, x->user);
		for (int k = 4; k <= 7; k++)
			row[k] = vb(k == 4 && r->nkey > 0);
	}
	return 0;
}

/* pg_stat_user_tables / pg_stat_all_tables: n_live_tup is the table's
 * stored row count (Metabase reads it as the estimated row count); the
 * scan and vacuum counters stay NULL. */
static const BindCol pg_stat_tables_cols[] = {
	CI("relid"), CS("schemaname"), CS("relname"), CL("seq_scan"), CL("seq_tup_read"), CL("idx_scan"),
	CL("idx_tup_fetch"), CL("n_tup_ins"), CL("n_tup_upd"), CL("n_tup_del"), CL("n_tup_hot_upd"),
	CL("n_live_tup"), CL("n_dead_tup"),
};

static int
pg_stat_tables_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind != 'r')
			continue;
		ROW(pg_stat_tables_cols);
		row[0] = vi(r->oid);
		row[1] = vs(b, r->schema);
		row[2] = vs(b, r->name);
		row[11] = value_int(TYPE_LONG, r->t ? (int64_t)rel_rows(r) : 0);
		row[12] = value_int(TYPE_LONG, 0);
	}
	return 0;
}

static const BindCol pg_am_cols[] = {CI("oid"), CS("amname"), CS("amhandler"), CS("amtype")};

static int
pg_am_build(SysCx *x, RowBatch *b, Err *e)
{
	(void)x;
	static const struct { int oid; const char *n, *h, *t; } ams[] = {
		{2, "heap", "heap_tableam_handler", "t"}, {403, "btree", "bthandler", "i"},
		{405, "hash", "hashhandler", "i"},
	};
	for (int i = 0; i < 3; i++) {
		ROW(pg_am_cols);
		row[0] = vi(ams[i].oid);
		row[1] = vs(b, ams[i].n);
		row[2] = vs(b, ams[i].h);
		row[3] = vs(b, ams[i].t);
	}
	return 0;
}

static const BindCol pg_collation_cols[] = {
	CI("oid"), CS("collname"), CI("collnamespace"), CI("collowner"), CS("collprovider"),
	CB("collisdeterministic"), CI("collencoding"), CS("collcollate"), CS("collctype"),
	CS("colliculocale"), CS("collversion"),
};

static int
pg_collation_build(SysCx *x, RowBatch *b, Err *e)
{
	(void)x;
	static const struct { int oid; const char *n, *p, *c; } cs[] = {
		{100, "default", "d", NULL}, {950, "C", "c", "C"}, {951, "POSIX", "c", "POSIX"},
	};
	for (int i = 0; i < 3; i++) {
		ROW(pg_collation_cols);
		row[0] = vi(cs[i].oid);
		row[1] = vs(b, cs[i].n);
		row[2] = vi(NS_PG_CATALOG);
		row[3] = vi(OWNER);
		row[4] = vs(b, cs[i].p);
		row[5] = vb(1);
		row[6] = vi(-1);
		row[7] = vs(b, cs[i].c);
		row[8] = vs(b, cs[i].c);
	}
	return 0;
}

static const BindCol pg_tablespace_cols[] = {CI("oid"), CS("spcname"), CI("spcowner"), CAS("spcacl"),
					     CAS("spcoptions")};

static int
pg_tablespace_build(SysCx *x, RowBatch *b, Err *e)
{
	(void)x;
	for (int i = 0; i < 2; i++) {
		ROW(pg_tablespace_cols);
		row[0] = vi(i ? 1664 : 1663);
		row[1] = vs(b, i ? "pg_global" : "pg_default");
		row[2] = vi(OWNER);
	}
	return 0;
}

static const BindCol pg_stat_activity_cols[] = {
	CI("datid"), CS("datname"), CI("pid"), CI("leader_pid"), CI("usesysid"), CS("usename"),
	CS("application_name"), CS("client_addr"), CS("client_hostname"), CI("client_port"),
	C("backend_start", TYPE_TIMESTAMP), C("xact_start", TYPE_TIMESTAMP),
	C("query_start", TYPE_TIMESTAMP), C("state_change", TYPE_TIMESTAMP), CS("wait_event_type"),
	CS("wait_event"), CS("state"), CI("backend_xid"), CI("backend_xmin"), CL("query_id"),
	CS("query"), CS("backend_type"),
};

static int
pg_stat_activity_build(SysCx *x, RowBatch *b, Err *e)
{
	ROW(pg_stat_activity_cols);
	row[0] = vi(systab_rel_oid("pg_database", x->db));
	row[1] = vs(b, x->db);
	row[2] = vi(getpid());
	row[4] = vi(OWNER);
	row[5] = vs(b, x->user);
	row[6] = vs(b, "");
	row[16] = vs(b, "active");
	row[21] = vs(b, "client backend");
	return 0;
}

/* Catalogs Waybill has nothing in: the columns clients read, no rows. */
static int
empty_build(SysCx *x, RowBatch *b, Err *e)
{
	(void)x;
	(void)b;
	(void)e;
	return 0;
}

static const BindCol pg_description_cols[] = {CI("objoid"), CI("classoid"), CI("objsubid"), CS("description")};
static const BindCol pg_shdescription_cols[] = {CI("objoid"), CI("classoid"), CS("description")};
static const BindCol pg_index_cols[] = {
	CI("indexrelid"), CI("indrelid"), CI("indnatts"), CI("indnkeyatts"), CB("indisunique"),
	CB("indnullsnotdistinct"), CB("indisprimary"), CB("indisexclusion"), CB("indimmediate"),
	CB("indisclustered"), CB("indisvalid"), CB("indcheckxmin"), CB("indisready"), CB("indislive"),
	CB("indisreplident"), CAI("indkey"), CAI("indcollation"), CAI("indclass"), CAI("indoption"),
	CS("indexprs"), CS("indpred"),
};
static const BindCol pg_attrdef_cols[] = {CI("oid"), CI("adrelid"), CI("adnum"), CS("adbin")};
static const BindCol pg_constraint_cols[] = {
	CI("oid"), CS("conname"), CI("connamespace"), CS("contype"), CB("condeferrable"),
	CB("condeferred"), CB("convalidated"), CI("conrelid"), CI("contypid"), CI("conindid"),
	CI("conparentid"), CI("confrelid"), CS("confupdtype"), CS("confdeltype"), CS("confmatchtype"),
	CB("conislocal"), CI("coninhcount"), CB("connoinherit"), CAI("conkey"), CAI("confkey"),
	CAI("conpfeqop"), CAI("conppeqop"), CAI("conffeqop"), CAI("conexclop"), CS("conbin"),
};
static const BindCol pg_inherits_cols[] = {CI("inhrelid"), CI("inhparent"), CI("inhseqno"),
					   CB("inhdetachpending")};
static const BindCol pg_proc_cols[] = {
	CI("oid"), CS("proname"), CI("pronamespace"), CI("proowner"), CI("prolang"), C("procost", TYPE_FLOAT),
	C("prorows", TYPE_FLOAT), CI("provariadic"), CS("prosupport"), CS("prokind"), CB("prosecdef"),
	CB("proleakproof"), CB("proisstrict"), CB("proretset"), CS("provolatile"), CS("proparallel"),
	CI("pronargs"), CI("pronargdefaults"), CI("prorettype"), CAI("proargtypes"), CAI("proallargtypes"),
	CAS("proargmodes"), CAS("proargnames"), CS("proargdefaults"), CAI("protrftypes"), CS("prosrc"),
	CS("probin"), CS("prosqlbody"), CAS("proconfig"), CAS("proacl"),
};
static const BindCol pg_enum_cols[] = {CI("oid"), CI("enumtypid"), C("enumsortorder", TYPE_FLOAT),
				       CS("enumlabel")};
static const BindCol pg_extension_cols[] = {CI("oid"), CS("extname"), CI("extowner"), CI("extnamespace"),
					    CB("extrelocatable"), CS("extversion"), CAI("extconfig"),
					    CAS("extcondition")};
static const BindCol pg_matviews_cols[] = {CS("schemaname"), CS("matviewname"), CS("matviewowner"),
					   CS("tablespace"), CB("hasindexes"), CB("ispopulated"),
					   CS("definition")};
static const BindCol pg_views_cols[] = {CS("schemaname"), CS("viewname"), CS("viewowner"), CS("definition")};
static const BindCol pg_policy_cols[] = {CI("oid"), CS("polname"), CI("polrelid"), CS("polcmd"),
					 CB("polpermissive"), CAI("polroles"), CS("polqual"), CS("polwithcheck")};
static const BindCol pg_statistic_ext_cols[] = {CI("oid"), CI("stxrelid"), CS("stxname"), CI("stxnamespace"),
						CI("stxowner"), CI("stxstattarget"), CAI("stxkeys"), CAS("stxkind"),
						CS("stxexprs")};
static const BindCol pg_publication_cols[] = {CI("oid"), CS("pubname"), CI("pubowner"), CB("puballtables"),
					      CB("pubinsert"), CB("pubupdate"), CB("pubdelete"), CB("pubtruncate"),
					      CB("pubviaroot")};
static const BindCol pg_publication_rel_cols[] = {CI("oid"), CI("prpubid"), CI("prrelid"), CS("prqual"),
						  CAI("prattrs")};
static const BindCol pg_publication_namespace_cols[] = {CI("oid"), CI("pnpubid"), CI("pnnspid")};
static const BindCol pg_sequence_cols[] = {CI("seqrelid"), CI("seqtypid"), CL("seqstart"), CL("seqincrement"),
					   CL("seqmax"), CL("seqmin"), CL("seqcache"), CB("seqcycle")};
static const BindCol pg_trigger_cols[] = {CI("oid"), CI("tgrelid"), CI("tgparentid"), CS("tgname"),
					  CI("tgfoid"), CI("tgtype"), CS("tgenabled"), CB("tgisinternal")};
static const BindCol pg_rewrite_cols[] = {CI("oid"), CS("rulename"), CI("ev_class"), CS("ev_type"),
					  CS("ev_enabled"), CB("is_instead")};
static const BindCol pg_depend_cols[] = {CI("classid"), CI("objid"), CI("objsubid"), CI("refclassid"),
					 CI("refobjid"), CI("refobjsubid"), CS("deptype")};
static const BindCol pg_indexes_cols[] = {CS("schemaname"), CS("tablename"), CS("indexname"), CS("tablespace"),
					  CS("indexdef")};
static const BindCol pg_foreign_table_cols[] = {CI("ftrelid"), CI("ftserver"), CAS("ftoptions")};
static const BindCol pg_partitioned_table_cols[] = {CI("partrelid"), CS("partstrat"), CI("partnatts"),
						    CI("partdefid"), CAI("partattrs")};

/* ---- primary keys -----------------------------------------------------------
 * A table whose schema has primaryKeyColumns (upsert and dimension tables)
 * shows them as PostgreSQL shows a PRIMARY KEY: a unique btree index
 * "<table>_pkey" (pg_class relkind 'i', pg_index, pg_indexes) and a
 * constraint of the same name (pg_constraint, information_schema's
 * table_constraints and key_column_usage), its columns NOT NULL. */

/* an int vector of r's key attnums (k = 1), zeros (k = 0) or the
 * collation of each key column (k = 2) */
static Value
keyvec(RowBatch *b, const Rel *r, int k)
{
	Value *v = arena_calloc(&b->arena, sizeof(Value) * (size_t)(r->nkey + 1));
	if (v == NULL)
		return value_null(TYPE_INT);
	for (int i = 0; i < r->nkey; i++)
		v[i] = vi(k == 1 ? r->keys[i] : k == 2 && r->cols[i].type == TYPE_STRING && !r->cols[i].mv ? 100 : 0);
	Value out = value_null(TYPE_INT);
	out.null = 0;
	out.mv = 1;
	out.n = (uint32_t)r->nkey;
	out.u.mv = v;
	return out;
}

/* r's (an 'i' relation's) definition into d: col 0 "CREATE UNIQUE INDEX
 * t_pkey ON public.t USING btree (a, b)", col k > 0 its k-th column's
 * name, col -1 "PRIMARY KEY (a, b)" */
static void
key_def(Buf *d, const Rel *r, int col)
{
	if (col > 0) {
		buf_puts(d, r->cols[col - 1].name);
		return;
	}
	if (col == 0)
		buf_printf(d, "CREATE UNIQUE INDEX %s ON %s.%s USING btree (", r->name, r->schema, r->relname);
	else
		buf_puts(d, "PRIMARY KEY (");
	for (int k = 0; k < r->nkey; k++)
		buf_printf(d, "%s%s", k ? ", " : "", r->cols[k].name);
	buf_puts(d, ")");
}

static const char *
indexdef(RowBatch *b, const Rel *r)
{
	Buf d;
	buf_init(&d);
	key_def(&d, r, 0);
	const char *s = d.len && !d.oom ? arena_strdup(&b->arena, d.p) : NULL;
	buf_free(&d);
	return s;
}

static int
pg_index_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind != 'i')
			continue;
		ROW(pg_index_cols);
		row[0] = vi(r->oid);
		row[1] = vi(r->indrel);
		row[2] = vi(r->nkey);
		row[3] = vi(r->nkey);
		for (int k = 4; k <= 14; k++)	/* unique, primary, immediate, valid, ready, live */
			row[k] = vb(k == 4 || k == 6 || k == 8 || k == 10 || k == 12 || k == 13);
		row[15] = keyvec(b, r, 1);
		row[16] = keyvec(b, r, 2);
		row[17] = keyvec(b, r, 0);
		row[18] = keyvec(b, r, 0);
	}
	return 0;
}

static int
pg_constraint_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind != 'i')
			continue;
		ROW(pg_constraint_cols);
		row[0] = vi(systab_rel_oid("pg_constraint", r->name));
		row[1] = vs(b, r->name);
		row[2] = vi(systab_ns_oid(r->schema));
		row[3] = vs(b, "p");
		row[4] = vb(0);
		row[5] = vb(0);
		row[6] = vb(1);
		row[7] = vi(r->indrel);
		row[8] = vi(0);
		row[9] = vi(r->oid);
		row[10] = vi(0);
		row[11] = vi(0);
		for (int k = 12; k <= 14; k++)
			row[k] = vs(b, " ");
		row[15] = vb(1);
		row[16] = vi(0);
		row[17] = vb(1);
		row[18] = keyvec(b, r, 1);
	}
	return 0;
}

static int
pg_indexes_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind != 'i')
			continue;
		ROW(pg_indexes_cols);
		row[0] = vs(b, r->schema);
		row[1] = vs(b, r->relname);
		row[2] = vs(b, r->name);
		row[4] = vs(b, indexdef(b, r));
	}
	return 0;
}

/* ---- information_schema ------------------------------------------------- */

static const BindCol is_tables_cols[] = {
	CS("table_catalog"), CS("table_schema"), CS("table_name"), CS("table_type"),
	CS("self_referencing_column_name"), CS("reference_generation"), CS("user_defined_type_catalog"),
	CS("user_defined_type_schema"), CS("user_defined_type_name"), CS("is_insertable_into"),
	CS("is_typed"), CS("commit_action"),
};

static int
is_tables_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind == 'i')
			continue;
		ROW(is_tables_cols);
		row[0] = vs(b, x->db);
		row[1] = vs(b, r->schema);
		row[2] = vs(b, r->name);
		row[3] = vs(b, r->kind == 'v' ? "VIEW" : "BASE TABLE");
		row[9] = vs(b, r->kind == 'v' ? "NO" : "YES");
		row[10] = vs(b, "NO");
	}
	return 0;
}

static const BindCol is_columns_cols[] = {
	CS("table_catalog"), CS("table_schema"), CS("table_name"), CS("column_name"),
	CI("ordinal_position"), CS("column_default"), CS("is_nullable"), CS("data_type"),
	CI("character_maximum_length"), CI("character_octet_length"), CI("numeric_precision"),
	CI("numeric_precision_radix"), CI("numeric_scale"), CI("datetime_precision"), CS("interval_type"),
	CI("interval_precision"), CS("character_set_catalog"), CS("character_set_schema"),
	CS("character_set_name"), CS("collation_catalog"), CS("collation_schema"), CS("collation_name"),
	CS("domain_catalog"), CS("domain_schema"), CS("domain_name"), CS("udt_catalog"), CS("udt_schema"),
	CS("udt_name"), CS("scope_catalog"), CS("scope_schema"), CS("scope_name"),
	CI("maximum_cardinality"), CS("dtd_identifier"), CS("is_self_referencing"), CS("is_identity"),
	CS("identity_generation"), CS("identity_start"), CS("identity_increment"), CS("identity_maximum"),
	CS("identity_minimum"), CS("identity_cycle"), CS("is_generated"), CS("generation_expression"),
	CS("is_updatable"),
};

static int
is_columns_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		for (int c = 0; r->kind != 'i' && c < r->ncols; c++) {
			const BindCol *bc = &r->cols[c];
			int32_t oid = pgtype_oid(bc->type, bc->mv);
			const PgType *pt = pgtype_find(oid);
			ROW(is_columns_cols);
			char num[16];
			row[0] = vs(b, x->db);
			row[1] = vs(b, r->schema);
			row[2] = vs(b, r->name);
			row[3] = vs(b, bc->name);
			row[4] = vi(c + 1);
			row[6] = vs(b, r->notnull && r->notnull[c] ? "NO" : "YES");
			row[7] = vs(b, bc->mv ? "ARRAY" : pt ? pt->sql : "text");
			if (!bc->mv && bc->type == TYPE_STRING)
				row[9] = vi(1073741824);
			if (!bc->mv && type_is_numeric(bc->type) && bc->type != TYPE_BOOLEAN &&
			    bc->type != TYPE_TIMESTAMP) {
				int fl = type_is_float(bc->type);
				row[10] = vi(bc->type == TYPE_INT ? 32 : bc->type == TYPE_LONG ? 64
					     : bc->type == TYPE_FLOAT ? 24 : 53);
				row[11] = vi(2);
				if (!fl)
					row[12] = vi(0);
			}
			if (!bc->mv && bc->type == TYPE_TIMESTAMP)
				row[13] = vi(6);
			row[25] = vs(b, x->db);
			row[26] = vs(b, "pg_catalog");
			row[27] = vs(b, pt ? pt->name : "text");
			snprintf(num, sizeof(num), "%d", c + 1);
			row[32] = vs(b, num);
			row[33] = vs(b, "NO");
			row[34] = vs(b, "NO");
			row[40] = vs(b, "NO");
			row[41] = vs(b, "NEVER");
			row[43] = vs(b, r->kind == 'v' ? "NO" : "YES");
		}
	}
	return 0;
}

static const BindCol is_schemata_cols[] = {
	CS("catalog_name"), CS("schema_name"), CS("schema_owner"), CS("default_character_set_catalog"),
	CS("default_character_set_schema"), CS("default_character_set_name"), CS("sql_path"),
};

static int
is_schemata_build(SysCx *x, RowBatch *b, Err *e)
{
	static const char *ns[] = {"pg_catalog", "public", "information_schema", "sys"};
	for (int i = 0; i < 4; i++) {
		ROW(is_schemata_cols);
		row[0] = vs(b, x->db);
		row[1] = vs(b, ns[i]);
		row[2] = vs(b, x->user);
	}
	return 0;
}

static const BindCol is_views_cols[] = {
	CS("table_catalog"), CS("table_schema"), CS("table_name"), CS("view_definition"), CS("check_option"),
	CS("is_updatable"), CS("is_insertable_into"), CS("is_trigger_updatable"),
	CS("is_trigger_deletable"), CS("is_trigger_insertable_into"),
};

static const BindCol is_key_column_usage_cols[] = {
	CS("constraint_catalog"), CS("constraint_schema"), CS("constraint_name"), CS("table_catalog"),
	CS("table_schema"), CS("table_name"), CS("column_name"), CI("ordinal_position"),
	CI("position_in_unique_constraint"),
};

static const BindCol is_table_constraints_cols[] = {
	CS("constraint_catalog"), CS("constraint_schema"), CS("constraint_name"), CS("table_catalog"),
	CS("table_schema"), CS("table_name"), CS("constraint_type"), CS("is_deferrable"),
	CS("initially_deferred"), CS("enforced"), CS("nulls_distinct"),
};

static int
is_table_constraints_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		if (r->kind != 'i')
			continue;
		ROW(is_table_constraints_cols);
		row[0] = vs(b, x->db);
		row[1] = vs(b, r->schema);
		row[2] = vs(b, r->name);
		row[3] = vs(b, x->db);
		row[4] = vs(b, r->schema);
		row[5] = vs(b, r->relname);
		row[6] = vs(b, "PRIMARY KEY");
		row[7] = vs(b, "NO");
		row[8] = vs(b, "NO");
		row[9] = vs(b, "YES");
	}
	return 0;
}

static int
is_key_column_usage_build(SysCx *x, RowBatch *b, Err *e)
{
	for (int i = 0; i < x->nrels; i++) {
		const Rel *r = &x->rels[i];
		for (int k = 0; r->kind == 'i' && k < r->nkey; k++) {
			ROW(is_key_column_usage_cols);
			row[0] = vs(b, x->db);
			row[1] = vs(b, r->schema);
			row[2] = vs(b, r->name);
			row[3] = vs(b, x->db);
			row[4] = vs(b, r->schema);
			row[5] = vs(b, r->relname);
			row[6] = vs(b, r->cols[k].name);
			row[7] = vi(k + 1);
		}
	}
	return 0;
}

#define SYS(n, c, f) {n, c, NCOLS(c), f, NULL, "sys", NULL, 'r'}
#define SYSA(n, c, f) {n, c, NCOLS(c), NULL, f, "sys", NULL, 'r'}
#define PG(n, k, f) {#n, n##_cols, NCOLS(n##_cols), NULL, NULL, "pg_catalog", f, k}
#define IS(n, c, f) {n, c, NCOLS(c), NULL, NULL, "information_schema", f, 'v'}

static const SysTab systabs[] = {
	SYS("tables", tables_cols, tables_build),
	SYS("segments", segments_cols, segments_build),
	SYSA("queries", queries_cols, queries_build),
	SYS("ingestion", ingestion_cols, ingestion_build),
	PG(pg_namespace, 'r', pg_namespace_build),
	PG(pg_class, 'r', pg_class_build),
	PG(pg_attribute, 'r', pg_attribute_build),
	PG(pg_type, 'r', pg_type_build),
	PG(pg_database, 'r', pg_database_build),
	PG(pg_roles, 'v', pg_roles_build),
	PG(pg_user, 'v', pg_user_build),
	PG(pg_settings, 'v', pg_settings_build),
	PG(pg_tables, 'v', pg_tables_build),
	PG(pg_am, 'r', pg_am_build),
	PG(pg_collation, 'r', pg_collation_build),
	PG(pg_tablespace, 'r', pg_tablespace_build),
	PG(pg_stat_activity, 'v', pg_stat_activity_build),
	{"pg_stat_user_tables", pg_stat_tables_cols, NCOLS(pg_stat_tables_cols), NULL, NULL, "pg_catalog",
	 pg_stat_tables_build, 'v'},
	{"pg_stat_all_tables", pg_stat_tables_cols, NCOLS(pg_stat_tables_cols), NULL, NULL, "pg_catalog",
	 pg_stat_tables_build, 'v'},
	PG(pg_description, 'r', empty_build),
	PG(pg_shdescription, 'r', empty_build),
	PG(pg_index, 'r', pg_index_build),
	PG(pg_attrdef, 'r', empty_build),
	PG(pg_constraint, 'r', pg_constraint_build),
	PG(pg_inherits, 'r', empty_build),
	PG(pg_proc, 'r', empty_build),
	PG(pg_enum, 'r', empty_build),
	PG(pg_extension, 'r', empty_build),
	PG(pg_matviews, 'v', empty_build),
	PG(pg_views, 'v', empty_build),
	PG(pg_policy, 'r', empty_build),
	PG(pg_statistic_ext, 'r', empty_build),
	PG(pg_publication, 'r', empty_build),
	PG(pg_publication_rel, 'r', empty_build),
	PG(pg_publication_namespace, 'r', empty_build),
	PG(pg_sequence, 'r', empty_build),
	PG(pg_trigger, 'r', empty_build),
	PG(pg_rewrite, 'r', empty_build),
	PG(pg_depend, 'r', empty_build),
	PG(pg_indexes, 'v', pg_indexes_build),
	PG(pg_foreign_table, 'r', empty_build),
	PG(pg_partitioned_table, 'r', empty_build),
	IS("tables", is_tables_cols, is_tables_build),
	IS("columns", is_columns_cols, is_columns_build),
	IS("schemata", is_schemata_cols, is_schemata_build),
	IS("views", is_views_cols, empty_build),
	IS("key_column_usage", is_key_column_usage_cols, is_key_column_usage_build),
	IS("table_constraints", is_table_constraints_cols, is_table_constraints_build),
};

const SysTab *
systab_find(const char *schema, const char *table)
{
	if (table == NULL)
		return NULL;
	/* unqualified: pg_catalog is on the search path (sys. tables and
	 * information_schema must be named) */
	const char *want = schema ? schema : "pg_catalog";
	if (strcasecmp(want, "sys") != 0 && strcasecmp(want, "pg_catalog") != 0 &&
	    strcasecmp(want, "information_schema") != 0)
		return NULL;
	for (int i = 0; i < NCOLS(systabs); i++)
		if (strcasecmp(systabs[i].schema, want) == 0 && strcasecmp(systabs[i].name, table) == 0)
			return &systabs[i];
	return NULL;
}

int systab_id(const SysTab *t) { return t ? (int)(t - systabs) + 1 : 0; }

const SysTab *
systab_get(int id)
{
	return id >= 1 && id <= NCOLS(systabs) ? &systabs[id - 1] : NULL;
}

const char *systab_name(const SysTab *t) { return t->name; }
const char *systab_schema(const SysTab *t) { return t->schema; }
int systab_ncols(const SysTab *t) { return t->ncols; }
const BindCol *systab_cols(const SysTab *t) { return t->cols; }

/* Every relation: Waybill's tables (in public, or the schema before a
 * dot in the name), then the virtual tables.  Table references are the
 * caller's (tabs); columns of tables go to a. */
static int
list_rels(Table **tabs, int n, Arena *a, Rel **out, int *nout)
{
	Rel *r = arena_calloc(a, sizeof(Rel) * (size_t)(2 * n + NCOLS(systabs) + 1));
	if (r == NULL)
		return ERR_NOMEM;
	int k = 0;
	for (int i = 0; i < n; i++) {
		const char *nm = table_name(tabs[i]);
		const char *dot = strchr(nm, '.');
		Rel *x = &r[k++];
		if (dot != NULL) {
			size_t sl = (size_t)(dot - nm);
			char *sc = arena_alloc(a, sl + 1);
			if (sc == NULL)
				return ERR_NOMEM;
			memcpy(sc, nm, sl);
			sc[sl] = '\0';
			x->schema = sc;
			x->name = dot + 1;
		} else {
			x->schema = "public";
			x->name = nm;
		}
		x->kind = 'r';
		x->t = tabs[i];
		const Schema *sc = table_schema(tabs[i]);
		BindCol *cols = arena_calloc(a, sizeof(BindCol) * (size_t)(sc->nfields + 1));
		if (cols == NULL)
			return ERR_NOMEM;
		uint8_t *nn = arena_calloc(a, (size_t)sc->nfields + 1);
		int *keys = arena_calloc(a, sizeof(int) * (size_t)(sc->npk + 1));
		BindCol *kcols = arena_calloc(a, sizeof(BindCol) * (size_t)(sc->npk + 1));
		if (nn == NULL || keys == NULL || kcols == NULL)
			return ERR_NOMEM;
		for (int c = 0; c < sc->nfields; c++) {
			cols[c] = (BindCol){sc->fields[c].name, sc->fields[c].type, !sc->fields[c].single_value};
			nn[c] = (uint8_t)(sc->fields[c].not_null != 0);
		}
		int nk = 0;
		for (int p = 0; p < sc->npk; p++)
			for (int c = 0; c < sc->nfields; c++)
				if (strcmp(sc->fields[c].name, sc->pk[p]) == 0) {
					keys[nk] = c + 1;
					kcols[nk++] = cols[c];
					nn[c] = 1;
					break;
				}
		x->cols = cols;
		x->ncols = sc->nfields;
		x->oid = systab_rel_oid(x->schema, x->name);
		x->notnull = nn;
		if (nk == 0)
			continue;
		x->nkey = nk;
		x->keys = keys;
		Rel *ix = &r[k++];
		size_t ln = strlen(x->name) + 6;
		char *inm = arena_alloc(a, ln);
		if (inm == NULL)
			return ERR_NOMEM;
		snprintf(inm, ln, "%s_pkey", x->name);
		*ix = (Rel){x->schema, inm, 'i', nk, kcols, systab_rel_oid(x->schema, inm), NULL,
			    nk, keys, x->oid, x->name, NULL};
	}
	for (int i = 0; i < NCOLS(systabs); i++) {
		Rel *x = &r[k++];
		x->schema = systabs[i].schema;
		x->name = systabs[i].name;
		x->kind = systabs[i].kind;
		x->cols = systabs[i].cols;
		x->ncols = systabs[i].ncols;
		x->oid = systab_rel_oid(x->schema, x->name);
	}
	*out = r;
	*nout = k;
	return 0;
}

/* The relation named (schema NULL: public, then pg_catalog) into
 * schema/name buffers; its OID, or 0 when there is none. */
int32_t
systab_rel_by_name(Catalog *cat, const char *schema, const char *name)
{
	if (schema == NULL || strcasecmp(schema, "public") == 0) {
		Table *t = cat ? catalog_get_table(cat, name) : NULL;
		if (t != NULL) {
			int32_t oid = systab_rel_oid("public", table_name(t));
			table_unref(t);
			return oid;
		}
		if (schema != NULL)
			return 0;
	} else if (strcasecmp(schema, "sys") == 0 && cat != NULL) {
		char full[512];
		snprintf(full, sizeof(full), "sys.%s", name);
		Table *t = catalog_get_table(cat, full);
		if (t != NULL) {
			table_unref(t);
			return systab_rel_oid("sys", name);
		}
	}
	const SysTab *st = systab_find(schema, name);
	if (st != NULL)
		return systab_rel_oid(st->schema, st->name);
	/* a primary key's index, "<table>_pkey" */
	size_t ln = strlen(name);
	if (cat != NULL && ln > 5 && ln < 500 && strcmp(name + ln - 5, "_pkey") == 0) {
		char tn[512];
		snprintf(tn, sizeof(tn), "%s%s%.*s", schema && strcasecmp(schema, "public") != 0 ? schema : "",
			 schema && strcasecmp(schema, "public") != 0 ? "." : "", (int)(ln - 5), name);
		Table *t = catalog_get_table(cat, tn);
		if (t != NULL) {
			const Schema *sc = table_schema(t);
			int haspk = sc != NULL && sc->npk > 0;
			table_unref(t);
			if (haspk)
				return systab_rel_oid(schema ? schema : "public", name);
		}
	}
	return 0;
}

int
systab_rel_by_oid(Catalog *cat, int32_t oid, char *schema, size_t scap, char *name, size_t ncap,
		  int64_t *bytes)
{
	Table **tabs = NULL;
	int n = 0, found = 0;
	if (cat == NULL || catalog_tables(cat, &tabs, &n) != 0)
		n = 0;
	Arena a;
	arena_init(&a, 4096);
	Rel *rels;
	int nrels;
	if (list_rels(tabs, n, &a, &rels, &nrels) == 0) {
		for (int i = 0; i < nrels && !found; i++) {
			if (rels[i].oid != oid)
				continue;
			found = 1;
			snprintf(schema, scap, "%s", rels[i].schema);
			snprintf(name, ncap, "%s", rels[i].name);
			if (bytes != NULL) {
				TableStats st;
				memset(&st, 0, sizeof(st));
				if (rels[i].t)
					table_stats(rels[i].t, &st);
				*bytes = (int64_t)st.bytes;
			}
		}
	}
	arena_free(&a);
	for (int i = 0; i < n; i++)
		table_unref(tabs[i]);
	mem_free(tabs);
	return found;
}

/* pg_get_indexdef / pg_get_constraintdef of a primary key (see "primary
 * keys" above): oid is the index's (col 0: its CREATE INDEX, col k > 0:
 * its k-th column's name) or the constraint's (col -1: "PRIMARY KEY (a,
 * b)").  0, or -1 when oid is neither. */
int
systab_index_def(Catalog *cat, int32_t oid, int col, char *out, size_t cap)
{
	Table **tabs = NULL;
	int n = 0, rc = -1;
	if (cat == NULL || catalog_tables(cat, &tabs, &n) != 0)
		n = 0;
	Arena a;
	arena_init(&a, 4096);
	Rel *rels;
	int nrels;
	if (list_rels(tabs, n, &a, &rels, &nrels) == 0) {
		for (int i = 0; i < nrels && rc != 0; i++) {
			const Rel *r = &rels[i];
			if (r->kind != 'i' || (col >= 0 && r->oid != oid) ||
			    (col < 0 && systab_rel_oid("pg_constraint", r->name) != oid))
				continue;
			if (col > r->nkey)
				break;
			Buf d;
			buf_init(&d);
			key_def(&d, r, col);
			if (!d.oom && d.p != NULL) {
				snprintf(out, cap, "%s", d.p);
				rc = 0;
			}
			buf_free(&d);
			break;
		}
	}
	arena_free(&a);
	for (int i = 0; i < n; i++)
		table_unref(tabs[i]);
	mem_free(tabs);
	return rc;
}

#define SYSTAB_MAX_COLS 64

int
systab_build(const SysTab *st, Catalog *cat, const char *user, const char *db, MutSeg **out, Err *e)
{
	ColDesc cd[SYSTAB_MAX_COLS];
	if (st->ncols > SYSTAB_MAX_COLS)
		return err_set(e, ERR_INTERNAL, "system table %s has too many columns", st->name);
	for (int i = 0; i < st->ncols; i++)
		cd[i] = (ColDesc){st->cols[i].type, st->cols[i].mv};
	Table **tabs = NULL;
	int n = 0;
	int rc = catalog_tables(cat, &tabs, &n);
	if (rc != 0)
		return err_set(e, rc, "cannot list tables");
	MutSeg *s = mutseg_create(st->ncols, cd);
	RowBatch b;
	rowbatch_init(&b, st->ncols);
	if (s == NULL)
		rc = err_set(e, ERR_NOMEM, "building %s.%s", st->schema, st->name);
	if (st->build_all && rc == 0)
		rc = st->build_all(&b, e);
	for (int i = 0; st->build && i < n && rc == 0; i++)
		rc = st->build(tabs[i], &b, e);
	if (st->build_cx && rc == 0) {
		SysCx x = {NULL, 0, user ? user : "waybill", db ? db : "waybill", &b.arena};
		if (list_rels(tabs, n, &b.arena, &x.rels, &x.nrels) != 0)
			rc = err_set(e, ERR_NOMEM, "building %s.%s", st->schema, st->name);
		else
			rc = st->build_cx(&x, &b, e);
	}
	if (rc == 0 && b.nrows > 0 && (rc = mutseg_append(s, &b, e)) == 0)
		mutseg_publish(s);
	rowbatch_free(&b);
	for (int i = 0; i < n; i++)
		table_unref(tabs[i]);
	mem_free(tabs);
	if (rc != 0) {
		mutseg_free(s);
		return rc;
	}
	*out = s;
	return 0;
}
