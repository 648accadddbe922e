/*
 * http.c -- adapter for libmicrohttpd: the only file that includes
 * microhttpd.h.
 *
 * Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION), so
 * a handler may block (a query, a group commit) without stalling other
 * clients.  Connections are capped (HTTP_MAX_CONNECTIONS: one thread
 * each; MHD refuses the rest) and dropped after HTTP_IDLE_TIMEOUT_S of
 * silence.  MHD polls with poll(), not select(): the process holds many
 * files (logs, segments), and select() cannot watch a descriptor past
 * FD_SETSIZE, so the server would stop accepting once one got that high.
 *
 * Each request gets a Conn (MHD's con_cls) that lives from the headers to
 * MHD's completion callback, which frees it even when the client
 * disconnected mid-body.  Conns are counted: http_stop quiesces the
 * daemon (no new connections), waits up to HTTP_STOP_GRACE_S for the
 * count to reach zero so running requests still send their answers, and
 * only then stops MHD (which cuts whatever is left).
 *
 * Request flow for an MHD access callback:
 *   first call (headers)  -> route matched, Conn created
 *   calls with data       -> ordinary: appended to the body (413 past
 *                            HTTP_MAX_BODY); streaming: stream->feed
 *   last call (no data)   -> handler or stream->finish, response queued
 *
 * Exports: http_start, http_stop, http_port, http_method, http_path,
 * http_param, http_query, http_header, http_body, http_error, http_err.
 */
#include "base/civil.h"
#include "server/http.h"
#include "base/log.h"
#include "base/metric.h"
#include "base/mem.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct HttpServer {
	struct MHD_Daemon *d;
	const HttpRoute *routes;
	int nroutes;
	void *app;
	_Atomic int inflight;	/* requests between headers and completion */
};

struct HttpReq {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	int nparams;
	char *params[HTTP_MAX_PARAMS];
	Buf body;
};

typedef struct Conn {
	HttpReq req;
	const HttpRoute *route;
	void *state;		/* streaming handler state */
	int refused;		/* a response is already decided */
	HttpResp resp;
	int stream_begun;
} Conn;

const char *http_method(const HttpReq *r) { return r->method; }
const char *http_path(const HttpReq *r) { return r->path; }

const char *
http_param(const HttpReq *r, int i)
{
	return i < r->nparams ? r->params[i] : NULL;
}

