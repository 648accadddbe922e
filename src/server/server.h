/*
 * server.h -- the Waybill server process: catalog + HTTP API, run until
 * SIGINT/SIGTERM.
 */
#ifndef WB_SERVER_H
#define WB_SERVER_H

#include "base/err.h"
#include "table/catalog.h"

#include <stddef.h>
#include <stdint.h>

/* Default query ceilings (ServerOpts). */
#define SERVER_QUERY_TIMEOUT_MS ((int64_t)10000)
#define SERVER_QUERY_MEMORY ((size_t)1 << 30)
#define SERVER_MAX_RESULT_ROWS ((size_t)1000000)
#define SERVER_MAX_GROUPS ((size_t)5000000)

typedef struct ServerOpts {
	const char *data_dir;	/* default ./waybill-data */
	const char *http_host;	/* default 127.0.0.1 */
	int http_port;		/* default 8099 */
	const char *pg_host;	/* default 127.0.0.1 */
	int pg_port;		/* default 5433 */
	const char *pg_users;	/* users file (pgauth.h); NULL: trust on loopback */
	const char *pg_auth;	/* NULL: scram-sha-256 with users, else trust */
	const char *pg_cert;	/* TLS certificate and key (PEM); NULL: no TLS */
	const char *pg_key;
	size_t ingest_mem_limit;	/* bytes for all push jobs together;
					 * 0 = a quarter of physical memory */
	/* Query ceilings (query_set_ceilings): no query gets more, whatever
	 * its options or SET statements ask.  server_opts_init sets the
	 * defaults below; every one must be > 0. */
	int64_t query_timeout_ms;	/* default 10 s */
	size_t query_mem_limit;		/* bytes per query; default 1 GiB */
	size_t max_result_rows;		/* default 1,000,000 */
	size_t max_groups;		/* groups of one GROUP BY; default 5,000,000 */
	/* Called once the server is ready (demo uses it to load data);
	 * runs on the main thread while the server serves. */
	void (*on_ready)(void *ctx, const char *http_url, Catalog *cat);
	void *ctx;
} ServerOpts;

void server_opts_init(ServerOpts *o);
/* Parses "HOST:PORT" into host (static storage in o) and port. */
int server_parse_addr(const char *s, const char **host, int *port, Err *e);
/* Runs until SIGINT or SIGTERM (blocked in every thread, taken with
 * sigwait), then shuts down cleanly.  Returns 0 or an error code. */
int server_run(const ServerOpts *o, Err *e);
/* Asks a running server_run to stop (e.g. from on_ready). */
void server_request_stop(void);

#endif
