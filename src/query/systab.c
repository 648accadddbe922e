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
 * Exports: systab_find, systab_id, systab_get, systab_name, systab_ncols,
 * systab_cols, systab_build.
 */
#include "query/systab.h"
#include "query/qlog.h"
#include "base/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef int (*SysBuildFn)(Table *t, RowBatch *b, Err *e);

struct SysTab {
	const char *name;	/* without the "sys." */
	const BindCol *cols;
	int ncols;
	SysBuildFn build;	/* rows of one table, or NULL */
	int (*build_all)(RowBatch *b, Err *e);	/* rows not tied to tables */
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

static const SysTab systabs[] = {
	{"tables", tables_cols, NCOLS(tables_cols), tables_build, NULL},
	{"segments", segments_cols, NCOLS(segments_cols), segments_build, NULL},
	{"queries", queries_cols, NCOLS(queries_cols), NULL, queries_build},
	{"ingestion", ingestion_cols, NCOLS(ingestion_cols), ingestion_build, NULL},
};

const SysTab *
systab_find(const char *schema, const char *table)
{
	if (schema == NULL || table == NULL || strcasecmp(schema, "sys") != 0)
		return NULL;
	for (int i = 0; i < NCOLS(systabs); i++)
		if (strcasecmp(systabs[i].name, table) == 0)
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
int systab_ncols(const SysTab *t) { return t->ncols; }
const BindCol *systab_cols(const SysTab *t) { return t->cols; }

int
systab_build(const SysTab *st, Catalog *cat, MutSeg **out, Err *e)
{
	ColDesc cd[32];
	if (st->ncols > 32)
		return err_set(e, ERR_INTERNAL, "system table %s has too many columns", st->name);
	for (int i = 0; i < st->ncols; i++)
		cd[i] = (ColDesc){st->cols[i].type, 0};
	Table **tabs = NULL;
	int n = 0;
	int rc = catalog_tables(cat, &tabs, &n);
	if (rc != 0)
		return err_set(e, rc, "cannot list tables");
	MutSeg *s = mutseg_create(st->ncols, cd);
	RowBatch b;
	rowbatch_init(&b, st->ncols);
	if (s == NULL)
		rc = err_set(e, ERR_NOMEM, "building sys.%s", st->name);
	if (st->build_all && rc == 0)
		rc = st->build_all(&b, e);
	for (int i = 0; st->build && i < n && rc == 0; i++)
		rc = st->build(tabs[i], &b, e);
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
