/*
 * cmd_demo.c -- `waybill demo`: a server on a fresh data directory with
 * example tables loaded, live simulated Kafka traffic flowing into one
 * table per microservice, and example queries printed.
 *
 * Tables: `order_events`, an embedded, generated stream of retail order
 * events across services, and `stores`, a small dimension table of the
 * stores those orders come from (always available); and, when Pinot's examples
 * are found (--examples DIR, $WB_SHARED/pinot-examples, or
 * ../shared/pinot-examples next to the repository), airlineStats (Avro),
 * starbucksStores, billing, clickstreamFunnel, dimBaseballTeams (CSV) and
 * clientSalaryNulls (Avro), loaded unchanged through the same catalog and
 * push path the HTTP API uses (ingestion transforms compiled by the SQL
 * front end, as in the server).  Such a table left by an earlier demo
 * over the same --data-dir is kept, not loaded twice.
 *
 * Live traffic (unless --no-stream): two children run the same binary
 * (/proc/self/exe), each in its own process group with its stdout and
 * stderr in DATA/demo-live/<name>.log and PR_SET_PDEATHSIG(SIGKILL), so
 * that neither outlives the demo however it ends:
 *   - `waybill devbroker` with every simulator topic declared (its mock
 *     cluster cannot create topics on request), started before the
 *     server, its address read from its bootstrap file;
 *   - after a short `waybill simulate --orders 0 --emit-configs` run has
 *     written the Pinot schema and REALTIME table config of each topic
 *     (stream settings pointing at that broker) and the items dimension,
 *     the tables are created through the catalog (a table of that name
 *     left by an earlier run over the same --data-dir is dropped first:
 *     its offsets belong to a broker that is gone), the items are loaded
 *     as a dimension table, and `waybill simulate` streams at --rate
 *     order events/s with two faults (packing slow, 1% of orders stall)
 *     and its truth log in DATA/demo-live/truth.ndjson, plus availability
 *     updates (1,000 items x 20 nodes, 2% stale) into item_availability,
 *     an upsert table keyed by (item_id, node_id); before it starts, the
 *     order flow the emit run wrote (order_flow.json, SLAs for the live
 *     time scale) is defined with PUT /flows/order, so life-cycle
 *     tracking follows the orders (print_flow shows its answers).
 * The server's stream sources pick the tables up and consume.  Once the
 * first availability updates are in (or AVAIL_WAIT_MS passed), the
 * item-availability dashboard queries are printed with their answers at
 * that moment (run in-process through cmd_sql against the server's
 * URL).  A broker, emit run or table that fails is reported with the
 * reason (the child's last log line) and the demo goes on without live
 * traffic.
 *
 * States of the live part: off | broker started (before server_run) ->
 * streaming (live_setup, from on_ready) -> watching (on_ready waits for
 * SIGINT/SIGTERM with sigtimedwait, reporting a child that exits on its
 * own) -> stopping: the simulator is stopped (SIGTERM, SIGKILL after
 * STOP_GRACE_MS; waited for), the server is asked to stop
 * (server_request_stop), and once server_run has returned the broker is
 * stopped likewise -- after the server, so its Kafka consumers do not log
 * connection errors while they shut down.  Exit code 0.
 *
 * Options of its own: --examples DIR, --no-examples, --no-stream, --rate R
 * (live order events per second); the others are `waybill serve`'s.
 *
 * Ownership: option strings are borrowed from argv; paths live in the
 * Demo on cmd_demo's stack; Bufs and file contents are freed before the
 * function that made them returns.
 *
 * Exports: cmd_demo.
 */
#define _GNU_SOURCE
#include "cli/cmd.h"
#include "cli/cmd_serve.h"
#include "cli/httpc.h"
#include "cli/simgen.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "ingest/avroread.h"
#include "ingest/push.h"
#include "query/exprc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIVE_RATE	    300		/* default order events per second */
#define LIVE_TIME_SCALE	    "600"	/* an order's life cycle in about a minute */
#define LIVE_PARTITIONS	    "1"		/* per topic */
#define BROKER_WAIT_MS	    30000	/* for the bootstrap file */
#define EMIT_WAIT_MS	    30000	/* for the --emit-configs run */
#define STOP_GRACE_MS	    10000	/* SIGTERM, then SIGKILL */
static const char *const live_faults[] = {"slow:service=packing,factor=3,extra=2500",
					  "stall:share=0.01"};
