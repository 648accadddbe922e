/*
 * server.h -- the Waybill server process: catalog + HTTP API, run until
 * SIGINT/SIGTERM.
 */
#ifndef WB_SERVER_H
#define WB_SERVER_H

#include "base/err.h"
#include "table/catalog.h"

typedef struct ServerOpts {
	const char *data_dir;	/* default ./waybill-data */
	const char *http_host;	/* default 127.0.0.1 */
	int http_port;		/* default 8099 */
	const char *pg_host;	/* default 127.0.0.1 */
	int pg_port;		/* default 5433 */
	size_t ingest_mem_limit;	/* bytes for all push jobs together;
					 * 0 = a quarter of physical memory */
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
