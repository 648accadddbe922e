/*
 * cmd_demo.c -- `waybill demo`: a server on a fresh data directory with
 * example tables loaded, and example queries printed as curl lines.
 *
 * Tables: `order_events`, an embedded, generated stream of retail order
 * events across services, and `stores`, a small dimension table of the
 * stores those orders come from (always available); and, when Pinot's examples
 * are found (--examples DIR, $WB_SHARED/pinot-examples, or
 * ../shared/pinot-examples next to the repository), airlineStats (Avro),
 * starbucksStores, billing, clickstreamFunnel, dimBaseballTeams (CSV) and
 * clientSalaryNulls (Avro), loaded unchanged through the same catalog and
 * push path the HTTP API uses.
 *
 * Exports: cmd_demo.
 */
#define _GNU_SOURCE
#include "cli/cmd.h"
#include "cli/cmd_serve.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "ingest/avroread.h"
#include "ingest/push.h"

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct DemoTable {
	const char *dir;	/* under pinot-tools-examples/batch */
	const char *name;
	const char *data;	/* glob under dir */
	DecodeFormat fmt;
	int avro;
} DemoTable;

static const DemoTable demo_tables[] = {
	{"airlineStats", "airlineStats", "rawdata/2014/01/*/*.avro", DECODE_NDJSON, 1},
	{"starbucksStores", "starbucksStores", "rawdata/data.csv", DECODE_CSV, 0},
	{"billing", "billing", "rawdata/billing_data.csv", DECODE_CSV, 0},
	{"clickstreamFunnel", "clickstreamFunnel", "rawdata/clickstreamFunnel_data.csv", DECODE_CSV, 0},
	{"dimBaseballTeams", "dimBaseballTeams", "rawdata/dimBaseballTeams_data.csv", DECODE_CSV, 0},
	{"clientSalaryNulls", "clientSalaryNulls", "rawdata/clientSalaryNulls_data.avro", DECODE_NDJSON, 1},
};

static const char orders_schema[] =
	"{\"schemaName\":\"order_events\",\"dimensionFieldSpecs\":["
	"{\"name\":\"order_id\",\"dataType\":\"STRING\"},"
	"{\"name\":\"service\",\"dataType\":\"STRING\"},"
	"{\"name\":\"stage\",\"dataType\":\"STRING\"},"
	"{\"name\":\"market\",\"dataType\":\"STRING\"},"
	"{\"name\":\"store_id\",\"dataType\":\"INT\"}],"
	"\"metricFieldSpecs\":[{\"name\":\"amount\",\"dataType\":\"DOUBLE\"},"
	"{\"name\":\"items\",\"dataType\":\"INT\"}],"
	"\"dateTimeFieldSpecs\":[{\"name\":\"ts\",\"dataType\":\"TIMESTAMP\","
	"\"format\":\"TIMESTAMP\",\"granularity\":\"1:MILLISECONDS\"}]}";
static const char orders_table[] =
	"{\"tableName\":\"order_events\",\"tableType\":\"REALTIME\","
	"\"segmentsConfig\":{\"schemaName\":\"order_events\",\"timeColumnName\":\"ts\",\"replication\":\"1\"},"
	"\"tableIndexConfig\":{\"invertedIndexColumns\":[\"stage\",\"service\"]},"
	"\"tenants\":{},\"metadata\":{}}";

static const char stores_schema[] =
	"{\"schemaName\":\"stores\",\"dimensionFieldSpecs\":["
	"{\"name\":\"store_id\",\"dataType\":\"INT\"},"
	"{\"name\":\"city\",\"dataType\":\"STRING\"},"
	"{\"name\":\"region\",\"dataType\":\"STRING\"}],"
	"\"primaryKeyColumns\":[\"store_id\"]}";
static const char stores_table[] =
	"{\"tableName\":\"stores\",\"tableType\":\"OFFLINE\",\"isDimTable\":true,"
	"\"segmentsConfig\":{\"schemaName\":\"stores\",\"replication\":\"1\"},"
	"\"tenants\":{},\"metadata\":{}}";

typedef struct Demo {
	const char *examples;
	int loaded;
} Demo;

static int
load_body(Catalog *cat, const char *table, DecodeFormat fmt, const char *data, size_t len,
	  uint64_t *accepted, Err *e)
{
	Table *t = catalog_get_table(cat, table);
	if (t == NULL)
		return err_set(e, ERR_NOT_FOUND, "table %s missing", table);
	PushJob *j;
	int rc = push_begin(cat, t, fmt, NULL, "demo", &j, e);
	table_unref(t);
	if (rc)
		return rc;
	PushResult *r = mem_alloc(sizeof(PushResult));
	rc = r ? push_feed(j, data, len, e) : err_set(e, ERR_NOMEM, "demo");
	if (rc == 0)
		rc = push_finish(j, r, e);
	if (rc == 0)
		*accepted += r->accepted;
	mem_free(r);
	push_free(j);
	return rc;
}