#define LIVE_FAULTS_TEXT "packing is slow (+2.5 s a message, its stage x3), 1% of orders stall"
/* the availability stream: 1,000 items x 20 nodes, 400 updates/s, 2% stale */
#define LIVE_AVAIL_RATE	    "400"
#define LIVE_NODES	    "20"
#define LIVE_AVAIL_LATE	    "0.02"
#define AVAIL_WAIT_MS	    20000	/* for the first availability rows */
#define AVAIL_WANT_ROWS	    2000	/* updates stored before the dashboard runs */

/* The dashboard over item_availability (an upsert table: the latest
 * updated_at per (item_id, node_id)) and the items dimension; also in
 * docs/item-availability.md. */
static const char *const avail_titles[] = {
	"total available quantity per category (top 10)",
	"out-of-stock (item, node) pairs per node (top 5)",
	"top departments by available value (quantity x the item's price)",
};
static const char *const avail_queries[] = {
	"SELECT LOOKUP('items', 'category', 'item_id', item_id) AS category, sum(qty) AS available "
	"FROM item_availability GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
	"SELECT node_id, count(*) AS out_of_stock FROM item_availability WHERE qty = 0 "
	"GROUP BY node_id ORDER BY 2 DESC, 1 LIMIT 5",
	"SELECT LOOKUP('items', 'department', 'item_id', item_id) AS department, "
	"round(sum(qty * LOOKUP('items', 'price', 'item_id', item_id)), 2) AS available_value "
	"FROM item_availability GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
};

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

typedef struct Child {
	pid_t pid;		/* 0: not running */
	const char *what;	/* for messages */
	char log[PATH_MAX];	/* its stdout and stderr */
} Child;

typedef struct Live {
	int on;			/* the broker started and nothing failed since */
	int streaming;		/* the simulator was started */
	double rate;
	uint64_t seed;
	int ntables;
	char dir[PATH_MAX];	/* DATA/demo-live */
	char boot[PATH_MAX];	/* the broker's bootstrap file */
	char brokers[512];
	Child broker, sim;
	int flow;		/* the order flow is defined */
} Live;

typedef struct Demo {
	const char *examples;
	int no_examples;
	Live live;
	const char *pg_host;	/* the PostgreSQL wire listener, for the hints */
	int pg_port;
} Demo;

static int
load_body(Catalog *cat, const char *table, DecodeFormat fmt, const char *data, size_t len,
	  uint64_t *accepted, Err *e)
{
	Table *t = catalog_get_table(cat, table);
	if (t == NULL)
		return err_set(e, ERR_NOT_FOUND, "table %s missing", table);
	/* the tables' ingestion transforms compile with the SQL front end */
	static const XformCompiler cc = {NULL, exprc_compile, exprc_release};
	DecodeOpts o;
	decoder_opts_init(&o);
	o.compiler = &cc;
	PushJob *j;
	int rc = push_begin(cat, t, fmt, &o, "demo", &j, e);
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

/* 1 (and says so) when an earlier demo over the same --data-dir left
 * table name: its rows are kept, not loaded twice. */
static int
kept(Catalog *cat, const char *name)
{
	Table *t = catalog_get_table(cat, name);
	if (t == NULL)
		return 0;
	table_unref(t);
	fprintf(stderr, "  %-18s (kept from the data directory)\n", name);
	return 1;
}

/* the 50 stores, in cities of the three markets' regions */
static void
gen_stores(Catalog *cat)
{
	static const char *cities[] = {"Seattle", "Austin", "Boston", "Toronto", "Vancouver", "Monterrey",
				       "Guadalajara"};
	static const char *regions[] = {"US-West", "US-South", "US-East", "CA-East", "CA-West", "MX-North",
					"MX-West"};
	if (kept(cat, "stores"))
		return;
	Err e = {0};
	Buf b;
	buf_init(&b);
	uint64_t accepted = 0;
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
gen_orders(Catalog *cat)
{
	static const char *services[] = {"order", "payment", "inventory", "picking", "packing",
					 "dispatch", "delivery"};
	static const char *stages[] = {"created", "paid", "reserved", "picked", "packed",
				       "dispatched", "delivered"};
	static const char *markets[] = {"US", "CA", "MX"};
	Err e = {0};
	if (kept(cat, "order_events")) {
		gen_stores(cat);
		return;
	}
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
	buf_free(&b);
	gen_stores(cat);
}

/* ---- live traffic: children ----------------------------------------------- */

/* Runs this binary with argv (argv[0] is a display name) as c, its output
 * in c->log.  Between fork and exec only async-signal-safe calls: the
 * server's threads may be running. */
static int
spawn(Child *c, char *const argv[], Err *e)
{
	int out = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return err_set(e, ERR_IO, "cannot create %s: %s", c->log, strerror(errno));
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		close(out);
		return err_set(e, ERR_IO, "cannot open /dev/null: %s", strerror(errno));
	}
	sigset_t none;
	sigemptyset(&none);
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		/* the server blocks these in every thread and ignores SIGPIPE;
		 * both would be inherited across exec */
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	int err = errno;
	close(in);
	close(out);
	if (pid < 0)
		return err_set(e, ERR_IO, "fork: %s", strerror(err));
	c->pid = pid;
	return 0;
}

/* 1 once c has exited (its status in *st) within ms, else 0. */
static int
reaped(Child *c, int ms, int *st)
{
	int64_t deadline = clock_mono_ns() + (int64_t)ms * 1000000;
	*st = 0;
	if (c->pid <= 0)
		return 1;
	for (;;) {
		pid_t r = waitpid(c->pid, st, WNOHANG);
		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			c->pid = 0;
			return 1;
		}
		if (clock_mono_ns() >= deadline)
			return 0;
		clock_sleep_ms(20);
	}
}