const char *
http_query(const HttpReq *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_header(const HttpReq *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_body(const HttpReq *r, size_t *len)
{
	*len = r->body.len;
	return r->body.p ? r->body.p : "";
}

void
http_error(HttpResp *resp, int status, const char *msg)
{
	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	buf_printf(&resp->body, "{\"code\":%d,\"error\":", status);
	buf_json_str(&resp->body, msg, strlen(msg));
	buf_putc(&resp->body, '}');
}

void
http_err(HttpResp *resp, const Err *e)
{
	http_error(resp, err_http_status(e->code), err_msg(e));
}


static char *
url_decode(const char *s, size_t n)
{
	char *d = mem_alloc(n + 1);
	if (d == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && civil_hexval(s[i + 1]) >= 0 &&
		    civil_hexval(s[i + 2]) >= 0) {
			d[o++] = (char)(civil_hexval(s[i + 1]) * 16 + civil_hexval(s[i + 2]));
			i += 2;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	return d;
}

/* Matches path against pattern; captures "*" segments into req. */
static int
match(const char *pattern, const char *path, HttpReq *req)
{
	const char *p = pattern, *u = path;
	int n = 0;
	char *caps[HTTP_MAX_PARAMS];
	while (*p && *u) {
		if (*p == '*') {
			const char *end = strchr(u, '/');
			size_t len = end ? (size_t)(end - u) : strlen(u);
			if (len == 0 || n == HTTP_MAX_PARAMS)
				goto fail;
			caps[n] = url_decode(u, len);
			if (caps[n] == NULL)
				goto fail;
			n++;
			u += len;
			p++;
			continue;
		}
		if (*p != *u)
			goto fail;
		p++;
		u++;
	}
	/* tolerate one trailing slash on the path */
	if (*u == '/' && u[1] == '\0')
		u++;
	if (*p || *u)
		goto fail;
	req->nparams = n;
	memcpy(req->params, caps, sizeof(char *) * (size_t)n);
	return 1;
fail:
	for (int i = 0; i < n; i++)
		mem_free(caps[i]);
	return 0;
}

static enum MHD_Result
send_resp(struct MHD_Connection *conn, HttpResp *resp)
{
	if (resp->status == 0)
		resp->status = 200;
	if (resp->body.oom) {
		buf_free(&resp->body);
		http_error(resp, 503, "out of memory building the response");
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(
		resp->body.len, resp->body.p ? resp->body.p : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				resp->content_type ? resp->content_type : "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	metric_add(METRIC_HTTP_REQUESTS, 1);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	  const char *version, const char *upload_data, size_t *upload_data_size,
	  void **con_cls)
{
	HttpServer *s = cls;
	Conn *c = *con_cls;
	if (c == NULL) {
		c = mem_calloc(1, sizeof(Conn));
		if (c == NULL)
			return MHD_NO;
		*con_cls = c;
		atomic_fetch_add(&s->inflight, 1);
		c->req.conn = conn;
		c->req.method = method;
		c->req.path = url;
		buf_init(&c->req.body);
		buf_init(&c->resp.body);
		int path_matched = 0;
		for (int i = 0; i < s->nroutes; i++) {
			HttpReq tmp = c->req;
			if (!match(s->routes[i].pattern, url, &tmp))
				continue;
			path_matched = 1;
			if (strcmp(s->routes[i].method, method) != 0) {
				for (int k = 0; k < tmp.nparams; k++)
					mem_free(tmp.params[k]);
				continue;
			}
			c->req = tmp;
			c->route = &s->routes[i];
			break;
		}
		if (c->route == NULL) {
			c->refused = 1;
			if (path_matched)
				http_error(&c->resp, 405, "method not allowed for this path");
			else
				http_error(&c->resp, 404, "no such endpoint");
		} else if (c->route->stream) {
			c->stream_begun = 1;
			if (c->route->stream->begin(s->app, &c->req, &c->resp, &c->state) != 0)
				c->refused = 1;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (c->refused)
			return MHD_YES;	/* discard the rest of the body */
		if (c->route->stream) {
			if (c->route->stream->feed(s->app, c->state, upload_data, n, &c->resp) != 0)
				c->refused = 1;
			return MHD_YES;
		}
		if (c->req.body.len + n > HTTP_MAX_BODY) {
			c->refused = 1;
			buf_free(&c->req.body);
			http_error(&c->resp, 413, "request body larger than 16 MiB; use the streaming ingest endpoint for data");
			return MHD_YES;
		}
		buf_append(&c->req.body, upload_data, n);
		if (c->req.body.oom) {
			c->refused = 1;
			http_error(&c->resp, 503, "out of memory reading the request body");
		}
		return MHD_YES;
	}
	if (!c->refused) {
		if (c->route->stream)
			c->route->stream->finish(s->app, c->state, &c->resp);
		else
			c->route->handler(s->app, &c->req, &c->resp);
	}
	return send_resp(conn, &c->resp);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	HttpServer *s = cls;
	Conn *c = *con_cls;
	if (c == NULL)
		return;
	if (c->stream_begun && c->route->stream->free)
		c->route->stream->free(c->state);
	for (int i = 0; i < c->req.nparams; i++)
		mem_free(c->req.params[i]);
	buf_free(&c->req.body);
	buf_free(&c->resp.body);
	mem_free(c);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n'))
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

int
http_start(const char *host, int port, const HttpRoute *routes, int nroutes,
	   void *app, HttpServer **out, Err *e)
{
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		return err_set(e, ERR_INVALID, "--http: '%s' is not an IPv4 address", host);
	HttpServer *s = mem_calloc(1, sizeof(HttpServer));
	if (s == NULL)
		return err_set(e, ERR_NOMEM, "starting HTTP server");
	s->routes = routes;
	s->nroutes = nroutes;
	s->app = app;
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
				(uint16_t)port, NULL, NULL, on_access, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
				MHD_OPTION_END);
	if (s->d == NULL) {
		mem_free(s);
		return err_set(e, ERR_IO, "cannot listen on %s:%d (in use, or not permitted)", host, port);
	}
	*out = s;
	return 0;
}

int
http_port(const HttpServer *s)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	return i ? (int)i->port : -1;
}

void
http_stop(HttpServer *s)
{
	if (s == NULL)
		return;
	/* stop accepting, let requests being handled send their answers
	 * (a push acknowledged durable must reach its client), then stop */
	MHD_socket lfd = MHD_quiesce_daemon(s->d);
	for (int i = 0; i < HTTP_STOP_GRACE_S * 100 && atomic_load(&s->inflight) > 0; i++)
		usleep(10000);
	if (atomic_load(&s->inflight) > 0)
		log_warn("http: stopping with %d requests still running", atomic_load(&s->inflight));
	MHD_stop_daemon(s->d);
	/* after quiesce the listening socket is ours to close, once MHD's
	 * threads are gone */
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	mem_free(s);
}
