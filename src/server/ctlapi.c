/*
 * ctlapi.c -- Pinot's controller API over the catalog: schemas and table
 * configs, with Pinot's JSON shapes (status messages,
 * unrecognizedProperties, {"OFFLINE": cfg} for GET /tables/x) and error
 * bodies {"code": N, "error": "..."} whose status comes from the error
 * table.
 *
 * Also forceCommit (seal now), the segment list, and /health reporting
 * quarantined data.
 *
 * Exports: the ctlapi_* handlers declared in server_int.h.
 */
#include "server/server_int.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/metric.h"

#include <inttypes.h>
#include <stdio.h>

#include <string.h>
#include <strings.h>

static Catalog *
cat_of(void *app)
{
	return ((ServerApp *)app)->cat;
}

static void
status_json(HttpResp *resp, const char *unrecognized, const char *fmt, const char *a,
	    const char *b)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	resp->status = 200;
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{");
	if (unrecognized) {
		buf_puts(&resp->body, "\"unrecognizedProperties\":");
		buf_puts(&resp->body, unrecognized);
		buf_puts(&resp->body, ",");
	}
	buf_puts(&resp->body, "\"status\":");
	buf_json_str(&resp->body, msg, strlen(msg));
	buf_puts(&resp->body, "}");
}

/* GET /health: "OK" while the server serves.  Quarantined data (damaged
 * segment files, damaged log bytes set aside) does not stop serving, so
 * the status stays 200, but each one is listed after the first line,
 * "OK (degraded: N quarantined)", so an operator's check sees it. */
static void
not_found(HttpResp *resp, const char *name)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "Table %s not found", name);
	http_error(resp, 404, msg);
}

/* The table named by the route's first parameter (referenced), or NULL
 * after answering 404. */
static Table *
table_of(void *app, HttpReq *req, HttpResp *resp)
{
	const char *name = http_param(req, 0);
	Table *t = catalog_get_table(cat_of(app), name);
	if (t == NULL)
		not_found(resp, name);
	return t;
}

void
ctlapi_health(void *app, HttpReq *req, HttpResp *resp)
{
	ServerApp *a = app;
	resp->status = 200;
	resp->content_type = "text/plain";
	Table **tabs;
	int n, bad = 0;
	Buf lines;
	buf_init(&lines);
	if (catalog_tables(a->cat, &tabs, &n) == 0) {
		for (int i = 0; i < n; i++) {
			SegInfo *si;
			int ns;
			Err e = {0};
			if (table_segment_info(tabs[i], &si, &ns, &e) == 0) {
				for (int k = 0; k < ns; k++) {
					if (strcmp(si[k].state, "QUARANTINED") != 0)
						continue;
					bad++;
					buf_printf(&lines, "quarantined: table %s partition %d segment %s (%s): %s\n",
						   table_name(tabs[i]), si[k].partition, si[k].name, si[k].path,
						   si[k].reason[0] ? si[k].reason : "damaged");
				}
				mem_free(si);
			}
			table_unref(tabs[i]);
		}
		mem_free(tabs);
	}
	if (bad == 0)
		buf_puts(&resp->body, "OK");
	else
		buf_printf(&resp->body, "OK (degraded: %d quarantined)\n%.*s", bad, (int)lines.len,
			   lines.p ? lines.p : "");
	buf_free(&lines);
}

/* POST /tables/{name}/forceCommit: seals every partition's mutable
 * segment and answers once the segment files are durable (Pinot answers
 * with a job id at once; here the job is done when the answer comes). */
void
ctlapi_force_commit(void *app, HttpReq *req, HttpResp *resp)
{
	Table *t = table_of(app, req, resp);
	if (t == NULL)
		return;
	TableStats after;
	Err e = {0};
	int rc = table_seal(t, &e);
	table_stats(t, &after);
	if (rc) {
		http_err(resp, &e);
	} else {
		buf_printf(&resp->body, "{\"forceCommitJobId\":\"%s-%lld\",\"forceCommitStatus\":\"SUCCESS\","
			   "\"numRows\":%zu}", table_name(t), (long long)clock_wall_ms(), after.rows);
	}
	table_unref(t);
}

