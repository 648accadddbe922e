/*
 * server.c -- owns the server's lifetime: opens the catalog (replaying
 * every partition's log), starts the HTTP API with the one route table
 * below, waits for SIGINT/SIGTERM, then stops accepting requests, lets
 * the running ones finish and answer (http_stop: quiesce, wait, then
 * MHD_stop_daemon joins connection threads) and closes the catalog
 * (partition writers drain their queues).
 *
 * The route table is the single list of HTTP endpoints (docs/http-api.md
 * describes each).
 *
 * The PostgreSQL wire server (pgwire.c) starts before the HTTP API (so
 * a server whose API answers serves both) and stops before it; neither
 * outlives the catalog.
 *
 * Life-cycle tracking (the Lifecycle in ServerApp.lc, flowapi.c's
 * routes) opens right after the catalog, before the stream sources, the
 * PostgreSQL listener and the HTTP API, so every row written reaches the
 * flows; it closes after all of them stopped and before the catalog.
 *
 * Query ceilings (time, memory, result rows, groups per GROUP BY) come
 * from ServerOpts (waybill serve --query-timeout/--query-memory/
 * --max-result-rows/--max-groups) and are installed with
 * query_set_ceilings before the API starts.
 *
 * Exports: server_opts_init, server_parse_addr, server_run,
 * server_request_stop.
 */
#include "server/server.h"
#include "server/server_int.h"
#include "server/pgwire.h"
#include "query/exprc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "query/query.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const HttpRoute routes[] = {
	{"GET", "/health", ctlapi_health, NULL},
	{"GET", "/metrics", ctlapi_metrics, NULL},
	{"GET", "/schemas", ctlapi_list_schemas, NULL},
	{"POST", "/schemas", ctlapi_post_schema, NULL},
	{"GET", "/schemas/*", ctlapi_get_schema, NULL},
	{"PUT", "/schemas/*", ctlapi_put_schema, NULL},
	{"DELETE", "/schemas/*", ctlapi_delete_schema, NULL},
	{"GET", "/tables", ctlapi_list_tables, NULL},
	{"POST", "/tables", ctlapi_post_table, NULL},
	{"GET", "/tables/*", ctlapi_get_table, NULL},
	{"PUT", "/tables/*", ctlapi_put_table, NULL},
	{"DELETE", "/tables/*", ctlapi_delete_table, NULL},
	{"GET", "/tables/*/schema", ctlapi_get_table_schema, NULL},
	{"POST", "/tables/*/forceCommit", ctlapi_force_commit, NULL},
	{"POST", "/tables/*/pauseConsumption", ctlapi_pause, NULL},
	{"POST", "/tables/*/resumeConsumption", ctlapi_resume, NULL},
	{"GET", "/tables/*/pauseStatus", ctlapi_pause_status, NULL},
	{"GET", "/segments/*", ctlapi_list_segments, NULL},
	{"POST", "/tables/*/ingest", NULL, &pushapi_stream},
	{"POST", "/query/sql", queryapi_post, NULL},
	{"GET", "/query/sql", queryapi_get, NULL},
	{"POST", "/query", queryapi_post, NULL},
	/* a "*" matches one path segment, so the one-segment flow routes
	 * never take the longer paths below; each question is listed, so
	 * any other answers 404 */
	{"GET", "/flows", flowapi_list, NULL},
	{"POST", "/flows", flowapi_post, NULL},
	{"GET", "/flows/*", flowapi_get, NULL},
	{"PUT", "/flows/*", flowapi_put, NULL},
	{"DELETE", "/flows/*", flowapi_delete, NULL},
	{"GET", "/flows/*/entities/*", flowapi_entity, NULL},
	{"GET", "/flows/*/stuck", flowapi_question, NULL},
	{"GET", "/flows/*/gaps", flowapi_question, NULL},
	{"GET", "/flows/*/funnel", flowapi_question, NULL},
	{"GET", "/flows/*/attribution", flowapi_question, NULL},
};

void
server_opts_init(ServerOpts *o)
{
	memset(o, 0, sizeof(*o));
	o->data_dir = "./waybill-data";
	o->http_host = "127.0.0.1";
	o->http_port = 8099;
	o->pg_host = "127.0.0.1";
	o->pg_port = 5433;
	o->query_timeout_ms = SERVER_QUERY_TIMEOUT_MS;
	o->query_mem_limit = SERVER_QUERY_MEMORY;
	o->max_result_rows = SERVER_MAX_RESULT_ROWS;
	o->max_groups = SERVER_MAX_GROUPS;
}