/* SIGTERM, then SIGKILL after grace_ms; waits for c either way. */
static void
child_stop(Child *c, int grace_ms)
{
	if (c->pid <= 0)
		return;
	int st;
	kill(c->pid, SIGTERM);
	if (reaped(c, grace_ms, &st))
		return;
	log_warn("demo: the %s (pid %ld) did not stop within %d s: killing it", c->what,
		 (long)c->pid, grace_ms / 1000);
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
}

/* Why a child ended: its exit status and the last line of its log. */
static void
ended(const Child *c, int st, Buf *why)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		buf_printf(why, "the %s could not be run", c->what);
	else if (WIFEXITED(st))
		buf_printf(why, "the %s exited with status %d", c->what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		buf_printf(why, "the %s was killed by signal %d", c->what, WTERMSIG(st));
	if (!WIFEXITED(st)) {
		buf_printf(why, " (log: %s)", c->log);
		return;
	}
	char *text;
	size_t len;
	Err e = {0};
	if (file_read_all(c->log, &text, &len, &e) != 0)
		return;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	size_t from = len;
	while (from > 0 && text[from - 1] != '\n')
		from--;
	if (len > from)
		buf_printf(why, ": %.*s", (int)(len - from > 300 ? 300 : len - from), text + from);
	buf_printf(why, " (log: %s)", c->log);
	mem_free(text);
}

/* The whole first line of path, once the broker has published it. */
static int
read_boot(Live *l, Err *e)
{
	int64_t deadline = clock_mono_ns() + (int64_t)BROKER_WAIT_MS * 1000000;
	for (;;) {
		FILE *f = fopen(l->boot, "r");
		if (f) {
			int got = fgets(l->brokers, sizeof(l->brokers), f) != NULL;
			fclose(f);
			l->brokers[strcspn(l->brokers, "\r\n")] = '\0';
			if (got && l->brokers[0])
				return 0;
		}
		int st;
		if (reaped(&l->broker, 0, &st)) {
			Buf why;
			buf_init(&why);
			ended(&l->broker, st, &why);
			err_set(e, ERR_IO, "%s", why.p ? why.p : "the dev broker ended");
			buf_free(&why);
			return e->code;
		}
		if (clock_mono_ns() >= deadline)
			return err_set(e, ERR_TIMEOUT,
				       "the dev broker wrote no address to %s in %d s (log: %s)",
				       l->boot, BROKER_WAIT_MS / 1000, l->broker.log);
		clock_sleep_ms(50);
	}
}