/* GET /segments/{name}: the table's segment names, in Pinot's shape
 * [{"OFFLINE"|"REALTIME": [names]}]. */
void
ctlapi_list_segments(void *app, HttpReq *req, HttpResp *resp)
{
	Table *t = table_of(app, req, resp);
	if (t == NULL)
		return;
	SegInfo *si;
	int n;
	Err e = {0};
	if (table_segment_info(t, &si, &n, &e) != 0) {
		http_err(resp, &e);
		table_unref(t);
		return;
	}
	const char *type = table_config_of(t, TABLE_REALTIME) ? "REALTIME" : "OFFLINE";
	buf_printf(&resp->body, "[{\"%s\":[", type);
	int first = 1;
	for (int i = 0; i < n; i++) {
		if (strcmp(si[i].state, "QUARANTINED") == 0)
			continue;
		if (!first)
			buf_putc(&resp->body, ',');
		first = 0;
		buf_json_str(&resp->body, si[i].name, strlen(si[i].name));
	}
	buf_puts(&resp->body, "]}]");
	mem_free(si);
	table_unref(t);
}

/* The per-partition gauges of stream sources, named after Pinot's
 * (REALTIME_INGESTION_OFFSET_LAG, REALTIME_INGESTION_DELAY_MS). */
/* Per upsert table: its key index. */
static void
upsert_gauges(Buf *b, Table **tabs, int n)
{
	static const struct {
		const char *name, *help, *type;
	} g[] = {
		{"waybill_upsert_keys", "Primary keys in the upsert key index (deleted ones included).", "gauge"},
		{"waybill_upsert_deleted_keys", "Keys whose latest version is a delete.", "gauge"},
		{"waybill_upsert_index_bytes", "Memory of the upsert key index.", "gauge"},
		{"waybill_upsert_out_of_order_rows_total", "Rows that arrived older than their key's latest version.", "counter"},
		{"waybill_upsert_hash_collisions_total", "Distinct keys that shared a 64-bit hash (kept apart).", "counter"},
	};
	TableUpsertStats *st = mem_calloc((size_t)n + 1, sizeof(TableUpsertStats));
	int *on = mem_calloc((size_t)n + 1, sizeof(int));
	if (st == NULL || on == NULL) {
		mem_free(st);
		mem_free(on);
		return;
	}
	for (int i = 0; i < n; i++)
		on[i] = table_upsert_stats(tabs[i], &st[i]);
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		int head = 0;
		for (int i = 0; i < n; i++) {
			if (!on[i])
				continue;
			if (!head++)
				buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", g[k].name, g[k].help, g[k].name,
					   g[k].type);
			uint64_t v = k == 0 ? st[i].keys : k == 1 ? st[i].deleted : k == 2 ? st[i].index_bytes
				   : k == 3 ? st[i].out_of_order : st[i].collisions;
			buf_printf(b, "%s{table=", g[k].name);
			buf_json_str(b, table_name(tabs[i]), strlen(table_name(tabs[i])));
			buf_printf(b, "} %" PRIu64 "\n", v);
		}
	}
	mem_free(st);
	mem_free(on);
}

