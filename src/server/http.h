/*
 * http.h -- the HTTP server (the only user of libmicrohttpd) and the
 * request/response objects the API handlers see.
 *
 * A route is {method, pattern, handler, stream}.  Patterns are paths whose
 * "*" segments match one path segment each and are captured in order
 * (http_param).  Ordinary routes get the whole body (up to HTTP_MAX_BODY,
 * else 413) in req->body; streaming routes get it chunk by chunk through
 * stream->feed, as it arrives, and never hold more than a chunk.
 */
#ifndef WB_HTTP_H
#define WB_HTTP_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define HTTP_MAX_BODY (16u << 20)
#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_CONNECTIONS 512	/* one thread each; more are refused */
#define HTTP_IDLE_TIMEOUT_S 120		/* a silent connection is closed */
#define HTTP_STOP_GRACE_S 30		/* http_stop waits this long for requests */

typedef struct HttpReq HttpReq;

typedef struct HttpResp {
	int status;
	const char *content_type;	/* static string; default JSON */
	Buf body;
} HttpResp;

typedef void (*HttpHandler)(void *app, HttpReq *req, HttpResp *resp);

typedef struct HttpStream {
	/* Called once before the first chunk; returns 0 to accept the body,
	 * or fills resp and returns non-zero to refuse it (the body is then
	 * discarded). *state is the handler's per-request state. */
	int (*begin)(void *app, HttpReq *req, HttpResp *resp, void **state);
	/* A chunk of the body; non-zero stops feeding (resp already set). */
	int (*feed)(void *app, void *state, const char *data, size_t n, HttpResp *resp);
	/* End of body: fill resp. */
	void (*finish)(void *app, void *state, HttpResp *resp);
	/* Always called last (also when the client went away). */
	void (*free)(void *state);
} HttpStream;

typedef struct HttpRoute {
	const char *method;
	const char *pattern;
	HttpHandler handler;		/* ordinary route */
	const HttpStream *stream;	/* or streaming route */
} HttpRoute;

typedef struct HttpServer HttpServer;

/* Starts serving on host:port (numeric IPv4) with the given routes
 * (borrowed, must outlive the server); app is passed to handlers. */
int http_start(const char *host, int port, const HttpRoute *routes, int nroutes,
	       void *app, HttpServer **out, Err *e);
/* Stops accepting, lets running requests answer (up to HTTP_STOP_GRACE_S),
 * then stops. */
void http_stop(HttpServer *s);
/* The port actually bound (useful after asking for port 0). */
int http_port(const HttpServer *s);

const char *http_method(const HttpReq *r);
const char *http_path(const HttpReq *r);
/* i-th "*" segment of the matched pattern (URL-decoded), or NULL. */
const char *http_param(const HttpReq *r, int i);
/* Query-string argument, or NULL. */
const char *http_query(const HttpReq *r, const char *name);
/* Request header, or NULL. */
const char *http_header(const HttpReq *r, const char *name);
/* Whole body of an ordinary route (NUL-terminated), and its length. */
const char *http_body(const HttpReq *r, size_t *len);

/* Writes {"code": status, "error": message} into resp. */
void http_error(HttpResp *resp, int status, const char *msg);
/* Same, with status and message from an Err. */
void http_err(HttpResp *resp, const Err *e);

#endif
