/*
 * flowapi.c -- the HTTP face of life-cycle tracking (docs/lifecycle.md):
 * flow definitions and the questions answered from entity state.
 *
 *   GET    /flows                          JSON array of flow names
 *   POST   /flows                          define a flow (409 if it exists)
 *   GET    /flows/{name}                   {"flow": definition, "status": ...}
 *   PUT    /flows/{name}                   define or replace it
 *   DELETE /flows/{name}                   drop it, its state and state table
 *   GET    /flows/{name}/entities/{key}    where is entity key
 *   GET    /flows/{name}/stuck|gaps|funnel|attribution
 *
 * Every handler is a thin adapter: the Lifecycle (ServerApp.lc, opened by
 * server.c) does the work and writes the JSON answer into the response
 * body; the query parameters of the four questions are read through an
 * LcArgFn over http_query, so the lifecycle module never sees HTTP.
 * Errors come back as Err records and go out through http_err, whose
 * status comes from the error table (ERR_NOT_FOUND 404, ERR_EXISTS 409,
 * ERR_BAD_JSON / ERR_BAD_CONFIG / ERR_INVALID 400, ...).  A body that a
 * failed call half wrote is replaced by the error (http_error resets it).
 *
 * Nothing here allocates beyond the response body; the route parameters
 * are borrowed from the request.
 *
 * Exports: flowapi_list, flowapi_post, flowapi_get, flowapi_put,
 * flowapi_delete, flowapi_entity, flowapi_question.
 */
#include "server/server_int.h"
#include "lifecycle/flowdef.h"
#include "lifecycle/lifecycle.h"

#include <stdio.h>
#include <string.h>

/* The server's Lifecycle, or NULL after answering 503 (not open: only
 * while the server starts or stops). */
static Lifecycle *
lc_of(void *app, HttpResp *resp)
{
	Lifecycle *lc = ((ServerApp *)app)->lc;
	if (lc == NULL)
		http_error(resp, 503, "life-cycle tracking is not running");
	return lc;
}

static const char *
query_arg(void *ctx, const char *name)
{
	return http_query((const HttpReq *)ctx, name);
}

void
flowapi_list(void *app, HttpReq *req, HttpResp *resp)
{
	(void)req;
	Lifecycle *lc = lc_of(app, resp);
	if (lc != NULL)
		lifecycle_list_flows(lc, &resp->body);
}

/* The answer of a successful POST or PUT: the flow as GET shows it. */
static void
answer_flow(Lifecycle *lc, const char *name, HttpResp *resp)
{
	Err e = {0};
	buf_reset(&resp->body);
	if (lifecycle_get_flow(lc, name, &resp->body, &e) != 0)
		http_err(resp, &e);
}

void
flowapi_post(void *app, HttpReq *req, HttpResp *resp)
{
	Lifecycle *lc = lc_of(app, resp);
	if (lc == NULL)
		return;
	size_t len;
	const char *body = http_body(req, &len);
	Err e = {0};
	if (lifecycle_put_flow(lc, body, len, 0, NULL, &e) != 0) {
		http_err(resp, &e);
		return;
	}
	/* the definition was accepted, so it parses: its name is what to
	 * answer about */
	FlowDef *d = NULL;
	Err e2 = {0};
	if (flowdef_parse(body, len, NULL, &d, &e2) != 0) {
		buf_puts(&resp->body, "{\"status\":\"flow added\"}");
		return;
	}
	answer_flow(lc, d->name, resp);
	flowdef_free(d);
}

void
flowapi_put(void *app, HttpReq *req, HttpResp *resp)
{
	Lifecycle *lc = lc_of(app, resp);
	if (lc == NULL)
		return;
	size_t len;
	const char *body = http_body(req, &len);
	const char *name = http_param(req, 0);
	Err e = {0};
	if (lifecycle_put_flow(lc, body, len, 1, name, &e) != 0) {
		http_err(resp, &e);
		return;
	}
	answer_flow(lc, name, resp);
}

void
flowapi_get(void *app, HttpReq *req, HttpResp *resp)
{
	Lifecycle *lc = lc_of(app, resp);
	if (lc == NULL)
		return;
	Err e = {0};
	if (lifecycle_get_flow(lc, http_param(req, 0), &resp->body, &e) != 0)
		http_err(resp, &e);
}

void
flowapi_delete(void *app, HttpReq *req, HttpResp *resp)
{
	Lifecycle *lc = lc_of(app, resp);
	if (lc == NULL)
		return;
	const char *name = http_param(req, 0);
	Err e = {0};
	if (lifecycle_delete_flow(lc, name, &e) != 0) {
		http_err(resp, &e);
		return;
	}
	char msg[FLOW_NAME_MAX + 64];
	snprintf(msg, sizeof(msg), "Flow %s deleted", name);
	buf_puts(&resp->body, "{\"status\":");
	buf_json_str(&resp->body, msg, strlen(msg));
	buf_putc(&resp->body, '}');
}

void
flowapi_entity(void *app, HttpReq *req, HttpResp *resp)
{
	Lifecycle *lc = lc_of(app, resp);
	if (lc == NULL)
		return;
	Err e = {0};
	if (lifecycle_entity(lc, http_param(req, 0), http_param(req, 1), &resp->body, &e) != 0)
		http_err(resp, &e);
}

/* GET /flows/{name}/{what}: the route's last path segment names the
 * question (the routes table lists stuck, gaps, funnel and attribution
 * one by one, so nothing else reaches here). */
void
flowapi_question(void *app, HttpReq *req, HttpResp *resp)
{
	Lifecycle *lc = lc_of(app, resp);
	if (lc == NULL)
		return;
	const char *path = http_path(req);
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && path[s - 1] != '/')
		s--;
	char what[32];
	if (n - s >= sizeof(what)) {
		http_error(resp, 404, "no such endpoint");
		return;
	}
	memcpy(what, path + s, n - s);
	what[n - s] = '\0';
	Err e = {0};
	if (lifecycle_query(lc, http_param(req, 0), what, query_arg, req, &resp->body, &e) != 0)
		http_err(resp, &e);
}