static void
ingest_gauges(Buf *b, Table **tabs, int n)
{
	static const struct {
		const char *name, *help;
	} g[] = {
		{"waybill_realtime_ingestion_offset_lag", "Messages of a Kafka partition not consumed yet."},
		{"waybill_realtime_ingestion_delay_ms", "Age of the newest consumed message while behind (0 when caught up)."},
		{"waybill_realtime_ingestion_freshness_ms", "Produce-to-visible time of the last batch (its oldest message)."},
		{"waybill_realtime_ingestion_freshness_p99_ms", "p99 of the produce-to-visible time over the last 1,024 batches."},
		{"waybill_realtime_ingestion_consuming_offset", "The next offset to consume."},
		{"waybill_realtime_ingestion_messages_per_second", "Messages consumed per second (last seconds)."},
		{"waybill_realtime_ingestion_rows_total", "Rows added from the partition since the server started."},
		{"waybill_realtime_ingestion_dead_letters_total", "Bad messages of the partition since the server started."},
		{"waybill_realtime_ingestion_consuming", "1 while consuming, 0 when paused or failing."},
	};
	IngestStat *st[64];
	int ns[64];
	int nt = n < 64 ? n : 64;
	for (int i = 0; i < nt; i++)
		if (table_ingest_get(tabs[i], &st[i], &ns[i]) != 0)
			ns[i] = 0;
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		int head = 0;
		for (int i = 0; i < nt; i++) {
			for (int j = 0; j < ns[i]; j++) {
				const IngestStat *x = &st[i][j];
				if (!head++)
					buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", g[k].name, g[k].help, g[k].name,
						   k == 6 || k == 7 ? "counter" : "gauge");
				buf_printf(b, "%s{table=", g[k].name);
				buf_json_str(b, table_name(tabs[i]), strlen(table_name(tabs[i])));
				buf_printf(b, ",partition=\"%d\"} ", x->partition);
				switch (k) {
				case 0: buf_printf(b, "%" PRId64 "\n", x->lag); break;
				case 1: buf_printf(b, "%" PRId64 "\n", x->delay_ms); break;
				case 2: buf_printf(b, "%" PRId64 "\n", x->freshness_ms); break;
				case 3: buf_printf(b, "%" PRId64 "\n", x->freshness_p99_ms); break;
				case 4: buf_printf(b, "%" PRId64 "\n", x->offset); break;
				case 5: buf_printf(b, "%.1f\n", x->msgs_per_s); break;
				case 6: buf_printf(b, "%" PRIu64 "\n", x->rows); break;
				case 7: buf_printf(b, "%" PRIu64 "\n", x->dead_letters); break;
				default: buf_printf(b, "%d\n", strcmp(x->state, "CONSUMING") == 0); break;
				}
			}
		}
	}
	for (int i = 0; i < nt; i++)
		mem_free(ns[i] ? st[i] : NULL);
}

/* GET /metrics: the counters of metrics.def, then gauges read now: memory,
 * per-table rows and bytes, and the stream sources' per partition. */
void
ctlapi_metrics(void *app, HttpReq *req, HttpResp *resp)
{
	ServerApp *a = app;
	resp->content_type = "text/plain; version=0.0.4";
	metric_render(&resp->body);
	Buf *b = &resp->body;
	buf_printf(b, "# HELP waybill_memory_allocated_bytes Bytes allocated through Waybill's allocator.\n"
		      "# TYPE waybill_memory_allocated_bytes gauge\nwaybill_memory_allocated_bytes %zu\n",
		   mem_used());
	buf_printf(b, "# HELP waybill_ingest_memory_bytes Bytes held by push-ingestion jobs (limit: waybill_ingest_memory_limit_bytes).\n"
		      "# TYPE waybill_ingest_memory_bytes gauge\nwaybill_ingest_memory_bytes %zu\n"
		      "# HELP waybill_ingest_memory_limit_bytes The ingestion memory limit.\n"
		      "# TYPE waybill_ingest_memory_limit_bytes gauge\nwaybill_ingest_memory_limit_bytes %zu\n",
		   atomic_load(&a->ingest_mem.used), a->ingest_mem.limit);
	Table **tabs;
	int n;
	if (catalog_tables(a->cat, &tabs, &n) != 0)
		return;
	buf_puts(b, "# HELP waybill_table_rows Rows stored in a table.\n# TYPE waybill_table_rows gauge\n");
	for (int i = 0; i < n; i++) {
		TableStats st;
		table_stats(tabs[i], &st);
		buf_puts(b, "waybill_table_rows{table=");
		buf_json_str(b, table_name(tabs[i]), strlen(table_name(tabs[i])));
		buf_printf(b, "} %zu\n", st.rows);
	}
	buf_puts(b, "# HELP waybill_table_bytes Bytes used by a table's data in memory.\n# TYPE waybill_table_bytes gauge\n");
	for (int i = 0; i < n; i++) {
		TableStats st;
		table_stats(tabs[i], &st);
		buf_puts(b, "waybill_table_bytes{table=");
		buf_json_str(b, table_name(tabs[i]), strlen(table_name(tabs[i])));
		buf_printf(b, "} %zu\n", st.bytes);
	}
	ingest_gauges(b, tabs, n);
	upsert_gauges(b, tabs, n);
	for (int i = 0; i < n; i++)
		table_unref(tabs[i]);
	mem_free(tabs);
}