static int
load_file(Catalog *cat, const char *table, const DemoTable *dt, const char *path,
	  uint64_t *accepted, Err *e)
{
	if (!dt->avro) {
		char *data;
		size_t len;
		int rc = file_read_all(path, &data, &len, e);
		if (rc == 0)
			rc = load_body(cat, table, dt->fmt, data, len, accepted, e);
		mem_free(data);
		return rc;
	}
	AvroRead *ar;
	int rc = avroread_open(path, &ar, e);
	if (rc)
		return rc;
	Buf body, line;
	buf_init(&body);
	buf_init(&line);
	int r;
	while ((r = avroread_next(ar, &line, e)) == 1) {
		buf_append(&body, line.p, line.len);
		buf_putc(&body, '\n');
	}
	buf_free(&line);
	avroread_close(ar);
	if (r < 0) {
		buf_free(&body);
		return r;
	}
	rc = load_body(cat, table, DECODE_NDJSON, body.p ? body.p : "", body.len, accepted, e);
	buf_free(&body);
	return rc;
}

static int
create_from_files(Catalog *cat, const char *dir, const char *name, Err *e)
{
	char pat[PATH_MAX];
	glob_t g;
	int rc = 0;
	snprintf(pat, sizeof(pat), "%s/%s_schema.json", dir, name);
	char *json;
	size_t len;
	if ((rc = file_read_all(pat, &json, &len, e)) != 0)
		return rc;
	rc = catalog_put_schema(cat, json, len, 1, NULL, e);
	mem_free(json);
	if (rc)
		return rc;
	snprintf(pat, sizeof(pat), "%s/%s_*table_config.json", dir, name);
	if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc == 0)
		return err_set(e, ERR_NOT_FOUND, "no table config matches %s", pat);
	rc = file_read_all(g.gl_pathv[0], &json, &len, e);
	globfree(&g);
	if (rc)
		return rc;
	rc = catalog_put_table(cat, json, len, 0, NULL, NULL, e);
	mem_free(json);
	return rc;
}

static void
gen_orders(Catalog *cat)
{
	static const char *services[] = {"order", "payment", "inventory", "picking", "packing",
					 "dispatch", "delivery"};
	static const char *stages[] = {"created", "paid", "reserved", "picked", "packed",
				       "dispatched", "delivered"};
	static const char *markets[] = {"US", "CA", "MX"};
	Err e = {0};
	if (catalog_put_schema(cat, orders_schema, sizeof(orders_schema) - 1, 1, NULL, &e) != 0 ||
	    catalog_put_table(cat, orders_table, sizeof(orders_table) - 1, 0, NULL, NULL, &e) != 0) {
		log_error("demo: order_events: %s", err_msg(&e));
		return;
	}
	Buf b;
	buf_init(&b);
	uint64_t seed = 42, accepted = 0;
	int64_t t0 = clock_wall_ms() - 6 * 3600 * 1000;
	for (int o = 0; o < 20000; o++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		int last = (int)((seed >> 33) % 7);
		const char *market = markets[(seed >> 20) % 3];
		int store = (int)((seed >> 40) % 50) + 1;
		double amount = (double)((seed >> 10) % 20000) / 100.0;
		for (int s = 0; s <= last; s++) {
			buf_printf(&b, "{\"order_id\":\"o-%06d\",\"service\":\"%s\",\"stage\":\"%s\","
				       "\"market\":\"%s\",\"store_id\":%d,\"amount\":%.2f,\"items\":%d,"
				       "\"ts\":%lld}\n",
				   o, services[s], stages[s], market, store, amount, 1 + o % 5,
				   (long long)(t0 + (int64_t)o * 1000 + (int64_t)s * 600000));
		}
	}
	if (load_body(cat, "order_events", DECODE_NDJSON, b.p, b.len, &accepted, &e) != 0)
		log_error("demo: order_events: %s", err_msg(&e));
	else
		fprintf(stderr, "  order_events       %8llu rows (generated)\n", (unsigned long long)accepted);
	/* the 50 stores, in cities of the three markets' regions */
	static const char *cities[] = {"Seattle", "Austin", "Boston", "Toronto", "Vancouver", "Monterrey",
				       "Guadalajara"};
	static const char *regions[] = {"US-West", "US-South", "US-East", "CA-East", "CA-West", "MX-North",
					"MX-West"};
	buf_reset(&b);
	accepted = 0;
	for (int s = 1; s <= 50; s++)
		buf_printf(&b, "{\"store_id\":%d,\"city\":\"%s\",\"region\":\"%s\"}\n", s, cities[s % 7],
			   regions[s % 7]);
	if (catalog_put_schema(cat, stores_schema, sizeof(stores_schema) - 1, 1, NULL, &e) != 0 ||
	    catalog_put_table(cat, stores_table, sizeof(stores_table) - 1, 0, NULL, NULL, &e) != 0 ||
	    load_body(cat, "stores", DECODE_NDJSON, b.p, b.len, &accepted, &e) != 0)
		log_error("demo: stores: %s", err_msg(&e));
	else
		fprintf(stderr, "  stores             %8llu rows (generated dimension table)\n",
			(unsigned long long)accepted);
	buf_free(&b);
}