/* Starts the dev broker with every simulator topic (before the server). */
static void
live_start_broker(Live *l, const char *data_dir)
{
	Err e = {0};
	snprintf(l->dir, sizeof(l->dir), "%s/demo-live", data_dir);
	snprintf(l->boot, sizeof(l->boot), "%s/bootstrap", l->dir);
	snprintf(l->broker.log, sizeof(l->broker.log), "%s/devbroker.log", l->dir);
	snprintf(l->sim.log, sizeof(l->sim.log), "%s/simulate.log", l->dir);
	l->broker.what = "dev broker";
	l->sim.what = "simulator";
	if (file_mkdirs(l->dir, &e) != 0) {
		fprintf(stderr, "waybill demo: no live traffic: %s\n", err_msg(&e));
		return;
	}
	unlink(l->boot);
	Buf topics;
	buf_init(&topics);
	for (int t = 0; t < simgen_topic_count(); t++)
		buf_printf(&topics, "%s%s", t ? "," : "", simgen_topic_name(t));
	char *argv[] = {"waybill", "devbroker", "--topics", topics.p ? topics.p : "",
			"--partitions", LIVE_PARTITIONS, "--bootstrap-file", l->boot, NULL};
	int rc = topics.oom ? err_set(&e, ERR_NOMEM, "out of memory") : spawn(&l->broker, argv, &e);
	buf_free(&topics);
	if (rc != 0) {
		fprintf(stderr, "waybill demo: no live traffic: cannot start the dev broker: %s\n",
			err_msg(&e));
		return;
	}
	l->on = 1;
}

/* Creates table name from dir/name_schema.json and
 * dir/name_table_config.json, dropping an older table of that name. */
static int
create_live_table(Catalog *cat, const char *dir, const char *name, Err *e)
{
	char path[PATH_MAX];
	Table *old = catalog_get_table(cat, name);
	if (old) {
		table_unref(old);
		int rc = catalog_delete_table(cat, name, -1, e);
		if (rc)
			return rc;
	}
	char *json;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s_schema.json", dir, name);
	int rc = file_read_all(path, &json, &len, e);
	if (rc)
		return rc;
	rc = catalog_put_schema(cat, json, len, 1, NULL, e);
	mem_free(json);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s_table_config.json", dir, name);
	if ((rc = file_read_all(path, &json, &len, e)) != 0)
		return rc;
	rc = catalog_put_table(cat, json, len, 0, NULL, NULL, e);
	mem_free(json);
	return rc;
}

/* Defines (or redefines: the tables were just made anew) the order flow
 * the simulator wrote over its service tables (docs/lifecycle.md). */
static void
define_flow(Live *l, const char *cfg, const char *url)
{
	char path[PATH_MAX + 32], furl[1024];
	snprintf(path, sizeof(path), "%s/order_flow.json", cfg);
	snprintf(furl, sizeof(furl), "%s/flows/order", url);
	char *json;
	size_t len;
	Err e = {0};
	Buf out;
	buf_init(&out);
	int status = 0;
	if (file_read_all(path, &json, &len, &e) != 0) {
		log_warn("demo: flow: %s", err_msg(&e));
		return;
	}
	if (httpc_send("PUT", furl, "application/json", json, len, &status, &out, &e) != 0)
		log_warn("demo: flow: %s", err_msg(&e));
	else if (status != 200)
		log_warn("demo: flow: HTTP %d: %s", status, out.p ? out.p : "");
	else
		l->flow = 1;
	mem_free(json);
	buf_free(&out);
}

/* Writes the configs and the items, creates the tables, loads the items,
 * defines the order flow and starts the simulator. */