int
server_parse_addr(const char *s, const char **host, int *port, Err *e)
{
	static char hosts[4][256];
	static int next;
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0')
		return err_set(e, ERR_INVALID, "'%s' is not HOST:PORT", s);
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return err_set(e, ERR_INVALID, "'%s': port must be 0..65535", s);
	char *h = hosts[next++ & 3];
	snprintf(h, 256, "%.*s", (int)(colon - s), s);
	if (strcmp(h, "localhost") == 0)
		snprintf(h, 256, "127.0.0.1");
	*host = h;
	*port = (int)p;
	return 0;
}

static pthread_t main_thread;

void
server_request_stop(void)
{
	pthread_kill(main_thread, SIGTERM);
}

int
server_run(const ServerOpts *o, Err *e)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	main_thread = pthread_self();
	/* glibc's defaults give memory back to the system after every big
	 * query and map large blocks afresh, so each query pays its page
	 * faults again; keeping up to 256 MiB of freed memory and growing
	 * the heap 64 MiB at a time made the peer benchmark's group-bys
	 * 1.4-1.8x faster (bench/README.md).  Query budgets still count
	 * every byte in use. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 64 << 20);

	int64_t t0 = clock_mono_ns();
	ServerApp app = {.started_ms = clock_wall_ms()};
	size_t ingest_limit = o->ingest_mem_limit;
	if (ingest_limit == 0) {
		long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		ingest_limit = pages > 0 && psize > 0 ? (size_t)pages * (size_t)psize / 4 : (size_t)1 << 30;
	}
	mem_budget_init(&app.ingest_mem, ingest_limit);
	query_set_ceilings(o->query_timeout_ms > 0 ? o->query_timeout_ms : SERVER_QUERY_TIMEOUT_MS,
			   o->max_result_rows ? o->max_result_rows : SERVER_MAX_RESULT_ROWS,
			   o->query_mem_limit ? o->query_mem_limit : SERVER_QUERY_MEMORY,
			   o->max_groups ? o->max_groups : SERVER_MAX_GROUPS);
	int rc = catalog_open(o->data_dir, &app.cat, e);
	if (rc)
		return rc;
	/* flows attach their observers to the tables before any source
	 * (Kafka, push, pg-wire) can write a row */
	if ((rc = lifecycle_open(app.cat, &app.lc, e)) != 0) {
		catalog_close(app.cat);
		return rc;
	}
	static const XformCompiler cc = {NULL, exprc_compile, exprc_release};
	if ((rc = streamset_create(app.cat, &cc, &app.streams, e)) != 0) {
		lifecycle_close(app.lc);
		catalog_close(app.cat);
		return rc;
	}
	/* the PostgreSQL listener first: once the HTTP API answers, both
	 * interfaces are ready (users loaded, ports bound) */
	PgwireOpts po = {.host = o->pg_host, .port = o->pg_port, .users_file = o->pg_users,
			 .auth = o->pg_auth, .tls_cert = o->pg_cert, .tls_key = o->pg_key};
	PgwireServer *pg = NULL;
	if ((rc = pgwire_start(app.cat, &po, &pg, e)) != 0) {
		streamset_free(app.streams);
		lifecycle_close(app.lc);
		catalog_close(app.cat);
		return rc;
	}
	HttpServer *http;
	rc = http_start(o->http_host, o->http_port, routes, (int)(sizeof(routes) / sizeof(routes[0])),
			&app, &http, e);
	if (rc) {
		pgwire_stop(pg);
		streamset_free(app.streams);
		lifecycle_close(app.lc);
		catalog_close(app.cat);
		return rc;
	}
	char url[300];
	snprintf(url, sizeof(url), "http://%s:%d", o->http_host, o->http_port);
	log_info("waybill serving %s (data %s), ready in %.0f ms", url, o->data_dir,
		 (double)(clock_mono_ns() - t0) / 1e6);
	log_info("PostgreSQL wire protocol on %s:%d (%s%s)", o->pg_host, pgwire_port(pg),
		 o->pg_users ? "users from " : "trust, loopback clients only",
		 o->pg_users ? o->pg_users : "");
	if (o->on_ready)
		o->on_ready(o->ctx, url, app.cat);
	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: shutting down", sig);
	pgwire_stop(pg);
	http_stop(http);
	streamset_free(app.streams);
	/* no writer feeds the flows any more; their state table is written
	 * one last time while the catalog is still open */
	lifecycle_close(app.lc);
	app.lc = NULL;
	catalog_close(app.cat);
	log_info("shutdown complete");
	return 0;
}