static void
on_ready(void *ctx, const char *url, Catalog *cat)
{
	Demo *d = ctx;
	fprintf(stderr, "\nLoading demo tables...\n");
	gen_orders(cat);
	if (d->examples) {
		for (size_t i = 0; i < sizeof(demo_tables) / sizeof(demo_tables[0]); i++) {
			const DemoTable *dt = &demo_tables[i];
			char dir[PATH_MAX], pat[PATH_MAX];
			snprintf(dir, sizeof(dir), "%s/pinot-tools-examples/batch/%s", d->examples, dt->dir);
			Err e = {0};
			if (create_from_files(cat, dir, dt->name, &e) != 0) {
				log_warn("demo: %s: %s", dt->name, err_msg(&e));
				continue;
			}
			snprintf(pat, sizeof(pat), "%s/%s", dir, dt->data);
			glob_t g;
			uint64_t accepted = 0;
			if (glob(pat, 0, NULL, &g) == 0) {
				for (size_t k = 0; k < g.gl_pathc; k++) {
					if (load_file(cat, dt->name, dt, g.gl_pathv[k], &accepted, &e) != 0) {
						log_warn("demo: %s: %s", g.gl_pathv[k], err_msg(&e));
						err_clear(&e);
					}
				}
				globfree(&g);
			}
			fprintf(stderr, "  %-18s %8llu rows (Pinot example)\n", dt->name,
				(unsigned long long)accepted);
		}
	} else {
		fprintf(stderr, "  (Pinot's examples were not found; pass --examples DIR to load them)\n");
	}
	printf("\nWaybill demo is ready at %s\nTry:\n\n", url);
	printf("  curl -s %s/tables\n", url);
	printf("  curl -s -X POST %s/query/sql -H 'Content-Type: application/json' -d '{\"sql\": \"SELECT stage, count(*) FROM order_events GROUP BY stage ORDER BY count(*) DESC\"}'\n", url);
	printf("  curl -s -X POST %s/query/sql -H 'Content-Type: application/json' -d '{\"sql\": \"SELECT market, count(DISTINCT order_id) AS orders, sum(amount) FROM order_events WHERE stage = '\"'\"'created'\"'\"' GROUP BY market\"}'\n", url);
	if (d->examples) {
		printf("  curl -s -X POST %s/query/sql -H 'Content-Type: application/json' -d '{\"sql\": \"SELECT Carrier, count(*), avg(ArrDelay) FROM airlineStats GROUP BY Carrier ORDER BY count(*) DESC LIMIT 5\"}'\n", url);
		printf("  build/waybill sql \"SELECT count(*) FROM starbucksStores\" --server %s\n", url);
	}
	printf("  build/waybill sql \"SELECT date_trunc('hour', ts) AS hour, count(*) AS events, count(DISTINCT order_id) AS orders FROM order_events WHERE ts >= now() - INTERVAL '3 hours' GROUP BY 1 ORDER BY 1\" --server %s\n", url);
	printf("  build/waybill sql \"SELECT * FROM sys.tables\" --server %s\n", url);
	printf("\nPress Ctrl-C to stop.\n");
	fflush(stdout);
}

static const char *
find_examples(const char *given)
{
	static char buf[PATH_MAX];
	if (given)
		return given;
	const char *env = getenv("WB_SHARED");
	if (env) {
		snprintf(buf, sizeof(buf), "%s/pinot-examples", env);
		if (file_exists(buf))
			return buf;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* <repo>/build/waybill -> <repo>/../shared/pinot-examples */
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(exe, '/');
			if (slash)
				*slash = '\0';
		}
		snprintf(buf, sizeof(buf), "%s/../shared/pinot-examples", exe);
		if (file_exists(buf))
			return buf;
	}
	return NULL;
}

int
cmd_demo(int argc, char **argv)
{
	ServerOpts o;
	server_opts_init(&o);
	Demo d = {0};
	const char *examples = NULL;
	int fresh = 1;
	Err e = {0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			puts("usage: waybill demo [--data-dir DIR] [--http HOST:PORT] [--examples DIR]");
			return 0;
		}
		if (strcmp(argv[i], "--examples") == 0 && i + 1 < argc) {
			examples = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--data-dir") == 0)
			fresh = 0;
		if (cmd_serve_parse(argc, argv, &o, &i, &e) != 0) {
			fprintf(stderr, "waybill demo: %s\n", err_msg(&e));
			return 2;
		}
	}
	char tmpl[] = "/tmp/waybill-demo-XXXXXX";
	if (fresh) {
		if (mkdtemp(tmpl) == NULL) {
			perror("waybill demo: mkdtemp");
			return 1;
		}
		o.data_dir = tmpl;
	}
	d.examples = find_examples(examples);
	o.on_ready = on_ready;
	o.ctx = &d;
	fprintf(stderr, "waybill demo: data directory %s\n", o.data_dir);
	int rc = server_run(&o, &e);
	if (fresh)
		file_remove_tree(tmpl, NULL);
	if (rc) {
		fprintf(stderr, "waybill demo: %s\n", err_msg(&e));
		return 1;
	}
	return 0;
}