static int
live_setup(Live *l, Catalog *cat, const char *url, Err *e)
{
	int rc = read_boot(l, e);
	if (rc)
		return rc;
	char cfg[PATH_MAX], items[PATH_MAX], truth[PATH_MAX], seed[32], rate[32];
	snprintf(cfg, sizeof(cfg), "%s/configs", l->dir);
	snprintf(items, sizeof(items), "%s/items.ndjson", l->dir);
	snprintf(truth, sizeof(truth), "%s/truth.ndjson", l->dir);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)l->seed);
	snprintf(rate, sizeof(rate), "%g", l->rate);
	Child emit = {.what = "simulator (--emit-configs)"};
	snprintf(emit.log, sizeof(emit.log), "%s/emit.log", l->dir);
	char *eargv[] = {"waybill", "simulate", "--orders", "0", "--seed", seed, "--emit-configs",
			 cfg, "--emit-items", items, "--config-brokers", l->brokers,
			 "--time-scale", LIVE_TIME_SCALE, NULL};
	if ((rc = spawn(&emit, eargv, e)) != 0)
		return rc;
	int st = 0;
	if (!reaped(&emit, EMIT_WAIT_MS, &st)) {
		child_stop(&emit, 1000);
		return err_set(e, ERR_TIMEOUT,
			       "the simulator wrote no table configs in %d s (log: %s)",
			       EMIT_WAIT_MS / 1000, emit.log);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		Buf why;
		buf_init(&why);
		ended(&emit, st, &why);
		err_set(e, ERR_IO, "%s", why.p ? why.p : "the simulator failed");
		buf_free(&why);
		return e->code;
	}
	l->ntables = 0;
	for (int t = 0; t < simgen_topic_count(); t++) {
		Err te = {0};
		if (create_live_table(cat, cfg, simgen_topic_name(t), &te) != 0)
			log_warn("demo: live table %s: %s", simgen_topic_name(t), err_msg(&te));
		else
			l->ntables++;
	}
	if (l->ntables == 0)
		return err_set(e, ERR_BAD_CONFIG, "no live table could be created (configs in %s)",
			       cfg);
	uint64_t accepted = 0;
	char *data;
	size_t len;
	Err ie = {0};
	if (create_live_table(cat, cfg, "items", &ie) != 0 ||
	    file_read_all(items, &data, &len, &ie) != 0)
		log_warn("demo: items: %s", err_msg(&ie));
	else {
		if (load_body(cat, "items", DECODE_NDJSON, data, len, &accepted, &ie) != 0)
			log_warn("demo: items: %s", err_msg(&ie));
		mem_free(data);
	}
	define_flow(l, cfg, url);
	char *sargv[] = {"waybill", "simulate", "--brokers", l->brokers, "--rate", rate,
			 "--time-scale", LIVE_TIME_SCALE, "--seed", seed,
			 "--fault", (char *)live_faults[0], "--fault", (char *)live_faults[1],
			 "--truth", truth, "--availability-rate", LIVE_AVAIL_RATE,
			 "--nodes", LIVE_NODES, "--availability-late", LIVE_AVAIL_LATE, NULL};
	if ((rc = spawn(&l->sim, sargv, e)) != 0)
		return rc;
	l->streaming = 1;
	fprintf(stderr, "  %-18s %8d tables, one per service topic, fed from Kafka at %s\n",
		"live", l->ntables, l->brokers);
	fprintf(stderr, "  %-18s %8llu rows (the simulator's items dimension)\n", "items",
		(unsigned long long)accepted);
	fprintf(stderr,
		"  dev broker pid %ld, simulator pid %ld (%g order events/s, seed %s; "
		"faults: %s; truth log %s)\n",
		(long)l->broker.pid, (long)l->sim.pid, l->rate, seed, LIVE_FAULTS_TEXT, truth);
	return 0;
}

/* Reports a child that ended on its own: 1 if it did. */
static int
watch(Child *c)
{
	int st;
	if (c->pid <= 0 || !reaped(c, 0, &st))
		return 0;
	Buf why;
	buf_init(&why);
	ended(c, st, &why);
	fprintf(stderr, "waybill demo: %s; live traffic has stopped\n", why.p ? why.p : c->what);
	buf_free(&why);
	return 1;
}

/* Waits for SIGINT/SIGTERM (blocked by the server in every thread),
 * watching the children; then stops the simulator and the server. */
static void
live_watch(Live *l)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		struct timespec ts = {0, 500 * 1000 * 1000};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		watch(&l->sim);
		if (watch(&l->broker))
			child_stop(&l->sim, 2000); /* it has nowhere to send to */
	}
	fprintf(stderr, "waybill demo: stopping\n");
	child_stop(&l->sim, STOP_GRACE_MS);
	server_request_stop();
}

/* Appends s to b quoted for a POSIX shell's double quotes. */
static void
shell_dq(Buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == '$' || *s == '`')
			buf_putc(b, '\\');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void
print_sql(const char *sql, const char *url)
{
	Buf b;
	buf_init(&b);
	shell_dq(&b, sql);
	printf("  build/waybill sql %s --server %s\n", b.p ? b.p : "", url);
	buf_free(&b);
}

/* "SELECT cols FROM t1 UNION ALL SELECT cols FROM t2 ..." ("order" is a
 * keyword: quoted) */
static void
union_all(Buf *b, const char *cols, const char *const *tables, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%sSELECT %s FROM %s", i ? " UNION ALL " : "", cols,
			   strcmp(tables[i], "order") == 0 ? "\"order\"" : tables[i]);
}