void
ctlapi_list_schemas(void *app, HttpReq *req, HttpResp *resp)
{
	catalog_list_schemas(cat_of(app), &resp->body);
}

static int
flag(HttpReq *req, const char *name)
{
	const char *v = http_query(req, name);
	return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void
put_schema(void *app, HttpReq *req, HttpResp *resp, int replace, const char *expect)
{
	size_t len;
	const char *body = http_body(req, &len);
	Err e = {0};
	int rc = catalog_put_schema(cat_of(app), body, len, replace, expect, &e);
	if (rc) {
		http_err(resp, &e);
		return;
	}
	const char *name = expect;
	char tmp[256] = "";
	if (name == NULL) {
		/* find the schemaName in the body the catalog accepted */
		Err e2 = {0};
		Schema *parsed;
		if (schema_parse(body, len, &parsed, &e2) == 0) {
			snprintf(tmp, sizeof(tmp), "%s", parsed->name);
			schema_unref(parsed);
		}
		name = tmp;
	}
	status_json(resp, "{}", "%s successfully added%s", name, "");
}

void
ctlapi_post_schema(void *app, HttpReq *req, HttpResp *resp)
{
	put_schema(app, req, resp, flag(req, "override") || flag(req, "force"), NULL);
}

void
ctlapi_put_schema(void *app, HttpReq *req, HttpResp *resp)
{
	put_schema(app, req, resp, 1, http_param(req, 0));
}

void
ctlapi_get_schema(void *app, HttpReq *req, HttpResp *resp)
{
	Schema *s = catalog_get_schema(cat_of(app), http_param(req, 0));
	if (s == NULL) {
		char msg[512];
		snprintf(msg, sizeof(msg), "Schema %s not found", http_param(req, 0));
		http_error(resp, 404, msg);
		return;
	}
	buf_puts(&resp->body, s->json);
	schema_unref(s);
}

void
ctlapi_delete_schema(void *app, HttpReq *req, HttpResp *resp)
{
	Err e = {0};
	const char *name = http_param(req, 0);
	if (catalog_delete_schema(cat_of(app), name, &e) != 0) {
		http_err(resp, &e);
		return;
	}
	status_json(resp, NULL, "Schema %s deleted%s", name, NULL);
}

void
ctlapi_list_tables(void *app, HttpReq *req, HttpResp *resp)
{
	buf_puts(&resp->body, "{\"tables\":");
	catalog_list_tables(cat_of(app), &resp->body);
	buf_puts(&resp->body, "}");
}

static void
put_table(void *app, HttpReq *req, HttpResp *resp, int replace, const char *expect)
{
	size_t len;
	const char *body = http_body(req, &len);
	Err e = {0};
	char *unrec = NULL;
	/* what ingestion will do with the config (transforms, stream
	 * settings, decoder) is checked before the table exists */
	TableConfig *pre;
	if (tblconfig_parse(body, len, &pre, &e) == 0) {
		Schema *sc = catalog_get_schema(cat_of(app), pre->schema_name);
		int bad = sc ? streamset_check(((ServerApp *)app)->streams, pre, sc, &e) : 0;
		schema_unref(sc);
		tblconfig_free(pre);
		if (bad) {
			http_err(resp, &e);
			return;
		}
	}
	err_clear(&e);
	int rc = catalog_put_table(cat_of(app), body, len, replace, expect, &unrec, &e);
	if (rc) {
		http_err(resp, &e);
		return;
	}
	TableConfig *cfg;
	Err e2 = {0};
	char name[512] = "";
	if (tblconfig_parse(body, len, &cfg, &e2) == 0) {
		snprintf(name, sizeof(name), "%s_%s", cfg->name, tblconfig_type_name(cfg->type));
		tblconfig_free(cfg);
	}
	status_json(resp, unrec ? unrec : "{}",
		    replace && expect ? "Table config updated for %s%s" : "Table %s successfully added%s",
		    name, "");
	mem_free(unrec);
	streamset_sync(((ServerApp *)app)->streams);
}

void
ctlapi_post_table(void *app, HttpReq *req, HttpResp *resp)
{
	put_table(app, req, resp, 0, NULL);
}

void
ctlapi_put_table(void *app, HttpReq *req, HttpResp *resp)
{
	put_table(app, req, resp, 1, http_param(req, 0));
}

static int
type_filter(HttpReq *req, HttpResp *resp)
{
	const char *t = http_query(req, "type");
	if (t == NULL)
		return -1;
	if (strcasecmp(t, "offline") == 0)
		return TABLE_OFFLINE;
	if (strcasecmp(t, "realtime") == 0)
		return TABLE_REALTIME;
	http_error(resp, 400, "type: must be offline or realtime");
	return -2;
}

void
ctlapi_get_table(void *app, HttpReq *req, HttpResp *resp)
{
	int type = type_filter(req, resp);
	if (type == -2)
		return;
	Table *t = table_of(app, req, resp);
	if (t == NULL)
		return;
	if (strncmp(table_name(t), "sys.", 4) == 0) {
		table_unref(t);
		not_found(resp, http_param(req, 0));
		return;
	}
	buf_putc(&resp->body, '{');
	int n = 0;
	for (int ty = 0; ty < 2; ty++) {
		const TableConfig *c = table_config_of(t, (TableType)ty);
		if (c == NULL || (type >= 0 && ty != type))
			continue;
		if (n++)
			buf_putc(&resp->body, ',');
		buf_printf(&resp->body, "\"%s\":", tblconfig_type_name((TableType)ty));
		buf_puts(&resp->body, c->json);
	}
	buf_putc(&resp->body, '}');
	table_unref(t);
}

void
ctlapi_delete_table(void *app, HttpReq *req, HttpResp *resp)
{
	int type = type_filter(req, resp);
	if (type == -2)
		return;
	Err e = {0};
	const char *name = http_param(req, 0);
	if (catalog_delete_table(cat_of(app), name, type, &e) != 0) {
		http_err(resp, &e);
		return;
	}
	streamset_sync(((ServerApp *)app)->streams);
	status_json(resp, NULL, "Tables: [%s] deleted%s", name, NULL);
}

/* POST /tables/{name}/pauseConsumption, .../resumeConsumption
 * (?consumeFrom=smallest|largest), GET .../pauseStatus: Pinot's answers. */
void
ctlapi_pause(void *app, HttpReq *req, HttpResp *resp)
{
	Err e = {0};
	if (streamset_pause(((ServerApp *)app)->streams, http_param(req, 0), &resp->body, &e) != 0)
		http_err(resp, &e);
}

void
ctlapi_resume(void *app, HttpReq *req, HttpResp *resp)
{
	Err e = {0};
	if (streamset_resume(((ServerApp *)app)->streams, http_param(req, 0),
			     http_query(req, "consumeFrom"), &resp->body, &e) != 0)
		http_err(resp, &e);
}

void
ctlapi_pause_status(void *app, HttpReq *req, HttpResp *resp)
{
	Err e = {0};
	if (streamset_pause_status(((ServerApp *)app)->streams, http_param(req, 0), &resp->body, &e) != 0)
		http_err(resp, &e);
}

void
ctlapi_get_table_schema(void *app, HttpReq *req, HttpResp *resp)
{
	Table *t = table_of(app, req, resp);
	if (t == NULL)
		return;
	buf_puts(&resp->body, table_schema(t)->json);
	table_unref(t);
}