static void
print_live(const Live *l, const char *url)
{
	static const char *const journey[] = {"order", "payment", "inventory", "picking", "packing",
					      "dispatch", "driver_app", "delivery_tracking"};
	static const char *const work[] = {"payment", "fraud", "inventory", "picking",
					   "packing", "label", "routing", "dispatch"};
	printf("\nLive traffic: `waybill simulate` (pid %ld, %g order events/s) -> dev Kafka "
	       "broker at %s (pid %ld)\n-> %d tables, one per service (order, payment, ..., "
	       "returns) plus item_availability; rows arrive now.\nFaults injected: %s (ground "
	       "truth: %s/truth.ndjson).\nRun these twice to watch them change:\n\n",
	       (long)l->sim.pid, l->rate, l->brokers, (long)l->broker.pid, l->ntables,
	       LIVE_FAULTS_TEXT, l->dir);
	printf("  # rows per live table (growing), consumer lag and freshness in ms\n");
	printf("  curl -s -X POST %s/query/sql -H 'Content-Type: application/json' -d '{\"sql\": "
	       "\"SELECT tableName, sum(rows) AS rows, sum(offsetLag) AS lag, max(freshnessMs) AS "
	       "freshness_ms FROM sys.ingestion GROUP BY tableName ORDER BY rows DESC\"}'\n",
	       url);
	printf("  # every Kafka partition being consumed: state, offsets, lag, rates, freshness\n");
	print_sql("SELECT * FROM sys.ingestion", url);
	Buf b;
	buf_init(&b);
	printf("  # the latest events of the order packed last, across service tables\n");
	buf_puts(&b, "SELECT service, event_type, stage, status, ts FROM (");
	union_all(&b, "order_id, service, event_type, stage, status, ts", journey,
		  sizeof(journey) / sizeof(journey[0]));
	buf_puts(&b, ") AS e WHERE order_id = "
		     "(SELECT order_id FROM packing ORDER BY ts DESC LIMIT 1) ORDER BY ts DESC");
	print_sql(b.p ? b.p : "", url);
	buf_reset(&b);
	printf("  # p95 processing latency per service (packing is the slowed one)\n");
	buf_puts(&b, "SELECT service, count(*) AS events, percentile(latency_ms, 95) AS p95_ms "
		     "FROM (");
	union_all(&b, "service, latency_ms", work, sizeof(work) / sizeof(work[0]));
	buf_puts(&b, ") AS e GROUP BY service ORDER BY p95_ms DESC");
	print_sql(b.p ? b.p : "", url);
	buf_free(&b);
	printf("  # messages that could not be ingested: empty until a bad one arrives; send one:\n"
	       "  #   echo 'not json' | kcat -P -b %s -t payment\n",
	       l->brokers);
	print_sql("SELECT * FROM sys.dead_letters", url);
}

/* The first cell of sql's answer as a number (queryOptions opts or
 * NULL); -1 when the query fails. */
static double
query_number(const char *url, const char *sql, const char *opts)
{
	char qurl[1024];
	snprintf(qurl, sizeof(qurl), "%s/query/sql", url);
	cJSON *req = cJSON_CreateObject();
	if (req == NULL)
		return -1;
	cJSON_AddStringToObject(req, "sql", sql);
	if (opts)
		cJSON_AddStringToObject(req, "queryOptions", opts);
	char *body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (body == NULL)
		return -1;
	Buf out;
	buf_init(&out);
	Err e = {0};
	int status = 0;
	double v = -1;
	if (httpc_post(qurl, "application/json", body, strlen(body), &status, &out, &e) == 0 &&
	    status == 200 && out.p) {
		cJSON *doc = cJSON_Parse(out.p);
		const cJSON *rows = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "resultTable"), "rows");
		const cJSON *cell = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0);
		if (cJSON_IsNumber(cell))
			v = cell->valuedouble;
		cJSON_Delete(doc);
	}
	cJSON_free(body);
	buf_free(&out);
	return v;
}

/* GETs url and prints the answer, cut at max bytes. */
static void
show(const char *url, size_t max)
{
	Buf out;
	buf_init(&out);
	Err e = {0};
	int status = 0;
	if (httpc_get(url, &status, &out, &e) != 0) {
		printf("  (%s)\n", err_msg(&e));
	} else if (out.p) {
		if (out.len > max)
			printf("  %.*s ... (%zu bytes)\n", (int)max, out.p, out.len);
		else
			printf("  %s\n", out.p);
	}
	buf_free(&out);
}

/* Life-cycle tracking of the orders (docs/lifecycle.md): the calls, and
 * what they answer now. */
static void
print_flow(const char *url)
{
	printf("\nLife-cycle tracking: the flow `order` follows every order across the 20 "
	       "service tables\n(stages, SLAs, the next expected stage); the state of each "
	       "order is kept as events\narrive, in memory and in the table order_state "
	       "(docs/lifecycle.md):\n\n");
	char u[1024];
	/* an order that is on its way */
	double have = 0;
	for (int i = 0; i < 40 && have < 1; i++) {
		have = query_number(url, "SELECT count(*) FROM order_state WHERE status = 'active'", NULL);
		if (have < 1)
			clock_sleep_ms(250);
	}
	static const char *const calls[] = {"stuck?limit=3", "gaps?limit=3", "funnel",
					    "attribution"};
	static const char *const what[] = {
		"orders past their stage's SLA, by stage, service and market (paginated)",
		"orders that skipped a stage or whose stages contradict",
		"how many orders reached each stage, and p50/p95 time from the previous one",
		"which service holds the most stuck or late orders, against its usual share"};
	char key[128] = "ORDER_ID";
	{
		char qurl[1024];
		snprintf(qurl, sizeof(qurl), "%s/query/sql", url);
		static const char body[] = "{\"sql\": \"SELECT order_id FROM order_state WHERE "
					   "status = 'active' ORDER BY events DESC LIMIT 1\"}";
		Buf out;
		buf_init(&out);
		Err e = {0};
		int status = 0;
		if (httpc_post(qurl, "application/json", body, sizeof(body) - 1, &status, &out, &e) == 0 &&
		    status == 200 && out.p) {
			cJSON *doc = cJSON_Parse(out.p);
			const cJSON *rows =
				cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "resultTable"), "rows");
			const cJSON *cell = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 0);
			if (cJSON_IsString(cell))
				snprintf(key, sizeof(key), "%s", cell->valuestring);
			cJSON_Delete(doc);
		}
		buf_free(&out);
	}
	printf("  # where is one order, what should happen next and by when\n");
	snprintf(u, sizeof(u), "%s/flows/order/entities/%s", url, key);
	printf("  curl -s %s\n", u);
	if (strcmp(key, "ORDER_ID") != 0)
		show(u, 900);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		printf("  # %s\n", what[i]);
		snprintf(u, sizeof(u), "%s/flows/order/%s", url, calls[i]);
		printf("  curl -s '%s'\n", u);
		show(u, 600);
	}
	printf("  # the same state from SQL (and over the PostgreSQL wire)\n");
	print_sql("SELECT stage, status, count(*) FROM order_state GROUP BY stage, status ORDER BY 3 DESC", url);
}

/* The item-availability dashboard: waits (bounded) for the first
 * updates to be consumed, then prints each query and its answer now. */
static void
print_availability(const char *url)
{
	int64_t deadline = clock_mono_ns() + (int64_t)AVAIL_WAIT_MS * 1000000;
	double updates = 0;
	while (clock_mono_ns() < deadline) {
		updates = query_number(url, "SELECT count(*) FROM item_availability",
				       "skipUpsert=true");
		if (updates >= AVAIL_WANT_ROWS)
			break;
		clock_sleep_ms(250);
	}
	double keys = query_number(url, "SELECT count(*) FROM item_availability", NULL);
	printf("\nItem availability: item_availability is an upsert table (primary key item_id, "
	       "node_id; the\nlatest updated_at wins, stale updates are ignored), joined with the "
	       "items dimension\ntable by LOOKUP.  Now %.0f (item, node) keys from %.0f updates "
	       "(docs/item-availability.md):\n",
	       keys, updates);
	for (size_t i = 0; i < sizeof(avail_queries) / sizeof(avail_queries[0]); i++) {
		printf("\n  # %s\n", avail_titles[i]);
		print_sql(avail_queries[i], url);
		fflush(stdout);
		char *argv[] = {(char *)avail_queries[i], "--server", (char *)url, NULL};
		cmd_sql(3, argv);
	}
	printf("\n  # one item's latest quantity at each node\n");
	print_sql("SELECT node_id, qty, updated_at FROM item_availability WHERE item_id = 'I000001' "
		  "ORDER BY node_id LIMIT 10",
		  url);
	printf("  # every stored update, not only the latest per key (queryOptions skipUpsert)\n"
	       "  curl -s -X POST %s/query/sql -H 'Content-Type: application/json' -d '{\"sql\": "
	       "\"SELECT count(*) FROM item_availability\", \"queryOptions\": "
	       "\"skipUpsert=true\"}'\n",
	       url);
}

static void
on_ready(void *ctx, const char *url, Catalog *cat)
{
	Demo *d = ctx;
	Live *l = &d->live;
	fprintf(stderr, "\nLoading demo tables...\n");
	if (l->on) {
		Err e = {0};
		if (live_setup(l, cat, url, &e) != 0) {
			fprintf(stderr, "waybill demo: no live traffic: %s\n", err_msg(&e));
			child_stop(&l->sim, STOP_GRACE_MS);
			child_stop(&l->broker, STOP_GRACE_MS);
			l->on = 0;
		}
	}
	gen_orders(cat);
	if (d->examples) {
		for (size_t i = 0; i < sizeof(demo_tables) / sizeof(demo_tables[0]); i++) {
			const DemoTable *dt = &demo_tables[i];
			char dir[PATH_MAX], pat[PATH_MAX];
			snprintf(dir, sizeof(dir), "%s/pinot-tools-examples/batch/%s", d->examples, dt->dir);
			Err e = {0};
			if (kept(cat, dt->name))
				continue;
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
	} else if (!d->no_examples) {
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
	printf("  # PostgreSQL clients: psql, psycopg2, JDBC, Grafana (docs/postgres.md)\n");
	printf("  psql -h %s -p %d -U waybill -d waybill -c '\\d order_events'\n", d->pg_host, d->pg_port);
	if (l->streaming) {
		print_live(l, url);
		print_availability(url);
		if (l->flow)
			print_flow(url);
	}
	printf("\nPress Ctrl-C to stop.\n");
	fflush(stdout);
	if (l->streaming)
		live_watch(l);
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
	Demo d = {.live = {.on = 0, .rate = LIVE_RATE}};
	const char *examples = NULL;
	int fresh = 1, stream = 1;
	Err e = {0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			puts("usage: waybill demo [--data-dir DIR] [--http HOST:PORT] [--examples DIR]\n"
			     "                    [--no-examples] [--no-stream] [--rate R]\n"
			     "                    [other options of waybill serve]\n"
			     "  --no-examples  do not load Pinot's example tables\n"
			     "  --no-stream    no live traffic (dev Kafka broker + simulator)\n"
			     "  --rate R       live order events per second (default 300)");
			return 0;
		}
		if (strcmp(argv[i], "--examples") == 0 && i + 1 < argc) {
			examples = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--no-examples") == 0) {
			d.no_examples = 1;
			continue;
		}
		if (strcmp(argv[i], "--no-stream") == 0) {
			stream = 0;
			continue;
		}
		if (strcmp(argv[i], "--rate") == 0) {
			char *end = NULL;
			double r = i + 1 < argc ? strtod(argv[i + 1], &end) : 0;
			if (end == NULL || end == argv[i + 1] || *end || !(r > 0 && r <= 1e6)) {
				fprintf(stderr, "waybill demo: --rate needs order events per second "
					"(a number > 0, at most 1000000)\n");
				return 2;
			}
			d.live.rate = r;
			i++;
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
	d.examples = d.no_examples ? NULL : find_examples(examples);
	d.live.seed = (uint64_t)clock_wall_ms();
	o.on_ready = on_ready;
	o.ctx = &d;
	d.pg_host = o.pg_host;
	d.pg_port = o.pg_port;
	fprintf(stderr, "waybill demo: data directory %s\n", o.data_dir);
	if (stream)
		live_start_broker(&d.live, o.data_dir);
	int rc = server_run(&o, &e);
	child_stop(&d.live.sim, STOP_GRACE_MS);
	child_stop(&d.live.broker, STOP_GRACE_MS);
	if (fresh)
		file_remove_tree(tmpl, NULL);
	if (rc) {
		fprintf(stderr, "waybill demo: %s\n", err_msg(&e));
		return 1;
	}
	return 0;
}
